//! The outbox: what leaves the process after a transaction commits (SPEC section 3), typed
//! (SPEC section 3.1, "Outgoing work is typed").
//!
//! crm-lib decides what is said and to whom: a notification ([`super::Event`], rendered in the
//! recipient's language at delivery), a staff message, or the bot's reply to an update
//! ([`BotReply`]: text, buttons, an edit, the answer to a button press). The adapter (the
//! appliance's outbox job) decides how: it turns each item into Telegram Bot API calls. No
//! Bot API method name appears in crm-lib.

use serde::{Deserialize, Serialize};

use super::{
    BroadcastId, ChatId, CustomerId, Event, ForumCall, MessageId, OutboxId, Timestamp, UserId,
};

/// Who an outbox item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Recipient {
    /// A customer, reached at their Telegram chat.
    Customer(CustomerId),
    /// A staff user, reached at their linked Telegram account.
    Staff(UserId),
    /// A raw chat (bot replies to whoever wrote).
    Chat(ChatId),
}

/// What pressing a button does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ButtonPress {
    /// Sends this data back to the bot (Telegram's `callback_data`: 1-64 bytes).
    Callback(String),
    /// Opens this `https://` (or `tg://`) address.
    Url(String),
    /// Sends the person's own phone as a contact (Telegram's `request_contact`). Telegram
    /// offers it only on a reply keyboard, so a keyboard holding one goes out as a reply
    /// keyboard shown once (its other buttons as plain text buttons), and only with a new
    /// message. Added after the others: stored items name their variant by position.
    RequestContact,
    /// Opens this address as a Telegram Mini App (`web_app`: Telegram requires `https://`;
    /// the sandbox emulator takes `http://` too). Private chats only.
    WebApp(String),
}

/// One button under a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// Its label.
    pub text: String,
    /// What pressing it does.
    pub press: ButtonPress,
}

impl Button {
    /// A button that sends `data` back to the bot.
    pub fn callback(text: impl Into<String>, data: impl Into<String>) -> Self {
        Button {
            text: text.into(),
            press: ButtonPress::Callback(data.into()),
        }
    }

    /// A button that asks for the person's own phone as a contact (`request_contact`).
    pub fn request_contact(text: impl Into<String>) -> Self {
        Button {
            text: text.into(),
            press: ButtonPress::RequestContact,
        }
    }

    /// A button that opens `url` as a Mini App (Telegram's `web_app` button).
    pub fn web_app(text: impl Into<String>, url: impl Into<String>) -> Self {
        Button {
            text: text.into(),
            press: ButtonPress::WebApp(url.into()),
        }
    }

    /// A button that opens `url`.
    pub fn url(text: impl Into<String>, url: impl Into<String>) -> Self {
        Button {
            text: text.into(),
            press: ButtonPress::Url(url.into()),
        }
    }
}

/// Buttons under a message, row by row (Telegram's inline keyboard).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Keyboard {
    /// The rows, top first; each row's buttons left to right.
    pub rows: Vec<Vec<Button>>,
}

impl Keyboard {
    /// A keyboard of these rows.
    pub fn new(rows: Vec<Vec<Button>>) -> Self {
        Keyboard { rows }
    }

    /// Every button, row by row.
    pub fn buttons(&self) -> impl Iterator<Item = &Button> {
        self.rows.iter().flatten()
    }

    /// Whether it goes out as a reply keyboard (it holds a [`ButtonPress::RequestContact`]).
    pub fn is_reply_keyboard(&self) -> bool {
        self.buttons()
            .any(|button| button.press == ButtonPress::RequestContact)
    }
}

/// The bot's reply to an update, queued in the same transaction as the update's effects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BotReply {
    /// A new message.
    Text {
        /// Its text (plain, no markup), at most 4096 characters.
        text: String,
        /// Buttons under it.
        keyboard: Option<Keyboard>,
    },
    /// New text (and buttons; none removes them) for a message the bot sent earlier.
    Edit {
        /// Telegram's `message_id` of that message.
        message_id: i64,
        /// The new text, at most 4096 characters.
        text: String,
        /// The new buttons.
        keyboard: Option<Keyboard>,
    },
    /// Removes the buttons of a message the bot sent (a used form step, a used picker).
    RemoveButtons {
        /// Telegram's `message_id` of that message.
        message_id: i64,
    },
    /// The answer to a button press: stops the button's spinner, optionally with a notice.
    AnswerPress {
        /// Telegram's callback query id.
        query_id: String,
        /// A short notice (at most 200 characters).
        text: Option<String>,
        /// Shows the notice as an alert the person must close, rather than a toast.
        alert: bool,
    },
    /// New buttons for a message the bot sent earlier, its text unchanged (a choice toggled
    /// in place). Added after the others: stored items name their variant by position.
    SetButtons {
        /// Telegram's `message_id` of that message.
        message_id: i64,
        /// The new buttons.
        keyboard: Keyboard,
    },
    /// The answer to a pre-checkout query (Telegram's `answerPreCheckoutQuery`): go ahead, or
    /// the reason shown to the payer. Added after the others: stored items name their variant
    /// by position.
    AnswerPreCheckout {
        /// Telegram's `pre_checkout_query` id.
        query_id: String,
        /// Whether the payment may proceed.
        ok: bool,
        /// Why not (when `ok` is false), at most 200 characters.
        error_message: Option<String>,
    },
}

impl BotReply {
    /// Whether delivering it puts a new message in the chat (what Telegram's per-chat and
    /// overall limits count).
    pub fn is_new_message(&self) -> bool {
        matches!(self, BotReply::Text { .. })
    }
}

/// What an outbox item delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxPayload {
    /// A notification, rendered in the recipient's language at delivery.
    Notify(Event),
    /// A chat message that staff wrote; its text and files are read from the message.
    ChatMessage(MessageId),
    /// The bot's reply to an update.
    Reply(BotReply),
    /// Staff edited a chat message Telegram already has: its new text goes out as
    /// `editMessageText`, or `editMessageCaption` when it was sent as a caption (see
    /// [`Message::edits_as_caption`](crate::model::Message::edits_as_caption)).
    EditMessage(MessageId),
    /// Staff deleted a chat message Telegram has (`deleteMessage`).
    DeleteMessage(MessageId),
    /// Work in the staff supergroup's forum (issue 12), addressed to the group's chat. Added
    /// after the others: stored items name their variant by position.
    Forum(ForumCall),
    /// An invoice in Telegram Stars for the customer to pay in the chat (`sendInvoice` with
    /// currency `XTR`, an empty `provider_token` and the invoice id as its payload). Added
    /// after the others.
    StarsInvoice {
        /// The invoice (the payload Telegram sends back).
        invoice: u64,
        /// Tokens it buys.
        tokens: u64,
        /// Its price in Stars.
        amount: u64,
    },
    /// Gives a Stars payment back (`refundStarPayment` of the customer's
    /// `telegram_payment_charge_id`). Added after the others.
    RefundStars {
        /// Telegram's `telegram_payment_charge_id`.
        charge_id: String,
    },
    /// One recipient's message of a broadcast (`sendMessage` of the text), or a test send of
    /// it to a staff user. Delivered at most once: the outbox records the attempt before the
    /// call ([`OutboxPayload::at_most_once`]). Added after the others.
    Broadcast {
        /// The broadcast.
        broadcast: BroadcastId,
        /// Its text (the sender hands over a few seconds' worth of recipients at a time, so
        /// the outbox never holds many copies).
        text: String,
    },
}

impl OutboxPayload {
    /// Whether a send may never be repeated: the outbox records that it is about to call
    /// Telegram before the call, and an item found so marked after a restart (or a broken
    /// connection whose answer never came) is given up instead of sent again, because it may
    /// have arrived. Broadcasts only: a missed announcement costs less than a repeated one to
    /// thousands of people; everything else prefers a rare duplicate to a lost message.
    pub fn at_most_once(&self) -> bool {
        matches!(self, OutboxPayload::Broadcast { .. })
    }

    /// The chat message whose delivery state follows this item's, if any.
    pub fn message(&self) -> Option<MessageId> {
        match self {
            OutboxPayload::ChatMessage(message) => Some(*message),
            OutboxPayload::Notify(Event::PaymentInfo { message, .. }) => Some(*message),
            _ => None,
        }
    }
}

/// Where an outbox item stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// Delivered once; `telegram_message_id` is what Telegram returned.
    Delivered {
        /// Telegram's id of the sent message, when the method returns one.
        telegram_message_id: Option<i64>,
        /// When.
        at: Timestamp,
    },
    /// Given up: the recipient is unreachable (403) or the call was refused for good (400).
    Failed {
        /// What Telegram said.
        reason: String,
    },
    /// An item delivered at most once ([`OutboxPayload::at_most_once`]) whose call started
    /// and has no answer recorded yet. Still due: found so by a later round (after a restart),
    /// it is given up, not sent again. Added after the others.
    Sending {
        /// When the call started.
        since: Timestamp,
    },
}

impl OutboxState {
    /// Whether the item still waits for an answer (pending, or an at-most-once call
    /// started).
    pub fn is_open(&self) -> bool {
        matches!(self, OutboxState::Pending | OutboxState::Sending { .. })
    }
}

/// A notification or bot reply waiting to be delivered, written in the same transaction as
/// the change that caused it (SPEC section 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The id; delivery order follows it within a recipient.
    pub id: OutboxId,
    /// Who it is for.
    pub recipient: Recipient,
    /// What it carries.
    pub payload: OutboxPayload,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not before this moment.
    pub next_attempt_at: Timestamp,
    /// Where it stands.
    pub state: OutboxState,
    /// When it was written.
    pub created_at: Timestamp,
}

/// Why a delivery was given up, as the adapter reports it (SPEC section 3: "a 403 (bot
/// blocked) marks the customer unreachable instead of retrying forever").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// The recipient blocked the bot (Telegram answered 403): they are marked unreachable,
    /// whether the item was addressed to them or to their private chat, and nothing more is
    /// sent to them until they write again.
    Blocked {
        /// What Telegram said.
        reason: String,
    },
    /// Telegram refused the request for good (another 4xx).
    Refused {
        /// What Telegram said.
        reason: String,
    },
    /// Transient failures went on past the adapter's last attempt.
    GaveUp {
        /// The last failure.
        reason: String,
    },
    /// There is no chat to send it to (an unknown, unlinked or unreachable recipient).
    NoChat,
    /// An at-most-once item ([`OutboxPayload::at_most_once`]) whose call started and never
    /// got its answer (a restart, a connection broken after the request went out): it may
    /// have arrived, so it is not sent again.
    Interrupted,
}

impl DeliveryFailure {
    /// The reason recorded on the item.
    pub fn reason(&self) -> &str {
        match self {
            DeliveryFailure::Blocked { reason }
            | DeliveryFailure::Refused { reason }
            | DeliveryFailure::GaveUp { reason } => reason,
            DeliveryFailure::NoChat => "no Telegram chat to send to",
            DeliveryFailure::Interrupted => {
                "the send was interrupted before Telegram's answer; it may have arrived, so it is not repeated"
            }
        }
    }
}
