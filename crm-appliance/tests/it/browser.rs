//! A real browser: Debian's chromium, headless, driven over WebDriver (chromedriver) with
//! fantoccini. Logs in with the printed password, is forced to change it, creates a customer
//! and an order through the staff forms, approves and assigns it, drags its card to another
//! Kanban column and reloads to see the move persisted. Then two browser sessions of two
//! staff users side by side: a card one of them drags shows up in the other's board, and a
//! chat message one of them sends shows up in the other's conversation, both without a
//! reload (the `/events` stream, `live.js`, `chat.js`).
//!
//! The browser itself is [`crate::webdriver`].

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::support::{TestApp, spawn_app};
use crate::web_helpers;
use crate::webdriver::{browser, browser_named, click, fill, start_driver};

/// How long a live update may take to show in the other session.
const LIVE_WAIT: Duration = Duration::from_secs(10);

/// Clicks a submit button and waits until the browser has left the current page.
pub async fn submit(client: &Client, selector: &str) -> String {
    let before = path_of(client).await;
    click(client, selector).await;
    for _ in 0..100 {
        let now = path_of(client).await;
        let ready = client
            .execute("return document.readyState", vec![])
            .await
            .is_ok_and(|state| state == "complete");
        if now != before && ready {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let source = client.source().await.unwrap_or_default();
    panic!("submitting {selector} stayed on {before}: {source}");
}

pub async fn path_of(client: &Client) -> String {
    let url = client.current_url().await.unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

#[tokio::test]
async fn a_person_logs_in_changes_the_password_and_drags_a_card_across_the_board() {
    let app = spawn_app();
    let driver = start_driver().await;
    let client = browser(&driver).await;

    // Log in with the printed password; the first login forces a new one.
    client.goto(&app.url("/")).await.unwrap();
    assert!(path_of(&client).await.starts_with("/login"));
    fill(&client, "input[name=username]", "admin").await;
    fill(&client, "input[name=password]", &app.admin_password).await;
    assert_eq!(
        submit(&client, "form[action='/login'] button[type=submit]").await,
        "/profile/password"
    );
    let new_password = "a new and long password";
    fill(&client, "input[name=current_password]", &app.admin_password).await;
    fill(&client, "input[name=new_password]", new_password).await;
    fill(&client, "input[name=confirm_password]", new_password).await;
    assert_eq!(
        submit(
            &client,
            "form[action='/profile/password'] button[type=submit]"
        )
        .await,
        "/profile?done=password"
    );

    // A customer and an order, through the staff forms.
    client.goto(&app.url("/customers/new")).await.unwrap();
    fill(&client, "input[name=first_name]", "Алиса").await;
    let next = submit(&client, "form[action='/customers/new'] button[type=submit]").await;
    assert!(next.starts_with("/orders/new?customer="), "{next}");
    fill(&client, "input[name=title]", "Telegram bot for a bakery").await;
    fill(
        &client,
        "textarea[name=description]",
        "Orders and delivery slots",
    )
    .await;
    fill(&client, "input[name=budget]", "1500").await;
    let order_path = submit(&client, "form[action='/orders'] button[type=submit]").await;
    let order: u64 = order_path.trim_start_matches("/orders/").parse().unwrap();

    // Approve it and assign it, so that it may go in progress.
    assert_eq!(
        submit(
            &client,
            &format!("form[action='/orders/{order}/approve'] button")
        )
        .await,
        format!("/orders/{order}?done=approved")
    );
    assert_eq!(
        submit(
            &client,
            &format!("form[action='/orders/{order}/assign'] button")
        )
        .await,
        format!("/orders/{order}?done=assigned")
    );

    // Drag the card from Approved to In progress (HTML5 drag and drop events, which
    // WebDriver's pointer actions do not produce, dispatched on the real elements).
    client.goto(&app.url("/board")).await.unwrap();
    let card = format!("li.card[data-order='{order}']");
    client
        .wait()
        .for_element(Locator::Css(&format!(
            "section.column[data-stage='2'] {card}"
        )))
        .await
        .unwrap();
    drag(&client, order, 4).await;
    // board.js refreshes the board once the server accepted the move; reload ourselves to be
    // sure the card's place comes from the server.
    let moved = format!("section.column[data-stage='4'] {card}");
    let mut persisted = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.goto(&app.url("/board")).await.unwrap();
        if client.find(Locator::Css(&moved)).await.is_ok() {
            persisted = true;
            break;
        }
    }
    assert!(persisted, "the card stays in In progress after a reload");
    // Under the Content-Security-Policy (no inline style) a column still shows its stage's
    // colour, which app.js applies from data-accent.
    let coloured = client
        .execute(
            r#"
            const column = document.querySelector("section.column[data-stage='4']");
            const probe = document.createElement("span");
            probe.style.color = column.dataset.accent;
            document.body.append(probe);
            const wanted = getComputedStyle(probe).color;
            probe.remove();
            return [getComputedStyle(column).borderTopColor, wanted];
            "#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(coloured[0], coloured[1], "the stage colour of the column");
    assert_ne!(coloured[0], "rgb(156, 163, 175)", "not the default grey");
    client.goto(&app.url(&order_path)).await.unwrap();
    let source = client.source().await.unwrap();
    assert!(
        source.contains("Stage changed"),
        "the timeline shows the move"
    );
    client.close().await.unwrap();
}

/// Drags the card of `order` onto the column of stage `to`: the HTML5 drag and drop events,
/// which WebDriver's pointer actions do not produce, dispatched on the real elements.
async fn drag(client: &Client, order: u64, to: u16) {
    let dragged = client
        .execute(
            r#"
            const card = document.querySelector(`li.card[data-order='${arguments[0]}']`);
            const column = document.querySelector(`section.column[data-stage='${arguments[1]}']`);
            if (!card || !column) return false;
            const data = new DataTransfer();
            const fire = (target, type) => target.dispatchEvent(
                new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: data }));
            fire(card, "dragstart");
            fire(column, "dragover");
            fire(column, "drop");
            fire(card, "dragend");
            return true;
            "#,
            vec![order.into(), to.into()],
        )
        .await
        .unwrap();
    assert_eq!(
        dragged, true,
        "card {order} and column {to} are on the board"
    );
}

/// Polls `script` (which returns a boolean) until it is true, for at most [`LIVE_WAIT`].
pub async fn wait_until(client: &Client, script: &str, args: Vec<serde_json::Value>, what: &str) {
    let deadline = Instant::now() + LIVE_WAIT;
    loop {
        let value = client.execute(script, args.clone()).await.unwrap();
        if value == true {
            return;
        }
        if Instant::now() >= deadline {
            let source = client.source().await.unwrap_or_default();
            let excerpt: String = source.chars().take(3000).collect();
            panic!("{what}: not seen within {LIVE_WAIT:?}; the page: {excerpt}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens `path` and waits until its live stream is connected (`live.js` marks the page once
/// the server's `ready` event arrived), then marks the page so that a reload would show.
pub async fn open_live(client: &Client, app: &TestApp, path: &str) {
    client.goto(&app.url(path)).await.unwrap();
    wait_until(
        client,
        "return document.documentElement.getAttribute('data-live') === 'on'",
        vec![],
        &format!("the live stream of {path}"),
    )
    .await;
    client
        .execute("window.crmNotReloaded = true; return true", vec![])
        .await
        .unwrap();
}

/// Whether the page was not reloaded since [`open_live`].
pub async fn not_reloaded(client: &Client) -> bool {
    client
        .execute("return window.crmNotReloaded === true", vec![])
        .await
        .unwrap()
        == true
}

/// Waits until the board shows the card of `order` in the column of stage `stage`.
pub async fn see_card_in(client: &Client, order: u64, stage: u16, who: &str) {
    wait_until(
        client,
        "return !!document.querySelector(`section.column[data-stage='${arguments[1]}'] li.card[data-order='${arguments[0]}']`)",
        vec![order.into(), stage.into()],
        &format!("{who}: card {order} in stage {stage}"),
    )
    .await;
}

pub async fn log_in(client: &Client, app: &TestApp, username: &str, password: &str) {
    client.goto(&app.url("/login")).await.unwrap();
    fill(client, "input[name=username]", username).await;
    fill(client, "input[name=password]", password).await;
    assert_eq!(
        submit(client, "form[action='/login'] button[type=submit]").await,
        "/",
        "{username} logs in"
    );
}

#[tokio::test]
async fn a_card_move_and_a_chat_message_in_one_session_appear_live_in_another() {
    let app = spawn_app();
    // Two staff users, set up over HTTP (their forced password change included).
    let admin = web_helpers::admin(&app).await;
    let manager_password = web_helpers::create_user(&app, &admin, "manager1", "manager").await;
    web_helpers::first_login(&app, "manager1", &manager_password).await;
    let customer = web_helpers::sandbox_customer(&app, &admin, 7_700_001).await;
    let order = web_helpers::create_order(&app, &admin, customer, "Live board order").await;
    for (path, fields) in [
        (format!("/orders/{order}/approve"), vec![]),
        (format!("/orders/{order}/assign"), vec![("user", "1")]),
    ] {
        let response = web_helpers::post(&app, &admin, &path, &fields).await;
        assert_eq!(response.status(), 303, "{path}");
    }

    let driver = start_driver().await;
    let first = browser_named(&driver, "first").await;
    let second = browser_named(&driver, "second").await;
    log_in(
        &first,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    log_in(
        &second,
        &app,
        "manager1",
        &format!("{manager_password}-changed"),
    )
    .await;

    // The board: the first session drags the card from Approved to In progress; the second
    // sees it arrive. Then the second session, whose board was just refreshed in place, drags
    // it on to Testing, and the first sees that: drag and drop survives a live refresh.
    open_live(&first, &app, "/board").await;
    open_live(&second, &app, "/board").await;
    see_card_in(&second, order, 2, "the second session, before").await;
    drag(&first, order, 4).await;
    see_card_in(&first, order, 4, "the first session, after its own move").await;
    see_card_in(&second, order, 4, "the second session, live").await;
    drag(&second, order, 5).await;
    see_card_in(&first, order, 5, "the first session, live").await;
    see_card_in(&second, order, 5, "the second session, after its own move").await;
    assert!(
        not_reloaded(&first).await,
        "the first board was updated in place"
    );
    assert!(
        not_reloaded(&second).await,
        "the second board was updated in place"
    );

    // The conversation: both sessions open it; the first sends through the form.
    let conversation = format!("/chat/{customer}");
    open_live(&first, &app, &conversation).await;
    open_live(&second, &app, &conversation).await;
    let text = "Your order is in testing — today, 17:00";
    fill(&first, "form[data-chat-send] textarea[name=text]", text).await;
    click(&first, "form[data-chat-send] button[type=submit]").await;
    let shows = "const box = document.querySelector('#chat-messages'); \
                 return !!box && box.innerText.includes(arguments[0]);";
    wait_until(
        &second,
        shows,
        vec![text.into()],
        "the message in the second session",
    )
    .await;
    wait_until(
        &first,
        shows,
        vec![text.into()],
        "the message in the first session",
    )
    .await;
    assert!(
        not_reloaded(&second).await,
        "the message arrived without a reload"
    );
    assert!(not_reloaded(&first).await, "sending did not leave the page");

    first.close().await.unwrap();
    second.close().await.unwrap();
}
