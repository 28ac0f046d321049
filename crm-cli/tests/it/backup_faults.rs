//! Damaged backups: `crm backup` of a store with data, then copies truncated, bit-flipped,
//! overwritten or zeroed at random offsets. `crm restore` of a damaged copy refuses with exit
//! code 7 and a message that names the file and says it is damaged, leaving the target
//! exactly as it was (absent stays absent, an existing store stays byte-identical): every byte
//! of a backup file is under a checksum.
//!
//! Restore also takes a copy of a stopped store's redb file. Damage to such a copy is either
//! refused the same way or, when it lies in bytes the store does not use, changes nothing:
//! exactly what the file held is restored. Restore never makes a different store live.
//!
//! Seeded: each run prints `seed N`; `CRM_FAULT_SEED=N` repeats it. `CRM_FAULT_ROUNDS=N` sets
//! the number of damaged copies per test (30 by default; the large run is 1,000).

use std::path::Path;

use crate::util::TestDir;

/// splitmix64: a small generator whose whole state is the seed.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Rng {
        let seed = std::env::var("CRM_FAULT_SEED")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_nanos() as u64)
                    .unwrap_or(1)
            });
        println!("{test}: seed {seed} (CRM_FAULT_SEED={seed} repeats it)");
        let mut rng = Rng(seed);
        for byte in test.bytes() {
            rng.0 ^= u64::from(byte);
            rng.next();
        }
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// `CRM_FAULT_ROUNDS`, or 30.
fn cases() -> usize {
    std::env::var("CRM_FAULT_ROUNDS")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|rounds| *rounds > 0)
        .unwrap_or(30)
}

/// One way of damaging a file, at an offset.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut the file at the offset.
    Truncate(usize),
    /// Flip one bit of the byte at the offset.
    FlipBit(usize, u8),
    /// Overwrite bytes from the offset with garbage.
    Garbage(usize, usize),
    /// Zero a 4 KiB run from the offset (a lost page).
    ZeroPage(usize),
}

impl Damage {
    fn pick(rng: &mut Rng, len: usize) -> Damage {
        // Half of the cases hit the first 16 KiB, where the headers (and a redb file's roots)
        // live.
        let offset = if rng.below(2) == 0 {
            rng.below(len.min(16 * 1024))
        } else {
            rng.below(len)
        };
        match rng.below(4) {
            0 => Damage::Truncate(offset),
            1 => Damage::FlipBit(offset, 1 << rng.below(8)),
            2 => Damage::Garbage(offset, 1 + rng.below(64)),
            _ => Damage::ZeroPage(offset),
        }
    }

    /// The damaged copy of `bytes`, or `None` when this damage would change nothing (zeros
    /// over zeros, garbage equal to what was there).
    fn apply(self, bytes: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
        let mut out = bytes.to_vec();
        match self {
            Damage::Truncate(offset) => out.truncate(offset),
            Damage::FlipBit(offset, bit) => out[offset] ^= bit,
            Damage::Garbage(offset, len) => {
                for byte in out.iter_mut().skip(offset).take(len) {
                    *byte = rng.next() as u8;
                }
            }
            Damage::ZeroPage(offset) => {
                for byte in out.iter_mut().skip(offset).take(4096) {
                    *byte = 0;
                }
            }
        }
        (out != bytes).then_some(out)
    }
}

/// What the store holds, as the commands show it: counts of every table and the exports.
fn fingerprint(dir: &TestDir, data_dir: &Path) -> String {
    let stats = dir.crm_in(data_dir, &["stats", "--json"], None).ok();
    let mut stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    stats["path"] = serde_json::Value::Null;
    stats["file_bytes"] = serde_json::Value::Null;
    let mut print = stats.to_string();
    for what in ["customers", "orders", "audit"] {
        print.push_str(
            &dir.crm_in(data_dir, &["export", what, "--format", "json"], None)
                .ok(),
        );
    }
    print
}

/// A store with demo data and its backup; returns the backup's bytes and the fingerprint.
fn backed_up() -> (TestDir, Vec<u8>, String) {
    let dir = TestDir::initialised();
    dir.crm(&["demo"]).ok();
    let backup = dir.path("crm.backup");
    dir.crm(&["backup", &backup.display().to_string()]).ok();
    let bytes = std::fs::read(&backup).unwrap();
    let print = fingerprint(&dir, &dir.data_dir());
    (dir, bytes, print)
}

/// Asserts that a refused restore said clearly why: code 7, the file named, the damage named,
/// no panic.
fn assert_clear_refusal(case: &str, damaged: &Path, run: &crate::util::Run) {
    assert_eq!(run.code, 7, "{case}: {run:#?}");
    let error = &run.stderr;
    assert!(error.starts_with("error: "), "{case}: {error}");
    assert!(
        error.contains(&damaged.display().to_string()),
        "{case}: the message names the backup: {error}"
    );
    assert!(
        [
            "not a readable data file",
            "failed redb's integrity check",
            "is damaged",
            "does not verify",
            "not a CRM data file",
            "not a usable backup",
        ]
        .iter()
        .any(|phrase| error.contains(phrase)),
        "{case}: the message says the backup is damaged: {error}"
    );
    assert!(
        !error.contains("panicked") && !error.contains("RUST_BACKTRACE"),
        "{case}: {error}"
    );
    assert!(run.stdout.is_empty(), "{case}: {run:#?}");
}

/// Writes `cases()` damaged copies of `bytes` to `damaged` in turn (damage that would change
/// nothing is skipped) and calls `check` with each case's index and description once its copy
/// is in place; then asserts that the copy is still as written (restore never changes its
/// input). Returns the number of copies checked.
fn each_damaged_copy(
    rng: &mut Rng,
    bytes: &[u8],
    damaged: &Path,
    mut check: impl FnMut(usize, &str),
) -> usize {
    let mut checked = 0;
    for index in 0..cases() {
        let damage = Damage::pick(rng, bytes.len());
        let Some(copy) = damage.apply(bytes, rng) else {
            continue;
        };
        let case = format!("case {index}: {damage:?} of {} bytes", bytes.len());
        std::fs::write(damaged, &copy).unwrap();
        check(index, &case);
        assert_eq!(
            std::fs::read(damaged).unwrap(),
            copy,
            "{case}: input changed"
        );
        checked += 1;
    }
    checked
}

#[test]
fn a_damaged_backup_is_refused_and_no_data_directory_appears() {
    let mut rng = Rng::seeded("restore_into_nothing");
    let (dir, bytes, _) = backed_up();
    let damaged = dir.path("damaged.backup");
    let refused = each_damaged_copy(&mut rng, &bytes, &damaged, |index, case| {
        let target = dir.path(&format!("restored-{index}"));
        let run = dir.crm_in(&target, &["restore", &damaged.display().to_string()], None);
        assert_clear_refusal(case, &damaged, &run);
        assert!(!target.exists(), "{case}: {} was created", target.display());
    });
    println!("{refused} damaged backups refused");
    assert!(refused > 0);
}

#[test]
fn a_damaged_copy_of_a_data_file_is_refused_or_restored_whole() {
    let mut rng = Rng::seeded("restore_a_data_file_copy");
    let dir = TestDir::initialised();
    dir.crm(&["demo"]).ok();
    // The store is closed between commands, so its file is a data file restore may take.
    let bytes = std::fs::read(dir.data_file()).unwrap();
    let original = fingerprint(&dir, &dir.data_dir());
    let damaged = dir.path("damaged.redb");
    let (mut refused, mut restored) = (0, 0);
    each_damaged_copy(&mut rng, &bytes, &damaged, |index, case| {
        let target = dir.path(&format!("restored-{index}"));
        let run = dir.crm_in(&target, &["restore", &damaged.display().to_string()], None);
        if run.code == 0 {
            // The damage hit bytes no table uses: what the file held comes back, whole.
            println!("{case}: restored {}", run.stdout.trim());
            assert_eq!(fingerprint(&dir, &target), original, "{case}");
            dir.crm_in(&target, &["verify"], None).ok();
            restored += 1;
        } else {
            assert_clear_refusal(case, &damaged, &run);
            assert!(!target.exists(), "{case}: {} was created", target.display());
            refused += 1;
        }
    });
    println!("{refused} damaged data files refused, {restored} restored unchanged");
    assert!(refused > 0);
}

#[test]
fn a_damaged_backup_leaves_the_live_store_byte_identical() {
    let mut rng = Rng::seeded("restore_over_a_store");
    let (dir, bytes, _) = backed_up();
    // The live store differs from the backup, so a restore that went through would show.
    dir.crm(&["user", "add", "later", "--role", "manager"]).ok();
    let live_print = fingerprint(&dir, &dir.data_dir());
    let live = std::fs::read(dir.data_file()).unwrap();
    let damaged = dir.path("damaged.backup");
    each_damaged_copy(&mut rng, &bytes, &damaged, |_, case| {
        let run = dir.crm(&["restore", "--force", &damaged.display().to_string()]);
        assert_clear_refusal(case, &damaged, &run);
        assert!(
            std::fs::read(dir.data_file()).unwrap() == live,
            "{case}: the live store changed"
        );
        let names: Vec<String> = std::fs::read_dir(dir.data_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["crm.redb"], "{case}: leftovers");
    });
    assert_eq!(fingerprint(&dir, &dir.data_dir()), live_print);
    dir.crm(&["verify"]).ok();
}
