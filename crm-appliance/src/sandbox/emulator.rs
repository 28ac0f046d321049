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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

/// The simulated bot's user id (the number before the colon of the sandbox token).
pub(crate) const BOT_ID: i64 = 1_000_000;
/// The simulated bot's username.
pub(crate) const BOT_USERNAME: &str = "crm_sandbox_bot";
/// Messages kept per chat; older ones are dropped.
const CHAT_HISTORY: usize = 2_000;
/// Updates waiting for the bot; past this the oldest are dropped (Telegram keeps 24 hours).
const QUEUE_MAX: usize = 100_000;
/// Bytes of files the emulator keeps in memory.
const FILES_MAX_BYTES: usize = 256 * 1024 * 1024;
/// The largest file one upload may carry (Telegram's bot upload limit for photos is 10 MB;
/// documents go up to 50 MB; the appliance stores at most 20 MiB).
pub(crate) const FILE_MAX_BYTES: usize = crm_lib::MEDIA_MAX_SIZE;
/// Bot sends remembered for `/sandbox/stats`.
const SENDS_KEPT: usize = 10_000;

/// A Bot API error answer: the HTTP status equals `error_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BotError {
    pub(crate) code: u16,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u64>,
}

impl BotError {
    pub(crate) fn bad_request(what: impl std::fmt::Display) -> Self {
        BotError {
            code: 400,
            description: format!("Bad Request: {what}"),
            retry_after: None,
        }
    }

    fn forbidden_blocked() -> Self {
        BotError {
            code: 403,
            description: "Forbidden: bot was blocked by the user".into(),
            retry_after: None,
        }
    }

    pub(crate) fn not_found() -> Self {
        BotError {
            code: 404,
            description: "Not Found".into(),
            retry_after: None,
        }
    }

    pub(crate) fn unauthorized() -> Self {
        BotError {
            code: 401,
            description: "Unauthorized".into(),
            retry_after: None,
        }
    }

    /// The answer body, as Telegram writes it.
    pub(crate) fn body(&self) -> Value {
        let mut body = json!({
            "ok": false,
            "error_code": self.code,
            "description": self.description,
        });
        if let Some(retry_after) = self.retry_after {
            body["parameters"] = json!({ "retry_after": retry_after });
        }
        body
    }
}

/// A fault to inject: the next `times` calls of `method` (`*` for any method but getUpdates;
/// optionally only those to `chat_id`) answer `status` instead of working, or, with `reset`,
/// get no answer at all: the connection is dropped before the method runs (see
/// [`Injected::Reset`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fault {
    pub(crate) method: String,
    #[serde(default)]
    pub(crate) chat_id: Option<i64>,
    /// The error status; none (0) for a reset.
    #[serde(default)]
    pub(crate) status: u16,
    /// Drop the connection instead of answering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) reset: bool,
    #[serde(default)]
    pub(crate) retry_after: Option<u64>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default = "one")]
    pub(crate) times: u32,
}

fn one() -> u32 {
    1
}

/// What an armed fault does to the call it catches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Injected {
    /// An error answer in Telegram's envelope.
    Answer(BotError),
    /// No answer: the connection breaks before the method has run, so nothing happened (the
    /// one kind of broken connection after which a retry cannot duplicate anything).
    Reset,
}

impl Fault {
    fn error(&self) -> BotError {
        let description = self
            .description
            .clone()
            .unwrap_or_else(|| match self.status {
                429 => format!(
                    "Too Many Requests: retry after {}",
                    self.retry_after.unwrap_or(1)
                ),
                403 => "Forbidden: bot was blocked by the user".into(),
                400 => "Bad Request: injected fault".into(),
                500 => "Internal Server Error".into(),
                502 => "Bad Gateway".into(),
                503 => "Service Unavailable".into(),
                504 => "Gateway Timeout".into(),
                status => format!("Error {status}"),
            });
        BotError {
            code: self.status,
            description,
            retry_after: if self.status == 429 {
                Some(self.retry_after.unwrap_or(1))
            } else {
                None
            },
        }
    }
}

/// A simulated Telegram user (the `from` of their messages).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) struct SimUser {
    pub(crate) id: i64,
    pub(crate) first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) language_code: Option<String>,
}

impl SimUser {
    fn user_json(&self) -> Value {
        let mut user = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        if let Some(last) = &self.last_name {
            user["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        if let Some(code) = &self.language_code {
            user["language_code"] = json!(code);
        }
        user
    }

    fn chat_json(&self) -> Value {
        let mut chat = json!({"id": self.id, "first_name": self.first_name, "type": "private"});
        if let Some(last) = &self.last_name {
            chat["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            chat["username"] = json!(username);
        }
        chat
    }
}

/// A file a simulated user sends.
#[derive(Debug, Clone)]
pub(crate) struct SimFile {
    /// `photo`, `document`, `voice` or `video`.
    pub(crate) kind: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) file_name: Option<String>,
    pub(crate) mime: String,
}

/// What a simulated user sends: text, or a file with an optional caption.
#[derive(Debug, Clone, Default)]
pub(crate) struct SimContent {
    pub(crate) text: Option<String>,
    pub(crate) file: Option<SimFile>,
}

/// A file as the emulator keeps it.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub(crate) bytes: Arc<Vec<u8>>,
    pub(crate) mime: String,
    pub(crate) file_name: Option<String>,
    pub(crate) file_path: String,
    pub(crate) file_unique_id: String,
}

#[derive(Debug, Clone)]
struct Entry {
    message_id: i64,
    /// The Telegram `Message` object as last sent or returned, as compact JSON text: a
    /// `Value` takes about five times the memory, and a chat history is read far less often
    /// than it is written.
    json: Box<str>,
    from_bot: bool,
    sent_at_ms: i64,
    edited: bool,
}

impl Entry {
    fn new(message: &Value, from_bot: bool, sent_at_ms: i64) -> Entry {
        Entry {
            message_id: message
                .get("message_id")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            json: message.to_string().into_boxed_str(),
            from_bot,
            sent_at_ms,
            edited: false,
        }
    }

    /// The message as a `Value` (the text was written from one, so it parses).
    fn message(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// Stores an edited version of the message.
    fn replace(&mut self, message: &Value) {
        self.json = message.to_string().into_boxed_str();
        self.edited = true;
    }
}

#[derive(Debug, Clone)]
struct SimChat {
    user: SimUser,
    blocked: bool,
    messages: VecDeque<Entry>,
}

impl SimChat {
    /// Adds a message, dropping the oldest beyond [`CHAT_HISTORY`].
    fn remember(&mut self, entry: Entry) {
        self.messages.push_back(entry);
        while self.messages.len() > CHAT_HISTORY {
            self.messages.pop_front();
        }
    }
}

#[derive(Debug, Clone)]
struct Query {
    chat: i64,
    message_id: i64,
    data: String,
    answer: Option<(Option<String>, bool)>,
}

#[derive(Debug, Clone, Default)]
struct Webhook {
    url: String,
    secret: Option<String>,
}

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
}

/// The Bot API emulator. Shared behind an `Arc` by the HTTP handlers.
pub(crate) struct Emulator {
    token: OnceLock<String>,
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

/// Reads an integer parameter given as a number or a numeric string.
pub(crate) fn int_param(params: &Map<String, Value>, name: &str) -> Option<i64> {
    match params.get(name)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn str_param<'a>(params: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

fn bool_param(params: &Map<String, Value>, name: &str) -> bool {
    match params.get(name) {
        Some(Value::Bool(value)) => *value,
        Some(Value::String(text)) => text == "true" || text == "1",
        _ => false,
    }
}

/// Reads a JSON parameter given as JSON or as a JSON-encoded string (form and multipart).
fn json_param(params: &Map<String, Value>, name: &str) -> Result<Option<Value>, BotError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => serde_json::from_str(text)
            .map(Some)
            .map_err(|_| BotError::bad_request(format!("can't parse {name} JSON object"))),
        Some(other) => Ok(Some(other.clone())),
    }
}

/// Checks an inline keyboard the way Telegram does (the parts the bot uses); an empty
/// keyboard counts as none.
fn reply_markup(params: &Map<String, Value>) -> Result<Option<Value>, BotError> {
    let Some(markup) = json_param(params, "reply_markup")? else {
        return Ok(None);
    };
    let Some(rows) = markup.get("inline_keyboard") else {
        // Reply keyboards and keyboard removal are accepted and not shown.
        return Ok(None);
    };
    let rows = rows
        .as_array()
        .ok_or_else(|| BotError::bad_request("field \"inline_keyboard\" must be an Array"))?;
    for row in rows {
        let buttons = row
            .as_array()
            .ok_or_else(|| BotError::bad_request("can't parse inline keyboard row"))?;
        for button in buttons {
            let text = button.get("text").and_then(Value::as_str).unwrap_or("");
            if text.trim().is_empty() {
                return Err(BotError::bad_request(
                    "inline keyboard button text is empty",
                ));
            }
            if let Some(data) = button.get("callback_data") {
                let data = data.as_str().unwrap_or("");
                if data.is_empty() || data.len() > 64 {
                    return Err(BotError::bad_request("BUTTON_DATA_INVALID"));
                }
            } else if button.get("url").is_none() {
                return Err(BotError::bad_request(
                    "can't parse inline keyboard button: a button needs callback_data or url",
                ));
            }
        }
    }
    if rows
        .iter()
        .all(|row| row.as_array().is_some_and(Vec::is_empty))
    {
        return Ok(None);
    }
    Ok(Some(markup))
}

fn media_kind_of(message: &Value) -> Option<&'static str> {
    [
        "photo",
        "document",
        "voice",
        "video",
        "audio",
        "video_note",
        "sticker",
    ]
    .into_iter()
    .find(|kind| message.get(*kind).is_some())
}

/// The file id a media message shows (the largest photo size).
fn media_file_id(message: &Value, kind: &str) -> Option<String> {
    let media = message.get(kind)?;
    let media = match media.as_array() {
        Some(sizes) => sizes.last()?,
        None => media,
    };
    media.get("file_id")?.as_str().map(str::to_string)
}

impl Emulator {
    /// An emulator without a token (every Bot API call answers 401 until [`Emulator::set_token`]).
    pub(crate) fn new() -> Self {
        Emulator {
            token: OnceLock::new(),
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

    // ----- faults -----

    /// Adds a fault.
    pub(crate) fn add_fault(&self, fault: Fault) -> Result<(), String> {
        if fault.reset {
            if fault.status != 0 || fault.retry_after.is_some() || fault.description.is_some() {
                return Err("a reset fault drops the connection: it takes no status, retry_after or description".into());
            }
        } else if !(400..=599).contains(&fault.status) {
            return Err(format!(
                "status {} is not an error status (400-599)",
                fault.status
            ));
        }
        if fault.method.is_empty() || fault.times == 0 {
            return Err("method must be a Bot API method or *, times at least 1".into());
        }
        self.lock().faults.push(fault);
        Ok(())
    }

    /// The faults still armed.
    pub(crate) fn faults(&self) -> Vec<Fault> {
        self.lock().faults.clone()
    }

    /// Disarms every fault.
    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Takes one use of the first fault matching this call, if any.
    pub(crate) fn take_fault(&self, method: &str, chat_id: Option<i64>) -> Option<Injected> {
        let mut state = self.lock();
        let index = state.faults.iter().position(|fault| {
            let method_matches = fault.method == method
                || (fault.method == "*" && method != "getUpdates" && method != "getMe");
            method_matches && fault.chat_id.is_none_or(|chat| Some(chat) == chat_id)
        })?;
        let fault = &mut state.faults[index];
        let injected = if fault.reset {
            Injected::Reset
        } else {
            Injected::Answer(fault.error())
        };
        fault.times -= 1;
        if fault.times == 0 {
            state.faults.remove(index);
        }
        *state.calls.entry(format!("{method} (fault)")).or_default() += 1;
        Some(injected)
    }

    // ----- updates -----

    /// Queues an update of `kind` from a simulated user, then releases the lock and wakes the
    /// long polls and the webhook pusher. Returns its `update_id`.
    fn deliver(&self, mut state: MutexGuard<'_, State>, kind: &str, body: Value) -> u64 {
        let update_id = Self::push_update(&mut state, kind, body);
        drop(state);
        self.wake.notify_waiters();
        update_id
    }

    fn push_update(state: &mut State, kind: &str, body: Value) -> u64 {
        let id = state.next_update_id;
        state.next_update_id += 1;
        let mut update = Map::new();
        update.insert("update_id".into(), json!(id));
        update.insert(kind.into(), body);
        state.queue.push_back((id, Value::Object(update)));
        while state.queue.len() > QUEUE_MAX {
            state.queue.pop_front();
        }
        id
    }

    /// `getUpdates`: confirms updates below `offset`, then returns up to `limit` pending ones,
    /// waiting up to `timeout` for the first (long polling).
    pub(crate) async fn get_updates(
        &self,
        offset: Option<i64>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Value, BotError> {
        let deadline = tokio::time::Instant::now() + timeout.min(Duration::from_secs(50));
        let limit = limit.clamp(1, 100);
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                *state.calls.entry("getUpdates".into()).or_default() += 1;
                if state.webhook.is_some() {
                    return Err(BotError {
                        code: 409,
                        description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first".into(),
                        retry_after: None,
                    });
                }
                match offset {
                    Some(offset) if offset < 0 => {
                        let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
                        while state.queue.len() > keep {
                            state.queue.pop_front();
                        }
                    }
                    Some(offset) => {
                        let offset = u64::try_from(offset).unwrap_or(0);
                        state.confirmed_offset = state.confirmed_offset.max(offset);
                        while state.queue.front().is_some_and(|(id, _)| *id < offset) {
                            state.queue.pop_front();
                        }
                    }
                    None => {}
                }
                let batch: Vec<Value> = state
                    .queue
                    .iter()
                    .take(limit)
                    .map(|(_, update)| update.clone())
                    .collect();
                if !batch.is_empty() || self.is_closed() {
                    return Ok(Value::Array(batch));
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Value::Array(Vec::new()));
            }
        }
    }

    /// The generation of the webhook currently set, if one is.
    pub(crate) fn active_webhook(&self) -> Option<u64> {
        let state = self.lock();
        state.webhook.as_ref().map(|_| state.webhook_generation)
    }

    /// The webhook to push to, and the next update, for the pusher.
    fn webhook_next(&self, generation: u64) -> Option<(Webhook, Option<(u64, Value)>)> {
        let state = self.lock();
        if state.webhook_generation != generation || self.is_closed() {
            return None;
        }
        let webhook = state.webhook.clone()?;
        Some((webhook, state.queue.front().cloned()))
    }

    fn webhook_delivered(&self, update_id: u64) {
        let mut state = self.lock();
        if state.queue.front().is_some_and(|(id, _)| *id == update_id) {
            state.queue.pop_front();
        }
        state.confirmed_offset = state.confirmed_offset.max(update_id.saturating_add(1));
    }

    /// Pushes pending updates to the webhook set with generation `generation`, one at a time
    /// as Telegram does, with the secret header; a non-2xx answer is retried after a pause.
    /// Ends when the webhook changes or the emulator closes.
    pub(crate) async fn push_webhook(self: Arc<Self>, generation: u64) {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
        {
            Ok(client) => client,
            Err(_) => return,
        };
        let mut pause = Duration::from_millis(200);
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some((webhook, next)) = self.webhook_next(generation) else {
                return;
            };
            let Some((update_id, update)) = next else {
                let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
                continue;
            };
            let mut request = client.post(&webhook.url).json(&update);
            if let Some(secret) = &webhook.secret {
                request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    self.webhook_delivered(update_id);
                    pause = Duration::from_millis(200);
                }
                _ => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    // ----- the Bot API methods other than getUpdates -----

    /// `getMe`'s user.
    pub(crate) fn bot_user() -> Value {
        json!({"id": BOT_ID, "is_bot": true, "first_name": "CRM Sandbox Bot", "username": BOT_USERNAME})
    }

    fn bot_message(&self, state: &mut State, chat: i64, mut body: Map<String, Value>) -> Value {
        let message_id = state.next_message_id;
        state.next_message_id += 1;
        let chat_json = state
            .chats
            .get(&chat)
            .map(|sim| sim.user.chat_json())
            .unwrap_or_else(|| json!({"id": chat, "type": "private", "first_name": "?"}));
        body.insert("message_id".into(), json!(message_id));
        body.insert("from".into(), Self::bot_user());
        body.insert("chat".into(), chat_json);
        body.insert("date".into(), json!(now_s()));
        let message = Value::Object(body);
        let sent_at_ms = now_ms();
        if let Some(sim) = state.chats.get_mut(&chat) {
            sim.remember(Entry::new(&message, true, sent_at_ms));
        }
        state.sends.push_back((chat, sent_at_ms, "send".into()));
        while state.sends.len() > SENDS_KEPT {
            state.sends.pop_front();
        }
        message
    }

    /// The chat a send goes to. A private chat the emulator has not seen (after a restart
    /// the emulator starts empty while the appliance still knows its customers) is created
    /// with a placeholder name, as Telegram would deliver to a user who started the bot long
    /// ago; an unknown group is "chat not found".
    fn target_chat(state: &mut State, params: &Map<String, Value>) -> Result<i64, BotError> {
        let chat = int_param(params, "chat_id")
            .ok_or_else(|| BotError::bad_request("chat_id is empty"))?;
        if chat > 0 && chat < (1 << 52) && !state.chats.contains_key(&chat) {
            state.chats.insert(
                chat,
                SimChat {
                    user: SimUser {
                        id: chat,
                        first_name: format!("User {chat}"),
                        ..SimUser::default()
                    },
                    blocked: false,
                    messages: VecDeque::new(),
                },
            );
        }
        match state.chats.get(&chat) {
            None => Err(BotError::bad_request("chat not found")),
            Some(sim) if sim.blocked => Err(BotError::forbidden_blocked()),
            Some(_) => Ok(chat),
        }
    }

    fn store_file(
        state: &mut State,
        kind: &str,
        bytes: Arc<Vec<u8>>,
        mime: &str,
        file_name: Option<String>,
    ) -> Result<(String, StoredFile), BotError> {
        if bytes.is_empty() {
            return Err(BotError::bad_request("file must be non-empty"));
        }
        if bytes.len() > FILE_MAX_BYTES || state.file_bytes + bytes.len() > FILES_MAX_BYTES {
            return Err(BotError {
                code: 413,
                description: "Request Entity Too Large".into(),
                retry_after: None,
            });
        }
        let n = state.next_file;
        state.next_file += 1;
        let (prefix, folder, extension) = match kind {
            "photo" => ("AgACAgIAAxkBAAI", "photos", "jpg"),
            "voice" => ("AwACAgIAAxkBAAI", "voice", "oga"),
            "video" => ("BAACAgIAAxkBAAI", "videos", "mp4"),
            _ => ("BQACAgIAAxkBAAI", "documents", "bin"),
        };
        let extension = file_name
            .as_deref()
            .and_then(|name| name.rsplit_once('.'))
            .map(|(_, ext)| ext)
            .filter(|ext| {
                !ext.is_empty() && ext.len() <= 8 && ext.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .unwrap_or(extension)
            .to_ascii_lowercase();
        let file_id = format!(
            "{prefix}{n:08}AAE{:06x}",
            n.wrapping_mul(2_654_435_761) % 0xff_ffff
        );
        let file_path = format!("{folder}/file_{n}.{extension}");
        let stored = StoredFile {
            file_unique_id: format!("AQAD{n:06}"),
            bytes: bytes.clone(),
            mime: mime.to_string(),
            file_name,
            file_path: file_path.clone(),
        };
        state.file_bytes += bytes.len();
        state.files.insert(file_id.clone(), stored.clone());
        state.paths.insert(file_path, file_id.clone());
        Ok((file_id, stored))
    }

    /// The `Message` fields of a file: `photo` sizes, `document`, `voice`, `video`.
    fn media_fields(
        state: &mut State,
        kind: &str,
        file_id: &str,
        stored: &StoredFile,
    ) -> Result<Value, BotError> {
        let size = stored.bytes.len();
        Ok(match kind {
            "photo" => {
                // A thumbnail and the full size, as Telegram sends (the bot must pick the
                // largest); the emulator does not resize, so both carry the same bytes.
                let (thumb_id, thumb) =
                    Self::store_file(state, "photo", stored.bytes.clone(), &stored.mime, None)?;
                json!([
                    {"file_id": thumb_id, "file_unique_id": thumb.file_unique_id, "file_size": size, "width": 90, "height": 68},
                    {"file_id": file_id, "file_unique_id": stored.file_unique_id, "file_size": size, "width": 1280, "height": 960}
                ])
            }
            "voice" => json!({
                "duration": 1, "mime_type": stored.mime, "file_id": file_id,
                "file_unique_id": stored.file_unique_id, "file_size": size
            }),
            "video" => json!({
                "duration": 1, "width": 640, "height": 480, "mime_type": stored.mime,
                "file_id": file_id, "file_unique_id": stored.file_unique_id, "file_size": size
            }),
            _ => {
                let mut document = json!({
                    "mime_type": stored.mime, "file_id": file_id,
                    "file_unique_id": stored.file_unique_id, "file_size": size
                });
                if let Some(name) = &stored.file_name {
                    document["file_name"] = json!(name);
                }
                document
            }
        })
    }

    /// Any Bot API method but getUpdates, with its parameters and uploaded files (form field
    /// name -> bytes, file name, MIME type).
    pub(crate) fn call(
        &self,
        method: &str,
        params: &Map<String, Value>,
        uploads: HashMap<String, (Vec<u8>, Option<String>, String)>,
    ) -> Result<Value, BotError> {
        let mut state = self.lock();
        *state.calls.entry(method.to_string()).or_default() += 1;
        match method {
            "getMe" => Ok(Self::bot_user()),
            "logOut" | "close" => Ok(json!(true)),
            "setWebhook" => {
                let url = str_param(params, "url").unwrap_or("").trim().to_string();
                if url.is_empty() {
                    state.webhook = None;
                    state.webhook_generation += 1;
                    return Ok(json!(true));
                }
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(BotError::bad_request(
                        "bad webhook: An HTTPS URL must be provided for webhook",
                    ));
                }
                let secret = str_param(params, "secret_token").map(str::to_string);
                if let Some(secret) = &secret
                    && (secret.is_empty()
                        || secret.len() > 256
                        || !secret
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                {
                    return Err(BotError::bad_request(
                        "secret token contains unallowed characters",
                    ));
                }
                if bool_param(params, "drop_pending_updates") {
                    state.queue.clear();
                }
                state.webhook = Some(Webhook { url, secret });
                state.webhook_generation += 1;
                self.wake.notify_waiters();
                Ok(json!(true))
            }
            "deleteWebhook" => {
                state.webhook = None;
                state.webhook_generation += 1;
                if bool_param(params, "drop_pending_updates") {
                    state.queue.clear();
                }
                self.wake.notify_waiters();
                Ok(json!(true))
            }
            "getWebhookInfo" => {
                let url = state
                    .webhook
                    .as_ref()
                    .map(|webhook| webhook.url.clone())
                    .unwrap_or_default();
                Ok(json!({
                    "url": url,
                    "has_custom_certificate": false,
                    "pending_update_count": state.queue.len(),
                }))
            }
            "setMyCommands" => {
                let commands = json_param(params, "commands")?
                    .and_then(|commands| commands.as_array().cloned())
                    .ok_or_else(|| BotError::bad_request("parameter \"commands\" is required"))?;
                for command in &commands {
                    let name = command.get("command").and_then(Value::as_str).unwrap_or("");
                    let description = command
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    if name.is_empty()
                        || name.len() > 32
                        || !name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        return Err(BotError::bad_request("BOT_COMMAND_INVALID"));
                    }
                    if description.is_empty() || description.chars().count() > 256 {
                        return Err(BotError::bad_request("BOT_COMMAND_DESCRIPTION_INVALID"));
                    }
                }
                let language = str_param(params, "language_code").unwrap_or("").to_string();
                state.commands.insert(language, Value::Array(commands));
                Ok(json!(true))
            }
            "getMyCommands" => {
                let language = str_param(params, "language_code").unwrap_or("");
                Ok(state
                    .commands
                    .get(language)
                    .cloned()
                    .unwrap_or_else(|| json!([])))
            }
            "deleteMyCommands" => {
                let language = str_param(params, "language_code").unwrap_or("");
                state.commands.remove(language);
                Ok(json!(true))
            }
            "sendChatAction" => {
                Self::target_chat(&mut state, params)?;
                Ok(json!(true))
            }
            "sendMessage" => {
                let chat = Self::target_chat(&mut state, params)?;
                let text = str_param(params, "text").unwrap_or("");
                if text.trim().is_empty() {
                    return Err(BotError::bad_request("message text is empty"));
                }
                if utf16_len(text) > 4096 {
                    return Err(BotError::bad_request("message is too long"));
                }
                let markup = reply_markup(params)?;
                let mut body = Map::new();
                body.insert("text".into(), json!(text));
                if let Some(markup) = markup {
                    body.insert("reply_markup".into(), markup);
                }
                Ok(self.bot_message(&mut state, chat, body))
            }
            "editMessageText" | "editMessageReplyMarkup" | "editMessageCaption" => {
                let chat = Self::target_chat(&mut state, params)?;
                let message_id = int_param(params, "message_id")
                    .ok_or_else(|| BotError::bad_request("message identifier is not specified"))?;
                let markup = reply_markup(params)?;
                let text = match method {
                    "editMessageText" => {
                        let text = str_param(params, "text").unwrap_or("");
                        if text.trim().is_empty() {
                            return Err(BotError::bad_request("message text is empty"));
                        }
                        if utf16_len(text) > 4096 {
                            return Err(BotError::bad_request("MESSAGE_TOO_LONG"));
                        }
                        Some(("text", text))
                    }
                    "editMessageCaption" => {
                        Some(("caption", str_param(params, "caption").unwrap_or("")))
                    }
                    _ => None,
                };
                let sim = state
                    .chats
                    .get_mut(&chat)
                    .ok_or_else(|| BotError::bad_request("chat not found"))?;
                let entry = sim
                    .messages
                    .iter_mut()
                    .find(|entry| entry.from_bot && entry.message_id == message_id)
                    .ok_or_else(|| BotError::bad_request("message to edit not found"))?;
                let current = entry.message();
                let mut edited = current.clone();
                if let Some((field, text)) = text {
                    if field == "text" && edited.get("text").is_none() {
                        return Err(BotError::bad_request(
                            "there is no text in the message to edit",
                        ));
                    }
                    edited[field] = json!(text);
                }
                match markup {
                    Some(markup) => edited["reply_markup"] = markup,
                    None => {
                        if let Some(object) = edited.as_object_mut() {
                            object.remove("reply_markup");
                        }
                    }
                }
                let same = {
                    let mut before = current;
                    let mut after = edited.clone();
                    for value in [&mut before, &mut after] {
                        if let Some(object) = value.as_object_mut() {
                            object.remove("edit_date");
                        }
                    }
                    before == after
                };
                if same {
                    return Err(BotError::bad_request(
                        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                    ));
                }
                edited["edit_date"] = json!(now_s());
                entry.replace(&edited);
                Ok(edited)
            }
            "deleteMessage" => {
                let chat = Self::target_chat(&mut state, params)?;
                let message_id = int_param(params, "message_id")
                    .ok_or_else(|| BotError::bad_request("message identifier is not specified"))?;
                let sim = state
                    .chats
                    .get_mut(&chat)
                    .ok_or_else(|| BotError::bad_request("chat not found"))?;
                let before = sim.messages.len();
                sim.messages.retain(|entry| entry.message_id != message_id);
                if sim.messages.len() == before {
                    return Err(BotError::bad_request("message to delete not found"));
                }
                Ok(json!(true))
            }
            "answerCallbackQuery" => {
                let id = str_param(params, "callback_query_id")
                    .unwrap_or("")
                    .to_string();
                let text = str_param(params, "text").map(str::to_string);
                if text.as_ref().is_some_and(|text| text.chars().count() > 200) {
                    return Err(BotError::bad_request("MESSAGE_TOO_LONG"));
                }
                let show_alert = bool_param(params, "show_alert");
                match state.queries.get_mut(&id) {
                    Some(query) if query.answer.is_none() => {
                        query.answer = Some((text, show_alert));
                        Ok(json!(true))
                    }
                    _ => Err(BotError::bad_request(
                        "query is too old and response timeout expired or query ID is invalid",
                    )),
                }
            }
            "sendPhoto" | "sendDocument" | "sendVoice" | "sendVideo" | "sendAudio" => {
                let chat = Self::target_chat(&mut state, params)?;
                let kind = match method {
                    "sendPhoto" => "photo",
                    "sendVoice" => "voice",
                    "sendVideo" => "video",
                    "sendAudio" => "audio",
                    _ => "document",
                };
                let caption = str_param(params, "caption").unwrap_or("");
                if utf16_len(caption) > 1024 {
                    return Err(BotError::bad_request("message caption is too long"));
                }
                let markup = reply_markup(params)?;
                let (file_id, stored) =
                    self.resolve_input_file(&mut state, kind, params, &uploads, kind)?;
                let stored_kind = if kind == "audio" { "document" } else { kind };
                let fields = Self::media_fields(&mut state, stored_kind, &file_id, &stored)?;
                let mut body = Map::new();
                body.insert(stored_kind.into(), fields);
                if !caption.is_empty() {
                    body.insert("caption".into(), json!(caption));
                }
                if let Some(markup) = markup {
                    body.insert("reply_markup".into(), markup);
                }
                Ok(self.bot_message(&mut state, chat, body))
            }
            "sendMediaGroup" => {
                let chat = Self::target_chat(&mut state, params)?;
                let media = json_param(params, "media")?
                    .and_then(|media| media.as_array().cloned())
                    .ok_or_else(|| BotError::bad_request("parameter \"media\" is required"))?;
                if !(2..=10).contains(&media.len()) {
                    return Err(BotError::bad_request(
                        "wrong number of messages in the media group (must be 2-10)",
                    ));
                }
                let mut messages = Vec::new();
                let mut prepared = Vec::new();
                for item in &media {
                    let kind = match item.get("type").and_then(Value::as_str) {
                        Some("photo") => "photo",
                        Some("video") => "video",
                        Some("document") => "document",
                        Some("audio") => "document",
                        _ => {
                            return Err(BotError::bad_request(
                                "unsupported media type in the group",
                            ));
                        }
                    };
                    let mut item_params = Map::new();
                    if let Some(reference) = item.get("media") {
                        item_params.insert("media".into(), reference.clone());
                    }
                    let (file_id, stored) =
                        self.resolve_input_file(&mut state, "media", &item_params, &uploads, kind)?;
                    let caption = item
                        .get("caption")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    prepared.push((kind, file_id, stored, caption));
                }
                let group = format!(
                    "{}",
                    13_000_000_000_000_000_u64 + state.next_message_id.unsigned_abs()
                );
                for (kind, file_id, stored, caption) in prepared {
                    let fields = Self::media_fields(&mut state, kind, &file_id, &stored)?;
                    let mut body = Map::new();
                    body.insert(kind.into(), fields);
                    body.insert("media_group_id".into(), json!(group));
                    if !caption.is_empty() {
                        body.insert("caption".into(), json!(caption));
                    }
                    messages.push(self.bot_message(&mut state, chat, body));
                }
                Ok(Value::Array(messages))
            }
            "getFile" => {
                let file_id = str_param(params, "file_id").unwrap_or("");
                let stored = state
                    .files
                    .get(file_id)
                    .ok_or_else(|| BotError::bad_request("invalid file_id"))?;
                Ok(json!({
                    "file_id": file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.bytes.len(),
                    "file_path": stored.file_path,
                }))
            }
            "leaveChat" => Ok(json!(true)),
            _ => Err(BotError::not_found()),
        }
    }

    /// The file a send call refers to: an upload (`attach://name` or the field itself) or the
    /// id of a file the emulator already holds.
    fn resolve_input_file(
        &self,
        state: &mut State,
        field: &str,
        params: &Map<String, Value>,
        uploads: &HashMap<String, (Vec<u8>, Option<String>, String)>,
        kind: &str,
    ) -> Result<(String, StoredFile), BotError> {
        let reference = str_param(params, field).unwrap_or("");
        let upload_name = match reference.strip_prefix("attach://") {
            Some(name) => Some(name.to_string()),
            None if reference.is_empty() => Some(field.to_string()),
            None => None,
        };
        if let Some(name) = upload_name {
            let (bytes, file_name, mime) = uploads.get(&name).ok_or_else(|| {
                BotError::bad_request(format!("there is no {field} in the request"))
            })?;
            return Self::store_file(
                state,
                kind,
                Arc::new(bytes.clone()),
                mime,
                file_name.clone(),
            );
        }
        let stored = state
            .files
            .get(reference)
            .cloned()
            .ok_or_else(|| BotError::bad_request("wrong file identifier/HTTP URL specified"))?;
        Ok((reference.to_string(), stored))
    }

    /// A file by its `file_path` (the Bot API's file download).
    pub(crate) fn file_by_path(&self, path: &str) -> Option<StoredFile> {
        let state = self.lock();
        let id = state.paths.get(path)?;
        state.files.get(id).cloned()
    }

    /// A file by its `file_id` (the sandbox page shows pictures with it).
    pub(crate) fn file_by_id(&self, file_id: &str) -> Option<StoredFile> {
        self.lock().files.get(file_id).cloned()
    }

    // ----- the control side: simulated users -----

    fn ensure_chat(state: &mut State, user: &SimUser) -> Result<(), String> {
        if user.id <= 0 || user.id >= (1 << 52) {
            return Err(format!("{} is not a Telegram user id", user.id));
        }
        let chat = state.chats.entry(user.id).or_insert_with(|| SimChat {
            user: SimUser {
                id: user.id,
                first_name: format!("Customer {}", user.id),
                ..SimUser::default()
            },
            blocked: false,
            messages: VecDeque::new(),
        });
        if !user.first_name.trim().is_empty() {
            chat.user.first_name = user.first_name.trim().chars().take(64).collect();
        }
        if user.last_name.is_some() {
            chat.user.last_name = user.last_name.clone().filter(|name| !name.is_empty());
        }
        if user.username.is_some() {
            chat.user.username = user.username.clone().filter(|name| !name.is_empty());
        }
        if user.language_code.is_some() {
            chat.user.language_code = user.language_code.clone().filter(|code| !code.is_empty());
        }
        Ok(())
    }

    /// A simulated user sends a message to the bot; returns (update_id, message_id).
    pub(crate) fn user_send(
        &self,
        user: SimUser,
        content: SimContent,
    ) -> Result<(u64, i64), String> {
        let mut state = self.lock();
        Self::ensure_chat(&mut state, &user)?;
        let sim_user = state
            .chats
            .get(&user.id)
            .map(|chat| chat.user.clone())
            .ok_or("no chat")?;
        if sim_user_blocked(&state, user.id) {
            // Writing to the bot unblocks it, as in Telegram (the user pressed Restart).
            if let Some(chat) = state.chats.get_mut(&user.id) {
                chat.blocked = false;
            }
        }
        let message_id = state.next_message_id;
        state.next_message_id += 1;
        let mut message = json!({
            "message_id": message_id,
            "from": sim_user.user_json(),
            "chat": sim_user.chat_json(),
            "date": now_s(),
        });
        let text = content.text.unwrap_or_default();
        match content.file {
            Some(file) => {
                if utf16_len(&text) > 1024 {
                    return Err("a caption is at most 1024 characters".into());
                }
                let kind = match file.kind.as_str() {
                    "photo" | "voice" | "video" => file.kind.clone(),
                    _ => "document".to_string(),
                };
                let (file_id, stored) = Self::store_file(
                    &mut state,
                    &kind,
                    Arc::new(file.bytes),
                    &file.mime,
                    file.file_name,
                )
                .map_err(|error| error.description)?;
                let fields = Self::media_fields(&mut state, &kind, &file_id, &stored)
                    .map_err(|error| error.description)?;
                message[kind.as_str()] = fields;
                if !text.is_empty() {
                    message["caption"] = json!(text);
                }
            }
            None => {
                if text.is_empty() {
                    return Err("a message needs text or a file".into());
                }
                if utf16_len(&text) > 4096 {
                    return Err("a text message is at most 4096 characters".into());
                }
                if text.starts_with('/') {
                    let command_len = text.split_whitespace().next().map(utf16_len).unwrap_or(0);
                    message["entities"] =
                        json!([{"offset": 0, "length": command_len, "type": "bot_command"}]);
                }
                message["text"] = json!(text);
            }
        }
        if let Some(chat) = state.chats.get_mut(&user.id) {
            chat.remember(Entry::new(&message, false, now_ms()));
        }
        let update_id = self.deliver(state, "message", message);
        Ok((update_id, message_id))
    }

    /// A simulated user edits one of their text messages; returns the update id.
    pub(crate) fn user_edit(
        &self,
        user_id: i64,
        message_id: i64,
        text: &str,
    ) -> Result<u64, String> {
        let mut state = self.lock();
        let chat = state.chats.get_mut(&user_id).ok_or("no such chat")?;
        let entry = chat
            .messages
            .iter_mut()
            .find(|entry| !entry.from_bot && entry.message_id == message_id)
            .ok_or("no such message of the user")?;
        let mut edited = entry.message();
        if edited.get("text").is_none() {
            return Err("only text messages can be edited here".into());
        }
        edited["text"] = json!(text);
        edited["edit_date"] = json!(now_s());
        entry.replace(&edited);
        let update_id = self.deliver(state, "edited_message", edited);
        Ok(update_id)
    }

    /// A simulated user presses an inline button: a callback query with `data` on
    /// `message_id`. A message the chat no longer has arrives as an inaccessible message
    /// (`date: 0`), as Telegram sends for old messages. Returns (update_id, query id).
    pub(crate) fn user_press(
        &self,
        user_id: i64,
        message_id: i64,
        data: &str,
    ) -> Result<(u64, String), String> {
        if data.is_empty() || data.len() > 64 {
            return Err("callback data must be 1-64 bytes".into());
        }
        let mut state = self.lock();
        let chat = state.chats.get(&user_id).ok_or("no such chat")?;
        let user = chat.user.clone();
        let message = chat
            .messages
            .iter()
            .find(|entry| entry.from_bot && entry.message_id == message_id)
            .map(Entry::message)
            .unwrap_or_else(
                || json!({"chat": user.chat_json(), "message_id": message_id, "date": 0}),
            );
        let id = format!("{}", 4_000_000_000_000_000_000_u64 + state.next_query);
        state.next_query += 1;
        state.queries.insert(
            id.clone(),
            Query {
                chat: user_id,
                message_id,
                data: data.to_string(),
                answer: None,
            },
        );
        state.query_order.push_back(id.clone());
        while state.query_order.len() > 10_000 {
            if let Some(old) = state.query_order.pop_front() {
                state.queries.remove(&old);
            }
        }
        let query = json!({
            "id": id,
            "from": user.user_json(),
            "message": message,
            "chat_instance": format!("-{}", 6_437_312_837_209_416_423_u64 ^ user_id.unsigned_abs()),
            "data": data,
        });
        let update_id = self.deliver(state, "callback_query", query);
        Ok((update_id, id))
    }

    /// A simulated user blocks (or unblocks) the bot: sends answer 403 while blocked, and the
    /// bot gets a `my_chat_member` update (`kicked` or `member`).
    pub(crate) fn set_blocked(&self, user_id: i64, blocked: bool) -> Result<u64, String> {
        let mut state = self.lock();
        let chat = state.chats.get_mut(&user_id).ok_or("no such chat")?;
        chat.blocked = blocked;
        let user = chat.user.clone();
        let (old, new) = if blocked {
            (
                json!({"user": Self::bot_user(), "status": "member"}),
                json!({"user": Self::bot_user(), "status": "kicked", "until_date": 0}),
            )
        } else {
            (
                json!({"user": Self::bot_user(), "status": "kicked", "until_date": 0}),
                json!({"user": Self::bot_user(), "status": "member"}),
            )
        };
        let update = json!({
            "chat": user.chat_json(),
            "from": user.user_json(),
            "date": now_s(),
            "old_chat_member": old,
            "new_chat_member": new,
        });
        let update_id = self.deliver(state, "my_chat_member", update);
        Ok(update_id)
    }

    /// Queues a raw update (a fixture) `times` times; its `update_id` is replaced by the
    /// emulator's next one unless `keep_update_id`. A private message's chat is created and
    /// the message recorded. Returns the update ids.
    pub(crate) fn inject(
        &self,
        mut update: Value,
        times: u32,
        keep_update_id: bool,
    ) -> Result<Vec<u64>, String> {
        if !update.is_object() {
            return Err("an update is a JSON object".into());
        }
        let mut state = self.lock();
        let id = if keep_update_id {
            let id = update
                .get("update_id")
                .and_then(Value::as_u64)
                .ok_or("the update has no update_id")?;
            state.next_update_id = state.next_update_id.max(id.saturating_add(1));
            id
        } else {
            let id = state.next_update_id;
            state.next_update_id += 1;
            id
        };
        update["update_id"] = json!(id);
        if let Some(message) = update.get("message").cloned()
            && message.pointer("/chat/type").and_then(Value::as_str) == Some("private")
            && let Some(from) = message.get("from")
            && let Ok(user) = serde_json::from_value::<SimUser>(from.clone())
            && Self::ensure_chat(&mut state, &user).is_ok()
            && let Some(chat) = state.chats.get_mut(&user.id)
        {
            chat.messages
                .push_back(Entry::new(&message, false, now_ms()));
        }
        let mut ids = Vec::new();
        for _ in 0..times.clamp(1, 10) {
            state.queue.push_back((id, update.clone()));
            ids.push(id);
        }
        drop(state);
        self.wake.notify_waiters();
        Ok(ids)
    }

    /// One chat as JSON: the user, whether they blocked the bot, the messages in both
    /// directions (each bot message with its `reply_markup`), and the callback queries with
    /// the bot's answers.
    pub(crate) fn chat_view(&self, user_id: i64) -> Option<Value> {
        let state = self.lock();
        let chat = state.chats.get(&user_id)?;
        let messages: Vec<Value> = chat
            .messages
            .iter()
            .map(|entry| {
                let message = entry.message();
                let json = &message;
                let mut view = json!({
                    "message_id": json.get("message_id"),
                    "from": if entry.from_bot { "bot" } else { "user" },
                    "date": json.get("date"),
                    "sent_at_ms": entry.sent_at_ms,
                    "edited": entry.edited,
                });
                for field in ["text", "caption", "reply_markup", "media_group_id"] {
                    if let Some(value) = json.get(field) {
                        view[field] = value.clone();
                    }
                }
                if let Some(kind) = media_kind_of(json) {
                    let file_id = media_file_id(json, kind);
                    let stored = file_id.as_deref().and_then(|id| state.files.get(id));
                    view["media"] = json!({
                        "kind": kind,
                        "file_id": file_id,
                        "url": file_id.as_deref().map(|id| format!("/sandbox/files/{id}")),
                        "file_name": stored.and_then(|file| file.file_name.clone()),
                        "mime_type": stored.map(|file| file.mime.clone()),
                        "size": stored.map(|file| file.bytes.len()),
                    });
                }
                view
            })
            .collect();
        let mut answers: Vec<Value> = state
            .query_order
            .iter()
            .filter_map(|id| state.queries.get(id).map(|query| (id, query)))
            .filter(|(_, query)| query.chat == user_id)
            .map(|(id, query)| {
                json!({
                    "callback_query_id": id,
                    "message_id": query.message_id,
                    "data": query.data,
                    "answered": query.answer.is_some(),
                    "text": query.answer.as_ref().and_then(|(text, _)| text.clone()),
                    "show_alert": query.answer.as_ref().is_some_and(|(_, alert)| *alert),
                })
            })
            .collect();
        answers.truncate(1000);
        Some(json!({
            "id": user_id,
            "user": chat.user,
            "blocked": chat.blocked,
            "messages": messages,
            "callback_queries": answers,
        }))
    }

    /// Every chat: id, user and the last message's text, for the page's list.
    pub(crate) fn chats(&self) -> Value {
        let state = self.lock();
        Value::Array(
            state
                .chats
                .values()
                .map(|chat| {
                    let last = chat.messages.back().map(|entry| {
                        let message = entry.message();
                        message
                            .get("text")
                            .or_else(|| message.get("caption"))
                            .and_then(Value::as_str)
                            .map(|text| text.chars().take(80).collect::<String>())
                            .unwrap_or_else(|| "[file]".into())
                    });
                    json!({
                        "id": chat.user.id,
                        "user": chat.user,
                        "blocked": chat.blocked,
                        "messages": chat.messages.len(),
                        "last": last,
                    })
                })
                .collect(),
        )
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

fn sim_user_blocked(state: &State, user_id: i64) -> bool {
    state.chats.get(&user_id).is_some_and(|chat| chat.blocked)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
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
}
