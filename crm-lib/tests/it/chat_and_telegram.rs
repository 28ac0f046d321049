//! Chat, media, billing, the Telegram inbox and outbox, and the audit log, through `Crm`.

#![allow(clippy::unwrap_used)]

use crm_lib::{
    ErrorKind, MEDIA_MAX_SIZE, Page,
    audit::AuditFilter,
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    model::{
        Actor, Attachment, AuditAction, Author, BotReply, Button, ChatId, DeliveryFailure,
        DeliveryState, Direction, Event, InboxState, Keyboard, Media, MediaHash, MediaKind, Money,
        Order, OutboxPayload, OutboxState, Permission, Recipient, Timestamp,
    },
    telegram::{INBOX_CAPACITY, InboxPut},
};

use crate::support::World;

fn text_to(customer: &Actor, text: &str) -> OutboundMessage {
    OutboundMessage {
        customer: World::customer_id(customer),
        order: None,
        text: text.into(),
        attachments: Vec::new(),
        reply_to: None,
        content: None,
    }
}

/// Telegram's next `message_id`: unique, as in a real chat (the same id again is the same
/// message, recorded once).
fn next_telegram_id() -> i64 {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn text_from(customer: &Actor, text: &str) -> InboundMessage {
    InboundMessage {
        customer: World::customer_id(customer),
        about: OrderChoice::None,
        text: text.into(),
        attachments: Vec::new(),
        telegram_message_id: Some(next_telegram_id()),
        content: None,
        reply_to_telegram: None,
        media_group: None,
    }
}

fn customer_of(world: &World, order: &Order) -> Actor {
    Actor::customer(world.org.id, order.customer)
}

#[test]
fn inbound_message_increments_unread_and_is_listed() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let id = World::customer_id(&alice);

    let first = world
        .crm
        .post_inbound(&alice, text_from(&alice, "hello"))
        .unwrap();
    let second = world
        .crm
        .post_inbound(&alice, text_from(&alice, "  are you there?  "))
        .unwrap();
    assert_eq!(first.direction, Direction::Inbound);
    assert_eq!(first.delivery, DeliveryState::Received);
    assert_eq!(first.author, Author::Customer(id));
    assert_eq!(second.text, "are you there?");

    let customer = world.crm.customer(&world.manager, id).unwrap();
    assert_eq!(customer.unread, 2);

    let page = world
        .crm
        .messages_of_customer(&world.manager, id, Page::first(1))
        .unwrap();
    assert_eq!(page.items, vec![second.clone()]);
    let rest = world
        .crm
        .messages_of_customer(&world.manager, id, Page::after(page.next.unwrap(), 10))
        .unwrap();
    assert_eq!(rest.items, vec![first]);
    assert_eq!(rest.next, None);

    // The customer sees their own conversation, not somebody else's.
    assert_eq!(
        world
            .crm
            .messages_of_customer(&alice, id, Page::first(10))
            .unwrap()
            .items
            .len(),
        2
    );
    let bob = world.customer(102, "Bob");
    assert_eq!(
        world
            .crm
            .messages_of_customer(&bob, id, Page::first(10))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    let read = world.crm.mark_read(&world.manager, id).unwrap();
    assert_eq!(read.unread, 0);
    assert_eq!(
        world.crm.mark_read(&world.worker, id).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn an_inbound_message_needs_text_or_a_file_and_fits_telegrams_limit() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let empty = world
        .crm
        .post_inbound(&alice, text_from(&alice, "   "))
        .unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::InvalidInput);
    assert_eq!(empty.field(), Some("text"));

    let long = "я".repeat(4097);
    let error = world
        .crm
        .post_inbound(&alice, text_from(&alice, &long))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.field(), Some("text"));
    let longest = "я".repeat(4096);
    world
        .crm
        .post_inbound(&alice, text_from(&alice, &longest))
        .unwrap();

    let unknown = InboundMessage {
        attachments: vec![Attachment {
            media: MediaHash::from_bytes([7; 32]),
            kind: MediaKind::Photo,
            file_name: None,
            mime: "image/jpeg".into(),
            size: 1,
        }],
        ..text_from(&alice, "")
    };
    assert_eq!(
        world.crm.post_inbound(&alice, unknown).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // Staff do not post inbound messages, and a customer's order must be their own.
    assert_eq!(
        world
            .crm
            .post_inbound(&world.manager, text_from(&alice, "hi"))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    let bob_order = world.approved_order(102, None);
    let wrong_order = InboundMessage {
        about: OrderChoice::Chosen(bob_order.id),
        ..text_from(&alice, "about bob's order")
    };
    // Another customer's order is not hers to name: the message is filed as if she had named
    // none, under her own current order (she has none here), never under Bob's.
    let filed = world.crm.post_inbound(&alice, wrong_order).unwrap();
    assert_eq!(filed.order, None);
}

#[test]
fn a_message_that_names_no_order_or_a_deleted_one_goes_to_the_customer_s_current_order() {
    let world = World::new();
    let alice = world.customer(103, "Alice");
    let older = world.order(&alice, "Older", None);
    let newer = world.order(&alice, "Newer", None);
    let current = world
        .crm
        .read(|view| {
            crm_lib::chat::current_order_in(view, &world.manager, World::customer_id(&alice))
        })
        .unwrap();
    assert_eq!(current, Some(newer.id), "the newest unfinished order");
    let general = InboundMessage {
        about: OrderChoice::Current,
        ..text_from(&alice, "when is it ready?")
    };
    assert_eq!(
        world.crm.post_inbound(&alice, general).unwrap().order,
        Some(newer.id)
    );
    // The newer order is deleted while the customer writes about it.
    world.crm.delete_order(&alice, newer.id).unwrap();
    let about_deleted = InboundMessage {
        about: OrderChoice::Chosen(newer.id),
        ..text_from(&alice, "about the one I deleted")
    };
    assert_eq!(
        world.crm.post_inbound(&alice, about_deleted).unwrap().order,
        Some(older.id)
    );
    let none = InboundMessage {
        about: OrderChoice::None,
        ..text_from(&alice, "hello")
    };
    assert_eq!(world.crm.post_inbound(&alice, none).unwrap().order, None);
    // Who may ask: the customer about herself, staff who chat; not a worker.
    assert_eq!(
        world
            .crm
            .read(|view| crm_lib::chat::current_order_in(
                view,
                &world.worker,
                World::customer_id(&alice)
            ))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn a_photo_is_attached_with_the_stored_size_and_type() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let photo = world
        .crm
        .system()
        .store_media(world.org.id, vec![1, 2, 3, 4], "image/JPEG".into())
        .unwrap();
    let message = world
        .crm
        .post_inbound(
            &alice,
            InboundMessage {
                attachments: vec![Attachment {
                    media: photo.hash,
                    kind: MediaKind::Photo,
                    file_name: Some(" cat.jpg ".into()),
                    mime: "application/x-lie".into(),
                    size: 999,
                }],
                ..text_from(&alice, "")
            },
        )
        .unwrap();
    let attachment = &message.attachments[0];
    assert_eq!(attachment.size, 4);
    assert_eq!(attachment.mime, "image/jpeg");
    assert_eq!(attachment.file_name.as_deref(), Some("cat.jpg"));
}

#[test]
fn outbound_message_to_a_customer_writes_exactly_one_outbox_item() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let before = world.outbox().len();

    let message = world
        .crm
        .post_outbound(&world.manager, text_to(&alice, "Your order is ready"))
        .unwrap();
    assert_eq!(message.direction, Direction::Outbound);
    assert_eq!(message.delivery, DeliveryState::Pending);
    assert_eq!(
        message.author,
        Author::Staff(World::user_id(&world.manager))
    );

    let outbox = world.outbox();
    assert_eq!(outbox.len(), before + 1);
    let item = outbox.last().unwrap();
    assert_eq!(
        item.recipient,
        Recipient::Customer(World::customer_id(&alice))
    );
    assert_eq!(item.payload, OutboxPayload::ChatMessage(message.id));
    assert_eq!(item.state, OutboxState::Pending);

    // The system writes as System; customers cannot send outbound messages.
    let system = world
        .crm
        .post_outbound(&world.system, text_to(&alice, "Automatic reply"))
        .unwrap();
    assert_eq!(system.author, Author::System);
    assert_eq!(
        world
            .crm
            .post_outbound(&alice, text_to(&alice, "to myself"))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn staff_without_chat_customers_is_refused_but_the_assignee_with_a_grant_may_chat_on_that_order() {
    let world = World::new();
    let order = world.assigned_order(201);
    let customer = customer_of(&world, &order);

    let general = world
        .crm
        .post_outbound(&world.worker, text_to(&customer, "hello"))
        .unwrap_err();
    assert_eq!(general.kind(), ErrorKind::PermissionDenied);
    assert_eq!(general.permission(), Some(Permission::ChatCustomers));

    let about_order = OutboundMessage {
        order: Some(order.id),
        ..text_to(&customer, "I start tomorrow")
    };
    let sent = world
        .crm
        .post_outbound(&world.worker, about_order.clone())
        .unwrap();
    assert_eq!(sent.order, Some(order.id));

    // Another worker holds no grant on that order.
    assert_eq!(
        world
            .crm
            .post_outbound(&world.worker2, about_order)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );

    // The assignee reads the order's chat, but not the customer's whole conversation.
    let page = world
        .crm
        .messages_of_order(&world.worker, order.id, Page::first(10))
        .unwrap();
    assert_eq!(page.items, vec![sent]);
    assert_eq!(
        world
            .crm
            .messages_of_order(&world.worker2, order.id, Page::first(10))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .messages_of_customer(&world.worker, order.customer, Page::first(10))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn conversations_list_the_most_recently_active_customer_first() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let bob = world.customer(102, "Bob");
    let carol = world.customer(103, "Carol");
    // Activity is kept in milliseconds; the pauses keep the four moments apart.
    let pause = || std::thread::sleep(std::time::Duration::from_millis(3));
    for customer in [&alice, &bob, &carol] {
        world
            .crm
            .post_inbound(customer, text_from(customer, "hi"))
            .unwrap();
        pause();
    }
    world
        .crm
        .post_outbound(&world.manager, text_to(&alice, "hello Alice"))
        .unwrap();

    let first = world
        .crm
        .conversations(&world.manager, Page::first(2))
        .unwrap();
    let names: Vec<&str> = first.items.iter().map(|c| c.first_name.as_str()).collect();
    assert_eq!(names, ["Alice", "Carol"]);
    let second = world
        .crm
        .conversations(&world.manager, Page::after(first.next.unwrap(), 2))
        .unwrap();
    let names: Vec<&str> = second.items.iter().map(|c| c.first_name.as_str()).collect();
    assert_eq!(names, ["Bob"]);
    assert_eq!(second.next, None);

    assert_eq!(
        world
            .crm
            .conversations(&world.worker, Page::first(2))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn media_stored_twice_is_stored_once_and_reads_back_byte_identical() {
    let world = World::new();
    let bytes: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();

    let first = world
        .crm
        .system()
        .store_media(world.org.id, bytes.clone(), "application/pdf".into())
        .unwrap();
    let second = world
        .crm
        .system()
        .store_media(world.org.id, bytes.clone(), "application/pdf".into())
        .unwrap();
    // The same file: only the start of its grace period may move, as nothing refers to it
    // yet (see retention).
    assert_eq!(
        Media {
            created_at: first.created_at,
            ..second.clone()
        },
        first
    );
    assert!(second.created_at >= first.created_at);
    assert_eq!(first.size, 600_000);
    assert_eq!(first.chunks, 3);
    assert_eq!(
        world.crm.system().media(world.org.id, first.hash).unwrap(),
        second
    );
    assert_eq!(
        world
            .crm
            .system()
            .read_media(world.org.id, first.hash)
            .unwrap(),
        bytes
    );

    // Media is per organization.
    let other = world
        .crm
        .system()
        .create_organization("studio", "Other", "other")
        .unwrap();
    assert_eq!(
        world
            .crm
            .system()
            .read_media(other.id, first.hash)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn media_over_the_limit_is_refused() {
    let world = World::new();
    let too_big = vec![0u8; MEDIA_MAX_SIZE + 1];
    let error = world
        .crm
        .system()
        .store_media(world.org.id, too_big, "video/mp4".into())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.field(), Some("media"));
    assert!(error.message().contains(&MEDIA_MAX_SIZE.to_string()));

    let empty = world
        .crm
        .system()
        .store_media(world.org.id, Vec::new(), "video/mp4".into())
        .unwrap_err();
    assert_eq!(empty.field(), Some("media"));
    let bad_mime = world
        .crm
        .system()
        .store_media(world.org.id, vec![1], "not a type".into())
        .unwrap_err();
    assert_eq!(bad_mime.field(), Some("mime"));
}

#[test]
fn a_repeated_update_id_is_ignored() {
    let world = World::new();
    let org = world.org.id;
    let payload = r#"{"update_id":5,"message":{"text":"hi"}}"#.to_string();
    assert_eq!(
        world
            .crm
            .system()
            .inbox_put(org, 5, payload.clone(), INBOX_CAPACITY)
            .unwrap(),
        InboxPut::Inserted
    );
    assert_eq!(
        world
            .crm
            .system()
            .inbox_put(org, 5, "other".into(), INBOX_CAPACITY)
            .unwrap(),
        InboxPut::Duplicate
    );
    let pending = world.crm.system().pending_updates(org, 10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload, payload);

    // Still a duplicate once processed.
    world.crm.system().finish_update(org, 5).unwrap();
    assert_eq!(
        world
            .crm
            .system()
            .inbox_put(org, 5, payload, INBOX_CAPACITY)
            .unwrap(),
        InboxPut::Duplicate
    );
    assert!(
        world
            .crm
            .system()
            .pending_updates(org, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        world.crm.system().inbox_item(org, 5).unwrap().state,
        InboxState::Done
    );
}

#[test]
fn an_inbox_at_capacity_is_busy_until_an_update_is_processed() {
    let world = World::new();
    let org = world.org.id;
    for update in [30, 10, 20] {
        world
            .crm
            .system()
            .inbox_put(org, update, "{}".into(), 3)
            .unwrap();
    }
    assert_eq!(world.crm.system().inbox_depth().unwrap(), 3);
    let error = world
        .crm
        .system()
        .inbox_put(org, 40, "{}".into(), 3)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Busy);

    // Oldest update id first.
    let pending: Vec<u64> = world
        .crm
        .system()
        .pending_updates(org, 10)
        .unwrap()
        .iter()
        .map(|item| item.update_id)
        .collect();
    assert_eq!(pending, [10, 20, 30]);

    world.crm.system().finish_update(org, 10).unwrap();
    assert_eq!(
        world
            .crm
            .system()
            .inbox_put(org, 40, "{}".into(), 3)
            .unwrap(),
        InboxPut::Inserted
    );
}

#[test]
fn finishing_an_update_twice_is_a_conflict() {
    let world = World::new();
    let org = world.org.id;
    world
        .crm
        .system()
        .inbox_put(org, 9, "{}".into(), INBOX_CAPACITY)
        .unwrap();
    world.crm.system().finish_update(org, 9).unwrap();
    let error = world.crm.system().finish_update(org, 9).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert_eq!(error.message(), "update 9 was already processed");
    assert_eq!(
        world
            .crm
            .system()
            .finish_update(org, 10)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn an_update_and_its_effects_commit_together() {
    let world = World::new();
    let org = world.org.id;
    let alice = world.customer(101, "Alice");
    world
        .crm
        .system()
        .inbox_put(org, 77, "{}".into(), INBOX_CAPACITY)
        .unwrap();
    let inbound = text_from(&alice, "hi");
    let actor = alice.clone();
    // The second finish fails, so the whole transaction (message included) is dropped.
    let error = world
        .crm
        .write(move |tx| {
            tx.post_inbound(&actor, inbound)?;
            tx.system().finish_update(org, 77)?;
            tx.system().finish_update(org, 77)
        })
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    assert_eq!(
        world.crm.system().pending_updates(org, 10).unwrap().len(),
        1
    );
    let id = World::customer_id(&alice);
    assert!(
        world
            .crm
            .messages_of_customer(&alice, id, Page::first(10))
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn dialogue_state_is_kept_per_chat_and_deleted_with_none() {
    let world = World::new();
    let org = world.org.id;
    let chat = ChatId::new(101);
    assert_eq!(world.crm.system().dialogue(org, chat).unwrap(), None);
    world
        .crm
        .system()
        .set_dialogue(org, chat, Some(vec![1, 2, 3]))
        .unwrap();
    assert_eq!(
        world.crm.system().dialogue(org, chat).unwrap(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(
        world
            .crm
            .system()
            .dialogue(org, ChatId::new(-1005))
            .unwrap(),
        None
    );
    world.crm.system().set_dialogue(org, chat, None).unwrap();
    assert_eq!(world.crm.system().dialogue(org, chat).unwrap(), None);
}

#[test]
fn bot_replies_are_typed_and_held_to_telegram_s_limits() {
    let world = World::new();
    let org = world.org.id;
    let chat = ChatId::new(101);
    let text = |text: String, keyboard: Option<Keyboard>| BotReply::Text { text, keyboard };
    let id = world
        .crm
        .system()
        .reply(org, chat, text("hi".into(), None))
        .unwrap();
    let item = world.crm.system().outbox_item(org, id).unwrap();
    assert_eq!(item.recipient, Recipient::Chat(chat));
    assert_eq!(item.payload, OutboxPayload::Reply(text("hi".into(), None)));

    let buttons = |count: usize, data: &str| {
        Some(Keyboard::new(vec![
            (0..count).map(|_| Button::callback("b", data)).collect(),
        ]))
    };
    let at_the_limits = [
        text("x".repeat(4096), None),
        text("ok".into(), buttons(100, &"d".repeat(64))),
        BotReply::AnswerPress {
            query_id: "1".into(),
            text: Some("y".repeat(200)),
            alert: true,
        },
        text(
            "link".into(),
            Some(Keyboard::new(vec![vec![Button::url(
                "site",
                "https://example.com",
            )]])),
        ),
        BotReply::SetButtons {
            message_id: 7,
            keyboard: buttons(100, &"d".repeat(64)).unwrap(),
        },
    ];
    for reply in at_the_limits {
        world.crm.system().reply(org, chat, reply).unwrap();
    }
    let one_past = [
        text(String::new(), None),
        text("x".repeat(4097), None),
        text("ok".into(), buttons(101, "d")),
        text("ok".into(), buttons(1, &"d".repeat(65))),
        text("ok".into(), buttons(1, "")),
        BotReply::AnswerPress {
            query_id: "1".into(),
            text: Some("y".repeat(201)),
            alert: false,
        },
        text(
            "link".into(),
            Some(Keyboard::new(vec![vec![Button::url(
                "x",
                "javascript:alert(1)",
            )]])),
        ),
        BotReply::SetButtons {
            message_id: 7,
            keyboard: buttons(101, "d").unwrap(),
        },
        BotReply::SetButtons {
            message_id: 7,
            keyboard: buttons(1, &"d".repeat(65)).unwrap(),
        },
    ];
    let before = world.crm.system().outbox_items(org).unwrap().len();
    for reply in one_past {
        let error = world
            .crm
            .system()
            .reply(org, chat, reply.clone())
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{reply:?}");
        assert_eq!(error.field(), Some("reply"));
    }
    assert_eq!(
        world.crm.system().outbox_items(org).unwrap().len(),
        before,
        "a refused reply queues nothing"
    );
}

#[test]
fn payment_info_is_refused_before_in_progress_and_allowed_in_progress() {
    let world = World::new();
    // The organization starts with a bank transfer; managers manage methods, workers do not.
    let default = world.crm.payment_methods(&world.admin).unwrap();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0].name, "Bank transfer");
    let method = world
        .crm
        .create_payment_method(
            &world.manager,
            "IBAN transfer",
            "Pay {amount} {currency} for order #{order} to IBAN DE00 1234",
        )
        .unwrap();
    assert_eq!(
        world
            .crm
            .create_payment_method(&world.worker, "Cash", "cash")
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world.crm.payment_methods(&world.admin).unwrap(),
        vec![default[0].clone(), method.clone()]
    );

    let order = world.assigned_order(301);
    let early = world
        .crm
        .send_payment_info(
            &world.manager,
            order.id,
            method.id,
            crate::support::money("900"),
        )
        .unwrap_err();
    assert_eq!(early.kind(), ErrorKind::Conflict);
    assert!(early.message().contains("Approved"), "{}", early.message());

    world
        .crm
        .move_order(&world.worker, order.id, world.stage("in_progress"))
        .unwrap();
    assert_eq!(
        world
            .crm
            .send_payment_info(
                &world.worker,
                order.id,
                method.id,
                crate::support::money("900")
            )
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .send_payment_info(
                &world.manager,
                order.id,
                method.id,
                crate::support::money("0")
            )
            .unwrap_err()
            .field(),
        Some("amount")
    );

    let before = world.outbox().len();
    let info = world
        .crm
        .send_payment_info(
            &world.manager,
            order.id,
            method.id,
            crate::support::money("900"),
        )
        .unwrap();
    assert_eq!(info.amount, Money::from_minor(90_000));
    assert_eq!(
        info.details,
        format!("Pay 900,00 USD for order #{} to IBAN DE00 1234", order.id),
        "the amount as the customer (Russian) reads it"
    );

    // One notification carries the details; no second chat delivery is queued.
    let outbox = world.outbox();
    assert_eq!(outbox.len(), before + 1);
    assert!(matches!(
        &outbox.last().unwrap().payload,
        OutboxPayload::Notify(Event::PaymentInfo { details, .. }) if *details == info.details
    ));
    let chat = world
        .crm
        .messages_of_order(&world.manager, order.id, Page::first(10))
        .unwrap();
    assert_eq!(chat.items[0].text, info.details);
    assert_eq!(chat.items[0].direction, Direction::Outbound);

    let customer = customer_of(&world, &order);
    assert_eq!(
        world.crm.payment_infos(&customer, order.id).unwrap(),
        vec![info]
    );

    let inactive = world
        .crm
        .set_payment_method_active(&world.manager, method.id, false)
        .unwrap();
    assert!(!inactive.active);
    assert_eq!(
        world
            .crm
            .send_payment_info(
                &world.manager,
                order.id,
                method.id,
                crate::support::money("900")
            )
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );

    // Testing and Completed take payment details; Delivered (settled) does not.
    for (key, allowed) in [("testing", true), ("completed", true), ("delivered", false)] {
        world
            .crm
            .move_order(&world.manager, order.id, world.stage(key))
            .unwrap();
        let sent = world.crm.send_payment_info(
            &world.manager,
            order.id,
            default[0].id,
            crate::support::money("900"),
        );
        assert_eq!(sent.is_ok(), allowed, "{key}: {sent:?}");
        if let Err(error) = sent {
            assert_eq!(error.kind(), ErrorKind::Conflict);
            assert!(
                error
                    .message()
                    .ends_with("can be sent only in In progress, Testing, Completed"),
                "{}",
                error.message()
            );
        }
    }
}

#[test]
fn payout_withholds_the_commission_of_the_organization() {
    let world = World::new();
    // The studio template withholds 10% and no fixed fee; the bid's price is 900.00.
    let order = world.assigned_order(401);
    let payout = world.crm.order_payout(&world.manager, order.id).unwrap();
    assert_eq!(payout.price, Money::from_minor(90_000));
    assert_eq!(payout.commission, Money::from_minor(9_000));
    assert_eq!(payout.payout, Money::from_minor(81_000));

    let unpriced = world.approved_order(402, None);
    assert_eq!(
        world
            .crm
            .order_payout(&world.manager, unpriced.id)
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        world
            .crm
            .order_payout(&customer_of(&world, &order), order.id)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn outbox_retry_then_delivery_is_recorded_once_and_a_403_marks_the_customer_unreachable() {
    let world = World::new();
    let org = world.org.id;
    let alice = world.customer(101, "Alice");
    let alice_id = World::customer_id(&alice);
    let message = world
        .crm
        .post_outbound(&world.manager, text_to(&alice, "first"))
        .unwrap();
    let now = Timestamp::now();
    let due = world.crm.system().due_outbox(now, 100).unwrap();
    let found = due
        .iter()
        .find(|due| due.item.payload == OutboxPayload::ChatMessage(message.id))
        .unwrap()
        .clone();
    assert_eq!(found.org, org);
    assert_eq!(found.chat, Some(ChatId::new(101)));
    let alice_language = world
        .crm
        .customer(&world.manager, alice_id)
        .unwrap()
        .language;
    assert_eq!(
        found.language, alice_language,
        "the recipient's own language"
    );
    assert_eq!(found.currency, "USD");
    let item = found.item;
    let depth = world.crm.system().outbox_depth().unwrap();

    // A 429: try again in a minute.
    let later = now.plus_millis(60_000);
    let retried = world
        .crm
        .system()
        .outbox_retry(org, item.id, later)
        .unwrap();
    assert_eq!(retried.attempts, 1);
    assert!(
        world
            .crm
            .system()
            .due_outbox(now, 100)
            .unwrap()
            .iter()
            .all(|due| due.item.id != item.id)
    );
    assert!(
        world
            .crm
            .system()
            .due_outbox(later, 100)
            .unwrap()
            .iter()
            .any(|due| due.item.id == item.id)
    );

    // Delivered, twice: the second report changes nothing.
    world
        .crm
        .system()
        .outbox_delivered(org, item.id, Some(555))
        .unwrap();
    let delivered = world.crm.system().outbox_item(org, item.id).unwrap();
    world
        .crm
        .system()
        .outbox_delivered(org, item.id, Some(556))
        .unwrap();
    assert_eq!(
        world.crm.system().outbox_item(org, item.id).unwrap(),
        delivered
    );
    assert_eq!(world.crm.system().outbox_depth().unwrap(), depth - 1);
    let sent = world
        .crm
        .messages_of_customer(&world.manager, alice_id, Page::first(1))
        .unwrap()
        .items
        .remove(0);
    assert_eq!(sent.delivery, DeliveryState::Sent);
    assert_eq!(sent.telegram_message_id, Some(555));
    assert_eq!(
        world
            .crm
            .system()
            .outbox_failed(
                org,
                item.id,
                DeliveryFailure::Refused {
                    reason: "late".into()
                }
            )
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );

    // A 403: the customer blocked the bot.
    let second = world
        .crm
        .post_outbound(&world.manager, text_to(&alice, "second"))
        .unwrap();
    let second_item = world
        .crm
        .system()
        .due_outbox(Timestamp::now(), 100)
        .unwrap()
        .into_iter()
        .find(|due| due.item.payload == OutboxPayload::ChatMessage(second.id))
        .unwrap()
        .item;
    world
        .crm
        .system()
        .outbox_failed(
            org,
            second_item.id,
            DeliveryFailure::Blocked {
                reason: "Forbidden: bot was blocked by the user".into(),
            },
        )
        .unwrap();
    assert!(matches!(
        world
            .crm
            .system()
            .outbox_item(org, second_item.id)
            .unwrap()
            .state,
        OutboxState::Failed { .. }
    ));
    let customer = world.crm.customer(&world.manager, alice_id).unwrap();
    assert!(customer.unreachable);
    let failed = world
        .crm
        .messages_of_customer(&world.manager, alice_id, Page::first(1))
        .unwrap()
        .items
        .remove(0);
    assert_eq!(failed.delivery, DeliveryState::Failed);
    let third = world
        .crm
        .system()
        .reply(
            org,
            ChatId::new(101),
            BotReply::Text {
                text: "a reply to their chat".into(),
                keyboard: None,
            },
        )
        .unwrap();
    let due = world
        .crm
        .system()
        .due_outbox(Timestamp::now(), 100)
        .unwrap();
    assert!(
        due.iter()
            .all(|due| due.item.recipient != Recipient::Customer(alice_id) || due.chat.is_none()),
        "nothing addressed to a customer who blocked the bot has a chat"
    );
    assert!(due.iter().any(|due| due.item.id == third));

    let refused = world
        .crm
        .post_outbound(&world.manager, text_to(&alice, "third"))
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict);
    assert_eq!(
        refused.message(),
        format!("customer {alice_id} blocked the bot; the message cannot be delivered")
    );

    // Writing to the bot again makes the customer reachable.
    world
        .crm
        .post_inbound(&alice, text_from(&alice, "sorry"))
        .unwrap();
    assert!(
        !world
            .crm
            .customer(&world.manager, alice_id)
            .unwrap()
            .unreachable
    );
    world
        .crm
        .post_outbound(&world.manager, text_to(&alice, "welcome back"))
        .unwrap();
}

#[test]
fn the_audit_log_is_filtered_newest_first_and_needs_view_audit() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    world
        .crm
        .post_inbound(&alice, text_from(&alice, "one"))
        .unwrap();
    world
        .crm
        .post_outbound(&world.manager, text_to(&alice, "two"))
        .unwrap();
    world
        .crm
        .post_inbound(&alice, text_from(&alice, "three"))
        .unwrap();

    let filter = AuditFilter {
        action: Some("message.".into()),
        ..AuditFilter::default()
    };
    let page = world
        .crm
        .audit_log(&world.manager, &filter, Page::first(2))
        .unwrap();
    let actions: Vec<&str> = page.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["message.received", "message.sent"]);
    let rest = world
        .crm
        .audit_log(&world.manager, &filter, Page::after(page.next.unwrap(), 2))
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);

    let by_manager = AuditFilter {
        actor: Some(world.manager.who),
        ..AuditFilter::default()
    };
    let entries = world
        .crm
        .audit_log(&world.system, &by_manager, Page::first(50))
        .unwrap()
        .items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, AuditAction::MessageSent);

    assert_eq!(
        world
            .crm
            .audit_log(&world.worker, &AuditFilter::default(), Page::first(10))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    let all = world.crm.system().all_audit(world.org.id).unwrap();
    assert!(all.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert_eq!(all.last().unwrap().action, AuditAction::MessageReceived);
}

#[test]
fn a_customer_s_changed_telegram_name_is_saved_and_audited_and_an_unchanged_one_writes_nothing() {
    let world = World::new();
    let org = world.org.id;
    let renamed = |first: &str| crm_lib::customers::TelegramProfile {
        last_name: Some("Petrova".into()),
        ..crate::support::profile(5_100, first)
    };
    let profile_changes = || {
        world
            .crm
            .system()
            .all_audit(org)
            .unwrap()
            .into_iter()
            .filter(|entry| entry.action == AuditAction::CustomerProfileChanged)
            .count()
    };
    let created = world
        .crm
        .system()
        .upsert_telegram_customer(org, renamed("Maria"))
        .unwrap();
    let again = world
        .crm
        .system()
        .upsert_telegram_customer(org, renamed("Maria"))
        .unwrap();
    assert_eq!(again, created);
    assert_eq!(profile_changes(), 0, "the same profile changes nothing");
    let changed = world
        .crm
        .system()
        .upsert_telegram_customer(org, renamed("Masha"))
        .unwrap();
    assert_eq!(changed.id, created.id);
    assert_eq!(changed.full_name(), "Masha Petrova");
    assert_eq!(profile_changes(), 1);
}
