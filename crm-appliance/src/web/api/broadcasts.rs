//! `/api/v1/broadcasts` (issue 13, the PRD's "Broadcast" API): the organization's broadcasts
//! (list, write, read, change, delete), their actions (test, schedule, start, pause, resume,
//! cancel), the delivery report's recipients (keyset paged, filtered by state) and the
//! preview of an audience. Needs `broadcast`; crm-lib checks everything
//! ([`crm_lib::broadcasts`]): a text over 3,900 characters, a rate outside 1-30 or a balance
//! range upside down answers 422 naming the field, an action the state does not allow 409.
//! A broadcast's JSON carries the PRD's figures (`sent`, `failed`, `blocked`,
//! `success_rate`) beside the whole report and the actions allowed now.

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::broadcasts::{
    AudiencePreview, BroadcastActions, BroadcastDraft, BroadcastView, DEFAULT_RATE, RecipientRow,
    broadcast_in,
};
use crm_lib::model::{
    Audience, Broadcast, BroadcastCounts, BroadcastId, CustomerId, Language, RecipientState,
    Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::AppState;

/// Who a broadcast goes to: every condition given must hold; none given means every
/// customer the bot can reach (with Telegram, not blocked).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AudienceJson {
    /// Language codes (`en`, `ru`); empty for any.
    pub languages: Vec<String>,
    /// Premium subscribers only (`true`), customers without Premium only (`false`), or
    /// either (`null`). The tokens module only.
    pub subscribers: Option<bool>,
    /// The lowest token balance, inclusive (the tokens module only).
    pub balance_min: Option<u64>,
    /// The highest token balance, inclusive (the tokens module only).
    pub balance_max: Option<u64>,
    /// Active (wrote or were written to) within this many days, 1-3650.
    pub active_within_days: Option<u32>,
    /// Customers who placed an order (`true`), who never did (`false`), or either.
    pub has_ordered: Option<bool>,
}

impl From<&Audience> for AudienceJson {
    fn from(audience: &Audience) -> Self {
        AudienceJson {
            languages: audience
                .languages
                .iter()
                .map(|language| language.code().to_string())
                .collect(),
            subscribers: audience.subscribers,
            balance_min: audience.balance_min,
            balance_max: audience.balance_max,
            active_within_days: audience.active_within_days,
            has_ordered: audience.has_ordered,
        }
    }
}

impl AudienceJson {
    /// crm-lib's audience; an unknown language code is invalid input on `languages`.
    fn audience(self) -> crm_lib::Result<Audience> {
        Ok(Audience {
            languages: self
                .languages
                .iter()
                .map(|code| Language::parse("languages", code))
                .collect::<crm_lib::Result<_>>()?,
            subscribers: self.subscribers,
            balance_min: self.balance_min,
            balance_max: self.balance_max,
            active_within_days: self.active_within_days,
            has_ordered: self.has_ordered,
        })
    }
}

/// The delivery report's counts: `recipients` is the sum of the others.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BroadcastCountsView {
    /// Everyone the audience picked when the broadcast started.
    pub recipients: u64,
    /// Not handed to the outbox yet.
    pub pending: u64,
    /// In the outbox, not answered yet.
    pub queued: u64,
    /// Telegram accepted the message.
    pub sent: u64,
    /// Telegram refused it, or the send was interrupted (never repeated).
    pub failed: u64,
    /// The customer blocked the bot.
    pub blocked: u64,
    /// Not sent: cancelled first, or the customer lost their Telegram account.
    pub skipped: u64,
}

impl From<&BroadcastCounts> for BroadcastCountsView {
    fn from(counts: &BroadcastCounts) -> Self {
        BroadcastCountsView {
            recipients: counts.recipients,
            pending: counts.pending,
            queued: counts.queued,
            sent: counts.sent,
            failed: counts.failed,
            blocked: counts.blocked,
            skipped: counts.skipped,
        }
    }
}

/// What may be done to a broadcast now (crm-lib's rules).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BroadcastActionsView {
    /// `PATCH` it.
    pub edit: bool,
    /// `POST .../test`.
    pub test: bool,
    /// `POST .../schedule`.
    pub schedule: bool,
    /// `POST .../start`.
    pub start: bool,
    /// `POST .../pause`.
    pub pause: bool,
    /// `POST .../resume`.
    pub resume: bool,
    /// `POST .../cancel`.
    pub cancel: bool,
    /// `DELETE` it.
    pub delete: bool,
}

impl From<BroadcastActions> for BroadcastActionsView {
    fn from(actions: BroadcastActions) -> Self {
        BroadcastActionsView {
            edit: actions.edit,
            test: actions.test,
            schedule: actions.schedule,
            start: actions.start,
            pause: actions.pause,
            resume: actions.resume,
            cancel: actions.cancel,
            delete: actions.delete,
        }
    }
}

/// A broadcast with its report and its actions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BroadcastJson {
    /// Id.
    pub id: u64,
    /// A name for staff, 1-100 characters.
    pub title: String,
    /// The message, 1-3,900 characters, sent as plain text.
    pub text: String,
    /// Who it goes to.
    pub audience: AudienceJson,
    /// Messages a second, 1-30.
    pub rate_per_second: u32,
    /// `draft`, `scheduled`, `sending`, `paused`, `finished` or `cancelled`.
    pub state: String,
    /// When a scheduled broadcast starts, RFC 3339.
    pub scheduled_at: Option<String>,
    /// Written, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
    /// Started sending, RFC 3339.
    pub started_at: Option<String>,
    /// Its last recipient was answered for, or it was cancelled, RFC 3339.
    pub finished_at: Option<String>,
    /// Test sends so far.
    pub test_sends: u32,
    /// Messages Telegram accepted (the PRD's `sent`).
    pub sent: u64,
    /// Messages that failed (the PRD's `failed`).
    pub failed: u64,
    /// Recipients who blocked the bot.
    pub blocked: u64,
    /// Sent over sent, failed and blocked, in percent (the PRD's `successRate`); `null`
    /// before the first answer.
    pub success_rate: Option<f64>,
    /// The whole delivery report.
    pub counts: BroadcastCountsView,
    /// What may be done now.
    pub actions: BroadcastActionsView,
}

impl From<&BroadcastView> for BroadcastJson {
    fn from(view: &BroadcastView) -> Self {
        let broadcast: &Broadcast = &view.broadcast;
        let counts = &broadcast.counts;
        BroadcastJson {
            id: broadcast.id.get(),
            title: broadcast.title.clone(),
            text: broadcast.text.clone(),
            audience: AudienceJson::from(&broadcast.audience),
            rate_per_second: broadcast.rate_per_second,
            state: broadcast.state.as_str().to_string(),
            scheduled_at: broadcast.scheduled_at.map(Timestamp::to_rfc3339),
            created_at: broadcast.created_at.to_rfc3339(),
            updated_at: broadcast.updated_at.to_rfc3339(),
            started_at: broadcast.started_at.map(Timestamp::to_rfc3339),
            finished_at: broadcast.finished_at.map(Timestamp::to_rfc3339),
            test_sends: broadcast.test_sends,
            sent: counts.sent,
            failed: counts.failed,
            blocked: counts.blocked,
            success_rate: counts.success_rate(),
            counts: BroadcastCountsView::from(counts),
            actions: BroadcastActionsView::from(view.actions),
        }
    }
}

/// The JSON of a broadcast a use case returned, with its actions.
fn json_of(broadcast: Broadcast) -> BroadcastJson {
    let actions = crm_lib::broadcasts::broadcast_actions(&broadcast);
    BroadcastJson::from(&BroadcastView { broadcast, actions })
}

/// A broadcast to write.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BroadcastBody {
    /// A name for staff, 1-100 characters.
    pub title: String,
    /// The message, 1-3,900 characters (and at most 4,096 UTF-16 code units).
    pub text: String,
    /// Who it goes to (default: everyone the bot can reach).
    #[serde(default)]
    pub audience: AudienceJson,
    /// Messages a second, 1-30 (default 10).
    #[serde(default)]
    pub rate_per_second: Option<u32>,
}

/// What changes in a draft or scheduled broadcast: the fields given (an audience given
/// replaces the whole audience).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct BroadcastPatch {
    /// A new title.
    pub title: Option<String>,
    /// A new text.
    pub text: Option<String>,
    /// A new audience.
    pub audience: Option<AudienceJson>,
    /// A new rate.
    pub rate_per_second: Option<u32>,
}

/// When a broadcast starts.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ScheduleBody {
    /// RFC 3339 (`2026-12-24T09:00:00+01:00`), at least a minute and at most 366 days ahead.
    pub scheduled_at: String,
}

/// What a test send reached.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestSentView {
    /// Staff chats the text was queued to (active staff with `broadcast` and a linked
    /// Telegram account).
    pub staff_chats: usize,
}

/// A customer an audience picks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SampleCustomerView {
    /// The customer's id.
    pub customer: u64,
    /// Their name.
    pub name: String,
}

/// What an audience picks now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AudiencePreviewView {
    /// How many customers.
    pub count: u64,
    /// The first ten of them, by customer number.
    pub sample: Vec<SampleCustomerView>,
}

impl From<AudiencePreview> for AudiencePreviewView {
    fn from(preview: AudiencePreview) -> Self {
        AudiencePreviewView {
            count: preview.count,
            sample: preview
                .sample
                .into_iter()
                .map(|(customer, name)| SampleCustomerView {
                    customer: customer.get(),
                    name,
                })
                .collect(),
        }
    }
}

/// One recipient of the delivery report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientView {
    /// The customer's id.
    pub customer: u64,
    /// Their name; `null` when the customer was merged away.
    pub name: Option<String>,
    /// `pending`, `queued`, `sent`, `failed`, `blocked` or `skipped`.
    pub state: String,
    /// Telegram's `message_id`, once sent.
    pub telegram_message_id: Option<i64>,
    /// When it was sent, RFC 3339.
    pub sent_at: Option<String>,
    /// Why it failed.
    pub reason: Option<String>,
}

impl From<&RecipientRow> for RecipientView {
    fn from(row: &RecipientRow) -> Self {
        let (telegram_message_id, sent_at, reason) = match &row.state {
            RecipientState::Sent {
                telegram_message_id,
                at,
            } => (*telegram_message_id, Some(at.to_rfc3339()), None),
            RecipientState::Failed { reason } => (None, None, Some(reason.clone())),
            _ => (None, None, None),
        };
        RecipientView {
            customer: row.customer.get(),
            name: row.name.clone(),
            state: row.state.as_str().to_string(),
            telegram_message_id,
            sent_at,
            reason,
        }
    }
}

/// A page of the delivery report, in customer order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientPageView {
    /// The recipients.
    pub items: Vec<RecipientView>,
    /// The `after` of the next page, when there may be more.
    pub next: Option<u64>,
}

/// `?state=&after=&limit=` of the report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientQuery {
    /// Only recipients in this state (`pending`, `queued`, `sent`, `failed`, `blocked`,
    /// `skipped`).
    pub state: Option<String>,
    /// The `next` of the previous page (a customer id).
    pub after: Option<u64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
}

/// Every broadcast, newest first (needs `broadcast`).
#[utoipa::path(
    get, operation_id = "listBroadcasts", path = "/api/v1/broadcasts", tag = "broadcasts",
    responses(
        (status = 200, description = "The broadcasts", body = Vec<BroadcastJson>),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<BroadcastJson>>, ApiError> {
    let list = state
        .blocking(move |crm| crm.broadcasts(&user.actor))
        .await?;
    Ok(ApiJson(list.iter().map(BroadcastJson::from).collect()))
}

/// Write a broadcast: a draft (needs `broadcast`).
#[utoipa::path(
    post, operation_id = "createBroadcast", path = "/api/v1/broadcasts", tag = "broadcasts", request_body = BroadcastBody,
    responses(
        (status = 201, description = "Written, as a draft", body = BroadcastJson),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 422, description = "A bad title, text, rate or audience", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<BroadcastBody>,
) -> Result<(StatusCode, ApiJson<BroadcastJson>), ApiError> {
    let broadcast = state
        .blocking(move |crm| {
            let draft = BroadcastDraft {
                title: body.title,
                text: body.text,
                audience: body.audience.audience()?,
                rate_per_second: body.rate_per_second.unwrap_or(DEFAULT_RATE),
            };
            crm.create_broadcast(&user.actor, draft)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(json_of(broadcast))))
}

/// One broadcast with its report and actions (needs `broadcast`).
#[utoipa::path(
    get, operation_id = "getBroadcast", path = "/api/v1/broadcasts/{id}", tag = "broadcasts",
    params(("id" = u64, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "The broadcast", body = BroadcastJson),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 404, description = "No such broadcast", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<BroadcastJson>, ApiError> {
    let view = state
        .blocking(move |crm| crm.broadcast(&user.actor, BroadcastId::new(id)))
        .await?;
    Ok(ApiJson(BroadcastJson::from(&view)))
}

/// Change a draft or scheduled broadcast: the fields given (needs `broadcast`).
#[utoipa::path(
    patch, operation_id = "updateBroadcast", path = "/api/v1/broadcasts/{id}", tag = "broadcasts", request_body = BroadcastPatch,
    params(("id" = u64, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "The broadcast now", body = BroadcastJson),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 404, description = "No such broadcast", body = ErrorResponse),
        (status = 409, description = "It started: it can no longer change", body = ErrorResponse),
        (status = 422, description = "A bad title, text, rate or audience", body = ErrorResponse),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(patch): ApiJson<BroadcastPatch>,
) -> Result<ApiJson<BroadcastJson>, ApiError> {
    let id = BroadcastId::new(id);
    let broadcast = state
        .blocking(move |crm| {
            let audience = patch.audience.map(AudienceJson::audience).transpose()?;
            // Read and change in one transaction, so a change made meanwhile is not undone.
            crm.write(move |tx| {
                let current = broadcast_in(&*tx, &user.actor, id)?.broadcast;
                let draft = BroadcastDraft {
                    title: patch.title.unwrap_or(current.title),
                    text: patch.text.unwrap_or(current.text),
                    audience: audience.unwrap_or(current.audience),
                    rate_per_second: patch.rate_per_second.unwrap_or(current.rate_per_second),
                };
                tx.update_broadcast(&user.actor, id, draft)
            })
        })
        .await?;
    Ok(ApiJson(json_of(broadcast)))
}

/// Delete a draft or scheduled broadcast (needs `broadcast`).
#[utoipa::path(
    delete, operation_id = "deleteBroadcast", path = "/api/v1/broadcasts/{id}", tag = "broadcasts",
    params(("id" = u64, Path, description = "Broadcast id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 404, description = "No such broadcast", body = ErrorResponse),
        (status = 409, description = "It started: its report stays", body = ErrorResponse),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<StatusCode, ApiError> {
    state
        .blocking(move |crm| crm.delete_broadcast(&user.actor, BroadcastId::new(id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the text to the linked Telegram chats of the staff with `broadcast` (the PRD's test
/// mode); no customer gets it (needs `broadcast`).
#[utoipa::path(
    post, operation_id = "testBroadcast", path = "/api/v1/broadcasts/{id}/test", tag = "broadcasts",
    params(("id" = u64, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "Queued to the staff chats", body = TestSentView),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 404, description = "No such broadcast", body = ErrorResponse),
        (status = 409, description = "Nobody with broadcast has linked Telegram", body = ErrorResponse),
    )
)]
pub async fn test(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<TestSentView>, ApiError> {
    let staff_chats = state
        .blocking(move |crm| crm.test_broadcast(&user.actor, BroadcastId::new(id)))
        .await?;
    Ok(ApiJson(TestSentView { staff_chats }))
}

/// Set the moment a draft (or a scheduled broadcast) starts (needs `broadcast`).
#[utoipa::path(
    post, operation_id = "scheduleBroadcast", path = "/api/v1/broadcasts/{id}/schedule", tag = "broadcasts", request_body = ScheduleBody,
    params(("id" = u64, Path, description = "Broadcast id")),
    responses(
        (status = 200, description = "Scheduled", body = BroadcastJson),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 404, description = "No such broadcast", body = ErrorResponse),
        (status = 409, description = "It started", body = ErrorResponse),
        (status = 422, description = "Not a moment, or not between a minute and 366 days ahead", body = ErrorResponse),
    )
)]
pub async fn schedule(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<ApiJson<BroadcastJson>, ApiError> {
    let broadcast = state
        .blocking(move |crm| {
            let at = Timestamp::parse_rfc3339("scheduled_at", &body.scheduled_at)?;
            crm.schedule_broadcast(&user.actor, BroadcastId::new(id), at)
        })
        .await?;
    Ok(ApiJson(json_of(broadcast)))
}

/// The actions without input, each one crm-lib use case.
macro_rules! action {
    ($name:ident, $call:ident, $operation:literal, $path:literal, $summary:literal, $conflict:literal) => {
        #[doc = $summary]
        #[utoipa::path(
                    post, operation_id = $operation, path = $path, tag = "broadcasts",
                    params(("id" = u64, Path, description = "Broadcast id")),
                    responses(
                        (status = 200, description = "The broadcast now", body = BroadcastJson),
                        (status = 403, description = "Missing broadcast", body = ErrorResponse),
                        (status = 404, description = "No such broadcast", body = ErrorResponse),
                        (status = 409, description = $conflict, body = ErrorResponse),
                    )
                )]
        pub async fn $name(
            State(state): State<AppState>,
            user: ApiUser,
            ApiPath(id): ApiPath<u64>,
        ) -> Result<ApiJson<BroadcastJson>, ApiError> {
            let broadcast = state
                .blocking(move |crm| crm.$call(&user.actor, BroadcastId::new(id)))
                .await?;
            Ok(ApiJson(json_of(broadcast)))
        }
    };
}

action!(
    start,
    start_broadcast,
    "startBroadcast",
    "/api/v1/broadcasts/{id}/start",
    "Start a draft or scheduled broadcast now: its audience is picked once and sent to at its rate (needs `broadcast`).",
    "It started already, or the audience picks nobody"
);
action!(
    pause,
    pause_broadcast,
    "pauseBroadcast",
    "/api/v1/broadcasts/{id}/pause",
    "Pause a sending broadcast (needs `broadcast`).",
    "It is not sending"
);
action!(
    resume,
    resume_broadcast,
    "resumeBroadcast",
    "/api/v1/broadcasts/{id}/resume",
    "Resume a paused broadcast where it stopped (needs `broadcast`).",
    "It is not paused"
);
action!(
    cancel,
    cancel_broadcast,
    "cancelBroadcast",
    "/api/v1/broadcasts/{id}/cancel",
    "Cancel a broadcast: a scheduled one becomes a draft; a started one skips who is left (needs `broadcast`).",
    "It is a draft, or over"
);

/// A page of the delivery report, in customer order (needs `broadcast`).
#[utoipa::path(
    get, operation_id = "listBroadcastRecipients", path = "/api/v1/broadcasts/{id}/recipients", tag = "broadcasts",
    params(("id" = u64, Path, description = "Broadcast id"), RecipientQuery),
    responses(
        (status = 200, description = "A page of recipients", body = RecipientPageView),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 404, description = "No such broadcast", body = ErrorResponse),
        (status = 422, description = "An unknown state, or a limit outside 1-500", body = ErrorResponse),
    )
)]
pub async fn recipients(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<RecipientQuery>,
) -> Result<ApiJson<RecipientPageView>, ApiError> {
    let page = state
        .blocking(move |crm| {
            crm.broadcast_recipients(
                &user.actor,
                BroadcastId::new(id),
                query.state.as_deref().filter(|state| !state.is_empty()),
                query.after.map(CustomerId::new),
                query.limit.unwrap_or(50),
            )
        })
        .await?;
    Ok(ApiJson(RecipientPageView {
        items: page.rows.iter().map(RecipientView::from).collect(),
        next: page.next.map(CustomerId::get),
    }))
}

/// How many customers an audience picks now, with the first ten (needs `broadcast`).
#[utoipa::path(
    post, operation_id = "previewBroadcastAudience", path = "/api/v1/broadcasts/preview", tag = "broadcasts", request_body = AudienceJson,
    responses(
        (status = 200, description = "The count and a sample", body = AudiencePreviewView),
        (status = 403, description = "Missing broadcast", body = ErrorResponse),
        (status = 422, description = "A bad audience", body = ErrorResponse),
    )
)]
pub async fn preview(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<AudienceJson>,
) -> Result<ApiJson<AudiencePreviewView>, ApiError> {
    let preview = state
        .blocking(move |crm| crm.audience_preview(&user.actor, body.audience()?))
        .await?;
    Ok(ApiJson(AudiencePreviewView::from(preview)))
}
