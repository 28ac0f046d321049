//! The users page: create a user with a one-time password, roles, skills, disable and
//! enable, a password reset shown once.

use super::*;
use crate::web::layout::form_value;

/// The new-user form.
#[derive(Debug, Default, Deserialize, Clone)]
pub(super) struct UserForm {
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
        let value = |name: &str| form_value(pairs, name).to_string();
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
pub(super) fn checked_markers(pairs: &[(String, String)]) -> Result<Vec<MarkerId>, crm_lib::Error> {
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
pub(super) struct OneTimePassword<'a> {
    pub(super) username: &'a str,
    pub(super) password: &'a str,
    pub(super) reset: bool,
}

pub(super) async fn users(
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

pub(super) async fn users_page(
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
pub(super) fn users_body(
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
                th { (staff.t("users.phone")) }
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
                        td {
                            form.inline method="post" action={ "/users/" (user.id) "/phone" } {
                                (csrf_field(staff))
                                input type="tel" name="phone" value=[user.phone.as_deref()] size="14"
                                    placeholder="+7 999 000-00-00" aria-label=(staff.t("users.phone"))
                                    autocomplete="off";
                                button.small type="submit" { (staff.t("form.save")) }
                            }
                        }
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
pub(super) fn user_skills(
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

pub(super) async fn create_user(
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
        .hashing(move |crm| Ok(crm.create_user_with_markers(&actor, request, markers)))
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
        Err(error) => refused(&state, &staff, &form, error).await,
    }
}

pub(super) async fn disable_user(
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
    state.web().sessions.evict_user(staff.actor.org, id);
    Ok(Redirect::to("/users?done=disabled").into_response())
}

/// `POST /users/{id}/enable`: lets a disabled user log in again.
pub(super) async fn enable_user(
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
    state.web().sessions.evict_user(staff.actor.org, id);
    Ok(Redirect::to("/users?done=enabled").into_response())
}

pub(super) async fn user_roles(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
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
    state.web().sessions.evict_user(staff.actor.org, id);
    Ok(Redirect::to("/users?done=roles").into_response())
}

/// `POST /users/{id}/markers`: replaces a user's skills with the checked markers (none
/// checked clears them; crm-lib checks `manage_users` and the markers).
pub(super) async fn user_markers(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
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
        Err(error) => refused(&state, &staff, &UserForm::default(), error).await,
    }
}

/// The users page again with crm-lib's refusal of a posted form (`form` as typed) and its
/// status; an error that is no refusal of the input propagates.
async fn refused(
    state: &AppState,
    staff: &Staff,
    form: &UserForm,
    error: crm_lib::Error,
) -> Result<Response, AppError> {
    let (status, error) = form_failure(error)?;
    let markup = users_page(state, staff, form, &error, None, None).await?;
    Ok((status, markup).into_response())
}

/// `POST /users/{id}/phone`: sets, changes or (empty) removes a user's phone, which the
/// worker's bot matches a shared contact against (crm-lib checks `manage_users`, cleans the
/// number and refuses one another user has).
pub(super) async fn user_phone(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = user_id(&id)?;
    let phone = form_value(&pairs, "phone").to_string();
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| Ok(crm.set_user_phone(&actor, id, Some(&phone))))
        .await?;
    match result {
        Ok(_) => Ok(Redirect::to("/users?done=phone").into_response()),
        Err(error) => refused(&state, &staff, &UserForm::default(), error).await,
    }
}

/// `POST /users/{id}/password`: resets the user's password to a random one, shown once on the
/// page that answers (not a redirect, so it is never in a URL or the history); they must
/// change it at their next login, and their sessions end.
pub(super) async fn reset_password(
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
        .hashing(move |crm| Ok(crm.reset_password(&actor, id)))
        .await?;
    match result {
        Ok(crm_lib::team::PasswordReset { user, password }) => {
            state.web().sessions.evict_user(staff.actor.org, id);
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
        Err(error) => refused(&state, &staff, &UserForm::default(), error).await,
    }
}
