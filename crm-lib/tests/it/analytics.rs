//! The analytics dashboard (issue 13): every figure and series from the per-day aggregates,
//! on the organization's local days and months, kept by the use cases that create and move
//! orders, charge and refund tokens and create and merge customers; checked by verify.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::analytics::{Analytics, Chart, Month, RevenueUnit};
use crm_lib::model::{Actor, Language, Timestamp};
use crm_lib::orders::NewOrder;
use crm_lib::org::SettingsUpdate;
use crm_lib::tokens::TokenOrderRequest;
use crm_lib::{Crm, CrmOptions, ErrorKind};

use crate::support::{World, money};

static NOW: AtomicI64 = AtomicI64::new(0);
/// The tests of this file share the clock: each holds this lock while it runs.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
fn now() -> Timestamp {
    Timestamp::from_millis(NOW.load(Ordering::SeqCst))
}

/// Sets the store's clock (shared by the tests of this file, which set it before each use).
fn at(text: &str) {
    let moment = text.parse::<jiff::Timestamp>().unwrap();
    NOW.store(moment.as_millisecond(), Ordering::SeqCst);
}

/// A world of `template` on the test clock, without an open-order limit, with the clock's
/// lock held as long as the world lives.
fn world(template: &str) -> (std::sync::MutexGuard<'static, ()>, World) {
    let serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    at("2026-01-15T10:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), now).unwrap();
    let org = crm
        .system()
        .create_organization(template, "Acme", "acme")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    world.lift_order_limit();
    (serial, world)
}

fn month(text: &str) -> Month {
    let (year, month) = text.split_once('-').unwrap();
    Month {
        year: year.parse().unwrap(),
        month: month.parse().unwrap(),
    }
}

fn dashboard(world: &World) -> Analytics {
    world.crm.analytics(&world.manager).unwrap()
}

fn verify_clean(world: &World) {
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

/// Moves an approved and assigned studio order along to `delivered` (won).
fn deliver(world: &World, order: crm_lib::model::OrderId) {
    for stage in ["in_progress", "testing", "completed", "delivered"] {
        world
            .crm
            .move_order(&world.manager, order, world.stage(stage))
            .unwrap();
    }
}

#[test]
fn the_dashboard_counts_orders_revenue_and_customers_per_local_month_from_the_aggregates() {
    let (_serial, world) = world("studio");
    // January: a delivered order at the bid's price 900 (budget 1000), an open one with a
    // budget of 500, a rejected one (brings nothing) and one without an amount.
    let won = world.assigned_order(101);
    deliver(&world, won.id);
    world.approved_order(102, Some("500"));
    let rejected = world.order(&world.customer(103, "Rita"), "Site", Some("200"));
    world
        .crm
        .reject_order(&world.manager, rejected.id, "not for us")
        .unwrap();
    world.order(&world.customer(104, "Nils"), "Logo", None);
    // March: a new customer's order of 300, waiting for moderation.
    at("2026-03-10T12:00:00Z");
    world.order(&world.customer(105, "Mara"), "Bot", Some("300"));
    at("2026-03-20T09:00:00Z");

    let figures = dashboard(&world);
    assert_eq!(figures.today.to_string(), "2026-03-20");
    assert_eq!(
        figures.revenue_unit,
        RevenueUnit::Money {
            currency: "USD".into()
        }
    );
    assert_eq!(
        (figures.customers, figures.orders, figures.staff_users),
        (5, 5, 5)
    );
    assert_eq!(figures.revenue, money("1700").minor());
    assert_eq!(figures.monthly_revenue, money("300").minor());
    assert_eq!(figures.completed_revenue, money("900").minor());
    assert_eq!((figures.completed_orders, figures.cancelled_orders), (1, 1));
    assert_eq!(figures.completion_rate, Some(2_000));
    assert_eq!(figures.completion_rate_text(), "20.00%");
    // 1700 / 3 orders counted, rounded half up.
    assert_eq!(figures.average_order_value, Some(56_667));
    assert_eq!(figures.active_subscribers, None);
    assert_eq!(figures.package_popularity, None);

    let trend: Vec<(String, i64, i64, u64)> = figures
        .revenue_trend
        .iter()
        .map(|row| {
            (
                row.month.to_string(),
                row.revenue,
                row.completed,
                row.orders,
            )
        })
        .collect();
    assert_eq!(trend.len(), 12);
    assert_eq!(trend[0].0, "2025-04");
    assert_eq!(trend[9], ("2026-01".into(), 140_000, 90_000, 4));
    assert_eq!(trend[10], ("2026-02".into(), 0, 0, 0));
    assert_eq!(trend[11], ("2026-03".into(), 30_000, 0, 1));
    let growth: Vec<(Month, u64, u64)> = figures
        .customer_growth
        .iter()
        .map(|row| (row.month, row.new, row.total))
        .collect();
    assert_eq!(growth[8], (month("2025-12"), 0, 0));
    assert_eq!(growth[9], (month("2026-01"), 4, 4));
    assert_eq!(growth[10], (month("2026-02"), 0, 4));
    assert_eq!(growth[11], (month("2026-03"), 1, 5));
    let stages: Vec<(&str, u64)> = figures
        .status_distribution
        .iter()
        .map(|share| (share.stage.key.as_str(), share.orders))
        .collect();
    assert_eq!(
        stages,
        [
            ("pending", 2),
            ("approved", 1),
            ("rejected", 1),
            ("in_progress", 0),
            ("testing", 0),
            ("completed", 0),
            ("delivered", 1)
        ]
    );
    verify_clean(&world);

    // A year later the January orders have left the window; the totals stay.
    at("2027-02-01T09:00:00Z");
    let later = dashboard(&world);
    assert_eq!(later.revenue, money("1700").minor());
    assert_eq!(later.monthly_revenue, 0);
    assert_eq!(later.revenue_trend[0].month, month("2026-03"));
    assert_eq!(later.revenue_trend[0].revenue, 30_000);
    assert_eq!(later.customer_growth[0].total, 5);
}

#[test]
fn an_order_counts_on_its_local_day_and_a_new_time_zone_moves_it_with_verify_clean() {
    let (_serial, world) = world("studio");
    // 23:30 UTC on 31 January is 09:30 on 1 February in Vladivostok (UTC+10).
    at("2026-01-31T23:30:00Z");
    world.order(&world.customer(201, "Late"), "Night order", Some("100"));
    at("2026-02-10T09:00:00Z");
    let utc = dashboard(&world);
    assert_eq!(utc.revenue_trend[10].month, month("2026-01"));
    assert_eq!(utc.revenue_trend[10].orders, 1);
    assert_eq!(utc.monthly_revenue, 0);
    world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                time_zone: Some("Asia/Vladivostok".into()),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    let local = dashboard(&world);
    assert_eq!(local.zone.name(), "Asia/Vladivostok");
    assert_eq!(local.revenue_trend[10].orders, 0);
    assert_eq!(local.revenue_trend[11].month, month("2026-02"));
    assert_eq!(local.revenue_trend[11].orders, 1);
    assert_eq!(local.monthly_revenue, money("100").minor());
    assert_eq!(local.customer_growth[11].new, 1);
    verify_clean(&world);
}

#[test]
fn token_revenue_is_charged_net_of_refunds_with_packages_and_active_subscribers() {
    let (_serial, world) = world("service");
    let packages = world.crm.packages(&world.admin).unwrap();
    let small = packages.iter().find(|p| p.key == "sites_100").unwrap();
    let large = packages.iter().find(|p| p.key == "sites_250").unwrap();
    let alice = world.customer(301, "Alice");
    let bob = world.customer(302, "Bob");
    for customer in [&alice, &bob] {
        world
            .crm
            .system()
            .credit_purchase(
                world.org.id,
                World::customer_id(customer),
                10_000,
                &format!("test:{}", World::customer_id(customer)),
                "tokens",
            )
            .unwrap();
    }
    let place = |customer: &Actor, package: u64| {
        world
            .crm
            .place_token_order(
                customer,
                TokenOrderRequest {
                    package,
                    ..TokenOrderRequest::default()
                },
            )
            .unwrap()
    };
    let done = place(&alice, small.id);
    let cancelled = place(&alice, small.id);
    let open = place(&bob, large.id);
    let deleted = place(&bob, small.id);
    world
        .crm
        .move_order(&world.admin, done.order.id, world.stage("processing"))
        .unwrap();
    world
        .crm
        .assign_order(
            &world.admin,
            done.order.id,
            crm_lib::orders::AssignTo::User(World::user_id(&world.worker)),
        )
        .unwrap();
    for stage in ["assigned", "completed"] {
        world
            .crm
            .move_order(&world.admin, done.order.id, world.stage(stage))
            .unwrap();
    }
    world
        .crm
        .move_order(&world.admin, cancelled.order.id, world.stage("cancelled"))
        .unwrap();
    world.crm.delete_order(&bob, deleted.order.id).unwrap();
    world
        .crm
        .grant_subscription(&world.admin, World::customer_id(&bob), 30)
        .unwrap();

    let figures = dashboard(&world);
    assert_eq!(figures.revenue_unit, RevenueUnit::Tokens);
    let charged = i64::try_from(done.token_order.cost + open.token_order.cost).unwrap();
    assert_eq!(figures.revenue, charged);
    assert_eq!(figures.monthly_revenue, charged);
    assert_eq!(
        figures.completed_revenue,
        i64::try_from(done.token_order.cost).unwrap()
    );
    assert_eq!(figures.orders, 3);
    assert_eq!((figures.completed_orders, figures.cancelled_orders), (1, 1));
    assert_eq!(figures.average_order_value, Some((charged + 1) / 2));
    assert_eq!(figures.active_subscribers, Some(1));
    let popularity: Vec<(&str, u64)> = figures
        .package_popularity
        .as_ref()
        .unwrap()
        .iter()
        .map(|share| (share.key.as_str(), share.orders))
        .take(2)
        .collect();
    assert_eq!(popularity, [("sites_100", 2), ("sites_250", 1)]);
    verify_clean(&world);

    // The CSV of a chart, with stage names in the reader's language.
    let mut csv = Vec::new();
    let rows = world
        .crm
        .export_chart(
            &world.manager,
            Chart::StatusDistribution,
            Language::EN,
            &mut csv,
        )
        .unwrap();
    assert_eq!(rows, 5);
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("stage_key,stage,kind,orders\n"), "{text}");
    assert!(text.contains("completed,Completed,won,1\n"), "{text}");
    let mut csv = Vec::new();
    world
        .crm
        .export_chart(
            &world.manager,
            Chart::PackagePopularity,
            Language::EN,
            &mut csv,
        )
        .unwrap();
    assert!(
        String::from_utf8(csv)
            .unwrap()
            .starts_with("package_key,package,orders\nsites_100,"),
    );
}

#[test]
fn the_package_chart_of_an_organization_without_tokens_is_not_found_and_bad_names_are_refused() {
    let (_serial, world) = world("studio");
    let mut csv = Vec::new();
    let error = world
        .crm
        .export_chart(
            &world.manager,
            Chart::PackagePopularity,
            Language::EN,
            &mut csv,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(csv.is_empty());
    assert_eq!(Chart::parse("revenue").unwrap(), Chart::RevenueTrend);
    let error = Chart::parse("pie").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("\"pie\""), "{error}");
}

#[test]
fn only_staff_with_view_analytics_read_the_dashboard() {
    let (_serial, world) = world("studio");
    let customer = world.customer(401, "Curious");
    for actor in [&world.worker, &world.master, &customer] {
        let error = world.crm.analytics(actor).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{actor:?}");
    }
    for actor in [&world.admin, &world.manager, &world.system] {
        world.crm.analytics(actor).unwrap();
    }
}

#[test]
fn merging_a_customer_away_takes_them_out_of_the_growth_and_a_price_change_moves_revenue() {
    let (_serial, world) = world("studio");
    let keep = world.customer(501, "Kept");
    world
        .crm
        .create_customer(
            &world.admin,
            crm_lib::customers::NewCustomer {
                first_name: "Twin".into(),
                phone: "+15550000009".into(),
                ..crm_lib::customers::NewCustomer::default()
            },
        )
        .unwrap();
    assert_eq!(dashboard(&world).customers, 2);
    let twin = world
        .crm
        .system()
        .all_customers(world.org.id)
        .unwrap()
        .into_iter()
        .find(|customer| customer.first_name == "Twin")
        .unwrap();
    world
        .crm
        .merge_customers(&world.admin, World::customer_id(&keep), twin.id)
        .unwrap();
    assert_eq!(dashboard(&world).customers, 1);
    // An order with a budget of 1000 counts 1000 until a bid of 900 is accepted.
    let order = world
        .crm
        .create_order(
            &keep,
            NewOrder {
                title: "Shop".into(),
                description: "A shop".into(),
                budget: Some(money("1000")),
                ..NewOrder::default()
            },
        )
        .unwrap();
    assert_eq!(dashboard(&world).revenue, money("1000").minor());
    world.crm.approve_order(&world.manager, order.id).unwrap();
    let bid = world
        .crm
        .place_bid(&world.worker, order.id, money("900"), "a week")
        .unwrap();
    world
        .crm
        .assign_order(
            &world.manager,
            order.id,
            crm_lib::orders::AssignTo::Bid(bid.id),
        )
        .unwrap();
    assert_eq!(dashboard(&world).revenue, money("900").minor());
    verify_clean(&world);
}
