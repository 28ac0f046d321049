//! Set-up, backup, restore, verify, stats and the data file's lock.

use crate::util::{TestDir, value_after};

#[test]
fn init_prints_a_password_once_and_a_second_init_is_refused_with_code_5() {
    let dir = TestDir::new();
    let out = dir
        .crm(&["init", "--org-name", "Acme Studio", "--template", "studio"])
        .ok();
    let password = value_after(&out, "password:");
    assert_eq!(password.len(), 20, "{out}");
    assert!(out.contains("administrator: admin"), "{out}");
    assert!(out.contains("slug acme-studio"), "{out}");

    let again = dir.crm(&["init"]);
    assert!(!again.stdout.contains("password"), "{again:?}");
    let error = again.fails_with(5);
    assert!(error.contains("already set up"), "{error}");

    let stats = dir.stats();
    assert_eq!(stats["organizations"].as_array().unwrap().len(), 1);
    assert_eq!(stats["organizations"][0]["users"], 1);
}

#[cfg(unix)]
#[test]
fn init_makes_the_data_directory_and_file_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::initialised();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.data_dir()), 0o700);
    assert_eq!(mode(&dir.data_file()), 0o600);
}

#[test]
fn init_takes_a_template_and_a_slug() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "helpdesk", "--slug", "desk"])
        .ok();
    let stats = dir.stats();
    assert_eq!(stats["organizations"][0]["slug"], "desk");
    assert_eq!(stats["organizations"][0]["template"], "helpdesk");
    let bad = dir.crm(&["init", "--template", "bakery"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn a_command_before_init_reports_the_missing_data_file_with_code_4() {
    let dir = TestDir::new();
    let error = dir.crm(&["stats"]).fails_with(4);
    assert!(error.contains("crm init"), "{error}");
    assert!(!dir.data_file().exists());
}

#[test]
fn verify_exits_0_on_a_fresh_file() {
    let dir = TestDir::initialised();
    let out = dir.crm(&["verify"]).ok();
    assert!(out.contains("no problems"), "{out}");
}

#[test]
fn a_backup_restores_into_a_new_directory_and_verifies_there() {
    let dir = TestDir::initialised();
    dir.crm(&["demo"]).ok();
    let backup = dir.path("backup.redb").display().to_string();
    let out = dir.crm(&["backup", &backup]).ok();
    assert!(out.contains("backed up"), "{out}");

    let refused = dir.crm(&["backup", &backup]).fails_with(5);
    assert!(refused.contains("exists"), "{refused}");

    let other = dir.path("other");
    let restored = dir.crm_in(&other, &["restore", &backup], None).ok();
    assert!(restored.contains("restored"), "{restored}");
    let verified = dir.crm_in(&other, &["verify"], None).ok();
    assert!(verified.contains("no problems"), "{verified}");
    let stats: serde_json::Value =
        serde_json::from_str(&dir.crm_in(&other, &["stats", "--json"], None).ok()).unwrap();
    assert_eq!(stats["organizations"][0]["orders"], 200);
}

#[test]
fn restore_without_force_onto_an_existing_file_is_refused() {
    let dir = TestDir::initialised();
    let backup = dir.path("backup.redb").display().to_string();
    dir.crm(&["backup", &backup]).ok();
    let before = std::fs::read(dir.data_file()).unwrap();
    let error = dir.crm(&["restore", &backup]).fails_with(5);
    assert!(error.contains("--force"), "{error}");
    assert_eq!(std::fs::read(dir.data_file()).unwrap(), before);
    dir.crm(&["restore", "--force", &backup]).ok();
    dir.crm(&["verify"]).ok();
}

#[test]
fn a_truncated_backup_is_refused_by_restore_and_the_target_is_untouched() {
    let dir = TestDir::initialised();
    dir.crm(&["demo"]).ok();
    let backup = dir.path("backup.redb");
    dir.crm(&["backup", &backup.display().to_string()]).ok();
    let bytes = std::fs::read(&backup).unwrap();
    let truncated = dir.path("truncated.redb");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();

    let before = std::fs::read(dir.data_file()).unwrap();
    let error = dir
        .crm(&["restore", "--force", &truncated.display().to_string()])
        .fails_with(7);
    assert!(error.contains("truncated.redb"), "{error}");
    assert!(error.contains("is damaged at byte"), "{error}");
    assert!(error.contains("cut short"), "{error}");
    assert_eq!(std::fs::read(dir.data_file()).unwrap(), before);
    let leftovers: Vec<String> = std::fs::read_dir(dir.data_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, ["crm.redb"]);
    dir.crm(&["verify"]).ok();
}

#[test]
fn a_missing_backup_file_is_not_found() {
    let dir = TestDir::initialised();
    dir.crm(&["restore", "--force", "no-such-file.redb"])
        .fails_with(4);
}

#[test]
fn a_data_file_held_by_another_process_gives_code_6_and_says_why() {
    let dir = TestDir::initialised();
    let held = crm_lib::Crm::open(dir.data_file()).unwrap();
    let error = dir.crm(&["stats"]).fails_with(6);
    assert!(
        error.contains("is in use by a running appliance; stop it or wait for the admin channel"),
        "{error}"
    );
    assert!(error.contains("crm.redb"), "{error}");
    let backup = dir.path("backup.redb").display().to_string();
    dir.crm(&["backup", &backup]).fails_with(6);
    let restore = dir.crm(&["restore", "--force", &backup]);
    assert_eq!(restore.code, 4, "{restore:?}");
    drop(held);
    dir.crm(&["stats"]).ok();
}

#[test]
fn restore_refuses_a_data_file_in_use() {
    let dir = TestDir::initialised();
    let backup = dir.path("backup.redb").display().to_string();
    dir.crm(&["backup", &backup]).ok();
    let held = crm_lib::Crm::open(dir.data_file()).unwrap();
    let error = dir.crm(&["restore", "--force", &backup]).fails_with(6);
    assert!(error.contains("in use by a running appliance"), "{error}");
    drop(held);
}

#[test]
fn stats_show_counts_as_text_and_json() {
    let dir = TestDir::initialised();
    let text = dir.crm(&["stats"]).ok();
    let version = crm_lib::SCHEMA_VERSION;
    assert!(
        text.contains(&format!("schema version: {version}\n")),
        "{text}"
    );
    assert!(text.contains("orders_by_stage"), "{text}");
    let stats = dir.stats();
    assert_eq!(stats["schema_version"], version);
    assert!(stats["file_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = TestDir::new();
    let help = dir.crm(&["--help"]).ok();
    assert!(help.contains("Exit codes:"), "{help}");
    assert!(help.contains("6  the data file is in use"), "{help}");
    let usage = dir.crm(&["frobnicate"]);
    assert_eq!(usage.code, 2, "{usage:?}");
}
