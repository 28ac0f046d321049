//! Orders and bids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    BidId, CustomerId, Date, FieldValue, MarkerId, MediaHash, Money, OrderId, PaymentMethodId,
    StageId, Timestamp, UserId,
};

/// An order: what a customer asked for, where it stands, who works on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The id, also the number shown to people (`#42`).
    pub id: OrderId,
    /// Who ordered.
    pub customer: CustomerId,
    /// Short title, 1-200 characters.
    pub title: String,
    /// Details, up to 4000 characters.
    pub description: String,
    /// The most the customer will pay, when they said.
    pub budget: Option<Money>,
    /// When they need it.
    pub deadline: Option<Date>,
    /// Current pipeline stage.
    pub stage: StageId,
    /// Who works on it.
    pub assignee: Option<UserId>,
    /// The agreed price (the accepted bid's).
    pub price: Option<Money>,
    /// Tags.
    pub markers: Vec<MarkerId>,
    /// Higher runs first in queues; 0 is normal.
    pub priority: i32,
    /// Why it was rejected, when it was.
    pub rejection_reason: Option<String>,
    /// Files the customer attached while ordering.
    pub attachments: Vec<MediaHash>,
    /// Extra fields by name.
    pub custom_fields: BTreeMap<String, FieldValue>,
    /// How the customer would like to pay, when they said (C0de seed's bot asks at the end of
    /// the new-order form): a payment method that was active when the order was created. The
    /// payment details form starts on it; staff may still send details by another method.
    pub preferred_payment_method: Option<PaymentMethodId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// What a list shows of an order (the order list, the Kanban board, the dashboard): its
/// number, title, place in the pipeline, people, markers, money and dates, without the
/// description, attachments or custom fields. The store keeps one beside every order,
/// written in the same transaction (`order_rows`), so a list reads these instead of decoding
/// whole records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    /// The id, also the number shown to people (`#42`).
    pub id: OrderId,
    /// Who ordered.
    pub customer: CustomerId,
    /// Short title.
    pub title: String,
    /// Current pipeline stage.
    pub stage: StageId,
    /// Who works on it.
    pub assignee: Option<UserId>,
    /// Tags.
    pub markers: Vec<MarkerId>,
    /// The most the customer will pay, when they said.
    pub budget: Option<Money>,
    /// The agreed price.
    pub price: Option<Money>,
    /// When they need it.
    pub deadline: Option<Date>,
    /// Higher runs first in queues; 0 is normal.
    pub priority: i32,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// The ticket fields a list may show (the tickets module), by key: every value but text
    /// longer than [`OrderSummary::FIELD_TEXT_MAX`] bytes (a fault's story stays in the
    /// record). Empty for orders without fields. Added in row version 2.
    pub fields: Vec<(String, FieldValue)>,
}

impl OrderSummary {
    /// The longest text field value a list row carries, in bytes.
    pub const FIELD_TEXT_MAX: usize = 64;
}

impl From<&Order> for OrderSummary {
    fn from(order: &Order) -> Self {
        OrderSummary {
            id: order.id,
            customer: order.customer,
            title: order.title.clone(),
            stage: order.stage,
            assignee: order.assignee,
            markers: order.markers.clone(),
            budget: order.budget,
            price: order.price,
            deadline: order.deadline,
            priority: order.priority,
            created_at: order.created_at,
            updated_at: order.updated_at,
            fields: order
                .custom_fields
                .iter()
                .filter(|(_, value)| match value {
                    FieldValue::Text(text) => text.len() <= OrderSummary::FIELD_TEXT_MAX,
                    _ => true,
                })
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        }
    }
}

/// Where a bid stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BidState {
    /// Waiting for a decision.
    Active,
    /// Chosen: its author was assigned.
    Accepted,
    /// Another bid was chosen.
    Declined,
}

/// A staff user's price proposal on an order (C0de's "response").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bid {
    /// The id.
    pub id: BidId,
    /// The order.
    pub order: OrderId,
    /// Who proposed.
    pub user: UserId,
    /// The proposed price.
    pub price: Money,
    /// Their note.
    pub comment: String,
    /// Where it stands.
    pub state: BidState,
    /// When it was placed.
    pub created_at: Timestamp,
}
