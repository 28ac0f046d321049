//! `crm customers merge`: two customers become one, a dry run changes nothing, and the file
//! verifies after the merge.

use crate::util::TestDir;

/// A data directory with two customers: 1 on Telegram, 2 known by phone only.
fn two_customers() -> TestDir {
    let dir = TestDir::initialised();
    let csv = dir.path("customers.csv");
    std::fs::write(
        &csv,
        "telegram_id,username,first_name,last_name,phone,email,language\n\
         7101000001,vera_t,Vera,,,,ru\n\
         ,,Vera,Petrova,+79160000002,vera@example.com,\n",
    )
    .unwrap();
    let out = dir
        .crm(&["import", "customers", csv.to_str().unwrap()])
        .ok();
    assert!(out.contains("imported 2 customers"), "{out}");
    dir
}

#[test]
fn customers_merge_moves_the_absorbed_customer_and_verify_exits_0() {
    let dir = two_customers();
    let dry = dir
        .crm(&["customers", "merge", "1", "2", "--dry-run", "--json"])
        .ok();
    let dry: serde_json::Value = serde_json::from_str(dry.trim()).unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["orders"], 0);
    assert!(
        dry["filled"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("phone=+79160000002")),
        "{dry}"
    );
    // The dry run changed nothing: the merge itself still finds customer 2.
    let done = dir.crm(&["customers", "merge", "1", "2"]).ok();
    assert!(
        done.starts_with("merged customer 2 (Vera Petrova) into customer 1 (Vera)"),
        "{done}"
    );
    assert!(
        done.contains("filled: last_name=Petrova, phone=+79160000002"),
        "{done}"
    );
    dir.crm(&["verify"]).ok();
    // Customer 2 is gone: a second merge is "not found" (exit 4), a self-merge invalid (3).
    dir.crm(&["customers", "merge", "1", "2"]).fails_with(4);
    dir.crm(&["customers", "merge", "1", "1"]).fails_with(3);
    dir.crm(&["verify"]).ok();
}
