//! Whole-table access for the administration services (backup, restore, verify, statistics).
//!
//! [`Snapshot`] lives here because it needs redb itself rather than the typed helpers: a read
//! snapshot that opens every table once up front (verification makes millions of point
//! reads, and opening a table per read would double their cost). [`open_checked`] runs redb's
//! integrity check on a file nobody else holds, and [`on_untrusted_file`] runs work on a file
//! that may be damaged (a redb file being restored) and turns redb's panics on it into errors.
//! The backup format is `super::dump`.

use std::cell::Cell;
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use redb::{Database, ReadOnlyTable, TableHandle};

use super::View;
use super::tables::{self, Def};
use crate::model::Timestamp;
use crate::{Error, Result};

/// A table of the snapshot, opened.
pub(crate) type RawTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

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

    /// The table `def`, opened once with the snapshot; `None` when the file lacks it.
    pub(crate) fn table(&self, def: Def) -> Option<&RawTable> {
        let name = def.name();
        self.tables
            .iter()
            .find(|(table, _)| *table == name)
            .and_then(|(_, table)| table.as_ref())
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
