//! Simulated forum supergroups (issue 12: the staff group): the bot's topic methods
//! (`createForumTopic`, `closeForumTopic`, `reopenForumTopic`), messages with
//! `message_thread_id` both ways, and the control API's views.
//!
//! A forum is created by the control API (Telegram's users create groups, not bots) with a
//! negative supergroup id. Its members' messages become updates of a `supergroup` chat with
//! `is_forum: true`; a message in a topic carries `message_thread_id` and
//! `is_topic_message: true`, as Telegram sends them. A topic's thread id is the message id of
//! its creation, as in Telegram. Sending into a closed topic works (the bot is an
//! administrator that may manage topics).

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Map, Value, json};

use super::chats::Entry;
use super::params::{BotError, int_param, str_param};
use super::{Emulator, SimFile, SimUser, State, now_ms, now_s};

/// Messages kept per forum; older ones are dropped.
const FORUM_HISTORY: usize = 2_000;

/// One topic of a simulated forum.
#[derive(Debug, Clone)]
pub(super) struct SimTopic {
    name: String,
    closed: bool,
}

/// A simulated supergroup with topics.
#[derive(Debug, Clone)]
pub(super) struct SimForum {
    title: String,
    topics: BTreeMap<i64, SimTopic>,
    messages: VecDeque<(Option<i64>, Entry)>,
}

impl SimForum {
    fn remember(&mut self, thread: Option<i64>, entry: Entry) {
        self.messages.push_back((thread, entry));
        while self.messages.len() > FORUM_HISTORY {
            self.messages.pop_front();
        }
    }
}

fn chat_json(id: i64, forum: &SimForum) -> Value {
    json!({"id": id, "type": "supergroup", "title": forum.title, "is_forum": true})
}

impl Emulator {
    /// Creates (or renames) a simulated forum supergroup `id` (negative, as supergroup ids
    /// are: -100...).
    pub(crate) fn create_forum(&self, id: i64, title: &str) -> Result<Value, String> {
        if id >= 0 {
            return Err(format!("{id} is not a group id (groups have negative ids)"));
        }
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 128 {
            return Err("a group title has 1-128 characters".into());
        }
        let mut state = self.lock();
        let forum = state.forums.entry(id).or_insert_with(|| SimForum {
            title: String::new(),
            topics: BTreeMap::new(),
            messages: VecDeque::new(),
        });
        forum.title = title.to_string();
        Ok(chat_json(id, forum))
    }

    /// The chat object of forum `chat`, when it is one.
    pub(super) fn forum_chat_json(state: &State, chat: i64) -> Option<Value> {
        state.forums.get(&chat).map(|forum| chat_json(chat, forum))
    }

    /// Checks a send to forum `chat`: the thread named by the call, if any, must exist.
    /// `Ok(false)`: not a forum.
    pub(super) fn forum_target(state: &State, chat: i64) -> Result<bool, BotError> {
        let Some(forum) = state.forums.get(&chat) else {
            return Ok(false);
        };
        if let Some(thread) = state.thread
            && !forum.topics.contains_key(&thread)
        {
            return Err(BotError::bad_request("message thread not found"));
        }
        Ok(true)
    }

    /// Adds the thread fields of the current call to a bot message in forum `chat`.
    pub(super) fn forum_fields(state: &State, chat: i64, body: &mut Map<String, Value>) {
        if state.forums.contains_key(&chat)
            && let Some(thread) = state.thread
        {
            body.insert("message_thread_id".into(), json!(thread));
            body.insert("is_topic_message".into(), json!(true));
        }
    }

    /// Keeps a bot message sent to forum `chat` in its history.
    pub(super) fn forum_remember(state: &mut State, chat: i64, message: &Value, at_ms: i64) {
        let thread = state.thread;
        if let Some(forum) = state.forums.get_mut(&chat) {
            forum.remember(thread, Entry::new(message, true, at_ms));
        }
    }

    /// The topic methods: `createForumTopic`, `closeForumTopic`, `reopenForumTopic`.
    pub(super) fn forum_method(
        &self,
        state: &mut State,
        method: &str,
        params: &Map<String, Value>,
    ) -> Result<Value, BotError> {
        let chat = int_param(params, "chat_id")
            .ok_or_else(|| BotError::bad_request("chat_id is empty"))?;
        if !state.forums.contains_key(&chat) {
            return Err(if state.chats.contains_key(&chat) {
                BotError::bad_request("the chat is not a forum")
            } else {
                BotError::bad_request("chat not found")
            });
        }
        if method == "createForumTopic" {
            let name = str_param(params, "name").unwrap_or("").to_string();
            if name.trim().is_empty() || name.chars().count() > 128 {
                return Err(BotError::bad_request("TOPIC_NAME_INVALID"));
            }
            let thread = state.next_message_id;
            state.next_message_id += 1;
            let service = json!({
                "message_id": thread,
                "from": self.bot_user(),
                "chat": Self::forum_chat_json(state, chat),
                "date": now_s(),
                "message_thread_id": thread,
                "is_topic_message": true,
                "forum_topic_created": {"name": name, "icon_color": 7_322_096},
            });
            let at = now_ms();
            if let Some(forum) = state.forums.get_mut(&chat) {
                forum.topics.insert(
                    thread,
                    SimTopic {
                        name: name.clone(),
                        closed: false,
                    },
                );
                forum.remember(Some(thread), Entry::new(&service, true, at));
            }
            return Ok(json!({"message_thread_id": thread, "name": name, "icon_color": 7_322_096}));
        }
        let thread = int_param(params, "message_thread_id")
            .ok_or_else(|| BotError::bad_request("message thread not found"))?;
        let closing = match method {
            "closeForumTopic" => true,
            "reopenForumTopic" => false,
            _ => return Err(BotError::not_found()),
        };
        let topic = state
            .forums
            .get_mut(&chat)
            .and_then(|forum| forum.topics.get_mut(&thread))
            .ok_or_else(|| BotError::bad_request("message thread not found"))?;
        if topic.closed == closing {
            return Err(BotError::bad_request("TOPIC_NOT_MODIFIED"));
        }
        topic.closed = closing;
        Ok(json!(true))
    }

    /// A member of forum `chat` writes text, or sends a file with an optional caption (as
    /// [`Emulator::user_send`] does), in topic `thread` or (with none) in General; returns
    /// (update_id, message_id).
    pub(crate) fn forum_send(
        &self,
        chat: i64,
        user: SimUser,
        thread: Option<i64>,
        text: &str,
        file: Option<SimFile>,
    ) -> Result<(u64, i64), String> {
        if user.id <= 0 || user.id >= (1 << 52) {
            return Err(format!("{} is not a Telegram user id", user.id));
        }
        let mut state = self.lock();
        let forum = state.forums.get(&chat).ok_or("no such forum")?;
        if let Some(thread) = thread
            && !forum.topics.contains_key(&thread)
        {
            return Err(format!("forum {chat} has no topic {thread}"));
        }
        let chat_value = chat_json(chat, forum);
        let message_id = state.next_message_id;
        let mut from = user.clone();
        if from.first_name.trim().is_empty() {
            from.first_name = format!("Member {}", user.id);
        }
        let mut message = json!({
            "message_id": message_id,
            "from": from.user_json(),
            "chat": chat_value,
            "date": now_s(),
        });
        if file.is_none() && text.trim().is_empty() {
            return Err("a text message has 1-4096 characters".into());
        }
        Self::fill_content(&mut state, &mut message, text, file, None)?;
        state.next_message_id += 1;
        if let Some(thread) = thread {
            message["message_thread_id"] = json!(thread);
            message["is_topic_message"] = json!(true);
        }
        if let Some(forum) = state.forums.get_mut(&chat) {
            forum.remember(thread, Entry::new(&message, false, now_ms()));
        }
        let update_id = self.deliver(state, "message", message);
        Ok((update_id, message_id))
    }

    /// Forum `chat`: its topics (thread id, name, closed) and its messages, each with its
    /// thread (`null`: General), oldest first.
    pub(crate) fn forum_view(&self, chat: i64) -> Option<Value> {
        let state = self.lock();
        let forum = state.forums.get(&chat)?;
        let topics: Vec<Value> = forum
            .topics
            .iter()
            .map(|(thread, topic)| {
                json!({"message_thread_id": thread, "name": topic.name, "closed": topic.closed})
            })
            .collect();
        let messages: Vec<Value> = forum
            .messages
            .iter()
            .map(|(thread, entry)| {
                let message = entry.message();
                let mut view = json!({
                    "message_id": entry.message_id,
                    "message_thread_id": thread,
                    "from": if entry.from_bot { "bot" } else { "user" },
                    "sent_at_ms": entry.sent_at_ms,
                });
                for field in [
                    "text",
                    "caption",
                    "forum_topic_created",
                    "photo",
                    "document",
                    "voice",
                    "video",
                    "video_note",
                    "audio",
                    "sticker",
                ] {
                    if let Some(value) = message.get(field) {
                        view[field] = value.clone();
                    }
                }
                if let Some(name) = message.pointer("/from/first_name") {
                    view["from_name"] = name.clone();
                }
                view
            })
            .collect();
        Some(json!({
            "chat": chat_json(chat, forum),
            "topics": topics,
            "messages": messages,
        }))
    }

    /// Every simulated forum: id, title, topic count.
    pub(crate) fn forums(&self) -> Value {
        let state = self.lock();
        Value::Array(
            state
                .forums
                .iter()
                .map(|(id, forum)| {
                    json!({"id": id, "title": forum.title, "topics": forum.topics.len()})
                })
                .collect(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_string(), value.clone()))
            .collect()
    }

    #[test]
    fn topics_are_created_closed_and_reopened_and_messages_keep_their_thread() {
        let emulator = Emulator::new();
        emulator.create_forum(-1_001, "Staff").unwrap();
        let topic = emulator
            .call(
                "createForumTopic",
                &params(&[("chat_id", json!(-1_001)), ("name", json!("Ann Lee"))]),
                HashMap::new(),
            )
            .unwrap();
        let thread = topic["message_thread_id"].as_i64().unwrap();
        let sent = emulator
            .call(
                "sendMessage",
                &params(&[
                    ("chat_id", json!(-1_001)),
                    ("message_thread_id", json!(thread)),
                    ("text", json!("hello")),
                ]),
                HashMap::new(),
            )
            .unwrap();
        assert_eq!(sent["message_thread_id"], thread);
        assert_eq!(sent["chat"]["is_forum"], true);
        let close = params(&[
            ("chat_id", json!(-1_001)),
            ("message_thread_id", json!(thread)),
        ]);
        emulator
            .call("closeForumTopic", &close, HashMap::new())
            .unwrap();
        let again = emulator.call("closeForumTopic", &close, HashMap::new());
        assert_eq!(again.unwrap_err().code, 400);
        emulator
            .call("reopenForumTopic", &close, HashMap::new())
            .unwrap();
        let missing = emulator.call(
            "sendMessage",
            &params(&[
                ("chat_id", json!(-1_001)),
                ("message_thread_id", json!(thread + 100)),
                ("text", json!("lost")),
            ]),
            HashMap::new(),
        );
        assert_eq!(missing.unwrap_err().code, 400);
        let view = emulator.forum_view(-1_001).unwrap();
        assert_eq!(view["topics"][0]["name"], "Ann Lee");
        assert_eq!(view["topics"][0]["closed"], false);
        assert_eq!(view["messages"][1]["text"], "hello");
        assert_eq!(view["messages"][1]["message_thread_id"], thread);
    }

    #[test]
    fn a_member_s_message_in_a_topic_is_an_update_of_the_forum() {
        let emulator = Emulator::new();
        emulator.create_forum(-1_002, "Staff").unwrap();
        let topic = emulator
            .call(
                "createForumTopic",
                &params(&[("chat_id", json!(-1_002)), ("name", json!("Bob"))]),
                HashMap::new(),
            )
            .unwrap();
        let thread = topic["message_thread_id"].as_i64().unwrap();
        let user = SimUser {
            id: 7,
            first_name: "Olga".into(),
            ..SimUser::default()
        };
        emulator
            .forum_send(-1_002, user.clone(), Some(thread), "/note call back", None)
            .unwrap();
        assert!(
            emulator
                .forum_send(-1_002, user, Some(thread + 9), "x", None)
                .is_err()
        );
        let state = emulator.lock();
        let (_, update) = state.queue.back().unwrap();
        assert_eq!(update["message"]["chat"]["type"], "supergroup");
        assert_eq!(update["message"]["message_thread_id"], thread);
        assert_eq!(update["message"]["is_topic_message"], true);
        assert_eq!(update["message"]["entities"][0]["type"], "bot_command");
    }
}
