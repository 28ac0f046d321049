//! The product's texts in every language of [`LANGUAGES`](crate::model::LANGUAGES): one locale
//! file per language, `assets/locales/<code>.yml`, compiled in by rust-i18n.
//!
//! A locale file is in rust-i18n's `_version: 1` format, which takes the language from the
//! file's name: keys (dotted, or nested) with their texts, `%{name}` marking a value filled in
//! by [`tr_with`]. Every file has the keys of the English one, with the same placeholders
//! (tested). The catalogue holds every text of the product in one place so that adding a
//! language is one file and one entry in `LANGUAGES`: crm-lib's own (`template.*`: the names
//! of the built-in templates' stages; `billing.*`: the default payment method), and the staff
//! web's and the bot's, which the appliance reads through these same functions. crm-lib's
//! code reads only its own keys.
//!
//! A key missing from a language falls back to the default language's text, and a key
//! missing from that shows as the key itself, never a panic. Lookups read tables built on
//! first use; nothing here blocks or fails.

use std::borrow::Cow;
use std::fmt::Display;

use crate::model::Language;

/// What rust-i18n's `i18n!` generates: the compiled catalogue and its lookup functions, of
/// which [`text`] uses the backend alone (the fallback to the default language is ours).
#[allow(dead_code, unreachable_pub, unused_imports, clippy::all)]
mod catalogue {
    rust_i18n::i18n!("../assets/locales");
}

/// The text of `key` in exactly `language`, if its locale file has one (no fallback).
pub fn text(language: Language, key: &str) -> Option<Cow<'static, str>> {
    catalogue::_rust_i18n_backend().translate(language.code(), key)
}

/// The text of `key` in `language`, else in the default language, else the key itself.
pub fn tr(language: Language, key: &str) -> String {
    text(language, key)
        .or_else(|| text(Language::default(), key))
        .map_or_else(|| key.to_string(), Cow::into_owned)
}

/// [`tr`] with each `%{name}` placeholder replaced by its value; a value the text does not
/// name is left out.
pub fn tr_with(language: Language, key: &str, values: &[(&str, &dyn Display)]) -> String {
    let mut text = tr(language, key);
    for (name, value) in values {
        text = text.replace(&format!("%{{{name}}}"), &value.to_string());
    }
    text
}

/// Every key of `language`'s locale file with its text, in key order.
#[cfg(test)]
pub(crate) fn texts(language: Language) -> std::collections::BTreeMap<String, String> {
    catalogue::_rust_i18n_backend()
        .messages_for_locale(language.code())
        .unwrap_or_default()
        .into_iter()
        .map(|(key, text)| (key.into_owned(), text.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_come_in_the_readers_language_with_values_filled_in() {
        assert_eq!(tr(Language::EN, "nav.orders"), "Orders");
        assert_eq!(tr(Language::RU, "nav.orders"), "Заказы");
        let text = tr_with(
            Language::EN,
            "bot.order.deleted",
            &[("id", &42_u64), ("unused", &"x")],
        );
        assert!(text.contains("42") && !text.contains("%{"), "{text}");
    }

    #[test]
    fn a_missing_key_shows_as_itself() {
        assert_eq!(text(Language::RU, "no.such.key"), None);
        assert_eq!(tr(Language::RU, "no.such.key"), "no.such.key");
        assert_eq!(
            tr_with(Language::EN, "no.such.key", &[("id", &1)]),
            "no.such.key"
        );
    }

    /// Read from the compiled catalogue, whatever the layout of the files under
    /// `assets/locales/`.
    #[test]
    fn every_key_has_a_text_in_every_language() {
        let english = texts(Language::EN);
        assert!(english.len() > 400, "{} keys", english.len());
        assert!(english.keys().filter(|key| key.starts_with("bot.")).count() > 50);
        for language in Language::all() {
            let translated = texts(language);
            assert_eq!(
                translated.keys().collect::<Vec<_>>(),
                english.keys().collect::<Vec<_>>(),
                "the keys of {}",
                language.code()
            );
            let empty: Vec<&String> = translated
                .iter()
                .filter(|(_, text)| text.is_empty())
                .map(|(key, _)| key)
                .collect();
            assert!(empty.is_empty(), "empty in {}: {empty:?}", language.code());
        }
    }
}
