//! Simulated users and their chats: what they send (text, files, edits, button presses,
//! blocking the bot) becomes an update in the queue, and each chat keeps its last messages in
//! both directions for the control API's views.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::files::{media_file_id, media_kind_of};
use super::{Emulator, SimContent, SimFile, State, now_ms, now_s, utf16_len};

/// Messages kept per chat; older ones are dropped.
const CHAT_HISTORY: usize = 2_000;

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
    pub(super) fn user_json(&self) -> Value {
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

    pub(super) fn chat_json(&self) -> Value {
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

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) message_id: i64,
    /// The Telegram `Message` object as last sent or returned, as compact JSON text: a
    /// `Value` takes about five times the memory, and a chat history is read far less often
    /// than it is written.
    json: Box<str>,
    pub(super) from_bot: bool,
    pub(super) sent_at_ms: i64,
    pub(super) edited: bool,
}

impl Entry {
    pub(super) fn new(message: &Value, from_bot: bool, sent_at_ms: i64) -> Entry {
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
    pub(super) fn message(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// Stores an edited version of the message.
    pub(super) fn replace(&mut self, message: &Value) {
        self.json = message.to_string().into_boxed_str();
        self.edited = true;
    }
}

#[derive(Debug, Clone)]
pub(super) struct SimChat {
    pub(super) user: SimUser,
    pub(super) blocked: bool,
    pub(super) messages: VecDeque<Entry>,
}

impl SimChat {
    /// Adds a message, dropping the oldest beyond [`CHAT_HISTORY`].
    pub(super) fn remember(&mut self, entry: Entry) {
        self.messages.push_back(entry);
        while self.messages.len() > CHAT_HISTORY {
            self.messages.pop_front();
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Query {
    pub(super) chat: i64,
    pub(super) message_id: i64,
    pub(super) data: String,
    pub(super) answer: Option<(Option<String>, bool)>,
}

impl Emulator {
    pub(super) fn ensure_chat(state: &mut State, user: &SimUser) -> Result<(), String> {
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
        let kinds = complete_kinds(content.kinds, message_id)?;
        if let Some(quoted) = content.reply_to {
            let quoted = state
                .chats
                .get(&user.id)
                .and_then(|chat| {
                    chat.messages
                        .iter()
                        .find(|entry| entry.message_id == quoted)
                })
                .map(Entry::message)
                .ok_or("the message to reply to is not in this chat")?;
            message["reply_to_message"] = without_reply(quoted);
        }
        if let Some(group) = content.media_group_id.filter(|group| !group.is_empty()) {
            message["media_group_id"] = json!(group);
        }
        if !kinds.is_empty() {
            if content.file.is_some() || !text.is_empty() {
                return Err(
                    "a location, venue, contact, dice or poll goes without text or file".into(),
                );
            }
            for (field, value) in kinds {
                message[field.as_str()] = value;
            }
            if let Some(chat) = state.chats.get_mut(&user.id) {
                chat.remember(Entry::new(&message, false, now_ms()));
            }
            let update_id = self.deliver(state, "message", message);
            return Ok((update_id, message_id));
        }
        Self::fill_content(&mut state, &mut message, &text, content.file, content.emoji)?;
        if let Some(chat) = state.chats.get_mut(&user.id) {
            chat.remember(Entry::new(&message, false, now_ms()));
        }
        let update_id = self.deliver(state, "message", message);
        Ok((update_id, message_id))
    }

    /// Fills a new message's content: a file (`photo`, ..., `sticker` with `emoji`; other kinds
    /// go as a document) with `text` as its caption, or `text` alone (a leading command gets
    /// its `bot_command` entity), checked against Telegram's limits.
    pub(super) fn fill_content(
        state: &mut State,
        message: &mut Value,
        text: &str,
        file: Option<SimFile>,
        emoji: Option<String>,
    ) -> Result<(), String> {
        match file {
            Some(file) => {
                if utf16_len(text) > 1024 {
                    return Err("a caption is at most 1024 characters".into());
                }
                let kind = match file.kind.as_str() {
                    "photo" | "voice" | "video" | "audio" | "video_note" | "sticker" => {
                        file.kind.clone()
                    }
                    _ => "document".to_string(),
                };
                let (file_id, stored) = Self::store_file(
                    state,
                    &kind,
                    Arc::new(file.bytes),
                    &file.mime,
                    file.file_name,
                )
                .map_err(|error| error.description)?;
                let mut fields = Self::media_fields(state, &kind, &file_id, &stored)
                    .map_err(|error| error.description)?;
                if kind == "sticker" {
                    if !text.is_empty() {
                        return Err("a sticker goes without a caption".into());
                    }
                    fields["emoji"] = json!(emoji.unwrap_or_else(|| "🙂".into()));
                }
                message[kind.as_str()] = fields;
                if !text.is_empty() {
                    message["caption"] = json!(text);
                }
            }
            None => {
                if text.is_empty() {
                    return Err("a message needs text or a file".into());
                }
                if utf16_len(text) > 4096 {
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
        Ok(())
    }

    /// A simulated user edits one of their messages: the text, or the caption of a file;
    /// returns the update id.
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
        let field = if edited.get("text").is_some() {
            if text.trim().is_empty() || utf16_len(text) > 4096 {
                return Err("a text is 1 to 4096 characters".into());
            }
            "text"
        } else if media_kind_of(&edited).is_some_and(|kind| kind != "sticker") {
            if utf16_len(text) > 1024 {
                return Err("a caption is at most 1024 characters".into());
            }
            "caption"
        } else {
            return Err("only texts and captions can be edited".into());
        };
        edited[field] = json!(text);
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
                json!({"user": self.bot_user(), "status": "member"}),
                json!({"user": self.bot_user(), "status": "kicked", "until_date": 0}),
            )
        } else {
            (
                json!({"user": self.bot_user(), "status": "kicked", "until_date": 0}),
                json!({"user": self.bot_user(), "status": "member"}),
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
                for field in [
                    "text",
                    "caption",
                    "reply_markup",
                    "media_group_id",
                    "location",
                    "venue",
                    "contact",
                    "dice",
                    "poll",
                    "invoice",
                    "invoice_payload",
                    "successful_payment",
                ] {
                    if let Some(value) = json.get(field) {
                        view[field] = value.clone();
                    }
                }
                if let Some(quoted) = json.pointer("/reply_to_message/message_id") {
                    view["reply_to_message_id"] = quoted.clone();
                }
                if let Some(emoji) = json.pointer("/sticker/emoji") {
                    view["sticker_emoji"] = emoji.clone();
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
            "star_charges": self.star_charges_of(&state, user_id),
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
}

fn sim_user_blocked(state: &State, user_id: i64) -> bool {
    state.chats.get(&user_id).is_some_and(|chat| chat.blocked)
}

/// A quoted message as a reply carries it: without its own quote (Telegram nests one level).
pub(super) fn without_reply(mut quoted: Value) -> Value {
    if let Some(object) = quoted.as_object_mut() {
        object.remove("reply_to_message");
    }
    quoted
}

fn number(value: &Value, field: &str, min: f64, max: f64) -> Result<f64, String> {
    value
        .get(field)
        .and_then(|number| {
            number
                .as_f64()
                .or_else(|| number.as_str().and_then(|text| text.trim().parse().ok()))
        })
        .filter(|number| number.is_finite() && (min..=max).contains(number))
        .ok_or_else(|| format!("{field} must be a number from {min} to {max}"))
}

fn text_field(value: &Value, field: &str) -> Result<String, String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("{field} is required"))
}

/// Checks and completes the non-file kinds a simulated user sends, as Telegram's `Message`
/// carries them: a `location` (`latitude`, `longitude`), a `venue` (with its `title` and
/// `address`; Telegram sets the message's `location` too), a `contact` (`phone_number`,
/// `first_name`, `last_name`, and `user_id` for one's own contact), a `dice` (`emoji`, `value`, thrown here when missing) and a
/// `poll` (`question`, `options` as texts).
fn complete_kinds(kinds: Map<String, Value>, seed: i64) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    for (field, value) in kinds {
        match field.as_str() {
            "location" => {
                let latitude = number(&value, "latitude", -90.0, 90.0)?;
                let longitude = number(&value, "longitude", -180.0, 180.0)?;
                out.push((field, json!({"latitude": latitude, "longitude": longitude})));
            }
            "venue" => {
                let latitude = number(&value, "latitude", -90.0, 90.0)?;
                let longitude = number(&value, "longitude", -180.0, 180.0)?;
                let location = json!({"latitude": latitude, "longitude": longitude});
                out.push((
                    field,
                    json!({
                        "location": location,
                        "title": text_field(&value, "title")?,
                        "address": text_field(&value, "address")?,
                    }),
                ));
                out.push(("location".into(), location));
            }
            "contact" => {
                let mut contact = json!({
                    "phone_number": text_field(&value, "phone_number")?,
                    "first_name": text_field(&value, "first_name")?,
                });
                if let Ok(last) = text_field(&value, "last_name") {
                    contact["last_name"] = json!(last);
                }
                // The contact's own Telegram account: the sender's id when they share their
                // own contact (the "share my phone" button).
                if let Some(user_id) = value.get("user_id") {
                    let user_id = user_id
                        .as_i64()
                        .filter(|id| *id > 0)
                        .ok_or_else(|| "a contact's user_id is a positive number".to_string())?;
                    contact["user_id"] = json!(user_id);
                }
                out.push((field, contact));
            }
            "dice" => {
                let emoji = value
                    .get("emoji")
                    .and_then(Value::as_str)
                    .unwrap_or("🎲")
                    .to_string();
                let most = if emoji == "🎰" {
                    64
                } else if emoji == "🎲" || emoji == "🎯" || emoji == "🎳" {
                    6
                } else {
                    5
                };
                let thrown = seed.rem_euclid(most) + 1;
                let dice_value = value.get("value").and_then(Value::as_i64).unwrap_or(thrown);
                if !(1..=most).contains(&dice_value) {
                    return Err(format!("a {emoji} shows 1 to {most}"));
                }
                out.push((field, json!({"emoji": emoji, "value": dice_value})));
            }
            "poll" => {
                let question = text_field(&value, "question")?;
                let options: Vec<Value> = value
                    .get("options")
                    .and_then(Value::as_array)
                    .map(|options| {
                        options
                            .iter()
                            .filter_map(Value::as_str)
                            .map(|text| json!({"text": text, "voter_count": 0}))
                            .collect()
                    })
                    .unwrap_or_default();
                if !(2..=12).contains(&options.len()) {
                    return Err("a poll has 2 to 12 options".into());
                }
                out.push((
                    field,
                    json!({
                        "id": format!("{}", 5_000_000_000_000_000_000_u64 + seed.unsigned_abs()),
                        "question": question,
                        "options": options,
                        "total_voter_count": 0,
                        "is_closed": false,
                        "is_anonymous": true,
                        "type": "regular",
                        "allows_multiple_answers": false,
                    }),
                ));
            }
            other => {
                return Err(format!(
                    "{other:?} is not a kind of message the sandbox sends"
                ));
            }
        }
    }
    Ok(out)
}
