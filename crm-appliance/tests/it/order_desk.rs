//! What a new user of the order desk tripped over, as they meet it over HTTP: the files a
//! customer attaches in the bot's form on the order page; money in the viewer's language on
//! every page; the board's cards with markers, money and deadline; the moderation queue newest
//! first with the currency; user-chosen colours as data, never as style attributes (the
//! Content-Security-Policy refuses those); the default payment method a manager sends until
//! the order is delivered; a re-linked Telegram account on the profile at once.

use crate::bot_support::{Sandbox, User, place_order_with, start_customer};
use crate::support::{TestApp, spawn_app};
use crate::web_helpers::{
    Session, admin, create_order, page, post, sandbox_customer, user_with_role,
};

/// A 4x4 amber PNG: a real picture, so a browser can draw its thumbnail.
pub const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x04\x08\x02\x00\x00\x00\x26\x93\x09\x29\x00\x00\x00\x11\x49\x44\x41\x54\x78\x9c\x63\xf8\x3a\x8f\x1b\x8e\x18\x88\xe3\x00\x00\xaf\xb2\x19\xe1\x87\xd1\xa9\x65\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// The `/media/...` links of a page, in order.
fn media_links(html: &str) -> Vec<String> {
    html.split("href=\"/media/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|hash| format!("/media/{hash}"))
        .collect()
}

/// The customer id of an order, from its page's chat form.
pub fn customer_of(html: &str) -> u64 {
    html.split("action=\"/chat/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the order page has a chat form: {html}"))
}

/// Sets `session`'s interface language.
async fn speak(app: &TestApp, session: &Session, language: &str) {
    let response = post(
        app,
        session,
        "/profile",
        &[("display_name", "Administrator"), ("language", language)],
    )
    .await;
    assert_eq!(response.status(), 303, "{language}");
}

/// A customer who ordered through the bot, in Russian, with a picture and a PDF.
pub async fn bot_order(app: &TestApp) -> u64 {
    let sandbox = Sandbox::of(app);
    let vera = User::new(5_300_000_001, "Вера", "ru");
    let menu = start_customer(&sandbox, &vera, "ru").await;
    place_order_with(
        &sandbox,
        &vera,
        &menu,
        "Сайт пекарни",
        Some("25000.50"),
        Some("2035-06-30"),
        &[
            ("photo", "cake.png", "image/png", PNG),
            (
                "document",
                "brief.pdf",
                "application/pdf",
                b"%PDF-1.4 brief",
            ),
        ],
    )
    .await
}

#[tokio::test]
async fn order_files_money_markers_and_the_queue_show_as_a_new_user_expects() {
    let app = spawn_app();
    let admin = admin(&app).await;
    let first = bot_order(&app).await;

    // The order page lists the customer's files: the picture as a thumbnail, the PDF as a
    // link, both through /media.
    let html = page(&app, &admin, &format!("/orders/{first}")).await;
    assert!(html.contains("Files from the customer (2)"), "{html}");
    let links = media_links(&html);
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        html.contains(&format!(
            "<img src=\"{}\" loading=\"lazy\" alt=\"Picture 1 from the customer",
            links[0]
        )),
        "{html}"
    );
    assert!(html.contains("File 2 (application/pdf, 1 KB)"), "{html}");
    let picture = admin.client.get(app.url(&links[0])).send().await.unwrap();
    assert_eq!(picture.status(), 200);
    assert!(
        picture.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/"),
        "{:?}",
        picture.headers()
    );
    assert_eq!(picture.bytes().await.unwrap().as_ref(), PNG);
    // A worker does not see an order waiting for moderation, so not its files either.
    let worker = user_with_role(&app, &admin, "worker1", "worker").await;
    let hidden = worker.client.get(app.url(&links[0])).send().await.unwrap();
    assert_eq!(hidden.status(), 404);

    // Money in the viewer's language, with the currency.
    assert!(html.contains("25,000.50\u{a0}USD"), "{html}");
    let customer = customer_of(&html);
    let second = create_order(&app, &admin, customer, "Second website").await;

    // The moderation queue: newest first, budgets with the currency.
    let queue = page(&app, &admin, "/moderation").await;
    let (at_first, at_second) = (
        queue.find(&format!("href=\"/orders/{first}\"")).unwrap(),
        queue.find(&format!("href=\"/orders/{second}\"")).unwrap(),
    );
    assert!(at_second < at_first, "newest first: {queue}");
    assert!(queue.contains("Budget 1,500.00\u{a0}USD"), "{queue}");

    // A marker on the approved, assigned order; the board's card shows it with the money
    // and the deadline. The studio starts with the seed's ten markers: Rust is the 11th.
    let created = post(
        &app,
        &admin,
        "/markers",
        &[("name", "Rust"), ("color", "#f59e0b")],
    )
    .await;
    assert!(created.status().is_redirection(), "{}", created.status());
    for (path, fields) in [
        (format!("/orders/{first}/approve"), vec![]),
        (format!("/orders/{first}/markers"), vec![("marker", "11")]),
        (format!("/orders/{first}/assign"), vec![("user", "1")]),
    ] {
        let response = post(&app, &admin, &path, &fields).await;
        assert_eq!(response.status(), 303, "{path}");
    }
    let board = page(&app, &admin, "/board").await;
    let card = board
        .split(&format!("data-order=\"{first}\""))
        .nth(1)
        .and_then(|rest| rest.split("</li>").next())
        .unwrap_or_else(|| panic!("card {first} on the board: {board}"));
    assert!(
        card.contains(r##"<span class="marker ink-dark" data-bg="#f59e0b">Rust</span>"##),
        "{card}"
    );
    assert!(card.contains("25,000.50\u{a0}USD"), "{card}");
    assert!(card.contains("datetime=\"2035-06-30\""), "{card}");
    assert!(
        board.contains("class=\"board-hint muted\" hidden"),
        "{board}"
    );

    // In Russian: a decimal comma and no-break spaces between thousands.
    speak(&app, &admin, "ru").await;
    for path in [
        "/orders".to_string(),
        format!("/orders/{first}"),
        "/board".to_string(),
    ] {
        let html = page(&app, &admin, &path).await;
        assert!(html.contains("25\u{a0}000,50\u{a0}USD"), "{path}: {html}");
        assert!(!html.contains("25000.50 USD"), "{path}");
    }

    // Colours travel as data: no page carries a style attribute, which the
    // Content-Security-Policy would refuse.
    speak(&app, &admin, "en").await;
    for path in [
        "/".to_string(),
        "/orders".to_string(),
        format!("/orders/{first}"),
        "/board".to_string(),
        "/moderation".to_string(),
        "/markers".to_string(),
        "/settings".to_string(),
        format!("/chat/{customer}"),
        "/sandbox".to_string(),
    ] {
        let html = page(&app, &admin, &path).await;
        assert!(!html.contains(" style="), "{path} has a style attribute");
    }
}

#[tokio::test]
async fn a_manager_sends_payment_details_with_the_default_method_until_the_order_is_delivered() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let admin = admin(&app).await;
    let telegram = 5_300_000_002;
    let customer = sandbox_customer(&app, &admin, telegram).await;
    let order = create_order(&app, &admin, customer, "Payment rules").await;
    let manager = user_with_role(&app, &admin, "manager1", "manager").await;

    // The organization starts with a bank transfer, and managers manage payment methods.
    let methods = page(&app, &manager, "/payment-methods").await;
    assert!(methods.contains("Bank transfer"), "{methods}");
    assert!(methods.contains("{amount} {currency}"), "{methods}");

    let path = |what: &str| format!("/orders/{order}/{what}");
    for (what, fields) in [
        ("approve", vec![]),
        ("assign", vec![("user", "1")]),
        ("move", vec![("stage", "4")]),
    ] {
        let response = post(&app, &admin, &path(what), &fields).await;
        assert_eq!(response.status(), 303, "{what}");
    }
    let html = page(&app, &manager, &format!("/orders/{order}")).await;
    assert!(
        html.contains(&format!("action=\"/orders/{order}/payment\"")),
        "{html}"
    );
    let seen = sandbox.bot_messages(telegram).await.len();
    let sent = post(
        &app,
        &manager,
        &path("payment"),
        &[("method", "1"), ("amount", "25000.50")],
    )
    .await;
    assert_eq!(sent.status(), 303);
    // The customer writes Russian: the amount reaches them as they read it.
    let details = sandbox.wait_for(telegram, seen, "Оплата заказа").await;
    let text = details["text"].as_str().unwrap();
    assert!(text.contains("25\u{a0}000,50 USD"), "{text}");
    assert!(text.contains(&format!("Order {order}")), "{text}");

    // Testing and Completed still take payment details; Delivered does not offer or take them.
    for stage in ["5", "6", "7"] {
        let response = post(&app, &admin, &path("move"), &[("stage", stage)]).await;
        assert_eq!(response.status(), 303, "stage {stage}");
    }
    let html = page(&app, &manager, &format!("/orders/{order}")).await;
    assert!(
        !html.contains(&format!("action=\"/orders/{order}/payment\"")),
        "{html}"
    );
    let refused = post(
        &app,
        &manager,
        &path("payment"),
        &[("method", "1"), ("amount", "100")],
    )
    .await;
    assert_eq!(refused.status(), 409);
}

#[tokio::test]
async fn the_profile_shows_a_relinked_telegram_account_at_once() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let admin = admin(&app).await;
    for telegram in [5_300_000_010_i64, 5_300_000_011] {
        // The profile page was just read (the session is fresh in the cache) when the bot
        // links the account.
        let html = post(&app, &admin, "/profile/link-code", &[])
            .await
            .text()
            .await
            .unwrap();
        let code: String = html
            .split("/link ")
            .nth(1)
            .map(|rest| rest.chars().take(8).collect())
            .unwrap();
        let staff = User::new(telegram, "Admin", "en");
        sandbox.send(&staff, &format!("/link {code}")).await;
        sandbox.wait_for(telegram, 0, "is now linked to").await;
        let profile = page(&app, &admin, "/profile").await;
        assert!(
            profile.contains(&format!("(id {telegram})")),
            "the profile shows {telegram}: {profile}"
        );
    }
}
