//! The walk itself: what a customer says to a form ([`FormInput`]), what the engine says
//! back ([`FormStep`], [`FormOutcome`]), where a walk stands and how one starts. Below
//! the form's use cases (`super`) and the modules whose forms they complete (the leads'
//! fixed questions), so those modules start and read walks without importing the use cases.

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::declarations::progress_key;
use crate::{Error, Result, Tx, View};

/// What a customer says to a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormInput {
    /// An answer to the field asked: typed text, or a choice's key (a button).
    Answer(String),
    /// Leave the optional field asked unanswered (its default, when it has one, stands).
    Skip,
    /// Go back to the previous field (from an edit: back to the review, unchanged).
    Back,
    /// From the review: ask the field with this key again.
    Edit(String),
    /// From the review: accept every answer.
    Confirm,
    /// Drop the form and its answers.
    Cancel,
}

/// A question the engine asks: the field with everything a renderer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The form.
    pub form: FormName,
    /// The field asked (a choice with the options of this walk).
    pub field: FieldDef,
    /// The key of the prompt text (`forms.ask.text`, `forms.ask.choice`, ...), which takes
    /// `%{field}`: see [`Question::prompt`].
    pub prompt_key: &'static str,
    /// The choices to offer as buttons, as (key, label per language); empty unless the
    /// field is a choice.
    pub choices: Vec<ChoiceOption>,
    /// Whether Skip is offered (the field is optional).
    pub skippable: bool,
    /// The field's default answer, as typed, when it has one (offered as a button).
    pub default: Option<String>,
    /// The answer given so far, as typed (asked again by Back or Edit).
    pub current: Option<String>,
    /// The field's position (from 1) and the number of fields.
    pub position: (usize, usize),
    /// Whether it is asked from the review (an edit: the review follows).
    pub editing: bool,
}

impl Question {
    /// The question an [`Event::FormQuestion`] asks (crm-lib sent it by itself: the lead's
    /// fixed questions once the AI gave up), as the bot renders the others.
    pub fn from_event(
        form: FormName,
        field: FieldDef,
        position: (u32, u32),
        skippable: bool,
        default: Option<String>,
    ) -> Question {
        Question {
            form,
            prompt_key: prompt_key(&field.kind),
            choices: match &field.kind {
                FieldKind::Choice { options } => options.clone(),
                _ => Vec::new(),
            },
            skippable,
            default,
            current: None,
            position: (position.0 as usize, position.1 as usize),
            editing: false,
            field,
        }
    }

    /// The prompt in `language`: `Your first name?`-like text naming the field.
    pub fn prompt(&self, language: Language) -> String {
        crate::i18n::tr_with(
            language,
            self.prompt_key,
            &[("field", &self.field.name.get(language))],
        )
    }
}

/// One row of the review: a field and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    /// The field.
    pub field: FieldDef,
    /// The answer, `None` when skipped.
    pub value: Option<FieldValue>,
}

impl ReviewRow {
    /// The answer as a person reads it in `language` (a choice by its label); `None` when
    /// skipped.
    pub fn display(&self, language: Language) -> Option<String> {
        self.value
            .as_ref()
            .map(|value| value.display(Some(&self.field), language, ""))
    }
}

/// What the form shows next.
#[derive(Debug, Clone, PartialEq)]
pub enum FormStep {
    /// Ask a field.
    Ask(Question),
    /// Show every answer, with Edit per field, Confirm and Cancel.
    Review {
        /// The form.
        form: FormName,
        /// Every field in order, with its answer.
        rows: Vec<ReviewRow>,
    },
    /// The form was confirmed and did its work.
    Done(FormOutcome),
    /// The form was cancelled; its answers are gone.
    Cancelled(FormName),
}

/// What a confirmed form did.
#[derive(Debug, Clone, PartialEq)]
pub enum FormOutcome {
    /// The registration created this profile.
    ProfileCreated(Profile),
    /// The fixed qualification questions were answered: their answers stand on this lead's
    /// slots (the projects module).
    LeadQualified {
        /// The lead (an order).
        lead: OrderId,
    },
}

/// Checks a definition: its fields ([`FieldSet::validate`]), at least one, and each default
/// naming a field and accepted by it.
///
/// # Errors
/// Invalid input on `fields` (or `defaults`), naming the field.
pub fn check_form(def: &FormDef) -> Result<()> {
    def.fields.validate()?;
    if def.fields.is_empty() {
        return Err(Error::invalid("fields", "a form needs at least one field"));
    }
    for (key, text) in &def.defaults {
        let field = def
            .fields
            .get(key)
            .ok_or_else(|| Error::invalid("defaults", format!("{key}: there is no such field")))?;
        field.parse_answer(text)?;
    }
    Ok(())
}

/// The key of the prompt that asks a field of `kind`.
fn prompt_key(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Choice { .. } => "forms.ask.choice",
        FieldKind::Flag => "forms.ask.flag",
        FieldKind::Date | FieldKind::BirthDate { .. } => "forms.ask.date",
        _ => "forms.ask.text",
    }
}

/// The question for the field at `index` of the progress.
fn question(progress: &FormProgress, index: usize, editing: bool) -> Option<FormStep> {
    let field = progress.def.fields.fields.get(index)?.clone();
    let choices = match &field.kind {
        FieldKind::Choice { options } => options.clone(),
        _ => Vec::new(),
    };
    Some(FormStep::Ask(Question {
        form: progress.form,
        prompt_key: prompt_key(&field.kind),
        choices,
        skippable: !field.required,
        default: progress.def.defaults.get(&field.key).cloned(),
        current: progress.answers.get(&field.key).map(FieldValue::to_answer),
        position: (index + 1, progress.def.fields.fields.len()),
        editing,
        field,
    }))
}

/// What the progress shows now.
pub(crate) fn step_of(progress: &FormProgress) -> FormStep {
    let review = || FormStep::Review {
        form: progress.form,
        rows: progress
            .def
            .fields
            .fields
            .iter()
            .map(|field| ReviewRow {
                field: field.clone(),
                value: progress.answers.get(&field.key).cloned(),
            })
            .collect(),
    };
    match &progress.stage {
        FormStage::Asking(index) => {
            question(progress, *index as usize, false).unwrap_or_else(review)
        }
        FormStage::Editing(key) => progress
            .def
            .fields
            .fields
            .iter()
            .position(|field| &field.key == key)
            .and_then(|index| question(progress, index, true))
            .unwrap_or_else(review),
        FormStage::Review => review(),
    }
}

/// The stage after the field at `index` was answered or skipped.
pub(crate) fn after(progress: &FormProgress, index: usize) -> FormStage {
    if index + 1 >= progress.def.fields.fields.len() {
        FormStage::Review
    } else {
        FormStage::Asking((index + 1) as u32)
    }
}

/// Starts `form` for `customer` with the definition `def`, the choices given at run time
/// (replacing the options of those choice fields) and a context the completion reads;
/// replaces any walk of the same form under way. The engine's entry for forms whose
/// definition is made by a use case (the order form: profiles and packages as choices).
///
/// # Errors
/// Invalid input on `fields` when a run-time choice names no choice field, offers no option
/// or the definition is not valid.
pub(crate) fn start_form_with(
    tx: &Tx<'_>,
    org: OrgId,
    customer: CustomerId,
    form: FormName,
    mut def: FormDef,
    choices: RuntimeChoices,
    context: BTreeMap<String, String>,
) -> Result<FormStep> {
    for (key, options) in choices {
        let field = def
            .fields
            .fields
            .iter_mut()
            .find(|field| field.key == key)
            .ok_or_else(|| Error::invalid("fields", format!("{key}: there is no such field")))?;
        if !matches!(field.kind, FieldKind::Choice { .. }) {
            return Err(Error::invalid(
                "fields",
                format!("{key}: run-time choices need a choice field"),
            ));
        }
        field.kind = FieldKind::Choice { options };
    }
    check_form(&def)?;
    let progress = FormProgress {
        customer,
        form,
        def,
        answers: BTreeMap::new(),
        stage: FormStage::Asking(0),
        context,
        started_at: tx.now(),
        updated_at: tx.now(),
    };
    tx.save_record(&progress_key(org, customer, form), &progress)?;
    Ok(step_of(&progress))
}
