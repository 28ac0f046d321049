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
//!
//! Unit tests speak one language more, added the way any language is (an entry in
//! `LANGUAGES` and a locale file, here a partial one kept in `src/i18n/test-locales/` so that
//! it never ships), and check that it reaches the pickers' list, the catalogue with the
//! default language for what it lacks, the templates' names and stored names
//! (`i18n/tests.rs`).

use std::borrow::Cow;
use std::fmt::Display;

use crate::model::Language;

/// What rust-i18n's `i18n!` generates: the compiled catalogue and its lookup functions, of
/// which [`text`] uses the backend alone (the fallback to the default language is ours).
#[allow(dead_code, unreachable_pub, unused_imports, clippy::all)]
mod catalogue {
    #[cfg(not(test))]
    rust_i18n::i18n!("../assets/locales");
    // Unit tests add the test language's file through rust-i18n's own backend extension, so
    // that its texts are looked up exactly as a shipped language's are.
    #[cfg(test)]
    rust_i18n::i18n!(
        "../assets/locales",
        backend = super::test_locales::TestLocales
    );
}

/// The locale file of the language that unit tests add (`LANGUAGES`' test entry):
/// `src/i18n/test-locales/eo.yml`, outside `assets/locales/` so that it never ships.
#[cfg(test)]
mod test_locales {
    use std::borrow::Cow;

    #[allow(dead_code, unreachable_pub, unused_imports, clippy::all)]
    mod files {
        rust_i18n::i18n!("src/i18n/test-locales");
    }

    /// The test locale files as a backend that extends the catalogue's.
    pub(super) struct TestLocales;

    impl rust_i18n::Backend for TestLocales {
        fn available_locales(&self) -> Vec<Cow<'_, str>> {
            files::_rust_i18n_backend().available_locales()
        }

        fn translate(&self, locale: &str, key: &str) -> Option<Cow<'_, str>> {
            files::_rust_i18n_backend().translate(locale, key)
        }

        fn messages_for_locale(&self, locale: &str) -> Option<Vec<(Cow<'_, str>, Cow<'_, str>)>> {
            files::_rust_i18n_backend().messages_for_locale(locale)
        }
    }
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
mod tests;
