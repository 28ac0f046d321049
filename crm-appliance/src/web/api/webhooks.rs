//! `/api/v1/webhooks` (SPEC 5F): the organization's webhook endpoints (list, create,
//! update, delete), an endpoint's deliveries with their attempts (newest first, keyset
//! paged), and redelivery. Needs `manage_settings`; crm-lib checks everything
//! ([`crm_lib::webhooks`]): a bad URL or event answers 422 naming the field.

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::model::{
    WebhookAttempt, WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointId,
};
use crm_lib::webhooks::WebhookInput;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::AppState;

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: u64,
    /// Where events are POSTed.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event types it receives (`order.created`, `order.stage_changed`, `order.deleted`,
    /// `message.received`, `customer.created`, `payment.succeeded`).
    pub events: Vec<String>,
    /// Whether it receives events.
    pub enabled: bool,
    /// The signing secret (`whsec_...`): receivers verify `webhook-signature` with it.
    pub secret: String,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
}

impl From<&WebhookEndpoint> for WebhookView {
    fn from(endpoint: &WebhookEndpoint) -> Self {
        WebhookView {
            id: endpoint.id.get(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            events: endpoint
                .events
                .iter()
                .map(|event| event.as_str().to_string())
                .collect(),
            enabled: endpoint.enabled,
            secret: endpoint.secret.clone(),
            created_at: endpoint.created_at.to_rfc3339(),
            updated_at: endpoint.updated_at.to_rfc3339(),
        }
    }
}

/// An endpoint to create, or what it becomes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct WebhookBody {
    /// An absolute `http://` or `https://` URL with a host, at most 2,000 characters, without
    /// user information.
    pub url: String,
    /// At most 200 characters.
    #[serde(default)]
    pub description: String,
    /// At least one event type.
    pub events: Vec<String>,
    /// Whether it receives events (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl From<WebhookBody> for WebhookInput {
    fn from(body: WebhookBody) -> Self {
        WebhookInput {
            url: body.url,
            description: body.description,
            events: body.events,
            enabled: body.enabled,
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookAttemptView {
    /// When, RFC 3339.
    pub at: String,
    /// The HTTP status answered, if any.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u32,
    /// Whether staff asked for it.
    pub redelivery: bool,
}

impl From<&WebhookAttempt> for WebhookAttemptView {
    fn from(attempt: &WebhookAttempt) -> Self {
        WebhookAttemptView {
            at: attempt.at.to_rfc3339(),
            status: attempt.status,
            error: attempt.error.clone(),
            duration_ms: attempt.duration_ms,
            redelivery: attempt.redelivery,
        }
    }
}

/// One message queued to an endpoint, with its attempts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    /// Id.
    pub id: u64,
    /// The endpoint.
    pub endpoint_id: u64,
    /// The `webhook-id` header (the same on every attempt).
    pub message_id: String,
    /// The event type.
    pub event: String,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    /// The JSON body sent.
    pub payload: String,
    /// The next attempt, RFC 3339, while pending.
    pub next_attempt_at: Option<String>,
    /// Every attempt, oldest first.
    pub attempts: Vec<WebhookAttemptView>,
    /// Queued, RFC 3339.
    pub created_at: String,
}

impl From<&WebhookDelivery> for WebhookDeliveryView {
    fn from(delivery: &WebhookDelivery) -> Self {
        WebhookDeliveryView {
            id: delivery.id.get(),
            endpoint_id: delivery.endpoint.get(),
            message_id: delivery.message_id.clone(),
            event: delivery.event.as_str().to_string(),
            state: delivery.state.as_str().to_string(),
            payload: delivery.payload.clone(),
            next_attempt_at: (delivery.state == crm_lib::model::WebhookDeliveryState::Pending)
                .then(|| delivery.next_attempt_at.to_rfc3339()),
            attempts: delivery
                .attempts
                .iter()
                .map(WebhookAttemptView::from)
                .collect(),
            created_at: delivery.created_at.to_rfc3339(),
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDeliveryPage {
    /// The deliveries.
    pub items: Vec<WebhookDeliveryView>,
    /// The `after` of the next page.
    pub next: Option<u64>,
}

/// `?after=&limit=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// The `next` of the previous page.
    pub after: Option<u64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
}

/// Every webhook endpoint (needs `manage_settings`).
#[utoipa::path(
    get, operation_id = "listWebhooks", path = "/api/v1/webhooks", tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints", body = Vec<WebhookView>),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<WebhookView>>, ApiError> {
    let list = state.blocking(move |crm| crm.webhooks(&user.actor)).await?;
    Ok(ApiJson(list.iter().map(WebhookView::from).collect()))
}

/// Add a webhook endpoint with a new signing secret (needs `manage_settings`).
#[utoipa::path(
    post, operation_id = "createWebhook", path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookBody,
    responses(
        (status = 201, description = "Created, with its secret", body = WebhookView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 409, description = "Too many endpoints", body = ErrorResponse),
        (status = 422, description = "A bad URL, description or event type", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<(StatusCode, ApiJson<WebhookView>), ApiError> {
    let endpoint = state
        .blocking(move |crm| crm.create_webhook(&user.actor, body.into()))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(WebhookView::from(&endpoint))))
}

/// Replace an endpoint's URL, description, events and enabled flag (needs `manage_settings`).
#[utoipa::path(
    put, operation_id = "updateWebhook", path = "/api/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookBody,
    params(("id" = u64, Path, description = "Webhook endpoint id")),
    responses(
        (status = 200, description = "The endpoint now", body = WebhookView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "No such endpoint", body = ErrorResponse),
        (status = 422, description = "A bad URL, description or event type", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<ApiJson<WebhookView>, ApiError> {
    let endpoint = state
        .blocking(move |crm| {
            crm.update_webhook(&user.actor, WebhookEndpointId::new(id), body.into())
        })
        .await?;
    Ok(ApiJson(WebhookView::from(&endpoint)))
}

/// Delete an endpoint with its delivery log (needs `manage_settings`).
#[utoipa::path(
    delete, operation_id = "deleteWebhook", path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = u64, Path, description = "Webhook endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "No such endpoint", body = ErrorResponse),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<StatusCode, ApiError> {
    state
        .blocking(move |crm| crm.delete_webhook(&user.actor, WebhookEndpointId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An endpoint's deliveries with their attempts, newest first (needs `manage_settings`).
#[utoipa::path(
    get, operation_id = "listWebhookDeliveries", path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = u64, Path, description = "Webhook endpoint id"), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = WebhookDeliveryPage),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "No such endpoint", body = ErrorResponse),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<ApiJson<WebhookDeliveryPage>, ApiError> {
    let page = crm_lib::Page {
        after: query.after,
        limit: query.limit.unwrap_or(50),
    };
    let paged = state
        .blocking(move |crm| crm.webhook_deliveries(&user.actor, WebhookEndpointId::new(id), page))
        .await?;
    Ok(ApiJson(WebhookDeliveryPage {
        items: paged.items.iter().map(WebhookDeliveryView::from).collect(),
        next: paged.next,
    }))
}

/// Send a delivery again: one more attempt of the same message, same `webhook-id` (needs
/// `manage_settings`).
#[utoipa::path(
    post, operation_id = "redeliverWebhook", path = "/api/v1/webhooks/deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = u64, Path, description = "Webhook delivery id")),
    responses(
        (status = 200, description = "Queued again", body = WebhookDeliveryView),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "No such delivery", body = ErrorResponse),
        (status = 409, description = "Still pending, or the endpoint is disabled", body = ErrorResponse),
    )
)]
pub async fn redeliver(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<WebhookDeliveryView>, ApiError> {
    let delivery = state
        .blocking(move |crm| crm.redeliver_webhook(&user.actor, WebhookDeliveryId::new(id)))
        .await?;
    Ok(ApiJson(WebhookDeliveryView::from(&delivery)))
}
