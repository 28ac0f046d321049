//! Telegram fidelity (issue 12): private notes, message content kinds, replies, albums and
//! edit history, through `Crm`.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::{
    Crm, CrmOptions, ErrorKind, Page,
    audit::AuditFilter,
    chat::{DELETE_WINDOW_MS, InboundEdit, InboundMessage, NewNote, OrderChoice, OutboundMessage},
    model::{
        Actor, Attachment, AuditAction, Author, Direction, MediaKind, Message, MessageContent,
        MessageId, OutboxPayload, Timestamp,
    },
};

use crate::support::World;

/// A clock of its own for a test (tests run in parallel): a static moment and the `fn` that
/// reads it.
macro_rules! clock {
    ($name:ident) => {
        mod $name {
            use super::*;
            pub static NOW: AtomicI64 = AtomicI64::new(0);
            pub fn now() -> Timestamp {
                Timestamp::from_millis(NOW.load(Ordering::SeqCst))
            }
            pub fn set(millis: i64) {
                NOW.store(millis, Ordering::SeqCst);
            }
        }
    };
}

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

fn to(customer: &Actor, text: &str) -> OutboundMessage {
    OutboundMessage {
        customer: World::customer_id(customer),
        order: None,
        text: text.into(),
        attachments: Vec::new(),
        reply_to: None,
        content: None,
    }
}

/// Sends a staff message and records Telegram's acceptance with `telegram` as its id.
fn sent(world: &World, customer: &Actor, text: &str, telegram: i64) -> Message {
    let message = world
        .crm
        .post_outbound(&world.manager, to(customer, text))
        .unwrap();
    let item = world.outbox().last().unwrap().clone();
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, item.id, Some(telegram))
        .unwrap();
    message
}

fn load(world: &World, customer: &Actor, id: MessageId) -> Message {
    world
        .crm
        .messages_of_customer(
            &world.manager,
            World::customer_id(customer),
            Page::first(100),
        )
        .unwrap()
        .items
        .into_iter()
        .find(|message| message.id == id)
        .unwrap()
}

fn picture(world: &World, byte: u8) -> Attachment {
    let media = world
        .crm
        .system()
        .store_media(
            world.org.id,
            vec![0xff, 0xd8, 0xff, byte],
            "image/jpeg".into(),
        )
        .unwrap();
    Attachment {
        media: media.hash,
        kind: MediaKind::Photo,
        file_name: None,
        mime: media.mime,
        size: media.size,
    }
}

#[test]
fn the_parts_of_an_album_become_one_message_counted_unread_once() {
    let world = World::new();
    let alice = world.customer(311, "Alice");
    let id = World::customer_id(&alice);
    let part = |telegram: i64, caption: &str, byte: u8| InboundMessage {
        attachments: vec![picture(&world, byte)],
        media_group: Some("13000000001".into()),
        ..text_from(&alice, caption, telegram)
    };
    let first = world.crm.post_inbound(&alice, part(20, "", 1)).unwrap();
    let second = world
        .crm
        .post_inbound(&alice, part(21, "the kitchen", 2))
        .unwrap();
    let third = world.crm.post_inbound(&alice, part(22, "", 3)).unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(third.id, first.id);
    assert_eq!(third.attachments.len(), 3);
    assert_eq!(third.text, "the kitchen");
    let page = world
        .crm
        .messages_of_customer(&world.manager, id, Page::first(10))
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(world.crm.customer(&world.manager, id).unwrap().unread, 1);
    // Another album is another message.
    let other = world
        .crm
        .post_inbound(
            &alice,
            InboundMessage {
                media_group: Some("13000000002".into()),
                ..part(23, "", 4)
            },
        )
        .unwrap();
    assert_ne!(other.id, first.id);
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn replies_map_telegram_ids_both_ways() {
    let world = World::new();
    let alice = world.customer(312, "Alice");
    let question = world
        .crm
        .post_inbound(&alice, text_from(&alice, "how much?", 30))
        .unwrap();
    // Staff quote the customer's message.
    let answer = world
        .crm
        .post_outbound(
            &world.manager,
            OutboundMessage {
                reply_to: Some(question.id),
                ..to(&alice, "100 EUR")
            },
        )
        .unwrap();
    assert_eq!(answer.reply_to, Some(question.id));
    let item = world.outbox().last().unwrap().clone();
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, item.id, Some(31))
        .unwrap();
    // The customer replies to the staff message in Telegram.
    let reply = world
        .crm
        .post_inbound(
            &alice,
            InboundMessage {
                reply_to_telegram: Some(31),
                ..text_from(&alice, "ok, deal", 32)
            },
        )
        .unwrap();
    assert_eq!(reply.reply_to, Some(answer.id));
    // A reply to a message the appliance never saw is a plain message.
    let unknown = world
        .crm
        .post_inbound(
            &alice,
            InboundMessage {
                reply_to_telegram: Some(9999),
                ..text_from(&alice, "and this", 33)
            },
        )
        .unwrap();
    assert_eq!(unknown.reply_to, None);
    // Staff cannot quote another customer's message nor a note.
    let bob = world.customer(313, "Bob");
    let other = OutboundMessage {
        reply_to: Some(question.id),
        ..to(&bob, "hi")
    };
    assert_eq!(
        world
            .crm
            .post_outbound(&world.manager, other)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_customer_edit_keeps_the_earlier_versions() {
    let world = World::new();
    let alice = world.customer(314, "Alice");
    let id = World::customer_id(&alice);
    let first = world
        .crm
        .post_inbound(&alice, text_from(&alice, "delivery on Monday", 40))
        .unwrap();
    world.crm.mark_read(&world.manager, id).unwrap();
    let edit = |text: &str| InboundEdit {
        customer: id,
        telegram_message_id: 40,
        text: text.into(),
        content: None,
    };
    let edited = world
        .crm
        .edit_inbound(&alice, edit("delivery on Tuesday"))
        .unwrap();
    assert_eq!(edited.id, first.id);
    assert_eq!(edited.text, "delivery on Tuesday");
    assert_eq!(edited.edits.len(), 1);
    assert_eq!(edited.edits[0].text, "delivery on Monday");
    let again = world
        .crm
        .edit_inbound(&alice, edit("delivery on Wednesday"))
        .unwrap();
    let texts: Vec<&str> = again.edits.iter().map(|edit| edit.text.as_str()).collect();
    assert_eq!(texts, ["delivery on Monday", "delivery on Tuesday"]);
    // The same text again changes nothing; an edit is not unread.
    let same = world
        .crm
        .edit_inbound(&alice, edit("delivery on Wednesday"))
        .unwrap();
    assert_eq!(same.edits.len(), 2);
    assert_eq!(world.crm.customer(&world.manager, id).unwrap().unread, 0);
    // Unknown message ids and staff actors are refused.
    let unknown = InboundEdit {
        telegram_message_id: 41,
        ..edit("x")
    };
    assert_eq!(
        world.crm.edit_inbound(&alice, unknown).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        world
            .crm
            .edit_inbound(&world.manager, edit("x"))
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn a_staff_edit_keeps_history_and_goes_to_telegram() {
    let world = World::new();
    let alice = world.customer(315, "Alice");
    // Not sent yet: nothing to edit in Telegram.
    let pending = world
        .crm
        .post_outbound(&world.manager, to(&alice, "draft"))
        .unwrap();
    assert_eq!(
        world
            .crm
            .edit_outbound(&world.manager, pending.id, "better")
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    let message = sent(&world, &alice, "price is 100", 50);
    let before = world.outbox().len();
    let edited = world
        .crm
        .edit_outbound(&world.manager, message.id, "price is 120")
        .unwrap();
    assert_eq!(edited.text, "price is 120");
    assert_eq!(edited.edits[0].text, "price is 100");
    let outbox = world.outbox();
    assert_eq!(outbox.len(), before + 1);
    assert_eq!(
        outbox.last().unwrap().payload,
        OutboxPayload::EditMessage(message.id)
    );
    // A worker who did not write it and lacks chat_customers may not; the text limit holds.
    assert_eq!(
        world
            .crm
            .edit_outbound(&world.worker, message.id, "mine now")
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .edit_outbound(&world.manager, message.id, &"a".repeat(4097))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    // A customer's message is theirs to edit.
    let theirs = world
        .crm
        .post_inbound(&alice, text_from(&alice, "hello", 51))
        .unwrap();
    assert_eq!(
        world
            .crm
            .edit_outbound(&world.manager, theirs.id, "hijacked")
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    // A note is edited in place, never sent.
    let written = world
        .crm
        .post_note(&world.manager, note(&alice, "call her"))
        .unwrap();
    let outbox_before = world.outbox().len();
    let note_edit = world
        .crm
        .edit_outbound(&world.manager, written.id, "call her at 18:00")
        .unwrap();
    assert_eq!(note_edit.edits.len(), 1);
    assert_eq!(world.outbox().len(), outbox_before);
    assert_eq!(load(&world, &alice, message.id).edits.len(), 1);
    assert!(world.crm.system().verify().unwrap().is_clean());
}

clock!(window);

#[test]
fn a_staff_delete_reaches_telegram_within_48_hours_and_hides_the_message_from_the_customer() {
    window::set(1_800_000_000_000);
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open_with_clock(
        dir.path().join("crm.redb"),
        CrmOptions::default(),
        window::now,
    )
    .unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Clock Studio", "clock")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    let alice = world.customer(316, "Alice");
    let id = World::customer_id(&alice);
    let fresh = sent(&world, &alice, "wrong chat, sorry", 60);
    let old = sent(&world, &alice, "from yesterday", 61);
    let before = world.outbox().len();
    let deleted = world.crm.delete_outbound(&world.manager, fresh.id).unwrap();
    assert!(deleted.deleted_at.is_some());
    assert_eq!(
        world.outbox().last().unwrap().payload,
        OutboxPayload::DeleteMessage(fresh.id)
    );
    assert_eq!(world.outbox().len(), before + 1);
    assert_eq!(
        world
            .crm
            .delete_outbound(&world.manager, fresh.id)
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    // Staff still see it, marked; the customer does not.
    assert!(load(&world, &alice, fresh.id).deleted_at.is_some());
    let own = world
        .crm
        .messages_of_customer(&alice, id, Page::first(10))
        .unwrap();
    assert!(own.items.iter().all(|message| message.id != fresh.id));
    // 48 hours later Telegram refuses; so does crm-lib, writing nothing.
    window::set(1_800_000_000_000 + DELETE_WINDOW_MS);
    assert_eq!(
        world
            .crm
            .delete_outbound(&world.manager, old.id)
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    assert!(load(&world, &alice, old.id).deleted_at.is_none());
    assert_eq!(
        world
            .crm
            .delete_outbound(&world.worker, old.id)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
}

#[test]
fn an_album_sent_as_several_telegram_messages_keeps_every_part_for_its_delete() {
    let world = World::new();
    let alice = world.customer(317, "Alice");
    let mut album = to(&alice, "two options");
    album.attachments = vec![picture(&world, 1), picture(&world, 2)];
    let message = world.crm.post_outbound(&world.manager, album).unwrap();
    let item = world.outbox().last().unwrap().clone();
    world
        .crm
        .system()
        .outbox_delivered_parts(world.org.id, item.id, vec![70, 71])
        .unwrap();
    assert_eq!(
        load(&world, &alice, message.id).telegram_message_id,
        Some(70)
    );
    assert_eq!(
        world
            .crm
            .system()
            .sent_parts(world.org.id, message.id)
            .unwrap(),
        vec![70, 71]
    );
    // A message sent as one Telegram message has no parts.
    let single = sent(&world, &alice, "one", 72);
    assert!(
        world
            .crm
            .system()
            .sent_parts(world.org.id, single.id)
            .unwrap()
            .is_empty()
    );
    let verify = world.crm.system().verify().unwrap();
    assert!(verify.is_clean(), "{:#?}", verify.problems);
}

#[test]
fn content_kinds_are_checked_and_staff_send_only_what_telegram_takes() {
    let world = World::new();
    let alice = world.customer(317, "Alice");
    let location = MessageContent::Location {
        latitude: 52.52,
        longitude: 13.405,
    };
    let inbound = world
        .crm
        .post_inbound(
            &alice,
            InboundMessage {
                content: Some(location.clone()),
                ..text_from(&alice, "", 70)
            },
        )
        .unwrap();
    assert_eq!(inbound.content, Some(location.clone()));
    let off_the_map = InboundMessage {
        content: Some(MessageContent::Location {
            latitude: 91.0,
            longitude: 0.0,
        }),
        ..text_from(&alice, "", 71)
    };
    let error = world.crm.post_inbound(&alice, off_the_map).unwrap_err();
    assert_eq!(error.field(), Some("latitude"));
    let contact = MessageContent::Contact {
        phone: "+49 30 1234567".into(),
        first_name: "Ann".into(),
        last_name: None,
    };
    let out = world
        .crm
        .post_outbound(
            &world.manager,
            OutboundMessage {
                content: Some(contact.clone()),
                ..to(&alice, "")
            },
        )
        .unwrap();
    assert_eq!(out.content, Some(contact.clone()));
    // A contact goes without text; dice are not sent.
    let with_text = OutboundMessage {
        content: Some(contact),
        ..to(&alice, "call me")
    };
    assert_eq!(
        world
            .crm
            .post_outbound(&world.manager, with_text)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let dice = OutboundMessage {
        content: Some(MessageContent::Dice {
            emoji: "🎲".into(),
            value: 3,
        }),
        ..to(&alice, "")
    };
    assert_eq!(
        world
            .crm
            .post_outbound(&world.manager, dice)
            .unwrap_err()
            .field(),
        Some("content")
    );
    // A sticker is one .webp file.
    let jpeg = picture(&world, 9);
    let sticker = OutboundMessage {
        attachments: vec![Attachment {
            kind: MediaKind::Sticker,
            ..jpeg
        }],
        ..to(&alice, "")
    };
    assert_eq!(
        world
            .crm
            .post_outbound(&world.manager, sticker)
            .unwrap_err()
            .field(),
        Some("attachments")
    );
}

#[test]
fn two_messages_with_the_same_telegram_id_are_both_kept_and_verify_stays_clean() {
    // Telegram never repeats a message id in a chat, but the sandbox emulator starts its
    // numbering again after a restart: both messages are kept, and a lookup takes the newest.
    let world = World::new();
    let customer = world.customer(501, "Ann");
    let first = world
        .crm
        .post_inbound(&customer, text_from(&customer, "hello", 5))
        .unwrap();
    let again = world
        .crm
        .post_inbound(&customer, text_from(&customer, "hello again", 5))
        .unwrap();
    assert_ne!(again.id, first.id);
    let messages = world
        .crm
        .messages_of_customer(&world.admin, World::customer_id(&customer), Page::first(50))
        .unwrap();
    assert_eq!(messages.items.len(), 2);
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}
