//! `/api/v1/analytics` (the dashboard's figures and series) and `/api/v1/analytics/{chart}`
//! (one chart's series as points), for `view_analytics`: one crm-lib call each, the same
//! figures as the page (see `crm_lib::analytics` for their definitions).

use axum::extract::State;
use crm_lib::analytics::{Analytics, Chart, RevenueUnit};
use crm_lib::model::Language;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ErrorResponse};
use crate::AppState;

/// One month's revenue (of the orders created in it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthRevenueView {
    /// `YYYY-MM`.
    pub month: String,
    /// Orders created in it.
    pub orders: u64,
    /// Revenue, in `unit`.
    pub revenue: i64,
    /// Of it, the revenue of orders completed now.
    pub completed_revenue: i64,
}

/// One stage's orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageShareView {
    /// The stage's id.
    pub stage: u16,
    /// Its key.
    pub key: String,
    /// Its name in the token user's language.
    pub name: String,
    /// `moderation`, `open`, `won` or `lost`.
    pub kind: String,
    /// Orders in it now.
    pub orders: u64,
}

/// One month's new customers and the total at its end.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthCustomersView {
    /// `YYYY-MM`.
    pub month: String,
    /// Customers created in it.
    pub new_customers: u64,
    /// Customers at its end.
    pub total_customers: u64,
}

/// One package's orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackageShareView {
    /// The package's id.
    pub package: u64,
    /// Its key.
    pub key: String,
    /// Its name in the token user's language.
    pub name: String,
    /// Its orders, refunded ones too.
    pub orders: u64,
}

/// The dashboard: figures and the four charts' series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnalyticsView {
    /// The time zone whose days and months these are.
    pub zone: String,
    /// Today there, `YYYY-MM-DD`.
    pub today: String,
    /// What revenue counts: the currency code (amounts in minor units: cents) or `tokens`.
    pub unit: String,
    /// Customers.
    pub customers: u64,
    /// Orders.
    pub orders: u64,
    /// Staff users.
    pub staff_users: u64,
    /// Revenue of every order.
    pub revenue: i64,
    /// Revenue of the orders created this month.
    pub monthly_revenue: i64,
    /// Revenue of the completed orders.
    pub completed_revenue: i64,
    /// Completed orders.
    pub completed_orders: u64,
    /// Cancelled orders.
    pub cancelled_orders: u64,
    /// Completed / all orders in basis points (4550 is 45.50%); absent without orders.
    pub completion_rate_bps: Option<u32>,
    /// Revenue / orders counted in it; absent when none is.
    pub average_order_value: Option<i64>,
    /// Customers with Premium after now; absent without the tokens module.
    pub active_subscribers: Option<u64>,
    /// The last twelve months' revenue, oldest first.
    pub revenue_trend: Vec<MonthRevenueView>,
    /// Orders per stage, in pipeline order.
    pub status_distribution: Vec<StageShareView>,
    /// The last twelve months' new customers and running total.
    pub customer_growth: Vec<MonthCustomersView>,
    /// Orders per package, most first; absent without the tokens module.
    pub package_popularity: Option<Vec<PackageShareView>>,
}

fn unit(analytics: &Analytics) -> String {
    match &analytics.revenue_unit {
        RevenueUnit::Money { currency } => currency.clone(),
        RevenueUnit::Tokens => "tokens".to_string(),
    }
}

impl AnalyticsView {
    fn new(analytics: &Analytics, language: Language) -> Self {
        AnalyticsView {
            zone: analytics.zone.name().to_string(),
            today: analytics.today.to_string(),
            unit: unit(analytics),
            customers: analytics.customers,
            orders: analytics.orders,
            staff_users: analytics.staff_users,
            revenue: analytics.revenue,
            monthly_revenue: analytics.monthly_revenue,
            completed_revenue: analytics.completed_revenue,
            completed_orders: analytics.completed_orders,
            cancelled_orders: analytics.cancelled_orders,
            completion_rate_bps: analytics.completion_rate,
            average_order_value: analytics.average_order_value,
            active_subscribers: analytics.active_subscribers,
            revenue_trend: analytics
                .revenue_trend
                .iter()
                .map(|row| MonthRevenueView {
                    month: row.month.to_string(),
                    orders: row.orders,
                    revenue: row.revenue,
                    completed_revenue: row.completed,
                })
                .collect(),
            status_distribution: analytics
                .status_distribution
                .iter()
                .map(|share| StageShareView {
                    stage: share.stage.id.get(),
                    key: share.stage.key.clone(),
                    name: share.stage.name(language).to_string(),
                    kind: serde_json::to_value(share.stage.kind)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    orders: share.orders,
                })
                .collect(),
            customer_growth: analytics
                .customer_growth
                .iter()
                .map(|row| MonthCustomersView {
                    month: row.month.to_string(),
                    new_customers: row.new,
                    total_customers: row.total,
                })
                .collect(),
            package_popularity: analytics.package_popularity.as_ref().map(|shares| {
                shares
                    .iter()
                    .map(|share| PackageShareView {
                        package: share.package,
                        key: share.key.clone(),
                        name: share.name.get(language).to_string(),
                        orders: share.orders,
                    })
                    .collect()
            }),
        }
    }
}

/// One point of a chart: its label (a month `YYYY-MM`, a stage's or package's key), its
/// name as people read it, and one value per series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChartPointView {
    /// The label.
    pub label: String,
    /// The name, in the token user's language.
    pub name: String,
    /// One value per series, in the order of `series`.
    pub values: Vec<i64>,
}

/// One chart's series.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChartView {
    /// `revenue`, `status`, `customers` or `packages`.
    pub chart: String,
    /// What revenue counts (the currency code, amounts in minor units, or `tokens`).
    pub unit: String,
    /// The series' names: `orders`, `revenue`, `completed_revenue` (revenue);
    /// `orders` (status, packages); `new_customers`, `total_customers` (customers).
    pub series: Vec<String>,
    /// The points, in the chart's order.
    pub points: Vec<ChartPointView>,
}

fn number(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl ChartView {
    fn new(analytics: &Analytics, chart: Chart, language: Language) -> Option<Self> {
        let view = AnalyticsView::new(analytics, language);
        let (series, points): (&[&str], Vec<ChartPointView>) = match chart {
            Chart::RevenueTrend => (
                &["orders", "revenue", "completed_revenue"],
                view.revenue_trend
                    .into_iter()
                    .map(|row| ChartPointView {
                        name: row.month.clone(),
                        label: row.month,
                        values: vec![number(row.orders), row.revenue, row.completed_revenue],
                    })
                    .collect(),
            ),
            Chart::StatusDistribution => (
                &["orders"],
                view.status_distribution
                    .into_iter()
                    .map(|share| ChartPointView {
                        label: share.key,
                        name: share.name,
                        values: vec![number(share.orders)],
                    })
                    .collect(),
            ),
            Chart::CustomerGrowth => (
                &["new_customers", "total_customers"],
                view.customer_growth
                    .into_iter()
                    .map(|row| ChartPointView {
                        name: row.month.clone(),
                        label: row.month,
                        values: vec![number(row.new_customers), number(row.total_customers)],
                    })
                    .collect(),
            ),
            Chart::PackagePopularity => (
                &["orders"],
                view.package_popularity?
                    .into_iter()
                    .map(|share| ChartPointView {
                        label: share.key,
                        name: share.name,
                        values: vec![number(share.orders)],
                    })
                    .collect(),
            ),
        };
        Some(ChartView {
            chart: chart.as_str().to_string(),
            unit: view.unit,
            series: series.iter().map(|name| (*name).to_string()).collect(),
            points,
        })
    }
}

/// The dashboard's figures and series (needs `view_analytics`).
#[utoipa::path(
    get, operation_id = "getAnalytics", path = "/api/v1/analytics", tag = "analytics",
    responses(
        (status = 200, description = "The figures and the four charts' series", body = AnalyticsView),
        (status = 403, description = "Missing view_analytics", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<ApiJson<AnalyticsView>, ApiError> {
    let language = user.user.language;
    let analytics = state
        .blocking(move |crm| crm.analytics(&user.actor))
        .await?;
    Ok(ApiJson(AnalyticsView::new(&analytics, language)))
}

/// One chart's series as points (needs `view_analytics`).
#[utoipa::path(
    get, operation_id = "getAnalyticsChart", path = "/api/v1/analytics/{chart}", tag = "analytics",
    params(("chart" = String, Path, description = "`revenue`, `status`, `customers` or `packages` (the tokens module)")),
    responses(
        (status = 200, description = "The chart's points", body = ChartView),
        (status = 403, description = "Missing view_analytics", body = ErrorResponse),
        (status = 404, description = "The package chart without the tokens module", body = ErrorResponse),
        (status = 422, description = "Not a chart", body = ErrorResponse),
    )
)]
pub async fn chart(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(chart): ApiPath<String>,
) -> Result<ApiJson<ChartView>, ApiError> {
    let chart = Chart::parse(&chart)?;
    let language = user.user.language;
    let analytics = state
        .blocking(move |crm| crm.analytics(&user.actor))
        .await?;
    ChartView::new(&analytics, chart, language)
        .map(ApiJson)
        .ok_or_else(|| crm_lib::Error::not_found("chart", chart).into())
}
