//! Scheduled jobs through the running appliance: `crm jobs run` over the admin channel, the
//! jobs page's "run now" and settings, the API, and a kill -9 after a finished run: the
//! restarted appliance does not run that slot again.

use serde_json::Value;

use crate::admin_channel::crm_async;
use crate::support::spawn_app;
use crate::web_helpers::{admin, post};

/// The jobs as `crm jobs list --json` prints them (through the admin channel while the
/// appliance runs, on the file otherwise).
async fn jobs(data_dir: &std::path::Path) -> Vec<Value> {
    let listed = crm_async(data_dir, &["jobs", "list", "--json"], "").await;
    assert_eq!(listed.code, 0, "{}{}", listed.out, listed.err);
    serde_json::from_str(&listed.out).unwrap()
}

fn runs(jobs: &[Value], name: &str) -> u64 {
    jobs.iter()
        .find(|job| job["name"] == name)
        .and_then(|job| job["runs"].as_u64())
        .unwrap()
}

#[tokio::test]
async fn a_finished_run_is_not_run_again_after_kill_9_and_a_restart() {
    let mut app = spawn_app();
    let dir = app.data_dir.clone();
    let ran = crm_async(&dir, &["jobs", "run", "audit_cleanup"], "").await;
    assert_eq!(ran.code, 0, "{}{}", ran.out, ran.err);
    assert!(
        ran.out
            .starts_with("audit_cleanup: deleted 0 audit entries"),
        "{}",
        ran.out
    );
    let ran = crm_async(&dir, &["jobs", "run", "daily_report"], "").await;
    assert_eq!(ran.code, 0, "{}{}", ran.out, ran.err);
    let before = jobs(&dir).await;
    assert_eq!(runs(&before, "audit_cleanup"), 1);
    assert_eq!(runs(&before, "daily_report"), 1);

    app.kill();
    // The killed appliance's file, read directly: both runs are recorded as finished, and
    // the file verifies.
    let offline = jobs(&dir).await;
    assert_eq!(runs(&offline, "audit_cleanup"), 1, "{offline:#?}");
    assert!(offline.iter().all(|job| job["running_since"].is_null()));
    let verified = crm_async(&dir, &["verify"], "").await;
    assert_eq!(verified.code, 0, "{}{}", verified.out, verified.err);
    let app = app.restart();
    // The scheduler's first round (two seconds after start) finds nothing due: both slots
    // were finished before the kill.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let after = jobs(&dir).await;
    assert_eq!(runs(&after, "audit_cleanup"), 1, "{after:#?}");
    assert_eq!(runs(&after, "daily_report"), 1, "{after:#?}");
    for job in &after {
        assert!(job["running_since"].is_null(), "{job}");
        assert!(
            job["next_run"].is_string(),
            "planned by the first round: {job}"
        );
    }
    let again = crm_async(&dir, &["jobs", "run", "audit_cleanup"], "").await;
    assert_eq!(again.code, 0, "{}{}", again.out, again.err);
    assert_eq!(
        runs(&jobs(&dir).await, "audit_cleanup"),
        2,
        "a new slot runs"
    );
    drop(app);
}

#[tokio::test]
async fn the_jobs_page_runs_a_job_saves_settings_and_the_api_lists_and_runs_jobs() {
    let app = spawn_app();
    let session = admin(&app).await;
    let page = session
        .client
        .get(app.url("/admin/jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("/admin/jobs/audit_cleanup/run"), "{html}");
    assert!(
        html.contains("href=\"/admin/jobs\""),
        "the menu links the page"
    );

    let ran = post(&app, &session, "/admin/jobs/audit_cleanup/run", &[]).await;
    assert_eq!(ran.status(), 303);
    assert_eq!(
        ran.headers()["location"].to_str().unwrap(),
        "/admin/jobs?done=job_ran"
    );
    let saved = post(
        &app,
        &session,
        "/admin/jobs/settings",
        &[
            ("audit_retention_days", "90"),
            ("report_time", "07:45"),
            ("archive_after_days", "14"),
            ("enabled_audit_cleanup", "1"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let html = session
        .client
        .get(app.url("/admin/jobs?done=jobs_saved"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Daily at 07:45 (UTC)"), "{html}");
    assert!(html.contains("value=\"90\""), "{html}");
    let refused = post(
        &app,
        &session,
        "/admin/jobs/settings",
        &[
            ("audit_retention_days", "90"),
            ("report_time", "25:00"),
            ("archive_after_days", "14"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 422);

    let created = crm_async(
        &app.data_dir,
        &["token", "create", "--user", "admin", "--name", "jobs"],
        "",
    )
    .await;
    let token = created
        .out
        .lines()
        .find_map(|line| line.strip_prefix("token: "))
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let listed: Value = http
        .get(app.url("/api/v1/jobs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let audit = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["name"] == "audit_cleanup")
        .unwrap();
    assert_eq!(audit["runs"], 1);
    assert_eq!(audit["schedule"], "daily at 03:30");
    let report = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["name"] == "daily_report")
        .unwrap();
    assert_eq!(report["enabled"], false, "its box was left unticked");
    let run = http
        .post(app.url("/api/v1/jobs/audit_cleanup/run"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 200);
    let run: Value = run.json().await.unwrap();
    assert_eq!(run["ok"], true, "{run}");
    let unknown = http
        .post(app.url("/api/v1/jobs/nightly_party/run"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn run_now_sends_the_daily_report_to_a_linked_manager_in_telegram() {
    let app = spawn_app();
    let sandbox = crate::bot_support::Sandbox::of(&app);
    let session = admin(&app).await;
    let manager = crate::bot_support::User::new(5_300_000_001, "Admin", "en");
    crate::bot_staff::link(&app, &session, &sandbox, &manager).await;
    let before = sandbox.bot_messages(manager.id).await.len();

    let ran = post(&app, &session, "/admin/jobs/daily_report/run", &[]).await;
    assert_eq!(ran.status(), 303);
    let report = sandbox.wait_for(manager.id, before, "Report for").await;
    let text = crate::bot_support::text(&report);
    assert!(text.contains("New orders: 0"), "{text}");
    assert!(text.contains("• Pending moderation: 0"), "{text}");
}
