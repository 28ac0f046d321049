//! Whole-table access for the administration services (backup, restore, verify, statistics).
//!
//! Two things live here because they need redb itself rather than the typed helpers:
//! [`Snapshot`], a read snapshot that opens every table once up front (verification makes
//! millions of point reads, and opening a table per read would double their cost), and
//! [`copy_snapshot`], the table-by-table copy of a read snapshot into a new file that stands
//! in for the backup call redb 4 does not have. [`on_untrusted_file`] runs work on a file
//! that may be damaged (a backup being restored) and turns redb's panics on it into errors.

use std::cell::Cell;
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use redb::{Database, Durability, ReadOnlyTable, TableHandle};

use super::View;
use super::tables::{self, Def};
use crate::model::Timestamp;
use crate::{Error, Result};

type RawTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// A read snapshot with every table of [`tables::ALL`] opened once. A table missing from the
/// file reads as empty. Never blocks writers; holds the snapshot's pages until dropped.
pub(crate) struct Snapshot {
    tables: Vec<(&'static str, Option<RawTable>)>,
    now: Timestamp,
    // Kept last so the tables above are dropped before the transaction.
    _txn: redb::ReadTransaction,
}

impl Snapshot {
    /// Opens every table in `txn`.
    pub(crate) fn new(txn: redb::ReadTransaction) -> Result<Self> {
        let mut opened = Vec::with_capacity(tables::ALL.len());
        for def in tables::ALL {
            opened.push((def.name(), super::open_if_exists(&txn, *def)?));
        }
        Ok(Snapshot {
            tables: opened,
            now: Timestamp::now(),
            _txn: txn,
        })
    }

    fn table(&self, def: Def) -> Option<&RawTable> {
        let name = def.name();
        self.tables
            .iter()
            .find(|(table, _)| *table == name)
            .and_then(|(_, table)| table.as_ref())
    }

    /// Whether the file has this table at all.
    pub(crate) fn has_table(&self, def: Def) -> bool {
        self.table(def).is_some()
    }
}

impl View for Snapshot {
    fn get_raw<R>(
        &self,
        def: Def,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<Option<R>> {
        super::table_get(self.table(def), key, f)
    }

    fn scan(
        &self,
        def: Def,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<()> {
        super::table_scan(self.table(def), range, reverse, f)
    }

    fn table_len(&self, def: Def) -> Result<u64> {
        super::table_entries(self.table(def))
    }

    fn now(&self) -> Timestamp {
        self.now
    }
}

/// What [`copy_snapshot`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Copied {
    /// Tables written to the new file (every table of [`tables::ALL`]).
    pub(crate) tables: u64,
    /// Entries copied, all tables together.
    pub(crate) entries: u64,
    /// Key and value bytes copied.
    pub(crate) bytes: u64,
}

/// Copies every table of [`tables::ALL`] from the snapshot `source` into a new redb file at
/// `target`, which must not exist, `batch` entries per write transaction. The batches commit
/// without fsync and a final `Durability::Immediate` commit makes all of them durable, so a
/// crash mid-copy leaves a file the caller discards. The schema version travels with the
/// `meta` table.
///
/// Blocks for the whole copy; never blocks the writers of the source, which keep committing
/// beside the snapshot.
pub(crate) fn copy_snapshot(
    source: &redb::ReadTransaction,
    target: &Path,
    batch: usize,
    cache_size: usize,
) -> Result<Copied> {
    let db = Database::builder()
        .set_cache_size(cache_size)
        .create(target)
        .map_err(|error| Error::storage(format!("cannot create {}", target.display()), error))?;
    let batch = batch.max(1);
    let mut copied = Copied::default();
    for def in tables::ALL {
        let table = super::open_if_exists(source, *def)?;
        // Create the table even when the source lacks it, as a new store would have it.
        {
            let txn = db.begin_write()?;
            txn.open_table(*def)?;
            commit_fast(txn)?;
        }
        copied.tables += 1;
        let Some(table) = table else { continue };
        let mut iter = table.range::<&[u8]>(..)?;
        loop {
            let txn = db.begin_write()?;
            let mut done = true;
            {
                let mut out = txn.open_table(*def)?;
                let mut count = 0;
                for entry in iter.by_ref() {
                    let (key, value) = entry?;
                    let (key, value) = (key.value(), value.value());
                    out.insert(key, value)?;
                    copied.entries += 1;
                    copied.bytes += (key.len() + value.len()) as u64;
                    count += 1;
                    if count == batch {
                        done = false;
                        break;
                    }
                }
            }
            commit_fast(txn)?;
            if done {
                break;
            }
        }
    }
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)
        .map_err(|error| Error::storage("cannot set durability", error))?;
    txn.commit()?;
    Ok(copied)
}

fn commit_fast(mut txn: redb::WriteTransaction) -> Result<()> {
    txn.set_durability(Durability::None)
        .map_err(|error| Error::storage("cannot set durability", error))?;
    txn.commit()?;
    Ok(())
}

/// Opens a file that must already be a redb database, exclusively, runs redb's own integrity
/// check (which needs exclusive access, so it is only possible on files nobody else holds:
/// a fresh copy, a backup being restored) and returns it. `Ok((db, false))` means redb found
/// damage and repaired it. Messages name the file as `shown` (the file a person knows, when
/// `path` is a temporary copy of it).
///
/// # Errors
/// [`crate::ErrorKind::Busy`] when another process holds the file; [`crate::ErrorKind::Storage`]
/// when it is not a redb file, is truncated or corrupt beyond repair.
pub(crate) fn open_checked(
    path: &Path,
    shown: &Path,
    cache_size: usize,
) -> Result<(Database, bool)> {
    let mut db = Database::builder()
        .set_cache_size(cache_size)
        .open(path)
        .map_err(|error| match error {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                Error::busy(format!("{} is in use by another process", shown.display()))
            }
            other => Error::storage(
                format!(
                    "{} is not a readable data file (truncated or corrupt?)",
                    shown.display()
                ),
                other,
            ),
        })?;
    let intact = db.check_integrity().map_err(|error| {
        Error::storage(
            format!("{} failed redb's integrity check", shown.display()),
            error,
        )
    })?;
    Ok((db, intact))
}

thread_local! {
    /// Set while this thread works on a file that may be damaged: its panics are not printed.
    static UNTRUSTED: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once, a panic hook that stays silent on a thread inside [`on_untrusted_file`]
/// and hands every other panic to the hook that was there before.
static QUIET_HOOK: Once = Once::new();

/// Runs `work` on a file that may be damaged in any way (a backup being restored). redb
/// answers most damage with an error, but some it does not expect makes it panic (a page of
/// an unknown type is `unreachable!`); such a panic is caught here and becomes a storage
/// error saying that `shown` is damaged, and it is not printed, so a damaged backup gets one
/// clear message rather than a panic. Files the program wrote itself do not need this.
///
/// Only panics on this thread are silenced; the hook passes every other panic to the hook
/// installed before it.
///
/// # Errors
/// `work`'s errors; [`crate::ErrorKind::Storage`] when it panicked.
pub(crate) fn on_untrusted_file<T>(shown: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !UNTRUSTED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = UNTRUSTED.with(|untrusted| untrusted.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(work));
    UNTRUSTED.with(|untrusted| untrusted.set(outer));
    outcome.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "an unexpected state".to_string());
        Err(Error::corrupt(format!(
            "{} is damaged: reading it failed ({what})",
            shown.display()
        )))
    })
}
