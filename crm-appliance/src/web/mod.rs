//! The staff web: routes, extractors, maud views, SSE.
//!
//! [`app`] builds the whole router so that tests can drive it in-process. Each area adds its
//! routes with `.merge(area::routes())`; every handler parses input, makes one crm-lib call
//! through [`AppState::blocking`] and renders the answer.

pub mod api;
pub mod assets;
pub mod auth;
pub mod canned;
pub mod charts;
pub mod chat;
pub mod colors;
pub mod csrf;
pub mod error;
pub mod i18n;
pub mod inbox;
pub mod layout;
pub mod login;
pub mod metrics;
pub mod mini_app;
pub mod origin;
pub mod oxapay;
pub mod pages;
pub mod scheduled;
pub mod session;
pub mod sse;
pub mod swagger;
#[cfg(test)]
pub(crate) mod testing;
pub mod text;
pub mod tokens;
pub mod zadarma;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use crm_lib::model::Language;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::config::Config;

/// The largest request body accepted: 10 MB (SPEC section 7); larger ones get 413.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The Content-Security-Policy of every response that sets none of its own (`/media/...`
/// sets a stricter one): scripts, styles, pictures and connections only from this origin, no
/// inline script or style (pages carry none: colours chosen in the settings arrive as
/// `data-bg` and `data-accent`, see `web/colors.rs`), no `<base>` and no plugins, forms post only here,
/// and no other site may frame a page (clickjacking; OWASP Content Security Policy Cheat
/// Sheet).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'none'; \
     object-src 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response, HTML, JSON, assets and errors alike:
/// [`CONTENT_SECURITY_POLICY`] unless the handler set its own, `X-Content-Type-Options:
/// nosniff`, `Referrer-Policy: same-origin` (no path, with its ids, leaves for another site)
/// and `X-Frame-Options: DENY` (for browsers without `frame-ancestors`) unless the handler
/// set its own (the Mini App's shell: `SAMEORIGIN`, see `web::mini_app`).
fn security_headers(router: Router) -> Router {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

/// The staff web's in-memory state, held by [`AppState`].
pub struct WebState {
    /// Resolved sessions and last-seen times (see [`session`]).
    pub sessions: session::SessionCache,
    /// Login throttling (see [`login::LoginThrottle`]).
    pub throttle: login::LoginThrottle,
    /// Cookies get `Secure` and the `__Host-` prefix: the public URL is HTTPS.
    pub secure: bool,
    /// The idle session timeout, in milliseconds.
    pub idle_ms: i64,
}

impl WebState {
    /// Settings from the configuration.
    pub fn new(config: &Config) -> Self {
        WebState {
            sessions: session::SessionCache::default(),
            throttle: login::LoginThrottle::default(),
            secure: config
                .public_url
                .as_ref()
                .is_some_and(|url| url.scheme() == "https"),
            idle_ms: i64::try_from(config.session_idle_minutes.max(1))
                .unwrap_or(i64::MAX / 60_000)
                .saturating_mul(60_000),
        }
    }

    /// The language of pages shown before login when nothing else tells.
    pub fn fallback_language(&self) -> Language {
        Language::default()
    }
}

/// The whole HTTP application, so tests can drive it in-process with `oneshot`.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/assets/{*path}", get(assets::serve))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .merge(pages::routes())
        .merge(chat::routes())
        .merge(canned::routes())
        .merge(inbox::routes())
        .merge(scheduled::routes())
        .merge(tokens::routes())
        .merge(mini_app::routes())
        .route("/events", get(sse::events))
        .route("/metrics", get(metrics::metrics))
        .nest("/api/v1", api::routes())
        .merge(crate::sandbox::routes())
        .merge(crate::bot::updates::routes())
        .merge(zadarma::routes())
        .merge(oxapay::routes())
        .merge(swagger::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // Outside the size limit, so that its 413 under /api is JSON too.
        .layer(axum::middleware::from_fn(api::error::errors_as_json))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state);
    security_headers(router)
}

async fn not_found() -> error::AppError {
    error::AppError::not_found("there is no page at this address")
}

/// `GET /healthz`: 200 `ok` when the store answers a read.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match state
        .blocking(move |crm| crm.system().default_organization())
        .await
    {
        Ok(_) => (axum::http::StatusCode::OK, "ok"),
        Err(_) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}
