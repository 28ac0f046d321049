//! The chat inbox: conversations newest first with unread counts, sending text and pictures,
//! marking read with an explicit POST (a GET writes nothing), stored files behind the login (and only for those who may see the
//! conversation), and live updates between sessions.

use std::time::Duration;

use serde_json::json;

use crate::staff::{ADMIN_PASSWORD, Api, hidden_value, login, login_admin};
use crate::support::{TestApp, spawn_app};
use crate::web_helpers::{Session, user_with_role};

const WAIT: Duration = Duration::from_secs(10);

/// A valid 1x1 PNG.
pub fn tiny_png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60,
        0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0xe9, 0xfa, 0xdc, 0xd8, 0x00, 0x00, 0x00, 0x00,
        0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ]
}

/// A customer writes to the bot through the sandbox emulator, as Telegram would deliver it.
async fn customer_writes(app: &TestApp, telegram_id: i64, name: &str, text: &str) {
    let response = app
        .sandbox_client()
        .post(app.url(&format!("/sandbox/chats/{telegram_id}/send")))
        .json(&json!({"text": text, "from": {"first_name": name, "language_code": "en"}}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
}

/// Waits until the customer with `telegram_id` has at least `unread` unread messages.
async fn wait_for_unread(api: &Api, telegram_id: i64, unread: u64) -> serde_json::Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, page) = api.get("/conversations").await;
        if let Some(found) = page["items"].as_array().unwrap().iter().find(|customer| {
            customer["telegram_id"] == telegram_id && customer["unread"].as_u64() >= Some(unread)
        }) {
            return found.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no unread message from {telegram_id}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn multipart_text(csrf: &str, text: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("text", text.to_string())
}

#[tokio::test]
async fn the_inbox_lists_conversations_newest_first_with_unread_counts_and_a_post_reads_one() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("inbox").await);
    // Customers that wrote (through the bot) and one the team wrote to.
    let quiet = api.customer(9100, "Quiet").await;
    api.post(
        &format!("/customers/{quiet}/messages"),
        json!({"text": "hi"}),
    )
    .await;
    customer_writes(&app, 9101, "Olga", "hello, I have a question").await;
    let olga = wait_for_unread(&api, 9101, 1).await;

    let html = admin.get_text("/chat").await;
    let olga_at = html
        .find(&format!("href=\"/chat/{}\"", olga["id"]))
        .expect("Olga is listed");
    let quiet_at = html.find(&format!("href=\"/chat/{quiet}\"")).unwrap();
    assert!(olga_at < quiet_at, "newest activity first");
    assert!(html.contains("data-unread="), "the unread count shows");

    let conversation = admin.get_text(&format!("/chat/{}", olga["id"])).await;
    assert!(conversation.contains("hello, I have a question"));
    let (_, customer) = api.get(&format!("/customers/{}", olga["id"])).await;
    assert_eq!(
        customer["unread"], 1,
        "a GET writes nothing, not even the read mark"
    );
    assert!(
        conversation.contains(r#"class="mark-read""#),
        "the page offers to mark it read"
    );
    let response = admin
        .post_form(&format!("/chat/{}/read", olga["id"]), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (_, customer) = api.get(&format!("/customers/{}", olga["id"])).await;
    assert_eq!(customer["unread"], 0, "the explicit POST read it");
}

#[tokio::test]
async fn text_and_a_picture_are_sent_from_the_conversation_and_the_file_is_served_to_staff() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("send").await);
    let customer = api.customer(9200, "Pavel").await;

    let form = multipart_text(&admin.csrf, "Here is the design").part(
        "file",
        reqwest::multipart::Part::bytes(tiny_png())
            .file_name("design.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let response = admin
        .client
        .post(admin.url(&format!("/chat/{customer}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/chat/{customer}"));

    let (_, page) = api.get(&format!("/customers/{customer}/messages")).await;
    let message = &page["items"][0];
    assert_eq!(message["text"], "Here is the design");
    assert_eq!(message["attachments"][0]["kind"], "photo");
    assert_eq!(message["attachments"][0]["file_name"], "design.png");
    let hash = message["attachments"][0]["media"].as_str().unwrap();

    let html = admin.get_text(&format!("/chat/{customer}")).await;
    assert!(html.contains("Here is the design"));
    assert!(
        html.contains(&format!("src=\"/media/{hash}\"")),
        "the picture shows inline"
    );

    let file = admin.get(&format!("/media/{hash}")).await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    assert_eq!(file.bytes().await.unwrap().to_vec(), tiny_png());

    let anonymous = app
        .client()
        .get(app.url(&format!("/media/{hash}")))
        .send()
        .await
        .unwrap();
    assert!(anonymous.status().is_redirection(), "files need a login");
    assert_eq!(
        admin
            .get(&format!("/media/{}", "0".repeat(64)))
            .await
            .status(),
        404
    );
    assert_eq!(admin.get("/media/not-a-hash").await.status(), 404);
}

#[tokio::test]
async fn a_file_in_a_conversation_is_not_found_for_a_worker_and_served_to_a_manager() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("files").await);
    let customer = api.customer(9250, "Vera").await;
    let form = multipart_text(&admin.csrf, "The draft").part(
        "file",
        reqwest::multipart::Part::bytes(tiny_png())
            .file_name("draft.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let response = admin
        .client
        .post(admin.url(&format!("/chat/{customer}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let (_, page) = api.get(&format!("/customers/{customer}/messages")).await;
    let hash = page["items"][0]["attachments"][0]["media"]
        .as_str()
        .unwrap()
        .to_string();

    let administrator = Session {
        client: admin.client.clone(),
        csrf: admin.csrf.clone(),
    };
    let worker = user_with_role(&app, &administrator, "worker1", "worker").await;
    let manager = user_with_role(&app, &administrator, "manager1", "manager").await;
    let path = app.url(&format!("/media/{hash}"));

    let refused = worker.client.get(&path).send().await.unwrap();
    assert_eq!(
        refused.status(),
        404,
        "a worker without chat access is told nothing, not even that the file exists"
    );
    let cached = worker
        .client
        .get(&path)
        .header("if-none-match", format!("\"{hash}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cached.status(),
        404,
        "a cache validator does not bypass the check"
    );

    let served = manager.client.get(&path).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["content-disposition"], "inline");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(served.bytes().await.unwrap().to_vec(), tiny_png());
    let cached = manager
        .client
        .get(&path)
        .header("if-none-match", format!("\"{hash}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);
}

#[tokio::test]
async fn a_bad_message_shows_the_error_and_keeps_the_text_and_a_bad_token_is_refused() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("errors").await);
    let customer = api.customer(9300, "Err").await;
    let long = "x".repeat(5000);
    let response = admin
        .client
        .post(admin.url(&format!("/chat/{customer}")))
        .multipart(multipart_text(&admin.csrf, &long))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("data-field=\"text\""),
        "the error is beside the text"
    );
    assert!(html.contains(&long[..100]));

    let forged = admin
        .client
        .post(admin.url(&format!("/chat/{customer}")))
        .multipart(multipart_text("forged", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let (_, page) = api.get(&format!("/customers/{customer}/messages")).await;
    assert!(
        page["items"].as_array().unwrap().is_empty(),
        "nothing was sent"
    );
    assert_eq!(admin.get("/chat/999").await.status(), 404);
}

#[tokio::test]
async fn a_message_sent_in_one_session_appears_live_in_another() {
    let app = spawn_app();
    let first = login_admin(&app).await;
    let second = login(&app, "admin", ADMIN_PASSWORD).await;
    let api = Api::new(&app, &first.create_token("live").await);
    let customer = api.customer(9400, "Live").await;
    let page = second.get_text(&format!("/chat/{customer}")).await;
    assert!(page.contains("/assets/js/live.js") && page.contains("/assets/js/chat.js"));
    assert!(page.contains(&format!("data-chat-customer=\"{customer}\"")));
    let mut events = second.events(None).await;
    events.next_within(WAIT).await.unwrap();

    let response = first
        .client
        .post(first.url(&format!("/chat/{customer}")))
        .multipart(multipart_text(&first.csrf, "sent from the first tab"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let event = events
        .next_of("message", WAIT)
        .await
        .expect("a live message event");
    assert_eq!(event.json()["customer"], customer);
    assert_eq!(event.json()["summary"], "sent from the first tab");
    // What chat.js does on the event: fetch the page again and swap the messages.
    let fresh = second.get_text(&format!("/chat/{customer}")).await;
    assert!(fresh.contains("sent from the first tab"));

    // A customer's message arrives live too.
    customer_writes(&app, 9400, "Live", "answer from Telegram").await;
    // The delivery report of the message above may come first.
    let mut event = events.next_of("message", WAIT).await.unwrap();
    while event.json()["action"] == "message.delivery" {
        event = events.next_of("message", WAIT).await.unwrap();
    }
    assert_eq!(event.json()["action"], "message.created");
    assert_eq!(event.json()["summary"], "answer from Telegram");
}

#[tokio::test]
async fn the_scripts_of_live_pages_are_served() {
    let app = spawn_app();
    for path in ["/assets/js/live.js", "/assets/js/chat.js"] {
        let response = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains("crmLive"), "{path}");
    }
    let _ = hidden_value("", "csrf");
}
