//! Staff working from Telegram (issue 12), the bot's half: a linked staff user's reply to a
//! notice of a customer's message answers that customer; the staff supergroup is linked with
//! `/link CODE` sent in it; a staff message in a customer's forum topic goes to the customer
//! (or stays a private note when it starts with `/note`); and the forum's outbox items
//! (`createForumTopic`, `closeForumTopic`, `reopenForumTopic`, messages mirrored with
//! `message_thread_id`) become Bot API calls.
//!
//! Every rule is crm-lib's (`crm_lib::staff_chat`): these functions parse, make one call,
//! and tell the person what the error kind means. A staff message's file (photo, document,
//! voice, video, video note, audio, sticker) was fetched and stored before the transaction
//! (`processor::prepare_files`, when crm-lib's `staff_message_to_customer` says it goes to a
//! customer) and goes with the text or caption; a location, contact, poll or dice from staff is
//! answered with a short explanation.

use crm_lib::{
    ErrorKind, Tx,
    model::{Actor, Attachment, ChatId, Language, User},
    staff_chat::TopicPost,
};
use teloxide::types::{ChatKind, ChatPublic, Message, PublicChatKind, PublicChatSupergroup};

use super::context::{Ctx, Prepared, Replies, parse_command, telegram_id};
use super::render::{tr, tr_with};

/// A linked staff user's message in their private chat that replies to one of the bot's
/// messages: when that message is a notice, the reply goes to its customer. Returns whether
/// it was handled (`false`: no notice, the usual staff flow goes on).
///
/// # Errors
/// Storage only.
pub(crate) fn on_reply(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    user: &User,
    chat: ChatId,
    message: &Message,
    out: &mut Replies,
) -> crm_lib::Result<bool> {
    let Some(replied) = message.reply_to_message() else {
        return Ok(false);
    };
    let language = user.language;
    let actor = Actor::staff(ctx.org, user.id);
    let replied_id = i64::from(replied.id.0);
    if crm_lib::staff_chat::notice_of_user_in(&*tx, ctx.org, chat, replied_id, user.id)?.is_none() {
        // Not a notice of this user's: not a reply to a customer.
        return Ok(false);
    }
    let (text, attachments) = match content(message, ctx) {
        Ok(content) => content,
        Err(key) => {
            out.send(chat, &tr(language, key), None);
            return Ok(true);
        }
    };
    match tx.reply_to_notice(&actor, chat, replied_id, text, attachments) {
        Ok(_) => Ok(true),
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::PermissionDenied => {
                out.send(chat, &tr(language, "staffgram.denied"), None);
                Ok(true)
            }
            _ => {
                out.send(
                    chat,
                    &tr_with(
                        language,
                        "staffgram.not_sent",
                        &[("reason", &error.to_string())],
                    ),
                    None,
                );
                Ok(true)
            }
        },
    }
}

/// A message in a group or supergroup: `/link CODE` links the staff group; in the linked
/// group, a linked staff user's message in a customer's topic is sent to the customer (or
/// kept as a note). Everything else is ignored, as is every other group.
///
/// # Errors
/// Storage only.
pub(crate) fn on_group_message(
    tx: &mut Tx<'_>,
    ctx: &Ctx<'_>,
    message: &Message,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    let Some(from) = message.from.as_ref().filter(|from| !from.is_bot) else {
        return Ok(());
    };
    let Some(telegram) = telegram_id(from) else {
        return Ok(());
    };
    let chat = ChatId::new(message.chat.id.0);
    let group = tx.system().staff_group(ctx.org)?;
    let org_language = Language::default();
    let staff = tx.system().user_by_telegram(ctx.org, telegram)?;
    let language = staff.as_ref().map_or(org_language, |user| user.language);
    let command = message
        .text()
        .and_then(|text| parse_command(text, ctx.bot_username));
    if let Some(command) = command.as_ref().filter(|command| command.name == "link") {
        let title = message.chat.title().unwrap_or_default();
        match tx.system().link_staff_group(
            ctx.org,
            &command.args,
            chat,
            title,
            is_forum(&message.chat),
        ) {
            Ok(_) => out.send(chat, &tr(language, "staffgram.group.linked"), None),
            Err(error) if error.kind() == ErrorKind::Storage => return Err(error),
            Err(error) => {
                let key = if error.to_string().contains("topics") {
                    "staffgram.group.not_forum"
                } else {
                    "staffgram.group.invalid"
                };
                out.send(chat, &tr(language, key), None);
            }
        }
        return Ok(());
    }
    if group.active_chat() != Some(chat) {
        return Ok(());
    }
    let Some(thread) = message.thread_id.filter(|_| message.is_topic_message) else {
        return Ok(());
    };
    let thread = i64::from(thread.0.0);
    if crm_lib::staff_chat::topic_customer_in(&*tx, ctx.org, chat, thread)?.is_none() {
        // A topic staff made themselves: not a customer's.
        return Ok(());
    }
    let say = |tx: &mut Tx<'_>, key: &str, args: &[(&str, &dyn std::fmt::Display)]| {
        tx.system()
            .forum_say(ctx.org, chat, thread, &tr_with(language, key, args))
    };
    let Some(user) = staff else {
        return say(tx, "staffgram.topic.not_linked", &[]);
    };
    let (text, attachments) = match content(message, ctx) {
        Ok(content) => content,
        Err(key) => return say(tx, key, &[]),
    };
    let actor = Actor::staff(ctx.org, user.id);
    match tx.post_in_topic(&actor, chat, thread, text, attachments) {
        Ok(TopicPost::Sent(_)) => Ok(()),
        Ok(TopicPost::Note(_)) => say(tx, "staffgram.topic.noted", &[]),
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::PermissionDenied => say(tx, "staffgram.denied", &[]),
            _ => say(tx, "staffgram.not_sent", &[("reason", &error.to_string())]),
        },
    }
}

/// What a staff message sends: its text or caption and its file, fetched before the
/// transaction. `Err` names the message that tells staff why nothing was sent: a file that
/// could not be fetched (too large for the Bot API, or Telegram kept failing), or a kind that
/// is not sent from Telegram (location, contact, poll, dice).
fn content(message: &Message, ctx: &Ctx<'_>) -> Result<(String, Vec<Attachment>), &'static str> {
    let mut attachments = Vec::new();
    for file in ctx.files {
        match file {
            Prepared::Stored(attachment) => attachments.push(attachment.clone()),
            Prepared::Failed => return Err("staffgram.file_failed"),
        }
    }
    let text = message
        .text()
        .or_else(|| message.caption())
        .unwrap_or_default()
        .to_string();
    if text.trim().is_empty() && attachments.is_empty() {
        return Err("staffgram.unsupported");
    }
    Ok((text, attachments))
}

/// Whether a chat is a supergroup with topics turned on.
fn is_forum(chat: &teloxide::types::Chat) -> bool {
    matches!(
        &chat.kind,
        ChatKind::Public(ChatPublic {
            kind: PublicChatKind::Supergroup(PublicChatSupergroup { is_forum: true, .. }),
            ..
        })
    )
}
