//! The operators module (SPEC 5B, Django operator seed): departments, operator presence, the
//! queue that gives conversations and tickets to the least-loaded online operator of their
//! department, and operator statistics.
//!
//! - `departments.rs`: create, rename, archive, members.
//! - `queue.rs`: the queue items (a customer's conversation, a ticket), operator status, the
//!   one routing rule every path calls (`route`, `drain`, `reroute_of`), the
//!   hooks the chat and the order use cases call, close and reopen, manual reassignment, and
//!   the periodic sweep (idle operators, unanswered items).
//! - `archive.rs`: archiving closed conversations (the `archive_conversations` job).
//! - `stats.rs`: first response time (median, 90th percentile), conversations handled,
//!   tickets resolved, per operator and day.
//!
//! Everything here answers "not found" while the organization's `operators` module is off
//! ([`module_on`]); the chat and order hooks then do nothing, so other organizations write
//! exactly what they wrote before.

mod archive;
mod departments;
mod queue;
mod stats;

pub use departments::{DepartmentRow, NAME_MAX_CHARS, departments_in};
pub use queue::{
    ConversationView, OperatorRow, SessionActivity, SweepReport, closed_items_before_in,
    conversation_in, department_choices_in, operator_state_in, operators_in, queue_items_in,
};
pub(crate) use queue::{latest_item, open_item, state_of};
pub(crate) use queue::{
    on_customer_message, on_order_assigned, on_order_created, on_order_deleted, on_order_moved,
    on_staff_reply,
};
pub use queue::{parse_status, status_word};
pub use stats::{
    DEFAULT_DAYS, MAX_DAYS, OperatorDayStats, OperatorStats, OperatorStatsRow, operator_stats_in,
    operator_stats_report_in, percentile,
};

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::{load_org, require, resolve};

/// Whether the organization's `operators` module is on (the helpdesk template presets it; the
/// settings page and `crm org` switch it).
pub fn module_on(org: &Organization) -> bool {
    org.modules.contains(Module::Operators)
}

/// The organization of `actor`, refused as not found while its operators module is off (the
/// module's pages, API and commands do not exist there).
pub(crate) fn require_module(view: &impl View, org: OrgId) -> Result<Organization> {
    let record = load_org(view, org)?;
    if module_on(&record) {
        Ok(record)
    } else {
        Err(Error::not_found("module", "operators"))
    }
}

/// The key of a department in `departments`: organization, department id.
pub(crate) fn department_key(org: OrgId, department: DepartmentId) -> Key {
    Key::org(org).u64(department.0)
}

/// One department of `org` (archived too).
///
/// # Errors
/// Not found.
pub(crate) fn load_department(
    view: &impl View,
    org: OrgId,
    department: DepartmentId,
) -> Result<Department> {
    view.get(tables::DEPARTMENTS, &department_key(org, department))?
        .ok_or_else(|| Error::not_found(DepartmentId::LABEL, department))
}

/// Every department of `org` (archived too), by id.
pub(crate) fn all_departments(view: &impl View, org: OrgId) -> Result<Vec<Department>> {
    view.records_with_prefix(tables::DEPARTMENTS, &Key::org(org))
}

/// The module's settings of `org` (the defaults until someone saved them).
pub(crate) fn settings_of(view: &impl View, org: OrgId) -> Result<OperatorSettings> {
    Ok(view
        .get(tables::OPERATOR_SETTINGS, &Key::org(org))?
        .unwrap_or_default())
}

/// The operators module's settings, for staff with `manage_settings`.
///
/// # Errors
/// Not found when the module is off; permission denied.
pub fn operator_settings_in(view: &impl View, actor: &Actor) -> Result<OperatorSettings> {
    require_module(view, actor.org)?;
    require(view, actor, Permission::ManageSettings)?;
    settings_of(view, actor.org)
}

/// The longest idle time and answer timeout, in minutes (a week).
pub const MAX_MINUTES: u32 = 7 * 24 * 60;

impl Tx<'_> {
    /// Saves the operators module's settings. Needs `manage_settings`. The minutes are 0 (off)
    /// to [`MAX_MINUTES`]; the default department, when given, an active department. Saving
    /// what is saved writes nothing.
    ///
    /// # Errors
    /// Not found when the module is off or the department does not exist; permission denied;
    /// invalid input on `idle_away_minutes`, `answer_timeout_minutes` or
    /// `default_department` (archived).
    pub fn save_operator_settings(
        &mut self,
        actor: &Actor,
        settings: OperatorSettings,
    ) -> Result<OperatorSettings> {
        require_module(self, actor.org)?;
        require(self, actor, Permission::ManageSettings)?;
        for (field, value) in [
            ("idle_away_minutes", settings.idle_away_minutes),
            ("answer_timeout_minutes", settings.answer_timeout_minutes),
        ] {
            if value > MAX_MINUTES {
                return Err(Error::invalid(
                    field,
                    format!("must be at most {MAX_MINUTES} minutes (got {value})"),
                ));
            }
        }
        if let Some(department) = settings.default_department {
            let record = load_department(self, actor.org, department)?;
            if record.archived {
                return Err(Error::invalid(
                    "default_department",
                    format!("department {:?} is archived", record.name),
                ));
            }
        }
        let before = settings_of(self, actor.org)?;
        if before == settings {
            return Ok(settings);
        }
        self.put(tables::OPERATOR_SETTINGS, &Key::org(actor.org), &settings)?;
        self.audit(
            actor,
            AuditAction::OperatorSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(format!(
                "idle {} min, answer timeout {} min, default department {:?}, ask {}",
                settings.idle_away_minutes,
                settings.answer_timeout_minutes,
                settings.default_department.map(DepartmentId::get),
                settings.ask_department
            )),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(settings)
    }
}

impl Crm {
    /// See [`operator_settings_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`operator_settings_in`].
    pub fn operator_settings(&self, actor: &Actor) -> Result<OperatorSettings> {
        self.read(|view| operator_settings_in(view, actor))
    }

    /// See [`Tx::save_operator_settings`]. Blocks until durable.
    ///
    /// # Errors
    /// See [`Tx::save_operator_settings`].
    pub fn save_operator_settings(
        &self,
        actor: &Actor,
        settings: OperatorSettings,
    ) -> Result<OperatorSettings> {
        let actor = actor.clone();
        self.write(move |tx| tx.save_operator_settings(&actor, settings))
    }
}

/// Resolves a staff actor (any active staff user, or the system) of an organization with the
/// module on: what reading the module's lists needs.
pub(crate) fn require_staff(view: &impl View, actor: &Actor) -> Result<Organization> {
    let org = require_module(view, actor.org)?;
    if let super::Resolved::Customer(_) = resolve(view, actor)? {
        return Err(Error::forbidden(
            "customers do not see the operators module",
        ));
    }
    Ok(org)
}
