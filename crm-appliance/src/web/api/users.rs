//! `/api/v1/users`: the team's names, and the token's own user with roles and permissions.

use axum::extract::State;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ErrorResponse};
use super::views::{MeView, UserView};
use crate::AppState;

/// Every staff user's name, by id (any staff user may see them, e.g. to pick an assignee).
#[utoipa::path(
    get, operation_id = "listUsers", path = "/api/v1/users", tag = "users",
    responses(
        (status = 200, description = "The users", body = Vec<UserView>),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<UserView>>, ApiError> {
    let names = state
        .blocking(move |crm| crm.read(|view| crm_lib::team::staff_names_in(view, &user.actor)))
        .await?;
    Ok(ApiJson(names.iter().map(UserView::from).collect()))
}

/// The user the token acts as, with their roles and permissions.
#[utoipa::path(
    get, operation_id = "getMe", path = "/api/v1/users/me", tag = "users",
    responses(
        (status = 200, description = "The token's user", body = MeView),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
    )
)]
pub async fn me(State(state): State<AppState>, user: ApiUser) -> Result<ApiJson<MeView>, ApiError> {
    let (actor, id) = (user.actor.clone(), user.user.id);
    let (roles, permissions) = state
        .blocking(move |crm| Ok((crm.user_roles(&actor, id)?, crm.permissions(&actor, id)?)))
        .await?;
    Ok(ApiJson(MeView::new(&user.user, &roles, permissions)))
}
