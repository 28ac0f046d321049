//! The declarations of leads' qualification (`services::leads`, the projects module): each
//! lead's qualification record and its waiting AI call (both keyed like the lead's order),
//! the AI calls' due index, and the organization's AI settings.

use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Owner, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

/// The key of a lead's qualification record or AI call: `org | order`.
pub(crate) fn lead_key(org: OrgId, order: OrderId) -> Key {
    Key::org(org).u64(order.0)
}

/// The key of an AI call in `ai_due`: `due (i64 ms) | org | order`.
pub(crate) fn ai_due_key(org: OrgId, due: Timestamp, order: OrderId) -> Key {
    Key::empty().i64(due.0).u64(org.0).u64(order.0)
}

impl Declared for Lead {
    const TABLE: Def = tables::LEADS;
    const NOUN: &'static str = "lead";
    const LAYOUT: Layout = Layout::OrgId;

    fn id(&self) -> Option<u64> {
        Some(self.order.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "qualifies order",
            tables::ORDERS,
            org,
            self.order.0,
        ));
    }
}

impl Declared for AiRequest {
    const TABLE: Def = tables::AI_REQUESTS;
    const NOUN: &'static str = "AI request";
    const LAYOUT: Layout = Layout::OrgId;
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::AI_DUE,
        since: 8,
        entries: |org, _, request, out| {
            out.push((
                ai_due_key(org, request.next_attempt_at, request.order),
                Value::Empty,
            ));
        },
        owner: |key, _| Owner::Record(Key::empty().bytes(key.get(8..).unwrap_or_default())),
        disagreement: |key, _, request| {
            let org = keys::read_u64(key, 8);
            format!(
                "is stale: the AI request for order {} of organization {org} is due at {}",
                request.order, request.next_attempt_at
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.order.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is a call for order",
            tables::ORDERS,
            org,
            self.order.0,
        ));
    }
}

impl Declared for AiSettings {
    const TABLE: Def = tables::AI_SETTINGS;
    const NOUN: &'static str = "AI settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the AI settings of organization {org}")
    }
}
