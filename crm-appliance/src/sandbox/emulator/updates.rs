//! The update queue: updates from simulated users wait here until `getUpdates` confirms them
//! (long polling wakes on a `Notify`), or until the webhook pusher delivers them one at a time
//! as Telegram does; raw updates (fixtures) are injected into the same queue.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::chats::Entry;
use super::params::{bool_param, str_param};
use super::{BotError, Emulator, MutexGuard, SimUser, State, now_ms};

/// Updates waiting for the bot; past this the oldest are dropped (Telegram keeps 24 hours).
const QUEUE_MAX: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub(super) struct Webhook {
    pub(super) url: String,
    pub(super) secret: Option<String>,
}

impl Emulator {
    /// Queues an update of `kind` from a simulated user, then releases the lock and wakes the
    /// long polls and the webhook pusher. Returns its `update_id`.
    pub(super) fn deliver(&self, mut state: MutexGuard<'_, State>, kind: &str, body: Value) -> u64 {
        let update_id = Self::push_update(&mut state, kind, body);
        drop(state);
        self.wake.notify_waiters();
        update_id
    }

    fn push_update(state: &mut State, kind: &str, body: Value) -> u64 {
        let id = state.next_update_id;
        state.next_update_id += 1;
        let mut update = Map::new();
        update.insert("update_id".into(), json!(id));
        update.insert(kind.into(), body);
        state.queue.push_back((id, Value::Object(update)));
        while state.queue.len() > QUEUE_MAX {
            state.queue.pop_front();
        }
        id
    }

    /// `getUpdates`: confirms updates below `offset`, then returns up to `limit` pending ones,
    /// waiting up to `timeout` for the first (long polling).
    pub(crate) async fn get_updates(
        &self,
        offset: Option<i64>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Value, BotError> {
        let deadline = tokio::time::Instant::now() + timeout.min(Duration::from_secs(50));
        let limit = limit.clamp(1, 100);
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                *state.calls.entry("getUpdates".into()).or_default() += 1;
                if state.webhook.is_some() {
                    return Err(BotError {
                        code: 409,
                        description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first".into(),
                        retry_after: None,
                    });
                }
                match offset {
                    Some(offset) if offset < 0 => {
                        let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
                        while state.queue.len() > keep {
                            state.queue.pop_front();
                        }
                    }
                    Some(offset) => {
                        let offset = u64::try_from(offset).unwrap_or(0);
                        state.confirmed_offset = state.confirmed_offset.max(offset);
                        while state.queue.front().is_some_and(|(id, _)| *id < offset) {
                            state.queue.pop_front();
                        }
                    }
                    None => {}
                }
                let batch: Vec<Value> = state
                    .queue
                    .iter()
                    .take(limit)
                    .map(|(_, update)| update.clone())
                    .collect();
                if !batch.is_empty() || self.is_closed() {
                    return Ok(Value::Array(batch));
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Value::Array(Vec::new()));
            }
        }
    }

    /// The generation of the webhook currently set, if one is.
    pub(crate) fn active_webhook(&self) -> Option<u64> {
        let state = self.lock();
        state.webhook.as_ref().map(|_| state.webhook_generation)
    }

    /// The webhook to push to, and the next update, for the pusher.
    fn webhook_next(&self, generation: u64) -> Option<(Webhook, Option<(u64, Value)>)> {
        let state = self.lock();
        if state.webhook_generation != generation || self.is_closed() {
            return None;
        }
        let webhook = state.webhook.clone()?;
        Some((webhook, state.queue.front().cloned()))
    }

    fn webhook_delivered(&self, update_id: u64) {
        let mut state = self.lock();
        if state.queue.front().is_some_and(|(id, _)| *id == update_id) {
            state.queue.pop_front();
        }
        state.confirmed_offset = state.confirmed_offset.max(update_id.saturating_add(1));
    }

    /// Pushes pending updates to the webhook set with generation `generation`, one at a time
    /// as Telegram does, with the secret header; a non-2xx answer is retried after a pause.
    /// Ends when the webhook changes or the emulator closes.
    pub(crate) async fn push_webhook(self: Arc<Self>, generation: u64) {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
        {
            Ok(client) => client,
            Err(_) => return,
        };
        let mut pause = Duration::from_millis(200);
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some((webhook, next)) = self.webhook_next(generation) else {
                return;
            };
            let Some((update_id, update)) = next else {
                let _ = tokio::time::timeout(Duration::from_secs(1), notified).await;
                continue;
            };
            let mut request = client.post(&webhook.url).json(&update);
            if let Some(secret) = &webhook.secret {
                request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    self.webhook_delivered(update_id);
                    pause = Duration::from_millis(200);
                }
                _ => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Queues a raw update (a fixture) `times` times; its `update_id` is replaced by the
    /// emulator's next one unless `keep_update_id`. A private message's chat is created and
    /// the message recorded. Returns the update ids.
    pub(crate) fn inject(
        &self,
        mut update: Value,
        times: u32,
        keep_update_id: bool,
    ) -> Result<Vec<u64>, String> {
        if !update.is_object() {
            return Err("an update is a JSON object".into());
        }
        let mut state = self.lock();
        let id = if keep_update_id {
            let id = update
                .get("update_id")
                .and_then(Value::as_u64)
                .ok_or("the update has no update_id")?;
            state.next_update_id = state.next_update_id.max(id.saturating_add(1));
            id
        } else {
            let id = state.next_update_id;
            state.next_update_id += 1;
            id
        };
        update["update_id"] = json!(id);
        if let Some(message) = update.get("message").cloned()
            && message.pointer("/chat/type").and_then(Value::as_str) == Some("private")
            && let Some(from) = message.get("from")
            && let Ok(user) = serde_json::from_value::<SimUser>(from.clone())
            && Self::ensure_chat(&mut state, &user).is_ok()
            && let Some(chat) = state.chats.get_mut(&user.id)
        {
            chat.messages
                .push_back(Entry::new(&message, false, now_ms()));
        }
        let mut ids = Vec::new();
        for _ in 0..times.clamp(1, 10) {
            state.queue.push_back((id, update.clone()));
            ids.push(id);
        }
        drop(state);
        self.wake.notify_waiters();
        Ok(ids)
    }

    /// `setWebhook`: an empty URL removes the webhook; otherwise updates go to the URL (with
    /// the secret header) instead of `getUpdates`.
    pub(super) fn set_webhook(
        &self,
        state: &mut State,
        params: &Map<String, Value>,
    ) -> Result<Value, BotError> {
        let url = str_param(params, "url").unwrap_or("").trim().to_string();
        if url.is_empty() {
            state.webhook = None;
            state.webhook_generation += 1;
            return Ok(json!(true));
        }
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(BotError::bad_request(
                "bad webhook: An HTTPS URL must be provided for webhook",
            ));
        }
        let secret = str_param(params, "secret_token").map(str::to_string);
        if let Some(secret) = &secret
            && (secret.is_empty()
                || secret.len() > 256
                || !secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(BotError::bad_request(
                "secret token contains unallowed characters",
            ));
        }
        if bool_param(params, "drop_pending_updates") {
            state.queue.clear();
        }
        state.webhook = Some(Webhook { url, secret });
        state.webhook_generation += 1;
        self.wake.notify_waiters();
        Ok(json!(true))
    }

    /// `deleteWebhook`: back to `getUpdates`, optionally dropping the pending updates.
    pub(super) fn delete_webhook(
        &self,
        state: &mut State,
        params: &Map<String, Value>,
    ) -> Result<Value, BotError> {
        state.webhook = None;
        state.webhook_generation += 1;
        if bool_param(params, "drop_pending_updates") {
            state.queue.clear();
        }
        self.wake.notify_waiters();
        Ok(json!(true))
    }

    /// `getWebhookInfo`.
    pub(super) fn webhook_info(state: &State) -> Result<Value, BotError> {
        let url = state
            .webhook
            .as_ref()
            .map(|webhook| webhook.url.clone())
            .unwrap_or_default();
        Ok(json!({
            "url": url,
            "has_custom_certificate": false,
            "pending_update_count": state.queue.len(),
        }))
    }
}
