//! The premium subscription (TeleKpr PRD 3.3.3, 8.3, 8.4): 30 days (the organization's
//! [`TokenSettings::subscription_days`]) of subscriber prices and priority in the queue.
//!
//! Rules:
//! - a customer buys it from their balance at [`TokenSettings::subscription_price`] (a spend
//!   entry); staff with `manage_billing` grant days without a charge;
//! - a purchase or grant while it is active extends it from its current end, otherwise it
//!   runs from now;
//! - the `subscription_notices` job (every 15 minutes) reminds a subscriber once per end,
//!   [`TokenSettings::reminder_days`] before it ([`Event::SubscriptionExpiring`]), and tells
//!   them once when it has ended ([`Event::SubscriptionExpired`]), for ends of the last
//!   [`EXPIRY_LOOKBACK_DAYS`] days (an appliance stopped for longer tells nobody of older
//!   ends); a renewal before the notice cancels it.

use crate::View;
use crate::model::*;
use crate::store::declarations::account_key;
use crate::store::{Key, keys, tables};
use crate::{Crm, Error, Result, Tx};

use super::super::{load_customer, require};
use super::ledger::{NewEntry, append};
use super::{account_of, require_module, settings_of};
use crate::jobs::Slot;

/// How far back the job looks for ended subscriptions it has not told of, in days.
pub const EXPIRY_LOOKBACK_DAYS: i64 = 30;

/// The most notices one run of the job sends; the rest wait for the next run.
pub const NOTICES_PER_RUN: usize = 1000;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A customer's subscription as pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    /// Whether it is active now.
    pub active: bool,
    /// Its end (past: ended), when the customer ever had one.
    pub until: Option<Timestamp>,
}

impl SubscriptionView {
    /// The subscription `account` holds at `now`.
    pub fn of(account: &TokenAccount, now: Timestamp) -> Self {
        SubscriptionView {
            active: account.is_subscriber(now),
            until: account.premium_until,
        }
    }
}

/// `account` with its subscription extended by `days` from its end, or from `now` when it
/// has ended.
fn extended(account: &TokenAccount, now: Timestamp, days: u32) -> TokenAccount {
    let start = match account.premium_until {
        Some(until) if until > now => until,
        _ => now,
    };
    let mut after = account.clone();
    after.premium_until = Some(start.plus_millis(i64::from(days) * DAY_MS));
    after
}

/// Writes `customer`'s account extended by `days` and its audit entry and change.
fn extend(
    tx: &mut Tx<'_>,
    actor: &Actor,
    customer: CustomerId,
    days: u32,
    detail: String,
) -> Result<TokenAccount> {
    let before = account_of(tx, actor.org, customer)?;
    let after = extended(&before, tx.now(), days);
    tx.save_record(&account_key(actor.org, customer), &after)?;
    tx.audit(
        actor,
        AuditAction::SubscriptionStarted,
        Subject::Customer(customer),
        AuditDetail::Text(detail),
    )?;
    tx.changed(actor.org, Subject::Customer(customer), ChangeKind::Updated)?;
    Ok(after)
}

impl Tx<'_> {
    /// The customer acting buys the premium subscription from their balance (the module's
    /// rules). Audited (`tokens.spent`, `subscription.started`).
    ///
    /// # Errors
    /// Not found while the module is off; permission denied unless the actor is a customer;
    /// conflict when the balance does not cover the price.
    pub fn buy_subscription(&mut self, actor: &Actor) -> Result<TokenAccount> {
        require_module(self, actor.org)?;
        let ActorRef::Customer(customer) = actor.who else {
            return Err(Error::forbidden(
                "only a customer buys the subscription; staff grant it",
            ));
        };
        let settings = settings_of(self, actor.org)?;
        let price = i64::try_from(settings.subscription_price).unwrap_or(i64::MAX);
        let description = crate::i18n::tr_with(
            load_customer(self, actor.org, customer)?.language,
            "tokens.subscription_entry",
            &[("days", &settings.subscription_days)],
        );
        let account = account_of(self, actor.org, customer)?;
        super::ledger::balance_after(&account, -price)?;
        append(
            self,
            actor,
            NewEntry {
                customer,
                kind: LedgerKind::Spend,
                amount: -price,
                order: None,
                payment: None,
                description,
            },
        )?;
        extend(
            self,
            actor,
            customer,
            settings.subscription_days,
            format!("bought for {price} tokens"),
        )
    }

    /// Grants `customer` `days` (1-366) of premium without a charge. Needs `manage_billing`.
    /// Audited (`subscription.started`).
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown customer; permission denied;
    /// invalid input on `days`.
    pub fn grant_subscription(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        days: u32,
    ) -> Result<TokenAccount> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageBilling)?;
        load_customer(self, actor.org, customer)?;
        if !(1..=366).contains(&days) {
            return Err(Error::invalid("days", "grant 1 to 366 days"));
        }
        extend(self, actor, customer, days, format!("granted {days} days"))
    }
}

/// The `subscription_notices` job: reminders before the end and notices of ends (the
/// module's rules), in one transaction with the finish of its slot.
pub(crate) fn subscription_notices(tx: &mut Tx<'_>, slot: &Slot) -> Result<String> {
    let org = slot.org;
    let settings = settings_of(tx, org)?;
    let now = tx.now();
    let from = now.plus_millis(-EXPIRY_LOOKBACK_DAYS * DAY_MS);
    let to = now.plus_millis(i64::from(settings.reminder_days) * DAY_MS);
    let mut due: Vec<CustomerId> = Vec::new();
    let start = Key::org(org).i64(from.millis());
    let end = Key::org(org).i64(to.millis()).u64(u64::MAX);
    tx.scan(
        tables::PREMIUM_BY_END,
        (
            std::ops::Bound::Included(start.as_slice()),
            std::ops::Bound::Included(end.as_slice()),
        ),
        false,
        |key, _| {
            due.push(CustomerId(keys::tail_u64(key)));
            Ok(true)
        },
    )?;
    let (mut reminded, mut ended) = (0, 0);
    for customer in due {
        if reminded + ended >= NOTICES_PER_RUN {
            break;
        }
        let before = account_of(tx, org, customer)?;
        let Some(until) = before.premium_until else {
            continue;
        };
        let mut after = before.clone();
        if until <= now {
            if before.expiry_told_for == Some(until) {
                continue;
            }
            after.expiry_told_for = Some(until);
            tx.enqueue(
                org,
                Recipient::Customer(customer),
                OutboxPayload::Notify(Event::SubscriptionExpired),
            )?;
            tx.audit(
                &Actor::system(org),
                AuditAction::SubscriptionExpired,
                Subject::Customer(customer),
                AuditDetail::None,
            )?;
            ended += 1;
        } else {
            if before.reminded_for == Some(until) {
                continue;
            }
            after.reminded_for = Some(until);
            tx.enqueue(
                org,
                Recipient::Customer(customer),
                OutboxPayload::Notify(Event::SubscriptionExpiring { until }),
            )?;
            tx.audit(
                &Actor::system(org),
                AuditAction::SubscriptionReminded,
                Subject::Customer(customer),
                AuditDetail::None,
            )?;
            reminded += 1;
        }
        tx.update_record(&account_key(org, customer), &before, &after)?;
    }
    Ok(format!("{reminded} reminded, {ended} told of the end"))
}

impl Crm {
    /// See [`Tx::buy_subscription`].
    ///
    /// # Errors
    /// See [`Tx::buy_subscription`].
    pub fn buy_subscription(&self, actor: &Actor) -> Result<TokenAccount> {
        let actor = actor.clone();
        self.write(move |tx| tx.buy_subscription(&actor))
    }

    /// See [`Tx::grant_subscription`].
    ///
    /// # Errors
    /// See [`Tx::grant_subscription`].
    pub fn grant_subscription(
        &self,
        actor: &Actor,
        customer: CustomerId,
        days: u32,
    ) -> Result<TokenAccount> {
        let actor = actor.clone();
        self.write(move |tx| tx.grant_subscription(&actor, customer, days))
    }
}
