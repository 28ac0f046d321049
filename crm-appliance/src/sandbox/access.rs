//! Who may use the sandbox's control API (`control`): a logged-in staff user (the `/sandbox`
//! page), or a program that presents the sandbox key in the `X-Sandbox-Key` header (tests,
//! benchmarks, scripts). The key is drawn at every start in sandbox mode and printed once on
//! the console, like the first administrator's password; it is never logged.
//!
//! State-changing control requests that a browser marks as coming from another site
//! (`Sec-Fetch-Site: cross-site` or `same-site`, or an `Origin`/`Referer` naming another host,
//! the check of `web::csrf`) are refused whatever they carry, so that a page elsewhere cannot
//! drive the sandbox with a staff user's cookie.
//!
//! Which organization's emulator a request drives (each organization without a bot token has
//! its own, issue 14): a staff user's is their own organization's, never another's (its
//! chats are that organization's customers); a program with the key names one with
//! `?org=<slug>`, and without it drives the first organization's emulated bot.

use std::sync::Arc;

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::emulator::Emulator;
use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;

/// The header a program presents the sandbox key in.
pub const KEY_HEADER: &str = "x-sandbox-key";

/// Characters in a sandbox key (letters and digits: about 190 bits).
const KEY_CHARS: usize = 32;

/// A fresh sandbox key, to print once and hand to the emulator.
///
/// # Errors
/// [`crm_lib::ErrorKind::Storage`] when the system has no randomness.
pub fn generate_key() -> crm_lib::Result<String> {
    crm_lib::random_string(KEY_CHARS, crm_lib::ALPHANUMERIC)
}

/// A refused control request: the status and a JSON `{"ok": false, "error": ...}` body.
pub(crate) struct Refused(StatusCode, String);

impl Refused {
    /// A refusal with this status and message.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Refused(status, message.into())
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "ok": false, "error": self.1 }))).into_response()
    }
}

/// A control request that was let in: the emulator it drives.
pub(crate) struct Control(pub(crate) Arc<Emulator>);

/// The organization a program names with `?org=<slug>`, if any.
fn named_org(parts: &Parts) -> Option<String> {
    url::form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(name, _)| name == "org")
        .map(|(_, slug)| slug.into_owned())
}

/// Whether a browser says this request comes from another site: a `Sec-Fetch-Site` other than
/// `same-origin` or `none` (typed by the user), or an `Origin` (or `Referer`) of another host.
fn cross_site(headers: &HeaderMap) -> bool {
    let foreign_fetch = headers
        .get("sec-fetch-site")
        .map(|site| !matches!(site.as_bytes(), b"same-origin" | b"none"))
        .unwrap_or(false);
    foreign_fetch || csrf::check_origin(headers).is_err()
}

impl FromRequestParts<AppState> for Control {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        if !matches!(parts.method, Method::GET | Method::HEAD) && cross_site(&parts.headers) {
            return Err(Refused::new(
                StatusCode::FORBIDDEN,
                "this request came from another site and was refused",
            ));
        }
        let off = || {
            Refused::new(
                StatusCode::NOT_FOUND,
                "the sandbox is off for this organization: its bot has a Telegram token, or it is disabled",
            )
        };
        if !state.bots().any_emulator() {
            return Err(Refused::new(
                StatusCode::NOT_FOUND,
                "the sandbox is off: every organization's bot has a Telegram token",
            ));
        }
        if let Some(given) = parts.headers.get(KEY_HEADER) {
            let named = named_org(parts);
            let emulator = match named {
                Some(slug) => {
                    let org = state
                        .blocking(move |crm| crm.system().organization_by_slug(&slug))
                        .await
                        .map_err(|_| Refused::new(StatusCode::NOT_FOUND, "no such organization"))?;
                    state.bots().emulator(org.id).ok_or_else(off)?
                }
                None => state.bots().first_emulator().ok_or_else(off)?.1,
            };
            return match given.to_str() {
                Ok(given) if emulator.check_key(given) => Ok(Control(emulator)),
                _ => Err(Refused::new(
                    StatusCode::UNAUTHORIZED,
                    "wrong sandbox key: use the one the appliance printed at its last start",
                )),
            };
        }
        match Staff::from_request_parts(parts, state).await {
            Ok(staff) => state
                .bots()
                .emulator(staff.actor.org)
                .map(Control)
                .ok_or_else(off),
            Err(response) if response.status().is_server_error() => Err(Refused::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not check the session; the error was logged",
            )),
            Err(_) => Err(Refused::new(
                StatusCode::UNAUTHORIZED,
                "log in as staff, or send the sandbox key printed at start in the X-Sandbox-Key header",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn requests_from_other_sites_are_told_apart_from_our_own_and_from_programs() {
        let host = ("host", "127.0.0.1:8080");
        for ours in [
            headers(&[host]),
            headers(&[host, ("sec-fetch-site", "same-origin")]),
            headers(&[host, ("sec-fetch-site", "none")]),
            headers(&[host, ("origin", "http://127.0.0.1:8080")]),
        ] {
            assert!(!cross_site(&ours), "{ours:?}");
        }
        for foreign in [
            headers(&[host, ("sec-fetch-site", "cross-site")]),
            headers(&[host, ("sec-fetch-site", "same-site")]),
            headers(&[host, ("origin", "https://evil.example")]),
            headers(&[host, ("referer", "https://evil.example/page")]),
            headers(&[host, ("origin", "null")]),
        ] {
            assert!(cross_site(&foreign), "{foreign:?}");
        }
    }

    #[test]
    fn keys_are_long_random_and_unguessable_from_each_other() {
        let first = generate_key().unwrap();
        let second = generate_key().unwrap();
        assert_eq!(first.len(), KEY_CHARS);
        assert!(first.bytes().all(|byte| byte.is_ascii_alphanumeric()));
        assert_ne!(first, second);
    }
}
