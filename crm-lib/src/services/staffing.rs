//! Who works on an order (C0de seed): the bidders' skills, staff suggested by the order's
//! markers, and delegated access, a temporary right of one user to view one order and chat
//! about it ("order-level permissions").
//!
//! Access is kept as [`OrderGrant`] records (table `grants`, one per order, user and
//! permission): a delegation writes a `view_orders` and a `chat_customers` grant with the
//! same expiry; the assignee's chat access is a `chat_customers` grant without one, which
//! lasts while they are assigned. [`crate::orders::order_in`] and the chat honour a grant
//! until `expires_at`, compared with the transaction's clock ([`crate::View::now`]).

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::orders::{bids_of, grant_key, order_in};
use super::team::{StaffName, list_markers_in, load_user};
use super::{require, resolve};

/// The longest delegated access, in hours (90 days).
pub const ACCESS_MAX_HOURS: u32 = 90 * 24;

/// What a delegated access grant gives on its order: seeing it and chatting about it.
pub const ACCESS_PERMISSIONS: [Permission; 2] = [Permission::ViewOrders, Permission::ChatCustomers];

/// One user's access to an order through grants that share an expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderAccess {
    /// The user.
    pub user: UserId,
    /// Their display name.
    pub display_name: String,
    /// What they may do on the order through these grants, in permission order.
    pub permissions: Vec<Permission>,
    /// When the access ends; `None` for the assignee's chat access, which lasts while they
    /// are assigned and is not revoked here.
    pub expires_at: Option<Timestamp>,
}

impl OrderAccess {
    /// Whether [`Tx::revoke_order_access`] takes it away (a delegation, not the assignee's
    /// chat access).
    pub fn revocable(&self) -> bool {
        self.expires_at.is_some()
    }
}

/// A staff user whose skills match an order's markers.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffSuggestion {
    /// The user.
    pub user: StaffName,
    /// The order's markers the user has, in the order's order.
    pub matching: Vec<Marker>,
}

/// A staff user's skills, by user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSkills {
    /// The user.
    pub user: UserId,
    /// Their markers, in the order they were given.
    pub markers: Vec<Marker>,
}

fn markers_of(all: &[Marker], ids: &[MarkerId]) -> Vec<Marker> {
    ids.iter()
        .filter_map(|id| all.iter().find(|marker| marker.id == *id).cloned())
        .collect()
}

/// The unexpired grants on `order`, keyed as stored.
fn live_grants(view: &impl View, org: OrgId, order: OrderId) -> Result<Vec<OrderGrant>> {
    let now = view.now();
    Ok(view
        .records_with_prefix::<OrderGrant>(tables::GRANTS, &Key::org(org).u64(order.0))?
        .into_iter()
        .filter(|grant| grant.expires_at.is_none_or(|at| at > now))
        .collect())
}

impl Tx<'_> {
    /// Gives `user` access to one order for `hours` hours (C0de seed's delegated access): they
    /// may open the order and chat with its customer about it, whatever their roles, until
    /// the access expires or is revoked. Needs `assign_orders`, and the actor must see the
    /// order. Giving it again replaces the expiry; it never shortens the assignee's chat
    /// access, which lasts while they are assigned.
    ///
    /// Rules: 1 to [`ACCESS_MAX_HOURS`] hours; the user exists, is active and is not the
    /// actor.
    ///
    /// # Errors
    /// Permission denied; not found (order, also when the actor may not see it, or user);
    /// invalid input on `hours`; conflict for a disabled user or the actor themself.
    pub fn grant_order_access(
        &mut self,
        actor: &Actor,
        order: OrderId,
        user: UserId,
        hours: u32,
    ) -> Result<OrderAccess> {
        let resolved = require(self, actor, Permission::AssignOrders)?;
        order_in(self, actor, order)?;
        if !(1..=ACCESS_MAX_HOURS).contains(&hours) {
            return Err(Error::invalid(
                "hours",
                format!("access lasts 1 to {ACCESS_MAX_HOURS} hours (90 days), not {hours}"),
            ));
        }
        let grantee = load_user(self, actor.org, user)?;
        if grantee.status != UserStatus::Active {
            return Err(Error::conflict(format!(
                "user {} is disabled",
                grantee.username
            )));
        }
        if resolved.user_id() == Some(user) {
            return Err(Error::conflict("you cannot grant access to yourself"));
        }
        let expires_at = self.now().plus_millis(i64::from(hours) * 3_600_000);
        let mut permissions = Vec::new();
        for permission in ACCESS_PERMISSIONS {
            let key = grant_key(actor.org, order, user, permission);
            let existing: Option<OrderGrant> = self.get(tables::GRANTS, &key)?;
            if existing.is_some_and(|grant| grant.expires_at.is_none()) {
                // The assignee's chat access outlasts any delegation.
                continue;
            }
            let grant = OrderGrant {
                order,
                user,
                permission,
                expires_at: Some(expires_at),
            };
            self.put(tables::GRANTS, &key, &grant)?;
            permissions.push(permission);
        }
        self.audit(
            actor,
            AuditAction::OrderAccessGranted,
            Subject::Order(order),
            AuditDetail::Access {
                user,
                until: Some(expires_at),
            },
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        Ok(OrderAccess {
            user,
            display_name: grantee.display_name,
            permissions,
            expires_at: Some(expires_at),
        })
    }

    /// Takes a delegated access to one order away from `user` at once (also one that has
    /// expired, which is then cleared). The assignee's chat access stays: it ends when the
    /// order is assigned to someone else. Needs `assign_orders`, and the actor must see the
    /// order.
    ///
    /// # Errors
    /// Permission denied; not found (the order, also when the actor may not see it, or no
    /// delegated access of the user on it).
    pub fn revoke_order_access(
        &mut self,
        actor: &Actor,
        order: OrderId,
        user: UserId,
    ) -> Result<()> {
        require(self, actor, Permission::AssignOrders)?;
        order_in(self, actor, order)?;
        let mut delegated = Vec::new();
        for permission in ACCESS_PERMISSIONS {
            let key = grant_key(actor.org, order, user, permission);
            let grant: Option<OrderGrant> = self.get(tables::GRANTS, &key)?;
            if grant.is_some_and(|grant| grant.expires_at.is_some()) {
                delegated.push(key);
            }
        }
        if delegated.is_empty() {
            return Err(Error::not_found(
                "access grant",
                format!("of user {user} on order {order}"),
            ));
        }
        for key in &delegated {
            self.remove(tables::GRANTS, key)?;
        }
        self.audit(
            actor,
            AuditAction::OrderAccessRevoked,
            Subject::Order(order),
            AuditDetail::Access { user, until: None },
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        Ok(())
    }
}

/// Who has access to an order through grants that have not expired: delegations (with their
/// expiry) and the assignee's chat access, one row per user and expiry, by user id. For those
/// who manage access (`assign_orders`) and may see the order.
///
/// # Errors
/// Permission denied without `assign_orders`; not found (also when the actor may not see the
/// order).
pub fn order_access_in(
    view: &impl View,
    actor: &Actor,
    order: OrderId,
) -> Result<Vec<OrderAccess>> {
    require(view, actor, Permission::AssignOrders)?;
    order_in(view, actor, order)?;
    let mut rows: Vec<OrderAccess> = Vec::new();
    for grant in live_grants(view, actor.org, order)? {
        match rows
            .iter_mut()
            .find(|row| row.user == grant.user && row.expires_at == grant.expires_at)
        {
            Some(row) => row.permissions.push(grant.permission),
            None => {
                let display_name = load_user(view, actor.org, grant.user)
                    .map_or_else(|_| format!("user {}", grant.user), |user| user.display_name);
                rows.push(OrderAccess {
                    user: grant.user,
                    display_name,
                    permissions: vec![grant.permission],
                    expires_at: grant.expires_at,
                });
            }
        }
    }
    for row in &mut rows {
        row.permissions.sort();
    }
    Ok(rows)
}

/// Active staff whose skills match the order's markers, best first: by how many of the order's
/// markers they have, then by display name (C0de seed: "assign orders to the right developer
/// based on skills"). Users with none of them are left out, so an order without markers has no
/// suggestions. For those who may assign (`assign_orders`) and see the order.
///
/// # Errors
/// Permission denied without `assign_orders`; not found (also when the actor may not see the
/// order).
pub fn suggested_staff_in(
    view: &impl View,
    actor: &Actor,
    order: OrderId,
) -> Result<Vec<StaffSuggestion>> {
    require(view, actor, Permission::AssignOrders)?;
    let order = order_in(view, actor, order)?;
    if order.markers.is_empty() {
        return Ok(Vec::new());
    }
    let markers = list_markers_in(view, actor.org)?;
    let mut suggestions: Vec<StaffSuggestion> = view
        .records_with_prefix::<User>(tables::USERS, &Key::org(actor.org))?
        .into_iter()
        .filter(|user| user.status == UserStatus::Active)
        .filter_map(|user| {
            let matching: Vec<MarkerId> = order
                .markers
                .iter()
                .copied()
                .filter(|marker| user.markers.contains(marker))
                .collect();
            (!matching.is_empty()).then(|| StaffSuggestion {
                matching: markers_of(&markers, &matching),
                user: StaffName {
                    id: user.id,
                    username: user.username,
                    display_name: user.display_name,
                    active: true,
                },
            })
        })
        .collect();
    suggestions.sort_by(|a, b| {
        b.matching
            .len()
            .cmp(&a.matching.len())
            .then_with(|| {
                a.user
                    .display_name
                    .to_lowercase()
                    .cmp(&b.user.display_name.to_lowercase())
            })
            .then_with(|| a.user.id.cmp(&b.user.id))
    });
    Ok(suggestions)
}

/// The skills of everyone who bid on an order, one entry per bidder in the order of their
/// first bid, for those who may see the bids (staff who see the order).
///
/// # Errors
/// Not found (also when the actor may not see the order); permission denied for customers.
pub fn bidder_skills_in(
    view: &impl View,
    actor: &Actor,
    order: OrderId,
) -> Result<Vec<UserSkills>> {
    if matches!(resolve(view, actor)?, super::Resolved::Customer(_)) {
        return Err(Error::forbidden("customers do not see bids"));
    }
    order_in(view, actor, order)?;
    let markers = list_markers_in(view, actor.org)?;
    let mut out: Vec<UserSkills> = Vec::new();
    for bid in bids_of(view, actor.org, order)? {
        if out.iter().any(|skills| skills.user == bid.user) {
            continue;
        }
        let ids = match load_user(view, actor.org, bid.user) {
            Ok(user) => user.markers,
            Err(error) if error.kind() == crate::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        out.push(UserSkills {
            user: bid.user,
            markers: markers_of(&markers, &ids),
        });
    }
    Ok(out)
}

impl Crm {
    /// See [`Tx::grant_order_access`].
    ///
    /// # Errors
    /// See [`Tx::grant_order_access`].
    pub fn grant_order_access(
        &self,
        actor: &Actor,
        order: OrderId,
        user: UserId,
        hours: u32,
    ) -> Result<OrderAccess> {
        let actor = actor.clone();
        self.write(move |tx| tx.grant_order_access(&actor, order, user, hours))
    }

    /// See [`Tx::revoke_order_access`].
    ///
    /// # Errors
    /// See [`Tx::revoke_order_access`].
    pub fn revoke_order_access(&self, actor: &Actor, order: OrderId, user: UserId) -> Result<()> {
        let actor = actor.clone();
        self.write(move |tx| tx.revoke_order_access(&actor, order, user))
    }

    /// See [`order_access_in`].
    ///
    /// # Errors
    /// See [`order_access_in`].
    pub fn order_access(&self, actor: &Actor, order: OrderId) -> Result<Vec<OrderAccess>> {
        self.read(|view| order_access_in(view, actor, order))
    }

    /// See [`suggested_staff_in`].
    ///
    /// # Errors
    /// See [`suggested_staff_in`].
    pub fn suggested_staff(&self, actor: &Actor, order: OrderId) -> Result<Vec<StaffSuggestion>> {
        self.read(|view| suggested_staff_in(view, actor, order))
    }

    /// See [`bidder_skills_in`].
    ///
    /// # Errors
    /// See [`bidder_skills_in`].
    pub fn bidder_skills(&self, actor: &Actor, order: OrderId) -> Result<Vec<UserSkills>> {
        self.read(|view| bidder_skills_in(view, actor, order))
    }
}
