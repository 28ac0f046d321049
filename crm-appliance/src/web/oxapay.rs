//! `/webhooks/oxapay`: OxaPay's payment callbacks (crm-lib's `payments` area). Each is a JSON
//! POST with the HMAC-SHA512 of its raw body, keyed with the merchant key, in the `HMAC`
//! header. The handler hands the raw body and the header to crm-lib in one call and maps its
//! answer: 200 `ok` (what OxaPay expects) for a recorded status or a repeat, 401 for a bad or
//! missing signature (nothing stored), 404 while the tokens module is off or for an unknown
//! track id, 400 for a body that is not a callback.
//!
//! Each organization's invoices name its own callback, `/webhooks/oxapay/<slug>`;
//! `/webhooks/oxapay` is the first organization's (invoices created before there were
//! several). An unknown slug is 404.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use crm_lib::ErrorKind;
use crm_lib::payments::{CALLBACK_MAX_BYTES, HMAC_HEADER};

use crate::AppState;

/// The webhook's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/oxapay", post(callback))
        .route("/webhooks/oxapay/{org}", post(callback_at))
        .layer(axum::extract::DefaultBodyLimit::max(CALLBACK_MAX_BYTES))
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `POST /webhooks/oxapay`: one payment callback for the first organization.
async fn callback(state: State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    callback_for(state, None, headers, body).await
}

/// `POST /webhooks/oxapay/{org}`: one payment callback for an organization.
async fn callback_at(
    state: State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    callback_for(state, Some(slug), headers, body).await
}

/// One payment callback for the organization the path names.
async fn callback_for(
    State(state): State<AppState>,
    slug: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let found = state
        .blocking(move |crm| {
            let org = match slug {
                Some(slug) => crm.system().organization_by_slug(&slug)?,
                None => crm.system().default_organization()?,
            };
            Ok((org.id, crm.system().payments_on(org.id)?))
        })
        .await;
    let org = match found {
        Ok((org, true)) => org,
        Ok((_, false)) => return text(StatusCode::NOT_FOUND, "not found"),
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return text(StatusCode::NOT_FOUND, "not found");
        }
        Err(error) => {
            tracing::error!(error = %error, "oxapay webhook: reading the organization");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "error");
        }
    };
    let signature = headers
        .get(HMAC_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let result = state
        .write(move |tx| {
            tx.system()
                .record_oxapay_callback(org, &body, signature.as_deref())
        })
        .await;
    match result {
        Ok(outcome) => {
            tracing::info!(?outcome, "oxapay webhook");
            text(StatusCode::OK, "ok")
        }
        Err(error) => match error.kind() {
            ErrorKind::PermissionDenied => {
                tracing::warn!(error = %error, "oxapay webhook: refused");
                text(StatusCode::UNAUTHORIZED, "the signature does not match")
            }
            ErrorKind::NotFound => {
                tracing::warn!(error = %error, "oxapay webhook: unknown invoice");
                text(StatusCode::NOT_FOUND, "unknown invoice")
            }
            ErrorKind::InvalidInput => {
                tracing::warn!(error = %error, "oxapay webhook: malformed callback");
                text(StatusCode::BAD_REQUEST, "not a callback")
            }
            ErrorKind::Busy => text(StatusCode::SERVICE_UNAVAILABLE, "busy, try again"),
            _ => {
                tracing::error!(error = %error, "oxapay webhook");
                text(StatusCode::INTERNAL_SERVER_ERROR, "error")
            }
        },
    }
}
