//! Demo data (`crm demo`): for each template, its staff, customers and orders with their
//! bids, assignments, stage moves and chats, from `fixtures/demo/<template>.json`: a
//! programming studio's 200 orders and ten markers, a token service's 80 site-registration
//! orders, a renovation firm's 60 leads (with their slots, and the qualification of some: the
//! AI's summaries, a hot lead, call logs), a repair desk's 100 tickets.
//!
//! The data is replayed through the real use cases, so every rule applies exactly as in use:
//! the open-order limit, moderation, bids within budget, assignment from a bid, stage
//! transitions, chat permissions. Each order's history is back-dated with the transaction
//! clock to when the file says it happened. Everything is one write transaction: the demo
//! loads completely or not at all.
//!
//! The demo is history, not news: the notifications and chat deliveries its use cases queue
//! are closed in the same transaction (recorded as delivered), so nothing from the demo is
//! ever sent to Telegram, where its made-up Telegram ids could belong to real people.

mod projects;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::model::*;
use crate::password::{self, Password};
use crate::store::{Key, ViewExt, tables};
use crate::{Error, Result, Tx, View};

use super::chat::{InboundMessage, NewNote, OrderChoice, OutboundMessage};
use super::customers::NewCustomer;
use super::load_org;
use super::orders::{AssignTo, NewOrder};
use super::team::NewUser;

/// The demo data set of each template, compiled in.
fn demo_source(template: &str) -> Option<&'static str> {
    Some(match template {
        "studio" => include_str!("../../../../fixtures/demo/studio.json"),
        "service" => include_str!("../../../../fixtures/demo/service.json"),
        "renovation" => include_str!("../../../../fixtures/demo/renovation.json"),
        "helpdesk" => include_str!("../../../../fixtures/demo/helpdesk.json"),
        _ => return None,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoFile {
    markers: Vec<DemoMarker>,
    staff: Vec<DemoStaff>,
    customers: Vec<DemoCustomer>,
    orders: Vec<DemoOrder>,
    /// The operators module's departments (the helpdesk's), created before the history so
    /// its conversations and tickets go through the queue.
    #[serde(default)]
    departments: Vec<DemoDepartment>,
    /// Each operator's status now, set after the history: those online take what waits.
    #[serde(default)]
    operator_status: Vec<DemoOperatorStatus>,
    /// PBX extensions and the staff who answer them (the tickets module's calls).
    #[serde(default)]
    extensions: Vec<DemoExtension>,
    /// Calls, replayed as the PBX's signed notifications.
    #[serde(default)]
    calls: Vec<DemoCall>,
    /// Canned responses (issue 12), with their texts per language code.
    #[serde(default)]
    canned: Vec<DemoCanned>,
    /// Business hours (issue 12): saved as given, usually switched off so the demo's
    /// customers get no auto-reply until staff turn them on.
    #[serde(default)]
    hours: Option<DemoHours>,
    /// The token service (issue 13): who holds Premium from the start, and bonuses.
    #[serde(default)]
    tokens: Option<DemoTokens>,
    /// Customers' profiles (the tokens module): a customer's key and the answers as typed,
    /// by field key of the registration form.
    #[serde(default)]
    profiles: Vec<DemoProfile>,
    /// Broadcasts (the tokens module's): written by a staff user, started `days_ago`, every
    /// recipient answered (Telegram accepted, except the customers listed as `blocked`, who
    /// blocked the bot), or left a draft.
    #[serde(default)]
    broadcasts: Vec<DemoBroadcast>,
    /// Projects (the projects module's, issue 14): made from a customer's won lead or by
    /// hand, with stages, estimate, reports with photos, money entries and change requests.
    #[serde(default)]
    projects: Vec<projects::DemoProject>,
    /// Leads' qualification (the projects module): each lead's AI summary, why it is hot,
    /// whether the AI stopped, and its call log (made up: the demo calls no AI).
    #[serde(default)]
    leads: Vec<DemoLead>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoLead {
    /// The lead: its order's position in `orders`, from 1.
    order: usize,
    #[serde(default)]
    summary: Option<String>,
    /// Why the lead is hot (its order's fields say `hot` too).
    #[serde(default)]
    hot_reason: Option<String>,
    /// The staff user who stopped the AI on it.
    #[serde(default)]
    stopped_by: Option<String>,
    /// Whether the AI gave up on it (the fixed questions instead).
    #[serde(default)]
    fell_back: bool,
    #[serde(default)]
    calls: Vec<DemoAiCall>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAiCall {
    /// When, in minutes after the lead was created.
    minutes_after: i64,
    latency_ms: u32,
    prompt_tokens: u32,
    completion_tokens: u32,
    /// `applied`, `refused`, `timeout` or `http_error`.
    outcome: String,
    /// The refusal's reason, or the HTTP status.
    #[serde(default)]
    detail: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoBroadcast {
    author: String,
    title: String,
    text: String,
    /// Language codes of the audience (empty: everyone).
    #[serde(default)]
    languages: Vec<String>,
    /// `finished` (sent `days_ago`) or `draft`.
    state: String,
    #[serde(default)]
    days_ago: i64,
    /// Customers (keys) whose send Telegram refused with a 403.
    #[serde(default)]
    blocked: Vec<String>,
}

/// The token service's demo: Premium subscribers and bonuses. Purchases are made as each
/// order needs them (a paid invoice of whole hundreds of tokens before an order the balance
/// does not cover), so every ledger reads like a customer's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoTokens {
    /// Customers (keys) granted 30 days of Premium before their history starts.
    #[serde(default)]
    premium: Vec<String>,
    /// Bonuses given at the end.
    #[serde(default)]
    bonuses: Vec<DemoBonus>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoBonus {
    customer: String,
    amount: u64,
    reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoProfile {
    customer: String,
    answers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCanned {
    code: String,
    title: String,
    texts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoHours {
    enabled: bool,
    /// Monday to Sunday, as the settings page takes them (`09:00-18:00`; empty: closed).
    week: Vec<String>,
    auto_reply: BTreeMap<String, String>,
}

/// A customer's satisfaction rating of a finished order (issue 12's CSAT).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoRating {
    stars: u8,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoDepartment {
    name: String,
    members: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoOperatorStatus {
    staff: String,
    status: OperatorStatus,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoExtension {
    extension: String,
    staff: String,
}

/// A call as the PBX reports it: `phone` is the caller (inbound) or the number called
/// (outbound), as Zadarma sends it; `talk_seconds` 0 is a call nobody answered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCall {
    phone: String,
    inbound: bool,
    extension: String,
    days_ago: i64,
    hour: u8,
    talk_seconds: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoMarker {
    name: String,
    color: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoStaff {
    username: String,
    display_name: String,
    role: String,
    markers: Vec<String>,
    /// The phone (E.164) a worker shares with the bot to link their account (issue 14).
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoCustomer {
    key: String,
    telegram_id: i64,
    username: Option<String>,
    first_name: String,
    last_name: Option<String>,
    language: String,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoOrder {
    customer: String,
    title: String,
    description: String,
    budget_minor: Option<i64>,
    deadline: Option<String>,
    created_days_ago: i64,
    stage: String,
    rejection_reason: Option<String>,
    markers: Vec<String>,
    bids: Vec<DemoBid>,
    assignee: Option<String>,
    messages: Vec<DemoMessage>,
    /// The ticket's typed fields by key, as typed (the helpdesk's device, model, serial,
    /// fault), read by the organization's field set.
    #[serde(default)]
    fields: std::collections::BTreeMap<String, String>,
    /// The customer's rating once the order finished (a survey asked them).
    #[serde(default)]
    rating: Option<DemoRating>,
    /// The token service's package (its key): the order is placed as an order of it,
    /// charged to the customer's balance, with the package as its title.
    #[serde(default)]
    package: Option<String>,
    /// With the email-confirmation add-on.
    #[serde(default)]
    email_confirmation: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoBid {
    staff: String,
    price_minor: i64,
    comment: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoMessage {
    /// `customer`, `staff:USERNAME` (sent to the customer) or `note:USERNAME` (a private note).
    from: String,
    text: String,
}

/// A demo staff account and its password, shown once.
#[derive(Debug, Clone)]
pub struct DemoStaffLogin {
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// The role given.
    pub role: String,
    /// The generated password (random, 20 characters). Print it once; it is stored only as
    /// an argon2id hash.
    pub password: Password,
}

/// What the demo loader created.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Markers created (the demo's markers the organization did not have yet).
    pub markers: u64,
    /// Staff accounts created, with their passwords.
    pub staff: Vec<DemoStaffLogin>,
    /// Customers created.
    pub customers: u64,
    /// Orders created.
    pub orders: u64,
    /// Bids placed.
    pub bids: u64,
    /// Chat messages written.
    pub messages: u64,
    /// Calls recorded (the helpdesk's, replayed as PBX notifications).
    pub calls: u64,
    /// Private notes written (of the messages above).
    pub notes: u64,
    /// Canned responses created.
    pub canned: u64,
    /// Satisfaction ratings recorded.
    pub ratings: u64,
    /// Orders per stage, in pipeline order.
    pub stages: Vec<super::orders::StageCount>,
    /// Customers' profiles created (the tokens module).
    pub profiles: u64,
    /// Projects created (the projects module).
    pub projects: u64,
    /// Daily reports written on them.
    pub daily_reports: u64,
    /// How long the load took, password hashing included.
    pub duration: Duration,
}

/// A demo call of the AI as the call log keeps it.
fn demo_call(call: &DemoAiCall, created_at: Timestamp) -> Result<AiCall> {
    let outcome = match call.outcome.as_str() {
        "applied" => AiCallOutcome::Applied,
        "refused" => AiCallOutcome::Refused {
            reason: call.detail.clone(),
        },
        "timeout" => AiCallOutcome::Timeout,
        "http_error" => AiCallOutcome::Status {
            status: call.detail.parse().map_err(|_| {
                Error::invalid("demo", format!("{:?} is no HTTP status", call.detail))
            })?,
        },
        other => {
            return Err(Error::invalid(
                "demo",
                format!("{other:?} is no outcome of an AI call"),
            ));
        }
    };
    Ok(AiCall {
        at: created_at.plus_millis(call.minutes_after * 60_000),
        latency_ms: call.latency_ms,
        model: DEFAULT_AI_MODEL.to_string(),
        prompt_tokens: Some(call.prompt_tokens),
        completion_tokens: Some(call.completion_tokens),
        outcome,
    })
}

/// The steps of `pipeline` from `from` to `to` through open moves (not moderation, which
/// goes through approve and reject), shortest first; `None` when `to` cannot be reached.
fn path(pipeline: &Pipeline, from: StageId, to: StageId) -> Option<Vec<StageId>> {
    let mut previous: HashMap<StageId, StageId> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(stage) = queue.pop_front() {
        if stage == to {
            let mut steps = vec![to];
            let mut at = to;
            while let Some(before) = previous.get(&at) {
                if *before == from {
                    steps.reverse();
                    return Some(steps);
                }
                steps.push(*before);
                at = *before;
            }
            return Some(Vec::new());
        }
        for next in pipeline.next_stages(stage) {
            if next.id != from && !previous.contains_key(&next.id) {
                previous.insert(next.id, stage);
                queue.push_back(next.id);
            }
        }
    }
    None
}

/// One hour, in milliseconds.
const HOUR: i64 = 3_600_000;

/// What the transaction needs beyond the file: the staff password hashes, in file order.
struct Prepared {
    file: DemoFile,
    hashes: Vec<String>,
}

/// Counts of the load, filled in the transaction.
#[derive(Debug, Default)]
struct Counts {
    calls: u64,
    markers: u64,
    customers: u64,
    orders: u64,
    bids: u64,
    messages: u64,
    notes: u64,
    canned: u64,
    ratings: u64,
    profiles: u64,
    projects: u64,
    daily_reports: u64,
}

/// The demo data of `template`.
///
/// # Errors
/// [`crate::ErrorKind::InvalidInput`] on `template` for a template without demo data.
fn parse_demo(template: &str) -> Result<DemoFile> {
    let source = demo_source(template).ok_or_else(|| {
        Error::invalid(
            "template",
            format!("there is no demo data for the {template} template"),
        )
    })?;
    serde_json::from_str(source).map_err(|error| {
        Error::corrupt(format!(
            "the built-in demo data of {template} does not parse: {error}"
        ))
    })
}

/// Refuses a second load and an organization whose pipeline lacks the demo's stages (a
/// pipeline whose stages staff renamed by key would).
fn check_loadable(view: &impl View, org: OrgId, file: &DemoFile) -> Result<Organization> {
    let organization = load_org(view, org)?;
    if view.count_prefix(tables::ORDERS, &Key::org(org))? > 0 {
        return Err(Error::conflict(format!(
            "organization {} already has orders; the demo loads only into an empty organization",
            organization.slug
        )));
    }
    for order in &file.orders {
        if organization.pipeline.stage_by_key(&order.stage).is_none() {
            return Err(Error::invalid(
                "template",
                format!(
                    "the {} demo data needs a stage {:?}, which organization {}'s pipeline lacks",
                    organization.template, order.stage, organization.slug
                ),
            ));
        }
    }
    Ok(organization)
}

impl Tx<'_> {
    /// Replays the demo in this transaction. The clock is moved back for each order's
    /// history and restored at the end.
    fn load_demo_in(&mut self, org: OrgId, prepared: Prepared) -> Result<Counts> {
        let system = Actor::system(org);
        let organization = check_loadable(self, org, &prepared.file)?;
        let real_now = self.now();
        let outbox_before = self.counter(tables::SEQUENCES, &Key::org(org).bytes(b"outbox"))?;
        let mut counts = Counts::default();
        let oldest = prepared
            .file
            .orders
            .iter()
            .map(|order| order.created_days_ago)
            .max()
            .unwrap_or(0);
        self.set_now(real_now.minus_days(oldest + 1));

        // The studio template already made some of the demo's markers (Python, TypeScript,
        // React, PostgreSQL): those are used as they are, the others are created.
        let mut markers: HashMap<String, MarkerId> = HashMap::new();
        let existing = super::team::list_markers_in(self, org)?;
        for marker in &prepared.file.markers {
            let same_name = existing.iter().find(|other| {
                other
                    .name
                    .iter()
                    .any(|(_, text)| text.to_lowercase() == marker.name.to_lowercase())
            });
            let id = match same_name {
                Some(other) => other.id,
                None => {
                    counts.markers += 1;
                    self.create_marker(
                        &system,
                        &Localized::new(marker.name.as_str()),
                        &marker.color,
                    )?
                    .id
                }
            };
            markers.insert(marker.name.clone(), id);
        }
        let marker_ids = |names: &[String]| -> Result<Vec<MarkerId>> {
            names
                .iter()
                .map(|name| {
                    markers
                        .get(name)
                        .copied()
                        .ok_or_else(|| Error::not_found(MarkerId::LABEL, name))
                })
                .collect()
        };

        let mut staff: HashMap<String, UserId> = HashMap::new();
        for (member, hash) in prepared.file.staff.iter().zip(prepared.hashes) {
            let user = self.insert_user(
                &system,
                NewUser {
                    username: member.username.clone(),
                    display_name: member.display_name.clone(),
                    // The hash is what is stored; this field is not read by `insert_user`.
                    password: Password::parse("unused-demo-placeholder")?,
                    roles: vec![member.role.clone()],
                    must_change_password: false,
                },
                hash,
            )?;
            self.set_user_markers(&system, user.id, marker_ids(&member.markers)?)?;
            if let Some(phone) = &member.phone {
                self.set_user_phone(&system, user.id, Some(phone))?;
            }
            staff.insert(member.username.clone(), user.id);
        }
        let staff_id = |username: &str| -> Result<UserId> {
            staff
                .get(username)
                .copied()
                .ok_or_else(|| Error::not_found(UserId::LABEL, username))
        };

        for department in &prepared.file.departments {
            let created = self.create_department(&system, &department.name)?;
            for member in &department.members {
                self.add_department_member(&system, created.id, staff_id(member)?)?;
            }
        }

        // Each customer arrives the day before their first order (those without one with the
        // oldest), so the dashboard's customer growth follows the orders over the months.
        let mut arrival: HashMap<&str, i64> = HashMap::new();
        for order in &prepared.file.orders {
            let days = arrival.entry(order.customer.as_str()).or_insert(0);
            *days = (*days).max(order.created_days_ago + 1);
        }
        let mut customers: HashMap<String, CustomerId> = HashMap::new();
        for customer in &prepared.file.customers {
            let days = arrival
                .get(customer.key.as_str())
                .copied()
                .unwrap_or(oldest + 1);
            self.set_now(real_now.minus_days(days));
            let valid = NewCustomer {
                telegram_id: customer.telegram_id.to_string(),
                username: customer.username.clone().unwrap_or_default(),
                first_name: customer.first_name.clone(),
                last_name: customer.last_name.clone().unwrap_or_default(),
                phone: customer.phone.clone().unwrap_or_default(),
                email: customer.email.clone().unwrap_or_default(),
                language: customer.language.clone(),
            }
            .validate()?;
            let created = self.insert_customer(&system, valid)?;
            customers.insert(customer.key.clone(), created.id);
            counts.customers += 1;
        }
        self.set_now(real_now.minus_days(oldest + 1));

        if let Some(tokens) = &prepared.file.tokens {
            for key in &tokens.premium {
                let customer = customers
                    .get(key)
                    .copied()
                    .ok_or_else(|| Error::not_found(CustomerId::LABEL, key))?;
                // Sixty days from the demo's start: still running today, so the dashboard
                // counts active subscribers.
                self.grant_subscription(&system, customer, 60)?;
            }
        }
        // Each customer's first lead that ended won: the demo's projects are made from them.
        let mut won: HashMap<String, OrderId> = HashMap::new();
        // Each order's id and creation, in file order (the leads name them by position).
        let mut order_ids: Vec<(OrderId, Timestamp)> = Vec::new();
        for order in &prepared.file.orders {
            let customer = customers
                .get(&order.customer)
                .copied()
                .ok_or_else(|| Error::not_found(CustomerId::LABEL, &order.customer))?;
            let created_at = real_now.minus_days(order.created_days_ago);
            // Later steps of the order's history, an hour or a day apart, never in the future.
            let mut clock = created_at;
            let mut advance = |tx: &mut Tx<'_>, millis: i64| {
                clock = clock.plus_millis(millis).min(real_now);
                tx.set_now(clock);
            };
            advance(self, 0);
            let token_package = order
                .package
                .as_ref()
                .filter(|_| crate::tokens::module_on(&organization));
            let created = if let Some(package) = token_package {
                self.demo_token_order(org, customer, package, order.email_confirmation)?
            } else {
                self.create_order(
                    &Actor::customer(org, customer),
                    NewOrder {
                        title: order.title.clone(),
                        description: order.description.clone(),
                        budget: order.budget_minor.map(Money),
                        deadline: order
                            .deadline
                            .as_deref()
                            .map(|text| Date::parse("deadline", text))
                            .transpose()?,
                        custom_fields: super::tickets::fields::fields_of(self, org)?
                            .parse_answers(
                                order
                                    .fields
                                    .iter()
                                    .map(|(key, answer)| (key.as_str(), answer.as_str())),
                            )?,
                        ..NewOrder::default()
                    },
                )?
            };
            counts.orders += 1;
            let id = created.id;
            order_ids.push((id, created.created_at));
            if !order.markers.is_empty() {
                self.set_order_markers(&system, id, marker_ids(&order.markers)?)?;
            }
            let target = organization
                .pipeline
                .stage_by_key(&order.stage)
                .ok_or_else(|| {
                    Error::invalid("stage", format!("{:?} is not a stage", order.stage))
                })?
                .clone();
            if target.kind == StageKind::Won {
                won.entry(order.customer.clone()).or_insert(id);
            }
            let moderated = organization
                .pipeline
                .stage(created.stage)
                .is_some_and(|stage| stage.kind == StageKind::Moderation);
            if moderated && target.id != created.stage {
                advance(self, 2 * HOUR);
                if target.kind == StageKind::Lost
                    && organization
                        .pipeline
                        .transition(created.stage, target.id)
                        .is_some()
                {
                    let reason = order
                        .rejection_reason
                        .clone()
                        .unwrap_or_else(|| "Not a fit for the studio.".to_string());
                    self.reject_order(&system, id, &reason)?;
                } else {
                    self.approve_order(&system, id)?;
                }
            }
            let mut accepted = None;
            for bid in &order.bids {
                advance(self, HOUR);
                let author = staff_id(&bid.staff)?;
                let placed = self.place_bid(
                    &Actor::staff(org, author),
                    id,
                    Money(bid.price_minor),
                    &bid.comment,
                )?;
                counts.bids += 1;
                if order.assignee.as_deref() == Some(bid.staff.as_str()) {
                    accepted = Some(placed.id);
                }
            }
            if let Some(assignee) = &order.assignee {
                advance(self, 24 * HOUR);
                let to = match accepted {
                    Some(bid) => AssignTo::Bid(bid),
                    None => AssignTo::User(staff_id(assignee)?),
                };
                self.assign_order(&system, id, to)?;
            }
            let current = super::orders::load_order(self, org, id)?.stage;
            if current != target.id {
                let steps = path(&organization.pipeline, current, target.id).ok_or_else(|| {
                    Error::conflict(format!(
                        "the pipeline has no way from stage {current} to {}",
                        target.key
                    ))
                })?;
                for step in steps {
                    advance(self, 24 * HOUR);
                    self.move_order(&system, id, step)?;
                }
            }
            for message in &order.messages {
                advance(self, HOUR / 3);
                if let Some(username) = message.from.strip_prefix("note:") {
                    self.post_note(
                        &Actor::staff(org, staff_id(username)?),
                        NewNote {
                            customer,
                            order: Some(id),
                            text: message.text.clone(),
                        },
                    )?;
                    counts.notes += 1;
                    counts.messages += 1;
                    continue;
                }
                match message.from.strip_prefix("staff:") {
                    Some(username) => {
                        self.post_outbound(
                            &Actor::staff(org, staff_id(username)?),
                            OutboundMessage {
                                customer,
                                order: Some(id),
                                text: message.text.clone(),
                                attachments: Vec::new(),
                                reply_to: None,
                                content: None,
                            },
                        )?;
                    }
                    None => {
                        self.post_inbound(
                            &Actor::customer(org, customer),
                            InboundMessage {
                                customer,
                                about: OrderChoice::Chosen(id),
                                text: message.text.clone(),
                                attachments: Vec::new(),
                                telegram_message_id: None,
                                content: None,
                                reply_to_telegram: None,
                                media_group: None,
                            },
                        )?;
                    }
                }
                counts.messages += 1;
            }
            if let Some(rating) = &order.rating {
                advance(self, HOUR);
                let customer_actor = Actor::customer(org, customer);
                self.rate_order(&customer_actor, id, rating.stars)?;
                if let Some(comment) = &rating.comment {
                    self.comment_rating(&customer_actor, id, comment)?;
                }
                counts.ratings += 1;
            }
        }
        self.set_now(real_now);
        if let Some(tokens) = &prepared.file.tokens {
            for bonus in &tokens.bonuses {
                let customer = customers
                    .get(&bonus.customer)
                    .copied()
                    .ok_or_else(|| Error::not_found(CustomerId::LABEL, &bonus.customer))?;
                self.grant_bonus(&system, customer, bonus.amount, &bonus.reason)?;
            }
        }
        for canned in &prepared.file.canned {
            let mut texts = Localized::default();
            for (code, text) in &canned.texts {
                texts.set(Language::parse("texts", code)?, text.as_str());
            }
            self.create_canned(
                &system,
                super::canned::CannedInput {
                    code: canned.code.clone(),
                    title: canned.title.clone(),
                    texts,
                    attachments: Vec::new(),
                },
                Vec::new(),
            )?;
            counts.canned += 1;
        }
        for profile in &prepared.file.profiles {
            let customer = *customers.get(&profile.customer).ok_or_else(|| {
                Error::invalid(
                    "demo",
                    format!(
                        "a profile names customer {:?}, who is not in the file",
                        profile.customer
                    ),
                )
            })?;
            self.create_profile(&system, customer, profile.answers.clone())?;
            counts.profiles += 1;
        }
        if let Some(hours) = &prepared.file.hours {
            let mut auto_reply = Localized::default();
            for (code, text) in &hours.auto_reply {
                auto_reply.set(Language::parse("auto_reply", code)?, text.as_str());
            }
            self.set_business_hours(
                &system,
                super::hours::HoursInput {
                    enabled: hours.enabled,
                    time_zone: None,
                    week: hours.week.clone(),
                    holidays: String::new(),
                    auto_reply,
                },
            )?;
        }
        for status in &prepared.file.operator_status {
            self.set_operator_status(&system, staff_id(&status.staff)?, status.status)?;
        }
        for extension in &prepared.file.extensions {
            self.map_call_extension(
                &system,
                &extension.extension,
                Some(staff_id(&extension.staff)?),
            )?;
        }
        counts.calls = self.replay_demo_calls(&organization, &prepared.file.calls, real_now)?;
        for broadcast in &prepared.file.broadcasts {
            self.demo_broadcast(
                org,
                broadcast,
                staff_id(&broadcast.author)?,
                &customers,
                real_now,
            )?;
        }
        if organization.modules.contains(Module::Projects) {
            let known = projects::Known {
                org,
                now: real_now,
                staff: &staff,
                customers: &customers,
                won: &won,
            };
            for project in &prepared.file.projects {
                counts.daily_reports += self.demo_project(&known, project)?;
                counts.projects += 1;
            }
        }
        for lead in &prepared.file.leads {
            let (order, created_at) = lead
                .order
                .checked_sub(1)
                .and_then(|index| order_ids.get(index))
                .copied()
                .ok_or_else(|| {
                    Error::invalid(
                        "demo",
                        format!(
                            "a lead names order {}, which is not in the file",
                            lead.order
                        ),
                    )
                })?;
            let stopped_by = lead
                .stopped_by
                .as_deref()
                .map(|username| staff_id(username).map(ActorRef::Staff))
                .transpose()?;
            let calls = lead
                .calls
                .iter()
                .map(|call| demo_call(call, created_at))
                .collect::<Result<Vec<AiCall>>>()?;
            super::leads::load_demo_lead(
                self,
                &organization,
                order,
                super::leads::DemoLeadData {
                    summary: lead.summary.clone(),
                    hot_reason: lead.hot_reason.clone(),
                    stopped_by,
                    fell_back: lead.fell_back,
                    calls,
                },
            )?;
        }
        self.set_now(real_now);
        self.close_demo_outbox(org, outbox_before)?;
        self.audit(
            &system,
            AuditAction::DemoLoaded,
            Subject::Organization,
            AuditDetail::Text(format!(
                "{} markers, {} staff, {} customers, {} orders, {} bids, {} messages",
                counts.markers,
                staff.len(),
                counts.customers,
                counts.orders,
                counts.bids,
                counts.messages
            )),
        )?;
        Ok(counts)
    }

    /// A demo broadcast: a draft, or one started `days_ago` with every recipient handed to the
    /// outbox and answered as Telegram would have (the outbox's own bookkeeping, so the
    /// report is what a real run leaves).
    fn demo_broadcast(
        &mut self,
        org: OrgId,
        demo: &DemoBroadcast,
        author: UserId,
        customers: &HashMap<String, CustomerId>,
        real_now: Timestamp,
    ) -> Result<()> {
        let author = Actor::staff(org, author);
        let mut languages = Vec::new();
        for code in &demo.languages {
            languages.push(Language::parse("languages", code)?);
        }
        self.set_now(real_now.plus_millis(-demo.days_ago * 24 * HOUR));
        let broadcast = self.create_broadcast(
            &author,
            super::broadcasts::BroadcastDraft {
                title: demo.title.clone(),
                text: demo.text.clone(),
                audience: Audience {
                    languages,
                    ..Audience::default()
                },
                rate_per_second: super::broadcasts::DEFAULT_RATE,
            },
        )?;
        match demo.state.as_str() {
            "draft" => return Ok(()),
            "finished" => {}
            other => {
                return Err(Error::invalid(
                    "demo",
                    format!("a broadcast's state is {other:?}, not finished or draft"),
                ));
            }
        }
        let mut blocked = Vec::new();
        for key in &demo.blocked {
            blocked.push(*customers.get(key).ok_or_else(|| {
                Error::invalid(
                    "demo",
                    format!("a broadcast names customer {key:?}, who is not in the file"),
                )
            })?);
        }
        let started = self.start_broadcast(&author, broadcast.id)?;
        let items_before = self.counter(tables::SEQUENCES, &Key::org(org).bytes(b"outbox"))?;
        self.feed_broadcast(
            org,
            broadcast.id,
            usize::try_from(started.counts.recipients).unwrap_or(usize::MAX),
        )?;
        let items_after = self.counter(tables::SEQUENCES, &Key::org(org).bytes(b"outbox"))?;
        for id in (items_before + 1)..=items_after {
            let id = OutboxId(id);
            let item: OutboxItem = self
                .get(tables::OUTBOX, &Key::org(org).u64(id.0))?
                .ok_or_else(|| Error::not_found("outbox item", id))?;
            let Recipient::Customer(customer) = item.recipient else {
                continue;
            };
            self.set_now(self.now().plus_millis(100));
            if blocked.contains(&customer) {
                self.outbox_failed(
                    org,
                    id,
                    &DeliveryFailure::Blocked {
                        reason: "Forbidden: bot was blocked by the user".into(),
                    },
                )?;
            } else {
                self.outbox_begin(org, id)?;
                self.outbox_delivered(org, id, Some(i64::try_from(id.0).unwrap_or(0)))?;
            }
        }
        Ok(())
    }

    /// The demo's order of `package` (a key) for `customer`, placed as the customer through
    /// the token service; a purchase (a paid invoice, in whole hundreds of tokens) first when
    /// the balance does not cover it.
    fn demo_token_order(
        &mut self,
        org: OrgId,
        customer: CustomerId,
        package: &str,
        email_confirmation: bool,
    ) -> Result<crate::model::Order> {
        let actor = Actor::customer(org, customer);
        let package = crate::tokens::packages_in(self, &actor)?
            .into_iter()
            .find(|candidate| candidate.key == package)
            .ok_or_else(|| Error::not_found("package", package))?;
        let quote = crate::tokens::quote_in(self, &actor, None, package.id, email_confirmation)?;
        if !quote.enough {
            let missing = i64::try_from(quote.cost).unwrap_or(i64::MAX) - quote.balance;
            let tokens = u64::try_from(missing).unwrap_or(0).div_ceil(100) * 100;
            let invoice = self.next_id(org, "demo_invoice")?;
            self.system().credit_purchase(
                org,
                customer,
                tokens,
                &format!("oxapay:DEMO-{invoice:05}"),
                &format!("{tokens} tokens"),
            )?;
        }
        Ok(self
            .place_token_order(
                &actor,
                crate::tokens::TokenOrderRequest {
                    package: package.id,
                    email_confirmation,
                    ..crate::tokens::TokenOrderRequest::default()
                },
            )?
            .order)
    }

    /// Replays the demo's calls as the PBX would send them: a start, and for an answered call
    /// an answer, then an end, each signed with a secret set for the replay and removed after
    /// it (the organization's own secret, when it had one, is not touched: with one set, the
    /// demo records no calls rather than learn it). Returns the calls recorded.
    fn replay_demo_calls(
        &mut self,
        organization: &Organization,
        calls: &[DemoCall],
        now: Timestamp,
    ) -> Result<u64> {
        let org = organization.id;
        if calls.is_empty() || !super::calls::calls_enabled(organization) {
            return Ok(0);
        }
        if super::calls::load_settings(self, org)?.api_secret.is_some() {
            return Ok(0);
        }
        let system = Actor::system(org);
        let secret = password::random_string(32, b"abcdefghijklmnopqrstuvwxyz0123456789")?;
        self.set_zadarma_secret(&system, &secret)?;
        let zone = jiff::tz::TimeZone::get(&organization.settings.time_zone)
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let local = |at: Timestamp| -> Result<String> {
            let moment = jiff::Timestamp::from_millisecond(at.millis())
                .map_err(|error| Error::invalid("call_start", error.to_string()))?;
            Ok(moment
                .to_zoned(zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string())
        };
        let day_start = now.millis() - now.millis().rem_euclid(86_400_000);
        for (number, call) in calls.iter().enumerate() {
            let mut started =
                day_start - call.days_ago * 86_400_000 + i64::from(call.hour) * 3_600_000;
            // A working hour of today that has not come yet was yesterday's.
            if started > now.millis() - 3_600_000 {
                started -= 86_400_000;
            }
            let started = Timestamp::from_millis(started);
            let start = local(started)?;
            let pbx_call_id = format!("demo-{}-{number}", if call.inbound { "in" } else { "out" });
            let answered = call.talk_seconds > 0;
            let duration = (call.talk_seconds + 8).to_string();
            let disposition = if answered { "answered" } else { "no answer" };
            let events: Vec<(CallEvent, Vec<(&str, &str)>)> = if call.inbound {
                let mut events = vec![(
                    CallEvent::Start,
                    vec![
                        ("call_start", start.as_str()),
                        ("pbx_call_id", pbx_call_id.as_str()),
                        ("caller_id", call.phone.as_str()),
                        ("called_did", "18005550100"),
                    ],
                )];
                if answered {
                    events.push((
                        CallEvent::Answer,
                        vec![
                            ("call_start", start.as_str()),
                            ("pbx_call_id", pbx_call_id.as_str()),
                            ("caller_id", call.phone.as_str()),
                            ("destination", call.extension.as_str()),
                        ],
                    ));
                }
                events.push((
                    CallEvent::End,
                    vec![
                        ("call_start", start.as_str()),
                        ("pbx_call_id", pbx_call_id.as_str()),
                        ("caller_id", call.phone.as_str()),
                        ("called_did", "18005550100"),
                        ("internal", call.extension.as_str()),
                        ("duration", duration.as_str()),
                        ("disposition", disposition),
                        ("status_code", "16"),
                        ("is_recorded", if answered { "1" } else { "0" }),
                    ],
                ));
                events
            } else {
                vec![
                    (
                        CallEvent::OutStart,
                        vec![
                            ("call_start", start.as_str()),
                            ("pbx_call_id", pbx_call_id.as_str()),
                            ("internal", call.extension.as_str()),
                            ("destination", call.phone.as_str()),
                        ],
                    ),
                    (
                        CallEvent::OutEnd,
                        vec![
                            ("call_start", start.as_str()),
                            ("pbx_call_id", pbx_call_id.as_str()),
                            ("internal", call.extension.as_str()),
                            ("destination", call.phone.as_str()),
                            ("duration", duration.as_str()),
                            ("disposition", disposition),
                            ("status_code", "16"),
                            ("is_recorded", if answered { "1" } else { "0" }),
                        ],
                    ),
                ]
            };
            for (event, fields) in events {
                // Each notification arrives when it happens: the answer after 8 s of
                // ringing, the end when the talk is over.
                let after_seconds = match event {
                    CallEvent::Start | CallEvent::OutStart | CallEvent::Internal => 0,
                    CallEvent::Answer => 8,
                    CallEvent::End | CallEvent::OutEnd => 8 + i64::from(call.talk_seconds),
                };
                self.set_now(started.plus_millis(after_seconds * 1000));
                let (notification, signature) =
                    super::calls::sign_notification(&secret, event, &fields);
                self.record_zadarma_notification(org, &notification, Some(&signature))?;
            }
        }
        self.set_now(now);
        self.set_zadarma_secret(&system, "")?;
        Ok(calls.len() as u64)
    }

    /// Closes what the demo queued: every outbox item after `before` is recorded as
    /// delivered (and leaves the due index), and the chat messages they carried as sent.
    fn close_demo_outbox(&mut self, org: OrgId, before: u64) -> Result<()> {
        let after = self.counter(tables::SEQUENCES, &Key::org(org).bytes(b"outbox"))?;
        for id in (before + 1)..=after {
            let key = Key::org(org).u64(id);
            let Some(before) = self.get::<OutboxItem>(tables::OUTBOX, &key)? else {
                continue;
            };
            if !before.state.is_open() {
                continue;
            }
            let mut item = before.clone();
            item.state = OutboxState::Delivered {
                telegram_message_id: None,
                at: item.created_at,
            };
            self.update_record(&key, &before, &item)?;
            if let OutboxPayload::ChatMessage(message) = item.payload {
                let message_key = Key::org(org).u64(message.0);
                if let Some(mut record) = self.get::<Message>(tables::MESSAGES, &message_key)? {
                    record.delivery = DeliveryState::Sent;
                    self.put(tables::MESSAGES, &message_key, &record)?;
                }
            }
        }
        Ok(())
    }
}

impl crate::system::System<'_> {
    /// Loads the demo data of the organization's template into `org` (see the module
    /// documentation): its markers (those the organization has under the same name already
    /// are reused), staff users with generated passwords (returned once in the report), 60
    /// customers and orders in every stage of the pipeline, with bids and chats.
    ///
    /// Hashes the staff passwords first (argon2id, outside the write transaction), then runs
    /// the whole load in one write transaction. Blocks for both: about a second.
    ///
    /// # Errors
    /// - [`crate::ErrorKind::Conflict`] when the organization already has orders (the demo
    ///   loads once, into an empty organization) or a demo username is taken;
    /// - [`crate::ErrorKind::InvalidInput`] when the organization's pipeline lacks a stage the
    ///   demo data names;
    /// - [`crate::ErrorKind::NotFound`] for an unknown organization.
    pub fn load_demo(&self, org: OrgId) -> Result<DemoReport> {
        let started = Instant::now();
        let template = self.crm.read(|view| load_org(view, org))?.template;
        let file = parse_demo(&template)?;
        self.crm
            .read(|view| check_loadable(view, org, &file).map(|_| ()))?;
        let mut staff = Vec::with_capacity(file.staff.len());
        let mut hashes = Vec::with_capacity(file.staff.len());
        for member in &file.staff {
            let password = password::generate_password()?;
            hashes.push(password::hash_password(&password)?);
            staff.push(DemoStaffLogin {
                username: member.username.clone(),
                display_name: member.display_name.clone(),
                role: member.role.clone(),
                password,
            });
        }
        let prepared = Prepared { file, hashes };
        let counts = self.crm.write(move |tx| tx.load_demo_in(org, prepared))?;
        let stages = self.crm.stage_counts(&Actor::system(org))?;
        Ok(DemoReport {
            markers: counts.markers,
            staff,
            customers: counts.customers,
            orders: counts.orders,
            bids: counts.bids,
            messages: counts.messages,
            calls: counts.calls,
            notes: counts.notes,
            canned: counts.canned,
            ratings: counts.ratings,
            stages,
            profiles: counts.profiles,
            projects: counts.projects,
            daily_reports: counts.daily_reports,
            duration: started.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_demo_data_of_every_template_parses() {
        let file = parse_demo("studio").unwrap();
        assert_eq!(file.orders.len(), 200);
        assert_eq!(file.staff.len(), 8);
        for template in crate::templates::NAMES {
            let file = parse_demo(template).unwrap();
            let pipeline = crate::templates::template(template).unwrap().pipeline;
            for order in &file.orders {
                assert!(
                    pipeline.stage_by_key(&order.stage).is_some(),
                    "{template}: {}",
                    order.stage
                );
            }
        }
        assert!(parse_demo("other").is_err());
    }

    #[test]
    fn demo_data_naming_a_stage_the_pipeline_lacks_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let crm = crate::Crm::open(dir.path().join("crm.redb")).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Acme", "acme")
            .unwrap();
        let mut file = parse_demo("studio").unwrap();
        file.orders[3].stage = "qa".into();
        let error = crm
            .read(|view| check_loadable(view, org.id, &file).map(|_| ()))
            .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::InvalidInput, "{error}");
        assert!(error.to_string().contains("\"qa\""), "{error}");
    }

    #[test]
    fn a_path_follows_the_studio_pipeline() {
        let pipeline = crate::templates::template("studio").unwrap().pipeline;
        let key = |key: &str| pipeline.stage_by_key(key).unwrap().id;
        let steps = path(&pipeline, key("approved"), key("delivered")).unwrap();
        let keys: Vec<&str> = steps
            .iter()
            .map(|id| pipeline.stage(*id).unwrap().key.as_str())
            .collect();
        assert_eq!(keys, ["in_progress", "testing", "completed", "delivered"]);
        assert!(path(&pipeline, key("delivered"), key("approved")).is_none());
    }
}
