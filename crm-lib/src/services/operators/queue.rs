//! The queue: conversations and tickets as queue items, operator presence, and the one
//! routing rule every path goes through.
//!
//! The rule (SPEC 5B): an item goes to its department and to the least-loaded online member
//! of it; load is the operator's open assigned items (conversations and tickets); ties go to
//! whoever waited longest since their last assignment (never assigned first), then to the
//! lower user id. With nobody online the item waits in its department's queue, oldest first,
//! and is given out when a member comes online ([`drain`]). An item of no department (the
//! organization has no active department) goes to any online operator. Paths that call it:
//! a conversation opened by a customer's message or department choice, a ticket created,
//! an operator coming online or joining a department (drain), an operator going offline,
//! leaving a department or leaving an item unanswered past the answer timeout (re-route),
//! a department archived (its queue moves to the default department), and a manager's
//! reassignment. Automatic assignments are audited as the system, manual ones as the manager;
//! each writes a `queue.assigned` entry, a change of the conversation (or the order) for live
//! pages, and a Telegram notice to a linked operator.

use crate::model::*;
use crate::orders::AssignTo;
use crate::store::declarations::{
    queue_assignee_prefix, queue_load_key, queue_subject_prefix, queue_waiting_prefix,
};
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::System;
use crate::{Crm, Error, ErrorKind, Result, Tx, View};

use super::super::customers::load_customer;
use super::super::team::load_user;
use super::super::{Resolved, load_org, require, resolve};
use super::{all_departments, load_department};
use super::{module_on, require_module, require_staff, settings_of};

pub(super) fn item_key(org: OrgId, item: QueueItemId) -> Key {
    Key::org(org).u64(item.0)
}

/// Writes a changed queue item with its declared entries; a conversation's inbox row
/// follows (assignee, department, open or closed).
pub(super) fn update_item(
    tx: &Tx<'_>,
    org: OrgId,
    before: &QueueItem,
    after: &QueueItem,
) -> Result<()> {
    tx.update_record(&item_key(org, before.id), before, after)?;
    refresh_row_of(tx, org, after)
}

/// Writes a new queue item with its declared entries; a conversation's inbox row follows.
fn insert_item(tx: &Tx<'_>, org: OrgId, item: &QueueItem) -> Result<()> {
    tx.insert_record(&item_key(org, item.id), item)?;
    refresh_row_of(tx, org, item)
}

fn refresh_row_of(tx: &Tx<'_>, org: OrgId, item: &QueueItem) -> Result<()> {
    if let QueueSubject::Conversation(customer) = item.subject {
        crate::services::inbox::rows::refresh_conversation_row(tx, org, customer)?;
    }
    Ok(())
}

pub(crate) fn load_item(view: &impl View, org: OrgId, item: QueueItemId) -> Result<QueueItem> {
    view.get(tables::QUEUE_ITEMS, &item_key(org, item))?
        .ok_or_else(|| Error::not_found(QueueItemId::LABEL, item))
}

/// The newest item of `subject` (open or closed), if any.
pub(crate) fn latest_item(
    view: &impl View,
    org: OrgId,
    subject: QueueSubject,
) -> Result<Option<QueueItem>> {
    let keys = view.keys_with_prefix(
        tables::QUEUE_BY_SUBJECT,
        &queue_subject_prefix(org, subject),
        None,
        true,
        1,
    )?;
    match keys.first() {
        Some(key) => load_item(view, org, QueueItemId(keys::tail_u64(key))).map(Some),
        None => Ok(None),
    }
}

/// The open item of `subject`, if any (only the newest may be open).
pub(crate) fn open_item(
    view: &impl View,
    org: OrgId,
    subject: QueueSubject,
) -> Result<Option<QueueItem>> {
    Ok(latest_item(view, org, subject)?.filter(|item| item.state == QueueState::Open))
}

fn state_key(org: OrgId, user: UserId) -> Key {
    Key::org(org).u64(user.0)
}

/// An operator's state; offline since the beginning of time when never set.
pub(crate) fn state_of(view: &impl View, org: OrgId, user: UserId) -> Result<OperatorState> {
    Ok(view
        .get(tables::OPERATOR_STATES, &state_key(org, user))?
        .unwrap_or(OperatorState {
            user,
            status: OperatorStatus::Offline,
            changed_at: Timestamp::from_millis(0),
            last_assigned_at: None,
        }))
}

/// An operator's load: their open assigned items (one point read of `queue_loads`).
pub(crate) fn load_of(view: &impl View, org: OrgId, user: UserId) -> Result<u64> {
    view.counter(tables::QUEUE_LOADS, &queue_load_key(org, Some(user)))
}

/// The open items assigned to `user`.
fn items_of(view: &impl View, org: OrgId, user: UserId) -> Result<Vec<QueueItem>> {
    let keys = view.keys_with_prefix(
        tables::QUEUE_BY_ASSIGNEE,
        &queue_assignee_prefix(org, user),
        None,
        false,
        usize::MAX,
    )?;
    keys.iter()
        .map(|key| load_item(view, org, QueueItemId(keys::tail_u64(key))))
        .collect()
}

/// The active departments of `org`, by id.
fn active_departments(view: &impl View, org: OrgId) -> Result<Vec<Department>> {
    Ok(all_departments(view, org)?
        .into_iter()
        .filter(|department| !department.archived)
        .collect())
}

/// Where an item goes when nobody chose: the default department when it is active, else the
/// first active one, else none.
fn default_department(view: &impl View, org: OrgId) -> Result<Option<DepartmentId>> {
    let active = active_departments(view, org)?;
    let settings = settings_of(view, org)?;
    Ok(settings
        .default_department
        .filter(|chosen| active.iter().any(|department| department.id == *chosen))
        .or_else(|| active.first().map(|department| department.id)))
}

/// The operator the routing rule picks for an item of `department`, other than `exclude`:
/// the least-loaded online active member, ties to the longest wait since their last
/// assignment, then the lower id. `None` when nobody qualifies.
pub(crate) fn pick_operator(
    view: &impl View,
    org: OrgId,
    department: Option<DepartmentId>,
    exclude: Option<UserId>,
) -> Result<Option<UserId>> {
    let candidates: Vec<UserId> = match department {
        Some(department) => {
            let record = load_department(view, org, department)?;
            if record.archived {
                Vec::new()
            } else {
                record.members
            }
        }
        None => view
            .records_with_prefix::<OperatorState>(tables::OPERATOR_STATES, &Key::org(org))?
            .into_iter()
            .map(|state| state.user)
            .collect(),
    };
    let mut best: Option<((u64, i64, u64), UserId)> = None;
    for user in candidates {
        if Some(user) == exclude {
            continue;
        }
        let state = state_of(view, org, user)?;
        if state.status != OperatorStatus::Online {
            continue;
        }
        match load_user(view, org, user) {
            Ok(record) if record.status == UserStatus::Active => {}
            _ => continue,
        }
        let rank = (
            load_of(view, org, user)?,
            state.last_assigned_at.map_or(i64::MIN, |at| at.millis()),
            user.0,
        );
        if best.as_ref().is_none_or(|(best_rank, _)| rank < *best_rank) {
            best = Some((rank, user));
        }
    }
    Ok(best.map(|(_, user)| user))
}

/// The subject audit entries and changes of an item name.
pub(super) fn subject_of(item: &QueueItem) -> Subject {
    match item.subject {
        QueueSubject::Conversation(customer) => Subject::Conversation(customer),
        QueueSubject::Ticket(order) => Subject::Order(order),
    }
}

/// Gives `item` to `to` (or back to its department's queue with `None`), as `actor` for
/// `reason`: the item, the operator's last assignment, the order's assignee for a ticket
/// (through [`Tx::assign_order`]), the audit entry, the change and the Telegram notice.
fn assign(
    tx: &mut Tx<'_>,
    actor: &Actor,
    item: &QueueItem,
    to: Option<UserId>,
    reason: &str,
) -> Result<QueueItem> {
    let org = actor.org;
    let mut after = item.clone();
    after.assignee = to;
    after.assigned_at = to.map(|_| tx.now());
    update_item(tx, org, item, &after)?;
    if let Some(user) = to {
        let mut state = state_of(tx, org, user)?;
        state.last_assigned_at = Some(tx.now());
        tx.put(tables::OPERATOR_STATES, &state_key(org, user), &state)?;
        let operator = load_user(tx, org, user)?;
        match item.subject {
            QueueSubject::Conversation(customer) => {
                if operator.telegram_id.is_some() && reason != OPENED_BY_MESSAGE {
                    let customer_name = load_customer(tx, org, customer)?.full_name();
                    let department = match item.department {
                        Some(department) => Some(load_department(tx, org, department)?.name),
                        None => None,
                    };
                    tx.enqueue(
                        org,
                        Recipient::Staff(user),
                        OutboxPayload::Notify(Event::ConversationAssigned {
                            customer,
                            customer_name,
                            department,
                        }),
                    )?;
                }
            }
            QueueSubject::Ticket(order) => {
                // The order's own rules decide (an open stage, an active assignee); a use
                // case that refuses writes nothing, so the item stays routed either way and
                // the order keeps its assignee. The order use case tells the assignee.
                match tx.assign_order(&Actor::system(org), order, AssignTo::User(user)) {
                    Ok(_) => {}
                    Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
                    Err(_) => {}
                }
            }
        }
    }
    tx.audit(
        actor,
        AuditAction::QueueAssigned,
        subject_of(item),
        AuditDetail::Text(match to {
            Some(user) => format!("to user {user} ({reason})"),
            None => format!("back to the queue ({reason})"),
        }),
    )?;
    tx.changed(org, subject_of(item), ChangeKind::Updated)?;
    Ok(after)
}

/// Routes one open item by the rule, excluding `exclude` (the operator it leaves). With
/// nobody to take it, it goes back to the queue unless `keep` (the answer timeout keeps an
/// item with its operator when nobody else is online).
fn route(
    tx: &mut Tx<'_>,
    actor: &Actor,
    item: &QueueItem,
    exclude: Option<UserId>,
    keep: bool,
    reason: &str,
) -> Result<QueueItem> {
    if item.state != QueueState::Open {
        return Ok(item.clone());
    }
    let pick = pick_operator(tx, actor.org, item.department, exclude)?;
    match pick {
        Some(user) if Some(user) != item.assignee => assign(tx, actor, item, Some(user), reason),
        None if !keep && item.assignee.is_some() => assign(tx, actor, item, None, reason),
        _ => Ok(item.clone()),
    }
}

/// Gives the waiting items of `department`'s queue, oldest first, to its online members until
/// the queue is empty or nobody is online.
pub(crate) fn drain(tx: &mut Tx<'_>, org: OrgId, department: Option<DepartmentId>) -> Result<()> {
    let system = Actor::system(org);
    loop {
        let keys = tx.keys_with_prefix(
            tables::QUEUE_WAITING,
            &queue_waiting_prefix(org, department),
            None,
            false,
            1,
        )?;
        let Some(key) = keys.first() else {
            return Ok(());
        };
        let item = load_item(tx, org, QueueItemId(keys::tail_u64(key)))?;
        let Some(user) = pick_operator(tx, org, item.department, None)? else {
            return Ok(());
        };
        assign(tx, &system, &item, Some(user), "queue")?;
    }
}

/// Re-routes the open items of `user` (those of `department` only, when given) to others;
/// what nobody can take goes back to the queue. Returns how many items moved.
pub(crate) fn reroute_of(
    tx: &mut Tx<'_>,
    org: OrgId,
    user: UserId,
    department: Option<DepartmentId>,
) -> Result<u32> {
    let system = Actor::system(org);
    let mut moved = 0;
    for item in items_of(tx, org, user)? {
        if department.is_some() && item.department != department {
            continue;
        }
        route(tx, &system, &item, Some(user), false, "operator left")?;
        moved += 1;
    }
    Ok(moved)
}

/// Moves the waiting items of an archived department to the default department (or to no
/// department) and routes them there.
pub(crate) fn move_waiting_out(
    tx: &mut Tx<'_>,
    org: OrgId,
    department: DepartmentId,
) -> Result<()> {
    let target = default_department(tx, org)?;
    let keys = tx.keys_with_prefix(
        tables::QUEUE_WAITING,
        &queue_waiting_prefix(org, Some(department)),
        None,
        false,
        usize::MAX,
    )?;
    for key in keys {
        let item = load_item(tx, org, QueueItemId(keys::tail_u64(&key)))?;
        let mut after = item.clone();
        after.department = target;
        update_item(tx, org, &item, &after)?;
        tx.changed(org, subject_of(&item), ChangeKind::Updated)?;
    }
    drain(tx, org, target)
}

/// The routing reason of a conversation that a customer's message opened: its operator is
/// not sent [`Event::ConversationAssigned`], because the same transaction sends them the
/// message itself ([`Event::CustomerWrote`], `staff_chat`), which they answer by replying.
const OPENED_BY_MESSAGE: &str = "new message";

/// Opens a new item of `subject` in `department` and routes it, for `reason` ("new", or
/// [`OPENED_BY_MESSAGE`]).
fn open_new(
    tx: &mut Tx<'_>,
    org: OrgId,
    subject: QueueSubject,
    department: Option<DepartmentId>,
    reason: &str,
) -> Result<QueueItem> {
    let id = QueueItemId(tx.next_id(org, "queue_item")?);
    let now = tx.now();
    let item = QueueItem {
        id,
        subject,
        department,
        assignee: None,
        state: QueueState::Open,
        opened_at: now,
        assigned_at: None,
        first_customer_message_at: Some(now),
        first_reply_at: None,
        first_reply_by: None,
        awaiting_reply_since: Some(now),
        closed_at: None,
        archived_at: None,
    };
    insert_item(tx, org, &item)?;
    if let QueueSubject::Conversation(_) = subject {
        tx.audit(
            &Actor::system(org),
            AuditAction::ConversationOpened,
            subject_of(&item),
            AuditDetail::Text(match department {
                Some(department) => format!("department {department}"),
                None => "no department".to_string(),
            }),
        )?;
    }
    tx.changed(org, subject_of(&item), ChangeKind::Updated)?;
    route(tx, &Actor::system(org), &item, None, false, reason)
}

/// A customer's message was recorded (in [`Tx::post_inbound`]'s transaction): it opens the
/// customer's conversation when none is open, in the default department, unless the
/// organization asks customers to choose among several departments (then the bot asks, and
/// [`Tx::choose_department`] opens it); an open one now waits for a reply.
pub(crate) fn on_customer_message(
    tx: &mut Tx<'_>,
    org: &Organization,
    customer: CustomerId,
) -> Result<()> {
    if !module_on(org) {
        return Ok(());
    }
    let subject = QueueSubject::Conversation(customer);
    if let Some(item) = open_item(tx, org.id, subject)? {
        if item.awaiting_reply_since.is_none() || item.first_customer_message_at.is_none() {
            let mut after = item.clone();
            after.awaiting_reply_since = after.awaiting_reply_since.or(Some(tx.now()));
            after.first_customer_message_at = after.first_customer_message_at.or(Some(tx.now()));
            update_item(tx, org.id, &item, &after)?;
        }
        return Ok(());
    }
    if asks_department(tx, org.id)? {
        // No conversation opens before the customer chooses: the archived one comes back
        // to the working lists meanwhile.
        return unarchive(tx, org.id, subject);
    }
    let department = default_department(tx, org.id)?;
    // A new conversation opens (the archived one stays archived, as the older one it is).
    open_new(tx, org.id, subject, department, OPENED_BY_MESSAGE)?;
    Ok(())
}

/// A customer wrote and is asked for a department before a conversation opens: their latest
/// conversation, when archived, becomes a working (closed) conversation again, so the inbox
/// lists them meanwhile. The change-feed entry is the message's own.
fn unarchive(tx: &mut Tx<'_>, org: OrgId, subject: QueueSubject) -> Result<()> {
    if let Some(item) = latest_item(tx, org, subject)?
        && item.archived_at.is_some()
    {
        let mut after = item.clone();
        after.archived_at = None;
        update_item(tx, org, &item, &after)?;
    }
    Ok(())
}

/// Whether customers choose their department: the setting is on and there are several
/// active departments.
fn asks_department(view: &impl View, org: OrgId) -> Result<bool> {
    Ok(settings_of(view, org)?.ask_department && active_departments(view, org)?.len() > 1)
}

/// Staff wrote to a customer (in [`Tx::post_outbound`]'s transaction): the open conversation
/// (and the ticket of `order`, when it is one) is answered; the first reply is recorded for
/// first response time.
pub(crate) fn on_staff_reply(
    tx: &mut Tx<'_>,
    org: OrgId,
    customer: CustomerId,
    author: Option<UserId>,
    order: Option<OrderId>,
) -> Result<()> {
    if !module_on(&load_org(tx, org)?) {
        return Ok(());
    }
    let mut subjects = vec![QueueSubject::Conversation(customer)];
    subjects.extend(order.map(QueueSubject::Ticket));
    for subject in subjects {
        let Some(item) = open_item(tx, org, subject)? else {
            continue;
        };
        let mut after = item.clone();
        after.awaiting_reply_since = None;
        if after.first_reply_at.is_none() && after.first_customer_message_at.is_some() {
            after.first_reply_at = Some(tx.now());
            after.first_reply_by = author;
        }
        if after != item {
            update_item(tx, org, &item, &after)?;
        }
    }
    Ok(())
}

/// An order was created (in [`Tx::create_order`]'s transaction): with the module on it is a
/// ticket, routed to the default department.
pub(crate) fn on_order_created(tx: &mut Tx<'_>, org: &Organization, order: OrderId) -> Result<()> {
    if !module_on(org) {
        return Ok(());
    }
    let department = default_department(tx, org.id)?;
    open_new(tx, org.id, QueueSubject::Ticket(order), department, "new")?;
    Ok(())
}

/// An order moved (in [`Tx::move_order`]'s transaction): a terminal stage closes its ticket;
/// another stage counts as its operator's answer (the answer timeout no longer applies).
pub(crate) fn on_order_moved(
    tx: &mut Tx<'_>,
    org: &Organization,
    order: OrderId,
    terminal: bool,
) -> Result<()> {
    if !module_on(org) {
        return Ok(());
    }
    if terminal {
        return close_item(tx, org.id, QueueSubject::Ticket(order));
    }
    if let Some(item) = open_item(tx, org.id, QueueSubject::Ticket(order))?
        && item.awaiting_reply_since.is_some()
    {
        let mut after = item.clone();
        after.awaiting_reply_since = None;
        update_item(tx, org.id, &item, &after)?;
    }
    Ok(())
}

/// An order was deleted: its ticket closes.
pub(crate) fn on_order_deleted(tx: &mut Tx<'_>, org: &Organization, order: OrderId) -> Result<()> {
    if !module_on(org) {
        return Ok(());
    }
    close_item(tx, org.id, QueueSubject::Ticket(order))
}

/// A manager assigned an order by hand (in [`Tx::assign_order`]'s transaction): its ticket
/// follows.
pub(crate) fn on_order_assigned(
    tx: &mut Tx<'_>,
    org: &Organization,
    order: OrderId,
    user: UserId,
) -> Result<()> {
    if !module_on(org) {
        return Ok(());
    }
    if let Some(item) = open_item(tx, org.id, QueueSubject::Ticket(order))?
        && item.assignee != Some(user)
    {
        let mut after = item.clone();
        after.assignee = Some(user);
        after.assigned_at = Some(tx.now());
        update_item(tx, org.id, &item, &after)?;
    }
    Ok(())
}

fn close_item(tx: &mut Tx<'_>, org: OrgId, subject: QueueSubject) -> Result<()> {
    if let Some(item) = open_item(tx, org, subject)? {
        let mut after = item.clone();
        after.state = QueueState::Closed;
        after.closed_at = Some(tx.now());
        after.awaiting_reply_since = None;
        update_item(tx, org, &item, &after)?;
    }
    Ok(())
}

/// A staff user may set `user`'s status: their own, or anyone's with `assign_orders`; the
/// system may.
fn check_status_actor(resolved: &Resolved, user: UserId) -> Result<()> {
    match resolved {
        Resolved::System => Ok(()),
        Resolved::Staff(me, _) if me.id == user => Ok(()),
        Resolved::Staff(..) if resolved.has(Permission::AssignOrders) => Ok(()),
        Resolved::Staff(..) => Err(Error::denied(
            Permission::AssignOrders,
            format!("setting another operator's status needs assign_orders (user {user})"),
        )),
        Resolved::Customer(_) => Err(Error::forbidden("customers have no operator status")),
    }
}

/// Writes a status change and what follows from it (drain on online, re-route on offline).
fn change_status(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user: UserId,
    status: OperatorStatus,
) -> Result<OperatorState> {
    let org = actor.org;
    let before = state_of(tx, org, user)?;
    if before.status == status {
        return Ok(before);
    }
    let after = OperatorState {
        status,
        changed_at: tx.now(),
        ..before.clone()
    };
    tx.put(tables::OPERATOR_STATES, &state_key(org, user), &after)?;
    tx.audit(
        actor,
        AuditAction::OperatorStatusChanged,
        Subject::User(user),
        AuditDetail::Text(format!(
            "{} -> {}",
            status_word(before.status),
            status_word(status)
        )),
    )?;
    tx.changed(org, Subject::User(user), ChangeKind::Updated)?;
    match status {
        OperatorStatus::Online => {
            for department in active_departments(tx, org)? {
                if department.members.contains(&user) {
                    drain(tx, org, Some(department.id))?;
                }
            }
            drain(tx, org, None)?;
        }
        OperatorStatus::Offline => {
            reroute_of(tx, org, user, None)?;
        }
        OperatorStatus::Away => {}
    }
    Ok(after)
}

/// `online`, `away` or `offline`.
pub fn status_word(status: OperatorStatus) -> &'static str {
    match status {
        OperatorStatus::Online => "online",
        OperatorStatus::Away => "away",
        OperatorStatus::Offline => "offline",
    }
}

/// Reads `online`, `away` or `offline` (any case, trimmed).
///
/// # Errors
/// Invalid input on `status` for anything else.
pub fn parse_status(text: &str) -> Result<OperatorStatus> {
    match text.trim().to_ascii_lowercase().as_str() {
        "online" => Ok(OperatorStatus::Online),
        "away" => Ok(OperatorStatus::Away),
        "offline" => Ok(OperatorStatus::Offline),
        other => Err(Error::invalid(
            "status",
            format!("{other:?} is not online, away or offline"),
        )),
    }
}

/// The conversation of one customer as the conversation page shows it: its open (or last)
/// item, the names, and what the viewer may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationView {
    /// The open item, or the last closed one; `None` when the customer never had one.
    pub item: Option<QueueItem>,
    /// The department's name.
    pub department: Option<String>,
    /// The assignee's display name.
    pub assignee: Option<String>,
    /// Whether the viewer may reassign it (`assign_orders`).
    pub may_reassign: bool,
    /// Whether the viewer may close or reopen it (`chat_customers`).
    pub may_close: bool,
    /// The operators a manager may choose from: active staff who are not offline, with
    /// their status and load.
    pub operators: Vec<OperatorRow>,
}

/// One operator: who, their status and load, and their departments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRow {
    /// The staff user.
    pub user: UserId,
    /// Their display name.
    pub name: String,
    /// Online, away or offline.
    pub status: OperatorStatus,
    /// When the status last changed.
    pub changed_at: Timestamp,
    /// Their open assigned items.
    pub load: u64,
    /// The departments they belong to (active ones).
    pub departments: Vec<DepartmentId>,
}

/// Every operator: each active staff user who belongs to an active department or has a
/// status, by user id. Any staff user may read it.
///
/// # Errors
/// Not found when the module is off; permission denied for customers.
pub fn operators_in(view: &impl View, actor: &Actor) -> Result<Vec<OperatorRow>> {
    require_staff(view, actor)?;
    let departments = active_departments(view, actor.org)?;
    let states: Vec<OperatorState> =
        view.records_with_prefix(tables::OPERATOR_STATES, &Key::org(actor.org))?;
    let mut users: Vec<UserId> = departments
        .iter()
        .flat_map(|department| department.members.iter().copied())
        .chain(states.iter().map(|state| state.user))
        .collect();
    users.sort();
    users.dedup();
    let mut rows = Vec::with_capacity(users.len());
    for user in users {
        let Ok(record) = load_user(view, actor.org, user) else {
            continue;
        };
        if record.status != UserStatus::Active {
            continue;
        }
        let state = state_of(view, actor.org, user)?;
        rows.push(OperatorRow {
            user,
            name: record.display_name,
            status: state.status,
            changed_at: state.changed_at,
            load: load_of(view, actor.org, user)?,
            departments: departments
                .iter()
                .filter(|department| department.members.contains(&user))
                .map(|department| department.id)
                .collect(),
        });
    }
    Ok(rows)
}

/// One staff user's operator state (offline when never set). Anyone of the staff may read it.
///
/// # Errors
/// Not found when the module is off or the user does not exist; permission denied for
/// customers.
pub fn operator_state_in(view: &impl View, actor: &Actor, user: UserId) -> Result<OperatorState> {
    require_staff(view, actor)?;
    load_user(view, actor.org, user)?;
    state_of(view, actor.org, user)
}

/// The customer's conversation as the conversation page shows it (see [`ConversationView`]).
/// Needs `chat_customers` or `assign_orders`.
///
/// # Errors
/// Not found when the module is off or the customer does not exist; permission denied.
pub fn conversation_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
) -> Result<ConversationView> {
    require_module(view, actor.org)?;
    let resolved = resolve(view, actor)?;
    let may_reassign = resolved.has(Permission::AssignOrders);
    let may_close = resolved.has(Permission::ChatCustomers);
    if !may_reassign && !may_close {
        return Err(Error::denied(
            Permission::ChatCustomers,
            format!("{} lacks the chat_customers permission", actor.who),
        ));
    }
    load_customer(view, actor.org, customer)?;
    let item = latest_item(view, actor.org, QueueSubject::Conversation(customer))?;
    let department = match item.as_ref().and_then(|item| item.department) {
        Some(department) => Some(load_department(view, actor.org, department)?.name),
        None => None,
    };
    let assignee = match item.as_ref().and_then(|item| item.assignee) {
        Some(user) => Some(load_user(view, actor.org, user)?.display_name),
        None => None,
    };
    let operators = if may_reassign {
        operators_in(view, actor)?
            .into_iter()
            .filter(|row| row.status != OperatorStatus::Offline)
            .collect()
    } else {
        Vec::new()
    };
    Ok(ConversationView {
        item,
        department,
        assignee,
        may_reassign,
        may_close,
        operators,
    })
}

/// The open items of the queue (assigned and waiting), by id; any staff user may read them.
///
/// # Errors
/// Not found when the module is off; permission denied for customers.
pub fn queue_items_in(view: &impl View, actor: &Actor) -> Result<Vec<QueueItem>> {
    require_staff(view, actor)?;
    let mut items = Vec::new();
    view.for_each_prefix(tables::QUEUE_ITEMS, &Key::org(actor.org), |_, value| {
        let item: QueueItem = crate::store::codec::decode(value)?;
        if item.state == QueueState::Open {
            items.push(item);
        }
        Ok(true)
    })?;
    Ok(items)
}

/// The departments a customer is asked to choose from before their conversation opens: the
/// active ones, when the organization asks (its setting is on and it has several) and the
/// customer has no open conversation; empty otherwise (also when the module is off). For the
/// bot (the customer or the system).
///
/// # Errors
/// Permission denied for staff.
pub fn department_choices_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
) -> Result<Vec<(DepartmentId, String)>> {
    if let ActorRef::Staff(_) = actor.who {
        return Err(Error::forbidden(
            "the department question is the customer's",
        ));
    }
    let org = load_org(view, actor.org)?;
    if !module_on(&org)
        || !asks_department(view, actor.org)?
        || open_item(view, actor.org, QueueSubject::Conversation(customer))?.is_some()
    {
        return Ok(Vec::new());
    }
    Ok(active_departments(view, actor.org)?
        .into_iter()
        .map(|department| (department.id, department.name))
        .collect())
}

/// The closed conversations (and tickets) of the actor's organization that closed before
/// `before`, oldest first, at most `limit` (1..=10,000): what archiving closed conversations
/// scans. One range read of `queue_closed` (`org | closed_at | item`) and a point read per
/// item; nothing newer than `before` is visited. Needs `view_audit` (the system always may).
///
/// # Errors
/// Not found when the module is off; permission denied.
pub fn closed_items_before_in(
    view: &impl View,
    actor: &Actor,
    before: Timestamp,
    limit: usize,
) -> Result<Vec<QueueItem>> {
    require_module(view, actor.org)?;
    require(view, actor, Permission::ViewAudit)?;
    let limit = limit.clamp(1, 10_000);
    let mut ids = Vec::new();
    view.for_each_prefix(tables::QUEUE_CLOSED, &Key::org(actor.org), |key, _| {
        if keys::read_i64(key, 8) >= before.millis() || ids.len() >= limit {
            return Ok(false);
        }
        ids.push(QueueItemId(keys::tail_u64(key)));
        Ok(true)
    })?;
    ids.into_iter()
        .map(|id| load_item(view, actor.org, id))
        .collect()
}

/// The activity of one staff user's browser sessions, as the appliance knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionActivity {
    /// The staff user.
    pub user: UserId,
    /// Their last request through any live session; `None` when their last session ended.
    pub last_seen: Option<Timestamp>,
}

/// What a sweep changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Operators made away for being idle.
    pub away: Vec<UserId>,
    /// Operators made offline because their last session ended.
    pub offline: Vec<UserId>,
    /// Items re-routed because they stayed unanswered past the answer timeout.
    pub timed_out: u32,
}

impl Tx<'_> {
    /// Sets a staff user's operator status: online takes items (and drains the queues of
    /// their departments to the online members), away keeps what they have and takes nothing
    /// new, offline re-routes their open items to others (or back to the queue). A staff user
    /// sets their own; `assign_orders` sets anyone's; the system may. Asking for the status
    /// they have writes nothing.
    ///
    /// # Errors
    /// Not found (module off, user); permission denied; conflict for a disabled user going
    /// online or away.
    pub fn set_operator_status(
        &mut self,
        actor: &Actor,
        user: UserId,
        status: OperatorStatus,
    ) -> Result<OperatorState> {
        require_module(self, actor.org)?;
        let resolved = resolve(self, actor)?;
        check_status_actor(&resolved, user)?;
        let record = load_user(self, actor.org, user)?;
        if record.status != UserStatus::Active && status != OperatorStatus::Offline {
            return Err(Error::conflict(format!(
                "user {} is disabled",
                record.username
            )));
        }
        change_status(self, actor, user, status)
    }

    /// The customer chose a department in the bot: their open conversation moves there and
    /// is routed again, or a new one opens there. The customer themself or the system (the
    /// bot). Choosing the department it is in writes nothing.
    ///
    /// # Errors
    /// Not found (module off, customer, department); permission denied for staff; conflict
    /// for an archived department.
    pub fn choose_department(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        department: DepartmentId,
    ) -> Result<QueueItem> {
        let org = require_module(self, actor.org)?;
        let customer = match actor.who {
            ActorRef::Customer(own) => own,
            ActorRef::System => customer,
            ActorRef::Staff(_) => {
                return Err(Error::forbidden(
                    "only the customer chooses their department",
                ));
            }
        };
        load_customer(self, org.id, customer)?;
        let record = load_department(self, org.id, department)?;
        if record.archived {
            return Err(Error::conflict(format!(
                "department {:?} is archived",
                record.name
            )));
        }
        let subject = QueueSubject::Conversation(customer);
        match open_item(self, org.id, subject)? {
            Some(item) if item.department == Some(department) => Ok(item),
            Some(item) => {
                let mut after = item.clone();
                after.department = Some(department);
                after.assignee = None;
                after.assigned_at = None;
                update_item(self, org.id, &item, &after)?;
                self.audit(
                    actor,
                    AuditAction::QueueAssigned,
                    subject_of(&item),
                    AuditDetail::Text(format!("to department {department} (customer's choice)")),
                )?;
                self.changed(org.id, subject_of(&item), ChangeKind::Updated)?;
                route(
                    self,
                    &Actor::system(org.id),
                    &after,
                    None,
                    false,
                    "department",
                )
            }
            None => open_new(self, org.id, subject, Some(department), "new"),
        }
    }

    /// Reassigns a customer's open conversation by hand: to `to` (an active staff user who is
    /// not offline), or, with `None`, by the routing rule to someone other than its
    /// operator. Needs `assign_orders`. Assigning it to whom it is with writes nothing.
    ///
    /// # Errors
    /// Not found (module off, customer without an open conversation, user); permission
    /// denied; conflict for an offline or disabled operator.
    pub fn reassign_conversation(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        to: Option<UserId>,
    ) -> Result<QueueItem> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::AssignOrders)?;
        let item = open_item(self, actor.org, QueueSubject::Conversation(customer))?
            .ok_or_else(|| Error::not_found("open conversation of customer", customer))?;
        self.reassign_item(actor, item, to)
    }

    /// Reassigns any open queue item (a conversation or a ticket) by hand; see
    /// [`Tx::reassign_conversation`].
    ///
    /// # Errors
    /// As [`Tx::reassign_conversation`]; not found for an unknown or closed item.
    pub fn reassign_queue_item(
        &mut self,
        actor: &Actor,
        item: QueueItemId,
        to: Option<UserId>,
    ) -> Result<QueueItem> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::AssignOrders)?;
        let record = load_item(self, actor.org, item)?;
        if record.state != QueueState::Open {
            return Err(Error::not_found("open queue item", item));
        }
        self.reassign_item(actor, record, to)
    }

    fn reassign_item(
        &mut self,
        actor: &Actor,
        item: QueueItem,
        to: Option<UserId>,
    ) -> Result<QueueItem> {
        match to {
            Some(user) => {
                let record = load_user(self, actor.org, user)?;
                if record.status != UserStatus::Active {
                    return Err(Error::conflict(format!(
                        "user {} is disabled",
                        record.username
                    )));
                }
                if state_of(self, actor.org, user)?.status == OperatorStatus::Offline {
                    return Err(Error::conflict(format!(
                        "{} is offline; choose an operator who is online or away",
                        record.display_name
                    )));
                }
                if item.assignee == Some(user) {
                    return Ok(item);
                }
                assign(self, actor, &item, Some(user), "manual")
            }
            None => route(self, actor, &item, item.assignee, true, "manual"),
        }
    }

    /// Closes a customer's open conversation (it keeps its operator, for statistics). Needs
    /// `chat_customers`.
    ///
    /// # Errors
    /// Not found (module off, customer, no open conversation); permission denied.
    pub fn close_conversation(&mut self, actor: &Actor, customer: CustomerId) -> Result<QueueItem> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ChatCustomers)?;
        let subject = QueueSubject::Conversation(customer);
        let item = open_item(self, actor.org, subject)?
            .ok_or_else(|| Error::not_found("open conversation of customer", customer))?;
        let mut after = item.clone();
        after.state = QueueState::Closed;
        after.closed_at = Some(self.now());
        after.awaiting_reply_since = None;
        update_item(self, actor.org, &item, &after)?;
        self.audit(
            actor,
            AuditAction::ConversationClosed,
            subject_of(&item),
            AuditDetail::None,
        )?;
        self.changed(actor.org, subject_of(&item), ChangeKind::Updated)?;
        crate::services::staff_chat::on_conversation_state(self, actor.org, customer, true)?;
        Ok(after)
    }

    /// Reopens a customer's last conversation when it is closed: it opens again now, in its
    /// department, and is routed by the rule. Needs `chat_customers`.
    ///
    /// # Errors
    /// Not found (module off, customer, no conversation); permission denied; conflict when
    /// it is open.
    pub fn reopen_conversation(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
    ) -> Result<QueueItem> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ChatCustomers)?;
        let item = latest_item(self, actor.org, QueueSubject::Conversation(customer))?
            .ok_or_else(|| Error::not_found("conversation of customer", customer))?;
        if item.state == QueueState::Open {
            return Err(Error::conflict(format!(
                "the conversation of customer {customer} is open"
            )));
        }
        let department = match item.department {
            Some(department) if !load_department(self, actor.org, department)?.archived => {
                Some(department)
            }
            _ => default_department(self, actor.org)?,
        };
        let mut after = item.clone();
        after.state = QueueState::Open;
        after.closed_at = None;
        after.archived_at = None;
        after.opened_at = self.now();
        after.assignee = None;
        after.assigned_at = None;
        after.department = department;
        update_item(self, actor.org, &item, &after)?;
        self.audit(
            actor,
            AuditAction::ConversationReopened,
            subject_of(&item),
            AuditDetail::None,
        )?;
        self.changed(actor.org, subject_of(&item), ChangeKind::Updated)?;
        crate::services::staff_chat::on_conversation_state(self, actor.org, customer, false)?;
        route(
            self,
            &Actor::system(actor.org),
            &after,
            None,
            false,
            "reopened",
        )
    }

    /// The periodic sweep (the appliance runs it about once a minute): an online operator
    /// whose sessions were idle for the organization's idle time becomes away; one whose last
    /// session ended becomes offline (their items are re-routed); an item left unanswered for
    /// the answer timeout since it was assigned (or since the customer wrote, when later) goes
    /// to another online operator when there is one; then the queues are drained. Operators
    /// not named in `activity` (those who work from Telegram) keep their status. Does nothing
    /// while the module is off.
    ///
    /// # Errors
    /// Storage only.
    pub(crate) fn sweep_operators(
        &mut self,
        org: OrgId,
        activity: &[SessionActivity],
    ) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let record = load_org(self, org)?;
        if !module_on(&record) || !record.is_enabled() {
            return Ok(report);
        }
        let settings = settings_of(self, org)?;
        let system = Actor::system(org);
        let now = self.now();
        for seen in activity {
            let state = state_of(self, org, seen.user)?;
            match seen.last_seen {
                None if state.status != OperatorStatus::Offline => {
                    change_status(self, &system, seen.user, OperatorStatus::Offline)?;
                    report.offline.push(seen.user);
                }
                Some(last)
                    if state.status == OperatorStatus::Online
                        && settings.idle_away_minutes > 0
                        && now.millis() - last.millis().max(state.changed_at.millis())
                            >= i64::from(settings.idle_away_minutes) * 60_000 =>
                {
                    change_status(self, &system, seen.user, OperatorStatus::Away)?;
                    report.away.push(seen.user);
                }
                _ => {}
            }
        }
        if settings.answer_timeout_minutes > 0 {
            let timeout = i64::from(settings.answer_timeout_minutes) * 60_000;
            let states: Vec<OperatorState> =
                self.records_with_prefix(tables::OPERATOR_STATES, &Key::org(org))?;
            for state in states {
                for item in items_of(self, org, state.user)? {
                    let (Some(waiting), Some(assigned)) =
                        (item.awaiting_reply_since, item.assigned_at)
                    else {
                        continue;
                    };
                    if now.millis() - waiting.millis().max(assigned.millis()) < timeout {
                        continue;
                    }
                    let after = route(self, &system, &item, Some(state.user), true, "timeout")?;
                    if after.assignee != item.assignee {
                        report.timed_out += 1;
                    }
                }
            }
        }
        for department in active_departments(self, org)? {
            drain(self, org, Some(department.id))?;
        }
        drain(self, org, None)?;
        Ok(report)
    }
}

impl System<'_> {
    /// See `Tx::sweep_operators`: the appliance's periodic call, with what it knows of each
    /// staff user's browser sessions. Blocks until durable.
    ///
    /// # Errors
    /// Storage only.
    pub fn sweep_operators(&self, org: OrgId, activity: &[SessionActivity]) -> Result<SweepReport> {
        let activity = activity.to_vec();
        self.crm.write(move |tx| tx.sweep_operators(org, &activity))
    }
}

impl Crm {
    /// See [`Tx::set_operator_status`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::set_operator_status`].
    pub fn set_operator_status(
        &self,
        actor: &Actor,
        user: UserId,
        status: OperatorStatus,
    ) -> Result<OperatorState> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_operator_status(&actor, user, status))
    }

    /// See [`Tx::choose_department`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::choose_department`].
    pub fn choose_department(
        &self,
        actor: &Actor,
        customer: CustomerId,
        department: DepartmentId,
    ) -> Result<QueueItem> {
        let actor = actor.clone();
        self.write(move |tx| tx.choose_department(&actor, customer, department))
    }

    /// See [`Tx::reassign_conversation`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::reassign_conversation`].
    pub fn reassign_conversation(
        &self,
        actor: &Actor,
        customer: CustomerId,
        to: Option<UserId>,
    ) -> Result<QueueItem> {
        let actor = actor.clone();
        self.write(move |tx| tx.reassign_conversation(&actor, customer, to))
    }

    /// See [`Tx::reassign_queue_item`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::reassign_queue_item`].
    pub fn reassign_queue_item(
        &self,
        actor: &Actor,
        item: QueueItemId,
        to: Option<UserId>,
    ) -> Result<QueueItem> {
        let actor = actor.clone();
        self.write(move |tx| tx.reassign_queue_item(&actor, item, to))
    }

    /// See [`Tx::close_conversation`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::close_conversation`].
    pub fn close_conversation(&self, actor: &Actor, customer: CustomerId) -> Result<QueueItem> {
        let actor = actor.clone();
        self.write(move |tx| tx.close_conversation(&actor, customer))
    }

    /// See [`Tx::reopen_conversation`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::reopen_conversation`].
    pub fn reopen_conversation(&self, actor: &Actor, customer: CustomerId) -> Result<QueueItem> {
        let actor = actor.clone();
        self.write(move |tx| tx.reopen_conversation(&actor, customer))
    }

    /// See [`operators_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`operators_in`].
    pub fn operators(&self, actor: &Actor) -> Result<Vec<OperatorRow>> {
        self.read(|view| operators_in(view, actor))
    }

    /// See [`operator_state_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`operator_state_in`].
    pub fn operator_state(&self, actor: &Actor, user: UserId) -> Result<OperatorState> {
        self.read(|view| operator_state_in(view, actor, user))
    }

    /// See [`conversation_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`conversation_in`].
    pub fn conversation(&self, actor: &Actor, customer: CustomerId) -> Result<ConversationView> {
        self.read(|view| conversation_in(view, actor, customer))
    }

    /// See [`queue_items_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`queue_items_in`].
    pub fn queue_items(&self, actor: &Actor) -> Result<Vec<QueueItem>> {
        self.read(|view| queue_items_in(view, actor))
    }

    /// See [`department_choices_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`department_choices_in`].
    pub fn department_choices(
        &self,
        actor: &Actor,
        customer: CustomerId,
    ) -> Result<Vec<(DepartmentId, String)>> {
        self.read(|view| department_choices_in(view, actor, customer))
    }
}
