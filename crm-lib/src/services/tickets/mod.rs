//! The tickets module (SPEC section 5C, Brando seed): typed ticket fields and fraud rules.
//!
//! Tickets are orders (SPEC 3.1): a ticket's fields are its order's `custom_fields`, typed by
//! the organization's [`FieldSet`] (copied from its template at creation, `order_fields`).
//! Leads are orders too: with the projects module the same fields are a lead's slots
//! (`crate::leads`), read, edited and shown by the same functions here.
//! Every adapter reads a typed answer through [`FieldDef::parse_answer`] (the web form, the
//! API, the CSV import, the bot); [`crate::Tx::create_order`] and [`Tx::set_order_fields`]
//! check the whole set ([`FieldSet::check`]) and evaluate the fraud rules ([`fraud`]) in the
//! same transaction.
//!
//! - this file: the organization's fields, the "edit fields" use case, the ticket's view;
//! - `fraud`: the rules as data, their evaluation, clearing a flag, the settings and the
//!   blocklist.

pub(crate) mod fields;
pub mod fraud;

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::orders::{load_order, may_view, save_order};
use super::{load_org, resolve};
use fields::may_clear_flags;
use fields::{describe_changes, fields_for, fields_of};

pub use fraud::{FraudSettingsUpdate, fraud_settings_in};

/// Writes a new organization's order fields, when its template declares fields, and with the
/// tickets module its fraud settings (the helpdesk's default rules); nothing otherwise (the
/// renovation's fields are its leads' slots, without fraud rules). Called by
/// `org::create_org_in` in the organization's creation transaction.
pub(crate) fn create_ticket_settings_in(
    tx: &Tx<'_>,
    org: OrgId,
    fields: &FieldSet,
    modules: Modules,
) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    tx.insert_record(&Key::org(org), fields)?;
    if modules.contains(Module::Tickets) {
        tx.insert_record(&Key::org(org), &FraudSettings::helpdesk_default())?;
    }
    Ok(())
}

/// Gives an organization that switches the projects module on its template's fields as its
/// leads' slots, when it has no order fields yet. Called by `org::update_settings`.
pub(crate) fn ensure_order_fields_in(tx: &Tx<'_>, org: &Organization) -> Result<()> {
    let key = Key::org(org.id);
    if tx.get::<FieldSet>(tables::ORDER_FIELDS, &key)?.is_none() {
        let fields = crate::templates::template(&org.template)
            .map(|template| template.fields)
            .unwrap_or_default();
        if !fields.is_empty() {
            tx.insert_record(&key, &fields)?;
        }
    }
    Ok(())
}

/// Gives an organization that switches the tickets module on what its creation would have
/// given it: its template's ticket fields and the default fraud rules, each only when it has
/// none yet (switching off and on again keeps what staff set). Called by
/// `org::update_settings` in the transaction that switches the module on.
pub(crate) fn ensure_ticket_settings_in(tx: &Tx<'_>, org: &Organization) -> Result<()> {
    let key = Key::org(org.id);
    if tx.get::<FieldSet>(tables::ORDER_FIELDS, &key)?.is_none() {
        let fields = crate::templates::template(&org.template)
            .map(|template| template.fields)
            .unwrap_or_default();
        if !fields.is_empty() {
            tx.insert_record(&key, &fields)?;
        }
    }
    if tx
        .get::<FraudSettings>(tables::FRAUD_SETTINGS, &key)?
        .is_none()
    {
        tx.insert_record(&key, &FraudSettings::helpdesk_default())?;
    }
    Ok(())
}

/// The fields the actor's organization declares for its tickets (or its leads, with the
/// projects module), in the order they are asked; empty when neither module is on. Any actor of the organization may read them
/// (a customer's bot form asks them).
///
/// # Errors
/// Permission denied for a disabled or unknown staff user; storage.
pub fn ticket_fields_in(view: &impl View, actor: &Actor) -> Result<FieldSet> {
    resolve(view, actor)?;
    fields_of(view, actor.org)
}

/// What the order page shows of a ticket: the declared fields with the order's values, and
/// the fraud flags.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketView {
    /// The declared fields, in order, each with the order's value when it has one.
    pub fields: Vec<(FieldDef, Option<FieldValue>)>,
    /// The fraud flags (cleared ones too) and the score; `None` when no rule ever fired.
    pub fraud: Option<OrderFraud>,
    /// Whether the actor may edit the fields ([`Tx::set_order_fields`]).
    pub edit_fields: bool,
    /// Whether the actor may clear a flag ([`Tx::clear_fraud_flag`]).
    pub clear_flags: bool,
}

/// Whether a resolved actor may edit a ticket's fields: `moderate_orders`, `assign_orders`,
/// or `update_order_status` (with which the order is visible only to its assignee and
/// grantees).
fn may_edit_fields(resolved: &super::Resolved) -> bool {
    resolved.has(Permission::ModerateOrders)
        || resolved.has(Permission::AssignOrders)
        || resolved.has(Permission::UpdateOrderStatus)
}

/// A ticket's (or a lead's) fields and fraud flags as the actor may see them; `None` when the
/// organization has no order fields (neither the tickets nor the projects module on).
///
/// # Errors
/// Not found when the order does not exist or the actor may not see it.
pub fn ticket_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<Option<TicketView>> {
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    let record = load_order(view, actor.org, order)?;
    if !may_view(view, &resolved, &org, &record)? {
        return Err(Error::not_found(OrderId::LABEL, order));
    }
    let set = fields_of(view, actor.org)?;
    if set.is_empty() {
        return Ok(None);
    }
    let staff = !matches!(resolved, super::Resolved::Customer(_));
    let fraud = if staff {
        view.get::<OrderFraud>(tables::ORDER_FRAUD, &Key::org(actor.org).u64(order.0))?
    } else {
        None
    };
    Ok(Some(TicketView {
        fields: set
            .fields
            .into_iter()
            .map(|def| {
                let value = record.custom_fields.get(&def.key).cloned();
                (def, value)
            })
            .collect(),
        fraud,
        edit_fields: staff && may_edit_fields(&resolved),
        clear_flags: staff && may_clear_flags(&resolved),
    }))
}

impl Tx<'_> {
    /// Changes a ticket's typed fields: each key of `changes` set to its value (`Some`) or
    /// cleared (`None`); fields not named stay as they are. The result must satisfy the
    /// organization's field set (every value accepted by its field, required fields kept),
    /// then the fraud rules are evaluated again. Needs `moderate_orders`, `assign_orders` or
    /// `update_order_status`, on an order the actor may see. Changing nothing writes nothing.
    /// Writes the order, its audit entry (`order.fields_changed`), its change, and its fraud
    /// flags.
    ///
    /// # Errors
    /// Not found (the order, also when the actor may not see it); permission denied; invalid
    /// input on `fields` naming the field at fault, or when the organization has no order
    /// fields (neither the tickets nor the projects module on).
    pub fn set_order_fields(
        &mut self,
        actor: &Actor,
        order_id: OrderId,
        changes: BTreeMap<String, Option<FieldValue>>,
    ) -> Result<Order> {
        let resolved = resolve(self, actor)?;
        let org = load_org(self, actor.org)?;
        let order = load_order(self, actor.org, order_id)?;
        if !may_view(self, &resolved, &org, &order)? {
            return Err(Error::not_found(OrderId::LABEL, order_id));
        }
        if matches!(resolved, super::Resolved::Customer(_)) || !may_edit_fields(&resolved) {
            return Err(Error::denied(
                Permission::UpdateOrderStatus,
                format!("{} may not edit the fields of order {order_id}", actor.who),
            ));
        }
        let set = fields_of(self, actor.org)?;
        if set.is_empty() {
            return Err(Error::invalid(
                "fields",
                "this organization's orders have no fields (the tickets and projects modules are off)",
            ));
        }
        let mut values = order.custom_fields.clone();
        for (key, value) in changes {
            match value {
                Some(value) => values.insert(key, value),
                None => values.remove(&key),
            };
        }
        set.check(&values)?;
        if values == order.custom_fields {
            return Ok(order);
        }
        let mut after = order.clone();
        after.custom_fields = values;
        after.updated_at = self.now();
        save_order(self, actor.org, &order, &after)?;
        fraud::evaluate(self, &org, &after)?;
        // A lead's hot flag set or cleared by hand moves its qualification along.
        crate::services::leads::on_fields_changed(self, actor, &org, &order, &after)?;
        self.audit(
            actor,
            AuditAction::OrderFieldsChanged,
            Subject::Order(order_id),
            AuditDetail::Text(describe_changes(&order.custom_fields, &after.custom_fields)),
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
        Ok(after)
    }
}

impl Tx<'_> {
    /// [`Tx::set_order_fields`] with the values as typed (field key, answer): each answer
    /// read by its field's [`FieldDef::parse_answer`], an empty one clearing the field; the
    /// fields not named kept or cleared as `unnamed` says. What the web form and the API call.
    ///
    /// # Errors
    /// As [`Tx::set_order_fields`]; invalid input on `fields` for an unknown key or a refused
    /// answer.
    pub fn set_order_field_answers(
        &mut self,
        actor: &Actor,
        order: OrderId,
        answers: &[(String, String)],
        unnamed: Unnamed,
    ) -> Result<Order> {
        let set = fields_of(self, actor.org)?;
        let mut changes: BTreeMap<String, Option<FieldValue>> = BTreeMap::new();
        if unnamed == Unnamed::Clear {
            for def in &set.fields {
                changes.insert(def.key.clone(), None);
            }
        }
        for (key, answer) in answers {
            let def = set.get(key).ok_or_else(|| {
                Error::invalid("fields", format!("{key}: there is no such field"))
            })?;
            let value = if answer.trim().is_empty() {
                None
            } else {
                Some(def.parse_answer(answer)?)
            };
            changes.insert(def.key.clone(), value);
        }
        self.set_order_fields(actor, order, changes)
    }
}

impl Crm {
    /// See [`Tx::set_order_field_answers`].
    ///
    /// # Errors
    /// See [`Tx::set_order_field_answers`].
    pub fn set_order_field_answers(
        &self,
        actor: &Actor,
        order: OrderId,
        answers: Vec<(String, String)>,
        unnamed: Unnamed,
    ) -> Result<Order> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_order_field_answers(&actor, order, &answers, unnamed))
    }

    /// See [`Tx::set_order_fields`].
    ///
    /// # Errors
    /// See [`Tx::set_order_fields`].
    pub fn set_order_fields(
        &self,
        actor: &Actor,
        order: OrderId,
        changes: BTreeMap<String, Option<FieldValue>>,
    ) -> Result<Order> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_order_fields(&actor, order, changes))
    }

    /// See [`ticket_fields_in`]. Reads one snapshot.
    ///
    /// # Errors
    /// See [`ticket_fields_in`].
    pub fn ticket_fields(&self, actor: &Actor) -> Result<FieldSet> {
        self.read(|view| ticket_fields_in(view, actor))
    }

    /// See [`ticket_in`]. Reads one snapshot.
    ///
    /// # Errors
    /// See [`ticket_in`].
    pub fn ticket(&self, actor: &Actor, order: OrderId) -> Result<Option<TicketView>> {
        self.read(|view| ticket_in(view, actor, order))
    }
}

/// The ticket lines a master's notification carries: each declared field the order has a
/// value for, with its definition (rendered in the reader's language at delivery); `None`
/// when the tickets module is off.
pub(crate) fn notification_fields(
    view: &impl View,
    org: OrgId,
    order: &Order,
) -> Result<Option<Vec<(FieldDef, FieldValue)>>> {
    let set = fields_of(view, org)?;
    if set.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        set.fields
            .into_iter()
            .filter_map(|def| {
                let value = order.custom_fields.get(&def.key).cloned()?;
                Some((def, value))
            })
            .collect(),
    ))
}

/// A new order's typed fields: `values` with the typed `answers` read on top, checked
/// against the organization's set (with the tickets module off, an order carries no fields).
pub(crate) fn new_order_fields(
    view: &impl View,
    org: &Organization,
    mut values: BTreeMap<String, FieldValue>,
    answers: &[(String, String)],
) -> Result<BTreeMap<String, FieldValue>> {
    let set = fields_for(view, org)?;
    values.extend(
        set.parse_answers(
            answers
                .iter()
                .map(|(key, answer)| (key.as_str(), answer.as_str())),
        )?,
    );
    if set.is_empty() {
        if let Some(key) = values.keys().next() {
            return Err(Error::invalid(
                "fields",
                format!("{key}: there is no such field"),
            ));
        }
        return Ok(values);
    }
    set.check(&values)?;
    Ok(values)
}

/// How [`Tx::set_order_field_answers`] treats the fields its answers do not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unnamed {
    /// They stay as they are (`PATCH`).
    Keep,
    /// They are cleared (`PUT`, a whole form).
    Clear,
}
