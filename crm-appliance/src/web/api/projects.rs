//! `/api/v1/projects` (issue 14, the projects module): the list (a state filter, a search, a
//! keyset pager), making a project (by hand or from a won lead), one project with its stages,
//! plan against fact, change requests, workers and the actions its reader may take, its
//! timeline paged by a cursor, and the use cases: details, workers, stages and progress,
//! daily reports and money entries (multipart, with their files), estimate lines, change
//! requests and their decision or withdrawal, the state, the documents (list, attach as
//! multipart, remove). Money is a decimal string
//! (`"1500.00"`; a change request's may start with `-`). crm-lib decides everything
//! ([`crm_lib::projects`]): the module off or a project the token's user may not see answers
//! 404, staff without `manage_projects` (or `report_projects` for the reports and entries of
//! their projects) 403, bad input 422 naming the field, a state that forbids it 409.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use crm_lib::Page;
use crm_lib::model::{
    ActorRef, ChangeRequest, ChangeRequestId, CustomerId, DailyReport, Date, EstimateLine, Money,
    OrderId, Project, ProjectDocument, ProjectDocumentId, ProjectEntry, ProjectId, ProjectStage,
    ProjectStageId, ProjectState, UserId,
};
use crm_lib::projects::{
    Decision, NewChangeRequest, NewEstimateLine, NewProject, NewStage, ProjectActions, ProjectEdit,
    ProjectFilter, ProjectView, TimelineItem, TimelineKind,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::AppState;
use crate::web::pages::projects::form::Posted;

/// Who acted, as `staff:3`, `customer:7` or `system`.
fn actor_text(actor: ActorRef) -> String {
    match actor {
        ActorRef::Staff(user) => format!("staff:{user}"),
        ActorRef::Customer(customer) => format!("customer:{customer}"),
        ActorRef::System => "system".to_string(),
    }
}

/// An optional amount typed as text; empty or absent is zero.
fn amount(field: &'static str, text: Option<&str>) -> crm_lib::Result<Money> {
    match text.map(str::trim) {
        None | Some("") => Ok(Money::from_minor(0)),
        Some(text) => Money::parse(field, text),
    }
}

/// A project's counters.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectTotalsJson {
    /// The budget now: the agreed budget plus the approved change requests.
    pub budget_total: String,
    /// The sum of the approved change requests (may be negative).
    pub approved_changes: String,
    /// The sum of the expense entries.
    pub spent: String,
    /// The sum of the income entries.
    pub income: String,
    /// Total minus spent (negative when over budget).
    pub remaining: String,
    /// The sum of the estimate lines (`"0.00"` for a client).
    pub planned: String,
    /// The stages' weighted progress, 0-100.
    pub progress: u8,
    /// How many stages, daily reports, money entries, estimate lines.
    pub stages: u32,
    /// Daily reports.
    pub reports: u32,
    /// Money entries.
    pub entries: u32,
    /// Estimate lines.
    pub estimate_lines: u32,
    /// Change requests waiting for the client.
    pub pending_changes: u32,
}

fn totals_of(project: &Project) -> ProjectTotalsJson {
    let totals = &project.totals;
    ProjectTotalsJson {
        budget_total: project.budget_total().to_string(),
        approved_changes: totals.approved_changes.to_string(),
        spent: totals.spent.to_string(),
        income: totals.income.to_string(),
        remaining: project.remaining().to_string(),
        planned: totals.planned.to_string(),
        progress: totals.progress,
        stages: totals.stages,
        reports: totals.reports,
        entries: totals.entries,
        estimate_lines: totals.estimate_lines,
        pending_changes: totals.pending_changes,
    }
}

/// A row of the project list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectRowJson {
    /// Id.
    pub id: u64,
    /// The client's customer id.
    pub client: u64,
    /// The client's name; `null` when the customer is gone.
    pub client_name: Option<String>,
    /// The project's name.
    pub title: String,
    /// Where.
    pub address: String,
    /// `active`, `completed` or `archived`.
    pub state: String,
    /// ISO 4217.
    pub currency: String,
    /// The counters.
    pub totals: ProjectTotalsJson,
    /// Made, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
}

/// A page of the project list, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectPageJson {
    /// The projects.
    pub items: Vec<ProjectRowJson>,
    /// The `after` of the next page, when there may be more.
    pub next: Option<u64>,
}

/// A stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageJson {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Its place, from 0.
    pub position: u32,
    /// 0-100.
    pub progress: u8,
    /// `YYYY-MM-DD`.
    pub planned_start: Option<String>,
    /// `YYYY-MM-DD`.
    pub planned_end: Option<String>,
    /// The sum of its estimate lines (`"0.00"` for a client).
    pub planned: String,
    /// The expenses booked on it (`"0.00"` for a client).
    pub spent: String,
}

impl From<&ProjectStage> for StageJson {
    fn from(stage: &ProjectStage) -> Self {
        StageJson {
            id: stage.id.get(),
            name: stage.name.clone(),
            position: stage.position,
            progress: stage.progress,
            planned_start: stage.planned_start.map(|date| date.to_string()),
            planned_end: stage.planned_end.map(|date| date.to_string()),
            planned: stage.planned.to_string(),
            spent: stage.spent.to_string(),
        }
    }
}

/// An estimate line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EstimateLineJson {
    /// Id.
    pub id: u64,
    /// Its stage.
    pub stage: u64,
    /// What.
    pub title: String,
    /// Planned amount.
    pub planned: String,
}

impl From<&EstimateLine> for EstimateLineJson {
    fn from(line: &EstimateLine) -> Self {
        EstimateLineJson {
            id: line.id.get(),
            stage: line.stage.get(),
            title: line.title.clone(),
            planned: line.planned.to_string(),
        }
    }
}

/// A change request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeRequestJson {
    /// Id.
    pub id: u64,
    /// What changes.
    pub title: String,
    /// What it adds to the budget (negative: takes off).
    pub amount: String,
    /// Details.
    pub description: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub state: String,
    /// Who wrote it (`staff:3`).
    pub created_by: String,
    /// Written, RFC 3339.
    pub created_at: String,
    /// Who decided or withdrew it (`customer:7`, or `staff:3` on the client's behalf).
    pub decided_by: Option<String>,
    /// When, RFC 3339.
    pub decided_at: Option<String>,
}

impl From<&ChangeRequest> for ChangeRequestJson {
    fn from(request: &ChangeRequest) -> Self {
        ChangeRequestJson {
            id: request.id.get(),
            title: request.title.clone(),
            amount: request.amount.to_string(),
            description: request.description.clone(),
            state: request.state.as_str().to_string(),
            created_by: actor_text(request.created_by),
            created_at: request.created_at.to_rfc3339(),
            decided_by: request.decided_by.map(actor_text),
            decided_at: request.decided_at.map(|at| at.to_rfc3339()),
        }
    }
}

/// What the token's user may do with a project now (crm-lib's rules).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectActionsJson {
    /// `PATCH` it.
    pub edit: bool,
    /// `PUT .../workers`.
    pub assign_workers: bool,
    /// `POST .../stages`.
    pub add_stage: bool,
    /// `POST .../stages/{stage}/progress`.
    pub set_progress: bool,
    /// `POST .../reports`.
    pub add_report: bool,
    /// `POST .../entries`.
    pub add_entry: bool,
    /// `POST .../estimate-lines`.
    pub add_estimate_line: bool,
    /// `POST .../change-requests`.
    pub create_change_request: bool,
    /// `POST .../change-requests/{request}/decide` (on the client's behalf).
    pub decide_change_request: bool,
    /// `POST .../change-requests/{request}/withdraw`.
    pub withdraw_change_request: bool,
    /// `POST .../state` with `completed`.
    pub complete: bool,
    /// `POST .../state` with `active`.
    pub reopen: bool,
    /// `POST .../state` with `archived`.
    pub archive: bool,
    /// The estimate and the money entries are shown.
    pub see_books: bool,
}

impl From<ProjectActions> for ProjectActionsJson {
    fn from(actions: ProjectActions) -> Self {
        ProjectActionsJson {
            edit: actions.edit,
            assign_workers: actions.assign_workers,
            add_stage: actions.add_stage,
            set_progress: actions.set_progress,
            add_report: actions.add_report,
            add_entry: actions.add_entry,
            add_estimate_line: actions.add_estimate_line,
            create_change_request: actions.create_change_request,
            decide_change_request: actions.decide_change_request,
            withdraw_change_request: actions.withdraw_change_request,
            complete: actions.complete,
            reopen: actions.reopen,
            archive: actions.archive,
            see_books: actions.see_books,
        }
    }
}

/// A worker on a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkerJson {
    /// The user's id.
    pub id: u64,
    /// Their display name.
    pub name: String,
}

/// Planned against spent for one stage (`stage` `null`: the expenses on no stage).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanLineJson {
    /// The stage.
    pub stage: Option<u64>,
    /// Planned.
    pub planned: String,
    /// Spent.
    pub spent: String,
}

/// A project as the token's user may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectJson {
    /// Id.
    pub id: u64,
    /// The client's customer id.
    pub client: u64,
    /// The client's name.
    pub client_name: Option<String>,
    /// The won lead (order) it was made from.
    pub lead: Option<u64>,
    /// The project's name.
    pub title: String,
    /// Where.
    pub address: String,
    /// The agreed budget.
    pub budget_base: String,
    /// ISO 4217.
    pub currency: String,
    /// `active`, `completed` or `archived`.
    pub state: String,
    /// The counters.
    pub totals: ProjectTotalsJson,
    /// The stages in order.
    pub stages: Vec<StageJson>,
    /// The estimate lines.
    pub estimate_lines: Vec<EstimateLineJson>,
    /// Planned against spent per stage.
    pub plan: Vec<PlanLineJson>,
    /// The change requests, newest first.
    pub change_requests: Vec<ChangeRequestJson>,
    /// The workers.
    pub workers: Vec<WorkerJson>,
    /// What may be done now.
    pub actions: ProjectActionsJson,
    /// Made, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
}

impl From<&ProjectView> for ProjectJson {
    fn from(view: &ProjectView) -> Self {
        let project = &view.project;
        ProjectJson {
            id: project.id.get(),
            client: project.client.get(),
            client_name: view.client_name.clone(),
            lead: project.lead.map(OrderId::get),
            title: project.title.clone(),
            address: project.address.clone(),
            budget_base: project.budget_base.to_string(),
            currency: project.currency.clone(),
            state: project.state.as_str().to_string(),
            totals: totals_of(project),
            stages: view
                .stages
                .iter()
                .map(|stage| StageJson::from(&stage.stage))
                .collect(),
            estimate_lines: view
                .stages
                .iter()
                .flat_map(|stage| stage.lines.iter().map(EstimateLineJson::from))
                .collect(),
            plan: view
                .plan
                .iter()
                .map(|line| PlanLineJson {
                    stage: line.stage.map(ProjectStageId::get),
                    planned: line.planned.to_string(),
                    spent: line.spent.to_string(),
                })
                .collect(),
            change_requests: view
                .change_requests
                .iter()
                .map(ChangeRequestJson::from)
                .collect(),
            workers: view
                .workers
                .iter()
                .map(|(id, name)| WorkerJson {
                    id: id.get(),
                    name: name.clone(),
                })
                .collect(),
            actions: ProjectActionsJson::from(view.actions),
            created_at: project.created_at.to_rfc3339(),
            updated_at: project.updated_at.to_rfc3339(),
        }
    }
}

/// A daily report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportJson {
    /// Id.
    pub id: u64,
    /// Its stage.
    pub stage: u64,
    /// Who wrote it (`staff:3`).
    pub author: String,
    /// Its text.
    pub text: String,
    /// Its photos and videos: hashes readable at `/media/{hash}` by the project's readers.
    pub media: Vec<String>,
    /// The voice note's hash.
    pub voice: Option<String>,
    /// Written, RFC 3339.
    pub created_at: String,
}

impl From<&DailyReport> for ReportJson {
    fn from(report: &DailyReport) -> Self {
        ReportJson {
            id: report.id.get(),
            stage: report.stage.get(),
            author: actor_text(report.author),
            text: report.text.clone(),
            media: report.media.iter().map(|hash| hash.to_hex()).collect(),
            voice: report.voice.map(|hash| hash.to_hex()),
            created_at: report.created_at.to_rfc3339(),
        }
    }
}

/// A money entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EntryJson {
    /// Id.
    pub id: u64,
    /// `expense` or `income`.
    pub kind: String,
    /// How much.
    pub amount: String,
    /// `materials`, `labor`, `subcontract`, `equipment`, `delivery`, `fees`,
    /// `client_payment` or `other`.
    pub category: String,
    /// Words beside the category.
    pub note: String,
    /// The stage it is booked on.
    pub stage: Option<u64>,
    /// The proof's hash.
    pub proof: Option<String>,
    /// Who entered it.
    pub author: String,
    /// The day the money moved, `YYYY-MM-DD`.
    pub date: String,
    /// Entered, RFC 3339.
    pub created_at: String,
}

impl From<&ProjectEntry> for EntryJson {
    fn from(entry: &ProjectEntry) -> Self {
        EntryJson {
            id: entry.id.get(),
            kind: entry.kind.as_str().to_string(),
            amount: entry.amount.to_string(),
            category: entry.category.as_str().to_string(),
            note: entry.note.clone(),
            stage: entry.stage.map(ProjectStageId::get),
            proof: entry.proof.map(|hash| hash.to_hex()),
            author: actor_text(entry.author),
            date: entry.date.to_string(),
            created_at: entry.created_at.to_rfc3339(),
        }
    }
}

/// One item of a project's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineItemJson {
    /// The event's id (the cursor of the next page).
    pub id: u64,
    /// When, RFC 3339.
    pub at: String,
    /// Who (`staff:3`, `customer:7`, `system`).
    pub actor: String,
    /// Their name.
    pub actor_name: String,
    /// `created`, `stage_added`, `progress`, `report`, `entry`, `change_request` or
    /// `state`.
    pub kind: String,
    /// The stage, for stage, progress and report items (and entries booked on one).
    pub stage: Option<u64>,
    /// The progress before and after, for progress items.
    pub from: Option<u8>,
    /// After.
    pub to: Option<u8>,
    /// The report, for report items.
    pub report: Option<ReportJson>,
    /// The entry, for entry items (staff only).
    pub entry: Option<EntryJson>,
    /// The request, for change request items.
    pub change_request: Option<ChangeRequestJson>,
    /// What happened to the request then (`pending` when it was written), or the project's
    /// new state for state items.
    pub state: Option<String>,
}

impl From<&TimelineItem> for TimelineItemJson {
    fn from(item: &TimelineItem) -> Self {
        let mut json = TimelineItemJson {
            id: item.id.get(),
            at: item.at.to_rfc3339(),
            actor: actor_text(item.actor),
            actor_name: item.actor_name.clone(),
            kind: String::new(),
            stage: None,
            from: None,
            to: None,
            report: None,
            entry: None,
            change_request: None,
            state: None,
        };
        let kind = match &item.kind {
            TimelineKind::Created { .. } => "created",
            TimelineKind::StageAdded { stage, .. } => {
                json.stage = Some(stage.get());
                "stage_added"
            }
            TimelineKind::Progress {
                stage, from, to, ..
            } => {
                json.stage = Some(stage.get());
                json.from = Some(*from);
                json.to = Some(*to);
                "progress"
            }
            TimelineKind::Report { report, .. } => {
                json.stage = Some(report.stage.get());
                json.report = Some(ReportJson::from(report));
                "report"
            }
            TimelineKind::Entry { entry, .. } => {
                json.stage = entry.stage.map(ProjectStageId::get);
                json.entry = Some(EntryJson::from(entry));
                "entry"
            }
            TimelineKind::ChangeRequest { request, state } => {
                json.change_request = Some(ChangeRequestJson::from(request));
                json.state = Some(state.as_str().to_string());
                "change_request"
            }
            TimelineKind::State { to, .. } => {
                json.state = Some(to.as_str().to_string());
                "state"
            }
        };
        json.kind = kind.to_string();
        json
    }
}

/// A page of a timeline, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelinePageJson {
    /// The items.
    pub items: Vec<TimelineItemJson>,
    /// The `after` of the next (older) page, when there may be more.
    pub next: Option<u64>,
}

/// `?state=&q=&after=&limit=` of the list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// `active`, `completed` or `archived`; every state when absent.
    pub state: Option<String>,
    /// Words of the title, address or client's name.
    pub q: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<u64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
}

/// `?after=&limit=` of a timeline.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// The `next` of the previous page.
    pub after: Option<u64>,
    /// Page size, 1-100 (default 30).
    pub limit: Option<usize>,
}

/// A project to make.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateProject {
    /// The client's customer id (the lead's customer, when `lead` is given).
    pub client: u64,
    /// A won lead (an order in a won stage) to make it from; a lead makes one project.
    #[serde(default)]
    pub lead: Option<u64>,
    /// 1-200 characters.
    pub title: String,
    /// At most 500 characters.
    #[serde(default)]
    pub address: String,
    /// The agreed budget (`"1500.00"`), zero when absent.
    #[serde(default)]
    pub budget: Option<String>,
    /// Stage names in order, at most 50.
    #[serde(default)]
    pub stages: Vec<String>,
}

/// What changes in a project: the fields given.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ProjectPatch {
    /// A new name.
    pub title: Option<String>,
    /// A new address.
    pub address: Option<String>,
    /// A new agreed budget.
    pub budget: Option<String>,
}

/// The workers, replacing those before.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct WorkersBody {
    /// User ids: active staff with `report_projects` or `manage_projects`, at most 50.
    pub workers: Vec<u64>,
}

/// A stage to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StageBody {
    /// 1-100 characters.
    pub name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub planned_start: Option<String>,
    /// `YYYY-MM-DD`, not before the start.
    #[serde(default)]
    pub planned_end: Option<String>,
}

/// A stage's progress.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ProgressBody {
    /// 0-100.
    pub progress: u8,
}

/// A daily report, as `multipart/form-data`.
#[derive(Debug, Clone, ToSchema)]
#[allow(dead_code)]
pub struct ReportForm {
    /// The stage's id.
    pub stage: u64,
    /// What was done, at most 4,000 characters (may be empty with files).
    pub text: Option<String>,
    /// Photos and videos (`image/*`, `video/*`), at most 30; repeat the part.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    pub media: Option<Vec<Vec<u8>>>,
    /// A voice note (`audio/*`).
    #[schema(value_type = Option<String>, format = Binary)]
    pub voice: Option<Vec<u8>>,
}

/// A money entry, as `multipart/form-data`.
#[derive(Debug, Clone, ToSchema)]
#[allow(dead_code)]
pub struct EntryForm {
    /// `expense` or `income`.
    pub kind: String,
    /// Above zero (`"1500.00"`).
    pub amount: String,
    /// `materials`, `labor`, `subcontract`, `equipment`, `delivery`, `fees`,
    /// `client_payment` or `other`.
    pub category: String,
    /// At most 500 characters.
    pub note: Option<String>,
    /// The stage's id.
    pub stage: Option<u64>,
    /// `YYYY-MM-DD`, not after today (today when absent).
    pub date: Option<String>,
    /// A photo of the receipt (`image/*`) or a PDF.
    #[schema(value_type = Option<String>, format = Binary)]
    pub proof: Option<Vec<u8>>,
}

/// An estimate line to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EstimateLineBody {
    /// The stage's id.
    pub stage: u64,
    /// 1-200 characters.
    pub title: String,
    /// Zero or more (`"1500.00"`).
    pub planned: String,
}

/// A change request to write.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChangeRequestBody {
    /// 1-200 characters.
    pub title: String,
    /// Not zero; `"-500.00"` takes off the budget.
    pub amount: String,
    /// At most 4,000 characters.
    #[serde(default)]
    pub description: String,
}

/// A decision on a change request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DecisionBody {
    /// `approve` or `reject`.
    pub decision: String,
}

/// A project's new state.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StateBody {
    /// `completed` (from active), `active` (reopen) or `archived` (from completed).
    pub state: String,
}

/// The projects the token's user may see, newest first.
#[utoipa::path(
    get, operation_id = "listProjects", path = "/api/v1/projects", tag = "projects",
    params(ProjectQuery),
    responses(
        (status = 200, description = "A page of projects", body = ProjectPageJson),
        (status = 403, description = "Missing manage_projects and report_projects", body = ErrorResponse),
        (status = 404, description = "The projects module is off", body = ErrorResponse),
        (status = 422, description = "An unknown state", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<ProjectQuery>,
) -> Result<ApiJson<ProjectPageJson>, ApiError> {
    let list = state
        .blocking(move |crm| {
            let filter = ProjectFilter {
                state: query
                    .state
                    .as_deref()
                    .map(|text| ProjectState::parse("state", text))
                    .transpose()?,
                search: query.q.unwrap_or_default(),
            };
            let page = Page {
                after: query.after,
                limit: query.limit.unwrap_or(50),
            };
            crm.projects(&user.actor, &filter, page)
        })
        .await?;
    Ok(ApiJson(ProjectPageJson {
        items: list
            .rows
            .into_iter()
            .map(|row| {
                let project = row.row;
                ProjectRowJson {
                    id: project.id.get(),
                    client: project.client.get(),
                    client_name: row.client_name,
                    title: project.title,
                    address: project.address,
                    state: project.state.as_str().to_string(),
                    totals: ProjectTotalsJson {
                        budget_total: project.budget_total.to_string(),
                        approved_changes: project.totals.approved_changes.to_string(),
                        spent: project.totals.spent.to_string(),
                        income: project.totals.income.to_string(),
                        remaining: Money::from_minor(
                            project.budget_total.minor() - project.totals.spent.minor(),
                        )
                        .to_string(),
                        planned: project.totals.planned.to_string(),
                        progress: project.totals.progress,
                        stages: project.totals.stages,
                        reports: project.totals.reports,
                        entries: project.totals.entries,
                        estimate_lines: project.totals.estimate_lines,
                        pending_changes: project.totals.pending_changes,
                    },
                    currency: project.currency,
                    created_at: project.created_at.to_rfc3339(),
                    updated_at: project.updated_at.to_rfc3339(),
                }
            })
            .collect(),
        next: list.next,
    }))
}

/// The project as the token's user sees it, after a change.
fn project_json(crm: &crm_lib::Crm, user: &ApiUser, id: ProjectId) -> crm_lib::Result<ProjectJson> {
    Ok(ProjectJson::from(&crm.project(&user.actor, id)?))
}

/// Make a project, by hand or from a won lead (needs `manage_projects`).
#[utoipa::path(
    post, operation_id = "createProject", path = "/api/v1/projects", tag = "projects", request_body = CreateProject,
    responses(
        (status = 201, description = "Made", body = ProjectJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "The projects module is off", body = ErrorResponse),
        (status = 409, description = "The lead is not won or already has a project", body = ErrorResponse),
        (status = 422, description = "A bad client, lead, title, address, budget or stages", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<CreateProject>,
) -> Result<(StatusCode, ApiJson<ProjectJson>), ApiError> {
    let project = state
        .blocking(move |crm| {
            let new = NewProject {
                client: CustomerId::new(body.client),
                lead: body.lead.map(OrderId::new),
                title: body.title,
                address: body.address,
                budget: amount("budget", body.budget.as_deref())?,
                stages: body.stages,
            };
            let project = crm.create_project(&user.actor, new)?;
            project_json(crm, &user, project.id)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(project)))
}

/// One project with its stages, plan, change requests, workers and actions.
#[utoipa::path(
    get, operation_id = "getProject", path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project", body = ProjectJson),
        (status = 403, description = "Missing manage_projects and report_projects", body = ErrorResponse),
        (status = 404, description = "No such project, or not one of the token user's", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<ProjectJson>, ApiError> {
    let project = state
        .blocking(move |crm| project_json(crm, &user, ProjectId::new(id)))
        .await?;
    Ok(ApiJson(project))
}

/// Change a project's name, address or agreed budget: the fields given (needs
/// `manage_projects`).
#[utoipa::path(
    patch, operation_id = "updateProject", path = "/api/v1/projects/{id}", tag = "projects", request_body = ProjectPatch,
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project now", body = ProjectJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active", body = ErrorResponse),
        (status = 422, description = "A bad title, address or budget", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> Result<ApiJson<ProjectJson>, ApiError> {
    let id = ProjectId::new(id);
    let project = state
        .blocking(move |crm| {
            let budget = patch
                .budget
                .as_deref()
                .map(|text| Money::parse("budget", text))
                .transpose()?;
            let actor = user.actor.clone();
            // Read and change in one transaction, so a change made meanwhile is not undone.
            crm.write(move |tx| {
                let current = crm_lib::projects::project_in(&*tx, &actor, id)?.project;
                let edit = ProjectEdit {
                    title: patch.title.unwrap_or(current.title),
                    address: patch.address.unwrap_or(current.address),
                    budget: budget.unwrap_or(current.budget_base),
                };
                tx.update_project(&actor, id, edit)
            })?;
            project_json(crm, &user, id)
        })
        .await?;
    Ok(ApiJson(project))
}

/// Put workers on a project, replacing those before (needs `manage_projects`).
#[utoipa::path(
    put, operation_id = "setProjectWorkers", path = "/api/v1/projects/{id}/workers", tag = "projects", request_body = WorkersBody,
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project now", body = ProjectJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active", body = ErrorResponse),
        (status = 422, description = "A user who may not report on projects", body = ErrorResponse),
    )
)]
pub async fn workers(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<WorkersBody>,
) -> Result<ApiJson<ProjectJson>, ApiError> {
    let id = ProjectId::new(id);
    let project = state
        .blocking(move |crm| {
            let workers = body.workers.into_iter().map(UserId::new).collect();
            crm.set_project_workers(&user.actor, id, workers)?;
            project_json(crm, &user, id)
        })
        .await?;
    Ok(ApiJson(project))
}

/// Add a stage at the end, at 0 percent (needs `manage_projects`).
#[utoipa::path(
    post, operation_id = "addProjectStage", path = "/api/v1/projects/{id}/stages", tag = "projects", request_body = StageBody,
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 201, description = "Added", body = StageJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active, or has 50 stages", body = ErrorResponse),
        (status = 422, description = "A bad name or dates", body = ErrorResponse),
    )
)]
pub async fn add_stage(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<StageBody>,
) -> Result<(StatusCode, ApiJson<StageJson>), ApiError> {
    let stage = state
        .blocking(move |crm| {
            let new = NewStage {
                name: body.name,
                planned_start: Date::parse_optional(
                    "planned_start",
                    body.planned_start.as_deref(),
                )?,
                planned_end: Date::parse_optional("planned_end", body.planned_end.as_deref())?,
            };
            crm.add_project_stage(&user.actor, ProjectId::new(id), new)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(StageJson::from(&stage))))
}

/// Set a stage's progress (needs `manage_projects`).
#[utoipa::path(
    post, operation_id = "setStageProgress", path = "/api/v1/projects/{id}/stages/{stage}/progress", tag = "projects", request_body = ProgressBody,
    params(("id" = u64, Path, description = "Project id"), ("stage" = u64, Path, description = "Stage id")),
    responses(
        (status = 200, description = "The stage now", body = StageJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active", body = ErrorResponse),
        (status = 422, description = "Above 100, or not a stage of the project", body = ErrorResponse),
    )
)]
pub async fn progress(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, stage)): ApiPath<(u64, u64)>,
    ApiJson(body): ApiJson<ProgressBody>,
) -> Result<ApiJson<StageJson>, ApiError> {
    let stage = state
        .blocking(move |crm| {
            crm.set_stage_progress(
                &user.actor,
                ProjectId::new(id),
                ProjectStageId::new(stage),
                body.progress,
            )
        })
        .await?;
    Ok(ApiJson(StageJson::from(&stage)))
}

/// A project's timeline, newest first: reports, money entries (staff), change requests,
/// stages, progress, state.
#[utoipa::path(
    get, operation_id = "getProjectTimeline", path = "/api/v1/projects/{id}/timeline", tag = "projects",
    params(("id" = u64, Path, description = "Project id"), TimelineQuery),
    responses(
        (status = 200, description = "A page of the timeline", body = TimelinePageJson),
        (status = 403, description = "Missing manage_projects and report_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
    )
)]
pub async fn timeline(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<ApiJson<TimelinePageJson>, ApiError> {
    let page = state
        .blocking(move |crm| {
            crm.project_timeline(
                &user.actor,
                ProjectId::new(id),
                query.after,
                query.limit.unwrap_or(30),
            )
        })
        .await?;
    Ok(ApiJson(TimelinePageJson {
        items: page.items.iter().map(TimelineItemJson::from).collect(),
        next: page.next,
    }))
}

/// A multipart body as the form's pairs and files; one that does not read is a 400 (413
/// over the size limit).
async fn read_multipart(multipart: Multipart) -> Result<Posted, ApiError> {
    Posted::read(multipart)
        .await
        .map_err(|error| ApiError::with_status(error.status(), error.body_text()))
}

/// Add a daily report with its photos, videos and voice note (`multipart/form-data`): a
/// manager, or a worker put on the project. The client is told in Telegram.
#[utoipa::path(
    post, operation_id = "addDailyReport", path = "/api/v1/projects/{id}/reports", tag = "projects",
    request_body(content = ReportForm, content_type = "multipart/form-data"),
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 201, description = "Added", body = ReportJson),
        (status = 403, description = "Neither a manager nor a worker of the project", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active, or has no stage", body = ErrorResponse),
        (status = 422, description = "A bad stage, text or file", body = ErrorResponse),
    )
)]
pub async fn add_report(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    multipart: Multipart,
) -> Result<(StatusCode, ApiJson<ReportJson>), ApiError> {
    let form = read_multipart(multipart).await?;
    let report = state
        .blocking(move |crm| crm.add_daily_report(&user.actor, ProjectId::new(id), form.report()?))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(ReportJson::from(&report))))
}

/// Add an expense or income entry with its proof (`multipart/form-data`): a manager, or a
/// worker put on the project.
#[utoipa::path(
    post, operation_id = "addProjectEntry", path = "/api/v1/projects/{id}/entries", tag = "projects",
    request_body(content = EntryForm, content_type = "multipart/form-data"),
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 201, description = "Added", body = EntryJson),
        (status = 403, description = "Neither a manager nor a worker of the project", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active", body = ErrorResponse),
        (status = 422, description = "A bad kind, amount, category, note, stage, date or proof", body = ErrorResponse),
    )
)]
pub async fn add_entry(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    multipart: Multipart,
) -> Result<(StatusCode, ApiJson<EntryJson>), ApiError> {
    let form = read_multipart(multipart).await?;
    let entry = state
        .blocking(move |crm| crm.add_project_entry(&user.actor, ProjectId::new(id), form.entry()?))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(EntryJson::from(&entry))))
}

/// Add an estimate line (the plan) for a stage (needs `manage_projects`).
#[utoipa::path(
    post, operation_id = "addEstimateLine", path = "/api/v1/projects/{id}/estimate-lines", tag = "projects", request_body = EstimateLineBody,
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 201, description = "Added", body = EstimateLineJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active, or has 500 lines", body = ErrorResponse),
        (status = 422, description = "A bad stage, title or amount", body = ErrorResponse),
    )
)]
pub async fn add_estimate_line(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<EstimateLineBody>,
) -> Result<(StatusCode, ApiJson<EstimateLineJson>), ApiError> {
    let line = state
        .blocking(move |crm| {
            let new = NewEstimateLine {
                stage: ProjectStageId::new(body.stage),
                title: body.title,
                planned: Money::parse("planned", &body.planned)?,
            };
            crm.add_estimate_line(&user.actor, ProjectId::new(id), new)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(EstimateLineJson::from(&line))))
}

/// Write a change request for the client to decide; the client is told in Telegram (needs
/// `manage_projects`).
#[utoipa::path(
    post, operation_id = "createChangeRequest", path = "/api/v1/projects/{id}/change-requests", tag = "projects", request_body = ChangeRequestBody,
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 201, description = "Written", body = ChangeRequestJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It is not active", body = ErrorResponse),
        (status = 422, description = "A bad title, amount or description", body = ErrorResponse),
    )
)]
pub async fn create_change_request(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<ChangeRequestBody>,
) -> Result<(StatusCode, ApiJson<ChangeRequestJson>), ApiError> {
    let request = state
        .blocking(move |crm| {
            let new = NewChangeRequest {
                title: body.title,
                amount: Money::parse_signed("amount", &body.amount)?,
                description: body.description,
            };
            crm.create_change_request(&user.actor, ProjectId::new(id), new)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(ChangeRequestJson::from(&request)),
    ))
}

/// Approve or reject a pending change request on the client's behalf, once (needs
/// `manage_projects`).
#[utoipa::path(
    post, operation_id = "decideChangeRequest", path = "/api/v1/projects/{id}/change-requests/{request}/decide", tag = "projects", request_body = DecisionBody,
    params(("id" = u64, Path, description = "Project id"), ("request" = u64, Path, description = "Change request id")),
    responses(
        (status = 200, description = "Decided", body = ChangeRequestJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project or request", body = ErrorResponse),
        (status = 409, description = "Decided already, the project is not active, or the budget would fall below zero", body = ErrorResponse),
        (status = 422, description = "A decision other than approve or reject", body = ErrorResponse),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, request)): ApiPath<(u64, u64)>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<ApiJson<ChangeRequestJson>, ApiError> {
    let request = state
        .blocking(move |crm| {
            crm.decide_change_request(
                &user.actor,
                ProjectId::new(id),
                ChangeRequestId::new(request),
                Decision::parse("decision", &body.decision)?,
            )
        })
        .await?;
    Ok(ApiJson(ChangeRequestJson::from(&request)))
}

/// Withdraw a pending change request (needs `manage_projects`).
#[utoipa::path(
    post, operation_id = "withdrawChangeRequest", path = "/api/v1/projects/{id}/change-requests/{request}/withdraw", tag = "projects",
    params(("id" = u64, Path, description = "Project id"), ("request" = u64, Path, description = "Change request id")),
    responses(
        (status = 200, description = "Withdrawn", body = ChangeRequestJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project or request", body = ErrorResponse),
        (status = 409, description = "Decided already, or the project is not active", body = ErrorResponse),
    )
)]
pub async fn withdraw(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, request)): ApiPath<(u64, u64)>,
) -> Result<ApiJson<ChangeRequestJson>, ApiError> {
    let request = state
        .blocking(move |crm| {
            crm.withdraw_change_request(
                &user.actor,
                ProjectId::new(id),
                ChangeRequestId::new(request),
            )
        })
        .await?;
    Ok(ApiJson(ChangeRequestJson::from(&request)))
}

/// Complete, reopen or archive a project (needs `manage_projects`).
#[utoipa::path(
    post, operation_id = "setProjectState", path = "/api/v1/projects/{id}/state", tag = "projects", request_body = StateBody,
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project now", body = ProjectJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "Not a move its state allows", body = ErrorResponse),
        (status = 422, description = "An unknown state", body = ErrorResponse),
    )
)]
pub async fn set_state(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<StateBody>,
) -> Result<ApiJson<ProjectJson>, ApiError> {
    let id = ProjectId::new(id);
    let project = state
        .blocking(move |crm| {
            crm.set_project_state(&user.actor, id, ProjectState::parse("state", &body.state)?)?;
            project_json(crm, &user, id)
        })
        .await?;
    Ok(ApiJson(project))
}

/// A project's document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentJson {
    /// The id.
    pub id: u64,
    /// What it is.
    pub title: String,
    /// The file's name.
    pub file_name: String,
    /// `pdf`, `image` or `office`.
    pub kind: String,
    /// The MIME type.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// The file's hash: download it at `/media/{hash}`.
    pub media: String,
    /// Who added it (`staff:3`, `system`).
    pub added_by: String,
    /// When, RFC 3339.
    pub added_at: String,
}

impl From<&ProjectDocument> for DocumentJson {
    fn from(document: &ProjectDocument) -> Self {
        DocumentJson {
            id: document.id.get(),
            title: document.title.clone(),
            file_name: document.file_name.clone(),
            kind: document.kind.as_str().to_string(),
            mime: document.mime.clone(),
            size: document.size,
            media: document.media.to_string(),
            added_by: actor_text(document.added_by),
            added_at: document.added_at.to_rfc3339(),
        }
    }
}

/// A project's documents, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentListJson {
    /// The documents.
    pub items: Vec<DocumentJson>,
}

/// A document, as `multipart/form-data`.
#[derive(Debug, Clone, ToSchema)]
#[allow(dead_code)]
pub struct DocumentForm {
    /// What it is, 1-200 characters.
    pub title: String,
    /// The file: a PDF, an image or an office document, at most 20 MiB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The file's name; the uploaded part's name when absent.
    pub file_name: Option<String>,
}

/// A project's documents, newest first: whoever sees the project.
#[utoipa::path(
    get, operation_id = "listProjectDocuments", path = "/api/v1/projects/{id}/documents", tag = "projects",
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 200, description = "The documents", body = DocumentListJson),
        (status = 403, description = "Neither projects permission", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
    )
)]
pub async fn documents(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<DocumentListJson>, ApiError> {
    let documents = state
        .blocking(move |crm| crm.project_documents(&user.actor, ProjectId::new(id)))
        .await?;
    Ok(ApiJson(DocumentListJson {
        items: documents.iter().map(DocumentJson::from).collect(),
    }))
}

/// Attach a document (`multipart/form-data`; needs `manage_projects`).
#[utoipa::path(
    post, operation_id = "addProjectDocument", path = "/api/v1/projects/{id}/documents", tag = "projects",
    request_body(content = DocumentForm, content_type = "multipart/form-data"),
    params(("id" = u64, Path, description = "Project id")),
    responses(
        (status = 201, description = "Attached", body = DocumentJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project", body = ErrorResponse),
        (status = 409, description = "It holds 100 documents", body = ErrorResponse),
        (status = 422, description = "A bad title, file name or file", body = ErrorResponse),
    )
)]
pub async fn add_document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    multipart: Multipart,
) -> Result<(StatusCode, ApiJson<DocumentJson>), ApiError> {
    let form = read_multipart(multipart).await?;
    let document = state
        .blocking(move |crm| {
            crm.add_project_document(&user.actor, ProjectId::new(id), form.document()?)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(DocumentJson::from(&document))))
}

/// Remove a document (needs `manage_projects`).
#[utoipa::path(
    delete, operation_id = "removeProjectDocument", path = "/api/v1/projects/{id}/documents/{document}", tag = "projects",
    params(("id" = u64, Path, description = "Project id"), ("document" = u64, Path, description = "Document id")),
    responses(
        (status = 200, description = "Removed", body = DocumentJson),
        (status = 403, description = "Missing manage_projects", body = ErrorResponse),
        (status = 404, description = "No such project or document", body = ErrorResponse),
    )
)]
pub async fn remove_document(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, document)): ApiPath<(u64, u64)>,
) -> Result<ApiJson<DocumentJson>, ApiError> {
    let document = state
        .blocking(move |crm| {
            crm.remove_project_document(
                &user.actor,
                ProjectId::new(id),
                ProjectDocumentId::new(document),
            )
        })
        .await?;
    Ok(ApiJson(DocumentJson::from(&document)))
}
