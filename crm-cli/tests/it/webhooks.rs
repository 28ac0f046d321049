//! `crm webhook list|add|remove`: webhook endpoints from the command line, with crm-lib's
//! checks (a bad URL or an unknown event type is refused and changes nothing).

use crate::util::TestDir;

#[test]
fn webhook_endpoints_are_added_listed_and_removed() {
    let dir = TestDir::initialised();
    let added = dir
        .crm(&[
            "webhook",
            "add",
            "https://erp.example/hooks",
            "--event",
            "order.created",
            "--event",
            "order.deleted",
            "--description",
            "ERP",
        ])
        .ok();
    assert!(
        added.starts_with("added webhook endpoint 1 (https://erp.example/hooks)\n"),
        "{added}"
    );
    assert!(
        added.contains("signing secret: whsec_"),
        "the secret is shown once"
    );
    // A relative URL and an unknown event are refused with the input exit code.
    let refused = dir
        .crm(&[
            "webhook",
            "add",
            "erp.example/hooks",
            "--event",
            "order.created",
        ])
        .fails_with(3);
    assert!(refused.contains("url"), "{refused}");
    let refused = dir
        .crm(&[
            "webhook",
            "add",
            "https://erp.example/",
            "--event",
            "order.eaten",
        ])
        .fails_with(3);
    assert!(refused.contains("order.eaten"), "{refused}");

    let listed = dir.crm(&["webhook", "list"]).ok();
    assert!(listed.starts_with("ID"), "{listed}");
    assert!(
        !listed.contains("whsec_"),
        "the table shows no secret: {listed}"
    );
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{listed}");
    let row: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(
        row,
        [
            "1",
            "https://erp.example/hooks",
            "order.created,order.deleted",
            "yes"
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["webhook", "list", "--json"]).ok()).unwrap();
    assert_eq!(json[0]["description"], "ERP");
    assert!(json[0]["secret"].as_str().unwrap().starts_with("whsec_"));

    assert_eq!(
        dir.crm(&["webhook", "remove", "1"]).ok(),
        "removed webhook endpoint 1\n"
    );
    dir.crm(&["webhook", "remove", "1"]).fails_with(4);
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["webhook", "list", "--json"]).ok()).unwrap();
    assert_eq!(json, serde_json::json!([]));
}
