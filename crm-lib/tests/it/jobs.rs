//! Scheduled jobs through the public API, on a store whose clock the test moves: a slot runs
//! once, a second claim of it is refused, missed days run once, an interrupted run is run
//! again by the next opening and a finished one never, audit cleanup keeps what is newer, and
//! the daily report counts the organization's yesterday.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::{
    Crm, CrmOptions, ErrorKind,
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    jobs::JobSettingsUpdate,
    model::{Actor, AuditAction, Event, OutboxPayload, Recipient, TelegramUserId, Timestamp},
};

use crate::support::World;

/// A clock of its own for each test (tests run in parallel): a static moment and the `fn`
/// that reads it.
macro_rules! clock {
    ($name:ident) => {
        mod $name {
            use super::*;
            pub static NOW: AtomicI64 = AtomicI64::new(0);
            pub fn now() -> Timestamp {
                Timestamp::from_millis(NOW.load(Ordering::SeqCst))
            }
            pub fn set(text: &str) {
                NOW.store(super::at(text).millis(), Ordering::SeqCst);
            }
        }
    };
}

fn at(text: &str) -> Timestamp {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    Timestamp::from_millis((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn world_with_clock(dir: tempfile::TempDir, clock: fn() -> Timestamp) -> World {
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), clock).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Clock Studio", "clock")
        .unwrap();
    World::in_org(dir, crm, org)
}

/// The jobs the scheduler ran now, but the every-minute `scheduled_messages`, which these
/// tests of daily slots leave aside (its own tests are `it::scheduled`).
fn due(system: &crm_lib::system::System<'_>) -> Vec<crm_lib::jobs::JobRun> {
    system
        .run_due_jobs()
        .unwrap()
        .into_iter()
        .filter(|run| run.job != "scheduled_messages")
        .collect()
}

fn row(world: &World, name: &str) -> crm_lib::jobs::JobRow {
    world
        .crm
        .jobs(&world.admin)
        .unwrap()
        .jobs
        .into_iter()
        .find(|row| row.name == name)
        .unwrap()
}

clock!(once);

#[test]
fn a_due_slot_runs_once_and_a_second_claim_of_it_is_refused() {
    once::set("2026-03-02T10:00:00Z");
    let world = world_with_clock(tempfile::tempdir().unwrap(), once::now);
    let system = world.crm.system();
    assert!(
        system.prepare_jobs().unwrap().is_empty(),
        "nothing is due at once"
    );
    assert_eq!(
        row(&world, "daily_report").next_slot,
        Some(at("2026-03-03T09:00:00Z"))
    );
    let early = system.claim_job(world.org.id, "daily_report").unwrap_err();
    assert_eq!(early.kind(), ErrorKind::Conflict, "{early}");

    once::set("2026-03-03T09:00:30Z");
    let claim = system.claim_job(world.org.id, "daily_report").unwrap();
    assert_eq!(claim.slot, at("2026-03-03T09:00:00Z"));
    let again = system.claim_job(world.org.id, "daily_report").unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
    assert!(
        due(&system).iter().all(|run| run.job != "daily_report"),
        "the scheduler skips a running job"
    );
    let run = system.run_claimed(&claim).unwrap();
    assert!(run.ok, "{}", run.result);
    let finished_twice = system.run_claimed(&claim).unwrap_err();
    assert_eq!(finished_twice.kind(), ErrorKind::Conflict);

    once::set("2026-03-03T09:30:00Z");
    assert!(due(&system).is_empty());
    let report = row(&world, "daily_report");
    assert_eq!(report.runs, 1);
    assert_eq!(report.next_slot, Some(at("2026-03-04T09:00:00Z")));
    assert!(report.last_ok && report.running_since.is_none());
}

clock!(missed);

#[test]
fn slots_missed_for_days_run_once_at_start_up_not_once_per_day() {
    missed::set("2026-03-02T10:00:00Z");
    let world = world_with_clock(tempfile::tempdir().unwrap(), missed::now);
    let system = world.crm.system();
    system.prepare_jobs().unwrap();

    // Down from Monday to Thursday noon: three reports and three cleanups were missed.
    missed::set("2026-03-05T12:00:00Z");
    let runs = due(&system);
    let mut names: Vec<_> = runs.iter().map(|run| run.job).collect();
    names.sort_unstable();
    assert_eq!(names, ["audit_cleanup", "daily_report"]);
    assert!(runs.iter().all(|run| run.ok), "{runs:?}");
    assert_eq!(
        runs.iter()
            .find(|run| run.job == "daily_report")
            .unwrap()
            .slot,
        at("2026-03-05T09:00:00Z"),
        "the latest missed slot is the one run"
    );
    assert!(due(&system).is_empty());
    assert_eq!(row(&world, "daily_report").runs, 1);
    assert_eq!(
        row(&world, "daily_report").next_slot,
        Some(at("2026-03-06T09:00:00Z"))
    );
    assert_eq!(
        row(&world, "audit_cleanup").next_slot,
        Some(at("2026-03-06T03:30:00Z"))
    );
    assert_eq!(
        system.next_job_due().unwrap(),
        Some(at("2026-03-05T12:01:00Z")),
        "the every-minute scheduled messages come next"
    );
}

clock!(interrupted);

#[test]
fn an_interrupted_run_is_run_again_by_the_next_opening_and_a_finished_one_never() {
    interrupted::set("2026-03-02T10:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.redb");
    let world = world_with_clock(dir, interrupted::now);
    let org = world.org.id;
    world.crm.system().prepare_jobs().unwrap();
    interrupted::set("2026-03-03T09:00:10Z");
    // Claimed, then the process dies before the work: the claim is in the file.
    let claim = world.crm.system().claim_job(org, "daily_report").unwrap();
    world.crm.close();
    let World { crm, _dir, .. } = world;
    drop(crm);

    let reopened = Crm::open_with_clock(&path, CrmOptions::default(), interrupted::now).unwrap();
    assert!(
        reopened.system().next_job_due().unwrap() <= Some(interrupted::now()),
        "an interrupted run is due at once"
    );
    let runs = due(&reopened.system());
    let report: Vec<_> = runs
        .iter()
        .filter(|run| run.job == "daily_report")
        .collect();
    assert_eq!(report.len(), 1, "{runs:?}");
    assert_eq!(report[0].slot, claim.slot);
    reopened.close();
    drop(reopened);

    let third = Crm::open_with_clock(&path, CrmOptions::default(), interrupted::now).unwrap();
    assert!(due(&third.system()).is_empty());
    let view = third.jobs(&Actor::system(org)).unwrap();
    let report = view
        .jobs
        .iter()
        .find(|row| row.name == "daily_report")
        .unwrap();
    assert_eq!(report.runs, 1, "the finished slot did not run again");
    assert!(third.system().verify().unwrap().is_clean());
}

clock!(cleanup);

#[test]
fn audit_cleanup_deletes_what_is_older_than_the_retention_keeps_the_rest_and_verify_stays_clean() {
    cleanup::set("2026-01-01T10:00:00Z");
    let world = world_with_clock(tempfile::tempdir().unwrap(), cleanup::now);
    let system = world.crm.system();
    let customer = world.customer(5001, "Olga");
    let order = world.order(&customer, "Old order", None);
    let old = system.all_audit(world.org.id).unwrap().len();
    assert!(old > 5, "{old}");

    cleanup::set("2026-02-15T10:00:00Z");
    world
        .crm
        .update_job_settings(
            &world.admin,
            JobSettingsUpdate {
                audit_retention_days: Some(30),
                ..JobSettingsUpdate::default()
            },
        )
        .unwrap();
    let refused = world
        .crm
        .run_job(&world.worker, "audit_cleanup")
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    let unknown = world
        .crm
        .run_job(&world.admin, "nightly_party")
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);

    let run = world.crm.run_job(&world.admin, "audit_cleanup").unwrap();
    assert!(run.ok, "{}", run.result);
    assert!(
        run.result.contains(&format!("deleted {old} ")),
        "{}",
        run.result
    );
    let left: Vec<_> = system
        .all_audit(world.org.id)
        .unwrap()
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(
        left,
        [
            AuditAction::JobSettingsChanged,
            AuditAction::JobRunRequested
        ]
    );
    assert!(
        world
            .crm
            .read(|view| crm_lib::orders::order_detail_in(view, &world.admin, order.id))
            .unwrap()
            .timeline
            .is_empty(),
        "the order's timeline lost its old entries with them"
    );
    let again = world.crm.run_job(&world.admin, "audit_cleanup").unwrap();
    assert!(again.result.contains("deleted 0 "), "{}", again.result);
    assert_eq!(row(&world, "audit_cleanup").runs, 2);
    assert!(system.verify().unwrap().is_clean());
}

clock!(report);

#[test]
fn the_daily_report_tells_linked_managers_about_yesterday_in_one_notification_each() {
    report::set("2026-03-02T08:00:00Z");
    let world = world_with_clock(tempfile::tempdir().unwrap(), report::now);
    let system = world.crm.system();
    let code = world.crm.create_link_code(&world.manager).unwrap();
    system
        .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(777))
        .unwrap();
    system.prepare_jobs().unwrap();
    // Monday: one order created and rejected, one message each way.
    report::set("2026-03-02T10:00:00Z");
    let customer = world.customer(5002, "Pavel");
    let order = world.order(&customer, "Site", None);
    world
        .crm
        .reject_order(&world.manager, order.id, "Not our kind of work")
        .unwrap();
    let customer_id = World::customer_id(&customer);
    world
        .crm
        .post_inbound(
            &customer,
            InboundMessage {
                customer: customer_id,
                about: OrderChoice::None,
                text: "Hello".into(),
                attachments: Vec::new(),
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
    world
        .crm
        .post_outbound(
            &world.manager,
            OutboundMessage {
                customer: customer_id,
                order: None,
                text: "Hi".into(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
        )
        .unwrap();
    // Tuesday after nine, the report of Monday; an order of Tuesday is not counted.
    report::set("2026-03-03T09:00:01Z");
    world.order(&customer, "Tuesday's", None);
    let runs = due(&system);
    assert!(
        runs.iter().any(|run| run.job == "daily_report" && run.ok),
        "{runs:?}"
    );

    let reports: Vec<_> = world
        .outbox()
        .into_iter()
        .filter_map(|item| match item.payload {
            OutboxPayload::Notify(Event::DailyReport { summary }) => {
                Some((item.recipient, summary))
            }
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1, "one linked manager: {reports:?}");
    let (recipient, summary) = &reports[0];
    assert_eq!(*recipient, Recipient::Staff(World::user_id(&world.manager)));
    assert_eq!(summary.day.to_string(), "2026-03-02");
    assert_eq!(
        (summary.new_orders, summary.won, summary.lost),
        (1, 0, 1),
        "{summary:?}"
    );
    assert_eq!((summary.messages_in, summary.messages_out), (1, 1));
    let pending = summary
        .open_by_stage
        .iter()
        .find(|count| count.stage == world.stage("pending"))
        .unwrap();
    assert_eq!(pending.orders, 1, "Tuesday's order waits in moderation now");
    assert!(
        summary
            .open_by_stage
            .iter()
            .all(|count| count.stage != world.stage("rejected")),
        "terminal stages are not open"
    );
}

clock!(settings);

#[test]
fn job_settings_are_checked_and_switching_a_job_off_keeps_the_schedule_from_claiming_it() {
    settings::set("2026-03-02T10:00:00Z");
    let world = world_with_clock(tempfile::tempdir().unwrap(), settings::now);
    let system = world.crm.system();
    system.prepare_jobs().unwrap();
    let bad = world
        .crm
        .update_job_settings(
            &world.admin,
            JobSettingsUpdate {
                archive_after_days: Some(0),
                ..JobSettingsUpdate::default()
            },
        )
        .unwrap_err();
    assert_eq!(bad.field(), Some("archive_after_days"));
    let denied = world
        .crm
        .update_job_settings(&world.worker, JobSettingsUpdate::default())
        .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    let saved = world
        .crm
        .update_job_settings(
            &world.admin,
            JobSettingsUpdate {
                report_time: Some(crm_lib::model::LocalTime::new(18, 45).unwrap()),
                enabled: vec![("audit_cleanup".into(), false)],
                ..JobSettingsUpdate::default()
            },
        )
        .unwrap();
    assert!(!saved.is_enabled("audit_cleanup"));
    system.prepare_jobs().unwrap();
    assert_eq!(
        row(&world, "daily_report").next_slot,
        Some(at("2026-03-02T18:45:00Z")),
        "a new report time plans the next slot again"
    );
    settings::set("2026-03-04T12:00:00Z");
    let runs = due(&system);
    assert_eq!(
        runs.iter().map(|run| run.job).collect::<Vec<_>>(),
        ["daily_report"]
    );
    let off = system.claim_job(world.org.id, "audit_cleanup").unwrap_err();
    assert_eq!(off.kind(), ErrorKind::Conflict);
    // By hand it still runs.
    assert!(world.crm.run_job(&world.admin, "audit_cleanup").unwrap().ok);
}

clock!(dst);

#[test]
fn the_daily_report_follows_the_organization_s_time_zone_across_a_daylight_saving_change() {
    // Friday 2026-03-06, 10:00 in New York (EST, UTC-5).
    dst::set("2026-03-06T15:00:00Z");
    let world = world_with_clock(tempfile::tempdir().unwrap(), dst::now);
    world
        .crm
        .update_settings(
            &world.admin,
            crm_lib::org::SettingsUpdate {
                time_zone: Some("America/New_York".into()),
                ..crm_lib::org::SettingsUpdate::default()
            },
        )
        .unwrap();
    let system = world.crm.system();
    system.prepare_jobs().unwrap();
    // Saturday's 09:00 is still EST: 14:00 UTC.
    assert_eq!(
        row(&world, "daily_report").next_slot,
        Some(at("2026-03-07T14:00:00Z"))
    );
    dst::set("2026-03-07T14:00:05Z");
    let runs = due(&system);
    assert!(runs.iter().any(|run| run.job == "daily_report"), "{runs:?}");
    // The clocks go forward on Sunday at 02:00: Sunday's 09:00 is EDT, 13:00 UTC.
    assert_eq!(
        row(&world, "daily_report").next_slot,
        Some(at("2026-03-08T13:00:00Z"))
    );
    dst::set("2026-03-08T12:59:00Z");
    assert!(
        due(&system).iter().all(|run| run.job != "daily_report"),
        "not at 08:59 on the wall clock"
    );
    dst::set("2026-03-08T13:00:01Z");
    let runs = due(&system);
    let report = runs.iter().find(|run| run.job == "daily_report").unwrap();
    assert_eq!(report.slot, at("2026-03-08T13:00:00Z"));
    assert!(
        report.result.contains("report of 2026-03-07"),
        "{}",
        report.result
    );
    assert_eq!(row(&world, "daily_report").runs, 2);
    assert_eq!(
        world.crm.jobs(&world.admin).unwrap().time_zone,
        "America/New_York"
    );
}
