//! The webhook sender (SPEC 5F): POSTs each due webhook delivery to its endpoint and reports
//! the outcome to crm-lib, which keeps the attempt in the delivery log and decides the retry
//! (`crm_lib::webhooks`).
//!
//! A loop of its own beside the bot's outbox loop, with its own due index in crm-lib
//! (`System::due_webhooks`): the Telegram sender's rate limiter never holds a webhook back,
//! and a slow receiver never holds a Telegram message back. Every commit wakes it (a commit
//! may have queued a delivery); otherwise it sleeps until the next delivery is due, at most
//! five seconds. Each round reads at most 64 deliveries and keeps at most 8 requests in
//! flight (the loop is [`super::due`]'s); a request has [`REQUEST_TIMEOUT`], follows no
//! redirect (a 3xx is a failed attempt) and reads at most a few KB of the answer. The URL's
//! query and the signing secret are never logged: logs name the delivery and its
//! organization.

use std::time::{Duration, Instant};

use crm_lib::Crm;
use crm_lib::model::{OrgId, Timestamp, WebhookDeliveryId};
use crm_lib::webhooks::{DueWebhook, WebhookOutcome};

use super::due::{self, DueSender};
use crate::AppState;

/// The time one request may take, connection included.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the sender on the current runtime; every commit wakes it.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    due::start(state, Webhooks { http: client() })
}

/// The webhook deliveries' queue (`System::due_webhooks`).
struct Webhooks {
    http: reqwest::Client,
}

impl DueSender for Webhooks {
    type Item = DueWebhook;
    type Key = (OrgId, WebhookDeliveryId);
    const MAX_IN_FLIGHT: usize = 8;
    const DUE_BATCH: usize = 64;
    const DRAIN: Option<Duration> = Some(REQUEST_TIMEOUT.saturating_add(Duration::from_secs(1)));
    const WHAT: &'static str = "webhook deliveries";

    fn due(crm: &Crm, now: Timestamp, limit: usize) -> crm_lib::Result<Vec<DueWebhook>> {
        crm.system().due_webhooks(now, limit)
    }

    fn next_due(crm: &Crm) -> crm_lib::Result<Option<Timestamp>> {
        crm.system().next_webhook_due()
    }

    fn key(item: &DueWebhook) -> Self::Key {
        (item.org, item.id)
    }

    async fn attempt(&self, state: AppState, item: DueWebhook) {
        attempt(&state, &self.http, item).await;
    }
}

/// The HTTP client: no redirects, a timeout per request, rustls.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .user_agent(concat!(
            "crm-appliance/",
            env!("CARGO_PKG_VERSION"),
            " (webhooks)"
        ))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Makes one attempt of `due` and records its outcome.
async fn attempt(state: &AppState, http: &reqwest::Client, due: DueWebhook) {
    let at = Timestamp::now();
    let started = Instant::now();
    let outcome = match due.request(at) {
        Ok(Some(request)) => {
            let mut builder = http
                .post(&request.url)
                .header("content-type", "application/json");
            for (name, value) in &request.headers {
                builder = builder.header(*name, value);
            }
            match builder.body(request.body).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    // The answer's body is not kept; reading a little lets the connection be
                    // reused.
                    let _ = tokio::time::timeout(Duration::from_secs(1), response.bytes()).await;
                    WebhookOutcome {
                        at,
                        status: Some(status),
                        error: (!(200..300).contains(&status))
                            .then(|| format!("the endpoint answered {status}")),
                        duration_ms: elapsed_ms(started),
                    }
                }
                Err(error) => WebhookOutcome {
                    at,
                    status: None,
                    error: Some(describe(&error)),
                    duration_ms: elapsed_ms(started),
                },
            }
        }
        Ok(None) => WebhookOutcome {
            at,
            status: None,
            error: Some("the endpoint is disabled or deleted".into()),
            duration_ms: 0,
        },
        Err(error) => WebhookOutcome {
            at,
            status: None,
            error: Some(format!("cannot sign the message: {error}")),
            duration_ms: 0,
        },
    };
    let (org, id) = (due.org, due.id);
    let status = outcome.status;
    match state
        .blocking(move |crm| crm.system().webhook_attempted(org, id, outcome))
        .await
    {
        Ok(delivery) => tracing::debug!(
            org = %state.bots().org_name(org),
            delivery = id.get(),
            status,
            state = delivery.state.as_str(),
            "webhook attempt"
        ),
        Err(error) => tracing::warn!(
            org = %state.bots().org_name(org),
            delivery = id.get(),
            %error,
            "recording a webhook attempt failed"
        ),
    }
}

fn elapsed_ms(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX)
}

/// A request error in words, without the URL (it may carry a token in its query).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirected"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
