//! Telegram fidelity (issue 12) through the sandbox emulator: every kind a customer sends
//! reaches the conversation page, every kind staff send leaves with the right Bot API method
//! (replies quoted), a customer's edit keeps the earlier text, and staff edits and deletes
//! reach Telegram.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bot_support::{Sandbox, User};
use crate::staff::{Api, login_admin};
use crate::support::{TestApp, spawn_app};

const WAIT: Duration = Duration::from_secs(20);

/// A 1x1 PNG (photos) and the first bytes of a .webp (stickers: the type is taken from the
/// upload).
fn png() -> Vec<u8> {
    crate::chat::tiny_png()
}

fn webp() -> Vec<u8> {
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00".to_vec()
}

/// The customer sends a JSON message through the control API (kinds, replies); returns its
/// Telegram message id.
pub(crate) async fn send_json(sandbox: &Sandbox, user: &User, mut body: Value) -> i64 {
    body["from"] = json!({"first_name": user.first_name, "language_code": user.language_code});
    let answer: Value = sandbox
        .http
        .post(sandbox.url(&format!("/sandbox/chats/{}/send", user.id)))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    answer["message_id"].as_i64().unwrap()
}

/// The customer sends a file of `kind` (multipart), optionally as a part of an album.
pub(crate) async fn send_file(
    sandbox: &Sandbox,
    user: &User,
    kind: &str,
    mime: &str,
    bytes: Vec<u8>,
    group: Option<&str>,
) -> i64 {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(format!("file.{}", mime.rsplit('/').next().unwrap_or("bin")))
        .mime_str(mime)
        .unwrap();
    let mut form = reqwest::multipart::Form::new()
        .text("first_name", user.first_name.clone())
        .text("language_code", user.language_code.clone())
        .part(kind.to_string(), part);
    if let Some(group) = group {
        form = form.text("media_group_id", group.to_string());
    }
    let answer: Value = sandbox
        .http
        .post(sandbox.url(&format!("/sandbox/chats/{}/send", user.id)))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    answer["message_id"].as_i64().unwrap()
}

/// The appliance's customer id of a Telegram user, once their first message arrived.
pub(crate) async fn customer_of(api: &Api, telegram_id: i64) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, page) = api.get("/conversations").await;
        if let Some(found) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|customer| customer["telegram_id"] == telegram_id)
        {
            return found["id"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "no customer {telegram_id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the conversation's messages (newest first) satisfy `done`, and returns them.
pub(crate) async fn messages_until(
    api: &Api,
    customer: u64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, page) = api
            .get(&format!("/customers/{customer}/messages?limit=100"))
            .await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if done(&items) {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "the conversation never got there: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the emulator counted `method` at least `count` times.
async fn called(sandbox: &Sandbox, method: &str, count: u64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let stats = sandbox.stats().await;
        if stats["calls"][method].as_u64().unwrap_or(0) >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{method} was not called {count} times: {stats:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the bot's messages in the chat contain one matching `found`, and returns it.
pub(crate) async fn bot_message(
    sandbox: &Sandbox,
    user: i64,
    found: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let messages = sandbox.bot_messages(user).await;
        if let Some(message) = messages.iter().find(|message| found(message)) {
            return message.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no such bot message: {messages:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Uploads a file through the API; returns the upload's answer (its `hash`).
async fn upload(api: &Api, mime: &str, bytes: Vec<u8>) -> Value {
    let response = api
        .client
        .post(format!("{}/media", api.base))
        .bearer_auth(&api.token)
        .header("content-type", mime)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

fn kind_of(message: &Value) -> &str {
    message["content"]["kind"].as_str().unwrap_or("")
}

pub(crate) async fn setup() -> (TestApp, crate::staff::Browser, Api) {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("fidelity").await);
    (app, admin, api)
}

#[tokio::test]
async fn every_kind_a_customer_sends_reaches_the_conversation_page() {
    let (app, admin, api) = setup().await;
    let sandbox = Sandbox::of(&app);
    let user = User::new(9701, "Vera", "en");
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
        json!({"venue": {"latitude": 59.9343, "longitude": 30.3351, "title": "Hermitage", "address": "Palace Square 2"}}),
    )
    .await;
    send_json(
        &sandbox,
        &user,
        json!({"contact": {"phone_number": "79001234567", "first_name": "Vera", "last_name": "K"}}),
    )
    .await;
    send_json(
        &sandbox,
        &user,
        json!({"dice": {"emoji": "🎲", "value": 4}}),
    )
    .await;
    send_json(
        &sandbox,
        &user,
        json!({"poll": {"question": "Which colour?", "options": ["Red", "Blue"]}}),
    )
    .await;
    send_file(&sandbox, &user, "sticker", "image/webp", webp(), None).await;
    send_file(&sandbox, &user, "audio", "audio/mpeg", vec![1, 2, 3], None).await;
    send_file(
        &sandbox,
        &user,
        "video_note",
        "video/mp4",
        vec![4, 5, 6],
        None,
    )
    .await;
    send_file(
        &sandbox,
        &user,
        "photo",
        "image/png",
        png(),
        Some("album-1"),
    )
    .await;
    let mut second = png();
    second.push(0);
    send_file(
        &sandbox,
        &user,
        "photo",
        "image/png",
        second,
        Some("album-1"),
    )
    .await;
    send_json(
        &sandbox,
        &user,
        json!({"text": "see my first message", "reply_to_message_id": hello}),
    )
    .await;
    // An animated sticker without a thumbnail: only its emoji (a raw update, as Telegram
    // sends it).
    sandbox
        .inject(
            &json!({"update_id": 1, "message": {
                "message_id": 90001, "date": 1_700_000_000,
                "chat": {"id": user.id, "type": "private", "first_name": "Vera"},
                "from": {"id": user.id, "is_bot": false, "first_name": "Vera", "language_code": "en"},
                "sticker": {"file_id": "CAACanimated", "file_unique_id": "AQADanim", "type": "regular",
                    "width": 512, "height": 512, "is_animated": true, "is_video": false, "emoji": "🎉"}
            }}),
            1,
            false,
        )
        .await;

    let messages = messages_until(&api, customer, |items| {
        items.iter().any(|message| {
            message["content"]["kind"] == "sticker" && message["content"]["animated"] == true
        }) && items
            .iter()
            .any(|message| message["text"] == "see my first message")
    })
    .await;
    for kind in ["location", "venue", "contact", "dice", "poll"] {
        assert!(
            messages.iter().any(|message| kind_of(message) == kind),
            "{kind}: {messages:#?}"
        );
    }
    let sticker = messages
        .iter()
        .find(|message| kind_of(message) == "sticker" && message["content"]["animated"] == false)
        .unwrap();
    assert_eq!(sticker["attachments"][0]["kind"], "sticker");
    let album: Vec<&Value> = messages
        .iter()
        .filter(|message| message["media_group"] == "album-1")
        .collect();
    assert_eq!(album.len(), 1, "an album is one message");
    assert_eq!(album[0]["attachments"].as_array().unwrap().len(), 2);
    for kind in ["audio", "video_note"] {
        assert!(
            messages
                .iter()
                .any(|message| message["attachments"][0]["kind"] == kind),
            "{kind}"
        );
    }
    let reply = messages
        .iter()
        .find(|message| message["text"] == "see my first message")
        .unwrap();
    let first = messages
        .iter()
        .find(|message| message["text"] == "hello")
        .unwrap();
    assert_eq!(reply["reply_to"], first["id"]);

    let page = admin.get_text(&format!("/chat/{customer}")).await;
    for needle in [
        "https://www.openstreetmap.org/?mlat=55.755800&amp;mlon=37.617300",
        "Hermitage",
        "contact-card",
        "tel:79001234567",
        "Which colour?",
        "class=\"attachment sticker\"",
        "sticker-placeholder",
        "class=\"album\"",
        "blockquote class=\"quote\"",
        "Use as the customer",
    ] {
        assert!(page.contains(needle), "{needle} missing in {page}");
    }
    // The contact's phone becomes the customer's phone with one button.
    let contact = messages
        .iter()
        .find(|message| kind_of(message) == "contact")
        .unwrap();
    let response = admin
        .post_form(
            &format!("/chat/{customer}/messages/{}/phone", contact["id"]),
            &[],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, record) = api.get(&format!("/customers/{customer}")).await;
    assert_eq!(record["phone"], "+79001234567");
}

#[tokio::test]
async fn every_kind_staff_send_leaves_with_its_method_and_replies_quote() {
    let (app, _admin, api) = setup().await;
    let sandbox = Sandbox::of(&app);
    let user = User::new(9702, "Gleb", "en");
    let question = sandbox.send(&user, "where are you?").await;
    let customer = customer_of(&api, user.id).await;
    let path = format!("/customers/{customer}/messages");
    let messages = messages_until(&api, customer, |items| !items.is_empty()).await;
    let asked = messages[0]["id"].as_u64().unwrap();

    let (status, body) = api
        .post(
            &path,
            json!({"content": {"kind": "location", "latitude": 52.52, "longitude": 13.405}, "reply_to": asked}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let location = bot_message(&sandbox, user.id, |message| {
        message.get("location").is_some()
    })
    .await;
    assert_eq!(
        location["reply_to_message_id"], question,
        "a Telegram reply"
    );
    let (status, body) = api
        .post(
            &path,
            json!({"content": {"kind": "venue", "latitude": 52.5163, "longitude": 13.3777, "title": "Brandenburg Gate", "address": "Pariser Platz"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    bot_message(&sandbox, user.id, |message| {
        message["venue"]["title"] == "Brandenburg Gate"
    })
    .await;
    let (status, body) = api
        .post(
            &path,
            json!({"content": {"kind": "contact", "phone": "+4930123456", "first_name": "Office"}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    bot_message(&sandbox, user.id, |message| {
        message["contact"]["first_name"] == "Office"
    })
    .await;
    // A sticker: an uploaded .webp sent as one.
    let media = upload(&api, "image/webp", webp()).await;
    let (status, body) = api
        .post(
            &path,
            json!({"content": {"kind": "sticker"}, "attachments": [{"media": media["hash"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    bot_message(&sandbox, user.id, |message| {
        message["media"]["kind"] == "sticker"
    })
    .await;
    // An album: two pictures in one sendMediaGroup.
    let mut hashes = Vec::new();
    for extra in [0u8, 1] {
        let mut bytes = png();
        bytes.push(extra);
        let media = upload(&api, "image/png", bytes).await;
        hashes.push(json!({"media": media["hash"]}));
    }
    let (status, body) = api
        .post(&path, json!({"text": "two views", "attachments": hashes}))
        .await;
    assert_eq!(status, 201, "{body}");
    called(&sandbox, "sendMediaGroup", 1).await;
    for method in ["sendLocation", "sendVenue", "sendContact", "sendSticker"] {
        called(&sandbox, method, 1).await;
    }
}

#[tokio::test]
async fn a_customer_edit_shows_the_new_text_and_keeps_the_old_one() {
    let (app, admin, api) = setup().await;
    let sandbox = Sandbox::of(&app);
    let user = User::new(9703, "Inna", "en");
    let sent = sandbox.send(&user, "deliver on Monday").await;
    let customer = customer_of(&api, user.id).await;
    messages_until(&api, customer, |items| !items.is_empty()).await;
    let answer: Value = sandbox
        .http
        .post(sandbox.url(&format!("/sandbox/chats/{}/edit", user.id)))
        .json(&json!({"message_id": sent, "text": "deliver on Tuesday"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    let messages = messages_until(&api, customer, |items| {
        items
            .iter()
            .any(|message| message["text"] == "deliver on Tuesday")
    })
    .await;
    let edited = messages
        .iter()
        .find(|message| message["text"] == "deliver on Tuesday")
        .unwrap();
    assert_eq!(edited["edits"][0]["text"], "deliver on Monday");
    assert_eq!(
        messages.len(),
        1,
        "the edit updates the message in place: {messages:#?}"
    );
    let page = admin.get_text(&format!("/chat/{customer}")).await;
    assert!(page.contains("details class=\"history\""), "{page}");
    assert!(page.contains("deliver on Monday"));
}

#[tokio::test]
async fn staff_edits_and_deletes_reach_telegram() {
    let (app, admin, api) = setup().await;
    let sandbox = Sandbox::of(&app);
    let user = User::new(9704, "Oleg", "en");
    sandbox.send(&user, "hi").await;
    let customer = customer_of(&api, user.id).await;
    let path = format!("/customers/{customer}/messages");
    let (_, text) = api.post(&path, json!({"text": "price is 100"})).await;
    let media = upload(&api, "image/png", png()).await;
    let (_, photo) = api
        .post(
            &path,
            json!({"text": "the draft", "attachments": [{"media": media["hash"]}]}),
        )
        .await;
    let (_, oops) = api
        .post(&path, json!({"text": "wrong customer, sorry"}))
        .await;
    messages_until(&api, customer, |items| {
        items
            .iter()
            .filter(|message| message["delivery"] == "sent")
            .count()
            >= 3
    })
    .await;

    let (status, edited) = api
        .post(
            &format!("/messages/{}/edit", text["id"]),
            json!({"text": "price is 120"}),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["edits"][0]["text"], "price is 100");
    bot_message(&sandbox, user.id, |message| {
        message["text"] == "price is 120" && message["edited"] == true
    })
    .await;
    // The caption of a picture is edited with editMessageCaption, from the page's form.
    let response = admin
        .post_form(
            &format!("/chat/{customer}/messages/{}/edit", photo["id"]),
            &[("text", "the final design")],
        )
        .await;
    assert_eq!(response.status(), 303);
    bot_message(&sandbox, user.id, |message| {
        message["caption"] == "the final design"
    })
    .await;
    called(&sandbox, "editMessageCaption", 1).await;
    // A delete removes it from the chat.
    let response = api
        .client
        .delete(app.url(&format!("/api/v1/messages/{}", oops["id"])))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    called(&sandbox, "deleteMessage", 1).await;
    let deadline = Instant::now() + WAIT;
    while sandbox
        .bot_messages(user.id)
        .await
        .iter()
        .any(|message| message["text"] == "wrong customer, sorry")
    {
        assert!(Instant::now() < deadline, "the message stayed in the chat");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = admin.get_text(&format!("/chat/{customer}")).await;
    assert!(page.contains("class=\"deleted-label\""), "{page}");

    // An album is one message of the conversation and two of Telegram's: deleting it
    // deletes both (deleteMessages with every part).
    let pictures = |messages: &[Value]| {
        messages
            .iter()
            .filter(|message| message["media"]["kind"] == "photo")
            .count()
    };
    let before = pictures(&sandbox.bot_messages(user.id).await);
    let second = upload(&api, "image/png", [png(), b"another".to_vec()].concat()).await;
    let (status, album) = api
        .post(
            &path,
            json!({"text": "two options", "attachments": [{"media": media["hash"]}, {"media": second["hash"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{album}");
    messages_until(&api, customer, |items| {
        items
            .iter()
            .any(|message| message["id"] == album["id"] && message["delivery"] == "sent")
    })
    .await;
    assert_eq!(pictures(&sandbox.bot_messages(user.id).await), before + 2);
    let response = api
        .client
        .delete(app.url(&format!("/api/v1/messages/{}", album["id"])))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    called(&sandbox, "deleteMessages", 1).await;
    let deadline = Instant::now() + WAIT;
    while pictures(&sandbox.bot_messages(user.id).await) != before {
        assert!(Instant::now() < deadline, "a part of the album stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
