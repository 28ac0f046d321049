//! The tickets module's records (SPEC section 5C, Brando seed): fraud rules as data, the
//! blocklist, and the flags the rules raised on a ticket.

use serde::{Deserialize, Serialize};

use super::{ActorRef, OrderId, TelegramUserId, Timestamp};

/// What a fraud rule looks at. Stored by position: new kinds go at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FraudRuleKind {
    /// The same value of `field` (a serial number) on more than `more_than` tickets created
    /// within the last `days` days, this one included.
    RepeatedSerial {
        /// The field compared (`serial`).
        field: String,
        /// Fires above this many tickets.
        more_than: u32,
        /// The window, in days.
        days: u32,
    },
    /// The customer's phone or Telegram id is on the organization's blocklist.
    Blocklisted,
    /// The customer has more than `more_than` tickets in a lost (cancelled) stage.
    Cancellations {
        /// Fires above this many cancelled tickets.
        more_than: u32,
    },
    /// The value of `field` does not match `pattern` (a regular expression over the whole
    /// value).
    FieldFormat {
        /// The field checked (`serial`).
        field: String,
        /// The expected form.
        pattern: String,
    },
}

impl FraudRuleKind {
    /// The rule's stable name: `repeated_serial`, `blocklisted`, `cancellations`,
    /// `field_format` (what flags, filters and the locale keys `tickets.rule.*` name).
    pub fn code(&self) -> &'static str {
        match self {
            FraudRuleKind::RepeatedSerial { .. } => "repeated_serial",
            FraudRuleKind::Blocklisted => "blocklisted",
            FraudRuleKind::Cancellations { .. } => "cancellations",
            FraudRuleKind::FieldFormat { .. } => "field_format",
        }
    }
}

/// One fraud rule with the points it adds to a ticket's fraud score when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudRule {
    /// What it checks, with its threshold.
    pub kind: FraudRuleKind,
    /// Points toward the fraud score, 0-100.
    pub points: u32,
    /// Whether it is evaluated.
    pub enabled: bool,
}

/// An organization's fraud settings: the rules with their thresholds, and the blocklist.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FraudSettings {
    /// The rules, evaluated in order.
    pub rules: Vec<FraudRule>,
    /// Blocked phone numbers, E.164 (`+79161234567`).
    pub blocked_phones: Vec<String>,
    /// Blocked Telegram user ids.
    pub blocked_telegram_ids: Vec<TelegramUserId>,
}

impl FraudSettings {
    /// The rules a helpdesk starts with (Brando seed): the same serial on more than 2
    /// tickets in 30 days (40 points), a blocklisted phone or Telegram id (60), more than 3
    /// cancelled tickets (30), a serial that is not 6-20 letters, digits and dashes (20).
    pub fn helpdesk_default() -> Self {
        FraudSettings {
            rules: vec![
                FraudRule {
                    kind: FraudRuleKind::RepeatedSerial {
                        field: "serial".into(),
                        more_than: 2,
                        days: 30,
                    },
                    points: 40,
                    enabled: true,
                },
                FraudRule {
                    kind: FraudRuleKind::Blocklisted,
                    points: 60,
                    enabled: true,
                },
                FraudRule {
                    kind: FraudRuleKind::Cancellations { more_than: 3 },
                    points: 30,
                    enabled: true,
                },
                FraudRule {
                    kind: FraudRuleKind::FieldFormat {
                        field: "serial".into(),
                        pattern: "[A-Za-z0-9-]{6,20}".into(),
                    },
                    points: 20,
                    enabled: true,
                },
            ],
            blocked_phones: Vec::new(),
            blocked_telegram_ids: Vec::new(),
        }
    }
}

/// Who cleared a flag, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagClearing {
    /// Who.
    pub by: ActorRef,
    /// Their note, 1-500 characters.
    pub note: String,
    /// When.
    pub at: Timestamp,
}

/// A flag a fraud rule raised on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudFlag {
    /// The rule's code ([`FraudRuleKind::code`]).
    pub rule: String,
    /// Why it fired, in English with the numbers (`serial ABC123 is on 3 tickets in 30 days`).
    pub reason: String,
    /// The points it adds while not cleared.
    pub points: u32,
    /// When it was raised.
    pub raised_at: Timestamp,
    /// Set once a manager cleared it; a cleared flag stays visible and adds no points.
    pub cleared: Option<FlagClearing>,
}

/// The fraud flags of one ticket (`order_fraud`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFraud {
    /// The ticket.
    pub order: OrderId,
    /// The flags, in the order the rules fired.
    pub flags: Vec<FraudFlag>,
}

impl OrderFraud {
    /// The fraud score: the points of the flags not cleared.
    pub fn score(&self) -> u32 {
        self.flags
            .iter()
            .filter(|flag| flag.cleared.is_none())
            .map(|flag| flag.points)
            .sum()
    }
}
