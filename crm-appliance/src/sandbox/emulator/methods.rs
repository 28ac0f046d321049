//! The Bot API methods the bot calls, other than `getUpdates` (see `updates.rs`): sending and
//! editing messages and media, answering callback queries, the command menu, and the webhook
//! settings, checked the way Telegram checks them and answered with Telegram's errors.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};

use super::chats::{Entry, SimChat};
use super::params::{BotError, bool_param, int_param, json_param, str_param};
use super::{Emulator, SimUser, State, now_ms, now_s, utf16_len};

/// Bot sends remembered for `/sandbox/stats`.
const SENDS_KEPT: usize = 10_000;

/// Checks an inline keyboard the way Telegram does (the parts the bot uses); an empty
/// keyboard counts as none.
fn reply_markup(params: &Map<String, Value>) -> Result<Option<Value>, BotError> {
    let Some(markup) = json_param(params, "reply_markup")? else {
        return Ok(None);
    };
    if let Some(rows) = markup.get("keyboard") {
        // A reply keyboard (the worker's "share my phone", `request_contact`): checked as
        // Telegram does and kept on the message, so the chat shows its buttons.
        let rows = rows
            .as_array()
            .ok_or_else(|| BotError::bad_request("field \"keyboard\" must be an Array"))?;
        for row in rows {
            let buttons = row
                .as_array()
                .ok_or_else(|| BotError::bad_request("can't parse keyboard row"))?;
            for button in buttons {
                let text = button
                    .as_str()
                    .or_else(|| button.get("text").and_then(Value::as_str))
                    .unwrap_or("");
                if text.trim().is_empty() {
                    return Err(BotError::bad_request("keyboard button text is empty"));
                }
            }
        }
        return Ok(Some(markup));
    }
    let Some(rows) = markup.get("inline_keyboard") else {
        // Keyboard removal is accepted and not shown.
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
            } else if let Some(web_app) = button.get("web_app") {
                // A Mini App button: Telegram takes `https://` only; the emulator also takes
                // `http://`, the address of an appliance without a public HTTPS URL.
                let url = web_app.get("url").and_then(Value::as_str).unwrap_or("");
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(BotError::bad_request("BUTTON_URL_INVALID"));
                }
            } else if button.get("url").is_none() {
                return Err(BotError::bad_request(
                    "can't parse inline keyboard button: a button needs callback_data, url or web_app",
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

impl Emulator {
    /// `getMe`'s user.
    pub(crate) fn bot_user(&self) -> Value {
        json!({"id": self.bot_id, "is_bot": true, "first_name": "CRM Sandbox Bot", "username": self.bot_username})
    }

    pub(super) fn bot_message(
        &self,
        state: &mut State,
        chat: i64,
        mut body: Map<String, Value>,
    ) -> Value {
        let message_id = state.next_message_id;
        state.next_message_id += 1;
        let chat_json = state
            .chats
            .get(&chat)
            .map(|sim| sim.user.chat_json())
            .or_else(|| Self::forum_chat_json(state, chat))
            .unwrap_or_else(|| json!({"id": chat, "type": "private", "first_name": "?"}));
        Self::forum_fields(state, chat, &mut body);
        body.insert("message_id".into(), json!(message_id));
        if let Some(quoted) = state.reply.take() {
            body.insert("reply_to_message".into(), quoted);
        }
        body.insert("from".into(), self.bot_user());
        body.insert("chat".into(), chat_json);
        body.insert("date".into(), json!(now_s()));
        let message = Value::Object(body);
        let sent_at_ms = now_ms();
        if let Some(sim) = state.chats.get_mut(&chat) {
            sim.remember(Entry::new(&message, true, sent_at_ms));
        } else {
            Self::forum_remember(state, chat, &message, sent_at_ms);
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
    pub(super) fn target_chat(
        state: &mut State,
        params: &Map<String, Value>,
    ) -> Result<i64, BotError> {
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
        if Self::forum_target(state, chat)? {
            return Ok(chat);
        }
        match state.chats.get(&chat) {
            None => Err(BotError::bad_request("chat not found")),
            Some(sim) if sim.blocked => Err(BotError::forbidden_blocked()),
            Some(_) => Ok(chat),
        }
    }

    /// The message a send quotes (`reply_parameters.message_id`, or the older
    /// `reply_to_message_id`), from the chat's history. A message the chat does not have is
    /// "message to be replied not found", unless `allow_sending_without_reply`.
    fn quoted(state: &State, params: &Map<String, Value>) -> Result<Option<Value>, BotError> {
        let reply = json_param(params, "reply_parameters")?;
        let (message_id, lenient) = match &reply {
            Some(reply) => (
                reply.get("message_id").and_then(Value::as_i64),
                reply
                    .get("allow_sending_without_reply")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            ),
            None => (int_param(params, "reply_to_message_id"), false),
        };
        let Some(message_id) = message_id else {
            return match reply {
                Some(_) => Err(BotError::bad_request(
                    "field \"message_id\" of reply_parameters must be a Number",
                )),
                None => Ok(None),
            };
        };
        let chat = int_param(params, "chat_id").unwrap_or(0);
        let found = state.chats.get(&chat).and_then(|sim| {
            sim.messages
                .iter()
                .find(|entry| entry.message_id == message_id)
                .map(|entry| super::chats::without_reply(entry.message()))
        });
        match found {
            Some(quoted) => Ok(Some(quoted)),
            None if lenient => Ok(None),
            None => Err(BotError::bad_request("message to be replied not found")),
        }
    }

    /// Any Bot API method but getUpdates, with its parameters and uploaded files (form field
    /// name -> bytes, file name, MIME type). A send with `reply_parameters` quotes the
    /// message it answers (`reply_to_message` of the sent message).
    pub(crate) fn call(
        &self,
        method: &str,
        params: &Map<String, Value>,
        uploads: HashMap<String, (Vec<u8>, Option<String>, String)>,
    ) -> Result<Value, BotError> {
        let mut state = self.lock();
        *state.calls.entry(method.to_string()).or_default() += 1;
        state.thread = int_param(params, "message_thread_id");
        state.reply = if method.starts_with("send") {
            Self::quoted(&state, params)?
        } else {
            None
        };
        let answer = self.call_method(&mut state, method, params, &uploads);
        state.reply = None;
        answer
    }

    fn call_method(
        &self,
        state: &mut State,
        method: &str,
        params: &Map<String, Value>,
        uploads: &HashMap<String, (Vec<u8>, Option<String>, String)>,
    ) -> Result<Value, BotError> {
        match method {
            "createForumTopic" | "closeForumTopic" | "reopenForumTopic" => {
                self.forum_method(state, method, params)
            }
            "sendInvoice" | "answerPreCheckoutQuery" | "refundStarPayment" => {
                self.stars_method(state, method, params)
            }
            "getMe" => Ok(self.bot_user()),
            "logOut" | "close" => Ok(json!(true)),
            "setWebhook" => self.set_webhook(state, params),
            "deleteWebhook" => self.delete_webhook(state, params),
            "getWebhookInfo" => Self::webhook_info(state),
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
                Self::target_chat(state, params)?;
                Ok(json!(true))
            }
            "sendMessage" => {
                let chat = Self::target_chat(state, params)?;
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
                Ok(self.bot_message(state, chat, body))
            }
            "editMessageText" | "editMessageReplyMarkup" | "editMessageCaption" => {
                let chat = Self::target_chat(state, params)?;
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
                let chat = Self::target_chat(state, params)?;
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
            "deleteMessages" => {
                // Telegram's rules: 1-100 ids of one chat; ids that cannot be found are
                // skipped; true when any was deleted.
                let chat = Self::target_chat(state, params)?;
                let ids: Vec<i64> = json_param(params, "message_ids")?
                    .as_ref()
                    .and_then(Value::as_array)
                    .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default();
                if ids.is_empty() || ids.len() > 100 {
                    return Err(BotError::bad_request("message_ids must have 1-100 ids"));
                }
                let sim = state
                    .chats
                    .get_mut(&chat)
                    .ok_or_else(|| BotError::bad_request("chat not found"))?;
                let before = sim.messages.len();
                sim.messages
                    .retain(|entry| !ids.contains(&entry.message_id));
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
            "sendLocation" | "sendVenue" | "sendContact" => {
                let chat = Self::target_chat(state, params)?;
                let number = |name: &str, limit: f64| {
                    params
                        .get(name)
                        .and_then(|value| {
                            value
                                .as_f64()
                                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
                        })
                        .filter(|value: &f64| value.is_finite() && value.abs() <= limit)
                        .ok_or_else(|| BotError::bad_request(format!("wrong {name} specified")))
                };
                let text = |name: &str| {
                    str_param(params, name)
                        .filter(|text| !text.trim().is_empty())
                        .map(str::to_string)
                        .ok_or_else(|| BotError::bad_request(format!("{name} is empty")))
                };
                let mut body = Map::new();
                match method {
                    "sendContact" => {
                        let mut contact = json!({
                            "phone_number": text("phone_number")?,
                            "first_name": text("first_name")?,
                        });
                        if let Ok(last) = text("last_name") {
                            contact["last_name"] = json!(last);
                        }
                        body.insert("contact".into(), contact);
                    }
                    _ => {
                        let location = json!({
                            "latitude": number("latitude", 90.0)?,
                            "longitude": number("longitude", 180.0)?,
                        });
                        if method == "sendVenue" {
                            body.insert(
                                "venue".into(),
                                json!({
                                    "location": location,
                                    "title": text("title")?,
                                    "address": text("address")?,
                                }),
                            );
                        }
                        body.insert("location".into(), location);
                    }
                }
                if let Some(markup) = reply_markup(params)? {
                    body.insert("reply_markup".into(), markup);
                }
                Ok(self.bot_message(state, chat, body))
            }
            "sendPhoto" | "sendDocument" | "sendVoice" | "sendVideo" | "sendAudio"
            | "sendSticker" | "sendVideoNote" => {
                let chat = Self::target_chat(state, params)?;
                let kind = match method {
                    "sendPhoto" => "photo",
                    "sendVoice" => "voice",
                    "sendVideo" => "video",
                    "sendAudio" => "audio",
                    "sendSticker" => "sticker",
                    "sendVideoNote" => "video_note",
                    _ => "document",
                };
                let caption = str_param(params, "caption").unwrap_or("");
                if utf16_len(caption) > 1024 {
                    return Err(BotError::bad_request("message caption is too long"));
                }
                let markup = reply_markup(params)?;
                let (file_id, stored) =
                    self.resolve_input_file(state, kind, params, uploads, kind)?;
                if kind == "sticker"
                    && !stored.mime.starts_with("image/webp")
                    && !stored.mime.starts_with("application/x-tgsticker")
                    && !stored.mime.starts_with("video/webm")
                {
                    return Err(BotError::bad_request(
                        "wrong file type of the sticker: a .webp, .tgs or .webm file is expected",
                    ));
                }
                let stored_kind = kind;
                let fields = Self::media_fields(state, stored_kind, &file_id, &stored)?;
                let mut body = Map::new();
                body.insert(stored_kind.into(), fields);
                if !caption.is_empty() {
                    body.insert("caption".into(), json!(caption));
                }
                if let Some(markup) = markup {
                    body.insert("reply_markup".into(), markup);
                }
                Ok(self.bot_message(state, chat, body))
            }
            "sendMediaGroup" => {
                let chat = Self::target_chat(state, params)?;
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
                        self.resolve_input_file(state, "media", &item_params, uploads, kind)?;
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
                    let fields = Self::media_fields(state, kind, &file_id, &stored)?;
                    let mut body = Map::new();
                    body.insert(kind.into(), fields);
                    body.insert("media_group_id".into(), json!(group));
                    if !caption.is_empty() {
                        body.insert("caption".into(), json!(caption));
                    }
                    messages.push(self.bot_message(state, chat, body));
                }
                Ok(Value::Array(messages))
            }
            "getFile" => Self::get_file(state, params),
            "leaveChat" => Ok(json!(true)),
            _ => Err(BotError::not_found()),
        }
    }
}
