//! The client's decision on a change request in the bot (issue 14). The notification
//! crm-lib queues ([`crm_lib::model::Event::ChangeRequestWaiting`], rendered by
//! `render::notification`) carries Approve and Reject; a press edits the message into a
//! question ("Approve «X» for +15,000.00 USD?") with Yes and No; Yes makes one
//! [`crm_lib::Tx::decide_change_request`] call as the presser and edits the message into the
//! outcome; No puts the notification back. Whether the presser may decide (their own
//! project, the request still pending, the project active) is crm-lib's answer: a refusal is
//! shown with crm-lib's reason and changes nothing, so a forwarded message's buttons pressed
//! by another customer do nothing.

use crm_lib::{
    ErrorKind, Tx,
    model::{
        Actor, ChangeRequest, ChangeRequestId, ChangeRequestState, ChatId, Event, Language, Money,
        ProjectId,
    },
    projects::{Decision, ProjectView},
};

use super::context::{Press, Replies};
use super::keyboards::{self, ChangeAction};
use super::render::{self, tr_with};

/// Who pressed: the customer's actor, language and chat.
pub(crate) struct Decider<'a> {
    pub(crate) actor: &'a Actor,
    pub(crate) language: Language,
    pub(crate) chat: ChatId,
}

/// A press of a change request's button.
pub(crate) fn on_press(
    tx: &mut Tx<'_>,
    who: &Decider<'_>,
    (project, request): (u64, u64),
    action: ChangeAction,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let (project, request) = (ProjectId::new(project), ChangeRequestId::new(request));
    let decision = match action {
        ChangeAction::ConfirmApprove => Decision::Approve,
        ChangeAction::ConfirmReject => Decision::Reject,
        ChangeAction::Approve | ChangeAction::Reject | ChangeAction::Back => {
            return ask(tx, who, project, request, action, press, out);
        }
    };
    match tx.decide_change_request(who.actor, project, request, decision) {
        Ok(decided) => {
            let view = crm_lib::projects::project_in(&*tx, who.actor, project)?;
            let text = outcome(who.language, &view, &decided);
            out.answer(who.chat, press.query_id, None, false);
            match press.message_id {
                Some(message_id) => out.edit_text(who.chat, message_id, &text, None),
                None => out.send(who.chat, &text, None),
            }
        }
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(error) => refused(who, press, &error, out),
    }
    Ok(())
}

/// Approve or Reject (the question with Yes and No) or No (the notification again): reads
/// the request as the presser may see it, so another customer's press is refused here
/// already (crm-lib answers "not found").
fn ask(
    tx: &mut Tx<'_>,
    who: &Decider<'_>,
    project: ProjectId,
    request: ChangeRequestId,
    action: ChangeAction,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let view = match crm_lib::projects::project_in(&*tx, who.actor, project) {
        Ok(view) => view,
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(error) => {
            refused(who, press, &error, out);
            return Ok(());
        }
    };
    let Some(found) = view
        .change_requests
        .iter()
        .find(|found| found.id == request)
    else {
        let error = crm_lib::Error::not_found(ChangeRequestId::LABEL, request);
        refused(who, press, &error, out);
        return Ok(());
    };
    let (text, keyboard) = match action {
        ChangeAction::Approve | ChangeAction::Reject => {
            let approve = action == ChangeAction::Approve;
            (
                tr_with(
                    who.language,
                    if approve {
                        "projects.bot.confirm_approve"
                    } else {
                        "projects.bot.confirm_reject"
                    },
                    &[
                        ("title", &found.title),
                        (
                            "amount",
                            &signed(found.amount, &view.project.currency, who.language),
                        ),
                    ],
                ),
                keyboards::change_request_confirm(
                    who.language,
                    project.get(),
                    request.get(),
                    approve,
                ),
            )
        }
        _ => {
            let (text, _) = render::notification(
                &Event::ChangeRequestWaiting {
                    project,
                    project_title: view.project.title.clone(),
                    request,
                    title: found.title.clone(),
                    amount: found.amount,
                    currency: view.project.currency.clone(),
                },
                who.language,
                &view.project.currency,
            );
            (
                text,
                keyboards::change_request(who.language, project.get(), request.get()),
            )
        }
    };
    out.answer(who.chat, press.query_id, None, false);
    match press.message_id {
        Some(message_id) => out.edit_text(who.chat, message_id, &text, Some(keyboard)),
        None => out.send(who.chat, &text, Some(keyboard)),
    }
    Ok(())
}

/// The message after a decision: what was decided and the budget now.
fn outcome(language: Language, view: &ProjectView, decided: &ChangeRequest) -> String {
    let project = &view.project;
    let key = if decided.state == ChangeRequestState::Approved {
        "projects.bot.approved"
    } else {
        "projects.bot.rejected"
    };
    tr_with(
        language,
        key,
        &[
            ("id", &project.id.to_string()),
            ("project", &project.title),
            ("request", &decided.id.to_string()),
            ("title", &decided.title),
            (
                "amount",
                &signed(decided.amount, &project.currency, language),
            ),
            (
                "total",
                &render::money(project.budget_total(), &project.currency, language),
            ),
        ],
    )
}

/// An amount with its sign: `+15,000.00 USD`, `-100.00 USD`.
pub(crate) fn signed(amount: Money, currency: &str, language: Language) -> String {
    let text = render::money(amount, currency, language);
    if amount.minor() > 0 {
        format!("+{text}")
    } else {
        text
    }
}

/// crm-lib said no (decided already, withdrawn, the project not active, not theirs): the
/// answer names its reason and the buttons go.
fn refused(who: &Decider<'_>, press: &Press<'_>, error: &crm_lib::Error, out: &mut Replies) {
    out.answer(
        who.chat,
        press.query_id,
        Some(tr_with(
            who.language,
            "projects.bot.decide_refused",
            &[("reason", &error.message())],
        )),
        true,
    );
    if let Some(message_id) = press.message_id {
        out.drop_keyboard(who.chat, message_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_carry_their_sign() {
        assert_eq!(
            signed(Money::from_minor(1_500_000), "RUB", Language::EN),
            format!(
                "+{}",
                render::money(Money::from_minor(1_500_000), "RUB", Language::EN)
            )
        );
        assert!(signed(Money::from_minor(-100), "USD", Language::EN).starts_with('-'));
        assert!(!signed(Money::from_minor(0), "USD", Language::EN).starts_with('+'));
    }
}
