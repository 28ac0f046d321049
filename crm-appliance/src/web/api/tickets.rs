//! `/api/v1/orders/{id}/fields` and `/api/v1/orders/{id}/fraud/{rule}/clear`: a ticket's typed
//! fields and fraud flags (the tickets module; 404 while it is off). Answers are sent as text
//! and read by crm-lib's one parser, as the web form and the bot read them.

use std::collections::BTreeMap;

use axum::extract::State;
use crm_lib::model::{Actor, FieldValue, OrderId};
use crm_lib::tickets::{TicketView, Unnamed};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use crate::AppState;

/// One field of a ticket.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketFieldView {
    /// The field's key (`serial`).
    pub key: String,
    /// Its kind: `text`, `number`, `money`, `date`, `choice` or `flag`.
    pub kind: String,
    /// Whether a ticket needs it.
    pub required: bool,
    /// The value as an answer crm-lib reads back (a choice's key, `yes`/`no`, `1500.00`);
    /// absent when not set.
    pub value: Option<String>,
}

/// A fraud flag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FraudFlagView {
    /// The rule that raised it: `repeated_serial`, `blocklisted`, `cancellations`,
    /// `field_format`.
    pub rule: String,
    /// Why it fired.
    pub reason: String,
    /// Points toward the score while not cleared.
    pub points: u32,
    /// Whether a manager cleared it.
    pub cleared: bool,
    /// The clearing note.
    pub note: Option<String>,
}

/// A ticket's fields and fraud flags.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketJson {
    /// The order.
    pub order: u64,
    /// Every declared field, in order.
    pub fields: Vec<TicketFieldView>,
    /// The fraud score: the points of the flags not cleared (0 for a customer, who sees no
    /// flags).
    pub fraud_score: u32,
    /// The fraud flags, cleared ones too.
    pub fraud_flags: Vec<FraudFlagView>,
}

impl TicketJson {
    fn new(order: OrderId, ticket: &TicketView) -> Self {
        TicketJson {
            order: order.get(),
            fields: ticket
                .fields
                .iter()
                .map(|(def, value)| TicketFieldView {
                    key: def.key.clone(),
                    kind: def.kind.name().to_string(),
                    required: def.required,
                    value: value.as_ref().map(FieldValue::to_answer),
                })
                .collect(),
            fraud_score: ticket.fraud.as_ref().map_or(0, |fraud| fraud.score()),
            fraud_flags: ticket
                .fraud
                .iter()
                .flat_map(|fraud| &fraud.flags)
                .map(|flag| FraudFlagView {
                    rule: flag.rule.clone(),
                    reason: flag.reason.clone(),
                    points: flag.points,
                    cleared: flag.cleared.is_some(),
                    note: flag.cleared.as_ref().map(|cleared| cleared.note.clone()),
                })
                .collect(),
        }
    }
}

/// The ticket as `actor` sees it, 404 when the tickets module is off.
fn read_ticket(crm: &crm_lib::Crm, actor: &Actor, order: OrderId) -> crm_lib::Result<TicketJson> {
    crm.ticket(actor, order)?
        .map(|ticket| TicketJson::new(order, &ticket))
        .ok_or_else(|| crm_lib::Error::not_found("ticket", order))
}

/// A ticket's fields and fraud flags.
#[utoipa::path(
    get, operation_id = "getTicketFields", path = "/api/v1/orders/{id}/fields", tag = "tickets",
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The ticket", body = TicketJson),
        (status = 401, description = "No or a bad token", body = ErrorResponse),
        (status = 404, description = "No such order visible to the user, or the tickets module is off", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<TicketJson>, ApiError> {
    let ticket = state
        .blocking(move |crm| read_ticket(crm, &user.actor, OrderId::new(id)))
        .await?;
    Ok(ApiJson(ticket))
}

/// New values of a ticket's fields.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SetFields {
    /// Answers by field key, as a person would type them (`"device": "laptop"`,
    /// `"warranty": "yes"`); an empty answer clears the field.
    pub fields: BTreeMap<String, String>,
}

async fn set(
    state: AppState,
    user: ApiUser,
    id: u64,
    body: SetFields,
    unnamed: Unnamed,
) -> Result<ApiJson<TicketJson>, ApiError> {
    let answers: Vec<(String, String)> = body.fields.into_iter().collect();
    let order = OrderId::new(id);
    let actor = user.actor.clone();
    state
        .write(move |tx| {
            tx.set_order_field_answers(&actor, order, &answers, unnamed)
                .map(drop)
        })
        .await?;
    let ticket = state
        .blocking(move |crm| read_ticket(crm, &user.actor, order))
        .await?;
    Ok(ApiJson(ticket))
}

/// Replace a ticket's fields: the fields not named are cleared (needs `moderate_orders`,
/// `assign_orders` or, for an order assigned to the user, `update_order_status`); the fraud
/// rules are evaluated again.
#[utoipa::path(
    put, operation_id = "putTicketFields", path = "/api/v1/orders/{id}/fields", tag = "tickets", request_body = SetFields,
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The ticket", body = TicketJson),
        (status = 403, description = "The user may not edit its fields", body = ErrorResponse),
        (status = 404, description = "No such order visible to the user, or the tickets module is off", body = ErrorResponse),
        (status = 422, description = "An unknown field, a refused answer or a required field left out", body = ErrorResponse),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<SetFields>,
) -> Result<ApiJson<TicketJson>, ApiError> {
    set(state, user, id, body, Unnamed::Clear).await
}

/// Change some of a ticket's fields: the fields not named stay as they are.
#[utoipa::path(
    patch, operation_id = "patchTicketFields", path = "/api/v1/orders/{id}/fields", tag = "tickets", request_body = SetFields,
    params(("id" = u64, Path, description = "Order id")),
    responses(
        (status = 200, description = "The ticket", body = TicketJson),
        (status = 403, description = "The user may not edit its fields", body = ErrorResponse),
        (status = 404, description = "No such order visible to the user, or the tickets module is off", body = ErrorResponse),
        (status = 422, description = "An unknown field, a refused answer or a required field cleared", body = ErrorResponse),
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<SetFields>,
) -> Result<ApiJson<TicketJson>, ApiError> {
    set(state, user, id, body, Unnamed::Keep).await
}

/// Why a flag is cleared.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ClearFlag {
    /// The note, 1-500 characters.
    pub note: String,
}

/// Clear a ticket's fraud flag with a note (needs `moderate_orders` or `assign_orders`).
#[utoipa::path(
    post, operation_id = "clearFraudFlag", path = "/api/v1/orders/{id}/fraud/{rule}/clear", tag = "tickets", request_body = ClearFlag,
    params(
        ("id" = u64, Path, description = "Order id"),
        ("rule" = String, Path, description = "The flag's rule"),
    ),
    responses(
        (status = 200, description = "The ticket", body = TicketJson),
        (status = 403, description = "The user may not clear flags", body = ErrorResponse),
        (status = 404, description = "No such order, or no flag of that rule to clear", body = ErrorResponse),
        (status = 422, description = "A bad note", body = ErrorResponse),
    )
)]
pub async fn clear(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath((id, rule)): ApiPath<(u64, String)>,
    ApiJson(body): ApiJson<ClearFlag>,
) -> Result<ApiJson<TicketJson>, ApiError> {
    let order = OrderId::new(id);
    let actor = user.actor.clone();
    state
        .write(move |tx| {
            tx.clear_fraud_flag(&actor, order, &rule, &body.note)
                .map(drop)
        })
        .await?;
    let ticket = state
        .blocking(move |crm| read_ticket(crm, &user.actor, order))
        .await?;
    Ok(ApiJson(ticket))
}
