//! The new order's choices (C0de seed's bot form: stack markers, then the preferred payment
//! method): what may be chosen, who may see the choices, and what `create_order` refuses.

use crm_lib::{
    ErrorKind, Page,
    audit::{AuditFilter, audit_in},
    model::{
        Actor, AuditAction, ChangeKind, MarkerId, Order, PaymentMethodId, Permission, Subject,
    },
    orders::{NewOrder, OrderFilter, PaymentMethodChoice, new_order_choices_in, order_detail_in},
};

use crate::support::World;

fn new_order(title: &str, markers: &[u64], method: Option<u64>) -> NewOrder {
    NewOrder {
        title: title.into(),
        description: format!("{title}: details"),
        markers: markers.iter().copied().map(MarkerId::new).collect(),
        preferred_payment_method: method.map(PaymentMethodId::new),
        ..NewOrder::default()
    }
}

/// The organization's first payment method (every organization starts with one, active).
fn bank_transfer(world: &World) -> PaymentMethodId {
    world.crm.payment_methods(&world.system).unwrap()[0].id
}

fn orders_of(world: &World, customer: &Actor) -> Vec<Order> {
    world
        .crm
        .list_orders(customer, &OrderFilter::default(), Page::first(50))
        .unwrap()
        .items
}

fn audit_count(world: &World) -> usize {
    world
        .crm
        .read(|view| {
            audit_in(
                view,
                &world.system,
                &AuditFilter::default(),
                Page::first(500),
            )
        })
        .unwrap()
        .items
        .len()
}

#[test]
fn a_customer_tags_a_new_order_with_markers_and_says_how_they_would_like_to_pay() {
    let world = World::new();
    let customer = world.customer(2001, "Anna");
    let method = bank_transfer(&world);
    let start = world.crm.latest_change(&world.admin).unwrap();
    // The studio's markers: Python is 1, JavaScript 2, React 5. A repeated one is dropped.
    let order = world
        .crm
        .create_order(
            &customer,
            new_order("Shop bot", &[5, 1, 5], Some(method.get())),
        )
        .unwrap();
    assert_eq!(order.markers, [MarkerId::new(5), MarkerId::new(1)]);
    assert_eq!(order.preferred_payment_method, Some(method));
    assert_eq!(world.crm.order(&customer, order.id).unwrap(), order);

    // The order is found by its markers, and its page names the preferred method.
    let tagged = world
        .crm
        .list_orders(
            &world.manager,
            &OrderFilter {
                marker: Some(MarkerId::new(1)),
                ..OrderFilter::default()
            },
            Page::first(10),
        )
        .unwrap();
    assert_eq!(tagged.items.len(), 1);
    let detail = world
        .crm
        .read(|view| order_detail_in(view, &world.manager, order.id))
        .unwrap();
    let preferred = detail.preferred_payment_method.unwrap();
    assert_eq!(
        (preferred.id, preferred.name.as_str()),
        (method, "Bank transfer")
    );
    assert_eq!(
        detail
            .markers
            .iter()
            .map(|marker| marker.id.get())
            .collect::<Vec<_>>(),
        [1, 5]
    );

    // One audit entry and one change, as for every new order.
    let created: Vec<_> = world
        .crm
        .read(|view| {
            audit_in(
                view,
                &world.system,
                &AuditFilter {
                    subject: Some(Subject::Order(order.id)),
                    ..AuditFilter::default()
                },
                Page::first(10),
            )
        })
        .unwrap()
        .items
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(created, [AuditAction::OrderCreated]);
    let changes: Vec<ChangeKind> = world
        .crm
        .changes(&world.admin, start, 100)
        .unwrap()
        .into_iter()
        .filter(|change| change.subject == Subject::Order(order.id))
        .map(|change| change.kind)
        .collect();
    assert_eq!(changes, [ChangeKind::Created]);
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn without_markers_or_a_method_the_order_has_none() {
    let world = World::new();
    let customer = world.customer(2002, "Boris");
    let order = world
        .crm
        .create_order(&customer, new_order("Plain", &[], None))
        .unwrap();
    assert!(order.markers.is_empty());
    assert_eq!(order.preferred_payment_method, None);
}

#[test]
fn an_unknown_marker_is_refused_on_the_markers_field_and_nothing_is_written() {
    let world = World::new();
    let customer = world.customer(2003, "Carl");
    let audited = audit_count(&world);
    // The studio has ten markers: 10 is the last, 11 none.
    let error = world
        .crm
        .create_order(&customer, new_order("Tagged", &[10, 11], None))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.field(), Some("markers"));
    assert!(error.message().contains("marker 11 not found"), "{error}");
    assert!(orders_of(&world, &customer).is_empty());
    assert_eq!(audit_count(&world), audited, "nothing was written");
    // At the limit of what exists, the same order is taken.
    let order = world
        .crm
        .create_order(&customer, new_order("Tagged", &[10], None))
        .unwrap();
    assert_eq!(order.markers, [MarkerId::new(10)]);
}

#[test]
fn a_marker_deleted_after_the_form_showed_it_is_refused() {
    let world = World::new();
    let customer = world.customer(2004, "Dina");
    let rust = world
        .crm
        .create_marker(&world.admin, "Rust", "#dea584")
        .unwrap();
    world.crm.delete_marker(&world.admin, rust.id).unwrap();
    let error = world
        .crm
        .create_order(&customer, new_order("Crate", &[rust.id.get()], None))
        .unwrap_err();
    assert_eq!(error.field(), Some("markers"));
    assert!(orders_of(&world, &customer).is_empty());
}

#[test]
fn the_preferred_payment_method_must_be_an_active_one_of_the_organization() {
    let world = World::new();
    world.lift_order_limit();
    let customer = world.customer(2005, "Egor");
    let card = world
        .crm
        .create_payment_method(&world.manager, "Card", "Pay {amount} by card")
        .unwrap();

    let unknown = world
        .crm
        .create_order(&customer, new_order("Unknown method", &[], Some(99)))
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::InvalidInput);
    assert_eq!(unknown.field(), Some("preferred_payment_method"));
    assert!(
        unknown.message().contains("payment method 99 not found"),
        "{unknown}"
    );

    world
        .crm
        .set_payment_method_active(&world.manager, card.id, false)
        .unwrap();
    let audited = audit_count(&world);
    let off = world
        .crm
        .create_order(&customer, new_order("Card", &[], Some(card.id.get())))
        .unwrap_err();
    assert_eq!(off.kind(), ErrorKind::InvalidInput);
    assert_eq!(off.field(), Some("preferred_payment_method"));
    assert!(off.message().contains("(Card) is switched off"), "{off}");
    assert!(orders_of(&world, &customer).is_empty());
    assert_eq!(audit_count(&world), audited, "nothing was written");

    world
        .crm
        .set_payment_method_active(&world.manager, card.id, true)
        .unwrap();
    let by_card = world
        .crm
        .create_order(&customer, new_order("Card", &[], Some(card.id.get())))
        .unwrap();
    assert_eq!(by_card.preferred_payment_method, Some(card.id));

    // Switching the method off later keeps what the customer said; the order page still
    // names it, while the payment form offers only active methods.
    world
        .crm
        .set_payment_method_active(&world.manager, card.id, false)
        .unwrap();
    let detail = world
        .crm
        .read(|view| order_detail_in(view, &world.admin, by_card.id))
        .unwrap();
    assert_eq!(
        detail.preferred_payment_method.map(|method| method.name),
        Some("Card".to_string())
    );
    assert_eq!(
        world
            .crm
            .order(&customer, by_card.id)
            .unwrap()
            .preferred_payment_method,
        Some(card.id)
    );
}

#[test]
fn a_marker_or_a_method_of_another_organization_is_refused() {
    let world = World::new();
    let other = world
        .crm
        .system()
        .create_organization("studio", "Other Studio", "other")
        .unwrap();
    let system = Actor::system(other.id);
    let theirs = world
        .crm
        .create_payment_method(&system, "Their card", "Pay {amount}")
        .unwrap();
    let their_marker = world
        .crm
        .create_marker(&system, "Theirs", "#000000")
        .unwrap();
    let customer = world.customer(2006, "Fedor");
    // Ids are numbered per organization: these exist only in the other one.
    assert_eq!(world.crm.payment_methods(&world.system).unwrap().len(), 1);
    let method = world
        .crm
        .create_order(&customer, new_order("Theirs", &[], Some(theirs.id.get())))
        .unwrap_err();
    assert_eq!(method.field(), Some("preferred_payment_method"));
    let marker = world
        .crm
        .create_order(
            &customer,
            new_order("Theirs", &[their_marker.id.get()], None),
        )
        .unwrap_err();
    assert_eq!(marker.field(), Some("markers"));
}

#[test]
fn staff_who_create_orders_for_customers_set_the_same_choices() {
    let world = World::new();
    let customer = world.customer(2007, "Galina");
    let method = bank_transfer(&world);
    let order = world
        .crm
        .create_order(
            &world.manager,
            NewOrder {
                customer: Some(World::customer_id(&customer)),
                ..new_order("By phone", &[2], Some(method.get()))
            },
        )
        .unwrap();
    assert_eq!(order.markers, [MarkerId::new(2)]);
    assert_eq!(order.preferred_payment_method, Some(method));
    let refused = world
        .crm
        .create_order(
            &world.manager,
            NewOrder {
                customer: Some(World::customer_id(&customer)),
                ..new_order("By phone", &[], Some(42))
            },
        )
        .unwrap_err();
    assert_eq!(refused.field(), Some("preferred_payment_method"));
}

#[test]
fn the_choices_are_every_marker_and_the_active_methods_by_name_only() {
    let world = World::new();
    let customer = world.customer(2008, "Hanna");
    let card = world
        .crm
        .create_payment_method(&world.manager, "Card", "Card 4000 0000 0000 0002")
        .unwrap();
    let cash = world
        .crm
        .create_payment_method(&world.manager, "Cash", "Cash on delivery")
        .unwrap();
    world
        .crm
        .set_payment_method_active(&world.manager, cash.id, false)
        .unwrap();
    let choices = world.crm.new_order_choices(&customer).unwrap();
    assert_eq!(choices.markers.len(), 10, "the studio's ten markers");
    assert_eq!(
        choices.markers[0].name.get(crm_lib::model::Language::EN),
        "Python"
    );
    assert_eq!(
        choices.payment_methods,
        [
            PaymentMethodChoice {
                id: bank_transfer(&world),
                name: "Bank transfer".into(),
            },
            PaymentMethodChoice {
                id: card.id,
                name: "Card".into(),
            },
        ]
    );
    // Staff who create orders for customers see the same; others are refused.
    assert_eq!(
        world.crm.new_order_choices(&world.manager).unwrap(),
        choices
    );
    assert_eq!(world.crm.new_order_choices(&world.system).unwrap(), choices);
    let worker = world.crm.new_order_choices(&world.worker).unwrap_err();
    assert_eq!(worker.kind(), ErrorKind::PermissionDenied);
    assert_eq!(worker.permission(), Some(Permission::ModerateOrders));
    let stranger = Actor::customer(world.org.id, crm_lib::model::CustomerId::new(999));
    let error = world
        .crm
        .read(|view| new_order_choices_in(view, &stranger))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    // An organization that switched every method off offers none.
    for method in [bank_transfer(&world), card.id] {
        world
            .crm
            .set_payment_method_active(&world.manager, method, false)
            .unwrap();
    }
    assert!(
        world
            .crm
            .new_order_choices(&customer)
            .unwrap()
            .payment_methods
            .is_empty()
    );
}
