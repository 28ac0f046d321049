//! `crm tokens`: the service template's packages, a balance adjusted with a reason (and the
//! reason required), a bonus, Premium days, and a refusal below zero that changes nothing.

use crate::util::TestDir;

#[test]
fn packages_balances_adjustments_bonuses_and_premium_from_the_command_line() {
    let dir = TestDir::new();
    dir.crm(&["init", "--template", "service", "--slug", "tokens"])
        .ok();
    let csv = dir.path("customers.csv");
    std::fs::write(
        &csv,
        "telegram_id,username,first_name,last_name,phone,email,language\n7101000001,sarah,Sarah,Miller,,,en\n",
    )
    .unwrap();
    dir.crm(&["import", "customers", csv.to_str().unwrap()])
        .ok();

    let packages = dir.crm(&["tokens", "packages"]).ok();
    let first: Vec<&str> = packages
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        first,
        ["sites_100", "100", "100", "60", "40%", "yes"],
        "{packages}"
    );
    assert_eq!(
        packages.lines().count(),
        10,
        "a header and the PRD's nine packages"
    );

    let adjusted = dir
        .crm(&[
            "tokens",
            "adjust",
            "1",
            "120",
            "--reason",
            "opening balance",
        ])
        .ok();
    assert_eq!(adjusted, "entry 1: +120 tokens, balance 120\n");
    let no_reason = dir
        .crm(&["tokens", "adjust", "1", "10", "--reason", " "])
        .fails_with(3);
    assert!(no_reason.contains("reason"), "{no_reason}");
    let below = dir
        .crm(&[
            "tokens", "adjust", "1", "--reason", "too much", "--", "-500",
        ])
        .fails_with(5);
    assert!(below.contains("insufficient balance"), "{below}");
    let bonus = dir
        .crm(&["tokens", "bonus", "1", "30", "--reason", "welcome"])
        .ok();
    assert_eq!(bonus, "entry 2: +30 tokens, balance 150\n");
    let premium = dir.crm(&["tokens", "premium", "1", "30"]).ok();
    assert!(premium.starts_with("premium until 20"), "{premium}");

    let balance = dir.crm(&["tokens", "balance", "1", "--json"]).ok();
    let balance: serde_json::Value = serde_json::from_str(balance.trim()).unwrap();
    assert_eq!(balance["balance"], 150);
    assert_eq!(balance["subscriber"], true);
    let kinds: Vec<&str> = balance["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["bonus", "adjustment"],
        "newest first; the refusals wrote nothing"
    );
    dir.crm(&["verify"]).ok();
}
