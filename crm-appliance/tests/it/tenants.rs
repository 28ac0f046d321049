//! Several organizations in one appliance (issue 14, SPEC 3.1): organizations created through
//! the admin channel while it runs, each with its own emulated bot; the login page's
//! organization field; no route or API endpoint of one organization's staff reaching another's
//! records; a disabled organization's bot and logins stopping and coming back; the
//! organization in logs and metrics.
//!
//! Organization B's records all carry the word `Zebeta`, which nothing of organization A
//! holds, so "never B's data" is "never `Zebeta`" in any answer A gets.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::admin_channel::crm_async;
use crate::bot_support::{PATIENCE, Sandbox, User, start_customer};
use crate::routes_by_role::TABLE;
use crate::support::{TestApp, spawn_app, spawn_app_logging};
use crate::web_helpers::{admin, client_from, first_login_to, login_to, page, post};

/// What every record of organization B carries.
const MARK: &str = "Zebeta";

/// Runs `crm args...` through the running appliance's admin channel; asserts success.
async fn crm_ok(app: &TestApp, args: &[&str]) -> String {
    let output = crm_async(&app.data_dir, args, "").await;
    assert_eq!(
        output.code, 0,
        "crm {args:?}\nstdout: {}\nstderr: {}",
        output.out, output.err
    );
    output.out
}

/// The value after `prefix` on a line of `text`.
fn line_value(text: &str, prefix: &str) -> String {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"))
        .trim()
        .to_string()
}

/// Creates a studio organization through the admin channel; returns its owner's password.
async fn create_org(app: &TestApp, slug: &str, name: &str, owner: &str) -> String {
    let out = crm_ok(
        app,
        &[
            "org",
            "create",
            "--template",
            "studio",
            "--name",
            name,
            "--slug",
            slug,
            "--owner",
            owner,
        ],
    )
    .await;
    assert!(out.contains(&format!("slug {slug}")), "{out}");
    line_value(&out, "password: ")
}

/// An API client with a bearer token.
struct Api {
    base: String,
    http: reqwest::Client,
    token: String,
}

impl Api {
    /// A token for `user` of `org`, made with `crm token create`.
    async fn of(app: &TestApp, org: &str, user: &str) -> Api {
        let out = crm_ok(app, &["--org", org, "token", "create", "--user", user]).await;
        Api {
            base: app.url("/api/v1"),
            http: reqwest::Client::new(),
            token: line_value(&out, "token: "),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        let url = format!("{}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// A successful call's JSON.
    async fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = self.call(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// Waits until `check` holds, asking again every 50 ms for at most [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `text` without its terminal colour sequences (`ESC [ ... m`).
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The status of a sandbox control call for organization `org` (with the sandbox key).
async fn sandbox_status(app: &TestApp, org: &str) -> u16 {
    app.sandbox_client()
        .get(app.url(&format!("/sandbox/chats?org={org}")))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn two_organizations_each_talk_through_their_own_bot_and_staff_see_only_their_own() {
    let app = spawn_app_logging("info,crm_appliance=debug");
    // The first organization's administrator logs in while it is the only one.
    let alpha = admin(&app).await;
    let password = create_org(&app, "beta", "Zebeta Repairs", "owner").await;
    let beta = first_login_to(&app, "beta", "owner", &password).await;

    // Each organization's emulated bot answers its own customers.
    let alpha_bot = Sandbox::of_org(&app, "main");
    let beta_bot = Sandbox::of_org(&app, "beta");
    let anna = User::new(7101, "Anna", "en");
    let zed = User::new(7102, "Zebeta Zed", "en");
    start_customer(&alpha_bot, &anna, "en").await;
    start_customer(&beta_bot, &zed, "en").await;
    alpha_bot
        .send(&anna, "Anna writes to the first business")
        .await;
    beta_bot
        .send(&zed, "Zebeta writes to the second business")
        .await;
    // A chat lives in its own bot's emulator only.
    assert!(alpha_bot.chat(zed.id).await.is_null());
    assert!(beta_bot.chat(anna.id).await.is_null());

    // Each organization's staff see their own customer's message, never the other's.
    eventually("the first business sees Anna", || async {
        page(&app, &alpha, "/chat")
            .await
            .contains("Anna writes to the first business")
    })
    .await;
    eventually("the second business sees Zed", || async {
        page(&app, &beta, "/chat")
            .await
            .contains("Zebeta writes to the second business")
    })
    .await;
    let alpha_inbox = page(&app, &alpha, "/chat").await;
    assert!(!alpha_inbox.contains(MARK), "{alpha_inbox}");
    let beta_inbox = page(&app, &beta, "/chat").await;
    assert!(!beta_inbox.contains("Anna"), "{beta_inbox}");
    // The sandbox page of each is its own organization's bot.
    let beta_page = page(&app, &beta, "/sandbox").await;
    assert!(beta_page.contains("crm_sandbox_2_bot"), "{beta_page}");
    let alpha_page = page(&app, &alpha, "/sandbox").await;
    assert!(alpha_page.contains("@crm_sandbox_bot"), "{alpha_page}");

    // Logs carry the organization of bot work and of requests (colours taken out).
    let output = strip_colours(&app.output.lock().unwrap().join("\n"));
    for org in ["main", "beta"] {
        assert!(
            output
                .lines()
                .any(|line| line.contains(&format!("org={org}")) && line.contains("update handled")),
            "no bot log line of {org}: {output}"
        );
        assert!(
            output
                .lines()
                .any(|line| line.contains(&format!("request{{org={org}}}"))
                    && line.contains("request answered")),
            "no request log line of {org}: {output}"
        );
    }
    // Metrics count bot updates and requests per organization.
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "crm_bot_updates_by_org_total{org=\"main\"}",
        "crm_bot_updates_by_org_total{org=\"beta\"}",
        "crm_http_requests_by_org_total{org=\"main\"}",
        "crm_http_requests_by_org_total{org=\"beta\"}",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
    // The list shows both, with their owners and bots.
    let list = crm_ok(&app, &["org", "list", "--json"]).await;
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["slug"], "main");
    assert_eq!(list[1]["slug"], "beta");
    assert_eq!(list[1]["owner"], "owner");
    assert_eq!(list[1]["bot"], "emulated");
}

#[tokio::test]
async fn the_login_page_asks_for_the_organization_only_while_several_are_enabled() {
    let app = spawn_app();
    let login_page = || async {
        reqwest::get(app.url("/login"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    assert!(!login_page().await.contains("name=\"organization\""));
    let alpha = admin(&app).await;
    let password = create_org(&app, "beta", "Zebeta", "admin").await;
    assert!(login_page().await.contains("name=\"organization\""));

    // Without an organization the form asks for one; the same username in each organization
    // opens its own.
    let client = client_from(None);
    let refused = login_to(&app, &client, "", "admin", &password).await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.unwrap();
    assert!(body.contains("name=\"organization\""), "{body}");
    let wrong = login_to(&app, &client, "main", "admin", &password).await;
    assert_eq!(wrong.status(), 401, "beta's password does not open main");
    let unknown = login_to(&app, &client, "nowhere", "admin", &password).await;
    assert_eq!(
        unknown.status(),
        401,
        "an unknown organization is a wrong login"
    );
    let beta = first_login_to(&app, "beta", "admin", &password).await;
    let profile = page(&app, &beta, "/settings").await;
    assert!(profile.contains(MARK), "beta's admin is in beta");
    let settings = page(&app, &alpha, "/settings").await;
    assert!(!settings.contains(MARK), "main's admin is in main");

    // Once only one is enabled, the field goes again.
    crm_ok(&app, &["org", "disable", "beta"]).await;
    assert!(!login_page().await.contains("name=\"organization\""));
    crm_ok(&app, &["org", "enable", "beta"]).await;
    assert!(login_page().await.contains("name=\"organization\""));
}

#[tokio::test]
async fn a_disabled_organization_s_bot_stops_and_its_staff_cannot_log_in_until_it_is_enabled() {
    let app = spawn_app();
    let password = create_org(&app, "beta", "Zebeta", "owner").await;
    let beta = first_login_to(&app, "beta", "owner", &password).await;
    let beta_bot = Sandbox::of_org(&app, "beta");
    let alpha_bot = Sandbox::of_org(&app, "main");
    let vera = User::new(7201, "Vera", "en");
    start_customer(&beta_bot, &vera, "en").await;

    let out = crm_ok(&app, &["org", "disable", "beta"]).await;
    assert!(out.contains("1 sessions ended"), "{out}");
    // Its bot stopped (the command returns once it has): the emulator is gone.
    assert_eq!(sandbox_status(&app, "beta").await, 404);
    // Its staff's session ended, and a login is refused with a clear message.
    let home = beta.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 303);
    let client = client_from(None);
    let refused = login_to(&app, &client, "beta", "owner", "whatever-password").await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("disabled"));
    // The other organization goes on.
    let anna = User::new(7202, "Anna", "en");
    start_customer(&alpha_bot, &anna, "en").await;

    crm_ok(&app, &["org", "enable", "beta"]).await;
    assert_eq!(sandbox_status(&app, "beta").await, 200);
    // A new emulator: the customer (known, with a language) writes again and the bot answers.
    let menu = beta_bot.say(&vera, "/start").await;
    assert!(
        crate::bot_support::buttons(&menu).contains(&"m:new".to_string()),
        "{menu:#}"
    );
    let again = login_to(
        &app,
        &client,
        "beta",
        "owner",
        &format!("{password}-changed"),
    )
    .await;
    assert_eq!(again.status(), 303);

    // A token for the organization's bot replaces its emulator; removing it brings one back.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1\n").unwrap();
    let out = crm_ok(
        &app,
        &[
            "org",
            "set-token",
            "beta",
            "--token-file",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!out.contains("AAHdq"), "the token is never printed: {out}");
    assert_eq!(sandbox_status(&app, "beta").await, 404);
    crm_ok(&app, &["org", "set-token", "beta", "--remove"]).await;
    assert_eq!(sandbox_status(&app, "beta").await, 200);
    let output = app.output.lock().unwrap().join("\n");
    assert!(!output.contains("AAHdq"), "the token leaked: {output}");
}

/// A string of the path's placeholders replaced by organization B's ids.
struct Ids {
    pending: u64,
    approved: u64,
    customer: u64,
    user: u64,
    role: u64,
    marker: u64,
    method: u64,
    broadcast: u64,
    webhook: u64,
    canned: u64,
    message: u64,
}

impl Ids {
    /// `path` with the routes-by-role table's placeholders and the literal ids of B's kinds
    /// of record replaced by B's ids; whether any was.
    fn web(&self, path: &str) -> (String, bool) {
        let mut out = path.to_string();
        for (placeholder, id) in [
            ("{pending}", self.pending),
            ("{approved}", self.approved),
            ("{customer}", self.customer),
            ("{admin}", self.user),
            ("{custom}", self.role),
        ] {
            out = out.replace(placeholder, &id.to_string());
        }
        for (prefix, id) in [
            ("/broadcasts/999", self.broadcast),
            ("/settings/webhooks/999", self.webhook),
            ("/settings/canned/999", self.canned),
            ("/users/999", self.user),
            ("/roles/999", self.role),
            ("/markers/999", self.marker),
            ("/payment-methods/999", self.method),
        ] {
            if let Some(rest) = out.strip_prefix(prefix) {
                out = format!("{}{id}{rest}", &prefix[..prefix.len() - 3]);
            }
        }
        let changed = out != path || path.contains('{');
        (out, changed)
    }

    /// An API path of the OpenAPI document with each parameter replaced by a B id of its
    /// kind (`{id}` by the segment before it); whether the path names a record.
    fn api(&self, path: &str) -> (String, bool) {
        let segments: Vec<&str> = path.split('/').collect();
        let mut out = Vec::new();
        let mut named = false;
        for (index, segment) in segments.iter().enumerate() {
            let previous = index.checked_sub(1).map_or("", |at| segments[at]);
            let replaced = match *segment {
                "{id}" => {
                    named = true;
                    match previous {
                        "orders" => self.approved.to_string(),
                        "customers" => self.customer.to_string(),
                        "broadcasts" => self.broadcast.to_string(),
                        "webhooks" => self.webhook.to_string(),
                        "canned" => self.canned.to_string(),
                        "messages" => self.message.to_string(),
                        _ => "424242".to_string(),
                    }
                }
                "{user}" => {
                    named = true;
                    self.user.to_string()
                }
                "{order}" => {
                    named = true;
                    self.approved.to_string()
                }
                "{chart}" => "revenue".to_string(),
                "{name}" => "audit_cleanup".to_string(),
                "{rule}" => "field_format".to_string(),
                other => other.to_string(),
            };
            out.push(replaced);
        }
        (out.join("/"), named)
    }
}

/// Everything of B that its own API shows, to compare before and after A's requests.
async fn snapshot(api: &Api, ids: &Ids) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for path in [
        "/orders?limit=100".to_string(),
        "/customers?limit=100".to_string(),
        "/users".to_string(),
        "/broadcasts".to_string(),
        "/webhooks".to_string(),
        "/canned".to_string(),
        "/audit?limit=500".to_string(),
        format!("/orders/{}", ids.approved),
        format!("/orders/{}/bids", ids.approved),
        format!("/customers/{}", ids.customer),
    ] {
        out.push((path.clone(), api.ok("GET", &path, None).await));
    }
    out
}

#[tokio::test]
async fn a_user_of_one_organization_reaches_no_record_of_another_through_any_route_or_endpoint() {
    let app = spawn_app();
    let alpha = admin(&app).await;
    let alpha_api = Api::of(&app, "main", "admin").await;
    let password = create_org(&app, "beta", "Zebeta Org", "zebeta").await;
    let beta = first_login_to(&app, "beta", "zebeta", &password).await;
    let beta_api = Api::of(&app, "beta", "zebeta").await;

    // B's records, numbered past anything A holds (ids are per organization).
    for index in 0..3 {
        let name = format!("zebeta{index}");
        crm_ok(
            &app,
            &[
                "--org",
                "beta",
                "user",
                "add",
                &name,
                "--role",
                "worker",
                "--display-name",
                "Zebeta worker",
            ],
        )
        .await;
    }
    let users = beta_api.ok("GET", "/users", None).await;
    let user = users
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|user| user["id"].as_u64())
        .max()
        .unwrap();
    let mut customers = Vec::new();
    let mut orders = Vec::new();
    for index in 0..12 {
        let customer = beta_api
            .ok(
                "POST",
                "/customers",
                Some(&json!({"first_name": format!("Zebeta customer {index}")})),
            )
            .await["id"]
            .as_u64()
            .unwrap();
        customers.push(customer);
        let order = beta_api
            .ok(
                "POST",
                "/orders",
                Some(&json!({
                    "customer": customer,
                    "title": format!("Zebeta order {index}"),
                    "description": "Zebeta secret work",
                })),
            )
            .await["id"]
            .as_u64()
            .unwrap();
        orders.push(order);
    }
    let pending = orders[10];
    let approved = orders[11];
    beta_api
        .ok(
            "POST",
            &format!("/orders/{approved}/approve"),
            Some(&json!({})),
        )
        .await;
    let mut broadcast = 0;
    let mut webhook = 0;
    let mut canned = 0;
    for index in 0..3 {
        broadcast = beta_api
            .ok(
                "POST",
                "/broadcasts",
                Some(&json!({"title": format!("Zebeta news {index}"), "text": "Zebeta news"})),
            )
            .await["id"]
            .as_u64()
            .unwrap();
        webhook = beta_api
            .ok(
                "POST",
                "/webhooks",
                Some(&json!({
                    "url": format!("https://zebeta.example/hook{index}"),
                    "description": "Zebeta hook",
                    "events": ["payment.succeeded"],
                })),
            )
            .await["id"]
            .as_u64()
            .unwrap();
        canned = beta_api
            .ok(
                "POST",
                "/canned",
                Some(&json!({
                    "code": format!("zebeta{index}"),
                    "title": "Zebeta reply",
                    "texts": {"en": "Zebeta says hi"},
                })),
            )
            .await["id"]
            .as_u64()
            .unwrap();
    }
    let response = post(
        &app,
        &beta,
        "/roles",
        &[("name", "zebetarole"), ("permission", "view_orders")],
    )
    .await;
    assert_eq!(response.status(), 303);
    let roles = page(&app, &beta, "/roles").await;
    let role: u64 = roles
        .split("action=\"/roles/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let response = post(
        &app,
        &beta,
        "/markers",
        &[("name", "Zebeta marker"), ("color", "#112233")],
    )
    .await;
    assert!(
        response.status().is_redirection(),
        "{:?}",
        response.status()
    );
    let markers = page(&app, &beta, "/markers").await;
    let marker: u64 = markers
        .split("action=\"/markers/")
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|id| id.split('/').next()?.parse().ok())
        .max()
        .unwrap();
    let response = post(
        &app,
        &beta,
        "/payment-methods",
        &[
            ("name", "Zebeta bank"),
            ("template", "Zebeta account {details}"),
        ],
    )
    .await;
    assert!(
        response.status().is_redirection(),
        "{:?}",
        response.status()
    );
    let methods = page(&app, &beta, "/payment-methods").await;
    let method: u64 = methods
        .split("action=\"/payment-methods/")
        .filter_map(|rest| rest.split('/').next()?.parse().ok())
        .max()
        .unwrap();
    // A customer of B writes through B's bot, with a photo: a message and a stored file.
    let beta_bot = Sandbox::of_org(&app, "beta");
    let zed = User::new(7301, "Zebeta Zed", "en");
    start_customer(&beta_bot, &zed, "en").await;
    beta_bot
        .send_file(
            &zed,
            "photo",
            "z.jpg",
            "image/jpeg",
            b"Zebeta photo".to_vec(),
            "Zebeta pic",
        )
        .await;
    let deadline = Instant::now() + PATIENCE;
    let (customer, messages) = loop {
        let list = beta_api.ok("GET", "/conversations", None).await;
        let found = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["telegram_id"] == zed.id)
            .and_then(|row| row["id"].as_u64());
        if let Some(customer) = found {
            let messages = beta_api
                .ok("GET", &format!("/customers/{customer}/messages"), None)
                .await;
            if messages.to_string().contains("Zebeta pic") {
                break (customer, messages);
            }
        }
        assert!(
            Instant::now() < deadline,
            "B's customer's photo never reached B: {list}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let photo = messages
        .to_string()
        .split("\"media\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let message = messages
        .as_array()
        .or_else(|| messages["items"].as_array())
        .unwrap()
        .iter()
        .filter_map(|message| message["id"].as_u64())
        .max()
        .unwrap();
    let ids = Ids {
        pending,
        approved,
        customer,
        user,
        role,
        marker,
        method,
        broadcast,
        webhook,
        canned,
        message,
    };
    beta_bot.drained().await;
    let before = snapshot(&beta_api, &ids).await;

    let mut failures = Vec::new();
    // Every route of the routes-by-role table, as A's administrator, against B's ids.
    let mut walked = 0;
    for (method, path, fields, _) in TABLE {
        let (path, names_b) = ids.web(path);
        let response = if *method == "GET" {
            alpha.client.get(app.url(&path)).send().await.unwrap()
        } else {
            post(&app, &alpha, &path, fields).await
        };
        walked += 1;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if body.contains(MARK) {
            failures.push(format!("{method} {path}: {status} shows B's data"));
        }
        if names_b && !(400..500).contains(&status) {
            failures.push(format!(
                "{method} {path} names B's record and answered {status}"
            ));
        }
    }
    assert_eq!(walked, TABLE.len());
    // B's stored file is not A's to read.
    let media = alpha
        .client
        .get(app.url(&format!("/media/{photo}")))
        .send()
        .await
        .unwrap();
    if media.status() != 404 {
        failures.push(format!("/media/{photo}: {}", media.status()));
    }
    for path in [
        format!("/chat/{customer}"),
        format!("/customers/{customer}/scheduled"),
        format!("/chat/{customer}/canned?q=z"),
    ] {
        let response = alpha.client.get(app.url(&path)).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if body.contains(MARK) || !(400..500).contains(&status) {
            failures.push(format!("GET {path}: {status}"));
        }
    }

    // Every endpoint of the API's own OpenAPI document, with A's token, against B's ids.
    let document: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut endpoints = 0;
    for (template, operations) in document["paths"].as_object().unwrap() {
        let relative = template.strip_prefix("/api/v1").unwrap_or(template);
        let (path, names_b) = ids.api(relative);
        for method in operations.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            endpoints += 1;
            let body = (method != "GET" && method != "DELETE").then(|| json!({}));
            let (status, text) = alpha_api.call(&method, &path, body.as_ref()).await;
            if text.contains(MARK) {
                failures.push(format!("API {method} {path}: {status} shows B's data"));
            }
            if names_b && !(400..500).contains(&status) {
                failures.push(format!(
                    "API {method} {path} names B's record and answered {status}"
                ));
            }
        }
    }
    assert!(endpoints > 80, "the document lists {endpoints} operations");

    // A's own lists never hold B's records.
    for path in [
        "/orders?limit=100",
        "/customers?limit=100",
        "/users",
        "/audit?limit=500",
    ] {
        let list = alpha_api.ok("GET", path, None).await;
        if list.to_string().contains(MARK) {
            failures.push(format!("A's {path} holds B's records"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} crossings:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // And B's records are as they were.
    let after = snapshot(&beta_api, &ids).await;
    for ((path, before), (_, after)) in before.iter().zip(&after) {
        assert_eq!(before, after, "B's {path} changed");
    }
}
