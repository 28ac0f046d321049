//! `/profile/tokens`: the user's API tokens for the JSON API. Create one (its text is shown
//! once, on the answer page, never in a URL or a log), see the list, revoke one. crm-lib
//! decides who may (a user manages their own; `manage_users` anyone's through the CLI).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::model::{ApiToken, ApiTokenId};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::when;
use crate::web::layout::{FormError, Nav, csrf_field, notice, page};

/// `/profile/tokens` and its forms.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile/tokens", get(list).post(create))
        .route("/profile/tokens/{id}/revoke", post(revoke))
}

/// The create form.
#[derive(Debug, Default, Deserialize)]
pub struct CreateForm {
    /// What the token is for.
    #[serde(default)]
    pub name: String,
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

fn view(
    staff: &Staff,
    tokens: &[ApiToken],
    created: Option<(&ApiToken, &str)>,
    error: &FormError,
    done: Option<&str>,
) -> Markup {
    page(
        staff,
        &staff.t("tokens.title"),
        Nav::Profile,
        html! {
            p { a href="/profile" { "← " (staff.t("tokens.back")) } }
            (notice(done))
            p.muted { (staff.t("tokens.intro")) " " code { "Authorization: Bearer crm_…" } " · "
                a href="/api/v1/openapi.json" { "OpenAPI" } }
            @if let Some((token, secret)) = created {
                section.card.token-created role="status" {
                    h2 { (staff.t("tokens.created")) ": " (token.name) }
                    p { (staff.t("tokens.copy_now")) }
                    input.token-secret type="text" readonly value=(secret) aria-label=(staff.t("tokens.secret")) data-token-secret;
                }
            }
            form.card.form method="post" action="/profile/tokens" {
                (csrf_field(staff))
                (error.general(&["name"]))
                label { (staff.t("tokens.name"))
                    input type="text" name="name" maxlength="64" placeholder=(staff.t("tokens.name_hint"));
                    (error.at("name"))
                }
                button type="submit" { (staff.t("tokens.create")) }
            }
            @if tokens.is_empty() {
                p.muted { (staff.t("tokens.none")) }
            } @else {
                table.list {
                    thead { tr {
                        th { (staff.t("tokens.name")) }
                        th { (staff.t("tokens.created_at")) }
                        th { span.sr-only { (staff.t("table.actions")) } }
                    } }
                    tbody {
                        @for token in tokens {
                            tr data-token=(token.id) {
                                td { (token.name) }
                                td { (when(token.created_at)) }
                                td {
                                    form method="post" action={ "/profile/tokens/" (token.id) "/revoke" } {
                                        (csrf_field(staff))
                                        button.danger type="submit" { (staff.t("tokens.revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

async fn own_tokens(state: &AppState, staff: &Staff) -> Result<Vec<ApiToken>, AppError> {
    let (actor, user) = (staff.actor.clone(), staff.user.id);
    Ok(state
        .blocking(move |crm| crm.api_tokens(&actor, Some(user)))
        .await?)
}

/// `GET /profile/tokens`.
async fn list(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<DoneQuery>,
) -> Result<Markup, AppError> {
    let tokens = own_tokens(&state, &staff).await?;
    let done = query.done.as_deref().map(|_| staff.t("tokens.revoked"));
    Ok(view(
        &staff,
        &tokens,
        None,
        &FormError::none(),
        done.as_deref(),
    ))
}

/// `?done=revoked` after a revoke.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    /// Set after a revoke.
    #[serde(default)]
    pub done: Option<String>,
}

/// `POST /profile/tokens`: creates a token and shows it once (a page, not a redirect, so the
/// token never appears in a URL).
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let (actor, user, name) = (staff.actor.clone(), staff.user.id, form.name.clone());
    let created = state
        .blocking(move |crm| crm.create_api_token(&actor, user, &name))
        .await;
    let tokens = own_tokens(&state, &staff).await?;
    let mut response = match created {
        Ok(created) => view(
            &staff,
            &tokens,
            Some((&created.token, created.secret.expose())),
            &FormError::none(),
            None,
        )
        .into_response(),
        Err(error) if error.kind() != crm_lib::ErrorKind::Storage => {
            let mut response =
                view(&staff, &tokens, None, &FormError::from_error(&error), None).into_response();
            *response.status_mut() = crate::web::error::status_of(error.kind());
            response
        }
        Err(error) => return Err(error.into()),
    };
    // The page holds a secret: never cached.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `POST /profile/tokens/{id}/revoke`.
async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.revoke_api_token(&actor, ApiTokenId::new(id)))
        .await?;
    Ok(Redirect::to("/profile/tokens?done=revoked").into_response())
}
