//! Operational records: the audit log, the outbox of notifications and bot calls, the inbox
//! of Telegram updates, and the actor who causes every change.

use serde::{Deserialize, Serialize};

use super::{
    ChatId, CustomerId, MediaHash, MessageId, Money, OrderId, OrgId, OutboxId, StageId, Timestamp,
    UserId,
};

/// Where a request came from, for the audit log (Django operator seed: ip and user agent).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Origin {
    /// Client address.
    pub ip: Option<String>,
    /// Browser or client identification, cut to 256 characters.
    pub user_agent: Option<String>,
}

/// Who acts, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActorRef {
    /// A staff user (browser, API token or Telegram).
    Staff(UserId),
    /// A customer through the bot.
    Customer(CustomerId),
    /// The administrator's command line or the appliance itself.
    System,
}

impl std::fmt::Display for ActorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActorRef::Staff(user) => write!(f, "user {user}"),
            ActorRef::Customer(customer) => write!(f, "customer {customer}"),
            ActorRef::System => f.write_str("system"),
        }
    }
}

/// Who is calling a use case, in which organization, and from where.
///
/// Permissions are checked against this on every call. `System` is the trusted caller (the
/// `crm` command line, scheduled jobs, the demo loader): it passes every permission check but
/// still obeys the business rules (limits, transitions, budgets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The organization acted on; every read and write is confined to it.
    pub org: OrgId,
    /// Who.
    pub who: ActorRef,
    /// Where from, when known.
    pub origin: Origin,
}

impl Actor {
    /// A staff user of `org`.
    pub fn staff(org: OrgId, user: UserId) -> Self {
        Actor {
            org,
            who: ActorRef::Staff(user),
            origin: Origin::default(),
        }
    }

    /// A customer of `org`.
    pub fn customer(org: OrgId, customer: CustomerId) -> Self {
        Actor {
            org,
            who: ActorRef::Customer(customer),
            origin: Origin::default(),
        }
    }

    /// The trusted system caller of `org`.
    pub fn system(org: OrgId) -> Self {
        Actor {
            org,
            who: ActorRef::System,
            origin: Origin::default(),
        }
    }

    /// The same actor with a request origin.
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }
}

/// Something that happened which someone must be told about. Rendered in the recipient's
/// language when the outbox delivers it, so the text follows their current setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// A customer created an order (to staff with `moderate_orders`).
    OrderCreated {
        /// The order.
        order: OrderId,
        /// Its title.
        title: String,
        /// The customer's name.
        customer_name: String,
        /// The budget, when given.
        budget: Option<Money>,
    },
    /// The order passed moderation (to the customer).
    OrderApproved {
        /// The order.
        order: OrderId,
        /// Its title.
        title: String,
    },
    /// The order was rejected (to the customer).
    OrderRejected {
        /// The order.
        order: OrderId,
        /// Its title.
        title: String,
        /// Why.
        reason: String,
    },
    /// A bid was placed (to staff with `assign_orders`).
    BidPlaced {
        /// The order.
        order: OrderId,
        /// Its title.
        title: String,
        /// The bidder's name.
        bidder: String,
        /// The price.
        price: Money,
        /// The organization's currency.
        currency: String,
    },
    /// The order was assigned (to the customer and to the assignee).
    OrderAssigned {
        /// The order.
        order: OrderId,
        /// Its title.
        title: String,
        /// The assignee's display name.
        assignee: String,
        /// True for the copy sent to the assignee.
        to_assignee: bool,
    },
    /// The order moved to another stage (to the customer).
    StageChanged {
        /// The order.
        order: OrderId,
        /// Its title.
        title: String,
        /// The new stage.
        stage: StageId,
        /// Its English name.
        stage_en: String,
        /// Its Russian name.
        stage_ru: String,
    },
    /// Payment details for an order (to the customer).
    PaymentInfo {
        /// The order.
        order: OrderId,
        /// Its title.
        title: String,
        /// The payment method's name.
        method: String,
        /// The amount due.
        amount: Money,
        /// The organization's currency.
        currency: String,
        /// The rendered details (account, instructions).
        details: String,
        /// The chat message that records the details in the conversation; marked sent when
        /// this notification is delivered.
        message: MessageId,
    },
    /// A staff user linked this Telegram account (to the staff user).
    StaffLinked {
        /// Their display name.
        display_name: String,
    },
}

/// Who an outbox item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Recipient {
    /// A customer, reached at their Telegram chat.
    Customer(CustomerId),
    /// A staff user, reached at their linked Telegram account.
    Staff(UserId),
    /// A raw chat (bot replies to whoever wrote).
    Chat(ChatId),
}

/// What an outbox item delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxPayload {
    /// A notification, rendered at delivery.
    Notify(Event),
    /// A chat message that staff wrote; its text and files are read from the message.
    ChatMessage(MessageId),
    /// A Bot API call prepared by the bot while it processed an update (a reply, an edited
    /// keyboard): the method name and its JSON parameters, with an optional stored file to
    /// upload.
    BotCall {
        /// Bot API method (`sendMessage`, `editMessageText`...).
        method: String,
        /// JSON object of parameters, without `chat_id` (taken from the recipient).
        params: String,
        /// A stored file to upload with the call.
        media: Option<MediaHash>,
    },
}

impl OutboxPayload {
    /// The chat message whose delivery state follows this item's, if any.
    pub fn message(&self) -> Option<MessageId> {
        match self {
            OutboxPayload::ChatMessage(message) => Some(*message),
            OutboxPayload::Notify(Event::PaymentInfo { message, .. }) => Some(*message),
            _ => None,
        }
    }
}

/// Where an outbox item stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// Delivered once; `telegram_message_id` is what Telegram returned.
    Delivered {
        /// Telegram's id of the sent message, when the method returns one.
        telegram_message_id: Option<i64>,
        /// When.
        at: Timestamp,
    },
    /// Given up: the recipient is unreachable (403) or the call was refused for good (400).
    Failed {
        /// What Telegram said.
        reason: String,
    },
}

/// A notification or bot call waiting to be delivered, written in the same transaction as the
/// change that caused it (SPEC section 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The id; delivery order follows it within a recipient.
    pub id: OutboxId,
    /// Who it is for.
    pub recipient: Recipient,
    /// What it carries.
    pub payload: OutboxPayload,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not before this moment.
    pub next_attempt_at: Timestamp,
    /// Where it stands.
    pub state: OutboxState,
    /// When it was written.
    pub created_at: Timestamp,
}

/// Where an inbox item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InboxState {
    /// Committed, not yet processed.
    Pending,
    /// Processed; its effects committed in the same transaction.
    Done,
}

/// A Telegram update, committed before it is acknowledged to Telegram (SPEC section 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxItem {
    /// Telegram's `update_id`; the key, so a repeated update is recognised.
    pub update_id: u64,
    /// The update as received, JSON.
    pub payload: String,
    /// Where it stands.
    pub state: InboxState,
    /// When it arrived.
    pub received_at: Timestamp,
}
