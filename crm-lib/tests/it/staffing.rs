//! Who works on an order: the bidders' skills, staff suggested by the order's markers, and
//! delegated access (a user's temporary right to view one order and chat about it), whose
//! expiry follows the store's clock.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::{
    Crm, CrmOptions, ErrorKind, Page,
    audit::{AuditFilter, audit_in},
    chat::OutboundMessage,
    model::{
        Actor, AuditAction, AuditDetail, Marker, MarkerId, Order, Permission, PermissionSet,
        Subject, Timestamp, UserId,
    },
    orders::AssignTo,
    staffing::{ACCESS_MAX_HOURS, OrderAccess},
    team::NewUser,
};

use crate::support::{World, password};

fn marker(world: &World, name: &str) -> Marker {
    world
        .crm
        .markers(&Actor::system(world.org.id))
        .unwrap()
        .into_iter()
        .find(|marker| marker.name.get(crm_lib::model::Language::EN) == name)
        .unwrap_or_else(|| panic!("no marker {name}"))
}

fn ids(markers: &[Marker]) -> Vec<MarkerId> {
    markers.iter().map(|marker| marker.id).collect()
}

/// A staff user whose role holds no permission at all: only grants let them near an order.
fn outsider(world: &World, username: &str) -> Actor {
    if world
        .crm
        .roles(&Actor::system(world.org.id))
        .unwrap()
        .iter()
        .all(|role| role.name != "guest")
    {
        world
            .crm
            .create_role(&world.admin, "guest", PermissionSet::EMPTY)
            .unwrap();
    }
    let user = world
        .crm
        .create_user(
            &world.admin,
            NewUser {
                username: username.into(),
                display_name: format!("{username} display"),
                password: password(),
                roles: vec!["guest".into()],
                must_change_password: false,
            },
        )
        .unwrap();
    Actor::staff(world.org.id, user.id)
}

fn message(order: &Order, text: &str) -> OutboundMessage {
    OutboundMessage {
        customer: order.customer,
        order: Some(order.id),
        text: text.into(),
        attachments: Vec::new(),
        reply_to: None,
        content: None,
    }
}

/// The typed audit entries about `order`, oldest first.
fn order_audit(world: &World, order: &Order) -> Vec<(AuditAction, AuditDetail)> {
    let filter = AuditFilter {
        subject: Some(Subject::Order(order.id)),
        ..AuditFilter::default()
    };
    let mut entries = world
        .crm
        .read(|view| audit_in(view, &world.admin, &filter, Page::first(100)))
        .unwrap()
        .items;
    entries.sort_by_key(|entry| entry.id);
    entries
        .into_iter()
        .map(|entry| (entry.action, entry.detail))
        .collect()
}

#[test]
fn a_bid_shows_its_bidders_skills_to_staff_and_never_to_customers() {
    let world = World::new();
    let (python, react) = (marker(&world, "Python"), marker(&world, "React"));
    let worker = World::user_id(&world.worker);
    world
        .crm
        .set_user_markers(&world.admin, worker, vec![react.id, python.id])
        .unwrap();
    let order = world.approved_order(801, Some("1000"));
    world
        .crm
        .place_bid(&world.worker, order.id, crate::support::money("900"), "")
        .unwrap();
    world
        .crm
        .place_bid(&world.worker2, order.id, crate::support::money("800"), "")
        .unwrap();

    let skills = world.crm.bidder_skills(&world.manager, order.id).unwrap();
    assert_eq!(skills.len(), 2);
    assert_eq!(skills[0].user, worker);
    assert_eq!(skills[0].markers, vec![react, python], "in the order given");
    assert_eq!(skills[1].user, World::user_id(&world.worker2));
    assert!(skills[1].markers.is_empty());

    let customer = Actor::customer(world.org.id, order.customer);
    assert_eq!(
        world
            .crm
            .bidder_skills(&customer, order.id)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn staff_are_suggested_by_how_many_of_the_orders_markers_they_have() {
    let world = World::new();
    let python = marker(&world, "Python");
    let react = marker(&world, "React");
    let postgres = marker(&world, "PostgreSQL");
    let vue = marker(&world, "Vue");
    let skills = [
        (&world.worker, vec![python.id, vue.id]),
        (&world.worker2, vec![postgres.id, react.id, python.id]),
        (&world.master, vec![vue.id]),
        (&world.manager, vec![react.id]),
    ];
    for (actor, markers) in skills {
        world
            .crm
            .set_user_markers(&world.admin, World::user_id(actor), markers)
            .unwrap();
    }
    let order = world.approved_order(802, None);
    // An order without markers suggests nobody.
    assert!(
        world
            .crm
            .suggested_staff(&world.manager, order.id)
            .unwrap()
            .is_empty()
    );
    world
        .crm
        .set_order_markers(
            &world.manager,
            order.id,
            vec![react.id, python.id, postgres.id],
        )
        .unwrap();

    let suggested = world.crm.suggested_staff(&world.manager, order.id).unwrap();
    let ranking: Vec<(&str, Vec<MarkerId>)> = suggested
        .iter()
        .map(|suggestion| (suggestion.user.username.as_str(), ids(&suggestion.matching)))
        .collect();
    assert_eq!(
        ranking,
        vec![
            ("worker2", vec![react.id, python.id, postgres.id]),
            // One match each: by display name.
            ("manager", vec![react.id]),
            ("worker", vec![python.id]),
        ],
        "the master, whose Vue is not on the order, is left out"
    );

    // A disabled user is not suggested.
    world
        .crm
        .disable_user(&world.admin, World::user_id(&world.worker2))
        .unwrap();
    let after: Vec<String> = world
        .crm
        .suggested_staff(&world.manager, order.id)
        .unwrap()
        .into_iter()
        .map(|suggestion| suggestion.user.username)
        .collect();
    assert_eq!(after, ["manager", "worker"]);

    // Suggestions are for those who assign.
    assert_eq!(
        world
            .crm
            .suggested_staff(&world.worker, order.id)
            .unwrap_err()
            .permission(),
        Some(Permission::AssignOrders)
    );
}

#[test]
fn delegated_access_lets_a_user_see_and_chat_about_one_order_until_revoked() {
    let world = World::new();
    let helper = outsider(&world, "helper");
    let helper_id = World::user_id(&helper);
    let order = world.assigned_order(803);
    let other = world.approved_order(804, None);

    // Without a grant the order does not exist for them, and they may not write about it.
    assert_eq!(
        world.crm.order(&helper, order.id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(
        world
            .crm
            .post_outbound(&helper, message(&order, "hello"))
            .is_err()
    );

    let access = world
        .crm
        .grant_order_access(&world.manager, order.id, helper_id, 24)
        .unwrap();
    assert_eq!(
        access.permissions,
        vec![Permission::ViewOrders, Permission::ChatCustomers]
    );
    assert_eq!(world.crm.order(&helper, order.id).unwrap().id, order.id);
    world
        .crm
        .post_outbound(&helper, message(&order, "I will help with the database"))
        .unwrap();
    // One order only: the other stays out of reach.
    assert_eq!(
        world.crm.order(&helper, other.id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(
        world
            .crm
            .post_outbound(&helper, message(&other, "hello"))
            .is_err()
    );

    // The order page lists the delegation beside the assignee's chat access.
    let listed = world.crm.order_access(&world.manager, order.id).unwrap();
    let worker = World::user_id(&world.worker);
    assert_eq!(
        listed,
        vec![
            OrderAccess {
                user: worker,
                display_name: "worker display".into(),
                permissions: vec![Permission::ChatCustomers],
                expires_at: None,
            },
            access.clone(),
        ]
    );
    assert!(!listed[0].revocable() && listed[1].revocable());

    world
        .crm
        .revoke_order_access(&world.manager, order.id, helper_id)
        .unwrap();
    assert_eq!(
        world.crm.order(&helper, order.id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert!(
        world
            .crm
            .post_outbound(&helper, message(&order, "still here?"))
            .is_err()
    );
    // Revoking again finds nothing, and writes nothing.
    assert_eq!(
        world
            .crm
            .revoke_order_access(&world.manager, order.id, helper_id)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let audit: Vec<(AuditAction, AuditDetail)> = order_audit(&world, &order)
        .into_iter()
        .filter(|(action, _)| action.area() == "order" && action.as_str().contains("access"))
        .collect();
    assert_eq!(
        audit,
        vec![
            (
                AuditAction::OrderAccessGranted,
                AuditDetail::Access {
                    user: helper_id,
                    until: access.expires_at,
                }
            ),
            (
                AuditAction::OrderAccessRevoked,
                AuditDetail::Access {
                    user: helper_id,
                    until: None,
                }
            ),
        ]
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn granting_access_checks_the_hours_the_user_and_the_permission() {
    let world = World::new();
    let helper = outsider(&world, "helper");
    let helper_id = World::user_id(&helper);
    let order = world.approved_order(805, None);
    let grant = |actor: &Actor, user: UserId, hours: u32| {
        world.crm.grant_order_access(actor, order.id, user, hours)
    };

    for hours in [0, ACCESS_MAX_HOURS + 1] {
        let error = grant(&world.manager, helper_id, hours).unwrap_err();
        assert_eq!(error.field(), Some("hours"), "{hours}: {error}");
    }
    assert_eq!(
        grant(&world.worker, helper_id, 1).unwrap_err().permission(),
        Some(Permission::AssignOrders)
    );
    assert_eq!(
        grant(&world.manager, UserId::new(999), 1)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let manager = World::user_id(&world.manager);
    assert_eq!(
        grant(&world.manager, manager, 1).unwrap_err().kind(),
        ErrorKind::Conflict,
        "nobody grants themself"
    );
    world.crm.disable_user(&world.admin, helper_id).unwrap();
    assert_eq!(
        grant(&world.manager, helper_id, 1).unwrap_err().kind(),
        ErrorKind::Conflict
    );
    world.crm.enable_user(&world.admin, helper_id).unwrap();
    // None of the refusals wrote anything.
    assert!(
        world
            .crm
            .order_access(&world.manager, order.id)
            .unwrap()
            .is_empty()
    );
    assert!(
        !order_audit(&world, &order)
            .iter()
            .any(|(action, _)| *action == AuditAction::OrderAccessGranted)
    );

    // The longest access is 90 days, to the millisecond of the grant.
    let longest = grant(&world.manager, helper_id, ACCESS_MAX_HOURS).unwrap();
    let expires = longest.expires_at.unwrap();
    let now = Timestamp::now();
    let ninety_days = i64::from(ACCESS_MAX_HOURS) * 3_600_000;
    assert!(
        expires <= now.plus_millis(ninety_days) && expires > now.plus_millis(ninety_days - 60_000),
        "{expires:?}"
    );
    // Granting again replaces the expiry.
    let shorter = grant(&world.manager, helper_id, 2).unwrap();
    assert!(shorter.expires_at < longest.expires_at);
    assert_eq!(
        world.crm.order_access(&world.manager, order.id).unwrap(),
        vec![shorter]
    );
}

#[test]
fn a_delegation_never_shortens_the_assignees_chat_access() {
    let world = World::new();
    let order = world.assigned_order(806);
    let worker = World::user_id(&world.worker);
    let access = world
        .crm
        .grant_order_access(&world.manager, order.id, worker, 1)
        .unwrap();
    assert_eq!(
        access.permissions,
        vec![Permission::ViewOrders],
        "the assignee's chat access stays as it was"
    );
    world
        .crm
        .revoke_order_access(&world.manager, order.id, worker)
        .unwrap();
    let listed = world.crm.order_access(&world.manager, order.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].permissions, vec![Permission::ChatCustomers]);
    assert_eq!(listed[0].expires_at, None);

    // Assigning someone else ends the previous assignee's chat access.
    world
        .crm
        .assign_order(
            &world.manager,
            order.id,
            AssignTo::User(World::user_id(&world.worker2)),
        )
        .unwrap();
    let listed = world.crm.order_access(&world.manager, order.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user, World::user_id(&world.worker2));
}

/// How far this test's clock is ahead of the system clock, in milliseconds.
static AHEAD: AtomicI64 = AtomicI64::new(0);

fn clock() -> Timestamp {
    Timestamp::now().plus_millis(AHEAD.load(Ordering::SeqCst))
}

#[test]
fn delegated_access_ends_when_the_store_clock_passes_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), clock).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Clock Studio", "clock")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    let helper = outsider(&world, "helper");
    let helper_id = World::user_id(&helper);
    let order = world.approved_order(807, None);
    world
        .crm
        .grant_order_access(&world.manager, order.id, helper_id, 1)
        .unwrap();

    AHEAD.store(59 * 60_000, Ordering::SeqCst);
    assert_eq!(world.crm.order(&helper, order.id).unwrap().id, order.id);
    assert_eq!(
        world
            .crm
            .order_access(&world.manager, order.id)
            .unwrap()
            .len(),
        1
    );

    AHEAD.store(61 * 60_000, Ordering::SeqCst);
    assert_eq!(
        world.crm.order(&helper, order.id).unwrap_err().kind(),
        ErrorKind::NotFound,
        "an hour's access is over after 61 minutes"
    );
    assert!(
        world
            .crm
            .post_outbound(&helper, message(&order, "too late"))
            .is_err()
    );
    assert!(
        world
            .crm
            .order_access(&world.manager, order.id)
            .unwrap()
            .is_empty(),
        "an expired grant is no longer listed"
    );
    // Revoking an expired access clears it.
    world
        .crm
        .revoke_order_access(&world.manager, order.id, helper_id)
        .unwrap();
    assert!(world.crm.system().verify().unwrap().is_clean());
}
