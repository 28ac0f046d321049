//! API tokens (create, authenticate, list, revoke, who may) and the live events the browser's
//! stream is built from (who sees which order and chat change, resuming after an id).

use crm_lib::{
    ErrorKind, Page,
    audit::{AuditFilter, audit_in},
    chat::{InboundMessage, OrderChoice, OutboundMessage},
    live::LiveKind,
    model::{
        Actor, ActorRef, AuditAction, AuditEntry, ChangeId, ChangeKind, DeliveryState, Origin,
        Permission, Subject,
    },
};

use crate::support::{World, password};

/// "Session ids and API tokens are stored only as their SHA-256": the data file, read whole
/// after a session and a token were made and used, holds the SHA-256 of each and neither
/// secret. Checked by naming the token after its own secret in `Crm::create_api_token`: the
/// test found the token in the file.
#[test]
fn session_ids_and_api_tokens_are_stored_only_as_their_sha_256() {
    use sha2::{Digest, Sha256};

    let world = World::new();
    let org = world.org.id;
    let worker = World::user_id(&world.worker);
    let session = world
        .crm
        .login(org, "worker", password().expose(), &Origin::default())
        .unwrap();
    world.crm.session(session.hash, i64::MAX, None).unwrap();
    let created = world
        .crm
        .create_api_token(&world.worker, worker, "ci")
        .unwrap();
    let secret = created.secret.expose().to_string();
    world.crm.authenticate_api_token(org, &secret).unwrap();
    world.crm.close();
    let file = std::fs::read(world._dir.path().join("crm.redb")).unwrap();
    let holds = |needle: &[u8]| file.windows(needle.len()).any(|window| window == needle);
    assert!(holds(&Sha256::digest(session.id.as_bytes())));
    assert!(holds(&Sha256::digest(secret.as_bytes())));
    assert!(session.id.len() >= 20, "{}", session.id);
    assert!(
        !holds(session.id.as_bytes()),
        "the session id is in the file"
    );
    assert!(
        !holds(&secret.as_bytes()[4..]),
        "the API token is in the file"
    );
}

#[test]
fn a_user_creates_a_token_that_authenticates_as_them_and_only_its_hash_is_kept() {
    let world = World::new();
    let worker = World::user_id(&world.worker);
    let created = world
        .crm
        .create_api_token(&world.worker, worker, "ci")
        .unwrap();
    let secret = created.secret.expose().to_string();
    assert!(secret.starts_with("crm_") && secret.len() == 47, "{secret}");
    let crm_lib::api_tokens::TokenUser { user, actor, .. } = world
        .crm
        .authenticate_api_token(world.org.id, &secret)
        .unwrap();
    assert_eq!(user.id, worker);
    assert_eq!(actor, Actor::staff(world.org.id, worker));
    assert_eq!(created.token.name, "ci");
    let listed = world.crm.api_tokens(&world.worker, Some(worker)).unwrap();
    assert_eq!(listed, vec![created.token.clone()]);
    // The secret appears nowhere in the stored record.
    assert!(!format!("{listed:?}").contains(&secret[4..]));
}

#[test]
fn disabling_a_user_revokes_their_tokens_and_enabling_them_brings_none_back() {
    let world = World::new();
    let worker = World::user_id(&world.worker);
    let manager = World::user_id(&world.manager);
    let own = world
        .crm
        .create_api_token(&world.worker, worker, "ci")
        .unwrap();
    let by_admin = world
        .crm
        .create_api_token(&world.admin, worker, "for worker")
        .unwrap();
    let other = world
        .crm
        .create_api_token(&world.manager, manager, "manager's")
        .unwrap();

    world.crm.disable_user(&world.admin, worker).unwrap();
    assert_eq!(
        world.crm.api_tokens(&world.admin, Some(worker)).unwrap(),
        Vec::new(),
        "the disabled user holds no token"
    );
    world.crm.enable_user(&world.admin, worker).unwrap();

    for secret in [&own.secret, &by_admin.secret] {
        let error = world
            .crm
            .authenticate_api_token(world.org.id, secret.expose())
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    }
    assert!(
        world
            .crm
            .api_tokens(&world.admin, Some(worker))
            .unwrap()
            .is_empty()
    );
    // Another user's token is untouched.
    world
        .crm
        .authenticate_api_token(world.org.id, other.secret.expose())
        .unwrap();
    let revoked: Vec<AuditEntry> = world
        .crm
        .read(|view| {
            audit_in(
                view,
                &world.admin,
                &AuditFilter::default(),
                Page::first(100),
            )
        })
        .unwrap()
        .items
        .into_iter()
        .filter(|entry| entry.action == AuditAction::ApiTokenRevoked)
        .collect();
    assert_eq!(revoked.len(), 2, "one audit entry per revoked token");
    assert!(world.crm.system().verify().unwrap().is_clean());
}

#[test]
fn unknown_malformed_and_foreign_tokens_are_refused_with_one_message() {
    let world = World::new();
    let admin = World::user_id(&world.admin);
    let token = world.crm.create_api_token(&world.admin, admin, "").unwrap();
    assert_eq!(token.token.name, format!("token {}", token.token.id));
    for bad in [
        "",
        "crm_",
        "nope",
        "crm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &token.secret.expose()[..20],
    ] {
        let error = world
            .crm
            .authenticate_api_token(world.org.id, bad)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{bad:?}");
        assert_eq!(error.message(), "invalid api token");
    }
    let other = world
        .crm
        .system()
        .create_organization("studio", "Other", "other")
        .unwrap();
    let error = world
        .crm
        .authenticate_api_token(other.id, token.secret.expose())
        .unwrap_err();
    assert_eq!(error.message(), "invalid api token");
}

#[test]
fn only_manage_users_creates_lists_or_revokes_tokens_of_someone_else() {
    let world = World::new();
    let worker = World::user_id(&world.worker);
    let manager = World::user_id(&world.manager);
    let error = world
        .crm
        .create_api_token(&world.worker, manager, "x")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(error.permission(), Some(Permission::ManageUsers));
    let by_admin = world
        .crm
        .create_api_token(&world.admin, worker, "for worker")
        .unwrap();
    let by_cli = world
        .crm
        .create_api_token(&world.system, worker, "cli")
        .unwrap();
    assert_eq!(by_cli.token.created_by, ActorRef::System);
    assert_eq!(
        world
            .crm
            .api_tokens(&world.worker, None)
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(world.crm.api_tokens(&world.admin, None).unwrap().len(), 2);
    let error = world
        .crm
        .revoke_api_token(&world.manager, by_admin.token.id)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    world
        .crm
        .revoke_api_token(&world.worker, by_admin.token.id)
        .unwrap();
    assert_eq!(
        world
            .crm
            .authenticate_api_token(world.org.id, by_admin.secret.expose())
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        world
            .crm
            .revoke_api_token(&world.worker, by_admin.token.id)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    world
        .crm
        .authenticate_api_token(world.org.id, by_cli.secret.expose())
        .unwrap();
}

#[test]
fn a_disabled_user_s_tokens_are_refused() {
    let world = World::new();
    let worker = World::user_id(&world.worker);
    let token = world
        .crm
        .create_api_token(&world.worker, worker, "")
        .unwrap();
    world.crm.disable_user(&world.admin, worker).unwrap();
    let error = world
        .crm
        .authenticate_api_token(world.org.id, token.secret.expose())
        .unwrap_err();
    assert_eq!(error.message(), "invalid api token");
    assert_eq!(
        world
            .crm
            .create_api_token(&world.admin, worker, "")
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
}

#[test]
fn live_events_follow_the_change_feed_and_resume_after_an_id() {
    let world = World::new();
    let start = world.crm.latest_change(&world.manager).unwrap();
    let customer = world.customer(500, "Ann");
    let order = world.order(&customer, "Landing page", None);
    let batch = world.crm.live_events(&world.manager, start, 100).unwrap();
    let event = batch
        .events
        .iter()
        .find(|event| event.change == ChangeKind::Created)
        .unwrap();
    assert_eq!(event.kind, LiveKind::Order);
    assert_eq!(event.order, Some(order.id));
    assert_eq!(event.summary, "Landing page");
    assert_eq!(
        batch.cursor,
        Some(world.crm.latest_change(&world.manager).unwrap())
    );
    let resumed = world
        .crm
        .live_events(&world.manager, batch.cursor.unwrap(), 100)
        .unwrap();
    assert!(resumed.events.is_empty() && resumed.cursor.is_none());
    world.crm.approve_order(&world.manager, order.id).unwrap();
    let next = world
        .crm
        .live_events(&world.manager, batch.cursor.unwrap(), 100)
        .unwrap();
    assert_eq!(next.events.len(), 1);
    assert_eq!(next.events[0].change, ChangeKind::Updated);
    assert_eq!(next.events[0].stage, Some(world.stage("approved")));
    assert!(next.events[0].id > event.id);
}

#[test]
fn live_events_show_only_what_the_user_may_see() {
    let world = World::new();
    let start = world.crm.latest_change(&world.manager).unwrap();
    let customer = world.customer(501, "Bob");
    let pending = world.order(&customer, "Pending one", None);
    // A worker sees no order in moderation and no chat.
    let worker = world.crm.live_events(&world.worker, start, 100).unwrap();
    assert!(worker.events.is_empty(), "{worker:?}");
    assert!(worker.cursor.is_some());
    let manager = world.crm.live_events(&world.manager, start, 100).unwrap();
    assert!(manager.events.iter().any(|e| e.order == Some(pending.id)));
    let inbound = world
        .crm
        .post_inbound(
            &customer,
            InboundMessage {
                customer: World::customer_id(&customer),
                about: OrderChoice::None,
                text: "hello there".into(),
                attachments: vec![],
                telegram_message_id: Some(1),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
    let manager = world.crm.live_events(&world.manager, start, 100).unwrap();
    let message = manager
        .events
        .iter()
        .find(|e| e.kind == LiveKind::Message)
        .unwrap();
    assert_eq!(message.message, Some(inbound.id));
    assert_eq!(message.summary, "hello there");
    let worker = world.crm.live_events(&world.worker, start, 100).unwrap();
    assert!(worker.events.is_empty(), "{worker:?}");
}

#[test]
fn the_assignee_sees_the_messages_of_their_order_through_the_grant() {
    let world = World::new();
    let order = world.assigned_order(502);
    let start = world.crm.latest_change(&world.manager).unwrap();
    let customer = Actor::customer(world.org.id, order.customer);
    for (about, text) in [
        (OrderChoice::Chosen(order.id), "about the order"),
        (OrderChoice::None, "general"),
    ] {
        world
            .crm
            .post_inbound(
                &customer,
                InboundMessage {
                    customer: order.customer,
                    about,
                    text: text.into(),
                    attachments: vec![],
                    telegram_message_id: None,
                    content: None,
                    reply_to_telegram: None,
                    media_group: None,
                },
            )
            .unwrap();
    }
    let worker = world.crm.live_events(&world.worker, start, 100).unwrap();
    let texts: Vec<&str> = worker.events.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(texts, ["about the order"]);
    let worker2 = world.crm.live_events(&world.worker2, start, 100).unwrap();
    assert!(worker2.events.is_empty());
}

#[test]
fn a_disabled_user_s_live_stream_is_refused() {
    let world = World::new();
    world
        .crm
        .disable_user(&world.admin, World::user_id(&world.worker))
        .unwrap();
    let error = world
        .crm
        .live_events(&world.worker, ChangeId::new(0), 10)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_message_s_delivery_state_reaches_the_live_feed() {
    let world = World::new();
    let customer = world.customer(503, "Dina");
    let customer_id = World::customer_id(&customer);
    let sent = world
        .crm
        .post_outbound(
            &world.manager,
            OutboundMessage {
                customer: customer_id,
                order: None,
                text: "your order is ready".into(),
                attachments: vec![],
                reply_to: None,
                content: None,
            },
        )
        .unwrap();
    let start = world.crm.latest_change(&world.manager).unwrap();
    let item = world
        .outbox()
        .into_iter()
        .find(|item| item.payload.message() == Some(sent.id))
        .unwrap();
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, item.id, Some(77))
        .unwrap();
    let batch = world.crm.live_events(&world.manager, start, 100).unwrap();
    assert_eq!(batch.events.len(), 1, "{batch:?}");
    let event = &batch.events[0];
    assert_eq!(
        (event.kind, event.change, event.message, event.delivery),
        (
            LiveKind::Message,
            ChangeKind::Delivery,
            Some(sent.id),
            Some(DeliveryState::Sent)
        )
    );
    // A repeated report changes nothing and records no change.
    world
        .crm
        .system()
        .outbox_delivered(world.org.id, item.id, Some(77))
        .unwrap();
    let again = world.crm.live_events(&world.manager, start, 100).unwrap();
    assert_eq!(again.events.len(), 1);
}

#[test]
fn every_order_use_case_records_a_typed_change_beside_its_audit_entry() {
    let world = World::new();
    let start = world.crm.latest_change(&world.admin).unwrap();
    let customer = world.customer(504, "Eve");
    let order = world.order(&customer, "Shop bot", None);
    world.crm.approve_order(&world.manager, order.id).unwrap();
    let changes = world.crm.changes(&world.admin, start, 100).unwrap();
    let about_order: Vec<(Subject, ChangeKind)> = changes
        .into_iter()
        .filter(|change| change.subject == Subject::Order(order.id))
        .map(|change| (change.subject, change.kind))
        .collect();
    assert_eq!(
        about_order,
        [
            (Subject::Order(order.id), ChangeKind::Created),
            (Subject::Order(order.id), ChangeKind::Updated)
        ]
    );
    let error = world.crm.changes(&world.worker, start, 100).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
}
