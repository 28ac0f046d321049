//! Calls: Zadarma's PBX notifications as its documentation defines them (signature, events,
//! repeats), calls linked to customers by phone, unknown callers, and the customer timeline.

use crm_lib::ErrorKind;
use crm_lib::Page;
use crm_lib::calls::{
    CallFilter, CallOutcome, TimelineEntry, ZadarmaNotification, normalize_phone,
    sign_notification, zadarma_signature,
};
use crm_lib::chat::OutboundMessage;
use crm_lib::customers::NewCustomer;
use crm_lib::model::{CallDirection, CallEvent, Module};
use crm_lib::org::SettingsUpdate;

use crate::support::World;

const SECRET: &str = "zadarma-api-secret";

fn notice(event: CallEvent, pbx: &str, fields: &[(&str, &str)]) -> (ZadarmaNotification, String) {
    let mut all = vec![("pbx_call_id", pbx), ("call_start", "2026-12-05 10:00:00")];
    all.extend_from_slice(fields);
    sign_notification(SECRET, event, &all)
}

/// Switches the tickets module (calls) on or off.
fn tickets(world: &World, on: bool) {
    world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                modules: vec![(Module::Tickets, on)],
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
}

/// A studio organization with calls on and the secret set.
fn world() -> World {
    let world = World::new();
    tickets(&world, true);
    world.crm.set_zadarma_secret(&world.admin, SECRET).unwrap();
    world
}

fn deliver(world: &World, (notification, signature): (ZadarmaNotification, String)) -> CallOutcome {
    world
        .crm
        .record_zadarma_notification(world.org.id, notification, Some(signature))
        .unwrap()
}

fn inbound(pbx: &str, caller: &str) -> (ZadarmaNotification, String) {
    notice(
        CallEvent::Start,
        pbx,
        &[("caller_id", caller), ("called_did", "74950000000")],
    )
}

#[test]
fn a_notification_signed_as_the_documentation_says_is_accepted_and_any_other_refused_storing_nothing()
 {
    let world = world();
    // The documented rule, computed independently: base64 of PHP's hex hash_hmac('sha1',
    // caller_id . called_did . call_start, API_SECRET).
    let fields = [
        ("event", "NOTIFY_START"),
        ("pbx_call_id", "in_42"),
        ("caller_id", "79161234567"),
        ("called_did", "74950000000"),
        ("call_start", "2026-12-05 10:00:00"),
    ];
    let notification = ZadarmaNotification::from_fields(
        fields.map(|(name, value)| (name.to_string(), value.to_string())),
    );
    let signature = zadarma_signature(SECRET, "79161234567749500000002026-12-05 10:00:00");
    for bad in [
        None,
        Some(String::new()),
        Some(zadarma_signature(
            "another secret",
            "79161234567749500000002026-12-05 10:00:00",
        )),
        Some(zadarma_signature(
            SECRET,
            "79161234567749500000002026-12-05 10:00:01",
        )),
    ] {
        let error = world
            .crm
            .record_zadarma_notification(world.org.id, notification.clone(), bad)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    }
    let none = world
        .crm
        .calls(&world.admin, &CallFilter::default(), Page::default())
        .unwrap();
    assert!(none.items.is_empty());
    let outcome = world
        .crm
        .record_zadarma_notification(world.org.id, notification, Some(signature))
        .unwrap();
    let CallOutcome::Recorded(call) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(call.phone, "+79161234567");
    assert_eq!(call.direction, CallDirection::Inbound);
    assert_eq!(call.pbx_call_id, "in_42");
}

#[test]
fn with_the_tickets_module_off_calls_are_not_found_and_nothing_is_stored() {
    let world = world();
    tickets(&world, false);
    let (notification, signature) = inbound("in_1", "79160000001");
    let error = world
        .crm
        .record_zadarma_notification(world.org.id, notification, Some(signature))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .calls(&world.admin, &CallFilter::default(), Page::default())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world
        .crm
        .set_zadarma_secret(&world.admin, SECRET)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    tickets(&world, true);
    let none = world
        .crm
        .calls(&world.admin, &CallFilter::default(), Page::default())
        .unwrap();
    assert!(none.items.is_empty());
}

#[test]
fn without_a_secret_every_notification_is_refused() {
    let world = World::new();
    tickets(&world, true);
    let error = world
        .crm
        .record_zadarma_notification(world.org.id, inbound("in_1", "79160000001").0, None)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_repeated_notification_changes_nothing_and_the_next_event_completes_the_call() {
    let world = world();
    let first = deliver(&world, inbound("in_1", "79160000001"));
    let id = first.call_id();
    let audit_before = world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(500))
        .unwrap()
        .items
        .len();
    assert_eq!(
        deliver(&world, inbound("in_1", "79160000001")),
        CallOutcome::Repeated(id)
    );
    let audit_after = world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(500))
        .unwrap()
        .items
        .len();
    assert_eq!(audit_before, audit_after);

    world
        .crm
        .map_call_extension(&world.admin, "101", Some(World::user_id(&world.manager)))
        .unwrap();
    deliver(
        &world,
        notice(
            CallEvent::Answer,
            "in_1",
            &[
                ("caller_id", "79160000001"),
                ("destination", "74950000000"),
                ("internal", "101"),
            ],
        ),
    );
    let end = notice(
        CallEvent::End,
        "in_1",
        &[
            ("caller_id", "79160000001"),
            ("called_did", "74950000000"),
            ("internal", "101"),
            ("duration", "65"),
            ("disposition", "answered"),
            ("status_code", "16"),
            ("is_recorded", "1"),
            ("call_id_with_rec", "1764928800.123"),
        ],
    );
    let CallOutcome::Updated(call) = deliver(&world, end.clone()) else {
        panic!("the end updates the call")
    };
    assert_eq!(call.operator, Some(World::user_id(&world.manager)));
    assert_eq!(call.extension.as_deref(), Some("101"));
    assert!(call.answered_at.is_some() && call.ended_at.is_some());
    assert_eq!(call.duration_secs, Some(65));
    assert_eq!(call.disposition.as_deref(), Some("answered"));
    assert_eq!(call.recording.as_deref(), Some("1764928800.123"));
    assert_eq!(deliver(&world, end), CallOutcome::Repeated(id));
    assert_eq!(world.crm.call(&world.admin, id).unwrap(), call);
}

#[test]
fn an_unknown_number_creates_a_customer_marked_as_an_unknown_caller_and_a_known_one_is_linked() {
    let world = world();
    let known = world
        .crm
        .create_customer(
            &world.admin,
            NewCustomer {
                first_name: "Vera".into(),
                phone: "8 (916) 000-00-02".into(),
                ..NewCustomer::default()
            },
        )
        .unwrap();
    let CallOutcome::Recorded(call) = deliver(&world, inbound("in_1", "79160000002")) else {
        panic!()
    };
    assert_eq!(call.customer, known.id);
    assert!(!call.new_customer);

    let CallOutcome::Recorded(stranger) = deliver(&world, inbound("in_2", "00441234567890")) else {
        panic!()
    };
    assert!(stranger.new_customer);
    assert_eq!(stranger.phone, "+441234567890");
    let timeline = world
        .crm
        .timeline(&world.manager, stranger.customer, None, 50)
        .unwrap();
    assert_eq!(timeline.customer.phone.as_deref(), Some("+441234567890"));
    assert_eq!(
        timeline.unknown_caller.map(|mark| mark.call),
        Some(stranger.id)
    );
    // The next call from the same number finds that customer.
    let CallOutcome::Recorded(again) = deliver(&world, inbound("in_3", "+44 1234 567890")) else {
        panic!()
    };
    assert_eq!(again.customer, stranger.customer);
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn phones_normalize_to_e164_or_fail_naming_the_field() {
    for (text, e164) in [
        ("79161234567", "+79161234567"),
        ("+7 916 123-45-67", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("0049 30 1234567", "+49301234567"),
        ("(495) 123.45.67", "+4951234567"),
    ] {
        assert_eq!(normalize_phone(text).unwrap(), e164, "{text}");
    }
    for text in ["", "anonymous", "100", "+0123456789", "1234567890123456"] {
        let error = normalize_phone(text).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{text}");
        assert_eq!(error.field(), Some("phone"), "{text}");
    }
    let world = world();
    let error = world
        .crm
        .record_zadarma_notification(
            world.org.id,
            inbound("in_1", "100").0,
            Some(inbound("in_1", "100").1),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

#[test]
fn outgoing_calls_take_the_destination_as_the_customer_s_number() {
    let world = world();
    let CallOutcome::Recorded(call) = deliver(
        &world,
        notice(
            CallEvent::OutStart,
            "out_1",
            &[("internal", "100"), ("destination", "79160000003")],
        ),
    ) else {
        panic!()
    };
    assert_eq!(call.direction, CallDirection::Outbound);
    assert_eq!(call.phone, "+79160000003");
    let outbound = world
        .crm
        .calls(
            &world.manager,
            &CallFilter {
                direction: Some(CallDirection::Outbound),
                ..CallFilter::default()
            },
            Page::default(),
        )
        .unwrap();
    assert_eq!(outbound.items.len(), 1);
}

#[test]
fn the_call_list_pages_newest_first_and_needs_a_reader_of_customers() {
    let world = world();
    for n in 0..5 {
        deliver(
            &world,
            notice(
                CallEvent::Start,
                &format!("in_{n}"),
                &[
                    ("caller_id", &format!("7916000001{n}")),
                    ("called_did", "74950000000"),
                ],
            ),
        );
    }
    let first = world
        .crm
        .calls(&world.manager, &CallFilter::default(), Page::first(3))
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let rest = world
        .crm
        .calls(
            &world.manager,
            &CallFilter::default(),
            Page::after(first.next.unwrap(), 3),
        )
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert_eq!(rest.next, None);
    let mut ids: Vec<u64> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|call| call.id.get())
        .collect();
    let listed = ids.clone();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed, ids, "same start: newest id first");
    let customer = world.customer(5001, "Ann");
    let error = world
        .crm
        .calls(&customer, &CallFilter::default(), Page::default())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn the_timeline_mixes_orders_messages_and_calls_newest_first_as_each_reader_may_see_them() {
    let world = world();
    let ann_id = world
        .crm
        .create_customer(
            &world.admin,
            NewCustomer {
                telegram_id: "5001".into(),
                first_name: "Ann".into(),
                phone: "+79160000099".into(),
                ..NewCustomer::default()
            },
        )
        .unwrap()
        .id;
    let ann = crm_lib::model::Actor::customer(world.org.id, ann_id);
    let order = world.order(&ann, "Fix my phone", None);
    world
        .crm
        .post_outbound(
            &world.manager,
            OutboundMessage {
                customer: ann_id,
                order: None,
                text: "We will call you".into(),
                attachments: Vec::new(),
                reply_to: None,
                content: None,
            },
        )
        .unwrap();
    let CallOutcome::Recorded(call) = deliver(&world, inbound("in_1", "79160000099")) else {
        panic!()
    };
    assert_eq!(call.customer, ann_id);

    let timeline = world
        .crm
        .timeline(&world.manager, ann_id, None, 50)
        .unwrap();
    let kinds: Vec<&str> = timeline
        .items
        .iter()
        .map(|item| item.entry.kind())
        .collect();
    // The call started at 10:00 UTC on 2026-12-05, after nothing else here (the store's
    // clock is now): sorted by moment, newest first.
    let mut moments: Vec<_> = timeline.items.iter().map(|item| item.cursor()).collect();
    let sorted = {
        let mut sorted = moments.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        sorted
    };
    assert_eq!(moments, sorted);
    assert!(
        kinds.contains(&"order") && kinds.contains(&"message") && kinds.contains(&"call"),
        "{kinds:?}"
    );

    // A worker sees orders and calls, not the conversation (no chat_customers).
    let seen = world.crm.timeline(&world.worker, ann_id, None, 50).unwrap();
    let kinds: Vec<&str> = seen.items.iter().map(|item| item.entry.kind()).collect();
    assert!(!kinds.contains(&"message"), "{kinds:?}");
    assert!(kinds.contains(&"call"), "{kinds:?}");
    let _ = order;

    // Paging: one item at a time walks the same items in the same order.
    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let page = world
            .crm
            .timeline(&world.manager, ann_id, before, 1)
            .unwrap();
        walked.extend(page.items.iter().map(|item| item.cursor()));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    moments.dedup();
    assert_eq!(walked, moments);
    assert!(matches!(
        timeline
            .items
            .iter()
            .find(|item| item.entry.kind() == "call")
            .map(|item| &item.entry),
        Some(TimelineEntry::Call(_))
    ));
}

#[test]
fn call_start_is_read_in_the_organization_s_time_zone() {
    use crm_lib::calls::parse_call_start;
    let utc = parse_call_start("2026-12-05 10:00:00", "UTC").unwrap();
    assert_eq!(utc.to_rfc3339(), "2026-12-05T10:00:00Z");
    let moscow = parse_call_start("2026-12-05 13:00:00", "Europe/Moscow").unwrap();
    assert_eq!(moscow, utc);
    for bad in [
        "",
        "2026-12-05",
        "2026-12-05T10:00:00",
        "yesterday",
        "2026-13-05 10:00:00",
    ] {
        let error = parse_call_start(bad, "UTC").unwrap_err();
        assert_eq!(error.field(), Some("call_start"), "{bad}");
    }
    // The organization's zone applies to the webhook.
    let world = world();
    world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                time_zone: Some("Europe/Moscow".into()),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    let CallOutcome::Recorded(call) = deliver(&world, inbound("in_1", "79160000001")) else {
        panic!()
    };
    assert_eq!(call.started_at.to_rfc3339(), "2026-12-05T07:00:00Z");
}

/// A signed inbound call from `caller` starting at `start` on the organization's clock,
/// taken by extension `internal` when given.
fn call_at(
    pbx: &str,
    caller: &str,
    start: &str,
    internal: Option<&str>,
) -> (ZadarmaNotification, String) {
    let mut fields = vec![
        ("pbx_call_id", pbx),
        ("call_start", start),
        ("caller_id", caller),
        ("called_did", "74950000000"),
    ];
    if let Some(internal) = internal {
        fields.push(("internal", internal));
    }
    sign_notification(SECRET, CallEvent::Start, &fields)
}

#[test]
fn the_call_list_page_filters_by_direction_operator_customer_and_local_days_and_pages_through_every_match()
 {
    use crm_lib::calls::CallListFilter;
    use crm_lib::model::Date;
    let world = world();
    world
        .crm
        .update_settings(
            &world.admin,
            SettingsUpdate {
                time_zone: Some("Asia/Vladivostok".into()),
                ..SettingsUpdate::default()
            },
        )
        .unwrap();
    let manager = World::user_id(&world.manager);
    world
        .crm
        .map_call_extension(&world.admin, "100", Some(manager))
        .unwrap();
    // Twelve inbound calls, one a local hour apart on 2026-12-06 (Vladivostok, UTC+10),
    // every third taken by extension 100; two callers alternate.
    for n in 0..12 {
        let start = format!("2026-12-06 {:02}:30:00", 8 + n);
        let caller = if n % 2 == 0 {
            "79160000001"
        } else {
            "79160000002"
        };
        let internal = (n % 3 == 0).then_some("100");
        deliver(
            &world,
            call_at(&format!("in_{n}"), caller, &start, internal),
        );
    }
    // One outbound call, and one inbound call at 23:30 local on the 5th (13:30 UTC).
    deliver(
        &world,
        sign_notification(
            SECRET,
            CallEvent::OutStart,
            &[
                ("pbx_call_id", "out_1"),
                ("call_start", "2026-12-06 21:00:00"),
                ("internal", "100"),
                ("destination", "79160000003"),
            ],
        ),
    );
    deliver(
        &world,
        call_at("late", "79160000001", "2026-12-05 23:30:00", None),
    );
    let list = |filter: &CallListFilter, size: usize| {
        let mut pages = Vec::new();
        let mut page = Page::first(size);
        loop {
            let got = world.crm.call_list(&world.manager, filter, page).unwrap();
            assert!(got.rows.items.len() <= size);
            pages.push(
                got.rows
                    .items
                    .iter()
                    .map(|row| row.call.pbx_call_id.clone())
                    .collect::<Vec<_>>(),
            );
            match got.rows.next {
                Some(next) => page = Page::after(next, size),
                None => break,
            }
        }
        pages
    };
    // Without filters: every call newest first, two to a page, the last page short.
    let all: Vec<String> = list(&CallListFilter::default(), 2).concat();
    let mut expected: Vec<String> = vec!["out_1".into()];
    expected.extend((0..12).rev().map(|n| format!("in_{n}")));
    expected.push("late".into());
    assert_eq!(all, expected);
    // By operator: the matches are spread among others, so a page spans several batches.
    let by_operator = list(
        &CallListFilter {
            operator: Some(manager),
            ..CallListFilter::default()
        },
        2,
    );
    assert_eq!(
        by_operator,
        vec![vec!["out_1", "in_9"], vec!["in_6", "in_3"], vec!["in_0"]]
    );
    // By direction.
    let inbound: Vec<String> = list(
        &CallListFilter {
            direction: Some(CallDirection::Inbound),
            ..CallListFilter::default()
        },
        5,
    )
    .concat();
    assert_eq!(inbound.len(), 13);
    assert!(!inbound.contains(&"out_1".to_string()));
    // By local day: the calls of the 6th from 08:30 local (22:30 UTC on the 5th) are on
    // the 6th, and the 5th holds only the call at 23:30 local (13:30 UTC).
    let day = |text: &str| Some(Date::parse("day", text).unwrap());
    let fifth = list(
        &CallListFilter {
            from: day("2026-12-05"),
            to: day("2026-12-05"),
            ..CallListFilter::default()
        },
        50,
    )
    .concat();
    assert_eq!(fifth, vec!["late"]);
    let sixth = list(
        &CallListFilter {
            from: day("2026-12-06"),
            ..CallListFilter::default()
        },
        4,
    )
    .concat();
    assert_eq!(sixth.len(), 13);
    assert!(!sixth.contains(&"late".to_string()));
    // By customer, with a date range and the row's names and local start.
    let first = world
        .crm
        .call_list(&world.manager, &CallListFilter::default(), Page::first(50))
        .unwrap();
    let ann = first
        .rows
        .items
        .iter()
        .find(|row| row.call.pbx_call_id == "in_0")
        .unwrap();
    assert_eq!(ann.started, "2026-12-06 08:30");
    assert_eq!(
        ann.operator_name.as_deref(),
        Some(
            first
                .staff
                .iter()
                .find(|name| name.id == manager)
                .unwrap()
                .display_name
                .as_str()
        )
    );
    let customer_calls = list(
        &CallListFilter {
            customer: Some(ann.call.customer),
            to: day("2026-12-06"),
            ..CallListFilter::default()
        },
        2,
    )
    .concat();
    // A customer's calls come by id, newest first: "late" was recorded last.
    assert_eq!(
        customer_calls,
        vec!["late", "in_10", "in_8", "in_6", "in_4", "in_2", "in_0"]
    );
    let named = world
        .crm
        .call_list(
            &world.manager,
            &CallListFilter {
                customer: Some(ann.call.customer),
                ..CallListFilter::default()
            },
            Page::first(1),
        )
        .unwrap();
    assert_eq!(
        named.customer_name.as_deref(),
        Some(ann.customer_name.as_str())
    );
    // A range that ends before it starts is refused, naming the field.
    let error = world
        .crm
        .call_list(
            &world.manager,
            &CallListFilter {
                from: day("2026-12-06"),
                to: day("2026-12-05"),
                ..CallListFilter::default()
            },
            Page::default(),
        )
        .unwrap_err();
    assert_eq!(error.field(), Some("to"));
    // Customers may not read it.
    let customer = world.customer(5001, "Ann");
    let error = world
        .crm
        .call_list(&customer, &CallListFilter::default(), Page::default())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_filter_matching_nothing_among_the_newest_calls_stops_at_the_scan_limit_with_a_cursor() {
    use crm_lib::calls::CALL_SCAN_LIMIT;
    let world = world();
    let manager = World::user_id(&world.manager);
    world
        .crm
        .map_call_extension(&world.admin, "100", Some(manager))
        .unwrap();
    // The oldest call is the only one extension 100 took; CALL_SCAN_LIMIT newer ones follow.
    let org = world.org.id;
    world
        .crm
        .write(move |tx| {
            for n in 0..=CALL_SCAN_LIMIT {
                let internal = (n == 0).then_some("100");
                let (notification, signature) = call_at(
                    &format!("in_{n}"),
                    "79160000001",
                    "2026-12-05 10:00:00",
                    internal,
                );
                tx.record_zadarma_notification(org, &notification, Some(&signature))?;
            }
            Ok(())
        })
        .unwrap();
    let filter = CallFilter {
        operator: Some(manager),
        ..CallFilter::default()
    };
    let first = world
        .crm
        .calls(&world.manager, &filter, Page::first(50))
        .unwrap();
    assert!(first.items.is_empty(), "the match is past the limit");
    let next = first.next.expect("a cursor to go on from");
    let second = world
        .crm
        .calls(&world.manager, &filter, Page::after(next, 50))
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].pbx_call_id, "in_0");
    assert_eq!(second.next, None);
    // Without a filter, the first page is full and goes on.
    let unfiltered = world
        .crm
        .calls(&world.manager, &CallFilter::default(), Page::first(50))
        .unwrap();
    assert_eq!(unfiltered.items.len(), 50);
    assert_eq!(unfiltered.next, Some(unfiltered.items[49].id.get()));
}
