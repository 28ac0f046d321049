//! Operational records: the actor who causes every change, the notifications (`Event`) the
//! outbox delivers, and the inbox of Telegram updates.

use serde::{Deserialize, Serialize};

use super::{
    CustomerId, FieldDef, FieldValue, FormName, Localized, MediaKind, MessageId, Money, OrderId,
    OrgId, StageId, Timestamp, UserId,
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
        /// Its name, in every language the organization named it in.
        stage_name: Localized,
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
    /// Yesterday's summary (to staff with `view_analytics` or `assign_orders`), sent by the
    /// `daily_report` job at the organization's report time. Added after the others: stored
    /// items name their variant by position.
    DailyReport {
        /// The counts.
        summary: super::DailySummary,
    },
    /// A ticket was assigned to a master (to the master, in an organization whose tickets
    /// module is on): the ticket's typed fields, and the stages the master may move it to,
    /// which the bot offers as buttons.
    TicketAssigned {
        /// The ticket.
        order: OrderId,
        /// Its title.
        title: String,
        /// Its typed fields with their definitions, in the declared order.
        fields: Vec<(FieldDef, FieldValue)>,
        /// The stages the assignee may move it to now, with their names.
        moves: Vec<(StageId, Localized)>,
    },
    /// A conversation of the operators queue was assigned to this operator (to the operator).
    /// Added after the others: stored items name their variant by position.
    ConversationAssigned {
        /// Whose conversation.
        customer: CustomerId,
        /// The customer's name.
        customer_name: String,
        /// The department's name, when it has one.
        department: Option<String>,
    },
    /// A customer wrote (issue 12, to the staff user who is to answer: the conversation's
    /// assignee, else its department's online operators; see `crm_lib::staff_chat`). A reply
    /// to this notification in Telegram answers the customer. Added after the others: stored
    /// items name their variant by position.
    CustomerWrote {
        /// Who wrote.
        customer: CustomerId,
        /// Their name.
        customer_name: String,
        /// The message.
        message: MessageId,
        /// The order it is about, when there is one.
        order: Option<OrderId>,
        /// Its text or caption (may be empty for a file).
        text: String,
        /// The kind of its first file, when it carries one (the notice names it).
        attachment: Option<MediaKind>,
    },
    /// A satisfaction survey for a finished order (to the customer): the question with five
    /// buttons, 1 to 5 stars. Added after the others: stored items name their variant by
    /// position.
    CsatSurvey {
        /// The order rated.
        order: OrderId,
        /// Its title.
        title: String,
        /// The organization's question per language; a language without one uses the locale
        /// files' `csat.question`.
        question: Localized,
    },
    /// An order of the token service was placed (to the customer): what it cost, the
    /// balance left and its place in the queue. Added after the others (issue 13).
    OrderQueued {
        /// The order.
        order: OrderId,
        /// Its title (the package).
        title: String,
        /// Tokens charged.
        cost: u64,
        /// The balance after the charge.
        balance: i64,
        /// Its place in the queue, from 1.
        position: u64,
    },
    /// Tokens were credited (to the customer): a purchase, a bonus, an adjustment either
    /// way.
    BalanceChanged {
        /// What the entry records.
        kind: crate::model::LedgerKind,
        /// Tokens, signed.
        amount: i64,
        /// The balance after it.
        balance: i64,
        /// The entry's description (the reason of an adjustment).
        description: String,
    },
    /// The balance fell below the organization's threshold (to the customer; PRD 8.4).
    LowBalance {
        /// The balance now.
        balance: i64,
        /// The threshold.
        threshold: u64,
    },
    /// The premium subscription ends soon (to the customer; PRD 8.4: 3 days before).
    SubscriptionExpiring {
        /// Its end.
        until: Timestamp,
    },
    /// The premium subscription has ended (to the customer).
    SubscriptionExpired,
    /// An invoice for tokens is ready to pay at its link (to the customer). Added after
    /// the others: stored items name their variant by position.
    InvoiceReady {
        /// The invoice.
        invoice: u64,
        /// Tokens it buys.
        tokens: u64,
        /// Its price in minor units of `currency`.
        amount: u64,
        /// The price's currency (ISO 4217).
        currency: String,
        /// Where to pay (OxaPay's `payment_url`).
        link: String,
    },
    /// An invoice for tokens could not be opened at the payment provider within its lifetime
    /// and was closed (to the customer, who may ask again). Added after the others: stored
    /// items name their variant by position.
    InvoiceFailed {
        /// The invoice.
        invoice: u64,
        /// Tokens it would have bought.
        tokens: u64,
    },
    /// A worker's daily report on the client's project (to the client, issue 14). Added after
    /// the others: stored items name their variant by position.
    ProjectReport {
        /// The project.
        project: super::ProjectId,
        /// Its title.
        title: String,
        /// The report.
        report: super::ReportId,
        /// The stage it is about, by name.
        stage: String,
        /// The start of its text (may be empty).
        text: String,
        /// How many photos and videos it carries.
        files: u32,
    },
    /// A change request waits for the client's decision (to the client, issue 14).
    ChangeRequestWaiting {
        /// The project.
        project: super::ProjectId,
        /// Its title.
        project_title: String,
        /// The request.
        request: super::ChangeRequestId,
        /// What changes.
        title: String,
        /// What it adds to the budget (negative: takes off).
        amount: Money,
        /// The project's currency.
        currency: String,
    },
    /// A customer wrote about their lead (the projects module; to staff with
    /// `moderate_orders` and a linked Telegram account, who are then not sent
    /// [`Event::CustomerWrote`] for it). A reply to it answers the customer, as a reply to
    /// [`Event::CustomerWrote`] does. Added after the others: stored items name their variant
    /// by position.
    LeadWrote {
        /// Who wrote.
        customer: CustomerId,
        /// Their name.
        customer_name: String,
        /// The message.
        message: MessageId,
        /// The lead (an order).
        lead: OrderId,
        /// The lead's title.
        title: String,
        /// The message's text or caption (may be empty for a file).
        text: String,
        /// The kind of its first file, when it carries one.
        attachment: Option<MediaKind>,
        /// Whether the lead is hot.
        hot: bool,
    },
    /// A lead became hot (to staff with `moderate_orders` and a linked Telegram account): the
    /// AI stopped on it and a person is to take over. Added after the others.
    LeadHot {
        /// The lead (an order).
        lead: OrderId,
        /// Its title.
        title: String,
        /// The customer's name.
        customer_name: String,
        /// Why it is hot.
        reason: String,
        /// The AI's summary, when there is one.
        summary: Option<String>,
    },
    /// A question of a conversational form that crm-lib sends by itself rather than in answer
    /// to the customer (to the customer: the lead's fixed questions once the AI gave up on
    /// it). The bot renders it as it renders the form's questions, with their buttons. Added
    /// after the others.
    FormQuestion {
        /// The form.
        form: FormName,
        /// The field asked.
        field: FieldDef,
        /// Its position among the form's fields (from 1) and their number.
        position: (u32, u32),
        /// Whether Skip is offered.
        skippable: bool,
        /// The field's default answer, as typed, when it has one.
        default: Option<String>,
    },
    /// A change request was approved or rejected (issue 14; to the staff user who wrote it,
    /// when someone else decided: the client in the bot or the Mini App, or another manager
    /// on their behalf). Added after the others: stored items name their variant by position.
    ChangeRequestDecided {
        /// The project.
        project: super::ProjectId,
        /// Its title.
        project_title: String,
        /// The request.
        request: super::ChangeRequestId,
        /// What changes.
        title: String,
        /// What it adds to the budget (negative: takes off).
        amount: Money,
        /// The project's currency.
        currency: String,
        /// `Approved` or `Rejected`.
        state: super::ChangeRequestState,
        /// Whether the client decided (else staff on their behalf).
        by_client: bool,
        /// The budget total after the decision.
        budget_total: Money,
    },
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
