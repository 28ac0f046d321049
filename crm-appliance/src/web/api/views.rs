//! The JSON shapes of the API: plain views of crm-lib records, with their OpenAPI schemas.
//! Money is text in major units with two decimals (`"1500.00"`), times are RFC 3339, dates
//! `YYYY-MM-DD`, media are their SHA-256 in hex.

use std::collections::BTreeMap;

use crm_lib::{
    model::{
        Attachment, Author, Bid, BidState, Customer, DeliveryState, Direction, FieldValue, Marker,
        Media, Message, MessageContent, Order, PermissionSet, Pipeline, Role, User,
    },
    team::StaffName,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A pipeline stage, as an order names it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageRef {
    /// Stable id.
    pub id: u16,
    /// Machine key (`in_progress`).
    pub key: String,
    /// English name.
    pub name: String,
}

/// An order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    /// The id, also the order's number.
    pub id: u64,
    /// The customer's id.
    pub customer: u64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The customer's budget (`"1500.00"`).
    pub budget: Option<String>,
    /// Deadline, `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// Where it stands.
    pub stage: StageRef,
    /// The assignee's user id.
    pub assignee: Option<u64>,
    /// The agreed price (`"900.00"`).
    pub price: Option<String>,
    /// Marker ids.
    pub markers: Vec<u64>,
    /// The id of the payment method the customer would like to pay by (chosen in the bot's
    /// new-order form or by staff who created the order); absent when they did not say.
    pub preferred_payment_method: Option<u64>,
    /// Queue priority; higher first.
    pub priority: i32,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Attached files (SHA-256 hex; download at `/media/{hash}` with a browser session).
    pub attachments: Vec<String>,
    /// Extra fields by name.
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
    /// What the token's user may do with the order now, as crm-lib computes it (only in
    /// `GET /api/v1/orders/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<OrderActionsView>,
}

/// What a user may do with one order now (crm-lib's `OrderActions`); each endpoint still
/// checks its own rule when called.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderActionsView {
    /// `POST /orders/{id}/approve` would succeed.
    pub approve: bool,
    /// `POST /orders/{id}/reject` would succeed.
    pub reject: bool,
    /// `POST /orders/{id}/bids` would succeed.
    pub bid: bool,
    /// `POST /orders/{id}/assign` would succeed for an eligible user.
    pub assign: bool,
    /// The stage ids `POST /orders/{id}/move` accepts now, in board order.
    pub moves: Vec<u64>,
    /// Chatting with the customer about the order is allowed.
    pub chat: bool,
    /// Sending payment details is allowed.
    pub send_payment: bool,
    /// Changing the order's markers is allowed.
    pub edit_markers: bool,
    /// Granting and revoking order-level access is allowed.
    pub grant_access: bool,
}

impl From<&crm_lib::capabilities::OrderActions> for OrderActionsView {
    fn from(actions: &crm_lib::capabilities::OrderActions) -> Self {
        OrderActionsView {
            approve: actions.approve,
            reject: actions.reject,
            bid: actions.bid,
            assign: actions.assign,
            moves: actions
                .moves
                .iter()
                .map(|stage| u64::from(stage.get()))
                .collect(),
            chat: actions.chat,
            send_payment: actions.send_payment,
            edit_markers: actions.edit_markers,
            grant_access: actions.grant_access,
        }
    }
}

fn field_json(value: &FieldValue) -> serde_json::Value {
    match value {
        FieldValue::Text(text) => serde_json::Value::String(text.clone()),
        FieldValue::Number(number) => serde_json::Value::from(*number),
        FieldValue::Flag(flag) => serde_json::Value::Bool(*flag),
        FieldValue::Date(date) => serde_json::Value::String(date.to_string()),
        FieldValue::Choice(key) => serde_json::Value::String(key.clone()),
        FieldValue::Money(amount) => serde_json::Value::String(amount.to_string()),
    }
}

impl OrderView {
    /// The view of `order`, naming its stage from `pipeline`.
    pub fn new(order: &Order, pipeline: &Pipeline) -> Self {
        let stage = pipeline.stage(order.stage).map_or_else(
            || StageRef {
                id: order.stage.get(),
                key: String::new(),
                name: String::new(),
            },
            |stage| StageRef {
                id: stage.id.get(),
                key: stage.key.clone(),
                name: stage.name(crm_lib::model::Language::default()).to_string(),
            },
        );
        OrderView {
            id: order.id.get(),
            customer: order.customer.get(),
            title: order.title.clone(),
            description: order.description.clone(),
            budget: order.budget.map(|money| money.to_string()),
            deadline: order.deadline.map(|date| date.to_string()),
            stage,
            assignee: order.assignee.map(|user| user.get()),
            price: order.price.map(|money| money.to_string()),
            markers: order.markers.iter().map(|marker| marker.get()).collect(),
            preferred_payment_method: order.preferred_payment_method.map(|method| method.get()),
            priority: order.priority,
            rejection_reason: order.rejection_reason.clone(),
            attachments: order.attachments.iter().map(|hash| hash.to_hex()).collect(),
            custom_fields: order
                .custom_fields
                .iter()
                .map(|(name, value)| (name.clone(), field_json(value)))
                .collect(),
            created_at: order.created_at.to_rfc3339(),
            updated_at: order.updated_at.to_rfc3339(),
            actions: None,
        }
    }
}

/// One page of orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderPage {
    /// The orders, newest first.
    pub items: Vec<OrderView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<u64>,
}

/// Where a bid stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BidStateView {
    /// Waiting for a decision.
    Active,
    /// Chosen.
    Accepted,
    /// Another bid was chosen.
    Declined,
}

/// A bid: a staff user's price for an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BidView {
    /// The id.
    pub id: u64,
    /// The order.
    pub order: u64,
    /// Who proposed.
    pub user: u64,
    /// The price (`"900.00"`).
    pub price: String,
    /// Their note.
    pub comment: String,
    /// Where it stands.
    pub state: BidStateView,
    /// When, RFC 3339.
    pub created_at: String,
    /// The bidder's skills (their markers).
    pub bidder_skills: Vec<MarkerView>,
}

impl BidView {
    /// The view of `bid` by a bidder with these skills.
    pub fn with_skills(bid: &Bid, skills: &[Marker]) -> Self {
        BidView {
            bidder_skills: skills.iter().map(MarkerView::from).collect(),
            ..BidView::from(bid)
        }
    }
}

/// A marker (a skill, a technology tag).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MarkerView {
    /// The id.
    pub id: u64,
    /// The name in the default language (English), or the one it has.
    pub name: String,
    /// The name per language code (`en`, `ru`), where translated.
    pub names: BTreeMap<String, String>,
    /// `#rrggbb`.
    pub color: String,
}

impl From<&Marker> for MarkerView {
    fn from(marker: &Marker) -> Self {
        MarkerView {
            id: marker.id.get(),
            name: marker
                .name
                .get(crm_lib::model::Language::default())
                .to_string(),
            names: marker
                .name
                .iter()
                .map(|(language, text)| (language.code().to_string(), text.to_string()))
                .collect(),
            color: marker.color.clone(),
        }
    }
}

impl From<&Bid> for BidView {
    /// Without the bidder's skills (see [`BidView::with_skills`]).
    fn from(bid: &Bid) -> Self {
        BidView {
            id: bid.id.get(),
            order: bid.order.get(),
            user: bid.user.get(),
            price: bid.price.to_string(),
            comment: bid.comment.clone(),
            state: match bid.state {
                BidState::Active => BidStateView::Active,
                BidState::Accepted => BidStateView::Accepted,
                BidState::Declined => BidStateView::Declined,
            },
            created_at: bid.created_at.to_rfc3339(),
            bidder_skills: Vec::new(),
        }
    }
}

/// A customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerView {
    /// The id.
    pub id: u64,
    /// Telegram user id.
    pub telegram_id: Option<i64>,
    /// Telegram username, without `@`.
    pub username: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// `en` or `ru`.
    pub language: String,
    /// They blocked the bot.
    pub unreachable: bool,
    /// Messages staff have not read yet.
    pub unread: u32,
    /// First seen, RFC 3339.
    pub created_at: String,
    /// Last message either way, RFC 3339.
    pub last_activity_at: String,
}

impl From<&Customer> for CustomerView {
    fn from(customer: &Customer) -> Self {
        CustomerView {
            id: customer.id.get(),
            telegram_id: customer.telegram_id.map(|id| id.get()),
            username: customer.username.clone(),
            first_name: customer.first_name.clone(),
            last_name: customer.last_name.clone(),
            phone: customer.phone.clone(),
            email: customer.email.clone(),
            language: customer.language.code().to_string(),
            unreachable: customer.unreachable,
            unread: customer.unread,
            created_at: customer.created_at.to_rfc3339(),
            last_activity_at: customer.last_activity_at.to_rfc3339(),
        }
    }
}

/// One page of customers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerPage {
    /// The customers.
    pub items: Vec<CustomerView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<u64>,
}

/// A file attached to a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    /// SHA-256 hex of the file.
    pub media: String,
    /// Telegram's kind: `photo`, `document`, `voice`...
    pub kind: String,
    /// The original file name.
    pub file_name: Option<String>,
    /// MIME type.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
}

impl From<&Attachment> for AttachmentView {
    fn from(attachment: &Attachment) -> Self {
        AttachmentView {
            media: attachment.media.to_hex(),
            kind: serde_json::to_value(attachment.kind)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default(),
            file_name: attachment.file_name.clone(),
            mime: attachment.mime.clone(),
            size: attachment.size,
        }
    }
}

/// What a message carries besides text and files, by `kind`: `location` (`latitude`,
/// `longitude` in degrees), `venue` (with `title`, `address`), `contact` (`phone`,
/// `first_name`, `last_name`), `sticker` (`emoji`, `animated`), `dice` (`emoji`, `value`),
/// `poll` (`question`, `options`). Staff send `location`, `venue` and `contact` (and a sticker
/// as one `.webp` file); the other fields of a kind are absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ContentJson {
    /// `location`, `venue`, `contact`, `sticker`, `dice` or `poll`.
    pub kind: String,
    /// Degrees, -90..=90 (location, venue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Degrees, -180..=180 (location, venue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// The venue's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The venue's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The contact's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The contact's first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The contact's last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The sticker's or dice's emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Whether the sticker is animated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
    /// The dice's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u8>,
    /// The poll's question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The poll's options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
}

impl From<&MessageContent> for ContentJson {
    fn from(content: &MessageContent) -> Self {
        match content.clone() {
            MessageContent::Location {
                latitude,
                longitude,
            } => ContentJson {
                kind: "location".into(),
                latitude: Some(latitude),
                longitude: Some(longitude),
                ..ContentJson::default()
            },
            MessageContent::Venue {
                latitude,
                longitude,
                title,
                address,
            } => ContentJson {
                kind: "venue".into(),
                latitude: Some(latitude),
                longitude: Some(longitude),
                title: Some(title),
                address: Some(address),
                ..ContentJson::default()
            },
            MessageContent::Contact {
                phone,
                first_name,
                last_name,
            } => ContentJson {
                kind: "contact".into(),
                phone: Some(phone),
                first_name: Some(first_name),
                last_name,
                ..ContentJson::default()
            },
            MessageContent::Sticker { emoji, animated } => ContentJson {
                kind: "sticker".into(),
                emoji,
                animated: Some(animated),
                ..ContentJson::default()
            },
            MessageContent::Dice { emoji, value } => ContentJson {
                kind: "dice".into(),
                emoji: Some(emoji),
                value: Some(value),
                ..ContentJson::default()
            },
            MessageContent::Poll { question, options } => ContentJson {
                kind: "poll".into(),
                question: Some(question),
                options: Some(options),
                ..ContentJson::default()
            },
        }
    }
}

impl ContentJson {
    /// The content this JSON names (crm-lib checks the values).
    ///
    /// # Errors
    /// Invalid input on `content` for an unknown kind or a missing field.
    pub fn into_content(self) -> crm_lib::Result<MessageContent> {
        let missing = |field: &str| {
            crm_lib::Error::invalid("content", format!("a {} needs {field}", self.kind))
        };
        let point = || -> crm_lib::Result<(f64, f64)> {
            Ok((
                self.latitude.ok_or_else(|| missing("latitude"))?,
                self.longitude.ok_or_else(|| missing("longitude"))?,
            ))
        };
        Ok(match self.kind.as_str() {
            "location" => {
                let (latitude, longitude) = point()?;
                MessageContent::Location {
                    latitude,
                    longitude,
                }
            }
            "venue" => {
                let (latitude, longitude) = point()?;
                MessageContent::Venue {
                    latitude,
                    longitude,
                    title: self.title.clone().ok_or_else(|| missing("title"))?,
                    address: self.address.clone().unwrap_or_default(),
                }
            }
            "contact" => MessageContent::Contact {
                phone: self.phone.clone().ok_or_else(|| missing("phone"))?,
                first_name: self
                    .first_name
                    .clone()
                    .ok_or_else(|| missing("first_name"))?,
                last_name: self.last_name.clone(),
            },
            "sticker" => MessageContent::Sticker {
                emoji: self.emoji.clone(),
                animated: self.animated.unwrap_or(false),
            },
            other => {
                return Err(crm_lib::Error::invalid(
                    "content",
                    format!("{other:?} cannot be sent (location, venue, contact or sticker)"),
                ));
            }
        })
    }
}

/// An earlier version of an edited message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EditView {
    /// The text it had.
    pub text: String,
    /// When it was replaced, RFC 3339.
    pub at: String,
}

/// A chat message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    /// The id.
    pub id: u64,
    /// Whose conversation.
    pub customer: u64,
    /// The order it is about.
    pub order: Option<u64>,
    /// `inbound` (from the customer), `outbound` or `note` (a private staff note, never sent).
    pub direction: String,
    /// `customer`, `staff` or `system`.
    pub author: String,
    /// The staff author's user id.
    pub author_user: Option<u64>,
    /// Text or caption.
    pub text: String,
    /// Files.
    pub attachments: Vec<AttachmentView>,
    /// `received`, `pending`, `sent` or `failed`.
    pub delivery: String,
    /// When, RFC 3339.
    pub created_at: String,
    /// A location, venue, contact, sticker, dice or poll, when it is one.
    pub content: Option<ContentJson>,
    /// The message of the conversation it replies to.
    pub reply_to: Option<u64>,
    /// Its earlier texts, oldest first, when it was edited.
    pub edits: Vec<EditView>,
    /// When staff deleted it, RFC 3339.
    pub deleted_at: Option<String>,
    /// Telegram's album id, when it came as an album.
    pub media_group: Option<String>,
}

impl From<&Message> for MessageView {
    fn from(message: &Message) -> Self {
        let (author, author_user) = match message.author {
            Author::Customer(_) => ("customer", None),
            Author::Staff(user) => ("staff", Some(user.get())),
            Author::System => ("system", None),
        };
        MessageView {
            id: message.id.get(),
            customer: message.customer.get(),
            order: message.order.map(|order| order.get()),
            direction: match message.direction {
                Direction::Inbound => "inbound",
                Direction::Outbound => "outbound",
                Direction::Note => "note",
            }
            .to_string(),
            author: author.to_string(),
            author_user,
            text: message.text.clone(),
            attachments: message
                .attachments
                .iter()
                .map(AttachmentView::from)
                .collect(),
            delivery: match message.delivery {
                DeliveryState::Received => "received",
                DeliveryState::Pending => "pending",
                DeliveryState::Sent => "sent",
                DeliveryState::Failed => "failed",
            }
            .to_string(),
            created_at: message.created_at.to_rfc3339(),
            content: message.content.as_ref().map(ContentJson::from),
            reply_to: message.reply_to.map(|id| id.get()),
            edits: message
                .edits
                .iter()
                .map(|edit| EditView {
                    text: edit.text.clone(),
                    at: edit.at.to_rfc3339(),
                })
                .collect(),
            deleted_at: message.deleted_at.map(|at| at.to_rfc3339()),
            media_group: message.media_group.clone(),
        }
    }
}

/// One page of messages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessagePage {
    /// The messages, newest first.
    pub items: Vec<MessageView>,
    /// Pass as `after` for the next (older) page; absent on the last page.
    pub next: Option<u64>,
}

/// A colleague, as every staff user may see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// The id.
    pub id: u64,
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Whether the account is active.
    pub active: bool,
}

impl From<&StaffName> for UserView {
    fn from(user: &StaffName) -> Self {
        UserView {
            id: user.id.get(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            active: user.active,
        }
    }
}

/// The token's own user, with their roles and permissions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeView {
    /// The id.
    pub id: u64,
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Permission names (`view_orders`...), the union of the roles'.
    pub permissions: Vec<String>,
}

impl MeView {
    /// The view of `user` with their `roles` (every role of the organization, to name
    /// theirs) and `permissions`.
    pub fn new(user: &User, roles: &[Role], permissions: PermissionSet) -> Self {
        MeView {
            id: user.id.get(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            roles: user
                .roles
                .iter()
                .map(|id| {
                    roles
                        .iter()
                        .find(|role| role.id == *id)
                        .map_or_else(|| id.to_string(), |role| role.name.clone())
                })
                .collect(),
            permissions: permissions
                .iter()
                .map(|permission| permission.as_str().to_string())
                .collect(),
        }
    }
}

/// A stored file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaView {
    /// SHA-256 hex: pass it in a message's `attachments`.
    pub hash: String,
    /// MIME type.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
}

impl From<&Media> for MediaView {
    fn from(media: &Media) -> Self {
        MediaView {
            hash: media.hash.to_hex(),
            mime: media.mime.clone(),
            size: media.size,
        }
    }
}

/// Keyset pagination parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` value of the previous page.
    pub after: Option<u64>,
    /// Page size, 1-500 (default 50).
    pub limit: Option<usize>,
}

impl PageQuery {
    /// The crm-lib page.
    pub fn page(&self) -> crm_lib::Page {
        crm_lib::Page {
            after: self.after,
            limit: self.limit.unwrap_or(50),
        }
    }
}
