//! The shapes of a conversation's messages as use cases take them, and the limits every
//! writer of a message applies: a leaf that the areas posting messages (billing, business
//! hours, staff working from Telegram, media access) read without importing the chat's use
//! cases.

use crate::model::*;

/// The longest message text, in characters (Telegram's limit for a text message).
pub const MESSAGE_MAX_CHARS: usize = 4096;

/// The most files one message carries (Telegram's limit for an album).
pub const MESSAGE_MAX_ATTACHMENTS: usize = 10;

/// The longest caption of a file, in characters (Telegram's limit, `sendPhoto` and the
/// others): an edit of a message sent as a caption stays within it.
pub const CAPTION_MAX_CHARS: usize = 1024;

/// Which order a customer's message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderChoice {
    /// This order, chosen by the customer ("write about this order"); it must be theirs. When
    /// it no longer exists (deleted meanwhile), the message is filed as
    /// [`OrderChoice::Current`] instead, so it still reaches the team.
    Chosen(OrderId),
    /// The order the customer is working on: their newest order that is not finished, if any
    /// (see [`current_order_in`](super::current_order_in)).
    Current,
    /// No order: a message to the team in general.
    None,
}

/// A message a customer wrote to the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// Whose conversation. Ignored when the actor is a customer (the message is theirs); the
    /// system actor (the bot on a customer's behalf, imports) must set it.
    pub customer: CustomerId,
    /// Which order the message is about.
    pub about: OrderChoice,
    /// The text or caption, at most 4096 characters.
    pub text: String,
    /// Files already stored with [`System::store_media`](crate::system::System::store_media).
    pub attachments: Vec<Attachment>,
    /// Telegram's `message_id` in the customer's chat.
    pub telegram_message_id: Option<i64>,
    /// What the message carries besides text and files (a location, contact, sticker...).
    pub content: Option<MessageContent>,
    /// Telegram's `message_id` of the message this one replies to (`reply_to_message`), in
    /// the same chat: it becomes [`Message::reply_to`](crate::model::Message::reply_to) when it is a message of this
    /// conversation.
    pub reply_to_telegram: Option<i64>,
    /// Telegram's `media_group_id`: the parts of one album share it.
    pub media_group: Option<String>,
}

/// A message staff write to a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    /// To whom.
    pub customer: CustomerId,
    /// The order it is about, when there is one; it must be the customer's.
    pub order: Option<OrderId>,
    /// The text or caption, at most 4096 characters.
    pub text: String,
    /// Files already stored with [`System::store_media`](crate::system::System::store_media).
    pub attachments: Vec<Attachment>,
    /// The message of the same conversation it replies to (sent as a Telegram reply).
    pub reply_to: Option<MessageId>,
    /// What the message carries besides text and files (a location, contact, sticker...).
    pub content: Option<MessageContent>,
}

/// A private note staff write in a customer's conversation: never sent, never shown to the
/// customer (see [`Tx::post_note`](crate::Tx::post_note)).
#[derive(Debug, Clone, PartialEq)]
pub struct NewNote {
    /// Whose conversation.
    pub customer: CustomerId,
    /// The order it is about, when there is one; it must be the customer's.
    pub order: Option<OrderId>,
    /// The note, 1 to 4096 characters.
    pub text: String,
}

/// Whether a customer actor may see `message` of their own conversation: every message but
/// staff notes and the messages staff deleted (they are gone from the customer's Telegram).
pub(crate) fn customer_sees(message: &Message) -> bool {
    message.direction != Direction::Note && !message.is_deleted()
}
