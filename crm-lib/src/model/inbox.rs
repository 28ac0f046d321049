//! The inbox's projection (SPEC 5F, issue 12): one compact row per conversation, what the
//! conversation list shows, kept in the same transaction as the records it copies.

use serde::{Deserialize, Serialize};

use super::{CustomerId, DepartmentId, Direction, MessageId, Timestamp, UserId};

/// The longest preview of a message in the conversation list, in characters.
pub const PREVIEW_MAX_CHARS: usize = 100;

/// Where a conversation stands in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConversationState {
    /// Open: in the working lists.
    Open,
    /// Snoozed until `until` (ms): the working lists leave it out until then, or until the
    /// customer writes again (a message newer than `after`, the customer's latest message
    /// when it was snoozed).
    Snoozed {
        /// When it wakes by itself.
        until: Timestamp,
        /// The customer's latest message when it was snoozed (`None`: none yet).
        after: Option<MessageId>,
    },
    /// Closed at `at`: only the closed list shows it. Without the operators module a
    /// customer message newer than `after` reopens it; with it, the queue item decides.
    Closed {
        /// When it was closed.
        at: Timestamp,
        /// The customer's latest message when it was closed.
        after: Option<MessageId>,
    },
}

impl ConversationState {
    /// The state as of `now`: a snooze whose time came is open (nothing is written when it
    /// wakes; every read applies this).
    pub fn at(self, now: Timestamp) -> ConversationState {
        match self {
            ConversationState::Snoozed { until, .. } if until <= now => ConversationState::Open,
            state => state,
        }
    }

    /// `open`, `snoozed` or `closed`: the stable word of pages and the API.
    pub fn word(self) -> &'static str {
        match self {
            ConversationState::Open => "open",
            ConversationState::Snoozed { .. } => "snoozed",
            ConversationState::Closed { .. } => "closed",
        }
    }
}

/// The last message of a conversation as the list shows it. A private note is never the
/// preview: the list tells what the customer and the team said to each other, and a note is
/// neither (notes show in the conversation and the details pane).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePreview {
    /// The message.
    pub message: MessageId,
    /// Inbound (the customer) or outbound (the team).
    pub direction: Direction,
    /// The start of its text on one line, at most [`PREVIEW_MAX_CHARS`] characters (with
    /// `…` when cut); empty when it has none.
    pub text: String,
    /// What it carries besides text, as a stable word the pages translate (`photo`,
    /// `document`, `voice`, `video`, `video_note`, `sticker`, `audio`, `location`...);
    /// `None` for text alone.
    pub label: Option<String>,
    /// When it was written.
    pub at: Timestamp,
}

/// One conversation of the inbox: a copy of what the list shows of the customer, their last
/// message and the operators module's queue item, with the conversation's own state. Stored
/// in `conversation_rows` (`org | customer`), rewritten by every use case that changes one of
/// its sources, and compared with them by `crm verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRow {
    /// The customer (one conversation per customer).
    pub customer: CustomerId,
    /// Their full name.
    pub name: String,
    /// Their Telegram username, without `@`.
    pub username: Option<String>,
    /// Their phone (E.164).
    pub phone: Option<String>,
    /// Unread customer messages.
    pub unread: u32,
    /// When they last wrote or were written to (the list's order).
    pub last_activity_at: Timestamp,
    /// The customer's latest message, if any (what wakes a snooze and reopens a close).
    pub last_inbound: Option<MessageId>,
    /// The latest message that is not a note.
    pub preview: Option<MessagePreview>,
    /// The operator it is assigned to (operators module).
    pub assignee: Option<UserId>,
    /// Its department (operators module).
    pub department: Option<DepartmentId>,
    /// Open, snoozed or closed.
    pub state: ConversationState,
    /// Whether its closed queue item was archived (operators module, issue 11): it leaves
    /// the inbox's lists for the archived list.
    pub archived: bool,
}
