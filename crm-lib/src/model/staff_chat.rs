//! Staff working from Telegram (issue 12): the notices a linked operator gets when a customer
//! writes, which they answer by replying in Telegram, and the optional staff supergroup with
//! one forum topic per customer, mirrored both ways with the web inbox.

use serde::{Deserialize, Serialize};

use super::{ChatId, CustomerId, MessageId, OrderId, Timestamp, UserId};

/// The staff supergroup of an organization (one record per organization, `staff_groups`).
/// Linked by an administrator who adds the bot to a forum supergroup (as an administrator
/// allowed to manage topics) and sends `/link CODE` there, the code taken from the settings
/// page; switched on and off on that page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StaffGroup {
    /// The linked supergroup; `None` until `/link CODE` was sent in one.
    pub chat: Option<ChatId>,
    /// The group's title when it was linked.
    pub title: Option<String>,
    /// Whether topics are created and messages mirrored (needs `chat`).
    pub enabled: bool,
    /// The one-time code that links a group, while one is outstanding.
    pub link_code: Option<String>,
    /// When that code stops working.
    pub link_code_expires_at: Option<Timestamp>,
}

impl StaffGroup {
    /// The group messages are mirrored to: the linked chat while the mirror is on.
    pub fn active_chat(&self) -> Option<ChatId> {
        self.chat.filter(|_| self.enabled)
    }
}

/// A customer's forum topic in the staff group (`forum_topics`: `org | customer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForumTopic {
    /// Whose conversation it mirrors.
    pub customer: CustomerId,
    /// The group it lives in (a topic of an earlier group is replaced by a new one).
    pub chat: ChatId,
    /// Its name, the customer's name when it was created (Telegram: 1-128 characters).
    pub name: String,
    /// Telegram's `message_thread_id`, recorded once the topic's creation was delivered.
    pub thread: Option<i64>,
    /// Whether the topic is closed (the conversation was closed).
    pub closed: bool,
    /// When it was asked for.
    pub created_at: Timestamp,
}

/// A notice sent to a staff user's private chat about a customer's message
/// (`staff_notices`: `org | staff chat | telegram message id`), so that their reply to it
/// in Telegram reaches that customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffNotice {
    /// Who got it.
    pub user: UserId,
    /// Their private chat with the bot.
    pub chat: ChatId,
    /// Telegram's `message_id` of the notice in that chat.
    pub telegram_message_id: i64,
    /// The customer who wrote.
    pub customer: CustomerId,
    /// The order the message was about, when there was one (a reply is about it too).
    pub order: Option<OrderId>,
    /// The customer's message.
    pub message: MessageId,
}

/// A message written in a customer's forum topic (`forum_origins`: `org | message`): it is
/// already in the topic, so its mirror is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForumOrigin {
    /// The message.
    pub message: MessageId,
    /// The staff user who wrote it in the topic.
    pub user: UserId,
}

/// What the staff group is asked to do (an outbox payload, addressed to the group's chat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForumCall {
    /// Create the customer's topic, named `name`; its thread id is recorded on delivery.
    CreateTopic {
        /// Whose topic.
        customer: CustomerId,
        /// Its name.
        name: String,
    },
    /// Close the customer's topic (the conversation was closed).
    CloseTopic {
        /// Whose topic.
        customer: CustomerId,
    },
    /// Reopen the customer's topic (the conversation was reopened).
    ReopenTopic {
        /// Whose topic.
        customer: CustomerId,
    },
    /// Copy a message of the conversation into the customer's topic; skipped at delivery
    /// when it was written in the topic.
    Mirror {
        /// The message.
        message: MessageId,
    },
    /// The bot's answer to a staff message in a topic (a refusal, a note's confirmation).
    Say {
        /// The topic's `message_thread_id`.
        thread: i64,
        /// The text (plain, at most 4096 characters).
        text: String,
    },
}
