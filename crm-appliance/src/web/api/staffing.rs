//! `/api/v1/orders/{id}/suggested-staff` and `/api/v1/orders/{id}/access`: staff suggested
//! for an order by its markers, and delegated access (a user's temporary right to view one
//! order and chat about it), as crm-lib's `staffing` module decides them.

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::model::{OrderId, UserId};
use crm_lib::staffing::{OrderAccess, StaffSuggestion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use super::views::{MarkerView, UserView};
use crate::AppState;

/// A staff user whose skills match an order's markers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuggestionView {
    /// The user.
    pub user: UserView,
    /// The order's markers they have.
    pub matching: Vec<MarkerView>,
}

impl From<&StaffSuggestion> for SuggestionView {
    fn from(suggestion: &StaffSuggestion) -> Self {
        SuggestionView {
            user: UserView::from(&suggestion.user),
            matching: suggestion.matching.iter().map(MarkerView::from).collect(),
        }
    }
}

/// A user's access to an order through grants that share an expiry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessView {
    /// The user id.
    pub user: u64,
    /// Their display name.
    pub display_name: String,
    /// What they may do on the order (`view_orders`, `chat_customers`).
    pub permissions: Vec<String>,
    /// When it ends, RFC 3339; null for the assignee's chat access, which lasts while they
    /// are assigned.
    pub expires_at: Option<String>,
    /// Whether `DELETE .../access/{user}` takes it away (a delegation).
    pub revocable: bool,
}

impl From<&OrderAccess> for AccessView {
    fn from(access: &OrderAccess) -> Self {
        AccessView {
            user: access.user.get(),
            display_name: access.display_name.clone(),
            permissions: access
                .permissions
                .iter()
                .map(|permission| permission.as_str().to_string())
                .collect(),
            expires_at: access.expires_at.map(|at| at.to_rfc3339()),
            revocable: access.revocable(),
        }
    }
}

/// A delegated access to give.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct GrantAccess {
    /// The user id.
    pub user: u64,
    /// For how many hours, 1-2160 (90 days).
    pub hours: u32,
}

/// Active staff whose skills match the order's markers, best first (needs `assign_orders`).
#[utoipa::path(
    get, operation_id = "listSuggestedStaff", path = "/api/v1/orders/{id}/suggested-staff", tag = "orders",
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The suggestions; empty for an order without markers", body = Vec<SuggestionView>),
        (status = 403, description = "Missing assign_orders", body = ErrorResponse),
        (status = 404, description = "No such order", body = ErrorResponse),
    )
)]
pub async fn suggested(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<Vec<SuggestionView>>, ApiError> {
    let suggestions = state
        .blocking(move |crm| crm.suggested_staff(&user.actor, OrderId::new(id)))
        .await?;
    Ok(ApiJson(
        suggestions.iter().map(SuggestionView::from).collect(),
    ))
}

/// Who holds access to the order through grants that have not expired (needs
/// `assign_orders`).
#[utoipa::path(
    get, operation_id = "listOrderAccess", path = "/api/v1/orders/{id}/access", tag = "orders",
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The access grants", body = Vec<AccessView>),
        (status = 403, description = "Missing assign_orders", body = ErrorResponse),
        (status = 404, description = "No such order", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<Vec<AccessView>>, ApiError> {
    let access = state
        .blocking(move |crm| crm.order_access(&user.actor, OrderId::new(id)))
        .await?;
    Ok(ApiJson(access.iter().map(AccessView::from).collect()))
}

/// Give a user access to the order (view and chat) for some hours (needs `assign_orders`).
#[utoipa::path(
    post, operation_id = "grantOrderAccess", path = "/api/v1/orders/{id}/access", tag = "orders", request_body = GrantAccess,
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 201, description = "Given", body = AccessView),
        (status = 403, description = "Missing assign_orders", body = ErrorResponse),
        (status = 404, description = "No such order or user", body = ErrorResponse),
        (status = 409, description = "A disabled user, or the token's own user", body = ErrorResponse),
        (status = 422, description = "Hours outside 1-2160", body = ErrorResponse),
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<GrantAccess>,
) -> Result<(StatusCode, ApiJson<AccessView>), ApiError> {
    let access = state
        .blocking(move |crm| {
            crm.grant_order_access(
                &user.actor,
                OrderId::new(id),
                UserId::new(body.user),
                body.hours,
            )
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(AccessView::from(&access))))
}

/// Take a user's delegated access to the order away (needs `assign_orders`); the assignee's
/// chat access stays.
#[utoipa::path(
    delete, operation_id = "revokeOrderAccess", path = "/api/v1/orders/{id}/access/{user}", tag = "orders",
    params(
        ("id" = u64, Path, description = "Order id"),
        ("user" = u64, Path, description = "User id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Missing assign_orders", body = ErrorResponse),
        (status = 404, description = "No such order, or no delegated access of the user", body = ErrorResponse),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, grantee)): ApiPath<(u64, u64)>,
) -> Result<StatusCode, ApiError> {
    state
        .blocking(move |crm| {
            crm.revoke_order_access(&user.actor, OrderId::new(id), UserId::new(grantee))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
