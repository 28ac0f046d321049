//! The bot's one engine for conversational forms (SPEC 3.1): it renders whatever crm-lib's
//! form engine ([`crm_lib::forms`]) says — a question with its choices as buttons in rows, a
//! Skip button for optional fields, the default answer as a button, Back and Cancel; or the
//! review with one Edit button per field, Confirm and Cancel — and passes the customer's
//! text and presses back as [`FormInput`]s. The form's progress lives in crm-lib; the chat's
//! [`Dialogue::Form`] only routes typed text here. Used by `/register` (the tokens module's
//! registration; `/profiles` lists what it made) and by a lead's fixed qualification
//! questions (`bot::leads`, whose typed answers go to the lead as messages).

use crm_lib::{
    ErrorKind, Tx,
    forms::{FormInput, FormOutcome, FormStep, Question},
    model::{Actor, ChatId, FieldValue, FormName, Language, OrgId},
};

use super::context::{Press, Replies};
use super::dialogue::{self, Dialogue};
use super::keyboards::{self, FormAction};
use super::text::clip;
use crate::i18n::{tr, tr_with};

/// Who walks the form.
pub(crate) struct Walker<'a> {
    /// The organization.
    pub(crate) org: OrgId,
    /// The customer, as an actor.
    pub(crate) actor: &'a Actor,
    /// The language they read.
    pub(crate) language: Language,
    /// Their chat.
    pub(crate) chat: ChatId,
    /// Whether the organization runs the tokens module (the menu's Register row).
    pub(crate) tokens: bool,
}

/// `/register`: continues the registration under way (progress is kept between sessions,
/// PRD 3.1.1), or starts it.
///
/// # Errors
/// Storage only: the module being off or any refusal is said to the customer.
pub(crate) fn start(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    form: FormName,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let under_way = match crm_lib::forms::current_form_in(&*tx, who.actor) {
        Ok(step) => step,
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(_) => None,
    };
    if let Some(step) = under_way.filter(|step| form_of(step) == Some(form)) {
        out.send(who.chat, &tr(who.language, "forms.bot.continued"), None);
        return render(tx, who, &step, out);
    }
    match tx.start_form(who.actor, form) {
        Ok(step) => {
            out.send(who.chat, &tr(who.language, "forms.bot.started"), None);
            render(tx, who, &step, out)
        }
        Err(error) if error.kind() == ErrorKind::Storage => Err(error),
        Err(_) => {
            out.send(
                who.chat,
                &tr(who.language, "forms.bot.unavailable"),
                Some(keyboards::main_menu(who.language, who.tokens)),
            );
            Ok(())
        }
    }
}

/// Text typed while walking `form`: an answer to the question asked.
///
/// # Errors
/// Storage only.
pub(crate) fn on_text(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    form: u8,
    text: Option<&str>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let Some(form) = FormName::from_code(form) else {
        return forget(tx, who, out);
    };
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        out.send(who.chat, &tr(who.language, "forms.bot.text_please"), None);
        return Ok(());
    };
    apply(tx, who, form, FormInput::Answer(text.to_string()), out)
}

/// `/cancel` while walking `form`.
///
/// # Errors
/// Storage only.
pub(crate) fn cancel(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    form: u8,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match FormName::from_code(form) {
        Some(form) => apply(tx, who, form, FormInput::Cancel, out),
        None => forget(tx, who, out),
    }
}

/// A press of a form's button. A button of a question no longer asked (or of a form no
/// longer walked) is answered as stale.
///
/// # Errors
/// Storage only.
pub(crate) fn on_press(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    form: u8,
    action: FormAction,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let stale = |out: &mut Replies| {
        out.answer(
            who.chat,
            press.query_id,
            Some(tr(who.language, "bot.callback.stale")),
            false,
        );
        if let Some(message_id) = press.message_id {
            out.drop_keyboard(who.chat, message_id);
        }
    };
    let Some(name) = FormName::from_code(form) else {
        stale(out);
        return Ok(());
    };
    let current = match crm_lib::forms::walk_in(&*tx, who.actor, name) {
        Ok(current) => current,
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(_) => None,
    };
    let asked = |field: u8| match &current {
        Some(FormStep::Ask(question)) if question.form == name => {
            (question.position.0 == usize::from(field) + 1).then_some(question)
        }
        _ => None,
    };
    let input = match action {
        FormAction::Choose { field, option } => asked(field)
            .and_then(|question| question.choices.get(usize::from(option)))
            .map(|option| FormInput::Answer(option.key.clone())),
        FormAction::Default(field) => asked(field)
            .and_then(|question| question.default.clone())
            .map(FormInput::Answer),
        FormAction::Skip(field) => asked(field).map(|_| FormInput::Skip),
        FormAction::Back => {
            matches!(&current, Some(FormStep::Ask(q)) if q.form == name).then_some(FormInput::Back)
        }
        FormAction::Edit(field) => match &current {
            Some(FormStep::Review { form, rows }) if *form == name => rows
                .get(usize::from(field))
                .map(|row| FormInput::Edit(row.field.key.clone())),
            _ => None,
        },
        FormAction::Confirm => {
            matches!(&current, Some(FormStep::Review { form, .. }) if *form == name)
                .then_some(FormInput::Confirm)
        }
        FormAction::Cancel => current.as_ref().map(|_| FormInput::Cancel),
    };
    let Some(input) = input else {
        stale(out);
        return Ok(());
    };
    out.answer(who.chat, press.query_id, None, false);
    if let Some(message_id) = press.message_id {
        out.drop_keyboard(who.chat, message_id);
    }
    apply(tx, who, name, input, out)
}

/// Passes one input to crm-lib's engine and renders what it says next; a refused answer is
/// explained with what the field expects, and the question asked again.
fn apply(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    form: FormName,
    input: FormInput,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match tx.form_input(who.actor, form, input) {
        Ok(step) => render(tx, who, &step, out),
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::InvalidInput => {
                let current = crm_lib::forms::walk_in(&*tx, who.actor, form)?;
                let expect = match &current {
                    Some(FormStep::Ask(question)) => question.field.expectation(who.language),
                    _ => String::new(),
                };
                let text = if error.message().contains("cannot be skipped") {
                    tr(who.language, "forms.bot.required")
                } else {
                    tr_with(who.language, "forms.bot.invalid", &[("expect", &expect)])
                };
                out.send(who.chat, &text, None);
                match current {
                    Some(step) => render(tx, who, &step, out),
                    None => forget(tx, who, out),
                }
            }
            _ => forget(tx, who, out),
        },
    }
}

/// Renders a step: a question, the review, or the end of the form.
pub(crate) fn render(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    step: &FormStep,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = who.language;
    // A step asked or reviewed keeps the chat's typed text going to the form (also after a
    // button of a walk that /start had left).
    if let Some(form) =
        form_of(step).filter(|_| !matches!(step, FormStep::Done(_) | FormStep::Cancelled(_)))
    {
        dialogue::save(tx, who.org, who.chat, &Dialogue::Form { form: form.code() })?;
    }
    match step {
        FormStep::Ask(question) => {
            out.send(
                who.chat,
                &question_text(question, language),
                Some(question_keyboard(question, language)),
            );
        }
        FormStep::Review { form, rows } => {
            let mut lines = vec![tr(language, "forms.bot.review")];
            for row in rows {
                let value = row
                    .display(language)
                    .unwrap_or_else(|| tr(language, "forms.bot.skipped"));
                lines.push(format!(
                    "{}: {}",
                    row.field.name.get(language),
                    clip(&value, 200)
                ));
            }
            let labels: Vec<String> = rows
                .iter()
                .map(|row| row.field.name.get(language).to_string())
                .collect();
            out.send(
                who.chat,
                &lines.join("\n"),
                Some(keyboards::form_review(language, form.code(), &labels)),
            );
        }
        FormStep::Done(FormOutcome::ProfileCreated(profile)) => {
            dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
            out.send(
                who.chat,
                &tr_with(
                    language,
                    "forms.bot.profile_saved",
                    &[("name", &profile.label)],
                ),
                Some(keyboards::main_menu(language, who.tokens)),
            );
        }
        FormStep::Done(FormOutcome::LeadQualified { .. }) => {
            dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
            out.send(
                who.chat,
                &tr(language, "leads.bot.qualified"),
                Some(keyboards::main_menu(language, who.tokens)),
            );
        }
        FormStep::Cancelled(form) => {
            dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
            let key = match form {
                FormName::Registration => "forms.bot.cancelled",
                FormName::Qualification => "leads.bot.questions_cancelled",
            };
            out.send(
                who.chat,
                &tr(language, key),
                Some(keyboards::main_menu(language, who.tokens)),
            );
        }
    }
    Ok(())
}

/// The form a step is of.
fn form_of(step: &FormStep) -> Option<FormName> {
    match step {
        FormStep::Ask(question) => Some(question.form),
        FormStep::Review { form, .. } | FormStep::Cancelled(form) => Some(*form),
        FormStep::Done(_) => None,
    }
}

/// A question's text: its number, the prompt, the answer so far (asked again), and what
/// the field expects for typed answers.
pub(crate) fn question_text(question: &Question, language: Language) -> String {
    let (position, total) = question.position;
    let mut text = format!("({position}/{total}) {}", question.prompt(language));
    if let Some(current) = &question.current {
        let shown = match question.field.option(current) {
            Some(option) => option.label.get(language).to_string(),
            None => current.clone(),
        };
        text.push('\n');
        text.push_str(&tr_with(
            language,
            "forms.bot.current",
            &[("value", &clip(&shown, 200))],
        ));
    }
    if question.choices.is_empty() {
        text.push('\n');
        text.push_str(&tr_with(
            language,
            "forms.bot.expect",
            &[("expect", &question.field.expectation(language))],
        ));
    }
    text
}

/// A question's buttons (see [`keyboards::form_question`]).
pub(crate) fn question_keyboard(
    question: &Question,
    language: Language,
) -> crm_lib::model::Keyboard {
    let labels: Vec<String> = question
        .choices
        .iter()
        .map(|option| option.label.get(language).to_string())
        .collect();
    let field = u8::try_from(question.position.0.saturating_sub(1)).unwrap_or(u8::MAX);
    keyboards::form_question(
        language,
        question.form.code(),
        field,
        &labels,
        question.default.as_deref(),
        question.skippable,
    )
}

/// The chat's state named a form no longer walked (the module switched off, a form of a
/// later version): back to the menu.
fn forget(tx: &mut Tx<'_>, who: &Walker<'_>, out: &mut Replies) -> crm_lib::Result<()> {
    dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
    out.send(
        who.chat,
        &tr(who.language, "forms.bot.unavailable"),
        Some(keyboards::main_menu(who.language, who.tokens)),
    );
    Ok(())
}

/// `/profiles`: the customer's profiles, archived ones marked.
///
/// # Errors
/// Storage only.
pub(crate) fn list_profiles(
    tx: &mut Tx<'_>,
    who: &Walker<'_>,
    customer: crm_lib::model::CustomerId,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let profiles = match crm_lib::profiles::profiles_in(&*tx, who.actor, customer) {
        Ok(profiles) => profiles,
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(_) => {
            out.send(who.chat, &tr(who.language, "forms.bot.unavailable"), None);
            return Ok(());
        }
    };
    if profiles.is_empty() {
        out.send(
            who.chat,
            &tr(who.language, "forms.bot.no_profiles"),
            Some(keyboards::main_menu(who.language, who.tokens)),
        );
        return Ok(());
    }
    let mut lines = vec![tr(who.language, "forms.bot.profiles")];
    for profile in &profiles {
        let email = profile
            .answers
            .get("email")
            .map(FieldValue::to_answer)
            .unwrap_or_default();
        let mut line = format!("• {}", clip(&profile.label, 80));
        if !email.is_empty() {
            line.push_str(&format!(" ({})", clip(&email, 80)));
        }
        if profile.archived {
            line.push(' ');
            line.push_str(&tr(who.language, "forms.bot.archived"));
        }
        lines.push(line);
    }
    out.send(
        who.chat,
        &lines.join("\n"),
        Some(keyboards::main_menu(who.language, who.tokens)),
    );
    Ok(())
}
