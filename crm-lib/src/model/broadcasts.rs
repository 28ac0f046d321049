//! Broadcasts (SPEC 5D, issue 13; the PRD's "Broadcast Messaging", section 3.4.4): one text
//! sent to every customer an audience filter picks, at a set rate, with each recipient's
//! delivery state kept in the data file.

use serde::{Deserialize, Serialize};

use super::{BroadcastId, CustomerId, Language, OutboxId, Timestamp, UserId};

/// Who a broadcast goes to. Every condition that is set must hold; an empty filter picks every
/// customer the bot can reach (a Telegram account, not blocked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// The customers' languages; empty for any.
    pub languages: Vec<Language>,
    /// Premium subscribers only (`Some(true)`), non-subscribers only (`Some(false)`), or
    /// both. A subscription is active while its end is in the future.
    pub subscribers: Option<bool>,
    /// The lowest token balance, inclusive.
    pub balance_min: Option<u64>,
    /// The highest token balance, inclusive.
    pub balance_max: Option<u64>,
    /// Active (wrote or were written to) within this many days.
    pub active_within_days: Option<u32>,
    /// Customers who placed at least one order (`Some(true)`), or none (`Some(false)`).
    pub has_ordered: Option<bool>,
}

impl Audience {
    /// Whether no condition is set.
    pub fn is_everyone(&self) -> bool {
        *self == Audience::default()
    }
}

/// Where a broadcast stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BroadcastState {
    /// Being written; nothing is sent.
    Draft,
    /// Waiting for [`Broadcast::scheduled_at`]; the audience is picked when it starts.
    Scheduled,
    /// Its recipients are being sent to, at its rate.
    Sending,
    /// Stopped by staff; resuming sends to the recipients not sent to yet.
    Paused,
    /// Every recipient was sent to, or given up.
    Finished,
    /// Cancelled by staff: the recipients not sent to yet are skipped.
    Cancelled,
}

impl BroadcastState {
    /// The stable name used in URLs, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            BroadcastState::Draft => "draft",
            BroadcastState::Scheduled => "scheduled",
            BroadcastState::Sending => "sending",
            BroadcastState::Paused => "paused",
            BroadcastState::Finished => "finished",
            BroadcastState::Cancelled => "cancelled",
        }
    }

    /// Whether the sender still has work in it (sending, or paused with recipients left).
    pub fn is_running(self) -> bool {
        matches!(self, BroadcastState::Sending | BroadcastState::Paused)
    }
}

/// The delivery report: how many recipients stand where. `recipients` is the sum of the
/// others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastCounts {
    /// Everyone the audience picked when the broadcast started.
    pub recipients: u64,
    /// Not handed to the outbox yet.
    pub pending: u64,
    /// In the outbox, not answered yet.
    pub queued: u64,
    /// Telegram accepted the message.
    pub sent: u64,
    /// Telegram refused it, or the send was interrupted (see [`RecipientState::Failed`]).
    pub failed: u64,
    /// The customer blocked the bot (Telegram answered 403), or was already known to have.
    pub blocked: u64,
    /// Not sent: the broadcast was cancelled first, or the customer lost their Telegram
    /// account (a merge) before their turn.
    pub skipped: u64,
}

impl BroadcastCounts {
    /// The recipients still to be answered for (pending or queued).
    pub fn open(&self) -> u64 {
        self.pending + self.queued
    }

    /// The recipients answered for (sent, failed, blocked or skipped): the progress bar's
    /// value, out of [`BroadcastCounts::recipients`].
    pub fn answered(&self) -> u64 {
        self.sent + self.failed + self.blocked + self.skipped
    }

    /// The share of the sends Telegram answered that arrived, in percent: sent over sent,
    /// failed and blocked (skipped recipients were never tried); the PRD's `successRate`.
    /// `None` before the first answer.
    pub fn success_rate(&self) -> Option<f64> {
        let tried = self.sent + self.failed + self.blocked;
        (tried > 0).then(|| self.sent as f64 * 100.0 / tried as f64)
    }
}

/// A broadcast: a text to the customers an [`Audience`] picks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broadcast {
    /// The id, from sequence `broadcast`.
    pub id: BroadcastId,
    /// A name staff give it, 1-100 characters (customers never see it).
    pub title: String,
    /// The message, 1-3,900 characters (the PRD's limit, under Telegram's 4,096).
    pub text: String,
    /// Who gets it.
    pub audience: Audience,
    /// Messages per second, 1-30 (Telegram allows a bot about 30 a second in all; the outbox
    /// keeps every send, broadcast or not, within that).
    pub rate_per_second: u32,
    /// Where it stands.
    pub state: BroadcastState,
    /// When a scheduled broadcast starts.
    pub scheduled_at: Option<Timestamp>,
    /// Who wrote it.
    pub author: UserId,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it last changed (text, state, counts).
    pub updated_at: Timestamp,
    /// When it started sending.
    pub started_at: Option<Timestamp>,
    /// When its last recipient was answered for, or it was cancelled.
    pub finished_at: Option<Timestamp>,
    /// The delivery report.
    pub counts: BroadcastCounts,
    /// The last recipient handed to the outbox: the sender continues after it (recipients
    /// are handed over in customer order).
    pub cursor: Option<CustomerId>,
    /// Test sends so far (to staff's linked chats).
    pub test_sends: u32,
}

/// Where one recipient of a broadcast stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipientState {
    /// Not handed to the outbox yet.
    Pending,
    /// In the outbox as this item.
    Queued(OutboxId),
    /// Telegram accepted it.
    Sent {
        /// Telegram's `message_id`.
        telegram_message_id: Option<i64>,
        /// When.
        at: Timestamp,
    },
    /// Telegram refused it, or a send was interrupted (a restart, a broken connection) at a
    /// moment when it cannot be known whether it arrived: it is not sent again, so nobody gets
    /// a broadcast twice.
    Failed {
        /// Why, in words.
        reason: String,
    },
    /// The customer blocked the bot.
    Blocked,
    /// Not sent (see [`BroadcastCounts::skipped`]).
    Skipped,
}

impl RecipientState {
    /// The stable name used in filters, the API and the CSV report.
    pub fn as_str(&self) -> &'static str {
        match self {
            RecipientState::Pending => "pending",
            RecipientState::Queued(_) => "queued",
            RecipientState::Sent { .. } => "sent",
            RecipientState::Failed { .. } => "failed",
            RecipientState::Blocked => "blocked",
            RecipientState::Skipped => "skipped",
        }
    }
}

/// One recipient of a broadcast (key `org | broadcast | customer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastRecipient {
    /// The broadcast.
    pub broadcast: BroadcastId,
    /// The customer.
    pub customer: CustomerId,
    /// Where it stands.
    pub state: RecipientState,
}
