//! Cross-site request forgery defences (OWASP CSRF Prevention Cheat Sheet): a per-session
//! synchronizer token on every state-changing request (a hidden `csrf` form field, or the
//! `X-CSRF-Token` header for `fetch`), compared in constant time, plus a check that the
//! request's `Origin` (or, without one, its `Referer`) names this host. SameSite=Lax cookies
//! are a third layer.

use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

use crate::web::auth::Staff;
use crate::web::error::AppError;

/// The header `fetch` requests carry the token in.
pub const HEADER: &str = "x-csrf-token";

/// Checks a state-changing request of a logged-in user: the token must equal the session's,
/// and the Origin/Referer, when sent, must be this host.
///
/// # Errors
/// 403 for a missing or wrong token or a foreign origin.
pub fn verify(staff: &Staff, token: &str, headers: &HeaderMap) -> Result<(), AppError> {
    check_origin(headers)?;
    if token.is_empty() || !tokens_match(token, &staff.csrf) {
        return Err(AppError::forbidden(
            "the form's security token is missing or out of date; reload the page and try again",
        ));
    }
    Ok(())
}

/// The token of a `fetch` request's `X-CSRF-Token` header, or empty.
pub fn header_token(headers: &HeaderMap) -> &str {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

/// Constant-time equality of two tokens.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Refuses a request whose `Origin` (or, when absent, `Referer`) names another host than the
/// request's `Host`. Requests with neither (old clients, scripts) pass: the token still has
/// to match.
///
/// # Errors
/// 403 naming the foreign origin's problem, never its value.
pub fn check_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    let Some(source) = source else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let same = url::Url::parse(source).ok().is_some_and(|url| {
        let Some(source_host) = url.host_str() else {
            return false;
        };
        let authority = match url.port() {
            Some(port) => format!("{source_host}:{port}"),
            None => source_host.to_string(),
        };
        !host.is_empty() && authority.eq_ignore_ascii_case(host)
    });
    if same {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "this request came from another site and was refused",
        ))
    }
}
