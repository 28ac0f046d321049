//! A broadcast killed with `kill -9` midway resumes after a restart without sending anyone
//! its message twice (issue 13).
//!
//! The appliance runs with a bot token against a fake Bot API served by this test (on a
//! loopback port, `--telegram-api-url`), which outlives every kill and records every
//! `sendMessage` it receives: the count per chat is what Telegram would have delivered. Each
//! send is answered after a short delay, so kills land while sends are in flight as well as
//! between them. The appliance is killed at seeded random moments while the broadcast sends,
//! restarted on the same data directory, and finally the broadcast finishes; then:
//! - no chat received the broadcast twice;
//! - every recipient is answered for: sent, or failed as interrupted (a send in flight at a
//!   kill, which may or may not have arrived, and is never repeated);
//! - each recipient reported sent received it exactly once, and no more chats received it
//!   than were reported sent plus interrupted;
//! - the data file passes `crm verify`.
//!
//! `CRM_FAULT_SEED=N` repeats a run's random kill moments; every run prints its seed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};

use crate::staff::login_admin;
use crate::support::{TestApp, spawn_app_with};

/// Customers the broadcast goes to.
const CUSTOMERS: u64 = 120;
/// Its rate, messages a second.
const RATE: u64 = 20;
/// The broadcast's text: unique, so the fake tells it from the bot's other messages.
const TEXT: &str = "Broadcast under kill -9: new packages are here.";
/// The fake's delay before answering a `sendMessage`.
const SEND_DELAY: Duration = Duration::from_millis(150);
const TOKEN: &str = "4242424242:AAHfakeTokenForBroadcastFaults_abcdef";

/// What the fake Bot API received: every `sendMessage`'s chat and text.
type Sends = Arc<Mutex<Vec<(i64, String)>>>;

async fn method(
    State(sends): State<Sends>,
    Path((_bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let result = match method.as_str() {
        "getMe" => {
            json!({"id": 4242, "is_bot": true, "first_name": "Fake", "username": "fake_bot"})
        }
        "getUpdates" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            json!([])
        }
        "sendMessage" => {
            let chat = params["chat_id"].as_i64().unwrap_or_default();
            let text = params["text"].as_str().unwrap_or_default().to_string();
            let id = {
                let mut sends = sends.lock().unwrap();
                sends.push((chat, text.clone()));
                sends.len()
            };
            tokio::time::sleep(SEND_DELAY).await;
            json!({"message_id": id, "date": 1_767_603_600, "chat": {"id": chat, "type": "private"}, "text": text})
        }
        _ => json!(true),
    };
    axum::Json(json!({"ok": true, "result": result}))
}

/// Serves the fake Bot API on a loopback port; answers its base URL and its record.
async fn fake_telegram() -> (String, Sends) {
    let sends: Sends = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/{bot}/{method}", post(method))
        .with_state(sends.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{address}"), sends)
}

/// How many times each chat received the broadcast's text.
fn received(sends: &Sends) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for (chat, text) in sends.lock().unwrap().iter() {
        if text == TEXT {
            *counts.entry(*chat).or_default() += 1;
        }
    }
    counts
}

fn seed() -> u64 {
    let seed = std::env::var("CRM_FAULT_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |elapsed| elapsed.as_nanos() as u64)
        });
    println!("seed {seed}");
    seed
}

/// The broadcast as the API shows it.
async fn broadcast(app: &TestApp, token: &str, id: u64) -> Value {
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/broadcasts/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn count(broadcast: &Value, name: &str) -> u64 {
    broadcast["counts"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {name} in {broadcast}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_killed_midway_resumes_and_reaches_nobody_twice() {
    let mut rng = seed();
    let mut next = move |low: u64, high: u64| {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (rng >> 33) % (high - low)
    };
    let (api, sends) = fake_telegram().await;
    let args = [
        "--telegram-token",
        TOKEN,
        "--telegram-api-url",
        api.as_str(),
    ];
    let mut app = spawn_app_with(&args);
    let admin = login_admin(&app).await;
    let token = admin.create_token("broadcast faults").await;
    let http = reqwest::Client::new();
    for index in 0..CUSTOMERS {
        let response = http
            .post(app.url("/api/v1/customers"))
            .bearer_auth(&token)
            .json(&json!({"first_name": format!("C{index}"), "telegram_id": 600_000 + index}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let created = http
        .post(app.url("/api/v1/broadcasts"))
        .bearer_auth(&token)
        .json(&json!({"title": "Faults", "text": TEXT, "rate_per_second": RATE}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap();
    let started = http
        .post(app.url(&format!("/api/v1/broadcasts/{id}/start")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);

    // Three kills while it sends, each after a random 0.3-2 s, then a restart.
    for round in 0..3 {
        let wait = next(300, 2_000);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let before = received(&sends).len();
        app.kill();
        println!("round {round}: killed after {wait} ms with {before} chats reached");
        app = app.restart_with(&args);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let now = broadcast(&app, &token, id).await;
        if now["state"] == "finished" {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the broadcast did not finish: {now}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let counts = received(&sends);
    let twice: Vec<_> = counts.iter().filter(|(_, times)| **times > 1).collect();
    assert!(
        twice.is_empty(),
        "chats that got the broadcast twice: {twice:?}"
    );
    let (sent, failed) = (count(&finished, "sent"), count(&finished, "failed"));
    assert_eq!(sent + failed, CUSTOMERS, "{finished}");
    assert_eq!(count(&finished, "pending") + count(&finished, "queued"), 0);
    assert!(
        counts.len() as u64 >= sent && counts.len() as u64 <= sent + failed,
        "{} chats reached, {sent} reported sent, {failed} failed",
        counts.len()
    );
    // Only sends in flight at a kill are given up: a few per kill at this rate.
    assert!(failed <= 3 * RATE, "{failed} interrupted");
    println!(
        "{sent} sent, {failed} interrupted, {} chats reached once",
        counts.len()
    );
    app.kill();
    let (code, printed) = crate::faults::crm_verify(&app.data_dir);
    assert_eq!(code, 0, "crm verify: {printed}");
}
