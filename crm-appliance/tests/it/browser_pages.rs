//! The staff pages in a real browser (Debian's chromium over WebDriver, with its default
//! settings, the back/forward cache included): twelve live pages in a row each load and
//! work, and axe-core (all its rules: WCAG 2.1 A and AA and its best practices) finds no
//! violation on any main page, nor on the sandbox page.
//!
//! axe-core comes from the npm registry (`scripts/test.sh` installs it, see
//! [`crate::tools::axe_source`]) and is injected into each page with WebDriver's execute
//! script.

use std::time::Duration;

use fantoccini::Client;
use fantoccini::wd::TimeoutConfiguration;

use crate::browser::{log_in, see_card_in, wait_until};
use crate::order_desk::{bot_order, customer_of};
use crate::support::{TestApp, spawn_app};
use crate::web_helpers::{self, create_order, page, post, sandbox_customer};
use crate::webdriver::{browser, click, fill, start_driver};

/// A page that does not load within this is the hang the back/forward cache caused: the
/// browser waits for a free connection forever.
const PAGE_LOAD: Duration = Duration::from_secs(20);

/// The browser session's timeouts: pages that hang fail the test instead of stalling it.
async fn impatient(client: &Client) {
    client
        .update_timeouts(TimeoutConfiguration::new(
            Some(Duration::from_secs(30)),
            Some(PAGE_LOAD),
            Some(Duration::ZERO),
        ))
        .await
        .unwrap();
}

/// Opens `path` (the visit numbered `visit`), failing clearly when it does not load, and
/// waits until its live stream is connected.
async fn visit_live(client: &Client, app: &TestApp, path: &str, visit: usize) {
    client
        .goto(&app.url(path))
        .await
        .unwrap_or_else(|error| panic!("live page {visit} ({path}) did not load: {error}"));
    wait_until(
        client,
        "return document.documentElement.getAttribute('data-live') === 'on'",
        vec![],
        &format!("live page {visit} ({path}): its /events stream"),
    )
    .await;
}

#[tokio::test]
async fn twelve_live_pages_in_a_row_each_load_and_work_with_the_back_forward_cache_on() {
    let app = spawn_app();
    let admin = web_helpers::admin(&app).await;
    let customer = sandbox_customer(&app, &admin, 7_900_001).await;
    let order = create_order(&app, &admin, customer, "Twelve pages").await;
    for (what, fields) in [("approve", vec![]), ("assign", vec![("user", "1")])] {
        let response = post(&app, &admin, &format!("/orders/{order}/{what}"), &fields).await;
        assert_eq!(response.status(), 303, "{what}");
    }

    let driver = start_driver().await;
    let client = browser(&driver).await;
    impatient(&client).await;
    log_in(
        &client,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;

    // Board, order, conversation, four times: each must load, connect its stream and do its
    // live work while the pages before it sit in the back/forward cache.
    let pages = [
        "/board".to_string(),
        format!("/orders/{order}"),
        format!("/chat/{customer}"),
    ];
    let mut stage = 4;
    for visit in 1..=12 {
        let path = &pages[(visit - 1) % 3];
        visit_live(&client, &app, path, visit).await;
        match (visit - 1) % 3 {
            0 => {
                // A move made in another session arrives on the board without a reload.
                let response = post(
                    &app,
                    &admin,
                    &format!("/orders/{order}/move"),
                    &[("stage", &stage.to_string())],
                )
                .await;
                assert_eq!(response.status(), 303, "visit {visit}: move to {stage}");
                see_card_in(&client, order, stage, &format!("live page {visit}")).await;
                stage = if stage == 4 { 5 } else { 4 };
            }
            1 => {
                // A message about the order, sent elsewhere, arrives in its chat panel.
                let text = format!("A note about the order, visit {visit}");
                let form = reqwest::multipart::Form::new()
                    .text("csrf", admin.csrf.clone())
                    .text("text", text.clone())
                    .text("order", order.to_string());
                let response = admin
                    .client
                    .post(app.url(&format!("/chat/{customer}")))
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 303, "visit {visit}");
                wait_until(
                    &client,
                    "const panel = document.querySelector('[data-order-chat]'); \
                     return !!panel && panel.innerText.includes(arguments[0]);",
                    vec![text.into()],
                    &format!("live page {visit}: the message in the order's chat"),
                )
                .await;
            }
            _ => {
                // The inbox's Send button is enabled, and sending shows the message.
                let button = "form[data-chat-send] button[type=submit]";
                let enabled = client
                    .execute(
                        "const b = document.querySelector(arguments[0]); return !!b && !b.disabled;",
                        vec![button.into()],
                    )
                    .await
                    .unwrap();
                assert_eq!(enabled, true, "live page {visit}: Send is enabled");
                let text = format!("Sent from live page {visit}");
                fill(&client, "form[data-chat-send] textarea[name=text]", &text).await;
                click(&client, button).await;
                wait_until(
                    &client,
                    "const box = document.querySelector('#chat-messages'); \
                     const b = document.querySelector(arguments[1]); \
                     return !!box && box.innerText.includes(arguments[0]) && !!b && !b.disabled;",
                    vec![text.into(), button.into()],
                    &format!("live page {visit}: the sent message, and Send enabled again"),
                )
                .await;
            }
        }
    }
    // Back to an earlier page: restored from the cache, it reconnects and catches up.
    client.back().await.unwrap();
    client.back().await.unwrap();
    wait_until(
        &client,
        "return document.documentElement.getAttribute('data-live') === 'on'",
        vec![],
        "a page shown again from the back/forward cache: its stream",
    )
    .await;
    client.close().await.unwrap();
}

/// The violations axe-core finds on the current page, as readable lines.
pub(crate) async fn axe_violations(client: &Client, axe: &str) -> Vec<String> {
    let loaded = client
        .execute(&format!("{axe}\n;return typeof window.axe;"), vec![])
        .await
        .unwrap();
    assert_eq!(loaded, "object", "axe-core loaded into the page");
    let found = client
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            window.axe
              .run(document)
              .then((result) => done(result.violations.map((violation) =>
                `${violation.id} (${violation.impact}): ${violation.help} — ` +
                violation.nodes.slice(0, 5).map((node) =>
                  `${node.target.join(" ")}: ${node.failureSummary}`).join(" | "))))
              .catch((error) => done([`axe-core failed: ${error}`]));
            "#,
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn axe_core_finds_no_accessibility_violations_on_the_main_pages() {
    let axe = crate::tools::axe_source();
    let app = spawn_app();
    let admin = web_helpers::admin(&app).await;
    // Pages with content: an order from the bot with a picture, a marker and money; one more
    // waiting for moderation; a conversation.
    let order = bot_order(&app).await;
    let html = page(&app, &admin, &format!("/orders/{order}")).await;
    let customer = customer_of(&html);
    create_order(&app, &admin, customer, "Waiting for moderation").await;
    let marker = post(
        &app,
        &admin,
        "/markers",
        &[("name", "Rust"), ("color", "#84cc16")],
    )
    .await;
    assert!(marker.status().is_redirection());
    for (what, fields) in [
        ("approve", vec![]),
        // The studio starts with the seed's ten markers: Rust is the 11th.
        ("markers", vec![("marker", "11"), ("marker", "1")]),
        ("assign", vec![("user", "1")]),
    ] {
        let response = post(&app, &admin, &format!("/orders/{order}/{what}"), &fields).await;
        assert_eq!(response.status(), 303, "{what}");
    }

    let driver = start_driver().await;
    let client = browser(&driver).await;
    impatient(&client).await;
    log_in(
        &client,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    let pages = [
        "/".to_string(),
        "/orders".to_string(),
        format!("/orders/{order}"),
        "/board".to_string(),
        "/moderation".to_string(),
        "/chat".to_string(),
        format!("/chat/{customer}"),
        "/users".to_string(),
        "/roles".to_string(),
        "/markers".to_string(),
        "/payment-methods".to_string(),
        "/settings".to_string(),
        "/profile".to_string(),
        "/profile/payment-details".to_string(),
        "/audit".to_string(),
        "/admin/jobs".to_string(),
        // Not a main page, but its customer names were light grey on white.
        "/sandbox".to_string(),
    ];
    let mut report = Vec::new();
    for path in &pages {
        client.goto(&app.url(path)).await.unwrap();
        if path == "/sandbox" {
            wait_until(
                &client,
                "return !!document.querySelector('#sandbox-chats li button');",
                vec![],
                "the sandbox's simulated customers",
            )
            .await;
        }
        for violation in axe_violations(&client, &axe).await {
            report.push(format!("{path}: {violation}"));
        }
    }
    // The order's picture is drawn as a thumbnail (served by /media).
    client
        .goto(&app.url(&format!("/orders/{order}")))
        .await
        .unwrap();
    wait_until(
        &client,
        "const img = document.querySelector('a.thumbnail img'); \
         return !!img && img.complete && img.naturalWidth === 4;",
        vec![],
        "the thumbnail of the customer's picture",
    )
    .await;
    client.close().await.unwrap();
    assert!(
        report.is_empty(),
        "axe-core found {} violations:\n{}",
        report.len(),
        report.join("\n")
    );
}
