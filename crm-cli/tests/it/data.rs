//! Demo data, CSV import and export.

use crate::util::{TestDir, fixture};

#[test]
fn demo_then_export_orders_gives_200_orders_as_csv_and_json() {
    let dir = TestDir::initialised();
    let out = dir.crm(&["demo"]).ok();
    assert!(out.contains("loaded 200 orders"), "{out}");
    assert!(out.contains("passwords are shown once"), "{out}");
    for username in ["anna", "boris", "victor"] {
        let line = out
            .lines()
            .find(|line| line.starts_with(username))
            .unwrap_or_else(|| panic!("no login line for {username}: {out}"));
        let password = line.split_whitespace().last().unwrap();
        assert_eq!(password.len(), 20, "{line}");
    }

    let csv_text = dir.crm(&["export", "orders"]).ok();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    assert!(headers.iter().any(|header| header == "assignee"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 200);

    let json_file = dir.path("orders.json");
    let written = dir.crm(&[
        "export",
        "orders",
        "--format",
        "json",
        "--output",
        &json_file.display().to_string(),
    ]);
    assert!(
        written.stderr.contains("exported 200 orders"),
        "{written:?}"
    );
    written.ok();
    let orders: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&json_file).unwrap()).unwrap();
    assert_eq!(orders.len(), 200);
    assert!(orders.iter().all(|order| order["stage"].is_string()));

    let again = dir.crm(&["demo"]).fails_with(5);
    assert!(again.contains("already has orders"), "{again}");
    dir.crm(&["verify"]).ok();
}

#[test]
fn customers_and_the_audit_log_export_too() {
    let dir = TestDir::initialised();
    dir.crm(&["import", "customers", &fixture("customers.csv")])
        .ok();
    let customers = dir.crm(&["export", "customers"]).ok();
    assert_eq!(
        csv::Reader::from_reader(customers.as_bytes())
            .records()
            .count(),
        25
    );
    let audit = dir.crm(&["export", "audit", "--format", "json"]).ok();
    let entries: Vec<serde_json::Value> = serde_json::from_str(&audit).unwrap();
    assert!(
        entries
            .iter()
            .any(|entry| entry["action"] == "customer.created")
    );
    assert!(
        entries
            .iter()
            .any(|entry| entry["action"] == "organization.created")
    );
}

#[test]
fn the_sample_customers_then_orders_import() {
    let dir = TestDir::initialised();
    let out = dir
        .crm(&["import", "customers", &fixture("customers.csv")])
        .ok();
    assert!(out.contains("imported 25 customers"), "{out}");
    let out = dir.crm(&["import", "orders", &fixture("orders.csv")]).ok();
    assert!(out.contains("imported 20 orders"), "{out}");
    let stats = dir.stats();
    assert_eq!(stats["organizations"][0]["customers"], 25);
    assert_eq!(stats["organizations"][0]["orders"], 20);
    dir.crm(&["verify"]).ok();
}

#[test]
fn a_bad_customer_row_exits_3_naming_the_line_and_column_and_changes_nothing() {
    let dir = TestDir::initialised();
    let before = dir.stats()["organizations"][0]["customers"].clone();
    let error = dir
        .crm(&["import", "customers", &fixture("customers-bad-row.csv")])
        .fails_with(3);
    assert!(error.contains("customers-bad-row.csv:7: email"), "{error}");
    assert!(error.contains("tom.baker.example.com"), "{error}");
    assert_eq!(dir.stats()["organizations"][0]["customers"], before);
}

#[test]
fn a_bad_order_row_exits_3_naming_the_line_and_column_and_changes_nothing() {
    let dir = TestDir::initialised();
    dir.crm(&["import", "customers", &fixture("customers.csv")])
        .ok();
    let error = dir
        .crm(&["import", "orders", &fixture("orders-bad-row.csv")])
        .fails_with(3);
    assert!(error.contains("orders-bad-row.csv:5: budget"), "{error}");
    assert_eq!(dir.stats()["organizations"][0]["orders"], 0);
}

#[test]
fn importing_a_missing_file_fails_naming_it() {
    let dir = TestDir::initialised();
    let error = dir
        .crm(&["import", "customers", "nowhere.csv"])
        .fails_with(1);
    assert!(error.contains("nowhere.csv"), "{error}");
}
