//! Satisfaction surveys: one per finished order, rated once, attributed to the operator,
//! counted per local day of the organization.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::model::{
    Actor, CsatSettings, Date, Event, Language, Localized, Order, OutboxPayload, Recipient,
    Timestamp,
};
use crm_lib::orders::{AssignTo, NewOrder};
use crm_lib::org::SettingsUpdate;
use crm_lib::{Crm, CrmOptions, ErrorKind};

use crate::support::World;

/// A store clock at a static offset from 2026-01-05 09:00 UTC.
static OFFSET: AtomicI64 = AtomicI64::new(0);
fn clock() -> Timestamp {
    Timestamp::from_millis(1_767_603_600_000 + OFFSET.load(Ordering::SeqCst))
}

const HOUR: i64 = 3_600_000;

fn helpdesk(clock: Option<fn() -> Timestamp>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.redb");
    let crm = match clock {
        Some(clock) => Crm::open_with_clock(path, CrmOptions::default(), clock).unwrap(),
        None => Crm::open(path).unwrap(),
    };
    let org = crm
        .system()
        .create_organization("helpdesk", "Acme Help", "help")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    world.lift_order_limit();
    world
}

/// A ticket of `customer`, assigned to the master.
fn ticket(world: &World, customer: &Actor) -> Order {
    let fields = world.crm.ticket_fields(&world.system).unwrap();
    let order = world
        .crm
        .create_order(
            customer,
            NewOrder {
                title: "Broken screen".into(),
                description: "It went dark".into(),
                custom_fields: fields
                    .parse_answers([("device", "Phone"), ("fault", "dark")])
                    .unwrap(),
                ..NewOrder::default()
            },
        )
        .unwrap();
    world
        .crm
        .assign_order(
            &world.manager,
            order.id,
            AssignTo::User(World::user_id(&world.worker)),
        )
        .unwrap()
}

fn walk(world: &World, order: &Order, stages: &[&str]) {
    for stage in stages {
        world
            .crm
            .move_order(&world.manager, order.id, world.stage(stage))
            .unwrap();
    }
}

/// The surveys queued so far: (customer recipient, order, title).
fn surveys(world: &World) -> Vec<(Recipient, u64)> {
    world
        .outbox()
        .into_iter()
        .filter_map(|item| match item.payload {
            OutboxPayload::Notify(Event::CsatSurvey { order, .. }) => {
                Some((item.recipient, order.get()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_resolved_ticket_gets_one_survey_however_often_it_is_resolved_or_closed() {
    let world = helpdesk(None);
    let customer = world.customer(501, "Oleg");
    let order = ticket(&world, &customer);
    walk(&world, &order, &["in_work", "waiting"]);
    assert!(surveys(&world).is_empty());
    walk(&world, &order, &["resolved"]);
    let sent = surveys(&world);
    assert_eq!(
        sent,
        vec![(
            Recipient::Customer(World::customer_id(&customer)),
            order.id.get()
        )]
    );
    walk(
        &world,
        &order,
        &["in_work", "waiting", "resolved", "closed"],
    );
    assert_eq!(surveys(&world), sent);
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_rating_is_recorded_once_for_the_operator_and_a_comment_once_after_it() {
    let world = helpdesk(None);
    let customer = world.customer(502, "Oleg");
    let stranger = world.customer(503, "Stranger");
    let order = ticket(&world, &customer);
    // No survey yet: nothing to rate.
    assert_eq!(
        world
            .crm
            .rate_order(&customer, order.id, 4)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    walk(&world, &order, &["in_work", "waiting", "resolved"]);
    for (rating, kind) in [(0, ErrorKind::InvalidInput), (6, ErrorKind::InvalidInput)] {
        assert_eq!(
            world
                .crm
                .rate_order(&customer, order.id, rating)
                .unwrap_err()
                .kind(),
            kind
        );
    }
    assert_eq!(
        world
            .crm
            .rate_order(&stranger, order.id, 5)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        world
            .crm
            .rate_order(&world.manager, order.id, 5)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .comment_rating(&customer, order.id, "early")
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    let rated = world.crm.rate_order(&customer, order.id, 4).unwrap();
    assert_eq!(rated.rating, Some(4));
    assert_eq!(rated.operator, Some(World::user_id(&world.worker)));
    // A second press changes nothing.
    assert_eq!(
        world
            .crm
            .rate_order(&customer, order.id, 1)
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    let long = "x".repeat(1001);
    assert_eq!(
        world
            .crm
            .comment_rating(&customer, order.id, &long)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let commented = world
        .crm
        .comment_rating(&customer, order.id, &"x".repeat(1000))
        .unwrap();
    assert_eq!(commented.rating, Some(4));
    assert_eq!(
        world
            .crm
            .comment_rating(&customer, order.id, "again")
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    let stats = world.crm.csat_stats(&world.admin, None, None).unwrap();
    assert_eq!(stats.total.count, 1);
    assert_eq!(stats.total.distribution, [0, 0, 0, 1, 0]);
    assert_eq!(stats.operators.len(), 1);
    assert_eq!(stats.operators[0].user, Some(World::user_id(&world.worker)));
    assert_eq!(stats.operators[0].figures.average_text(), "4.00");
    assert_eq!(stats.recent.len(), 1);
    // Statistics need view_analytics.
    assert_eq!(
        world
            .crm
            .csat_stats(&world.worker, None, None)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn surveys_off_send_nothing_and_the_question_is_kept_per_language() {
    let world = helpdesk(None);
    let question = Localized::default()
        .with(Language::EN, "How did we do?")
        .with(Language::RU, "Как мы справились?");
    assert_eq!(
        world
            .crm
            .update_csat_settings(
                &world.worker,
                CsatSettings {
                    enabled: false,
                    question: question.clone(),
                },
            )
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .update_csat_settings(
                &world.admin,
                CsatSettings {
                    enabled: true,
                    question: Localized::new("?".repeat(301)),
                },
            )
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    world
        .crm
        .update_csat_settings(
            &world.admin,
            CsatSettings {
                enabled: false,
                question: question.clone(),
            },
        )
        .unwrap();
    let customer = world.customer(504, "Oleg");
    let first = ticket(&world, &customer);
    walk(&world, &first, &["in_work", "waiting", "resolved"]);
    assert!(surveys(&world).is_empty());
    world
        .crm
        .update_csat_settings(
            &world.admin,
            CsatSettings {
                enabled: true,
                question: question.clone(),
            },
        )
        .unwrap();
    let second = ticket(&world, &customer);
    walk(&world, &second, &["in_work", "waiting", "resolved"]);
    let asked: Vec<Localized> = world
        .outbox()
        .into_iter()
        .filter_map(|item| match item.payload {
            OutboxPayload::Notify(Event::CsatSurvey { question, .. }) => Some(question),
            _ => None,
        })
        .collect();
    assert_eq!(asked, vec![question]);
    assert!(world.crm.csat_settings(&world.admin).unwrap().enabled);
}

#[test]
fn ratings_count_on_the_organization_s_local_day() {
    let world = helpdesk(Some(clock));
    let customer = world.customer(505, "Oleg");
    let early = ticket(&world, &customer);
    let late = ticket(&world, &customer);
    walk(&world, &early, &["in_work", "waiting", "resolved"]);
    walk(&world, &late, &["in_work", "waiting", "resolved"]);
    // 09:00 UTC and 23:30 UTC on 2026-01-05: the same day in UTC, two in Vladivostok.
    world.crm.rate_order(&customer, early.id, 5).unwrap();
    OFFSET.store(14 * HOUR + HOUR / 2, Ordering::SeqCst);
    world.crm.rate_order(&customer, late.id, 2).unwrap();
    let zone = |name: &str| {
        world
            .crm
            .update_settings(
                &world.admin,
                SettingsUpdate {
                    time_zone: Some(name.into()),
                    ..SettingsUpdate::default()
                },
            )
            .unwrap();
    };
    let day = Date::parse("day", "2026-01-05").unwrap();
    let next = Date::parse("day", "2026-01-06").unwrap();
    let days = |from: Date, to: Date| {
        world
            .crm
            .csat_stats(&world.admin, Some(from), Some(to))
            .unwrap()
            .days
            .into_iter()
            .map(|(day, figures)| (day.to_string(), figures.count, figures.average_text()))
            .collect::<Vec<_>>()
    };
    zone("UTC");
    assert_eq!(
        days(day, next),
        vec![("2026-01-05".into(), 2, "3.50".into())]
    );
    zone("Asia/Vladivostok");
    assert_eq!(
        days(day, next),
        vec![
            ("2026-01-05".into(), 1, "5.00".into()),
            ("2026-01-06".into(), 1, "2.00".into())
        ]
    );
    assert_eq!(
        days(next, next),
        vec![("2026-01-06".into(), 1, "2.00".into())]
    );
    // The range's limit: 366 days pass, 367 do not; a reversed range is refused.
    let far = |before: i64| Date::of(next.start().minus_days(before));
    assert!(
        world
            .crm
            .csat_stats(&world.admin, Some(far(365)), Some(next))
            .is_ok()
    );
    assert_eq!(
        world
            .crm
            .csat_stats(&world.admin, Some(far(366)), Some(next))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        world
            .crm
            .csat_stats(&world.admin, Some(next), Some(day))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
}
