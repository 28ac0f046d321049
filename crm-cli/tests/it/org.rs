//! `crm org ...` on the data file (issue 14): create with an owner, list, rename, disable,
//! enable, set and remove a bot token (from a file or stdin, never printed), and `--org` on
//! the other commands. The same commands through a running appliance's admin channel are the
//! appliance's `it::tenants`.

use crate::util::{TestDir, value_after};

const TOKEN: &str = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";

fn list(dir: &TestDir) -> Vec<serde_json::Value> {
    serde_json::from_str(&dir.crm(&["org", "list", "--json"]).ok()).unwrap()
}

#[test]
fn an_organization_is_created_with_its_owner_listed_renamed_disabled_and_enabled() {
    let dir = TestDir::initialised();
    let out = dir
        .crm(&[
            "org",
            "create",
            "--template",
            "service",
            "--name",
            "Beta Repairs",
            "--owner",
            "boss",
        ])
        .ok();
    assert!(out.contains("slug beta-repairs"), "{out}");
    assert_eq!(value_after(&out, "owner:"), "boss");
    assert_eq!(value_after(&out, "password:").len(), 20, "{out}");

    let orgs = list(&dir);
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[0]["slug"], "acme-studio");
    assert_eq!(
        orgs[0]["owner"], "admin",
        "crm init's administrator owns the first"
    );
    assert_eq!(orgs[1]["slug"], "beta-repairs");
    assert_eq!(orgs[1]["template"], "service");
    assert_eq!(orgs[1]["owner"], "boss");
    assert_eq!(orgs[1]["staff"], 1);
    assert_eq!(orgs[1]["bot"], "emulated");
    assert_eq!(orgs[1]["enabled"], true);
    let table = dir.crm(&["org", "list"]).ok();
    assert!(table.starts_with("SLUG"), "{table}");
    assert!(
        table
            .lines()
            .any(|line| line.starts_with("beta-repairs") && line.contains("boss")),
        "{table}"
    );

    let renamed = dir
        .crm(&["org", "rename", "beta-repairs", "Beta Repairs Ltd"])
        .ok();
    assert!(renamed.contains("\"Beta Repairs Ltd\""), "{renamed}");
    assert_eq!(list(&dir)[1]["name"], "Beta Repairs Ltd");

    let disabled = dir.crm(&["org", "disable", "beta-repairs"]).ok();
    assert!(disabled.contains("disabled"), "{disabled}");
    assert_eq!(list(&dir)[1]["enabled"], false);
    assert_eq!(list(&dir)[1]["bot"], "disabled");
    let again = dir.crm(&["org", "disable", "beta-repairs"]).fails_with(5);
    assert!(again.contains("already"), "{again}");
    dir.crm(&["org", "enable", "beta-repairs"]).ok();
    assert_eq!(list(&dir)[1]["enabled"], true);

    // Refusals: a taken slug, an unknown one, a bad template, a bad owner name.
    let taken = dir
        .crm(&[
            "org",
            "create",
            "--template",
            "studio",
            "--name",
            "Other",
            "--slug",
            "beta-repairs",
        ])
        .fails_with(5);
    assert!(taken.contains("beta-repairs"), "{taken}");
    dir.crm(&["org", "disable", "nowhere"]).fails_with(4);
    dir.crm(&[
        "org",
        "create",
        "--template",
        "studio",
        "--name",
        "Gamma",
        "--owner",
        "!",
    ])
    .fails_with(3);
    let usage = dir.crm(&["org", "create", "--template", "bakery", "--name", "X"]);
    assert_eq!(usage.code, 2, "{usage:?}");
    assert_eq!(list(&dir).len(), 2, "refusals create nothing");
    dir.crm(&["verify"]).ok();
}

#[test]
fn a_bot_token_is_read_from_a_file_or_stdin_never_printed_and_belongs_to_one_organization() {
    let dir = TestDir::initialised();
    dir.crm(&[
        "org",
        "create",
        "--template",
        "studio",
        "--name",
        "Beta",
        "--slug",
        "beta",
    ])
    .ok();
    std::fs::write(dir.path("token"), format!("{TOKEN}\n")).unwrap();
    let set = dir
        .crm(&["org", "set-token", "beta", "--token-file", "token"])
        .ok();
    assert!(set.contains("bot token of organization beta set"), "{set}");
    assert!(!set.contains(TOKEN));
    assert_eq!(list(&dir)[1]["bot"], "token");
    let listed = dir.crm(&["org", "list", "--json"]).ok();
    assert!(!listed.contains("AAHdq"), "{listed}");

    // Another organization may not take it.
    let taken = dir
        .crm_with_stdin(&["org", "set-token", "acme-studio"], &format!("{TOKEN}\n"))
        .fails_with(5);
    assert!(taken.contains("another organization"), "{taken}");
    assert!(!taken.contains(TOKEN), "{taken}");
    let malformed = dir
        .crm_with_stdin(&["org", "set-token", "acme-studio"], "12345:nope\n")
        .fails_with(3);
    assert!(!malformed.contains("12345:nope"), "{malformed}");
    dir.crm_with_stdin(&["org", "set-token", "acme-studio"], "\n")
        .fails_with(3);
    dir.crm(&["org", "set-token", "beta", "--token-file", "missing"])
        .fails_with(1);

    let removed = dir.crm(&["org", "set-token", "beta", "--remove"]).ok();
    assert!(removed.contains("removed"), "{removed}");
    assert_eq!(list(&dir)[1]["bot"], "emulated");
    // Now the first organization may take it, from stdin.
    dir.crm_with_stdin(&["org", "set-token", "acme-studio"], &format!("{TOKEN}\n"))
        .ok();
    assert_eq!(list(&dir)[0]["bot"], "token");
}

#[test]
fn other_commands_act_on_the_organization_org_names_and_the_first_by_default() {
    let dir = TestDir::initialised();
    dir.crm(&[
        "org",
        "create",
        "--template",
        "studio",
        "--name",
        "Beta",
        "--slug",
        "beta",
        "--owner",
        "owner",
    ])
    .ok();
    dir.crm(&["--org", "beta", "user", "add", "betty", "--role", "worker"])
        .ok();
    let beta: Vec<serde_json::Value> =
        serde_json::from_str(&dir.crm(&["--org", "beta", "user", "list", "--json"]).ok()).unwrap();
    let names: Vec<&str> = beta
        .iter()
        .map(|user| user["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["owner", "betty"]);
    let first = dir.crm(&["user", "list"]).ok();
    assert!(!first.contains("betty"), "{first}");
    assert!(first.contains("admin"), "{first}");
    // The same username in each organization.
    dir.crm(&["user", "add", "betty", "--role", "manager"]).ok();
    let unknown = dir.crm(&["--org", "nowhere", "user", "list"]).fails_with(4);
    assert!(unknown.contains("nowhere"), "{unknown}");
}
