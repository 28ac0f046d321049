//! `crm calls show|secret|map|unmap|list`: the PBX settings from the command line, the secret
//! read from stdin and never printed back.

use crate::util::TestDir;

#[test]
fn the_secret_is_read_from_stdin_never_shown_and_extensions_map_to_users() {
    // The helpdesk template switches the tickets module (calls) on; the studio's answers 4.
    let studio = TestDir::initialised();
    let off = studio.crm(&["calls", "show"]).fails_with(4);
    assert!(off.contains("tickets"), "{off}");
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "helpdesk", "--org-name", "Desk"])
        .ok();
    let shown = dir.crm(&["calls", "show"]).ok();
    assert!(shown.contains("not set"), "{shown}");
    let set = dir
        .crm_with_stdin(&["calls", "secret"], "zadarma-secret-1234\n")
        .ok();
    assert_eq!(set, "zadarma api secret set\n");
    let shown = dir.crm(&["calls", "show"]).ok();
    assert!(shown.contains("set (…1234)"), "{shown}");
    assert!(!shown.contains("zadarma-secret-1234"), "{shown}");
    let short = dir
        .crm_with_stdin(&["calls", "secret"], "short\n")
        .fails_with(3);
    assert!(short.contains("secret"), "{short}");

    assert_eq!(
        dir.crm(&["calls", "map", "100", "admin"]).ok(),
        "extension 100 -> admin\n"
    );
    let shown = dir.crm(&["calls", "show"]).ok();
    assert!(shown.contains("100        Administrator"), "{shown}");
    dir.crm(&["calls", "map", "1x", "admin"]).fails_with(3);
    dir.crm(&["calls", "map", "101", "nobody"]).fails_with(4);
    assert_eq!(
        dir.crm(&["calls", "unmap", "100"]).ok(),
        "extension 100 unmapped\n"
    );
    assert_eq!(
        dir.crm(&["calls", "list"]).ok(),
        "ID  STARTED  DIRECTION  PHONE  CUSTOMER  DISPOSITION\n"
    );
}
