//! Broadcasts (issue 13, the PRD's "Broadcast Messaging"): `/broadcasts` lists them with their
//! delivery figures; `/broadcasts/new` and `/broadcasts/{id}/edit` hold the form (title, text
//! with a live character counter from `assets/js/broadcast.js`, the audience's conditions,
//! the rate); `/broadcasts/{id}` shows the text as the customer will see it, the audience's
//! count and sample while it is unstarted, the actions crm-lib's
//! [`BroadcastActions`](crm_lib::broadcasts::BroadcastActions) allow as POST buttons, and once
//! started the delivery report (counts, a progress bar, the recipients paged with a state
//! filter, `report.csv`), refreshed live from `/events` while it sends.
//!
//! Every handler parses, makes one crm-lib call (reads on one snapshot) and renders; the
//! markup lives in `views`, pure functions of what was read. Everything needs `broadcast`,
//! which crm-lib checks.

mod form;
mod views;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::ErrorKind;
use crm_lib::broadcasts::{
    AudiencePreview, BroadcastSetup, BroadcastView, RecipientPage, audience_preview_in,
    broadcast_in, broadcast_setup_in, broadcasts_in,
};
use crm_lib::model::{BroadcastId, CustomerId, Timestamp, Zone};
use maud::Markup;
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::{CsrfForm, Staff};
use crate::web::csrf;
use crate::web::error::{AppError, status_of};
use crate::web::layout::{FormError, Nav, form_value, page};

pub(crate) use form::BroadcastForm;

/// Recipients per page of the delivery report.
const REPORT_PAGE: usize = 50;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/broadcasts", get(list).post(create))
        .route("/broadcasts/new", get(new_form))
        .route("/broadcasts/{id}", get(detail))
        .route("/broadcasts/{id}/edit", get(edit_form).post(update))
        .route("/broadcasts/{id}/report.csv", get(report_csv))
        .route("/broadcasts/{id}/test", post(test))
        .route("/broadcasts/{id}/schedule", post(schedule))
        .route("/broadcasts/{id}/start", post(start))
        .route("/broadcasts/{id}/pause", post(pause))
        .route("/broadcasts/{id}/resume", post(resume))
        .route("/broadcasts/{id}/cancel", post(cancel))
        .route("/broadcasts/{id}/delete", post(delete))
}

/// A broadcast's number from a path, or not found.
fn broadcast_id(text: &str) -> Result<BroadcastId, AppError> {
    text.trim()
        .parse()
        .map(BroadcastId::new)
        .map_err(|_| AppError::not_found(format!("broadcast {text:?} not found")))
}

/// `?done=<key>&n=<count>` after a redirect.
#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    n: Option<u64>,
}

/// The notice a `?done=` key stands for (keys are lowercase words only).
fn done_note(staff: &Staff, done: Option<&str>, count: Option<u64>) -> Option<String> {
    let key = done.filter(|key| {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    })?;
    Some(crate::web::i18n::tr_with(
        staff.language,
        &format!("broadcasts.done.{key}"),
        &[("count", &count.unwrap_or(0).to_string())],
    ))
}

/// What the list shows, read on one snapshot.
pub(crate) struct ListData {
    pub(crate) broadcasts: Vec<BroadcastView>,
    pub(crate) zone: Zone,
}

/// `GET /broadcasts`.
async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok(ListData {
                    broadcasts: broadcasts_in(view, &actor)?,
                    zone: Zone::of(&crm_lib::org::organization_in(view, &actor)?),
                })
            })
        })
        .await?;
    let note = done_note(&staff, done.done.as_deref(), done.n);
    Ok(page(
        &staff,
        &staff.t("broadcasts.title"),
        Nav::Broadcasts,
        views::list_body(&staff, &data, note.as_deref()),
    ))
}

/// What the form pages need: the form's options and, for an edit, the broadcast.
async fn setup(state: &AppState, staff: &Staff) -> Result<BroadcastSetup, AppError> {
    let actor = staff.actor.clone();
    Ok(state
        .blocking(move |crm| crm.read(|view| broadcast_setup_in(view, &actor)))
        .await?)
}

fn form_page(
    staff: &Staff,
    setup: BroadcastSetup,
    editing: Option<BroadcastId>,
    form: &BroadcastForm,
    error: &FormError,
) -> Markup {
    let title = match editing {
        Some(_) => staff.t("broadcasts.edit_title"),
        None => staff.t("broadcasts.new_title"),
    };
    page(
        staff,
        &title,
        Nav::Broadcasts,
        views::form_body(staff, setup, editing, form, error),
    )
}

/// `GET /broadcasts/new`.
async fn new_form(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    let setup = setup(&state, &staff).await?;
    Ok(form_page(
        &staff,
        setup,
        None,
        &BroadcastForm::fresh(),
        &FormError::none(),
    ))
}

/// The form again with crm-lib's refusal beside its field (422), or the refusal's own page
/// for anything but bad input.
async fn refused(
    state: &AppState,
    staff: &Staff,
    editing: Option<BroadcastId>,
    form: &BroadcastForm,
    error: crm_lib::Error,
) -> Result<Response, AppError> {
    if !matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) {
        return Err(error.into());
    }
    let setup = setup(state, staff).await?;
    Ok((
        status_of(error.kind()),
        form_page(staff, setup, editing, form, &FormError::from_error(&error)),
    )
        .into_response())
}

/// `POST /broadcasts`: writes a draft, then opens its page.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = BroadcastForm { pairs };
    csrf::verify(&staff, form.value("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let draft = form.draft();
    let result = state
        .blocking(move |crm| Ok(draft.and_then(|draft| crm.create_broadcast(&actor, draft))))
        .await?;
    match result {
        Ok(broadcast) => {
            Ok(Redirect::to(&format!("/broadcasts/{}?done=created", broadcast.id)).into_response())
        }
        Err(error) => refused(&state, &staff, None, &form, error).await,
    }
}

/// `GET /broadcasts/{id}/edit`.
async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let id = broadcast_id(&id)?;
    let actor = staff.actor.clone();
    let (setup, view) = state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok((
                    broadcast_setup_in(view, &actor)?,
                    broadcast_in(view, &actor, id)?,
                ))
            })
        })
        .await?;
    let form = BroadcastForm::of(&view.broadcast);
    // A started broadcast keeps its text: the form says so instead of offering a save that
    // crm-lib would refuse.
    let error = if view.actions.edit {
        FormError::none()
    } else {
        FormError {
            field: None,
            message: Some(staff.t("broadcasts.not_editable")),
        }
    };
    Ok(form_page(&staff, setup, Some(id), &form, &error))
}

/// `POST /broadcasts/{id}/edit`.
async fn update(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = broadcast_id(&id)?;
    let form = BroadcastForm { pairs };
    csrf::verify(&staff, form.value("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let draft = form.draft();
    let result = state
        .blocking(move |crm| Ok(draft.and_then(|draft| crm.update_broadcast(&actor, id, draft))))
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/broadcasts/{id}?done=saved")).into_response()),
        Err(error) => refused(&state, &staff, Some(id), &form, error).await,
    }
}

/// `?state=&after=` of the delivery report, and the notice after a redirect.
#[derive(Debug, Default, Deserialize, Clone)]
pub(crate) struct ReportQuery {
    /// A recipient state (`failed`), or empty for all.
    #[serde(default)]
    pub(crate) state: Option<String>,
    /// The customer to continue after.
    #[serde(default)]
    pub(crate) after: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    n: Option<u64>,
}

impl ReportQuery {
    /// The state filter, `None` for all.
    pub(crate) fn state(&self) -> Option<&str> {
        self.state
            .as_deref()
            .map(str::trim)
            .filter(|state| !state.is_empty())
    }

    /// The customer to continue after.
    fn after(&self) -> Result<Option<CustomerId>, AppError> {
        match self.after.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse()
                .map(|id| Some(CustomerId::new(id)))
                .map_err(|_| {
                    AppError::bad_request(format!("after={text:?} is not a customer number"))
                }),
        }
    }
}

/// What a broadcast's page shows, read on one snapshot.
pub(crate) struct Detail {
    /// The broadcast and its actions.
    pub(crate) view: BroadcastView,
    /// The organization's clock.
    pub(crate) zone: Zone,
    /// Whom the audience picks now (unstarted broadcasts), or why it cannot be counted.
    pub(crate) preview: Option<Result<AudiencePreview, String>>,
    /// A page of the delivery report (started broadcasts).
    pub(crate) report: Option<RecipientPage>,
    /// The report's filter and position.
    pub(crate) query: ReportQuery,
    /// The moment the page was read (the schedule form's earliest value).
    pub(crate) now: Timestamp,
}

async fn read_detail(
    state: &AppState,
    staff: &Staff,
    id: BroadcastId,
    query: ReportQuery,
) -> Result<Detail, AppError> {
    let after = query.after()?;
    let actor = staff.actor.clone();
    Ok(state
        .blocking(move |crm| {
            crm.read(|view| {
                let broadcast = broadcast_in(view, &actor, id)?;
                let zone = Zone::of(&crm_lib::org::organization_in(view, &actor)?);
                let started = broadcast.broadcast.started_at.is_some();
                let preview = if started {
                    None
                } else {
                    // A condition the organization no longer allows (the tokens module
                    // switched off) is said on the page, not a failed page.
                    match audience_preview_in(view, &actor, broadcast.broadcast.audience.clone()) {
                        Ok(preview) => Some(Ok(preview)),
                        Err(error) if error.kind() == ErrorKind::InvalidInput => {
                            Some(Err(error.message().to_string()))
                        }
                        Err(error) => return Err(error),
                    }
                };
                // Read for an unstarted broadcast too (it has no recipients, one empty scan),
                // so that a bad `?state=` is refused on every broadcast's page alike.
                let report = crm_lib::broadcasts::broadcast_recipients_in(
                    view,
                    &actor,
                    id,
                    query.state(),
                    after,
                    REPORT_PAGE,
                )?;
                let report = started.then_some(report);
                Ok(Detail {
                    view: broadcast,
                    zone,
                    preview,
                    report,
                    query,
                    now: crm_lib::View::now(view),
                })
            })
        })
        .await?)
}

fn detail_page(staff: &Staff, detail: &Detail, error: &FormError, note: Option<&str>) -> Markup {
    page(
        staff,
        &detail.view.broadcast.title,
        Nav::Broadcasts,
        views::detail_body(staff, detail, error, note),
    )
}

/// `GET /broadcasts/{id}`.
async fn detail(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Markup, AppError> {
    let id = broadcast_id(&id)?;
    let note = done_note(&staff, query.done.as_deref(), query.n);
    let detail = read_detail(&state, &staff, id, query).await?;
    Ok(detail_page(
        &staff,
        &detail,
        &FormError::none(),
        note.as_deref(),
    ))
}

/// `GET /broadcasts/{id}/report.csv?state=`: the whole delivery report (or one state's
/// recipients) as CSV, written by crm-lib's export.
async fn report_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Response, AppError> {
    let id = broadcast_id(&id)?;
    let filter = query.state().map(str::to_string);
    let actor = staff.actor.clone();
    let csv = state
        .blocking(move |crm| {
            let mut out = Vec::new();
            crm.export_broadcast_report(
                &actor,
                id,
                filter.as_deref(),
                crm_lib::export::ExportFormat::Csv,
                &mut out,
            )?;
            Ok(out)
        })
        .await?;
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"broadcast-{id}-report.csv\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The end of an action: to the broadcast's page with a notice, or that page again with
/// crm-lib's refusal (bad input or a state that no longer allows it) and its status.
async fn after_action<T>(
    state: &AppState,
    staff: &Staff,
    id: BroadcastId,
    result: crm_lib::Result<T>,
    done: impl FnOnce(T) -> String,
) -> Result<Response, AppError> {
    match result {
        Ok(value) => Ok(Redirect::to(&format!("/broadcasts/{id}?{}", done(value))).into_response()),
        Err(error) if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) => {
            let detail = read_detail(state, staff, id, ReportQuery::default()).await?;
            Ok((
                status_of(error.kind()),
                detail_page(staff, &detail, &FormError::from_error(&error), None),
            )
                .into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// A state change with no input but the CSRF token: one crm-lib call, then
/// [`after_action`].
async fn act<T: Send + 'static>(
    state: AppState,
    staff: Staff,
    headers: HeaderMap,
    id: String,
    csrf_token: String,
    done: &'static str,
    call: impl FnOnce(&crm_lib::Crm, &crm_lib::model::Actor, BroadcastId) -> crm_lib::Result<T>
    + Send
    + 'static,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &csrf_token, &headers)?;
    let id = broadcast_id(&id)?;
    let actor = staff.actor.clone();
    let result = state.blocking(move |crm| Ok(call(crm, &actor, id))).await?;
    after_action(&state, &staff, id, result, |_| format!("done={done}")).await
}

/// `POST /broadcasts/{id}/test`: the text to every linked staff chat with `broadcast`.
async fn test(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = broadcast_id(&id)?;
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.test_broadcast(&actor, id)))
        .await?;
    after_action(&state, &staff, id, result, |count| {
        format!("done=tested&n={count}")
    })
    .await
}

/// `POST /broadcasts/{id}/schedule`: `scheduled_at`, a local date and time of the
/// organization (`YYYY-MM-DDTHH:MM`).
async fn schedule(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = broadcast_id(&id)?;
    let at = form_value(&pairs, "scheduled_at").to_string();
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| {
            let zone =
                crm.read(|view| Ok(Zone::of(&crm_lib::org::organization_in(view, &actor)?)))?;
            Ok(
                crate::web::scheduled::local_moment_of(&zone, "scheduled_at", &at)
                    .and_then(|at| crm.schedule_broadcast(&actor, id, at)),
            )
        })
        .await?;
    after_action(&state, &staff, id, result, |_| "done=scheduled".to_string()).await
}

/// `POST /broadcasts/{id}/start`.
async fn start(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    act(
        state,
        staff,
        headers,
        id,
        form.csrf,
        "started",
        |crm, actor, id| crm.start_broadcast(actor, id),
    )
    .await
}

/// `POST /broadcasts/{id}/pause`.
async fn pause(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    act(
        state,
        staff,
        headers,
        id,
        form.csrf,
        "paused",
        |crm, actor, id| crm.pause_broadcast(actor, id),
    )
    .await
}

/// `POST /broadcasts/{id}/resume`.
async fn resume(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    act(
        state,
        staff,
        headers,
        id,
        form.csrf,
        "resumed",
        |crm, actor, id| crm.resume_broadcast(actor, id),
    )
    .await
}

/// `POST /broadcasts/{id}/cancel`.
async fn cancel(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    act(
        state,
        staff,
        headers,
        id,
        form.csrf,
        "cancelled",
        |crm, actor, id| crm.cancel_broadcast(actor, id),
    )
    .await
}

/// `POST /broadcasts/{id}/delete`: back to the list.
async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = broadcast_id(&id)?;
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.delete_broadcast(&actor, id)))
        .await?;
    match result {
        Ok(()) => Ok(Redirect::to("/broadcasts?done=deleted").into_response()),
        Err(error) => {
            after_action(&state, &staff, id, Err::<(), _>(error), |_| String::new()).await
        }
    }
}
