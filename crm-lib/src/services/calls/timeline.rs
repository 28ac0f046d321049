//! The customer timeline (SPEC 5C): one customer's messages, orders and calls mixed, newest
//! first, each shown only to whoever may see it by the rule of its own area. Payments join as
//! one more [`TimelineEntry`] kind and one more source read the same way.

use std::fmt;
use std::ops::Bound;
use std::str::FromStr;

use crate::model::*;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Error, Result, View};

use super::{calls_enabled, load_call, may_see_calls, unknown_caller_in};
use crate::services::orders::may_chat;
use crate::services::orders::may_view;
use crate::services::{Resolved, load_org, resolve};

/// The most records one source examines for one page: a customer with thousands of items
/// hidden from the reader gets a short page with a cursor rather than a long scan.
pub const TIMELINE_SCAN_LIMIT: usize = 2_000;

/// Where a timeline page ends: the moment, kind and id of its last item. Items are ordered by
/// (moment, kind, id), newest first; the next page holds those strictly before the cursor.
/// Written `moment-kind-id` (`1764930000000-3-17`) in links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimelineCursor {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The entry kind's rank ([`TimelineEntry::rank`]).
    pub kind: u8,
    /// The record's id.
    pub id: u64,
}

impl fmt::Display for TimelineCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.at, self.kind, self.id)
    }
}

impl FromStr for TimelineCursor {
    type Err = Error;

    /// Reads [`TimelineCursor`]'s `moment-kind-id` form.
    fn from_str(text: &str) -> Result<Self> {
        let bad = || Error::invalid("before", format!("{text:?} is not a timeline cursor"));
        let mut parts = text.trim().splitn(3, '-');
        let mut next = || parts.next().ok_or_else(bad);
        let at = next()?.parse().map_err(|_| bad())?;
        let kind = next()?.parse().map_err(|_| bad())?;
        let id = next()?.parse().map_err(|_| bad())?;
        Ok(TimelineCursor { at, kind, id })
    }
}

/// What a timeline item is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TimelineEntry {
    /// An order (a ticket) the customer placed, as lists show it, with its stage's name.
    Order {
        /// The order's list row.
        order: OrderSummary,
        /// Its stage's name in every language the organization named it in.
        stage: Localized,
    },
    /// A chat message, either way.
    Message(Message),
    /// A telephone call.
    Call(Call),
}

impl TimelineEntry {
    /// The kind's rank in the timeline's order and cursor: order 1, message 2, call 3.
    pub fn rank(&self) -> u8 {
        match self {
            TimelineEntry::Order { .. } => 1,
            TimelineEntry::Message(_) => 2,
            TimelineEntry::Call(_) => 3,
        }
    }

    /// `order`, `message` or `call`: the API's word for the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            TimelineEntry::Order { .. } => "order",
            TimelineEntry::Message(_) => "message",
            TimelineEntry::Call(_) => "call",
        }
    }
}

/// One item of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineItem {
    /// When it happened: the order's creation, the message's, the call's start.
    pub at: Timestamp,
    /// What it is.
    pub entry: TimelineEntry,
}

impl TimelineItem {
    /// The item's place in the timeline's order.
    pub fn cursor(&self) -> TimelineCursor {
        let id = match &self.entry {
            TimelineEntry::Order { order, .. } => order.id.0,
            TimelineEntry::Message(message) => message.id.0,
            TimelineEntry::Call(call) => call.id.0,
        };
        TimelineCursor {
            at: self.at.0,
            kind: self.entry.rank(),
            id,
        }
    }
}

/// A page of one customer's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The customer.
    pub customer: Customer,
    /// Their unknown-caller mark, when they were created for a call.
    pub unknown_caller: Option<UnknownCaller>,
    /// The items, newest first.
    pub items: Vec<TimelineItem>,
    /// Where the next page starts, when there may be more.
    pub next: Option<TimelineCursor>,
    /// The display names of the staff the items name (authors, operators), by id.
    pub staff: Vec<(UserId, String)>,
}

/// One source of the timeline: the newest items of one kind strictly before the cursor that
/// the reader may see, at most `limit`, and whether it stopped before its end.
fn newest(
    view: &impl View,
    index: crate::store::Def,
    prefix: &Key,
    limit: usize,
    mut load: impl FnMut(u64) -> Result<Option<TimelineItem>>,
    before: Option<TimelineCursor>,
) -> Result<(Vec<TimelineItem>, bool)> {
    let end = keys::prefix_end(prefix.as_slice());
    let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut ids = Vec::new();
    view.scan(
        index,
        (Bound::Included(prefix.as_slice()), upper),
        true,
        |key, _| {
            ids.push(keys::tail_u64(key));
            Ok(ids.len() < TIMELINE_SCAN_LIMIT)
        },
    )?;
    let mut truncated = ids.len() >= TIMELINE_SCAN_LIMIT;
    let mut items = Vec::new();
    for id in ids {
        let Some(item) = load(id)? else { continue };
        if before.is_some_and(|before| item.cursor() >= before) {
            continue;
        }
        if items.len() == limit {
            truncated = true;
            break;
        }
        items.push(item);
    }
    Ok((items, truncated))
}

/// One page of a customer's timeline: their orders (tickets), messages and calls, newest
/// first (by moment, then kind, then id), at most `limit` items (1..=200) strictly before
/// `before`. Who sees what follows each area's own rule: the customer needs `chat_customers`
/// or `view_orders` (as [`crate::customers::customer_in`]); a message needs the conversation
/// ([`crate::chat`]'s rule: `chat_customers`, or a grant on the message's order); an order
/// needs to be visible to the reader (the order list's rule); calls need calls on and
/// `chat_customers` or `view_orders`. Each source is read newest first through its
/// `*_by_customer` index, examining at most [`TIMELINE_SCAN_LIMIT`] records.
///
/// # Errors
/// Permission denied; not found (the customer).
pub fn timeline_in(
    view: &impl View,
    actor: &Actor,
    customer_id: CustomerId,
    before: Option<TimelineCursor>,
    limit: usize,
) -> Result<Timeline> {
    let resolved = resolve(view, actor)?;
    let customer = crate::services::customers::customer_in(view, actor, customer_id)?;
    let org = load_org(view, actor.org)?;
    let limit = limit.clamp(1, 200);
    let prefix = Key::org(actor.org).u64(customer_id.0);
    let mut all = Vec::new();
    let mut more = false;

    let (orders, truncated) = newest(
        view,
        tables::ORDERS_BY_CUSTOMER,
        &prefix,
        limit,
        |id| {
            let row: Option<OrderSummary> =
                view.get(tables::ORDER_ROWS, &crate::store::row_key(actor.org, id))?;
            let Some(order) = row else { return Ok(None) };
            if !may_view(view, &resolved, &org, &order)? {
                return Ok(None);
            }
            let stage = org
                .pipeline
                .stages
                .iter()
                .find(|stage| stage.id == order.stage)
                .map(|stage| stage.name.clone())
                .unwrap_or_default();
            Ok(Some(TimelineItem {
                at: order.created_at,
                entry: TimelineEntry::Order { order, stage },
            }))
        },
        before,
    )?;
    all.extend(orders);
    more |= truncated;

    let (messages, truncated) = newest(
        view,
        tables::MESSAGES_BY_CUSTOMER,
        &prefix,
        limit,
        |id| {
            let message: Message = view
                .get_raw(
                    tables::MESSAGES,
                    Key::org(actor.org).u64(id).as_slice(),
                    codec::decode::<Message>,
                )?
                .ok_or_else(|| crate::store::dangling("messages_by_customer", prefix.as_slice()))?;
            let visible = match &resolved {
                Resolved::Customer(me) => {
                    message.customer == *me && crate::services::chat::customer_sees(&message)
                }
                _ => may_chat(view, actor.org, &resolved, message.order)?,
            };
            Ok(visible.then_some(TimelineItem {
                at: message.created_at,
                entry: TimelineEntry::Message(message),
            }))
        },
        before,
    )?;
    all.extend(messages);
    more |= truncated;

    if calls_enabled(&org) && may_see_calls(&resolved) {
        let (calls, truncated) = newest(
            view,
            tables::CALLS_BY_CUSTOMER,
            &prefix,
            limit,
            |id| {
                let call = load_call(view, actor.org, CallId(id))?;
                Ok(Some(TimelineItem {
                    at: call.started_at,
                    entry: TimelineEntry::Call(call),
                }))
            },
            before,
        )?;
        all.extend(calls);
        more |= truncated;
    }

    all.sort_by_key(|item| std::cmp::Reverse(item.cursor()));
    if all.len() > limit {
        all.truncate(limit);
        more = true;
    }
    let next = if more {
        all.last().map(TimelineItem::cursor)
    } else {
        None
    };
    let mut staff_ids: Vec<UserId> = all
        .iter()
        .filter_map(|item| match &item.entry {
            TimelineEntry::Call(call) => call.operator,
            TimelineEntry::Message(message) => match message.author {
                Author::Staff(user) => Some(user),
                _ => None,
            },
            TimelineEntry::Order { order, .. } => order.assignee,
        })
        .collect();
    staff_ids.sort_unstable();
    staff_ids.dedup();
    let mut staff = Vec::with_capacity(staff_ids.len());
    for id in staff_ids {
        if let Some(user) = view.get::<User>(tables::USERS, &Key::org(actor.org).u64(id.0))? {
            staff.push((id, user.display_name));
        }
    }
    Ok(Timeline {
        unknown_caller: unknown_caller_in(view, actor.org, customer.id)?,
        customer,
        items: all,
        next,
        staff,
    })
}

impl Crm {
    /// See [`timeline_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`timeline_in`].
    pub fn timeline(
        &self,
        actor: &Actor,
        customer: CustomerId,
        before: Option<TimelineCursor>,
        limit: usize,
    ) -> Result<Timeline> {
        self.read(|view| timeline_in(view, actor, customer, before, limit))
    }
}
