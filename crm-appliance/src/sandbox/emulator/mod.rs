//! The emulator's state: simulated chats and their messages in both directions, the queue of
//! pending updates with long-poll wake-ups, stored files, open callback queries, webhook
//! settings, and injected faults.
//!
//! Everything sits behind one `std::sync::Mutex`: every operation is a few map lookups and
//! never awaits while holding it, so a blocking mutex is cheaper and simpler than an async one;
//! waiting (long polling, the webhook pusher) happens on a `tokio::sync::Notify` outside the
//! lock. State lives in memory only: the emulator is a stand-in for Telegram, not a record of
//! the business, and update ids continue after the inbox's highest one on every start (see
//! [`Emulator::seed`]) so a restarted emulator is never mistaken for a repeat.
//!
//! This module holds the shared state and the [`Emulator`] itself; each concern adds its
//! methods from its own file:
//!
//! | file | concern |
//! | --- | --- |
//! | `chats.rs` | simulated users and their chats: messages, edits, button presses, blocking, the chat views |
//! | `updates.rs` | the update queue, `getUpdates` long polling, raw update injection, the webhook and its pusher |
//! | `methods.rs` | the Bot API methods the bot calls (sending, editing, answering, commands) and Telegram's error answers |
//! | `files.rs` | stored files: uploads, the `Message` fields of media, downloads |
//! | `faults.rs` | injected faults: armed, taken by the calls they catch, run out |
//! | `forum.rs` | simulated forum supergroups (the staff group): topics, messages with `message_thread_id`, members writing in topics |

mod chats;
mod faults;
mod files;
mod forum;
mod methods;
mod params;
mod stars;
mod updates;
mod web_app;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

pub(crate) use chats::SimUser;
use chats::{Query, SimChat};
pub(crate) use faults::{Fault, Injected};
pub(crate) use files::{SimContent, SimFile, StoredFile};
pub(crate) use params::{BotError, int_param};
use updates::Webhook;

/// The first organization's simulated bot's user id (the number before the colon of its
/// sandbox token); organization N's is N times this.
pub(crate) const BOT_ID: i64 = 1_000_000;
/// The first organization's simulated bot's username; organization N's is
/// `crm_sandbox_N_bot`.
pub(crate) const BOT_USERNAME: &str = "crm_sandbox_bot";

#[derive(Debug, Default)]
struct State {
    next_update_id: u64,
    next_message_id: i64,
    next_file: u64,
    next_query: u64,
    queue: VecDeque<(u64, Value)>,
    chats: BTreeMap<i64, SimChat>,
    files: HashMap<String, StoredFile>,
    paths: HashMap<String, String>,
    file_bytes: usize,
    queries: HashMap<String, Query>,
    query_order: VecDeque<String>,
    faults: Vec<Fault>,
    webhook: Option<Webhook>,
    webhook_generation: u64,
    commands: BTreeMap<String, Value>,
    calls: BTreeMap<String, u64>,
    sends: VecDeque<(i64, i64, String)>,
    /// The highest `offset` a getUpdates call has passed: every update below it is confirmed.
    confirmed_offset: u64,
    /// The message the send in progress quotes (its `reply_parameters`), taken by the first
    /// message the send puts in the chat.
    reply: Option<Value>,
    /// Simulated forum supergroups by chat id (`forum.rs`).
    forums: BTreeMap<i64, forum::SimForum>,
    /// The `message_thread_id` of the Bot API call being answered, if any.
    thread: Option<i64>,
    /// Pre-checkout queries sent (Stars), by id, with the bot's answer once given.
    pre_checkouts: HashMap<String, Option<(bool, Option<String>)>>,
    /// Stars charges issued to simulated users (`stars.rs`).
    charges: Vec<stars::Charge>,
}

/// The Bot API emulator. Shared behind an `Arc` by the HTTP handlers.
pub(crate) struct Emulator {
    /// The simulated bot's user id and username (getMe).
    bot_id: i64,
    bot_username: String,
    token: OnceLock<String>,
    /// The control API's key (see `sandbox::access`).
    key: OnceLock<String>,
    state: Mutex<State>,
    wake: Notify,
    closed: AtomicBool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn now_s() -> i64 {
    now_ms() / 1000
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

impl Emulator {
    /// The first organization's emulator, without a token (every Bot API call answers 401
    /// until [`Emulator::set_token`]).
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::for_org(1)
    }

    /// The emulator of organization `org`'s bot, without a token: bot id `org` times
    /// [`BOT_ID`], username
    /// [`BOT_USERNAME`] for the first organization and `crm_sandbox_<org>_bot` for the
    /// others, so that two organizations' simulated bots are told apart as Telegram's are.
    pub(crate) fn for_org(org: u64) -> Self {
        let org = i64::try_from(org.max(1)).unwrap_or(1);
        Emulator {
            bot_id: BOT_ID.saturating_mul(org),
            bot_username: if org == 1 {
                BOT_USERNAME.to_string()
            } else {
                format!("crm_sandbox_{org}_bot")
            },
            token: OnceLock::new(),
            key: OnceLock::new(),
            state: Mutex::new(State {
                next_update_id: 1,
                next_message_id: 1,
                next_file: 1,
                next_query: 1,
                ..State::default()
            }),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The simulated bot's user id (the number before the colon of its token).
    pub(crate) fn bot_id(&self) -> i64 {
        self.bot_id
    }

    /// The simulated bot's username.
    pub(crate) fn bot_username(&self) -> &str {
        &self.bot_username
    }

    /// Sets the token the bot must use; later calls are ignored.
    pub(crate) fn set_token(&self, token: String) {
        let _ = self.token.set(token);
    }

    /// Whether `given` is the token, compared in constant time.
    pub(crate) fn check_token(&self, given: &str) -> bool {
        match self.token.get() {
            Some(token) => bool::from(token.as_bytes().ct_eq(given.as_bytes())),
            None => false,
        }
    }

    /// Sets the key programs present to the control API; later calls are ignored.
    pub(crate) fn set_key(&self, key: String) {
        let _ = self.key.set(key);
    }

    /// Whether `given` is the control API's key, compared in constant time (false while no
    /// key is set).
    pub(crate) fn check_key(&self, given: &str) -> bool {
        match self.key.get() {
            Some(key) => bool::from(key.as_bytes().ct_eq(given.as_bytes())),
            None => false,
        }
    }

    /// Continues update numbering after `last` (the inbox's highest update id).
    pub(crate) fn seed(&self, last: Option<u64>) {
        let mut state = self.lock();
        if let Some(last) = last {
            state.next_update_id = state.next_update_id.max(last.saturating_add(1));
        }
    }

    /// Wakes every long poll and stops the webhook pusher (shutdown).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Call counts per method, the updates waiting, the highest getUpdates offset (every
    /// update below it is confirmed), the webhook, and the bot's recent sends (chat id,
    /// milliseconds) for checking rate limits.
    pub(crate) fn stats(&self) -> Value {
        let state = self.lock();
        json!({
            "calls": state.calls,
            "pending_updates": state.queue.len(),
            "confirmed_offset": state.confirmed_offset,
            "webhook": state.webhook.as_ref().map(|webhook| webhook.url.clone()),
            "commands": state.commands,
            "sends": state.sends.iter().map(|(chat, at, _)| json!([chat, at])).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::Map;

    use super::*;

    fn alice() -> SimUser {
        SimUser {
            id: 42,
            first_name: "Alice".into(),
            language_code: Some("en".into()),
            ..SimUser::default()
        }
    }

    #[tokio::test]
    async fn updates_are_confirmed_by_the_next_offset() {
        let emulator = Emulator::new();
        emulator.seed(Some(99));
        let (id, _) = emulator
            .user_send(
                alice(),
                SimContent {
                    text: Some("/start".into()),
                    file: None,
                    ..SimContent::default()
                },
            )
            .unwrap();
        assert_eq!(id, 100);
        let first = emulator
            .get_updates(None, 100, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(first[0]["update_id"], 100);
        assert_eq!(first[0]["message"]["entities"][0]["type"], "bot_command");
        let again = emulator
            .get_updates(Some(100), 100, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(again.as_array().unwrap().len(), 1, "not confirmed yet");
        let after = emulator
            .get_updates(Some(101), 100, Duration::ZERO)
            .await
            .unwrap();
        assert!(after.as_array().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_long_poll_wakes_up_when_a_user_writes() {
        let emulator = Arc::new(Emulator::new());
        let poller = emulator.clone();
        let poll =
            tokio::spawn(
                async move { poller.get_updates(None, 100, Duration::from_secs(10)).await },
            );
        tokio::time::sleep(Duration::from_millis(50)).await;
        emulator
            .user_send(
                alice(),
                SimContent {
                    text: Some("hi".into()),
                    file: None,
                    ..SimContent::default()
                },
            )
            .unwrap();
        let updates = tokio::time::timeout(Duration::from_secs(2), poll)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(updates[0]["message"]["text"], "hi");
    }

    #[test]
    fn faults_answer_as_telegram_does_and_run_out() {
        let emulator = Emulator::new();
        emulator
            .add_fault(Fault {
                method: "sendMessage".into(),
                chat_id: None,
                status: 429,
                reset: false,
                retry_after: Some(3),
                description: None,
                times: 1,
            })
            .unwrap();
        let Some(Injected::Answer(error)) = emulator.take_fault("sendMessage", Some(42)) else {
            panic!("a 429 answers");
        };
        assert_eq!(error.body()["parameters"]["retry_after"], 3);
        assert!(emulator.take_fault("sendMessage", Some(42)).is_none());
    }

    #[test]
    fn a_reset_fault_takes_no_status_and_runs_out() {
        let emulator = Emulator::new();
        let reset: Fault =
            serde_json::from_value(json!({"method": "sendMessage", "reset": true, "times": 2}))
                .unwrap();
        emulator.add_fault(reset).unwrap();
        let with_status: Fault =
            serde_json::from_value(json!({"method": "sendMessage", "reset": true, "status": 500}))
                .unwrap();
        assert!(emulator.add_fault(with_status).is_err());
        let neither: Fault = serde_json::from_value(json!({"method": "sendMessage"})).unwrap();
        assert!(emulator.add_fault(neither).is_err());
        assert_eq!(
            serde_json::to_value(emulator.faults()).unwrap()[0]["reset"],
            true
        );
        for _ in 0..2 {
            assert_eq!(
                emulator.take_fault("sendMessage", Some(42)),
                Some(Injected::Reset)
            );
        }
        assert!(emulator.take_fault("sendMessage", Some(42)).is_none());
    }

    #[test]
    fn bot_messages_keep_their_keyboard_and_edits_remove_it() {
        let emulator = Emulator::new();
        emulator
            .user_send(
                alice(),
                SimContent {
                    text: Some("hi".into()),
                    file: None,
                    ..SimContent::default()
                },
            )
            .unwrap();
        let mut params = Map::new();
        params.insert("chat_id".into(), json!(42));
        params.insert("text".into(), json!("Pick"));
        params.insert(
            "reply_markup".into(),
            json!({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}),
        );
        let sent = emulator
            .call("sendMessage", &params, HashMap::new())
            .unwrap();
        let id = sent["message_id"].as_i64().unwrap();
        let mut edit = Map::new();
        edit.insert("chat_id".into(), json!(42));
        edit.insert("message_id".into(), json!(id));
        emulator
            .call("editMessageReplyMarkup", &edit, HashMap::new())
            .unwrap();
        let view = emulator.chat_view(42).unwrap();
        assert!(view["messages"][1].get("reply_markup").is_none());
        let unknown = emulator.call(
            "sendMessage",
            &{
                let mut p = params.clone();
                p.insert("chat_id".into(), json!(-1_001_234_567_890_i64));
                p
            },
            HashMap::new(),
        );
        assert_eq!(unknown.unwrap_err().code, 400);
    }

    #[test]
    fn a_web_app_button_is_shown_and_its_init_data_validates_with_the_bot_s_token() {
        let emulator = Emulator::new();
        let token = "1000000:SANDBOXSANDBOXSANDBOXSANDBOXSANDBOX";
        emulator.set_token(token.into());
        let mut params = Map::new();
        params.insert("chat_id".into(), json!(42));
        params.insert("text".into(), json!("A report"));
        params.insert(
            "reply_markup".into(),
            json!({"inline_keyboard": [[{"text": "Open my project", "web_app": {"url": "http://127.0.0.1:8080/app"}}]]}),
        );
        emulator
            .call("sendMessage", &params, HashMap::new())
            .unwrap();
        let view = emulator.chat_view(42).unwrap();
        assert_eq!(
            view["messages"][0]["reply_markup"]["inline_keyboard"][0][0]["web_app"]["url"],
            "http://127.0.0.1:8080/app"
        );
        params.insert(
            "reply_markup".into(),
            json!({"inline_keyboard": [[{"text": "Open", "web_app": {"url": "javascript:alert(1)"}}]]}),
        );
        let refused = emulator.call("sendMessage", &params, HashMap::new());
        assert_eq!(refused.unwrap_err().code, 400);

        let signed = emulator
            .web_app_init_data(42, Some("ru".into()), None)
            .unwrap();
        let init = crm_lib::mini_app::validate_init_data(
            &signed,
            &crm_lib::mini_app::WebAppKey::of_token(token),
            crm_lib::model::Timestamp::now(),
            60,
        )
        .unwrap();
        let user = init.user().unwrap();
        assert_eq!(user.id.get(), 42);
        assert_eq!(user.language_code.as_deref(), Some("ru"));
        assert!(
            crm_lib::mini_app::validate_init_data(
                &signed,
                &crm_lib::mini_app::WebAppKey::of_token("1000000:another"),
                crm_lib::model::Timestamp::now(),
                60,
            )
            .is_err()
        );
    }
}
