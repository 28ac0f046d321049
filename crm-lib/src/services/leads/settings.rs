//! The AI settings of an organization (the projects module, `manage_settings`): the
//! OpenAI-compatible endpoint's base URL (OpenRouter's by default), the API key (written,
//! never shown back but as its last 4 characters, never logged), the model, the timeout and
//! the switch. The AI qualifies leads while it is switched on and a key is saved.

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Crm, Error, Result, Tx, View};

use super::super::{require, require_module};
use super::settings_of;

/// The longest base URL, in characters.
const BASE_URL_MAX_CHARS: usize = 200;

/// The longest model name, in characters.
const MODEL_MAX_CHARS: usize = 200;

/// The AI settings as pages, the API and `crm ai show` show them: the key only as a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiSettingsView {
    /// Whether AI qualification is switched on.
    pub enabled: bool,
    /// Whether it runs: switched on and a key saved.
    pub on: bool,
    /// The API's base URL.
    pub base_url: String,
    /// `…` and the key's last 4 characters, or `None` without a key.
    pub key_hint: Option<String>,
    /// The model.
    pub model: String,
    /// The timeout of one call, in seconds.
    pub timeout_seconds: u32,
}

impl AiSettingsView {
    fn of(settings: &AiSettings) -> Self {
        AiSettingsView {
            enabled: settings.enabled,
            on: settings.is_on(),
            base_url: settings.base_url.clone(),
            key_hint: settings.key_hint(),
            model: settings.model.clone(),
            timeout_seconds: settings.timeout_seconds,
        }
    }
}

/// The AI settings as typed on the settings page, the API or `crm ai set`.
#[derive(Clone, PartialEq, Eq)]
pub struct AiSettingsInput {
    /// Whether AI qualification is wanted.
    pub enabled: bool,
    /// The base URL, `https://` (or `http://`) with a host and no user information, at most
    /// 200 characters, a trailing `/` dropped; empty: OpenRouter's ([`OPENROUTER_BASE_URL`]).
    pub base_url: String,
    /// A new API key (8 to 512 printable characters without spaces); `None` keeps the saved
    /// one, an empty text removes it.
    pub api_key: Option<String>,
    /// The model, 1 to 200 characters without spaces; empty: [`DEFAULT_AI_MODEL`].
    pub model: String,
    /// The timeout of one call, 1 to [`super::TIMEOUT_MAX_SECONDS`] seconds.
    pub timeout_seconds: u32,
}

impl std::fmt::Debug for AiSettingsInput {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiSettingsInput")
            .field("enabled", &self.enabled)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .field("model", &self.model)
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

impl AiSettingsInput {
    /// The input that saves `view` unchanged (the key kept): what a form starts from.
    pub fn from_view(view: &AiSettingsView) -> Self {
        AiSettingsInput {
            enabled: view.enabled,
            base_url: view.base_url.clone(),
            api_key: None,
            model: view.model.clone(),
            timeout_seconds: view.timeout_seconds,
        }
    }
}

/// The AI settings; needs `manage_settings`.
///
/// # Errors
/// Not found (`module projects`) while the projects module is off; permission denied.
pub fn ai_settings_in(view: &impl View, actor: &Actor) -> Result<AiSettingsView> {
    require(view, actor, Permission::ManageSettings)?;
    require_module(view, actor.org, Module::Projects)?;
    Ok(AiSettingsView::of(&settings_of(view, actor.org)?))
}

/// Whether `text` is free of spaces and control characters.
fn printable(text: &str) -> bool {
    !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The base URL's rule (see [`AiSettingsInput::base_url`]).
fn checked_base_url(text: &str) -> Result<String> {
    let url = text.trim().trim_end_matches('/');
    if url.is_empty() {
        return Ok(OPENROUTER_BASE_URL.to_string());
    }
    let authority = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    let ok = url.chars().count() <= BASE_URL_MAX_CHARS
        && printable(url)
        && authority.is_some_and(|authority| !authority.is_empty() && !authority.contains('@'));
    if ok {
        Ok(url.to_string())
    } else {
        Err(Error::invalid(
            "base_url",
            format!(
                "the base URL starts with https:// (or http://), names a host without user information and has at most {BASE_URL_MAX_CHARS} characters"
            ),
        ))
    }
}

/// `input` checked against its rules, applied to `saved`.
fn checked_settings(input: AiSettingsInput, saved: &AiSettings) -> Result<AiSettings> {
    let base_url = checked_base_url(&input.base_url)?;
    let api_key = match input.api_key.as_deref().map(str::trim) {
        None => saved.api_key.clone(),
        Some("") => None,
        Some(key) => {
            if !(8..=512).contains(&key.chars().count()) || !printable(key) {
                return Err(Error::invalid(
                    "api_key",
                    "an API key is 8 to 512 characters without spaces",
                ));
            }
            Some(key.to_string())
        }
    };
    let model = match input.model.trim() {
        "" => DEFAULT_AI_MODEL.to_string(),
        model if model.chars().count() <= MODEL_MAX_CHARS && printable(model) => model.to_string(),
        _ => {
            return Err(Error::invalid(
                "model",
                format!("a model is 1 to {MODEL_MAX_CHARS} characters without spaces"),
            ));
        }
    };
    if !(1..=super::TIMEOUT_MAX_SECONDS).contains(&input.timeout_seconds) {
        return Err(Error::invalid(
            "timeout_seconds",
            format!(
                "a call may take 1 to {} seconds",
                super::TIMEOUT_MAX_SECONDS
            ),
        ));
    }
    Ok(AiSettings {
        enabled: input.enabled,
        base_url,
        api_key,
        model,
        timeout_seconds: input.timeout_seconds,
    })
}

impl Tx<'_> {
    /// Saves the AI settings. Needs `manage_settings`; the projects module. Saving the same
    /// settings writes nothing. When the AI stops running (switched off, the key removed),
    /// the calls waiting are dropped. Writes the settings, the audit entry
    /// (`ai.settings_changed`, which says whether the key was set, kept or removed, never the
    /// key) and a change of the organization.
    ///
    /// # Errors
    /// Not found (`module projects`); permission denied; invalid input on `base_url`,
    /// `api_key`, `model` or `timeout_seconds`.
    pub fn set_ai_settings(
        &mut self,
        actor: &Actor,
        input: AiSettingsInput,
    ) -> Result<AiSettingsView> {
        require(self, actor, Permission::ManageSettings)?;
        require_module(self, actor.org, Module::Projects)?;
        let key = Key::org(actor.org);
        let stored = self.get::<AiSettings>(tables::AI_SETTINGS, &key)?;
        let saved = stored.clone().unwrap_or_default();
        let key_said = match input.api_key.as_deref().map(str::trim) {
            None => "kept",
            Some("") => "removed",
            Some(_) => "set",
        };
        let after = checked_settings(input, &saved)?;
        if stored.as_ref() == Some(&after) {
            return Ok(AiSettingsView::of(&after));
        }
        match &stored {
            Some(before) => self.update_record(&key, before, &after)?,
            None => self.insert_record(&key, &after)?,
        }
        if !after.is_on() {
            let waiting: Vec<AiRequest> =
                self.records_with_prefix(tables::AI_REQUESTS, &Key::org(actor.org))?;
            for request in &waiting {
                self.delete_record(&super::lead_key(actor.org, request.order), request)?;
            }
        }
        self.audit(
            actor,
            AuditAction::AiSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(format!(
                "{}, base URL {}, model {}, timeout {} s, key {key_said}",
                if after.enabled { "on" } else { "off" },
                after.base_url,
                after.model,
                after.timeout_seconds
            )),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(AiSettingsView::of(&after))
    }
}

impl Crm {
    /// See [`ai_settings_in`]. Reads one snapshot.
    ///
    /// # Errors
    /// See [`ai_settings_in`].
    pub fn ai_settings(&self, actor: &Actor) -> Result<AiSettingsView> {
        self.read(|view| ai_settings_in(view, actor))
    }

    /// See [`Tx::set_ai_settings`]; one write transaction.
    ///
    /// # Errors
    /// See [`Tx::set_ai_settings`].
    pub fn set_ai_settings(&self, actor: &Actor, input: AiSettingsInput) -> Result<AiSettingsView> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_ai_settings(&actor, input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_need_a_scheme_and_a_host_without_user_information() {
        assert_eq!(
            checked_base_url("").ok().as_deref(),
            Some(OPENROUTER_BASE_URL)
        );
        assert_eq!(
            checked_base_url(" http://127.0.0.1:9/v1/ ").ok().as_deref(),
            Some("http://127.0.0.1:9/v1")
        );
        for bad in [
            "ftp://example.com",
            "https://",
            "https://user:pass@example.com/v1",
            "https://exa mple.com",
            "openrouter.ai/api/v1",
        ] {
            assert!(checked_base_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(BASE_URL_MAX_CHARS));
        assert!(checked_base_url(&long).is_err());
    }
}
