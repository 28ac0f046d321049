//! The declarations of the operators module: departments, operator states, the module's
//! settings and the queue items with their five indexes.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Counter, Declared, Index, Layout, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

impl Declared for Department {
    const TABLE: Def = tables::DEPARTMENTS;
    const NOUN: &'static str = "department";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("department");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        for member in &self.members {
            out.push(Reference::new("has member", tables::USERS, org, member.0));
        }
    }
}

impl Declared for OperatorState {
    const TABLE: Def = tables::OPERATOR_STATES;
    const NOUN: &'static str = "operator state";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org).u64(self.user.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is of user",
            tables::USERS,
            org,
            self.user.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("operator state of user {} of organization {org}", self.user)
    }
}

impl Declared for OperatorSettings {
    const TABLE: Def = tables::OPERATOR_SETTINGS;
    const NOUN: &'static str = "operator settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("operator settings of organization {org}")
    }
}

/// The prefix of the items of `subject` in `queue_by_subject`.
pub(crate) fn queue_subject_prefix(org: OrgId, subject: QueueSubject) -> Key {
    Key::org(org).u8(subject.kind_byte()).u64(subject.raw_id())
}

/// The prefix of an operator's open items in `queue_by_assignee`.
pub(crate) fn queue_assignee_prefix(org: OrgId, user: UserId) -> Key {
    Key::org(org).u64(user.0)
}

/// The prefix of a department's waiting items in `queue_waiting` (`None`: items of no
/// department).
pub(crate) fn queue_waiting_prefix(org: OrgId, department: Option<DepartmentId>) -> Key {
    Key::org(org).u64(department.map_or(0, |department| department.0))
}

/// The key of a user's load in `queue_loads` (`None`: the items of no one's load).
pub(crate) fn queue_load_key(org: OrgId, user: Option<UserId>) -> Key {
    Key::org(org).u64(user.map_or(0, |user| user.0))
}

/// What a queue item's entry disagrees with.
fn item_disagreement(_: &[u8], _: &[u8], item: &QueueItem) -> String {
    format!(
        "disagrees with queue item {} ({:?}, {:?}, assignee {:?})",
        item.id, item.subject, item.state, item.assignee
    )
}

impl Declared for QueueItem {
    const TABLE: Def = tables::QUEUE_ITEMS;
    const NOUN: &'static str = "queue item";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("queue_item");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::QUEUE_BY_SUBJECT,
            since: 6,
            entries: |org, _, item, out| {
                out.push((
                    queue_subject_prefix(org, item.subject).u64(item.id.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: item_disagreement,
        },
        Index {
            table: tables::QUEUE_BY_ASSIGNEE,
            since: 6,
            entries: |org, _, item, out| {
                if let (QueueState::Open, Some(user)) = (item.state, item.assignee) {
                    out.push((
                        queue_assignee_prefix(org, user).u64(item.id.0),
                        Value::Empty,
                    ));
                }
            },
            owner: owner_by_tail,
            disagreement: item_disagreement,
        },
        Index {
            table: tables::QUEUE_WAITING,
            since: 6,
            entries: |org, _, item, out| {
                if let (QueueState::Open, None) = (item.state, item.assignee) {
                    out.push((
                        queue_waiting_prefix(org, item.department)
                            .i64(item.opened_at.0)
                            .u64(item.id.0),
                        Value::Empty,
                    ));
                }
            },
            owner: owner_by_tail,
            disagreement: item_disagreement,
        },
        Index {
            table: tables::QUEUE_CLOSED,
            since: 6,
            entries: |org, _, item, out| {
                if let (QueueState::Closed, Some(closed), None) =
                    (item.state, item.closed_at, item.archived_at)
                {
                    out.push((Key::org(org).i64(closed.0).u64(item.id.0), Value::Empty));
                }
            },
            owner: owner_by_tail,
            disagreement: item_disagreement,
        },
        Index {
            table: tables::QUEUE_ARCHIVED,
            since: 6,
            entries: |org, _, item, out| {
                if let (QueueState::Closed, Some(archived)) = (item.state, item.archived_at) {
                    out.push((Key::org(org).i64(archived.0).u64(item.id.0), Value::Empty));
                }
            },
            owner: owner_by_tail,
            disagreement: item_disagreement,
        },
    ];

    const COUNTERS: &'static [Counter<Self>] = &[Counter {
        table: tables::QUEUE_LOADS,
        key: |org, item| {
            queue_load_key(
                org,
                item.assignee.filter(|_| item.state == QueueState::Open),
            )
        },
        describe: |key| {
            (key.len() == 16).then(|| {
                format!(
                    "the load of user {} of organization {}",
                    keys::read_u64(key, 8),
                    keys::read_u64(key, 0)
                )
            })
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        if let QueueSubject::Conversation(customer) = self.subject {
            out.push(Reference::new(
                "is the conversation of customer",
                tables::CUSTOMERS,
                org,
                customer.0,
            ));
        }
        if let Some(department) = self.department {
            out.push(Reference::new(
                "is routed to department",
                tables::DEPARTMENTS,
                org,
                department.0,
            ));
        }
    }
}
