//! The bot offers the client Mini App (issue 14): a `web_app` button "Open my project" under
//! the client's project notifications (`Event::ProjectReport`, `Event::ChangeRequestWaiting`)
//! and in a customer's menu while they have a project.
//!
//! Its address is `<public URL>/app` for the default organization and
//! `<public URL>/app/<slug>` for another (the Mini App takes the organization from the path,
//! see `web::mini_app`). Telegram opens `web_app` buttons only at `https://` addresses: with
//! no HTTPS public URL there is no button, except for an emulated bot (sandbox), whose
//! button opens the appliance at the address it listens on.

use crm_lib::model::{Button, Event, Keyboard, Language, OrgId};
use serde_json::{Value, json};

use crate::AppState;
use crate::i18n::tr;

/// The Mini App's address for `org`'s clients, when its bot may offer it (see the module
/// doc); reads the default organization.
pub(crate) fn mini_app_url(state: &AppState, org: OrgId) -> Option<String> {
    let bots = state.bots();
    let slug = bots.slug(org)?;
    let default = state
        .read_now(|crm| crm.system().default_organization())
        .ok()?;
    let path = if default.id == org {
        "/app".to_string()
    } else {
        format!("/app/{slug}")
    };
    let public = state.config().public_url.as_ref();
    let base = match public {
        Some(url) if url.scheme() == "https" => url.as_str().trim_end_matches('/').to_string(),
        _ if bots.emulator(org).is_some() => match public {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{}", bots.address()?),
        },
        _ => return None,
    };
    Some(format!("{base}{path}"))
}

/// The "Open my project" button.
pub(crate) fn button(language: Language, url: &str) -> Button {
    Button::web_app(tr(language, "mini_app.open_button"), url)
}

/// `keyboard` with the Mini App's button as a last row (a new keyboard without one).
pub(crate) fn with_button(keyboard: Option<Keyboard>, language: Language, url: &str) -> Keyboard {
    let mut keyboard = keyboard.unwrap_or_default();
    keyboard.rows.push(vec![button(language, url)]);
    keyboard
}

/// Whether a notification is about the client's project (it gets the button).
pub(crate) fn about_a_project(event: &Event) -> bool {
    matches!(
        event,
        Event::ProjectReport { .. } | Event::ChangeRequestWaiting { .. }
    )
}

/// The button's row in the Bot API's JSON, appended to a rendered `reply_markup` (or a new
/// one).
pub(crate) fn append_to_markup(markup: Option<Value>, language: Language, url: &str) -> Value {
    let row = json!([{ "text": tr(language, "mini_app.open_button"), "web_app": { "url": url } }]);
    let mut markup = markup.unwrap_or_else(|| json!({ "inline_keyboard": [] }));
    if let Some(rows) = markup
        .get_mut("inline_keyboard")
        .and_then(Value::as_array_mut)
    {
        rows.push(row);
    }
    markup
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_button_row_joins_the_rows_a_notification_has_or_makes_the_keyboard() {
        let url = "https://crm.example.com/app";
        let alone = append_to_markup(None, Language::default(), url);
        assert_eq!(
            alone,
            json!({ "inline_keyboard": [[{ "text": "Open my project", "web_app": { "url": url } }]] })
        );
        let joined = append_to_markup(
            Some(json!({ "inline_keyboard": [[{ "text": "A", "callback_data": "a" }]] })),
            Language::RU,
            url,
        );
        assert_eq!(joined["inline_keyboard"].as_array().unwrap().len(), 2);
        assert_eq!(
            joined["inline_keyboard"][1][0]["text"],
            "Открыть мой проект"
        );
    }
}
