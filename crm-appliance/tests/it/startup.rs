//! Start, first-start credentials, health check and shutdown.

use crate::support::spawn_app;

#[tokio::test]
async fn the_first_start_prints_a_random_admin_password_and_keeps_it_in_a_private_file() {
    let app = spawn_app();
    assert!(
        app.admin_password.len() >= 16,
        "a generated password is printed"
    );
    let file = app.data_dir.join("initial-admin-password");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim(),
        app.admin_password
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(app.data_dir.join("crm.redb"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let other = spawn_app();
    assert_ne!(
        other.admin_password, app.admin_password,
        "no fixed default password"
    );
}

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app();
    let response = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn the_healthcheck_subcommand_reports_a_running_appliance() {
    let app = spawn_app();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_crm-appliance"))
        .args(["--listen", &app.address, "healthcheck"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let dead = std::process::Command::new(env!("CARGO_BIN_EXE_crm-appliance"))
        .args(["--listen", "127.0.0.1:9", "healthcheck"])
        .output()
        .unwrap();
    assert!(!dead.status.success());
}

#[tokio::test]
async fn a_restart_keeps_the_data_and_prints_no_new_password() {
    let mut app = spawn_app();
    assert!(app.terminate(), "SIGTERM ends the process cleanly");
    let app = app.restart();
    let printed = app.output.lock().unwrap().join("\n");
    assert!(!printed.contains("password:"), "{printed}");
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_second_appliance_on_the_same_data_directory_is_refused_clearly() {
    let app = spawn_app();
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_crm-appliance"))
        .arg("--data-dir")
        .arg(&app.data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another process"), "{stderr}");
}
