//! The inbox (SPEC 5F, issue 12): the conversation list's filters, search and pages over the
//! `conversation_rows` projection, closing, reopening and snoozing with and without the
//! operators module, a snooze woken by its time or the customer, and the details pane.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::{
    Crm, CrmOptions, ErrorKind, Page,
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    inbox::{InboxFilter, InboxPage, InboxQuery, SNOOZE_MAX_MINUTES},
    model::{Actor, ConversationState, CustomerId, Direction, OperatorStatus, Timestamp},
};

use crate::support::World;

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

fn reply(world: &World, staff: &Actor, customer: &Actor, text: &str) {
    world
        .crm
        .post_outbound(
            staff,
            OutboundMessage {
                customer: World::customer_id(customer),
                order: None,
                text: text.into(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
        )
        .unwrap();
}

fn page(world: &World, actor: &Actor, filter: InboxFilter, search: &str) -> InboxPage {
    world
        .crm
        .inbox_page(
            actor,
            &InboxQuery {
                filter,
                search: search.into(),
                page: Page::first(50),
                selected: None,
            },
        )
        .unwrap()
}

/// The customers a list shows, in order.
fn listed(world: &World, actor: &Actor, filter: InboxFilter) -> Vec<CustomerId> {
    page(world, actor, filter, "")
        .rows
        .items
        .iter()
        .map(|row| row.row.customer)
        .collect()
}

fn clean(world: &World) {
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn the_list_shows_the_newest_activity_first_with_previews_unread_counts_search_and_pages() {
    let world = World::new();
    let anna = world.customer(7001, "Anna");
    let boris = world.customer(7002, "Boris");
    let vera = world.customer(7003, "Vera");
    say(&world, &anna, "Hello from Anna");
    say(&world, &boris, "  Where is\nmy   order?  ");
    say(&world, &vera, &"x".repeat(300));
    reply(&world, &world.manager, &anna, "Hi Anna, we are here");

    let all = page(&world, &world.manager, InboxFilter::All, "");
    let order: Vec<CustomerId> = all.rows.items.iter().map(|row| row.row.customer).collect();
    assert_eq!(
        order,
        [&anna, &vera, &boris].map(World::customer_id).to_vec(),
        "newest activity first"
    );
    let anna_row = &all.rows.items[0];
    let preview = anna_row.row.preview.as_ref().unwrap();
    assert_eq!(
        (preview.direction, preview.text.as_str()),
        (Direction::Outbound, "Hi Anna, we are here")
    );
    assert_eq!(anna_row.row.unread, 0, "answering reads the conversation");
    assert_eq!(anna_row.state, ConversationState::Open);
    let boris_row = &all.rows.items[2];
    assert_eq!(
        boris_row.row.preview.as_ref().unwrap().text,
        "Where is my order?"
    );
    assert_eq!(boris_row.row.unread, 1);
    let vera_preview = &all.rows.items[1].row.preview.as_ref().unwrap().text;
    assert_eq!(vera_preview.chars().count(), 100);
    assert!(vera_preview.ends_with('…'));
    assert_eq!(
        all.actions.filters,
        vec![InboxFilter::All, InboxFilter::Snoozed, InboxFilter::Closed]
    );
    assert!(!all.actions.assignment, "no operators module");

    // Search: name, case-insensitive; nothing for a stranger.
    let found = page(&world, &world.manager, InboxFilter::All, "  bOrIs ");
    assert_eq!(found.rows.items.len(), 1);
    assert_eq!(found.query.search, "bOrIs");
    assert!(
        page(&world, &world.manager, InboxFilter::All, "nobody")
            .rows
            .items
            .is_empty()
    );
    let error = world
        .crm
        .inbox_page(
            &world.manager,
            &InboxQuery {
                search: "y".repeat(101),
                ..InboxQuery::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(
        world
            .crm
            .inbox_page(
                &world.manager,
                &InboxQuery {
                    search: "y".repeat(100),
                    ..InboxQuery::default()
                },
            )
            .is_ok()
    );

    // Pages of one: every conversation once, then no cursor.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let one = world
            .crm
            .inbox_page(
                &world.manager,
                &InboxQuery {
                    page: Page { after, limit: 1 },
                    ..InboxQuery::default()
                },
            )
            .unwrap();
        seen.extend(one.rows.items.iter().map(|row| row.row.customer));
        match one.rows.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, order);

    // Staff without chat_customers may not read it (the studio's worker).
    let error = world
        .crm
        .inbox_page(&world.worker, &InboxQuery::default())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    clean(&world);
}

#[test]
fn without_the_operators_module_a_conversation_closes_snoozes_and_reopens_and_the_customer_wakes_it()
 {
    let world = World::new();
    let anna = world.customer(7101, "Anna");
    let anna_id = World::customer_id(&anna);
    say(&world, &anna, "Hello");

    let closed = world.crm.close_chat(&world.manager, anna_id).unwrap();
    assert!(matches!(closed.state, ConversationState::Closed { .. }));
    assert!(listed(&world, &world.manager, InboxFilter::All).is_empty());
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Closed),
        vec![anna_id]
    );
    let again = world.crm.close_chat(&world.manager, anna_id).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    let refused = world
        .crm
        .snooze_chat(&world.manager, anna_id, 60)
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict);

    // The customer writes: it opens again.
    say(&world, &anna, "Still there?");
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::All),
        vec![anna_id]
    );
    assert!(listed(&world, &world.manager, InboxFilter::Closed).is_empty());

    // Snoozed: out of the working list, in the snoozed one, until the customer writes.
    let snoozed = world.crm.snooze_chat(&world.manager, anna_id, 60).unwrap();
    assert!(matches!(snoozed.state, ConversationState::Snoozed { .. }));
    assert!(listed(&world, &world.manager, InboxFilter::All).is_empty());
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Snoozed),
        vec![anna_id]
    );
    reply(&world, &world.manager, &anna, "We will check tomorrow");
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Snoozed),
        vec![anna_id],
        "a staff reply does not wake it"
    );
    say(&world, &anna, "Any news?");
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::All),
        vec![anna_id]
    );
    assert!(listed(&world, &world.manager, InboxFilter::Snoozed).is_empty());

    // Reopen wakes a snooze and opens a close; an open one is a conflict.
    world.crm.snooze_chat(&world.manager, anna_id, 5).unwrap();
    let woken = world.crm.reopen_chat(&world.manager, anna_id).unwrap();
    assert_eq!(woken.state, ConversationState::Open);
    let open = world.crm.reopen_chat(&world.manager, anna_id).unwrap_err();
    assert_eq!(open.kind(), ErrorKind::Conflict);
    world.crm.close_chat(&world.manager, anna_id).unwrap();
    world.crm.reopen_chat(&world.manager, anna_id).unwrap();
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::All),
        vec![anna_id]
    );

    // Limits: 1 to 30 days of minutes.
    for minutes in [0, SNOOZE_MAX_MINUTES + 1] {
        let error = world
            .crm
            .snooze_chat(&world.manager, anna_id, minutes)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{minutes}");
    }
    world
        .crm
        .snooze_chat(&world.manager, anna_id, SNOOZE_MAX_MINUTES)
        .unwrap();
    // Customers and staff without chat_customers may not.
    let error = world.crm.reopen_chat(&anna, anna_id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let error = world.crm.reopen_chat(&world.worker, anna_id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    clean(&world);
}

static OFFSET: AtomicI64 = AtomicI64::new(0);
fn clock() -> Timestamp {
    Timestamp::from_millis(1_767_603_600_000 + OFFSET.load(Ordering::SeqCst))
}

#[test]
fn a_snooze_wakes_by_itself_when_its_time_comes() {
    let dir = tempfile::tempdir().unwrap();
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), clock).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Acme", "acme")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    let anna = world.customer(7201, "Anna");
    let anna_id = World::customer_id(&anna);
    say(&world, &anna, "Hello");
    world.crm.snooze_chat(&world.manager, anna_id, 60).unwrap();
    OFFSET.store(59 * 60_000, Ordering::SeqCst);
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Snoozed),
        vec![anna_id]
    );
    assert!(listed(&world, &world.manager, InboxFilter::All).is_empty());
    OFFSET.store(60 * 60_000, Ordering::SeqCst);
    assert!(listed(&world, &world.manager, InboxFilter::Snoozed).is_empty());
    let all = page(&world, &world.manager, InboxFilter::All, "");
    assert_eq!(all.rows.items.len(), 1);
    assert_eq!(all.rows.items[0].state, ConversationState::Open, "awake");
    clean(&world);
}

#[test]
fn with_the_operators_module_mine_and_unassigned_follow_the_queue_and_closing_is_one_rule() {
    let world = World::with_template("helpdesk", "help");
    world
        .crm
        .save_operator_settings(
            &world.admin,
            crm_lib::model::OperatorSettings {
                ask_department: false,
                ..Default::default()
            },
        )
        .unwrap();
    let support = world
        .crm
        .create_department(&world.admin, "Support")
        .unwrap();
    world
        .crm
        .add_department_member(&world.admin, support.id, World::user_id(&world.manager))
        .unwrap();
    let anna = world.customer(7301, "Anna");
    let anna_id = World::customer_id(&anna);
    // Nobody online: Anna waits unassigned.
    say(&world, &anna, "Hello");
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Unassigned),
        vec![anna_id]
    );
    assert!(listed(&world, &world.manager, InboxFilter::Mine).is_empty());
    let boris = world.customer(7302, "Boris");
    let boris_id = World::customer_id(&boris);
    // The manager comes online and gets her, then Boris.
    world
        .crm
        .set_operator_status(
            &world.manager,
            World::user_id(&world.manager),
            OperatorStatus::Online,
        )
        .unwrap();
    say(&world, &boris, "Hi");
    let mine = page(&world, &world.manager, InboxFilter::Mine, "");
    assert_eq!(
        mine.rows
            .items
            .iter()
            .map(|row| row.row.customer)
            .collect::<Vec<_>>(),
        vec![boris_id, anna_id]
    );
    assert_eq!(
        mine.rows.items[0].assignee.as_deref(),
        Some("manager display")
    );
    assert_eq!(mine.rows.items[0].department.as_deref(), Some("Support"));
    assert!(mine.actions.assignment);
    assert_eq!(
        mine.actions.filters[..2],
        [InboxFilter::Mine, InboxFilter::Unassigned]
    );
    assert!(
        listed(&world, &world.admin, InboxFilter::Mine).is_empty(),
        "the admin's own"
    );

    // Closing in the inbox closes the queue item; closing in the queue closes the row.
    world.crm.close_chat(&world.manager, anna_id).unwrap();
    let item = world
        .crm
        .conversation(&world.admin, anna_id)
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item.state, crm_lib::model::QueueState::Closed);
    world
        .crm
        .close_conversation(&world.manager, boris_id)
        .unwrap();
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Closed),
        vec![boris_id, anna_id]
    );
    assert!(listed(&world, &world.manager, InboxFilter::Mine).is_empty());
    // Reopening in the inbox reopens the queue item (routed to the manager again).
    world.crm.reopen_chat(&world.manager, anna_id).unwrap();
    let item = world
        .crm
        .conversation(&world.admin, anna_id)
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item.state, crm_lib::model::QueueState::Open);
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Mine),
        vec![anna_id]
    );
    // A customer message opens a new queue item: the row is open again.
    say(&world, &boris, "One more thing");
    assert_eq!(
        listed(&world, &world.manager, InboxFilter::Mine),
        vec![boris_id, anna_id]
    );

    // The details pane: the profile, the actions, the orders.
    let details = world
        .crm
        .inbox_page(
            &world.manager,
            &InboxQuery {
                selected: Some(anna_id),
                ..InboxQuery::default()
            },
        )
        .unwrap()
        .selected
        .unwrap();
    assert_eq!(details.customer.first_name, "Anna");
    assert!(details.actions.close && details.actions.snooze && !details.actions.reopen);
    assert!(details.actions.note && details.actions.reply);
    clean(&world);
}
