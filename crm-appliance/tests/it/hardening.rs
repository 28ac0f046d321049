//! Security hardening of the staff web (issue 10, part C): the headers every response
//! carries, pages without inline script or style, where a login may redirect to, one session
//! per browser, the throttled current-password check, the password rule on the profile page,
//! and the first start's password file.

use crate::staff::{ADMIN_PASSWORD, Browser, hidden_value};
use crate::support::{TestApp, spawn_app, spawn_app_logging, spawn_app_logging_with};
use crate::web_helpers::{self, client_from, csrf_of, login_with};

/// The headers issue 10 asks of every response, with their values.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; \
         frame-ancestors 'none'",
    ),
];

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            response.headers().get(name).map(|v| v.to_str().unwrap()),
            Some(value),
            "{name} of {what}"
        );
    }
}

/// Whether `html` holds a style attribute, a `<style>` element, an inline event handler or
/// a `<script>` without `src`: all refused by the Content-Security-Policy.
fn inline_code(html: &str) -> Option<String> {
    let lower = html.to_lowercase();
    for needle in [
        " style=",
        "<style",
        " onclick=",
        " onload=",
        " onsubmit=",
        "javascript:",
    ] {
        if let Some(at) = lower.find(needle) {
            return Some(html[at.saturating_sub(80)..(at + 80).min(html.len())].to_string());
        }
    }
    lower
        .match_indices("<script")
        .map(|(at, _)| &lower[at..(at + 200).min(lower.len())])
        .find(|tag| !tag.split('>').next().unwrap_or("").contains(" src="))
        .map(str::to_string)
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_no_page_holds_inline_code() {
    let app = spawn_app();
    let admin = web_helpers::admin(&app).await;
    let marker = web_helpers::post(
        &app,
        &admin,
        "/markers",
        &[("name", "Urgent"), ("color", "#dc2626")],
    )
    .await;
    assert_eq!(marker.status(), 303);
    let customer = web_helpers::create_customer(&app, &admin, "Алиса").await;
    let order = web_helpers::create_order(&app, &admin, customer, "A bakery bot").await;
    // The studio starts with the seed's ten markers: Urgent is the 11th.
    let marked = web_helpers::post(
        &app,
        &admin,
        &format!("/orders/{order}/markers"),
        &[("marker", "11")],
    )
    .await;
    assert_eq!(marked.status(), 303);

    let order_page = format!("/orders/{order}");
    let pages = [
        "/",
        "/orders",
        order_page.as_str(),
        "/board",
        "/moderation",
        "/markers",
        "/settings",
        "/users",
        "/roles",
        "/audit",
        "/admin/jobs",
        "/chat",
        "/profile",
        "/profile/password",
        "/profile/tokens",
        "/profile/payment-details",
        "/sandbox",
    ];
    for path in pages {
        let response = admin.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        assert_security_headers(&response, path);
        let html = response.text().await.unwrap();
        assert_eq!(inline_code(&html), None, "inline code in {path}");
    }
    // The stage and marker colours come as data, for app.js to apply.
    let detail = web_helpers::page(&app, &admin, &order_page).await;
    assert!(
        detail.contains(r##"class="marker ink-light" data-bg="#dc2626""##),
        "{detail}"
    );

    let anonymous = client_from(None);
    for (path, status) in [
        ("/login", 200),
        ("/orders", 303),
        ("/healthz", 200),
        ("/assets/css/app.css", 200),
        ("/assets/js/app.js", 200),
        ("/no/such/page", 404),
        ("/api/v1/orders", 401),
        ("/api/v1/openapi.json", 200),
    ] {
        let response = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "GET {path}");
        assert_security_headers(&response, path);
        if path == "/login" {
            assert_eq!(inline_code(&response.text().await.unwrap()), None);
        }
    }
    let api = reqwest::Client::new()
        .post(app.url("/api/v1/orders"))
        .bearer_auth("crm_not-a-token")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    assert_security_headers(&api, "an API error");
}

/// Fetches the login form and posts it with `next`; returns the answer.
async fn login_to(
    app: &TestApp,
    client: &reqwest::Client,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let form = client.get(app.url("/login")).send().await.unwrap();
    let token = csrf_of(&form.text().await.unwrap());
    client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", password),
            ("csrf", &token),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

/// The session cookie a response sets (`crm_session=...`), without attributes.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with("crm_session=") && pair.len() > "crm_session=".len())
        .map(str::to_string)
}

#[tokio::test]
async fn a_login_redirects_only_to_a_local_path_and_ends_the_session_the_browser_presented() {
    let app = spawn_app();
    web_helpers::admin(&app).await;
    let password = format!("{}-changed", app.admin_password);

    for (next, expected) in [
        ("/orders?stage=2", "/orders?stage=2"),
        ("/\t/evil.example", "/"),
        ("/x\r\n", "/"),
        ("/x\nSet-Cookie: planted=1", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/orders\\..\\..\\evil", "/"),
        ("https://evil.example/", "/"),
    ] {
        let client = client_from(None);
        let response = login_to(&app, &client, &password, next).await;
        assert_eq!(response.status(), 303, "next={next:?}");
        assert_eq!(response.headers()["location"], expected, "next={next:?}");
        assert!(
            response
                .headers()
                .get_all("set-cookie")
                .iter()
                .all(|cookie| !cookie.to_str().unwrap().contains("planted")),
            "next={next:?}"
        );
    }

    // One browser logs in twice: the first session ends with the second login.
    let browser = client_from(None);
    let first = session_cookie(&login_to(&app, &browser, &password, "/").await).unwrap();
    let second = session_cookie(&login_to(&app, &browser, &password, "/").await).unwrap();
    assert_ne!(first, second, "a login always starts a new session");
    let with_cookie = |cookie: &str| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url("/profile"))
            .header("cookie", cookie.to_string())
    };
    let old = with_cookie(&first).send().await.unwrap();
    assert_eq!(old.status(), 303, "the presented session has ended");
    assert!(
        old.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let new = with_cookie(&second).send().await.unwrap();
    assert_eq!(new.status(), 200, "the new session works");

    // A failed login presenting a session leaves it alone.
    let wrong = login_to(&app, &browser, "not the password at all", "/").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(with_cookie(&second).send().await.unwrap().status(), 200);
}

/// Posts the password form of `session` and returns the answer.
async fn change_password(
    app: &TestApp,
    client: &reqwest::Client,
    current: &str,
    new: &str,
) -> reqwest::Response {
    let page = client
        .get(app.url("/profile/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    client
        .post(app.url("/profile/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", new),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_first_password_change_follows_the_rule_and_then_deletes_the_initial_password_file() {
    let app = spawn_app();
    let file = app.data_dir.join("initial-admin-password");
    assert!(file.exists());
    let client = client_from(None);
    let response = login_with(&app, &client, "admin", &app.admin_password).await;
    assert_eq!(response.headers()["location"], "/profile/password");
    let form = client
        .get(app.url("/profile/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains(r#"minlength="10""#), "{form}");

    for (new, reason) in [
        ("nine char", "at least 10 characters"),
        ("Password123", "most common passwords"),
        ("1234567890", "most common passwords"),
    ] {
        let refused = change_password(&app, &client, &app.admin_password, new).await;
        assert_eq!(refused.status(), 422, "{new:?}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(reason), "{new:?}: {page}");
        assert!(file.exists(), "a refused change keeps the file");
    }
    let wrong = change_password(&app, &client, "not the current one", ADMIN_PASSWORD).await;
    assert_eq!(wrong.status(), 422);
    assert!(file.exists(), "a refused change keeps the file");

    let changed = change_password(&app, &client, &app.admin_password, ADMIN_PASSWORD).await;
    assert_eq!(changed.status(), 303);
    assert!(
        !file.exists(),
        "the file goes once its password was replaced"
    );
    // The old password no longer logs in; the new one does.
    let old = login_with(&app, &client_from(None), "admin", &app.admin_password).await;
    assert_eq!(old.status(), 401);
    let new = login_with(&app, &client_from(None), "admin", ADMIN_PASSWORD).await;
    assert_eq!(new.status(), 303);
}

#[tokio::test]
async fn guessing_the_current_password_with_a_session_is_throttled_like_a_login() {
    let app = spawn_app();
    let admin = web_helpers::admin(&app).await;
    let initial = web_helpers::create_user(&app, &admin, "guesser", "worker").await;
    let session = web_helpers::first_login(&app, "guesser", &initial).await;
    let password = format!("{initial}-changed");

    // Five wrong guesses are answered as wrong; the sixth, at once, is not checked at all:
    // 429 with Retry-After, even with the right password.
    for guess in 0..5 {
        let response = change_password(
            &app,
            &session.client,
            &format!("guess number {guess}"),
            "a brand new password",
        )
        .await;
        assert_eq!(response.status(), 422, "guess {guess}");
    }
    let throttled = change_password(&app, &session.client, &password, "a brand new password").await;
    assert_eq!(throttled.status(), 429);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // The same counters slow a login of that account from this address.
    let login = login_with(&app, &client_from(None), "guesser", &password).await;
    assert_eq!(login.status(), 429);

    // Once the wait is over, the right password changes it and clears the counters.
    tokio::time::sleep(std::time::Duration::from_millis(1100 * wait)).await;
    let changed = change_password(&app, &session.client, &password, "a brand new password").await;
    assert_eq!(changed.status(), 303);
    let page = web_helpers::page(&app, &session, "/profile").await;
    assert!(hidden_value(&page, "csrf").is_some());
}

/// The number of stored files (entries of the `media` table), read with `crm stats` over the
/// admin channel.
async fn stored_files(app: &TestApp) -> u64 {
    let stats = crate::admin_channel::crm_async(&app.data_dir, &["stats", "--json"], "").await;
    assert_eq!(stats.code, 0, "{}", stats.err);
    let stats: serde_json::Value = serde_json::from_str(&stats.out).unwrap();
    stats["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|table| table["name"] == "media")
        .and_then(|table| table["entries"].as_u64())
        .unwrap()
}

/// The send form of a conversation with `text` and one picture.
fn message_with_file(csrf: &str, text: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("text", text.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("plan.png")
                .mime_str("image/png")
                .unwrap(),
        )
}

#[tokio::test]
async fn a_file_is_stored_only_with_an_allowed_and_valid_message_or_an_allowed_upload() {
    let app = spawn_app();
    let admin = crate::staff::login_admin(&app).await;
    let admin_api = crate::staff::Api::new(&app, &admin.create_token("admin").await);
    let customer = admin_api.customer(9400, "Vera").await;
    let administrator = web_helpers::Session {
        client: admin.client.clone(),
        csrf: admin.csrf.clone(),
    };
    let worker = web_helpers::user_with_role(&app, &administrator, "worker1", "worker").await;
    let manager = web_helpers::user_with_role(&app, &administrator, "manager1", "manager").await;
    let before = stored_files(&app).await;
    let chat = app.url(&format!("/chat/{customer}"));

    // A worker may not write to customers: 403, and the file is not kept.
    let refused = worker
        .client
        .post(&chat)
        .multipart(message_with_file(
            &worker.csrf,
            "hello",
            b"worker's file".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // A manager's message that is too long: 422, and the file is not kept either.
    let too_long = manager
        .client
        .post(&chat)
        .multipart(message_with_file(
            &manager.csrf,
            &"x".repeat(4097),
            b"manager's file".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), 422);
    assert_eq!(
        stored_files(&app).await,
        before,
        "no refused message kept its file"
    );

    // A valid message keeps its file, and sends it.
    let sent = manager
        .client
        .post(&chat)
        .multipart(message_with_file(
            &manager.csrf,
            "the plan",
            b"manager's file".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    assert_eq!(stored_files(&app).await, before + 1);

    // The upload API needs chat_customers and leaves an audit entry.
    let worker_token = {
        let browser = crate::staff::Browser {
            client: worker.client.clone(),
            base: app.url(""),
            csrf: worker.csrf.clone(),
        };
        browser.create_token("worker").await
    };
    let upload = |token: String, bytes: &'static [u8]| {
        reqwest::Client::new()
            .post(app.url("/api/v1/media"))
            .bearer_auth(token)
            .header("content-type", "application/pdf")
            .body(bytes)
            .send()
    };
    let denied = upload(worker_token, b"a 9 MiB dump, say").await.unwrap();
    assert_eq!(denied.status(), 403);
    let body: serde_json::Value = denied.json().await.unwrap();
    assert_eq!(body["error"]["permission"], "chat_customers", "{body}");
    assert_eq!(stored_files(&app).await, before + 1);
    let accepted = upload(admin_api.token.clone(), b"the contract")
        .await
        .unwrap();
    assert_eq!(accepted.status(), 201);
    let media: serde_json::Value = accepted.json().await.unwrap();
    assert_eq!(stored_files(&app).await, before + 2);
    let audit = web_helpers::page(&app, &administrator, "/audit").await;
    assert!(audit.contains("File uploaded"), "{audit}");
    assert!(
        audit.contains(media["hash"].as_str().unwrap()),
        "the entry names the file"
    );
}

#[tokio::test]
async fn the_order_list_download_is_the_library_s_csv_with_formula_cells_quoted() {
    let app = spawn_app();
    let admin = web_helpers::admin(&app).await;
    let customer = web_helpers::create_customer(&app, &admin, "=HYPERLINK(\"x\")").await;
    let order = web_helpers::create_order(&app, &admin, customer, "@SUM(A1) cake").await;
    let response = admin
        .client
        .get(app.url("/orders.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_security_headers(&response, "/orders.csv");
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id,number,title,customer_name,stage,assignee,budget,price,deadline,created_at")
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&format!(
            "{order},#{order},'@SUM(A1) cake,\"'=HYPERLINK(\"\"x\"\")\","
        )),
        "{row}"
    );
    assert!(row.contains(",1500.00,"), "{row}");
}

/// "Secrets are never logged or shown after their one intended display": at debug level, a
/// failed login, the forced password change, a new user's one-time password, a session and
/// an API token used on the API leave none of their secrets in the output, where the first
/// administrator password and the sandbox key are printed once at start; nor does a webhook
/// endpoint's signing secret, signing a test event. Checked by logging
/// the `Authorization` header in the API's token extractor at debug: the token was found.
#[tokio::test]
async fn passwords_session_ids_and_api_tokens_never_appear_in_the_logs_even_at_debug_level() {
    let app = spawn_app_logging("debug");
    let wrong_password = "not-the-password-4711";
    let refused = login_with(&app, &client_from(None), "admin", wrong_password).await;
    assert_ne!(refused.status(), 303, "a wrong password logs nobody in");
    let admin = web_helpers::admin(&app).await;
    let changed_password = format!("{}-changed", app.admin_password);
    let one_time_password = web_helpers::create_user(&app, &admin, "logged", "worker").await;
    let browser = Browser {
        client: admin.client.clone(),
        base: app.url(""),
        csrf: admin.csrf.clone(),
    };
    let token = browser.create_token("logs").await;
    let me = reqwest::Client::new()
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let fresh = client_from(None);
    let login = login_with(&app, &fresh, "admin", &changed_password).await;
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    let session_id = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_string())
        .unwrap();
    assert!(session_id.len() >= 20, "{cookie}");
    let home = fresh.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    // A webhook endpoint's signing secret: created through the API, shown on its page, and
    // used to sign a test event that the sender attempts (port 9 refuses the connection).
    let hook: serde_json::Value = reqwest::Client::new()
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"url": "http://127.0.0.1:9/hooks", "events": ["order.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook_secret = hook["secret"].as_str().unwrap().to_string();
    let hook_id = hook["id"].as_u64().unwrap();
    let hook_page = browser
        .get_text(&format!("/settings/webhooks/{hook_id}"))
        .await;
    assert!(
        hook_page.contains(&webhook_secret),
        "the page shows the secret"
    );
    let tested = browser
        .post_form(&format!("/settings/webhooks/{hook_id}/test"), &[])
        .await;
    assert_eq!(tested.status(), 303);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log: serde_json::Value = reqwest::Client::new()
            .get(app.url(&format!("/api/v1/webhooks/{hook_id}/deliveries")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if log["items"][0]["attempts"]
            .as_array()
            .is_some_and(|all| !all.is_empty())
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no attempt: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let output = app.output.lock().unwrap().join("\n");
    assert!(output.len() > 1000, "debug logging is on: {output}");
    for (secret, printed) in [
        (app.admin_password.as_str(), 1),
        (app.sandbox_key.as_str(), 1),
        (wrong_password, 0),
        (changed_password.as_str(), 0),
        (one_time_password.as_str(), 0),
        (token.as_str(), 0),
        (session_id.as_str(), 0),
        (webhook_secret.as_str(), 0),
    ] {
        assert!(secret.len() >= 10, "{secret:?}");
        assert_eq!(
            output.matches(secret).count(),
            printed,
            "{secret} in the output: {output}"
        );
    }
}

/// The OxaPay merchant key is a secret too: at debug level, saving it, a callback signed
/// with another key, and invoices the appliance fails to create at an unreachable OxaPay
/// (its errors logged) leave no trace of it in the output, the API or the settings page.
#[tokio::test]
async fn the_oxapay_merchant_key_never_appears_in_the_logs_the_api_or_the_pages() {
    let app = spawn_app_logging_with("debug", &["--template", "service"]);
    let admin = crate::staff::login_admin(&app).await;
    let api = crate::staff::Api::new(&app, &admin.create_token("payments").await);
    let key = "merchant-key-SECRET-4711";
    let (status, saved) = api
        .put(
            "/payment-settings",
            serde_json::json!({"oxapay_merchant_key": key, "oxapay_base_url": "http://127.0.0.1:9"}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let customer = api.customer(5_600_000_001, "Kim").await;
    let (status, invoice) = api
        .post(
            &format!("/customers/{customer}/invoices"),
            serde_json::json!({"tokens": 10, "provider": "oxapay"}),
        )
        .await;
    assert_eq!(status, 201, "{invoice}");
    let body = br#"{"track_id":"1","status":"Paid"}"#;
    let refused = reqwest::Client::new()
        .post(app.url("/webhooks/oxapay"))
        .header(
            "HMAC",
            crm_lib::payments::oxapay_signature("another key", body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // The task tried OxaPay (unreachable) and logged its failure.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !app
        .output
        .lock()
        .unwrap()
        .join("\n")
        .contains("creating the invoice at OxaPay")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the creation was never tried"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let page = admin.get_text("/settings/payments").await;
    let (_, read) = api.get("/payment-settings").await;
    let output = app.output.lock().unwrap().join("\n");
    assert!(!output.contains(key), "the key in the output: {output}");
    assert!(!page.contains(key) && page.contains("…4711"));
    assert!(!read.to_string().contains(key));
}
