//! Reading orders: one order, a filtered page of orders, bids, counts per stage, what the
//! new-order form offers, and every order for exports.

use crate::model::*;
use crate::services::customers::load_customer;
use crate::services::{Page, Paged, Resolved, load_org, resolve};
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, View};

use super::rows::{OrderFilter, order_summaries_in};
use super::rules::{bids_of, load_order, may_view};

/// What a new order may be tagged with and paid by: the choices of the bot's new-order form
/// (C0de seed: stack markers, then the preferred payment method) and of the staff's form.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrderChoices {
    /// Every marker of the organization, by id.
    pub markers: Vec<Marker>,
    /// The active payment methods, by id.
    pub payment_methods: Vec<PaymentMethodChoice>,
    /// The typed ticket fields the form asks after its own steps, in order (the tickets
    /// module; empty when it is off).
    pub fields: FieldSet,
}

/// A payment method as someone choosing it sees it: its name, not its template (which holds
/// the organization's account details and is sent only with payment details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentMethodChoice {
    /// The method.
    pub id: PaymentMethodId,
    /// Its name (`Bank transfer`).
    pub name: String,
}

/// The markers and payment methods a new order created by `actor` may carry, as
/// [`Tx::create_order`](crate::Tx::create_order) accepts them: every marker of the organization and every active
/// payment method. For customers (their own new order), staff with `moderate_orders` and the
/// system. Reads the markers and payment methods tables of the snapshot.
///
/// # Errors
/// Permission denied for staff without `moderate_orders` (and disabled users); not found for
/// an unknown customer.
pub fn new_order_choices_in(view: &impl View, actor: &Actor) -> Result<NewOrderChoices> {
    match resolve(view, actor)? {
        Resolved::Customer(customer) => {
            load_customer(view, actor.org, customer)?;
        }
        resolved => {
            if !resolved.has(Permission::ModerateOrders) {
                return Err(Error::denied(
                    Permission::ModerateOrders,
                    format!("{} may not create orders for customers", actor.who),
                ));
            }
        }
    }
    Ok(NewOrderChoices {
        markers: crate::services::team::list_markers_in(view, actor.org)?,
        payment_methods: crate::services::billing::payment_methods_in(view, actor.org)?
            .into_iter()
            .filter(|method| method.active)
            .map(|method| PaymentMethodChoice {
                id: method.id,
                name: method.name,
            })
            .collect(),
        fields: crate::services::tickets::fields::fields_of(view, actor.org)?,
    })
}

/// Reads one order if the actor may see it. Used by every adapter.
pub fn order_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<Order> {
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    let record = load_order(view, actor.org, order)?;
    if may_view(view, &resolved, &org, &record)? {
        Ok(record)
    } else {
        Err(Error::not_found(OrderId::LABEL, order))
    }
}

/// Lists orders the actor may see, newest first, with filters and keyset pagination (the
/// cursor is the last order id of the previous page). Customers see only their own orders.
///
/// Pages through the list rows as [`order_summaries_in`] does, then reads the whole record
/// of each order on the page (for those who need descriptions, attachments and custom
/// fields: the API, the bot's list, the export). A list page reads [`order_rows_in`](super::order_rows_in).
///
/// # Errors
/// As [`order_summaries_in`].
pub fn list_orders_in(
    view: &impl View,
    actor: &Actor,
    filter: &OrderFilter,
    page: Page,
) -> Result<Paged<Order>> {
    let rows = order_summaries_in(view, actor, filter, page)?;
    let mut items = Vec::with_capacity(rows.items.len());
    for row in rows.items {
        items.push(load_order(view, actor.org, row.id)?);
    }
    Ok(Paged {
        items,
        next: rows.next,
    })
}

/// The bids on an order, oldest first, for those who may see the order.
pub fn bids_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<Vec<Bid>> {
    order_in(view, actor, order)?;
    if matches!(actor.who, ActorRef::Customer(_)) {
        return Err(Error::forbidden("customers do not see bids"));
    }
    bids_of(view, actor.org, order)
}

/// A stage of the pipeline with the number of orders in it.
#[derive(Debug, Clone, PartialEq)]
pub struct StageCount {
    /// The stage.
    pub stage: Stage,
    /// How many orders it holds (kept up to date by every write, read in constant time).
    pub orders: u64,
}

/// The number of orders in each stage, in pipeline order (the dashboard's counts). Any staff
/// user of the organization and the system may read them; customers may not.
///
/// # Errors
/// Permission denied for customers and disabled users.
pub fn stage_counts_in(view: &impl View, actor: &Actor) -> Result<Vec<StageCount>> {
    if matches!(resolve(view, actor)?, Resolved::Customer(_)) {
        return Err(Error::forbidden("customers use the bot"));
    }
    stage_counts_of(view, actor.org)
}

pub(super) fn stage_counts_of(view: &impl View, org: OrgId) -> Result<Vec<StageCount>> {
    let organization = load_org(view, org)?;
    let mut out = Vec::new();
    for stage in organization.pipeline.stages {
        let orders = view.counter(tables::ORDER_COUNTS, &Key::org(org).u16(stage.id.0))?;
        out.push(StageCount { stage, orders });
    }
    Ok(out)
}

impl crate::system::System<'_> {
    /// Every order of `org`, oldest first (exports and verification).
    pub fn all_orders(&self, org: OrgId) -> Result<Vec<Order>> {
        self.crm
            .read(|view| view.records_with_prefix(tables::ORDERS, &Key::org(org)))
    }
}

impl Crm {
    /// See [`new_order_choices_in`].
    ///
    /// # Errors
    /// See [`new_order_choices_in`].
    pub fn new_order_choices(&self, actor: &Actor) -> Result<NewOrderChoices> {
        self.read(|view| new_order_choices_in(view, actor))
    }

    /// See [`order_in`].
    ///
    /// # Errors
    /// Not found (also when the actor may not see it).
    pub fn order(&self, actor: &Actor, order: OrderId) -> Result<Order> {
        self.read(|view| order_in(view, actor, order))
    }

    /// See [`list_orders_in`].
    ///
    /// # Errors
    /// Permission denied for staff without `view_orders` or `moderate_orders`.
    pub fn list_orders(
        &self,
        actor: &Actor,
        filter: &OrderFilter,
        page: Page,
    ) -> Result<Paged<Order>> {
        self.read(|view| list_orders_in(view, actor, filter, page))
    }

    /// See [`bids_in`].
    ///
    /// # Errors
    /// Not found; customers are refused.
    pub fn bids(&self, actor: &Actor, order: OrderId) -> Result<Vec<Bid>> {
        self.read(|view| bids_in(view, actor, order))
    }

    /// See [`stage_counts_in`].
    ///
    /// # Errors
    /// See [`stage_counts_in`].
    pub fn stage_counts(&self, actor: &Actor) -> Result<Vec<StageCount>> {
        self.read(|view| stage_counts_in(view, actor))
    }
}
