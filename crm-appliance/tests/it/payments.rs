//! Payments through the running appliance: a customer buys tokens with buttons in the
//! sandbox's chat, a fake OxaPay server (axum on a loopback port in this test, pointed at by
//! the base URL setting) creates the invoice, the link arrives in the chat as a URL button,
//! the signed callback to `/webhooks/oxapay` credits the tokens once (a repeat changes
//! nothing, a bad signature is 401, an unknown track id 404), the polling credits an invoice
//! whose callback never came, and the merchant key never appears in the logs or the API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use crm_lib::payments::oxapay_signature;
use serde_json::{Value, json};

use crate::bot_support::{Sandbox, User, buttons, start_customer, text};
use crate::staff::{Api, login_admin};
use crate::support::spawn_app_with;

const KEY: &str = "oxapay-merchant-key-7Q2Z";

/// The fake OxaPay: the invoices it created (track id -> status) and the requests' keys.
#[derive(Clone, Default)]
struct Fake {
    statuses: Arc<Mutex<HashMap<String, String>>>,
    created: Arc<Mutex<Vec<Value>>>,
}

async fn generate_invoice(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if headers
        .get("merchant_api_key")
        .and_then(|v| v.to_str().ok())
        != Some(KEY)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"data": {}, "message": "Invalid merchant API key", "status": 401})),
        );
    }
    let track_id = {
        let mut created = fake.created.lock().unwrap();
        created.push(body);
        format!("FAKE-{}", created.len())
    };
    fake.statuses
        .lock()
        .unwrap()
        .insert(track_id.clone(), "waiting".into());
    (
        StatusCode::OK,
        Json(json!({
            "data": {
                "track_id": track_id,
                "payment_url": format!("https://pay.oxapay.test/{track_id}"),
                "expired_at": 1_767_603_600,
                "date": 1_767_600_000,
            },
            "message": "Operation completed successfully!",
            "error": {},
            "status": 200,
            "version": "1.0.0",
        })),
    )
}

async fn payment_information(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Path(track_id): Path<String>,
) -> (StatusCode, Json<Value>) {
    if headers
        .get("merchant_api_key")
        .and_then(|v| v.to_str().ok())
        != Some(KEY)
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"status": 401})));
    }
    match fake.statuses.lock().unwrap().get(&track_id) {
        Some(status) => (
            StatusCode::OK,
            Json(
                json!({"data": {"track_id": track_id, "type": "invoice", "status": status}, "status": 200}),
            ),
        ),
        None => (StatusCode::NOT_FOUND, Json(json!({"status": 404}))),
    }
}

/// Starts the fake OxaPay on a free loopback port; returns its base URL.
async fn fake_oxapay(fake: Fake) -> String {
    let app = axum::Router::new()
        .route("/v1/payment/invoice", post(generate_invoice))
        .route("/v1/payment/{track_id}", get(payment_information))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// Presses `data` on `message` and returns the message once it (or a new one) reads
/// `needle`.
async fn press(sandbox: &Sandbox, user: &User, message: &Value, data: &str, needle: &str) -> Value {
    let after = sandbox.bot_messages(user.id).await.len();
    let id = message["message_id"].as_i64().unwrap();
    sandbox.press(user, id, data).await;
    wait_message(sandbox, user, id, after, needle).await
}

async fn wait_message(
    sandbox: &Sandbox,
    user: &User,
    id: i64,
    after: usize,
    needle: &str,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let messages = sandbox.bot_messages(user.id).await;
        let found = messages.iter().enumerate().find(|(index, message)| {
            (message["message_id"] == id || *index >= after) && text(message).contains(needle)
        });
        if let Some((_, message)) = found {
            return message.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no message reading {needle:?}: {messages:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn balance(api: &Api, customer: u64) -> i64 {
    let (status, ledger) = api.get(&format!("/customers/{customer}/tokens")).await;
    assert_eq!(status, 200, "{ledger}");
    ledger["balance"].as_i64().unwrap()
}

/// Waits until `check` holds, for at most 10 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post_callback(app_url: &str, body: &[u8], signature: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(app_url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("HMAC", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_customer_buys_tokens_through_oxapay_credited_once_by_the_callback_or_by_polling() {
    let fake = Fake::default();
    let base_url = fake_oxapay(fake.clone()).await;
    let app = spawn_app_with(&["--template", "service", "--payments-poll-seconds", "1"]);
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("payments").await);
    let webhook = app.url("/webhooks/oxapay");

    // Before a key is saved no callback can be checked: 401, nothing stored.
    let early = br#"{"track_id":"FAKE-1","status":"Paid"}"#;
    let (status, _) = post_callback(&webhook, early, Some(&oxapay_signature(KEY, early))).await;
    assert_eq!(status, 401);

    let (status, saved) = api
        .put(
            "/payment-settings",
            json!({"oxapay_merchant_key": KEY, "oxapay_base_url": base_url, "amounts": [100, 250]}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["merchant_key_hint"], "…7Q2Z");
    assert!(!saved.to_string().contains(KEY), "{saved}");
    let (_, read) = api.get("/payment-settings").await;
    assert!(!read.to_string().contains(KEY), "{read}");

    // The customer buys 250 tokens with buttons: amounts, then the provider.
    let sandbox = Sandbox::of(&app);
    let sarah = User::new(5_500_000_001, "Sarah", "en");
    let menu = start_customer(&sandbox, &sarah, "en").await;
    let tokens = press(&sandbox, &sarah, &menu, "tok:m", "Your balance").await;
    assert!(
        buttons(&tokens).contains(&"tok:b".to_string()),
        "{tokens:#}"
    );
    let amounts = press(&sandbox, &sarah, &tokens, "tok:b", "How many tokens").await;
    assert_eq!(
        buttons(&amounts)[..2],
        ["tok:b:100", "tok:b:250"],
        "{amounts:#}"
    );
    assert!(text(&amounts).contains("1.00"), "{amounts:#}");
    let providers = press(
        &sandbox,
        &sarah,
        &amounts,
        "tok:b:250",
        "How would you like to pay",
    )
    .await;
    assert!(
        buttons(&providers).contains(&"tok:bp:250:o".to_string()),
        "{providers:#}"
    );
    let before = sandbox.bot_messages(sarah.id).await.len();
    press(
        &sandbox,
        &sarah,
        &providers,
        "tok:bp:250:o",
        "being prepared",
    )
    .await;

    // The fake OxaPay created it; the link arrives in the chat as a URL button.
    let link = wait_message(&sandbox, &sarah, -1, before, "Pay at the link").await;
    let url = &link["reply_markup"]["inline_keyboard"][0][0]["url"];
    assert_eq!(url, "https://pay.oxapay.test/FAKE-1", "{link:#}");
    assert!(text(&link).contains("250 tokens for 250.00"), "{link:#}");
    {
        let created = fake.created.lock().unwrap();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0]["amount"], 250.0);
        assert_eq!(created[0]["lifetime"], 60);
    }
    let (_, invoices) = api.get("/invoices").await;
    let customer = invoices[0]["customer"].as_u64().unwrap();
    assert_eq!(invoices[0]["provider_id"], "FAKE-1", "{invoices:#}");
    assert_eq!(invoices[0]["state"], "pending");

    // A bad signature is refused and credits nothing; an unknown track id is 404.
    let paid =
        br#"{"track_id":"FAKE-1","status":"Paid","type":"invoice","amount":250,"currency":"USD"}"#;
    let (status, _) = post_callback(
        &webhook,
        paid,
        Some(&oxapay_signature("wrong key 1234", paid)),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = post_callback(&webhook, paid, None).await;
    assert_eq!(status, 401);
    let unknown = br#"{"track_id":"FAKE-99","status":"Paid"}"#;
    let (status, _) = post_callback(&webhook, unknown, Some(&oxapay_signature(KEY, unknown))).await;
    assert_eq!(status, 404);
    assert_eq!(balance(&api, customer).await, 0);

    // The signed callback credits once; the same callback again changes nothing.
    let signature = oxapay_signature(KEY, paid);
    assert_eq!(
        post_callback(&webhook, paid, Some(&signature)).await,
        (200, "ok".to_string())
    );
    assert_eq!(balance(&api, customer).await, 250);
    assert_eq!(
        post_callback(&webhook, paid, Some(&signature)).await,
        (200, "ok".to_string())
    );
    assert_eq!(balance(&api, customer).await, 250);
    wait_message(&sandbox, &sarah, -1, before, "250 tokens bought").await;

    // Staff ask for a second invoice; its callback never comes, the polling credits it.
    let (status, second) = api
        .post(
            &format!("/customers/{customer}/invoices"),
            json!({"tokens": 40, "provider": "oxapay"}),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let id = second["id"].as_u64().unwrap();
    eventually("the second invoice is created at OxaPay", || async {
        api.get(&format!("/invoices/{id}")).await.1["provider_id"] == "FAKE-2"
    })
    .await;
    fake.statuses
        .lock()
        .unwrap()
        .insert("FAKE-2".into(), "paid".into());
    eventually("the polling credits it", || async {
        balance(&api, customer).await == 290
    })
    .await;
    let (_, invoice) = api.get(&format!("/invoices/{id}")).await;
    assert_eq!(invoice["state"], "paid");
    assert!(invoice["ledger_entry"].is_u64(), "{invoice}");
    // A late callback of the polled invoice changes nothing.
    let late = br#"{"track_id":"FAKE-2","status":"Paid"}"#;
    assert_eq!(
        post_callback(&webhook, late, Some(&oxapay_signature(KEY, late)))
            .await
            .0,
        200
    );
    assert_eq!(balance(&api, customer).await, 290);

    // The pages: the key only as its hint, the invoices, the ledger's link to its invoice.
    let settings = admin.get_text("/settings/payments").await;
    assert!(settings.contains("…7Q2Z") && !settings.contains(KEY));
    let list = admin.get_text("/payments").await;
    assert!(list.contains("FAKE-1") && list.contains("FAKE-2"), "{list}");
    let ledger = admin
        .get_text(&format!("/customers/{customer}/tokens"))
        .await;
    assert!(
        ledger.contains("/payments?payment=oxapay:FAKE-1"),
        "{ledger}"
    );
    let one = admin.get_text("/payments?payment=oxapay:FAKE-1").await;
    assert!(
        one.contains("invoice-1") && !one.contains("invoice-2"),
        "{one}"
    );

    let logs = app.output.lock().unwrap().join("\n");
    assert!(!logs.contains(KEY), "the merchant key was logged");
}

#[tokio::test]
async fn the_oxapay_webhook_is_404_where_the_token_service_is_off() {
    let app = spawn_app_with(&["--template", "studio"]);
    let body = br#"{"track_id":"1","status":"Paid"}"#;
    let (status, _) = post_callback(
        &app.url("/webhooks/oxapay"),
        body,
        Some(&oxapay_signature(KEY, body)),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_customer_pays_in_stars_through_the_emulator_once_and_staff_refund_it() {
    let app = spawn_app_with(&["--template", "service"]);
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("stars").await);
    let (status, saved) = api
        .put(
            "/payment-settings",
            json!({"stars_per_token": 2, "amounts": [50]}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");

    let sandbox = Sandbox::of(&app);
    let tom = User::new(5_500_000_002, "Tom", "en");
    let menu = start_customer(&sandbox, &tom, "en").await;
    let tokens = press(&sandbox, &tom, &menu, "tok:m", "Your balance").await;
    let amounts = press(&sandbox, &tom, &tokens, "tok:b", "How many tokens").await;
    let providers = press(
        &sandbox,
        &tom,
        &amounts,
        "tok:b:50",
        "How would you like to pay",
    )
    .await;
    assert_eq!(
        buttons(&providers)[0],
        "tok:bp:50:s",
        "no OxaPay without a key: {providers:#}"
    );
    let before = sandbox.bot_messages(tom.id).await.len();
    press(
        &sandbox,
        &tom,
        &providers,
        "tok:bp:50:s",
        "Telegram Stars below",
    )
    .await;

    // sendInvoice in XTR put an invoice in the chat.
    let deadline = Instant::now() + Duration::from_secs(10);
    let invoice = loop {
        let messages = sandbox.bot_messages(tom.id).await;
        if let Some(message) = messages
            .iter()
            .skip(before)
            .find(|m| m.get("invoice").is_some())
        {
            break message.clone();
        }
        assert!(Instant::now() < deadline, "no invoice: {messages:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(invoice["invoice"]["currency"], "XTR");
    assert_eq!(invoice["invoice"]["total_amount"], 100);
    let message_id = invoice["message_id"].as_i64().unwrap();
    let (_, invoices) = api.get("/invoices?provider=stars").await;
    let customer = invoices[0]["customer"].as_u64().unwrap();
    let id = invoices[0]["id"].as_u64().unwrap();
    assert_eq!(invoice["invoice_payload"], id.to_string());

    // The user pays: pre_checkout_query answered ok, successful_payment credited once.
    let client = app.sandbox_client();
    let pay = || async {
        client
            .post(app.url(&format!("/sandbox/chats/{}/pay", tom.id)))
            .json(&json!({"message_id": message_id}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let paid = pay().await;
    assert_eq!(paid["paid"], true, "{paid}");
    eventually("the Stars payment is credited", || async {
        balance(&api, customer).await == 50
    })
    .await;
    let (_, stored) = api.get(&format!("/invoices/{id}")).await;
    assert_eq!(stored["state"], "paid");
    assert_eq!(stored["provider_id"], paid["telegram_payment_charge_id"]);

    // Paying the same invoice again is refused at pre-checkout: nothing more is credited.
    let again = pay().await;
    assert_eq!(again["paid"], false, "{again}");
    assert!(
        again["error_message"]
            .as_str()
            .unwrap()
            .contains("no longer be paid")
    );
    assert_eq!(balance(&api, customer).await, 50);

    // Staff refund it: the tokens go back and refundStarPayment reaches Telegram.
    let (status, refunded) = api.post(&format!("/invoices/{id}/refund"), json!({})).await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(refunded["state"], "refunded");
    assert_eq!(balance(&api, customer).await, 0);
    eventually("refundStarPayment is delivered", || async {
        sandbox.chat(tom.id).await["star_charges"][0]["refunded"] == true
    })
    .await;
    let (status, twice) = api.post(&format!("/invoices/{id}/refund"), json!({})).await;
    assert_eq!(status, 409, "{twice}");
}
