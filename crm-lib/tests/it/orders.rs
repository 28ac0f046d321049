//! The order loop's rules (SPEC section 2, C0de seed): limit, moderation, deletion, bids,
//! assignment, stage moves, listing.

use crm_lib::{
    ErrorKind, Page,
    model::{
        Actor, BidState, Event, Language, Localized, Money, OrderId, OutboxPayload, Permission,
        Recipient, StageId, TelegramUserId,
    },
    orders::{AssignTo, NewOrder, OrderFilter, moderation_queue_in, typed_date, typed_money},
    org::StageUpdate,
    team::NewUser,
};

use crate::support::World;

fn notified(world: &World, recipient: Recipient) -> Vec<Event> {
    world
        .outbox()
        .into_iter()
        .filter(|item| item.recipient == recipient)
        .filter_map(|item| match item.payload {
            OutboxPayload::Notify(event) => Some(event),
            _ => None,
        })
        .collect()
}

#[test]
fn customer_with_two_open_orders_cannot_create_a_third() {
    let world = World::new();
    let customer = world.customer(1001, "Ivan");
    world.order(&customer, "First", None);
    world.order(&customer, "Second", None);
    let error = world
        .crm
        .create_order(
            &customer,
            NewOrder {
                title: "Third".into(),
                description: "x".into(),
                ..NewOrder::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.to_string().contains("the limit is 2"), "{error}");
}

#[test]
fn rejected_and_deleted_orders_do_not_count_toward_the_limit() {
    let world = World::new();
    let customer = world.customer(1002, "Olga");
    let first = world.order(&customer, "First", None);
    let second = world.order(&customer, "Second", None);
    world
        .crm
        .reject_order(&world.manager, first.id, "spam")
        .unwrap();
    world.crm.delete_order(&customer, second.id).unwrap();
    world.order(&customer, "Third", None);
    world.order(&customer, "Fourth", None);
}

#[test]
fn a_limit_of_zero_means_no_limit() {
    let world = World::new();
    world.lift_order_limit();
    let customer = world.customer(1003, "Many");
    for index in 0..5 {
        world.order(&customer, &format!("Order {index}"), None);
    }
}

#[test]
fn a_new_order_waits_in_moderation_and_linked_moderators_are_notified() {
    let world = World::new();
    let code = world.crm.create_link_code(&world.manager).unwrap();
    world
        .crm
        .system()
        .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(777))
        .unwrap();
    let customer = world.customer(1004, "Anna");
    let order = world.order(&customer, "Landing page", Some("500"));
    assert_eq!(order.stage, world.stage("pending"));
    let events = notified(&world, Recipient::Staff(World::user_id(&world.manager)));
    assert!(
        events
            .iter()
            .any(|event| matches!(event, Event::OrderCreated { order: id, .. } if *id == order.id)),
        "{events:?}"
    );
    // The worker has no linked account and no moderate_orders: nothing for them.
    assert!(notified(&world, Recipient::Staff(World::user_id(&world.worker))).is_empty());
}

#[test]
fn the_moderation_queue_shows_the_newest_orders_first_up_to_the_limit() {
    let world = World::new();
    world.lift_order_limit();
    let customer = world.customer(1010, "Queue");
    let ids: Vec<OrderId> = (0..4)
        .map(|index| world.order(&customer, &format!("Queued {index}"), None).id)
        .collect();
    let queue = world
        .crm
        .read(|view| moderation_queue_in(view, &world.manager, 3))
        .unwrap();
    assert_eq!(queue.len(), 1, "the studio has one moderation stage");
    let shown: Vec<OrderId> = queue[0].orders.iter().map(|row| row.order.id).collect();
    assert_eq!(shown, [ids[3], ids[2], ids[1]]);
}

#[test]
fn order_fields_are_checked_and_the_bad_field_is_named() {
    let world = World::new();
    let customer = world.customer(1005, "Petr");
    // As an adapter does: what people typed is parsed first, then the order is created.
    let attempt = |title: &str, budget: Option<&str>, deadline: Option<&str>| {
        let request = || {
            Ok::<_, crm_lib::Error>(NewOrder {
                title: title.into(),
                description: "details".into(),
                budget: typed_money("budget", budget.unwrap_or(""))?,
                deadline: typed_date("deadline", deadline.unwrap_or(""))?,
                ..NewOrder::default()
            })
        };
        request()
            .and_then(|request| world.crm.create_order(&customer, request))
            .unwrap_err()
    };
    let error = attempt("   ", None, None);
    assert_eq!(
        (error.kind(), error.field()),
        (ErrorKind::InvalidInput, Some("title"))
    );
    let error = attempt("Bot", Some("twelve"), None);
    assert_eq!(
        (error.kind(), error.field()),
        (ErrorKind::InvalidInput, Some("budget"))
    );
    let error = attempt("Bot", Some("0"), None);
    assert_eq!(error.field(), Some("budget"));
    let error = attempt("Bot", None, Some("2001-01-01"));
    assert_eq!(error.field(), Some("deadline"));
    assert!(error.to_string().contains("in the past"), "{error}");
    let error = attempt(&"x".repeat(201), None, None);
    assert_eq!(error.field(), Some("title"));
    assert!(
        world
            .crm
            .system()
            .all_orders(world.org.id)
            .unwrap()
            .is_empty(),
        "nothing was written"
    );
}

#[test]
fn approving_moves_the_order_to_approved_and_tells_the_customer() {
    let world = World::new();
    let customer = world.customer(1006, "Kate");
    let order = world.order(&customer, "Parser", None);
    let approved = world.crm.approve_order(&world.manager, order.id).unwrap();
    assert_eq!(approved.stage, world.stage("approved"));
    let events = notified(&world, Recipient::Customer(World::customer_id(&customer)));
    assert!(
        matches!(events.as_slice(), [Event::OrderApproved { .. }]),
        "{events:?}"
    );
    let error = world
        .crm
        .approve_order(&world.manager, order.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
}

#[test]
fn rejecting_needs_a_reason_and_tells_the_customer_why() {
    let world = World::new();
    let customer = world.customer(1007, "Tom");
    let order = world.order(&customer, "Spam", None);
    let error = world
        .crm
        .reject_order(&world.manager, order.id, "  ")
        .unwrap_err();
    assert_eq!(error.field(), Some("reason"));
    let rejected = world
        .crm
        .reject_order(&world.manager, order.id, "out of scope")
        .unwrap();
    assert_eq!(rejected.stage, world.stage("rejected"));
    assert_eq!(rejected.rejection_reason.as_deref(), Some("out of scope"));
    let events = notified(&world, Recipient::Customer(World::customer_id(&customer)));
    assert!(
        matches!(events.as_slice(), [Event::OrderRejected { reason, .. }] if reason == "out of scope")
    );
}

#[test]
fn a_worker_cannot_moderate() {
    let world = World::new();
    let customer = world.customer(1008, "Bob");
    let order = world.order(&customer, "Game", None);
    let error = world
        .crm
        .approve_order(&world.worker, order.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(error.permission(), Some(Permission::ModerateOrders));
}

#[test]
fn a_customer_may_delete_a_pending_or_rejected_order_but_not_an_approved_one() {
    let world = World::new();
    let customer = world.customer(1009, "Lena");
    let pending = world.order(&customer, "One", None);
    world.crm.delete_order(&customer, pending.id).unwrap();
    assert_eq!(
        world
            .crm
            .order(&world.system, pending.id)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let rejected = world.order(&customer, "Two", None);
    world
        .crm
        .reject_order(&world.manager, rejected.id, "no")
        .unwrap();
    world.crm.delete_order(&customer, rejected.id).unwrap();
    let approved = world.order(&customer, "Three", None);
    world
        .crm
        .approve_order(&world.manager, approved.id)
        .unwrap();
    let error = world.crm.delete_order(&customer, approved.id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
}

#[test]
fn a_customer_cannot_delete_or_see_another_customers_order() {
    let world = World::new();
    let owner = world.customer(1010, "Owner");
    let other = world.customer(1011, "Other");
    let order = world.order(&owner, "Mine", None);
    assert_eq!(
        world.crm.delete_order(&other, order.id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        world.crm.order(&other, order.id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        world
            .crm
            .delete_order(&world.manager, order.id)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn a_bid_over_the_budget_is_refused_naming_both_amounts() {
    let world = World::new();
    let order = world.approved_order(1012, Some("1000"));
    let error = world
        .crm
        .place_bid(
            &world.worker,
            order.id,
            crate::support::money("1500.50"),
            "",
        )
        .unwrap_err();
    assert_eq!(
        (error.kind(), error.field()),
        (ErrorKind::InvalidInput, Some("price"))
    );
    let text = error.to_string();
    assert!(
        text.contains("1500.50 USD") && text.contains("1000.00 USD"),
        "{text}"
    );
    world
        .crm
        .place_bid(
            &world.worker,
            order.id,
            crate::support::money("1000"),
            "exactly the budget",
        )
        .unwrap();
}

#[test]
fn bids_need_respond_orders_and_an_approved_order() {
    let world = World::new();
    let order = world.approved_order(1013, None);
    for actor in [&world.manager, &world.master] {
        let error = world
            .crm
            .place_bid(actor, order.id, crate::support::money("100"), "")
            .unwrap_err();
        assert_eq!(error.permission(), Some(Permission::RespondOrders));
    }
    let customer = world.customer(1014, "Early");
    let pending = world.order(&customer, "Not yet", None);
    let error = world
        .crm
        .place_bid(&world.worker, pending.id, crate::support::money("100"), "")
        .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::NotFound,
        "a worker does not see orders in moderation"
    );
}

#[test]
fn a_user_has_one_active_bid_per_order() {
    let world = World::new();
    let order = world.approved_order(1015, None);
    world
        .crm
        .place_bid(&world.worker, order.id, crate::support::money("100"), "")
        .unwrap();
    let error = world
        .crm
        .place_bid(&world.worker, order.id, crate::support::money("90"), "")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    world
        .crm
        .place_bid(&world.worker2, order.id, crate::support::money("95"), "")
        .unwrap();
}

#[test]
fn assigning_a_bid_sets_the_price_declines_the_others_and_tells_customer_and_assignee() {
    let world = World::new();
    let code = world.crm.create_link_code(&world.worker).unwrap();
    world
        .crm
        .system()
        .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(888))
        .unwrap();
    let order = world.approved_order(1016, Some("1000"));
    let chosen = world
        .crm
        .place_bid(&world.worker, order.id, crate::support::money("800"), "")
        .unwrap();
    let other = world
        .crm
        .place_bid(&world.worker2, order.id, crate::support::money("700"), "")
        .unwrap();
    let assigned = world
        .crm
        .assign_order(&world.manager, order.id, AssignTo::Bid(chosen.id))
        .unwrap();
    assert_eq!(assigned.assignee, Some(World::user_id(&world.worker)));
    assert_eq!(assigned.price, Some(Money::from_minor(80_000)));
    let bids = world.crm.bids(&world.manager, order.id).unwrap();
    let state = |id| bids.iter().find(|bid| bid.id == id).unwrap().state;
    assert_eq!(
        (state(chosen.id), state(other.id)),
        (BidState::Accepted, BidState::Declined)
    );
    let to_customer = notified(&world, Recipient::Customer(order.customer));
    assert!(to_customer.iter().any(|event| matches!(
        event,
        Event::OrderAssigned {
            to_assignee: false,
            ..
        }
    )));
    let to_worker = notified(&world, Recipient::Staff(World::user_id(&world.worker)));
    assert!(to_worker.iter().any(|event| matches!(
        event,
        Event::OrderAssigned {
            to_assignee: true,
            ..
        }
    )));
}

#[test]
fn assigning_needs_assign_orders() {
    let world = World::new();
    let order = world.approved_order(1017, None);
    let bid = world
        .crm
        .place_bid(&world.worker, order.id, crate::support::money("10"), "")
        .unwrap();
    let error = world
        .crm
        .assign_order(&world.worker, order.id, AssignTo::Bid(bid.id))
        .unwrap_err();
    assert_eq!(error.permission(), Some(Permission::AssignOrders));
}

#[test]
fn an_order_needs_an_assignee_before_work_starts() {
    let world = World::new();
    let order = world.approved_order(1018, None);
    let error = world
        .crm
        .move_order(&world.manager, order.id, world.stage("in_progress"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.to_string().contains("needs an assignee"), "{error}");
}

#[test]
fn the_pipeline_refuses_a_jump_and_names_the_allowed_stages() {
    let world = World::new();
    let order = world.assigned_order(1019);
    let error = world
        .crm
        .move_order(&world.manager, order.id, world.stage("delivered"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(
        error.to_string().contains("allowed: In progress"),
        "{error}"
    );
}

#[test]
fn the_order_moves_through_the_board_and_back_from_testing() {
    let world = World::new();
    let order = world.assigned_order(1020);
    for stage in [
        "in_progress",
        "testing",
        "in_progress",
        "testing",
        "completed",
        "delivered",
    ] {
        let moved = world
            .crm
            .move_order(&world.worker, order.id, world.stage(stage))
            .unwrap();
        assert_eq!(moved.stage, world.stage(stage));
    }
    let events = notified(&world, Recipient::Customer(order.customer));
    let changes = events
        .iter()
        .filter(|event| matches!(event, Event::StageChanged { .. }))
        .count();
    assert_eq!(changes, 6, "every move notifies the customer");
    let error = world
        .crm
        .move_order(&world.manager, order.id, world.stage("completed"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "delivered is terminal");
}

#[test]
fn only_the_assignee_or_a_manager_may_move_an_order() {
    let world = World::new();
    let order = world.assigned_order(1021);
    let error = world
        .crm
        .move_order(&world.worker2, order.id, world.stage("in_progress"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    world
        .crm
        .move_order(&world.manager, order.id, world.stage("in_progress"))
        .unwrap();
    world
        .crm
        .move_order(&world.worker, order.id, world.stage("testing"))
        .unwrap();
}

#[test]
fn stage_counts_follow_every_change() {
    let world = World::new();
    let order = world.assigned_order(1022);
    world
        .crm
        .move_order(&world.worker, order.id, world.stage("in_progress"))
        .unwrap();
    let customer = world.customer(1023, "Second");
    world.order(&customer, "Waiting", None);
    let counts: Vec<(String, u64)> = world
        .crm
        .stage_counts(&Actor::system(world.org.id))
        .unwrap()
        .into_iter()
        .map(|count| (count.stage.key, count.orders))
        .collect();
    let count = |key: &str| counts.iter().find(|(stage, _)| stage == key).unwrap().1;
    assert_eq!(
        (count("pending"), count("approved"), count("in_progress")),
        (1, 0, 1)
    );
}

#[test]
fn the_list_filters_by_stage_assignee_customer_and_title_words() {
    let world = World::new();
    let ivan = world.customer(1024, "Ivan");
    let bakery = world.order(&ivan, "Telegram-бот для пекарни", None);
    world.order(&ivan, "Landing page", None);
    let assigned = world.assigned_order(1025);
    let list = |filter: OrderFilter| -> Vec<OrderId> {
        world
            .crm
            .list_orders(&world.admin, &filter, Page::first(50))
            .unwrap()
            .items
            .iter()
            .map(|order| order.id)
            .collect()
    };
    assert_eq!(
        list(OrderFilter {
            stage: Some(world.stage("approved")),
            ..OrderFilter::default()
        }),
        vec![assigned.id]
    );
    assert_eq!(
        list(OrderFilter {
            assignee: Some(World::user_id(&world.worker)),
            ..OrderFilter::default()
        }),
        vec![assigned.id]
    );
    assert_eq!(
        list(OrderFilter {
            customer: Some(World::customer_id(&ivan)),
            ..OrderFilter::default()
        })
        .len(),
        2
    );
    assert_eq!(
        list(OrderFilter {
            search: Some("ПЕКАР".into()),
            ..OrderFilter::default()
        }),
        vec![bakery.id]
    );
    assert_eq!(
        list(OrderFilter {
            search: Some("бот пек".into()),
            ..OrderFilter::default()
        }),
        vec![bakery.id]
    );
    assert!(
        list(OrderFilter {
            search: Some("bakery".into()),
            ..OrderFilter::default()
        })
        .is_empty()
    );
}

#[test]
fn pages_come_newest_first_and_the_cursor_continues_without_gaps() {
    let world = World::new();
    world.lift_order_limit();
    let customer = world.customer(1026, "Bulk");
    let created: Vec<OrderId> = (0..23)
        .map(|index| world.order(&customer, &format!("Order {index}"), None).id)
        .collect();
    for filter in [
        OrderFilter::default(),
        OrderFilter {
            stage: Some(world.stage("pending")),
            ..OrderFilter::default()
        },
    ] {
        let mut seen = Vec::new();
        let mut page = Page::first(10);
        loop {
            let result = world.crm.list_orders(&world.admin, &filter, page).unwrap();
            seen.extend(result.items.iter().map(|order| order.id));
            match result.next {
                Some(next) => page = Page::after(next, 10),
                None => break,
            }
        }
        let mut expected = created.clone();
        expected.reverse();
        assert_eq!(seen, expected);
    }
}

#[test]
fn customers_list_only_their_own_orders_and_workers_do_not_see_moderation() {
    let world = World::new();
    let first = world.customer(1027, "First");
    let second = world.customer(1028, "Second");
    let mine = world.order(&first, "Mine", None);
    world.order(&second, "Theirs", None);
    let page = world
        .crm
        .list_orders(&first, &OrderFilter::default(), Page::first(50))
        .unwrap();
    assert_eq!(
        page.items.iter().map(|order| order.id).collect::<Vec<_>>(),
        vec![mine.id]
    );
    let page = world
        .crm
        .list_orders(&world.worker, &OrderFilter::default(), Page::first(50))
        .unwrap();
    assert!(page.items.is_empty(), "pending orders are for moderators");
    world.crm.approve_order(&world.manager, mine.id).unwrap();
    let page = world
        .crm
        .list_orders(&world.worker, &OrderFilter::default(), Page::first(50))
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[test]
fn a_disabled_user_can_neither_log_in_nor_act() {
    let world = World::new();
    let user = World::user_id(&world.manager);
    world
        .crm
        .authenticate(world.org.id, "manager", "correct horse battery")
        .unwrap();
    world.crm.disable_user(&world.admin, user).unwrap();
    let error = world
        .crm
        .authenticate(world.org.id, "manager", "correct horse battery")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    let customer = world.customer(1029, "C");
    let order = world.order(&customer, "X", None);
    assert_eq!(
        world
            .crm
            .approve_order(&world.manager, order.id)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let world = World::new();
    let wrong = world
        .crm
        .authenticate(world.org.id, "admin", "not the password")
        .unwrap_err();
    let unknown = world
        .crm
        .authenticate(world.org.id, "nobody", "not the password")
        .unwrap_err();
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert_eq!(wrong.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_link_code_works_once_and_links_the_telegram_account() {
    let world = World::new();
    let code = world.crm.create_link_code(&world.worker).unwrap();
    assert_eq!(code.code.len(), 8);
    let user = world
        .crm
        .system()
        .redeem_link_code(
            world.org.id,
            &code.code.to_lowercase(),
            TelegramUserId::new(4242),
        )
        .unwrap();
    assert_eq!(user.telegram_id, Some(TelegramUserId::new(4242)));
    assert_eq!(
        world
            .crm
            .system()
            .user_by_telegram(world.org.id, TelegramUserId::new(4242))
            .unwrap()
            .map(|user| user.id),
        Some(user.id)
    );
    let error = world
        .crm
        .system()
        .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(4242))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let confirmation = notified(&world, Recipient::Staff(user.id));
    assert!(matches!(
        confirmation.as_slice(),
        [Event::StaffLinked { .. }]
    ));
}

#[test]
fn a_telegram_account_links_to_one_user_only() {
    let world = World::new();
    let first = world.crm.create_link_code(&world.worker).unwrap();
    world
        .crm
        .system()
        .redeem_link_code(world.org.id, &first.code, TelegramUserId::new(99))
        .unwrap();
    let second = world.crm.create_link_code(&world.worker2).unwrap();
    let error = world
        .crm
        .system()
        .redeem_link_code(world.org.id, &second.code, TelegramUserId::new(99))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
}

#[test]
fn usernames_are_unique_and_roles_must_exist() {
    let world = World::new();
    let attempt = |username: &str, role: &str| {
        world.crm.create_user(
            &world.admin,
            NewUser {
                username: username.into(),
                display_name: String::new(),
                password: crate::support::password(),
                roles: vec![role.into()],
                must_change_password: false,
            },
        )
    };
    assert_eq!(
        attempt("Worker", "worker").unwrap_err().kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        attempt("newbie", "wizard").unwrap_err().field(),
        Some("role")
    );
    assert_eq!(
        attempt("a b", "worker").unwrap_err().field(),
        Some("username")
    );
    let created = attempt("newbie", "worker").unwrap();
    assert_eq!(created.display_name, "newbie");
    let error = world
        .crm
        .create_user(
            &world.worker,
            NewUser {
                username: "sneaky".into(),
                display_name: String::new(),
                password: crate::support::password(),
                roles: vec!["administrator".into()],
                must_change_password: false,
            },
        )
        .unwrap_err();
    assert_eq!(error.permission(), Some(Permission::ManageUsers));
}

#[test]
fn a_stage_is_renamed_and_recoloured_without_touching_its_orders() {
    let world = World::new();
    let order = world.approved_order(1030, None);
    let approved = world.stage("approved");
    let update = StageUpdate {
        name: Localized::new("Accepted").with(Language::RU, "Принят"),
        color: "#112233".into(),
    };
    let error = world
        .crm
        .update_stage(&world.manager, approved, update.clone())
        .unwrap_err();
    assert_eq!(error.permission(), Some(Permission::ManageSettings));
    let bad = StageUpdate {
        color: "blue".into(),
        ..update.clone()
    };
    assert_eq!(
        world
            .crm
            .update_stage(&world.admin, approved, bad)
            .unwrap_err()
            .field(),
        Some("color")
    );
    assert_eq!(
        world
            .crm
            .update_stage(&world.admin, StageId::new(999), update.clone())
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let org = world
        .crm
        .update_stage(&world.admin, approved, update)
        .unwrap();
    let stage = org.pipeline.stage(approved).unwrap();
    assert_eq!(
        (
            stage.name(Language::EN),
            stage.name(Language::RU),
            stage.color.as_str()
        ),
        ("Accepted", "Принят", "#112233")
    );
    assert_eq!(stage.key, "approved");
    assert_eq!(
        world.crm.order(&world.admin, order.id).unwrap().stage,
        approved
    );
    let moved = world
        .crm
        .move_order(&world.manager, order.id, world.stage("in_progress"))
        .unwrap_err();
    assert!(
        moved.to_string().contains("needs an assignee"),
        "transitions still apply: {moved}"
    );
    let page = world
        .crm
        .list_orders(
            &world.admin,
            &OrderFilter {
                stage: Some(approved),
                ..OrderFilter::default()
            },
            Page::first(5),
        )
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[test]
fn the_order_list_page_shows_what_the_separate_queries_show_and_names_the_assignee() {
    let world = World::new();
    let order = world.approved_order(501, Some("1500"));
    world
        .crm
        .assign_order(
            &world.manager,
            order.id,
            AssignTo::User(World::user_id(&world.worker)),
        )
        .unwrap();
    world.approved_order(502, None);
    world
        .crm
        .create_marker(&world.admin, "Rust", "#123456")
        .unwrap();
    let filter = OrderFilter::default();
    let page = Page::first(50);
    let manager = world.manager.clone();
    let (list, rows, organization, markers, staff) = world
        .crm
        .read(|view| {
            Ok((
                crm_lib::orders::order_list_in(view, &manager, &filter, page)?,
                crm_lib::orders::order_rows_in(view, &manager, &filter, page)?,
                crm_lib::org::organization_in(view, &manager)?,
                crm_lib::team::markers_in(view, &manager)?,
                crm_lib::team::staff_names_in(view, &manager)?,
            ))
        })
        .unwrap();
    assert_eq!(list.rows, rows);
    assert_eq!(list.organization, organization);
    assert_eq!(list.markers, markers);
    assert_eq!(list.staff, staff);
    assert_eq!(list.rows.items.len(), 2);
    let assigned = &list.rows.items[1];
    assert_eq!(assigned.order.id, order.id);
    assert_eq!(assigned.customer_name, "Buyer");
    assert_eq!(assigned.assignee_name.as_deref(), Some("worker display"));

    let customer = world.customer(501, "Buyer");
    let refused = world
        .crm
        .read(|view| crm_lib::orders::order_list_in(view, &customer, &filter, page))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
}
