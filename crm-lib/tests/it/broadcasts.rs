//! Broadcasts: the audience a filter picks, the hand-over to the outbox at the sender's pace,
//! the report following Telegram's answers (sent, blocked, failed, interrupted), pause, resume,
//! cancel, schedule, the test send to staff, the limits, and `crm verify` over all of it.

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::broadcasts::BroadcastDraft;
use crm_lib::model::{
    Actor, Audience, BroadcastState, DeliveryFailure, Language, OutboxItem, OutboxPayload,
    OutboxState, Recipient, RecipientState, TelegramUserId, Timestamp,
};
use crm_lib::{Crm, CrmOptions, ErrorKind};

use crate::support::{World, profile};

static OFFSET: AtomicI64 = AtomicI64::new(0);
const START: i64 = 1_767_603_600_000;
const DAY: i64 = 24 * 3_600_000;
fn clock() -> Timestamp {
    Timestamp::from_millis(START + OFFSET.load(Ordering::SeqCst))
}
/// The scheduling test's clock, which stands still (the other test moves its own).
fn still() -> Timestamp {
    Timestamp::from_millis(START)
}

fn world_with(template: &str, clock: Option<fn() -> Timestamp>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.redb");
    let crm = match clock {
        Some(clock) => Crm::open_with_clock(path, CrmOptions::default(), clock).unwrap(),
        None => Crm::open(path).unwrap(),
    };
    let org = crm
        .system()
        .create_organization(template, "Tokens", "tokens")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    world.lift_order_limit();
    world
}

fn customer(world: &World, telegram_id: i64, name: &str, language: &str) -> Actor {
    let customer = world
        .crm
        .system()
        .upsert_telegram_customer(
            world.org.id,
            crm_lib::customers::TelegramProfile {
                language_code: Some(language.into()),
                ..profile(telegram_id, name)
            },
        )
        .unwrap();
    Actor::customer(world.org.id, customer.id)
}

fn draft(text: &str, audience: Audience) -> BroadcastDraft {
    BroadcastDraft {
        title: "Spring news".into(),
        text: text.into(),
        audience,
        rate_per_second: 10,
    }
}

/// The broadcast items of the outbox that are still open, oldest first.
fn open_items(world: &World) -> Vec<OutboxItem> {
    world
        .outbox()
        .into_iter()
        .filter(|item| {
            matches!(item.payload, OutboxPayload::Broadcast { .. }) && item.state.is_open()
        })
        .collect()
}

fn verify_clean(world: &World) {
    let report = world.crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

#[test]
fn the_audience_picks_by_language_subscription_balance_activity_and_orders() {
    let world = world_with("service", Some(clock));
    let anna = customer(&world, 7001, "Anna", "en");
    let boris = customer(&world, 7002, "Boris", "ru");
    let carl = customer(&world, 7003, "Carl", "en");
    // Dina has no Telegram account: the bot cannot reach her, so no filter picks her.
    world
        .crm
        .create_customer(
            &world.admin,
            crm_lib::customers::NewCustomer {
                telegram_id: String::new(),
                username: String::new(),
                first_name: "Dina".into(),
                last_name: String::new(),
                phone: "+15550001111".into(),
                email: String::new(),
                language: "en".into(),
            },
        )
        .unwrap();
    let system = world.crm.system();
    system
        .credit_purchase(
            world.org.id,
            World::customer_id(&anna),
            600,
            "test:anna",
            "tokens",
        )
        .unwrap();
    system
        .credit_purchase(
            world.org.id,
            World::customer_id(&boris),
            40,
            "test:boris",
            "tokens",
        )
        .unwrap();
    world
        .crm
        .grant_subscription(&world.manager, World::customer_id(&anna), 30)
        .unwrap();
    world.order(&carl, "A site", None);

    let count = |audience: Audience| {
        world
            .crm
            .audience_preview(&world.manager, audience)
            .unwrap()
            .count
    };
    assert_eq!(count(Audience::default()), 3);
    let english = Audience {
        languages: vec![Language::parse("language", "en").unwrap()],
        ..Audience::default()
    };
    assert_eq!(count(english.clone()), 2);
    let preview = world.crm.audience_preview(&world.manager, english).unwrap();
    let names: Vec<&str> = preview
        .sample
        .iter()
        .map(|(_, name)| name.as_str())
        .collect();
    assert_eq!(names, ["Anna", "Carl"]);
    assert_eq!(
        count(Audience {
            subscribers: Some(true),
            ..Audience::default()
        }),
        1
    );
    assert_eq!(
        count(Audience {
            subscribers: Some(false),
            ..Audience::default()
        }),
        2
    );
    // Carl has no account: a balance of 0.
    assert_eq!(
        count(Audience {
            balance_min: Some(0),
            balance_max: Some(50),
            ..Audience::default()
        }),
        2
    );
    assert_eq!(
        count(Audience {
            balance_min: Some(100),
            ..Audience::default()
        }),
        1
    );
    assert_eq!(
        count(Audience {
            has_ordered: Some(true),
            ..Audience::default()
        }),
        1
    );
    assert_eq!(
        count(Audience {
            has_ordered: Some(false),
            ..Audience::default()
        }),
        2
    );
    // Ten days later Boris writes again; the others stay quiet.
    OFFSET.store(10 * DAY, Ordering::SeqCst);
    world
        .crm
        .system()
        .upsert_telegram_customer(
            world.org.id,
            crm_lib::customers::TelegramProfile {
                language_code: Some("ru".into()),
                ..profile(7002, "Boris")
            },
        )
        .unwrap();
    world
        .crm
        .post_inbound(
            &boris,
            crm_lib::chat::InboundMessage {
                customer: World::customer_id(&boris),
                about: crm_lib::chat::OrderChoice::None,
                text: "Hello again".into(),
                attachments: Vec::new(),
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
    let active = count(Audience {
        active_within_days: Some(7),
        ..Audience::default()
    });
    assert_eq!(active, 1, "only Boris was active in the last 7 days");

    // Bad filters are refused.
    let error = world
        .crm
        .audience_preview(
            &world.manager,
            Audience {
                balance_min: Some(10),
                balance_max: Some(5),
                ..Audience::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error = world
        .crm
        .audience_preview(
            &world.manager,
            Audience {
                active_within_days: Some(0),
                ..Audience::default()
            },
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error = world
        .crm
        .audience_preview(&world.worker, Audience::default())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn token_conditions_need_the_tokens_module() {
    let world = world_with("studio", None);
    customer(&world, 7101, "Anna", "en");
    let error = world
        .crm
        .create_broadcast(
            &world.manager,
            draft(
                "Hello",
                Audience {
                    subscribers: Some(true),
                    ..Audience::default()
                },
            ),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    // Without them the studio broadcasts too.
    let broadcast = world
        .crm
        .create_broadcast(&world.manager, draft("Hello", Audience::default()))
        .unwrap();
    let started = world
        .crm
        .start_broadcast(&world.manager, broadcast.id)
        .unwrap();
    assert_eq!(started.counts.recipients, 1);
}

#[test]
fn the_text_the_rate_and_the_title_are_checked_and_nothing_is_written_when_bad() {
    let world = world_with("service", None);
    let bad = |draft: BroadcastDraft, field: &str| {
        let error = world
            .crm
            .create_broadcast(&world.manager, draft)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert!(error.to_string().contains(field), "{error}");
    };
    bad(draft(&"a".repeat(3_901), Audience::default()), "text");
    bad(draft("   ", Audience::default()), "text");
    // 2,100 emoji are 2,100 characters but 4,200 UTF-16 units: over Telegram's 4,096.
    bad(draft(&"🎉".repeat(2_100), Audience::default()), "text");
    bad(
        BroadcastDraft {
            rate_per_second: 0,
            ..draft("Hi", Audience::default())
        },
        "rate_per_second",
    );
    bad(
        BroadcastDraft {
            rate_per_second: 31,
            ..draft("Hi", Audience::default())
        },
        "rate_per_second",
    );
    bad(
        BroadcastDraft {
            title: String::new(),
            ..draft("Hi", Audience::default())
        },
        "title",
    );
    assert!(world.crm.broadcasts(&world.manager).unwrap().is_empty());
    // Exactly 3,900 characters is fine.
    world
        .crm
        .create_broadcast(
            &world.manager,
            draft(&"a".repeat(3_900), Audience::default()),
        )
        .unwrap();
    let error = world
        .crm
        .create_broadcast(&world.worker, draft("Hi", Audience::default()))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn recipients_go_to_the_outbox_at_the_pace_asked_and_the_report_follows_every_answer() {
    let world = world_with("service", None);
    let customers: Vec<Actor> = (0..6)
        .map(|index| customer(&world, 7200 + index, &format!("C{index}"), "en"))
        .collect();
    let broadcast = world
        .crm
        .create_broadcast(&world.manager, draft("Big news!", Audience::default()))
        .unwrap();
    assert_eq!(broadcast.state, BroadcastState::Draft);
    let started = world
        .crm
        .start_broadcast(&world.manager, broadcast.id)
        .unwrap();
    assert_eq!(started.state, BroadcastState::Sending);
    assert_eq!(started.counts.recipients, 6);
    assert_eq!(started.counts.pending, 6);
    assert!(
        open_items(&world).is_empty(),
        "nothing goes before the sender"
    );
    // Started broadcasts are not edited.
    let error = world
        .crm
        .update_broadcast(
            &world.manager,
            broadcast.id,
            draft("Other", Audience::default()),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);

    let system = world.crm.system();
    assert_eq!(
        system
            .feed_broadcast(world.org.id, broadcast.id, 2)
            .unwrap(),
        2
    );
    let items = open_items(&world);
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0].recipient,
        Recipient::Customer(World::customer_id(&customers[0]))
    );
    assert!(items[0].payload.at_most_once());
    let view = world.crm.broadcast(&world.manager, broadcast.id).unwrap();
    assert_eq!(view.broadcast.counts.queued, 2);
    assert_eq!(view.broadcast.counts.pending, 4);

    // The first is delivered; the second's customer blocked the bot.
    assert!(system.outbox_begin(world.org.id, items[0].id).unwrap());
    system
        .outbox_delivered(world.org.id, items[0].id, Some(501))
        .unwrap();
    assert!(system.outbox_begin(world.org.id, items[1].id).unwrap());
    system
        .outbox_failed(
            world.org.id,
            items[1].id,
            DeliveryFailure::Blocked {
                reason: "Forbidden: bot was blocked by the user".into(),
            },
        )
        .unwrap();

    // Paused: nothing more goes.
    world
        .crm
        .pause_broadcast(&world.manager, broadcast.id)
        .unwrap();
    assert_eq!(
        system
            .feed_broadcast(world.org.id, broadcast.id, 5)
            .unwrap(),
        0
    );
    world
        .crm
        .resume_broadcast(&world.manager, broadcast.id)
        .unwrap();
    assert_eq!(
        system
            .feed_broadcast(world.org.id, broadcast.id, 3)
            .unwrap(),
        3
    );
    let items = open_items(&world);
    assert_eq!(items.len(), 3);
    // The first of them started, then the appliance died before Telegram's answer was
    // recorded: found so again, it is given up, not repeated.
    assert!(system.outbox_begin(world.org.id, items[0].id).unwrap());
    assert!(!system.outbox_begin(world.org.id, items[0].id).unwrap());
    let interrupted = system.outbox_item(world.org.id, items[0].id).unwrap();
    assert!(matches!(interrupted.state, OutboxState::Failed { .. }));
    // A 429 sends the item back to pending; it may go again.
    assert!(system.outbox_begin(world.org.id, items[1].id).unwrap());
    system
        .outbox_retry(world.org.id, items[1].id, Timestamp::now())
        .unwrap();
    assert!(system.outbox_begin(world.org.id, items[1].id).unwrap());
    system
        .outbox_delivered(world.org.id, items[1].id, Some(502))
        .unwrap();
    system
        .outbox_delivered(world.org.id, items[2].id, Some(503))
        .unwrap();
    verify_clean(&world);

    // The last one: the customer is reached once more.
    assert_eq!(
        system
            .feed_broadcast(world.org.id, broadcast.id, 10)
            .unwrap(),
        1
    );
    let last = open_items(&world);
    system
        .outbox_delivered(world.org.id, last[0].id, Some(504))
        .unwrap();
    let done = world.crm.broadcast(&world.manager, broadcast.id).unwrap();
    assert_eq!(done.broadcast.state, BroadcastState::Finished);
    let counts = done.broadcast.counts;
    assert_eq!(
        (counts.sent, counts.blocked, counts.failed, counts.open()),
        (4, 1, 1, 0)
    );
    assert!(done.broadcast.finished_at.is_some());
    assert!(!done.actions.pause && !done.actions.cancel && !done.actions.delete);

    // The report, all and by state.
    let all = world
        .crm
        .broadcast_recipients(&world.manager, broadcast.id, None, None, 4)
        .unwrap();
    assert_eq!(all.rows.len(), 4);
    assert_eq!(all.rows[0].name.as_deref(), Some("C0"));
    assert!(matches!(
        all.rows[0].state,
        RecipientState::Sent {
            telegram_message_id: Some(501),
            ..
        }
    ));
    assert_eq!(all.rows[1].state, RecipientState::Blocked);
    let rest = world
        .crm
        .broadcast_recipients(&world.manager, broadcast.id, None, all.next, 4)
        .unwrap();
    assert_eq!(rest.rows.len(), 2);
    assert_eq!(rest.next, None);
    let failed = world
        .crm
        .broadcast_recipients(&world.manager, broadcast.id, Some("failed"), None, 50)
        .unwrap();
    assert_eq!(failed.rows.len(), 1);
    assert!(
        matches!(&failed.rows[0].state, RecipientState::Failed { reason } if reason.contains("interrupted"))
    );
    let error = world
        .crm
        .broadcast_recipients(&world.manager, broadcast.id, Some("lost"), None, 50)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);

    // The blocked customer is now unreachable: a new broadcast does not pick them.
    let preview = world
        .crm
        .audience_preview(&world.manager, Audience::default())
        .unwrap();
    assert_eq!(preview.count, 5);
    verify_clean(&world);
}

#[test]
fn cancelling_skips_who_is_left_and_the_report_adds_up() {
    let world = world_with("service", None);
    for index in 0..5 {
        customer(&world, 7300 + index, &format!("C{index}"), "ru");
    }
    let broadcast = world
        .crm
        .create_broadcast(&world.manager, draft("Sale", Audience::default()))
        .unwrap();
    world
        .crm
        .start_broadcast(&world.manager, broadcast.id)
        .unwrap();
    let system = world.crm.system();
    assert_eq!(
        system
            .feed_broadcast(world.org.id, broadcast.id, 2)
            .unwrap(),
        2
    );
    let cancelled = world
        .crm
        .cancel_broadcast(&world.manager, broadcast.id)
        .unwrap();
    assert_eq!(cancelled.state, BroadcastState::Cancelled);
    assert_eq!(cancelled.counts.skipped, 3);
    assert_eq!(cancelled.counts.queued, 2);
    assert_eq!(
        system
            .feed_broadcast(world.org.id, broadcast.id, 5)
            .unwrap(),
        0
    );
    // The two already in the outbox are still answered for.
    for item in open_items(&world) {
        system
            .outbox_delivered(world.org.id, item.id, Some(1))
            .unwrap();
    }
    let after = world.crm.broadcast(&world.manager, broadcast.id).unwrap();
    assert_eq!(after.broadcast.state, BroadcastState::Cancelled);
    assert_eq!(after.broadcast.counts.sent, 2);
    assert_eq!(after.broadcast.counts.open(), 0);
    let error = world
        .crm
        .delete_broadcast(&world.manager, broadcast.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    verify_clean(&world);
}

#[test]
fn a_scheduled_broadcast_starts_when_its_moment_comes_and_an_empty_audience_is_refused() {
    let world = world_with("service", Some(still));
    customer(&world, 7401, "Anna", "en");
    let broadcast = world
        .crm
        .create_broadcast(&world.manager, draft("Later", Audience::default()))
        .unwrap();
    let error = world
        .crm
        .schedule_broadcast(&world.manager, broadcast.id, still().plus_millis(10_000))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let at = still().plus_millis(3_600_000);
    let scheduled = world
        .crm
        .schedule_broadcast(&world.manager, broadcast.id, at)
        .unwrap();
    assert_eq!(scheduled.state, BroadcastState::Scheduled);
    let system = world.crm.system();
    assert_eq!(system.start_due_broadcasts(still()).unwrap(), 0);
    let active = system.active_broadcasts().unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].scheduled_at, Some(at));
    assert_eq!(system.start_due_broadcasts(at).unwrap(), 1);
    let started = world.crm.broadcast(&world.manager, broadcast.id).unwrap();
    assert_eq!(started.broadcast.state, BroadcastState::Sending);
    assert_eq!(started.broadcast.counts.recipients, 1);

    // An audience of nobody is refused when started by hand.
    let nobody = world
        .crm
        .create_broadcast(
            &world.manager,
            draft(
                "Nobody",
                Audience {
                    languages: vec![Language::parse("language", "ru").unwrap()],
                    ..Audience::default()
                },
            ),
        )
        .unwrap();
    let error = world
        .crm
        .start_broadcast(&world.manager, nobody.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    let still = world.crm.broadcast(&world.manager, nobody.id).unwrap();
    assert_eq!(still.broadcast.state, BroadcastState::Draft);
    // A scheduled one back to a draft, then deleted.
    world
        .crm
        .schedule_broadcast(&world.manager, nobody.id, at)
        .unwrap();
    let back = world
        .crm
        .cancel_broadcast(&world.manager, nobody.id)
        .unwrap();
    assert_eq!(back.state, BroadcastState::Draft);
    world
        .crm
        .delete_broadcast(&world.manager, nobody.id)
        .unwrap();
    assert_eq!(world.crm.broadcasts(&world.manager).unwrap().len(), 1);
    verify_clean(&world);
}

#[test]
fn a_test_goes_to_staff_with_linked_telegram_and_changes_no_recipient() {
    let world = world_with("service", None);
    customer(&world, 7501, "Anna", "en");
    let broadcast = world
        .crm
        .create_broadcast(&world.manager, draft("Try me", Audience::default()))
        .unwrap();
    let error = world
        .crm
        .test_broadcast(&world.manager, broadcast.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict);
    let code = world.crm.create_link_code(&world.manager).unwrap();
    world
        .crm
        .system()
        .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(88_001))
        .unwrap();
    // A worker links too, but lacks the broadcast permission: no test for them.
    let code = world.crm.create_link_code(&world.worker).unwrap();
    world
        .crm
        .system()
        .redeem_link_code(world.org.id, &code.code, TelegramUserId::new(88_002))
        .unwrap();
    assert_eq!(
        world
            .crm
            .test_broadcast(&world.manager, broadcast.id)
            .unwrap(),
        1
    );
    let items = open_items(&world);
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].recipient,
        Recipient::Staff(World::user_id(&world.manager))
    );
    assert!(matches!(&items[0].payload, OutboxPayload::Broadcast { text, .. } if text == "Try me"));
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, items[0].id, Some(9))
        .unwrap();
    let view = world.crm.broadcast(&world.manager, broadcast.id).unwrap();
    assert_eq!(view.broadcast.state, BroadcastState::Draft);
    assert_eq!(view.broadcast.test_sends, 1);
    assert_eq!(view.broadcast.counts, Default::default());
    verify_clean(&world);
}
