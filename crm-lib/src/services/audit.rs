//! The audit log: who did what to which record, when and from where (Django operator seed),
//! searchable by actor, action and time, and exported whole.
//!
//! Entries are written by [`crate::Tx`]'s use cases in the transaction of the change; this
//! module only reads them.

use std::ops::Bound;

use crate::model::*;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Result, View};

use super::{Page, Paged, require};

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

/// Every audit entry of `org`, oldest first (exports). Reads the whole log into memory.
///
/// # Errors
/// Storage only.
pub fn all_audit_in(view: &impl View, org: OrgId) -> Result<Vec<AuditEntry>> {
    let mut entries = Vec::new();
    view.for_each_prefix(tables::AUDIT, &Key::org(org), |_, value| {
        entries.push(codec::decode::<AuditEntry>(value)?);
        Ok(true)
    })?;
    Ok(entries)
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

    /// See [`all_audit_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn all_audit(&self, org: OrgId) -> Result<Vec<AuditEntry>> {
        self.read(|view| all_audit_in(view, org))
    }
}
