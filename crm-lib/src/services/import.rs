//! CSV import of customers and orders (`crm import customers|orders FILE.csv`).
//!
//! An import is all or nothing. Every row is read and validated first, against a read
//! snapshot and against the earlier rows of the file, with the same rules as the use cases
//! that create the records one by one ([`NewCustomer::validate`],
//! `orders::validate_order_fields`). The first bad row stops the import with an
//! [`ImportError`] naming the file, the physical line and the column. Only when every row is
//! good are they written, all in one write transaction, with one audit entry per record.
//! Imported records notify nobody: they describe the past, not a change a customer must hear
//! about.
//!
//! The CSV format: UTF-8 (a byte-order mark is skipped), comma-separated, a header row naming
//! the columns in any order, fields trimmed, quoted fields may hold commas, quotes (doubled)
//! and line breaks, blank lines are skipped. Every row must have as many fields as the header.
//! A field that an export guarded against spreadsheet formulas (`'=...`, `'+7...`) is read
//! without its `'`, so exported files import back unchanged.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::model::*;
use crate::{Crm, Error, ErrorKind, ReadTx, Result, Tx, View};

use super::customers::{NewCustomer, ValidCustomer, customer_by_telegram, load_customer};
use super::orders::{
    OrderFields, check_open_order_limit, open_orders_of, typed_date, typed_money,
    validate_order_fields,
};
use super::{load_org, require};

/// The columns of a customers file; `first_name` is required, the others may be missing.
pub const CUSTOMER_COLUMNS: [&str; 7] = [
    "telegram_id",
    "username",
    "first_name",
    "last_name",
    "phone",
    "email",
    "language",
];

/// The columns of an orders file; `customer_telegram_id`, `title` and `description` are
/// required, the others may be missing. With the tickets module on, each declared ticket
/// field is one more column, named by its key (`device`, `serial`), read by the field's
/// parser; a required field's column must hold an answer.
pub const ORDER_COLUMNS: [&str; 6] = [
    "customer_telegram_id",
    "title",
    "description",
    "budget",
    "deadline",
    "stage",
];

/// Columns that [`Crm::export_customers`] writes beside [`CUSTOMER_COLUMNS`]; an import
/// accepts and ignores them, so an export imports back as it is.
const CUSTOMER_EXPORT_ONLY: [&str; 4] = ["id", "unreachable", "created_at", "last_activity_at"];

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The file name as given.
    pub file: String,
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    /// Records created.
    pub imported: u64,
    /// How long the import took.
    pub duration: Duration,
}

/// Why an import failed. Nothing was written.
///
/// For a bad row, `line` is the physical line of the file where the row starts (the header
/// is line 1; blank lines and line breaks inside quoted fields count), `field` the column
/// and `reason` what is wrong; it displays as `FILE:LINE: field: reason`. A failure that is
/// not about one row (storage, permission) has `line` 0 and displays as `FILE: reason`.
#[derive(Debug)]
pub struct ImportError {
    /// The file name as given.
    pub file: String,
    /// The physical line the bad row starts on; 0 when the failure is not about a row.
    pub line: u64,
    /// The column at fault (`email`), `row` for the row's shape, `header` for the header; empty
    /// when not about a row.
    pub field: String,
    /// What is wrong, naming the value.
    pub reason: String,
    kind: ErrorKind,
    source: Option<Box<Error>>,
}

impl ImportError {
    fn row(file: &str, line: u64, field: &str, reason: impl Into<String>) -> Self {
        ImportError {
            file: file.to_string(),
            line,
            field: field.to_string(),
            reason: reason.into(),
            kind: ErrorKind::InvalidInput,
            source: None,
        }
    }

    /// A crm-lib error met while handling the row on `line` (0: not about a row).
    fn from_error(file: &str, line: u64, error: Error) -> Self {
        let kind = error.kind();
        let field = match (kind, error.field()) {
            (_, Some(field)) => field.to_string(),
            (ErrorKind::InvalidInput | ErrorKind::Conflict | ErrorKind::NotFound, None)
                if line > 0 =>
            {
                "row".to_string()
            }
            _ => String::new(),
        };
        ImportError {
            file: file.to_string(),
            line,
            field,
            reason: error.message().to_string(),
            kind,
            source: Some(Box::new(error)),
        }
    }

    /// What kind of failure this is: [`ErrorKind::InvalidInput`] for a bad row or header, a
    /// conflict for a duplicate, the underlying kind otherwise.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.field.as_str()) {
            (0, _) => write!(f, "{}: {}", self.file, self.reason),
            (line, "") => write!(f, "{}:{line}: {}", self.file, self.reason),
            (line, field) => write!(f, "{}:{line}: {field}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The message already carries the crm-lib error's text; its own source (an I/O or
        // redb error) is the next link of the chain.
        self.source
            .as_ref()
            .and_then(|error| std::error::Error::source(error.as_ref()))
    }
}

/// One data row: its line and its fields by column name.
struct Row<'a> {
    line: u64,
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl Row<'_> {
    /// The trimmed field of `column`, empty when the file has no such column, without the
    /// `'` an export puts before a formula character (see [`super::export`]).
    fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|index| self.record.get(*index))
            .map_or("", super::export::unguard_cell)
    }
}

/// Where each physical line of the input starts, to turn the byte offset of a record into
/// the line a person sees in an editor. csv's own line count lags by one after a CRLF record
/// end (the LF is consumed with the next record), so the count is done here.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(data: &[u8]) -> Self {
        let mut starts = vec![0];
        for (index, byte) in data.iter().enumerate() {
            let breaks = match byte {
                b'\n' => true,
                b'\r' => data.get(index + 1) != Some(&b'\n'),
                _ => false,
            };
            if breaks {
                starts.push(index + 1);
            }
        }
        Lines { starts }
    }

    /// The 1-based line of the first byte of a record that csv says starts at `offset`
    /// (skipping the line breaks and blank lines csv counts into the record's start).
    fn line_of(&self, data: &[u8], offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        while data
            .get(start)
            .is_some_and(|byte| matches!(byte, b'\r' | b'\n'))
        {
            start += 1;
        }
        self.starts
            .partition_point(|line_start| *line_start <= start) as u64
    }
}

/// Reads a CSV file, checks its header, and calls `each` for every data row in file order.
/// `progress` gets the number of bytes read so far. The file is read into memory first (the
/// rows are kept until the write anyway).
fn read_rows(
    file: &str,
    mut input: impl Read,
    known: &[&str],
    required: &[&str],
    ignored: &[&str],
    progress: &dyn Fn(u64),
    mut each: impl FnMut(&Row<'_>) -> Result<(), ImportError>,
) -> Result<u64, ImportError> {
    let mut data = Vec::new();
    input.read_to_end(&mut data).map_err(|error| ImportError {
        file: file.to_string(),
        line: 0,
        field: String::new(),
        reason: format!("cannot read the file: {error}"),
        kind: ErrorKind::Storage,
        source: None,
    })?;
    let lines = Lines::new(&data);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(data.as_slice());
    let headers = reader
        .headers()
        .map_err(|error| csv_error(file, &lines, &data, &error))?
        .clone();
    let mut columns = HashMap::new();
    for (index, name) in headers.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').trim().to_lowercase();
        if name.is_empty() && headers.len() == 1 {
            break;
        }
        if !known.contains(&name.as_str()) && !ignored.contains(&name.as_str()) {
            return Err(ImportError::row(
                file,
                1,
                "header",
                format!(
                    "{name:?} is not a column of this import (the columns are {})",
                    known.join(", ")
                ),
            ));
        }
        if columns.insert(name.clone(), index).is_some() {
            return Err(ImportError::row(
                file,
                1,
                "header",
                format!("column {name:?} appears twice"),
            ));
        }
    }
    for column in required {
        if !columns.contains_key(*column) {
            return Err(ImportError::row(
                file,
                1,
                "header",
                format!(
                    "the required column {column:?} is missing (the columns are {})",
                    known.join(", ")
                ),
            ));
        }
    }
    let mut record = csv::StringRecord::new();
    let mut rows = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => return Err(csv_error(file, &lines, &data, &error)),
        }
        let offset = record.position().map_or(0, csv::Position::byte);
        rows += 1;
        each(&Row {
            line: lines.line_of(&data, offset),
            record: &record,
            columns: &columns,
        })?;
        progress(reader.position().byte());
    }
    progress(data.len() as u64);
    Ok(rows)
}

/// A CSV-level error (a row of the wrong length, bad UTF-8) as an import error on its line.
fn csv_error(file: &str, lines: &Lines, data: &[u8], error: &csv::Error) -> ImportError {
    let line = error
        .position()
        .map_or(1, |position| lines.line_of(data, position.byte()));
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ImportError::row(
            file,
            line,
            "row",
            format!("has {len} fields, but the header has {expected_len}"),
        ),
        csv::ErrorKind::Utf8 { err, .. } => ImportError::row(
            file,
            line,
            "row",
            format!("field {} is not valid UTF-8", err.field() + 1),
        ),
        _ => ImportError::row(file, line, "row", format!("is not valid CSV: {error}")),
    }
}

/// A validated order row, ready to write.
#[derive(Debug, Clone)]
pub(crate) struct ImportedOrder {
    customer: CustomerId,
    fields: OrderFields,
    stage: StageId,
    /// The ticket's typed fields (the tickets module: a column per field key).
    custom_fields: std::collections::BTreeMap<String, FieldValue>,
}

/// Whether `stage` can only be entered by rejecting an order in moderation (which needs a
/// reason the CSV format has no column for).
fn is_rejection_stage(pipeline: &Pipeline, stage: &Stage) -> bool {
    let mut entries = pipeline
        .transitions
        .iter()
        .filter(|transition| transition.to == stage.id)
        .peekable();
    stage.kind == StageKind::Lost
        && entries.peek().is_some()
        && entries.all(|transition| match transition.from {
            TransitionFrom::Stage(from) => pipeline
                .stage(from)
                .is_some_and(|from| from.kind == StageKind::Moderation),
            TransitionFrom::AnyOpen => false,
        })
}

impl Tx<'_> {
    /// Inserts an imported order directly in `stage`, indexed like any order, with an audit
    /// entry and no notification. Needs `moderate_orders`. Checks the customer, the stage and
    /// the open-order limit again, so the rules hold even if the store changed since the file
    /// was validated.
    ///
    /// # Errors
    /// Permission denied; not found (customer); invalid input (stage); conflict (limit).
    pub(crate) fn insert_imported_order(
        &mut self,
        actor: &Actor,
        order: ImportedOrder,
    ) -> Result<Order> {
        require(self, actor, Permission::ModerateOrders)?;
        let org = load_org(self, actor.org)?;
        load_customer(self, actor.org, order.customer)?;
        let stage = org
            .pipeline
            .stage(order.stage)
            .ok_or_else(|| {
                Error::invalid(
                    "stage",
                    format!("stage {} is not in the pipeline", order.stage),
                )
            })?
            .clone();
        if !stage.kind.is_terminal() {
            check_open_order_limit(self, &org, order.customer)?;
        }
        let id = OrderId(self.next_id(actor.org, "order")?);
        let record = Order {
            id,
            customer: order.customer,
            title: order.fields.title,
            description: order.fields.description,
            budget: order.fields.budget,
            deadline: order.fields.deadline,
            stage: stage.id,
            assignee: None,
            price: None,
            markers: Vec::new(),
            priority: 0,
            rejection_reason: None,
            attachments: Vec::new(),
            custom_fields: order.custom_fields,
            preferred_payment_method: None,
            created_at: self.now(),
            updated_at: self.now(),
        };
        super::tickets::fields::fields_of(self, actor.org)?.check(&record.custom_fields)?;
        self.insert_record(&crate::store::Key::org(actor.org).u64(id.0), &record)?;
        crate::services::analytics::aggregates::order_created(self, &org, &record)?;
        super::tickets::fraud::evaluate(self, &org, &record)?;
        self.audit(
            actor,
            AuditAction::OrderImported,
            Subject::Order(record.id),
            AuditDetail::OrderCreated {
                title: record.title.clone(),
                customer: record.customer,
            },
        )?;
        Ok(record)
    }
}

/// Runs `rows` through `write` in one write transaction; on failure, reports the line of the
/// row that failed. Nothing is written unless every row succeeds.
fn write_all<T, R>(
    crm: &Crm,
    file: &str,
    rows: Vec<(u64, T)>,
    write: impl Fn(&mut Tx<'_>, T) -> Result<R> + Send + 'static,
) -> Result<u64, ImportError>
where
    T: Send + 'static,
{
    let failed_line = Arc::new(AtomicU64::new(0));
    let line = failed_line.clone();
    crm.write(move |tx| {
        let mut written = 0;
        for (row_line, row) in rows {
            line.store(row_line, Ordering::Relaxed);
            write(tx, row)?;
            written += 1;
        }
        line.store(0, Ordering::Relaxed);
        Ok(written)
    })
    .map_err(|error| ImportError::from_error(file, failed_line.load(Ordering::Relaxed), error))
}

/// The frame of every import, all or nothing: `validate` checks the whole file in one read
/// snapshot, pushing each valid row with its line and returning the number of rows read; then
/// [`write_all`] writes the valid rows in one write transaction with `write`. Returns the
/// report, timed from the start.
fn import_all<T, R>(
    crm: &Crm,
    file: &str,
    validate: impl FnOnce(&ReadTx, &mut Vec<(u64, T)>) -> Result<Result<u64, ImportError>>,
    write: impl Fn(&mut Tx<'_>, T) -> Result<R> + Send + 'static,
) -> Result<ImportReport, ImportError>
where
    T: Send + 'static,
{
    let started = Instant::now();
    let mut valid = Vec::new();
    let rows = crm
        .read(|view| validate(view, &mut valid))
        .map_err(|error| ImportError::from_error(file, 0, error))??;
    let imported = write_all(crm, file, valid, write)?;
    Ok(ImportReport {
        file: file.to_string(),
        rows,
        imported,
        duration: started.elapsed(),
    })
}

impl Crm {
    /// Imports customers from CSV (columns [`CUSTOMER_COLUMNS`]), all or nothing.
    ///
    /// Every row is validated first ([`NewCustomer::validate`]; a Telegram id must not repeat
    /// within the file nor exist in the store); then all rows are written in one write
    /// transaction. Needs `chat_customers` (the system actor has it). `progress` is called with
    /// the bytes read so far while rows are validated. Blocks for the read and the commit.
    ///
    /// # Errors
    /// An [`ImportError`] naming the line and column of the first bad row, or the failure that
    /// stopped the write (nothing is written in either case).
    pub fn import_customers(
        &self,
        actor: &Actor,
        reader: impl Read,
        source_name: &str,
        progress: &dyn Fn(u64),
    ) -> Result<ImportReport, ImportError> {
        let file = source_name;
        let mut seen: HashMap<TelegramUserId, u64> = HashMap::new();
        let writer = actor.clone();
        import_all(
            self,
            file,
            |view, valid: &mut Vec<(u64, ValidCustomer)>| {
                require(view, actor, Permission::ChatCustomers)?;
                load_org(view, actor.org)?;
                let result = read_rows(
                    file,
                    reader,
                    &CUSTOMER_COLUMNS,
                    &["first_name"],
                    &CUSTOMER_EXPORT_ONLY,
                    progress,
                    |row| {
                        let customer = NewCustomer {
                            telegram_id: row.get("telegram_id").to_string(),
                            username: row.get("username").to_string(),
                            first_name: row.get("first_name").to_string(),
                            last_name: row.get("last_name").to_string(),
                            phone: row.get("phone").to_string(),
                            email: row.get("email").to_string(),
                            language: row.get("language").to_string(),
                        }
                        .validate()
                        .map_err(|error| ImportError::from_error(file, row.line, error))?;
                        if let Some(telegram_id) = customer.telegram_id() {
                            if let Some(first) = seen.insert(telegram_id, row.line) {
                                return Err(ImportError::row(
                                    file,
                                    row.line,
                                    "telegram_id",
                                    format!("telegram id {telegram_id} is already on line {first}"),
                                ));
                            }
                            let existing = customer_by_telegram(view, actor.org, telegram_id)
                                .map_err(|error| ImportError::from_error(file, row.line, error))?;
                            if let Some(existing) = existing {
                                return Err(ImportError::row(
                                    file,
                                    row.line,
                                    "telegram_id",
                                    format!(
                                        "a customer with telegram id {telegram_id} exists (customer {})",
                                        existing.id
                                    ),
                                ));
                            }
                        }
                        valid.push((row.line, customer));
                        Ok(())
                    },
                );
                Ok(result)
            },
            move |tx, customer| tx.insert_customer(&writer, customer),
        )
    }

    /// Imports orders from CSV (columns [`ORDER_COLUMNS`]), all or nothing, each placed
    /// directly in the stage its row names (empty: the pipeline's first stage).
    ///
    /// Every row is validated first: the customer (by Telegram id) must exist in the store;
    /// title, description, budget and deadline follow the rules of [`Crm::create_order`]
    /// (a deadline may be in the past: imports describe history); the stage must be in the
    /// pipeline and must not need an assignee or a rejection reason, which the file has no
    /// columns for; a customer may not exceed the open-order limit, counting their orders in
    /// the store and the earlier rows of the file. Then all rows are written in one write
    /// transaction, without notifications. Needs `moderate_orders` (the system actor has it).
    ///
    /// # Errors
    /// As [`Crm::import_customers`].
    pub fn import_orders(
        &self,
        actor: &Actor,
        reader: impl Read,
        source_name: &str,
        progress: &dyn Fn(u64),
    ) -> Result<ImportReport, ImportError> {
        let file = source_name;
        let writer = actor.clone();
        import_all(
            self,
            file,
            |view, valid: &mut Vec<(u64, ImportedOrder)>| {
                require(view, actor, Permission::ModerateOrders)?;
                let org = load_org(view, actor.org)?;
                let limit = org.settings.open_order_limit;
                let mut open: HashMap<CustomerId, u32> = HashMap::new();
                let stage_keys: Vec<&str> = org
                    .pipeline
                    .stages
                    .iter()
                    .map(|stage| stage.key.as_str())
                    .collect();
                // The tickets module: one more column per declared field, named by its key.
                let ticket_fields = super::tickets::fields::fields_of(view, actor.org)?;
                let columns: Vec<&str> = ORDER_COLUMNS
                    .iter()
                    .copied()
                    .chain(ticket_fields.fields.iter().map(|def| def.key.as_str()))
                    .collect();
                let result = read_rows(
                    file,
                    reader,
                    &columns,
                    &["customer_telegram_id", "title", "description"],
                    &[],
                    progress,
                    |row| {
                        let fail = |error: Error| ImportError::from_error(file, row.line, error);
                        let telegram_id = TelegramUserId::parse(
                            "customer_telegram_id",
                            row.get("customer_telegram_id"),
                        )
                        .map_err(fail)?;
                        let customer = customer_by_telegram(view, actor.org, telegram_id)
                            .map_err(fail)?
                            .ok_or_else(|| {
                                ImportError::row(
                                    file,
                                    row.line,
                                    "customer_telegram_id",
                                    format!(
                                        "no customer has telegram id {telegram_id} (import the customers first)"
                                    ),
                                )
                            })?;
                        let fields = validate_order_fields(
                            row.get("title"),
                            row.get("description"),
                            typed_money("budget", row.get("budget")).map_err(fail)?,
                            typed_date("deadline", row.get("deadline")).map_err(fail)?,
                            None,
                        )
                        .map_err(fail)?;
                        let stage = match row.get("stage") {
                            "" => org.pipeline.initial(),
                            key => org.pipeline.stage_by_key(key).ok_or_else(|| {
                                ImportError::row(
                                    file,
                                    row.line,
                                    "stage",
                                    format!(
                                        "{key:?} is not a stage of the pipeline (one of: {})",
                                        stage_keys.join(", ")
                                    ),
                                )
                            })?,
                        };
                        if stage.requires_assignee {
                            return Err(ImportError::row(
                                file,
                                row.line,
                                "stage",
                                format!(
                                    "stage {} needs an assignee, which the file has no column for",
                                    stage.key
                                ),
                            ));
                        }
                        if is_rejection_stage(&org.pipeline, stage) {
                            return Err(ImportError::row(
                                file,
                                row.line,
                                "stage",
                                format!(
                                    "stage {} needs a rejection reason, which the file has no column for",
                                    stage.key
                                ),
                            ));
                        }
                        if limit > 0 && !stage.kind.is_terminal() {
                            let count = match open.get(&customer.id) {
                                Some(count) => *count,
                                None => open_orders_of(view, &org, customer.id).map_err(fail)?,
                            };
                            if count >= limit {
                                return Err(ImportError::row(
                                    file,
                                    row.line,
                                    "customer_telegram_id",
                                    format!(
                                        "customer {} (telegram id {telegram_id}) would have more than {limit} open orders",
                                        customer.id
                                    ),
                                ));
                            }
                            open.insert(customer.id, count + 1);
                        }
                        let custom_fields = ticket_fields
                            .parse_answers(
                                ticket_fields
                                    .fields
                                    .iter()
                                    .map(|def| (def.key.as_str(), row.get(&def.key))),
                            )
                            .and_then(|values| ticket_fields.check(&values).map(|()| values))
                            .map_err(|error| {
                                // The column at fault is the field the message names first.
                                let column = error
                                    .message()
                                    .split(':')
                                    .next()
                                    .unwrap_or("fields")
                                    .to_string();
                                ImportError::row(file, row.line, &column, error.message())
                            })?;
                        valid.push((
                            row.line,
                            ImportedOrder {
                                customer: customer.id,
                                fields,
                                stage: stage.id,
                                custom_fields,
                            },
                        ));
                        Ok(())
                    },
                );
                Ok(result)
            },
            move |tx, order| tx.insert_imported_order(&writer, order),
        )
    }
}
