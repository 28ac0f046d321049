//! The staff web: routes, extractors, maud views, SSE.

use axum::Router;
use axum::routing::get;

use crate::AppState;

/// The whole HTTP application, so tests can drive it in-process with `oneshot`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// `GET /healthz`: 200 `ok` when the store answers a read.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    let org = state.org();
    match state.blocking(move |crm| crm.organization(org)).await {
        Ok(_) => (axum::http::StatusCode::OK, "ok"),
        Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}
