//! The worker's bot through the sandbox (issue 14), one renovation appliance for the file: a
//! worker whose phone is on their account shares their own contact from the "share my
//! phone" button and is linked; someone else's contact and an unknown phone are refused; a
//! daily report with an album of three photos and a voice note reaches the project (three
//! media and the voice) and the client's chat; bad input at a step is answered and the step
//! stays; an expense with a proof photo is booked.

use serde_json::{Value, json};

use crate::bot_support::{Sandbox, User, text};
use crate::fidelity::{customer_of, send_file, send_json};
use crate::projects::{PNG, browser_of};
use crate::staff::Api;
use crate::support::spawn_app_with;
use crate::web_helpers::{admin, user_with_role};

/// The `request_contact` buttons of a bot message's reply keyboard.
fn contact_buttons(message: &Value) -> Vec<String> {
    message["reply_markup"]["keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .filter(|button| button["request_contact"] == true)
                .filter_map(|button| button["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_worker_links_by_contact_and_reports_an_album_with_a_voice_note_and_an_expense_with_proof()
 {
    let app = spawn_app_with(&["--template", "renovation"]);
    let administrator = admin(&app).await;
    let token = browser_of(&app, &administrator)
        .create_token("worker bot")
        .await;
    let api = Api::new(&app, &token);
    let sandbox = Sandbox::of(&app);
    user_with_role(&app, &administrator, "ivan", "worker").await;
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
            json!({"phone": "8 916 123-45-67"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["phone"], "+79161234567");
    let (status, body) = api
        .put(
            &format!("/users/{ivan}/phone"),
            json!({"phone": "not a phone"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // The client and their project, the worker on it.
    let client = User::new(7_300_000_001, "Ольга", "ru");
    let languages = sandbox.say(&client, "/start").await;
    sandbox.tap(&client, &languages, "lang:ru").await;
    let client_id = customer_of(&api, client.id).await;
    let (status, project) = api
        .post(
            "/projects",
            json!({
                "client": client_id,
                "title": "Ремонт кухни",
                "address": "Москва, Ленинский, 12",
                "budget": "500000",
                "stages": ["Демонтаж", "Электрика"],
            }),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    let project_id = project["id"].as_u64().unwrap();
    let wiring = project["stages"][1]["id"].as_u64().unwrap();
    let (status, body) = api
        .put(
            &format!("/projects/{project_id}/workers"),
            json!({"workers": [ivan]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // /start offers the "share my phone" reply keyboard under the greeting.
    let worker = User::new(7_300_000_002, "Иван", "ru");
    let languages = sandbox.say(&worker, "/start").await;
    sandbox.tap(&worker, &languages, "lang:ru").await;
    let offer = sandbox.wait_for(worker.id, 0, "Вы из команды?").await;
    assert_eq!(
        contact_buttons(&offer),
        ["📱 Я из команды: отправить мой номер"]
    );

    // Someone else's contact and an unknown phone are refused; nothing is linked.
    let seen = sandbox.bot_messages(worker.id).await.len();
    send_json(
        &sandbox,
        &worker,
        json!({"contact": {"phone_number": "79161234567", "first_name": "Иван", "user_id": 42}}),
    )
    .await;
    sandbox.wait_for(worker.id, seen, "свой контакт").await;
    let seen = sandbox.bot_messages(worker.id).await.len();
    send_json(
        &sandbox,
        &worker,
        json!({"contact": {"phone_number": "79990000000", "first_name": "Иван", "user_id": worker.id}}),
    )
    .await;
    sandbox.wait_for(worker.id, seen, "нет в команде").await;

    // Their own contact links them; the worker's menu follows.
    let seen = sandbox.bot_messages(worker.id).await.len();
    send_json(
        &sandbox,
        &worker,
        json!({"contact": {"phone_number": "79161234567", "first_name": "Иван", "user_id": worker.id}}),
    )
    .await;
    let menu = sandbox.wait_for(worker.id, seen, "Что отправить?").await;

    // Report -> project -> stage -> a bad step -> an album of three photos -> Done -> voice.
    let projects = sandbox.tap(&worker, &menu, "wk:r").await;
    assert!(text(&projects).contains("Какой объект"), "{projects:#}");
    let pick = buttons_with(&projects, &format!(":p:p{project_id}")).unwrap();
    let stages = sandbox.tap(&worker, &projects, &pick).await;
    assert!(text(&stages).contains("Какой этап"), "{stages:#}");
    let stage = buttons_with(&stages, &format!(":s:p{wiring}")).unwrap();
    let prompt = sandbox.tap(&worker, &stages, &stage).await;
    assert!(text(&prompt).contains("Этап «Электрика»"), "{prompt:#}");
    let bad = sandbox.say(&worker, "вот фото").await;
    assert!(
        text(&bad).contains("отправьте сюда фото или видео"),
        "{bad:#}"
    );
    let seen = sandbox.bot_messages(worker.id).await.len();
    for _ in 0..3 {
        send_file(
            &sandbox,
            &worker,
            "photo",
            "image/png",
            PNG.to_vec(),
            Some("album-1"),
        )
        .await;
    }
    let received = sandbox.wait_for(worker.id, seen, "Получено").await;
    // An album is acknowledged once; Done then asks for the note with the count.
    let done = buttons_with(&received, ":m:d").unwrap();
    // The press is queued after the album's parts, and a chat's updates are handled in
    // order, so Done sees all three.
    let note = sandbox.tap(&worker, &received, &done).await;
    assert!(text(&note).contains("Фото и видео: 3"), "{note:#}");
    assert!(text(&note).contains("голосовое"), "{note:#}");
    let seen = sandbox.bot_messages(worker.id).await.len();
    send_file(
        &sandbox,
        &worker,
        "voice",
        "audio/ogg",
        b"OggS a voice note".to_vec(),
        None,
    )
    .await;
    let saved = sandbox.wait_for(worker.id, seen, "сохранён").await;
    assert!(
        text(&saved).contains("фото и видео — 3 и голосовое"),
        "{saved:#}"
    );

    let (_, timeline) = api.get(&format!("/projects/{project_id}/timeline")).await;
    let report = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|item| item["report"].as_object().cloned())
        .unwrap_or_else(|| panic!("no report: {timeline:#}"));
    assert_eq!(report["media"].as_array().unwrap().len(), 3, "{report:?}");
    assert!(report["voice"].is_string(), "{report:?}");
    assert_eq!(report["stage"], wiring);
    // The client is told, in their language.
    let told = sandbox.wait_for(client.id, 0, "новый отчёт за день").await;
    assert!(text(&told).contains("Фото и видео: 3"), "{told:#}");

    // Expense -> project -> expense -> a bad amount -> amount -> category -> no stage -> proof.
    let menu = sandbox.say(&worker, "/menu").await;
    let projects = sandbox.tap(&worker, &menu, "wk:e").await;
    let pick = buttons_with(&projects, &format!(":p:p{project_id}")).unwrap();
    let kind = sandbox.tap(&worker, &projects, &pick).await;
    let amount = sandbox
        .tap(&worker, &kind, &buttons_with(&kind, ":k:e").unwrap())
        .await;
    assert!(text(&amount).contains("Какая сумма"), "{amount:#}");
    let bad = sandbox.say(&worker, "много").await;
    assert!(text(&bad).contains("Это не сумма"), "{bad:#}");
    let categories = sandbox.say(&worker, "1250.50").await;
    let stage = sandbox
        .tap(
            &worker,
            &categories,
            &buttons_with(&categories, ":c:c0").unwrap(),
        )
        .await;
    let proof = sandbox
        .tap(&worker, &stage, &buttons_with(&stage, ":g:k").unwrap())
        .await;
    assert!(text(&proof).contains("фото чека"), "{proof:#}");
    let seen = sandbox.bot_messages(worker.id).await.len();
    send_file(&sandbox, &worker, "photo", "image/png", PNG.to_vec(), None).await;
    let saved = sandbox.wait_for(worker.id, seen, "Расход №").await;
    assert!(text(&saved).contains("Материалы"), "{saved:#}");
    let (_, project) = api.get(&format!("/projects/{project_id}")).await;
    assert_eq!(project["totals"]["spent"], "1250.50", "{project:#}");
    assert_eq!(project["totals"]["reports"], 1);
    assert_eq!(project["totals"]["entries"], 1);
    let (_, timeline) = api.get(&format!("/projects/{project_id}/timeline")).await;
    let entry = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|item| item["entry"].as_object().cloned())
        .unwrap_or_else(|| panic!("no entry: {timeline:#}"));
    assert!(entry["proof"].is_string(), "{entry:?}");
}

/// The callback data of the first button whose data ends with `suffix`.
pub(crate) fn buttons_with(message: &Value, suffix: &str) -> Option<String> {
    crate::bot_support::buttons(message)
        .into_iter()
        .find(|data| data.ends_with(suffix))
}
