//! The operators module's pages (SPEC 5B): the header status switch's form handler, the
//! departments page (departments, members, the module's settings), the operator statistics
//! page, and the conversation page's assignment panel with its reassign, close and reopen
//! forms. Every handler parses, makes one crm-lib call and renders; crm-lib answers "not
//! found" while the module is off, so these pages do not exist there.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::{
    model::{CustomerId, Date, DepartmentId, OperatorSettings, User, UserId},
    operators::{ConversationView, DepartmentRow, OperatorRow, OperatorStats, status_word},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::{CsrfForm, Staff};
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::when;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page, status_text};

/// The operators module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/operators/status", post(set_status))
        .route("/operators/stats", get(stats))
        .route("/departments", get(departments).post(create_department))
        .route("/departments/settings", post(save_settings))
        .route("/departments/{id}/rename", post(rename_department))
        .route("/departments/{id}/archive", post(archive_department))
        .route("/departments/{id}/members", post(add_member))
        .route(
            "/departments/{id}/members/{user}/remove",
            post(remove_member),
        )
        .route("/chat/{customer}/assign", post(assign_conversation))
        .route("/chat/{customer}/close", post(close_conversation))
        .route("/chat/{customer}/reopen", post(reopen_conversation))
}

/// The status form.
#[derive(Debug, Default, Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

/// The local path of the page the form was sent from (its `Referer`), else `/`.
fn back_to(headers: &HeaderMap) -> String {
    headers
        .get(header::REFERER)
        .and_then(|value| value.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .map(|url| url.path().to_string())
        .filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/".to_string())
}

/// `POST /operators/status`: the signed-in user's own status.
async fn set_status(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let status = crm_lib::operators::parse_status(&form.status)?;
    let (actor, user) = (staff.actor.clone(), staff.user.id);
    state
        .blocking(move |crm| crm.set_operator_status(&actor, user, status))
        .await?;
    Ok(Redirect::to(&back_to(&headers)).into_response())
}

/// `?done=` of the departments page.
#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// What the departments page shows.
struct DepartmentsData {
    departments: Vec<DepartmentRow>,
    operators: Vec<OperatorRow>,
    users: Vec<User>,
    settings: Option<OperatorSettings>,
}

fn read_departments(
    view: &impl crm_lib::View,
    actor: &crm_lib::model::Actor,
) -> crm_lib::Result<DepartmentsData> {
    let departments = crm_lib::operators::departments_in(view, actor)?;
    let operators = crm_lib::operators::operators_in(view, actor)?;
    let users = crm_lib::team::users_in(view, actor)?;
    let settings = match crm_lib::operators::operator_settings_in(view, actor) {
        Ok(settings) => Some(settings),
        Err(error) if error.kind() == crm_lib::ErrorKind::PermissionDenied => None,
        Err(error) => return Err(error),
    };
    Ok(DepartmentsData {
        departments,
        operators,
        users,
        settings,
    })
}

async fn departments_page(
    state: &AppState,
    staff: &Staff,
    error: &FormError,
    note: Option<String>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| crm.read(|view| read_departments(view, &actor)))
        .await?;
    Ok(page(
        staff,
        &staff.t("operators.departments.title"),
        Nav::Departments,
        departments_body(staff, &data, error, note.as_deref()),
    ))
}

/// `GET /departments`.
async fn departments(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done
        .done
        .as_deref()
        .filter(|key| key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(|key| staff.t(&format!("operators.done.{key}")));
    departments_page(&state, &staff, &FormError::none(), note).await
}

/// The departments page's markup: the operators with their status and load, each department
/// with its members and forms, the new-department form and the module's settings.
fn departments_body(
    staff: &Staff,
    data: &DepartmentsData,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let active: Vec<&User> = data
        .users
        .iter()
        .filter(|user| user.status == crm_lib::model::UserStatus::Active)
        .collect();
    html! {
        (notice(note))
        (error.general(&[]))
        h2 { (staff.t("operators.list.title")) }
        @if data.operators.is_empty() {
            p.muted { (staff.t("operators.list.none")) }
        } @else {
            table.operators {
                thead { tr {
                    th { (staff.t("operators.list.name")) }
                    th { (staff.t("operators.list.status")) }
                    th { (staff.t("operators.list.load")) }
                } }
                tbody {
                    @for row in &data.operators {
                        tr data-operator=(row.user) {
                            td { (row.name) }
                            td data-status=(status_word(row.status)) { (status_text(staff, row.status)) " " span.muted { (when(row.changed_at)) } }
                            td { (row.load) }
                        }
                    }
                }
            }
        }
        h2 { (staff.t("operators.departments.title")) }
        @if data.departments.is_empty() {
            p.muted { (staff.t("operators.departments.none")) }
        }
        @for row in &data.departments {
            @let department = &row.department;
            section.card.department data-department=(department.id) {
                h3 {
                    (department.name)
                    @if department.archived { " " span.muted { "(" (staff.t("operators.departments.archived")) ")" } }
                }
                p.muted { (staff.t("operators.departments.waiting")) ": " (row.waiting) }
                ul.members {
                    @for (user, name) in &row.members {
                        li {
                            (name)
                            form.inline method="post" action={ "/departments/" (department.id) "/members/" (user) "/remove" } {
                                (csrf_field(staff))
                                button.link.small type="submit" { (staff.t("operators.departments.remove")) }
                            }
                        }
                    }
                }
                @if !department.archived {
                    form.form.inline method="post" action={ "/departments/" (department.id) "/members" } {
                        (csrf_field(staff))
                        label { (staff.t("operators.departments.add_member"))
                            select name="user" {
                                @for user in &active {
                                    @if !department.members.contains(&user.id) {
                                        option value=(user.id) { (user.display_name) }
                                    }
                                }
                            }
                        }
                        button.small type="submit" { (staff.t("operators.departments.add")) }
                    }
                }
                form.form.inline method="post" action={ "/departments/" (department.id) "/rename" } {
                    (csrf_field(staff))
                    label { (staff.t("operators.departments.name"))
                        input type="text" name="name" value=(department.name) required maxlength="64";
                    }
                    button.small type="submit" { (staff.t("operators.departments.rename")) }
                }
                form.inline method="post" action={ "/departments/" (department.id) "/archive" } {
                    (csrf_field(staff))
                    input type="hidden" name="archived" value=(if department.archived { "0" } else { "1" });
                    button.small type="submit" {
                        (staff.t(if department.archived { "operators.departments.restore" } else { "operators.departments.archive" }))
                    }
                }
            }
        }
        h2 { (staff.t("operators.departments.new")) }
        form.form.card method="post" action="/departments" {
            (csrf_field(staff))
            label { (staff.t("operators.departments.name"))
                input type="text" name="name" required maxlength="64";
                (error.at("name"))
            }
            button type="submit" { (staff.t("operators.departments.create")) }
        }
        @if let Some(settings) = &data.settings {
            h2 { (staff.t("operators.settings.title")) }
            form.form.card method="post" action="/departments/settings" {
                (csrf_field(staff))
                label { (staff.t("operators.settings.idle"))
                    input type="number" name="idle_away_minutes" min="0" max=(crm_lib::operators::MAX_MINUTES) value=(settings.idle_away_minutes);
                    (error.at("idle_away_minutes"))
                }
                label { (staff.t("operators.settings.timeout"))
                    input type="number" name="answer_timeout_minutes" min="0" max=(crm_lib::operators::MAX_MINUTES) value=(settings.answer_timeout_minutes);
                    (error.at("answer_timeout_minutes"))
                }
                label { (staff.t("operators.settings.default"))
                    select name="default_department" {
                        option value="" selected[settings.default_department.is_none()] { (staff.t("operators.settings.first_active")) }
                        @for row in data.departments.iter().filter(|row| !row.department.archived) {
                            option value=(row.department.id) selected[settings.default_department == Some(row.department.id)] { (row.department.name) }
                        }
                    }
                    (error.at("default_department"))
                }
                label.check {
                    input type="checkbox" name="ask_department" value="1" checked[settings.ask_department];
                    " " (staff.t("operators.settings.ask"))
                }
                button type="submit" { (staff.t("form.save")) }
            }
        }
    }
}

/// A name form.
#[derive(Debug, Default, Deserialize)]
struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

fn department_id(text: &str) -> Result<DepartmentId, AppError> {
    text.parse()
        .map(DepartmentId::new)
        .map_err(|_| AppError::not_found(format!("department {text:?} not found")))
}

/// Runs one department change and answers with a redirect to the page, or the page with the
/// refusal (422 or 409).
async fn department_change<F>(
    state: AppState,
    staff: Staff,
    done: &str,
    change: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&crm_lib::Crm, &crm_lib::model::Actor) -> crm_lib::Result<()> + Send + 'static,
{
    let actor = staff.actor.clone();
    match state.blocking(move |crm| Ok(change(crm, &actor))).await? {
        Ok(()) => Ok(Redirect::to(&format!("/departments?done={done}")).into_response()),
        Err(error)
            if matches!(
                error.kind(),
                crm_lib::ErrorKind::InvalidInput | crm_lib::ErrorKind::Conflict
            ) =>
        {
            let status = crate::web::error::status_of(error.kind());
            let markup =
                departments_page(&state, &staff, &FormError::from_error(&error), None).await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /departments`.
async fn create_department(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<NameForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    department_change(state, staff, "created", move |crm, actor| {
        crm.create_department(actor, &form.name).map(drop)
    })
    .await
}

/// `POST /departments/{id}/rename`.
async fn rename_department(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<NameForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let department = department_id(&id)?;
    department_change(state, staff, "saved", move |crm, actor| {
        crm.rename_department(actor, department, &form.name)
            .map(drop)
    })
    .await
}

/// The archive form.
#[derive(Debug, Default, Deserialize)]
struct ArchiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    archived: String,
}

/// `POST /departments/{id}/archive`: `archived` = `1` archives, `0` restores.
async fn archive_department(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ArchiveForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let department = department_id(&id)?;
    let archived = form.archived == "1";
    department_change(state, staff, "saved", move |crm, actor| {
        crm.set_department_archived(actor, department, archived)
            .map(drop)
    })
    .await
}

/// A user form.
#[derive(Debug, Default, Deserialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
}

fn user_id(text: &str) -> Result<UserId, AppError> {
    text.trim()
        .parse()
        .map(UserId::new)
        .map_err(|_| AppError::not_found(format!("user {text:?} not found")))
}

/// `POST /departments/{id}/members`.
async fn add_member(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (department, user) = (department_id(&id)?, user_id(&form.user)?);
    department_change(state, staff, "saved", move |crm, actor| {
        crm.add_department_member(actor, department, user).map(drop)
    })
    .await
}

/// `POST /departments/{id}/members/{user}/remove`.
async fn remove_member(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((id, user)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (department, user) = (department_id(&id)?, user_id(&user)?);
    department_change(state, staff, "saved", move |crm, actor| {
        crm.remove_department_member(actor, department, user)
            .map(drop)
    })
    .await
}

/// The settings form.
#[derive(Debug, Default, Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idle_away_minutes: String,
    #[serde(default)]
    answer_timeout_minutes: String,
    #[serde(default)]
    default_department: String,
    #[serde(default)]
    ask_department: Option<String>,
}

fn minutes(field: &'static str, text: &str) -> crm_lib::Result<u32> {
    text.trim()
        .parse()
        .map_err(|_| crm_lib::Error::invalid(field, format!("{text:?} is not a number of minutes")))
}

impl SettingsForm {
    fn settings(&self) -> crm_lib::Result<OperatorSettings> {
        Ok(OperatorSettings {
            idle_away_minutes: minutes("idle_away_minutes", &self.idle_away_minutes)?,
            answer_timeout_minutes: minutes(
                "answer_timeout_minutes",
                &self.answer_timeout_minutes,
            )?,
            default_department: match self.default_department.trim() {
                "" => None,
                text => Some(DepartmentId::new(text.parse().map_err(|_| {
                    crm_lib::Error::invalid("default_department", "choose a department")
                })?)),
            },
            ask_department: self.ask_department.is_some(),
        })
    }
}

/// `POST /departments/settings`.
async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let settings = form.settings();
    department_change(state, staff, "settings_saved", move |crm, actor| {
        crm.save_operator_settings(actor, settings?).map(drop)
    })
    .await
}

/// `?from=&to=` of the statistics page (`YYYY-MM-DD`; the last 7 days by default).
#[derive(Debug, Default, Deserialize)]
struct StatsQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `GET /operators/stats`.
async fn stats(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<StatsQuery>,
) -> Result<Markup, AppError> {
    let (from, to) = (
        Date::parse_optional("from", query.from.as_deref())?,
        Date::parse_optional("to", query.to.as_deref())?,
    );
    let actor = staff.actor.clone();
    let report = state
        .blocking(move |crm| crm.operator_stats_report(&actor, from, to))
        .await?;
    Ok(page(
        &staff,
        &staff.t("operators.stats.title"),
        Nav::OperatorStats,
        stats_body(&staff, &report),
    ))
}

/// A duration in milliseconds as `1h 02m`, `4m 05s` or `12s`.
pub fn duration(ms: i64) -> String {
    let seconds = ms.max(0) / 1000;
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

/// The statistics page's markup: the range form (local days of the organization's time
/// zone, which the page names) and a table per operator (the range's total, then each day).
fn stats_body(staff: &Staff, report: &OperatorStats) -> Markup {
    let figure = |ms: Option<i64>| ms.map(duration).unwrap_or_else(|| "—".to_string());
    let rows = &report.rows;
    html! {
        form.form.inline method="get" action="/operators/stats" {
            label { (staff.t("operators.stats.from")) input type="date" name="from" value=(report.from.to_string()); }
            label { (staff.t("operators.stats.to")) input type="date" name="to" value=(report.to.to_string()); }
            button.small type="submit" { (staff.t("operators.stats.show")) }
        }
        p.muted { (crate::web::i18n::tr_with(staff.language, "operators.stats.zone", &[("zone", &report.zone.name())])) }
        p { a href={ "/csat?from=" (report.from) "&to=" (report.to) } { (staff.t("csat.from_stats")) } }
        @if rows.is_empty() {
            p.muted { (staff.t("operators.stats.empty")) }
        } @else {
            table.operator-stats {
                thead { tr {
                    th { (staff.t("operators.list.name")) }
                    th { (staff.t("operators.stats.day")) }
                    th { (staff.t("operators.stats.responses")) }
                    th { (staff.t("operators.stats.median")) }
                    th { (staff.t("operators.stats.p90")) }
                    th { (staff.t("operators.stats.handled")) }
                    th { (staff.t("operators.stats.resolved")) }
                } }
                tbody {
                    @for row in rows {
                        @for day in std::iter::once(&row.total).chain(row.days.iter()) {
                            tr data-operator=(row.user) data-day=(day.day.map(|day| day.to_string()).unwrap_or_default()) {
                                td { @if day.day.is_none() { strong { (row.name) } } }
                                td { (day.day.map(|day| day.to_string()).unwrap_or_else(|| staff.t("operators.stats.total"))) }
                                td { (day.first_responses) }
                                td { (figure(day.median_ms)) }
                                td { (figure(day.p90_ms)) }
                                td { (day.conversations_handled) }
                                td { (day.tickets_resolved) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The conversation page's assignment panel: department, operator and state, with the
/// reassign form for managers and close or reopen for those who chat. Refreshed live (any
/// change of the conversation is a message event).
pub fn conversation_panel(staff: &Staff, customer: CustomerId, view: &ConversationView) -> Markup {
    let open = view
        .item
        .as_ref()
        .is_some_and(|item| item.state == crm_lib::model::QueueState::Open);
    html! {
        section #operator-panel .card.operator-panel data-live-refresh="message" {
            @match &view.item {
                None => p.muted { (staff.t("operators.conversation.none")) },
                Some(item) => {
                    dl.facts {
                        dt { (staff.t("operators.conversation.department")) }
                        dd { (view.department.clone().unwrap_or_else(|| "—".to_string())) }
                        dt { (staff.t("operators.conversation.assignee")) }
                        dd data-assignee=(item.assignee.map(|user| user.get()).unwrap_or(0)) {
                            (view.assignee.clone().unwrap_or_else(|| staff.t("operators.conversation.waiting")))
                        }
                        dt { (staff.t("operators.conversation.state")) }
                        dd { (staff.t(if open { "operators.conversation.open" } else { "operators.conversation.closed" })) }
                    }
                }
            }
            @if open && view.may_reassign {
                form.form.inline method="post" action={ "/chat/" (customer) "/assign" } {
                    (csrf_field(staff))
                    label { (staff.t("operators.conversation.reassign"))
                        select name="user" {
                            option value="" { (staff.t("operators.conversation.auto")) }
                            @for row in &view.operators {
                                option value=(row.user) { (row.name) " (" (status_text(staff, row.status)) ", " (row.load) ")" }
                            }
                        }
                    }
                    button.small type="submit" { (staff.t("operators.conversation.assign")) }
                }
            }
            @if view.may_close && view.item.is_some() {
                form.inline method="post" action={ "/chat/" (customer) (if open { "/close" } else { "/reopen" }) } {
                    (csrf_field(staff))
                    button.small type="submit" {
                        (staff.t(if open { "operators.conversation.close" } else { "operators.conversation.reopen" }))
                    }
                }
            }
        }
    }
}

/// `POST /chat/{customer}/assign`: `user` empty routes by the rule.
async fn assign_conversation(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(customer): Path<u64>,
    Form(form): Form<UserForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = CustomerId::new(customer);
    let to = match form.user.trim() {
        "" => None,
        text => Some(user_id(text)?),
    };
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.reassign_conversation(&actor, customer, to))
        .await?;
    Ok(Redirect::to(&format!("/chat/{customer}")).into_response())
}

/// `POST /chat/{customer}/close`: the inbox's close, with or without the operators module
/// (crm-lib closes the queue item when there is one).
async fn close_conversation(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(customer): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (customer, actor) = (CustomerId::new(customer), staff.actor.clone());
    state
        .blocking(move |crm| crm.close_chat(&actor, customer))
        .await?;
    Ok(Redirect::to(&format!("/chat/{customer}")).into_response())
}

/// `POST /chat/{customer}/reopen`: the inbox's reopen (also wakes a snoozed conversation),
/// with or without the operators module.
async fn reopen_conversation(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(customer): Path<u64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (customer, actor) = (CustomerId::new(customer), staff.actor.clone());
    state
        .blocking(move |crm| crm.reopen_chat(&actor, customer))
        .await?;
    Ok(Redirect::to(&format!("/chat/{customer}")).into_response())
}

/// The operators pages' markup, as snapshots.
#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn durations_read_in_hours_minutes_or_seconds() {
        assert_eq!(duration(12_000), "12s");
        assert_eq!(duration(245_000), "4m 05s");
        assert_eq!(duration(3_720_000), "1h 02m");
        assert_eq!(duration(-5), "0s");
    }

    #[test]
    fn the_departments_page_shows_operators_departments_members_and_settings() {
        let fixture = Fixture::new("helpdesk");
        let system = fixture.system();
        let support = fixture.crm.create_department(&system, "Support").unwrap();
        let sales = fixture.crm.create_department(&system, "Sales").unwrap();
        fixture
            .crm
            .set_department_archived(&system, sales.id, true)
            .unwrap();
        let admin = fixture
            .crm
            .create_user(
                &system,
                crm_lib::team::NewUser {
                    username: "anna".into(),
                    display_name: "Anna".into(),
                    password: crm_lib::Password::parse("a long fixture password").unwrap(),
                    roles: vec!["operator".into()],
                    must_change_password: false,
                },
            )
            .unwrap()
            .id;
        fixture
            .crm
            .add_department_member(&system, support.id, admin)
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let data = crm_lib_read(&fixture);
        let markup = departments_body(&staff, &data, &FormError::none(), Some("Saved."));
        assert_snapshot!(pretty(&markup));
    }

    fn crm_lib_read(fixture: &Fixture) -> DepartmentsData {
        fixture
            .crm
            .read(|view| read_departments(view, &fixture.system()))
            .unwrap()
    }

    #[test]
    fn the_statistics_page_lists_each_operator_s_total_and_days_in_russian() {
        let fixture = Fixture::new("helpdesk");
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        let day = Date::parse("day", "2026-01-05").unwrap();
        let rows = vec![crm_lib::operators::OperatorStatsRow {
            user: UserId::new(3),
            name: "Anna".into(),
            days: vec![crm_lib::operators::OperatorDayStats {
                day: Some(day),
                first_responses: 2,
                median_ms: Some(60_000),
                p90_ms: Some(125_000),
                conversations_handled: 1,
                tickets_resolved: 0,
            }],
            total: crm_lib::operators::OperatorDayStats {
                day: None,
                first_responses: 2,
                median_ms: Some(60_000),
                p90_ms: Some(125_000),
                conversations_handled: 1,
                tickets_resolved: 0,
            },
        }];
        let report = crm_lib::operators::OperatorStats {
            from: day,
            to: day,
            zone: crm_lib::model::Zone::named("Asia/Vladivostok").unwrap(),
            rows,
        };
        assert_snapshot!(pretty(&stats_body(&staff, &report)));
    }
}
