//! The declarations of the calls area (`services::calls`): calls, the PBX settings, the
//! unknown-caller marks, and the customers' phone index calls are linked by.

use super::{owner_by_tail, owner_by_value, value_id};
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

/// The number an E.164 phone (`+79161234567`) is keyed by in `customers_by_phone`: its
/// digits as an integer (at most 15 digits, no leading zero, so the number is unique).
/// `None` for text that is not such a phone.
pub(crate) fn phone_number(phone: &str) -> Option<u64> {
    let digits = phone.strip_prefix('+')?;
    if !(1..=15).contains(&digits.len())
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok()
}

/// The prefix of the `customers_by_phone` entries of one phone number: `org | number`.
pub(crate) fn phone_prefix(org: OrgId, number: u64) -> Key {
    Key::org(org).u64(number)
}

/// The `customers_by_phone` index of the customer declaration (added in schema 6).
pub(super) const CUSTOMERS_BY_PHONE: Index<Customer> = Index {
    table: tables::CUSTOMERS_BY_PHONE,
    since: 6,
    entries: |org, _, customer, out| {
        if let Some(number) = customer.phone.as_deref().and_then(phone_number) {
            out.push((phone_prefix(org, number).u64(customer.id.0), Value::Empty));
        }
    },
    owner: owner_by_tail,
    disagreement: |key, _, customer| {
        format!(
            "says customer {} has phone +{}, but their phone is {:?}",
            customer.id,
            keys::read_u64(key, 8),
            customer.phone
        )
    },
};

/// The key of a PBX call id in `calls_by_pbx_id`.
pub(crate) fn pbx_key(org: OrgId, pbx_call_id: &str) -> Key {
    Key::org(org).bytes(pbx_call_id.as_bytes())
}

impl Declared for Call {
    const TABLE: Def = tables::CALLS;
    const NOUN: &'static str = "call";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("call");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::CALLS_BY_PBX_ID,
            since: 6,
            entries: |org, _, call, out| {
                out.push((pbx_key(org, &call.pbx_call_id), Value::id(call.id.0)));
            },
            owner: owner_by_value,
            disagreement: |_, value, call| {
                format!(
                    "says call {} has pbx id {:?}, which is call {}'s",
                    value_id(value),
                    call.pbx_call_id,
                    call.id
                )
            },
        },
        Index {
            table: tables::CALLS_BY_CUSTOMER,
            since: 6,
            entries: |org, _, call, out| {
                out.push((
                    Key::org(org).u64(call.customer.0).u64(call.id.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: |_, _, call| {
                format!(
                    "disagrees with call {} (customer {})",
                    call.id, call.customer
                )
            },
        },
        Index {
            table: tables::CALLS_BY_TIME,
            since: 6,
            entries: |org, _, call, out| {
                out.push((
                    Key::org(org).i64(call.started_at.0).u64(call.id.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: |_, _, call| {
                format!(
                    "disagrees with call {} (started at {})",
                    call.id, call.started_at
                )
            },
        },
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is a call of customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
        if let Some(user) = self.operator {
            out.push(Reference::new(
                "was taken by user",
                tables::USERS,
                org,
                user.0,
            ));
        }
    }
}

impl Declared for CallSettings {
    const TABLE: Def = tables::CALL_SETTINGS;
    const NOUN: &'static str = "call settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        for extension in &self.extensions {
            out.push(Reference::new(
                "maps an extension to user",
                tables::USERS,
                org,
                extension.user.0,
            ));
        }
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the call settings of organization {org}")
    }
}

impl Declared for UnknownCaller {
    const TABLE: Def = tables::UNKNOWN_CALLERS;
    const NOUN: &'static str = "unknown caller";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org).u64(self.customer.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "marks customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
        out.push(Reference::new(
            "was created for call",
            tables::CALLS,
            org,
            self.call.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the unknown-caller mark of customer {} of organization {org}",
            self.customer
        )
    }
}
