//! The catalogue's lookups, every shipped language's completeness, and the language that unit
//! tests add (Esperanto, `LANGUAGES`' test entry with its partial locale file in
//! `src/i18n/test-locales/`), which proves that a language is one entry and one file.

use super::*;
use crate::Crm;
use crate::model::{Actor, LANGUAGES, Localized};
use crate::org::{SettingsUpdate, StageUpdate};

/// The languages whose locale files ship in `assets/locales/` (every one but the test's).
fn shipped() -> impl Iterator<Item = Language> {
    Language::all().filter(|language| *language != Language::EO)
}

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
fn every_key_has_a_text_in_every_shipped_language() {
    let english = texts(Language::EN);
    assert!(english.len() > 400, "{} keys", english.len());
    assert!(english.keys().filter(|key| key.starts_with("bot.")).count() > 50);
    for language in shipped() {
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
fn an_added_language_is_offered_wherever_languages_are_listed_and_parsed() {
    // The pickers (the profile's and the settings' language, the bot's language keyboard and
    // its commands) list Language::all() by each language's own name.
    let pickers: Vec<(&str, &str)> = Language::all()
        .map(|language| (language.code(), language.native_name()))
        .collect();
    assert_eq!(
        pickers,
        [("en", "English"), ("ru", "Русский"), ("eo", "Esperanto")]
    );
    assert_eq!(Language::all().count(), LANGUAGES.len());
    assert_eq!(Language::parse("locale", " EO ").ok(), Some(Language::EO));
    assert_eq!(Language::from_code("eo"), Language::EO);
    assert_eq!(
        Language::from_code("uk"),
        Language::RU,
        "relatives unchanged"
    );
    let refused = Language::parse("locale", "tlh")
        .err()
        .map(|error| error.to_string());
    assert!(
        refused
            .as_deref()
            .unwrap_or_default()
            .contains("(en, ru, eo)"),
        "{refused:?}"
    );
}

#[test]
fn an_added_language_reads_its_own_texts_and_english_for_the_keys_its_file_lacks() {
    assert_eq!(tr(Language::EO, "nav.orders"), "Mendoj");
    assert_eq!(
        tr_with(Language::EO, "bot.order.deleted", &[("id", &42_u64)]),
        "Mendo #42 estas forigita."
    );
    assert_eq!(text(Language::EO, "nav.dashboard"), None);
    assert_eq!(tr(Language::EO, "nav.dashboard"), "Dashboard");
    assert_eq!(
        tr_with(Language::EO, "bot.order.not_found", &[]),
        "This order no longer exists."
    );
    // Its file is partial on purpose, but names no key that English lacks.
    let english = texts(Language::EN);
    let esperanto = texts(Language::EO);
    assert_eq!(esperanto.len(), 5, "{esperanto:?}");
    for key in esperanto.keys() {
        assert!(english.contains_key(key), "{key} is not an English key");
    }
}

#[test]
fn an_added_language_names_template_stages_and_the_default_payment_method_with_english_fallback() {
    let studio = crate::templates::template("studio").unwrap();
    assert_eq!(studio.title.get(Language::EO), "Programada studio");
    let pending = studio.pipeline.stage_by_key("pending").unwrap();
    assert_eq!(pending.name.exact(Language::EO), Some("Atendas moderigon"));
    let approved = studio.pipeline.stage_by_key("approved").unwrap();
    assert_eq!(approved.name.exact(Language::EO), None);
    assert_eq!(approved.name(Language::EO), "Approved");
    assert_eq!(approved.name(Language::RU), "Одобрен");
    let service = crate::templates::template("service").unwrap();
    assert_eq!(service.title.get(Language::EO), "Service orders");

    let method = crate::billing::default_payment_method(Language::EO);
    assert_eq!(method.name, "Banka ĝiro");
    assert_eq!(
        method.template,
        crate::billing::default_payment_method(Language::EN).template
    );
}

#[test]
fn an_organization_speaks_an_added_language_and_stores_names_translated_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.redb");
    let crm = Crm::open(&path).unwrap();
    let org = crm
        .system()
        .create_organization("studio", "Studio", "studio")
        .unwrap();
    let system = Actor::system(org.id);
    let approved = org.pipeline.stage_by_key("approved").unwrap().clone();
    crm.update_settings(
        &system,
        SettingsUpdate {
            locale: Some(Language::EO),
            ..SettingsUpdate::default()
        },
    )
    .unwrap();
    crm.update_stage(
        &system,
        approved.id,
        StageUpdate {
            name: Localized::new("Approved").with(Language::EO, "Aprobita"),
            color: approved.color.clone(),
        },
    )
    .unwrap();
    let marker = crm
        .create_marker(
            &system,
            Localized::new("Rust").with(Language::EO, "Rusto"),
            "#000000",
        )
        .unwrap();
    drop(crm);

    // Read back from the file: the new language's code is what the records store.
    let crm = Crm::open(&path).unwrap();
    let org = crm.system().organization(org.id).unwrap();
    assert_eq!(org.settings.locale, Language::EO);
    let stage = |key| org.pipeline.stage_by_key(key).unwrap();
    assert_eq!(stage("approved").name(Language::EO), "Aprobita");
    assert_eq!(stage("approved").name(Language::RU), "Approved");
    assert_eq!(stage("pending").name(Language::EO), "Atendas moderigon");
    assert_eq!(stage("testing").name(Language::EO), "Testing");
    let markers = crm.markers(&system).unwrap();
    let rust = markers.iter().find(|other| other.id == marker.id).unwrap();
    assert_eq!(rust.name.get(Language::EO), "Rusto");
    assert_eq!(rust.name.get(Language::RU), "Rust");
    let python = markers
        .iter()
        .find(|other| other.name.get(Language::EN) == "Python")
        .unwrap();
    assert_eq!(python.name.get(Language::EO), "Python");
}
