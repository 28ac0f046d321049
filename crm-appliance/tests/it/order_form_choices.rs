//! The new-order form's choice steps through the sandbox emulator with the real appliance
//! (C0de seed's bot: stack markers as toggle buttons, then the preferred payment method), and
//! the preferred payment method where staff meet it: the order page, its payment form, the
//! new-order page and the JSON API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bot_support::{
    PATIENCE, Sandbox, User, button, buttons, order_number, start_customer, text,
};
use crate::staff::{Api, Browser, login_admin};
use crate::support::{TestApp, spawn_app};

/// The (text, callback data) of every button of a bot message, row by row.
fn keyboard(message: &Value) -> Vec<(String, String)> {
    message["reply_markup"]["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .map(|button| {
                    (
                        button["text"].as_str().unwrap_or("").to_string(),
                        button["callback_data"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The texts of the buttons of a bot message.
fn labels(message: &Value) -> Vec<String> {
    keyboard(message)
        .into_iter()
        .map(|(text, _)| text)
        .collect()
}

/// The callback data ending with `suffix` (`:m:t5`), panicking when absent.
fn ending(message: &Value, suffix: &str) -> String {
    buttons(message)
        .into_iter()
        .find(|data| data.starts_with("w:") && data.ends_with(suffix))
        .unwrap_or_else(|| panic!("no button *{suffix} on {message:#}"))
}

/// Waits until bot message `message_id` satisfies `done`; returns it.
async fn wait_message(
    sandbox: &Sandbox,
    user: &User,
    message_id: i64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let messages = sandbox.bot_messages(user.id).await;
        if let Some(message) = messages
            .iter()
            .find(|message| message["message_id"] == message_id)
            && done(message)
        {
            return message.clone();
        }
        assert!(
            Instant::now() < deadline,
            "message {message_id} never {what}: {messages:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// From the main menu through title, description, budget, deadline and files (all but the
/// title skipped or typed by the test); returns the prompt after the files step.
async fn through_the_files_step(
    sandbox: &Sandbox,
    user: &User,
    menu: &Value,
    title: &str,
) -> Value {
    sandbox.tap(user, menu, "m:new").await;
    sandbox.say(user, title).await;
    let budget = sandbox.say(user, "Typed by a test").await;
    let deadline = sandbox.tap(user, &budget, &ending(&budget, ":b:s")).await;
    let files = sandbox
        .tap(user, &deadline, &ending(&deadline, ":l:s"))
        .await;
    sandbox.tap(user, &files, &ending(&files, ":a:d")).await
}

/// Confirms the summary; returns the new order's number.
async fn confirm(sandbox: &Sandbox, user: &User, summary: &Value) -> u64 {
    let created = sandbox.tap(user, summary, &ending(summary, ":c:y")).await;
    assert!(
        text(&created).contains("is sent") || text(&created).contains("отправлен"),
        "{created:#}"
    );
    order_number(text(&created))
}

async fn token(admin: &Browser, app: &TestApp) -> Api {
    Api::new(app, &admin.create_token("form choices").await)
}

#[tokio::test]
async fn a_customer_toggles_markers_in_place_and_picks_how_to_pay_and_staff_see_both() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let anna = User::new(5_400_000_001, "Anna", "en");
    let menu = start_customer(&sandbox, &anna, "en").await;
    let markers = through_the_files_step(&sandbox, &anna, &menu, "Shop bot").await;
    assert!(text(&markers).contains("Step 6 of 8"), "{markers:#}");
    assert!(
        text(&markers).contains("Tap each that applies"),
        "{markers:#}"
    );
    // The studio's ten markers as toggles, none chosen, then Done and Skip.
    let shown = labels(&markers);
    assert_eq!(shown.len(), 12, "{shown:?}");
    assert_eq!(&shown[..2], ["Python", "JavaScript"]);
    assert_eq!(&shown[10..], ["Done ✅", "Skip ⏭"]);
    assert!(shown.iter().all(|label| !label.contains('✓')), "{shown:?}");

    // Each press edits the same message's buttons; no new message is sent.
    let id = markers["message_id"].as_i64().unwrap();
    let sent = sandbox.bot_messages(anna.id).await.len();
    for (marker, expected) in [
        (":m:t5", vec!["✓ React"]),
        (":m:t1", vec!["✓ Python", "✓ React"]),
        (":m:t5", vec!["✓ Python"]),
    ] {
        let query = sandbox.press(&anna, id, &ending(&markers, marker)).await;
        let edited = wait_message(&sandbox, &anna, id, "showed the toggle", |message| {
            let chosen: Vec<String> = labels(message)
                .into_iter()
                .filter(|label| label.starts_with('✓'))
                .collect();
            chosen == expected
        })
        .await;
        assert_eq!(text(&edited), text(&markers), "the text stays");
        let answer = sandbox.answer_of(anna.id, &query).await;
        assert!(answer.get("text").is_none_or(Value::is_null), "{answer:#}");
    }
    assert_eq!(sandbox.bot_messages(anna.id).await.len(), sent);

    let methods = sandbox
        .tap(&anna, &markers, &ending(&markers, ":m:d"))
        .await;
    assert!(text(&methods).contains("Step 7 of 8"), "{methods:#}");
    assert!(text(&methods).contains("How would you prefer to pay?"));
    assert_eq!(labels(&methods), ["Bank transfer", "Skip ⏭"]);
    // Done took the markers' buttons away.
    wait_message(&sandbox, &anna, id, "lost its buttons", |message| {
        buttons(message).is_empty()
    })
    .await;

    let summary = sandbox
        .tap(&anna, &methods, &ending(&methods, ":p:m1"))
        .await;
    assert!(text(&summary).contains("Step 8 of 8"), "{summary:#}");
    assert!(text(&summary).contains("Tags: Python"), "{summary:#}");
    assert!(
        text(&summary).contains("Payment method: Bank transfer"),
        "{summary:#}"
    );
    let order = confirm(&sandbox, &anna, &summary).await;

    let admin = login_admin(&app).await;
    let api = token(&admin, &app).await;
    let (status, view) = api.get(&format!("/orders/{order}")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["markers"], json!([1]));
    assert_eq!(view["preferred_payment_method"], 1);
    let page = admin.get_text(&format!("/orders/{order}")).await;
    assert!(page.contains("Preferred payment method"), "{page}");
    assert!(page.contains("Bank transfer"), "{page}");
    // The markers' editor starts on what the customer chose: Python, not React.
    assert!(
        page.contains(r#"name="marker" value="1" checked"#),
        "{page}"
    );
    assert!(
        !page.contains(r#"name="marker" value="5" checked"#),
        "{page}"
    );
}

#[tokio::test]
async fn a_russian_customer_sees_marker_names_in_russian_and_can_skip_both_steps() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let renamed = admin
        .post_form(
            "/markers/1",
            &[
                ("name_en", "Python"),
                ("name_ru", "Питон"),
                ("color", "#3776ab"),
            ],
        )
        .await;
    assert_eq!(renamed.status(), 303);
    let sandbox = Sandbox::of(&app);
    let olga = User::new(5_400_000_002, "Ольга", "ru");
    let menu = start_customer(&sandbox, &olga, "ru").await;
    let markers = through_the_files_step(&sandbox, &olga, &menu, "Сайт").await;
    assert!(text(&markers).contains("Шаг 6 из 8"), "{markers:#}");
    assert_eq!(labels(&markers)[0], "Питон");
    let id = markers["message_id"].as_i64().unwrap();
    sandbox.press(&olga, id, &ending(&markers, ":m:t1")).await;
    wait_message(&sandbox, &olga, id, "showed ✓ Питон", |message| {
        labels(message).first().map(String::as_str) == Some("✓ Питон")
    })
    .await;
    // Skip drops what was chosen at the step, and typed "пропустить" skips too.
    let methods = sandbox
        .tap(&olga, &markers, &ending(&markers, ":m:s"))
        .await;
    assert!(text(&methods).contains("Шаг 7 из 8"), "{methods:#}");
    let summary = sandbox.say(&olga, "Пропустить").await;
    assert!(text(&summary).contains("Шаг 8 из 8"), "{summary:#}");
    assert!(text(&summary).contains("Метки: не выбраны"), "{summary:#}");
    assert!(
        text(&summary).contains("Способ оплаты: не указан"),
        "{summary:#}"
    );
    let order = confirm(&sandbox, &olga, &summary).await;
    let api = token(&admin, &app).await;
    let (_, view) = api.get(&format!("/orders/{order}")).await;
    assert_eq!(view["markers"], json!([]));
    assert!(view["preferred_payment_method"].is_null(), "{view}");
}

#[tokio::test]
async fn the_choice_steps_are_passed_when_the_organization_has_nothing_to_choose() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    for marker in 1..=10 {
        let deleted = admin
            .post_form(&format!("/markers/{marker}/delete"), &[])
            .await;
        assert_eq!(deleted.status(), 303, "marker {marker}");
    }
    let off = admin
        .post_form("/payment-methods/1/active", &[("active", "false")])
        .await;
    assert_eq!(off.status(), 303);
    let sandbox = Sandbox::of(&app);
    let boris = User::new(5_400_000_003, "Boris", "en");
    let menu = start_customer(&sandbox, &boris, "en").await;
    let first = sandbox.tap(&boris, &menu, "m:new").await;
    assert!(text(&first).contains("step 1 of 6"), "{first:#}");
    let summary = through_the_files_step(&sandbox, &boris, &menu, "Plain order").await;
    assert!(text(&summary).contains("Step 6 of 6"), "{summary:#}");
    assert!(!text(&summary).contains("Tags:"), "{summary:#}");
    assert!(!text(&summary).contains("Payment method:"), "{summary:#}");

    // With a method switched on again, only the payment step is asked.
    let on = admin
        .post_form("/payment-methods/1/active", &[("active", "true")])
        .await;
    assert_eq!(on.status(), 303);
    sandbox
        .tap(&boris, &summary, &ending(&summary, ":c:n"))
        .await;
    let methods = through_the_files_step(&sandbox, &boris, &menu, "With payment").await;
    assert!(text(&methods).contains("Step 6 of 7"), "{methods:#}");
    assert_eq!(labels(&methods), ["Bank transfer", "Skip ⏭"]);
}

#[tokio::test]
async fn stale_unknown_and_typed_choices_are_answered_politely() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let carl = User::new(5_400_000_004, "Carl", "en");
    let menu = start_customer(&sandbox, &carl, "en").await;
    let markers = through_the_files_step(&sandbox, &carl, &menu, "Careful order").await;
    let id = markers["message_id"].as_i64().unwrap();
    let form = button(&markers, "w:")
        .split(':')
        .nth(1)
        .unwrap()
        .to_string();

    // Text at a choice step: the buttons are asked for again.
    let again = sandbox.say(&carl, "React please").await;
    assert!(
        text(&again).contains("Please tap what applies with the buttons"),
        "{again:#}"
    );
    assert!(text(&again).contains("Step 6 of 8"), "{again:#}");

    // A marker the organization does not have: a notice, nothing chosen, no new message and
    // no edit of the buttons (Telegram refuses an edit that changes nothing).
    let sent = sandbox.bot_messages(carl.id).await.len();
    let edits = |stats: &Value| {
        stats["calls"]["editMessageReplyMarkup"]
            .as_u64()
            .unwrap_or(0)
    };
    let edits_before = edits(&sandbox.stats().await);
    let query = sandbox.press(&carl, id, &format!("w:{form}:m:t99")).await;
    let answer = sandbox.answer_of(carl.id, &query).await;
    assert_eq!(answer["text"], "This option is no longer available.");
    assert_eq!(sandbox.bot_messages(carl.id).await.len(), sent);

    let methods = sandbox.tap(&carl, &again, &ending(&again, ":m:d")).await;
    assert_eq!(
        edits(&sandbox.stats().await),
        edits_before + 1,
        "only Done's removal of its buttons was an edit"
    );
    // The markers step is over: its toggles are stale.
    let query = sandbox.press(&carl, id, &format!("w:{form}:m:t1")).await;
    let answer = sandbox.answer_of(carl.id, &query).await;
    assert_eq!(answer["text"], "This button is no longer active.");
    // A forged method id is refused with a notice and the methods are offered again.
    let query = sandbox
        .press(
            &carl,
            methods["message_id"].as_i64().unwrap(),
            &format!("w:{form}:p:m42"),
        )
        .await;
    let answer = sandbox.answer_of(carl.id, &query).await;
    assert_eq!(
        answer["text"],
        "This payment method is no longer available. Please choose another."
    );
    let offered = sandbox.nth_bot_message(carl.id, sent + 2).await;
    assert!(text(&offered).contains("Step 7 of 8"), "{offered:#}");
    assert_eq!(labels(&offered), ["Bank transfer", "Skip ⏭"]);
    let typed = sandbox.say(&carl, "by card").await;
    assert!(
        text(&typed).contains("Please choose a payment method with the buttons"),
        "{typed:#}"
    );
    let summary = sandbox.tap(&carl, &typed, &ending(&typed, ":p:s")).await;
    let order = confirm(&sandbox, &carl, &summary).await;
    assert_eq!(order, 1);
}

#[tokio::test]
async fn a_choice_withdrawn_before_confirming_sends_the_customer_back_to_its_step() {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let card = admin
        .post_form(
            "/payment-methods",
            &[("name", "Card"), ("template", "Pay {amount} by card")],
        )
        .await;
    assert_eq!(card.status(), 303);
    let sandbox = Sandbox::of(&app);
    let dina = User::new(5_400_000_005, "Dina", "en");
    let menu = start_customer(&sandbox, &dina, "en").await;

    // A marker deleted while the summary waits.
    let markers = through_the_files_step(&sandbox, &dina, &menu, "Withdrawn marker").await;
    let id = markers["message_id"].as_i64().unwrap();
    sandbox.press(&dina, id, &ending(&markers, ":m:t2")).await;
    wait_message(&sandbox, &dina, id, "showed ✓ JavaScript", |message| {
        labels(message).contains(&"✓ JavaScript".to_string())
    })
    .await;
    let methods = sandbox
        .tap(&dina, &markers, &ending(&markers, ":m:d"))
        .await;
    assert_eq!(labels(&methods), ["Bank transfer", "Card", "Skip ⏭"]);
    let summary = sandbox
        .tap(&dina, &methods, &ending(&methods, ":p:m2"))
        .await;
    assert!(text(&summary).contains("Tags: JavaScript"), "{summary:#}");
    assert!(
        text(&summary).contains("Payment method: Card"),
        "{summary:#}"
    );
    let deleted = admin.post_form("/markers/2/delete", &[]).await;
    assert_eq!(deleted.status(), 303);
    let back = sandbox
        .tap(&dina, &summary, &ending(&summary, ":c:y"))
        .await;
    assert!(
        text(&back).contains("One of the options you chose is no longer available"),
        "{back:#}"
    );
    assert!(text(&back).contains("Step 6 of 8"), "{back:#}");
    assert_eq!(labels(&back).len(), 11, "nine markers, Done and Skip");
    assert!(labels(&back).iter().all(|label| !label.contains('✓')));

    // The chosen method switched off while the summary waits.
    let methods = sandbox.tap(&dina, &back, &ending(&back, ":m:d")).await;
    let summary = sandbox
        .tap(&dina, &methods, &ending(&methods, ":p:m2"))
        .await;
    let off = admin
        .post_form("/payment-methods/2/active", &[("active", "false")])
        .await;
    assert_eq!(off.status(), 303);
    let back = sandbox
        .tap(&dina, &summary, &ending(&summary, ":c:y"))
        .await;
    assert!(
        text(&back).contains("The payment method you chose is no longer available"),
        "{back:#}"
    );
    assert_eq!(labels(&back), ["Bank transfer", "Skip ⏭"]);
    let summary = sandbox.tap(&dina, &back, &ending(&back, ":p:m1")).await;
    let order = confirm(&sandbox, &dina, &summary).await;
    let api = token(&admin, &app).await;
    let (_, view) = api.get(&format!("/orders/{order}")).await;
    assert_eq!(view["markers"], json!([]));
    assert_eq!(view["preferred_payment_method"], 1);
}

#[tokio::test]
async fn staff_set_the_preferred_method_on_the_web_and_in_the_api_and_the_payment_form_starts_on_it()
 {
    let app = spawn_app();
    let admin = login_admin(&app).await;
    let card = admin
        .post_form(
            "/payment-methods",
            &[("name", "Card"), ("template", "Pay {amount} by card")],
        )
        .await;
    assert_eq!(card.status(), 303);
    let api = token(&admin, &app).await;
    let customer = api.customer(5_400_000_006, "Egor").await.to_string();

    // The new-order page offers the active methods.
    let form = admin
        .get_text(&format!("/orders/new?customer={customer}"))
        .await;
    assert!(
        form.contains(r#"<select name="preferred_payment_method">"#),
        "{form}"
    );
    assert!(
        form.contains(r#"<option value="2">Card</option>"#),
        "{form}"
    );
    let (browser, who) = (&admin, &customer);
    let new_order = move |method: &str| {
        let method = method.to_string();
        async move {
            browser
                .post_form(
                    "/orders",
                    &[
                        ("customer", who.as_str()),
                        ("title", "By phone"),
                        ("description", "Taken by phone"),
                        ("preferred_payment_method", method.as_str()),
                    ],
                )
                .await
        }
    };
    for (bad, reason) in [
        ("card", "is not a payment method"),
        ("99", "payment method 99 not found"),
    ] {
        let refused = new_order(bad).await;
        assert_eq!(refused.status(), 422, "{bad}");
        let page = refused.text().await.unwrap();
        assert!(
            page.contains(r#"data-field="preferred_payment_method""#) && page.contains(reason),
            "{bad}: {page}"
        );
    }
    let created = new_order("2").await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let order = location.rsplit('/').next().unwrap().to_string();

    // The order page names it, and once payment details may be sent, the form starts on it.
    for (what, fields) in [
        ("approve", vec![]),
        ("assign", vec![("user", "1")]),
        ("move", vec![("stage", "4")]),
    ] {
        let response = admin
            .post_form(&format!("/orders/{order}/{what}"), &fields)
            .await;
        assert_eq!(response.status(), 303, "{what}");
    }
    let page = admin.get_text(&format!("/orders/{order}")).await;
    assert!(page.contains("Preferred payment method"), "{page}");
    assert!(
        page.contains(r#"<option value="2" selected>Card</option>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="1">Bank transfer</option>"#),
        "{page}"
    );

    // The API takes and shows it too; a switched-off or unknown method is a 422 on the field.
    let body = |method: Value| {
        json!({
            "customer": customer.parse::<u64>().unwrap(),
            "title": "Through the API",
            "description": "x",
            "preferred_payment_method": method,
        })
    };
    let (status, created) = api.post("/orders", body(json!(1))).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["preferred_payment_method"], 1);
    let off = admin
        .post_form("/payment-methods/2/active", &[("active", "false")])
        .await;
    assert_eq!(off.status(), 303);
    for method in [json!(2), json!(77)] {
        let (status, error) = api.post("/orders", body(method.clone())).await;
        assert_eq!(status, 422, "{method}: {error}");
        assert_eq!(
            error["error"]["field"], "preferred_payment_method",
            "{error}"
        );
    }
    let (_, listed) = api.get("/orders").await;
    let preferred: Vec<Value> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order["preferred_payment_method"].clone())
        .collect();
    assert_eq!(preferred, [json!(1), json!(2)], "newest first");
    // A switched-off method stays named on the order that prefers it.
    let page = admin.get_text(&format!("/orders/{order}")).await;
    assert!(page.contains("switched off"), "{page}");
}
