//! `/api-docs/`: Swagger UI over the API's OpenAPI document (`/api/v1/openapi.json`), for
//! logged-in staff. The Swagger UI files are compiled in by `utoipa-swagger-ui`'s `vendored`
//! feature (no download at build time); its page loads its scripts from files, so the
//! Content-Security-Policy needs no exception. "Authorize" takes an API token.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use utoipa_swagger_ui::Config;

use crate::AppState;
use crate::web::auth::Staff;

/// Where the page lives.
pub const PATH: &str = "/api-docs/";

/// The page's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api-docs", get(|_: Staff| async { Redirect::to(PATH) }))
        .route("/api-docs/", get(index))
        .route("/api-docs/{*file}", get(file))
}

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(Config::from("/api/v1/openapi.json")))
        .clone()
}

fn serve(path: &str) -> Response {
    match utoipa_swagger_ui::serve(path, config()) {
        Ok(Some(file)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, file.content_type)],
            file.bytes.into_owned(),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "not found").into_response(),
        Err(error) => {
            tracing::error!(error = %error, "swagger ui");
            (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response()
        }
    }
}

async fn index(_: Staff) -> Response {
    serve("index.html")
}

async fn file(_: Staff, Path(file): Path<String>) -> Response {
    serve(&file)
}
