//! Handling one update inside the write transaction that also marks it done: parse, route to
//! the customer or staff flow, collect the replies, queue them as outbox bot calls, finish.
//!
//! Every function here takes the update's `Tx`. crm-lib use cases write nothing when they return
//! a business error, so a flow matches on the error kind, tells the person, and the update still
//! finishes in the same transaction; only a storage error (`?`) rolls everything back and
//! leaves the update pending for another try.
//!
//! What is ignored (finished without effects): updates from groups, supergroups and channels,
//! edited messages, inline queries, payments, join requests, business messages, messages from
//! other bots, and update kinds this version does not know.

use crm_lib::{
    ErrorKind, Tx,
    customers::TelegramProfile,
    model::{BotReply, ChatId, Keyboard, Language, OrgId, TelegramUserId},
};
use teloxide::types::{CallbackQuery, ChatMemberUpdated, Message, Update, UpdateKind, User};

use super::keyboards::Callback;
use super::processor::Prepared;
use super::render::{TEXT_MAX_UTF16, fit, tr};
use super::{customer, dialogue, staff};

/// What a handler knows besides the update.
pub(crate) struct Ctx<'a> {
    /// The organization served.
    pub(crate) org: OrgId,
    /// The update being handled (also the id of a form it starts).
    pub(crate) update_id: u64,
    /// The bot's username, when known (commands addressed `/cmd@other_bot` are not ours).
    pub(crate) bot_username: Option<&'a str>,
    /// The files of the message, downloaded and stored before the transaction.
    pub(crate) files: &'a [Prepared],
}

/// The replies an update causes, queued in the outbox when the handler is done: the answer to
/// a button press first (so the button's spinner stops before anything else is delivered),
/// then the rest in the order they were made.
#[derive(Default)]
pub(crate) struct Replies {
    answer: Option<(ChatId, BotReply)>,
    replies: Vec<(ChatId, BotReply)>,
}

impl Replies {
    /// A text message, optionally with inline buttons.
    pub(crate) fn send(&mut self, chat: ChatId, text: &str, keyboard: Option<Keyboard>) {
        self.replies.push((
            chat,
            BotReply::Text {
                text: fit(text, TEXT_MAX_UTF16),
                keyboard,
            },
        ));
    }

    /// Replaces a message's text (and its buttons; none removes them).
    pub(crate) fn edit_text(
        &mut self,
        chat: ChatId,
        message_id: i64,
        text: &str,
        keyboard: Option<Keyboard>,
    ) {
        self.replies.push((
            chat,
            BotReply::Edit {
                message_id,
                text: fit(text, TEXT_MAX_UTF16),
                keyboard,
            },
        ));
    }

    /// Removes a message's buttons (a pressed form step, a used picker).
    pub(crate) fn drop_keyboard(&mut self, chat: ChatId, message_id: i64) {
        self.replies
            .push((chat, BotReply::RemoveButtons { message_id }));
    }

    /// Replaces a message's buttons, keeping its text (a choice toggled in place).
    pub(crate) fn set_buttons(&mut self, chat: ChatId, message_id: i64, keyboard: Keyboard) {
        self.replies.push((
            chat,
            BotReply::SetButtons {
                message_id,
                keyboard,
            },
        ));
    }

    /// The answer to the callback query being handled (one per query).
    pub(crate) fn answer(
        &mut self,
        chat: ChatId,
        query_id: &str,
        text: Option<String>,
        alert: bool,
    ) {
        self.answer = Some((
            chat,
            BotReply::AnswerPress {
                query_id: query_id.to_string(),
                text: text.map(|text| super::render::clip(&text, 200)),
                alert,
            },
        ));
    }

    /// Whether the callback query already has its answer.
    pub(crate) fn answered(&self) -> bool {
        self.answer.is_some()
    }

    /// Queues everything in `tx`.
    fn flush(self, tx: &mut Tx<'_>, org: OrgId) -> crm_lib::Result<()> {
        let mut system = tx.system();
        for (chat, reply) in self.answer.into_iter().chain(self.replies) {
            system.reply(org, chat, reply)?;
        }
        Ok(())
    }
}

/// A command in a message: `/name@bot args`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// Lower-case name without the slash.
    pub(crate) name: String,
    /// The rest of the text, trimmed.
    pub(crate) args: String,
}

/// Parses a command; `None` for plain text and for commands addressed to another bot.
pub(crate) fn parse_command(text: &str, bot_username: Option<&str>) -> Option<Command> {
    let text = text.trim_start();
    let rest = text.strip_prefix('/')?;
    let (head, args) = match rest.find(char::is_whitespace) {
        Some(at) => (&rest[..at], rest[at..].trim()),
        None => (rest, ""),
    };
    let (name, addressee) = match head.split_once('@') {
        Some((name, addressee)) => (name, Some(addressee)),
        None => (head, None),
    };
    if let (Some(addressee), Some(me)) = (addressee, bot_username)
        && !addressee.eq_ignore_ascii_case(me)
    {
        return None;
    }
    if name.is_empty() || name.len() > 32 {
        return None;
    }
    Some(Command {
        name: name.to_ascii_lowercase(),
        args: args.to_string(),
    })
}

/// The Telegram user as crm-lib's profile.
pub(crate) fn profile(user: &User) -> Option<TelegramProfile> {
    Some(TelegramProfile {
        telegram_id: telegram_id(user)?,
        username: user.username.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        language_code: user.language_code.clone(),
    })
}

/// The user's id as crm-lib's type (`None` past i64, which Telegram never sends).
pub(crate) fn telegram_id(user: &User) -> Option<TelegramUserId> {
    i64::try_from(user.id.0).ok().map(TelegramUserId::new)
}

/// The language to answer someone the store does not know yet.
pub(crate) fn guess_language(user: &User) -> Language {
    user.language_code
        .as_deref()
        .map(Language::from_code)
        .unwrap_or_default()
}

/// Handles `update` in `tx` and marks it done. Storage errors roll back (the update stays
/// pending); everything else is answered or ignored.
///
/// # Errors
/// Storage only.
pub(crate) fn handle(tx: &mut Tx<'_>, ctx: &Ctx<'_>, update: &Update) -> crm_lib::Result<()> {
    let mut out = Replies::default();
    match &update.kind {
        UpdateKind::Message(message) => on_message(tx, ctx, message, &mut out)?,
        UpdateKind::CallbackQuery(query) => on_callback(tx, ctx, query, &mut out)?,
        UpdateKind::MyChatMember(member) => on_my_chat_member(tx, ctx, member)?,
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
    customer::on_message(tx, ctx, from, chat, message, command.as_ref(), out)
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
        (Callback::Approve(_) | Callback::Reject(_) | Callback::RejectDefault(_), Some(user)) => {
            staff::on_press(tx, ctx, &user, &press, out)?;
        }
        (Callback::Approve(_) | Callback::Reject(_) | Callback::RejectDefault(_), None) => {
            out.answer(
                chat,
                press.query_id,
                Some(tr(language, "bot.staff.not_linked")),
                true,
            );
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

/// A button press, as the flows need it.
pub(crate) struct Press<'a> {
    /// The callback query id, for the answer.
    pub(crate) query_id: &'a str,
    /// The presser's private chat.
    pub(crate) chat: ChatId,
    /// The message the button was on, when Telegram says (also for inaccessible messages).
    pub(crate) message_id: Option<i64>,
    /// That message's text, when it is still accessible.
    pub(crate) message_text: Option<String>,
    /// What the button asks for.
    pub(crate) callback: Callback,
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

    #[test]
    fn commands_are_parsed_with_and_without_the_bot_name() {
        let bot = Some("crm_sandbox_bot");
        assert_eq!(
            parse_command("/start link-ABCD2345", bot),
            Some(Command {
                name: "start".into(),
                args: "link-ABCD2345".into()
            })
        );
        assert_eq!(
            parse_command("/Orders@crm_sandbox_bot", bot).map(|c| c.name),
            Some("orders".into())
        );
        assert_eq!(parse_command("/start@other_bot", bot), None);
        assert_eq!(parse_command("hello /start", bot), None);
        assert_eq!(parse_command("/", bot), None);
    }
}
