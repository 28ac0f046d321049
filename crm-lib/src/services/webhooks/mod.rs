//! Outbound webhooks (SPEC 5F): per-organization endpoints subscribed to event types, each
//! event queued as one typed delivery per endpoint in the transaction that caused it, signed
//! as the Standard Webhooks specification defines (<https://www.standardwebhooks.com>), sent
//! by the appliance after commit with retries, and kept with every attempt (the delivery log)
//! for [`DELIVERY_RETENTION_DAYS`]. Available to every organization; managing endpoints and
//! reading the log needs `manage_settings`.
//!
//! # Emission
//! A use case calls [`emit`] once with a [`WebhookEvent`]: one read of the organization's
//! endpoints (an empty prefix when it has none, so emission costs one small read), and when
//! an enabled endpoint subscribes to the event's type, the JSON body is built once
//! (`{"type": "order.created", "timestamp": "<RFC 3339>", "data": {...}}`) and one
//! [`WebhookDelivery`] is queued per such endpoint, due at once. The tokens area emits
//! `payment.succeeded` the same way:
//! `crm_lib::webhooks::emit(tx, org, WebhookEvent::PaymentSucceeded { .. })`.
//!
//! # Delivery
//! crm-lib knows no HTTP. The appliance's sender reads the due deliveries
//! ([`System::due_webhooks`](crate::system::System::due_webhooks)), asks each for its request
//! ([`DueWebhook::request`]: URL, the three headers, the body), sends it, and reports the
//! outcome ([`System::webhook_attempted`](crate::system::System::webhook_attempted)). A 2xx
//! answer is success; anything else (another status, a timeout, a refused connection) is
//! retried on [`RETRY_SCHEDULE_MS`] (at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) and
//! then failed. A 410 Gone is a failure like any other: nothing is disabled automatically.
//! The message id (`webhook-id`) stays the same across retries and redeliveries, so
//! receivers deduplicate by it; the timestamp and signature are made per attempt.
//!
//! # URLs
//! An endpoint's URL is an absolute `http://` or `https://` URL with a host (a name, an IPv4
//! address or a bracketed IPv6 address) and an optional port, at most [`URL_MAX_CHARS`]
//! characters, without spaces, control characters or user information (`user:pass@`, which
//! would put a credential in pages and logs). Loopback and private addresses are allowed:
//! the appliance often runs beside its receivers.

mod commands;
mod delivery;
mod signature;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::model::*;
use crate::store::declarations::webhook_log_key;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Error, Page, Paged, Result, Tx, View};

#[cfg(test)]
pub(crate) use delivery::due_webhooks_in;
pub use delivery::{DueWebhook, WebhookOutcome, WebhookRequest};
pub use signature::{
    HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, SECRET_BYTES, SECRET_PREFIX,
    generate_message_id, generate_secret, secret_key, sign,
};

use super::require;

/// The longest endpoint URL, in characters.
pub const URL_MAX_CHARS: usize = 2000;

/// The longest endpoint description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 200;

/// The most endpoints an organization keeps.
pub const ENDPOINTS_MAX: usize = 20;

/// When each scheduled attempt is made, in milliseconds after the previous one failed (the
/// first: after the event): Standard Webhooks' suggested schedule. After the last, the
/// delivery fails.
pub const RETRY_SCHEDULE_MS: &[i64] = &[
    0,
    5_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3_600_000,
    5 * 3_600_000,
    10 * 3_600_000,
    10 * 3_600_000,
];

/// Days a finished delivery and its attempts are kept after it was queued.
pub const DELIVERY_RETENTION_DAYS: i64 = 30;

/// The most attempts kept on one delivery (the oldest go first).
pub const ATTEMPTS_KEPT: usize = 50;

/// The longest error text kept of an attempt, in characters.
pub const ERROR_MAX_CHARS: usize = 500;

/// What staff give when adding or changing an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookInput {
    /// The URL (see the [module documentation](self) for the rule).
    pub url: String,
    /// What it is for, at most 200 characters; may be empty.
    pub description: String,
    /// The event types, in their string form (`order.created`); at least one, each among
    /// [`WebhookEventType::SUBSCRIBABLE`]. Repeats are dropped.
    pub events: Vec<String>,
    /// Whether it receives events.
    pub enabled: bool,
}

/// An event that webhooks report, with the fields a receiver needs. The use case that caused
/// it passes it to [`emit`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// An order was created.
    OrderCreated {
        /// The order.
        order: OrderId,
        /// Its customer.
        customer: CustomerId,
        /// Its title.
        title: String,
        /// The stage it starts in.
        stage: StageId,
        /// The customer's budget, in minor units.
        budget: Option<Money>,
    },
    /// An order moved to another stage (a move, an approval or a rejection).
    OrderStageChanged {
        /// The order.
        order: OrderId,
        /// Its customer.
        customer: CustomerId,
        /// The stage it left.
        from: StageId,
        /// The stage it is in now.
        to: StageId,
    },
    /// A customer deleted their order.
    OrderDeleted {
        /// The order.
        order: OrderId,
        /// Its customer.
        customer: CustomerId,
    },
    /// A customer wrote a message.
    MessageReceived {
        /// The message.
        message: MessageId,
        /// Its author.
        customer: CustomerId,
        /// The order it is about, if any.
        order: Option<OrderId>,
        /// Its text (may be empty for a file).
        text: String,
    },
    /// A customer was created.
    CustomerCreated {
        /// The customer.
        customer: CustomerId,
        /// Their name as shown.
        name: String,
        /// Their Telegram account, if any.
        telegram_id: Option<TelegramUserId>,
        /// Their Telegram username, if any.
        username: Option<String>,
    },
    /// A payment succeeded (the tokens area).
    PaymentSucceeded {
        /// The payment's id, as the tokens area names it.
        payment: String,
        /// Who paid.
        customer: CustomerId,
        /// How much, in minor units of `currency`.
        amount: Money,
        /// The ISO 4217 code.
        currency: String,
    },
    /// A daily report was added to a project (issue 14).
    ProjectReportAdded {
        /// The project.
        project: ProjectId,
        /// Its client.
        client: CustomerId,
        /// The report.
        report: ReportId,
        /// The stage it is about.
        stage: ProjectStageId,
        /// Who wrote it.
        author: ActorRef,
        /// Its text (may be empty).
        text: String,
        /// How many photos and videos it carries.
        files: u32,
    },
    /// A change request of a project was approved, rejected or withdrawn.
    ProjectChangeRequestDecided {
        /// The project.
        project: ProjectId,
        /// Its client.
        client: CustomerId,
        /// The request.
        request: ChangeRequestId,
        /// Its state now.
        state: ChangeRequestState,
        /// Its amount, in minor units (negative: taken off the budget).
        amount: Money,
        /// The project's budget now (base plus approved change requests), in minor units.
        budget_total: Money,
        /// The project's currency.
        currency: String,
        /// Who decided: the client, or staff on their behalf.
        decided_by: ActorRef,
    },
    /// A document was attached to a project.
    ProjectDocumentAdded {
        /// The project.
        project: ProjectId,
        /// Its client.
        client: CustomerId,
        /// The document.
        document: crate::model::ProjectDocumentId,
        /// Its title.
        title: String,
        /// The file's name.
        file_name: String,
        /// PDF, image or office document.
        kind: crate::model::DocumentKind,
        /// The file's size in bytes.
        size: u64,
    },
}

impl WebhookEvent {
    /// The `customer.created` event of a customer just stored.
    pub fn customer_created(customer: &Customer) -> Self {
        WebhookEvent::CustomerCreated {
            customer: customer.id,
            name: customer.full_name(),
            telegram_id: customer.telegram_id,
            username: customer.username.clone(),
        }
    }

    /// The event's type.
    pub fn kind(&self) -> WebhookEventType {
        match self {
            WebhookEvent::OrderCreated { .. } => WebhookEventType::OrderCreated,
            WebhookEvent::OrderStageChanged { .. } => WebhookEventType::OrderStageChanged,
            WebhookEvent::OrderDeleted { .. } => WebhookEventType::OrderDeleted,
            WebhookEvent::MessageReceived { .. } => WebhookEventType::MessageReceived,
            WebhookEvent::CustomerCreated { .. } => WebhookEventType::CustomerCreated,
            WebhookEvent::PaymentSucceeded { .. } => WebhookEventType::PaymentSucceeded,
            WebhookEvent::ProjectReportAdded { .. } => WebhookEventType::ProjectReportAdded,
            WebhookEvent::ProjectChangeRequestDecided { .. } => {
                WebhookEventType::ProjectChangeRequestDecided
            }
            WebhookEvent::ProjectDocumentAdded { .. } => WebhookEventType::ProjectDocumentAdded,
        }
    }

    /// The payload's `data`: ids as numbers, money in minor units, stages by id and name.
    fn data(&self, org: &Organization) -> Value {
        let stage = |id: StageId| {
            json!({
                "id": id.get(),
                "name": org.pipeline.stage(id).map(|stage| stage.name(org.settings.locale).to_string()),
            })
        };
        match self {
            WebhookEvent::OrderCreated {
                order,
                customer,
                title,
                stage: at,
                budget,
            } => json!({
                "order_id": order.get(),
                "customer_id": customer.get(),
                "title": title,
                "stage": stage(*at),
                "budget": budget.map(|money| money.0),
                "currency": org.settings.currency,
            }),
            WebhookEvent::OrderStageChanged {
                order,
                customer,
                from,
                to,
            } => json!({
                "order_id": order.get(),
                "customer_id": customer.get(),
                "from": stage(*from),
                "to": stage(*to),
            }),
            WebhookEvent::OrderDeleted { order, customer } => json!({
                "order_id": order.get(),
                "customer_id": customer.get(),
            }),
            WebhookEvent::MessageReceived {
                message,
                customer,
                order,
                text,
            } => json!({
                "message_id": message.get(),
                "customer_id": customer.get(),
                "order_id": order.map(OrderId::get),
                "text": text,
            }),
            WebhookEvent::CustomerCreated {
                customer,
                name,
                telegram_id,
                username,
            } => json!({
                "customer_id": customer.get(),
                "name": name,
                "telegram_id": telegram_id.map(|id| id.0),
                "username": username,
            }),
            WebhookEvent::PaymentSucceeded {
                payment,
                customer,
                amount,
                currency,
            } => json!({
                "payment_id": payment,
                "customer_id": customer.get(),
                "amount": amount.0,
                "currency": currency,
            }),
            WebhookEvent::ProjectReportAdded {
                project,
                client,
                report,
                stage,
                author,
                text,
                files,
            } => json!({
                "project_id": project.get(),
                "customer_id": client.get(),
                "report_id": report.get(),
                "stage_id": stage.get(),
                "author": author.to_string(),
                "text": text,
                "files": files,
            }),
            WebhookEvent::ProjectChangeRequestDecided {
                project,
                client,
                request,
                state,
                amount,
                budget_total,
                currency,
                decided_by,
            } => json!({
                "project_id": project.get(),
                "customer_id": client.get(),
                "change_request_id": request.get(),
                "state": state.as_str(),
                "amount": amount.0,
                "budget_total": budget_total.0,
                "currency": currency,
                "decided_by": decided_by.to_string(),
            }),
            WebhookEvent::ProjectDocumentAdded {
                project,
                client,
                document,
                title,
                file_name,
                kind,
                size,
            } => json!({
                "project_id": project.get(),
                "customer_id": client.get(),
                "document_id": document.get(),
                "title": title,
                "file_name": file_name,
                "kind": kind.as_str(),
                "size": size,
            }),
        }
    }
}

/// The JSON body of a message: Standard Webhooks' shape.
fn body(kind: WebhookEventType, at: Timestamp, data: Value) -> String {
    json!({
        "type": kind.as_str(),
        "timestamp": at.to_rfc3339(),
        "data": data,
    })
    .to_string()
}

fn endpoint_key(org: OrgId, id: WebhookEndpointId) -> Key {
    Key::org(org).u64(id.0)
}

fn delivery_key(org: OrgId, id: WebhookDeliveryId) -> Key {
    Key::org(org).u64(id.0)
}

fn load_endpoint(view: &impl View, org: OrgId, id: WebhookEndpointId) -> Result<WebhookEndpoint> {
    view.get(tables::WEBHOOK_ENDPOINTS, &endpoint_key(org, id))?
        .ok_or_else(|| Error::not_found(WebhookEndpointId::LABEL, id))
}

fn load_delivery(view: &impl View, org: OrgId, id: WebhookDeliveryId) -> Result<WebhookDelivery> {
    view.get(tables::WEBHOOK_DELIVERIES, &delivery_key(org, id))?
        .ok_or_else(|| Error::not_found(WebhookDeliveryId::LABEL, id))
}

fn all_endpoints(view: &impl View, org: OrgId) -> Result<Vec<WebhookEndpoint>> {
    view.records_with_prefix(tables::WEBHOOK_ENDPOINTS, &Key::org(org))
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Checks an endpoint URL (the rule is in the [module documentation](self)) and returns it
/// trimmed, its scheme lowered.
///
/// # Errors
/// Invalid input on `url` saying what is wrong.
pub fn check_url(url: &str) -> Result<String> {
    let url = url.trim();
    let invalid = |why: &str| Error::invalid("url", why.to_string());
    if url.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if url.chars().count() > URL_MAX_CHARS {
        return Err(invalid(&format!(
            "is {} characters, over the limit of {URL_MAX_CHARS}",
            url.chars().count()
        )));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain spaces or control characters"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("must be an absolute http:// or https:// URL"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(invalid("must be an absolute http:// or https:// URL"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return Err(invalid(
            "must not carry a user name or password (user:pass@)",
        ));
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (address, after) = inner
            .split_once(']')
            .ok_or_else(|| invalid("has an unclosed [ in its host"))?;
        if address.is_empty()
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(invalid("has an invalid IPv6 address"));
        }
        match after {
            "" => (address, None),
            port => (
                address,
                Some(
                    port.strip_prefix(':')
                        .ok_or_else(|| invalid("has text after its IPv6 address"))?,
                ),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(invalid("must name a host"));
    }
    if !authority.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(invalid("has an invalid host name"));
    }
    if let Some(port) = port
        && !(port.chars().all(|c| c.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|port| port > 0))
    {
        return Err(invalid("has an invalid port (1-65535)"));
    }
    Ok(format!("{scheme}://{rest}"))
}

/// Checks an input: URL, description, events.
fn checked_input(input: &WebhookInput) -> Result<(String, String, BTreeSet<WebhookEventType>)> {
    let url = check_url(&input.url)?;
    let description = input.description.trim().to_string();
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(Error::invalid(
            "description",
            format!("is over the limit of {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    if description.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(
            "description",
            "must not contain control characters",
        ));
    }
    let mut events = BTreeSet::new();
    for text in &input.events {
        let kind = WebhookEventType::parse(text).ok_or_else(|| {
            Error::invalid(
                "events",
                format!(
                    "unknown event type {:?}; known: {}",
                    cut(text.trim(), 64),
                    WebhookEventType::SUBSCRIBABLE
                        .iter()
                        .map(|kind| kind.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        events.insert(kind);
    }
    if events.is_empty() {
        return Err(Error::invalid("events", "choose at least one event type"));
    }
    Ok((url, description, events))
}

/// Queues one delivery of `body` to `endpoint`, due at once.
fn queue(
    tx: &mut Tx<'_>,
    org: OrgId,
    endpoint: WebhookEndpointId,
    kind: WebhookEventType,
    body: String,
) -> Result<WebhookDeliveryId> {
    let id = WebhookDeliveryId(tx.next_id(org, "webhook_delivery")?);
    let delivery = WebhookDelivery {
        id,
        endpoint,
        message_id: generate_message_id()?,
        event: kind,
        payload: body,
        state: WebhookDeliveryState::Pending,
        scheduled_attempts: 0,
        redelivering: false,
        next_attempt_at: tx.now(),
        attempts: Vec::new(),
        created_at: tx.now(),
    };
    tx.insert_record(&delivery_key(org, id), &delivery)?;
    Ok(id)
}

/// Queues `event` to every enabled endpoint of `org` subscribed to its type, in this
/// transaction; the appliance sends them after commit. The JSON body is built once, with the
/// transaction's time as its `timestamp`. Returns how many deliveries were queued.
///
/// One read of the organization's endpoints when it has none (the usual case, so the order
/// create path stays as fast as before); otherwise one organization read and one write per
/// delivery. No audit entry (the use case that calls it writes its own).
///
/// # Errors
/// Storage only (and no randomness for the message id).
pub fn emit(tx: &mut Tx<'_>, org: OrgId, event: WebhookEvent) -> Result<usize> {
    let kind = event.kind();
    let endpoints: Vec<WebhookEndpoint> = all_endpoints(tx, org)?
        .into_iter()
        .filter(|endpoint| endpoint.enabled && endpoint.events.contains(&kind))
        .collect();
    if endpoints.is_empty() {
        return Ok(0);
    }
    let organization = super::load_org(tx, org)?;
    let body = body(kind, tx.now(), event.data(&organization));
    for endpoint in &endpoints {
        queue(tx, org, endpoint.id, kind, body.clone())?;
    }
    Ok(endpoints.len())
}

/// The organization's endpoints, by id. Needs `manage_settings`.
///
/// # Errors
/// Permission denied.
pub fn webhooks_in(view: &impl View, actor: &Actor) -> Result<Vec<WebhookEndpoint>> {
    require(view, actor, Permission::ManageSettings)?;
    all_endpoints(view, actor.org)
}

/// One endpoint. Needs `manage_settings`.
///
/// # Errors
/// Permission denied; not found.
pub fn webhook_in(
    view: &impl View,
    actor: &Actor,
    id: WebhookEndpointId,
) -> Result<WebhookEndpoint> {
    require(view, actor, Permission::ManageSettings)?;
    load_endpoint(view, actor.org, id)
}

/// An endpoint's deliveries, newest first, keyset paged by delivery id (`page.after` is the
/// `next` of the previous page). Needs `manage_settings`.
///
/// # Errors
/// Permission denied; not found for an unknown endpoint.
pub fn webhook_deliveries_in(
    view: &impl View,
    actor: &Actor,
    endpoint: WebhookEndpointId,
    page: Page,
) -> Result<Paged<WebhookDelivery>> {
    require(view, actor, Permission::ManageSettings)?;
    load_endpoint(view, actor.org, endpoint)?;
    let prefix = Key::org(actor.org).u64(endpoint.0);
    let after = page
        .after
        .map(|after| webhook_log_key(actor.org, endpoint, WebhookDeliveryId(after)));
    let size = page.size();
    let keys = view.keys_with_prefix(
        tables::WEBHOOK_DELIVERIES_BY_ENDPOINT,
        &prefix,
        after.as_ref().map(Key::as_slice),
        true,
        size + 1,
    )?;
    let mut items = Vec::with_capacity(size);
    for key in keys.iter().take(size) {
        let id = WebhookDeliveryId(keys::tail_u64(key));
        let delivery = view
            .get(tables::WEBHOOK_DELIVERIES, &delivery_key(actor.org, id))?
            .ok_or_else(|| crate::store::dangling("webhook_deliveries_by_endpoint", key))?;
        items.push(delivery);
    }
    let next = if keys.len() > size {
        items.last().map(|delivery: &WebhookDelivery| delivery.id.0)
    } else {
        None
    };
    Ok(Paged { items, next })
}

/// One delivery with its attempts. Needs `manage_settings`.
///
/// # Errors
/// Permission denied; not found.
pub fn webhook_delivery_in(
    view: &impl View,
    actor: &Actor,
    id: WebhookDeliveryId,
) -> Result<WebhookDelivery> {
    require(view, actor, Permission::ManageSettings)?;
    load_delivery(view, actor.org, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            check_url(" HTTPS://example.com/hook?a=1 ").unwrap(),
            "https://example.com/hook?a=1"
        );
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("http://[::1]:9/x").is_ok());
        for bad in [
            "",
            "example.com/hook",
            "ftp://example.com",
            "https://",
            "https:///path",
            "https://user:pass@example.com/",
            "https://exa mple.com/",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https://example.com:x/",
            "https://[::1/",
            "https://ex<ample.com/",
        ] {
            let error = check_url(bad).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidInput, "{bad}");
        }
        let at_limit = format!("https://example.com/{}", "a".repeat(URL_MAX_CHARS - 20));
        assert_eq!(at_limit.chars().count(), URL_MAX_CHARS);
        assert!(check_url(&at_limit).is_ok());
        assert!(check_url(&format!("{at_limit}a")).is_err());
    }
}
