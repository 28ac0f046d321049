//! Bad and unusual input to the bot, from the real-shaped fixtures in `fixtures/telegram/`:
//! each gets a sensible answer or is ignored, nothing panics, nothing wrong is written, and
//! the bot keeps answering afterwards.

use std::time::Duration;

use serde_json::Value;

use crate::bot_support::{Sandbox, User, fixture, start_customer, text};
use crate::support::spawn_app;

/// Tom, the user of most fixtures.
fn tom() -> User {
    User::new(734_001_122, "Tom", "en-GB")
}

/// Injects a fixture and waits for the bot's next message to Tom.
async fn answer_to(sandbox: &Sandbox, name: &str) -> Value {
    let before = sandbox.bot_messages(tom().id).await.len();
    sandbox.inject(&fixture(name), 1, false).await;
    sandbox.nth_bot_message(tom().id, before + 1).await
}

#[tokio::test]
async fn unusual_messages_get_a_sensible_answer() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let tom = tom();
    start_customer(&sandbox, &tom, "en").await;

    let unknown = answer_to(&sandbox, "message-unknown-command.json").await;
    assert!(
        text(&unknown).contains("I don't know the command /discount"),
        "{unknown:#}"
    );
    // 4096 characters reach the team (Telegram's own limit).
    let long = answer_to(&sandbox, "message-text-4096.json").await;
    assert!(text(&long).contains("Sent to the team"), "{long:#}");
    // A sticker (its thumbnail is gone: its emoji arrives) and a location reach the team
    // too (issue 12), unanswered in the conversation that is going on.
    sandbox
        .inject(&fixture("message-sticker.json"), 1, false)
        .await;
    sandbox
        .inject(&fixture("message-location.json"), 1, false)
        .await;
    // A file Telegram no longer has: the customer is asked to send it again.
    let document = answer_to(&sandbox, "message-document.json").await;
    assert!(
        text(&document).contains("could not receive that file"),
        "{document:#}"
    );
    assert!(
        sandbox
            .bot_messages(tom.id)
            .await
            .iter()
            .all(|message| !text(message).contains("not supported")),
        "stickers and locations are supported now"
    );
    // The deep link payload is not a link code: the main menu.
    let deep = answer_to(&sandbox, "message-start-deep-link.json").await;
    assert!(
        text(&deep).contains("What would you like to do?"),
        "{deep:#}"
    );
}

#[tokio::test]
async fn forged_and_old_buttons_are_answered_politely_and_change_nothing() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let tom = tom();
    let menu = start_customer(&sandbox, &tom, "en").await;
    let menu_id = menu["message_id"].as_i64().unwrap();
    // Pressed through the emulator, so the answers can be read back.
    for (message_id, data, expected) in [
        (
            menu_id,
            "admin:delete:all",
            "This button is no longer active.",
        ),
        (menu_id, "w:99:b:s", "This button is no longer active."),
        (menu_id, "o:x:42", "This order no longer exists."),
        (
            9_999,
            "mod:a:1",
            "This Telegram account is not linked to a staff user.",
        ),
    ] {
        let query = sandbox.press(&tom, message_id, data).await;
        let answer = sandbox.answer_of(tom.id, &query).await;
        assert_eq!(answer["text"], expected, "{data}");
    }
    // The same presses as Telegram sends them (fixtures): answered, nothing else sent.
    let before = sandbox.bot_messages(tom.id).await.len();
    for name in [
        "callback-query-forged.json",
        "callback-query-old-message.json",
    ] {
        sandbox.inject(&fixture(name), 1, false).await;
    }
    sandbox.drained().await;
    let help = sandbox.say(&tom, "/help").await;
    assert!(
        text(&help).contains("/neworder"),
        "the bot still answers: {help:#}"
    );
    assert_eq!(sandbox.bot_messages(tom.id).await.len(), before + 1);
    let calls = sandbox.stats().await["calls"]["answerCallbackQuery"]
        .as_u64()
        .unwrap();
    assert!(calls >= 6, "every press was answered: {calls}");
}

#[tokio::test]
async fn updates_from_groups_channels_edits_and_other_bots_are_ignored() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let tom = tom();
    start_customer(&sandbox, &tom, "en").await;
    let before = sandbox.bot_messages(tom.id).await.len();
    let sends_before = sandbox.stats().await["sends"].as_array().unwrap().len();
    for name in [
        "edited-message.json",
        "group-start-command.json",
        "group-added.json",
        "channel-post.json",
        "inline-query.json",
        "message-from-bot.json",
        "unknown-update-kind.json",
    ] {
        sandbox.inject(&fixture(name), 1, false).await;
    }
    sandbox.drained().await;
    let help = sandbox.say(&tom, "/help").await;
    assert!(text(&help).contains("/neworder"), "{help:#}");
    assert_eq!(sandbox.bot_messages(tom.id).await.len(), before + 1);
    let sends = sandbox.stats().await["sends"].as_array().unwrap().len();
    assert_eq!(sends, sends_before + 1, "only the help was sent");
}

#[tokio::test]
async fn a_repeated_update_id_is_processed_once() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let tom = tom();
    start_customer(&sandbox, &tom, "en").await;
    let before = sandbox.bot_messages(tom.id).await.len();
    let mut update = fixture("message-unknown-command.json");
    update["message"]["text"] = Value::from("/help");
    update["message"]["entities"][0]["length"] = Value::from(5);
    let ids = sandbox.inject(&update, 2, false).await;
    assert_eq!(ids[0], ids[1], "the same update twice");
    sandbox.drained().await;
    sandbox.nth_bot_message(tom.id, before + 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sandbox.bot_messages(tom.id).await.len(), before + 1);
}

#[tokio::test]
async fn first_contact_in_russian_without_a_username_and_with_emoji_is_understood() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let petr = 6_100_200_300;
    sandbox
        .inject(&fixture("message-text-ru-no-username.json"), 1, false)
        .await;
    let greeting = sandbox.nth_bot_message(petr, 1).await;
    assert!(
        text(&greeting).contains("Здравствуйте, Пётр"),
        "{greeting:#}"
    );
    let olga = 5_312_345_678;
    sandbox
        .inject(&fixture("message-emoji-entities.json"), 1, false)
        .await;
    let greeting = sandbox.nth_bot_message(olga, 1).await;
    assert!(text(&greeting).contains("Ольга"), "{greeting:#}");
}

#[tokio::test]
async fn a_blocked_bot_is_noticed_from_my_chat_member() {
    let app = spawn_app();
    let sandbox = Sandbox::of(&app);
    let tom = tom();
    start_customer(&sandbox, &tom, "en").await;
    sandbox
        .inject(&fixture("my-chat-member-kicked.json"), 1, false)
        .await;
    sandbox.drained().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Writing again unblocks: the bot answers as usual.
    let help = sandbox.say(&tom, "/help").await;
    assert!(text(&help).contains("/neworder"), "{help:#}");
}
