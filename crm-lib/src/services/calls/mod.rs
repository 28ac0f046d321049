//! Calls (Brando seed, SPEC section 5C; a `tickets`-module feature, SPEC 3.1): the PBX's
//! notifications of each telephone call, received by webhook from Zadarma, checked against
//! the organization's API secret, stored as [`Call`]s linked to the customer by phone, and
//! shown on the customer's timeline ([`timeline_in`]).
//!
//! - `zadarma`: the notifications and their signature, as Zadarma documents them.
//! - `commands`: the use cases that write: a notification recorded, the PBX settings.
//! - `queries`: the call list and one call, the settings page's view.
//! - `timeline`: one customer's messages, orders and calls, newest first.

mod commands;
mod queries;
mod timeline;
mod zadarma;

pub use commands::{CallOutcome, normalize_phone, parse_call_start};
pub use queries::{
    CALL_SCAN_LIMIT, CallFilter, CallList, CallListFilter, CallListPage, CallRow, CallSettingsView,
    ExtensionRow, call_in, call_list_in, call_settings_in, calls_in, calls_of_customer_in,
    calls_on_in, unknown_caller_in,
};
pub use timeline::{
    TIMELINE_SCAN_LIMIT, Timeline, TimelineCursor, TimelineEntry, TimelineItem, timeline_in,
};
pub use zadarma::{
    ECHO_PARAMETER, MAX_FIELDS, SIGNATURE_HEADER, ZadarmaNotification, sign_notification,
    signature_matches, signed_text, zadarma_signature,
};

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Error, Result, View};

use super::Resolved;

/// Whether calls are switched on for the organization: they belong to the `tickets` module
/// (SPEC 3.1), so the webhook, the call list and the settings answer "not found" without it.
pub fn calls_enabled(org: &Organization) -> bool {
    org.modules.contains(Module::Tickets)
}

/// Refuses with "not found" when calls are off for the organization.
pub(crate) fn require_calls(org: &Organization) -> Result<()> {
    if calls_enabled(org) {
        Ok(())
    } else {
        Err(Error::not_found("module", "tickets"))
    }
}

/// Whether `resolved` may see calls: staff who see customers (`chat_customers` or
/// `view_orders`, as [`crate::customers::customer_in`] asks) and the system.
pub(crate) fn may_see_calls(resolved: &Resolved) -> bool {
    reads_calls(|permission| resolved.has(permission))
}

/// The permissions rule of [`may_see_calls`], for [`crate::capabilities::Navigation`],
/// which knows permissions without a resolved actor.
pub(crate) fn reads_calls(has: impl Fn(Permission) -> bool) -> bool {
    has(Permission::ChatCustomers) || has(Permission::ViewOrders)
}

/// The organization's PBX settings (defaults when never set).
pub(crate) fn load_settings(view: &impl View, org: OrgId) -> Result<CallSettings> {
    Ok(view
        .get(tables::CALL_SETTINGS, &Key::org(org))?
        .unwrap_or_default())
}

/// One call of the organization, or not found.
pub(crate) fn load_call(view: &impl View, org: OrgId, call: CallId) -> Result<Call> {
    view.get(tables::CALLS, &Key::org(org).u64(call.0))?
        .ok_or_else(|| Error::not_found(CallId::LABEL, call))
}
