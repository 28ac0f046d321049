//! The declarations of the token service (`services::tokens`, issue 13): packages, the
//! settings, the ledger, the accounts with their subscriptions, and the token side of orders
//! with the queue.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Reference, Value};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

/// The key of `customer`'s account in `token_accounts`.
pub(crate) fn account_key(org: OrgId, customer: CustomerId) -> Key {
    Key::org(org).u64(customer.0)
}

/// The key of `order`'s token side in `token_orders`.
pub(crate) fn token_order_key(org: OrgId, order: OrderId) -> Key {
    Key::org(org).u64(order.0)
}

impl Declared for Package {
    const TABLE: Def = tables::PACKAGES;
    const NOUN: &'static str = "package";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("package");

    fn id(&self) -> Option<u64> {
        Some(self.id)
    }
}

impl Declared for TokenSettings {
    const TABLE: Def = tables::TOKEN_SETTINGS;
    const NOUN: &'static str = "token settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the token settings of organization {org}")
    }
}

impl Declared for LedgerEntry {
    const TABLE: Def = tables::LEDGER;
    const NOUN: &'static str = "ledger entry";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("ledger");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::LEDGER_BY_CUSTOMER,
        since: 7,
        entries: |org, _, entry, out| {
            out.push((
                Key::org(org).u64(entry.customer.0).u64(entry.id),
                Value::Empty,
            ));
        },
        owner: owner_by_tail,
        disagreement: |_, _, entry: &LedgerEntry| {
            format!("disagrees with the entry's customer {}", entry.customer)
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is of customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }
}

impl Declared for TokenAccount {
    const TABLE: Def = tables::TOKEN_ACCOUNTS;
    const NOUN: &'static str = "token account";
    const LAYOUT: Layout = Layout::OrgFields;
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::PREMIUM_BY_END,
        since: 7,
        entries: |org, _, account, out| {
            if let Some(until) = account.premium_until {
                out.push((
                    Key::org(org).i64(until.0).u64(account.customer.0),
                    Value::Empty,
                ));
            }
        },
        owner: owner_by_tail,
        disagreement: |_, _, account: &TokenAccount| {
            format!(
                "disagrees with the account's subscription end {:?}",
                account.premium_until
            )
        },
    }];

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(account_key(org, self.customer))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is of customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the token account of customer {} of organization {org}",
            self.customer
        )
    }
}

impl Declared for TokenOrder {
    const TABLE: Def = tables::TOKEN_ORDERS;
    const NOUN: &'static str = "token order";
    const LAYOUT: Layout = Layout::OrgFields;
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::TOKEN_QUEUE,
        since: 7,
        entries: |org, _, token_order, out| {
            if let Some(rank) = token_order.rank {
                out.push((
                    Key::org(org).u64(rank).u64(token_order.order.0),
                    Value::Empty,
                ));
            }
        },
        owner: owner_by_tail,
        disagreement: |_, _, token_order: &TokenOrder| {
            format!(
                "disagrees with the order's queue rank {:?}",
                token_order.rank
            )
        },
    }];

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(token_order_key(org, self.order))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is the token side of order",
            tables::ORDERS,
            org,
            self.order.0,
        ));
        out.push(Reference::new(
            "is of customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
        out.push(Reference::new(
            "bought package",
            tables::PACKAGES,
            org,
            self.package,
        ));
        out.push(Reference::new(
            "was charged by",
            tables::LEDGER,
            org,
            self.charge,
        ));
        if let Some(profile) = self.profile {
            out.push(Reference::new(
                "is for profile",
                tables::PROFILES_BY_ID,
                org,
                profile,
            ));
        }
        if let Some(refund) = self.refund {
            out.push(Reference::new(
                "was refunded by",
                tables::LEDGER,
                org,
                refund,
            ));
        }
        if let Some(rerun_of) = self.rerun_of {
            out.push(Reference::new(
                "runs again",
                tables::ORDERS,
                org,
                rerun_of.0,
            ));
        }
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the token side of order {} of organization {org}",
            self.order
        )
    }
}

impl Declared for ScheduledMessage {
    const TABLE: Def = tables::SCHEDULED_MESSAGES;
    const NOUN: &'static str = "scheduled message";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("scheduled");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::SCHEDULED_DUE,
            since: 7,
            entries: |org, _, scheduled, out| {
                if scheduled.is_waiting() {
                    out.push((
                        Key::org(org).i64(scheduled.send_at.0).u64(scheduled.id),
                        Value::Empty,
                    ));
                }
            },
            owner: owner_by_tail,
            disagreement: |_, _, scheduled: &ScheduledMessage| {
                format!(
                    "disagrees with the message's moment {:?} and state {:?}",
                    scheduled.send_at, scheduled.state
                )
            },
        },
        Index {
            table: tables::SCHEDULED_BY_CUSTOMER,
            since: 7,
            entries: |org, _, scheduled, out| {
                out.push((
                    Key::org(org).u64(scheduled.customer.0).u64(scheduled.id),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: |_, _, scheduled: &ScheduledMessage| {
                format!(
                    "disagrees with the message's customer {}",
                    scheduled.customer
                )
            },
        },
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is for customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
        out.push(Reference::new(
            "was written by",
            tables::USERS,
            org,
            self.author.0,
        ));
    }
}
