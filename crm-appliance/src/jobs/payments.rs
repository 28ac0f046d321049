//! OxaPay's side of payments (crm-lib's `payments` area decides; this module only talks
//! HTTP): pending OxaPay invoices are created at OxaPay ("Generate Invoice") as soon as a
//! commit wakes the task, and what OxaPay answers (`track_id`, `payment_url`) goes back to
//! crm-lib, which queues the link to the customer; every `--payments-poll-seconds` (60) the
//! pending invoices' status is asked ("Payment Information") and handed to crm-lib like a
//! callback, the fallback for a callback that never came.
//!
//! The merchant key travels only in the `merchant_api_key` header and is never logged; the
//! errors logged here name the invoice and the HTTP status, not the request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_lib::model::{Invoice, OrgId};
use crm_lib::payments::{MERCHANT_KEY_HEADER, OxapayConfig};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::AppState;

/// How long one call to OxaPay may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The pause after a failed creation before the next attempt.
const RETRY: Duration = Duration::from_secs(30);

/// Starts the task on the current runtime; commits wake it.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    let wake = Arc::new(Notify::new());
    let hook = wake.clone();
    state.crm().on_commit(move || hook.notify_one());
    super::spawn(move |shutdown| run(state, wake, shutdown))
}

/// The HTTP client of OxaPay's API (rustls, a timeout on every call).
struct Client {
    http: reqwest::Client,
}

/// What went wrong with a call, in words that never hold the key.
#[derive(Debug)]
struct CallError(String);

impl Client {
    fn new() -> Option<Self> {
        match reqwest::Client::builder().timeout(TIMEOUT).build() {
            Ok(http) => Some(Client { http }),
            Err(error) => {
                tracing::error!(%error, "payments: building the HTTP client");
                None
            }
        }
    }

    /// The `data` object of an OxaPay answer, or why there is none.
    async fn data(response: reqwest::Result<reqwest::Response>) -> Result<Value, CallError> {
        let response =
            response.map_err(|error| CallError(format!("no answer: {}", error.without_url())))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|_| CallError(format!("HTTP {status}: not JSON")))?;
        if !status.is_success() {
            let message = body["message"].as_str().unwrap_or_default();
            return Err(CallError(format!("HTTP {status}: {message}")));
        }
        Ok(body["data"].clone())
    }

    /// "Generate Invoice": `POST {base}/v1/payment/invoice`; the `track_id` and `payment_url`.
    async fn create(
        &self,
        config: &OxapayConfig,
        invoice: &Invoice,
        callback_url: Option<&str>,
    ) -> Result<(String, String), CallError> {
        let mut body = json!({
            "amount": major_units(invoice.amount),
            "currency": invoice.currency,
            "lifetime": config.lifetime_minutes,
            "order_id": invoice.id.to_string(),
            "description": format!("{} tokens", invoice.tokens),
        });
        if let Some(url) = callback_url {
            body["callback_url"] = json!(url);
        }
        let response = self
            .http
            .post(format!("{}/v1/payment/invoice", config.base_url))
            .header(MERCHANT_KEY_HEADER, &config.merchant_key)
            .json(&body)
            .send()
            .await;
        let data = Self::data(response).await?;
        let track_id = match &data["track_id"] {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            _ => return Err(CallError("the answer has no track_id".into())),
        };
        let link = data["payment_url"]
            .as_str()
            .ok_or_else(|| CallError("the answer has no payment_url".into()))?
            .to_string();
        Ok((track_id, link))
    }

    /// "Payment Information": `GET {base}/v1/payment/{track_id}`; the `status`.
    async fn status(&self, config: &OxapayConfig, track_id: &str) -> Result<String, CallError> {
        let mut url = reqwest::Url::parse(&config.base_url)
            .map_err(|_| CallError("the base URL does not parse".into()))?;
        url.path_segments_mut()
            .map_err(|()| CallError("the base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(["v1", "payment", track_id]);
        let response = self
            .http
            .get(url)
            .header(MERCHANT_KEY_HEADER, &config.merchant_key)
            .send()
            .await;
        let data = Self::data(response).await?;
        data["status"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CallError("the answer has no status".into()))
    }
}

/// Minor units as OxaPay's decimal `amount` (2 decimals: 12345 -> 123.45).
fn major_units(minor: u64) -> f64 {
    // Exact for every price below 2^53 minor units.
    minor as f64 / 100.0
}

async fn run(state: AppState, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let Some(client) = Client::new() else {
        return;
    };
    let poll_every = Duration::from_secs(state.config().payments_poll_seconds);
    // Each organization's invoices name its own callback (`web::oxapay`).
    let callback_url = |slug: &str| {
        state
            .config()
            .public_url
            .as_ref()
            .and_then(|base| base.join(&format!("webhooks/oxapay/{slug}")).ok())
            .map(|url| url.to_string())
    };
    let mut next_poll = Instant::now() + poll_every;
    let mut retry_at: Option<Instant> = None;
    loop {
        let poll = Instant::now() >= next_poll;
        if retry_at.is_none_or(|at| Instant::now() >= at) || poll {
            retry_at = None;
            // Every enabled organization; a disabled one's payments wait.
            let orgs = match state
                .blocking(|crm| crm.system().enabled_organizations())
                .await
            {
                Ok(orgs) => orgs,
                Err(error) => {
                    tracing::warn!(error = %error, "payments: reading the organizations");
                    Vec::new()
                }
            };
            let mut failed = false;
            for org in orgs {
                let url = callback_url(&org.slug);
                let span = tracing::info_span!("payments", org = %org.slug);
                failed |= tracing::Instrument::instrument(
                    round(&state, &client, org.id, poll, url.as_deref()),
                    span,
                )
                .await;
            }
            if failed {
                retry_at = Some(Instant::now() + RETRY);
            }
        }
        if poll {
            next_poll = Instant::now() + poll_every;
        }
        let until = retry_at.map_or(next_poll, |at| at.min(next_poll));
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep_until(until.into()) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One round for `org`: creates the waiting invoices at OxaPay, and polls the pending ones
/// when `poll`. Returns whether a creation failed (to retry later).
async fn round(
    state: &AppState,
    client: &Client,
    org: OrgId,
    poll: bool,
    callback_url: Option<&str>,
) -> bool {
    let work = match state
        .blocking(move |crm| crm.system().oxapay_work(org))
        .await
    {
        Ok(work) => work,
        Err(error) => {
            tracing::warn!(%error, "payments: reading the pending invoices");
            return true;
        }
    };
    let Some(config) = work.config else {
        return false;
    };
    let mut failed = false;
    for invoice in work.to_create {
        match client.create(&config, &invoice, callback_url).await {
            Ok((track_id, link)) => {
                let id = invoice.id;
                let result = state
                    .blocking(move |crm| {
                        crm.system()
                            .oxapay_invoice_created(org, id, &track_id, &link)
                    })
                    .await;
                if let Err(error) = result {
                    tracing::warn!(invoice = id, %error, "payments: recording OxaPay's invoice");
                }
            }
            Err(CallError(reason)) => {
                tracing::warn!(invoice = invoice.id, %reason, "payments: creating the invoice at OxaPay");
                // Past the invoice's lifetime crm-lib closes it and tells the customer;
                // before that it is tried again.
                let id = invoice.id;
                let closed = state
                    .blocking(move |crm| crm.system().oxapay_create_failed(org, id, &reason))
                    .await;
                match closed {
                    Ok(true) => {}
                    Ok(false) => failed = true,
                    Err(error) => {
                        failed = true;
                        tracing::warn!(invoice = id, %error, "payments: recording the failed creation");
                    }
                }
            }
        }
    }
    if poll {
        for invoice in work.to_poll {
            let Some(track_id) = invoice.provider_id.clone() else {
                continue;
            };
            match client.status(&config, &track_id).await {
                Ok(status) => {
                    let result = state
                        .blocking(move |crm| crm.system().record_oxapay(org, &track_id, &status))
                        .await;
                    match result {
                        Ok(outcome) => {
                            tracing::debug!(invoice = invoice.id, ?outcome, "payments: polled")
                        }
                        Err(error) => {
                            tracing::warn!(invoice = invoice.id, %error, "payments: recording a polled status")
                        }
                    }
                }
                Err(CallError(reason)) => {
                    tracing::warn!(invoice = invoice.id, %reason, "payments: asking OxaPay for the status");
                }
            }
        }
    }
    failed
}
