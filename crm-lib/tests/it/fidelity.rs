//! Telegram fidelity (issue 12): private notes, message content kinds, replies, albums and
//! edit history, through `Crm`.

#![allow(clippy::unwrap_used)]

use crm_lib::{
    ErrorKind, Page,
    audit::AuditFilter,
    chat::{InboundMessage, NewNote, OrderChoice},
    model::{Actor, AuditAction, Author, Direction},
};

use crate::support::World;

fn text_from(customer: &Actor, text: &str, telegram: i64) -> InboundMessage {
    InboundMessage {
        customer: World::customer_id(customer),
        about: OrderChoice::None,
        text: text.into(),
        attachments: Vec::new(),
        telegram_message_id: Some(telegram),
        content: None,
        reply_to_telegram: None,
        media_group: None,
    }
}

fn note(customer: &Actor, text: &str) -> NewNote {
    NewNote {
        customer: World::customer_id(customer),
        order: None,
        text: text.into(),
    }
}

#[test]
fn a_note_is_staff_only_never_sent_never_unread_and_audited() {
    let world = World::new();
    let alice = world.customer(301, "Alice");
    let id = World::customer_id(&alice);
    let hello = world
        .crm
        .post_inbound(&alice, text_from(&alice, "hello", 10))
        .unwrap();
    world.crm.mark_read(&world.manager, id).unwrap();
    let before = world.crm.customer(&world.manager, id).unwrap();
    let outbox_before = world.outbox().len();
    let start = world.crm.latest_change(&world.manager).unwrap();

    let written = world
        .crm
        .post_note(&world.manager, note(&alice, "prefers calls after 18:00"))
        .unwrap();
    assert_eq!(written.direction, Direction::Note);
    assert_eq!(
        written.author,
        Author::Staff(World::user_id(&world.manager))
    );

    // Never sent, not unread, not the conversation's activity.
    assert_eq!(world.outbox().len(), outbox_before);
    let after = world.crm.customer(&world.manager, id).unwrap();
    assert_eq!(after.unread, 0);
    assert_eq!(after.last_activity_at, before.last_activity_at);

    // Staff see it in the conversation and live; the customer sees neither.
    let staff_page = world
        .crm
        .messages_of_customer(&world.manager, id, Page::first(10))
        .unwrap();
    assert_eq!(staff_page.items, vec![written.clone(), hello.clone()]);
    let own_page = world
        .crm
        .messages_of_customer(&alice, id, Page::first(10))
        .unwrap();
    assert_eq!(own_page.items, vec![hello.clone()]);
    // A page of one, after the note, still holds the customer's message and ends there.
    let first = world
        .crm
        .messages_of_customer(&alice, id, Page::first(1))
        .unwrap();
    assert_eq!(first.items, vec![hello]);
    assert_eq!(first.next, None);
    let live = world.crm.live_events(&world.manager, start, 100).unwrap();
    assert!(
        live.events
            .iter()
            .any(|event| event.message == Some(written.id))
    );
    let own_live = world.crm.live_events(&alice, start, 100).unwrap();
    assert!(
        own_live
            .events
            .iter()
            .all(|event| event.message != Some(written.id))
    );
    let timeline = world.crm.timeline(&alice, id, None, 50);
    if let Ok(timeline) = timeline {
        assert!(timeline.items.iter().all(|item| {
            !matches!(&item.entry, crm_lib::calls::TimelineEntry::Message(message) if message.id == written.id)
        }));
    }

    let audit = world
        .crm
        .audit_log(&world.admin, &AuditFilter::default(), Page::first(5))
        .unwrap();
    assert_eq!(audit.items[0].action, AuditAction::NotePosted);
}

#[test]
fn a_note_needs_chat_access_text_and_a_staff_author() {
    let world = World::new();
    let alice = world.customer(302, "Alice");
    assert_eq!(
        world
            .crm
            .post_note(&alice, note(&alice, "about me"))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .post_note(&world.worker, note(&alice, "hm"))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    let empty = world
        .crm
        .post_note(&world.manager, note(&alice, "   "))
        .unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::InvalidInput);
    assert_eq!(empty.field(), Some("text"));
    let bob_order = world.approved_order(303, None);
    let wrong = NewNote {
        order: Some(bob_order.id),
        ..note(&alice, "not hers")
    };
    assert_eq!(
        world
            .crm
            .post_note(&world.manager, wrong)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}
