//! The AI sender (the projects module's lead qualification, SPEC 5E): makes each due AI call
//! that crm-lib queued with a lead's message (`crm_lib::leads`), as an OpenAI-compatible
//! chat completion request, and hands the raw outcome back to crm-lib, which checks the
//! answer, writes it or counts a failure, and schedules any retry.
//!
//! A loop of its own, like the webhook sender: calls are made after commit, never inside the
//! inbox's transaction, and a slow model never holds back Telegram or a webhook. Every commit
//! wakes it (a commit may have queued a call); otherwise it sleeps until the next call is due,
//! at most five seconds. Each round reads at most 16 calls and keeps at most 4 requests in
//! flight (the loop is [`super::due`]'s); a request has the settings' timeout (connection and
//! answer included), follows no redirect and reads at most [`BODY_MAX_BYTES`] of the answer.
//! The request: `POST {base URL}/chat/completions`, `Authorization: Bearer <key>`, the model,
//! the system prompt as the first message and the conversation after it (the customer's
//! words only ever as `user` messages), `response_format` `json_schema` (strict) with
//! crm-lib's schema. Logs name the lead, the status, the latency and the tokens; never the
//! key, the prompt or the customer's words.

use std::time::{Duration, Instant};

use crm_lib::Crm;
use crm_lib::leads::{AiCallReport, AiCallResult, DueAi, DueAiRequest};
use crm_lib::model::{OrderId, OrgId, Timestamp};
use serde_json::{Value, json};

use super::due::{self, DueSender};
use crate::AppState;

/// The most of an answer's body read, in bytes (one more tells crm-lib it was longer).
const BODY_MAX_BYTES: usize = 1024 * 1024;
/// The most a connection may take to open (the call's own timeout may be shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the sender on the current runtime; every commit wakes it.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    due::start(state, AiCalls { http: client() })
}

/// The AI calls' queue (`System::due_ai_requests`).
struct AiCalls {
    http: reqwest::Client,
}

impl DueSender for AiCalls {
    type Item = DueAi;
    type Key = (OrgId, OrderId);
    const MAX_IN_FLIGHT: usize = 4;
    const DUE_BATCH: usize = 16;
    // A call in flight is abandoned: it stays queued in crm-lib and is made again at the
    // next start.
    const DRAIN: Option<Duration> = None;
    const WHAT: &'static str = "AI calls";

    fn due(crm: &Crm, now: Timestamp, limit: usize) -> crm_lib::Result<Vec<DueAi>> {
        crm.system().due_ai_requests(now, limit)
    }

    fn next_due(crm: &Crm) -> crm_lib::Result<Option<Timestamp>> {
        crm.system().next_ai_due()
    }

    fn key(item: &DueAi) -> Self::Key {
        match item {
            DueAi::Drop { org, lead } => (*org, *lead),
            DueAi::Call(call) => (call.org, call.lead),
        }
    }

    async fn attempt(&self, state: AppState, item: DueAi) {
        match item {
            DueAi::Drop { org, lead } => {
                let dropped = state
                    .blocking(move |crm| crm.system().drop_ai_request(org, lead))
                    .await;
                if let Err(error) = dropped {
                    tracing::warn!(org = org.get(), lead = lead.get(), %error, "dropping an AI call failed");
                }
            }
            DueAi::Call(call) => attempt(&state, &self.http, *call).await,
        }
    }
}

/// The HTTP client: no redirects, rustls; each request gets the settings' timeout.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!(
            "crm-appliance/",
            env!("CARGO_PKG_VERSION"),
            " (leads)"
        ))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The chat completion request's body (OpenAI's `POST /chat/completions`).
fn request_body(call: &DueAiRequest) -> Value {
    let mut messages = vec![json!({"role": "system", "content": call.system})];
    messages.extend(
        call.messages
            .iter()
            .map(|turn| json!({"role": turn.role.as_str(), "content": turn.content})),
    );
    json!({
        "model": call.model,
        "messages": messages,
        "temperature": 0.2,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "lead_qualification",
                "strict": true,
                "schema": call.schema,
            },
        },
    })
}

/// A 429's `Retry-After` in milliseconds (whole seconds; an HTTP date is not read).
fn retry_after_ms(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|seconds| seconds.saturating_mul(1000))
}

/// The answer's body, at most [`BODY_MAX_BYTES`] and one byte more.
async fn read_body(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > BODY_MAX_BYTES {
            body.truncate(BODY_MAX_BYTES + 1);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Sends one call and reads its outcome.
async fn call_ai(http: &reqwest::Client, call: &DueAiRequest) -> AiCallResult {
    let send = async {
        let response = http
            .post(&call.url)
            .bearer_auth(call.api_key())
            .header("content-type", "application/json")
            .json(&request_body(call))
            .send()
            .await?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let retry_after_ms = retry_after_ms(&response);
            return Ok(AiCallResult::Status {
                status,
                retry_after_ms,
            });
        }
        let body = read_body(response).await?;
        Ok::<_, reqwest::Error>(AiCallResult::Answered { body })
    };
    match tokio::time::timeout(Duration::from_millis(call.timeout_ms), send).await {
        Err(_) => AiCallResult::Timeout,
        Ok(Ok(result)) => result,
        Ok(Err(error)) if error.is_timeout() => AiCallResult::Timeout,
        Ok(Err(error)) => AiCallResult::Network {
            error: describe(&error),
        },
    }
}

/// Makes one call and records its outcome.
async fn attempt(state: &AppState, http: &reqwest::Client, call: DueAiRequest) {
    let at = Timestamp::now();
    let started = Instant::now();
    let result = call_ai(http, &call).await;
    let status = match &result {
        AiCallResult::Answered { .. } => Some(200),
        AiCallResult::Status { status, .. } => Some(*status),
        _ => None,
    };
    let report = AiCallReport {
        at,
        latency_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        result,
    };
    let (org, lead, through) = (call.org, call.lead, call.through);
    match state
        .blocking(move |crm| crm.system().ai_answered(org, lead, through, report))
        .await
    {
        Ok(logged) => tracing::info!(
            org = org.get(),
            lead = lead.get(),
            status,
            latency_ms = logged.latency_ms,
            prompt_tokens = logged.prompt_tokens,
            completion_tokens = logged.completion_tokens,
            model = %logged.model,
            outcome = logged.outcome.as_str(),
            "AI call"
        ),
        Err(error) => tracing::warn!(
            org = org.get(),
            lead = lead.get(),
            %error,
            "recording an AI call failed"
        ),
    }
}

/// A request error in words, without the URL or any header.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirected"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
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
