//! `crm analytics`: the dashboard's figures of the service demo (tokens), as text and JSON,
//! one chart's CSV, and a refused chart name that prints nothing on stdout.

use crate::util::TestDir;

#[test]
fn the_demo_s_figures_print_as_text_and_json_and_a_chart_as_csv() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "service", "--slug", "service"])
        .ok();
    dir.crm(&["demo"]).ok();

    let text = dir.crm(&["analytics"]).ok();
    assert!(text.contains("revenue in tokens"), "{text}");
    assert!(text.contains("customers: 60\n"), "{text}");
    assert!(text.contains("orders: 80 ("), "{text}");
    assert!(text.contains("completion rate: "), "{text}");
    assert!(text.contains("active subscribers: "), "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&dir.crm(&["analytics", "--json"]).ok()).unwrap();
    assert_eq!(json["unit"], "tokens");
    assert_eq!(json["customers"], 60);
    assert_eq!(json["orders"], 80);
    assert!(json["revenue"].as_i64().unwrap() > 0, "{json}");
    assert!(
        json["completed_orders"].as_u64().unwrap() > 0
            && json["cancelled_orders"].as_u64().unwrap() > 0,
        "{json}"
    );

    let status = dir.crm(&["analytics", "--csv", "status"]).ok();
    let mut lines = status.lines();
    assert_eq!(lines.next(), Some("stage_key,stage,kind,orders"));
    let orders: u64 = lines
        .map(|line| line.rsplit(',').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(orders, 80, "{status}");
    let packages = dir.crm(&["analytics", "--csv", "packages"]).ok();
    assert!(
        packages.starts_with("package_key,package,orders\n"),
        "{packages}"
    );
    assert_eq!(
        packages.lines().count(),
        10,
        "a header and nine packages: {packages}"
    );

    let refused = dir.crm(&["analytics", "--csv", "pie"]);
    assert!(refused.stdout.is_empty(), "{refused:#?}");
    let message = refused.fails_with(3);
    assert!(message.contains("not a chart"), "{message}");
}
