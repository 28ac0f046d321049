//! `/api/v1/calls`, `/api/v1/customers/{id}/timeline` and `/api/v1/audit`: the calls the PBX
//! reported (a `tickets`-module feature: 404 when the module is off), a customer's timeline,
//! and the audit log with filters. Each handler parses, makes one crm-lib call, renders.

use axum::extract::State;
use crm_lib::audit::AuditFilter;
use crm_lib::calls::{CallFilter, Timeline, TimelineCursor, TimelineEntry};
use crm_lib::model::{
    ActorRef, AuditEntry, Call, CallDirection, CallId, CustomerId, Timestamp, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiErrorKind, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use super::views::MessageView;
use crate::AppState;

/// A telephone call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    /// The id.
    pub id: u64,
    /// Zadarma's `pbx_call_id`.
    pub pbx_call_id: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The customer's number, E.164.
    pub phone: String,
    /// The organization's number that was called.
    pub did: Option<String>,
    /// The customer.
    pub customer: u64,
    /// The PBX extension.
    pub extension: Option<String>,
    /// The staff user of the extension.
    pub operator: Option<u64>,
    /// When it started, RFC 3339.
    pub started_at: String,
    /// When it was answered, RFC 3339.
    pub answered_at: Option<String>,
    /// When it ended, RFC 3339.
    pub ended_at: Option<String>,
    /// Length in seconds.
    pub duration_secs: Option<u32>,
    /// How it ended (`answered`, `busy`, `cancel`, `no answer`...).
    pub disposition: Option<String>,
    /// Q.931 status code.
    pub status_code: Option<String>,
    /// The recording's id (`call_id_with_rec`).
    pub recording: Option<String>,
    /// Whether the customer was created for this call (an unknown caller).
    pub new_customer: bool,
}

impl From<&Call> for CallView {
    fn from(call: &Call) -> Self {
        CallView {
            id: call.id.get(),
            pbx_call_id: call.pbx_call_id.clone(),
            direction: call.direction.as_str().to_string(),
            phone: call.phone.clone(),
            did: call.did.clone(),
            customer: call.customer.get(),
            extension: call.extension.clone(),
            operator: call.operator.map(UserId::get),
            started_at: call.started_at.to_rfc3339(),
            answered_at: call.answered_at.map(Timestamp::to_rfc3339),
            ended_at: call.ended_at.map(Timestamp::to_rfc3339),
            duration_secs: call.duration_secs,
            disposition: call.disposition.clone(),
            status_code: call.status_code.clone(),
            recording: call.recording.clone(),
            new_customer: call.new_customer,
        }
    }
}

/// A page of calls.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallPage {
    /// The calls, newest first.
    pub items: Vec<CallView>,
    /// The `after` of the next page.
    pub next: Option<u64>,
}

fn parse_time(field: &'static str, text: Option<&str>) -> crm_lib::Result<Option<Timestamp>> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => Ok(Some(Timestamp::parse_rfc3339(field, text)?)),
        None => Ok(None),
    }
}

/// Filters and pagination of the call list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallQuery {
    /// The `next` value of the previous page.
    pub after: Option<u64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
    /// This customer's calls.
    pub customer: Option<u64>,
    /// Taken or made by this staff user.
    pub operator: Option<u64>,
    /// `inbound` or `outbound`.
    pub direction: Option<String>,
    /// Started at or after, RFC 3339.
    pub from: Option<String>,
    /// Started at or before, RFC 3339.
    pub to: Option<String>,
}

/// Calls, newest first, filtered (needs `chat_customers` or `view_orders`).
#[utoipa::path(
    get, operation_id = "listCalls", path = "/api/v1/calls", tag = "calls", params(CallQuery),
    responses(
        (status = 200, description = "A page of calls", body = CallPage),
        (status = 422, description = "A bad filter", body = ErrorResponse),
        (status = 403, description = "The user may not see calls", body = ErrorResponse),
        (status = 404, description = "Calls are off (the tickets module)", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<CallQuery>,
) -> Result<ApiJson<CallPage>, ApiError> {
    let direction = match query.direction.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(CallDirection::parse(text).ok_or_else(|| {
            ApiError::from(crm_lib::Error::invalid(
                "direction",
                format!("{text:?} is neither inbound nor outbound"),
            ))
        })?),
        None => None,
    };
    let filter = CallFilter {
        customer: query.customer.map(CustomerId::new),
        operator: query.operator.map(UserId::new),
        direction,
        from: parse_time("from", query.from.as_deref())?,
        to: parse_time("to", query.to.as_deref())?,
    };
    let page = crm_lib::Page {
        after: query.after,
        limit: query.limit.unwrap_or(50),
    };
    let calls = state
        .blocking(move |crm| crm.calls(&user.actor, &filter, page))
        .await?;
    Ok(ApiJson(CallPage {
        items: calls.items.iter().map(CallView::from).collect(),
        next: calls.next,
    }))
}

/// One call.
#[utoipa::path(
    get, operation_id = "getCall", path = "/api/v1/calls/{id}", tag = "calls",
    params(("id" = u64, Path, description = "Call id")),
    responses(
        (status = 200, description = "The call", body = CallView),
        (status = 403, description = "The user may not see calls", body = ErrorResponse),
        (status = 404, description = "No such call, or calls are off", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<CallView>, ApiError> {
    let call = state
        .blocking(move |crm| crm.call(&user.actor, CallId::new(id)))
        .await?;
    Ok(ApiJson(CallView::from(&call)))
}

/// An order as the timeline shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineOrderView {
    /// The id.
    pub id: u64,
    /// The title.
    pub title: String,
    /// The stage's id.
    pub stage: u16,
    /// The assignee's user id.
    pub assignee: Option<u64>,
}

/// One item of a customer's timeline: `kind` says which of `order`, `message`, `call` is set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineItemView {
    /// `order`, `message` or `call`.
    pub kind: String,
    /// When, RFC 3339.
    pub at: String,
    /// The item's cursor (`moment-kind-id`).
    pub cursor: String,
    /// The order, for `order`.
    pub order: Option<TimelineOrderView>,
    /// The message, for `message`.
    pub message: Option<MessageView>,
    /// The call, for `call`.
    pub call: Option<CallView>,
}

/// A page of a customer's timeline, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineView {
    /// The customer.
    pub customer: u64,
    /// Whether the customer was created for a call from an unknown number.
    pub unknown_caller: bool,
    /// The items, newest first.
    pub items: Vec<TimelineItemView>,
    /// The `before` of the next page.
    pub next: Option<String>,
}

impl From<&Timeline> for TimelineView {
    fn from(timeline: &Timeline) -> Self {
        TimelineView {
            customer: timeline.customer.id.get(),
            unknown_caller: timeline.unknown_caller.is_some(),
            items: timeline
                .items
                .iter()
                .map(|item| {
                    let mut view = TimelineItemView {
                        kind: item.entry.kind().to_string(),
                        at: item.at.to_rfc3339(),
                        cursor: item.cursor().to_string(),
                        order: None,
                        message: None,
                        call: None,
                    };
                    match &item.entry {
                        TimelineEntry::Order { order, .. } => {
                            view.order = Some(TimelineOrderView {
                                id: order.id.get(),
                                title: order.title.clone(),
                                stage: order.stage.get(),
                                assignee: order.assignee.map(UserId::get),
                            });
                        }
                        TimelineEntry::Message(message) => {
                            view.message = Some(MessageView::from(message));
                        }
                        TimelineEntry::Call(call) => view.call = Some(CallView::from(call)),
                        _ => {}
                    }
                    view
                })
                .collect(),
            next: timeline.next.map(|cursor| cursor.to_string()),
        }
    }
}

/// Pagination of the timeline.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// The `next` value of the previous page.
    pub before: Option<String>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<usize>,
}

/// A customer's orders, messages and calls, newest first, each as the user may see it.
#[utoipa::path(
    get, operation_id = "getCustomerTimeline", path = "/api/v1/customers/{id}/timeline", tag = "customers",
    params(("id" = u64, Path, description = "Customer id"), TimelineQuery),
    responses(
        (status = 200, description = "A page of the timeline", body = TimelineView),
        (status = 422, description = "A bad cursor", body = ErrorResponse),
        (status = 403, description = "The user may not see customers", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
    )
)]
pub async fn timeline(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> Result<ApiJson<TimelineView>, ApiError> {
    let before = match query.before.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(text.parse::<TimelineCursor>()?),
        None => None,
    };
    let limit = query.limit.unwrap_or(50);
    let timeline = state
        .blocking(move |crm| crm.timeline(&user.actor, CustomerId::new(id), before, limit))
        .await?;
    Ok(ApiJson(TimelineView::from(&timeline)))
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// The id.
    pub id: u64,
    /// When, RFC 3339.
    pub at: String,
    /// `user 3`, `customer 7` or `system`.
    pub actor: String,
    /// The stable action (`order.created`).
    pub action: String,
    /// The record (`order 42`).
    pub subject: String,
    /// The particulars, in English words.
    pub detail: String,
    /// Client address.
    pub ip: Option<String>,
    /// Client identification.
    pub user_agent: Option<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(entry: &AuditEntry) -> Self {
        AuditEntryView {
            id: entry.id.get(),
            at: entry.at.to_rfc3339(),
            actor: entry.actor.to_string(),
            action: entry.action.as_str().to_string(),
            subject: entry.subject.to_string(),
            detail: entry.detail.to_string(),
            ip: entry.ip.clone(),
            user_agent: entry.user_agent.clone(),
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries, newest first.
    pub items: Vec<AuditEntryView>,
    /// The `after` of the next page (set also when a rare filter stopped early).
    pub next: Option<u64>,
}

/// Filters and pagination of the audit log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The `next` value of the previous page.
    pub after: Option<u64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
    /// `user 3`, `customer 7` or `system`.
    pub actor: Option<String>,
    /// An action or its start (`order.` for every order action).
    pub action: Option<String>,
    /// A record: `order 42`, `call 5`...
    pub subject: Option<String>,
    /// At or after, RFC 3339.
    pub from: Option<String>,
    /// At or before, RFC 3339.
    pub to: Option<String>,
}

fn parse_actor(text: &str) -> crm_lib::Result<ActorRef> {
    let text = text.trim();
    if text == "system" {
        return Ok(ActorRef::System);
    }
    let bad = || {
        crm_lib::Error::invalid(
            "actor",
            format!("{text:?} is not an actor (user 3, customer 7 or system)"),
        )
    };
    let (kind, id) = text.rsplit_once(' ').ok_or_else(bad)?;
    let id: u64 = id.parse().map_err(|_| bad())?;
    match kind {
        "user" => Ok(ActorRef::Staff(UserId::new(id))),
        "customer" => Ok(ActorRef::Customer(CustomerId::new(id))),
        _ => Err(bad()),
    }
}

/// The audit log, newest first, filtered (needs `view_audit`).
#[utoipa::path(
    get, operation_id = "listAudit", path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit entries", body = AuditPage),
        (status = 422, description = "A bad filter", body = ErrorResponse),
        (status = 403, description = "Missing view_audit", body = ErrorResponse),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<ApiJson<AuditPage>, ApiError> {
    let subject = match query
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        Some(text) => match crm_lib::model::Subject::parse_legacy(text) {
            crm_lib::model::Subject::Other(_) => {
                return Err(ApiError::new(
                    ApiErrorKind::InvalidInput,
                    format!("subject {text:?} is not a record (order 42, call 5...)"),
                ));
            }
            subject => Some(subject),
        },
        None => None,
    };
    let filter = AuditFilter {
        actor: match query
            .actor
            .as_deref()
            .filter(|text| !text.trim().is_empty())
        {
            Some(text) => Some(parse_actor(text)?),
            None => None,
        },
        action: query.action.filter(|text| !text.trim().is_empty()),
        from: parse_time("from", query.from.as_deref())?,
        to: parse_time("to", query.to.as_deref())?,
        subject,
    };
    let page = crm_lib::Page {
        after: query.after,
        limit: query.limit.unwrap_or(50),
    };
    let entries = state
        .blocking(move |crm| crm.audit_log(&user.actor, &filter, page))
        .await?;
    Ok(ApiJson(AuditPage {
        items: entries.items.iter().map(AuditEntryView::from).collect(),
        next: entries.next,
    }))
}
