//! Broadcasts (SPEC 5D, issue 13; the PRD's "Broadcast Messaging", section 3.4.4): staff
//! write one text, pick an audience, look at the preview, send a test to their own linked
//! chats, then send it (now or at a set moment) to every customer the audience picks, at a set
//! rate, and read the delivery report.
//!
//! Rules (every use case needs `broadcast`):
//! - the text is 1-3,900 characters (the PRD's limit) and at most 4,096 UTF-16 code units
//!   (Telegram's `sendMessage` limit, which astral characters such as emoji reach first); the
//!   title 1-100 characters; the rate 1-30 messages a second, 10 by default (the PRD's);
//! - a draft is edited, tested, scheduled or started; a scheduled one may still be edited,
//!   started at once, or cancelled back to a draft; a started one is paused, resumed or
//!   cancelled; only drafts and scheduled ones are deleted (a started one keeps its report);
//! - starting picks the audience once, on one snapshot: each customer the bot can reach
//!   (a Telegram account, not marked unreachable) who meets every condition set
//!   ([`Audience`]), written as one [`BroadcastRecipient`] each, `Pending`, in the same
//!   transaction. An audience of nobody is refused (a scheduled one whose audience is empty
//!   when its moment comes finishes with no recipients);
//! - the appliance's broadcast sender hands recipients to the outbox at the broadcast's rate
//!   ([`System::feed_broadcast`](crate::system::System::feed_broadcast)), each in one
//!   transaction with its outbox item, in customer order after the broadcast's cursor, so a
//!   restart continues where it stopped and nobody is handed over twice;
//! - the outbox sends each item at most once ([`OutboxPayload::at_most_once`]): the
//!   attempt is recorded before the call, and an attempt found unanswered after a restart is
//!   given up as `Failed` (it may have arrived), so nobody gets a broadcast twice;
//! - Telegram's answer sets the recipient `Sent`, `Blocked` (403) or `Failed`, and the
//!   report's counts follow in the same transaction; the broadcast is `Finished` when nobody
//!   is pending or queued;
//! - pausing stops the handing over (the few items already in the outbox still go); cancelling
//!   skips every pending recipient;
//! - a test sends the text to every active staff user with the `broadcast` permission and a
//!   linked Telegram account; it changes no recipient.

use std::collections::BTreeSet;

use crate::model::*;
use crate::store::declarations::{account_key, recipient_key};
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::{clean_text, load_org, require};

/// The longest text, in characters (the PRD's limit).
pub const TEXT_MAX_CHARS: usize = 3_900;
/// The longest text in UTF-16 code units (Telegram's limit for `sendMessage`).
pub const TEXT_MAX_UTF16: usize = 4_096;
/// The longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 100;
/// The rate a new broadcast gets, in messages a second (the PRD's).
pub const DEFAULT_RATE: u32 = 10;
/// The highest rate, in messages a second (Telegram's overall limit for a bot).
pub const MAX_RATE: u32 = 30;
/// The longest "active within" filter, in days.
pub const MAX_ACTIVE_DAYS: u32 = 3_650;
/// How many customers a preview names.
pub const PREVIEW_SAMPLE: usize = 10;
/// The nearest moment a broadcast may be scheduled for, in milliseconds from now.
pub const MIN_AHEAD_MS: i64 = 60_000;
/// The farthest, in days.
pub const MAX_AHEAD_DAYS: i64 = 366;
/// The most recipients one page of the report lists.
pub const RECIPIENTS_PAGE_MAX: usize = 500;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What staff write: everything of a broadcast that a draft may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastDraft {
    /// A name for staff, 1-100 characters.
    pub title: String,
    /// The message, 1-3,900 characters.
    pub text: String,
    /// Who gets it.
    pub audience: Audience,
    /// Messages a second, 1-30.
    pub rate_per_second: u32,
}

/// What may be done to a broadcast now, decided here for every adapter (the page's buttons,
/// the API's links, the CLI).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastActions {
    /// Change the title, text, audience or rate.
    pub edit: bool,
    /// Send it to staff's linked chats.
    pub test: bool,
    /// Set (or move) the moment it starts.
    pub schedule: bool,
    /// Start sending now.
    pub start: bool,
    /// Stop handing recipients over.
    pub pause: bool,
    /// Continue after a pause.
    pub resume: bool,
    /// Cancel: a scheduled one goes back to a draft; a started one skips who is left.
    pub cancel: bool,
    /// Delete (drafts and scheduled ones).
    pub delete: bool,
}

/// The actions of a broadcast in its state (to someone with `broadcast`).
pub fn broadcast_actions(broadcast: &Broadcast) -> BroadcastActions {
    let state = broadcast.state;
    let unstarted = matches!(state, BroadcastState::Draft | BroadcastState::Scheduled);
    BroadcastActions {
        edit: unstarted,
        test: true,
        schedule: unstarted,
        start: unstarted,
        pause: state == BroadcastState::Sending,
        resume: state == BroadcastState::Paused,
        cancel: matches!(
            state,
            BroadcastState::Scheduled | BroadcastState::Sending | BroadcastState::Paused
        ),
        delete: unstarted,
    }
}

/// A broadcast with what may be done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastView {
    /// The broadcast.
    pub broadcast: Broadcast,
    /// Its actions.
    pub actions: BroadcastActions,
}

/// What an audience would pick now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudiencePreview {
    /// How many customers.
    pub count: u64,
    /// The first few of them (by customer number), with their names.
    pub sample: Vec<(CustomerId, String)>,
}

/// One line of the delivery report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    /// The customer.
    pub customer: CustomerId,
    /// Their name, or `None` when the customer is gone (merged away).
    pub name: Option<String>,
    /// Where their message stands.
    pub state: RecipientState,
}

/// A page of the delivery report, in customer order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientPage {
    /// The rows.
    pub rows: Vec<RecipientRow>,
    /// The customer to continue after, when there may be more.
    pub next: Option<CustomerId>,
}

/// A broadcast the sender has work in, as the appliance's broadcast sender reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveBroadcast {
    /// Its organization.
    pub org: OrgId,
    /// Its id.
    pub id: BroadcastId,
    /// Scheduled (to start at `scheduled_at`) or sending.
    pub state: BroadcastState,
    /// Messages a second.
    pub rate_per_second: u32,
    /// When a scheduled one starts.
    pub scheduled_at: Option<Timestamp>,
    /// Recipients in the outbox, not answered yet (the sender waits while the outbox lags).
    pub queued: u64,
}

fn key(org: OrgId, id: BroadcastId) -> Key {
    Key::org(org).u64(id.0)
}

fn load(view: &impl View, org: OrgId, id: BroadcastId) -> Result<Broadcast> {
    view.get(tables::BROADCASTS, &key(org, id))?
        .ok_or_else(|| Error::not_found(BroadcastId::LABEL, id))
}

/// Checks a draft: the module's length, rate and audience rules.
fn clean_draft(view: &impl View, org: OrgId, draft: BroadcastDraft) -> Result<BroadcastDraft> {
    let title = clean_text("title", &draft.title, 1, TITLE_MAX_CHARS)?;
    let text = clean_text("text", &draft.text, 1, TEXT_MAX_CHARS)?;
    let units = text.encode_utf16().count();
    if units > TEXT_MAX_UTF16 {
        return Err(Error::invalid(
            "text",
            format!(
                "is {units} UTF-16 code units long; Telegram takes at most {TEXT_MAX_UTF16} (emoji count twice)"
            ),
        ));
    }
    if !(1..=MAX_RATE).contains(&draft.rate_per_second) {
        return Err(Error::invalid(
            "rate_per_second",
            format!("must be 1 to {MAX_RATE} messages a second"),
        ));
    }
    let audience = clean_audience(view, org, draft.audience)?;
    Ok(BroadcastDraft {
        title,
        text,
        audience,
        rate_per_second: draft.rate_per_second,
    })
}

/// Checks an audience: a balance range that is a range, days within bounds, token conditions
/// only where the tokens module runs; repeated languages are dropped.
fn clean_audience(view: &impl View, org: OrgId, audience: Audience) -> Result<Audience> {
    if let (Some(min), Some(max)) = (audience.balance_min, audience.balance_max)
        && min > max
    {
        return Err(Error::invalid(
            "balance_max",
            "must not be below the lowest balance",
        ));
    }
    if let Some(days) = audience.active_within_days
        && !(1..=MAX_ACTIVE_DAYS).contains(&days)
    {
        return Err(Error::invalid(
            "active_within_days",
            format!("must be 1 to {MAX_ACTIVE_DAYS} days"),
        ));
    }
    let wants_tokens = audience.subscribers.is_some()
        || audience.balance_min.is_some()
        || audience.balance_max.is_some();
    if wants_tokens && !load_org(view, org)?.modules.contains(Module::Tokens) {
        return Err(Error::invalid(
            "audience",
            "subscription and balance conditions need the tokens module",
        ));
    }
    let mut seen = BTreeSet::new();
    let languages = audience
        .languages
        .into_iter()
        .filter(|language| seen.insert(language.code()))
        .collect();
    Ok(Audience {
        languages,
        ..audience
    })
}

/// Whether `customer` is one the audience picks at `now` (the module's rules).
fn picks(
    view: &impl View,
    org: OrgId,
    audience: &Audience,
    customer: &Customer,
    now: Timestamp,
) -> Result<bool> {
    if customer.telegram_id.is_none() || customer.unreachable {
        return Ok(false);
    }
    if !audience.languages.is_empty() && !audience.languages.contains(&customer.language) {
        return Ok(false);
    }
    if let Some(days) = audience.active_within_days
        && customer.last_activity_at.0 < now.0 - i64::from(days) * DAY_MS
    {
        return Ok(false);
    }
    if audience.subscribers.is_some()
        || audience.balance_min.is_some()
        || audience.balance_max.is_some()
    {
        let account: Option<TokenAccount> =
            view.get(tables::TOKEN_ACCOUNTS, &account_key(org, customer.id))?;
        let balance = account.as_ref().map_or(0, |account| account.balance);
        let subscribed = account
            .as_ref()
            .and_then(|account| account.premium_until)
            .is_some_and(|until| until > now);
        if audience
            .subscribers
            .is_some_and(|wanted| wanted != subscribed)
        {
            return Ok(false);
        }
        if audience
            .balance_min
            .is_some_and(|min| balance < i64::try_from(min).unwrap_or(i64::MAX))
            || audience
                .balance_max
                .is_some_and(|max| balance > i64::try_from(max).unwrap_or(i64::MAX))
        {
            return Ok(false);
        }
    }
    if let Some(wanted) = audience.has_ordered {
        let ordered = !view
            .keys_with_prefix(
                tables::ORDERS_BY_CUSTOMER,
                &Key::org(org).u64(customer.id.0),
                None,
                false,
                1,
            )?
            .is_empty();
        if ordered != wanted {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every customer the audience picks at `now`, in customer order (one scan of the
/// organization's customers).
fn pick_audience(view: &impl View, org: OrgId, audience: &Audience) -> Result<Vec<Customer>> {
    let now = view.now();
    let mut picked = Vec::new();
    let mut failure = None;
    view.for_each_prefix(tables::CUSTOMERS, &Key::org(org), |_, value| {
        let customer: Customer = crate::store::codec::decode(value)?;
        match picks(view, org, audience, &customer, now) {
            Ok(true) => picked.push(customer),
            Ok(false) => {}
            Err(error) => {
                failure = Some(error);
                return Ok(false);
            }
        }
        Ok(true)
    })?;
    match failure {
        Some(error) => Err(error),
        None => Ok(picked),
    }
}

/// Every broadcast of the organization, newest first, with its actions. Needs `broadcast`.
///
/// # Errors
/// Permission denied.
pub fn broadcasts_in(view: &impl View, actor: &Actor) -> Result<Vec<BroadcastView>> {
    require(view, actor, Permission::Broadcast)?;
    let mut all: Vec<Broadcast> =
        view.records_with_prefix(tables::BROADCASTS, &Key::org(actor.org))?;
    all.reverse();
    Ok(all
        .into_iter()
        .map(|broadcast| BroadcastView {
            actions: broadcast_actions(&broadcast),
            broadcast,
        })
        .collect())
}

/// One broadcast with its actions. Needs `broadcast`.
///
/// # Errors
/// Not found; permission denied.
pub fn broadcast_in(view: &impl View, actor: &Actor, id: BroadcastId) -> Result<BroadcastView> {
    require(view, actor, Permission::Broadcast)?;
    let broadcast = load(view, actor.org, id)?;
    Ok(BroadcastView {
        actions: broadcast_actions(&broadcast),
        broadcast,
    })
}

/// How many customers `audience` picks now, with the first few. Needs `broadcast`.
///
/// # Errors
/// Permission denied; invalid input as [`Tx::create_broadcast`] checks the audience.
pub fn audience_preview_in(
    view: &impl View,
    actor: &Actor,
    audience: Audience,
) -> Result<AudiencePreview> {
    require(view, actor, Permission::Broadcast)?;
    let audience = clean_audience(view, actor.org, audience)?;
    let picked = pick_audience(view, actor.org, &audience)?;
    Ok(AudiencePreview {
        count: picked.len() as u64,
        sample: picked
            .iter()
            .take(PREVIEW_SAMPLE)
            .map(|customer| (customer.id, customer.full_name()))
            .collect(),
    })
}

/// What the broadcast form offers (the web's new and edit pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BroadcastSetup {
    /// Whether subscription and balance conditions may be set (the tokens module runs; see
    /// [`Tx::create_broadcast`]).
    pub token_conditions: bool,
}

/// The form's options. Needs `broadcast`.
///
/// # Errors
/// Permission denied.
pub fn broadcast_setup_in(view: &impl View, actor: &Actor) -> Result<BroadcastSetup> {
    require(view, actor, Permission::Broadcast)?;
    Ok(BroadcastSetup {
        token_conditions: load_org(view, actor.org)?.modules.contains(Module::Tokens),
    })
}

/// A page of a broadcast's delivery report: recipients after `after` (in customer order),
/// only those in state `state` (a [`RecipientState::as_str`] name) when given, at most
/// `limit` (1-500). Needs `broadcast`.
///
/// # Errors
/// Not found; permission denied; invalid input on `state` or `limit`.
pub fn broadcast_recipients_in(
    view: &impl View,
    actor: &Actor,
    id: BroadcastId,
    state: Option<&str>,
    after: Option<CustomerId>,
    limit: usize,
) -> Result<RecipientPage> {
    require(view, actor, Permission::Broadcast)?;
    load(view, actor.org, id)?;
    const STATES: &[&str] = &["pending", "queued", "sent", "failed", "blocked", "skipped"];
    if let Some(state) = state
        && !STATES.contains(&state)
    {
        return Err(Error::invalid(
            "state",
            format!("must be one of {}", STATES.join(", ")),
        ));
    }
    if !(1..=RECIPIENTS_PAGE_MAX).contains(&limit) {
        return Err(Error::invalid(
            "limit",
            format!("must be 1 to {RECIPIENTS_PAGE_MAX}"),
        ));
    }
    let mut found: Vec<BroadcastRecipient> = Vec::new();
    let mut more = false;
    for_each_recipient_after(view, actor.org, id, after, |recipient| {
        if state.is_none_or(|state| recipient.state.as_str() == state) {
            if found.len() == limit {
                more = true;
                return Ok(false);
            }
            found.push(recipient);
        }
        Ok(true)
    })?;
    let mut rows = Vec::with_capacity(found.len());
    for recipient in found {
        let name = super::orders::rows::stored_customer_name(view, actor.org, recipient.customer)?;
        rows.push(RecipientRow {
            customer: recipient.customer,
            name,
            state: recipient.state,
        });
    }
    let next = if more {
        rows.last().map(|row| row.customer)
    } else {
        None
    };
    Ok(RecipientPage { rows, next })
}

/// Broadcasts scheduled or sending, in every organization (the sender's round).
///
/// # Errors
/// Storage only.
pub(crate) fn active_broadcasts_in(view: &impl View) -> Result<Vec<ActiveBroadcast>> {
    let mut keys = Vec::new();
    view.scan(
        tables::BROADCASTS_ACTIVE,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        false,
        |key, _| {
            keys.push(key.to_vec());
            Ok(true)
        },
    )?;
    // A disabled organization's broadcasts wait where they are (issue 14).
    let disabled = super::tenants::disabled_in(view)?;
    let mut active = Vec::with_capacity(keys.len());
    for entry in keys {
        let org = OrgId(keys::read_u64(&entry, 0));
        if disabled.contains(&org) {
            continue;
        }
        let id = BroadcastId(keys::tail_u64(&entry));
        let broadcast = load(view, org, id)?;
        active.push(ActiveBroadcast {
            org,
            id,
            state: broadcast.state,
            rate_per_second: broadcast.rate_per_second,
            scheduled_at: broadcast.scheduled_at,
            queued: broadcast.counts.queued,
        });
    }
    Ok(active)
}

/// Moves a broadcast from `before` to `after`, keeping `updated_at`.
fn save(
    tx: &mut Tx<'_>,
    org: OrgId,
    before: &Broadcast,
    mut after: Broadcast,
) -> Result<Broadcast> {
    after.updated_at = tx.now();
    tx.update_record(&key(org, before.id), before, &after)?;
    tx.changed(org, Subject::Broadcast(before.id), ChangeKind::Updated)?;
    Ok(after)
}

fn audit(
    tx: &mut Tx<'_>,
    actor: &Actor,
    action: AuditAction,
    id: BroadcastId,
    detail: String,
) -> Result<()> {
    tx.audit(
        actor,
        action,
        Subject::Broadcast(id),
        AuditDetail::Text(detail),
    )
}

fn conflict(broadcast: &Broadcast, what: &str) -> Error {
    Error::conflict(format!(
        "broadcast {} is {}: it cannot be {what}",
        broadcast.id,
        broadcast.state.as_str()
    ))
}

impl Tx<'_> {
    /// Writes a draft (the module's rules). Audited (`broadcast.created`).
    ///
    /// # Errors
    /// Permission denied; invalid input on `title`, `text`, `rate_per_second` or the audience.
    pub fn create_broadcast(&mut self, actor: &Actor, draft: BroadcastDraft) -> Result<Broadcast> {
        let resolved = require(self, actor, Permission::Broadcast)?;
        let Some(author) = resolved.user_id() else {
            return Err(Error::forbidden("only staff write broadcasts"));
        };
        let draft = clean_draft(self, actor.org, draft)?;
        let id = BroadcastId(self.next_id(actor.org, "broadcast")?);
        let now = self.now();
        let broadcast = Broadcast {
            id,
            title: draft.title,
            text: draft.text,
            audience: draft.audience,
            rate_per_second: draft.rate_per_second,
            state: BroadcastState::Draft,
            scheduled_at: None,
            author,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            counts: BroadcastCounts::default(),
            cursor: None,
            test_sends: 0,
        };
        self.insert_record(&key(actor.org, id), &broadcast)?;
        audit(
            self,
            actor,
            AuditAction::BroadcastCreated,
            id,
            broadcast.title.clone(),
        )?;
        self.changed(actor.org, Subject::Broadcast(id), ChangeKind::Created)?;
        Ok(broadcast)
    }

    /// Changes a draft or a scheduled broadcast. Audited (`broadcast.updated`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input as [`Tx::create_broadcast`]; conflict once
    /// it started.
    pub fn update_broadcast(
        &mut self,
        actor: &Actor,
        id: BroadcastId,
        draft: BroadcastDraft,
    ) -> Result<Broadcast> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        if !broadcast_actions(&before).edit {
            return Err(conflict(&before, "edited"));
        }
        let draft = clean_draft(self, actor.org, draft)?;
        let after = Broadcast {
            title: draft.title,
            text: draft.text,
            audience: draft.audience,
            rate_per_second: draft.rate_per_second,
            ..before.clone()
        };
        audit(
            self,
            actor,
            AuditAction::BroadcastUpdated,
            id,
            after.title.clone(),
        )?;
        save(self, actor.org, &before, after)
    }

    /// Deletes a draft or a scheduled broadcast. Audited (`broadcast.deleted`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict once it started.
    pub fn delete_broadcast(&mut self, actor: &Actor, id: BroadcastId) -> Result<()> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        if !broadcast_actions(&before).delete {
            return Err(conflict(&before, "deleted"));
        }
        self.delete_record(&key(actor.org, id), &before)?;
        audit(
            self,
            actor,
            AuditAction::BroadcastDeleted,
            id,
            before.title.clone(),
        )?;
        self.changed(actor.org, Subject::Broadcast(id), ChangeKind::Deleted)?;
        Ok(())
    }

    /// Sends the text to every active staff user with `broadcast` and a linked Telegram
    /// account (the PRD's test mode); no recipient changes. Answers how many chats. Audited
    /// (`broadcast.tested`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict when no such staff user has linked Telegram.
    pub fn test_broadcast(&mut self, actor: &Actor, id: BroadcastId) -> Result<usize> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        let staff = super::team::linked_staff_with(self, actor.org, Permission::Broadcast)?;
        if staff.is_empty() {
            return Err(Error::conflict(
                "nobody with the broadcast permission has linked a Telegram account: link yours on your profile page first",
            ));
        }
        for user in &staff {
            self.enqueue(
                actor.org,
                Recipient::Staff(user.id),
                OutboxPayload::Broadcast {
                    broadcast: id,
                    text: before.text.clone(),
                },
            )?;
        }
        let mut after = before.clone();
        after.test_sends = after.test_sends.saturating_add(1);
        audit(
            self,
            actor,
            AuditAction::BroadcastTested,
            id,
            format!("test sent to {} staff chats", staff.len()),
        )?;
        save(self, actor.org, &before, after)?;
        Ok(staff.len())
    }

    /// Sets the moment a draft (or a scheduled broadcast) starts: at least a minute and at
    /// most 366 days ahead. Audited (`broadcast.scheduled`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `scheduled_at`; conflict once it
    /// started.
    pub fn schedule_broadcast(
        &mut self,
        actor: &Actor,
        id: BroadcastId,
        at: Timestamp,
    ) -> Result<Broadcast> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        if !broadcast_actions(&before).schedule {
            return Err(conflict(&before, "scheduled"));
        }
        let now = self.now();
        if at.0 < now.0 + MIN_AHEAD_MS || at.0 > now.0 + MAX_AHEAD_DAYS * DAY_MS {
            return Err(Error::invalid(
                "scheduled_at",
                "schedule a broadcast at least a minute and at most 366 days ahead",
            ));
        }
        let after = Broadcast {
            state: BroadcastState::Scheduled,
            scheduled_at: Some(at),
            ..before.clone()
        };
        audit(
            self,
            actor,
            AuditAction::BroadcastScheduled,
            id,
            format!("for {}", at.to_rfc3339()),
        )?;
        save(self, actor.org, &before, after)
    }

    /// Starts a draft or a scheduled broadcast now: picks its audience and writes a pending
    /// recipient for each (the module's rules). Audited (`broadcast.started`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict once it started, or when the audience picks
    /// nobody.
    pub fn start_broadcast(&mut self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        if !broadcast_actions(&before).start {
            return Err(conflict(&before, "started"));
        }
        let after = start(self, actor, &before)?;
        if after.counts.recipients == 0 {
            return Err(Error::conflict(
                "the audience picks nobody: no customer the bot can reach meets every condition",
            ));
        }
        Ok(after)
    }

    /// Pauses a sending broadcast. Audited (`broadcast.paused`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict when it is not sending.
    pub fn pause_broadcast(&mut self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        if !broadcast_actions(&before).pause {
            return Err(conflict(&before, "paused"));
        }
        let after = Broadcast {
            state: BroadcastState::Paused,
            ..before.clone()
        };
        audit(
            self,
            actor,
            AuditAction::BroadcastPaused,
            id,
            format!(
                "{} of {} left",
                before.counts.pending, before.counts.recipients
            ),
        )?;
        save(self, actor.org, &before, after)
    }

    /// Resumes a paused broadcast. Audited (`broadcast.resumed`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict when it is not paused.
    pub fn resume_broadcast(&mut self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        if !broadcast_actions(&before).resume {
            return Err(conflict(&before, "resumed"));
        }
        let mut after = Broadcast {
            state: BroadcastState::Sending,
            ..before.clone()
        };
        finish_if_done(self.now(), &mut after);
        audit(
            self,
            actor,
            AuditAction::BroadcastResumed,
            id,
            format!(
                "{} of {} left",
                before.counts.pending, before.counts.recipients
            ),
        )?;
        save(self, actor.org, &before, after)
    }

    /// Cancels a broadcast: a scheduled one goes back to a draft; a started one skips every
    /// recipient not handed over yet. Audited (`broadcast.cancelled`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict when it is a draft or over.
    pub fn cancel_broadcast(&mut self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        require(self, actor, Permission::Broadcast)?;
        let before = load(self, actor.org, id)?;
        if !broadcast_actions(&before).cancel {
            return Err(conflict(&before, "cancelled"));
        }
        let now = self.now();
        let mut after = before.clone();
        if before.state == BroadcastState::Scheduled {
            after.state = BroadcastState::Draft;
            after.scheduled_at = None;
        } else {
            let pending = pending_after(self, actor.org, id, before.cursor, usize::MAX)?;
            for recipient in &pending {
                let skipped = BroadcastRecipient {
                    state: RecipientState::Skipped,
                    ..recipient.clone()
                };
                self.update_record(
                    &recipient_key(actor.org, id, recipient.customer),
                    recipient,
                    &skipped,
                )?;
            }
            after.counts.skipped += after.counts.pending;
            after.counts.pending = 0;
            after.state = BroadcastState::Cancelled;
            after.finished_at = Some(now);
        }
        audit(
            self,
            actor,
            AuditAction::BroadcastCancelled,
            id,
            format!("{} recipients skipped", before.counts.pending),
        )?;
        save(self, actor.org, &before, after)
    }

    /// Hands up to `count` pending recipients of a sending broadcast to the outbox (the
    /// module's rules): a customer gone, without Telegram or unreachable is answered for at
    /// once (skipped or blocked) without using the count. Answers how many went to the outbox.
    pub(crate) fn feed_broadcast(
        &mut self,
        org: OrgId,
        id: BroadcastId,
        count: usize,
    ) -> Result<usize> {
        let Some(before) = self.get::<Broadcast>(tables::BROADCASTS, &key(org, id))? else {
            return Ok(0);
        };
        if before.state != BroadcastState::Sending
            || count == 0
            || !super::tenants::is_enabled_in(self, org)?
        {
            return Ok(0);
        }
        // Skipped recipients do not use the count, but a round reads a bounded number.
        let pending = pending_after(self, org, id, before.cursor, count.saturating_add(1_000))?;
        let mut after = before.clone();
        let mut fed = 0;
        let mut read = 0;
        for recipient in &pending {
            if fed == count {
                break;
            }
            read += 1;
            let customer: Option<Customer> =
                self.get(tables::CUSTOMERS, &Key::org(org).u64(recipient.customer.0))?;
            let state = match customer {
                Some(customer) if customer.telegram_id.is_some() && !customer.unreachable => {
                    let item = self.enqueue(
                        org,
                        Recipient::Customer(customer.id),
                        OutboxPayload::Broadcast {
                            broadcast: id,
                            text: before.text.clone(),
                        },
                    )?;
                    fed += 1;
                    after.counts.queued += 1;
                    RecipientState::Queued(item)
                }
                Some(customer) if customer.unreachable => {
                    after.counts.blocked += 1;
                    RecipientState::Blocked
                }
                _ => {
                    after.counts.skipped += 1;
                    RecipientState::Skipped
                }
            };
            after.counts.pending = after.counts.pending.saturating_sub(1);
            after.cursor = Some(recipient.customer);
            self.update_record(
                &recipient_key(org, id, recipient.customer),
                recipient,
                &BroadcastRecipient {
                    state,
                    ..recipient.clone()
                },
            )?;
        }
        if read == 0 && pending.is_empty() {
            // Nothing left to hand over (the count says so too, unless it drifted).
            after.counts.pending = 0;
        }
        finish_if_done(self.now(), &mut after);
        if after != before {
            save(self, org, &before, after)?;
        }
        Ok(fed)
    }

    /// Starts the scheduled broadcasts whose moment came (the sender's round), as the system;
    /// one whose audience is empty then finishes with no recipients. Answers how many started.
    pub(crate) fn start_due_broadcasts(&mut self, now: Timestamp) -> Result<usize> {
        let mut started = 0;
        for active in active_broadcasts_in(self)? {
            if active.state != BroadcastState::Scheduled
                || active.scheduled_at.is_none_or(|at| at > now)
            {
                continue;
            }
            let before = load(self, active.org, active.id)?;
            start(self, &Actor::system(active.org), &before)?;
            started += 1;
        }
        Ok(started)
    }
}

/// Calls `f` with each recipient of a broadcast after customer `after` (all when `None`), in
/// customer order, until it answers `false`: the one scan the report and the hand-over share.
fn for_each_recipient_after(
    view: &impl View,
    org: OrgId,
    id: BroadcastId,
    after: Option<CustomerId>,
    mut f: impl FnMut(BroadcastRecipient) -> Result<bool>,
) -> Result<()> {
    let prefix = Key::org(org).u64(id.0);
    let start = after.map(|after| recipient_key(org, id, after));
    let end = keys::prefix_end(prefix.as_slice());
    let lower = match &start {
        Some(start) => std::ops::Bound::Excluded(start.as_slice()),
        None => std::ops::Bound::Included(prefix.as_slice()),
    };
    let upper = end
        .as_deref()
        .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
    view.scan(
        tables::BROADCAST_RECIPIENTS,
        (lower, upper),
        false,
        |_, value| f(crate::store::codec::decode(value)?),
    )
}

/// The pending recipients of a broadcast after `cursor`, in customer order, at most `limit`.
fn pending_after(
    view: &impl View,
    org: OrgId,
    id: BroadcastId,
    cursor: Option<CustomerId>,
    limit: usize,
) -> Result<Vec<BroadcastRecipient>> {
    let mut found = Vec::new();
    if limit == 0 {
        return Ok(found);
    }
    for_each_recipient_after(view, org, id, cursor, |recipient| {
        if recipient.state == RecipientState::Pending {
            found.push(recipient);
        }
        Ok(found.len() < limit)
    })?;
    Ok(found)
}

/// Finishes a sending broadcast when nobody is pending or queued.
fn finish_if_done(now: Timestamp, broadcast: &mut Broadcast) {
    if broadcast.state == BroadcastState::Sending && broadcast.counts.open() == 0 {
        broadcast.state = BroadcastState::Finished;
        broadcast.finished_at = Some(now);
    }
}

/// Picks the audience of `before` and writes its recipients; the broadcast becomes sending
/// (or finished at once with nobody).
fn start(tx: &mut Tx<'_>, actor: &Actor, before: &Broadcast) -> Result<Broadcast> {
    let org = actor.org;
    let picked = pick_audience(tx, org, &before.audience)?;
    for customer in &picked {
        tx.insert_record(
            &recipient_key(org, before.id, customer.id),
            &BroadcastRecipient {
                broadcast: before.id,
                customer: customer.id,
                state: RecipientState::Pending,
            },
        )?;
    }
    let now = tx.now();
    let count = picked.len() as u64;
    let mut after = Broadcast {
        state: BroadcastState::Sending,
        scheduled_at: None,
        started_at: Some(now),
        counts: BroadcastCounts {
            recipients: count,
            pending: count,
            ..BroadcastCounts::default()
        },
        cursor: None,
        ..before.clone()
    };
    finish_if_done(now, &mut after);
    audit(
        tx,
        actor,
        AuditAction::BroadcastStarted,
        before.id,
        format!(
            "to {count} recipients at {} a second",
            before.rate_per_second
        ),
    )?;
    save(tx, org, before, after)
}

/// The outbox's answer for a broadcast item (called by `outbox_delivered` and
/// `outbox_failed` in their transactions): the recipient's state and the report follow.
/// Test sends to staff change nothing.
pub(crate) fn on_outbox_answered(
    tx: &mut Tx<'_>,
    org: OrgId,
    item: &OutboxItem,
    failure: Option<&DeliveryFailure>,
) -> Result<()> {
    let (OutboxPayload::Broadcast { broadcast, .. }, Recipient::Customer(customer)) =
        (&item.payload, &item.recipient)
    else {
        return Ok(());
    };
    let recipient_at = recipient_key(org, *broadcast, *customer);
    let Some(before) = tx.get::<BroadcastRecipient>(tables::BROADCAST_RECIPIENTS, &recipient_at)?
    else {
        return Ok(());
    };
    if before.state != RecipientState::Queued(item.id) {
        return Ok(());
    }
    let Some(broadcast_before) = tx.get::<Broadcast>(tables::BROADCASTS, &key(org, *broadcast))?
    else {
        return Ok(());
    };
    let mut after = broadcast_before.clone();
    after.counts.queued = after.counts.queued.saturating_sub(1);
    let state = match (&item.state, failure) {
        (
            OutboxState::Delivered {
                telegram_message_id,
                at,
            },
            _,
        ) => {
            after.counts.sent += 1;
            RecipientState::Sent {
                telegram_message_id: *telegram_message_id,
                at: *at,
            }
        }
        (_, Some(DeliveryFailure::Blocked { .. })) => {
            after.counts.blocked += 1;
            RecipientState::Blocked
        }
        (_, failure) => {
            after.counts.failed += 1;
            RecipientState::Failed {
                reason: failure
                    .map_or("not delivered", DeliveryFailure::reason)
                    .to_string(),
            }
        }
    };
    tx.update_record(
        &recipient_at,
        &before,
        &BroadcastRecipient {
            state,
            ..before.clone()
        },
    )?;
    finish_if_done(tx.now(), &mut after);
    save(tx, org, &broadcast_before, after)?;
    Ok(())
}

impl crate::system::System<'_> {
    /// Broadcasts scheduled or sending, in every organization (the appliance's broadcast
    /// sender reads them every round).
    ///
    /// # Errors
    /// Storage only.
    pub fn active_broadcasts(&self) -> Result<Vec<ActiveBroadcast>> {
        self.crm.read(active_broadcasts_in)
    }

    /// Hands up to `count` pending recipients of a sending broadcast to the outbox, in one
    /// transaction (see the module's rules); answers how many went. A broadcast no longer
    /// sending answers 0.
    ///
    /// # Errors
    /// Storage only.
    pub fn feed_broadcast(&self, org: OrgId, id: BroadcastId, count: usize) -> Result<usize> {
        self.crm.write(move |tx| tx.feed_broadcast(org, id, count))
    }

    /// Starts the scheduled broadcasts whose moment (by `now`) came; answers how many.
    ///
    /// # Errors
    /// Storage only.
    pub fn start_due_broadcasts(&self, now: Timestamp) -> Result<usize> {
        self.crm.write(move |tx| tx.start_due_broadcasts(now))
    }
}

impl Crm {
    /// See [`Tx::create_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::create_broadcast`].
    pub fn create_broadcast(&self, actor: &Actor, draft: BroadcastDraft) -> Result<Broadcast> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_broadcast(&actor, draft))
    }

    /// See [`Tx::update_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::update_broadcast`].
    pub fn update_broadcast(
        &self,
        actor: &Actor,
        id: BroadcastId,
        draft: BroadcastDraft,
    ) -> Result<Broadcast> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_broadcast(&actor, id, draft))
    }

    /// See [`Tx::delete_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::delete_broadcast`].
    pub fn delete_broadcast(&self, actor: &Actor, id: BroadcastId) -> Result<()> {
        let actor = actor.clone();
        self.write(move |tx| tx.delete_broadcast(&actor, id))
    }

    /// See [`Tx::test_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::test_broadcast`].
    pub fn test_broadcast(&self, actor: &Actor, id: BroadcastId) -> Result<usize> {
        let actor = actor.clone();
        self.write(move |tx| tx.test_broadcast(&actor, id))
    }

    /// See [`Tx::schedule_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::schedule_broadcast`].
    pub fn schedule_broadcast(
        &self,
        actor: &Actor,
        id: BroadcastId,
        at: Timestamp,
    ) -> Result<Broadcast> {
        let actor = actor.clone();
        self.write(move |tx| tx.schedule_broadcast(&actor, id, at))
    }

    /// See [`Tx::start_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::start_broadcast`].
    pub fn start_broadcast(&self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        let actor = actor.clone();
        self.write(move |tx| tx.start_broadcast(&actor, id))
    }

    /// See [`Tx::pause_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::pause_broadcast`].
    pub fn pause_broadcast(&self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        let actor = actor.clone();
        self.write(move |tx| tx.pause_broadcast(&actor, id))
    }

    /// See [`Tx::resume_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::resume_broadcast`].
    pub fn resume_broadcast(&self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        let actor = actor.clone();
        self.write(move |tx| tx.resume_broadcast(&actor, id))
    }

    /// See [`Tx::cancel_broadcast`].
    ///
    /// # Errors
    /// See [`Tx::cancel_broadcast`].
    pub fn cancel_broadcast(&self, actor: &Actor, id: BroadcastId) -> Result<Broadcast> {
        let actor = actor.clone();
        self.write(move |tx| tx.cancel_broadcast(&actor, id))
    }

    /// See [`broadcasts_in`].
    ///
    /// # Errors
    /// See [`broadcasts_in`].
    pub fn broadcasts(&self, actor: &Actor) -> Result<Vec<BroadcastView>> {
        self.read(|view| broadcasts_in(view, actor))
    }

    /// See [`broadcast_in`].
    ///
    /// # Errors
    /// See [`broadcast_in`].
    pub fn broadcast(&self, actor: &Actor, id: BroadcastId) -> Result<BroadcastView> {
        self.read(|view| broadcast_in(view, actor, id))
    }

    /// See [`audience_preview_in`].
    ///
    /// # Errors
    /// See [`audience_preview_in`].
    pub fn audience_preview(&self, actor: &Actor, audience: Audience) -> Result<AudiencePreview> {
        self.read(|view| audience_preview_in(view, actor, audience))
    }

    /// See [`broadcast_recipients_in`].
    ///
    /// # Errors
    /// See [`broadcast_recipients_in`].
    pub fn broadcast_recipients(
        &self,
        actor: &Actor,
        id: BroadcastId,
        state: Option<&str>,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<RecipientPage> {
        self.read(|view| broadcast_recipients_in(view, actor, id, state, after, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broadcast(state: BroadcastState) -> Broadcast {
        Broadcast {
            id: BroadcastId(1),
            title: "t".into(),
            text: "x".into(),
            audience: Audience::default(),
            rate_per_second: DEFAULT_RATE,
            state,
            scheduled_at: None,
            author: UserId(1),
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            started_at: None,
            finished_at: None,
            counts: BroadcastCounts::default(),
            cursor: None,
            test_sends: 0,
        }
    }

    #[test]
    fn only_unstarted_broadcasts_are_edited_and_deleted_and_only_started_ones_paused_or_resumed() {
        let draft = broadcast_actions(&broadcast(BroadcastState::Draft));
        assert!(draft.edit && draft.start && draft.schedule && draft.delete && !draft.cancel);
        let sending = broadcast_actions(&broadcast(BroadcastState::Sending));
        assert!(sending.pause && sending.cancel && !sending.resume && !sending.edit);
        let paused = broadcast_actions(&broadcast(BroadcastState::Paused));
        assert!(paused.resume && paused.cancel && !paused.pause && !paused.delete);
        let finished = broadcast_actions(&broadcast(BroadcastState::Finished));
        assert_eq!(
            finished,
            BroadcastActions {
                test: true,
                ..BroadcastActions::default()
            }
        );
    }

    #[test]
    fn a_sending_broadcast_finishes_when_nobody_is_pending_or_queued() {
        let mut sending = broadcast(BroadcastState::Sending);
        sending.counts.queued = 1;
        finish_if_done(Timestamp(5), &mut sending);
        assert_eq!(sending.state, BroadcastState::Sending);
        sending.counts.queued = 0;
        finish_if_done(Timestamp(5), &mut sending);
        assert_eq!(sending.state, BroadcastState::Finished);
        assert_eq!(sending.finished_at, Some(Timestamp(5)));
        let mut paused = broadcast(BroadcastState::Paused);
        finish_if_done(Timestamp(5), &mut paused);
        assert_eq!(paused.state, BroadcastState::Paused);
    }
}
