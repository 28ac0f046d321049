//! `/api/v1/orders`: list with filters, read, create for a customer, approve, reject, move,
//! assign, bids.

use axum::extract::State;
use axum::http::StatusCode;
use crm_lib::{
    model::{
        BidId, CustomerId, Date, MarkerId, Money, OrderId, PaymentMethodId, Pipeline, StageId,
        UserId,
    },
    orders::{AssignTo, NewOrder, OrderFilter, typed_date, typed_money},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use super::views::{BidView, OrderActionsView, OrderPage, OrderView};
use crate::AppState;

/// Filters and page of `GET /api/v1/orders`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// In this stage: its key (`in_progress`) or id.
    pub stage: Option<String>,
    /// Assigned to this user id.
    pub assignee: Option<u64>,
    /// Of this customer id.
    pub customer: Option<u64>,
    /// Tagged with this marker id.
    pub marker: Option<u64>,
    /// Every word starts a word of the title.
    pub search: Option<String>,
    /// Created on or after, `YYYY-MM-DD`.
    pub created_from: Option<String>,
    /// Created on or before, `YYYY-MM-DD`.
    pub created_to: Option<String>,
    /// The `next` value of the previous page.
    pub after: Option<u64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
    /// A ticket field and the answer it must hold, `serial:SN-123456` (the tickets module;
    /// short text and choice fields).
    pub field: Option<String>,
}

/// A stage named by key or id, looked up in the pipeline.
fn parse_stage(pipeline: &Pipeline, text: &str) -> crm_lib::Result<StageId> {
    let text = text.trim();
    pipeline
        .stage_by_key(text)
        .or_else(|| {
            text.parse::<u16>()
                .ok()
                .and_then(|id| pipeline.stage(StageId::new(id)))
        })
        .map(|stage| stage.id)
        .ok_or_else(|| {
            let keys: Vec<&str> = pipeline
                .stages
                .iter()
                .map(|stage| stage.key.as_str())
                .collect();
            crm_lib::Error::invalid(
                "stage",
                format!("{text:?} is not a stage; stages: {}", keys.join(", ")),
            )
        })
}

impl OrderQuery {
    fn filter(&self, pipeline: &Pipeline) -> crm_lib::Result<OrderFilter> {
        let date = |field, text: &Option<String>| {
            text.as_deref()
                .filter(|text| !text.trim().is_empty())
                .map(|text| Date::parse(field, text))
                .transpose()
        };
        Ok(OrderFilter {
            stage: self
                .stage
                .as_deref()
                .filter(|text| !text.trim().is_empty())
                .map(|text| parse_stage(pipeline, text))
                .transpose()?,
            assignee: self.assignee.map(UserId::new),
            customer: self.customer.map(CustomerId::new),
            marker: self.marker.map(MarkerId::new),
            search: self.search.clone().filter(|text| !text.trim().is_empty()),
            created_from: date("created_from", &self.created_from)?,
            created_to: date("created_to", &self.created_to)?,
            field: match self.field.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(text) => {
                    let (key, answer) = text.split_once(':').ok_or_else(|| {
                        crm_lib::Error::invalid("field", "write the filter as key:answer")
                    })?;
                    Some((key.trim().to_string(), answer.to_string()))
                }
            },
        })
    }
}

/// List the orders the token's user may see, newest first.
#[utoipa::path(
    get, operation_id = "listOrders", path = "/api/v1/orders", tag = "orders", params(OrderQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
        (status = 403, description = "The user may not list orders", body = ErrorResponse),
        (status = 422, description = "A bad filter", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<ApiJson<OrderPage>, ApiError> {
    let page = state
        .blocking(move |crm| {
            crm.read(|view| {
                let organization = crm_lib::org::organization_in(view, &user.actor)?;
                let filter = query.filter(&organization.pipeline)?;
                let page = crm_lib::Page {
                    after: query.after,
                    limit: query.limit.unwrap_or(50),
                };
                let orders = crm_lib::orders::list_orders_in(view, &user.actor, &filter, page)?;
                Ok(OrderPage {
                    items: orders
                        .items
                        .iter()
                        .map(|order| OrderView::new(order, &organization.pipeline))
                        .collect(),
                    next: orders.next,
                })
            })
        })
        .await?;
    Ok(ApiJson(page))
}

/// One order, if the token's user may see it, with what they may do with it now.
#[utoipa::path(
    get, operation_id = "getOrder", path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
        (status = 404, description = "No such order visible to the user", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let view = state
        .blocking(move |crm| {
            crm.read(|view| {
                let order = crm_lib::orders::order_in(view, &user.actor, OrderId::new(id))?;
                let organization = crm_lib::org::organization_in(view, &user.actor)?;
                let actions = crm_lib::capabilities::order_actions_in(view, &user.actor, order.id)?;
                Ok(OrderView {
                    actions: Some(OrderActionsView::from(&actions)),
                    ..OrderView::new(&order, &organization.pipeline)
                })
            })
        })
        .await?;
    Ok(ApiJson(view))
}

/// A new order for a customer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CreateOrder {
    /// The customer id.
    pub customer: u64,
    /// Title, 1-200 characters.
    pub title: String,
    /// Description, 1-4000 characters.
    pub description: String,
    /// Budget (`"1500"`, `"1500.50"`).
    #[serde(default)]
    pub budget: Option<String>,
    /// Deadline, `YYYY-MM-DD`.
    #[serde(default)]
    pub deadline: Option<String>,
    /// Marker ids, each a marker of the organization.
    #[serde(default)]
    pub markers: Vec<u64>,
    /// The id of the payment method the customer would like to pay by: an active one of the
    /// organization (the payment methods page lists them).
    #[serde(default)]
    pub preferred_payment_method: Option<u64>,
    /// The ticket's fields (the tickets module): answers by field key, as a person would type
    /// them (`"device": "laptop"`, `"serial": "SN-123456"`).
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Runs a write that returns an order and renders it with the current pipeline.
async fn order_write(
    state: &AppState,
    actor: &crm_lib::model::Actor,
    write: impl FnOnce(&mut crm_lib::Tx<'_>) -> crm_lib::Result<crm_lib::model::Order> + Send + 'static,
) -> Result<OrderView, ApiError> {
    // Awaited without a blocking thread: the writer wakes this task after the commit.
    let order = state.write(write).await?;
    let organization =
        state.read_now(|crm| crm.read(|view| crm_lib::org::organization_in(view, actor)))?;
    Ok(OrderView::new(&order, &organization.pipeline))
}

/// Create an order for a customer (needs `moderate_orders`); it starts in the pipeline's
/// first stage, and the customer's open-order limit applies.
#[utoipa::path(
    post, operation_id = "createOrder", path = "/api/v1/orders", tag = "orders", request_body = CreateOrder,
    responses(
        (status = 201, description = "Created", body = OrderView),
        (status = 403, description = "Missing moderate_orders", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
        (status = 409, description = "The customer's open-order limit is reached", body = ErrorResponse),
        (status = 422, description = "A bad field: also an unknown marker, or a preferred payment method that is unknown or switched off", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<CreateOrder>,
) -> Result<(StatusCode, ApiJson<OrderView>), ApiError> {
    let request = NewOrder {
        customer: Some(CustomerId::new(body.customer)),
        title: body.title,
        description: body.description,
        budget: typed_money("budget", body.budget.as_deref().unwrap_or(""))?,
        deadline: typed_date("deadline", body.deadline.as_deref().unwrap_or(""))?,
        markers: body.markers.into_iter().map(MarkerId::new).collect(),
        preferred_payment_method: body.preferred_payment_method.map(PaymentMethodId::new),
        field_answers: body.fields.into_iter().collect(),
        ..NewOrder::default()
    };
    let view = order_write(&state, &user.actor.clone(), move |tx| {
        tx.create_order(&user.actor, request)
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// Approve an order waiting for moderation (needs `moderate_orders`).
#[utoipa::path(
    post, operation_id = "approveOrder", path = "/api/v1/orders/{id}/approve", tag = "orders",
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "Approved", body = OrderView),
        (status = 403, description = "Missing moderate_orders", body = ErrorResponse),
        (status = 404, description = "No such order", body = ErrorResponse),
        (status = 409, description = "Not waiting for moderation", body = ErrorResponse),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let view = order_write(&state, &user.actor.clone(), move |tx| {
        tx.approve_order(&user.actor, OrderId::new(id))
    })
    .await?;
    Ok(ApiJson(view))
}

/// Why an order is rejected.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Reject {
    /// The reason the customer is told, 1-500 characters.
    pub reason: String,
}

/// Reject an order waiting for moderation, with a reason (needs `moderate_orders`).
#[utoipa::path(
    post, operation_id = "rejectOrder", path = "/api/v1/orders/{id}/reject", tag = "orders", request_body = Reject,
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "Rejected", body = OrderView),
        (status = 403, description = "Missing moderate_orders", body = ErrorResponse),
        (status = 404, description = "No such order", body = ErrorResponse),
        (status = 409, description = "Not waiting for moderation", body = ErrorResponse),
        (status = 422, description = "A bad reason", body = ErrorResponse),
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<Reject>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let view = order_write(&state, &user.actor.clone(), move |tx| {
        tx.reject_order(&user.actor, OrderId::new(id), &body.reason)
    })
    .await?;
    Ok(ApiJson(view))
}

/// Where to move an order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Move {
    /// The target stage: its key (`in_progress`) or id.
    pub stage: String,
}

/// Move an order to another stage along an allowed transition (the assignee or a manager).
#[utoipa::path(
    post, operation_id = "moveOrder", path = "/api/v1/orders/{id}/move", tag = "orders", request_body = Move,
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "Moved", body = OrderView),
        (status = 403, description = "Not allowed to move it", body = ErrorResponse),
        (status = 404, description = "No such order", body = ErrorResponse),
        (status = 409, description = "The pipeline does not allow this move", body = ErrorResponse),
        (status = 422, description = "No such stage", body = ErrorResponse),
    )
)]
pub async fn move_to(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<Move>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let view = order_write(&state, &user.actor.clone(), move |tx| {
        let organization = crm_lib::org::organization_in(&*tx, &user.actor)?;
        let stage = parse_stage(&organization.pipeline, &body.stage)?;
        tx.move_order(&user.actor, OrderId::new(id), stage)
    })
    .await?;
    Ok(ApiJson(view))
}

/// Whom to assign: one of `bid` or `user`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Assign {
    /// A bid id: its author, at its price.
    #[serde(default)]
    pub bid: Option<u64>,
    /// A user id, without a bid.
    #[serde(default)]
    pub user: Option<u64>,
}

/// Assign an order to a bid's author or to a user (needs `assign_orders`).
#[utoipa::path(
    post, operation_id = "assignOrder", path = "/api/v1/orders/{id}/assign", tag = "orders", request_body = Assign,
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "Assigned", body = OrderView),
        (status = 403, description = "Missing assign_orders", body = ErrorResponse),
        (status = 404, description = "No such order, bid or user", body = ErrorResponse),
        (status = 409, description = "The order or bid cannot be assigned now", body = ErrorResponse),
        (status = 422, description = "Neither or both of bid and user", body = ErrorResponse),
    )
)]
pub async fn assign(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<Assign>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let to = match (body.bid, body.user) {
        (Some(bid), None) => AssignTo::Bid(BidId::new(bid)),
        (None, Some(assignee)) => AssignTo::User(UserId::new(assignee)),
        _ => {
            return Err(ApiError::invalid(
                "bid",
                "give exactly one of bid (a bid id) or user (a user id)",
            ));
        }
    };
    let view = order_write(&state, &user.actor.clone(), move |tx| {
        tx.assign_order(&user.actor, OrderId::new(id), to)
    })
    .await?;
    Ok(ApiJson(view))
}

/// A bid with its bidder's skills, from [`crm_lib::staffing::bidder_skills_in`].
fn bid_view(bid: &crm_lib::model::Bid, skills: &[crm_lib::staffing::UserSkills]) -> BidView {
    let markers = skills
        .iter()
        .find(|skills| skills.user == bid.user)
        .map_or(&[][..], |skills| skills.markers.as_slice());
    BidView::with_skills(bid, markers)
}

/// The bids on an order, oldest first, each with the bidder's skills.
#[utoipa::path(
    get, operation_id = "listBids", path = "/api/v1/orders/{id}/bids", tag = "orders",
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The bids", body = Vec<BidView>),
        (status = 404, description = "No such order", body = ErrorResponse),
    )
)]
pub async fn bids(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<Vec<BidView>>, ApiError> {
    let views = state
        .blocking(move |crm| {
            crm.read(|view| {
                let order = OrderId::new(id);
                let bids = crm_lib::orders::bids_in(view, &user.actor, order)?;
                let skills = crm_lib::staffing::bidder_skills_in(view, &user.actor, order)?;
                Ok(bids.iter().map(|bid| bid_view(bid, &skills)).collect())
            })
        })
        .await?;
    Ok(ApiJson(views))
}

/// A bid.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PlaceBid {
    /// The price (`"900"`, `"900.50"`), not above the customer's budget.
    pub price: String,
    /// A note for the manager.
    #[serde(default)]
    pub comment: String,
}

/// Place a bid on an order (needs `respond_orders`).
#[utoipa::path(
    post, operation_id = "placeBid", path = "/api/v1/orders/{id}/bids", tag = "orders", request_body = PlaceBid,
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 201, description = "Placed", body = BidView),
        (status = 403, description = "Missing respond_orders", body = ErrorResponse),
        (status = 404, description = "No such order", body = ErrorResponse),
        (status = 409, description = "The order takes no bids, or the user has one already", body = ErrorResponse),
        (status = 422, description = "A bad price, or over the budget", body = ErrorResponse),
    )
)]
pub async fn place_bid(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<PlaceBid>,
) -> Result<(StatusCode, ApiJson<BidView>), ApiError> {
    let view = state
        .blocking(move |crm| {
            let order = OrderId::new(id);
            let price = Money::parse("price", &body.price)?;
            let bid = crm.place_bid(&user.actor, order, price, &body.comment)?;
            let skills = crm.bidder_skills(&user.actor, order)?;
            Ok(bid_view(&bid, &skills))
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}
