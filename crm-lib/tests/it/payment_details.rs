//! Saved payment details: each staff user keeps their own per payment method, and they fill
//! the payment message that user sends (in place of `{details}`, or appended).

use crm_lib::{
    ErrorKind, Page,
    billing::SAVED_DETAILS_MAX_CHARS,
    model::{Actor, AuditAction, OrderId, PaymentMethodId},
};

use crate::support::World;

/// An order assigned to the worker and in progress, where payment details may be sent.
fn payable_order(world: &World, telegram_id: i64) -> OrderId {
    let order = world.assigned_order(telegram_id);
    world
        .crm
        .move_order(&world.worker, order.id, world.stage("in_progress"))
        .unwrap();
    order.id
}

#[test]
fn saved_payment_details_fill_the_message_of_the_user_who_sends_it() {
    let world = World::new();
    world.lift_order_limit();
    let card = world
        .crm
        .create_payment_method(
            &world.manager,
            "Card",
            "Pay {amount} {currency} for #{order} to:\n{details}",
        )
        .unwrap();
    let bank = world
        .crm
        .payment_methods(&Actor::system(world.org.id))
        .unwrap()[0]
        .clone();
    let order = payable_order(&world, 1101);

    // A template asking for saved details refuses a sender who has none.
    let error = world
        .crm
        .send_payment_info(&world.manager, order, card.id, crate::support::money("900"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert!(error.message().contains("profile page"), "{error}");

    // Details with placeholders of their own are not filled in again.
    let saved = world
        .crm
        .save_payment_details(&world.manager, card.id, "  4000 1234 {order}\nAnna S.  ")
        .unwrap();
    assert_eq!(
        saved.payment_details.get(card.id),
        Some("4000 1234 {order}\nAnna S.")
    );
    let info = world
        .crm
        .send_payment_info(&world.manager, order, card.id, crate::support::money("900"))
        .unwrap();
    assert_eq!(
        info.details,
        format!("Pay 900,00 USD for #{order} to:\n4000 1234 {{order}}\nAnna S.")
    );

    // Another sender's message carries their own details, or none.
    world
        .crm
        .save_payment_details(&world.admin, card.id, "IBAN DE00 9999")
        .unwrap();
    let admin_info = world
        .crm
        .send_payment_info(&world.admin, order, card.id, crate::support::money("900"))
        .unwrap();
    assert!(
        admin_info.details.ends_with("to:\nIBAN DE00 9999"),
        "{}",
        admin_info.details
    );

    // A template without the placeholder gets the sender's details appended.
    let plain = world
        .crm
        .send_payment_info(&world.admin, order, bank.id, crate::support::money("900"))
        .unwrap();
    assert!(
        !plain.details.contains("IBAN DE00 9999"),
        "nothing saved for the bank method"
    );
    world
        .crm
        .save_payment_details(&world.admin, bank.id, "Account 40817")
        .unwrap();
    let appended = world
        .crm
        .send_payment_info(&world.admin, order, bank.id, crate::support::money("900"))
        .unwrap();
    assert_eq!(
        appended.details,
        format!("{}\n\nAccount 40817", plain.details)
    );

    // An empty text removes the details; the audit log names the method, never the details.
    let removed = world
        .crm
        .save_payment_details(&world.manager, card.id, "   ")
        .unwrap();
    assert_eq!(removed.payment_details.get(card.id), None);
    let log = world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(500))
        .unwrap()
        .items;
    let entries: Vec<String> = log
        .iter()
        .filter(|entry| entry.action == AuditAction::UserPaymentDetailsChanged)
        .map(|entry| entry.detail.to_string())
        .collect();
    assert_eq!(entries.len(), 4, "three saves and one removal: {entries:?}");
    assert!(
        entries
            .iter()
            .all(|text| !text.contains("4000") && !text.contains("DE00"))
    );
    assert!(
        entries.contains(&"removed for Card".to_string()),
        "{entries:?}"
    );
}

#[test]
fn saving_payment_details_checks_the_length_the_method_and_the_actor() {
    let world = World::new();
    let method = world
        .crm
        .payment_methods(&Actor::system(world.org.id))
        .unwrap()[0]
        .id;
    let longest = "x".repeat(SAVED_DETAILS_MAX_CHARS);
    let user = world
        .crm
        .save_payment_details(&world.worker, method, &longest)
        .unwrap();
    assert_eq!(user.payment_details.get(method), Some(longest.as_str()));
    let too_long = world
        .crm
        .save_payment_details(&world.worker, method, &format!("{longest}x"))
        .unwrap_err();
    assert_eq!(too_long.field(), Some("details"));
    assert_eq!(
        world
            .crm
            .save_payment_details(&world.worker, method, "bad\u{7}bell")
            .unwrap_err()
            .field(),
        Some("details")
    );
    assert_eq!(
        world
            .crm
            .save_payment_details(&world.worker, PaymentMethodId::new(999), "x")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let customer = world.customer(1102, "Vera");
    assert_eq!(
        world
            .crm
            .save_payment_details(&customer, method, "x")
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .own_payment_details(&Actor::system(world.org.id))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    // What was refused left the saved text as it was; saving it again writes nothing.
    let rows = world.crm.own_payment_details(&world.worker).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].details.as_deref(), Some(longest.as_str()));
    let before = world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(500))
        .unwrap()
        .items
        .len();
    world
        .crm
        .save_payment_details(&world.worker, method, &longest)
        .unwrap();
    let after = world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(500))
        .unwrap()
        .items
        .len();
    assert_eq!(before, after);
}
