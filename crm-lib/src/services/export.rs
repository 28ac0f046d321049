//! Export of customers, orders and the audit log as CSV or JSON (`crm export`), of the
//! order list a staff user sees (the web's CSV download) and of the dashboard's charts
//! (`/analytics/{chart}.csv`, `crm analytics --csv`): the one CSV writer of the project.
//!
//! Each export reads one snapshot and streams rows to the writer as it scans, so memory stays
//! flat however large the table. The columns of a row are defined once and rendered in both
//! formats: CSV with a header row (empty cells for missing values, lists joined with `; `),
//! JSON as one array of objects with the same keys in the same order (missing values are
//! `null`, lists are arrays). Customer exports carry the columns of
//! [`super::import::CUSTOMER_COLUMNS`], so an exported file imports back as it is.
//!
//! CSV cells that a spreadsheet would run as a formula (those beginning with `=`, `+`, `-`,
//! `@`, a tab or a carriage return) get a leading `'` (OWASP CSV Injection): a customer who
//! calls themself `=HYPERLINK(...)` is text in the file. [`Crm::import_customers`] and
//! [`Crm::import_orders`] take that `'` off again, so an export still imports back unchanged.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::str::FromStr;

use serde_json::Value;

use crate::model::*;
use crate::store::{Def, Key, Record, View, ViewExt, codec, tables};
use crate::{Crm, Error, Result};

use super::analytics::{Analytics, Chart, RevenueUnit};
use super::orders::{OrderFilter, list_orders_in};
use super::{Page, load_org, require};

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportFormat {
    /// Comma-separated values with a header row (RFC 4180 quoting), UTF-8.
    #[default]
    Csv,
    /// One JSON array of objects.
    Json,
}

impl FromStr for ExportFormat {
    type Err = Error;

    /// Parses `csv` or `json` (any case).
    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "json" => Ok(ExportFormat::Json),
            other => Err(Error::invalid(
                "format",
                format!("{other:?} is not an export format (csv or json)"),
            )),
        }
    }
}

/// The columns of a customers export.
pub const CUSTOMER_EXPORT_COLUMNS: [&str; 11] = [
    "telegram_id",
    "username",
    "first_name",
    "last_name",
    "phone",
    "email",
    "language",
    "id",
    "unreachable",
    "created_at",
    "last_activity_at",
];

/// The columns of an orders export. With the tickets module on, one more column follows per
/// declared ticket field (`tickets::FieldSet`, the template's `[[fields]]`), in the order
/// they are declared, named by the field's key as [`Crm::import_orders`] reads it (`device`,
/// `serial`), holding the value in the form the field's parser reads back
/// ([`FieldValue::to_answer`]: a number, `yes`/`no`, a choice's key, `1500.00`,
/// `YYYY-MM-DD`), empty when the ticket has none.
pub const ORDER_EXPORT_COLUMNS: [&str; 15] = [
    "id",
    "number",
    "customer_id",
    "customer_telegram_id",
    "customer_name",
    "title",
    "description",
    "budget",
    "price",
    "deadline",
    "stage",
    "assignee",
    "markers",
    "created_at",
    "updated_at",
];

/// The columns of the order list a staff user exports (the web's CSV download): those of
/// [`ORDER_EXPORT_COLUMNS`] that the list page shows, then the ticket fields' columns as in
/// [`ORDER_EXPORT_COLUMNS`].
pub const ORDER_LIST_EXPORT_COLUMNS: [&str; 10] = [
    "id",
    "number",
    "title",
    "customer_name",
    "stage",
    "assignee",
    "budget",
    "price",
    "deadline",
    "created_at",
];

/// The most rows one export of the order list writes ([`Crm::export_order_list`]).
pub const ORDER_LIST_EXPORT_MAX_ROWS: u64 = 100_000;

/// The columns of an audit export.
pub const AUDIT_EXPORT_COLUMNS: [&str; 8] = [
    "id",
    "at",
    "actor",
    "action",
    "entity",
    "summary",
    "ip",
    "user_agent",
];

/// The columns of a broadcast's delivery report ([`Crm::export_broadcast_report`]): the
/// recipient, their state ([`RecipientState::as_str`]), Telegram's message id and the moment
/// for a sent one, the reason for a failed one.
pub const BROADCAST_REPORT_COLUMNS: [&str; 6] = [
    "customer_id",
    "customer_name",
    "state",
    "telegram_message_id",
    "sent_at",
    "reason",
];

fn write_error(error: std::io::Error) -> Error {
    Error::storage("cannot write the export", error)
}

/// Renders rows in one format.
enum Sink<'w> {
    Csv(Box<csv::Writer<&'w mut dyn Write>>),
    Json {
        out: BufWriter<&'w mut dyn Write>,
        columns: Vec<String>,
        rows: u64,
    },
}

impl<'w> Sink<'w> {
    fn new(format: ExportFormat, columns: &[&str], out: &'w mut dyn Write) -> Result<Self> {
        match format {
            ExportFormat::Csv => {
                let mut writer = csv::WriterBuilder::new().from_writer(out);
                writer.write_record(columns).map_err(csv_error)?;
                Ok(Sink::Csv(Box::new(writer)))
            }
            ExportFormat::Json => {
                let mut out = BufWriter::new(out);
                out.write_all(b"[").map_err(write_error)?;
                Ok(Sink::Json {
                    out,
                    columns: columns.iter().map(|column| (*column).to_string()).collect(),
                    rows: 0,
                })
            }
        }
    }

    /// Writes one row; `values` are in column order.
    fn row(&mut self, values: Vec<Value>) -> Result<()> {
        match self {
            Sink::Csv(writer) => writer
                .write_record(values.iter().map(csv_cell))
                .map_err(csv_error),
            Sink::Json { out, columns, rows } => {
                let mut text = String::from(if *rows == 0 { "\n  {" } else { ",\n  {" });
                for (index, (column, value)) in columns.iter().zip(values).enumerate() {
                    if index > 0 {
                        text.push_str(", ");
                    }
                    text.push_str(&Value::String(column.clone()).to_string());
                    text.push_str(": ");
                    text.push_str(&value.to_string());
                }
                text.push('}');
                *rows += 1;
                out.write_all(text.as_bytes()).map_err(write_error)
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Csv(mut writer) => writer.flush().map_err(write_error),
            Sink::Json { mut out, rows, .. } => {
                out.write_all(if rows == 0 { b"]\n" } else { b"\n]\n" })
                    .map_err(write_error)?;
                out.flush().map_err(write_error)
            }
        }
    }
}

fn csv_error(error: csv::Error) -> Error {
    // Keep an I/O failure as the source itself, so a caller can tell a closed pipe.
    match error.into_kind() {
        csv::ErrorKind::Io(io) => write_error(io),
        other => Error::corrupt(format!("cannot write the export: {other:?}")),
    }
}

/// The first characters that make a spreadsheet read a cell as a formula (OWASP CSV
/// Injection): `=`, `+`, `-`, `@`, tab and carriage return.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written to CSV: with a leading `'` when it begins with one of
/// [`FORMULA_STARTS`], so that a spreadsheet shows it as text instead of running it.
pub(crate) fn guard_cell(text: String) -> String {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}")
    } else {
        text
    }
}

/// A CSV cell as read back: the `'` that [`guard_cell`] put before a formula character is
/// taken off; any other text stays as it is.
pub(crate) fn unguard_cell(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => text,
    }
}

/// A value as a CSV cell: text as is, numbers and flags as text, null as empty, lists joined
/// with `; `, then guarded against formulas ([`guard_cell`]).
fn csv_cell(value: &Value) -> String {
    guard_cell(cell_text(value))
}

/// The text of a value, unguarded (list items are joined before the whole cell is guarded).
fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

/// Streams the records of `table` that belong to `org`, in key order (oldest first), into
/// `out` as rows of `columns` in `format`; `row` gives a record's values in column order.
/// Returns the number of rows.
fn export_rows<T: Record>(
    view: &impl View,
    org: OrgId,
    table: Def,
    format: ExportFormat,
    columns: &[&str],
    out: &mut dyn Write,
    mut row: impl FnMut(T) -> Result<Vec<Value>>,
) -> Result<u64> {
    let mut sink = Sink::new(format, columns, out)?;
    let mut count = 0;
    view.for_each_prefix(table, &Key::org(org), |_, value| {
        sink.row(row(codec::decode::<T>(value)?)?)?;
        count += 1;
        Ok(true)
    })?;
    sink.finish()?;
    Ok(count)
}

/// A Telegram id as a number, or null.
fn telegram_id(id: Option<TelegramUserId>) -> Value {
    id.map_or(Value::Null, |id| Value::from(id.0))
}

fn text(value: impl Into<String>) -> Value {
    Value::String(value.into())
}

fn optional<T: ToString>(value: Option<T>) -> Value {
    value.map_or(Value::Null, |value| Value::String(value.to_string()))
}

/// A ticket field's value as an export cell: a number as a number, anything else as the
/// text its field's parser reads back ([`FieldValue::to_answer`]); null when the ticket has
/// none.
fn field_cell(value: Option<&FieldValue>) -> Value {
    match value {
        None => Value::Null,
        Some(FieldValue::Number(number)) => Value::from(*number),
        Some(other) => Value::String(other.to_answer()),
    }
}

/// Builds the [`ORDER_EXPORT_COLUMNS`] of orders, then one column per declared ticket field,
/// looking each user, marker and customer up once per export.
struct OrderRows {
    organization: Organization,
    /// The keys of the ticket fields the organization declares (none without the tickets
    /// module), in declaration order: the columns after [`ORDER_EXPORT_COLUMNS`].
    fields: Vec<String>,
    usernames: HashMap<UserId, String>,
    markers: HashMap<MarkerId, String>,
    customers: HashMap<CustomerId, (Value, String)>,
}

impl OrderRows {
    fn new(view: &impl View, org: OrgId) -> Result<Self> {
        let organization = load_org(view, org)?;
        let mut usernames: HashMap<UserId, String> = HashMap::new();
        view.for_each_prefix(tables::USERS, &Key::org(org), |_, value| {
            let user = codec::decode::<User>(value)?;
            usernames.insert(user.id, user.username);
            Ok(true)
        })?;
        let markers = super::team::list_markers_in(view, org)?
            .into_iter()
            .map(|marker| (marker.id, marker.name.get(Language::default()).to_string()))
            .collect();
        let fields = super::tickets::fields::fields_for(view, &organization)?
            .fields
            .into_iter()
            .map(|def| def.key)
            .collect();
        Ok(OrderRows {
            organization,
            fields,
            usernames,
            markers,
            customers: HashMap::new(),
        })
    }

    /// `base` followed by the ticket fields' keys: the header of an export.
    fn columns<'a>(&'a self, base: &[&'a str]) -> Vec<&'a str> {
        base.iter()
            .copied()
            .chain(self.fields.iter().map(String::as_str))
            .collect()
    }

    /// The values of `order` in [`ORDER_EXPORT_COLUMNS`] order, then its ticket fields'.
    fn row(&mut self, view: &impl View, org: OrgId, order: Order) -> Result<Vec<Value>> {
        if let std::collections::hash_map::Entry::Vacant(slot) =
            self.customers.entry(order.customer)
        {
            let customer: Option<Customer> =
                view.get(tables::CUSTOMERS, &Key::org(org).u64(order.customer.0))?;
            slot.insert(match customer {
                Some(customer) => (telegram_id(customer.telegram_id), customer.full_name()),
                None => (Value::Null, String::new()),
            });
        }
        let (customer_telegram_id, name) = self
            .customers
            .get(&order.customer)
            .cloned()
            .unwrap_or((Value::Null, String::new()));
        let stage = self
            .organization
            .pipeline
            .stage(order.stage)
            .map_or_else(|| order.stage.to_string(), |stage| stage.key.clone());
        let assignee = order.assignee.map(|user| {
            self.usernames
                .get(&user)
                .cloned()
                .unwrap_or(user.to_string())
        });
        let marker_names: Vec<Value> = order
            .markers
            .iter()
            .map(|marker| {
                text(
                    self.markers
                        .get(marker)
                        .cloned()
                        .unwrap_or(marker.to_string()),
                )
            })
            .collect();
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|key| field_cell(order.custom_fields.get(key)))
            .collect();
        let mut values = vec![
            Value::from(order.id.0),
            text(format!("#{}", order.id)),
            Value::from(order.customer.0),
            customer_telegram_id,
            text(name),
            text(order.title),
            text(order.description),
            optional(order.budget),
            optional(order.price),
            optional(order.deadline),
            text(stage),
            optional(assignee),
            Value::Array(marker_names),
            text(order.created_at.to_rfc3339()),
            text(order.updated_at.to_rfc3339()),
        ];
        values.extend(fields);
        Ok(values)
    }
}

impl Crm {
    /// Writes every customer of the actor's organization, oldest first, in `format`
    /// ([`CUSTOMER_EXPORT_COLUMNS`]; the CSV imports back with [`Crm::import_customers`]).
    /// Reads one snapshot and streams; blocks on the writer. Returns the number of customers.
    ///
    /// Needs `chat_customers` (the system always may).
    ///
    /// # Errors
    /// Permission denied; [`crate::ErrorKind::Storage`] when the store cannot be read or `out`
    /// cannot be written.
    pub fn export_customers(
        &self,
        actor: &Actor,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let org = actor.org;
        self.read(|view| {
            require(view, actor, Permission::ChatCustomers)?;
            load_org(view, org)?;
            let columns = &CUSTOMER_EXPORT_COLUMNS;
            export_rows(
                view,
                org,
                tables::CUSTOMERS,
                format,
                columns,
                out,
                |customer: Customer| {
                    Ok(vec![
                        telegram_id(customer.telegram_id),
                        optional(customer.username),
                        text(customer.first_name),
                        optional(customer.last_name),
                        optional(customer.phone),
                        optional(customer.email),
                        text(customer.language.code()),
                        Value::from(customer.id.0),
                        Value::Bool(customer.unreachable),
                        text(customer.created_at.to_rfc3339()),
                        text(customer.last_activity_at.to_rfc3339()),
                    ])
                },
            )
        })
    }

    /// Writes every order of the actor's organization, oldest first, in `format`
    /// ([`ORDER_EXPORT_COLUMNS`], then a column per ticket field with the tickets module on, so
    /// that the file's ticket columns import back into the same fields: the stage by key, the assignee by username, markers by name, amounts as `1500.00` in the
    /// organization's currency, times in RFC 3339). Reads one snapshot and streams; blocks on
    /// the writer. Returns the number of orders.
    ///
    /// Needs `view_orders` (the system always may).
    ///
    /// # Errors
    /// As [`Crm::export_customers`].
    pub fn export_orders(
        &self,
        actor: &Actor,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let org = actor.org;
        self.read(|view| {
            require(view, actor, Permission::ViewOrders)?;
            let mut rows = OrderRows::new(view, org)?;
            let header = rows.columns(&ORDER_EXPORT_COLUMNS);
            let columns: Vec<String> = header.iter().map(|column| column.to_string()).collect();
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            export_rows(
                view,
                org,
                tables::ORDERS,
                format,
                &columns,
                out,
                |order: Order| rows.row(view, org, order),
            )
        })
    }

    /// Writes the orders `actor` sees with `filter`, in the order of the list page (newest
    /// first), in `format` ([`ORDER_LIST_EXPORT_COLUMNS`], rendered as in
    /// [`Crm::export_orders`]), at most [`ORDER_LIST_EXPORT_MAX_ROWS`]: the web's CSV
    /// download. The orders are those of [`super::orders::list_orders_in`], so the export
    /// shows no order the list would not. Reads one snapshot and streams; blocks on the
    /// writer. Returns the number of orders written.
    ///
    /// # Errors
    /// Permission denied as for the list; [`crate::ErrorKind::Storage`] when the store
    /// cannot be read or `out` cannot be written.
    pub fn export_order_list(
        &self,
        actor: &Actor,
        filter: &OrderFilter,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64> {
        self.read(|view| {
            let mut rows = OrderRows::new(view, actor.org)?;
            // The list's columns, then every ticket field's (after the full export's).
            let picked: Vec<usize> = ORDER_LIST_EXPORT_COLUMNS
                .iter()
                .filter_map(|name| ORDER_EXPORT_COLUMNS.iter().position(|full| full == name))
                .chain(ORDER_EXPORT_COLUMNS.len()..ORDER_EXPORT_COLUMNS.len() + rows.fields.len())
                .collect();
            let mut sink = Sink::new(format, &rows.columns(&ORDER_LIST_EXPORT_COLUMNS), out)?;
            let mut written = 0;
            let mut page = Page::first(Page::MAX);
            'pages: loop {
                let orders = list_orders_in(view, actor, filter, page)?;
                for order in orders.items {
                    if written >= ORDER_LIST_EXPORT_MAX_ROWS {
                        break 'pages;
                    }
                    let full = rows.row(view, actor.org, order)?;
                    sink.row(picked.iter().map(|index| full[*index].clone()).collect())?;
                    written += 1;
                }
                match orders.next {
                    Some(next) => page = Page::after(next, Page::MAX),
                    None => break,
                }
            }
            sink.finish()?;
            Ok(written)
        })
    }

    /// Writes a broadcast's delivery report in `format` ([`BROADCAST_REPORT_COLUMNS`]): every
    /// recipient in customer order, or only those in `state` (a [`RecipientState::as_str`]
    /// name), read page by page through [`super::broadcasts::broadcast_recipients_in`] on one
    /// snapshot; the web's CSV download. Blocks on the writer. Returns the number of rows.
    ///
    /// # Errors
    /// As [`super::broadcasts::broadcast_recipients_in`] (not found, permission denied,
    /// invalid input on `state`); [`crate::ErrorKind::Storage`] when `out` cannot be written.
    pub fn export_broadcast_report(
        &self,
        actor: &Actor,
        id: BroadcastId,
        state: Option<&str>,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64> {
        use super::broadcasts::{RECIPIENTS_PAGE_MAX, broadcast_recipients_in};
        self.read(|view| {
            // Checks the broadcast, the permission and the filter before the first byte.
            let mut page =
                broadcast_recipients_in(view, actor, id, state, None, RECIPIENTS_PAGE_MAX)?;
            let mut sink = Sink::new(format, &BROADCAST_REPORT_COLUMNS, out)?;
            let mut written = 0;
            loop {
                for row in &page.rows {
                    let (message, at, reason) = match &row.state {
                        RecipientState::Sent {
                            telegram_message_id,
                            at,
                        } => (
                            telegram_message_id.map_or(Value::Null, Value::from),
                            text(at.to_rfc3339()),
                            Value::Null,
                        ),
                        RecipientState::Failed { reason } => {
                            (Value::Null, Value::Null, text(reason.as_str()))
                        }
                        _ => (Value::Null, Value::Null, Value::Null),
                    };
                    sink.row(vec![
                        Value::from(row.customer.get()),
                        optional(row.name.clone()),
                        text(row.state.as_str()),
                        message,
                        at,
                        reason,
                    ])?;
                    written += 1;
                }
                match page.next {
                    Some(after) => {
                        page = broadcast_recipients_in(
                            view,
                            actor,
                            id,
                            state,
                            Some(after),
                            RECIPIENTS_PAGE_MAX,
                        )?;
                    }
                    None => break,
                }
            }
            sink.finish()?;
            Ok(written)
        })
    }

    /// Writes the audit log of the actor's organization, oldest first, in `format` ([`AUDIT_EXPORT_COLUMNS`]).
    /// Streams the log from one snapshot rather than loading it (it is the largest table of a
    /// long-lived store); blocks on the writer. Returns the number of entries.
    ///
    /// Needs `view_audit` (the system always may).
    ///
    /// # Errors
    /// As [`Crm::export_customers`].
    pub fn export_audit(
        &self,
        actor: &Actor,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let org = actor.org;
        self.read(|view| {
            require(view, actor, Permission::ViewAudit)?;
            load_org(view, org)?;
            let columns = &AUDIT_EXPORT_COLUMNS;
            export_rows(
                view,
                org,
                tables::AUDIT,
                format,
                columns,
                out,
                |entry: AuditEntry| {
                    Ok(vec![
                        Value::from(entry.id.0),
                        text(entry.at.to_rfc3339()),
                        text(entry.actor.to_string()),
                        text(entry.action.as_str()),
                        text(entry.subject.to_string()),
                        text(entry.detail.to_string()),
                        optional(entry.ip),
                        optional(entry.user_agent),
                    ])
                },
            )
        })
    }

    /// Writes the series of one of the dashboard's charts as CSV (the web's
    /// `/analytics/{chart}.csv` and `crm analytics --csv`), with stage and package names in
    /// `language`: see [`chart_columns`]. Reads [`crate::analytics::analytics_in`] on one
    /// snapshot; blocks on the writer. Returns the number of rows.
    ///
    /// # Errors
    /// As [`crate::analytics::analytics_in`]; not found for the package chart of an
    /// organization without the tokens module; [`crate::ErrorKind::Storage`] when `out`
    /// cannot be written.
    pub fn export_chart(
        &self,
        actor: &Actor,
        chart: Chart,
        language: Language,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let analytics = self.analytics(actor)?;
        write_chart(&analytics, chart, language, out)
    }
}

/// The CSV columns of each chart:
/// - `revenue`: `month` (`YYYY-MM`), `orders` (created in it), `revenue`,
///   `completed_revenue` (`1500.00` in the currency, or whole tokens), `unit` (the currency
///   code or `tokens`);
/// - `status`: `stage_key`, `stage` (its name), `kind` (`moderation`, `open`, `won`,
///   `lost`), `orders`;
/// - `customers`: `month`, `new_customers`, `total_customers` (at the month's end);
/// - `packages`: `package_key`, `package` (its name), `orders`.
pub fn chart_columns(chart: Chart) -> &'static [&'static str] {
    match chart {
        Chart::RevenueTrend => &["month", "orders", "revenue", "completed_revenue", "unit"],
        Chart::StatusDistribution => &["stage_key", "stage", "kind", "orders"],
        Chart::CustomerGrowth => &["month", "new_customers", "total_customers"],
        Chart::PackagePopularity => &["package_key", "package", "orders"],
    }
}

/// Writes the series of `chart` of `analytics` as CSV ([`chart_columns`]). Returns the
/// number of rows.
///
/// # Errors
/// Not found for the package chart without the tokens module; storage when `out` cannot be
/// written.
pub fn write_chart(
    analytics: &Analytics,
    chart: Chart,
    language: Language,
    out: &mut dyn Write,
) -> Result<u64> {
    let amount = |value: i64| -> Value {
        match analytics.revenue_unit {
            RevenueUnit::Money { .. } => text(Money::from_minor(value).to_string()),
            RevenueUnit::Tokens => Value::from(value),
        }
    };
    let unit = match &analytics.revenue_unit {
        RevenueUnit::Money { currency } => currency.clone(),
        RevenueUnit::Tokens => "tokens".to_string(),
    };
    let rows: Vec<Vec<Value>> = match chart {
        Chart::RevenueTrend => analytics
            .revenue_trend
            .iter()
            .map(|month| {
                vec![
                    text(month.month.to_string()),
                    Value::from(month.orders),
                    amount(month.revenue),
                    amount(month.completed),
                    text(unit.clone()),
                ]
            })
            .collect(),
        Chart::StatusDistribution => analytics
            .status_distribution
            .iter()
            .map(|share| {
                let kind = match share.stage.kind {
                    StageKind::Moderation => "moderation",
                    StageKind::Open => "open",
                    StageKind::Won => "won",
                    StageKind::Lost => "lost",
                };
                vec![
                    text(share.stage.key.clone()),
                    text(share.stage.name(language)),
                    text(kind),
                    Value::from(share.orders),
                ]
            })
            .collect(),
        Chart::CustomerGrowth => analytics
            .customer_growth
            .iter()
            .map(|month| {
                vec![
                    text(month.month.to_string()),
                    Value::from(month.new),
                    Value::from(month.total),
                ]
            })
            .collect(),
        Chart::PackagePopularity => analytics
            .package_popularity
            .as_ref()
            .ok_or_else(|| Error::not_found("chart", chart))?
            .iter()
            .map(|share| {
                vec![
                    text(share.key.clone()),
                    text(share.name.get(language)),
                    Value::from(share.orders),
                ]
            })
            .collect(),
    };
    let mut sink = Sink::new(ExportFormat::Csv, chart_columns(chart), out)?;
    let count = rows.len() as u64;
    for row in rows {
        sink.row(row)?;
    }
    sink.finish()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_a_spreadsheet_would_run_gets_a_quote_that_reading_takes_off() {
        for formula in [
            "=HYPERLINK(\"https://evil.example\",\"x\")",
            "+7 916 123-45-67",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            let guarded = guard_cell(formula.to_string());
            assert_eq!(guarded, format!("'{formula}"));
            assert_eq!(unguard_cell(&guarded), formula);
        }
        for plain in ["Alice", "O'Connor", "'quoted'", "", "1500.00", "#12", " =x"] {
            assert_eq!(guard_cell(plain.to_string()), plain);
            assert_eq!(unguard_cell(plain), plain);
        }
        assert_eq!(csv_cell(&Value::from(-5)), "'-5");
        assert_eq!(
            csv_cell(&Value::Array(vec![text("=a"), text("b")])),
            "'=a; b",
            "a list is guarded as one cell"
        );
        assert_eq!(csv_cell(&Value::Null), "");
    }

    #[test]
    fn a_ticket_field_s_cell_reads_back_through_its_field_s_parser() {
        let def = |kind: FieldKind| FieldDef {
            key: "x".into(),
            name: Localized::new("X"),
            kind,
            required: false,
            list: false,
        };
        let date = Date::parse("d", "2026-12-05").unwrap();
        let cases = [
            (
                def(FieldKind::Number {
                    min: None,
                    max: None,
                }),
                FieldValue::Number(-7),
            ),
            (def(FieldKind::Money), FieldValue::Money(Money(150_050))),
            (def(FieldKind::Date), FieldValue::Date(date)),
            (def(FieldKind::Flag), FieldValue::Flag(true)),
            (def(FieldKind::Flag), FieldValue::Flag(false)),
            (
                def(FieldKind::Choice {
                    options: vec![ChoiceOption {
                        key: "laptop".into(),
                        label: Localized::new("Laptop"),
                    }],
                }),
                FieldValue::Choice("laptop".into()),
            ),
        ];
        for (def, value) in cases {
            let cell = csv_cell(&field_cell(Some(&value)));
            assert_eq!(
                def.parse_answer(unguard_cell(&cell)).unwrap(),
                value,
                "{cell}"
            );
        }
        assert_eq!(field_cell(Some(&FieldValue::Number(3))), Value::from(3));
        assert_eq!(field_cell(None), Value::Null);
    }
}
