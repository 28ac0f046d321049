//! The inbox's use cases that write: close, reopen and snooze a conversation, with or
//! without the operators module (one rule: [`super::rows::state_of`]).

use crate::model::*;
use crate::{Crm, Error, Result, Tx, View};

use super::super::customers::load_customer;
use super::super::operators::{latest_item, module_on};
use super::super::{load_org, require};
use super::rows::{require_row, write_row};

/// The longest snooze, in minutes (30 days).
pub const SNOOZE_MAX_MINUTES: u32 = 30 * 24 * 60;

impl Tx<'_> {
    /// Closes a customer's conversation: it leaves the working lists for the closed one.
    /// With the operators module on and an open queue item, the queue's
    /// [`Tx::close_conversation`] closes the item (it keeps its operator) and the row
    /// follows; otherwise the conversation's own state is closed, with a
    /// `conversation.closed` audit entry and a change. A customer message reopens it. Needs
    /// `chat_customers`.
    ///
    /// # Errors
    /// Not found (customer); permission denied; conflict when it is closed already.
    pub fn close_chat(&mut self, actor: &Actor, customer: CustomerId) -> Result<ConversationRow> {
        require(self, actor, Permission::ChatCustomers)?;
        load_customer(self, actor.org, customer)?;
        let row = require_row(self, actor.org, customer)?;
        if matches!(row.state, ConversationState::Closed { .. }) {
            return Err(Error::conflict(format!(
                "the conversation of customer {customer} is closed already"
            )));
        }
        let org = load_org(self, actor.org)?;
        let item = if module_on(&org) {
            latest_item(self, actor.org, QueueSubject::Conversation(customer))?
        } else {
            None
        };
        if item
            .as_ref()
            .is_some_and(|item| item.state == QueueState::Open)
        {
            self.close_conversation(actor, customer)?;
            return require_row(self, actor.org, customer);
        }
        let state = ConversationState::Closed {
            at: self.now(),
            after: row.last_inbound,
        };
        let row = write_row(self, actor.org, customer, Some(state))?
            .ok_or_else(|| Error::not_found(CustomerId::LABEL, customer))?;
        self.audit(
            actor,
            AuditAction::ConversationClosed,
            Subject::Conversation(customer),
            AuditDetail::None,
        )?;
        self.changed(
            actor.org,
            Subject::Conversation(customer),
            ChangeKind::Updated,
        )?;
        super::super::staff_chat::on_conversation_state(self, actor.org, customer, true)?;
        Ok(row)
    }

    /// Reopens a customer's closed conversation, or wakes a snoozed one now. A closed queue
    /// item (operators module) is reopened by the queue's [`Tx::reopen_conversation`] (and
    /// routed by its rule); otherwise the conversation's own state opens, with a
    /// `conversation.reopened` audit entry and a change. Needs `chat_customers`.
    ///
    /// # Errors
    /// Not found (customer); permission denied; conflict when it is open.
    pub fn reopen_chat(&mut self, actor: &Actor, customer: CustomerId) -> Result<ConversationRow> {
        require(self, actor, Permission::ChatCustomers)?;
        load_customer(self, actor.org, customer)?;
        let row = require_row(self, actor.org, customer)?;
        if row.state.at(self.now()) == ConversationState::Open {
            return Err(Error::conflict(format!(
                "the conversation of customer {customer} is open"
            )));
        }
        let org = load_org(self, actor.org)?;
        let item = if module_on(&org) {
            latest_item(self, actor.org, QueueSubject::Conversation(customer))?
        } else {
            None
        };
        if item
            .as_ref()
            .is_some_and(|item| item.state == QueueState::Closed)
        {
            self.reopen_conversation(actor, customer)?;
            return require_row(self, actor.org, customer);
        }
        let row = write_row(self, actor.org, customer, Some(ConversationState::Open))?
            .ok_or_else(|| Error::not_found(CustomerId::LABEL, customer))?;
        self.audit(
            actor,
            AuditAction::ConversationReopened,
            Subject::Conversation(customer),
            AuditDetail::None,
        )?;
        self.changed(
            actor.org,
            Subject::Conversation(customer),
            ChangeKind::Updated,
        )?;
        super::super::staff_chat::on_conversation_state(self, actor.org, customer, false)?;
        Ok(row)
    }

    /// Snoozes a customer's open conversation for `minutes` (1 to [`SNOOZE_MAX_MINUTES`]):
    /// the working lists leave it out until then or until the customer writes again, and the
    /// "snoozed" list shows it. Snoozing a snoozed conversation sets the new time. Needs
    /// `chat_customers`. Audited as `conversation.snoozed`, with a change.
    ///
    /// # Errors
    /// Not found (customer); permission denied; invalid input on `minutes`; conflict when it
    /// is closed.
    pub fn snooze_chat(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        minutes: u32,
    ) -> Result<ConversationRow> {
        require(self, actor, Permission::ChatCustomers)?;
        load_customer(self, actor.org, customer)?;
        if minutes == 0 || minutes > SNOOZE_MAX_MINUTES {
            return Err(Error::invalid(
                "minutes",
                format!("a snooze lasts 1 to {SNOOZE_MAX_MINUTES} minutes (got {minutes})"),
            ));
        }
        let row = require_row(self, actor.org, customer)?;
        if matches!(row.state, ConversationState::Closed { .. }) {
            return Err(Error::conflict(format!(
                "the conversation of customer {customer} is closed; reopen it first"
            )));
        }
        let until = self.now().plus_millis(i64::from(minutes) * 60_000);
        let state = ConversationState::Snoozed {
            until,
            after: row.last_inbound,
        };
        let row = write_row(self, actor.org, customer, Some(state))?
            .ok_or_else(|| Error::not_found(CustomerId::LABEL, customer))?;
        self.audit(
            actor,
            AuditAction::ConversationSnoozed,
            Subject::Conversation(customer),
            AuditDetail::Text(until.to_rfc3339()),
        )?;
        self.changed(
            actor.org,
            Subject::Conversation(customer),
            ChangeKind::Updated,
        )?;
        Ok(row)
    }
}

impl Crm {
    /// See [`Tx::close_chat`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::close_chat`].
    pub fn close_chat(&self, actor: &Actor, customer: CustomerId) -> Result<ConversationRow> {
        let actor = actor.clone();
        self.write(move |tx| tx.close_chat(&actor, customer))
    }

    /// See [`Tx::reopen_chat`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::reopen_chat`].
    pub fn reopen_chat(&self, actor: &Actor, customer: CustomerId) -> Result<ConversationRow> {
        let actor = actor.clone();
        self.write(move |tx| tx.reopen_chat(&actor, customer))
    }

    /// See [`Tx::snooze_chat`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::snooze_chat`].
    pub fn snooze_chat(
        &self,
        actor: &Actor,
        customer: CustomerId,
        minutes: u32,
    ) -> Result<ConversationRow> {
        let actor = actor.clone();
        self.write(move |tx| tx.snooze_chat(&actor, customer, minutes))
    }
}
