//! Inline keyboards (crm-lib's typed [`Keyboard`], turned into the Bot API's JSON by the
//! outbox job) and the callback data their buttons carry.
//!
//! Callback data is short ASCII (Telegram allows 64 bytes) and carries everything a press
//! needs, so a press never depends on in-memory state: `lang:ru`, `m:orders`, `o:v:42` (view
//! order 42), `w:<wizard id>:<step>:<action>` (a button of one step of one order form, so a
//! button of an old form or an earlier step is recognised as stale; `w:9:m:t5` toggles marker
//! 5, `w:9:p:m2` picks payment method 2), `mod:a:42` (approve). The longest, a toggle with
//! two 19-digit ids (the most an id may have), is 44 bytes. Data the bot did not make parses
//! to `None` and gets a polite "no longer active" answer.

use crm_lib::model::{Button, ButtonPress, Keyboard, Language};
use crm_lib::telegram::KEYBOARD_MAX_BUTTONS;
use serde_json::{Value, json};

use super::dialogue::{Step, WorkerStep};
use crate::i18n::tr;

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
    /// Staff (a master): move a ticket to a stage, from the ticket's notification.
    MoveTicket {
        /// The order.
        order: u64,
        /// The stage.
        stage: u16,
    },
    /// Choose the department a conversation goes to (the operators module).
    Department(u64),
    /// The satisfaction survey of an order: a rating or skipping the comment.
    Csat {
        /// The order rated.
        order: u64,
        /// What the button does.
        action: CsatAction,
    },
    /// A button of the token service (issue 13): `tok:...`.
    Tokens(TokensPress),
    /// A button of a conversational form (crm-lib's engine; `bot::forms` renders it).
    Form {
        /// The form ([`crm_lib::model::FormName::code`]).
        form: u8,
        /// What the button does.
        action: FormAction,
    },
    /// The client's decision on a change request (issue 14), from its notification:
    /// `cr:<a|r|ya|yr|n>:<project>:<request>` (`bot::projects`).
    ChangeRequest {
        /// The project.
        project: u64,
        /// The request.
        request: u64,
        /// What the button does.
        action: ChangeAction,
    },
    /// A button of the worker's bot (`bot::worker`): `wk:...`.
    Worker(WorkerPress),
}

/// Buttons of a change request's notification: Approve or Reject ask first; Yes decides;
/// No puts the two buttons back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeAction {
    /// Approve, to be confirmed (`a`).
    Approve,
    /// Reject, to be confirmed (`r`).
    Reject,
    /// Yes: approve (`ya`).
    ConfirmApprove,
    /// Yes: reject (`yr`).
    ConfirmReject,
    /// No: back to Approve / Reject (`n`).
    Back,
}

impl ChangeAction {
    fn code(self) -> &'static str {
        match self {
            ChangeAction::Approve => "a",
            ChangeAction::Reject => "r",
            ChangeAction::ConfirmApprove => "ya",
            ChangeAction::ConfirmReject => "yr",
            ChangeAction::Back => "n",
        }
    }

    fn of_code(code: &str) -> Option<Self> {
        Some(match code {
            "a" => ChangeAction::Approve,
            "r" => ChangeAction::Reject,
            "ya" => ChangeAction::ConfirmApprove,
            "yr" => ChangeAction::ConfirmReject,
            "n" => ChangeAction::Back,
            _ => return None,
        })
    }
}

/// Buttons of the worker's bot (`bot::worker`). The menu's two (`wk:r`, `wk:e`) start a
/// flow; a flow's carry its draft's id and step (`wk:<id>:<step>:<action>`), so a button of
/// another draft or an earlier step is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerPress {
    /// Start a daily report.
    Report,
    /// Start an expense or income entry.
    Expense,
    /// A button of one step of one draft.
    Step {
        /// The draft.
        id: u64,
        /// The step the button belongs to.
        step: WorkerStep,
        /// What it does.
        action: WorkerAction,
    },
}

/// What a button of a worker's step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerAction {
    /// Choose this project or stage (`p<id>`).
    Pick(u64),
    /// The files are all sent (`d`).
    Done,
    /// Skip the step: no text, no stage, no proof (`k`).
    Skip,
    /// Drop the draft (`x`).
    Cancel,
    /// An expense (`e`) or income (`i`).
    Income(bool),
    /// The category with this index in `EntryCategory::ALL` (`c<n>`).
    Category(u8),
}

fn worker_step_code(step: WorkerStep) -> &'static str {
    match step {
        WorkerStep::Project => "p",
        WorkerStep::Stage => "s",
        WorkerStep::Media => "m",
        WorkerStep::Note => "t",
        WorkerStep::Kind => "k",
        WorkerStep::Amount => "a",
        WorkerStep::Category => "c",
        WorkerStep::EntryStage => "g",
        WorkerStep::Proof => "f",
    }
}

fn worker_step_of(code: &str) -> Option<WorkerStep> {
    WorkerStep::ALL
        .into_iter()
        .find(|step| worker_step_code(*step) == code)
}

/// Buttons of the token service's flows (`bot::tokens`); each carries all it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokensPress {
    /// The balance and the menu (`tok:m`).
    Menu,
    /// The history (`tok:h`).
    History,
    /// The packages to order (`tok:n`).
    New,
    /// The packages to order for one of the customer's profiles (`tok:f:<profile>`; 0:
    /// themselves).
    ForProfile(u64),
    /// A package's price, with the email add-on or not, for a profile (0: none)
    /// (`tok:q:<package>:<0|1>:<profile>`).
    Quote {
        /// The package.
        package: u64,
        /// With the add-on.
        email: bool,
        /// The profile ordered for; 0 for none.
        profile: u64,
    },
    /// Place the order (`tok:c:<package>:<0|1>:<profile>`).
    Confirm {
        /// The package.
        package: u64,
        /// With the add-on.
        email: bool,
        /// The profile ordered for; 0 for none.
        profile: u64,
    },
    /// The subscription's offer (`tok:s`).
    Subscribe,
    /// Buy the subscription (`tok:sy`).
    SubscribeConfirm,
    /// Run a completed order again (`tok:r:<order>`).
    Rerun(u64),
    /// Buy tokens: the amounts offered (`tok:b`).
    Buy,
    /// Buy this many tokens: the providers (`tok:b:<tokens>`).
    BuyAmount(u64),
    /// Buy this many tokens through a provider (`tok:bp:<tokens>:<o|s>`).
    BuyWith {
        /// The tokens.
        tokens: u64,
        /// The provider.
        provider: crm_lib::model::PaymentProvider,
    },
}

/// Buttons of a conversational form. Those of a question carry the field's index, so a
/// button of an earlier question is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormAction {
    /// Answer field number `field` with its option number `option` (`f:1:a:10:4`).
    Choose {
        /// The field's index in the form.
        field: u8,
        /// The option's index among the question's choices.
        option: u8,
    },
    /// Answer field number `field` with its default (`f:1:d:12`).
    Default(u8),
    /// Skip field number `field` (`f:1:s:1`).
    Skip(u8),
    /// Back to the previous field (`f:1:b`).
    Back,
    /// From the review: ask field number `field` again (`f:1:e:3`).
    Edit(u8),
    /// From the review: confirm (`f:1:y`).
    Confirm,
    /// Cancel the form (`f:1:n`).
    Cancel,
}

/// Buttons of the satisfaction survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CsatAction {
    /// Give this many stars (crm-lib refuses anything but 1-5).
    Rate(u8),
    /// Leave no comment.
    Skip,
}

/// Main menu items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MenuItem {
    NewOrder,
    MyOrders,
    Chat,
    Language,
    Help,
    /// Register a profile (the tokens module).
    Register,
    /// My profiles (the tokens module).
    Profiles,
}

/// Buttons of the order form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WizardAction {
    Skip,
    Done,
    Confirm,
    Cancel,
    /// Choose or unchoose the marker with this id (the markers step).
    Toggle(u64),
    /// Prefer the payment method with this id (the payment step).
    Pick(u64),
    /// The fields step: answer field number `field` with its option number `option` (a
    /// choice's option, or a flag's yes 0 / no 1).
    Choose {
        /// The field's index among the organization's fields.
        field: u8,
        /// The option's index.
        option: u8,
    },
    /// The fields step: skip field number `field` (an optional one).
    SkipField(u8),
}

/// The most markers the markers step shows: a keyboard's 100 buttons less Done and Skip.
pub(crate) const FORM_MARKERS_MAX: usize = KEYBOARD_MAX_BUTTONS - 2;

/// The most payment methods the payment step shows: a keyboard's 100 buttons less Skip.
pub(crate) const FORM_METHODS_MAX: usize = KEYBOARD_MAX_BUTTONS - 1;

/// Markers per row of the markers step (names are at most 32 characters).
const MARKERS_PER_ROW: usize = 2;

fn step_code(step: Step) -> &'static str {
    match step {
        Step::Title => "t",
        Step::Description => "d",
        Step::Budget => "b",
        Step::Deadline => "l",
        Step::Attachments => "a",
        Step::Markers => "m",
        Step::PaymentMethod => "p",
        Step::Fields => "f",
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
        "m" => Step::Markers,
        "p" => Step::PaymentMethod,
        "f" => Step::Fields,
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

/// A small index (a field's or an option's): 1-3 digits, below 256.
fn small(text: &str) -> Option<u8> {
    if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
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
                "reg" => MenuItem::Register,
                "prof" => MenuItem::Profiles,
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
                    other => match other.split_at_checked(1) {
                        Some(("t", marker)) => WizardAction::Toggle(id_of(marker)?),
                        Some(("m", method)) => WizardAction::Pick(id_of(method)?),
                        Some(("c", pair)) => {
                            let (field, option) = pair.split_once('_')?;
                            WizardAction::Choose {
                                field: small(field)?,
                                option: small(option)?,
                            }
                        }
                        Some(("k", field)) => WizardAction::SkipField(small(field)?),
                        _ => return None,
                    },
                },
            },
            ["o", "v", id] => Callback::ViewOrder(id_of(id)?),
            ["o", "d", id] => Callback::AskDelete(id_of(id)?),
            ["o", "x", id] => Callback::Delete(id_of(id)?),
            ["o", "c", id] => Callback::ChatAbout(id_of(id)?),
            ["mod", "a", id] => Callback::Approve(id_of(id)?),
            ["mod", "r", id] => Callback::Reject(id_of(id)?),
            ["mod", "d", id] => Callback::RejectDefault(id_of(id)?),
            ["tk", "m", order, stage] => Callback::MoveTicket {
                order: id_of(order)?,
                stage: u16::try_from(id_of(stage)?).ok()?,
            },
            ["dep", id] => Callback::Department(id_of(id)?),
            ["tok", "m"] => Callback::Tokens(TokensPress::Menu),
            ["tok", "h"] => Callback::Tokens(TokensPress::History),
            ["tok", "n"] => Callback::Tokens(TokensPress::New),
            ["tok", "s"] => Callback::Tokens(TokensPress::Subscribe),
            ["tok", "sy"] => Callback::Tokens(TokensPress::SubscribeConfirm),
            ["tok", "r", order] => Callback::Tokens(TokensPress::Rerun(id_of(order)?)),
            ["tok", "b"] => Callback::Tokens(TokensPress::Buy),
            ["tok", "b", tokens] => Callback::Tokens(TokensPress::BuyAmount(id_of(tokens)?)),
            ["tok", "bp", tokens, provider] => Callback::Tokens(TokensPress::BuyWith {
                tokens: id_of(tokens)?,
                provider: match *provider {
                    "o" => crm_lib::model::PaymentProvider::OxaPay,
                    "s" => crm_lib::model::PaymentProvider::Stars,
                    _ => return None,
                },
            }),
            ["tok", "f", profile] => {
                Callback::Tokens(TokensPress::ForProfile(if *profile == "0" {
                    0
                } else {
                    id_of(profile)?
                }))
            }
            ["tok", kind @ ("q" | "c"), package, email, rest @ ..] if rest.len() <= 1 => {
                let (package, email) = (
                    id_of(package)?,
                    match *email {
                        "0" => false,
                        "1" => true,
                        _ => return None,
                    },
                );
                let profile = match rest {
                    [] | ["0"] => 0,
                    [profile] => id_of(profile)?,
                    _ => return None,
                };
                Callback::Tokens(if *kind == "q" {
                    TokensPress::Quote {
                        package,
                        email,
                        profile,
                    }
                } else {
                    TokensPress::Confirm {
                        package,
                        email,
                        profile,
                    }
                })
            }
            ["f", form, rest @ ..] => Callback::Form {
                form: small(form)?,
                action: match rest {
                    ["a", field, option] => FormAction::Choose {
                        field: small(field)?,
                        option: small(option)?,
                    },
                    ["d", field] => FormAction::Default(small(field)?),
                    ["s", field] => FormAction::Skip(small(field)?),
                    ["b"] => FormAction::Back,
                    ["e", field] => FormAction::Edit(small(field)?),
                    ["y"] => FormAction::Confirm,
                    ["n"] => FormAction::Cancel,
                    _ => return None,
                },
            },
            ["cr", action, project, request] => Callback::ChangeRequest {
                project: id_of(project)?,
                request: id_of(request)?,
                action: ChangeAction::of_code(action)?,
            },
            ["wk", "r"] => Callback::Worker(WorkerPress::Report),
            ["wk", "e"] => Callback::Worker(WorkerPress::Expense),
            ["wk", id, step, action] => Callback::Worker(WorkerPress::Step {
                id: id_of(id)?,
                step: worker_step_of(step)?,
                action: match *action {
                    "d" => WorkerAction::Done,
                    "k" => WorkerAction::Skip,
                    "x" => WorkerAction::Cancel,
                    "e" => WorkerAction::Income(false),
                    "i" => WorkerAction::Income(true),
                    other => match other.split_at_checked(1) {
                        Some(("p", id)) => WorkerAction::Pick(id_of(id)?),
                        Some(("c", index)) => WorkerAction::Category(small(index)?),
                        _ => return None,
                    },
                },
            }),
            ["cs", order, "s"] => Callback::Csat {
                order: id_of(order)?,
                action: CsatAction::Skip,
            },
            ["cs", order, stars] => Callback::Csat {
                order: id_of(order)?,
                action: CsatAction::Rate(small(stars)?),
            },
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
                    MenuItem::Register => "reg",
                    MenuItem::Profiles => "prof",
                }
            ),
            Callback::Wizard { id, step, action } => format!(
                "w:{id}:{}:{}",
                step_code(step),
                match action {
                    WizardAction::Skip => "s".to_string(),
                    WizardAction::Done => "d".to_string(),
                    WizardAction::Confirm => "y".to_string(),
                    WizardAction::Cancel => "n".to_string(),
                    WizardAction::Toggle(marker) => format!("t{marker}"),
                    WizardAction::Pick(method) => format!("m{method}"),
                    WizardAction::Choose { field, option } => format!("c{field}_{option}"),
                    WizardAction::SkipField(field) => format!("k{field}"),
                }
            ),
            Callback::ViewOrder(id) => format!("o:v:{id}"),
            Callback::AskDelete(id) => format!("o:d:{id}"),
            Callback::Delete(id) => format!("o:x:{id}"),
            Callback::ChatAbout(id) => format!("o:c:{id}"),
            Callback::Approve(id) => format!("mod:a:{id}"),
            Callback::Reject(id) => format!("mod:r:{id}"),
            Callback::RejectDefault(id) => format!("mod:d:{id}"),
            Callback::MoveTicket { order, stage } => format!("tk:m:{order}:{stage}"),
            Callback::Department(id) => format!("dep:{id}"),
            Callback::Csat { order, action } => match action {
                CsatAction::Rate(stars) => format!("cs:{order}:{stars}"),
                CsatAction::Skip => format!("cs:{order}:s"),
            },
            Callback::Tokens(press) => match press {
                TokensPress::Menu => "tok:m".to_string(),
                TokensPress::History => "tok:h".to_string(),
                TokensPress::New => "tok:n".to_string(),
                TokensPress::Subscribe => "tok:s".to_string(),
                TokensPress::SubscribeConfirm => "tok:sy".to_string(),
                TokensPress::Rerun(order) => format!("tok:r:{order}"),
                TokensPress::Buy => "tok:b".to_string(),
                TokensPress::BuyAmount(tokens) => format!("tok:b:{tokens}"),
                TokensPress::BuyWith { tokens, provider } => format!(
                    "tok:bp:{tokens}:{}",
                    match provider {
                        crm_lib::model::PaymentProvider::OxaPay => "o",
                        crm_lib::model::PaymentProvider::Stars => "s",
                    }
                ),
                TokensPress::ForProfile(profile) => format!("tok:f:{profile}"),
                TokensPress::Quote {
                    package,
                    email,
                    profile,
                } => format!("tok:q:{package}:{}:{profile}", u8::from(email)),
                TokensPress::Confirm {
                    package,
                    email,
                    profile,
                } => format!("tok:c:{package}:{}:{profile}", u8::from(email)),
            },
            Callback::Form { form, action } => match action {
                FormAction::Choose { field, option } => format!("f:{form}:a:{field}:{option}"),
                FormAction::Default(field) => format!("f:{form}:d:{field}"),
                FormAction::Skip(field) => format!("f:{form}:s:{field}"),
                FormAction::Back => format!("f:{form}:b"),
                FormAction::Edit(field) => format!("f:{form}:e:{field}"),
                FormAction::Confirm => format!("f:{form}:y"),
                FormAction::Cancel => format!("f:{form}:n"),
            },
            Callback::ChangeRequest {
                project,
                request,
                action,
            } => format!("cr:{}:{project}:{request}", action.code()),
            Callback::Worker(press) => match press {
                WorkerPress::Report => "wk:r".to_string(),
                WorkerPress::Expense => "wk:e".to_string(),
                WorkerPress::Step { id, step, action } => format!(
                    "wk:{id}:{}:{}",
                    worker_step_code(step),
                    match action {
                        WorkerAction::Pick(id) => format!("p{id}"),
                        WorkerAction::Done => "d".to_string(),
                        WorkerAction::Skip => "k".to_string(),
                        WorkerAction::Cancel => "x".to_string(),
                        WorkerAction::Income(false) => "e".to_string(),
                        WorkerAction::Income(true) => "i".to_string(),
                        WorkerAction::Category(index) => format!("c{index}"),
                    }
                ),
            },
        }
    }
}

/// A button of the worker's bot.
pub(crate) fn worker_button(text: impl Into<String>, press: WorkerPress) -> Button {
    button(text, Callback::Worker(press))
}

/// The satisfaction survey's buttons: 1 to 5 stars in one row (`cs:<order>:<stars>`).
pub(crate) fn csat_ratings(order: u64) -> Keyboard {
    Keyboard::new(vec![
        (1..=5u8)
            .map(|stars| {
                button(
                    format!("{stars} ★"),
                    Callback::Csat {
                        order,
                        action: CsatAction::Rate(stars),
                    },
                )
            })
            .collect(),
    ])
}

/// The comment question's Skip button (`cs:<order>:s`).
pub(crate) fn csat_skip(language: Language, order: u64) -> Keyboard {
    Keyboard::new(vec![vec![button(
        tr(language, "csat.bot.skip"),
        Callback::Csat {
            order,
            action: CsatAction::Skip,
        },
    )]])
}

/// The department question's buttons: one per department, one a row.
pub(crate) fn departments(choices: &[(crm_lib::model::DepartmentId, String)]) -> Keyboard {
    Keyboard::new(
        choices
            .iter()
            .take(KEYBOARD_MAX_BUTTONS)
            .map(|(id, name)| vec![button(name.clone(), Callback::Department(id.get()))])
            .collect(),
    )
}

fn button(text: impl Into<String>, callback: Callback) -> Button {
    Button::callback(text, callback.data())
}

/// The Bot API JSON of a keyboard: `InlineKeyboardMarkup`, or a `ReplyKeyboardMarkup`
/// shown once and fitted to its buttons when it holds a `request_contact` button (Telegram
/// offers that on reply keyboards only; the other buttons become plain text buttons).
pub(crate) fn to_json(keyboard: &Keyboard) -> Value {
    if keyboard.is_reply_keyboard() {
        let rows: Vec<Vec<Value>> = keyboard
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|button| match &button.press {
                        ButtonPress::RequestContact => {
                            json!({ "text": button.text, "request_contact": true })
                        }
                        _ => json!({ "text": button.text }),
                    })
                    .collect()
            })
            .collect();
        return json!({
            "keyboard": rows,
            "resize_keyboard": true,
            "one_time_keyboard": true,
        });
    }
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
                    ButtonPress::RequestContact => json!({ "text": button.text }),
                    ButtonPress::WebApp(url) => {
                        json!({ "text": button.text, "web_app": { "url": url } })
                    }
                })
                .collect()
        })
        .collect();
    json!({ "inline_keyboard": rows })
}

/// The main menu; with `tokens` (the organization runs the tokens module) a row with
/// Register and My profiles.
pub(crate) fn main_menu(language: Language, tokens: bool) -> Keyboard {
    let t = |key: &str| tr(language, key);
    let mut rows = vec![vec![
        button(t("bot.menu.new_order"), Callback::Menu(MenuItem::NewOrder)),
        button(t("bot.menu.my_orders"), Callback::Menu(MenuItem::MyOrders)),
    ]];
    if tokens {
        rows.push(vec![
            button(
                t("forms.bot.menu.register"),
                Callback::Menu(MenuItem::Register),
            ),
            button(
                t("forms.bot.menu.profiles"),
                Callback::Menu(MenuItem::Profiles),
            ),
        ]);
        rows.push(vec![button(
            t("tokens.bot.button.tokens"),
            Callback::Tokens(TokensPress::Menu),
        )]);
    }
    rows.extend([
        vec![button(t("bot.menu.chat"), Callback::Menu(MenuItem::Chat))],
        vec![
            button(t("bot.menu.language"), Callback::Menu(MenuItem::Language)),
            button(t("bot.menu.help"), Callback::Menu(MenuItem::Help)),
        ],
    ]);
    Keyboard::new(rows)
}

/// Options per row of a form's choice buttons: short labels (the states' two-letter codes)
/// five to a row, longer ones two to a row.
fn options_per_row(labels: &[String]) -> usize {
    if labels.iter().all(|label| label.chars().count() <= 4) {
        5
    } else if labels.iter().all(|label| label.chars().count() <= 12) {
        3
    } else {
        1
    }
}

/// The buttons of a form's question: the `choices` (labels, by index) in rows, the default
/// answer when there is one, then Back, Skip (when `skippable`) and Cancel. `field` is the
/// field's index in the form.
pub(crate) fn form_question(
    language: Language,
    form: u8,
    field: u8,
    choices: &[String],
    default: Option<&str>,
    skippable: bool,
) -> Keyboard {
    let press = |action| Callback::Form { form, action };
    let options: Vec<Button> = choices
        .iter()
        .take(KEYBOARD_MAX_BUTTONS - 4)
        .enumerate()
        .map(|(index, label)| {
            let option = u8::try_from(index).unwrap_or(u8::MAX);
            button(
                label_or_id(label, index as u64 + 1),
                press(FormAction::Choose { field, option }),
            )
        })
        .collect();
    let mut rows: Vec<Vec<Button>> = options
        .chunks(options_per_row(choices).max(1))
        .map(<[Button]>::to_vec)
        .collect();
    if let Some(default) = default {
        rows.push(vec![button(
            clip_label(default),
            press(FormAction::Default(field)),
        )]);
    }
    let mut last = vec![button(
        tr(language, "forms.bot.back"),
        press(FormAction::Back),
    )];
    if skippable {
        last.push(button(
            tr(language, "bot.button.skip"),
            press(FormAction::Skip(field)),
        ));
    }
    last.push(button(
        tr(language, "bot.button.cancel"),
        press(FormAction::Cancel),
    ));
    rows.push(last);
    Keyboard::new(rows)
}

/// The review's buttons: one Edit per field (labels by index), two to a row, then Confirm
/// and Cancel.
pub(crate) fn form_review(language: Language, form: u8, fields: &[String]) -> Keyboard {
    let press = |action| Callback::Form { form, action };
    let edits: Vec<Button> = fields
        .iter()
        .take(KEYBOARD_MAX_BUTTONS - 2)
        .enumerate()
        .map(|(index, label)| {
            button(
                format!("✏️ {}", clip_label(label)),
                press(FormAction::Edit(u8::try_from(index).unwrap_or(u8::MAX))),
            )
        })
        .collect();
    let mut rows: Vec<Vec<Button>> = edits.chunks(2).map(<[Button]>::to_vec).collect();
    rows.push(vec![
        button(
            tr(language, "bot.button.confirm"),
            press(FormAction::Confirm),
        ),
        button(tr(language, "bot.button.cancel"), press(FormAction::Cancel)),
    ]);
    Keyboard::new(rows)
}

/// A button text of at most 40 characters.
fn clip_label(text: &str) -> String {
    let clipped: String = text.chars().take(40).collect();
    if clipped.trim().is_empty() {
        "?".to_string()
    } else {
        clipped
    }
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

/// The buttons of one step of the order form, if the step has any. The markers and payment
/// steps list the organization's choices: see [`wizard_markers`] and [`wizard_methods`]; here
/// they have their Skip button only.
pub(crate) fn wizard_step(language: Language, id: u64, step: Step) -> Option<Keyboard> {
    let wizard = |action| Callback::Wizard { id, step, action };
    let t = |key: &str| tr(language, key);
    let rows = match step {
        Step::Title | Step::Description | Step::Fields => return None,
        Step::Markers | Step::PaymentMethod => {
            vec![vec![button(
                t("bot.button.skip"),
                wizard(WizardAction::Skip),
            )]]
        }
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

/// A button's text: `label`, or `#id` when the label is blank (Telegram refuses empty
/// buttons).
fn label_or_id(label: &str, id: u64) -> String {
    if label.trim().is_empty() {
        format!("#{id}")
    } else {
        label.to_string()
    }
}

/// The markers step of form `id`: each of `markers` (id, name in the reader's language; the
/// first [`FORM_MARKERS_MAX`]) as a toggle, `✓` before the `chosen` ones, two to a row, then
/// Done and Skip. Pressing a marker toggles it and the keyboard is replaced in place.
pub(crate) fn wizard_markers(
    language: Language,
    id: u64,
    markers: &[(u64, String)],
    chosen: &[u64],
) -> Keyboard {
    let wizard = |action| Callback::Wizard {
        id,
        step: Step::Markers,
        action,
    };
    let toggles: Vec<Button> = markers
        .iter()
        .take(FORM_MARKERS_MAX)
        .map(|(marker, name)| {
            let name = label_or_id(name, *marker);
            let text = if chosen.contains(marker) {
                format!("✓ {name}")
            } else {
                name
            };
            button(text, wizard(WizardAction::Toggle(*marker)))
        })
        .collect();
    let mut rows: Vec<Vec<Button>> = toggles
        .chunks(MARKERS_PER_ROW)
        .map(<[Button]>::to_vec)
        .collect();
    rows.push(vec![
        button(tr(language, "bot.button.done"), wizard(WizardAction::Done)),
        button(tr(language, "bot.button.skip"), wizard(WizardAction::Skip)),
    ]);
    Keyboard::new(rows)
}

/// The payment step of form `id`: each of `methods` (id, name; the first
/// [`FORM_METHODS_MAX`]) on its own row, then Skip.
pub(crate) fn wizard_methods(language: Language, id: u64, methods: &[(u64, String)]) -> Keyboard {
    let wizard = |action| Callback::Wizard {
        id,
        step: Step::PaymentMethod,
        action,
    };
    let mut rows: Vec<Vec<Button>> = methods
        .iter()
        .take(FORM_METHODS_MAX)
        .map(|(method, name)| {
            vec![button(
                label_or_id(name, *method),
                wizard(WizardAction::Pick(*method)),
            )]
        })
        .collect();
    rows.push(vec![button(
        tr(language, "bot.button.skip"),
        wizard(WizardAction::Skip),
    )]);
    Keyboard::new(rows)
}

/// The buttons of ticket field number `field` of form `id`: a choice's options (`options`:
/// labels in the reader's language, in order), two to a row, or Yes and No for a flag
/// (`flag`), then Skip when the field is optional. `None` when there is nothing to press.
pub(crate) fn wizard_field(
    language: Language,
    id: u64,
    field: u8,
    options: &[String],
    flag: bool,
    optional: bool,
) -> Option<Keyboard> {
    let wizard = |action| Callback::Wizard {
        id,
        step: Step::Fields,
        action,
    };
    let labels: Vec<String> = if flag {
        vec![tr(language, "tickets.yes"), tr(language, "tickets.no")]
    } else {
        options.to_vec()
    };
    let buttons: Vec<Button> = labels
        .iter()
        .take(FORM_METHODS_MAX)
        .enumerate()
        .filter_map(|(option, label)| {
            let option = u8::try_from(option).ok()?;
            Some(button(
                label_or_id(label, u64::from(option) + 1),
                wizard(WizardAction::Choose { field, option }),
            ))
        })
        .collect();
    let mut rows: Vec<Vec<Button>> = buttons.chunks(2).map(<[Button]>::to_vec).collect();
    if optional {
        rows.push(vec![button(
            tr(language, "bot.button.skip"),
            wizard(WizardAction::SkipField(field)),
        )]);
    }
    (!rows.is_empty()).then(|| Keyboard::new(rows))
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
pub(crate) fn order_details(language: Language, id: u64, deletable: bool, rerun: bool) -> Keyboard {
    let t = |key: &str| tr(language, key);
    let mut rows = vec![vec![button(t("bot.button.write"), Callback::ChatAbout(id))]];
    if rerun {
        rows.push(vec![button(
            t("tokens.bot.button.rerun"),
            Callback::Tokens(TokensPress::Rerun(id)),
        )]);
    }
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

/// The token service's menu under the balance: order, premium, history.
pub(crate) fn tokens_menu(language: Language) -> Keyboard {
    let t = |key: &str| tr(language, key);
    Keyboard::new(vec![
        vec![button(
            t("tokens.bot.button.order"),
            Callback::Tokens(TokensPress::New),
        )],
        vec![button(
            t("tokens.bot.button.buy"),
            Callback::Tokens(TokensPress::Buy),
        )],
        vec![
            button(
                t("tokens.bot.button.premium"),
                Callback::Tokens(TokensPress::Subscribe),
            ),
            button(
                t("tokens.bot.button.history"),
                Callback::Tokens(TokensPress::History),
            ),
        ],
    ])
}

/// The purchase amounts (tokens and label), one to a row, then Back to the menu.
pub(crate) fn buy_amounts(language: Language, amounts: &[(u64, String)]) -> Keyboard {
    let mut rows: Vec<Vec<Button>> = amounts
        .iter()
        .take(KEYBOARD_MAX_BUTTONS - 1)
        .map(|(tokens, label)| {
            vec![button(
                label.clone(),
                Callback::Tokens(TokensPress::BuyAmount(*tokens)),
            )]
        })
        .collect();
    rows.push(vec![button(
        tr(language, "bot.button.back"),
        Callback::Tokens(TokensPress::Menu),
    )]);
    Keyboard::new(rows)
}

/// The providers to pay `tokens` with (those set up), then Back to the amounts.
pub(crate) fn buy_providers(
    language: Language,
    tokens: u64,
    providers: &[crm_lib::model::PaymentProvider],
) -> Keyboard {
    let mut rows: Vec<Vec<Button>> = providers
        .iter()
        .map(|provider| {
            vec![button(
                tr(
                    language,
                    &format!("payments.bot.button.{}", provider.as_str()),
                ),
                Callback::Tokens(TokensPress::BuyWith {
                    tokens,
                    provider: *provider,
                }),
            )]
        })
        .collect();
    rows.push(vec![button(
        tr(language, "bot.button.back"),
        Callback::Tokens(TokensPress::Buy),
    )]);
    Keyboard::new(rows)
}

/// The packages (id and label), one to a row, then Back.
pub(crate) fn token_packages(
    language: Language,
    packages: &[(u64, String)],
    profile: u64,
) -> Keyboard {
    let mut rows: Vec<Vec<Button>> = packages
        .iter()
        .take(KEYBOARD_MAX_BUTTONS - 1)
        .map(|(package, label)| {
            vec![button(
                label.clone(),
                Callback::Tokens(TokensPress::Quote {
                    package: *package,
                    email: false,
                    profile,
                }),
            )]
        })
        .collect();
    rows.push(vec![button(
        tr(language, "bot.button.back"),
        Callback::Tokens(TokensPress::Menu),
    )]);
    Keyboard::new(rows)
}

/// A package's quote: the add-on switch, Confirm when the balance covers it, Back.
pub(crate) fn token_quote(
    language: Language,
    package: u64,
    email: bool,
    profile: u64,
    enough: bool,
) -> Keyboard {
    let t = |key: &str| tr(language, key);
    let mut rows = vec![vec![button(
        t(if email {
            "tokens.bot.button.addon_remove"
        } else {
            "tokens.bot.button.addon_add"
        }),
        Callback::Tokens(TokensPress::Quote {
            package,
            email: !email,
            profile,
        }),
    )]];
    if enough {
        rows.push(vec![button(
            t("tokens.bot.button.confirm"),
            Callback::Tokens(TokensPress::Confirm {
                package,
                email,
                profile,
            }),
        )]);
    }
    rows.push(vec![button(
        t("bot.button.back"),
        Callback::Tokens(TokensPress::ForProfile(profile)),
    )]);
    Keyboard::new(rows)
}

/// Who an order is for: the customer's profiles (id and label) one to a row, then the
/// customer themselves.
pub(crate) fn token_profiles(language: Language, profiles: &[(u64, String)]) -> Keyboard {
    let mut rows: Vec<Vec<Button>> = profiles
        .iter()
        .take(KEYBOARD_MAX_BUTTONS - 2)
        .map(|(profile, label)| {
            vec![button(
                label.clone(),
                Callback::Tokens(TokensPress::ForProfile(*profile)),
            )]
        })
        .collect();
    rows.push(vec![button(
        tr(language, "tokens.bot.button.myself"),
        Callback::Tokens(TokensPress::ForProfile(0)),
    )]);
    Keyboard::new(rows)
}

/// The subscription's offer: Buy, Back.
pub(crate) fn token_subscribe(language: Language) -> Keyboard {
    let t = |key: &str| tr(language, key);
    Keyboard::new(vec![
        vec![button(
            t("tokens.bot.button.subscribe"),
            Callback::Tokens(TokensPress::SubscribeConfirm),
        )],
        vec![button(
            t("bot.button.back"),
            Callback::Tokens(TokensPress::Menu),
        )],
    ])
}

/// Yes / No before deleting an order.
pub(crate) fn confirm_delete(language: Language, id: u64) -> Keyboard {
    let t = |key: &str| tr(language, key);
    Keyboard::new(vec![vec![
        button(t("bot.button.yes_delete"), Callback::Delete(id)),
        button(t("bot.button.no"), Callback::ViewOrder(id)),
    ]])
}

/// One button per stage a master may move a ticket to (`moves`: stage id and name in the
/// reader's language), two to a row, under the ticket's notification.
pub(crate) fn ticket_moves(order: u64, moves: &[(u16, String)]) -> Option<Keyboard> {
    if moves.is_empty() {
        return None;
    }
    let buttons: Vec<Button> = moves
        .iter()
        .map(|(stage, name)| {
            button(
                format!("→ {}", label_or_id(name, u64::from(*stage))),
                Callback::MoveTicket {
                    order,
                    stage: *stage,
                },
            )
        })
        .collect();
    Some(Keyboard::new(
        buttons.chunks(2).map(<[Button]>::to_vec).collect(),
    ))
}

/// Approve / Reject under a new-order notification.
pub(crate) fn moderation(language: Language, id: u64) -> Keyboard {
    let t = |key: &str| tr(language, key);
    Keyboard::new(vec![vec![
        button(t("bot.button.approve"), Callback::Approve(id)),
        button(t("bot.button.reject"), Callback::Reject(id)),
    ]])
}

/// The buttons of a change request waiting for the client: Approve and Reject, each asking
/// for a confirmation first.
pub(crate) fn change_request(language: Language, project: u64, request: u64) -> Keyboard {
    let press = |action| Callback::ChangeRequest {
        project,
        request,
        action,
    };
    Keyboard::new(vec![vec![
        button(
            tr(language, "projects.bot.button.approve"),
            press(ChangeAction::Approve),
        ),
        button(
            tr(language, "projects.bot.button.reject"),
            press(ChangeAction::Reject),
        ),
    ]])
}

/// The confirmation of a change request's decision: Yes (decide `approve` or not) and No.
pub(crate) fn change_request_confirm(
    language: Language,
    project: u64,
    request: u64,
    approve: bool,
) -> Keyboard {
    let press = |action| Callback::ChangeRequest {
        project,
        request,
        action,
    };
    Keyboard::new(vec![vec![
        button(
            tr(language, "projects.bot.button.yes"),
            press(if approve {
                ChangeAction::ConfirmApprove
            } else {
                ChangeAction::ConfirmReject
            }),
        ),
        button(
            tr(language, "projects.bot.button.no"),
            press(ChangeAction::Back),
        ),
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
            Callback::Wizard {
                id: u64::MAX / 2,
                step: Step::Markers,
                action: WizardAction::Toggle(u64::MAX / 2),
            },
            Callback::Wizard {
                id: u64::MAX / 2,
                step: Step::PaymentMethod,
                action: WizardAction::Pick(u64::MAX / 2),
            },
            Callback::Wizard {
                id: 1,
                step: Step::Markers,
                action: WizardAction::Skip,
            },
            Callback::ViewOrder(42),
            Callback::AskDelete(42),
            Callback::Delete(42),
            Callback::ChatAbout(42),
            Callback::Approve(u64::MAX / 2),
            Callback::Reject(7),
            Callback::RejectDefault(7),
            Callback::ChangeRequest {
                project: u64::MAX / 2,
                request: u64::MAX / 2,
                action: ChangeAction::ConfirmApprove,
            },
            Callback::ChangeRequest {
                project: 1,
                request: 2,
                action: ChangeAction::Back,
            },
            Callback::Worker(WorkerPress::Report),
            Callback::Worker(WorkerPress::Expense),
            Callback::Worker(WorkerPress::Step {
                id: u64::MAX / 2,
                step: WorkerStep::Stage,
                action: WorkerAction::Pick(u64::MAX / 2),
            }),
            Callback::Worker(WorkerPress::Step {
                id: 3,
                step: WorkerStep::Kind,
                action: WorkerAction::Income(true),
            }),
            Callback::Worker(WorkerPress::Step {
                id: 3,
                step: WorkerStep::Category,
                action: WorkerAction::Category(7),
            }),
            Callback::Worker(WorkerPress::Step {
                id: 3,
                step: WorkerStep::Media,
                action: WorkerAction::Done,
            }),
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
            "w:1:m:t",
            "w:1:m:t0",
            "w:1:m:t-5",
            "w:1:m:t99999999999999999999",
            "w:1:m:x5",
            "w:1:p:m",
            "w:1:p:m+2",
            "w:1:p:mé",
            "lang:de",
            "cr:a:1",
            "cr:x:1:2",
            "cr:a:0:2",
            "cr:ya:1:-2",
        ] {
            assert_eq!(Callback::parse(data), None, "{data}");
        }
    }

    fn named(count: usize) -> Vec<(u64, String)> {
        (1..=count as u64)
            .map(|id| (id, format!("Name {id}")))
            .collect()
    }

    #[test]
    fn the_markers_step_marks_the_chosen_ones_and_ends_with_done_and_skip() {
        let keyboard = wizard_markers(
            Language::EN,
            9,
            &[(1, "Python".into()), (5, "React".into()), (7, " ".into())],
            &[5],
        );
        let rows: Vec<Vec<(&str, &str)>> = keyboard
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|button| match &button.press {
                        ButtonPress::Callback(data) => (button.text.as_str(), data.as_str()),
                        ButtonPress::Url(url) | ButtonPress::WebApp(url) => {
                            (button.text.as_str(), url.as_str())
                        }
                        ButtonPress::RequestContact => (button.text.as_str(), ""),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            rows,
            [
                vec![("Python", "w:9:m:t1"), ("✓ React", "w:9:m:t5")],
                vec![("#7", "w:9:m:t7")],
                vec![("Done ✅", "w:9:m:d"), ("Skip ⏭", "w:9:m:s")],
            ]
        );
    }

    #[test]
    fn the_choice_steps_fit_a_keyboard_at_their_limit_and_one_past_it() {
        for count in [FORM_MARKERS_MAX, FORM_MARKERS_MAX + 1] {
            let keyboard = wizard_markers(Language::RU, u64::MAX / 2, &named(count), &[1]);
            assert_eq!(keyboard.buttons().count(), KEYBOARD_MAX_BUTTONS, "{count}");
            let last_marker = format!("w:{}:m:t{FORM_MARKERS_MAX}", u64::MAX / 2);
            assert!(
                keyboard
                    .buttons()
                    .any(|button| button.press == ButtonPress::Callback(last_marker.clone()))
            );
        }
        for count in [FORM_METHODS_MAX, FORM_METHODS_MAX + 1] {
            let keyboard = wizard_methods(Language::EN, 3, &named(count));
            assert_eq!(keyboard.buttons().count(), KEYBOARD_MAX_BUTTONS, "{count}");
            assert_eq!(
                keyboard.rows.last().unwrap()[0].press,
                ButtonPress::Callback("w:3:p:s".into())
            );
        }
        assert_eq!(
            wizard_markers(Language::EN, 3, &named(3), &[])
                .buttons()
                .count(),
            5
        );
        assert_eq!(
            wizard_methods(Language::EN, 3, &named(1)).buttons().count(),
            2
        );
    }
}
