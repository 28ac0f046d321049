//! The calls reads: the call list with filters (and the call list page's rows), one call, a customer's latest calls (the
//! order page), the unknown-caller mark, and the PBX settings page's view.

use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Crm, Error, Result, View};

use super::{load_call, load_settings, may_see_calls, require_calls};
use crate::services::orders::Names;
use crate::services::team::{StaffName, staff_names_of};
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
/// must be on.
///
/// Reads while it scans: the index is walked newest first in batches, each call loaded and
/// filtered as it comes, and the scan stops once the page is full and one more call matched
/// (so a page of 50 without filters reads 51 calls). A date range narrows the scanned
/// range of `calls_by_time` itself. One page examines at most [`CALL_SCAN_LIMIT`] calls: a
/// rare filter then returns a short page whose `next` is the last call examined.
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
    scan_calls(view, actor.org, filter, page)
}

/// [`calls_in`] after its checks.
fn scan_calls(view: &impl View, org: OrgId, filter: &CallFilter, page: Page) -> Result<CallList> {
    let size = page.size();
    // The scanned range, newest first: `[lower, upper)`, `upper` `None` for open-ended.
    let (table, lower, mut upper) = match filter.customer {
        Some(customer) => {
            let prefix = Key::org(org).u64(customer.0);
            let upper = match page.after {
                Some(after) => Some(prefix.clone().u64(after).into_vec()),
                None => keys::prefix_end(prefix.as_slice()),
            };
            (tables::CALLS_BY_CUSTOMER, prefix.into_vec(), upper)
        }
        None => {
            let lower = match filter.from {
                Some(from) => Key::org(org).i64(from.0).into_vec(),
                None => Key::org(org).into_vec(),
            };
            let mut upper = keys::prefix_end(Key::org(org).as_slice());
            let mut narrow = |bound: Vec<u8>| {
                if upper.as_ref().is_none_or(|upper| bound < *upper) {
                    upper = Some(bound);
                }
            };
            if let Some(to) = filter.to {
                narrow(Key::org(org).i64(to.0.saturating_add(1)).into_vec());
            }
            if let Some(after) = page.after {
                let call = load_call(view, org, CallId(after))?;
                narrow(
                    Key::org(org)
                        .i64(call.started_at.0)
                        .u64(call.id.0)
                        .into_vec(),
                );
            }
            (tables::CALLS_BY_TIME, lower, upper)
        }
    };
    let mut items: Vec<Call> = Vec::with_capacity(size);
    let mut examined = 0;
    let mut last_examined = None;
    let mut more = false;
    // The first batch is exactly a full page and one more; later ones (a filter skipped
    // some) grow, so a sparse filter takes few scans.
    let mut want = size + 1;
    'batches: loop {
        let budget = want.min(CALL_SCAN_LIMIT - examined);
        let batch = call_keys(view, table, &lower, upper.as_deref(), budget)?;
        for key in &batch {
            let id = keys::tail_u64(key);
            let call = load_call(view, org, CallId(id))?;
            if filter.matches(&call) {
                if items.len() == size {
                    more = true;
                    break 'batches;
                }
                items.push(call);
            }
            examined += 1;
            last_examined = Some(id);
        }
        if batch.len() < budget {
            break;
        }
        upper = batch.last().cloned();
        if examined >= CALL_SCAN_LIMIT {
            // Out of budget: say there is more only when the range holds another call.
            more = !call_keys(view, table, &lower, upper.as_deref(), 1)?.is_empty();
            break;
        }
        want = want.saturating_mul(2);
    }
    let next = if more {
        match (items.len() == size, items.last()) {
            (true, Some(last)) => Some(last.id.0),
            _ => last_examined,
        }
    } else {
        None
    };
    Ok(Paged { items, next })
}

/// Up to `limit` keys of `table` in `[lower, upper)`, newest (greatest) first.
fn call_keys(
    view: &impl View,
    table: crate::store::Def,
    lower: &[u8],
    upper: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<Vec<u8>>> {
    let mut found = Vec::with_capacity(limit.min(1_024));
    if limit == 0 {
        return Ok(found);
    }
    let upper = upper.map_or(Bound::Unbounded, Bound::Excluded);
    view.scan(table, (Bound::Included(lower), upper), true, |key, _| {
        found.push(key.to_vec());
        Ok(found.len() < limit)
    })?;
    Ok(found)
}

/// Filters of the call list page: a date range of local days in the organization's time
/// zone (`OrgSettings.time_zone`), which [`call_list_in`] turns into moments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallListFilter {
    /// This customer's calls.
    pub customer: Option<CustomerId>,
    /// Taken or made by this staff user.
    pub operator: Option<UserId>,
    /// Inbound or outbound.
    pub direction: Option<CallDirection>,
    /// Started on this local day or later.
    pub from: Option<Date>,
    /// Started on this local day or earlier.
    pub to: Option<Date>,
}

/// One row of the call list: the call with the names and the local time it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// The call.
    pub call: Call,
    /// Its customer's full name (from the `customer_names` projection).
    pub customer_name: String,
    /// Its operator's display name, when the extension is mapped.
    pub operator_name: Option<String>,
    /// When it started on the organization's clock, `YYYY-MM-DD HH:MM`.
    pub started: String,
}

/// Everything the call list page shows, from one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct CallListPage {
    /// The page of rows, newest first; `next` is the cursor of the following page.
    pub rows: Paged<CallRow>,
    /// Every staff user, for the operator filter.
    pub staff: Vec<StaffName>,
    /// The organization's time zone, in which starts show and dates filter.
    pub zone: Zone,
    /// The name of the customer filtered on, when one is.
    pub customer_name: Option<String>,
}

/// The call list page (`/calls`): [`calls_in`] with the date range read as local days of the
/// organization's time zone (from the first moment of `from` to the last of `to`), each row
/// named (customer from `customer_names`, operator from the staff list) and its start shown
/// on the organization's clock. Needs `chat_customers` or `view_orders`; calls must be on.
///
/// # Errors
/// Permission denied; not found (calls off, the cursor's call); invalid input on `to` when
/// it is before `from`.
pub fn call_list_in(
    view: &impl View,
    actor: &Actor,
    filter: &CallListFilter,
    page: Page,
) -> Result<CallListPage> {
    require_call_reader(view, actor)?;
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to < from
    {
        return Err(Error::invalid(
            "to",
            format!("{to} is before the first day {from}"),
        ));
    }
    let org = load_org(view, actor.org)?;
    let zone = Zone::of(&org);
    let moments = CallFilter {
        customer: filter.customer,
        operator: filter.operator,
        direction: filter.direction,
        from: filter.from.map(|day| zone.day_start(day)),
        to: filter.to.map(|day| zone.day_end(day).plus_millis(-1)),
    };
    let calls = scan_calls(view, actor.org, &moments, page)?;
    let staff = staff_names_of(view, actor.org)?;
    let mut names = Names::default();
    let customer_name = match filter.customer {
        Some(customer) => Some(names.customer(view, actor.org, customer)?),
        None => None,
    };
    let mut items = Vec::with_capacity(calls.items.len());
    for call in calls.items {
        let operator_name = call.operator.map(|user| {
            staff
                .iter()
                .find(|name| name.id == user)
                .map_or_else(|| format!("user {user}"), |name| name.display_name.clone())
        });
        items.push(CallRow {
            customer_name: names.customer(view, actor.org, call.customer)?,
            operator_name,
            started: zone.local_text(call.started_at),
            call,
        });
    }
    Ok(CallListPage {
        rows: Paged {
            items,
            next: calls.next,
        },
        staff,
        zone,
        customer_name,
    })
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

    /// See [`call_list_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`call_list_in`].
    pub fn call_list(
        &self,
        actor: &Actor,
        filter: &CallListFilter,
        page: Page,
    ) -> Result<CallListPage> {
        self.read(|view| call_list_in(view, actor, filter, page))
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
