//! Retention: pruning processed inbox items and finished outbox items, bounded per call,
//! never touching pending ones, and still recognising pruned updates sent again.

use crm_lib::{
    ErrorKind,
    chat::{OutboundFile, OutboundMessage},
    media::NewMedia,
    model::{
        BotReply, ChatId, DeliveryFailure, InboxState, Media, MediaHash, MediaKind, OutboxId,
        OutboxState, Timestamp,
    },
    retention::MEDIA_GRACE_HOURS,
    telegram::{INBOX_CAPACITY, InboxPut},
};

use crate::support::World;

/// A cutoff after everything the test wrote: every finished item is old enough.
fn future() -> Timestamp {
    Timestamp::now().plus_millis(3_600_000)
}

fn put(world: &World, update_id: u64) {
    assert_eq!(
        world
            .crm
            .system()
            .inbox_put(world.org.id, update_id, "{}".into(), INBOX_CAPACITY)
            .unwrap(),
        InboxPut::Inserted
    );
}

fn is_gone(world: &World, update_id: u64) -> bool {
    match world.crm.system().inbox_item(world.org.id, update_id) {
        Ok(_) => false,
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::NotFound);
            true
        }
    }
}

fn outbox_gone(world: &World, id: OutboxId) -> bool {
    match world.crm.system().outbox_item(world.org.id, id) {
        Ok(_) => false,
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::NotFound);
            true
        }
    }
}

fn assert_clean(world: &World) {
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

/// Delivers whatever the fixture queued, so a test counts only its own items.
fn deliver_everything(world: &World) {
    for due in world.crm.system().due_outbox(future(), 10_000).unwrap() {
        world
            .crm
            .system()
            .outbox_delivered(due.org, due.item.id, None)
            .unwrap();
    }
}

fn bot_call(world: &World) -> OutboxId {
    world
        .crm
        .system()
        .reply(
            world.org.id,
            ChatId::new(101),
            BotReply::Text {
                text: "hi".into(),
                keyboard: None,
            },
        )
        .unwrap()
}

#[test]
fn old_done_inbox_items_are_pruned_and_pending_ones_never() {
    let world = World::new();
    let org = world.org.id;
    for update_id in 1..=5 {
        put(&world, update_id);
    }
    for update_id in [1, 2, 3, 5] {
        world.crm.system().finish_update(org, update_id).unwrap();
    }

    // Nothing was received before the epoch.
    assert_eq!(
        world
            .crm
            .system()
            .prune_inbox(None, Timestamp::from_millis(0), 1000)
            .unwrap(),
        0
    );

    // The scan stops at pending update 4; update 5 waits behind it.
    assert_eq!(
        world
            .crm
            .system()
            .prune_inbox(None, future(), 1000)
            .unwrap(),
        3
    );
    assert!(is_gone(&world, 1) && is_gone(&world, 2) && is_gone(&world, 3));
    assert_eq!(
        world.crm.system().inbox_item(org, 4).unwrap().state,
        InboxState::Pending
    );
    assert!(!is_gone(&world, 5));
    let pending: Vec<u64> = world
        .crm
        .system()
        .pending_updates(org, 10)
        .unwrap()
        .iter()
        .map(|item| item.update_id)
        .collect();
    assert_eq!(pending, vec![4]);
    assert_eq!(
        world
            .crm
            .system()
            .prune_inbox(None, future(), 1000)
            .unwrap(),
        0
    );

    world.crm.system().finish_update(org, 4).unwrap();
    assert_eq!(
        world
            .crm
            .system()
            .prune_inbox(None, future(), 1000)
            .unwrap(),
        2
    );
    assert!(is_gone(&world, 4) && is_gone(&world, 5));
    assert_clean(&world);
}

#[test]
fn a_pruned_update_id_sent_again_is_a_duplicate() {
    let world = World::new();
    let org = world.org.id;
    for update_id in [10, 11] {
        put(&world, update_id);
        world.crm.system().finish_update(org, update_id).unwrap();
    }
    assert_eq!(
        world
            .crm
            .system()
            .prune_inbox(Some(org), future(), 1000)
            .unwrap(),
        2
    );
    assert!(is_gone(&world, 10) && is_gone(&world, 11));

    // The emulator still numbers after the pruned updates.
    assert_eq!(
        world.crm.system().inbox_last_update_id(org).unwrap(),
        Some(11)
    );
    for update_id in [11, 10, 3] {
        assert_eq!(
            world
                .crm
                .system()
                .inbox_put(org, update_id, "{}".into(), INBOX_CAPACITY)
                .unwrap(),
            InboxPut::Duplicate,
            "update {update_id}"
        );
    }
    assert!(is_gone(&world, 11));
    put(&world, 12);
    assert_eq!(
        world.crm.system().inbox_last_update_id(org).unwrap(),
        Some(12)
    );
    assert_clean(&world);
}

#[test]
fn delivered_and_failed_outbox_items_older_than_the_cutoff_are_pruned_and_pending_never() {
    let world = World::new();
    let org = world.org.id;
    deliver_everything(&world);
    let queued_before = world.outbox().len() as u64;
    let delivered = bot_call(&world);
    let failed = bot_call(&world);
    let pending = bot_call(&world);
    let behind = bot_call(&world);
    world
        .crm
        .system()
        .outbox_delivered(org, delivered, Some(7))
        .unwrap();
    world
        .crm
        .system()
        .outbox_failed(
            org,
            failed,
            DeliveryFailure::Refused {
                reason: "Bad Request: chat not found".into(),
            },
        )
        .unwrap();
    world
        .crm
        .system()
        .outbox_delivered(org, behind, Some(8))
        .unwrap();

    // Nothing finished before the epoch.
    assert_eq!(
        world
            .crm
            .system()
            .prune_outbox(None, Timestamp::from_millis(0), 1000)
            .unwrap(),
        0
    );

    assert_eq!(
        world
            .crm
            .system()
            .prune_outbox(None, future(), 1000)
            .unwrap(),
        queued_before + 2
    );
    assert!(outbox_gone(&world, delivered) && outbox_gone(&world, failed));
    assert_eq!(
        world.crm.system().outbox_item(org, pending).unwrap().state,
        OutboxState::Pending
    );
    assert!(!outbox_gone(&world, behind));
    assert_eq!(world.crm.system().outbox_depth().unwrap(), 1);
    assert_clean(&world);

    world
        .crm
        .system()
        .outbox_failed(
            org,
            pending,
            DeliveryFailure::GaveUp {
                reason: "Forbidden: bot was blocked by the user".into(),
            },
        )
        .unwrap();
    assert_eq!(
        world
            .crm
            .system()
            .prune_outbox(None, future(), 1000)
            .unwrap(),
        2
    );
    assert!(world.outbox().is_empty());
    assert_clean(&world);

    // Ids keep growing after the table was emptied.
    assert!(bot_call(&world).get() > behind.get());
    assert_clean(&world);
}

#[test]
fn pruning_is_bounded_by_the_limit() {
    let world = World::new();
    let org = world.org.id;
    for update_id in 1..=5 {
        put(&world, update_id);
        world.crm.system().finish_update(org, update_id).unwrap();
    }
    let counts: Vec<u64> = (0..4)
        .map(|_| world.crm.system().prune_inbox(None, future(), 2).unwrap())
        .collect();
    assert_eq!(counts, vec![2, 2, 1, 0]);
    assert_eq!(
        world.crm.system().prune_inbox(None, future(), 0).unwrap(),
        0
    );

    deliver_everything(&world);
    world
        .crm
        .system()
        .prune_outbox(None, future(), 10_000)
        .unwrap();
    for _ in 0..5 {
        let id = bot_call(&world);
        world.crm.system().outbox_delivered(org, id, None).unwrap();
    }
    let counts: Vec<u64> = (0..4)
        .map(|_| world.crm.system().prune_outbox(None, future(), 2).unwrap())
        .collect();
    assert_eq!(counts, vec![2, 2, 1, 0]);
    assert_clean(&world);
}

#[test]
fn pruning_one_organization_leaves_the_others_alone() {
    let world = World::new();
    let org = world.org.id;
    let other = world
        .crm
        .system()
        .create_organization("studio", "Other Studio", "other")
        .unwrap()
        .id;
    for update_id in [1, 2] {
        world
            .crm
            .system()
            .inbox_put(other, update_id, "{}".into(), INBOX_CAPACITY)
            .unwrap();
        world.crm.system().finish_update(other, update_id).unwrap();
    }
    put(&world, 1);
    world.crm.system().finish_update(org, 1).unwrap();

    assert_eq!(
        world
            .crm
            .system()
            .prune_inbox(Some(org), future(), 1000)
            .unwrap(),
        1
    );
    assert!(world.crm.system().inbox_item(other, 1).is_ok());
    // One organization's mark says nothing about another's update ids.
    assert_eq!(
        world
            .crm
            .system()
            .prune_inbox(Some(other), future(), 1000)
            .unwrap(),
        2
    );
    assert_eq!(
        world
            .crm
            .system()
            .inbox_put(org, 2, "{}".into(), INBOX_CAPACITY)
            .unwrap(),
        InboxPut::Inserted
    );
    assert_eq!(
        world
            .crm
            .system()
            .inbox_put(other, 2, "{}".into(), INBOX_CAPACITY)
            .unwrap(),
        InboxPut::Duplicate
    );
    assert_clean(&world);
}

/// Calls `prune_media` with `limit` until the walk ends; the files deleted and the calls made.
fn prune_all_media(world: &World, older_than: Timestamp, limit: usize) -> (u64, usize) {
    let (mut deleted, mut calls, mut cursor) = (0, 0, None);
    loop {
        let pruned = world
            .crm
            .system()
            .prune_media(None, older_than, cursor.as_ref(), limit)
            .unwrap();
        deleted += pruned.deleted;
        calls += 1;
        match pruned.next {
            Some(next) => cursor = Some(next),
            None => return (deleted, calls),
        }
    }
}

fn has_media(world: &World, hash: MediaHash) -> bool {
    world.crm.system().media(world.org.id, hash).is_ok()
}

#[test]
fn files_nothing_refers_to_are_deleted_after_the_grace_period_and_referenced_ones_never() {
    let world = World::new();
    let alice = world.customer(101, "Alice");
    let loose: Vec<Media> = (0..5)
        .map(|index| {
            world
                .crm
                .upload_media(
                    &world.manager,
                    NewMedia::parse(vec![index; 300 * 1024], "image/png").unwrap(),
                )
                .unwrap()
        })
        .collect();
    assert_eq!(loose[0].chunks, 2, "a file of two chunks");
    let sent = world
        .crm
        .post_outbound_with_files(
            &world.manager,
            OutboundMessage {
                customer: World::customer_id(&alice),
                order: None,
                text: "the plan".into(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
            vec![OutboundFile {
                media: NewMedia::parse(b"sent".to_vec(), "image/png").unwrap(),
                kind: MediaKind::Photo,
                file_name: None,
            }],
        )
        .unwrap();
    let kept = sent.attachments[0].media;

    // Within the grace period nothing goes.
    let now = Timestamp::now();
    let within = now.plus_millis(-MEDIA_GRACE_HOURS * 3_600_000);
    assert_eq!(prune_all_media(&world, within, 1000), (0, 1));
    assert!(loose.iter().all(|media| has_media(&world, media.hash)));

    // After it, the unreferenced files go, two looked at per call, and the sent one stays.
    let (deleted, calls) = prune_all_media(&world, future(), 2);
    assert_eq!(deleted, 5);
    assert_eq!(
        calls, 4,
        "6 files, 2 per call, and a last call that finds the end"
    );
    assert!(loose.iter().all(|media| !has_media(&world, media.hash)));
    assert!(has_media(&world, kept));
    assert_eq!(
        world
            .crm
            .read_visible_media(&world.manager, kept)
            .unwrap()
            .bytes,
        b"sent"
    );
    let stats = world.crm.system().stats().unwrap();
    let entries = |name: &str| {
        stats
            .tables
            .iter()
            .find(|table| table.name == name)
            .map(|table| table.entries)
    };
    assert_eq!(entries("media"), Some(1));
    assert_eq!(
        entries("media_chunks"),
        Some(1),
        "the deleted files' chunks went too"
    );
    assert_clean(&world);
    // Repeating finds nothing more.
    assert_eq!(prune_all_media(&world, future(), 2).0, 0);
}

#[test]
fn handing_in_an_unreferenced_file_again_restarts_its_grace_period() {
    let world = World::new();
    let file = NewMedia::parse(b"draft".to_vec(), "text/plain").unwrap();
    let first = world
        .crm
        .upload_media(&world.manager, file.clone())
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let again = world
        .crm
        .upload_media(&world.manager, file.clone())
        .unwrap();
    assert!(again.created_at > first.created_at, "{first:?} {again:?}");

    // A cutoff between the two keeps it; only one after the second deletes it.
    let between = first.created_at.plus_millis(1);
    assert_eq!(prune_all_media(&world, between, 10).0, 0);
    assert!(has_media(&world, file.hash()));
    assert_eq!(prune_all_media(&world, future(), 10).0, 1);
    assert!(!has_media(&world, file.hash()));
}
