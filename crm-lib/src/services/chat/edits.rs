//! Telegram fidelity of the conversation (issue 12): finding a message by its Telegram id
//! (replies, edits), albums (the parts of one `media_group_id` become one message), the
//! customer's edits, and staff edits and deletes with their outbox items.

use crate::model::*;
use crate::store::declarations::telegram_message_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::super::customers::save_customer;
use super::super::inbox::rows::refresh_conversation_row;
use super::super::orders::may_chat;
use super::super::{Resolved, load_message, message_key, resolve};
use super::{
    CAPTION_MAX_CHARS, MESSAGE_MAX_ATTACHMENTS, MESSAGE_MAX_CHARS, check_content, inbound_text,
    message_detail,
};

/// How far back in a conversation the parts of an album look for their message: Telegram
/// sends an album's parts one right after the other.
const ALBUM_LOOKBACK: usize = 20;

/// Telegram's limit for a bot deleting its message in a private chat: 48 hours (Bot API
/// `deleteMessage`: "a message can only be deleted if it was sent less than 48 hours ago").
pub const DELETE_WINDOW_MS: i64 = 48 * 60 * 60 * 1000;

/// The message Telegram knows as `telegram` in `customer`'s chat, if any (the newest, when
/// two share the id): one key of `messages_by_telegram`.
///
/// # Errors
/// Storage.
pub(crate) fn message_by_telegram(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
    telegram: i64,
) -> Result<Option<Message>> {
    let keys = view.keys_with_prefix(
        tables::MESSAGES_BY_TELEGRAM,
        &telegram_message_key(org, customer, telegram),
        None,
        true,
        1,
    )?;
    match keys.first() {
        Some(key) => Ok(Some(load_message(
            view,
            org,
            MessageId(keys::tail_u64(key)),
        )?)),
        None => Ok(None),
    }
}

/// The customer's recent inbound message of the album `group`, if any: the last
/// [`ALBUM_LOOKBACK`] messages of the conversation are looked at.
pub(crate) fn album_message(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
    group: &str,
) -> Result<Option<Message>> {
    let keys = view.keys_with_prefix(
        tables::MESSAGES_BY_CUSTOMER,
        &Key::org(org).u64(customer.0),
        None,
        true,
        ALBUM_LOOKBACK,
    )?;
    for key in keys {
        let message = load_message(view, org, MessageId(keys::tail_u64(&key)))?;
        if message.direction == Direction::Inbound
            && message.media_group.as_deref() == Some(group)
            && !message.is_deleted()
        {
            return Ok(Some(message));
        }
    }
    Ok(None)
}

/// A customer's edit of a message they sent (Telegram's `edited_message`).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEdit {
    /// Whose conversation (ignored when the actor is the customer).
    pub customer: CustomerId,
    /// Telegram's `message_id` of the edited message.
    pub telegram_message_id: i64,
    /// The new text or caption, at most 4096 characters.
    pub text: String,
    /// The new content (a live location moves), when the message has one.
    pub content: Option<MessageContent>,
}

/// Who may edit or delete `message`: staff who may chat about its order and either wrote it
/// or hold `chat_customers`; the system.
fn check_staff_change(
    view: &impl View,
    actor: &Actor,
    resolved: &Resolved,
    message: &Message,
) -> Result<()> {
    if matches!(resolved, Resolved::Customer(_)) {
        return Err(Error::forbidden(
            "customers edit and delete in Telegram, not here",
        ));
    }
    let denied = || {
        Error::denied(
            Permission::ChatCustomers,
            format!(
                "{} may change only their own messages without the chat_customers permission",
                actor.who
            ),
        )
    };
    if !may_chat(view, actor.org, resolved, message.order)? {
        return Err(denied());
    }
    let author = matches!(
        (message.author, resolved.user_id()),
        (Author::Staff(author), Some(user)) if author == user
    );
    if !author && !resolved.has(Permission::ChatCustomers) && resolved.user_id().is_some() {
        return Err(denied());
    }
    match message.direction {
        Direction::Inbound => Err(Error::conflict(format!(
            "message {} is the customer's; only its author edits it",
            message.id
        ))),
        Direction::Outbound | Direction::Note => Ok(()),
    }
}

/// What a staff user may do with one message of a conversation they can open (the page
/// shows these buttons; [`Tx::edit_outbound`] and [`Tx::delete_outbound`] still decide).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageActions {
    /// Quote it in a reply (a message Telegram knows, not deleted, not a note).
    pub reply: bool,
    /// Edit its text: staff's own (or any with `chat_customers`) sent text or caption, or a
    /// note.
    pub edit: bool,
    /// Delete it: as edit, and a sent message less than 48 hours old.
    pub delete: bool,
    /// Take a contact's phone number as the customer's phone (`chat_customers`).
    pub take_phone: bool,
}

/// The actions `user` (holding `permissions`) has on `message` at `now`, by the rules of
/// [`Tx::edit_outbound`], [`Tx::delete_outbound`] and [`Tx::take_contact_phone`].
pub fn message_actions(
    user: UserId,
    permissions: PermissionSet,
    message: &Message,
    now: Timestamp,
) -> MessageActions {
    if message.is_deleted() {
        return MessageActions::default();
    }
    let chat = permissions.contains(Permission::ChatCustomers);
    let mine = message.author == Author::Staff(user) || chat;
    let sent = message.delivery == DeliveryState::Sent && message.telegram_message_id.is_some();
    let (edit, delete) = match message.direction {
        Direction::Inbound => (false, false),
        Direction::Note => (mine, mine),
        Direction::Outbound => (
            mine && sent && message.content.is_none(),
            mine && sent && now.millis() - message.created_at.millis() < DELETE_WINDOW_MS,
        ),
    };
    MessageActions {
        reply: message.direction != Direction::Note && message.telegram_message_id.is_some(),
        edit,
        delete,
        take_phone: chat
            && message.direction == Direction::Inbound
            && matches!(message.content, Some(MessageContent::Contact { .. })),
    }
}

impl Tx<'_> {
    /// Takes the phone number of a contact the customer sent (a Telegram contact card) as
    /// the customer's phone, cleaned to E.164 ([`parse_phone`](crate::customers::parse_phone)).
    /// Writes nothing when it is their phone already.
    ///
    /// Rules: `chat_customers` (the system may); the message is an inbound contact.
    ///
    /// # Errors
    /// Permission denied; not found; conflict when the message is no contact from the
    /// customer; invalid input on `phone`.
    pub fn take_contact_phone(&mut self, actor: &Actor, message: MessageId) -> Result<Customer> {
        super::super::require(self, actor, Permission::ChatCustomers)?;
        let record = load_message(self, actor.org, message)?;
        let phone = match (&record.content, record.direction) {
            (Some(MessageContent::Contact { phone, .. }), Direction::Inbound) => phone.clone(),
            _ => {
                return Err(Error::conflict(format!(
                    "message {message} is no contact the customer sent"
                )));
            }
        };
        let phone = super::super::customers::parse_phone(&phone)?;
        let before = super::super::customers::load_customer(self, actor.org, record.customer)?;
        if before.phone.as_deref() == Some(phone.as_str()) {
            return Ok(before);
        }
        let mut customer = before;
        customer.phone = Some(phone);
        save_customer(self, actor.org, &customer)?;
        self.audit(
            actor,
            AuditAction::CustomerProfileChanged,
            Subject::Customer(customer.id),
            AuditDetail::Text("phone from a contact message".into()),
        )?;
        self.changed(
            actor.org,
            Subject::Customer(customer.id),
            ChangeKind::Updated,
        )?;
        Ok(customer)
    }

    /// The next part of an album: the files of the part join `album`'s message (the first
    /// part's), its caption becomes the text when there was none. Not unread again (the
    /// album counted once); the conversation's activity moves.
    pub(super) fn append_to_album(
        &mut self,
        actor: &Actor,
        mut customer: Customer,
        album: Message,
        text: String,
        attachments: Vec<Attachment>,
    ) -> Result<Message> {
        if album.attachments.len() + attachments.len() > MESSAGE_MAX_ATTACHMENTS {
            return Err(Error::invalid(
                "attachments",
                format!("an album carries at most {MESSAGE_MAX_ATTACHMENTS} files"),
            ));
        }
        let mut message = album.clone();
        message.attachments.extend(attachments);
        if message.text.is_empty() {
            message.text = text;
        }
        self.update_record(&message_key(actor.org, message.id), &album, &message)?;
        customer.last_activity_at = self.now();
        save_customer(self, actor.org, &customer)?;
        self.audit(
            actor,
            AuditAction::MessageReceived,
            Subject::Message(message.id),
            message_detail(&message),
        )?;
        self.changed(actor.org, Subject::Message(message.id), ChangeKind::Updated)?;
        Ok(message)
    }

    /// Records a customer's edit of their message (Telegram's `edited_message`): the new text
    /// (and content) replaces the old, which is kept in [`Message::edits`] with the time of
    /// the edit. An edit that changes nothing writes nothing. Not unread, not activity.
    ///
    /// Rules: the actor is the customer or the system; the message is the customer's and
    /// known by that Telegram id; text at most 4096 characters (control characters other than
    /// line breaks and tabs dropped); text or files or content remain.
    ///
    /// # Errors
    /// Permission denied for staff; not found (customer, message); invalid input on `text`
    /// or the content's fields.
    pub fn edit_inbound(&mut self, actor: &Actor, edit: InboundEdit) -> Result<Message> {
        let customer = match actor.who {
            ActorRef::Customer(customer) => customer,
            ActorRef::System => edit.customer,
            ActorRef::Staff(_) => {
                return Err(Error::forbidden(
                    "only a customer (or the bot as the system) edits inbound messages",
                ));
            }
        };
        let before = message_by_telegram(self, actor.org, customer, edit.telegram_message_id)?
            .filter(|message| message.direction == Direction::Inbound)
            .ok_or_else(|| Error::not_found("telegram message", edit.telegram_message_id))?;
        let text = inbound_text(&edit.text)?;
        let content = edit.content.map(check_content).transpose()?;
        let content = content.or_else(|| before.content.clone());
        if text == before.text && content == before.content {
            return Ok(before);
        }
        super::require_content(&text, &before.attachments, content.as_ref())?;
        let mut message = before.clone();
        if text != before.text {
            message.edits.push(MessageEdit {
                text: std::mem::replace(&mut message.text, text),
                at: self.now(),
            });
        }
        message.content = content;
        self.update_record(&message_key(actor.org, message.id), &before, &message)?;
        refresh_conversation_row(self, actor.org, message.customer)?;
        self.audit(
            actor,
            AuditAction::MessageEdited,
            Subject::Message(message.id),
            message_detail(&message),
        )?;
        self.changed(actor.org, Subject::Message(message.id), ChangeKind::Updated)?;
        Ok(message)
    }

    /// Staff edit a message: a sent message's new text goes to Telegram (an outbox item the
    /// bot turns into `editMessageText`, or `editMessageCaption` for a caption); a note is
    /// edited in place. The old text is kept in [`Message::edits`]. An edit that changes
    /// nothing writes nothing.
    ///
    /// Rules: staff who may chat about the message's order and wrote it, or hold
    /// `chat_customers`; the system. The message is staff's (outbound or a note), not
    /// deleted; an outbound one was sent (Telegram knows its id) and carries no location,
    /// contact or sticker (Telegram edits only texts and captions). Text: without control
    /// characters, at most 4096 characters, or 1024 for a caption
    /// ([`Message::edits_as_caption`]); empty only when the message has files.
    ///
    /// # Errors
    /// Permission denied; not found; conflict (a customer's, deleted, unsent or content
    /// message); invalid input on `text`.
    pub fn edit_outbound(
        &mut self,
        actor: &Actor,
        message: MessageId,
        text: &str,
    ) -> Result<Message> {
        let resolved = resolve(self, actor)?;
        let before = load_message(self, actor.org, message)?;
        check_staff_change(self, actor, &resolved, &before)?;
        if before.is_deleted() {
            return Err(Error::conflict(format!("message {message} was deleted")));
        }
        let outbound = before.direction == Direction::Outbound;
        if outbound {
            if before.content.is_some() {
                return Err(Error::conflict(format!(
                    "message {message} is a location, contact or sticker; Telegram cannot edit it"
                )));
            }
            if before.delivery != DeliveryState::Sent || before.telegram_message_id.is_none() {
                return Err(Error::conflict(format!(
                    "message {message} has not reached Telegram; wait until it is sent"
                )));
            }
        }
        let max = if outbound && before.edits_as_caption() {
            CAPTION_MAX_CHARS
        } else {
            MESSAGE_MAX_CHARS
        };
        let min = usize::from(before.attachments.is_empty());
        let text = super::super::clean_text("text", text, min, max)?;
        if text == before.text {
            return Ok(before);
        }
        let mut record = before.clone();
        record.edits.push(MessageEdit {
            text: std::mem::replace(&mut record.text, text),
            at: self.now(),
        });
        self.update_record(&message_key(actor.org, message), &before, &record)?;
        refresh_conversation_row(self, actor.org, record.customer)?;
        if outbound {
            self.enqueue(
                actor.org,
                Recipient::Customer(record.customer),
                OutboxPayload::EditMessage(message),
            )?;
        }
        self.audit(
            actor,
            AuditAction::MessageEdited,
            Subject::Message(message),
            message_detail(&record),
        )?;
        self.changed(actor.org, Subject::Message(message), ChangeKind::Updated)?;
        Ok(record)
    }

    /// Staff delete a message: it stays in the conversation for staff, marked deleted, and
    /// leaves the customer's view; a sent message is deleted in Telegram too (an outbox item
    /// the bot turns into `deleteMessage`).
    ///
    /// Rules: as [`Tx::edit_outbound`] for who may; not deleted already; an outbound message
    /// was sent and is less than 48 hours old ([`DELETE_WINDOW_MS`], Telegram's limit).
    ///
    /// # Errors
    /// Permission denied; not found; conflict (a customer's message, deleted already, unsent,
    /// older than 48 hours).
    pub fn delete_outbound(&mut self, actor: &Actor, message: MessageId) -> Result<Message> {
        let resolved = resolve(self, actor)?;
        let before = load_message(self, actor.org, message)?;
        check_staff_change(self, actor, &resolved, &before)?;
        if before.is_deleted() {
            return Err(Error::conflict(format!(
                "message {message} was deleted already"
            )));
        }
        let outbound = before.direction == Direction::Outbound;
        if outbound {
            if before.delivery != DeliveryState::Sent || before.telegram_message_id.is_none() {
                return Err(Error::conflict(format!(
                    "message {message} has not reached Telegram; it cannot be deleted there"
                )));
            }
            if self.now().millis() - before.created_at.millis() >= DELETE_WINDOW_MS {
                return Err(Error::conflict(format!(
                    "message {message} is older than 48 hours; Telegram no longer deletes it"
                )));
            }
        }
        let mut record = before.clone();
        record.deleted_at = Some(self.now());
        self.update_record(&message_key(actor.org, message), &before, &record)?;
        refresh_conversation_row(self, actor.org, record.customer)?;
        if outbound {
            self.enqueue(
                actor.org,
                Recipient::Customer(record.customer),
                OutboxPayload::DeleteMessage(message),
            )?;
        }
        self.audit(
            actor,
            AuditAction::MessageDeleted,
            Subject::Message(message),
            message_detail(&record),
        )?;
        self.changed(actor.org, Subject::Message(message), ChangeKind::Updated)?;
        Ok(record)
    }
}

impl Crm {
    /// See [`Tx::take_contact_phone`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::take_contact_phone`].
    pub fn take_contact_phone(&self, actor: &Actor, message: MessageId) -> Result<Customer> {
        let actor = actor.clone();
        self.write(move |tx| tx.take_contact_phone(&actor, message))
    }

    /// See [`Tx::edit_inbound`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::edit_inbound`].
    pub fn edit_inbound(&self, actor: &Actor, edit: InboundEdit) -> Result<Message> {
        let actor = actor.clone();
        self.write(move |tx| tx.edit_inbound(&actor, edit))
    }

    /// See [`Tx::edit_outbound`]. Blocks until the commit is durable; Telegram is told later,
    /// from the outbox.
    ///
    /// # Errors
    /// See [`Tx::edit_outbound`].
    pub fn edit_outbound(&self, actor: &Actor, message: MessageId, text: &str) -> Result<Message> {
        let actor = actor.clone();
        let text = text.to_string();
        self.write(move |tx| tx.edit_outbound(&actor, message, &text))
    }

    /// See [`Tx::delete_outbound`]. Blocks until the commit is durable; Telegram is told
    /// later, from the outbox.
    ///
    /// # Errors
    /// See [`Tx::delete_outbound`].
    pub fn delete_outbound(&self, actor: &Actor, message: MessageId) -> Result<Message> {
        let actor = actor.clone();
        self.write(move |tx| tx.delete_outbound(&actor, message))
    }
}
