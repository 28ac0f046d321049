//! `/webhooks/zadarma`: Zadarma's PBX notifications (crm-lib's `calls` area). Zadarma checks
//! the link with a GET carrying `zd_echo` and expects the value back; each notification is a
//! form-encoded POST with its signature in the `Signature` header. The handler parses the
//! form, makes one crm-lib call and maps its answer: a bad or missing signature is 401 (and
//! nothing is stored), calls switched off are 404, a malformed notification is 400, a
//! repeated one is 200 like the first.
//!
//! The notifications go to the default organization (`AppState::org`); crm-lib takes the
//! organization as a parameter, so a path per organization can route them later.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crm_lib::ErrorKind;
use crm_lib::calls::{ECHO_PARAMETER, MAX_FIELDS, SIGNATURE_HEADER, ZadarmaNotification};

use crate::AppState;

/// The largest notification body accepted, in bytes (Zadarma's are a few hundred).
pub const BODY_MAX: usize = 16 * 1024;

/// The longest `zd_echo` value echoed back, in bytes.
const ECHO_MAX: usize = 256;

/// The webhook's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/zadarma", get(echo).post(notification))
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

/// Whether calls are on for the organization; `Err` is the answer to give when not.
async fn calls_on(state: &AppState) -> Result<(), Response> {
    let org = state.org();
    match state.blocking(move |crm| crm.calls_on(org)).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(text(StatusCode::NOT_FOUND, "not found")),
        Err(error) => {
            tracing::error!(error = %error, "zadarma webhook: reading the organization");
            Err(text(StatusCode::INTERNAL_SERVER_ERROR, "error"))
        }
    }
}

/// `GET /webhooks/zadarma?zd_echo=...`: Zadarma's link check, answered with the value
/// (`if (isset($_GET['zd_echo'])) exit($_GET['zd_echo']);`).
async fn echo(
    State(state): State<AppState>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(answer) = calls_on(&state).await {
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

/// `POST /webhooks/zadarma`: one PBX notification.
async fn notification(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(answer) = calls_on(&state).await {
        return answer;
    }
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
    let org = state.org();
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
