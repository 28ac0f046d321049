//! Projects (SPEC 5E, issue 14; the renovation plan's "Project Management", "Worker Bot" and
//! "Client Mini App"): a job for a client made from a won lead or by hand, its stages with
//! their progress, the workers' daily reports, the money (expenses and income against the
//! estimate), and the change requests the client decides. The module answers "not found"
//! while the organization's `projects` module is off.
//!
//! Who may do what ([`ProjectActions`], computed here for every adapter):
//! - staff with `manage_projects` (and the system) see every project and do everything while
//!   it is active: edit it, put workers on it, add stages, set progress, add reports, money
//!   entries and estimate lines, write change requests, withdraw them or decide them on the
//!   client's behalf, complete it; a completed one is reopened or archived, an archived one
//!   reopened;
//! - a worker (staff with `report_projects`) sees the projects they are put on and adds daily
//!   reports and money entries to them while active; another project is "not found";
//! - the client (the customer the project is for) reads their own projects (the totals, the
//!   stages, the change requests and a feed without the money entries) and approves or
//!   rejects their pending change requests; another customer's project is "not found";
//! - staff with neither permission are refused (permission denied, naming `manage_projects`).
//!
//! Money (integer minor units of the project's currency, the organization's when it was
//! made):
//! - the budget total is the base plus the sum of the approved change requests, and never
//!   goes below zero (an approval that would take it there is a conflict); spent is the sum
//!   of the expense entries and income the sum of the income entries; remaining is total
//!   minus spent;
//! - the plan is the estimate lines, per stage; the fact is the expense entries booked on
//!   each stage;
//! - these sums are counters on the project ([`ProjectTotals`]) and on each stage
//!   (`planned`, `spent`), kept in the transaction that writes each record, so lists and the
//!   client's summary never scan; `crm verify` recomputes them (`totals.rs`).
//!
//! Progress ([`progress_of`]): each stage's progress weighs its planned amount when every
//! stage has one above zero, else every stage weighs the same; the project's progress is the
//! weighted average, rounded down.
//!
//! A change request is decided once: approving or rejecting a request that is no longer
//! pending is a conflict that writes nothing, so every decision is audited exactly once.
//!
//! Documents (`documents.rs`): staff with `manage_projects` attach files (PDF, images,
//! office documents, at most [`crate::MEDIA_MAX_SIZE`] each, [`DOCUMENTS_MAX`] a project)
//! with a title and remove them; everyone who sees the project reads the list and the files,
//! the client included ([`project_documents_in`]).
//!
//! The client is told in Telegram of each daily report and each change request waiting for
//! them (typed [`Event`]s the bot renders in their language, the request with Approve and
//! Reject); the staff user who wrote a change request is told when someone else decided it
//! ([`Event::ChangeRequestDecided`]); webhooks receive `project.report_added`,
//! `project.change_request_decided` and `project.document_added`.

mod commands;
mod documents;
mod queries;
pub(crate) mod totals;

pub use commands::{
    Decision, NewChangeRequest, NewEntry, NewEstimateLine, NewProject, NewReport, NewStage,
    ProjectEdit,
};
pub use documents::{
    DOCUMENT_FILE_NAME_MAX_CHARS, DOCUMENTS_MAX, NewDocument, project_documents_in,
};
pub use queries::{
    ClientName, PlanLine, ProjectDraft, ProjectFilter, ProjectList, ProjectListRow, ProjectPage,
    ProjectSetup, ProjectView, SEARCH_SCAN_LIMIT, StageView, TimelineItem, TimelineKind,
    WORKER_PROJECTS_MAX, WorkerProject, WorkerProjects, WorkerStage, project_draft_in, project_in,
    project_page_in, project_setup_in, project_timeline_in, projects_in, worker_projects_in,
};

use crate::model::*;
use crate::store::declarations::{project_key, project_part_key};
use crate::store::{Key, ViewExt, tables};
use crate::{Error, Result, View};

use super::{Resolved, require_module, resolve};

/// The most stages a project has.
pub const STAGES_MAX: u32 = 50;
/// The most photos and videos one daily report carries.
pub const REPORT_MEDIA_MAX: usize = 30;
/// The longest text of a report or a change request's description, in characters.
pub const TEXT_MAX_CHARS: usize = 4_000;
/// The longest title (of a project, an estimate line or a change request), in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// The longest stage name, in characters.
pub const STAGE_NAME_MAX_CHARS: usize = 100;
/// The longest address, in characters.
pub const ADDRESS_MAX_CHARS: usize = 500;
/// The longest note of a money entry, in characters.
pub const NOTE_MAX_CHARS: usize = 500;
/// The most workers on one project.
pub const WORKERS_MAX: usize = 50;
/// The most estimate lines of one project.
pub const ESTIMATE_LINES_MAX: u32 = 500;
/// The most timeline items one page holds.
pub const TIMELINE_PAGE_MAX: usize = 100;

/// What an actor may do with one project now (the module's rules), for every adapter: the
/// page's forms and buttons, the API, the bot's and the Mini App's keyboards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectActions {
    /// Change the title, address or base budget.
    pub edit: bool,
    /// Put workers on it or take them off.
    pub assign_workers: bool,
    /// Add a stage.
    pub add_stage: bool,
    /// Set a stage's progress.
    pub set_progress: bool,
    /// Add a daily report (it has a stage to report on).
    pub add_report: bool,
    /// Add an expense or income entry.
    pub add_entry: bool,
    /// Add an estimate line (it has a stage to plan for).
    pub add_estimate_line: bool,
    /// Write a change request for the client.
    pub create_change_request: bool,
    /// Approve or reject a pending change request (the client, or staff on their behalf).
    pub decide_change_request: bool,
    /// Withdraw a pending change request (staff).
    pub withdraw_change_request: bool,
    /// Mark it completed.
    pub complete: bool,
    /// Make a completed or archived project active again.
    pub reopen: bool,
    /// Put a completed project away.
    pub archive: bool,
    /// See the money entries and the estimate (staff; the client sees the totals only).
    pub see_books: bool,
    /// Attach a document or remove one (staff with `manage_projects`, in any state: the
    /// final acts come after completion).
    pub manage_documents: bool,
}

/// How an actor stands to a project: the module's three kinds of reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `manage_projects`, or the system.
    Manager,
    /// `report_projects` and put on the project.
    Worker,
    /// The project's client.
    Client,
}

/// Whether staff holding these permissions may read projects at all.
fn reads_projects(resolved: &Resolved) -> bool {
    resolved.has(Permission::ManageProjects) || resolved.has(Permission::ReportProjects)
}

/// How `resolved` stands to `project`, when they may see it.
pub(crate) fn access_of(resolved: &Resolved, project: &Project) -> Option<Access> {
    match resolved {
        Resolved::System => Some(Access::Manager),
        Resolved::Staff(user, permissions) => {
            if permissions.contains(Permission::ManageProjects) {
                Some(Access::Manager)
            } else if permissions.contains(Permission::ReportProjects)
                && project.workers.contains(&user.id)
            {
                Some(Access::Worker)
            } else {
                None
            }
        }
        Resolved::Customer(customer) => (project.client == *customer).then_some(Access::Client),
    }
}

/// The actions of an actor standing as `access` to `project` (the module's rules).
pub(crate) fn actions_of(access: Access, project: &Project) -> ProjectActions {
    let active = project.state == ProjectState::Active;
    let has_stages = project.totals.stages > 0;
    let pending = project.totals.pending_changes > 0;
    match access {
        Access::Manager => ProjectActions {
            edit: active,
            assign_workers: active,
            add_stage: active && project.totals.stages < STAGES_MAX,
            set_progress: active && has_stages,
            add_report: active && has_stages,
            add_entry: active,
            add_estimate_line: active
                && has_stages
                && project.totals.estimate_lines < ESTIMATE_LINES_MAX,
            create_change_request: active,
            decide_change_request: active && pending,
            withdraw_change_request: active && pending,
            complete: active,
            reopen: !active,
            archive: project.state == ProjectState::Completed,
            see_books: true,
            manage_documents: true,
        },
        Access::Worker => ProjectActions {
            add_report: active && has_stages,
            add_entry: active,
            see_books: true,
            ..ProjectActions::default()
        },
        Access::Client => ProjectActions {
            decide_change_request: active && pending,
            ..ProjectActions::default()
        },
    }
}

/// A project's progress from its stages (the module's rule): each stage weighs its planned
/// amount when every stage has one above zero, else every stage weighs the same; the
/// weighted average of the stages' progress, rounded down; 0 without stages.
pub fn progress_of<'a>(stages: impl IntoIterator<Item = &'a ProjectStage>) -> u8 {
    let stages: Vec<&ProjectStage> = stages.into_iter().collect();
    if stages.is_empty() {
        return 0;
    }
    let weighted = stages.iter().all(|stage| stage.planned.0 > 0);
    let (mut sum, mut weights): (i128, i128) = (0, 0);
    for stage in &stages {
        let weight = if weighted {
            i128::from(stage.planned.0)
        } else {
            1
        };
        sum += i128::from(stage.progress.min(100)) * weight;
        weights += weight;
    }
    if weights <= 0 {
        return 0;
    }
    u8::try_from((sum / weights).clamp(0, 100)).unwrap_or(100)
}

/// Reads a project or fails with not found.
pub(crate) fn load_project(view: &impl View, org: OrgId, id: ProjectId) -> Result<Project> {
    view.get(tables::PROJECTS, &project_key(org, id))?
        .ok_or_else(|| Error::not_found(ProjectId::LABEL, id))
}

/// A project as `actor` may see it, with how they stand to it: the module on (else "not
/// found"), staff holding `manage_projects` or `report_projects` (else denied), the project
/// theirs to see (else "not found").
pub(crate) fn visible_project(
    view: &impl View,
    actor: &Actor,
    id: ProjectId,
) -> Result<(Resolved, Project, Access)> {
    let resolved = readable(view, actor)?;
    let project = load_project(view, actor.org, id)?;
    match access_of(&resolved, &project) {
        Some(access) => Ok((resolved, project, access)),
        None => Err(Error::not_found(ProjectId::LABEL, id)),
    }
}

/// The actor, resolved, when they may read projects at all: the module on, and staff with
/// `manage_projects` or `report_projects`, a customer, or the system.
pub(crate) fn readable(view: &impl View, actor: &Actor) -> Result<Resolved> {
    require_module(view, actor.org, Module::Projects)?;
    let resolved = resolve(view, actor)?;
    if matches!(resolved, Resolved::Staff(..)) && !reads_projects(&resolved) {
        return Err(Error::denied(
            Permission::ManageProjects,
            format!("{} lacks the manage_projects permission", actor.who),
        ));
    }
    Ok(resolved)
}

/// The project's stages, in their order.
pub(crate) fn stages_of(
    view: &impl View,
    org: OrgId,
    project: ProjectId,
) -> Result<Vec<ProjectStage>> {
    let mut stages: Vec<ProjectStage> =
        view.records_with_prefix(tables::PROJECT_STAGES, &Key::org(org).u64(project.0))?;
    stages.sort_by_key(|stage| (stage.position, stage.id));
    Ok(stages)
}

/// One stage of a project, or invalid input on `field` when the project has no such stage.
pub(crate) fn stage_in(
    view: &impl View,
    org: OrgId,
    project: ProjectId,
    stage: ProjectStageId,
    field: &'static str,
) -> Result<ProjectStage> {
    view.get(
        tables::PROJECT_STAGES,
        &project_part_key(org, project, stage.0),
    )?
    .ok_or_else(|| Error::invalid(field, format!("project {project} has no stage {stage}")))
}

/// Refuses an action the actor's [`ProjectActions`] withhold: conflict when the project's
/// state says no (it is not active, or for a manager any other state rule), permission
/// denied for a worker or a client otherwise (naming `manage_projects`).
pub(crate) fn refuse(access: Access, project: &Project, what: &str) -> Error {
    if access == Access::Manager || project.state != ProjectState::Active {
        Error::conflict(format!(
            "project {} is {}: {what} is not possible now",
            project.id,
            project.state.as_str()
        ))
    } else {
        Error::denied(
            Permission::ManageProjects,
            format!("{what} on project {} needs manage_projects", project.id),
        )
    }
}

/// Whether `resolved` may see a file of a part of `project` (media visibility): a report's
/// file or a document (`report`) by whoever may see the project, an entry's proof by its
/// staff readers only. A project of a module switched off shows nothing.
pub(crate) fn sees_part_file(
    view: &impl View,
    org: OrgId,
    resolved: &Resolved,
    project: ProjectId,
    report: bool,
) -> Result<bool> {
    if !super::load_org(view, org)?
        .modules
        .contains(Module::Projects)
    {
        return Ok(false);
    }
    let project = load_project(view, org, project)?;
    Ok(match access_of(resolved, &project) {
        Some(Access::Client) => report,
        Some(_) => true,
        None => false,
    })
}

/// The project made from lead `order`, when there is one (`projects_by_lead`).
pub(crate) fn project_of_lead(
    view: &impl View,
    org: OrgId,
    order: OrderId,
) -> Result<Option<ProjectId>> {
    view.get_raw(
        tables::PROJECTS_BY_LEAD,
        Key::org(org).u64(order.0).as_slice(),
        |bytes| Ok(ProjectId(crate::store::keys::read_u64(bytes, 0))),
    )
}

/// Whether `customer` is the client of an active project of `org` (`projects_by_client`):
/// their messages to the bot are about the project, so the leads pipeline makes no new lead
/// of them (`leads::questions`' `post_lead_message` asks).
pub(crate) fn has_active_project(
    view: &impl View,
    org: OrgId,
    customer: CustomerId,
) -> Result<bool> {
    let keys = view.keys_with_prefix(
        tables::PROJECTS_BY_CLIENT,
        &Key::org(org).u64(customer.0),
        None,
        true,
        usize::MAX,
    )?;
    for key in keys {
        let project = load_project(view, org, ProjectId(crate::store::keys::tail_u64(&key)))?;
        if project.state == ProjectState::Active {
            return Ok(true);
        }
    }
    Ok(false)
}
