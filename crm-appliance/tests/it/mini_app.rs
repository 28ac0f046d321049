//! The client Mini App through the running appliance (issue 14), one renovation appliance for
//! the file: the bot's report notices carry an "Open my project" web_app button; the shell
//! carries no data and its own policy; with `initData` the sandbox
//! emulator signs for a simulated customer, the API answers the client's projects, one
//! project with the first page of its feed, deeper pages, the report's photo and the
//! project's stamp; a decision approves once (the budget grows; a second one is 409,
//! "decided already"); every route refuses a missing, malformed, forged, expired or other
//! bot's `initData` with 401 and nothing about why; another client's project is 404.

use crm_lib::mini_app::{WebAppKey, sign_init_data};
use serde_json::{Value, json};

use crate::projects::{PNG, browser_of};
use crate::staff::Api;
use crate::support::{TestApp, spawn_app_with};
use crate::web_helpers::admin;

const ALICE: i64 = 7_300_000_001;
const BORIS: i64 = 7_300_000_002;

/// The `initData` the emulator signs for `user` (at `auth_date`, now when `None`).
pub async fn signed_init_data(app: &TestApp, user: i64, auth_date: Option<i64>) -> String {
    let response = app
        .sandbox_client()
        .post(app.url(&format!("/sandbox/chats/{user}/web_app")))
        .json(&json!({ "auth_date": auth_date }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["init_data"].as_str().unwrap().to_string()
}

async fn get(app: &TestApp, path: &str, init: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(init) = init {
        request = request.header("Authorization", format!("tma {init}"));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn post(app: &TestApp, path: &str, init: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().post(app.url(path));
    if let Some(init) = init {
        request = request.header("Authorization", format!("tma {init}"));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A project for `client` made through the API, with two stages.
pub async fn project_for(api: &Api, client: u64, title: &str) -> (u64, u64) {
    let (status, body) = api
        .post(
            "/projects",
            json!({ "client": client, "title": title, "address": "1 Main St", "budget": "1000", "stages": ["Demolition", "Finish"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_u64().unwrap(),
        body["stages"][0]["id"].as_u64().unwrap(),
    )
}

/// A daily report through the API, with a photo when `photo`.
pub async fn report(api: &Api, project: u64, stage: u64, text: &str, photo: bool) {
    let mut form = reqwest::multipart::Form::new()
        .text("stage", stage.to_string())
        .text("text", text.to_string());
    if photo {
        form = form.part(
            "media",
            reqwest::multipart::Part::bytes(PNG.to_vec())
                .file_name("wall.png")
                .mime_str("image/png")
                .unwrap(),
        );
    }
    let response = api
        .client
        .post(format!("{}/projects/{project}/reports", api.base))
        .bearer_auth(&api.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|index| index + start.len()).unwrap();
    let rest = &text[from..];
    &rest[..rest.find(end).unwrap()]
}

#[tokio::test]
async fn the_client_reads_and_decides_through_the_mini_app_and_every_bad_init_data_is_refused() {
    let app = spawn_app_with(&["--template", "renovation"]);
    let administrator = admin(&app).await;
    let token = browser_of(&app, &administrator)
        .create_token("mini-app")
        .await;
    let api = Api::new(&app, &token);
    let alice = api.customer(ALICE, "Alice").await;
    let boris = api.customer(BORIS, "Boris").await;
    let (project, stage) = project_for(&api, alice, "Kitchen").await;
    let (other, _) = project_for(&api, boris, "Garage").await;
    report(&api, project, stage, "day 0 with a photo", true).await;
    for day in 1..25 {
        report(&api, project, stage, &format!("day {day}"), false).await;
    }

    // The bot told Alice of her reports with an "Open my project" web_app button in her
    // language, Russian, the renovation template's (the
    // sandbox's bot: the appliance's own address, /app for the default organization).
    let mut button = Value::Null;
    for _ in 0..100 {
        let chat: Value = app
            .sandbox_client()
            .get(app.url(&format!("/sandbox/chats/{ALICE}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(found) = chat["messages"].as_array().and_then(|messages| {
            messages.iter().find_map(|message| {
                message["reply_markup"]["inline_keyboard"]
                    .as_array()?
                    .last()?
                    .get(0)
                    .filter(|button| button.get("web_app").is_some())
                    .cloned()
            })
        }) {
            button = found;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        button["text"], "Открыть мой проект",
        "in her language: {button}"
    );
    assert_eq!(button["web_app"]["url"], app.url("/app"), "{button}");

    // The shell: no data, its own policy (blob: pictures, framed by this origin only).
    let response = reqwest::get(app.url("/app")).await.unwrap();
    assert_eq!(response.status(), 200);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("img-src 'self' blob:"), "{policy}");
    assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let shell = response.text().await.unwrap();
    assert!(shell.contains("data-base=\"/app\""), "{shell}");
    assert!(!shell.contains("Kitchen"));

    let init = signed_init_data(&app, ALICE, None).await;
    let (status, home) = get(&app, "/app/api/home", Some(&init)).await;
    assert_eq!(status, 200, "{home}");
    assert!(
        home.contains("Kitchen") && !home.contains("Garage"),
        "{home}"
    );
    assert!(
        home.contains(&format!("data-project=\"{project}\"")),
        "{home}"
    );

    // The project and the first page of its feed: 20 reports newest first, then the rest.
    let path = format!("/app/api/projects/{project}");
    let (status, first) = get(&app, &path, Some(&init)).await;
    assert_eq!(status, 200, "{first}");
    assert!(first.contains("id=\"app-budget\""), "{first}");
    assert!(first.contains("data-stamp=\""), "{first}");
    assert_eq!(first.matches("class=\"report\"").count(), 20, "{first}");
    assert!(
        first.contains("day 24") && !first.contains("day 4<"),
        "{first}"
    );
    let next = between(&first, "data-more=\"", "\"").to_string();
    let (status, deeper) = get(&app, &format!("{path}/feed?before={next}"), Some(&init)).await;
    assert_eq!(status, 200, "{deeper}");
    assert_eq!(deeper.matches("class=\"report\"").count(), 5, "{deeper}");
    assert!(
        deeper.contains("day 0 with a photo") && !deeper.contains("data-more"),
        "{deeper}"
    );
    let hash = between(&deeper, "data-media=\"", "\"").to_string();
    let photo = reqwest::Client::new()
        .get(app.url(&format!("/app/api/media/{hash}")))
        .header("Authorization", format!("tma {init}"))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert_eq!(photo.bytes().await.unwrap().as_ref(), PNG);

    // The stamp moves when a report is added.
    let stamp_path = format!("{path}/stamp");
    let (status, before) = get(&app, &stamp_path, Some(&init)).await;
    assert_eq!(status, 200);
    report(&api, project, stage, "day 25", false).await;
    let (_, after) = get(&app, &stamp_path, Some(&init)).await;
    assert_ne!(before, after);

    // Another client's project is not there for Alice; Boris sees his own only.
    let (status, _) = get(&app, &format!("/app/api/projects/{other}"), Some(&init)).await;
    assert_eq!(status, 404);
    let boris_init = signed_init_data(&app, BORIS, None).await;
    let (status, _) = get(&app, &path, Some(&boris_init)).await;
    assert_eq!(status, 404);
    let (status, body) = get(&app, &format!("/app/api/media/{hash}"), Some(&boris_init)).await;
    assert_eq!(status, 404, "{body}");

    // A change request approved once in the Mini App: the budget grows; again is 409.
    let (status, body) = api
        .post(
            &format!("/projects/{project}/change-requests"),
            json!({ "title": "Heated floor", "amount": "250" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let request = body["id"].as_u64().unwrap();
    let (_, page) = get(&app, &path, Some(&init)).await;
    assert!(
        page.contains(&format!(
            "data-decide=\"approve\" data-request=\"{request}\""
        )),
        "{page}"
    );
    let decide = |decision: &str| format!("{path}/requests/{request}/{decision}");
    let (status, answer) = post(&app, &decide("approve"), Some(&boris_init)).await;
    assert_eq!(status, 404, "another client cannot decide: {answer}");
    let (status, answer) = post(&app, &decide("approve"), Some(&init)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("data-decided=\"approved\""), "{answer}");
    let (_, project_json) = api.get(&format!("/projects/{project}")).await;
    assert_eq!(
        project_json["totals"]["budget_total"], "1250.00",
        "{project_json}"
    );
    let (status, answer) = post(&app, &decide("reject"), Some(&init)).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer.contains("decided already"), "{answer}");
    let (_, project_json) = api.get(&format!("/projects/{project}")).await;
    assert_eq!(project_json["totals"]["budget_total"], "1250.00");
    let (status, _) = post(
        &app,
        &format!("{path}/requests/{request}/maybe"),
        Some(&init),
    )
    .await;
    assert_eq!(status, 404);

    // Every route refuses what is not a valid initData of this bot, with 401 and no reason.
    let expired = signed_init_data(&app, ALICE, Some(1_700_000_000)).await;
    let other_bot = sign_init_data(
        &WebAppKey::of_token("42:ANOTHERBOTTOKENANOTHERBOTTOKEN00000"),
        [
            (
                "auth_date",
                &*(crm_lib::model::Timestamp::now().millis() / 1000).to_string(),
            ),
            (
                "user",
                &*format!("{{\"id\":{ALICE},\"first_name\":\"Alice\"}}"),
            ),
        ],
    );
    let tampered = init.replace(&ALICE.to_string(), &BORIS.to_string());
    assert_ne!(tampered, init);
    let bad: [(&str, Option<&str>); 6] = [
        ("missing", None),
        ("empty", Some("")),
        ("garbage", Some("here comes something wrong;")),
        ("expired", Some(&expired)),
        ("other bot", Some(&other_bot)),
        ("tampered", Some(&tampered)),
    ];
    let routes = [
        ("GET", "/app/api/home".to_string()),
        ("GET", path.clone()),
        ("GET", format!("{path}/feed?before={next}")),
        ("GET", stamp_path.clone()),
        ("GET", format!("/app/api/media/{hash}")),
        ("POST", decide("approve")),
    ];
    for (what, init) in bad {
        for (method, route) in &routes {
            let (status, body) = if *method == "GET" {
                get(&app, route, init).await
            } else {
                post(&app, route, init).await
            };
            assert_eq!(status, 401, "{what} on {method} {route}: {body}");
            assert!(
                body.contains("Open it from the bot again."),
                "{what}: {body}"
            );
            assert!(
                !body.contains("expired") && !body.contains("hash"),
                "{what}: {body}"
            );
        }
    }
    // The refusal speaks the browser's language.
    let russian = reqwest::Client::new()
        .get(app.url("/app/api/home"))
        .header("Accept-Language", "ru-RU,ru;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(russian.status(), 401);
    assert!(
        russian
            .text()
            .await
            .unwrap()
            .contains("Откройте её из бота ещё раз.")
    );
    // An organization that does not exist answers the same way.
    let (status, _) = get(&app, "/app/nobody/api/home", Some(&init)).await;
    assert_eq!(status, 401);

    // A second organization: its Mini App is /app/<slug>, checked with its own bot's key.
    let created = crate::admin_channel::crm_async(
        &app.data_dir,
        &[
            "org",
            "create",
            "--template",
            "renovation",
            "--name",
            "Reno B",
            "--slug",
            "reno-b",
            "--owner",
            "bella",
        ],
        "",
    )
    .await;
    assert_eq!(created.code, 0, "{} {}", created.out, created.err);
    let response = app
        .sandbox_client()
        .post(app.url(&format!("/sandbox/chats/{ALICE}/web_app?org=reno-b")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let other_org: Value = response.json().await.unwrap();
    let other_org = other_org["init_data"].as_str().unwrap().to_string();
    let (status, body) = get(&app, "/app/reno-b/api/home", Some(&other_org)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("data-error=\"no_projects\""),
        "not a client there: {body}"
    );
    let (status, _) = get(&app, "/app/api/home", Some(&other_org)).await;
    assert_eq!(status, 401, "the other organization's bot signed it");
    let (status, _) = get(&app, "/app/reno-b/api/home", Some(&init)).await;
    assert_eq!(status, 401, "the default organization's bot signed it");
    let (status, _) = get(
        &app,
        &format!("/app/reno-b/api/projects/{project}"),
        Some(&other_org),
    )
    .await;
    assert_eq!(status, 404, "project {project} is not reno-b's client's");
}
