//! The webhook sender (SPEC 5F): POSTs each due webhook delivery to its endpoint and reports
//! the outcome to crm-lib, which keeps the attempt in the delivery log and decides the retry
//! (`crm_lib::webhooks`).
//!
//! A loop of its own beside the bot's outbox loop, with its own due index in crm-lib
//! (`System::due_webhooks`): the Telegram sender's rate limiter never holds a webhook back,
//! and a slow receiver never holds a Telegram message back. Every commit wakes it (a commit
//! may have queued a delivery); otherwise it sleeps until the next delivery is due, at most
//! [`IDLE_WAIT`]. Each round reads at most [`DUE_BATCH`] deliveries and keeps at most
//! [`MAX_IN_FLIGHT`] requests in flight; a request has [`REQUEST_TIMEOUT`], follows no
//! redirect (a 3xx is a failed attempt) and reads at most a few KB of the answer. The URL's
//! query and the signing secret are never logged: logs name the delivery and its
//! organization.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_lib::model::{OrgId, Timestamp, WebhookDeliveryId};
use crm_lib::webhooks::{DueWebhook, WebhookOutcome};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::AppState;

/// Requests in flight at once.
const MAX_IN_FLIGHT: usize = 8;
/// Due deliveries read per round.
const DUE_BATCH: usize = 64;
/// The time one request may take, connection included.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest sleep without a wake-up.
const IDLE_WAIT: Duration = Duration::from_secs(5);
/// The shortest time between two rounds: every commit wakes the loop, and commits come by
/// the hundreds a second under load (as the outbox's `MIN_ROUND`, 20 rounds a second).
const MIN_ROUND: Duration = Duration::from_millis(50);

/// Starts the sender on the current runtime; every commit wakes it.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    let wake = Arc::new(Notify::new());
    let hook = wake.clone();
    state.crm().on_commit(move || hook.notify_one());
    super::spawn(|shutdown| run(state, wake, shutdown))
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

async fn run(state: AppState, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let http = client();
    let mut tasks: JoinSet<()> = JoinSet::new();
    // The delivery of each task in flight, by task (a panicked task still names its own).
    let mut in_flight: HashMap<tokio::task::Id, (OrgId, WebhookDeliveryId)> = HashMap::new();
    let mut last_round: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Some(wait) = last_round.and_then(|last| MIN_ROUND.checked_sub(last.elapsed())) {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => continue,
            }
        }
        last_round = Some(Instant::now());
        let now = Timestamp::now();
        let due = state
            .blocking(move |crm| crm.system().due_webhooks(now, DUE_BATCH))
            .await;
        // Whether this round started a request: a round that found only requests already in
        // flight waits for one of them (or a commit) instead of reading again at once.
        let mut started = false;
        match due {
            Ok(due) => {
                for due in due {
                    if tasks.len() >= MAX_IN_FLIGHT {
                        break;
                    }
                    let key = (due.org, due.id);
                    if in_flight.values().any(|taken| *taken == key) {
                        continue;
                    }
                    let state = state.clone();
                    let http = http.clone();
                    let handle = tasks.spawn(async move { attempt(&state, &http, due).await });
                    in_flight.insert(handle.id(), key);
                    started = true;
                }
            }
            Err(error) => tracing::warn!(%error, "reading the due webhook deliveries failed"),
        }
        let next_due = state
            .blocking(|crm| crm.system().next_webhook_due())
            .await
            .ok()
            .flatten();
        let sleep = match next_due {
            Some(at) => {
                let millis = at.millis().saturating_sub(Timestamp::now().millis());
                if millis <= 0 && !started && !in_flight.is_empty() {
                    // Only requests in flight are due: one finishing wakes the loop.
                    IDLE_WAIT
                } else {
                    Duration::from_millis(u64::try_from(millis).unwrap_or(0)).min(IDLE_WAIT)
                }
            }
            None => IDLE_WAIT,
        };
        tokio::select! {
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(error) => error.id(),
                };
                in_flight.remove(&id);
            }
            () = wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
            _ = shutdown.changed() => {}
        }
    }
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(1), drain)
        .await
        .is_err()
    {
        tracing::warn!(
            "stopping with webhook requests in flight; they are retried on the next start"
        );
    }
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
