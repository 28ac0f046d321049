//! Record versions of every stored type, and the decoders of older versions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codec::{Record, decode_body};
use crate::Result;
use crate::model::*;

/// Something done once per stored record type, generically (see [`visit_every_record`]).
pub(crate) trait RecordVisitor {
    /// Called with each record type in turn.
    fn visit<T: Record>(&mut self);
}

macro_rules! record {
    ($($ty:ty => $version:literal, $name:literal;)*) => {
        $(
            impl Record for $ty {
                const VERSION: u8 = $version;
                const NAME: &'static str = $name;
            }
        )*

        /// Calls `visitor` with every record type the store keeps, including [`Order`] (whose
        /// versions are declared by hand below). Listing them here, next to their versions,
        /// means a new record type is fuzzed (`crate::fuzzing`) as soon as it is declared.
        pub(crate) fn visit_every_record(visitor: &mut impl RecordVisitor) {
            $( visitor.visit::<$ty>(); )*
            visitor.visit::<Order>();
        }
    };
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
    crate::services::sessions::Session => 1, "session";
    crate::services::api_tokens::ApiToken => 1, "api token";
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::store::codec::{decode, encode, encode_body};

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,40}", "[а-яё ]{0,20}", Just(String::new())]
    }

    prop_compose! {
        fn order_v1()(
            id in any::<u64>(), customer in any::<u64>(), title in text(), description in text(),
            budget in proptest::option::of(any::<i64>()), deadline in proptest::option::of(any::<i32>()),
            stage in any::<u16>(), assignee in proptest::option::of(any::<u64>()),
            price in proptest::option::of(any::<i64>()), rejection in proptest::option::of(text()),
            created in any::<i64>(), updated in any::<i64>(),
        ) -> OrderV1 {
            OrderV1 {
                id: OrderId(id), customer: CustomerId(customer), title, description,
                budget: budget.map(Money), deadline: deadline.map(|days| Date { days }),
                stage: StageId(stage), assignee: assignee.map(UserId), price: price.map(Money),
                rejection_reason: rejection, created_at: Timestamp(created), updated_at: Timestamp(updated),
            }
        }
    }

    fn field_value() -> impl Strategy<Value = FieldValue> {
        prop_oneof![
            text().prop_map(FieldValue::Text),
            any::<i64>().prop_map(FieldValue::Number),
            any::<bool>().prop_map(FieldValue::Flag),
            any::<i32>().prop_map(|days| FieldValue::Date(Date { days })),
        ]
    }

    prop_compose! {
        fn order()(
            old in order_v1(), markers in proptest::collection::vec(any::<u64>(), 0..4),
            priority in any::<i32>(), attachments in proptest::collection::vec(any::<[u8; 32]>(), 0..3),
            fields in proptest::collection::btree_map(text(), field_value(), 0..4),
        ) -> Order {
            let mut order: Order = old.into();
            order.markers = markers.into_iter().map(MarkerId).collect();
            order.priority = priority;
            order.attachments = attachments.into_iter().map(MediaHash).collect();
            order.custom_fields = fields;
            order
        }
    }

    prop_compose! {
        fn message()(
            id in any::<u64>(), customer in any::<u64>(), order in proptest::option::of(any::<u64>()),
            inbound in any::<bool>(), text in text(), telegram in proptest::option::of(any::<i64>()),
            at in any::<i64>(), hash in any::<[u8; 32]>(), size in any::<u64>(), name in proptest::option::of(text()),
        ) -> Message {
            Message {
                id: MessageId(id), customer: CustomerId(customer), order: order.map(OrderId),
                direction: if inbound { Direction::Inbound } else { Direction::Outbound },
                author: if inbound { Author::Customer(CustomerId(customer)) } else { Author::System },
                text,
                attachments: vec![Attachment { media: MediaHash(hash), kind: MediaKind::Photo, file_name: name, mime: "image/jpeg".into(), size }],
                telegram_message_id: telegram, delivery: DeliveryState::Received, created_at: Timestamp(at),
            }
        }
    }

    proptest! {
        #[test]
        fn every_order_round_trips_through_the_codec(order in order()) {
            let bytes = encode(&order).unwrap();
            prop_assert_eq!(bytes[0], 2);
            prop_assert_eq!(decode::<Order>(&bytes).unwrap(), order);
        }

        #[test]
        fn an_order_written_as_version_1_decodes_into_today_s_order(old in order_v1()) {
            let bytes = encode_body(&old, 1, "order").unwrap();
            prop_assert_eq!(decode::<Order>(&bytes).unwrap(), Order::from(old));
        }

        #[test]
        fn every_message_round_trips_through_the_codec(message in message()) {
            let bytes = encode(&message).unwrap();
            prop_assert_eq!(decode::<Message>(&bytes).unwrap(), message);
        }

        #[test]
        fn arbitrary_bytes_decode_to_an_error_or_a_value_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode::<Order>(&bytes);
            let _ = decode::<Customer>(&bytes);
            let _ = decode::<OutboxItem>(&bytes);
        }
    }

    #[test]
    fn an_unknown_version_is_reported_not_guessed() {
        let error = decode::<Customer>(&[9, 0, 0]).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Storage);
        assert!(error.to_string().contains("unknown version 9"), "{error}");
    }

    #[test]
    fn trailing_bytes_are_corruption() {
        let marker = Marker {
            id: MarkerId(1),
            name: "Rust".into(),
            color: "#dea584".into(),
        };
        let mut bytes = encode(&marker).unwrap();
        bytes.push(0);
        assert!(
            decode::<Marker>(&bytes)
                .unwrap_err()
                .to_string()
                .contains("trailing")
        );
    }
}
