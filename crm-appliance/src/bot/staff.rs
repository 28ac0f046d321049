//! The staff side of the bot: Approve / Reject under a new-order notification (acting as the
//! linked staff user, with that user's permissions, checked by crm-lib), the reason for a
//! rejection as a dialogue step, the stage buttons under a master's ticket notification (the
//! tickets module: crm-lib's move use case decides), and a short reminder of what the bot
//! does for staff.
//!
//! A press from an old notification (the order was already moderated, deleted, or the user
//! lost the permission) gets a polite callback answer and writes nothing, because crm-lib's
//! use cases check everything before they write.

use crm_lib::{
    ErrorKind, Tx,
    model::{Actor, ChatId, Language, OperatorStatus, OrderId, StageId, User},
};
use teloxide::types::Message;

use super::context::{Command, Ctx, Press, Replies};
use super::dialogue::{self, Dialogue};
use super::keyboards::{self, Callback};
use super::render::{tr, tr_with};

/// A message from a linked staff user in their private chat.
pub(crate) fn on_message(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    message: &Message,
    command: Option<&Command>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    if command.is_none() && super::staff_chat::on_reply(tx, ctx, user, chat, message, out)? {
        return Ok(());
    }
    let state = dialogue::load(tx, ctx.org, chat)?;
    if let Some(command) = command {
        if operator_command(tx, ctx, user, chat, &command.name, out)? {
            return Ok(());
        }
        if super::worker::on_message(tx, ctx, user, chat, message, Some(command), &state, out)? {
            return Ok(());
        }
        if command.name == "cancel" {
            match state {
                Dialogue::Idle => out.send(chat, &tr(language, "bot.nothing_to_cancel"), None),
                _ => {
                    dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
                    out.send(chat, &tr(language, "bot.staff.cancelled"), None);
                }
            }
        } else {
            info(user, chat, out);
        }
        return Ok(());
    }
    match state {
        Dialogue::RejectReason { order } => match message.text() {
            Some(reason) if !reason.trim().is_empty() => {
                reject(tx, ctx, user, chat, order, reason, out)
            }
            _ => {
                out.send(chat, &tr(language, "bot.staff.reason_invalid"), None);
                Ok(())
            }
        },
        _ => {
            if !super::worker::on_message(tx, ctx, user, chat, message, None, &state, out)? {
                info(user, chat, out);
            }
            Ok(())
        }
    }
}

/// `/online`, `/away`, `/offline` and `/status` of the operators module: sets or shows the
/// linked staff user's operator status through crm-lib. Returns whether the command was one
/// of them in an organization with the module on (otherwise the caller shows its help).
fn operator_command(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    name: &str,
    out: &mut Replies,
) -> crm_lib::Result<bool> {
    let language = user.language;
    let actor = Actor::staff(ctx.org, user.id);
    let result = match name {
        "online" => tx.set_operator_status(&actor, user.id, OperatorStatus::Online),
        "away" => tx.set_operator_status(&actor, user.id, OperatorStatus::Away),
        "offline" => tx.set_operator_status(&actor, user.id, OperatorStatus::Offline),
        "status" => crm_lib::operators::operator_state_in(&*tx, &actor, user.id),
        _ => return Ok(false),
    };
    match result {
        Ok(state) => {
            let load = crm_lib::operators::operators_in(&*tx, &actor)?
                .into_iter()
                .find(|row| row.user == user.id)
                .map_or(0, |row| row.load);
            let status = tr(
                language,
                &format!(
                    "operators.status.{}",
                    crm_lib::operators::status_word(state.status)
                ),
            );
            let key = if name == "status" {
                "operators.bot.status_is"
            } else {
                "operators.bot.status_set"
            };
            out.send(
                chat,
                &tr_with(language, key, &[("status", &status), ("load", &load)]),
                None,
            );
            Ok(true)
        }
        Err(error) if error.kind() == ErrorKind::Storage => Err(error),
        // The module is off: these commands do not exist here.
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
        Err(error) => {
            out.send(
                chat,
                &tr_with(
                    language,
                    "bot.error.generic",
                    &[("message", &error.message())],
                ),
                None,
            );
            Ok(true)
        }
    }
}

fn info(user: &User, chat: ChatId, out: &mut Replies) {
    out.send(
        chat,
        &tr_with(
            user.language,
            "bot.staff.info",
            &[("name", &user.display_name)],
        ),
        None,
    );
}

/// "You lack this permission" for a refused moderation step, naming the permission the error
/// names (`moderate_orders` when it names none).
fn no_permission(language: Language, error: &crm_lib::Error) -> String {
    tr_with(
        language,
        "bot.staff.no_permission",
        &[(
            "permission",
            &error
                .permission()
                .map(|permission| permission.as_str())
                .unwrap_or("moderate_orders"),
        )],
    )
}

/// Answers a refused moderation press in words and removes the stale buttons.
fn refused(user: &User, press: &Press<'_>, order: u64, error: &crm_lib::Error, out: &mut Replies) {
    let language = user.language;
    let text = match error.kind() {
        ErrorKind::PermissionDenied => no_permission(language, error),
        ErrorKind::Conflict => tr_with(language, "bot.staff.not_pending", &[("id", &order)]),
        ErrorKind::NotFound => tr(language, "bot.order.not_found"),
        _ => tr_with(
            language,
            "bot.error.generic",
            &[("message", &error.message())],
        ),
    };
    out.answer(press.chat, press.query_id, Some(text), true);
    if error.kind() != ErrorKind::PermissionDenied
        && let Some(message_id) = press.message_id
    {
        out.drop_keyboard(press.chat, message_id);
    }
}

/// A moderation button pressed by a linked staff user.
pub(crate) fn on_press(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let actor = Actor::staff(ctx.org, user.id);
    let language = user.language;
    match press.callback {
        Callback::Approve(id) => match tx.approve_order(&actor, OrderId::new(id)) {
            Ok(_) => {
                let stamp = tr_with(
                    language,
                    "bot.staff.approved",
                    &[("name", &user.display_name)],
                );
                out.answer(press.chat, press.query_id, Some(stamp.clone()), false);
                match (press.message_id, &press.message_text) {
                    (Some(message_id), Some(text)) => {
                        out.edit_text(press.chat, message_id, &format!("{text}\n\n{stamp}"), None);
                    }
                    (Some(message_id), None) => out.drop_keyboard(press.chat, message_id),
                    _ => {}
                }
            }
            Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
            Err(error) => refused(user, press, id, &error, out),
        },
        Callback::Reject(id) => {
            // Ask for the reason only when crm-lib offers this user the rejection: the order is
            // visible to them and still waiting.
            match crm_lib::orders::order_in(&*tx, &actor, OrderId::new(id)) {
                Ok(order) => {
                    let actions = crm_lib::capabilities::order_actions_in(&*tx, &actor, order.id)?;
                    if !actions.reject {
                        let error = crm_lib::Error::conflict(format!("order {id} is not waiting"));
                        refused(user, press, id, &error, out);
                        return Ok(());
                    }
                    dialogue::save(
                        tx,
                        ctx.org,
                        press.chat,
                        &Dialogue::RejectReason { order: id },
                    )?;
                    out.send(
                        press.chat,
                        &tr_with(
                            language,
                            "bot.staff.reject_prompt",
                            &[("id", &id), ("title", &order.title)],
                        ),
                        Some(keyboards::reject_reason(language, id)),
                    );
                }
                Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
                Err(error) => refused(user, press, id, &error, out),
            }
        }
        Callback::MoveTicket { order, stage } => {
            move_ticket(tx, &actor, user, press, order, stage, out)?;
        }
        Callback::RejectDefault(id) => {
            if let Some(message_id) = press.message_id {
                out.drop_keyboard(press.chat, message_id);
            }
            // The reason is shown to the customer: the organization's language.
            let org = crm_lib::org::organization_in(&*tx, &actor)?;
            let reason = tr(org.settings.locale, "bot.staff.default_reason");
            reject(tx, ctx, user, press.chat, id, &reason, out)?;
        }
        _ => out.answer(
            press.chat,
            press.query_id,
            Some(tr(language, "bot.callback.stale")),
            false,
        ),
    }
    Ok(())
}

/// A master's press of a stage button under a ticket's notification: crm-lib's move use case
/// decides; the message gets a stamp and the buttons of the moves allowed from the new stage.
fn move_ticket(
    tx: &mut Tx<'_>,
    actor: &Actor,
    user: &User,
    press: &Press<'_>,
    order: u64,
    stage: u16,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = user.language;
    let order_id = OrderId::new(order);
    match tx.move_order(actor, order_id, StageId::new(stage)) {
        Ok(moved) => {
            let org = crm_lib::org::organization_in(&*tx, actor)?;
            let stage_name = org
                .pipeline
                .stage(moved.stage)
                .map(|stage| stage.name(language).to_string())
                .unwrap_or_default();
            let stamp = tr_with(
                language,
                "tickets.bot.moved",
                &[
                    ("id", &order),
                    ("stage", &stage_name),
                    ("name", &user.display_name),
                ],
            );
            out.answer(press.chat, press.query_id, Some(stamp.clone()), false);
            let actions = crm_lib::capabilities::order_actions_in(&*tx, actor, order_id)?;
            let moves: Vec<(u16, String)> = actions
                .moves
                .iter()
                .filter_map(|id| org.pipeline.stage(*id))
                .map(|stage| (stage.id.get(), stage.name(language).to_string()))
                .collect();
            if let Some(message_id) = press.message_id {
                let text = press
                    .message_text
                    .as_deref()
                    .map_or_else(|| stamp.clone(), |text| format!("{text}\n\n{stamp}"));
                out.edit_text(
                    press.chat,
                    message_id,
                    &text,
                    keyboards::ticket_moves(order, &moves),
                );
            }
            Ok(())
        }
        Err(error) if error.kind() == ErrorKind::Storage => Err(error),
        Err(error) => {
            let text = match error.kind() {
                ErrorKind::PermissionDenied => no_permission(language, &error),
                ErrorKind::NotFound => tr(language, "bot.order.not_found"),
                _ => tr_with(
                    language,
                    "tickets.bot.move_refused",
                    &[("id", &order), ("message", &error.message())],
                ),
            };
            out.answer(press.chat, press.query_id, Some(text), true);
            Ok(())
        }
    }
}

fn reject(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    order: u64,
    reason: &str,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let actor = Actor::staff(ctx.org, user.id);
    let language = user.language;
    match tx.reject_order(&actor, OrderId::new(order), reason) {
        Ok(rejected) => {
            dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
            out.send(
                chat,
                &tr_with(
                    language,
                    "bot.staff.rejected",
                    &[("id", &order), ("title", &rejected.title)],
                ),
                None,
            );
            Ok(())
        }
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::InvalidInput => {
                out.send(chat, &tr(language, "bot.staff.reason_invalid"), None);
                Ok(())
            }
            ErrorKind::PermissionDenied => {
                dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
                out.send(chat, &no_permission(language, &error), None);
                Ok(())
            }
            ErrorKind::Conflict => {
                dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
                out.send(
                    chat,
                    &tr_with(language, "bot.staff.not_pending", &[("id", &order)]),
                    None,
                );
                Ok(())
            }
            _ => {
                dialogue::save(tx, ctx.org, chat, &Dialogue::Idle)?;
                out.send(chat, &tr(language, "bot.order.not_found"), None);
                Ok(())
            }
        },
    }
}
