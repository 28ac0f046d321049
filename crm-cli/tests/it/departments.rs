//! `crm department list|create|rename|archive|add-member|remove-member`: the operators
//! module's departments from the command line, refused (not found) where the module is off.

use crate::util::TestDir;

#[test]
fn departments_are_created_renamed_staffed_and_archived_in_a_helpdesk() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "helpdesk", "--org-name", "Help"])
        .ok();
    assert_eq!(
        dir.crm(&["department", "create", "Support"]).ok(),
        "created department 1 \"Support\"\n"
    );
    let taken = dir.crm(&["department", "create", "support"]).fails_with(5);
    assert!(taken.contains("exists"), "{taken}");
    assert_eq!(
        dir.crm(&["department", "add-member", "Support", "admin"])
            .ok(),
        "admin is in department \"Support\"\n"
    );
    assert_eq!(
        dir.crm(&["department", "rename", "1", "Help desk"]).ok(),
        "department 1 is now \"Help desk\"\n"
    );
    let listed = dir.crm(&["department", "list"]).ok();
    assert!(listed.starts_with("ID  NAME"), "{listed}");
    assert!(listed.contains("Help desk  active  0"), "{listed}");
    assert!(listed.contains("Administrator"), "{listed}");
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["department", "list", "--json"]).ok()).unwrap();
    assert_eq!(json[0]["name"], "Help desk");
    assert_eq!(
        dir.crm(&["department", "remove-member", "help desk", "admin"])
            .ok(),
        "admin left department \"Help desk\"\n"
    );
    assert_eq!(
        dir.crm(&["department", "archive", "Help desk"]).ok(),
        "archived department 1 \"Help desk\"\n"
    );
    dir.crm(&["department", "archive", "Nowhere"]).fails_with(4);
}

#[test]
fn a_studio_has_no_departments() {
    let dir = TestDir::initialised();
    let refused = dir.crm(&["department", "list"]).fails_with(4);
    assert!(refused.contains("operators"), "{refused}");
}
