//! Canned responses and business hours (issue 12), black-box: a customer writing out of
//! hours through the sandbox emulator gets the auto-reply once; the canned settings page
//! refuses an unknown variable beside the texts; the composer's endpoint renders responses
//! for the customer; the API manages both; and in a real browser, typing `/` in the
//! conversation's message box offers the responses and Enter inserts one.

use std::time::Duration;

use serde_json::{Value, json};

use crate::bot_support::{Sandbox, User};
use crate::staff::{Api, Browser, login_admin};
use crate::support::{TestApp, spawn_app};
use crate::web_helpers;

/// `PUT` a JSON body to the API.
async fn put(api: &Api, path: &str, body: Value) -> (u16, Value) {
    let response = api
        .client
        .put(format!("{}{path}", api.base))
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The customer id of the conversation of Telegram user `telegram_id`, once it exists.
async fn customer_of(api: &Api, telegram_id: i64) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, page) = api.get("/conversations").await;
        if let Some(found) = page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|customer| customer["telegram_id"] == telegram_id)
        {
            return found["id"].as_u64().unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no conversation of {telegram_id}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The customer's messages as the API lists them (newest first).
async fn messages(api: &Api, customer: u64) -> Vec<Value> {
    let (status, page) = api.get(&format!("/customers/{customer}/messages")).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_customer_writing_out_of_hours_gets_the_auto_reply_once_per_closed_period() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("hours").await);
    // Open on no day at all: closed now and for the whole horizon, one closed period.
    let (status, hours) = put(
        &api,
        "/hours",
        json!({
            "enabled": true,
            "time_zone": "Europe/Berlin",
            "week": {"monday": [], "tuesday": []},
            "auto_reply": {"en": "We are closed now; we answer on our next working day."},
        }),
    )
    .await;
    assert_eq!(status, 200, "{hours}");
    assert_eq!(hours["open_now"], false, "{hours}");
    assert_eq!(hours["zone"], "Europe/Berlin");
    // A bad interval names its day and changes nothing.
    let (status, refused) = put(
        &api,
        "/hours",
        json!({"enabled": true, "week": {"friday": ["18:00-09:00"]}}),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "friday", "{refused}");

    let sandbox = Sandbox::of(&app);
    let olga = User::new(9_301, "Olga", "en");
    sandbox.send(&olga, "Hello, are you there?").await;
    let reply = sandbox.wait_for(olga.id, 0, "We are closed now").await;
    assert!(reply["text"].as_str().unwrap().contains("next working day"));
    // A second message in the same closed period gets none.
    sandbox.send(&olga, "Anyone?").await;
    sandbox.drained().await;
    let customer = customer_of(&api, olga.id).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while messages(&api, customer)
        .await
        .iter()
        .filter(|message| message["direction"] == "inbound")
        .count()
        < 2
    {
        assert!(std::time::Instant::now() < deadline, "the second message");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give the outbox a moment to send anything it (wrongly) queued.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let replies = sandbox
        .bot_messages(olga.id)
        .await
        .into_iter()
        .filter(|message| {
            message["text"]
                .as_str()
                .is_some_and(|text| text.contains("We are closed now"))
        })
        .count();
    assert_eq!(replies, 1, "{:#?}", sandbox.bot_messages(olga.id).await);
    // In the conversation, the auto-reply is the system's outbound message.
    let all = messages(&api, customer).await;
    let auto: Vec<&Value> = all
        .iter()
        .filter(|message| message["direction"] == "outbound")
        .collect();
    assert_eq!(auto.len(), 1, "{all:#?}");
}

/// A multipart form post of the canned settings page.
async fn post_canned(
    app: &TestApp,
    browser: &Browser,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("csrf", browser.csrf.clone());
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    browser
        .client
        .post(app.url("/settings/canned"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_canned_settings_page_refuses_an_unknown_variable_and_the_composer_renders_responses() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("canned").await);

    let refused = post_canned(
        &app,
        &admin,
        &[
            ("code", "bye"),
            ("title", "Farewell"),
            ("text_en", "Bye {customer.age}"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains(r#"data-field="texts""#) && page.contains("{customer.age}"),
        "the error is beside the texts: {page}"
    );
    assert!(
        page.contains("Bye {customer.age}"),
        "what was typed is kept"
    );
    let (_, list) = api.get("/canned").await;
    assert_eq!(list, json!([]), "nothing was saved");

    let saved = post_canned(
        &app,
        &admin,
        &[
            ("code", "/Greet"),
            ("title", "Greeting"),
            (
                "text_en",
                "Hello {customer.first_name}, I am {operator.name}.",
            ),
            ("text_ru", "Здравствуйте, {customer.first_name}!"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let listed = admin.get_text("/settings/canned").await;
    assert!(listed.contains("/greet"), "{listed}");

    // The API: an unknown variable is refused there too; a good one is listed.
    let (status, error) = api
        .post(
            "/canned",
            json!({"code": "x", "title": "X", "texts": {"en": "{order.price}"}}),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["field"], "texts");
    let (status, created) = api
        .post(
            "/canned",
            json!({"code": "order", "title": "Your order", "texts": {"en": "Order {order.number}: {order.title}"}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, list) = api.get("/canned").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // The composer's endpoint renders them for an English customer.
    let customer = api.customer(9_302, "Ann").await;
    let response = admin.get(&format!("/chat/{customer}/canned?q=gr")).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        body["items"][0]["text"], "Hello Ann, I am Administrator.",
        "{body}"
    );
    assert_eq!(body["items"][0]["code"], "greet");

    // A response with a file (uploaded, then named): choosing it in the composer sends the
    // file with the message (the send form's hidden `canned` field).
    let upload = api
        .client
        .post(format!("{}/media", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "image/png")
        .body(crate::chat::tiny_png())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 201);
    let media: Value = upload.json().await.unwrap();
    let (status, map) = api
        .post(
            "/canned",
            json!({"code": "map", "title": "How to find us", "texts": {"en": "Here is the map."},
                   "attachments": [{"media": media["hash"], "file_name": "map.png"}]}),
        )
        .await;
    assert_eq!(status, 201, "{map}");
    assert_eq!(map["attachments"][0]["mime"], "image/png", "{map}");
    let form = reqwest::multipart::Form::new()
        .text("csrf", admin.csrf.clone())
        .text("text", "Here is the map.")
        .text("canned", map["id"].to_string());
    let sent = admin
        .client
        .post(app.url(&format!("/chat/{customer}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    let last = messages(&api, customer).await;
    assert_eq!(last[0]["text"], "Here is the map.", "{last:#?}");
    assert_eq!(
        last[0]["attachments"][0]["media"], media["hash"],
        "{last:#?}"
    );

    // Deleting through the API.
    let response = api
        .client
        .delete(format!("{}/canned/{}", api.base, created["id"]))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (_, list) = api.get("/canned").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn typing_a_slash_in_the_composer_offers_canned_responses_and_enter_inserts_one() {
    use crate::browser::{log_in, wait_until};
    use crate::webdriver::{browser, start_driver};

    let app = spawn_app();
    // The forced password change, so that the browser logs in with the changed one.
    web_helpers::admin(&app).await;
    let password = format!("{}-changed", app.admin_password);
    let token = crate::staff::login(&app, "admin", &password)
        .await
        .create_token("composer")
        .await;
    let api = Api::new(&app, &token);
    for (code, texts) in [
        (
            "greet",
            json!({"en": "Hello {customer.first_name}!", "ru": "Здравствуйте, {customer.first_name}!"}),
        ),
        ("thanks", json!({"en": "Thank you, {customer.first_name}."})),
    ] {
        let (status, body) = api
            .post(
                "/canned",
                json!({"code": code, "title": code, "texts": texts}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // A Russian-speaking customer writes through the bot.
    Sandbox::of(&app)
        .send(
            &User::new(9_303, "Живой", "ru"),
            "Hello, is my order on its way?",
        )
        .await;
    let customer = customer_of(&api, 9_303).await;

    let driver = start_driver().await;
    let client = browser(&driver).await;
    log_in(&client, &app, "admin", &password).await;
    client
        .goto(&app.url(&format!("/chat/{customer}")))
        .await
        .unwrap();
    let area = client
        .wait()
        .for_element(fantoccini::Locator::Css(
            "form[data-canned] textarea[name=text]",
        ))
        .await
        .unwrap();
    area.send_keys("/").await.unwrap();
    wait_until(
        &client,
        "const area = document.querySelector('form[data-canned] textarea[name=text]'); \
         return area.getAttribute('data-canned-open') === 'true' \
           && document.querySelectorAll('.canned-list [role=option]').length === 2;",
        vec![],
        "both canned responses offered",
    )
    .await;
    // The open list passes axe-core (a listbox of options, named, the box pointing at it).
    let axe = crate::tools::axe_source();
    let mut report = crate::browser_pages::axe_violations(&client, &axe).await;
    area.send_keys("gr").await.unwrap();
    wait_until(
        &client,
        "const options = document.querySelectorAll('.canned-list [role=option]'); \
         return options.length === 1 && options[0].getAttribute('aria-selected') === 'true';",
        vec![],
        "only /greet, selected",
    )
    .await;
    // Enter inserts the response rendered in the customer's language.
    area.send_keys("\u{E007}").await.unwrap();
    wait_until(
        &client,
        "const area = document.querySelector('form[data-canned] textarea[name=text]'); \
         return area.value === 'Здравствуйте, Живой!' && area.getAttribute('data-canned-open') === 'false';",
        vec![],
        "the rendered text inserted",
    )
    .await;
    // The settings pages pass axe-core too.
    for path in ["/settings/canned", "/settings/hours"] {
        client.goto(&app.url(path)).await.unwrap();
        report.extend(
            crate::browser_pages::axe_violations(&client, &axe)
                .await
                .into_iter()
                .map(|violation| format!("{path}: {violation}")),
        );
    }
    client.close().await.unwrap();
    assert!(report.is_empty(), "axe-core: {report:#?}");
}
