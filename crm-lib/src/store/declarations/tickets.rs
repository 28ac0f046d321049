//! The declarations of the tickets module: the organization's ticket fields and fraud
//! settings (one record each, keyed by the organization), and the fraud flags of a ticket
//! (keyed like its order). The field index of orders (`orders_by_field`) is declared by the
//! order, in `super::orders`.

use crate::model::*;
use crate::store::indexes::{Declared, Layout, Reference};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

impl Declared for FieldSet {
    const TABLE: Def = tables::ORDER_FIELDS;
    const NOUN: &'static str = "ticket fields";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the ticket fields of organization {org}")
    }
}

impl Declared for FraudSettings {
    const TABLE: Def = tables::FRAUD_SETTINGS;
    const NOUN: &'static str = "fraud settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the fraud settings of organization {org}")
    }
}

impl Declared for OrderFraud {
    const TABLE: Def = tables::ORDER_FRAUD;
    const NOUN: &'static str = "fraud flags";
    const LAYOUT: Layout = Layout::OrgId;

    fn id(&self) -> Option<u64> {
        Some(self.order.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "are of order",
            tables::ORDERS,
            org,
            self.order.0,
        ));
    }
}
