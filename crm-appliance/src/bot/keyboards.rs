//! Inline keyboards (crm-lib's typed [`Keyboard`], turned into the Bot API's JSON by the
//! outbox job) and the callback data their buttons carry.
//!
//! Callback data is short ASCII (Telegram allows 64 bytes) and carries everything a press
//! needs, so a press never depends on in-memory state: `lang:ru`, `m:orders`, `o:v:42` (view
//! order 42), `w:<wizard id>:<step>:<action>` (a button of one step of one order form, so a
//! button of an old form or an earlier step is recognised as stale), `mod:a:42` (approve).
//! Data the bot did not make parses to `None` and gets a polite "no longer active" answer.

use crm_lib::model::{Button, ButtonPress, Keyboard, Language};
use serde_json::{Value, json};

use super::dialogue::Step;
use super::render::tr;

/// What a button press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Callback {
    /// Choose the bot's language.
    Language(Language),
    /// A main menu item.
    Menu(MenuItem),
    /// A button of the new-order form.
    Wizard {
        /// The form (the update id that started it).
        id: u64,
        /// The step the button belongs to.
        step: Step,
        /// What it does.
        action: WizardAction,
    },
    /// Show one of my orders.
    ViewOrder(u64),
    /// Ask to delete an order.
    AskDelete(u64),
    /// Delete an order (confirmed).
    Delete(u64),
    /// Write to the team about an order.
    ChatAbout(u64),
    /// Staff: approve an order in moderation.
    Approve(u64),
    /// Staff: reject an order (asks for a reason).
    Reject(u64),
    /// Staff: reject an order with the standard reason.
    RejectDefault(u64),
}

/// Main menu items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MenuItem {
    NewOrder,
    MyOrders,
    Chat,
    Language,
    Help,
}

/// Buttons of the order form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WizardAction {
    Skip,
    Done,
    Confirm,
    Cancel,
}

fn step_code(step: Step) -> &'static str {
    match step {
        Step::Title => "t",
        Step::Description => "d",
        Step::Budget => "b",
        Step::Deadline => "l",
        Step::Attachments => "a",
        Step::Confirm => "c",
    }
}

fn step_of(code: &str) -> Option<Step> {
    Some(match code {
        "t" => Step::Title,
        "d" => Step::Description,
        "b" => Step::Budget,
        "l" => Step::Deadline,
        "a" => Step::Attachments,
        "c" => Step::Confirm,
        _ => return None,
    })
}

/// A positive id of at most 19 digits.
fn id_of(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|id| *id > 0)
}

impl Callback {
    /// Parses callback data; anything the bot did not make is `None`.
    pub(crate) fn parse(data: &str) -> Option<Callback> {
        let parts: Vec<&str> = data.split(':').collect();
        Some(match parts.as_slice() {
            ["lang", code] => Callback::Language(Language::of_code(code)?),
            ["m", item] => Callback::Menu(match *item {
                "new" => MenuItem::NewOrder,
                "orders" => MenuItem::MyOrders,
                "chat" => MenuItem::Chat,
                "lang" => MenuItem::Language,
                "help" => MenuItem::Help,
                _ => return None,
            }),
            ["w", id, step, action] => Callback::Wizard {
                id: id_of(id)?,
                step: step_of(step)?,
                action: match *action {
                    "s" => WizardAction::Skip,
                    "d" => WizardAction::Done,
                    "y" => WizardAction::Confirm,
                    "n" => WizardAction::Cancel,
                    _ => return None,
                },
            },
            ["o", "v", id] => Callback::ViewOrder(id_of(id)?),
            ["o", "d", id] => Callback::AskDelete(id_of(id)?),
            ["o", "x", id] => Callback::Delete(id_of(id)?),
            ["o", "c", id] => Callback::ChatAbout(id_of(id)?),
            ["mod", "a", id] => Callback::Approve(id_of(id)?),
            ["mod", "r", id] => Callback::Reject(id_of(id)?),
            ["mod", "d", id] => Callback::RejectDefault(id_of(id)?),
            _ => return None,
        })
    }

    /// The callback data of this press.
    pub(crate) fn data(self) -> String {
        match self {
            Callback::Language(language) => format!("lang:{}", language.code()),
            Callback::Menu(item) => format!(
                "m:{}",
                match item {
                    MenuItem::NewOrder => "new",
                    MenuItem::MyOrders => "orders",
                    MenuItem::Chat => "chat",
                    MenuItem::Language => "lang",
                    MenuItem::Help => "help",
                }
            ),
            Callback::Wizard { id, step, action } => format!(
                "w:{id}:{}:{}",
                step_code(step),
                match action {
                    WizardAction::Skip => "s",
                    WizardAction::Done => "d",
                    WizardAction::Confirm => "y",
                    WizardAction::Cancel => "n",
                }
            ),
            Callback::ViewOrder(id) => format!("o:v:{id}"),
            Callback::AskDelete(id) => format!("o:d:{id}"),
            Callback::Delete(id) => format!("o:x:{id}"),
            Callback::ChatAbout(id) => format!("o:c:{id}"),
            Callback::Approve(id) => format!("mod:a:{id}"),
            Callback::Reject(id) => format!("mod:r:{id}"),
            Callback::RejectDefault(id) => format!("mod:d:{id}"),
        }
    }
}

fn button(text: impl Into<String>, callback: Callback) -> Button {
    Button::callback(text, callback.data())
}

/// The Bot API JSON of a keyboard (`InlineKeyboardMarkup`).
pub(crate) fn to_json(keyboard: &Keyboard) -> Value {
    let rows: Vec<Vec<Value>> = keyboard
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|button| match &button.press {
                    ButtonPress::Callback(data) => {
                        json!({ "text": button.text, "callback_data": data })
                    }
                    ButtonPress::Url(url) => json!({ "text": button.text, "url": url }),
                })
                .collect()
        })
        .collect();
    json!({ "inline_keyboard": rows })
}

/// The main menu.
pub(crate) fn main_menu(language: Language) -> Keyboard {
    let t = |key: &str| tr(language, key);
    Keyboard::new(vec![
        vec![
            button(t("bot.menu.new_order"), Callback::Menu(MenuItem::NewOrder)),
            button(t("bot.menu.my_orders"), Callback::Menu(MenuItem::MyOrders)),
        ],
        vec![button(t("bot.menu.chat"), Callback::Menu(MenuItem::Chat))],
        vec![
            button(t("bot.menu.language"), Callback::Menu(MenuItem::Language)),
            button(t("bot.menu.help"), Callback::Menu(MenuItem::Help)),
        ],
    ])
}

/// The language picker: every language the product speaks, each named in itself, in rows of
/// [`LANGUAGES_PER_ROW`].
pub(crate) fn languages() -> Keyboard {
    let buttons: Vec<_> = Language::all()
        .map(|language| button(language.native_name(), Callback::Language(language)))
        .collect();
    Keyboard::new(
        buttons
            .chunks(LANGUAGES_PER_ROW)
            .map(<[_]>::to_vec)
            .collect(),
    )
}

/// Language buttons in one row of the picker: three names fit a phone's width.
const LANGUAGES_PER_ROW: usize = 3;

/// The buttons of one step of the order form, if the step has any.
pub(crate) fn wizard_step(language: Language, id: u64, step: Step) -> Option<Keyboard> {
    let wizard = |action| Callback::Wizard { id, step, action };
    let t = |key: &str| tr(language, key);
    let rows = match step {
        Step::Title | Step::Description => return None,
        Step::Budget | Step::Deadline => {
            vec![vec![button(
                t("bot.button.skip"),
                wizard(WizardAction::Skip),
            )]]
        }
        Step::Attachments => vec![vec![
            button(t("bot.button.done"), wizard(WizardAction::Done)),
            button(t("bot.button.skip"), wizard(WizardAction::Skip)),
        ]],
        Step::Confirm => vec![vec![
            button(t("bot.button.confirm"), wizard(WizardAction::Confirm)),
            button(t("bot.button.cancel"), wizard(WizardAction::Cancel)),
        ]],
    };
    Some(Keyboard::new(rows))
}

/// One button per order.
pub(crate) fn orders_list(orders: &[(u64, String)]) -> Keyboard {
    Keyboard::new(
        orders
            .iter()
            .map(|(id, label)| vec![button(label.clone(), Callback::ViewOrder(*id))])
            .collect::<Vec<_>>(),
    )
}

/// The buttons under an order's details.
pub(crate) fn order_details(language: Language, id: u64, deletable: bool) -> Keyboard {
    let t = |key: &str| tr(language, key);
    let mut rows = vec![vec![button(t("bot.button.write"), Callback::ChatAbout(id))]];
    if deletable {
        rows.push(vec![button(
            t("bot.button.delete"),
            Callback::AskDelete(id),
        )]);
    }
    rows.push(vec![button(
        t("bot.button.back"),
        Callback::Menu(MenuItem::MyOrders),
    )]);
    Keyboard::new(rows)
}

/// Yes / No before deleting an order.
pub(crate) fn confirm_delete(language: Language, id: u64) -> Keyboard {
    let t = |key: &str| tr(language, key);
    Keyboard::new(vec![vec![
        button(t("bot.button.yes_delete"), Callback::Delete(id)),
        button(t("bot.button.no"), Callback::ViewOrder(id)),
    ]])
}

/// Approve / Reject under a new-order notification.
pub(crate) fn moderation(language: Language, id: u64) -> Keyboard {
    let t = |key: &str| tr(language, key);
    Keyboard::new(vec![vec![
        button(t("bot.button.approve"), Callback::Approve(id)),
        button(t("bot.button.reject"), Callback::Reject(id)),
    ]])
}

/// The standard-reason button under the reject prompt.
pub(crate) fn reject_reason(language: Language, id: u64) -> Keyboard {
    Keyboard::new(vec![vec![button(
        tr(language, "bot.button.default_reason"),
        Callback::RejectDefault(id),
    )]])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_round_trips_and_fits_telegrams_limit() {
        let all = [
            Callback::Language(Language::RU),
            Callback::Menu(MenuItem::MyOrders),
            Callback::Wizard {
                id: u64::MAX / 2,
                step: Step::Attachments,
                action: WizardAction::Done,
            },
            Callback::ViewOrder(42),
            Callback::AskDelete(42),
            Callback::Delete(42),
            Callback::ChatAbout(42),
            Callback::Approve(u64::MAX / 2),
            Callback::Reject(7),
            Callback::RejectDefault(7),
        ];
        for callback in all {
            let data = callback.data();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Callback::parse(&data), Some(callback), "{data}");
        }
    }

    #[test]
    fn forged_or_foreign_data_is_not_understood() {
        for data in [
            "",
            "*",
            "IntValue;fontSize;Font Size;+1",
            "o:v:",
            "o:v:0",
            "o:v:-1",
            "o:v:99999999999999999999999",
            "mod:a:1:extra",
            "w:1:z:s",
            "lang:de",
        ] {
            assert_eq!(Callback::parse(data), None, "{data}");
        }
    }
}
