//! The token service (issue 13): packages from the template, the ledger and its invariant,
//! orders charged and refunded once, the queue with priority and manual moves, reruns,
//! subscriptions and their notices.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::model::{
    Actor, Event, LedgerKind, Localized, OutboxPayload, Recipient, Timestamp, TokenSettings,
};
use crm_lib::tokens::{PackageInput, TokenOrderRequest};
use crm_lib::{Crm, CrmOptions, ErrorKind, Page};

use crate::support::World;

static OFFSET: AtomicI64 = AtomicI64::new(0);
fn clock() -> Timestamp {
    Timestamp::from_millis(1_767_603_600_000 + OFFSET.load(Ordering::SeqCst))
}
const DAY: i64 = 24 * 3_600_000;

fn service() -> World {
    let world = World::with_template("service", "tokens");
    world.lift_order_limit();
    world
}

fn service_with_clock() -> World {
    let dir = tempfile::tempdir().unwrap();
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), clock).unwrap();
    let org = crm
        .system()
        .create_organization("service", "Tokens", "tokens")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    world.lift_order_limit();
    world
}

/// The id of the template's package with `key`.
fn package(world: &World, key: &str) -> u64 {
    world
        .crm
        .packages(&world.admin)
        .unwrap()
        .into_iter()
        .find(|package| package.key == key)
        .unwrap()
        .id
}

fn credit(world: &World, customer: &Actor, tokens: u64) {
    world
        .crm
        .system()
        .credit_purchase(
            world.org.id,
            World::customer_id(customer),
            tokens,
            &format!("test:{tokens}"),
            "test purchase",
        )
        .unwrap();
}

fn balance(world: &World, customer: &Actor) -> i64 {
    world
        .crm
        .ledger(&world.admin, World::customer_id(customer), Page::first(1))
        .unwrap()
        .account
        .balance
}

fn order(world: &World, customer: &Actor, key: &str, email: bool) -> crm_lib::tokens::PlacedOrder {
    world
        .crm
        .place_token_order(
            customer,
            TokenOrderRequest {
                package: package(world, key),
                email_confirmation: email,
                ..TokenOrderRequest::default()
            },
        )
        .unwrap()
}

fn verify_clean(world: &World) {
    let report = world.crm.system().verify().unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

#[test]
fn the_service_template_creates_the_prd_s_price_table_and_other_templates_have_no_token_service() {
    let world = service();
    let packages = world.crm.packages(&world.admin).unwrap();
    let table: Vec<(u32, u64, u64)> = packages
        .iter()
        .map(|package| (package.units, package.price, package.subscriber_price))
        .collect();
    assert_eq!(
        table,
        [
            (100, 100, 60),
            (250, 250, 150),
            (550, 550, 350),
            (650, 650, 450),
            (850, 850, 650),
            (1000, 1000, 750),
            (1200, 1000, 750),
            (1350, 1350, 1150),
            (1500, 1550, 1250),
        ]
    );
    assert_eq!(packages[0].discount_percent(), 40);
    assert_eq!(packages[7].discount_percent(), 14);
    assert_eq!(
        packages[0].name.get(crm_lib::model::Language::RU),
        "100 сайтов"
    );
    let settings = world.crm.token_settings(&world.admin).unwrap();
    assert_eq!(settings, TokenSettings::default());
    assert_eq!(settings.email_addon_price, 50);
    assert_eq!(settings.email_addon_subscriber_price, 30);
    assert_eq!(settings.low_balance_threshold, 50);

    let studio = World::new();
    let error = studio.crm.packages(&studio.admin).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    verify_clean(&world);
}

#[test]
fn an_order_is_charged_when_placed_refused_without_balance_and_refunded_once_when_cancelled() {
    let world = service();
    let customer = world.customer(9001, "Sarah");
    let refused = world
        .crm
        .place_token_order(
            &customer,
            TokenOrderRequest {
                package: package(&world, "sites_100"),
                ..TokenOrderRequest::default()
            },
        )
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict);
    assert!(
        refused.to_string().contains("insufficient balance"),
        "{refused}"
    );
    assert!(
        world
            .crm
            .list_orders(&world.admin, &Default::default(), Page::first(10))
            .unwrap()
            .items
            .is_empty(),
        "a refused order writes nothing"
    );

    credit(&world, &customer, 300);
    let placed = order(&world, &customer, "sites_100", true);
    assert_eq!(
        placed.token_order.cost, 150,
        "100 for the package, 50 for the add-on"
    );
    assert_eq!(placed.balance, 150);
    assert_eq!(placed.position, 1);
    assert_eq!(placed.order.title, "100 sites + email confirmation");
    assert_eq!(balance(&world, &customer), 150);
    let queued = |world: &World| {
        world
            .outbox()
            .iter()
            .filter(|item| {
                matches!(
                    &item.payload,
                    OutboxPayload::Notify(Event::OrderQueued { .. })
                )
            })
            .count()
    };
    assert_eq!(
        queued(&world),
        0,
        "the bot answers a customer who ordered there"
    );
    let by_staff = world
        .crm
        .place_token_order(
            &world.manager,
            TokenOrderRequest {
                customer: Some(World::customer_id(&customer)),
                package: package(&world, "sites_100"),
                email_confirmation: false,
                profile: None,
            },
        )
        .unwrap();
    assert_eq!((by_staff.balance, by_staff.position), (50, 2));
    assert!(world.outbox().iter().any(|item| matches!(
        &item.payload,
        OutboxPayload::Notify(Event::OrderQueued {
            cost: 100,
            balance: 50,
            position: 2,
            ..
        })
    )));
    world
        .crm
        .move_order(&world.admin, by_staff.order.id, world.stage("cancelled"))
        .unwrap();

    let cancelled = world.stage("cancelled");
    world
        .crm
        .move_order(&world.admin, placed.order.id, cancelled)
        .unwrap();
    assert_eq!(
        balance(&world, &customer),
        300,
        "the cancellation refunds the cost"
    );
    let view = world
        .crm
        .token_order(&world.admin, placed.order.id)
        .unwrap()
        .unwrap();
    assert!(view.token_order.refund.is_some());
    assert_eq!(view.position, None, "a cancelled order leaves the queue");

    let page = world
        .crm
        .ledger(&customer, World::customer_id(&customer), Page::first(10))
        .unwrap();
    let kinds: Vec<(LedgerKind, i64, i64)> = page
        .entries
        .items
        .iter()
        .map(|entry| (entry.kind, entry.amount, entry.balance_after))
        .collect();
    assert_eq!(
        kinds,
        [
            (LedgerKind::Refund, 150, 300),
            (LedgerKind::Refund, 100, 150),
            (LedgerKind::Spend, -100, 50),
            (LedgerKind::Spend, -150, 150),
            (LedgerKind::Purchase, 300, 300),
        ]
    );
    verify_clean(&world);
}

#[test]
fn a_customer_deleting_a_pending_order_gets_the_tokens_back_once() {
    let world = service();
    let customer = world.customer(9002, "Dan");
    credit(&world, &customer, 100);
    let placed = order(&world, &customer, "sites_100", false);
    assert_eq!(balance(&world, &customer), 0);
    world.crm.delete_order(&customer, placed.order.id).unwrap();
    assert_eq!(balance(&world, &customer), 100);
    verify_clean(&world);
}

#[test]
fn subscribers_pay_the_subscriber_prices_and_queue_ahead_of_regular_orders() {
    let world = service();
    let regular = world.customer(9003, "Regular");
    let subscriber = world.customer(9004, "Subscriber");
    credit(&world, &regular, 1000);
    credit(&world, &subscriber, 1000);
    let first = order(&world, &regular, "sites_100", false);
    let second = order(&world, &regular, "sites_250", false);
    world
        .crm
        .grant_subscription(&world.admin, World::customer_id(&subscriber), 30)
        .unwrap();
    let quote = world
        .crm
        .quote(&subscriber, None, package(&world, "sites_100"), true)
        .unwrap();
    assert!(quote.subscriber);
    assert_eq!((quote.cost, quote.regular_cost), (90, 150));
    let priority = order(&world, &subscriber, "sites_100", true);
    assert_eq!(priority.token_order.cost, 90, "60 + the add-on's 30");
    assert!(priority.token_order.priority);
    assert_eq!(priority.order.priority, 1);
    assert_eq!(priority.position, 1, "ahead of the two regular orders");
    let queue: Vec<_> = world
        .crm
        .queue(&world.manager, 50)
        .unwrap()
        .into_iter()
        .map(|row| row.row.order.id)
        .collect();
    assert_eq!(queue, [priority.order.id, first.order.id, second.order.id]);

    // Manual reordering: the second regular order to the front, then the first to the end.
    let place = world
        .crm
        .move_in_queue(&world.manager, second.order.id, Some(priority.order.id))
        .unwrap();
    assert_eq!(place, 1);
    let place = world
        .crm
        .move_in_queue(&world.manager, first.order.id, None)
        .unwrap();
    assert_eq!(place, 3);
    let queue: Vec<_> = world
        .crm
        .queue(&world.manager, 50)
        .unwrap()
        .into_iter()
        .map(|row| row.row.order.id)
        .collect();
    assert_eq!(queue, [second.order.id, priority.order.id, first.order.id]);
    let refused = world
        .crm
        .move_in_queue(&world.worker, first.order.id, None)
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    verify_clean(&world);
}

#[test]
fn many_moves_into_the_same_gap_renumber_the_queue_and_keep_its_order() {
    let world = service();
    let customer = world.customer(9005, "Many");
    credit(&world, &customer, 10_000);
    let orders: Vec<_> = (0..4)
        .map(|_| order(&world, &customer, "sites_100", false).order.id)
        .collect();
    // Move the last order right before the second one, then the new last, again and again:
    // each move halves the same gap until the queue must be renumbered.
    let mut expected = orders.clone();
    for _ in 0..30 {
        let last = *expected.last().unwrap();
        let target = expected[1];
        world
            .crm
            .move_in_queue(&world.manager, last, Some(target))
            .unwrap();
        expected.pop();
        expected.insert(1, last);
        let queue: Vec<_> = world
            .crm
            .queue(&world.manager, 50)
            .unwrap()
            .into_iter()
            .map(|row| row.row.order.id)
            .collect();
        assert_eq!(queue, expected);
    }
    verify_clean(&world);
}

#[test]
fn a_completed_order_runs_again_as_a_linked_order_charged_again() {
    let world = service();
    let customer = world.customer(9006, "Rerun");
    credit(&world, &customer, 500);
    let placed = order(&world, &customer, "sites_250", false);
    let refused = world
        .crm
        .rerun_order(&customer, placed.order.id)
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict, "not completed yet");
    world
        .crm
        .move_order(&world.admin, placed.order.id, world.stage("processing"))
        .unwrap();
    world
        .crm
        .assign_order(
            &world.admin,
            placed.order.id,
            crm_lib::orders::AssignTo::User(World::user_id(&world.worker)),
        )
        .unwrap();
    for stage in ["assigned", "completed"] {
        world
            .crm
            .move_order(&world.admin, placed.order.id, world.stage(stage))
            .unwrap();
    }
    let view = world
        .crm
        .token_order(&customer, placed.order.id)
        .unwrap()
        .unwrap();
    assert!(view.may_rerun);
    assert_eq!(view.position, None, "a completed order left the queue");
    assert_eq!(
        balance(&world, &customer),
        250,
        "completion refunds nothing"
    );
    let rerun = world.crm.rerun_order(&customer, placed.order.id).unwrap();
    assert_eq!(rerun.token_order.rerun_of, Some(placed.order.id));
    assert_eq!(rerun.balance, 0);
    assert_eq!(rerun.position, 1);
    let again = world
        .crm
        .rerun_order(&customer, placed.order.id)
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "the balance is spent");
    verify_clean(&world);
}

#[test]
fn adjustments_need_manage_billing_and_a_reason_and_never_take_the_balance_below_zero() {
    let world = service();
    let customer = world.customer(9007, "Adjusted");
    let id = World::customer_id(&customer);
    let error = world
        .crm
        .adjust_tokens(&world.worker, id, 10, "gift")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world
        .crm
        .adjust_tokens(&world.admin, id, 10, "  ")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.field(), Some("reason"));
    let error = world
        .crm
        .adjust_tokens(&world.admin, id, 0, "zero")
        .unwrap_err();
    assert_eq!(error.field(), Some("amount"));
    let error = world
        .crm
        .adjust_tokens(&world.admin, id, -1, "too much")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    let entry = world
        .crm
        .adjust_tokens(&world.admin, id, 40, "compensation for a delay")
        .unwrap();
    assert_eq!(
        (entry.kind, entry.balance_after),
        (LedgerKind::Adjustment, 40)
    );
    let bonus = world
        .crm
        .grant_bonus(&world.manager, id, 25, "welcome")
        .unwrap();
    assert_eq!(bonus.balance_after, 65);
    let down = world
        .crm
        .adjust_tokens(&world.admin, id, -65, "charged back")
        .unwrap();
    assert_eq!(down.balance_after, 0);
    let stranger = world.customer(9077, "Stranger");
    let error = world
        .crm
        .ledger(&stranger, id, Page::first(10))
        .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::NotFound,
        "another customer's ledger"
    );
    verify_clean(&world);
}

#[test]
fn the_low_balance_alert_is_sent_once_per_fall_below_the_threshold() {
    let world = service();
    let customer = world.customer(9008, "Low");
    credit(&world, &customer, 300);
    let alerts = |world: &World| {
        world
            .outbox()
            .iter()
            .filter(|item| {
                matches!(
                    item.payload,
                    OutboxPayload::Notify(Event::LowBalance { .. })
                )
            })
            .count()
    };
    order(&world, &customer, "sites_250", false); // 50 left: not below 50
    assert_eq!(alerts(&world), 0);
    world
        .crm
        .adjust_tokens(&world.admin, World::customer_id(&customer), -10, "fee")
        .unwrap(); // 40
    assert_eq!(alerts(&world), 1);
    world
        .crm
        .adjust_tokens(&world.admin, World::customer_id(&customer), -10, "fee")
        .unwrap(); // 30: still below, no second alert
    assert_eq!(alerts(&world), 1);
    credit(&world, &customer, 100); // 130: armed again
    world
        .crm
        .adjust_tokens(&world.admin, World::customer_id(&customer), -100, "fee")
        .unwrap(); // 30
    assert_eq!(alerts(&world), 2);
}

#[test]
fn a_bought_subscription_is_reminded_three_days_before_its_end_and_told_once_when_it_ends() {
    OFFSET.store(0, Ordering::SeqCst);
    let world = service_with_clock();
    let customer = world.customer(9009, "Premium");
    credit(&world, &customer, 600);
    let account = world.crm.buy_subscription(&customer).unwrap();
    assert_eq!(account.balance, 100);
    assert_eq!(
        account.premium_until,
        Some(clock().plus_millis(30 * DAY)),
        "30 days from now"
    );
    let error = world.crm.buy_subscription(&customer).unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::Conflict,
        "100 tokens do not pay 500"
    );

    let notices = |world: &World| -> Vec<String> {
        world
            .outbox()
            .iter()
            .filter(|item| item.recipient == Recipient::Customer(World::customer_id(&customer)))
            .filter_map(|item| match &item.payload {
                OutboxPayload::Notify(Event::SubscriptionExpiring { .. }) => {
                    Some("expiring".into())
                }
                OutboxPayload::Notify(Event::SubscriptionExpired) => Some("expired".into()),
                _ => None,
            })
            .collect()
    };
    let run = |world: &World| {
        world
            .crm
            .run_job(&world.admin, "subscription_notices")
            .unwrap();
    };
    OFFSET.store(20 * DAY, Ordering::SeqCst);
    run(&world);
    assert!(notices(&world).is_empty(), "ten days left");
    OFFSET.store(27 * DAY + 3_600_000, Ordering::SeqCst);
    run(&world);
    run(&world);
    assert_eq!(notices(&world), ["expiring"], "reminded once");
    OFFSET.store(31 * DAY, Ordering::SeqCst);
    run(&world);
    run(&world);
    assert_eq!(notices(&world), ["expiring", "expired"]);
    let quote = world
        .crm
        .quote(&customer, None, package(&world, "sites_100"), false)
        .unwrap();
    assert!(!quote.subscriber, "ended: regular prices");
    verify_clean(&world);
}

#[test]
fn packages_and_settings_are_edited_with_manage_settings_and_checked() {
    let world = service();
    let mut input = PackageInput {
        key: "sites_2000".into(),
        name: Localized::new("2000 sites"),
        units: 2000,
        price: 2000,
        subscriber_price: 1500,
        active: true,
        position: 20,
    };
    let error = world
        .crm
        .save_package(&world.manager, None, input.clone())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    input.subscriber_price = 2500;
    let error = world
        .crm
        .save_package(&world.admin, None, input.clone())
        .unwrap_err();
    assert_eq!(error.field(), Some("subscriber_price"));
    input.subscriber_price = 1500;
    input.key = "sites_100".into();
    let error = world
        .crm
        .save_package(&world.admin, None, input.clone())
        .unwrap_err();
    assert_eq!(error.field(), Some("key"));
    input.key = "sites_2000".into();
    let created = world
        .crm
        .save_package(&world.admin, None, input.clone())
        .unwrap();
    assert_eq!(created.discount_percent(), 25);
    input.active = false;
    world
        .crm
        .save_package(&world.admin, Some(created.id), input)
        .unwrap();
    let customer = world.customer(9010, "Buyer");
    assert!(
        world
            .crm
            .packages(&customer)
            .unwrap()
            .iter()
            .all(|package| package.id != created.id),
        "customers are offered active packages only"
    );
    let mut settings = TokenSettings {
        reminder_days: 30,
        ..TokenSettings::default()
    };
    let error = world
        .crm
        .update_token_settings(&world.admin, settings.clone())
        .unwrap_err();
    assert_eq!(error.field(), Some("reminder_days"));
    settings.reminder_days = 5;
    settings.low_balance_threshold = 100;
    world
        .crm
        .update_token_settings(&world.admin, settings.clone())
        .unwrap();
    assert_eq!(world.crm.token_settings(&customer).unwrap(), settings);
    verify_clean(&world);
}

/// One step a writer takes in the ledger property test.
#[derive(Debug, Clone)]
enum Op {
    /// A purchase of this many tokens.
    Purchase(u16),
    /// An order of the package with this index (of the template's nine), with the add-on.
    Place(u8, bool),
    /// Cancels the writer's order with this index among those it placed (modulo).
    Cancel(u8),
    /// Deletes it (the customer; only while pending).
    Delete(u8),
    /// Staff adjust by this many tokens, up or down.
    Adjust(i16),
    /// A second cancellation of an order already cancelled.
    CancelAgain(u8),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (1u16..2000).prop_map(Op::Purchase),
        (0u8..9, any::<bool>()).prop_map(|(package, email)| Op::Place(package, email)),
        any::<u8>().prop_map(Op::Cancel),
        any::<u8>().prop_map(Op::Delete),
        (-500i16..500).prop_map(Op::Adjust),
        any::<u8>().prop_map(Op::CancelAgain),
    ]
}

/// Runs `ops` as `customer`, with staff `staff`; returns what the writer expects its balance
/// to be from the calls that succeeded, and the orders it cancelled or deleted.
fn run_writer(world: &World, customer: &Actor, ops: &[Op], packages: &[u64]) -> i64 {
    let id = World::customer_id(customer);
    let cancelled = world.stage("cancelled");
    let mut expected = 0i64;
    let mut placed: Vec<(crm_lib::model::OrderId, i64, bool)> = Vec::new();
    for op in ops {
        match op {
            Op::Purchase(tokens) => {
                world
                    .crm
                    .system()
                    .credit_purchase(world.org.id, id, u64::from(*tokens), "prop", "prop")
                    .unwrap();
                expected += i64::from(*tokens);
            }
            Op::Place(package, email) => {
                let request = TokenOrderRequest {
                    package: packages[usize::from(*package) % packages.len()],
                    email_confirmation: *email,
                    ..TokenOrderRequest::default()
                };
                match world.crm.place_token_order(customer, request) {
                    Ok(order) => {
                        let cost = i64::try_from(order.token_order.cost).unwrap();
                        assert_eq!(order.balance, expected - cost);
                        expected -= cost;
                        placed.push((order.order.id, cost, false));
                    }
                    Err(error) => {
                        assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
                    }
                }
            }
            Op::Cancel(index) | Op::CancelAgain(index) | Op::Delete(index) => {
                if placed.is_empty() {
                    continue;
                }
                let slot = usize::from(*index) % placed.len();
                let (order, cost, done) = placed[slot];
                let result = match op {
                    Op::Delete(_) => world.crm.delete_order(customer, order).map(|_| ()),
                    _ => world
                        .crm
                        .move_order(&world.admin, order, cancelled)
                        .map(|_| ()),
                };
                match (result, done) {
                    (Ok(()), false) => {
                        expected += cost;
                        placed[slot].2 = true;
                    }
                    // Cancelling a cancelled order again is no move; deleting a cancelled
                    // or deleted one is refused: neither refunds twice.
                    (Ok(()), true) => {}
                    (Err(error), _) => assert!(
                        matches!(error.kind(), ErrorKind::NotFound | ErrorKind::Conflict),
                        "{error}"
                    ),
                }
                if matches!(op, Op::Delete(_)) && !placed.is_empty() {
                    // A deleted order is gone: forget it so that it is not cancelled later.
                    if world.crm.token_order(&world.admin, order).is_err() {
                        placed.remove(slot);
                    }
                }
            }
            Op::Adjust(amount) => {
                if *amount == 0 {
                    continue;
                }
                match world
                    .crm
                    .adjust_tokens(&world.admin, id, i64::from(*amount), "property test")
                {
                    Ok(entry) => {
                        expected += i64::from(*amount);
                        assert_eq!(entry.balance_after, expected);
                    }
                    Err(error) => {
                        assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
                        assert!(expected + i64::from(*amount) < 0);
                    }
                }
            }
        }
    }
    expected
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..proptest::prelude::ProptestConfig::default() })]

    /// Random purchases, orders, cancellations (also repeated), deletions and adjustments by
    /// three concurrent writers, each a customer of its own: every balance equals the sum of
    /// its entries, each entry's balance-after is the running sum, nothing goes below zero,
    /// every cancelled or deleted order is refunded exactly once, and verify is clean.
    #[test]
    fn the_ledger_invariant_holds_under_random_operations_by_concurrent_writers(
        writers in proptest::collection::vec(proptest::collection::vec(op(), 1..30), 3..=3)
    ) {
        let world = service();
        let packages: Vec<u64> = world.crm.packages(&world.admin).unwrap().iter().map(|p| p.id).collect();
        let customers: Vec<Actor> = (0..writers.len())
            .map(|index| world.customer(7000 + index as i64, "Writer"))
            .collect();
        let expected: Vec<i64> = std::thread::scope(|scope| {
            let handles: Vec<_> = writers
                .iter()
                .zip(&customers)
                .map(|(ops, customer)| {
                    let (world, packages) = (&world, &packages);
                    scope.spawn(move || run_writer(world, customer, ops, packages))
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        for (customer, expected) in customers.iter().zip(expected) {
            let mut entries = Vec::new();
            let mut page = Page::first(Page::MAX);
            loop {
                let read = world.crm.ledger(&world.admin, World::customer_id(customer), page).unwrap();
                proptest::prop_assert_eq!(read.account.balance, expected);
                entries.extend(read.entries.items);
                match read.entries.next {
                    Some(next) => page = Page { after: Some(next), limit: Page::MAX },
                    None => break,
                }
            }
            entries.reverse();
            let mut running = 0;
            let mut refunds = std::collections::HashMap::new();
            for entry in &entries {
                running += entry.amount;
                proptest::prop_assert_eq!(entry.balance_after, running);
                proptest::prop_assert!(running >= 0);
                if entry.kind == LedgerKind::Refund {
                    *refunds.entry(entry.order).or_insert(0) += 1;
                }
            }
            proptest::prop_assert_eq!(running, expected);
            proptest::prop_assert!(refunds.values().all(|count| *count == 1), "{:?}", refunds);
        }
        let report = world.crm.system().verify().unwrap();
        proptest::prop_assert!(report.problems.is_empty(), "{:#?}", report.problems);
    }
}

#[test]
fn the_service_demo_fills_ledgers_with_paid_invoices_premium_a_priority_queue_and_refunds() {
    let world = World::with_template("service", "demo");
    world.crm.system().load_demo(world.org.id).unwrap();
    let queue = world.crm.queue(&world.admin, 500).unwrap();
    assert!(!queue.is_empty());
    assert!(
        queue.iter().any(|row| row.token_order.priority),
        "Premium orders queue first"
    );
    assert!(queue[0].token_order.priority);
    let orders = world.crm.system().all_orders(world.org.id).unwrap();
    let mut purchases = 0;
    let mut refunds = 0;
    let mut customers: Vec<_> = orders.iter().map(|order| order.customer).collect();
    customers.sort();
    customers.dedup();
    for customer in customers {
        let page = world
            .crm
            .ledger(&world.admin, customer, Page::first(500))
            .unwrap();
        for entry in &page.entries.items {
            match entry.kind {
                LedgerKind::Purchase => {
                    purchases += 1;
                    assert!(
                        entry
                            .payment
                            .as_deref()
                            .unwrap()
                            .starts_with("oxapay:DEMO-")
                    );
                }
                LedgerKind::Refund => refunds += 1,
                _ => {}
            }
        }
    }
    let cancelled = world.stage("cancelled");
    assert_eq!(
        refunds,
        orders
            .iter()
            .filter(|order| order.stage == cancelled)
            .count(),
        "every cancelled order was refunded once"
    );
    assert!(purchases > 10, "{purchases}");
    // Two finished broadcasts (English and Russian speakers; one English speaker had blocked
    // the bot) and a draft.
    let broadcasts = world.crm.broadcasts(&world.admin).unwrap();
    let states: Vec<_> = broadcasts.iter().map(|view| view.broadcast.state).collect();
    use crm_lib::model::BroadcastState::{Draft, Finished};
    assert_eq!(states, [Draft, Finished, Finished]);
    let english = &broadcasts[2].broadcast;
    assert_eq!(english.counts.blocked, 1);
    assert_eq!(english.counts.sent + 1, english.counts.recipients);
    let russian = &broadcasts[1].broadcast;
    assert!(russian.counts.sent > 10, "{:?}", russian.counts);
    assert_eq!(
        english.counts.recipients + russian.counts.recipients,
        60,
        "every demo customer speaks one of the two"
    );
    verify_clean(&world);
}

#[test]
fn a_customer_with_a_ledger_is_not_absorbed_by_a_merge_but_may_absorb_one_without() {
    let world = service();
    let with_ledger = world.customer(9101, "Ledger");
    credit(&world, &with_ledger, 100);
    let without = world
        .crm
        .create_customer(
            &world.admin,
            crm_lib::customers::NewCustomer {
                first_name: "Phone".into(),
                phone: "+15550000001".into(),
                ..crm_lib::customers::NewCustomer::default()
            },
        )
        .unwrap();
    let refused = world
        .crm
        .merge_customers(&world.admin, without.id, World::customer_id(&with_ledger))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict);
    assert!(refused.to_string().contains("token account"), "{refused}");
    world
        .crm
        .merge_customers(&world.admin, World::customer_id(&with_ledger), without.id)
        .unwrap();
    assert_eq!(balance(&world, &with_ledger), 100);
    verify_clean(&world);
}

#[test]
fn an_order_is_for_one_of_the_customer_s_own_profiles_and_no_one_else_s() {
    let world = service();
    let customer = world.customer(9201, "Buyer");
    let other = world.customer(9202, "Other");
    credit(&world, &customer, 500);
    let answers = |first: &str| -> std::collections::BTreeMap<String, String> {
        [
            ("first_name", first),
            ("last_name", "Smith"),
            ("phone", "+1 212 555 0100"),
            ("email", "mary@example.com"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
    };
    let mine = world
        .crm
        .create_profile(
            &world.manager,
            World::customer_id(&customer),
            answers("Mary"),
        )
        .unwrap();
    let theirs = world
        .crm
        .create_profile(&world.manager, World::customer_id(&other), answers("Ann"))
        .unwrap();
    let request = |profile: u64| TokenOrderRequest {
        package: package(&world, "sites_100"),
        profile: Some(profile),
        ..TokenOrderRequest::default()
    };
    let refused = world
        .crm
        .place_token_order(&customer, request(theirs.id.get()))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NotFound);
    assert_eq!(balance(&world, &customer), 500, "a refusal charges nothing");
    let placed = world
        .crm
        .place_token_order(&customer, request(mine.id.get()))
        .unwrap();
    assert_eq!(placed.token_order.profile, Some(mine.id.get()));
    world
        .crm
        .archive_profile(&world.manager, mine.id, true)
        .unwrap();
    let archived = world
        .crm
        .place_token_order(&customer, request(mine.id.get()))
        .unwrap_err();
    assert_eq!(
        archived.kind(),
        ErrorKind::NotFound,
        "archived profiles are not offered"
    );
    verify_clean(&world);
}
