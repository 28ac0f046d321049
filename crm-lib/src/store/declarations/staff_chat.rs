//! The declarations of staff working from Telegram (`services::staff_chat`, issue 12): the
//! staff group, the forum topics with their thread index, the notices sent to staff, and the
//! marks of messages written in a topic.

use super::{owner_by_value, value_id};
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Reference, Value};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

/// The key of a topic in `forum_threads`: `org | chat | thread`.
pub(crate) fn forum_thread_key(org: OrgId, chat: ChatId, thread: i64) -> Key {
    Key::org(org).i64(chat.get()).i64(thread)
}

/// The key of a notice in `staff_notices`: `org | staff chat | telegram message id`.
pub(crate) fn staff_notice_key(org: OrgId, chat: ChatId, telegram_message_id: i64) -> Key {
    Key::org(org).i64(chat.get()).i64(telegram_message_id)
}

impl Declared for StaffGroup {
    const TABLE: Def = tables::STAFF_GROUPS;
    const NOUN: &'static str = "staff group";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the staff group of organization {org}")
    }
}

impl Declared for ForumTopic {
    const TABLE: Def = tables::FORUM_TOPICS;
    const NOUN: &'static str = "forum topic";
    const LAYOUT: Layout = Layout::OrgFields;
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::FORUM_THREADS,
        since: 7,
        entries: |org, _, topic, out| {
            if let Some(thread) = topic.thread {
                out.push((
                    forum_thread_key(org, topic.chat, thread),
                    Value::id(topic.customer.0),
                ));
            }
        },
        owner: owner_by_value,
        disagreement: |_, value, topic| {
            format!(
                "says thread {:?} of chat {} is customer {}'s, but it is customer {}'s",
                topic.thread,
                topic.chat,
                value_id(value),
                topic.customer
            )
        },
    }];

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org).u64(self.customer.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is the topic of customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the forum topic of customer {} of organization {org}",
            self.customer
        )
    }
}

impl Declared for StaffNotice {
    const TABLE: Def = tables::STAFF_NOTICES;
    const NOUN: &'static str = "staff notice";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(staff_notice_key(org, self.chat, self.telegram_message_id))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "was sent to user",
            tables::USERS,
            org,
            self.user.0,
        ));
        out.push(Reference::new(
            "is about customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the notice {} in chat {} of organization {org}",
            self.telegram_message_id, self.chat
        )
    }
}

impl Declared for ForumOrigin {
    const TABLE: Def = tables::FORUM_ORIGINS;
    const NOUN: &'static str = "forum origin";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org).u64(self.message.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "marks message",
            tables::MESSAGES,
            org,
            self.message.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the forum mark of message {} of organization {org}",
            self.message
        )
    }
}
