//! Conversational forms as data (SPEC section 3.1): a form's definition ([`FormDef`]), the
//! progress of one customer through one form ([`FormProgress`], kept by crm-lib so it
//! survives a restart), and the customers' profiles that the registration form makes
//! ([`Profile`], the tokens module, SPEC 5D).
//!
//! The engine that walks a form is `crate::forms`; the bot renders what it says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ChoiceOption, CustomerId, FieldSet, FieldValue, ProfileId, Timestamp};

/// Which form a progress is of: the forms the engine knows, each with what its confirmation
/// does. Stored by position (progress keys hold [`FormName::code`]): new ones go at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FormName {
    /// The tokens module's registration: its confirmation creates a [`Profile`].
    Registration,
    /// The projects module's fixed qualification questions of a lead (asked while AI
    /// qualification is off or gave up): each answer fills the lead's slot of the same key.
    Qualification,
}

impl FormName {
    /// Every form, in code order.
    pub const ALL: [FormName; 2] = [FormName::Registration, FormName::Qualification];

    /// The form's name in keys, texts and the bot's buttons: `registration`.
    pub fn as_str(self) -> &'static str {
        match self {
            FormName::Registration => "registration",
            FormName::Qualification => "qualification",
        }
    }

    /// The form whose name is `text`.
    pub fn parse(text: &str) -> Option<FormName> {
        FormName::ALL
            .into_iter()
            .find(|name| name.as_str() == text.trim())
    }

    /// The byte that names the form in a progress key.
    pub fn code(self) -> u8 {
        match self {
            FormName::Registration => 1,
            FormName::Qualification => 2,
        }
    }

    /// The form whose key byte is `code`.
    pub fn from_code(code: u8) -> Option<FormName> {
        FormName::ALL.into_iter().find(|name| name.code() == code)
    }
}

/// A form's definition: its fields in the order they are asked (kinds, validation, choices,
/// required or skippable) and the answers some fields start with. Declared by the template,
/// copied into the organization at its creation, editable in settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormDef {
    /// The fields, in the order they are asked.
    pub fields: FieldSet,
    /// Default answers by field key, as typed (`country` -> `USA`): offered with the
    /// question, taken when an optional field is skipped, shown at review.
    pub defaults: BTreeMap<String, String>,
}

/// Where a form's progress stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormStage {
    /// Asking the field at this position of the form's fields.
    Asking(u32),
    /// Showing every answer, waiting for Confirm, Cancel or an Edit.
    Review,
    /// Asking the field with this key again, from the review (back to the review after).
    Editing(String),
}

/// One customer's progress through one form: kept in `form_progress`, so a restart of the
/// appliance continues where it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormProgress {
    /// The customer walking the form.
    pub customer: CustomerId,
    /// Which form.
    pub form: FormName,
    /// The definition as it was at the start, with the choices given at run time merged in
    /// (a change of the form in settings does not move a walk under way).
    pub def: FormDef,
    /// The answers so far, by field key (a skipped field has none, or its default).
    pub answers: BTreeMap<String, FieldValue>,
    /// Where the walk stands.
    pub stage: FormStage,
    /// Run-time context of the form (the order form's chosen profile...), by name.
    pub context: BTreeMap<String, String>,
    /// When the walk started.
    pub started_at: Timestamp,
    /// When it last moved.
    pub updated_at: Timestamp,
}

/// Choices of a choice field given at run time (a customer's profiles, the packages), by
/// field key: they replace the options the definition declares.
pub type RuntimeChoices = BTreeMap<String, Vec<ChoiceOption>>;

/// A customer's profile (the tokens module, PRD 6.2 `Customer_Profiles`): a person the
/// customer orders for, with the registration form's answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The id (numbered per organization).
    pub id: ProfileId,
    /// The customer who keeps it.
    pub customer: CustomerId,
    /// The answers by field key of the registration form.
    pub answers: BTreeMap<String, FieldValue>,
    /// What lists show: the full name (first, middle and last).
    pub label: String,
    /// Archived profiles are kept but no longer offered.
    pub archived: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Profile {
    /// The full name of a set of answers: `first_name`, `middle_name` and `last_name` joined
    /// by spaces (those that are present); `?` when none is.
    pub fn label_of(answers: &BTreeMap<String, FieldValue>) -> String {
        let parts: Vec<String> = ["first_name", "middle_name", "last_name"]
            .iter()
            .filter_map(|key| answers.get(*key))
            .map(FieldValue::to_answer)
            .filter(|text| !text.trim().is_empty())
            .collect();
        if parts.is_empty() {
            "?".to_string()
        } else {
            parts.join(" ")
        }
    }
}
