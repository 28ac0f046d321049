//! Outbound webhooks (SPEC 5F): an organization's endpoints, the event types they subscribe
//! to, and each message queued to an endpoint with its attempts (the delivery log). The rules
//! (URL check, secrets, signing, retries) are `crate::webhooks`.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Timestamp, WebhookDeliveryId, WebhookEndpointId};

/// The kind of event a webhook message reports. The string form ([`WebhookEventType::as_str`])
/// is stable: it is the payload's `type`, what the API and the CLI take, and what a receiver
/// switches on. Stored records name variants by position, so new ones go at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WebhookEventType {
    /// An order was created (`order.created`).
    OrderCreated,
    /// An order moved to another stage, including approval and rejection
    /// (`order.stage_changed`).
    OrderStageChanged,
    /// A customer deleted their order (`order.deleted`).
    OrderDeleted,
    /// A customer wrote a message (`message.received`).
    MessageReceived,
    /// A customer was created: first message to the bot, import, manual entry, a call from
    /// an unknown number (`customer.created`).
    CustomerCreated,
    /// A payment succeeded (`payment.succeeded`), emitted by the tokens area.
    PaymentSucceeded,
    /// A test event sent from the endpoint's page to that endpoint only (`webhook.test`);
    /// no endpoint subscribes to it.
    Test,
    /// A daily report was added to a project (`project.report_added`, issue 14).
    ProjectReportAdded,
    /// A project's change request was approved, rejected or withdrawn
    /// (`project.change_request_decided`).
    ProjectChangeRequestDecided,
    /// A document was attached to a project (`project.document_added`). Added after the
    /// others: stored subscriptions name their variant by position.
    ProjectDocumentAdded,
}

impl WebhookEventType {
    /// The types an endpoint may subscribe to, in the order pages list them.
    pub const SUBSCRIBABLE: &'static [WebhookEventType] = &[
        WebhookEventType::OrderCreated,
        WebhookEventType::OrderStageChanged,
        WebhookEventType::OrderDeleted,
        WebhookEventType::MessageReceived,
        WebhookEventType::CustomerCreated,
        WebhookEventType::PaymentSucceeded,
        WebhookEventType::ProjectReportAdded,
        WebhookEventType::ProjectChangeRequestDecided,
        WebhookEventType::ProjectDocumentAdded,
    ];

    /// The stable string form (`order.created`).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::OrderCreated => "order.created",
            WebhookEventType::OrderStageChanged => "order.stage_changed",
            WebhookEventType::OrderDeleted => "order.deleted",
            WebhookEventType::MessageReceived => "message.received",
            WebhookEventType::CustomerCreated => "customer.created",
            WebhookEventType::PaymentSucceeded => "payment.succeeded",
            WebhookEventType::Test => "webhook.test",
            WebhookEventType::ProjectReportAdded => "project.report_added",
            WebhookEventType::ProjectChangeRequestDecided => "project.change_request_decided",
            WebhookEventType::ProjectDocumentAdded => "project.document_added",
        }
    }

    /// The subscribable type whose string form is `text` (surrounding spaces ignored);
    /// `None` for anything else, `webhook.test` included.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::SUBSCRIBABLE
            .iter()
            .copied()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organization's webhook endpoint: where events of the subscribed types are POSTed,
/// signed with its secret (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// The id.
    pub id: WebhookEndpointId,
    /// The absolute `http://` or `https://` URL with a host, at most 2,000 characters.
    pub url: String,
    /// What it is for, at most 200 characters (may be empty).
    pub description: String,
    /// The event types it receives; never empty.
    pub events: BTreeSet<WebhookEventType>,
    /// Whether events are queued to it (a disabled endpoint receives nothing, and its
    /// pending messages fail as "endpoint disabled").
    pub enabled: bool,
    /// The signing secret: `whsec_` and the base64 of 32 random bytes. Shown to staff with
    /// `manage_settings` only; never logged.
    pub secret: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookDeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every scheduled attempt failed (or the endpoint was disabled).
    Failed,
}

impl WebhookDeliveryState {
    /// The stable string form: `pending`, `succeeded`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookDeliveryState::Pending => "pending",
            WebhookDeliveryState::Succeeded => "succeeded",
            WebhookDeliveryState::Failed => "failed",
        }
    }
}

/// One attempt to deliver a webhook message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAttempt {
    /// When the request was sent.
    pub at: Timestamp,
    /// The HTTP status the endpoint answered, if it answered.
    pub status: Option<u16>,
    /// What went wrong without an answer (timeout, connection refused), at most 500
    /// characters; also the reason of a non-2xx answer's failure, when known.
    pub error: Option<String>,
    /// How long the request took, in milliseconds.
    pub duration_ms: u32,
    /// Whether staff asked for it (redelivery) rather than the retry schedule.
    pub redelivery: bool,
}

/// One webhook message queued to one endpoint: the body built once when the event happened,
/// the message id receivers deduplicate by, and every attempt so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// The id.
    pub id: WebhookDeliveryId,
    /// The endpoint it goes to.
    pub endpoint: WebhookEndpointId,
    /// The `webhook-id` header: `msg_` and 24 random letters and digits, the same across
    /// retries and redeliveries.
    pub message_id: String,
    /// The event type.
    pub event: WebhookEventType,
    /// The JSON body (`{"type", "timestamp", "data"}`), exactly as sent.
    pub payload: String,
    /// Where it stands.
    pub state: WebhookDeliveryState,
    /// Scheduled attempts made so far (indexes the retry schedule); redeliveries do not
    /// count.
    pub scheduled_attempts: u32,
    /// Whether the pending attempt is a redelivery (one attempt, no retries after it).
    pub redelivering: bool,
    /// Not before this moment (meaningful while pending).
    pub next_attempt_at: Timestamp,
    /// Every attempt, oldest first (the most recent 50 are kept).
    pub attempts: Vec<WebhookAttempt>,
    /// When it was queued.
    pub created_at: Timestamp,
}
