//! The checks of a message's [`MessageContent`] (issue 12): Telegram's limits for each kind,
//! and which kinds staff may send.

use crate::model::*;
use crate::{Error, Result};

/// The longest venue title or address, contact name or dice emoji kept, in characters.
const NAME_MAX_CHARS: usize = 256;
/// The longest phone number of a contact, in characters.
const PHONE_MAX_CHARS: usize = 32;
/// The longest poll question, in characters (Telegram: 300).
const QUESTION_MAX_CHARS: usize = 300;
/// The most poll options kept (Telegram: 12), and the longest option (Telegram: 100).
const OPTIONS_MAX: usize = 12;
const OPTION_MAX_CHARS: usize = 100;

/// Trims `text`, drops control characters and keeps at most `max` characters: what Telegram
/// delivered is kept rather than refused.
fn kept(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(max)
        .collect()
}

fn coordinates(latitude: f64, longitude: f64) -> Result<()> {
    if !latitude.is_finite() || !(-90.0..=90.0).contains(&latitude) {
        return Err(Error::invalid(
            "latitude",
            format!("must be a number from -90 to 90 (got {latitude})"),
        ));
    }
    if !longitude.is_finite() || !(-180.0..=180.0).contains(&longitude) {
        return Err(Error::invalid(
            "longitude",
            format!("must be a number from -180 to 180 (got {longitude})"),
        ));
    }
    Ok(())
}

/// Checks and tidies a message's content: coordinates within -90..=90 and -180..=180 degrees
/// (WGS 84, as the Bot API's `Location`); texts without control characters, trimmed to
/// Telegram's limits (title, address and names 256 characters, phone 32, poll question 300,
/// at most 12 options of 100); a contact has a phone number and a first name; a dice value
/// is 1 to 64.
///
/// # Errors
/// Invalid input on `latitude`, `longitude`, `phone`, `first_name`, `value` or `question`.
pub fn check_content(content: MessageContent) -> Result<MessageContent> {
    Ok(match content {
        MessageContent::Location {
            latitude,
            longitude,
        } => {
            coordinates(latitude, longitude)?;
            MessageContent::Location {
                latitude,
                longitude,
            }
        }
        MessageContent::Venue {
            latitude,
            longitude,
            title,
            address,
        } => {
            coordinates(latitude, longitude)?;
            MessageContent::Venue {
                latitude,
                longitude,
                title: kept(&title, NAME_MAX_CHARS),
                address: kept(&address, NAME_MAX_CHARS),
            }
        }
        MessageContent::Contact {
            phone,
            first_name,
            last_name,
        } => {
            let phone = kept(&phone, PHONE_MAX_CHARS);
            if phone.is_empty()
                || !phone
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
            {
                return Err(Error::invalid(
                    "phone",
                    "must be a phone number (digits, +, spaces, dashes, brackets)",
                ));
            }
            let first_name = kept(&first_name, NAME_MAX_CHARS);
            if first_name.is_empty() {
                return Err(Error::invalid("first_name", "must not be empty"));
            }
            MessageContent::Contact {
                phone,
                first_name,
                last_name: last_name
                    .map(|name| kept(&name, NAME_MAX_CHARS))
                    .filter(|name| !name.is_empty()),
            }
        }
        MessageContent::Sticker { emoji, animated } => MessageContent::Sticker {
            emoji: emoji
                .map(|emoji| kept(&emoji, 16))
                .filter(|emoji| !emoji.is_empty()),
            animated,
        },
        MessageContent::Dice { emoji, value } => {
            if !(1..=64).contains(&value) {
                return Err(Error::invalid(
                    "value",
                    format!("a dice shows 1 to 64 (got {value})"),
                ));
            }
            MessageContent::Dice {
                emoji: kept(&emoji, 16),
                value,
            }
        }
        MessageContent::Poll { question, options } => {
            let question = kept(&question, QUESTION_MAX_CHARS);
            if question.is_empty() {
                return Err(Error::invalid("question", "must not be empty"));
            }
            MessageContent::Poll {
                question,
                options: options
                    .iter()
                    .map(|option| kept(option, OPTION_MAX_CHARS))
                    .filter(|option| !option.is_empty())
                    .take(OPTIONS_MAX)
                    .collect(),
            }
        }
    })
}

/// The content of a staff message, checked with what it goes out with: staff send a location,
/// a venue or a contact without text or files (Telegram's `sendLocation`, `sendVenue` and
/// `sendContact` take no caption), and a sticker as exactly one `.webp` file of kind
/// [`MediaKind::Sticker`] without text (`sendSticker`); a message whose one file is of kind
/// sticker is a sticker even when `content` is `None`. Dice and polls are only received.
///
/// # Errors
/// Invalid input on `content` (a kind staff cannot send, or one with text or files), `text`,
/// `attachments`, and those of [`check_content`].
pub(crate) fn outbound_content(
    content: Option<MessageContent>,
    text: &str,
    attachments: &[Attachment],
) -> Result<Option<MessageContent>> {
    let stickers = attachments
        .iter()
        .filter(|attachment| attachment.kind == MediaKind::Sticker)
        .count();
    let content = match content {
        None if stickers > 0 => Some(MessageContent::Sticker {
            emoji: None,
            animated: false,
        }),
        other => other,
    };
    let Some(content) = content else {
        return Ok(None);
    };
    let content = check_content(content)?;
    match &content {
        MessageContent::Location { .. }
        | MessageContent::Venue { .. }
        | MessageContent::Contact { .. } => {
            if !text.is_empty() || !attachments.is_empty() {
                return Err(Error::invalid(
                    "content",
                    "a location, venue or contact is sent without text or files",
                ));
            }
        }
        MessageContent::Sticker { .. } => {
            if stickers != 1 || attachments.len() != 1 {
                return Err(Error::invalid(
                    "attachments",
                    "a sticker is exactly one .webp file",
                ));
            }
            if attachments.iter().any(|file| file.mime != "image/webp") {
                return Err(Error::invalid(
                    "attachments",
                    "a sticker is a .webp picture (image/webp)",
                ));
            }
            if !text.is_empty() {
                return Err(Error::invalid("text", "a sticker is sent without text"));
            }
        }
        MessageContent::Dice { .. } | MessageContent::Poll { .. } => {
            return Err(Error::invalid(
                "content",
                "dice and polls are received, not sent",
            ));
        }
    }
    Ok(Some(content))
}
