//! Chat messages and media.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CustomerId, MessageId, OrderId, Timestamp, UserId};

/// The SHA-256 of a media file's bytes: media is content-addressed, so the same file stored
/// twice takes the space once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MediaHash(pub(crate) [u8; 32]);

impl MediaHash {
    /// The hash with these bytes (see [`crate::media::media_hash`] to hash a file).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        MediaHash(bytes)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Parses 64 hex characters.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `media` for anything else.
    pub fn parse_hex(text: &str) -> crate::Result<Self> {
        let bad = || crate::Error::invalid("media", format!("{text:?} is not a media id"));
        if text.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2).ok_or_else(bad)?, 16)
                .map_err(|_| bad())?;
        }
        Ok(MediaHash(bytes))
    }
}

impl fmt::Display for MediaHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What kind of file a media item is, in Telegram's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A picture (`photo`).
    Photo,
    /// Any file (`document`).
    Document,
    /// A voice note (`voice`).
    Voice,
    /// A video (`video`).
    Video,
    /// A round video note (`video_note`).
    VideoNote,
    /// A sticker (`sticker`).
    Sticker,
    /// Audio (`audio`).
    Audio,
}

/// Metadata of a stored file; the bytes live in chunks beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// Content hash, the key.
    pub hash: MediaHash,
    /// MIME type (`image/jpeg`).
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// Number of chunks of [`crate::MEDIA_CHUNK_SIZE`] bytes (the last may be shorter).
    pub chunks: u32,
    /// When it was stored, or handed in again while nothing referred to it: the start of
    /// the grace period after which retention deletes a file nothing refers to.
    pub created_at: Timestamp,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// The stored file.
    pub media: MediaHash,
    /// What Telegram called it.
    pub kind: MediaKind,
    /// The original file name, when there was one.
    pub file_name: Option<String>,
    /// MIME type.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// To the customer.
    Outbound,
    /// A private note of staff in the conversation: staff-only, never sent to Telegram, never
    /// shown to the customer, not unread and not customer activity (issue 12).
    Note,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Author {
    /// The customer.
    Customer(CustomerId),
    /// A staff user.
    Staff(UserId),
    /// The system (notifications, automatic replies).
    System,
}

/// Where an outbound message stands on its way to Telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Received from Telegram (inbound messages).
    Received,
    /// Waiting in the outbox.
    Pending,
    /// Telegram accepted it.
    Sent,
    /// Telegram refused it for good (the customer blocked the bot).
    Failed,
}

/// What a message carries besides its text and files: Telegram's non-file message kinds
/// (Bot API `Message` fields `location`, `venue`, `contact`, `sticker`, `dice`, `poll`).
/// Stored with bincode: variants are only ever appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MessageContent {
    /// A point on the map (`location`), in degrees (WGS 84).
    Location {
        /// Latitude in degrees, -90..=90.
        latitude: f64,
        /// Longitude in degrees, -180..=180.
        longitude: f64,
    },
    /// A named place (`venue`), in degrees (WGS 84).
    Venue {
        /// Latitude in degrees, -90..=90.
        latitude: f64,
        /// Longitude in degrees, -180..=180.
        longitude: f64,
        /// The place's name.
        title: String,
        /// Its address.
        address: String,
    },
    /// A phone contact (`contact`).
    Contact {
        /// The phone number as Telegram gave it (may lack the `+`).
        phone: String,
        /// First name.
        first_name: String,
        /// Last name, when given.
        last_name: Option<String>,
    },
    /// A sticker (`sticker`): a static one also has its `.webp` as the message's attachment
    /// (kind [`MediaKind::Sticker`]); an animated or video sticker has its thumbnail, or
    /// nothing (shown as a labelled placeholder).
    Sticker {
        /// The emoji the sticker stands for, when given.
        emoji: Option<String>,
        /// Whether it is animated (`is_animated` or `is_video`).
        animated: bool,
    },
    /// A thrown dice (`dice`): the emoji (🎲, 🎯, 🏀, ⚽, 🎳, 🎰) and the value it showed
    /// (1..=6, or 1..=64 for 🎰, per the Bot API docs).
    Dice {
        /// The emoji.
        emoji: String,
        /// The value shown.
        value: u8,
    },
    /// A poll (`poll`), shown as text: its question and options.
    Poll {
        /// The question (1..=300 characters in Telegram).
        question: String,
        /// The options' texts, in order.
        options: Vec<String>,
    },
}

impl Message {
    /// Whether Telegram holds this message's text as the caption of a file: it carries files
    /// and no other content, and its first text fit a caption (1024 characters). Otherwise a
    /// text longer than a caption went out as a message of its own before the files, and an
    /// edit changes that message's text.
    pub fn edits_as_caption(&self) -> bool {
        let first = self.edits.first().map_or(&self.text, |edit| &edit.text);
        !self.attachments.is_empty()
            && self.content.is_none()
            && first.chars().count() <= crate::chat::CAPTION_MAX_CHARS
    }

    /// Whether it was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// An earlier version of an edited message's text (or caption).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEdit {
    /// The text this version had.
    pub text: String,
    /// When this version was replaced by the next (the edit's time): the version itself was
    /// written at the previous edit's `at`, or at the message's `created_at` for the first.
    pub at: Timestamp,
}

/// A message in a customer's conversation, optionally about one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The id.
    pub id: MessageId,
    /// Whose conversation.
    pub customer: CustomerId,
    /// The order it is about, when there is one.
    pub order: Option<OrderId>,
    /// Which way it went.
    pub direction: Direction,
    /// Who wrote it.
    pub author: Author,
    /// The text or caption, up to 4096 characters (Telegram's limit).
    pub text: String,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// Telegram's `message_id` in the customer's chat, once known.
    pub telegram_message_id: Option<i64>,
    /// Delivery state.
    pub delivery: DeliveryState,
    /// When it was written.
    pub created_at: Timestamp,
    /// What it carries besides text and files (location, contact, sticker...), if anything.
    pub content: Option<MessageContent>,
    /// The message of the same conversation it replies to (quotes), when it is a reply.
    pub reply_to: Option<MessageId>,
    /// Its earlier versions when it was edited, oldest first; `text` is the current one.
    pub edits: Vec<MessageEdit>,
    /// When staff deleted it (it was deleted in Telegram too); the record stays.
    pub deleted_at: Option<Timestamp>,
    /// Telegram's `media_group_id` of an album: the updates sharing it are one message.
    pub media_group: Option<String>,
}

/// The Telegram messages one sent message became when it went as several (`sent_parts`: `org |
/// message`): an album (`sendMediaGroup` answers with one message per file), or files and a
/// text too long for a caption. Deleting the message deletes every part. A message sent as
/// one Telegram message has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentParts {
    /// The message.
    pub message: MessageId,
    /// Every Telegram `message_id` it became, in the order sent; the first is the message's
    /// own `telegram_message_id`.
    pub telegram_message_ids: Vec<i64>,
}
