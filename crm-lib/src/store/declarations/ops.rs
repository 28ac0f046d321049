//! The declarations of the audit log, the change feed, the outbox and the inbox.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Owner, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

/// `org | kind | id`: the prefix of a subject's entries in `audit_by_subject` (`None` for a
/// subject without an id of its own).
pub(crate) fn subject_key(org: OrgId, subject: &Subject) -> Option<Key> {
    let kind: u8 = match subject {
        Subject::Organization => 1,
        Subject::User(_) => 2,
        Subject::Role(_) => 3,
        Subject::Marker(_) => 4,
        Subject::Customer(_) => 5,
        Subject::Conversation(_) => 6,
        Subject::Order(_) => 7,
        Subject::Message(_) => 8,
        Subject::PaymentMethod(_) => 9,
        Subject::ApiToken(_) => 10,
        Subject::Department(_) => 11,
        Subject::Call(_) => 12,
        Subject::Canned(_) => 13,
        Subject::Webhook(_) => 14,
        Subject::Profile(_) => 15,
        Subject::Broadcast(_) => 16,
        Subject::Project(_) => 17,
        Subject::Media(_) | Subject::Other(_) => return None,
    };
    Some(Key::org(org).u8(kind).u64(subject.id().unwrap_or(0)))
}

impl Declared for AuditEntry {
    const TABLE: Def = tables::AUDIT;
    const NOUN: &'static str = "audit entry";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("audit");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::AUDIT_BY_SUBJECT,
        since: 4,
        entries: |org, _, entry, out| {
            if let Some(prefix) = subject_key(org, &entry.subject) {
                out.push((prefix.u64(entry.id.0), Value::Empty));
            }
        },
        owner: owner_by_tail,
        disagreement: |_, _, entry| {
            format!("does not match the subject of audit entry {}", entry.id)
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

impl Declared for Change {
    const TABLE: Def = tables::CHANGES;
    const NOUN: &'static str = "change";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("change");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

/// The key of a pending outbox item in `outbox_due`.
fn outbox_due_key(org: OrgId, due: Timestamp, id: OutboxId) -> Key {
    Key::empty().i64(due.0).u64(org.0).u64(id.0)
}

impl Declared for OutboxItem {
    const TABLE: Def = tables::OUTBOX;
    const NOUN: &'static str = "outbox item";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("outbox");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::OUTBOX_DUE,
        since: 1,
        entries: |org, _, item, out| {
            if item.state.is_open() {
                out.push((
                    outbox_due_key(org, item.next_attempt_at, item.id),
                    Value::Empty,
                ));
            }
        },
        owner: |key, _| Owner::Record(Key::empty().bytes(key.get(8..).unwrap_or_default())),
        disagreement: |key, _, item| {
            let org = keys::read_u64(key, 8);
            if item.state.is_open() {
                format!(
                    "is stale: outbox item {} of organization {org} is due at {}",
                    item.id, item.next_attempt_at
                )
            } else {
                format!(
                    "points at outbox item {} of organization {org}, which is no longer pending",
                    item.id
                )
            }
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }
}

impl Declared for InboxItem {
    const TABLE: Def = tables::INBOX;
    const NOUN: &'static str = "update";
    const LAYOUT: Layout = Layout::OrgId;
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::INBOX_PENDING,
        since: 1,
        entries: |_, key, item, out| {
            if item.state == InboxState::Pending {
                out.push((Key::empty().bytes(key), Value::Empty));
            }
        },
        owner: |key, _| Owner::Record(Key::empty().bytes(key)),
        disagreement: |_, _, item| {
            format!("points at update {}, which is already done", item.update_id)
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.update_id)
    }
}
