//! `crm lead show` and `crm ai show|set`: a lead's qualification and the AI settings from the
//! command line (the projects module). The API key is read from a file and never printed.

use crate::util::TestDir;

const KEY: &str = "sk-or-v1-cli-test-0123456789wxyz";

fn renovation() -> TestDir {
    let dir = TestDir::new();
    dir.crm(&["init", "--org-name", "Reno", "--template", "renovation"])
        .ok();
    dir
}

#[test]
fn a_demo_lead_shows_its_slots_summary_hot_flag_and_calls() {
    let dir = renovation();
    dir.crm(&["demo"]).ok();
    let shown = dir.crm(&["lead", "show", "5"]).ok();
    assert!(
        shown.starts_with("lead 5: Bathroom remodel, 48 m²\n"),
        "{shown}"
    );
    assert!(shown.contains("  area: 48\n"), "{shown}");
    // In the organization's language (the renovation template's is Russian).
    assert!(shown.contains("  renovation_type: Санузел\n"), "{shown}");
    assert!(shown.contains("slots filled: 4 of 4"), "{shown}");
    assert!(shown.contains("source: phone"), "{shown}");
    assert!(shown.contains("hot: yes, since"), "{shown}");
    assert!(
        shown.contains("summary: Bathroom remodel, 48 m²"),
        "{shown}"
    );
    assert!(shown.contains("calls: 4 (4 kept)"), "{shown}");
    assert!(shown.contains("LATENCY_MS"), "{shown}");
    assert!(shown.contains("refused"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["lead", "show", "5", "--json"]).ok()).unwrap();
    assert_eq!(json["ai"], "stopped_hot");
    assert_eq!(json["calls"].as_array().unwrap().len(), 4);
    assert_eq!(json["calls"][0]["prompt_tokens"], 990, "newest first");
    assert_eq!(json["slots"][1]["key"], "area");
    assert_eq!(json["slots"][1]["value"], "48");
    // An order that does not exist is not found (exit code 4).
    dir.crm(&["lead", "show", "999"]).fails_with(4);
}

#[test]
fn the_ai_settings_take_the_key_from_a_file_and_never_print_it() {
    let dir = renovation();
    let shown = dir.crm(&["ai", "show"]).ok();
    assert!(shown.contains("ai qualification: off"), "{shown}");
    assert!(
        shown.contains("base url: https://openrouter.ai/api/v1"),
        "{shown}"
    );
    assert!(shown.contains("key: not set"), "{shown}");
    std::fs::write(dir.path("key.txt"), format!("{KEY}\n")).unwrap();
    let set = dir
        .crm(&[
            "ai",
            "set",
            "--key-file",
            "key.txt",
            "--model",
            "openai/gpt-4o-mini",
            "--timeout",
            "20",
        ])
        .ok();
    assert!(set.contains("ai qualification: on"), "{set}");
    assert!(set.contains("key: …wxyz"), "{set}");
    assert!(set.contains("model: openai/gpt-4o-mini"), "{set}");
    assert!(!set.contains(KEY), "{set}");
    let json = dir.crm(&["ai", "show", "--json"]).ok();
    assert!(!json.contains(KEY), "{json}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["timeout_seconds"], 20);
    assert_eq!(value["on"], true);
    // Bad input is refused with the input exit code and changes nothing.
    let refused = dir
        .crm(&["ai", "set", "--base-url", "ftp://ai.example"])
        .fails_with(3);
    assert!(refused.contains("base"), "{refused}");
    dir.crm(&["ai", "set", "--timeout", "0"]).fails_with(3);
    let after: serde_json::Value =
        serde_json::from_str(&dir.crm(&["ai", "show", "--json"]).ok()).unwrap();
    assert_eq!(after, value);
    // Switched off, then the key removed by an empty file.
    dir.crm(&["ai", "set", "--enabled", "no"]).ok();
    std::fs::write(dir.path("empty.txt"), "\n").unwrap();
    let removed = dir.crm(&["ai", "set", "--key-file", "empty.txt"]).ok();
    assert!(removed.contains("key: not set"), "{removed}");
}

#[test]
fn a_studio_has_no_leads_and_no_ai_settings() {
    let dir = TestDir::initialised();
    dir.crm(&["ai", "show"]).fails_with(4);
}
