//! Orders of the token service and the queue (TeleKpr PRD 3.2.2, 8.2).
//!
//! Rules:
//! - placing an order picks an active package and, optionally, the email-confirmation
//!   add-on; it costs the subscriber prices while the customer's subscription is active,
//!   the regular ones otherwise; the balance must cover the cost ("Tokens deducted on order
//!   creation"; "Insufficient balance handling": a conflict naming both figures, nothing
//!   written). The order itself is the order desk's, created by the same use case
//!   (`create_order`: its limits, notifications, audit), with the package as its title;
//! - a subscriber's order is placed with priority (`Order::priority` 1) and enters the queue
//!   ahead of every regular order that was not moved by hand; within each class the queue is
//!   first in, first out. Staff with `assign_orders` move any order before another or to the
//!   end ("Manual queue position adjustment allowed");
//! - an order leaves the queue when it enters a finished stage (kind `Won` or `Lost`);
//! - cancelling (entering a stage of kind `Lost`, or the customer deleting it) refunds its
//!   cost exactly once ("Refund on order cancellation"; "No refund on completion");
//! - a completed order (stage kind `Won`) can be run again ("Rerun functionality"): a new
//!   order of the same package, add-on and profile, linked to it and charged again at the
//!   prices of the moment.

use crate::model::*;
use crate::orders::{Names, NewOrder, load_order, may_view, save_order, stage_of};
use crate::store::declarations::token_order_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::super::{require, resolve};
use super::ledger::{NewEntry, append};
use super::{account_of, load_package, require_module, settings_of};

/// The spacing between queue ranks of consecutive orders, so that an order moved by hand
/// finds a free rank between two others without renumbering (up to twenty moves into the
/// same gap; then the queue is renumbered).
const RANK_GAP: u64 = 1 << 20;

/// The first rank of regular orders: subscribers' orders rank below it.
const REGULAR_BASE: u64 = 1 << 62;

/// The most queued orders [`queue_in`] returns.
pub const QUEUE_PAGE_MAX: usize = 500;

/// What a customer (or staff for them) orders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenOrderRequest {
    /// For staff: the customer the order is for (customers order for themselves).
    pub customer: Option<CustomerId>,
    /// The package (an active one).
    pub package: u64,
    /// With the email-confirmation add-on.
    pub email_confirmation: bool,
    /// The profile (the person ordered for), one of the customer's.
    pub profile: Option<u64>,
}

/// What an order would cost a customer now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The package.
    pub package: Package,
    /// Tokens it costs them: the package and, when asked, the add-on.
    pub cost: u64,
    /// What it would cost without a subscription.
    pub regular_cost: u64,
    /// Whether the subscriber prices apply.
    pub subscriber: bool,
    /// Their balance now.
    pub balance: i64,
    /// Whether the balance covers the cost.
    pub enough: bool,
}

/// An order placed: the order, its token side, its place in the queue (1 is next) and the
/// balance left.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedOrder {
    /// The order desk's order.
    pub order: Order,
    /// What it cost and its queue rank.
    pub token_order: TokenOrder,
    /// Its place in the queue, from 1.
    pub position: u64,
    /// The customer's balance after the charge.
    pub balance: i64,
}

/// The token side of one order as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOrderView {
    /// The record.
    pub token_order: TokenOrder,
    /// The package's name, as the organization calls it now.
    pub package_name: Localized,
    /// Its place in the queue while queued, from 1.
    pub position: Option<u64>,
    /// Whether it may be run again now (completed), by the actor asking.
    pub may_rerun: bool,
    /// Whether the actor may move it in the queue.
    pub may_reorder: bool,
}

/// One queued order, as the queue page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// Its place, from 1.
    pub position: u64,
    /// The order's list row with its names.
    pub row: crate::orders::OrderRow,
    /// Its token side.
    pub token_order: TokenOrder,
}

/// The token side of `order`, if it has one.
pub(crate) fn token_order_of(
    view: &impl View,
    org: OrgId,
    order: OrderId,
) -> Result<Option<TokenOrder>> {
    view.get(tables::TOKEN_ORDERS, &token_order_key(org, order))
}

/// Checks that `profile` is one of `customer`'s profiles, not archived (the person the
/// order is for).
fn check_profile(view: &impl View, org: OrgId, customer: CustomerId, profile: u64) -> Result<()> {
    match crate::services::profiles::load_profile(view, org, ProfileId::new(profile)) {
        Ok(found) if found.customer == customer && !found.archived => Ok(()),
        Ok(_) => Err(Error::not_found(ProfileId::LABEL, profile)),
        Err(error) => Err(error),
    }
}

/// What `customer` pays for `package` (with the add-on when asked) at the view's moment.
fn quote(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
    package: &Package,
    email_confirmation: bool,
) -> Result<Quote> {
    let settings = settings_of(view, org)?;
    let account = account_of(view, org, customer)?;
    let subscriber = account.is_subscriber(view.now());
    let addon = |subscriber: bool| match (email_confirmation, subscriber) {
        (false, _) => 0,
        (true, true) => settings.email_addon_subscriber_price,
        (true, false) => settings.email_addon_price,
    };
    let cost = package.price_for(subscriber) + addon(subscriber);
    let regular_cost = package.price + addon(false);
    Ok(Quote {
        package: package.clone(),
        cost,
        regular_cost,
        subscriber,
        balance: account.balance,
        enough: i64::try_from(cost).is_ok_and(|cost| cost <= account.balance),
    })
}

/// The customer an order request is for: the customer acting, or the one staff name.
fn customer_of_request(actor: &Actor, requested: Option<CustomerId>) -> Result<CustomerId> {
    match actor.who {
        ActorRef::Customer(customer) => Ok(customer),
        _ => requested
            .ok_or_else(|| Error::invalid("customer", "choose the customer the order is for")),
    }
}

/// What `package` (with the add-on when asked) would cost the customer now: a customer asks
/// for themselves; staff need `view_orders`.
///
/// # Errors
/// Not found while the module is off, for an unknown or (for customers) inactive package or
/// an unknown customer; permission denied.
pub fn quote_in(
    view: &impl View,
    actor: &Actor,
    customer: Option<CustomerId>,
    package: u64,
    email_confirmation: bool,
) -> Result<Quote> {
    require_module(view, actor.org)?;
    let customer = customer_of_request(actor, customer)?;
    super::readable_customer(view, actor, customer)?;
    let package = load_package(view, actor.org, package)?;
    if !package.active && matches!(actor.who, ActorRef::Customer(_)) {
        return Err(Error::not_found("package", package.id));
    }
    quote(view, actor.org, customer, &package, email_confirmation)
}

/// The place of the order queued at `rank`, from 1: the queued orders ranked before it, plus
/// one.
fn position_of(view: &impl View, org: OrgId, rank: u64, order: OrderId) -> Result<u64> {
    let mut position = 1;
    let own = Key::org(org).u64(rank).u64(order.0);
    view.for_each_prefix(tables::TOKEN_QUEUE, &Key::org(org), |key, _| {
        if key >= own.as_slice() {
            return Ok(false);
        }
        position += 1;
        Ok(true)
    })?;
    Ok(position)
}

/// `order`'s place in the queue, from 1, while it is queued; for its customer or staff who
/// may see it.
///
/// # Errors
/// Not found while the module is off, for an unknown order or one the actor may not see.
pub fn queue_position_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<Option<u64>> {
    Ok(token_order_in(view, actor, order)?.and_then(|view| view.position))
}

/// The token side of `order` for its page (none for an order placed before the module or
/// outside it), with the queue position and what the actor may do with it.
///
/// # Errors
/// Not found while the module is off, for an unknown order or one the actor may not see.
pub fn token_order_in(
    view: &impl View,
    actor: &Actor,
    order: OrderId,
) -> Result<Option<TokenOrderView>> {
    let org = require_module(view, actor.org)?;
    let resolved = resolve(view, actor)?;
    let record = load_order(view, actor.org, order)?;
    if !may_view(view, &resolved, &org, &record)? {
        return Err(Error::not_found(OrderId::LABEL, order));
    }
    let Some(token_order) = token_order_of(view, actor.org, order)? else {
        return Ok(None);
    };
    let package_name = load_package(view, actor.org, token_order.package)
        .map(|package| package.name)
        .unwrap_or_default();
    let position = match token_order.rank {
        Some(rank) => Some(position_of(view, actor.org, rank, order)?),
        None => None,
    };
    let completed = stage_of(&org, record.stage)?.kind == StageKind::Won;
    let may_rerun = completed
        && match actor.who {
            ActorRef::Customer(customer) => customer == record.customer,
            _ => resolved.has(Permission::ModerateOrders),
        };
    let may_reorder = token_order.rank.is_some() && resolved.has(Permission::AssignOrders);
    Ok(Some(TokenOrderView {
        token_order,
        package_name,
        position,
        may_rerun,
        may_reorder,
    }))
}

/// The queue, first first, at most `limit` (up to [`QUEUE_PAGE_MAX`]) orders. Needs
/// `view_orders`.
///
/// # Errors
/// Not found while the module is off; permission denied.
pub fn queue_in(view: &impl View, actor: &Actor, limit: usize) -> Result<Vec<QueueRow>> {
    require_module(view, actor.org)?;
    require(view, actor, Permission::ViewOrders)?;
    let limit = limit.clamp(1, QUEUE_PAGE_MAX);
    let keys = view.keys_with_prefix(
        tables::TOKEN_QUEUE,
        &Key::org(actor.org),
        None,
        false,
        limit,
    )?;
    let mut names = Names::default();
    let mut rows = Vec::with_capacity(keys.len());
    for (index, key) in keys.iter().enumerate() {
        let order = OrderId(keys::tail_u64(key));
        let token_order = token_order_of(view, actor.org, order)?
            .ok_or_else(|| crate::store::dangling("token_queue", key))?;
        let summary = crate::orders::load_summary(view, actor.org, order)?;
        rows.push(QueueRow {
            position: index as u64 + 1,
            row: names.row(view, actor.org, summary)?,
            token_order,
        });
    }
    Ok(rows)
}

/// The title of an order of `package`, in the organization's language.
fn order_title(org: &Organization, package: &Package, email_confirmation: bool) -> String {
    let language = org.settings.locale;
    let name = package.name.get(language);
    if email_confirmation {
        crate::i18n::tr_with(
            language,
            "tokens.order_title_with_email",
            &[("package", &name)],
        )
    } else {
        name.to_string()
    }
}

/// A new rank at the end of the priority or the regular class.
fn new_rank(tx: &Tx<'_>, org: OrgId, priority: bool) -> Result<u64> {
    let seq = tx.next_id(org, "queue_rank")?;
    let base = if priority { 0 } else { REGULAR_BASE };
    Ok(base + seq.min((REGULAR_BASE / RANK_GAP) - 1) * RANK_GAP)
}

/// Places an order of `package` for `customer` with a check of the balance (the module's
/// rules), `rerun_of` linking a rerun. Returns what [`Tx::place_token_order`] returns.
fn place(
    tx: &mut Tx<'_>,
    actor: &Actor,
    customer: CustomerId,
    package: &Package,
    email_confirmation: bool,
    profile: Option<u64>,
    rerun_of: Option<OrderId>,
) -> Result<PlacedOrder> {
    let org = require_module(tx, actor.org)?;
    if !package.active {
        return Err(Error::invalid(
            "package",
            format!("package {} is not offered any more", package.id),
        ));
    }
    if let Some(profile) = profile {
        check_profile(tx, actor.org, customer, profile)?;
    }
    let quote = quote(tx, actor.org, customer, package, email_confirmation)?;
    if !quote.enough {
        return Err(Error::conflict(format!(
            "insufficient balance: {} tokens, {} needed",
            quote.balance, quote.cost
        )));
    }
    let mut description = crate::i18n::tr_with(
        org.settings.locale,
        "tokens.order_description",
        &[
            ("package", &package.name.get(org.settings.locale)),
            ("units", &package.units),
            ("cost", &quote.cost),
        ],
    );
    if let Some(rerun_of) = rerun_of {
        description.push_str(&format!(" (#{rerun_of})"));
    }
    let order = tx.create_order(
        actor,
        NewOrder {
            customer: Some(customer),
            title: order_title(&org, package, email_confirmation),
            description,
            ..NewOrder::default()
        },
    )?;
    let mut order = order;
    if quote.subscriber {
        let before = order.clone();
        order.priority = 1;
        save_order(tx, actor.org, &before, &order)?;
    }
    let cost = i64::try_from(quote.cost).unwrap_or(i64::MAX);
    let charge = append(
        tx,
        actor,
        NewEntry {
            customer,
            kind: LedgerKind::Spend,
            amount: -cost,
            order: Some(order.id),
            payment: None,
            description: order.title.clone(),
        },
    )?;
    let rank = new_rank(tx, actor.org, quote.subscriber)?;
    let token_order = TokenOrder {
        order: order.id,
        customer,
        package: package.id,
        units: package.units,
        email_confirmation,
        profile,
        cost: quote.cost,
        subscriber_price: quote.subscriber,
        priority: quote.subscriber,
        rerun_of,
        charge: charge.id,
        refund: None,
        rank: Some(rank),
    };
    tx.insert_record(&token_order_key(actor.org, order.id), &token_order)?;
    crate::services::analytics::aggregates::token_order_written(
        tx,
        actor.org,
        &order,
        None,
        Some(&token_order),
    )?;
    let position = position_of(tx, actor.org, rank, order.id)?;
    // The bot answers a customer who ordered there; anyone else's order is news to them.
    if actor.who != ActorRef::Customer(customer) {
        tx.enqueue(
            actor.org,
            Recipient::Customer(customer),
            OutboxPayload::Notify(Event::OrderQueued {
                order: order.id,
                title: order.title.clone(),
                cost: quote.cost,
                balance: charge.balance_after,
                position,
            }),
        )?;
    }
    Ok(PlacedOrder {
        order,
        token_order,
        position,
        balance: charge.balance_after,
    })
}

/// An order moved to `stage` (in [`Tx::move_order`]'s or a rejection's transaction): a
/// finished stage takes it out of the queue, a `Lost` one refunds it once; a move back to an
/// open stage queues it again at the end of its class (not charged again).
pub(crate) fn on_order_moved(
    tx: &mut Tx<'_>,
    actor: &Actor,
    order: &Order,
    stage: &Stage,
) -> Result<()> {
    let Some(before) = token_order_of(tx, actor.org, order.id)? else {
        return Ok(());
    };
    let mut after = before.clone();
    if stage.kind.is_terminal() {
        after.rank = None;
    } else if after.rank.is_none() {
        after.rank = Some(new_rank(tx, actor.org, after.priority)?);
    }
    if stage.kind == StageKind::Lost && after.refund.is_none() {
        after.refund = Some(refund(tx, actor, &before)?);
    }
    if after != before {
        tx.update_record(&token_order_key(actor.org, order.id), &before, &after)?;
        crate::services::analytics::aggregates::token_order_written(
            tx,
            actor.org,
            order,
            Some(&before),
            Some(&after),
        )?;
    }
    Ok(())
}

/// Refunds `token_order`'s cost (a refund entry); returns its id.
fn refund(tx: &mut Tx<'_>, actor: &Actor, token_order: &TokenOrder) -> Result<u64> {
    let amount = i64::try_from(token_order.cost).unwrap_or(i64::MAX);
    let entry = append(
        tx,
        actor,
        NewEntry {
            customer: token_order.customer,
            kind: LedgerKind::Refund,
            amount,
            order: Some(token_order.order),
            payment: None,
            description: format!("#{}", token_order.order),
        },
    )?;
    Ok(entry.id)
}

/// The customer deleted `order` (in [`Tx::delete_order`]'s transaction): refunds it unless
/// it was refunded, and removes its token side (its ledger entries stay) with what the
/// dashboard's aggregates counted of it.
pub(crate) fn on_order_deleted(tx: &mut Tx<'_>, actor: &Actor, order: &Order) -> Result<()> {
    let Some(token_order) = token_order_of(tx, actor.org, order.id)? else {
        return Ok(());
    };
    if token_order.refund.is_none() && token_order.cost > 0 {
        refund(tx, actor, &token_order)?;
    }
    tx.delete_record(&token_order_key(actor.org, order.id), &token_order)?;
    crate::services::analytics::aggregates::token_order_written(
        tx,
        actor.org,
        order,
        Some(&token_order),
        None,
    )
}

/// Renumbers the queue, keeping its order and each order's class, [`RANK_GAP`] apart.
fn renumber(tx: &mut Tx<'_>, org: OrgId) -> Result<()> {
    let keys = tx.keys_with_prefix(tables::TOKEN_QUEUE, &Key::org(org), None, false, usize::MAX)?;
    for (index, key) in keys.iter().enumerate() {
        let order = OrderId(keys::tail_u64(key));
        let Some(before) = token_order_of(tx, org, order)? else {
            return Err(crate::store::dangling("token_queue", key));
        };
        let base = before.rank.unwrap_or(0) & REGULAR_BASE;
        let mut after = before.clone();
        after.rank = Some(base + (index as u64 + 1) * RANK_GAP);
        if after != before {
            // The rank alone: the dashboard's aggregates count nothing of it.
            tx.update_record(&token_order_key(org, order), &before, &after)?;
        }
    }
    Ok(())
}

/// The ranks of the queued orders, first first, without `except`.
fn queued(tx: &Tx<'_>, org: OrgId, except: OrderId) -> Result<Vec<(u64, OrderId)>> {
    Ok(tx
        .keys_with_prefix(tables::TOKEN_QUEUE, &Key::org(org), None, false, usize::MAX)?
        .iter()
        .map(|key| (keys::read_u64(key, 8), OrderId(keys::tail_u64(key))))
        .filter(|(_, order)| *order != except)
        .collect())
}

/// A free rank for an order placed right before `before` (at the end when `None`), if the
/// gap allows one.
fn rank_before(queue: &[(u64, OrderId)], before: Option<OrderId>) -> Result<Option<u64>> {
    let Some(before) = before else {
        return Ok(Some(match queue.last() {
            Some((last, _)) => last.saturating_add(RANK_GAP),
            None => REGULAR_BASE + RANK_GAP,
        }));
    };
    let index = queue
        .iter()
        .position(|(_, order)| *order == before)
        .ok_or_else(|| Error::invalid("before", format!("order {before} is not in the queue")))?;
    let high = queue[index].0;
    let low = match index {
        0 => high.saturating_sub(2 * RANK_GAP),
        _ => queue[index - 1].0,
    };
    Ok((high - low >= 2).then(|| low + (high - low) / 2))
}

impl Tx<'_> {
    /// Places an order of a package, charging its price (the module's rules). Customers
    /// order for themselves; staff need `moderate_orders` (as for any order). Audited as the
    /// order desk audits an order (`order.created`) and the ledger a spend
    /// (`tokens.spent`); a customer for whom staff ordered is told the order, its place in
    /// the queue and their balance ([`Event::OrderQueued`]; the bot answers a customer who
    /// ordered there).
    ///
    /// # Errors
    /// Not found while the module is off, for an unknown package, customer or profile;
    /// invalid input on `package` when it is no longer offered, `customer` when staff name
    /// none; conflict when the balance does not cover the cost or the open-order limit is
    /// reached; permission denied.
    pub fn place_token_order(
        &mut self,
        actor: &Actor,
        request: TokenOrderRequest,
    ) -> Result<PlacedOrder> {
        require_module(self, actor.org)?;
        let customer = customer_of_request(actor, request.customer)?;
        let package = load_package(self, actor.org, request.package)?;
        place(
            self,
            actor,
            customer,
            &package,
            request.email_confirmation,
            request.profile,
            None,
        )
    }

    /// Runs a completed order again (the module's rules): its customer, or staff with
    /// `moderate_orders`. Audited (`order.rerun`) besides the new order's own entries.
    ///
    /// # Errors
    /// Not found while the module is off, for an unknown order, one the actor may not see, or
    /// one without a token side; conflict unless it is completed, when the balance does not
    /// cover the new cost, or at the open-order limit; invalid input when its package is no
    /// longer offered; permission denied.
    pub fn rerun_order(&mut self, actor: &Actor, order: OrderId) -> Result<PlacedOrder> {
        let org = require_module(self, actor.org)?;
        let resolved = resolve(self, actor)?;
        let record = load_order(self, actor.org, order)?;
        let own = matches!(actor.who, ActorRef::Customer(customer) if customer == record.customer);
        if !own && !may_view(self, &resolved, &org, &record)? {
            return Err(Error::not_found(OrderId::LABEL, order));
        }
        if !own && !resolved.has(Permission::ModerateOrders) {
            return Err(Error::denied(
                Permission::ModerateOrders,
                format!("{} may not run orders again", actor.who),
            ));
        }
        let token_order = token_order_of(self, actor.org, order)?
            .ok_or_else(|| Error::not_found("token order", order))?;
        if stage_of(&org, record.stage)?.kind != StageKind::Won {
            return Err(Error::conflict(format!(
                "order {order} is not completed; only a completed order runs again"
            )));
        }
        let package = load_package(self, actor.org, token_order.package)?;
        let placed = place(
            self,
            actor,
            record.customer,
            &package,
            token_order.email_confirmation,
            token_order.profile,
            Some(order),
        )?;
        self.audit(
            actor,
            AuditAction::OrderRerun,
            Subject::Order(placed.order.id),
            AuditDetail::Text(format!("runs order {order} again")),
        )?;
        Ok(placed)
    }

    /// Moves a queued order right before another queued one, or to the end (`before`
    /// `None`). Needs `assign_orders`. Audited (`queue.reordered`); both orders change in
    /// the feed. Returns its new place, from 1.
    ///
    /// # Errors
    /// Not found while the module is off or for an unknown order; conflict when the order is
    /// not queued; invalid input on `before` when that order is not queued; permission
    /// denied.
    pub fn move_in_queue(
        &mut self,
        actor: &Actor,
        order: OrderId,
        before: Option<OrderId>,
    ) -> Result<u64> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::AssignOrders)?;
        let current = token_order_of(self, actor.org, order)?
            .ok_or_else(|| Error::not_found(OrderId::LABEL, order))?;
        if current.rank.is_none() {
            return Err(Error::conflict(format!(
                "order {order} is not in the queue"
            )));
        }
        if before == Some(order) {
            let rank = current.rank.unwrap_or(0);
            return position_of(self, actor.org, rank, order);
        }
        let mut queue = queued(self, actor.org, order)?;
        let rank = match rank_before(&queue, before)? {
            Some(rank) => rank,
            None => {
                renumber(self, actor.org)?;
                queue = queued(self, actor.org, order)?;
                rank_before(&queue, before)?
                    .ok_or_else(|| Error::corrupt("the queue has no free rank after renumbering"))?
            }
        };
        let before_record = token_order_of(self, actor.org, order)?
            .ok_or_else(|| Error::not_found(OrderId::LABEL, order))?;
        let mut after = before_record.clone();
        after.rank = Some(rank);
        // The rank alone: the dashboard's aggregates count nothing of it.
        self.update_record(&token_order_key(actor.org, order), &before_record, &after)?;
        self.audit(
            actor,
            AuditAction::QueueReordered,
            Subject::Order(order),
            AuditDetail::Text(match before {
                Some(before) => format!("before order {before}"),
                None => "to the end".to_string(),
            }),
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        position_of(self, actor.org, rank, order)
    }
}

impl Crm {
    /// See [`Tx::place_token_order`].
    ///
    /// # Errors
    /// See [`Tx::place_token_order`].
    pub fn place_token_order(
        &self,
        actor: &Actor,
        request: TokenOrderRequest,
    ) -> Result<PlacedOrder> {
        let actor = actor.clone();
        self.write(move |tx| tx.place_token_order(&actor, request))
    }

    /// See [`Tx::rerun_order`].
    ///
    /// # Errors
    /// See [`Tx::rerun_order`].
    pub fn rerun_order(&self, actor: &Actor, order: OrderId) -> Result<PlacedOrder> {
        let actor = actor.clone();
        self.write(move |tx| tx.rerun_order(&actor, order))
    }

    /// See [`Tx::move_in_queue`].
    ///
    /// # Errors
    /// See [`Tx::move_in_queue`].
    pub fn move_in_queue(
        &self,
        actor: &Actor,
        order: OrderId,
        before: Option<OrderId>,
    ) -> Result<u64> {
        let actor = actor.clone();
        self.write(move |tx| tx.move_in_queue(&actor, order, before))
    }

    /// See [`queue_in`].
    ///
    /// # Errors
    /// See [`queue_in`].
    pub fn queue(&self, actor: &Actor, limit: usize) -> Result<Vec<QueueRow>> {
        self.read(|view| queue_in(view, actor, limit))
    }

    /// See [`quote_in`].
    ///
    /// # Errors
    /// See [`quote_in`].
    pub fn quote(
        &self,
        actor: &Actor,
        customer: Option<CustomerId>,
        package: u64,
        email_confirmation: bool,
    ) -> Result<Quote> {
        self.read(|view| quote_in(view, actor, customer, package, email_confirmation))
    }

    /// See [`token_order_in`].
    ///
    /// # Errors
    /// See [`token_order_in`].
    pub fn token_order(&self, actor: &Actor, order: OrderId) -> Result<Option<TokenOrderView>> {
        self.read(|view| token_order_in(view, actor, order))
    }
}
