//! Order lists read from the list rows (SPEC 3.1, "list pages read projections"): the order
//! list page, the Kanban board, the dashboard and `list_orders` all page through
//! `order_rows`, the compact copy of each order that its writes keep in the same transaction
//! (see `store::declarations`), and name customers from `customer_names`. A page of 50 rows
//! decodes no description, attachment or custom field, and no whole customer record: a CPU
//! profile of `/orders` had 13% of its time in decoding whole orders (mostly the UTF-8
//! checks of descriptions) and in per-row customer reads.
use std::collections::HashMap;
use std::ops::Bound;

use crate::model::*;
use crate::services::team::{StaffName, list_markers_in, load_user, staff_names_of};
use crate::services::{Page, Paged, Resolved, load_org, resolve};
use crate::store::{Key, View, ViewExt, codec, keys, row_key, tables};
use crate::{Error, Result};

use super::rules::may_view;

/// Filters of the order list; all set filters must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// In this stage.
    pub stage: Option<StageId>,
    /// Assigned to this user.
    pub assignee: Option<UserId>,
    /// Of this customer.
    pub customer: Option<CustomerId>,
    /// Tagged with this marker.
    pub marker: Option<MarkerId>,
    /// Every word of this text starts a word of the title (case-insensitive).
    pub search: Option<String>,
    /// Created on or after this day.
    pub created_from: Option<Date>,
    /// Created on or before this day.
    pub created_to: Option<Date>,
    /// Holding this answer in this ticket field (the tickets module), as typed: `("serial",
    /// "SN-123456")`, `("device", "Laptop")`. Read by the field's parser and compared as
    /// the `orders_by_field` index keeps it (text upper-cased, a choice by its key); only
    /// text of at most 64 bytes and choices are indexed.
    pub field: Option<(String, String)>,
}

/// The largest number of candidate orders a title search gathers before filtering.
pub const SEARCH_CANDIDATES: usize = 20_000;

/// One row of an order list: the order's list row with the names a list shows.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    /// What lists show of the order.
    pub order: OrderSummary,
    /// The customer's full name.
    pub customer_name: String,
    /// The assignee's display name, when assigned.
    pub assignee_name: Option<String>,
}

/// The list row of one order, read from `order_rows`.
///
/// # Errors
/// Not found when the organization has no such order; storage errors.
pub(crate) fn load_summary(view: &impl View, org: OrgId, order: OrderId) -> Result<OrderSummary> {
    view.get(tables::ORDER_ROWS, &row_key(org, order.0))?
        .ok_or_else(|| Error::not_found(OrderId::LABEL, order))
}

/// The name lists show for a customer, from `customer_names` (`customer 7` when the
/// customer is gone).
fn customer_name(view: &impl View, org: OrgId, customer: CustomerId) -> Result<String> {
    Ok(
        stored_customer_name(view, org, customer)?
            .unwrap_or_else(|| format!("customer {customer}")),
    )
}

/// The name `customer_names` holds for a customer, `None` when the customer is gone.
pub(crate) fn stored_customer_name(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<Option<String>> {
    view.get_raw(
        tables::CUSTOMER_NAMES,
        row_key(org, customer.0).as_slice(),
        |bytes| {
            std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| {
                Error::corrupt(format!("the name of customer {customer} is not UTF-8"))
            })
        },
    )
}

/// Looks names up once per customer and user while rows are built.
#[derive(Default)]
pub(crate) struct Names {
    customers: HashMap<CustomerId, String>,
    users: HashMap<UserId, String>,
}

impl Names {
    /// The customer's name, read once per customer.
    pub(crate) fn customer(
        &mut self,
        view: &impl View,
        org: OrgId,
        customer: CustomerId,
    ) -> Result<String> {
        if let Some(name) = self.customers.get(&customer) {
            return Ok(name.clone());
        }
        let name = customer_name(view, org, customer)?;
        self.customers.insert(customer, name.clone());
        Ok(name)
    }

    /// The row of `order` with its names.
    pub(crate) fn row(
        &mut self,
        view: &impl View,
        org: OrgId,
        order: OrderSummary,
    ) -> Result<OrderRow> {
        let customer_name = self.customer(view, org, order.customer)?;
        let assignee_name = match order.assignee {
            Some(user) => Some(match self.users.get(&user) {
                Some(name) => name.clone(),
                None => {
                    let name = load_user(view, org, user)
                        .map_or_else(|_| format!("user {user}"), |user| user.display_name);
                    self.users.insert(user, name.clone());
                    name
                }
            }),
            None => None,
        };
        Ok(OrderRow {
            order,
            customer_name,
            assignee_name,
        })
    }
}

/// Lists the rows of the orders the actor may see, newest first, with filters and keyset
/// pagination (the cursor is the last order id of the previous page). Customers see only
/// their own orders. Reads `order_rows` only, never an order record.
///
/// Uses the most selective index among the filters (customer, assignee, marker, stage,
/// title word), then checks the rest on each row; without filters it walks the rows
/// backwards. A page costs about `limit` point reads of rows when the filters are served by
/// an index.
///
/// # Errors
/// Permission denied for staff without `view_orders` or `moderate_orders`; storage errors.
pub fn order_summaries_in(
    view: &impl View,
    actor: &Actor,
    filter: &OrderFilter,
    page: Page,
) -> Result<Paged<OrderSummary>> {
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    summaries(view, actor, &resolved, &org, filter, page)
}

/// [`order_summaries_in`] for an actor already resolved, in its organization `org`.
fn summaries(
    view: &impl View,
    actor: &Actor,
    resolved: &Resolved,
    org: &Organization,
    filter: &OrderFilter,
    page: Page,
) -> Result<Paged<OrderSummary>> {
    let mut filter = filter.clone();
    match resolved {
        Resolved::Customer(customer) => filter.customer = Some(*customer),
        Resolved::Staff(_, permissions)
            if !permissions.contains(Permission::ViewOrders)
                && !permissions.contains(Permission::ModerateOrders) =>
        {
            return Err(Error::denied(
                Permission::ViewOrders,
                format!("{} may not list orders", actor.who),
            ));
        }
        _ => {}
    }
    let size = page.size();
    // The field filter: the orders the field index holds for the answer, newest first.
    let field_ids: Option<Vec<u64>> = match &filter.field {
        Some((key, answer)) => Some(orders_with_field(view, org, key, answer)?),
        None => None,
    };
    let words: Vec<String> = filter
        .search
        .as_deref()
        .map(keys::title_words)
        .unwrap_or_default();
    let matches = |order: &OrderSummary| -> Result<bool> {
        if filter.stage.is_some_and(|stage| order.stage != stage)
            || filter
                .assignee
                .is_some_and(|user| order.assignee != Some(user))
            || filter
                .customer
                .is_some_and(|customer| order.customer != customer)
            || filter
                .marker
                .is_some_and(|marker| !order.markers.contains(&marker))
            || filter
                .created_from
                .is_some_and(|from| Date::of(order.created_at) < from)
            || filter
                .created_to
                .is_some_and(|to| Date::of(order.created_at) > to)
        {
            return Ok(false);
        }
        if let Some(ids) = &field_ids
            && ids.binary_search_by(|id| order.id.0.cmp(id)).is_err()
        {
            return Ok(false);
        }
        if !words.is_empty() {
            let title_words = keys::title_words(&order.title);
            if !words.iter().all(|word| {
                title_words
                    .iter()
                    .any(|title_word| title_word.starts_with(word.as_str()))
            }) {
                return Ok(false);
            }
        }
        may_view(view, resolved, org, order)
    };
    let mut items = Vec::with_capacity(size);
    let mut more = false;
    let mut take = |order: OrderSummary| -> Result<bool> {
        if matches(&order)? {
            if items.len() == size {
                more = true;
                return Ok(false);
            }
            items.push(order);
        }
        Ok(true)
    };
    let org_id = actor.org;
    if let (Some(ids), true) = (&field_ids, words.is_empty()) {
        for id in ids
            .iter()
            .copied()
            .filter(|id| page.after.is_none_or(|after| *id < after))
        {
            if !take(load_summary(view, org_id, OrderId(id))?)? {
                break;
            }
        }
    } else if let Some(word) = words.iter().max_by_key(|word| word.len()) {
        // Title search: gather the ids whose title has a word starting with the longest query
        // word, newest first.
        let mut ids = Vec::new();
        view.for_each_prefix(
            tables::ORDERS_BY_WORD,
            &Key::org(org_id).bytes(word.as_bytes()),
            |key, _| {
                ids.push(keys::tail_u64(key));
                Ok(ids.len() < SEARCH_CANDIDATES)
            },
        )?;
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        for id in ids
            .into_iter()
            .filter(|id| page.after.is_none_or(|after| *id < after))
        {
            if !take(load_summary(view, org_id, OrderId(id))?)? {
                break;
            }
        }
    } else {
        let prefix = if let Some(customer) = filter.customer {
            Some((tables::ORDERS_BY_CUSTOMER, Key::org(org_id).u64(customer.0)))
        } else if let Some(assignee) = filter.assignee {
            Some((tables::ORDERS_BY_ASSIGNEE, Key::org(org_id).u64(assignee.0)))
        } else if let Some(marker) = filter.marker {
            Some((tables::ORDERS_BY_MARKER, Key::org(org_id).u64(marker.0)))
        } else {
            filter
                .stage
                .map(|stage| (tables::ORDERS_BY_STAGE, Key::org(org_id).u16(stage.0)))
        };
        match prefix {
            Some((def, prefix)) => {
                let mut after = page.after.map(|after| prefix.clone().u64(after).into_vec());
                'pages: loop {
                    let batch =
                        view.keys_with_prefix(def, &prefix, after.as_deref(), true, size * 2 + 1)?;
                    let Some(last) = batch.last().cloned() else {
                        break;
                    };
                    for key in &batch {
                        if !take(load_summary(view, org_id, OrderId(keys::tail_u64(key)))?)? {
                            break 'pages;
                        }
                    }
                    after = Some(last);
                }
            }
            None => {
                let prefix = Key::org(org_id);
                let end = match page.after {
                    Some(after) => row_key(org_id, after).into_vec(),
                    None => keys::prefix_end(prefix.as_slice()).unwrap_or_default(),
                };
                let upper = if end.is_empty() {
                    Bound::Unbounded
                } else {
                    Bound::Excluded(end.as_slice())
                };
                view.scan(
                    tables::ORDER_ROWS,
                    (Bound::Included(prefix.as_slice()), upper),
                    true,
                    |_, value| take(codec::decode::<OrderSummary>(value)?),
                )?;
            }
        }
    }
    let next = if more {
        items.last().map(|order| order.id.0)
    } else {
        None
    };
    Ok(Paged { items, next })
}

/// The ids of the orders holding `answer` in ticket field `key`, newest first (the
/// `orders_by_field` index; at most [`SEARCH_CANDIDATES`]).
///
/// # Errors
/// Invalid input on `field` for a field the organization does not declare, an answer the
/// field refuses, or a kind the index does not keep.
fn orders_with_field(
    view: &impl View,
    org: &Organization,
    key: &str,
    answer: &str,
) -> Result<Vec<u64>> {
    let fields = crate::services::tickets::fields::fields_for(view, org)?;
    let def = fields
        .get(key)
        .ok_or_else(|| Error::invalid("field", format!("{key:?} is not a ticket field")))?;
    let value = def
        .parse_answer(answer)
        .map_err(|error| Error::invalid("field", error.message().to_string()))?;
    let indexed = value.index_form().ok_or_else(|| {
        Error::invalid(
            "field",
            format!("{key}: only short text and choice fields can be filtered"),
        )
    })?;
    let prefix = crate::store::field_key(org.id, key, &indexed);
    let mut ids = Vec::new();
    view.for_each_prefix(tables::ORDERS_BY_FIELD, &prefix, |entry, _| {
        ids.push(keys::tail_u64(entry));
        Ok(ids.len() < SEARCH_CANDIDATES)
    })?;
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.dedup();
    Ok(ids)
}

/// A page of [`order_summaries_in`] with the customer and assignee names, from the same
/// snapshot (one read: the order list page and the Kanban board need nothing else).
///
/// # Errors
/// As [`order_summaries_in`].
pub fn order_rows_in(
    view: &impl View,
    actor: &Actor,
    filter: &OrderFilter,
    page: Page,
) -> Result<Paged<OrderRow>> {
    let resolved = resolve(view, actor)?;
    let org = load_org(view, actor.org)?;
    rows_of(
        view,
        actor,
        &resolved,
        &org,
        filter,
        page,
        &mut Names::default(),
    )
}

/// [`order_rows_in`] for an actor already resolved, in its organization `org`, naming through
/// `names` (the board reads a page per column with one of each).
pub(crate) fn rows_of(
    view: &impl View,
    actor: &Actor,
    resolved: &Resolved,
    org: &Organization,
    filter: &OrderFilter,
    page: Page,
    names: &mut Names,
) -> Result<Paged<OrderRow>> {
    let orders = summaries(view, actor, resolved, org, filter, page)?;
    let mut items = Vec::with_capacity(orders.items.len());
    for order in orders.items {
        items.push(names.row(view, actor.org, order)?);
    }
    Ok(Paged {
        items,
        next: orders.next,
    })
}

/// Everything the order list page shows, from one snapshot: a page of rows and the choices
/// of its filters.
#[derive(Debug, Clone)]
pub struct OrderList {
    /// The page of rows, newest first.
    pub rows: Paged<OrderRow>,
    /// The organization (its pipeline names the stages; `settings.bot_token` is emptied for
    /// those without `manage_settings`, as [`crate::org::organization_in`] does).
    pub organization: Organization,
    /// Every marker, for the marker filter.
    pub markers: Vec<Marker>,
    /// Every staff user, for the assignee filter.
    pub staff: Vec<StaffName>,
    /// The ticket fields a row shows (those declared with `list`, the tickets module), in
    /// order; their values are in each row's [`OrderSummary::fields`].
    pub fields: Vec<FieldDef>,
}

/// The order list page for a staff user: [`order_rows_in`] with the organization, the markers
/// and the staff names, resolving the actor and reading the organization once (four separate
/// queries resolved the user four times and decoded the organization twice per page), and
/// naming assignees from the staff list read anyway.
///
/// # Errors
/// Permission denied for customers and as [`order_summaries_in`]; storage errors.
pub fn order_list_in(
    view: &impl View,
    actor: &Actor,
    filter: &OrderFilter,
    page: Page,
) -> Result<OrderList> {
    let resolved = resolve(view, actor)?;
    if matches!(resolved, Resolved::Customer(_)) {
        return Err(Error::forbidden("customers use the bot"));
    }
    let mut organization = load_org(view, actor.org)?;
    let staff = staff_names_of(view, actor.org)?;
    let mut names = Names::default();
    names.users.extend(
        staff
            .iter()
            .map(|user| (user.id, user.display_name.clone())),
    );
    let rows = rows_of(
        view,
        actor,
        &resolved,
        &organization,
        filter,
        page,
        &mut names,
    )?;
    if !resolved.has(Permission::ManageSettings) {
        organization.settings.bot_token = None;
    }
    let fields = crate::services::tickets::fields::fields_for(view, &organization)?
        .fields
        .into_iter()
        .filter(|def| def.list)
        .collect();
    Ok(OrderList {
        rows,
        organization,
        markers: list_markers_in(view, actor.org)?,
        staff,
        fields,
    })
}
