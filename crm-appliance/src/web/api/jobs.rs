//! `/api/v1/jobs`: the scheduled jobs (crm-lib's `jobs` module) with their schedule, next slot
//! and last run, and running one now. Both need `manage_settings`, as the jobs page does.

use axum::extract::State;
use crm_lib::jobs::{JobRow, JobRun, Schedule};
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use crate::AppState;

/// One scheduled job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    /// Its name (`audit_cleanup`, `daily_report`).
    pub name: String,
    /// Its schedule: `every N minutes` or `daily at HH:MM` on the organization's clock.
    pub schedule: String,
    /// The organization's time zone the schedule follows (IANA name).
    pub time_zone: String,
    /// Whether it runs on its schedule.
    pub enabled: bool,
    /// Its next scheduled slot (RFC 3339), once planned.
    pub next_run: Option<String>,
    /// When the run in progress started, if one is.
    pub running_since: Option<String>,
    /// When the last run started.
    pub last_start: Option<String>,
    /// When the last run ended.
    pub last_end: Option<String>,
    /// How long the last finished run took, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Whether the last finished run succeeded.
    pub last_ok: bool,
    /// What the last finished run said.
    pub last_result: String,
    /// Finished runs so far.
    pub runs: u64,
}

impl JobView {
    fn new(job: &JobRow, time_zone: &str) -> Self {
        JobView {
            name: job.name.to_string(),
            schedule: match job.schedule {
                Schedule::EveryMinutes(minutes) => format!("every {minutes} minutes"),
                Schedule::DailyAt(time) => format!("daily at {time}"),
            },
            time_zone: time_zone.to_string(),
            enabled: job.enabled,
            next_run: job.next_slot.map(|at| at.to_rfc3339()),
            running_since: job.running_since.map(|at| at.to_rfc3339()),
            last_start: job.last_start.map(|at| at.to_rfc3339()),
            last_end: job.last_end.map(|at| at.to_rfc3339()),
            duration_ms: job.duration_ms(),
            last_ok: job.last_ok,
            last_result: job.last_result.clone(),
            runs: job.runs,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobRunView {
    /// The job.
    pub name: String,
    /// The slot it ran (RFC 3339): the moment of the request.
    pub slot: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it said, or the error.
    pub result: String,
}

impl From<&JobRun> for JobRunView {
    fn from(run: &JobRun) -> Self {
        JobRunView {
            name: run.job.to_string(),
            slot: run.slot.to_rfc3339(),
            ok: run.ok,
            result: run.result.clone(),
        }
    }
}

/// Every scheduled job with its last run (`manage_settings`).
#[utoipa::path(
    get, operation_id = "listJobs", path = "/api/v1/jobs", tag = "jobs",
    responses(
        (status = 200, description = "The jobs", body = Vec<JobView>),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
        (status = 403, description = "The user may not manage settings", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<JobView>>, ApiError> {
    let view = state.blocking(move |crm| crm.jobs(&user.actor)).await?;
    Ok(ApiJson(
        view.jobs
            .iter()
            .map(|job| JobView::new(job, &view.time_zone))
            .collect(),
    ))
}

/// Runs a job now, outside its schedule, and answers when it has finished
/// (`manage_settings`). A job whose work failed answers 200 with `ok: false`.
#[utoipa::path(
    post, operation_id = "runJob", path = "/api/v1/jobs/{name}/run", tag = "jobs",
    params(("name" = String, Path, description = "The job's name")),
    responses(
        (status = 200, description = "The finished run", body = JobRunView),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
        (status = 403, description = "The user may not manage settings", body = ErrorResponse),
        (status = 404, description = "No such job", body = ErrorResponse),
        (status = 409, description = "The job is running", body = ErrorResponse),
    )
)]
pub async fn run(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(name): ApiPath<String>,
) -> Result<ApiJson<JobRunView>, ApiError> {
    let run = state
        .blocking(move |crm| crm.run_job(&user.actor, &name))
        .await?;
    Ok(ApiJson(JobRunView::from(&run)))
}
