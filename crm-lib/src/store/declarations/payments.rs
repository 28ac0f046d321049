//! The declarations of payments (`services::payments`): the payment settings and the
//! invoices, with their provider-id and pending indexes.

use super::{owner_by_tail, owner_by_value, value_id};
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Reference, Value};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

/// The key of a provider's id in `invoices_by_provider_id`.
pub(crate) fn provider_id_key(org: OrgId, provider: PaymentProvider, id: &str) -> Key {
    Key::org(org).u8(provider.code()).bytes(id.as_bytes())
}

impl Declared for PaymentSettings {
    const TABLE: Def = tables::PAYMENT_SETTINGS;
    const NOUN: &'static str = "payment settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the payment settings of organization {org}")
    }
}

impl Declared for Invoice {
    const TABLE: Def = tables::INVOICES;
    const NOUN: &'static str = "invoice";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("invoice");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::INVOICES_BY_PROVIDER_ID,
            since: 7,
            entries: |org, _, invoice, out| {
                if let Some(id) = &invoice.provider_id {
                    out.push((
                        provider_id_key(org, invoice.provider, id),
                        Value::id(invoice.id),
                    ));
                }
            },
            owner: owner_by_value,
            disagreement: |_, value, invoice: &Invoice| {
                format!(
                    "says invoice {} has provider id {:?}, which is invoice {}'s",
                    value_id(value),
                    invoice.provider_id,
                    invoice.id
                )
            },
        },
        Index {
            table: tables::INVOICES_PENDING,
            since: 7,
            entries: |org, _, invoice, out| {
                if invoice.state == InvoiceState::Pending {
                    out.push((
                        Key::org(org).i64(invoice.created_at.0).u64(invoice.id),
                        Value::Empty,
                    ));
                }
            },
            owner: owner_by_tail,
            disagreement: |_, _, invoice: &Invoice| {
                format!(
                    "disagrees with the invoice's state {}",
                    invoice.state.as_str()
                )
            },
        },
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        if let Some(entry) = self.ledger_entry {
            out.push(Reference::new(
                "was credited by",
                tables::LEDGER,
                org,
                entry,
            ));
        }
    }
}
