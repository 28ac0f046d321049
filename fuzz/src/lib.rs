//! What the fuzz targets share: a scratch directory per process, template stores built once
//! per process, fresh copies of them for inputs that write (and the means to tell whether an
//! input wrote), and a fingerprint of a store to compare before and after an input.
//!
//! Stores live in `/dev/shm` when it exists: every durable commit is an fsync, and on tmpfs
//! that costs nothing, so the fuzzer's time goes to the code under test. Setting up a
//! template (organization, argon2 hashes of the staff passwords) takes a second or two once;
//! copying it takes well under a millisecond.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crm_lib::{Crm, CrmOptions, Password, admin::Setup, export::ExportFormat, model::OrgId};

/// The administrator's password in every template store.
pub const ADMIN_PASSWORD: &str = "fuzz-admin-password-1";

/// A directory of this process's stores, removed of leftovers of earlier runs when made.
/// libFuzzer ends the process with `exit`, so a run leaves its own directory behind; the
/// next run of the same target removes it.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// `/dev/shm/crm-fuzz-<target>-<pid>` (or the same under the temporary directory).
    pub fn new(target: &str) -> Self {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let prefix = format!("crm-fuzz-{target}-");
        if let Ok(entries) = std::fs::read_dir(&base) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                let Some(pid) = name.strip_prefix(&prefix) else {
                    continue;
                };
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = base.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the scratch directory");
        Scratch { dir }
    }

    /// A file in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Opens a store with a small cache and without quick repair (one fsync per commit).
pub fn open(path: &Path) -> Crm {
    let options = CrmOptions {
        cache_size: 16 * 1024 * 1024,
        quick_repair: false,
    };
    Crm::open_with(path, options).expect("opening a fuzz store")
}

/// Creates a store at `path` with a `studio` organization and an administrator `admin`
/// whose password is [`ADMIN_PASSWORD`] and need not be changed. Returns the open store.
pub fn studio(path: &Path) -> (Crm, OrgId, crm_lib::model::User) {
    let _ = std::fs::remove_file(path);
    let crm = open(path);
    let password = Password::parse(ADMIN_PASSWORD).expect("the admin password");
    let crm_lib::admin::Initialized {
        organization: org,
        admin,
    } = crm
        .system()
        .initialize(Setup {
            template: "studio".into(),
            name: "Fuzz Studio".into(),
            slug: "fuzz".into(),
            admin_username: "admin".into(),
            admin_password: password.clone(),
        })
        .expect("initializing the template store");
    let admin = crm
        .set_password(
            &crm_lib::model::Actor::staff(org.id, admin.id),
            admin.id,
            &password,
            false,
        )
        .expect("setting the admin password");
    (crm, org.id, admin)
}

/// Closes `crm` and waits until the file is free again.
pub fn close(crm: Crm) {
    crm.close();
    drop(crm);
}

/// A template file and a working copy of it, opened on demand, which notes every commit. An
/// input that committed something calls [`Reusable::discard`], so the next input starts from
/// the template again; an input that committed nothing keeps the open copy, which saves the
/// copy and the open. (A write job that fails is rolled back, and a batch without a successful
/// job is aborted, so "nothing committed" means the file is as it was.)
pub struct Reusable {
    template: PathBuf,
    work: PathBuf,
    crm: Option<Crm>,
    committed: Arc<AtomicBool>,
}

impl Reusable {
    /// A working copy of `template` at `work` (made when first needed).
    pub fn new(template: PathBuf, work: PathBuf) -> Self {
        Reusable {
            template,
            work,
            crm: None,
            committed: Arc::default(),
        }
    }

    /// The open working copy, a fresh copy of the template if none is open.
    pub fn crm(&mut self) -> &Crm {
        if self.crm.is_none() {
            std::fs::copy(&self.template, &self.work).expect("copying the template store");
            let crm = open(&self.work);
            let committed = self.committed.clone();
            crm.on_commit(move || committed.store(true, Ordering::SeqCst));
            self.committed.store(false, Ordering::SeqCst);
            self.crm = Some(crm);
        }
        self.crm.as_ref().expect("opened above")
    }

    /// Whether a write was committed to the working copy since it was made (or since
    /// [`Reusable::forget_commits`]). Waits for the writer to finish the jobs it was given: the
    /// commit hooks of a batch run before the writer takes the next job, and the job sent here
    /// fails, so it commits nothing itself.
    pub fn committed(&mut self) -> bool {
        let crm = self.crm();
        let _ = crm.write(|_| Err::<(), _>(crm_lib::Error::invalid("fuzz", "a barrier")));
        self.committed.load(Ordering::SeqCst)
    }

    /// Forgets the commits so far (after preparing the copy for an input).
    pub fn forget_commits(&self) {
        self.committed.store(false, Ordering::SeqCst);
    }

    /// Closes the working copy; the next [`Reusable::crm`] starts from the template.
    pub fn discard(&mut self) {
        if let Some(crm) = self.crm.take() {
            close(crm);
        }
    }
}

/// Everything an input could have changed, as text: the entries of every table and the
/// customers, orders and audit log of `org` as exported. Equal fingerprints before and after
/// an input mean the input wrote nothing a user could see.
pub fn fingerprint(crm: &Crm, org: OrgId) -> String {
    let mut out = Vec::new();
    let stats = crm.system().stats().expect("store statistics");
    for table in &stats.tables {
        out.extend_from_slice(format!("{} {}\n", table.name, table.entries).as_bytes());
    }
    let system = crm_lib::model::Actor::system(org);
    crm.export_customers(&system, ExportFormat::Csv, &mut out)
        .expect("exporting customers");
    crm.export_orders(&system, ExportFormat::Csv, &mut out)
        .expect("exporting orders");
    crm.export_audit(&system, ExportFormat::Csv, &mut out)
        .expect("exporting the audit log");
    String::from_utf8_lossy(&out).into_owned()
}

/// The fixture file `name` under the repository's `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
}
