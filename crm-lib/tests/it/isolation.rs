//! Tenant isolation: two organizations in one file; nothing done in one reads or changes the
//! other (SPEC section 4: "no query crosses organizations").

use crm_lib::{
    Crm, ErrorKind, Page,
    model::{Actor, Customer, Marker, Order, OrgId, OutboxItem, TelegramUserId, User},
    orders::OrderFilter,
    org::SettingsUpdate,
};

use crate::support::World;

/// Everything of one organization that a stray write could change.
type Snapshot = (
    Vec<Order>,
    Vec<User>,
    Vec<Customer>,
    Vec<OutboxItem>,
    Vec<Marker>,
);

fn snapshot(crm: &Crm, org: OrgId) -> Snapshot {
    (
        crm.system().all_orders(org).unwrap(),
        crm.users(&Actor::system(org)).unwrap(),
        crm.system().all_customers(org).unwrap(),
        crm.system().outbox_items(org).unwrap(),
        crm.markers(&Actor::system(org)).unwrap(),
    )
}

#[test]
fn nothing_done_in_one_organization_reads_or_changes_another() {
    let world_a = World::new();
    let org_b = world_a
        .crm
        .system()
        .create_organization("service", "Other Shop", "other")
        .unwrap();
    let world_b = World::in_org(tempfile::tempdir().unwrap(), world_a.crm.clone(), org_b);

    // Organization A: three orders at different stages, a marker, a linked user.
    let alice = world_a.customer(5001, "Alice");
    let a1 = world_a.order(&alice, "Alpha one", Some("100"));
    let a2 = world_a.approved_order(5002, Some("200"));
    let a3 = world_a.assigned_order(5003);
    world_a
        .crm
        .create_marker(&world_a.admin, "Rust", "#dea584")
        .unwrap();
    let before = snapshot(&world_a.crm, world_a.org.id);

    // Organization B works with the same Telegram ids and the same numeric ids.
    let bob = world_b.customer(5001, "Bob in B");
    let alice_now = world_a
        .crm
        .system()
        .customer_by_telegram(world_a.org.id, TelegramUserId::new(5001))
        .unwrap()
        .unwrap();
    let bob_now = world_b
        .crm
        .system()
        .customer_by_telegram(world_b.org.id, TelegramUserId::new(5001))
        .unwrap()
        .unwrap();
    assert_eq!(
        (alice_now.first_name.as_str(), bob_now.first_name.as_str()),
        ("Alice", "Bob in B"),
        "same telegram id, separate customers"
    );
    assert_eq!(World::customer_id(&bob), bob_now.id);
    let _ = World::customer_id(&alice);
    let b1 = world_b.order(&bob, "Beta one", None);
    assert_eq!(b1.id, a1.id, "order numbers are per organization");

    // B sees only its own order, whatever id it asks for.
    let page = world_b
        .crm
        .list_orders(&world_b.admin, &OrderFilter::default(), Page::first(50))
        .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|order| order.title.as_str())
            .collect::<Vec<_>>(),
        vec!["Beta one"]
    );
    for id in [a2.id, a3.id] {
        assert_eq!(
            world_b.crm.order(&world_b.admin, id).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            world_b
                .crm
                .approve_order(&world_b.admin, id)
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            world_b
                .crm
                .place_bid(&world_b.worker, id, crate::support::money("1"), "")
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            world_b.crm.bids(&world_b.admin, id).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
    let search = OrderFilter {
        search: Some("alpha".into()),
        ..OrderFilter::default()
    };
    assert!(
        world_b
            .crm
            .list_orders(&world_b.admin, &search, Page::first(50))
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        world_b
            .crm
            .markers(&Actor::system(world_b.org.id))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        world_b
            .crm
            .list_customers(&world_b.admin, Page::first(50))
            .unwrap()
            .items
            .iter()
            .map(|c| c.first_name.as_str())
            .collect::<Vec<_>>(),
        vec!["Bob in B"]
    );

    // B's staff act on B's data; A's staff ids mean nothing in B.
    world_b
        .crm
        .move_order(&world_b.manager, b1.id, world_b.stage("processing"))
        .unwrap();
    world_b
        .crm
        .create_marker(&world_b.admin, "Rust", "#000000")
        .unwrap();
    let code = world_b.crm.create_link_code(&world_b.worker).unwrap();
    assert_eq!(
        world_a
            .crm
            .system()
            .redeem_link_code(world_a.org.id, &code.code, TelegramUserId::new(1))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput,
        "a code of B is unknown in A"
    );
    world_b
        .crm
        .update_settings(
            &world_b.admin,
            SettingsUpdate {
                open_order_limit: Some(9),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();

    assert_eq!(
        snapshot(&world_a.crm, world_a.org.id),
        before,
        "organization A is untouched"
    );
    assert_eq!(
        world_a
            .crm
            .system()
            .organization(world_a.org.id)
            .unwrap()
            .settings
            .open_order_limit,
        2
    );
    let counts_a: u64 = world_a
        .crm
        .stage_counts(&Actor::system(world_a.org.id))
        .unwrap()
        .iter()
        .map(|count| count.orders)
        .sum();
    assert_eq!(counts_a, 3);
}
