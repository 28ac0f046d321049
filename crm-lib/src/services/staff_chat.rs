//! Staff working from Telegram (issue 12): notices of customers' messages that a linked
//! staff user answers by replying in Telegram, and the optional staff supergroup with one
//! forum topic per customer, mirrored both ways with the web inbox.
//!
//! **Notices.** When a customer writes ([`Tx::post_inbound`] calls `on_customer_message`),
//! a typed [`Event::CustomerWrote`] is queued to whoever is to answer:
//! - with the operators module on: the conversation's assignee; while it waits unassigned,
//!   the online operators of its department (of every department when it has none);
//! - without it: the assignee of the order the message is about, when they may chat about
//!   it (`chat_customers` or the order's chat grant); otherwise every staff user with
//!   `chat_customers` (what a small team without a queue expects: whoever is around answers).
//!
//! Only active staff with a linked Telegram account who may chat about the message are
//! notified. When the outbox delivers a notice it reports Telegram's `message_id`
//! (`Tx::outbox_delivered` calls `on_delivered`), recorded in `staff_notices` (`org |
//! staff chat | message id` -> the customer), so that the staff user's reply to it
//! ([`Tx::reply_to_notice`]) becomes [`Tx::post_outbound`] as that user, with its rules.
//!
//! **Forum.** An administrator makes a link code on the settings page
//! ([`Tx::create_staff_group_code`]), adds the bot to a supergroup with topics as an
//! administrator that may manage topics (so it sees every message), and sends `/link CODE`
//! there ([`SystemTx::link_staff_group`]). While the mirror is on, a customer's first
//! message asks for their topic (named after them: [`ForumCall`]), every
//! message of the conversation (the customer's, and staff's from the web, the bot or any
//! other path through `post_outbound`) is copied into it, a linked staff user's message in
//! the topic is sent to the customer as that user ([`Tx::post_in_topic`]), one starting with
//! `/note` is kept as a private note and sent to nobody, a note written in the web is copied
//! into the topic (the group is staff only), and closing or reopening the conversation closes
//! or reopens the topic.

use crate::model::*;
use crate::store::declarations::{forum_thread_key, staff_notice_key};
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::{System, SystemTx};
use crate::{Crm, Error, Result, Tx, View};

use super::chat::messages::{MESSAGE_MAX_CHARS, NewNote, OutboundMessage};
use super::customers::load_customer;
use super::orders::{load_order, may_chat};
use super::team::load_user;
use super::{load_message, require, resolve};

/// How long a group link code works, in milliseconds (15 minutes, as staff link codes).
pub const GROUP_CODE_TTL_MS: i64 = 15 * 60 * 1000;

/// The longest forum topic name, in characters (Telegram's limit for a topic name).
pub const TOPIC_NAME_MAX_CHARS: usize = 128;

/// The command that keeps a message written in a topic internal (a private note).
pub const NOTE_COMMAND: &str = "/note";

fn group_key(org: OrgId) -> Key {
    Key::org(org)
}

fn topic_key(org: OrgId, customer: CustomerId) -> Key {
    Key::org(org).u64(customer.0)
}

/// The organization's staff group (the default, unlinked and off, when never set).
pub(crate) fn group_of(view: &impl View, org: OrgId) -> Result<StaffGroup> {
    Ok(view
        .get(tables::STAFF_GROUPS, &group_key(org))?
        .unwrap_or_default())
}

fn topic_of(view: &impl View, org: OrgId, customer: CustomerId) -> Result<Option<ForumTopic>> {
    view.get(tables::FORUM_TOPICS, &topic_key(org, customer))
}

/// The staff group's settings. Needs `manage_settings`.
///
/// # Errors
/// Permission denied.
pub fn staff_group_in(view: &impl View, actor: &Actor) -> Result<StaffGroup> {
    require(view, actor, Permission::ManageSettings)?;
    group_of(view, actor.org)
}

/// The notice that Telegram message `telegram_message_id` of staff chat `chat` is, if it is
/// one of `user`'s (a reply to it answers its customer). One point read.
///
/// # Errors
/// Storage only.
pub fn notice_of_user_in(
    view: &impl View,
    org: OrgId,
    chat: ChatId,
    telegram_message_id: i64,
    user: UserId,
) -> Result<Option<StaffNotice>> {
    let notice: Option<StaffNotice> = view.get(
        tables::STAFF_NOTICES,
        &staff_notice_key(org, chat, telegram_message_id),
    )?;
    Ok(notice.filter(|notice| notice.user == user))
}

/// The customer whose topic is `thread` of the staff group `chat`, if any. One point read.
///
/// # Errors
/// Storage only.
pub fn topic_customer_in(
    view: &impl View,
    org: OrgId,
    chat: ChatId,
    thread: i64,
) -> Result<Option<CustomerId>> {
    view.get_raw(
        tables::FORUM_THREADS,
        forum_thread_key(org, chat, thread).as_slice(),
        |bytes| Ok(CustomerId(keys::read_u64(bytes, 0))),
    )
}

/// A customer's forum topic, if one was asked for. Needs `chat_customers`.
///
/// # Errors
/// Permission denied.
pub fn forum_topic_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
) -> Result<Option<ForumTopic>> {
    require(view, actor, Permission::ChatCustomers)?;
    topic_of(view, actor.org, customer)
}

/// Who is told that a customer wrote `message` (see the module documentation): active staff
/// with a linked Telegram account who may chat about it, by id.
fn notice_recipients(
    view: &impl View,
    org: &Organization,
    message: &Message,
) -> Result<Vec<UserId>> {
    let mut candidates: Vec<UserId> = Vec::new();
    if super::operators::module_on(org) {
        let subject = QueueSubject::Conversation(message.customer);
        if let Some(item) = super::operators::open_item(view, org.id, subject)? {
            match item.assignee {
                Some(user) => candidates.push(user),
                None => {
                    let members: Vec<UserId> = match item.department {
                        Some(department) => {
                            super::operators::load_department(view, org.id, department)?.members
                        }
                        None => view
                            .records_with_prefix::<OperatorState>(
                                tables::OPERATOR_STATES,
                                &Key::org(org.id),
                            )?
                            .into_iter()
                            .map(|state| state.user)
                            .collect(),
                    };
                    for user in members {
                        if super::operators::state_of(view, org.id, user)?.status
                            == OperatorStatus::Online
                        {
                            candidates.push(user);
                        }
                    }
                }
            }
        }
    } else {
        let assignee = match message.order {
            Some(order) => load_order(view, org.id, order)?.assignee,
            None => None,
        };
        if let Some(assignee) = assignee
            && may_notify(view, org.id, assignee, message.order)?
        {
            return Ok(vec![assignee]);
        }
        candidates = super::team::linked_staff_with(view, org.id, Permission::ChatCustomers)?
            .into_iter()
            .map(|user| user.id)
            .collect();
    }
    let mut out = Vec::new();
    for user in candidates {
        if !out.contains(&user) && may_notify(view, org.id, user, message.order)? {
            out.push(user);
        }
    }
    Ok(out)
}

/// Whether `user` is active, linked to Telegram and may chat about `order` (or the
/// conversation).
fn may_notify(view: &impl View, org: OrgId, user: UserId, order: Option<OrderId>) -> Result<bool> {
    let record = match load_user(view, org, user) {
        Ok(record) => record,
        Err(error) if error.kind() == crate::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    if record.status != UserStatus::Active || record.telegram_id.is_none() {
        return Ok(false);
    }
    let resolved = resolve(view, &Actor::staff(org, user))?;
    may_chat(view, org, &resolved, order)
}

/// The name a topic gets: the customer's name, cut to Telegram's limit.
fn topic_name(customer: &Customer) -> String {
    let name: String = customer
        .full_name()
        .chars()
        .filter(|c| !c.is_control())
        .take(TOPIC_NAME_MAX_CHARS)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() {
        format!("Customer {}", customer.id)
    } else {
        name
    }
}

/// Makes sure `customer` has an open topic in the active staff group `chat`: asks for one
/// when there is none (or only one of an earlier group), reopens a closed one.
fn ensure_topic(tx: &mut Tx<'_>, org: OrgId, chat: ChatId, customer: CustomerId) -> Result<()> {
    match topic_of(tx, org, customer)? {
        Some(topic) if topic.chat == chat => {
            if topic.closed {
                let mut after = topic.clone();
                after.closed = false;
                tx.update_record(&topic_key(org, customer), &topic, &after)?;
                tx.enqueue(
                    org,
                    Recipient::Chat(chat),
                    OutboxPayload::Forum(ForumCall::ReopenTopic { customer }),
                )?;
            }
            Ok(())
        }
        earlier => {
            let record = load_customer(tx, org, customer)?;
            let topic = ForumTopic {
                customer,
                chat,
                name: topic_name(&record),
                thread: None,
                closed: false,
                created_at: tx.now(),
            };
            match earlier {
                Some(before) => tx.update_record(&topic_key(org, customer), &before, &topic)?,
                None => tx.insert_record(&topic_key(org, customer), &topic)?,
            }
            tx.enqueue(
                org,
                Recipient::Chat(chat),
                OutboxPayload::Forum(ForumCall::CreateTopic {
                    customer,
                    name: topic.name,
                }),
            )?;
            Ok(())
        }
    }
}

/// Copies `message` into its customer's topic while the forum mirror is on.
fn mirror(tx: &mut Tx<'_>, org: OrgId, message: &Message) -> Result<()> {
    let Some(chat) = group_of(tx, org)?.active_chat() else {
        return Ok(());
    };
    ensure_topic(tx, org, chat, message.customer)?;
    tx.enqueue(
        org,
        Recipient::Chat(chat),
        OutboxPayload::Forum(ForumCall::Mirror {
            message: message.id,
        }),
    )?;
    Ok(())
}

/// A customer's message was recorded (in [`Tx::post_inbound`]'s transaction, after the
/// operators module routed it): queues the notices (but to the users in `alerted`, told of
/// it already) and the forum mirror.
pub(crate) fn on_customer_message(
    tx: &mut Tx<'_>,
    org: &Organization,
    message: &Message,
    alerted: &[UserId],
) -> Result<()> {
    let mut recipients = notice_recipients(tx, org, message)?;
    // Managers alerted of a lead's message already (`Event::LeadWrote`) get no second notice.
    recipients.retain(|user| !alerted.contains(user));
    if !recipients.is_empty() {
        let customer = load_customer(tx, org.id, message.customer)?;
        for user in recipients {
            tx.enqueue(
                org.id,
                Recipient::Staff(user),
                OutboxPayload::Notify(Event::CustomerWrote {
                    customer: message.customer,
                    customer_name: customer.full_name(),
                    message: message.id,
                    order: message.order,
                    text: message.text.clone(),
                    attachment: message.attachments.first().map(|file| file.kind),
                }),
            )?;
        }
    }
    mirror(tx, org.id, message)
}

/// Staff sent a message (in [`Tx::post_outbound`]'s transaction): it is mirrored into the
/// customer's topic (skipped at delivery when it was written there).
pub(crate) fn on_staff_message(tx: &mut Tx<'_>, org: OrgId, message: &Message) -> Result<()> {
    mirror(tx, org, message)
}

/// A private note was written (in [`Tx::post_note`]'s transaction): it is copied into the
/// customer's topic while the mirror is on and the topic exists (a note alone opens no topic;
/// the group is staff only). A `/note` written in the topic is not copied back
/// (`Tx::record_note`).
pub(crate) fn on_note(tx: &mut Tx<'_>, org: OrgId, message: &Message) -> Result<()> {
    let Some(chat) = group_of(tx, org)?.active_chat() else {
        return Ok(());
    };
    if topic_of(tx, org, message.customer)?.is_none_or(|topic| topic.chat != chat) {
        return Ok(());
    }
    tx.enqueue(
        org,
        Recipient::Chat(chat),
        OutboxPayload::Forum(ForumCall::Mirror {
            message: message.id,
        }),
    )?;
    Ok(())
}

/// A customer's conversation was closed (or reopened): so is their topic, while the mirror
/// is on and the topic exists.
pub(crate) fn on_conversation_state(
    tx: &mut Tx<'_>,
    org: OrgId,
    customer: CustomerId,
    closed: bool,
) -> Result<()> {
    let Some(chat) = group_of(tx, org)?.active_chat() else {
        return Ok(());
    };
    let Some(topic) = topic_of(tx, org, customer)? else {
        return Ok(());
    };
    if topic.chat != chat || topic.closed == closed {
        return Ok(());
    }
    let mut after = topic.clone();
    after.closed = closed;
    tx.update_record(&topic_key(org, customer), &topic, &after)?;
    let call = if closed {
        ForumCall::CloseTopic { customer }
    } else {
        ForumCall::ReopenTopic { customer }
    };
    tx.enqueue(org, Recipient::Chat(chat), OutboxPayload::Forum(call))?;
    Ok(())
}

/// The customer, message and order a notice a staff user may answer by replying is about:
/// [`Event::CustomerWrote`], and [`Event::LeadWrote`] (the projects module's alert).
fn notice_of(event: &Event) -> Option<(CustomerId, MessageId, Option<OrderId>)> {
    match event {
        Event::CustomerWrote {
            customer,
            message,
            order,
            ..
        } => Some((*customer, *message, *order)),
        Event::LeadWrote {
            customer,
            message,
            lead,
            ..
        } => Some((*customer, *message, Some(*lead))),
        _ => None,
    }
}

/// An outbox item was delivered (in [`Tx::outbox_delivered`]'s transaction): a notice's
/// Telegram message id is recorded for replies, a created topic's thread id for the topic.
pub(crate) fn on_delivered(
    tx: &mut Tx<'_>,
    org: OrgId,
    item: &OutboxItem,
    telegram_message_id: Option<i64>,
) -> Result<()> {
    let Some(telegram_message_id) = telegram_message_id else {
        return Ok(());
    };
    if let (OutboxPayload::Notify(event), Recipient::Staff(user)) = (&item.payload, item.recipient)
        && let Some((customer, message, order)) = notice_of(event)
    {
        let Ok(record) = load_user(tx, org, user) else {
            return Ok(());
        };
        let Some(telegram) = record.telegram_id else {
            return Ok(());
        };
        if !tx.exists(tables::CUSTOMERS, &Key::org(org).u64(customer.0))? {
            return Ok(());
        }
        let notice = StaffNotice {
            user,
            chat: ChatId::from(telegram),
            telegram_message_id,
            customer,
            order,
            message,
        };
        tx.save_record(
            &staff_notice_key(org, notice.chat, telegram_message_id),
            &notice,
        )?;
        return Ok(());
    }
    if let (OutboxPayload::Forum(ForumCall::CreateTopic { customer, .. }), Recipient::Chat(chat)) =
        (&item.payload, item.recipient)
        && let Some(topic) = topic_of(tx, org, *customer)?
        && topic.chat == chat
        && topic.thread.is_none()
    {
        let mut after = topic.clone();
        after.thread = Some(telegram_message_id);
        tx.update_record(&topic_key(org, *customer), &topic, &after)?;
    }
    Ok(())
}

/// An outbox item was pruned (`retention`, after [`crate::retention::OUTBOX_RETENTION_DAYS`]):
/// what it made useful goes with it, so neither table grows for ever. The notice recorded when
/// a [`Event::CustomerWrote`] was delivered (a reply to a notice that old no longer answers
/// the customer: the bot takes it as an ordinary message), and the [`ForumOrigin`] of a
/// message written in a topic once its mirror item is gone.
///
/// # Errors
/// Storage only.
pub(crate) fn on_outbox_pruned(tx: &Tx<'_>, org: OrgId, item: &OutboxItem) -> Result<()> {
    match (&item.payload, item.recipient, &item.state) {
        (
            OutboxPayload::Notify(
                Event::CustomerWrote { message, .. } | Event::LeadWrote { message, .. },
            ),
            Recipient::Staff(user),
            OutboxState::Delivered {
                telegram_message_id: Some(sent),
                ..
            },
        ) => {
            let Ok(record) = load_user(tx, org, user) else {
                return Ok(());
            };
            let Some(telegram) = record.telegram_id else {
                return Ok(());
            };
            let key = staff_notice_key(org, ChatId::from(telegram), *sent);
            if let Some(notice) = tx.get::<StaffNotice>(tables::STAFF_NOTICES, &key)?
                && notice.message == *message
            {
                tx.delete_record(&key, &notice)?;
            }
        }
        (OutboxPayload::Forum(ForumCall::Mirror { message }), _, _) => {
            let key = Key::org(org).u64(message.0);
            if let Some(origin) = tx.get::<ForumOrigin>(tables::FORUM_ORIGINS, &key)? {
                tx.delete_record(&key, &origin)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// What a staff user wrote in a customer's topic became.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicPost {
    /// A message sent to the customer.
    Sent(Message),
    /// A private note (the message started with `/note`), sent to nobody.
    Note(Message),
}

/// A message to mirror into a topic, as the delivery job renders it.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorItem {
    /// The topic's `message_thread_id`.
    pub thread: i64,
    /// The message.
    pub message: Message,
    /// The display name of the staff user who wrote it, for a staff message.
    pub staff_name: Option<String>,
}

/// The staff user behind a staff actor.
fn staff_user(actor: &Actor) -> Result<UserId> {
    match actor.who {
        ActorRef::Staff(user) => Ok(user),
        _ => Err(Error::forbidden("only a staff user answers from Telegram")),
    }
}

impl Tx<'_> {
    /// Makes a one-time code that links the staff group: valid [`GROUP_CODE_TTL_MS`], sent
    /// as `/link CODE` in the group. A new code replaces the previous one. Needs
    /// `manage_settings`.
    ///
    /// # Errors
    /// Permission denied.
    pub fn create_staff_group_code(&mut self, actor: &Actor) -> Result<StaffGroup> {
        require(self, actor, Permission::ManageSettings)?;
        let before = group_of(self, actor.org)?;
        let code = crate::password::random_string(8, b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789")?;
        let mut after = before.clone();
        after.link_code = Some(code);
        after.link_code_expires_at = Some(self.now().plus_millis(GROUP_CODE_TTL_MS));
        self.save_record(&group_key(actor.org), &after)?;
        self.audit(
            actor,
            AuditAction::StaffGroupChanged,
            Subject::Organization,
            AuditDetail::Text("link code made, valid 15 minutes".into()),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(after)
    }

    /// Switches the forum mirror on or off. Needs `manage_settings`; writes nothing when it
    /// already is so.
    ///
    /// # Errors
    /// Permission denied; conflict when switched on with no group linked.
    pub fn set_staff_group_enabled(&mut self, actor: &Actor, enabled: bool) -> Result<StaffGroup> {
        require(self, actor, Permission::ManageSettings)?;
        let before = group_of(self, actor.org)?;
        if enabled && before.chat.is_none() {
            return Err(Error::conflict(
                "no staff group is linked yet: send /link CODE in the group first",
            ));
        }
        if before.enabled == enabled {
            return Ok(before);
        }
        let mut after = before.clone();
        after.enabled = enabled;
        self.save_record(&group_key(actor.org), &after)?;
        self.audit(
            actor,
            AuditAction::StaffGroupChanged,
            Subject::Organization,
            AuditDetail::Text(if enabled { "mirror on" } else { "mirror off" }.into()),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(after)
    }

    /// Forgets the linked group (the mirror stops). Needs `manage_settings`; writes nothing
    /// when none is linked.
    ///
    /// # Errors
    /// Permission denied.
    pub fn unlink_staff_group(&mut self, actor: &Actor) -> Result<StaffGroup> {
        require(self, actor, Permission::ManageSettings)?;
        let before = group_of(self, actor.org)?;
        if before.chat.is_none() {
            return Ok(before);
        }
        let mut after = before.clone();
        after.chat = None;
        after.title = None;
        after.enabled = false;
        self.save_record(&group_key(actor.org), &after)?;
        self.audit(
            actor,
            AuditAction::StaffGroupChanged,
            Subject::Organization,
            AuditDetail::Text("group unlinked".into()),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(after)
    }

    /// A staff user replied in their private chat to notice `telegram_message_id` (in
    /// `chat`): the reply (`text`, and `attachments` already stored, as the bot stores a
    /// file it fetched) goes to that notice's customer through [`Tx::post_outbound`] as that
    /// user, about the notice's order, with every rule of it.
    ///
    /// # Errors
    /// Not found when the message replied to is no notice of this user's; those of
    /// [`Tx::post_outbound`] (permission denied, blocked customer, text limits).
    pub fn reply_to_notice(
        &mut self,
        actor: &Actor,
        chat: ChatId,
        telegram_message_id: i64,
        text: String,
        attachments: Vec<Attachment>,
    ) -> Result<Message> {
        let user = staff_user(actor)?;
        let notice = notice_of_user_in(self, actor.org, chat, telegram_message_id, user)?
            .ok_or_else(|| Error::not_found("notice", telegram_message_id))?;
        self.post_outbound(
            actor,
            OutboundMessage {
                customer: notice.customer,
                order: notice.order,
                text,
                attachments,
                reply_to: Some(notice.message),
                content: None,
            },
        )
    }

    /// A staff user wrote in topic `thread` of the staff group `chat`: sent to the topic's
    /// customer through [`Tx::post_outbound`] as that user (and not mirrored back), or, when
    /// the text starts with `/note`, kept as a private note of the conversation.
    ///
    /// # Errors
    /// Not found when `chat` is not the active staff group or `thread` no customer's topic;
    /// those of [`Tx::post_outbound`] or of the note.
    pub fn post_in_topic(
        &mut self,
        actor: &Actor,
        chat: ChatId,
        thread: i64,
        text: String,
        attachments: Vec<Attachment>,
    ) -> Result<TopicPost> {
        let user = staff_user(actor)?;
        if group_of(self, actor.org)?.active_chat() != Some(chat) {
            return Err(Error::not_found("staff group", chat));
        }
        let customer = topic_customer_in(self, actor.org, chat, thread)?
            .ok_or_else(|| Error::not_found("forum topic", thread))?;
        if let Some(note) = note_text(&text) {
            return self.topic_note(actor, customer, note).map(TopicPost::Note);
        }
        let message = self.post_outbound(
            actor,
            OutboundMessage {
                customer,
                order: None,
                text,
                attachments,
                reply_to: None,
                content: None,
            },
        )?;
        self.insert_record(
            &Key::org(actor.org).u64(message.id.0),
            &ForumOrigin {
                message: message.id,
                user,
            },
        )?;
        Ok(TopicPost::Sent(message))
    }
}

impl Tx<'_> {
    /// A `/note` written in `customer`'s topic: a private note of the conversation.
    fn topic_note(&mut self, actor: &Actor, customer: CustomerId, text: String) -> Result<Message> {
        // Written in the topic: not copied back into it.
        self.record_note(
            actor,
            NewNote {
                customer,
                order: None,
                text,
            },
        )
    }
}

/// The note of a topic message: the text after a leading `/note` (or `/note@bot`), when it
/// starts with one.
fn note_text(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    let rest = trimmed.strip_prefix(NOTE_COMMAND)?;
    let rest = match rest.strip_prefix('@') {
        Some(after) => after.split_once(char::is_whitespace).map_or("", |(_, r)| r),
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest,
        None => return None,
    };
    Some(rest.trim().to_string())
}

impl SystemTx<'_, '_> {
    /// `/link CODE` was sent in group `chat` (titled `title`; `is_forum`: topics are on):
    /// it becomes the organization's staff group with the mirror on. The code works once.
    ///
    /// # Errors
    /// Invalid input on `code` for an unknown or expired code, or on `chat` for a group
    /// without topics.
    pub fn link_staff_group(
        &mut self,
        org: OrgId,
        code: &str,
        chat: ChatId,
        title: &str,
        is_forum: bool,
    ) -> Result<StaffGroup> {
        let tx = &mut *self.tx;
        let before = group_of(tx, org)?;
        let code = code.trim().to_ascii_uppercase();
        if code.is_empty() || before.link_code.as_deref() != Some(code.as_str()) {
            return Err(Error::invalid(
                "code",
                "this group link code is unknown or was already used",
            ));
        }
        if before.link_code_expires_at.is_none_or(|at| at < tx.now()) {
            return Err(Error::invalid(
                "code",
                "this group link code has expired; make a new one on the settings page",
            ));
        }
        if !chat.is_group() || !is_forum {
            return Err(Error::invalid(
                "chat",
                "the staff group must be a supergroup with topics turned on",
            ));
        }
        let after = StaffGroup {
            chat: Some(chat),
            title: Some(title.chars().take(128).collect()),
            enabled: true,
            link_code: None,
            link_code_expires_at: None,
        };
        tx.save_record(&group_key(org), &after)?;
        tx.audit(
            &Actor::system(org),
            AuditAction::StaffGroupChanged,
            Subject::Organization,
            AuditDetail::Text(format!("group {chat} linked")),
        )?;
        tx.changed(org, Subject::Organization, ChangeKind::Updated)?;
        Ok(after)
    }

    /// The organization's staff group (for the bot: is this update from it?).
    ///
    /// # Errors
    /// Storage only.
    pub fn staff_group(&self, org: OrgId) -> Result<StaffGroup> {
        group_of(&*self.tx, org)
    }

    /// Queues the bot's answer in topic `thread` of group `chat` (no audit entry: the update
    /// that caused it is the record).
    ///
    /// # Errors
    /// Invalid input on `text` unless it has 1-4096 characters.
    pub fn forum_say(&mut self, org: OrgId, chat: ChatId, thread: i64, text: &str) -> Result<()> {
        let text = super::clean_text("text", text, 1, MESSAGE_MAX_CHARS)?;
        self.tx.enqueue(
            org,
            Recipient::Chat(chat),
            OutboxPayload::Forum(ForumCall::Say { thread, text }),
        )?;
        Ok(())
    }
}

/// A topic's thread id, for a close or reopen call.
fn thread_of(view: &impl View, org: OrgId, customer: CustomerId) -> Result<i64> {
    topic_of(view, org, customer)?
        .and_then(|topic| topic.thread)
        .ok_or_else(|| Error::conflict(format!("the topic of customer {customer} has no thread")))
}

/// What a mirror item sends: `None` when the message was written in the topic (already
/// there) or the mirror is off; the message with its topic's thread otherwise.
fn mirror_item_in(view: &impl View, org: OrgId, message: MessageId) -> Result<Option<MirrorItem>> {
    if view.exists(tables::FORUM_ORIGINS, &Key::org(org).u64(message.0))? {
        return Ok(None);
    }
    let message = load_message(view, org, message)?;
    let Some(chat) = group_of(view, org)?.active_chat() else {
        return Ok(None);
    };
    let topic = topic_of(view, org, message.customer)?
        .filter(|topic| topic.chat == chat)
        .ok_or_else(|| Error::not_found("forum topic of customer", message.customer))?;
    let thread = topic.thread.ok_or_else(|| {
        Error::conflict(format!(
            "the topic of customer {} has no thread",
            message.customer
        ))
    })?;
    let staff_name = match message.author {
        Author::Staff(user) => load_user(view, org, user)
            .ok()
            .map(|user| user.display_name),
        _ => None,
    };
    Ok(Some(MirrorItem {
        thread,
        message,
        staff_name,
    }))
}

impl System<'_> {
    /// What a [`ForumCall::Mirror`] item sends (see [`MirrorItem`]); `None`: nothing. Reads a
    /// snapshot.
    ///
    /// # Errors
    /// Not found (message, topic); conflict while the topic has no thread id.
    pub fn forum_mirror(&self, org: OrgId, message: MessageId) -> Result<Option<MirrorItem>> {
        self.crm.read(|view| mirror_item_in(view, org, message))
    }

    /// The thread id of a customer's topic, for closing or reopening it. Reads a snapshot.
    ///
    /// # Errors
    /// Conflict while the topic has no thread id (or none exists).
    pub fn forum_thread(&self, org: OrgId, customer: CustomerId) -> Result<i64> {
        self.crm.read(|view| thread_of(view, org, customer))
    }

    /// The organization's staff group. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn staff_group(&self, org: OrgId) -> Result<StaffGroup> {
        self.crm.read(|view| group_of(view, org))
    }

    /// Whether a message of staff user `user` in Telegram `chat` is meant for a customer, so
    /// that the bot fetches its file before the update is handled: in their private chat, a
    /// reply (to Telegram message `reply_to`) to one of their notices; in the active staff
    /// group, a message in a customer's topic `thread` that is not a `/note` (`text`: its
    /// text or caption). Whether it may be sent is decided when it is handled
    /// ([`Tx::reply_to_notice`], [`Tx::post_in_topic`]). Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn staff_message_to_customer(
        &self,
        org: OrgId,
        chat: ChatId,
        user: UserId,
        reply_to: Option<i64>,
        thread: Option<i64>,
        text: Option<&str>,
    ) -> Result<bool> {
        self.crm.read(|view| {
            if let Some(thread) = thread {
                return Ok(text.and_then(note_text).is_none()
                    && group_of(view, org)?.active_chat() == Some(chat)
                    && topic_customer_in(view, org, chat, thread)?.is_some());
            }
            match reply_to {
                Some(reply_to) => Ok(notice_of_user_in(view, org, chat, reply_to, user)?.is_some()),
                None => Ok(false),
            }
        })
    }
}

impl Crm {
    /// See [`staff_group_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`staff_group_in`].
    pub fn staff_group(&self, actor: &Actor) -> Result<StaffGroup> {
        self.read(|view| staff_group_in(view, actor))
    }

    /// See [`forum_topic_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`forum_topic_in`].
    pub fn forum_topic(&self, actor: &Actor, customer: CustomerId) -> Result<Option<ForumTopic>> {
        self.read(|view| forum_topic_in(view, actor, customer))
    }

    /// See [`Tx::create_staff_group_code`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::create_staff_group_code`].
    pub fn create_staff_group_code(&self, actor: &Actor) -> Result<StaffGroup> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_staff_group_code(&actor))
    }

    /// See [`Tx::set_staff_group_enabled`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::set_staff_group_enabled`].
    pub fn set_staff_group_enabled(&self, actor: &Actor, enabled: bool) -> Result<StaffGroup> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_staff_group_enabled(&actor, enabled))
    }

    /// See [`Tx::unlink_staff_group`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::unlink_staff_group`].
    pub fn unlink_staff_group(&self, actor: &Actor) -> Result<StaffGroup> {
        let actor = actor.clone();
        self.write(move |tx| tx.unlink_staff_group(&actor))
    }

    /// See [`Tx::reply_to_notice`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::reply_to_notice`].
    pub fn reply_to_notice(
        &self,
        actor: &Actor,
        chat: ChatId,
        telegram_message_id: i64,
        text: String,
        attachments: Vec<Attachment>,
    ) -> Result<Message> {
        let actor = actor.clone();
        self.write(move |tx| {
            tx.reply_to_notice(&actor, chat, telegram_message_id, text, attachments)
        })
    }

    /// See [`Tx::post_in_topic`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::post_in_topic`].
    pub fn post_in_topic(
        &self,
        actor: &Actor,
        chat: ChatId,
        thread: i64,
        text: String,
        attachments: Vec<Attachment>,
    ) -> Result<TopicPost> {
        let actor = actor.clone();
        self.write(move |tx| tx.post_in_topic(&actor, chat, thread, text, attachments))
    }
}

/// A merge of customer `absorb` into `keep` (`services::merge`): `absorb`'s forum topic
/// becomes `keep`'s when `keep` has none (its thread now mirrors the kept conversation),
/// else it is dropped (the topic stays in the group as history); the notices that named
/// `absorb` name `keep`, so a reply to one still reaches the customer.
///
/// # Errors
/// Storage only.
pub(crate) fn merge_customer(
    tx: &Tx<'_>,
    org: OrgId,
    keep: CustomerId,
    absorb: CustomerId,
) -> Result<()> {
    if let Some(topic) = topic_of(tx, org, absorb)? {
        tx.delete_record(&topic_key(org, absorb), &topic)?;
        if topic_of(tx, org, keep)?.is_none() {
            let mut moved = topic;
            moved.customer = keep;
            tx.insert_record(&topic_key(org, keep), &moved)?;
        }
    }
    let mut keys: Vec<Vec<u8>> = Vec::new();
    tx.for_each_prefix(tables::STAFF_NOTICES, &Key::org(org), |key, _| {
        keys.push(key.to_vec());
        Ok(true)
    })?;
    for key in keys {
        let key = Key::empty().bytes(&key);
        if let Some(notice) = tx.get::<StaffNotice>(tables::STAFF_NOTICES, &key)?
            && notice.customer == absorb
        {
            let mut after = notice.clone();
            after.customer = keep;
            tx.update_record(&key, &notice, &after)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::note_text;

    #[test]
    fn a_note_starts_with_the_note_command_alone() {
        assert_eq!(note_text("/note call back"), Some("call back".into()));
        assert_eq!(note_text("  /note"), Some(String::new()));
        assert_eq!(note_text("/note@crm_bot  hi"), Some("hi".into()));
        assert_eq!(note_text("/notes"), None);
        assert_eq!(note_text("a /note"), None);
    }
}
