//! A real browser (headless Chromium, as in `browser.rs`) on a customer's timeline: a Zadarma
//! notification signed as Zadarma documents it, posted to the webhook, appears on the open
//! page without a reload (the `/events` stream's `call` event, `live.js`), and on the call
//! list (`/calls`), which axe-core finds accessible.

use crm_lib::calls::sign_notification;
use crm_lib::model::CallEvent;

use crate::browser::{log_in, not_reloaded, open_live, wait_until};
use crate::support::spawn_app_with;
use crate::web_helpers;
use crate::webdriver::{browser, start_driver};

const SECRET: &str = "browser-zadarma-secret";

async fn notify(
    app: &crate::support::TestApp,
    event: CallEvent,
    pbx: &str,
    extra: &[(&str, &str)],
) {
    let mut fields = vec![
        ("call_start", "2026-12-05 10:00:00"),
        ("pbx_call_id", pbx),
        ("caller_id", "79160000042"),
        ("called_did", "74950000000"),
    ];
    fields.extend_from_slice(extra);
    let (notification, signature) = sign_notification(SECRET, event, &fields);
    let status = reqwest::Client::new()
        .post(app.url("/webhooks/zadarma"))
        .header("Signature", signature)
        .form(notification.fields())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "{} of {pbx}", event.as_str());
}

#[tokio::test]
async fn a_signed_zadarma_notification_appears_live_on_the_customer_s_timeline() {
    // The helpdesk template switches the tickets module (calls) on.
    let app = spawn_app_with(&["--template", "helpdesk"]);
    let admin = web_helpers::admin(&app).await;
    let response = web_helpers::post(
        &app,
        &admin,
        "/settings/calls/secret",
        &[("secret", SECRET)],
    )
    .await;
    assert_eq!(response.status(), 303);

    // A first call makes the unknown caller a customer, the organization's first.
    notify(&app, CallEvent::Start, "in_1", &[]).await;
    let page = web_helpers::page(&app, &admin, "/customers/1").await;
    assert!(
        page.contains("+79160000042"),
        "the unknown caller is customer 1: {page}"
    );

    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(
        &client,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    open_live(&client, &app, "/customers/1").await;
    wait_until(
        &client,
        "return document.querySelectorAll('li.timeline-call').length === 1",
        vec![],
        "the first call on the timeline",
    )
    .await;

    // A second call from the same number, and the first one's end, while the page is open.
    notify(&app, CallEvent::Start, "in_2", &[]).await;
    wait_until(
        &client,
        "return document.querySelectorAll('li.timeline-call').length === 2",
        vec![],
        "the second call, live",
    )
    .await;
    notify(
        &app,
        CallEvent::End,
        "in_1",
        &[("duration", "37"), ("disposition", "answered")],
    )
    .await;
    wait_until(
        &client,
        "return document.getElementById('timeline').textContent.indexOf('answered') >= 0",
        vec![],
        "the first call's end, live",
    )
    .await;
    assert!(
        not_reloaded(&client).await,
        "no reload: the live stream did it"
    );

    // The call list: its rows, accessible, and a new call appears live.
    open_live(&client, &app, "/calls").await;
    wait_until(
        &client,
        "return document.querySelectorAll('#calls tbody tr').length === 2",
        vec![],
        "the two calls on the call list",
    )
    .await;
    let axe = crate::tools::axe_source();
    let violations = crate::browser_pages::axe_violations(&client, &axe).await;
    assert!(violations.is_empty(), "/calls: {violations:?}");
    notify(&app, CallEvent::Start, "in_3", &[]).await;
    wait_until(
        &client,
        "return document.querySelectorAll('#calls tbody tr').length === 3",
        vec![],
        "the third call on the call list, live",
    )
    .await;
    assert!(
        not_reloaded(&client).await,
        "no reload on the call list either"
    );
    client.close().await.unwrap();
}
