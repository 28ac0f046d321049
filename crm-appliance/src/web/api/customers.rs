//! `/api/v1/customers`, `/api/v1/conversations`, messages and media: read customers and their
//! conversations, send a message (text and stored files), mark a conversation read, upload a
//! file.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use crm_lib::{
    chat::OutboundMessage,
    model::{Attachment, CustomerId, MediaHash, MediaKind, MessageId, OrderId},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::ApiUser;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorResponse};
use super::views::{
    ContentJson, CustomerPage, CustomerView, MediaView, MessagePage, MessageView, PageQuery,
};
use crate::AppState;

/// A look-up instead of the list (crm-lib's `search_customers`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerLookup {
    /// A name, phone (four digits or more of it), @username, email or number: the customers
    /// matching it, oldest first, at most 20, in one page (`next` is null).
    pub q: Option<String>,
}

/// Customers, newest first, or with `q` the customers matching it (needs `chat_customers` or
/// `view_orders`).
#[utoipa::path(
    get, operation_id = "listCustomers", path = "/api/v1/customers", tag = "customers",
    params(PageQuery, CustomerLookup),
    responses(
        (status = 200, description = "A page of customers", body = CustomerPage),
        (status = 403, description = "The user may not see customers", body = ErrorResponse),
        (status = 422, description = "An empty or over-long `q`", body = ErrorResponse),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<PageQuery>,
    ApiQuery(lookup): ApiQuery<CustomerLookup>,
) -> Result<ApiJson<CustomerPage>, ApiError> {
    if let Some(q) = lookup.q {
        let found = state
            .blocking(move |crm| crm.search_customers(&user.actor, &q, None))
            .await?;
        return Ok(ApiJson(CustomerPage {
            items: found.iter().map(CustomerView::from).collect(),
            next: None,
        }));
    }
    let page = state
        .blocking(move |crm| crm.list_customers(&user.actor, query.page()))
        .await?;
    Ok(ApiJson(CustomerPage {
        items: page.items.iter().map(CustomerView::from).collect(),
        next: page.next,
    }))
}

/// A new customer; every field as typed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CreateCustomer {
    /// Telegram user id (a positive integer), when known; needed to message them.
    #[serde(default)]
    pub telegram_id: Option<i64>,
    /// Telegram username, with or without `@`.
    #[serde(default)]
    pub username: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Phone, E.164 after cleaning (`+79161234567`).
    #[serde(default)]
    pub phone: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// `en` or `ru`; empty for the organization's language.
    #[serde(default)]
    pub language: String,
}

/// Create a customer (needs `chat_customers`).
#[utoipa::path(
    post, operation_id = "createCustomer", path = "/api/v1/customers", tag = "customers", request_body = CreateCustomer,
    responses(
        (status = 201, description = "Created", body = CustomerView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 409, description = "The Telegram id belongs to another customer", body = ErrorResponse),
        (status = 422, description = "A bad field", body = ErrorResponse),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    ApiJson(body): ApiJson<CreateCustomer>,
) -> Result<(StatusCode, ApiJson<CustomerView>), ApiError> {
    let request = crm_lib::customers::NewCustomer {
        telegram_id: body
            .telegram_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        username: body.username,
        first_name: body.first_name,
        last_name: body.last_name,
        phone: body.phone,
        email: body.email,
        language: body.language,
    };
    let customer = state
        .blocking(move |crm| crm.create_customer(&user.actor, request))
        .await?;
    Ok((StatusCode::CREATED, ApiJson(CustomerView::from(&customer))))
}

/// Conversations by last activity, most recent first, with unread counts (needs
/// `chat_customers`).
#[utoipa::path(
    get, operation_id = "listConversations", path = "/api/v1/conversations", tag = "messages", params(PageQuery),
    responses(
        (status = 200, description = "A page of customers by last activity", body = CustomerPage),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
    )
)]
pub async fn conversations(
    State(state): State<AppState>,
    user: ApiUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<CustomerPage>, ApiError> {
    let page = state
        .blocking(move |crm| crm.conversations(&user.actor, query.page()))
        .await?;
    Ok(ApiJson(CustomerPage {
        items: page.items.iter().map(CustomerView::from).collect(),
        next: page.next,
    }))
}

/// One customer.
#[utoipa::path(
    get, operation_id = "getCustomer", path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer", body = CustomerView),
        (status = 403, description = "The user may not see customers", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<CustomerView>, ApiError> {
    let customer = state
        .blocking(move |crm| crm.customer(&user.actor, CustomerId::new(id)))
        .await?;
    Ok(ApiJson(CustomerView::from(&customer)))
}

/// A customer's conversation, newest first (needs `chat_customers`).
#[utoipa::path(
    get, operation_id = "listCustomerMessages", path = "/api/v1/customers/{id}/messages", tag = "messages",
    params(("id" = u64, Path, description = "Customer id"), PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
    )
)]
pub async fn messages(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<MessagePage>, ApiError> {
    let page = state
        .blocking(move |crm| {
            crm.messages_of_customer(&user.actor, CustomerId::new(id), query.page())
        })
        .await?;
    Ok(ApiJson(MessagePage {
        items: page.items.iter().map(MessageView::from).collect(),
        next: page.next,
    }))
}

/// The messages about one order, newest first (`chat_customers`, or the assignee's grant).
#[utoipa::path(
    get, operation_id = "listOrderMessages", path = "/api/v1/orders/{id}/messages", tag = "messages",
    params(("id" = u64, Path, description = "Order id"), PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 403, description = "No chat access to this order", body = ErrorResponse),
        (status = 404, description = "No such order", body = ErrorResponse),
    )
)]
pub async fn order_messages(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<MessagePage>, ApiError> {
    let page = state
        .blocking(move |crm| crm.messages_of_order(&user.actor, OrderId::new(id), query.page()))
        .await?;
    Ok(ApiJson(MessagePage {
        items: page.items.iter().map(MessageView::from).collect(),
        next: page.next,
    }))
}

/// A file of a message, already uploaded with `POST /api/v1/media`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AttachmentInput {
    /// The `hash` the upload returned.
    pub media: String,
    /// The file name the customer sees.
    #[serde(default)]
    pub file_name: Option<String>,
}

/// A message to a customer.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SendMessage {
    /// Text or caption, at most 4096 characters.
    #[serde(default)]
    pub text: String,
    /// The order it is about (the customer's).
    #[serde(default)]
    pub order: Option<u64>,
    /// Files, at most 10.
    #[serde(default)]
    pub attachments: Vec<AttachmentInput>,
    /// The message of the conversation it replies to (a Telegram reply).
    #[serde(default)]
    pub reply_to: Option<u64>,
    /// A location, venue or contact (without text or files), or `{"kind": "sticker"}` with
    /// one `.webp` file.
    #[serde(default)]
    pub content: Option<ContentJson>,
}

/// A new text for a staff message.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EditMessage {
    /// The new text or caption (at most 4096 characters, 1024 for a caption).
    pub text: String,
}

/// How Telegram sends a file of this type: pictures Telegram can show as photos, the rest as
/// documents.
pub fn kind_of(mime: &str) -> MediaKind {
    match mime {
        "image/jpeg" | "image/png" | "image/webp" => MediaKind::Photo,
        _ => MediaKind::Document,
    }
}

/// Send a message to a customer: stored at once, delivered to their Telegram from the outbox
/// (`chat_customers`, or the assignee's grant for a message about their order).
#[utoipa::path(
    post, operation_id = "sendMessage", path = "/api/v1/customers/{id}/messages", tag = "messages", request_body = SendMessage,
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 201, description = "Stored; delivery pending", body = MessageView),
        (status = 403, description = "No chat access", body = ErrorResponse),
        (status = 404, description = "No such customer, order or media", body = ErrorResponse),
        (status = 409, description = "The customer blocked the bot", body = ErrorResponse),
        (status = 422, description = "Empty or too long", body = ErrorResponse),
    )
)]
pub async fn send(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<SendMessage>,
) -> Result<(StatusCode, ApiJson<MessageView>), ApiError> {
    let mut attachments = Vec::with_capacity(body.attachments.len());
    for input in body.attachments {
        let media = MediaHash::parse_hex(&input.media)?;
        attachments.push(Attachment {
            media,
            // crm-lib takes the MIME type and size from the stored file; the kind follows it.
            kind: MediaKind::Document,
            file_name: input.file_name,
            mime: String::new(),
            size: 0,
        });
    }
    let org = user.actor.org;
    let content = body.content.map(ContentJson::into_content).transpose()?;
    let sticker = matches!(
        content,
        Some(crm_lib::model::MessageContent::Sticker { .. })
    );
    let message = state
        .blocking(move |crm| {
            for attachment in &mut attachments {
                attachment.kind = if sticker {
                    MediaKind::Sticker
                } else {
                    kind_of(&crm.system().media(org, attachment.media)?.mime)
                };
            }
            crm.post_outbound(
                &user.actor,
                OutboundMessage {
                    customer: CustomerId::new(id),
                    order: body.order.map(OrderId::new),
                    text: body.text,
                    attachments,
                    reply_to: body.reply_to.map(MessageId::new),
                    content,
                },
            )
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(MessageView::from(&message))))
}

/// Edit a staff message: its new text goes to Telegram (`editMessageText`, or
/// `editMessageCaption` for a caption); the earlier text is kept in `edits`. The author, or
/// anyone with `chat_customers`; a note is edited in place.
#[utoipa::path(
    post, operation_id = "editMessage", path = "/api/v1/messages/{id}/edit", tag = "messages", request_body = EditMessage,
    params(("id" = u64, Path, description = "Message id")),
    responses(
        (status = 200, description = "Edited; Telegram is told from the outbox", body = MessageView),
        (status = 403, description = "Not the author and no chat_customers", body = ErrorResponse),
        (status = 404, description = "No such message", body = ErrorResponse),
        (status = 409, description = "A customer's, deleted or unsent message", body = ErrorResponse),
        (status = 422, description = "Empty or too long", body = ErrorResponse),
    )
)]
pub async fn edit(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<EditMessage>,
) -> Result<ApiJson<MessageView>, ApiError> {
    let message = state
        .blocking(move |crm| crm.edit_outbound(&user.actor, MessageId::new(id), &body.text))
        .await?;
    Ok(ApiJson(MessageView::from(&message)))
}

/// Delete a staff message: marked deleted (staff still see it), deleted in Telegram
/// (`deleteMessage`) when it was sent less than 48 hours ago.
#[utoipa::path(
    delete, operation_id = "deleteMessage", path = "/api/v1/messages/{id}", tag = "messages",
    params(("id" = u64, Path, description = "Message id")),
    responses(
        (status = 200, description = "Deleted; Telegram is told from the outbox", body = MessageView),
        (status = 403, description = "Not the author and no chat_customers", body = ErrorResponse),
        (status = 404, description = "No such message", body = ErrorResponse),
        (status = 409, description = "A customer's, deleted, unsent or too old message", body = ErrorResponse),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<MessageView>, ApiError> {
    let message = state
        .blocking(move |crm| crm.delete_outbound(&user.actor, MessageId::new(id)))
        .await?;
    Ok(ApiJson(MessageView::from(&message)))
}

/// Mark a customer's conversation read (needs `chat_customers`).
#[utoipa::path(
    post, operation_id = "markConversationRead", path = "/api/v1/customers/{id}/read", tag = "messages",
    params(("id" = u64, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Read; unread is 0", body = CustomerView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 404, description = "No such customer", body = ErrorResponse),
    )
)]
pub async fn mark_read(
    State(state): State<AppState>,
    user: ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<CustomerView>, ApiError> {
    let customer = state
        .blocking(move |crm| crm.mark_read(&user.actor, CustomerId::new(id)))
        .await?;
    Ok(ApiJson(CustomerView::from(&customer)))
}

/// Upload a file (the raw bytes as the body, its type as `Content-Type`) to attach to a
/// message; at most 10 MiB. Needs `chat_customers`; the upload is audited. A file no message
/// refers to is deleted after 24 hours.
#[utoipa::path(
    post, operation_id = "uploadMedia", path = "/api/v1/media", tag = "messages",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes; Content-Type is its MIME type"),
    responses(
        (status = 201, description = "Stored", body = MediaView),
        (status = 403, description = "Missing chat_customers", body = ErrorResponse),
        (status = 413, description = "Over 10 MiB"),
        (status = 422, description = "Empty, or a bad MIME type", body = ErrorResponse),
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    user: ApiUser,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, ApiJson<MediaView>), ApiError> {
    let body =
        body.map_err(|rejection| ApiError::with_status(rejection.status(), rejection.body_text()))?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let media = state
        .blocking(move |crm| {
            let file = crm_lib::media::NewMedia::parse(body.to_vec(), &mime)?;
            crm.upload_media(&user.actor, file)
        })
        .await?;
    Ok((StatusCode::CREATED, ApiJson(MediaView::from(&media))))
}
