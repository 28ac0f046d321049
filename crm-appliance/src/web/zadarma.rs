//! `/webhooks/zadarma`: Zadarma's PBX notifications (crm-lib's `calls` area). Zadarma checks
//! the link with a GET carrying `zd_echo` and expects the value back; each notification is a
//! form-encoded POST with its signature in the `Signature` header. The handler parses the
//! form, makes one crm-lib call and maps its answer: a bad or missing signature is 401 (and
//! nothing is stored), calls switched off are 404, a malformed notification is 400, a
//! repeated one is 200 like the first.
//!
//! Each organization has its link, `/webhooks/zadarma/<slug>` (the calls settings page shows
//! it); `/webhooks/zadarma` is the first organization's, the link of an appliance that served
//! one. An unknown slug is 404.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crm_lib::ErrorKind;
use crm_lib::calls::{ECHO_PARAMETER, MAX_FIELDS, SIGNATURE_HEADER, ZadarmaNotification};
use crm_lib::model::OrgId;

use crate::AppState;

/// The largest notification body accepted, in bytes (Zadarma's are a few hundred).
pub const BODY_MAX: usize = 16 * 1024;

/// The longest `zd_echo` value echoed back, in bytes.
const ECHO_MAX: usize = 256;

/// The webhook's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/zadarma", get(echo).post(notification))
        .route(
            "/webhooks/zadarma/{org}",
            get(echo_at).post(notification_at),
        )
        .layer(axum::extract::DefaultBodyLimit::max(BODY_MAX))
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The organization a link names (`None`: the first one), when calls are on for it; `Err` is
/// the answer to give otherwise.
async fn calls_on(state: &AppState, slug: Option<String>) -> Result<OrgId, Response> {
    let found = state
        .blocking(move |crm| {
            let org = match slug {
                Some(slug) => crm.system().organization_by_slug(&slug)?,
                None => crm.system().default_organization()?,
            };
            Ok((org.id, crm.calls_on(org.id)?))
        })
        .await;
    match found {
        Ok((org, true)) => Ok(org),
        Ok((_, false)) => Err(text(StatusCode::NOT_FOUND, "not found")),
        Err(error) if error.kind() == ErrorKind::NotFound => {
            Err(text(StatusCode::NOT_FOUND, "not found"))
        }
        Err(error) => {
            tracing::error!(error = %error, "zadarma webhook: reading the organization");
            Err(text(StatusCode::INTERNAL_SERVER_ERROR, "error"))
        }
    }
}

/// `GET /webhooks/zadarma?zd_echo=...`: the first organization's link check.
async fn echo(state: State<AppState>, query: Query<Vec<(String, String)>>) -> Response {
    echo_for(state, None, query).await
}

/// `GET /webhooks/zadarma/{org}?zd_echo=...`: an organization's link check.
async fn echo_at(
    state: State<AppState>,
    Path(slug): Path<String>,
    query: Query<Vec<(String, String)>>,
) -> Response {
    echo_for(state, Some(slug), query).await
}

/// Zadarma's link check, answered with the value
/// (`if (isset($_GET['zd_echo'])) exit($_GET['zd_echo']);`).
async fn echo_for(
    State(state): State<AppState>,
    slug: Option<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(answer) = calls_on(&state, slug).await {
        return answer;
    }
    match query.into_iter().find(|(name, _)| name == ECHO_PARAMETER) {
        Some((_, value)) if value.len() <= ECHO_MAX => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            value,
        )
            .into_response(),
        Some(_) => text(StatusCode::BAD_REQUEST, "zd_echo is too long"),
        None => text(StatusCode::BAD_REQUEST, "send zd_echo to check this link"),
    }
}

/// `POST /webhooks/zadarma`: one PBX notification for the first organization.
async fn notification(state: State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    notification_for(state, None, headers, body).await
}

/// `POST /webhooks/zadarma/{org}`: one PBX notification for an organization.
async fn notification_at(
    state: State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    notification_for(state, Some(slug), headers, body).await
}

/// One PBX notification for the organization the link names.
async fn notification_for(
    State(state): State<AppState>,
    slug: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let org = match calls_on(&state, slug).await {
        Ok(org) => org,
        Err(answer) => return answer,
    };
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .take(MAX_FIELDS + 1)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    if fields.len() > MAX_FIELDS {
        return text(StatusCode::BAD_REQUEST, "too many fields");
    }
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let notification = ZadarmaNotification::from_fields(fields);
    let result = state
        .write(move |tx| tx.record_zadarma_notification(org, &notification, signature.as_deref()))
        .await;
    match result {
        Ok(_) => text(StatusCode::OK, "ok"),
        Err(error) => match error.kind() {
            ErrorKind::PermissionDenied => {
                tracing::warn!(error = %error, "zadarma webhook: refused");
                text(StatusCode::UNAUTHORIZED, "the signature does not match")
            }
            ErrorKind::NotFound => text(StatusCode::NOT_FOUND, "not found"),
            ErrorKind::InvalidInput => {
                tracing::warn!(error = %error, "zadarma webhook: malformed notification");
                (
                    StatusCode::BAD_REQUEST,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    error.to_string(),
                )
                    .into_response()
            }
            ErrorKind::Busy => text(StatusCode::SERVICE_UNAVAILABLE, "busy, try again"),
            _ => {
                tracing::error!(error = %error, "zadarma webhook");
                text(StatusCode::INTERNAL_SERVER_ERROR, "error")
            }
        },
    }
}
