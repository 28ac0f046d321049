//! The Telegram bot: updates into the inbox (long polling, or the appliance's own webhook
//! handler), the inbox processor that handles each update in one transaction with its effects,
//! the customer and staff flows, keyboards, dialogue state and translations.
//!
//! The same code runs against Telegram, any Bot API server (`--telegram-api-url`), and the
//! built-in sandbox emulator (no `--telegram-token`): only the base URL and the token differ.
//!
//! Layout:
//! - [`api`]: the Bot API client (JSON calls, uploads, downloads; the token never leaves it);
//! - `updates`: getUpdates loop and webhook handler, both feeding `crm.inbox_put`;
//! - `processor`: pending updates in `update_id` order, each handled in one `crm.write` that
//!   also calls `finish_update`, its replies queued as outbox bot calls;
//! - `handler`, `customer`, `staff`: the flows (`leads`: a customer's messages to their lead
//!   in an organization of the projects module); `dialogue`: per-chat state in redb;
//!   `keyboards`: inline keyboards and callback data; `render`: texts and notifications in the
//!   recipient's language (keys `bot.*` of the locale files, `assets/locales/<code>.yml`);
//! - `outbox`: the sending half, woken by every commit: crm-lib's typed outbox items turned
//!   into Bot API calls within Telegram's limits (`limiter`: 1/s per chat, 30/s overall,
//!   20/min per group), each outcome recorded in its own write.
//!
//! Why not teloxide's `Dispatcher`: it pulls updates itself and runs handlers outside any
//! transaction of ours. The house rule (SPEC section 3) is that an update is committed to the
//! inbox before it is acknowledged and marked done in the same transaction as its effects;
//! handlers here therefore take crm-lib's `Tx` and run on the store's writer, which a
//! dispatcher's async handlers cannot. teloxide's types still parse every update, callback
//! query and chat member change, and build every inline keyboard.

pub mod api;
pub(crate) mod context;
mod csat;
mod customer;
pub(crate) mod dialogue;
mod forms;
mod handler;
pub(crate) mod keyboards;
mod leads;
pub(crate) mod limiter;
pub(crate) mod outbox;
pub(crate) mod processor;
pub(crate) mod render;
mod staff;
mod staff_chat;
mod tokens;
pub(crate) mod updates;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::AppState;
use crate::config::Config;
use crate::sandbox::emulator::Emulator;

/// Secrets of webhook mode: the path segment and the header value Telegram must send.
#[derive(Clone)]
pub(crate) struct WebhookSecrets {
    pub(crate) path: String,
    pub(crate) header: String,
}

/// The bot's shared handles: the sandbox emulator (sandbox mode), the webhook secrets
/// (webhook mode), the bot's username once known, and the wake-ups between the parts.
pub struct Telegram {
    emulator: Option<Arc<Emulator>>,
    webhook: OnceLock<WebhookSecrets>,
    username: OnceLock<String>,
    pub(crate) inbox_wake: Notify,
    pub(crate) outbox_wake: Arc<Notify>,
    capacity: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telegram")
            .field("sandbox", &self.emulator.is_some())
            .field("webhook", &self.webhook.get().is_some())
            .finish()
    }
}

impl Telegram {
    /// The handles for `config`: with no token, an emulator to serve at `/sandbox`.
    pub fn new(config: &Config) -> Self {
        Telegram {
            emulator: config.sandbox().then(|| Arc::new(Emulator::new())),
            webhook: OnceLock::new(),
            username: OnceLock::new(),
            inbox_wake: Notify::new(),
            outbox_wake: Arc::new(Notify::new()),
            capacity: std::sync::atomic::AtomicU64::new(crm_lib::telegram::INBOX_CAPACITY),
        }
    }

    /// The emulator, in sandbox mode.
    pub(crate) fn emulator(&self) -> Option<&Arc<Emulator>> {
        self.emulator.as_ref()
    }

    /// Whether the appliance runs its own Bot API emulator.
    pub fn is_sandbox(&self) -> bool {
        self.emulator.is_some()
    }

    /// The webhook secrets, in webhook mode once started.
    pub(crate) fn webhook_secrets(&self) -> Option<&WebhookSecrets> {
        self.webhook.get()
    }

    /// The bot's username (from getMe), once known.
    pub fn bot_username(&self) -> Option<String> {
        self.username.get().cloned()
    }

    /// The most pending updates the inbox takes.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Changes the inbox capacity (tests of the full inbox).
    #[cfg(test)]
    pub(crate) fn set_capacity(&self, capacity: u64) {
        self.capacity
            .store(capacity, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The running bot's tasks; [`BotHandle::stop`] ends them.
pub struct BotHandle {
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    emulator: Option<Arc<Emulator>>,
}

impl BotHandle {
    /// Stops polling, lets the processor finish the update in hand and the delivery job the
    /// sends in flight (at most a few seconds), and wakes every sandbox long poll.
    pub async fn stop(&self) {
        let _ = self.shutdown.send(true);
        if let Some(emulator) = &self.emulator {
            emulator.close();
        }
        let tasks = match self.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => Vec::new(),
        };
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(8), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// Starts the bot for the appliance listening at `address`: picks the token and Bot API
/// server (the sandbox emulator at `http://<address>/sandbox` with a generated token when no
/// token is configured), then runs the update source (polling or webhook registration), the
/// inbox processor and the outbox delivery job.
///
/// # Errors
/// No randomness for the sandbox token or the webhook secrets; an unusable HTTP client.
pub async fn start(state: &AppState, address: SocketAddr) -> anyhow::Result<BotHandle> {
    let config = state.config();
    let telegram = state.telegram_arc();
    let (token, api_url) = match (&config.telegram_token, telegram.emulator()) {
        (Some(token), _) => (token.clone(), config.telegram_api_url.clone()),
        (None, Some(emulator)) => {
            let token = format!(
                "{}:{}",
                crate::sandbox::emulator::BOT_ID,
                crm_lib::random_string(35, crm_lib::ALPHANUMERIC)?
            );
            emulator.set_token(token.clone());
            let org = state.org();
            let last = state
                .blocking(move |crm| crm.system().inbox_last_update_id(org))
                .await
                .context("reading the inbox")?;
            emulator.seed(last);
            let host = if address.ip().is_unspecified() {
                SocketAddr::from(([127, 0, 0, 1], address.port()))
            } else {
                address
            };
            (token, format!("http://{host}/sandbox"))
        }
        (None, None) => anyhow::bail!("no Telegram token and no sandbox emulator"),
    };
    if config.public_url.is_some() {
        let secrets = WebhookSecrets {
            path: crm_lib::random_string(32, crm_lib::ALPHANUMERIC)?,
            header: crm_lib::random_string(48, crm_lib::ALPHANUMERIC)?,
        };
        let _ = telegram.webhook.set(secrets);
    }
    let api = api::BotApi::new(&api_url, &token)?;
    let outbox_wake = telegram.outbox_wake.clone();
    state.crm().on_commit(move || outbox_wake.notify_one());

    let (shutdown, receiver) = watch::channel(false);
    let mut tasks = Vec::new();
    {
        let state = state.clone();
        let telegram = telegram.clone();
        let api = api.clone();
        let mut receiver = receiver.clone();
        let public_url = config.public_url.clone();
        tasks.push(tokio::spawn(async move {
            introduce(&state, &telegram, &api, &mut receiver).await;
            match public_url {
                Some(url) => updates::set_webhook(&telegram, &api, &url, &mut receiver).await,
                None => {
                    delete_webhook(&api).await;
                    updates::poll(state, telegram, api, receiver).await;
                }
            }
        }));
    }
    tasks.push(tokio::spawn(processor::run(
        state.clone(),
        telegram.clone(),
        api.clone(),
        receiver.clone(),
    )));
    tasks.push(tokio::spawn(outbox::run(
        state.clone(),
        telegram.clone(),
        api,
        receiver,
    )));
    Ok(BotHandle {
        shutdown,
        tasks: Mutex::new(tasks),
        emulator: telegram.emulator().cloned(),
    })
}

/// getMe (the username, for commands addressed `/cmd@bot`) and setMyCommands in English and
/// Russian; retried in the background until the Bot API answers.
async fn introduce(
    state: &AppState,
    telegram: &Telegram,
    api: &api::BotApi,
    shutdown: &mut watch::Receiver<bool>,
) {
    let mut pause = Duration::from_millis(200);
    loop {
        match api.call("getMe", &json!({}), api::CALL_TIMEOUT).await {
            Ok(me) => {
                if let Some(username) = me.get("username").and_then(serde_json::Value::as_str) {
                    let _ = telegram.username.set(username.to_string());
                    state.web().set_bot_username(username);
                }
                break;
            }
            Err(error) => tracing::warn!(error = %error, "getMe failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        pause = (pause * 2).min(Duration::from_secs(30));
    }
    // The default language's commands are everyone's; each other language's are for the
    // users whose Telegram speaks it.
    for language in crm_lib::model::Language::all() {
        let commands: Vec<serde_json::Value> =
            ["start", "neworder", "orders", "language", "help", "cancel"]
                .into_iter()
                .map(|command| {
                    json!({
                        "command": command,
                        "description": render::tr(language, &format!("bot.command.{command}")),
                    })
                })
                .collect();
        let mut params = json!({ "commands": commands });
        if language != crm_lib::model::Language::default() {
            params["language_code"] = json!(language.code());
        }
        if let Err(error) = api.call("setMyCommands", &params, api::CALL_TIMEOUT).await {
            tracing::info!(error = %error, "setMyCommands failed; the command menu stays as it was");
        }
    }
}

/// Long polling needs no webhook; a leftover one would make getUpdates answer 409.
async fn delete_webhook(api: &api::BotApi) {
    if let Err(error) = api
        .call("deleteWebhook", &json!({}), api::CALL_TIMEOUT)
        .await
    {
        tracing::info!(error = %error, "deleteWebhook failed; polling anyway");
    }
}
