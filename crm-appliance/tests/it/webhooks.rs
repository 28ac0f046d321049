//! Outbound webhooks (SPEC 5F), black-box: a fake receiver (an axum server on a free
//! loopback port in this test) gets `order.created` when an order is created through the
//! API, with the three Standard Webhooks headers and a signature this test checks with its
//! own HMAC-SHA256 (written here over the sha2 digest, not crm-lib's code); the receiver
//! answers 500 first, and the retry arrives with the same `webhook-id`; the endpoint's page
//! shows both attempts, and its "Redeliver" button delivers the message again. The API
//! answers 422 naming the field for a bad URL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::staff::{Api, login_admin};
use crate::support::spawn_app;

/// One request the receiver got: its headers and body.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

/// A receiver on a free loopback port: answers 500 to the first request when `fail_first`,
/// 200 to every other; returns its URL and what it got.
pub async fn receiver(fail_first: bool) -> (String, Arc<Mutex<Vec<Received>>>) {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut all = seen.lock().unwrap();
                all.push(Received { headers, body });
                if fail_first && all.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{address}/hooks"), got)
}

/// Waits until the receiver holds `count` requests.
pub async fn wait_for(
    got: &Arc<Mutex<Vec<Received>>>,
    count: usize,
    within: Duration,
) -> Vec<Received> {
    let deadline = Instant::now() + within;
    loop {
        let now = got.lock().unwrap().clone();
        if now.len() >= count {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the receiver got {} requests, not {count}",
            now.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = BASE64.iter().position(|x| *x == c).unwrap() as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// HMAC-SHA256 as RFC 2104 defines it.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner_hash = Sha256::new()
        .chain_update(&inner)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer)
        .chain_update(inner_hash)
        .finalize()
        .to_vec()
}

/// Checks a request as a Standard Webhooks receiver would; returns its `webhook-id`.
fn verify(received: &Received, secret: &str) -> String {
    let header = |name: &str| {
        received.headers[name]
            .to_str()
            .unwrap_or_else(|_| panic!("{name} is text"))
            .to_string()
    };
    let id = header("webhook-id");
    let timestamp = header("webhook-timestamp");
    let signature = header("webhook-signature");
    assert!(id.starts_with("msg_"), "{id}");
    let seconds: i64 = timestamp.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - seconds).abs() < 300,
        "a fresh timestamp: {timestamp}"
    );
    assert_eq!(header("content-type"), "application/json");
    let key = base64_decode(secret.strip_prefix("whsec_").unwrap());
    let expected = format!(
        "v1,{}",
        base64_encode(&hmac_sha256(
            &key,
            format!("{id}.{timestamp}.{}", received.body).as_bytes()
        ))
    );
    assert!(
        signature.split(' ').any(|one| one == expected),
        "the signature verifies"
    );
    id
}

#[test]
fn the_test_s_own_hmac_passes_the_specification_vector() {
    let key = base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let mac = hmac_sha256(
        &key,
        br#"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}"#,
    );
    assert_eq!(
        base64_encode(&mac),
        "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[tokio::test]
async fn an_order_created_through_the_api_reaches_a_signed_receiver_retried_and_redelivered() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("webhooks").await);
    let (url, got) = receiver(true).await;

    // A bad URL is refused naming the field.
    let (status, error) = api
        .post(
            "/webhooks",
            json!({"url": "not a url", "events": ["order.created"]}),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["field"], "url");

    let (status, endpoint) = api
        .post(
            "/webhooks",
            json!({"url": url, "description": "test receiver", "events": ["order.created"]}),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let endpoint_id = endpoint["id"].as_u64().unwrap();

    let customer = api.customer(4242, "Hook").await;
    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Webhook order", "description": "Sent out"}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let order_id = order["id"].as_u64().unwrap();

    // The first attempt comes at once and is answered 500.
    let first = wait_for(&got, 1, Duration::from_secs(10)).await;
    let id = verify(&first[0], &secret);
    let body: Value = serde_json::from_str(&first[0].body).unwrap();
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["data"]["order_id"], order_id);
    assert_eq!(body["data"]["customer_id"], customer);
    assert!(body["timestamp"].as_str().unwrap().contains('T'), "{body}");

    // The retry (5 s later, by the schedule) carries the same message id and body.
    let two = wait_for(&got, 2, Duration::from_secs(20)).await;
    assert_eq!(verify(&two[1], &secret), id);
    assert_eq!(two[1].body, first[0].body);

    // The endpoint's page shows both attempts; the API lists them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let page = admin
            .get_text(&format!("/settings/webhooks/{endpoint_id}"))
            .await;
        if page.contains("data-state=\"succeeded\"") {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "the log never showed success: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(page.contains("<code>500</code>"), "{page}");
    assert!(page.contains("<code>200</code>"), "{page}");
    assert!(page.contains(&id), "the log names the message id");
    let (status, log) = api
        .get(&format!("/webhooks/{endpoint_id}/deliveries"))
        .await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["items"][0]["attempts"].as_array().unwrap().len(), 2);

    // "Redeliver" on the page sends the same message again.
    let marker = format!("action=\"/settings/webhooks/{endpoint_id}/deliveries/");
    let start = page.find(&marker).expect("a redeliver button") + "action=\"".len();
    let action = page[start..].split('"').next().unwrap().to_string();
    let response = admin.post_form(&action, &[]).await;
    assert_eq!(response.status(), 303);
    let three = wait_for(&got, 3, Duration::from_secs(10)).await;
    assert_eq!(verify(&three[2], &secret), id);
    assert_eq!(three[2].body, first[0].body);
}
