//! `crm project`: the renovation demo's two projects listed and shown; a project made by hand
//! with its stages, a stage added, progress set, a daily report with a photo and a voice note
//! and an expense with a proof read from files, a change request written and decided on the
//! client's behalf once (a second decision is a conflict, exit 5); bad input refused with
//! exit 3 and nothing written, an unknown project exit 4; `--json` for scripts; and verify
//! stays clean.

use crate::util::TestDir;

#[test]
fn projects_are_listed_shown_made_reported_on_and_decided_from_the_command_line() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "renovation", "--slug", "remont"])
        .ok();
    let demo = dir.crm(&["demo"]).ok();
    assert!(demo.contains("projects: 2, daily reports: 10"), "{demo}");

    let list = dir.crm(&["project", "list"]).ok();
    assert_eq!(list.lines().count(), 3, "a header and two projects: {list}");
    assert!(list.contains("Balcony insulation"), "{list}");
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["project", "list", "--json"]).ok()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    let shown = dir.crm(&["project", "show", "1"]).ok();
    assert!(shown.starts_with("project 1: "), "{shown}");
    assert!(
        shown.contains("lead: order "),
        "made from a won lead: {shown}"
    );
    assert!(shown.contains("Сантехника"), "{shown}");
    assert!(
        shown.contains("pending"),
        "the pending change request: {shown}"
    );
    dir.crm(&["project", "show", "99"]).fails_with(4);

    // Made by hand for customer 22, refusals first: nothing is written.
    let refused = dir
        .crm(&["project", "create", "--client", "22", "--title", ""])
        .fails_with(3);
    assert!(refused.contains("title"), "{refused}");
    let refused = dir
        .crm(&[
            "project",
            "create",
            "--client",
            "22",
            "--title",
            "Bath",
            "--budget=-5",
        ])
        .fails_with(3);
    assert!(refused.contains("budget"), "{refused}");
    assert_eq!(dir.crm(&["project", "list"]).ok().lines().count(), 3);
    let made = dir
        .crm(&[
            "project",
            "create",
            "--client",
            "22",
            "--title",
            "Bathroom, 6 m²",
            "--budget",
            "3000",
            "--stage",
            "Tiles",
            "--stage",
            "Plumbing",
        ])
        .ok();
    assert!(made.starts_with("project 3 made for customer 22"), "{made}");
    let added = dir.crm(&["project", "stage", "3", "Paint"]).ok();
    assert!(added.contains("\"Paint\" added to project 3"), "{added}");
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["project", "show", "3", "--json"]).ok()).unwrap();
    let tiles = json["stages"][0]["id"].as_u64().unwrap().to_string();
    let progress = dir.crm(&["project", "progress", "3", &tiles, "60"]).ok();
    assert!(progress.contains("at 60%; project 3 at 20%"), "{progress}");
    let refused = dir
        .crm(&["project", "progress", "3", &tiles, "101"])
        .fails_with(3);
    assert!(refused.contains("progress"), "{refused}");

    // A report and an entry with files from the disk.
    std::fs::write(dir.path("tiles.jpg"), b"\xff\xd8\xff a photo").unwrap();
    std::fs::write(dir.path("note.ogg"), b"OggS a voice").unwrap();
    std::fs::write(dir.path("receipt.pdf"), b"%PDF-1.4 a receipt").unwrap();
    std::fs::write(dir.path("notes.txt"), b"not a photo").unwrap();
    let refused = dir
        .crm(&[
            "project",
            "report",
            "3",
            "--stage",
            &tiles,
            "--file",
            "notes.txt",
        ])
        .fails_with(3);
    assert!(refused.contains("media"), "{refused}");
    let report = dir
        .crm(&[
            "project",
            "report",
            "3",
            "--stage",
            &tiles,
            "--text",
            "Walls tiled",
            "--file",
            "tiles.jpg",
            "--voice",
            "note.ogg",
            "--as",
            "victor_fm",
        ])
        .fails_with(4);
    assert!(
        report.contains("project 3 not found"),
        "a worker not on it: {report}"
    );
    let report = dir
        .crm(&[
            "project",
            "report",
            "3",
            "--stage",
            &tiles,
            "--text",
            "Walls tiled",
            "--file",
            "tiles.jpg",
            "--voice",
            "note.ogg",
        ])
        .ok();
    assert!(report.contains("with 2 files"), "{report}");
    let entry = dir
        .crm(&[
            "project",
            "entry",
            "3",
            "--kind",
            "expense",
            "--amount",
            "450.50",
            "--category",
            "materials",
            "--stage",
            &tiles,
            "--proof",
            "receipt.pdf",
        ])
        .ok();
    assert!(entry.contains("spent 450.50, received 0.00"), "{entry}");
    dir.crm(&[
        "project",
        "entry",
        "3",
        "--kind",
        "expense",
        "--amount",
        "1",
        "--category",
        "snacks",
    ])
    .fails_with(3);

    // A change request that takes off the budget, decided once on the client's behalf.
    let written = dir
        .crm(&[
            "project",
            "change-request",
            "3",
            "--title",
            "Cheaper tiles",
            "--amount",
            "-500",
        ])
        .ok();
    // Numbered across the organization: the demo wrote two.
    assert!(
        written.starts_with("change request 3 (-500.00)"),
        "{written}"
    );
    let decided = dir
        .crm(&[
            "project",
            "change-request",
            "3",
            "--request",
            "3",
            "--decide",
            "approve",
        ])
        .ok();
    assert!(
        decided.contains("change request 3 approved; project 3's budget is 2500.00"),
        "{decided}"
    );
    dir.crm(&[
        "project",
        "change-request",
        "3",
        "--request",
        "3",
        "--decide",
        "reject",
    ])
    .fails_with(5);

    dir.crm(&["verify"]).ok();
}

#[test]
fn a_project_s_documents_are_added_listed_and_removed_from_the_command_line() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "renovation", "--slug", "remont"])
        .ok();
    dir.crm(&["demo"]).ok();
    let list = dir.crm(&["project", "document", "list", "1"]).ok();
    assert!(
        list.contains("dogovor-podryada.pdf"),
        "the demo's contract: {list}"
    );
    assert!(list.contains("smeta.csv"), "the demo's estimate: {list}");

    std::fs::write(dir.path("plan.pdf"), b"%PDF-1.4 plan").unwrap();
    std::fs::write(dir.path("photos.zip"), b"PK\x03\x04").unwrap();
    let refused = dir
        .crm(&[
            "project",
            "document",
            "add",
            "1",
            "--title",
            "Photos",
            "--file",
            "photos.zip",
        ])
        .fails_with(3);
    assert!(refused.contains("file"), "{refused}");
    let added = dir
        .crm(&[
            "project", "document", "add", "1", "--title", "Plan", "--file", "plan.pdf",
        ])
        .ok();
    assert!(
        added.contains("(pdf, 13 bytes) added to project 1"),
        "{added}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &dir.crm(&["project", "document", "list", "1", "--json"])
            .ok(),
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3, "{json}");
    assert_eq!(json[0]["file_name"], "plan.pdf");
    let id = json[0]["id"].as_u64().unwrap().to_string();
    dir.crm(&["project", "document", "remove", "1", &id]).ok();
    dir.crm(&["project", "document", "remove", "1", &id])
        .fails_with(4);
    assert_eq!(
        dir.crm(&["project", "document", "list", "1"])
            .ok()
            .lines()
            .count(),
        3,
        "a header and the demo's two"
    );
    dir.crm(&["verify"]).ok();
}
