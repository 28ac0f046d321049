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

#[test]
fn an_export_file_is_private_and_its_formula_cells_are_quoted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::initialised();
    let input = dir.path("formulas.csv");
    std::fs::write(
        &input,
        "telegram_id,first_name,last_name,phone\n\
         7103000001,\"=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\")\",@SUM(A1),+79161234567\n",
    )
    .unwrap();
    dir.crm(&["import", "customers", input.to_str().unwrap()])
        .ok();
    // An older export with loose permissions is replaced by a private one.
    let output = dir.path("customers.csv");
    std::fs::write(&output, "old").unwrap();
    std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o644)).unwrap();

    let run = dir.crm(&["export", "customers", "--output", output.to_str().unwrap()]);
    assert!(run.stderr.contains("exported 1 customers"), "{run:?}");
    run.ok();

    let mode = std::fs::metadata(&output).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let text = std::fs::read_to_string(&output).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| {
        row.get(headers.iter().position(|h| h == name).unwrap())
            .unwrap()
    };
    assert_eq!(
        cell("first_name"),
        "'=HYPERLINK(\"https://evil.example\",\"x\")"
    );
    assert_eq!(cell("last_name"), "'@SUM(A1)");
    assert_eq!(cell("phone"), "'+79161234567");
    assert_eq!(cell("telegram_id"), "7103000001");

    // The export imports back into a fresh store without the quotes.
    let other = TestDir::initialised();
    other
        .crm(&["import", "customers", output.to_str().unwrap()])
        .ok();
    let json = other.crm(&["export", "customers", "--format", "json"]).ok();
    let customers: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        customers[0]["first_name"],
        "=HYPERLINK(\"https://evil.example\",\"x\")"
    );
    assert_eq!(customers[0]["phone"], "+79161234567");
}

#[test]
fn the_demo_of_every_other_template_loads_after_its_init() {
    for (template, orders) in [("helpdesk", 100), ("service", 80), ("renovation", 60)] {
        let dir = TestDir::new();
        dir.crm(&["init", "--template", template, "--org-name", "Demo"])
            .ok();
        let out = dir.crm(&["demo"]).ok();
        assert!(
            out.contains(&format!("loaded {orders} orders")),
            "{template}: {out}"
        );
        let verify = dir.crm(&["verify"]).ok();
        assert!(
            verify.contains("no problems") || verify.contains("clean"),
            "{verify}"
        );
    }
}

#[test]
fn a_helpdesk_imports_tickets_with_a_column_per_field_and_a_bad_choice_exits_3() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "helpdesk", "--slug", "desk"])
        .ok();
    dir.crm(&["import", "customers", &fixture("customers.csv")])
        .ok();
    let bad = dir
        .crm(&["import", "orders", &fixture("tickets-bad-row.csv")])
        .fails_with(3);
    assert!(bad.contains("tickets-bad-row.csv:3: device:"), "{bad}");
    let out = dir.crm(&["import", "orders", &fixture("tickets.csv")]).ok();
    assert!(out.contains("imported 4 orders"), "{out}");
    assert_eq!(dir.stats()["organizations"][0]["orders"], 4);
    dir.crm(&["verify"]).ok();
}
