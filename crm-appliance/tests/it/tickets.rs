//! The tickets module through the real appliance started with the helpdesk template: a
//! ticket with typed fields created through the API and through the web form, its fields and
//! fraud flags on the order page, a flag cleared; the bot's new-order form walking the
//! fields; and a master moving a ticket with the buttons of their Telegram notification.

use serde_json::json;

use crate::bot_support::{Sandbox, User, button, buttons, order_number, start_customer, text};
use crate::staff::{Api, login_admin};
use crate::support::{TestApp, spawn_app_with};
use crate::web_helpers::{admin, create_user, first_login, page, post};

fn helpdesk() -> TestApp {
    spawn_app_with(&["--template", "helpdesk"])
}

#[tokio::test]
async fn a_ticket_with_fields_is_created_through_the_api_and_the_web_form_and_shows_its_flags() {
    let app = helpdesk();
    let admin_browser = login_admin(&app).await;
    let api = Api::new(&app, &admin_browser.create_token("desk").await);
    let customer = api.customer(7101, "Vera").await;
    // A required field left out is refused, naming it.
    let (status, body) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Dead laptop", "description": "No power",
                   "fields": {"device": "laptop"}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "fields");
    assert_eq!(body["error"]["message"], "fault: must be filled in");
    let (status, order) = api
        .post(
            "/orders",
            json!({"customer": customer, "title": "Dead laptop", "description": "No power",
                   "fields": {"device": "Laptop", "fault": "no power", "serial": "12"}}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_u64().unwrap();
    assert_eq!(order["custom_fields"]["device"], "laptop", "{order}");
    let (status, ticket) = api.get(&format!("/orders/{id}/fields")).await;
    assert_eq!(status, 200, "{ticket}");
    assert_eq!(ticket["fraud_score"], 20, "{ticket}");
    assert_eq!(ticket["fraud_flags"][0]["rule"], "field_format");
    // PATCH a good serial: the flag is gone; a bad answer is refused.
    let patched = api
        .client
        .patch(format!("{}/orders/{id}/fields", api.base))
        .bearer_auth(&api.token)
        .json(&json!({"fields": {"serial": "SN-777777", "warranty": "yes"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let ticket: serde_json::Value = patched.json().await.unwrap();
    assert_eq!(ticket["fraud_score"], 0, "{ticket}");
    let bad = api
        .client
        .patch(format!("{}/orders/{id}/fields", api.base))
        .bearer_auth(&api.token)
        .json(&json!({"fields": {"warranty": "maybe"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    // The web form: the staff's new-order form asks the fields; the page shows them.
    let browser = admin_browser;
    let form = browser.get_text("/orders/new").await;
    assert!(form.contains("name=\"field.device\""), "{form}");
    assert!(form.contains("Serial number"), "{form}");
    let walk_in = api.customer(7102, "Walk-in").await.to_string();
    let created = browser
        .post_form(
            "/orders",
            &[
                ("customer", walk_in.as_str()),
                ("title", "Printer jams"),
                ("description", "Every page"),
                ("budget", ""),
                ("deadline", ""),
                ("field.device", "printer"),
                ("field.model", "LaserJet 1020"),
                ("field.serial", "bad serial!"),
                ("field.fault", "jams"),
                ("field.warranty", ""),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "{:?}", created.text().await);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let ticket_page = browser.get_text(&location).await;
    assert!(ticket_page.contains("LaserJet 1020"), "{ticket_page}");
    assert!(ticket_page.contains("Printer"), "{ticket_page}");
    assert!(
        ticket_page.contains("data-rule=\"field_format\""),
        "{ticket_page}"
    );
    assert!(
        ticket_page.contains("class=\"fraud-score\">20<"),
        "{ticket_page}"
    );
    // Cleared with a note, the flag stays, marked cleared, and the score drops.
    let cleared = browser
        .post_form(
            &format!("{location}/fraud/clear"),
            &[("rule", "field_format"), ("note", "old sticker")],
        )
        .await;
    assert_eq!(cleared.status(), 303);
    let after = browser.get_text(&location).await;
    assert!(after.contains("data-cleared=\"yes\""), "{after}");
    assert!(after.contains("old sticker"), "{after}");
    assert!(after.contains("class=\"fraud-score\">0<"), "{after}");
    // The fields edited in the page's form.
    let edited = browser
        .post_form(
            &format!("{location}/fields"),
            &[
                ("field.device", "printer"),
                ("field.model", "LaserJet 1022"),
                ("field.serial", "SN-102200"),
                ("field.fault", "jams"),
                ("field.warranty", "no"),
            ],
        )
        .await;
    assert_eq!(edited.status(), 303);
    let after = browser.get_text(&location).await;
    assert!(after.contains("LaserJet 1022"), "{after}");
    // The order list filters by a field.
    let list = browser.get_text("/orders?field.serial=sn-102200").await;
    assert!(list.contains("Printer jams"), "{list}");
    // Its row shows the fields declared for lists: device, model, serial.
    assert!(
        list.contains("Printer · LaserJet 1022 · SN-102200"),
        "{list}"
    );
    assert!(!list.contains("Dead laptop"), "{list}");
    let (status, page) = api.get("/orders?field=serial:SN-777777").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["id"], id);
    // The fraud settings page is there for the administrator.
    let settings = browser.get_text("/settings/fraud").await;
    assert!(settings.contains("name=\"rule.0.threshold\""), "{settings}");
}

#[tokio::test]
async fn the_bot_asks_the_ticket_fields_and_a_master_moves_the_ticket_with_a_button() {
    let app = helpdesk();
    let sandbox = Sandbox::of(&app);
    let customer = User::new(5_300_000_001, "Nina", "en");
    let menu = start_customer(&sandbox, &customer, "en").await;
    let prompt = sandbox.tap(&customer, &menu, "m:new").await;
    assert!(text(&prompt).contains("1"), "{prompt:#}");
    sandbox.say(&customer, "Phone will not charge").await;
    let budget = sandbox.say(&customer, "Since yesterday").await;
    let deadline = sandbox
        .tap(&customer, &budget, &button(&budget, "w:"))
        .await;
    let files = sandbox
        .tap(&customer, &deadline, &button(&deadline, "w:"))
        .await;
    let mut next = sandbox.tap(&customer, &files, &button(&files, "w:")).await;
    // The helpdesk's payment step (its default method), skipped.
    while let Some(skip) = buttons(&next)
        .into_iter()
        .find(|data| data.ends_with(":p:s"))
    {
        next = sandbox.tap(&customer, &next, &skip).await;
    }
    // The device type: a choice as buttons.
    assert!(text(&next).contains("Device type?"), "{next:#}");
    let phone = buttons(&next)
        .into_iter()
        .find(|data| data.contains(":f:c0_0"))
        .unwrap();
    let model = sandbox.tap(&customer, &next, &phone).await;
    assert!(text(&model).contains("Model?"), "{model:#}");
    assert!(
        buttons(&model).iter().any(|data| data.ends_with(":f:k1")),
        "an optional field offers Skip: {model:#}"
    );
    let serial = sandbox.say(&customer, "Pixel 7").await;
    assert!(text(&serial).contains("Serial number?"), "{serial:#}");
    let fault = sandbox.say(&customer, "SN-424242").await;
    assert!(text(&fault).contains("Fault?"), "{fault:#}");
    // A fault too long is refused in words of what it expects.
    let refused = sandbox.say(&customer, &"x".repeat(1001)).await;
    assert!(
        text(&refused).contains("text of up to 1000 characters"),
        "{refused:#}"
    );
    let warranty = sandbox.say(&customer, "does not charge").await;
    assert!(text(&warranty).contains("Under warranty?"), "{warranty:#}");
    let yes = buttons(&warranty)
        .into_iter()
        .find(|data| data.contains(":f:c4_0"))
        .unwrap();
    let summary = sandbox.tap(&customer, &warranty, &yes).await;
    for line in [
        "Device type: Phone",
        "Model: Pixel 7",
        "Serial number: SN-424242",
        "Under warranty: Yes",
    ] {
        assert!(text(&summary).contains(line), "{line}: {summary:#}");
    }
    let confirm = buttons(&summary)
        .into_iter()
        .find(|data| data.ends_with(":y"))
        .unwrap();
    let created = sandbox.tap(&customer, &summary, &confirm).await;
    let ticket = order_number(text(&created));

    // A master, linked to Telegram, is assigned the ticket and moves it from the message.
    let session = admin(&app).await;
    let password = create_user(&app, &session, "mike", "master").await;
    let master = first_login(&app, "mike", &password).await;
    let staff_user = User::new(5_300_000_002, "Mike", "en");
    let code_page = post(&app, &master, "/profile/link-code", &[])
        .await
        .text()
        .await
        .unwrap();
    let start = code_page.find("/link ").unwrap() + "/link ".len();
    let code: String = code_page[start..].chars().take(8).collect();
    sandbox.send(&staff_user, &format!("/link {code}")).await;
    sandbox.wait_for(staff_user.id, 0, "is now linked to").await;
    let users = page(&app, &session, "/users").await;
    let mike_id = users
        .split("/users/")
        .filter_map(|rest| rest.split('/').next())
        .filter_map(|id| id.parse::<u64>().ok())
        .max()
        .unwrap()
        .to_string();
    let assigned = post(
        &app,
        &session,
        &format!("/orders/{ticket}/assign"),
        &[("user", mike_id.as_str())],
    )
    .await;
    assert_eq!(assigned.status(), 303, "{:?}", assigned.text().await);
    let notice = sandbox
        .wait_for(staff_user.id, 0, "You were assigned ticket")
        .await;
    assert!(
        text(&notice).contains("Serial number: SN-424242"),
        "{notice:#}"
    );
    assert!(text(&notice).contains("Device type: Phone"), "{notice:#}");
    let moves = buttons(&notice);
    assert_eq!(
        moves,
        [format!("tk:m:{ticket}:2"), format!("tk:m:{ticket}:6")],
        "{notice:#}"
    );
    let query = sandbox
        .press(
            &staff_user,
            notice["message_id"].as_i64().unwrap(),
            &format!("tk:m:{ticket}:2"),
        )
        .await;
    let answer = sandbox.answer_of(staff_user.id, &query).await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("moved to In work"),
        "{answer:#}"
    );
    let detail = page(&app, &session, &format!("/orders/{ticket}")).await;
    assert!(detail.contains("In work"), "{detail}");
}
