//! `crm canned list|set|remove`: canned responses from the command line, with crm-lib's
//! checks (an unknown variable is refused and changes nothing).

use crate::util::TestDir;

#[test]
fn canned_responses_are_set_listed_replaced_and_removed() {
    let dir = TestDir::initialised();
    assert_eq!(
        dir.crm(&[
            "canned",
            "set",
            "hello",
            "--title",
            "Greeting",
            "--text",
            "en=Hello {customer.first_name}!",
            "--text",
            "ru=Здравствуйте, {customer.first_name}!",
        ])
        .ok(),
        "saved canned response /hello (Greeting)\n"
    );
    // An unknown variable is refused, naming it; nothing is saved.
    let refused = dir
        .crm(&[
            "canned",
            "set",
            "bye",
            "--title",
            "Bye",
            "--text",
            "en=Bye {customer.age}",
        ])
        .fails_with(3);
    assert!(refused.contains("{customer.age}"), "{refused}");
    let bad_pair = dir
        .crm(&["canned", "set", "bye", "--title", "Bye", "--text", "Bye"])
        .fails_with(3);
    assert!(bad_pair.contains("LANG=TEXT"), "{bad_pair}");
    let listed = dir.crm(&["canned", "list"]).ok();
    assert!(listed.starts_with("CODE"), "{listed}");
    let row: Vec<&str> = listed.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row, ["/hello", "Greeting", "en,ru", "0"], "{listed}");
    assert!(!listed.contains("/bye"), "{listed}");

    // The same code replaces the texts and title.
    dir.crm(&[
        "canned",
        "set",
        "hello",
        "--title",
        "Hi",
        "--text",
        "en=Hi {operator.name} here",
    ])
    .ok();
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["canned", "list", "--json"]).ok()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json[0]["title"], "Hi");
    assert_eq!(json[0]["texts"]["en"], "Hi {operator.name} here");
    assert!(json[0]["texts"].get("ru").is_none(), "{json}");

    assert_eq!(
        dir.crm(&["canned", "remove", "hello"]).ok(),
        "removed canned response /hello\n"
    );
    dir.crm(&["canned", "remove", "hello"]).fails_with(4);
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["canned", "list", "--json"]).ok()).unwrap();
    assert_eq!(json, serde_json::json!([]));
}
