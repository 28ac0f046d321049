//! Administration: verification, online backup, restore, CSV import and export, the demo.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crm_lib::{
    Crm, ErrorKind, Password, Result, SCHEMA_VERSION,
    admin::{VerifyReport, restore},
    export::{ExportFormat, ORDER_LIST_EXPORT_COLUMNS},
    import::{ImportError, ImportReport},
    model::{Actor, Customer, OrgId, Organization, Origin, OutboxState, TelegramUserId},
    orders::{NewOrder, OrderFilter},
};

use crate::support::{World, password, profile};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/csv")
        .join(name)
}

fn fresh(template: &str) -> (tempfile::TempDir, Crm, Organization) {
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let org = crm
        .system()
        .create_organization(template, "Demo Studio", "demo")
        .unwrap();
    (dir, crm, org)
}

fn import_customers(crm: &Crm, org: OrgId, name: &str) -> Result<ImportReport, ImportError> {
    let file = std::fs::File::open(fixture(name)).unwrap();
    crm.import_customers(&Actor::system(org), file, name, &|_| {})
}

fn import_orders(crm: &Crm, org: OrgId, name: &str) -> Result<ImportReport, ImportError> {
    let file = std::fs::File::open(fixture(name)).unwrap();
    crm.import_orders(&Actor::system(org), file, name, &|_| {})
}

#[test]
fn verify_is_clean_after_the_demo_loads_and_the_demo_loads_only_once() {
    let (_dir, crm, org) = fresh("studio");
    let report = crm.system().load_demo(org.id).unwrap();
    assert_eq!(report.orders, 200);
    assert_eq!(report.customers, 60);
    assert_eq!(report.staff.len(), 8);
    assert!(
        report
            .staff
            .iter()
            .all(|login| login.password.expose().len() == 20)
    );
    assert_eq!(
        report.stages.iter().map(|count| count.orders).sum::<u64>(),
        200
    );
    let delivered = report
        .stages
        .iter()
        .find(|count| count.stage.key == "delivered")
        .unwrap();
    assert_eq!(delivered.orders, 65);

    let verify = crm.system().verify().unwrap();
    assert!(verify.is_clean(), "{:#?}", verify.problems);
    assert!(verify.records > 1000, "{verify:?}");
    assert!(verify.index_entries > 1000, "{verify:?}");

    // The demo is history: nothing it queued waits for delivery to Telegram.
    let outbox = crm.system().outbox_items(org.id).unwrap();
    assert!(!outbox.is_empty());
    assert!(outbox.iter().all(|item| item.state != OutboxState::Pending));

    // A demo staff user logs in with the password of the report.
    let anna = report
        .staff
        .iter()
        .find(|login| login.username == "anna")
        .unwrap();
    crm.authenticate(org.id, "anna", anna.password.expose())
        .unwrap();

    let again = crm.system().load_demo(org.id).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
}

#[test]
fn every_template_s_demo_loads_into_every_stage_of_its_pipeline_and_verifies_clean() {
    for (template, orders) in [("service", 80), ("renovation", 60), ("helpdesk", 100)] {
        let (_dir, crm, org) = fresh(template);
        let report = crm.system().load_demo(org.id).unwrap();
        assert_eq!(report.orders, orders, "{template}");
        assert_eq!(report.customers, 60, "{template}");
        assert!(report.staff.len() >= 4, "{template}");
        // The token service's customers keep profiles (the tokens module).
        assert_eq!(
            report.profiles,
            if template == "service" { 4 } else { 0 },
            "{template}"
        );
        for count in &report.stages {
            assert!(
                count.orders > 0,
                "{template}: no order in {}",
                count.stage.key
            );
        }
        assert_eq!(
            report.stages.iter().map(|count| count.orders).sum::<u64>(),
            orders
        );
        let verify = crm.system().verify().unwrap();
        assert!(verify.is_clean(), "{template}: {:#?}", verify.problems);
        let outbox = crm.system().outbox_items(org.id).unwrap();
        assert!(outbox.iter().all(|item| item.state != OutboxState::Pending));
        let again = crm.system().load_demo(org.id).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
        // The inbox's helpers have something to show (issue 12): private notes, canned
        // responses, and ratings in the satisfaction statistics.
        let system = crm_lib::model::Actor::system(org.id);
        assert!(
            report.notes > 0 && report.canned > 0 && report.ratings > 0,
            "{template}"
        );
        assert_eq!(
            crm.canned_list(&system).unwrap().len() as u64,
            report.canned,
            "{template}"
        );
        let since = crm_lib::model::Date::of(crm_lib::model::Timestamp::now().minus_days(360));
        let stats = crm.csat_stats(&system, Some(since), None).unwrap();
        assert_eq!(u64::from(stats.total.count), report.ratings, "{template}");
        if template == "helpdesk" {
            let hours = crm.business_hours(&system).unwrap().hours;
            assert!(!hours.enabled, "saved, not switched on");
            assert!(!hours.week[0].is_empty(), "{hours:?}");
        }
        if template == "helpdesk" {
            helpdesk_demo_runs_a_support_desk(&crm, org.id, &report);
        }
    }
}

/// The helpdesk demo has departments, operators with statuses sharing the queue, tickets
/// with device fields and fraud flags, and calls from known and unknown numbers.
fn helpdesk_demo_runs_a_support_desk(
    crm: &Crm,
    org: crm_lib::model::OrgId,
    report: &crm_lib::demo::DemoReport,
) {
    use crm_lib::model::{CallDirection, OperatorStatus};
    let system = crm_lib::model::Actor::system(org);
    let departments = crm.departments(&system).unwrap();
    assert_eq!(departments.len(), 2, "{departments:?}");
    let operators = crm.operators(&system).unwrap();
    let online: Vec<_> = operators
        .iter()
        .filter(|row| row.status == OperatorStatus::Online)
        .collect();
    assert_eq!(online.len(), 2, "{operators:?}");
    assert!(
        operators
            .iter()
            .any(|row| row.status == OperatorStatus::Away)
    );
    assert!(online.iter().all(|row| row.load > 0), "{online:?}");
    let queue = crm.queue_items(&system).unwrap();
    assert!(!queue.is_empty());

    let orders = crm.system().all_orders(org).unwrap();
    let mut flagged = 0;
    for order in &orders {
        let ticket = crm.ticket(&system, order.id).unwrap().unwrap();
        assert!(
            ticket.fields.iter().any(|(_, value)| value.is_some()),
            "ticket {} has no fields",
            order.id
        );
        if ticket.fraud.is_some_and(|fraud| fraud.score() > 0) {
            flagged += 1;
        }
    }
    assert!(flagged > 0, "no ticket carries a fraud flag");

    assert_eq!(report.calls, 24);
    let calls = crm
        .calls(
            &system,
            &crm_lib::calls::CallFilter::default(),
            crm_lib::Page::first(crm_lib::Page::MAX),
        )
        .unwrap();
    assert_eq!(calls.items.len(), 24);
    assert!(
        calls
            .items
            .iter()
            .any(|call| call.direction == CallDirection::Outbound)
    );
    assert!(calls.items.iter().any(|call| call.operator.is_some()));
    // Each call happened over time: started in the past, answered after ringing, ended after.
    let now = crm_lib::model::Timestamp::now();
    for call in &calls.items {
        let ended = call.ended_at.unwrap();
        assert!(call.started_at < ended && ended < now, "{call:?}");
        if let Some(answered) = call.answered_at {
            assert!(call.started_at <= answered && answered <= ended, "{call:?}");
        }
    }
    let mut starts: Vec<_> = calls.items.iter().map(|call| call.started_at).collect();
    starts.dedup();
    assert!(starts.len() > 20, "calls spread over days: {starts:?}");
    // The secret set for the replay is gone again.
    assert!(!crm.call_settings(&system).unwrap().secret_set);
}

#[test]
fn stats_count_tables_organizations_and_stages() {
    let world = World::new();
    let customer = world.customer(7_000_000_001, "Alice");
    world.order(&customer, "Landing page", Some("500"));
    let stats = world.crm.system().stats().unwrap();
    assert_eq!(stats.schema_version, Some(SCHEMA_VERSION));
    assert!(stats.file_bytes > 0);
    let org = &stats.organizations[0];
    assert_eq!((org.customers, org.orders, org.users), (1, 1, 5));
    let pending = org
        .stages
        .iter()
        .find(|stage| stage.key == "pending")
        .unwrap();
    assert_eq!(pending.orders, 1);
    let orders = stats
        .tables
        .iter()
        .find(|table| table.name == "orders")
        .unwrap();
    assert_eq!(orders.entries, 1);
    serde_json::to_string(&stats).unwrap();
}

#[test]
fn a_backup_taken_while_writes_continue_is_complete_and_verifies() {
    let world = World::new();
    for index in 0..50 {
        let customer = world.customer(7_100_000_000 + index, "Early");
        world.order(&customer, "Early order", Some("100"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (crm, org, stop) = (world.crm.clone(), world.org.id, stop.clone());
        std::thread::spawn(move || {
            let mut written = 0;
            while !stop.load(Ordering::Relaxed) {
                let customer = crm
                    .system()
                    .upsert_telegram_customer(org, profile(7_200_000_000 + written, "Busy"))
                    .unwrap();
                crm.create_order(
                    &Actor::customer(org, customer.id),
                    NewOrder {
                        title: "Order during backup".into(),
                        description: "written while the backup runs".into(),
                        ..NewOrder::default()
                    },
                )
                .unwrap();
                written += 1;
            }
            written
        })
    };
    // Let the writer get going, so the snapshot is taken mid-stream.
    while world.crm.system().stats().unwrap().organizations[0].orders < 60 {
        std::thread::yield_now();
    }
    let out = world._dir.path().join("crm.backup");
    let report = world.crm.system().backup(&out).unwrap();
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert!(report.entries > 0 && report.file_bytes > 0, "{report:?}");
    assert_eq!(report.schema_version, SCHEMA_VERSION);

    let restored = world._dir.path().join("restored.redb");
    let restore = crm_lib::admin::restore(&out, &restored, false).unwrap();
    assert_eq!(restore.records + restore.index_entries, {
        let report = Crm::open(&restored).unwrap().system().verify().unwrap();
        report.records + report.index_entries
    });
    let copy = Crm::open(&restored).unwrap();
    let verify = copy.system().verify().unwrap();
    assert!(verify.is_clean(), "{:#?}", verify.problems);
    let copied = copy.system().stats().unwrap().organizations[0].orders;
    assert!(copied >= 60, "the backup holds {copied} orders");
    assert!(copied <= world.crm.system().stats().unwrap().organizations[0].orders);
    // The copy is consistent: every order's customer is in it.
    for order in copy.system().all_orders(world.org.id).unwrap() {
        copy.customer(&Actor::system(world.org.id), order.customer)
            .unwrap();
    }

    let again = world.crm.system().backup(&out).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
}

#[test]
fn restore_replaces_a_data_file_only_with_a_backup_that_verifies() {
    let world = World::new();
    let customer = world.customer(7_000_000_002, "Bob");
    world.order(&customer, "Parser", None);
    let backup = world._dir.path().join("backup.redb");
    world.crm.system().backup(&backup).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("crm.redb");
    let report = restore(&backup, &target, false).unwrap();
    assert!(!report.replaced);
    assert_eq!(report.schema_version, SCHEMA_VERSION);
    {
        let restored = Crm::open(&target).unwrap();
        assert_eq!(restored.system().all_orders(world.org.id).unwrap().len(), 1);
        assert!(restored.system().verify().unwrap().is_clean());
    }

    let refused = restore(&backup, &target, false).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict, "{refused}");

    // A truncated backup is refused and the target keeps its bytes.
    let bytes = std::fs::read(&backup).unwrap();
    let truncated = dir.path().join("truncated.redb");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let before = std::fs::read(&target).unwrap();
    let error = restore(&truncated, &target, true).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Storage, "{error}");
    assert!(error.to_string().contains("truncated.redb"), "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), before);

    // So is a file that is not a data file at all.
    let junk = dir.path().join("junk.redb");
    std::fs::write(&junk, b"not a database").unwrap();
    let error = restore(&junk, &target, true).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Storage, "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), before);

    // A target held open by a store is refused.
    let held = Crm::open(&target).unwrap();
    let busy = restore(&backup, &target, true).unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::Busy, "{busy}");
    drop(held);

    let report = restore(&backup, &target, true).unwrap();
    assert!(report.replaced);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn importing_the_sample_customers_and_orders_creates_every_row() {
    let (_dir, crm, org) = fresh("studio");
    let customers = import_customers(&crm, org.id, "customers.csv").unwrap();
    assert_eq!((customers.rows, customers.imported), (25, 25));
    let orders = import_orders(&crm, org.id, "orders.csv").unwrap();
    assert_eq!((orders.rows, orders.imported), (20, 20));

    let all = crm.system().all_customers(org.id).unwrap();
    let smith = all
        .iter()
        .find(|customer| customer.telegram_id == Some(TelegramUserId::new(7_101_000_004)))
        .unwrap();
    assert_eq!(smith.last_name.as_deref(), Some("Smith, Jr."));
    let bob = all
        .iter()
        .find(|customer| customer.telegram_id == Some(TelegramUserId::new(7_101_000_006)))
        .unwrap();
    assert_eq!(bob.first_name, "Robert \"Bob\"");

    let imported = crm.system().all_orders(org.id).unwrap();
    let stage = |key: &str| org.pipeline.stage_by_key(key).unwrap().id;
    let delivered = imported
        .iter()
        .filter(|order| order.stage == stage("delivered"));
    assert_eq!(delivered.count(), 4);
    let multiline = imported
        .iter()
        .find(|order| order.description.contains('\n'))
        .unwrap();
    assert!(multiline.description.contains("Excel"), "{multiline:?}");
    assert!(crm.system().verify().unwrap().is_clean());

    // Imports notify nobody.
    let outbox = crm.system().outbox_items(org.id).unwrap();
    assert!(outbox.is_empty(), "{outbox:?}");

    // A second import of the same customers names the first duplicate and writes nothing.
    let error = import_customers(&crm, org.id, "customers.csv").unwrap_err();
    assert_eq!(
        (error.line, error.field.as_str()),
        (2, "telegram_id"),
        "{error}"
    );
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(crm.system().all_customers(org.id).unwrap().len(), 25);
}

#[test]
fn a_bad_customer_row_fails_the_whole_import_naming_its_line_and_column() {
    let (_dir, crm, org) = fresh("studio");
    let error = import_customers(&crm, org.id, "customers-bad-row.csv").unwrap_err();
    assert_eq!(error.line, 7);
    assert_eq!(error.field, "email");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(
        error
            .to_string()
            .starts_with("customers-bad-row.csv:7: email: "),
        "{error}"
    );
    assert!(error.to_string().contains("missing '@'"), "{error}");
    assert!(crm.system().all_customers(org.id).unwrap().is_empty());
    assert_eq!(crm.system().stats().unwrap().organizations[0].customers, 0);
}

#[test]
fn a_bad_order_row_fails_the_whole_import_naming_its_line_and_column() {
    let (_dir, crm, org) = fresh("studio");
    import_customers(&crm, org.id, "customers.csv").unwrap();
    let error = import_orders(&crm, org.id, "orders-bad-row.csv").unwrap_err();
    assert_eq!((error.line, error.field.as_str()), (5, "budget"), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("orders-bad-row.csv:5: budget: "),
        "{error}"
    );
    assert!(error.to_string().contains("12,50abc"), "{error}");
    assert!(crm.system().all_orders(org.id).unwrap().is_empty());
}

#[test]
fn an_order_import_refuses_unknown_customers_stages_and_the_open_order_limit() {
    let (_dir, crm, org) = fresh("studio");
    import_customers(&crm, org.id, "customers.csv").unwrap();
    let import = |text: &str| {
        crm.import_orders(
            &Actor::system(org.id),
            text.as_bytes(),
            "inline.csv",
            &|_| {},
        )
    };
    let header = "customer_telegram_id,title,description,budget,deadline,stage\n";

    let unknown = import(&format!("{header}7999999999,Bot,A bot,,,\n")).unwrap_err();
    assert_eq!(
        (unknown.line, unknown.field.as_str()),
        (2, "customer_telegram_id")
    );

    let stage = import(&format!("{header}7101000001,Bot,A bot,,,shipped\n")).unwrap_err();
    assert_eq!((stage.line, stage.field.as_str()), (2, "stage"));
    assert!(stage.reason.contains("pending"), "{stage}");

    let assignee = import(&format!("{header}7101000001,Bot,A bot,,,in_progress\n")).unwrap_err();
    assert_eq!((assignee.line, assignee.field.as_str()), (2, "stage"));

    let rows = format!(
        "{header}7101000001,One,first,,,\n\n7101000001,Two,second,,,approved\n7101000001,Three,third,,,\n"
    );
    let limit = import(&rows).unwrap_err();
    assert_eq!(
        (limit.line, limit.field.as_str()),
        (5, "customer_telegram_id"),
        "{limit}"
    );

    // Physical lines: CRLF endings, a quoted line break and a blank line all count.
    let crlf = "customer_telegram_id,title,description\r\n7101000001,A,\"multi\nline\"\r\n\r\n7101000002,,desc\r\n";
    let title = import(crlf).unwrap_err();
    assert_eq!((title.line, title.field.as_str()), (5, "title"), "{title}");

    let short = import(&format!("{header}7101000001,Bot\n")).unwrap_err();
    assert_eq!((short.line, short.field.as_str()), (2, "row"), "{short}");

    let missing = crm
        .import_orders(
            &Actor::system(org.id),
            "title,description\nA,B\n".as_bytes(),
            "x.csv",
            &|_| {},
        )
        .unwrap_err();
    assert_eq!(
        (missing.line, missing.field.as_str()),
        (1, "header"),
        "{missing}"
    );
    assert!(crm.system().all_orders(org.id).unwrap().is_empty());
}

#[test]
fn staff_without_the_permission_cannot_import() {
    let world = World::new();
    let file = std::fs::File::open(fixture("customers.csv")).unwrap();
    let error = world
        .crm
        .import_customers(&world.master, file, "customers.csv", &|_| {})
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    assert_eq!(error.line, 0);
}

#[test]
fn exported_customers_import_back_into_another_store_unchanged() {
    let (_dir, crm, org) = fresh("studio");
    import_customers(&crm, org.id, "customers.csv").unwrap();
    let mut csv = Vec::new();
    assert_eq!(
        crm.export_customers(&Actor::system(org.id), ExportFormat::Csv, &mut csv)
            .unwrap(),
        25
    );

    let (_other_dir, other, other_org) = fresh("studio");
    let report = other
        .import_customers(
            &Actor::system(other_org.id),
            csv.as_slice(),
            "export.csv",
            &|_| {},
        )
        .unwrap();
    assert_eq!(report.imported, 25);
    let fields = |customer: &Customer| {
        (
            customer.telegram_id,
            customer.username.clone(),
            customer.first_name.clone(),
            customer.last_name.clone(),
            customer.phone.clone(),
            customer.email.clone(),
            customer.language,
        )
    };
    let before: Vec<_> = crm
        .system()
        .all_customers(org.id)
        .unwrap()
        .iter()
        .map(fields)
        .collect();
    let after: Vec<_> = other
        .system()
        .all_customers(other_org.id)
        .unwrap()
        .iter()
        .map(fields)
        .collect();
    assert_eq!(before, after);
}

#[test]
fn orders_and_the_audit_log_export_as_csv_and_json() {
    let (_dir, crm, org) = fresh("studio");
    crm.system().load_demo(org.id).unwrap();

    let mut json = Vec::new();
    assert_eq!(
        crm.export_orders(&Actor::system(org.id), ExportFormat::Json, &mut json)
            .unwrap(),
        200
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
    assert_eq!(rows.len(), 200);
    let first = &rows[0];
    assert_eq!(first["number"], "#1");
    assert_eq!(first["stage"], "delivered");
    assert_eq!(first["assignee"], "boris");
    assert_eq!(first["price"], "360.00");
    assert_eq!(
        first["markers"],
        serde_json::json!(["Go", "Telegram API", "Docker"])
    );

    let mut csv = Vec::new();
    crm.export_orders(&Actor::system(org.id), ExportFormat::Csv, &mut csv)
        .unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("id,number,customer_id,customer_telegram_id,customer_name,title,"));

    let mut audit = Vec::new();
    let entries = crm
        .export_audit(&Actor::system(org.id), ExportFormat::Json, &mut audit)
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&audit).unwrap();
    assert_eq!(rows.len() as u64, entries);
    assert!(rows.iter().any(|row| row["action"] == "demo.loaded"));

    let mut empty = Vec::new();
    let (_other_dir, other, other_org) = fresh("studio");
    other
        .export_orders(&Actor::system(other_org.id), ExportFormat::Json, &mut empty)
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Vec<serde_json::Value>>(&empty).unwrap(),
        Vec::<serde_json::Value>::new()
    );
}

/// The rows of a CSV export as maps from column to cell.
fn csv_rows(bytes: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .map(str::to_string)
                .zip(record.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

#[test]
fn every_csv_export_quotes_the_cells_a_spreadsheet_would_run() {
    let world = World::new();
    let formula = "=HYPERLINK(\"https://evil.example\",\"x\")";
    let customer = world.customer(7301, formula);
    let order = world.order(&customer, "+1 cake, -2 pies", Some("100"));
    world.crm.approve_order(&world.manager, order.id).unwrap();
    let export = |run: &dyn Fn(&mut Vec<u8>) -> Result<u64>| {
        let mut out = Vec::new();
        run(&mut out).unwrap();
        out
    };

    let customers = csv_rows(&export(&|out| {
        world
            .crm
            .export_customers(&Actor::system(world.org.id), ExportFormat::Csv, out)
    }));
    assert_eq!(customers[0]["first_name"], format!("'{formula}"));
    let orders = csv_rows(&export(&|out| {
        world
            .crm
            .export_orders(&Actor::system(world.org.id), ExportFormat::Csv, out)
    }));
    assert_eq!(orders[0]["title"], "'+1 cake, -2 pies");
    assert_eq!(orders[0]["customer_name"], format!("'{formula}"));
    assert_eq!(orders[0]["number"], "#1", "other cells stay as they are");
    let list = csv_rows(&export(&|out| {
        world.crm.export_order_list(
            &world.manager,
            &OrderFilter::default(),
            ExportFormat::Csv,
            out,
        )
    }));
    assert_eq!(list[0]["title"], "'+1 cake, -2 pies");
    assert_eq!(list[0]["customer_name"], format!("'{formula}"));
    let audit = csv_rows(&export(&|out| {
        world
            .crm
            .export_audit(&Actor::system(world.org.id), ExportFormat::Csv, out)
    }));
    assert!(
        audit.iter().all(|row| row
            .values()
            .all(|cell| !cell.starts_with(['=', '+', '-', '@']))),
        "{audit:?}"
    );

    // JSON is not opened by spreadsheets: the text stays as it is.
    let json: Vec<serde_json::Value> = serde_json::from_slice(&export(&|out| {
        world
            .crm
            .export_orders(&Actor::system(world.org.id), ExportFormat::Json, out)
    }))
    .unwrap();
    assert_eq!(json[0]["title"], "+1 cake, -2 pies");
}

#[test]
fn the_order_list_export_holds_the_orders_the_actor_sees_with_the_filter() {
    let world = World::new();
    world.lift_order_limit();
    let alice = world.customer(7401, "Alice");
    let waiting = world.order(&alice, "In moderation", None);
    let approved = world.order(&alice, "Approved", None);
    world
        .crm
        .approve_order(&world.manager, approved.id)
        .unwrap();
    let export = |actor: &Actor, filter: &OrderFilter| {
        let mut out = Vec::new();
        let count = world
            .crm
            .export_order_list(actor, filter, ExportFormat::Csv, &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(&ORDER_LIST_EXPORT_COLUMNS.join(",")),
            "{text}"
        );
        let ids: Vec<String> = csv_rows(text.as_bytes())
            .into_iter()
            .map(|row| row["id"].clone())
            .collect();
        assert_eq!(ids.len() as u64, count);
        ids
    };
    let everything = OrderFilter::default();
    assert_eq!(
        export(&world.manager, &everything),
        vec![approved.id.to_string(), waiting.id.to_string()],
        "newest first, like the list"
    );
    assert_eq!(
        export(&world.worker, &everything),
        vec![approved.id.to_string()],
        "a worker does not see orders in moderation"
    );
    let approved_stage = world.crm.order(&world.manager, approved.id).unwrap().stage;
    let only_approved = OrderFilter {
        stage: Some(approved_stage),
        ..OrderFilter::default()
    };
    assert_eq!(
        export(&world.manager, &only_approved),
        vec![approved.id.to_string()]
    );
    // A customer's export holds their own orders only.
    let bob = world.customer(7402, "Bob");
    world.order(&bob, "Bob's", None);
    assert_eq!(
        export(&alice, &everything),
        vec![approved.id.to_string(), waiting.id.to_string()]
    );
    assert_eq!(export(&bob, &everything).len(), 1);
}

#[test]
fn a_schema_1_backup_restores_and_verifies_after_its_migration() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/db/schema-v1.redb");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("crm.redb");
    let report = restore(&fixture, &target, false).unwrap();
    assert_eq!(report.schema_version, 1);
    let crm = Crm::open(&target).unwrap();
    assert_eq!(crm.migrated_from(), Some(1));
    let verify = crm.system().verify().unwrap();
    assert!(verify.is_clean(), "{:#?}", verify.problems);
}

#[test]
fn a_backup_into_a_missing_directory_is_not_found() {
    let world = World::new();
    let out = world._dir.path().join("no/such/dir/backup.redb");
    let error = world.crm.system().backup(&out).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
}

/// Verification covers every table, and is clean with no unchecked tables.
fn assert_fully_verified(crm: &Crm) -> VerifyReport {
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(
        report.unchecked_tables.is_empty(),
        "{:?}",
        report.unchecked_tables
    );
    report
}

#[test]
fn sessions_and_api_tokens_verify_while_they_live_and_after_they_end() {
    let world = World::new();
    let org = world.org.id;
    let origin = Origin {
        ip: Some("192.0.2.7".into()),
        user_agent: Some("test browser".into()),
    };
    let before = assert_fully_verified(&world.crm);

    let login = |username: &str| {
        world
            .crm
            .login(org, username, password().expose(), &origin)
            .unwrap()
    };
    let worker_first = login("worker");
    let worker_second = login("worker");
    let worker_third = login("worker");
    let manager_session = login("manager");
    let admin_session = login("admin");
    let worker = World::user_id(&world.worker);
    let manager = World::user_id(&world.manager);
    let own = world
        .crm
        .create_api_token(&world.worker, worker, "ci")
        .unwrap();
    let by_admin = world
        .crm
        .create_api_token(&world.admin, worker, "for worker")
        .unwrap();
    let by_system = world
        .crm
        .create_api_token(&world.system, manager, "cli")
        .unwrap();

    let live = assert_fully_verified(&world.crm);
    // 5 sessions and 3 tokens decoded; 5 by-user entries and 3 by-org entries checked.
    assert!(live.records >= before.records + 8, "{before:?} {live:?}");
    assert!(
        live.index_entries >= before.index_entries + 8,
        "{before:?} {live:?}"
    );

    // A backup of a store with sessions and tokens verifies too.
    let out = world._dir.path().join("with-sessions.backup");
    world.crm.system().backup(&out).unwrap();
    let restored = world._dir.path().join("with-sessions.redb");
    crm_lib::admin::restore(&out, &restored, false).unwrap();
    let copy = Crm::open(&restored).unwrap();
    assert_fully_verified(&copy);
    drop(copy);

    // Logout, revoke, a password change (ends the other sessions), revoking tokens, disabling
    // a user (ends all their sessions) and the purge leave every index consistent.
    world.crm.end_session(worker_first.hash, &origin).unwrap();
    world
        .crm
        .revoke_session(&world.worker, worker_second.hash)
        .unwrap();
    assert_fully_verified(&world.crm);
    let new_password = Password::parse("another horse battery").unwrap();
    world
        .crm
        .change_own_password(
            &world.admin,
            admin_session.hash,
            password().expose(),
            &new_password,
        )
        .unwrap();
    world
        .crm
        .revoke_api_token(&world.worker, own.token.id)
        .unwrap();
    world
        .crm
        .revoke_api_token(&world.admin, by_system.token.id)
        .unwrap();
    assert_fully_verified(&world.crm);
    world.crm.disable_user(&world.admin, manager).unwrap();
    assert!(
        world
            .crm
            .session(manager_session.hash, i64::MAX, None)
            .is_err()
    );
    assert_fully_verified(&world.crm);
    assert_eq!(world.crm.system().purge_sessions(-1).unwrap(), 2);
    assert!(world.crm.own_sessions(&world.worker).unwrap().is_empty());
    assert!(
        world
            .crm
            .session(worker_third.hash, i64::MAX, None)
            .is_err()
    );
    assert_eq!(
        world.crm.api_tokens(&world.admin, None).unwrap(),
        vec![by_admin.token]
    );
    assert_fully_verified(&world.crm);
}
