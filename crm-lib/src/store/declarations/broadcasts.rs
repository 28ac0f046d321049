//! The declarations of broadcasts (`services::broadcasts`, issue 13): the broadcasts with the
//! sender's index of active ones, and their recipients.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Reference, Value};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

/// The key of a recipient in `broadcast_recipients`: `org | broadcast | customer`.
pub(crate) fn recipient_key(org: OrgId, broadcast: BroadcastId, customer: CustomerId) -> Key {
    Key::org(org).u64(broadcast.0).u64(customer.0)
}

/// Whether the sender has work in a broadcast in this state: a scheduled one to start, a
/// sending one to feed. A paused one waits for staff.
fn is_active(state: BroadcastState) -> bool {
    matches!(state, BroadcastState::Scheduled | BroadcastState::Sending)
}

impl Declared for Broadcast {
    const TABLE: Def = tables::BROADCASTS;
    const NOUN: &'static str = "broadcast";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("broadcast");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::BROADCASTS_ACTIVE,
        since: 7,
        entries: |org, _, broadcast, out| {
            if is_active(broadcast.state) {
                out.push((Key::org(org).u64(broadcast.id.0), Value::Empty));
            }
        },
        owner: owner_by_tail,
        disagreement: |_, _, broadcast: &Broadcast| {
            format!(
                "disagrees with the broadcast's state {}",
                broadcast.state.as_str()
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "was written by user",
            tables::USERS,
            org,
            self.author.0,
        ));
    }
}

impl Declared for BroadcastRecipient {
    const TABLE: Def = tables::BROADCAST_RECIPIENTS;
    const NOUN: &'static str = "broadcast recipient";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(recipient_key(org, self.broadcast, self.customer))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is of broadcast",
            tables::BROADCASTS,
            org,
            self.broadcast.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "recipient {} of broadcast {} of organization {org}",
            self.customer, self.broadcast
        )
    }
}
