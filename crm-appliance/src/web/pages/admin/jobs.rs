//! The scheduled jobs page (`/admin/jobs`, `manage_settings`): every job of crm-lib's
//! `jobs::JOBS` with its schedule in words, next run, last run, duration and result, a "run
//! now" button, and the jobs' settings (audit retention, report time, archive age, which jobs
//! run). crm-lib checks the permission and the values and runs the jobs.

use crm_lib::jobs::{JobRow, JobSettingsUpdate, JobsView, Schedule};
use crm_lib::model::LocalTime;

use super::*;
use crate::web::i18n::{tr_with, when};

/// The settings form, as typed.
#[derive(Debug, Default, Deserialize, Clone)]
pub(super) struct JobSettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    audit_retention_days: String,
    #[serde(default)]
    report_time: String,
    #[serde(default)]
    archive_after_days: String,
    /// `enabled_<job name>` for each job switched on (a checked box).
    #[serde(flatten)]
    enabled: std::collections::HashMap<String, String>,
}

pub(super) async fn jobs(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    jobs_page(&state, &staff, None, &FormError::none(), note.as_deref()).await
}

async fn jobs_page(
    state: &AppState,
    staff: &Staff,
    typed: Option<&JobSettingsForm>,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let view = state.blocking(move |crm| crm.jobs(&actor)).await?;
    Ok(page(
        staff,
        &staff.t("jobs.title"),
        Nav::Jobs,
        jobs_body(staff, &view, typed, error, note),
    ))
}

/// A schedule in words, in the reader's language.
fn schedule_words(staff: &Staff, schedule: Schedule, zone: &str) -> String {
    match schedule {
        Schedule::EveryMinutes(minutes) => tr_with(
            staff.language,
            "jobs.schedule.every",
            &[("minutes", &minutes.to_string())],
        ),
        Schedule::DailyAt(time) => tr_with(
            staff.language,
            "jobs.schedule.daily",
            &[("time", &time.to_string()), ("zone", &zone)],
        ),
    }
}

/// A duration in milliseconds as `0.25 s`, `12 s` or `3 min`.
fn duration(ms: i64) -> String {
    if ms < 10_000 {
        format!("{}.{:02} s", ms / 1000, (ms % 1000) / 10)
    } else if ms < 600_000 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} min", ms / 60_000)
    }
}

fn when_or_dash(at: Option<crm_lib::model::Timestamp>) -> String {
    at.map(|at| format!("{} UTC", when(at)))
        .unwrap_or_else(|| "—".to_string())
}

fn job_line(staff: &Staff, job: &JobRow, zone: &str) -> Markup {
    html! {
        tr {
            td {
                strong { (staff.t(&format!("jobs.name.{}", job.name))) }
                br;
                span.muted { (staff.t(&format!("jobs.about.{}", job.name))) }
            }
            td {
                (schedule_words(staff, job.schedule, zone))
                @if !job.enabled { " " span.badge { (staff.t("jobs.off")) } }
            }
            td { (when_or_dash(job.next_slot)) }
            td {
                (when_or_dash(job.last_start))
                @if job.running_since.is_some() { " " span.badge { (staff.t("jobs.running")) } }
            }
            td { (job.duration_ms().map(duration).unwrap_or_else(|| "—".to_string())) }
            td {
                @if job.runs > 0 {
                    span.badge { (staff.t(if job.last_ok { "jobs.ok" } else { "jobs.failed" })) }
                    " " (job.last_result)
                } @else {
                    span.muted { (staff.t("jobs.never")) }
                }
            }
            td { (job.runs) }
            td {
                form method="post" action={ "/admin/jobs/" (job.name) "/run" } {
                    (csrf_field(staff))
                    button.small type="submit" disabled[job.running_since.is_some()] { (staff.t("jobs.run_now")) }
                }
            }
        }
    }
}

/// The page's markup (a pure function of its data): the jobs, then the settings form (as
/// typed after a refused save).
pub(super) fn jobs_body(
    staff: &Staff,
    view: &JobsView,
    typed: Option<&JobSettingsForm>,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let settings = &view.settings;
    let form = typed.cloned().unwrap_or_else(|| JobSettingsForm {
        audit_retention_days: settings.audit_retention_days.to_string(),
        report_time: settings.report_time.to_string(),
        archive_after_days: settings.archive_after_days.to_string(),
        enabled: view
            .jobs
            .iter()
            .filter(|job| job.enabled)
            .map(|job| (format!("enabled_{}", job.name), "1".to_string()))
            .collect(),
        ..JobSettingsForm::default()
    });
    let fields = [
        "audit_retention_days",
        "report_time",
        "archive_after_days",
        "job",
    ];
    html! {
        (notice(note))
        (error.general(&fields))
        p.muted { (tr_with(staff.language, "jobs.time_zone", &[("zone", &view.time_zone)])) }
        table {
            thead { tr {
                th { (staff.t("jobs.job")) }
                th { (staff.t("jobs.schedule")) }
                th { (staff.t("jobs.next_run")) }
                th { (staff.t("jobs.last_run")) }
                th { (staff.t("jobs.duration")) }
                th { (staff.t("jobs.result")) }
                th { (staff.t("jobs.runs")) }
                th { span.sr-only { (staff.t("table.actions")) } }
            } }
            tbody {
                @for job in &view.jobs {
                    (job_line(staff, job, &view.time_zone))
                }
            }
        }
        h2 { (staff.t("jobs.settings")) }
        form.form.card method="post" action="/admin/jobs/settings" {
            (csrf_field(staff))
            label { (staff.t("jobs.audit_retention_days"))
                input type="number" name="audit_retention_days" min="7" max="36500" value=(form.audit_retention_days) required;
                (error.at("audit_retention_days"))
            }
            label { (staff.t("jobs.report_time"))
                input type="time" name="report_time" value=(form.report_time) required;
                (error.at("report_time"))
            }
            label { (staff.t("jobs.archive_after_days"))
                input type="number" name="archive_after_days" min="1" max="36500" value=(form.archive_after_days) required;
                (error.at("archive_after_days"))
            }
            fieldset {
                legend { (staff.t("jobs.enabled")) }
                @for job in &view.jobs {
                    @let field = format!("enabled_{}", job.name);
                    label.check {
                        input type="checkbox" name=(field) value="1" checked[form.enabled.contains_key(&field)];
                        (staff.t(&format!("jobs.name.{}", job.name)))
                    }
                }
            }
            button type="submit" { (staff.t("form.save")) }
        }
    }
}

/// Parses a whole number of days of `field`.
fn days(field: &'static str, text: &str) -> crm_lib::Result<u32> {
    text.trim()
        .parse()
        .map_err(|_| crm_lib::Error::invalid(field, "must be a whole number of days"))
}

/// `POST /admin/jobs/settings`.
pub(super) async fn save_job_settings(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<JobSettingsForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let parsed = (|| -> crm_lib::Result<JobSettingsUpdate> {
        Ok(JobSettingsUpdate {
            audit_retention_days: Some(days("audit_retention_days", &form.audit_retention_days)?),
            report_time: Some(LocalTime::parse("report_time", &form.report_time)?),
            archive_after_days: Some(days("archive_after_days", &form.archive_after_days)?),
            enabled: crm_lib::jobs::JOBS
                .iter()
                .map(|job| {
                    let on = form.enabled.contains_key(&format!("enabled_{}", job.name));
                    (job.name.to_string(), on)
                })
                .collect(),
        })
    })();
    let result = match parsed {
        Ok(update) => {
            let actor = staff.actor.clone();
            state
                .blocking(move |crm| Ok(crm.update_job_settings(&actor, update)))
                .await?
                .map(drop)
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/jobs?done=jobs_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = jobs_page(&state, &staff, Some(&form), &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// `POST /admin/jobs/{name}/run`: runs the job now and comes back to the page (a job that is
/// running already is a conflict, shown on the page).
pub(super) async fn run_job(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.run_job(&actor, &name)))
        .await?;
    match result {
        Ok(run) if run.ok => Ok(Redirect::to("/admin/jobs?done=job_ran").into_response()),
        Ok(_) => Ok(Redirect::to("/admin/jobs?done=job_failed").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = jobs_page(&state, &staff, None, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}
