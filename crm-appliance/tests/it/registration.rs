//! The tokens module's registration through the sandbox emulator with the real appliance
//! (a service desk): a customer registers with the state buttons, skips optional fields,
//! edits an answer at the review and confirms; the profile shows on the customer page and
//! in the API; the appliance killed mid-form continues where it was after a restart; an
//! organization without the module knows no /register; the API refuses a bad answer with
//! 422 naming the field.

use serde_json::Value;

use crate::bot_support::{Sandbox, User, button, buttons, start_customer, text};
use crate::support::{TestApp, spawn_app, spawn_app_with};
use crate::web_helpers::{Session, admin, page, post};

fn service() -> TestApp {
    spawn_app_with(&["--template", "service"])
}

/// A bearer token of `session`'s user, made on the profile page.
async fn token(app: &TestApp, session: &Session) -> String {
    let response = post(app, session, "/profile/tokens", &[("name", "registration")]).await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    let start = html.find("value=\"crm_").unwrap() + "value=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// The question's field position `(n/15)` of a bot message.
fn asks(message: &Value, position: usize) -> bool {
    text(message).starts_with(&format!("({position}/15)"))
}

/// Answers the questions from the one shown up to the review: required ones with
/// `answers`, the state by its button, the rest skipped with the Skip button.
async fn answer_to_review(sandbox: &Sandbox, user: &User, mut message: Value) -> Value {
    loop {
        let shown = text(&message).to_string();
        if shown.starts_with("Please check your answers") {
            return message;
        }
        message = if shown.contains("First name?") {
            sandbox.say(user, "Mary").await
        } else if shown.contains("Last name?") {
            sandbox.say(user, "Smith").await
        } else if shown.contains("Phone?") {
            sandbox.say(user, "+1 212 555 0100").await
        } else if shown.contains("Email?") {
            sandbox.say(user, "mary@example.com").await
        } else if shown.contains("State: choose one") {
            let states: Vec<String> = buttons(&message)
                .into_iter()
                .filter(|data| data.starts_with("f:1:a:10:"))
                .collect();
            assert_eq!(states.len(), 51, "50 states and DC: {message:#}");
            // NY is the 33rd option (the template's order).
            sandbox.tap(user, &message, "f:1:a:10:32").await
        } else {
            sandbox
                .tap(user, &message, &button(&message, "f:1:s:"))
                .await
        };
    }
}

#[tokio::test]
async fn a_customer_registers_with_state_buttons_edits_at_review_and_the_profile_shows_for_staff() {
    let app = service();
    let sandbox = Sandbox::of(&app);
    let mary = User::new(5_300_000_001, "Mary", "en");
    let menu = start_customer(&sandbox, &mary, "en").await;
    assert!(buttons(&menu).contains(&"m:reg".to_string()), "{menu:#}");
    let intro_count = sandbox.bot_messages(mary.id).await.len();
    sandbox
        .press(&mary, menu["message_id"].as_i64().unwrap(), "m:reg")
        .await;
    let first = sandbox.wait_for(mary.id, intro_count, "(1/15)").await;
    assert!(asks(&first, 1), "{first:#}");
    assert!(text(&first).contains("First name?"), "{first:#}");
    // A required field offers no Skip, and typing "skip"-like text is an answer.
    assert!(
        !buttons(&first)
            .iter()
            .any(|data| data.starts_with("f:1:s:"))
    );
    let middle = sandbox.say(&mary, "Mary").await;
    assert!(asks(&middle, 2), "{middle:#}");
    let last = sandbox
        .tap(&mary, &middle, &button(&middle, "f:1:s:1"))
        .await;
    assert!(asks(&last, 3), "{last:#}");
    let phone = sandbox.say(&mary, "Smith").await;
    // A bad phone is explained and asked again.
    assert!(asks(&phone, 4), "{phone:#}");
    let before = sandbox.bot_messages(mary.id).await.len();
    let refused = sandbox.say(&mary, "12").await;
    assert!(text(&refused).contains("not accepted"), "{refused:#}");
    assert!(text(&refused).contains("phone number"), "{refused:#}");
    let again = sandbox.wait_for(mary.id, before + 1, "(4/15)").await;
    let review = answer_to_review(&sandbox, &mary, again).await;
    assert!(text(&review).contains("State: NY"), "{review:#}");
    assert!(text(&review).contains("Country: USA"), "{review:#}");
    assert!(text(&review).contains("Middle name: —"), "{review:#}");
    // Edit the last name from the review.
    let edit = sandbox.tap(&mary, &review, "f:1:e:2").await;
    assert!(text(&edit).contains("Current answer: Smith"), "{edit:#}");
    let review = sandbox.say(&mary, "Smith-Jones").await;
    assert!(
        text(&review).contains("Last name: Smith-Jones"),
        "{review:#}"
    );
    let done = sandbox.tap(&mary, &review, "f:1:y").await;
    assert!(
        text(&done).contains("Saved: profile of Mary Smith-Jones"),
        "{done:#}"
    );
    let listed = sandbox.say(&mary, "/profiles").await;
    assert!(
        text(&listed).contains("Mary Smith-Jones (mary@example.com)"),
        "{listed:#}"
    );

    // Staff see it on the customer page and in the API.
    let staff = admin(&app).await;
    let token = token(&app, &staff).await;
    let api = reqwest::Client::new();
    let customers: Value = api
        .get(app.url("/api/v1/customers?q=Mary"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer = customers["items"][0]["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("{customers:#}"));
    let html = page(&app, &staff, &format!("/customers/{customer}")).await;
    assert!(html.contains("id=\"profiles\""), "{html}");
    assert!(html.contains("Mary Smith-Jones"), "{html}");
    let profiles: Value = api
        .get(app.url(&format!("/api/v1/customers/{customer}/profiles")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profiles[0]["label"], "Mary Smith-Jones", "{profiles:#}");
    assert_eq!(profiles[0]["answers"]["state"], "ny");
    assert_eq!(profiles[0]["answers"]["phone"], "+12125550100");
    let id = profiles[0]["id"].as_u64().unwrap();
    let one = api
        .get(app.url(&format!("/api/v1/profiles/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    // A bad answer through the API: 422 naming the field, nothing changed.
    let bad = api
        .put(app.url(&format!("/api/v1/profiles/{id}")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"answers": {
            "first_name": "Mary", "last_name": "Smith", "phone": "+12125550100",
            "email": "mary@example.com", "postal_code": "1234"
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    assert!(body.to_string().contains("postal_code"), "{body:#}");
    let created = api
        .post(app.url(&format!("/api/v1/customers/{customer}/profiles")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"answers": {
            "first_name": "Zoe", "last_name": "Smith", "phone": "+12125550101",
            "email": "zoe@example.com", "state": "CA"
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let zoe: Value = created.json().await.unwrap();
    let archived = api
        .put(app.url(&format!("/api/v1/profiles/{}", zoe["id"])))
        .bearer_auth(&token)
        .json(&serde_json::json!({"answers": {
            "first_name": "Zoe", "last_name": "Smith", "phone": "+12125550101",
            "email": "zoe@example.com", "state": "CA"
        }, "archived": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(archived.status(), 200);
    let archived: Value = archived.json().await.unwrap();
    assert_eq!(archived["archived"], true);
    let html = page(&app, &staff, &format!("/profiles/{}", zoe["id"])).await;
    assert!(html.contains("Zoe Smith"), "{html}");
}

#[tokio::test]
async fn the_appliance_killed_mid_form_continues_the_registration_where_it_was() {
    let mut app = service();
    let ivan = User::new(5_300_000_002, "Ivan", "en");
    {
        let sandbox = Sandbox::of(&app);
        start_customer(&sandbox, &ivan, "en").await;
        let before = sandbox.bot_messages(ivan.id).await.len();
        sandbox.send(&ivan, "/register").await;
        let first = sandbox.wait_for(ivan.id, before, "(1/15)").await;
        assert!(asks(&first, 1), "{first:#}");
        sandbox.say(&ivan, "Ivan").await;
        let third = sandbox.say(&ivan, "-").await;
        // "-" is an answer to a text field, not a skip: the engine decides.
        assert!(asks(&third, 3), "{third:#}");
    }
    app.kill();
    let app = app.restart();
    let sandbox = Sandbox::of(&app);
    let phone = sandbox.say(&ivan, "Petrov").await;
    assert!(asks(&phone, 4), "{phone:#}");
    assert!(text(&phone).contains("Phone?"), "{phone:#}");
    let review = answer_to_review(&sandbox, &ivan, phone).await;
    assert!(text(&review).contains("First name: Ivan"), "{review:#}");
    assert!(text(&review).contains("Last name: Petrov"), "{review:#}");
    let cancelled = sandbox.tap(&ivan, &review, "f:1:n").await;
    assert!(
        text(&cancelled).contains("Registration cancelled"),
        "{cancelled:#}"
    );
    let none = sandbox.say(&ivan, "/profiles").await;
    assert!(text(&none).contains("no profiles yet"), "{none:#}");
}

#[tokio::test]
async fn an_organization_without_the_tokens_module_knows_no_register_and_no_profiles() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let olga = User::new(5_300_000_003, "Olga", "en");
    let menu = start_customer(&sandbox, &olga, "en").await;
    assert!(!buttons(&menu).contains(&"m:reg".to_string()), "{menu:#}");
    let unknown = sandbox.say(&olga, "/register").await;
    assert!(text(&unknown).contains("/register"), "{unknown:#}");
    let staff = admin(&app).await;
    let token = token(&app, &staff).await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/customers/1/profiles"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let settings = staff
        .client
        .get(app.url("/settings/registration"))
        .send()
        .await
        .unwrap();
    assert_eq!(settings.status(), 404);
}

#[tokio::test]
async fn staff_edit_the_registration_form_in_settings_and_bad_text_is_explained() {
    let app = service();
    let staff = admin(&app).await;
    let html = page(&app, &staff, "/settings/registration").await;
    assert!(html.contains("[[field]]"), "{html}");
    let text_start = html.find("<textarea").unwrap();
    let body_start = html[text_start..].find('>').unwrap() + text_start + 1;
    let body_end = html[body_start..].find("</textarea>").unwrap() + body_start;
    let form = html[body_start..body_end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    // Drop the Instagram question (the last table).
    let cut = form.rfind("[[field]]").unwrap();
    let shorter = form[..cut].to_string();
    let saved = post(
        &app,
        &staff,
        "/settings/registration",
        &[("form", &shorter)],
    )
    .await;
    assert_eq!(saved.status(), 200);
    let saved = saved.text().await.unwrap();
    assert!(saved.contains("Registration form saved"), "{saved}");
    assert!(
        !saved.contains("data-field=\"instagram_username\""),
        "{saved}"
    );
    let bad = post(
        &app,
        &staff,
        "/settings/registration",
        &[("form", "[[field]]\nkey = 1")],
    )
    .await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn register_continues_a_walk_left_for_the_menu_and_its_buttons_still_work() {
    let app = service();
    let sandbox = Sandbox::of(&app);
    let rosa = User::new(5_300_000_004, "Rosa", "en");
    start_customer(&sandbox, &rosa, "en").await;
    let before = sandbox.bot_messages(rosa.id).await.len();
    sandbox.send(&rosa, "/register").await;
    sandbox.wait_for(rosa.id, before, "(1/15)").await;
    let middle = sandbox.say(&rosa, "Rosa").await;
    assert!(asks(&middle, 2), "{middle:#}");
    // The menu leaves the form; text then goes to the team, not to the form.
    sandbox.say(&rosa, "/start").await;
    // A button of the question left still answers it, and typing goes to the form again.
    let last = sandbox
        .tap(&rosa, &middle, &button(&middle, "f:1:s:1"))
        .await;
    assert!(asks(&last, 3), "{last:#}");
    let phone = sandbox.say(&rosa, "Diaz").await;
    assert!(asks(&phone, 4), "{phone:#}");
    // /register again continues where she was.
    let before = sandbox.bot_messages(rosa.id).await.len();
    let note = sandbox.say(&rosa, "/register").await;
    assert!(
        text(&note).contains("continue your registration"),
        "{note:#}"
    );
    let again = sandbox.wait_for(rosa.id, before + 1, "(4/15)").await;
    assert!(text(&again).contains("Phone?"), "{again:#}");
}
