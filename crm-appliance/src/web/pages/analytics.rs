//! The analytics dashboard (issue 13, `view_analytics`): `/analytics`, the figures and four
//! server-rendered SVG charts (`web::charts`) of crm-lib's [`Analytics`], each with its
//! numbers in a table and a CSV download, `/analytics/{chart}.csv` (crm-lib's CSV writer).
//! Each handler makes one crm-lib call; the markup is a pure function of what was read.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crm_lib::analytics::{Analytics, Chart, Month, RevenueUnit};
use crm_lib::model::{Language, Money};
use maud::{Markup, html};

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::charts::{self, Series, Share};
use crate::web::error::AppError;
use crate::web::i18n::{tr, tr_with};
use crate::web::layout::{Nav, page};

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/analytics", get(dashboard))
        .route("/analytics/{file}", get(chart_csv))
}

/// `GET /analytics`.
async fn dashboard(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let analytics = state.blocking(move |crm| crm.analytics(&actor)).await?;
    Ok(page(
        &staff,
        &staff.t("analytics.title"),
        Nav::Analytics,
        analytics_body(&staff, &analytics),
    ))
}

/// `GET /analytics/{chart}.csv`: the chart's series as CSV, names in the reader's language.
async fn chart_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let chart = file
        .strip_suffix(".csv")
        .and_then(|name| Chart::parse(name).ok())
        .ok_or_else(|| AppError::not_found("there is no such chart"))?;
    let (actor, language) = (staff.actor.clone(), staff.language);
    let csv = state
        .blocking(move |crm| {
            let mut out = Vec::new();
            crm.export_chart(&actor, chart, language, &mut out)?;
            Ok(out)
        })
        .await?;
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{}.csv\"", chart.as_str());
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// An amount of revenue as the reader writes it: money with its currency, or tokens.
fn amount(language: Language, unit: &RevenueUnit, value: i64) -> String {
    match unit {
        RevenueUnit::Money { currency } => Money::from_minor(value).format_with(language, currency),
        RevenueUnit::Tokens => tr_with(language, "analytics.tokens", &[("count", &value)]),
    }
}

/// An amount on an axis: whole units (money without its cents), grouped as the reader
/// groups digits.
fn axis_amount(language: Language, unit: &RevenueUnit, value: i64) -> String {
    let whole = match unit {
        RevenueUnit::Money { .. } => value / 100,
        RevenueUnit::Tokens => value,
    };
    let text = Money::from_minor(whole * 100).format(language);
    // Money's text ends in its decimal separator and two zeros.
    text.get(..text.len().saturating_sub(3))
        .unwrap_or(&text)
        .to_string()
}

/// A month on an axis: its short name, with the year in January and on the first label.
fn month_label(language: Language, month: Month, first: bool) -> String {
    let name = tr(language, &format!("analytics.month.{}", month.month));
    if first || month.month == 1 {
        format!("{name} {}", month.year % 100)
    } else {
        name
    }
}

/// One figure tile.
fn tile(label: &str, value: &str, id: &str) -> Markup {
    html! {
        div.stat data-figure=(id) {
            span.stat-value { (value) }
            span.stat-label { (label) }
        }
    }
}

/// A chart's section: heading, the drawing, a CSV link and its numbers in a table.
fn chart_section(
    staff: &Staff,
    chart: Chart,
    drawing: Markup,
    head: &[String],
    rows: &[Vec<String>],
) -> Markup {
    let name = chart.as_str();
    html! {
        section.chart-card id={ "chart-" (name) } {
            h2 { (staff.t(&format!("analytics.chart.{name}"))) }
            (drawing)
            p.chart-links {
                a href={ "/analytics/" (name) ".csv" } download={ (name) ".csv" } data-csv=(name) {
                    (staff.t("analytics.csv"))
                }
            }
            details.chart-data {
                summary { (staff.t("analytics.numbers")) }
                table {
                    thead { tr { @for cell in head { th { (cell) } } } }
                    tbody {
                        @for row in rows {
                            tr { @for cell in row { td { (cell) } } }
                        }
                    }
                }
            }
        }
    }
}

/// The page's markup: the figures, then the charts (the package chart only with the tokens
/// module).
pub fn analytics_body(staff: &Staff, analytics: &Analytics) -> Markup {
    let language = staff.language;
    let unit = &analytics.revenue_unit;
    let money = |value: i64| amount(language, unit, value);
    let labels: Vec<String> = analytics
        .revenue_trend
        .iter()
        .enumerate()
        .map(|(index, row)| month_label(language, row.month, index == 0))
        .collect();
    let months: Vec<String> = analytics
        .revenue_trend
        .iter()
        .map(|row| row.month.to_string())
        .collect();

    let revenue_name = staff.t("analytics.revenue");
    let completed_name = staff.t("analytics.completed_revenue");
    let revenue_summary = tr_with(
        language,
        "analytics.summary.revenue",
        &[
            ("from", &months.first().cloned().unwrap_or_default()),
            ("to", &months.last().cloned().unwrap_or_default()),
            (
                "total",
                &money(analytics.revenue_trend.iter().map(|row| row.revenue).sum()),
            ),
        ],
    );
    let revenue_chart = charts::line_chart(
        "revenue-chart",
        &staff.t("analytics.chart.revenue"),
        &revenue_summary,
        &labels,
        &[
            Series {
                name: revenue_name.clone(),
                values: analytics
                    .revenue_trend
                    .iter()
                    .map(|row| row.revenue)
                    .collect(),
            },
            Series {
                name: completed_name.clone(),
                values: analytics
                    .revenue_trend
                    .iter()
                    .map(|row| row.completed)
                    .collect(),
            },
        ],
        &|value| axis_amount(language, unit, value),
    );
    let revenue_rows: Vec<Vec<String>> = analytics
        .revenue_trend
        .iter()
        .map(|row| {
            vec![
                row.month.to_string(),
                row.orders.to_string(),
                money(row.revenue),
                money(row.completed),
            ]
        })
        .collect();

    let stage_shares: Vec<Share> = analytics
        .status_distribution
        .iter()
        .map(|share| Share {
            label: share.stage.name(language).to_string(),
            value: share.orders,
            color: Some(share.stage.color.clone()),
        })
        .collect();
    let status_summary = tr_with(
        language,
        "analytics.summary.status",
        &[(
            "shares",
            &stage_shares
                .iter()
                .map(|share| format!("{} {}", share.label, share.value))
                .collect::<Vec<_>>()
                .join(", "),
        )],
    );
    let status_chart = charts::doughnut(
        "status-chart",
        &staff.t("analytics.chart.status"),
        &status_summary,
        &stage_shares,
    );
    let status_rows: Vec<Vec<String>> = stage_shares
        .iter()
        .map(|share| vec![share.label.clone(), share.value.to_string()])
        .collect();

    let new_name = staff.t("analytics.new_customers");
    let total_name = staff.t("analytics.total_customers");
    let growth = &analytics.customer_growth;
    let growth_summary = tr_with(
        language,
        "analytics.summary.customers",
        &[
            ("new", &growth.iter().map(|row| row.new).sum::<u64>()),
            ("total", &growth.last().map(|row| row.total).unwrap_or(0)),
        ],
    );
    let growth_chart = charts::line_chart(
        "customers-chart",
        &staff.t("analytics.chart.customers"),
        &growth_summary,
        &labels,
        &[
            Series {
                name: new_name.clone(),
                values: growth
                    .iter()
                    .map(|row| i64::try_from(row.new).unwrap_or(i64::MAX))
                    .collect(),
            },
            Series {
                name: total_name.clone(),
                values: growth
                    .iter()
                    .map(|row| i64::try_from(row.total).unwrap_or(i64::MAX))
                    .collect(),
            },
        ],
        &|value| value.to_string(),
    );
    let growth_rows: Vec<Vec<String>> = growth
        .iter()
        .map(|row| {
            vec![
                row.month.to_string(),
                row.new.to_string(),
                row.total.to_string(),
            ]
        })
        .collect();

    let month_head = staff.t("analytics.month");
    let orders_head = staff.t("analytics.orders");
    html! {
        p.muted { (tr_with(language, "analytics.zone", &[("zone", &analytics.zone.name()), ("today", &analytics.today)])) }
        section.stats #analytics-figures {
            (tile(&staff.t("analytics.customers"), &analytics.customers.to_string(), "customers"))
            (tile(&staff.t("analytics.orders"), &analytics.orders.to_string(), "orders"))
            (tile(&staff.t("analytics.staff_users"), &analytics.staff_users.to_string(), "staff_users"))
            (tile(&revenue_name, &money(analytics.revenue), "revenue"))
            (tile(&staff.t("analytics.monthly_revenue"), &money(analytics.monthly_revenue), "monthly_revenue"))
            (tile(&completed_name, &money(analytics.completed_revenue), "completed_revenue"))
            (tile(&staff.t("analytics.completion_rate"), &analytics.completion_rate_text(), "completion_rate"))
            (tile(
                &staff.t("analytics.average_order_value"),
                &analytics.average_order_value.map(money).unwrap_or_else(|| "–".to_string()),
                "average_order_value",
            ))
            @if let Some(active) = analytics.active_subscribers {
                (tile(&staff.t("analytics.active_subscribers"), &active.to_string(), "active_subscribers"))
            }
        }
        p.muted { (staff.t(match unit {
            RevenueUnit::Tokens => "analytics.definition.tokens",
            RevenueUnit::Money { .. } => "analytics.definition.money",
        })) }
        div.chart-grid {
            (chart_section(staff, Chart::RevenueTrend, revenue_chart,
                &[month_head.clone(), orders_head.clone(), revenue_name.clone(), completed_name.clone()], &revenue_rows))
            (chart_section(staff, Chart::StatusDistribution, status_chart,
                &[staff.t("analytics.stage"), orders_head.clone()], &status_rows))
            (chart_section(staff, Chart::CustomerGrowth, growth_chart,
                &[month_head.clone(), new_name.clone(), total_name.clone()], &growth_rows))
            @if let Some(packages) = &analytics.package_popularity {
                @let shares: Vec<Share> = packages.iter().map(|share| Share {
                    label: share.name.get(language).to_string(),
                    value: share.orders,
                    color: None,
                }).collect();
                @let summary = tr_with(language, "analytics.summary.packages", &[(
                    "shares",
                    &shares.iter().map(|share| format!("{} {}", share.label, share.value)).collect::<Vec<_>>().join(", "),
                )]);
                @let rows: Vec<Vec<String>> = shares.iter().map(|share| vec![share.label.clone(), share.value.to_string()]).collect();
                (chart_section(staff, Chart::PackagePopularity,
                    charts::bars("packages-chart", &staff.t("analytics.chart.packages"), &summary, &shares),
                    &[staff.t("analytics.package"), orders_head.clone()], &rows))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::BuiltinRole;
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_service_demo_s_analytics_show_the_figures_and_four_charts_with_their_numbers_in_russian()
    {
        let fixture = Fixture::new("service");
        fixture.crm.system().load_demo(fixture.org.id).unwrap();
        let manager = fixture.staff(BuiltinRole::Manager, Language::RU);
        let analytics = fixture.crm.analytics(&fixture.system()).unwrap();
        let html = analytics_body(&manager, &analytics).into_string();
        assert!(html.contains("id=\"chart-packages\""), "{html}");
        assert_snapshot!(pretty(&analytics_body(&manager, &analytics)));
    }

    #[test]
    fn an_organization_without_tokens_counts_money_and_has_no_package_chart() {
        let fixture = Fixture::new("studio");
        fixture.sample();
        let manager = fixture.staff(BuiltinRole::Manager, Language::EN);
        let analytics = fixture.crm.analytics(&fixture.system()).unwrap();
        let html = analytics_body(&manager, &analytics).into_string();
        assert!(!html.contains("id=\"chart-packages\""), "{html}");
        assert!(html.contains("href=\"/analytics/revenue.csv\""), "{html}");
        assert_snapshot!(pretty(&analytics_body(&manager, &analytics)));
    }
}
