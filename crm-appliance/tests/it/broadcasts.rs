//! Broadcasts through the running appliance (issue 13): staff write one on its pages (bad
//! input re-renders the form with the field's error and writes nothing), see the audience's
//! count, start it, and the sandbox's customers of the chosen language each get the text
//! once, with the delivery report on the page, in the CSV and in the audit log; the API runs
//! the same broadcast loop with crm-lib's refusals (422 naming the field, 409 for a state that
//! does not allow the action). A test send is refused until a staff user linked Telegram,
//! then reaches that chat only.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bot_support::{Sandbox, User, start_customer, text};
use crate::staff::{Api, Browser, login_admin};
use crate::support::{TestApp, spawn_app_with};

/// The service appliance (the tokens module on), its admin in the browser and on the API.
async fn service() -> (TestApp, Browser, Api) {
    let app = spawn_app_with(&["--template", "service"]);
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("broadcasts").await);
    (app, admin, api)
}

/// Waits until the broadcast's JSON satisfies `done` and returns it.
async fn broadcast_when(api: &Api, id: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, broadcast) = api.get(&format!("/broadcasts/{id}")).await;
        assert_eq!(status, 200, "{broadcast}");
        if done(&broadcast) {
            return broadcast;
        }
        assert!(Instant::now() < deadline, "never reached: {broadcast:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bot's messages in `user`'s chat that read `needle`.
async fn messages_reading(sandbox: &Sandbox, user: &User, needle: &str) -> usize {
    sandbox
        .bot_messages(user.id)
        .await
        .iter()
        .filter(|message| text(message) == needle)
        .count()
}

/// A request with the API's token and a JSON body, for the methods `Api` has no helper for.
async fn send(api: &Api, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = api
        .client
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(&api.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_broadcast_written_on_its_pages_reaches_its_audience_once_and_reports_each_recipient() {
    let (app, admin, api) = service().await;
    let sandbox = Sandbox::of(&app);
    let ru = [
        User::new(6_100_000_001, "Мария", "ru"),
        User::new(6_100_000_002, "Олег", "ru"),
    ];
    let en = User::new(6_100_000_003, "Sarah", "en");
    for user in &ru {
        start_customer(&sandbox, user, "ru").await;
    }
    start_customer(&sandbox, &en, "en").await;

    // The form offers the token conditions (the tokens module is on).
    let form = admin.get_text("/broadcasts/new").await;
    assert!(form.contains("name=\"balance_min\""), "{form}");
    assert!(form.contains("data-max-chars=\"3900\""), "{form}");

    // Bad input: the form again with the field's error, and nothing written.
    let long = "a".repeat(3_901);
    let base = [
        ("title", "Spring sale"),
        ("languages", "ru"),
        ("rate_per_second", "10"),
    ];
    let refusals: [(&[(&str, &str)], &str); 6] = [
        (&[("text", long.as_str())], "text"),
        (
            &[("text", "Hi"), ("rate_per_second", "0")],
            "rate_per_second",
        ),
        (
            &[("text", "Hi"), ("rate_per_second", "31")],
            "rate_per_second",
        ),
        (
            &[("text", "Hi"), ("rate_per_second", "ten")],
            "rate_per_second",
        ),
        (
            &[("text", "Hi"), ("balance_min", "10"), ("balance_max", "5")],
            "balance_max",
        ),
        (&[("text", "Hi"), ("languages", "xx")], "languages"),
    ];
    for (fields, field) in refusals {
        // A field given twice: the test's value comes first, so it is the one read.
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.extend(base);
        let response = admin.post_form("/broadcasts", &all).await;
        assert_eq!(response.status(), 422, "{field}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains(&format!("data-field=\"{field}\"")),
            "{field}: {page}"
        );
        assert!(
            page.contains("value=\"Spring sale\""),
            "the form keeps what was typed"
        );
    }
    let list = admin.get_text("/broadcasts").await;
    assert!(list.contains("No broadcasts yet."), "{list}");

    // A broadcast to the Russian speakers; the browser posts line breaks as CR LF.
    let response = admin
        .post_form(
            "/broadcasts",
            &[
                ("title", "Spring sale"),
                ("text", "Весенняя распродажа!\r\nТокены со скидкой 20%."),
                ("languages", "ru"),
                ("rate_per_second", "10"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/broadcasts/1?done=created");
    let page = admin.get_text("/broadcasts/1?done=created").await;
    assert!(page.contains("id=\"audience-count\">2<"), "{page}");
    assert!(page.contains("action=\"/broadcasts/1/start\""), "{page}");

    // An unknown state filter is refused with the reason.
    let response = admin.get("/broadcasts/1?state=bogus").await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("must be one of"));
    // Nobody linked Telegram: the test is refused with crm-lib's explanation.
    let response = admin.post_form("/broadcasts/1/test", &[]).await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("linked a Telegram account")
    );

    // Scheduling takes a local date and time; a bad one is refused beside its field, and a
    // cancelled schedule leaves a draft.
    let response = admin
        .post_form("/broadcasts/1/schedule", &[("scheduled_at", "tomorrow")])
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("data-field=\"scheduled_at\""), "{page}");
    let month_ahead = crm_lib::model::Timestamp::now().plus_millis(30 * 86_400_000);
    let local = &month_ahead.to_rfc3339()[..16];
    let response = admin
        .post_form("/broadcasts/1/schedule", &[("scheduled_at", local)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/broadcasts/1?done=scheduled"
    );
    let page = admin.get_text("/broadcasts/1").await;
    assert!(page.contains("data-state=\"scheduled\""), "{page}");
    assert!(page.contains(&format!("value=\"{local}\"")), "{page}");
    let response = admin.post_form("/broadcasts/1/cancel", &[]).await;
    assert_eq!(response.status(), 303);
    let (_, draft) = api.get("/broadcasts/1").await;
    assert_eq!(
        (&draft["state"], &draft["scheduled_at"]),
        (&json!("draft"), &Value::Null)
    );

    let response = admin.post_form("/broadcasts/1/start", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/broadcasts/1?done=started");
    let finished = broadcast_when(&api, 1, |broadcast| broadcast["state"] == "finished").await;
    assert_eq!(finished["counts"]["recipients"], 2, "{finished:#}");
    assert_eq!(finished["sent"], 2, "{finished:#}");
    assert_eq!(finished["success_rate"], 100.0, "{finished:#}");
    assert_eq!(finished["test_sends"], 0, "the refused test sent nothing");

    // Each Russian speaker got the text once, with plain line breaks; the English one none.
    let sent = "Весенняя распродажа!\nТокены со скидкой 20%.";
    for user in &ru {
        assert_eq!(
            messages_reading(&sandbox, user, sent).await,
            1,
            "{}",
            user.id
        );
    }
    assert_eq!(messages_reading(&sandbox, &en, sent).await, 0);

    // The report: the page's rows, the CSV, the list's figures, the audit log.
    let report = admin.get_text("/broadcasts/1?state=sent").await;
    assert_eq!(report.matches("data-state=\"sent\"").count(), 2, "{report}");
    assert!(report.contains("data-state=\"finished\""), "{report}");
    let response = admin.get("/broadcasts/1/report.csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "customer_id,customer_name,state,telegram_message_id,sent_at,reason"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1..].iter().all(|line| line.contains(",sent,")),
        "{csv}"
    );
    let list = admin.get_text("/broadcasts").await;
    assert!(list.contains("data-state=\"finished\""), "{list}");
    let audit = admin.get_text("/audit?action=broadcast.").await;
    for label in ["Broadcast written", "Broadcast started"] {
        assert!(audit.contains(label), "{label}: {audit}");
    }
    assert!(audit.contains("href=\"/broadcasts/1\""), "{audit}");

    // A finished broadcast can be neither paused nor deleted, and stays as it is.
    for action in ["pause", "delete", "start"] {
        let response = admin
            .post_form(&format!("/broadcasts/1/{action}"), &[])
            .await;
        assert_eq!(response.status(), 409, "{action}");
    }
    let (_, after) = api.get("/broadcasts/1").await;
    assert_eq!(after["state"], "finished");
    assert_eq!(after["counts"], finished["counts"]);

    // Once the administrator linked Telegram, a test goes to their chat, and only there.
    let staff = User::new(6_100_000_009, "Admin", "en");
    let session = crate::web_helpers::Session {
        client: admin.client.clone(),
        csrf: admin.csrf.clone(),
    };
    crate::bot_staff::link(&app, &session, &sandbox, &staff).await;
    let response = admin.post_form("/broadcasts/1/test", &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/broadcasts/1?done=tested&n=1"
    );
    let page = admin.get_text("/broadcasts/1?done=tested&n=1").await;
    assert!(page.contains("Test sent to staff chats: 1."), "{page}");
    sandbox.wait_for(staff.id, 0, "Весенняя распродажа!").await;
    let (_, after) = api.get("/broadcasts/1").await;
    assert_eq!(after["test_sends"], 1);
    assert_eq!(
        after["counts"], finished["counts"],
        "a test changes no recipient"
    );
}

#[tokio::test]
async fn the_broadcast_api_refuses_bad_input_and_runs_a_broadcast_with_the_library_s_rules() {
    let (app, _admin, api) = service().await;
    let sandbox = Sandbox::of(&app);
    let ivan = User::new(6_200_000_001, "Иван", "ru");
    start_customer(&sandbox, &ivan, "ru").await;

    let (status, preview) = api
        .post("/broadcasts/preview", json!({"languages": ["ru"]}))
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["count"], 1);
    assert_eq!(preview["sample"].as_array().unwrap().len(), 1);
    let (status, refused) = api
        .post(
            "/broadcasts/preview",
            json!({"balance_min": 10, "balance_max": 5}),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["field"]),
        (422, &json!("balance_max"))
    );

    for (body, field) in [
        (json!({"title": "t", "text": "a".repeat(3_901)}), "text"),
        (
            json!({"title": "t", "text": "x", "rate_per_second": 0}),
            "rate_per_second",
        ),
        (
            json!({"title": "t", "text": "x", "rate_per_second": 31}),
            "rate_per_second",
        ),
        (
            json!({"title": "t", "text": "x", "audience": {"languages": ["xx"]}}),
            "languages",
        ),
        (json!({"title": "", "text": "x"}), "title"),
    ] {
        let (status, refused) = api.post("/broadcasts", body).await;
        assert_eq!(status, 422, "{field}: {refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    let (_, list) = api.get("/broadcasts").await;
    assert_eq!(list, json!([]), "the refusals wrote nothing");
    // The limit itself is allowed.
    let (status, longest) = api
        .post(
            "/broadcasts",
            json!({"title": "t", "text": "a".repeat(3_900)}),
        )
        .await;
    assert_eq!(status, 201, "{longest}");
    let (status, _) = send(
        &api,
        reqwest::Method::DELETE,
        &format!("/broadcasts/{}", longest["id"]),
        None,
    )
    .await;
    assert_eq!(status, 204);

    let (status, created) = api
        .post(
            "/broadcasts",
            json!({"title": "News", "text": "Привет!", "audience": {"languages": ["ru"]}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_u64().unwrap();
    assert_eq!(created["state"], "draft");
    assert_eq!(created["rate_per_second"], 10);
    assert_eq!(created["actions"]["start"], true);
    assert_eq!(created["success_rate"], Value::Null);
    let path = format!("/broadcasts/{id}");
    let (status, patched) = send(
        &api,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"title": "Big news"})),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["title"], "Big news");
    assert_eq!(patched["text"], "Привет!");
    assert_eq!(patched["audience"]["languages"], json!(["ru"]));

    // Scheduling: not in the past; a scheduled one cancels back to a draft.
    let (status, refused) = api
        .post(
            &format!("{path}/schedule"),
            json!({"scheduled_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["field"]),
        (422, &json!("scheduled_at"))
    );
    let later = crm_lib::model::Timestamp::now()
        .plus_millis(2 * 86_400_000)
        .to_rfc3339();
    let (status, scheduled) = api
        .post(&format!("{path}/schedule"), json!({"scheduled_at": later}))
        .await;
    assert_eq!(status, 200, "{scheduled}");
    assert_eq!(scheduled["state"], "scheduled");
    let (status, cancelled) = api.post(&format!("{path}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["state"], "draft");
    let (status, refused) = api.post(&format!("{path}/test"), json!({})).await;
    assert_eq!(status, 409, "nobody linked Telegram: {refused}");

    let (status, started) = api.post(&format!("{path}/start"), json!({})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["counts"]["recipients"], 1);
    let finished = broadcast_when(&api, id, |broadcast| broadcast["state"] == "finished").await;
    assert_eq!(
        (&finished["sent"], &finished["failed"], &finished["blocked"]),
        (&json!(1), &json!(0), &json!(0))
    );
    assert_eq!(finished["success_rate"], 100.0);
    assert_eq!(messages_reading(&sandbox, &ivan, "Привет!").await, 1);

    let (status, sent) = api.get(&format!("{path}/recipients?state=sent")).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["items"].as_array().unwrap().len(), 1);
    assert!(sent["items"][0]["telegram_message_id"].is_i64(), "{sent}");
    assert_eq!(sent["next"], Value::Null);
    for (query, field) in [
        ("state=bogus", "state"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let (status, refused) = api.get(&format!("{path}/recipients?{query}")).await;
        assert_eq!(
            (status, &refused["error"]["field"]),
            (422, &json!(field)),
            "{query}"
        );
    }
    // A started broadcast keeps its text and its report.
    let (status, _) = send(
        &api,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"title": "Too late"})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = send(&api, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 409);
    let (_, list) = api.get("/broadcasts").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["title"], "Big news");
}
