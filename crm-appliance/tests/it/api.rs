//! The JSON API at /api/v1: bearer tokens from the profile page, JSON errors with the right
//! status, the order loop, customers, messages and media, and the generated OpenAPI document.

use serde_json::json;

use crate::staff::{Api, login_admin};
use crate::support::spawn_app;

#[tokio::test]
async fn requests_without_a_valid_token_get_401_json_and_no_page() {
    let app = spawn_app();
    let client = reqwest::Client::new();
    for token in [
        None,
        Some("nope"),
        Some("crm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let mut request = client.get(app.url("/api/v1/orders"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{token:?}");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"crm\""
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["kind"], "unauthorized", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 5);
    }
}

#[tokio::test]
async fn a_token_made_on_the_profile_page_works_until_it_is_revoked() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let token = admin.create_token("reports").await;
    assert!(token.starts_with("crm_") && token.len() == 47);
    let api = Api::new(&app, &token);
    let (status, me) = api.get("/users/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "admin");
    assert!(
        me["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("manage_users"))
    );
    // The token is listed by name; its text appears nowhere but on the answer that made it.
    let page = admin.get_text("/profile/tokens").await;
    assert!(page.contains("reports"));
    assert!(!page.contains(&token));
    let printed = app.output.lock().unwrap().join("\n");
    assert!(!printed.contains(&token), "the token is never logged");
    let id = page
        .split("data-token=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let revoked = admin
        .post_form(&format!("/profile/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    let (status, body) = api.get("/users/me").await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn the_order_loop_runs_through_the_api_with_the_library_s_rules() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("loop").await);
    let customer = api.customer(7001, "Вера").await;

    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Bot for a bakery", "description": "Menu and delivery", "budget": "1500"}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_u64().unwrap();
    assert_eq!(order["stage"]["key"], "pending");
    assert_eq!(order["budget"], "1500.00");

    let (status, approved) = api.post(&format!("/orders/{id}/approve"), json!({})).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["stage"]["key"], "approved");
    let (status, again) = api.post(&format!("/orders/{id}/approve"), json!({})).await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["kind"], "conflict");

    let (status, over) = api
        .post(&format!("/orders/{id}/bids"), json!({"price": "2000"}))
        .await;
    assert_eq!(status, 422, "{over}");
    assert_eq!(over["error"]["field"], "price");
    assert!(
        over["error"]["message"]
            .as_str()
            .unwrap()
            .contains("budget")
    );
    let (status, bid) = api
        .post(
            &format!("/orders/{id}/bids"),
            json!({"price": "1200", "comment": "two weeks"}),
        )
        .await;
    assert_eq!(status, 201, "{bid}");
    let (status, bids) = api.get(&format!("/orders/{id}/bids")).await;
    assert_eq!(status, 200);
    assert_eq!(bids.as_array().unwrap().len(), 1);

    let (status, assigned) = api
        .post(&format!("/orders/{id}/assign"), json!({"bid": bid["id"]}))
        .await;
    assert_eq!(status, 200, "{assigned}");
    assert_eq!(assigned["price"], "1200.00");
    let (status, both) = api
        .post(
            &format!("/orders/{id}/assign"),
            json!({"bid": 1, "user": 1}),
        )
        .await;
    assert_eq!(status, 422, "{both}");

    let (status, moved) = api
        .post(
            &format!("/orders/{id}/move"),
            json!({"stage": "in_progress"}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["stage"]["key"], "in_progress");
    let (status, jump) = api
        .post(&format!("/orders/{id}/move"), json!({"stage": "delivered"}))
        .await;
    assert_eq!(status, 409, "{jump}");
    let (status, unknown) = api
        .post(&format!("/orders/{id}/move"), json!({"stage": "nowhere"}))
        .await;
    assert_eq!(status, 422, "{unknown}");
    assert_eq!(unknown["error"]["field"], "stage");

    let (status, page) = api.get("/orders?stage=in_progress&limit=10").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["id"], id);
    let (status, page) = api.get("/orders?stage=pending").await;
    assert_eq!(status, 200);
    assert!(page["items"].as_array().unwrap().is_empty());
    let (status, one) = api.get(&format!("/orders/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["assignee"], assigned["assignee"]);

    let (status, rejected) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Second", "description": "x"}),
        )
        .await;
    assert_eq!(status, 201);
    let second = rejected["id"].as_u64().unwrap();
    let (status, limit) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Third", "description": "x"}),
        )
        .await;
    assert_eq!(status, 409, "the open-order limit applies: {limit}");
    let (status, rejected) = api
        .post(
            &format!("/orders/{second}/reject"),
            json!({"reason": "out of scope"}),
        )
        .await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["rejection_reason"], "out of scope");
}

#[tokio::test]
async fn malformed_requests_answer_json_errors_and_change_nothing() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("errors").await);
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}{path}", api.base))
            .bearer_auth(&api.token)
    };

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            send(reqwest::Method::POST, "/orders")
                .header("content-type", "application/json")
                .body("{not json"),
            400,
            "bad_request",
        ),
        (
            send(reqwest::Method::POST, "/orders").body("customer=1"),
            415,
            "bad_request",
        ),
        (
            send(reqwest::Method::POST, "/orders").json(&json!({"customer": "one"})),
            422,
            "invalid_input",
        ),
        (
            send(reqwest::Method::GET, "/orders/abc"),
            400,
            "bad_request",
        ),
        (send(reqwest::Method::GET, "/orders/99"), 404, "not_found"),
        (
            send(reqwest::Method::GET, "/orders?limit=x"),
            400,
            "bad_request",
        ),
        (
            send(reqwest::Method::GET, "/orders?created_from=yesterday"),
            422,
            "invalid_input",
        ),
        (
            send(reqwest::Method::GET, "/no/such/thing"),
            404,
            "not_found",
        ),
        (send(reqwest::Method::DELETE, "/orders"), 405, "bad_request"),
        (
            send(reqwest::Method::POST, "/customers")
                .json(&json!({"first_name": "", "phone": "12"})),
            422,
            "invalid_input",
        ),
    ];
    for (request, status, kind) in cases {
        let response = request.send().await.unwrap();
        let url = response.url().to_string();
        assert_eq!(response.status().as_u16(), status, "{url}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{url}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["kind"], kind, "{url}: {body}");
        assert!(body["error"]["message"].is_string(), "{url}: {body}");
    }
    let (status, page) = api.get("/orders").await;
    assert_eq!(status, 200);
    assert!(
        page["items"].as_array().unwrap().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn messages_and_files_are_sent_and_listed_through_the_api() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("chat").await);
    let customer = api.customer(7002, "Ann").await;

    let png = crate::chat::tiny_png();
    let upload = api
        .client
        .post(format!("{}/media", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201);
    let media: serde_json::Value = upload.json().await.unwrap();
    assert_eq!(media["mime"], "image/png");
    assert_eq!(media["size"], png.len());

    let (status, sent) = api
        .post(
            &format!("/customers/{customer}/messages"),
            json!({"text": "Here is the mock-up", "attachments": [{"media": media["hash"], "file_name": "mock.png"}]}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["direction"], "outbound");
    assert_eq!(sent["delivery"], "pending");
    assert_eq!(sent["attachments"][0]["kind"], "photo");
    assert_eq!(sent["attachments"][0]["mime"], "image/png");

    let (status, page) = api.get(&format!("/customers/{customer}/messages")).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["text"], "Here is the mock-up");
    let (status, conversations) = api.get("/conversations").await;
    assert_eq!(status, 200);
    assert_eq!(conversations["items"][0]["id"], customer);

    let (status, empty) = api
        .post(
            &format!("/customers/{customer}/messages"),
            json!({"text": "  "}),
        )
        .await;
    assert_eq!(status, 422, "{empty}");
    assert_eq!(empty["error"]["field"], "text");
    let (status, bad) = api
        .post(
            &format!("/customers/{customer}/messages"),
            json!({"text": "x", "attachments": [{"media": "zz"}]}),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    let (status, users) = api.get("/users").await;
    assert_eq!(status, 200);
    assert_eq!(users[0]["username"], "admin");
    assert!(users[0].get("password_hash").is_none());
}

#[tokio::test]
async fn the_openapi_document_is_generated_and_covers_every_endpoint() {
    let app = spawn_app();
    let response = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/orders/{id}/approve",
        "/api/v1/orders/{id}/reject",
        "/api/v1/orders/{id}/move",
        "/api/v1/orders/{id}/assign",
        "/api/v1/orders/{id}/bids",
        "/api/v1/orders/{id}/messages",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/customers/{id}/messages",
        "/api/v1/customers/{id}/read",
        "/api/v1/conversations",
        "/api/v1/media",
        "/api/v1/users",
        "/api/v1/users/me",
        "/api/v1/calls",
        "/api/v1/calls/{id}",
        "/api/v1/customers/{id}/timeline",
        "/api/v1/audit",
    ] {
        assert!(paths.contains_key(path), "{path} is documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
    // An order's preferred payment method is documented where it is read and where it is set.
    for schema in ["OrderView", "CreateOrder"] {
        assert!(
            doc["components"]["schemas"][schema]["properties"]["preferred_payment_method"]
                .is_object(),
            "{schema} documents preferred_payment_method"
        );
    }
    // Every operation has an operationId of its own: client generators that do not group by
    // tag name a function after it (`list`, `create` and `get` were used twice each).
    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has an operationId"));
            assert!(operation_ids.insert(id.to_string()), "{id} is used twice");
        }
    }
    assert!(operation_ids.contains("listOrders"), "{operation_ids:?}");
    // And a real OpenAPI validator accepts the document as served.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&doc).unwrap()).unwrap();
    let validated = std::process::Command::new(crate::tools::openapi_validator_python())
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "openapi-spec-validator refuses the document: {}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
    // Every documented operation is routed: without a token it answers 401, never 404/405.
    let client = reqwest::Client::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "1"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = client
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 401, "{method} {url}");
        }
    }
}

#[tokio::test]
async fn a_token_has_exactly_its_user_s_permissions() {
    let app = spawn_app();
    let dir = app.data_dir.clone();
    let added = crate::admin_channel::crm_async(
        &dir,
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
    let created =
        crate::admin_channel::crm_async(&dir, &["token", "create", "--user", "worker"], "").await;
    let token = created
        .out
        .lines()
        .find_map(|line| line.strip_prefix("token: "))
        .unwrap()
        .to_string();
    let worker = Api::new(&app, &token);
    let admin = login_admin(&app).await;
    let manager = Api::new(&app, &admin.create_token("admin").await);
    let customer = manager.customer(7200, "Perm").await;
    let (_, order) = manager
        .post(
            "/orders",
            json!({"customer": customer, "title": "T", "description": "D"}),
        )
        .await;

    let (status, denied) = worker
        .post(&format!("/orders/{}/approve", order["id"]), json!({}))
        .await;
    assert_eq!(status, 403, "{denied}");
    assert_eq!(denied["error"]["kind"], "permission_denied");
    assert_eq!(denied["error"]["permission"], "moderate_orders");
    let (status, denied) = worker.get("/conversations").await;
    assert_eq!(status, 403);
    assert_eq!(denied["error"]["permission"], "chat_customers");
    // An order in moderation is invisible to a worker: not found, not forbidden.
    let (status, _) = worker.get(&format!("/orders/{}", order["id"])).await;
    assert_eq!(status, 404);
    let (status, page) = worker.get("/orders").await;
    assert_eq!(status, 200);
    assert!(page["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn an_upload_over_the_size_limit_is_a_json_413() {
    let app = spawn_app();
    // A raw socket: the server answers before reading the body, and a client that insists on
    // writing all 11 MiB may see a broken pipe instead of the answer.
    let answer = app
        .answer_to_announced_body(
            "/api/v1/media",
            "Authorization: Bearer crm_whatever\r\nContent-Type: image/png\r\n",
            11 * 1024 * 1024,
        )
        .await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.lines()
            .any(|line| line.eq_ignore_ascii_case("content-type: application/json")),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(body["error"]["kind"], "payload_too_large", "{body}");
}

/// Asserts the one shape of every API error, `{"error": {"kind", "message", "field",
/// "permission"}}` and nothing else, and returns its kind.
fn error_kind(body: &serde_json::Value) -> String {
    let outer = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"));
    assert_eq!(outer.keys().collect::<Vec<_>>(), ["error"], "{body}");
    let detail = outer["error"].as_object().unwrap();
    let mut keys: Vec<&str> = detail.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["field", "kind", "message", "permission"], "{body}");
    assert!(!detail["message"].as_str().unwrap().is_empty(), "{body}");
    assert!(
        detail["field"].is_null() || detail["field"].is_string(),
        "{body}"
    );
    assert!(
        detail["permission"].is_null() || detail["permission"].is_string(),
        "{body}"
    );
    detail["kind"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_kind_of_failure_answers_the_same_json_shape() {
    // 5xx cannot be caused from outside; web::api::error's unit tests give a storage error,
    // an error page and a layer's 502 the same shape.
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("shapes").await);
    let customer = api.customer(7300, "Shape").await;
    let (_, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "T", "description": "D"}),
        )
        .await;
    let order = order["id"].as_u64().unwrap();
    let dir = app.data_dir.clone();
    let added = crate::admin_channel::crm_async(
        &dir,
        &[
            "user",
            "add",
            "shaper",
            "--role",
            "worker",
            "--password-stdin",
        ],
        "worker password 1\n",
    )
    .await;
    assert_eq!(added.code, 0, "{}", added.err);
    let created =
        crate::admin_channel::crm_async(&dir, &["token", "create", "--user", "shaper"], "").await;
    let worker = Api::new(
        &app,
        created
            .out
            .lines()
            .find_map(|line| line.strip_prefix("token: "))
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let bad_json = client
        .post(format!("{}/orders", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let no_token = client
        .get(format!("{}/orders", api.base))
        .send()
        .await
        .unwrap();
    let mut answers = Vec::new();
    for response in [bad_json, no_token] {
        let status = response.status().as_u16();
        answers.push((status, response.json::<serde_json::Value>().await.unwrap()));
    }
    answers.push(
        worker
            .post(&format!("/orders/{order}/approve"), json!({}))
            .await,
    );
    answers.push(api.get("/orders/999999").await);
    assert_eq!(
        api.post(&format!("/orders/{order}/approve"), json!({}))
            .await
            .0,
        200
    );
    answers.push(
        api.post(&format!("/orders/{order}/approve"), json!({}))
            .await,
    );
    let too_large = app
        .answer_to_announced_body(
            "/api/v1/orders",
            &format!(
                "Authorization: Bearer {}\r\nContent-Type: application/json\r\n",
                api.token
            ),
            11 * 1024 * 1024,
        )
        .await;
    let (head, body) = too_large.split_once("\r\n\r\n").unwrap();
    answers.push((
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        serde_json::from_str(body).unwrap(),
    ));
    answers.push(
        api.post("/customers", json!({"first_name": "", "phone": "12"}))
            .await,
    );
    let kinds: Vec<(u16, String)> = answers
        .iter()
        .map(|(status, body)| (*status, error_kind(body)))
        .collect();
    let expected = [
        (400, "bad_request"),
        (401, "unauthorized"),
        (403, "permission_denied"),
        (404, "not_found"),
        (409, "conflict"),
        (413, "payload_too_large"),
        (422, "invalid_input"),
    ];
    assert_eq!(
        kinds,
        expected.map(|(status, kind)| (status, kind.to_string())),
        "{answers:#?}"
    );
    assert_eq!(answers[2].1["error"]["permission"], "moderate_orders");
    assert!(answers[6].1["error"]["field"].is_string());
}
