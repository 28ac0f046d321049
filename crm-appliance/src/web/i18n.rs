//! Translations of the staff web: keys in `assets/locales/web.yml` (EN and RU), looked up in
//! the user's language. A missing key shows as the key itself, never a panic.

use crm_lib::model::Language;

/// The text of `key` in `language`.
pub fn tr(language: Language, key: &str) -> String {
    crate::_rust_i18n_translate(language.code(), key).into_owned()
}

/// The text of `key` in `language` with `%{name}` placeholders filled in.
pub fn tr_with(language: Language, key: &str, values: &[(&str, &str)]) -> String {
    let mut text = tr(language, key);
    for (name, value) in values {
        text = text.replace(&format!("%{{{name}}}"), value);
    }
    text
}

/// A stage's name in `language`.
pub fn stage_name(stage: &crm_lib::model::Stage, language: Language) -> &str {
    stage.name(language)
}

/// A timestamp as `2026-11-21 09:30` (UTC).
pub fn when(at: crm_lib::model::Timestamp) -> String {
    let time = at.to_datetime();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute()
    )
}
