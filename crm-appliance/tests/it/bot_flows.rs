//! The customer's side of the bot, through the sandbox emulator with the real appliance:
//! first contact and language, the new-order form with its checks, the open-order limit, My
//! orders, and a restart in the middle of the form.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bot_support::{
    PATIENCE, Sandbox, User, button, buttons, order_number, place_order, skip_choices,
    start_customer, text,
};
use crate::support::spawn_app;

/// Waits until bot message `message_id` was edited to contain `needle`.
async fn wait_edit(sandbox: &Sandbox, user: &User, message_id: i64, needle: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let messages = sandbox.bot_messages(user.id).await;
        if let Some(message) = messages
            .iter()
            .find(|message| message["message_id"] == message_id)
            && text(message).contains(needle)
        {
            return message.clone();
        }
        assert!(
            Instant::now() < deadline,
            "message {message_id} never showed {needle:?}: {messages:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_new_customer_picks_a_language_and_places_an_order_through_the_form() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let alice = User::new(5_100_000_001, "Alice", "en");
    let greeting = sandbox.say(&alice, "/start").await;
    assert!(text(&greeting).contains("Hello, Alice"), "{greeting:#}");
    assert_eq!(buttons(&greeting), ["lang:en", "lang:ru"]);
    let menu = sandbox.tap(&alice, &greeting, "lang:en").await;
    assert!(text(&menu).starts_with("Language: English."), "{menu:#}");
    let order = place_order(
        &sandbox,
        &alice,
        &menu,
        "Telegram bot for a bakery",
        Some("1500"),
    )
    .await;
    assert_eq!(order, 1);
    let list = sandbox.say(&alice, "/orders").await;
    assert!(
        text(&list).contains("#1 Telegram bot for a bakery — Pending moderation"),
        "{list:#}"
    );
    assert_eq!(buttons(&list), ["o:v:1"]);
}

#[tokio::test]
async fn a_russian_customer_is_answered_in_russian_and_can_switch_with_language() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let olga = User::new(5_100_000_002, "Ольга", "ru");
    let greeting = sandbox.say(&olga, "/start").await;
    assert!(
        text(&greeting).contains("Здравствуйте, Ольга"),
        "{greeting:#}"
    );
    let menu = sandbox.tap(&olga, &greeting, "lang:ru").await;
    assert!(text(&menu).contains("Что вы хотите сделать?"), "{menu:#}");
    let form = sandbox.tap(&olga, &menu, "m:new").await;
    assert!(text(&form).contains("Новый заказ, шаг 1 из 8"), "{form:#}");
    let picker = sandbox.say(&olga, "/language").await;
    assert_eq!(buttons(&picker), ["lang:en", "lang:ru"]);
    let english = sandbox.tap(&olga, &picker, "lang:en").await;
    assert!(
        text(&english).starts_with("Language: English."),
        "{english:#}"
    );
    let help = sandbox.say(&olga, "/help").await;
    assert!(text(&help).contains("/neworder"), "{help:#}");
    assert!(text(&help).contains("place a new order"), "{help:#}");
}

#[tokio::test]
async fn every_step_of_the_form_checks_its_value_and_explains() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let bob = User::new(5_100_000_003, "Bob", "en");
    let menu = start_customer(&sandbox, &bob, "en").await;
    sandbox.tap(&bob, &menu, "m:new").await;
    let long_title = "x".repeat(201);
    let again = sandbox.say(&bob, &long_title).await;
    assert!(
        text(&again).contains("The title must be 1 to 200"),
        "{again:#}"
    );
    assert!(text(&again).contains("step 1 of 8"), "{again:#}");
    // A file where text is wanted is refused without being fetched.
    let refused = {
        let before = sandbox.bot_messages(bob.id).await.len();
        sandbox
            .send_file(
                &bob,
                "voice",
                "voice.ogg",
                "audio/ogg",
                b"OggS fake voice".to_vec(),
                "",
            )
            .await;
        sandbox.nth_bot_message(bob.id, before + 1).await
    };
    assert!(
        text(&refused).contains("Please send this step as text"),
        "{refused:#}"
    );
    sandbox.say(&bob, "Landing page").await;
    let budget = sandbox.say(&bob, "A page for the spring sale").await;
    assert!(text(&budget).contains("Step 3 of 8"), "{budget:#}");
    for bad in ["abc", "0", "-5", "12.345"] {
        let explained = sandbox.say(&bob, bad).await;
        assert!(
            text(&explained).contains("could not read that budget"),
            "{bad}: {explained:#}"
        );
        assert!(
            button(&explained, "w:").ends_with(":b:s"),
            "Skip stays offered"
        );
    }
    let deadline = sandbox.say(&bob, "1 500,50").await;
    assert!(text(&deadline).contains("Step 4 of 8"), "{deadline:#}");
    for bad in ["2020-01-01", "31.12.2030", "tomorrow"] {
        let explained = sandbox.say(&bob, bad).await;
        assert!(
            text(&explained).contains("YYYY-MM-DD"),
            "{bad}: {explained:#}"
        );
        assert!(
            text(&explained).contains("Step 4 of 8"),
            "{bad}: {explained:#}"
        );
    }
    let files = sandbox.say(&bob, "2035-06-30").await;
    assert!(text(&files).contains("Step 5 of 8"), "{files:#}");
    let nudge = sandbox.say(&bob, "here you go").await;
    assert!(
        text(&nudge).contains("send a photo or a document"),
        "{nudge:#}"
    );
    let received = {
        let before = sandbox.bot_messages(bob.id).await.len();
        sandbox
            .send_file(
                &bob,
                "photo",
                "shop.jpg",
                "image/jpeg",
                b"\xff\xd8\xff\xe0 fake jpeg".to_vec(),
                "",
            )
            .await;
        sandbox.nth_bot_message(bob.id, before + 1).await
    };
    assert!(
        text(&received).contains("Received (1 of 10)"),
        "{received:#}"
    );
    let markers = sandbox.tap(&bob, &received, &button(&received, "w:")).await;
    assert!(text(&markers).contains("Step 6 of 8"), "{markers:#}");
    let summary = skip_choices(&sandbox, &bob, markers).await;
    assert!(text(&summary).contains("Step 8 of 8"), "{summary:#}");
    assert!(
        text(&summary).contains("Budget: 1,500.50\u{a0}USD"),
        "{summary:#}"
    );
    assert!(
        text(&summary).contains("Deadline: 2035-06-30"),
        "{summary:#}"
    );
    assert!(text(&summary).contains("Files: 1"), "{summary:#}");
    let confirm = buttons(&summary)
        .into_iter()
        .find(|data| data.ends_with(":y"))
        .unwrap();
    let stray = sandbox.say(&bob, "is it done?").await;
    assert!(text(&stray).contains("Confirm or Cancel"), "{stray:#}");
    let created = sandbox.tap(&bob, &summary, &confirm).await;
    assert_eq!(order_number(text(&created)), 1, "{created:#}");
    // The pressed summary lost its buttons; pressing the old Confirm again creates nothing.
    let query = sandbox
        .press(&bob, summary["message_id"].as_i64().unwrap(), &confirm)
        .await;
    let answer = sandbox.answer_of(bob.id, &query).await;
    assert_eq!(answer["text"], "This button is no longer active.");
    let list = sandbox.say(&bob, "/orders").await;
    assert_eq!(buttons(&list), ["o:v:1"], "one order only: {list:#}");
}

#[tokio::test]
async fn the_open_order_limit_is_explained_before_the_form_starts() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let carol = User::new(5_100_000_004, "Carol", "en");
    let menu = start_customer(&sandbox, &carol, "en").await;
    let first = place_order(&sandbox, &carol, &menu, "First", None).await;
    let second = place_order(&sandbox, &carol, &menu, "Second", None).await;
    assert_eq!((first, second), (1, 2));
    let limit = sandbox.tap(&carol, &menu, "m:new").await;
    assert!(
        text(&limit).contains("You already have 2 open orders"),
        "{limit:#}"
    );
    let by_command = sandbox.say(&carol, "/neworder").await;
    assert!(text(&by_command).contains("You already have 2 open orders"));
}

#[tokio::test]
async fn a_customer_sees_the_details_of_an_order_and_deletes_it_while_pending() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let dan = User::new(5_100_000_005, "Dan", "en");
    let menu = start_customer(&sandbox, &dan, "en").await;
    place_order(&sandbox, &dan, &menu, "Logo redesign", Some("300")).await;
    let list = sandbox.tap(&dan, &menu, "m:orders").await;
    let id = list["message_id"].as_i64().unwrap();
    sandbox.press(&dan, id, "o:v:1").await;
    let details = wait_edit(&sandbox, &dan, id, "Order #1: Logo redesign").await;
    assert!(
        text(&details).contains("Stage: Pending moderation"),
        "{details:#}"
    );
    assert!(
        text(&details).contains("Budget: 300.00\u{a0}USD"),
        "{details:#}"
    );
    assert!(
        buttons(&details).contains(&"o:d:1".to_string()),
        "{details:#}"
    );
    sandbox.press(&dan, id, "o:d:1").await;
    let ask = wait_edit(&sandbox, &dan, id, "Delete order #1").await;
    assert_eq!(buttons(&ask), ["o:x:1", "o:v:1"]);
    sandbox.press(&dan, id, "o:x:1").await;
    wait_edit(&sandbox, &dan, id, "Order #1 is deleted").await;
    let empty = sandbox.say(&dan, "/orders").await;
    assert!(text(&empty).contains("You have no orders yet"), "{empty:#}");
    // Another customer's (or a deleted) order cannot be opened by a forged press.
    let query = sandbox.press(&dan, id, "o:x:1").await;
    let answer = sandbox.answer_of(dan.id, &query).await;
    assert_eq!(answer["text"], "This order no longer exists.");
}

#[tokio::test]
async fn a_restart_in_the_middle_of_the_form_continues_where_it_was() {
    let mut app = spawn_app();
    let erin = User::new(5_100_000_006, "Erin", "en");
    {
        let sandbox = Sandbox::of(&app);
        let menu = start_customer(&sandbox, &erin, "en").await;
        sandbox.tap(&erin, &menu, "m:new").await;
        sandbox.say(&erin, "Mobile app").await;
        let budget = sandbox.say(&erin, "An app for regulars").await;
        assert!(text(&budget).contains("Step 3 of 8"), "{budget:#}");
    }
    assert!(app.terminate(), "a clean stop");
    let app = app.restart();
    let sandbox = Sandbox::of(&app);
    let deadline = sandbox.say(&erin, "2500").await;
    assert!(text(&deadline).contains("Step 4 of 8"), "{deadline:#}");
    let files = sandbox
        .tap(&erin, &deadline, &button(&deadline, "w:"))
        .await;
    let markers = sandbox.tap(&erin, &files, &button(&files, "w:")).await;
    let summary = skip_choices(&sandbox, &erin, markers).await;
    assert!(text(&summary).contains("Title: Mobile app"), "{summary:#}");
    assert!(
        text(&summary).contains("Budget: 2,500.00\u{a0}USD"),
        "{summary:#}"
    );
}
