//! Record versions of every stored type, and the decoders of older versions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codec::{Record, decode_body};
use crate::Result;
use crate::model::*;

macro_rules! record {
    ($($ty:ty => $version:literal, $name:literal;)*) => {$(
        impl Record for $ty {
            const VERSION: u8 = $version;
            const NAME: &'static str = $name;
        }
    )*};
}

record! {
    Organization => 1, "organization";
    User => 1, "user";
    Role => 1, "role";
    Marker => 1, "marker";
    Customer => 1, "customer";
    Bid => 1, "bid";
    OrderGrant => 1, "grant";
    Message => 1, "message";
    Media => 1, "media";
    AuditEntry => 1, "audit";
    OutboxItem => 1, "outbox";
    InboxItem => 1, "inbox";
    LinkCode => 1, "link code";
    PaymentMethod => 1, "payment method";
    PaymentInfo => 1, "payment info";
}

/// An order as schema 1 stored it: before markers, priority, attachments and custom fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrderV1 {
    pub(crate) id: OrderId,
    pub(crate) customer: CustomerId,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) budget: Option<Money>,
    pub(crate) deadline: Option<Date>,
    pub(crate) stage: StageId,
    pub(crate) assignee: Option<UserId>,
    pub(crate) price: Option<Money>,
    pub(crate) rejection_reason: Option<String>,
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl From<OrderV1> for Order {
    fn from(old: OrderV1) -> Self {
        Order {
            id: old.id,
            customer: old.customer,
            title: old.title,
            description: old.description,
            budget: old.budget,
            deadline: old.deadline,
            stage: old.stage,
            assignee: old.assignee,
            price: old.price,
            markers: Vec::new(),
            priority: 0,
            rejection_reason: old.rejection_reason,
            attachments: Vec::new(),
            custom_fields: BTreeMap::new(),
            created_at: old.created_at,
            updated_at: old.updated_at,
        }
    }
}

impl Record for Order {
    const VERSION: u8 = 2;
    const NAME: &'static str = "order";

    fn upgrade(version: u8, body: &[u8]) -> Result<Self> {
        match version {
            1 => Ok(decode_body::<OrderV1>(body, "order v1")?.into()),
            other => Err(crate::Error::corrupt(format!(
                "order record has unknown version {other}"
            ))),
        }
    }
}
