//! Logging in and out: the login page and form (a same-origin `next` only; the session the
//! browser presented is ended), throttling ([`LoginThrottle`]), logout.
//!
//! Staff log in to an organization (SPEC 3.1; usernames are unique within one): the form asks
//! for it (its slug, typed: the page lists no organization to whoever opens it) only while
//! several organizations are enabled, and crm-lib's `login_at` picks the only one otherwise.
//!
//! Passwords are checked by crm-lib (argon2id, at most two hashes at once). Throttling lives
//! here, in memory: it is about this process's traffic, not a business rule, and a restart
//! forgetting it is harmless.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use crm_lib::{
    ErrorKind,
    model::{Language, SessionHash},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::csrf;
use crate::web::error::AppError;
use crate::web::i18n::tr;
use crate::web::layout;
use crate::web::session::{self};

use crate::web::auth::{CsrfForm, Staff};
use crate::web::origin::{ClientIp, origin_of};

// ---------------------------------------------------------------------------------------------
// Throttling.

/// Failures on one account from one address before the backoff starts.
pub const PAIR_FREE_FAILURES: u32 = 5;
/// The longest wait for one account from one address (15 minutes).
pub const PAIR_MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures on one account from all addresses before it is slowed.
pub const ACCOUNT_FREE_FAILURES: u32 = 10;
/// The longest wait for an account from other addresses: short, so that an attacker cannot
/// lock the owner out (30 s).
pub const ACCOUNT_MAX_DELAY: Duration = Duration::from_secs(30);
/// Failures from one address on all accounts before it is slowed.
pub const ADDRESS_FREE_FAILURES: u32 = 20;
/// The longest wait for one address (15 minutes).
pub const ADDRESS_MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Counters older than this start again from zero (one hour).
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    Pair(String, Option<IpAddr>),
    Account(String),
    Address(Option<IpAddr>),
}

struct Failures {
    count: u32,
    last: Instant,
}

/// Login throttling, in memory: exponential backoff per account and address (doubling from
/// 1 s after [`PAIR_FREE_FAILURES`], capped at 15 minutes), per address across accounts
/// (password spraying), and per account across addresses capped at 30 s, which slows a
/// distributed guesser but never locks the owner out for long. A success clears the account's
/// counters.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<ThrottleKey, Failures>>,
}

fn backoff(count: u32, free: u32, cap: Duration) -> Duration {
    if count < free {
        return Duration::ZERO;
    }
    let exponent = (count - free).min(20);
    Duration::from_secs(1u64 << exponent).min(cap)
}

impl LoginThrottle {
    fn keys(username: &str, ip: Option<IpAddr>) -> [(ThrottleKey, u32, Duration); 3] {
        let name = username.trim().to_lowercase();
        [
            (
                ThrottleKey::Pair(name.clone(), ip),
                PAIR_FREE_FAILURES,
                PAIR_MAX_DELAY,
            ),
            (
                ThrottleKey::Account(name),
                ACCOUNT_FREE_FAILURES,
                ACCOUNT_MAX_DELAY,
            ),
            (
                ThrottleKey::Address(ip),
                ADDRESS_FREE_FAILURES,
                ADDRESS_MAX_DELAY,
            ),
        ]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long this login must wait, if at all.
    pub fn wait(&self, username: &str, ip: Option<IpAddr>) -> Option<Duration> {
        let failures = self.lock();
        Self::keys(username, ip)
            .iter()
            .filter_map(|(key, free, cap)| {
                let entry = failures.get(key)?;
                if entry.last.elapsed() > FORGET_AFTER {
                    return None;
                }
                backoff(entry.count, *free, *cap).checked_sub(entry.last.elapsed())
            })
            .filter(|wait| !wait.is_zero())
            .max()
    }

    /// Counts a failed login.
    pub fn failed(&self, username: &str, ip: Option<IpAddr>) {
        let mut failures = self.lock();
        if failures.len() > 100_000 {
            failures.retain(|_, entry| entry.last.elapsed() < FORGET_AFTER);
            if failures.len() > 100_000 {
                failures.clear();
            }
        }
        for (key, _, _) in Self::keys(username, ip) {
            let entry = failures.entry(key).or_insert(Failures {
                count: 0,
                last: Instant::now(),
            });
            if entry.last.elapsed() > FORGET_AFTER {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = Instant::now();
        }
    }

    /// Clears the account's counters after a successful login (the address's stay).
    pub fn succeeded(&self, username: &str, ip: Option<IpAddr>) {
        let mut failures = self.lock();
        let [pair, account, _] = Self::keys(username, ip);
        failures.remove(&pair.0);
        failures.remove(&account.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Login and logout.

/// `?next=` of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    /// Where to go after login (a local path).
    #[serde(default)]
    pub next: Option<String>,
}

/// The login form.
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    /// Username.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// The organization's slug (asked only while several are enabled).
    #[serde(default)]
    pub organization: String,
    /// The login form's token (matches the pre-session cookie).
    #[serde(default)]
    pub csrf: String,
    /// Where to go next.
    #[serde(default)]
    pub next: String,
}

/// Where a login may send the browser: a path of this site, or `/`.
///
/// Accepted: a path that starts with one `/` (not `//` or `/\`, which browsers read as
/// another host) and holds no control character (browsers drop tabs and line breaks from a
/// URL, so `/\t/evil.example` is `//evil.example`, and a line break cannot go into a
/// `Location` header) and no backslash anywhere (browsers read `\` as `/`). Anything else
/// becomes `/`: a plain fallback rather than an error page, as a link may carry an old or
/// tampered `next` (OWASP Unvalidated Redirects and Forwards Cheat Sheet).
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local { next } else { "/" }
}

/// A `303 See Other` to `target`; `/` when `target` cannot be a header value (axum's
/// `Redirect::to` panics then). Callers pass paths checked by [`safe_next`] or constants.
fn see_other(target: &str) -> Response {
    let location = HeaderValue::from_str(target).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// The hash of the session cookie a request presents, when it is well-formed (32 hex
/// characters); whether the session is live does not matter here.
fn presented_session(headers: &HeaderMap, secure: bool) -> Option<SessionHash> {
    session::read_cookie(headers, session::cookie_name(secure))
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(SessionHash::of)
}

/// The login form's fields as typed: the organization (shown when `Some`) and the username.
struct Typed<'a> {
    organization: Option<&'a str>,
    username: &'a str,
}

fn login_page(
    language: Language,
    token: &str,
    next: &str,
    typed: &Typed<'_>,
    error: Option<&str>,
) -> Markup {
    layout::bare(
        language,
        &tr(language, "login.title"),
        html! {
            main.narrow.login {
                h1 { (tr(language, "app.name")) }
                form method="post" action="/login" class="card form" {
                    input type="hidden" name="csrf" value=(token);
                    input type="hidden" name="next" value=(next);
                    @if let Some(error) = error {
                        p.error role="alert" { (error) }
                    }
                    @if let Some(organization) = typed.organization {
                        label { (tr(language, "login.organization"))
                            input type="text" name="organization" value=(organization) autocomplete="organization" required autofocus aria-describedby="organization-help";
                        }
                        p #organization-help .muted { (tr(language, "login.organization_help")) }
                    }
                    label { (tr(language, "login.username"))
                        input type="text" name="username" value=(typed.username) autocomplete="username" required autofocus[typed.organization.is_none()];
                    }
                    label { (tr(language, "login.password"))
                        input type="password" name="password" autocomplete="current-password" required;
                    }
                    button type="submit" { (tr(language, "login.submit")) }
                }
            }
        },
    )
}

/// The language of a visitor who is not logged in: the browser's first choice.
pub fn browser_language(headers: &HeaderMap) -> Language {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map_or(Language::default(), Language::from_code)
}

fn login_token() -> Result<String, AppError> {
    Ok(crm_lib::generate_password()?.expose().to_string())
}

/// `GET /login`: the form, with a fresh pre-session token cookie.
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let token = login_token()?;
    let secure = state.web().secure;
    let language = browser_language(&headers);
    let next = safe_next(query.next.as_deref().unwrap_or("/")).to_string();
    let cookie = session::set_cookie(session::login_cookie_name(secure), &token, secure, 3600);
    let several = state
        .blocking(|crm| crm.system().login_needs_organization())
        .await?;
    let typed = Typed {
        organization: several.then_some(""),
        username: "",
    };
    let mut response = login_page(language, &token, &next, &typed, None).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The throttle's name of an account: `org/username`, as the login form and the password
/// change both count it.
pub(crate) fn account(org_slug: &str, username: &str) -> String {
    format!("{org_slug}/{}", username.trim().to_lowercase())
}

/// `POST /login`: checks the form token and origin, `next` (a local path, else `/`), the
/// throttle, then the password; on success ends the session the browser presented, if any,
/// sets the new session cookie and goes to `next` (or the forced password change).
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    csrf::check_origin(&headers)?;
    let secure = state.web().secure;
    let expected = session::read_cookie(&headers, session::login_cookie_name(secure)).unwrap_or("");
    if expected.is_empty() || !csrf::tokens_match(&form.csrf, expected) {
        return Err(AppError::forbidden(
            "the login form expired; reload the page and try again",
        ));
    }
    let language = browser_language(&headers);
    let next = safe_next(&form.next).to_string();
    let throttle = &state.web().throttle;
    let named = Some(form.organization.trim().to_ascii_lowercase()).filter(|slug| !slug.is_empty());
    // The field stays on the page once it was filled in or is needed.
    let several = named.is_some()
        || state
            .blocking(|crm| crm.system().login_needs_organization())
            .await?;
    let typed = Typed {
        organization: several.then_some(form.organization.as_str()),
        username: &form.username,
    };
    // An account is a username within an organization: the one the form names, or the only
    // one (an unknown organization is counted under the name typed, as an unknown user is).
    let lookup = named.clone();
    let org_key = match state
        .blocking(move |crm| crm.system().login_organization(lookup.as_deref()))
        .await
    {
        Ok(org) => org.slug,
        Err(_) => named.clone().unwrap_or_default(),
    };
    let account = account(&org_key, &form.username);
    if let Some(wait) = throttle.wait(&account, ip) {
        let message = tr(language, "login.throttled")
            .replace("%{seconds}", &wait.as_secs().max(1).to_string());
        let mut response =
            login_page(language, &form.csrf, &next, &typed, Some(&message)).into_response();
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let origin = origin_of(&headers, ip);
    let organization = named;
    let (username, password) = (form.username.clone(), form.password.clone());
    let presented = presented_session(&headers, secure);
    match state
        .hashing(move |crm| {
            crm.login_at(
                organization.as_deref(),
                &username,
                &password,
                &origin,
                presented,
            )
        })
        .await
    {
        Ok(new) => {
            throttle.succeeded(&account, ip);
            if let Some(old) = presented {
                state.web().sessions.evict(old);
            }
            let target = if new.user.must_change_password {
                "/profile/password"
            } else {
                next.as_str()
            };
            let mut response = see_other(target);
            let max_age = crm_lib::model::SESSION_MAX_AGE_MS / 1000;
            for cookie in [
                session::set_cookie(session::cookie_name(secure), &new.id, secure, max_age),
                session::set_cookie(session::login_cookie_name(secure), "", secure, 0),
            ] {
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            Ok(response)
        }
        Err(error) => {
            let (key, status) = match error.kind() {
                ErrorKind::PermissionDenied => {
                    throttle.failed(&account, ip);
                    ("login.wrong", StatusCode::UNAUTHORIZED)
                }
                // No organization named while several are enabled.
                ErrorKind::InvalidInput => (
                    "login.organization_needed",
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                // The organization is disabled.
                ErrorKind::Conflict => ("login.organization_disabled", StatusCode::FORBIDDEN),
                _ => return Err(error.into()),
            };
            let typed = Typed {
                organization: (several || status == StatusCode::UNPROCESSABLE_ENTITY)
                    .then_some(form.organization.as_str()),
                username: &form.username,
            };
            let message = tr(language, key);
            let mut response =
                login_page(language, &form.csrf, &next, &typed, Some(&message)).into_response();
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let hash = staff.session;
    let origin = staff.actor.origin.clone();
    state
        .blocking(move |crm| crm.end_session(hash, &origin))
        .await?;
    state.web().sessions.evict(hash);
    let secure = state.web().secure;
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&session::set_cookie(
        session::cookie_name(secure),
        "",
        secure,
        0,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_keeps_a_local_path_and_turns_anything_else_into_the_home_page() {
        for local in [
            "/",
            "/orders",
            "/orders?stage=3&after=10",
            "/заказы",
            "/a/b%2F/c",
        ] {
            assert_eq!(safe_next(local), local);
        }
        for foreign in [
            "",
            "orders",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/x\r\n",
            "/x\nSet-Cookie: a=b",
            "/orders\\..\\evil",
            "/\u{7f}",
            "/\u{85}evil",
        ] {
            assert_eq!(safe_next(foreign), "/", "{foreign:?}");
        }
    }

    #[test]
    fn a_redirect_to_a_value_no_header_may_hold_goes_home_instead_of_panicking() {
        let response = see_other("/x\r\n");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/");
        assert_eq!(see_other("/orders").headers()[header::LOCATION], "/orders");
    }
}
