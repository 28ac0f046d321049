//! Typed fields of a work item (SPEC section 3.1: "typed fields per pipeline, declared in the
//! template: text, number, money, date, choice, flag"), and the one rule that reads a typed
//! answer: [`FieldDef::parse_answer`], which the web form, the API, the CSV import and the
//! bot all call (one rule, four adapters). A list of definitions is a form ([`FieldSet`]):
//! the ticket fields today, the bot's registration form tomorrow.

use serde::{Deserialize, Serialize};

use super::{Date, Language, Localized, Money};
use crate::{Error, Result};

/// The most fields a form may declare.
pub const FIELDS_MAX: usize = 32;

/// The most characters a text field may ever hold (a definition's `max_len` is at most this).
pub const TEXT_MAX: u32 = 4000;

/// A typed value of a field on an order (device, serial, address...; Brando and TeleKpr
/// seeds). The variants are stored by position: new ones go at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FieldValue {
    /// Free text.
    Text(String),
    /// A number.
    Number(i64),
    /// Yes or no.
    Flag(bool),
    /// A date.
    Date(Date),
    /// One option of a choice field: the option's key.
    Choice(String),
    /// An amount in the organization's currency.
    Money(Money),
}

impl FieldValue {
    /// The value as a person reads it in `language`: a choice by its label (when `def`
    /// declares the option), a flag as yes or no, an amount with its currency, a date as
    /// `YYYY-MM-DD`.
    pub fn display(&self, def: Option<&FieldDef>, language: Language, currency: &str) -> String {
        match self {
            FieldValue::Text(text) => text.clone(),
            FieldValue::Number(number) => number.to_string(),
            FieldValue::Flag(flag) => {
                crate::i18n::tr(language, if *flag { "tickets.yes" } else { "tickets.no" })
            }
            FieldValue::Date(date) => date.to_string(),
            FieldValue::Choice(key) => def
                .and_then(|def| def.option(key))
                .map(|option| option.label.get(language).to_string())
                .unwrap_or_else(|| key.clone()),
            FieldValue::Money(amount) => amount.format_with(language, currency),
        }
    }

    /// The value as a form or a CSV file writes it, which [`FieldDef::parse_answer`] reads
    /// back: a choice's key, a flag as `yes` or `no`, an amount as `1500.00`.
    pub fn to_answer(&self) -> String {
        match self {
            FieldValue::Text(text) | FieldValue::Choice(text) => text.clone(),
            FieldValue::Number(number) => number.to_string(),
            FieldValue::Flag(flag) => if *flag { "yes" } else { "no" }.to_string(),
            FieldValue::Date(date) => date.to_string(),
            FieldValue::Money(amount) => amount.to_string(),
        }
    }

    /// The value as an index key and a filter compare it: text trimmed and upper-cased, at
    /// most 64 bytes (longer text is not indexed), choices by key; `None` for the other kinds.
    pub fn index_form(&self) -> Option<String> {
        match self {
            FieldValue::Text(text) => {
                let normal = normalize(text);
                (!normal.is_empty() && normal.len() <= 64).then_some(normal)
            }
            FieldValue::Choice(key) => Some(key.clone()),
            _ => None,
        }
    }
}

/// Text as the field index and the filters compare it: trimmed, upper-cased.
pub fn normalize(text: &str) -> String {
    text.trim().to_uppercase()
}

/// One option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// The stored key (`laptop`): `a-z`, `0-9` and `_`.
    pub key: String,
    /// What people read, per language.
    pub label: Localized,
}

/// What kind of value a field holds, with its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    /// Text of 1 to `max_len` characters; when `pattern` is set, the whole text must match
    /// that regular expression.
    Text {
        /// The most characters.
        max_len: u32,
        /// A regular expression the whole text must match.
        pattern: Option<String>,
    },
    /// A whole number within the bounds.
    Number {
        /// The smallest accepted.
        min: Option<i64>,
        /// The largest accepted.
        max: Option<i64>,
    },
    /// An amount ([`Money::parse`]).
    Money,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// One of the options.
    Choice {
        /// The options, in the order they are offered.
        options: Vec<ChoiceOption>,
    },
    /// Yes or no.
    Flag,
    /// An email address ([`crate::customers::parse_email`]), stored as text.
    Email,
    /// A phone number, cleaned to E.164 ([`crate::customers::parse_phone`]), stored as text.
    Phone,
    /// A date of birth, `YYYY-MM-DD`: in the past, giving an age from `min_age` to `max_age`
    /// whole years on the day it is answered.
    BirthDate {
        /// The youngest accepted age, in whole years.
        min_age: u8,
        /// The oldest accepted age, in whole years.
        max_age: u8,
    },
}

impl FieldKind {
    /// The kind's name in templates and the API: `text`, `number`, `money`, `date`, `choice`,
    /// `flag`, `email`, `phone`, `birth_date`.
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::Number { .. } => "number",
            FieldKind::Money => "money",
            FieldKind::Date => "date",
            FieldKind::Choice { .. } => "choice",
            FieldKind::Flag => "flag",
            FieldKind::Email => "email",
            FieldKind::Phone => "phone",
            FieldKind::BirthDate { .. } => "birth_date",
        }
    }
}

/// The most options a choice field may offer (the registration's 50 US states and DC fit).
pub const CHOICES_MAX: usize = 64;

/// A declared field: its key, name, kind and whether it must be answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The key (`serial`): `a-z`, `0-9` and `_`, 1-32 characters; what the API, the CSV
    /// columns and the filters (`?field.serial=`) name it by.
    pub key: String,
    /// What people read, per language.
    pub name: Localized,
    /// The kind and its limits.
    pub kind: FieldKind,
    /// Whether a ticket needs it (the bot's form offers Skip only when it does not).
    pub required: bool,
    /// Whether order lists show it in each row.
    pub list: bool,
}

/// Words read as yes and no by flag fields, in every language the product speaks.
const YES: &[&str] = &["yes", "y", "true", "1", "on", "да", "д"];
const NO: &[&str] = &["no", "n", "false", "0", "off", "нет", "н"];

impl FieldDef {
    /// The option of a choice field with key `key`.
    pub fn option(&self, key: &str) -> Option<&ChoiceOption> {
        match &self.kind {
            FieldKind::Choice { options } => options.iter().find(|option| option.key == key),
            _ => None,
        }
    }

    /// Reads a typed answer as this field's value: the one rule every adapter calls.
    ///
    /// Text is trimmed, 1 to `max_len` characters without control characters (newlines
    /// allowed), matching the pattern when there is one; a number is a whole number within
    /// the bounds (spaces allowed between digits); money as [`Money::parse`], not negative;
    /// a date `YYYY-MM-DD`; a choice by its key or by its label in any language (case
    /// ignored); a flag as yes/no, true/false, 1/0, on/off or да/нет.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `fields`, the message starting with the field's
    /// key (`serial: must be at most 40 characters`). An empty answer is refused too: whether
    /// a field may be left out is [`FieldSet::check`]'s rule.
    ///
    /// A date of birth is checked against today's date by the system clock; see
    /// [`FieldDef::parse_answer_on`] for a given day.
    pub fn parse_answer(&self, text: &str) -> Result<FieldValue> {
        self.parse_answer_on(text, Date::of(super::Timestamp::now()))
    }

    /// [`FieldDef::parse_answer`] on the day `today` (what a date of birth is measured
    /// against: a use case passes its transaction's day). An email is checked as
    /// [`crate::customers::parse_email`], a phone cleaned as [`crate::customers::parse_phone`]
    /// (both stored as text); a date of birth must be `YYYY-MM-DD`, before `today`, and give
    /// an age within the field's bounds.
    ///
    /// # Errors
    /// As [`FieldDef::parse_answer`].
    pub fn parse_answer_on(&self, text: &str, today: Date) -> Result<FieldValue> {
        let bad = |message: String| Error::invalid("fields", format!("{}: {message}", self.key));
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("must not be empty".into()));
        }
        match &self.kind {
            FieldKind::Text { max_len, pattern } => {
                let chars = text.chars().count();
                if chars > *max_len as usize {
                    return Err(bad(format!(
                        "must be at most {max_len} characters (got {chars})"
                    )));
                }
                if text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
                {
                    return Err(bad("must not contain control characters".into()));
                }
                if let Some(pattern) = pattern
                    && !full_match(pattern, text)?
                {
                    return Err(bad(format!("{text:?} does not match the form {pattern}")));
                }
                Ok(FieldValue::Text(text.to_string()))
            }
            FieldKind::Number { min, max } => {
                let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                let number: i64 = digits
                    .parse()
                    .map_err(|_| bad(format!("{text:?} is not a whole number")))?;
                if let Some(min) = min
                    && number < *min
                {
                    return Err(bad(format!("must be at least {min}")));
                }
                if let Some(max) = max
                    && number > *max
                {
                    return Err(bad(format!("must be at most {max}")));
                }
                Ok(FieldValue::Number(number))
            }
            FieldKind::Money => Money::parse("fields", text)
                .map(FieldValue::Money)
                .map_err(|error| bad(error.message().to_string())),
            FieldKind::Date => Date::parse("fields", text)
                .map(FieldValue::Date)
                .map_err(|error| bad(error.message().to_string())),
            FieldKind::Choice { options } => {
                let wanted = text.to_lowercase();
                options
                    .iter()
                    .find(|option| {
                        option.key == wanted
                            || option
                                .label
                                .iter()
                                .any(|(_, label)| label.to_lowercase() == wanted)
                    })
                    .map(|option| FieldValue::Choice(option.key.clone()))
                    .ok_or_else(|| {
                        let keys: Vec<&str> =
                            options.iter().map(|option| option.key.as_str()).collect();
                        bad(format!(
                            "{text:?} is not one of the choices ({})",
                            keys.join(", ")
                        ))
                    })
            }
            FieldKind::Flag => {
                let word = text.to_lowercase();
                if YES.contains(&word.as_str()) {
                    Ok(FieldValue::Flag(true))
                } else if NO.contains(&word.as_str()) {
                    Ok(FieldValue::Flag(false))
                } else {
                    Err(bad(format!("{text:?} is not yes or no")))
                }
            }
            FieldKind::Email => crate::services::customers::parse_email(text)
                .map(FieldValue::Text)
                .map_err(|error| bad(error.message().to_string())),
            FieldKind::Phone => crate::services::customers::parse_phone(text)
                .map(FieldValue::Text)
                .map_err(|error| bad(error.message().to_string())),
            FieldKind::BirthDate { min_age, max_age } => {
                let born = Date::parse("fields", text)
                    .map_err(|error| bad(error.message().to_string()))?;
                if born >= today {
                    return Err(bad(format!("{text:?} is not a date in the past")));
                }
                let age = age_on(born, today);
                if age < i32::from(*min_age) || age > i32::from(*max_age) {
                    return Err(bad(format!(
                        "{text:?} gives an age of {age}; the age must be {min_age} to {max_age}"
                    )));
                }
                Ok(FieldValue::Date(born))
            }
        }
    }

    /// Whether `value` is one this field accepts (its kind, its limits): what
    /// [`FieldDef::parse_answer`] would read from [`FieldValue::to_answer`].
    pub fn accepts(&self, value: &FieldValue) -> bool {
        self.parse_answer(&value.to_answer())
            .is_ok_and(|parsed| parsed == *value)
    }

    /// What the field expects, in `language`, for a person whose answer was refused: "a
    /// whole number from 1 to 10", "one of: Phone, Laptop", "yes or no" (texts `tickets.expect.*`).
    pub fn expectation(&self, language: Language) -> String {
        use crate::i18n::{tr, tr_with};
        match &self.kind {
            FieldKind::Text { max_len, pattern } => match pattern {
                Some(pattern) => tr_with(
                    language,
                    "tickets.expect.text_pattern",
                    &[("max", max_len), ("pattern", pattern)],
                ),
                None => tr_with(language, "tickets.expect.text", &[("max", max_len)]),
            },
            FieldKind::Number { min, max } => {
                let bound = |value: &Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
                match (min, max) {
                    (None, None) => tr(language, "tickets.expect.number"),
                    _ => tr_with(
                        language,
                        "tickets.expect.number_between",
                        &[("min", &bound(min)), ("max", &bound(max))],
                    ),
                }
            }
            FieldKind::Money => tr(language, "tickets.expect.money"),
            FieldKind::Date => tr(language, "tickets.expect.date"),
            FieldKind::Choice { options } => {
                let labels: Vec<&str> = options
                    .iter()
                    .map(|option| option.label.get(language))
                    .collect();
                tr_with(
                    language,
                    "tickets.expect.choice",
                    &[("choices", &labels.join(", "))],
                )
            }
            FieldKind::Flag => tr(language, "tickets.expect.flag"),
            FieldKind::Email => tr(language, "forms.expect.email"),
            FieldKind::Phone => tr(language, "forms.expect.phone"),
            FieldKind::BirthDate { min_age, max_age } => tr_with(
                language,
                "forms.expect.birth_date",
                &[("min", min_age), ("max", max_age)],
            ),
        }
    }

    /// Checks the definition itself: the key's form, a text limit of 1 to [`TEXT_MAX`], a
    /// pattern that compiles, bounds in order, a choice with 1 to [`CHOICES_MAX`] options of
    /// unique keys, ages in order.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `fields`, naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String| Error::invalid("fields", format!("{}: {message}", self.key));
        check_key(&self.key).map_err(|message| Error::invalid("fields", message))?;
        if self.name.is_empty() {
            return Err(bad("needs a name".into()));
        }
        match &self.kind {
            FieldKind::Text { max_len, pattern } => {
                if *max_len == 0 || *max_len > TEXT_MAX {
                    return Err(bad(format!("max_len must be 1 to {TEXT_MAX}")));
                }
                if let Some(pattern) = pattern {
                    compile(pattern)?;
                }
            }
            FieldKind::Number {
                min: Some(min),
                max: Some(max),
            } if min > max => return Err(bad(format!("min {min} is over max {max}"))),
            FieldKind::Choice { options } => {
                if options.is_empty() || options.len() > CHOICES_MAX {
                    return Err(bad(format!("a choice needs 1 to {CHOICES_MAX} options")));
                }
                for (index, option) in options.iter().enumerate() {
                    check_key(&option.key).map_err(|message| bad(format!("option {message}")))?;
                    if options[..index].iter().any(|other| other.key == option.key) {
                        return Err(bad(format!("option {} is declared twice", option.key)));
                    }
                }
            }
            FieldKind::BirthDate { min_age, max_age } if min_age > max_age => {
                return Err(bad(format!("min_age {min_age} is over max_age {max_age}")));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The age in whole years on `today` of someone born on `born`.
fn age_on(born: Date, today: Date) -> i32 {
    let (born, today) = (born.to_time(), today.to_time());
    let mut age = today.year() - born.year();
    if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
        age -= 1;
    }
    age
}

/// A key of a field or an option: 1-32 characters of `a-z`, `0-9` and `_`, starting with a
/// letter.
fn check_key(key: &str) -> std::result::Result<(), String> {
    let ok = (1..=32).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key {key:?} must be 1-32 characters of a-z, 0-9 and _, starting with a letter"
        ))
    }
}

/// Compiles a field or rule pattern, anchored to the whole text, with a small size limit
/// (patterns come from templates and settings, and run on every answer).
pub(crate) fn compile(pattern: &str) -> Result<regex::Regex> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(64 * 1024)
        .build()
        .map_err(|error| {
            Error::invalid("pattern", format!("{pattern:?} is not a pattern: {error}"))
        })
}

/// Whether the whole of `text` matches `pattern`.
pub(crate) fn full_match(pattern: &str, text: &str) -> Result<bool> {
    Ok(compile(pattern)?.is_match(text))
}

/// A form: the fields an organization's tickets carry, in the order they are asked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FieldSet {
    /// The fields, in order.
    pub fields: Vec<FieldDef>,
}

impl FieldSet {
    /// The field with key `key`.
    pub fn get(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|field| field.key == key)
    }

    /// Whether the form has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Checks every definition and that no key is declared twice (at most [`FIELDS_MAX`]).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `fields`.
    pub fn validate(&self) -> Result<()> {
        if self.fields.len() > FIELDS_MAX {
            return Err(Error::invalid(
                "fields",
                format!("at most {FIELDS_MAX} fields"),
            ));
        }
        for (index, field) in self.fields.iter().enumerate() {
            field.validate()?;
            if self.fields[..index]
                .iter()
                .any(|other| other.key == field.key)
            {
                return Err(Error::invalid(
                    "fields",
                    format!("{}: declared twice", field.key),
                ));
            }
        }
        Ok(())
    }

    /// Reads typed answers by field key (a form, a CSV row, the API): each through
    /// [`FieldDef::parse_answer`]; an empty answer leaves the field out.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `fields` for an unknown key or a refused answer.
    pub fn parse_answers<'a>(
        &self,
        answers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<std::collections::BTreeMap<String, FieldValue>> {
        let mut values = std::collections::BTreeMap::new();
        for (key, text) in answers {
            let def = self.get(key).ok_or_else(|| {
                Error::invalid("fields", format!("{key}: there is no such field"))
            })?;
            if text.trim().is_empty() {
                continue;
            }
            values.insert(def.key.clone(), def.parse_answer(text)?);
        }
        Ok(values)
    }

    /// Checks a whole set of values: every key declared, every value accepted by its field,
    /// every required field present.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `fields`, naming the first field at fault.
    pub fn check(&self, values: &std::collections::BTreeMap<String, FieldValue>) -> Result<()> {
        for (key, value) in values {
            let def = self.get(key).ok_or_else(|| {
                Error::invalid("fields", format!("{key}: there is no such field"))
            })?;
            if !def.accepts(value) {
                // Say why, in the words of the one parser.
                def.parse_answer(&value.to_answer())?;
                return Err(Error::invalid(
                    "fields",
                    format!("{key}: a {} field does not take {value:?}", def.kind.name()),
                ));
            }
        }
        if let Some(missing) = self
            .fields
            .iter()
            .find(|def| def.required && !values.contains_key(&def.key))
        {
            return Err(Error::invalid(
                "fields",
                format!("{}: must be filled in", missing.key),
            ));
        }
        Ok(())
    }
}
