//! Telegram fidelity in a real browser (issue 12; headless chromium, see
//! [`crate::webdriver`]): a customer's location, contact and edited message show in the
//! conversation pane with the map link, the contact card and the earlier version; staff send
//! a location from the send form's "more kinds" and the emulator receives `sendLocation`; a
//! location the customer sends while the page is open appears without a reload; axe-core
//! finds the conversation with every kind accessible.

use serde_json::json;

use crate::bot_support::{Sandbox, User};
use crate::browser::{log_in, not_reloaded, open_live, wait_until};
use crate::fidelity::{bot_message, customer_of, messages_until, send_json, setup};
use crate::staff::ADMIN_PASSWORD;
use crate::webdriver::{browser, click, fill, start_driver};

/// True when the conversation pane's messages contain `arguments[0]` as text or as an
/// element matching the selector `arguments[1]` (either may be empty).
const SHOWS: &str = "const box = document.querySelector('#chat-messages'); \
    if (!box) return false; \
    const text = arguments[0], selector = arguments[1]; \
    return (!text || box.innerText.includes(text)) && (!selector || !!box.querySelector(selector));";

#[tokio::test]
async fn a_location_a_contact_and_an_edit_show_in_the_browser_and_staff_send_a_location() {
    let (app, _admin, api) = setup().await;
    let sandbox = Sandbox::of(&app);
    let user = User::new(9711, "Mira", "en");
    let hello = sandbox.send(&user, "hello").await;
    let customer = customer_of(&api, user.id).await;
    send_json(
        &sandbox,
        &user,
        json!({"location": {"latitude": 55.7558, "longitude": 37.6173}}),
    )
    .await;
    send_json(
        &sandbox,
        &user,
        json!({"contact": {"phone_number": "79001234567", "first_name": "Mira", "last_name": "S"}}),
    )
    .await;
    let answer: serde_json::Value = sandbox
        .http
        .post(sandbox.url(&format!("/sandbox/chats/{}/edit", user.id)))
        .json(&json!({"message_id": hello, "text": "hello there"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    messages_until(&api, customer, |items| {
        items.len() >= 3 && items.iter().any(|item| item["text"] == "hello there")
    })
    .await;

    let driver = start_driver().await;
    let staff = browser(&driver).await;
    log_in(&staff, &app, "admin", ADMIN_PASSWORD).await;
    open_live(&staff, &app, &format!("/chat/{customer}")).await;
    wait_until(
        &staff,
        SHOWS,
        vec![
            "".into(),
            "a[href^='https://www.openstreetmap.org/?mlat=55.755800&mlon=37.617300']".into(),
        ],
        "the customer's location with its map link",
    )
    .await;
    wait_until(
        &staff,
        SHOWS,
        vec!["79001234567".into(), ".contact-card".into()],
        "the contact card",
    )
    .await;
    wait_until(
        &staff,
        SHOWS,
        vec!["hello there".into(), "details.history".into()],
        "the edited message with its earlier version",
    )
    .await;

    // Staff send a location from the form's "more kinds".
    staff
        .execute(
            "document.querySelector('form[data-chat-send] details.send-more').open = true; return true",
            vec![],
        )
        .await
        .unwrap();
    fill(&staff, "form[data-chat-send] input[name=latitude]", "52.52").await;
    fill(
        &staff,
        "form[data-chat-send] input[name=longitude]",
        "13.405",
    )
    .await;
    click(&staff, "form[data-chat-send] button[type=submit]").await;
    let sent = bot_message(&sandbox, user.id, |message| {
        message.get("location").is_some()
    })
    .await;
    assert_eq!(sent["location"]["latitude"], 52.52, "{sent}");
    wait_until(
        &staff,
        SHOWS,
        vec![
            "".into(),
            "a[href^='https://www.openstreetmap.org/?mlat=52.520000&mlon=13.405000']".into(),
        ],
        "the location staff sent",
    )
    .await;

    // A location the customer sends while the page is open appears in place.
    open_live(&staff, &app, &format!("/chat/{customer}")).await;
    send_json(
        &sandbox,
        &user,
        json!({"venue": {"latitude": 59.9343, "longitude": 30.3351, "title": "Hermitage", "address": "Palace Square 2"}}),
    )
    .await;
    wait_until(
        &staff,
        SHOWS,
        vec!["Hermitage".into(), "".into()],
        "the venue, live",
    )
    .await;
    assert!(
        not_reloaded(&staff).await,
        "the conversation changed in place"
    );

    let axe = crate::tools::axe_source();
    let violations = crate::browser_pages::axe_violations(&staff, &axe).await;
    assert!(violations.is_empty(), "{violations:?}");
    staff.close().await.unwrap();
}
