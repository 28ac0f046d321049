//! The AI's side of a lead: the call queued with the customer's message ([`queue`]), what
//! the appliance reads to make it ([`DueAi`], [`DueAiRequest`]: the prompt, the
//! conversation, the schema and where to send them), and what it reports back
//! ([`AiCallReport`]), which one transaction turns into the call log and either the answer
//! written or a failure counted (see the [module documentation](super)). Every call here is
//! reached through the system handle: no person acts in them.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde_json::Value;

use crate::model::*;
use crate::store::declarations::lead_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::System;
use crate::{ErrorKind, Result, Tx, View};

use super::super::orders::load_order;
use super::super::{load_customer, load_message, load_org};
use super::answer::{self, AiAnswer, REASON_MAX_CHARS, clip};
use super::{
    CALLS_KEPT, CONVERSATION_MAX, FAILURES_MAX, HOT_FIELD, Qualifier, drop_request, load_lead,
    module_on, qualifier_in, questions_of, save_lead, settings_of, walk_of, write_slots,
};

/// When a call that failed without an answer (an error status, a timeout, a broken
/// connection) is tried again: milliseconds after each failed attempt, in order. After the
/// last, the failure counts against the lead ([`super::FAILURES_MAX`]).
pub const RETRY_SCHEDULE_MS: &[i64] = &[1_000, 5_000, 30_000];

/// The longest wait a 429's `Retry-After` is obeyed for, in milliseconds (10 minutes).
pub const RETRY_AFTER_MAX_MS: i64 = 10 * 60_000;

/// The wait before the AI is asked again after a refused answer, per failure so far, in
/// milliseconds.
const FAILURE_RETRY_MS: i64 = 2_000;

/// Who said a message of the conversation sent to the AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    /// The customer: their text is only ever sent in these turns.
    User,
    /// The business: the AI's earlier replies and the staff's messages.
    Assistant,
}

impl ChatRole {
    /// `user` or `assistant`: the role's name in a chat completion request.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        }
    }
}

/// One message of the conversation sent to the AI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTurn {
    /// Who said it.
    pub role: ChatRole,
    /// What was said (a file is named in brackets, `[photo]`).
    pub content: String,
}

/// A call of the AI due now, with everything the appliance needs to make it: POST a chat
/// completion request to [`DueAiRequest::url`] with `Authorization: Bearer` and the key,
/// the model, the system prompt as the first (`system`) message, the conversation's turns
/// after it, and `response_format` `json_schema` with [`DueAiRequest::schema`]; give up after
/// [`DueAiRequest::timeout_ms`]; report the outcome with
/// [`System::ai_answered`](crate::system::System::ai_answered). `Debug` never prints the key
/// (nor the conversation).
#[derive(Clone, PartialEq)]
pub struct DueAiRequest {
    /// The organization.
    pub org: OrgId,
    /// The lead (an order).
    pub lead: OrderId,
    /// The newest message of the conversation sent (given back with the outcome: a customer's
    /// message after it asks for another call).
    pub through: Option<MessageId>,
    /// `{base URL}/chat/completions`.
    pub url: String,
    /// The model.
    pub model: String,
    /// The longest the call may take, connection included, in milliseconds.
    pub timeout_ms: u64,
    /// The system prompt: the instructions, the slot definitions, the answer's schema. Never
    /// the customer's text.
    pub system: String,
    /// The conversation, oldest first (at most [`super::CONVERSATION_MAX`] messages).
    pub messages: Vec<ChatTurn>,
    /// The JSON schema of the answer (`response_format.json_schema.schema`).
    pub schema: Value,
    api_key: String,
}

impl DueAiRequest {
    /// The API key, for the `Authorization` header only: never log it.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }
}

impl std::fmt::Debug for DueAiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the key nor the customer's words are printed.
        f.debug_struct("DueAiRequest")
            .field("org", &self.org)
            .field("lead", &self.lead)
            .field("through", &self.through)
            .field("url", &self.url)
            .field("model", &self.model)
            .field("timeout_ms", &self.timeout_ms)
            .field("messages", &self.messages.len())
            .finish_non_exhaustive()
    }
}

/// A waiting call, as the appliance reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum DueAi {
    /// Make this call.
    Call(Box<DueAiRequest>),
    /// The call is no longer wanted (the AI was switched off or stopped on the lead, the
    /// lead moved on or is gone): drop it with
    /// [`System::drop_ai_request`](crate::system::System::drop_ai_request), without calling.
    Drop {
        /// The organization.
        org: OrgId,
        /// The lead.
        lead: OrderId,
    },
}

/// What the appliance reports of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiCallReport {
    /// When the request was sent (the retries count from it).
    pub at: Timestamp,
    /// How long it took, in milliseconds.
    pub latency_ms: u32,
    /// What came of it.
    pub result: AiCallResult,
}

/// The raw outcome of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AiCallResult {
    /// The endpoint answered 2xx with this body (at most 1 MiB is read; crm-lib reads and
    /// checks it).
    Answered {
        /// The body as received.
        body: String,
    },
    /// The endpoint answered another status.
    Status {
        /// The HTTP status.
        status: u16,
        /// A 429's `Retry-After`, in milliseconds, when it gave one.
        retry_after_ms: Option<u64>,
    },
    /// No answer within the timeout.
    Timeout,
    /// The connection failed (refused, reset, a TLS error...).
    Network {
        /// What failed (kept to 300 characters; it must not hold the key).
        error: String,
    },
}

/// Queues a call of the AI for `order` due now, unless one waits already (then the messages
/// that arrived meanwhile are read with it).
pub(crate) fn queue(tx: &Tx<'_>, org: OrgId, order: OrderId) -> Result<()> {
    let key = lead_key(org, order);
    if tx.exists(tables::AI_REQUESTS, &key)? {
        return Ok(());
    }
    tx.insert_record(
        &key,
        &AiRequest {
            order,
            attempts: 0,
            next_attempt_at: tx.now(),
            created_at: tx.now(),
        },
    )
}

/// The lead's latest messages, newest first, notes and deleted ones left out, at most
/// `limit`.
fn latest_messages(
    view: &impl View,
    org: OrgId,
    order: OrderId,
    limit: usize,
) -> Result<Vec<Message>> {
    let prefix = Key::org(org).u64(order.0);
    let mut out = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let keys = view.keys_with_prefix(
            tables::MESSAGES_BY_ORDER,
            &prefix,
            after.as_deref(),
            true,
            64,
        )?;
        let Some(last) = keys.last().cloned() else {
            return Ok(out);
        };
        for key in &keys {
            let message = load_message(view, org, MessageId(keys::tail_u64(key)))?;
            if message.direction == Direction::Note || message.is_deleted() {
                continue;
            }
            out.push(message);
            if out.len() >= limit {
                return Ok(out);
            }
        }
        if keys.len() < 64 {
            return Ok(out);
        }
        after = Some(last);
    }
}

/// Whether the customer wrote since the business last did (the lead's latest message is
/// theirs): a resumed AI then answers.
pub(crate) fn customer_waits(view: &impl View, org: OrgId, order: OrderId) -> Result<bool> {
    Ok(latest_messages(view, org, order, 1)?
        .first()
        .is_some_and(|message| message.direction == Direction::Inbound))
}

/// A message as the AI reads it: its text, its files and kind named in brackets.
fn turn_text(message: &Message) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !message.text.trim().is_empty() {
        parts.push(message.text.clone());
    }
    for file in &message.attachments {
        parts.push(
            match file.kind {
                MediaKind::Photo => "[photo]",
                MediaKind::Document => "[document]",
                MediaKind::Voice => "[voice message]",
                MediaKind::Video => "[video]",
                MediaKind::VideoNote => "[video note]",
                MediaKind::Sticker => "[sticker]",
                MediaKind::Audio => "[audio]",
            }
            .to_string(),
        );
    }
    if parts.is_empty() {
        parts.push("[a message without text]".to_string());
    }
    parts.join("\n")
}

/// The conversation of a lead sent to the AI, oldest first, and its newest message.
fn conversation(
    view: &impl View,
    org: OrgId,
    order: OrderId,
) -> Result<(Vec<ChatTurn>, Option<MessageId>)> {
    let mut messages = latest_messages(view, org, order, CONVERSATION_MAX)?;
    let through = messages.first().map(|message| message.id);
    messages.reverse();
    let turns = messages
        .iter()
        .map(|message| ChatTurn {
            role: if message.direction == Direction::Inbound {
                ChatRole::User
            } else {
                ChatRole::Assistant
            },
            content: turn_text(message),
        })
        .collect();
    Ok((turns, through))
}

/// Whether the AI is to answer on `order` now (the one rule, [`super::qualifier_of`]), and
/// what it needs: the organization, its settings, the order and its qualification.
struct Wanted {
    org: Organization,
    settings: AiSettings,
    order: Order,
    lead: Lead,
    stored: Option<Lead>,
}

/// [`Wanted`] when the AI is to answer on `order` now; `None` when not (the module or the
/// AI off, the lead hot, moved on, stopped or walking the fixed questions, or gone).
fn wanted(view: &impl View, org: OrgId, order: OrderId) -> Result<Option<Wanted>> {
    let organization = load_org(view, org)?;
    if !module_on(&organization) {
        return Ok(None);
    }
    let record = match load_order(view, org, order) {
        Ok(record) => record,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let stored = load_lead(view, org, order)?;
    let lead = stored
        .clone()
        .unwrap_or_else(|| Lead::new(order, view.now()));
    if qualifier_in(view, &organization, &record, &lead)? != Qualifier::Ai {
        return Ok(None);
    }
    Ok(Some(Wanted {
        settings: settings_of(view, org)?,
        org: organization,
        order: record,
        lead,
        stored,
    }))
}

/// The call waiting for `order`, ready to make.
fn due_call(view: &impl View, org: OrgId, order: OrderId) -> Result<Option<DueAiRequest>> {
    let Some(wanted) = wanted(view, org, order)? else {
        return Ok(None);
    };
    let Some(api_key) = wanted.settings.api_key.clone() else {
        return Ok(None);
    };
    let def = questions_of(view, &wanted.org)?;
    let customer = load_customer(view, org, wanted.order.customer)?;
    let schema = answer::answer_schema(&def);
    let system = answer::system_prompt(
        &wanted.org,
        &def,
        &wanted.order.custom_fields,
        customer.language,
        &schema,
    );
    let (messages, through) = conversation(view, org, order)?;
    Ok(Some(DueAiRequest {
        org,
        lead: order,
        through,
        url: format!("{}/chat/completions", wanted.settings.base_url),
        model: wanted.settings.model.clone(),
        timeout_ms: u64::from(wanted.settings.timeout_seconds) * 1000,
        system,
        messages,
        schema,
        api_key,
    }))
}

/// The calls due by `now` across every organization, earliest first, at most `limit`.
fn due_ai_in(view: &impl View, now: Timestamp, limit: usize) -> Result<Vec<DueAi>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut due: Vec<Vec<u8>> = Vec::new();
    let upper = Key::empty().i64(now.0).u64(u64::MAX).u64(u64::MAX);
    view.scan(
        tables::AI_DUE,
        (Bound::Unbounded, Bound::Included(upper.as_slice())),
        false,
        |key, _| {
            due.push(key.to_vec());
            Ok(due.len() < limit)
        },
    )?;
    let mut out = Vec::with_capacity(due.len());
    for key in due {
        let org = OrgId(keys::read_u64(&key, 8));
        let lead = OrderId(keys::read_u64(&key, 16));
        out.push(match due_call(view, org, lead)? {
            Some(call) => DueAi::Call(Box::new(call)),
            None => DueAi::Drop { org, lead },
        });
    }
    Ok(out)
}

/// When the earliest waiting call is due, if any waits.
fn next_ai_due_in(view: &impl View) -> Result<Option<Timestamp>> {
    let keys = view.keys_with_prefix(tables::AI_DUE, &Key::empty(), None, false, 1)?;
    Ok(keys.first().map(|key| Timestamp(keys::read_i64(key, 0))))
}

/// Whether a customer's message about `order` is newer than `through`.
fn newer_message(
    view: &impl View,
    org: OrgId,
    order: OrderId,
    through: Option<MessageId>,
) -> Result<bool> {
    Ok(latest_messages(view, org, order, CONVERSATION_MAX)?
        .iter()
        .take_while(|message| through.is_none_or(|through| message.id > through))
        .any(|message| message.direction == Direction::Inbound))
}

/// Moves a waiting call to `at` (its attempts as given).
fn reschedule(
    tx: &Tx<'_>,
    org: OrgId,
    request: &AiRequest,
    attempts: u32,
    at: Timestamp,
) -> Result<()> {
    let mut after = request.clone();
    after.attempts = attempts;
    after.next_attempt_at = at;
    tx.update_record(&lead_key(org, request.order), request, &after)
}

/// Adds `call` to the lead's log, keeping the latest [`CALLS_KEPT`].
fn log_call(lead: &mut Lead, call: AiCall, now: Timestamp) {
    lead.calls.push(call);
    if lead.calls.len() > CALLS_KEPT {
        let extra = lead.calls.len() - CALLS_KEPT;
        lead.calls.drain(..extra);
    }
    lead.calls_total = lead.calls_total.saturating_add(1);
    lead.updated_at = now;
}

/// Whether an error status is worth another attempt of the same call: a timeout of the
/// server (408), too many requests (429), a server error (5xx).
fn transient_status(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

impl Tx<'_> {
    /// Records a call's outcome (see [`System::ai_answered`]).
    pub(crate) fn ai_answered(
        &mut self,
        org: OrgId,
        order: OrderId,
        through: Option<MessageId>,
        report: AiCallReport,
    ) -> Result<AiCall> {
        let request = self.get::<AiRequest>(tables::AI_REQUESTS, &lead_key(org, order))?;
        let asked_model = settings_of(self, org)?.model;
        let mut call = AiCall {
            at: report.at,
            latency_ms: report.latency_ms,
            model: asked_model,
            prompt_tokens: None,
            completion_tokens: None,
            outcome: AiCallOutcome::Discarded,
        };
        // Read the answer first: its tokens and model are logged whatever becomes of it.
        let (checked, transient, retry_after_ms) = match report.result {
            AiCallResult::Answered { body } => match answer::parse_completion(&body) {
                Ok(completion) => {
                    if let Some(model) = completion.model.clone() {
                        call.model = model;
                    }
                    call.prompt_tokens = completion.prompt_tokens;
                    call.completion_tokens = completion.completion_tokens;
                    (Some(completion), false, None)
                }
                Err(reason) => {
                    call.outcome = AiCallOutcome::Refused { reason };
                    (None, false, None)
                }
            },
            AiCallResult::Status {
                status,
                retry_after_ms,
            } => {
                call.outcome = AiCallOutcome::Status { status };
                (None, transient_status(status), retry_after_ms)
            }
            AiCallResult::Timeout => {
                call.outcome = AiCallOutcome::Timeout;
                (None, true, None)
            }
            AiCallResult::Network { error } => {
                call.outcome = AiCallOutcome::Network {
                    error: clip(error.trim(), REASON_MAX_CHARS),
                };
                (None, true, None)
            }
        };
        let wanted = match &request {
            Some(_) => wanted(self, org, order)?,
            None => None,
        };
        let (Some(request), Some(wanted)) = (request, wanted) else {
            // Stopped, moved on or gone meanwhile: the call is logged (when the lead is
            // still there) and nothing else happens.
            if checked.is_some() {
                call.outcome = AiCallOutcome::Discarded;
            }
            let logged = call.clone();
            if self.exists(tables::ORDERS, &Key::org(org).u64(order.0))? {
                let stored = load_lead(self, org, order)?;
                let mut lead = stored
                    .clone()
                    .unwrap_or_else(|| Lead::new(order, self.now()));
                log_call(&mut lead, call, self.now());
                save_lead(self, org, stored.as_ref(), &lead)?;
                self.changed(org, Subject::Order(order), ChangeKind::Updated)?;
            }
            drop_request(self, org, order)?;
            return Ok(logged);
        };
        let def = questions_of(self, &wanted.org)?;
        let today = Date::of(self.now());
        let answer = checked.map(|completion| {
            answer::check_answer(&completion.content, &def, today)
                .and_then(|answer| self.slot_changes(&wanted, answer))
        });
        match answer {
            Some(Ok((answer, changes))) => {
                call.outcome = AiCallOutcome::Applied;
                let logged = call.clone();
                self.apply_answer(wanted, &request, through, answer, changes, call)?;
                Ok(logged)
            }
            Some(Err(reason)) => {
                call.outcome = AiCallOutcome::Refused { reason };
                let logged = call.clone();
                self.count_failure(wanted, &request, call, false, None)?;
                Ok(logged)
            }
            None => {
                let logged = call.clone();
                self.count_failure(wanted, &request, call, transient, retry_after_ms)?;
                Ok(logged)
            }
        }
    }

    /// The slot changes an answer asks for (a slot empty or the AI's, and different), the
    /// hot flag's with it, checked by the field set before anything is written.
    fn slot_changes(
        &self,
        wanted: &Wanted,
        answer: AiAnswer,
    ) -> std::result::Result<(AiAnswer, BTreeMap<String, Option<FieldValue>>), String> {
        let mut changes = BTreeMap::new();
        for (key, value) in &answer.slots {
            let current = wanted.order.custom_fields.get(key);
            let the_ai_s = current.is_none() || wanted.lead.ai_slots.contains(key);
            if the_ai_s && current != Some(value) {
                changes.insert(key.clone(), Some(value.clone()));
            }
        }
        let set = super::super::tickets::fields::fields_for(self, &wanted.org)
            .map_err(|error| error.to_string())?;
        if answer.hot
            && set
                .get(HOT_FIELD)
                .is_some_and(|def| def.kind == FieldKind::Flag)
        {
            changes.insert(HOT_FIELD.to_string(), Some(FieldValue::Flag(true)));
        }
        let mut values = wanted.order.custom_fields.clone();
        for (key, value) in &changes {
            if let Some(value) = value {
                values.insert(key.clone(), value.clone());
            }
        }
        set.check(&values).map_err(|error| {
            clip(
                &format!("the lead's fields refuse it: {}", error.message()),
                REASON_MAX_CHARS,
            )
        })?;
        Ok((answer, changes))
    }

    /// Writes a checked answer: the slots, the summary, the hot flag (the AI stops, the
    /// managers are alerted), the reply to the customer, the call log, the audit entries; the
    /// call stays queued when the customer wrote again meanwhile.
    fn apply_answer(
        &mut self,
        wanted: Wanted,
        request: &AiRequest,
        through: Option<MessageId>,
        answer: AiAnswer,
        changes: BTreeMap<String, Option<FieldValue>>,
        call: AiCall,
    ) -> Result<()> {
        let Wanted {
            org,
            order,
            mut lead,
            stored,
            ..
        } = wanted;
        let system = Actor::system(org.id);
        let now = self.now();
        let (order, words) = write_slots(self, &org, &order, &changes)?;
        for key in changes.keys().filter(|key| *key != HOT_FIELD) {
            if !lead.ai_slots.contains(key) {
                lead.ai_slots.push(key.clone());
            }
        }
        if !answer.summary.is_empty() {
            lead.summary = Some(answer.summary.clone());
        }
        lead.failures = 0;
        let turned_hot = answer.hot && lead.hot.is_none();
        if turned_hot {
            lead.hot = Some(HotMark {
                reason: answer.hot_reason.clone(),
                at: now,
                by: ActorRef::System,
            });
            lead.ai = LeadAi::Stopped {
                why: AiStop::Hot,
                at: now,
            };
        }
        log_call(&mut lead, call, now);
        save_lead(self, org.id, stored.as_ref(), &lead)?;
        let customer = load_customer(self, org.id, order.customer)?;
        if !answer.reply.is_empty() && !customer.unreachable && customer.telegram_id.is_some() {
            self.send_ai_reply(&org, &order, &answer.reply)?;
        }
        let detail = if words.is_empty() {
            "no slot changed".to_string()
        } else {
            words
        };
        self.audit(
            &system,
            AuditAction::LeadAiAnswered,
            Subject::Order(order.id),
            AuditDetail::Text(detail),
        )?;
        if turned_hot {
            let event = Event::LeadHot {
                lead: order.id,
                title: order.title.clone(),
                customer_name: customer.full_name(),
                reason: answer.hot_reason.clone(),
                summary: lead.summary.clone(),
            };
            for user in
                super::super::team::linked_staff_with(self, org.id, Permission::ModerateOrders)?
            {
                self.enqueue(
                    org.id,
                    Recipient::Staff(user.id),
                    OutboxPayload::Notify(event.clone()),
                )?;
            }
            self.audit(
                &system,
                AuditAction::LeadHot,
                Subject::Order(order.id),
                AuditDetail::Text(answer.hot_reason.clone()),
            )?;
        }
        if lead.ai == LeadAi::Active && newer_message(self, org.id, order.id, through)? {
            reschedule(self, org.id, request, 0, now)?;
        } else {
            drop_request(self, org.id, order.id)?;
        }
        self.changed(org.id, Subject::Order(order.id), ChangeKind::Updated)?;
        Ok(())
    }

    /// The AI's reply to the customer: a chat message of the system about the lead, queued in
    /// the outbox and mirrored to the staff group's topic. Not a staff reply: the
    /// conversation stays unread and no operator answered it.
    fn send_ai_reply(&mut self, org: &Organization, order: &Order, text: &str) -> Result<()> {
        let id = MessageId(self.next_id(org.id, "message")?);
        let message = Message {
            id,
            customer: order.customer,
            order: Some(order.id),
            direction: Direction::Outbound,
            author: Author::System,
            text: text.to_string(),
            attachments: Vec::new(),
            telegram_message_id: None,
            delivery: DeliveryState::Pending,
            created_at: self.now(),
            content: None,
            reply_to: None,
            edits: Vec::new(),
            deleted_at: None,
            media_group: None,
        };
        super::super::chat::rules::write_message(self, org.id, &message)?;
        self.enqueue(
            org.id,
            Recipient::Customer(order.customer),
            OutboxPayload::ChatMessage(id),
        )?;
        self.audit(
            &Actor::system(org.id),
            AuditAction::MessageSent,
            Subject::Message(id),
            AuditDetail::Message {
                customer: order.customer,
                order: Some(order.id),
                chars: u32::try_from(text.chars().count()).unwrap_or(u32::MAX),
                files: 0,
            },
        )?;
        self.changed(org.id, Subject::Message(id), ChangeKind::Created)?;
        super::super::staff_chat::on_staff_message(self, org.id, &message)
    }

    /// A call that failed: logged; retried on [`RETRY_SCHEDULE_MS`] while it failed without
    /// an answer and attempts are left, else counted against the lead: asked again shortly,
    /// or after [`FAILURES_MAX`] failures in a row the AI stops and the fixed questions start.
    fn count_failure(
        &mut self,
        wanted: Wanted,
        request: &AiRequest,
        call: AiCall,
        transient: bool,
        retry_after_ms: Option<u64>,
    ) -> Result<()> {
        let Wanted {
            org,
            order,
            mut lead,
            stored,
            ..
        } = wanted;
        let now = self.now();
        log_call(&mut lead, call, now);
        let retry = usize::try_from(request.attempts)
            .ok()
            .and_then(|attempt| RETRY_SCHEDULE_MS.get(attempt))
            .filter(|_| transient);
        if let Some(wait) = retry {
            let asked = retry_after_ms
                .map(|ms| {
                    i64::try_from(ms)
                        .unwrap_or(i64::MAX)
                        .min(RETRY_AFTER_MAX_MS)
                })
                .unwrap_or(0);
            let at = now.plus_millis((*wait).max(asked));
            reschedule(
                self,
                org.id,
                request,
                request.attempts.saturating_add(1),
                at,
            )?;
            save_lead(self, org.id, stored.as_ref(), &lead)?;
            self.changed(org.id, Subject::Order(order.id), ChangeKind::Updated)?;
            return Ok(());
        }
        lead.failures = lead.failures.saturating_add(1);
        if lead.failures < FAILURES_MAX {
            let at = now.plus_millis(FAILURE_RETRY_MS * i64::from(lead.failures));
            reschedule(self, org.id, request, 0, at)?;
            save_lead(self, org.id, stored.as_ref(), &lead)?;
            self.changed(org.id, Subject::Order(order.id), ChangeKind::Updated)?;
            return Ok(());
        }
        // The AI gave up on this lead: the fixed questions instead.
        lead.ai = LeadAi::Stopped {
            why: AiStop::Failures,
            at: now,
        };
        drop_request(self, org.id, order.id)?;
        let step = if walk_of(self, org.id, &order)?.is_none()
            && qualifier_in(self, &org, &order, &lead)? == Qualifier::Questions
        {
            super::questions::start_questions(self, &org, &order, &mut lead)?
        } else {
            None
        };
        save_lead(self, org.id, stored.as_ref(), &lead)?;
        if let Some(crate::forms::FormStep::Ask(question)) = step {
            self.enqueue(
                org.id,
                Recipient::Customer(order.customer),
                OutboxPayload::Notify(Event::FormQuestion {
                    form: question.form,
                    skippable: question.skippable,
                    default: question.default.clone(),
                    position: (
                        u32::try_from(question.position.0).unwrap_or(u32::MAX),
                        u32::try_from(question.position.1).unwrap_or(u32::MAX),
                    ),
                    field: question.field,
                }),
            )?;
        }
        self.audit(
            &Actor::system(org.id),
            AuditAction::LeadAiFellBack,
            Subject::Order(order.id),
            AuditDetail::Text(format!("{FAILURES_MAX} failed answers in a row")),
        )?;
        self.changed(org.id, Subject::Order(order.id), ChangeKind::Updated)?;
        Ok(())
    }

    /// Drops a waiting call that is no longer wanted (see [`System::drop_ai_request`]).
    pub(crate) fn drop_ai_request(&mut self, org: OrgId, order: OrderId) -> Result<bool> {
        if !self.exists(tables::AI_REQUESTS, &lead_key(org, order))? {
            return Ok(false);
        }
        if wanted(self, org, order)?.is_some() {
            return Ok(false);
        }
        drop_request(self, org, order)?;
        Ok(true)
    }
}

impl System<'_> {
    /// The AI calls due by `now` across every organization, earliest first, at most `limit`:
    /// each one to make ([`DueAi::Call`], with its prompt, conversation and key) or to drop
    /// ([`DueAi::Drop`]). One index scan and a few reads per call.
    ///
    /// # Errors
    /// Storage only.
    pub fn due_ai_requests(&self, now: Timestamp, limit: usize) -> Result<Vec<DueAi>> {
        self.crm.read(|view| due_ai_in(view, now, limit))
    }

    /// When the earliest waiting AI call is due, if one waits (the appliance sleeps until
    /// then).
    ///
    /// # Errors
    /// Storage only.
    pub fn next_ai_due(&self) -> Result<Option<Timestamp>> {
        self.crm.read(next_ai_due_in)
    }

    /// Records one call of the AI on `lead` (its conversation read through `through`): the
    /// call is logged on the lead (latency, tokens, model, outcome) and then
    /// - a 2xx answer is read and checked whole; a good one is written (slots the AI may
    ///   change, summary, hot flag, the reply queued to the customer, audit `lead.ai_answered`;
    ///   a hot lead stops the AI, alerts the managers, audit `lead.hot`); the call stays queued
    ///   when the customer wrote after `through`;
    /// - an error status that may pass (408, 429, 5xx), a timeout or a broken connection is
    ///   retried on [`RETRY_SCHEDULE_MS`] (at least a 429's `Retry-After`, at most
    ///   [`RETRY_AFTER_MAX_MS`]);
    /// - a refused answer, another status or the last retry counts a failure: asked again
    ///   shortly, and after [`super::FAILURES_MAX`] in a row the AI stops on the lead (audit
    ///   `lead.ai_fell_back`) and the fixed questions start ([`Event::FormQuestion`]);
    /// - a call no longer wanted (the AI stopped, the lead moved on) is logged as
    ///   discarded and nothing else changes.
    ///
    /// Returns the call as logged. One write transaction; blocks until durable.
    ///
    /// # Errors
    /// Storage only (an unknown organization is not found).
    pub fn ai_answered(
        &self,
        org: OrgId,
        lead: OrderId,
        through: Option<MessageId>,
        report: AiCallReport,
    ) -> Result<AiCall> {
        self.crm
            .write(move |tx| tx.ai_answered(org, lead, through, report))
    }

    /// Drops the AI call waiting for `lead` when it is still unwanted ([`DueAi::Drop`]);
    /// returns whether it was dropped. Bookkeeping: no audit entry. One write transaction.
    ///
    /// # Errors
    /// Storage only.
    pub fn drop_ai_request(&self, org: OrgId, lead: OrderId) -> Result<bool> {
        self.crm.write(move |tx| tx.drop_ai_request(org, lead))
    }
}
