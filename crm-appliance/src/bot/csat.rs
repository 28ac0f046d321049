//! The customer's side of the satisfaction survey: a press of 1-5 stars records the rating
//! (crm-lib's [`crm_lib::Tx::rate_order`]: once; a second press is answered "already
//! counted"), then the bot asks for an optional comment with a Skip button
//! ([`Dialogue::CsatComment`]); the next text is the comment ([`crm_lib::Tx::comment_rating`]).
//! The survey itself is queued by crm-lib and rendered by `render::notification`.

use crm_lib::{
    ErrorKind, Tx,
    model::{Actor, ChatId, Language, OrderId, OrgId},
};

use super::context::{Press, Replies};
use super::dialogue::{self, Dialogue};
use super::keyboards::{self, CsatAction};
use super::render::{tr, tr_with};

/// Words that skip the comment when typed instead of pressing Skip.
const SKIP_WORDS: &[&str] = &["skip", "-", "пропустить", "нет", "no"];

/// Who answers: the customer's actor, language and chat.
pub(crate) struct Asked<'a> {
    pub(crate) org: OrgId,
    pub(crate) actor: &'a Actor,
    pub(crate) language: Language,
    pub(crate) chat: ChatId,
}

/// A press of a survey button.
pub(crate) fn on_press(
    tx: &mut Tx<'_>,
    who: &Asked<'_>,
    order: u64,
    action: CsatAction,
    press: &Press<'_>,
    out: &mut Replies,
) -> crm_lib::Result<()> {
    match action {
        CsatAction::Rate(stars) => match tx.rate_order(who.actor, OrderId::new(order), stars) {
            Ok(_) => {
                out.answer(
                    who.chat,
                    press.query_id,
                    Some(tr(who.language, "csat.bot.thanks_short")),
                    false,
                );
                let rated = tr_with(
                    who.language,
                    "csat.bot.rated",
                    &[("id", &order), ("stars", &"★".repeat(usize::from(stars)))],
                );
                match (press.message_id, &press.message_text) {
                    (Some(message_id), Some(_)) => {
                        out.edit_text(who.chat, message_id, &rated, None);
                    }
                    (Some(message_id), None) => out.drop_keyboard(who.chat, message_id),
                    _ => {}
                }
                dialogue::save(tx, who.org, who.chat, &Dialogue::CsatComment { order })?;
                out.send(
                    who.chat,
                    &tr(who.language, "csat.bot.comment_prompt"),
                    Some(keyboards::csat_skip(who.language, order)),
                );
            }
            Err(error) => {
                let key = match error.kind() {
                    ErrorKind::Storage => return Err(error),
                    ErrorKind::Conflict => "csat.bot.already",
                    _ => "bot.callback.stale",
                };
                out.answer(who.chat, press.query_id, Some(tr(who.language, key)), false);
                if let Some(message_id) = press.message_id {
                    out.drop_keyboard(who.chat, message_id);
                }
            }
        },
        CsatAction::Skip => {
            if dialogue::load(tx, who.org, who.chat)? == (Dialogue::CsatComment { order }) {
                dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
                out.answer(who.chat, press.query_id, None, false);
                out.send(who.chat, &tr(who.language, "csat.bot.thanks"), None);
            } else {
                out.answer(
                    who.chat,
                    press.query_id,
                    Some(tr(who.language, "bot.callback.stale")),
                    false,
                );
            }
            if let Some(message_id) = press.message_id {
                out.drop_keyboard(who.chat, message_id);
            }
        }
    }
    Ok(())
}

/// A text while the comment is asked: a skip word ends the survey, anything else is the
/// comment. Returns `false` when the message is no comment (no text, or the survey no longer
/// takes one), so the caller handles it as a chat message.
pub(crate) fn on_comment(
    tx: &mut Tx<'_>,
    who: &Asked<'_>,
    order: u64,
    text: Option<&str>,
    out: &mut Replies,
) -> crm_lib::Result<bool> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(false);
    };
    if SKIP_WORDS
        .iter()
        .any(|word| text.eq_ignore_ascii_case(word) || text.to_lowercase() == *word)
    {
        dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
        out.send(who.chat, &tr(who.language, "csat.bot.thanks"), None);
        return Ok(true);
    }
    match tx.comment_rating(who.actor, OrderId::new(order), text) {
        Ok(_) => {
            dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
            out.send(who.chat, &tr(who.language, "csat.bot.thanks"), None);
            Ok(true)
        }
        Err(error) => match error.kind() {
            ErrorKind::Storage => Err(error),
            ErrorKind::InvalidInput => {
                out.send(
                    who.chat,
                    &tr_with(
                        who.language,
                        "csat.bot.comment_too_long",
                        &[("max", &crm_lib::csat::COMMENT_MAX_CHARS)],
                    ),
                    Some(keyboards::csat_skip(who.language, order)),
                );
                Ok(true)
            }
            _ => {
                dialogue::save(tx, who.org, who.chat, &Dialogue::Idle)?;
                Ok(false)
            }
        },
    }
}
