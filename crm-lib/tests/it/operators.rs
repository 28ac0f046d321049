//! The operators module (SPEC 5B): departments, operator status, the queue's routing rule
//! through every path, conversations and tickets, the sweep's idle and answer-timeout rules
//! with a store clock the test moves, and operator statistics.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::{
    Crm, CrmOptions, ErrorKind,
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    model::{
        Actor, CustomerId, Date, DepartmentId, Event, OperatorSettings, OperatorStatus,
        OutboxPayload, QueueItem, QueueState, QueueSubject, Recipient, TelegramUserId, Timestamp,
        UserId,
    },
    operators::SessionActivity,
    orders::NewOrder,
};
use proptest::prelude::*;

use crate::support::World;

/// A store clock for one test: a static offset from a fixed start, so tests running at once
/// do not move each other's time.
macro_rules! test_clock {
    ($offset:ident, $clock:ident) => {
        static $offset: AtomicI64 = AtomicI64::new(0);
        fn $clock() -> Timestamp {
            // 2026-01-05 09:00 UTC.
            Timestamp::from_millis(1_767_603_600_000 + $offset.load(Ordering::SeqCst))
        }
    };
}

const MINUTE: i64 = 60_000;

/// A helpdesk (operators module on) whose store reads `clock`.
fn helpdesk(clock: fn() -> Timestamp) -> World {
    let dir = tempfile::tempdir().unwrap();
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), clock).unwrap();
    let org = crm
        .system()
        .create_organization("helpdesk", "Acme Help", "help")
        .unwrap();
    World::in_org(dir, crm, org)
}

/// A helpdesk on the system clock.
fn helpdesk_now() -> World {
    World::with_template("helpdesk", "help")
}

fn say(world: &World, customer: &Actor, text: &str) {
    world
        .crm
        .post_inbound(
            customer,
            InboundMessage {
                customer: World::customer_id(customer),
                about: OrderChoice::None,
                text: text.into(),
                attachments: Vec::new(),
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
}

fn reply(world: &World, staff: &Actor, customer: &Actor) {
    world
        .crm
        .post_outbound(
            staff,
            OutboundMessage {
                customer: World::customer_id(customer),
                order: None,
                text: "Hello, how can we help?".into(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
        )
        .unwrap();
}

/// The customer's conversation item (open or last closed).
fn conversation(world: &World, customer: &Actor) -> Option<QueueItem> {
    world
        .crm
        .conversation(&world.admin, World::customer_id(customer))
        .unwrap()
        .item
}

fn assignee(world: &World, customer: &Actor) -> Option<UserId> {
    conversation(world, customer).and_then(|item| item.assignee)
}

fn status(world: &World, actor: &Actor, status: OperatorStatus) {
    world
        .crm
        .set_operator_status(actor, World::user_id(actor), status)
        .unwrap();
}

/// A department "Support" with the given members.
fn department(world: &World, name: &str, members: &[&Actor]) -> DepartmentId {
    let department = world.crm.create_department(&world.admin, name).unwrap();
    for member in members {
        world
            .crm
            .add_department_member(&world.admin, department.id, World::user_id(member))
            .unwrap();
    }
    department.id
}

fn no_question(world: &World) {
    world
        .crm
        .save_operator_settings(
            &world.admin,
            OperatorSettings {
                ask_department: false,
                ..OperatorSettings::default()
            },
        )
        .unwrap();
}

#[test]
fn departments_are_created_renamed_archived_and_refused_where_the_module_is_off() {
    let world = helpdesk_now();
    let support = world
        .crm
        .create_department(&world.admin, " Support ")
        .unwrap();
    assert_eq!(support.name, "Support");
    let error = world
        .crm
        .create_department(&world.admin, "support")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    let error = world.crm.create_department(&world.admin, "").unwrap_err();
    assert_eq!(error.field(), Some("name"));
    let error = world
        .crm
        .create_department(&world.admin, &"x".repeat(65))
        .unwrap_err();
    assert_eq!(error.field(), Some("name"));
    world
        .crm
        .create_department(&world.admin, &"x".repeat(64))
        .unwrap();
    let error = world
        .crm
        .create_department(&world.worker, "Sales")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);

    let renamed = world
        .crm
        .rename_department(&world.admin, support.id, "Help desk")
        .unwrap();
    assert_eq!(renamed.name, "Help desk");
    let archived = world
        .crm
        .set_department_archived(&world.admin, support.id, true)
        .unwrap();
    assert!(archived.archived);
    let error = world
        .crm
        .add_department_member(&world.admin, support.id, World::user_id(&world.worker))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    let rows = world.crm.departments(&world.worker).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows.last().unwrap().department.archived,
        "archived ones last"
    );

    // A studio has no operators module: everything is "not found".
    let studio = World::new();
    let error = studio
        .crm
        .create_department(&studio.admin, "Support")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = studio.crm.departments(&studio.admin).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = studio
        .crm
        .set_operator_status(
            &studio.worker,
            World::user_id(&studio.worker),
            OperatorStatus::Online,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[test]
fn a_customer_message_opens_a_conversation_for_the_least_loaded_online_operator() {
    let world = helpdesk_now();
    no_question(&world);
    department(&world, "Support", &[&world.manager, &world.admin]);
    status(&world, &world.manager, OperatorStatus::Online);
    status(&world, &world.admin, OperatorStatus::Online);

    let anna = world.customer(5001, "Anna");
    say(&world, &anna, "Hello");
    let first = assignee(&world, &anna).unwrap();
    // A second message of the same customer opens nothing new.
    say(&world, &anna, "Anyone?");
    assert_eq!(world.crm.queue_items(&world.admin).unwrap().len(), 1);

    let boris = world.customer(5002, "Boris");
    say(&world, &boris, "Hi");
    let second = assignee(&world, &boris).unwrap();
    assert_ne!(first, second, "the other operator had no load");

    let operators = world.crm.operators(&world.admin).unwrap();
    assert!(operators.iter().all(|row| row.load == 1), "{operators:?}");
}

#[test]
fn ties_go_to_whoever_waited_longest_since_their_last_assignment() {
    let world = helpdesk_now();
    no_question(&world);
    department(&world, "Support", &[&world.manager, &world.admin]);
    status(&world, &world.manager, OperatorStatus::Online);
    status(&world, &world.admin, OperatorStatus::Online);
    let anna = world.customer(5011, "Anna");
    say(&world, &anna, "Hello");
    let first = assignee(&world, &anna).unwrap();
    world
        .crm
        .close_conversation(&world.admin, World::customer_id(&anna))
        .unwrap();
    // Both have no load again: the one never assigned waited longest.
    let boris = world.customer(5012, "Boris");
    say(&world, &boris, "Hi");
    assert_ne!(assignee(&world, &boris).unwrap(), first);
}

#[test]
fn with_nobody_online_a_conversation_waits_and_goes_to_the_first_operator_who_comes_online() {
    let world = helpdesk_now();
    no_question(&world);
    let support = department(&world, "Support", &[&world.manager]);
    let anna = world.customer(5021, "Anna");
    say(&world, &anna, "Hello");
    let item = conversation(&world, &anna).unwrap();
    assert_eq!(item.assignee, None);
    assert_eq!(item.department, Some(support));
    assert_eq!(world.crm.departments(&world.admin).unwrap()[0].waiting, 1);

    // Away takes nothing.
    status(&world, &world.manager, OperatorStatus::Away);
    assert_eq!(assignee(&world, &anna), None);
    status(&world, &world.manager, OperatorStatus::Online);
    assert_eq!(
        assignee(&world, &anna),
        Some(World::user_id(&world.manager))
    );
    assert_eq!(world.crm.departments(&world.admin).unwrap()[0].waiting, 0);
}

#[test]
fn an_operator_going_offline_hands_their_conversations_to_the_others_or_back_to_the_queue() {
    let world = helpdesk_now();
    no_question(&world);
    department(&world, "Support", &[&world.manager, &world.admin]);
    status(&world, &world.manager, OperatorStatus::Online);
    let anna = world.customer(5031, "Anna");
    say(&world, &anna, "Hello");
    assert_eq!(
        assignee(&world, &anna),
        Some(World::user_id(&world.manager))
    );
    status(&world, &world.admin, OperatorStatus::Online);

    status(&world, &world.manager, OperatorStatus::Offline);
    assert_eq!(assignee(&world, &anna), Some(World::user_id(&world.admin)));
    status(&world, &world.admin, OperatorStatus::Offline);
    assert_eq!(
        assignee(&world, &anna),
        None,
        "back to the department's queue"
    );
    // Every move is audited.
    let audit = world
        .crm
        .audit_log(&world.admin, &Default::default(), crm_lib::Page::first(100))
        .unwrap();
    let moves = audit
        .items
        .iter()
        .filter(|entry| entry.action.as_str() == "queue.assigned")
        .count();
    assert_eq!(moves, 3);
}

#[test]
fn a_linked_operator_is_told_once_of_a_new_conversation_and_of_one_given_to_them() {
    let world = helpdesk_now();
    no_question(&world);
    department(&world, "Support", &[&world.manager, &world.admin]);
    for (actor, telegram) in [(&world.manager, 4242), (&world.admin, 4243)] {
        let code = world.crm.create_link_code(actor).unwrap();
        world
            .crm
            .system()
            .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(telegram))
            .unwrap();
    }
    status(&world, &world.manager, OperatorStatus::Online);
    let anna = world.customer(5041, "Anna");
    say(&world, &anna, "Hello");
    let anna_id = World::customer_id(&anna);
    let told = |actor: &Actor| -> Vec<Event> {
        world
            .outbox()
            .into_iter()
            .filter(|item| item.recipient == Recipient::Staff(World::user_id(actor)))
            .filter_map(|item| match item.payload {
                // "Your account is linked" is not about the conversation.
                OutboxPayload::Notify(Event::StaffLinked { .. }) => None,
                OutboxPayload::Notify(event) => Some(event),
                _ => None,
            })
            .collect()
    };
    // The customer's message opened the conversation and gave it to the manager: one notice,
    // the message itself (answered by replying), not a second "assigned to you".
    let manager = told(&world.manager);
    assert_eq!(manager.len(), 1, "{manager:?}");
    assert!(
        matches!(&manager[0], Event::CustomerWrote { customer, text, .. } if *customer == anna_id && text == "Hello"),
        "{manager:?}"
    );
    // Given by hand to the admin: they are told it is theirs, with its department.
    status(&world, &world.admin, OperatorStatus::Online);
    world
        .crm
        .reassign_conversation(&world.manager, anna_id, Some(World::user_id(&world.admin)))
        .unwrap();
    let admin = told(&world.admin);
    assert!(
        admin.iter().any(|event| matches!(
            event,
            Event::ConversationAssigned { customer, department, .. }
                if *customer == anna_id && department.as_deref() == Some("Support")
        )),
        "{admin:?}"
    );
}

#[test]
fn a_manager_reassigns_by_hand_but_never_to_an_offline_operator() {
    let world = helpdesk_now();
    no_question(&world);
    department(&world, "Support", &[&world.manager, &world.admin]);
    status(&world, &world.manager, OperatorStatus::Online);
    let anna = world.customer(5051, "Anna");
    say(&world, &anna, "Hello");
    let anna_id = World::customer_id(&anna);
    let error = world
        .crm
        .reassign_conversation(&world.manager, anna_id, Some(World::user_id(&world.admin)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "admin is offline");
    status(&world, &world.admin, OperatorStatus::Away);
    let item = world
        .crm
        .reassign_conversation(&world.manager, anna_id, Some(World::user_id(&world.admin)))
        .unwrap();
    assert_eq!(item.assignee, Some(World::user_id(&world.admin)));
    let error = world
        .crm
        .reassign_conversation(&world.worker, anna_id, None)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    // By the rule: someone else online (the manager).
    let item = world
        .crm
        .reassign_conversation(&world.manager, anna_id, None)
        .unwrap();
    assert_eq!(item.assignee, Some(World::user_id(&world.manager)));
}

#[test]
fn closing_and_reopening_a_conversation_and_the_first_response() {
    let world = helpdesk_now();
    no_question(&world);
    department(&world, "Support", &[&world.manager]);
    status(&world, &world.manager, OperatorStatus::Online);
    let anna = world.customer(5061, "Anna");
    let anna_id = World::customer_id(&anna);
    say(&world, &anna, "Hello");
    reply(&world, &world.manager, &anna);
    let item = conversation(&world, &anna).unwrap();
    assert_eq!(item.first_reply_by, Some(World::user_id(&world.manager)));
    assert!(item.first_reply_at.is_some());
    assert_eq!(item.awaiting_reply_since, None);

    let closed = world
        .crm
        .close_conversation(&world.manager, anna_id)
        .unwrap();
    assert_eq!(closed.state, QueueState::Closed);
    assert!(closed.closed_at.is_some());
    let error = world
        .crm
        .close_conversation(&world.manager, anna_id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let reopened = world
        .crm
        .reopen_conversation(&world.manager, anna_id)
        .unwrap();
    assert_eq!(reopened.id, closed.id, "the same conversation");
    assert_eq!(reopened.state, QueueState::Open);
    assert_eq!(reopened.assignee, Some(World::user_id(&world.manager)));
    let error = world
        .crm
        .reopen_conversation(&world.manager, anna_id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);

    // A message after closing opens a new conversation.
    world
        .crm
        .close_conversation(&world.manager, anna_id)
        .unwrap();
    say(&world, &anna, "Me again");
    let newer = conversation(&world, &anna).unwrap();
    assert_ne!(newer.id, closed.id);
    assert_eq!(newer.state, QueueState::Open);
    assert!(world.crm.system().verify().unwrap().problems.is_empty());
}

#[test]
fn customers_choose_among_several_departments_before_their_conversation_opens() {
    let world = helpdesk_now();
    let support = department(&world, "Support", &[&world.manager]);
    let sales = department(&world, "Sales", &[&world.admin]);
    status(&world, &world.manager, OperatorStatus::Online);
    status(&world, &world.admin, OperatorStatus::Online);
    let anna = world.customer(5071, "Anna");
    let anna_id = World::customer_id(&anna);
    say(&world, &anna, "Hello");
    assert_eq!(conversation(&world, &anna), None, "waits for the choice");
    let choices = world.crm.department_choices(&anna, anna_id).unwrap();
    assert_eq!(
        choices,
        vec![
            (support, "Support".to_string()),
            (sales, "Sales".to_string())
        ]
    );
    let item = world.crm.choose_department(&anna, anna_id, sales).unwrap();
    assert_eq!(item.department, Some(sales));
    assert_eq!(item.assignee, Some(World::user_id(&world.admin)));
    assert!(
        world
            .crm
            .department_choices(&anna, anna_id)
            .unwrap()
            .is_empty()
    );
    // Choosing another moves it there.
    let item = world
        .crm
        .choose_department(&anna, anna_id, support)
        .unwrap();
    assert_eq!(item.assignee, Some(World::user_id(&world.manager)));
    // An archived department is not offered and cannot be chosen.
    world
        .crm
        .set_department_archived(&world.admin, sales, true)
        .unwrap();
    let error = world
        .crm
        .choose_department(&anna, anna_id, sales)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
}

#[test]
fn a_new_ticket_gets_an_assignee_by_the_same_rule_and_closes_in_a_terminal_stage() {
    let world = helpdesk_now();
    no_question(&world);
    department(&world, "Support", &[&world.manager, &world.admin]);
    status(&world, &world.manager, OperatorStatus::Online);
    status(&world, &world.admin, OperatorStatus::Online);
    // The manager already holds a conversation: the ticket goes to the admin.
    let anna = world.customer(5081, "Anna");
    say(&world, &anna, "Hello");
    let busy = assignee(&world, &anna).unwrap();
    let boris = world.customer(5082, "Boris");
    let order = world
        .crm
        .create_order(
            &boris,
            NewOrder {
                title: "Printer jams".into(),
                description: "Every page".into(),
                // The helpdesk's ticket fields (the tickets module) that must be filled in.
                custom_fields: world
                    .crm
                    .ticket_fields(&world.system)
                    .unwrap()
                    .parse_answers([("device", "Phone"), ("fault", "no sound")])
                    .unwrap(),
                ..NewOrder::default()
            },
        )
        .unwrap();
    let order = world.crm.order(&world.admin, order.id).unwrap();
    let ticket_operator = order.assignee.unwrap();
    assert_ne!(ticket_operator, busy);
    let rows = world.crm.operators(&world.admin).unwrap();
    assert!(rows.iter().all(|row| row.load == 1), "{rows:?}");

    let operator = Actor::staff(world.org.id, ticket_operator);
    for stage in ["in_work", "waiting", "resolved", "closed"] {
        world
            .crm
            .move_order(&operator, order.id, world.stage(stage))
            .unwrap();
    }
    let rows = world.crm.operators(&world.admin).unwrap();
    let row = rows.iter().find(|row| row.user == ticket_operator).unwrap();
    assert_eq!(row.load, 0, "a closed ticket is no load");
    let today = Date::of(Timestamp::now());
    let stats = world
        .crm
        .operator_stats(&world.admin, today, today)
        .unwrap();
    let row = stats
        .iter()
        .find(|row| row.user == ticket_operator)
        .unwrap();
    assert_eq!(row.total.tickets_resolved, 1);
}

test_clock!(SWEEP, sweep_clock);

#[test]
fn the_sweep_makes_idle_operators_away_ended_sessions_offline_and_reroutes_unanswered_items() {
    let world = helpdesk(sweep_clock);
    world
        .crm
        .save_operator_settings(
            &world.admin,
            OperatorSettings {
                idle_away_minutes: 15,
                answer_timeout_minutes: 10,
                default_department: None,
                ask_department: false,
            },
        )
        .unwrap();
    department(
        &world,
        "Support",
        &[&world.manager, &world.admin, &world.master],
    );
    let (manager, admin, master) = (
        World::user_id(&world.manager),
        World::user_id(&world.admin),
        World::user_id(&world.master),
    );
    status(&world, &world.manager, OperatorStatus::Online);
    let anna = world.customer(5091, "Anna");
    say(&world, &anna, "Hello");
    assert_eq!(assignee(&world, &anna), Some(manager));
    status(&world, &world.admin, OperatorStatus::Online);

    // Nine minutes unanswered: nothing yet.
    SWEEP.store(9 * MINUTE, Ordering::SeqCst);
    let now = sweep_clock();
    let seen = |user| SessionActivity {
        user,
        last_seen: Some(now),
    };
    let report = world
        .crm
        .system()
        .sweep_operators(world.org.id, &[seen(manager), seen(admin)])
        .unwrap();
    assert_eq!(report.timed_out, 0);
    assert_eq!(assignee(&world, &anna), Some(manager));

    // Ten minutes: it goes to the other online operator.
    SWEEP.store(10 * MINUTE, Ordering::SeqCst);
    let now = sweep_clock();
    let report = world
        .crm
        .system()
        .sweep_operators(
            world.org.id,
            &[
                SessionActivity {
                    user: manager,
                    last_seen: Some(now),
                },
                SessionActivity {
                    user: admin,
                    last_seen: Some(now),
                },
            ],
        )
        .unwrap();
    assert_eq!(report.timed_out, 1);
    assert_eq!(assignee(&world, &anna), Some(admin));

    // The admin's browser idles 15 minutes: away, keeping the conversation; the master works
    // from Telegram (no session) and is not touched.
    status(&world, &world.master, OperatorStatus::Online);
    reply(&world, &world.admin, &anna);
    SWEEP.store(40 * MINUTE, Ordering::SeqCst);
    let report = world
        .crm
        .system()
        .sweep_operators(
            world.org.id,
            &[
                SessionActivity {
                    user: admin,
                    last_seen: Some(Timestamp::from_millis(sweep_clock().millis() - 15 * MINUTE)),
                },
                SessionActivity {
                    user: manager,
                    last_seen: None,
                },
            ],
        )
        .unwrap();
    assert_eq!(report.away, vec![admin]);
    assert_eq!(report.offline, vec![manager]);
    let state = |user| world.crm.operator_state(&world.admin, user).unwrap().status;
    assert_eq!(state(admin), OperatorStatus::Away);
    assert_eq!(state(manager), OperatorStatus::Offline);
    assert_eq!(state(master), OperatorStatus::Online);
    assert_eq!(assignee(&world, &anna), Some(admin), "answered: no timeout");
}

test_clock!(STATS, stats_clock);

#[test]
fn statistics_give_the_median_and_90th_percentile_of_first_responses_per_operator_and_day() {
    let world = helpdesk(stats_clock);
    no_question(&world);
    department(&world, "Support", &[&world.manager]);
    status(&world, &world.manager, OperatorStatus::Online);
    // Ten conversations answered after 1, 2, ..., 10 minutes.
    for minutes in 1..=10_i64 {
        let customer = world.customer(6000 + minutes, "Customer");
        STATS.store(minutes * 100 * MINUTE, Ordering::SeqCst);
        say(&world, &customer, "Help");
        STATS.store(minutes * 100 * MINUTE + minutes * MINUTE, Ordering::SeqCst);
        reply(&world, &world.manager, &customer);
        world
            .crm
            .close_conversation(&world.manager, World::customer_id(&customer))
            .unwrap();
    }
    let start = Date::of(Timestamp::from_millis(
        stats_clock().millis() - 1_000 * MINUTE,
    ));
    let end = Date::of(stats_clock());
    let stats = world.crm.operator_stats(&world.admin, start, end).unwrap();
    assert_eq!(stats.len(), 1);
    let row = &stats[0];
    assert_eq!(row.user, World::user_id(&world.manager));
    assert_eq!(row.total.first_responses, 10);
    assert_eq!(row.total.median_ms, Some(5 * MINUTE));
    assert_eq!(row.total.p90_ms, Some(9 * MINUTE));
    assert_eq!(row.total.conversations_handled, 10);
    let per_day: u32 = row.days.iter().map(|day| day.first_responses).sum();
    assert_eq!(per_day, 10);
    // Workers lack view_analytics; the range is checked.
    let error = world
        .crm
        .operator_stats(&world.worker, start, end)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world
        .crm
        .operator_stats(&world.admin, end, start.min(end))
        .map(|_| ());
    if start < end {
        assert_eq!(error.unwrap_err().field(), Some("to"));
    }
}

test_clock!(LOCAL_STATS, local_stats_clock);

#[test]
fn statistics_count_each_reply_on_the_organization_s_local_day_and_filter_by_local_days() {
    use crm_lib::org::SettingsUpdate;
    let world = helpdesk(local_stats_clock);
    no_question(&world);
    department(&world, "Support", &[&world.manager]);
    status(&world, &world.manager, OperatorStatus::Online);
    // Day D is 2026-01-05 (the clock starts at 09:00 UTC). One conversation answered and
    // closed at 09:10 UTC, another at 23:30 UTC: 09:30 on D + 1 in Vladivostok (UTC+10).
    for (telegram_id, asked, answered) in [(7001, 0, 10), (7002, 860, 870)] {
        let customer = world.customer(telegram_id, "Customer");
        LOCAL_STATS.store(asked * MINUTE, Ordering::SeqCst);
        say(&world, &customer, "Help");
        LOCAL_STATS.store(answered * MINUTE, Ordering::SeqCst);
        reply(&world, &world.manager, &customer);
        world
            .crm
            .close_conversation(&world.manager, World::customer_id(&customer))
            .unwrap();
    }
    let day = Date::parse("day", "2026-01-05").unwrap();
    let next = Date::parse("day", "2026-01-06").unwrap();
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
    // (day, first responses, conversations handled) of the manager's row.
    let days = |from: Date, to: Date| {
        let stats = world.crm.operator_stats(&world.admin, from, to).unwrap();
        stats
            .iter()
            .flat_map(|row| row.days.iter())
            .map(|day| {
                (
                    day.day.unwrap().to_string(),
                    day.first_responses,
                    day.conversations_handled,
                )
            })
            .collect::<Vec<_>>()
    };
    let on = |date: &str, count: u32| (date.to_string(), count, count);

    // In UTC both count on D.
    zone("UTC");
    assert_eq!(days(day, next), vec![on("2026-01-05", 2)]);
    assert_eq!(days(next, next), vec![]);
    // In Vladivostok the late one counts on D + 1, and a range of one local day holds only
    // what happened between its local midnights.
    zone("Asia/Vladivostok");
    assert_eq!(
        days(day, next),
        vec![on("2026-01-05", 1), on("2026-01-06", 1)]
    );
    assert_eq!(days(day, day), vec![on("2026-01-05", 1)]);
    assert_eq!(days(next, next), vec![on("2026-01-06", 1)]);
    // Without a range: the last seven days up to today on the organization's clock (the
    // clock reads 23:30 UTC on D, already D + 1 in Vladivostok).
    let report = world
        .crm
        .operator_stats_report(&world.admin, None, None)
        .unwrap();
    assert_eq!(
        (report.from.to_string(), report.to.to_string()),
        ("2025-12-31".into(), "2026-01-06".into())
    );
    assert_eq!(report.zone.name(), "Asia/Vladivostok");
    assert_eq!(report.rows[0].total.first_responses, 2);
    zone("UTC");
    let report = world
        .crm
        .operator_stats_report(&world.admin, None, None)
        .unwrap();
    assert_eq!(report.to.to_string(), "2026-01-05");
    // The range's limit counts local days: 366 pass, 367 do not.
    let far = |days_before: i64| Date::of(next.start().minus_days(days_before));
    assert!(
        world
            .crm
            .operator_stats(&world.admin, far(365), next)
            .is_ok()
    );
    let error = world
        .crm
        .operator_stats(&world.admin, far(366), next)
        .unwrap_err();
    assert_eq!(error.field(), Some("to"));
}

/// What the property test does.
#[derive(Debug, Clone)]
enum Op {
    /// A customer (of eight) writes.
    Write(u8),
    /// An operator (of four) changes status.
    Status(u8, u8),
    /// The assignee of a customer's conversation replies and closes it.
    Close(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..8u8).prop_map(Op::Write),
        2 => (0..4u8, 0..3u8).prop_map(|(operator, status)| Op::Status(operator, status)),
        1 => (0..8u8).prop_map(Op::Close),
    ]
}

/// Every open item is assigned to an operator who is online or away (away keeps what they
/// had), or waits in its department's queue only when no member is online.
fn check_queue(world: &World, operators: &[Actor]) -> Result<(), TestCaseError> {
    let rows = world.crm.operators(&world.admin).unwrap();
    let status_of = |user: UserId| {
        rows.iter()
            .find(|row| row.user == user)
            .map_or(OperatorStatus::Offline, |row| row.status)
    };
    let anyone_online = operators
        .iter()
        .any(|operator| status_of(World::user_id(operator)) == OperatorStatus::Online);
    for item in world.crm.queue_items(&world.admin).unwrap() {
        match item.assignee {
            Some(user) => prop_assert_ne!(status_of(user), OperatorStatus::Offline, "{:?}", item),
            None => prop_assert!(!anyone_online, "waits while someone is online: {:?}", item),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn no_item_is_ever_assigned_to_an_offline_or_away_operator_and_none_waits_while_one_is_online(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let world = helpdesk_now();
        no_question(&world);
        let operators = [&world.admin, &world.manager, &world.worker, &world.master];
        department(&world, "Support", &operators);
        let operators: Vec<Actor> = operators.into_iter().cloned().collect();
        let customers: Vec<Actor> = (0..8).map(|n| world.customer(7000 + n, "Customer")).collect();
        for op in &ops {
            let before: Vec<(Option<UserId>, CustomerId)> = customers
                .iter()
                .map(|customer| (assignee(&world, customer), World::customer_id(customer)))
                .collect();
            match *op {
                Op::Write(customer) => say(&world, &customers[usize::from(customer)], "Help"),
                Op::Status(operator, status) => {
                    let status = [OperatorStatus::Online, OperatorStatus::Away, OperatorStatus::Offline][usize::from(status)];
                    let actor = &operators[usize::from(operator)];
                    world.crm.set_operator_status(actor, World::user_id(actor), status).unwrap();
                }
                Op::Close(customer) => {
                    let customer = &customers[usize::from(customer)];
                    let _ = world.crm.close_conversation(&world.admin, World::customer_id(customer));
                }
            }
            // Whoever got a conversation in this step was online when they got it.
            for (customer, (was, _)) in customers.iter().zip(&before) {
                let now = assignee(&world, customer);
                if let Some(user) = now && now != *was {
                    let state = world.crm.operator_state(&world.admin, user).unwrap();
                    prop_assert_eq!(state.status, OperatorStatus::Online);
                }
            }
            check_queue(&world, &operators)?;
        }
        let report = world.crm.system().verify().unwrap();
        prop_assert!(report.problems.is_empty(), "{:#?}", report.problems);
    }

    #[test]
    fn loads_stay_within_one_of_each_other_while_items_arrive_and_everyone_is_online(
        operators in 2..6usize,
        arrivals in 1..40u32,
    ) {
        let world = helpdesk_now();
        no_question(&world);
        let mut staff = vec![world.admin.clone(), world.manager.clone(), world.worker.clone(), world.worker2.clone(), world.master.clone()];
        staff.truncate(operators);
        let refs: Vec<&Actor> = staff.iter().collect();
        department(&world, "Support", &refs);
        for actor in &staff {
            status(&world, actor, OperatorStatus::Online);
        }
        for n in 0..arrivals {
            let customer = world.customer(8000 + i64::from(n), "Customer");
            say(&world, &customer, "Help");
            let loads: Vec<u64> = world.crm.operators(&world.admin).unwrap().iter().map(|row| row.load).collect();
            let (min, max) = (loads.iter().min().copied().unwrap_or(0), loads.iter().max().copied().unwrap_or(0));
            prop_assert!(max - min <= 1, "{:?}", loads);
        }
        let _ = QueueSubject::Conversation(World::customer_id(&world.customer(8999, "Last")));
    }
}

test_clock!(CLOSED, closed_clock);

#[test]
fn closed_conversations_are_found_oldest_first_up_to_a_cutoff() {
    let world = helpdesk(closed_clock);
    no_question(&world);
    department(&world, "Support", &[&world.manager]);
    status(&world, &world.manager, OperatorStatus::Online);
    let mut customers = Vec::new();
    for (index, minutes) in [10_i64, 20, 30].into_iter().enumerate() {
        let customer = world.customer(9100 + index as i64, "Customer");
        say(&world, &customer, "Help");
        CLOSED.store(minutes * MINUTE, Ordering::SeqCst);
        world
            .crm
            .close_conversation(&world.manager, World::customer_id(&customer))
            .unwrap();
        customers.push(World::customer_id(&customer));
    }
    let before = Timestamp::from_millis(closed_clock().millis() - 5 * MINUTE);
    let found = world
        .crm
        .read(|view| crm_lib::operators::closed_items_before_in(view, &world.system, before, 100))
        .unwrap();
    let subjects: Vec<QueueSubject> = found.iter().map(|item| item.subject).collect();
    assert_eq!(
        subjects,
        vec![
            QueueSubject::Conversation(customers[0]),
            QueueSubject::Conversation(customers[1])
        ],
        "the one closed at 30 minutes is after the cutoff"
    );
    let error = world
        .crm
        .read(|view| crm_lib::operators::closed_items_before_in(view, &world.worker, before, 100))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

test_clock!(ARCHIVE, archive_clock);

const DAY: i64 = 24 * 60 * MINUTE;

/// The customers of the inbox's working list (first page of 50).
fn working_list(world: &World) -> Vec<CustomerId> {
    world
        .crm
        .conversations(&world.admin, crm_lib::Page::first(50))
        .unwrap()
        .items
        .iter()
        .map(|customer| customer.id)
        .collect()
}

/// The customers of the inbox's "Archived" list (first page of 50).
fn archived_list(world: &World) -> Vec<CustomerId> {
    world
        .crm
        .archived_conversations(&world.admin, crm_lib::Page::first(50))
        .unwrap()
        .items
        .iter()
        .map(|row| row.customer.id)
        .collect()
}

fn archive_job(world: &World) -> String {
    let run = world
        .crm
        .run_job(&world.admin, "archive_conversations")
        .unwrap();
    assert!(run.ok, "{run:?}");
    run.result
}

#[test]
fn the_archive_job_archives_conversations_closed_before_the_age_and_a_message_brings_one_back() {
    let world = helpdesk(archive_clock);
    no_question(&world);
    department(&world, "Support", &[&world.manager]);
    status(&world, &world.manager, OperatorStatus::Online);
    // Day 0: Anna's conversation closes, and Boris's ticket.
    let anna = world.customer(9301, "Anna");
    say(&world, &anna, "Help");
    world
        .crm
        .close_conversation(&world.manager, World::customer_id(&anna))
        .unwrap();
    let boris = world.customer(9302, "Boris");
    let ticket = world
        .crm
        .create_order(
            &boris,
            NewOrder {
                title: "Printer jams".into(),
                description: "Every page".into(),
                custom_fields: world
                    .crm
                    .ticket_fields(&world.system)
                    .unwrap()
                    .parse_answers([("device", "Phone"), ("fault", "no sound")])
                    .unwrap(),
                ..NewOrder::default()
            },
        )
        .unwrap();
    for stage in ["in_work", "waiting", "resolved", "closed"] {
        world
            .crm
            .move_order(&world.admin, ticket.id, world.stage(stage))
            .unwrap();
    }
    // Day 2: Carl's conversation closes.
    ARCHIVE.store(2 * DAY, Ordering::SeqCst);
    let carl = world.customer(9303, "Carl");
    say(&world, &carl, "Hi");
    world
        .crm
        .close_conversation(&world.manager, World::customer_id(&carl))
        .unwrap();
    let (anna_id, boris_id, carl_id) = (
        World::customer_id(&anna),
        World::customer_id(&boris),
        World::customer_id(&carl),
    );

    // Day 31 (the default age is 30 days): Anna's (31 days) goes, Carl's (29) and the
    // ticket stay.
    ARCHIVE.store(31 * DAY, Ordering::SeqCst);
    assert_eq!(
        archive_job(&world),
        "archived 1 conversations closed more than 30 days ago"
    );
    let item = conversation(&world, &anna).unwrap();
    assert!(item.archived_at.is_some(), "{item:?}");
    assert_eq!(item.state, QueueState::Closed);
    assert!(conversation(&world, &carl).unwrap().archived_at.is_none());
    let working = working_list(&world);
    assert!(!working.contains(&anna_id), "{working:?}");
    assert!(working.contains(&carl_id) && working.contains(&boris_id));
    assert_eq!(archived_list(&world), vec![anna_id]);
    let closed: Vec<QueueSubject> = world
        .crm
        .read(|view| {
            crm_lib::operators::closed_items_before_in(view, &world.system, archive_clock(), 100)
        })
        .unwrap()
        .iter()
        .map(|item| item.subject)
        .collect();
    assert_eq!(
        closed,
        vec![
            QueueSubject::Ticket(ticket.id),
            QueueSubject::Conversation(carl_id)
        ],
        "the closed working list leaves the archived conversation out; a ticket is never archived"
    );
    // The timeline and statistics still see it: a closed conversation handled on day 0.
    assert!(
        !world
            .crm
            .messages_of_customer(&world.manager, anna_id, crm_lib::Page::first(10))
            .unwrap()
            .items
            .is_empty()
    );
    let day0 = Date::of(Timestamp::from_millis(archive_clock().millis() - 31 * DAY));
    let stats = world.crm.operator_stats(&world.admin, day0, day0).unwrap();
    let row = stats
        .iter()
        .find(|row| row.user == World::user_id(&world.manager))
        .unwrap();
    assert_eq!(row.total.conversations_handled, 1, "{stats:?}");

    // Run twice: nothing more.
    assert_eq!(
        archive_job(&world),
        "archived 0 conversations closed more than 30 days ago"
    );
    assert!(world.crm.system().verify().unwrap().is_clean());

    // Anna writes again: back in the working list, out of the archived one.
    say(&world, &anna, "Me again");
    assert!(working_list(&world).contains(&anna_id));
    assert!(archived_list(&world).is_empty());
    assert_eq!(conversation(&world, &anna).unwrap().state, QueueState::Open);

    // Day 33: Carl's goes too; reopening it makes it a working conversation again.
    ARCHIVE.store(33 * DAY, Ordering::SeqCst);
    assert_eq!(
        archive_job(&world),
        "archived 1 conversations closed more than 30 days ago"
    );
    assert_eq!(archived_list(&world), vec![carl_id]);
    assert!(!working_list(&world).contains(&carl_id));
    let reopened = world
        .crm
        .reopen_conversation(&world.manager, carl_id)
        .unwrap();
    assert!(reopened.archived_at.is_none());
    assert!(working_list(&world).contains(&carl_id));
    assert!(archived_list(&world).is_empty());
    assert!(world.crm.system().verify().unwrap().is_clean());

    // The archived list is the operators module's.
    let plain = World::new();
    let error = plain
        .crm
        .archived_conversations(&plain.admin, crm_lib::Page::first(10))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

test_clock!(ASKED, asked_clock);

#[test]
fn a_customer_asked_for_a_department_is_back_in_the_inbox_before_choosing() {
    let world = helpdesk(asked_clock);
    let support = department(&world, "Support", &[&world.manager]);
    department(&world, "Sales", &[&world.manager]);
    let anna = world.customer(9401, "Anna");
    let anna_id = World::customer_id(&anna);
    say(&world, &anna, "Help");
    world
        .crm
        .choose_department(&anna, anna_id, support)
        .unwrap();
    world
        .crm
        .close_conversation(&world.manager, anna_id)
        .unwrap();
    ASKED.store(31 * DAY, Ordering::SeqCst);
    archive_job(&world);
    assert_eq!(archived_list(&world), vec![anna_id]);
    // She writes; the bot asks her for a department, so no conversation opens yet, but the
    // inbox lists her again.
    say(&world, &anna, "Me again");
    let item = conversation(&world, &anna).unwrap();
    assert_eq!(item.state, QueueState::Closed);
    assert!(item.archived_at.is_none());
    assert!(working_list(&world).contains(&anna_id));
    assert!(archived_list(&world).is_empty());
    assert!(world.crm.system().verify().unwrap().is_clean());
}
