//! The operators module through the real binary (SPEC 5B): a helpdesk appliance's API
//! (departments, operator status, a customer's conversation routed, closed and reopened,
//! statistics), its pages (the header's status switch, departments, statistics), the bot's
//! staff commands and its department question, and a studio where all of it is absent.

use serde_json::{Value, json};

use crate::bot_support::{Sandbox, User, buttons, start_customer, text};
use crate::staff::{Api, Browser, login_admin};
use crate::support::{TestApp, spawn_app, spawn_app_with};

fn helpdesk() -> TestApp {
    spawn_app_with(&["--template", "helpdesk"])
}

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
    (status, response.json().await.unwrap())
}

/// A customer who opened the chat from the menu and wrote `words`.
pub(crate) async fn customer_writes(sandbox: &Sandbox, customer: &User, words: &str) {
    let menu = start_customer(sandbox, customer, "en").await;
    sandbox.tap(customer, &menu, "m:chat").await;
    sandbox.send(customer, words).await;
}

/// The customer's id as the API knows them (by their Telegram id).
pub(crate) async fn customer_id(api: &Api, telegram: i64) -> u64 {
    let (status, page) = api.get("/customers?limit=100").await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|customer| customer["telegram_id"] == telegram)
        .unwrap_or_else(|| panic!("no customer {telegram}: {page}"))["id"]
        .as_u64()
        .unwrap()
}

/// Waits until the customer's conversation satisfies `done`.
async fn conversation_when(api: &Api, customer: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (status, conversation) = api
            .get(&format!("/customers/{customer}/conversation"))
            .await;
        assert_eq!(status, 200, "{conversation}");
        if done(&conversation) {
            return conversation;
        }
        assert!(std::time::Instant::now() < deadline, "{conversation}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_helpdesk_routes_a_customer_s_conversation_through_the_api_s_departments_and_statuses() {
    let app = helpdesk();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("operators").await);
    let (status, me) = api.get("/users/me").await;
    assert_eq!(status, 200);
    let me = me["id"].as_u64().unwrap();

    let (status, support) = api.post("/departments", json!({"name": "Support"})).await;
    assert_eq!(status, 201, "{support}");
    let support_id = support["id"].as_u64().unwrap();
    let (status, taken) = api.post("/departments", json!({"name": "support"})).await;
    assert_eq!(status, 409, "{taken}");
    let (status, bad) = api.post("/departments", json!({"name": ""})).await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["error"]["field"], "name");
    let (status, joined) = api
        .post(
            &format!("/departments/{support_id}/members"),
            json!({"user": me}),
        )
        .await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(joined["members"], json!([me]));
    let (status, online) = put(
        &api,
        &format!("/operators/{me}/status"),
        json!({"status": "online"}),
    )
    .await;
    assert_eq!(status, 200, "{online}");
    assert_eq!(online["status"], "online");
    let (status, wrong) = put(
        &api,
        &format!("/operators/{me}/status"),
        json!({"status": "busy"}),
    )
    .await;
    assert_eq!(status, 422, "{wrong}");

    let sandbox = Sandbox::of(&app);
    let customer = User::new(5_300_000_001, "Greta", "en");
    customer_writes(&sandbox, &customer, "My printer is broken").await;
    let id = customer_id(&api, customer.id).await;
    let conversation = conversation_when(&api, id, |conversation| {
        conversation["item"]["assignee"] == me
    })
    .await;
    assert_eq!(conversation["department"], "Support");
    assert_eq!(conversation["item"]["state"], "open");
    let (status, operators) = api.get("/operators").await;
    assert_eq!(status, 200);
    assert_eq!(operators[0]["load"], 1, "{operators}");
    let (status, queue) = api.get("/queue").await;
    assert_eq!(status, 200);
    assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");

    // Offline: nobody else is online, so it goes back to the department's queue.
    let (status, _) = put(
        &api,
        &format!("/operators/{me}/status"),
        json!({"status": "offline"}),
    )
    .await;
    assert_eq!(status, 200);
    let conversation = conversation_when(&api, id, |conversation| {
        conversation["item"]["assignee"].is_null()
    })
    .await;
    assert_eq!(conversation["item"]["state"], "open");
    let (status, refused) = api
        .post(
            &format!("/customers/{id}/conversation/assign"),
            json!({"user": me}),
        )
        .await;
    assert_eq!(status, 409, "an offline operator: {refused}");
    put(
        &api,
        &format!("/operators/{me}/status"),
        json!({"status": "online"}),
    )
    .await;
    conversation_when(&api, id, |conversation| {
        conversation["item"]["assignee"] == me
    })
    .await;

    let (status, closed) = api
        .post(&format!("/customers/{id}/conversation/close"), json!({}))
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["state"], "closed");
    let (status, again) = api
        .post(&format!("/customers/{id}/conversation/close"), json!({}))
        .await;
    assert_eq!(status, 404, "{again}");
    let (status, reopened) = api
        .post(&format!("/customers/{id}/conversation/reopen"), json!({}))
        .await;
    assert_eq!(status, 200, "{reopened}");
    assert_eq!(reopened["state"], "open");

    let (status, stats) = api.get("/operators/stats").await;
    assert_eq!(status, 200, "{stats}");
    let (status, bad_range) = api
        .get("/operators/stats?from=2026-02-01&to=2026-01-01")
        .await;
    assert_eq!(status, 422, "{bad_range}");
    let response = api
        .client
        .patch(format!("{}/departments/{support_id}", api.base))
        .bearer_auth(&api.token)
        .json(&json!({"name": "Help desk", "archived": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["name"], "Help desk", "{updated}");
    let (_, departments) = api.get("/departments").await;
    assert_eq!(departments[0]["name"], "Help desk");
    assert_eq!(departments[0]["archived"], true);
}

#[tokio::test]
async fn a_studio_has_no_operators_module_in_the_api_or_the_pages() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("studio").await);
    for path in ["/departments", "/operators", "/queue", "/operators/stats"] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let page = admin.get_text("/").await;
    assert!(!page.contains("/operators/status"), "no status switch");
    assert!(!page.contains("href=\"/departments\""), "no menu entry");
    assert_eq!(admin.get("/departments").await.status(), 404);
}

#[tokio::test]
async fn the_header_switch_the_departments_page_and_the_statistics_page_work_in_the_browser() {
    let app = helpdesk();
    let admin = login_admin(&app).await;
    let page = admin.get_text("/").await;
    assert!(
        page.contains("action=\"/operators/status\""),
        "the switch is in the header"
    );
    assert!(page.contains("href=\"/departments\""));
    let created = admin
        .post_form("/departments", &[("name", "Billing")])
        .await;
    assert_eq!(created.status(), 303);
    let refused = admin
        .post_form("/departments", &[("name", "billing")])
        .await;
    assert_eq!(refused.status(), 409);
    let switched = admin
        .post_form("/operators/status", &[("status", "online")])
        .await;
    assert_eq!(switched.status(), 303);
    let page = admin.get_text("/departments").await;
    assert!(page.contains("Billing"), "{page}");
    assert!(page.contains("data-status=\"online\""), "{page}");
    let stats = admin.get("/operators/stats").await;
    assert_eq!(stats.status(), 200);
    let forged = admin
        .client
        .post(format!("{}/operators/status", admin.base))
        .form(&[("status", "offline"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}

/// Links the browser's user to `staff` in the sandbox with a code from the profile page.
pub(crate) async fn link(browser: &Browser, sandbox: &Sandbox, staff: &User) {
    let page = browser
        .post_form("/profile/link-code", &[])
        .await
        .text()
        .await
        .unwrap();
    let marker = "/link ";
    let start = page.find(marker).expect("the profile shows /link CODE") + marker.len();
    let code: String = page[start..].chars().take(8).collect();
    sandbox.send(staff, &format!("/link {code}")).await;
    sandbox.wait_for(staff.id, 0, "is now linked to").await;
}

#[tokio::test]
async fn a_linked_operator_goes_online_from_telegram_and_is_told_of_the_conversation_they_get() {
    let app = helpdesk();
    let admin = login_admin(&app).await;
    let sandbox = Sandbox::of(&app);
    let staff = User::new(5_300_000_010, "Admin", "en");
    link(&admin, &sandbox, &staff).await;
    let api = Api::new(&app, &admin.create_token("bot").await);
    let (_, me) = api.get("/users/me").await;
    let (_, support) = api.post("/departments", json!({"name": "Support"})).await;
    api.post(
        &format!("/departments/{}/members", support["id"]),
        json!({"user": me["id"]}),
    )
    .await;

    let status = sandbox.say(&staff, "/status").await;
    assert!(text(&status).contains("Your status: Offline"), "{status:#}");
    let online = sandbox.say(&staff, "/online").await;
    assert!(text(&online).contains("Your status: Online"), "{online:#}");
    let seen = sandbox.bot_messages(staff.id).await.len();
    let customer = User::new(5_300_000_011, "Hugo", "en");
    customer_writes(&sandbox, &customer, "Hello, anyone?").await;
    // The customer's message itself comes as the one notice (issue 12), answered by
    // replying: not a second "assigned to you" beside it.
    let notice = sandbox
        .wait_for(staff.id, seen, "Reply to this message to answer")
        .await;
    assert!(text(&notice).contains("Hello, anyone?"), "{notice:#}");
    let told = sandbox.bot_messages(staff.id).await;
    assert!(
        told.iter()
            .skip(seen)
            .all(|message| !text(message).contains("was assigned to you")),
        "{told:#?}"
    );
    let before = sandbox.bot_messages(staff.id).await.len();
    sandbox.send(&staff, "/away").await;
    let away = sandbox.wait_for(staff.id, before, "Open items").await;
    assert!(text(&away).contains("Away"), "{away:#}");
    assert!(text(&away).contains("Open items: 1"), "{away:#}");
}

#[tokio::test]
async fn a_customer_chooses_among_several_departments_in_the_bot() {
    let app = helpdesk();
    let admin = login_admin(&app).await;
    let api = Api::new(&app, &admin.create_token("question").await);
    api.post("/departments", json!({"name": "Repairs"})).await;
    let (_, sales) = api.post("/departments", json!({"name": "Sales"})).await;
    let sandbox = Sandbox::of(&app);
    let customer = User::new(5_300_000_020, "Ida", "en");
    let menu = start_customer(&sandbox, &customer, "en").await;
    sandbox.tap(&customer, &menu, "m:chat").await;
    let seen = sandbox.bot_messages(customer.id).await.len();
    sandbox.send(&customer, "I want to buy").await;
    let question = sandbox
        .wait_for(customer.id, seen, "Which department should answer you?")
        .await;
    let choice = format!("dep:{}", sales["id"]);
    assert!(buttons(&question).contains(&choice), "{question:#}");
    let id = customer_id(&api, customer.id).await;
    let (_, before) = api.get(&format!("/customers/{id}/conversation")).await;
    assert!(before["item"].is_null(), "waits for the choice: {before}");
    let thanks = sandbox.tap(&customer, &question, &choice).await;
    assert!(text(&thanks).contains("department you chose"), "{thanks:#}");
    let conversation =
        conversation_when(&api, id, |conversation| !conversation["item"].is_null()).await;
    assert_eq!(conversation["department"], "Sales");
}

/// Issue 11's `archive_conversations` through the real binary: a conversation closed 40 days
/// ago (written into the stopped appliance's data file by crm-lib on a clock set back, since
/// the appliance runs on the real clock) leaves the inbox after "run now" on the jobs page
/// and is listed at `/chat?archived=1`, its conversation page still open.
#[tokio::test]
async fn the_archive_job_moves_an_old_closed_conversation_from_the_inbox_to_the_archived_list() {
    fn forty_days_ago() -> crm_lib::model::Timestamp {
        crm_lib::model::Timestamp::from_millis(
            crm_lib::model::Timestamp::now().millis() - 40 * 24 * 3_600_000,
        )
    }
    let mut app = helpdesk();
    app.kill();
    let customer = {
        let crm = crm_lib::Crm::open_with_clock(
            app.data_dir.join("crm.redb"),
            crm_lib::CrmOptions::default(),
            forty_days_ago,
        )
        .unwrap();
        let org = crm.system().default_organization().unwrap().id;
        let system = crm_lib::model::Actor::system(org);
        let customer = crm
            .create_customer(
                &system,
                crm_lib::customers::NewCustomer {
                    telegram_id: "777001".into(),
                    first_name: "Olga".into(),
                    last_name: "Archived".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        crm.post_inbound(
            &crm_lib::model::Actor::customer(org, customer.id),
            crm_lib::chat::InboundMessage {
                customer: customer.id,
                about: crm_lib::chat::OrderChoice::None,
                text: "An old question".into(),
                attachments: Vec::new(),
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
        crm.close_conversation(&system, customer.id).unwrap();
        customer.id
    };
    let app = app.restart();
    let admin = login_admin(&app).await;
    let inbox = admin.get_text("/chat?filter=closed").await;
    assert!(inbox.contains("Olga Archived"), "{inbox}");
    assert!(inbox.contains("href=\"/chat?archived=1\""), "{inbox}");

    let ran = admin
        .post_form("/admin/jobs/archive_conversations/run", &[])
        .await;
    assert_eq!(ran.status(), 303);
    let jobs = admin.get_text("/admin/jobs").await;
    assert!(jobs.contains("archived 1 conversations"), "{jobs}");

    let inbox = admin.get_text("/chat?filter=closed").await;
    assert!(!inbox.contains("Olga Archived"), "{inbox}");
    let archived = admin.get_text("/chat?archived=1").await;
    assert!(archived.contains("Olga Archived"), "{archived}");
    assert!(
        archived.contains(&format!("href=\"/chat/{customer}\"")),
        "{archived}"
    );
    let page = admin.get_text(&format!("/chat/{customer}")).await;
    assert!(page.contains("An old question"), "{page}");
}
