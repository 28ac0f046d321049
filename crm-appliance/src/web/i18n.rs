//! Texts of the staff web: translations (the locale files, `assets/locales/<code>.yml`,
//! through [`crate::i18n`]), stage names and timestamps.

use crm_lib::model::Language;

pub use crate::i18n::{tr, tr_with};

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
