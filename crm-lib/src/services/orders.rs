//! Orders: creation with the open-order limit, moderation, bids, assignment, stage moves with
//! the pipeline's rules, deletion by the customer, listing with filters and keyset pages.

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::customers::load_customer;
use super::order_rows::{Names, load_summary, rows_of};
pub use super::order_rows::{
    OrderList, OrderRow, order_list_in, order_rows_in, order_summaries_in,
};
use super::team::{linked_staff_with, load_user};
use super::{Page, Paged, Resolved, clean_text, load_org, require, resolve};

/// A new order, every field as typed by a person.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewOrder {
    /// For staff and the system: the customer the order is for. Ignored for customers (they
    /// order for themselves).
    pub customer: Option<CustomerId>,
    /// Title, 1-200 characters.
    pub title: String,
    /// Description, 1-4000 characters.
    pub description: String,
    /// The most the customer will pay, more than zero; `None` to leave it open. Parse what
    /// people type with [`Money::parse`].
    pub budget: Option<Money>,
    /// When they need it; `None` for no deadline. A customer's deadline may not be in the past.
    /// Parse typed dates with [`Date::parse`].
    pub deadline: Option<Date>,
    /// Files already stored ([`crate::system::System::store_media`], the bot's downloads).
    pub attachments: Vec<MediaHash>,
    /// Markers to tag the order with: any of the organization's markers (see
    /// [`new_order_choices_in`]), chosen by the customer in the bot's form or by staff.
    /// Duplicates are dropped and the order is kept.
    pub markers: Vec<MarkerId>,
    /// How the customer would like to pay: an active payment method of the organization (see
    /// [`new_order_choices_in`]); `None` when they did not say.
    pub preferred_payment_method: Option<PaymentMethodId>,
    /// Extra fields.
    pub custom_fields: BTreeMap<String, FieldValue>,
}

/// What a new order may be tagged with and paid by: the choices of the bot's new-order form
/// (C0de seed: stack markers, then the preferred payment method) and of the staff's form.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrderChoices {
    /// Every marker of the organization, by id.
    pub markers: Vec<Marker>,
    /// The active payment methods, by id.
    pub payment_methods: Vec<PaymentMethodChoice>,
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
/// [`Tx::create_order`] accepts them: every marker of the organization and every active
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
        markers: super::team::list_markers_in(view, actor.org)?,
        payment_methods: super::billing::payment_methods_in(view, actor.org)?
            .into_iter()
            .filter(|method| method.active)
            .map(|method| PaymentMethodChoice {
                id: method.id,
                name: method.name,
            })
            .collect(),
    })
}

/// Who an order is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignTo {
    /// The author of this bid, at its price.
    Bid(BidId),
    /// This user, without a bid (the price stays unset or as it was).
    User(UserId),
}

/// Filters of the order list; all set filters must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// In this stage.
    pub stage: Option<StageId>,
    /// Assigned to this user.
    pub assignee: Option<UserId>,
    /// Of this customer.
    pub customer: Option<CustomerId>,
    /// Tagged with this marker.
    pub marker: Option<MarkerId>,
    /// Every word of this text starts a word of the title (case-insensitive).
    pub search: Option<String>,
    /// Created on or after this day.
    pub created_from: Option<Date>,
    /// Created on or before this day.
    pub created_to: Option<Date>,
}

/// The largest number of candidate orders a title search gathers before filtering.
pub const SEARCH_CANDIDATES: usize = 20_000;

/// The markers of a new order without duplicates, in the order given, each one of the
/// organization's.
///
/// # Errors
/// Invalid input on `markers` naming the first id that is not a marker of `org` (never one,
/// or deleted since the form showed it).
fn checked_markers(view: &impl View, org: OrgId, markers: Vec<MarkerId>) -> Result<Vec<MarkerId>> {
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
fn check_preferred_payment_method(
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
/// (`store::declarations`) says changed.
pub(crate) fn save_order(tx: &Tx<'_>, org: OrgId, before: &Order, after: &Order) -> Result<()> {
    tx.update_record(&Key::org(org).u64(after.id.0), before, after)
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
fn notify_staff_with(tx: &Tx<'_>, org: OrgId, permission: Permission, event: &Event) -> Result<()> {
    for user in linked_staff_with(tx, org, permission)? {
        tx.enqueue(
            org,
            Recipient::Staff(user.id),
            OutboxPayload::Notify(event.clone()),
        )?;
    }
    Ok(())
}

impl Tx<'_> {
    /// Creates an order in the pipeline's first stage and tells the moderators.
    ///
    /// Rules: title 1-200 and description 1-4000 characters; budget a positive amount; a
    /// customer's deadline not in the past; markers among the organization's (the customer
    /// chooses them as staff do; duplicates are dropped); the preferred payment method, when
    /// given, an active one of the organization; attached files stored; the customer holds
    /// fewer open orders than the organization's limit (C0de seed: 2 by default). The order,
    /// its audit entry (`order.created`), its change (`Created`) and the moderators'
    /// notifications are one write.
    ///
    /// # Errors
    /// Invalid input naming the field (`markers` for an unknown marker,
    /// `preferred_payment_method` for an unknown or switched-off method); not found for the
    /// customer or a file; conflict when the limit is reached (the message gives the limit);
    /// permission denied for staff without `moderate_orders`.
    pub fn create_order(&mut self, actor: &Actor, request: NewOrder) -> Result<Order> {
        let org = load_org(self, actor.org)?;
        let customer_id = match resolve(self, actor)? {
            Resolved::Customer(customer) => customer,
            resolved => {
                if !resolved.has(Permission::ModerateOrders) {
                    return Err(Error::denied(
                        Permission::ModerateOrders,
                        format!("{} may not create orders for customers", actor.who),
                    ));
                }
                request.customer.ok_or_else(|| {
                    Error::invalid("customer", "choose the customer the order is for")
                })?
            }
        };
        let customer = load_customer(self, actor.org, customer_id)?;
        let not_before = match actor.who {
            ActorRef::Customer(_) => Some(Date::of(self.now())),
            _ => None,
        };
        let OrderFields {
            title,
            description,
            budget,
            deadline,
        } = validate_order_fields(
            &request.title,
            &request.description,
            request.budget,
            request.deadline,
            not_before,
        )?;
        let markers = checked_markers(self, actor.org, request.markers)?;
        if let Some(method) = request.preferred_payment_method {
            check_preferred_payment_method(self, actor.org, method)?;
        }
        for media in &request.attachments {
            if !self.exists(tables::MEDIA, &Key::org(actor.org).bytes(&media.0))? {
                return Err(Error::not_found("media", media));
            }
        }
        check_open_order_limit(self, &org, customer_id)?;
        let id = OrderId(self.next_id(actor.org, "order")?);
        let order = Order {
            id,
            customer: customer_id,
            title,
            description,
            budget,
            deadline,
            stage: org.pipeline.initial().id,
            assignee: None,
            price: None,
            markers,
            priority: 0,
            rejection_reason: None,
            attachments: request.attachments,
            custom_fields: request.custom_fields,
            preferred_payment_method: request.preferred_payment_method,
            created_at: self.now(),
            updated_at: self.now(),
        };
        self.insert_record(&Key::org(actor.org).u64(id.0), &order)?;
        let event = Event::OrderCreated {
            order: id,
            title: order.title.clone(),
            customer_name: customer.full_name(),
            budget,
        };
        let notify = if org.pipeline.initial().kind == StageKind::Moderation {
            Permission::ModerateOrders
        } else {
            Permission::AssignOrders
        };
        notify_staff_with(self, actor.org, notify, &event)?;
        self.audit(
            actor,
            AuditAction::OrderCreated,
            Subject::Order(id),
            AuditDetail::OrderCreated {
                title: order.title.clone(),
                customer: customer_id,
            },
        )?;
        self.changed(actor.org, Subject::Order(id), ChangeKind::Created)?;
        Ok(order)
    }

    /// Approves an order waiting in moderation: moves it to the first open stage the pipeline
    /// allows from there, and tells the customer. Needs `moderate_orders`.
    ///
    /// # Errors
    /// Not found; permission denied; conflict when the order is not in moderation.
    pub fn approve_order(&mut self, actor: &Actor, order: OrderId) -> Result<Order> {
        self.moderate(actor, order, None)
    }

    /// Rejects an order waiting in moderation with a reason (1-500 characters) the customer
    /// is told. Needs `moderate_orders`.
    ///
    /// # Errors
    /// As [`Tx::approve_order`], plus invalid input for the reason.
    pub fn reject_order(&mut self, actor: &Actor, order: OrderId, reason: &str) -> Result<Order> {
        // The permission comes first, so that someone who may not moderate learns nothing
        // from the validation.
        require(self, actor, Permission::ModerateOrders)?;
        let reason = clean_text("reason", reason, 1, 500)?;
        self.moderate(actor, order, Some(reason))
    }

    fn moderate(
        &mut self,
        actor: &Actor,
        order_id: OrderId,
        rejection: Option<String>,
    ) -> Result<Order> {
        require(self, actor, Permission::ModerateOrders)?;
        let org = load_org(self, actor.org)?;
        let order = load_order(self, actor.org, order_id)?;
        let stage = stage_of(&org, order.stage)?;
        if stage.kind != StageKind::Moderation {
            return Err(Error::conflict(format!(
                "order {order_id} is not waiting for moderation (it is {})",
                stage.name(Language::EN)
            )));
        }
        let wanted = if rejection.is_some() {
            StageKind::Lost
        } else {
            StageKind::Open
        };
        let target = org
            .pipeline
            .next_stages(order.stage)
            .into_iter()
            .find(|next| next.kind == wanted)
            .ok_or_else(|| {
                Error::conflict(format!(
                    "the pipeline has no {wanted:?} stage after {}",
                    stage.name(Language::EN)
                ))
            })?;
        let mut after = order.clone();
        after.stage = target.id;
        after.rejection_reason = rejection.clone();
        after.updated_at = self.now();
        save_order(self, actor.org, &order, &after)?;
        let event = match &rejection {
            Some(reason) => Event::OrderRejected {
                order: order_id,
                title: after.title.clone(),
                reason: reason.clone(),
            },
            None => Event::OrderApproved {
                order: order_id,
                title: after.title.clone(),
            },
        };
        self.enqueue(
            actor.org,
            Recipient::Customer(after.customer),
            OutboxPayload::Notify(event),
        )?;
        let action = if rejection.is_some() {
            AuditAction::OrderRejected
        } else {
            AuditAction::OrderApproved
        };
        let detail = AuditDetail::StageMove {
            from: stage.id,
            to: target.id,
            reason: rejection,
        };
        self.audit(actor, action, Subject::Order(order_id), detail)?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Moves an order to another stage along an allowed transition, and tells the customer.
    ///
    /// Rules (SPEC section 2, C0de seed): the pipeline must allow `from -> to`; the actor needs
    /// the transition's permission; with `update_order_status` only, the actor must be the
    /// assignee (a manager, who holds `assign_orders`, may move any order); a stage that
    /// requires an assignee refuses an unassigned order. Moves out of moderation go through
    /// approve and reject.
    ///
    /// # Errors
    /// Not found; permission denied; conflict naming the allowed stages.
    pub fn move_order(&mut self, actor: &Actor, order_id: OrderId, to: StageId) -> Result<Order> {
        let resolved = resolve(self, actor)?;
        let org = load_org(self, actor.org)?;
        let order = load_order(self, actor.org, order_id)?;
        if !may_view(self, &resolved, &org, &order)? {
            return Err(Error::not_found(OrderId::LABEL, order_id));
        }
        let from = stage_of(&org, order.stage)?;
        let target = org
            .pipeline
            .stage(to)
            .ok_or_else(|| Error::invalid("stage", format!("stage {to} is not in the pipeline")))?;
        if from.id == target.id {
            return Ok(order);
        }
        let transition = org.pipeline.transition(from.id, to).ok_or_else(|| {
            let allowed: Vec<&str> = org
                .pipeline
                .next_stages(from.id)
                .iter()
                .map(|stage| stage.name(Language::EN))
                .collect();
            Error::conflict(format!(
                "order {order_id} cannot move from {} to {}; allowed: {}",
                from.name(Language::EN),
                target.name(Language::EN),
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            ))
        })?;
        if from.kind == StageKind::Moderation && transition.permission == Permission::ModerateOrders
        {
            return match target.kind {
                StageKind::Lost => Err(Error::invalid(
                    "reason",
                    "rejecting an order needs a reason; use reject",
                )),
                _ => self.approve_order(actor, order_id),
            };
        }
        if let Some(refusal) = move_refusal(
            resolved.permissions(),
            resolved.user_id(),
            Placement::from(&order),
            transition,
            target,
        ) {
            return Err(refusal);
        }
        let mut after = order.clone();
        after.stage = target.id;
        after.updated_at = self.now();
        save_order(self, actor.org, &order, &after)?;
        let event = Event::StageChanged {
            order: order_id,
            title: after.title.clone(),
            stage: target.id,
            stage_name: target.name.clone(),
        };
        self.enqueue(
            actor.org,
            Recipient::Customer(after.customer),
            OutboxPayload::Notify(event),
        )?;
        self.audit(
            actor,
            AuditAction::OrderStageChanged,
            Subject::Order(order_id),
            AuditDetail::StageMove {
                from: from.id,
                to: target.id,
                reason: None,
            },
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Deletes an order at its customer's request, while its stage allows it (C0de seed:
    /// pending or rejected). Only the customer who placed it may.
    ///
    /// # Errors
    /// Not found (also for another customer's order); conflict in other stages.
    pub fn delete_order(&mut self, actor: &Actor, order_id: OrderId) -> Result<Order> {
        let ActorRef::Customer(customer) = actor.who else {
            return Err(Error::forbidden(
                "only the customer who placed an order may delete it",
            ));
        };
        let org = load_org(self, actor.org)?;
        let order = load_order(self, actor.org, order_id)?;
        if order.customer != customer {
            return Err(Error::not_found(OrderId::LABEL, order_id));
        }
        let stage = stage_of(&org, order.stage)?;
        if !stage.customer_deletable {
            return Err(Error::conflict(format!(
                "order {order_id} is {} and can no longer be deleted",
                stage.name(Language::EN)
            )));
        }
        let bids = self.keys_with_prefix(
            tables::BIDS_BY_ORDER,
            &Key::org(actor.org).u64(order_id.0),
            None,
            false,
            usize::MAX,
        )?;
        for key in bids {
            let bid_key = Key::org(actor.org).u64(keys::tail_u64(&key));
            match self.get::<Bid>(tables::BIDS, &bid_key)? {
                Some(bid) => self.delete_record(&bid_key, &bid)?,
                None => {
                    self.remove(tables::BIDS_BY_ORDER, &Key::empty().bytes(&key))?;
                }
            }
        }
        self.delete_record(&Key::org(actor.org).u64(order_id.0), &order)?;
        self.audit(
            actor,
            AuditAction::OrderDeleted,
            Subject::Order(order_id),
            AuditDetail::Text(order.title.clone()),
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Deleted)?;
        Ok(order)
    }

    /// Places a bid: a staff user's price for an order. Needs `respond_orders`; the stage must
    /// accept bids; the price must be positive and not above the customer's budget; one
    /// active bid per user and order. Tells staff with `assign_orders`.
    ///
    /// # Errors
    /// Invalid input on `price` (the message names both amounts when over budget); conflict;
    /// permission denied; not found.
    pub fn place_bid(
        &mut self,
        actor: &Actor,
        order_id: OrderId,
        price: Money,
        comment: &str,
    ) -> Result<Bid> {
        let resolved = require(self, actor, Permission::RespondOrders)?;
        let user_id = resolved
            .user_id()
            .ok_or_else(|| Error::forbidden("only staff users place bids"))?;
        let org = load_org(self, actor.org)?;
        let order = load_order(self, actor.org, order_id)?;
        if !may_view(self, &resolved, &org, &order)? {
            return Err(Error::not_found(OrderId::LABEL, order_id));
        }
        let stage = stage_of(&org, order.stage)?;
        if !stage.accepts_bids {
            return Err(Error::conflict(format!(
                "order {order_id} is {} and takes no bids",
                stage.name(Language::EN)
            )));
        }
        if price.0 <= 0 {
            return Err(Error::invalid("price", "must be more than zero"));
        }
        if let Some(budget) = order.budget
            && price > budget
        {
            let currency = &org.settings.currency;
            return Err(Error::invalid(
                "price",
                format!(
                    "bid {price} {currency} is over the customer's budget of {budget} {currency}"
                ),
            ));
        }
        let comment = super::optional_text("comment", Some(comment), 1000)?.unwrap_or_default();
        for bid in bids_of(self, actor.org, order_id)? {
            if bid.user == user_id && bid.state == BidState::Active {
                return Err(Error::conflict(format!(
                    "you already have a bid of {} on order {order_id}",
                    bid.price
                )));
            }
        }
        let id = BidId(self.next_id(actor.org, "bid")?);
        let bid = Bid {
            id,
            order: order_id,
            user: user_id,
            price,
            comment,
            state: BidState::Active,
            created_at: self.now(),
        };
        self.insert_record(&Key::org(actor.org).u64(id.0), &bid)?;
        let bidder = load_user(self, actor.org, user_id)?.display_name;
        let event = Event::BidPlaced {
            order: order_id,
            title: order.title.clone(),
            bidder,
            price,
            currency: org.settings.currency.clone(),
        };
        notify_staff_with(self, actor.org, Permission::AssignOrders, &event)?;
        self.audit(
            actor,
            AuditAction::BidPlaced,
            Subject::Order(order_id),
            AuditDetail::Bid { bid: id, price },
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
        Ok(bid)
    }

    /// Assigns an order: to a bid's author at the bid's price (the other active bids are
    /// declined), or to a user directly. The assignee gets chat access to the order (an
    /// order-level grant, C0de seed). Tells the customer and the assignee. Needs
    /// `assign_orders`.
    ///
    /// # Errors
    /// Not found; permission denied; conflict for orders in moderation or a terminal stage,
    /// a bid of another order or no longer active, a disabled assignee.
    pub fn assign_order(
        &mut self,
        actor: &Actor,
        order_id: OrderId,
        to: AssignTo,
    ) -> Result<Order> {
        require(self, actor, Permission::AssignOrders)?;
        let org = load_org(self, actor.org)?;
        let order = load_order(self, actor.org, order_id)?;
        let stage = stage_of(&org, order.stage)?;
        if stage.kind != StageKind::Open {
            return Err(Error::conflict(format!(
                "order {order_id} is {} and cannot be assigned",
                stage.name(Language::EN)
            )));
        }
        let bids = bids_of(self, actor.org, order_id)?;
        let (assignee_id, price, chosen) = match to {
            AssignTo::Bid(bid_id) => {
                let bid = bids
                    .iter()
                    .find(|bid| bid.id == bid_id)
                    .ok_or_else(|| Error::not_found(BidId::LABEL, bid_id))?;
                if bid.state != BidState::Active {
                    return Err(Error::conflict(format!("bid {bid_id} is no longer active")));
                }
                (bid.user, Some(bid.price), Some(bid_id))
            }
            AssignTo::User(user) => (user, order.price, None),
        };
        let assignee = load_user(self, actor.org, assignee_id)?;
        if assignee.status != UserStatus::Active {
            return Err(Error::conflict(format!(
                "user {} is disabled",
                assignee.username
            )));
        }
        if let Some(chosen) = chosen {
            for mut bid in bids.into_iter().filter(|bid| bid.state == BidState::Active) {
                bid.state = if bid.id == chosen {
                    BidState::Accepted
                } else {
                    BidState::Declined
                };
                self.put(tables::BIDS, &Key::org(actor.org).u64(bid.id.0), &bid)?;
            }
        }
        if let Some(previous) = order.assignee.filter(|previous| *previous != assignee_id) {
            self.remove(
                tables::GRANTS,
                &grant_key(actor.org, order_id, previous, Permission::ChatCustomers),
            )?;
        }
        let grant = OrderGrant {
            order: order_id,
            user: assignee_id,
            permission: Permission::ChatCustomers,
            expires_at: None,
        };
        self.put(
            tables::GRANTS,
            &grant_key(actor.org, order_id, assignee_id, Permission::ChatCustomers),
            &grant,
        )?;
        let mut after = order.clone();
        after.assignee = Some(assignee_id);
        after.price = price;
        after.updated_at = self.now();
        save_order(self, actor.org, &order, &after)?;
        let title = after.title.clone();
        let name = assignee.display_name.clone();
        self.enqueue(
            actor.org,
            Recipient::Customer(after.customer),
            OutboxPayload::Notify(Event::OrderAssigned {
                order: order_id,
                title: title.clone(),
                assignee: name.clone(),
                to_assignee: false,
            }),
        )?;
        if assignee.telegram_id.is_some() {
            self.enqueue(
                actor.org,
                Recipient::Staff(assignee_id),
                OutboxPayload::Notify(Event::OrderAssigned {
                    order: order_id,
                    title,
                    assignee: name,
                    to_assignee: true,
                }),
            )?;
        }
        self.audit(
            actor,
            AuditAction::OrderAssigned,
            Subject::Order(order_id),
            AuditDetail::Assigned {
                user: assignee_id,
                price,
            },
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
        Ok(after)
    }

    /// Sets an order's markers (needs `update_order_status` or `assign_orders`, and the order
    /// must be visible to the actor). Duplicates are dropped and the order is kept; setting the
    /// markers the order already has changes nothing and writes nothing.
    ///
    /// # Errors
    /// Not found (the order, also when the actor may not see it, or a marker); permission
    /// denied.
    pub fn set_order_markers(
        &mut self,
        actor: &Actor,
        order_id: OrderId,
        markers: Vec<MarkerId>,
    ) -> Result<Order> {
        let resolved = resolve(self, actor)?;
        if !resolved.has(Permission::AssignOrders) && !resolved.has(Permission::UpdateOrderStatus) {
            return Err(Error::denied(
                Permission::UpdateOrderStatus,
                format!("{} may not tag orders", actor.who),
            ));
        }
        let mut unique = Vec::with_capacity(markers.len());
        for marker in markers {
            if !unique.contains(&marker) {
                unique.push(marker);
            }
        }
        for marker in &unique {
            if !self.exists(tables::MARKERS, &Key::org(actor.org).u64(marker.0))? {
                return Err(Error::not_found(MarkerId::LABEL, marker));
            }
        }
        let order = order_in(self, actor, order_id)?;
        if order.markers == unique {
            return Ok(order);
        }
        let mut after = order.clone();
        after.markers = unique;
        after.updated_at = self.now();
        save_order(self, actor.org, &order, &after)?;
        self.audit(
            actor,
            AuditAction::OrderMarkersChanged,
            Subject::Order(order_id),
            AuditDetail::Markers {
                markers: after.markers.clone(),
            },
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
        Ok(after)
    }
}

pub(crate) fn grant_key(org: OrgId, order: OrderId, user: UserId, permission: Permission) -> Key {
    Key::org(org).u64(order.0).u64(user.0).u8(permission as u8)
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
    let mut bids = Vec::new();
    for key in view.keys_with_prefix(
        tables::BIDS_BY_ORDER,
        &Key::org(org).u64(order.0),
        None,
        false,
        usize::MAX,
    )? {
        let id = keys::tail_u64(&key);
        bids.push(
            view.get(tables::BIDS, &Key::org(org).u64(id))?
                .ok_or_else(|| crate::store::dangling("bids_by_order", &key))?,
        );
    }
    Ok(bids)
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
/// fields: the API, the bot's list, the export). A list page reads [`order_rows_in`].
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

fn stage_counts_of(view: &impl View, org: OrgId) -> Result<Vec<StageCount>> {
    let organization = load_org(view, org)?;
    let mut out = Vec::new();
    for stage in organization.pipeline.stages {
        let orders = view.counter(tables::ORDER_COUNTS, &Key::org(org).u16(stage.id.0))?;
        out.push(StageCount { stage, orders });
    }
    Ok(out)
}

macro_rules! write_method {
    ($(#[$meta:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[$meta])*
        pub fn $name(&self, actor: &Actor, $($arg: $ty),*) -> Result<$ret> {
            let actor = actor.clone();
            self.write(move |tx| tx.$name(&actor, $($arg),*))
        }
    };
}

impl Crm {
    write_method!(
        /// See [`Tx::create_order`].
        ///
        /// # Errors
        /// See [`Tx::create_order`].
        create_order(request: NewOrder) -> Order
    );
    write_method!(
        /// See [`Tx::approve_order`].
        ///
        /// # Errors
        /// See [`Tx::approve_order`].
        approve_order(order: OrderId) -> Order
    );
    write_method!(
        /// See [`Tx::move_order`].
        ///
        /// # Errors
        /// See [`Tx::move_order`].
        move_order(order: OrderId, to: StageId) -> Order
    );
    write_method!(
        /// See [`Tx::delete_order`].
        ///
        /// # Errors
        /// See [`Tx::delete_order`].
        delete_order(order: OrderId) -> Order
    );
    write_method!(
        /// See [`Tx::assign_order`].
        ///
        /// # Errors
        /// See [`Tx::assign_order`].
        assign_order(order: OrderId, to: AssignTo) -> Order
    );
    write_method!(
        /// See [`Tx::set_order_markers`].
        ///
        /// # Errors
        /// See [`Tx::set_order_markers`].
        set_order_markers(order: OrderId, markers: Vec<MarkerId>) -> Order
    );

    /// See [`Tx::reject_order`].
    ///
    /// # Errors
    /// See [`Tx::reject_order`].
    pub fn reject_order(&self, actor: &Actor, order: OrderId, reason: &str) -> Result<Order> {
        let (actor, reason) = (actor.clone(), reason.to_string());
        self.write(move |tx| tx.reject_order(&actor, order, &reason))
    }

    /// See [`Tx::place_bid`].
    ///
    /// # Errors
    /// See [`Tx::place_bid`].
    pub fn place_bid(
        &self,
        actor: &Actor,
        order: OrderId,
        price: Money,
        comment: &str,
    ) -> Result<Bid> {
        let (actor, comment) = (actor.clone(), comment.to_string());
        self.write(move |tx| tx.place_bid(&actor, order, price, &comment))
    }

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

/// Why an actor holding `permissions` (staff user `user`, if one) may not move `order` along
/// `transition` to `target`, or `None` when they may: they hold the transition's permission;
/// a holder of `update_order_status` alone is the assignee (a manager, holding
/// `assign_orders`, may move any order; C0de seed); a stage that requires an assignee refuses
/// an unassigned order. The one place these rules are written: [`Tx::move_order`] returns the
/// refusal, [`allowed_moves`] offers the stages without one.
fn move_refusal(
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

/// Everything the order page shows, from one snapshot.
#[derive(Debug, Clone)]
pub struct OrderDetail {
    /// The order.
    pub order: Order,
    /// Its stage.
    pub stage: Stage,
    /// The customer.
    pub customer: Customer,
    /// The assignee's display name.
    pub assignee_name: Option<String>,
    /// The order's markers.
    pub markers: Vec<Marker>,
    /// Bids, oldest first, with the bidder's display name.
    pub bids: Vec<BidLine>,
    /// What the actor may do with the order (crm-lib decides; the page only renders).
    pub actions: super::capabilities::OrderActions,
    /// The stages of `actions.moves`, in board order, for their names and colours.
    pub moves: Vec<Stage>,
    /// Payment details sent so far.
    pub payment_infos: Vec<PaymentInfo>,
    /// The assignee's payout at the agreed price, when there is one.
    pub payout: Option<Payout>,
    /// Audit entries about the order, oldest first.
    pub timeline: Vec<AuditEntry>,
    /// The names of the people and records the timeline refers to.
    pub timeline_names: super::audit::AuditNames,
    /// Whether the timeline was cut short (see [`super::audit::TIMELINE_LIMIT`]).
    pub timeline_cut: bool,
    /// Active payment methods, when the actor may send payment details (empty otherwise).
    pub payment_methods: Vec<PaymentMethod>,
    /// The payment method the customer said they would like to pay by (it may have been
    /// switched off since), when they said.
    pub preferred_payment_method: Option<PaymentMethod>,
    /// Active staff to assign to, when the actor may assign (empty otherwise).
    pub assignable: Vec<super::team::StaffName>,
    /// The organization's currency.
    pub currency: String,
}

/// A bid as the order page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BidLine {
    /// The bid.
    pub bid: Bid,
    /// The bidder's display name.
    pub bidder: String,
    /// Whether the actor may assign the order to the bidder at this price.
    pub accept: bool,
}

/// The order page's data for an actor who may see the order.
///
/// # Errors
/// Not found (also when the actor may not see the order); permission denied for customers.
pub fn order_detail_in(view: &impl View, actor: &Actor, order_id: OrderId) -> Result<OrderDetail> {
    if matches!(actor.who, ActorRef::Customer(_)) {
        return Err(Error::forbidden("customers use the bot"));
    }
    let order = order_in(view, actor, order_id)?;
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    let actions = super::capabilities::order_actions(view, actor, &resolved, &org, &order)?;
    let stage = stage_of(&org, order.stage)?.clone();
    let customer = load_customer(view, actor.org, order.customer)?;
    let assignee_name = order.assignee.map(|user| {
        load_user(view, actor.org, user)
            .map_or_else(|_| format!("user {user}"), |user| user.display_name)
    });
    let all_markers = super::team::list_markers_in(view, actor.org)?;
    let markers = all_markers
        .into_iter()
        .filter(|marker| order.markers.contains(&marker.id))
        .collect();
    let mut bids = Vec::new();
    for bid in bids_of(view, actor.org, order_id)? {
        let bidder = load_user(view, actor.org, bid.user)
            .map_or_else(|_| format!("user {}", bid.user), |user| user.display_name);
        // Choosing a bid is assigning the order at its price, while the bid stands.
        let accept = actions.assign && bid.state == BidState::Active;
        bids.push(BidLine {
            bid,
            bidder,
            accept,
        });
    }
    let moves = actions
        .moves
        .iter()
        .filter_map(|stage| org.pipeline.stage(*stage).cloned())
        .collect();
    let payment_infos = super::billing::payment_infos_in(view, actor, order_id)?;
    let payout = order
        .price
        .map(|price| super::billing::payout(&org.settings, price));
    let (timeline, timeline_cut) =
        super::audit::subject_timeline_in(view, actor.org, &Subject::Order(order.id))?;
    let timeline_names = super::audit::audit_names_in(view, actor.org, &timeline)?;
    let payment_methods = if actions.send_payment {
        super::billing::payment_methods_in(view, actor.org)?
            .into_iter()
            .filter(|method| method.active)
            .collect()
    } else {
        Vec::new()
    };
    let preferred_payment_method = match order.preferred_payment_method {
        Some(method) => view.get(tables::PAYMENT_METHODS, &Key::org(actor.org).u64(method.0))?,
        None => None,
    };
    let assignable = if actions.assign {
        super::team::staff_names_in(view, actor)?
            .into_iter()
            .filter(|user| user.active)
            .collect()
    } else {
        Vec::new()
    };
    Ok(OrderDetail {
        order,
        stage,
        customer,
        assignee_name,
        markers,
        bids,
        actions,
        moves,
        payment_infos,
        payout,
        timeline,
        timeline_names,
        timeline_cut,
        payment_methods,
        preferred_payment_method,
        assignable,
        currency: org.settings.currency,
    })
}

/// The dashboard: orders per stage, orders created today, and the actor's own open work.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Every stage in board order with its number of orders.
    pub stages: Vec<StageCount>,
    /// Orders created today (UTC).
    pub new_today: u64,
    /// Open orders assigned to the actor, newest first (at most 20).
    pub mine: Vec<OrderRow>,
}

/// The dashboard of a staff user.
///
/// # Errors
/// Permission denied for customers and disabled users.
pub fn dashboard_in(view: &impl View, actor: &Actor) -> Result<Dashboard> {
    let resolved = resolve(view, actor)?;
    if matches!(resolved, Resolved::Customer(_)) {
        return Err(Error::forbidden("customers use the bot"));
    }
    let org = load_org(view, actor.org)?;
    let stages = stage_counts_of(view, actor.org)?;
    let today = view.now().day();
    let new_today = view.count_prefix(tables::ORDERS_BY_DAY, &Key::org(actor.org).i64(today))?;
    let mut mine = Vec::new();
    if let Some(user) = resolved.user_id() {
        let mut names = Names::default();
        for key in view.keys_with_prefix(
            tables::ORDERS_BY_ASSIGNEE,
            &Key::org(actor.org).u64(user.0),
            None,
            true,
            200,
        )? {
            let order = load_summary(view, actor.org, OrderId(keys::tail_u64(&key)))?;
            if !stage_of(&org, order.stage)?.kind.is_terminal() {
                mine.push(names.row(view, actor.org, order)?);
                if mine.len() == 20 {
                    break;
                }
            }
        }
    }
    Ok(Dashboard {
        stages,
        new_today,
        mine,
    })
}

/// A card of the Kanban board.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardCard {
    /// The order as a list row.
    pub row: OrderRow,
    /// The stages the actor may drag it to (the same rule as [`OrderActions::moves`]).
    ///
    /// [`OrderActions::moves`]: super::capabilities::OrderActions::moves
    pub moves: Vec<StageId>,
}

/// One column of the Kanban board.
#[derive(Debug, Clone)]
pub struct BoardColumn {
    /// The stage.
    pub stage: Stage,
    /// How many orders the stage holds in all.
    pub count: u64,
    /// The newest cards the actor may see (at most the asked number).
    pub cards: Vec<BoardCard>,
}

/// The Kanban board: a column per stage in board order, with up to `per_column` cards each.
/// Staff need `view_orders` (the board is work past moderation).
///
/// # Errors
/// Permission denied without `view_orders`; otherwise as [`list_orders_in`].
pub fn board_in(view: &impl View, actor: &Actor, per_column: usize) -> Result<Vec<BoardColumn>> {
    if matches!(actor.who, ActorRef::Staff(_)) {
        // The board shows work in progress: it is for those who see orders past moderation.
        require(view, actor, Permission::ViewOrders)?;
    }
    let resolved = resolve(view, actor)?;
    let permissions = match &resolved {
        Resolved::Staff(_, permissions) => *permissions,
        Resolved::System => PermissionSet::all(),
        Resolved::Customer(_) => return Err(Error::forbidden("customers use the bot")),
    };
    let org = load_org(view, actor.org)?;
    let mut columns = Vec::new();
    // One name cache for every column: a customer or worker with cards in several columns is
    // read once.
    let mut names = Names::default();
    for StageCount {
        stage,
        orders: count,
    } in stage_counts_of(view, actor.org)?
    {
        let filter = OrderFilter {
            stage: Some(stage.id),
            ..OrderFilter::default()
        };
        let rows = rows_of(
            view,
            actor,
            &resolved,
            &org,
            &filter,
            Page::first(per_column),
            &mut names,
        )?;
        let cards = rows
            .items
            .into_iter()
            .map(|row| {
                let moves = allowed_moves(&org, permissions, resolved.user_id(), &row.order)
                    .into_iter()
                    .map(|stage| stage.id)
                    .collect();
                BoardCard { row, moves }
            })
            .collect();
        columns.push(BoardColumn {
            stage,
            count,
            cards,
        });
    }
    Ok(columns)
}

/// One moderation stage of the queue and its newest orders.
#[derive(Debug, Clone)]
pub struct ModerationColumn {
    /// The stage (of kind moderation).
    pub stage: Stage,
    /// Its orders, newest first.
    pub orders: Vec<ModerationItem>,
}

/// An order waiting for moderation: the whole record (the moderator reads the description
/// before deciding) and the customer's name.
#[derive(Debug, Clone, PartialEq)]
pub struct ModerationItem {
    /// The order.
    pub order: Order,
    /// The customer's full name.
    pub customer_name: String,
}

/// The moderation queue: for each moderation stage, its newest orders first (what arrived
/// since the moderator last looked is on top, as in the order list and on the board), at
/// most `limit` per stage. Needs `moderate_orders`.
///
/// # Errors
/// Permission denied.
pub fn moderation_queue_in(
    view: &impl View,
    actor: &Actor,
    limit: usize,
) -> Result<Vec<ModerationColumn>> {
    require(view, actor, Permission::ModerateOrders)?;
    let org = load_org(view, actor.org)?;
    let mut out = Vec::new();
    let mut names = Names::default();
    for stage in org
        .pipeline
        .stages
        .iter()
        .filter(|stage| stage.kind == StageKind::Moderation)
    {
        let mut rows = Vec::new();
        for key in view.keys_with_prefix(
            tables::ORDERS_BY_STAGE,
            &Key::org(actor.org).u16(stage.id.0),
            None,
            true,
            limit.clamp(1, Page::MAX),
        )? {
            let order = load_order(view, actor.org, OrderId(keys::tail_u64(&key)))?;
            let customer_name = names.customer(view, actor.org, order.customer)?;
            rows.push(ModerationItem {
                order,
                customer_name,
            });
        }
        out.push(ModerationColumn {
            stage: stage.clone(),
            orders: rows,
        });
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
