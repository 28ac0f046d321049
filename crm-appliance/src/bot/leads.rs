//! The bot's side of a lead (the projects module, SPEC 5E): a customer's message goes to
//! crm-lib's [`Tx::post_lead_message`], which finds or creates their lead, alerts the
//! managers, queues the AI and walks the fixed questions; this module renders what it says
//! (the questions through the one form renderer, `bot::forms`). The AI's replies are not
//! here: crm-lib queues them in the outbox when the AI answers.

use crm_lib::{
    ErrorKind, Tx,
    chat::InboundMessage,
    forms::FormStep,
    leads::{LeadQuestions, LeadTurn, Qualifier},
    model::FormName,
};

use super::context::Replies;
use super::dialogue::{self, Dialogue};
use super::forms::Walker;
use super::render::{tr, tr_with};

/// Posts a customer's message to their lead and renders what follows: the fixed questions'
/// step, or (`acknowledge`, while the staff qualify the lead) that the message reached the
/// team. A message crm-lib refuses is explained.
///
/// # Errors
/// Storage only.
pub(crate) fn post(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    message: InboundMessage,
    acknowledge: bool,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match tx.post_lead_message(who.actor, message) {
        Ok(turn) => render_turn(tx, who, &turn, acknowledge, out),
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::InvalidInput => {
                out.send(who.chat, &tr(who.language, "bot.chat.unsupported"), None);
                Ok(())
            }
            _ => {
                out.send(
                    who.chat,
                    &tr_with(
                        who.language,
                        "bot.error.generic",
                        &[("message", &error.message())],
                    ),
                    None,
                );
                Ok(())
            }
        },
    }
}

/// What the customer sees after their message went to the lead.
fn render_turn(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    turn: &LeadTurn,
    acknowledge: bool,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match &turn.questions {
        Some(LeadQuestions::Next(step)) => {
            let first = matches!(step, FormStep::Ask(question) if question.position.0 == 1 && question.current.is_none());
            if first {
                out.send(
                    who.chat,
                    &tr(who.language, "leads.bot.questions_intro"),
                    None,
                );
            }
            super::forms::render(tx, who, step, out)
        }
        Some(LeadQuestions::Refused(step)) => {
            let expect = match step {
                FormStep::Ask(question) => question.field.expectation(who.language),
                _ => String::new(),
            };
            out.send(
                who.chat,
                &tr_with(who.language, "forms.bot.invalid", &[("expect", &expect)]),
                None,
            );
            super::forms::render(tx, who, step, out)
        }
        None if acknowledge && turn.qualifier != Some(Qualifier::Ai) => {
            dialogue::save(
                tx,
                who.org,
                who.chat,
                &Dialogue::Chatting {
                    order: turn.lead.map(|lead| lead.get()),
                },
            )?;
            let key = if turn.created {
                "leads.bot.received"
            } else {
                "bot.chat.sent"
            };
            out.send(who.chat, &tr(who.language, key), None);
            Ok(())
        }
        None => Ok(()),
    }
}

/// Shows the fixed question the customer is at again (in the language they just chose),
/// when they walk the questions.
///
/// # Errors
/// Storage only.
pub(crate) fn show_questions(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let step = match crm_lib::forms::walk_in(&*tx, who.actor, FormName::Qualification) {
        Ok(step) => step,
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(_) => None,
    };
    match step {
        Some(step) => super::forms::render(tx, who, &step, out),
        None => Ok(()),
    }
}
