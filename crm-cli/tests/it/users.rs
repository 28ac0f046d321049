//! Staff users and roles.

use crate::util::{TestDir, value_after};

fn users(dir: &TestDir) -> Vec<serde_json::Value> {
    serde_json::from_str(&dir.crm(&["user", "list", "--json"]).ok()).unwrap()
}

fn user<'a>(users: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    users
        .iter()
        .find(|user| user["username"] == name)
        .unwrap_or_else(|| panic!("no user {name} in {users:?}"))
}

#[test]
fn user_add_list_disable_and_enable() {
    let dir = TestDir::initialised();
    let out = dir
        .crm(&[
            "user",
            "add",
            "maria",
            "--role",
            "manager",
            "--display-name",
            "Maria K.",
        ])
        .ok();
    let password = value_after(&out, "password:");
    assert_eq!(password.len(), 20, "{out}");

    let list = users(&dir);
    let maria = user(&list, "maria");
    assert_eq!(maria["display_name"], "Maria K.");
    assert_eq!(maria["roles"], serde_json::json!(["manager"]));
    assert_eq!(maria["status"], "active");
    assert_eq!(maria["must_change_password"], true);
    assert!(!dir.crm(&["user", "list", "--json"]).ok().contains("argon2"));

    let text = dir.crm(&["user", "list"]).ok();
    assert!(text.lines().any(|line| line.starts_with("maria")), "{text}");

    dir.crm(&["user", "disable", "maria"]).ok();
    assert_eq!(user(&users(&dir), "maria")["status"], "disabled");
    assert!(
        dir.crm(&["user", "enable", "maria"])
            .ok()
            .contains("enabled maria")
    );
    assert_eq!(user(&users(&dir), "maria")["status"], "active");
    dir.crm(&["user", "disable", "maria"]).ok();

    let taken = dir
        .crm(&["user", "add", "maria", "--role", "worker"])
        .fails_with(5);
    assert!(taken.contains("taken"), "{taken}");
    let unknown = dir.crm(&["user", "disable", "nobody"]).fails_with(4);
    assert!(unknown.contains("nobody"), "{unknown}");
    let bad_role = dir
        .crm(&["user", "add", "pavel", "--role", "chef"])
        .fails_with(3);
    assert!(bad_role.contains("chef"), "{bad_role}");
}

#[test]
fn a_password_from_stdin_is_not_printed_and_need_not_be_changed() {
    let dir = TestDir::initialised();
    let out = dir
        .crm_with_stdin(
            &[
                "user",
                "add",
                "ivan",
                "--role",
                "worker",
                "--password-stdin",
            ],
            "correct horse battery\n",
        )
        .ok();
    assert!(!out.contains("password:"), "{out}");
    assert!(!out.contains("correct horse"), "{out}");
    assert_eq!(user(&users(&dir), "ivan")["must_change_password"], false);

    let short = dir
        .crm_with_stdin(&["user", "passwd", "ivan", "--password-stdin"], "short\n")
        .fails_with(3);
    assert!(short.contains("password"), "{short}");

    let out = dir.crm(&["user", "passwd", "ivan"]).ok();
    assert_eq!(value_after(&out, "password:").len(), 20, "{out}");
    assert_eq!(user(&users(&dir), "ivan")["must_change_password"], true);
}

#[test]
fn a_chosen_password_that_is_short_or_common_is_refused_by_add_and_passwd() {
    let dir = TestDir::initialised();
    for (password, reason) in [
        ("nine char\n", "at least 10 characters"),
        ("Password123\n", "most common passwords"),
    ] {
        let refused = dir
            .crm_with_stdin(
                &[
                    "user",
                    "add",
                    "ivan",
                    "--role",
                    "worker",
                    "--password-stdin",
                ],
                password,
            )
            .fails_with(3);
        assert!(refused.contains(reason), "{refused}");
    }
    assert!(users(&dir).iter().all(|user| user["username"] != "ivan"));

    dir.crm(&["user", "add", "ivan", "--role", "worker"]).ok();
    let audit = || dir.crm(&["export", "audit", "--format", "json"]).ok();
    let before = audit();
    let common = dir
        .crm_with_stdin(
            &["user", "passwd", "ivan", "--password-stdin"],
            "QWERTYUIOP\n",
        )
        .fails_with(3);
    assert!(common.contains("most common passwords"), "{common}");
    assert_eq!(audit(), before, "a refused password changes nothing");
}

#[test]
fn grant_replaces_a_user_s_roles() {
    let dir = TestDir::initialised();
    dir.crm(&["user", "add", "olga", "--role", "worker"]).ok();
    dir.crm(&[
        "user", "grant", "olga", "--role", "manager", "--role", "master",
    ])
    .ok();
    assert_eq!(
        user(&users(&dir), "olga")["roles"],
        serde_json::json!(["manager", "master"])
    );
}

#[test]
fn role_list_shows_the_built_in_roles_and_their_permissions() {
    let dir = TestDir::initialised();
    let roles: Vec<serde_json::Value> =
        serde_json::from_str(&dir.crm(&["role", "list", "--json"]).ok()).unwrap();
    let names: Vec<&str> = roles
        .iter()
        .map(|role| role["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["administrator", "manager", "worker", "master"]);
    assert!(
        roles[2]["permissions"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("respond_orders"))
    );
    let text = dir.crm(&["role", "list"]).ok();
    assert!(text.contains("moderate_orders"), "{text}");
}

#[test]
fn skills_are_given_by_marker_name_on_add_and_replaced_with_user_markers() {
    let dir = TestDir::initialised();
    let out = dir
        .crm(&[
            "user",
            "add",
            "ivan",
            "--role",
            "worker",
            "--markers",
            "python, REACT",
        ])
        .ok();
    assert!(out.contains("skills: Python, React"), "{out}");
    assert_eq!(
        user(&users(&dir), "ivan")["markers"],
        serde_json::json!(["Python", "React"])
    );

    let out = dir.crm(&["user", "markers", "ivan", "Vue,PostgreSQL"]).ok();
    assert!(out.contains("ivan now has skills Vue, PostgreSQL"), "{out}");
    let text = dir.crm(&["user", "list"]).ok();
    let row = text.lines().find(|line| line.starts_with("ivan")).unwrap();
    assert!(row.ends_with("Vue,PostgreSQL"), "{text}");

    // An unknown name is refused with the known ones listed, and nothing changes; an unknown
    // name on add creates nobody.
    let refused = dir
        .crm(&["user", "markers", "ivan", "Vue,Rust"])
        .fails_with(3);
    assert!(refused.contains("\"Rust\""), "{refused}");
    assert!(
        refused.contains("MongoDB"),
        "the markers are named: {refused}"
    );
    assert_eq!(
        user(&users(&dir), "ivan")["markers"],
        serde_json::json!(["Vue", "PostgreSQL"])
    );
    let refused = dir
        .crm(&[
            "user",
            "add",
            "olga",
            "--role",
            "worker",
            "--markers",
            "Cobol",
        ])
        .fails_with(3);
    assert!(refused.contains("Cobol"), "{refused}");
    assert!(users(&dir).iter().all(|user| user["username"] != "olga"));
    dir.crm(&["user", "markers", "nobody", "Vue"]).fails_with(4);

    let out = dir.crm(&["user", "markers", "ivan", ""]).ok();
    assert!(out.contains("ivan now has no skills"), "{out}");
    assert_eq!(user(&users(&dir), "ivan")["markers"], serde_json::json!([]));
}

#[test]
fn a_phone_is_set_cleaned_listed_refused_when_taken_and_removed() {
    let dir = TestDir::initialised();
    dir.crm(&["user", "add", "ivan", "--role", "worker"]).ok();
    dir.crm(&["user", "add", "olga", "--role", "worker"]).ok();
    let out = dir
        .crm(&["user", "phone", "ivan", "+7 (999) 123-45-67"])
        .ok();
    assert!(out.contains("ivan now has phone +79991234567"), "{out}");
    assert_eq!(
        user(&users(&dir), "ivan")["phone"],
        serde_json::json!("+79991234567")
    );
    let text = dir.crm(&["user", "list"]).ok();
    let row = text.lines().find(|line| line.starts_with("ivan")).unwrap();
    assert!(row.contains("+79991234567"), "{text}");
    // Another user's phone is a conflict, and nothing changes.
    let refused = dir
        .crm(&["user", "phone", "olga", "79991234567"])
        .fails_with(5);
    assert!(refused.contains("phone"), "{refused}");
    assert_eq!(user(&users(&dir), "olga")["phone"], serde_json::Value::Null);
    // Not a phone: invalid input.
    let refused = dir.crm(&["user", "phone", "olga", "call me"]).fails_with(3);
    assert!(refused.contains("phone"), "{refused}");
    let out = dir.crm(&["user", "phone", "ivan", ""]).ok();
    assert!(out.contains("ivan now has no phone"), "{out}");
    assert_eq!(user(&users(&dir), "ivan")["phone"], serde_json::Value::Null);
}
