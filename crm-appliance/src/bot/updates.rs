//! Getting updates into the inbox: long polling (getUpdates) by default, or the appliance's
//! own webhook handler when `--public-url` is set.
//!
//! Polling: the updates of one getUpdates answer are committed to the inbox in one write
//! (keyed by `update_id`, a repeat is recognised and skipped) before the next getUpdates sends
//! the offset that confirms them to Telegram. When the inbox is full, the offset stops at the
//! first update not stored, so Telegram sends it again later.
//!
//! Webhook: `POST /telegram/webhook/<secret path>` finds the organization whose bot the path
//! belongs to and checks the `X-Telegram-Bot-Api-Secret-Token` header, both in constant time
//! (every bot has its own path and header secret, derived from its token:
//! `WebhookSecrets::of_token`), commits the update to that organization's inbox, and only
//! then answers 200; a repeat answers 200 without a second write; a full inbox answers 503,
//! so Telegram retries later. A disabled organization's path answers 503 too (crm-lib's inbox
//! refuses its updates as busy): Telegram keeps them and sends them again, for up to a day,
//! so enabling it within that time loses nothing. teloxide's own webhook listener answers before the update is stored
//! and queues without bound, which is why the appliance does not use it (SPEC section 3).

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use crm_lib::{ErrorKind, telegram::InboxPut};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use super::OrgBot;
use super::api::ApiError;
use crate::AppState;

/// The long-poll time of getUpdates, in seconds.
pub(crate) const POLL_SECONDS: u64 = 25;

/// The update kinds the bot asks for.
pub(crate) const ALLOWED_UPDATES: &[&str] = &[
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "pre_checkout_query",
];

/// The header Telegram sends with the webhook's secret token.
pub(crate) const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The webhook route (answers 404 for a path no bot in webhook mode has).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/telegram/webhook/{secret}", post(webhook))
        .layer(DefaultBodyLimit::max(
            crm_lib::telegram::INBOX_PAYLOAD_MAX + 4096,
        ))
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `POST /telegram/webhook/{secret}`: one update from Telegram.
async fn webhook(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let bots = state.bots();
    let Some((org, secrets)) = bots.webhook_route(&secret) else {
        return StatusCode::NOT_FOUND;
    };
    let given = headers
        .get(SECRET_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !same(given, &secrets.header) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(payload) = String::from_utf8(body.to_vec()) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(update_id) = update_id_of(&payload) else {
        return StatusCode::BAD_REQUEST;
    };
    let capacity = bots.capacity();
    match state
        .write(move |tx| tx.system().inbox_put(org, update_id, payload, capacity))
        .await
    {
        Ok(InboxPut::Inserted) => {
            bots.wake_inbox(org);
            StatusCode::OK
        }
        Ok(InboxPut::Duplicate) => StatusCode::OK,
        Err(error) => match error.kind() {
            ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::InvalidInput => {
                // Too large to store: sending it again would not help.
                tracing::warn!(update_id, error = %error, "dropping an update that cannot be stored");
                StatusCode::OK
            }
            _ => {
                tracing::warn!(update_id, error = %error, "storing a webhook update failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        },
    }
}

/// The `update_id` of a webhook body, when it is a JSON object with one.
pub(crate) fn update_id_of(payload: &str) -> Option<u64> {
    serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|update| update.get("update_id").and_then(Value::as_u64))
}

/// Stores one getUpdates answer in one transaction; returns the highest update id handled
/// (stored, repeated, or refused for good), and whether the inbox was full.
async fn store(
    state: &AppState,
    bot: &OrgBot,
    updates: Vec<Value>,
) -> Result<(Option<u64>, bool), ()> {
    let mut items = Vec::with_capacity(updates.len());
    let mut handled = None;
    for update in updates {
        match update.get("update_id").and_then(Value::as_u64) {
            Some(id) => items.push((id, update.to_string())),
            None => tracing::warn!("skipping an update without update_id"),
        }
    }
    if items.is_empty() {
        return Ok((handled, false));
    }
    let org = bot.org();
    let capacity = state.bots().capacity();
    let result = state
        .write(move |tx| {
            let mut last = None;
            let mut inserted = false;
            let mut full = false;
            for (id, payload) in items {
                match tx.system().inbox_put(org, id, payload, capacity) {
                    Ok(put) => {
                        inserted |= put == InboxPut::Inserted;
                        last = Some(id);
                    }
                    Err(error) if error.kind() == ErrorKind::InvalidInput => {
                        tracing::warn!(update_id = id, error = %error, "dropping an update that cannot be stored");
                        last = Some(id);
                    }
                    Err(error) if error.kind() == ErrorKind::Busy => {
                        full = true;
                        break;
                    }
                    Err(error) => return Err(error),
                }
            }
            Ok((last, inserted, full))
        })
        .await;
    match result {
        Ok((last, inserted, full)) => {
            if inserted {
                bot.inbox_wake.notify_one();
            }
            handled = last;
            Ok((handled, full))
        }
        Err(error) => {
            tracing::warn!(error = %error, "storing updates failed");
            Err(())
        }
    }
}

/// Long polling until `shutdown`: getUpdates, store, confirm with the next offset.
pub(crate) async fn poll(
    state: AppState,
    bot: std::sync::Arc<OrgBot>,
    mut shutdown: watch::Receiver<bool>,
) {
    let api = bot.api().clone();
    let mut offset: Option<u64> = None;
    let mut pause = Duration::from_millis(500);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let params = json!({
            "offset": offset,
            "timeout": POLL_SECONDS,
            "allowed_updates": ALLOWED_UPDATES,
        });
        let call = api.call(
            "getUpdates",
            &params,
            Duration::from_secs(POLL_SECONDS + 15),
        );
        let answer = tokio::select! {
            answer = call => answer,
            _ = shutdown.changed() => return,
        };
        let failure = match answer {
            Ok(Value::Array(updates)) => match store(&state, &bot, updates).await {
                Ok((last, full)) => {
                    if let Some(last) = last {
                        offset = Some(last.saturating_add(1));
                    }
                    if full {
                        tracing::warn!("the inbox is full; Telegram keeps the rest for now");
                        Some(Duration::from_secs(1))
                    } else {
                        pause = Duration::from_millis(500);
                        None
                    }
                }
                Err(()) => Some(Duration::from_secs(1)),
            },
            Ok(_) => {
                tracing::warn!("getUpdates answered something other than a list");
                Some(pause)
            }
            Err(ApiError::Telegram {
                code: 401 | 404, ..
            }) => {
                tracing::error!(
                    "the Bot API refused the bot token (401/404); check the organization's token (crm org set-token, or --telegram-token for the first)"
                );
                Some(Duration::from_secs(30))
            }
            Err(ApiError::Telegram { code: 409, .. }) => {
                tracing::warn!(
                    "getUpdates conflict (409): a webhook is set or another instance polls; retrying"
                );
                Some(Duration::from_secs(5))
            }
            Err(ApiError::Telegram {
                code: 429,
                retry_after,
                ..
            }) => Some(Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 300))),
            Err(error) => {
                tracing::warn!(error = %error, "getUpdates failed; retrying");
                Some(pause)
            }
        };
        if let Some(wait) = failure {
            pause = (pause * 2).min(Duration::from_secs(30));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// Registers the webhook with Telegram (retrying until it works or shutdown).
pub(crate) async fn set_webhook(
    bot: &OrgBot,
    public_url: &url::Url,
    shutdown: &mut watch::Receiver<bool>,
) {
    let Some(secrets) = bot.webhook.as_ref() else {
        return;
    };
    let api = bot.api();
    let url = format!(
        "{}/telegram/webhook/{}",
        public_url.as_str().trim_end_matches('/'),
        secrets.path
    );
    let params = json!({
        "url": url,
        "secret_token": secrets.header,
        "allowed_updates": ALLOWED_UPDATES,
        "max_connections": 40,
    });
    let mut pause = Duration::from_secs(1);
    loop {
        match api
            .call("setWebhook", &params, super::api::CALL_TIMEOUT)
            .await
        {
            Ok(_) => {
                tracing::info!("webhook mode: Telegram posts updates to the public URL");
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error, "setWebhook failed; retrying");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use clap::Parser;
    use tower::ServiceExt;

    use super::*;
    use crate::bot::WebhookSecrets;
    use crate::config::{Cli, Config};

    fn request(path: &str, secret: Option<&str>, body: &str) -> Request<Body> {
        let mut request = Request::post(path).header("content-type", "application/json");
        if let Some(secret) = secret {
            request = request.header(SECRET_HEADER, secret);
        }
        request.body(Body::from(body.to_string())).unwrap()
    }

    #[tokio::test]
    async fn the_webhook_stores_before_answering_ignores_repeats_and_refuses_when_full_or_disabled()
    {
        let dir = tempfile::tempdir().unwrap();
        let crm = crm_lib::Crm::open(dir.path().join("crm.redb")).unwrap();
        let org = crm
            .system()
            .create_organization("studio", "Test", "test")
            .unwrap()
            .id;
        let cli = Cli::parse_from([
            "crm-appliance",
            "--telegram-token",
            "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "--public-url",
            "https://crm.example.com",
        ]);
        let state = AppState::new(crm.clone(), Config::from_cli(&cli).unwrap());
        let path = "/telegram/webhook/".to_string() + &"p".repeat(32);
        let header = "h".repeat(48);
        state.bots().route_webhook_for_test(
            org,
            WebhookSecrets {
                path: "p".repeat(32),
                header: header.clone(),
            },
        );
        let app = crate::web::app(state.clone());
        let update = r#"{"update_id": 700, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}}"#;
        let status = |request: Request<Body>| {
            let app = app.clone();
            async move { app.oneshot(request).await.unwrap().status() }
        };
        assert_eq!(
            status(request(&path, None, update)).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(request(&path, Some("wrong"), update)).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(request("/telegram/webhook/guess", Some(&header), update)).await,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(request(&path, Some(&header), "not json")).await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            crm.system().pending_updates(org, 10).unwrap().len(),
            0,
            "nothing stored yet"
        );
        assert_eq!(
            status(request(&path, Some(&header), update)).await,
            StatusCode::OK
        );
        let stored = crm.system().inbox_item(org, 700).unwrap();
        assert_eq!(stored.payload, update, "stored as received, before the 200");
        assert_eq!(
            status(request(&path, Some(&header), update)).await,
            StatusCode::OK
        );
        assert_eq!(
            crm.system().pending_updates(org, 10).unwrap().len(),
            1,
            "a repeat is ignored"
        );
        state.bots().set_capacity(1);
        let another = update.replace("700", "701");
        assert_eq!(
            status(request(&path, Some(&header), &another)).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(
            crm.system().inbox_item(org, 701).is_err(),
            "refused, not stored"
        );
        // A disabled organization's path answers 503 too: Telegram keeps the update.
        state.bots().set_capacity(100);
        crm.system().disable_organization("test").unwrap();
        assert_eq!(
            status(request(&path, Some(&header), &another)).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert!(crm.system().inbox_item(org, 701).is_err());
        crm.system().enable_organization("test").unwrap();
        assert_eq!(
            status(request(&path, Some(&header), &another)).await,
            StatusCode::OK
        );
        crm.close();
    }
}
