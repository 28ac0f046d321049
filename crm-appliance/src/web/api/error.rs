//! The JSON API's errors: `{"error": {"kind": "...", "message": "...", "field": ...}}` with
//! the status of the kind, and extractors whose rejections answer in the same shape (a
//! malformed body, query or path never produces an HTML or plain-text answer).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crm_lib::ErrorKind;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// What went wrong, for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorKind {
    /// No bearer token, or an unknown, revoked or disabled one (401).
    Unauthorized,
    /// The request is malformed: bad JSON, a bad query or path parameter (400).
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
    /// The server failed; the details are in its log (500).
    Internal,
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs.
    pub kind: ApiErrorKind,
    /// What went wrong, for people (`order 42 not found`).
    pub message: String,
    /// The request field at fault, for `invalid_input`.
    pub field: Option<&'static str>,
    /// The missing permission, for `permission_denied` when one is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<&'static str>,
}

/// An API error: a status and a JSON body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
    source: Option<crm_lib::Error>,
}

impl ApiError {
    /// An error of `kind` with a message.
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        let status = match kind {
            ApiErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ApiErrorKind::NotFound => StatusCode::NOT_FOUND,
            ApiErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            ApiErrorKind::Conflict => StatusCode::CONFLICT,
            ApiErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ApiErrorKind::Busy => StatusCode::TOO_MANY_REQUESTS,
            ApiErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            detail: ErrorDetail {
                kind,
                message: message.into(),
                field: None,
                permission: None,
            },
            source: None,
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

    /// The status, to change (405 for a method the endpoint does not take).
    pub fn status_mut(&mut self) -> &mut StatusCode {
        &mut self.status
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

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(error) => tracing::error!(error = %chain(error), "api request failed"),
                None => tracing::error!(error = %self.detail.message, "api request failed"),
            }
            self.detail.message = "something went wrong on our side; the error was logged".into();
        }
        let body = ErrorResponse { error: self.detail };
        let json = serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":{"kind":"internal","message":"error","field":null}}"#.to_string()
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

/// A JSON body; a malformed one answers 400/415/422 as an [`ApiError`].
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
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let message = rejection.body_text();
    let mut error = match rejection {
        JsonRejection::JsonDataError(_) => ApiError::new(ApiErrorKind::InvalidInput, message),
        _ => ApiError::bad_request(message),
    };
    if matches!(rejection, JsonRejection::MissingJsonContentType(_)) {
        error.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    }
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        error.status = StatusCode::PAYLOAD_TOO_LARGE;
    }
    error
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

/// Middleware, outermost: an error answer under `/api/` that is not JSON (the request size
/// limit's 413, a timeout) becomes an [`ErrorResponse`] with the same status, so that API
/// clients always get JSON.
pub async fn plain_errors_as_json(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
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
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_lowercase(),
        text => text.chars().take(200).collect(),
    };
    let kind = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiErrorKind::PayloadTooLarge,
        StatusCode::UNAUTHORIZED => ApiErrorKind::Unauthorized,
        StatusCode::NOT_FOUND => ApiErrorKind::NotFound,
        StatusCode::TOO_MANY_REQUESTS => ApiErrorKind::Busy,
        status if status.is_server_error() => ApiErrorKind::Internal,
        _ => ApiErrorKind::BadRequest,
    };
    let mut error = ApiError::new(kind, message);
    error.status = status;
    error.into_response()
}
