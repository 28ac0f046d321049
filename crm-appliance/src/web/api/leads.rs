//! The leads API (the projects module): a lead's qualification (`GET /api/v1/leads/{id}`:
//! its slots, source, summary, hot flag, who qualifies it, the AI's state and its call log),
//! Stop AI and Resume AI (`POST /api/v1/leads/{id}/stop-ai`, `/resume-ai`), and the AI
//! settings (`GET`/`PUT /api/v1/ai-settings`, the key write-only). One crm-lib call each; 404
//! while the module is off.

use axum::extract::State;
use crm_lib::leads::{AiSettingsInput, AiSettingsView, LeadView};
use crm_lib::model::{Actor, FieldValue, OrderId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use crate::AppState;

/// One slot of a lead.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadSlotView {
    /// The field's key (`area`).
    pub key: String,
    /// Its kind: `text`, `number`, `money`, `choice`...
    pub kind: String,
    /// The value as an answer crm-lib reads back (a choice's key, `1500000.00`); absent when
    /// not known yet.
    pub value: Option<String>,
}

/// One call of the AI.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AiCallView {
    /// When the request was sent, ms since the epoch.
    pub at: i64,
    /// How long it took, in milliseconds.
    pub latency_ms: u32,
    /// The model that answered.
    pub model: String,
    /// Prompt tokens, as the answer counted them.
    pub prompt_tokens: Option<u32>,
    /// Completion tokens.
    pub completion_tokens: Option<u32>,
    /// `applied`, `refused`, `http_error`, `timeout`, `network_error` or `discarded`.
    pub outcome: String,
    /// The refusal's reason, the status or the error; empty otherwise.
    pub detail: String,
}

/// Why and since when a lead is hot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotView {
    /// Why (the AI's reason; empty when a person set the flag without one).
    pub reason: String,
    /// Since when, ms since the epoch.
    pub at: i64,
}

/// A lead's qualification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeadJson {
    /// The lead (an order).
    pub order: u64,
    /// The slots the AI and the fixed questions fill, in the order asked.
    pub slots: Vec<LeadSlotView>,
    /// How many of them are filled.
    pub filled: usize,
    /// Where the lead came from (`bot`, `web`, `api`, `import`...), when recorded.
    pub source: Option<String>,
    /// The AI's summary.
    pub summary: Option<String>,
    /// Why it is hot, while it is.
    pub hot: Option<HotView>,
    /// `active`, `stopped_manually`, `stopped_hot` or `stopped_failures`.
    pub ai: String,
    /// Whether the organization's AI is on (switched on, a key saved).
    pub ai_on: bool,
    /// Who qualifies it now: `ai`, `questions` or `staff`.
    pub qualifier: String,
    /// The AI's failed answers in a row.
    pub failures: u32,
    /// When the waiting AI call is due (ms since the epoch), if one waits.
    pub pending: Option<i64>,
    /// The latest calls of the AI, newest first.
    pub calls: Vec<AiCallView>,
    /// Every call made on it.
    pub calls_total: u32,
    /// Whether the reader may stop the AI now.
    pub can_stop_ai: bool,
    /// Whether the reader may resume it now.
    pub can_resume_ai: bool,
}

impl From<LeadView> for LeadJson {
    fn from(view: LeadView) -> Self {
        LeadJson {
            order: view.order.get(),
            slots: view
                .slots
                .iter()
                .map(|(def, value)| LeadSlotView {
                    key: def.key.clone(),
                    kind: def.kind.name().to_string(),
                    value: value.as_ref().map(FieldValue::to_answer),
                })
                .collect(),
            filled: view.filled,
            source: view.source.map(|(_, value)| value.to_answer()),
            summary: view.summary,
            hot: view.hot.map(|hot| HotView {
                reason: hot.reason,
                at: hot.at.millis(),
            }),
            ai: view.ai.as_str().to_string(),
            ai_on: view.ai_on,
            qualifier: view.qualifier.as_str().to_string(),
            failures: view.failures,
            pending: view.pending.map(|at| at.millis()),
            calls: view
                .calls
                .iter()
                .map(|call| AiCallView {
                    at: call.at.millis(),
                    latency_ms: call.latency_ms,
                    model: call.model.clone(),
                    prompt_tokens: call.prompt_tokens,
                    completion_tokens: call.completion_tokens,
                    outcome: call.outcome.as_str().to_string(),
                    detail: call.outcome.detail(),
                })
                .collect(),
            calls_total: view.calls_total,
            can_stop_ai: view.actions.stop_ai,
            can_resume_ai: view.actions.resume_ai,
        }
    }
}

/// The lead as `actor` sees it; 404 while the projects module is off.
fn read_lead(crm: &crm_lib::Crm, actor: &Actor, order: OrderId) -> crm_lib::Result<LeadJson> {
    crm.lead(actor, order)?
        .map(LeadJson::from)
        .ok_or_else(|| crm_lib::Error::not_found("module", "projects"))
}

/// A lead's qualification (staff who may see the order).
#[utoipa::path(
    get, operation_id = "getLead", path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = u64, Path, description = "The lead's order id")),
    responses(
        (status = 200, description = "The lead's qualification", body = LeadJson),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
        (status = 404, description = "No such order visible to the user, or the projects module is off", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<LeadJson>, ApiError> {
    let lead = state
        .blocking(move |crm| read_lead(crm, &user.actor, OrderId::new(id)))
        .await?;
    Ok(ApiJson(lead))
}

/// Stops the AI on a lead: a person answers the customer (needs `moderate_orders`).
#[utoipa::path(
    post, operation_id = "stopLeadAi", path = "/api/v1/leads/{id}/stop-ai", tag = "leads",
    params(("id" = u64, Path, description = "The lead's order id")),
    responses(
        (status = 200, description = "Stopped: the lead's qualification", body = LeadJson),
        (status = 403, description = "Missing moderate_orders", body = ErrorResponse),
        (status = 404, description = "No such order visible to the user, or the projects module is off", body = ErrorResponse),
        (status = 409, description = "The AI is stopped already", body = ErrorResponse),
    )
)]
pub async fn stop_ai(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<LeadJson>, ApiError> {
    let order = OrderId::new(id);
    let lead = state
        .blocking(move |crm| {
            crm.stop_lead_ai(&user.actor, order)?;
            read_lead(crm, &user.actor, order)
        })
        .await?;
    Ok(ApiJson(lead))
}

/// Lets the AI work a lead again (needs `moderate_orders`).
#[utoipa::path(
    post, operation_id = "resumeLeadAi", path = "/api/v1/leads/{id}/resume-ai", tag = "leads",
    params(("id" = u64, Path, description = "The lead's order id")),
    responses(
        (status = 200, description = "Resumed: the lead's qualification", body = LeadJson),
        (status = 403, description = "Missing moderate_orders", body = ErrorResponse),
        (status = 404, description = "No such order visible to the user, or the projects module is off", body = ErrorResponse),
        (status = 409, description = "The AI works the lead already", body = ErrorResponse),
    )
)]
pub async fn resume_ai(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<LeadJson>, ApiError> {
    let order = OrderId::new(id);
    let lead = state
        .blocking(move |crm| {
            crm.resume_lead_ai(&user.actor, order)?;
            read_lead(crm, &user.actor, order)
        })
        .await?;
    Ok(ApiJson(lead))
}

/// The AI settings as read: the key only as its last 4 characters.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AiSettingsJson {
    /// Whether AI qualification is switched on.
    pub enabled: bool,
    /// Whether it runs: switched on and a key saved.
    pub on: bool,
    /// The OpenAI-compatible API's base URL.
    pub base_url: String,
    /// `…` and the key's last 4 characters; absent when no key is saved.
    pub key_hint: Option<String>,
    /// The model.
    pub model: String,
    /// The timeout of one call, in seconds.
    pub timeout_seconds: u32,
}

impl From<AiSettingsView> for AiSettingsJson {
    fn from(view: AiSettingsView) -> Self {
        AiSettingsJson {
            enabled: view.enabled,
            on: view.on,
            base_url: view.base_url,
            key_hint: view.key_hint,
            model: view.model,
            timeout_seconds: view.timeout_seconds,
        }
    }
}

/// The AI settings as written.
#[derive(Clone, Deserialize, ToSchema)]
pub struct AiSettingsBody {
    /// Whether AI qualification is wanted (default true).
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// The OpenAI-compatible API's base URL (empty: `https://openrouter.ai/api/v1`).
    #[serde(default)]
    pub base_url: String,
    /// A new API key (8-512 characters); absent keeps the saved one, an empty text removes
    /// it. Never returned.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The model (empty: `anthropic/claude-3.5-sonnet`).
    #[serde(default)]
    pub model: String,
    /// The timeout of one call, 1-120 seconds (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

fn default_enabled() -> bool {
    true
}

fn default_timeout() -> u32 {
    crm_lib::model::DEFAULT_AI_TIMEOUT_SECONDS
}

/// The AI settings (needs `manage_settings`).
#[utoipa::path(
    get, operation_id = "getAiSettings", path = "/api/v1/ai-settings", tag = "leads",
    responses(
        (status = 200, description = "The settings", body = AiSettingsJson),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "The projects module is off", body = ErrorResponse),
    )
)]
pub async fn get_settings(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<AiSettingsJson>, ApiError> {
    let view = state
        .blocking(move |crm| crm.ai_settings(&user.actor))
        .await?;
    Ok(ApiJson(view.into()))
}

/// Replaces the AI settings (needs `manage_settings`).
#[utoipa::path(
    put, operation_id = "putAiSettings", path = "/api/v1/ai-settings", tag = "leads",
    request_body = AiSettingsBody,
    responses(
        (status = 200, description = "Saved", body = AiSettingsJson),
        (status = 403, description = "Missing manage_settings", body = ErrorResponse),
        (status = 404, description = "The projects module is off", body = ErrorResponse),
        (status = 422, description = "A bad field", body = ErrorResponse),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<AiSettingsBody>,
) -> Result<ApiJson<AiSettingsJson>, ApiError> {
    let input = AiSettingsInput {
        enabled: body.enabled,
        base_url: body.base_url,
        api_key: body.api_key,
        model: body.model,
        timeout_seconds: body.timeout_seconds,
    };
    let view = state
        .blocking(move |crm| crm.set_ai_settings(&user.actor, input))
        .await?;
    Ok(ApiJson(view.into()))
}
