//! Payment methods and the payment details sent to customers (C0de seed).

use serde::{Deserialize, Serialize};

use super::{Money, OrderId, PaymentInfoId, PaymentMethodId, Timestamp, UserId};

/// A way to pay, with a template for the details sent to the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentMethod {
    /// The id.
    pub id: PaymentMethodId,
    /// Name shown to staff and customers (`Bank transfer`).
    pub name: String,
    /// Details template; `{amount}`, `{currency}` and `{order}` are filled in, and `{details}`
    /// with the sender's saved payment details for the method (appended when absent).
    pub template: String,
    /// Whether staff may pick it.
    pub active: bool,
}

/// Payment details that were sent to a customer for an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentInfo {
    /// The id.
    pub id: PaymentInfoId,
    /// The order.
    pub order: OrderId,
    /// The method used.
    pub method: PaymentMethodId,
    /// The amount asked.
    pub amount: Money,
    /// The rendered details as sent.
    pub details: String,
    /// Who sent them.
    pub sent_by: UserId,
    /// When.
    pub sent_at: Timestamp,
}

/// What the assignee receives for an order after commission (C0de seed: percentage plus a
/// fixed fee).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    /// The order's agreed price.
    pub price: Money,
    /// Commission withheld: `price * bps / 10000` rounded down, plus the fixed fee, capped at
    /// the price.
    pub commission: Money,
    /// `price - commission`, never negative.
    pub payout: Money,
}
