//! The one error type of the web: [`AppError`] maps crm-lib's error kinds to HTTP statuses
//! (400/403/404/409/422/429, 500 for storage) with a small maud page. Under `/api` the JSON
//! API's [`errors_as_json`](crate::web::api::error::errors_as_json) middleware turns that page
//! into the API's JSON error, from the [`ErrorBody`] left in the response. 5xx answers show
//! generic text; the whole chain goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crm_lib::ErrorKind;
use maud::{DOCTYPE, html};

/// An error a handler returns. Built from a crm-lib error, or directly with a status.
#[derive(Debug)]
pub struct AppError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message shown to the person (generic for 5xx).
    pub message: String,
    /// The request field at fault, for 422.
    pub field: Option<&'static str>,
    source: Option<crm_lib::Error>,
}

/// Carried in an error response's extensions so that the JSON API's
/// [`errors_as_json`](crate::web::api::error::errors_as_json) can turn it into JSON for `/api`
/// paths.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    /// The message.
    pub message: String,
    /// The field at fault.
    pub field: Option<&'static str>,
}

impl AppError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        AppError {
            status,
            message: message.into(),
            field: None,
            source: None,
        }
    }

    /// 404 with a page.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 403 with a page.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 400 with a page.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// The crm-lib error this came from, if any.
    pub fn source_error(&self) -> Option<&crm_lib::Error> {
        self.source.as_ref()
    }

    /// The crm-lib kind, if this came from crm-lib.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.source.as_ref().map(crm_lib::Error::kind)
    }
}

/// The HTTP status of a crm-lib error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Busy => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<crm_lib::Error> for AppError {
    fn from(error: crm_lib::Error) -> Self {
        let status = status_of(error.kind());
        AppError {
            status,
            message: error.message().to_string(),
            field: error.field(),
            source: Some(error),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let message = if self.status.is_server_error() {
            match &self.source {
                Some(error) => tracing::error!(error = %chain(error), "request failed"),
                None => tracing::error!(error = %self.message, "request failed"),
            }
            "something went wrong on our side; the error was logged".to_string()
        } else {
            self.message.clone()
        };
        let title = self
            .status
            .canonical_reason()
            .unwrap_or("Error")
            .to_string();
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.status.as_u16()) " " (title) }
                    link rel="stylesheet" href="/assets/css/app.css";
                }
                body.error-page {
                    main.narrow {
                        h1 { (self.status.as_u16()) " " (title) }
                        p.error-message { (message) }
                        p { a href="/" { "Back to the dashboard" } }
                    }
                }
            }
        };
        let mut response = (self.status, page).into_response();
        response.extensions_mut().insert(ErrorBody {
            message,
            field: self.field,
        });
        response
    }
}
