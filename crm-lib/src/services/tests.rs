//! What every use case writes, seen from inside the transaction it runs in (ARCHITECTURE.md,
//! "Invariants"):
//! - a use case that returns a business error has written nothing, so a caller (the bot,
//!   handling an update together with `finish_update`) may handle the error and go on in the
//!   same transaction;
//! - a use case that changes anything writes its audit entry, and the outbox items the change
//!   causes, in that same transaction;
//! - every key a use case writes of a tenant's record starts with the organization id, but
//!   for the few global tables [`OrgInKey`] names.
//!
//! Each call runs on the real writer, and the whole store (every entry of every table) is
//! read before and after it within its transaction. The first two tests fail when a use case breaks
//! its rule: checked by making `mark_read` reset the unread count before its permission check
//! (the first test named `mark_read by a worker` and the `customers` table) and write no audit
//! entry (the second named `mark_read`).

use std::ops::Bound;

use crate::chat::{InboundMessage, NewNote, OrderChoice, OutboundFile, OutboundMessage};
use crate::customers::{NewCustomer, TelegramProfile};
use crate::media::NewMedia;
use crate::model::*;
use crate::orders::{AssignTo, NewOrder};
use crate::org::{SettingsUpdate, StageUpdate};
use crate::store::tables;
use crate::team::{NewUser, ProfileUpdate};
use crate::{Crm, ErrorKind, Password, Result, Tx, View};

/// Every entry of every table, as a transaction sees it, table by table.
type Contents = Vec<(&'static str, Vec<(Vec<u8>, Vec<u8>)>)>;

fn contents(view: &impl View) -> Result<Contents> {
    let mut all = Vec::new();
    for def in tables::ALL {
        let mut entries = Vec::new();
        view.scan(
            *def,
            (Bound::Unbounded, Bound::Unbounded),
            false,
            |key, value| {
                entries.push((key.to_vec(), value.to_vec()));
                Ok(true)
            },
        )?;
        all.push((redb::TableHandle::name(def), entries));
    }
    Ok(all)
}

/// The tables whose entries differ between two readings.
fn changed(before: &Contents, after: &Contents) -> Vec<&'static str> {
    before
        .iter()
        .zip(after)
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, _), _)| *name)
        .collect()
}

/// A studio with its staff, two customers and orders at several stages.
#[derive(Clone)]
struct Fx {
    org: OrgId,
    admin: Actor,
    manager: Actor,
    worker: Actor,
    worker2: Actor,
    ann: Actor,
    bob: Actor,
    ann_id: CustomerId,
    bob_id: CustomerId,
    worker_id: UserId,
    worker2_id: UserId,
    admin_id: UserId,
    manager_id: UserId,
    /// Ann's, waiting for moderation, with a budget of 100.
    pending: OrderId,
    /// Bob's, approved, with the worker's bid of 50.
    approved: OrderId,
    bid: BidId,
    /// Ann's, assigned to the worker and in progress.
    in_progress: OrderId,
    marker: MarkerId,
    other_marker: MarkerId,
    method: PaymentMethodId,
    token: ApiTokenId,
    stage_lost: StageId,
    stage_in_progress: StageId,
    stage_completed: StageId,
    /// A helpdesk (the tickets module): its administrator, an operator, a master, a
    /// customer and her ticket, whose serial fails its format (a fraud flag).
    desk: OrgId,
    desk_admin: Actor,
    desk_operator: Actor,
    desk_master_id: UserId,
    desk_customer: Actor,
    ticket: OrderId,
    /// The operators module's department "Support" (the manager, online).
    support: DepartmentId,
    /// The tokens module (switched on in the studio): Dora, a customer with no tokens and
    /// no orders, and the package "basic" (100 tokens, 60 for subscribers).
    dora: Actor,
    dora_id: CustomerId,
    package: u64,
    /// The projects module (switched on in the studio): Ann's kitchen with two stages and
    /// the worker on it, its first stage, a change request waiting that would take its
    /// budget below zero, and Bob's order delivered (a won lead with no project yet).
    kitchen: ProjectId,
    kitchen_stage: ProjectStageId,
    too_deep: ChangeRequestId,
    won: OrderId,
    /// A renovation firm (the projects module): its administrator, a manager linked to
    /// Telegram (alerted of leads' messages), Vera's lead made while the AI was off (walking
    /// the fixed questions, at the first) and Oleg's made with the AI on (its call waiting).
    reno: OrgId,
    reno_admin: Actor,
    reno_manager: Actor,
    vera: Actor,
    vera_id: CustomerId,
    vera_lead: OrderId,
    oleg: Actor,
    oleg_id: CustomerId,
    oleg_lead: OrderId,
    /// A disabled organization (issue 14), with nothing but its template's records.
    closed: OrgId,
}

/// A customer's message to the bot, as the bot posts it.
fn to_the_bot(customer: CustomerId, text: &str) -> InboundMessage {
    InboundMessage {
        customer,
        about: OrderChoice::Current,
        text: text.into(),
        attachments: Vec::new(),
        telegram_message_id: None,
        content: None,
        reply_to_telegram: None,
        media_group: None,
    }
}

/// AI settings switched on with `key`.
fn ai_on(key: Option<&str>, model: &str) -> crate::leads::AiSettingsInput {
    crate::leads::AiSettingsInput {
        enabled: true,
        base_url: String::new(),
        api_key: key.map(str::to_string),
        model: model.into(),
        timeout_seconds: 30,
    }
}

/// A chat completion whose answer is `answer`.
fn completion(answer: serde_json::Value) -> crate::leads::AiCallReport {
    let body = serde_json::json!({
        "model": "test/model",
        "choices": [{"message": {"role": "assistant", "content": answer.to_string()}}],
        "usage": {"prompt_tokens": 700, "completion_tokens": 60},
    });
    crate::leads::AiCallReport {
        at: Timestamp::from_millis(0),
        latency_ms: 1_500,
        result: crate::leads::AiCallResult::Answered {
            body: body.to_string(),
        },
    }
}

/// Typed ticket fields from (key, answer) pairs, read by the helpdesk's field set.
fn ticket_fields(pairs: &[(&str, &str)]) -> Result<std::collections::BTreeMap<String, FieldValue>> {
    let template = crate::templates::template("helpdesk")?;
    template.fields.parse_answers(pairs.iter().copied())
}

fn ticket(actor: &Actor, serial: &str) -> Result<NewOrder> {
    Ok(NewOrder {
        title: "Dead phone".into(),
        description: "does not charge".into(),
        custom_fields: ticket_fields(&[
            ("device", "phone"),
            ("fault", "power"),
            ("serial", serial),
        ])?,
        customer: match actor.who {
            ActorRef::Customer(customer) => Some(customer),
            _ => None,
        },
        ..NewOrder::default()
    })
}

fn staff(crm: &Crm, org: OrgId, username: &str, role: &str) -> (Actor, UserId) {
    let user = crm
        .create_user(
            &Actor::system(org),
            NewUser {
                username: username.into(),
                display_name: username.into(),
                password: Password::parse("correct horse battery").unwrap(),
                roles: vec![role.into()],
                must_change_password: false,
            },
        )
        .unwrap();
    (Actor::staff(org, user.id), user.id)
}

fn customer(crm: &Crm, org: OrgId, telegram_id: i64, name: &str) -> (Actor, CustomerId) {
    let customer = crm
        .system()
        .upsert_telegram_customer(
            org,
            TelegramProfile {
                telegram_id: TelegramUserId::new(telegram_id),
                username: None,
                first_name: name.into(),
                last_name: None,
                language_code: Some("en".into()),
            },
        )
        .unwrap();
    (Actor::customer(org, customer.id), customer.id)
}

fn order(crm: &Crm, actor: &Actor, title: &str, budget: Option<i64>) -> OrderId {
    crm.create_order(
        actor,
        NewOrder {
            title: title.into(),
            description: "details".into(),
            budget: budget.map(|units| Money::from_minor(units * 100)),
            ..NewOrder::default()
        },
    )
    .unwrap()
    .id
}

fn fixture() -> (tempfile::TempDir, Crm, Fx) {
    let dir = tempfile::tempdir().unwrap();
    let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
    let organization = crm
        .system()
        .create_organization("studio", "Acme", "acme")
        .unwrap();
    let org = organization.id;
    let stage = |key: &str| {
        organization
            .pipeline
            .stages
            .iter()
            .find(|stage| stage.key == key)
            .unwrap_or_else(|| panic!("no stage {key}"))
            .id
    };
    let (admin, admin_id) = staff(&crm, org, "admin", "administrator");
    let (manager, manager_id) = staff(&crm, org, "manager", "manager");
    let (worker, worker_id) = staff(&crm, org, "worker", "worker");
    let (worker2, worker2_id) = staff(&crm, org, "worker2", "worker");
    let (ann, ann_id) = customer(&crm, org, 1001, "Ann");
    let (bob, bob_id) = customer(&crm, org, 1002, "Bob");
    let pending = order(&crm, &ann, "Pending", Some(100));
    let approved = order(&crm, &bob, "Approved", Some(100));
    crm.approve_order(&manager, approved).unwrap();
    let bid = crm
        .place_bid(&worker, approved, Money::from_minor(5_000), "")
        .unwrap()
        .id;
    let in_progress = order(&crm, &ann, "In progress", None);
    crm.approve_order(&manager, in_progress).unwrap();
    crm.assign_order(&manager, in_progress, AssignTo::User(worker_id))
        .unwrap();
    crm.move_order(&worker, in_progress, stage("in_progress"))
        .unwrap();
    let marker = crm
        .create_marker(&admin, Localized::new("Rust"), "#dea584")
        .unwrap()
        .id;
    let other_marker = crm
        .create_marker(&admin, Localized::new("Go"), "#00add8")
        .unwrap()
        .id;
    let method = crm
        .create_payment_method(&admin, "Card", "Pay to {details}")
        .unwrap()
        .id;
    crm.save_payment_details(&manager, method, "4000 0000 0000 0002")
        .unwrap();
    let token = crm
        .create_api_token(&worker, worker_id, "ci")
        .unwrap()
        .token
        .id;
    crm.post_inbound(
        &ann,
        InboundMessage {
            customer: ann_id,
            about: OrderChoice::None,
            text: "hello".into(),
            attachments: Vec::new(),
            telegram_message_id: Some(1),
            content: None,
            reply_to_telegram: None,
            media_group: None,
        },
    )
    .unwrap();
    // The operators module, switched on once the order desk's records exist: a department
    // with the manager, online.
    crm.update_settings(
        &admin,
        SettingsUpdate {
            modules: vec![(Module::Operators, true)],
            ..SettingsUpdate::default()
        },
    )
    .unwrap();
    // The tokens module with the service template's registration form, and Ann halfway
    // through registering (at her first name).
    crm.update_settings(
        &admin,
        SettingsUpdate {
            modules: vec![(Module::Tokens, true)],
            ..SettingsUpdate::default()
        },
    )
    .unwrap();
    crm.set_registration_form(
        &admin,
        crate::templates::template("service").unwrap().registration,
    )
    .unwrap();
    crm.start_form(&ann, FormName::Registration).unwrap();
    let support = crm.create_department(&admin, "Support").unwrap().id;
    crm.add_department_member(&admin, support, manager_id)
        .unwrap();
    crm.set_operator_status(&manager, manager_id, OperatorStatus::Online)
        .unwrap();
    let desk = crm
        .system()
        .create_organization("helpdesk", "Desk", "desk")
        .unwrap()
        .id;
    let (desk_admin, _) = staff(&crm, desk, "deskadmin", "administrator");
    let (desk_operator, _) = staff(&crm, desk, "operator", "operator");
    let (desk_master, desk_master_id) = staff(&crm, desk, "master", "master");
    let code = crm.create_link_code(&desk_master).unwrap().code;
    crm.system()
        .redeem_link_code(desk, &code, TelegramUserId::new(3900))
        .unwrap();
    let (desk_customer, _) = customer(&crm, desk, 3001, "Cleo");
    // The desk's bot token, which no other organization may take.
    crm.system().set_bot_token("desk", Some(BOT_TOKEN)).unwrap();
    let closed = crm
        .system()
        .create_organization("studio", "Closed", "closed")
        .unwrap()
        .id;
    crm.system().disable_organization("closed").unwrap();
    let ticket = crm
        .create_order(&desk_customer, ticket(&desk_customer, "bad!").unwrap())
        .unwrap()
        .id;
    crm.update_settings(
        &admin,
        SettingsUpdate {
            modules: vec![(Module::Tickets, true)],
            ..SettingsUpdate::default()
        },
    )
    .unwrap();
    crm.set_zadarma_secret(&admin, ZADARMA_SECRET).unwrap();
    crm.update_settings(
        &admin,
        SettingsUpdate {
            modules: vec![(Module::Tokens, true)],
            ..SettingsUpdate::default()
        },
    )
    .unwrap();
    let package = crm
        .save_package(&admin, None, token_package("basic", 100, 60))
        .unwrap()
        .id;
    let (dora, dora_id) = customer(&crm, org, 1004, "Dora");
    crm.update_settings(
        &admin,
        SettingsUpdate {
            modules: vec![(Module::Projects, true)],
            ..SettingsUpdate::default()
        },
    )
    .unwrap();
    let kitchen = crm
        .create_project(
            &manager,
            crate::projects::NewProject {
                client: ann_id,
                title: "Kitchen".into(),
                budget: Money::from_minor(100_000),
                stages: vec!["Demolition".into(), "Finish".into()],
                ..crate::projects::NewProject::default()
            },
        )
        .unwrap()
        .id;
    crm.set_project_workers(&manager, kitchen, vec![worker_id])
        .unwrap();
    let kitchen_stage = crm.project(&manager, kitchen).unwrap().stages[0].stage.id;
    let too_deep = crm
        .create_change_request(&manager, kitchen, change_request(-1_000_000))
        .unwrap()
        .id;
    let won = order(&crm, &bob, "Won lead", None);
    crm.approve_order(&manager, won).unwrap();
    crm.assign_order(&manager, won, AssignTo::User(worker_id))
        .unwrap();
    for key in ["in_progress", "testing", "completed", "delivered"] {
        crm.move_order(&manager, won, stage(key)).unwrap();
    }
    let reno = crm
        .system()
        .create_organization("renovation", "Reno", "reno")
        .unwrap()
        .id;
    let (reno_admin, _) = staff(&crm, reno, "renoadmin", "administrator");
    let (reno_manager, _) = staff(&crm, reno, "renomanager", "manager");
    let code = crm.create_link_code(&reno_manager).unwrap().code;
    crm.system()
        .redeem_link_code(reno, &code, TelegramUserId::new(4900))
        .unwrap();
    let (vera, vera_id) = customer(&crm, reno, 4001, "Vera");
    let vera_lead = crm
        .post_lead_message(&vera, to_the_bot(vera_id, "Bathroom, please"))
        .unwrap()
        .lead
        .unwrap();
    crm.set_ai_settings(&reno_admin, ai_on(Some("sk-fixture-key"), ""))
        .unwrap();
    let (oleg, oleg_id) = customer(&crm, reno, 4002, "Oleg");
    let oleg_lead = crm
        .post_lead_message(&oleg, to_the_bot(oleg_id, "Хочу ремонт квартиры"))
        .unwrap()
        .lead
        .unwrap();
    let fx = Fx {
        kitchen,
        kitchen_stage,
        too_deep,
        won,
        reno,
        reno_admin,
        reno_manager,
        vera,
        vera_id,
        vera_lead,
        oleg,
        oleg_id,
        oleg_lead,
        dora,
        dora_id,
        package,
        support,
        desk,
        closed,
        desk_admin,
        desk_operator,
        desk_master_id,
        desk_customer,
        ticket,
        org,
        admin,
        manager,
        worker,
        worker2,
        ann,
        bob,
        ann_id,
        bob_id,
        worker_id,
        worker2_id,
        admin_id,
        manager_id,
        pending,
        approved,
        bid,
        in_progress,
        marker,
        other_marker,
        method,
        token,
        stage_lost: stage("rejected"),
        stage_in_progress: stage("in_progress"),
        stage_completed: stage("completed"),
    };
    (dir, crm, fx)
}

/// A package of the token service.
fn token_package(key: &str, price: u64, subscriber_price: u64) -> crate::tokens::PackageInput {
    crate::tokens::PackageInput {
        key: key.into(),
        name: Localized::new(key),
        units: 1,
        price,
        subscriber_price,
        active: true,
        position: 0,
    }
}

/// A message scheduled for `customer` at `send_at`.
fn later(customer: CustomerId, send_at: Timestamp) -> crate::scheduled::NewScheduled {
    crate::scheduled::NewScheduled {
        customer,
        text: "Your order is ready".into(),
        send_at,
    }
}

/// Dora's order of the fixture's package.
fn dora_orders(tx: &mut Tx<'_>, fx: &Fx) -> Result<crate::tokens::PlacedOrder> {
    tx.place_token_order(
        &fx.dora,
        crate::tokens::TokenOrderRequest {
            package: fx.package,
            ..crate::tokens::TokenOrderRequest::default()
        },
    )
}

/// Dora's orders in the queue, first first.
fn dora_queue(tx: &Tx<'_>, fx: &Fx) -> Result<Vec<OrderId>> {
    Ok(crate::tokens::queue_in(tx, &fx.admin, 50)?
        .into_iter()
        .map(|row| row.row.order.id)
        .collect())
}

/// The Zadarma API secret of the fixture's organization.
const ZADARMA_SECRET: &str = "fixture-zadarma-secret";

/// A Zadarma notification of call `pbx` from `caller`, signed with `secret`.
fn zadarma(
    secret: &str,
    event: CallEvent,
    pbx: &str,
    caller: &str,
) -> (crate::calls::ZadarmaNotification, String) {
    crate::calls::sign_notification(
        secret,
        event,
        &[
            ("call_start", "2026-12-05 10:00:00"),
            ("pbx_call_id", pbx),
            ("caller_id", caller),
            ("called_did", "74950000000"),
            ("internal", "100"),
            ("duration", "42"),
            ("disposition", "answered"),
        ],
    )
}

/// A call of a use case inside a write transaction.
type Call = Box<dyn Fn(&mut Tx<'_>, &Fx) -> Result<()> + Send>;

fn call(f: impl Fn(&mut Tx<'_>, &Fx) -> Result<()> + Send + 'static) -> Call {
    Box::new(f)
}

/// What one call did: its error kind (`None` when it succeeded) and the tables it changed.
#[derive(Debug)]
struct Done {
    name: &'static str,
    error: Option<(ErrorKind, String)>,
    changed: Vec<&'static str>,
}

/// Runs `calls` one after the other in one write transaction of `crm`'s writer, reading the
/// whole store before and after each.
fn run(crm: &Crm, fx: &Fx, calls: Vec<(&'static str, Call)>) -> Vec<Done> {
    let fx = fx.clone();
    crm.write(move |tx| {
        let mut done = Vec::new();
        for (name, call) in calls {
            let before = contents(tx)?;
            let result = call(tx, &fx);
            let after = contents(tx)?;
            done.push(Done {
                name,
                error: result.err().map(|error| (error.kind(), error.to_string())),
                changed: changed(&before, &after),
            });
        }
        Ok(done)
    })
    .unwrap()
}

fn text(customer: CustomerId, text: &str) -> OutboundMessage {
    OutboundMessage {
        customer,
        order: None,
        text: text.into(),
        attachments: Vec::new(),
        reply_to: None,
        content: None,
    }
}

/// Ann's first message (Telegram id 1), written by the fixture.
fn ann_hello(tx: &Tx<'_>, fx: &Fx) -> Result<MessageId> {
    crate::services::chat::message_by_telegram(tx, fx.org, fx.ann_id, 1)?
        .map(|message| message.id)
        .ok_or_else(|| crate::Error::not_found("message", 1))
}

fn note(customer: CustomerId, text: &str) -> NewNote {
    NewNote {
        customer,
        order: None,
        text: text.into(),
    }
}

fn picture() -> OutboundFile {
    OutboundFile {
        media: NewMedia::parse(b"\x89PNG\r\n\x1a\nnot really".to_vec(), "image/png").unwrap(),
        kind: MediaKind::Photo,
        file_name: None,
    }
}

fn canned(code: &str, text: &str) -> crate::canned::CannedInput {
    crate::canned::CannedInput {
        code: code.into(),
        title: code.into(),
        texts: Localized::new(text),
        attachments: Vec::new(),
    }
}

/// Business hours on, with no open interval: always closed, with an auto-reply.
fn hook(url: &str, events: &[&str]) -> crate::webhooks::WebhookInput {
    crate::webhooks::WebhookInput {
        url: url.to_string(),
        description: "ERP".to_string(),
        events: events.iter().map(|event| event.to_string()).collect(),
        enabled: true,
    }
}

/// The organization's first webhook endpoint.
fn news(text: &str) -> crate::broadcasts::BroadcastDraft {
    crate::broadcasts::BroadcastDraft {
        title: "News".into(),
        text: text.into(),
        audience: crate::model::Audience::default(),
        rate_per_second: 10,
    }
}

/// A broadcast of the manager's, started (every customer of the fixture's organization).
fn started_news(tx: &mut Tx<'_>, fx: &Fx) -> Result<crate::model::BroadcastId> {
    let broadcast = tx.create_broadcast(&fx.manager, news("Hello all"))?;
    tx.start_broadcast(&fx.manager, broadcast.id)?;
    Ok(broadcast.id)
}

fn first_hook(tx: &Tx<'_>, fx: &Fx) -> Result<WebhookEndpointId> {
    crate::webhooks::webhooks_in(tx, &fx.admin)?
        .first()
        .map(|endpoint| endpoint.id)
        .ok_or_else(|| crate::Error::not_found("webhook endpoint", "first"))
}

/// A delivery due by the far future.
fn due_hook(tx: &Tx<'_>) -> Result<WebhookDeliveryId> {
    crate::webhooks::due_webhooks_in(tx, Timestamp(i64::MAX / 2), 1)?
        .first()
        .map(|due| due.id)
        .ok_or_else(|| crate::Error::not_found("webhook delivery", "due"))
}

fn answered(status: u16) -> crate::webhooks::WebhookOutcome {
    crate::webhooks::WebhookOutcome {
        at: Timestamp::now(),
        status: Some(status),
        error: None,
        duration_ms: 12,
    }
}

fn closed_all_week() -> crate::hours::HoursInput {
    crate::hours::HoursInput {
        enabled: true,
        auto_reply: Localized::new("We are closed"),
        ..Default::default()
    }
}

/// A change request of `minor` minor units.
fn change_request(minor: i64) -> crate::projects::NewChangeRequest {
    crate::projects::NewChangeRequest {
        title: "Tiles".into(),
        amount: Money::from_minor(minor),
        description: String::new(),
    }
}

/// A daily report on the kitchen's first stage with `photos` photos.
fn kitchen_report(fx: &Fx, photos: usize) -> crate::projects::NewReport {
    crate::projects::NewReport {
        stage: fx.kitchen_stage,
        text: "Walls down".into(),
        media: vec![picture().media; photos],
        voice: None,
    }
}

/// An expense of 10.00 on the kitchen's first stage, with a receipt.
fn kitchen_expense(fx: &Fx) -> crate::projects::NewEntry {
    crate::projects::NewEntry {
        kind: EntryKind::Expense,
        amount: Money::from_minor(1_000),
        category: EntryCategory::Materials,
        note: "tiles".into(),
        stage: Some(fx.kitchen_stage),
        proof: Some(picture().media),
        date: None,
    }
}

/// Calls that each use case refuses, many of them failing a check that comes late in it.
fn refused() -> Vec<(&'static str, Call)> {
    vec![
        // Tickets.
        (
            "create_order of a ticket without its required fault",
            call(|tx, fx| {
                let mut request = ticket(&fx.desk_customer, "SN-000777")?;
                request.custom_fields.remove("fault");
                tx.create_order(&fx.desk_customer, request).map(drop)
            }),
        ),
        (
            "create_order with a field in an organization without fields",
            call(|tx, fx| {
                tx.create_order(&fx.bob, ticket(&fx.bob, "SN-000777")?)
                    .map(drop)
            }),
        ),
        (
            "set_order_fields clearing the required fault",
            call(|tx, fx| {
                tx.set_order_fields(
                    &fx.desk_operator,
                    fx.ticket,
                    std::collections::BTreeMap::from([("fault".to_string(), None)]),
                )
                .map(drop)
            }),
        ),
        (
            "set_order_fields by the customer",
            call(|tx, fx| {
                tx.set_order_fields(
                    &fx.desk_customer,
                    fx.ticket,
                    std::collections::BTreeMap::from([(
                        "model".to_string(),
                        Some(FieldValue::Text("X".into())),
                    )]),
                )
                .map(drop)
            }),
        ),
        (
            "set_order_fields in an organization without fields",
            call(|tx, fx| {
                tx.set_order_fields(
                    &fx.manager,
                    fx.approved,
                    std::collections::BTreeMap::from([(
                        "model".to_string(),
                        Some(FieldValue::Text("X".into())),
                    )]),
                )
                .map(drop)
            }),
        ),
        (
            "clear_fraud_flag without a note",
            call(|tx, fx| {
                tx.clear_fraud_flag(&fx.desk_operator, fx.ticket, "field_format", " ")
                    .map(drop)
            }),
        ),
        (
            "clear_fraud_flag of a rule that did not fire",
            call(|tx, fx| {
                tx.clear_fraud_flag(&fx.desk_operator, fx.ticket, "blocklisted", "ok")
                    .map(drop)
            }),
        ),
        (
            "update_fraud_settings with a bad phone",
            call(|tx, fx| {
                tx.update_fraud_settings(
                    &fx.desk_admin,
                    crate::tickets::FraudSettingsUpdate {
                        rules: FraudSettings::helpdesk_default().rules,
                        blocked_phones: vec!["+7 916 000 00 00".into(), "nope".into()],
                        blocked_telegram_ids: vec!["12".into()],
                    },
                )
                .map(drop)
            }),
        ),
        (
            "update_fraud_settings by an operator",
            call(|tx, fx| {
                tx.update_fraud_settings(
                    &fx.desk_operator,
                    crate::tickets::FraudSettingsUpdate::default(),
                )
                .map(drop)
            }),
        ),
        // Orders.
        (
            "create_order over the open-order limit",
            call(|tx, fx| {
                tx.create_order(
                    &fx.ann,
                    NewOrder {
                        title: "Third".into(),
                        description: "one too many".into(),
                        ..NewOrder::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_order with a file nobody stored",
            call(|tx, fx| {
                tx.create_order(
                    &fx.manager,
                    NewOrder {
                        customer: Some(fx.bob_id),
                        title: "With a file".into(),
                        description: "missing".into(),
                        markers: vec![fx.marker],
                        attachments: vec![MediaHash([7; 32])],
                        ..NewOrder::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_order with a deadline in the past",
            call(|tx, fx| {
                tx.create_order(
                    &fx.bob,
                    NewOrder {
                        title: "Late".into(),
                        description: "yesterday".into(),
                        deadline: Some(Date::parse("deadline", "2001-01-01")?),
                        ..NewOrder::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "approve_order of an approved order",
            call(|tx, fx| tx.approve_order(&fx.manager, fx.approved).map(drop)),
        ),
        (
            "approve_order by a worker",
            call(|tx, fx| tx.approve_order(&fx.worker, fx.pending).map(drop)),
        ),
        (
            "reject_order without a reason",
            call(|tx, fx| tx.reject_order(&fx.manager, fx.pending, " ").map(drop)),
        ),
        (
            "move_order out of moderation to rejected",
            call(|tx, fx| {
                tx.move_order(&fx.manager, fx.pending, fx.stage_lost)
                    .map(drop)
            }),
        ),
        (
            "move_order along no transition",
            call(|tx, fx| {
                tx.move_order(&fx.manager, fx.approved, fx.stage_completed)
                    .map(drop)
            }),
        ),
        (
            "move_order by a worker who is not the assignee",
            call(|tx, fx| {
                tx.move_order(&fx.worker2, fx.approved, fx.stage_in_progress)
                    .map(drop)
            }),
        ),
        (
            "delete_order of an approved order",
            call(|tx, fx| tx.delete_order(&fx.bob, fx.approved).map(drop)),
        ),
        (
            "delete_order of another customer's order",
            call(|tx, fx| tx.delete_order(&fx.bob, fx.pending).map(drop)),
        ),
        (
            "place_bid a second time",
            call(|tx, fx| {
                tx.place_bid(&fx.worker, fx.approved, Money::from_minor(4_000), "again")
                    .map(drop)
            }),
        ),
        (
            "place_bid over the budget",
            call(|tx, fx| {
                tx.place_bid(&fx.worker2, fx.approved, Money::from_minor(20_000), "")
                    .map(drop)
            }),
        ),
        (
            "place_bid on an order in moderation",
            call(|tx, fx| {
                tx.place_bid(&fx.worker2, fx.pending, Money::from_minor(1_000), "")
                    .map(drop)
            }),
        ),
        (
            "assign_order to a bid that does not exist",
            call(|tx, fx| {
                tx.assign_order(&fx.manager, fx.approved, AssignTo::Bid(BidId(99)))
                    .map(drop)
            }),
        ),
        (
            "assign_order to a user who does not exist",
            call(|tx, fx| {
                tx.assign_order(&fx.manager, fx.approved, AssignTo::User(UserId(99)))
                    .map(drop)
            }),
        ),
        (
            "set_order_markers with an unknown marker",
            call(|tx, fx| {
                tx.set_order_markers(&fx.manager, fx.approved, vec![fx.marker, MarkerId(99)])
                    .map(drop)
            }),
        ),
        // Team.
        (
            "insert_user with a taken username",
            call(|tx, fx| {
                tx.insert_user(
                    &fx.admin,
                    NewUser {
                        username: "worker".into(),
                        display_name: "Another".into(),
                        password: Password::parse("correct horse battery")?,
                        roles: vec!["worker".into()],
                        must_change_password: false,
                    },
                    "$argon2id$not-checked".into(),
                )
                .map(drop)
            }),
        ),
        (
            "set_password_hash of someone else without manage_users",
            call(|tx, fx| {
                tx.set_password_hash(&fx.worker, fx.admin_id, "$x".into(), false)
                    .map(drop)
            }),
        ),
        (
            "reset_password_hash of one's own account",
            call(|tx, fx| {
                tx.reset_password_hash(&fx.admin, fx.admin_id, "$x".into())
                    .map(drop)
            }),
        ),
        (
            "disable_user of oneself",
            call(|tx, fx| tx.disable_user(&fx.admin, fx.admin_id).map(drop)),
        ),
        (
            "disable_user by a worker",
            call(|tx, fx| tx.disable_user(&fx.worker, fx.worker2_id).map(drop)),
        ),
        (
            "enable_user of nobody",
            call(|tx, fx| tx.enable_user(&fx.admin, UserId(99)).map(drop)),
        ),
        (
            "set_user_roles with an unknown role",
            call(|tx, fx| {
                tx.set_user_roles(
                    &fx.admin,
                    fx.worker_id,
                    vec!["worker".into(), "wizard".into()],
                )
                .map(drop)
            }),
        ),
        (
            "create_role with a taken name",
            call(|tx, fx| {
                tx.create_role(&fx.admin, "worker", PermissionSet::EMPTY)
                    .map(drop)
            }),
        ),
        (
            "create_role granting what the actor lacks",
            call(|tx, fx| {
                let mut permissions = PermissionSet::EMPTY;
                permissions.insert(Permission::ManageRoles);
                tx.create_role(&fx.manager, "helpers", permissions)
                    .map(drop)
            }),
        ),
        (
            "set_role_permissions of a built-in role",
            call(|tx, fx| {
                tx.set_role_permissions(&fx.admin, RoleId(1), PermissionSet::EMPTY)
                    .map(drop)
            }),
        ),
        (
            "create_marker with a taken name",
            call(|tx, fx| {
                tx.create_marker(&fx.admin, &Localized::new("rust"), "#000000")
                    .map(drop)
            }),
        ),
        (
            "create_marker with a bad colour",
            call(|tx, fx| {
                tx.create_marker(&fx.admin, &Localized::new("Zig"), "orange")
                    .map(drop)
            }),
        ),
        (
            "update_marker to another marker's name",
            call(|tx, fx| {
                tx.update_marker(
                    &fx.admin,
                    fx.other_marker,
                    &Localized::new("RUST"),
                    "#00add8",
                )
                .map(drop)
            }),
        ),
        (
            "delete_marker of nothing",
            call(|tx, fx| tx.delete_marker(&fx.admin, MarkerId(99)).map(drop)),
        ),
        (
            "set_user_markers with an unknown marker",
            call(|tx, fx| {
                tx.set_user_markers(&fx.admin, fx.worker_id, vec![fx.marker, MarkerId(99)])
                    .map(drop)
            }),
        ),
        (
            "set_user_marker_names with an unknown name",
            call(|tx, fx| {
                tx.set_user_marker_names(&fx.admin, fx.worker_id, &["Rust".into(), "Cobol".into()])
                    .map(drop)
            }),
        ),
        (
            "create_link_code for a customer",
            call(|tx, fx| tx.create_link_code(&fx.ann).map(drop)),
        ),
        (
            "redeem_link_code with an unknown code",
            call(|tx, fx| {
                tx.redeem_link_code(fx.org, "NOPE1234", TelegramUserId::new(5))
                    .map(drop)
            }),
        ),
        (
            "update_own_profile with a long name",
            call(|tx, fx| {
                tx.update_own_profile(
                    &fx.worker,
                    ProfileUpdate {
                        display_name: "x".repeat(1000),
                        language: Language::EN,
                    },
                )
                .map(drop)
            }),
        ),
        // Chat and customers.
        (
            "post_inbound without text or file",
            call(|tx, fx| {
                tx.post_inbound(
                    &fx.ann,
                    InboundMessage {
                        customer: fx.ann_id,
                        about: OrderChoice::Current,
                        text: " ".into(),
                        attachments: Vec::new(),
                        telegram_message_id: Some(2),
                        content: None,
                        reply_to_telegram: None,
                        media_group: None,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "post_outbound by a worker without chat_customers",
            call(|tx, fx| {
                tx.post_outbound(&fx.worker2, text(fx.bob_id, "hi"))
                    .map(drop)
            }),
        ),
        (
            "post_outbound over Telegram's length",
            call(|tx, fx| {
                tx.post_outbound(&fx.manager, text(fx.ann_id, &"a".repeat(5000)))
                    .map(drop)
            }),
        ),
        (
            "post_outbound_with_files refused after its files were checked",
            call(|tx, fx| {
                tx.post_outbound_with_files(&fx.worker2, text(fx.bob_id, "see"), vec![picture()])
                    .map(drop)
            }),
        ),
        (
            "mark_read by a worker",
            call(|tx, fx| tx.mark_read(&fx.worker2, fx.ann_id).map(drop)),
        ),
        (
            "delete_outbound of a customer's message",
            call(|tx, fx| {
                let theirs = ann_hello(tx, fx)?;
                tx.delete_outbound(&fx.manager, theirs).map(drop)
            }),
        ),
        (
            "edit_outbound by a worker without chat_customers",
            call(|tx, fx| {
                let theirs = ann_hello(tx, fx)?;
                tx.edit_outbound(&fx.worker2, theirs, "x").map(drop)
            }),
        ),
        (
            "edit_inbound by staff",
            call(|tx, fx| {
                tx.edit_inbound(
                    &fx.manager,
                    crate::chat::InboundEdit {
                        customer: fx.ann_id,
                        telegram_message_id: 1,
                        text: "hijacked".into(),
                        content: None,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "post_note by a customer",
            call(|tx, fx| tx.post_note(&fx.ann, note(fx.ann_id, "mine")).map(drop)),
        ),
        (
            "post_note by a worker without chat_customers",
            call(|tx, fx| tx.post_note(&fx.worker2, note(fx.bob_id, "hm")).map(drop)),
        ),
        (
            "post_note without text",
            call(|tx, fx| tx.post_note(&fx.manager, note(fx.bob_id, "  ")).map(drop)),
        ),
        (
            "insert_customer with a taken Telegram id",
            call(|tx, fx| {
                let customer = NewCustomer {
                    telegram_id: "1001".into(),
                    first_name: "Ann again".into(),
                    ..NewCustomer::default()
                }
                .validate()?;
                tx.insert_customer(&fx.manager, customer).map(drop)
            }),
        ),
        (
            "set_customer_language of another customer",
            call(|tx, fx| {
                tx.set_customer_language(&fx.bob, fx.ann_id, Language::RU)
                    .map(drop)
            }),
        ),
        (
            "upload_media without chat_customers",
            call(|tx, fx| tx.upload_media(&fx.worker2, &picture().media).map(drop)),
        ),
        // Billing and staffing.
        (
            "create_payment_method without a template",
            call(|tx, fx| tx.create_payment_method(&fx.admin, "Cash", "").map(drop)),
        ),
        (
            "set_payment_method_active of nothing",
            call(|tx, fx| {
                tx.set_payment_method_active(&fx.admin, PaymentMethodId(99), false)
                    .map(drop)
            }),
        ),
        (
            "send_payment_info before the work starts",
            call(|tx, fx| {
                tx.send_payment_info(&fx.manager, fx.approved, fx.method, Money::from_minor(100))
                    .map(drop)
            }),
        ),
        (
            "send_payment_info of nothing",
            call(|tx, fx| {
                tx.send_payment_info(&fx.manager, fx.in_progress, fx.method, Money::from_minor(0))
                    .map(drop)
            }),
        ),
        (
            "save_payment_details for an unknown method",
            call(|tx, fx| {
                tx.save_payment_details(&fx.manager, PaymentMethodId(99), "IBAN")
                    .map(drop)
            }),
        ),
        (
            "grant_order_access for too long",
            call(|tx, fx| {
                tx.grant_order_access(&fx.manager, fx.approved, fx.worker2_id, 100_000)
                    .map(drop)
            }),
        ),
        (
            "grant_order_access to oneself",
            call(|tx, fx| {
                tx.grant_order_access(&fx.manager, fx.approved, fx.manager_id, 24)
                    .map(drop)
            }),
        ),
        (
            "revoke_order_access by a worker",
            call(|tx, fx| {
                tx.revoke_order_access(&fx.worker2, fx.in_progress, fx.worker_id)
                    .map(drop)
            }),
        ),
        // Organization, tokens, sessions.
        (
            "update_settings with a bad currency",
            call(|tx, fx| {
                tx.update_settings(
                    &fx.admin,
                    SettingsUpdate {
                        name: Some("Renamed".into()),
                        currency: Some("dollars!".into()),
                        ..SettingsUpdate::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "update_settings by a worker",
            call(|tx, fx| {
                tx.update_settings(
                    &fx.worker,
                    SettingsUpdate {
                        name: Some("Mine".into()),
                        ..SettingsUpdate::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_tenant with a taken slug",
            call(|tx, _| {
                tx.create_tenant(tenant("acme", "owner"), "$argon2id$x".into())
                    .map(drop)
            }),
        ),
        (
            "create_tenant with a bad owner name",
            call(|tx, _| {
                tx.create_tenant(tenant("fresh", "x"), "$argon2id$x".into())
                    .map(drop)
            }),
        ),
        (
            "rename_organization to an empty name",
            call(|tx, _| tx.system().rename_organization("acme", " ").map(drop)),
        ),
        (
            "disable_organization of an unknown slug",
            call(|tx, _| tx.system().disable_organization("nowhere").map(drop)),
        ),
        (
            "enable_organization of an enabled one",
            call(|tx, _| tx.system().enable_organization("acme").map(drop)),
        ),
        (
            "set_bot_token with a malformed token",
            call(|tx, _| {
                tx.system()
                    .set_bot_token("acme", Some("not-a-token"))
                    .map(drop)
            }),
        ),
        (
            "set_bot_token held by another organization",
            call(|tx, _| tx.system().set_bot_token("acme", Some(BOT_TOKEN)).map(drop)),
        ),
        (
            "update_settings with a token held by another organization",
            call(|tx, fx| {
                tx.update_settings(
                    &fx.admin,
                    SettingsUpdate {
                        bot_token: Some(Some(BOT_TOKEN.into())),
                        ..SettingsUpdate::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "inbox_put to a disabled organization",
            call(|tx, fx| {
                tx.system()
                    .inbox_put(fx.closed, 77, "{\"update_id\":77}".into(), 100)
                    .map(drop)
            }),
        ),
        (
            "disable_organization of a disabled one",
            call(|tx, _| tx.system().disable_organization("closed").map(drop)),
        ),
        (
            "update_stage with a bad colour",
            call(|tx, fx| {
                tx.update_stage(
                    &fx.admin,
                    fx.stage_completed,
                    StageUpdate {
                        name: Localized::new("Done"),
                        color: "green".into(),
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_api_token with a long name",
            call(|tx, fx| {
                tx.create_api_token(
                    &fx.worker,
                    fx.worker_id,
                    &"n".repeat(100),
                    ApiTokenHash([1; 32]),
                )
                .map(drop)
            }),
        ),
        (
            "create_api_token for someone else",
            call(|tx, fx| {
                tx.create_api_token(&fx.worker, fx.worker2_id, "theirs", ApiTokenHash([2; 32]))
                    .map(drop)
            }),
        ),
        (
            "revoke_api_token of someone else",
            call(|tx, fx| tx.revoke_api_token(&fx.worker2, fx.token).map(drop)),
        ),
        (
            "revoke_session of nothing",
            call(|tx, fx| tx.revoke_session(&fx.admin, SessionHash([3; 32]))),
        ),
        // The bot's plumbing.
        (
            "finish_update of an unknown update",
            call(|tx, fx| tx.system().finish_update(fx.org, 777)),
        ),
        (
            "reply over Telegram's length",
            call(|tx, fx| {
                tx.system()
                    .reply(
                        fx.org,
                        ChatId::new(1001),
                        BotReply::Text {
                            text: "a".repeat(5000),
                            keyboard: None,
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "set_dialogue over its size",
            call(|tx, fx| {
                tx.system()
                    .set_dialogue(fx.org, ChatId::new(1001), Some(vec![0; 1 << 20]))
            }),
        ),
        (
            "outbox_delivered of nothing",
            call(|tx, fx| tx.system().outbox_delivered(fx.org, OutboxId(999), None)),
        ),
        (
            "upsert_telegram_customer in an organization that does not exist",
            call(|tx, _| {
                tx.system()
                    .upsert_telegram_customer(
                        OrgId(99),
                        TelegramProfile {
                            telegram_id: TelegramUserId::new(1003),
                            username: None,
                            first_name: "Cleo".into(),
                            last_name: None,
                            language_code: None,
                        },
                    )
                    .map(drop)
            }),
        ),
        // The operators module.
        (
            "create_department by a worker",
            call(|tx, fx| tx.create_department(&fx.worker, "Sales").map(drop)),
        ),
        (
            "create_department with a taken name",
            call(|tx, fx| tx.create_department(&fx.admin, "support").map(drop)),
        ),
        (
            "rename_department to nothing",
            call(|tx, fx| tx.rename_department(&fx.admin, fx.support, " ").map(drop)),
        ),
        (
            "add_department_member of an unknown user",
            call(|tx, fx| {
                tx.add_department_member(&fx.admin, fx.support, UserId(999))
                    .map(drop)
            }),
        ),
        (
            "set_department_archived by a worker",
            call(|tx, fx| {
                tx.set_department_archived(&fx.worker, fx.support, true)
                    .map(drop)
            }),
        ),
        (
            "set_operator_status of another by a worker",
            call(|tx, fx| {
                tx.set_operator_status(&fx.worker, fx.manager_id, OperatorStatus::Offline)
                    .map(drop)
            }),
        ),
        (
            "save_operator_settings over the longest idle time",
            call(|tx, fx| {
                tx.save_operator_settings(
                    &fx.admin,
                    OperatorSettings {
                        idle_away_minutes: crate::operators::MAX_MINUTES + 1,
                        ..OperatorSettings::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "choose_department by staff",
            call(|tx, fx| {
                tx.choose_department(&fx.manager, fx.ann_id, fx.support)
                    .map(drop)
            }),
        ),
        (
            "reassign_conversation without one",
            call(|tx, fx| {
                tx.reassign_conversation(&fx.manager, fx.bob_id, None)
                    .map(drop)
            }),
        ),
        (
            "close_conversation without one",
            call(|tx, fx| tx.close_conversation(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "reopen_conversation without one",
            call(|tx, fx| tx.reopen_conversation(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "snooze_chat for no time",
            call(|tx, fx| tx.snooze_chat(&fx.manager, fx.bob_id, 0).map(drop)),
        ),
        (
            "snooze_chat for longer than the limit",
            call(|tx, fx| {
                tx.snooze_chat(&fx.manager, fx.bob_id, crate::inbox::SNOOZE_MAX_MINUTES + 1)
                    .map(drop)
            }),
        ),
        (
            "reopen_chat of an open conversation",
            call(|tx, fx| tx.reopen_chat(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "close_chat by a customer",
            call(|tx, fx| tx.close_chat(&fx.bob, fx.bob_id).map(drop)),
        ),
        (
            "update_job_settings by a worker",
            call(|tx, fx| {
                tx.update_job_settings(
                    &fx.worker,
                    crate::jobs::JobSettingsUpdate {
                        audit_retention_days: Some(30),
                        ..Default::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "update_job_settings with a retention of six days",
            call(|tx, fx| {
                tx.update_job_settings(
                    &fx.admin,
                    crate::jobs::JobSettingsUpdate {
                        audit_retention_days: Some(6),
                        ..Default::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "update_job_settings switching off a job that does not exist",
            call(|tx, fx| {
                tx.update_job_settings(
                    &fx.admin,
                    crate::jobs::JobSettingsUpdate {
                        audit_retention_days: Some(30),
                        archive_after_days: Some(10),
                        enabled: vec![("nightly_party".into(), false)],
                        ..Default::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "claim_job of a slot not yet due",
            call(|tx, fx| {
                tx.claim_job(fx.org, crate::jobs::job("daily_report")?, 1, false)
                    .map(drop)
            }),
        ),
        (
            "finish_job without a claim",
            call(|tx, fx| {
                let claim = crate::jobs::Claim {
                    org: fx.org,
                    job: "audit_cleanup",
                    slot: Timestamp::from_millis(0),
                    manual: true,
                    resumed: false,
                };
                tx.finish_job(&claim, 1, true, "done").map(drop)
            }),
        ),
        (
            "record_zadarma_notification with a wrong signature",
            call(|tx, fx| {
                // The signature covers caller_id, called_did and call_start only (Zadarma's
                // documentation): another caller's signature does not fit.
                let (notification, _) = zadarma("wrong", CallEvent::Start, "in_9", "79160000009");
                let (_, signature) =
                    zadarma(ZADARMA_SECRET, CallEvent::Start, "in_9", "79160000008");
                tx.record_zadarma_notification(fx.org, &notification, Some(&signature))
                    .map(drop)
            }),
        ),
        (
            "record_zadarma_notification of a caller without a phone number",
            call(|tx, fx| {
                let (notification, signature) =
                    zadarma(ZADARMA_SECRET, CallEvent::Start, "in_7", "anonymous");
                tx.record_zadarma_notification(fx.org, &notification, Some(&signature))
                    .map(drop)
            }),
        ),
        (
            "set_zadarma_secret by a manager",
            call(|tx, fx| tx.set_zadarma_secret(&fx.manager, "another-secret")),
        ),
        (
            "set_zadarma_secret too short",
            call(|tx, fx| tx.set_zadarma_secret(&fx.admin, "short")),
        ),
        (
            "map_call_extension to a user who does not exist",
            call(|tx, fx| tx.map_call_extension(&fx.admin, "100", Some(UserId(999)))),
        ),
        (
            "map_call_extension of a non-number",
            call(|tx, fx| tx.map_call_extension(&fx.admin, "1a", Some(fx.worker_id))),
        ),
        (
            "create_canned with an unknown variable",
            call(|tx, fx| {
                tx.create_canned(
                    &fx.admin,
                    canned("bye", "Bye {customer.age}"),
                    vec![picture()],
                )
                .map(drop)
            }),
        ),
        (
            "create_canned with an unbalanced brace",
            call(|tx, fx| {
                tx.create_canned(&fx.admin, canned("bye", "Bye {customer.name"), Vec::new())
                    .map(drop)
            }),
        ),
        (
            "create_canned by a worker",
            call(|tx, fx| {
                tx.create_canned(&fx.worker, canned("bye", "Bye"), Vec::new())
                    .map(drop)
            }),
        ),
        (
            "delete_canned of an unknown response",
            call(|tx, fx| tx.delete_canned(&fx.admin, CannedId(999))),
        ),
        (
            "set_business_hours with a bad interval",
            call(|tx, fx| {
                tx.set_business_hours(
                    &fx.admin,
                    crate::hours::HoursInput {
                        enabled: true,
                        week: vec!["09:00-18:00".into(), "18:00-09:00".into()],
                        ..Default::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "set_business_hours by a worker",
            call(|tx, fx| {
                tx.set_business_hours(&fx.worker, closed_all_week())
                    .map(drop)
            }),
        ),
        // Staff working from Telegram (issue 12).
        (
            "create_staff_group_code by a worker",
            call(|tx, fx| tx.create_staff_group_code(&fx.worker).map(drop)),
        ),
        (
            "set_staff_group_enabled with no group linked",
            call(|tx, fx| tx.set_staff_group_enabled(&fx.admin, true).map(drop)),
        ),
        (
            "link_staff_group with an unknown code",
            call(|tx, fx| {
                tx.system()
                    .link_staff_group(fx.org, "NOPE2345", ChatId(-1_001_234), "Team", true)
                    .map(drop)
            }),
        ),
        (
            "reply_to_notice of a message that is no notice",
            call(|tx, fx| {
                tx.reply_to_notice(&fx.manager, ChatId(7), 99, "hi".into(), Vec::new())
                    .map(drop)
            }),
        ),
        (
            "post_in_topic without a staff group",
            call(|tx, fx| {
                tx.post_in_topic(&fx.manager, ChatId(-1_001_234), 5, "hi".into(), Vec::new())
                    .map(drop)
            }),
        ),
        (
            "create_organization with a taken slug",
            call(|tx, _| {
                super::org::create_org_in(
                    tx,
                    crate::templates::template("studio")?,
                    "Again",
                    "acme",
                )
                .map(drop)
            }),
        ),
        (
            "merge_customers of a customer with itself",
            call(|tx, fx| {
                tx.merge_customers(&fx.manager, fx.ann_id, fx.ann_id)
                    .map(drop)
            }),
        ),
        (
            "merge_customers of two Telegram accounts",
            call(|tx, fx| {
                tx.merge_customers(&fx.manager, fx.ann_id, fx.bob_id)
                    .map(drop)
            }),
        ),
        (
            "merge_customers by a customer",
            call(|tx, fx| tx.merge_customers(&fx.ann, fx.ann_id, fx.bob_id).map(drop)),
        ),
        (
            "rate_order without a survey",
            call(|tx, fx| tx.rate_order(&fx.ann, fx.in_progress, 4).map(drop)),
        ),
        (
            "comment_rating without a survey",
            call(|tx, fx| tx.comment_rating(&fx.ann, fx.in_progress, "fine").map(drop)),
        ),
        (
            "update_csat_settings by a worker",
            call(|tx, fx| {
                tx.update_csat_settings(&fx.worker, CsatSettings::default())
                    .map(drop)
            }),
        ),
        (
            "place_token_order without the balance",
            call(|tx, fx| dora_orders(tx, fx).map(drop)),
        ),
        (
            "adjust_tokens without a reason",
            call(|tx, fx| tx.adjust_tokens(&fx.admin, fx.dora_id, 10, " ").map(drop)),
        ),
        (
            "adjust_tokens below zero",
            call(|tx, fx| {
                tx.adjust_tokens(&fx.admin, fx.dora_id, -10, "fee")
                    .map(drop)
            }),
        ),
        (
            "adjust_tokens by a worker",
            call(|tx, fx| {
                tx.adjust_tokens(&fx.worker, fx.dora_id, 10, "gift")
                    .map(drop)
            }),
        ),
        (
            "save_package with the subscriber price above the price",
            call(|tx, fx| {
                tx.save_package(&fx.admin, None, token_package("dear", 10, 20))
                    .map(drop)
            }),
        ),
        (
            "update_token_settings with a reminder after the end",
            call(|tx, fx| {
                let settings = TokenSettings {
                    reminder_days: 40,
                    ..TokenSettings::default()
                };
                tx.update_token_settings(&fx.admin, settings).map(drop)
            }),
        ),
        (
            "buy_subscription without the balance",
            call(|tx, fx| tx.buy_subscription(&fx.dora).map(drop)),
        ),
        (
            "grant_subscription of 0 days",
            call(|tx, fx| tx.grant_subscription(&fx.admin, fx.dora_id, 0).map(drop)),
        ),
        (
            "rerun_order of an order without a token side",
            call(|tx, fx| tx.rerun_order(&fx.manager, fx.approved).map(drop)),
        ),
        (
            "schedule_message by a worker",
            call(|tx, fx| {
                let send_at = tx.now().plus_millis(600_000);
                tx.schedule_message(&fx.worker, later(fx.ann_id, send_at))
                    .map(drop)
            }),
        ),
        (
            "schedule_message in the past",
            call(|tx, fx| {
                let send_at = tx.now().plus_millis(-1);
                tx.schedule_message(&fx.manager, later(fx.ann_id, send_at))
                    .map(drop)
            }),
        ),
        (
            "cancel_scheduled of an unknown message",
            call(|tx, fx| tx.cancel_scheduled(&fx.manager, 999).map(drop)),
        ),
        (
            "move_in_queue of an order without a token side",
            call(|tx, fx| tx.move_in_queue(&fx.manager, fx.approved, None).map(drop)),
        ),
        (
            "create_webhook with a relative URL",
            call(|tx, fx| {
                tx.create_webhook(&fx.admin, hook("/hooks", &["order.created"]))
                    .map(drop)
            }),
        ),
        (
            "create_webhook without events",
            call(|tx, fx| {
                tx.create_webhook(&fx.admin, hook("https://erp.example/hooks", &[]))
                    .map(drop)
            }),
        ),
        (
            "create_webhook with an unknown event",
            call(|tx, fx| {
                tx.create_webhook(
                    &fx.admin,
                    hook("https://erp.example/hooks", &["order.eaten"]),
                )
                .map(drop)
            }),
        ),
        (
            "create_webhook by a worker",
            call(|tx, fx| {
                tx.create_webhook(
                    &fx.worker,
                    hook("https://erp.example/hooks", &["order.created"]),
                )
                .map(drop)
            }),
        ),
        (
            "update_webhook of an unknown endpoint",
            call(|tx, fx| {
                tx.update_webhook(
                    &fx.admin,
                    WebhookEndpointId(999),
                    hook("https://erp.example/hooks", &["order.created"]),
                )
                .map(drop)
            }),
        ),
        (
            "delete_webhook of an unknown endpoint",
            call(|tx, fx| tx.delete_webhook(&fx.admin, WebhookEndpointId(999))),
        ),
        (
            "rotate_webhook_secret of an unknown endpoint",
            call(|tx, fx| {
                tx.rotate_webhook_secret(&fx.admin, WebhookEndpointId(999))
                    .map(drop)
            }),
        ),
        (
            "create_broadcast with 3,901 characters",
            call(|tx, fx| {
                tx.create_broadcast(&fx.manager, news(&"a".repeat(3_901)))
                    .map(drop)
            }),
        ),
        (
            "create_broadcast by a worker",
            call(|tx, fx| tx.create_broadcast(&fx.worker, news("Hi")).map(drop)),
        ),
        (
            "start_broadcast of an unknown broadcast",
            call(|tx, fx| {
                tx.start_broadcast(&fx.manager, crate::model::BroadcastId::new(999))
                    .map(drop)
            }),
        ),
        (
            "test_broadcast of an unknown broadcast",
            call(|tx, fx| {
                tx.test_broadcast(&fx.manager, crate::model::BroadcastId::new(999))
                    .map(drop)
            }),
        ),
        (
            "test_webhook of an unknown endpoint",
            call(|tx, fx| tx.test_webhook(&fx.admin, WebhookEndpointId(999)).map(drop)),
        ),
        (
            "redeliver_webhook of an unknown delivery",
            call(|tx, fx| {
                tx.redeliver_webhook(&fx.admin, WebhookDeliveryId(999))
                    .map(drop)
            }),
        ),
        (
            "webhook_attempted of an unknown delivery",
            call(|tx, fx| {
                tx.webhook_attempted(fx.org, WebhookDeliveryId(999), answered(200))
                    .map(drop)
            }),
        ),
        // Leads (the projects module).
        (
            "post_lead_message by staff",
            call(|tx, fx| {
                tx.post_lead_message(&fx.reno_manager, to_the_bot(fx.oleg_id, "hi"))
                    .map(drop)
            }),
        ),
        (
            "post_lead_message where the projects module is off",
            call(|tx, fx| match fx.desk_customer.who {
                ActorRef::Customer(customer) => tx
                    .post_lead_message(&fx.desk_customer, to_the_bot(customer, "hi"))
                    .map(drop),
                _ => unreachable!("the helpdesk's customer is a customer"),
            }),
        ),
        (
            "post_lead_message without text or a file",
            call(|tx, fx| {
                tx.post_lead_message(&fx.oleg, to_the_bot(fx.oleg_id, "  "))
                    .map(drop)
            }),
        ),
        (
            "stop_lead_ai by the lead's customer",
            call(|tx, fx| tx.stop_lead_ai(&fx.oleg, fx.oleg_lead).map(drop)),
        ),
        (
            "resume_lead_ai while the AI works the lead",
            call(|tx, fx| tx.resume_lead_ai(&fx.reno_manager, fx.oleg_lead).map(drop)),
        ),
        (
            "set_ai_settings with a user in the base URL",
            call(|tx, fx| {
                let mut input = ai_on(None, "");
                input.base_url = "https://user:secret@ai.example/v1".into();
                tx.set_ai_settings(&fx.reno_admin, input).map(drop)
            }),
        ),
        (
            "set_ai_settings where the projects module is off",
            call(|tx, fx| {
                tx.set_ai_settings(&fx.desk_admin, ai_on(None, ""))
                    .map(drop)
            }),
        ),
        (
            "start_form of the fixed qualification questions",
            call(|tx, fx| tx.start_form(&fx.vera, FormName::Qualification).map(drop)),
        ),
        // Forms and profiles (the tokens module).
        (
            "form_input skipping a required field",
            call(|tx, fx| {
                tx.form_input(
                    &fx.ann,
                    FormName::Registration,
                    crate::forms::FormInput::Skip,
                )
                .map(drop)
            }),
        ),
        (
            "form_input confirming before the review",
            call(|tx, fx| {
                tx.form_input(
                    &fx.ann,
                    FormName::Registration,
                    crate::forms::FormInput::Confirm,
                )
                .map(drop)
            }),
        ),
        (
            "form_input without a walk under way",
            call(|tx, fx| {
                let input = crate::forms::FormInput::Answer("Bob".into());
                tx.form_input(&fx.bob, FormName::Registration, input)
                    .map(drop)
            }),
        ),
        (
            "start_form by staff",
            call(|tx, fx| tx.start_form(&fx.admin, FormName::Registration).map(drop)),
        ),
        (
            "start_form in an organization without the tokens module",
            call(|tx, fx| {
                tx.start_form(&fx.desk_customer, FormName::Registration)
                    .map(drop)
            }),
        ),
        (
            "create_profile with a bad ZIP code",
            call(|tx, fx| {
                let mut answers = profile_answers("Mary");
                answers.insert("postal_code".into(), "1234".into());
                tx.create_profile(&fx.admin, fx.ann_id, answers).map(drop)
            }),
        ),
        (
            "create_profile by a worker",
            call(|tx, fx| {
                tx.create_profile(&fx.worker, fx.ann_id, profile_answers("Mary"))
                    .map(drop)
            }),
        ),
        (
            "update_profile of an unknown profile",
            call(|tx, fx| {
                tx.update_profile(&fx.admin, ProfileId::new(999), profile_answers("Mary"))
                    .map(drop)
            }),
        ),
        (
            "set_registration_form by a worker",
            call(|tx, fx| {
                let form = crate::templates::template("service")?.registration;
                tx.set_registration_form(&fx.worker, form).map(drop)
            }),
        ),
        (
            "request_invoice before a merchant key is saved",
            call(|tx, fx| {
                tx.request_invoice(&fx.dora, fx.dora_id, 100, PaymentProvider::OxaPay)
                    .map(drop)
            }),
        ),
        (
            "request_invoice of an amount not offered",
            call(|tx, fx| {
                tx.request_invoice(&fx.dora, fx.dora_id, 101, PaymentProvider::OxaPay)
                    .map(drop)
            }),
        ),
        (
            "request_invoice by staff of 0 tokens",
            call(|tx, fx| {
                tx.request_invoice(&fx.admin, fx.dora_id, 0, PaymentProvider::OxaPay)
                    .map(drop)
            }),
        ),
        (
            "save_payment_settings with a lifetime OxaPay refuses",
            call(|tx, fx| {
                let mut input = payment_settings(None);
                input.invoice_lifetime_minutes = 2881;
                tx.save_payment_settings(&fx.admin, input).map(drop)
            }),
        ),
        (
            "record_oxapay_callback without a merchant key to check it",
            call(|tx, fx| {
                let body = br#"{"track_id":"T-1","status":"Paid"}"#;
                let signature = crate::payments::oxapay_signature("another key", body);
                tx.system()
                    .record_oxapay_callback(fx.org, body, Some(&signature))
                    .map(drop)
            }),
        ),
        (
            "record_oxapay of an unknown track id",
            call(|tx, fx| tx.system().record_oxapay(fx.org, "NOPE", "paid").map(drop)),
        ),
        (
            "pre_checkout of an unknown invoice",
            call(|tx, fx| tx.pre_checkout(&fx.dora, "999", 1, "XTR")),
        ),
        (
            "stars_paid of an unknown invoice",
            call(|tx, fx| tx.stars_paid(&fx.dora, "999", "charge", 1).map(drop)),
        ),
        (
            "refund_stars of an unknown invoice",
            call(|tx, fx| tx.refund_stars(&fx.admin, 999).map(drop)),
        ),
        (
            "oxapay_invoice_created of an unknown invoice",
            call(|tx, fx| {
                tx.system()
                    .oxapay_invoice_created(fx.org, 999, "T-9", "https://pay.example/T-9")
                    .map(drop)
            }),
        ),
        // Projects (issue 14).
        (
            "create_project by a worker",
            call(|tx, fx| {
                tx.create_project(
                    &fx.worker,
                    crate::projects::NewProject {
                        client: fx.ann_id,
                        title: "Bath".into(),
                        ..crate::projects::NewProject::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_project from an order that is not won",
            call(|tx, fx| {
                tx.create_project(
                    &fx.manager,
                    crate::projects::NewProject {
                        client: fx.ann_id,
                        lead: Some(fx.in_progress),
                        title: "Bath".into(),
                        stages: vec!["One".into()],
                        ..crate::projects::NewProject::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_project from a won lead of another customer",
            call(|tx, fx| {
                tx.create_project(
                    &fx.manager,
                    crate::projects::NewProject {
                        client: fx.ann_id,
                        lead: Some(fx.won),
                        title: "Bath".into(),
                        ..crate::projects::NewProject::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "add_daily_report with a PDF among its photos",
            call(|tx, fx| {
                let mut report = kitchen_report(fx, 2);
                report
                    .media
                    .push(NewMedia::parse(b"%PDF".to_vec(), "application/pdf")?);
                tx.add_daily_report(&fx.worker, fx.kitchen, report)
                    .map(drop)
            }),
        ),
        (
            "add_daily_report by a worker not on the project",
            call(|tx, fx| {
                tx.add_daily_report(&fx.worker2, fx.kitchen, kitchen_report(fx, 1))
                    .map(drop)
            }),
        ),
        (
            "add_project_document by the client",
            call(|tx, fx| {
                tx.add_project_document(
                    &fx.ann,
                    fx.kitchen,
                    crate::projects::NewDocument {
                        title: "Contract".into(),
                        file_name: "contract.pdf".into(),
                        file: NewMedia::parse(b"%PDF".to_vec(), "application/pdf")?,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "add_project_document of a ZIP archive",
            call(|tx, fx| {
                tx.add_project_document(
                    &fx.manager,
                    fx.kitchen,
                    crate::projects::NewDocument {
                        title: "Photos".into(),
                        file_name: "photos.zip".into(),
                        file: NewMedia::parse(b"PK\x03\x04".to_vec(), "application/zip")?,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "add_project_entry dated after today",
            call(|tx, fx| {
                let tomorrow = Date::of(tx.now()).next().next();
                tx.add_project_entry(
                    &fx.worker,
                    fx.kitchen,
                    crate::projects::NewEntry {
                        date: Some(tomorrow),
                        ..kitchen_expense(fx)
                    },
                )
                .map(drop)
            }),
        ),
        (
            "add_estimate_line by the client",
            call(|tx, fx| {
                tx.add_estimate_line(
                    &fx.ann,
                    fx.kitchen,
                    crate::projects::NewEstimateLine {
                        stage: fx.kitchen_stage,
                        title: "Tiles".into(),
                        planned: Money::from_minor(100),
                    },
                )
                .map(drop)
            }),
        ),
        (
            "decide_change_request taking the budget below zero",
            call(|tx, fx| {
                tx.decide_change_request(
                    &fx.ann,
                    fx.kitchen,
                    fx.too_deep,
                    crate::projects::Decision::Approve,
                )
                .map(drop)
            }),
        ),
        (
            "set_project_workers naming an unknown user",
            call(|tx, fx| {
                tx.set_project_workers(&fx.manager, fx.kitchen, vec![fx.worker_id, UserId(999)])
                    .map(drop)
            }),
        ),
        (
            "set_project_state from active to archived",
            call(|tx, fx| {
                tx.set_project_state(&fx.manager, fx.kitchen, ProjectState::Archived)
                    .map(drop)
            }),
        ),
    ]
}

/// A bot token of the shape BotFather issues.
const BOT_TOKEN: &str = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";

/// An organization from the studio template with its owner.
fn tenant(slug: &str, owner: &str) -> crate::tenants::NewTenant {
    crate::tenants::NewTenant {
        template: "studio".into(),
        name: format!("Org {slug}"),
        slug: Some(slug.into()),
        owner: owner.into(),
        owner_password: Password::parse("correct horse battery").unwrap(),
    }
}

/// A profile's required answers, as staff type them.
fn profile_answers(first: &str) -> crate::profiles::ProfileAnswers {
    [
        ("first_name", first),
        ("last_name", "Smith"),
        ("phone", "+1 212 555 0100"),
        ("email", "mary@example.com"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect()
}

/// The first profile of Ann's.
fn anns_profile(tx: &Tx<'_>, fx: &Fx) -> Result<ProfileId> {
    crate::profiles::profiles_in(tx, &fx.admin, fx.ann_id)?
        .first()
        .map(|profile| profile.id)
        .ok_or_else(|| crate::Error::not_found("profile", "of Ann"))
}

#[test]
fn a_use_case_that_returns_a_business_error_has_written_nothing() {
    let (_dir, crm, fx) = fixture();
    let done = run(&crm, &fx, refused());
    let mut wrong = Vec::new();
    for call in &done {
        match &call.error {
            None => wrong.push(format!("{}: succeeded", call.name)),
            Some((ErrorKind::Storage, message)) => {
                wrong.push(format!("{}: storage error {message}", call.name));
            }
            Some((_, message)) if !call.changed.is_empty() => wrong.push(format!(
                "{}: refused ({message}) after writing to {:?}",
                call.name, call.changed
            )),
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

/// What a successful call must have written in its transaction besides its records.
struct Writes {
    audit: bool,
    outbox: bool,
}

const AUDITED: Writes = Writes {
    audit: true,
    outbox: false,
};
const NOTIFIES: Writes = Writes {
    audit: true,
    outbox: true,
};
/// The bot's and the outbox's own bookkeeping: the update or the delivery is the record.
const BOOKKEEPING: Writes = Writes {
    audit: false,
    outbox: false,
};

/// Calls that succeed and change something, one or more per use case, with what they must
/// write besides their records.
fn accepted() -> Vec<(&'static str, Writes, Call)> {
    vec![
        (
            "create_order of a ticket with fields (a fraud flag)",
            AUDITED,
            call(|tx, fx| {
                tx.create_order(&fx.desk_customer, ticket(&fx.desk_customer, "??")?)
                    .map(drop)
            }),
        ),
        (
            "clear_fraud_flag",
            AUDITED,
            call(|tx, fx| {
                tx.clear_fraud_flag(&fx.desk_operator, fx.ticket, "field_format", "relabelled")
                    .map(drop)
            }),
        ),
        (
            "set_order_fields",
            AUDITED,
            call(|tx, fx| {
                tx.set_order_fields(
                    &fx.desk_operator,
                    fx.ticket,
                    std::collections::BTreeMap::from([(
                        "serial".to_string(),
                        Some(FieldValue::Text("SN-000001".into())),
                    )]),
                )
                .map(drop)
            }),
        ),
        (
            "update_fraud_settings",
            AUDITED,
            call(|tx, fx| {
                tx.update_fraud_settings(
                    &fx.desk_admin,
                    crate::tickets::FraudSettingsUpdate {
                        rules: FraudSettings::helpdesk_default().rules,
                        blocked_phones: vec!["+7 916 000 00 00".into()],
                        blocked_telegram_ids: vec!["12".into()],
                    },
                )
                .map(drop)
            }),
        ),
        (
            "assign_order of a ticket to a master (the ticket notification)",
            NOTIFIES,
            call(|tx, fx| {
                tx.assign_order(
                    &fx.desk_operator,
                    fx.ticket,
                    AssignTo::User(fx.desk_master_id),
                )
                .map(drop)
            }),
        ),
        (
            "create_order",
            AUDITED,
            call(|tx, fx| {
                tx.create_order(
                    &fx.bob,
                    NewOrder {
                        title: "Second".into(),
                        description: "for Bob".into(),
                        ..NewOrder::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "reject_order",
            NOTIFIES,
            call(|tx, fx| {
                tx.reject_order(&fx.manager, fx.pending, "out of scope")
                    .map(drop)
            }),
        ),
        (
            "delete_order",
            AUDITED,
            call(|tx, fx| tx.delete_order(&fx.ann, fx.pending).map(drop)),
        ),
        (
            "place_bid",
            AUDITED,
            call(|tx, fx| {
                tx.place_bid(&fx.worker2, fx.approved, Money::from_minor(6_000), "me too")
                    .map(drop)
            }),
        ),
        (
            "set_order_markers",
            AUDITED,
            call(|tx, fx| {
                tx.set_order_markers(&fx.manager, fx.approved, vec![fx.marker])
                    .map(drop)
            }),
        ),
        (
            "assign_order",
            AUDITED,
            call(|tx, fx| {
                tx.assign_order(&fx.manager, fx.approved, AssignTo::Bid(fx.bid))
                    .map(drop)
            }),
        ),
        (
            "move_order",
            NOTIFIES,
            call(|tx, fx| {
                tx.move_order(&fx.worker, fx.approved, fx.stage_in_progress)
                    .map(drop)
            }),
        ),
        (
            "approve_order",
            NOTIFIES,
            call(|tx, fx| {
                let id = tx
                    .create_order(
                        &fx.ann,
                        NewOrder {
                            title: "Replacement".into(),
                            description: "after the deletion".into(),
                            ..NewOrder::default()
                        },
                    )?
                    .id;
                tx.approve_order(&fx.manager, id).map(drop)
            }),
        ),
        (
            "insert_user",
            AUDITED,
            call(|tx, fx| {
                tx.insert_user(
                    &fx.admin,
                    NewUser {
                        username: "newcomer".into(),
                        display_name: "Newcomer".into(),
                        password: Password::parse("correct horse battery")?,
                        roles: vec!["worker".into()],
                        must_change_password: true,
                    },
                    "$argon2id$not-checked".into(),
                )
                .map(drop)
            }),
        ),
        (
            "set_user_roles",
            AUDITED,
            call(|tx, fx| {
                tx.set_user_roles(&fx.admin, fx.worker2_id, vec!["manager".into()])
                    .map(drop)
            }),
        ),
        (
            "set_user_phone",
            AUDITED,
            call(|tx, fx| {
                tx.set_user_phone(&fx.admin, fx.worker_id, Some("+79161234567"))
                    .map(drop)
            }),
        ),
        (
            "create_role",
            AUDITED,
            call(|tx, fx| {
                tx.create_role(&fx.admin, "helpers", PermissionSet::EMPTY)
                    .map(drop)
            }),
        ),
        (
            "create_marker",
            AUDITED,
            call(|tx, fx| {
                tx.create_marker(&fx.admin, &Localized::new("Zig"), "#f7a41d")
                    .map(drop)
            }),
        ),
        (
            "update_marker",
            AUDITED,
            call(|tx, fx| {
                tx.update_marker(
                    &fx.admin,
                    fx.other_marker,
                    &Localized::new("Golang"),
                    "#00add8",
                )
                .map(drop)
            }),
        ),
        (
            "set_user_markers",
            AUDITED,
            call(|tx, fx| {
                tx.set_user_markers(&fx.admin, fx.worker_id, vec![fx.marker])
                    .map(drop)
            }),
        ),
        (
            "delete_marker",
            AUDITED,
            call(|tx, fx| tx.delete_marker(&fx.admin, fx.other_marker).map(drop)),
        ),
        (
            "create_link_code",
            AUDITED,
            call(|tx, fx| tx.create_link_code(&fx.worker).map(drop)),
        ),
        (
            "update_own_profile",
            AUDITED,
            call(|tx, fx| {
                tx.update_own_profile(
                    &fx.worker,
                    ProfileUpdate {
                        display_name: "The worker".into(),
                        language: Language::RU,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "post_inbound",
            AUDITED,
            call(|tx, fx| {
                tx.post_inbound(
                    &fx.bob,
                    InboundMessage {
                        customer: fx.bob_id,
                        about: OrderChoice::Current,
                        text: "any news?".into(),
                        attachments: Vec::new(),
                        telegram_message_id: Some(3),
                        content: None,
                        reply_to_telegram: None,
                        media_group: None,
                    },
                )
                .map(drop)
            }),
        ),
        // Before the reply below, which reads Bob's conversation too.
        (
            "mark_read",
            AUDITED,
            call(|tx, fx| tx.mark_read(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "post_outbound",
            NOTIFIES,
            call(|tx, fx| {
                tx.post_outbound(&fx.manager, text(fx.bob_id, "soon"))
                    .map(drop)
            }),
        ),
        (
            "outbox_delivered_parts of a message sent as several (its parts recorded)",
            BOOKKEEPING,
            call(|tx, fx| {
                let sent = super::telegram::outbox_items_in(&*tx, fx.org)?
                    .into_iter()
                    .rev()
                    .find(|item| {
                        matches!(item.payload, OutboxPayload::ChatMessage(_))
                            && item.state == OutboxState::Pending
                    })
                    .ok_or_else(|| crate::Error::not_found("chat message", 0))?;
                tx.outbox_delivered_parts(fx.org, sent.id, vec![81, 82])
            }),
        ),
        (
            "edit_inbound",
            AUDITED,
            call(|tx, fx| {
                tx.edit_inbound(
                    &fx.bob,
                    crate::chat::InboundEdit {
                        customer: fx.bob_id,
                        telegram_message_id: 3,
                        text: "any news??".into(),
                        content: None,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "edit_outbound",
            NOTIFIES,
            call(|tx, fx| {
                let message = tx.post_outbound(&fx.manager, text(fx.bob_id, "price 10"))?;
                tx.mark_message_sent(fx.org, message.id, 900)?;
                tx.edit_outbound(&fx.manager, message.id, "price 12")
                    .map(drop)
            }),
        ),
        (
            "delete_outbound",
            NOTIFIES,
            call(|tx, fx| {
                let message = tx.post_outbound(&fx.manager, text(fx.bob_id, "oops"))?;
                tx.mark_message_sent(fx.org, message.id, 901)?;
                tx.delete_outbound(&fx.manager, message.id).map(drop)
            }),
        ),
        (
            "take_contact_phone",
            AUDITED,
            call(|tx, fx| {
                let contact = tx.post_inbound(
                    &fx.bob,
                    InboundMessage {
                        customer: fx.bob_id,
                        about: OrderChoice::None,
                        text: String::new(),
                        attachments: Vec::new(),
                        telegram_message_id: Some(4),
                        content: Some(MessageContent::Contact {
                            phone: "+49 30 1234567".into(),
                            first_name: "Bob".into(),
                            last_name: None,
                        }),
                        reply_to_telegram: None,
                        media_group: None,
                    },
                )?;
                tx.take_contact_phone(&fx.manager, contact.id).map(drop)
            }),
        ),
        (
            "post_note",
            AUDITED,
            call(|tx, fx| {
                tx.post_note(&fx.manager, note(fx.bob_id, "prefers calls"))
                    .map(drop)
            }),
        ),
        (
            "post_outbound_with_files",
            NOTIFIES,
            call(|tx, fx| {
                tx.post_outbound_with_files(&fx.manager, text(fx.ann_id, "look"), vec![picture()])
                    .map(drop)
            }),
        ),
        (
            "insert_customer",
            AUDITED,
            call(|tx, fx| {
                let customer = NewCustomer {
                    telegram_id: "1009".into(),
                    first_name: "Cleo".into(),
                    ..NewCustomer::default()
                }
                .validate()?;
                tx.insert_customer(&fx.manager, customer).map(drop)
            }),
        ),
        (
            "set_customer_language",
            AUDITED,
            call(|tx, fx| {
                tx.set_customer_language(&fx.ann, fx.ann_id, Language::RU)
                    .map(drop)
            }),
        ),
        (
            "upload_media",
            AUDITED,
            call(|tx, fx| {
                let file = NewMedia::parse(b"%PDF-1.4 an upload".to_vec(), "application/pdf")?;
                tx.upload_media(&fx.manager, &file).map(drop)
            }),
        ),
        (
            "create_payment_method",
            AUDITED,
            call(|tx, fx| {
                tx.create_payment_method(&fx.admin, "Cash", "Bring {details}")
                    .map(drop)
            }),
        ),
        (
            "set_payment_method_active",
            AUDITED,
            call(|tx, fx| {
                let cash = tx
                    .create_payment_method(&fx.admin, "Wire", "Wire to {details}")?
                    .id;
                tx.set_payment_method_active(&fx.admin, cash, false)
                    .map(drop)
            }),
        ),
        (
            "save_payment_details",
            AUDITED,
            call(|tx, fx| {
                tx.save_payment_details(&fx.manager, fx.method, "IBAN DE00")
                    .map(drop)
            }),
        ),
        (
            "send_payment_info",
            NOTIFIES,
            call(|tx, fx| {
                tx.send_payment_info(
                    &fx.manager,
                    fx.in_progress,
                    fx.method,
                    Money::from_minor(10_000),
                )
                .map(drop)
            }),
        ),
        (
            "grant_order_access",
            AUDITED,
            call(|tx, fx| {
                tx.grant_order_access(&fx.manager, fx.in_progress, fx.worker2_id, 24)
                    .map(drop)
            }),
        ),
        (
            "revoke_order_access",
            AUDITED,
            call(|tx, fx| tx.revoke_order_access(&fx.manager, fx.in_progress, fx.worker2_id)),
        ),
        (
            "update_settings",
            AUDITED,
            call(|tx, fx| {
                tx.update_settings(
                    &fx.admin,
                    SettingsUpdate {
                        open_order_limit: Some(5),
                        ..SettingsUpdate::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_tenant",
            AUDITED,
            call(|tx, _| {
                tx.create_tenant(tenant("gamma", "gina"), "$argon2id$not-checked".into())
                    .map(drop)
            }),
        ),
        (
            "rename_organization",
            AUDITED,
            call(|tx, _| {
                tx.system()
                    .rename_organization("gamma", "Gamma Ltd")
                    .map(drop)
            }),
        ),
        (
            "set_bot_token",
            AUDITED,
            call(|tx, _| {
                tx.system()
                    .set_bot_token("gamma", Some("654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw2"))
                    .map(drop)
            }),
        ),
        (
            "disable_organization",
            AUDITED,
            call(|tx, _| tx.system().disable_organization("gamma").map(drop)),
        ),
        (
            "enable_organization",
            AUDITED,
            call(|tx, _| tx.system().enable_organization("gamma").map(drop)),
        ),
        (
            "update_stage",
            AUDITED,
            call(|tx, fx| {
                tx.update_stage(
                    &fx.admin,
                    fx.stage_completed,
                    StageUpdate {
                        name: Localized::new("Done"),
                        color: "#22c55e".into(),
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_api_token",
            AUDITED,
            call(|tx, fx| {
                tx.create_api_token(&fx.worker2, fx.worker2_id, "mine", ApiTokenHash([4; 32]))
                    .map(drop)
            }),
        ),
        (
            "revoke_api_token",
            AUDITED,
            call(|tx, fx| tx.revoke_api_token(&fx.worker, fx.token).map(drop)),
        ),
        (
            "set_password_hash",
            AUDITED,
            call(|tx, fx| {
                tx.set_password_hash(&fx.worker2, fx.worker2_id, "$argon2id$new".into(), false)
                    .map(drop)
            }),
        ),
        (
            "reset_password_hash",
            AUDITED,
            call(|tx, fx| {
                tx.reset_password_hash(&fx.admin, fx.worker2_id, "$argon2id$reset".into())
                    .map(drop)
            }),
        ),
        (
            "disable_user",
            AUDITED,
            call(|tx, fx| tx.disable_user(&fx.admin, fx.worker2_id).map(drop)),
        ),
        (
            "enable_user",
            AUDITED,
            call(|tx, fx| tx.enable_user(&fx.admin, fx.worker2_id).map(drop)),
        ),
        (
            "create_session",
            AUDITED,
            call(|tx, fx| {
                tx.create_session(fx.org, fx.worker_id, &Origin::default())
                    .map(drop)
            }),
        ),
        (
            "upsert_telegram_customer",
            AUDITED,
            call(|tx, fx| {
                tx.system()
                    .upsert_telegram_customer(
                        fx.org,
                        TelegramProfile {
                            telegram_id: TelegramUserId::new(1010),
                            username: Some("dora".into()),
                            first_name: "Dora".into(),
                            last_name: None,
                            language_code: Some("ru".into()),
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "set_customer_reachable",
            AUDITED,
            call(|tx, fx| tx.system().set_customer_reachable(fx.org, fx.bob_id, false)),
        ),
        (
            "map_call_extension",
            AUDITED,
            call(|tx, fx| tx.map_call_extension(&fx.admin, "100", Some(fx.worker_id))),
        ),
        (
            "record_zadarma_notification of a new call from an unknown number",
            AUDITED,
            call(|tx, fx| {
                let (notification, signature) =
                    zadarma(ZADARMA_SECRET, CallEvent::Start, "in_1", "79160000001");
                tx.record_zadarma_notification(fx.org, &notification, Some(&signature))
                    .map(drop)
            }),
        ),
        (
            "record_zadarma_notification of the call's end",
            AUDITED,
            call(|tx, fx| {
                let (notification, signature) =
                    zadarma(ZADARMA_SECRET, CallEvent::End, "in_1", "79160000001");
                tx.record_zadarma_notification(fx.org, &notification, Some(&signature))
                    .map(drop)
            }),
        ),
        (
            "set_zadarma_secret",
            AUDITED,
            call(|tx, fx| tx.set_zadarma_secret(&fx.admin, "a-new-zadarma-secret")),
        ),
        (
            "inbox_put",
            BOOKKEEPING,
            call(|tx, fx| {
                tx.system()
                    .inbox_put(fx.org, 41, "{\"update_id\":41}".into(), 100)
                    .map(drop)
            }),
        ),
        (
            "finish_update",
            BOOKKEEPING,
            call(|tx, fx| tx.system().finish_update(fx.org, 41)),
        ),
        (
            "update_job_settings",
            AUDITED,
            call(|tx, fx| {
                tx.update_job_settings(
                    &fx.admin,
                    crate::jobs::JobSettingsUpdate {
                        audit_retention_days: Some(30),
                        report_time: Some(LocalTime::new(8, 15).unwrap()),
                        archive_after_days: Some(14),
                        enabled: vec![("audit_cleanup".into(), false)],
                    },
                )
                .map(drop)
            }),
        ),
        (
            "prepare_jobs",
            BOOKKEEPING,
            call(|tx, _| tx.prepare_jobs(1).map(drop)),
        ),
        (
            "claim_job by hand",
            BOOKKEEPING,
            call(|tx, fx| {
                tx.claim_job(fx.org, crate::jobs::job("audit_cleanup")?, 1, true)
                    .map(drop)
            }),
        ),
        (
            "finish_job",
            BOOKKEEPING,
            call(|tx, fx| {
                let key = crate::store::declarations::job_state_key(fx.org, "audit_cleanup");
                let state: JobState = crate::store::ViewExt::get(tx, tables::JOB_STATES, &key)?
                    .ok_or_else(|| crate::Error::conflict("no state"))?;
                let held = state
                    .claim
                    .ok_or_else(|| crate::Error::conflict("no claim"))?;
                let claim = crate::jobs::Claim {
                    org: fx.org,
                    job: "audit_cleanup",
                    slot: held.slot,
                    manual: true,
                    resumed: false,
                };
                tx.finish_job(&claim, 1, true, "deleted 0 audit entries")
                    .map(drop)
            }),
        ),
        (
            "set_dialogue",
            BOOKKEEPING,
            call(|tx, fx| {
                tx.system()
                    .set_dialogue(fx.org, ChatId::new(1001), Some(b"{}".to_vec()))
            }),
        ),
        (
            "reply",
            Writes {
                audit: false,
                outbox: true,
            },
            call(|tx, fx| {
                tx.system()
                    .reply(
                        fx.org,
                        ChatId::new(1001),
                        BotReply::Text {
                            text: "Hello".into(),
                            keyboard: None,
                        },
                    )
                    .map(drop)
            }),
        ),
        // The operators module.
        (
            "reply_to_notice (the manager linked, told of Bob's message, the notice delivered)",
            NOTIFIES,
            call(|tx, fx| {
                let code = tx.create_link_code(&fx.manager)?.code;
                tx.system()
                    .redeem_link_code(fx.org, &code, TelegramUserId::new(4100))?;
                tx.post_inbound(
                    &fx.bob,
                    InboundMessage {
                        customer: fx.bob_id,
                        about: OrderChoice::None,
                        text: "to the manager".into(),
                        attachments: Vec::new(),
                        telegram_message_id: Some(7801),
                        content: None,
                        reply_to_telegram: None,
                        media_group: None,
                    },
                )?;
                let notice = super::telegram::outbox_items_in(&*tx, fx.org)?
                    .into_iter()
                    .rev()
                    .find(|item| {
                        item.recipient == Recipient::Staff(fx.manager_id)
                            && matches!(
                                item.payload,
                                OutboxPayload::Notify(Event::CustomerWrote { .. })
                            )
                    })
                    .ok_or_else(|| crate::Error::not_found("notice", 0))?;
                tx.outbox_delivered(fx.org, notice.id, Some(321))?;
                tx.reply_to_notice(&fx.manager, ChatId(4100), 321, "answer".into(), Vec::new())
                    .map(drop)
            }),
        ),
        (
            "create_department",
            AUDITED,
            call(|tx, fx| tx.create_department(&fx.admin, "Sales").map(drop)),
        ),
        (
            "add_department_member",
            AUDITED,
            call(|tx, fx| {
                tx.add_department_member(&fx.admin, fx.support, fx.admin_id)
                    .map(drop)
            }),
        ),
        (
            "set_operator_status",
            AUDITED,
            call(|tx, fx| {
                tx.set_operator_status(&fx.admin, fx.admin_id, OperatorStatus::Online)
                    .map(drop)
            }),
        ),
        (
            "choose_department",
            AUDITED,
            call(|tx, fx| {
                tx.choose_department(&fx.ann, fx.ann_id, fx.support)
                    .map(drop)
            }),
        ),
        (
            "reassign_conversation",
            AUDITED,
            call(|tx, fx| {
                tx.reassign_conversation(&fx.manager, fx.ann_id, None)
                    .map(drop)
            }),
        ),
        (
            "close_conversation",
            AUDITED,
            call(|tx, fx| tx.close_conversation(&fx.manager, fx.ann_id).map(drop)),
        ),
        (
            "reopen_conversation",
            AUDITED,
            call(|tx, fx| tx.reopen_conversation(&fx.manager, fx.ann_id).map(drop)),
        ),
        (
            "rename_department",
            AUDITED,
            call(|tx, fx| {
                tx.rename_department(&fx.admin, fx.support, "Help desk")
                    .map(drop)
            }),
        ),
        (
            "save_operator_settings",
            AUDITED,
            call(|tx, fx| {
                tx.save_operator_settings(
                    &fx.admin,
                    OperatorSettings {
                        idle_away_minutes: 5,
                        ..OperatorSettings::default()
                    },
                )
                .map(drop)
            }),
        ),
        (
            "remove_department_member",
            AUDITED,
            call(|tx, fx| {
                tx.remove_department_member(&fx.admin, fx.support, fx.admin_id)
                    .map(drop)
            }),
        ),
        (
            "sweep_operators",
            AUDITED,
            call(|tx, fx| {
                tx.sweep_operators(
                    fx.org,
                    &[crate::operators::SessionActivity {
                        user: fx.manager_id,
                        last_seen: None,
                    }],
                )
                .map(drop)
            }),
        ),
        (
            "choose_department of a department with nobody online",
            AUDITED,
            call(|tx, fx| {
                let sales = sales(tx, fx)?;
                tx.choose_department(&fx.bob, fx.bob_id, sales).map(drop)
            }),
        ),
        (
            "close_conversation waiting in the queue",
            AUDITED,
            call(|tx, fx| tx.close_conversation(&fx.manager, fx.ann_id).map(drop)),
        ),
        (
            "archive_closed_conversations",
            AUDITED,
            call(|tx, fx| {
                let older_than = tx.now().plus_millis(1);
                let archived = tx.archive_closed_conversations(fx.org, older_than, 10)?;
                if archived == 0 {
                    return Err(crate::Error::conflict("nothing archived"));
                }
                Ok(())
            }),
        ),
        (
            "close_conversation of another customer",
            AUDITED,
            call(|tx, fx| tx.close_conversation(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "create_canned",
            AUDITED,
            call(|tx, fx| {
                tx.create_canned(
                    &fx.admin,
                    canned("hi", "Hi {customer.first_name}, about {order.title}"),
                    vec![picture()],
                )
                .map(drop)
            }),
        ),
        (
            "update_canned",
            AUDITED,
            call(|tx, fx| {
                let id = crate::canned::canned_list_in(tx, &fx.admin)?
                    .first()
                    .map(|canned| canned.id)
                    .ok_or_else(|| crate::Error::not_found("canned response", "hi"))?;
                tx.update_canned(
                    &fx.admin,
                    id,
                    canned("hello", "Hello {operator.name}"),
                    Vec::new(),
                )
                .map(drop)
            }),
        ),
        (
            "create_canned to delete",
            AUDITED,
            call(|tx, fx| {
                tx.create_canned(&fx.admin, canned("gone", "Gone"), Vec::new())
                    .map(drop)
            }),
        ),
        (
            "delete_canned",
            AUDITED,
            call(|tx, fx| {
                let id = crate::canned::canned_list_in(tx, &fx.admin)?
                    .into_iter()
                    .find(|canned| canned.code == "gone")
                    .map(|canned| canned.id)
                    .ok_or_else(|| crate::Error::not_found("canned response", "gone"))?;
                tx.delete_canned(&fx.admin, id)
            }),
        ),
        (
            "set_business_hours",
            AUDITED,
            call(|tx, fx| {
                tx.set_business_hours(&fx.admin, closed_all_week())
                    .map(drop)
            }),
        ),
        (
            "post_inbound out of hours (the auto-reply)",
            NOTIFIES,
            call(|tx, fx| {
                tx.post_inbound(
                    &fx.bob,
                    InboundMessage {
                        customer: fx.bob_id,
                        about: OrderChoice::None,
                        text: "anyone there?".into(),
                        attachments: Vec::new(),
                        telegram_message_id: Some(7701),
                        content: None,
                        reply_to_telegram: None,
                        media_group: None,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "link_staff_group (a code made, then /link sent in the group)",
            AUDITED,
            call(|tx, fx| {
                let code = tx
                    .create_staff_group_code(&fx.admin)?
                    .link_code
                    .ok_or_else(|| crate::Error::conflict("no code"))?;
                tx.system()
                    .link_staff_group(fx.org, &code, ChatId(-1_001_234), "Team", true)
                    .map(drop)
            }),
        ),
        (
            "post_inbound with the staff group's forum on (a topic, a mirror)",
            NOTIFIES,
            call(|tx, fx| {
                tx.post_inbound(
                    &fx.bob,
                    InboundMessage {
                        customer: fx.bob_id,
                        about: OrderChoice::None,
                        text: "to the forum".into(),
                        attachments: Vec::new(),
                        telegram_message_id: Some(7702),
                        content: None,
                        reply_to_telegram: None,
                        media_group: None,
                    },
                )
                .map(drop)
            }),
        ),
        (
            "outbox_delivered of a topic's creation (its thread recorded)",
            BOOKKEEPING,
            call(|tx, fx| {
                let create = super::telegram::outbox_items_in(&*tx, fx.org)?
                    .into_iter()
                    .find(|item| {
                        matches!(
                            item.payload,
                            OutboxPayload::Forum(ForumCall::CreateTopic { .. })
                        )
                    })
                    .ok_or_else(|| crate::Error::not_found("topic creation", 0))?;
                tx.outbox_delivered(fx.org, create.id, Some(91))
            }),
        ),
        (
            "post_in_topic",
            NOTIFIES,
            call(|tx, fx| {
                tx.post_in_topic(
                    &fx.manager,
                    ChatId(-1_001_234),
                    91,
                    "from the topic".into(),
                    Vec::new(),
                )
                .map(drop)
            }),
        ),
        (
            "set_staff_group_enabled off",
            AUDITED,
            call(|tx, fx| tx.set_staff_group_enabled(&fx.admin, false).map(drop)),
        ),
        (
            "unlink_staff_group",
            AUDITED,
            call(|tx, fx| tx.unlink_staff_group(&fx.admin).map(drop)),
        ),
        (
            "set_department_archived",
            AUDITED,
            call(|tx, fx| {
                let sales = sales(tx, fx)?;
                tx.set_department_archived(&fx.admin, sales, true).map(drop)
            }),
        ),
        (
            "reopen_chat of a closed queue item",
            AUDITED,
            call(|tx, fx| tx.reopen_chat(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "snooze_chat",
            AUDITED,
            call(|tx, fx| tx.snooze_chat(&fx.manager, fx.bob_id, 60).map(drop)),
        ),
        (
            "reopen_chat of a snoozed conversation",
            AUDITED,
            call(|tx, fx| tx.reopen_chat(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "close_chat of an open queue item",
            AUDITED,
            call(|tx, fx| tx.close_chat(&fx.manager, fx.bob_id).map(drop)),
        ),
        (
            "merge_customers of a customer known by phone into a Telegram one",
            AUDITED,
            call(|tx, fx| {
                let phone = NewCustomer {
                    first_name: "Ann".into(),
                    phone: "+79160000009".into(),
                    ..NewCustomer::default()
                }
                .validate()?;
                let absorbed = tx.insert_customer(&fx.manager, phone)?;
                tx.merge_customers(&fx.manager, fx.ann_id, absorbed.id)
                    .map(drop)
            }),
        ),
        (
            "move_order to delivered (the satisfaction survey)",
            NOTIFIES,
            call(|tx, fx| {
                for stage in ["testing", "completed", "delivered"] {
                    let stage = crate::services::load_org(tx, fx.org)?
                        .pipeline
                        .stage_by_key(stage)
                        .map(|stage| stage.id)
                        .ok_or_else(|| crate::Error::not_found("stage", stage))?;
                    tx.move_order(&fx.worker, fx.in_progress, stage)?;
                }
                Ok(())
            }),
        ),
        (
            "rate_order",
            AUDITED,
            call(|tx, fx| tx.rate_order(&fx.ann, fx.in_progress, 4).map(drop)),
        ),
        (
            "comment_rating",
            AUDITED,
            call(|tx, fx| {
                tx.comment_rating(&fx.ann, fx.in_progress, "quick")
                    .map(drop)
            }),
        ),
        (
            "update_csat_settings",
            AUDITED,
            call(|tx, fx| {
                tx.update_csat_settings(&fx.admin, CsatSettings::default())
                    .map(drop)
            }),
        ),
        (
            "save_package",
            AUDITED,
            call(|tx, fx| {
                tx.save_package(&fx.admin, None, token_package("premium", 300, 200))
                    .map(drop)
            }),
        ),
        (
            "update_token_settings",
            AUDITED,
            call(|tx, fx| {
                tx.update_token_settings(&fx.admin, TokenSettings::default())
                    .map(drop)
            }),
        ),
        (
            "credit_purchase",
            NOTIFIES,
            call(|tx, fx| {
                tx.system()
                    .credit_purchase(fx.org, fx.dora_id, 1000, "test:1", "1000 tokens")
                    .map(drop)
            }),
        ),
        (
            "adjust_tokens",
            NOTIFIES,
            call(|tx, fx| {
                tx.adjust_tokens(&fx.admin, fx.dora_id, 50, "apology")
                    .map(drop)
            }),
        ),
        (
            "grant_bonus",
            NOTIFIES,
            call(|tx, fx| {
                tx.grant_bonus(&fx.manager, fx.dora_id, 25, "welcome")
                    .map(drop)
            }),
        ),
        (
            "place_token_order",
            NOTIFIES,
            call(|tx, fx| dora_orders(tx, fx).map(drop)),
        ),
        (
            "place_token_order of a second one",
            NOTIFIES,
            call(|tx, fx| dora_orders(tx, fx).map(drop)),
        ),
        (
            "move_in_queue",
            AUDITED,
            call(|tx, fx| {
                let queue = dora_queue(tx, fx)?;
                let last = *queue
                    .last()
                    .ok_or_else(|| crate::Error::not_found("queue", 0))?;
                tx.move_in_queue(&fx.manager, last, queue.first().copied())
                    .map(drop)
            }),
        ),
        (
            "reject_order of a token order (its refund)",
            NOTIFIES,
            call(|tx, fx| {
                let first = *dora_queue(tx, fx)?
                    .first()
                    .ok_or_else(|| crate::Error::not_found("queue", 0))?;
                tx.reject_order(&fx.manager, first, "duplicate").map(drop)
            }),
        ),
        (
            "schedule_message",
            AUDITED,
            call(|tx, fx| {
                let send_at = tx.now().plus_millis(600_000);
                tx.schedule_message(&fx.manager, later(fx.ann_id, send_at))
                    .map(drop)
            }),
        ),
        (
            "schedule_message and cancel_scheduled",
            AUDITED,
            call(|tx, fx| {
                let send_at = tx.now().plus_millis(900_000);
                let scheduled = tx.schedule_message(&fx.manager, later(fx.bob_id, send_at))?;
                tx.cancel_scheduled(&fx.admin, scheduled.id).map(drop)
            }),
        ),
        (
            "buy_subscription",
            AUDITED,
            call(|tx, fx| tx.buy_subscription(&fx.dora).map(drop)),
        ),
        (
            "create_broadcast",
            AUDITED,
            call(|tx, fx| tx.create_broadcast(&fx.manager, news("Hi")).map(drop)),
        ),
        (
            "create_broadcast and update_broadcast",
            AUDITED,
            call(|tx, fx| {
                let broadcast = tx.create_broadcast(&fx.manager, news("Hi"))?;
                tx.update_broadcast(&fx.manager, broadcast.id, news("Hello"))
                    .map(drop)
            }),
        ),
        (
            "create_broadcast and delete_broadcast",
            AUDITED,
            call(|tx, fx| {
                let broadcast = tx.create_broadcast(&fx.manager, news("Hi"))?;
                tx.delete_broadcast(&fx.manager, broadcast.id)
            }),
        ),
        (
            "create_broadcast and schedule_broadcast",
            AUDITED,
            call(|tx, fx| {
                let broadcast = tx.create_broadcast(&fx.manager, news("Hi"))?;
                let at = tx.now().plus_millis(3_600_000);
                tx.schedule_broadcast(&fx.manager, broadcast.id, at)
                    .map(drop)
            }),
        ),
        (
            "start_broadcast",
            AUDITED,
            call(|tx, fx| started_news(tx, fx).map(drop)),
        ),
        (
            "start_broadcast, pause_broadcast and resume_broadcast",
            AUDITED,
            call(|tx, fx| {
                let id = started_news(tx, fx)?;
                tx.pause_broadcast(&fx.manager, id)?;
                tx.resume_broadcast(&fx.manager, id).map(drop)
            }),
        ),
        (
            "start_broadcast and cancel_broadcast",
            AUDITED,
            call(|tx, fx| {
                let id = started_news(tx, fx)?;
                tx.cancel_broadcast(&fx.manager, id).map(drop)
            }),
        ),
        (
            "feed_broadcast",
            Writes {
                audit: true,
                outbox: true,
            },
            call(|tx, fx| {
                let id = started_news(tx, fx)?;
                let fed = tx.feed_broadcast(fx.org, id, 10)?;
                if fed == 0 {
                    return Err(crate::Error::conflict("nothing was handed to the outbox"));
                }
                Ok(())
            }),
        ),
        (
            "start_due_broadcasts",
            AUDITED,
            call(|tx, fx| {
                let broadcast = tx.create_broadcast(&fx.manager, news("Hi"))?;
                let at = tx.now().plus_millis(120_000);
                tx.schedule_broadcast(&fx.manager, broadcast.id, at)?;
                tx.start_due_broadcasts(at).map(drop)
            }),
        ),
        (
            "grant_subscription",
            AUDITED,
            call(|tx, fx| tx.grant_subscription(&fx.admin, fx.dora_id, 7).map(drop)),
        ),
        (
            "create_webhook",
            AUDITED,
            call(|tx, fx| {
                tx.create_webhook(
                    &fx.admin,
                    hook("https://erp.example/hooks", &["order.created"]),
                )
                .map(drop)
            }),
        ),
        (
            "update_webhook",
            AUDITED,
            call(|tx, fx| {
                let id = first_hook(tx, fx)?;
                tx.update_webhook(
                    &fx.admin,
                    id,
                    hook(
                        "https://erp.example/hooks/v2",
                        &["order.created", "order.stage_changed"],
                    ),
                )
                .map(drop)
            }),
        ),
        (
            "rotate_webhook_secret",
            AUDITED,
            call(|tx, fx| {
                let id = first_hook(tx, fx)?;
                tx.rotate_webhook_secret(&fx.admin, id).map(drop)
            }),
        ),
        (
            "test_webhook",
            AUDITED,
            call(|tx, fx| {
                let id = first_hook(tx, fx)?;
                tx.test_webhook(&fx.admin, id).map(drop)
            }),
        ),
        (
            "webhook_attempted (a 500, retried)",
            BOOKKEEPING,
            call(|tx, fx| {
                let id = due_hook(tx)?;
                tx.webhook_attempted(fx.org, id, answered(500)).map(drop)
            }),
        ),
        (
            "webhook_attempted (a 200)",
            BOOKKEEPING,
            call(|tx, fx| {
                let id = due_hook(tx)?;
                tx.webhook_attempted(fx.org, id, answered(200)).map(drop)
            }),
        ),
        (
            "redeliver_webhook",
            AUDITED,
            call(|tx, fx| {
                let id = first_hook(tx, fx)?;
                let delivery = crate::webhooks::webhook_deliveries_in(
                    tx,
                    &fx.admin,
                    id,
                    crate::Page::first(1),
                )?
                .items
                .first()
                .map(|delivery| delivery.id)
                .ok_or_else(|| crate::Error::not_found("webhook delivery", "first"))?;
                tx.redeliver_webhook(&fx.admin, delivery).map(drop)
            }),
        ),
        (
            "create_webhook to delete",
            AUDITED,
            call(|tx, fx| {
                tx.create_webhook(&fx.admin, hook("https://gone.example/", &["order.deleted"]))
                    .map(drop)
            }),
        ),
        (
            "delete_webhook",
            AUDITED,
            call(|tx, fx| {
                let id = crate::webhooks::webhooks_in(tx, &fx.admin)?
                    .into_iter()
                    .find(|endpoint| endpoint.url.contains("gone"))
                    .map(|endpoint| endpoint.id)
                    .ok_or_else(|| crate::Error::not_found("webhook endpoint", "gone"))?;
                tx.delete_webhook(&fx.admin, id)
            }),
        ),
        // Forms and profiles (the tokens module). A walk's progress is bookkeeping; its
        // confirmation is audited (the profile it creates).
        (
            "set_registration_form",
            AUDITED,
            call(|tx, fx| {
                let mut form = crate::templates::template("service")?.registration;
                form.fields
                    .fields
                    .retain(|field| field.key != "instagram_username");
                tx.set_registration_form(&fx.admin, form).map(drop)
            }),
        ),
        (
            "start_form",
            BOOKKEEPING,
            call(|tx, fx| tx.start_form(&fx.bob, FormName::Registration).map(drop)),
        ),
        (
            "form_input with an answer",
            BOOKKEEPING,
            call(|tx, fx| {
                let input = crate::forms::FormInput::Answer("Bob".into());
                tx.form_input(&fx.bob, FormName::Registration, input)
                    .map(drop)
            }),
        ),
        (
            "form_input confirming the registration",
            AUDITED,
            call(|tx, fx| {
                use crate::forms::{FormInput, FormStep};
                let mut step = tx.start_form(&fx.ann, FormName::Registration)?;
                loop {
                    let input = match &step {
                        FormStep::Ask(question) => match question.field.key.as_str() {
                            "first_name" => FormInput::Answer("Ann".into()),
                            "last_name" => FormInput::Answer("Lee".into()),
                            "phone" => FormInput::Answer("+12125550101".into()),
                            "email" => FormInput::Answer("ann@example.com".into()),
                            _ => FormInput::Skip,
                        },
                        FormStep::Review { .. } => FormInput::Confirm,
                        _ => return Ok(()),
                    };
                    step = tx.form_input(&fx.ann, FormName::Registration, input)?;
                }
            }),
        ),
        (
            "create_profile",
            AUDITED,
            call(|tx, fx| {
                tx.create_profile(&fx.admin, fx.ann_id, profile_answers("Mary"))
                    .map(drop)
            }),
        ),
        (
            "update_profile",
            AUDITED,
            call(|tx, fx| {
                let id = anns_profile(tx, fx)?;
                tx.update_profile(&fx.admin, id, profile_answers("Maria"))
                    .map(drop)
            }),
        ),
        (
            "archive_profile",
            AUDITED,
            call(|tx, fx| {
                let id = anns_profile(tx, fx)?;
                tx.archive_profile(&fx.admin, id, true).map(drop)
            }),
        ),
        (
            "start_form left under way",
            BOOKKEEPING,
            call(|tx, fx| tx.start_form(&fx.bob, FormName::Registration).map(drop)),
        ),
        (
            "save_payment_settings",
            AUDITED,
            call(|tx, fx| {
                tx.save_payment_settings(&fx.admin, payment_settings(Some(MERCHANT_KEY)))
                    .map(drop)
            }),
        ),
        (
            "request_invoice",
            AUDITED,
            call(|tx, fx| {
                tx.request_invoice(&fx.dora, fx.dora_id, 100, PaymentProvider::OxaPay)
                    .map(drop)
            }),
        ),
        (
            "oxapay_invoice_created (the link queued to the customer)",
            Writes {
                audit: false,
                outbox: true,
            },
            call(|tx, fx| {
                let invoice = waiting_invoice(tx, fx)?;
                tx.system()
                    .oxapay_invoice_created(fx.org, invoice, "T-1", "https://pay.example/T-1")
                    .map(drop)
            }),
        ),
        (
            "record_oxapay_callback of a paid invoice",
            NOTIFIES,
            call(|tx, fx| {
                let body = br#"{"track_id":"T-1","status":"Paid"}"#;
                let signature = crate::payments::oxapay_signature(MERCHANT_KEY, body);
                tx.system()
                    .record_oxapay_callback(fx.org, body, Some(&signature))
                    .map(drop)
            }),
        ),
        (
            "request_invoice by staff (left pending)",
            AUDITED,
            call(|tx, fx| {
                tx.request_invoice(&fx.admin, fx.dora_id, 7, PaymentProvider::OxaPay)?;
                let invoice = waiting_invoice(tx, fx)?;
                tx.system()
                    .oxapay_invoice_created(fx.org, invoice, "T-2", "https://pay.example/T-2")
                    .map(drop)
            }),
        ),
        (
            "request_invoice in Stars (sendInvoice queued)",
            NOTIFIES,
            call(|tx, fx| {
                tx.request_invoice(&fx.dora, fx.dora_id, 100, PaymentProvider::Stars)
                    .map(drop)
            }),
        ),
        (
            "stars_paid",
            NOTIFIES,
            call(|tx, fx| {
                let invoice = stars_invoice(tx, fx)?;
                tx.stars_paid(&fx.dora, &invoice.to_string(), "charge-1", 100)
                    .map(drop)
            }),
        ),
        (
            "refund_stars",
            NOTIFIES,
            call(|tx, fx| {
                let invoice = stars_invoice(tx, fx)?;
                tx.refund_stars(&fx.admin, invoice).map(drop)
            }),
        ),
        // Projects (issue 14).
        (
            "create_project from a won lead",
            AUDITED,
            call(|tx, fx| {
                let draft =
                    crate::projects::project_draft_in(tx, &fx.manager, Some(fx.won))?.project;
                tx.create_project(&fx.manager, draft).map(drop)
            }),
        ),
        (
            "update_project and set_project_workers",
            AUDITED,
            call(|tx, fx| {
                tx.update_project(
                    &fx.manager,
                    fx.kitchen,
                    crate::projects::ProjectEdit {
                        title: "Kitchen and hall".into(),
                        address: "1 Main St".into(),
                        budget: Money::from_minor(200_000),
                    },
                )?;
                tx.set_project_workers(&fx.manager, fx.kitchen, vec![fx.worker_id, fx.manager_id])
                    .map(drop)
            }),
        ),
        (
            "add_project_stage and set_stage_progress",
            AUDITED,
            call(|tx, fx| {
                let stage = tx.add_project_stage(
                    &fx.manager,
                    fx.kitchen,
                    crate::projects::NewStage {
                        name: "Paint".into(),
                        ..crate::projects::NewStage::default()
                    },
                )?;
                tx.set_stage_progress(&fx.manager, fx.kitchen, stage.id, 40)
                    .map(drop)
            }),
        ),
        (
            "add_daily_report",
            NOTIFIES,
            call(|tx, fx| {
                tx.add_daily_report(&fx.worker, fx.kitchen, kitchen_report(fx, 2))
                    .map(drop)
            }),
        ),
        (
            "add_project_entry and add_estimate_line",
            AUDITED,
            call(|tx, fx| {
                tx.add_project_entry(&fx.worker, fx.kitchen, kitchen_expense(fx))?;
                tx.add_estimate_line(
                    &fx.manager,
                    fx.kitchen,
                    crate::projects::NewEstimateLine {
                        stage: fx.kitchen_stage,
                        title: "Tiles".into(),
                        planned: Money::from_minor(5_000),
                    },
                )
                .map(drop)
            }),
        ),
        (
            "create_change_request and decide_change_request",
            NOTIFIES,
            call(|tx, fx| {
                let request =
                    tx.create_change_request(&fx.manager, fx.kitchen, change_request(500))?;
                tx.decide_change_request(
                    &fx.ann,
                    fx.kitchen,
                    request.id,
                    crate::projects::Decision::Approve,
                )
                .map(drop)
            }),
        ),
        (
            "add_project_document twice and remove_project_document",
            AUDITED,
            call(|tx, fx| {
                let document = |title: &str| -> crate::Result<crate::projects::NewDocument> {
                    Ok(crate::projects::NewDocument {
                        title: title.into(),
                        file_name: "contract.pdf".into(),
                        file: NewMedia::parse(b"%PDF-1.4 contract".to_vec(), "application/pdf")?,
                    })
                };
                tx.add_project_document(&fx.manager, fx.kitchen, document("Contract")?)?;
                let estimate =
                    tx.add_project_document(&fx.manager, fx.kitchen, document("Estimate")?)?;
                tx.remove_project_document(&fx.manager, fx.kitchen, estimate.id)
                    .map(drop)
            }),
        ),
        (
            "withdraw_change_request",
            AUDITED,
            call(|tx, fx| {
                tx.withdraw_change_request(&fx.manager, fx.kitchen, fx.too_deep)
                    .map(drop)
            }),
        ),
        (
            "set_project_state: completed, then archived",
            AUDITED,
            call(|tx, fx| {
                tx.set_project_state(&fx.manager, fx.kitchen, ProjectState::Completed)?;
                tx.set_project_state(&fx.manager, fx.kitchen, ProjectState::Archived)
                    .map(drop)
            }),
        ),
        // Leads (the projects module).
        (
            "set_ai_settings (another model, the key kept)",
            AUDITED,
            call(|tx, fx| {
                tx.set_ai_settings(&fx.reno_admin, ai_on(None, "openai/gpt-4o-mini"))
                    .map(drop)
            }),
        ),
        (
            "ai_answered with a good answer (slots, summary, the reply queued)",
            NOTIFIES,
            call(|tx, fx| {
                let answer = serde_json::json!({
                    "slots": {"renovation_type": "capital", "area": 60, "budget": null, "address": null},
                    "summary": "Капитальный ремонт, 60 м²",
                    "hot": false,
                    "hot_reason": null,
                    "reply": "Какой у вас бюджет?",
                });
                tx.ai_answered(fx.reno, fx.oleg_lead, None, completion(answer))
                    .map(drop)
            }),
        ),
        (
            "ai_answered with an answer that sets the stage (the call log alone)",
            BOOKKEEPING,
            call(|tx, fx| {
                let answer = serde_json::json!({
                    "slots": {"renovation_type": null, "area": null, "budget": null, "address": null},
                    "summary": "", "hot": false, "hot_reason": null, "reply": "", "stage": "won",
                });
                tx.ai_answered(fx.reno, fx.oleg_lead, None, completion(answer))
                    .map(drop)
            }),
        ),
        (
            "ai_answered with a 503 (retried later)",
            BOOKKEEPING,
            call(|tx, fx| {
                let report = crate::leads::AiCallReport {
                    at: tx.now(),
                    latency_ms: 80,
                    result: crate::leads::AiCallResult::Status {
                        status: 503,
                        retry_after_ms: None,
                    },
                };
                tx.ai_answered(fx.reno, fx.oleg_lead, None, report)
                    .map(drop)
            }),
        ),
        (
            "stop_lead_ai and resume_lead_ai",
            AUDITED,
            call(|tx, fx| {
                tx.stop_lead_ai(&fx.reno_manager, fx.oleg_lead)?;
                tx.resume_lead_ai(&fx.reno_manager, fx.oleg_lead).map(drop)
            }),
        ),
        (
            "post_lead_message answering a fixed question (the slot written, managers alerted)",
            NOTIFIES,
            call(|tx, fx| {
                tx.post_lead_message(&fx.vera, to_the_bot(fx.vera_id, "capital"))
                    .map(drop)
            }),
        ),
        (
            "set_order_fields marking a lead hot",
            AUDITED,
            call(|tx, fx| {
                tx.set_order_fields(
                    &fx.reno_manager,
                    fx.vera_lead,
                    std::collections::BTreeMap::from([(
                        "hot".to_string(),
                        Some(FieldValue::Flag(true)),
                    )]),
                )
                .map(drop)
            }),
        ),
        (
            "post_lead_message creating a lead (moderators and managers told)",
            NOTIFIES,
            call(|tx, fx| {
                let zoe = tx.system().upsert_telegram_customer(
                    fx.reno,
                    TelegramProfile {
                        telegram_id: TelegramUserId::new(4003),
                        username: None,
                        first_name: "Zoe".into(),
                        last_name: None,
                        language_code: Some("en".into()),
                    },
                )?;
                tx.post_lead_message(
                    &Actor::customer(fx.reno, zoe.id),
                    to_the_bot(zoe.id, "Kitchen, 12 m2"),
                )
                .map(drop)
            }),
        ),
        (
            "post_lead_message to a lead the AI works (its call queued)",
            NOTIFIES,
            call(|tx, fx| {
                tx.post_lead_message(&fx.oleg, to_the_bot(fx.oleg_id, "Бюджет 2 млн"))
                    .map(drop)
            }),
        ),
    ]
}

/// The Stars invoice `request_invoice in Stars` above created.
fn stars_invoice(tx: &Tx<'_>, fx: &Fx) -> Result<u64> {
    crate::payments::invoices_in(tx, &fx.admin, &crate::payments::InvoiceFilter::default())?
        .into_iter()
        .find(|invoice| invoice.provider == PaymentProvider::Stars)
        .map(|invoice| invoice.id)
        .ok_or_else(|| crate::Error::not_found("invoice", "stars"))
}

const MERCHANT_KEY: &str = "merchant-key-for-tests";

/// Payment settings with OxaPay's merchant key `key`.
fn payment_settings(key: Option<&str>) -> crate::payments::PaymentSettingsInput {
    crate::payments::PaymentSettingsInput {
        oxapay_merchant_key: key.map(str::to_string),
        oxapay_base_url: String::new(),
        token_price: 100,
        stars_per_token: 1,
        amounts: vec![100, 250],
        invoice_lifetime_minutes: 60,
    }
}

/// The pending OxaPay invoice not yet created at OxaPay.
fn waiting_invoice(tx: &Tx<'_>, fx: &Fx) -> Result<u64> {
    crate::payments::invoices_in(tx, &fx.admin, &crate::payments::InvoiceFilter::default())?
        .into_iter()
        .find(|invoice| invoice.provider_id.is_none())
        .map(|invoice| invoice.id)
        .ok_or_else(|| crate::Error::not_found("invoice", "waiting"))
}

/// The department "Sales" that `create_department` above creates.
fn sales(tx: &Tx<'_>, fx: &Fx) -> Result<DepartmentId> {
    crate::operators::departments_in(tx, &fx.admin)?
        .into_iter()
        .find(|row| row.department.name == "Sales")
        .map(|row| row.department.id)
        .ok_or_else(|| crate::Error::not_found("department", "Sales"))
}

#[test]
fn a_use_case_that_changes_anything_writes_its_audit_entry_and_outbox_items_in_its_transaction() {
    let (_dir, crm, fx) = fixture();
    let done = run(
        &crm,
        &fx,
        accepted()
            .into_iter()
            .map(|(name, _, call)| (name, call))
            .collect(),
    );
    let mut wrong = Vec::new();
    for (call, (_, writes, _)) in done.iter().zip(accepted()) {
        if let Some((kind, message)) = &call.error {
            wrong.push(format!("{}: failed ({kind:?}): {message}", call.name));
            continue;
        }
        if call.changed.is_empty() {
            wrong.push(format!("{}: changed nothing", call.name));
        }
        if writes.audit != call.changed.contains(&"audit") {
            wrong.push(format!(
                "{}: wrote to {:?}, audit expected: {}",
                call.name, call.changed, writes.audit
            ));
        }
        if writes.outbox && !call.changed.contains(&"outbox") {
            wrong.push(format!(
                "{}: wrote to {:?} and queued nothing",
                call.name, call.changed
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}

/// Where a table's key names its organization.
enum OrgInKey {
    /// The first 8 bytes (big-endian): every tenant's table.
    First,
    /// Bytes 8 to 16: `outbox_due`, `webhook_due` and `ai_due`, ordered by due time first so
    /// the outbox job, the webhook sender and the AI sender find what is due in every
    /// organization with one scan.
    AfterDueTime,
    /// The first 8 bytes, where 0 is the organizations' own sequence: `sequences`.
    FirstOrZero,
    /// Global by nature, no organization in the key: `meta` (the schema version),
    /// `orgs_by_slug` (slugs are unique across the file; the value is the organization), and
    /// the two lookup-by-secret tables `sessions` and `api_tokens` (the request presents the
    /// secret before its organization is known; the record carries it and `crm verify`
    /// checks it).
    Global,
}

fn org_in_key(table: &str) -> OrgInKey {
    match table {
        "outbox_due" | "webhook_due" | "ai_due" => OrgInKey::AfterDueTime,
        "sequences" => OrgInKey::FirstOrZero,
        "meta" | "orgs_by_slug" | "sessions" | "api_tokens" => OrgInKey::Global,
        _ => OrgInKey::First,
    }
}

/// Organization A goes through every use case above, B gets the demo data; then every key of
/// every table is read. Checked by keying dialogue state by the chat alone
/// (`Key::empty().i64(chat)` in `set_dialogue`): the test named the `dialogues` entry.
#[test]
fn every_key_of_a_tenant_s_record_starts_with_its_organization_id() {
    let (_dir, crm, fx) = fixture();
    let done = run(
        &crm,
        &fx,
        accepted()
            .into_iter()
            .map(|(name, _, call)| (name, call))
            .collect(),
    );
    assert!(done.iter().all(|call| call.error.is_none()), "{done:#?}");
    // Disabling worker2 above ended its tokens, and the one update above was handled: a
    // token, a linked Telegram account and a pending update fill the tables the list leaves
    // empty.
    crm.create_api_token(&fx.worker, fx.worker_id, "after the calls")
        .unwrap();
    let code = crm.create_link_code(&fx.manager).unwrap().code;
    crm.system()
        .redeem_link_code(fx.org, &code, TelegramUserId::new(2001))
        .unwrap();
    crm.system()
        .inbox_put(fx.org, 42, "{\"update_id\":42}".into(), 100)
        .unwrap();
    // The swept manager comes back and takes the waiting conversation; another waits in a
    // department nobody is in.
    crm.set_operator_status(&fx.manager, fx.manager_id, OperatorStatus::Online)
        .unwrap();
    let night = crm.create_department(&fx.admin, "Night").unwrap().id;
    let (_, cleo) = customer(&crm, fx.org, 1003, "Cleo");
    crm.choose_department(&Actor::system(fx.org), cleo, night)
        .unwrap();
    let b = crm
        .system()
        .create_organization("studio", "Beta", "beta")
        .unwrap()
        .id;
    crm.system().load_demo(b).unwrap();
    let gamma = crm.system().organization_by_slug("gamma").unwrap().id;
    let orgs = [fx.org.0, b.0, fx.desk.0, fx.reno.0, gamma.0, fx.closed.0];

    let all = crm.read(contents).unwrap();
    let mut wrong = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut empty = Vec::new();
    for (table, entries) in &all {
        if entries.is_empty() {
            empty.push(*table);
        }
        for (key, _) in entries {
            let read = |at: usize| {
                key.get(at..at + 8)
                    .map(|bytes| u64::from_be_bytes(bytes.try_into().unwrap_or_default()))
            };
            let org = match org_in_key(table) {
                OrgInKey::Global => continue,
                OrgInKey::First => read(0),
                OrgInKey::AfterDueTime => read(8),
                OrgInKey::FirstOrZero => match read(0) {
                    Some(0) if &key[8..] == b"org" => continue,
                    org => org,
                },
            };
            match org {
                Some(org) if orgs.contains(&org) => {
                    seen.insert(org);
                }
                _ => wrong.push(format!("{table}: {}", crate::store::keys::hex(key))),
            }
        }
    }
    assert!(wrong.is_empty(), "keys without an organization: {wrong:#?}");
    assert_eq!(seen.len(), 6, "every organization has records");
    // Every table held something, so no key layout went unchecked.
    assert!(empty.is_empty(), "tables left empty: {empty:?}");
    let report = crm.system().verify().unwrap();
    assert!(report.is_clean(), "{:#?}", report.problems);
}
