//! Administration pages: users (create with a one-time password, roles, skills, disable,
//! password reset shown once), roles (permissions, custom roles), markers with colours (edit
//! per language, delete), payment methods, organization settings (with the write-only bot
//! token).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::{
    ErrorKind,
    model::{
        Language, MarkerId, Money, PaymentMethodId, Permission, PermissionSet, RoleId, StageId,
        UserId, UserStatus,
    },
    org::{SettingsUpdate, StageUpdate},
    team::{MarkerRefs, NewUser},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

/// The administration routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users).post(create_user))
        .route("/users/{id}/disable", post(disable_user))
        .route("/users/{id}/enable", post(enable_user))
        .route("/users/{id}/roles", post(user_roles))
        .route("/users/{id}/markers", post(user_markers))
        .route("/users/{id}/password", post(reset_password))
        .route("/roles", get(roles).post(create_role))
        .route("/roles/{id}/permissions", post(role_permissions))
        .route("/markers", get(markers).post(create_marker))
        .route("/markers/{id}", post(update_marker))
        .route("/markers/{id}/delete", post(delete_marker))
        .route("/payment-methods", get(payment_methods).post(create_method))
        .route("/payment-methods/{id}/active", post(method_active))
        .route("/settings", get(settings).post(save_settings))
        .route("/settings/stages/{id}", post(save_stage))
}

/// `?done=`.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

fn done_note(staff: &Staff, done: &Done) -> Option<String> {
    done.done
        .as_deref()
        .filter(|key| key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(|key| staff.t(&format!("admin.done.{key}")))
}

fn user_id(text: &str) -> Result<UserId, AppError> {
    text.parse()
        .map(UserId::new)
        .map_err(|_| AppError::not_found(format!("user {text:?} not found")))
}

/// A form answer: re-render with the error (422, or 409 for a conflict) or fail.
fn form_failure(error: crm_lib::Error) -> Result<(StatusCode, FormError), AppError> {
    if matches!(error.kind(), ErrorKind::InvalidInput | ErrorKind::Conflict) {
        Ok((
            crate::web::error::status_of(error.kind()),
            FormError::from_error(&error),
        ))
    } else {
        Err(error.into())
    }
}

// ---------------------------------------------------------------------------------------------
// Users.

/// The new-user form.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    /// The skill markers checked (the form's repeated `marker` fields).
    #[serde(skip)]
    markers: Vec<MarkerId>,
}

impl UserForm {
    /// The form from its fields, for showing it again; `marker` repeats, one per checked
    /// skill (one that is not a number is refused by [`checked_markers`] before any use).
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map_or(String::new(), |(_, value)| value.clone())
        };
        UserForm {
            csrf: value("csrf"),
            username: value("username"),
            display_name: value("display_name"),
            role: value("role"),
            markers: checked_markers(pairs).unwrap_or_default(),
        }
    }
}

/// The markers checked in a form (repeated `marker` fields with marker ids).
///
/// # Errors
/// Invalid input on `markers` for a value that is not a marker id.
fn checked_markers(pairs: &[(String, String)]) -> Result<Vec<MarkerId>, crm_lib::Error> {
    let mut markers = Vec::new();
    for (_, text) in pairs.iter().filter(|(key, _)| key == "marker") {
        let marker = text.trim().parse::<u64>().map_err(|_| {
            crm_lib::Error::invalid(
                "markers",
                format!(
                    "{:?} is not a marker",
                    text.chars().take(40).collect::<String>()
                ),
            )
        })?;
        markers.push(MarkerId::new(marker));
    }
    Ok(markers)
}

/// A password shown once on the users page: of a new user, or after a reset.
#[derive(Debug, Clone, Copy)]
struct OneTimePassword<'a> {
    username: &'a str,
    password: &'a str,
    reset: bool,
}

async fn users(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    users_page(
        &state,
        &staff,
        &UserForm::default(),
        &FormError::none(),
        note.as_deref(),
        None,
    )
    .await
}

async fn users_page(
    state: &AppState,
    staff: &Staff,
    form: &UserForm,
    error: &FormError,
    note: Option<&str>,
    shown: Option<OneTimePassword<'_>>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let (users, roles, markers) = state
        .blocking(move |crm| {
            crm.read(|view| {
                Ok((
                    crm_lib::team::users_in(view, &actor)?,
                    crm_lib::team::roles_in(view, &actor)?,
                    crm_lib::team::markers_in(view, &actor)?,
                ))
            })
        })
        .await?;
    Ok(page(
        staff,
        &staff.t("users.title"),
        Nav::Users,
        users_body(staff, &users, &roles, &markers, form, error, note, shown),
    ))
}

/// The users page's markup: the table (roles, skills, status, actions per user) and the
/// new-user form.
#[allow(clippy::too_many_arguments)]
fn users_body(
    staff: &Staff,
    users: &[crm_lib::model::User],
    roles: &[crm_lib::model::Role],
    markers: &[crm_lib::model::Marker],
    form: &UserForm,
    error: &FormError,
    note: Option<&str>,
    shown: Option<OneTimePassword<'_>>,
) -> Markup {
    let role_name = |id: &crm_lib::model::RoleId| {
        roles
            .iter()
            .find(|role| role.id == *id)
            .map_or_else(|| id.to_string(), |role| role.name.clone())
    };
    html! {
        (notice(note))
        @if let Some(shown) = shown {
            div.notice.password-once role="status" {
                p {
                    (staff.t(if shown.reset { "users.password_reset" } else { "users.created" }))
                    " " strong { (shown.username) }
                }
                p { (staff.t(if shown.reset { "users.password_once_reset" } else { "users.password_once" })) }
                p { code.password { (shown.password) } }
            }
        }
        (error.general(&["username", "display_name", "role", "markers"]))
        table.users {
            thead { tr {
                th { (staff.t("users.username")) }
                th { (staff.t("users.display_name")) }
                th { (staff.t("users.roles")) }
                th { (staff.t("users.skills")) }
                th { (staff.t("users.status")) }
                th { "Telegram" }
                th { span.sr-only { (staff.t("table.actions")) } }
            } }
            tbody {
                @for user in users {
                    tr {
                        td { (user.username) }
                        td { (user.display_name) }
                        td {
                            form.inline method="post" action={ "/users/" (user.id) "/roles" } {
                                (csrf_field(staff))
                                @for role in roles {
                                    label.check {
                                        input type="checkbox" name="role" value=(role.name) checked[user.roles.contains(&role.id)];
                                        (role.name)
                                    }
                                }
                                button.small type="submit" { (staff.t("form.save")) }
                            }
                            span.muted.sr-only { @for id in &user.roles { (role_name(id)) " " } }
                        }
                        td { (user_skills(staff, user, markers)) }
                        td { (staff.t(if user.status == UserStatus::Active { "users.active" } else { "users.disabled" })) }
                        td { @if user.telegram_id.is_some() { "✓" } }
                        td {
                            @if user.status == UserStatus::Active && user.id != staff.user.id {
                                form method="post" action={ "/users/" (user.id) "/disable" } {
                                    (csrf_field(staff))
                                    button.danger.small type="submit" { (staff.t("users.disable")) }
                                }
                            }
                            @if user.status == UserStatus::Disabled {
                                form method="post" action={ "/users/" (user.id) "/enable" } {
                                    (csrf_field(staff))
                                    button.small type="submit" { (staff.t("users.enable")) }
                                }
                            }
                            @if user.id != staff.user.id {
                                form method="post" action={ "/users/" (user.id) "/password" } {
                                    (csrf_field(staff))
                                    button.small type="submit" { (staff.t("users.reset_password")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (staff.t("users.new")) }
        form.form.card method="post" action="/users" {
            (csrf_field(staff))
            label { (staff.t("users.username"))
                input type="text" name="username" value=(form.username) required;
                (error.at("username"))
            }
            label { (staff.t("users.display_name"))
                input type="text" name="display_name" value=(form.display_name);
                (error.at("display_name"))
            }
            label { (staff.t("users.role"))
                select name="role" {
                    @for role in roles {
                        option value=(role.name) selected[form.role == role.name] { (role.name) }
                    }
                }
                (error.at("role"))
            }
            @if !markers.is_empty() {
                fieldset.checks {
                    legend { (staff.t("users.skills")) }
                    @for marker in markers {
                        label.check {
                            input type="checkbox" name="marker" value=(marker.id) checked[form.markers.contains(&marker.id)];
                            (crate::web::colors::marker(marker, staff.language))
                        }
                    }
                    (error.at("markers"))
                }
            }
            button type="submit" { (staff.t("users.create")) }
        }
    }
}

/// A user's skills as marker chips, with a form that replaces them (the checked markers).
fn user_skills(
    staff: &Staff,
    user: &crm_lib::model::User,
    markers: &[crm_lib::model::Marker],
) -> Markup {
    html! {
        span.skills {
            @for id in &user.markers {
                @if let Some(marker) = markers.iter().find(|marker| marker.id == *id) {
                    (crate::web::colors::marker(marker, staff.language)) " "
                }
            }
        }
        @if !markers.is_empty() {
            details.edit-skills {
                summary { (staff.t("users.edit_skills")) }
                form.form method="post" action={ "/users/" (user.id) "/markers" } {
                    (csrf_field(staff))
                    fieldset.checks {
                        @for marker in markers {
                            label.check {
                                input type="checkbox" name="marker" value=(marker.id) checked[user.markers.contains(&marker.id)];
                                (crate::web::colors::marker(marker, staff.language))
                            }
                        }
                    }
                    button.small type="submit" { (staff.t("form.save")) }
                }
            }
        }
    }
}

async fn create_user(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = UserForm::from_pairs(&pairs);
    csrf::verify(&staff, &form.csrf, &headers)?;
    if let Err(error) = checked_markers(&pairs) {
        let markup = users_page(
            &state,
            &staff,
            &form,
            &FormError::from_error(&error),
            None,
            None,
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response());
    }
    let password = crm_lib::generate_password()?;
    let request = NewUser {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        password: password.clone(),
        roles: vec![form.role.clone()],
        must_change_password: true,
    };
    let (actor, markers) = (staff.actor.clone(), MarkerRefs::Ids(form.markers.clone()));
    match state
        .blocking(move |crm| Ok(crm.create_user_with_markers(&actor, request, markers)))
        .await?
    {
        Ok(user) => {
            let markup = users_page(
                &state,
                &staff,
                &UserForm::default(),
                &FormError::none(),
                None,
                Some(OneTimePassword {
                    username: &user.username,
                    password: password.expose(),
                    reset: false,
                }),
            )
            .await?;
            Ok((StatusCode::CREATED, markup).into_response())
        }
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = users_page(&state, &staff, &form, &error, None, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

async fn disable_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = user_id(&id)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.disable_user(&actor, id))
        .await?;
    state.web().sessions.evict_user(id);
    Ok(Redirect::to("/users?done=disabled").into_response())
}

/// `POST /users/{id}/enable`: lets a disabled user log in again.
async fn enable_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = user_id(&id)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.enable_user(&actor, id))
        .await?;
    state.web().sessions.evict_user(id);
    Ok(Redirect::to("/users?done=enabled").into_response())
}

async fn user_roles(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token = pairs
        .iter()
        .find(|(key, _)| key == "csrf")
        .map_or("", |(_, value)| value.as_str());
    csrf::verify(&staff, token, &headers)?;
    let id = user_id(&id)?;
    let roles: Vec<String> = pairs
        .into_iter()
        .filter(|(key, _)| key == "role")
        .map(|(_, value)| value)
        .collect();
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.write(move |tx| tx.set_user_roles(&actor, id, roles)))
        .await?;
    state.web().sessions.evict_user(id);
    Ok(Redirect::to("/users?done=roles").into_response())
}

/// `POST /users/{id}/markers`: replaces a user's skills with the checked markers (none
/// checked clears them; crm-lib checks `manage_users` and the markers).
async fn user_markers(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token = pairs
        .iter()
        .find(|(key, _)| key == "csrf")
        .map_or("", |(_, value)| value.as_str());
    csrf::verify(&staff, token, &headers)?;
    let id = user_id(&id)?;
    let result = match checked_markers(&pairs) {
        Ok(markers) => {
            let actor = staff.actor.clone();
            state
                .blocking(move |crm| Ok(crm.set_user_markers(&actor, id, markers)))
                .await?
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/users?done=skills").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup =
                users_page(&state, &staff, &UserForm::default(), &error, None, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// `POST /users/{id}/password`: resets the user's password to a random one, shown once on the
/// page that answers (not a redirect, so it is never in a URL or the history); they must
/// change it at their next login, and their sessions end.
async fn reset_password(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = user_id(&id)?;
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.reset_password(&actor, id)))
        .await?;
    match result {
        Ok((user, password)) => {
            state.web().sessions.evict_user(id);
            let shown = OneTimePassword {
                username: &user.username,
                password: password.expose(),
                reset: true,
            };
            let markup = users_page(
                &state,
                &staff,
                &UserForm::default(),
                &FormError::none(),
                None,
                Some(shown),
            )
            .await?;
            Ok(markup.into_response())
        }
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup =
                users_page(&state, &staff, &UserForm::default(), &error, None, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Roles.

async fn roles(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    roles_page(
        &state,
        &staff,
        "",
        PermissionSet::EMPTY,
        &FormError::none(),
        note.as_deref(),
    )
    .await
}

async fn roles_page(
    state: &AppState,
    staff: &Staff,
    name: &str,
    chosen: PermissionSet,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    if !staff.navigation().roles {
        return Err(AppError::forbidden(staff.t("roles.forbidden")));
    }
    let actor = staff.actor.clone();
    let roles = state
        .blocking(move |crm| crm.read(|view| crm_lib::team::roles_in(view, &actor)))
        .await?;
    Ok(page(
        staff,
        &staff.t("roles.title"),
        Nav::Roles,
        html! {
            (notice(note))
            (error.general(&["name"]))
            p.muted { (staff.t("roles.edit_hint")) }
            div.table-scroll {
                // A custom role's checkboxes belong to that column's form (the `form`
                // attribute), so each column saves on its own; built-in columns stay read-only.
                table.permissions {
                    thead { tr {
                        th { (staff.t("roles.permission")) }
                        @for role in &roles {
                            th {
                                (role.name)
                                @if role.builtin.is_some() { br; span.muted.small { (staff.t("roles.builtin")) } }
                            }
                        }
                    } }
                    tbody {
                        @for permission in Permission::ALL {
                            tr {
                                td { code { (permission.as_str()) } }
                                @for role in &roles {
                                    td {
                                        @if role.builtin.is_some() {
                                            input type="checkbox" disabled checked[role.permissions.contains(permission)]
                                                aria-label={ (role.name) " " (permission.as_str()) };
                                        } @else {
                                            input type="checkbox" name="permission" value=(permission.as_str())
                                                form={ "role-" (role.id) }
                                                checked[role.permissions.contains(permission)]
                                                aria-label={ (role.name) " " (permission.as_str()) };
                                        }
                                    }
                                }
                            }
                        }
                    }
                    tfoot { tr {
                        td {}
                        @for role in &roles {
                            td {
                                @if role.builtin.is_none() {
                                    form id={ "role-" (role.id) } method="post" action={ "/roles/" (role.id) "/permissions" } {
                                        (csrf_field(staff))
                                        button.small type="submit" { (staff.t("roles.save")) }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
            h2 { (staff.t("roles.new")) }
            form.form.card method="post" action="/roles" {
                (csrf_field(staff))
                label { (staff.t("roles.name"))
                    input type="text" name="name" value=(name) required;
                    (error.at("name"))
                }
                fieldset.checks {
                    @for permission in Permission::ALL {
                        label.check {
                            input type="checkbox" name="permission" value=(permission.as_str()) checked[chosen.contains(permission)];
                            (permission.as_str())
                        }
                    }
                }
                button type="submit" { (staff.t("roles.create")) }
            }
        },
    ))
}

async fn create_role(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map_or(String::new(), |(_, value)| value.clone())
    };
    csrf::verify(&staff, &value("csrf"), &headers)?;
    let name = value("name");
    let permissions = checked_permissions(&pairs)?;
    let actor = staff.actor.clone();
    let role_name = name.clone();
    match state
        .blocking(move |crm| Ok(crm.create_role(&actor, &role_name, permissions)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/roles?done=role_created").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = roles_page(&state, &staff, &name, permissions, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// The permissions checked in a roles form; an unknown name is a 422 on `permission`.
fn checked_permissions(pairs: &[(String, String)]) -> Result<PermissionSet, AppError> {
    let mut permissions = PermissionSet::EMPTY;
    for (_, text) in pairs.iter().filter(|(key, _)| key == "permission") {
        permissions.insert(Permission::parse("permission", text)?);
    }
    Ok(permissions)
}

/// `POST /roles/{id}/permissions`: replaces a custom role's permissions with the checked ones.
async fn role_permissions(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token = pairs
        .iter()
        .find(|(key, _)| key == "csrf")
        .map_or("", |(_, value)| value.as_str());
    csrf::verify(&staff, token, &headers)?;
    let role = id
        .parse()
        .map(RoleId::new)
        .map_err(|_| AppError::not_found(format!("role {id:?} not found")))?;
    let permissions = checked_permissions(&pairs)?;
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.set_role_permissions(&actor, role, permissions)))
        .await?
    {
        Ok(_) => {
            // Every holder's cached permissions are stale now.
            state.web().sessions.clear();
            Ok(Redirect::to("/roles?done=role_changed").into_response())
        }
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = roles_page(&state, &staff, "", PermissionSet::EMPTY, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Markers.

/// The marker form.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct MarkerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: String,
}

async fn markers(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    markers_page(
        &state,
        &staff,
        &MarkerForm::default(),
        &FormError::none(),
        note.as_deref(),
    )
    .await
}

async fn markers_page(
    state: &AppState,
    staff: &Staff,
    form: &MarkerForm,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let markers = state
        .blocking(move |crm| crm.read(|view| crm_lib::team::markers_in(view, &actor)))
        .await?;
    Ok(page(
        staff,
        &staff.t("markers.title"),
        Nav::Markers,
        markers_body(staff, &markers, form, error, note),
    ))
}

/// The markers page's markup: each marker (with its edit and delete forms for those who
/// manage markers) and the new-marker form.
fn markers_body(
    staff: &Staff,
    markers: &[crm_lib::model::Marker],
    form: &MarkerForm,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let manage = staff.navigation().markers;
    html! {
        (notice(note))
        ul.markers {
            @for marker in markers {
                li {
                    (crate::web::colors::swatch(&marker.color))
                    " " (marker.name.get(staff.language)) " " code.muted { (marker.color) }
                    @if manage {
                        details.edit-marker {
                            summary { (staff.t("markers.edit")) }
                            form.form.inline method="post" action={ "/markers/" (marker.id) } {
                                (csrf_field(staff))
                                @for language in Language::all() {
                                    label { (language.code().to_uppercase())
                                        input type="text" name={ "name_" (language.code()) }
                                            value=(marker.name.exact(language).unwrap_or_default())
                                            required[language == Language::default()] maxlength="32";
                                    }
                                }
                                label { (staff.t("markers.color"))
                                    input type="color" name="color" value=(marker.color);
                                }
                                button.small type="submit" { (staff.t("form.save")) }
                            }
                            form method="post" action={ "/markers/" (marker.id) "/delete" } {
                                (csrf_field(staff))
                                p.muted { (staff.t("markers.delete_hint")) }
                                button.danger.small type="submit" { (staff.t("markers.delete")) }
                            }
                        }
                    }
                }
            }
        }
        @if markers.is_empty() { p.muted { (staff.t("markers.none")) } }
        @if manage {
            h2 { (staff.t("markers.new")) }
            form.form.card method="post" action="/markers" {
                (csrf_field(staff))
                (error.general(&["name", "color"]))
                label { (staff.t("markers.name"))
                    input type="text" name="name" value=(form.name) required maxlength="32";
                    (error.at("name"))
                }
                label { (staff.t("markers.color"))
                    input type="color" name="color" value=(if form.color.is_empty() { "#3b82f6" } else { form.color.as_str() });
                    (error.at("color"))
                }
                button type="submit" { (staff.t("markers.create")) }
            }
        }
    }
}

async fn create_marker(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<MarkerForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    // A marker is named in the language its creator works in; the others fall back to it.
    let name = crm_lib::model::Localized::default().with(staff.language, form.name.clone());
    let (actor, color) = (staff.actor.clone(), form.color.clone());
    match state
        .blocking(move |crm| Ok(crm.create_marker(&actor, name, &color)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/markers?done=marker_created").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = markers_page(&state, &staff, &form, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

fn marker_id(text: &str) -> Result<MarkerId, AppError> {
    text.parse()
        .map(MarkerId::new)
        .map_err(|_| AppError::not_found(format!("marker {text:?} not found")))
}

/// `POST /markers/{id}`: renames (per language) and recolours a marker.
async fn update_marker(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StageForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let marker = marker_id(&id)?;
    let name = form.localized_name();
    let (actor, color) = (staff.actor.clone(), form.color.clone());
    match state
        .blocking(move |crm| Ok(crm.update_marker(&actor, marker, name, &color)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/markers?done=marker_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = markers_page(&state, &staff, &MarkerForm::default(), &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// `POST /markers/{id}/delete`: deletes a marker; crm-lib takes it off every order and user.
async fn delete_marker(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let marker = marker_id(&id)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.delete_marker(&actor, marker))
        .await?;
    Ok(Redirect::to("/markers?done=marker_deleted").into_response())
}

// ---------------------------------------------------------------------------------------------
// Payment methods.

/// The payment method form.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct MethodForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    template: String,
}

async fn payment_methods(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    methods_page(
        &state,
        &staff,
        &MethodForm::default(),
        &FormError::none(),
        note.as_deref(),
    )
    .await
}

async fn methods_page(
    state: &AppState,
    staff: &Staff,
    form: &MethodForm,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let methods = state
        .blocking(move |crm| crm.read(|view| crm_lib::billing::billing_methods_in(view, &actor)))
        .await?;
    Ok(page(
        staff,
        &staff.t("methods.title"),
        Nav::PaymentMethods,
        html! {
            (notice(note))
            table {
                thead { tr {
                    th { (staff.t("methods.name")) }
                    th { (staff.t("methods.template")) }
                    th { (staff.t("users.status")) }
                    th { span.sr-only { (staff.t("table.actions")) } }
                } }
                tbody {
                    @for method in &methods {
                        tr {
                            td { (method.name) }
                            td { pre.template { (method.template) } }
                            td { (staff.t(if method.active { "methods.active" } else { "methods.inactive" })) }
                            td {
                                form method="post" action={ "/payment-methods/" (method.id) "/active" } {
                                    (csrf_field(staff))
                                    input type="hidden" name="active" value=(if method.active { "false" } else { "true" });
                                    button.small type="submit" {
                                        (staff.t(if method.active { "methods.deactivate" } else { "methods.activate" }))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (staff.t("methods.new")) }
            form.form.card method="post" action="/payment-methods" {
                (csrf_field(staff))
                (error.general(&["name", "template"]))
                label { (staff.t("methods.name"))
                    input type="text" name="name" value=(form.name) required maxlength="64";
                    (error.at("name"))
                }
                label { (staff.t("methods.template"))
                    textarea name="template" rows="4" maxlength="2000" { (form.template) }
                    (error.at("template"))
                }
                p.muted { (staff.t("methods.placeholders")) }
                button type="submit" { (staff.t("methods.create")) }
            }
        },
    ))
}

async fn create_method(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<MethodForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (actor, name, template) = (
        staff.actor.clone(),
        form.name.clone(),
        form.template.clone(),
    );
    match state
        .blocking(move |crm| Ok(crm.create_payment_method(&actor, &name, &template)))
        .await?
    {
        Ok(_) => Ok(Redirect::to("/payment-methods?done=method_created").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = methods_page(&state, &staff, &form, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// The activate/deactivate form.
#[derive(Debug, Default, Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

async fn method_active(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ActiveForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let id = id
        .parse()
        .map(PaymentMethodId::new)
        .map_err(|_| AppError::not_found(format!("payment method {id:?} not found")))?;
    let active = form.active == "true";
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.set_payment_method_active(&actor, id, active))
        .await?;
    Ok(Redirect::to("/payment-methods?done=method_changed").into_response())
}

// ---------------------------------------------------------------------------------------------
// Settings.

/// The settings form, as typed.
#[derive(Debug, Default, Deserialize, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    open_order_limit: String,
    #[serde(default)]
    commission_percent: String,
    #[serde(default)]
    commission_fixed: String,
    #[serde(default)]
    bot_token: String,
    #[serde(default)]
    clear_bot_token: Option<String>,
}

async fn settings(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    settings_page(&state, &staff, None, &FormError::none(), note.as_deref()).await
}

fn percent(bps: u32) -> String {
    format!("{}.{:02}", bps / 100, bps % 100)
}

async fn settings_page(
    state: &AppState,
    staff: &Staff,
    typed: Option<&SettingsForm>,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let view = state
        .blocking(move |crm| crm.read(|view| crm_lib::org::settings_in(view, &actor)))
        .await?;
    let org = &view.org;
    let settings = &org.settings;
    let form = typed.cloned().unwrap_or_else(|| SettingsForm {
        name: org.name.clone(),
        locale: settings.locale.code().to_string(),
        currency: settings.currency.clone(),
        open_order_limit: settings.open_order_limit.to_string(),
        commission_percent: percent(settings.commission_bps),
        commission_fixed: settings.commission_fixed.to_string(),
        ..SettingsForm::default()
    });
    let language = staff.language;
    let fields = [
        "name",
        "locale",
        "currency",
        "open_order_limit",
        "commission_bps",
        "commission_fixed",
        "bot_token",
    ];
    Ok(page(
        staff,
        &staff.t("settings.title"),
        Nav::Settings,
        html! {
            (notice(note))
            form.form.card method="post" action="/settings" autocomplete="off" {
                (csrf_field(staff))
                (error.general(&fields))
                label { (staff.t("settings.name"))
                    input type="text" name="name" value=(form.name) required maxlength="100";
                    (error.at("name"))
                }
                label { (staff.t("settings.locale"))
                    select name="locale" {
                        @for option in Language::all() {
                            option value=(option.code()) selected[form.locale == option.code()] { (option.native_name()) }
                        }
                    }
                }
                label { (staff.t("settings.currency"))
                    input type="text" name="currency" value=(form.currency) maxlength="3" required;
                    (error.at("currency"))
                }
                label { (staff.t("settings.open_order_limit"))
                    input type="number" name="open_order_limit" min="0" value=(form.open_order_limit);
                    (error.at("open_order_limit"))
                }
                label { (staff.t("settings.commission_percent"))
                    input type="text" name="commission_percent" inputmode="decimal" value=(form.commission_percent);
                    (error.at("commission_bps"))
                }
                label { (staff.t("settings.commission_fixed")) " (" (settings.currency) ")"
                    input type="text" name="commission_fixed" inputmode="decimal" value=(form.commission_fixed);
                    (error.at("commission_fixed"))
                }
                label { (staff.t("settings.bot_token")) " "
                    span.badge { (staff.t(if view.bot_token_set { "settings.token_set" } else { "settings.token_not_set" })) }
                    input type="password" name="bot_token" value="" autocomplete="new-password" placeholder=(staff.t("settings.token_placeholder"));
                    (error.at("bot_token"))
                }
                @if view.bot_token_set {
                    label.check { input type="checkbox" name="clear_bot_token" value="1"; (staff.t("settings.clear_token")) }
                }
                button type="submit" { (staff.t("form.save")) }
            }
            section.card {
                h2 { (staff.t("settings.pipeline")) " (" (org.template) ")" }
                ol.pipeline {
                    @for stage in &org.pipeline.stages {
                        li {
                            (crate::web::colors::swatch(&stage.color))
                            " " (stage.name(language)) " "
                            span.muted { "→ " (org.pipeline.next_stages(stage.id).iter().map(|next| next.name(language)).collect::<Vec<_>>().join(", ")) }
                            details {
                                summary { (staff.t("settings.edit_stage")) }
                                form.form.inline method="post" action={ "/settings/stages/" (stage.id) } {
                                    (csrf_field(staff))
                                    @for other in Language::all() {
                                        label { (other.code().to_uppercase()) input type="text" name={ "name_" (other.code()) } value=(stage.name.exact(other).unwrap_or_default()) required[other == Language::default()] maxlength="40"; }
                                    }
                                    label { (staff.t("settings.stage_color")) input type="color" name="color" value=(stage.color); }
                                    button type="submit" { (staff.t("form.save")) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn parse_percent(text: &str) -> Result<u32, crm_lib::Error> {
    let bad = || {
        crm_lib::Error::invalid(
            "commission_bps",
            format!("{:?} is not a percentage like 10 or 12.5", text.trim()),
        )
    };
    let money = Money::parse("commission_bps", text).map_err(|_| bad())?;
    u32::try_from(money.minor()).map_err(|_| bad())
}

async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let parsed = (|| -> crm_lib::Result<SettingsUpdate> {
        let limit = form.open_order_limit.trim().parse::<u32>().map_err(|_| {
            crm_lib::Error::invalid(
                "open_order_limit",
                "must be a whole number (0 means no limit)",
            )
        })?;
        Ok(SettingsUpdate {
            name: Some(form.name.clone()),
            locale: Some(Language::parse("locale", &form.locale)?),
            currency: Some(form.currency.clone()),
            open_order_limit: Some(limit),
            commission_bps: Some(parse_percent(&form.commission_percent)?),
            commission_fixed: Some(Money::parse("commission_fixed", &form.commission_fixed)?),
            bot_token: if form.clear_bot_token.is_some() {
                Some(None)
            } else if form.bot_token.trim().is_empty() {
                None
            } else {
                Some(Some(form.bot_token.clone()))
            },
        })
    })();
    let result = match parsed {
        Ok(update) => {
            let actor = staff.actor.clone();
            state
                .blocking(move |crm| Ok(crm.update_settings(&actor, update)))
                .await?
                .map(|_| ())
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/settings?done=settings_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            // The token is never echoed back, not even after a failed save.
            let typed = SettingsForm {
                bot_token: String::new(),
                ..form
            };
            let markup = settings_page(&state, &staff, Some(&typed), &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}

/// The form of a name per language and a colour: a stage on the settings page, a marker on
/// the markers page.
#[derive(Debug, Default, Deserialize)]
struct StageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    color: String,
    /// `name_<language code>` for every language.
    #[serde(flatten)]
    names: std::collections::HashMap<String, String>,
}

impl StageForm {
    /// The `name_<code>` fields as one name; a language left empty is left out.
    fn localized_name(&self) -> crm_lib::model::Localized {
        let mut name = crm_lib::model::Localized::default();
        for language in Language::all() {
            if let Some(text) = self.names.get(&format!("name_{}", language.code())) {
                name.set(language, text.trim());
            }
        }
        name
    }
}

/// `POST /settings/stages/{id}`: rename and recolour a stage (crm-lib checks
/// `manage_settings` and the values).
async fn save_stage(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StageForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let stage = id
        .parse()
        .map(StageId::new)
        .map_err(|_| AppError::not_found(format!("stage {id:?} not found")))?;
    let update = StageUpdate {
        name: form.localized_name(),
        color: form.color,
    };
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.update_stage(&actor, stage, update)))
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/settings?done=stage_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            let markup = settings_page(&state, &staff, None, &error, None).await?;
            Ok((status, markup).into_response())
        }
    }
}
