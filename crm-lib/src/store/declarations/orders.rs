//! The declarations of the customers, orders, bids, order grants and payments.

use super::chat::{RefKind, media_ref_owner, media_refs};
use super::team::telegram_key;
use super::{org_of, owner_by_tail, owner_by_value, value_id};
use crate::model::*;
use crate::store::codec::{self, Record};
use crate::store::indexes::{Counter, Declared, Index, Layout, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

/// The key of a record's entry in a projection keyed like its record (`org | id`):
/// `customer_names`, `order_rows`.
pub(crate) fn row_key(org: OrgId, id: u64) -> Key {
    Key::org(org).u64(id)
}

/// The stored list row of `order` (`order_rows`). Encoding plain fields into a `Vec` cannot
/// fail; were bincode ever to refuse, the row would be a bare version tag, which every read
/// of it reports as corrupt rather than leaving the order out of its lists.
fn order_row(order: &Order) -> Value {
    let row = OrderSummary::from(order);
    Value::Row(codec::encode(&row).unwrap_or_else(|_| vec![OrderSummary::VERSION]))
}

/// The key of a customer's entry in `customers_by_activity` (conversations by last
/// activity, most recent last).
pub(crate) fn activity_key(org: OrgId, at: Timestamp, customer: CustomerId) -> Key {
    Key::org(org).i64(at.0).u64(customer.0)
}

impl Declared for Customer {
    const TABLE: Def = tables::CUSTOMERS;
    const NOUN: &'static str = "customer";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("customer");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::CUSTOMERS_BY_TELEGRAM,
            since: 1,
            entries: |org, _, customer, out| {
                if let Some(telegram) = customer.telegram_id {
                    out.push((telegram_key(org, telegram), Value::id(customer.id.0)));
                }
            },
            owner: owner_by_value,
            disagreement: |key, value, customer| {
                format!(
                    "says telegram {} is customer {}, whose telegram id is {:?}",
                    keys::read_i64(key, 8),
                    value_id(value),
                    customer.telegram_id.map(|id| id.0)
                )
            },
        },
        Index {
            table: tables::CUSTOMERS_BY_ACTIVITY,
            since: 2,
            entries: |org, _, customer, out| {
                out.push((
                    activity_key(org, customer.last_activity_at, customer.id),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: |_, _, customer| {
                format!(
                    "is stale: customer {} was last active at {}",
                    customer.id, customer.last_activity_at
                )
            },
        },
        Index {
            table: tables::CUSTOMER_NAMES,
            since: 5,
            entries: |org, _, customer, out| {
                out.push((
                    row_key(org, customer.id.0),
                    Value::Row(customer.full_name().into_bytes()),
                ));
            },
            owner: owner_by_tail,
            disagreement: |_, value, customer| {
                format!(
                    "is stale: it names customer {} {:?}, whose name is {:?}",
                    customer.id,
                    String::from_utf8_lossy(value),
                    customer.full_name()
                )
            },
        },
        super::calls::CUSTOMERS_BY_PHONE,
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

/// The key of an order-level grant in `grants`: organization, order, user, permission byte.
pub(crate) fn grant_key(org: OrgId, order: OrderId, user: UserId, permission: Permission) -> Key {
    Key::org(org).u64(order.0).u64(user.0).u8(permission as u8)
}

/// The key of a stage's counter in `order_counts`.
pub(crate) fn order_count_key(org: OrgId, stage: StageId) -> Key {
    Key::org(org).u16(stage.0)
}

/// The key of a title word in `orders_by_word`.
fn word_key(org: OrgId, word: &str, order: u64) -> Key {
    Key::org(org).bytes(word.as_bytes()).u8(0).u64(order)
}

/// What an order's entry in `orders_by_*` disagrees with.
fn order_disagreement(_: &[u8], _: &[u8], order: &Order) -> String {
    format!(
        "disagrees with order {} (stage {}, customer {}, assignee {:?})",
        order.id,
        order.stage,
        order.customer,
        order.assignee.map(|user| user.0)
    )
}

/// The key of an order's entry in `orders_by_field` for field `field` holding `value` (in
/// [`FieldValue::index_form`]); without `created` and `order`, the prefix of every order
/// with that value.
pub(crate) fn field_key(org: OrgId, field: &str, value: &str) -> Key {
    Key::org(org)
        .bytes(field.as_bytes())
        .u8(0)
        .bytes(value.as_bytes())
        .u8(0)
}

/// An index of orders whose entries are `org | field | order` for each value of a field.
macro_rules! order_index {
    ($table:expr, $since:literal, |$org:ident, $order:ident, $out:ident| $body:expr) => {
        Index {
            table: $table,
            since: $since,
            entries: |$org, _, $order, $out| $body,
            owner: owner_by_tail,
            disagreement: order_disagreement,
        }
    };
}

impl Declared for Order {
    const TABLE: Def = tables::ORDERS;
    const NOUN: &'static str = "order";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("order");
    const INDEXES: &'static [Index<Self>] = &[
        order_index!(tables::ORDERS_BY_STAGE, 1, |org, order, out| out.push((
            Key::org(org).u16(order.stage.0).u64(order.id.0),
            Value::Empty
        ))),
        order_index!(tables::ORDERS_BY_CUSTOMER, 1, |org, order, out| out.push((
            Key::org(org).u64(order.customer.0).u64(order.id.0),
            Value::Empty
        ))),
        order_index!(tables::ORDERS_BY_CUSTOMER_STAGE, 6, |org, order, out| out
            .push((
                Key::org(org)
                    .u64(order.customer.0)
                    .u16(order.stage.0)
                    .u64(order.id.0),
                Value::Empty
            ))),
        order_index!(tables::ORDERS_BY_DAY, 1, |org, order, out| out.push((
            Key::org(org).i64(order.created_at.day()).u64(order.id.0),
            Value::Empty
        ))),
        order_index!(tables::ORDERS_BY_ASSIGNEE, 1, |org, order, out| {
            if let Some(assignee) = order.assignee {
                out.push((Key::org(org).u64(assignee.0).u64(order.id.0), Value::Empty));
            }
        }),
        order_index!(tables::ORDERS_BY_MARKER, 1, |org, order, out| {
            let mut markers = order.markers.clone();
            markers.sort_unstable();
            markers.dedup();
            for marker in markers {
                out.push((Key::org(org).u64(marker.0).u64(order.id.0), Value::Empty));
            }
        }),
        order_index!(tables::ORDERS_BY_WORD, 2, |org, order, out| {
            for word in keys::title_words(&order.title) {
                out.push((word_key(org, &word, order.id.0), Value::Empty));
            }
        }),
        order_index!(tables::ORDERS_BY_FIELD, 6, |org, order, out| {
            for (field, value) in &order.custom_fields {
                if let Some(value) = value.index_form() {
                    out.push((
                        field_key(org, field, &value)
                            .i64(order.created_at.0)
                            .u64(order.id.0),
                        Value::Empty,
                    ));
                }
            }
        }),
        Index {
            table: tables::ORDER_ROWS,
            since: 5,
            entries: |org, _, order, out| out.push((row_key(org, order.id.0), order_row(order))),
            owner: owner_by_tail,
            disagreement: |_, _, order| {
                format!(
                    "is stale: it does not match order {} (stage {}, customer {}, assignee {:?})",
                    order.id,
                    order.stage,
                    order.customer,
                    order.assignee.map(|user| user.0)
                )
            },
        },
        Index {
            table: tables::MEDIA_REFS,
            since: 3,
            entries: |org, _, order, out| {
                media_refs(
                    org,
                    order.attachments.iter().copied(),
                    RefKind::Order,
                    order.id.0,
                    out,
                );
            },
            owner: |key, _| media_ref_owner(key, RefKind::Order),
            disagreement: |key, _, _| {
                format!(
                    "names order {}, which does not carry the file",
                    keys::tail_u64(key)
                )
            },
        },
    ];
    const COUNTERS: &'static [Counter<Self>] = &[Counter {
        table: tables::ORDER_COUNTS,
        key: |org, order| order_count_key(org, order.stage),
        describe: |key| {
            (key.len() == 10).then(|| {
                format!(
                    "stage {} of organization {}",
                    keys::read_u16(key, 8),
                    org_of(key)
                )
            })
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "belongs to customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
        out.extend(
            self.assignee
                .map(|user| Reference::new("is assigned to user", tables::USERS, org, user.0)),
        );
        out.extend(
            self.markers
                .iter()
                .map(|marker| Reference::new("has marker", tables::MARKERS, org, marker.0)),
        );
        out.extend(self.preferred_payment_method.map(|method| {
            Reference::new(
                "prefers payment method",
                tables::PAYMENT_METHODS,
                org,
                method.0,
            )
        }));
    }

    fn broken_rule(&self, org: OrgId, pipeline: Option<&Pipeline>) -> Option<String> {
        pipeline
            .and_then(|pipeline| pipeline.stage(self.stage))
            .is_none()
            .then(|| {
                format!(
                    "order {} of organization {org} is in stage {}, which is not in the pipeline",
                    self.id, self.stage
                )
            })
    }
}

impl Declared for Bid {
    const TABLE: Def = tables::BIDS;
    const NOUN: &'static str = "bid";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("bid");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::BIDS_BY_ORDER,
        since: 1,
        entries: |org, _, bid, out| {
            out.push((Key::org(org).u64(bid.order.0).u64(bid.id.0), Value::Empty));
        },
        owner: owner_by_tail,
        disagreement: |key, _, bid| {
            format!(
                "says bid {} is on order {}, but it is on order {}",
                bid.id,
                keys::read_u64(key, 8),
                bid.order
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is on order",
            tables::ORDERS,
            org,
            self.order.0,
        ));
    }
}

impl Declared for OrderGrant {
    const TABLE: Def = tables::GRANTS;
    const NOUN: &'static str = "grant";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(grant_key(org, self.order, self.user, self.permission))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is for user",
            tables::USERS,
            org,
            self.user.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "a grant of {} on order {} to user {} of organization {org}",
            self.permission, self.order, self.user
        )
    }
}

impl Declared for PaymentMethod {
    const TABLE: Def = tables::PAYMENT_METHODS;
    const NOUN: &'static str = "payment method";
    const LAYOUT: Layout = Layout::OrgFields;

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

impl Declared for PaymentInfo {
    const TABLE: Def = tables::PAYMENT_INFOS;
    const NOUN: &'static str = "payment info";
    const LAYOUT: Layout = Layout::OrgFields;

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}
