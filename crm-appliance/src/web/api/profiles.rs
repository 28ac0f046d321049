//! `/api/v1/customers/{id}/profiles` and `/api/v1/profiles/{id}`: customers' profiles (the
//! tokens module; 404 while it is off). crm-lib checks every answer with the organization's
//! registration form ([`crm_lib::profiles`]): a bad one is 422 naming the field.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::model::{CustomerId, FieldValue, Profile, ProfileId};
use crm_lib::profiles::ProfileView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use crate::AppState;

/// A customer's profile: a person they order for, with the registration form's answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileJson {
    /// Id.
    pub id: u64,
    /// The customer who keeps it.
    pub customer: u64,
    /// The full name (first, middle, last).
    pub label: String,
    /// The answers by field key, as typed back (`state`: `ny`, `date_of_birth`:
    /// `1990-05-17`, `phone`: `+12125550100`).
    pub answers: BTreeMap<String, String>,
    /// Archived profiles are kept but no longer offered.
    pub archived: bool,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
}

impl From<&Profile> for ProfileJson {
    fn from(profile: &Profile) -> Self {
        ProfileJson {
            id: profile.id.get(),
            customer: profile.customer.get(),
            label: profile.label.clone(),
            answers: profile
                .answers
                .iter()
                .map(|(key, value)| (key.clone(), FieldValue::to_answer(value)))
                .collect(),
            archived: profile.archived,
            created_at: profile.created_at.to_rfc3339(),
            updated_at: profile.updated_at.to_rfc3339(),
        }
    }
}

impl From<&ProfileView> for ProfileJson {
    fn from(view: &ProfileView) -> Self {
        ProfileJson::from(&view.profile)
    }
}

/// A profile to create, or what it becomes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ProfileBody {
    /// Answers by field key of the registration form, as typed (`"state": "NY"`); an empty
    /// answer leaves the field out; required fields must be given.
    pub answers: BTreeMap<String, String>,
    /// `PUT` only: archive (true) or restore (false) the profile; unchanged when absent.
    #[serde(default)]
    pub archived: Option<bool>,
}

/// A customer's profiles, oldest first, archived ones included (needs `chat_customers` or
/// `view_orders`).
#[utoipa::path(
    get, operation_id = "listProfiles", path = "/api/v1/customers/{id}/profiles", tag = "profiles",
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The profiles", body = Vec<ProfileJson>),
        (status = 403, description = "Missing view_orders", body = ErrorResponse),
        (status = 404, description = "No such customer, or the tokens module is off", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<Vec<ProfileJson>>, ApiError> {
    let profiles = state
        .blocking(move |crm| crm.profiles(&user.actor, CustomerId::new(id)))
        .await?;
    Ok(ApiJson(profiles.iter().map(ProfileJson::from).collect()))
}

/// Create a profile for a customer (needs `chat_customers`).
#[utoipa::path(
    post, operation_id = "createProfile", path = "/api/v1/customers/{id}/profiles", tag = "profiles",
    request_body = ProfileBody,
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 201, description = "Created", body = ProfileJson),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such customer, or the tokens module is off", body = ErrorResponse),
        (status = 409, description = "The customer keeps the most profiles allowed", body = ErrorResponse),
        (status = 422, description = "A refused answer or a required field missing (the message names it)", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<(StatusCode, ApiJson<ProfileJson>), ApiError> {
    let profile = state
        .blocking(move |crm| crm.create_profile(&user.actor, CustomerId::new(id), body.answers))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(ProfileJson::from(&profile))))
}

/// One profile (needs `chat_customers` or `view_orders`).
#[utoipa::path(
    get, operation_id = "getProfile", path = "/api/v1/profiles/{id}", tag = "profiles",
    params(("id" = u64, Path, description = "Profile id")),
    responses(
        (status = 200, description = "The profile", body = ProfileJson),
        (status = 403, description = "Missing view_orders", body = ErrorResponse),
        (status = 404, description = "No such profile, or the tokens module is off", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<ProfileJson>, ApiError> {
    let view = state
        .blocking(move |crm| crm.profile(&user.actor, ProfileId::new(id)))
        .await?;
    Ok(ApiJson(ProfileJson::from(&view)))
}

/// Replace a profile's answers, and archive or restore it (needs `chat_customers`).
#[utoipa::path(
    put, operation_id = "updateProfile", path = "/api/v1/profiles/{id}", tag = "profiles",
    request_body = ProfileBody,
    params(("id" = u64, Path, description = "Profile id")),
    responses(
        (status = 200, description = "The profile now", body = ProfileJson),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such profile, or the tokens module is off", body = ErrorResponse),
        (status = 422, description = "A refused answer or a required field missing (the message names it)", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<ProfileBody>,
) -> Result<ApiJson<ProfileJson>, ApiError> {
    let profile = state
        .blocking(move |crm| {
            let id = ProfileId::new(id);
            // Two use cases, each checking everything before it writes; the answers first,
            // so a refused answer archives nothing.
            let profile = crm.update_profile(&user.actor, id, body.answers)?;
            match body.archived {
                Some(archived) => crm.archive_profile(&user.actor, id, archived),
                None => Ok(profile),
            }
        })
        .await?;
    Ok(ApiJson(ProfileJson::from(&profile)))
}
