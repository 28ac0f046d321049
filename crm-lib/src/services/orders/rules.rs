//! The order rules every command, query and view applies: loading and saving an order,
//! who may see it, which stages it may move to and why not, the open-order limit, field
//! checks, delegated access (grants), bids.

use crate::model::*;
use crate::services::customers::load_customer;
use crate::services::team::linked_staff_with;
use crate::services::{Resolved, clean_text, load_org};
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Error, Result, Tx, View};

/// The markers of a new order without duplicates, in the order given, each one of the
/// organization's.
///
/// # Errors
/// Invalid input on `markers` naming the first id that is not a marker of `org` (never one,
/// or deleted since the form showed it).
pub(super) fn checked_markers(
    view: &impl View,
    org: OrgId,
    markers: Vec<MarkerId>,
) -> Result<Vec<MarkerId>> {
    let mut unique = Vec::with_capacity(markers.len());
    for marker in markers {
        if !unique.contains(&marker) {
            unique.push(marker);
        }
    }
    for marker in &unique {
        if !view.exists(tables::MARKERS, &Key::org(org).u64(marker.0))? {
            return Err(Error::invalid(
                "markers",
                format!("marker {marker} not found; choose among the organization's markers"),
            ));
        }
    }
    Ok(unique)
}

/// Checks that `method` is an active payment method of `org`, as a new order's preferred one.
///
/// # Errors
/// Invalid input on `preferred_payment_method` for an unknown or a switched-off method.
pub(super) fn check_preferred_payment_method(
    view: &impl View,
    org: OrgId,
    method: PaymentMethodId,
) -> Result<()> {
    let record: Option<PaymentMethod> =
        view.get(tables::PAYMENT_METHODS, &Key::org(org).u64(method.0))?;
    match record {
        None => Err(Error::invalid(
            "preferred_payment_method",
            format!("payment method {method} not found"),
        )),
        Some(record) if !record.active => Err(Error::invalid(
            "preferred_payment_method",
            format!(
                "payment method {method} ({}) is switched off; choose an active one",
                record.name
            ),
        )),
        Some(_) => Ok(()),
    }
}

pub(crate) fn load_order(view: &impl View, org: OrgId, order: OrderId) -> Result<Order> {
    view.get(tables::ORDERS, &Key::org(org).u64(order.0))?
        .ok_or_else(|| Error::not_found(OrderId::LABEL, order))
}

pub(crate) fn stage_of(org: &Organization, stage: StageId) -> Result<&Stage> {
    org.pipeline
        .stage(stage)
        .ok_or_else(|| Error::corrupt(format!("stage {stage} is not in the pipeline")))
}

/// Replaces a stored order, moving the index entries and the stage counter its declaration
/// (`store::declarations`) says changed, and the dashboard's aggregates when a counted field
/// (stage, price, budget) changed.
pub(crate) fn save_order(tx: &Tx<'_>, org: OrgId, before: &Order, after: &Order) -> Result<()> {
    tx.update_record(&Key::org(org).u64(after.id.0), before, after)?;
    crate::services::analytics::aggregates::order_saved(tx, org, before, after)
}

/// The customer's orders that are not in a terminal stage.
pub(crate) fn open_orders_of(
    view: &impl View,
    org: &Organization,
    customer: CustomerId,
) -> Result<u32> {
    let mut open = 0;
    for key in view.keys_with_prefix(
        tables::ORDERS_BY_CUSTOMER,
        &Key::org(org.id).u64(customer.0),
        None,
        false,
        usize::MAX,
    )? {
        let order = load_order(view, org.id, OrderId(keys::tail_u64(&key)))?;
        if !stage_of(org, order.stage)?.kind.is_terminal() {
            open += 1;
        }
    }
    Ok(open)
}

/// Refuses a new order when the customer already holds the organization's limit of open
/// orders (0 means no limit); the one place the limit is written.
pub(crate) fn check_open_order_limit(
    view: &impl View,
    org: &Organization,
    customer: CustomerId,
) -> Result<()> {
    let limit = org.settings.open_order_limit;
    if limit > 0 {
        let open = open_orders_of(view, org, customer)?;
        if open >= limit {
            return Err(Error::conflict(format!(
                "customer {customer} already has {open} open orders; the limit is {limit}"
            )));
        }
    }
    Ok(())
}

/// Whether the customer acting may start a new order now: the same open-order limit check
/// [`Tx::create_order`] makes, so the bot can say so before a customer fills in a form.
/// Other actors always may (their permission is checked on creation).
///
/// # Errors
/// Conflict when the limit is reached (the message gives the limit); not found for an
/// unknown customer.
pub fn check_new_order_allowed_in(view: &impl View, actor: &Actor) -> Result<()> {
    let ActorRef::Customer(customer) = actor.who else {
        return Ok(());
    };
    let org = load_org(view, actor.org)?;
    load_customer(view, actor.org, customer)?;
    check_open_order_limit(view, &org, customer)
}

/// One typed-in field of a new order, for checking it on its own (a step of the bot's form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    /// The title.
    Title,
    /// The description.
    Description,
    /// The budget.
    Budget,
    /// The deadline.
    Deadline,
}

/// Checks one field of a new order with exactly the rules [`Tx::create_order`] applies (title
/// 1-200 and description 1-4000 characters, budget a positive amount, deadline `YYYY-MM-DD`
/// not before `not_before`), so a form can explain a mistake at the step where it was made.
/// An empty budget or deadline is accepted (the field is optional).
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] naming the field.
pub fn check_order_field(field: OrderField, text: &str, not_before: Option<Date>) -> Result<()> {
    let placeholder = "x";
    match field {
        OrderField::Title => validate_order_fields(text, placeholder, None, None, None),
        OrderField::Description => validate_order_fields(placeholder, text, None, None, None),
        OrderField::Budget => validate_order_fields(
            placeholder,
            placeholder,
            typed_money("budget", text)?,
            None,
            None,
        ),
        OrderField::Deadline => validate_order_fields(
            placeholder,
            placeholder,
            None,
            typed_date("deadline", text)?,
            not_before,
        ),
    }
    .map(|_| ())
}

/// An optional amount as people type it: empty is `None`, anything else [`Money::parse`].
///
/// # Errors
/// Invalid input on `field`.
pub fn typed_money(field: &'static str, text: &str) -> Result<Option<Money>> {
    match text.trim() {
        "" => Ok(None),
        text => Money::parse(field, text).map(Some),
    }
}

/// An optional date as people type it: empty is `None`, anything else [`Date::parse`].
///
/// # Errors
/// Invalid input on `field`.
pub fn typed_date(field: &'static str, text: &str) -> Result<Option<Date>> {
    match text.trim() {
        "" => Ok(None),
        text => Date::parse(field, text).map(Some),
    }
}

/// What decides who may see an order and where it may move, the same on a whole record and
/// on its list row ([`OrderSummary`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    id: OrderId,
    customer: CustomerId,
    stage: StageId,
    assignee: Option<UserId>,
}

impl From<&Order> for Placement {
    fn from(order: &Order) -> Self {
        Placement {
            id: order.id,
            customer: order.customer,
            stage: order.stage,
            assignee: order.assignee,
        }
    }
}

impl From<&OrderSummary> for Placement {
    fn from(order: &OrderSummary) -> Self {
        Placement {
            id: order.id,
            customer: order.customer,
            stage: order.stage,
            assignee: order.assignee,
        }
    }
}

/// Whether `resolved` may see `order` (customers: their own; moderators: orders in
/// moderation; `view_orders`: every other order; assignees: theirs; anyone with an unexpired
/// order-level grant of `view_orders` on it, see [`crate::staffing`]). The grant is read only
/// when nothing else allows it, so a listing by someone with `view_orders` reads no grant.
pub(crate) fn may_view(
    view: &impl View,
    resolved: &Resolved,
    org: &Organization,
    order: impl Into<Placement>,
) -> Result<bool> {
    let order: Placement = order.into();
    Ok(match resolved {
        Resolved::System => true,
        Resolved::Customer(customer) => order.customer == *customer,
        Resolved::Staff(user, permissions) => {
            let moderation = stage_of(org, order.stage)?.kind == StageKind::Moderation;
            order.assignee == Some(user.id)
                || (moderation && permissions.contains(Permission::ModerateOrders))
                || (!moderation && permissions.contains(Permission::ViewOrders))
                || has_grant(view, org.id, order.id, user.id, Permission::ViewOrders)?
        }
    })
}

/// The typed-in fields of an order, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderFields {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) budget: Option<Money>,
    pub(crate) deadline: Option<Date>,
}

/// Validates an order's typed-in fields, the one place these rules are written (creation in
/// the bot or the browser, and CSV import): title 1-200 and description 1-4000 characters;
/// budget empty or a positive amount; deadline empty or `YYYY-MM-DD`, not before `not_before`
/// when given (a customer's deadline may not be in the past).
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] naming the first bad field.
pub(crate) fn validate_order_fields(
    title: &str,
    description: &str,
    budget: Option<Money>,
    deadline: Option<Date>,
    not_before: Option<Date>,
) -> Result<OrderFields> {
    let title = clean_text("title", title, 1, 200)?;
    let description = clean_text("description", description, 1, 4000)?;
    if budget.is_some_and(|amount| amount.0 <= 0) {
        return Err(Error::invalid("budget", "must be more than zero"));
    }
    if let Some(date) = deadline
        && not_before.is_some_and(|earliest| date < earliest)
    {
        return Err(Error::invalid("deadline", format!("{date} is in the past")));
    }
    Ok(OrderFields {
        title,
        description,
        budget,
        deadline,
    })
}

/// Queues `event` for every staff user of `org` who has `permission` and a linked Telegram
/// account.
pub(super) fn notify_staff_with(
    tx: &Tx<'_>,
    org: OrgId,
    permission: Permission,
    event: &Event,
) -> Result<()> {
    for user in linked_staff_with(tx, org, permission)? {
        tx.enqueue(
            org,
            Recipient::Staff(user.id),
            OutboxPayload::Notify(event.clone()),
        )?;
    }
    Ok(())
}

pub(crate) use crate::store::declarations::grant_key;

/// Whether `resolved` may chat about `order`: `chat_customers`, or an order-level grant of it
/// on that order (the assignee's chat access, C0de seed). The system always may.
pub(crate) fn may_chat(
    view: &impl View,
    org: OrgId,
    resolved: &Resolved,
    order: Option<OrderId>,
) -> Result<bool> {
    if resolved.has(Permission::ChatCustomers) {
        return Ok(true);
    }
    match (resolved, order) {
        (Resolved::Staff(user, _), Some(order)) => {
            has_grant(view, org, order, user.id, Permission::ChatCustomers)
        }
        _ => Ok(false),
    }
}

/// Whether `user` holds `permission` on `order` through an order-level grant.
pub(crate) fn has_grant(
    view: &impl View,
    org: OrgId,
    order: OrderId,
    user: UserId,
    permission: Permission,
) -> Result<bool> {
    let grant: Option<OrderGrant> =
        view.get(tables::GRANTS, &grant_key(org, order, user, permission))?;
    Ok(grant.is_some_and(|grant| grant.expires_at.is_none_or(|at| at > view.now())))
}

pub(crate) fn bids_of(view: &impl View, org: OrgId, order: OrderId) -> Result<Vec<Bid>> {
    view.records_by_index(
        org,
        tables::BIDS_BY_ORDER,
        &Key::org(org).u64(order.0),
        tables::BIDS,
    )
}

/// Why an actor holding `permissions` (staff user `user`, if one) may not move `order` along
/// `transition` to `target`, or `None` when they may: they hold the transition's permission;
/// a holder of `update_order_status` alone is the assignee (a manager, holding
/// `assign_orders`, may move any order; C0de seed); a stage that requires an assignee refuses
/// an unassigned order. The one place these rules are written: [`Tx::move_order`] returns the
/// refusal, [`allowed_moves`] offers the stages without one.
pub(super) fn move_refusal(
    permissions: PermissionSet,
    user: Option<UserId>,
    order: Placement,
    transition: &Transition,
    target: &Stage,
) -> Option<Error> {
    if !permissions.contains(transition.permission) {
        return Some(Error::denied(
            transition.permission,
            format!("the {} permission is needed", transition.permission),
        ));
    }
    if transition.permission == Permission::UpdateOrderStatus
        && !permissions.contains(Permission::AssignOrders)
        && user.is_some()
        && order.assignee != user
    {
        return Some(Error::forbidden(format!(
            "only the assignee or a manager may move order {}",
            order.id
        )));
    }
    if target.requires_assignee && order.assignee.is_none() {
        return Some(Error::conflict(format!(
            "order {} needs an assignee before it can move to {}",
            order.id,
            target.name(Language::EN)
        )));
    }
    None
}

/// The stages an actor holding `permissions` (staff user `user`, if one) may move `order` to
/// in one step, in board order: the pipeline's transitions without a [`move_refusal`]. Moves
/// out of moderation are left out (they go through approve and reject).
pub(crate) fn allowed_moves(
    org: &Organization,
    permissions: PermissionSet,
    user: Option<UserId>,
    order: impl Into<Placement>,
) -> Vec<&Stage> {
    let order: Placement = order.into();
    let Some(from) = org.pipeline.stage(order.stage) else {
        return Vec::new();
    };
    if from.kind == StageKind::Moderation {
        return Vec::new();
    }
    org.pipeline
        .stages
        .iter()
        .filter(|stage| {
            org.pipeline
                .transition(from.id, stage.id)
                .is_some_and(|transition| {
                    move_refusal(permissions, user, order, transition, stage).is_none()
                })
        })
        .collect()
}

/// Who tells the staff of a new order (`Tx::create_order_announced`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Announce {
    /// The order's own notification (`Event::OrderCreated`) to the moderators or assigners.
    Staff,
    /// The message posted with it in the same transaction (a bot-made lead's first message,
    /// whose `Event::LeadWrote` alerts the managers).
    ByFirstMessage,
}
