//! Fraud rules as data (SPEC section 5C, Brando seed): each rule, when it fires on a ticket,
//! raises a flag with its reason and adds its points to the ticket's fraud score.
//!
//! The rules and their thresholds, and the blocklist, are the organization's
//! [`FraudSettings`] (`fraud_settings`, changed on the settings page by
//! [`Tx::update_fraud_settings`]). `evaluate` runs in the transaction that creates or edits
//! a ticket and stores the result in `order_fraud`; a manager clears a flag with a note
//! ([`Tx::clear_fraud_flag`], audited), and a cleared flag stays visible as cleared (and is
//! not raised again while its rule fires for the same reason).

use crate::model::*;
use crate::services::customers::{load_customer, parse_phone};
use crate::store::{Key, ViewExt, field_key, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::super::orders::{load_order, may_view};
use super::super::{clean_text, load_org, require, resolve};
use super::fields::may_clear_flags;

/// The largest threshold a rule may have.
pub const THRESHOLD_MAX: u32 = 10_000;

/// The most entries the blocklist may hold (phones and Telegram ids together).
pub const BLOCKLIST_MAX: usize = 10_000;

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// The organization's fraud settings; `None` when its tickets module is off.
pub(crate) fn settings_of(view: &impl View, org: OrgId) -> Result<Option<FraudSettings>> {
    settings_for(view, &load_org(view, org)?)
}

/// [`settings_of`] for a caller that has read the organization already (order creation and
/// edits), so it is not read again.
fn settings_for(view: &impl View, org: &Organization) -> Result<Option<FraudSettings>> {
    if !org.modules.contains(Module::Tickets) {
        return Ok(None);
    }
    view.get::<FraudSettings>(tables::FRAUD_SETTINGS, &Key::org(org.id))
}

/// The fraud settings, for staff with `manage_settings`; `None` when the tickets module is
/// off.
///
/// # Errors
/// Permission denied.
pub fn fraud_settings_in(view: &impl View, actor: &Actor) -> Result<Option<FraudSettings>> {
    require(view, actor, Permission::ManageSettings)?;
    settings_of(view, actor.org)
}

/// How many orders carry `value` in `field` and were created at or after `since`.
fn orders_with_value(
    view: &impl View,
    org: OrgId,
    field: &str,
    value: &str,
    since: Timestamp,
) -> Result<u64> {
    let prefix = field_key(org, field, value);
    let at = prefix.as_slice().len();
    let mut count = 0;
    view.for_each_prefix(tables::ORDERS_BY_FIELD, &prefix, |key, _| {
        if key.len() == at + 16 && crate::store::keys::read_i64(key, at) >= since.0 {
            count += 1;
        }
        Ok(true)
    })?;
    Ok(count)
}

/// How many of the customer's orders are in a lost (cancelled) stage.
fn cancelled_orders(view: &impl View, org: &Organization, customer: CustomerId) -> Result<u64> {
    let mut count = 0;
    for stage in &org.pipeline.stages {
        if stage.kind == StageKind::Lost {
            let prefix = Key::org(org.id).u64(customer.0).u16(stage.id.0);
            count += view.count_prefix(tables::ORDERS_BY_CUSTOMER_STAGE, &prefix)?;
        }
    }
    Ok(count)
}

/// The flags `rules` raise on `order` now (rule code, reason, points), in rule order.
fn fire(
    view: &impl View,
    org: &Organization,
    settings: &FraudSettings,
    order: &Order,
) -> Result<Vec<(String, String, u32)>> {
    let mut raised = Vec::new();
    for rule in settings.rules.iter().filter(|rule| rule.enabled) {
        let reason = match &rule.kind {
            FraudRuleKind::RepeatedSerial {
                field,
                more_than,
                days,
            } => match order
                .custom_fields
                .get(field)
                .and_then(FieldValue::index_form)
            {
                Some(value) => {
                    let since = Timestamp(view.now().0 - i64::from(*days) * DAY_MS);
                    let count = orders_with_value(view, org.id, field, &value, since)?;
                    (count > u64::from(*more_than)).then(|| {
                        format!("{field} {value} is on {count} tickets in {days} days (more than {more_than})")
                    })
                }
                None => None,
            },
            FraudRuleKind::Blocklisted => {
                let customer = load_customer(view, org.id, order.customer)?;
                let phone = customer
                    .phone
                    .as_ref()
                    .filter(|phone| settings.blocked_phones.contains(phone));
                let telegram = customer
                    .telegram_id
                    .filter(|id| settings.blocked_telegram_ids.contains(id));
                match (phone, telegram) {
                    (Some(phone), _) => Some(format!("phone {phone} is on the blocklist")),
                    (None, Some(id)) => Some(format!("telegram id {id} is on the blocklist")),
                    (None, None) => None,
                }
            }
            FraudRuleKind::Cancellations { more_than } => {
                let count = cancelled_orders(view, org, order.customer)?;
                (count > u64::from(*more_than)).then(|| {
                    format!("the customer has {count} cancelled tickets (more than {more_than})")
                })
            }
            FraudRuleKind::FieldFormat { field, pattern } => match order.custom_fields.get(field) {
                Some(FieldValue::Text(text)) if !full_match(pattern, text)? => {
                    Some(format!("{field} {text:?} does not have the form {pattern}"))
                }
                _ => None,
            },
        };
        if let Some(reason) = reason {
            raised.push((rule.kind.code().to_string(), reason, rule.points));
        }
    }
    Ok(raised)
}

/// Evaluates the organization's fraud rules on `order` (just written in `tx`) and stores its
/// flags: a flag raised before for the same rule and reason is kept as it is (cleared or
/// not), a new one is added, a flag whose rule no longer fires is dropped unless it was
/// cleared (cleared flags stay visible). Does nothing when the tickets module is off.
/// Writes no audit entry of its own: it is part of the create or edit that called it.
pub(crate) fn evaluate(
    tx: &Tx<'_>,
    org: &Organization,
    order: &Order,
) -> Result<Option<OrderFraud>> {
    let Some(settings) = settings_for(tx, org)? else {
        return Ok(None);
    };
    let key = Key::org(org.id).u64(order.id.0);
    let before: Option<OrderFraud> = tx.get(tables::ORDER_FRAUD, &key)?;
    let raised = fire(tx, org, &settings, order)?;
    let old_flags = before
        .as_ref()
        .map(|fraud| fraud.flags.clone())
        .unwrap_or_default();
    let mut flags: Vec<FraudFlag> = Vec::new();
    for (rule, reason, points) in raised {
        match old_flags
            .iter()
            .find(|flag| flag.rule == rule && flag.reason == reason)
        {
            Some(kept) => flags.push(kept.clone()),
            None => flags.push(FraudFlag {
                rule,
                reason,
                points,
                raised_at: tx.now(),
                cleared: None,
            }),
        }
    }
    for old in old_flags.iter().filter(|flag| flag.cleared.is_some()) {
        if !flags.contains(old) {
            flags.push(old.clone());
        }
    }
    let after = OrderFraud {
        order: order.id,
        flags,
    };
    match (&before, after.flags.is_empty()) {
        (None, true) => return Ok(None),
        (Some(_), true) => {
            tx.remove(tables::ORDER_FRAUD, &key)?;
            return Ok(None);
        }
        (Some(before), false) if *before == after => {}
        _ => tx.put(tables::ORDER_FRAUD, &key, &after)?,
    }
    Ok(Some(after))
}

/// Removes an order's fraud flags (the order is being deleted).
pub(crate) fn forget(tx: &Tx<'_>, org: OrgId, order: OrderId) -> Result<()> {
    tx.remove(tables::ORDER_FRAUD, &Key::org(org).u64(order.0))?;
    Ok(())
}

/// New fraud settings as staff typed them on the settings page: the thresholds and points
/// of the organization's rules (in the order [`FraudSettings::rules`] has them), and the
/// blocklist as typed lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FraudSettingsUpdate {
    /// The rules, each with its threshold and points (kind and field as stored; the
    /// thresholds at most [`THRESHOLD_MAX`], the days 1-365, points 0-100, a pattern that
    /// compiles).
    pub rules: Vec<FraudRule>,
    /// Blocked phones, each cleaned to E.164 ([`parse_phone`]).
    pub blocked_phones: Vec<String>,
    /// Blocked Telegram user ids, as typed.
    pub blocked_telegram_ids: Vec<String>,
}

/// Checks and cleans an update into settings.
fn checked_settings(update: FraudSettingsUpdate) -> Result<FraudSettings> {
    for rule in &update.rules {
        if rule.points > 100 {
            return Err(Error::invalid(
                "points",
                format!("{} is over 100", rule.points),
            ));
        }
        match &rule.kind {
            FraudRuleKind::RepeatedSerial {
                more_than, days, ..
            } => {
                if *more_than > THRESHOLD_MAX {
                    return Err(Error::invalid(
                        "threshold",
                        format!("{more_than} is over {THRESHOLD_MAX}"),
                    ));
                }
                if !(1..=365).contains(days) {
                    return Err(Error::invalid("days", format!("{days} is not 1 to 365")));
                }
            }
            FraudRuleKind::Cancellations { more_than } if *more_than > THRESHOLD_MAX => {
                return Err(Error::invalid(
                    "threshold",
                    format!("{more_than} is over {THRESHOLD_MAX}"),
                ));
            }
            FraudRuleKind::FieldFormat { pattern, .. } => {
                compile_pattern(pattern)?;
            }
            _ => {}
        }
    }
    let mut phones: Vec<String> = Vec::new();
    for line in update.blocked_phones.iter().map(|line| line.trim()) {
        if line.is_empty() {
            continue;
        }
        let phone = parse_phone(line)?;
        if !phones.contains(&phone) {
            phones.push(phone);
        }
    }
    let mut ids: Vec<TelegramUserId> = Vec::new();
    for line in update.blocked_telegram_ids.iter().map(|line| line.trim()) {
        if line.is_empty() {
            continue;
        }
        let id = TelegramUserId::parse("blocked_telegram_ids", line)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if phones.len() + ids.len() > BLOCKLIST_MAX {
        return Err(Error::invalid(
            "blocklist",
            format!("at most {BLOCKLIST_MAX} entries"),
        ));
    }
    Ok(FraudSettings {
        rules: update.rules,
        blocked_phones: phones,
        blocked_telegram_ids: ids,
    })
}

impl Tx<'_> {
    /// Replaces the organization's fraud settings (needs `manage_settings`): the rules'
    /// thresholds and points, and the blocklist. Phones are cleaned to E.164 and duplicates
    /// dropped. Tickets are evaluated with the new settings when they are next created or
    /// edited. Audited as `fraud.settings_changed`.
    ///
    /// # Errors
    /// Permission denied; invalid input naming the value at fault (`points`, `threshold`,
    /// `days`, `pattern`, `phone`, `blocked_telegram_ids`, `blocklist`) or on `fields` when the
    /// tickets module is off.
    pub fn update_fraud_settings(
        &mut self,
        actor: &Actor,
        update: FraudSettingsUpdate,
    ) -> Result<FraudSettings> {
        require(self, actor, Permission::ManageSettings)?;
        let Some(before) = settings_of(self, actor.org)? else {
            return Err(Error::invalid(
                "fields",
                "this organization has no fraud rules (the tickets module is off)",
            ));
        };
        let after = checked_settings(update)?;
        if after == before {
            return Ok(after);
        }
        self.put(tables::FRAUD_SETTINGS, &Key::org(actor.org), &after)?;
        let summary = after
            .rules
            .iter()
            .map(|rule| {
                format!(
                    "{} {} ({} points)",
                    rule.kind.code(),
                    if rule.enabled { "on" } else { "off" },
                    rule.points
                )
            })
            .chain([format!(
                "blocklist {} phones, {} telegram ids",
                after.blocked_phones.len(),
                after.blocked_telegram_ids.len()
            )])
            .collect::<Vec<_>>()
            .join(", ");
        self.audit(
            actor,
            AuditAction::FraudSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(summary),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(after)
    }

    /// Clears a fraud flag of a ticket with a note (1-500 characters): the flag stays on
    /// the ticket, marked cleared by the actor, and adds no points. Needs `moderate_orders`
    /// or `assign_orders`, on an order the actor may see. Audited as `fraud.flag_cleared`
    /// with the rule, the reason and the note.
    ///
    /// # Errors
    /// Not found for the order (also when the actor may not see it) or a rule with no flag
    /// on it; permission denied; invalid input on `note`; conflict when the flag is already
    /// cleared.
    pub fn clear_fraud_flag(
        &mut self,
        actor: &Actor,
        order_id: OrderId,
        rule: &str,
        note: &str,
    ) -> Result<OrderFraud> {
        let resolved = resolve(self, actor)?;
        if matches!(resolved, crate::services::Resolved::Customer(_)) || !may_clear_flags(&resolved)
        {
            return Err(Error::denied(
                Permission::AssignOrders,
                format!("{} may not clear fraud flags", actor.who),
            ));
        }
        let org = load_org(self, actor.org)?;
        let order = load_order(self, actor.org, order_id)?;
        if !may_view(self, &resolved, &org, &order)? {
            return Err(Error::not_found(OrderId::LABEL, order_id));
        }
        let note = clean_text("note", note, 1, 500)?;
        let key = Key::org(actor.org).u64(order_id.0);
        let mut fraud: OrderFraud = self
            .get(tables::ORDER_FRAUD, &key)?
            .ok_or_else(|| Error::not_found("fraud flag", rule))?;
        let flag = fraud
            .flags
            .iter_mut()
            .find(|flag| flag.rule == rule && flag.cleared.is_none())
            .ok_or_else(|| Error::not_found("fraud flag", rule))?;
        flag.cleared = Some(FlagClearing {
            by: actor.who,
            note: note.clone(),
            at: self.now(),
        });
        let detail = format!("{}: {} ({note})", flag.rule, flag.reason);
        self.put(tables::ORDER_FRAUD, &key, &fraud)?;
        self.audit(
            actor,
            AuditAction::FraudFlagCleared,
            Subject::Order(order_id),
            AuditDetail::Text(detail),
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
        Ok(fraud)
    }
}

impl Crm {
    /// See [`Tx::update_fraud_settings`].
    ///
    /// # Errors
    /// See [`Tx::update_fraud_settings`].
    pub fn update_fraud_settings(
        &self,
        actor: &Actor,
        update: FraudSettingsUpdate,
    ) -> Result<FraudSettings> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_fraud_settings(&actor, update))
    }

    /// See [`Tx::clear_fraud_flag`].
    ///
    /// # Errors
    /// See [`Tx::clear_fraud_flag`].
    pub fn clear_fraud_flag(
        &self,
        actor: &Actor,
        order: OrderId,
        rule: &str,
        note: &str,
    ) -> Result<OrderFraud> {
        let (actor, rule, note) = (actor.clone(), rule.to_string(), note.to_string());
        self.write(move |tx| tx.clear_fraud_flag(&actor, order, &rule, &note))
    }

    /// See [`fraud_settings_in`]. Reads one snapshot.
    ///
    /// # Errors
    /// See [`fraud_settings_in`].
    pub fn fraud_settings(&self, actor: &Actor) -> Result<Option<FraudSettings>> {
        self.read(|view| fraud_settings_in(view, actor))
    }
}
