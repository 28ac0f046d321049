//! Contact merge (issue 12): two customers who are one person (a caller known by phone and
//! the same person on Telegram) become one. [`merge_preview_in`] says what would move;
//! [`Tx::merge_customers`] moves it in one transaction and deletes the absorbed customer.
//!
//! Every record that names the absorbed customer is rewritten to name the kept one through
//! its declaration (`Tx::update_record`), so each index entry, counter and projection moves
//! with it (`orders_by_customer`, `orders_by_customer_stage`, `order_rows`,
//! `messages_by_customer`, `calls_by_customer`, `queue_by_subject`...), and `crm verify`
//! stays clean. The tables covered are listed once, in `Moving` and its `collect` and
//! `apply` (the hook list): a new table keyed or valued by a customer id adds a field there.
//!
//! Rules:
//! - staff need `chat_customers` (the permission that creates and edits customers); the
//!   system may; a customer may not;
//! - a customer is never merged with itself; both must be of the actor's organization (a
//!   customer of another one is "not found");
//! - when both have a Telegram account and they differ, the merge is refused (conflict): one
//!   account would lose its conversation. The kept customer ends with the Telegram account
//!   of whichever had one, and then with that customer's language and reachability;
//! - the kept customer's fields win; each empty one (Telegram account, username, last name,
//!   phone, email) is filled from the absorbed customer; a value both have and that differs
//!   is dropped and listed as such in the preview;
//! - unread counts add up; the last activity is the later one, the creation the earlier;
//! - the open-order limit is not applied: the orders exist already;
//! - the operators queue keeps "only a customer's newest conversation may be open": an open
//!   conversation that is no longer the newest after the merge is closed;
//! - unknown-caller marks of both are removed (merging says who the caller is);
//! - the audit log and the change feed are history and keep naming the absorbed customer;
//!   one audit entry `customer.merged` names both ids and the counts.
//!
//! "Ledger entries" of the issue: the token ledger does not exist yet (issue 13); it adds its
//! table to the hook list.

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::customers::{load_customer, save_customer};
use super::require;

/// A field of the kept customer that the merge fills or that it cannot keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MergeField {
    /// The Telegram account (and with it the chat the bot writes to).
    Telegram,
    /// The Telegram username.
    Username,
    /// The last name.
    LastName,
    /// The phone number (calls are linked by it).
    Phone,
    /// The email address.
    Email,
    /// The language the bot speaks (follows the Telegram account).
    Language,
}

impl MergeField {
    /// `telegram`, `username`, `last_name`, `phone`, `email` or `language`: the locale key's
    /// last part (`merge.field.<name>`) and the API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeField::Telegram => "telegram",
            MergeField::Username => "username",
            MergeField::LastName => "last_name",
            MergeField::Phone => "phone",
            MergeField::Email => "email",
            MergeField::Language => "language",
        }
    }
}

/// What a merge of `absorb` into `keep` would do: the counts of what moves, the fields it
/// fills and the values it drops, and the kept customer as it would be.
#[derive(Debug, Clone, PartialEq)]
pub struct MergePreview {
    /// The customer that stays, as it is now.
    pub keep: Customer,
    /// The customer that is absorbed and deleted, as it is now.
    pub absorb: Customer,
    /// The kept customer as the merge would leave it.
    pub result: Customer,
    /// Orders that move (tickets included).
    pub orders: u64,
    /// Of those, the ones carrying ticket fields (the tickets module).
    pub tickets: u64,
    /// Messages of the conversation that move (private notes included).
    pub messages: u64,
    /// Of those, the private notes.
    pub notes: u64,
    /// Telephone calls that move.
    pub calls: u64,
    /// Conversations of the operators queue that move.
    pub conversations: u64,
    /// Payment details sent on the moving orders (they move with their order).
    pub payment_infos: u64,
    /// Notifications still waiting in the outbox for the absorbed customer.
    pub pending_notifications: u64,
    /// Fields of the kept customer filled from the absorbed one, with the value.
    pub filled: Vec<(MergeField, String)>,
    /// Values of the absorbed customer that are lost because the kept one has another.
    pub dropped: Vec<(MergeField, String)>,
}

/// Everything that names the absorbed customer: the hook list. Each table keyed or valued by
/// a customer id has a field here, filled by `collect` and rewritten by `apply`.
///
/// Covered: `orders` (and through their declaration `orders_by_customer`,
/// `orders_by_customer_stage`, `order_rows`; bids, grants and payment infos are keyed by
/// order and move with it), `messages` (`messages_by_customer`, `messages_by_telegram`, and
/// `Author::Customer`), `calls` (`calls_by_customer`), `queue_items` (`queue_by_subject` and
/// the other queue indexes), pending `outbox` items addressed to the customer,
/// `unknown_callers`, `csat_surveys` (`csat_by_customer`), `auto_replies` (the out-of-hours
/// mark), `scheduled_messages` (`scheduled_by_customer`, `scheduled_due`), `profiles`
/// (`profiles_by_id`), `form_progress` (a walk under way, unless the kept customer walks the
/// same form), `projects` (issue 14: the client, with `projects_by_client` and the list
/// row; change requests decided by the absorbed customer keep naming them, as history), and
/// the customer's own entries (`customers_by_telegram`, `customers_by_phone`,
/// `customers_by_activity`, `customer_names`) through the customer's declaration. Beside the
/// list, [`Tx::merge_customers`] rewrites the inbox's `conversation_rows` of both customers
/// from their sources and moves the staff group's `forum_topics` and `staff_notices`
/// (`services::staff_chat::merge_customer`).
/// Not rewritten on purpose: `audit`, `audit_by_subject` and `changes` (history), the
/// `inbox` (processed updates), and `dialogues` (keyed by Telegram chat, which moves with the
/// account).
#[derive(Debug, Default)]
struct Moving {
    orders: Vec<Order>,
    messages: Vec<Message>,
    calls: Vec<Call>,
    conversations: Vec<QueueItem>,
    outbox: Vec<OutboxItem>,
    payment_infos: u64,
    unknown_callers: Vec<UnknownCaller>,
    surveys: Vec<CsatSurvey>,
    auto_reply: Option<AutoReplyMark>,
    scheduled: Vec<ScheduledMessage>,
    profiles: Vec<Profile>,
    forms: Vec<FormProgress>,
    projects: Vec<Project>,
}

/// Reads every record of `org` that names `customer` (the hook list's reads).
fn collect(view: &impl View, org: OrgId, customer: CustomerId) -> Result<Moving> {
    let mut moving = Moving::default();
    let by_customer = Key::org(org).u64(customer.0);
    for order in view.records_by_index::<Order>(
        org,
        tables::ORDERS_BY_CUSTOMER,
        &by_customer,
        tables::ORDERS,
    )? {
        moving.payment_infos +=
            view.count_prefix(tables::PAYMENT_INFOS, &Key::org(org).u64(order.id.0))?;
        moving.orders.push(order);
    }
    moving.messages = view.records_by_index(
        org,
        tables::MESSAGES_BY_CUSTOMER,
        &by_customer,
        tables::MESSAGES,
    )?;
    moving.calls =
        view.records_by_index(org, tables::CALLS_BY_CUSTOMER, &by_customer, tables::CALLS)?;
    let subject =
        crate::store::declarations::queue_subject_prefix(org, QueueSubject::Conversation(customer));
    moving.conversations =
        view.records_by_index(org, tables::QUEUE_BY_SUBJECT, &subject, tables::QUEUE_ITEMS)?;
    // Pending outbox items only: delivered and failed ones are history. `outbox_due` holds
    // exactly the pending ones, across organizations (due time first).
    let mut pending = Vec::new();
    view.for_each_prefix(tables::OUTBOX_DUE, &Key::empty(), |key, _| {
        if key.len() == 24 && keys::read_u64(key, 8) == org.0 {
            pending.push(keys::tail_u64(key));
        }
        Ok(true)
    })?;
    for id in pending {
        if let Some(item) = view.get::<OutboxItem>(tables::OUTBOX, &Key::org(org).u64(id))?
            && item.recipient == Recipient::Customer(customer)
        {
            moving.outbox.push(item);
        }
    }
    if let Some(mark) = view.get::<UnknownCaller>(tables::UNKNOWN_CALLERS, &by_customer)? {
        moving.unknown_callers.push(mark);
    }
    moving.surveys = view.records_by_index(
        org,
        tables::CSAT_BY_CUSTOMER,
        &by_customer,
        tables::CSAT_SURVEYS,
    )?;
    moving.auto_reply = view.get(tables::AUTO_REPLIES, &by_customer)?;
    moving.scheduled = view.records_by_index(
        org,
        tables::SCHEDULED_BY_CUSTOMER,
        &by_customer,
        tables::SCHEDULED_MESSAGES,
    )?;
    moving.profiles = super::profiles::profiles_of(view, org, customer)?;
    moving.forms = view.records_with_prefix(tables::FORM_PROGRESS, &by_customer)?;
    moving.projects = view.records_by_index(
        org,
        tables::PROJECTS_BY_CLIENT,
        &by_customer,
        tables::PROJECTS,
    )?;
    Ok(moving)
}

/// Fields with their values, as the preview lists them.
type Fields = Vec<(MergeField, String)>;

/// The kept customer after the merge, with the fields filled and the values dropped.
fn merged(keep: &Customer, absorb: &Customer) -> (Customer, Fields, Fields) {
    let mut result = keep.clone();
    let mut filled = Vec::new();
    let mut dropped = Vec::new();
    fn take(
        field: MergeField,
        kept: &mut Option<String>,
        other: &Option<String>,
        filled: &mut Vec<(MergeField, String)>,
        dropped: &mut Vec<(MergeField, String)>,
    ) {
        match (kept.as_ref(), other) {
            (None, Some(value)) => {
                *kept = Some(value.clone());
                filled.push((field, value.clone()));
            }
            (Some(mine), Some(value)) if mine != value => dropped.push((field, value.clone())),
            _ => {}
        }
    }
    if keep.telegram_id.is_none()
        && let Some(telegram) = absorb.telegram_id
    {
        result.telegram_id = Some(telegram);
        filled.push((MergeField::Telegram, telegram.to_string()));
        if result.language != absorb.language {
            result.language = absorb.language;
            filled.push((MergeField::Language, absorb.language.code().to_string()));
        }
        result.unreachable = absorb.unreachable;
    }
    take(
        MergeField::Username,
        &mut result.username,
        &absorb.username,
        &mut filled,
        &mut dropped,
    );
    take(
        MergeField::LastName,
        &mut result.last_name,
        &absorb.last_name,
        &mut filled,
        &mut dropped,
    );
    take(
        MergeField::Phone,
        &mut result.phone,
        &absorb.phone,
        &mut filled,
        &mut dropped,
    );
    take(
        MergeField::Email,
        &mut result.email,
        &absorb.email,
        &mut filled,
        &mut dropped,
    );
    result.unread = keep.unread.saturating_add(absorb.unread);
    result.last_activity_at = keep.last_activity_at.max(absorb.last_activity_at);
    result.created_at = keep.created_at.min(absorb.created_at);
    (result, filled, dropped)
}

/// Checks a merge (permission, both customers, the Telegram rule) and reads what it moves.
fn check(
    view: &impl View,
    actor: &Actor,
    keep: CustomerId,
    absorb: CustomerId,
) -> Result<(MergePreview, Moving)> {
    require(view, actor, Permission::ChatCustomers)?;
    if keep == absorb {
        return Err(Error::invalid(
            "absorb",
            format!("customer {keep} cannot be merged with itself"),
        ));
    }
    let kept = load_customer(view, actor.org, keep)?;
    let absorbed = load_customer(view, actor.org, absorb)?;
    if let (Some(mine), Some(theirs)) = (kept.telegram_id, absorbed.telegram_id)
        && mine != theirs
    {
        return Err(Error::conflict(format!(
            "customers {keep} and {absorb} have different Telegram accounts ({mine} and \
             {theirs}); a merge would cut one of them off"
        )));
    }
    // A token ledger is history that is never rewritten: its entries and balance cannot move
    // to another customer (issue 13).
    if crate::tokens::has_account(view, actor.org, absorb)? {
        return Err(Error::conflict(format!(
            "customer {absorb} has a token account (a ledger or Premium); a ledger is never \
             rewritten, so merge the other way round or keep both customers"
        )));
    }
    // A payment may still arrive for a pending invoice, and it credits the customer the
    // invoice names.
    if let Some(invoice) = crate::payments::pending_invoice_of(view, actor.org, absorb)? {
        return Err(Error::conflict(format!(
            "customer {absorb} has pending invoice {invoice}; merge once it is paid or closed, \
             or merge the other way round"
        )));
    }
    let moving = collect(view, actor.org, absorb)?;
    let (result, filled, dropped) = merged(&kept, &absorbed);
    let notes = moving
        .messages
        .iter()
        .filter(|message| is_note(message))
        .count() as u64;
    let preview = MergePreview {
        orders: moving.orders.len() as u64,
        tickets: moving
            .orders
            .iter()
            .filter(|order| !order.custom_fields.is_empty())
            .count() as u64,
        messages: moving.messages.len() as u64,
        notes,
        calls: moving.calls.len() as u64,
        conversations: moving.conversations.len() as u64,
        payment_infos: moving.payment_infos,
        pending_notifications: moving.outbox.len() as u64,
        filled,
        dropped,
        keep: kept,
        absorb: absorbed,
        result,
    };
    Ok((preview, moving))
}

/// Whether a message is a private note (staff-only); notes are counted apart in the preview.
fn is_note(message: &Message) -> bool {
    message.direction == Direction::Note
}

/// What merging `absorb` into `keep` would move, fill and drop, without writing anything.
/// Reads in the caller's snapshot.
///
/// # Errors
/// Permission denied (staff need `chat_customers`); invalid input on `absorb` when both are
/// the same customer; not found for a customer of another organization or none; conflict when
/// both have different Telegram accounts.
pub fn merge_preview_in(
    view: &impl View,
    actor: &Actor,
    keep: CustomerId,
    absorb: CustomerId,
) -> Result<MergePreview> {
    Ok(check(view, actor, keep, absorb)?.0)
}

impl Tx<'_> {
    /// Merges customer `absorb` into `keep` (the rules are the module's): every record that
    /// names `absorb` is rewritten to name `keep` through its declaration, the kept customer
    /// gets the filled fields, the combined unread count and the later activity, `absorb`
    /// is deleted; one audit entry `customer.merged` (subject: the kept customer; detail: both
    /// ids and the counts) and changes for both customers, both conversations and each moved
    /// order. Returns what was done, as the preview said it. Checks everything before
    /// writing.
    ///
    /// # Errors
    /// As [`merge_preview_in`].
    pub fn merge_customers(
        &mut self,
        actor: &Actor,
        keep: CustomerId,
        absorb: CustomerId,
    ) -> Result<MergePreview> {
        let (preview, moving) = check(self, actor, keep, absorb)?;
        let org = actor.org;
        apply(self, org, keep, absorb, &moving)?;
        let absorb_key = Key::org(org).u64(absorb.0);
        self.delete_record(&absorb_key, &preview.absorb)?;
        crate::services::analytics::aggregates::customer_deleted(self, org, &preview.absorb)?;
        save_customer(self, org, &preview.result)?;
        // The inbox's projection: the absorbed conversation's row goes, the kept one shows
        // the moved messages (services::inbox::rows).
        super::inbox::rows::refresh_conversation_row(self, org, absorb)?;
        super::inbox::rows::refresh_conversation_row(self, org, keep)?;
        // Staff working from Telegram: the forum topic and the notices move.
        super::staff_chat::merge_customer(self, org, keep, absorb)?;
        let detail = format!(
            "customer {absorb} ({}) merged into customer {keep}: {} orders, {} messages, {} calls, \
             {} conversations",
            preview.absorb.full_name(),
            preview.orders,
            preview.messages,
            preview.calls,
            preview.conversations
        );
        self.audit(
            actor,
            AuditAction::CustomerMerged,
            Subject::Customer(keep),
            AuditDetail::Text(detail),
        )?;
        self.changed(org, Subject::Customer(keep), ChangeKind::Updated)?;
        self.changed(org, Subject::Customer(absorb), ChangeKind::Deleted)?;
        self.changed(org, Subject::Conversation(keep), ChangeKind::Updated)?;
        self.changed(org, Subject::Conversation(absorb), ChangeKind::Deleted)?;
        for order in &moving.orders {
            self.changed(org, Subject::Order(order.id), ChangeKind::Updated)?;
        }
        for project in &moving.projects {
            self.changed(org, Subject::Project(project.id), ChangeKind::Updated)?;
        }
        Ok(preview)
    }
}

/// Rewrites every record of the hook list from `absorb` to `keep` (the hook list's writes).
fn apply(
    tx: &mut Tx<'_>,
    org: OrgId,
    keep: CustomerId,
    absorb: CustomerId,
    moving: &Moving,
) -> Result<()> {
    for order in &moving.orders {
        let mut after = order.clone();
        after.customer = keep;
        tx.update_record(&Key::org(org).u64(order.id.0), order, &after)?;
        // Counts nothing new (the order keeps its day, stage and amounts): returns at once.
        crate::services::analytics::aggregates::order_saved(tx, org, order, &after)?;
    }
    for message in &moving.messages {
        let mut after = message.clone();
        after.customer = keep;
        if after.author == Author::Customer(absorb) {
            after.author = Author::Customer(keep);
        }
        tx.update_record(&Key::org(org).u64(message.id.0), message, &after)?;
    }
    for call in &moving.calls {
        let mut after = call.clone();
        after.customer = keep;
        tx.update_record(&Key::org(org).u64(call.id.0), call, &after)?;
    }
    for item in &moving.conversations {
        let mut after = item.clone();
        after.subject = QueueSubject::Conversation(keep);
        tx.update_record(&Key::org(org).u64(item.id.0), item, &after)?;
    }
    close_all_but_the_newest_conversation(tx, org, keep)?;
    for item in &moving.outbox {
        let mut after = item.clone();
        after.recipient = Recipient::Customer(keep);
        tx.update_record(&Key::org(org).u64(item.id.0), item, &after)?;
    }
    for mark in &moving.unknown_callers {
        tx.delete_record(&Key::org(org).u64(mark.customer.0), mark)?;
    }
    for survey in &moving.surveys {
        let mut after = survey.clone();
        after.customer = keep;
        tx.update_record(&Key::org(org).u64(survey.order.0), survey, &after)?;
    }
    for project in &moving.projects {
        let mut after = project.clone();
        after.client = keep;
        tx.update_record(&Key::org(org).u64(project.id.get()), project, &after)?;
    }
    for scheduled in &moving.scheduled {
        let mut after = scheduled.clone();
        after.customer = keep;
        tx.update_record(&Key::org(org).u64(scheduled.id), scheduled, &after)?;
    }
    // The out-of-hours auto-reply mark: the kept conversation keeps its own; without one it
    // takes the absorbed one's, so the customer is not auto-replied twice in one period.
    if let Some(mark) = &moving.auto_reply {
        tx.delete_record(&Key::org(org).u64(absorb.0), mark)?;
        let kept = Key::org(org).u64(keep.0);
        if !tx.exists(tables::AUTO_REPLIES, &kept)? {
            let mut after = mark.clone();
            after.customer = keep;
            tx.insert_record(&kept, &after)?;
        }
    }
    // Profiles (the tokens module) are keyed by their customer: each moves to the kept one's
    // key under its own id.
    for profile in &moving.profiles {
        use crate::store::declarations::profile_key;
        tx.delete_record(&profile_key(org, absorb, profile.id), profile)?;
        let mut after = profile.clone();
        after.customer = keep;
        tx.insert_record(&profile_key(org, keep, profile.id), &after)?;
    }
    // A form under way moves too, unless the kept customer walks the same form.
    for progress in &moving.forms {
        use crate::store::declarations::progress_key;
        tx.delete_record(&progress_key(org, absorb, progress.form), progress)?;
        let kept = progress_key(org, keep, progress.form);
        if !tx.exists(tables::FORM_PROGRESS, &kept)? {
            let mut after = progress.clone();
            after.customer = keep;
            tx.insert_record(&kept, &after)?;
        }
    }
    if let Some(mark) =
        tx.get::<UnknownCaller>(tables::UNKNOWN_CALLERS, &Key::org(org).u64(keep.0))?
    {
        tx.delete_record(&Key::org(org).u64(keep.0), &mark)?;
    }
    Ok(())
}

/// Keeps the queue's rule that only a customer's newest conversation may be open: after two
/// customers' conversations are put together, an open one that is not the newest is closed.
fn close_all_but_the_newest_conversation(
    tx: &mut Tx<'_>,
    org: OrgId,
    customer: CustomerId,
) -> Result<()> {
    let prefix =
        crate::store::declarations::queue_subject_prefix(org, QueueSubject::Conversation(customer));
    let keys = tx.keys_with_prefix(tables::QUEUE_BY_SUBJECT, &prefix, None, false, usize::MAX)?;
    let Some((_, older)) = keys.split_last() else {
        return Ok(());
    };
    for key in older {
        let item_key = Key::org(org).u64(keys::tail_u64(key));
        if let Some(item) = tx.get::<QueueItem>(tables::QUEUE_ITEMS, &item_key)?
            && item.state == QueueState::Open
        {
            let mut after = item.clone();
            after.state = QueueState::Closed;
            after.closed_at = Some(tx.now());
            after.awaiting_reply_since = None;
            tx.update_record(&item_key, &item, &after)?;
        }
    }
    Ok(())
}

impl Crm {
    /// See [`merge_preview_in`]; reads one snapshot.
    ///
    /// # Errors
    /// See [`merge_preview_in`].
    pub fn merge_preview(
        &self,
        actor: &Actor,
        keep: CustomerId,
        absorb: CustomerId,
    ) -> Result<MergePreview> {
        self.read(|view| merge_preview_in(view, actor, keep, absorb))
    }

    /// See [`Tx::merge_customers`]; one write transaction, durable on return.
    ///
    /// # Errors
    /// See [`Tx::merge_customers`].
    pub fn merge_customers(
        &self,
        actor: &Actor,
        keep: CustomerId,
        absorb: CustomerId,
    ) -> Result<MergePreview> {
        let actor = actor.clone();
        self.write(move |tx| tx.merge_customers(&actor, keep, absorb))
    }
}
