//! The client Mini App (issue 14): `/app` for the default organization, `/app/<org-slug>`
//! for any (its `initData` is signed with that organization's bot token, so the organization
//! comes from the path).
//!
//! Telegram hands the Mini App its `initData` in the URL's fragment (`#tgWebAppData=...`),
//! which the server never sees. So `/app` sends a shell page with no data
//! (`views::shell`); its script (`assets/js/mini_app.js`, embedded like every asset: no
//! CDN) reads `initData` from `Telegram.WebApp` when present, else from the fragment, and
//! calls `<base>/api/*` with `Authorization: tma <initData>`. Every such call validates
//! `initData` again ([`Client`], stateless, no secret in any URL) and makes one crm-lib call:
//!
//! | route | crm-lib | answer |
//! | --- | --- | --- |
//! | `GET <base>/api/home` | `Crm::mini_app_home` | the client's projects |
//! | `GET <base>/api/projects/{project}` | `Crm::mini_app_project` | the project with the first page of its feed |
//! | `GET <base>/api/projects/{project}/feed?before=` | `Crm::mini_app_project` | a page of the feed |
//! | `GET <base>/api/projects/{project}/stamp` | `Crm::mini_app_stamp` | the stamp the script polls |
//! | `POST <base>/api/projects/{project}/requests/{request}/{approve,reject}` | `Crm::mini_app_decide` | the decision in words |
//! | `GET <base>/api/media/{hash}` | `Crm::mini_app_media` | a report's file |
//!
//! Answers are maud HTML fragments the script puts in place (the house style, not a JSON
//! SPA). Anything whose `initData` fails is 401 with "open it from the bot again" in the
//! reader's language and nothing about why (the reason goes to the debug log); a Telegram
//! account that is no client here has no projects, and another client's project is "not
//! available" (404).
//!
//! Live updates: the script polls the stamp every few seconds and reloads the project when it
//! changed. Polling, not the `/events` stream: that stream belongs to staff sessions and the
//! `LiveHub`; a stamp is one key read per poll, stateless like the rest, and works the same
//! in every Telegram webview (fetch streaming does not).

pub(crate) mod views;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, RawPathParams, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crm_lib::ErrorKind;
use crm_lib::mini_app::{InitData, validate_init_data};
use crm_lib::model::{ChangeRequestId, Language, MediaHash, OrgId, ProjectId, ReportId, Timestamp};
use crm_lib::projects::Decision;
use maud::Markup;
use serde::Deserialize;

use crate::AppState;
use crate::web::login::browser_language;

/// The Content-Security-Policy of the shell: the staff pages' policy, plus pictures, video
/// and sound from `blob:` URLs (the script shows files fetched with `initData` that way), and
/// framing by this origin (the sandbox shows the Mini App in a frame) and Telegram Web.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob:; \
     media-src 'self' blob:; base-uri 'none'; object-src 'none'; form-action 'self'; \
     frame-ancestors 'self' https://web.telegram.org";

/// The Mini App's routes, for the default organization and for a named one.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(shell))
        .route("/app/{slug}", get(shell))
        .nest("/app/api", api())
        .nest("/app/{slug}/api", api())
}

fn api() -> Router<AppState> {
    Router::new()
        .route("/home", get(home))
        .route("/projects/{project}", get(project))
        .route("/projects/{project}/feed", get(feed))
        .route("/projects/{project}/stamp", get(stamp))
        .route(
            "/projects/{project}/requests/{request}/{decision}",
            post(decide),
        )
        .route("/media/{hash}", get(media))
}

/// `GET /app`, `GET /app/{slug}`: the shell. It says nothing of the organization beyond the
/// path it was asked for.
async fn shell(headers: HeaderMap, params: RawPathParams) -> Response {
    let base = match slug_of(&params) {
        Some(slug) if valid_slug(&slug) => format!("/app/{slug}"),
        Some(_) => return StatusCode::NOT_FOUND.into_response(),
        None => "/app".to_string(),
    };
    let mut response = views::shell(browser_language(&headers), &base).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    out.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn slug_of(params: &RawPathParams) -> Option<String> {
    params
        .iter()
        .find(|(name, _)| *name == "slug")
        .map(|(_, value)| value.to_string())
}

/// A slug as organizations have them: short, lowercase letters, digits and dashes.
fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 64
        && slug
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// A request of the Mini App whose `initData` passed: the organization (from the path) and
/// the validated data. Refused with [`Refusal`] (401) otherwise.
pub struct Client {
    /// The organization whose bot signed it.
    pub org: OrgId,
    /// The validated `initData`.
    pub init: InitData,
    /// The language Telegram reports for the user, if any.
    pub language: Option<Language>,
    /// The reader's browser language, for answers before the client is known.
    pub fallback: Language,
}

impl Client {
    fn language(&self, customer: Language) -> Language {
        self.language.unwrap_or(customer)
    }
}

/// A 401 with "open it from the bot again" in the reader's language.
pub struct Refusal(Language);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::UNAUTHORIZED, views::unauthorized(self.0)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let fallback = browser_language(&parts.headers);
        let refuse = |why: &str| {
            tracing::debug!(why, "mini app request refused");
            Refusal(fallback)
        };
        let slug = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| slug_of(&params));
        let text = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("tma "))
            .map(str::to_string)
            .ok_or_else(|| refuse("no tma authorization"))?;
        if slug.as_deref().is_some_and(|slug| !valid_slug(slug)) {
            return Err(refuse("malformed organization"));
        }
        let org = state
            .read_now(|crm| match &slug {
                Some(slug) => crm.system().organization_by_slug(slug),
                None => crm.system().default_organization(),
            })
            .map_err(|_| refuse("unknown organization"))?;
        let key = state
            .bots()
            .web_app_key(org.id)
            .ok_or_else(|| refuse("the organization's bot does not run"))?;
        let init = validate_init_data(
            &text,
            &key,
            Timestamp::now(),
            state.config().mini_app_max_age,
        )
        .map_err(|error| refuse(error.as_str()))?;
        Ok(Client {
            org: org.id,
            language: init.user().and_then(|user| user.language()),
            init,
            fallback,
        })
    }
}

/// A crm-lib refusal as the Mini App answers it: its status and a short text (not found:
/// "not available"; conflict: "decided already").
fn failed(client: &Client, error: &crm_lib::Error) -> Response {
    let language = client.language.unwrap_or(client.fallback);
    let (status, key, kind) = match error.kind() {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "mini_app.not_found", "not_found"),
        ErrorKind::Conflict => (
            StatusCode::CONFLICT,
            "mini_app.changes.decided_already",
            "conflict",
        ),
        ErrorKind::PermissionDenied => (StatusCode::FORBIDDEN, "mini_app.not_found", "forbidden"),
        _ => {
            tracing::error!(error = %error, "mini app request failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "mini_app.error", "error")
        }
    };
    (status, views::message(language, key, kind)).into_response()
}

fn fragment(markup: Markup) -> Response {
    let mut response = markup.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET <base>/api/home`.
async fn home(State(state): State<AppState>, client: Client) -> Response {
    let (org, init) = (client.org, client.init.clone());
    match state.read_now(|crm| crm.mini_app_home(org, &init)) {
        Ok(home) => fragment(views::home(client.language(home.language), &home)),
        // A Telegram account that is no customer here has no projects.
        Err(error) if error.kind() == ErrorKind::NotFound => fragment(views::message(
            client.language.unwrap_or(client.fallback),
            "mini_app.no_projects",
            "no_projects",
        )),
        Err(error) => failed(&client, &error),
    }
}

#[derive(Deserialize)]
struct ProjectPath {
    project: u64,
}

#[derive(Deserialize)]
struct FeedQuery {
    before: Option<u64>,
}

/// `GET <base>/api/projects/{project}`: the project and the first page of its feed; `back`
/// (from the script) says whether the client has several projects.
async fn project(
    State(state): State<AppState>,
    client: Client,
    Path(path): Path<ProjectPath>,
    Query(query): Query<BackQuery>,
) -> Response {
    let (org, init) = (client.org, client.init.clone());
    let id = ProjectId::new(path.project);
    match state.read_now(|crm| crm.mini_app_project(org, &init, id, None)) {
        Ok(view) => fragment(views::project(
            client.language(view.language),
            &view,
            query.back.is_some_and(|back| back == 1),
        )),
        Err(error) => failed(&client, &error),
    }
}

#[derive(Deserialize)]
struct BackQuery {
    back: Option<u8>,
}

/// `GET <base>/api/projects/{project}/feed?before=`: the feed's page before report `before`.
async fn feed(
    State(state): State<AppState>,
    client: Client,
    Path(path): Path<ProjectPath>,
    Query(query): Query<FeedQuery>,
) -> Response {
    let (org, init) = (client.org, client.init.clone());
    let id = ProjectId::new(path.project);
    let before = query.before.map(ReportId::new);
    match state.read_now(|crm| crm.mini_app_project(org, &init, id, before)) {
        Ok(view) => fragment(views::feed_page(
            client.language(view.language),
            path.project,
            &view.feed.items,
            view.feed.next,
        )),
        Err(error) => failed(&client, &error),
    }
}

/// `GET <base>/api/projects/{project}/stamp`: the stamp, as text.
async fn stamp(
    State(state): State<AppState>,
    client: Client,
    Path(path): Path<ProjectPath>,
) -> Response {
    let (org, init) = (client.org, client.init.clone());
    let id = ProjectId::new(path.project);
    match state.read_now(|crm| crm.mini_app_stamp(org, &init, id)) {
        Ok(stamp) => {
            let mut response = stamp.to_string().into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => failed(&client, &error),
    }
}

#[derive(Deserialize)]
struct DecisionPath {
    project: u64,
    request: u64,
    decision: String,
}

/// `POST <base>/api/projects/{project}/requests/{request}/{approve|reject}`: one decision,
/// answered in words from crm-lib's result (409 "decided already" for a second one).
async fn decide(
    State(state): State<AppState>,
    client: Client,
    Path(path): Path<DecisionPath>,
) -> Response {
    let Ok(decision) = Decision::parse("decision", &path.decision) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (org, init) = (client.org, client.init.clone());
    let (project, request) = (
        ProjectId::new(path.project),
        ChangeRequestId::new(path.request),
    );
    let decided = state
        .blocking(move |crm| crm.mini_app_decide(org, &init, project, request, decision))
        .await;
    match decided {
        Ok(decided) => {
            let language = client.language(decided.language);
            let budget = decided
                .money
                .budget_total
                .format_with(language, &decided.money.currency);
            fragment(views::decided(language, &decided.request, &budget))
        }
        Err(error) => failed(&client, &error),
    }
}

#[derive(Deserialize)]
struct MediaPath {
    hash: String,
}

/// `GET <base>/api/media/{hash}`: a file of the client's reports, under the same headers as
/// the staff's media (no sniffing, a sandboxing policy, cached privately).
async fn media(
    State(state): State<AppState>,
    client: Client,
    Path(path): Path<MediaPath>,
) -> Response {
    let Ok(hash) = MediaHash::parse_hex(&path.hash) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (org, init) = (client.org, client.init.clone());
    let file = state
        .blocking(move |crm| crm.mini_app_media(org, &init, hash))
        .await;
    match file {
        Ok(file) => {
            let mut response = file.bytes.into_response();
            let out = response.headers_mut();
            out.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&file.media.mime)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            out.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; img-src 'self'; sandbox"),
            );
            out.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            response
        }
        Err(error) => failed(&client, &error),
    }
}
