//! Outbound webhooks through `Crm` (SPEC 5F): the Standard Webhooks signature vector,
//! emission only to enabled endpoints subscribed to the type, nothing queued without
//! endpoints, the retry schedule ending in failure, redelivery keeping the message id, bad
//! input refused writing nothing, isolation between organizations, retention, and a clean
//! `crm verify`.

use crm_lib::{
    ErrorKind, Page,
    chat::{InboundMessage, OrderChoice},
    model::{
        Actor, AuditAction, Timestamp, WebhookDeliveryState, WebhookEndpoint, WebhookEventType,
    },
    webhooks::{DueWebhook, RETRY_SCHEDULE_MS, WebhookInput, WebhookOutcome, secret_key, sign},
};

use crate::support::World;

fn input(url: &str, events: &[&str]) -> WebhookInput {
    WebhookInput {
        url: url.into(),
        description: "ERP".into(),
        events: events.iter().map(|event| event.to_string()).collect(),
        enabled: true,
    }
}

fn hook(world: &World, url: &str, events: &[&str]) -> WebhookEndpoint {
    world
        .crm
        .create_webhook(&world.admin, input(url, events))
        .unwrap()
}

/// Far enough ahead that every pending delivery is due.
fn later() -> Timestamp {
    Timestamp::now().plus_millis(400 * 86_400_000)
}

fn due(world: &World) -> Vec<DueWebhook> {
    world.crm.system().due_webhooks(later(), 100).unwrap()
}

fn failed_at(at: Timestamp) -> WebhookOutcome {
    WebhookOutcome {
        at,
        status: Some(500),
        error: None,
        duration_ms: 3,
    }
}

fn body_of(due: &DueWebhook) -> serde_json::Value {
    serde_json::from_str(&due.body).unwrap()
}

#[test]
fn the_signature_matches_the_standard_webhooks_vector() {
    assert_eq!(
        sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap(),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[test]
fn an_order_is_queued_only_to_enabled_endpoints_subscribed_to_its_type() {
    let world = World::new();
    let subscribed = hook(&world, "https://erp.example/a", &["order.created"]);
    let other_type = hook(&world, "https://erp.example/b", &["order.deleted"]);
    let mut disabled_input = input("https://erp.example/c", &["order.created"]);
    disabled_input.enabled = false;
    let disabled = world
        .crm
        .create_webhook(&world.admin, disabled_input)
        .unwrap();
    assert!(subscribed.secret.starts_with("whsec_"));
    assert_eq!(secret_key(&subscribed.secret).unwrap().len(), 32);

    let ann = world.customer(101, "Ann");
    let order = world.order(&ann, "Blue logo", Some("150"));

    let due = due(&world);
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].url.as_deref(), Some("https://erp.example/a"));
    assert!(due[0].message_id.starts_with("msg_"));
    let body = body_of(&due[0]);
    assert_eq!(body["type"], "order.created");
    assert_eq!(body["data"]["order_id"], order.id.get());
    assert_eq!(body["data"]["title"], "Blue logo");
    assert_eq!(body["data"]["budget"], 15_000);
    assert!(
        Timestamp::parse_rfc3339("timestamp", body["timestamp"].as_str().unwrap()).is_ok(),
        "{body}"
    );
    // The request carries the three headers, signed over this attempt's time.
    let at = Timestamp::from_millis(1_614_265_330_123);
    let request = due[0].request(at).unwrap().unwrap();
    assert_eq!(request.url, "https://erp.example/a");
    assert_eq!(
        request.headers[0],
        ("webhook-id", due[0].message_id.clone())
    );
    assert_eq!(
        request.headers[1],
        ("webhook-timestamp", "1614265330".to_string())
    );
    assert_eq!(
        request.headers[2].1,
        sign(
            &subscribed.secret,
            &due[0].message_id,
            1614265330,
            &due[0].body
        )
        .unwrap()
    );
    // The debug form never shows the secret.
    assert!(!format!("{:?}", due[0]).contains(&subscribed.secret));

    for endpoint in [&other_type, &disabled] {
        let log = world
            .crm
            .webhook_deliveries(&world.admin, endpoint.id, Page::first(10))
            .unwrap();
        assert!(log.items.is_empty(), "{}", endpoint.url);
    }
    // The stage move, the customer's first message and deletion reach their subscribers.
    let all = hook(
        &world,
        "https://erp.example/all",
        &[
            "order.stage_changed",
            "order.deleted",
            "message.received",
            "customer.created",
        ],
    );
    world.crm.approve_order(&world.manager, order.id).unwrap();
    world
        .crm
        .post_inbound(
            &ann,
            InboundMessage {
                customer: World::customer_id(&ann),
                about: OrderChoice::None,
                text: "hello".into(),
                attachments: Vec::new(),
                telegram_message_id: Some(7),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
    let bob = world.customer(102, "Bob");
    let second = world.order(&bob, "Red logo", None);
    world.crm.delete_order(&bob, second.id).unwrap();
    let kinds: Vec<WebhookEventType> = world
        .crm
        .webhook_deliveries(&world.admin, all.id, Page::first(10))
        .unwrap()
        .items
        .iter()
        .rev()
        .map(|delivery| delivery.event)
        .collect();
    assert_eq!(
        kinds,
        [
            WebhookEventType::OrderStageChanged,
            WebhookEventType::MessageReceived,
            WebhookEventType::CustomerCreated,
            WebhookEventType::OrderDeleted,
        ]
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn nothing_is_queued_for_an_organization_without_endpoints() {
    let world = World::new();
    let ann = world.customer(101, "Ann");
    world.order(&ann, "Blue logo", None);
    assert!(due(&world).is_empty());
    assert_eq!(world.crm.system().next_webhook_due().unwrap(), None);
}

#[test]
fn failed_attempts_follow_the_retry_schedule_and_end_failed() {
    let world = World::new();
    let endpoint = hook(&world, "https://erp.example/a", &["order.created"]);
    let ann = world.customer(101, "Ann");
    world.order(&ann, "Blue logo", None);
    let first = due(&world).remove(0);
    let mut at = Timestamp::now();
    for (attempt, wait) in RETRY_SCHEDULE_MS.iter().enumerate().skip(1) {
        let delivery = world
            .crm
            .system()
            .webhook_attempted(world.org.id, first.id, failed_at(at))
            .unwrap();
        assert_eq!(delivery.state, WebhookDeliveryState::Pending, "{attempt}");
        assert_eq!(delivery.next_attempt_at, at.plus_millis(*wait), "{attempt}");
        // Not due a millisecond before its time, due at it.
        let before = world
            .crm
            .system()
            .due_webhooks(at.plus_millis(*wait - 1), 10)
            .unwrap();
        assert!(before.is_empty(), "attempt {attempt} came early");
        at = at.plus_millis(*wait);
        let now_due = world.crm.system().due_webhooks(at, 10).unwrap();
        assert_eq!(now_due.len(), 1);
        assert_eq!(now_due[0].message_id, first.message_id);
    }
    let delivery = world
        .crm
        .system()
        .webhook_attempted(
            world.org.id,
            first.id,
            WebhookOutcome {
                at,
                status: None,
                error: Some("connection refused ".repeat(100)),
                duration_ms: 1,
            },
        )
        .unwrap();
    assert_eq!(delivery.state, WebhookDeliveryState::Failed);
    assert_eq!(delivery.attempts.len(), RETRY_SCHEDULE_MS.len());
    assert_eq!(
        delivery
            .attempts
            .last()
            .unwrap()
            .error
            .as_ref()
            .unwrap()
            .chars()
            .count(),
        500
    );
    assert!(due(&world).is_empty());
    // A finished delivery takes no more outcomes.
    let again = world
        .crm
        .system()
        .webhook_attempted(world.org.id, first.id, failed_at(at))
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    // The log shows it with every attempt.
    let log = world
        .crm
        .webhook_deliveries(&world.admin, endpoint.id, Page::first(10))
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].attempts.len(), 8);
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_2xx_succeeds_and_redelivery_keeps_the_message_id_and_is_audited() {
    let world = World::new();
    let endpoint = hook(&world, "https://erp.example/a", &["order.created"]);
    let ann = world.customer(101, "Ann");
    world.order(&ann, "Blue logo", None);
    let first = due(&world).remove(0);
    let ok = |at| WebhookOutcome {
        at,
        status: Some(204),
        error: None,
        duration_ms: 5,
    };
    let delivery = world
        .crm
        .system()
        .webhook_attempted(world.org.id, first.id, ok(Timestamp::now()))
        .unwrap();
    assert_eq!(delivery.state, WebhookDeliveryState::Succeeded);

    let redelivered = world.crm.redeliver_webhook(&world.admin, first.id).unwrap();
    assert_eq!(redelivered.state, WebhookDeliveryState::Pending);
    let again = due(&world);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id, first.message_id);
    assert_eq!(again[0].body, first.body);
    // Redelivering a pending delivery is refused.
    let pending = world
        .crm
        .redeliver_webhook(&world.admin, first.id)
        .unwrap_err();
    assert_eq!(pending.kind(), ErrorKind::Conflict);
    // A failed redelivery fails at once: no schedule after it.
    let failed = world
        .crm
        .system()
        .webhook_attempted(world.org.id, first.id, failed_at(Timestamp::now()))
        .unwrap();
    assert_eq!(failed.state, WebhookDeliveryState::Failed);
    assert_eq!(failed.attempts.len(), 2);
    assert!(failed.attempts[1].redelivery);
    let audit = world
        .crm
        .audit_log(&world.admin, &Default::default(), Page::first(50))
        .unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|entry| entry.action == AuditAction::WebhookRedelivered),
        "{audit:#?}"
    );
    // A test event goes to this endpoint only.
    let other = hook(&world, "https://erp.example/b", &["order.created"]);
    let test = world.crm.test_webhook(&world.admin, endpoint.id).unwrap();
    let test_due: Vec<DueWebhook> = due(&world);
    assert_eq!(test_due.len(), 1);
    assert_eq!(test_due[0].id, test);
    assert_eq!(body_of(&test_due[0])["type"], "webhook.test");
    assert!(
        world
            .crm
            .webhook_deliveries(&world.admin, other.id, Page::first(10))
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn bad_input_is_refused_writing_nothing() {
    let world = World::new();
    let cases: [(&str, &[&str], &str); 6] = [
        ("erp.example/hooks", &["order.created"], "url"),
        ("ftp://erp.example/", &["order.created"], "url"),
        ("https://user:pw@erp.example/", &["order.created"], "url"),
        ("https://erp.example/", &[], "events"),
        ("https://erp.example/", &["order.eaten"], "events"),
        ("https://erp.example/", &["webhook.test"], "events"),
    ];
    for (url, events, field) in cases {
        let error = world
            .crm
            .create_webhook(&world.admin, input(url, events))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{url} {events:?}");
        assert_eq!(error.field(), Some(field), "{url} {events:?}: {error}");
    }
    let long = format!("https://erp.example/{}", "a".repeat(2000));
    let error = world
        .crm
        .create_webhook(&world.admin, input(&long, &["order.created"]))
        .unwrap_err();
    assert_eq!(error.field(), Some("url"));
    let mut described = input("https://erp.example/", &["order.created"]);
    described.description = "d".repeat(201);
    let error = world
        .crm
        .create_webhook(&world.admin, described)
        .unwrap_err();
    assert_eq!(error.field(), Some("description"));
    // A worker may not manage webhooks.
    let denied = world
        .crm
        .create_webhook(
            &world.worker,
            input("https://erp.example/", &["order.created"]),
        )
        .unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    assert!(world.crm.webhooks(&world.admin).unwrap().is_empty());
    assert!(world.crm.webhooks(&world.worker).is_err());
    // An update with a bad URL leaves the endpoint as it was.
    let endpoint = hook(&world, "https://erp.example/a", &["order.created"]);
    let error = world
        .crm
        .update_webhook(&world.admin, endpoint.id, input("nope", &["order.created"]))
        .unwrap_err();
    assert_eq!(error.field(), Some("url"));
    assert_eq!(
        world.crm.webhook(&world.admin, endpoint.id).unwrap(),
        endpoint
    );
    // Rotation replaces the secret.
    let rotated = world
        .crm
        .rotate_webhook_secret(&world.admin, endpoint.id)
        .unwrap();
    assert_ne!(rotated.secret, endpoint.secret);
}

#[test]
fn an_organization_sees_and_changes_only_its_own_endpoints() {
    let world = World::new();
    // A second organization in the same file.
    let beta = world
        .crm
        .system()
        .create_organization("studio", "Beta", "beta2")
        .unwrap();
    let beta_admin = {
        let user = world
            .crm
            .create_user(
                &Actor::system(beta.id),
                crm_lib::team::NewUser {
                    username: "admin".into(),
                    display_name: "Beta admin".into(),
                    password: crate::support::password(),
                    roles: vec!["administrator".into()],
                    must_change_password: false,
                },
            )
            .unwrap();
        Actor::staff(beta.id, user.id)
    };
    let ours = hook(&world, "https://erp.example/a", &["order.created"]);
    assert!(world.crm.webhooks(&beta_admin).unwrap().is_empty());
    let error = world.crm.webhook(&beta_admin, ours.id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let error = world.crm.delete_webhook(&beta_admin, ours.id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    // Beta's order reaches no endpoint of ours.
    let beta_customer = world
        .crm
        .system()
        .upsert_telegram_customer(beta.id, crate::support::profile(900, "Vera"))
        .unwrap();
    world
        .crm
        .create_order(
            &Actor::customer(beta.id, beta_customer.id),
            crm_lib::orders::NewOrder {
                title: "Beta order".into(),
                description: "Beta order".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(due(&world).is_empty());
    let error = world
        .crm
        .webhook_deliveries(&beta_admin, ours.id, Page::first(10))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[test]
fn deleting_an_endpoint_drops_its_log_and_retention_prunes_old_finished_deliveries() {
    let world = World::new();
    let kept = hook(&world, "https://erp.example/a", &["order.created"]);
    let gone = hook(&world, "https://erp.example/b", &["order.created"]);
    let ann = world.customer(101, "Ann");
    world.order(&ann, "Blue logo", None);
    assert_eq!(due(&world).len(), 2);
    world.crm.delete_webhook(&world.admin, gone.id).unwrap();
    let left = due(&world);
    assert_eq!(left.len(), 1);
    // Pending deliveries are never pruned.
    assert_eq!(
        world
            .crm
            .system()
            .prune_webhook_deliveries(None, later(), 100)
            .unwrap(),
        0
    );
    world
        .crm
        .system()
        .webhook_attempted(
            world.org.id,
            left[0].id,
            WebhookOutcome {
                at: Timestamp::now(),
                status: Some(200),
                error: None,
                duration_ms: 1,
            },
        )
        .unwrap();
    // Too new: kept.
    assert_eq!(
        world
            .crm
            .system()
            .prune_webhook_deliveries(None, Timestamp::now().minus_days(30), 100)
            .unwrap(),
        0
    );
    assert_eq!(
        world
            .crm
            .system()
            .prune_webhook_deliveries(None, later(), 100)
            .unwrap(),
        1
    );
    assert!(
        world
            .crm
            .webhook_deliveries(&world.admin, kept.id, Page::first(10))
            .unwrap()
            .items
            .is_empty()
    );
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn the_delivery_log_pages_newest_first() {
    let world = World::new();
    world.lift_order_limit();
    let endpoint = hook(&world, "https://erp.example/a", &["order.created"]);
    let ann = world.customer(101, "Ann");
    for n in 0..5 {
        world.order(&ann, &format!("Order {n}"), None);
    }
    let first = world
        .crm
        .webhook_deliveries(&world.admin, endpoint.id, Page::first(2))
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let next = first.next.unwrap();
    let second = world
        .crm
        .webhook_deliveries(&world.admin, endpoint.id, Page::after(next, 2))
        .unwrap();
    let third = world
        .crm
        .webhook_deliveries(
            &world.admin,
            endpoint.id,
            Page::after(second.next.unwrap(), 2),
        )
        .unwrap();
    assert_eq!(third.items.len(), 1);
    assert_eq!(third.next, None);
    let ids: Vec<u64> = first
        .items
        .iter()
        .chain(&second.items)
        .chain(&third.items)
        .map(|delivery| delivery.id.get())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), 5);
    let one = world
        .crm
        .webhook_delivery(&world.admin, first.items[0].id)
        .unwrap();
    assert_eq!(one, first.items[0]);
}

#[test]
fn the_limits_hold_at_the_limit_and_refuse_one_past_it() {
    let world = World::new();
    // A description of 200 characters is kept, 201 refused.
    let mut described = input("https://erp.example/0", &["order.created"]);
    described.description = "d".repeat(200);
    world.crm.create_webhook(&world.admin, described).unwrap();
    // Twenty endpoints, not twenty-one.
    for n in 1..20 {
        hook(
            &world,
            &format!("https://erp.example/{n}"),
            &["order.deleted"],
        );
    }
    assert_eq!(world.crm.webhooks(&world.admin).unwrap().len(), 20);
    let error = world
        .crm
        .create_webhook(
            &world.admin,
            input("https://erp.example/21", &["order.created"]),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert_eq!(world.crm.webhooks(&world.admin).unwrap().len(), 20);
    // A delivery keeps its latest 50 attempts.
    let endpoint = world.crm.webhooks(&world.admin).unwrap()[0].clone();
    let test = world.crm.test_webhook(&world.admin, endpoint.id).unwrap();
    let ok = |at: Timestamp| WebhookOutcome {
        at,
        status: Some(200),
        error: None,
        duration_ms: 1,
    };
    let mut at = Timestamp::now();
    for _ in 0..51 {
        world
            .crm
            .system()
            .webhook_attempted(world.org.id, test, ok(at))
            .unwrap();
        world.crm.redeliver_webhook(&world.admin, test).unwrap();
        at = at.plus_millis(1);
    }
    let delivery = world
        .crm
        .system()
        .webhook_attempted(world.org.id, test, ok(at))
        .unwrap();
    assert_eq!(delivery.attempts.len(), 50);
    assert_eq!(delivery.attempts.last().unwrap().at, at);
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn saving_an_endpoint_unchanged_writes_nothing_and_disabling_it_fails_its_pending_messages() {
    let world = World::new();
    let endpoint = hook(&world, "https://erp.example/a", &["order.created"]);
    let audit_len = |world: &World| {
        world
            .crm
            .audit_log(&world.admin, &Default::default(), Page::first(500))
            .unwrap()
            .items
            .len()
    };
    let before = audit_len(&world);
    let same = world
        .crm
        .update_webhook(
            &world.admin,
            endpoint.id,
            input("https://erp.example/a", &["order.created"]),
        )
        .unwrap();
    assert_eq!(same, endpoint);
    assert_eq!(
        audit_len(&world),
        before,
        "an unchanged save writes no audit entry"
    );
    // A pending message of an endpoint switched off fails at its next attempt, untried.
    let ann = world.customer(101, "Ann");
    world.order(&ann, "Blue logo", None);
    let mut off = input("https://erp.example/a", &["order.created"]);
    off.enabled = false;
    world
        .crm
        .update_webhook(&world.admin, endpoint.id, off)
        .unwrap();
    let pending = due(&world);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].url, None);
    assert_eq!(pending[0].request(Timestamp::now()).unwrap(), None);
    let failed = world
        .crm
        .system()
        .webhook_attempted(world.org.id, pending[0].id, failed_at(Timestamp::now()))
        .unwrap();
    assert_eq!(failed.state, WebhookDeliveryState::Failed);
    // Neither a test event nor a redelivery goes to a disabled endpoint.
    for error in [
        world
            .crm
            .test_webhook(&world.admin, endpoint.id)
            .unwrap_err(),
        world
            .crm
            .redeliver_webhook(&world.admin, pending[0].id)
            .unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    }
}
