//! The customer's side of a lead: the bot's one call for a message of a customer of the
//! projects module ([`Tx::post_lead_message`]: the lead found or created, the message
//! posted, the fixed questions walked), and the fixed questions themselves: started once per
//! lead ([`start_questions`]), each answer written to its slot at once
//! ([`on_question_answered`], called by the form engine), the confirmation audited
//! ([`complete_questions`]).

use std::collections::BTreeMap;

use crate::chat::{InboundMessage, OrderChoice};
use crate::model::*;
use crate::orders::NewOrder;
use crate::services::forms::walk::{FormInput, FormOutcome, FormStep, start_form_with, step_of};
use crate::services::orders::rules::Announce;
use crate::{Error, ErrorKind, Result, Tx, View};

use super::super::orders::load_order;
use super::super::{load_customer, load_org};
use super::{
    BOT_SOURCE, Qualifier, SOURCE_FIELD, lead_of_walk, load_lead, module_on, qualifier_in,
    questions_of, save_lead, walk_of, write_slots,
};

/// The longest title of a lead the bot creates, in characters (the first line of the first
/// message, cut).
const TITLE_CHARS: usize = 80;

/// What the bot shows after a lead's message besides nothing (the AI answers later, from
/// the outbox): the fixed questions' next step.
#[derive(Debug, Clone, PartialEq)]
pub enum LeadQuestions {
    /// The step to show: the next question (the first, when they just started), or the
    /// review of the answers.
    Next(FormStep),
    /// The message did not answer the question asked (its text was refused, or it had none):
    /// the same question again, with what it expects.
    Refused(FormStep),
}

/// What became of a customer's message to the bot in an organization of the projects module.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTurn {
    /// The message as recorded.
    pub message: Message,
    /// The lead it went to (`None` only when no lead could be made for it: the message was
    /// posted without one).
    pub lead: Option<OrderId>,
    /// Whether this message created the lead.
    pub created: bool,
    /// The fixed questions' next step, when they are walked.
    pub questions: Option<LeadQuestions>,
    /// Who qualifies the lead now (the AI answers later, from the outbox; with the staff, the
    /// bot may say the message reached the team); `None` without a lead.
    pub qualifier: Option<Qualifier>,
}

/// The title of a lead made from a customer's first message: its first line, cut to
/// [`TITLE_CHARS`], or `Lead of <name>` in the organization's language when it has no text.
fn lead_title(org: &Organization, customer: &Customer, text: &str) -> String {
    let line = text.lines().map(str::trim).find(|line| !line.is_empty());
    match line {
        Some(line) if line.chars().count() > TITLE_CHARS => {
            let cut: String = line.chars().take(TITLE_CHARS - 1).collect();
            format!("{}…", cut.trim_end())
        }
        Some(line) => line.to_string(),
        None => crate::i18n::tr_with(
            org.settings.locale,
            "leads.default_title",
            &[("name", &customer.full_name())],
        ),
    }
}

/// Text without control characters other than line breaks and tabs (what an order's title
/// and description take).
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .collect()
}

impl Tx<'_> {
    /// A customer's message to the bot in an organization of the projects module: it goes to
    /// their lead. The lead is the order the message names (when it is theirs), else their
    /// current (open) order, else a new one made from this message, in the pipeline's first
    /// stage, with `source` = `bot` (none for the client of an active project: their message
    /// is posted without a lead) ([`Tx::create_order`]'s rules, notifications and audit).
    /// The message is then posted about it ([`Tx::post_inbound`]: the managers are alerted and
    /// the AI queued, see the [module documentation](super)). While the customer walks the
    /// fixed questions for this lead, the message's text answers the question asked; when the
    /// lead is to be qualified by the fixed questions and they were never started, they
    /// start. The message's content is checked before anything is written. One transaction
    /// (the bot's update's).
    ///
    /// # Errors
    /// Not found (`module projects`) when the module is off, or the customer; forbidden for
    /// staff; invalid input on the message as [`Tx::post_inbound`]. A lead that cannot be made
    /// (an organization declaring required fields) is no error: the message is posted without
    /// one.
    pub fn post_lead_message(&mut self, actor: &Actor, msg: InboundMessage) -> Result<LeadTurn> {
        let customer_id = match actor.who {
            ActorRef::Customer(customer) => customer,
            ActorRef::System => msg.customer,
            ActorRef::Staff(_) => {
                return Err(Error::forbidden(
                    "only a customer (or the bot as the system) writes to a lead",
                ));
            }
        };
        let org = super::super::require_module(self, actor.org, Module::Projects)?;
        let customer = load_customer(self, actor.org, customer_id)?;
        super::super::chat::rules::check_inbound(self, actor.org, &msg)?;
        let walker = Actor::customer(actor.org, customer_id).with_origin(actor.origin.clone());
        let named = match msg.about {
            OrderChoice::Chosen(order) => match load_order(self, actor.org, order) {
                Ok(order) if order.customer == customer_id => Some(order.id),
                Ok(_) => None,
                Err(error) if error.kind() == ErrorKind::NotFound => None,
                Err(error) => return Err(error),
            },
            _ => None,
        };
        let current = match named {
            Some(order) => Some(order),
            None => super::super::chat::rules::current_order_of(self, actor.org, customer_id)?,
        };
        let (lead, created) = match current {
            Some(order) => (Some(order), false),
            // A client whose project runs writes about the project: no new lead.
            None if super::super::projects::has_active_project(self, org.id, customer_id)? => {
                (None, false)
            }
            None => match self.create_lead(&walker, &org, &customer, &msg.text)? {
                Some(order) => (Some(order), true),
                None => (None, false),
            },
        };
        let message = self.post_inbound(
            actor,
            InboundMessage {
                about: lead.map_or(OrderChoice::Current, OrderChoice::Chosen),
                ..msg
            },
        )?;
        let Some(lead) = lead else {
            return Ok(LeadTurn {
                message,
                lead: None,
                created,
                questions: None,
                qualifier: None,
            });
        };
        let questions = self.walk_questions(&walker, &org, lead, &message)?;
        let order = load_order(self, org.id, lead)?;
        let record = load_lead(self, org.id, lead)?.unwrap_or_else(|| Lead::new(lead, self.now()));
        let qualifier = qualifier_in(self, &org, &order, &record)?;
        Ok(LeadTurn {
            message,
            lead: Some(lead),
            created,
            questions,
            qualifier: Some(qualifier),
        })
    }

    /// A new lead of `customer` from the text of their first message; `None` when the order's
    /// rules refuse it (nothing written then).
    fn create_lead(
        &mut self,
        walker: &Actor,
        org: &Organization,
        customer: &Customer,
        text: &str,
    ) -> Result<Option<OrderId>> {
        let text = printable(text);
        let title = lead_title(org, customer, &text);
        let description = match text.trim() {
            "" => title.clone(),
            text => text.chars().take(4000).collect(),
        };
        let mut custom_fields = BTreeMap::new();
        let fields = super::super::tickets::fields::fields_for(self, org)?;
        if let Some(source) = fields
            .get(SOURCE_FIELD)
            .and_then(|def| def.parse_answer(BOT_SOURCE).ok())
        {
            custom_fields.insert(SOURCE_FIELD.to_string(), source);
        }
        // The message posted next alerts the managers with the customer's words.
        let created = self.create_order_announced(
            walker,
            NewOrder {
                title,
                description,
                custom_fields,
                ..NewOrder::default()
            },
            Announce::ByFirstMessage,
        );
        match created {
            Ok(order) => {
                save_lead(self, org.id, None, &Lead::new(order.id, self.now()))?;
                Ok(Some(order.id))
            }
            Err(error) if error.kind() == ErrorKind::Storage => Err(error),
            Err(_) => Ok(None),
        }
    }

    /// The fixed questions after a lead's message: its text answers the question asked while
    /// they are walked; they start when the lead is theirs to qualify and never started.
    fn walk_questions(
        &mut self,
        walker: &Actor,
        org: &Organization,
        lead: OrderId,
        message: &Message,
    ) -> Result<Option<LeadQuestions>> {
        let order = load_order(self, org.id, lead)?;
        if let Some(progress) = walk_of(self, org.id, &order)? {
            let step = step_of(&progress);
            let text = message.text.trim();
            return Ok(Some(match step {
                FormStep::Ask(_) if text.is_empty() => LeadQuestions::Refused(step),
                FormStep::Ask(_) => {
                    let answer = FormInput::Answer(text.to_string());
                    match self.form_input(walker, FormName::Qualification, answer) {
                        Ok(next) => LeadQuestions::Next(next),
                        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
                        Err(_) => LeadQuestions::Refused(step),
                    }
                }
                step => LeadQuestions::Next(step),
            }));
        }
        let stored = load_lead(self, org.id, lead)?;
        let mut record = stored
            .clone()
            .unwrap_or_else(|| Lead::new(lead, self.now()));
        if qualifier_in(self, org, &order, &record)? != Qualifier::Questions {
            return Ok(None);
        }
        let step = start_questions(self, org, &order, &mut record)?;
        save_lead(self, org.id, stored.as_ref(), &record)?;
        Ok(step.map(LeadQuestions::Next))
    }
}

impl crate::Crm {
    /// See [`Tx::post_lead_message`]; one write transaction (the bot calls the `Tx` method
    /// inside its update's).
    ///
    /// # Errors
    /// See [`Tx::post_lead_message`].
    pub fn post_lead_message(&self, actor: &Actor, msg: InboundMessage) -> Result<LeadTurn> {
        let actor = actor.clone();
        self.write(move |tx| tx.post_lead_message(&actor, msg))
    }
}

/// Starts the fixed questions of `order` for its customer (a walk of another lead's is
/// replaced) and marks them started on `lead` (the caller saves it); `None` when the
/// organization has none.
///
/// # Errors
/// Invalid input when the organization's questions are not a valid form; storage.
pub(crate) fn start_questions(
    tx: &Tx<'_>,
    org: &Organization,
    order: &Order,
    lead: &mut Lead,
) -> Result<Option<FormStep>> {
    let def = questions_of(tx, org)?;
    if def.fields.is_empty() {
        return Ok(None);
    }
    lead.questions_started = true;
    lead.updated_at = tx.now();
    let context = BTreeMap::from([("lead".to_string(), order.id.0.to_string())]);
    start_form_with(
        tx,
        org.id,
        order.customer,
        FormName::Qualification,
        def,
        RuntimeChoices::new(),
        context,
    )
    .map(Some)
}

/// A fixed question was answered or skipped (in [`Tx::form_input`]'s transaction, before
/// the walk's progress is written): the slot `key` takes the walk's answer (or is cleared),
/// checked by the organization's field set before anything is written; audited as
/// `lead.answered` with the change. A walk whose lead is gone writes nothing.
///
/// # Errors
/// Invalid input on `fields` when the field set refuses the answer.
pub(crate) fn on_question_answered(
    tx: &mut Tx<'_>,
    actor: &Actor,
    progress: &FormProgress,
    key: &str,
) -> Result<()> {
    let Some(order_id) = lead_of_walk(progress) else {
        return Ok(());
    };
    let org = load_org(tx, actor.org)?;
    if !module_on(&org) {
        return Ok(());
    }
    let order = match load_order(tx, actor.org, order_id) {
        Ok(order) if order.customer == progress.customer => order,
        Ok(_) => return Ok(()),
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let changes = BTreeMap::from([(key.to_string(), progress.answers.get(key).cloned())]);
    let (_, words) = write_slots(tx, &org, &order, &changes)?;
    if words.is_empty() {
        return Ok(());
    }
    // The customer's own answer: no longer the AI's to change.
    if let Some(before) = load_lead(tx, actor.org, order_id)?
        && before.ai_slots.iter().any(|slot| slot == key)
    {
        let mut after = before.clone();
        after.ai_slots.retain(|slot| slot != key);
        after.updated_at = tx.now();
        save_lead(tx, actor.org, Some(&before), &after)?;
    }
    tx.audit(
        actor,
        AuditAction::LeadAnswered,
        Subject::Order(order_id),
        AuditDetail::Text(words),
    )?;
    tx.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
    Ok(())
}

/// The customer confirmed their answers to the fixed questions (in [`Tx::form_input`]'s
/// transaction): every answer stands on its slot (written already, one by one; written now
/// when not), audited as `lead.qualified`.
///
/// # Errors
/// Not found when the walk's lead is gone; invalid input when the field set refuses an
/// answer.
pub(crate) fn complete_questions(
    tx: &mut Tx<'_>,
    actor: &Actor,
    progress: &FormProgress,
) -> Result<FormOutcome> {
    let order_id =
        lead_of_walk(progress).ok_or_else(|| Error::not_found("lead", "of this walk"))?;
    let org = load_org(tx, actor.org)?;
    let order = load_order(tx, actor.org, order_id)?;
    if order.customer != progress.customer {
        return Err(Error::not_found(OrderId::LABEL, order_id));
    }
    let changes: BTreeMap<String, Option<FieldValue>> = progress
        .def
        .fields
        .fields
        .iter()
        .filter_map(|def| {
            progress
                .answers
                .get(&def.key)
                .map(|value| (def.key.clone(), Some(value.clone())))
        })
        .collect();
    let (_, words) = write_slots(tx, &org, &order, &changes)?;
    tx.audit(
        actor,
        AuditAction::LeadQualified,
        Subject::Order(order_id),
        AuditDetail::Text(words),
    )?;
    tx.changed(actor.org, Subject::Order(order_id), ChangeKind::Updated)?;
    Ok(FormOutcome::LeadQualified { lead: order_id })
}
