//! The calls reads: the call list with filters, one call, a customer's latest calls (the
//! order page), the unknown-caller mark, and the PBX settings page's view.

use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, View};

use super::{load_call, load_settings, may_see_calls, require_calls};
use crate::services::{Page, Paged, load_org, require, resolve};

/// The most calls one page of [`calls_in`] examines: a rare filter returns a short page with
/// a `next` cursor instead of walking every call in one request.
pub const CALL_SCAN_LIMIT: usize = 10_000;

/// Filters of the call list; every filter set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    /// This customer's calls.
    pub customer: Option<CustomerId>,
    /// Taken or made by this staff user.
    pub operator: Option<UserId>,
    /// Inbound or outbound.
    pub direction: Option<CallDirection>,
    /// Started at or after this moment.
    pub from: Option<Timestamp>,
    /// Started at or before this moment.
    pub to: Option<Timestamp>,
}

impl CallFilter {
    fn matches(&self, call: &Call) -> bool {
        self.customer
            .is_none_or(|customer| call.customer == customer)
            && self.operator.is_none_or(|user| call.operator == Some(user))
            && self
                .direction
                .is_none_or(|direction| call.direction == direction)
            && self.from.is_none_or(|from| call.started_at >= from)
            && self.to.is_none_or(|to| call.started_at <= to)
    }
}

/// A page of calls, newest first.
pub type CallList = Paged<Call>;

fn require_call_reader(view: &impl View, actor: &Actor) -> Result<()> {
    let resolved = resolve(view, actor)?;
    require_calls(&load_org(view, actor.org)?)?;
    if may_see_calls(&resolved) {
        Ok(())
    } else {
        Err(Error::denied(
            Permission::ViewOrders,
            format!("{} may not see calls", actor.who),
        ))
    }
}

/// The organization's calls, newest first (by start), filtered, with keyset pagination: the
/// cursor is the id of the last call of the previous page. With a customer filter, that
/// customer's calls by id (newest first). Needs `chat_customers` or `view_orders`; calls
/// must be on. One page examines at most [`CALL_SCAN_LIMIT`] calls.
///
/// # Errors
/// Permission denied; not found (calls off, the cursor's call).
pub fn calls_in(
    view: &impl View,
    actor: &Actor,
    filter: &CallFilter,
    page: Page,
) -> Result<CallList> {
    require_call_reader(view, actor)?;
    let org = actor.org;
    let size = page.size();
    let (table, prefix, after) = match filter.customer {
        Some(customer) => {
            let prefix = Key::org(org).u64(customer.0);
            let after = page.after.map(|after| prefix.clone().u64(after).into_vec());
            (tables::CALLS_BY_CUSTOMER, prefix, after)
        }
        None => {
            let after = match page.after {
                Some(after) => {
                    let call = load_call(view, org, CallId(after))?;
                    Some(
                        Key::org(org)
                            .i64(call.started_at.0)
                            .u64(call.id.0)
                            .into_vec(),
                    )
                }
                None => None,
            };
            (tables::CALLS_BY_TIME, Key::org(org), after)
        }
    };
    let end = keys::prefix_end(prefix.as_slice());
    let upper = match &after {
        Some(after) => Bound::Excluded(after.as_slice()),
        None => end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
    };
    let mut ids = Vec::new();
    let mut more = false;
    view.scan(
        table,
        (Bound::Included(prefix.as_slice()), upper),
        true,
        |key, _| {
            if ids.len() >= CALL_SCAN_LIMIT {
                more = true;
                return Ok(false);
            }
            ids.push(keys::tail_u64(key));
            Ok(true)
        },
    )?;
    let mut items = Vec::with_capacity(size);
    let mut last_examined = None;
    for id in ids {
        let call = load_call(view, org, CallId(id))?;
        if filter.matches(&call) {
            if items.len() == size {
                more = true;
                break;
            }
            items.push(call);
        }
        last_examined = Some(id);
    }
    let next = if more { last_examined } else { None };
    Ok(Paged { items, next })
}

/// One call. Needs `chat_customers` or `view_orders`; calls must be on.
///
/// # Errors
/// Permission denied; not found.
pub fn call_in(view: &impl View, actor: &Actor, call: CallId) -> Result<Call> {
    require_call_reader(view, actor)?;
    load_call(view, actor.org, call)
}

/// A customer's latest `limit` calls (at most 100), newest first, for the pages of their
/// orders: empty when the actor may not see calls or calls are off, so a page that shows
/// them needs no rule of its own.
///
/// # Errors
/// Storage only (and permission denied for a disabled actor).
pub fn calls_of_customer_in(
    view: &impl View,
    actor: &Actor,
    customer: CustomerId,
    limit: usize,
) -> Result<Vec<Call>> {
    let resolved = resolve(view, actor)?;
    if !super::calls_enabled(&load_org(view, actor.org)?) || !may_see_calls(&resolved) {
        return Ok(Vec::new());
    }
    let prefix = Key::org(actor.org).u64(customer.0);
    let keys = view.keys_with_prefix(
        tables::CALLS_BY_CUSTOMER,
        &prefix,
        None,
        true,
        limit.clamp(1, 100),
    )?;
    keys.iter()
        .map(|key| load_call(view, actor.org, CallId(keys::tail_u64(key))))
        .collect()
}

/// The unknown-caller mark of a customer created for a call, when there is one. No
/// permission check of its own: callers have read the customer.
///
/// # Errors
/// Storage only.
pub fn unknown_caller_in(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<Option<UnknownCaller>> {
    view.get(tables::UNKNOWN_CALLERS, &Key::org(org).u64(customer.0))
}

/// One mapped extension, with its user's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionRow {
    /// The extension (`100`).
    pub extension: String,
    /// The staff user.
    pub user: UserId,
    /// Their display name.
    pub name: String,
}

/// What the PBX settings page shows: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSettingsView {
    /// Whether an API secret is set.
    pub secret_set: bool,
    /// The secret's last four characters (`…a1b2`), so an administrator can tell which one
    /// is set; `None` when none is, or when it is too short to show any of it.
    pub secret_hint: Option<String>,
    /// The mapped extensions, by extension.
    pub extensions: Vec<ExtensionRow>,
    /// The active staff users an extension may be mapped to: id and display name.
    pub users: Vec<(UserId, String)>,
}

/// The PBX settings, for the settings page and `crm calls show`. Needs `manage_settings`;
/// calls must be on.
///
/// # Errors
/// Permission denied; not found when calls are off.
pub fn call_settings_in(view: &impl View, actor: &Actor) -> Result<CallSettingsView> {
    require(view, actor, Permission::ManageSettings)?;
    require_calls(&load_org(view, actor.org)?)?;
    let settings = load_settings(view, actor.org)?;
    let users: Vec<User> = view.records_with_prefix(tables::USERS, &Key::org(actor.org))?;
    let name_of = |id: UserId| {
        users
            .iter()
            .find(|user| user.id == id)
            .map(|user| user.display_name.clone())
            .unwrap_or_else(|| format!("user {id}"))
    };
    let secret_hint = settings.api_secret.as_deref().and_then(|secret| {
        let chars: Vec<char> = secret.chars().collect();
        (chars.len() >= 12).then(|| {
            let tail: String = chars[chars.len() - 4..].iter().collect();
            format!("…{tail}")
        })
    });
    Ok(CallSettingsView {
        secret_set: settings.api_secret.is_some(),
        secret_hint,
        extensions: settings
            .extensions
            .iter()
            .map(|mapped| ExtensionRow {
                extension: mapped.extension.clone(),
                user: mapped.user,
                name: name_of(mapped.user),
            })
            .collect(),
        users: users
            .iter()
            .filter(|user| user.status == UserStatus::Active)
            .map(|user| (user.id, user.display_name.clone()))
            .collect(),
    })
}

/// Whether calls are on for organization `org` (the webhook's first question: off, it
/// answers "not found", even to Zadarma's `zd_echo` check).
///
/// # Errors
/// Not found when the organization does not exist.
pub fn calls_on_in(view: &impl View, org: OrgId) -> Result<bool> {
    Ok(super::calls_enabled(&load_org(view, org)?))
}

impl Crm {
    /// See [`calls_on_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`calls_on_in`].
    pub fn calls_on(&self, org: OrgId) -> Result<bool> {
        self.read(|view| calls_on_in(view, org))
    }

    /// See [`calls_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`calls_in`].
    pub fn calls(&self, actor: &Actor, filter: &CallFilter, page: Page) -> Result<CallList> {
        self.read(|view| calls_in(view, actor, filter, page))
    }

    /// See [`call_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`call_in`].
    pub fn call(&self, actor: &Actor, call: CallId) -> Result<Call> {
        self.read(|view| call_in(view, actor, call))
    }

    /// See [`call_settings_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`call_settings_in`].
    pub fn call_settings(&self, actor: &Actor) -> Result<CallSettingsView> {
        self.read(|view| call_settings_in(view, actor))
    }
}
