//! The token ledger: append-only entries, each with the balance after it, and the account
//! that holds the balance (TeleKpr PRD 3.3.1 and 6.2 `Token_Transactions`).
//!
//! Rules:
//! - one function, [`append`], writes every entry: it checks the amount (not 0, within
//!   [`TOKENS_MAX`]) and that the balance stays at or above 0 before writing anything, then
//!   writes the entry, the account, the audit entry and the change together;
//! - a debit that takes the balance below the organization's threshold (PRD 8.4: 50) tells
//!   the customer once per fall ([`Event::LowBalance`]); a balance back at or above the
//!   threshold arms the alert again;
//! - a credit other than a refund (a purchase, a bonus, an adjustment) tells the customer
//!   the new balance ([`Event::BalanceChanged`]); a refund comes with the order's own move;
//! - staff adjust with `manage_billing` and a reason (1-500 characters), and give bonuses
//!   the same way.

use crate::model::*;
use crate::store::declarations::account_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::{System, SystemTx};
use crate::{Crm, Error, Page, Paged, Result, Tx, View};

use super::super::{clean_text, load_customer, require, resolve};
use super::{
    REASON_MAX_CHARS, TOKENS_MAX, account_of, readable_customer, require_module, settings_of,
};

/// What one entry appends (see [`append`]).
pub(crate) struct NewEntry {
    pub(crate) customer: CustomerId,
    pub(crate) kind: LedgerKind,
    pub(crate) amount: i64,
    pub(crate) order: Option<OrderId>,
    pub(crate) payment: Option<String>,
    pub(crate) description: String,
}

/// The balance `amount` would leave `account` with, or why it may not be appended.
pub(crate) fn balance_after(account: &TokenAccount, amount: i64) -> Result<i64> {
    if amount == 0 || amount.unsigned_abs() > TOKENS_MAX {
        return Err(Error::invalid(
            "amount",
            format!("an amount is 1 to {TOKENS_MAX} tokens, up or down"),
        ));
    }
    let after = account.balance + amount;
    if after < 0 {
        return Err(Error::conflict(format!(
            "insufficient balance: {} tokens, {} needed",
            account.balance,
            amount.unsigned_abs()
        )));
    }
    if after.unsigned_abs() > TOKENS_MAX * 10 {
        return Err(Error::invalid(
            "amount",
            format!("a balance holds at most {} tokens", TOKENS_MAX * 10),
        ));
    }
    Ok(after)
}

/// Appends one entry for `entry.customer` as `actor` (whose organization it is), with the
/// balance after it, and updates their account; the only writer of the ledger. Checks
/// first (see [`balance_after`]), then writes the entry, the account, the audit entry (the
/// kind's action) and the customer's change, and the customer's notices (the module's
/// rules).
///
/// # Errors
/// Invalid input on `amount`; conflict when the balance would fall below 0.
pub(crate) fn append(tx: &mut Tx<'_>, actor: &Actor, entry: NewEntry) -> Result<LedgerEntry> {
    let org = actor.org;
    let account = account_of(tx, org, entry.customer)?;
    let after = balance_after(&account, entry.amount)?;
    let settings = settings_of(tx, org)?;
    let id = tx.next_id(org, "ledger")?;
    let record = LedgerEntry {
        id,
        customer: entry.customer,
        kind: entry.kind,
        amount: entry.amount,
        balance_after: after,
        order: entry.order,
        payment: entry.payment,
        description: entry.description,
        by: actor.who,
        at: tx.now(),
    };
    tx.insert_record(&Key::org(org).u64(id), &record)?;
    let threshold = i64::try_from(settings.low_balance_threshold).unwrap_or(i64::MAX);
    let mut updated = account.clone();
    updated.balance = after;
    updated.entries += 1;
    updated.last_entry = Some(id);
    let alert =
        threshold > 0 && entry.amount < 0 && after < threshold && !account.low_balance_alerted;
    if after >= threshold {
        updated.low_balance_alerted = false;
    } else if alert {
        updated.low_balance_alerted = true;
    }
    tx.save_record(&account_key(org, entry.customer), &updated)?;
    if alert {
        tx.enqueue(
            org,
            Recipient::Customer(entry.customer),
            OutboxPayload::Notify(Event::LowBalance {
                balance: after,
                threshold: settings.low_balance_threshold,
            }),
        )?;
    }
    if entry.amount > 0 && record.kind != LedgerKind::Refund {
        tx.enqueue(
            org,
            Recipient::Customer(entry.customer),
            OutboxPayload::Notify(Event::BalanceChanged {
                kind: record.kind,
                amount: record.amount,
                balance: after,
                description: record.description.clone(),
            }),
        )?;
    }
    let action = match record.kind {
        LedgerKind::Purchase => AuditAction::TokensPurchased,
        LedgerKind::Spend => AuditAction::TokensSpent,
        LedgerKind::Refund => AuditAction::TokensRefunded,
        LedgerKind::Adjustment => AuditAction::TokensAdjusted,
        LedgerKind::Bonus => AuditAction::TokensBonus,
    };
    tx.audit(
        actor,
        action,
        Subject::Customer(entry.customer),
        AuditDetail::Ledger {
            entry: id,
            amount: record.amount,
            balance_after: after,
            order: record.order,
        },
    )?;
    tx.changed(org, Subject::Customer(entry.customer), ChangeKind::Updated)?;
    Ok(record)
}

/// Appends an entry of `kind` and `amount` for `customer` as `actor`, with `description`
/// (payments' refunds); the checks and writes of [`append`].
///
/// # Errors
/// See [`append`].
pub(crate) fn append_entry(
    tx: &mut Tx<'_>,
    actor: &Actor,
    customer: CustomerId,
    kind: LedgerKind,
    amount: i64,
    description: &str,
) -> Result<LedgerEntry> {
    append(
        tx,
        actor,
        NewEntry {
            customer,
            kind,
            amount,
            order: None,
            payment: None,
            description: description.to_string(),
        },
    )
}

/// A page of a customer's ledger, newest first, with their account.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerPage {
    /// The account (balance and subscription); an empty one when nothing happened yet.
    pub account: TokenAccount,
    /// Whether the subscription is active now.
    pub subscriber: bool,
    /// The entries, newest first, with the cursor of the next page (an entry id).
    pub entries: Paged<LedgerEntry>,
    /// What the reader may do with this customer's tokens.
    pub actions: LedgerActions,
}

/// What a reader of a ledger may do with it, decided by the rules the use cases enforce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerActions {
    /// Adjust the balance, give a bonus, grant Premium days (`manage_billing`, as
    /// [`Tx::adjust_tokens`], [`Tx::grant_bonus`], [`Tx::grant_subscription`]).
    pub adjust: bool,
    /// Place an order of a package for the customer (`moderate_orders`, as
    /// [`Tx::place_token_order`]).
    pub order: bool,
}

/// `customer`'s account and a page of their entries, newest first (`page.after`: the id of
/// the last entry of the previous page). A customer reads their own; staff need
/// `view_orders`.
///
/// # Errors
/// Not found while the module is off, for an unknown customer or another customer's;
/// permission denied.
pub fn ledger_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
    page: Page,
) -> Result<LedgerPage> {
    require_module(view, actor.org)?;
    readable_customer(view, actor, customer)?;
    let resolved = resolve(view, actor)?;
    let actions = match resolved {
        crate::services::Resolved::Customer(_) => LedgerActions::default(),
        _ => LedgerActions {
            adjust: resolved.has(Permission::ManageBilling),
            order: resolved.has(Permission::ModerateOrders),
        },
    };
    let account = account_of(view, actor.org, customer)?;
    let prefix = Key::org(actor.org).u64(customer.0);
    let after = page.after.map(|id| prefix.clone().u64(id));
    let limit = page.limit.clamp(1, Page::MAX);
    let keys = view.keys_with_prefix(
        tables::LEDGER_BY_CUSTOMER,
        &prefix,
        after.as_ref().map(Key::as_slice),
        true,
        limit + 1,
    )?;
    let mut items = Vec::with_capacity(limit);
    for key in keys.iter().take(limit) {
        let id = keys::tail_u64(key);
        let entry: LedgerEntry = view
            .get(tables::LEDGER, &Key::org(actor.org).u64(id))?
            .ok_or_else(|| crate::store::dangling("ledger_by_customer", key))?;
        items.push(entry);
    }
    let next = (keys.len() > limit)
        .then(|| items.last().map(|entry| entry.id))
        .flatten();
    Ok(LedgerPage {
        subscriber: account.is_subscriber(view.now()),
        account,
        entries: Paged { items, next },
        actions,
    })
}

/// A staff correction's or bonus's reason, checked.
fn reason(text: &str) -> Result<String> {
    if text.trim().is_empty() {
        return Err(Error::invalid("reason", "an adjustment needs a reason"));
    }
    clean_text("reason", text, 1, REASON_MAX_CHARS)
}

impl Tx<'_> {
    /// Adds (`amount` > 0) or takes away (`amount` < 0) tokens of `customer` with a reason
    /// (PRD 3.3.1 "Admin-controlled balance adjustments"). Needs `manage_billing`. Audited
    /// (`tokens.adjusted`); the customer is told of a credit.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown customer; permission denied;
    /// invalid input on `reason` (required, 1-500 characters) or `amount` (not 0, at most
    /// [`TOKENS_MAX`]); conflict when the balance would fall below 0.
    pub fn adjust_tokens(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        amount: i64,
        reason_text: &str,
    ) -> Result<LedgerEntry> {
        self.staff_entry(actor, customer, LedgerKind::Adjustment, amount, reason_text)
    }

    /// Gives `customer` `amount` tokens as a bonus, with a note. Needs `manage_billing`.
    /// Audited (`tokens.bonus`); the customer is told.
    ///
    /// # Errors
    /// As [`Tx::adjust_tokens`]; invalid input on `amount` unless it is positive.
    pub fn grant_bonus(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        amount: u64,
        note: &str,
    ) -> Result<LedgerEntry> {
        if amount == 0 || amount > TOKENS_MAX {
            return Err(Error::invalid(
                "amount",
                format!("a bonus is 1 to {TOKENS_MAX} tokens"),
            ));
        }
        let amount = i64::try_from(amount).unwrap_or(i64::MAX);
        self.staff_entry(actor, customer, LedgerKind::Bonus, amount, note)
    }

    fn staff_entry(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        kind: LedgerKind,
        amount: i64,
        reason_text: &str,
    ) -> Result<LedgerEntry> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageBilling)?;
        load_customer(self, actor.org, customer)?;
        let description = reason(reason_text)?;
        append(
            self,
            actor,
            NewEntry {
                customer,
                kind,
                amount,
                order: None,
                payment: None,
                description,
            },
        )
    }
}

impl SystemTx<'_, '_> {
    /// Credits `tokens` bought with a payment to `customer` of `org` (a purchase entry,
    /// audited as the system, `tokens.purchased`; the customer is told). `payment` names the
    /// provider and its id (`oxapay:<track id>`); the caller makes it idempotent.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown customer; invalid input on a zero
    /// or too large amount.
    pub fn credit_purchase(
        &mut self,
        org: OrgId,
        customer: CustomerId,
        tokens: u64,
        payment: &str,
        description: &str,
    ) -> Result<LedgerEntry> {
        let tx = &mut *self.tx;
        require_module(tx, org)?;
        load_customer(tx, org, customer)?;
        let amount = i64::try_from(tokens.min(TOKENS_MAX + 1)).unwrap_or(i64::MAX);
        append(
            tx,
            &Actor::system(org),
            NewEntry {
                customer,
                kind: LedgerKind::Purchase,
                amount,
                order: None,
                payment: Some(payment.to_string()),
                description: description.to_string(),
            },
        )
    }
}

impl System<'_> {
    /// See [`SystemTx::credit_purchase`], in a write of its own.
    ///
    /// # Errors
    /// See [`SystemTx::credit_purchase`].
    pub fn credit_purchase(
        &self,
        org: OrgId,
        customer: CustomerId,
        tokens: u64,
        payment: &str,
        description: &str,
    ) -> Result<LedgerEntry> {
        let payment = payment.to_string();
        let description = description.to_string();
        self.crm.write(move |tx| {
            tx.system()
                .credit_purchase(org, customer, tokens, &payment, &description)
        })
    }
}

impl Crm {
    /// See [`Tx::adjust_tokens`].
    ///
    /// # Errors
    /// See [`Tx::adjust_tokens`].
    pub fn adjust_tokens(
        &self,
        actor: &Actor,
        customer: CustomerId,
        amount: i64,
        reason: &str,
    ) -> Result<LedgerEntry> {
        let actor = actor.clone();
        let reason = reason.to_string();
        self.write(move |tx| tx.adjust_tokens(&actor, customer, amount, &reason))
    }

    /// See [`Tx::grant_bonus`].
    ///
    /// # Errors
    /// See [`Tx::grant_bonus`].
    pub fn grant_bonus(
        &self,
        actor: &Actor,
        customer: CustomerId,
        amount: u64,
        note: &str,
    ) -> Result<LedgerEntry> {
        let actor = actor.clone();
        let note = note.to_string();
        self.write(move |tx| tx.grant_bonus(&actor, customer, amount, &note))
    }

    /// See [`ledger_in`].
    ///
    /// # Errors
    /// See [`ledger_in`].
    pub fn ledger(&self, actor: &Actor, customer: CustomerId, page: Page) -> Result<LedgerPage> {
        self.read(|view| ledger_in(view, actor, customer, page))
    }
}
