//! Telegram bookkeeping: the inbox of updates, the bot's dialogue state, the bot's typed
//! replies queued in the outbox, and the outbox delivery side (SPEC section 3: "Incoming
//! updates go through an inbox", "Telegram delivery"). Every call here is reached through the
//! system handle ([`crate::system`]): no person acts in them.
//!
//! Inbox: an update is committed (`inbox_put`) before the webhook answers 200 (or before the
//! next getUpdates confirms the offset); the bot processes it and marks it done
//! (`finish_update`) in the same transaction as its effects, so an update is never lost and
//! never applied twice. A full inbox answers [`crate::ErrorKind::Busy`], which the webhook turns
//! into a 503 so Telegram retries later.
//!
//! Outbox: the delivery job reads the due items with their chats and languages
//! ([`DueItem`]), calls Telegram outside any transaction, then records the outcome
//! (delivered, retry at a time, or failed with a [`crate::model::DeliveryFailure`]). This module
//! decides no rate: the job obeys Telegram's limits and `retry_after`; it decides what a
//! failure means for the recipient (a blocked bot marks the customer unreachable).

use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::{System, SystemTx};
use crate::{Error, Result, Tx, View};

use super::customers::{TelegramProfile, load_customer};
use super::load_message;
use super::load_org;
use super::team::load_user;

/// The most pending (unprocessed) updates an organization's inbox holds by default; past it
/// [`System::inbox_put`](crate::system::System::inbox_put) answers busy.
pub const INBOX_CAPACITY: u64 = 10_000;

/// The largest update payload accepted, in bytes (1 MiB; Telegram updates are a few KB).
pub const INBOX_PAYLOAD_MAX: usize = 1024 * 1024;

/// The largest dialogue state kept for one chat, in bytes.
pub const DIALOGUE_MAX: usize = 64 * 1024;

/// The longest text of a bot reply, in characters (Telegram's limit for a message).
pub const TEXT_MAX_CHARS: usize = 4096;

/// The longest answer to a button press, in characters (Telegram's limit).
pub const ANSWER_MAX_CHARS: usize = 200;

/// The most buttons under one message (Telegram's limit for an inline keyboard).
pub const KEYBOARD_MAX_BUTTONS: usize = 100;

/// The longest failure reason kept on an outbox item, in characters.
const REASON_MAX_CHARS: usize = 1000;

/// What [`System::inbox_put`](crate::system::System::inbox_put) did with an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxPut {
    /// The update was new and is now committed, pending.
    Inserted,
    /// The update id was seen before (pending, done, or done and pruned); nothing was
    /// written.
    Duplicate,
}

fn inbox_key(org: OrgId, update_id: u64) -> Key {
    Key::org(org).u64(update_id)
}

fn outbox_key(org: OrgId, id: OutboxId) -> Key {
    Key::org(org).u64(id.0)
}

fn load_outbox(view: &impl View, org: OrgId, id: OutboxId) -> Result<OutboxItem> {
    view.get(tables::OUTBOX, &outbox_key(org, id))?
        .ok_or_else(|| Error::not_found(OutboxId::LABEL, id))
}

/// A count of `org`'s pending updates that is below `cap` exactly when the true count is. The
/// table's length (kept by redb, read in constant time) bounds every organization's count, so
/// the bounded per-organization scan only happens when the whole inbox is that full.
fn pending_count_up_to(view: &impl View, org: OrgId, cap: u64) -> Result<u64> {
    let total = view.table_len(tables::INBOX_PENDING)?;
    if total < cap {
        return Ok(total);
    }
    let mut count = 0;
    view.for_each_prefix(tables::INBOX_PENDING, &Key::org(org), |_, _| {
        count += 1;
        Ok(count < cap)
    })?;
    Ok(count)
}

/// Checks a bot reply against Telegram's limits (Bot API: a message's text is 1-4096
/// characters, a callback answer's at most 200, `callback_data` 1-64 bytes, at most 100
/// buttons), so that a reply the outbox would have Telegram refuse is refused here instead.
pub(crate) fn check_reply(reply: &BotReply) -> Result<()> {
    let text_ok = |text: &str| !text.trim().is_empty() && text.chars().count() <= TEXT_MAX_CHARS;
    let keyboard_ok = |keyboard: Option<&Keyboard>, new_message: bool| {
        keyboard.is_none_or(|keyboard| {
            (new_message || !keyboard.is_reply_keyboard())
                && keyboard.buttons().count() <= KEYBOARD_MAX_BUTTONS
                && keyboard.buttons().all(|button| {
                    !button.text.trim().is_empty()
                        && match &button.press {
                            ButtonPress::Callback(data) => !data.is_empty() && data.len() <= 64,
                            ButtonPress::Url(url) => {
                                url.len() <= 2048
                                    && (url.starts_with("https://")
                                        || url.starts_with("http://")
                                        || url.starts_with("tg://"))
                            }
                            ButtonPress::RequestContact => true,
                            ButtonPress::WebApp(url) => {
                                url.len() <= 2048
                                    && (url.starts_with("https://") || url.starts_with("http://"))
                            }
                        }
                })
        })
    };
    let ok = match reply {
        BotReply::Text { text, keyboard } => text_ok(text) && keyboard_ok(keyboard.as_ref(), true),
        BotReply::Edit { text, keyboard, .. } => {
            text_ok(text) && keyboard_ok(keyboard.as_ref(), false)
        }
        BotReply::RemoveButtons { .. } => true,
        BotReply::SetButtons { keyboard, .. } => keyboard_ok(Some(keyboard), false),
        BotReply::AnswerPreCheckout {
            query_id,
            error_message,
            ..
        } => {
            !query_id.is_empty()
                && query_id.len() <= 256
                && error_message
                    .as_deref()
                    .is_none_or(|text| text.chars().count() <= ANSWER_MAX_CHARS)
        }
        BotReply::AnswerPress { query_id, text, .. } => {
            !query_id.is_empty()
                && query_id.len() <= 256
                && text
                    .as_deref()
                    .is_none_or(|text| text.chars().count() <= ANSWER_MAX_CHARS)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "reply",
            "a bot reply needs 1-4096 characters of text (200 for a button's answer), at most 100 buttons, callback data of 1-64 bytes and web links",
        ))
    }
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl Tx<'_> {
    /// Commits a Telegram update to the inbox before it is acknowledged. A repeated
    /// `update_id` (pending, already processed, or processed and since pruned by
    /// [`System::prune_inbox`](crate::system::System::prune_inbox) within the last [`super::retention::REDELIVERY_WINDOW_MS`]) is
    /// recognised and nothing is written.
    ///
    /// `capacity` is the most pending updates the organization may hold ([`INBOX_CAPACITY`]
    /// unless configured); at capacity the update is refused as busy so that Telegram
    /// delivers it again later. Constant time unless the whole inbox is at capacity.
    ///
    /// # Errors
    /// Busy when the inbox is full; invalid input on `payload` (over 1 MiB); not found for an
    /// unknown organization.
    pub(crate) fn inbox_put(
        &mut self,
        org: OrgId,
        update_id: u64,
        payload: String,
        capacity: u64,
    ) -> Result<InboxPut> {
        if payload.len() > INBOX_PAYLOAD_MAX {
            return Err(Error::invalid(
                "payload",
                format!(
                    "update {update_id} is {} bytes, over the limit of {INBOX_PAYLOAD_MAX}",
                    payload.len()
                ),
            ));
        }
        let organization = load_org(self, org)?;
        if !organization.is_enabled() {
            // Telegram keeps what is refused and sends it again (for up to a day).
            return Err(Error::busy(format!(
                "organization {} is disabled; update {update_id} must be sent again once it is enabled",
                organization.slug
            )));
        }
        let key = inbox_key(org, update_id);
        if self.exists(tables::INBOX, &key)? {
            return Ok(InboxPut::Duplicate);
        }
        // A repeat of an update that retention already deleted (see `services::retention`).
        let mark = super::retention::pruned_mark_in(self, org)?;
        if super::retention::is_pruned_repeat(mark, update_id, self.now()) {
            return Ok(InboxPut::Duplicate);
        }
        let pending = pending_count_up_to(self, org, capacity)?;
        if pending >= capacity {
            return Err(Error::busy(format!(
                "the inbox holds {pending} unprocessed updates (capacity {capacity}); update {update_id} must be sent again later"
            )));
        }
        let item = InboxItem {
            update_id,
            payload,
            state: InboxState::Pending,
            received_at: self.now(),
        };
        self.insert_record(&key, &item)?;
        Ok(InboxPut::Inserted)
    }

    /// Marks an update processed. The bot calls it in the same transaction as the update's
    /// effects, so a crash either keeps both or neither.
    ///
    /// # Errors
    /// Not found (`update N not found`); conflict `update N was already processed`.
    pub(crate) fn finish_update(&mut self, org: OrgId, update_id: u64) -> Result<()> {
        let key = inbox_key(org, update_id);
        let before: InboxItem = self
            .get(tables::INBOX, &key)?
            .ok_or_else(|| Error::not_found("update", update_id))?;
        if before.state == InboxState::Done {
            return Err(Error::conflict(format!(
                "update {update_id} was already processed"
            )));
        }
        let item = InboxItem {
            state: InboxState::Done,
            ..before.clone()
        };
        self.update_record(&key, &before, &item)?;
        Ok(())
    }

    /// Sets (or with `None` deletes) the bot's dialogue state for a chat: opaque bytes the bot
    /// owns, at most [`DIALOGUE_MAX`].
    ///
    /// # Errors
    /// Invalid input on `dialogue` when the state is too large.
    pub(crate) fn set_dialogue(
        &mut self,
        org: OrgId,
        chat: ChatId,
        state: Option<Vec<u8>>,
    ) -> Result<()> {
        let key = Key::org(org).i64(chat.0);
        match state {
            Some(state) => {
                if state.len() > DIALOGUE_MAX {
                    return Err(Error::invalid(
                        "dialogue",
                        format!(
                            "the state of chat {chat} is {} bytes, over the limit of {DIALOGUE_MAX}",
                            state.len()
                        ),
                    ));
                }
                self.put_raw(tables::DIALOGUES, key.as_slice(), &state)
            }
            None => self.remove(tables::DIALOGUES, &key).map(|_| ()),
        }
    }

    /// Queues the bot's reply to a chat, delivered after commit. No audit entry: the update
    /// that caused it is the record.
    ///
    /// # Errors
    /// Invalid input on `reply` when it breaks one of Telegram's limits (see [`check_reply`]).
    pub(crate) fn reply(&mut self, org: OrgId, chat: ChatId, reply: BotReply) -> Result<OutboxId> {
        check_reply(&reply)?;
        self.enqueue(org, Recipient::Chat(chat), OutboxPayload::Reply(reply))
    }

    /// Records that an outbox item was delivered (with Telegram's `message_id` when the method
    /// returns one); a chat message is marked sent too. Idempotent: a second call changes
    /// nothing. No audit entry: delivery is bookkeeping, not a change anyone made.
    ///
    /// # Errors
    /// Not found; conflict when the item already failed.
    pub(crate) fn outbox_delivered(
        &mut self,
        org: OrgId,
        id: OutboxId,
        telegram_message_id: Option<i64>,
    ) -> Result<()> {
        let before = load_outbox(self, org, id)?;
        match before.state {
            OutboxState::Delivered { .. } => return Ok(()),
            OutboxState::Failed { .. } => {
                return Err(Error::conflict(format!("outbox item {id} already failed")));
            }
            OutboxState::Pending | OutboxState::Sending { .. } => {}
        }
        let mut item = before.clone();
        item.attempts = item.attempts.saturating_add(1);
        item.state = OutboxState::Delivered {
            telegram_message_id,
            at: self.now(),
        };
        self.update_record(&outbox_key(org, id), &before, &item)?;
        if let (Some(message), Some(telegram_id)) = (item.payload.message(), telegram_message_id)
            && self.exists(tables::MESSAGES, &Key::org(org).u64(message.0))?
        {
            self.mark_message_sent(org, message, telegram_id)?;
        }
        super::staff_chat::on_delivered(self, org, &item, telegram_message_id)?;
        super::broadcasts::on_outbox_answered(self, org, &item, None)?;
        Ok(())
    }

    /// Starts the delivery of an outbox item that goes at most once
    /// ([`OutboxPayload::at_most_once`]), before its call: a pending item becomes
    /// [`OutboxState::Sending`] and the answer is `true` (call Telegram). An item already
    /// `Sending` had a call started that never got its answer recorded (a restart, a broken
    /// connection): it is given up as interrupted and the answer is `false` (do not call).
    /// Other items answer `true` without a write.
    ///
    /// # Errors
    /// Not found; conflict when the item is no longer open.
    pub(crate) fn outbox_begin(&mut self, org: OrgId, id: OutboxId) -> Result<bool> {
        let before = load_outbox(self, org, id)?;
        if !before.payload.at_most_once() {
            return Ok(true);
        }
        match before.state {
            OutboxState::Pending => {
                let mut item = before.clone();
                item.state = OutboxState::Sending { since: self.now() };
                self.update_record(&outbox_key(org, id), &before, &item)?;
                Ok(true)
            }
            OutboxState::Sending { .. } => {
                self.outbox_failed(org, id, &DeliveryFailure::Interrupted)?;
                Ok(false)
            }
            OutboxState::Delivered { .. } | OutboxState::Failed { .. } => Err(Error::conflict(
                format!("outbox item {id} is no longer pending"),
            )),
        }
    }

    /// [`Tx::outbox_delivered`] for an item that became several Telegram messages
    /// (`telegram_message_ids`, in the order sent: an album, or files and a long text): a chat
    /// message also records them all as its [`SentParts`], so deleting it deletes every part.
    ///
    /// # Errors
    /// Those of [`Tx::outbox_delivered`].
    pub(crate) fn outbox_delivered_parts(
        &mut self,
        org: OrgId,
        id: OutboxId,
        telegram_message_ids: Vec<i64>,
    ) -> Result<()> {
        self.outbox_delivered(org, id, telegram_message_ids.first().copied())?;
        let item = load_outbox(self, org, id)?;
        if let (OutboxPayload::ChatMessage(message), true) =
            (&item.payload, telegram_message_ids.len() > 1)
            && self.exists(tables::MESSAGES, &Key::org(org).u64(message.0))?
        {
            self.save_record(
                &Key::org(org).u64(message.0),
                &SentParts {
                    message: *message,
                    telegram_message_ids,
                },
            )?;
        }
        Ok(())
    }

    /// Schedules another attempt of a pending outbox item at `next_attempt_at` (after a 429's
    /// `retry_after`, a 5xx or a network error) and counts the attempt.
    ///
    /// # Errors
    /// Not found; conflict when the item is no longer pending.
    pub(crate) fn outbox_retry(
        &mut self,
        org: OrgId,
        id: OutboxId,
        next_attempt_at: Timestamp,
    ) -> Result<OutboxItem> {
        let before = load_outbox(self, org, id)?;
        if !before.state.is_open() {
            return Err(Error::conflict(format!(
                "outbox item {id} is no longer pending"
            )));
        }
        let mut item = before.clone();
        item.attempts = item.attempts.saturating_add(1);
        item.next_attempt_at = next_attempt_at;
        // The call was answered (a 429, a 5xx) or never reached Telegram: another one may go.
        item.state = OutboxState::Pending;
        self.update_record(&outbox_key(org, id), &before, &item)?;
        Ok(item)
    }

    /// Gives an outbox item up. When the recipient blocked the bot
    /// ([`DeliveryFailure::Blocked`]: Telegram answered 403), the customer behind the item is
    /// marked unreachable, whether it was addressed to them or to their private chat, so no
    /// more sends are attempted until they write again (SPEC section 3). A chat message is
    /// marked failed. Idempotent: a second call changes nothing.
    ///
    /// # Errors
    /// Not found; conflict when the item was already delivered.
    pub(crate) fn outbox_failed(
        &mut self,
        org: OrgId,
        id: OutboxId,
        failure: &DeliveryFailure,
    ) -> Result<()> {
        let before = load_outbox(self, org, id)?;
        match before.state {
            OutboxState::Failed { .. } => return Ok(()),
            OutboxState::Delivered { .. } => {
                return Err(Error::conflict(format!(
                    "outbox item {id} was already delivered"
                )));
            }
            OutboxState::Pending | OutboxState::Sending { .. } => {}
        }
        let mut item = before.clone();
        item.attempts = item.attempts.saturating_add(1);
        item.state = OutboxState::Failed {
            reason: cut(failure.reason().trim(), REASON_MAX_CHARS),
        };
        self.update_record(&outbox_key(org, id), &before, &item)?;
        if let Some(message) = item.payload.message()
            && self.exists(tables::MESSAGES, &Key::org(org).u64(message.0))?
        {
            self.mark_message_failed(org, message)?;
        }
        if matches!(failure, DeliveryFailure::Blocked { .. }) {
            let customer = match item.recipient {
                Recipient::Customer(customer) => Some(customer),
                // A private chat's id is its user's id (Bot API, `Chat.id`).
                Recipient::Chat(chat) if !chat.is_group() => {
                    customer_by_telegram_in(&*self, org, TelegramUserId(chat.0))?
                        .map(|customer| customer.id)
                }
                _ => None,
            };
            if let Some(customer) = customer
                && self.exists(tables::CUSTOMERS, &Key::org(org).u64(customer.0))?
            {
                self.set_customer_reachable(org, customer, false)?;
            }
        }
        super::broadcasts::on_outbox_answered(self, org, &item, Some(failure))?;
        Ok(())
    }
}

/// The bot's dialogue state for a chat, if any.
///
/// # Errors
/// Storage only.
pub(crate) fn dialogue_in(view: &impl View, org: OrgId, chat: ChatId) -> Result<Option<Vec<u8>>> {
    view.get_raw(
        tables::DIALOGUES,
        Key::org(org).i64(chat.0).as_slice(),
        |bytes| Ok(bytes.to_vec()),
    )
}

/// Pending updates of `org`, oldest `update_id` first, at most `limit`.
///
/// # Errors
/// Storage, also when a pending entry has no inbox record.
pub(crate) fn pending_updates_in(
    view: &impl View,
    org: OrgId,
    limit: usize,
) -> Result<Vec<InboxItem>> {
    let keys = view.keys_with_prefix(tables::INBOX_PENDING, &Key::org(org), None, false, limit)?;
    let mut items = Vec::with_capacity(keys.len());
    for key in keys {
        let item = view
            .get_raw(
                tables::INBOX,
                &key,
                crate::store::codec::decode::<InboxItem>,
            )?
            .ok_or_else(|| crate::store::dangling("inbox_pending", &key))?;
        items.push(item);
    }
    Ok(items)
}

/// The highest `update_id` the organization's inbox has seen (pending, done, or pruned by
/// [`System::prune_inbox`](crate::system::System::prune_inbox)), if any. The sandbox emulator continues numbering after it, so a
/// restarted emulator's updates are never mistaken for repeats.
///
/// # Errors
/// Storage only.
pub(crate) fn inbox_last_update_id_in(view: &impl View, org: OrgId) -> Result<Option<u64>> {
    let keys = view.keys_with_prefix(tables::INBOX, &Key::org(org), None, true, 1)?;
    let stored = keys.first().map(|key| keys::tail_u64(key));
    let pruned = super::retention::pruned_mark_in(view, org)?.map(|mark| mark.update_id);
    Ok(stored.max(pruned))
}

/// The customer with this Telegram account, if any, through any view (the bot reads it inside
/// the transaction that handles an update).
///
/// # Errors
/// Storage only.
pub(crate) fn customer_by_telegram_in(
    view: &impl View,
    org: OrgId,
    telegram_id: TelegramUserId,
) -> Result<Option<Customer>> {
    super::customers::customer_by_telegram(view, org, telegram_id)
}

/// The staff user linked to this Telegram account, if any, through any view.
///
/// # Errors
/// Storage only.
pub(crate) fn user_by_telegram_in(
    view: &impl View,
    org: OrgId,
    telegram_id: TelegramUserId,
) -> Result<Option<User>> {
    match view.get_raw(
        tables::USERS_BY_TELEGRAM,
        Key::org(org).i64(telegram_id.0).as_slice(),
        |bytes| Ok(keys::read_u64(bytes, 0)),
    )? {
        Some(id) => Ok(Some(load_user(view, org, UserId(id))?)),
        None => Ok(None),
    }
}

/// One inbox item (pending or done).
///
/// # Errors
/// Not found.
pub(crate) fn inbox_item_in(view: &impl View, org: OrgId, update_id: u64) -> Result<InboxItem> {
    view.get(tables::INBOX, &inbox_key(org, update_id))?
        .ok_or_else(|| Error::not_found("update", update_id))
}

/// An outbox item due for delivery, with what the adapter needs to deliver it: the chat it
/// goes to and the recipient's language (for notifications rendered at delivery).
#[derive(Debug, Clone, PartialEq)]
pub struct DueItem {
    /// The organization it belongs to.
    pub org: OrgId,
    /// The item.
    pub item: OutboxItem,
    /// Where it goes; `None` when it cannot be delivered (report
    /// [`DeliveryFailure::NoChat`]).
    pub chat: Option<ChatId>,
    /// The recipient's language: a customer's or staff user's own, else the organization's.
    pub language: Language,
    /// The organization's currency code.
    pub currency: String,
}

/// Outbox items due by `now` across every organization, earliest due first (then by
/// organization and id), at most `limit`, each with its chat and its recipient's language.
/// One index scan, `limit` record reads, and a read of each recipient.
///
/// # Errors
/// Storage, also when a due entry has no outbox record.
pub(crate) fn due_outbox_in(
    view: &impl View,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<DueItem>> {
    let mut due: Vec<Vec<u8>> = Vec::new();
    if limit == 0 {
        return Ok(Vec::new());
    }
    let upper = Key::empty().i64(now.0).u64(u64::MAX).u64(u64::MAX);
    // A disabled organization's items wait (issue 14): passed over without counting, so
    // they never hold back another organization's.
    let disabled = super::tenants::disabled_in(view)?;
    view.scan(
        tables::OUTBOX_DUE,
        (Bound::Unbounded, Bound::Included(upper.as_slice())),
        false,
        |key, _| {
            if !disabled.contains(&OrgId(keys::read_u64(key, 8))) {
                due.push(key.to_vec());
            }
            Ok(due.len() < limit)
        },
    )?;
    let mut settings: std::collections::HashMap<OrgId, (Language, String)> =
        std::collections::HashMap::new();
    let mut items = Vec::with_capacity(due.len());
    for key in due {
        let org = OrgId(keys::read_u64(&key, 8));
        let id = OutboxId(keys::read_u64(&key, 16));
        let item = view
            .get::<OutboxItem>(tables::OUTBOX, &outbox_key(org, id))?
            .ok_or_else(|| crate::store::dangling("outbox_due", &key))?;
        let (locale, currency) = match settings.get(&org) {
            Some(found) => found.clone(),
            None => {
                let organization = load_org(view, org)?;
                let found = (organization.settings.locale, organization.settings.currency);
                settings.insert(org, found.clone());
                found
            }
        };
        let (chat, language) = resolve_recipient(view, org, item.recipient)?;
        items.push(DueItem {
            org,
            item,
            chat,
            language: language.unwrap_or(locale),
            currency,
        });
    }
    Ok(items)
}

/// The chat an outbox item goes to, and its recipient's own language when known: a
/// customer's private chat unless they are unreachable (blocked the bot) or have no Telegram
/// account; a staff user's linked account unless they are disabled or not linked; a chat
/// itself. No chat means the item cannot be delivered. An unknown customer or user resolves
/// to neither.
fn resolve_recipient(
    view: &impl View,
    org: OrgId,
    recipient: Recipient,
) -> Result<(Option<ChatId>, Option<Language>)> {
    Ok(match recipient {
        Recipient::Chat(chat) => {
            let language = if chat.is_group() {
                None
            } else {
                customer_by_telegram_in(view, org, TelegramUserId(chat.0))?
                    .map(|customer| customer.language)
            };
            (Some(chat), language)
        }
        Recipient::Customer(customer) => match load_customer(view, org, customer) {
            Ok(customer) => (
                (!customer.unreachable)
                    .then_some(customer.telegram_id.map(ChatId::from))
                    .flatten(),
                Some(customer.language),
            ),
            Err(error) if error.kind() == crate::ErrorKind::NotFound => (None, None),
            Err(error) => return Err(error),
        },
        Recipient::Staff(user) => match load_user(view, org, user) {
            Ok(user) => (
                (user.status == UserStatus::Active)
                    .then_some(user.telegram_id.map(ChatId::from))
                    .flatten(),
                Some(user.language),
            ),
            Err(error) if error.kind() == crate::ErrorKind::NotFound => (None, None),
            Err(error) => return Err(error),
        },
    })
}

/// One outbox item.
///
/// # Errors
/// Not found.
pub(crate) fn outbox_item_in(view: &impl View, org: OrgId, id: OutboxId) -> Result<OutboxItem> {
    load_outbox(view, org, id)
}

/// Outbox items waiting for delivery, across organizations (for `/metrics`). Constant time.
///
/// # Errors
/// Storage only.
pub(crate) fn outbox_depth_in(view: &impl View) -> Result<u64> {
    view.table_len(tables::OUTBOX_DUE)
}

/// Updates waiting to be processed, across organizations (for `/metrics`). Constant time.
///
/// # Errors
/// Storage only.
pub(crate) fn inbox_depth_in(view: &impl View) -> Result<u64> {
    view.table_len(tables::INBOX_PENDING)
}

/// The chat message an outbox item carries, for the delivery job to render.
///
/// # Errors
/// Not found.
pub(crate) fn outbox_message_in(
    view: &impl View,
    org: OrgId,
    message: MessageId,
) -> Result<Message> {
    load_message(view, org, message)
}

/// Every outbox item of `org`, oldest first, whatever its state (the outbox monitor and
/// tests).
pub(crate) fn outbox_items_in(
    view: &impl View,
    org: OrgId,
) -> Result<Vec<crate::model::OutboxItem>> {
    let mut items = Vec::new();
    view.for_each_prefix(tables::OUTBOX, &Key::org(org), |_, value| {
        items.push(crate::store::codec::decode(value)?);
        Ok(true)
    })?;
    Ok(items)
}

impl SystemTx<'_, '_> {
    /// Commits a Telegram update to the inbox before it is acknowledged (SPEC section 3). A
    /// repeated `update_id` (pending, processed, or processed and since pruned within
    /// [`crate::retention::REDELIVERY_WINDOW_MS`]) is recognised and nothing is written.
    /// `capacity` is the most pending updates the organization may hold
    /// ([`INBOX_CAPACITY`] unless configured). Constant time unless the whole inbox
    /// is at capacity.
    ///
    /// # Errors
    /// Busy when the inbox is full (Telegram must send it again later); invalid input on
    /// `payload` over [`INBOX_PAYLOAD_MAX`] bytes; not found for an unknown
    /// organization.
    pub fn inbox_put(
        &mut self,
        org: OrgId,
        update_id: u64,
        payload: String,
        capacity: u64,
    ) -> Result<InboxPut> {
        self.tx.inbox_put(org, update_id, payload, capacity)
    }

    /// Marks an update processed, in the same transaction as its effects, so a crash keeps
    /// both or neither.
    ///
    /// # Errors
    /// Not found (`update N not found`); conflict `update N was already processed`.
    pub fn finish_update(&mut self, org: OrgId, update_id: u64) -> Result<()> {
        self.tx.finish_update(org, update_id)
    }

    /// The bot's dialogue state for a chat (opaque bytes the bot owns), if any.
    ///
    /// # Errors
    /// Storage only.
    pub fn dialogue(&self, org: OrgId, chat: ChatId) -> Result<Option<Vec<u8>>> {
        dialogue_in(&*self.tx, org, chat)
    }

    /// Sets (or with `None` deletes) the bot's dialogue state for a chat, at most
    /// [`DIALOGUE_MAX`] bytes.
    ///
    /// # Errors
    /// Invalid input on `dialogue` when the state is too large.
    pub fn set_dialogue(&mut self, org: OrgId, chat: ChatId, state: Option<Vec<u8>>) -> Result<()> {
        self.tx.set_dialogue(org, chat, state)
    }

    /// Queues the bot's reply to a chat, delivered after commit (no audit entry: the update
    /// that caused it is the record).
    ///
    /// # Errors
    /// Invalid input on `reply` when it breaks one of Telegram's limits: 1-4096 characters of
    /// text (200 for the answer to a button press), at most 100 buttons, `callback_data` of
    /// 1-64 bytes, web links only.
    pub fn reply(&mut self, org: OrgId, chat: ChatId, reply: BotReply) -> Result<OutboxId> {
        self.tx.reply(org, chat, reply)
    }

    /// The customer with this Telegram account, if any.
    ///
    /// # Errors
    /// Storage only.
    pub fn customer_by_telegram(
        &self,
        org: OrgId,
        telegram_id: TelegramUserId,
    ) -> Result<Option<Customer>> {
        customer_by_telegram_in(&*self.tx, org, telegram_id)
    }

    /// The staff user linked to this Telegram account, if any.
    ///
    /// # Errors
    /// Storage only.
    pub fn user_by_telegram(
        &self,
        org: OrgId,
        telegram_id: TelegramUserId,
    ) -> Result<Option<User>> {
        user_by_telegram_in(&*self.tx, org, telegram_id)
    }

    /// The customer behind a Telegram account that wrote to the bot: created on first
    /// contact (audited as the customer), their names and username refreshed when Telegram
    /// reports new ones. See [`crate::customers`].
    ///
    /// # Errors
    /// Invalid input when Telegram's profile breaks the customer rules; not found for an
    /// unknown organization.
    pub fn upsert_telegram_customer(
        &mut self,
        org: OrgId,
        profile: TelegramProfile,
    ) -> Result<Customer> {
        self.tx.upsert_telegram_customer(org, profile)
    }

    /// A customer blocked (`reachable: false`) or unblocked the bot, as Telegram reports in a
    /// `my_chat_member` update; audited as the system. Changes nothing when it already holds.
    ///
    /// # Errors
    /// Not found.
    pub fn set_customer_reachable(
        &mut self,
        org: OrgId,
        customer: crate::model::CustomerId,
        reachable: bool,
    ) -> Result<()> {
        self.tx.set_customer_reachable(org, customer, reachable)
    }

    /// Outbox items due by `now`, as [`System::due_outbox`] reads them, inside this
    /// transaction (a bulk loader that delivers what it queued).
    ///
    /// # Errors
    /// As [`System::due_outbox`].
    pub fn due_outbox(&self, now: Timestamp, limit: usize) -> Result<Vec<DueItem>> {
        due_outbox_in(&*self.tx, now, limit)
    }

    /// [`System::outbox_delivered`] inside this transaction.
    ///
    /// # Errors
    /// As [`System::outbox_delivered`].
    pub fn outbox_delivered(
        &mut self,
        org: OrgId,
        id: OutboxId,
        telegram_message_id: Option<i64>,
    ) -> Result<()> {
        self.tx.outbox_delivered(org, id, telegram_message_id)
    }

    /// [`SystemTx::outbox_delivered`] for an item that became several Telegram messages
    /// (`telegram_message_ids`, in the order sent: an album, or files and a long text): a chat
    /// message also records them all as its [`SentParts`], so deleting it deletes every part.
    ///
    /// # Errors
    /// Those of [`SystemTx::outbox_delivered`].
    pub fn outbox_delivered_parts(
        &mut self,
        org: OrgId,
        id: OutboxId,
        telegram_message_ids: Vec<i64>,
    ) -> Result<()> {
        self.tx
            .outbox_delivered_parts(org, id, telegram_message_ids)
    }

    /// Links the Telegram account that sent a one-time code to the staff user who asked for
    /// it (C0de seed), and tells them in Telegram. See [`crate::team`].
    ///
    /// # Errors
    /// Not found for an unknown or expired code; conflict when the account is linked to
    /// another user.
    pub fn redeem_link_code(
        &mut self,
        org: OrgId,
        code: &str,
        telegram_id: TelegramUserId,
    ) -> Result<User> {
        self.tx.redeem_link_code(org, code, telegram_id)
    }

    /// Links the sender's Telegram account to the staff user whose phone their own shared
    /// contact carries (the worker's bot, issue 14); the rules and errors are those of
    /// [`System::link_staff_by_contact`](crate::system::System::link_staff_by_contact),
    /// whose transaction is this one.
    ///
    /// # Errors
    /// Not found while the projects module is off; permission denied for another person's
    /// contact; invalid input on `phone`; conflict when the account or the user is linked
    /// already.
    pub fn link_staff_by_contact(
        &mut self,
        org: OrgId,
        telegram_id: TelegramUserId,
        contact: &crate::team::SharedContact,
    ) -> Result<crate::team::ContactLink> {
        self.tx.link_staff_by_contact(org, telegram_id, contact)
    }
}

impl System<'_> {
    /// [`SystemTx::inbox_put`] in a transaction of its own; returns once the update is
    /// durable, so the caller may then acknowledge it to Telegram.
    ///
    /// # Errors
    /// See [`SystemTx::inbox_put`].
    pub fn inbox_put(
        &self,
        org: OrgId,
        update_id: u64,
        payload: String,
        capacity: u64,
    ) -> Result<InboxPut> {
        self.crm
            .write(move |tx| tx.inbox_put(org, update_id, payload, capacity))
    }

    /// [`SystemTx::finish_update`] for an update finished without effects (it would not
    /// parse, or kept failing).
    ///
    /// # Errors
    /// See [`SystemTx::finish_update`].
    pub fn finish_update(&self, org: OrgId, update_id: u64) -> Result<()> {
        self.crm.write(move |tx| tx.finish_update(org, update_id))
    }

    /// Pending updates of `org`, oldest `update_id` first, at most `limit`. Reads a
    /// snapshot.
    ///
    /// # Errors
    /// Storage, also when a pending entry has no inbox record.
    pub fn pending_updates(&self, org: OrgId, limit: usize) -> Result<Vec<InboxItem>> {
        self.crm.read(|view| pending_updates_in(view, org, limit))
    }

    /// The highest `update_id` the organization's inbox has seen (pending, done, or pruned),
    /// if any: the sandbox emulator continues numbering after it.
    ///
    /// # Errors
    /// Storage only.
    pub fn inbox_last_update_id(&self, org: OrgId) -> Result<Option<u64>> {
        self.crm.read(|view| inbox_last_update_id_in(view, org))
    }

    /// One inbox item (pending or done).
    ///
    /// # Errors
    /// Not found.
    pub fn inbox_item(&self, org: OrgId, update_id: u64) -> Result<InboxItem> {
        self.crm.read(|view| inbox_item_in(view, org, update_id))
    }

    /// Updates waiting to be processed, across organizations (for `/metrics`). Constant time.
    ///
    /// # Errors
    /// Storage only.
    pub fn inbox_depth(&self) -> Result<u64> {
        self.crm.read(inbox_depth_in)
    }

    /// The bot's dialogue state for a chat, from a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn dialogue(&self, org: OrgId, chat: ChatId) -> Result<Option<Vec<u8>>> {
        self.crm.read(|view| dialogue_in(view, org, chat))
    }

    /// [`SystemTx::set_dialogue`] in a transaction of its own.
    ///
    /// # Errors
    /// See [`SystemTx::set_dialogue`].
    pub fn set_dialogue(&self, org: OrgId, chat: ChatId, state: Option<Vec<u8>>) -> Result<()> {
        self.crm.write(move |tx| tx.set_dialogue(org, chat, state))
    }

    /// [`SystemTx::reply`] in a transaction of its own (a reply outside an update: the bot's
    /// apology for an update it had to give up).
    ///
    /// # Errors
    /// See [`SystemTx::reply`].
    pub fn reply(&self, org: OrgId, chat: ChatId, reply: BotReply) -> Result<OutboxId> {
        self.crm.write(move |tx| tx.reply(org, chat, reply))
    }

    /// The staff user linked to this Telegram account, if any, from a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn user_by_telegram(
        &self,
        org: OrgId,
        telegram_id: TelegramUserId,
    ) -> Result<Option<User>> {
        self.crm
            .read(|view| user_by_telegram_in(view, org, telegram_id))
    }

    /// Outbox items due by `now` across every organization, earliest due first, at most
    /// `limit`, each with its chat and its recipient's language: what the delivery job sends
    /// next. Reads a snapshot.
    ///
    /// # Errors
    /// Storage, also when a due entry has no outbox record.
    pub fn due_outbox(&self, now: Timestamp, limit: usize) -> Result<Vec<DueItem>> {
        self.crm.read(|view| due_outbox_in(view, now, limit))
    }

    /// Records that an outbox item was delivered (with Telegram's `message_id` when the
    /// method returns one); a chat message is marked sent, and its change reaches the
    /// browser. Idempotent. No audit entry: delivery is bookkeeping, not a change anyone made.
    ///
    /// # Errors
    /// Not found; conflict when the item already failed.
    pub fn outbox_delivered(
        &self,
        org: OrgId,
        id: OutboxId,
        telegram_message_id: Option<i64>,
    ) -> Result<()> {
        self.crm
            .write(move |tx| tx.outbox_delivered(org, id, telegram_message_id))
    }

    /// [`SystemTx::outbox_delivered_parts`] in a transaction of its own.
    ///
    /// # Errors
    /// See [`SystemTx::outbox_delivered_parts`].
    pub fn outbox_delivered_parts(
        &self,
        org: OrgId,
        id: OutboxId,
        telegram_message_ids: Vec<i64>,
    ) -> Result<()> {
        self.crm
            .write(move |tx| tx.outbox_delivered_parts(org, id, telegram_message_ids))
    }

    /// Every Telegram `message_id` a sent message became, when it went as several (see
    /// [`SentParts`]); empty otherwise. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn sent_parts(&self, org: OrgId, message: MessageId) -> Result<Vec<i64>> {
        self.crm.read(|view| {
            let parts: Option<SentParts> =
                view.get(tables::SENT_PARTS, &Key::org(org).u64(message.0))?;
            Ok(parts
                .map(|parts| parts.telegram_message_ids)
                .unwrap_or_default())
        })
    }

    /// Schedules another attempt of a pending outbox item at `next_attempt_at` (after a
    /// 429's `retry_after`, a 5xx or a network error) and counts the attempt.
    ///
    /// # Errors
    /// Not found; conflict when the item is no longer pending.
    pub fn outbox_retry(
        &self,
        org: OrgId,
        id: OutboxId,
        next_attempt_at: Timestamp,
    ) -> Result<OutboxItem> {
        self.crm
            .write(move |tx| tx.outbox_retry(org, id, next_attempt_at))
    }

    /// See [`Tx::outbox_begin`](crate::Tx): before the call of an at-most-once item
    /// ([`OutboxPayload::at_most_once`]), `true` to call Telegram, `false` when an earlier call
    /// was interrupted and the item is now given up.
    ///
    /// # Errors
    /// Not found; conflict when the item is no longer open.
    pub fn outbox_begin(&self, org: OrgId, id: OutboxId) -> Result<bool> {
        self.crm.write(move |tx| tx.outbox_begin(org, id))
    }

    /// Gives an outbox item up; a [`DeliveryFailure::Blocked`] marks the customer behind it
    /// unreachable (see [`DeliveryFailure`]). Idempotent.
    ///
    /// # Errors
    /// Not found; conflict when the item was already delivered.
    pub fn outbox_failed(&self, org: OrgId, id: OutboxId, failure: DeliveryFailure) -> Result<()> {
        self.crm
            .write(move |tx| tx.outbox_failed(org, id, &failure))
    }

    /// One outbox item.
    ///
    /// # Errors
    /// Not found.
    pub fn outbox_item(&self, org: OrgId, id: OutboxId) -> Result<OutboxItem> {
        self.crm.read(|view| outbox_item_in(view, org, id))
    }

    /// Every outbox item of `org`, oldest first, whatever its state (the outbox monitor and
    /// tests).
    ///
    /// # Errors
    /// Storage only.
    pub fn outbox_items(&self, org: OrgId) -> Result<Vec<OutboxItem>> {
        self.crm.read(|view| outbox_items_in(view, org))
    }

    /// The chat message an outbox item carries, for the delivery job to render.
    ///
    /// # Errors
    /// Not found.
    pub fn outbox_message(&self, org: OrgId, message: crate::model::MessageId) -> Result<Message> {
        self.crm.read(|view| outbox_message_in(view, org, message))
    }

    /// Outbox items waiting for delivery, across organizations (for `/metrics`). Constant
    /// time.
    ///
    /// # Errors
    /// Storage only.
    pub fn outbox_depth(&self) -> Result<u64> {
        self.crm.read(outbox_depth_in)
    }
}
