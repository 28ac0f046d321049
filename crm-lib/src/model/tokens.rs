//! The token service (SPEC 5D, the `tokens` module; source: the TeleKpr PRD, sections 3.2,
//! 3.3, 6.2 and 8): packages priced in tokens, the append-only token ledger, each customer's
//! account (balance and premium subscription), and the token side of an order (what it cost,
//! whether it was refunded, its place in the queue).
//!
//! Amounts are whole tokens. A ledger amount is signed: credits (purchase, refund, bonus, a
//! positive adjustment) are positive, debits (spend, a negative adjustment) negative.

use serde::{Deserialize, Serialize};

use super::{ActorRef, CustomerId, Localized, OrderId, Timestamp};

/// A package: a service offering priced in tokens (TeleKpr PRD 3.2.1 and 8.1: "100 sites:
/// 100 tokens (regular) / 60 tokens (subscriber)").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Per-organization number from sequence `package`.
    pub id: u64,
    /// A stable key (`sites_100`): `a-z`, `0-9` and `_`, 1-32 characters.
    pub key: String,
    /// Its name per language (`100 sites`).
    pub name: Localized,
    /// How many units it delivers (the PRD's `sites_count`); shown beside the name.
    pub units: u32,
    /// The price in tokens for customers without an active subscription, at least 1.
    pub price: u64,
    /// The price in tokens for subscribers, at least 1 and at most [`Package::price`].
    pub subscriber_price: u64,
    /// Offered to customers; an inactive package stays on the orders that used it.
    pub active: bool,
    /// Place in lists, ascending.
    pub position: u32,
}

impl Package {
    /// The subscriber discount in whole percent, rounded down (`100 -> 60` is 40).
    pub fn discount_percent(&self) -> u64 {
        if self.price == 0 {
            return 0;
        }
        (self.price - self.subscriber_price.min(self.price)) * 100 / self.price
    }

    /// Its price for a subscriber or not.
    pub fn price_for(&self, subscriber: bool) -> u64 {
        if subscriber {
            self.subscriber_price
        } else {
            self.price
        }
    }
}

/// The token service's settings of an organization (absent until first saved: the
/// [`Default`], the PRD's figures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSettings {
    /// The email-confirmation add-on's price in tokens (PRD 8.1: 50).
    pub email_addon_price: u64,
    /// Its price for subscribers (PRD 8.1: 30).
    pub email_addon_subscriber_price: u64,
    /// A customer whose balance falls below this many tokens is told once (PRD 8.4: 50); 0
    /// switches the alert off.
    pub low_balance_threshold: u64,
    /// The premium subscription's price in tokens, paid from the balance.
    pub subscription_price: u64,
    /// How long one purchase of the subscription lasts, in days (PRD 8.3: 30).
    pub subscription_days: u32,
    /// How many days before the end the subscriber is reminded (PRD 8.4: 3).
    pub reminder_days: u32,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            email_addon_price: 50,
            email_addon_subscriber_price: 30,
            low_balance_threshold: 50,
            subscription_price: 500,
            subscription_days: 30,
            reminder_days: 3,
        }
    }
}

/// What a ledger entry records (PRD 6.2 `transaction_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LedgerKind {
    /// Tokens bought with a payment (positive).
    Purchase,
    /// Tokens paid for an order or the subscription (negative).
    Spend,
    /// A spend given back, once, when its order was cancelled (positive).
    Refund,
    /// A correction by staff with a reason (either sign).
    Adjustment,
    /// Tokens given by staff or a promotion (positive).
    Bonus,
}

impl LedgerKind {
    /// Every kind, in declaration order.
    pub const ALL: [LedgerKind; 5] = [
        LedgerKind::Purchase,
        LedgerKind::Spend,
        LedgerKind::Refund,
        LedgerKind::Adjustment,
        LedgerKind::Bonus,
    ];

    /// Its stable name (`purchase`), as the API, the CSV and the locale keys say it.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Purchase => "purchase",
            LedgerKind::Spend => "spend",
            LedgerKind::Refund => "refund",
            LedgerKind::Adjustment => "adjustment",
            LedgerKind::Bonus => "bonus",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<LedgerKind> {
        LedgerKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text.trim())
    }
}

/// One entry of the append-only token ledger (PRD 6.2 `Token_Transactions`). Entries are
/// never changed or deleted; a customer's balance is the sum of their entries' amounts, and
/// each entry carries the balance after it (what `crm verify` checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Per-organization number from sequence `ledger`: entries are numbered in the order they
    /// were written, across customers.
    pub id: u64,
    /// Whose tokens.
    pub customer: CustomerId,
    /// What it records.
    pub kind: LedgerKind,
    /// Tokens, signed: credits positive, debits negative; never 0.
    pub amount: i64,
    /// The customer's balance after this entry, never negative.
    pub balance_after: i64,
    /// The order it is about (a spend, its refund), when there is one. Kept as a number: the
    /// entry outlives a deleted order.
    pub order: Option<OrderId>,
    /// The payment it records (a purchase): the provider and its id, `oxapay:<track id>`
    /// or `stars:<charge id>`.
    pub payment: Option<String>,
    /// Why, in words: the package bought, the reason of an adjustment (required there).
    pub description: String,
    /// Who wrote it: a staff user, the customer, or the system.
    pub by: ActorRef,
    /// When.
    pub at: Timestamp,
}

/// A customer's token account: their balance and their premium subscription (PRD 6.2
/// `token_balance` and `Subscriptions`). Absent until the first entry or subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAccount {
    /// Whose.
    pub customer: CustomerId,
    /// Tokens, the sum of the customer's ledger entries; never negative.
    pub balance: i64,
    /// How many ledger entries the customer has.
    pub entries: u64,
    /// The id of the customer's latest ledger entry, if any.
    pub last_entry: Option<u64>,
    /// The premium subscription's end, when the customer ever had one (past: expired).
    pub premium_until: Option<Timestamp>,
    /// The end the expiry reminder was sent for, so a renewal is reminded again.
    pub reminded_for: Option<Timestamp>,
    /// The end whose expiry the customer was told of.
    pub expiry_told_for: Option<Timestamp>,
    /// Whether the low-balance alert was sent since the balance last stood at or above the
    /// threshold (one alert per fall).
    pub low_balance_alerted: bool,
}

impl TokenAccount {
    /// A customer's account before anything happened to it.
    pub fn new(customer: CustomerId) -> Self {
        TokenAccount {
            customer,
            balance: 0,
            entries: 0,
            last_entry: None,
            premium_until: None,
            reminded_for: None,
            expiry_told_for: None,
            low_balance_alerted: false,
        }
    }

    /// Whether the premium subscription is active at `now`.
    pub fn is_subscriber(&self, now: Timestamp) -> bool {
        self.premium_until.is_some_and(|until| until > now)
    }
}

/// The token side of an order of the tokens module: what was bought, for whom, what it
/// cost, and its place in the queue (PRD 6.2 `Orders`: `package_type`, `token_cost`,
/// `queue_position`, `is_priority`, `is_rerun`, `subscriber_discount_applied`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenOrder {
    /// The order.
    pub order: OrderId,
    /// Whose order (the order's customer).
    pub customer: CustomerId,
    /// The package bought.
    pub package: u64,
    /// The package's units at the time (the PRD's `sites_count`).
    pub units: u32,
    /// Whether the email-confirmation add-on was bought with it.
    pub email_confirmation: bool,
    /// The profile (the person ordered for), when the customer picked one.
    pub profile: Option<u64>,
    /// Tokens charged (package plus add-on).
    pub cost: u64,
    /// Whether the subscriber prices were applied.
    pub subscriber_price: bool,
    /// Whether it was placed with priority (the customer was a subscriber).
    pub priority: bool,
    /// The completed order this one runs again, when it is a rerun.
    pub rerun_of: Option<OrderId>,
    /// The spend entry that charged it.
    pub charge: u64,
    /// The refund entry, once it was refunded (at most one).
    pub refund: Option<u64>,
    /// Its place in the queue while it waits or is worked on (ascending; `None` once
    /// finished or cancelled). Subscribers' orders start ahead of regular ones; staff may
    /// move any order.
    pub rank: Option<u64>,
}
