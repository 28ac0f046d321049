//! Webhooks in a real browser (headless chromium, see [`crate::webdriver`]): the
//! administrator opens the webhooks page from the settings page, adds an endpoint (a
//! loopback receiver) with the event checkboxes, lands on its page with the signing secret
//! and its copy button, sends a test event, and sees the delivery succeed in its log; axe-core
//! finds no accessibility violation on either page.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{log_in, submit, wait_until};
use crate::support::spawn_app;
use crate::web_helpers;
use crate::webdriver::{browser, click, fill, start_driver};
use crate::webhooks::{receiver, wait_for};

#[tokio::test]
async fn an_endpoint_added_on_the_page_receives_a_test_event_shown_in_its_log() {
    let app = spawn_app();
    // The forced password change, over HTTP.
    web_helpers::admin(&app).await;
    let (url, got) = receiver(false).await;
    let axe = crate::tools::axe_source();

    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(
        &client,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    client.goto(&app.url("/settings")).await.unwrap();
    assert_eq!(
        submit(&client, "a[href='/settings/webhooks']").await,
        "/settings/webhooks"
    );
    let mut report = crate::browser_pages::axe_violations(&client, &axe).await;
    fill(&client, "input[name=url]", &url).await;
    fill(&client, "input[name=description]", "Browser receiver").await;
    click(&client, "input[name=event][value='order.created']").await;
    let path = submit(
        &client,
        "form[action='/settings/webhooks'] button[type=submit]",
    )
    .await;
    assert_eq!(path, "/settings/webhooks/1?done=webhook_saved");
    // The secret is shown with a copy button.
    let secret = client
        .find(Locator::Css("#webhook-secret"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(secret.starts_with("whsec_"), "{secret}");
    client
        .find(Locator::Css("button[data-copy='webhook-secret']"))
        .await
        .unwrap();

    submit(&client, "form[action='/settings/webhooks/1/test'] button").await;
    let received = wait_for(&got, 1, Duration::from_secs(10)).await;
    assert!(
        received[0].body.contains("\"type\":\"webhook.test\""),
        "{}",
        received[0].body
    );
    // The log shows the delivery succeeded (after a reload: the page is not live).
    wait_until(
        &client,
        "if (!document.querySelector('[data-state=succeeded]')) { location.reload(); return false; } return true;",
        vec![],
        "the delivery's success in the log",
    )
    .await;
    report.extend(crate::browser_pages::axe_violations(&client, &axe).await);
    assert!(report.is_empty(), "axe-core: {report:#?}");
}
