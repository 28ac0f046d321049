//! Authentication: the [`Staff`] extractor (a logged-in staff user behind a session cookie,
//! or a sandbox request) and the CSRF-only form; the client's address is [`super::origin`]. Logging in and out,
//! with throttling, is [`super::login`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use crm_lib::{
    ErrorKind,
    model::{Actor, Language, PermissionSet, SessionHash, User},
};
use serde::Deserialize;

use crate::AppState;
use crate::web::error::AppError;
use crate::web::i18n::tr;
use crate::web::origin::{origin_of, peer_of};
use crate::web::session::{self, Cached};

/// A logged-in staff user, extracted from the session cookie.
///
/// Unauthenticated requests are redirected to `/login?next=...` (or answered 401 JSON when
/// they ask for JSON); a user who must change their password is sent to `/profile/password`
/// from every page but that one and `/logout`.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The user, as of this request.
    pub user: User,
    /// Their permissions through their roles.
    pub permissions: PermissionSet,
    /// The actor for crm-lib calls, with the request's ip and user agent.
    pub actor: Actor,
    /// The session's CSRF token, for forms.
    pub csrf: String,
    /// The user's interface language.
    pub language: Language,
    /// The session's hash (revoke, logout).
    pub session: SessionHash,
    /// Whether the organization's bot is emulated (the nav shows the sandbox).
    pub sandbox: bool,
    /// The organization's slug.
    pub org_slug: String,
    /// The modules the organization runs (SPEC 3.1), as of this request.
    pub modules: crm_lib::model::Modules,
    /// The user's operator status, when the organization runs the operators module (the
    /// header's switch shows it).
    pub operator_status: Option<crm_lib::model::OperatorStatus>,
}

impl Staff {
    /// The areas and buttons the user's permissions open, as crm-lib computes them (for hiding
    /// what they may not do; crm-lib still decides every request).
    pub fn navigation(&self) -> crm_lib::capabilities::Navigation {
        crm_lib::capabilities::Navigation::for_permissions(self.permissions, self.modules)
    }

    /// The translation of `key` in the user's language.
    pub fn t(&self, key: &str) -> String {
        tr(self.language, key)
    }
}

fn wants_json(parts: &Parts) -> bool {
    parts.uri.path().starts_with("/api/")
        || parts
            .headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("application/json"))
}

fn unauthenticated(parts: &Parts) -> Response {
    if wants_json(parts) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"log in first"}"#,
        )
            .into_response();
    }
    let target = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let next: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let web = state.web();
        let Some(id) = session::read_cookie(&parts.headers, session::cookie_name(web.secure))
        else {
            return Err(unauthenticated(parts));
        };
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unauthenticated(parts));
        }
        let hash = SessionHash::of(id);
        let now = crm_lib::model::Timestamp::now();
        let (active, persist) = match web.sessions.get(hash, now) {
            Cached::Hit(active, persist) => (*active, persist),
            Cached::Miss(seen) => {
                let idle = web.idle_ms;
                match state
                    .blocking(move |crm| crm.session(hash, idle, seen))
                    .await
                {
                    Ok(active) => {
                        let persist = web.sessions.put(active.clone(), now);
                        (active, persist)
                    }
                    Err(error)
                        if matches!(
                            error.kind(),
                            ErrorKind::NotFound | ErrorKind::PermissionDenied
                        ) =>
                    {
                        web.sessions.evict(hash);
                        return Err(unauthenticated(parts));
                    }
                    Err(error) => return Err(AppError::from(error).into_response()),
                }
            }
        };
        if let Some(seen) = persist {
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(error) = state
                    .blocking(move |crm| crm.touch_session(hash, seen))
                    .await
                {
                    tracing::warn!(%error, "could not persist a session's last-seen time");
                }
            });
        }
        let path = parts.uri.path();
        if active.user.must_change_password && path != "/profile/password" && path != "/logout" {
            return Err(Redirect::to("/profile/password").into_response());
        }
        crate::web::metrics::RequestOrg::record(parts, &active.org_slug);
        let origin = origin_of(&parts.headers, peer_of(parts));
        let user = active.user;
        // One point read, only where the operators module is on.
        let operator_status = if active.modules.contains(crm_lib::model::Module::Operators) {
            let actor = Actor::staff(active.session.org, user.id);
            let id = user.id;
            state
                .read_now(|crm| crm.operator_state(&actor, id))
                .ok()
                .map(|state| state.status)
        } else {
            None
        };
        Ok(Staff {
            actor: Actor::staff(active.session.org, user.id).with_origin(origin),
            permissions: active.permissions,
            modules: active.modules,
            operator_status,
            csrf: active.session.csrf,
            language: user.language,
            session: hash,
            sandbox: state.bots().emulator(active.session.org).is_some(),
            org_slug: active.org_slug,
            user,
        })
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    /// The token.
    #[serde(default)]
    pub csrf: String,
}
