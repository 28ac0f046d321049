//! The system handle: the trusted calls that act for no person, named at every call site.
//!
//! Every use case of crm-lib takes an [`Actor`](crate::model::Actor) and checks it. A few calls have no person
//! behind them: the bot's plumbing (the inbox of updates, the dialogue state, its replies, who
//! a Telegram account is), the outbox's delivery bookkeeping, retention, and the store-wide
//! administration (organizations, backup, verification, statistics, the demo). They sit
//! behind [`Crm::system`] and [`Tx::system`], so that reading `crm.system()` says "no actor is
//! checked here", and an embedder who only ever writes `crm.create_order(&actor, ...)` can see
//! at a glance that every other call checks its actor.
//!
//! The store-wide calls are implemented beside their area (`services/admin.rs`,
//! `services/org.rs`, `services/retention.rs`...) as `impl System`; this module holds the two
//! handles and the bot and outbox plumbing.

use crate::model::{
    BotReply, ChatId, Customer, DeliveryFailure, InboxItem, Message, OrgId, OutboxId, OutboxItem,
    TelegramUserId, Timestamp, User,
};
use crate::services::customers::TelegramProfile;
use crate::services::telegram::{self, DueItem, InboxPut};
use crate::{Crm, Result, Tx};

/// Trusted calls of the whole store; see the [module documentation](self). Cheap: borrow it
/// with [`Crm::system`] where you need it.
#[derive(Debug, Clone, Copy)]
pub struct System<'c> {
    pub(crate) crm: &'c Crm,
}

impl Crm {
    /// The trusted calls that act for no person (the bot's plumbing, outbox bookkeeping,
    /// retention, store-wide administration).
    pub fn system(&self) -> System<'_> {
        System { crm: self }
    }
}

/// Trusted calls inside a write transaction (the bot handling an update); see the
/// [module documentation](self).
pub struct SystemTx<'t, 'a> {
    pub(crate) tx: &'t mut Tx<'a>,
}

impl<'a> Tx<'a> {
    /// The trusted calls of this transaction: the bot's plumbing while it handles an update.
    pub fn system(&mut self) -> SystemTx<'_, 'a> {
        SystemTx { tx: self }
    }
}

impl SystemTx<'_, '_> {
    /// Commits a Telegram update to the inbox before it is acknowledged (SPEC section 3). A
    /// repeated `update_id` (pending, processed, or processed and since pruned within
    /// [`crate::retention::REDELIVERY_WINDOW_MS`]) is recognised and nothing is written.
    /// `capacity` is the most pending updates the organization may hold
    /// ([`telegram::INBOX_CAPACITY`] unless configured). Constant time unless the whole inbox
    /// is at capacity.
    ///
    /// # Errors
    /// Busy when the inbox is full (Telegram must send it again later); invalid input on
    /// `payload` over [`telegram::INBOX_PAYLOAD_MAX`] bytes; not found for an unknown
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
        telegram::dialogue_in(&*self.tx, org, chat)
    }

    /// Sets (or with `None` deletes) the bot's dialogue state for a chat, at most
    /// [`telegram::DIALOGUE_MAX`] bytes.
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
        telegram::customer_by_telegram_in(&*self.tx, org, telegram_id)
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
        telegram::user_by_telegram_in(&*self.tx, org, telegram_id)
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
        telegram::due_outbox_in(&*self.tx, now, limit)
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
        self.crm
            .read(|view| telegram::pending_updates_in(view, org, limit))
    }

    /// The highest `update_id` the organization's inbox has seen (pending, done, or pruned),
    /// if any: the sandbox emulator continues numbering after it.
    ///
    /// # Errors
    /// Storage only.
    pub fn inbox_last_update_id(&self, org: OrgId) -> Result<Option<u64>> {
        self.crm
            .read(|view| telegram::inbox_last_update_id_in(view, org))
    }

    /// One inbox item (pending or done).
    ///
    /// # Errors
    /// Not found.
    pub fn inbox_item(&self, org: OrgId, update_id: u64) -> Result<InboxItem> {
        self.crm
            .read(|view| telegram::inbox_item_in(view, org, update_id))
    }

    /// Updates waiting to be processed, across organizations (for `/metrics`). Constant time.
    ///
    /// # Errors
    /// Storage only.
    pub fn inbox_depth(&self) -> Result<u64> {
        self.crm.read(telegram::inbox_depth_in)
    }

    /// The bot's dialogue state for a chat, from a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn dialogue(&self, org: OrgId, chat: ChatId) -> Result<Option<Vec<u8>>> {
        self.crm.read(|view| telegram::dialogue_in(view, org, chat))
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
            .read(|view| telegram::user_by_telegram_in(view, org, telegram_id))
    }

    /// Outbox items due by `now` across every organization, earliest due first, at most
    /// `limit`, each with its chat and its recipient's language: what the delivery job sends
    /// next. Reads a snapshot.
    ///
    /// # Errors
    /// Storage, also when a due entry has no outbox record.
    pub fn due_outbox(&self, now: Timestamp, limit: usize) -> Result<Vec<DueItem>> {
        self.crm
            .read(|view| telegram::due_outbox_in(view, now, limit))
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
        self.crm
            .read(|view| telegram::outbox_item_in(view, org, id))
    }

    /// Every outbox item of `org`, oldest first, whatever its state (the outbox monitor and
    /// tests).
    ///
    /// # Errors
    /// Storage only.
    pub fn outbox_items(&self, org: OrgId) -> Result<Vec<OutboxItem>> {
        self.crm.read(|view| telegram::outbox_items_in(view, org))
    }

    /// The chat message an outbox item carries, for the delivery job to render.
    ///
    /// # Errors
    /// Not found.
    pub fn outbox_message(&self, org: OrgId, message: crate::model::MessageId) -> Result<Message> {
        self.crm
            .read(|view| telegram::outbox_message_in(view, org, message))
    }

    /// Outbox items waiting for delivery, across organizations (for `/metrics`). Constant
    /// time.
    ///
    /// # Errors
    /// Storage only.
    pub fn outbox_depth(&self) -> Result<u64> {
        self.crm.read(telegram::outbox_depth_in)
    }
}
