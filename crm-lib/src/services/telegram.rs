//! Telegram bookkeeping: the inbox of updates, the bot's dialogue state, bot calls queued in
//! the outbox, and the outbox delivery side (SPEC section 3: "Incoming updates go through an
//! inbox", "Telegram delivery").
//!
//! Inbox: an update is committed with [`Tx::inbox_put`] before the webhook answers 200 (or
//! before the next getUpdates confirms the offset); the bot processes it and calls
//! [`Tx::finish_update`] in the same transaction as its effects, so an update is never lost
//! and never applied twice. A full inbox answers [`crate::ErrorKind::Busy`], which the webhook
//! turns into a 503 so Telegram retries later.
//!
//! Outbox: the delivery job reads [`due_outbox_in`], resolves each recipient to a chat with
//! [`outbox_resolve_chat_in`], calls Telegram outside any transaction, then records the
//! outcome with [`Tx::outbox_delivered`], [`Tx::outbox_retry`] or [`Tx::outbox_failed`]. This
//! module decides no rate: the job obeys Telegram's limits and `retry_after`.

use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::chat::load_message;
use super::customers::load_customer;
use super::load_org;
use super::team::load_user;

/// The most pending (unprocessed) updates an organization's inbox holds by default; past it
/// [`Tx::inbox_put`] answers busy.
pub const INBOX_CAPACITY: u64 = 10_000;

/// The largest update payload accepted, in bytes (1 MiB; Telegram updates are a few KB).
pub const INBOX_PAYLOAD_MAX: usize = 1024 * 1024;

/// The largest dialogue state kept for one chat, in bytes.
pub const DIALOGUE_MAX: usize = 64 * 1024;

/// The largest JSON parameter object of a bot call, in bytes.
pub const BOT_CALL_PARAMS_MAX: usize = 64 * 1024;

/// The longest failure reason kept on an outbox item, in characters.
const REASON_MAX_CHARS: usize = 1000;

/// What [`Tx::inbox_put`] did with an update.
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

/// Checks a Bot API method name: 1-64 ASCII letters and digits (`sendMessage`).
fn check_method(method: &str) -> Result<()> {
    if method.is_empty() || method.len() > 64 || !method.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(Error::invalid(
            "method",
            format!("{method:?} is not a Bot API method name like sendMessage"),
        ));
    }
    Ok(())
}

/// Checks bot call parameters: a JSON object without `chat_id` (the recipient gives it), at
/// most [`BOT_CALL_PARAMS_MAX`] bytes.
fn check_params(params: &str) -> Result<()> {
    if params.len() > BOT_CALL_PARAMS_MAX {
        return Err(Error::invalid(
            "params",
            format!(
                "the parameters are {} bytes, over the limit of {BOT_CALL_PARAMS_MAX}",
                params.len()
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(params)
        .map_err(|error| Error::invalid("params", format!("not JSON: {error}")))?;
    let Some(object) = value.as_object() else {
        return Err(Error::invalid("params", "must be a JSON object"));
    };
    if object.contains_key("chat_id") {
        return Err(Error::invalid(
            "params",
            "must not contain chat_id; the chat is the call's recipient",
        ));
    }
    Ok(())
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl Tx<'_> {
    /// Commits a Telegram update to the inbox before it is acknowledged. A repeated
    /// `update_id` (pending, already processed, or processed and since pruned by
    /// [`Tx::prune_inbox`] within the last [`super::retention::REDELIVERY_WINDOW_MS`]) is
    /// recognised and nothing is written.
    ///
    /// `capacity` is the most pending updates the organization may hold ([`INBOX_CAPACITY`]
    /// unless configured); at capacity the update is refused as busy so that Telegram
    /// delivers it again later. Constant time unless the whole inbox is at capacity.
    ///
    /// # Errors
    /// Busy when the inbox is full; invalid input on `payload` (over 1 MiB); not found for an
    /// unknown organization.
    pub fn inbox_put(
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
        load_org(self, org)?;
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
    pub fn finish_update(&mut self, org: OrgId, update_id: u64) -> Result<()> {
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
    pub fn set_dialogue(&mut self, org: OrgId, chat: ChatId, state: Option<Vec<u8>>) -> Result<()> {
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

    /// Queues a Bot API call to a chat (a reply, an edited keyboard), delivered after commit.
    /// No audit entry: the update that caused it is the record.
    ///
    /// Rules: `method` is 1-64 ASCII letters and digits; `params_json` is a JSON object
    /// without `chat_id`, at most 64 KiB; `media`, when given, is stored.
    ///
    /// # Errors
    /// Invalid input on `method` or `params`; not found for unknown media.
    pub fn bot_call(
        &mut self,
        org: OrgId,
        chat: ChatId,
        method: &str,
        params_json: String,
        media: Option<MediaHash>,
    ) -> Result<OutboxId> {
        check_method(method)?;
        check_params(&params_json)?;
        if let Some(media) = media {
            super::media::media_in(self, org, media)?;
        }
        self.enqueue(
            org,
            Recipient::Chat(chat),
            OutboxPayload::BotCall {
                method: method.to_string(),
                params: params_json,
                media,
            },
        )
    }

    /// Records that an outbox item was delivered (with Telegram's `message_id` when the method
    /// returns one); a chat message is marked sent too. Idempotent: a second call changes
    /// nothing. No audit entry: delivery is bookkeeping, not a change anyone made.
    ///
    /// # Errors
    /// Not found; conflict when the item already failed.
    pub fn outbox_delivered(
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
            OutboxState::Pending => {}
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
        Ok(())
    }

    /// Schedules another attempt of a pending outbox item at `next_attempt_at` (after a 429's
    /// `retry_after`, a 5xx or a network error) and counts the attempt.
    ///
    /// # Errors
    /// Not found; conflict when the item is no longer pending.
    pub fn outbox_retry(
        &mut self,
        org: OrgId,
        id: OutboxId,
        next_attempt_at: Timestamp,
    ) -> Result<OutboxItem> {
        let before = load_outbox(self, org, id)?;
        if before.state != OutboxState::Pending {
            return Err(Error::conflict(format!(
                "outbox item {id} is no longer pending"
            )));
        }
        let mut item = before.clone();
        item.attempts = item.attempts.saturating_add(1);
        item.next_attempt_at = next_attempt_at;
        self.update_record(&outbox_key(org, id), &before, &item)?;
        Ok(item)
    }

    /// Gives an outbox item up (a 400, a 403, no chat to send to). When
    /// `recipient_unreachable` (Telegram answered 403: the bot was blocked) and the recipient
    /// is a customer, the customer is marked unreachable, so no more sends are attempted (SPEC
    /// section 3). A chat message is marked failed. Idempotent: a second call changes nothing.
    ///
    /// # Errors
    /// Not found; conflict when the item was already delivered.
    pub fn outbox_failed(
        &mut self,
        org: OrgId,
        id: OutboxId,
        reason: &str,
        recipient_unreachable: bool,
    ) -> Result<()> {
        let before = load_outbox(self, org, id)?;
        match before.state {
            OutboxState::Failed { .. } => return Ok(()),
            OutboxState::Delivered { .. } => {
                return Err(Error::conflict(format!(
                    "outbox item {id} was already delivered"
                )));
            }
            OutboxState::Pending => {}
        }
        let mut item = before.clone();
        item.attempts = item.attempts.saturating_add(1);
        item.state = OutboxState::Failed {
            reason: cut(reason.trim(), REASON_MAX_CHARS),
        };
        self.update_record(&outbox_key(org, id), &before, &item)?;
        if let Some(message) = item.payload.message()
            && self.exists(tables::MESSAGES, &Key::org(org).u64(message.0))?
        {
            self.mark_message_failed(org, message)?;
        }
        if recipient_unreachable
            && let Recipient::Customer(customer) = item.recipient
            && self.exists(tables::CUSTOMERS, &Key::org(org).u64(customer.0))?
        {
            self.set_customer_reachable(org, customer, false)?;
        }
        Ok(())
    }

    /// See [`outbox_resolve_chat_in`].
    ///
    /// # Errors
    /// Storage only.
    pub fn outbox_resolve_chat(&self, org: OrgId, recipient: Recipient) -> Result<Option<ChatId>> {
        outbox_resolve_chat_in(self, org, recipient)
    }
}

/// The bot's dialogue state for a chat, if any.
///
/// # Errors
/// Storage only.
pub fn dialogue_in(view: &impl View, org: OrgId, chat: ChatId) -> Result<Option<Vec<u8>>> {
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
pub fn pending_updates_in(view: &impl View, org: OrgId, limit: usize) -> Result<Vec<InboxItem>> {
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
/// [`Tx::prune_inbox`]), if any. The sandbox emulator continues numbering after it, so a
/// restarted emulator's updates are never mistaken for repeats.
///
/// # Errors
/// Storage only.
pub fn inbox_last_update_id_in(view: &impl View, org: OrgId) -> Result<Option<u64>> {
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
pub fn customer_by_telegram_in(
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
pub fn user_by_telegram_in(
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
pub fn inbox_item_in(view: &impl View, org: OrgId, update_id: u64) -> Result<InboxItem> {
    view.get(tables::INBOX, &inbox_key(org, update_id))?
        .ok_or_else(|| Error::not_found("update", update_id))
}

/// Outbox items due by `now` across every organization, earliest due first (then by
/// organization and id), at most `limit`. One index scan and `limit` record reads.
///
/// # Errors
/// Storage, also when a due entry has no outbox record.
pub fn due_outbox_in(
    view: &impl View,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<(OrgId, OutboxItem)>> {
    let mut due: Vec<Vec<u8>> = Vec::new();
    if limit == 0 {
        return Ok(Vec::new());
    }
    let upper = Key::empty().i64(now.0).u64(u64::MAX).u64(u64::MAX);
    view.scan(
        tables::OUTBOX_DUE,
        (Bound::Unbounded, Bound::Included(upper.as_slice())),
        false,
        |key, _| {
            due.push(key.to_vec());
            Ok(due.len() < limit)
        },
    )?;
    let mut items = Vec::with_capacity(due.len());
    for key in due {
        let org = OrgId(keys::read_u64(&key, 8));
        let id = OutboxId(keys::read_u64(&key, 16));
        let item = view
            .get::<OutboxItem>(tables::OUTBOX, &outbox_key(org, id))?
            .ok_or_else(|| crate::store::dangling("outbox_due", &key))?;
        items.push((org, item));
    }
    Ok(items)
}

/// The Telegram chat an outbox item goes to: a customer's private chat unless they are
/// unreachable (blocked the bot) or have no Telegram account; a staff user's linked account
/// unless they are disabled or not linked; a chat itself. `None` means the item cannot be
/// delivered and should be failed.
///
/// # Errors
/// Storage only (an unknown customer or user resolves to `None`).
pub fn outbox_resolve_chat_in(
    view: &impl View,
    org: OrgId,
    recipient: Recipient,
) -> Result<Option<ChatId>> {
    Ok(match recipient {
        Recipient::Chat(chat) => Some(chat),
        Recipient::Customer(customer) => match load_customer(view, org, customer) {
            Ok(customer) if !customer.unreachable => customer.telegram_id.map(ChatId::from),
            Ok(_) => None,
            Err(error) if error.kind() == crate::ErrorKind::NotFound => None,
            Err(error) => return Err(error),
        },
        Recipient::Staff(user) => match load_user(view, org, user) {
            Ok(user) if user.status == UserStatus::Active => user.telegram_id.map(ChatId::from),
            Ok(_) => None,
            Err(error) if error.kind() == crate::ErrorKind::NotFound => None,
            Err(error) => return Err(error),
        },
    })
}

/// One outbox item.
///
/// # Errors
/// Not found.
pub fn outbox_item_in(view: &impl View, org: OrgId, id: OutboxId) -> Result<OutboxItem> {
    load_outbox(view, org, id)
}

/// Outbox items waiting for delivery, across organizations (for `/metrics`). Constant time.
///
/// # Errors
/// Storage only.
pub fn outbox_depth_in(view: &impl View) -> Result<u64> {
    view.table_len(tables::OUTBOX_DUE)
}

/// Updates waiting to be processed, across organizations (for `/metrics`). Constant time.
///
/// # Errors
/// Storage only.
pub fn inbox_depth_in(view: &impl View) -> Result<u64> {
    view.table_len(tables::INBOX_PENDING)
}

/// The chat message an outbox item carries, for the delivery job to render.
///
/// # Errors
/// Not found.
pub fn outbox_message_in(view: &impl View, org: OrgId, message: MessageId) -> Result<Message> {
    load_message(view, org, message)
}

impl Crm {
    /// See [`Tx::inbox_put`]. Blocks until the update is durable, so the caller may then
    /// acknowledge it to Telegram.
    ///
    /// # Errors
    /// See [`Tx::inbox_put`].
    pub fn inbox_put(
        &self,
        org: OrgId,
        update_id: u64,
        payload: String,
        capacity: u64,
    ) -> Result<InboxPut> {
        self.write(move |tx| tx.inbox_put(org, update_id, payload, capacity))
    }

    /// See [`Tx::finish_update`]. The bot normally calls the `Tx` method inside the
    /// transaction of the update's effects; this wrapper is for updates without effects.
    ///
    /// # Errors
    /// See [`Tx::finish_update`].
    pub fn finish_update(&self, org: OrgId, update_id: u64) -> Result<()> {
        self.write(move |tx| tx.finish_update(org, update_id))
    }

    /// See [`pending_updates_in`].
    ///
    /// # Errors
    /// See [`pending_updates_in`].
    pub fn pending_updates(&self, org: OrgId, limit: usize) -> Result<Vec<InboxItem>> {
        self.read(|view| pending_updates_in(view, org, limit))
    }

    /// See [`inbox_last_update_id_in`].
    ///
    /// # Errors
    /// Storage only.
    pub fn inbox_last_update_id(&self, org: OrgId) -> Result<Option<u64>> {
        self.read(|view| inbox_last_update_id_in(view, org))
    }

    /// See [`inbox_item_in`].
    ///
    /// # Errors
    /// Not found.
    pub fn inbox_item(&self, org: OrgId, update_id: u64) -> Result<InboxItem> {
        self.read(|view| inbox_item_in(view, org, update_id))
    }

    /// See [`Tx::set_dialogue`].
    ///
    /// # Errors
    /// See [`Tx::set_dialogue`].
    pub fn set_dialogue(&self, org: OrgId, chat: ChatId, state: Option<Vec<u8>>) -> Result<()> {
        self.write(move |tx| tx.set_dialogue(org, chat, state))
    }

    /// See [`dialogue_in`].
    ///
    /// # Errors
    /// Storage only.
    pub fn dialogue(&self, org: OrgId, chat: ChatId) -> Result<Option<Vec<u8>>> {
        self.read(|view| dialogue_in(view, org, chat))
    }

    /// See [`Tx::bot_call`].
    ///
    /// # Errors
    /// See [`Tx::bot_call`].
    pub fn bot_call(
        &self,
        org: OrgId,
        chat: ChatId,
        method: &str,
        params_json: String,
        media: Option<MediaHash>,
    ) -> Result<OutboxId> {
        let method = method.to_string();
        self.write(move |tx| tx.bot_call(org, chat, &method, params_json, media))
    }

    /// See [`due_outbox_in`].
    ///
    /// # Errors
    /// See [`due_outbox_in`].
    pub fn due_outbox(&self, now: Timestamp, limit: usize) -> Result<Vec<(OrgId, OutboxItem)>> {
        self.read(|view| due_outbox_in(view, now, limit))
    }

    /// See [`Tx::outbox_delivered`].
    ///
    /// # Errors
    /// See [`Tx::outbox_delivered`].
    pub fn outbox_delivered(
        &self,
        org: OrgId,
        id: OutboxId,
        telegram_message_id: Option<i64>,
    ) -> Result<()> {
        self.write(move |tx| tx.outbox_delivered(org, id, telegram_message_id))
    }

    /// See [`Tx::outbox_retry`].
    ///
    /// # Errors
    /// See [`Tx::outbox_retry`].
    pub fn outbox_retry(
        &self,
        org: OrgId,
        id: OutboxId,
        next_attempt_at: Timestamp,
    ) -> Result<OutboxItem> {
        self.write(move |tx| tx.outbox_retry(org, id, next_attempt_at))
    }

    /// See [`Tx::outbox_failed`].
    ///
    /// # Errors
    /// See [`Tx::outbox_failed`].
    pub fn outbox_failed(
        &self,
        org: OrgId,
        id: OutboxId,
        reason: &str,
        recipient_unreachable: bool,
    ) -> Result<()> {
        let reason = reason.to_string();
        self.write(move |tx| tx.outbox_failed(org, id, &reason, recipient_unreachable))
    }

    /// See [`outbox_resolve_chat_in`].
    ///
    /// # Errors
    /// Storage only.
    pub fn outbox_resolve_chat(&self, org: OrgId, recipient: Recipient) -> Result<Option<ChatId>> {
        self.read(|view| outbox_resolve_chat_in(view, org, recipient))
    }

    /// See [`outbox_item_in`].
    ///
    /// # Errors
    /// Not found.
    pub fn outbox_item(&self, org: OrgId, id: OutboxId) -> Result<OutboxItem> {
        self.read(|view| outbox_item_in(view, org, id))
    }

    /// See [`outbox_message_in`].
    ///
    /// # Errors
    /// Not found.
    pub fn outbox_message(&self, org: OrgId, message: MessageId) -> Result<Message> {
        self.read(|view| outbox_message_in(view, org, message))
    }

    /// See [`outbox_depth_in`].
    ///
    /// # Errors
    /// Storage only.
    pub fn outbox_depth(&self) -> Result<u64> {
        self.read(outbox_depth_in)
    }

    /// See [`inbox_depth_in`].
    ///
    /// # Errors
    /// Storage only.
    pub fn inbox_depth(&self) -> Result<u64> {
        self.read(inbox_depth_in)
    }
}

/// Every outbox item of `org`, oldest first, whatever its state (the outbox monitor and
/// tests).
pub fn outbox_items_in(view: &impl View, org: OrgId) -> Result<Vec<crate::model::OutboxItem>> {
    let mut items = Vec::new();
    view.for_each_prefix(tables::OUTBOX, &Key::org(org), |_, value| {
        items.push(crate::store::codec::decode(value)?);
        Ok(true)
    })?;
    Ok(items)
}
