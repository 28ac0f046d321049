//! The audit log: who did what to which record, when and from where (Django operator seed),
//! searchable by actor, action and time, and exported whole.
//!
//! Entries are written by [`crate::Tx`]'s use cases in the transaction of the change; this
//! module only reads them.

use std::collections::HashMap;
use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Result, View};

use super::{Page, Paged, load_org, require};

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
    /// About this record.
    pub subject: Option<Subject>,
}

impl AuditFilter {
    fn matches(&self, entry: &AuditEntry) -> bool {
        self.actor.is_none_or(|actor| entry.actor == actor)
            && self
                .action
                .as_deref()
                .is_none_or(|action| entry.action.as_str().starts_with(action.trim()))
            && self.from.is_none_or(|from| entry.at >= from)
            && self.to.is_none_or(|to| entry.at <= to)
            && self
                .subject
                .as_ref()
                .is_none_or(|subject| entry.subject == *subject)
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

/// The most entries an order timeline shows (the newest ones).
pub const TIMELINE_LIMIT: usize = 500;

/// The audit entries about one record, oldest first, through the `AUDIT_BY_SUBJECT` index: at
/// most [`TIMELINE_LIMIT`], the flag saying whether older ones were left out. No permission
/// check: callers check that the actor may see the record (the order page does, through
/// `order_in`).
///
/// # Errors
/// Storage, also when the index names a missing entry.
pub(crate) fn subject_timeline_in(
    view: &impl View,
    org: OrgId,
    subject: &Subject,
) -> Result<(Vec<AuditEntry>, bool)> {
    let Some(prefix) = crate::store::subject_key(org, subject) else {
        return Ok((Vec::new(), false));
    };
    let keys = view.keys_with_prefix(
        tables::AUDIT_BY_SUBJECT,
        &prefix,
        None,
        true,
        TIMELINE_LIMIT + 1,
    )?;
    let cut = keys.len() > TIMELINE_LIMIT;
    let mut entries = Vec::with_capacity(keys.len().min(TIMELINE_LIMIT));
    for key in keys.iter().take(TIMELINE_LIMIT) {
        let id = keys::tail_u64(key);
        entries.push(
            view.get::<AuditEntry>(tables::AUDIT, &Key::org(org).u64(id))?
                .ok_or_else(|| crate::store::dangling("audit_by_subject", key))?,
        );
    }
    entries.reverse();
    Ok((entries, cut))
}

/// The names a page shows instead of the ids of a set of audit entries: actors, subjects and
/// the records their details name, each looked up once. A record that no longer exists has
/// no name (the page falls back to its words, `order 42`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditNames {
    users: HashMap<UserId, String>,
    customers: HashMap<CustomerId, String>,
    orders: HashMap<OrderId, String>,
    roles: HashMap<RoleId, String>,
    markers: HashMap<MarkerId, Localized>,
    payment_methods: HashMap<PaymentMethodId, String>,
    stages: HashMap<StageId, Localized>,
}

impl AuditNames {
    /// The display name of a staff user.
    pub fn user(&self, user: UserId) -> Option<&str> {
        self.users.get(&user).map(String::as_str)
    }

    /// The full name of a customer.
    pub fn customer(&self, customer: CustomerId) -> Option<&str> {
        self.customers.get(&customer).map(String::as_str)
    }

    /// The title of an order.
    pub fn order(&self, order: OrderId) -> Option<&str> {
        self.orders.get(&order).map(String::as_str)
    }

    /// The name of a stage of the organization's pipeline, in `language`.
    pub fn stage(&self, stage: StageId, language: Language) -> Option<&str> {
        self.stages.get(&stage).map(|name| name.get(language))
    }

    /// The name of a marker, in `language`.
    pub fn marker(&self, marker: MarkerId, language: Language) -> Option<&str> {
        self.markers.get(&marker).map(|name| name.get(language))
    }

    /// Who acted: a user's or customer's name; `None` for the system.
    pub fn actor(&self, actor: ActorRef) -> Option<&str> {
        match actor {
            ActorRef::Staff(user) => self.user(user),
            ActorRef::Customer(customer) => self.customer(customer),
            ActorRef::System => None,
        }
    }

    /// The record an entry is about, by name (an order's title, a person's name), when it
    /// still exists and has one.
    pub fn subject(&self, subject: &Subject) -> Option<&str> {
        match subject {
            Subject::User(user) => self.user(*user),
            Subject::Customer(customer) | Subject::Conversation(customer) => {
                self.customer(*customer)
            }
            Subject::Order(order) => self.order(*order),
            Subject::Role(role) => self.roles.get(role).map(String::as_str),
            Subject::Marker(marker) => self.markers.get(marker).map(|name| name.get(Language::EN)),
            Subject::PaymentMethod(method) => self.payment_methods.get(method).map(String::as_str),
            _ => None,
        }
    }
}

/// Looks up the names of everything `entries` refer to, in the actor's organization.
pub(crate) fn audit_names_in(
    view: &impl View,
    org: OrgId,
    entries: &[AuditEntry],
) -> Result<AuditNames> {
    let mut names = AuditNames::default();
    let organization = load_org(view, org)?;
    for stage in &organization.pipeline.stages {
        names.stages.insert(stage.id, stage.name.clone());
    }
    let mut users = Vec::new();
    let mut customers = Vec::new();
    let mut orders = Vec::new();
    let mut markers = Vec::new();
    let mut roles = Vec::new();
    let mut methods = Vec::new();
    for entry in entries {
        match entry.actor {
            ActorRef::Staff(user) => users.push(user),
            ActorRef::Customer(customer) => customers.push(customer),
            ActorRef::System => {}
        }
        match &entry.subject {
            Subject::User(user) => users.push(*user),
            Subject::Customer(customer) | Subject::Conversation(customer) => {
                customers.push(*customer);
            }
            Subject::Order(order) => orders.push(*order),
            Subject::Role(role) => roles.push(*role),
            Subject::Marker(marker) => markers.push(*marker),
            Subject::PaymentMethod(method) => methods.push(*method),
            _ => {}
        }
        match &entry.detail {
            AuditDetail::OrderCreated { customer, .. } => customers.push(*customer),
            AuditDetail::Assigned { user, .. } | AuditDetail::Access { user, .. } => {
                users.push(*user);
            }
            AuditDetail::Message {
                customer, order, ..
            } => {
                customers.push(*customer);
                orders.extend(order);
            }
            AuditDetail::Markers { markers: list } => markers.extend(list),
            _ => {}
        }
    }
    for user in users {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.users.entry(user)
            && let Some(record) = view.get::<User>(tables::USERS, &Key::org(org).u64(user.0))?
        {
            slot.insert(record.display_name);
        }
    }
    for customer in customers {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.customers.entry(customer)
            && let Some(record) =
                view.get::<Customer>(tables::CUSTOMERS, &Key::org(org).u64(customer.0))?
        {
            slot.insert(record.full_name());
        }
    }
    for order in orders {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.orders.entry(order)
            && let Some(record) = view.get::<Order>(tables::ORDERS, &Key::org(org).u64(order.0))?
        {
            slot.insert(record.title);
        }
    }
    for role in roles {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.roles.entry(role)
            && let Some(record) = view.get::<Role>(tables::ROLES, &Key::org(org).u64(role.0))?
        {
            slot.insert(record.name);
        }
    }
    for marker in markers {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.markers.entry(marker)
            && let Some(record) =
                view.get::<Marker>(tables::MARKERS, &Key::org(org).u64(marker.0))?
        {
            slot.insert(record.name);
        }
    }
    for method in methods {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.payment_methods.entry(method)
            && let Some(record) =
                view.get::<PaymentMethod>(tables::PAYMENT_METHODS, &Key::org(org).u64(method.0))?
        {
            slot.insert(record.name);
        }
    }
    Ok(names)
}

/// A page of the audit log with the names it refers to.
#[derive(Debug, Clone)]
pub struct AuditLog {
    /// The entries, newest first, and the cursor of the next page.
    pub entries: Paged<AuditEntry>,
    /// The names of the people and records the entries refer to.
    pub names: AuditNames,
}

/// [`audit_in`] with the names of everything the entries refer to, from the same snapshot:
/// what the audit log page shows.
///
/// # Errors
/// As [`audit_in`].
pub fn audit_log_in(
    view: &impl View,
    actor: &Actor,
    filter: &AuditFilter,
    page: Page,
) -> Result<AuditLog> {
    let entries = audit_in(view, actor, filter, page)?;
    let names = audit_names_in(view, actor.org, &entries.items)?;
    Ok(AuditLog { entries, names })
}

/// Every audit entry of `org`, oldest first (exports). Reads the whole log into memory.
///
/// # Errors
/// Storage only.
pub(crate) fn all_audit_in(view: &impl View, org: OrgId) -> Result<Vec<AuditEntry>> {
    view.records_with_prefix(tables::AUDIT, &Key::org(org))
}

impl Crm {
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
}

impl crate::system::System<'_> {
    /// Every audit entry of `org`, oldest first (exports). Reads the whole log into memory.
    ///
    /// # Errors
    /// Storage only.
    ///
    /// Reads a snapshot.
    pub fn all_audit(&self, org: OrgId) -> Result<Vec<AuditEntry>> {
        self.crm.read(|view| all_audit_in(view, org))
    }
}
