//! The client decides change requests in the bot (issue 14), through the running appliance
//! (renovation template) and the sandbox's Telegram emulator: the notification carries
//! Approve and Reject, a press asks first, Yes decides once (the budget follows, the audit
//! names the client), a second Yes is answered with crm-lib's "decided already", No puts the
//! buttons back, a reject leaves the budget, and another customer pressing the buttons of a
//! forwarded notification is refused by crm-lib and changes nothing.

use serde_json::{Value, json};

use crate::bot_support::{PATIENCE, Sandbox, User, buttons, text};
use crate::staff::{Api, login_admin};
use crate::support::spawn_app_with;

/// A project for `client` with a budget of 100,000.00, through the API; returns its id.
async fn project_for(api: &Api, client: u64, title: &str) -> u64 {
    let (status, body) = api
        .post(
            "/projects",
            json!({ "client": client, "title": title, "budget": "100000", "stages": ["Демонтаж"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_u64().unwrap()
}

/// A change request through the API; returns its id.
async fn change_request(api: &Api, project: u64, title: &str, amount: &str) -> u64 {
    let (status, body) = api
        .post(
            &format!("/projects/{project}/change-requests"),
            json!({ "title": title, "amount": amount }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_u64().unwrap()
}

async fn budget_total(api: &Api, project: u64) -> Value {
    let (status, body) = api.get(&format!("/projects/{project}")).await;
    assert_eq!(status, 200, "{body}");
    body["totals"]["budget_total"].clone()
}

#[tokio::test]
async fn the_client_approves_and_rejects_change_requests_in_the_bot_once_and_only_their_own() {
    let app = spawn_app_with(&["--template", "renovation"]);
    let sandbox = Sandbox::of(&app);
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("decisions").await);
    let katya = User::new(7_200_000_001, "Екатерина", "ru");
    let oleg = User::new(7_200_000_002, "Олег", "ru");
    let katya_id = api.customer(katya.id, "Екатерина").await;
    let oleg_id = api.customer(oleg.id, "Олег").await;
    let flat = project_for(&api, katya_id, "Квартира на Профсоюзной").await;
    let house = project_for(&api, oleg_id, "Дом в Истре").await;

    // The notification carries Approve and Reject.
    let floor = change_request(&api, flat, "Тёплый пол", "15000").await;
    let notice = sandbox.wait_for(katya.id, 0, "Тёплый пол").await;
    assert_eq!(
        buttons(&notice),
        [
            format!("cr:a:{flat}:{floor}"),
            format!("cr:r:{flat}:{floor}")
        ]
    );
    let message_id = notice["message_id"].as_i64().unwrap();

    // Approve asks first (the message is edited in place); No puts the buttons back.
    sandbox
        .press(&katya, message_id, &format!("cr:a:{flat}:{floor}"))
        .await;
    let asked = edited(&sandbox, katya.id, message_id, |message| {
        buttons(message).contains(&format!("cr:ya:{flat}:{floor}"))
    })
    .await;
    assert!(text(&asked).contains("Тёплый пол"), "{asked:#}");
    assert!(text(&asked).contains('+'), "a signed amount: {asked:#}");
    assert_eq!(
        buttons(&asked),
        [
            format!("cr:ya:{flat}:{floor}"),
            format!("cr:n:{flat}:{floor}")
        ]
    );
    assert_eq!(
        budget_total(&api, flat).await,
        "100000.00",
        "asking decides nothing"
    );
    sandbox
        .press(&katya, message_id, &format!("cr:n:{flat}:{floor}"))
        .await;
    edited(&sandbox, katya.id, message_id, |message| {
        buttons(message).contains(&format!("cr:a:{flat}:{floor}"))
    })
    .await;

    // Yes approves: the message shows the outcome, the budget grows, the audit names the
    // client.
    sandbox
        .press(&katya, message_id, &format!("cr:a:{flat}:{floor}"))
        .await;
    sandbox
        .press(&katya, message_id, &format!("cr:ya:{flat}:{floor}"))
        .await;
    let decided = edited(&sandbox, katya.id, message_id, |message| {
        buttons(message).is_empty()
    })
    .await;
    assert!(
        text(&decided).contains("115"),
        "the new budget: {decided:#}"
    );
    assert_eq!(budget_total(&api, flat).await, "115000.00");
    let (status, audit) = api
        .get(&format!(
            "/audit?subject=project%20{flat}&action=project.change_request_approved"
        ))
        .await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit["items"][0]["actor"], format!("customer {katya_id}"));

    // Yes again (a stale button, a second tap): crm-lib's reason, nothing changes.
    let query = sandbox
        .press(&katya, message_id, &format!("cr:yr:{flat}:{floor}"))
        .await;
    let answer = sandbox.answer_of(katya.id, &query).await;
    assert!(answer.to_string().contains("already"), "{answer:#}");
    assert_eq!(budget_total(&api, flat).await, "115000.00");

    // Reject: the budget stays.
    let paint = change_request(&api, flat, "Покраска потолка", "-5000").await;
    let notice = sandbox.wait_for(katya.id, 0, "Покраска потолка").await;
    let message_id = notice["message_id"].as_i64().unwrap();
    sandbox
        .press(&katya, message_id, &format!("cr:r:{flat}:{paint}"))
        .await;
    edited(&sandbox, katya.id, message_id, |message| {
        buttons(message).contains(&format!("cr:yr:{flat}:{paint}"))
    })
    .await;
    sandbox
        .press(&katya, message_id, &format!("cr:yr:{flat}:{paint}"))
        .await;
    edited(&sandbox, katya.id, message_id, |message| {
        buttons(message).is_empty()
    })
    .await;
    let (_, project) = api.get(&format!("/projects/{flat}")).await;
    assert_eq!(project["totals"]["budget_total"], "115000.00", "{project}");
    let (_, audit) = api
        .get(&format!(
            "/audit?subject=project%20{flat}&action=project.change_request_rejected"
        ))
        .await;
    assert_eq!(audit["items"][0]["actor"], format!("customer {katya_id}"));

    // Another customer presses the buttons of a forwarded notification: crm-lib does not
    // show him the project, so both the question and the decision are refused.
    let window = change_request(&api, flat, "Окно в ванной", "20000").await;
    change_request(&api, house, "Крыльцо", "30000").await;
    let his = sandbox.wait_for(oleg.id, 0, "Крыльцо").await;
    let his_id = his["message_id"].as_i64().unwrap();
    for data in [
        format!("cr:a:{flat}:{window}"),
        format!("cr:ya:{flat}:{window}"),
    ] {
        let query = sandbox.press(&oleg, his_id, &data).await;
        let answer = sandbox.answer_of(oleg.id, &query).await;
        assert!(
            answer.to_string().contains("not found"),
            "{data}: {answer:#}"
        );
    }
    let (_, project) = api.get(&format!("/projects/{flat}")).await;
    assert_eq!(project["totals"]["budget_total"], "115000.00", "{project}");
    assert_eq!(
        project["change_requests"][0]["state"], "pending",
        "{project}"
    );
    assert_eq!(budget_total(&api, house).await, "100000.00");
}

/// Waits until the bot message `message_id` in `user_id`'s chat satisfies `done` (the
/// emulator applies edits in place), and returns it.
async fn edited(
    sandbox: &Sandbox,
    user_id: i64,
    message_id: i64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let found = sandbox
            .bot_messages(user_id)
            .await
            .into_iter()
            .find(|message| message["message_id"] == message_id);
        if let Some(message) = found
            && done(&message)
        {
            return message;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "message {message_id} never reached the expected state: {:#?}",
            sandbox.bot_messages(user_id).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
