//! `crm token create|list|revoke`: API tokens from the command line (offline here; the
//! appliance's tests run the same commands over its admin channel).

use crate::util::{TestDir, value_after};

#[test]
fn a_token_is_shown_once_listed_by_name_and_revoked() {
    let dir = TestDir::initialised();
    let created = dir
        .crm(&["token", "create", "--user", "admin", "--name", "reports"])
        .ok();
    assert!(
        created.starts_with("created api token 1 \"reports\" for user admin\n"),
        "{created}"
    );
    let token = value_after(&created, "token: ");
    assert!(token.starts_with("crm_") && token.len() == 47, "{token}");

    let listed = dir.crm(&["token", "list"]).ok();
    assert!(
        listed.starts_with("ID  USER   NAME     CREATED\n1   admin  reports  "),
        "{listed}"
    );
    assert!(
        !listed.contains(&token),
        "the token's text is never shown again"
    );
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["token", "list", "--json"]).ok()).unwrap();
    assert_eq!(json[0]["name"], "reports");

    assert_eq!(
        dir.crm(&["token", "revoke", "1"]).ok(),
        "revoked api token 1 \"reports\"\n"
    );
    assert_eq!(
        dir.crm(&["token", "list"]).ok(),
        "ID  USER  NAME  CREATED\n"
    );
    dir.crm(&["token", "revoke", "1"]).fails_with(4);
}

#[test]
fn a_token_for_an_unknown_or_disabled_user_is_refused() {
    let dir = TestDir::initialised();
    let unknown = dir
        .crm(&["token", "create", "--user", "nobody"])
        .fails_with(4);
    assert!(unknown.contains("nobody"), "{unknown}");
    dir.crm_with_stdin(
        &[
            "user",
            "add",
            "temp",
            "--role",
            "worker",
            "--password-stdin",
        ],
        "a long password\n",
    )
    .ok();
    dir.crm(&["user", "disable", "temp"]).ok();
    let disabled = dir
        .crm(&["token", "create", "--user", "temp"])
        .fails_with(5);
    assert!(disabled.contains("disabled"), "{disabled}");
}
