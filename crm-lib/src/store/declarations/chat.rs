//! The declarations of the chat messages and the files they and orders carry.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Declared, Entries, Index, Layout, Owner, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

impl Declared for Message {
    const TABLE: Def = tables::MESSAGES;
    const NOUN: &'static str = "message";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("message");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::MESSAGES_BY_CUSTOMER,
            since: 1,
            entries: |org, _, message, out| {
                out.push((
                    Key::org(org).u64(message.customer.0).u64(message.id.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: message_disagreement,
        },
        Index {
            table: tables::MESSAGES_BY_ORDER,
            since: 1,
            entries: |org, _, message, out| {
                if let Some(order) = message.order {
                    out.push((Key::org(org).u64(order.0).u64(message.id.0), Value::Empty));
                }
            },
            owner: owner_by_tail,
            disagreement: message_disagreement,
        },
        Index {
            table: tables::MESSAGES_BY_TELEGRAM,
            since: 7,
            entries: |org, _, message, out| {
                if let Some(telegram) = message.telegram_message_id {
                    out.push((
                        telegram_message_key(org, message.customer, telegram).u64(message.id.0),
                        Value::Empty,
                    ));
                }
            },
            owner: owner_by_tail,
            disagreement: |key, _, message| {
                format!(
                    "says telegram message {} is message {}, whose telegram id is {:?}",
                    keys::read_i64(key, 16),
                    keys::tail_u64(key),
                    message.telegram_message_id
                )
            },
        },
        Index {
            table: tables::MEDIA_REFS,
            since: 3,
            entries: |org, _, message, out| {
                let files = message
                    .attachments
                    .iter()
                    .map(|attachment| attachment.media);
                media_refs(org, files, RefKind::Message, message.id.0, out);
            },
            owner: |key, _| media_ref_owner(key, RefKind::Message),
            disagreement: |key, _, _| {
                format!(
                    "names message {}, which does not carry the file",
                    keys::tail_u64(key)
                )
            },
        },
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is in the conversation of customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
    }
}

/// The prefix of a message's key in `messages_by_telegram` (`org | customer | telegram
/// message id | message`): the messages Telegram knows by that id in the customer's chat
/// (one, but a repeated delivery or an import may have written two; the newest counts).
pub(crate) fn telegram_message_key(org: OrgId, customer: CustomerId, telegram: i64) -> Key {
    Key::org(org).u64(customer.0).i64(telegram)
}

/// What a message's entry in `messages_by_*` disagrees with.
fn message_disagreement(_: &[u8], _: &[u8], message: &Message) -> String {
    format!(
        "disagrees with message {} (customer {}, order {:?})",
        message.id,
        message.customer,
        message.order.map(|order| order.0)
    )
}

/// The kind of record a `media_refs` entry names (its byte after the hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// A chat message's attachment.
    Message = 1,
    /// An order's attachment.
    Order = 2,
    /// A canned response's file.
    Canned = 3,
    /// A project's daily report's photo, video or voice note (the entry's value is the
    /// project's id: the report's key is `org | project | report`).
    Report = 4,
    /// A project's money entry's proof (the value is the project's id, as for reports).
    Entry = 5,
    /// A project's document (the value is the project's id, as for reports).
    Document = 6,
}

impl RefKind {
    /// The kind stored in a key byte; `None` for a byte no version wrote.
    pub(crate) fn from_byte(byte: u8) -> Option<RefKind> {
        match byte {
            1 => Some(RefKind::Message),
            2 => Some(RefKind::Order),
            3 => Some(RefKind::Canned),
            4 => Some(RefKind::Report),
            5 => Some(RefKind::Entry),
            6 => Some(RefKind::Document),
            _ => None,
        }
    }
}

/// The length of a `media_refs` key: organization, hash, kind, id.
pub(crate) const MEDIA_REF_KEY_LEN: usize = 8 + 32 + 1 + 8;

/// The prefix of every `media_refs` entry of one file: `org | hash`.
fn media_ref_prefix(org: OrgId, hash: MediaHash) -> Key {
    Key::org(org).bytes(&hash.0)
}

/// Adds the `media_refs` entries of a record (`kind`, `id`) carrying `files`: one per
/// distinct file (a file attached twice is referred to once).
pub(super) fn media_refs(
    org: OrgId,
    files: impl IntoIterator<Item = MediaHash>,
    kind: RefKind,
    id: u64,
    out: &mut Entries,
) {
    media_refs_valued(org, files, kind, id, &Value::Empty, out);
}

/// [`media_refs`] whose entries hold `value` (a project's part: its project's id).
pub(super) fn media_refs_valued(
    org: OrgId,
    files: impl IntoIterator<Item = MediaHash>,
    kind: RefKind,
    id: u64,
    value: &Value,
    out: &mut Entries,
) {
    let mut files: Vec<MediaHash> = files.into_iter().collect();
    files.sort_unstable_by_key(|hash| hash.0);
    files.dedup();
    out.extend(files.into_iter().map(|hash| {
        (
            media_ref_prefix(org, hash).u8(kind as u8).u64(id),
            value.clone(),
        )
    }));
}

/// The owner of a `media_refs` entry for the declaration of records of `kind`.
pub(super) fn media_ref_owner(key: &[u8], kind: RefKind) -> Owner {
    let found = key
        .get(40)
        .copied()
        .and_then(RefKind::from_byte)
        .filter(|_| key.len() == MEDIA_REF_KEY_LEN);
    match found {
        None => Owner::Malformed(format!(
            "is malformed ({} bytes, expected {MEDIA_REF_KEY_LEN} with kind 1 to 5)",
            key.len()
        )),
        Some(found) if found == kind => owner_by_tail(key, &[]),
        Some(_) => Owner::Elsewhere,
    }
}

impl Declared for Media {
    const TABLE: Def = tables::MEDIA;
    const NOUN: &'static str = "media";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(media_ref_prefix(org, self.hash))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("media {} of organization {org}", self.hash)
    }
}

impl Declared for SentParts {
    const TABLE: Def = tables::SENT_PARTS;
    const NOUN: &'static str = "sent parts";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org).u64(self.message.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "parts of message",
            tables::MESSAGES,
            org,
            self.message.0,
        ));
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the Telegram parts of message {} of organization {org}",
            self.message
        )
    }
}
