//! The operators module's API (SPEC 5B): departments and their members, operator status, the
//! queue and a customer's conversation (assignment, close, reopen), and operator statistics.
//! Every endpoint answers 404 while the organization's `operators` module is off (crm-lib
//! decides).

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::model::{
    CustomerId, Date, Department, DepartmentId, OperatorState, QueueItem, QueueState, QueueSubject,
    UserId,
};
use crm_lib::operators::{
    ConversationView, DepartmentRow, OperatorDayStats, OperatorRow, OperatorStatsRow, parse_status,
    status_word,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use crate::AppState;

/// A department with its members.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepartmentView {
    /// The id.
    pub id: u64,
    /// The name.
    pub name: String,
    /// Whether it is archived (takes no new conversations).
    pub archived: bool,
    /// Its operators' user ids.
    pub members: Vec<u64>,
    /// Items waiting in its queue (on lists only).
    pub waiting: Option<u64>,
}

impl From<&Department> for DepartmentView {
    fn from(department: &Department) -> Self {
        DepartmentView {
            id: department.id.get(),
            name: department.name.clone(),
            archived: department.archived,
            members: department.members.iter().map(|user| user.get()).collect(),
            waiting: None,
        }
    }
}

impl From<&DepartmentRow> for DepartmentView {
    fn from(row: &DepartmentRow) -> Self {
        DepartmentView {
            waiting: Some(row.waiting),
            ..DepartmentView::from(&row.department)
        }
    }
}

/// A new department.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateDepartment {
    /// Its name, 1-64 characters, unique ignoring case.
    pub name: String,
}

/// Changes to a department: each field given is applied.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct UpdateDepartment {
    /// A new name.
    pub name: Option<String>,
    /// Archive (`true`) or restore (`false`).
    pub archived: Option<bool>,
}

/// A member to add.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AddMember {
    /// The staff user's id.
    pub user: u64,
}

/// An operator: status and load.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorView {
    /// The user id.
    pub user: u64,
    /// Their display name.
    pub name: String,
    /// `online`, `away` or `offline`.
    pub status: String,
    /// When it last changed, RFC 3339.
    pub changed_at: String,
    /// Their open assigned conversations and tickets.
    pub load: u64,
    /// The active departments they belong to.
    pub departments: Vec<u64>,
}

impl From<&OperatorRow> for OperatorView {
    fn from(row: &OperatorRow) -> Self {
        OperatorView {
            user: row.user.get(),
            name: row.name.clone(),
            status: status_word(row.status).to_string(),
            changed_at: row.changed_at.to_rfc3339(),
            load: row.load,
            departments: row.departments.iter().map(|id| id.get()).collect(),
        }
    }
}

/// One operator's status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusView {
    /// The user id.
    pub user: u64,
    /// `online`, `away` or `offline`.
    pub status: String,
    /// When it last changed, RFC 3339.
    pub changed_at: String,
}

impl From<&OperatorState> for StatusView {
    fn from(state: &OperatorState) -> Self {
        StatusView {
            user: state.user.get(),
            status: status_word(state.status).to_string(),
            changed_at: state.changed_at.to_rfc3339(),
        }
    }
}

/// A status to set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SetStatus {
    /// `online`, `away` or `offline`.
    pub status: String,
}

/// An item of the queue: a conversation or a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueItemView {
    /// The item's id.
    pub id: u64,
    /// `conversation` or `ticket`.
    pub kind: String,
    /// The customer, for a conversation.
    pub customer: Option<u64>,
    /// The order, for a ticket.
    pub order: Option<u64>,
    /// Its department.
    pub department: Option<u64>,
    /// Its operator; null while it waits in the queue.
    pub assignee: Option<u64>,
    /// `open` or `closed`.
    pub state: String,
    /// When it opened, RFC 3339.
    pub opened_at: String,
    /// When the customer first wrote, RFC 3339.
    pub first_customer_message_at: Option<String>,
    /// When staff first replied, RFC 3339.
    pub first_reply_at: Option<String>,
    /// When it closed, RFC 3339.
    pub closed_at: Option<String>,
}

impl From<&QueueItem> for QueueItemView {
    fn from(item: &QueueItem) -> Self {
        let (kind, customer, order) = match item.subject {
            QueueSubject::Conversation(customer) => ("conversation", Some(customer.get()), None),
            QueueSubject::Ticket(order) => ("ticket", None, Some(order.get())),
        };
        QueueItemView {
            id: item.id.get(),
            kind: kind.to_string(),
            customer,
            order,
            department: item.department.map(DepartmentId::get),
            assignee: item.assignee.map(UserId::get),
            state: match item.state {
                QueueState::Open => "open",
                QueueState::Closed => "closed",
            }
            .to_string(),
            opened_at: item.opened_at.to_rfc3339(),
            first_customer_message_at: item.first_customer_message_at.map(|at| at.to_rfc3339()),
            first_reply_at: item.first_reply_at.map(|at| at.to_rfc3339()),
            closed_at: item.closed_at.map(|at| at.to_rfc3339()),
        }
    }
}

/// A customer's conversation in the queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationStateView {
    /// The open (or last) item; null when the customer never had one.
    pub item: Option<QueueItemView>,
    /// The department's name.
    pub department: Option<String>,
    /// The operator's display name.
    pub assignee: Option<String>,
}

impl From<&ConversationView> for ConversationStateView {
    fn from(view: &ConversationView) -> Self {
        ConversationStateView {
            item: view.item.as_ref().map(QueueItemView::from),
            department: view.department.clone(),
            assignee: view.assignee.clone(),
        }
    }
}

/// Whom to give a conversation.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AssignConversation {
    /// A staff user who is online or away; null or absent: the next by the queue's rule.
    pub user: Option<u64>,
}

/// One operator's figures for a day or the whole range.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayStatsView {
    /// The day, `YYYY-MM-DD`, a local day of the organization's time zone; null for the
    /// range's total.
    pub day: Option<String>,
    /// First responses given.
    pub first_responses: u32,
    /// Median first response time, milliseconds.
    pub median_ms: Option<i64>,
    /// 90th percentile first response time, milliseconds.
    pub p90_ms: Option<i64>,
    /// Conversations closed while assigned to them.
    pub conversations_handled: u32,
    /// Tickets closed while assigned to them.
    pub tickets_resolved: u32,
}

impl From<&OperatorDayStats> for DayStatsView {
    fn from(day: &OperatorDayStats) -> Self {
        DayStatsView {
            day: day.day.map(|day| day.to_string()),
            first_responses: day.first_responses,
            median_ms: day.median_ms,
            p90_ms: day.p90_ms,
            conversations_handled: day.conversations_handled,
            tickets_resolved: day.tickets_resolved,
        }
    }
}

/// One operator's statistics.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorStatsView {
    /// The user id.
    pub user: u64,
    /// Their display name.
    pub name: String,
    /// The whole range.
    pub total: DayStatsView,
    /// Each day with any figure, oldest first.
    pub days: Vec<DayStatsView>,
}

impl From<&OperatorStatsRow> for OperatorStatsView {
    fn from(row: &OperatorStatsRow) -> Self {
        OperatorStatsView {
            user: row.user.get(),
            name: row.name.clone(),
            total: DayStatsView::from(&row.total),
            days: row.days.iter().map(DayStatsView::from).collect(),
        }
    }
}

/// The range of the statistics.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First day, `YYYY-MM-DD`, a local day of the organization's time zone; the default
    /// is six days before `to`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (local); the default is today on the organization's clock.
    pub to: Option<String>,
}

/// Every department (archived ones last) with members and queue length.
#[utoipa::path(
    get, operation_id = "listDepartments", path = "/api/v1/departments", tag = "operators",
    responses(
        (status = 200, description = "The departments", body = Vec<DepartmentView>),
        (status = 404, description = "The operators module is off", body = ErrorResponse),
    )
)]
pub async fn list_departments(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<DepartmentView>>, ApiError> {
    let rows = state
        .blocking(move |crm| crm.departments(&user.actor))
        .await?;
    Ok(ApiJson(rows.iter().map(DepartmentView::from).collect()))
}

/// Create a department (needs `manage_users`).
#[utoipa::path(
    post, operation_id = "createDepartment", path = "/api/v1/departments", tag = "operators", request_body = CreateDepartment,
    responses(
        (status = 201, description = "Created", body = DepartmentView),
        (status = 403, description = "Missing manage_users", body = ErrorResponse),
        (status = 404, description = "The operators module is off", body = ErrorResponse),
        (status = 409, description = "The name is taken", body = ErrorResponse),
        (status = 422, description = "A bad name", body = ErrorResponse),
    )
)]
pub async fn create_department(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<CreateDepartment>,
) -> Result<(StatusCode, ApiJson<DepartmentView>), ApiError> {
    let department = state
        .blocking(move |crm| crm.create_department(&user.actor, &body.name))
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(DepartmentView::from(&department)),
    ))
}

/// Rename, archive or restore a department (needs `manage_users`).
#[utoipa::path(
    patch, operation_id = "updateDepartment", path = "/api/v1/departments/{id}", tag = "operators", request_body = UpdateDepartment,
    params(("id" = u64, Path, description = "Department id")),
    responses(
        (status = 200, description = "The department now", body = DepartmentView),
        (status = 403, description = "Missing manage_users", body = ErrorResponse),
        (status = 404, description = "No such department, or the module is off", body = ErrorResponse),
        (status = 409, description = "The name is taken", body = ErrorResponse),
        (status = 422, description = "A bad name", body = ErrorResponse),
    )
)]
pub async fn update_department(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<UpdateDepartment>,
) -> Result<ApiJson<DepartmentView>, ApiError> {
    let department = DepartmentId::new(id);
    let updated = state
        .blocking(move |crm| {
            crm.write(move |tx| {
                let mut current = None;
                if let Some(name) = &body.name {
                    current = Some(tx.rename_department(&user.actor, department, name)?);
                }
                if let Some(archived) = body.archived {
                    current =
                        Some(tx.set_department_archived(&user.actor, department, archived)?);
                }
                match current {
                    Some(department) => Ok(department),
                    None => crm_lib::operators::departments_in(&*tx, &user.actor)?
                        .into_iter()
                        .map(|row| row.department)
                        .find(|found| found.id == department)
                        .ok_or_else(|| crm_lib::Error::not_found("department", id)),
                }
            })
        })
        .await?;
    Ok(ApiJson(DepartmentView::from(&updated)))
}

/// Add an operator to a department (needs `manage_users`).
#[utoipa::path(
    post, operation_id = "addDepartmentMember", path = "/api/v1/departments/{id}/members", tag = "operators", request_body = AddMember,
    params(("id" = u64, Path, description = "Department id")),
    responses(
        (status = 200, description = "The department now", body = DepartmentView),
        (status = 403, description = "Missing manage_users", body = ErrorResponse),
        (status = 404, description = "No such department or user, or the module is off", body = ErrorResponse),
        (status = 409, description = "A disabled user or an archived department", body = ErrorResponse),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<AddMember>,
) -> Result<ApiJson<DepartmentView>, ApiError> {
    let department = state
        .blocking(move |crm| {
            crm.add_department_member(&user.actor, DepartmentId::new(id), UserId::new(body.user))
        })
        .await?;
    Ok(ApiJson(DepartmentView::from(&department)))
}

/// Remove an operator from a department; their items there are re-routed (needs
/// `manage_users`).
#[utoipa::path(
    delete, operation_id = "removeDepartmentMember", path = "/api/v1/departments/{id}/members/{user}", tag = "operators",
    params(
        ("id" = u64, Path, description = "Department id"),
        ("user" = u64, Path, description = "User id"),
    ),
    responses(
        (status = 200, description = "The department now", body = DepartmentView),
        (status = 403, description = "Missing manage_users", body = ErrorResponse),
        (status = 404, description = "No such department or user, or the module is off", body = ErrorResponse),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, member)): ApiPath<(u64, u64)>,
) -> Result<ApiJson<DepartmentView>, ApiError> {
    let department = state
        .blocking(move |crm| {
            crm.remove_department_member(&user.actor, DepartmentId::new(id), UserId::new(member))
        })
        .await?;
    Ok(ApiJson(DepartmentView::from(&department)))
}

/// Every operator with status and load.
#[utoipa::path(
    get, operation_id = "listOperators", path = "/api/v1/operators", tag = "operators",
    responses(
        (status = 200, description = "The operators", body = Vec<OperatorView>),
        (status = 404, description = "The operators module is off", body = ErrorResponse),
    )
)]
pub async fn list_operators(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<OperatorView>>, ApiError> {
    let rows = state
        .blocking(move |crm| crm.operators(&user.actor))
        .await?;
    Ok(ApiJson(rows.iter().map(OperatorView::from).collect()))
}

/// One operator's status.
#[utoipa::path(
    get, operation_id = "getOperatorStatus", path = "/api/v1/operators/{user}/status", tag = "operators",
    params(("user" = u64, Path, description = "User id")),
    responses(
        (status = 200, description = "The status", body = StatusView),
        (status = 404, description = "No such user, or the module is off", body = ErrorResponse),
    )
)]
pub async fn get_status(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<StatusView>, ApiError> {
    let status = state
        .blocking(move |crm| crm.operator_state(&user.actor, UserId::new(id)))
        .await?;
    Ok(ApiJson(StatusView::from(&status)))
}

/// Set an operator's status: one's own, or anyone's with `assign_orders`. Online takes
/// waiting items; offline hands one's items to others.
#[utoipa::path(
    put, operation_id = "setOperatorStatus", path = "/api/v1/operators/{user}/status", tag = "operators", request_body = SetStatus,
    params(("user" = u64, Path, description = "User id")),
    responses(
        (status = 200, description = "The status now", body = StatusView),
        (status = 403, description = "Another's status without assign_orders", body = ErrorResponse),
        (status = 404, description = "No such user, or the module is off", body = ErrorResponse),
        (status = 422, description = "Not online, away or offline", body = ErrorResponse),
    )
)]
pub async fn set_status(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<SetStatus>,
) -> Result<ApiJson<StatusView>, ApiError> {
    let status = parse_status(&body.status)?;
    let state_now = state
        .blocking(move |crm| crm.set_operator_status(&user.actor, UserId::new(id), status))
        .await?;
    Ok(ApiJson(StatusView::from(&state_now)))
}

/// The open items of the queue: conversations and tickets, assigned or waiting.
#[utoipa::path(
    get, operation_id = "listQueue", path = "/api/v1/queue", tag = "operators",
    responses(
        (status = 200, description = "The open items, by id", body = Vec<QueueItemView>),
        (status = 404, description = "The operators module is off", body = ErrorResponse),
    )
)]
pub async fn queue(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<Vec<QueueItemView>>, ApiError> {
    let items = state
        .blocking(move |crm| crm.queue_items(&user.actor))
        .await?;
    Ok(ApiJson(items.iter().map(QueueItemView::from).collect()))
}

/// A customer's conversation in the queue (needs `chat_customers` or `assign_orders`).
#[utoipa::path(
    get, operation_id = "getConversationAssignment", path = "/api/v1/customers/{id}/conversation", tag = "operators",
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationStateView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such customer, or the module is off", body = ErrorResponse),
    )
)]
pub async fn conversation(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<ConversationStateView>, ApiError> {
    let view = state
        .blocking(move |crm| crm.conversation(&user.actor, CustomerId::new(id)))
        .await?;
    Ok(ApiJson(ConversationStateView::from(&view)))
}

/// Reassign a customer's open conversation (needs `assign_orders`).
#[utoipa::path(
    post, operation_id = "assignConversation", path = "/api/v1/customers/{id}/conversation/assign", tag = "operators", request_body = AssignConversation,
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The conversation now", body = QueueItemView),
        (status = 403, description = "Missing assign_orders", body = ErrorResponse),
        (status = 404, description = "No open conversation, or the module is off", body = ErrorResponse),
        (status = 409, description = "An offline or disabled operator", body = ErrorResponse),
    )
)]
pub async fn assign(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<AssignConversation>,
) -> Result<ApiJson<QueueItemView>, ApiError> {
    let item = state
        .blocking(move |crm| {
            crm.reassign_conversation(&user.actor, CustomerId::new(id), body.user.map(UserId::new))
        })
        .await?;
    Ok(ApiJson(QueueItemView::from(&item)))
}

/// Close a customer's open conversation (needs `chat_customers`).
#[utoipa::path(
    post, operation_id = "closeConversation", path = "/api/v1/customers/{id}/conversation/close", tag = "operators",
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The conversation now", body = QueueItemView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No open conversation, or the module is off", body = ErrorResponse),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<QueueItemView>, ApiError> {
    let item = state
        .blocking(move |crm| crm.close_conversation(&user.actor, CustomerId::new(id)))
        .await?;
    Ok(ApiJson(QueueItemView::from(&item)))
}

/// Reopen a customer's closed conversation (needs `chat_customers`).
#[utoipa::path(
    post, operation_id = "reopenConversation", path = "/api/v1/customers/{id}/conversation/reopen", tag = "operators",
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The conversation now", body = QueueItemView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No conversation, or the module is off", body = ErrorResponse),
        (status = 409, description = "It is open", body = ErrorResponse),
    )
)]
pub async fn reopen(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<QueueItemView>, ApiError> {
    let item = state
        .blocking(move |crm| crm.reopen_conversation(&user.actor, CustomerId::new(id)))
        .await?;
    Ok(ApiJson(QueueItemView::from(&item)))
}

/// Operator statistics per operator and day (needs `view_analytics`).
#[utoipa::path(
    get, operation_id = "getOperatorStats", path = "/api/v1/operators/stats", tag = "operators", params(StatsQuery),
    responses(
        (status = 200, description = "One row per operator with any figure", body = Vec<OperatorStatsView>),
        (status = 403, description = "Missing view_analytics", body = ErrorResponse),
        (status = 404, description = "The operators module is off", body = ErrorResponse),
        (status = 422, description = "A bad date or range", body = ErrorResponse),
    )
)]
pub async fn stats(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<ApiJson<Vec<OperatorStatsView>>, ApiError> {
    let (from, to) = (
        Date::parse_optional("from", query.from.as_deref())?,
        Date::parse_optional("to", query.to.as_deref())?,
    );
    let report = state
        .blocking(move |crm| crm.operator_stats_report(&user.actor, from, to))
        .await?;
    Ok(ApiJson(
        report.rows.iter().map(OperatorStatsView::from).collect(),
    ))
}
