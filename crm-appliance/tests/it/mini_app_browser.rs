//! The client Mini App in a real browser at 390 px (headless chromium, see
//! [`crate::webdriver`]), in English and in Russian: opened with `initData` the sandbox
//! emulator signs for the client, it shows the progress, the money and the feed with a
//! report's photo (fetched with `initData`, shown through a blob URL); a report a worker
//! sends through the sandboxed bot (their contact shared, Report -> project -> stage -> a
//! photo -> a text) appears without a reload in the Mini App and on the manager's open
//! project page; the client approves a change request behind its
//! confirmation and the budget on the manager's open project page changes live; the
//! `/sandbox` page opens the Mini App from the web_app button under the client's
//! notification; axe-core finds no violation in either language.

use crate::bot_support::{Sandbox, User, text};
use crate::browser::{log_in, not_reloaded, wait_until};
use crate::fidelity::{send_file, send_json};
use crate::mini_app::{project_for, report};
use crate::projects::browser_of;
use crate::staff::Api;
use crate::support::{TestApp, spawn_app_with};
use crate::web_helpers;
use crate::webdriver::{browser_named, click, start_driver};
use crate::worker_bot::buttons_with;
use fantoccini::Client;
use serde_json::json;

const CLIENT: i64 = 7_400_000_001;

/// A script's helper: the digits of an element's text (amounts read the same in both
/// languages).
const DIGITS: &str =
    "const digits = (id) => document.getElementById(id).textContent.replace(/\\D/g, '');";

/// The emulator's `initData` for the client in `language`.
async fn init_in(app: &TestApp, language: &str) -> String {
    let response = app
        .sandbox_client()
        .post(app.url(&format!("/sandbox/chats/{CLIENT}/web_app")))
        .json(&json!({ "language_code": language }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["init_data"].as_str().unwrap().to_string()
}

/// Opens the Mini App as Telegram does: `initData` in the URL's fragment, at 390 px wide.
async fn open_mini_app(client: &Client, app: &TestApp, init: &str) {
    client.set_window_size(390, 844).await.unwrap();
    let fragment: String = url::form_urlencoded::byte_serialize(init.as_bytes()).collect();
    client
        .goto(&app.url(&format!(
            "/app#tgWebAppData={fragment}&tgWebAppVersion=7.10&tgWebAppPlatform=sandbox"
        )))
        .await
        .unwrap();
    wait_until(
        client,
        "return !!document.getElementById('app-project');",
        vec![],
        "the client's only project, opened directly",
    )
    .await;
}

#[tokio::test]
async fn the_client_follows_the_project_live_and_approves_a_change_in_the_mini_app_in_both_languages()
 {
    let app = spawn_app_with(&["--template", "renovation"]);
    let administrator = web_helpers::admin(&app).await;
    let token = browser_of(&app, &administrator).create_token("setup").await;
    let api = Api::new(&app, &token);
    let customer = api.customer(CLIENT, "Ekaterina").await;
    let (project, stage) = project_for(&api, customer, "Flat renovation").await;
    report(&api, project, stage, "Walls are down", true).await;
    let (status, body) = api
        .post(
            &format!("/projects/{project}/stages/{stage}/progress"),
            json!({ "progress": 60 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api
        .post(
            &format!("/projects/{project}/change-requests"),
            json!({ "title": "Heated floor", "amount": "250", "description": "9 m²" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A worker on the project, their phone on their account, linked by sharing their contact.
    let sandbox = Sandbox::of(&app);
    web_helpers::user_with_role(&app, &administrator, "ivan", "worker").await;
    let (_, users) = api.get("/users").await;
    let ivan = users
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["username"] == "ivan")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let (status, body) = api
        .put(
            &format!("/users/{ivan}/phone"),
            json!({"phone": "+79161234567"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api
        .put(
            &format!("/projects/{project}/workers"),
            json!({"workers": [ivan]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let worker = User::new(7_400_000_002, "Ivan", "en");
    let languages = sandbox.say(&worker, "/start").await;
    sandbox.tap(&worker, &languages, "lang:en").await;
    sandbox.wait_for(worker.id, 0, "Are you on the team?").await;
    let seen = sandbox.bot_messages(worker.id).await.len();
    send_json(
        &sandbox,
        &worker,
        json!({"contact": {"phone_number": "79161234567", "first_name": "Ivan", "user_id": worker.id}}),
    )
    .await;
    // The worker's menu, in the language of their staff account (the organization's, Russian).
    let menu = sandbox.wait_for(worker.id, seen, "👷").await;
    let axe = crate::tools::axe_source();
    let driver = start_driver().await;

    // The manager's project page, open beside the Mini App.
    let manager = browser_named(&driver, "manager").await;
    log_in(
        &manager,
        &app,
        "admin",
        &format!("{}-changed", app.admin_password),
    )
    .await;
    manager
        .goto(&app.url(&format!("/projects/{project}")))
        .await
        .unwrap();
    wait_until(
        &manager,
        "return document.documentElement.getAttribute('data-live') === 'on'",
        vec![],
        "the project page's live stream",
    )
    .await;

    // English: progress, money, the feed with its photo through a blob URL.
    let client = browser_named(&driver, "client-en").await;
    open_mini_app(&client, &app, &init_in(&app, "en").await).await;
    wait_until(
        &client,
        &format!(
            "{DIGITS} return document.documentElement.lang === 'en' && \
             document.querySelector('#app-progress progress').value === 30 && \
             digits('app-budget') === '100000' && \
             document.body.innerText.includes('Walls are down');"
        ),
        vec![],
        "the progress, the budget and the feed",
    )
    .await;
    // The photo loads once it scrolls into view.
    wait_until(
        &client,
        "document.getElementById('app-feed').scrollIntoView(); \
         return !!document.querySelector('img.photo[data-loaded=yes][src^=\"blob:\"]');",
        vec![],
        "the feed's photo through a blob URL",
    )
    .await;
    let width = client
        .execute("return document.documentElement.clientWidth", vec![])
        .await
        .unwrap();
    assert!(width.as_i64().unwrap() <= 390, "{width}");
    let mut violations = crate::browser_pages::axe_violations(&client, &axe).await;

    // The worker's report, sent through the bot in the sandbox, appears without a reload in
    // the Mini App and on the manager's page.
    for session in [&client, &manager] {
        session
            .execute("window.crmNotReloaded = true; return true", vec![])
            .await
            .unwrap();
    }
    let projects = sandbox.tap(&worker, &menu, "wk:r").await;
    let pick = buttons_with(&projects, &format!(":p:p{project}")).unwrap();
    let stages = sandbox.tap(&worker, &projects, &pick).await;
    let pick = buttons_with(&stages, &format!(":s:p{stage}")).unwrap();
    sandbox.tap(&worker, &stages, &pick).await;
    let seen = sandbox.bot_messages(worker.id).await.len();
    send_file(
        &sandbox,
        &worker,
        "photo",
        "image/png",
        crate::projects::PNG.to_vec(),
        None,
    )
    .await;
    let received = sandbox.wait_for(worker.id, seen, "Получено").await;
    let done = buttons_with(&received, ":m:d").unwrap();
    sandbox.tap(&worker, &received, &done).await;
    let saved = sandbox.say(&worker, "Wiring is in").await;
    assert!(text(&saved).contains("сохранён"), "{saved:#}");
    wait_until(
        &client,
        "return document.body.innerText.includes('Wiring is in');",
        vec![],
        "the worker's report in the Mini App, live",
    )
    .await;
    wait_until(
        &manager,
        "return document.body.innerText.includes('Wiring is in');",
        vec![],
        "the worker's report on the manager's page, live",
    )
    .await;
    assert!(not_reloaded(&client).await, "refreshed in place");
    assert!(not_reloaded(&manager).await, "refreshed in place");

    // The client approves behind the confirmation; the manager's page follows live.
    click(&client, "button[data-ask=approve]").await;
    violations.extend(crate::browser_pages::axe_violations(&client, &axe).await);
    click(&client, "button[data-decide=approve]").await;
    wait_until(
        &client,
        &format!(
            "{DIGITS} return !!document.querySelector('[data-decided=approved]') && \
             digits('app-budget') === '125000' && \
             !document.querySelector('button[data-ask=approve]');"
        ),
        vec![],
        "the approval and the new budget in the Mini App",
    )
    .await;
    wait_until(
        &manager,
        &format!("{DIGITS} return digits('money-budget') === '125000';"),
        vec![],
        "the budget on the manager's page, live",
    )
    .await;

    // Russian: the same project in the client's Telegram language.
    let russian = browser_named(&driver, "client-ru").await;
    open_mini_app(&russian, &app, &init_in(&app, "ru").await).await;
    wait_until(
        &russian,
        "return document.documentElement.lang === 'ru' && \
         document.body.innerText.includes('Готовность') && \
         document.body.innerText.includes('Ежедневные отчёты');",
        vec![],
        "the Mini App in Russian",
    )
    .await;
    violations.extend(crate::browser_pages::axe_violations(&russian, &axe).await);
    assert!(violations.is_empty(), "{violations:#?}");

    // The sandbox: the client's chat has the bot's report notice with its web_app button,
    // which opens the Mini App in a 390 px frame with initData the emulator signed.
    manager.goto(&app.url("/sandbox")).await.unwrap();
    wait_until(
        &manager,
        &format!(
            "const chat = [...document.querySelectorAll('#sandbox-chats button')] \
               .find((button) => button.textContent.includes('{CLIENT}')); \
             if (chat) chat.click(); \
             return !!chat;"
        ),
        vec![],
        "the client's chat in the list",
    )
    .await;
    wait_until(
        &manager,
        "return !!document.querySelector('#sandbox-messages button[data-web-app]');",
        vec![],
        "the web_app button under the client's notification",
    )
    .await;
    manager
        .execute(
            "[...document.querySelectorAll('#sandbox-messages button[data-web-app]')].pop().click(); \
             return true;",
            vec![],
        )
        .await
        .unwrap();
    wait_until(
        &manager,
        "const frame = document.getElementById('sandbox-web-app-frame'); \
         const inner = frame && frame.contentDocument; \
         return !!inner && frame.getAttribute('width') === '390' && \
           !!inner.getElementById('app-project') && \
           inner.body.innerText.includes('Wiring is in');",
        vec![],
        "the Mini App in the sandbox's frame",
    )
    .await;

    // Without initData (opened outside Telegram) the page says to open it from the bot.
    let stranger = browser_named(&driver, "stranger").await;
    stranger.set_window_size(390, 844).await.unwrap();
    stranger.goto(&app.url("/app")).await.unwrap();
    wait_until(
        &stranger,
        "return document.body.innerText.includes('Open it from the bot again.');",
        vec![],
        "the refusal",
    )
    .await;
    for session in [client, russian, stranger, manager] {
        session.close().await.unwrap();
    }
}
