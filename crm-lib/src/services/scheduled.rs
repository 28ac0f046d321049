//! Scheduled messages (SPEC 5F "Scheduled messages and broadcasts", issue 13): staff write a
//! message to a customer now and it is sent at a chosen moment, kept in the data file across
//! restarts.
//!
//! Rules:
//! - scheduling needs what sending needs (`chat_customers`, or a chat grant of the customer's
//!   order); the text is 1-4096 characters; the moment at least a minute ahead and at most
//!   366 days ahead;
//! - the `scheduled_messages` job (every minute, in every organization) sends each waiting
//!   message whose moment came, oldest first, up to [`SEND_BATCH`] per run: the message is
//!   posted as its author through [`Tx::post_outbound`] (every rule of sending applies then:
//!   a customer who blocked the bot, an author who lost the right, leave it `Failed` with the
//!   reason, and nothing else is written) in the same transaction as the job's slot, so a
//!   message is sent once even across a kill -9;
//! - a waiting message may be cancelled by anyone who may write to the customer.

use crate::chat::OutboundMessage;
use crate::jobs::Slot;
use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::{clean_text, load_customer, resolve};

/// The most messages one run of the job sends; the rest go in the next minute.
pub const SEND_BATCH: usize = 200;

/// The nearest moment a message may be scheduled for, in milliseconds from now (a minute).
pub const MIN_AHEAD_MS: i64 = 60_000;

/// The farthest, in days.
pub const MAX_AHEAD_DAYS: i64 = 366;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A message to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewScheduled {
    /// To whom.
    pub customer: CustomerId,
    /// The text, 1-4096 characters.
    pub text: String,
    /// When to send it.
    pub send_at: Timestamp,
}

fn load(view: &impl View, org: OrgId, id: u64) -> Result<ScheduledMessage> {
    view.get(tables::SCHEDULED_MESSAGES, &Key::org(org).u64(id))?
        .ok_or_else(|| Error::not_found("scheduled message", id))
}

/// Whether `actor` may write to `customer` (what sending needs).
fn may_write(view: &impl View, actor: &Actor, customer: CustomerId) -> Result<UserId> {
    let resolved = resolve(view, actor)?;
    let Some(user) = resolved.user_id() else {
        return Err(Error::forbidden("only staff schedule messages"));
    };
    if !super::orders::may_chat(view, actor.org, &resolved, None)? {
        return Err(Error::denied(
            Permission::ChatCustomers,
            format!("{} lacks the chat_customers permission", actor.who),
        ));
    }
    load_customer(view, actor.org, customer)?;
    Ok(user)
}

/// A customer's scheduled messages, the waiting ones first by their moment, then the others
/// newest first (at most 50 of those). Needs what sending needs.
///
/// # Errors
/// Not found for an unknown customer; permission denied.
pub fn scheduled_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
) -> Result<Vec<ScheduledMessage>> {
    may_write(view, actor, customer)?;
    let mut all: Vec<ScheduledMessage> = view.records_by_index(
        actor.org,
        tables::SCHEDULED_BY_CUSTOMER,
        &Key::org(actor.org).u64(customer.0),
        tables::SCHEDULED_MESSAGES,
    )?;
    let (mut waiting, mut done): (Vec<_>, Vec<_>) =
        all.drain(..).partition(ScheduledMessage::is_waiting);
    waiting.sort_by_key(|message| (message.send_at, message.id));
    done.sort_by_key(|message| std::cmp::Reverse(message.id));
    done.truncate(50);
    waiting.extend(done);
    Ok(waiting)
}

impl Tx<'_> {
    /// Schedules a message to a customer (the module's rules). Audited
    /// (`message.scheduled`); the conversation changes in the feed.
    ///
    /// # Errors
    /// Not found for an unknown customer; permission denied; invalid input on `text` or
    /// `send_at` (less than a minute or more than 366 days ahead).
    pub fn schedule_message(
        &mut self,
        actor: &Actor,
        request: NewScheduled,
    ) -> Result<ScheduledMessage> {
        let author = may_write(self, actor, request.customer)?;
        let text = clean_text("text", &request.text, 1, crate::chat::MESSAGE_MAX_CHARS)?;
        let now = self.now();
        if request.send_at.millis() < now.millis() + MIN_AHEAD_MS
            || request.send_at.millis() > now.millis() + MAX_AHEAD_DAYS * DAY_MS
        {
            return Err(Error::invalid(
                "send_at",
                "schedule a message at least a minute and at most 366 days ahead",
            ));
        }
        let id = self.next_id(actor.org, "scheduled")?;
        let scheduled = ScheduledMessage {
            id,
            customer: request.customer,
            text,
            send_at: request.send_at,
            author,
            created_at: now,
            state: ScheduledState::Waiting,
        };
        self.insert_record(&Key::org(actor.org).u64(id), &scheduled)?;
        self.audit(
            actor,
            AuditAction::MessageScheduled,
            Subject::Customer(request.customer),
            AuditDetail::Text(format!(
                "scheduled message {id} for {}",
                request.send_at.to_rfc3339()
            )),
        )?;
        self.changed(
            actor.org,
            Subject::Conversation(request.customer),
            ChangeKind::Updated,
        )?;
        Ok(scheduled)
    }

    /// Cancels a waiting scheduled message. Audited (`message.schedule_cancelled`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict when it is no longer waiting.
    pub fn cancel_scheduled(&mut self, actor: &Actor, id: u64) -> Result<ScheduledMessage> {
        let before = load(self, actor.org, id)?;
        may_write(self, actor, before.customer)?;
        if !before.is_waiting() {
            return Err(Error::conflict(format!(
                "scheduled message {id} was already sent, cancelled or failed"
            )));
        }
        let mut after = before.clone();
        after.state = ScheduledState::Cancelled { at: self.now() };
        self.update_record(&Key::org(actor.org).u64(id), &before, &after)?;
        self.audit(
            actor,
            AuditAction::ScheduledCancelled,
            Subject::Customer(before.customer),
            AuditDetail::Text(format!("scheduled message {id}")),
        )?;
        self.changed(
            actor.org,
            Subject::Conversation(before.customer),
            ChangeKind::Updated,
        )?;
        Ok(after)
    }
}

/// The `scheduled_messages` job: sends what is due (the module's rules), in one transaction
/// with the finish of its slot.
pub(crate) fn send_due(tx: &mut Tx<'_>, slot: &Slot) -> Result<String> {
    let org = slot.org;
    let now = tx.now();
    let end = Key::org(org).i64(now.millis()).u64(u64::MAX);
    let start = Key::org(org);
    let mut due: Vec<u64> = Vec::new();
    tx.scan(
        tables::SCHEDULED_DUE,
        (
            std::ops::Bound::Included(start.as_slice()),
            std::ops::Bound::Included(end.as_slice()),
        ),
        false,
        |key, _| {
            due.push(keys::tail_u64(key));
            Ok(due.len() < SEND_BATCH)
        },
    )?;
    let (mut sent, mut failed) = (0, 0);
    for id in due {
        let before = load(tx, org, id)?;
        let author = Actor::staff(org, before.author);
        let result = tx.post_outbound(
            &author,
            OutboundMessage {
                customer: before.customer,
                order: None,
                text: before.text.clone(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
        );
        let mut after = before.clone();
        match result {
            Ok(message) => {
                after.state = ScheduledState::Sent {
                    message: message.id,
                    at: now,
                };
                sent += 1;
            }
            Err(error) if error.kind() == crate::ErrorKind::Storage => return Err(error),
            Err(error) => {
                after.state = ScheduledState::Failed {
                    reason: error.to_string(),
                };
                tx.audit(
                    &Actor::system(org),
                    AuditAction::ScheduledFailed,
                    Subject::Customer(before.customer),
                    AuditDetail::Text(format!("scheduled message {id}: {error}")),
                )?;
                failed += 1;
            }
        }
        tx.update_record(&Key::org(org).u64(id), &before, &after)?;
        tx.changed(
            org,
            Subject::Conversation(before.customer),
            ChangeKind::Updated,
        )?;
    }
    Ok(format!("{sent} sent, {failed} failed"))
}

impl Crm {
    /// See [`Tx::schedule_message`].
    ///
    /// # Errors
    /// See [`Tx::schedule_message`].
    pub fn schedule_message(
        &self,
        actor: &Actor,
        request: NewScheduled,
    ) -> Result<ScheduledMessage> {
        let actor = actor.clone();
        self.write(move |tx| tx.schedule_message(&actor, request))
    }

    /// See [`Tx::cancel_scheduled`].
    ///
    /// # Errors
    /// See [`Tx::cancel_scheduled`].
    pub fn cancel_scheduled(&self, actor: &Actor, id: u64) -> Result<ScheduledMessage> {
        let actor = actor.clone();
        self.write(move |tx| tx.cancel_scheduled(&actor, id))
    }

    /// See [`scheduled_in`].
    ///
    /// # Errors
    /// See [`scheduled_in`].
    pub fn scheduled(&self, actor: &Actor, customer: CustomerId) -> Result<Vec<ScheduledMessage>> {
        self.read(|view| scheduled_in(view, actor, customer))
    }
}
