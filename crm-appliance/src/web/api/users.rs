//! `/api/v1/users`: the team (without password hashes), and the token's own user.

use axum::extract::State;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ErrorResponse};
use super::views::UserView;
use crate::AppState;

/// Every staff user of the organization, by id (any staff user may see the team, e.g. to
/// pick an assignee).
#[utoipa::path(
    get, path = "/api/v1/users", tag = "users",
    responses(
        (status = 200, description = "The users", body = Vec<UserView>),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _user: ApiUser,
) -> Result<ApiJson<Vec<UserView>>, ApiError> {
    let org = state.org();
    let (users, roles) = state
        .blocking(move |crm| Ok((crm.users(org)?, crm.roles(org)?)))
        .await?;
    Ok(ApiJson(
        users.iter().map(|user| UserView::new(user, &roles)).collect(),
    ))
}

/// The user the token acts as.
#[utoipa::path(
    get, path = "/api/v1/users/me", tag = "users",
    responses(
        (status = 200, description = "The token's user", body = UserView),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<UserView>, ApiError> {
    let org = state.org();
    let roles = state.blocking(move |crm| crm.roles(org)).await?;
    Ok(ApiJson(UserView::new(&user.user, &roles)))
}
