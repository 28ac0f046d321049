//! `crm broadcast`: a broadcast written from a text file to one language's customers (bad
//! input refused with exit 3 and nothing written), listed, shown, started (its recipients
//! picked), paused, resumed and cancelled (the recipients not sent to skipped, since no
//! appliance sends offline), with the report filtered by state and the refusals of what the
//! state no longer allows.

use crate::util::TestDir;

#[test]
fn a_broadcast_is_written_from_a_file_started_paused_resumed_cancelled_and_reported() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "service", "--slug", "news"])
        .ok();
    let csv = dir.path("customers.csv");
    std::fs::write(
        &csv,
        "telegram_id,username,first_name,last_name,phone,email,language\n\
         7201000001,masha,Мария,Петрова,,,ru\n\
         7201000002,oleg,Олег,,,,ru\n\
         7201000003,sarah,Sarah,Miller,,,en\n\
         ,,Offline,Customer,,,ru\n",
    )
    .unwrap();
    dir.crm(&["import", "customers", csv.to_str().unwrap()])
        .ok();
    std::fs::write(
        dir.path("message.txt"),
        "Весенняя распродажа!\nДо воскресенья.\n",
    )
    .unwrap();
    std::fs::write(dir.path("long.txt"), "a".repeat(3_901)).unwrap();

    let create = |extra: &[&str]| {
        let mut args = vec![
            "broadcast",
            "create",
            "--title",
            "Spring sale",
            "--text-file",
            "message.txt",
            "--language",
            "ru",
        ];
        args.extend_from_slice(extra);
        dir.crm(&args)
    };
    // Refusals: nothing is written.
    let long = dir
        .crm(&[
            "broadcast",
            "create",
            "--title",
            "t",
            "--text-file",
            "long.txt",
        ])
        .fails_with(3);
    assert!(long.contains("text"), "{long}");
    for rate in ["0", "31"] {
        let refused = create(&["--rate", rate]).fails_with(3);
        assert!(refused.contains("rate_per_second"), "{refused}");
    }
    let range = create(&["--balance-min", "10", "--balance-max", "5"]).fails_with(3);
    assert!(range.contains("balance_max"), "{range}");
    let language = dir
        .crm(&[
            "broadcast",
            "create",
            "--title",
            "t",
            "--text-file",
            "message.txt",
            "--language",
            "xx",
        ])
        .fails_with(3);
    assert!(language.contains("not a language"), "{language}");
    create(&["--as", "nobody"]).fails_with(4);
    dir.crm(&[
        "broadcast",
        "create",
        "--title",
        "t",
        "--text-file",
        "missing.txt",
    ])
    .fails_with(1);
    assert_eq!(dir.crm(&["broadcast", "list"]).ok().lines().count(), 1);

    // Two Russian speakers with Telegram; the customer without Telegram is nobody's.
    let created = create(&["--rate", "5"]).ok();
    assert_eq!(
        created,
        "broadcast 1 written as a draft; its audience picks 2 customers now\n"
    );
    let shown = dir.crm(&["broadcast", "show", "1"]).ok();
    assert!(
        shown.starts_with("broadcast 1: Spring sale\nstate: draft\n"),
        "{shown}"
    );
    assert!(shown.contains("audience: language ru\n"), "{shown}");
    assert!(shown.contains("rate: 5 messages a second\n"), "{shown}");
    assert!(
        shown.ends_with("\nВесенняя распродажа!\nДо воскресенья.\n"),
        "{shown}"
    );

    assert_eq!(
        dir.crm(&["broadcast", "start", "1"]).ok(),
        "broadcast 1 sending: 2 recipients at 5 a second\n"
    );
    dir.crm(&["broadcast", "start", "1"]).fails_with(5);
    assert_eq!(
        dir.crm(&["broadcast", "pause", "1"]).ok(),
        "broadcast 1 paused: 2 of 2 recipients left\n"
    );
    dir.crm(&["broadcast", "pause", "1"]).fails_with(5);
    assert_eq!(
        dir.crm(&["broadcast", "resume", "1"]).ok(),
        "broadcast 1 sending: 2 of 2 recipients left\n"
    );
    let pending = dir
        .crm(&["broadcast", "report", "1", "--state", "pending"])
        .ok();
    let names: Vec<&str> = pending.lines().skip(1).collect();
    assert_eq!(names.len(), 2, "{pending}");
    assert!(
        names.iter().all(|line| line.contains("pending")),
        "{pending}"
    );
    assert!(pending.contains("Мария Петрова"), "{pending}");
    assert_eq!(
        dir.crm(&["broadcast", "cancel", "1"]).ok(),
        "broadcast 1 cancelled: 2 recipients skipped\n"
    );
    let skipped = dir
        .crm(&["broadcast", "report", "1", "--state", "skipped", "--json"])
        .ok();
    let skipped: serde_json::Value = serde_json::from_str(skipped.trim()).unwrap();
    assert_eq!(skipped.as_array().unwrap().len(), 2, "{skipped}");
    assert_eq!(skipped[0]["state"], "skipped");
    let bogus = dir
        .crm(&["broadcast", "report", "1", "--state", "bogus"])
        .fails_with(3);
    assert!(bogus.contains("must be one of"), "{bogus}");
    dir.crm(&["broadcast", "resume", "1"]).fails_with(5);
    dir.crm(&["broadcast", "show", "9"]).fails_with(4);

    let list = dir.crm(&["broadcast", "list", "--json"]).ok();
    let list: serde_json::Value = serde_json::from_str(list.trim()).unwrap();
    assert_eq!(list[0]["state"], "cancelled");
    assert_eq!(list[0]["recipients"], 2);
    assert_eq!(list[0]["skipped"], 2);
    assert_eq!(list[0]["success_rate"], serde_json::Value::Null);
    dir.crm(&["verify"]).ok();
}
