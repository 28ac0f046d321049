//! Scheduled messages (SPEC 5F "Scheduled messages and broadcasts", issue 13): a message staff
//! write now for a customer, sent at a later moment by the `scheduled_messages` job.

use serde::{Deserialize, Serialize};

use super::{CustomerId, MessageId, Timestamp, UserId};

/// Where a scheduled message stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduledState {
    /// Waiting for its moment.
    Waiting,
    /// Sent: the chat message it became.
    Sent {
        /// The message written to the conversation (and queued for Telegram).
        message: MessageId,
        /// When.
        at: Timestamp,
    },
    /// Cancelled by staff before its moment.
    Cancelled {
        /// When.
        at: Timestamp,
    },
    /// Its moment came but it could not be sent (the customer blocked the bot, the author
    /// lost the right to write to them...).
    Failed {
        /// Why, in words.
        reason: String,
    },
}

/// A message to a customer, to be sent at `send_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledMessage {
    /// Per-organization number from sequence `scheduled`.
    pub id: u64,
    /// To whom.
    pub customer: CustomerId,
    /// The text, 1 to 4096 characters.
    pub text: String,
    /// When it is to be sent (the job sends it within a minute after).
    pub send_at: Timestamp,
    /// Who wrote it (it is sent as them).
    pub author: UserId,
    /// When it was scheduled.
    pub created_at: Timestamp,
    /// Where it stands.
    pub state: ScheduledState,
}

impl ScheduledMessage {
    /// Whether it still waits for its moment.
    pub fn is_waiting(&self) -> bool {
        self.state == ScheduledState::Waiting
    }
}
