//! Issue 12's inbox tools through `Crm`: canned responses (variables filled per language,
//! unknown variables refused) and business hours (interval boundaries, holidays, a schedule
//! in Europe/Berlin across the daylight saving change, the organization's time zone moving
//! the boundaries, the out-of-hours auto-reply once per closed period).

use std::sync::atomic::{AtomicI64, Ordering};

use crm_lib::{
    Crm, CrmOptions, ErrorKind, Page,
    canned::CannedInput,
    chat::{InboundMessage, OrderChoice},
    hours::{HoursInput, Schedule},
    media::NewMedia,
    model::{
        Actor, Author, CustomerId, Direction, Language, Localized, MediaKind, Organization,
        OutboxPayload, Timestamp,
    },
    org::SettingsUpdate,
};

use crate::support::{World, profile};

fn at(text: &str) -> Timestamp {
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    Timestamp::from_millis((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn canned(code: &str, texts: Localized) -> CannedInput {
    CannedInput {
        code: code.into(),
        title: format!("Title of {code}"),
        texts,
        attachments: Vec::new(),
    }
}

/// A customer who speaks English (the World's customers speak Russian).
fn english_customer(world: &World, telegram_id: i64, name: &str) -> Actor {
    let customer = world
        .crm
        .system()
        .upsert_telegram_customer(
            world.org.id,
            crm_lib::customers::TelegramProfile {
                language_code: Some("en".into()),
                last_name: Some("Smith".into()),
                ..profile(telegram_id, name)
            },
        )
        .unwrap();
    Actor::customer(world.org.id, customer.id)
}

#[test]
fn canned_variables_are_filled_in_the_customer_s_language_with_its_order() {
    let world = World::new();
    let ivan = world.customer(501, "Ivan");
    let ann = english_customer(&world, 502, "Ann");
    let order = world.order(&ivan, "Blue logo", None);
    let texts = Localized::new("Hello {customer.first_name}, order {order.number} ({order.title}) is {order.stage}. {operator.name}, {org.name}")
        .with(Language::RU, "Здравствуйте, {customer.name}! Заказ {order.number}: {order.title}.");
    world
        .crm
        .create_canned(&world.admin, canned("status", texts), Vec::new())
        .unwrap();
    world
        .crm
        .create_canned(
            &world.admin,
            canned(
                "bye",
                Localized::new("Bye {customer.name} {customer.last_name}"),
            ),
            Vec::new(),
        )
        .unwrap();

    // Ivan speaks Russian; his current order fills the order's variables.
    let for_ivan = world
        .crm
        .render_canned(&world.manager, World::customer_id(&ivan), None, "")
        .unwrap();
    let status = for_ivan.iter().find(|c| c.code == "status").unwrap();
    assert_eq!(
        status.text,
        format!("Здравствуйте, Ivan! Заказ {}: Blue logo.", order.id)
    );
    // Only English: the organization's default language answers for Ivan.
    let bye = for_ivan.iter().find(|c| c.code == "bye").unwrap();
    assert_eq!(bye.text, "Bye Ivan ", "no last name renders as empty text");

    // Ann speaks English and has no order: the order's variables render empty.
    let for_ann = world
        .crm
        .render_canned(&world.manager, World::customer_id(&ann), None, "sta")
        .unwrap();
    assert_eq!(for_ann.len(), 1, "the query matches the code's start");
    assert_eq!(
        for_ann[0].text,
        "Hello Ann, order  () is . manager display, Acme Studio"
    );
    // Another customer's order is not found.
    let other = world
        .crm
        .render_canned(&world.manager, World::customer_id(&ann), Some(order.id), "")
        .unwrap_err();
    assert_eq!(other.kind(), ErrorKind::NotFound, "{other}");
    // A worker without chat_customers may not render them.
    let denied = world
        .crm
        .render_canned(&world.worker, World::customer_id(&ivan), None, "")
        .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied, "{denied}");
}

#[test]
fn an_unknown_variable_or_an_unbalanced_brace_is_refused_and_nothing_is_written() {
    let world = World::new();
    let file = crm_lib::chat::OutboundFile {
        media: NewMedia::parse(b"\x89PNG\r\n\x1a\nnot really".to_vec(), "image/png").unwrap(),
        kind: MediaKind::Photo,
        file_name: Some("map.png".into()),
    };
    let hash = file.media.hash();
    for text in ["Hi {customer.age}", "Hi {customer.name", "Hi }"] {
        let error = world
            .crm
            .create_canned(
                &world.admin,
                canned("hi", Localized::new(text)),
                vec![file.clone()],
            )
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert_eq!(error.field(), Some("texts"), "{error}");
    }
    let unknown = world
        .crm
        .create_canned(
            &world.admin,
            canned(
                "hi",
                Localized::new("ok").with(Language::RU, "{order.price}"),
            ),
            Vec::new(),
        )
        .unwrap_err();
    assert!(unknown.to_string().contains("{order.price}"), "{unknown}");
    assert!(world.crm.canned_list(&world.admin).unwrap().is_empty());
    assert!(
        world.crm.system().media(world.org.id, hash).is_err(),
        "the refused response's file was not stored"
    );

    // A good one stores its file, which staff who chat may then read.
    let saved = world
        .crm
        .create_canned(
            &world.admin,
            canned("hi", Localized::new("Hi {customer.first_name}")),
            vec![file],
        )
        .unwrap();
    assert_eq!(saved.attachments.len(), 1);
    assert!(world.crm.visible_media(&world.manager, hash).is_ok());
    let taken = world
        .crm
        .create_canned(
            &world.admin,
            canned("HI", Localized::new("again")),
            Vec::new(),
        )
        .unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::Conflict, "{taken}");
    assert!(world.crm.system().verify().unwrap().is_clean());
}

/// Monday to Friday `day` on the local clock, weekends closed.
fn weekdays(day: &str) -> Vec<String> {
    let mut week = vec![day.to_string(); 5];
    week.extend([String::new(), String::new()]);
    week
}

fn schedule(world: &World, org: &Organization, input: HoursInput) -> Schedule {
    let hours = world.crm.set_business_hours(&world.admin, input).unwrap();
    Schedule::new(hours, org)
}

#[test]
fn business_hours_open_and_close_at_the_interval_boundaries_and_holidays_close_all_day() {
    let world = World::new();
    let s = schedule(
        &world,
        &world.org,
        HoursInput {
            enabled: true,
            week: weekdays("09:00-13:00, 14:00-18:00"),
            holidays: "2026-12-08".into(),
            ..Default::default()
        },
    );
    // 2026-12-07 is a Monday; the organization is on UTC.
    assert!(!s.is_open_at(at("2026-12-07T08:59:59.999Z")));
    assert!(s.is_open_at(at("2026-12-07T09:00:00Z")), "opening is open");
    assert!(s.is_open_at(at("2026-12-07T12:59:59.999Z")));
    assert!(
        !s.is_open_at(at("2026-12-07T13:00:00Z")),
        "closing is closed"
    );
    assert!(s.is_open_at(at("2026-12-07T14:00:00Z")));
    assert!(!s.is_open_at(at("2026-12-07T18:00:00Z")));
    let lunch = s.closed_period(at("2026-12-07T13:30:00Z")).unwrap();
    assert_eq!(lunch.start, Some(at("2026-12-07T13:00:00Z")));
    assert_eq!(lunch.end, Some(at("2026-12-07T14:00:00Z")));
    assert_eq!(s.closed_period(at("2026-12-07T10:00:00Z")), None);
    // Tuesday is a holiday: closed from Monday 18:00 to Wednesday 09:00.
    assert!(!s.is_open_at(at("2026-12-08T10:00:00Z")));
    let holiday = s.closed_period(at("2026-12-08T10:00:00Z")).unwrap();
    assert_eq!(holiday.start, Some(at("2026-12-07T18:00:00Z")));
    assert_eq!(holiday.end, Some(at("2026-12-09T09:00:00Z")));
    // Switched off: always open.
    let off = schedule(&world, &world.org, HoursInput::default());
    assert!(off.is_open_at(at("2026-12-08T03:00:00Z")));

    // Bad input names its field and writes nothing.
    for (day, text) in [
        (0, "9-18"),
        (2, "18:00-09:00"),
        (4, "09:00-12:00, 11:00-13:00"),
    ] {
        let mut week = weekdays("09:00-18:00");
        week[day] = text.into();
        let error = world
            .crm
            .set_business_hours(
                &world.admin,
                HoursInput {
                    enabled: true,
                    week,
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert_eq!(
            error.field(),
            Some(crm_lib::hours::WEEKDAYS[day]),
            "{error}"
        );
    }
    let zone = world
        .crm
        .set_business_hours(
            &world.admin,
            HoursInput {
                time_zone: Some("Mars/Olympus".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(zone.field(), Some("time_zone"), "{zone}");
}

#[test]
fn a_berlin_schedule_computes_the_closed_weekend_across_the_daylight_saving_change() {
    let world = World::new();
    let s = schedule(
        &world,
        &world.org,
        HoursInput {
            enabled: true,
            time_zone: Some("Europe/Berlin".into()),
            week: weekdays("09:00-17:00"),
            ..Default::default()
        },
    );
    // Friday 2026-03-27 closes at 17:00 CET (16:00 UTC); clocks go forward on Sunday the
    // 29th at 02:00; Monday opens at 09:00 CEST (07:00 UTC): 63 hours, not 64.
    assert!(s.is_open_at(at("2026-03-27T15:59:00Z")));
    assert!(!s.is_open_at(at("2026-03-27T16:00:00Z")));
    let weekend = s.closed_period(at("2026-03-29T01:30:00Z")).unwrap();
    assert_eq!(weekend.start, Some(at("2026-03-27T16:00:00Z")));
    assert_eq!(weekend.end, Some(at("2026-03-30T07:00:00Z")));
    assert!(!s.is_open_at(at("2026-03-30T06:59:59Z")));
    assert!(s.is_open_at(at("2026-03-30T07:00:00Z")));
    // And back in October: Friday 23rd closes 15:00 UTC (CEST), Monday 26th opens 08:00 UTC.
    let autumn = s.closed_period(at("2026-10-25T12:00:00Z")).unwrap();
    assert_eq!(autumn.start, Some(at("2026-10-23T15:00:00Z")));
    assert_eq!(autumn.end, Some(at("2026-10-26T08:00:00Z")));
}

#[test]
fn changing_the_organization_s_time_zone_moves_the_boundaries() {
    let world = World::new();
    let input = HoursInput {
        enabled: true,
        week: weekdays("09:00-18:00"),
        ..Default::default()
    };
    let utc = schedule(&world, &world.org, input.clone());
    // Monday 2026-12-07, 02:00 UTC: closed in UTC.
    assert!(!utc.is_open_at(at("2026-12-07T02:00:00Z")));
    assert!(utc.is_open_at(at("2026-12-07T10:00:00Z")));
    let org = world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                time_zone: Some("Asia/Vladivostok".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let vladivostok = schedule(&world, &org, input);
    assert_eq!(vladivostok.zone().name(), "Asia/Vladivostok");
    // 02:00 UTC is noon in Vladivostok (UTC+10); 10:00 UTC is 20:00 there.
    assert!(vladivostok.is_open_at(at("2026-12-07T02:00:00Z")));
    assert!(!vladivostok.is_open_at(at("2026-12-07T10:00:00Z")));
    let evening = vladivostok
        .closed_period(at("2026-12-07T10:00:00Z"))
        .unwrap();
    assert_eq!(evening.start, Some(at("2026-12-07T08:00:00Z")));
    assert_eq!(evening.end, Some(at("2026-12-07T23:00:00Z")));
}

static NOW: AtomicI64 = AtomicI64::new(0);

fn now() -> Timestamp {
    Timestamp::from_millis(NOW.load(Ordering::SeqCst))
}

fn auto_replies(world: &World, customer: CustomerId) -> Vec<String> {
    let mut texts: Vec<String> = world
        .crm
        .messages_of_customer(&world.manager, customer, Page::first(100))
        .unwrap()
        .items
        .into_iter()
        .filter(|m| m.author == Author::System && m.direction == Direction::Outbound)
        .map(|m| m.text)
        .collect();
    texts.reverse();
    texts
}

#[test]
fn the_out_of_hours_auto_reply_is_sent_once_per_closed_period() {
    NOW.store(at("2026-12-05T10:00:00Z").millis(), Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let crm =
        Crm::open_with_clock(dir.path().join("crm.redb"), CrmOptions::default(), now).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Acme Studio", "acme")
        .unwrap();
    let world = World::in_org(dir, crm, org);
    world
        .crm
        .set_business_hours(
            &world.admin,
            HoursInput {
                enabled: true,
                week: weekdays("09:00-18:00"),
                auto_reply: Localized::new("We are closed").with(Language::RU, "Мы закрыты"),
                ..Default::default()
            },
        )
        .unwrap();
    let ivan = world.customer(601, "Ivan");
    let id = World::customer_id(&ivan);
    let write = |text: &str| {
        world
            .crm
            .post_inbound(
                &ivan,
                InboundMessage {
                    customer: id,
                    about: OrderChoice::None,
                    text: text.into(),
                    attachments: Vec::new(),
                    telegram_message_id: None,
                    content: None,
                    reply_to_telegram: None,
                    media_group: None,
                },
            )
            .unwrap();
    };
    // Saturday: closed. The first message gets the reply in Ivan's language, queued.
    write("hello?");
    assert_eq!(auto_replies(&world, id), ["Мы закрыты"]);
    assert!(
        world
            .outbox()
            .iter()
            .any(|item| matches!(item.payload, OutboxPayload::ChatMessage(_)))
    );
    let customer = world.crm.customer(&world.manager, id).unwrap();
    assert_eq!(customer.unread, 1, "the auto-reply reads nothing");
    // Sunday, the same closed period: nothing more.
    NOW.store(at("2026-12-06T20:00:00Z").millis(), Ordering::SeqCst);
    write("anyone?");
    assert_eq!(auto_replies(&world, id).len(), 1);
    // Monday at 10:00: open, no reply.
    NOW.store(at("2026-12-07T10:00:00Z").millis(), Ordering::SeqCst);
    write("good morning");
    assert_eq!(auto_replies(&world, id).len(), 1);
    // Monday evening is the next closed period: one more.
    NOW.store(at("2026-12-07T18:00:00Z").millis(), Ordering::SeqCst);
    write("still there?");
    write("hello?");
    assert_eq!(auto_replies(&world, id).len(), 2);
    assert!(world.crm.system().verify().unwrap().is_clean());
}
