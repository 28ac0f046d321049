//! The conversational form engine (SPEC section 3.1, "Conversational forms as data"): one
//! engine walks any form ([`FormDef`]) with a customer, one answer at a time, keeping the
//! progress ([`FormProgress`], table `form_progress`) so that a restart of the appliance
//! continues where the customer was. The bot renders what the engine says ([`FormStep`]):
//! a question with its choices and whether Skip is offered, or the review of every answer.
//!
//! Operations: start ([`Tx::start_form`]), then [`Tx::form_input`] with an answer (typed
//! text or a chosen option's key), Skip (optional fields only), Back, Edit (from the review),
//! Confirm or Cancel. A refused answer is invalid input naming the field and changes nothing.
//! Confirm checks the whole set of answers ([`FieldSet::check`]) and does what the form is
//! for: the registration ([`FormName::Registration`], the tokens module) creates a
//! [`Profile`] (`super::profiles`); the fixed qualification questions
//! ([`FormName::Qualification`], the projects module) write each answer to the lead's slot
//! at once and confirm them (`super::leads`). A form started with choices given at run time (a
//! customer's profiles, the packages: [`Tx::start_form_with_choices`]) offers those instead of the
//! declared options.
//!
//! The organization's registration form is copied from its template at creation (table
//! `forms`) and edited in settings ([`Tx::set_registration_form`]).

use super::{form_def, require_module, template_form};
use std::collections::BTreeMap;

use crate::model::*;
use crate::store::declarations::{form_key, progress_key};
use crate::store::{ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::{load_org, require};

pub(crate) mod walk;

use walk::after;
pub use walk::{FormInput, FormOutcome, FormStep, Question, ReviewRow, check_form};
pub(crate) use walk::{start_form_with, step_of};

/// Writes a new organization's form definitions from its template (those it declares: the
/// registration, the fixed qualification questions). Called by `org::create_org_in` in the
/// organization's creation transaction.
pub(crate) fn create_forms_in(
    tx: &Tx<'_>,
    org: OrgId,
    forms: &[(FormName, &FormDef)],
) -> Result<()> {
    for (form, def) in forms {
        if !def.fields.is_empty() {
            tx.insert_record(&form_key(org, *form), *def)?;
        }
    }
    Ok(())
}

/// Gives an organization that switches a module on its template's forms of that module when
/// it has none (switching off and on keeps what staff set): the registration for the tokens
/// module, the fixed qualification questions for the projects module. Called by
/// `org::update_settings`.
pub(crate) fn ensure_forms_in(tx: &Tx<'_>, org: &Organization, module: Module) -> Result<()> {
    for form in FormName::ALL {
        if module_of(form) != module {
            continue;
        }
        let key = form_key(org.id, form);
        if !tx.exists(tables::FORMS, &key)? {
            let def = template_form(&org.template, form);
            if !def.fields.is_empty() {
                tx.insert_record(&key, &def)?;
            }
        }
    }
    Ok(())
}

/// The module a form belongs to: its use cases answer not found while it is off.
pub(crate) fn module_of(form: FormName) -> Module {
    match form {
        FormName::Registration => Module::Tokens,
        FormName::Qualification => Module::Projects,
    }
}

/// The customer an actor walks forms as.
fn walker(actor: &Actor) -> Result<CustomerId> {
    match actor.who {
        ActorRef::Customer(customer) => Ok(customer),
        _ => Err(Error::forbidden(format!(
            "{} is no customer: only customers walk forms",
            actor.who
        ))),
    }
}

/// The form the customer acting is walking, with what it shows now; `None` when they walk
/// none (or only forms of modules that are off).
///
/// # Errors
/// Permission denied for an actor who is no customer; storage.
pub fn current_form_in(view: &impl View, actor: &Actor) -> Result<Option<FormStep>> {
    let customer = walker(actor)?;
    let org = load_org(view, actor.org)?;
    for form in FormName::ALL {
        if !org.modules.contains(module_of(form)) {
            continue;
        }
        if let Some(progress) = view.get::<FormProgress>(
            tables::FORM_PROGRESS,
            &progress_key(actor.org, customer, form),
        )? {
            return Ok(Some(step_of(&progress)));
        }
    }
    Ok(None)
}

/// The walk of `form` the customer acting is on, with what it shows now; `None` when they
/// walk none (or the form's module is off).
///
/// # Errors
/// Permission denied for an actor who is no customer; storage.
pub fn walk_in(view: &impl View, actor: &Actor, form: FormName) -> Result<Option<FormStep>> {
    let customer = walker(actor)?;
    let org = load_org(view, actor.org)?;
    if !org.modules.contains(module_of(form)) {
        return Ok(None);
    }
    Ok(view
        .get::<FormProgress>(
            tables::FORM_PROGRESS,
            &progress_key(actor.org, customer, form),
        )?
        .map(|progress| step_of(&progress)))
}

/// The organization's registration form. Staff with `manage_settings` or `chat_customers`
/// (who edit profiles with it), and customers, may read it.
///
/// # Errors
/// Not found (`module tokens`) when the module is off; permission denied.
pub fn registration_form_in(view: &impl View, actor: &Actor) -> Result<FormDef> {
    let resolved = super::resolve(view, actor)?;
    if !matches!(resolved, super::Resolved::Customer(_))
        && !resolved.has(Permission::ManageSettings)
        && !resolved.has(Permission::ChatCustomers)
    {
        return Err(Error::denied(
            Permission::ChatCustomers,
            format!("{} lacks the chat_customers permission", actor.who),
        ));
    }
    let org = require_module(view, actor.org, Module::Tokens)?;
    form_def(view, &org, FormName::Registration)
}

impl Tx<'_> {
    /// Starts `form` for the customer acting (the bot's `/register`), from the first field;
    /// a walk of the same form under way starts again. Writes the progress only (no audit:
    /// a walk is no business record until confirmed).
    ///
    /// # Errors
    /// Not found (`module tokens`) when the form's module is off; permission denied for an
    /// actor who is no customer; invalid input when the organization's form has no field.
    pub fn start_form(&mut self, actor: &Actor, form: FormName) -> Result<FormStep> {
        self.start_form_with_choices(actor, form, RuntimeChoices::new())
    }

    /// [`Tx::start_form`] with choices given at run time: each named choice field offers
    /// these options instead of its declared ones for this walk (a customer's profiles, the
    /// packages on sale).
    ///
    /// # Errors
    /// As [`Tx::start_form`]; invalid input on `fields` when a run-time choice names no
    /// choice field or offers no (or too many) options.
    pub fn start_form_with_choices(
        &mut self,
        actor: &Actor,
        form: FormName,
        choices: RuntimeChoices,
    ) -> Result<FormStep> {
        let customer = walker(actor)?;
        let org = require_module(self, actor.org, module_of(form))?;
        super::load_customer(self, actor.org, customer)?;
        if form == FormName::Qualification {
            // The fixed questions fill a lead: they start with a lead's message
            // (`Tx::post_lead_message`), not on request.
            return Err(Error::invalid(
                "form",
                "the qualification questions start with a message about a lead",
            ));
        }
        let def = form_def(self, &org, form)?;
        start_form_with(
            self,
            actor.org,
            customer,
            form,
            def,
            choices,
            BTreeMap::new(),
        )
    }

    /// Moves the customer's walk through `form` by one input (see [`FormInput`]) and says
    /// what to show next. A refused answer, Skip of a required field, Edit of an unknown
    /// field, or an input the stage does not take changes nothing. Confirm checks every
    /// answer again, does the form's work in this transaction and ends the walk; Cancel ends
    /// it.
    ///
    /// # Errors
    /// Not found when no walk of `form` is under way or its module is off; permission denied
    /// for an actor who is no customer; invalid input on `fields` naming the field (a refused
    /// answer, a required field skipped, an unknown field to edit) or on `input` (an input
    /// the stage does not take); the completion's errors.
    pub fn form_input(
        &mut self,
        actor: &Actor,
        form: FormName,
        input: FormInput,
    ) -> Result<FormStep> {
        let customer = walker(actor)?;
        require_module(self, actor.org, module_of(form))?;
        let key = progress_key(actor.org, customer, form);
        let before = self
            .get::<FormProgress>(tables::FORM_PROGRESS, &key)?
            .ok_or_else(|| Error::not_found("form", form.as_str()))?;
        let mut progress = before.clone();
        let today = Date::of(self.now());
        let not_now = |what: &str| {
            Error::invalid(
                "input",
                format!("{what} is not taken here in the {} form", form.as_str()),
            )
        };
        // The field answered or skipped, for forms that write each answer at once.
        let mut answered: Option<String> = None;
        match (&before.stage, input) {
            (_, FormInput::Cancel) => {
                self.delete_record(&key, &before)?;
                return Ok(FormStep::Cancelled(form));
            }
            (FormStage::Asking(index), FormInput::Answer(text)) => {
                let index = *index as usize;
                let field = before
                    .def
                    .fields
                    .fields
                    .get(index)
                    .ok_or_else(|| not_now("an answer"))?;
                let value = field.parse_answer_on(&text, today)?;
                progress.answers.insert(field.key.clone(), value);
                answered = Some(field.key.clone());
                progress.stage = after(&before, index);
            }
            (FormStage::Editing(field_key), FormInput::Answer(text)) => {
                let field = before
                    .def
                    .fields
                    .get(field_key)
                    .ok_or_else(|| not_now("an answer"))?;
                let value = field.parse_answer_on(&text, today)?;
                progress.answers.insert(field.key.clone(), value);
                answered = Some(field.key.clone());
                progress.stage = FormStage::Review;
            }
            (FormStage::Asking(index), FormInput::Skip) => {
                let index = *index as usize;
                let field = before
                    .def
                    .fields
                    .fields
                    .get(index)
                    .ok_or_else(|| not_now("skip"))?;
                skip(&mut progress, field, today)?;
                answered = Some(field.key.clone());
                progress.stage = after(&before, index);
            }
            (FormStage::Editing(field_key), FormInput::Skip) => {
                let field = before
                    .def
                    .fields
                    .get(field_key)
                    .ok_or_else(|| not_now("skip"))?
                    .clone();
                skip(&mut progress, &field, today)?;
                answered = Some(field.key.clone());
                progress.stage = FormStage::Review;
            }
            (FormStage::Asking(index), FormInput::Back) => {
                progress.stage = FormStage::Asking(index.saturating_sub(1));
            }
            (FormStage::Editing(_), FormInput::Back) => progress.stage = FormStage::Review,
            (FormStage::Review, FormInput::Back) => {
                let last = before.def.fields.fields.len().saturating_sub(1);
                progress.stage = FormStage::Asking(last as u32);
            }
            (FormStage::Review, FormInput::Edit(field_key)) => {
                let field = before.def.fields.get(&field_key).ok_or_else(|| {
                    Error::invalid("fields", format!("{field_key}: there is no such field"))
                })?;
                progress.stage = FormStage::Editing(field.key.clone());
            }
            (FormStage::Review, FormInput::Confirm) => {
                before.def.fields.check(&before.answers)?;
                let outcome = self.complete_form(actor, customer, &before)?;
                self.delete_record(&key, &before)?;
                return Ok(FormStep::Done(outcome));
            }
            (_, FormInput::Answer(_)) => return Err(not_now("an answer")),
            (_, FormInput::Skip) => return Err(not_now("skip")),
            (_, FormInput::Edit(_)) => return Err(not_now("edit")),
            (_, FormInput::Confirm) => return Err(not_now("confirm")),
        }
        progress.updated_at = self.now();
        // The fixed qualification questions fill the lead's slot at each answer (checked
        // before anything is written, so a refused answer still writes nothing).
        if let (FormName::Qualification, Some(field)) = (form, &answered) {
            super::leads::questions::on_question_answered(self, actor, &progress, field)?;
        }
        self.update_record(&key, &before, &progress)?;
        Ok(step_of(&progress))
    }

    /// Does what a confirmed form is for.
    fn complete_form(
        &mut self,
        actor: &Actor,
        customer: CustomerId,
        progress: &FormProgress,
    ) -> Result<FormOutcome> {
        match progress.form {
            FormName::Registration => {
                let profile = super::profiles::create_profile_from_registration(
                    self,
                    actor,
                    customer,
                    progress.answers.clone(),
                )?;
                Ok(FormOutcome::ProfileCreated(profile))
            }
            FormName::Qualification => {
                super::leads::questions::complete_questions(self, actor, progress)
            }
        }
    }

    /// Replaces the organization's registration form (fields added, removed, reordered,
    /// required or not, choices; defaults). Walks under way keep the form they started with.
    /// Needs `manage_settings`; the tokens module. Writes the form, its audit entry
    /// (`registration.form_changed`) and a change of the organization. Saving the same form
    /// writes nothing.
    ///
    /// # Errors
    /// Not found (`module tokens`); permission denied; invalid input as [`check_form`].
    pub fn set_registration_form(&mut self, actor: &Actor, def: FormDef) -> Result<FormDef> {
        require(self, actor, Permission::ManageSettings)?;
        let org = require_module(self, actor.org, Module::Tokens)?;
        check_form(&def)?;
        let key = form_key(actor.org, FormName::Registration);
        let before = self.get::<FormDef>(tables::FORMS, &key)?;
        if before.as_ref() == Some(&def) {
            return Ok(def);
        }
        match &before {
            Some(before) => self.update_record(&key, before, &def)?,
            None => self.insert_record(&key, &def)?,
        }
        let keys: Vec<&str> = def
            .fields
            .fields
            .iter()
            .map(|field| field.key.as_str())
            .collect();
        self.audit(
            actor,
            AuditAction::RegistrationFormChanged,
            Subject::Organization,
            AuditDetail::Text(keys.join(", ")),
        )?;
        self.changed(org.id, Subject::Organization, ChangeKind::Updated)?;
        Ok(def)
    }
}

/// Skips `field` in `progress`: refused for a required field; the default (when there is
/// one) stands as the answer, else the answer is removed.
fn skip(progress: &mut FormProgress, field: &FieldDef, today: Date) -> Result<()> {
    if field.required {
        return Err(Error::invalid(
            "fields",
            format!("{}: is required and cannot be skipped", field.key),
        ));
    }
    match progress.def.defaults.get(&field.key) {
        Some(default) => {
            let value = field.parse_answer_on(default, today)?;
            progress.answers.insert(field.key.clone(), value);
        }
        None => {
            progress.answers.remove(&field.key);
        }
    }
    Ok(())
}

impl Crm {
    /// See [`Tx::start_form`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::start_form`].
    pub fn start_form(&self, actor: &Actor, form: FormName) -> Result<FormStep> {
        let actor = actor.clone();
        self.write(move |tx| tx.start_form(&actor, form))
    }

    /// See [`Tx::start_form_with_choices`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::start_form_with_choices`].
    pub fn start_form_with_choices(
        &self,
        actor: &Actor,
        form: FormName,
        choices: RuntimeChoices,
    ) -> Result<FormStep> {
        let actor = actor.clone();
        self.write(move |tx| tx.start_form_with_choices(&actor, form, choices))
    }

    /// See [`Tx::form_input`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::form_input`].
    pub fn form_input(&self, actor: &Actor, form: FormName, input: FormInput) -> Result<FormStep> {
        let actor = actor.clone();
        self.write(move |tx| tx.form_input(&actor, form, input))
    }

    /// See [`current_form_in`]; reads one snapshot.
    ///
    /// # Errors
    /// See [`current_form_in`].
    pub fn current_form(&self, actor: &Actor) -> Result<Option<FormStep>> {
        self.read(|view| current_form_in(view, actor))
    }

    /// See [`registration_form_in`]; reads one snapshot.
    ///
    /// # Errors
    /// See [`registration_form_in`].
    pub fn registration_form(&self, actor: &Actor) -> Result<FormDef> {
        self.read(|view| registration_form_in(view, actor))
    }

    /// See [`Tx::set_registration_form`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::set_registration_form`].
    pub fn set_registration_form(&self, actor: &Actor, def: FormDef) -> Result<FormDef> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_registration_form(&actor, def))
    }
}

/// A form definition as text: the settings page's editor, one `[[field]]` table per field
/// in the order asked (`key`, `kind`, `name` per language code, `required`, the kind's
/// limits `max_len`, `pattern`, `min`, `max` (ages for `birth_date`), `options` with a
/// `label` per language code, and `default`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FormText {
    #[serde(default)]
    field: Vec<FieldText>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldText {
    key: String,
    kind: String,
    name: BTreeMap<String, String>,
    #[serde(default)]
    required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    options: Vec<OptionText>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionText {
    key: String,
    label: BTreeMap<String, String>,
}

/// Texts per language as a map of language code -> text.
fn codes(texts: &Localized) -> BTreeMap<String, String> {
    texts
        .iter()
        .map(|(language, text)| (language.code().to_string(), text.to_string()))
        .collect()
}

/// A map of language code -> text as texts per language.
fn texts_of(field: &str, map: &BTreeMap<String, String>) -> Result<Localized> {
    let mut texts = Localized::default();
    for (code, text) in map {
        let language = Language::of_code(code).ok_or_else(|| {
            Error::invalid("form", format!("{field}: unknown language code {code:?}"))
        })?;
        if !text.trim().is_empty() {
            texts.set(language, text.trim());
        }
    }
    Ok(texts)
}

/// A form definition as the settings page's text (see [`form_from_text`], which reads it
/// back unchanged).
pub fn form_to_text(def: &FormDef) -> String {
    let text = FormText {
        field: def
            .fields
            .fields
            .iter()
            .map(|field| {
                let mut out = FieldText {
                    key: field.key.clone(),
                    kind: field.kind.name().to_string(),
                    name: codes(&field.name),
                    required: field.required,
                    max_len: None,
                    pattern: None,
                    min: None,
                    max: None,
                    default: def.defaults.get(&field.key).cloned(),
                    options: Vec::new(),
                };
                match &field.kind {
                    FieldKind::Text { max_len, pattern } => {
                        out.max_len = Some(*max_len);
                        out.pattern = pattern.clone();
                    }
                    FieldKind::Number { min, max } => {
                        out.min = *min;
                        out.max = *max;
                    }
                    FieldKind::BirthDate { min_age, max_age } => {
                        out.min = Some(i64::from(*min_age));
                        out.max = Some(i64::from(*max_age));
                    }
                    FieldKind::Choice { options } => {
                        out.options = options
                            .iter()
                            .map(|option| OptionText {
                                key: option.key.clone(),
                                label: codes(&option.label),
                            })
                            .collect();
                    }
                    _ => {}
                }
                out
            })
            .collect(),
    };
    toml::to_string(&text).unwrap_or_default()
}

/// Reads a form definition from the settings page's text (see [`form_to_text`]) and checks
/// it ([`check_form`]).
///
/// # Errors
/// Invalid input on `form` for text that does not parse (the parser's message names the
/// line), an unknown kind or language code, an age out of 0-255; as [`check_form`].
pub fn form_from_text(text: &str) -> Result<FormDef> {
    let parsed: FormText = toml::from_str(text)
        .map_err(|error| Error::invalid("form", error.to_string().trim().to_string()))?;
    let mut def = FormDef::default();
    for field in parsed.field {
        let age = |value: Option<i64>, otherwise: u8| {
            value.map_or(Ok(otherwise), |value| {
                u8::try_from(value).map_err(|_| {
                    Error::invalid("form", format!("{}: an age must be 0 to 255", field.key))
                })
            })
        };
        let kind = match field.kind.as_str() {
            "text" => FieldKind::Text {
                max_len: field.max_len.unwrap_or(200),
                pattern: field.pattern.clone().filter(|pattern| !pattern.is_empty()),
            },
            "number" => FieldKind::Number {
                min: field.min,
                max: field.max,
            },
            "money" => FieldKind::Money,
            "date" => FieldKind::Date,
            "flag" => FieldKind::Flag,
            "email" => FieldKind::Email,
            "phone" => FieldKind::Phone,
            "birth_date" => FieldKind::BirthDate {
                min_age: age(field.min, 0)?,
                max_age: age(field.max, 120)?,
            },
            "choice" => {
                let mut options = Vec::with_capacity(field.options.len());
                for option in &field.options {
                    options.push(ChoiceOption {
                        key: option.key.clone(),
                        label: texts_of(&field.key, &option.label)?,
                    });
                }
                FieldKind::Choice { options }
            }
            other => {
                return Err(Error::invalid(
                    "form",
                    format!(
                        "{}: kind {other:?} is not one of text, number, money, date, choice, flag, email, phone, birth_date",
                        field.key
                    ),
                ));
            }
        };
        if let Some(default) = &field.default {
            def.defaults.insert(field.key.clone(), default.clone());
        }
        def.fields.fields.push(FieldDef {
            name: texts_of(&field.key, &field.name)?,
            key: field.key,
            kind,
            required: field.required,
            list: false,
        });
    }
    check_form(&def)?;
    Ok(def)
}
