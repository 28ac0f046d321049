//! What the order pages show, each read on one snapshot: the order page (with crm-lib's
//! actions for its reader), the dashboard, the Kanban board and the moderation queue.

use crate::model::*;
use crate::services::customers::load_customer;
use crate::services::team::load_user;
use crate::services::{Page, Resolved, load_org, require, resolve};
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Error, Result, View};

use super::queries::{StageCount, order_in, stage_counts_of};
use super::rows::OrderFilter;
use super::rows::{Names, OrderRow, load_summary, rows_of};
use super::rules::{allowed_moves, bids_of, load_order, stage_of};

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
    pub actions: crate::services::capabilities::OrderActions,
    /// The stages of `actions.moves`, in board order, for their names and colours.
    pub moves: Vec<Stage>,
    /// Payment details sent so far.
    pub payment_infos: Vec<PaymentInfo>,
    /// The assignee's payout at the agreed price, when there is one.
    pub payout: Option<Payout>,
    /// Audit entries about the order, oldest first.
    pub timeline: Vec<AuditEntry>,
    /// The names of the people and records the timeline refers to.
    pub timeline_names: crate::services::audit::AuditNames,
    /// Whether the timeline was cut short (see [`crate::services::audit::TIMELINE_LIMIT`]).
    pub timeline_cut: bool,
    /// Active payment methods, when the actor may send payment details (empty otherwise).
    pub payment_methods: Vec<PaymentMethod>,
    /// The payment method the customer said they would like to pay by (it may have been
    /// switched off since), when they said.
    pub preferred_payment_method: Option<PaymentMethod>,
    /// Active staff to assign to, when the actor may assign (empty otherwise).
    pub assignable: Vec<crate::services::team::StaffName>,
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
    let actions =
        crate::services::capabilities::order_actions(view, actor, &resolved, &org, &order)?;
    let stage = stage_of(&org, order.stage)?.clone();
    let customer = load_customer(view, actor.org, order.customer)?;
    let assignee_name = order.assignee.map(|user| {
        load_user(view, actor.org, user)
            .map_or_else(|_| format!("user {user}"), |user| user.display_name)
    });
    let all_markers = crate::services::team::list_markers_in(view, actor.org)?;
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
    let payment_infos = crate::services::billing::payment_infos_in(view, actor, order_id)?;
    let payout = order
        .price
        .map(|price| crate::services::billing::payout(&org.settings, price));
    let (timeline, timeline_cut) =
        crate::services::audit::subject_timeline_in(view, actor.org, &Subject::Order(order.id))?;
    let timeline_names = crate::services::audit::audit_names_in(view, actor.org, &timeline)?;
    let payment_methods = if actions.send_payment {
        crate::services::billing::payment_methods_in(view, actor.org)?
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
        crate::services::team::staff_names_in(view, actor)?
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
    /// [`OrderActions::moves`]: crate::services::capabilities::OrderActions::moves
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
/// Permission denied without `view_orders`; otherwise as [`list_orders_in`](super::list_orders_in).
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
