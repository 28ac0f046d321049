//! `crm verify`: a snapshot of the store checked against the declarations of
//! `super::declarations`, generically.
//!
//! For every declared record table, in one sequential scan: each record decodes, its key has
//! the declared layout and belongs to an existing organization, its id is the one its key
//! ends in and not above its sequence, the records it names exist, and every index entry it
//! declares exists with the declared value (a point read each). Then the counters must equal
//! the records that call for them, and an index table holding more entries than its records
//! declare is scanned for the entries no record declares (the backward check). The schema
//! version of the file says which indexes it has: an older file (a restored old backup,
//! verified before it is opened and migrated) lacks the tables later versions added. The
//! few tables that are no record table's are checked by hand: the schema version, the
//! sequences (and retention's mark in them), and the chunks of each file. Each problem is a
//! sentence naming the table and the key.

mod analytics;
mod backward;
mod broadcasts;
mod by_hand;
mod inbox;
mod ledger;
mod projects;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use redb::TableHandle;
use serde::Serialize;

use super::codec;
use super::declarations;
use super::indexes::{Declared, Entries, Index, Layout, Reference, Value, Visitor};
use super::keys::{self, Key, hex};
use super::raw::{RawTable, Snapshot};
use super::schema::SCHEMA_VERSION;
use super::tables::{self, Def};
use super::{View, table_get};
use crate::model::{OrgId, Organization, Pipeline};
use crate::{Error, Result};

/// Verification stops listing problems after this many (and says how many more it found), so
/// that a badly damaged file cannot exhaust memory.
pub const MAX_LISTED_PROBLEMS: usize = 1000;

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Every problem found, one sentence each naming the table and the key; empty when the
    /// file is consistent. At most [`MAX_LISTED_PROBLEMS`] are listed, then one line says how
    /// many more there were.
    pub problems: Vec<String>,
    /// Records decoded (rows of record tables).
    pub records: u64,
    /// Index entries and counters checked.
    pub index_entries: u64,
    /// Tables this build stores but verification has no rule for yet (their entries were
    /// counted, not decoded).
    pub unchecked_tables: Vec<String>,
}

impl VerifyReport {
    /// True when no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs every check on a snapshot. Blocks for a full scan of the file.
///
/// # Errors
/// [`crate::ErrorKind::Storage`] only when the file cannot be read; problems in the data are
/// listed in the report.
pub(crate) fn verify_view(view: &Snapshot) -> Result<VerifyReport> {
    let mut checker = Checker::new(view);
    checker.run()?;
    Ok(checker.finish())
}

/// An error with its sources, for messages that wrap it.
pub(crate) fn chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The whole of a table, for a scan.
const EVERYTHING: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Unbounded, Bound::Unbounded);

/// The records that call for each key of one counter table.
struct Counted {
    table: Def,
    noun: &'static str,
    describe: fn(&[u8]) -> Option<String>,
    records: BTreeMap<Vec<u8>, u64>,
}

/// Buffers reused from record to record while a table is walked.
#[derive(Default)]
struct Scratch<'v> {
    entries: Entries,
    references: Vec<Reference>,
    /// The tables references were looked up in, opened by the snapshot.
    referenced: Vec<(Def, Option<&'v RawTable>)>,
}

impl<'v> Scratch<'v> {
    fn table(&mut self, view: &'v Snapshot, def: Def) -> Option<&'v RawTable> {
        if let Some((_, table)) = self
            .referenced
            .iter()
            .find(|(known, _)| known.name() == def.name())
        {
            return *table;
        }
        let table = view.table(def);
        self.referenced.push((def, table));
        table
    }
}

struct Checker<'v> {
    view: &'v Snapshot,
    problems: Vec<String>,
    suppressed: u64,
    records: u64,
    index_entries: u64,
    /// Declared entries found where they belong, per index table.
    found: HashMap<&'static str, u64>,
    counted: Vec<Counted>,
    /// The organizations that exist, with their pipelines.
    pipelines: HashMap<u64, Pipeline>,
    /// The stored sequences, by key (`org | name`).
    sequences: HashMap<Vec<u8>, u64>,
    sequence_key: Vec<u8>,
    unchecked: Vec<String>,
    /// The schema version of the file.
    schema: u32,
}

impl Visitor for Checker<'_> {
    fn visit<T: Declared>(&mut self) -> Result<()> {
        self.check_table::<T>()
    }
}

impl<'v> Checker<'v> {
    fn new(view: &'v Snapshot) -> Self {
        Checker {
            view,
            problems: Vec::new(),
            suppressed: 0,
            records: 0,
            index_entries: 0,
            found: HashMap::new(),
            counted: Vec::new(),
            pipelines: HashMap::new(),
            sequences: HashMap::new(),
            sequence_key: Vec::new(),
            unchecked: Vec::new(),
            schema: SCHEMA_VERSION,
        }
    }

    fn problem(&mut self, text: String) {
        if self.problems.len() < MAX_LISTED_PROBLEMS {
            self.problems.push(text);
        } else {
            self.suppressed += 1;
        }
    }

    fn finish(mut self) -> VerifyReport {
        if self.suppressed > 0 {
            self.problems
                .push(format!("and {} more problems not listed", self.suppressed));
        }
        VerifyReport {
            problems: self.problems,
            records: self.records,
            index_entries: self.index_entries,
            unchecked_tables: self.unchecked,
        }
    }

    fn run(&mut self) -> Result<()> {
        self.check_meta()?;
        self.read_sequences()?;
        self.read_organizations()?;
        declarations::visit_all(self)?;
        self.check_counters()?;
        self.check_conversation_rows()?;
        self.check_ledger()?;
        self.check_broadcasts()?;
        self.check_projects()?;
        self.check_analytics()?;
        self.check_strays()?;
        self.check_media_chunks()?;
        self.check_pruned_marks();
        self.count_the_rest()
    }

    /// Gathers the organizations first: every other record must belong to one. Their
    /// problems are reported with the other records of their table.
    fn read_organizations(&mut self) -> Result<()> {
        let view = self.view;
        view.scan(tables::ORGS, EVERYTHING, false, |key, value| {
            if let (8, Ok(org)) = (key.len(), codec::decode::<Organization>(value)) {
                self.pipelines.insert(org.id.0, org.pipeline);
            }
            Ok(true)
        })
    }

    /// Checks that an id is not above its sequence (a new record would reuse it).
    fn id_in_sequence(&mut self, table: &str, org: OrgId, name: &str, id: u64) {
        self.sequence_key.clear();
        self.sequence_key.extend_from_slice(&org.0.to_be_bytes());
        self.sequence_key.extend_from_slice(name.as_bytes());
        let last = self
            .sequences
            .get(self.sequence_key.as_slice())
            .copied()
            .unwrap_or(0);
        if id > last {
            self.problem(format!(
                "{table}: {name} {id} of organization {org} is above its sequence ({last}), so a new {name} would reuse its id"
            ));
        }
    }

    /// The forward walk of one record table: one sequential scan, point reads for the
    /// references and the declared entries.
    fn check_table<T: Declared>(&mut self) -> Result<()> {
        let view = self.view;
        // A table missing from the file (one added after it was written, without a schema
        // version of its own, such as `sessions_by_user`) reads as empty.
        let indexes: Vec<(&'static Index<T>, Option<&'v RawTable>)> = T::INDEXES
            .iter()
            .filter(|index| index.since <= self.schema)
            .map(|index| (index, view.table(index.table)))
            .collect();
        for counter in T::COUNTERS {
            if !self
                .counted
                .iter()
                .any(|counted| counted.table.name() == counter.table.name())
            {
                self.counted.push(Counted {
                    table: counter.table,
                    noun: T::NOUN,
                    describe: counter.describe,
                    records: BTreeMap::new(),
                });
            }
        }
        let mut scratch = Scratch::default();
        view.scan(T::TABLE, EVERYTHING, false, |key, value| {
            self.records += 1;
            match codec::decode::<T>(value) {
                Ok(record) => self.check_record(key, &record, &indexes, &mut scratch)?,
                Err(error) => self.problem(format!(
                    "{}: the record at key {} does not decode: {}",
                    T::TABLE.name(),
                    hex(key),
                    chain(&error)
                )),
            }
            Ok(true)
        })
    }

    fn check_record<T: Declared>(
        &mut self,
        key: &[u8],
        record: &T,
        indexes: &[(&'static Index<T>, Option<&'v RawTable>)],
        scratch: &mut Scratch<'v>,
    ) -> Result<()> {
        let table = T::TABLE.name();
        if let Some(len) = T::LAYOUT.key_len()
            && key.len() != len
        {
            self.problem(format!(
                "{table}: key {} has {} bytes, expected {len}",
                hex(key),
                key.len()
            ));
            return Ok(());
        }
        let org = T::org(key, record);
        if T::LAYOUT != Layout::Org && !self.pipelines.contains_key(&org.0) {
            self.problem(format!(
                "{table}: the record at key {} belongs to organization {org}, which does not exist",
                hex(key)
            ));
            return Ok(());
        }
        if let Some(expected) = record.key(org)
            && expected.as_slice() != key
        {
            self.problem(format!(
                "{table}: the record at key {} is {}",
                hex(key),
                record.describe(org, key)
            ));
            return Ok(());
        }
        if let (Some(name), Some(id)) = (T::SEQUENCE, record.id()) {
            let numbered_in = if T::LAYOUT == Layout::Org {
                OrgId(0)
            } else {
                org
            };
            self.id_in_sequence(table, numbered_in, name, id);
        }
        record.references(org, &mut scratch.references);
        let references = std::mem::take(&mut scratch.references);
        for reference in &references {
            let target = scratch.table(self.view, reference.table);
            let named = Key::org(reference.org).u64(reference.id);
            if table_get(target, named.as_slice(), |_| Ok(()))?.is_none() {
                let problem = missing_reference(key, record, org, reference);
                self.problem(problem);
            }
        }
        scratch.references = references;
        scratch.references.clear();
        if let Some(rule) = record.broken_rule(org, self.pipelines.get(&org.0)) {
            self.problem(format!("{table}: {rule}"));
        }
        for (index, index_table) in indexes {
            (index.entries)(org, key, record, &mut scratch.entries);
            for (entry, value) in scratch.entries.drain(..) {
                let stored = table_get(*index_table, entry.as_slice(), |bytes| {
                    Ok((bytes != value.bytes()).then(|| bytes.to_vec()))
                })?;
                let problem = match stored {
                    Some(None) => {
                        *self.found.entry(index.table.name()).or_insert(0) += 1;
                        continue;
                    }
                    Some(Some(bytes)) => wrong_value(index.table, &entry, &bytes, &value),
                    None => format!(
                        "{}: missing entry {} for",
                        index.table.name(),
                        hex(entry.as_slice())
                    ),
                };
                self.problem(format!("{problem} {}", record.describe(org, key)));
            }
        }
        for counter in T::COUNTERS {
            if let Some(counted) = self
                .counted
                .iter_mut()
                .find(|counted| counted.table.name() == counter.table.name())
            {
                *counted
                    .records
                    .entry((counter.key)(org, record).into_vec())
                    .or_insert(0) += 1;
            }
        }
        Ok(())
    }

    /// Every stored counter equals the records that call for it, and every key records call
    /// for has a counter.
    fn check_counters(&mut self) -> Result<()> {
        let view = self.view;
        for mut counted in std::mem::take(&mut self.counted) {
            let table = counted.table.name();
            view.scan(counted.table, EVERYTHING, false, |key, value| {
                self.index_entries += 1;
                let Some(what) = (counted.describe)(key).filter(|_| value.len() == 8) else {
                    self.problem(format!(
                        "{table}: entry {} is malformed ({}-byte key, {}-byte value)",
                        hex(key),
                        key.len(),
                        value.len()
                    ));
                    return Ok(true);
                };
                let stored = keys::read_u64(value, 0);
                let actual = counted.records.remove(key).unwrap_or(0);
                if stored != actual {
                    self.problem(format!(
                        "{table}: {what} counts {stored} {}s, but {actual} are in it",
                        counted.noun
                    ));
                }
                Ok(true)
            })?;
            for (key, actual) in counted.records {
                let what = (counted.describe)(&key).unwrap_or_else(|| hex(&key));
                self.problem(format!(
                    "{table}: {what} has no counter, but {actual} {}s are in it",
                    counted.noun
                ));
            }
        }
        Ok(())
    }
}

/// A forward problem with an entry that exists but holds another value than declared,
/// without its owner (appended by the caller).
fn wrong_value(table: Def, entry: &Key, stored: &[u8], expected: &Value) -> String {
    let (table, entry) = (table.name(), hex(entry.as_slice()));
    match expected {
        Value::Id(_) if stored.len() == 8 => format!(
            "{table}: entry {entry} points at {} instead of",
            keys::read_u64(stored, 0)
        ),
        Value::Id(_) => format!(
            "{table}: entry {entry} points at a {}-byte value instead of",
            stored.len()
        ),
        Value::Empty => format!(
            "{table}: entry {entry} holds a {}-byte value, where entries hold none, for",
            stored.len()
        ),
        Value::Bytes(_) => format!("{table}: entry {entry} does not point at"),
        Value::Row(_) => format!("{table}: entry {entry} is stale: it does not match"),
    }
}

/// The problem of a record (stored under `key`) whose reference names nothing.
fn missing_reference<T: Declared>(
    key: &[u8],
    record: &T,
    org: OrgId,
    reference: &Reference,
) -> String {
    // A record keyed by a hash names its organization itself: the sentence says which.
    let (subject, of) = if T::LAYOUT == Layout::Hash {
        (
            format!("the record at key {}", hex(key)),
            format!(" of organization {}", reference.org),
        )
    } else {
        (record.describe(org, key), String::new())
    };
    let person = [tables::USERS, tables::CUSTOMERS]
        .iter()
        .any(|def| def.name() == reference.table.name());
    format!(
        "{}: {subject} {} {}{of}, {} does not exist",
        T::TABLE.name(),
        reference.relation,
        reference.id,
        if person { "who" } else { "which" }
    )
}

#[cfg(test)]
mod tests;
