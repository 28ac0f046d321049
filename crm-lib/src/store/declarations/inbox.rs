//! The declaration of the inbox's projection (issue 12): one `ConversationRow` per customer
//! with its two list indexes, by state and by assignee.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Reference, Value};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

/// The key of a customer's row in `conversation_rows`.
pub(crate) fn conversation_row_key(org: OrgId, customer: CustomerId) -> Key {
    Key::org(org).u64(customer.0)
}

/// The list a row is in, the byte of the list indexes: 0 open, 1 snoozed, 2 closed, 3
/// archived (as stored; a snooze whose time came is still 1 until the row is next written).
fn bucket(row: &ConversationRow) -> u8 {
    match row.state {
        _ if row.archived => 3,
        ConversationState::Open => 0,
        ConversationState::Snoozed { .. } => 1,
        ConversationState::Closed { .. } => 2,
    }
}

/// The prefix of the rows of one stored state in `conversations_by_state`.
pub(crate) fn conversations_state_prefix(org: OrgId, state: u8) -> Key {
    Key::org(org).u8(state)
}

/// The prefix of the rows of one assignee (`None`: unassigned) and stored state in
/// `conversations_by_assignee`.
pub(crate) fn conversations_assignee_prefix(
    org: OrgId,
    assignee: Option<UserId>,
    state: u8,
) -> Key {
    Key::org(org)
        .u64(assignee.map_or(0, |user| user.0))
        .u8(state)
}

fn row_disagreement(_: &[u8], _: &[u8], row: &ConversationRow) -> String {
    format!(
        "disagrees with the conversation row of customer {} ({}, assignee {:?}, last active at {})",
        row.customer,
        row.state.word(),
        row.assignee.map(|user| user.0),
        row.last_activity_at
    )
}

impl Declared for ConversationRow {
    const TABLE: Def = tables::CONVERSATION_ROWS;
    const NOUN: &'static str = "conversation row";
    const LAYOUT: Layout = Layout::OrgFields;
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::CONVERSATIONS_BY_STATE,
            since: 7,
            entries: |org, _, row, out| {
                out.push((
                    conversations_state_prefix(org, bucket(row))
                        .i64(row.last_activity_at.0)
                        .u64(row.customer.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: row_disagreement,
        },
        Index {
            table: tables::CONVERSATIONS_BY_ASSIGNEE,
            since: 7,
            entries: |org, _, row, out| {
                if bucket(row) < 2 {
                    out.push((
                        conversations_assignee_prefix(org, row.assignee, bucket(row))
                            .i64(row.last_activity_at.0)
                            .u64(row.customer.0),
                        Value::Empty,
                    ));
                }
            },
            owner: owner_by_tail,
            disagreement: row_disagreement,
        },
    ];

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(conversation_row_key(org, self.customer))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is the conversation of customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "conversation row of customer {} of organization {org}",
            self.customer
        )
    }
}
