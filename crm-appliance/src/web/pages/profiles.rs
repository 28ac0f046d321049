//! Customers' profiles (the tokens module) on the web: the Profiles section of the customer
//! page (`/customers/{id}`, see `timeline`), a profile's page `/profiles/{id}` (view, edit,
//! archive or restore), adding one (`/customers/{id}/profiles/new`), and the registration
//! form's settings page `/settings/registration` (the form as text: fields added, removed,
//! reordered, required or not, choices, defaults). crm-lib checks everything
//! ([`crm_lib::profiles`], [`crm_lib::forms`]); while the module is off every route is 404.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::model::{CustomerId, FieldSet, FieldValue, FormDef, Profile, ProfileId};
use crm_lib::profiles::{ProfileAnswers, ProfileView};
use maud::{Markup, html};

use super::ticket;
use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::{AppError, status_of};
use crate::web::i18n::when;
use crate::web::layout::{FormError, Nav, csrf_field, form_value, notice, page};

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/profiles/new", get(new_profile))
        .route("/customers/{id}/profiles", post(create_profile))
        .route("/profiles/{id}", get(show_profile).post(save_profile))
        .route("/profiles/{id}/archive", post(archive_profile))
        .route(
            "/settings/registration",
            get(registration).post(save_registration),
        )
}

/// The Profiles section of the customer page: each profile (archived ones marked) linking to
/// its page, and Add when `staff` may edit. `None`: the section is not shown (the module is
/// off, or the reader may not see profiles).
pub fn profiles_section(staff: &Staff, customer: CustomerId, profiles: &[Profile]) -> Markup {
    let edit = staff.navigation().profiles;
    html! {
        section.card #profiles data-live-refresh="profile" {
            h2 { (staff.t("profiles.title")) }
            @if profiles.is_empty() {
                p.muted { (staff.t("profiles.empty")) }
            } @else {
                ul.profiles {
                    @for profile in profiles {
                        li data-profile=(profile.id) {
                            a href={ "/profiles/" (profile.id) } { (profile.label) }
                            @if let Some(email) = profile.answers.get("email") {
                                " · " (email.to_answer())
                            }
                            @if let Some(phone) = profile.answers.get("phone") {
                                " · " (phone.to_answer())
                            }
                            @if profile.archived {
                                " " span.badge.archived { (staff.t("profiles.archived")) }
                            }
                        }
                    }
                }
            }
            @if edit {
                a.button.small href={ "/customers/" (customer) "/profiles/new" } { (staff.t("profiles.add")) }
            }
        }
    }
}

/// The answers a profile form sent (`field.<key>` inputs).
fn answers_of(pairs: &[(String, String)]) -> ProfileAnswers {
    ticket::answers_of(pairs).into_iter().collect()
}

/// A profile's values as the form's inputs show them.
fn value_of(profile: Option<&Profile>, pairs: Option<&[(String, String)]>, key: &str) -> String {
    if let Some(pairs) = pairs {
        return form_value(pairs, &format!("{}{key}", ticket::PREFIX)).to_string();
    }
    profile
        .and_then(|profile| profile.answers.get(key))
        .map(FieldValue::to_answer)
        .unwrap_or_default()
}

/// The add form's markup: the registration form's fields as inputs, its defaults filled in.
pub fn new_body(
    staff: &Staff,
    customer: CustomerId,
    form: &FormDef,
    sent: Option<&[(String, String)]>,
    error: &FormError,
) -> Markup {
    let value = |key: &str| match sent {
        Some(_) => value_of(None, sent, key),
        None => form.defaults.get(key).cloned().unwrap_or_default(),
    };
    html! {
        form.form.card #profile-form method="post" action={ "/customers/" (customer) "/profiles" } {
            (csrf_field(staff))
            (error.general(&[]))
            (ticket::inputs(staff, &form.fields, &value))
            button type="submit" { (staff.t("profiles.save")) }
        }
        p { a href={ "/customers/" (customer) } { (staff.t("profiles.back")) } }
    }
}

/// A profile's page: its answers, and (for editors) the edit form and Archive or Restore.
pub fn profile_body(
    staff: &Staff,
    view: &ProfileView,
    sent: Option<&[(String, String)]>,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let profile = &view.profile;
    let set = FieldSet {
        fields: view.fields.iter().map(|(def, _)| def.clone()).collect(),
    };
    html! {
        (notice(note))
        @if profile.archived { p { span.badge.archived { (staff.t("profiles.archived")) } } }
        p.muted {
            a href={ "/customers/" (profile.customer) } { (staff.t("profiles.back")) }
            " · " (staff.t("profiles.created")) " " (when(profile.created_at))
            " · " (staff.t("profiles.updated")) " " (when(profile.updated_at))
        }
        dl.profile-answers {
            @for (def, value) in &view.fields {
                dt { (def.name.get(staff.language)) }
                dd data-field=(def.key) {
                    (value.as_ref().map_or_else(|| "—".to_string(), |value| value.display(Some(def), staff.language, "")))
                }
            }
        }
        @if view.edit {
            form.form.card #profile-form method="post" action={ "/profiles/" (profile.id) } {
                h2 { (staff.t("profiles.edit")) }
                (csrf_field(staff))
                (error.general(&[]))
                (ticket::inputs(staff, &set, &|key| value_of(Some(profile), sent, key)))
                button type="submit" { (staff.t("profiles.save")) }
            }
            form.inline method="post" action={ "/profiles/" (profile.id) "/archive" } {
                (csrf_field(staff))
                input type="hidden" name="archived" value=(if profile.archived { "no" } else { "yes" });
                button.small.secondary type="submit" {
                    @if profile.archived { (staff.t("profiles.restore")) } @else { (staff.t("profiles.archive")) }
                }
            }
        }
    }
}

/// The registration form's settings: the fields as a list, and the form as text to edit.
pub fn registration_body(
    staff: &Staff,
    form: &FormDef,
    text: &str,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    html! {
        (notice(note))
        p.muted { (staff.t("registration.intro")) }
        ol.registration-fields {
            @for field in &form.fields.fields {
                li data-field=(field.key) {
                    strong { (field.name.get(staff.language)) }
                    " (" code { (field.key) } ", " (field.kind.name()) ")"
                    @if field.required { " · " (staff.t("registration.required")) } @else { " · " (staff.t("registration.optional")) }
                    @if let Some(default) = form.defaults.get(&field.key) {
                        " · " (staff.t("registration.default")) " " (default)
                    }
                }
            }
        }
        form.form.card #registration-form method="post" action="/settings/registration" {
            (csrf_field(staff))
            (error.general(&[]))
            label {
                (staff.t("registration.text"))
                textarea name="form" rows="30" spellcheck="false" { (text) }
            }
            button type="submit" { (staff.t("registration.save")) }
        }
    }
}

/// A customer id in a path (anything else: not found).
fn customer_of(text: &str) -> Result<CustomerId, AppError> {
    text.parse::<u64>()
        .map(CustomerId::new)
        .map_err(|_| AppError::not_found(format!("customer {text:?} not found")))
}

/// A profile id in a path (anything else: not found).
fn profile_of(text: &str) -> Result<ProfileId, AppError> {
    text.parse::<u64>()
        .map(ProfileId::new)
        .map_err(|_| AppError::not_found(format!("profile {text:?} not found")))
}

/// `GET /customers/{id}/profiles/new`.
async fn new_profile(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Markup, AppError> {
    let customer = customer_of(&id)?;
    new_page(&state, &staff, customer, None, &FormError::none()).await
}

async fn new_page(
    state: &AppState,
    staff: &Staff,
    customer: CustomerId,
    sent: Option<&[(String, String)]>,
    error: &FormError,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let form = state
        .blocking(move |crm| crm.registration_form(&actor))
        .await?;
    Ok(page(
        staff,
        &staff.t("profiles.new_title"),
        Nav::Chat,
        new_body(staff, customer, &form, sent, error),
    ))
}

/// `POST /customers/{id}/profiles`.
async fn create_profile(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let customer = customer_of(&id)?;
    let answers = answers_of(&pairs);
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.create_profile(&actor, customer, answers)))
        .await?
    {
        Ok(profile) => {
            Ok(Redirect::to(&format!("/profiles/{}?done=created", profile.id)).into_response())
        }
        Err(error) if error.kind() == crm_lib::ErrorKind::InvalidInput => {
            let status = status_of(error.kind());
            let body = new_page(
                &state,
                &staff,
                customer,
                Some(&pairs),
                &FormError::from_error(&error),
            )
            .await?;
            Ok((status, body).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `?done=` after a change.
#[derive(Debug, Default, serde::Deserialize)]
struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /profiles/{id}`.
async fn show_profile(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    axum::extract::Query(done): axum::extract::Query<Done>,
) -> Result<Markup, AppError> {
    let id = profile_of(&id)?;
    let note = done.done.as_deref().map(|done| {
        staff.t(&format!(
            "profiles.done.{}",
            match done {
                "created" => "created",
                "archived" => "archived",
                "restored" => "restored",
                _ => "saved",
            }
        ))
    });
    profile_page(
        &state,
        &staff,
        id,
        None,
        &FormError::none(),
        note.as_deref(),
    )
    .await
}

async fn profile_page(
    state: &AppState,
    staff: &Staff,
    id: ProfileId,
    sent: Option<&[(String, String)]>,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let view = state.blocking(move |crm| crm.profile(&actor, id)).await?;
    Ok(page(
        staff,
        &view.profile.label,
        Nav::Chat,
        profile_body(staff, &view, sent, error, note),
    ))
}

/// `POST /profiles/{id}`: the whole form (a field left empty is cleared).
async fn save_profile(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = profile_of(&id)?;
    let answers = answers_of(&pairs);
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.update_profile(&actor, id, answers)))
        .await?
    {
        Ok(_) => Ok(Redirect::to(&format!("/profiles/{id}?done=saved")).into_response()),
        Err(error) if error.kind() == crm_lib::ErrorKind::InvalidInput => {
            let status = status_of(error.kind());
            let body = profile_page(
                &state,
                &staff,
                id,
                Some(&pairs),
                &FormError::from_error(&error),
                None,
            )
            .await?;
            Ok((status, body).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /profiles/{id}/archive` with `archived=yes` (archive) or `no` (restore).
async fn archive_profile(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    let id = profile_of(&id)?;
    let archived = match form_value(&pairs, "archived") {
        "yes" => true,
        "no" => false,
        other => {
            return Err(
                crm_lib::Error::invalid("archived", format!("{other:?} is not yes or no")).into(),
            );
        }
    };
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.archive_profile(&actor, id, archived))
        .await?;
    let done = if archived { "archived" } else { "restored" };
    Ok(Redirect::to(&format!("/profiles/{id}?done={done}")).into_response())
}

/// `GET /settings/registration`.
async fn registration(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    registration_page(&state, &staff, None, &FormError::none(), None).await
}

async fn registration_page(
    state: &AppState,
    staff: &Staff,
    sent: Option<&str>,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    settings_guard(staff)?;
    let actor = staff.actor.clone();
    let form = state
        .blocking(move |crm| crm.registration_form(&actor))
        .await?;
    let text = sent.map_or_else(|| crm_lib::forms::form_to_text(&form), str::to_string);
    Ok(page(
        staff,
        &staff.t("registration.title"),
        Nav::Settings,
        registration_body(staff, &form, &text, error, note),
    ))
}

/// Who may open the registration form's settings: `manage_settings` first (403), then the
/// tokens module (404), as crm-lib answers for the other modules' settings. The reading rule
/// is wider (staff who edit profiles read the form); this page is the settings' own.
fn settings_guard(staff: &Staff) -> Result<(), AppError> {
    let navigation = staff.navigation();
    if !navigation.settings {
        return Err(crm_lib::Error::denied(
            crm_lib::model::Permission::ManageSettings,
            format!(
                "{} lacks the manage_settings permission",
                staff.user.username
            ),
        )
        .into());
    }
    if !navigation.registration_form {
        return Err(AppError::not_found(
            "page /settings/registration not found".to_string(),
        ));
    }
    Ok(())
}

/// `POST /settings/registration`: the form as text.
async fn save_registration(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form_value(&pairs, "csrf"), &headers)?;
    settings_guard(&staff)?;
    let text = form_value(&pairs, "form").to_string();
    let actor = staff.actor.clone();
    let sent = text.clone();
    match state
        .blocking(move |crm| {
            Ok(crm_lib::forms::form_from_text(&sent)
                .and_then(|form| crm.set_registration_form(&actor, form)))
        })
        .await?
    {
        Ok(_) => {
            let note = staff.t("registration.saved");
            Ok(
                registration_page(&state, &staff, None, &FormError::none(), Some(&note))
                    .await?
                    .into_response(),
            )
        }
        Err(error) if error.kind() == crm_lib::ErrorKind::InvalidInput => {
            let status = status_of(error.kind());
            let body = registration_page(
                &state,
                &staff,
                Some(&text),
                &FormError::from_error(&error),
                None,
            )
            .await?;
            Ok((status, body).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    fn mary() -> ProfileAnswers {
        [
            ("first_name", "Mary"),
            ("middle_name", "Jane"),
            ("last_name", "Smith"),
            ("phone", "+1 212 555 0100"),
            ("email", "mary@example.com"),
            ("state", "NY"),
            ("postal_code", "10001"),
            ("date_of_birth", "1990-05-17"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
    }

    #[test]
    fn the_customer_page_lists_profiles_and_a_profile_shows_every_answer() {
        let fixture = Fixture::new("service");
        let system = fixture.system();
        let customer = fixture
            .crm
            .create_customer(
                &system,
                crm_lib::customers::NewCustomer {
                    first_name: "Ann".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        let profile = fixture
            .crm
            .create_profile(&system, customer.id, mary())
            .unwrap();
        let mut second = mary();
        second.insert("first_name".into(), "Zoe".into());
        second.remove("middle_name");
        let zoe = fixture
            .crm
            .create_profile(&system, customer.id, second)
            .unwrap();
        fixture.crm.archive_profile(&system, zoe.id, true).unwrap();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let profiles = fixture.crm.profiles(&system, customer.id).unwrap();
        assert_snapshot!(
            "profiles_section",
            pretty(&profiles_section(&staff, customer.id, &profiles))
        );
        let view = fixture.crm.profile(&system, profile.id).unwrap();
        let russian = fixture.staff(BuiltinRole::Manager, Language::RU);
        assert_snapshot!(
            "profile_page_ru",
            pretty(&profile_body(
                &russian,
                &view,
                None,
                &FormError::none(),
                None
            ))
        );
    }
}
