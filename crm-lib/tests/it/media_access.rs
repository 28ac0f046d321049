//! Who may read a stored file: only those who may see a message or an order carrying it.
//! Knowing the hash is not enough, and a file one may not see reads as not found.

#![allow(clippy::unwrap_used)]

use crm_lib::{
    Crm, ErrorKind, MEDIA_MAX_SIZE, Page,
    audit::{AuditFilter, audit_in},
    chat::{
        InboundMessage, MESSAGE_MAX_ATTACHMENTS, MESSAGE_MAX_CHARS, OrderChoice, OutboundFile,
        OutboundMessage,
    },
    media::NewMedia,
    model::{
        Actor, ActorRef, Attachment, AuditAction, Media, MediaHash, MediaKind, OrderId, Subject,
    },
    orders::NewOrder,
};

use crate::support::World;

fn photo(world: &World, bytes: &[u8]) -> Media {
    world
        .crm
        .system()
        .store_media(world.org.id, bytes.to_vec(), "image/jpeg".into())
        .unwrap()
}

fn attachment(media: &Media) -> Attachment {
    Attachment {
        media: media.hash,
        kind: MediaKind::Photo,
        file_name: None,
        mime: media.mime.clone(),
        size: media.size,
    }
}

/// A message from `customer` carrying `media`, about `order` when given.
fn customer_sends(world: &World, customer: &Actor, order: Option<OrderId>, media: &Media) {
    world
        .crm
        .post_inbound(
            customer,
            InboundMessage {
                customer: World::customer_id(customer),
                about: order.map_or(OrderChoice::None, OrderChoice::Chosen),
                text: String::new(),
                attachments: vec![attachment(media)],
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
}

fn read_kind(world: &World, actor: &Actor, hash: MediaHash) -> Option<ErrorKind> {
    world
        .crm
        .read_visible_media(actor, hash)
        .err()
        .map(|error| error.kind())
}

fn assert_verifies(crm: &Crm) {
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(
        report.unchecked_tables.is_empty(),
        "{:?}",
        report.unchecked_tables
    );
}

#[test]
fn a_worker_without_chat_customers_or_a_grant_cannot_read_a_customers_photo() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let media = photo(&world, b"alice's photo");
    customer_sends(&world, &alice, None, &media);

    let error = world
        .crm
        .read_visible_media(&world.worker, media.hash)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert_eq!(
        world
            .crm
            .visible_media(&world.worker, media.hash)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    // Another customer knows the hash no better.
    let bob = world.customer(102, "Bob");
    assert_eq!(
        read_kind(&world, &bob, media.hash),
        Some(ErrorKind::NotFound)
    );
}

#[test]
fn a_manager_reads_a_customers_photo_and_so_does_the_customer() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let media = photo(&world, b"alice's photo");
    customer_sends(&world, &alice, None, &media);

    let crm_lib::media::MediaFile {
        media: stored,
        bytes,
    } = world
        .crm
        .read_visible_media(&world.manager, media.hash)
        .unwrap();
    assert_eq!(stored, media);
    assert_eq!(bytes, b"alice's photo");
    assert_eq!(read_kind(&world, &alice, media.hash), None);
    assert_eq!(read_kind(&world, &world.system, media.hash), None);
    assert_verifies(&world.crm);
}

#[test]
fn the_assignee_with_a_grant_reads_a_photo_sent_about_their_order_but_no_other() {
    let world = World::new();
    let order = world.assigned_order(201);
    let customer = Actor::customer(world.org.id, order.customer);
    let about_order = photo(&world, b"about the order");
    let general = photo(&world, b"about nothing in particular");
    customer_sends(&world, &customer, Some(order.id), &about_order);
    customer_sends(&world, &customer, None, &general);

    assert_eq!(read_kind(&world, &world.worker, about_order.hash), None);
    assert_eq!(
        read_kind(&world, &world.worker, general.hash),
        Some(ErrorKind::NotFound),
        "the grant covers the order's chat, not the whole conversation"
    );
    assert_eq!(
        read_kind(&world, &world.worker2, about_order.hash),
        Some(ErrorKind::NotFound),
        "another worker holds no grant on the order"
    );
    assert_eq!(read_kind(&world, &world.manager, general.hash), None);
}

#[test]
fn an_unknown_hash_is_not_found_for_everyone() {
    let world = World::new();
    let unknown = MediaHash::from_bytes([9; 32]);
    for actor in [&world.manager, &world.worker, &world.admin, &world.system] {
        assert_eq!(read_kind(&world, actor, unknown), Some(ErrorKind::NotFound));
    }
    // A file stored but attached to nothing is seen by no staff user either.
    let loose = photo(&world, b"uploaded, never sent");
    assert_eq!(
        read_kind(&world, &world.admin, loose.hash),
        Some(ErrorKind::NotFound)
    );
}

#[test]
fn an_order_attachment_is_readable_by_those_who_see_the_order() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let sketch = photo(&world, b"a sketch of the shop");
    let order = world
        .crm
        .create_order(
            &alice,
            NewOrder {
                title: "Shop bot".into(),
                description: "Like in the sketch".into(),
                // Attached twice: one reference is kept.
                attachments: vec![sketch.hash, sketch.hash],
                ..NewOrder::default()
            },
        )
        .unwrap();
    assert_verifies(&world.crm);

    // In moderation: moderators see the order, a worker does not.
    assert_eq!(read_kind(&world, &world.manager, sketch.hash), None);
    assert_eq!(read_kind(&world, &alice, sketch.hash), None);
    assert_eq!(
        read_kind(&world, &world.worker, sketch.hash),
        Some(ErrorKind::NotFound)
    );
    let bob = world.customer(102, "Bob");
    assert_eq!(
        read_kind(&world, &bob, sketch.hash),
        Some(ErrorKind::NotFound)
    );

    // Approved, the order is visible to view_orders, and so is its file.
    world.crm.approve_order(&world.manager, order.id).unwrap();
    assert_eq!(read_kind(&world, &world.worker, sketch.hash), None);
    assert_verifies(&world.crm);
}

#[test]
fn a_deleted_order_no_longer_lends_its_file_to_anyone() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let sketch = photo(&world, b"a sketch to withdraw");
    let order = world
        .crm
        .create_order(
            &alice,
            NewOrder {
                title: "Withdrawn".into(),
                description: "Changed my mind".into(),
                attachments: vec![sketch.hash],
                ..NewOrder::default()
            },
        )
        .unwrap();
    assert_eq!(read_kind(&world, &world.manager, sketch.hash), None);
    world.crm.delete_order(&alice, order.id).unwrap();
    assert_eq!(
        read_kind(&world, &world.manager, sketch.hash),
        Some(ErrorKind::NotFound)
    );
    assert_verifies(&world.crm);
}

fn outbound_file(bytes: &[u8]) -> OutboundFile {
    OutboundFile {
        media: NewMedia::parse(bytes.to_vec(), "image/png").unwrap(),
        kind: MediaKind::Photo,
        file_name: Some("plan.png".into()),
    }
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

fn stored(world: &World, hash: MediaHash) -> bool {
    match world.crm.system().media(world.org.id, hash) {
        Ok(_) => true,
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::NotFound);
            false
        }
    }
}

#[test]
fn a_message_that_is_refused_stores_none_of_the_files_sent_with_it() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let file = outbound_file(b"a floor plan");
    let hash = file.media.hash();
    let audit_before = world.crm.system().stats().unwrap();

    let denied = world
        .crm
        .post_outbound_with_files(&world.worker, to(&alice, "here"), vec![file.clone()])
        .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    let too_long = world
        .crm
        .post_outbound_with_files(
            &world.manager,
            to(&alice, &"x".repeat(MESSAGE_MAX_CHARS + 1)),
            vec![file.clone()],
        )
        .unwrap_err();
    assert_eq!(too_long.field(), Some("text"));
    let eleven: Vec<OutboundFile> = (0..=MESSAGE_MAX_ATTACHMENTS)
        .map(|index| outbound_file(format!("page {index}").as_bytes()))
        .collect();
    let too_many = world
        .crm
        .post_outbound_with_files(&world.manager, to(&alice, ""), eleven)
        .unwrap_err();
    assert_eq!(too_many.field(), Some("attachments"));
    assert!(!stored(&world, hash), "no refused message left its file");
    assert_eq!(
        world.crm.system().stats().unwrap().tables,
        audit_before.tables,
        "nothing was written"
    );

    // Ten files are the limit; with a valid text the message and its files are stored at once.
    let ten: Vec<OutboundFile> = (1..MESSAGE_MAX_ATTACHMENTS)
        .map(|index| outbound_file(format!("page {index}").as_bytes()))
        .chain([file])
        .collect();
    let message = world
        .crm
        .post_outbound_with_files(&world.manager, to(&alice, "the plans"), ten)
        .unwrap();
    assert_eq!(message.attachments.len(), MESSAGE_MAX_ATTACHMENTS);
    let last = &message.attachments[MESSAGE_MAX_ATTACHMENTS - 1];
    assert_eq!(
        (
            last.media,
            last.mime.as_str(),
            last.size,
            last.file_name.as_deref()
        ),
        (hash, "image/png", 12, Some("plan.png"))
    );
    let crm_lib::media::MediaFile { media, bytes } =
        world.crm.read_visible_media(&world.manager, hash).unwrap();
    assert_eq!((media.size, bytes.as_slice()), (12, &b"a floor plan"[..]));
    assert_verifies(&world.crm);
}

#[test]
fn an_upload_needs_chat_customers_and_leaves_an_audit_entry() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let file = NewMedia::parse(b"contract".to_vec(), "application/pdf").unwrap();
    for actor in [&world.worker, &alice] {
        let error = world.crm.upload_media(actor, file.clone()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    }
    assert!(!stored(&world, file.hash()));

    let media = world
        .crm
        .upload_media(&world.manager, file.clone())
        .unwrap();
    assert_eq!((media.size, media.mime.as_str()), (8, "application/pdf"));
    let entries = world
        .crm
        .read(|view| {
            audit_in(
                view,
                &world.admin,
                &AuditFilter {
                    subject: Some(Subject::Media(file.hash())),
                    ..AuditFilter::default()
                },
                Page::first(10),
            )
        })
        .unwrap()
        .items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, AuditAction::MediaUploaded);
    assert_eq!(
        entries[0].actor,
        ActorRef::Staff(World::user_id(&world.manager))
    );
    // Uploaded, not yet sent: nobody but the system reads it back.
    assert_eq!(
        read_kind(&world, &world.manager, file.hash()),
        Some(ErrorKind::NotFound)
    );
    for bad in [Vec::new(), vec![0; MEDIA_MAX_SIZE + 1]] {
        let error = NewMedia::parse(bad, "image/png").unwrap_err();
        assert_eq!(error.field(), Some("media"));
    }
    assert_eq!(
        NewMedia::parse(b"x".to_vec(), "not a type")
            .unwrap_err()
            .field(),
        Some("mime")
    );
}
