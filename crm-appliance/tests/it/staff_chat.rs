//! Staff working from Telegram (issue 12) through the real binary and the sandbox emulator: a
//! linked operator's notice of a customer's message answered by replying to it, and the staff
//! supergroup's forum mirrored both ways (a topic per customer, staff writing in it, `/note`
//! kept internal, closing in the web closing the topic).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bot_support::{PATIENCE, Sandbox, User};
use crate::chat::tiny_png;
use crate::operators::{customer_id, customer_writes, link};
use crate::staff::{Api, Browser, login_admin};
use crate::support::{spawn_app, spawn_app_with};

/// Waits until the conversation page of `customer` shows `needle`.
async fn page_shows(browser: &Browser, customer: u64, needle: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let html = browser.get_text(&format!("/chat/{customer}")).await;
        if html.contains(needle) {
            return html;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} on the page: {html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn forum(sandbox: &Sandbox, chat: i64) -> Value {
    let response = sandbox
        .http
        .get(sandbox.url(&format!("/sandbox/forums/{chat}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits until forum `chat` satisfies `done`.
async fn forum_when(sandbox: &Sandbox, chat: i64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let view = forum(sandbox, chat).await;
        if done(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "{view:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the forum has a message in `thread` (`None`: General) containing `needle`.
fn has_message(view: &Value, thread: Option<i64>, needle: &str) -> bool {
    view["messages"].as_array().unwrap().iter().any(|message| {
        message["message_thread_id"].as_i64() == thread
            && message["text"]
                .as_str()
                .is_some_and(|text| text.contains(needle))
    })
}

async fn forum_send(sandbox: &Sandbox, chat: i64, from: &User, thread: Option<i64>, text: &str) {
    let response = sandbox
        .http
        .post(sandbox.url(&format!("/sandbox/forums/{chat}/send")))
        .json(&json!({
            "text": text,
            "message_thread_id": thread,
            "from": {"id": from.id, "first_name": from.first_name},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// `from` sends a photo with `caption`: with `forum`, in `thread` of that forum; without, in
/// their private chat as a reply to the bot's message `reply_to`.
async fn send_photo(
    sandbox: &Sandbox,
    from: &User,
    forum: Option<i64>,
    thread: i64,
    reply_to: i64,
    caption: &str,
) {
    let part = reqwest::multipart::Part::bytes(tiny_png())
        .file_name("part.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("caption", caption.to_string())
        .part("photo", part);
    let (path, form) = match forum {
        Some(chat) => (
            format!("/sandbox/forums/{chat}/send"),
            form.text("message_thread_id", thread.to_string()).text(
                "from",
                json!({"id": from.id, "first_name": from.first_name}).to_string(),
            ),
        ),
        None => (
            format!("/sandbox/chats/{}/send", from.id),
            form.text("reply_to_message_id", reply_to.to_string())
                .text("first_name", from.first_name.clone()),
        ),
    };
    let response = sandbox
        .http
        .post(sandbox.url(&path))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// Waits for a bot message to `user` after the first `after` that is a photo captioned
/// `caption`.
async fn photo_arrives(sandbox: &Sandbox, user: i64, after: usize, caption: &str) {
    let message = sandbox.wait_for(user, after, caption).await;
    assert_eq!(message["media"]["kind"], "photo", "a photo: {message:#}");
}

#[tokio::test]
async fn a_linked_operator_answers_a_customer_by_replying_to_the_notice_in_telegram() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let sandbox = Sandbox::of(&app);
    let staff = User::new(5_400_000_001, "Admin", "en");
    link(&admin, &sandbox, &staff).await;
    let seen = sandbox.bot_messages(staff.id).await.len();
    let customer = User::new(5_400_000_002, "Nina", "en");
    customer_writes(&sandbox, &customer, "Is my sign ready?").await;
    let notice = sandbox
        .wait_for(staff.id, seen, "Reply to this message to answer")
        .await;
    let notice_text = notice["text"].as_str().unwrap();
    assert!(notice_text.contains("Nina"), "{notice:#}");
    assert!(notice_text.contains("Is my sign ready?"), "{notice:#}");

    // The operator replies to the notice in their private chat.
    let customer_seen = sandbox.bot_messages(customer.id).await.len();
    sandbox
        .inject(
            &json!({
                "update_id": 1,
                "message": {
                    "message_id": 90_001,
                    "date": 1_767_600_000,
                    "chat": {"id": staff.id, "type": "private", "first_name": "Admin"},
                    "from": {"id": staff.id, "is_bot": false, "first_name": "Admin"},
                    "text": "Yes, pick it up tomorrow",
                    "reply_to_message": {
                        "message_id": notice["message_id"],
                        "date": 1_767_600_000,
                        "chat": {"id": staff.id, "type": "private", "first_name": "Admin"},
                        "from": {"id": 1_000_000, "is_bot": true, "first_name": "CRM Sandbox Bot"},
                        "text": notice_text,
                    },
                },
            }),
            1,
            false,
        )
        .await;
    sandbox
        .wait_for(customer.id, customer_seen, "Yes, pick it up tomorrow")
        .await;
    let api = Api::new(&app, &admin.create_token("staffgram").await);
    let id = customer_id(&api, customer.id).await;
    page_shows(&admin, id, "Yes, pick it up tomorrow").await;

    // A photo replying to the notice goes to the customer as a photo, and the web keeps it.
    let customer_seen = sandbox.bot_messages(customer.id).await.len();
    let notice_id = notice["message_id"].as_i64().unwrap();
    send_photo(&sandbox, &staff, None, 0, notice_id, "This is your sign").await;
    photo_arrives(&sandbox, customer.id, customer_seen, "This is your sign").await;
    let page = page_shows(&admin, id, "This is your sign").await;
    assert!(page.contains("/media/"), "the photo is shown: {page}");

    // A location is not sent from Telegram: the operator is told why, the customer gets
    // nothing.
    let staff_seen = sandbox.bot_messages(staff.id).await.len();
    let customer_seen = sandbox.bot_messages(customer.id).await.len();
    let shared = sandbox
        .http
        .post(sandbox.url(&format!("/sandbox/chats/{}/send", staff.id)))
        .json(&json!({
            "location": {"latitude": 55.75, "longitude": 37.62},
            "reply_to_message_id": notice_id,
            "from": {"first_name": "Admin"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(shared.status(), 200);
    sandbox
        .wait_for(staff.id, staff_seen, "not sent to customers from Telegram")
        .await;
    assert_eq!(
        sandbox.bot_messages(customer.id).await.len(),
        customer_seen,
        "nothing reached the customer"
    );
}

#[tokio::test]
async fn the_staff_forum_mirrors_a_conversation_both_ways_keeps_notes_internal_and_closes_with_it()
{
    let app = spawn_app_with(&["--template", "helpdesk"]);
    let admin = login_admin(&app).await;
    let sandbox = Sandbox::of(&app);
    let staff = User::new(5_400_000_011, "Admin", "en");
    link(&admin, &sandbox, &staff).await;
    let group: i64 = -1_005_400_000_001;
    let created = sandbox
        .http
        .post(sandbox.url("/sandbox/forums"))
        .json(&json!({"id": group, "title": "Support team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);

    // The administrator links the group with a code from the settings page.
    let made = admin.post_form("/settings/staff-group/code", &[]).await;
    assert!(made.status().is_redirection(), "{}", made.status());
    let page = admin.get_text("/settings/staff-group").await;
    let marker = "/link ";
    let start = page.find(marker).expect("the page shows /link CODE") + marker.len();
    let code: String = page[start..].chars().take(8).collect();
    forum_send(&sandbox, group, &staff, None, &format!("/link {code}")).await;
    forum_when(&sandbox, group, |view| {
        has_message(view, None, "now the staff group")
    })
    .await;
    let settings = admin.get_text("/settings/staff-group").await;
    assert!(settings.contains("Support team"), "{settings}");

    // The customer writes: a topic named after them, with their message in it.
    let customer = User::new(5_400_000_012, "Oleg", "en");
    customer_writes(&sandbox, &customer, "My laptop will not boot").await;
    let view = forum_when(&sandbox, group, |view| {
        has_message(
            view,
            view["topics"][0]["message_thread_id"].as_i64(),
            "My laptop will not boot",
        )
    })
    .await;
    assert_eq!(view["topics"].as_array().unwrap().len(), 1, "{view:#}");
    assert_eq!(view["topics"][0]["name"], "Oleg");
    let thread = view["topics"][0]["message_thread_id"].as_i64().unwrap();

    // Staff answer in the topic: the customer receives it, the web shows it.
    let customer_seen = sandbox.bot_messages(customer.id).await.len();
    forum_send(
        &sandbox,
        group,
        &staff,
        Some(thread),
        "Hold the power button",
    )
    .await;
    sandbox
        .wait_for(customer.id, customer_seen, "Hold the power button")
        .await;
    let api = Api::new(&app, &admin.create_token("staffgram").await);
    let id = customer_id(&api, customer.id).await;
    page_shows(&admin, id, "Hold the power button").await;

    // A photo in the topic reaches the customer as a photo, and is not mirrored back.
    let customer_seen = sandbox.bot_messages(customer.id).await.len();
    send_photo(
        &sandbox,
        &staff,
        Some(group),
        thread,
        0,
        "Where the button is",
    )
    .await;
    photo_arrives(&sandbox, customer.id, customer_seen, "Where the button is").await;
    page_shows(&admin, id, "Where the button is").await;
    let view = forum(&sandbox, group).await;
    let copies = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| {
            message["caption"]
                .as_str()
                .is_some_and(|c| c.contains("Where the button is"))
        })
        .count();
    assert_eq!(
        copies, 1,
        "only the staff's own message, no mirror copy: {view:#}"
    );

    // A /note stays internal: stored as a note, the customer gets nothing.
    forum_send(
        &sandbox,
        group,
        &staff,
        Some(thread),
        "/note warranty expired last month",
    )
    .await;
    forum_when(&sandbox, group, |view| {
        has_message(view, Some(thread), "Private note saved")
    })
    .await;
    page_shows(&admin, id, "warranty expired last month").await;
    let customer_chat = sandbox.bot_messages(customer.id).await;
    assert!(
        customer_chat
            .iter()
            .all(|message| !message["text"].as_str().unwrap_or("").contains("warranty")),
        "{customer_chat:#?}"
    );
    // A note written in the web is copied into the topic (the group is staff only); the
    // topic's own /note is not copied back.
    let noted = admin
        .post_form(
            &format!("/chat/{id}/note"),
            &[("text", "Customer prefers calls after 6 pm")],
        )
        .await;
    assert!(noted.status().is_success() || noted.status().is_redirection());
    let view = forum_when(&sandbox, group, |view| {
        has_message(view, Some(thread), "Customer prefers calls after 6 pm")
    })
    .await;
    let warranty = view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|message| {
            message["text"]
                .as_str()
                .is_some_and(|text| text.contains("warranty"))
        })
        .count();
    assert_eq!(warranty, 1, "the topic's own /note only: {view:#}");
    // A staff message from the web is mirrored into the topic.
    let sent = admin
        .client
        .post(admin.url(&format!("/chat/{id}")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", admin.csrf.clone())
                .text("text", "Bring it to the shop"),
        )
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success() || sent.status().is_redirection());
    forum_when(&sandbox, group, |view| {
        has_message(view, Some(thread), "Bring it to the shop")
    })
    .await;

    // Closing the conversation in the web closes the topic.
    let closed = admin.post_form(&format!("/chat/{id}/close"), &[]).await;
    assert!(closed.status().is_success() || closed.status().is_redirection());
    forum_when(&sandbox, group, |view| view["topics"][0]["closed"] == true).await;
}
