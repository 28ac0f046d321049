//! Handling one update inside the write transaction that also marks it done: parse, route to
//! the customer or staff flow, collect the replies, queue them as outbox bot calls, finish.
//!
//! Every function here takes the update's `Tx`. crm-lib use cases write nothing when they return
//! a business error, so a flow matches on the error kind, tells the person, and the update still
//! finishes in the same transaction; only a storage error (`?`) rolls everything back and
//! leaves the update pending for another try.
//!
//! A customer's edited message updates the message in place (crm-lib keeps the earlier text).
//!
//! What is ignored (finished without effects): updates from channels, from groups other than
//! the staff group (issue 12, `staff_chat.rs`),
//! staff's edited messages, inline queries, payments, join requests, business messages, messages from
//! other bots, and update kinds this version does not know.

use crm_lib::{
    ErrorKind, Tx,
    model::{ChatId, TelegramUserId},
};
use teloxide::types::{CallbackQuery, ChatMemberUpdated, Message, Update, UpdateKind, User};

use super::context::{Ctx, Press, Replies, guess_language, parse_command, telegram_id};
use super::keyboards::Callback;
use super::render::tr;
use super::{customer, dialogue, staff, worker};

/// Handles `update` in `tx` and marks it done. Storage errors roll back (the update stays
/// pending); everything else is answered or ignored.
///
/// # Errors
/// Storage only.
pub(crate) fn handle(tx: &mut Tx<'_>, ctx: &Ctx<'_>, update: &Update) -> crm_lib::Result<()> {
    let mut out = Replies::default();
    match &update.kind {
        UpdateKind::Message(message) => on_message(tx, ctx, message, &mut out)?,
        UpdateKind::EditedMessage(message) => on_edited_message(tx, ctx, message)?,
        UpdateKind::CallbackQuery(query) => on_callback(tx, ctx, query, &mut out)?,
        UpdateKind::MyChatMember(member) => on_my_chat_member(tx, ctx, member)?,
        UpdateKind::PreCheckoutQuery(query) => {
            super::tokens::on_pre_checkout(tx, ctx, query, &mut out)?
        }
        _ => {}
    }
    out.flush(tx, ctx.org)?;
    tx.system().finish_update(ctx.org, ctx.update_id)
}

fn on_message(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    message: &Message,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    if message.chat.is_group() || message.chat.is_supergroup() {
        // The staff group (issue 12); every other group is ignored there.
        return super::staff_chat::on_group_message(tx, ctx, message, out);
    }
    if !message.chat.is_private() {
        return Ok(());
    }
    let Some(from) = message.from.as_ref().filter(|from| !from.is_bot) else {
        return Ok(());
    };
    let Some(telegram) = telegram_id(from) else {
        return Ok(());
    };
    let chat = ChatId::new(message.chat.id.0);
    if let Some(payment) = message.successful_payment() {
        return super::tokens::on_successful_payment(tx, ctx, telegram, chat, payment, out);
    }
    let command = message
        .text()
        .and_then(|text| parse_command(text, ctx.bot_username));
    if let Some(command) = &command {
        let link_code = match command.name.as_str() {
            "link" => Some(command.args.clone()),
            "start" => command.args.strip_prefix("link-").map(str::to_string),
            _ => None,
        };
        if let Some(code) = link_code {
            return link(tx, ctx, from, telegram, chat, &code, out);
        }
    }
    if let Some(user) = tx.system().user_by_telegram(ctx.org, telegram)? {
        return staff::on_message(tx, ctx, &user, chat, message, command.as_ref(), out);
    }
    if let Some(contact) = message.contact() {
        // A person on the team sharing their phone (the projects module, `bot::worker`).
        let language = match tx.system().customer_by_telegram(ctx.org, telegram)? {
            Some(customer) => customer.language,
            None => guess_language(from),
        };
        if worker::on_contact(tx, ctx, language, telegram, chat, contact, out)? {
            return Ok(());
        }
    }
    customer::on_message(tx, ctx, from, chat, message, command.as_ref(), out)
}

/// A private message edited by a customer (staff edits in the staff chat are ignored).
fn on_edited_message(tx: &mut Tx<'_>, ctx: &Ctx<'_>, message: &Message) -> crm_lib::Result<()> {
    if !message.chat.is_private() {
        return Ok(());
    }
    let Some(from) = message.from.as_ref().filter(|from| !from.is_bot) else {
        return Ok(());
    };
    let Some(telegram) = telegram_id(from) else {
        return Ok(());
    };
    if tx.system().user_by_telegram(ctx.org, telegram)?.is_some() {
        return Ok(());
    }
    customer::on_edited(tx, ctx, telegram, message)
}

/// `/link CODE` (or the deep link `/start link-CODE`): links a staff user's Telegram account.
/// crm-lib queues the confirmation itself (a `StaffLinked` notification).
fn link(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    from: &User,
    telegram: TelegramUserId,
    chat: ChatId,
    code: &str,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let language = match tx.system().customer_by_telegram(ctx.org, telegram)? {
        Some(customer) => customer.language,
        None => guess_language(from),
    };
    let code = code.trim();
    if code.is_empty() {
        out.send(chat, &tr(language, "bot.link.usage"), None);
        return Ok(());
    }
    match tx.system().redeem_link_code(ctx.org, code, telegram) {
        Ok(_) => dialogue::save(tx, ctx.org, chat, &dialogue::Dialogue::Idle),
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::Conflict => {
                out.send(chat, &tr(language, "bot.link.taken"), None);
                Ok(())
            }
            _ => {
                out.send(chat, &tr(language, "bot.link.invalid"), None);
                Ok(())
            }
        },
    }
}

fn on_callback(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    query: &CallbackQuery,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let from = &query.from;
    let Some(telegram) = telegram_id(from) else {
        return Ok(());
    };
    // Answers go to the presser's private chat (the query is answered by id anyway).
    let chat = ChatId::from(telegram);
    let callback = query.data.as_deref().and_then(Callback::parse);
    let in_private_chat = query
        .message
        .as_ref()
        .is_none_or(|message| message.chat().is_private());
    let language = match tx.system().customer_by_telegram(ctx.org, telegram)? {
        Some(customer) => customer.language,
        None => guess_language(from),
    };
    let (Some(callback), true) = (callback, in_private_chat) else {
        out.answer(
            chat,
            &query.id.0,
            Some(tr(language, "bot.callback.stale")),
            false,
        );
        return Ok(());
    };
    let message_id = query
        .message
        .as_ref()
        .map(|message| i64::from(message.id().0));
    let message_text = query
        .message
        .as_ref()
        .and_then(|message| message.regular_message())
        .and_then(|message| message.text())
        .map(str::to_string);
    let press = Press {
        query_id: &query.id.0,
        chat,
        message_id,
        message_text,
        callback,
    };
    let staff_user = tx.system().user_by_telegram(ctx.org, telegram)?;
    match (callback, staff_user) {
        (
            Callback::Approve(_)
            | Callback::Reject(_)
            | Callback::RejectDefault(_)
            | Callback::MoveTicket { .. },
            Some(user),
        ) => {
            staff::on_press(tx, ctx, &user, &press, out)?;
        }
        (
            Callback::Approve(_)
            | Callback::Reject(_)
            | Callback::RejectDefault(_)
            | Callback::MoveTicket { .. },
            None,
        ) => {
            out.answer(
                chat,
                press.query_id,
                Some(tr(language, "bot.staff.not_linked")),
                true,
            );
        }
        (Callback::Worker(pressed), Some(user)) => {
            worker::on_press(tx, ctx, &user, &press, pressed, out)?;
        }
        (_, Some(user)) => {
            out.answer(
                chat,
                press.query_id,
                Some(super::render::tr_with(
                    user.language,
                    "bot.staff.info",
                    &[("name", &user.display_name)],
                )),
                true,
            );
        }
        (_, None) => customer::on_press(tx, ctx, from, &press, out)?,
    }
    if !out.answered() {
        out.answer(chat, press.query_id, None, false);
    }
    Ok(())
}

/// The bot was blocked (`kicked`) or unblocked in a private chat: the customer becomes
/// unreachable or reachable, so no notification is attempted while they block the bot.
fn on_my_chat_member(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    member: &ChatMemberUpdated,
) -> crm_lib::Result<()> {
    if !member.chat.is_private() {
        return Ok(());
    }
    let Some(telegram) = telegram_id(&member.from) else {
        return Ok(());
    };
    let Some(customer) = tx.system().customer_by_telegram(ctx.org, telegram)? else {
        return Ok(());
    };
    let kind = &member.new_chat_member.kind;
    if kind.is_banned() {
        tx.system()
            .set_customer_reachable(ctx.org, customer.id, false)?;
    } else if kind.is_present() {
        tx.system()
            .set_customer_reachable(ctx.org, customer.id, true)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_parses_as_a_teloxide_update() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/telegram");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let update: Result<Update, _> = serde_json::from_str(&text);
                assert!(update.is_ok(), "{}: {:?}", path.display(), update.err());
                seen += 1;
            }
        }
        assert!(seen >= 15, "{seen} fixtures");
    }
}
