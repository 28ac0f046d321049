//! Contact merge: a caller known by phone and the same person on Telegram become one
//! customer; everything moves, `crm verify` stays clean, and refused merges write nothing.

use crm_lib::calls::{CallOutcome, sign_notification};
use crm_lib::chat::{InboundMessage, NewNote, OrderChoice};
use crm_lib::customers::NewCustomer;
use crm_lib::merge::MergeField;
use crm_lib::model::{
    Actor, Attachment, AuditAction, CallEvent, Customer, CustomerId, MediaKind, Module,
    TelegramUserId,
};
use crm_lib::orders::{AssignTo, OrderFilter};
use crm_lib::org::SettingsUpdate;
use crm_lib::{ErrorKind, Page};

use crate::support::{World, money};

const SECRET: &str = "zadarma-api-secret";

/// A studio with the tickets module (calls) and the operators module (conversations) on.
fn world() -> World {
    let world = World::new();
    world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                modules: vec![(Module::Tickets, true), (Module::Operators, true)],
                open_order_limit: Some(0),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    world.crm.set_zadarma_secret(&world.admin, SECRET).unwrap();
    world
}

/// A customer known by phone only, who called once and has one order.
fn caller(world: &World) -> Customer {
    let customer = world
        .crm
        .create_customer(
            &world.admin,
            NewCustomer {
                first_name: "Vera".into(),
                phone: "+79160000002".into(),
                email: "vera@example.com".into(),
                ..NewCustomer::default()
            },
        )
        .unwrap();
    let (notification, signature) = sign_notification(
        SECRET,
        CallEvent::Start,
        &[
            ("pbx_call_id", "in_1"),
            ("call_start", "2026-12-05 10:00:00"),
            ("caller_id", "79160000002"),
            ("called_did", "74950000000"),
        ],
    );
    let CallOutcome::Recorded(call) = world
        .crm
        .record_zadarma_notification(world.org.id, notification, Some(signature))
        .unwrap()
    else {
        panic!("the call was not recorded")
    };
    assert_eq!(call.customer, customer.id);
    world.order(
        &Actor::customer(world.org.id, customer.id),
        "Phone order",
        None,
    );
    customer
}

/// The same person on Telegram with one of everything: an assigned order with a bid, a
/// grant and payment details sent, a message with a photo, a private note, an open
/// conversation.
fn telegram_person(world: &World) -> Actor {
    let customer = world.customer(101, "Vera");
    let order = world.order(&customer, "Shop bot", Some("1000"));
    world.crm.approve_order(&world.manager, order.id).unwrap();
    let bid = world
        .crm
        .place_bid(&world.worker, order.id, money("900"), "two weeks")
        .unwrap();
    world
        .crm
        .assign_order(&world.manager, order.id, AssignTo::Bid(bid.id))
        .unwrap();
    world
        .crm
        .move_order(&world.worker, order.id, world.stage("in_progress"))
        .unwrap();
    let method = world.crm.payment_methods(&world.admin).unwrap()[0].id;
    world
        .crm
        .send_payment_info(&world.manager, order.id, method, money("900"))
        .unwrap();
    world
        .crm
        .grant_order_access(&world.manager, order.id, World::user_id(&world.worker2), 24)
        .unwrap();
    let photo = world
        .crm
        .system()
        .store_media(world.org.id, b"jpeg bytes".to_vec(), "image/jpeg".into())
        .unwrap();
    world
        .crm
        .post_inbound(
            &customer,
            InboundMessage {
                customer: World::customer_id(&customer),
                about: OrderChoice::Chosen(order.id),
                text: "here is the photo".into(),
                attachments: vec![Attachment {
                    media: photo.hash,
                    kind: MediaKind::Photo,
                    file_name: None,
                    mime: photo.mime.clone(),
                    size: photo.size,
                }],
                telegram_message_id: Some(7),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
    world
        .crm
        .post_note(
            &world.manager,
            NewNote {
                customer: World::customer_id(&customer),
                order: Some(order.id),
                text: "same person as the caller".into(),
            },
        )
        .unwrap();
    customer
}

fn orders_of(world: &World, customer: CustomerId) -> usize {
    world
        .crm
        .list_orders(
            &world.manager,
            &OrderFilter {
                customer: Some(customer),
                ..OrderFilter::default()
            },
            Page::first(100),
        )
        .unwrap()
        .items
        .len()
}

#[test]
fn a_merge_moves_every_record_fills_empty_fields_and_verify_stays_clean() {
    let world = world();
    let keep = caller(&world);
    let person = telegram_person(&world);
    let absorb = World::customer_id(&person);
    assert!(world.crm.system().verify().unwrap().is_clean());

    let preview = world
        .crm
        .merge_preview(&world.manager, keep.id, absorb)
        .unwrap();
    assert_eq!(preview.orders, 1);
    // The photo message, the payment details' message and the note.
    assert_eq!(preview.messages, 3);
    assert_eq!(preview.notes, 1);
    assert_eq!(preview.calls, 0);
    assert_eq!(preview.conversations, 1);
    assert_eq!(preview.payment_infos, 1);
    let filled: Vec<MergeField> = preview.filled.iter().map(|(field, _)| *field).collect();
    assert!(filled.contains(&MergeField::Telegram), "{filled:?}");
    assert!(filled.contains(&MergeField::Language), "{filled:?}");
    assert!(preview.dropped.is_empty(), "{:?}", preview.dropped);
    // The preview wrote nothing.
    assert!(world.crm.customer(&world.manager, absorb).is_ok());

    let done = world
        .crm
        .merge_customers(&world.manager, keep.id, absorb)
        .unwrap();
    assert_eq!(done.orders, preview.orders);
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{report:?}");

    // The absorbed customer is gone; its Telegram account leads to the kept one.
    assert_eq!(
        world
            .crm
            .customer(&world.manager, absorb)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let merged = world
        .crm
        .system()
        .customer_by_telegram(world.org.id, TelegramUserId::new(101))
        .unwrap()
        .unwrap();
    assert_eq!(merged.id, keep.id);
    assert_eq!(merged.phone.as_deref(), Some("+79160000002"));
    assert_eq!(merged.email.as_deref(), Some("vera@example.com"));
    assert_eq!(merged.unread, 1);
    // Every item is reachable under the kept customer.
    assert_eq!(orders_of(&world, keep.id), 2);
    assert_eq!(orders_of(&world, absorb), 0);
    let messages = world
        .crm
        .messages_of_customer(&world.manager, keep.id, Page::first(50))
        .unwrap();
    assert_eq!(messages.items.len(), 3);
    let timeline = world
        .crm
        .timeline(&world.manager, keep.id, None, 50)
        .unwrap();
    let kinds: Vec<&str> = timeline
        .items
        .iter()
        .map(|item| item.entry.kind())
        .collect();
    assert_eq!(kinds.iter().filter(|kind| **kind == "order").count(), 2);
    assert_eq!(kinds.iter().filter(|kind| **kind == "message").count(), 3);
    assert_eq!(kinds.iter().filter(|kind| **kind == "call").count(), 1);
    // The next message of the Telegram account lands in the kept conversation.
    world
        .crm
        .post_inbound(
            &Actor::customer(world.org.id, keep.id),
            InboundMessage {
                customer: keep.id,
                about: OrderChoice::None,
                text: "still me".into(),
                attachments: Vec::new(),
                telegram_message_id: Some(8),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
    // Audited once, naming both.
    let entries = world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(200))
        .unwrap()
        .items;
    let merges: Vec<_> = entries
        .iter()
        .filter(|entry| entry.action == AuditAction::CustomerMerged)
        .collect();
    assert_eq!(merges.len(), 1);
    let text = merges[0].detail.to_string();
    assert!(
        text.contains(&absorb.to_string()) && text.contains(&keep.id.to_string()),
        "{text}"
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn refused_merges_write_nothing_and_say_why() {
    let world = world();
    let keep = caller(&world);
    let person = telegram_person(&world);
    let absorb = World::customer_id(&person);
    let other = World::customer_id(&world.customer(202, "Other"));

    let same = world
        .crm
        .merge_customers(&world.manager, keep.id, keep.id)
        .unwrap_err();
    assert_eq!(same.kind(), ErrorKind::InvalidInput);
    let two_accounts = world
        .crm
        .merge_customers(&world.manager, absorb, other)
        .unwrap_err();
    assert_eq!(two_accounts.kind(), ErrorKind::Conflict);
    assert!(
        two_accounts.message().contains("Telegram"),
        "{two_accounts}"
    );
    let by_customer = world
        .crm
        .merge_customers(&person, keep.id, absorb)
        .unwrap_err();
    assert_eq!(by_customer.kind(), ErrorKind::PermissionDenied);
    let missing = world
        .crm
        .merge_customers(&world.manager, keep.id, CustomerId::new(9999))
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    // A customer of another organization is not found (the fourth there has an id no
    // customer here has).
    let elsewhere = world
        .crm
        .system()
        .create_organization("studio", "Elsewhere", "elsewhere")
        .unwrap();
    let strangers: Vec<Customer> = (0..4)
        .map(|_| {
            world
                .crm
                .create_customer(
                    &Actor::system(elsewhere.id),
                    NewCustomer {
                        first_name: "Stranger".into(),
                        ..NewCustomer::default()
                    },
                )
                .unwrap()
        })
        .collect();
    let stranger = &strangers[3];
    let across = world
        .crm
        .merge_customers(&world.manager, keep.id, stranger.id)
        .unwrap_err();
    assert_eq!(across.kind(), ErrorKind::NotFound);

    assert_eq!(orders_of(&world, absorb), 1);
    assert_eq!(orders_of(&world, keep.id), 1);
    assert!(world.crm.customer(&world.manager, absorb).is_ok());
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_value_both_have_is_kept_and_the_absorbed_one_listed_as_dropped() {
    let world = world();
    let keep = caller(&world);
    let twin = world
        .crm
        .create_customer(
            &world.admin,
            NewCustomer {
                first_name: "Vera".into(),
                phone: "+79160000003".into(),
                last_name: "Petrova".into(),
                ..NewCustomer::default()
            },
        )
        .unwrap();
    let preview = world
        .crm
        .merge_preview(&world.manager, keep.id, twin.id)
        .unwrap();
    assert_eq!(
        preview.dropped,
        vec![(MergeField::Phone, "+79160000003".to_string())]
    );
    assert_eq!(
        preview.filled,
        vec![(MergeField::LastName, "Petrova".to_string())]
    );
    let merged = world
        .crm
        .merge_customers(&world.manager, keep.id, twin.id)
        .unwrap()
        .result;
    assert_eq!(merged.phone.as_deref(), Some("+79160000002"));
    assert_eq!(merged.last_name.as_deref(), Some("Petrova"));
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn the_other_customer_is_found_by_number_name_username_email_or_phone_digits() {
    let world = world();
    let vera = caller(&world);
    let person = telegram_person(&world);
    let person_id = World::customer_id(&person);
    let ids = |query: &str, except: Option<CustomerId>| -> Vec<CustomerId> {
        world
            .crm
            .search_customers(&world.manager, query, except)
            .unwrap()
            .into_iter()
            .map(|customer| customer.id)
            .collect()
    };
    assert_eq!(ids(&format!("#{}", vera.id), None), vec![vera.id]);
    assert_eq!(ids(&vera.id.to_string(), None), vec![vera.id]);
    assert_eq!(ids("VERA@example", None), vec![vera.id]);
    assert_eq!(ids("916 000-0002", None), vec![vera.id]);
    assert_eq!(
        ids("000", None),
        Vec::<CustomerId>::new(),
        "three digits match no phone"
    );
    // The customer a merge keeps is never offered: the other Vera is.
    assert_eq!(ids("vera", Some(vera.id)), vec![person_id]);
    let person_record = world.crm.customer(&world.manager, person_id).unwrap();
    if let Some(username) = &person_record.username {
        assert_eq!(ids(&format!("@{username}"), None), vec![person_id]);
    }
    assert!(ids(&person_record.first_name, None).contains(&person_id));

    let empty = world
        .crm
        .search_customers(&world.manager, "  ", None)
        .unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::InvalidInput);
    // A customer looks nobody up.
    let denied = world
        .crm
        .search_customers(&person, "vera", None)
        .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
}
