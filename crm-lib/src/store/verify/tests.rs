//! Verification of files damaged through the crate's own writer (the public API cannot
//! damage an index): sessions, api tokens, file references, retention's mark.

use crate::model::*;
use crate::model::{ApiToken, ApiTokenHash, Session, SessionHash};
use crate::services::api_tokens::token_key;
use crate::services::sessions::session_key;
use crate::services::team::NewUser;
use crate::store::indexes::entries_of;
use crate::store::keys::hex;
use crate::store::{Key, ViewExt, codec, tables};
use crate::{Crm, Password, Result, Tx, View};
use redb::TableHandle;

/// The declared entries of a session, as (table, key).
fn session_entries(hash: SessionHash, session: &Session) -> Vec<(tables::Def, Key)> {
    declared(session_key(hash).as_slice(), session)
}

/// The declared entries of an api token, as (table, key).
fn token_entries(hash: ApiTokenHash, token: &ApiToken) -> Vec<(tables::Def, Key)> {
    declared(token_key(hash).as_slice(), token)
}

fn declared<T: crate::store::indexes::Declared>(key: &[u8], record: &T) -> Vec<(tables::Def, Key)> {
    entries_of(key, record, crate::SCHEMA_VERSION)
        .into_iter()
        .map(|(table, key, _)| (table, key))
        .collect()
}

struct Fixture {
    _dir: tempfile::TempDir,
    crm: Crm,
    org: OrgId,
    user: UserId,
    session: SessionHash,
    token: ApiToken,
    token_hash: ApiTokenHash,
}

/// A store with one organization, one worker, one session and one api token of theirs.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Acme", "acme")
        .unwrap()
        .id;
    let password = Password::parse("correct horse battery").unwrap();
    let user = crm
        .create_user(
            &Actor::system(org),
            NewUser {
                username: "worker".into(),
                display_name: "Worker".into(),
                password: password.clone(),
                roles: vec!["worker".into()],
                must_change_password: false,
            },
        )
        .unwrap()
        .id;
    let session = crm
        .login(org, "worker", password.expose(), &Origin::default())
        .unwrap()
        .hash;
    let created = crm
        .create_api_token(&Actor::system(org), user, "ci")
        .unwrap();
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(report.unchecked_tables.is_empty(), "{report:?}");
    Fixture {
        _dir: dir,
        crm,
        org,
        user,
        session,
        token_hash: created.secret.hash(),
        token: created.token,
    }
}

impl Fixture {
    fn damage(&self, f: impl FnOnce(&mut Tx<'_>) -> Result<()> + Send + 'static) {
        self.crm.write(f).unwrap();
    }

    fn problems(&self) -> Vec<String> {
        self.crm.system().verify().unwrap().problems
    }

    fn stored_session(&self) -> Session {
        let hash = self.session;
        self.crm
            .read(|view| view.get::<Session>(tables::SESSIONS, &session_key(hash)))
            .unwrap()
            .unwrap()
    }
}

fn assert_one(problems: &[String], needle: &str) {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains(needle), "{problems:#?}");
}

#[test]
fn a_session_without_its_by_user_entry_is_reported() {
    let fixture = fixture();
    let (hash, session) = (fixture.session, fixture.stored_session());
    fixture.damage(move |tx| {
        for (def, key) in session_entries(hash, &session) {
            tx.remove(def, &key)?;
        }
        Ok(())
    });
    assert_one(&fixture.problems(), "sessions_by_user: missing entry");
}

#[test]
fn a_by_user_entry_of_a_missing_session_or_another_user_is_reported() {
    let fixture = fixture();
    let (org, user) = (fixture.org, fixture.user);
    fixture.damage(move |tx| {
        tx.index(
            tables::SESSIONS_BY_USER,
            &Key::org(org).u64(user.0).bytes(&[7; 32]),
        )
    });
    assert_one(
        &fixture.problems(),
        &format!(
            "points at session {}, which does not exist",
            "07".repeat(32)
        ),
    );

    let fixture = self::fixture();
    let (hash, session) = (fixture.session, fixture.stored_session());
    let (org, user) = (fixture.org, fixture.user);
    fixture.damage(move |tx| {
        for (def, key) in session_entries(hash, &session) {
            tx.remove(def, &key)?;
        }
        tx.index(
            tables::SESSIONS_BY_USER,
            &Key::org(org).u64(user.0 + 1).bytes(&hash.0),
        )
    });
    let problems = fixture.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("missing entry"), "{problems:#?}");
    assert!(
        problems[1].contains(&format!("is of user {} of organization {org}", user.0 + 1)),
        "{problems:#?}"
    );
}

#[test]
fn sessions_of_missing_users_or_organizations_and_undecodable_ones_are_reported() {
    let fixture = fixture();
    let mut ghost = fixture.stored_session();
    ghost.user = UserId(999);
    let mut foreign = ghost.clone();
    foreign.org = OrgId(77);
    fixture.damage(move |tx| {
        for (hash, session) in [
            (SessionHash([1; 32]), ghost),
            (SessionHash([2; 32]), foreign),
        ] {
            tx.put(tables::SESSIONS, &session_key(hash), &session)?;
            for (def, key) in session_entries(hash, &session) {
                tx.index(def, &key)?;
            }
        }
        tx.put_raw(tables::SESSIONS, &[3; 32], b"not a session")
    });
    let problems = fixture.problems();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].contains("belongs to user 999 of organization")
            && problems[0].contains("who does not exist"),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains("belongs to organization 77, which does not exist"),
        "{problems:#?}"
    );
    assert!(problems[2].contains("does not decode"), "{problems:#?}");
}

#[test]
fn a_token_without_its_entry_or_with_an_entry_to_another_hash_is_reported() {
    let fixture = fixture();
    let (token, hash) = (fixture.token.clone(), fixture.token_hash);
    fixture.damage(move |tx| {
        for (def, key) in token_entries(hash, &token) {
            tx.remove(def, &key)?;
        }
        Ok(())
    });
    assert_one(&fixture.problems(), "api_tokens_by_org: missing entry");

    let fixture = self::fixture();
    let (token, hash) = (fixture.token.clone(), fixture.token_hash);
    fixture.damage(move |tx| {
        for (def, key) in token_entries(hash, &token) {
            tx.put_raw(def, key.as_slice(), &[4; 32])?;
        }
        Ok(())
    });
    let problems = fixture.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains(&format!(
            "does not point at api token {} of organization {}",
            fixture.token.id, fixture.org
        )),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains(&format!(
            "points at api token {}, which does not exist",
            "04".repeat(32)
        )),
        "{problems:#?}"
    );
}

#[test]
fn a_by_org_entry_of_another_token_id_or_a_malformed_one_is_reported() {
    let fixture = fixture();
    let (org, hash) = (fixture.org, fixture.token_hash);
    let id = fixture.token.id.0;
    fixture.damage(move |tx| {
        tx.put_raw(
            tables::API_TOKENS_BY_ORG,
            Key::org(org).u64(id + 5).as_slice(),
            &hash.0,
        )?;
        tx.put_raw(
            tables::API_TOKENS_BY_ORG,
            Key::org(org).u64(id + 6).as_slice(),
            b"short",
        )
    });
    let problems = fixture.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains(&format!(
            "says api token {} of organization {org} is",
            id + 5
        )),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains("holds a 5-byte value"),
        "{problems:#?}"
    );
}

#[test]
fn tokens_of_missing_users_or_organizations_are_reported() {
    let fixture = fixture();
    let (mut ghost, hash) = (fixture.token.clone(), fixture.token_hash);
    ghost.user = UserId(999);
    fixture.damage(move |tx| tx.put(tables::API_TOKENS, &token_key(hash), &ghost));
    assert_one(&fixture.problems(), "belongs to user 999 of organization");

    let fixture = self::fixture();
    let (mut foreign, hash) = (fixture.token.clone(), fixture.token_hash);
    foreign.org = OrgId(77);
    fixture.damage(move |tx| {
        tx.put(tables::API_TOKENS, &token_key(hash), &foreign)?;
        for (def, key) in token_entries(hash, &foreign) {
            tx.put_raw(def, key.as_slice(), &hash.0)?;
        }
        Ok(())
    });
    // The token's record names organization 77; the entry under the real organization
    // now points at a token of another organization.
    let problems = fixture.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("belongs to organization 77, which does not exist"),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains("but that is api token"),
        "{problems:#?}"
    );
}

#[test]
fn half_of_an_inbox_pruning_mark_is_reported() {
    let fixture = fixture();
    let org = fixture.org;
    let future = Timestamp::now().plus_millis(60_000);
    fixture.damage(move |tx| {
        tx.system()
            .inbox_put(org, 1, "{}".into(), crate::telegram::INBOX_CAPACITY)?;
        tx.system().finish_update(org, 1)?;
        tx.prune_inbox(Some(org), future, 10)?;
        Ok(())
    });
    assert!(fixture.problems().is_empty(), "{:#?}", fixture.problems());
    fixture.damage(move |tx| {
        let key =
            Key::org(org).bytes(crate::services::retention::INBOX_PRUNED_RECEIVED_AT.as_bytes());
        tx.remove(tables::SEQUENCES, &key)?;
        Ok(())
    });
    assert_one(&fixture.problems(), "has only one of inbox_pruned_through");
}

#[test]
fn verify_reports_a_missing_and_a_stray_file_reference() {
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Acme", "acme")
        .unwrap()
        .id;
    let customer = crm
        .system()
        .upsert_telegram_customer(
            org,
            crate::customers::TelegramProfile {
                telegram_id: crate::model::TelegramUserId(101),
                username: None,
                first_name: "Alice".into(),
                last_name: None,
                language_code: None,
            },
        )
        .unwrap()
        .id;
    let sketch = crm
        .system()
        .store_media(org, b"attached to the order".to_vec(), "image/png".into())
        .unwrap();
    let order = crm
        .create_order(
            &Actor::customer(org, customer),
            crate::orders::NewOrder {
                title: "Shop bot".into(),
                description: "See the sketch".into(),
                attachments: vec![sketch.hash],
                ..crate::orders::NewOrder::default()
            },
        )
        .unwrap();
    assert!(crm.system().verify().unwrap().is_clean());
    let hash = sketch.hash;
    let real = Key::org(org).bytes(&hash.0).u8(2).u64(order.id.0);
    let stray = Key::org(org).bytes(&hash.0).u8(1).u64(999);
    crm.write(move |tx| {
        tx.remove(tables::MEDIA_REFS, &real)?;
        tx.index(tables::MEDIA_REFS, &stray)
    })
    .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|problem| problem.starts_with("media_refs: missing entry")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("points at message 999, which does not exist")),
        "{problems:#?}"
    );
}

/// The distinct index and counter tables of the declarations.
struct DeclaredTables {
    indexes: Vec<tables::Def>,
    counters: Vec<tables::Def>,
}

impl crate::store::indexes::Visitor for DeclaredTables {
    fn visit<T: crate::store::indexes::Declared>(&mut self) -> Result<()> {
        for index in T::INDEXES {
            if !self
                .indexes
                .iter()
                .any(|def| def.name() == index.table.name())
            {
                self.indexes.push(index.table);
            }
        }
        self.counters
            .extend(T::COUNTERS.iter().map(|counter| counter.table));
        Ok(())
    }
}

fn declared_tables() -> DeclaredTables {
    let mut declared = DeclaredTables {
        indexes: Vec::new(),
        counters: Vec::new(),
    };
    crate::store::declarations::visit_all(&mut declared).unwrap();
    declared
}

/// A store with entries in every declared index table: the demo (staff, customers, orders
/// with markers, assignees and bids, chats, the audit log), and a linked Telegram account, a
/// session, an api token, a pending update, a message waiting for delivery, and files on a
/// message and an order.
fn store_with_every_index() -> (tempfile::TempDir, Crm) {
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Acme", "acme")
        .unwrap()
        .id;
    let demo = crm.system().load_demo(org).unwrap();
    let anna = demo
        .staff
        .iter()
        .find(|login| login.username == "anna")
        .unwrap();
    let session = crm
        .login(org, "anna", anna.password.expose(), &Origin::default())
        .unwrap();
    let staff = Actor::staff(org, session.user.id);
    crm.create_api_token(&staff, session.user.id, "ci").unwrap();
    let code = crm.create_link_code(&staff).unwrap();
    crm.system()
        .redeem_link_code(org, &code.code, TelegramUserId(555))
        .unwrap();
    crm.write(move |tx| {
        tx.system()
            .inbox_put(org, 1, "{}".into(), crate::telegram::INBOX_CAPACITY)
            .map(|_| ())
    })
    .unwrap();
    let customer = crm
        .system()
        .upsert_telegram_customer(
            org,
            crate::customers::TelegramProfile {
                telegram_id: TelegramUserId(101),
                username: None,
                first_name: "Alice".into(),
                last_name: None,
                language_code: None,
            },
        )
        .unwrap()
        .id;
    let file = crm
        .system()
        .store_media(org, b"a sketch".to_vec(), "image/png".into())
        .unwrap();
    crm.create_order(
        &Actor::customer(org, customer),
        crate::orders::NewOrder {
            title: "Shop bot".into(),
            description: "See the sketch".into(),
            attachments: vec![file.hash],
            ..crate::orders::NewOrder::default()
        },
    )
    .unwrap();
    // Staff working from Telegram: Alice's topic in the staff group with its thread
    // (`forum_threads`), a delivered notice to Anna (`staff_notices`) and Anna's message in
    // the topic (`forum_origins`).
    let group = ChatId(-1_009);
    crm.write(move |tx| {
        let code = tx
            .create_staff_group_code(&Actor::system(org))?
            .link_code
            .ok_or_else(|| crate::Error::conflict("no code"))?;
        tx.system()
            .link_staff_group(org, &code, group, "Team", true)?;
        tx.post_inbound(
            &Actor::customer(org, customer),
            crate::chat::InboundMessage {
                customer,
                about: crate::chat::OrderChoice::None,
                text: "hello".into(),
                attachments: Vec::new(),
                telegram_message_id: Some(5),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .map(drop)
    })
    .unwrap();
    for (index, item) in crm
        .system()
        .outbox_items(org)
        .unwrap()
        .into_iter()
        .enumerate()
    {
        if matches!(
            item.payload,
            OutboxPayload::Forum(ForumCall::CreateTopic { .. })
                | OutboxPayload::Notify(Event::CustomerWrote { .. })
        ) {
            let telegram_id = 900 + i64::try_from(index).unwrap();
            crm.system()
                .outbox_delivered(org, item.id, Some(telegram_id))
                .unwrap();
        }
    }
    let thread = crm
        .forum_topic(&staff, customer)
        .unwrap()
        .and_then(|topic| topic.thread)
        .unwrap();
    crm.post_in_topic(&staff, group, thread, "hi Alice".into(), Vec::new())
        .unwrap();
    assert!(first_entry(&crm, tables::STAFF_NOTICES).is_some());
    // A second order of Alice's, delivered and rated: `csat_surveys` with both indexes.
    let rated = crm
        .create_order(
            &Actor::customer(org, customer),
            crate::orders::NewOrder {
                title: "Landing page".into(),
                description: "One page".into(),
                ..crate::orders::NewOrder::default()
            },
        )
        .unwrap()
        .id;
    let system = Actor::system(org);
    crm.approve_order(&system, rated).unwrap();
    crm.assign_order(
        &system,
        rated,
        crate::orders::AssignTo::User(session.user.id),
    )
    .unwrap();
    for stage in ["in_progress", "testing", "completed", "delivered"] {
        let stage = crm
            .read(move |view| crate::services::load_org(view, org))
            .unwrap()
            .pipeline
            .stage_by_key(stage)
            .unwrap()
            .id;
        crm.move_order(&system, rated, stage).unwrap();
    }
    crm.rate_order(&Actor::customer(org, customer), rated, 5)
        .unwrap();
    // A helpdesk ticket with typed fields: `orders_by_field`.
    // A service desk (the tokens module) with a customer's profile: `profiles_by_id`.
    let service = crm
        .system()
        .create_organization("service", "Service", "service")
        .unwrap()
        .id;
    let service_customer = crm
        .system()
        .upsert_telegram_customer(
            service,
            crate::customers::TelegramProfile {
                telegram_id: TelegramUserId(303),
                username: None,
                first_name: "Cleo".into(),
                last_name: None,
                language_code: None,
            },
        )
        .unwrap()
        .id;
    let answers = [
        ("first_name", "Cleo"),
        ("last_name", "Doe"),
        ("phone", "+12125550100"),
        ("email", "cleo@example.com"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    crm.create_profile(&Actor::system(service), service_customer, answers)
        .unwrap();
    let desk = crm
        .system()
        .create_organization("helpdesk", "Desk", "desk")
        .unwrap()
        .id;
    let desk_customer = crm
        .system()
        .upsert_telegram_customer(
            desk,
            crate::customers::TelegramProfile {
                telegram_id: TelegramUserId(202),
                username: None,
                first_name: "Bob".into(),
                last_name: None,
                language_code: None,
            },
        )
        .unwrap()
        .id;
    let fields = crm
        .ticket_fields(&Actor::system(desk))
        .unwrap()
        .parse_answers([
            ("device", "phone"),
            ("fault", "no sound"),
            ("serial", "SN-1234567"),
        ])
        .unwrap();
    crm.create_order(
        &Actor::customer(desk, desk_customer),
        crate::orders::NewOrder {
            title: "Quiet phone".into(),
            description: "No sound".into(),
            custom_fields: fields,
            ..crate::orders::NewOrder::default()
        },
    )
    .unwrap();
    let sent = crm
        .post_outbound(
            &Actor::system(org),
            crate::chat::OutboundMessage {
                customer,
                order: None,
                text: "The sketch again".into(),
                attachments: vec![Attachment {
                    media: file.hash,
                    kind: MediaKind::Photo,
                    file_name: None,
                    mime: file.mime.clone(),
                    size: file.size,
                }],
                reply_to: None,
                content: None,
            },
        )
        .unwrap();
    // Delivered: Telegram's message id indexes it (`messages_by_telegram`).
    crm.write(move |tx| tx.mark_message_sent(org, sent.id, 77))
        .unwrap();
    // The operators module's tables: a helpdesk with an online operator, a conversation
    // assigned to them, a closed one, and one waiting in a department nobody is in.
    let help = crm
        .system()
        .create_organization("helpdesk", "Help", "help")
        .unwrap()
        .id;
    let system = Actor::system(help);
    let operator = crm
        .create_user(
            &system,
            NewUser {
                username: "operator".into(),
                display_name: "Operator".into(),
                password: Password::parse("correct horse battery").unwrap(),
                roles: vec!["operator".into()],
                must_change_password: false,
            },
        )
        .unwrap()
        .id;
    let support = crm.create_department(&system, "Support").unwrap().id;
    let night = crm.create_department(&system, "Night").unwrap().id;
    crm.add_department_member(&system, support, operator)
        .unwrap();
    crm.set_operator_status(&system, operator, OperatorStatus::Online)
        .unwrap();
    crm.save_operator_settings(
        &system,
        OperatorSettings {
            idle_away_minutes: 5,
            ..OperatorSettings::default()
        },
    )
    .unwrap();
    for (telegram, department, close) in [
        (201, support, false),
        (202, support, true),
        (203, night, false),
        (204, night, true),
    ] {
        let customer = crm
            .system()
            .upsert_telegram_customer(
                help,
                crate::customers::TelegramProfile {
                    telegram_id: TelegramUserId(telegram),
                    username: None,
                    first_name: "Cleo".into(),
                    last_name: None,
                    language_code: None,
                },
            )
            .unwrap()
            .id;
        crm.choose_department(&system, customer, department)
            .unwrap();
        if close {
            crm.close_conversation(&system, customer).unwrap();
        }
    }
    // The first closed conversation archived (`queue_archived`), the second still closed
    // (`queue_closed`).
    let archived = crm
        .write(move |tx| {
            let older_than = tx.now().plus_millis(1);
            tx.archive_closed_conversations(help, older_than, 1)
        })
        .unwrap();
    assert_eq!(archived, 1);
    // A call from an unknown number: a call with its three indexes, and a customer with a
    // phone (the phone index).
    crm.write(move |tx| {
        tx.update_settings(
            &Actor::system(org),
            crate::org::SettingsUpdate {
                modules: vec![(Module::Tickets, true)],
                ..crate::org::SettingsUpdate::default()
            },
        )?;
        tx.set_zadarma_secret(&Actor::system(org), "verify-secret")?;
        let (notification, signature) = crate::calls::sign_notification(
            "verify-secret",
            CallEvent::Start,
            &[
                ("call_start", "2026-12-05 10:00:00"),
                ("pbx_call_id", "in_1"),
                ("caller_id", "79160000001"),
                ("called_did", "74950000000"),
            ],
        );
        tx.record_zadarma_notification(org, &notification, Some(&signature))
            .map(drop)
    })
    .unwrap();
    // The token service: a purchase and an order (the ledger, the account, the order's token
    // side in the queue) and a subscription (`premium_by_end`).
    let service = crm
        .system()
        .create_organization("service", "Tokens", "tokens")
        .unwrap()
        .id;
    let buyer = crm
        .system()
        .upsert_telegram_customer(
            service,
            crate::customers::TelegramProfile {
                telegram_id: TelegramUserId(301),
                username: None,
                first_name: "Sarah".into(),
                last_name: None,
                language_code: None,
            },
        )
        .unwrap()
        .id;
    crm.system()
        .credit_purchase(service, buyer, 500, "test:1", "500 tokens")
        .unwrap();
    let package = crm.packages(&Actor::system(service)).unwrap()[0].id;
    crm.place_token_order(
        &Actor::customer(service, buyer),
        crate::tokens::TokenOrderRequest {
            package,
            ..crate::tokens::TokenOrderRequest::default()
        },
    )
    .unwrap();
    crm.grant_subscription(&Actor::system(service), buyer, 30)
        .unwrap();
    // A scheduled message, waiting (`scheduled_due`, `scheduled_by_customer`).
    crm.write(move |tx| {
        let send_at = tx.now().plus_millis(600_000);
        tx.schedule_message(
            &Actor::staff(org, UserId(1)),
            crate::scheduled::NewScheduled {
                customer: CustomerId(1),
                text: "Later".into(),
                send_at,
            },
        )
        .map(drop)
    })
    .unwrap();
    // A webhook endpoint with a pending delivery (the delivery log and the due index).
    let endpoint = crm
        .create_webhook(
            &Actor::system(org),
            crate::webhooks::WebhookInput {
                url: "https://erp.example/hooks".into(),
                description: String::new(),
                events: vec!["order.created".into()],
                enabled: true,
            },
        )
        .unwrap();
    crm.test_webhook(&Actor::system(org), endpoint.id).unwrap();
    // Payments: a paid invoice (its ledger entry) and a pending one with its track id.
    crm.save_payment_settings(
        &Actor::system(service),
        crate::payments::PaymentSettingsInput {
            oxapay_merchant_key: Some("merchant-key".into()),
            oxapay_base_url: String::new(),
            token_price: 100,
            stars_per_token: 1,
            amounts: vec![100],
            invoice_lifetime_minutes: 60,
        },
    )
    .unwrap();
    for track in ["T-1", "T-2"] {
        let invoice = crm
            .request_invoice(
                &Actor::system(service),
                buyer,
                100,
                crate::model::PaymentProvider::OxaPay,
            )
            .unwrap();
        crm.system()
            .oxapay_invoice_created(service, invoice.id, track, "https://pay.example/")
            .unwrap();
    }
    crm.system().record_oxapay(service, "T-1", "paid").unwrap();
    // Broadcasts: one started with a recipient handed to the outbox (the active index, the
    // recipients), and a draft.
    let service_admin = crm
        .create_user(
            &Actor::system(service),
            crate::team::NewUser {
                username: "caster".into(),
                display_name: "Caster".into(),
                password: crate::Password::parse("correct horse battery").unwrap(),
                roles: vec!["manager".into()],
                must_change_password: false,
            },
        )
        .unwrap();
    let caster = Actor::staff(service, service_admin.id);
    let draft = crate::broadcasts::BroadcastDraft {
        title: "News".into(),
        text: "Hello".into(),
        audience: crate::model::Audience::default(),
        rate_per_second: 10,
    };
    let started = crm.create_broadcast(&caster, draft.clone()).unwrap();
    crm.start_broadcast(&caster, started.id).unwrap();
    crm.system().feed_broadcast(service, started.id, 1).unwrap();
    crm.create_broadcast(&caster, draft).unwrap();
    // Projects: the renovation demo's (one from a won lead, workers, reports with photos,
    // entries with receipts, estimate lines, change requests, timelines).
    let renovation = crm
        .system()
        .create_organization("renovation", "Remont", "remont")
        .unwrap()
        .id;
    crm.system().load_demo(renovation).unwrap();
    // The projects module: a lead the bot made from a customer's message, with the AI on,
    // so an AI call waits (`ai_requests`, `ai_due`) beside its qualification (`leads`).
    let reno = crm
        .system()
        .create_organization("renovation", "Reno", "reno")
        .unwrap()
        .id;
    crm.set_ai_settings(
        &Actor::system(reno),
        crate::leads::AiSettingsInput {
            enabled: true,
            base_url: String::new(),
            api_key: Some("sk-verify-test".into()),
            model: String::new(),
            timeout_seconds: 30,
        },
    )
    .unwrap();
    let client = crm
        .system()
        .upsert_telegram_customer(
            reno,
            crate::customers::TelegramProfile {
                telegram_id: TelegramUserId(401),
                username: None,
                first_name: "Oleg".into(),
                last_name: None,
                language_code: Some("ru".into()),
            },
        )
        .unwrap()
        .id;
    crm.write(move |tx| {
        tx.post_lead_message(
            &Actor::customer(reno, client),
            crate::chat::InboundMessage {
                customer: client,
                about: crate::chat::OrderChoice::Current,
                text: "Ремонт кухни".into(),
                attachments: Vec::new(),
                telegram_message_id: Some(1),
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .map(drop)
    })
    .unwrap();
    (dir, crm)
}

/// The first entry of a table.
fn first_entry(crm: &Crm, table: tables::Def) -> Option<(Vec<u8>, Vec<u8>)> {
    crm.read(move |view| {
        let mut first = None;
        view.for_each_prefix(table, &Key::empty(), |key, value| {
            first = Some((key.to_vec(), value.to_vec()));
            Ok(false)
        })?;
        Ok(first)
    })
    .unwrap()
}

#[test]
fn every_declared_index_reports_a_missing_entry_and_a_stray_one() {
    let (_dir, crm) = store_with_every_index();
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
    assert!(report.unchecked_tables.is_empty(), "{report:?}");
    let indexes = declared_tables().indexes;
    assert!(indexes.len() >= 18, "{}", indexes.len());
    for table in indexes {
        let name = table.name();
        let (key, value) =
            first_entry(&crm, table).unwrap_or_else(|| panic!("{name} holds no entry"));
        let entry = (key.clone(), value.clone());
        crm.write(move |tx| tx.remove(table, &Key::empty().bytes(&entry.0)).map(|_| ()))
            .unwrap();
        let problems = crm.system().verify().unwrap().problems;
        assert_eq!(problems.len(), 1, "{name}: {problems:#?}");
        assert!(
            problems[0].starts_with(&format!("{name}: missing entry {}", hex(&key))),
            "{problems:#?}"
        );

        // Back in place, with a copy under a key no record declares (one byte longer).
        let mut stray = key.clone();
        stray.push(0xff);
        let (entry, copy) = ((key.clone(), value.clone()), (stray.clone(), value.clone()));
        crm.write(move |tx| {
            tx.put_raw(table, &entry.0, &entry.1)?;
            tx.put_raw(table, &copy.0, &copy.1)
        })
        .unwrap();
        let problems = crm.system().verify().unwrap().problems;
        assert_eq!(problems.len(), 1, "{name}: {problems:#?}");
        assert!(
            problems[0].starts_with(&format!("{name}: entry {} ", hex(&stray))),
            "{problems:#?}"
        );
        crm.write(move |tx| tx.remove(table, &Key::empty().bytes(&stray)).map(|_| ()))
            .unwrap();
    }
    assert!(crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_counter_off_by_one_and_a_missing_counter_are_reported() {
    let (_dir, crm) = store_with_every_index();
    let counters = declared_tables().counters;
    assert_eq!(counters.len(), 2);
    for table in counters {
        // What each counter counts, as verify names it.
        let noun = match table.name() {
            "order_counts" => "order",
            "queue_loads" => "queue item",
            other => panic!("a counter this test does not know: {other}"),
        };
        let (key, value) = first_entry(&crm, table).unwrap();
        let stored = crate::store::keys::read_u64(&value, 0);
        let (raised, gone, back) = (key.clone(), key.clone(), key.clone());
        crm.write(move |tx| tx.put_raw(table, &raised, &(stored + 1).to_be_bytes()))
            .unwrap();
        let problems = crm.system().verify().unwrap().problems;
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains(&format!(
                "counts {} {noun}s, but {stored} are in it",
                stored + 1
            )),
            "{problems:#?}"
        );
        crm.write(move |tx| tx.remove(table, &Key::empty().bytes(&gone)).map(|_| ()))
            .unwrap();
        let problems = crm.system().verify().unwrap().problems;
        if stored > 0 {
            assert_eq!(problems.len(), 1, "{problems:#?}");
            assert!(
                problems[0].contains(&format!("has no counter, but {stored} {noun}s are in it")),
                "{problems:#?}"
            );
        } else {
            assert!(problems.is_empty(), "{problems:#?}");
        }
        crm.write(move |tx| tx.put_raw(table, &back, &stored.to_be_bytes()))
            .unwrap();
        assert!(crm.system().verify().unwrap().is_clean());
    }
}

#[test]
fn every_table_is_declared_once_or_checked_by_hand() {
    struct Roles(Vec<(String, String)>);
    impl crate::store::indexes::Visitor for Roles {
        fn visit<T: crate::store::indexes::Declared>(&mut self) -> Result<()> {
            self.0.push((
                T::TABLE.name().to_string(),
                format!("records of {}", T::NOUN),
            ));
            let mut own: Vec<&str> = T::INDEXES.iter().map(|index| index.table.name()).collect();
            let declared = own.len();
            own.sort_unstable();
            own.dedup();
            assert_eq!(own.len(), declared, "{} declares an index twice", T::NOUN);
            for table in own {
                self.0.push((table.to_string(), "index".to_string()));
            }
            for counter in T::COUNTERS {
                self.0
                    .push((counter.table.name().to_string(), "counter".to_string()));
            }
            Ok(())
        }
    }
    let mut roles = Roles(Vec::new());
    crate::store::declarations::visit_all(&mut roles).unwrap();
    roles.0.extend(
        crate::store::declarations::CHECKED_BY_HAND
            .iter()
            .map(|def| (def.name().to_string(), "by hand".to_string())),
    );
    for def in tables::ALL {
        let mut kinds: Vec<&str> = roles
            .0
            .iter()
            .filter(|(table, _)| table == def.name())
            .map(|(_, kind)| kind.as_str())
            .collect();
        kinds.dedup();
        assert_eq!(kinds.len(), 1, "{}: {kinds:?}", def.name());
        // Only an index may be declared by more than one record table (`media_refs`: messages
        // and orders, told apart by a kind byte in the key).
        let declarations = roles
            .0
            .iter()
            .filter(|(table, _)| table == def.name())
            .count();
        assert!(
            declarations == 1 || kinds == ["index"],
            "{}: {kinds:?}",
            def.name()
        );
    }
    for (table, _) in &roles.0 {
        assert!(
            tables::ALL.iter().any(|def| def.name() == table),
            "{table} is not in tables::ALL"
        );
    }
}

#[test]
fn a_list_row_or_a_customer_name_that_disagrees_with_its_record_is_reported() {
    let (_dir, crm) = store_with_every_index();
    let (row_key, row) = first_entry(&crm, tables::ORDER_ROWS).unwrap();
    let mut summary: crate::model::OrderSummary = crate::store::codec::decode(&row).unwrap();
    summary.title = "Not the order's title".into();
    let tampered = crate::store::codec::encode(&summary).unwrap();
    let key = row_key.clone();
    crm.write(move |tx| tx.put_raw(tables::ORDER_ROWS, &key, &tampered))
        .unwrap();
    assert_one(
        &crm.system().verify().unwrap().problems,
        &format!(
            "order_rows: entry {} is stale: it does not match order",
            hex(&row_key)
        ),
    );
    crm.write(move |tx| tx.put_raw(tables::ORDER_ROWS, &row_key, &row))
        .unwrap();

    let (name_key, name) = first_entry(&crm, tables::CUSTOMER_NAMES).unwrap();
    let key = name_key.clone();
    crm.write(move |tx| tx.put_raw(tables::CUSTOMER_NAMES, &key, b"Mallory"))
        .unwrap();
    assert_one(
        &crm.system().verify().unwrap().problems,
        &format!(
            "customer_names: entry {} is stale: it does not match customer",
            hex(&name_key)
        ),
    );
    crm.write(move |tx| tx.put_raw(tables::CUSTOMER_NAMES, &name_key, &name))
        .unwrap();
    assert!(crm.system().verify().unwrap().is_clean());
}

#[test]
fn a_conversation_row_that_disagrees_with_its_sources_is_reported() {
    let (_dir, crm) = store_with_every_index();
    assert!(crm.system().verify().unwrap().is_clean());
    let (row_key, row) = first_entry(&crm, tables::CONVERSATION_ROWS).unwrap();
    let mut tampered: crate::model::ConversationRow = crate::store::codec::decode(&row).unwrap();
    tampered.unread += 7;
    tampered.name = "Mallory".into();
    let customer = tampered.customer;
    let bytes = crate::store::codec::encode(&tampered).unwrap();
    let key = row_key.clone();
    crm.write(move |tx| tx.put_raw(tables::CONVERSATION_ROWS, &key, &bytes))
        .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with(&format!(
            "conversation_rows: the row of customer {customer} of organization 1 is stale"
        )),
        "{problems:#?}"
    );
    crm.write(move |tx| tx.put_raw(tables::CONVERSATION_ROWS, &row_key, &row))
        .unwrap();
    assert!(crm.system().verify().unwrap().is_clean());
}

#[test]
fn an_account_or_a_ledger_entry_that_disagrees_with_the_sum_of_the_entries_is_reported() {
    let (_dir, crm) = store_with_every_index();
    assert!(crm.system().verify().unwrap().is_clean());
    // An account holding 1 token more than its entries add up to.
    let (key, value) = first_entry(&crm, tables::TOKEN_ACCOUNTS).unwrap();
    let mut account: TokenAccount = codec::decode(&value).unwrap();
    account.balance += 1;
    let tampered = (key.clone(), account);
    crm.write(move |tx| {
        tx.put(
            tables::TOKEN_ACCOUNTS,
            &Key::empty().bytes(&tampered.0),
            &tampered.1,
        )
    })
    .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("token_accounts: the account of customer 1 of organization")
            && problems[0].contains("but the ledger adds up to"),
        "{problems:#?}"
    );
    crm.write(move |tx| {
        let original: TokenAccount = codec::decode(&value)?;
        tx.put(tables::TOKEN_ACCOUNTS, &Key::empty().bytes(&key), &original)
    })
    .unwrap();
    // An entry whose balance-after is not the running sum.
    let (key, value) = first_entry(&crm, tables::LEDGER).unwrap();
    let mut entry: LedgerEntry = codec::decode(&value).unwrap();
    entry.balance_after += 7;
    crm.write(move |tx| tx.put(tables::LEDGER, &Key::empty().bytes(&key), &entry))
        .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains(
            "says the balance of customer 1 is 507 after it, but the entries up to it add up to 500"
        ),
        "{problems:#?}"
    );
}

#[test]
fn a_broadcast_report_that_disagrees_with_its_recipients_is_reported() {
    let (_dir, crm) = store_with_every_index();
    assert!(crm.system().verify().unwrap().is_clean());
    let (key, value) = first_entry(&crm, tables::BROADCASTS).unwrap();
    let mut broadcast: crate::model::Broadcast = codec::decode(&value).unwrap();
    broadcast.counts.sent += 1;
    crm.write(move |tx| tx.put(tables::BROADCASTS, &Key::empty().bytes(&key), &broadcast))
        .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("broadcasts: the report of broadcast 1 of organization")
            && problems[0].contains("but its recipients add up to"),
        "{problems:#?}"
    );
}

#[test]
fn a_project_s_totals_or_a_stage_s_sums_that_disagree_with_its_records_are_reported() {
    let (_dir, crm) = store_with_every_index();
    assert!(crm.system().verify().unwrap().is_clean());
    let (key, value) = first_entry(&crm, tables::PROJECTS).unwrap();
    let before: crate::model::Project = codec::decode(&value).unwrap();
    let mut after = before.clone();
    after.totals.spent = Money::from_minor(after.totals.spent.minor() + 1);
    after.totals.pending_changes += 1;
    // Through the declaration, so the list row follows and only the totals disagree.
    crm.write(move |tx| tx.update_record(&Key::empty().bytes(&key), &before, &after))
        .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("projects: the totals of project 1 of organization")
            && problems[0].contains("but its records add up to"),
        "{problems:#?}"
    );

    let (_dir, crm) = store_with_every_index();
    let (key, value) = first_entry(&crm, tables::PROJECT_STAGES).unwrap();
    let mut stage: crate::model::ProjectStage = codec::decode(&value).unwrap();
    stage.spent = Money::from_minor(stage.spent.minor() + 100);
    crm.write(move |tx| tx.put(tables::PROJECT_STAGES, &Key::empty().bytes(&key), &stage))
        .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("projects: stage ") && problems[0].contains("says planned"),
        "{problems:#?}"
    );
}

#[test]
fn an_aggregate_of_the_dashboard_that_disagrees_with_the_records_is_reported() {
    use crate::services::analytics::aggregates::{entry_key, slot_of, value_of};
    let (_dir, crm) = store_with_every_index();
    assert!(crm.system().verify().unwrap().is_clean());
    let (key, value) = first_entry(&crm, tables::ANALYTICS_DAYS).unwrap();
    let slot = slot_of(&key).unwrap();
    let count = value_of(&value).unwrap();
    let org = OrgId(crate::store::keys::read_u64(&key, 0));
    // One more than the records give, a stray entry on a day without activity, and an
    // entry of an organization that does not exist.
    let stray = entry_key(org, (slot.0, 1, slot.2));
    let foreign = entry_key(OrgId(99), slot);
    let (tampered, original) = (key.clone(), key.clone());
    crm.write(move |tx| {
        tx.put_raw(
            tables::ANALYTICS_DAYS,
            &tampered,
            &(count + 1).to_be_bytes(),
        )?;
        tx.put_raw(
            tables::ANALYTICS_DAYS,
            stray.as_slice(),
            &5i64.to_be_bytes(),
        )?;
        tx.put_raw(
            tables::ANALYTICS_DAYS,
            foreign.as_slice(),
            &1i64.to_be_bytes(),
        )
    })
    .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("belongs to organization 99")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|problem| problem.starts_with("analytics_days: ")
                && problem.contains(&format!("is {}, but the records give {count}", count + 1))),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|problem| problem
                .contains("on 1970-01-02 (UTC) is 5, but the records give nothing")),
        "{problems:#?}"
    );
    // A missing entry.
    let (stray, foreign) = (
        entry_key(org, (slot.0, 1, slot.2)),
        entry_key(OrgId(99), slot),
    );
    crm.write(move |tx| {
        tx.remove(tables::ANALYTICS_DAYS, &Key::empty().bytes(&original))?;
        tx.remove(tables::ANALYTICS_DAYS, &stray)?;
        tx.remove(tables::ANALYTICS_DAYS, &foreign)?;
        Ok(())
    })
    .unwrap();
    let problems = crm.system().verify().unwrap().problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains(&format!("is missing, but the records give {count}")),
        "{problems:#?}"
    );
    crm.write(move |tx| tx.put_raw(tables::ANALYTICS_DAYS, &key, &value))
        .unwrap();
    assert!(crm.system().verify().unwrap().is_clean());
}
