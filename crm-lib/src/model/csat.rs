//! Customer satisfaction (CSAT, SPEC 5F): a survey of 1-5 stars sent to the customer when an
//! order is delivered or a ticket resolved, and the organization's survey settings.

use serde::{Deserialize, Serialize};

use super::{CustomerId, Localized, OrderId, Timestamp, UserId};

/// The survey of one order: sent once, rated once, optionally commented once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatSurvey {
    /// The order it is about (one survey per order: also its key).
    pub order: OrderId,
    /// The customer asked.
    pub customer: CustomerId,
    /// The operator the rating counts for: the order's assignee, or (operators module) the
    /// assignee of its ticket or of the customer's conversation, when the survey was sent.
    pub operator: Option<UserId>,
    /// When the survey was queued.
    pub sent_at: Timestamp,
    /// The stars given, 1-5; `None` until the customer answers.
    pub rating: Option<u8>,
    /// When the customer answered.
    pub rated_at: Option<Timestamp>,
    /// The customer's comment on the rating, when they wrote one.
    pub comment: Option<String>,
}

/// An organization's survey settings (absent until first saved: on, with the locale files'
/// question).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatSettings {
    /// Whether surveys are sent.
    pub enabled: bool,
    /// The question per language; a language without one uses the locale files' default
    /// (`csat.question`).
    pub question: Localized,
}

impl Default for CsatSettings {
    fn default() -> Self {
        CsatSettings {
            enabled: true,
            question: Localized::default(),
        }
    }
}
