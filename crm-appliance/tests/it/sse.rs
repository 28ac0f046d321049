//! /events: one live stream per session with the order and chat changes its user may see,
//! resuming after Last-Event-ID (also across a restart), ending with the session.

use std::time::Duration;

use serde_json::json;

use crate::staff::{Api, login_admin};
use crate::support::spawn_app;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn an_order_change_arrives_live_on_the_stream() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("sse").await);
    let customer = api.customer(8001, "Live").await;
    let mut events = admin.events(None).await;
    let ready = events.next_within(WAIT).await.unwrap();
    assert_eq!(ready.event, "ready");
    let start: u64 = ready.id.parse().unwrap();

    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Live order", "description": "x"}),
        )
        .await;
    assert_eq!(status, 201);
    let event = events.next_of("order", WAIT).await.expect("an order event");
    let data = event.json();
    assert_eq!(data["order"], order["id"]);
    assert_eq!(data["action"], "order.created");
    assert_eq!(data["summary"], "Live order");
    assert!(event.id.parse::<u64>().unwrap() > start);

    api.post(&format!("/orders/{}/approve", order["id"]), json!({}))
        .await;
    let event = events.next_of("order", WAIT).await.unwrap();
    assert_eq!(event.json()["action"], "order.updated");
    let (_, approved) = api.get(&format!("/orders/{}", order["id"])).await;
    assert_eq!(event.json()["stage"], approved["stage"]["id"]);
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_exactly_what_it_missed() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("sse").await);
    let customer = api.customer(8002, "Resume").await;
    let mut events = admin.events(None).await;
    let ready = events.next_within(WAIT).await.unwrap();
    drop(events);

    // While disconnected: an order is created and approved, and a message is sent.
    let (_, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Missed", "description": "x"}),
        )
        .await;
    api.post(&format!("/orders/{}/approve", order["id"]), json!({}))
        .await;
    api.post(
        &format!("/customers/{customer}/messages"),
        json!({"text": "while you were away"}),
    )
    .await;

    let mut events = admin.events(Some(&ready.id)).await;
    let seen = collect(&mut events).await;
    // Delivery reports (pending -> sent) may interleave; they have their own test.
    let kinds: Vec<(&str, &str)> = seen
        .iter()
        .filter(|(_, action, _)| action != "message.delivery")
        .map(|(e, a, _)| (e.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("order", "order.created"),
            ("order", "order.updated"),
            ("message", "message.created")
        ]
    );
    // A page back from the browser's back/forward cache opens a new stream with ?after=
    // (it cannot set Last-Event-ID) and gets the same.
    let mut events = admin.events_after(&ready.id).await;
    assert_eq!(collect(&mut events).await, seen);
    // Last-Event-ID, the browser's own reconnection, wins over ?after=.
    let last = seen.last().unwrap().2.to_string();
    let mut events = admin
        .events_at_with(&format!("/events?after={}", ready.id), &last)
        .await;
    assert!(collect(&mut events).await.is_empty());
    assert!(
        seen.windows(2).all(|pair| pair[0].2 < pair[1].2),
        "ids increase"
    );

    // Resuming after the last one sees nothing old again.
    let mut events = admin.events(Some(&last)).await;
    assert_eq!(events.next_within(WAIT).await.unwrap().event, "ready");
    assert!(events.next_within(Duration::from_secs(1)).await.is_none());
}

/// The events other than `ready` until the stream is quiet for two seconds: (kind, action,
/// id).
async fn collect(events: &mut crate::staff::EventStream) -> Vec<(String, String, u64)> {
    let mut seen = Vec::new();
    while let Some(event) = events.next_within(Duration::from_secs(2)).await {
        if event.event != "ready" {
            seen.push((
                event.event.clone(),
                event.json()["action"].as_str().unwrap().to_string(),
                event.id.parse::<u64>().unwrap(),
            ));
        }
    }
    seen
}

#[tokio::test]
async fn the_stream_resumes_across_an_appliance_restart() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let token = admin.create_token("restart").await;
    let api = Api::new(&app, &token);
    let customer = api.customer(8003, "Restart").await;
    let mut events = admin.events(None).await;
    let ready = events.next_within(WAIT).await.unwrap();
    drop(events);

    let mut app = app;
    assert!(app.terminate());
    let app = app.restart();
    let api = Api::new(&app, &token);
    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "After restart", "description": "x"}),
        )
        .await;
    assert_eq!(status, 201);
    // The same session (stored server-side) reconnects to the new address.
    let mut browser = admin;
    browser.base = app.url("");
    let mut events = browser.events(Some(&ready.id)).await;
    let event = events.next_of("order", WAIT).await.unwrap();
    assert_eq!(event.json()["order"], order["id"]);
}

#[tokio::test]
async fn logging_out_ends_the_stream_and_events_need_a_session() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("bye").await);
    let mut events = admin.events(None).await;
    events.next_within(WAIT).await.unwrap();
    let response = admin.post_form("/logout", &[]).await;
    assert!(response.status().is_redirection());
    // The next commit wakes the stream, which finds the session gone and ends.
    api.customer(8004, "Wake").await;
    assert!(events.ends_within(WAIT).await, "the stream ended");

    let anonymous = app.client();
    let response = anonymous
        .get(app.url("/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_redirection() || response.status() == 401,
        "{}",
        response.status()
    );
}

#[tokio::test]
async fn shutdown_is_not_held_up_by_open_streams() {
    let mut app = spawn_app();
    let admin = login_admin(&app).await;
    let mut events = admin.events(None).await;
    events.next_within(WAIT).await.unwrap();
    let started = std::time::Instant::now();
    assert!(app.terminate(), "SIGTERM ends the process cleanly");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(events.ends_within(WAIT).await);
}

#[tokio::test]
async fn a_worker_sees_neither_orders_in_moderation_nor_conversations() {
    let app = spawn_app();
    let added = crate::admin_channel::crm_async(
        &app.data_dir,
        &[
            "user",
            "add",
            "worker",
            "--role",
            "worker",
            "--password-stdin",
        ],
        "worker password 1\n",
    )
    .await;
    assert_eq!(added.code, 0, "{}", added.err);
    let worker = crate::staff::login(&app, "worker", "worker password 1").await;
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("perm").await);
    let customer = api.customer(8100, "Private").await;
    let mut events = worker.events(None).await;
    assert_eq!(events.next_within(WAIT).await.unwrap().event, "ready");

    let (_, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "In moderation", "description": "x"}),
        )
        .await;
    api.post(
        &format!("/customers/{customer}/messages"),
        json!({"text": "not for workers"}),
    )
    .await;
    api.post(&format!("/orders/{}/approve", order["id"]), json!({}))
        .await;
    // The first event the worker sees is the approval: the order is now past moderation.
    let first = events.next_within(WAIT).await.unwrap();
    assert_eq!(first.event, "order");
    assert_eq!(first.json()["action"], "order.updated");
    assert!(
        events
            .next_within(Duration::from_millis(500))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_message_s_delivery_state_updates_live() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("sse").await);
    let customer = api.customer(8010, "Delivered").await;
    let mut events = admin.events(None).await;
    assert_eq!(events.next_within(WAIT).await.unwrap().event, "ready");

    let (status, message) = api
        .post(
            &format!("/customers/{customer}/messages"),
            json!({"text": "on its way"}),
        )
        .await;
    assert_eq!(status, 201, "{message}");
    let created = events.next_of("message", WAIT).await.unwrap();
    assert_eq!(created.json()["action"], "message.created");
    assert_eq!(created.json()["message"], message["id"]);
    // The sandbox's Bot API accepts the send; the outbox records it, and that bookkeeping
    // reaches the browser as its own change.
    let delivered = events.next_of("message", WAIT).await.unwrap();
    assert_eq!(delivered.json()["action"], "message.delivery");
    assert_eq!(delivered.json()["message"], message["id"]);
    assert_eq!(delivered.json()["delivery"], "sent");
    assert!(delivered.id.parse::<u64>().unwrap() > created.id.parse::<u64>().unwrap());
}
