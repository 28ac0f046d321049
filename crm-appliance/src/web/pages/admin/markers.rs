//! The markers page: markers with their colours, edited per language and deleted.

use super::*;

/// The marker form.
#[derive(Debug, Default, Deserialize, Clone)]
pub(super) struct MarkerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    color: String,
}

pub(super) async fn markers(
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

pub(super) async fn markers_page(
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
pub(super) fn markers_body(
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

pub(super) async fn create_marker(
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

pub(super) fn marker_id(text: &str) -> Result<MarkerId, AppError> {
    text.parse()
        .map(MarkerId::new)
        .map_err(|_| AppError::not_found(format!("marker {text:?} not found")))
}

/// `POST /markers/{id}`: renames (per language) and recolours a marker.
pub(super) async fn update_marker(
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
pub(super) async fn delete_marker(
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
