//! The declarations of outbound webhooks (`services::webhooks`): the endpoints, and the
//! deliveries with their log index and the sender's due index.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Owner, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

/// The key of a delivery in `webhook_due`: `due (i64 ms) | org | delivery`.
pub(crate) fn webhook_due_key(org: OrgId, due: Timestamp, id: WebhookDeliveryId) -> Key {
    Key::empty().i64(due.0).u64(org.0).u64(id.0)
}

/// The key of a delivery in `webhook_deliveries_by_endpoint`.
pub(crate) fn webhook_log_key(
    org: OrgId,
    endpoint: WebhookEndpointId,
    id: WebhookDeliveryId,
) -> Key {
    Key::org(org).u64(endpoint.0).u64(id.0)
}

impl Declared for WebhookEndpoint {
    const TABLE: Def = tables::WEBHOOK_ENDPOINTS;
    const NOUN: &'static str = "webhook endpoint";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("webhook_endpoint");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

impl Declared for WebhookDelivery {
    const TABLE: Def = tables::WEBHOOK_DELIVERIES;
    const NOUN: &'static str = "webhook delivery";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("webhook_delivery");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::WEBHOOK_DELIVERIES_BY_ENDPOINT,
            since: 7,
            entries: |org, _, delivery, out| {
                out.push((
                    webhook_log_key(org, delivery.endpoint, delivery.id),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: |_, _, delivery| {
                format!(
                    "disagrees with webhook delivery {}, which goes to endpoint {}",
                    delivery.id, delivery.endpoint
                )
            },
        },
        Index {
            table: tables::WEBHOOK_DUE,
            since: 7,
            entries: |org, _, delivery, out| {
                if delivery.state == WebhookDeliveryState::Pending {
                    out.push((
                        webhook_due_key(org, delivery.next_attempt_at, delivery.id),
                        Value::Empty,
                    ));
                }
            },
            owner: |key, _| Owner::Record(Key::empty().bytes(key.get(8..).unwrap_or_default())),
            disagreement: |key, _, delivery| {
                let org = keys::read_u64(key, 8);
                if delivery.state == WebhookDeliveryState::Pending {
                    format!(
                        "is stale: webhook delivery {} of organization {org} is due at {}",
                        delivery.id, delivery.next_attempt_at
                    )
                } else {
                    format!(
                        "points at webhook delivery {} of organization {org}, which is no longer pending",
                        delivery.id
                    )
                }
            },
        },
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "goes to webhook endpoint",
            tables::WEBHOOK_ENDPOINTS,
            org,
            self.endpoint.0,
        ));
    }
}
