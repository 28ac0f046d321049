//! The broadcast form as posted (`/broadcasts/new`, `/broadcasts/{id}/edit`): its fields as
//! pairs (the language checkboxes repeat), turned into crm-lib's
//! [`BroadcastDraft`](crm_lib::broadcasts::BroadcastDraft). Only the shape is checked here (a
//! number is a number, yes/no/any); crm-lib checks the rules (lengths, the rate's range, a
//! balance range, the tokens module). Field names are crm-lib's, so its error lands beside
//! the field that caused it.

use std::str::FromStr;

use crm_lib::broadcasts::{BroadcastDraft, DEFAULT_RATE};
use crm_lib::model::{Audience, Broadcast, Language};

use crate::web::layout::form_value;

/// A broadcast form as posted: `csrf`, `title`, `text`, `languages` (repeated),
/// `subscribers`, `balance_min`, `balance_max`, `active_within_days`, `has_ordered`,
/// `rate_per_second`.
#[derive(Debug, Default, Clone)]
pub(crate) struct BroadcastForm {
    pub(crate) pairs: Vec<(String, String)>,
}

/// `yes`, `no` or empty (any) for a condition that may be either way.
fn choice_text(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    }
}

/// A number or nothing: empty means "no condition".
fn optional_number<T: FromStr>(field: &'static str, text: &str) -> crm_lib::Result<Option<T>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| crm_lib::Error::invalid(field, format!("{text:?} is not a whole number")))
}

/// `yes`, `no`, or empty / `any` for either.
pub(crate) fn yes_no(field: &'static str, text: &str) -> crm_lib::Result<Option<bool>> {
    match text.trim() {
        "" | "any" => Ok(None),
        "yes" => Ok(Some(true)),
        "no" => Ok(Some(false)),
        other => Err(crm_lib::Error::invalid(
            field,
            format!("{other:?} is not yes, no or any"),
        )),
    }
}

impl BroadcastForm {
    /// A new broadcast's form: the default rate, no condition.
    pub(crate) fn fresh() -> Self {
        BroadcastForm {
            pairs: vec![("rate_per_second".into(), DEFAULT_RATE.to_string())],
        }
    }

    /// The form filled with a stored broadcast.
    pub(crate) fn of(broadcast: &Broadcast) -> Self {
        let audience = &broadcast.audience;
        let number = |value: Option<u64>| value.map(|value| value.to_string()).unwrap_or_default();
        let mut pairs = vec![
            ("title".to_string(), broadcast.title.clone()),
            ("text".to_string(), broadcast.text.clone()),
            (
                "subscribers".to_string(),
                choice_text(audience.subscribers).to_string(),
            ),
            ("balance_min".to_string(), number(audience.balance_min)),
            ("balance_max".to_string(), number(audience.balance_max)),
            (
                "active_within_days".to_string(),
                number(audience.active_within_days.map(u64::from)),
            ),
            (
                "has_ordered".to_string(),
                choice_text(audience.has_ordered).to_string(),
            ),
            (
                "rate_per_second".to_string(),
                broadcast.rate_per_second.to_string(),
            ),
        ];
        pairs.extend(
            audience
                .languages
                .iter()
                .map(|language| ("languages".to_string(), language.code().to_string())),
        );
        BroadcastForm { pairs }
    }

    /// The value of input `name` (empty when absent).
    pub(crate) fn value(&self, name: &str) -> &str {
        form_value(&self.pairs, name)
    }

    /// Whether the language checkbox of `language` is ticked.
    pub(crate) fn has_language(&self, language: Language) -> bool {
        self.pairs
            .iter()
            .any(|(name, value)| name == "languages" && value == language.code())
    }

    /// What crm-lib is given.
    ///
    /// # Errors
    /// Invalid input naming the field for a value that is not a number, a language or
    /// yes/no/any.
    pub(crate) fn draft(&self) -> crm_lib::Result<BroadcastDraft> {
        let rate = self.value("rate_per_second").trim();
        let rate_per_second = if rate.is_empty() {
            DEFAULT_RATE
        } else {
            rate.parse().map_err(|_| {
                crm_lib::Error::invalid(
                    "rate_per_second",
                    format!("{rate:?} is not a whole number of messages a second"),
                )
            })?
        };
        let languages = self
            .pairs
            .iter()
            .filter(|(name, _)| name == "languages")
            .map(|(_, code)| Language::parse("languages", code))
            .collect::<crm_lib::Result<Vec<_>>>()?;
        Ok(BroadcastDraft {
            title: self.value("title").to_string(),
            // Browsers post a textarea's line breaks as CR LF (the HTML standard); the
            // customer gets plain line breaks, and the counter counts them as one.
            text: self.value("text").replace("\r\n", "\n"),
            audience: Audience {
                languages,
                subscribers: yes_no("subscribers", self.value("subscribers"))?,
                balance_min: optional_number("balance_min", self.value("balance_min"))?,
                balance_max: optional_number("balance_max", self.value("balance_max"))?,
                active_within_days: optional_number(
                    "active_within_days",
                    self.value("active_within_days"),
                )?,
                has_ordered: yes_no("has_ordered", self.value("has_ordered"))?,
            },
            rate_per_second,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BroadcastForm {
        BroadcastForm {
            pairs: pairs
                .iter()
                .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_posted_form_becomes_a_draft_with_every_condition() {
        let draft = form(&[
            ("title", "Spring sale"),
            ("text", "Hello"),
            ("languages", "ru"),
            ("languages", "en"),
            ("subscribers", "no"),
            ("balance_min", "10"),
            ("balance_max", ""),
            ("active_within_days", "30"),
            ("has_ordered", "yes"),
            ("rate_per_second", "5"),
        ])
        .draft()
        .unwrap();
        assert_eq!(draft.rate_per_second, 5);
        assert_eq!(draft.audience.languages, [Language::RU, Language::EN]);
        assert_eq!(draft.audience.subscribers, Some(false));
        assert_eq!(draft.audience.balance_min, Some(10));
        assert_eq!(draft.audience.balance_max, None);
        assert_eq!(draft.audience.active_within_days, Some(30));
        assert_eq!(draft.audience.has_ordered, Some(true));
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_refused_naming_its_field() {
        for (field, value) in [
            ("rate_per_second", "ten"),
            ("rate_per_second", "-1"),
            ("balance_min", "-5"),
            ("balance_max", "1.5"),
            ("active_within_days", "99999999999"),
            ("subscribers", "maybe"),
            ("has_ordered", "true"),
            ("languages", "xx"),
        ] {
            let error = form(&[("title", "t"), ("text", "x"), (field, value)])
                .draft()
                .unwrap_err();
            assert_eq!(error.field(), Some(field), "{field}={value}");
            assert_eq!(error.kind(), crm_lib::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn a_stored_broadcast_fills_the_form_it_came_from() {
        let stored = Broadcast {
            id: crm_lib::model::BroadcastId::new(1),
            title: "t".into(),
            text: "x".into(),
            audience: Audience {
                languages: vec![Language::RU],
                subscribers: Some(true),
                balance_min: Some(1),
                balance_max: Some(9),
                active_within_days: Some(7),
                has_ordered: Some(false),
            },
            rate_per_second: 12,
            state: crm_lib::model::BroadcastState::Draft,
            scheduled_at: None,
            author: crm_lib::model::UserId::new(1),
            created_at: crm_lib::model::Timestamp::from_millis(0),
            updated_at: crm_lib::model::Timestamp::from_millis(0),
            started_at: None,
            finished_at: None,
            counts: crm_lib::model::BroadcastCounts::default(),
            cursor: None,
            test_sends: 0,
        };
        let draft = BroadcastForm::of(&stored).draft().unwrap();
        assert_eq!(draft.audience, stored.audience);
        assert_eq!(draft.rate_per_second, 12);
        assert_eq!(BroadcastForm::fresh().draft().unwrap().rate_per_second, 10);
    }
}
