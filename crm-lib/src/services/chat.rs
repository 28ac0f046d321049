//! Chat: the messages between a customer and the team, optionally about one order (SPEC
//! section 2, step 5), and the conversation list ordered by last activity.
//!
//! What a customer writes arrives through the bot as [`Tx::post_inbound`]; what staff write
//! goes out as [`Tx::post_outbound`], which queues the Telegram delivery in the outbox in the
//! same transaction. The outbox job reports back with `mark_message_sent` and
//! `mark_message_failed` (the outbox calls of [`super::telegram`] do it for chat
//! messages on their own).

use crate::model::*;
use crate::store::declarations::activity_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::customers::{load_customer, save_customer};
use super::media::NewMedia;
use super::orders::load_order;
use super::orders::may_chat;
use super::{Page, Paged, Resolved, clean_text, load_message, message_key, resolve};

mod content;
mod edits;
pub(crate) mod messages;
pub(crate) mod rules;

pub use content::check_content;
pub(crate) use edits::message_by_telegram;
pub use edits::{DELETE_WINDOW_MS, InboundEdit, MessageActions, message_actions};
pub(crate) use messages::customer_sees;
pub use messages::{
    CAPTION_MAX_CHARS, InboundMessage, MESSAGE_MAX_ATTACHMENTS, MESSAGE_MAX_CHARS, NewNote,
    OrderChoice, OutboundMessage,
};
pub(crate) use rules::{check_attachments, check_reachable, current_order_of, write_message};
use rules::{check_order_of, inbound_text, require_content};

/// A file staff send with a message, received with the request and not stored yet: it is
/// stored by [`Tx::post_outbound_with_files`] in the message's transaction, once the message
/// passed every check.
#[derive(Debug, Clone)]
pub struct OutboundFile {
    /// The checked and hashed bytes.
    pub media: NewMedia,
    /// How Telegram is to send it.
    pub kind: MediaKind,
    /// The file name the customer sees, when there is one.
    pub file_name: Option<String>,
}

fn message_detail(message: &Message) -> AuditDetail {
    AuditDetail::Message {
        customer: message.customer,
        order: message.order,
        chars: u32::try_from(message.text.chars().count()).unwrap_or(u32::MAX),
        files: u32::try_from(message.attachments.len()).unwrap_or(u32::MAX),
    }
}

/// The order a message of `customer` that names none is about: their newest order that is
/// not finished, if any. Customers may ask about themselves; staff need `chat_customers`.
///
/// # Errors
/// Permission denied; not found for an unknown customer.
pub fn current_order_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
) -> Result<Option<OrderId>> {
    match resolve(view, actor)? {
        Resolved::Customer(own) if own == customer => {}
        Resolved::Customer(_) => return Err(Error::not_found(CustomerId::LABEL, customer)),
        resolved if resolved.has(Permission::ChatCustomers) => {}
        _ => {
            return Err(Error::denied(
                Permission::ChatCustomers,
                format!("{} lacks the chat_customers permission", actor.who),
            ));
        }
    }
    load_customer(view, actor.org, customer)?;
    current_order_of(view, actor.org, customer)
}

impl Tx<'_> {
    /// Records a message a customer wrote (through the bot). Counts it as unread for staff,
    /// moves the conversation to the top, and marks the customer reachable again (writing to
    /// the bot means they unblocked it).
    ///
    /// Rules: the actor is the customer or the system; the order, when given, is the
    /// customer's; text at most 4096 characters (control characters other than line breaks
    /// and tabs are dropped); text or an attachment; at most 10 attachments, each already
    /// stored.
    ///
    /// # Errors
    /// Permission denied for staff; not found (customer, order, media); invalid input on
    /// `text` or `attachments`.
    pub fn post_inbound(&mut self, actor: &Actor, msg: InboundMessage) -> Result<Message> {
        let customer_id = match actor.who {
            ActorRef::Customer(customer) => customer,
            ActorRef::System => msg.customer,
            ActorRef::Staff(_) => {
                return Err(Error::forbidden(
                    "only a customer (or the bot as the system) posts inbound messages",
                ));
            }
        };
        let mut customer = load_customer(self, actor.org, customer_id)?;
        let order = match msg.about {
            OrderChoice::Chosen(order) => {
                match check_order_of(self, actor.org, Some(order), customer_id) {
                    Ok(()) => Some(order),
                    Err(error) if error.kind() == crate::ErrorKind::NotFound => {
                        current_order_of(self, actor.org, customer_id)?
                    }
                    Err(error) => return Err(error),
                }
            }
            OrderChoice::Current => current_order_of(self, actor.org, customer_id)?,
            OrderChoice::None => None,
        };
        let text = inbound_text(&msg.text)?;
        let attachments = check_attachments(self, actor.org, msg.attachments, &[])?;
        let content = msg.content.map(check_content).transpose()?;
        require_content(&text, &attachments, content.as_ref())?;
        let media_group = msg
            .media_group
            .map(|group| group.chars().take(64).collect::<String>())
            .filter(|group| !group.is_empty());
        if let Some(group) = &media_group
            && let Some(album) = edits::album_message(self, actor.org, customer_id, group)?
        {
            return self.append_to_album(actor, customer, album, text, attachments);
        }
        let reply_to = match msg.reply_to_telegram {
            Some(telegram) => message_by_telegram(self, actor.org, customer_id, telegram)?
                .filter(|quoted| quoted.direction != Direction::Note)
                .map(|quoted| quoted.id),
            None => None,
        };
        let id = MessageId(self.next_id(actor.org, "message")?);
        let message = Message {
            id,
            customer: customer_id,
            order,
            direction: Direction::Inbound,
            author: Author::Customer(customer_id),
            text,
            attachments,
            telegram_message_id: msg.telegram_message_id,
            delivery: DeliveryState::Received,
            created_at: self.now(),
            content,
            reply_to,
            edits: Vec::new(),
            deleted_at: None,
            media_group,
        };
        write_message(self, actor.org, &message)?;
        let was_unreachable = customer.unreachable;
        customer.unread = customer.unread.saturating_add(1);
        customer.last_activity_at = self.now();
        customer.unreachable = false;
        save_customer(self, actor.org, &customer)?;
        if was_unreachable {
            self.audit(
                &Actor::system(actor.org),
                AuditAction::CustomerReachable,
                Subject::Customer(customer_id),
                AuditDetail::None,
            )?;
        }
        self.audit(
            actor,
            AuditAction::MessageReceived,
            Subject::Message(id),
            message_detail(&message),
        )?;
        self.changed(actor.org, Subject::Message(id), ChangeKind::Created)?;
        crate::webhooks::emit(
            self,
            actor.org,
            crate::webhooks::WebhookEvent::MessageReceived {
                message: id,
                customer: customer_id,
                order: message.order,
                text: message.text.clone(),
            },
        )?;
        // The operators module: a message with no open conversation opens one and routes it.
        let org = super::load_org(self, actor.org)?;
        super::operators::on_customer_message(self, &org, customer_id)?;
        // Business hours: out of hours, the auto-reply (once per closed period).
        super::hours::on_customer_message(self, &org, customer_id)?;
        // The projects module: a lead's message alerts the managers and queues the AI.
        let alerted = super::leads::on_customer_message(self, &org, &message)?;
        super::staff_chat::on_customer_message(self, &org, &message, &alerted)?;
        Ok(message)
    }

    /// Sends a message to a customer: records it (delivery pending) and queues its Telegram
    /// delivery in the outbox, in this transaction. Answering reads the conversation: its
    /// unread count goes to zero.
    ///
    /// Rules: staff need `chat_customers`, or an order-level `chat_customers` grant on the
    /// message's order (the assignee); the system may (author System); customers may not. The
    /// order, when given, is the customer's; the customer is reachable (not blocked, has a
    /// Telegram account); text at most 4096 characters without control characters; text or an
    /// attachment; at most 10 attachments, each already stored.
    ///
    /// # Errors
    /// Permission denied (naming `chat_customers`); not found; invalid input on `text` or
    /// `attachments`; conflict `customer N blocked the bot; the message cannot be delivered`.
    pub fn post_outbound(&mut self, actor: &Actor, msg: OutboundMessage) -> Result<Message> {
        self.post_outbound_with_files(actor, msg, Vec::new())
    }

    /// [`Tx::post_outbound`] with files received with the request (the web's send form):
    /// they are attached after `msg.attachments` and stored in this transaction only once
    /// every rule of the message passed, so a refused message (no chat access, too long, a
    /// blocked customer) stores no file.
    ///
    /// # Errors
    /// See [`Tx::post_outbound`]; the attachment limit counts `files` too.
    pub fn post_outbound_with_files(
        &mut self,
        actor: &Actor,
        mut msg: OutboundMessage,
        files: Vec<OutboundFile>,
    ) -> Result<Message> {
        let pending: Vec<Media> = files
            .iter()
            .map(|file| file.media.record(self.now()))
            .collect();
        msg.attachments
            .extend(files.iter().zip(&pending).map(|(file, media)| Attachment {
                media: media.hash,
                kind: file.kind,
                file_name: file.file_name.clone(),
                mime: media.mime.clone(),
                size: media.size,
            }));
        let resolved = resolve(self, actor)?;
        if matches!(resolved, Resolved::Customer(_)) {
            return Err(Error::forbidden(
                "customers write through the bot, not as outbound messages",
            ));
        }
        if !may_chat(self, actor.org, &resolved, msg.order)? {
            return Err(Error::denied(
                Permission::ChatCustomers,
                format!("{} lacks the chat_customers permission", actor.who),
            ));
        }
        let mut customer = load_customer(self, actor.org, msg.customer)?;
        check_order_of(self, actor.org, msg.order, msg.customer)?;
        let text = clean_text("text", &msg.text, 0, MESSAGE_MAX_CHARS)?;
        let attachments = check_attachments(self, actor.org, msg.attachments, &pending)?;
        let content = content::outbound_content(msg.content, &text, &attachments)?;
        require_content(&text, &attachments, content.as_ref())?;
        let reply_to = match msg.reply_to {
            Some(reply_to) => {
                let quoted = load_message(self, actor.org, reply_to)?;
                if quoted.customer != msg.customer
                    || quoted.direction == Direction::Note
                    || quoted.is_deleted()
                {
                    return Err(Error::not_found(MessageId::LABEL, reply_to));
                }
                Some(reply_to)
            }
            None => None,
        };
        check_reachable(&customer)?;
        // Every check passed: only now do the files go into the store.
        for file in &files {
            self.store_new_media(actor.org, &file.media)?;
        }
        let author = match resolved.user_id() {
            Some(user) => Author::Staff(user),
            None => Author::System,
        };
        let id = MessageId(self.next_id(actor.org, "message")?);
        let message = Message {
            id,
            customer: msg.customer,
            order: msg.order,
            direction: Direction::Outbound,
            author,
            text,
            attachments,
            telegram_message_id: None,
            delivery: DeliveryState::Pending,
            created_at: self.now(),
            content,
            reply_to,
            edits: Vec::new(),
            deleted_at: None,
            media_group: None,
        };
        write_message(self, actor.org, &message)?;
        // Answering a conversation reads it: what the customer wrote before was seen.
        let was_unread = customer.unread > 0;
        customer.unread = 0;
        customer.last_activity_at = self.now();
        save_customer(self, actor.org, &customer)?;
        if was_unread {
            self.changed(
                actor.org,
                Subject::Conversation(msg.customer),
                ChangeKind::Read,
            )?;
        }
        self.enqueue(
            actor.org,
            Recipient::Customer(msg.customer),
            OutboxPayload::ChatMessage(id),
        )?;
        self.audit(
            actor,
            AuditAction::MessageSent,
            Subject::Message(id),
            message_detail(&message),
        )?;
        self.changed(actor.org, Subject::Message(id), ChangeKind::Created)?;
        // The operators module: the reply answers the conversation (first response time).
        super::operators::on_staff_reply(
            self,
            actor.org,
            msg.customer,
            resolved.user_id(),
            msg.order,
        )?;
        super::staff_chat::on_staff_message(self, actor.org, &message)?;
        Ok(message)
    }

    /// Writes a private note in a customer's conversation, optionally about one of their
    /// orders (issue 12): a message of [`Direction::Note`] that is never sent (no outbox
    /// item), never shown to the customer (every read a customer reaches skips notes), not
    /// counted as unread and not the conversation's activity (the inbox's order does not
    /// change). Its delivery state is [`DeliveryState::Received`]: nothing is to deliver.
    ///
    /// Rules: staff need `chat_customers`, or an order-level `chat_customers` grant on the
    /// note's order; the system may (author System); customers may not. The order, when
    /// given, is the customer's; text 1 to 4096 characters without control characters other
    /// than line breaks and tabs.
    ///
    /// While the staff group's forum mirror is on, the note is copied into the customer's
    /// topic (no outbox item to the customer; see `staff_chat`).
    ///
    /// # Errors
    /// Forbidden for a customer; permission denied (naming `chat_customers`); not found
    /// (customer, order); invalid input on `text`.
    pub fn post_note(&mut self, actor: &Actor, note: NewNote) -> Result<Message> {
        let message = self.record_note(actor, note)?;
        super::staff_chat::on_note(self, actor.org, &message)?;
        Ok(message)
    }

    /// [`Tx::post_note`] without the copy into the forum topic: a note written in the topic
    /// itself (`/note`).
    pub(crate) fn record_note(&mut self, actor: &Actor, note: NewNote) -> Result<Message> {
        let resolved = resolve(self, actor)?;
        if matches!(resolved, Resolved::Customer(_)) {
            return Err(Error::forbidden("customers cannot write staff notes"));
        }
        if !may_chat(self, actor.org, &resolved, note.order)? {
            return Err(Error::denied(
                Permission::ChatCustomers,
                format!("{} lacks the chat_customers permission", actor.who),
            ));
        }
        load_customer(self, actor.org, note.customer)?;
        check_order_of(self, actor.org, note.order, note.customer)?;
        let text = clean_text("text", &note.text, 1, MESSAGE_MAX_CHARS)?;
        let author = match resolved.user_id() {
            Some(user) => Author::Staff(user),
            None => Author::System,
        };
        let id = MessageId(self.next_id(actor.org, "message")?);
        let message = Message {
            id,
            customer: note.customer,
            order: note.order,
            direction: Direction::Note,
            author,
            text,
            attachments: Vec::new(),
            telegram_message_id: None,
            delivery: DeliveryState::Received,
            created_at: self.now(),
            content: None,
            reply_to: None,
            edits: Vec::new(),
            deleted_at: None,
            media_group: None,
        };
        write_message(self, actor.org, &message)?;
        self.audit(
            actor,
            AuditAction::NotePosted,
            Subject::Message(id),
            message_detail(&message),
        )?;
        self.changed(actor.org, Subject::Message(id), ChangeKind::Created)?;
        Ok(message)
    }

    /// Marks a customer's conversation read: resets the unread count. Needs `chat_customers`
    /// (the system always may). Writes nothing when nothing was unread.
    ///
    /// # Errors
    /// Permission denied; not found.
    pub fn mark_read(&mut self, actor: &Actor, customer: CustomerId) -> Result<Customer> {
        super::require(self, actor, Permission::ChatCustomers)?;
        let mut record = load_customer(self, actor.org, customer)?;
        if record.unread == 0 {
            return Ok(record);
        }
        let before = record.unread;
        record.unread = 0;
        save_customer(self, actor.org, &record)?;
        self.audit(
            actor,
            AuditAction::ConversationRead,
            Subject::Conversation(customer),
            AuditDetail::Read { unread: before },
        )?;
        self.changed(actor.org, Subject::Conversation(customer), ChangeKind::Read)?;
        Ok(record)
    }

    /// Records that Telegram accepted an outbound message, with its `message_id` in the
    /// customer's chat. Called by the outbox job (no actor, no audit entry: delivery
    /// bookkeeping is not a change anyone made). Idempotent.
    ///
    /// # Errors
    /// Not found; conflict for an inbound message.
    pub(crate) fn mark_message_sent(
        &mut self,
        org: OrgId,
        message: MessageId,
        telegram_message_id: i64,
    ) -> Result<Message> {
        let mut record = load_message(self, org, message)?;
        if record.direction != Direction::Outbound {
            return Err(Error::conflict(format!(
                "message {message} was received, not sent"
            )));
        }
        if record.delivery == DeliveryState::Sent
            && record.telegram_message_id == Some(telegram_message_id)
        {
            return Ok(record);
        }
        let before = record.clone();
        record.delivery = DeliveryState::Sent;
        record.telegram_message_id = Some(telegram_message_id);
        self.update_record(&message_key(org, message), &before, &record)?;
        self.changed(org, Subject::Message(message), ChangeKind::Delivery)?;
        Ok(record)
    }

    /// Records that Telegram refused an outbound message for good (the customer blocked the
    /// bot). Called by the outbox job; idempotent; no audit entry (see
    /// `mark_message_sent`).
    ///
    /// # Errors
    /// Not found; conflict for an inbound message.
    pub(crate) fn mark_message_failed(
        &mut self,
        org: OrgId,
        message: MessageId,
    ) -> Result<Message> {
        let mut record = load_message(self, org, message)?;
        if record.direction != Direction::Outbound {
            return Err(Error::conflict(format!(
                "message {message} was received, not sent"
            )));
        }
        if record.delivery == DeliveryState::Failed {
            return Ok(record);
        }
        record.delivery = DeliveryState::Failed;
        self.put(tables::MESSAGES, &message_key(org, message), &record)?;
        self.changed(org, Subject::Message(message), ChangeKind::Delivery)?;
        Ok(record)
    }
}

/// Reads one page of message ids under `prefix`, newest first, after the cursor. Without
/// `notes`, staff notes are skipped (further keys are read until the page is full).
fn message_page(
    view: &impl View,
    org: OrgId,
    def: crate::store::Def,
    prefix: Key,
    page: Page,
    notes: bool,
) -> Result<Paged<Message>> {
    let size = page.size();
    let mut cursor = page.after.map(|after| prefix.clone().u64(after).into_vec());
    let mut items: Vec<Message> = Vec::with_capacity(size);
    let mut more = false;
    'read: loop {
        let keys = view.keys_with_prefix(def, &prefix, cursor.as_deref(), true, size + 1)?;
        for key in &keys {
            let id = MessageId(keys::tail_u64(key));
            let message: Message = view
                .get(tables::MESSAGES, &message_key(org, id))?
                .ok_or_else(|| crate::store::dangling("messages index", key))?;
            if !notes && !customer_sees(&message) {
                continue;
            }
            if items.len() == size {
                more = true;
                break 'read;
            }
            items.push(message);
        }
        if keys.len() <= size {
            break;
        }
        cursor = keys.last().cloned();
    }
    let next = if more {
        items.last().map(|message| message.id.0)
    } else {
        None
    };
    Ok(Paged { items, next })
}

/// A customer's conversation, newest first, with keyset pagination (the cursor is the last
/// message id of the previous page). Visible to the customer themself, to staff with
/// `chat_customers` and to the system. One index scan and `limit` record reads.
///
/// # Errors
/// Not found (also another customer's conversation, for a customer); permission denied.
pub fn messages_of_customer_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
    page: Page,
) -> Result<Paged<Message>> {
    let resolved = resolve(view, actor)?;
    match &resolved {
        Resolved::Customer(me) if *me != customer => {
            return Err(Error::not_found(CustomerId::LABEL, customer));
        }
        Resolved::Customer(_) => {}
        resolved => {
            if !resolved.has(Permission::ChatCustomers) {
                return Err(Error::denied(
                    Permission::ChatCustomers,
                    format!("{} lacks the chat_customers permission", actor.who),
                ));
            }
        }
    }
    let notes = !matches!(resolved, Resolved::Customer(_));
    load_customer(view, actor.org, customer)?;
    message_page(
        view,
        actor.org,
        tables::MESSAGES_BY_CUSTOMER,
        Key::org(actor.org).u64(customer.0),
        page,
        notes,
    )
}

/// The messages about one order, newest first, with keyset pagination (the cursor is the
/// last message id of the previous page). Visible to the order's customer, staff with
/// `chat_customers`, staff holding a `chat_customers` grant on the order, and the system.
///
/// # Errors
/// Not found (also another customer's order, for a customer); permission denied.
pub fn messages_of_order_in(
    view: &impl View,
    actor: &Actor,
    order: OrderId,
    page: Page,
) -> Result<Paged<Message>> {
    let resolved = resolve(view, actor)?;
    let record = load_order(view, actor.org, order)?;
    match &resolved {
        Resolved::Customer(me) if *me != record.customer => {
            return Err(Error::not_found(OrderId::LABEL, order));
        }
        Resolved::Customer(_) => {}
        _ => {
            if !may_chat(view, actor.org, &resolved, Some(order))? {
                return Err(Error::denied(
                    Permission::ChatCustomers,
                    format!("{} lacks the chat_customers permission", actor.who),
                ));
            }
        }
    }
    let notes = !matches!(resolved, Resolved::Customer(_));
    message_page(
        view,
        actor.org,
        tables::MESSAGES_BY_ORDER,
        Key::org(actor.org).u64(order.0),
        page,
        notes,
    )
}

/// Customers by last activity (the inbox's conversation list), most recent first, with
/// keyset pagination on (activity, id): the cursor is the customer id of the last row of the
/// previous page, whose current activity is looked up to resume. When that customer became
/// active again since, the next page resumes from their new place (rows may repeat, none are
/// lost for good). With the operators module on, a customer whose latest conversation is
/// archived (issue 11, the `archive_conversations` job) is left out (one point lookup of
/// `queue_by_subject` per row; further keys are read until the page is full): see
/// [`archived_conversations_in`] for them. Needs `chat_customers` (the system always may;
/// customers may not).
///
/// # Errors
/// Permission denied; not found when the cursor names an unknown customer.
pub fn conversations_in(view: &impl View, actor: &Actor, page: Page) -> Result<Paged<Customer>> {
    super::require(view, actor, Permission::ChatCustomers)?;
    let org = actor.org;
    let size = page.size();
    let hide_archived = super::operators::module_on(&super::load_org(view, org)?);
    let prefix = Key::org(org);
    let mut cursor = match page.after {
        Some(after) => {
            let cursor = load_customer(view, org, CustomerId(after))?;
            Some(activity_key(org, cursor.last_activity_at, cursor.id).into_vec())
        }
        None => None,
    };
    let mut items = Vec::with_capacity(size);
    let mut more = false;
    'read: loop {
        let keys = view.keys_with_prefix(
            tables::CUSTOMERS_BY_ACTIVITY,
            &prefix,
            cursor.as_deref(),
            true,
            size + 1,
        )?;
        for key in &keys {
            let customer = CustomerId(keys::tail_u64(key));
            if hide_archived && conversation_archived(view, org, customer)? {
                continue;
            }
            if items.len() == size {
                more = true;
                break 'read;
            }
            items.push(load_customer(view, org, customer)?);
        }
        if keys.len() <= size {
            break;
        }
        cursor = keys.last().cloned();
    }
    let next = if more {
        items.last().map(|customer| customer.id.0)
    } else {
        None
    };
    Ok(Paged { items, next })
}

/// Whether the customer's latest conversation is archived.
fn conversation_archived(view: &impl View, org: OrgId, customer: CustomerId) -> Result<bool> {
    Ok(
        super::operators::latest_item(view, org, QueueSubject::Conversation(customer))?
            .is_some_and(|item| item.archived_at.is_some()),
    )
}

/// One row of the inbox's "Archived" list.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedConversation {
    /// The customer.
    pub customer: Customer,
    /// Their archived conversation (its latest): `archived_at` and `closed_at` are set.
    pub item: QueueItem,
}

/// The archived conversations of the actor's organization (issue 11): customers whose latest
/// conversation the `archive_conversations` job archived, newest archived first, through
/// `queue_archived` (`org | archived at | queue item`); an older conversation of a customer
/// who has a newer one is skipped (further keys are read until the page is full). The cursor
/// is the queue item id of the previous page's last row. Their conversation and timeline
/// pages work as for any customer. Needs `chat_customers` (the system always may).
///
/// # Errors
/// Not found while the operators module is off, or when the cursor names an item that is not
/// archived (any more); permission denied.
pub fn archived_conversations_in(
    view: &impl View,
    actor: &Actor,
    page: Page,
) -> Result<Paged<ArchivedConversation>> {
    super::require(view, actor, Permission::ChatCustomers)?;
    let org = actor.org;
    if !super::operators::module_on(&super::load_org(view, org)?) {
        return Err(Error::not_found("module", "operators"));
    }
    let size = page.size();
    let prefix = Key::org(org);
    let mut cursor = match page.after {
        Some(after) => {
            let item: QueueItem = view
                .get(tables::QUEUE_ITEMS, &Key::org(org).u64(after))?
                .filter(|item: &QueueItem| item.archived_at.is_some())
                .ok_or_else(|| Error::not_found("archived conversation", after))?;
            let archived = item.archived_at.map_or(0, Timestamp::millis);
            Some(prefix.clone().i64(archived).u64(item.id.0).into_vec())
        }
        None => None,
    };
    let mut items = Vec::with_capacity(size);
    let mut more = false;
    'read: loop {
        let keys = view.keys_with_prefix(
            tables::QUEUE_ARCHIVED,
            &prefix,
            cursor.as_deref(),
            true,
            size + 1,
        )?;
        for key in &keys {
            let id = keys::tail_u64(key);
            let Some(item) = view.get::<QueueItem>(tables::QUEUE_ITEMS, &Key::org(org).u64(id))?
            else {
                continue;
            };
            let QueueSubject::Conversation(customer) = item.subject else {
                continue;
            };
            let latest = super::operators::latest_item(view, org, item.subject)?;
            if latest.is_none_or(|latest| latest.id != item.id) {
                continue;
            }
            if items.len() == size {
                more = true;
                break 'read;
            }
            items.push(ArchivedConversation {
                customer: load_customer(view, org, customer)?,
                item,
            });
        }
        if keys.len() <= size {
            break;
        }
        cursor = keys.last().cloned();
    }
    let next = if more {
        items.last().map(|row| row.item.id.0)
    } else {
        None
    };
    Ok(Paged { items, next })
}

impl Crm {
    /// See [`archived_conversations_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`archived_conversations_in`].
    pub fn archived_conversations(
        &self,
        actor: &Actor,
        page: Page,
    ) -> Result<Paged<ArchivedConversation>> {
        self.read(|view| archived_conversations_in(view, actor, page))
    }

    /// See [`Tx::post_inbound`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::post_inbound`].
    pub fn post_inbound(&self, actor: &Actor, msg: InboundMessage) -> Result<Message> {
        let actor = actor.clone();
        self.write(move |tx| tx.post_inbound(&actor, msg))
    }

    /// See [`Tx::post_outbound`]. Blocks until the commit is durable; the Telegram delivery
    /// happens later, from the outbox.
    ///
    /// # Errors
    /// See [`Tx::post_outbound`].
    pub fn post_outbound(&self, actor: &Actor, msg: OutboundMessage) -> Result<Message> {
        let actor = actor.clone();
        self.write(move |tx| tx.post_outbound(&actor, msg))
    }

    /// See [`Tx::post_outbound_with_files`]: the files were checked and hashed on the
    /// caller's thread ([`NewMedia::parse`]); one transaction stores them with the message, or
    /// nothing. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::post_outbound_with_files`].
    pub fn post_outbound_with_files(
        &self,
        actor: &Actor,
        msg: OutboundMessage,
        files: Vec<OutboundFile>,
    ) -> Result<Message> {
        let actor = actor.clone();
        self.write(move |tx| tx.post_outbound_with_files(&actor, msg, files))
    }

    /// See [`Tx::post_note`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::post_note`].
    pub fn post_note(&self, actor: &Actor, note: NewNote) -> Result<Message> {
        let actor = actor.clone();
        self.write(move |tx| tx.post_note(&actor, note))
    }

    /// See [`Tx::mark_read`].
    ///
    /// # Errors
    /// See [`Tx::mark_read`].
    pub fn mark_read(&self, actor: &Actor, customer: CustomerId) -> Result<Customer> {
        let actor = actor.clone();
        self.write(move |tx| tx.mark_read(&actor, customer))
    }

    /// See [`messages_of_customer_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`messages_of_customer_in`].
    pub fn messages_of_customer(
        &self,
        actor: &Actor,
        customer: CustomerId,
        page: Page,
    ) -> Result<Paged<Message>> {
        self.read(|view| messages_of_customer_in(view, actor, customer, page))
    }

    /// See [`messages_of_order_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`messages_of_order_in`].
    pub fn messages_of_order(
        &self,
        actor: &Actor,
        order: OrderId,
        page: Page,
    ) -> Result<Paged<Message>> {
        self.read(|view| messages_of_order_in(view, actor, order, page))
    }

    /// See [`conversations_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`conversations_in`].
    pub fn conversations(&self, actor: &Actor, page: Page) -> Result<Paged<Customer>> {
        self.read(|view| conversations_in(view, actor, page))
    }
}
