//! The chat: the archived conversations (`/chat?archived=1`, operators module, newest archived
//! first, reached through `web::inbox`), a conversation's middle pane (`conversation_body`:
//! the messages, a send form for text and a photo or file, marked read on open), which
//! `web::inbox` shows in its three panes at `/chat/{customer}`, `POST /chat/{customer}`
//! (send), `GET /media/{hash}` (stored files, for staff), and [`order_panel`], the messages of
//! one order for the order page.
//!
//! Pages update live: `live.js` holds the page's one event stream (`/events`) and `chat.js`
//! refreshes the list or the open conversation when a `message` event names it (it fetches
//! the same page and swaps the fragment, so the HTML comes from one place). Sending works with
//! and without JavaScript (a plain multipart form with a redirect after it).

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use crm_lib::{
    Page, Paged,
    chat::{ArchivedConversation, OutboundFile, OutboundMessage},
    media::NewMedia,
    model::{
        Actor, Attachment, Author, Customer, CustomerId, DeliveryState, Direction, MediaHash,
        MediaKind, Message, MessageContent, MessageId, OrderId, UserId,
    },
    orders::OrderFilter,
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::web::auth::Staff;
use crate::web::csrf;
use crate::web::error::{AppError, status_of};
use crate::web::i18n::when;
use crate::web::layout::{FormError, Nav, csrf_field, page};

/// Messages shown per page of a conversation.
const MESSAGES_PER_PAGE: usize = 50;

/// Conversations shown per page of the inbox.
const CONVERSATIONS_PER_PAGE: usize = 50;

/// `/chat`, `/chat/{customer}` and `/media/{hash}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat/{customer}", post(send))
        .route("/chat/{customer}/read", post(mark_read))
        .route(
            "/chat/{customer}/messages/{message}/edit",
            post(edit_message),
        )
        .route(
            "/chat/{customer}/messages/{message}/delete",
            post(delete_message),
        )
        .route(
            "/chat/{customer}/messages/{message}/phone",
            post(take_phone),
        )
        .route("/media/{hash}", get(media))
}

/// The scripts of live pages: the event stream hub, then the chat refresher.
pub(crate) fn scripts() -> Markup {
    html! {
        script src="/assets/js/live.js" defer {}
        script src="/assets/js/chat.js" defer {}
    }
}

/// `?after=` of a listing.
#[derive(Debug, Default, Deserialize)]
pub struct AfterQuery {
    /// The cursor of the next page.
    #[serde(default)]
    pub after: Option<u64>,
    /// The message the send form quotes (a conversation's "reply" link).
    #[serde(default)]
    pub reply: Option<u64>,
}

fn customer_label(customer: &Customer) -> String {
    match &customer.username {
        Some(username) => format!("{} (@{username})", customer.full_name()),
        None => customer.full_name(),
    }
}

/// `?after=&archived=` of the inbox.
#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    /// The cursor of the next page.
    #[serde(default)]
    pub after: Option<u64>,
    /// `1`: the archived conversations (the operators module's).
    #[serde(default)]
    pub archived: Option<String>,
}

/// `GET /chat`: conversations by last activity, with unread counts; `GET /chat?archived=1`:
/// the archived conversations (404 while the operators module is off).
pub(crate) async fn inbox(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<InboxQuery>,
) -> Result<Markup, AppError> {
    let actor = staff.actor.clone();
    let page_of = Page {
        after: query.after,
        limit: CONVERSATIONS_PER_PAGE,
    };
    let body = if query.archived.as_deref() == Some("1") {
        let archived = state
            .blocking(move |crm| crm.archived_conversations(&actor, page_of))
            .await?;
        archived_body(&staff, &archived)
    } else {
        let conversations = state
            .blocking(move |crm| crm.conversations(&actor, page_of))
            .await?;
        inbox_body(&staff, &conversations)
    };
    Ok(page(
        &staff,
        &staff.t("chat.title"),
        Nav::Chat,
        html! {
            (body)
            (scripts())
        },
    ))
}

/// The inbox's content: conversations by last activity, unread ones marked, a link to the
/// next page, and (operators module on) the link to the archived ones.
fn inbox_body(staff: &Staff, conversations: &Paged<Customer>) -> Markup {
    html! {
        @if staff.navigation().archived_conversations {
            p.chat-views { a href="/chat?archived=1" { (staff.t("archive.link")) } }
        }
        section #chat-list .chat-list data-chat-list {
            @if conversations.items.is_empty() {
                p.muted { (staff.t("chat.none")) }
            } @else {
                ul.conversations {
                    @for customer in &conversations.items {
                        li.conversation.unread[customer.unread > 0] data-customer=(customer.id) {
                            a href={ "/chat/" (customer.id) } {
                                span.name { (customer_label(customer)) }
                                @if customer.unread > 0 {
                                    span.badge title=(staff.t("chat.unread")) data-unread=(customer.unread) { (customer.unread) }
                                }
                                span.muted.when { (when(customer.last_activity_at)) }
                            }
                        }
                    }
                }
                @if let Some(next) = conversations.next {
                    p { a.more href={ "/chat?after=" (next) } { (staff.t("chat.older")) " →" } }
                }
            }
        }
    }
}

/// The archived conversations: newest archived first, each with when it was closed and
/// archived, linking to its (unchanged) conversation page; a link back to the working list.
fn archived_body(staff: &Staff, archived: &Paged<ArchivedConversation>) -> Markup {
    html! {
        p.chat-views { a href="/chat" { "← " (staff.t("chat.conversations")) } }
        h2 { (staff.t("archive.title")) }
        section.chat-list.archived {
            @if archived.items.is_empty() {
                p.muted { (staff.t("archive.none")) }
            } @else {
                ul.conversations {
                    @for row in &archived.items {
                        li.conversation data-customer=(row.customer.id) {
                            a href={ "/chat/" (row.customer.id) } {
                                span.name { (customer_label(&row.customer)) }
                                @if let Some(closed) = row.item.closed_at {
                                    span.muted { (staff.t("archive.closed")) " " (when(closed)) }
                                }
                                @if let Some(at) = row.item.archived_at {
                                    span.muted.when { (staff.t("archive.archived")) " " (when(at)) }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = archived.next {
                    p { a.more href={ "/chat?archived=1&after=" (next) } { (staff.t("chat.older")) " →" } }
                }
            }
        }
    }
}

/// Everything a conversation page shows, read on one snapshot.
pub(crate) struct ConversationData {
    customer: Customer,
    messages: Paged<Message>,
    names: HashMap<UserId, String>,
    orders: Vec<(OrderId, String)>,
    /// The customer's current order (crm-lib's rule), which the send form preselects.
    current: Option<OrderId>,
    /// The operators module's view of the conversation (department, operator), when the
    /// module is on and the user may see it.
    operators: Option<crm_lib::operators::ConversationView>,
    /// The message the send form quotes, when the "reply" link was followed.
    reply: Option<crm_lib::model::MessageId>,
}

impl ConversationData {
    /// Quotes `message` in the send form (the conversation's `?reply=` link).
    pub(crate) fn set_reply(&mut self, message: Option<u64>) {
        self.reply = message.map(crm_lib::model::MessageId::new);
    }
}

async fn load_conversation(
    state: &AppState,
    staff: &Staff,
    customer: CustomerId,
    after: Option<u64>,
) -> Result<ConversationData, AppError> {
    let actor = staff.actor.clone();
    let data = state
        .blocking(move |crm| crm.read(|view| read_conversation(view, &actor, customer, after)))
        .await?;
    Ok(data)
}

/// Reads a conversation page on one snapshot: a page of messages, the customer, staff names,
/// the customer's orders (none when `actor` may not list orders) and their current order.
pub(crate) fn read_conversation(
    view: &impl crm_lib::View,
    actor: &Actor,
    customer: CustomerId,
    after: Option<u64>,
) -> crm_lib::Result<ConversationData> {
    let messages = crm_lib::chat::messages_of_customer_in(
        view,
        actor,
        customer,
        Page {
            after,
            limit: MESSAGES_PER_PAGE,
        },
    )?;
    let customer = crm_lib::customers::customer_in(view, actor, customer)?;
    let names = author_names(view, actor)?;
    // The customer's orders to pick from, when the user may list orders.
    let filter = OrderFilter {
        customer: Some(customer.id),
        ..OrderFilter::default()
    };
    let orders = match crm_lib::orders::list_orders_in(view, actor, &filter, Page::first(50)) {
        Ok(page) => page
            .items
            .into_iter()
            .map(|order| (order.id, order.title))
            .collect(),
        Err(error) if error.kind() == crm_lib::ErrorKind::PermissionDenied => Vec::new(),
        Err(error) => return Err(error),
    };
    let current = crm_lib::chat::current_order_in(view, actor, customer.id)?;
    let operators = match crm_lib::operators::conversation_in(view, actor, customer.id) {
        Ok(conversation) => Some(conversation),
        Err(error)
            if matches!(
                error.kind(),
                crm_lib::ErrorKind::NotFound | crm_lib::ErrorKind::PermissionDenied
            ) =>
        {
            None
        }
        Err(error) => return Err(error),
    };
    Ok(ConversationData {
        customer,
        messages,
        names,
        orders,
        current,
        operators,
        reply: None,
    })
}

/// Staff display names by id, for the authors of messages.
fn author_names(
    view: &impl crm_lib::View,
    actor: &Actor,
) -> crm_lib::Result<HashMap<UserId, String>> {
    Ok(crm_lib::team::staff_names_in(view, actor)?
        .into_iter()
        .map(|name| (name.id, name.display_name))
        .collect())
}

fn author_name(
    message: &Message,
    customer: &str,
    names: &HashMap<UserId, String>,
    staff: &Staff,
) -> String {
    match message.author {
        Author::Customer(_) => customer.to_string(),
        Author::Staff(user) => names
            .get(&user)
            .cloned()
            .unwrap_or_else(|| staff.t("chat.you")),
        Author::System => staff.t("chat.system"),
    }
}

/// Whether a stored file can be shown inline as a picture (raster images only: an SVG could
/// carry a script).
fn inline_image(attachment: &Attachment) -> bool {
    inline_image_type(&attachment.mime)
}

/// Whether files of this MIME type are shown inline as pictures (also the order page's
/// attachments).
pub fn inline_image_type(mime: &str) -> bool {
    matches!(
        mime,
        "image/jpeg" | "image/png" | "image/webp" | "image/gif"
    )
}

fn render_attachment(attachment: &Attachment) -> Markup {
    let href = format!("/media/{}", attachment.media.to_hex());
    let name = attachment
        .file_name
        .clone()
        .unwrap_or_else(|| attachment.mime.clone());
    html! {
        @if attachment.kind == MediaKind::Sticker && inline_image(attachment) {
            img.attachment.sticker src=(href) alt="sticker" loading="lazy";
        } @else if matches!(attachment.kind, MediaKind::Voice | MediaKind::Audio) {
            span.attachment.audio {
                audio controls preload="none" src=(href) {}
                a href=(href) download=(name) { "📎 " (name) }
            }
        } @else if matches!(attachment.kind, MediaKind::Video | MediaKind::VideoNote) {
            span.attachment.video.video-note[attachment.kind == MediaKind::VideoNote] {
                video controls preload="none" src=(href) {}
                a href=(href) download=(name) { "📎 " (name) }
            }
        } @else if inline_image(attachment) {
            a.attachment.photo href=(href) target="_blank" rel="noopener" {
                img src=(href) alt=(name) loading="lazy";
            }
        } @else {
            a.attachment.file href=(href) download=(name) { "📎 " (name) " (" (attachment.size / 1024 + 1) " KB)" }
        }
    }
}

fn delivery_label(staff: &Staff, delivery: DeliveryState) -> Option<String> {
    match delivery {
        DeliveryState::Received => None,
        DeliveryState::Pending => Some(staff.t("chat.delivery.pending")),
        DeliveryState::Sent => Some(staff.t("chat.delivery.sent")),
        DeliveryState::Failed => Some(staff.t("chat.delivery.failed")),
    }
}

/// The OpenStreetMap link of a point (`https://www.openstreetmap.org/?mlat=..&mlon=..`).
pub fn map_link(latitude: f64, longitude: f64) -> String {
    format!(
        "https://www.openstreetmap.org/?mlat={latitude:.6}&mlon={longitude:.6}#map=16/{latitude:.6}/{longitude:.6}"
    )
}

/// A message's content other than text and files: a location or venue with its coordinates
/// and a map link, a contact card, a sticker's emoji (a placeholder for an animated sticker
/// without a picture), a dice and a poll as text.
pub fn render_content(staff: &Staff, message: &Message) -> Markup {
    let Some(content) = &message.content else {
        return html! {};
    };
    html! {
        @match content {
            MessageContent::Location { latitude, longitude } => {
                div.content.location {
                    "📍 " (staff.t("fidelity.location")) " "
                    a href=(map_link(*latitude, *longitude)) target="_blank" rel="noopener noreferrer" {
                        (format!("{latitude:.6}, {longitude:.6}"))
                    }
                }
            }
            MessageContent::Venue { latitude, longitude, title, address } => {
                div.content.venue {
                    "📍 " strong { (title) } br; (address) br;
                    a href=(map_link(*latitude, *longitude)) target="_blank" rel="noopener noreferrer" {
                        (format!("{latitude:.6}, {longitude:.6}"))
                    }
                }
            }
            MessageContent::Contact { phone, first_name, last_name } => {
                div.content.contact-card {
                    "👤 " strong { (first_name) @if let Some(last) = last_name { " " (last) } }
                    br; a href={ "tel:" (phone) } { (phone) }
                }
            }
            MessageContent::Sticker { emoji, animated } => {
                @if message.attachments.is_empty() {
                    div.content.sticker-placeholder {
                        (emoji.clone().unwrap_or_default()) " "
                        (staff.t(if *animated { "fidelity.sticker_animated" } else { "fidelity.sticker" }))
                    }
                } @else if let Some(emoji) = emoji {
                    span.content.sticker-emoji title=(staff.t("fidelity.sticker")) { (emoji) }
                }
            }
            MessageContent::Dice { emoji, value } => {
                div.content.dice { (emoji) " " (staff.t("fidelity.dice")) " " strong { (value) } }
            }
            MessageContent::Poll { question, options } => {
                div.content.poll {
                    "📊 " (staff.t("fidelity.poll")) ": " strong { (question) }
                    ul { @for option in options { li { (option) } } }
                }
            }
        }
    }
}

/// The quote of a reply: the quoted message's author and the start of its text, when it is
/// on the page; its number otherwise.
fn render_quote(
    staff: &Staff,
    quoted: crm_lib::model::MessageId,
    messages: &[Message],
    customer_name: &str,
    names: &HashMap<UserId, String>,
) -> Markup {
    let found = messages.iter().find(|message| message.id == quoted);
    html! {
        blockquote.quote data-quote=(quoted) {
            @if let Some(message) = found {
                span.author { (author_name(message, customer_name, names, staff)) } ": "
                (message.text.chars().take(120).collect::<String>())
                @if message.text.is_empty() && !message.attachments.is_empty() { "📎" }
            } @else {
                "↩ #" (quoted)
            }
        }
    }
}

/// Messages oldest first (pages come newest first): each with its quote, text, content and
/// files (an album's files together), "edited" with the earlier versions in a `<details>`,
/// "deleted", notes marked, and the actions crm-lib allows the viewer (reply, edit, delete,
/// take a contact's phone).
fn render_messages(
    staff: &Staff,
    messages: &[Message],
    customer_name: &str,
    names: &HashMap<UserId, String>,
    show_order: bool,
) -> Markup {
    let now = crm_lib::model::Timestamp::now();
    html! {
        @if messages.is_empty() {
            p.muted.empty { (staff.t("chat.no_messages")) }
        }
        ol.messages {
            @for message in messages.iter().rev() {
                @let actions = crm_lib::chat::message_actions(staff.user.id, staff.permissions, message, now);
                li.message.inbound[message.direction == Direction::Inbound]
                    .outbound[message.direction == Direction::Outbound]
                    .note[message.direction == Direction::Note]
                    .deleted[message.is_deleted()]
                    .edited[!message.edits.is_empty()]
                    data-message=(message.id) {
                    div.meta {
                        span.author { (author_name(message, customer_name, names, staff)) }
                        @if message.direction == Direction::Note {
                            " · " span.note-label { (staff.t("fidelity.note")) }
                        }
                        " · "
                        time datetime=(message.created_at.to_rfc3339()) { (when(message.created_at)) }
                        @if show_order {
                            @if let Some(order) = message.order {
                                " · " a href={ "/orders/" (order) } { "#" (order) }
                            }
                        }
                        @if let Some(delivery) = delivery_label(staff, message.delivery) {
                            " · " span.delivery data-delivery=(format!("{:?}", message.delivery).to_lowercase()) { (delivery) }
                        }
                        @if let Some(at) = message.deleted_at {
                            " · " span.deleted-label title=(at.to_rfc3339()) { (staff.t("fidelity.deleted")) }
                        }
                    }
                    @if let Some(quoted) = message.reply_to {
                        (render_quote(staff, quoted, messages, customer_name, names))
                    }
                    @if !message.text.is_empty() {
                        div.text { (message.text) }
                    }
                    (render_content(staff, message))
                    @if message.attachments.len() > 1 {
                        div.album { @for attachment in &message.attachments { (render_attachment(attachment)) } }
                    } @else {
                        @for attachment in &message.attachments {
                            (render_attachment(attachment))
                        }
                    }
                    @if !message.edits.is_empty() {
                        details.history {
                            summary { (staff.t("fidelity.edited")) " (" (message.edits.len()) ")" }
                            ol {
                                @for (index, edit) in message.edits.iter().enumerate() {
                                    @let written = if index == 0 { message.created_at } else { message.edits[index - 1].at };
                                    li {
                                        time datetime=(written.to_rfc3339()) { (when(written)) }
                                        " " span.old-text { (edit.text) }
                                    }
                                }
                            }
                        }
                    }
                    (message_action_forms(staff, message, actions))
                }
            }
        }
    }
}

/// The buttons of a message: reply (a link that quotes it in the send form), edit (a small
/// form in a `<details>`), delete and take a contact's phone (forms with CSRF).
fn message_action_forms(
    staff: &Staff,
    message: &Message,
    actions: crm_lib::chat::MessageActions,
) -> Markup {
    let base = format!("/chat/{}/messages/{}", message.customer, message.id);
    html! {
        @if actions.reply || actions.edit || actions.delete || actions.take_phone {
            div.message-actions {
                @if actions.reply {
                    a.reply href={ "/chat/" (message.customer) "?reply=" (message.id) "#send" } { "↩ " (staff.t("fidelity.reply")) }
                }
                @if actions.take_phone {
                    form.inline method="post" action={ (base) "/phone" } {
                        (csrf_field(staff))
                        button.link type="submit" { (staff.t("fidelity.take_phone")) }
                    }
                }
                @if actions.edit {
                    details.edit {
                        summary { (staff.t("fidelity.edit")) }
                        form method="post" action={ (base) "/edit" } {
                            (csrf_field(staff))
                            textarea name="text" rows="2" maxlength="4096" aria-label=(staff.t("fidelity.edit")) { (message.text) }
                            button type="submit" { (staff.t("fidelity.save")) }
                        }
                    }
                }
                @if actions.delete {
                    form.inline method="post" action={ (base) "/delete" } {
                        (csrf_field(staff))
                        button.link.delete-message type="submit" { (staff.t("fidelity.delete")) }
                    }
                }
            }
        }
    }
}

/// Which order a reply from the send form is about.
enum About<'a> {
    /// The conversation page: a choice of the customer's orders, `current` preselected.
    Choose {
        orders: &'a [(OrderId, String)],
        current: Option<OrderId>,
    },
    /// An order's chat panel: that order.
    Fixed(OrderId),
}

/// The send form of a conversation (or of an order's panel, with the order fixed).
fn send_form(
    staff: &Staff,
    customer: CustomerId,
    about: About<'_>,
    back: &str,
    error: &FormError,
    text: &str,
    reply: Option<crm_lib::model::MessageId>,
) -> Markup {
    html! {
        form.card.form.chat-send #send method="post" action={ "/chat/" (customer) }
            enctype="multipart/form-data" data-chat-send data-canned={ "/chat/" (customer) "/canned" } {
            (csrf_field(staff))
            input type="hidden" name="back" value=(back);
            (error.general(&["text", "attachments", "media", "content", "latitude", "longitude", "phone", "first_name", "reply_to"]))
            @if let Some(reply) = reply {
                p.replying {
                    input type="hidden" name="reply_to" value=(reply);
                    "↩ " (staff.t("fidelity.replying_to")) " #" (reply) " · "
                    a href={ "/chat/" (customer) } { (staff.t("fidelity.cancel_reply")) }
                }
            }
            @if let About::Fixed(order) = about {
                input type="hidden" name="order" value=(order);
            } @else if let About::Choose { orders, current } = about && !orders.is_empty() {
                label { (staff.t("chat.about_order"))
                    select name="order" {
                        option value="" { "— " (staff.t("chat.no_order")) }
                        @for (id, title) in orders {
                            option value=(id) selected[current == Some(*id)] { "#" (id) " " (title) }
                        }
                    }
                }
            }
            label { (staff.t("chat.text"))
                textarea name="text" rows="3" maxlength="4096" { (text) }
                (error.at("text"))
            }
            label { (staff.t("chat.file"))
                input type="file" name="file" accept="image/*,audio/*,video/*,application/pdf,.doc,.docx,.xls,.xlsx,.txt,.zip";
                (error.at("attachments"))
                (error.at("media"))
            }
            label.inline-check {
                input type="checkbox" name="as_sticker" value="1";
                " " (staff.t("fidelity.as_sticker"))
            }
            details.send-more {
                summary { (staff.t("fidelity.more_kinds")) }
                fieldset {
                    legend { (staff.t("fidelity.location")) }
                    label { (staff.t("fidelity.latitude")) input name="latitude" inputmode="decimal" size="10"; (error.at("latitude")) }
                    label { (staff.t("fidelity.longitude")) input name="longitude" inputmode="decimal" size="10"; (error.at("longitude")) }
                    label { (staff.t("fidelity.venue_title")) input name="venue_title" maxlength="256"; }
                    label { (staff.t("fidelity.venue_address")) input name="venue_address" maxlength="256"; }
                }
                fieldset {
                    legend { (staff.t("fidelity.contact")) }
                    label { (staff.t("fidelity.phone")) input name="contact_phone" type="tel" maxlength="32"; (error.at("phone")) }
                    label { (staff.t("fidelity.first_name")) input name="contact_first_name" maxlength="256"; (error.at("first_name")) }
                    label { (staff.t("fidelity.last_name")) input name="contact_last_name" maxlength="256"; }
                }
                (error.at("content"))
            }
            button type="submit" { (staff.t("chat.send")) }
        }
        script src="/assets/js/canned.js" defer {}
    }
}

fn conversation_page(
    staff: &Staff,
    data: &ConversationData,
    error: &FormError,
    text: &str,
) -> Markup {
    let customer = &data.customer;
    page(
        staff,
        &customer_label(customer),
        Nav::Chat,
        html! {
            (conversation_body(staff, data, error, text))
            (scripts())
        },
    )
}

/// A conversation's content: the unreachable warning, the mark-read button, the messages
/// oldest first and the send form with the customer's current order preselected.
pub(crate) fn conversation_body(
    staff: &Staff,
    data: &ConversationData,
    error: &FormError,
    text: &str,
) -> Markup {
    let customer = &data.customer;
    let name = customer.full_name();
    let back = format!("/chat/{}", customer.id);
    html! {
        p {
            a href="/chat" { "← " (staff.t("chat.conversations")) }
            " · " a href={ "/customers/" (customer.id) } { (staff.t("calls.timeline")) }
            " · " a href={ "/chat/" (customer.id) "/scheduled" } { (staff.t("scheduled.link")) }
        }
        @if customer.unreachable {
            p.error role="alert" { (staff.t("chat.unreachable")) }
        }
        @if let Some(operators) = &data.operators {
            (crate::web::pages::operators::conversation_panel(staff, customer.id, operators))
        }
        @if customer.unread > 0 {
            form.mark-read method="post" action={ "/chat/" (customer.id) "/read" } {
                (csrf_field(staff))
                button type="submit" { (staff.t("chat.mark_read")) }
            }
        }
        section #chat-messages .chat-messages data-chat-customer=(customer.id) {
            @if let Some(next) = data.messages.next {
                p { a.more href={ "/chat/" (customer.id) "?after=" (next) } { "← " (staff.t("chat.older")) } }
            }
            (render_messages(staff, &data.messages.items, &name, &data.names, true))
        }
        (send_form(staff, customer.id, About::Choose { orders: &data.orders, current: data.current }, &back, error, text, data.reply))
    }
}

/// `POST /chat/{customer}/read`: marks the conversation read (crm-lib checks
/// `chat_customers`; nothing is written when nothing was unread). Answers 204 to scripts and
/// goes back to the conversation otherwise.
async fn mark_read(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(customer): Path<u64>,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = CustomerId::new(customer);
    let actor = staff.actor.clone();
    state
        .blocking(move |crm| crm.mark_read(&actor, customer))
        .await?;
    if headers
        .get("x-requested-with")
        .is_some_and(|value| value.as_bytes() == b"fetch")
    {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    Ok(Redirect::to(&format!("/chat/{customer}")).into_response())
}

/// A file of the send form, read into memory (the request size limit bounds it).
struct Upload {
    bytes: Vec<u8>,
    mime: String,
    file_name: Option<String>,
}

/// The send form's fields.
#[derive(Default)]
struct SendFields {
    csrf: String,
    text: String,
    order: Option<u64>,
    back: String,
    files: Vec<Upload>,
    /// The other small fields (reply_to, as_sticker, latitude, contact_phone...).
    extra: HashMap<String, String>,
    /// The canned response chosen in the composer, whose files are attached.
    canned: Option<u64>,
}

async fn read_fields(mut multipart: Multipart) -> Result<SendFields, AppError> {
    let mut fields = SendFields::default();
    let bad = |error: axum::extract::multipart::MultipartError| {
        AppError::new(error.status(), error.body_text())
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "csrf" => fields.csrf = field.text().await.map_err(bad)?,
            "text" => fields.text = field.text().await.map_err(bad)?,
            "back" => fields.back = field.text().await.map_err(bad)?,
            "canned" => fields.canned = field.text().await.map_err(bad)?.trim().parse().ok(),
            "order" => {
                let text = field.text().await.map_err(bad)?;
                let text = text.trim();
                fields.order = if text.is_empty() {
                    None
                } else {
                    Some(text.parse().map_err(|_| {
                        AppError::bad_request(format!("{text:?} is not an order number"))
                    })?)
                };
            }
            "file" => {
                let file_name = field.file_name().map(str::to_string);
                let mime = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                let bytes = field.bytes().await.map_err(bad)?;
                // A file input left empty still sends a part with no name and no bytes.
                if !bytes.is_empty() {
                    fields.files.push(Upload {
                        bytes: bytes.to_vec(),
                        mime,
                        file_name: file_name.filter(|name| !name.is_empty()),
                    });
                }
            }
            "reply_to" | "as_sticker" | "latitude" | "longitude" | "venue_title"
            | "venue_address" | "contact_phone" | "contact_first_name" | "contact_last_name" => {
                let value = field.text().await.map_err(bad)?;
                fields.extra.insert(name, value.trim().to_string());
            }
            _ => {}
        }
    }
    Ok(fields)
}

/// The reply, location, venue or contact of the send form: the small fields it has (empty
/// ones are left out). A number that does not parse is a form error on its field.
fn form_content(
    extra: &HashMap<String, String>,
) -> Result<(Option<crm_lib::model::MessageId>, Option<MessageContent>), crm_lib::Error> {
    let given = |name: &str| {
        extra
            .get(name)
            .map(String::as_str)
            .filter(|text| !text.is_empty())
    };
    let reply_to = match given("reply_to") {
        Some(text) => Some(crm_lib::model::MessageId::new(text.parse().map_err(
            |_| crm_lib::Error::invalid("reply_to", format!("{text:?} is not a message number")),
        )?)),
        None => None,
    };
    let number = |name: &'static str| -> Result<f64, crm_lib::Error> {
        let text = given(name).unwrap_or_default().replace(',', ".");
        text.parse::<f64>()
            .map_err(|_| crm_lib::Error::invalid(name, format!("{text:?} is not a number")))
    };
    let content = if given("latitude").is_some() || given("longitude").is_some() {
        let (latitude, longitude) = (number("latitude")?, number("longitude")?);
        match (given("venue_title"), given("venue_address")) {
            (Some(title), address) => Some(MessageContent::Venue {
                latitude,
                longitude,
                title: title.to_string(),
                address: address.unwrap_or_default().to_string(),
            }),
            (None, _) => Some(MessageContent::Location {
                latitude,
                longitude,
            }),
        }
    } else if given("contact_phone").is_some() || given("contact_first_name").is_some() {
        Some(MessageContent::Contact {
            phone: given("contact_phone").unwrap_or_default().to_string(),
            first_name: given("contact_first_name").unwrap_or_default().to_string(),
            last_name: given("contact_last_name").map(str::to_string),
        })
    } else {
        None
    };
    Ok((reply_to, content))
}

/// Where to go after sending: the conversation, or the order page the panel was on.
fn safe_back(back: &str, customer: CustomerId) -> String {
    let digits = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    match back
        .strip_prefix("/orders/")
        .or_else(|| back.strip_prefix("/chat/"))
    {
        Some(rest) if digits(rest) => back.to_string(),
        _ => format!("/chat/{customer}"),
    }
}

/// `POST /chat/{customer}`: sends the message with its file, if any (crm-lib stores the file
/// in the message's transaction, so a refused message stores nothing; delivery to Telegram
/// goes from the outbox), and goes back to where the form was.
async fn send(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(customer): Path<u64>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let customer = CustomerId::new(customer);
    let fields = read_fields(multipart).await?;
    csrf::verify(&staff, &fields.csrf, &headers)?;
    let back = safe_back(&fields.back, customer);
    let actor = staff.actor.clone();
    let (text, order, files, canned) = (
        fields.text.clone(),
        fields.order.map(OrderId::new),
        fields.files,
        fields.canned.map(crm_lib::model::CannedId::new),
    );
    let as_sticker = fields
        .extra
        .get("as_sticker")
        .is_some_and(|value| value == "1");
    let extra = fields.extra.clone();
    let sent = state
        .blocking(move |crm| {
            let (reply_to, content) = form_content(&extra)?;
            let mut outbound = Vec::with_capacity(files.len());
            for file in files {
                let media = NewMedia::parse(file.bytes, &file.mime)?;
                outbound.push(OutboundFile {
                    kind: if as_sticker {
                        MediaKind::Sticker
                    } else {
                        crate::web::api::customers::kind_of(media.mime())
                    },
                    media,
                    file_name: file.file_name,
                });
            }
            // A canned response chosen in the composer brings its stored files.
            let attachments = match canned {
                Some(id) => {
                    crm.read(|view| crm_lib::canned::canned_in(view, &actor, id))?
                        .attachments
                }
                None => Vec::new(),
            };
            let message = OutboundMessage {
                customer,
                order,
                text,
                attachments,
                reply_to,
                content,
            };
            crm.post_outbound_with_files(&actor, message, outbound)
        })
        .await;
    match sent {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(error)
            if matches!(
                error.kind(),
                crm_lib::ErrorKind::InvalidInput | crm_lib::ErrorKind::Conflict
            ) =>
        {
            // Show the conversation again with the error and the text kept.
            let data = load_conversation(&state, &staff, customer, None).await?;
            let mut response =
                conversation_page(&staff, &data, &FormError::from_error(&error), &fields.text)
                    .into_response();
            *response.status_mut() = status_of(error.kind());
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}

/// The edit form of a message.
#[derive(Debug, Deserialize)]
struct EditForm {
    csrf: String,
    text: String,
}

/// Answers a message action: back to the conversation, or the conversation with the error
/// for a refused one (invalid, conflict).
async fn after_action(
    state: &AppState,
    staff: &Staff,
    customer: CustomerId,
    result: crm_lib::Result<()>,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/chat/{customer}")).into_response()),
        Err(error)
            if matches!(
                error.kind(),
                crm_lib::ErrorKind::InvalidInput | crm_lib::ErrorKind::Conflict
            ) =>
        {
            let data = load_conversation(state, staff, customer, None).await?;
            let mut response =
                conversation_page(staff, &data, &FormError::from_error(&error), "").into_response();
            *response.status_mut() = status_of(error.kind());
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /chat/{customer}/messages/{message}/edit`: staff edit their message (crm-lib sends
/// the edit to Telegram through the outbox and keeps the earlier text).
async fn edit_message(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((customer, message)): Path<(u64, u64)>,
    Form(form): Form<EditForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = CustomerId::new(customer);
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| {
            crm.edit_outbound(&actor, MessageId::new(message), &form.text)
                .map(drop)
        })
        .await;
    after_action(&state, &staff, customer, result).await
}

/// `POST /chat/{customer}/messages/{message}/delete`: staff delete their message (in
/// Telegram too, within its 48 hours).
async fn delete_message(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((customer, message)): Path<(u64, u64)>,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = CustomerId::new(customer);
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| {
            crm.delete_outbound(&actor, MessageId::new(message))
                .map(drop)
        })
        .await;
    after_action(&state, &staff, customer, result).await
}

/// `POST /chat/{customer}/messages/{message}/phone`: the phone of a contact the customer sent
/// becomes their phone.
async fn take_phone(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path((customer, message)): Path<(u64, u64)>,
    Form(form): Form<crate::web::auth::CsrfForm>,
) -> Result<Response, AppError> {
    csrf::verify(&staff, &form.csrf, &headers)?;
    let customer = CustomerId::new(customer);
    let actor = staff.actor.clone();
    let result = state
        .blocking(move |crm| {
            crm.take_contact_phone(&actor, MessageId::new(message))
                .map(drop)
        })
        .await;
    after_action(&state, &staff, customer, result).await
}

/// `GET /media/{hash}`: a stored file, with its recorded type, for a staff user who may see a
/// message or an order carrying it (crm-lib's `visible_media` decides); any other file is not
/// found, so hashes cannot be probed. Pictures show inline; anything else downloads, and no
/// file may run a script in the appliance's origin.
async fn media(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, AppError> {
    let hash = MediaHash::parse_hex(&hash).map_err(|_| AppError::not_found("no such file"))?;
    let etag = format!("\"{}\"", hash.to_hex());
    let actor = staff.actor.clone();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == etag)
    {
        // Still only for a reader who may see the file, without reading its bytes.
        state
            .blocking(move |crm| crm.visible_media(&actor, hash))
            .await?;
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    let crm_lib::media::MediaFile { media, bytes } = state
        .blocking(move |crm| crm.read_visible_media(&actor, hash))
        .await?;
    let attachment = Attachment {
        media: hash,
        kind: MediaKind::Document,
        file_name: None,
        mime: media.mime.clone(),
        size: media.size,
    };
    let mut response = bytes.into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media.mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    out.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(if inline_image(&attachment) {
            "inline"
        } else {
            "attachment"
        }),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; sandbox"),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    Ok(response)
}

/// The messages of one order, for the order page's chat panel.
#[derive(Debug, Clone)]
pub struct OrderChat {
    /// The order.
    pub order: OrderId,
    /// Its customer.
    pub customer: Customer,
    /// The newest messages about the order.
    pub messages: Paged<Message>,
    /// Staff display names, for authors.
    pub names: HashMap<UserId, String>,
}

/// Reads the order's chat panel: the newest messages about `order` and its customer. Call it
/// when crm-lib's `OrderActions::chat` says the actor may chat about the order; `None` when
/// they may not read the customer's record after all.
///
/// # Errors
/// Not found; permission denied when the actor may not chat about the order; a store error.
pub fn read_order_chat(
    view: &impl crm_lib::View,
    actor: &Actor,
    order: &crm_lib::model::Order,
) -> crm_lib::Result<Option<OrderChat>> {
    let messages =
        crm_lib::chat::messages_of_order_in(view, actor, order.id, Page::first(MESSAGES_PER_PAGE))?;
    let customer = match crm_lib::customers::customer_in(view, actor, order.customer) {
        Ok(customer) => customer,
        Err(error) if error.kind() == crm_lib::ErrorKind::PermissionDenied => return Ok(None),
        Err(error) => return Err(error),
    };
    let names = author_names(view, actor)?;
    Ok(Some(OrderChat {
        order: order.id,
        customer,
        messages,
        names,
    }))
}

/// The order page's chat panel: the messages about the order (live) and a send form whose
/// messages are about this order. Include it where the order page wants it.
pub fn order_panel(staff: &Staff, chat: &OrderChat) -> Markup {
    let back = format!("/orders/{}", chat.order);
    html! {
        section.card.order-chat #order-chat data-order-chat=(chat.order) data-chat-customer=(chat.customer.id) {
            h2 { (staff.t("chat.order_messages")) }
            p.muted { a href={ "/chat/" (chat.customer.id) } { (staff.t("chat.open_conversation")) " →" } }
            @if chat.customer.unreachable {
                p.error role="alert" { (staff.t("chat.unreachable")) }
            }
            div.chat-messages data-chat-messages {
                (render_messages(staff, &chat.messages.items, &chat.customer.full_name(), &chat.names, false))
            }
            (send_form(staff, chat.customer.id, About::Fixed(chat.order), &back, &FormError::none(), "", None))
        }
        (scripts())
    }
}

#[cfg(test)]
mod tests {
    use crm_lib::model::{BuiltinRole, Language};
    use insta::assert_snapshot;

    use super::*;
    use crate::web::testing::{Fixture, pretty};

    #[test]
    fn the_return_path_is_a_local_order_or_chat_page_only() {
        let customer = CustomerId::new(7);
        assert_eq!(safe_back("/orders/12", customer), "/orders/12");
        assert_eq!(safe_back("/chat/7", customer), "/chat/7");
        for bad in [
            "",
            "//evil.example",
            "https://evil.example/",
            "/orders/",
            "/orders/1/x",
            "/admin",
        ] {
            assert_eq!(safe_back(bad, customer), "/chat/7", "{bad:?}");
        }
    }

    #[test]
    fn the_inbox_lists_conversations_with_unread_counts() {
        let fixture = Fixture::new("studio");
        fixture.sample();
        let conversations = fixture
            .crm
            .conversations(&fixture.system(), Page::first(CONVERSATIONS_PER_PAGE))
            .unwrap();
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        assert_snapshot!(pretty(&inbox_body(&staff, &conversations)));
    }

    #[test]
    fn with_the_operators_module_an_archived_conversation_leaves_the_inbox_for_the_archived_list() {
        use crm_lib::View;
        use crm_lib::chat::{InboundMessage, OrderChoice};
        use crm_lib::customers::NewCustomer;
        use crm_lib::model::Timestamp;

        let fixture = Fixture::new("helpdesk");
        let system = fixture.system();
        let mut customers = Vec::new();
        for (telegram, name) in [("5101", "Olga"), ("5102", "Pavel")] {
            let customer = fixture
                .crm
                .create_customer(
                    &system,
                    NewCustomer {
                        telegram_id: telegram.into(),
                        first_name: name.into(),
                        ..NewCustomer::default()
                    },
                )
                .unwrap();
            fixture
                .crm
                .post_inbound(
                    &Actor::customer(fixture.org.id, customer.id),
                    InboundMessage {
                        customer: customer.id,
                        about: OrderChoice::None,
                        text: "Hello".into(),
                        attachments: Vec::new(),
                        telegram_message_id: None,
                        content: None,
                        reply_to_telegram: None,
                        media_group: None,
                    },
                )
                .unwrap();
            customers.push(customer);
        }
        // The fixture's clock stands still: Olga's conversation is archived as if it had been
        // closed long enough ago.
        fixture
            .crm
            .close_conversation(&system, customers[0].id)
            .unwrap();
        let org = fixture.org.id;
        let archived = fixture
            .crm
            .write(move |tx| {
                let older_than = Timestamp::from_millis(tx.now().millis() + 1);
                tx.archive_closed_conversations(org, older_than, 10)
            })
            .unwrap();
        assert_eq!(archived, 1);
        let staff = fixture.staff(BuiltinRole::Manager, Language::EN);
        let inbox = fixture
            .crm
            .conversations(&system, Page::first(CONVERSATIONS_PER_PAGE))
            .unwrap();
        let inbox = pretty(&inbox_body(&staff, &inbox));
        assert!(inbox.contains("href=\"/chat?archived=1\""), "{inbox}");
        assert!(
            inbox.contains("Pavel") && !inbox.contains("Olga"),
            "{inbox}"
        );
        let list = fixture
            .crm
            .archived_conversations(&system, Page::first(CONVERSATIONS_PER_PAGE))
            .unwrap();
        assert_snapshot!(pretty(&archived_body(&staff, &list)));
    }

    #[test]
    fn a_conversation_shows_messages_oldest_first_and_preselects_the_current_order() {
        let fixture = Fixture::new("studio");
        let sample = fixture.sample();
        let data = fixture
            .crm
            .read(|view| read_conversation(view, &fixture.system(), sample.maria.id, None))
            .unwrap();
        assert_eq!(data.current, Some(sample.orders[1]));
        let staff = fixture.staff(BuiltinRole::Manager, Language::RU);
        let error = FormError::from_error(&crm_lib::Error::invalid("text", "is too long"));
        assert_snapshot!(pretty(&conversation_body(
            &staff,
            &data,
            &error,
            "Draft <reply>"
        )));
    }
}
