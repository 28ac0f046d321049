//! The audit log: who did what to which record, when and from where (Django operator seed),
//! searchable by actor, action and time, and exported whole.
//!
//! Entries are written by [`crate::Tx`]'s use cases in the transaction of the change; this
//! module only reads them.

use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Result, View};

use super::chat::{load_message, may_chat};
use super::orders::{load_order, may_view};
use super::{Page, Paged, Resolved, load_org, require, resolve};

/// The most entries one page of [`audit_in`] examines. A filter that matches rarely returns
/// a short (even empty) page with a `next` cursor instead of walking the whole log in one
/// call.
pub const AUDIT_SCAN_LIMIT: usize = 10_000;

/// Filters of the audit log; all set filters must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// By this actor.
    pub actor: Option<ActorRef>,
    /// Whose action starts with this text (`order.` for every order action, or a whole
    /// action such as `order.created`).
    pub action: Option<String>,
    /// At or after this moment.
    pub from: Option<Timestamp>,
    /// At or before this moment.
    pub to: Option<Timestamp>,
    /// About this record, exactly as entries name it (`order 42`).
    pub entity: Option<String>,
}

impl AuditFilter {
    fn matches(&self, entry: &AuditEntry) -> bool {
        self.actor.is_none_or(|actor| entry.actor == actor)
            && self
                .action
                .as_deref()
                .is_none_or(|action| entry.action.starts_with(action.trim()))
            && self.from.is_none_or(|from| entry.at >= from)
            && self.to.is_none_or(|to| entry.at <= to)
            && self
                .entity
                .as_deref()
                .is_none_or(|entity| entry.entity == entity.trim())
    }
}

/// The audit log of the actor's organization, newest first, filtered, with keyset pagination
/// (the cursor is an audit entry id). Needs `view_audit` (the system always may).
///
/// One page examines at most [`AUDIT_SCAN_LIMIT`] entries: when the filter is rare, the page
/// may hold fewer than `limit` entries while `next` is set; call again with it to go on.
///
/// # Errors
/// Permission denied.
pub fn audit_in(
    view: &impl View,
    actor: &Actor,
    filter: &AuditFilter,
    page: Page,
) -> Result<Paged<AuditEntry>> {
    require(view, actor, Permission::ViewAudit)?;
    let size = page.size();
    let prefix = Key::org(actor.org);
    let end = match page.after {
        Some(after) => Some(Key::org(actor.org).u64(after).into_vec()),
        None => keys::prefix_end(prefix.as_slice()),
    };
    let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut items = Vec::with_capacity(size);
    let mut scanned = 0usize;
    let mut last_scanned = None;
    let mut more = false;
    view.scan(
        tables::AUDIT,
        (Bound::Included(prefix.as_slice()), upper),
        true,
        |_, value| {
            let entry = codec::decode::<AuditEntry>(value)?;
            let id = entry.id.0;
            if filter.matches(&entry) {
                if items.len() == size {
                    more = true;
                    return Ok(false);
                }
                items.push(entry);
            }
            scanned += 1;
            last_scanned = Some(id);
            if scanned >= AUDIT_SCAN_LIMIT {
                more = true;
                return Ok(false);
            }
            Ok(true)
        },
    )?;
    let next = if more { last_scanned } else { None };
    Ok(Paged { items, next })
}

/// The most entries `entity_timeline_in` examines.
pub const TIMELINE_SCAN_LIMIT: usize = 20_000;

/// The audit entries about one record (`entity` as entries name it, `order 42`), oldest
/// first, written at or after `since` (the record's creation). Audit ids grow with time, so a
/// binary search finds the first entry at `since` and a forward scan of at most
/// [`TIMELINE_SCAN_LIMIT`] entries collects the rest; the flag says whether the scan stopped
/// at that limit (the timeline may then be cut short). No permission check: callers check that
/// the actor may see the record (the order page does, through `order_in`).
///
/// # Errors
/// Storage only.
pub(crate) fn entity_timeline_in(
    view: &impl View,
    org: OrgId,
    entity: &str,
    since: Timestamp,
) -> Result<(Vec<AuditEntry>, bool)> {
    let prefix = Key::org(org);
    let mut last = 0u64;
    view.scan(
        tables::AUDIT,
        (
            Bound::Included(prefix.as_slice()),
            keys::prefix_end(prefix.as_slice())
                .as_deref()
                .map_or(Bound::Unbounded, Bound::Excluded),
        ),
        true,
        |key, _| {
            last = keys::tail_u64(key);
            Ok(false)
        },
    )?;
    // The first id whose entry is at or after `since`; missing (purged) entries count as
    // older.
    let (mut low, mut high) = (1u64, last.saturating_add(1));
    while low < high {
        let middle = low + (high - low) / 2;
        let at = view.get_raw(
            tables::AUDIT,
            Key::org(org).u64(middle).as_slice(),
            |bytes| Ok(codec::decode::<AuditEntry>(bytes)?.at),
        )?;
        match at {
            Some(at) if at >= since => high = middle,
            _ => low = middle + 1,
        }
    }
    let start = Key::org(org).u64(low).into_vec();
    let end = keys::prefix_end(prefix.as_slice());
    let mut entries = Vec::new();
    let mut scanned = 0usize;
    let mut cut = false;
    view.scan(
        tables::AUDIT,
        (
            Bound::Included(start.as_slice()),
            end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        ),
        false,
        |_, value| {
            let entry = codec::decode::<AuditEntry>(value)?;
            if entry.entity == entity {
                entries.push(entry);
            }
            scanned += 1;
            if scanned >= TIMELINE_SCAN_LIMIT {
                cut = true;
                return Ok(false);
            }
            Ok(true)
        },
    )?;
    Ok((entries, cut))
}

/// Every audit entry of `org`, oldest first (exports). Reads the whole log into memory.
///
/// # Errors
/// Storage only.
pub fn all_audit_in(view: &impl View, org: OrgId) -> Result<Vec<AuditEntry>> {
    view.records_with_prefix(tables::AUDIT, &Key::org(org))
}

/// What a live event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveKind {
    /// An order changed: created, moderated, bid on, assigned, moved, deleted, paid.
    Order,
    /// A conversation changed: a message arrived or was sent, or it was read.
    Message,
}

impl LiveKind {
    /// `order` or `message`: the event name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveKind::Order => "order",
            LiveKind::Message => "message",
        }
    }
}

/// A change a user may see happen (the browser's live updates), derived from an audit entry
/// whose id it keeps, so that a client can resume after the last event it saw.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// The audit entry's id: increasing within the organization, across restarts.
    pub id: AuditId,
    /// Order or conversation.
    pub kind: LiveKind,
    /// The audit action (`order.stage_changed`, `message.received`).
    pub action: String,
    /// When.
    pub at: Timestamp,
    /// The order, for order events and messages about an order.
    pub order: Option<OrderId>,
    /// The customer whose order or conversation it is.
    pub customer: Option<CustomerId>,
    /// The message, for message events.
    pub message: Option<MessageId>,
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
    /// The last audit entry examined (seen or not): where the next batch starts. `None` when
    /// nothing newer than the cursor exists.
    pub cursor: Option<AuditId>,
    /// Whether more entries may follow right away.
    pub more: bool,
}

/// The id of the newest audit entry of `org` (0 when the log is empty): where a new live
/// stream starts.
///
/// # Errors
/// Storage only.
pub fn latest_audit_id_in(view: &impl View, org: OrgId) -> Result<AuditId> {
    let prefix = Key::org(org);
    let end = keys::prefix_end(prefix.as_slice());
    let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut latest = AuditId(0);
    view.scan(
        tables::AUDIT,
        (Bound::Included(prefix.as_slice()), upper),
        true,
        |key, _| {
            latest = AuditId(keys::tail_u64(key));
            Ok(false)
        },
    )?;
    Ok(latest)
}

/// Splits an audit entity (`order 42`) into its kind and id.
fn entity_id(entity: &str, kind: &str) -> Option<u64> {
    let (name, id) = entity.rsplit_once(' ')?;
    if name == kind { id.parse().ok() } else { None }
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

/// The live event of one audit entry, if it is an order or chat change the actor may see.
fn live_event(
    view: &impl View,
    actor: &Actor,
    resolved: &Resolved,
    org: &Organization,
    entry: &AuditEntry,
) -> Result<Option<LiveEvent>> {
    let action = entry.action.as_str();
    let event = |kind, order, customer, message, stage, summary| LiveEvent {
        id: entry.id,
        kind,
        action: entry.action.clone(),
        at: entry.at,
        order,
        customer,
        message,
        stage,
        summary,
    };
    if action.starts_with("order.") || action.starts_with("bid.") || action == "payment.sent" {
        let Some(id) = entity_id(&entry.entity, "order").map(OrderId) else {
            return Ok(None);
        };
        let order = match load_order(view, actor.org, id) {
            Ok(order) => order,
            Err(error) if error.kind() == crate::ErrorKind::NotFound => {
                // A deleted order: staff who see orders learn it is gone (the board drops the
                // card); nothing else about it is left to show.
                let sees_orders = resolved.has(Permission::ViewOrders)
                    || resolved.has(Permission::ModerateOrders);
                return Ok(sees_orders
                    .then(|| event(LiveKind::Order, Some(id), None, None, None, String::new())));
            }
            Err(error) => return Err(error),
        };
        if action == "payment.sent" {
            // Payment details are also a message in the conversation.
            if !may_chat(view, actor.org, resolved, Some(id))? {
                return Ok(None);
            }
            return Ok(Some(event(
                LiveKind::Message,
                Some(id),
                Some(order.customer),
                None,
                Some(order.stage),
                order.title,
            )));
        }
        if !may_view(resolved, org, &order)? {
            return Ok(None);
        }
        return Ok(Some(event(
            LiveKind::Order,
            Some(id),
            Some(order.customer),
            None,
            Some(order.stage),
            order.title,
        )));
    }
    if action.starts_with("message.") {
        let Some(id) = entity_id(&entry.entity, "message").map(MessageId) else {
            return Ok(None);
        };
        let message = match load_message(view, actor.org, id) {
            Ok(message) => message,
            Err(error) if error.kind() == crate::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let visible = match resolved {
            Resolved::Customer(customer) => message.customer == *customer,
            _ => may_chat(view, actor.org, resolved, message.order)?,
        };
        if !visible {
            return Ok(None);
        }
        return Ok(Some(event(
            LiveKind::Message,
            message.order,
            Some(message.customer),
            Some(id),
            None,
            preview(&message.text),
        )));
    }
    if action == "conversation.read" {
        let Some(id) = entity_id(&entry.entity, "customer").map(CustomerId) else {
            return Ok(None);
        };
        if !resolved.has(Permission::ChatCustomers) {
            return Ok(None);
        }
        return Ok(Some(event(
            LiveKind::Message,
            None,
            Some(id),
            None,
            None,
            String::new(),
        )));
    }
    Ok(None)
}

/// The order and chat changes after audit entry `after` that the actor may see, oldest
/// first: what the browser's live stream sends. Who sees what is decided here with the same
/// rules as the reads: an order event needs the order to be visible to the actor (see
/// [`super::orders::order_in`]); a message event needs the conversation (`chat_customers`, or an
/// order-level grant on the message's order).
///
/// Examines at most `limit` entries (1..=1000) and reads the record each one names; the
/// returned `cursor` is where the next call starts, whether or not anything was visible.
///
/// # Errors
/// Permission denied when the actor is disabled or gone (the stream must end).
pub fn live_events_in(
    view: &impl View,
    actor: &Actor,
    after: AuditId,
    limit: usize,
) -> Result<LiveBatch> {
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    let limit = limit.clamp(1, 1000);
    let prefix = Key::org(actor.org);
    let start = Key::org(actor.org).u64(after.0);
    let end = keys::prefix_end(prefix.as_slice());
    let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut entries = Vec::new();
    let mut more = false;
    view.scan(
        tables::AUDIT,
        (Bound::Excluded(start.as_slice()), upper),
        false,
        |_, value| {
            if entries.len() == limit {
                more = true;
                return Ok(false);
            }
            entries.push(codec::decode::<AuditEntry>(value)?);
            Ok(true)
        },
    )?;
    let mut batch = LiveBatch {
        events: Vec::new(),
        cursor: entries.last().map(|entry| entry.id),
        more,
    };
    for entry in &entries {
        if let Some(event) = live_event(view, actor, &resolved, &org, entry)? {
            batch.events.push(event);
        }
    }
    Ok(batch)
}

impl Crm {
    /// See [`latest_audit_id_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn latest_audit_id(&self, org: OrgId) -> Result<AuditId> {
        self.read(|view| latest_audit_id_in(view, org))
    }

    /// See [`live_events_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`live_events_in`].
    pub fn live_events(&self, actor: &Actor, after: AuditId, limit: usize) -> Result<LiveBatch> {
        self.read(|view| live_events_in(view, actor, after, limit))
    }

    /// See [`audit_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`audit_in`].
    pub fn audit_log(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        page: Page,
    ) -> Result<Paged<AuditEntry>> {
        self.read(|view| audit_in(view, actor, filter, page))
    }

    /// See [`all_audit_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn all_audit(&self, org: OrgId) -> Result<Vec<AuditEntry>> {
        self.read(|view| all_audit_in(view, org))
    }
}
