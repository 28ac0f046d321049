//! `/settings/ai`: the AI qualification of leads (the projects module, `manage_settings`):
//! the switch, the OpenAI-compatible API's base URL (OpenRouter's when empty), the API key
//! (written, never shown back but as its last 4 characters), the model and the timeout.
//! One crm-lib call per handler; the markup is a pure function of what was read.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use crm_lib::ErrorKind;
use crm_lib::leads::{AiSettingsInput, AiSettingsView};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

/// The form's fields by name.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Fields {
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// `?done=saved`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /settings/ai`.
pub(super) async fn settings(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<Done>,
) -> Result<Markup, AppError> {
    let note = query.done.is_some().then(|| staff.t("ai.web.saved"));
    render(&state, &staff, &FormError::none(), note.as_deref()).await
}

async fn render(
    state: &AppState,
    staff: &Staff,
    error: &FormError,
    note: Option<&str>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let view = state.blocking(move |crm| crm.ai_settings(&actor)).await?;
    Ok(page(
        staff,
        &staff.t("ai.web.title"),
        Nav::Settings,
        body(staff, &view, error, note),
    ))
}

/// The settings form.
pub(crate) fn body(
    staff: &Staff,
    view: &AiSettingsView,
    error: &FormError,
    note: Option<&str>,
) -> Markup {
    html! {
        (notice(note))
        p.ai-state data-on=(if view.on { "yes" } else { "no" }) {
            (staff.t(if view.on { "ai.web.state_on" } else { "ai.web.state_off" }))
        }
        (error.general(&["base_url", "api_key", "model", "timeout_seconds"]))
        form.card.form method="post" action="/settings/ai" autocomplete="off" {
            (csrf_field(staff))
            label.check {
                input type="checkbox" name="enabled" value="1" checked[view.enabled];
                " " (staff.t("ai.web.enabled"))
            }
            label { (staff.t("ai.web.base_url"))
                input type="url" name="base_url" value=(view.base_url) maxlength="200";
                (error.at("base_url"))
            }
            p.muted { (staff.t("ai.web.base_url_hint")) }
            label { (staff.t("ai.web.key"))
                // Write-only: the saved key is never sent back, only its last 4 characters.
                input type="password" name="api_key" autocomplete="new-password" value=""
                    placeholder=(view.key_hint.clone().unwrap_or_default());
                (error.at("api_key"))
            }
            p.muted { (staff.t("ai.web.key_hint")) }
            label.check { input type="checkbox" name="remove_key" value="1"; " " (staff.t("ai.web.remove_key")) }
            label { (staff.t("ai.web.model"))
                input type="text" name="model" value=(view.model) maxlength="200";
                (error.at("model"))
            }
            label { (staff.t("ai.web.timeout"))
                input type="number" name="timeout_seconds" min="1" max="120" value=(view.timeout_seconds);
                (error.at("timeout_seconds"))
            }
            button type="submit" { (staff.t("ai.web.save")) }
        }
    }
}

/// The form read into crm-lib's input.
fn input_of(form: &Fields) -> crm_lib::Result<AiSettingsInput> {
    let key = form.get("api_key").trim();
    Ok(AiSettingsInput {
        enabled: form.get("enabled") == "1",
        base_url: form.get("base_url").to_string(),
        api_key: if form.get("remove_key") == "1" {
            Some(String::new())
        } else if key.is_empty() {
            None
        } else {
            Some(key.to_string())
        },
        model: form.get("model").to_string(),
        timeout_seconds: form
            .get("timeout_seconds")
            .trim()
            .parse()
            .map_err(|_| crm_lib::Error::invalid("timeout_seconds", "enter a whole number"))?,
    })
}

/// `POST /settings/ai`.
pub(super) async fn save(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, form.get("csrf"), &headers)?;
    let actor = staff.actor.clone();
    let result = match input_of(&form) {
        Ok(input) => {
            state
                .blocking(move |crm| Ok(crm.set_ai_settings(&actor, input)))
                .await?
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/settings/ai?done=saved").into_response()),
        Err(error) if error.kind() == ErrorKind::InvalidInput => {
            let status = crate::web::error::status_of(error.kind());
            let markup = render(&state, &staff, &FormError::from_error(&error), None).await?;
            Ok((status, markup).into_response())
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::leads::AiSettingsInput;
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_settings_show_the_key_only_by_its_last_characters() {
        let fixture = Fixture::new("renovation");
        let view = fixture
            .crm
            .set_ai_settings(
                &fixture.system(),
                AiSettingsInput {
                    enabled: true,
                    base_url: String::new(),
                    api_key: Some("sk-or-v1-0123456789abcdef".into()),
                    model: String::new(),
                    timeout_seconds: 30,
                },
            )
            .unwrap();
        let admin = fixture.staff(BuiltinRole::Administrator, Language::EN);
        let html = pretty(&body(&admin, &view, &FormError::none(), None));
        assert!(!html.contains("0123456789abcdef"), "{html}");
        assert_snapshot!("ai_settings_en", html);
    }
}
