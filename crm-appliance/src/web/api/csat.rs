//! `/api/v1/csat` (satisfaction statistics) and `/api/v1/customers/{id}/merge` (contact
//! merge, or its preview with `dry_run`): one crm-lib call each.

use axum::extract::State;
use crm_lib::csat::{CsatFigures, CsatStats};
use crm_lib::merge::MergePreview;
use crm_lib::model::{CustomerId, Date};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use super::views::CustomerView;
use crate::AppState;

/// The range of the statistics.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsatQuery {
    /// First day, `YYYY-MM-DD`, a local day of the organization's time zone; the default is
    /// 29 days before `to`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (local); the default is today on the organization's clock.
    pub to: Option<String>,
}

/// Ratings counted together.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatFiguresView {
    /// How many ratings.
    pub count: u32,
    /// The average in hundredths of a star (`450` is 4.50); absent without ratings.
    pub average_hundredths: Option<u32>,
    /// How many gave 1, 2, 3, 4 and 5 stars.
    pub distribution: [u32; 5],
}

impl From<&CsatFigures> for CsatFiguresView {
    fn from(figures: &CsatFigures) -> Self {
        CsatFiguresView {
            count: figures.count,
            average_hundredths: figures.average_hundredths(),
            distribution: figures.distribution,
        }
    }
}

/// One operator's ratings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatOperatorView {
    /// The staff user; absent for orders nobody had.
    pub user: Option<u64>,
    /// Their display name.
    pub name: String,
    /// Their figures.
    pub figures: CsatFiguresView,
}

/// One local day's ratings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatDayView {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Its figures.
    pub figures: CsatFiguresView,
}

/// A rated survey.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatRatingView {
    /// The order rated.
    pub order: u64,
    /// The customer.
    pub customer: u64,
    /// The operator it counts for.
    pub operator: Option<u64>,
    /// 1 to 5 stars.
    pub rating: Option<u8>,
    /// When, RFC 3339.
    pub rated_at: Option<String>,
    /// The customer's comment.
    pub comment: Option<String>,
}

/// Satisfaction statistics over a range of local days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatStatsView {
    /// First day.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// The time zone whose days these are.
    pub zone: String,
    /// Every rating of the range.
    pub total: CsatFiguresView,
    /// Per operator.
    pub operators: Vec<CsatOperatorView>,
    /// Per local day with any rating.
    pub days: Vec<CsatDayView>,
    /// The latest ratings, newest first.
    pub recent: Vec<CsatRatingView>,
}

impl From<&CsatStats> for CsatStatsView {
    fn from(stats: &CsatStats) -> Self {
        CsatStatsView {
            from: stats.from.to_string(),
            to: stats.to.to_string(),
            zone: stats.zone.name().to_string(),
            total: CsatFiguresView::from(&stats.total),
            operators: stats
                .operators
                .iter()
                .map(|row| CsatOperatorView {
                    user: row.user.map(|user| user.get()),
                    name: row.name.clone(),
                    figures: CsatFiguresView::from(&row.figures),
                })
                .collect(),
            days: stats
                .days
                .iter()
                .map(|(day, figures)| CsatDayView {
                    day: day.to_string(),
                    figures: CsatFiguresView::from(figures),
                })
                .collect(),
            recent: stats
                .recent
                .iter()
                .map(|survey| CsatRatingView {
                    order: survey.order.get(),
                    customer: survey.customer.get(),
                    operator: survey.operator.map(|user| user.get()),
                    rating: survey.rating,
                    rated_at: survey.rated_at.map(|at| at.to_rfc3339()),
                    comment: survey.comment.clone(),
                })
                .collect(),
        }
    }
}

/// Satisfaction ratings per operator and per local day (needs `view_analytics`).
#[utoipa::path(
    get, operation_id = "getCsatStats", path = "/api/v1/csat", tag = "csat", params(CsatQuery),
    responses(
        (status = 200, description = "The figures of the range", body = CsatStatsView),
        (status = 403, description = "Missing view_analytics", body = ErrorResponse),
        (status = 422, description = "A bad date or range", body = ErrorResponse),
    )
)]
pub async fn stats(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<CsatQuery>,
) -> Result<ApiJson<CsatStatsView>, ApiError> {
    let (from, to) = (
        Date::parse_optional("from", query.from.as_deref())?,
        Date::parse_optional("to", query.to.as_deref())?,
    );
    let stats = state
        .blocking(move |crm| crm.csat_stats(&user.actor, from, to))
        .await?;
    Ok(ApiJson(CsatStatsView::from(&stats)))
}

/// Which customer to merge into the one of the path.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The customer merged in and deleted.
    pub absorb: u64,
    /// Only say what would happen; change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A field filled or dropped by a merge.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeFieldView {
    /// `telegram`, `username`, `last_name`, `phone`, `email` or `language`.
    pub field: String,
    /// The value.
    pub value: String,
}

/// What a merge moved (or, with `dry_run`, would move).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MergeView {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The kept customer as the merge leaves it.
    pub customer: CustomerView,
    /// The absorbed customer's id.
    pub absorbed: u64,
    /// Orders moved.
    pub orders: u64,
    /// Of those, tickets.
    pub tickets: u64,
    /// Messages moved.
    pub messages: u64,
    /// Of those, private notes.
    pub notes: u64,
    /// Calls moved.
    pub calls: u64,
    /// Conversations moved.
    pub conversations: u64,
    /// Payment details sent on the moved orders.
    pub payment_infos: u64,
    /// Notifications waiting for the absorbed customer, now for the kept one.
    pub pending_notifications: u64,
    /// Fields filled from the absorbed customer.
    pub filled: Vec<MergeFieldView>,
    /// Values lost because the kept customer has its own.
    pub dropped: Vec<MergeFieldView>,
}

impl MergeView {
    fn new(preview: &MergePreview, dry_run: bool) -> Self {
        let fields = |list: &[(crm_lib::merge::MergeField, String)]| {
            list.iter()
                .map(|(field, value)| MergeFieldView {
                    field: field.as_str().to_string(),
                    value: value.clone(),
                })
                .collect()
        };
        MergeView {
            dry_run,
            customer: CustomerView::from(&preview.result),
            absorbed: preview.absorb.id.get(),
            orders: preview.orders,
            tickets: preview.tickets,
            messages: preview.messages,
            notes: preview.notes,
            calls: preview.calls,
            conversations: preview.conversations,
            payment_infos: preview.payment_infos,
            pending_notifications: preview.pending_notifications,
            filled: fields(&preview.filled),
            dropped: fields(&preview.dropped),
        }
    }
}

/// Merge customer `absorb` into this one (needs `chat_customers`): its orders, messages,
/// calls and conversations move here, empty fields are filled, and it is deleted. With
/// `dry_run`, only the preview.
#[utoipa::path(
    post, operation_id = "mergeCustomers", path = "/api/v1/customers/{id}/merge", tag = "customers",
    params(("id" = u64, Path, description = "The customer that stays")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "Merged (or the preview)", body = MergeView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
        (status = 409, description = "Both have different Telegram accounts", body = ErrorResponse),
        (status = 422, description = "A customer merged with itself", body = ErrorResponse),
    )
)]
pub async fn merge(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> Result<ApiJson<MergeView>, ApiError> {
    let (keep, absorb, dry_run) = (
        CustomerId::new(id),
        CustomerId::new(body.absorb),
        body.dry_run,
    );
    let preview = state
        .blocking(move |crm| {
            if dry_run {
                crm.merge_preview(&user.actor, keep, absorb)
            } else {
                crm.merge_customers(&user.actor, keep, absorb)
            }
        })
        .await?;
    Ok(ApiJson(MergeView::new(&preview, dry_run)))
}
