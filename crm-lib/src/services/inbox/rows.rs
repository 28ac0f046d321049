//! The inbox's projection: one [`ConversationRow`] per customer, computed from its sources
//! (the customer, their messages, the operators module's queue item) and the conversation's
//! own state, and rewritten by every use case that changes one of them.
//!
//! The one rule of a conversation's state is [`state_of`]: with the operators module on and a
//! queue item, the item says closed or not (closing and reopening in the inbox go through the
//! queue's use cases); otherwise the row's own state stands. In both, a customer message newer
//! than the one a snooze or close saw wakes or reopens it, and a snooze's time wakes it when
//! read ([`ConversationState::at`]).

use crate::model::*;
use crate::store::declarations::conversation_row_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Error, Result, Tx, View};

use super::super::operators::{latest_item, module_on};
use super::super::{load_customer, load_org, message_key};

/// How many message keys one batch of the backward scan of a conversation reads.
const SCAN_BATCH: usize = 16;

/// The preview of a message: its text on one line, cut at [`PREVIEW_MAX_CHARS`], and the
/// label of what it carries.
pub(crate) fn preview_of(message: &Message) -> MessagePreview {
    let line: String = message
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut text: String = line.chars().take(PREVIEW_MAX_CHARS).collect();
    if line.chars().count() > PREVIEW_MAX_CHARS {
        text.pop();
        text.push('…');
    }
    let label = match &message.content {
        Some(content) => Some(content_word(content)),
        None => message
            .attachments
            .first()
            .map(|attachment| media_word(attachment.kind)),
    }
    .map(str::to_string);
    MessagePreview {
        message: message.id,
        direction: message.direction,
        text,
        label,
        at: message.created_at,
    }
}

/// The stable word of a file kind, as previews label it.
fn media_word(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Photo => "photo",
        MediaKind::Document => "document",
        MediaKind::Voice => "voice",
        MediaKind::Video => "video",
        MediaKind::VideoNote => "video_note",
        MediaKind::Sticker => "sticker",
        MediaKind::Audio => "audio",
    }
}

/// The stable word of a message's content, as previews label it.
fn content_word(content: &MessageContent) -> &'static str {
    match content {
        MessageContent::Location { .. } => "location",
        MessageContent::Venue { .. } => "venue",
        MessageContent::Contact { .. } => "contact",
        MessageContent::Sticker { .. } => "sticker",
        MessageContent::Dice { .. } => "dice",
        MessageContent::Poll { .. } => "poll",
    }
}

/// Whether a message is part of what the customer and the team said: not a private note
/// (staff-only, never the preview) and not deleted.
fn exchanged(message: &Message) -> bool {
    matches!(message.direction, Direction::Inbound | Direction::Outbound)
        && message.deleted_at.is_none()
}

/// The latest exchanged message's preview and the customer's latest message id, read
/// backwards through `messages_by_customer` until both are found.
fn last_messages(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<(Option<MessagePreview>, Option<MessageId>)> {
    let prefix = Key::org(org).u64(customer.0);
    let mut preview = None;
    let mut inbound = None;
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let keys = view.keys_with_prefix(
            tables::MESSAGES_BY_CUSTOMER,
            &prefix,
            cursor.as_deref(),
            true,
            SCAN_BATCH,
        )?;
        for key in &keys {
            let id = MessageId(keys::tail_u64(key));
            let message: Message = view
                .get(tables::MESSAGES, &message_key(org, id))?
                .ok_or_else(|| crate::store::dangling("messages_by_customer", key))?;
            if preview.is_none() && exchanged(&message) {
                preview = Some(preview_of(&message));
            }
            if inbound.is_none() && message.direction == Direction::Inbound {
                inbound = Some(message.id);
            }
            if preview.is_some() && inbound.is_some() {
                return Ok((preview, inbound));
            }
        }
        if keys.len() < SCAN_BATCH {
            return Ok((preview, inbound));
        }
        cursor = keys.last().cloned();
    }
}

/// The state rule (see the module's documentation): `own` is the row's stored state,
/// `item` the latest queue item of the conversation while the operators module is on.
pub(crate) fn state_of(
    own: ConversationState,
    item: Option<&QueueItem>,
    last_inbound: Option<MessageId>,
) -> ConversationState {
    if let Some(item) = item {
        if item.state == QueueState::Closed {
            return match own {
                ConversationState::Closed { .. } => own,
                _ => ConversationState::Closed {
                    at: item.closed_at.unwrap_or(item.opened_at),
                    after: last_inbound,
                },
            };
        }
        if matches!(own, ConversationState::Closed { .. }) {
            return ConversationState::Open;
        }
    }
    match own {
        ConversationState::Snoozed { after, .. } | ConversationState::Closed { after, .. }
            if last_inbound > after =>
        {
            ConversationState::Open
        }
        state => state,
    }
}

/// The row of `customer`'s conversation from its sources, with `own` as the conversation's
/// stored state (`Open` for a new row).
pub(crate) fn conversation_row_of(
    view: &impl View,
    org: &Organization,
    customer: &Customer,
    own: ConversationState,
) -> Result<ConversationRow> {
    let (preview, last_inbound) = last_messages(view, org.id, customer.id)?;
    let item = if module_on(org) {
        latest_item(view, org.id, QueueSubject::Conversation(customer.id))?
    } else {
        None
    };
    Ok(ConversationRow {
        customer: customer.id,
        name: customer.full_name(),
        username: customer.username.clone(),
        phone: customer.phone.clone(),
        unread: customer.unread,
        last_activity_at: customer.last_activity_at,
        last_inbound,
        preview,
        assignee: item.as_ref().and_then(|item| item.assignee),
        department: item.as_ref().and_then(|item| item.department),
        state: state_of(own, item.as_ref(), last_inbound),
        archived: item
            .as_ref()
            .is_some_and(|item| item.state == QueueState::Closed && item.archived_at.is_some()),
    })
}

/// The stored row of a customer's conversation, if any.
pub(crate) fn stored_row(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<Option<ConversationRow>> {
    view.get(
        tables::CONVERSATION_ROWS,
        &conversation_row_key(org, customer),
    )
}

/// Rewrites the row of `customer`'s conversation from its sources, keeping its own state
/// (or setting `state` when given), and returns it; writes nothing when it is unchanged. A
/// customer who no longer exists loses their row. Every use case that changes what a row
/// shows calls this in its transaction: `save_customer` (messages' unread count and
/// activity, renames, new customers), `chat::write_message` (a new message, a note), the
/// operators queue's item writes (assignment, department, close, reopen), and the inbox's
/// close, reopen and snooze. A merge of two customers calls it for both (the one that is
/// gone loses its row, the one that stays gets the moved messages' preview).
///
/// # Errors
/// Storage only.
pub(crate) fn refresh_conversation_row(
    tx: &Tx<'_>,
    org: OrgId,
    customer: CustomerId,
) -> Result<Option<ConversationRow>> {
    write_row(tx, org, customer, None)
}

/// [`refresh_conversation_row`] with the conversation's own state set to `state`.
pub(crate) fn write_row(
    tx: &Tx<'_>,
    org: OrgId,
    customer: CustomerId,
    state: Option<ConversationState>,
) -> Result<Option<ConversationRow>> {
    let key = conversation_row_key(org, customer);
    let before: Option<ConversationRow> = tx.get(tables::CONVERSATION_ROWS, &key)?;
    let record = match load_customer(tx, org, customer) {
        Ok(record) => record,
        Err(error) if error.kind() == crate::ErrorKind::NotFound => {
            if let Some(before) = before {
                tx.delete_record(&key, &before)?;
            }
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let organization = load_org(tx, org)?;
    let own = state.unwrap_or_else(|| {
        before
            .as_ref()
            .map_or(ConversationState::Open, |row| row.state)
    });
    let after = conversation_row_of(tx, &organization, &record, own)?;
    match before {
        Some(before) if before == after => {}
        Some(before) => tx.update_record(&key, &before, &after)?,
        None => tx.insert_record(&key, &after)?,
    }
    Ok(Some(after))
}

/// Builds the row of every customer of the file (the schema 6 -> 7 migration), each open
/// unless its queue item is closed.
///
/// # Errors
/// Storage only.
pub(crate) fn build_conversation_rows(tx: &Tx<'_>) -> Result<()> {
    let mut customers: Vec<(OrgId, CustomerId)> = Vec::new();
    tx.for_each_prefix(tables::CUSTOMERS, &Key::empty(), |key, _| {
        customers.push((
            OrgId(keys::read_u64(key, 0)),
            CustomerId(keys::tail_u64(key)),
        ));
        Ok(true)
    })?;
    for (org, customer) in customers {
        refresh_conversation_row(tx, org, customer)?;
    }
    Ok(())
}

/// What is wrong with a stored row against its sources (`crm verify`), if anything.
///
/// # Errors
/// Storage only.
pub(crate) fn row_problem(
    view: &impl View,
    org: OrgId,
    row: &ConversationRow,
) -> Result<Option<String>> {
    let customer = match load_customer(view, org, row.customer) {
        Ok(customer) => customer,
        Err(error) if error.kind() == crate::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let organization = match load_org(view, org) {
        Ok(organization) => organization,
        Err(error) if error.kind() == crate::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let expected = conversation_row_of(view, &organization, &customer, row.state)?;
    if expected == *row {
        return Ok(None);
    }
    Ok(Some(format!(
        "is stale: its sources say {expected:?}, the row says {row:?}"
    )))
}

/// Not found for a customer without a row.
pub(crate) fn require_row(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<ConversationRow> {
    stored_row(view, org, customer)?.ok_or_else(|| Error::not_found(CustomerId::LABEL, customer))
}
