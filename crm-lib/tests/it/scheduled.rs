//! Scheduled messages: written now, sent once by the minute job when their moment comes (as
//! their author, through the rules of sending), cancelled while waiting, failed with the
//! reason when the customer cannot be written to, moved by a contact merge.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::model::{Direction, OutboxPayload, Recipient, ScheduledState, Timestamp};
use crm_lib::scheduled::NewScheduled;
use crm_lib::{Crm, CrmOptions, ErrorKind, Page};

use crate::support::World;

/// Each test's clock: a static offset from 2026-01-05 09:00 UTC (tests run in parallel).
static OFFSET: AtomicI64 = AtomicI64::new(0);
static BLOCKED_OFFSET: AtomicI64 = AtomicI64::new(0);
const START: i64 = 1_767_603_600_000;
fn clock() -> Timestamp {
    Timestamp::from_millis(START + OFFSET.load(Ordering::SeqCst))
}
fn blocked_clock() -> Timestamp {
    Timestamp::from_millis(START + BLOCKED_OFFSET.load(Ordering::SeqCst))
}
fn still() -> Timestamp {
    Timestamp::from_millis(START)
}
const MINUTE: i64 = 60_000;

fn studio(clock: fn() -> Timestamp) -> World {
    let dir = tempfile::tempdir().unwrap();
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), clock).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Acme", "acme")
        .unwrap();
    World::in_org(dir, crm, org)
}

fn run(world: &World) {
    world
        .crm
        .run_job(&world.admin, "scheduled_messages")
        .unwrap();
}

fn sent_texts(world: &World, customer: crm_lib::model::CustomerId) -> Vec<String> {
    world
        .crm
        .messages_of_customer(&world.admin, customer, Page::first(50))
        .unwrap()
        .items
        .into_iter()
        .filter(|message| message.direction == Direction::Outbound)
        .map(|message| message.text)
        .collect()
}

#[test]
fn a_scheduled_message_is_sent_once_when_its_moment_comes_and_a_cancelled_one_never() {
    let world = studio(clock);
    let customer = world.customer(9501, "Anna");
    let id = World::customer_id(&customer);
    let later = clock().plus_millis(30 * MINUTE);
    let first = world
        .crm
        .schedule_message(
            &world.manager,
            NewScheduled {
                customer: id,
                text: "Your order is ready for pick-up".into(),
                send_at: later,
            },
        )
        .unwrap();
    let second = world
        .crm
        .schedule_message(
            &world.manager,
            NewScheduled {
                customer: id,
                text: "Never mind".into(),
                send_at: later,
            },
        )
        .unwrap();
    world.crm.cancel_scheduled(&world.admin, second.id).unwrap();
    let again = world
        .crm
        .cancel_scheduled(&world.admin, second.id)
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);

    run(&world);
    assert!(sent_texts(&world, id).is_empty(), "not yet");
    OFFSET.store(31 * MINUTE, Ordering::SeqCst);
    run(&world);
    run(&world);
    assert_eq!(sent_texts(&world, id), ["Your order is ready for pick-up"]);
    let list = world.crm.scheduled(&world.manager, id).unwrap();
    assert!(matches!(
        list.iter()
            .find(|message| message.id == first.id)
            .unwrap()
            .state,
        ScheduledState::Sent { .. }
    ));
    assert!(matches!(
        list.iter()
            .find(|message| message.id == second.id)
            .unwrap()
            .state,
        ScheduledState::Cancelled { .. }
    ));
    let queued = world
        .outbox()
        .iter()
        .filter(|item| {
            item.recipient == Recipient::Customer(id)
                && matches!(item.payload, OutboxPayload::ChatMessage(_))
        })
        .count();
    assert_eq!(queued, 1, "sent to Telegram once");
    let report = world.crm.system().verify().unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

#[test]
fn scheduling_checks_the_writer_the_text_and_the_moment_and_writes_nothing_when_refused() {
    let world = studio(still);
    let customer = world.customer(9502, "Boris");
    let id = World::customer_id(&customer);
    let request = |text: &str, at: i64| NewScheduled {
        customer: id,
        text: text.into(),
        send_at: still().plus_millis(at),
    };
    let error = world
        .crm
        .schedule_message(&world.worker, request("hi", 10 * MINUTE))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world
        .crm
        .schedule_message(&world.manager, request("  ", 10 * MINUTE))
        .unwrap_err();
    assert_eq!(error.field(), Some("text"));
    let error = world
        .crm
        .schedule_message(&world.manager, request("hi", 10_000))
        .unwrap_err();
    assert_eq!(error.field(), Some("send_at"));
    let error = world
        .crm
        .schedule_message(&world.manager, request("hi", 400 * 24 * 60 * MINUTE))
        .unwrap_err();
    assert_eq!(error.field(), Some("send_at"));
    let error = world
        .crm
        .schedule_message(&customer, request("hi", 10 * MINUTE))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(world.crm.scheduled(&world.manager, id).unwrap().is_empty());
}

#[test]
fn a_message_to_a_customer_who_blocked_the_bot_fails_with_the_reason_and_sends_nothing() {
    let world = studio(blocked_clock);
    let customer = world.customer(9503, "Vera");
    let id = World::customer_id(&customer);
    let scheduled = world
        .crm
        .schedule_message(
            &world.manager,
            NewScheduled {
                customer: id,
                text: "Hello again".into(),
                send_at: blocked_clock().plus_millis(5 * MINUTE),
            },
        )
        .unwrap();
    let org = world.org.id;
    world
        .crm
        .write(move |tx| tx.system().set_customer_reachable(org, id, false))
        .unwrap();
    BLOCKED_OFFSET.store(6 * MINUTE, Ordering::SeqCst);
    run(&world);
    let list = world.crm.scheduled(&world.manager, id).unwrap();
    let ScheduledState::Failed { reason } = &list[0].state else {
        panic!("{list:?}");
    };
    assert_eq!(list[0].id, scheduled.id);
    assert!(!reason.is_empty());
    assert!(sent_texts(&world, id).is_empty());
}
