//! The appliance's texts: crm-lib's catalogue ([`crm_lib::i18n`], one locale file per
//! language under `assets/locales/`), looked up in the reader's language. A key missing from
//! a language falls back to English, and a key missing from both shows as the key itself,
//! never a panic. The web reaches these functions through `web::i18n`, the bot through
//! `bot::render`.

pub use crm_lib::i18n::{tr, tr_with};
