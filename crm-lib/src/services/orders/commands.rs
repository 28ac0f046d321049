//! The order commands: creation with the open-order limit, moderation, bids, assignment, stage
//! moves with the pipeline's rules, markers, deletion by the customer. Each checks everything
//! first and writes after, with its audit entry, its change and its notifications.

use std::collections::BTreeMap;

use crate::model::*;
use crate::services::customers::load_customer;
use crate::services::team::load_user;
use crate::services::{Resolved, clean_text, load_org, require, resolve};
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::queries::order_in;
use super::rules::{
    Announce, OrderFields, Placement, allowed_moves, bids_of, check_open_order_limit,
    check_preferred_payment_method, checked_markers, grant_key, load_order, may_view, move_refusal,
    notify_staff_with, save_order, stage_of, validate_order_fields,
};

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
    /// [`new_order_choices_in`](super::new_order_choices_in)), chosen by the customer in the bot's form or by staff.
    /// Duplicates are dropped and the order is kept.
    pub markers: Vec<MarkerId>,
    /// How the customer would like to pay: an active payment method of the organization (see
    /// [`new_order_choices_in`](super::new_order_choices_in)); `None` when they did not say.
    pub preferred_payment_method: Option<PaymentMethodId>,
    /// The ticket's typed fields by key, each read with [`FieldDef::parse_answer`] (see
    /// [`FieldSet::parse_answers`] and [`crate::tickets::ticket_fields_in`]). Must satisfy the
    /// organization's field set (required fields present); empty when the tickets module is
    /// off.
    pub custom_fields: BTreeMap<String, FieldValue>,
    /// Ticket fields as typed (field key, answer): each read by its field's
    /// [`FieldDef::parse_answer`] in the use case (an empty answer leaves the field out), on
    /// top of [`NewOrder::custom_fields`]. What the web form, the API and the CSV import send.
    pub field_answers: Vec<(String, String)>,
}

/// Who an order is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignTo {
    /// The author of this bid, at its price.
    Bid(BidId),
    /// This user, without a bid (the price stays unset or as it was).
    User(UserId),
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
        self.create_order_announced(actor, request, Announce::Staff)
    }

    /// [`Tx::create_order`], with who tells the staff of the new order: the order's own
    /// notification, or (the leads pipeline's bot-made lead) the customer's first message,
    /// posted in the same transaction, whose `Event::LeadWrote` carries their words, so the
    /// managers are alerted once.
    pub(crate) fn create_order_announced(
        &mut self,
        actor: &Actor,
        request: NewOrder,
        announce: Announce,
    ) -> Result<Order> {
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
        let custom_fields = crate::services::tickets::new_order_fields(
            self,
            &org,
            request.custom_fields,
            &request.field_answers,
        )?;
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
            custom_fields,
            preferred_payment_method: request.preferred_payment_method,
            created_at: self.now(),
            updated_at: self.now(),
        };
        self.insert_record(&Key::org(actor.org).u64(id.0), &order)?;
        crate::services::analytics::aggregates::order_created(self, &org, &order)?;
        crate::services::tickets::fraud::evaluate(self, &org, &order)?;
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
        if announce == Announce::Staff {
            notify_staff_with(self, actor.org, notify, &event)?;
        }
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
        crate::webhooks::emit(
            self,
            actor.org,
            crate::webhooks::WebhookEvent::OrderCreated {
                order: id,
                customer: customer_id,
                title: order.title.clone(),
                stage: order.stage,
                budget,
            },
        )?;
        // The operators module: a new order is a ticket, routed to an operator.
        crate::operators::on_order_created(self, &org, id)?;
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
        crate::tokens::on_order_moved(self, actor, &after, target)?;
        crate::webhooks::emit(
            self,
            actor.org,
            crate::webhooks::WebhookEvent::OrderStageChanged {
                order: order_id,
                customer: after.customer,
                from: stage.id,
                to: target.id,
            },
        )?;
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
        crate::webhooks::emit(
            self,
            actor.org,
            crate::webhooks::WebhookEvent::OrderStageChanged {
                order: order_id,
                customer: after.customer,
                from: from.id,
                to: target.id,
            },
        )?;
        crate::operators::on_order_moved(self, &org, order_id, target.kind.is_terminal())?;
        crate::csat::on_order_moved(self, &org, &after, target)?;
        crate::tokens::on_order_moved(self, actor, &after, target)?;
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
        crate::services::analytics::aggregates::order_deleted(self, &org, &order)?;
        crate::services::tickets::fraud::forget(self, actor.org, order_id)?;
        crate::tokens::on_order_deleted(self, actor, &order)?;
        crate::services::leads::on_order_deleted(self, actor.org, order_id)?;
        self.audit(
            actor,
            AuditAction::OrderDeleted,
            Subject::Order(order_id),
            AuditDetail::Text(order.title.clone()),
        )?;
        self.changed(actor.org, Subject::Order(order_id), ChangeKind::Deleted)?;
        crate::webhooks::emit(
            self,
            actor.org,
            crate::webhooks::WebhookEvent::OrderDeleted {
                order: order_id,
                customer: order.customer,
            },
        )?;
        crate::operators::on_order_deleted(self, &org, order_id)?;
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
        let comment =
            crate::services::optional_text("comment", Some(comment), 1000)?.unwrap_or_default();
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
            let ticket_fields =
                crate::services::tickets::notification_fields(self, actor.org, &after)?;
            let event = if let Some(ticket_fields) = ticket_fields {
                // The tickets module: the master sees the ticket's fields and may move it
                // from the message, to the stages the pipeline lets them.
                let permissions = crate::services::permissions_of(self, actor.org, &assignee)?;
                let moves = allowed_moves(&org, permissions, Some(assignee_id), &after)
                    .into_iter()
                    .map(|stage| (stage.id, stage.name.clone()))
                    .collect();
                Event::TicketAssigned {
                    order: order_id,
                    title,
                    fields: ticket_fields,
                    moves,
                }
            } else {
                Event::OrderAssigned {
                    order: order_id,
                    title,
                    assignee: name,
                    to_assignee: true,
                }
            };
            self.enqueue(
                actor.org,
                Recipient::Staff(assignee_id),
                OutboxPayload::Notify(event),
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
        crate::operators::on_order_assigned(self, &org, order_id, assignee_id)?;
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
}
