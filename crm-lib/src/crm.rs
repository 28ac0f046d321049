//! The [`Crm`] facade: opening the file, the read and write entry points, shutdown.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase};

use crate::model::Timestamp;
use crate::store::{ReadTx, Tx, Writer, Written, schema};
use crate::{Error, ErrorKind, Result};

/// How to open the store. Defaults suit the appliance on a small machine.
#[derive(Debug, Clone)]
pub struct CrmOptions {
    /// redb's page cache, in bytes. redb's own default (1 GiB) grows toward the file size, so
    /// the appliance sets it explicitly (SPEC section 7: default 256 MiB).
    pub cache_size: usize,
    /// redb quick repair: every durable commit also saves the allocator state (a second fsync,
    /// and a record that grows with the file: about a MiB per commit at 8 GiB), so that
    /// opening after a crash takes milliseconds instead of a full repair walk. On the
    /// full-scale store (1M orders, 10M messages, 6.6 GiB) the open after a kill -9 takes
    /// 2 ms with it and 11.3 s without, and in-process writes from 32 threads run at
    /// 10,300/s with it and 16,300/s without (`benches/`). On by default because SPEC section
    /// 7 asks for an open in under 1 s after a crash. Commits skip the record while a backup
    /// or a verification holds a snapshot (see `Crm::backup`).
    pub quick_repair: bool,
}

impl Default for CrmOptions {
    fn default() -> Self {
        CrmOptions {
            cache_size: 256 * 1024 * 1024,
            quick_repair: true,
        }
    }
}

struct Inner {
    db: Arc<Database>,
    writer: Writer,
    path: PathBuf,
    migrated_from: Option<u32>,
    /// The clock every transaction reads (`View::now`): the system's, or a test's.
    clock: fn() -> Timestamp,
    /// A random number naming this opening of the file: scheduled jobs record it in their
    /// claims, so that a claim made by an earlier opening (a process that died mid-run, since
    /// one process at a time holds the file) is known to be interrupted.
    instance: u64,
}

/// The CRM: one redb file and the use cases over it. Cheap to clone; all clones share the file
/// and its writer thread. Closing happens when the last clone is dropped (or on [`Crm::close`]).
#[derive(Clone)]
pub struct Crm {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Crm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Crm {
    /// Opens (or creates) the file at `path` with default options. See [`Crm::open_with`].
    ///
    /// # Errors
    /// See [`Crm::open_with`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, CrmOptions::default())
    }

    /// Opens (or creates) the file at `path`, migrating an older schema in one transaction.
    /// Blocks for the open, and after a crash for redb's repair.
    ///
    /// # Errors
    /// - [`ErrorKind::Busy`] when another process (a running appliance) holds the file;
    /// - [`ErrorKind::Conflict`] when the file's schema is newer than this program's;
    /// - [`ErrorKind::Storage`] when the file cannot be read or is not a redb file.
    pub fn open_with(path: impl AsRef<Path>, options: CrmOptions) -> Result<Self> {
        Self::open_with_clock(path, options, Timestamp::now)
    }

    /// [`Crm::open_with`] with another clock than the system's: every write and read
    /// transaction takes its `now` (what expiry rules such as order access grants and link
    /// codes compare with) from `clock`. For tests that need time to pass and for replays;
    /// the appliance and the `crm` command use the system clock.
    ///
    /// # Errors
    /// See [`Crm::open_with`].
    pub fn open_with_clock(
        path: impl AsRef<Path>,
        options: CrmOptions,
        clock: fn() -> Timestamp,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let db = Database::builder()
            .set_cache_size(options.cache_size)
            .create(&path)
            .map_err(|error| match error {
                redb::DatabaseError::DatabaseAlreadyOpen => Error::busy(format!(
                    "{} is in use by another process (is the appliance running?)",
                    path.display()
                )),
                other => Error::storage(format!("cannot open {}", path.display()), other),
            })?;
        let migrated_from =
            schema::prepare(&db)?.filter(|version| *version != schema::SCHEMA_VERSION);
        let db = Arc::new(db);
        let writer = Writer::start(db.clone(), clock, options.quick_repair)?;
        let mut instance = [0u8; 8];
        getrandom::fill(&mut instance)
            .map_err(|error| Error::storage("cannot draw a random number", error))?;
        Ok(Crm {
            inner: Arc::new(Inner {
                db,
                writer,
                path,
                migrated_from,
                clock,
                instance: u64::from_le_bytes(instance),
            }),
        })
    }

    /// The number naming this opening of the file (see `Inner::instance`).
    pub(crate) fn instance(&self) -> u64 {
        self.inner.instance
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version the file had before this open migrated it, if it did.
    pub fn migrated_from(&self) -> Option<u32> {
        self.inner.migrated_from
    }

    /// Runs `f` in a write transaction of the group-commit writer and returns once its effects
    /// are durable (`Durability::Immediate`, shared with concurrent callers). When `f` returns an
    /// error, nothing it wrote is kept. Blocks the calling thread; async callers use
    /// [`Crm::write_async`].
    ///
    /// # Errors
    /// Whatever `f` returns, or [`ErrorKind::Storage`] when the commit fails.
    pub fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    {
        self.inner.writer.write(f)
    }

    /// [`Crm::write`] for async callers: queues `f` without blocking and returns a future that
    /// resolves once its effects are durable, woken by the writer thread. No runtime is
    /// assumed (the future is plain `std`). Dropping the future does not cancel the write.
    ///
    /// # Errors
    /// As [`Crm::write`], when awaited.
    pub fn write_async<R, F>(&self, f: F) -> Written<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<R> + Send + 'static,
    {
        self.inner.writer.write_async(f)
    }

    /// Calls `hook` on the writer thread after every durable commit that changed something, so
    /// an adapter can wake its live views (the web's server-sent events). The hook must be
    /// quick and must not call back into the store's write path.
    pub fn on_commit(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.inner.writer.on_commit(Box::new(hook));
    }

    /// Runs `f` on a read snapshot. Never blocks on writers.
    ///
    /// # Errors
    /// Whatever `f` returns, or [`ErrorKind::Storage`].
    pub fn read<R>(&self, f: impl FnOnce(&ReadTx) -> Result<R>) -> Result<R> {
        let txn = self.inner.db.begin_read()?;
        f(&ReadTx::new(txn, (self.inner.clock)()))
    }

    /// The underlying database, for the backup and verify services.
    /// Marks a long read until the guard drops: commits meanwhile skip quick repair's record,
    /// whose pages the held snapshot would keep from being reused.
    pub(crate) fn long_read(&self) -> crate::store::LongRead {
        self.inner.writer.long_read()
    }

    pub(crate) fn database(&self) -> &Database {
        &self.inner.db
    }

    /// Finishes queued writes and stops the writer. The file closes when the last clone is
    /// dropped.
    pub fn close(&self) {
        self.inner.writer.stop();
    }
}

/// Whether an error means "the file is held by another process".
pub fn is_locked(error: &Error) -> bool {
    error.kind() == ErrorKind::Busy
}
