//! `/api/v1/users`: the team's names, the token's own user with roles and permissions, and
//! a user's phone (how the worker's bot recognises a worker sharing their contact).

use axum::extract::State;
use crm_lib::model::UserId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
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

/// A staff user's phone to set: E.164 or a number crm-lib cleans to it; `null` or empty
/// removes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PhoneInput {
    /// The phone (`+79161234567`, `8 916 123-45-67`), or `null`.
    pub phone: Option<String>,
}

/// A staff user's phone as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhoneView {
    /// The user.
    pub id: u64,
    /// Login name.
    pub username: String,
    /// The phone in E.164, or `null`.
    pub phone: Option<String>,
}

/// Sets or removes a staff user's phone (needs `manage_users`; unique per organization;
/// audited as `user.phone_changed`). A worker whose phone is set links their Telegram account
/// by sharing their contact with the bot.
#[utoipa::path(
    put, operation_id = "setUserPhone", path = "/api/v1/users/{id}/phone", tag = "users",
    request_body = PhoneInput,
    params(("id" = u64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's phone now", body = PhoneView),
        (status = 403, description = "Missing manage_users", body = ErrorResponse),
        (status = 404, description = "No such user", body = ErrorResponse),
        (status = 409, description = "Another user has this phone", body = ErrorResponse),
        (status = 422, description = "Not a phone number", body = ErrorResponse),
    )
)]
pub async fn set_phone(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(input): ApiJson<PhoneInput>,
) -> Result<ApiJson<PhoneView>, ApiError> {
    let changed = state
        .blocking(move |crm| {
            crm.set_user_phone(&user.actor, UserId::new(id), input.phone.as_deref())
        })
        .await?;
    Ok(ApiJson(PhoneView {
        id: changed.id.get(),
        username: changed.username,
        phone: changed.phone,
    }))
}
