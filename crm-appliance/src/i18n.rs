//! The one wrapper around rust-i18n, for the staff web and the bot alike: keys in
//! `assets/locales/*.yml` (EN and RU, compiled in by the `i18n!` call in `lib.rs`), looked up in
//! the reader's language. A key missing from a language falls back to English, and a key
//! missing from both shows as the key itself, never a panic. The web reaches these functions
//! through `web::i18n`, the bot through `bot::render`.

use std::fmt::Display;

use crm_lib::model::Language;

/// The text of `key` in `language`.
pub fn tr(language: Language, key: &str) -> String {
    rust_i18n::t!(key, locale = language.code()).into_owned()
}

/// The text of `key` in `language` with each `%{name}` placeholder replaced by its value.
pub fn tr_with(language: Language, key: &str, values: &[(&str, &dyn Display)]) -> String {
    let mut text = tr(language, key);
    for (name, value) in values {
        text = text.replace(&format!("%{{{name}}}"), &value.to_string());
    }
    text
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

    /// Read from the compiled catalogue, whatever the layout of the files under
    /// `assets/locales/`.
    #[test]
    fn every_key_has_a_text_in_every_language() {
        let texts = |language: Language| -> std::collections::BTreeMap<String, String> {
            crate::_rust_i18n_backend()
                .messages_for_locale(language.code())
                .unwrap_or_default()
                .into_iter()
                .map(|(key, text)| (key.into_owned(), text.into_owned()))
                .collect()
        };
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

    #[test]
    fn a_missing_key_shows_as_itself() {
        assert_eq!(tr(Language::RU, "no.such.key"), "no.such.key");
        assert_eq!(
            tr_with(Language::EN, "no.such.key", &[("id", &1)]),
            "no.such.key"
        );
    }
}
