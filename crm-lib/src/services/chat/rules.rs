//! The rules a message is written by, shared by the chat's use cases and the modules hooked
//! onto them (the projects module's lead posts its first message itself): the inbound text and
//! files are checked, a message is written with its indexes, and a customer's current order
//! is found. Below both the chat and the leads, so neither imports the other back.

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Error, Result, Tx, View};

use super::super::orders::load_order;
use super::super::{clean_text, message_key};
use super::check_content;
use super::messages::{InboundMessage, MESSAGE_MAX_ATTACHMENTS, MESSAGE_MAX_CHARS};

/// Text of an inbound message: what Telegram delivered is kept, so control characters other
/// than line breaks and tabs are dropped rather than refusing the customer's message.
pub(crate) fn inbound_text(text: &str) -> Result<String> {
    let kept: String = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect();
    clean_text("text", &kept, 0, MESSAGE_MAX_CHARS)
}

/// Checks the attachments of a message: at most [`MESSAGE_MAX_ATTACHMENTS`], each stored in
/// the organization or among `pending` (files the same use case stores once every check
/// passed). Size and MIME type are taken from the file; the file name is trimmed to 255
/// characters.
pub(crate) fn check_attachments(
    view: &impl View,
    org: OrgId,
    attachments: Vec<Attachment>,
    pending: &[Media],
) -> Result<Vec<Attachment>> {
    if attachments.len() > MESSAGE_MAX_ATTACHMENTS {
        return Err(Error::invalid(
            "attachments",
            format!(
                "a message carries at most {MESSAGE_MAX_ATTACHMENTS} files (got {})",
                attachments.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(attachments.len());
    for mut attachment in attachments {
        let media = match pending.iter().find(|media| media.hash == attachment.media) {
            Some(media) => media.clone(),
            None => super::super::media::media_in(view, org, attachment.media)?,
        };
        attachment.size = media.size;
        attachment.mime = media.mime;
        attachment.file_name = attachment
            .file_name
            .map(|name| {
                name.chars()
                    .filter(|c| !c.is_control())
                    .take(255)
                    .collect::<String>()
            })
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty());
        out.push(attachment);
    }
    Ok(out)
}

pub(crate) fn require_content(
    text: &str,
    attachments: &[Attachment],
    content: Option<&MessageContent>,
) -> Result<()> {
    if text.is_empty() && attachments.is_empty() && content.is_none() {
        return Err(Error::invalid(
            "text",
            "a message needs text or at least one attachment",
        ));
    }
    Ok(())
}

/// Checks that `order` exists and belongs to `customer`; another customer's order reads as
/// not found.
pub(crate) fn check_order_of(
    view: &impl View,
    org: OrgId,
    order: Option<OrderId>,
    customer: CustomerId,
) -> Result<()> {
    if let Some(order) = order
        && load_order(view, org, order)?.customer != customer
    {
        return Err(Error::not_found(OrderId::LABEL, order));
    }
    Ok(())
}

/// Refuses a send to a customer Telegram cannot reach: they blocked the bot (a 403 marked
/// them unreachable) or no Telegram account is known.
pub(crate) fn check_reachable(customer: &Customer) -> Result<()> {
    if customer.unreachable {
        return Err(Error::conflict(format!(
            "customer {} blocked the bot; the message cannot be delivered",
            customer.id
        )));
    }
    if customer.telegram_id.is_none() {
        return Err(Error::conflict(format!(
            "customer {} has no telegram account; the message cannot be delivered",
            customer.id
        )));
    }
    Ok(())
}

/// Whether [`Tx::post_inbound`] would take `msg`'s content (its text, files and kind of
/// content), checked without writing: what a use case that writes something before posting
/// the message (the projects module's lead) checks first.
///
/// # Errors
/// As [`Tx::post_inbound`] for the content: invalid input on `text` or `attachments`, not
/// found for a file that is not stored.
pub(crate) fn check_inbound(view: &impl View, org: OrgId, msg: &InboundMessage) -> Result<()> {
    let text = inbound_text(&msg.text)?;
    let attachments = check_attachments(view, org, msg.attachments.clone(), &[])?;
    let content = msg.content.clone().map(check_content).transpose()?;
    require_content(&text, &attachments, content.as_ref())
}

/// Writes a new message with the conversation, order and file index entries its
/// declaration (`store::declarations`) lists.
/// The conversation's inbox row follows (its preview, a snooze woken by the customer).
pub(crate) fn write_message(tx: &Tx<'_>, org: OrgId, message: &Message) -> Result<()> {
    tx.insert_record(&message_key(org, message.id), message)?;
    super::super::inbox::rows::refresh_conversation_row(tx, org, message.customer)?;
    Ok(())
}

/// The customer's current order: their newest order whose stage is not terminal, if any.
/// The one place this rule is written (the bot files a message that names no order under it,
/// and the inbox offers it as a reply's order).
pub(crate) fn current_order_of(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<Option<OrderId>> {
    let organization = super::super::load_org(view, org)?;
    let keys = view.keys_with_prefix(
        tables::ORDERS_BY_CUSTOMER,
        &Key::org(org).u64(customer.0),
        None,
        true,
        usize::MAX,
    )?;
    for key in keys {
        let order = load_order(view, org, OrderId(keys::tail_u64(&key)))?;
        let open = organization
            .pipeline
            .stage(order.stage)
            .is_some_and(|stage| !stage.kind.is_terminal());
        if open {
            return Ok(Some(order.id));
        }
    }
    Ok(None)
}
