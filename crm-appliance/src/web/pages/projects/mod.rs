//! Projects (issue 14, SPEC 5E): `/projects` lists them (a state filter, a search over the
//! title, address and client, a keyset pager); `/projects/new` makes one by hand or, with
//! `?lead=`, from a won lead (the order page's "Create project", shown when crm-lib's
//! `OrderActions::create_project` says so); `/projects/{id}` is the project page: the client,
//! address, workers and progress bar, the money (budget, spent, income, remaining; the plan
//! against the fact per stage), the stages with their progress, the change requests with the
//! decisions allowed, the timeline with the reports' photos (served by `/media/{hash}`),
//! and the forms crm-lib's [`ProjectActions`](crm_lib::projects::ProjectActions) allow:
//! report, money entry with a proof photo, estimate line, change request, stage, details,
//! workers, state. The page's `#project-live` region refreshes live on `/events`' project
//! events.
//!
//! Every handler parses, makes one crm-lib call (reads on one snapshot) and renders; a
//! refusal of bad input or of a state shows beside its field in the form that was posted
//! (422 or 409). The markup lives in `views`; the module, the permissions and every rule are
//! crm-lib's.

pub(crate) mod form;
mod views;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::ErrorKind;
use crm_lib::model::{
    Actor, ChangeRequestId, CustomerId, OrderId, ProjectDocument, ProjectDocumentId, ProjectId,
    ProjectStageId, ProjectState, Zone,
};
use crm_lib::projects::{
    Decision, ProjectFilter, ProjectList, ProjectPage, ProjectSetup, project_documents_in,
    project_draft_in, project_page_in, project_setup_in, projects_in,
};
use crm_lib::{Crm, Page};
use maud::Markup;
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::{AppError, status_of};
use crate::web::layout::{FormError, Nav, page};

use form::{Posted, Which};

/// Projects per page of the list.
const LIST_PAGE: usize = 50;
/// Timeline items per page of the project page.
const TIMELINE_PAGE: usize = 30;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list).post(create))
        .route("/projects/new", get(new_form))
        .route("/projects/{id}", get(detail))
        .route("/projects/{id}/edit", post(edit))
        .route("/projects/{id}/workers", post(workers))
        .route("/projects/{id}/stages", post(add_stage))
        .route("/projects/{id}/stages/{stage}/progress", post(progress))
        .route("/projects/{id}/reports", post(add_report))
        .route("/projects/{id}/entries", post(add_entry))
        .route("/projects/{id}/estimate", post(add_estimate))
        .route("/projects/{id}/change-requests", post(add_change))
        .route(
            "/projects/{id}/change-requests/{request}/decide",
            post(decide),
        )
        .route(
            "/projects/{id}/change-requests/{request}/withdraw",
            post(withdraw),
        )
        .route("/projects/{id}/state", post(set_state))
        .route("/projects/{id}/documents", post(add_document))
        .route(
            "/projects/{id}/documents/{document}/remove",
            post(remove_document),
        )
}

/// A number from a path, or not found naming `what`.
fn number(text: &str, what: &str) -> Result<u64, AppError> {
    text.trim()
        .parse()
        .map_err(|_| AppError::not_found(format!("{what} {text:?} not found")))
}

fn project_id(text: &str) -> Result<ProjectId, AppError> {
    number(text, ProjectId::LABEL).map(ProjectId::new)
}

/// The notice a `?done=` key stands for (keys are lowercase words only).
fn done_note(staff: &Staff, done: Option<&str>) -> Option<String> {
    let key = done.filter(|key| {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    })?;
    Some(staff.t(&format!("projects.done.{key}")))
}

/// `?state=&q=&after=` of the list.
#[derive(Debug, Default, Deserialize, Clone)]
pub(crate) struct ListQuery {
    /// A state (`active`), empty for all.
    #[serde(default)]
    pub(crate) state: Option<String>,
    /// Search words.
    #[serde(default)]
    pub(crate) q: Option<String>,
    /// The project to continue after.
    #[serde(default)]
    pub(crate) after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<ProjectFilter, AppError> {
        let state = match self.state.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(ProjectState::parse("state", text).map_err(AppError::from)?),
        };
        Ok(ProjectFilter {
            state,
            search: self.q.clone().unwrap_or_default(),
        })
    }

    fn page(&self) -> Result<Page, AppError> {
        Ok(match self.after.as_deref().map(str::trim) {
            None | Some("") => Page::first(LIST_PAGE),
            Some(text) => Page::after(
                text.parse().map_err(|_| {
                    AppError::bad_request(format!("after={text:?} is not a project number"))
                })?,
                LIST_PAGE,
            ),
        })
    }
}

/// What the list shows, read on one snapshot.
pub(crate) struct ListData {
    /// The page of projects.
    pub(crate) list: ProjectList,
    /// The organization's clock.
    pub(crate) zone: Zone,
}

/// The organization's time zone, for local times.
fn zone_in(view: &impl crm_lib::View, actor: &Actor) -> crm_lib::Result<Zone> {
    Ok(Zone::of(&crm_lib::org::organization_in(view, actor)?))
}

/// `GET /projects`.
async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<ListQuery>,
) -> Result<Markup, AppError> {
    let (filter, list_page) = (query.filter()?, query.page()?);
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok(ListData {
                    list: projects_in(view, &actor, &filter, list_page)?,
                    zone: zone_in(view, &actor)?,
                })
            })
        })
        .await?;
    let note = done_note(&staff, query.done.as_deref());
    Ok(page(
        &staff,
        &staff.t("projects.title"),
        Nav::Projects,
        views::list_body(&staff, &data, &query, note.as_deref()),
    ))
}

/// The lead a new project is made from, as the form shows it.
pub(crate) struct LeadInfo {
    /// The order.
    pub(crate) id: OrderId,
    /// Its customer (the client).
    pub(crate) customer: CustomerId,
    /// Its title.
    pub(crate) title: String,
    /// The customer's name.
    pub(crate) customer_name: Option<String>,
}

/// What the new project page shows.
pub(crate) struct NewData {
    /// The forms' options.
    pub(crate) setup: ProjectSetup,
    /// The lead, when made from one.
    pub(crate) lead: Option<LeadInfo>,
}

/// `?lead=` of the new project page.
#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    #[serde(default)]
    lead: Option<String>,
}

/// Reads the new page's options and, with a lead, the draft crm-lib fills from it (its form
/// values as pairs).
async fn read_new(
    state: &AppState,
    staff: &Staff,
    lead: Option<OrderId>,
) -> Result<(NewData, Vec<(String, String)>), AppError> {
    let actor = staff.actor.clone();
    Ok(state
        .blocking(move |crm| {
            crm.read(|view| {
                let setup = project_setup_in(view, &actor)?;
                let draft = project_draft_in(view, &actor, lead)?;
                let Some(lead) = lead else {
                    return Ok((NewData { setup, lead: None }, Vec::new()));
                };
                let pairs = vec![
                    ("title".to_string(), draft.project.title.clone()),
                    ("address".to_string(), draft.project.address.clone()),
                    ("budget".to_string(), draft.project.budget.to_string()),
                ];
                Ok((
                    NewData {
                        setup,
                        lead: Some(LeadInfo {
                            id: lead,
                            customer: draft.project.client,
                            title: draft.project.title,
                            customer_name: draft.client_name,
                        }),
                    },
                    pairs,
                ))
            })
        })
        .await?)
}

/// `GET /projects/new?lead=`.
async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<NewQuery>,
) -> Result<Markup, AppError> {
    let lead = match query.lead.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(OrderId::new(number(text, OrderId::LABEL)?)),
    };
    let (data, pairs) = read_new(&state, &staff, lead).await?;
    Ok(page(
        &staff,
        &staff.t("projects.new_title"),
        Nav::Projects,
        views::new_body(&staff, &data, &Posted::of(pairs), &FormError::none()),
    ))
}

/// `POST /projects`: makes a project, then opens its page.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let posted = Posted::of(pairs);
    csrf::verify(&staff, posted.value("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let new = posted.new_project();
    let result = state
        .blocking(move |crm| Ok(new.and_then(|new| crm.create_project(&actor, new))))
        .await?;
    match result {
        Ok(project) => {
            Ok(Redirect::to(&format!("/projects/{}?done=created", project.id)).into_response())
        }
        Err(error) if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) => {
            let lead = match posted.value("lead").trim() {
                "" => None,
                text => text.parse().ok().map(OrderId::new),
            };
            // The lead's own refusal (taken meanwhile, no longer won) shows on the plain form.
            let (data, _) = match read_new(&state, &staff, lead).await {
                Ok(read) => read,
                Err(_) => read_new(&state, &staff, None).await?,
            };
            Ok((
                status_of(error.kind()),
                page(
                    &staff,
                    &staff.t("projects.new_title"),
                    Nav::Projects,
                    views::new_body(&staff, &data, &posted, &FormError::from_error(&error)),
                ),
            )
                .into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// What the project page shows, read on one snapshot.
pub(crate) struct Detail {
    /// The project and its timeline's page.
    pub(crate) page: ProjectPage,
    /// The forms' options.
    pub(crate) setup: ProjectSetup,
    /// The organization's clock.
    pub(crate) zone: Zone,
    /// The project's documents, newest first.
    pub(crate) documents: Vec<ProjectDocument>,
}

/// `?after=` of the timeline, and the notice after a redirect.
#[derive(Debug, Default, Deserialize)]
struct DetailQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

async fn read_detail(
    state: &AppState,
    staff: &Staff,
    id: ProjectId,
    after: Option<u64>,
) -> Result<Detail, AppError> {
    let actor = staff.actor.clone();
    Ok(state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok(Detail {
                    page: project_page_in(view, &actor, id, after, TIMELINE_PAGE)?,
                    setup: project_setup_in(view, &actor)?,
                    zone: zone_in(view, &actor)?,
                    documents: project_documents_in(view, &actor, id)?,
                })
            })
        })
        .await?)
}

fn detail_page(
    staff: &Staff,
    detail: &Detail,
    failed: Option<(Which, &Posted)>,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let project = &detail.page.view.project;
    page(
        staff,
        &format!("#{} {}", project.id, project.title),
        Nav::Projects,
        views::project_body(staff, detail, failed, error, note),
    )
}

/// `GET /projects/{id}?after=`.
async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Result<Markup, AppError> {
    let id = project_id(&id)?;
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse().map_err(|_| {
            AppError::bad_request(format!("after={text:?} is not an event number"))
        })?),
    };
    let note = done_note(&staff, query.done.as_deref());
    let detail = read_detail(&state, &staff, id, after).await?;
    Ok(detail_page(
        &staff,
        &detail,
        None,
        &FormError::none(),
        note.as_deref(),
    ))
}

/// The end of a posted form: to the project's page with a notice, or that page again with
/// crm-lib's refusal in the form that was posted (bad input or a state that no longer
/// allows it) and its status.
async fn after_post<T>(
    state: &AppState,
    staff: &Staff,
    id: ProjectId,
    which: Which,
    posted: &Posted,
    result: crm_lib::Result<T>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{id}?done={done}")).into_response()),
        Err(error) if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) => {
            let detail = read_detail(state, staff, id, None).await?;
            Ok((
                status_of(error.kind()),
                detail_page(
                    staff,
                    &detail,
                    Some((which, posted)),
                    &FormError::from_error(&error),
                    None,
                ),
            )
                .into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// One posted form of the project page: the CSRF check, one crm-lib call with the form, then
/// [`after_post`].
#[allow(clippy::too_many_arguments)]
async fn post_form<T: Send + 'static>(
    state: AppState,
    staff: Staff,
    headers: HeaderMap,
    id: String,
    posted: Posted,
    which: Which,
    done: &'static str,
    call: impl FnOnce(&Crm, &Actor, ProjectId, &Posted) -> crm_lib::Result<T> + Send + 'static,
) -> Result<Response, AppError> {
    csrf::verify(&staff, posted.value("csrf"), &headers)?;
    let id = project_id(&id)?;
    let actor = staff.actor.clone();
    let form = posted.clone();
    let result = state
        .blocking(move |crm| Ok(call(crm, &actor, id, &form)))
        .await?;
    after_post(&state, &staff, id, which, &posted, result, done).await
}

/// `POST /projects/{id}/edit`: title, address, base budget.
async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Edit,
        "saved",
        |crm, actor, id, form| {
            form.edit()
                .and_then(|edit| crm.update_project(actor, id, edit))
        },
    )
    .await
}

/// `POST /projects/{id}/workers`: the checked workers.
async fn workers(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Workers,
        "workers",
        |crm, actor, id, form| {
            form.workers()
                .and_then(|workers| crm.set_project_workers(actor, id, workers))
        },
    )
    .await
}

/// `POST /projects/{id}/stages`: a new stage.
async fn add_stage(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Stage,
        "stage",
        |crm, actor, id, form| {
            form.stage()
                .and_then(|stage| crm.add_project_stage(actor, id, stage))
        },
    )
    .await
}

/// `POST /projects/{id}/stages/{stage}/progress`.
async fn progress(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((id, stage)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let stage = ProjectStageId::new(number(&stage, ProjectStageId::LABEL)?);
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Progress(stage),
        "progress",
        move |crm, actor, id, form| {
            form.progress()
                .and_then(|progress| crm.set_stage_progress(actor, id, stage, progress))
        },
    )
    .await
}

/// A multipart body that does not read (too large, cut off) as the page's error.
fn multipart_error(error: axum::extract::multipart::MultipartError) -> AppError {
    AppError::new(error.status(), error.body_text())
}

/// `POST /projects/{id}/reports` (multipart): a daily report with its files.
async fn add_report(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let posted = Posted::read(multipart).await.map_err(multipart_error)?;
    post_form(
        state,
        staff,
        headers,
        id,
        posted,
        Which::Report,
        "report",
        |crm, actor, id, form| {
            form.report()
                .and_then(|report| crm.add_daily_report(actor, id, report))
        },
    )
    .await
}

/// `POST /projects/{id}/entries` (multipart): a money entry with its proof.
async fn add_entry(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let posted = Posted::read(multipart).await.map_err(multipart_error)?;
    post_form(
        state,
        staff,
        headers,
        id,
        posted,
        Which::Entry,
        "entry",
        |crm, actor, id, form| {
            form.entry()
                .and_then(|entry| crm.add_project_entry(actor, id, entry))
        },
    )
    .await
}

/// `POST /projects/{id}/estimate`: an estimate line.
async fn add_estimate(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Estimate,
        "estimate",
        |crm, actor, id, form| {
            form.estimate()
                .and_then(|line| crm.add_estimate_line(actor, id, line))
        },
    )
    .await
}

/// `POST /projects/{id}/change-requests`: a change request for the client.
async fn add_change(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Change,
        "change",
        |crm, actor, id, form| {
            form.change()
                .and_then(|change| crm.create_change_request(actor, id, change))
        },
    )
    .await
}

/// `POST /projects/{id}/documents` (multipart): a document with its `title` and `file`.
async fn add_document(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let posted = Posted::read(multipart).await.map_err(multipart_error)?;
    post_form(
        state,
        staff,
        headers,
        id,
        posted,
        Which::Document,
        "document_added",
        |crm, actor, id, form| {
            form.document()
                .and_then(|document| crm.add_project_document(actor, id, document))
        },
    )
    .await
}

/// `POST /projects/{id}/documents/{document}/remove`.
async fn remove_document(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((id, document)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let document = ProjectDocumentId::new(number(&document, ProjectDocumentId::LABEL)?);
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Buttons,
        "document_removed",
        move |crm, actor, id, _| crm.remove_project_document(actor, id, document),
    )
    .await
}

/// `POST /projects/{id}/change-requests/{request}/decide`: `decision` approve or reject, on
/// the client's behalf.
async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((id, request)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let request = ChangeRequestId::new(number(&request, ChangeRequestId::LABEL)?);
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Buttons,
        "decided",
        move |crm, actor, id, form| {
            Decision::parse("decision", form.value("decision"))
                .and_then(|decision| crm.decide_change_request(actor, id, request, decision))
        },
    )
    .await
}

/// `POST /projects/{id}/change-requests/{request}/withdraw`.
async fn withdraw(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((id, request)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let request = ChangeRequestId::new(number(&request, ChangeRequestId::LABEL)?);
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Buttons,
        "withdrawn",
        move |crm, actor, id, _| crm.withdraw_change_request(actor, id, request),
    )
    .await
}

/// `POST /projects/{id}/state`: `state` completed, active (reopen) or archived.
async fn set_state(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    post_form(
        state,
        staff,
        headers,
        id,
        Posted::of(pairs),
        Which::Buttons,
        "state",
        |crm, actor, id, form| {
            ProjectState::parse("state", form.value("state"))
                .and_then(|to| crm.set_project_state(actor, id, to))
        },
    )
    .await
}
