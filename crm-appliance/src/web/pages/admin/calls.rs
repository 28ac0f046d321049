//! The PBX settings page (`/settings/calls`, needs `manage_settings`; calls are a `tickets`
//! module feature): the Zadarma API secret, write-only (the page shows only whether one is
//! set and its last characters), and the extension -> staff user map.

use super::*;

/// The secret form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SecretForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    secret: String,
}

/// The extension form: map `extension` to `user`, or remove it with an empty user.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ExtensionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    extension: String,
    #[serde(default)]
    user: String,
}

pub(super) async fn calls_settings(
    State(state): State<AppState>,
    staff: Staff,
    Query(done): Query<Done>,
) -> Result<Markup, AppError> {
    let note = done_note(&staff, &done);
    calls_page(&state, &staff, &FormError::none(), note.as_deref()).await
}

async fn calls_page(
    state: &AppState,
    staff: &Staff,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let view = state.blocking(move |crm| crm.call_settings(&actor)).await?;
    let url = format!(
        "{}/webhooks/zadarma/{}",
        state
            .config()
            .public_url
            .as_ref()
            .map_or("", |url| url.as_str())
            .trim_end_matches('/'),
        staff.org_slug
    );
    Ok(page(
        staff,
        &staff.t("calls.settings_title"),
        Nav::Settings,
        calls_body(staff, &view, &url, error, note),
    ))
}

/// The page's markup (a pure function of its data).
pub(super) fn calls_body(
    staff: &Staff,
    view: &CallSettingsView,
    webhook_url: &str,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    let language = staff.language;
    html! {
        (notice(note))
        p.muted { (crate::web::i18n::tr_with(language, "calls.webhook_help", &[("url", &webhook_url)])) }
        form.form.card method="post" action="/settings/calls/secret" autocomplete="off" {
            (csrf_field(staff))
            (error.general(&["secret", "extension"]))
            label { (staff.t("calls.secret")) " "
                span.badge {
                    @match (&view.secret_set, &view.secret_hint) {
                        (true, Some(hint)) => (crate::web::i18n::tr_with(language, "calls.secret_set", &[("hint", hint)])),
                        (true, None) => (staff.t("calls.secret_set_short")),
                        _ => (staff.t("calls.secret_unset")),
                    }
                }
                input type="password" name="secret" value="" autocomplete="new-password" placeholder=(staff.t("calls.secret_placeholder"));
                (error.at("secret"))
            }
            button type="submit" { (staff.t("calls.save_secret")) }
        }
        section.card {
            h2 { (staff.t("calls.extensions")) }
            @if view.extensions.is_empty() {
                p.muted { (staff.t("calls.none")) }
            } @else {
                table {
                    thead { tr {
                        th { (staff.t("calls.extension_number")) }
                        th { (staff.t("calls.extension_user")) }
                        th { span.sr-only { (staff.t("table.actions")) } }
                    } }
                    tbody {
                        @for row in &view.extensions {
                            tr {
                                td { (row.extension) }
                                td { (row.name) }
                                td {
                                    form method="post" action="/settings/calls/extensions" {
                                        (csrf_field(staff))
                                        input type="hidden" name="extension" value=(row.extension);
                                        input type="hidden" name="user" value="";
                                        button.small type="submit" { (staff.t("calls.unmap")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.form method="post" action="/settings/calls/extensions" {
                (csrf_field(staff))
                label { (staff.t("calls.extension_number"))
                    input type="text" name="extension" inputmode="numeric" maxlength="16" required;
                    (error.at("extension"))
                }
                label { (staff.t("calls.extension_user"))
                    select name="user" {
                        @for (id, name) in &view.users {
                            option value=(id) { (name) }
                        }
                    }
                }
                button type="submit" { (staff.t("calls.map")) }
            }
        }
    }
}

pub(super) async fn save_secret(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<SecretForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.set_zadarma_secret(&actor, &form.secret)))
        .await?
    {
        Ok(()) => Ok(Redirect::to("/settings/calls?done=calls_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            Ok((status, calls_page(&state, &staff, &error, None).await?).into_response())
        }
    }
}

pub(super) async fn save_extension(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<ExtensionForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let user = match form.user.trim() {
        "" => None,
        text => Some(user_id(text)?),
    };
    let actor = staff.actor.clone();
    match state
        .blocking(move |crm| Ok(crm.map_call_extension(&actor, &form.extension, user)))
        .await?
    {
        Ok(()) => Ok(Redirect::to("/settings/calls?done=calls_saved").into_response()),
        Err(error) => {
            let (status, error) = form_failure(error)?;
            Ok((status, calls_page(&state, &staff, &error, None).await?).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_calls_settings_show_whether_a_secret_is_set_never_the_secret_and_the_extensions() {
        let fixture = Fixture::new("studio");
        let system = fixture.system();
        let sample = fixture.sample();
        fixture
            .crm
            .update_settings(
                &system,
                SettingsUpdate {
                    modules: vec![(crm_lib::model::Module::Tickets, true)],
                    ..SettingsUpdate::default()
                },
            )
            .unwrap();
        fixture
            .crm
            .set_zadarma_secret(&system, "never-shown-secret-a1b2")
            .unwrap();
        fixture
            .crm
            .map_call_extension(&system, "100", Some(sample.ivan.id))
            .unwrap();
        let view = fixture.crm.call_settings(&system).unwrap();
        let staff = fixture.staff(BuiltinRole::Administrator, Language::RU);
        let html = pretty(&calls_body(
            &staff,
            &view,
            "https://crm.example/webhooks/zadarma",
            &FormError::none(),
            None,
        ));
        assert!(!html.contains("never-shown-secret"));
        assert_snapshot!(html);
    }
}
