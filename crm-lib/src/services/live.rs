//! Live updates: the change feed read as events a user may see (the browser's server-sent
//! events, SPEC section 3.1 "Typed change feed").
//!
//! Every write transaction records a typed [`Change`] for each record someone may be watching
//! (`Tx::changed`, beside its audit entry; delivery bookkeeping records one alone). A stream
//! asks for the changes after its cursor; this module decides, with the same rules as the
//! reads, which of them the actor may see and what each says. Nothing here parses audit text.

use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Result, View};

use super::load_message;
use super::orders::may_chat;
use super::orders::{load_order, may_view};
use super::{Resolved, load_org, resolve};

/// What a live event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveKind {
    /// An order changed: created, moderated, bid on, assigned, moved, deleted, paid.
    Order,
    /// A conversation changed: a message arrived, was sent or delivered, or it was read.
    Message,
    /// A telephone call was recorded or changed (the PBX's notifications).
    Call,
    /// A broadcast was written, changed, or its delivery report moved on (issue 13).
    Broadcast,
    /// A project or one of its parts changed: a stage, progress, a report, an entry, a
    /// change request (issue 14).
    Project,
}

impl LiveKind {
    /// `order`, `message`, `call`, `broadcast` or `project`: the event name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::Order => "order",
            LiveKind::Message => "message",
            LiveKind::Call => "call",
            LiveKind::Broadcast => "broadcast",
            LiveKind::Project => "project",
        }
    }
}

/// A change a user may see happen, with what a page needs to react to it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// The change's id: increasing within the organization, across restarts, so a client can
    /// resume after the last event it saw.
    pub id: ChangeId,
    /// Order or conversation.
    pub kind: LiveKind,
    /// What happened to the record.
    pub change: ChangeKind,
    /// When.
    pub at: Timestamp,
    /// The order, for order events and messages about an order.
    pub order: Option<OrderId>,
    /// The customer whose order or conversation it is.
    pub customer: Option<CustomerId>,
    /// The message, for message events.
    pub message: Option<MessageId>,
    /// The broadcast, for broadcast events.
    pub broadcast: Option<BroadcastId>,
    /// The project, for project events.
    pub project: Option<ProjectId>,
    /// The message's delivery state now, for message events.
    pub delivery: Option<DeliveryState>,
    /// The order's stage now (order events of orders that still exist).
    pub stage: Option<StageId>,
    /// A short text for a notice: the order's title, or the start of the message.
    pub summary: String,
}

/// One batch of live events after a cursor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveBatch {
    /// The events the actor may see, oldest first.
    pub events: Vec<LiveEvent>,
    /// The last change examined (seen or not): where the next batch starts. `None` when
    /// nothing newer than the cursor exists.
    pub cursor: Option<ChangeId>,
    /// Whether more changes may follow right away.
    pub more: bool,
}

/// The id of the organization's newest change (0 when there is none): where a new live
/// stream starts. Any actor of the organization may ask.
///
/// # Errors
/// Permission denied for a disabled or unknown user.
pub fn latest_change_in(view: &impl View, actor: &Actor) -> Result<ChangeId> {
    resolve(view, actor)?;
    let prefix = Key::org(actor.org);
    let keys = view.keys_with_prefix(tables::CHANGES, &prefix, None, true, 1)?;
    Ok(ChangeId(keys.first().map_or(0, |key| keys::tail_u64(key))))
}

/// The first characters of a message, for a notice.
fn preview(text: &str) -> String {
    const MAX: usize = 100;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

/// The live event of one change, if the actor may see it.
fn live_event(
    view: &impl View,
    actor: &Actor,
    resolved: &Resolved,
    org: &Organization,
    change: &Change,
) -> Result<Option<LiveEvent>> {
    let event = |kind, order, customer| LiveEvent {
        id: change.id,
        kind,
        change: change.kind,
        at: change.at,
        order,
        customer,
        message: None,
        broadcast: None,
        project: None,
        delivery: None,
        stage: None,
        summary: String::new(),
    };
    match &change.subject {
        Subject::Order(id) => {
            let order = match load_order(view, actor.org, *id) {
                Ok(order) => order,
                Err(error) if error.kind() == crate::ErrorKind::NotFound => {
                    // A deleted order: staff who see orders learn it is gone (the board drops
                    // its card); nothing else about it is left to show.
                    let sees_orders = resolved.has(Permission::ViewOrders)
                        || resolved.has(Permission::ModerateOrders);
                    return Ok(sees_orders.then(|| event(LiveKind::Order, Some(*id), None)));
                }
                Err(error) => return Err(error),
            };
            if !may_view(view, resolved, org, &order)? {
                return Ok(None);
            }
            Ok(Some(LiveEvent {
                stage: Some(order.stage),
                summary: order.title,
                ..event(LiveKind::Order, Some(*id), Some(order.customer))
            }))
        }
        Subject::Message(id) => {
            let message = match load_message(view, actor.org, *id) {
                Ok(message) => message,
                Err(error) if error.kind() == crate::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(error),
            };
            let visible = match resolved {
                Resolved::Customer(customer) => {
                    message.customer == *customer && super::chat::customer_sees(&message)
                }
                _ => may_chat(view, actor.org, resolved, message.order)?,
            };
            if !visible {
                return Ok(None);
            }
            Ok(Some(LiveEvent {
                message: Some(*id),
                delivery: Some(message.delivery),
                summary: preview(&message.text),
                ..event(LiveKind::Message, message.order, Some(message.customer))
            }))
        }
        Subject::Call(id) => {
            if !super::calls::calls_enabled(org) || !super::calls::may_see_calls(resolved) {
                return Ok(None);
            }
            let call = match super::calls::load_call(view, actor.org, *id) {
                Ok(call) => call,
                Err(error) if error.kind() == crate::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(error),
            };
            Ok(Some(LiveEvent {
                summary: call.phone,
                ..event(LiveKind::Call, None, Some(call.customer))
            }))
        }
        Subject::Conversation(customer) => {
            if !resolved.has(Permission::ChatCustomers) {
                return Ok(None);
            }
            Ok(Some(event(LiveKind::Message, None, Some(*customer))))
        }
        // The broadcast pages' delivery report follows its sending (every recipient answered
        // records a change); whoever may read broadcasts sees them.
        Subject::Broadcast(id) => Ok(resolved.has(Permission::Broadcast).then(|| LiveEvent {
            broadcast: Some(*id),
            ..event(LiveKind::Broadcast, None, None)
        })),
        // A project's page follows its changes; whoever may see the project sees them (the
        // projects' own rule, with the module on).
        Subject::Project(id) => {
            if !org.modules.contains(Module::Projects) {
                return Ok(None);
            }
            let project = match super::projects::load_project(view, actor.org, *id) {
                Ok(project) => project,
                Err(error) if error.kind() == crate::ErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(error),
            };
            if super::projects::access_of(resolved, &project).is_none() {
                return Ok(None);
            }
            Ok(Some(LiveEvent {
                project: Some(*id),
                summary: project.title,
                ..event(LiveKind::Project, None, Some(project.client))
            }))
        }
        _ => Ok(None),
    }
}

/// The order and chat changes after `after` that the actor may see, oldest first: what the
/// browser's live stream sends. Who sees what is decided here with the same rules as the
/// reads: an order event needs the order to be visible to the actor (see
/// [`super::orders::order_in`]); a message event needs the conversation (`chat_customers`, or
/// an order-level grant on the message's order); a broadcast event needs `broadcast`; a
/// project event needs the project (see [`crate::projects::project_in`]).
///
/// Examines at most `limit` changes (1..=1000) and reads the record each one names; the
/// returned `cursor` is where the next call starts, whether or not anything was visible.
///
/// # Errors
/// Permission denied when the actor is disabled or gone (the stream must end).
pub fn live_events_in(
    view: &impl View,
    actor: &Actor,
    after: ChangeId,
    limit: usize,
) -> Result<LiveBatch> {
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    let limit = limit.clamp(1, 1000);
    let prefix = Key::org(actor.org);
    let start = Key::org(actor.org).u64(after.0);
    let end = keys::prefix_end(prefix.as_slice());
    let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut changes = Vec::new();
    let mut more = false;
    view.scan(
        tables::CHANGES,
        (Bound::Excluded(start.as_slice()), upper),
        false,
        |_, value| {
            if changes.len() == limit {
                more = true;
                return Ok(false);
            }
            changes.push(codec::decode::<Change>(value)?);
            Ok(true)
        },
    )?;
    let mut batch = LiveBatch {
        events: Vec::new(),
        cursor: changes.last().map(|change| change.id),
        more,
    };
    for change in &changes {
        if let Some(event) = live_event(view, actor, &resolved, &org, change)? {
            batch.events.push(event);
        }
    }
    Ok(batch)
}

/// Every change of the actor's organization after `after`, oldest first, at most `limit`
/// (1..=1000), whatever the actor may see of the records: for embedders and tests that follow
/// the feed itself. Needs `view_audit` (the system always may).
///
/// # Errors
/// Permission denied.
pub fn changes_in(
    view: &impl View,
    actor: &Actor,
    after: ChangeId,
    limit: usize,
) -> Result<Vec<Change>> {
    super::require(view, actor, Permission::ViewAudit)?;
    let keys = view.keys_with_prefix(
        tables::CHANGES,
        &Key::org(actor.org),
        Some(Key::org(actor.org).u64(after.0).as_slice()),
        false,
        limit.clamp(1, 1000),
    )?;
    let mut changes = Vec::with_capacity(keys.len());
    for key in keys {
        changes.push(
            view.get_raw(tables::CHANGES, &key, codec::decode::<Change>)?
                .ok_or_else(|| crate::store::dangling("changes", &key))?,
        );
    }
    Ok(changes)
}

impl Crm {
    /// See [`latest_change_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`latest_change_in`].
    pub fn latest_change(&self, actor: &Actor) -> Result<ChangeId> {
        self.read(|view| latest_change_in(view, actor))
    }

    /// See [`live_events_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`live_events_in`].
    pub fn live_events(&self, actor: &Actor, after: ChangeId, limit: usize) -> Result<LiveBatch> {
        self.read(|view| live_events_in(view, actor, after, limit))
    }

    /// See [`changes_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`changes_in`].
    pub fn changes(&self, actor: &Actor, after: ChangeId, limit: usize) -> Result<Vec<Change>> {
        self.read(|view| changes_in(view, actor, after, limit))
    }
}
