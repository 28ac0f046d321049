//! The customer's side of the bot: first contact and the language choice, the main menu, the
//! new-order form, My orders (details, deletion), and chat with the team.
//!
//! Rules are crm-lib's: each form step is checked with [`crm_lib::orders::check_order_field`], the
//! open-order limit with [`crm_lib::orders::check_new_order_allowed_in`] and again by
//! [`crm_lib::Tx::create_order`]; this module only picks the words. Texts a person types are
//! kept as typed (trimmed by crm-lib).

use crm_lib::{
    ErrorKind, Page, Tx, View,
    chat::{InboundMessage, OrderChoice},
    model::{
        Actor, ChatId, Customer, Date, FieldDef, FieldKind, Keyboard, Language, MarkerId,
        MessageContent, OrderId, PaymentMethodId,
    },
    orders::{NewOrder, NewOrderChoices, OrderField, OrderFilter, typed_date, typed_money},
};
use teloxide::types::{Message, User};

use super::context::{Command, Ctx, Prepared, Press, Replies, profile};
use super::dialogue::{self, Dialogue, DraftFile, Step, Wizard};
use super::keyboards::{self, Callback, MenuItem, WizardAction};
use super::render::{choose_language, clip, money, tr, tr_with};

/// The most files one order takes from the form (crm-lib's limit for one message).
const FORM_FILES_MAX: usize = crm_lib::chat::MESSAGE_MAX_ATTACHMENTS;

/// Words that skip an optional step when typed instead of pressing Skip.
const SKIP_WORDS: &[&str] = &["skip", "-", "пропустить", "нет", "no"];

/// Who is talking, resolved once per update.
struct Me {
    customer: Customer,
    actor: Actor,
    language: Language,
    chat: ChatId,
    /// Whether the organization runs the tokens module (registration and profiles).
    tokens: bool,
    /// Whether it runs the projects module: a customer's messages go to their lead
    /// (`bot::leads`).
    projects: bool,
    /// The client Mini App's address, while they have a project and the bot may offer it.
    mini_app: Option<String>,
}

impl Me {
    /// The form engine's view of who is talking.
    fn walker(&self, ctx: &Ctx<'_>) -> super::forms::Walker<'_> {
        super::forms::Walker {
            org: ctx.org,
            actor: &self.actor,
            language: self.language,
            chat: self.chat,
            tokens: self.tokens,
        }
    }
}

fn me(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    from: &User,
    chat: ChatId,
) -> crm_lib::Result<Option<(Me, bool)>> {
    let Some(profile) = profile(from) else {
        return Ok(None);
    };
    let mut system = tx.system();
    let is_new = system
        .customer_by_telegram(ctx.org, profile.telegram_id)?
        .is_none();
    let customer = system.upsert_telegram_customer(ctx.org, profile)?;
    let actor = Actor::customer(ctx.org, customer.id);
    let modules = crm_lib::org::organization_in(&*tx, &actor)?.modules;
    let tokens = modules.contains(crm_lib::model::Module::Tokens);
    let projects = modules.contains(crm_lib::model::Module::Projects);
    let mini_app = match ctx.mini_app_url {
        Some(url) if crm_lib::mini_app::client_has_project_in(&*tx, &actor)? => {
            Some(url.to_string())
        }
        _ => None,
    };
    Ok(Some((
        Me {
            tokens,
            projects,
            mini_app,
            actor,
            language: customer.language,
            customer,
            chat,
        },
        is_new,
    )))
}

/// The survey's view of who is talking.
fn surveyed<'a>(ctx: &Ctx<'_>, me: &'a Me) -> super::csat::Asked<'a> {
    super::csat::Asked {
        org: ctx.org,
        actor: &me.actor,
        language: me.language,
        chat: me.chat,
    }
}

fn today(tx: &Tx<'_>) -> Date {
    Date::of(tx.now())
}

fn example_date(tx: &Tx<'_>) -> Date {
    Date::of(tx.now().plus_millis(14 * 24 * 60 * 60 * 1000))
}

/// A message from a customer in their private chat.
pub(crate) fn on_message(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    from: &User,
    chat: ChatId,
    message: &Message,
    command: Option<&Command>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let Some((me, is_new)) = me(tx, ctx, from, chat)? else {
        return Ok(());
    };
    if is_new {
        // First contact: whatever they wrote reaches the team, then they choose a language
        // (a lead's first question, when there is one, after the choice).
        if me.projects {
            greet_with_language_choice(tx, &me, out)?;
            if command.is_none() {
                chat_input(tx, ctx, &me, message, None, false, out)?;
            }
            return Ok(());
        }
        if command.is_none() {
            chat_input(tx, ctx, &me, message, None, false, out)?;
        }
        greet_with_language_choice(tx, &me, out)?;
        return Ok(());
    }
    let state = dialogue::load(tx, ctx.org, chat)?;
    if let Some(command) = command {
        return on_command(tx, ctx, &me, command, state, out);
    }
    match state {
        Dialogue::Wizard(wizard) => wizard_input(tx, ctx, &me, message, wizard, out),
        Dialogue::Chatting { order } => chat_input(tx, ctx, &me, message, order, false, out),
        Dialogue::CsatComment { order } => {
            let text = message.text();
            if super::csat::on_comment(tx, &surveyed(ctx, &me), order, text, out)? {
                Ok(())
            } else {
                chat_input(tx, ctx, &me, message, None, true, out)
            }
        }
        // A lead's fixed questions: the text is a message to the lead that answers them.
        Dialogue::Form { form } if form == crm_lib::model::FormName::Qualification.code() => {
            chat_input(tx, ctx, &me, message, None, false, out)
        }
        Dialogue::Form { form } => {
            super::forms::on_text(tx, &me.walker(ctx), form, message.text(), out)
        }
        Dialogue::Idle
        | Dialogue::RejectReason { .. }
        | Dialogue::Report(_)
        | Dialogue::Entry(_) => chat_input(tx, ctx, &me, message, None, true, out),
    }
}

fn greet_with_language_choice(tx: &mut Tx<'_>, me: &Me, out: &mut Replies) -> crm_lib::Result<()> {
    let org = crm_lib::org::organization_in(&*tx, &me.actor)?;
    let text = format!(
        "{}\n\n{}",
        tr_with(
            me.language,
            "bot.welcome",
            &[("name", &me.customer.first_name), ("org", &org.name)]
        ),
        choose_language(me.language)
    );
    out.send(me.chat, &text, Some(keyboards::languages()));
    Ok(())
}

fn menu(me: &Me, out: &mut Replies, lead: Option<String>) -> crm_lib::Result<()> {
    let text = match lead {
        Some(lead) => format!("{lead}\n\n{}", tr(me.language, "bot.menu.title")),
        None => tr(me.language, "bot.menu.title"),
    };
    out.send(me.chat, &text, Some(main_menu(me)));
    Ok(())
}

/// The main menu, with the Mini App's button while the customer has a project.
fn main_menu(me: &Me) -> Keyboard {
    let keyboard = keyboards::main_menu(me.language, me.tokens);
    match &me.mini_app {
        Some(url) => super::mini_app::with_button(Some(keyboard), me.language, url),
        None => keyboard,
    }
}

/// The customer's words for the token flows (`bot::tokens`).
fn who<'a>(me: &'a Me) -> super::tokens::Who<'a> {
    super::tokens::Who {
        actor: &me.actor,
        language: me.language,
        chat: me.chat,
    }
}

fn on_command(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    command: &Command,
    state: Dialogue,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match command.name.as_str() {
        "start" | "menu" => {
            dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
            let org = crm_lib::org::organization_in(&*tx, &me.actor)?;
            let welcome = tr_with(
                me.language,
                "bot.welcome",
                &[("name", &me.customer.first_name), ("org", &org.name)],
            );
            menu(me, out, Some(welcome))?;
            // A person on the team may share their phone to link their account.
            super::worker::offer_contact(tx, &me.actor, me.language, me.chat, out)?;
        }
        "help" => out.send(me.chat, &tr(me.language, "bot.help"), None),
        "language" | "lang" => out.send(
            me.chat,
            &choose_language(me.language),
            Some(keyboards::languages()),
        ),
        "neworder" | "new" | "order" => start_wizard(tx, ctx, me, out)?,
        "tokens" | "balance" if me.tokens => {
            super::tokens::balance(tx, &who(me), me.customer.id, None, out)?;
        }
        "orders" | "myorders" => list_orders(tx, me, out)?,
        "register" if me.tokens => {
            super::forms::start(
                tx,
                &me.walker(ctx),
                crm_lib::model::FormName::Registration,
                out,
            )?;
        }
        "profiles" if me.tokens => {
            super::forms::list_profiles(tx, &me.walker(ctx), me.customer.id, out)?;
        }
        "cancel" => match state {
            Dialogue::Form { form } => super::forms::cancel(tx, &me.walker(ctx), form, out)?,
            Dialogue::Wizard(_) => {
                dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
                menu(me, out, Some(tr(me.language, "bot.wizard.cancelled")))?;
            }
            Dialogue::Chatting { .. }
            | Dialogue::RejectReason { .. }
            | Dialogue::CsatComment { .. }
            | Dialogue::Report(_)
            | Dialogue::Entry(_) => {
                dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
                menu(me, out, None)?;
            }
            Dialogue::Idle => out.send(me.chat, &tr(me.language, "bot.nothing_to_cancel"), None),
        },
        other => out.send(
            me.chat,
            &tr_with(
                me.language,
                "bot.unknown_command",
                &[("command", &format!("/{}", clip(other, 32)))],
            ),
            None,
        ),
    }
    Ok(())
}

/// A button press by a customer.
pub(crate) fn on_press(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    from: &User,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let Some((mut me, _)) = me(tx, ctx, from, press.chat)? else {
        return Ok(());
    };
    let stale = |me: &Me, out: &mut Replies| {
        out.answer(
            me.chat,
            press.query_id,
            Some(tr(me.language, "bot.callback.stale")),
            false,
        );
    };
    match press.callback {
        Callback::Language(language) => {
            match tx.set_customer_language(&me.actor, me.customer.id, language) {
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
                Err(_) => {
                    stale(&me, out);
                    return Ok(());
                }
            }
            let changed = me.language != language;
            me.language = language;
            if let Some(message_id) = press.message_id {
                out.drop_keyboard(me.chat, message_id);
            }
            menu(&me, out, Some(tr(language, "bot.language_set")))?;
            if me.projects {
                // A person on the team may share their phone to link their account (the
                // first start asks for the language before anything else).
                super::worker::offer_contact(tx, &me.actor, language, me.chat, out)?;
            }
            if me.projects && changed {
                super::leads::show_questions(tx, &me.walker(ctx), out)?;
            }
        }
        Callback::Menu(MenuItem::NewOrder) => start_wizard(tx, ctx, &me, out)?,
        Callback::Menu(MenuItem::MyOrders) => list_orders(tx, &me, out)?,
        Callback::Menu(MenuItem::Chat) => {
            dialogue::save(tx, ctx.org, me.chat, &Dialogue::Chatting { order: None })?;
            out.send(me.chat, &tr(me.language, "bot.chat.prompt"), None);
        }
        Callback::Menu(MenuItem::Language) => out.send(
            me.chat,
            &choose_language(me.language),
            Some(keyboards::languages()),
        ),
        Callback::Menu(MenuItem::Help) => out.send(me.chat, &tr(me.language, "bot.help"), None),
        Callback::Menu(MenuItem::Register) if me.tokens => {
            out.answer(me.chat, press.query_id, None, false);
            super::forms::start(
                tx,
                &me.walker(ctx),
                crm_lib::model::FormName::Registration,
                out,
            )?;
        }
        Callback::Menu(MenuItem::Profiles) if me.tokens => {
            out.answer(me.chat, press.query_id, None, false);
            super::forms::list_profiles(tx, &me.walker(ctx), me.customer.id, out)?;
        }
        Callback::Menu(MenuItem::Register | MenuItem::Profiles) => stale(&me, out),
        Callback::Form { form, action } => {
            super::forms::on_press(tx, &me.walker(ctx), form, action, press, out)?;
        }
        Callback::Wizard { id, step, action } => {
            let state = dialogue::load(tx, ctx.org, me.chat)?;
            match state {
                Dialogue::Wizard(wizard) if wizard.id == id && wizard.step == step => {
                    if let WizardAction::Toggle(marker) = action {
                        toggle_marker(tx, ctx, &me, wizard, marker, press, out)?;
                    } else {
                        if let Some(message_id) = press.message_id {
                            out.drop_keyboard(me.chat, message_id);
                        }
                        wizard_press(tx, ctx, &me, wizard, action, press, out)?;
                    }
                }
                _ => {
                    stale(&me, out);
                    if let Some(message_id) = press.message_id {
                        out.drop_keyboard(me.chat, message_id);
                    }
                }
            }
        }
        Callback::ViewOrder(id) => view_order(tx, &me, id, press, out)?,
        Callback::AskDelete(id) => {
            match crm_lib::orders::order_in(&*tx, &me.actor, OrderId::new(id)) {
                Ok(order) => {
                    let text = tr_with(
                        me.language,
                        "bot.order.confirm_delete",
                        &[("id", &id), ("title", &order.title)],
                    );
                    show(
                        &me,
                        press,
                        &text,
                        Some(keyboards::confirm_delete(me.language, id)),
                        out,
                    );
                }
                Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
                Err(_) => order_gone(&me, press, out),
            }
        }
        Callback::Delete(id) => match tx.delete_order(&me.actor, OrderId::new(id)) {
            Ok(_) => {
                let text = tr_with(me.language, "bot.order.deleted", &[("id", &id)]);
                show(&me, press, &text, None, out);
            }
            Err(error) => match error.kind() {
                ErrorKind::Storage => return Err(error),
                ErrorKind::Conflict => {
                    let stage = crm_lib::orders::order_in(&*tx, &me.actor, OrderId::new(id))
                        .ok()
                        .and_then(|order| stage_name(tx, &me, order.stage));
                    out.answer(
                        me.chat,
                        press.query_id,
                        Some(tr_with(
                            me.language,
                            "bot.order.cannot_delete",
                            &[("id", &id), ("stage", &stage.unwrap_or_default())],
                        )),
                        true,
                    );
                    view_order(tx, &me, id, press, out)?;
                }
                _ => order_gone(&me, press, out),
            },
        },
        Callback::ChatAbout(id) => {
            match crm_lib::orders::order_in(&*tx, &me.actor, OrderId::new(id)) {
                Ok(_) => {
                    dialogue::save(
                        tx,
                        ctx.org,
                        me.chat,
                        &Dialogue::Chatting { order: Some(id) },
                    )?;
                    out.send(
                        me.chat,
                        &tr_with(me.language, "bot.chat.about_order", &[("id", &id)]),
                        None,
                    );
                }
                Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
                Err(_) => order_gone(&me, press, out),
            }
        }
        Callback::Approve(_)
        | Callback::Reject(_)
        | Callback::RejectDefault(_)
        | Callback::MoveTicket { .. }
        | Callback::Worker(_) => stale(&me, out),
        Callback::Csat { order, action } => {
            super::csat::on_press(tx, &surveyed(ctx, &me), order, action, press, out)?;
        }
        Callback::ChangeRequest {
            project,
            request,
            action,
        } => {
            let decider = super::change_requests::Decider {
                actor: &me.actor,
                language: me.language,
                chat: me.chat,
            };
            super::change_requests::on_press(tx, &decider, (project, request), action, press, out)?;
        }
        Callback::Tokens(pressed) => {
            super::tokens::on_press(tx, &who(&me), me.customer.id, pressed, press, out)?;
        }
        Callback::Department(id) => {
            let department = crm_lib::model::DepartmentId::new(id);
            match tx.choose_department(&me.actor, me.customer.id, department) {
                Ok(_) => {
                    out.answer(me.chat, press.query_id, None, false);
                    if let Some(message_id) = press.message_id {
                        out.drop_keyboard(me.chat, message_id);
                    }
                    out.send(
                        me.chat,
                        &tr(me.language, "operators.bot.department_chosen"),
                        None,
                    );
                }
                Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
                Err(_) => {
                    stale(&me, out);
                    if let Some(message_id) = press.message_id {
                        out.drop_keyboard(me.chat, message_id);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Shows `text` in place of the pressed message when it is still there, else as a new one.
fn show(me: &Me, press: &Press<'_>, text: &str, keyboard: Option<Keyboard>, out: &mut Replies) {
    match (press.message_id, &press.message_text) {
        (Some(message_id), Some(_)) => out.edit_text(me.chat, message_id, text, keyboard),
        _ => out.send(me.chat, text, keyboard),
    }
}

fn order_gone(me: &Me, press: &Press<'_>, out: &mut Replies) {
    out.answer(
        me.chat,
        press.query_id,
        Some(tr(me.language, "bot.order.not_found")),
        false,
    );
    if let Some(message_id) = press.message_id {
        out.drop_keyboard(me.chat, message_id);
    }
}

fn stage_name(tx: &Tx<'_>, me: &Me, stage: crm_lib::model::StageId) -> Option<String> {
    let language = me.language;
    let org = crm_lib::org::organization_in(tx, &me.actor).ok()?;
    org.pipeline
        .stage(stage)
        .map(|stage| stage.name(language).to_string())
}

// ----- the new-order form -----

/// The markers and payment methods the form offers this customer (crm-lib's
/// [`crm_lib::orders::new_order_choices_in`]), read once by each update of the form.
fn form_choices(tx: &Tx<'_>, me: &Me) -> crm_lib::Result<NewOrderChoices> {
    crm_lib::orders::new_order_choices_in(tx, &me.actor)
}

/// Whether the form asks `step` in this organization: the markers and payment steps only when
/// there is something to choose.
fn asked(step: Step, choices: &NewOrderChoices) -> bool {
    match step {
        Step::Markers => !choices.markers.is_empty(),
        Step::PaymentMethod => !choices.payment_methods.is_empty(),
        Step::Fields => !choices.fields.is_empty(),
        _ => true,
    }
}

/// The form's current question's number among the questions asked (1-based), and how many
/// there are: each ticket field of the fields step counts as one.
fn step_number(wizard: &Wizard, choices: &NewOrderChoices) -> (usize, usize) {
    let mut total = 0;
    let mut number = None;
    for step in Step::ALL.into_iter().filter(|step| asked(*step, choices)) {
        let questions = if step == Step::Fields {
            choices.fields.fields.len()
        } else {
            1
        };
        if step == wizard.step {
            let within = if step == Step::Fields {
                wizard.field.min(questions.saturating_sub(1))
            } else {
                0
            };
            number = Some(total + 1 + within);
        }
        total += questions;
    }
    (number.unwrap_or(total), total)
}

/// The ticket field the fields step asks now.
fn current_field<'a>(wizard: &Wizard, choices: &'a NewOrderChoices) -> Option<&'a FieldDef> {
    choices.fields.fields.get(wizard.field)
}

/// The first step asked at or after `step`.
fn settle(step: Step, choices: &NewOrderChoices) -> Step {
    Step::ALL
        .into_iter()
        .skip_while(|other| *other != step)
        .find(|other| asked(*other, choices))
        .unwrap_or(Step::Confirm)
}

/// The step asked after `step`.
fn next_step(step: Step, choices: &NewOrderChoices) -> Step {
    Step::ALL
        .into_iter()
        .skip_while(|other| *other != step)
        .skip(1)
        .find(|other| asked(*other, choices))
        .unwrap_or(Step::Confirm)
}

/// The organization's markers as (id, name in the customer's language).
fn marker_names(choices: &NewOrderChoices, language: Language) -> Vec<(u64, String)> {
    choices
        .markers
        .iter()
        .map(|marker| (marker.id.get(), marker.name.get(language).to_string()))
        .collect()
}

/// The active payment methods as (id, name).
fn method_names(choices: &NewOrderChoices) -> Vec<(u64, String)> {
    choices
        .payment_methods
        .iter()
        .map(|method| (method.id.get(), method.name.clone()))
        .collect()
}

/// The buttons of the form's current step.
fn step_keyboard(
    language: Language,
    wizard: &Wizard,
    choices: &NewOrderChoices,
) -> Option<Keyboard> {
    match wizard.step {
        Step::Markers => Some(keyboards::wizard_markers(
            language,
            wizard.id,
            &marker_names(choices, language),
            &wizard.markers,
        )),
        Step::PaymentMethod => Some(keyboards::wizard_methods(
            language,
            wizard.id,
            &method_names(choices),
        )),
        Step::Fields => {
            let def = current_field(wizard, choices)?;
            let options: Vec<String> = match &def.kind {
                FieldKind::Choice { options } => options
                    .iter()
                    .map(|option| option.label.get(language).to_string())
                    .collect(),
                _ => Vec::new(),
            };
            keyboards::wizard_field(
                language,
                wizard.id,
                u8::try_from(wizard.field).ok()?,
                &options,
                def.kind == FieldKind::Flag,
                !def.required,
            )
        }
        step => keyboards::wizard_step(language, wizard.id, step),
    }
}

fn start_wizard(tx: &mut Tx<'_>, ctx: &Ctx<'_>, me: &Me, out: &mut Replies) -> crm_lib::Result<()> {
    if me.projects {
        // A lead starts with what the customer writes (`bot::leads`), not with a form.
        dialogue::save(tx, ctx.org, me.chat, &Dialogue::Chatting { order: None })?;
        out.send(me.chat, &tr(me.language, "leads.bot.describe"), None);
        return Ok(());
    }
    match crm_lib::orders::check_new_order_allowed_in(&*tx, &me.actor) {
        // The token service orders a package: its own flow, all buttons.
        Ok(()) if me.tokens => {
            dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
            super::tokens::start(tx, &who(me), me.customer.id, None, out)
        }
        Ok(()) => {
            let choices = form_choices(tx, me)?;
            let wizard = Wizard::new(ctx.update_id);
            prompt(tx, me, &wizard, &choices, None, out)?;
            dialogue::save(tx, ctx.org, me.chat, &Dialogue::Wizard(wizard))
        }
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::Conflict => limit_reached(tx, me, out),
            _ => {
                generic(me, &error, out);
                Ok(())
            }
        },
    }
}

fn limit_reached(tx: &mut Tx<'_>, me: &Me, out: &mut Replies) -> crm_lib::Result<()> {
    let org = crm_lib::org::organization_in(&*tx, &me.actor)?;
    out.send(
        me.chat,
        &tr_with(
            me.language,
            "bot.order.limit",
            &[("limit", &org.settings.open_order_limit)],
        ),
        Some(main_menu(me)),
    );
    Ok(())
}

fn generic(me: &Me, error: &crm_lib::Error, out: &mut Replies) {
    out.send(
        me.chat,
        &tr_with(
            me.language,
            "bot.error.generic",
            &[("message", &error.message())],
        ),
        None,
    );
}

/// The summary's lines for the choice steps this organization asks: the chosen markers by
/// name and the preferred payment method.
fn chosen_lines(wizard: &Wizard, choices: &NewOrderChoices, language: Language) -> String {
    let mut lines = String::new();
    if asked(Step::Markers, choices) {
        let names: Vec<&str> = wizard
            .markers
            .iter()
            .filter_map(|chosen| {
                choices
                    .markers
                    .iter()
                    .find(|marker| marker.id.get() == *chosen)
                    .map(|marker| marker.name.get(language))
            })
            .collect();
        let markers = if names.is_empty() {
            tr(language, "bot.wizard.none_chosen")
        } else {
            names.join(", ")
        };
        lines.push('\n');
        lines.push_str(&tr_with(
            language,
            "bot.wizard.summary_markers",
            &[("markers", &markers)],
        ));
    }
    for def in &choices.fields.fields {
        let value = wizard
            .fields
            .get(&def.key)
            .and_then(|answer| def.parse_answer(answer).ok())
            .map_or_else(
                || tr(language, "bot.wizard.not_set"),
                |value| value.display(Some(def), language, ""),
            );
        lines.push('\n');
        lines.push_str(def.name.get(language));
        lines.push_str(": ");
        lines.push_str(&value);
    }
    if asked(Step::PaymentMethod, choices) {
        let method = wizard
            .payment_method
            .and_then(|chosen| {
                choices
                    .payment_methods
                    .iter()
                    .find(|method| method.id.get() == chosen)
            })
            .map_or_else(
                || tr(language, "bot.wizard.not_set"),
                |method| method.name.clone(),
            );
        lines.push('\n');
        lines.push_str(&tr_with(
            language,
            "bot.wizard.summary_payment",
            &[("method", &method)],
        ));
    }
    lines
}

/// Sends the prompt of the form's current step, after `lead` (an error explanation).
fn prompt(
    tx: &Tx<'_>,
    me: &Me,
    wizard: &Wizard,
    choices: &NewOrderChoices,
    lead: Option<String>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = me.language;
    let (number, total) = step_number(wizard, choices);
    let at = |key: &str, values: &[(&str, &dyn std::fmt::Display)]| {
        let mut all: Vec<(&str, &dyn std::fmt::Display)> =
            vec![("step", &number), ("total", &total)];
        all.extend_from_slice(values);
        tr_with(language, key, &all)
    };
    let text = match wizard.step {
        Step::Title => at("bot.wizard.title", &[]),
        Step::Description => at("bot.wizard.description", &[]),
        Step::Budget => {
            let org = crm_lib::org::organization_in(tx, &me.actor)?;
            at("bot.wizard.budget", &[("currency", &org.settings.currency)])
        }
        Step::Deadline => at("bot.wizard.deadline", &[("example", &example_date(tx))]),
        Step::Attachments => at("bot.wizard.attachments", &[("max", &FORM_FILES_MAX)]),
        Step::Markers => at("bot.wizard.markers", &[]),
        Step::PaymentMethod => at("bot.wizard.payment_method", &[]),
        Step::Fields => match current_field(wizard, choices) {
            Some(def) => {
                let key = if def.required {
                    "tickets.bot.field"
                } else {
                    "tickets.bot.field_optional"
                };
                at(
                    key,
                    &[
                        ("name", &def.name.get(language)),
                        ("expect", &def.expectation(language)),
                    ],
                )
            }
            None => tr(language, "bot.wizard.use_buttons"),
        },
        Step::Confirm => {
            let org = crm_lib::org::organization_in(tx, &me.actor)?;
            let not_set = tr(language, "bot.wizard.not_set");
            let budget = wizard
                .budget
                .as_deref()
                .and_then(|budget| crm_lib::model::Money::parse("budget", budget).ok())
                .map(|budget| money(budget, &org.settings.currency, language))
                .unwrap_or_else(|| not_set.clone());
            at(
                "bot.wizard.summary",
                &[
                    ("title", &wizard.title),
                    ("description", &clip(&wizard.description, 1500)),
                    ("budget", &budget),
                    ("deadline", &wizard.deadline.clone().unwrap_or(not_set)),
                    ("files", &wizard.attachments.len()),
                    ("choices", &chosen_lines(wizard, choices, language)),
                ],
            )
        }
    };
    let text = match lead {
        Some(lead) => format!("{lead}\n\n{text}"),
        None => text,
    };
    out.send(me.chat, &text, step_keyboard(language, wizard, choices));
    Ok(())
}

fn field_of(step: Step) -> Option<OrderField> {
    match step {
        Step::Title => Some(OrderField::Title),
        Step::Description => Some(OrderField::Description),
        Step::Budget => Some(OrderField::Budget),
        Step::Deadline => Some(OrderField::Deadline),
        Step::Attachments | Step::Markers | Step::PaymentMethod | Step::Fields | Step::Confirm => {
            None
        }
    }
}

/// The explanation of a bad value at `step`.
fn field_error(tx: &Tx<'_>, language: Language, step: Step) -> String {
    match step {
        Step::Title => tr(language, "bot.error.title"),
        Step::Description => tr(language, "bot.error.description"),
        Step::Budget => tr(language, "bot.error.budget"),
        Step::Deadline => tr_with(
            language,
            "bot.error.deadline",
            &[("example", &example_date(tx))],
        ),
        Step::Markers => tr(language, "bot.error.markers"),
        Step::PaymentMethod => tr(language, "bot.error.payment_method"),
        Step::Fields => tr(language, "tickets.bot.fields_again"),
        Step::Attachments | Step::Confirm => tr(language, "bot.error.attachments"),
    }
}

fn wizard_input(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    message: &Message,
    mut wizard: Wizard,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = me.language;
    let choices = form_choices(tx, me)?;
    match wizard.step {
        Step::Title | Step::Description | Step::Budget | Step::Deadline => {
            let Some(text) = message.text() else {
                return prompt(
                    tx,
                    me,
                    &wizard,
                    &choices,
                    Some(tr(language, "bot.wizard.need_text")),
                    out,
                );
            };
            let text = text.trim();
            let optional = matches!(wizard.step, Step::Budget | Step::Deadline);
            if optional && is_skip(text) {
                return advance(tx, ctx, me, wizard, &choices, out);
            }
            let Some(field) = field_of(wizard.step) else {
                return Ok(());
            };
            match crm_lib::orders::check_order_field(field, text, Some(today(tx))) {
                Ok(()) => {
                    match wizard.step {
                        Step::Title => wizard.title = text.to_string(),
                        Step::Description => wizard.description = text.to_string(),
                        Step::Budget => wizard.budget = Some(text.to_string()),
                        _ => wizard.deadline = Some(text.to_string()),
                    }
                    advance(tx, ctx, me, wizard, &choices, out)
                }
                Err(error) if error.kind() == ErrorKind::InvalidInput => {
                    let lead = field_error(tx, language, wizard.step);
                    prompt(tx, me, &wizard, &choices, Some(lead), out)
                }
                Err(error) => Err(error),
            }
        }
        Step::Attachments => {
            let mut failed = false;
            let mut added = false;
            for file in ctx.files {
                match file {
                    Prepared::Stored(attachment) => {
                        let hex = attachment.media.to_hex();
                        if wizard.attachments.len() < FORM_FILES_MAX
                            && !wizard.attachments.iter().any(|draft| draft.media == hex)
                        {
                            wizard.attachments.push(DraftFile {
                                media: hex,
                                kind: attachment.kind,
                            });
                            added = true;
                        }
                    }
                    Prepared::Failed => failed = true,
                }
            }
            let buttons = keyboards::wizard_step(language, wizard.id, wizard.step);
            if failed {
                out.send(me.chat, &tr(language, "bot.file_failed"), None);
            }
            if added {
                let key = if wizard.attachments.len() >= FORM_FILES_MAX {
                    "bot.wizard.attachments_full"
                } else {
                    "bot.wizard.attachment_received"
                };
                out.send(
                    me.chat,
                    &tr_with(
                        language,
                        key,
                        &[
                            ("count", &wizard.attachments.len()),
                            ("max", &FORM_FILES_MAX),
                        ],
                    ),
                    buttons,
                );
                dialogue::save(tx, ctx.org, me.chat, &Dialogue::Wizard(wizard))
            } else {
                if !failed {
                    out.send(me.chat, &tr(language, "bot.wizard.need_file"), buttons);
                }
                Ok(())
            }
        }
        Step::Markers | Step::PaymentMethod => {
            // Skip typed, or a step the organization no longer asks (its last marker deleted,
            // its last method switched off while the form waited): on to the next step.
            if message.text().is_some_and(is_skip) || !asked(wizard.step, &choices) {
                return skip_choice(tx, ctx, me, wizard, &choices, out);
            }
            let lead = if wizard.step == Step::Markers {
                "bot.wizard.markers_use_buttons"
            } else {
                "bot.wizard.payment_use_buttons"
            };
            prompt(tx, me, &wizard, &choices, Some(tr(language, lead)), out)
        }
        Step::Fields => {
            let Some(def) = current_field(&wizard, &choices) else {
                // The organization's fields changed while the form waited: on to the summary.
                return next_field(tx, ctx, me, wizard, &choices, out);
            };
            let Some(text) = message.text() else {
                return prompt(
                    tx,
                    me,
                    &wizard,
                    &choices,
                    Some(tr(language, "bot.wizard.need_text")),
                    out,
                );
            };
            // A flag reads "no" as its answer, not as Skip.
            let parsed = def.parse_answer(text);
            let skipped = if def.kind == FieldKind::Flag {
                parsed.is_err() && is_skip(text)
            } else {
                is_skip(text)
            };
            if !def.required && skipped {
                wizard.fields.remove(&def.key);
                return next_field(tx, ctx, me, wizard, &choices, out);
            }
            // crm-lib's one parser decides; the refusal is explained in the customer's
            // language by what the field expects.
            match parsed {
                Ok(value) => {
                    wizard.fields.insert(def.key.clone(), value.to_answer());
                    next_field(tx, ctx, me, wizard, &choices, out)
                }
                Err(error) if error.kind() == ErrorKind::InvalidInput => {
                    let lead = tr_with(
                        language,
                        "tickets.bot.field_invalid",
                        &[("expect", &def.expectation(language))],
                    );
                    prompt(tx, me, &wizard, &choices, Some(lead), out)
                }
                Err(error) => Err(error),
            }
        }
        Step::Confirm => {
            out.send(
                me.chat,
                &tr(language, "bot.wizard.use_buttons"),
                keyboards::wizard_step(language, wizard.id, wizard.step),
            );
            Ok(())
        }
    }
}

/// The fields step answered its current field: the next field, or the step after the fields.
fn next_field(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    mut wizard: Wizard,
    choices: &NewOrderChoices,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    wizard.field += 1;
    if wizard.field < choices.fields.fields.len() {
        prompt(tx, me, &wizard, choices, None, out)?;
        return dialogue::save(tx, ctx.org, me.chat, &Dialogue::Wizard(wizard));
    }
    advance(tx, ctx, me, wizard, choices, out)
}

/// Whether typed text means Skip.
fn is_skip(text: &str) -> bool {
    SKIP_WORDS.contains(&text.trim().to_lowercase().as_str())
}

/// Moves the form to the step after its current one that this organization asks, and asks it.
fn advance(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    mut wizard: Wizard,
    choices: &NewOrderChoices,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    wizard.step = next_step(wizard.step, choices);
    if wizard.step == Step::Fields {
        wizard.field = 0;
    }
    prompt(tx, me, &wizard, choices, None, out)?;
    dialogue::save(tx, ctx.org, me.chat, &Dialogue::Wizard(wizard))
}

/// Skip at the markers or payment step: nothing chosen there.
fn skip_choice(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    mut wizard: Wizard,
    choices: &NewOrderChoices,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match wizard.step {
        Step::Markers => wizard.markers.clear(),
        Step::PaymentMethod => wizard.payment_method = None,
        _ => {}
    }
    advance(tx, ctx, me, wizard, choices, out)
}

/// A marker pressed at the markers step: chosen or unchosen, and the keyboard redrawn in place
/// (a new prompt when the pressed message is out of reach). A marker that is not one of the
/// organization's gets a notice: one deleted since it was chosen is dropped from the choice,
/// any other id changes nothing (not even the buttons: Telegram refuses an edit that changes
/// nothing). When the organization has no markers left the step is passed.
fn toggle_marker(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    mut wizard: Wizard,
    marker: u64,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let choices = form_choices(tx, me)?;
    let exists = choices.markers.iter().any(|known| known.id.get() == marker);
    let chosen = wizard.markers.iter().position(|chosen| *chosen == marker);
    if !exists {
        out.answer(
            me.chat,
            press.query_id,
            Some(tr(me.language, "bot.wizard.marker_gone")),
            false,
        );
    }
    match chosen {
        Some(at) => {
            wizard.markers.remove(at);
        }
        None if exists => wizard.markers.push(marker),
        None if asked(Step::Markers, &choices) => return Ok(()),
        None => {}
    }
    if !asked(Step::Markers, &choices) {
        if let Some(message_id) = press.message_id {
            out.drop_keyboard(me.chat, message_id);
        }
        return advance(tx, ctx, me, wizard, &choices, out);
    }
    match press.message_id {
        Some(message_id) => out.set_buttons(
            me.chat,
            message_id,
            keyboards::wizard_markers(
                me.language,
                wizard.id,
                &marker_names(&choices, me.language),
                &wizard.markers,
            ),
        ),
        None => prompt(tx, me, &wizard, &choices, None, out)?,
    }
    dialogue::save(tx, ctx.org, me.chat, &Dialogue::Wizard(wizard))
}

/// Any other button of the form's current step (its keyboard is already removed).
fn wizard_press(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    mut wizard: Wizard,
    action: WizardAction,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let choices = form_choices(tx, me)?;
    match (wizard.step, action) {
        (Step::Budget, WizardAction::Skip) => {
            wizard.budget = None;
            advance(tx, ctx, me, wizard, &choices, out)
        }
        (Step::Deadline, WizardAction::Skip) => {
            wizard.deadline = None;
            advance(tx, ctx, me, wizard, &choices, out)
        }
        (Step::Attachments, WizardAction::Skip) => {
            wizard.attachments.clear();
            advance(tx, ctx, me, wizard, &choices, out)
        }
        (Step::Markers | Step::PaymentMethod, WizardAction::Skip) => {
            skip_choice(tx, ctx, me, wizard, &choices, out)
        }
        (Step::Attachments | Step::Markers, WizardAction::Done) => {
            advance(tx, ctx, me, wizard, &choices, out)
        }
        (Step::PaymentMethod, WizardAction::Pick(method)) => {
            if choices
                .payment_methods
                .iter()
                .any(|known| known.id.get() == method)
            {
                wizard.payment_method = Some(method);
                return advance(tx, ctx, me, wizard, &choices, out);
            }
            // Switched off since the buttons were drawn: ask again with the methods of now.
            out.answer(
                me.chat,
                press.query_id,
                Some(tr(me.language, "bot.wizard.method_gone")),
                false,
            );
            wizard.step = settle(Step::PaymentMethod, &choices);
            prompt(tx, me, &wizard, &choices, None, out)?;
            dialogue::save(tx, ctx.org, me.chat, &Dialogue::Wizard(wizard))
        }
        (Step::Fields, WizardAction::Choose { field, option })
            if usize::from(field) == wizard.field =>
        {
            let Some(def) = current_field(&wizard, &choices) else {
                return next_field(tx, ctx, me, wizard, &choices, out);
            };
            let answer = match &def.kind {
                FieldKind::Flag => Some(if option == 0 { "yes" } else { "no" }.to_string()),
                FieldKind::Choice { options } => options
                    .get(usize::from(option))
                    .map(|option| option.key.clone()),
                _ => None,
            };
            match answer.map(|answer| def.parse_answer(&answer)) {
                Some(Ok(value)) => {
                    wizard.fields.insert(def.key.clone(), value.to_answer());
                    next_field(tx, ctx, me, wizard, &choices, out)
                }
                _ => prompt(tx, me, &wizard, &choices, None, out),
            }
        }
        (Step::Fields, WizardAction::SkipField(field)) if usize::from(field) == wizard.field => {
            match current_field(&wizard, &choices) {
                Some(def) if def.required => prompt(tx, me, &wizard, &choices, None, out),
                Some(def) => {
                    let key = def.key.clone();
                    wizard.fields.remove(&key);
                    next_field(tx, ctx, me, wizard, &choices, out)
                }
                None => next_field(tx, ctx, me, wizard, &choices, out),
            }
        }
        (Step::Confirm, WizardAction::Cancel) => {
            dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
            menu(me, out, Some(tr(me.language, "bot.wizard.cancelled")))?;
            Ok(())
        }
        (Step::Confirm, WizardAction::Confirm) => create(tx, ctx, me, wizard, &choices, out),
        _ => prompt(tx, me, &wizard, &choices, None, out),
    }
}

fn create(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    mut wizard: Wizard,
    choices: &NewOrderChoices,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    // The form checked each answer at its step; they are parsed again here, and a mistake
    // that slipped through meets the same error path as the order itself.
    let typed = (|| {
        Ok::<_, crm_lib::Error>(NewOrder {
            title: wizard.title.clone(),
            description: wizard.description.clone(),
            budget: typed_money("budget", wizard.budget.as_deref().unwrap_or(""))?,
            deadline: typed_date("deadline", wizard.deadline.as_deref().unwrap_or(""))?,
            attachments: wizard.media(),
            markers: wizard.markers.iter().copied().map(MarkerId::new).collect(),
            preferred_payment_method: wizard.payment_method.map(PaymentMethodId::new),
            custom_fields: choices.fields.parse_answers(
                wizard
                    .fields
                    .iter()
                    .map(|(key, answer)| (key.as_str(), answer.as_str())),
            )?,
            ..NewOrder::default()
        })
    })();
    match typed.and_then(|request| tx.create_order(&me.actor, request)) {
        Ok(order) => {
            dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
            let created = tr_with(
                me.language,
                "bot.wizard.created",
                &[("id", &order.id), ("title", &order.title)],
            );
            menu(me, out, Some(created))?;
            Ok(())
        }
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::Conflict => {
                dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
                limit_reached(tx, me, out)
            }
            ErrorKind::InvalidInput | ErrorKind::NotFound => {
                let step = match error.field() {
                    Some("title") => Step::Title,
                    Some("description") => Step::Description,
                    Some("budget") => Step::Budget,
                    Some("deadline") => Step::Deadline,
                    Some("markers") => {
                        wizard.markers.clear();
                        Step::Markers
                    }
                    Some("preferred_payment_method") => {
                        wizard.payment_method = None;
                        Step::PaymentMethod
                    }
                    Some("fields") => {
                        wizard.field = 0;
                        Step::Fields
                    }
                    _ => {
                        wizard.attachments.clear();
                        Step::Attachments
                    }
                };
                let lead = field_error(tx, me.language, step);
                // A choice step the organization no longer asks (its last marker deleted, its
                // last method switched off) passes to the next one.
                wizard.step = settle(step, choices);
                prompt(tx, me, &wizard, choices, Some(lead), out)?;
                dialogue::save(tx, ctx.org, me.chat, &Dialogue::Wizard(wizard))
            }
            _ => {
                dialogue::save(tx, ctx.org, me.chat, &Dialogue::Idle)?;
                generic(me, &error, out);
                Ok(())
            }
        },
    }
}

// ----- my orders -----

fn list_orders(tx: &mut Tx<'_>, me: &Me, out: &mut Replies) -> crm_lib::Result<()> {
    let orders =
        crm_lib::orders::list_orders_in(&*tx, &me.actor, &OrderFilter::default(), Page::first(10))?;
    if orders.items.is_empty() {
        out.send(
            me.chat,
            &tr(me.language, "bot.orders.empty"),
            Some(keyboards::main_menu(me.language, me.tokens)),
        );
        return Ok(());
    }
    let org = crm_lib::org::organization_in(&*tx, &me.actor)?;
    let mut lines = vec![tr(me.language, "bot.orders.title")];
    let mut buttons = Vec::new();
    for order in &orders.items {
        let stage = org
            .pipeline
            .stage(order.stage)
            .map(|stage| stage.name(me.language).to_string())
            .unwrap_or_default();
        lines.push(tr_with(
            me.language,
            "bot.orders.line",
            &[
                ("id", &order.id),
                ("title", &clip(&order.title, 60)),
                ("stage", &stage),
            ],
        ));
        buttons.push((
            order.id.get(),
            format!("#{} {}", order.id, clip(&order.title, 40)),
        ));
    }
    out.send(
        me.chat,
        &lines.join("\n"),
        Some(keyboards::orders_list(&buttons)),
    );
    Ok(())
}

fn view_order(
    tx: &mut Tx<'_>,
    me: &Me,
    id: u64,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let order = match crm_lib::orders::order_in(&*tx, &me.actor, OrderId::new(id)) {
        Ok(order) => order,
        Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
        Err(_) => {
            order_gone(me, press, out);
            return Ok(());
        }
    };
    let org = crm_lib::org::organization_in(&*tx, &me.actor)?;
    let stage = org.pipeline.stage(order.stage);
    let not_set = tr(me.language, "bot.wizard.not_set");
    let currency = &org.settings.currency;
    let mut text = tr_with(
        me.language,
        "bot.order.details",
        &[
            ("id", &order.id),
            ("title", &order.title),
            (
                "stage",
                &stage
                    .map(|stage| stage.name(me.language))
                    .unwrap_or_default(),
            ),
            (
                "budget",
                &order
                    .budget
                    .map(|budget| money(budget, currency, me.language))
                    .unwrap_or_else(|| not_set.clone()),
            ),
            (
                "deadline",
                &order
                    .deadline
                    .map(|deadline| deadline.to_string())
                    .unwrap_or_else(|| not_set.clone()),
            ),
            ("files", &order.attachments.len()),
        ],
    );
    if let Some(price) = order.price {
        text.push('\n');
        text.push_str(&tr_with(
            me.language,
            "bot.order.price",
            &[("price", &money(price, currency, me.language))],
        ));
    }
    if let Some(reason) = &order.rejection_reason {
        text.push('\n');
        text.push_str(&tr_with(
            me.language,
            "bot.order.rejection",
            &[("reason", reason)],
        ));
    }
    text.push_str("\n\n");
    text.push_str(&clip(&order.description, 3000));
    let deletable = stage.is_some_and(|stage| stage.customer_deletable);
    let mut rerun = false;
    if let Some((lines, may_rerun)) = super::tokens::order_lines(tx, &who(me), order.id)? {
        text.push_str("\n\n");
        text.push_str(&lines);
        rerun = may_rerun;
    }
    show(
        me,
        press,
        &text,
        Some(keyboards::order_details(me.language, id, deletable, rerun)),
        out,
    );
    Ok(())
}

// ----- chat with the team -----

/// What a message carries besides text and files, in crm-lib's terms: a venue (checked
/// before its location, which Telegram sets too), location, contact, sticker, dice or poll.
pub(crate) fn content_of(message: &Message) -> Option<MessageContent> {
    if let Some(venue) = message.venue() {
        return Some(MessageContent::Venue {
            latitude: venue.location.latitude,
            longitude: venue.location.longitude,
            title: venue.title.clone(),
            address: venue.address.clone(),
        });
    }
    if let Some(location) = message.location() {
        return Some(MessageContent::Location {
            latitude: location.latitude,
            longitude: location.longitude,
        });
    }
    if let Some(contact) = message.contact() {
        return Some(MessageContent::Contact {
            phone: contact.phone_number.clone(),
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
        });
    }
    if let Some(sticker) = message.sticker() {
        return Some(MessageContent::Sticker {
            emoji: sticker.emoji.clone(),
            animated: !sticker.is_static(),
        });
    }
    if let Some(dice) = message.dice() {
        let emoji = serde_json::to_value(dice.emoji)
            .ok()
            .and_then(|emoji| emoji.as_str().map(str::to_string))
            .unwrap_or_else(|| "🎲".to_string());
        return Some(MessageContent::Dice {
            emoji,
            value: dice.value,
        });
    }
    if let Some(poll) = message.poll() {
        return Some(MessageContent::Poll {
            question: poll.question.clone(),
            options: poll
                .options
                .iter()
                .map(|option| option.text.clone())
                .collect(),
        });
    }
    None
}

/// A customer edited a message in Telegram (`edited_message`): crm-lib keeps the earlier
/// text. Nothing is answered; an edit of a message the appliance does not hold (a command,
/// a form answer) or one that no longer passes the checks is ignored.
pub(crate) fn on_edited(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    telegram: crm_lib::model::TelegramUserId,
    message: &Message,
) -> crm_lib::Result<()> {
    let Some(customer) = tx.system().customer_by_telegram(ctx.org, telegram)? else {
        return Ok(());
    };
    let text = message
        .text()
        .or_else(|| message.caption())
        .unwrap_or("")
        .to_string();
    let edit = crm_lib::chat::InboundEdit {
        customer: customer.id,
        telegram_message_id: i64::from(message.id.0),
        text,
        content: content_of(message),
    };
    let actor = Actor::customer(ctx.org, customer.id);
    match tx.edit_inbound(&actor, edit) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == ErrorKind::Storage => Err(error),
        Err(_) => Ok(()),
    }
}

fn chat_input(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    me: &Me,
    message: &Message,
    order: Option<u64>,
    acknowledge: bool,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let text = message
        .text()
        .or_else(|| message.caption())
        .unwrap_or("")
        .to_string();
    let mut attachments = Vec::new();
    let mut failed = false;
    for file in ctx.files {
        match file {
            Prepared::Stored(attachment) => attachments.push(attachment.clone()),
            Prepared::Failed => failed = true,
        }
    }
    let content = content_of(message);
    // A sticker whose picture could not be fetched still arrives (its emoji): nothing to
    // send again.
    let sticker = matches!(content, Some(MessageContent::Sticker { .. }));
    if failed && !sticker {
        out.send(me.chat, &tr(me.language, "bot.file_failed"), None);
    }
    if text.trim().is_empty() && attachments.is_empty() && content.is_none() {
        if !failed {
            out.send(me.chat, &tr(me.language, "bot.chat.unsupported"), None);
        }
        return Ok(());
    }
    let about = match order {
        Some(order) => OrderChoice::Chosen(OrderId::new(order)),
        None => OrderChoice::Current,
    };
    let inbound = InboundMessage {
        customer: me.customer.id,
        about,
        text,
        attachments,
        telegram_message_id: Some(i64::from(message.id.0)),
        content,
        reply_to_telegram: message
            .reply_to_message()
            .map(|quoted| i64::from(quoted.id.0)),
        media_group: message.media_group_id().map(|group| group.0.clone()),
    };
    if me.projects {
        // The projects module: the message goes to the customer's lead.
        return super::leads::post(tx, &me.walker(ctx), inbound, acknowledge, out);
    }
    let posted = tx.post_inbound(&me.actor, inbound);
    match posted {
        Ok(message) => {
            // The operators module: a customer of an organization with several departments
            // chooses where the conversation goes before it opens.
            let choices =
                crm_lib::operators::department_choices_in(&*tx, &me.actor, me.customer.id)?;
            if !choices.is_empty() {
                out.send(
                    me.chat,
                    &tr(me.language, "operators.bot.choose_department"),
                    Some(keyboards::departments(&choices)),
                );
            }
            if acknowledge {
                dialogue::save(
                    tx,
                    ctx.org,
                    me.chat,
                    &Dialogue::Chatting {
                        order: message.order.map(|order| order.get()),
                    },
                )?;
                out.send(me.chat, &tr(me.language, "bot.chat.sent"), None);
            }
            Ok(())
        }
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::InvalidInput => {
                out.send(me.chat, &tr(me.language, "bot.chat.unsupported"), None);
                Ok(())
            }
            _ => {
                generic(me, &error, out);
                Ok(())
            }
        },
    }
}
