//! Outbox delivery against a misbehaving Bot API: the emulator answers 429 with retry_after,
//! 5xx and 403 on demand, and every notification still arrives exactly once (or, after a
//! 403, is not retried); sends respect Telegram's rate limits.

use std::time::Duration;

use serde_json::json;

use crate::bot_support::{Sandbox, User, place_order, start_customer, text};
use crate::support::{TestApp, spawn_app};
use crate::web_helpers::{Session, admin, post};

fn count(messages: &[serde_json::Value], needle: &str) -> usize {
    messages
        .iter()
        .filter(|message| text(message).contains(needle))
        .count()
}

/// A fresh appliance, its sandbox and an administrator's session, with an English-speaking
/// customer (`id`, `first_name`) who has placed an order titled `title` through the bot;
/// returns them with the order number.
async fn customer_with_an_order(
    id: i64,
    first_name: &str,
    title: &str,
) -> (TestApp, Sandbox, Session, User, u64) {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let session = admin(&app).await;
    let customer = User::new(id, first_name, "en");
    let menu = start_customer(&sandbox, &customer, "en").await;
    let order = place_order(&sandbox, &customer, &menu, title, None).await;
    (app, sandbox, session, customer, order)
}

#[tokio::test]
async fn a_notification_arrives_exactly_once_through_429_and_5xx_answers() {
    let (app, sandbox, session, customer, order) =
        customer_with_an_order(5_300_000_001, "Ivy", "Menu cards").await;
    sandbox
        .fault(json!([
            {"method": "sendMessage", "chat_id": customer.id, "status": 429, "retry_after": 1, "times": 1},
            {"method": "sendMessage", "chat_id": customer.id, "status": 502, "times": 1},
            {"method": "sendMessage", "chat_id": customer.id, "status": 500, "times": 1},
        ]))
        .await;
    let seen = sandbox.bot_messages(customer.id).await.len();
    post(&app, &session, &format!("/orders/{order}/approve"), &[]).await;
    sandbox.wait_for(customer.id, seen, "was approved").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let messages = sandbox.bot_messages(customer.id).await;
    assert_eq!(count(&messages, "was approved"), 1, "{messages:#?}");
    let stats = sandbox.stats().await;
    assert_eq!(stats["calls"]["sendMessage (fault)"], 3, "{stats:#}");
}

#[tokio::test]
async fn a_403_marks_the_customer_unreachable_and_is_not_retried_until_they_write_again() {
    let (app, sandbox, session, customer, order) =
        customer_with_an_order(5_300_000_002, "Jack", "Flyers").await;
    sandbox
        .fault(
            json!({"method": "sendMessage", "chat_id": customer.id, "status": 403, "times": 100}),
        )
        .await;
    let seen = sandbox.bot_messages(customer.id).await.len();
    post(&app, &session, &format!("/orders/{order}/approve"), &[]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = sandbox.stats().await;
    assert_eq!(
        stats["calls"]["sendMessage (fault)"], 1,
        "one attempt only: {stats:#}"
    );
    // Later notifications are not even attempted while the customer is unreachable.
    post(
        &app,
        &session,
        &format!("/orders/{order}/assign"),
        &[("user", "1")],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = sandbox.stats().await;
    assert_eq!(stats["calls"]["sendMessage (fault)"], 1, "{stats:#}");
    assert_eq!(sandbox.bot_messages(customer.id).await.len(), seen);
    // Writing to the bot makes them reachable again; the next change reaches them.
    sandbox
        .http
        .delete(sandbox.url("/sandbox/faults"))
        .send()
        .await
        .unwrap();
    sandbox.send(&customer, "I unblocked you").await;
    sandbox
        .wait_for(customer.id, seen, "Sent to the team")
        .await;
    let seen = sandbox.bot_messages(customer.id).await.len();
    post(
        &app,
        &session,
        &format!("/orders/{order}/move"),
        &[("stage", "4")],
    )
    .await;
    sandbox.wait_for(customer.id, seen, "In progress").await;
}

#[tokio::test]
async fn a_customer_who_blocks_the_bot_gets_no_sends_until_they_unblock() {
    let (app, sandbox, session, customer, order) =
        customer_with_an_order(5_300_000_003, "Kate", "Poster").await;
    let http = sandbox.http.clone();
    let blocked = http
        .post(sandbox.url(&format!("/sandbox/chats/{}/block", customer.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);
    sandbox.drained().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = sandbox.stats().await["calls"]["sendMessage"].clone();
    post(&app, &session, &format!("/orders/{order}/approve"), &[]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = sandbox.stats().await;
    assert_eq!(
        stats["calls"]["sendMessage"], before,
        "no send to a blocked chat: {stats:#}"
    );
    http.post(sandbox.url(&format!("/sandbox/chats/{}/unblock", customer.id)))
        .send()
        .await
        .unwrap();
    sandbox.drained().await;
    let seen = sandbox.bot_messages(customer.id).await.len();
    post(
        &app,
        &session,
        &format!("/orders/{order}/assign"),
        &[("user", "1")],
    )
    .await;
    sandbox
        .wait_for(customer.id, seen, "is now working on your order")
        .await;
}

#[tokio::test]
async fn replies_to_one_chat_leave_at_most_one_per_second_and_thirty_per_second_overall() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let customer = User::new(5_300_000_004, "Liam", "en");
    start_customer(&sandbox, &customer, "en").await;
    let before = sandbox.bot_messages(customer.id).await.len();
    for _ in 0..4 {
        sandbox.send(&customer, "/help").await;
    }
    sandbox.nth_bot_message(customer.id, before + 4).await;
    let messages = sandbox.bot_messages(customer.id).await;
    let times: Vec<i64> = messages[before..]
        .iter()
        .map(|message| message["sent_at_ms"].as_i64().unwrap())
        .collect();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= 900,
            "replies {times:?} closer than a second"
        );
    }
    // Forty customers at once: no second carries more than thirty sends.
    let users: Vec<User> = (0..40)
        .map(|index| User::new(5_300_100_000 + index, "Crowd", "en"))
        .collect();
    for user in &users {
        sandbox.send(user, "/start").await;
    }
    for user in &users {
        sandbox.nth_bot_message(user.id, 1).await;
    }
    let stats = sandbox.stats().await;
    let mut sends: Vec<i64> = stats["sends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|send| send[1].as_i64().unwrap())
        .collect();
    sends.sort_unstable();
    for (index, start) in sends.iter().enumerate() {
        let in_window = sends[index..]
            .iter()
            .take_while(|at| **at < start + 1000)
            .count();
        assert!(
            in_window <= 30,
            "{in_window} sends within a second from {start}"
        );
    }
}
