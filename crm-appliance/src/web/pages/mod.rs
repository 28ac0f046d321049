//! The staff pages, one module per area, each with its `routes()`.

pub mod admin;
pub mod analytics;
pub mod audit;
pub mod board;
pub mod broadcasts;
pub mod calls;
pub mod csat;
pub mod dashboard;
pub mod leads;
pub mod merge;
pub mod operators;
pub mod order_staffing;
pub mod orders;
pub mod payment_details;
pub mod payments;
pub mod profile;
pub mod profiles;
pub mod projects;
pub mod ticket;
pub mod timeline;
pub mod tokens;

use axum::Router;

use crate::AppState;

/// Every page route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(dashboard::routes())
        .merge(analytics::routes())
        .merge(profile::routes())
        .merge(orders::routes())
        .merge(payment_details::routes())
        .merge(board::routes())
        .merge(admin::routes())
        .merge(audit::routes())
        .merge(operators::routes())
        .merge(timeline::routes())
        .merge(calls::routes())
        .merge(csat::routes())
        .merge(merge::routes())
        .merge(tokens::routes())
        .merge(profiles::routes())
        .merge(payments::routes())
        .merge(broadcasts::routes())
        .merge(projects::routes())
}
