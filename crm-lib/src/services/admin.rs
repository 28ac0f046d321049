//! Administration of the data file: online backup, restore, verification and statistics.
//!
//! redb 4 has no backup call. A backup is a read snapshot written out table by table, in key
//! order, as checksummed frames (`store::dump`) to a new file beside the target, which is
//! linked into place once durable ([`System::backup`](crate::system::System::backup)); writers keep committing meanwhile, since
//! a read transaction never blocks them. [`restore`] builds a new data file from a backup,
//! checking every checksum and count on the way, runs [`System::verify`](crate::system::System::verify)'s checks on it, and
//! never touches the target until the new file is known good.
//!
//! Verification ([`System::verify`](crate::system::System::verify), also run by [`restore`]) is `store::verify`: it walks the
//! record tables' declarations (`store::declarations`), the same ones the writers keep the
//! indexes by, and reports each problem as a sentence naming the table and the key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::{ReadableDatabase, TableHandle};
use serde::Serialize;

use crate::model::*;
use crate::store::declarations::order_count_key;
use crate::store::raw::{self, Snapshot};
use crate::store::schema::{self, SCHEMA_VERSION};
use crate::store::verify::{chain, verify_view};
use crate::store::{Key, View, ViewExt, codec, dump, tables};
use crate::{Crm, Error, Password, Result};

pub use crate::store::verify::{MAX_LISTED_PROBLEMS, VerifyReport};

/// Entries inserted per write transaction when a restore builds the data file: large enough
/// that commits are a small part of the time, small enough that a transaction's dirty pages
/// stay a few tens of MiB.
const RESTORE_BATCH: usize = 100_000;

/// The write buffer of a backup and the read buffer of a restore.
const DUMP_BUFFER: usize = 1024 * 1024;

/// redb's page cache for the redb files this module checks (a data file given to restore).
const COPY_CACHE_SIZE: usize = 16 * 1024 * 1024;

/// redb's page cache while a restore builds and verifies the new file: the appliance is
/// stopped then, and verification's point reads run faster with more of the file cached.
const RESTORE_CACHE_SIZE: usize = 128 * 1024 * 1024;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    /// The backup file.
    pub path: PathBuf,
    /// Tables copied.
    pub tables: u64,
    /// Entries copied, all tables together.
    pub entries: u64,
    /// Key and value bytes copied.
    pub bytes: u64,
    /// Size of the backup file, in bytes.
    pub file_bytes: u64,
    /// The schema version of the copy.
    pub schema_version: u32,
    /// How long the backup took, verification included.
    pub duration: Duration,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// The data file that was written.
    pub path: PathBuf,
    /// The schema version of the restored file (an older one is migrated on the next open).
    pub schema_version: u32,
    /// Records in the restored file.
    pub records: u64,
    /// Index entries in the restored file.
    pub index_entries: u64,
    /// Size of the restored file, in bytes.
    pub file_bytes: u64,
    /// Whether redb found damage in the backup and repaired it before the copy was checked.
    pub repaired: bool,
    /// Whether an existing data file was replaced.
    pub replaced: bool,
    /// How long the restore took.
    pub duration: Duration,
}

/// Entries of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableStats {
    /// The table's name.
    pub name: String,
    /// Its entries.
    pub entries: u64,
}

/// Orders in one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageStats {
    /// The stage key (`in_progress`).
    pub key: String,
    /// Its English name.
    pub name: String,
    /// Orders in it.
    pub orders: u64,
}

/// Counts of one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgStats {
    /// The id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// The pipeline template it was created from.
    pub template: String,
    /// Staff users.
    pub users: u64,
    /// Customers.
    pub customers: u64,
    /// Orders, all stages.
    pub orders: u64,
    /// Orders per stage, in pipeline order.
    pub stages: Vec<StageStats>,
}

/// Statistics of the data file, for `crm stats` (serializable for `--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// The data file.
    pub path: PathBuf,
    /// Its size on disk, in bytes.
    pub file_bytes: u64,
    /// The schema version stored in it.
    pub schema_version: Option<u32>,
    /// Entries per table, in table order.
    pub tables: Vec<TableStats>,
    /// Every organization.
    pub organizations: Vec<OrgStats>,
}

/// The first set-up of a data file: its organization and its administrator.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The pipeline template (one of [`crate::templates::NAMES`]).
    pub template: String,
    /// The organization's display name.
    pub name: String,
    /// The organization's slug.
    pub slug: String,
    /// The administrator's username.
    pub admin_username: String,
    /// The administrator's initial password; the first login must change it.
    pub admin_password: Password,
}

/// A data file just set up by [`System::initialize`](crate::system::System::initialize).
#[derive(Debug, Clone)]
pub struct Initialized {
    /// The organization, created from its template.
    pub organization: Organization,
    /// Its administrator, who must change the password at first login.
    pub admin: User,
}

impl Crm {
    /// Ends a long read. When commits skipped quick repair's record of the allocator state
    /// meanwhile, commits once more so that the record is in the file again; a read of an
    /// idle store writes nothing.
    fn end_long_read(&self, long_read: crate::store::LongRead) -> Result<()> {
        if long_read.end() {
            self.write(|_| Ok(()))?;
        }
        Ok(())
    }
}

/// Replaces (or creates) the data file `target` with the backup `input`.
///
/// The target must not be open: call this with no [`Crm`] open on it (a running appliance is
/// detected and refused). The new data file is built in a temporary file in the target's
/// directory, checked, fsynced and renamed over `target`. The input is never modified, and the
/// target is untouched unless every check passed.
///
/// Two kinds of backup are read:
/// - a backup file of [`System::backup`](crate::system::System::backup) (`store::dump`'s format): every frame's checksum, the
///   key order and the counts are checked while the entries are inserted into a new file, so
///   any damaged, truncated or extended file is refused;
/// - a redb data file (what backups were before that format, or a copy of a stopped
///   appliance's file): copied, then redb's integrity check runs on the copy. redb answers
///   most damage with an error, and the kind on which it panics is caught and refused too;
///   damage confined to bytes the store does not use (free pages, the unused end of a page)
///   changes nothing that is restored, so such a file is restored.
///
/// Either way [`System::verify`](crate::system::System::verify)'s checks then run on the new file.
///
/// # Errors
/// - [`crate::ErrorKind::NotFound`] when `input` does not exist;
/// - [`crate::ErrorKind::Conflict`] when `target` exists and `force` is false, or the backup's schema
///   or format is newer than this program's;
/// - [`crate::ErrorKind::Busy`] when another process holds `target`;
/// - [`crate::ErrorKind::Storage`] when `input` is not a readable backup (truncated, corrupt, not a
///   backup or redb file, not a CRM file) or does not verify; the message says which.
pub fn restore(input: &Path, target: &Path, force: bool) -> Result<RestoreReport> {
    let started = Instant::now();
    if !input.is_file() {
        return Err(Error::not_found("backup file", input.display()));
    }
    let replaced = target.exists();
    if replaced && !force {
        return Err(Error::conflict(format!(
            "{} exists; restore with --force to replace it",
            target.display()
        )));
    }
    // Hold the target's lock for the whole restore: a process that holds the file is refused,
    // and none can open the old file while it is being replaced.
    let _lock = if replaced {
        Some(lock_exclusive(target)?)
    } else {
        None
    };
    let temp = TempFile::beside(target, "restore")?;
    let mut file = fs::File::open(input)
        .map_err(|error| Error::storage(format!("cannot open {}", input.display()), error))?;
    let mut prefix = [0u8; dump::MAGIC.len()];
    let got = std::io::Read::read(&mut file, &mut prefix)
        .map_err(|error| Error::storage(format!("cannot read {}", input.display()), error))?;
    let (version, report, intact) = if dump::is_dump(&prefix[..got]) {
        drop(file);
        restore_dump(input, temp.path())?
    } else {
        drop(file);
        restore_data_file(input, temp.path())?
    };
    if !report.is_clean() {
        return Err(Error::corrupt(format!(
            "{} does not verify, so {} was left untouched: {}",
            input.display(),
            target.display(),
            summarize(&report.problems)
        )));
    }
    sync_file(temp.path())?;
    temp.publish_over(target)?;
    Ok(RestoreReport {
        path: target.to_path_buf(),
        schema_version: version,
        records: report.records,
        index_entries: report.index_entries,
        file_bytes: file_size(target)?,
        repaired: !intact,
        replaced,
        duration: started.elapsed(),
    })
}

/// Builds the data file `path` from the backup file `input` and verifies it. Returns the
/// schema version, the report, and `true` (a file built from checked frames needs no repair).
fn restore_dump(input: &Path, path: &Path) -> Result<(u32, VerifyReport, bool)> {
    let file = fs::File::open(input)
        .map_err(|error| Error::storage(format!("cannot open {}", input.display()), error))?;
    let mut reader = std::io::BufReader::with_capacity(DUMP_BUFFER, file);
    let (db, header, _) = dump::load(
        &mut reader,
        input,
        path,
        RESTORE_CACHE_SIZE,
        RESTORE_BATCH,
        |header| {
            if header.schema_version > SCHEMA_VERSION {
                return Err(newer_schema(input, header.schema_version));
            }
            Ok(())
        },
    )?;
    let view = Snapshot::new(db.begin_read()?)?;
    let stored = schema::stored_version(&view)?;
    if stored != Some(header.schema_version) {
        return Err(Error::corrupt(format!(
            "{} says schema version {} but its data holds {}",
            input.display(),
            header.schema_version,
            stored.map_or_else(|| "none".to_string(), |version| version.to_string())
        )));
    }
    let report = verify_view(&view)?;
    Ok((header.schema_version, report, true))
}

/// Copies the redb data file `input` to `path` and checks the copy (see [`restore`]).
fn restore_data_file(input: &Path, path: &Path) -> Result<(u32, VerifyReport, bool)> {
    fs::copy(input, path).map_err(|error| {
        Error::storage(
            format!("cannot copy {} to {}", input.display(), path.display()),
            error,
        )
    })?;
    raw::on_untrusted_file(input, || check_backup(path, input))
}

fn newer_schema(input: &Path, version: u32) -> Error {
    Error::conflict(format!(
        "{} has schema version {version}, newer than this program's {SCHEMA_VERSION}; restore it with a newer program",
        input.display()
    ))
}

/// Opens the copy `path` of the backup `input` (named in messages), runs redb's integrity
/// check and [`System::verify`](crate::system::System::verify)'s checks on it, and closes it again. Returns the schema version,
/// the report and whether redb found the file intact.
fn check_backup(path: &Path, input: &Path) -> Result<(u32, VerifyReport, bool)> {
    let (db, intact) = raw::open_checked(path, input, COPY_CACHE_SIZE)?;
    let view = Snapshot::new(db.begin_read()?)?;
    let version = schema::stored_version(&view)
        .map_err(|error| {
            Error::corrupt(format!(
                "{} is not a usable backup: {}",
                input.display(),
                chain(&error)
            ))
        })?
        .ok_or_else(|| {
            Error::corrupt(format!(
                "{} is a redb file but not a CRM data file (it has no schema version)",
                input.display()
            ))
        })?;
    if version > SCHEMA_VERSION {
        return Err(newer_schema(input, version));
    }
    let report = verify_view(&view)?;
    drop(view);
    drop(db);
    Ok((version, report, intact))
}

/// The first few problems, for an error message.
fn summarize(problems: &[String]) -> String {
    let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
    let more = problems.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{}; and {more} more", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

fn file_size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .map_err(|error| Error::storage(format!("cannot read {}", path.display()), error))?
        .len())
}

fn sync_file(path: &Path) -> Result<()> {
    fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|error| Error::storage(format!("cannot sync {}", path.display()), error))
}

/// Makes a rename or link durable: fsyncs the directory that holds `path`.
fn sync_dir_of(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    fs::File::open(&dir)
        .and_then(|file| file.sync_all())
        .map_err(|error| Error::storage(format!("cannot sync directory {}", dir.display()), error))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Takes the exclusive lock redb takes on a data file, failing at once when another process
/// (or another handle in this one) holds the file.
fn lock_exclusive(path: &Path) -> Result<fs::File> {
    let file = fs::OpenOptions::new()
        .read(true)
        .open(path)
        .map_err(|error| Error::storage(format!("cannot open {}", path.display()), error))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(Error::busy(format!(
            "{} is in use by another process (is the appliance running?)",
            path.display()
        ))),
        Err(fs::TryLockError::Error(error)) => Err(Error::storage(
            format!("cannot lock {}", path.display()),
            error,
        )),
    }
}

/// A file in the directory of its final path, removed on drop unless published.
struct TempFile {
    path: PathBuf,
    published: bool,
}

impl TempFile {
    /// A new, empty, unique file beside `target` (same directory, so the final rename is
    /// atomic), readable by the owner only.
    fn beside(target: &Path, purpose: &str) -> Result<Self> {
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "crm.redb".to_string());
        for _ in 0..16 {
            let suffix =
                crate::password::random_string(8, b"abcdefghijklmnopqrstuvwxyz0123456789")?;
            let path = dir.join(format!(".{name}.{purpose}-{suffix}.tmp"));
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&path) {
                Ok(mut file) => {
                    file.flush().ok();
                    return Ok(TempFile {
                        path,
                        published: false,
                    });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::not_found("directory", dir.display()));
                }
                Err(error) => {
                    return Err(Error::storage(
                        format!("cannot create a temporary file in {}", dir.display()),
                        error,
                    ));
                }
            }
        }
        Err(Error::corrupt(format!(
            "cannot find a free temporary file name in {}",
            dir.display()
        )))
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file to `target`, which must not exist: a hard link refuses to overwrite, so
    /// a file that appeared at `target` meanwhile is never clobbered.
    fn publish_new(mut self, target: &Path) -> Result<()> {
        match fs::hard_link(&self.path, target) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::conflict(format!(
                    "{} exists; choose a new backup file name",
                    target.display()
                )));
            }
            // A file system without hard links: fall back to a rename after a last check.
            Err(_) if !target.exists() => {
                fs::rename(&self.path, target).map_err(|error| {
                    Error::storage(
                        format!("cannot move the copy to {}", target.display()),
                        error,
                    )
                })?;
                self.published = true;
                return sync_dir_of(target);
            }
            Err(error) => {
                return Err(Error::storage(
                    format!("cannot move the copy to {}", target.display()),
                    error,
                ));
            }
        }
        fs::remove_file(&self.path).ok();
        self.published = true;
        sync_dir_of(target)
    }

    /// Renames the file over `target` (atomic within one directory).
    fn publish_over(mut self, target: &Path) -> Result<()> {
        fs::rename(&self.path, target).map_err(|error| {
            Error::storage(
                format!("cannot move the copy to {}", target.display()),
                error,
            )
        })?;
        self.published = true;
        sync_dir_of(target)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_file(&self.path);
        }
    }
}
impl crate::system::System<'_> {
    /// Sets up an empty data file: creates the organization from its template and an
    /// administrator (role `administrator`, must change the password at first login), in one
    /// transaction, so a file is either set up completely or not at all. Hashes the password
    /// before the transaction (argon2id, tens of milliseconds).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Conflict`] when the file already has an organization; invalid input for
    /// the template, name, slug or username.
    pub fn initialize(&self, setup: Setup) -> Result<Initialized> {
        let template = crate::templates::template(&setup.template)?;
        super::team::parse_username(&setup.admin_username)?;
        let hash = crate::password::hash_password(&setup.admin_password)?;
        self.crm.write(move |tx| {
            let mut existing = None;
            tx.for_each_prefix(tables::ORGS, &Key::empty(), |_, value| {
                existing = Some(codec::decode::<Organization>(value)?);
                Ok(false)
            })?;
            if let Some(org) = existing {
                return Err(Error::conflict(format!(
                    "the data file is already set up (organization {:?}, slug {})",
                    org.name, org.slug
                )));
            }
            let mut org = super::org::create_org_in(tx, template, &setup.name, &setup.slug)?;
            let admin = tx.insert_user(
                &Actor::system(org.id),
                super::team::NewUser {
                    username: setup.admin_username,
                    display_name: "Administrator".to_string(),
                    password: setup.admin_password,
                    roles: vec![BuiltinRole::Administrator.name().to_string()],
                    must_change_password: true,
                },
                hash,
            )?;
            // The first administrator owns the organization (issue 14).
            org.owner = Some(admin.id);
            tx.put(tables::ORGS, &Key::org(org.id), &org)?;
            Ok(Initialized {
                organization: org,
                admin,
            })
        })
    }

    /// Writes a consistent copy of the whole store to `out`, while writes go on.
    ///
    /// Opens one read transaction (a snapshot: writers are never blocked) and writes every
    /// table of it, in key order, to a new file beside `out` in the backup format of
    /// `store::dump` (checksummed frames, counts at the end), makes it durable and links it
    /// into place atomically. `out` never holds a partial file. The snapshot is released as
    /// soon as the last entry is written: while it is held, the pages writers free cannot be
    /// reused and the live file grows. [`restore`] checks every checksum and count and runs
    /// [`System::verify`](crate::system::System::verify)'s checks before it replaces anything.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Conflict`] when `out` exists; [`crate::ErrorKind::Storage`] on I/O
    /// failure.
    pub fn backup(&self, out: &Path) -> Result<BackupReport> {
        let started = Instant::now();
        if out.exists() {
            return Err(Error::conflict(format!(
                "{} exists; choose a new backup file name",
                out.display()
            )));
        }
        let temp = TempFile::beside(out, "backup")?;
        let long_read = self.crm.long_read();
        let snapshot = Snapshot::new(self.crm.database().begin_read()?)?;
        let version = schema::stored_version(&snapshot)?.unwrap_or(SCHEMA_VERSION);
        let file = fs::OpenOptions::new()
            .write(true)
            .open(temp.path())
            .map_err(|error| {
                Error::storage(format!("cannot open {}", temp.path().display()), error)
            })?;
        let mut writer = std::io::BufWriter::with_capacity(DUMP_BUFFER, file);
        let header = dump::Header {
            schema_version: version,
            taken_at: Timestamp::now(),
        };
        let totals = dump::write(&snapshot, header, &mut writer)?;
        drop(snapshot);
        self.crm.end_long_read(long_read)?;
        writer
            .into_inner()
            .map_err(|error| error.into_error())
            .and_then(|file| file.sync_all())
            .map_err(|error| {
                Error::storage(format!("cannot write {}", temp.path().display()), error)
            })?;
        temp.publish_new(out)?;
        Ok(BackupReport {
            path: out.to_path_buf(),
            tables: totals.tables,
            entries: totals.entries,
            bytes: totals.bytes,
            file_bytes: file_size(out)?,
            schema_version: version,
            duration: started.elapsed(),
        })
    }

    /// Checks the whole store: every record decodes, every index agrees with the records both
    /// ways, the stage counters equal the orders per stage. Reads one snapshot (writers go on);
    /// blocks for a full scan of the file.
    ///
    /// redb's own integrity check needs exclusive access to the file and cannot run while the
    /// store is open; [`System::backup`](crate::system::System::backup) and [`restore`] run it on the files they write.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Storage`] only when the file cannot be read; problems in the data are
    /// listed in the report, not returned as errors.
    pub fn verify(&self) -> Result<VerifyReport> {
        let long_read = self.crm.long_read();
        let view = Snapshot::new(self.crm.database().begin_read()?)?;
        let report = verify_view(&view);
        drop(view);
        self.crm.end_long_read(long_read)?;
        report
    }

    /// Counts per table and per organization, the file size and the schema version. Reads
    /// one snapshot.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Storage`].
    pub fn stats(&self) -> Result<Stats> {
        let view = Snapshot::new(self.crm.database().begin_read()?)?;
        let mut table_stats = Vec::new();
        for def in tables::ALL {
            table_stats.push(TableStats {
                name: def.name().to_string(),
                entries: view.table_len(*def)?,
            });
        }
        let mut organizations = Vec::new();
        let orgs: Vec<Organization> = view.records_with_prefix(tables::ORGS, &Key::empty())?;
        for org in orgs {
            let prefix = Key::org(org.id);
            let mut stages = Vec::new();
            for stage in &org.pipeline.stages {
                stages.push(StageStats {
                    key: stage.key.clone(),
                    name: stage.name(Language::EN).to_string(),
                    orders: view
                        .counter(tables::ORDER_COUNTS, &order_count_key(org.id, stage.id))?,
                });
            }
            organizations.push(OrgStats {
                id: org.id,
                users: view.count_prefix(tables::USERS, &prefix)?,
                customers: view.count_prefix(tables::CUSTOMERS, &prefix)?,
                orders: view.count_prefix(tables::ORDERS, &prefix)?,
                name: org.name,
                slug: org.slug,
                template: org.template,
                stages,
            });
        }
        Ok(Stats {
            path: self.crm.path().to_path_buf(),
            file_bytes: file_size(self.crm.path())?,
            schema_version: schema::stored_version(&view)?,
            tables: table_stats,
            organizations,
        })
    }
}
