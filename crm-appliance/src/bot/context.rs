//! What the bot's flows share while one update is handled: the context (`Ctx`: organization,
//! update id, the bot's username, the message's files fetched before the transaction), the
//! replies collected for the outbox (`Replies`), a parsed command, a button press, and the
//! Telegram user read as crm-lib's types.

use crm_lib::{
    Tx,
    customers::TelegramProfile,
    model::{Attachment, BotReply, ChatId, Keyboard, Language, OrgId, TelegramUserId},
};
use teloxide::types::User;

use super::keyboards::Callback;
use super::text::{TEXT_MAX_UTF16, clip, fit};

/// A file of the message being handled, fetched before its transaction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Prepared {
    /// Stored in the media store.
    Stored(Attachment),
    /// Could not be fetched (too large, gone, or the Bot API kept failing).
    Failed,
}

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
    /// The client Mini App's address, when the bot may offer it (`bot::mini_app`).
    pub(crate) mini_app_url: Option<&'a str>,
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

    /// The answer to a pre-checkout query (Stars): go ahead, or the reason.
    pub(crate) fn answer_pre_checkout(
        &mut self,
        chat: ChatId,
        query_id: &str,
        refusal: Option<String>,
    ) {
        self.replies.push((
            chat,
            BotReply::AnswerPreCheckout {
                query_id: query_id.to_string(),
                ok: refusal.is_none(),
                error_message: refusal,
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
                text: text.map(|text| clip(&text, 200)),
                alert,
            },
        ));
    }

    /// Whether the callback query already has its answer.
    pub(crate) fn answered(&self) -> bool {
        self.answer.is_some()
    }

    /// Queues everything in `tx`.
    pub(super) fn flush(self, tx: &mut Tx<'_>, org: OrgId) -> crm_lib::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
