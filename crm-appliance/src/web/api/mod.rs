//! The JSON API under `/api/v1`: orders (with suggested staff and delegated access), customers,
//! conversations, messages, media, users, the scheduled jobs, broadcasts, projects, leads
//! and the AI settings, for programs. Every request carries
//! `Authorization: Bearer crm_...`, a token created on the profile page (`/profile/tokens`) or
//! with `crm token create`; it acts as its user, with exactly their permissions. Errors are
//! JSON ([`error::ErrorResponse`]) with the status of their kind. The OpenAPI document is
//! generated from the handlers ([`doc::ApiDoc`]) and served at `/api/v1/openapi.json`.
//!
//! Handlers parse, make one crm-lib call (reads on one snapshot) and render; crm-lib decides
//! every rule, so an API call and the same action in the browser give the same answer.

pub mod analytics;
pub mod broadcasts;
pub mod calls;
pub mod canned;
pub mod csat;
pub mod customers;
pub mod doc;
pub mod error;
pub mod jobs;
pub mod leads;
pub mod operators;
pub mod orders;
pub mod payments;
pub mod profiles;
pub mod projects;
pub mod staffing;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod views;
pub mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{delete, get, patch, post};
use crm_lib::model::{Actor, User};

use crate::AppState;
use crate::web::origin::{origin_of, peer_of};
use error::{ApiError, ApiErrorKind};

/// The largest upload to `POST /api/v1/media`, in bytes (the request size limit).
pub const UPLOAD_MAX: usize = 10 * 1024 * 1024;

/// The user a bearer token acts as.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// The token's user, active.
    pub user: User,
    /// The actor for crm-lib calls, with the request's ip and user agent.
    pub actor: Actor,
}

/// The token of an `Authorization: Bearer ...` header.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(parts).map(str::to_string) else {
            return Err(ApiError::new(
                ApiErrorKind::Unauthorized,
                "send an api token: Authorization: Bearer crm_...",
            ));
        };
        // The token names its organization (its record's); a disabled one's are refused.
        let crm_lib::api_tokens::TokenUser {
            user,
            actor,
            org_slug,
        } = state
            .read_now(move |crm| crm.authenticate_bearer(&token))
            .map_err(|error| match error.kind() {
                crm_lib::ErrorKind::PermissionDenied => {
                    ApiError::new(ApiErrorKind::Unauthorized, error.message())
                }
                _ => ApiError::from(error),
            })?;
        crate::web::metrics::RequestOrg::record(parts, &org_slug);
        let origin = origin_of(&parts.headers, peer_of(parts));
        Ok(ApiUser {
            user,
            actor: actor.with_origin(origin),
        })
    }
}

async fn no_such_endpoint() -> ApiError {
    ApiError::new(ApiErrorKind::NotFound, "no such api endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::with_status(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take this method",
    )
}

/// The API's routes, to be nested at `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(doc::openapi_json))
        .route("/canned", get(canned::list).post(canned::create))
        .route(
            "/canned/{id}",
            axum::routing::put(canned::update).delete(canned::delete),
        )
        .route("/hours", get(canned::get_hours).put(canned::put_hours))
        .route("/orders", get(orders::list).post(orders::create))
        .route("/orders/{id}", get(orders::get))
        .route("/orders/{id}/approve", post(orders::approve))
        .route("/orders/{id}/reject", post(orders::reject))
        .route("/orders/{id}/move", post(orders::move_to))
        .route("/orders/{id}/assign", post(orders::assign))
        .route(
            "/orders/{id}/fields",
            get(tickets::get).put(tickets::put).patch(tickets::patch),
        )
        .route("/orders/{id}/fraud/{rule}/clear", post(tickets::clear))
        .route("/leads/{id}", get(leads::get))
        .route("/leads/{id}/stop-ai", post(leads::stop_ai))
        .route("/leads/{id}/resume-ai", post(leads::resume_ai))
        .route(
            "/ai-settings",
            get(leads::get_settings).put(leads::put_settings),
        )
        .route(
            "/orders/{id}/bids",
            get(orders::bids).post(orders::place_bid),
        )
        .route("/orders/{id}/messages", get(customers::order_messages))
        .route("/orders/{id}/suggested-staff", get(staffing::suggested))
        .route(
            "/orders/{id}/access",
            get(staffing::list).post(staffing::grant),
        )
        .route("/orders/{id}/access/{user}", delete(staffing::revoke))
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/{id}", get(customers::get))
        .route("/customers/{id}/merge", post(csat::merge))
        .route("/csat", get(csat::stats))
        .route("/analytics", get(analytics::get))
        .route("/analytics/{chart}", get(analytics::chart))
        .route(
            "/packages",
            get(tokens::list_packages).post(tokens::create_package),
        )
        .route("/packages/{id}", axum::routing::put(tokens::update_package))
        .route(
            "/token-settings",
            get(tokens::get_settings).put(tokens::put_settings),
        )
        .route(
            "/customers/{id}/tokens",
            get(tokens::ledger).post(tokens::credit),
        )
        .route("/customers/{id}/premium", post(tokens::premium))
        .route("/token-orders", post(tokens::place))
        .route("/orders/{id}/rerun", post(tokens::rerun))
        .route("/orders/{id}/tokens", get(tokens::token_order))
        .route(
            "/customers/{id}/scheduled",
            get(tokens::list_scheduled).post(tokens::schedule),
        )
        .route("/scheduled/{id}/cancel", post(tokens::cancel_scheduled))
        .route("/token-queue", get(tokens::queue))
        .route("/token-queue/{order}/move", post(tokens::move_in_queue))
        .route(
            "/payment-settings",
            get(payments::get_settings).put(payments::put_settings),
        )
        .route("/invoices", get(payments::list))
        .route("/invoices/{id}", get(payments::get))
        .route("/invoices/{id}/refund", post(payments::refund))
        .route("/customers/{id}/invoices", post(payments::create))
        .route("/customers/{id}/timeline", get(calls::timeline))
        .route("/calls", get(calls::list))
        .route("/calls/{id}", get(calls::get))
        .route("/audit", get(calls::audit))
        .route(
            "/customers/{id}/messages",
            get(customers::messages).post(customers::send),
        )
        .route("/customers/{id}/read", post(customers::mark_read))
        .route("/messages/{id}/edit", post(customers::edit))
        .route("/messages/{id}", delete(customers::delete))
        .route("/conversations", get(customers::conversations))
        .route(
            "/media",
            post(customers::upload).layer(DefaultBodyLimit::max(UPLOAD_MAX)),
        )
        .route("/users", get(users::list))
        .route("/users/me", get(users::me))
        .route("/users/{id}/phone", axum::routing::put(users::set_phone))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{name}/run", post(jobs::run))
        .route(
            "/departments",
            get(operators::list_departments).post(operators::create_department),
        )
        .route("/departments/{id}", patch(operators::update_department))
        .route("/departments/{id}/members", post(operators::add_member))
        .route(
            "/departments/{id}/members/{user}",
            delete(operators::remove_member),
        )
        .route("/operators", get(operators::list_operators))
        .route("/operators/stats", get(operators::stats))
        .route(
            "/operators/{user}/status",
            get(operators::get_status).put(operators::set_status),
        )
        .route("/queue", get(operators::queue))
        .route("/customers/{id}/conversation", get(operators::conversation))
        .route(
            "/customers/{id}/conversation/assign",
            post(operators::assign),
        )
        .route("/customers/{id}/conversation/close", post(operators::close))
        .route(
            "/customers/{id}/conversation/reopen",
            post(operators::reopen),
        )
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            axum::routing::put(webhooks::update).delete(webhooks::delete),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/webhooks/deliveries/{id}/redeliver",
            post(webhooks::redeliver),
        )
        .route(
            "/broadcasts",
            get(broadcasts::list).post(broadcasts::create),
        )
        .route("/broadcasts/preview", post(broadcasts::preview))
        .route(
            "/broadcasts/{id}",
            get(broadcasts::get)
                .patch(broadcasts::update)
                .delete(broadcasts::delete),
        )
        .route("/broadcasts/{id}/test", post(broadcasts::test))
        .route("/broadcasts/{id}/schedule", post(broadcasts::schedule))
        .route("/broadcasts/{id}/start", post(broadcasts::start))
        .route("/broadcasts/{id}/pause", post(broadcasts::pause))
        .route("/broadcasts/{id}/resume", post(broadcasts::resume))
        .route("/broadcasts/{id}/cancel", post(broadcasts::cancel))
        .route("/broadcasts/{id}/recipients", get(broadcasts::recipients))
        .route(
            "/customers/{id}/profiles",
            get(profiles::list).post(profiles::create),
        )
        .route("/profiles/{id}", get(profiles::get).put(profiles::update))
        .route("/projects", get(projects::list).post(projects::create))
        .route("/projects/{id}", get(projects::get).patch(projects::update))
        .route(
            "/projects/{id}/workers",
            axum::routing::put(projects::workers),
        )
        .route("/projects/{id}/stages", post(projects::add_stage))
        .route(
            "/projects/{id}/stages/{stage}/progress",
            post(projects::progress),
        )
        .route("/projects/{id}/timeline", get(projects::timeline))
        .route("/projects/{id}/reports", post(projects::add_report))
        .route("/projects/{id}/entries", post(projects::add_entry))
        .route(
            "/projects/{id}/estimate-lines",
            post(projects::add_estimate_line),
        )
        .route(
            "/projects/{id}/change-requests",
            post(projects::create_change_request),
        )
        .route(
            "/projects/{id}/change-requests/{request}/decide",
            post(projects::decide),
        )
        .route(
            "/projects/{id}/change-requests/{request}/withdraw",
            post(projects::withdraw),
        )
        .route("/projects/{id}/state", post(projects::set_state))
        .route(
            "/projects/{id}/documents",
            get(projects::documents).post(projects::add_document),
        )
        .route(
            "/projects/{id}/documents/{document}",
            delete(projects::remove_document),
        )
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
}
