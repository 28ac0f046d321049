//! The operators module's records (SPEC 5B, Django operator seed): departments, each
//! operator's presence, the queue items (a customer's conversation or a ticket) routed to
//! departments and operators, and the module's per-organization settings.

use serde::{Deserialize, Serialize};

use super::{CustomerId, DepartmentId, OperatorStatus, OrderId, QueueItemId, Timestamp, UserId};

/// A department: a named group of operators that conversations and tickets are routed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    /// The id.
    pub id: DepartmentId,
    /// The name, 1-64 characters, unique within the organization ignoring case.
    pub name: String,
    /// An archived department takes no new items and is not offered to customers.
    pub archived: bool,
    /// Its operators (staff users), in the order they were added.
    pub members: Vec<UserId>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// One staff user's presence as an operator, and when they were last given an item (ties of
/// the least-loaded rule go to whoever waited longest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorState {
    /// The staff user.
    pub user: UserId,
    /// Online, away or offline.
    pub status: OperatorStatus,
    /// When the status last changed.
    pub changed_at: Timestamp,
    /// When an item was last assigned to them (`None`: never).
    pub last_assigned_at: Option<Timestamp>,
}

/// What a queue item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueSubject {
    /// A customer's chat with the team (one open at a time per customer).
    Conversation(CustomerId),
    /// An order of the pipeline handled as a ticket.
    Ticket(OrderId),
}

impl QueueSubject {
    /// 1 for a conversation, 2 for a ticket: the kind byte of the queue's index keys.
    pub fn kind_byte(self) -> u8 {
        match self {
            QueueSubject::Conversation(_) => 1,
            QueueSubject::Ticket(_) => 2,
        }
    }

    /// The customer's or the order's id.
    pub fn raw_id(self) -> u64 {
        match self {
            QueueSubject::Conversation(customer) => customer.0,
            QueueSubject::Ticket(order) => order.0,
        }
    }
}

/// Whether a queue item is still being worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QueueState {
    /// Open: assigned to an operator, or waiting in its department's queue.
    Open,
    /// Closed (a conversation closed by staff, a ticket in a terminal stage).
    Closed,
}

/// An item of the operators queue: a conversation or a ticket, its department, its assignee
/// and the times first response statistics are computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    /// The id.
    pub id: QueueItemId,
    /// The conversation's customer or the ticket's order.
    pub subject: QueueSubject,
    /// The department it is routed to (`None`: the organization has no active department).
    pub department: Option<DepartmentId>,
    /// The operator it is assigned to; `None` while it waits in the queue.
    pub assignee: Option<UserId>,
    /// Open or closed.
    pub state: QueueState,
    /// When it was opened (or last reopened).
    pub opened_at: Timestamp,
    /// When the current assignee got it.
    pub assigned_at: Option<Timestamp>,
    /// The first customer message of the conversation (a ticket: its creation).
    pub first_customer_message_at: Option<Timestamp>,
    /// The first staff reply after that: first response time is the difference.
    pub first_reply_at: Option<Timestamp>,
    /// The staff user who sent the first reply.
    pub first_reply_by: Option<UserId>,
    /// Since when a customer message waits for a staff reply (`None`: answered). The answer
    /// timeout re-routes an item whose assignee leaves it unanswered.
    pub awaiting_reply_since: Option<Timestamp>,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
    /// When the `archive_conversations` job archived it (a closed conversation only):
    /// an archived conversation leaves the inbox's working lists (`queue_closed`, the
    /// inbox's customer list) and is listed under "Archived" (`queue_archived`); reopening it
    /// or a customer message clears it. `None`: not archived.
    pub archived_at: Option<Timestamp>,
}

/// The operators module's settings of one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSettings {
    /// An online operator idle this long (minutes, no request from their browser) becomes
    /// away; 0 turns it off.
    pub idle_away_minutes: u32,
    /// An item left unanswered this long (minutes) after it was assigned is re-routed; 0
    /// turns it off.
    pub answer_timeout_minutes: u32,
    /// Where items go when the customer did not choose (`None`: the first active one).
    pub default_department: Option<DepartmentId>,
    /// Whether the bot asks a customer with no open conversation which department they
    /// want, when there are several active ones.
    pub ask_department: bool,
}

impl Default for OperatorSettings {
    fn default() -> Self {
        OperatorSettings {
            idle_away_minutes: 15,
            answer_timeout_minutes: 10,
            default_department: None,
            ask_department: true,
        }
    }
}
