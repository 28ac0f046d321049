//! Leads with AI qualification (SPEC 5E; the renovation seed's Module B, "AI Sales Agent"):
//! the projects module's leads pipeline fed by the bot.
//!
//! A lead is an order of an organization running the projects module (SPEC 3.1, "One work
//! item, many pipelines"): the renovation template's New -> Qualified -> Measurement ->
//! Estimate -> Contract -> Won / Lost, with the template's typed fields as its slots (area,
//! renovation type, budget, address), its `source` and its `hot` flag. This area is its own
//! module rather than more of `orders`, because what it adds is its own: three tables
//! ([`Lead`] in `leads`, [`AiRequest`] in `ai_requests` with its due index, [`AiSettings`]),
//! the AI's prompt and the checks of its answers, and the fixed questions; the order rules
//! stay where they are and are called, not copied.
//!
//! # The customer's side
//! The bot hands a customer's message to [`Tx::post_lead_message`]: their open lead gets it,
//! or the first message creates one (in the pipeline's first stage, `source` = `bot`). Every
//! message about a lead ([`Tx::post_inbound`] calls `on_customer_message`) alerts the
//! managers ([`Event::LeadWrote`] to staff with `moderate_orders` and a linked Telegram
//! account; they get no [`Event::CustomerWrote`] for it) and, when the AI works the lead,
//! queues an [`AiRequest`]: at most one per lead (keyed by it), so messages that arrive while
//! it waits are read with it. Who qualifies a lead ([`Qualifier`]) is decided by one rule,
//! [`qualifier_of`]: the fixed questions while the customer walks them; nobody automated once
//! the lead is hot, left its first stage, or a person stopped the AI; the AI while the
//! organization's AI is on ([`AiSettings::is_on`]) and it was not stopped; else the fixed
//! questions, started once per lead.
//!
//! # The AI
//! crm-lib makes no HTTP call. The appliance reads the due requests
//! ([`System::due_ai_requests`](crate::system::System::due_ai_requests)): each carries the
//! system prompt (the instructions, the slot definitions and the JSON schema of the answer,
//! never the customer's text), the conversation (the customer's messages as `user` turns
//! only, the business's as `assistant` turns), the schema for `response_format`, the URL,
//! the model, the timeout and the key. It makes the call after commit, never inside the
//! inbox's transaction, and reports the raw outcome to
//! [`System::ai_answered`](crate::system::System::ai_answered), which in one transaction
//! logs the call (latency, tokens, model, outcome) and either applies the answer or counts a
//! failure. An answer is checked whole before anything is written (see `answer.rs`: every
//! key known, every type right, each slot read by its field's [`FieldDef::parse_answer`],
//! the summary and the reply within their bounds); a malformed or hostile answer writes
//! nothing but the call log. A good one writes the slots (never one a person set), the
//! summary, the hot flag, the reply to the customer (a chat message of the system, queued in
//! the outbox) and its audit entry. A hot lead stops the AI and alerts the managers
//! ([`Event::LeadHot`]). An error status, a timeout or a broken connection is retried on
//! [`RETRY_SCHEDULE_MS`] (429's `Retry-After` obeyed); a refused answer or an exhausted
//! retry counts a failure, and after [`FAILURES_MAX`] in a row the AI stops on the lead and
//! the bot asks the fixed questions ([`Event::FormQuestion`]).
//!
//! # The fixed questions
//! The template's `qualification` form (the slots to ask, in order) walked by the generic
//! form engine (`crate::forms`, [`FormName::Qualification`]): each answer fills its slot at
//! once, the confirmation closes the walk. Started once per lead, by the customer's message
//! while the AI is off, or by the AI giving up.

mod ai;
mod answer;
pub(crate) mod questions;
mod settings;

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::declarations::{form_key, lead_key, progress_key};
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::orders::{load_order, may_view, save_order};
use super::{Resolved, load_org, resolve};

pub use ai::{
    AiCallReport, AiCallResult, ChatRole, ChatTurn, DueAi, DueAiRequest, RETRY_AFTER_MAX_MS,
    RETRY_SCHEDULE_MS,
};
pub use questions::{LeadQuestions, LeadTurn};
pub use settings::{AiSettingsInput, AiSettingsView, ai_settings_in};

/// The key of the slot that says where a lead came from (a choice field; the bot writes
/// [`BOT_SOURCE`] when the organization declares it).
pub const SOURCE_FIELD: &str = "source";

/// The `source` of a lead the bot created.
pub const BOT_SOURCE: &str = "bot";

/// The key of the flag field that marks a lead hot, when the organization declares it (lists
/// show it); [`Lead::hot`] keeps why.
pub const HOT_FIELD: &str = "hot";

/// Failed answers in a row after which the AI stops on a lead and the fixed questions are
/// asked.
pub const FAILURES_MAX: u32 = 3;

/// Calls kept in a lead's call log (the oldest go first; [`Lead::calls_total`] counts all).
pub const CALLS_KEPT: usize = 50;

/// The longest summary the AI may write, in characters.
pub const SUMMARY_MAX_CHARS: usize = 1000;

/// The longest reply the AI may send the customer, in characters.
pub const REPLY_MAX_CHARS: usize = 1000;

/// The longest reason the AI may give for a hot lead, in characters.
pub const HOT_REASON_MAX_CHARS: usize = 300;

/// The most messages of a lead's conversation sent with a call (the latest).
pub const CONVERSATION_MAX: usize = 30;

/// The longest a call of the AI may be given, in seconds.
pub const TIMEOUT_MAX_SECONDS: u32 = 120;

/// Whether the organization runs the projects module (its orders are leads).
pub(crate) fn module_on(org: &Organization) -> bool {
    org.modules.contains(Module::Projects)
}

/// The organization's AI settings (the defaults, AI off for want of a key, when never saved).
pub(crate) fn settings_of(view: &impl View, org: OrgId) -> Result<AiSettings> {
    Ok(view
        .get::<AiSettings>(tables::AI_SETTINGS, &Key::org(org))?
        .unwrap_or_default())
}

/// The lead's qualification record, when one was written.
pub(crate) fn load_lead(view: &impl View, org: OrgId, order: OrderId) -> Result<Option<Lead>> {
    view.get(tables::LEADS, &lead_key(org, order))
}

/// Writes a lead's qualification record (`before` is what is stored, if anything).
fn save_lead(tx: &Tx<'_>, org: OrgId, before: Option<&Lead>, after: &Lead) -> Result<()> {
    let key = lead_key(org, after.order);
    match before {
        Some(before) if before == after => Ok(()),
        Some(before) => tx.update_record(&key, before, after),
        None => tx.insert_record(&key, after),
    }
}

/// The organization's fixed qualification questions: the slots the AI and the questions
/// fill (empty when it declares none).
pub(crate) fn questions_of(view: &impl View, org: &Organization) -> Result<FormDef> {
    let stored = view.get::<FormDef>(tables::FORMS, &form_key(org.id, FormName::Qualification))?;
    Ok(stored.unwrap_or_else(|| super::template_form(&org.template, FormName::Qualification)))
}

/// The walk of the fixed questions under way for `order`, when its customer walks them for
/// this lead.
pub(crate) fn walk_of(view: &impl View, org: OrgId, order: &Order) -> Result<Option<FormProgress>> {
    let progress = view.get::<FormProgress>(
        tables::FORM_PROGRESS,
        &progress_key(org, order.customer, FormName::Qualification),
    )?;
    Ok(progress.filter(|progress| lead_of_walk(progress) == Some(order.id)))
}

/// The lead a walk of the fixed questions fills (its context's `lead`).
pub(crate) fn lead_of_walk(progress: &FormProgress) -> Option<OrderId> {
    progress
        .context
        .get("lead")
        .and_then(|id| id.parse::<u64>().ok())
        .map(OrderId)
}

/// Whether an order's list row says the lead is hot (its `hot` flag field): what lists and
/// the board mark, read from the row alone.
pub fn is_hot(row: &OrderSummary) -> bool {
    row.fields
        .iter()
        .any(|(key, value)| key == HOT_FIELD && *value == FieldValue::Flag(true))
}

/// Whether an order is a hot lead (its `hot` flag field): what the moderation queue marks.
pub fn order_is_hot(order: &Order) -> bool {
    order.custom_fields.get(HOT_FIELD) == Some(&FieldValue::Flag(true))
}

/// Who qualifies a lead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// The AI answers the customer's messages.
    Ai,
    /// The bot asks the fixed questions (under way, or to start at the customer's next
    /// message).
    Questions,
    /// Nobody automated: the staff (the lead is hot, moved on, the AI was stopped, or the
    /// questions were asked already).
    Staff,
}

impl Qualifier {
    /// `ai`, `questions` or `staff`: the stable names the API and the CLI print.
    pub fn as_str(self) -> &'static str {
        match self {
            Qualifier::Ai => "ai",
            Qualifier::Questions => "questions",
            Qualifier::Staff => "staff",
        }
    }
}

/// The one rule of who qualifies a lead (see the [module documentation](self)): the fixed
/// questions while they are walked; nobody once the lead is hot, out of the pipeline's first
/// stage, or the AI was stopped by a person or by the lead turning hot; the AI while the
/// organization's AI is on and it works the lead; else the fixed questions, when the
/// organization has some and they were not started for this lead.
pub fn qualifier_of(
    org: &Organization,
    settings: &AiSettings,
    order: &Order,
    lead: &Lead,
    walking: bool,
    has_questions: bool,
) -> Qualifier {
    if walking {
        return Qualifier::Questions;
    }
    if lead.hot.is_some() || order.stage != org.pipeline.initial().id {
        return Qualifier::Staff;
    }
    match &lead.ai {
        LeadAi::Active if settings.is_on() => Qualifier::Ai,
        LeadAi::Stopped {
            why: AiStop::Manual(_) | AiStop::Hot,
            ..
        } => Qualifier::Staff,
        _ if has_questions && !lead.questions_started => Qualifier::Questions,
        _ => Qualifier::Staff,
    }
}

/// Who qualifies `order` now, read from the store.
pub(crate) fn qualifier_in(
    view: &impl View,
    org: &Organization,
    order: &Order,
    lead: &Lead,
) -> Result<Qualifier> {
    let settings = settings_of(view, org.id)?;
    let walking = walk_of(view, org.id, order)?.is_some();
    let has_questions = !questions_of(view, org)?.fields.is_empty();
    Ok(qualifier_of(
        org,
        &settings,
        order,
        lead,
        walking,
        has_questions,
    ))
}

/// What a person may do with a lead's qualification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadActions {
    /// Stop the AI ([`Tx::stop_lead_ai`]): `moderate_orders`, while the AI works the lead.
    pub stop_ai: bool,
    /// Let the AI work the lead again ([`Tx::resume_lead_ai`]): `moderate_orders`, while it
    /// is stopped.
    pub resume_ai: bool,
}

/// A lead's qualification as the order page, the API and `crm lead show` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadView {
    /// The lead (an order).
    pub order: OrderId,
    /// The slots the AI and the fixed questions fill, in the order asked, each with the
    /// lead's value when it has one.
    pub slots: Vec<(FieldDef, Option<FieldValue>)>,
    /// How many of them have a value.
    pub filled: usize,
    /// Where the lead came from (the `source` field with its value), when recorded.
    pub source: Option<(FieldDef, FieldValue)>,
    /// The AI's summary.
    pub summary: Option<String>,
    /// Why and since when it is hot, while it is.
    pub hot: Option<HotMark>,
    /// Whether the AI works it.
    pub ai: LeadAi,
    /// Whether the organization's AI is on (switched on, a key saved).
    pub ai_on: bool,
    /// Who qualifies it now.
    pub qualifier: Qualifier,
    /// The AI's failed answers in a row.
    pub failures: u32,
    /// When the waiting AI call is due, if one waits.
    pub pending: Option<Timestamp>,
    /// The latest calls of the AI, newest first.
    pub calls: Vec<AiCall>,
    /// Every call made on it.
    pub calls_total: u32,
    /// What the reader may do.
    pub actions: LeadActions,
}

/// The actions of a resolved actor on a lead in this state.
fn actions_of(resolved: &Resolved, lead: &Lead) -> LeadActions {
    let manager = matches!(resolved, Resolved::Staff(..) | Resolved::System)
        && resolved.has(Permission::ModerateOrders);
    LeadActions {
        stop_ai: manager && lead.ai == LeadAi::Active,
        resume_ai: manager && lead.ai != LeadAi::Active,
    }
}

/// A lead's qualification as `actor` may see it; `None` when the organization does not run
/// the projects module (its orders are no leads). Staff who may see the order may read it.
///
/// # Errors
/// Not found when the order does not exist or the actor may not see it; permission denied
/// for a customer (the summary and the call log are the staff's).
pub fn lead_in(view: &impl View, actor: &Actor, order: OrderId) -> Result<Option<LeadView>> {
    let resolved = resolve(view, actor)?;
    if matches!(resolved, Resolved::Customer(_)) {
        return Err(Error::denied(
            Permission::ViewOrders,
            format!("{} may not read a lead's qualification", actor.who),
        ));
    }
    let org = load_org(view, actor.org)?;
    let record = load_order(view, actor.org, order)?;
    if !may_view(view, &resolved, &org, &record)? {
        return Err(Error::not_found(OrderId::LABEL, order));
    }
    if !module_on(&org) {
        return Ok(None);
    }
    let lead = load_lead(view, actor.org, order)?.unwrap_or_else(|| Lead::new(order, view.now()));
    let settings = settings_of(view, actor.org)?;
    let questions = questions_of(view, &org)?;
    let walking = walk_of(view, actor.org, &record)?.is_some();
    let slots: Vec<(FieldDef, Option<FieldValue>)> = questions
        .fields
        .fields
        .iter()
        .map(|def| (def.clone(), record.custom_fields.get(&def.key).cloned()))
        .collect();
    let pending = view
        .get::<AiRequest>(tables::AI_REQUESTS, &lead_key(actor.org, order))?
        .map(|request| request.next_attempt_at);
    Ok(Some(LeadView {
        order,
        filled: slots.iter().filter(|(_, value)| value.is_some()).count(),
        slots,
        source: match (
            super::tickets::fields::fields_for(view, &org)?.get(SOURCE_FIELD),
            record.custom_fields.get(SOURCE_FIELD),
        ) {
            (Some(def), Some(value)) => Some((def.clone(), value.clone())),
            _ => None,
        },
        summary: lead.summary.clone(),
        hot: lead.hot.clone(),
        ai: lead.ai.clone(),
        ai_on: settings.is_on(),
        qualifier: qualifier_of(
            &org,
            &settings,
            &record,
            &lead,
            walking,
            !questions.fields.is_empty(),
        ),
        failures: lead.failures,
        pending,
        calls: lead.calls.iter().rev().cloned().collect(),
        calls_total: lead.calls_total,
        actions: actions_of(&resolved, &lead),
    }))
}

/// The lead `order` of a manager's action: the projects module on, the order visible, the
/// actor holding `moderate_orders`.
fn managed_lead(tx: &Tx<'_>, actor: &Actor, order: OrderId) -> Result<(Organization, Order)> {
    let resolved = resolve(tx, actor)?;
    let org = load_org(tx, actor.org)?;
    let record = load_order(tx, actor.org, order)?;
    if !may_view(tx, &resolved, &org, &record)? {
        return Err(Error::not_found(OrderId::LABEL, order));
    }
    if !module_on(&org) {
        return Err(Error::not_found("module", Module::Projects.as_str()));
    }
    if matches!(resolved, Resolved::Customer(_)) || !resolved.has(Permission::ModerateOrders) {
        return Err(Error::denied(
            Permission::ModerateOrders,
            format!("{} lacks the moderate_orders permission", actor.who),
        ));
    }
    Ok((org, record))
}

/// Deletes the AI call waiting for `order`, if one waits.
fn drop_request(tx: &Tx<'_>, org: OrgId, order: OrderId) -> Result<()> {
    let key = lead_key(org, order);
    if let Some(request) = tx.get::<AiRequest>(tables::AI_REQUESTS, &key)? {
        tx.delete_record(&key, &request)?;
    }
    Ok(())
}

impl Tx<'_> {
    /// Stops the AI on a lead: a person answers the customer from now on (the call waiting,
    /// if any, is dropped; an answer already under way is discarded when it comes). Needs
    /// `moderate_orders`; the projects module. Writes the lead's record, its audit entry
    /// (`lead.ai_stopped`) and a change of the order.
    ///
    /// # Errors
    /// Not found (the order, also when the actor may not see it; the module off); permission
    /// denied; conflict when the AI is stopped already.
    pub fn stop_lead_ai(&mut self, actor: &Actor, order: OrderId) -> Result<Lead> {
        let (_, record) = managed_lead(self, actor, order)?;
        let before = load_lead(self, actor.org, order)?;
        let mut lead = before
            .clone()
            .unwrap_or_else(|| Lead::new(order, self.now()));
        if lead.ai != LeadAi::Active {
            return Err(Error::conflict(format!(
                "the AI is stopped on lead {order} already"
            )));
        }
        lead.ai = LeadAi::Stopped {
            why: AiStop::Manual(actor.who),
            at: self.now(),
        };
        lead.updated_at = self.now();
        save_lead(self, actor.org, before.as_ref(), &lead)?;
        drop_request(self, actor.org, record.id)?;
        self.audit(
            actor,
            AuditAction::LeadAiStopped,
            Subject::Order(order),
            AuditDetail::None,
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        Ok(lead)
    }

    /// Lets the AI work a lead again (after a person stopped it, the lead turned hot, or its
    /// failures): its failures are forgotten and, when the customer wrote since its last
    /// answer, a call is queued. The AI answers only while the organization's AI is on and
    /// the lead is in the pipeline's first stage. Needs `moderate_orders`; the projects
    /// module. Writes the lead's record, its audit entry (`lead.ai_resumed`) and a change of
    /// the order.
    ///
    /// # Errors
    /// Not found (the order, also when the actor may not see it; the module off); permission
    /// denied; conflict when the AI works the lead already.
    pub fn resume_lead_ai(&mut self, actor: &Actor, order: OrderId) -> Result<Lead> {
        let (org, record) = managed_lead(self, actor, order)?;
        let before = load_lead(self, actor.org, order)?;
        let mut lead = before
            .clone()
            .unwrap_or_else(|| Lead::new(order, self.now()));
        if lead.ai == LeadAi::Active {
            return Err(Error::conflict(format!(
                "the AI works lead {order} already"
            )));
        }
        lead.ai = LeadAi::Active;
        lead.failures = 0;
        lead.updated_at = self.now();
        save_lead(self, actor.org, before.as_ref(), &lead)?;
        if qualifier_in(self, &org, &record, &lead)? == Qualifier::Ai
            && ai::customer_waits(self, actor.org, record.id)?
        {
            ai::queue(self, actor.org, record.id)?;
        }
        self.audit(
            actor,
            AuditAction::LeadAiResumed,
            Subject::Order(order),
            AuditDetail::None,
        )?;
        self.changed(actor.org, Subject::Order(order), ChangeKind::Updated)?;
        Ok(lead)
    }
}

impl Crm {
    /// See [`lead_in`]. Reads one snapshot.
    ///
    /// # Errors
    /// See [`lead_in`].
    pub fn lead(&self, actor: &Actor, order: OrderId) -> Result<Option<LeadView>> {
        self.read(|view| lead_in(view, actor, order))
    }

    /// See [`Tx::stop_lead_ai`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::stop_lead_ai`].
    pub fn stop_lead_ai(&self, actor: &Actor, order: OrderId) -> Result<Lead> {
        let actor = actor.clone();
        self.write(move |tx| tx.stop_lead_ai(&actor, order))
    }

    /// See [`Tx::resume_lead_ai`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::resume_lead_ai`].
    pub fn resume_lead_ai(&self, actor: &Actor, order: OrderId) -> Result<Lead> {
        let actor = actor.clone();
        self.write(move |tx| tx.resume_lead_ai(&actor, order))
    }
}

// ----- hooks other areas call in their transactions -----

/// A customer's message was recorded (in [`Tx::post_inbound`]'s transaction): when it is
/// about a lead, the managers (active staff with `moderate_orders` and a linked Telegram
/// account) are alerted ([`Event::LeadWrote`]), and when the AI qualifies the lead a call is
/// queued unless one waits already. Returns the managers alerted, whom the staff chat's
/// notice then skips.
pub(crate) fn on_customer_message(
    tx: &mut Tx<'_>,
    org: &Organization,
    message: &Message,
) -> Result<Vec<UserId>> {
    let Some(order_id) = message.order.filter(|_| module_on(org)) else {
        return Ok(Vec::new());
    };
    let order = load_order(tx, org.id, order_id)?;
    let stored = load_lead(tx, org.id, order_id)?;
    let lead = stored
        .clone()
        .unwrap_or_else(|| Lead::new(order_id, tx.now()));
    let customer = super::load_customer(tx, org.id, message.customer)?;
    let managers = super::team::linked_staff_with(tx, org.id, Permission::ModerateOrders)?;
    let event = Event::LeadWrote {
        customer: message.customer,
        customer_name: customer.full_name(),
        message: message.id,
        lead: order_id,
        title: order.title.clone(),
        text: message.text.clone(),
        attachment: message.attachments.first().map(|file| file.kind),
        hot: lead.hot.is_some(),
    };
    for user in &managers {
        tx.enqueue(
            org.id,
            Recipient::Staff(user.id),
            OutboxPayload::Notify(event.clone()),
        )?;
    }
    if qualifier_in(tx, org, &order, &lead)? == Qualifier::Ai {
        save_lead(tx, org.id, stored.as_ref(), &lead)?;
        ai::queue(tx, org.id, order_id)?;
    }
    Ok(managers.into_iter().map(|user| user.id).collect())
}

/// An order was deleted (in [`Tx::delete_order`]'s transaction): its qualification record
/// and its waiting AI call go with it.
pub(crate) fn on_order_deleted(tx: &Tx<'_>, org: OrgId, order: OrderId) -> Result<()> {
    if let Some(lead) = load_lead(tx, org, order)? {
        tx.delete_record(&lead_key(org, order), &lead)?;
    }
    drop_request(tx, org, order)
}

/// A lead's fields were changed by a person ([`Tx::set_order_fields`]'s transaction): the
/// slots they changed are no longer the AI's to change, and the `hot` flag set or cleared by
/// hand marks the lead hot (the AI stops; audit `lead.hot`) or no longer hot (`lead.not_hot`).
pub(crate) fn on_fields_changed(
    tx: &mut Tx<'_>,
    actor: &Actor,
    org: &Organization,
    before: &Order,
    after: &Order,
) -> Result<()> {
    if !module_on(org) {
        return Ok(());
    }
    let stored = load_lead(tx, org.id, after.id)?;
    let mut lead = stored
        .clone()
        .unwrap_or_else(|| Lead::new(after.id, tx.now()));
    lead.ai_slots
        .retain(|key| before.custom_fields.get(key) == after.custom_fields.get(key));
    let hot = |order: &Order| order.custom_fields.get(HOT_FIELD) == Some(&FieldValue::Flag(true));
    let mut action = None;
    if hot(after) && !hot(before) && lead.hot.is_none() {
        lead.hot = Some(HotMark {
            reason: String::new(),
            at: tx.now(),
            by: actor.who,
        });
        if lead.ai == LeadAi::Active {
            lead.ai = LeadAi::Stopped {
                why: AiStop::Hot,
                at: tx.now(),
            };
        }
        drop_request(tx, org.id, after.id)?;
        action = Some(AuditAction::LeadHot);
    } else if hot(before) && !hot(after) && lead.hot.is_some() {
        lead.hot = None;
        action = Some(AuditAction::LeadNotHot);
    }
    let unchanged = match &stored {
        Some(stored) => *stored == lead,
        None => action.is_none(),
    };
    if unchanged {
        return Ok(());
    }
    lead.updated_at = tx.now();
    save_lead(tx, org.id, stored.as_ref(), &lead)?;
    if let Some(action) = action {
        tx.audit(actor, action, Subject::Order(after.id), AuditDetail::None)?;
    }
    Ok(())
}

/// Writes `changes` to the lead's typed fields (a value, or `None` to clear), checked against
/// the organization's field set before anything is written; returns the order as written
/// and the changes in words (`area: - -> "50"`), empty when nothing changed (then nothing
/// is written). Writes no audit entry: the caller writes its own.
///
/// # Errors
/// Invalid input on `fields` when the set refuses the result.
pub(crate) fn write_slots(
    tx: &Tx<'_>,
    org: &Organization,
    order: &Order,
    changes: &BTreeMap<String, Option<FieldValue>>,
) -> Result<(Order, String)> {
    let set = super::tickets::fields::fields_for(tx, org)?;
    let mut values = order.custom_fields.clone();
    for (key, value) in changes {
        match value {
            Some(value) => values.insert(key.clone(), value.clone()),
            None => values.remove(key),
        };
    }
    if values == order.custom_fields {
        return Ok((order.clone(), String::new()));
    }
    set.check(&values)?;
    let mut after = order.clone();
    after.custom_fields = values;
    after.updated_at = tx.now();
    save_order(tx, org.id, order, &after)?;
    super::tickets::fraud::evaluate(tx, org, &after)?;
    let words =
        super::tickets::fields::describe_changes(&order.custom_fields, &after.custom_fields);
    Ok((after, words))
}

/// A lead's qualification as the demo (`crm demo`) writes it: made up, no AI is called.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DemoLeadData {
    /// The AI's summary.
    pub(crate) summary: Option<String>,
    /// Why it is hot (its order's `hot` field is set by the demo's fields).
    pub(crate) hot_reason: Option<String>,
    /// Who stopped the AI on it.
    pub(crate) stopped_by: Option<ActorRef>,
    /// Whether the AI gave up on it.
    pub(crate) fell_back: bool,
    /// Its call log, oldest first.
    pub(crate) calls: Vec<AiCall>,
}

/// Writes a demo lead's qualification record (in the demo's transaction, which audits the
/// load as a whole).
pub(crate) fn load_demo_lead(
    tx: &Tx<'_>,
    org: &Organization,
    order: OrderId,
    data: DemoLeadData,
) -> Result<()> {
    let record = load_order(tx, org.id, order)?;
    let stored = load_lead(tx, org.id, order)?;
    let mut lead = stored
        .clone()
        .unwrap_or_else(|| Lead::new(order, record.created_at));
    let last = data.calls.last().map_or(record.created_at, |call| call.at);
    lead.summary = data.summary;
    lead.ai_slots = questions_of(tx, org)?
        .fields
        .fields
        .iter()
        .filter(|def| record.custom_fields.contains_key(&def.key) && !data.calls.is_empty())
        .map(|def| def.key.clone())
        .collect();
    if let Some(reason) = data.hot_reason {
        lead.hot = Some(HotMark {
            reason,
            at: last,
            by: ActorRef::System,
        });
        lead.ai = LeadAi::Stopped {
            why: AiStop::Hot,
            at: last,
        };
    }
    if let Some(by) = data.stopped_by {
        lead.ai = LeadAi::Stopped {
            why: AiStop::Manual(by),
            at: last,
        };
    }
    if data.fell_back {
        lead.ai = LeadAi::Stopped {
            why: AiStop::Failures,
            at: last,
        };
        lead.questions_started = true;
    }
    lead.calls_total = u32::try_from(data.calls.len()).unwrap_or(u32::MAX);
    lead.calls = data.calls;
    lead.updated_at = last;
    save_lead(tx, org.id, stored.as_ref(), &lead)
}
