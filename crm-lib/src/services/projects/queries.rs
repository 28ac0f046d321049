//! The projects' reads: the list (from the `project_rows` projection), one project as its
//! reader may see it, its timeline newest first paged by a cursor (the page's and the client's
//! feed), and what the forms offer.

use std::collections::HashMap;
use std::ops::Bound;

use crate::model::*;
use crate::store::declarations::project_part_key;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Error, Page, Paged, Result, View};

use super::super::orders::rows::stored_customer_name;
use super::super::{Resolved, load_org};
use super::commands::{NewProject, check_lead};
use super::{
    Access, ProjectActions, TIMELINE_PAGE_MAX, actions_of, readable, stages_of, visible_project,
};

/// How many projects a search examines at most per page: a page that found fewer matches
/// returns a cursor to go on from.
pub const SEARCH_SCAN_LIMIT: usize = 5_000;

/// Which projects a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    /// Only this state; every state when `None`.
    pub state: Option<ProjectState>,
    /// Words the title, the address or the client's name contain (case-insensitive); empty
    /// for any.
    pub search: String,
}

/// A customer as lists name them, or `None` when the customer is gone.
pub type ClientName = Option<String>;

/// One row of the project list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectListRow {
    /// The projection.
    pub row: ProjectRow,
    /// The client's name.
    pub client_name: ClientName,
}

/// A page of the project list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectList {
    /// The rows.
    pub rows: Vec<ProjectListRow>,
    /// The project to continue after (the `after` of the next page), when there may be more.
    pub next: Option<u64>,
    /// Whether the reader may make projects (`manage_projects`).
    pub create: bool,
}

/// A stage with its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageView {
    /// The stage (its `planned` and `spent` are zero for a client).
    pub stage: ProjectStage,
    /// Its estimate lines (none for a client).
    pub lines: Vec<EstimateLine>,
}

/// One line of the plan against the fact, per stage (staff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLine {
    /// The stage, or `None` for the expenses booked on no stage.
    pub stage: Option<ProjectStageId>,
    /// Planned.
    pub planned: Money,
    /// Spent.
    pub spent: Money,
}

/// A project as its reader may see it, with what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectView {
    /// The project (for a client, `totals.planned` is zero: the estimate is the firm's).
    pub project: Project,
    /// The client's name.
    pub client_name: ClientName,
    /// The stages in order.
    pub stages: Vec<StageView>,
    /// The plan against the fact per stage, and the expenses on no stage last (empty for a
    /// client).
    pub plan: Vec<PlanLine>,
    /// The change requests, newest first.
    pub change_requests: Vec<ChangeRequest>,
    /// The workers, with their names (empty for a client).
    pub workers: Vec<(UserId, String)>,
    /// What the reader may do.
    pub actions: ProjectActions,
}

/// What happened, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineKind {
    /// The project was made.
    Created {
        /// The lead it was made from.
        lead: Option<OrderId>,
    },
    /// A stage was added.
    StageAdded {
        /// The stage.
        stage: ProjectStageId,
        /// Its name now.
        name: String,
    },
    /// A stage's progress was set.
    Progress {
        /// The stage.
        stage: ProjectStageId,
        /// Its name now.
        name: String,
        /// Before, in percent.
        from: u8,
        /// After.
        to: u8,
    },
    /// A daily report.
    Report {
        /// The report.
        report: DailyReport,
        /// Its stage's name.
        stage: String,
    },
    /// A money entry (staff only).
    Entry {
        /// The entry.
        entry: ProjectEntry,
        /// Its stage's name, when booked on one.
        stage: Option<String>,
    },
    /// A change request was written or decided.
    ChangeRequest {
        /// The request as it is now.
        request: ChangeRequest,
        /// What happened then: `Pending` when it was written, else the decision.
        state: ChangeRequestState,
    },
    /// The project was completed, reopened or archived.
    State {
        /// Before.
        from: ProjectState,
        /// After.
        to: ProjectState,
    },
}

/// One item of a project's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineItem {
    /// The event's id: the cursor of the next page.
    pub id: ProjectEventId,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: ActorRef,
    /// Their name (a staff user's display name, a customer's name; empty for the system or
    /// someone gone).
    pub actor_name: String,
    /// What.
    pub kind: TimelineKind,
}

/// A project and the first page of its timeline, read on one snapshot (the project page).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectPage {
    /// The project.
    pub view: ProjectView,
    /// Its timeline, newest first.
    pub timeline: Paged<TimelineItem>,
}

/// What the project forms offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSetup {
    /// Staff who may be put on projects (active, `report_projects` or `manage_projects`),
    /// by name (empty unless the reader manages projects).
    pub workers: Vec<(UserId, String)>,
    /// The money categories, in the forms' order.
    pub categories: Vec<EntryCategory>,
    /// The organization's currency, for new projects.
    pub currency: String,
    /// Whether the reader may make projects.
    pub create: bool,
}

/// Every project id of an index whose keys are `prefix | project`, newest first, strictly
/// below `after`, while `f` answers `true`.
fn each_project_below(
    view: &impl View,
    index: tables::Def,
    prefix: &Key,
    after: Option<u64>,
    mut f: impl FnMut(ProjectId, &[u8]) -> Result<bool>,
) -> Result<()> {
    let start = prefix.as_slice().to_vec();
    let upper_key = after.map(|after| prefix.clone().u64(after));
    let end = keys::prefix_end(prefix.as_slice());
    let upper = match &upper_key {
        Some(key) => Bound::Excluded(key.as_slice()),
        None => end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
    };
    view.scan(
        index,
        (Bound::Included(start.as_slice()), upper),
        true,
        |key, value| f(ProjectId(keys::tail_u64(key)), value),
    )
}

/// A page of the projects `actor` may see (the module's rules: a manager every project, a
/// worker those they are on, a client their own), newest first, filtered by state and by
/// words of the title, address or client's name; at most `page.limit` (1-500) after
/// `page.after`. Reads the `project_rows` projection and the customers' names; examines at
/// most [`SEARCH_SCAN_LIMIT`] projects, returning a cursor when it stopped early.
///
/// # Errors
/// Not found while the module is off; permission denied for staff without
/// `manage_projects` or `report_projects`.
pub fn projects_in(
    view: &impl View,
    actor: &Actor,
    filter: &ProjectFilter,
    page: Page,
) -> Result<ProjectList> {
    let resolved = readable(view, actor)?;
    let org = actor.org;
    let limit = page.size();
    let words: Vec<String> = filter
        .search
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let (index, prefix, rows_inline) = match &resolved {
        Resolved::Customer(customer) => (
            tables::PROJECTS_BY_CLIENT,
            Key::org(org).u64(customer.0),
            false,
        ),
        Resolved::Staff(user, permissions) if !permissions.contains(Permission::ManageProjects) => {
            (
                tables::PROJECTS_BY_WORKER,
                Key::org(org).u64(user.id.0),
                false,
            )
        }
        _ => match filter.state {
            Some(state) => (
                tables::PROJECTS_BY_STATE,
                Key::org(org).u8(state.code()),
                false,
            ),
            None => (tables::PROJECT_ROWS, Key::org(org), true),
        },
    };
    let mut rows = Vec::new();
    let mut examined = 0;
    let mut last_examined = None;
    let mut more = false;
    let mut failure = None;
    each_project_below(view, index, &prefix, page.after, |id, value| {
        if rows.len() == limit || examined == SEARCH_SCAN_LIMIT {
            more = true;
            return Ok(false);
        }
        examined += 1;
        last_examined = Some(id.0);
        let row: ProjectRow = if rows_inline {
            codec::decode(value)?
        } else {
            match view.get(tables::PROJECT_ROWS, &Key::org(org).u64(id.0))? {
                Some(row) => row,
                None => {
                    failure = Some(crate::store::dangling("project_rows", &id.0.to_be_bytes()));
                    return Ok(false);
                }
            }
        };
        if filter.state.is_some_and(|state| row.state != state) {
            return Ok(true);
        }
        let client_name = stored_customer_name(view, org, row.client)?;
        if !words.is_empty() {
            let haystack = format!(
                "{} {} {}",
                row.title.to_lowercase(),
                row.address.to_lowercase(),
                client_name.as_deref().unwrap_or_default().to_lowercase()
            );
            if !words.iter().all(|word| haystack.contains(word.as_str())) {
                return Ok(true);
            }
        }
        rows.push(ProjectListRow { row, client_name });
        Ok(true)
    })?;
    if let Some(error) = failure {
        return Err(error);
    }
    let next = if !more {
        None
    } else if rows.len() == limit {
        rows.last().map(|row| row.row.id.0)
    } else {
        last_examined
    };
    Ok(ProjectList {
        rows,
        next,
        create: resolved.has(Permission::ManageProjects),
    })
}

/// A staff user's display name, or an empty text when they are gone.
fn staff_name(view: &impl View, org: OrgId, user: UserId) -> Result<String> {
    Ok(view
        .get::<User>(tables::USERS, &Key::org(org).u64(user.0))?
        .map(|user| user.display_name)
        .unwrap_or_default())
}

/// The name of whoever acted.
fn actor_name(
    view: &impl View,
    org: OrgId,
    who: ActorRef,
    cache: &mut HashMap<ActorRef, String>,
) -> Result<String> {
    if let Some(name) = cache.get(&who) {
        return Ok(name.clone());
    }
    let name = match who {
        ActorRef::Staff(user) => staff_name(view, org, user)?,
        ActorRef::Customer(customer) => {
            stored_customer_name(view, org, customer)?.unwrap_or_default()
        }
        ActorRef::System => String::new(),
    };
    cache.insert(who, name.clone());
    Ok(name)
}

/// A project as `actor` may see it, with their [`ProjectActions`] (the module's rules): a
/// client reads no estimate, no plan, no per-stage money and no workers.
///
/// # Errors
/// Not found while the module is off, for an unknown project and for one the actor may not
/// see; permission denied for staff without `manage_projects` or `report_projects`.
pub fn project_in(view: &impl View, actor: &Actor, id: ProjectId) -> Result<ProjectView> {
    let (_, project, access) = visible_project(view, actor, id)?;
    view_of(view, actor.org, project, access)
}

fn view_of(
    view: &impl View,
    org: OrgId,
    mut project: Project,
    access: Access,
) -> Result<ProjectView> {
    let books = access != Access::Client;
    let actions = actions_of(access, &project);
    let mut lines: HashMap<ProjectStageId, Vec<EstimateLine>> = HashMap::new();
    if books {
        let all: Vec<EstimateLine> =
            view.records_with_prefix(tables::ESTIMATE_LINES, &Key::org(org).u64(project.id.0))?;
        for line in all {
            lines.entry(line.stage).or_default().push(line);
        }
    }
    let mut stages = Vec::new();
    let mut plan = Vec::new();
    let mut on_stages = 0_i64;
    for mut stage in stages_of(view, org, project.id)? {
        if books {
            on_stages = on_stages.saturating_add(stage.spent.0);
            plan.push(PlanLine {
                stage: Some(stage.id),
                planned: stage.planned,
                spent: stage.spent,
            });
        } else {
            stage.planned = Money(0);
            stage.spent = Money(0);
        }
        stages.push(StageView {
            lines: lines.remove(&stage.id).unwrap_or_default(),
            stage,
        });
    }
    if books {
        plan.push(PlanLine {
            stage: None,
            planned: Money(0),
            spent: Money(project.totals.spent.0.saturating_sub(on_stages)),
        });
    }
    let mut change_requests: Vec<ChangeRequest> =
        view.records_with_prefix(tables::CHANGE_REQUESTS, &Key::org(org).u64(project.id.0))?;
    change_requests.reverse();
    let mut workers = Vec::new();
    if books {
        for worker in &project.workers {
            workers.push((*worker, staff_name(view, org, *worker)?));
        }
    } else {
        project.totals.planned = Money(0);
        project.workers.clear();
    }
    Ok(ProjectView {
        client_name: stored_customer_name(view, org, project.client)?,
        project,
        stages,
        plan,
        change_requests,
        workers,
        actions,
    })
}

/// A page of a project's timeline as `actor` may see it, newest first: reports, money
/// entries (staff only), change requests written and decided, stages added, progress set and
/// state changes; at most `limit` (1-100) items older than event `after`. The client's feed
/// in the Mini App reads this too.
///
/// # Errors
/// As [`project_in`].
pub fn project_timeline_in(
    view: &impl View,
    actor: &Actor,
    id: ProjectId,
    after: Option<u64>,
    limit: usize,
) -> Result<Paged<TimelineItem>> {
    let (_, _, access) = visible_project(view, actor, id)?;
    timeline_of(view, actor.org, id, access, after, limit)
}

fn timeline_of(
    view: &impl View,
    org: OrgId,
    id: ProjectId,
    access: Access,
    after: Option<u64>,
    limit: usize,
) -> Result<Paged<TimelineItem>> {
    let limit = limit.clamp(1, TIMELINE_PAGE_MAX);
    let stages: HashMap<ProjectStageId, String> = stages_of(view, org, id)?
        .into_iter()
        .map(|stage| (stage.id, stage.name))
        .collect();
    let stage_name = |stage: ProjectStageId| stages.get(&stage).cloned().unwrap_or_default();
    let mut events: Vec<ProjectEvent> = Vec::new();
    let mut more = false;
    each_project_below(
        view,
        tables::PROJECT_EVENTS,
        &Key::org(org).u64(id.0),
        after,
        |_, value| {
            let event: ProjectEvent = codec::decode(value)?;
            if access == Access::Client && !event.kind.client_sees() {
                return Ok(true);
            }
            if events.len() == limit {
                more = true;
                return Ok(false);
            }
            events.push(event);
            Ok(true)
        },
    )?;
    let mut names = HashMap::new();
    let mut items = Vec::with_capacity(events.len());
    let part = |table: tables::Def, part: u64| -> Result<Vec<u8>> {
        view.get_raw(table, project_part_key(org, id, part).as_slice(), |bytes| {
            Ok(bytes.to_vec())
        })?
        .ok_or_else(|| {
            Error::corrupt(format!(
                "project {id}'s timeline names record {part}, which is missing"
            ))
        })
    };
    for event in &events {
        let kind = match &event.kind {
            ProjectEventKind::Created { lead } => TimelineKind::Created { lead: *lead },
            ProjectEventKind::StageAdded { stage } => TimelineKind::StageAdded {
                stage: *stage,
                name: stage_name(*stage),
            },
            ProjectEventKind::ProgressSet { stage, from, to } => TimelineKind::Progress {
                stage: *stage,
                name: stage_name(*stage),
                from: *from,
                to: *to,
            },
            ProjectEventKind::ReportAdded { report } => {
                let report: DailyReport = codec::decode(&part(tables::PROJECT_REPORTS, report.0)?)?;
                TimelineKind::Report {
                    stage: stage_name(report.stage),
                    report,
                }
            }
            ProjectEventKind::EntryAdded { entry } => {
                let entry: ProjectEntry = codec::decode(&part(tables::PROJECT_ENTRIES, entry.0)?)?;
                TimelineKind::Entry {
                    stage: entry.stage.map(stage_name),
                    entry,
                }
            }
            ProjectEventKind::ChangeRequestCreated { request } => TimelineKind::ChangeRequest {
                request: codec::decode(&part(tables::CHANGE_REQUESTS, request.0)?)?,
                state: ChangeRequestState::Pending,
            },
            ProjectEventKind::ChangeRequestDecided { request, state } => {
                TimelineKind::ChangeRequest {
                    request: codec::decode(&part(tables::CHANGE_REQUESTS, request.0)?)?,
                    state: *state,
                }
            }
            ProjectEventKind::StateChanged { from, to } => TimelineKind::State {
                from: *from,
                to: *to,
            },
        };
        items.push(TimelineItem {
            id: event.id,
            at: event.at,
            actor: event.actor,
            actor_name: actor_name(view, org, event.actor, &mut names)?,
            kind,
        });
    }
    let next = if more {
        items.last().map(|item| item.id.0)
    } else {
        None
    };
    Ok(Paged { items, next })
}

/// A project and the first page of its timeline (at most `limit` items older than `after`),
/// on one snapshot: the project page.
///
/// # Errors
/// As [`project_in`].
pub fn project_page_in(
    view: &impl View,
    actor: &Actor,
    id: ProjectId,
    after: Option<u64>,
    limit: usize,
) -> Result<ProjectPage> {
    let (_, project, access) = visible_project(view, actor, id)?;
    let timeline = timeline_of(view, actor.org, id, access, after, limit)?;
    Ok(ProjectPage {
        view: view_of(view, actor.org, project, access)?,
        timeline,
    })
}

/// What the project forms offer `actor`.
///
/// # Errors
/// Not found while the module is off; permission denied for staff without
/// `manage_projects` or `report_projects`.
pub fn project_setup_in(view: &impl View, actor: &Actor) -> Result<ProjectSetup> {
    let resolved = readable(view, actor)?;
    let org = load_org(view, actor.org)?;
    let create = resolved.has(Permission::ManageProjects);
    let mut workers = Vec::new();
    if create {
        for user in view.records_with_prefix::<User>(tables::USERS, &Key::org(actor.org))? {
            if user.status != UserStatus::Active {
                continue;
            }
            let permissions = super::super::permissions_of(view, actor.org, &user)?;
            if permissions.contains(Permission::ReportProjects)
                || permissions.contains(Permission::ManageProjects)
            {
                workers.push((user.id, user.display_name));
            }
        }
    }
    Ok(ProjectSetup {
        workers,
        categories: EntryCategory::ALL.to_vec(),
        currency: org.settings.currency,
        create,
    })
}

/// The new project form's draft: filled from a won lead, or empty, with the client's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDraft {
    /// The project as the lead fills it (empty without a lead).
    pub project: NewProject,
    /// The client's name (a lead's customer's).
    pub client_name: ClientName,
}

/// The new project form's draft (the module's rules): from a won lead `lead`, its customer,
/// title, budget (the agreed price, else the customer's budget) and address (a text field
/// `address`, when the lead has one), with no stages; without one, empty. Needs
/// `manage_projects`, as making the project does.
///
/// # Errors
/// Not found while the module is off; permission denied; invalid input on `lead` for an
/// unknown order; conflict when it is not won or already has a project.
pub fn project_draft_in(
    view: &impl View,
    actor: &Actor,
    lead: Option<OrderId>,
) -> Result<ProjectDraft> {
    let resolved = readable(view, actor)?;
    if !resolved.has(Permission::ManageProjects) {
        return Err(Error::denied(
            Permission::ManageProjects,
            format!("{} lacks the manage_projects permission", actor.who),
        ));
    }
    let Some(lead) = lead else {
        return Ok(ProjectDraft {
            project: NewProject::default(),
            client_name: None,
        });
    };
    let org = load_org(view, actor.org)?;
    let order = check_lead(view, &org, lead)?;
    let address = match order.custom_fields.get("address") {
        Some(FieldValue::Text(text)) => text.clone(),
        _ => String::new(),
    };
    Ok(ProjectDraft {
        client_name: stored_customer_name(view, actor.org, order.customer)?,
        project: NewProject {
            client: order.customer,
            lead: Some(lead),
            title: order.title,
            address,
            budget: order.price.or(order.budget).unwrap_or_default(),
            stages: Vec::new(),
        },
    })
}

/// The most projects [`worker_projects_in`] lists (the newest the worker is on): what one
/// keyboard of the worker's bot holds comfortably.
pub const WORKER_PROJECTS_MAX: usize = 30;

/// A stage as the worker's bot offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStage {
    /// The stage.
    pub id: ProjectStageId,
    /// Its name.
    pub name: String,
    /// Its progress, 0-100 %.
    pub progress: u8,
}

/// An active project a staff user works on, with its stages, as the worker's bot offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerProject {
    /// The project.
    pub id: ProjectId,
    /// Its title.
    pub title: String,
    /// Its address.
    pub address: String,
    /// Its stages, in their order.
    pub stages: Vec<WorkerStage>,
    /// What the reader may do with it (`add_report`, `add_entry`).
    pub actions: ProjectActions,
}

/// The projects of the worker's bot: the worker's menu and its pickers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerProjects {
    /// The active projects the reader is put on (newest first, at most
    /// [`WORKER_PROJECTS_MAX`]), each with its stages and actions.
    pub projects: Vec<WorkerProject>,
}

impl WorkerProjects {
    /// The projects the reader may add a daily report to now (active, with a stage).
    pub fn reportable(&self) -> impl Iterator<Item = &WorkerProject> {
        self.projects
            .iter()
            .filter(|project| project.actions.add_report)
    }

    /// The projects the reader may add an expense or income entry to now.
    pub fn bookable(&self) -> impl Iterator<Item = &WorkerProject> {
        self.projects
            .iter()
            .filter(|project| project.actions.add_entry)
    }
}

/// The active projects a staff user is put on as a worker (`projects_by_worker`), newest
/// first, at most [`WORKER_PROJECTS_MAX`], with their stages and what the user may do with
/// each ([`ProjectActions`]): what the worker's bot offers under Report and Expense. A
/// manager lists the projects they are put on too (and may do more with them). Reads the
/// worker index, each project and its stages.
///
/// # Errors
/// Not found while the module is off; permission denied for staff without
/// `manage_projects` or `report_projects`, and for customers and the system (who work on
/// no project).
pub fn worker_projects_in(view: &impl View, actor: &Actor) -> Result<WorkerProjects> {
    let resolved = readable(view, actor)?;
    let Resolved::Staff(user, _) = &resolved else {
        return Err(Error::forbidden("only staff users work on projects"));
    };
    let org = actor.org;
    let mut ids = Vec::new();
    each_project_below(
        view,
        tables::PROJECTS_BY_WORKER,
        &Key::org(org).u64(user.id.0),
        None,
        |id, _| {
            ids.push(id);
            Ok(true)
        },
    )?;
    let mut projects = Vec::new();
    for id in ids {
        if projects.len() == WORKER_PROJECTS_MAX {
            break;
        }
        let project = super::load_project(view, org, id)?;
        if project.state != ProjectState::Active {
            continue;
        }
        let Some(access) = super::access_of(&resolved, &project) else {
            continue;
        };
        let stages = stages_of(view, org, id)?
            .into_iter()
            .map(|stage| WorkerStage {
                id: stage.id,
                name: stage.name,
                progress: stage.progress,
            })
            .collect();
        projects.push(WorkerProject {
            id,
            title: project.title.clone(),
            address: project.address.clone(),
            stages,
            actions: actions_of(access, &project),
        });
    }
    Ok(WorkerProjects { projects })
}

impl Crm {
    /// See [`worker_projects_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`worker_projects_in`].
    pub fn worker_projects(&self, actor: &Actor) -> Result<WorkerProjects> {
        self.read(|view| worker_projects_in(view, actor))
    }

    /// See [`projects_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`projects_in`].
    pub fn projects(
        &self,
        actor: &Actor,
        filter: &ProjectFilter,
        page: Page,
    ) -> Result<ProjectList> {
        self.read(|view| projects_in(view, actor, filter, page))
    }

    /// See [`project_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`project_in`].
    pub fn project(&self, actor: &Actor, id: ProjectId) -> Result<ProjectView> {
        self.read(|view| project_in(view, actor, id))
    }

    /// See [`project_timeline_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`project_timeline_in`].
    pub fn project_timeline(
        &self,
        actor: &Actor,
        id: ProjectId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Paged<TimelineItem>> {
        self.read(|view| project_timeline_in(view, actor, id, after, limit))
    }

    /// See [`project_page_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`project_page_in`].
    pub fn project_page(
        &self,
        actor: &Actor,
        id: ProjectId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<ProjectPage> {
        self.read(|view| project_page_in(view, actor, id, after, limit))
    }

    /// See [`project_setup_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`project_setup_in`].
    pub fn project_setup(&self, actor: &Actor) -> Result<ProjectSetup> {
        self.read(|view| project_setup_in(view, actor))
    }

    /// See [`project_draft_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`project_draft_in`].
    pub fn project_draft(&self, actor: &Actor, lead: Option<OrderId>) -> Result<ProjectDraft> {
        self.read(|view| project_draft_in(view, actor, lead))
    }
}
