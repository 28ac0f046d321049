//! The dashboard: orders per stage, orders created today, the user's own open work, and a link
//! to the analytics dashboard for those who may read it.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use crm_lib::orders::Dashboard;
use maud::{Markup, html};

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::error::AppError;
use crate::web::layout::{Nav, page};

/// `/`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

async fn dashboard(State(state): State<AppState>, staff: Staff) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| crm.read(|view| crm_lib::orders::dashboard_in(view, &actor)))
        .await?;
    Ok(page(
        &staff,
        &staff.t("dashboard.title"),
        Nav::Dashboard,
        dashboard_body(&staff, &data),
    ))
}

/// The dashboard's content for `staff`: the analytics link (for `view_analytics`), today's new
/// orders, a tile per stage, their open work.
fn dashboard_body(staff: &Staff, data: &Dashboard) -> Markup {
    let language = staff.language;
    html! {
        @if staff.navigation().analytics {
            p { a href="/analytics" { (staff.t("analytics.dashboard_link")) } }
        }
        section.stats {
            div.stat.highlight {
                span.stat-value { (data.new_today) }
                span.stat-label { (staff.t("dashboard.new_today")) }
            }
            @for count in &data.stages {
                @let stage = &count.stage;
                a.stat href={ "/orders?stage=" (stage.id) } data-accent=(stage.color) {
                    span.stat-value { (count.orders) }
                    span.stat-label { (stage.name(language)) }
                }
            }
        }
        section {
            h2 { (staff.t("dashboard.my_work")) }
            @if data.mine.is_empty() {
                p.muted { (staff.t("dashboard.no_work")) }
            } @else {
                ul.cards {
                    @for row in &data.mine {
                        li.card {
                            a href={ "/orders/" (row.order.id) } { "#" (row.order.id) " " (row.order.title) }
                            span.muted { " · " (row.customer_name) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_dashboard_counts_orders_per_stage_and_lists_the_users_work() {
        let fixture = Fixture::new("studio");
        let sample = fixture.sample();
        let ivan = crm_lib::model::Actor::staff(fixture.org.id, sample.ivan.id);
        let data = fixture
            .crm
            .read(|view| crm_lib::orders::dashboard_in(view, &ivan))
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Worker, Language::RU);
        assert_snapshot!(pretty(&dashboard_body(&staff, &data)));
    }
}
