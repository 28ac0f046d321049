//! Storage: redb tables, key encoding, the versioned record codec, transactions, the group
//! commit writer and schema migrations.
//!
//! Nothing outside this module touches a redb table. Use cases reach the store through
//! [`Tx`] (a write transaction) and [`ReadTx`] (a read snapshot), whose typed helpers all go
//! through [`View`] and the codec.

pub(crate) mod codec;
pub(crate) mod declarations;
pub(crate) mod dump;
pub(crate) mod indexes;
pub(crate) mod keys;
pub(crate) mod raw;
pub(crate) mod records;
pub(crate) mod schema;
pub(crate) mod tables;
pub(crate) mod verify;
mod writer;

use std::ops::Bound;

use redb::{ReadableTable, ReadableTableMetadata, TableHandle};

pub(crate) use codec::Record;
pub(crate) use declarations::{field_key, row_key, subject_key};
pub(crate) use keys::Key;
pub(crate) use tables::Def;
pub use writer::Written;
pub(crate) use writer::{LongRead, WRITER_THREAD, Writer};

use crate::model::{
    Actor, AuditAction, AuditDetail, AuditEntry, AuditId, Change, ChangeId, ChangeKind, OrgId,
    OutboxId, OutboxItem, OutboxPayload, OutboxState, Recipient, Subject, Timestamp,
};
use crate::{Error, Result};

/// Read access shared by write transactions and read snapshots, so that every query and
/// every rule check is written once.
pub trait View {
    /// Calls `f` with the raw value stored under `key`, if any.
    #[doc(hidden)]
    fn get_raw<R>(
        &self,
        def: Def,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<Option<R>>;

    /// Calls `f` for each entry in `range`, in key order (or reversed), until it returns
    /// `Ok(false)`.
    #[doc(hidden)]
    fn scan(
        &self,
        def: Def,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<()>;

    /// The number of entries in a table.
    #[doc(hidden)]
    fn table_len(&self, def: Def) -> Result<u64>;

    /// The moment the transaction started, for every rule that reads the clock.
    fn now(&self) -> Timestamp;
}

/// The raw key and value type of every table.
type Bytes = &'static [u8];

/// Opens a table of a read snapshot; `None` when the file does not have it (an older file,
/// or one a table was added after).
fn open_if_exists(
    txn: &redb::ReadTransaction,
    def: Def,
) -> Result<Option<redb::ReadOnlyTable<Bytes, Bytes>>> {
    match txn.open_table(def) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// [`View::get_raw`] on an opened table; `None` (a table missing from the file) reads as
/// empty. Every transaction type's [`View`] reads through these functions.
fn table_get<R>(
    table: Option<&impl ReadableTable<Bytes, Bytes>>,
    key: &[u8],
    f: impl FnOnce(&[u8]) -> Result<R>,
) -> Result<Option<R>> {
    let Some(table) = table else {
        return Ok(None);
    };
    match table.get(key)? {
        Some(guard) => f(guard.value()).map(Some),
        None => Ok(None),
    }
}

/// [`View::scan`] on an opened table; `None` reads as empty.
fn table_scan(
    table: Option<&impl ReadableTable<Bytes, Bytes>>,
    range: (Bound<&[u8]>, Bound<&[u8]>),
    reverse: bool,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
) -> Result<()> {
    let Some(table) = table else {
        return Ok(());
    };
    let iter = table.range::<&[u8]>(range)?;
    if reverse {
        for entry in iter.rev() {
            let (key, value) = entry?;
            if !f(key.value(), value.value())? {
                break;
            }
        }
    } else {
        for entry in iter {
            let (key, value) = entry?;
            if !f(key.value(), value.value())? {
                break;
            }
        }
    }
    Ok(())
}

/// [`View::table_len`] of an opened table; `None` has no entries.
fn table_entries(table: Option<&impl ReadableTableMetadata>) -> Result<u64> {
    match table {
        Some(table) => Ok(table.len()?),
        None => Ok(0),
    }
}

/// [`View`] for a transaction type whose `$open(def)` opens a table as
/// `Result<Option<table>>`.
macro_rules! view_impl {
    ($ty:ty, $open:ident) => {
        impl View for $ty {
            fn get_raw<R>(
                &self,
                def: Def,
                key: &[u8],
                f: impl FnOnce(&[u8]) -> Result<R>,
            ) -> Result<Option<R>> {
                table_get(self.$open(def)?.as_ref(), key, f)
            }

            fn scan(
                &self,
                def: Def,
                range: (Bound<&[u8]>, Bound<&[u8]>),
                reverse: bool,
                f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
            ) -> Result<()> {
                table_scan(self.$open(def)?.as_ref(), range, reverse, f)
            }

            fn table_len(&self, def: Def) -> Result<u64> {
                table_entries(self.$open(def)?.as_ref())
            }

            fn now(&self) -> Timestamp {
                self.now
            }
        }
    };
}

/// A read snapshot: every read sees the database as of its start. Cheap; never blocks writers.
///
/// Each table is opened once, at its first read, and kept open until the snapshot ends: a
/// page of the order list reads the same few tables dozens of times, and opening a table
/// (a lookup in redb's table of tables, a copy of its name, a new B-tree handle) cost more
/// than the point read that followed (perf profile of `/orders`, 6-8% of the page's time).
pub struct ReadTx {
    /// The opened tables, one slot per table of [`tables::ALL`] in that order; a filled slot
    /// holding `None` is a table the file lacks.
    opened: Box<[std::cell::OnceCell<Option<raw::RawTable>>]>,
    now: Timestamp,
    // Kept last so the tables above are dropped before the transaction.
    txn: redb::ReadTransaction,
}

impl ReadTx {
    pub(crate) fn new(txn: redb::ReadTransaction, now: Timestamp) -> Self {
        ReadTx {
            opened: tables::ALL
                .iter()
                .map(|_| std::cell::OnceCell::new())
                .collect(),
            now,
            txn,
        }
    }

    /// The table `def`, opened at its first use in this snapshot; `None` when the file lacks
    /// it. A table outside [`tables::ALL`] (none exists) would be opened at every call.
    fn open_read(&self, def: Def) -> Result<Option<&raw::RawTable>> {
        let name = def.name();
        let Some(slot) = tables::ALL
            .iter()
            .position(|known| known.name() == name)
            .and_then(|position| self.opened.get(position))
        else {
            return Err(Error::corrupt(format!(
                "table {name} is not a table of the store"
            )));
        };
        if let Some(table) = slot.get() {
            return Ok(table.as_ref());
        }
        let table = open_if_exists(&self.txn, def)?;
        Ok(slot.get_or_init(|| table).as_ref())
    }
}

impl View for ReadTx {
    fn get_raw<R>(
        &self,
        def: Def,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<Option<R>> {
        table_get(self.open_read(def)?, key, f)
    }

    fn scan(
        &self,
        def: Def,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<()> {
        table_scan(self.open_read(def)?, range, reverse, f)
    }

    fn table_len(&self, def: Def) -> Result<u64> {
        table_entries(self.open_read(def)?)
    }

    fn now(&self) -> Timestamp {
        self.now
    }
}

/// A write transaction of the group-commit writer. Use cases are methods on it (see
/// [`crate::Crm::write`]); several may run in one `Tx`, and all of them commit or none. The
/// writer runs the jobs of concurrent callers in one shared transaction and rolls back a
/// failing job alone through an undo log.
///
/// House rule for every use case: check everything first, write after. A use case that
/// returns a business error (not found, invalid, conflict, denied) has written nothing, so a
/// caller may handle the error and go on in the same transaction.
pub struct Tx<'a> {
    txn: &'a redb::WriteTransaction,
    now: Timestamp,
    /// The undo log of the job running in a shared batch transaction: every overwritten or
    /// removed entry's previous value, so one failing job can be rolled back without the
    /// others (redb's savepoints only work on a transaction that has not written yet).
    /// `None` outside the writer (migrations, fixture writers), where nothing is rolled back.
    undo: Option<std::cell::RefCell<Vec<Undo>>>,
}

/// One entry of the undo log: the value `key` had before the job touched it.
struct Undo {
    def: Def,
    key: Vec<u8>,
    previous: Option<Vec<u8>>,
}

impl<'a> Tx<'a> {
    pub(crate) fn new(txn: &'a redb::WriteTransaction, now: Timestamp) -> Self {
        Tx {
            txn,
            now,
            undo: None,
        }
    }

    /// A transaction shared by the jobs of a batch, each of which can be rolled back alone.
    pub(crate) fn batch(txn: &'a redb::WriteTransaction, now: Timestamp) -> Self {
        Tx {
            txn,
            now,
            undo: Some(std::cell::RefCell::new(Vec::new())),
        }
    }

    /// Starts the next job of a batch: forgets the previous job's undo log, sets the clock.
    pub(crate) fn begin_job(&mut self, now: Timestamp) {
        self.now = now;
        if let Some(undo) = &mut self.undo {
            undo.get_mut().clear();
        }
    }

    /// Undoes every write of the current job, newest first.
    pub(crate) fn rollback_job(&mut self) -> Result<()> {
        let Some(undo) = &mut self.undo else {
            return Ok(());
        };
        let log = std::mem::take(undo.get_mut());
        for entry in log.into_iter().rev() {
            let mut table = self.txn.open_table(entry.def)?;
            match entry.previous {
                Some(previous) => {
                    table.insert(entry.key.as_slice(), previous.as_slice())?;
                }
                None => {
                    table.remove(entry.key.as_slice())?;
                }
            }
        }
        Ok(())
    }

    fn log(&self, def: Def, key: &[u8], previous: Option<Vec<u8>>) {
        if let Some(undo) = &self.undo {
            undo.borrow_mut().push(Undo {
                def,
                key: key.to_vec(),
                previous,
            });
        }
    }

    fn open_write(
        &self,
        def: Def,
    ) -> Result<Option<redb::Table<'a, &'static [u8], &'static [u8]>>> {
        Ok(Some(self.txn.open_table(def)?))
    }

    /// Sets the transaction's clock (the demo loader back-dates records with it).
    pub(crate) fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    pub(crate) fn put_raw(&self, def: Def, key: &[u8], value: &[u8]) -> Result<()> {
        let mut table = self.txn.open_table(def)?;
        let previous = table.insert(key, value)?.map(|old| old.value().to_vec());
        drop(table);
        self.log(def, key, previous);
        Ok(())
    }

    pub(crate) fn put<T: Record>(&self, def: Def, key: &Key, value: &T) -> Result<()> {
        self.put_raw(def, key.as_slice(), &codec::encode(value)?)
    }

    /// Adds an index entry (empty value) by hand: the tests that damage indexes. Use cases
    /// write index entries through the declarations (`indexes`).
    #[cfg(test)]
    pub(crate) fn index(&self, def: Def, key: &Key) -> Result<()> {
        self.put_raw(def, key.as_slice(), &[])
    }

    /// Removes an entry; returns whether it existed.
    pub(crate) fn remove(&self, def: Def, key: &Key) -> Result<bool> {
        let mut table = self.txn.open_table(def)?;
        let previous = table
            .remove(key.as_slice())?
            .map(|old| old.value().to_vec());
        drop(table);
        let existed = previous.is_some();
        if existed {
            self.log(def, key.as_slice(), previous);
        }
        Ok(existed)
    }

    /// Takes the next id of sequence `name` in `org` (ids start at 1).
    pub(crate) fn next_id(&self, org: OrgId, name: &str) -> Result<u64> {
        let key = Key::org(org).bytes(name.as_bytes());
        let current = self
            .get_raw(tables::SEQUENCES, key.as_slice(), |bytes| {
                Ok(keys::read_u64(bytes, 0))
            })?
            .unwrap_or(0);
        let next = current + 1;
        self.put_raw(tables::SEQUENCES, key.as_slice(), &next.to_be_bytes())?;
        Ok(next)
    }

    /// Adds `delta` to a u64 counter stored under `key`.
    pub(crate) fn add_counter(&self, def: Def, key: &Key, delta: i64) -> Result<()> {
        let current = self
            .get_raw(def, key.as_slice(), |bytes| Ok(keys::read_u64(bytes, 0)))?
            .unwrap_or(0);
        let next = current.saturating_add_signed(delta);
        self.put_raw(def, key.as_slice(), &next.to_be_bytes())
    }

    /// Writes an audit entry for `actor` and its subject index entry (SPEC section 3: every
    /// change writes one).
    pub(crate) fn audit(
        &self,
        actor: &Actor,
        action: AuditAction,
        subject: Subject,
        detail: AuditDetail,
    ) -> Result<()> {
        let id = AuditId(self.next_id(actor.org, "audit")?);
        let entry = AuditEntry {
            id,
            at: self.now,
            actor: actor.who,
            action,
            subject,
            detail,
            ip: actor.origin.ip.clone(),
            user_agent: actor.origin.user_agent.clone(),
        };
        self.insert_record(&Key::org(actor.org).u64(id.0), &entry)
    }

    /// Records a change of `subject` in the organization's change feed, which the browser's
    /// live updates read (SPEC section 3.1). Use cases call it beside their audit entry for
    /// every record someone may be watching; delivery bookkeeping calls it alone.
    pub(crate) fn changed(&self, org: OrgId, subject: Subject, kind: ChangeKind) -> Result<()> {
        let id = ChangeId(self.next_id(org, "change")?);
        let change = Change {
            id,
            at: self.now,
            subject,
            kind,
        };
        self.put(tables::CHANGES, &Key::org(org).u64(id.0), &change)
    }

    /// Queues a delivery for after commit (SPEC section 3: the outbox is written in the same
    /// transaction as the change that causes it).
    pub(crate) fn enqueue(
        &self,
        org: OrgId,
        recipient: Recipient,
        payload: OutboxPayload,
    ) -> Result<OutboxId> {
        let id = OutboxId(self.next_id(org, "outbox")?);
        let item = OutboxItem {
            id,
            recipient,
            payload,
            attempts: 0,
            next_attempt_at: self.now,
            state: OutboxState::Pending,
            created_at: self.now,
        };
        self.insert_record(&Key::org(org).u64(id.0), &item)?;
        Ok(id)
    }
}

view_impl!(Tx<'_>, open_write);

/// Typed reads on top of [`View`].
pub(crate) trait ViewExt: View {
    fn get<T: Record>(&self, def: Def, key: &Key) -> Result<Option<T>> {
        self.get_raw(def, key.as_slice(), codec::decode::<T>)
    }

    fn exists(&self, def: Def, key: &Key) -> Result<bool> {
        Ok(self.get_raw(def, key.as_slice(), |_| Ok(()))?.is_some())
    }

    /// The keys starting with `prefix`, newest (largest) first when `reverse`, strictly past
    /// `after` when given (keyset pagination), at most `limit`.
    fn keys_with_prefix(
        &self,
        def: Def,
        prefix: &Key,
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let end = keys::prefix_end(prefix.as_slice());
        let (lower, upper) = match (after, reverse) {
            (Some(after), false) => (
                Bound::Excluded(after),
                end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
            ),
            (Some(after), true) => (Bound::Included(prefix.as_slice()), Bound::Excluded(after)),
            (None, _) => (
                Bound::Included(prefix.as_slice()),
                end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
            ),
        };
        self.scan(def, (lower, upper), reverse, |key, _| {
            out.push(key.to_vec());
            Ok(out.len() < limit)
        })?;
        Ok(out)
    }

    /// Calls `f` with every (key, value) starting with `prefix`, in key order.
    fn for_each_prefix(
        &self,
        def: Def,
        prefix: &Key,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let end = keys::prefix_end(prefix.as_slice());
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.scan(
            def,
            (Bound::Included(prefix.as_slice()), upper),
            false,
            |key, value| f(key, value),
        )
    }

    /// Every record whose key starts with `prefix`, in key order (a scan that loads them all).
    fn records_with_prefix<T: Record>(&self, def: Def, prefix: &Key) -> Result<Vec<T>> {
        let mut records = Vec::new();
        self.for_each_prefix(def, prefix, |_, value| {
            records.push(codec::decode::<T>(value)?);
            Ok(true)
        })?;
        Ok(records)
    }

    /// The records of `table` (keyed `org | id`) that `index` lists under `prefix`, in key
    /// order: each index key ends with its record's id. Corruption when the index names a
    /// missing record.
    fn records_by_index<T: Record>(
        &self,
        org: OrgId,
        index: Def,
        prefix: &Key,
        table: Def,
    ) -> Result<Vec<T>> {
        let mut records = Vec::new();
        for key in self.keys_with_prefix(index, prefix, None, false, usize::MAX)? {
            let record = self
                .get(table, &Key::org(org).u64(keys::tail_u64(&key)))?
                .ok_or_else(|| dangling(index.name(), &key))?;
            records.push(record);
        }
        Ok(records)
    }

    /// The number of keys starting with `prefix` (a scan; use counters for hot paths).
    fn count_prefix(&self, def: Def, prefix: &Key) -> Result<u64> {
        let mut count = 0;
        self.for_each_prefix(def, prefix, |_, _| {
            count += 1;
            Ok(true)
        })?;
        Ok(count)
    }

    fn counter(&self, def: Def, key: &Key) -> Result<u64> {
        Ok(self
            .get_raw(def, key.as_slice(), |bytes| Ok(keys::read_u64(bytes, 0)))?
            .unwrap_or(0))
    }
}

impl<V: View + ?Sized> ViewExt for V {}

/// A storage-level error for a record missing where an index points.
pub(crate) fn dangling(table: &str, key: &[u8]) -> Error {
    Error::corrupt(format!(
        "index {table} points at a missing record (key {key:02x?})"
    ))
}
