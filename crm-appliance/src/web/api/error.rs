//! The JSON API's errors: `{"error": {"kind": "...", "message": "...", "field": ...,
//! "permission": ...}}` with the status of the kind, for every failure under `/api`.
//!
//! One function writes that body: [`ApiError`]'s `IntoResponse`. Everything else reaches it:
//! handlers return [`ApiError`]s (crm-lib's errors convert into them), the extractors here
//! ([`ApiJson`], [`ApiQuery`], [`ApiPath`]) turn their rejections into them, and the
//! [`errors_as_json`] middleware turns whatever other error answer comes back from under `/api`
//! (the staff web's [`AppError`](crate::web::error::AppError) page, the request size limit's
//! plain-text 413) into one, keeping its status. A malformed body, query or path therefore
//! never produces an HTML or plain-text answer.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crm_lib::ErrorKind;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::web::error::ErrorBody;

/// What went wrong, for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorKind {
    /// No bearer token, or an unknown, revoked or disabled one (401).
    Unauthorized,
    /// The request is malformed: bad JSON, a bad query or path parameter (400; also 405 for a
    /// method the endpoint does not take and 415 for a body that is not JSON).
    BadRequest,
    /// The record does not exist or is not visible to the token's user (404).
    NotFound,
    /// A field's value is invalid; `field` names it (422).
    InvalidInput,
    /// The current state forbids the change (409).
    Conflict,
    /// The token's user lacks a permission (403).
    PermissionDenied,
    /// Try again later (429).
    Busy,
    /// The request body is over the 10 MiB limit (413).
    PayloadTooLarge,
    /// The server failed; the details are in its log (500 and the other 5xx).
    Internal,
}

impl ApiErrorKind {
    /// The status a kind answers with.
    pub fn status(self) -> StatusCode {
        match self {
            ApiErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ApiErrorKind::NotFound => StatusCode::NOT_FOUND,
            ApiErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            ApiErrorKind::Conflict => StatusCode::CONFLICT,
            ApiErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ApiErrorKind::Busy => StatusCode::TOO_MANY_REQUESTS,
            ApiErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind an error status stands for: each kind's own status, any other 4xx (405, 415,
    /// 408, ...) a bad request, any 5xx internal.
    pub fn of_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => ApiErrorKind::Unauthorized,
            StatusCode::NOT_FOUND => ApiErrorKind::NotFound,
            StatusCode::UNPROCESSABLE_ENTITY => ApiErrorKind::InvalidInput,
            StatusCode::CONFLICT => ApiErrorKind::Conflict,
            StatusCode::FORBIDDEN => ApiErrorKind::PermissionDenied,
            StatusCode::TOO_MANY_REQUESTS => ApiErrorKind::Busy,
            StatusCode::PAYLOAD_TOO_LARGE => ApiErrorKind::PayloadTooLarge,
            status if status.is_server_error() => ApiErrorKind::Internal,
            _ => ApiErrorKind::BadRequest,
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorDetail,
}

/// One error. Every field is always present (`null` when it does not apply), so every error
/// answer has the same shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs.
    pub kind: ApiErrorKind,
    /// What went wrong, for people (`order 42 not found`).
    pub message: String,
    /// The request field at fault, for `invalid_input`.
    pub field: Option<&'static str>,
    /// The missing permission, for `permission_denied` when one is named.
    pub permission: Option<&'static str>,
}

/// An API error: a status and a JSON body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
    source: Option<crm_lib::Error>,
    /// Already in the log (an [`AppError`](crate::web::error::AppError) logs its own 5xx).
    logged: bool,
}

impl ApiError {
    /// An error of `kind` with a message, answered with the kind's status.
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        let mut error = Self::with_status(kind.status(), message);
        error.detail.kind = kind;
        error
    }

    /// An error answered with `status`, of the kind the status stands for
    /// ([`ApiErrorKind::of_status`]): rejections and layers that only know a status.
    pub fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: ErrorDetail {
                kind: ApiErrorKind::of_status(status),
                message: message.into(),
                field: None,
                permission: None,
            },
            source: None,
            logged: false,
        }
    }

    /// 400: a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::BadRequest, message)
    }

    /// 422 on `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        let mut error = Self::new(ApiErrorKind::InvalidInput, message);
        error.detail.field = Some(field);
        error
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<crm_lib::Error> for ApiError {
    fn from(error: crm_lib::Error) -> Self {
        let kind = match error.kind() {
            ErrorKind::NotFound => ApiErrorKind::NotFound,
            ErrorKind::InvalidInput => ApiErrorKind::InvalidInput,
            ErrorKind::Conflict => ApiErrorKind::Conflict,
            ErrorKind::PermissionDenied => ApiErrorKind::PermissionDenied,
            ErrorKind::Busy => ApiErrorKind::Busy,
            _ => ApiErrorKind::Internal,
        };
        let mut api = ApiError::new(kind, error.message());
        api.detail.field = error.field();
        api.detail.permission = error.permission().map(crm_lib::model::Permission::as_str);
        api.source = Some(error);
        api
    }
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

/// The one place an error becomes the API's JSON answer. A 5xx goes to the log with its whole
/// chain and answers a generic message; a 401 names the bearer scheme.
impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if self.status.is_server_error() {
            if !self.logged {
                match &self.source {
                    Some(error) => tracing::error!(error = %chain(error), "api request failed"),
                    None => tracing::error!(error = %self.detail.message, "api request failed"),
                }
            }
            self.detail.message = "something went wrong on our side; the error was logged".into();
        }
        let body = ErrorResponse { error: self.detail };
        let json = serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":{"kind":"internal","message":"error","field":null,"permission":null}}"#
                .to_string()
        });
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"crm\""),
            );
        }
        response
    }
}

/// A JSON body; a malformed one answers 400/415/422 (413 over the size limit) as an
/// [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::with_status(
                rejection.status(),
                rejection.body_text(),
            )),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters; malformed ones answer 400 as an [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection: QueryRejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// Path parameters; malformed ones (`/orders/abc`) answer 400 as an [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection: PathRejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// Middleware, outermost: an error answer under `/api` that is not JSON yet becomes an
/// [`ApiError`] with the same status. Its message and field come from the
/// [`AppError`](crate::web::error::AppError) that built the answer (the [`ErrorBody`] it leaves
/// in the extensions) or, for a layer's plain-text answer (the request size limit's 413), from
/// its text.
pub async fn errors_as_json(request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !api || json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if let Some(body) = response.extensions().get::<ErrorBody>().cloned() {
        let mut error = ApiError::with_status(status, body.message);
        error.detail.field = body.field;
        error.logged = true;
        return error.into_response();
    }
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_lowercase(),
        text => text.chars().take(200).collect(),
    };
    ApiError::with_status(status, message).into_response()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use serde_json::Value;
    use tower::ServiceExt;

    use super::*;
    use crate::web::error::AppError;

    /// A router with one route per way a handler or layer can fail, behind the middleware.
    fn failing() -> Router {
        Router::new()
            .route(
                "/api/v1/storage",
                get(|| async { ApiError::from(crm_lib::Error::corrupt("disk on fire")) }),
            )
            .route(
                "/api/v1/page",
                get(|| async { AppError::from(crm_lib::Error::corrupt("disk on fire")) }),
            )
            .route(
                "/api/v1/field",
                get(|| async { AppError::from(crm_lib::Error::invalid("title", "is empty")) }),
            )
            .route(
                "/api/v1/plain",
                get(|| async { (StatusCode::BAD_GATEWAY, "upstream said no") }),
            )
            .route(
                "/api/v1/limit",
                get(|| async { (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded") }),
            )
            .route("/page", get(|| async { AppError::not_found("no page") }))
            .layer(axum::middleware::from_fn(errors_as_json))
    }

    async fn answer(path: &str) -> (StatusCode, Option<String>, String) {
        let response = failing()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    /// Asserts the one shape of an API error and returns its detail.
    fn detail(body: &str) -> serde_json::Map<String, Value> {
        let value: Value = serde_json::from_str(body).unwrap();
        let outer = value.as_object().unwrap();
        assert_eq!(outer.keys().collect::<Vec<_>>(), ["error"], "{body}");
        let detail = outer["error"].as_object().unwrap().clone();
        let mut keys: Vec<&str> = detail.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["field", "kind", "message", "permission"], "{body}");
        assert!(
            detail["kind"].is_string() && detail["message"].is_string(),
            "{body}"
        );
        detail
    }

    #[tokio::test]
    async fn server_errors_of_every_origin_answer_the_same_json_without_their_details() {
        for (path, status) in [
            ("/api/v1/storage", StatusCode::INTERNAL_SERVER_ERROR),
            ("/api/v1/page", StatusCode::INTERNAL_SERVER_ERROR),
            ("/api/v1/plain", StatusCode::BAD_GATEWAY),
        ] {
            let (answered, content_type, body) = answer(path).await;
            assert_eq!(answered, status, "{path}");
            assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
            let detail = detail(&body);
            assert_eq!(detail["kind"], "internal", "{path}");
            assert!(
                !body.contains("disk on fire") && !body.contains("upstream"),
                "{body}"
            );
        }
    }

    #[tokio::test]
    async fn client_errors_from_pages_and_layers_keep_their_status_field_and_message() {
        let (status, _, body) = answer("/api/v1/field").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let field = detail(&body);
        assert_eq!(field["kind"], "invalid_input");
        assert_eq!(field["field"], "title");
        assert_eq!(field["message"], "is empty");
        let (status, _, body) = answer("/api/v1/limit").await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let limit = detail(&body);
        assert_eq!(limit["kind"], "payload_too_large");
        assert_eq!(limit["message"], "length limit exceeded");
        let (status, _, body) = answer("/api/v1/none").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(detail(&body)["kind"], "not_found");
    }

    #[tokio::test]
    async fn answers_outside_the_api_are_left_alone() {
        let (status, content_type, body) = answer("/page").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(content_type.unwrap().starts_with("text/html"));
        assert!(body.contains("no page"));
    }

    #[test]
    fn each_kind_answers_its_status_and_that_status_means_the_kind() {
        for kind in [
            ApiErrorKind::Unauthorized,
            ApiErrorKind::BadRequest,
            ApiErrorKind::NotFound,
            ApiErrorKind::InvalidInput,
            ApiErrorKind::Conflict,
            ApiErrorKind::PermissionDenied,
            ApiErrorKind::Busy,
            ApiErrorKind::PayloadTooLarge,
            ApiErrorKind::Internal,
        ] {
            assert_eq!(ApiErrorKind::of_status(kind.status()), kind);
        }
        for status in [
            StatusCode::METHOD_NOT_ALLOWED,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ] {
            assert_eq!(ApiErrorKind::of_status(status), ApiErrorKind::BadRequest);
        }
        assert_eq!(
            ApiErrorKind::of_status(StatusCode::SERVICE_UNAVAILABLE),
            ApiErrorKind::Internal
        );
    }
}
