//! The sandbox emulator itself: its Bot API answers in Telegram's shapes, the control API and
//! files (the printed key or a staff login, never another site), the page (login required,
//! plainly a simulation), webhook mode through the
//! appliance's own handler, and no update lost to a kill -9 between receiving and processing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::bot_support::{
    Sandbox, User, free_port, place_order, spawn_logging, spawn_on, start_customer, text,
};
use crate::support::spawn_app;
use crate::web_helpers::admin;

#[tokio::test]
async fn the_bot_api_refuses_a_wrong_token_and_unknown_routes_as_telegram_does() {
    let app = spawn_app();
    let http = app.sandbox_client();
    let response = http
        .post(app.url("/sandbox/bot1000000:WRONGwrongWRONGwrongWRONGwrong12345/getMe"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    let file = http
        .get(app.url("/sandbox/file/bot1:x/photos/file_1.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 401);
    let unknown = http
        .get(app.url("/sandbox/chats/777"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = http.get(app.url("/sandbox/chats/-5")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let fault = http
        .post(app.url("/sandbox/faults"))
        .json(&json!({"method": "sendMessage", "status": 200}))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 400, "only error statuses can be injected");
}

#[tokio::test]
async fn the_bot_registers_its_commands_and_the_control_api_shows_chats_and_files() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let user = User::new(5_400_000_001, "Mia", "en");
    start_customer(&sandbox, &user, "en").await;
    let stats = sandbox.stats().await;
    assert_eq!(stats["commands"][""][0]["command"], "start", "{stats:#}");
    assert_eq!(
        stats["commands"]["ru"][1]["description"],
        "Оформить новый заказ"
    );
    let bytes = b"\x89PNG\r\n\x1a\n not really a picture".to_vec();
    sandbox
        .send_file(&user, "photo", "p.png", "image/png", bytes.clone(), "look")
        .await;
    let chat = sandbox.chat(user.id).await;
    let last_user_message = chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|message| message["from"] == "user")
        .unwrap()
        .clone();
    assert_eq!(last_user_message["caption"], "look");
    let url = last_user_message["media"]["url"].as_str().unwrap();
    let file = sandbox.http.get(app.url(url)).send().await.unwrap();
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(file.bytes().await.unwrap().to_vec(), bytes);
    let chats: Value = sandbox
        .http
        .get(app.url("/sandbox/chats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        chats
            .as_array()
            .unwrap()
            .iter()
            .any(|chat| chat["id"] == user.id)
    );
}

#[tokio::test]
async fn the_sandbox_page_needs_a_staff_login_and_says_it_is_a_simulation() {
    let app = spawn_app();
    let anonymous = app.client().get(app.url("/sandbox")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert!(
        anonymous.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let session = admin(&app).await;
    let page = session
        .client
        .get(app.url("/sandbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Simulation — this is not Telegram."),
        "{html}"
    );
    assert!(html.contains("/assets/js/sandbox.js"));
    let script = reqwest::get(app.url("/assets/js/sandbox.js"))
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
}

#[tokio::test]
async fn webhook_mode_takes_updates_through_the_appliances_own_handler() {
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let app = spawn_on(port, &["--public-url", &public], None);
    let sandbox = Sandbox::at(app.url(""), &app.sandbox_key);
    let user = User::new(5_400_000_002, "Nora", "en");
    let greeting = sandbox.say(&user, "/start").await;
    assert!(text(&greeting).contains("Hello, Nora"), "{greeting:#}");
    let stats = sandbox.stats().await;
    let webhook = stats["webhook"].as_str().unwrap();
    assert!(
        webhook.starts_with(&format!("{public}/telegram/webhook/")),
        "{stats:#}"
    );
    assert_eq!(
        stats["calls"].get("getUpdates"),
        None,
        "no polling in webhook mode"
    );
    // Without the secret path or header the handler refuses.
    let http = reqwest::Client::new();
    let update = json!({"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}});
    let wrong_path = http
        .post(app.url("/telegram/webhook/not-the-secret"))
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_path.status(), 404);
    let no_header = http.post(webhook).json(&update).send().await.unwrap();
    assert_eq!(no_header.status(), 401);
}

#[tokio::test]
async fn the_webhook_route_does_not_exist_in_polling_mode() {
    let app = spawn_app();
    let response = reqwest::Client::new()
        .post(app.url("/telegram/webhook/anything"))
        .json(&json!({"update_id": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn a_kill_9_between_receiving_and_processing_an_update_loses_nothing() {
    let port = free_port();
    let mut first = spawn_on(port, &[], None);
    let sandbox = Sandbox::at(first.url(""), &first.sandbox_key);
    let user = User::new(5_400_000_003, "Otto", "en");
    start_customer(&sandbox, &user, "en").await;
    // getFile keeps failing, so the photo's update stays in the inbox, received and
    // confirmed to "Telegram" but not processed.
    sandbox
        .fault(json!({"method": "getFile", "status": 503, "times": 1000}))
        .await;
    sandbox
        .send_file(
            &user,
            "photo",
            "evidence.jpg",
            "image/jpeg",
            b"\xff\xd8 evidence".to_vec(),
            "evidence caption",
        )
        .await;
    sandbox.drained().await;
    let deadline = std::time::Instant::now() + crate::bot_support::PATIENCE;
    while sandbox.stats().await["calls"]["getFile (fault)"]
        .as_u64()
        .unwrap_or(0)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the bot never tried getFile"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let data_dir = first.data_dir.clone();
    first.kill();
    // The restarted appliance (a fresh emulator, which no longer has the file) processes the
    // update it had stored: the caption reaches the team and the customer is asked to send
    // the file again, once.
    let mut second = spawn_on(free_port(), &[], Some(data_dir.clone()));
    let sandbox = Sandbox::at(second.url(""), &second.sandbox_key);
    sandbox
        .wait_for(user.id, 0, "could not receive that file")
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = sandbox.bot_messages(user.id).await;
    let asks = messages
        .iter()
        .filter(|message| text(message).contains("could not receive that file"))
        .count();
    assert_eq!(asks, 1, "{messages:#?}");
    second.kill();
    let crm = crm_lib::Crm::open(data_dir.join("crm.redb")).unwrap();
    let org = crm.system().default_organization().unwrap().id;
    assert!(
        crm.system().pending_updates(org, 10).unwrap().is_empty(),
        "nothing left pending"
    );
    let customer = crm
        .system()
        .customer_by_telegram(org, crm_lib::model::TelegramUserId::new(user.id))
        .unwrap()
        .unwrap();
    let conversation = crm
        .messages_of_customer(
            &crm_lib::model::Actor::system(org),
            customer.id,
            crm_lib::Page::first(50),
        )
        .unwrap();
    let kept = conversation
        .items
        .iter()
        .filter(|message| message.text == "evidence caption")
        .count();
    assert_eq!(kept, 1, "the message was processed exactly once");
    crm.close();
}

#[tokio::test]
async fn the_bot_token_never_appears_in_the_logs_even_at_debug_level() {
    let app = spawn_logging(free_port(), &[], None, "debug");
    let sandbox = Sandbox::at(app.url(""), &app.sandbox_key);
    let user = User::new(5_400_000_004, "Pia", "en");
    let menu = start_customer(&sandbox, &user, "en").await;
    sandbox
        .fault(json!([
            {"method": "sendMessage", "status": 502, "times": 1},
            {"method": "getFile", "status": 400, "times": 1},
        ]))
        .await;
    place_order(&sandbox, &user, &menu, "Token check", None).await;
    sandbox
        .send_file(
            &user,
            "document",
            "a.txt",
            "text/plain",
            b"hello".to_vec(),
            "",
        )
        .await;
    sandbox
        .send_file(
            &user,
            "document",
            "b.txt",
            "text/plain",
            b"hello again".to_vec(),
            "",
        )
        .await;
    sandbox
        .wait_for(user.id, 0, "could not receive that file")
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let output = app.output.lock().unwrap().join("\n");
    assert!(output.len() > 1000, "debug logging is on: {output}");
    assert!(
        !output.contains("1000000:"),
        "the sandbox token leaked into the logs"
    );
    assert!(
        !output.contains("/bot"),
        "a Bot API URL leaked into the logs"
    );
    // The control API's key was presented on every call above and once wrongly here; it
    // shows once in the output, where the start printed it.
    let wrong = crate::support::sandbox_client("not-the-key")
        .get(app.url("/sandbox/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let output = app.output.lock().unwrap().join("\n");
    assert_eq!(app.sandbox_key.len(), 32, "{output}");
    assert_eq!(
        output.matches(app.sandbox_key.as_str()).count(),
        1,
        "the sandbox key is printed once and never logged: {output}"
    );
}

#[tokio::test]
async fn the_control_api_answers_the_printed_key_or_a_staff_login_and_refuses_other_sites() {
    let app = spawn_app();
    let user = 5_400_000_009_i64;
    let send = |client: &reqwest::Client, text: &str| {
        client
            .post(app.url(&format!("/sandbox/chats/{user}/send")))
            .json(&json!({"text": text, "from": {"first_name": "Ada", "language_code": "en"}}))
    };
    let user_texts = |chat: &Value| -> Vec<String> {
        chat["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|message| message["from"] == "user")
            .map(|message| message["text"].as_str().unwrap_or("").to_string())
            .collect()
    };

    // Neither a key nor a login, or a wrong key: 401 on reads, writes and faults alike.
    let anonymous = reqwest::Client::new();
    let wrong_key = crate::support::sandbox_client(&"x".repeat(32));
    for client in [&anonymous, &wrong_key] {
        for request in [
            client.get(app.url("/sandbox/chats")),
            client.get(app.url(&format!("/sandbox/chats/{user}"))),
            client.get(app.url("/sandbox/stats")),
            client.get(app.url("/sandbox/files/any")),
            send(client, "not let in"),
            client
                .post(app.url("/sandbox/updates"))
                .json(&json!({"update": {}})),
            client
                .post(app.url("/sandbox/faults"))
                .json(&json!({"method": "*", "status": 500, "times": 100})),
            client.delete(app.url("/sandbox/faults")),
        ] {
            let response = request.send().await.unwrap();
            let url = response.url().to_string();
            assert_eq!(response.status(), 401, "{url}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["ok"], false, "{url}: {body}");
        }
    }

    // The printed key lets a program in.
    let keyed = app.sandbox_client();
    assert_eq!(send(&keyed, "by key").send().await.unwrap().status(), 200);
    // A browser's cross-site request is refused even with the key: the other site's page
    // cannot have it, but it must not drive the sandbox with a staff cookie either.
    for (header, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let response = send(&keyed, "from elsewhere")
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{header}: {value}");
    }

    // A staff login is enough for the page's own requests, and the same rule holds.
    let staff = crate::web_helpers::admin(&app).await.client;
    let chats = staff.get(app.url("/sandbox/chats")).send().await.unwrap();
    assert_eq!(chats.status(), 200);
    let own_page = send(&staff, "by login")
        .header("origin", app.url(""))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(own_page.status(), 200);
    let elsewhere = send(&staff, "cookie from elsewhere")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 403);

    let chat: Value = keyed
        .get(app.url(&format!("/sandbox/chats/{user}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user_texts(&chat), ["by key", "by login"], "{chat:#}");
    // The benchmark's static body is not part of the control API.
    let sample = anonymous
        .get(app.url("/sandbox/bench/static?bytes=100"))
        .send()
        .await
        .unwrap();
    assert_eq!(sample.status(), 200);
}

#[tokio::test]
async fn with_a_token_and_an_api_url_the_same_bot_runs_against_any_bot_api_server() {
    use std::sync::{Arc, Mutex};

    use axum::extract::{Path, State};
    use axum::routing::post;

    type Calls = Arc<Mutex<Vec<(String, String, Value)>>>;
    async fn method(
        State(calls): State<Calls>,
        Path((bot, method)): Path<(String, String)>,
        body: axum::body::Bytes,
    ) -> axum::Json<Value> {
        let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let first_poll = method == "getUpdates"
            && !calls
                .lock()
                .unwrap()
                .iter()
                .any(|(_, seen, _)| seen == "getUpdates");
        calls.lock().unwrap().push((bot, method.clone(), params));
        let result = match method.as_str() {
            "getMe" => {
                json!({"id": 42, "is_bot": true, "first_name": "Real", "username": "real_bot"})
            }
            "getUpdates" if first_poll => json!([{"update_id": 9001, "message": {
                "message_id": 1, "date": 1735689600, "text": "/start",
                "from": {"id": 777001, "is_bot": false, "first_name": "Remote", "language_code": "en"},
                "chat": {"id": 777001, "first_name": "Remote", "type": "private"},
                "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}}]),
            "getUpdates" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                json!([])
            }
            "sendMessage" => {
                json!({"message_id": 2, "date": 1735689601, "chat": {"id": 777001, "type": "private"}, "text": "ok"})
            }
            _ => json!(true),
        };
        axum::Json(json!({"ok": true, "result": result}))
    }

    let calls: Calls = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/{bot}/{method}", post(method))
        .with_state(calls.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let token = "4242424242:AAHfakeTokenForTestsOnly_abcdefghijk";
    let api = format!("http://{server}");
    let app = spawn_logging(
        free_port(),
        &["--telegram-token", token, "--telegram-api-url", &api],
        None,
        "debug",
    );
    let deadline = std::time::Instant::now() + crate::bot_support::PATIENCE;
    let greeting = loop {
        let found = calls
            .lock()
            .unwrap()
            .iter()
            .find(|(_, method, _)| method == "sendMessage")
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reply: {:?}",
            calls.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(greeting.0, format!("bot{token}"), "the configured token");
    assert_eq!(greeting.2["chat_id"], 777001);
    assert!(
        greeting.2["text"]
            .as_str()
            .unwrap()
            .contains("Hello, Remote"),
        "{greeting:?}"
    );
    let seen: Vec<String> = calls
        .lock()
        .unwrap()
        .iter()
        .map(|call| call.1.clone())
        .collect();
    for expected in ["getMe", "setMyCommands", "deleteWebhook", "getUpdates"] {
        assert!(
            seen.iter().any(|method| method == expected),
            "{expected} in {seen:?}"
        );
    }
    let polls: Vec<Value> = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|call| call.1 == "getUpdates")
        .map(|call| call.2.clone())
        .collect();
    assert!(
        polls.iter().any(|poll| poll["offset"] == 9002),
        "confirmed: {polls:?}"
    );
    // The sandbox is off with a token; the token is nowhere in the output.
    let sandbox = reqwest::get(app.url("/sandbox/chats")).await.unwrap();
    assert_eq!(sandbox.status(), 404);
    let output = app.output.lock().unwrap().join("\n");
    assert!(
        !output.contains("AAHfakeTokenForTestsOnly"),
        "the token leaked: {output}"
    );
}
