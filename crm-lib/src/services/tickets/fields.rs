//! The organization's order fields and the rules around them that the tickets and the
//! projects' leads share: which field set an organization has, how a change reads in the
//! audit, who may clear a fraud flag. A module of its own below both, so the leads (which
//! change fields) and the tickets (which call the leads' hook) do not import each other.

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Result, View};

use super::super::load_org;

/// The organization's order fields: its tickets' fields with the tickets module, its leads'
/// slots with the projects module (empty when neither is on).
pub(crate) fn fields_of(view: &impl View, org: OrgId) -> Result<FieldSet> {
    fields_for(view, &load_org(view, org)?)
}

/// [`fields_of`] for a caller that has read the organization already (the order list, order
/// creation), so it is not read again. With the projects module on and none stored (an
/// organization made before its template declared its leads' slots), the template's fields.
pub(crate) fn fields_for(view: &impl View, org: &Organization) -> Result<FieldSet> {
    let tickets = org.modules.contains(Module::Tickets);
    let projects = org.modules.contains(Module::Projects);
    if !tickets && !projects {
        return Ok(FieldSet::default());
    }
    match view.get::<FieldSet>(tables::ORDER_FIELDS, &Key::org(org.id))? {
        Some(fields) => Ok(fields),
        None if projects => Ok(crate::templates::template(&org.template)
            .map(|template| template.fields)
            .unwrap_or_default()),
        None => Ok(FieldSet::default()),
    }
}

/// Values of the order's typed fields in text, as the audit detail says them:
/// `serial: "A1" -> "B2"`.
pub(crate) fn describe_changes(
    before: &BTreeMap<String, FieldValue>,
    after: &BTreeMap<String, FieldValue>,
) -> String {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            let say = |value: Option<&FieldValue>| {
                value.map_or_else(
                    || "-".to_string(),
                    |value| format!("{:?}", value.to_answer()),
                )
            };
            format!("{key}: {} -> {}", say(before.get(key)), say(after.get(key)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a resolved actor may clear a fraud flag: `moderate_orders` or `assign_orders`.
pub(crate) fn may_clear_flags(resolved: &super::super::Resolved) -> bool {
    resolved.has(Permission::ModerateOrders) || resolved.has(Permission::AssignOrders)
}
