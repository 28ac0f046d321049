//! Administration of the data file: online backup, restore, verification and statistics.
//!
//! redb 4 has no backup call. A backup is a read snapshot written out table by table, in key
//! order, as checksummed frames (`store::dump`) to a new file beside the target, which is
//! linked into place once durable ([`Crm::backup`]); writers keep committing meanwhile, since
//! a read transaction never blocks them. [`restore`] builds a new data file from a backup,
//! checking every checksum and count on the way, runs [`Crm::verify`]'s checks on it, and
//! never touches the target until the new file is known good.
//!
//! Verification decodes every record with its type and checks every secondary index both
//! ways: each record has all the index entries its fields call for (recomputed with the same
//! functions that write them, such as `orders::order_index_keys` and
//! `sessions::session_index_keys`), and every index entry points at a record that agrees with
//! it. The stage counters must equal the orders per stage. Sessions and api tokens, whose keys
//! are hashes, must belong to an existing organization and user. Each problem is reported as a
//! sentence naming the table and the key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redb::{ReadableDatabase, TableHandle};
use serde::Serialize;

use crate::model::*;
use crate::store::declarations::{MEDIA_REF_KEY_LEN, RefKind, activity_key, order_count_key};
use crate::store::indexes::{Declared, entries_of};
use crate::store::raw::{self, Snapshot};
use crate::store::schema::{self, SCHEMA_VERSION};
use crate::store::{Def, Key, View, ViewExt, codec, dump, keys, tables};
use crate::{Crm, Error, Password, Result};

use super::api_tokens::{ApiToken, by_org_hash, token_key};
use super::orders::grant_key;
use super::sessions::{Session, SessionHash, by_user_hash, session_key};

/// The entries the declaration of `record` (stored under `key`) lists in a file of schema
/// `schema`, as (table, key): what the checks below compare the indexes with.
fn declared<T: Declared>(key: &[u8], record: &T, schema: u32) -> Vec<(Def, Key)> {
    entries_of(key, record, schema)
        .into_iter()
        .map(|(table, entry, _)| (table, entry))
        .collect()
}

fn order_index_keys(org: OrgId, order: &Order, schema: u32) -> Vec<(Def, Key)> {
    declared(Key::org(org).u64(order.id.0).as_slice(), order, schema)
}

fn message_index_keys(org: OrgId, message: &Message, schema: u32) -> Vec<(Def, Key)> {
    declared(Key::org(org).u64(message.id.0).as_slice(), message, schema)
}

fn session_index_keys(hash: SessionHash, session: &Session) -> Vec<(Def, Key)> {
    declared(session_key(hash).as_slice(), session, SCHEMA_VERSION)
}

fn api_token_index_keys(hash: &[u8], token: &ApiToken) -> Vec<(Def, Key)> {
    declared(hash, token, SCHEMA_VERSION)
}

fn audit_index_keys(org: OrgId, entry: &AuditEntry) -> Vec<(Def, Key)> {
    declared(
        Key::org(org).u64(entry.id.0).as_slice(),
        entry,
        SCHEMA_VERSION,
    )
}

fn outbox_due_key(org: OrgId, due: Timestamp, id: OutboxId) -> Key {
    Key::empty().i64(due.0).u64(org.0).u64(id.0)
}

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

/// Verification stops listing problems after this many (and says how many more it found), so
/// that a badly damaged file cannot exhaust memory.
pub const MAX_LISTED_PROBLEMS: usize = 1000;

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

impl Crm {
    /// Sets up an empty data file: creates the organization from its template and an
    /// administrator (role `administrator`, must change the password at first login), in one
    /// transaction, so a file is either set up completely or not at all. Hashes the password
    /// before the transaction (argon2id, tens of milliseconds).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Conflict`] when the file already has an organization; invalid input for
    /// the template, name, slug or username.
    pub fn initialize(&self, setup: Setup) -> Result<(Organization, User)> {
        let template = crate::templates::template(&setup.template)?;
        super::team::parse_username(&setup.admin_username)?;
        let hash = crate::password::hash_password(&setup.admin_password)?;
        self.write(move |tx| {
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
            let org = super::org::create_org_in(tx, template, &setup.name, &setup.slug)?;
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
            Ok((org, admin))
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
    /// [`Crm::verify`]'s checks before it replaces anything.
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
        let long_read = self.long_read();
        let snapshot = Snapshot::new(self.database().begin_read()?)?;
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
        self.end_long_read(long_read)?;
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
    /// store is open; [`Crm::backup`] and [`restore`] run it on the files they write.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Storage`] only when the file cannot be read; problems in the data are
    /// listed in the report, not returned as errors.
    pub fn verify(&self) -> Result<VerifyReport> {
        let long_read = self.long_read();
        let view = Snapshot::new(self.database().begin_read()?)?;
        let report = verify_view(&view);
        drop(view);
        self.end_long_read(long_read)?;
        report
    }

    /// Ends a long read. When commits skipped quick repair's record of the allocator state
    /// meanwhile, commits once more so that the record is in the file again; a read of an
    /// idle store writes nothing.
    fn end_long_read(&self, long_read: crate::store::LongRead) -> Result<()> {
        if long_read.end() {
            self.write(|_| Ok(()))?;
        }
        Ok(())
    }

    /// Counts per table and per organization, the file size and the schema version. Reads
    /// one snapshot.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Storage`].
    pub fn stats(&self) -> Result<Stats> {
        let view = Snapshot::new(self.database().begin_read()?)?;
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
            path: self.path().to_path_buf(),
            file_bytes: file_size(self.path())?,
            schema_version: schema::stored_version(&view)?,
            tables: table_stats,
            organizations,
        })
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
/// - a backup file of [`Crm::backup`] (`store::dump`'s format): every frame's checksum, the
///   key order and the counts are checked while the entries are inserted into a new file, so
///   any damaged, truncated or extended file is refused;
/// - a redb data file (what backups were before that format, or a copy of a stopped
///   appliance's file): copied, then redb's integrity check runs on the copy. redb answers
///   most damage with an error, and the kind on which it panics is caught and refused too;
///   damage confined to bytes the store does not use (free pages, the unused end of a page)
///   changes nothing that is restored, so such a file is restored.
///
/// Either way [`Crm::verify`]'s checks then run on the new file.
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
/// check and [`Crm::verify`]'s checks on it, and closes it again. Returns the schema version,
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

/// An error with its sources, for messages that wrap it.
fn chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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

/// The checks of [`Crm::verify`] on any snapshot.
pub(crate) fn verify_view(view: &Snapshot) -> Result<VerifyReport> {
    let mut checker = Checker::new(view);
    checker.run()?;
    Ok(checker.finish())
}

/// Lower-case hex of a key or hash, for the problem sentences.
fn hex(key: &[u8]) -> String {
    key.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn org_of(key: &[u8]) -> OrgId {
    OrgId(keys::read_u64(key, 0))
}

/// The reverse check of one entry (`key`) of an index `def` whose entries a record's
/// `*_index_keys` function lists: a problem when the record the entry points at (`what`, as
/// the problem sentences name it) does not decode, does not exist, or lists other entries
/// (`disagreement` then says what the record holds); `None` when the entry is right.
fn listed_entry_problem<T>(
    def: Def,
    key: &[u8],
    what: &str,
    record: Result<Option<T>>,
    index_keys: impl FnOnce(&T) -> Vec<(Def, Key)>,
    disagreement: impl FnOnce(&T) -> String,
) -> Option<String> {
    match record {
        Err(_) => Some(format!("points at {what}, which does not decode")),
        Ok(None) => Some(format!("points at {what}, which does not exist")),
        Ok(Some(record)) => {
            let listed = index_keys(&record).iter().any(|(other, other_key)| {
                other.name() == def.name() && other_key.as_slice() == key
            });
            (!listed).then(|| disagreement(&record))
        }
    }
}

/// What verification knows about the organizations, gathered first.
struct OrgInfo {
    pipeline: Pipeline,
}

struct Checker<'v> {
    view: &'v Snapshot,
    problems: Vec<String>,
    suppressed: u64,
    records: u64,
    index_entries: u64,
    /// Expected index entries found, per index table name.
    found: HashMap<String, u64>,
    orgs: HashMap<u64, OrgInfo>,
    sequences: HashMap<(u64, String), u64>,
    unchecked: Vec<String>,
    /// The schema version of the file: an older file (a restored old backup, verified before
    /// it is opened and migrated) lacks the index entries later versions added.
    schema: u32,
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
            orgs: HashMap::new(),
            sequences: HashMap::new(),
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
        self.check_sequences()?;
        self.check_orgs()?;
        self.check_roles_and_markers()?;
        self.check_users()?;
        self.check_customers()?;
        self.check_orders()?;
        self.check_bids()?;
        self.check_grants()?;
        self.check_messages()?;
        self.check_media()?;
        self.check_media_refs()?;
        self.check_audit()?;
        self.check_outbox()?;
        self.check_inbox()?;
        self.check_sessions()?;
        self.check_api_tokens()?;
        self.check_small_tables()?;
        Ok(())
    }

    /// Every entry of `def` as owned pairs (for tables whose checks read other tables).
    fn each(
        &mut self,
        def: Def,
        mut f: impl FnMut(&mut Self, &[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        // Scan in chunks so a check that reads other tables never holds a long borrow, and
        // memory stays bounded for large tables.
        let mut after: Option<Vec<u8>> = None;
        loop {
            let mut chunk: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(4096);
            let lower = match &after {
                Some(key) => std::ops::Bound::Excluded(key.as_slice()),
                None => std::ops::Bound::Unbounded,
            };
            self.view.scan(
                def,
                (lower, std::ops::Bound::Unbounded),
                false,
                |key, value| {
                    chunk.push((key.to_vec(), value.to_vec()));
                    Ok(chunk.len() < 4096)
                },
            )?;
            let Some((last, _)) = chunk.last() else {
                return Ok(());
            };
            let next = last.clone();
            let full = chunk.len() == 4096;
            for (key, value) in &chunk {
                f(self, key, value)?;
            }
            if !full {
                return Ok(());
            }
            after = Some(next);
        }
    }

    /// Decodes a record, reporting a failure as a problem.
    fn decode<T: crate::store::Record>(&mut self, def: Def, key: &[u8], value: &[u8]) -> Option<T> {
        self.records += 1;
        match codec::decode::<T>(value) {
            Ok(record) => Some(record),
            Err(error) => {
                self.problem(format!(
                    "{}: the record at key {} does not decode: {}",
                    def.name(),
                    hex(key),
                    chain(&error)
                ));
                None
            }
        }
    }

    /// Checks that the key has `len` bytes.
    fn key_len(&mut self, def: Def, key: &[u8], len: usize) -> bool {
        if key.len() == len {
            true
        } else {
            self.problem(format!(
                "{}: key {} has {} bytes, expected {len}",
                def.name(),
                hex(key),
                key.len()
            ));
            false
        }
    }

    fn known_org(&mut self, def: Def, key: &[u8]) -> bool {
        let org = org_of(key);
        if self.orgs.contains_key(&org.0) {
            true
        } else {
            self.problem(format!(
                "{}: key {} belongs to organization {org}, which does not exist",
                def.name(),
                hex(key)
            ));
            false
        }
    }

    /// Decodes a record of a table keyed by organization and id (16 bytes), reporting a
    /// record that does not decode, a key of another length or an organization that does not
    /// exist. Returns the organization and the record when its other checks can go on.
    fn org_record<T: crate::store::Record>(
        &mut self,
        def: Def,
        key: &[u8],
        value: &[u8],
    ) -> Option<(OrgId, T)> {
        let record = self.decode::<T>(def, key, value)?;
        if self.key_len(def, key, 16) && self.known_org(def, key) {
            Some((org_of(key), record))
        } else {
            None
        }
    }

    /// Checks that a record's id is the one its key ends in, reporting it when not.
    fn id_matches_key(&mut self, def: Def, key: &[u8], id: u64) -> bool {
        if id == keys::tail_u64(key) {
            true
        } else {
            self.problem(format!(
                "{}: the record at key {} has id {id}",
                def.name(),
                hex(key)
            ));
            false
        }
    }

    /// [`Self::org_record`] for a record with its own id: also checks that the id is the one
    /// its key ends in (returning `None` when not) and not above the `sequence`.
    fn numbered_record<T: crate::store::Record>(
        &mut self,
        def: Def,
        key: &[u8],
        value: &[u8],
        sequence: &str,
        id: impl Fn(&T) -> u64,
    ) -> Option<(OrgId, T)> {
        let (org, record) = self.org_record::<T>(def, key, value)?;
        if !self.id_matches_key(def, key, id(&record)) {
            return None;
        }
        self.id_in_sequence(def, org, sequence, id(&record));
        Some((org, record))
    }

    /// Checks that the record a field refers to (`id` in `def`, of organization `org`)
    /// exists, reporting `problem` when not.
    fn expect_record(
        &mut self,
        def: Def,
        org: OrgId,
        id: u64,
        problem: impl FnOnce() -> String,
    ) -> Result<()> {
        if !self.view.exists(def, &Key::org(org).u64(id))? {
            self.problem(problem());
        }
        Ok(())
    }

    /// Checks a table whose records have no index: each decodes, belongs to an existing
    /// organization, and carries the id its key ends in, not above the `sequence`.
    fn check_ids<T: crate::store::Record>(
        &mut self,
        def: Def,
        sequence: &str,
        id: impl Fn(&T) -> u64,
    ) -> Result<()> {
        self.each(def, |this, key, value| {
            if let Some((org, record)) = this.org_record::<T>(def, key, value) {
                this.id_matches_key(def, key, id(&record));
                this.id_in_sequence(def, org, sequence, id(&record));
            }
            Ok(())
        })
    }

    /// Checks that an id is not above its sequence (a new record would reuse it).
    fn id_in_sequence(&mut self, def: Def, org: OrgId, name: &str, id: u64) {
        let last = self
            .sequences
            .get(&(org.0, name.to_string()))
            .copied()
            .unwrap_or(0);
        if id > last {
            self.problem(format!(
                "{}: {name} {id} of organization {org} is above its sequence ({last}), so a new {name} would reuse its id",
                def.name()
            ));
        }
    }

    /// Checks that an index entry exists (a forward check), counting it when it does.
    fn expect_entry(&mut self, def: Def, key: &Key, owner: impl FnOnce() -> String) -> Result<()> {
        if self.view.exists(def, key)? {
            *self.found.entry(def.name().to_string()).or_insert(0) += 1;
        } else {
            self.problem(format!(
                "{}: missing entry {} for {}",
                def.name(),
                hex(key.as_slice()),
                owner()
            ));
        }
        Ok(())
    }

    /// The forward check of the indexes a record calls for: every entry its `*_index_keys`
    /// function lists exists, counted when it does.
    fn expect_entries(
        &mut self,
        entries: Vec<(Def, Key)>,
        owner: impl Fn() -> String,
    ) -> Result<()> {
        for (def, key) in entries {
            self.expect_entry(def, &key, &owner)?;
        }
        Ok(())
    }

    /// Checks that a unique index maps `key` to `id` (a big-endian u64 value).
    fn expect_id(
        &mut self,
        def: Def,
        key: &Key,
        id: u64,
        owner: impl FnOnce() -> String,
    ) -> Result<()> {
        let stored = self
            .view
            .get_raw(def, key.as_slice(), |bytes| Ok(bytes.to_vec()))?;
        match stored {
            Some(bytes) if bytes.len() == 8 && keys::read_u64(&bytes, 0) == id => {
                *self.found.entry(def.name().to_string()).or_insert(0) += 1;
            }
            Some(bytes) => self.problem(format!(
                "{}: entry {} points at {} instead of {}",
                def.name(),
                hex(key.as_slice()),
                if bytes.len() == 8 {
                    keys::read_u64(&bytes, 0).to_string()
                } else {
                    format!("a {}-byte value", bytes.len())
                },
                owner()
            )),
            None => self.problem(format!(
                "{}: missing entry {} for {}",
                def.name(),
                hex(key.as_slice()),
                owner()
            )),
        }
        Ok(())
    }

    /// Checks that an index maps `key` to exactly `value` (a forward check of an index whose
    /// value is the record's key, such as a hash), counting it when it does.
    fn expect_value(
        &mut self,
        def: Def,
        key: &Key,
        value: &[u8],
        owner: impl FnOnce() -> String,
    ) -> Result<()> {
        let stored = self
            .view
            .get_raw(def, key.as_slice(), |bytes| Ok(bytes == value))?;
        match stored {
            Some(true) => *self.found.entry(def.name().to_string()).or_insert(0) += 1,
            Some(false) => self.problem(format!(
                "{}: entry {} does not point at {}",
                def.name(),
                hex(key.as_slice()),
                owner()
            )),
            None => self.problem(format!(
                "{}: missing entry {} for {}",
                def.name(),
                hex(key.as_slice()),
                owner()
            )),
        }
        Ok(())
    }

    /// Checks the owner of a record of `def` (at `key`) whose key does not start with its
    /// organization: reports an organization or a user that does not exist. Returns whether
    /// the organization exists (the record's other checks need it).
    fn known_owner(&mut self, def: Def, key: &[u8], org: OrgId, user: UserId) -> Result<bool> {
        if !self.orgs.contains_key(&org.0) {
            self.problem(format!(
                "{}: the record at key {} belongs to organization {org}, which does not exist",
                def.name(),
                hex(key)
            ));
            return Ok(false);
        }
        if !self
            .view
            .exists(tables::USERS, &Key::org(org).u64(user.0))?
        {
            self.problem(format!(
                "{}: the record at key {} belongs to user {user} of organization {org}, who does not exist",
                def.name(),
                hex(key)
            ));
        }
        Ok(true)
    }

    /// The reverse check of an index: when the table holds more entries than the records
    /// call for, finds the entries no record accounts for. `agrees` returns a problem for an
    /// entry whose record is missing or disagrees, `None` when the entry is right.
    fn strays(
        &mut self,
        def: Def,
        mut agrees: impl FnMut(&Snapshot, &[u8], &[u8]) -> Result<Option<String>>,
    ) -> Result<()> {
        let len = self.view.table_len(def)?;
        self.index_entries += len;
        let found = self.found.get(def.name()).copied().unwrap_or(0);
        if len <= found {
            return Ok(());
        }
        let view = self.view;
        let mut problems = Vec::new();
        view.scan(
            def,
            (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
            false,
            |key, value| {
                if let Some(problem) = agrees(view, key, value)? {
                    problems.push(format!("{}: entry {} {problem}", def.name(), hex(key)));
                }
                Ok(problems.len() < MAX_LISTED_PROBLEMS)
            },
        )?;
        for problem in problems {
            self.problem(problem);
        }
        Ok(())
    }

    fn check_meta(&mut self) -> Result<()> {
        match schema::stored_version(self.view) {
            Ok(Some(version)) if version > SCHEMA_VERSION => self.problem(format!(
                "meta: schema version {version} is newer than this program's {SCHEMA_VERSION}"
            )),
            Ok(Some(version)) => self.schema = version,
            Ok(None) => self.problem("meta: the schema version is missing".to_string()),
            Err(error) => self.problem(format!("meta: {}", chain(&error))),
        }
        self.records += self.view.table_len(tables::META)?;
        Ok(())
    }

    fn check_sequences(&mut self) -> Result<()> {
        self.each(tables::SEQUENCES, |this, key, value| {
            this.index_entries += 1;
            if key.len() < 8 || value.len() != 8 {
                this.problem(format!(
                    "sequences: entry {} is malformed ({}-byte key, {}-byte value)",
                    hex(key),
                    key.len(),
                    value.len()
                ));
                return Ok(());
            }
            let name = String::from_utf8_lossy(&key[8..]).into_owned();
            this.sequences
                .insert((keys::read_u64(key, 0), name), keys::read_u64(value, 0));
            Ok(())
        })
    }

    fn check_orgs(&mut self) -> Result<()> {
        let mut slugs = Vec::new();
        self.each(tables::ORGS, |this, key, value| {
            let Some(org) = this.decode::<Organization>(tables::ORGS, key, value) else {
                return Ok(());
            };
            if !this.key_len(tables::ORGS, key, 8) {
                return Ok(());
            }
            if org.id != org_of(key) {
                this.problem(format!(
                    "orgs: the record at key {} has id {}",
                    hex(key),
                    org.id
                ));
            }
            if org.pipeline.stages.is_empty() {
                this.problem(format!("orgs: organization {} has no stages", org.id));
            }
            this.id_in_sequence(tables::ORGS, OrgId(0), "org", org.id.0);
            slugs.push((org.slug.clone(), org.id));
            this.orgs.insert(
                org.id.0,
                OrgInfo {
                    pipeline: org.pipeline,
                },
            );
            Ok(())
        })?;
        for (slug, id) in slugs {
            self.expect_id(
                tables::ORGS_BY_SLUG,
                &Key::empty().bytes(slug.as_bytes()),
                id.0,
                || format!("organization {id} (slug {slug:?})"),
            )?;
        }
        self.strays(tables::ORGS_BY_SLUG, |view, key, value| {
            let id = keys::read_u64(value, 0);
            let org: Option<Organization> = view.get(tables::ORGS, &Key::org(OrgId(id)))?;
            Ok(match org {
                None => Some(format!("points at organization {id}, which does not exist")),
                Some(org) if org.slug.as_bytes() != key => Some(format!(
                    "points at organization {id}, whose slug is {:?}",
                    org.slug
                )),
                Some(_) => None,
            })
        })
    }

    fn check_roles_and_markers(&mut self) -> Result<()> {
        self.check_ids(tables::ROLES, "role", |role: &Role| role.id.0)?;
        self.check_ids(tables::MARKERS, "marker", |marker: &Marker| marker.id.0)
    }

    fn check_users(&mut self) -> Result<()> {
        self.each(tables::USERS, |this, key, value| {
            let Some((org, user)) = this.org_record::<User>(tables::USERS, key, value) else {
                return Ok(());
            };
            this.id_matches_key(tables::USERS, key, user.id.0);
            this.id_in_sequence(tables::USERS, org, "user", user.id.0);
            let label = || format!("user {} ({}) of organization {org}", user.id, user.username);
            this.expect_id(
                tables::USERS_BY_NAME,
                &Key::org(org).bytes(user.username.as_bytes()),
                user.id.0,
                label,
            )?;
            if let Some(telegram) = user.telegram_id {
                this.expect_id(
                    tables::USERS_BY_TELEGRAM,
                    &Key::org(org).i64(telegram.0),
                    user.id.0,
                    label,
                )?;
            }
            for role in &user.roles {
                this.expect_record(tables::ROLES, org, role.0, || {
                    format!(
                        "users: user {} of organization {org} has role {role}, which does not exist",
                        user.id
                    )
                })?;
            }
            Ok(())
        })?;
        self.strays(tables::USERS_BY_NAME, |view, key, value| {
            let id = keys::read_u64(value, 0);
            let user: Option<User> = view.get(tables::USERS, &Key::org(org_of(key)).u64(id))?;
            Ok(match user {
                None => Some(format!("points at user {id}, which does not exist")),
                Some(user) if key.get(8..) != Some(user.username.as_bytes()) => Some(format!(
                    "points at user {id}, whose username is {:?}",
                    user.username
                )),
                Some(_) => None,
            })
        })?;
        self.strays(tables::USERS_BY_TELEGRAM, |view, key, value| {
            let id = keys::read_u64(value, 0);
            let telegram = keys::read_i64(key, 8);
            let user: Option<User> = view.get(tables::USERS, &Key::org(org_of(key)).u64(id))?;
            Ok(match user {
                None => Some(format!("points at user {id}, which does not exist")),
                Some(user) if user.telegram_id != Some(TelegramUserId(telegram)) => Some(format!(
                    "says telegram {telegram} is user {id}, whose telegram link is {:?}",
                    user.telegram_id.map(|id| id.0)
                )),
                Some(_) => None,
            })
        })
    }

    fn check_customers(&mut self) -> Result<()> {
        // The activity index came with schema 2; a schema-1 file (a restored old backup) has
        // none until it is opened and migrated.
        let with_activity = self.schema >= 2 && self.view.has_table(tables::CUSTOMERS_BY_ACTIVITY);
        self.each(tables::CUSTOMERS, |this, key, value| {
            let Some((org, customer)) = this.org_record::<Customer>(tables::CUSTOMERS, key, value)
            else {
                return Ok(());
            };
            this.id_matches_key(tables::CUSTOMERS, key, customer.id.0);
            this.id_in_sequence(tables::CUSTOMERS, org, "customer", customer.id.0);
            let label = || format!("customer {} of organization {org}", customer.id);
            if let Some(telegram) = customer.telegram_id {
                this.expect_id(
                    tables::CUSTOMERS_BY_TELEGRAM,
                    &Key::org(org).i64(telegram.0),
                    customer.id.0,
                    label,
                )?;
            }
            if with_activity {
                this.expect_entry(
                    tables::CUSTOMERS_BY_ACTIVITY,
                    &activity_key(org, customer.last_activity_at, customer.id),
                    label,
                )?;
            }
            Ok(())
        })?;
        self.strays(tables::CUSTOMERS_BY_TELEGRAM, |view, key, value| {
            let id = keys::read_u64(value, 0);
            let telegram = keys::read_i64(key, 8);
            let customer: Option<Customer> =
                view.get(tables::CUSTOMERS, &Key::org(org_of(key)).u64(id))?;
            Ok(match customer {
                None => Some(format!("points at customer {id}, which does not exist")),
                Some(customer) if customer.telegram_id != Some(TelegramUserId(telegram)) => {
                    Some(format!(
                        "says telegram {telegram} is customer {id}, whose telegram id is {:?}",
                        customer.telegram_id.map(|id| id.0)
                    ))
                }
                Some(_) => None,
            })
        })?;
        if with_activity {
            self.strays(tables::CUSTOMERS_BY_ACTIVITY, |view, key, _| {
                let org = org_of(key);
                let id = keys::tail_u64(key);
                let customer: Option<Customer> =
                    view.get(tables::CUSTOMERS, &Key::org(org).u64(id))?;
                Ok(match customer {
                    None => Some(format!("points at customer {id}, which does not exist")),
                    Some(customer)
                        if activity_key(org, customer.last_activity_at, customer.id).as_slice()
                            != key =>
                    {
                        Some(format!(
                            "is stale: customer {id} was last active at {}",
                            customer.last_activity_at
                        ))
                    }
                    Some(_) => None,
                })
            })?;
        }
        Ok(())
    }

    fn check_orders(&mut self) -> Result<()> {
        let schema = self.schema;
        let mut per_stage: BTreeMap<(u64, u16), u64> = BTreeMap::new();
        self.each(tables::ORDERS, |this, key, value| {
            let Some((org, order)) = this.numbered_record(tables::ORDERS, key, value, "order", |order: &Order| order.id.0) else {
                return Ok(());
            };
            let in_pipeline = this
                .orgs
                .get(&org.0)
                .is_some_and(|info| info.pipeline.stage(order.stage).is_some());
            if !in_pipeline {
                this.problem(format!(
                    "orders: order {} of organization {org} is in stage {}, which is not in the pipeline",
                    order.id, order.stage
                ));
            }
            this.expect_record(tables::CUSTOMERS, org, order.customer.0, || {
                format!(
                    "orders: order {} of organization {org} belongs to customer {}, who does not exist",
                    order.id, order.customer
                )
            })?;
            if let Some(assignee) = order.assignee {
                this.expect_record(tables::USERS, org, assignee.0, || {
                    format!(
                        "orders: order {} of organization {org} is assigned to user {assignee}, who does not exist",
                        order.id
                    )
                })?;
            }
            for marker in &order.markers {
                this.expect_record(tables::MARKERS, org, marker.0, || {
                    format!(
                        "orders: order {} of organization {org} has marker {marker}, which does not exist",
                        order.id
                    )
                })?;
            }
            *per_stage.entry((org.0, order.stage.0)).or_insert(0) += 1;
            this.expect_entries(order_index_keys(org, &order, schema), || {
                format!("order {} of organization {org}", order.id)
            })
        })?;
        let mut indexes = vec![
            tables::ORDERS_BY_STAGE,
            tables::ORDERS_BY_ASSIGNEE,
            tables::ORDERS_BY_CUSTOMER,
            tables::ORDERS_BY_DAY,
            tables::ORDERS_BY_MARKER,
        ];
        if schema >= 2 {
            indexes.push(tables::ORDERS_BY_WORD);
        }
        for def in indexes {
            self.strays(def, |view, key, _| {
                let org = org_of(key);
                let id = keys::tail_u64(key);
                Ok(listed_entry_problem(
                    def,
                    key,
                    &format!("order {id}"),
                    view.get::<Order>(tables::ORDERS, &Key::org(org).u64(id)),
                    |order| order_index_keys(org, order, schema),
                    |order| {
                        format!(
                            "disagrees with order {id} (stage {}, customer {}, assignee {:?})",
                            order.stage,
                            order.customer,
                            order.assignee.map(|user| user.0)
                        )
                    },
                ))
            })?;
        }
        // Stage counters: every stored counter equals the orders in its stage, and every stage
        // with orders has a counter.
        let mut seen = HashSet::new();
        self.each(tables::ORDER_COUNTS, |this, key, value| {
            this.index_entries += 1;
            if key.len() != 10 || value.len() != 8 {
                this.problem(format!(
                    "order_counts: entry {} is malformed ({}-byte key, {}-byte value)",
                    hex(key),
                    key.len(),
                    value.len()
                ));
                return Ok(());
            }
            let org = keys::read_u64(key, 0);
            let stage = keys::read_u16(key, 8);
            seen.insert((org, stage));
            let stored = keys::read_u64(value, 0);
            let actual = per_stage.get(&(org, stage)).copied().unwrap_or(0);
            if stored != actual {
                this.problem(format!(
                    "order_counts: stage {stage} of organization {org} counts {stored} orders, but {actual} are in it"
                ));
            }
            Ok(())
        })?;
        for ((org, stage), actual) in per_stage {
            if !seen.contains(&(org, stage)) {
                self.problem(format!(
                    "order_counts: stage {stage} of organization {org} has no counter, but {actual} orders are in it"
                ));
            }
        }
        Ok(())
    }

    fn check_bids(&mut self) -> Result<()> {
        self.each(tables::BIDS, |this, key, value| {
            let Some((org, bid)) =
                this.numbered_record(tables::BIDS, key, value, "bid", |bid: &Bid| bid.id.0)
            else {
                return Ok(());
            };
            this.expect_record(tables::ORDERS, org, bid.order.0, || {
                format!(
                    "bids: bid {} of organization {org} is on order {}, which does not exist",
                    bid.id, bid.order
                )
            })?;
            this.expect_entry(
                tables::BIDS_BY_ORDER,
                &Key::org(org).u64(bid.order.0).u64(bid.id.0),
                || format!("bid {} of organization {org}", bid.id),
            )
        })?;
        self.strays(tables::BIDS_BY_ORDER, |view, key, _| {
            let org = org_of(key);
            let id = keys::tail_u64(key);
            let order = keys::read_u64(key, 8);
            let bid: Option<Bid> = view.get(tables::BIDS, &Key::org(org).u64(id))?;
            Ok(match bid {
                None => Some(format!("points at bid {id}, which does not exist")),
                Some(bid) if bid.order.0 != order || key.len() != 24 => Some(format!(
                    "says bid {id} is on order {order}, but it is on order {}",
                    bid.order
                )),
                Some(_) => None,
            })
        })
    }

    fn check_grants(&mut self) -> Result<()> {
        self.each(tables::GRANTS, |this, key, value| {
            let Some(grant) = this.decode::<OrderGrant>(tables::GRANTS, key, value) else {
                return Ok(());
            };
            if !this.known_org(tables::GRANTS, key) {
                return Ok(());
            }
            let org = org_of(key);
            if grant_key(org, grant.order, grant.user, grant.permission).as_slice() != key {
                this.problem(format!(
                    "grants: the record at key {} is a grant of {} on order {} to user {}",
                    hex(key),
                    grant.permission,
                    grant.order,
                    grant.user
                ));
            }
            this.expect_record(tables::USERS, org, grant.user.0, || {
                format!(
                    "grants: grant at key {} is for user {}, who does not exist",
                    hex(key),
                    grant.user
                )
            })
        })
    }

    fn check_messages(&mut self) -> Result<()> {
        let schema = self.schema;
        self.each(tables::MESSAGES, |this, key, value| {
            let Some((org, message)) = this.numbered_record(tables::MESSAGES, key, value, "message", |message: &Message| message.id.0) else {
                return Ok(());
            };
            this.expect_record(tables::CUSTOMERS, org, message.customer.0, || {
                format!(
                    "messages: message {} of organization {org} is in the conversation of customer {}, who does not exist",
                    message.id, message.customer
                )
            })?;
            this.expect_entries(message_index_keys(org, &message, schema), || {
                format!("message {} of organization {org}", message.id)
            })
        })?;
        for def in [tables::MESSAGES_BY_CUSTOMER, tables::MESSAGES_BY_ORDER] {
            self.strays(def, |view, key, _| {
                let org = org_of(key);
                let id = keys::tail_u64(key);
                // A message that does not decode fails the reverse check with the error
                // itself (`?`), as it always has, instead of becoming a problem sentence.
                let message = view.get::<Message>(tables::MESSAGES, &Key::org(org).u64(id))?;
                Ok(listed_entry_problem(
                    def,
                    key,
                    &format!("message {id}"),
                    Ok(message),
                    |message| message_index_keys(org, message, schema),
                    |message| {
                        format!(
                            "disagrees with message {id} (customer {}, order {:?})",
                            message.customer,
                            message.order.map(|order| order.0)
                        )
                    },
                ))
            })?;
        }
        Ok(())
    }

    fn check_media(&mut self) -> Result<()> {
        let mut expected_chunks = 0u64;
        self.each(tables::MEDIA, |this, key, value| {
            let Some(media) = this.decode::<Media>(tables::MEDIA, key, value) else {
                return Ok(());
            };
            if !this.key_len(tables::MEDIA, key, 40) || !this.known_org(tables::MEDIA, key) {
                return Ok(());
            }
            if key.get(8..) != Some(&media.hash.0[..]) {
                this.problem(format!(
                    "media: the record at key {} has hash {}",
                    hex(key),
                    media.hash
                ));
                return Ok(());
            }
            let mut chunks = 0u64;
            let mut size = 0u64;
            let mut out_of_order = false;
            this.view.for_each_prefix(
                tables::MEDIA_CHUNKS,
                &Key::empty().bytes(key),
                |chunk_key, chunk| {
                    let index = chunk_key
                        .get(40..44)
                        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
                        .map(u32::from_be_bytes);
                    if chunk_key.len() != 44 || index.map(u64::from) != Some(chunks) {
                        out_of_order = true;
                    }
                    chunks += 1;
                    size += chunk.len() as u64;
                    Ok(true)
                },
            )?;
            expected_chunks += chunks;
            if chunks != u64::from(media.chunks) || size != media.size || out_of_order {
                this.problem(format!(
                    "media_chunks: media {} of organization {} has {chunks} chunks of {size} bytes{}, but its record says {} chunks of {} bytes",
                    media.hash,
                    org_of(key),
                    if out_of_order { " (not numbered 0, 1, 2...)" } else { "" },
                    media.chunks,
                    media.size
                ));
            }
            Ok(())
        })?;
        self.found
            .insert(tables::MEDIA_CHUNKS.name().to_string(), expected_chunks);
        self.strays(tables::MEDIA_CHUNKS, |view, key, _| {
            let media_key = key.get(..40).unwrap_or(key);
            Ok(
                (!view.exists(tables::MEDIA, &Key::empty().bytes(media_key))?)
                    .then(|| "belongs to no media record".to_string()),
            )
        })
    }

    /// The reverse check of the file references (schema 3 on): every entry names a message or
    /// an order whose attachments list it. The forward check ran with the messages and orders,
    /// whose `*_index_keys` functions list their references.
    fn check_media_refs(&mut self) -> Result<()> {
        let schema = self.schema;
        if schema < 3 {
            return Ok(());
        }
        self.strays(tables::MEDIA_REFS, |view, key, _| {
            let kind = key
                .get(40)
                .copied()
                .and_then(RefKind::from_byte)
                .filter(|_| key.len() == MEDIA_REF_KEY_LEN);
            let Some(kind) = kind else {
                return Ok(Some(format!(
                    "is malformed ({} bytes, expected {MEDIA_REF_KEY_LEN} with kind 1 or 2)",
                    key.len()
                )));
            };
            let org = org_of(key);
            let id = keys::tail_u64(key);
            let record_key = Key::org(org).u64(id);
            let disagreement = |what: &str| format!("names {what}, which does not carry the file");
            Ok(match kind {
                RefKind::Message => listed_entry_problem(
                    tables::MEDIA_REFS,
                    key,
                    &format!("message {id}"),
                    view.get::<Message>(tables::MESSAGES, &record_key),
                    |message| message_index_keys(org, message, schema),
                    |_| disagreement(&format!("message {id}")),
                ),
                RefKind::Order => listed_entry_problem(
                    tables::MEDIA_REFS,
                    key,
                    &format!("order {id}"),
                    view.get::<Order>(tables::ORDERS, &record_key),
                    |order| order_index_keys(org, order, schema),
                    |_| disagreement(&format!("order {id}")),
                ),
            })
        })
    }

    fn check_audit(&mut self) -> Result<()> {
        let indexed = self.schema >= 4;
        self.each(tables::AUDIT, |this, key, value| {
            let Some((org, entry)) =
                this.numbered_record(tables::AUDIT, key, value, "audit", |entry: &AuditEntry| {
                    entry.id.0
                })
            else {
                return Ok(());
            };
            if indexed {
                this.expect_entries(audit_index_keys(org, &entry), || {
                    format!("audit entry {} of organization {org}", entry.id)
                })?;
            }
            Ok(())
        })?;
        if indexed {
            self.strays(tables::AUDIT_BY_SUBJECT, |view, key, _| {
                let org = org_of(key);
                let id = keys::tail_u64(key);
                let entry: Option<AuditEntry> = view.get(tables::AUDIT, &Key::org(org).u64(id))?;
                Ok(match entry {
                    None => Some(format!("points at audit entry {id}, which does not exist")),
                    Some(entry) => {
                        let expected = audit_index_keys(org, &entry);
                        (!expected
                            .iter()
                            .any(|(_, expected)| expected.as_slice() == key))
                        .then(|| format!("does not match the subject of audit entry {id}"))
                    }
                })
            })?;
        }
        self.check_ids(tables::CHANGES, "change", |change: &Change| change.id.0)
    }

    fn check_outbox(&mut self) -> Result<()> {
        self.each(tables::OUTBOX, |this, key, value| {
            let Some((org, item)) =
                this.numbered_record(tables::OUTBOX, key, value, "outbox", |item: &OutboxItem| {
                    item.id.0
                })
            else {
                return Ok(());
            };
            if item.state == OutboxState::Pending {
                this.expect_entry(
                    tables::OUTBOX_DUE,
                    &outbox_due_key(org, item.next_attempt_at, item.id),
                    || format!("pending outbox item {} of organization {org}", item.id),
                )?;
            }
            Ok(())
        })?;
        self.strays(tables::OUTBOX_DUE, |view, key, _| {
            let org = OrgId(keys::read_u64(key, 8));
            let id = keys::tail_u64(key);
            let item: Option<OutboxItem> = view.get(tables::OUTBOX, &Key::org(org).u64(id))?;
            Ok(match item {
                None => Some(format!(
                    "points at outbox item {id} of organization {org}, which does not exist"
                )),
                Some(item) if item.state != OutboxState::Pending => Some(format!(
                    "points at outbox item {id} of organization {org}, which is no longer pending"
                )),
                Some(item)
                    if outbox_due_key(org, item.next_attempt_at, item.id).as_slice() != key =>
                {
                    Some(format!(
                        "is stale: outbox item {id} of organization {org} is due at {}",
                        item.next_attempt_at
                    ))
                }
                Some(_) => None,
            })
        })
    }

    fn check_inbox(&mut self) -> Result<()> {
        self.each(tables::INBOX, |this, key, value| {
            let Some((org, item)) = this.org_record::<InboxItem>(tables::INBOX, key, value) else {
                return Ok(());
            };
            if item.update_id != keys::tail_u64(key) {
                this.problem(format!(
                    "inbox: the record at key {} is update {}",
                    hex(key),
                    item.update_id
                ));
                return Ok(());
            }
            if item.state == InboxState::Pending {
                this.expect_entry(tables::INBOX_PENDING, &Key::empty().bytes(key), || {
                    format!("pending update {} of organization {org}", item.update_id)
                })?;
            }
            Ok(())
        })?;
        self.strays(tables::INBOX_PENDING, |view, key, _| {
            let item: Option<InboxItem> = view.get(tables::INBOX, &Key::empty().bytes(key))?;
            Ok(match item {
                None => Some("points at an update that is not in the inbox".to_string()),
                Some(item) if item.state != InboxState::Pending => Some(format!(
                    "points at update {}, which is already done",
                    item.update_id
                )),
                Some(_) => None,
            })
        })?;
        self.check_pruned_marks();
        Ok(())
    }

    /// Retention's high-water mark of an organization is two `sequences` entries written
    /// together (see `services::retention`): one without the other is a problem.
    fn check_pruned_marks(&mut self) {
        use super::retention::{INBOX_PRUNED_RECEIVED_AT, INBOX_PRUNED_THROUGH};
        let mut orgs: Vec<u64> = self
            .sequences
            .keys()
            .filter(|(_, name)| name == INBOX_PRUNED_THROUGH || name == INBOX_PRUNED_RECEIVED_AT)
            .map(|(org, _)| *org)
            .collect();
        orgs.sort_unstable();
        orgs.dedup();
        for org in orgs {
            let has = |name: &str| self.sequences.contains_key(&(org, name.to_string()));
            if !(has(INBOX_PRUNED_THROUGH) && has(INBOX_PRUNED_RECEIVED_AT)) {
                self.problem(format!(
                    "sequences: organization {org} has only one of {INBOX_PRUNED_THROUGH} and {INBOX_PRUNED_RECEIVED_AT}"
                ));
            }
        }
    }

    fn check_sessions(&mut self) -> Result<()> {
        self.each(tables::SESSIONS, |this, key, value| {
            let Some(session) = this.decode::<Session>(tables::SESSIONS, key, value) else {
                return Ok(());
            };
            let Ok(bytes) = <[u8; 32]>::try_from(key) else {
                this.key_len(tables::SESSIONS, key, 32);
                return Ok(());
            };
            let hash = SessionHash(bytes);
            if !this.known_owner(tables::SESSIONS, key, session.org, session.user)? {
                return Ok(());
            }
            this.expect_entries(session_index_keys(hash, &session), || {
                format!(
                    "session {} of user {} of organization {}",
                    hash.to_hex(),
                    session.user,
                    session.org
                )
            })
        })?;
        self.strays(tables::SESSIONS_BY_USER, |view, key, _| {
            let Some(hash) = by_user_hash(key).filter(|_| key.len() == 48) else {
                return Ok(Some(format!("has {} bytes, expected 48", key.len())));
            };
            let (org, user) = (org_of(key), keys::read_u64(key, 8));
            Ok(listed_entry_problem(
                tables::SESSIONS_BY_USER,
                key,
                &format!("session {}", hash.to_hex()),
                view.get::<Session>(tables::SESSIONS, &session_key(hash)),
                |session| session_index_keys(hash, session),
                |session| {
                    format!(
                        "says session {} is of user {user} of organization {org}, but it is of user {} of organization {}",
                        hash.to_hex(),
                        session.user,
                        session.org
                    )
                },
            ))
        })
    }

    fn check_api_tokens(&mut self) -> Result<()> {
        self.each(tables::API_TOKENS, |this, key, value| {
            let Some(token) = this.decode::<ApiToken>(tables::API_TOKENS, key, value) else {
                return Ok(());
            };
            if !this.key_len(tables::API_TOKENS, key, 32)
                || !this.known_owner(tables::API_TOKENS, key, token.org, token.user)?
            {
                return Ok(());
            }
            this.id_in_sequence(tables::API_TOKENS, token.org, "api_token", token.id.0);
            for (def, index_key) in api_token_index_keys(key, &token) {
                this.expect_value(def, &index_key, key, || {
                    format!(
                        "api token {} of organization {} (hash {})",
                        token.id,
                        token.org,
                        hex(key)
                    )
                })?;
            }
            Ok(())
        })?;
        self.strays(tables::API_TOKENS_BY_ORG, |view, key, value| {
            if key.len() != 16 {
                return Ok(Some(format!("has {} bytes, expected 16", key.len())));
            }
            let (org, id) = (org_of(key), keys::tail_u64(key));
            let Ok(hash) = by_org_hash(value) else {
                return Ok(Some(format!(
                    "holds a {}-byte value instead of the 32-byte hash of api token {id}",
                    value.len()
                )));
            };
            Ok(listed_entry_problem(
                tables::API_TOKENS_BY_ORG,
                key,
                &format!("api token {}", hex(&hash.0)),
                view.get::<ApiToken>(tables::API_TOKENS, &token_key(hash)),
                |token| api_token_index_keys(&hash.0, token),
                |token| {
                    format!(
                        "says api token {id} of organization {org} is {}, but that is api token {} of organization {}",
                        hex(&hash.0),
                        token.id,
                        token.org
                    )
                },
            ))
        })
    }

    /// Tables whose records only need to decode and belong to an organization.
    fn check_small_tables(&mut self) -> Result<()> {
        self.each(tables::LINK_CODES, |this, key, value| {
            let Some(link) = this.decode::<LinkCode>(tables::LINK_CODES, key, value) else {
                return Ok(());
            };
            if this.known_org(tables::LINK_CODES, key) && key.get(8..) != Some(link.code.as_bytes())
            {
                this.problem(format!(
                    "link_codes: the record at key {} has code {:?}",
                    hex(key),
                    link.code
                ));
            }
            Ok(())
        })?;
        self.each(tables::PAYMENT_METHODS, |this, key, value| {
            if this
                .decode::<PaymentMethod>(tables::PAYMENT_METHODS, key, value)
                .is_some()
            {
                this.known_org(tables::PAYMENT_METHODS, key);
            }
            Ok(())
        })?;
        self.each(tables::PAYMENT_INFOS, |this, key, value| {
            if this
                .decode::<PaymentInfo>(tables::PAYMENT_INFOS, key, value)
                .is_some()
            {
                this.known_org(tables::PAYMENT_INFOS, key);
            }
            Ok(())
        })?;
        // Dialogue state is opaque bytes owned by the bot: count it, nothing more.
        self.records += self.view.table_len(tables::DIALOGUES)?;
        let checked: HashSet<&str> = CHECKED.iter().map(|def| def.name()).collect();
        for def in tables::ALL {
            if !checked.contains(def.name()) {
                self.records += self.view.table_len(*def)?;
                self.unchecked.push(def.name().to_string());
            }
        }
        Ok(())
    }
}

/// The tables verification has rules for; any other table of [`tables::ALL`] is listed in
/// [`VerifyReport::unchecked_tables`].
const CHECKED: &[Def] = &[
    tables::META,
    tables::SEQUENCES,
    tables::ORGS,
    tables::ORGS_BY_SLUG,
    tables::USERS,
    tables::USERS_BY_NAME,
    tables::USERS_BY_TELEGRAM,
    tables::ROLES,
    tables::MARKERS,
    tables::CUSTOMERS,
    tables::CUSTOMERS_BY_TELEGRAM,
    tables::CUSTOMERS_BY_ACTIVITY,
    tables::ORDERS,
    tables::ORDERS_BY_STAGE,
    tables::ORDERS_BY_ASSIGNEE,
    tables::ORDERS_BY_CUSTOMER,
    tables::ORDERS_BY_DAY,
    tables::ORDERS_BY_MARKER,
    tables::ORDERS_BY_WORD,
    tables::ORDER_COUNTS,
    tables::BIDS,
    tables::BIDS_BY_ORDER,
    tables::GRANTS,
    tables::MESSAGES,
    tables::MESSAGES_BY_CUSTOMER,
    tables::MESSAGES_BY_ORDER,
    tables::MEDIA,
    tables::MEDIA_CHUNKS,
    tables::MEDIA_REFS,
    tables::AUDIT,
    tables::AUDIT_BY_SUBJECT,
    tables::CHANGES,
    tables::OUTBOX,
    tables::OUTBOX_DUE,
    tables::INBOX,
    tables::INBOX_PENDING,
    tables::DIALOGUES,
    tables::LINK_CODES,
    tables::PAYMENT_METHODS,
    tables::PAYMENT_INFOS,
    tables::SESSIONS,
    tables::SESSIONS_BY_USER,
    tables::API_TOKENS,
    tables::API_TOKENS_BY_ORG,
];

#[cfg(test)]
mod tests {
    //! The session, api token and file reference rules on files damaged through the crate's
    //! own writer (the public API cannot damage an index).

    use super::*;
    use crate::Tx;
    use crate::services::api_tokens::ApiTokenHash;
    use crate::services::team::NewUser;

    struct Fixture {
        _dir: tempfile::TempDir,
        crm: Crm,
        org: OrgId,
        user: UserId,
        session: SessionHash,
        token: ApiToken,
        token_hash: ApiTokenHash,
    }

    /// A store with one organization, one worker, one session and one api token of theirs.
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        let org = crm
            .create_organization("studio", "Acme", "acme")
            .unwrap()
            .id;
        let password = Password::parse("correct horse battery").unwrap();
        let user = crm
            .create_user(
                &Actor::system(org),
                NewUser {
                    username: "worker".into(),
                    display_name: "Worker".into(),
                    password: password.clone(),
                    roles: vec!["worker".into()],
                    must_change_password: false,
                },
            )
            .unwrap()
            .id;
        let session = crm
            .login(org, "worker", password.expose(), &Origin::default())
            .unwrap()
            .hash;
        let created = crm
            .create_api_token(&Actor::system(org), user, "ci")
            .unwrap();
        let report = crm.verify().unwrap();
        assert!(report.is_clean(), "{:#?}", report.problems);
        assert!(report.unchecked_tables.is_empty(), "{report:?}");
        Fixture {
            _dir: dir,
            crm,
            org,
            user,
            session,
            token_hash: created.secret.hash(),
            token: created.token,
        }
    }

    impl Fixture {
        fn damage(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<()> + Send + 'static) {
            self.crm.write(f).unwrap();
        }

        fn problems(&self) -> Vec<String> {
            self.crm.verify().unwrap().problems
        }

        fn stored_session(&self) -> Session {
            let hash = self.session;
            self.crm
                .read(|view| view.get::<Session>(tables::SESSIONS, &session_key(hash)))
                .unwrap()
                .unwrap()
        }
    }

    fn assert_one(problems: &[String], needle: &str) {
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains(needle), "{problems:#?}");
    }

    #[test]
    fn a_session_without_its_by_user_entry_is_reported() {
        let fixture = fixture();
        let (hash, session) = (fixture.session, fixture.stored_session());
        fixture.damage(move |tx| {
            for (def, key) in session_index_keys(hash, &session) {
                tx.remove(def, &key)?;
            }
            Ok(())
        });
        assert_one(&fixture.problems(), "sessions_by_user: missing entry");
    }

    #[test]
    fn a_by_user_entry_of_a_missing_session_or_another_user_is_reported() {
        let fixture = fixture();
        let (org, user) = (fixture.org, fixture.user);
        fixture.damage(move |tx| {
            tx.index(
                tables::SESSIONS_BY_USER,
                &Key::org(org).u64(user.0).bytes(&[7; 32]),
            )
        });
        assert_one(
            &fixture.problems(),
            &format!(
                "points at session {}, which does not exist",
                "07".repeat(32)
            ),
        );

        let fixture = self::fixture();
        let (hash, session) = (fixture.session, fixture.stored_session());
        let (org, user) = (fixture.org, fixture.user);
        fixture.damage(move |tx| {
            for (def, key) in session_index_keys(hash, &session) {
                tx.remove(def, &key)?;
            }
            tx.index(
                tables::SESSIONS_BY_USER,
                &Key::org(org).u64(user.0 + 1).bytes(&hash.0),
            )
        });
        let problems = fixture.problems();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("missing entry"), "{problems:#?}");
        assert!(
            problems[1].contains(&format!("is of user {} of organization {org}", user.0 + 1)),
            "{problems:#?}"
        );
    }

    #[test]
    fn sessions_of_missing_users_or_organizations_and_undecodable_ones_are_reported() {
        let fixture = fixture();
        let mut ghost = fixture.stored_session();
        ghost.user = UserId(999);
        let mut foreign = ghost.clone();
        foreign.org = OrgId(77);
        fixture.damage(move |tx| {
            for (hash, session) in [
                (SessionHash([1; 32]), ghost),
                (SessionHash([2; 32]), foreign),
            ] {
                tx.put(tables::SESSIONS, &session_key(hash), &session)?;
                for (def, key) in session_index_keys(hash, &session) {
                    tx.index(def, &key)?;
                }
            }
            tx.put_raw(tables::SESSIONS, &[3; 32], b"not a session")
        });
        let problems = fixture.problems();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems[0].contains("belongs to user 999 of organization")
                && problems[0].contains("who does not exist"),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("belongs to organization 77, which does not exist"),
            "{problems:#?}"
        );
        assert!(problems[2].contains("does not decode"), "{problems:#?}");
    }

    #[test]
    fn a_token_without_its_entry_or_with_an_entry_to_another_hash_is_reported() {
        let fixture = fixture();
        let (token, hash) = (fixture.token.clone(), fixture.token_hash);
        fixture.damage(move |tx| {
            for (def, key) in api_token_index_keys(&hash.0, &token) {
                tx.remove(def, &key)?;
            }
            Ok(())
        });
        assert_one(&fixture.problems(), "api_tokens_by_org: missing entry");

        let fixture = self::fixture();
        let (token, hash) = (fixture.token.clone(), fixture.token_hash);
        fixture.damage(move |tx| {
            for (def, key) in api_token_index_keys(&hash.0, &token) {
                tx.put_raw(def, key.as_slice(), &[4; 32])?;
            }
            Ok(())
        });
        let problems = fixture.problems();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].contains(&format!(
                "does not point at api token {} of organization {}",
                fixture.token.id, fixture.org
            )),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains(&format!(
                "points at api token {}, which does not exist",
                "04".repeat(32)
            )),
            "{problems:#?}"
        );
    }

    #[test]
    fn a_by_org_entry_of_another_token_id_or_a_malformed_one_is_reported() {
        let fixture = fixture();
        let (org, hash) = (fixture.org, fixture.token_hash);
        let id = fixture.token.id.0;
        fixture.damage(move |tx| {
            tx.put_raw(
                tables::API_TOKENS_BY_ORG,
                Key::org(org).u64(id + 5).as_slice(),
                &hash.0,
            )?;
            tx.put_raw(
                tables::API_TOKENS_BY_ORG,
                Key::org(org).u64(id + 6).as_slice(),
                b"short",
            )
        });
        let problems = fixture.problems();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].contains(&format!(
                "says api token {} of organization {org} is",
                id + 5
            )),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("holds a 5-byte value"),
            "{problems:#?}"
        );
    }

    #[test]
    fn tokens_of_missing_users_or_organizations_are_reported() {
        let fixture = fixture();
        let (mut ghost, hash) = (fixture.token.clone(), fixture.token_hash);
        ghost.user = UserId(999);
        fixture.damage(move |tx| tx.put(tables::API_TOKENS, &token_key(hash), &ghost));
        assert_one(&fixture.problems(), "belongs to user 999 of organization");

        let fixture = self::fixture();
        let (mut foreign, hash) = (fixture.token.clone(), fixture.token_hash);
        foreign.org = OrgId(77);
        fixture.damage(move |tx| {
            tx.put(tables::API_TOKENS, &token_key(hash), &foreign)?;
            for (def, key) in api_token_index_keys(&hash.0, &foreign) {
                tx.put_raw(def, key.as_slice(), &hash.0)?;
            }
            Ok(())
        });
        // The token's record names organization 77; the entry under the real organization
        // now points at a token of another organization.
        let problems = fixture.problems();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].contains("belongs to organization 77, which does not exist"),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("but that is api token"),
            "{problems:#?}"
        );
    }

    #[test]
    fn half_of_an_inbox_pruning_mark_is_reported() {
        let fixture = fixture();
        let org = fixture.org;
        let future = Timestamp::now().plus_millis(60_000);
        fixture.damage(move |tx| {
            tx.inbox_put(org, 1, "{}".into(), crate::telegram::INBOX_CAPACITY)?;
            tx.finish_update(org, 1)?;
            tx.prune_inbox(Some(org), future, 10)?;
            Ok(())
        });
        assert!(fixture.problems().is_empty(), "{:#?}", fixture.problems());
        fixture.damage(move |tx| {
            let key =
                Key::org(org).bytes(super::super::retention::INBOX_PRUNED_RECEIVED_AT.as_bytes());
            tx.remove(tables::SEQUENCES, &key)?;
            Ok(())
        });
        assert_one(&fixture.problems(), "has only one of inbox_pruned_through");
    }

    #[test]
    fn verify_reports_a_missing_and_a_stray_file_reference() {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        let org = crm
            .create_organization("studio", "Acme", "acme")
            .unwrap()
            .id;
        let customer = crm
            .upsert_telegram_customer(
                org,
                crate::customers::TelegramProfile {
                    telegram_id: crate::model::TelegramUserId(101),
                    username: None,
                    first_name: "Alice".into(),
                    last_name: None,
                    language_code: None,
                },
            )
            .unwrap()
            .id;
        let sketch = crm
            .store_media(org, b"attached to the order".to_vec(), "image/png".into())
            .unwrap();
        let order = crm
            .create_order(
                &Actor::customer(org, customer),
                crate::orders::NewOrder {
                    title: "Shop bot".into(),
                    description: "See the sketch".into(),
                    attachments: vec![sketch.hash],
                    ..crate::orders::NewOrder::default()
                },
            )
            .unwrap();
        assert!(crm.verify().unwrap().is_clean());
        let hash = sketch.hash;
        let real = Key::org(org).bytes(&hash.0).u8(2).u64(order.id.0);
        let stray = Key::org(org).bytes(&hash.0).u8(1).u64(999);
        crm.write(move |tx| {
            tx.remove(tables::MEDIA_REFS, &real)?;
            tx.index(tables::MEDIA_REFS, &stray)
        })
        .unwrap();
        let problems = crm.verify().unwrap().problems;
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|problem| problem.starts_with("media_refs: missing entry")),
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .any(|problem| problem.contains("points at message 999, which does not exist")),
            "{problems:#?}"
        );
    }
}
