//! The three-pane inbox in a real browser (issue 12; headless chromium, see
//! [`crate::webdriver`]): two staff users in two browser sessions. B watches the list while A
//! answers a customer in the conversation pane; B sees the reply's preview, the customer's new
//! message and the unread count change without a reload; B opens the conversation and closes
//! it, and it leaves A's list for the closed one, live. axe-core finds the page accessible,
//! and the keyboard shortcut `j` goes to the next unread conversation.

use serde_json::json;

use crate::browser::{log_in, not_reloaded, open_live, wait_until};
use crate::support::{TestApp, spawn_app};
use crate::web_helpers;
use crate::webdriver::{browser_named, click, fill, start_driver};

/// A customer writes to the bot through the sandbox emulator.
async fn customer_writes(app: &TestApp, telegram_id: i64, text: &str) {
    let response = app
        .sandbox_client()
        .post(app.url(&format!("/sandbox/chats/{telegram_id}/send")))
        .json(&json!({"text": text, "from": {"first_name": "Lena", "language_code": "en"}}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
}

#[tokio::test]
async fn two_staff_users_see_replies_new_messages_unread_counts_and_closing_live_in_the_inbox() {
    let app = spawn_app();
    let admin = web_helpers::admin(&app).await;
    let manager_password = web_helpers::create_user(&app, &admin, "manager1", "manager").await;
    web_helpers::first_login(&app, "manager1", &manager_password).await;
    let telegram = 7_900_001;
    let customer = web_helpers::sandbox_customer(&app, &admin, telegram).await;

    let driver = start_driver().await;
    let a = browser_named(&driver, "a").await;
    let b = browser_named(&driver, "b").await;
    log_in(
        &a,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    log_in(&b, &app, "manager1", &format!("{manager_password}-changed")).await;

    // B watches the list: the customer's conversation is unread.
    open_live(&b, &app, "/chat").await;
    let unread = "const row = document.querySelector(`#inbox-rows li[data-customer='${arguments[0]}']`); \
                  const badge = row && row.querySelector('[data-unread]'); \
                  return (badge ? Number(badge.getAttribute('data-unread')) : 0) === arguments[1];";
    wait_until(&b, unread, vec![customer.into(), 1.into()], "B: one unread").await;

    // A opens it (chat.js marks it read) and replies from the conversation pane.
    let conversation = format!("/chat/{customer}");
    open_live(&a, &app, &conversation).await;
    wait_until(
        &b,
        unread,
        vec![customer.into(), 0.into()],
        "B: read by A, live",
    )
    .await;
    let reply = "We ship it today";
    fill(&a, "form[data-chat-send] textarea[name=text]", reply).await;
    click(&a, "form[data-chat-send] button[type=submit]").await;
    let preview = "const row = document.querySelector(`#inbox-rows li[data-customer='${arguments[0]}'] .preview`); \
                   return !!row && row.innerText.includes(arguments[1]);";
    wait_until(
        &b,
        preview,
        vec![customer.into(), reply.into()],
        "B: A's reply as the preview",
    )
    .await;

    // A goes back to the list; the customer writes again: both lists count it, live.
    open_live(&a, &app, "/chat").await;
    customer_writes(&app, telegram, "Thank you! What time?").await;
    wait_until(
        &b,
        unread,
        vec![customer.into(), 1.into()],
        "B: the new message unread",
    )
    .await;
    wait_until(
        &a,
        unread,
        vec![customer.into(), 1.into()],
        "A: the new message unread",
    )
    .await;
    wait_until(
        &b,
        preview,
        vec![customer.into(), "What time?".into()],
        "B: its preview",
    )
    .await;
    assert!(not_reloaded(&b).await, "B's list changed in place");

    // The shortcut: `j` on the list goes to the next unread conversation.
    b.execute(
        "document.body.dispatchEvent(new KeyboardEvent('keydown', {key: 'j', bubbles: true})); return true",
        vec![],
    )
    .await
    .unwrap();
    wait_until(
        &b,
        "return window.location.pathname === arguments[0]",
        vec![conversation.clone().into()],
        "B: j opens the unread conversation",
    )
    .await;
    let shows = "const box = document.querySelector('#chat-messages'); \
                 return !!box && box.innerText.includes(arguments[0]);";
    wait_until(
        &b,
        shows,
        vec!["What time?".into()],
        "B: the message in the conversation",
    )
    .await;
    wait_until(
        &a,
        unread,
        vec![customer.into(), 0.into()],
        "A: read by B, live",
    )
    .await;

    // The three panes are accessible.
    let axe = crate::tools::axe_source();
    let violations = crate::browser_pages::axe_violations(&b, &axe).await;
    assert!(violations.is_empty(), "/chat/{customer}: {violations:?}");

    // B closes it: it leaves A's list and shows under "closed".
    let listed =
        "return !!document.querySelector(`#inbox-rows li[data-customer='${arguments[0]}']`);";
    // (The form posts and the server sends B back to the same conversation.)
    click(&b, "#inbox-actions button[data-action=close]").await;
    wait_until(
        &b,
        "return document.querySelector('#inbox-actions [data-state]').getAttribute('data-state') === 'closed'",
        vec![],
        "B: closed",
    )
    .await;
    wait_until(
        &a,
        "return !document.querySelector(`#inbox-rows li[data-customer='${arguments[0]}']`);",
        vec![customer.into()],
        "A: gone from the open list, live",
    )
    .await;
    assert!(not_reloaded(&a).await, "A's list changed in place");
    open_live(&a, &app, "/chat?filter=closed").await;
    wait_until(&a, listed, vec![customer.into()], "A: in the closed list").await;

    a.close().await.unwrap();
    b.close().await.unwrap();
}
