//! The Telegram bot: updates into the inbox (long polling, or the appliance's own webhook
//! handler), the inbox processor that handles each update in one transaction with its effects,
//! the customer and staff flows, keyboards, dialogue state and translations.
//!
//! The same code runs against Telegram, any Bot API server (`--telegram-api-url`), and the
//! built-in sandbox emulator: only the base URL and the token differ.
//!
//! One bot per enabled organization (SPEC 3.1, issue 14): [`Bots`] holds them by
//! organization, each with its token, Bot API client, update source (its getUpdates loop, or
//! its webhook at `/telegram/webhook/<path>`), inbox processor, username and, for an
//! organization without a token, its own sandbox emulator. The rule: **an organization with a
//! bot token gets the Telegram bot of that token; one without gets its own emulated bot**
//! (`/sandbox`), whatever the other organizations have. `--telegram-token` is the first
//! organization's token, before the one stored in its settings. [`reconcile`] starts and
//! stops bots to match the organizations (at start, after every admin channel command and
//! after the settings page saves a token), so that creating, disabling, enabling an
//! organization or changing its token needs no restart. The outbox has one sender for all:
//! each item goes out through its organization's bot, within that bot's limits (Telegram
//! counts them per bot).
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
mod change_requests;
pub(crate) mod context;
mod csat;
mod customer;
pub(crate) mod dialogue;
mod forms;
mod handler;
pub(crate) mod keyboards;
mod leads;
pub(crate) mod limiter;
pub(crate) mod mini_app;
pub(crate) mod outbox;
pub(crate) mod processor;
pub(crate) mod render;
mod staff;
mod staff_chat;
mod text;
mod tokens;
pub(crate) mod updates;
mod worker;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use anyhow::Context;
use crm_lib::model::{OrgId, Organization};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::AppState;
use crate::sandbox::emulator::Emulator;

/// Secrets of webhook mode: the path segment and the header value Telegram must send.
#[derive(Clone)]
pub(crate) struct WebhookSecrets {
    pub(crate) path: String,
    pub(crate) header: String,
}

impl WebhookSecrets {
    /// The secrets of the bot with `token`, derived from it (SHA-256 of a label and the
    /// token, in hex): stable across restarts, different for every bot, new when the token
    /// changes, and telling nothing of the token. The token is the stored secret they come
    /// from; whoever holds it commands the bot anyway.
    pub(crate) fn of_token(token: &str) -> Self {
        let derive = |label: &str, chars: usize| {
            let digest = Sha256::new()
                .chain_update(label.as_bytes())
                .chain_update(token.as_bytes())
                .finalize();
            let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
            hex.chars().take(chars).collect::<String>()
        };
        WebhookSecrets {
            path: derive("crm webhook path\0", 40),
            header: derive("crm webhook header\0", 64),
        }
    }
}

/// The SHA-256 of a token: how a running bot remembers which token it runs with, to notice a
/// change without a second copy of the token.
fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// One organization's running bot: its Bot API client, its emulator (no token), its webhook
/// secrets (webhook mode), its username once known, and its tasks.
pub struct OrgBot {
    org: OrgId,
    slug: String,
    emulator: Option<Arc<Emulator>>,
    webhook: Option<WebhookSecrets>,
    username: OnceLock<String>,
    pub(crate) inbox_wake: Notify,
    api: api::BotApi,
    /// The SHA-256 of the stored token it runs with (`None`: emulated).
    token: Option<[u8; 32]>,
    /// The secret key its Mini App's `initData` is signed with (derived from the token it
    /// runs with, the emulated one's too).
    web_app_key: crm_lib::mini_app::WebAppKey,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for OrgBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgBot")
            .field("org", &self.org)
            .field("slug", &self.slug)
            .field("sandbox", &self.emulator.is_some())
            .field("webhook", &self.webhook.is_some())
            .finish_non_exhaustive()
    }
}

impl OrgBot {
    /// Its organization.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// Its organization's slug (the `org` field of its logs).
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The bot's username (from getMe), once known.
    pub fn username(&self) -> Option<String> {
        self.username.get().cloned()
    }

    /// Its Bot API client.
    pub(crate) fn api(&self) -> &api::BotApi {
        &self.api
    }

    /// The span its work runs in: every log line names the organization.
    pub(crate) fn span(&self, what: &'static str) -> tracing::Span {
        tracing::info_span!("bot", org = %self.slug, task = what)
    }

    /// Stops polling (or the webhook's use), lets the processor finish the update in hand,
    /// and wakes every long poll of its emulator; at most 8 s per task.
    async fn stop(&self) {
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

/// The bots of the organizations, by organization, and what they share: the outbox's
/// wake-up, the inbox capacity, the sandbox key, the address the emulators are served at.
/// Reads take a read lock for a map lookup; only [`reconcile`] writes.
pub struct Bots {
    bots: RwLock<BTreeMap<OrgId, Arc<OrgBot>>>,
    /// Webhook routes of disabled organizations with a token: their updates are refused as
    /// busy (503), so Telegram keeps them until the organization is enabled again.
    paused: RwLock<Vec<(OrgId, WebhookSecrets)>>,
    pub(crate) outbox_wake: Arc<Notify>,
    capacity: AtomicU64,
    sandbox_key: OnceLock<String>,
    address: OnceLock<SocketAddr>,
    reconciling: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Bots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bots = self.read();
        f.debug_struct("Bots")
            .field("bots", &bots.values().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Bots {
    fn default() -> Self {
        Self::new()
    }
}

impl Bots {
    /// No bot yet: [`start`] runs them.
    pub fn new() -> Self {
        Bots {
            bots: RwLock::new(BTreeMap::new()),
            paused: RwLock::new(Vec::new()),
            outbox_wake: Arc::new(Notify::new()),
            capacity: AtomicU64::new(crm_lib::telegram::INBOX_CAPACITY),
            sandbox_key: OnceLock::new(),
            address: OnceLock::new(),
            reconciling: tokio::sync::Mutex::new(()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<OrgId, Arc<OrgBot>>> {
        self.bots
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<OrgId, Arc<OrgBot>>> {
        self.bots
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The running bot of `org`.
    pub fn bot(&self, org: OrgId) -> Option<Arc<OrgBot>> {
        self.read().get(&org).cloned()
    }

    /// The running bots, by organization.
    pub fn running(&self) -> Vec<Arc<OrgBot>> {
        self.read().values().cloned().collect()
    }

    /// The emulator of `org`'s bot, when it runs one.
    pub(crate) fn emulator(&self, org: OrgId) -> Option<Arc<Emulator>> {
        self.read().get(&org).and_then(|bot| bot.emulator.clone())
    }

    /// The first organization's emulator (by id), for a program with the sandbox key that
    /// names no organization.
    pub(crate) fn first_emulator(&self) -> Option<(OrgId, Arc<Emulator>)> {
        self.read()
            .values()
            .find_map(|bot| Some((bot.org, bot.emulator.clone()?)))
    }

    /// Whether any organization runs an emulated bot.
    pub fn any_emulator(&self) -> bool {
        self.read().values().any(|bot| bot.emulator.is_some())
    }

    /// The emulator whose token is `token` (each compared in constant time): the one a
    /// `/sandbox/bot<token>/...` request is for.
    pub(crate) fn emulator_for_token(&self, token: &str) -> Option<Arc<Emulator>> {
        let mut found = None;
        for bot in self.read().values() {
            if let Some(emulator) = &bot.emulator
                && emulator.check_token(token)
            {
                found = Some(emulator.clone());
            }
        }
        found
    }

    /// The organization whose webhook path is `path` (each compared in constant time), with
    /// its secrets: a running bot's, or a disabled organization's (its updates are refused
    /// as busy).
    pub(crate) fn webhook_route(&self, path: &str) -> Option<(OrgId, WebhookSecrets)> {
        let mut found = None;
        for bot in self.read().values() {
            if let Some(secrets) = &bot.webhook
                && same(path, &secrets.path)
            {
                found = Some((bot.org, secrets.clone()));
            }
        }
        let paused = self
            .paused
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (org, secrets) in paused.iter() {
            if same(path, &secrets.path) {
                found = Some((*org, secrets.clone()));
            }
        }
        found
    }

    /// The key `org`'s Mini App `initData` is checked with, while its bot runs (a disabled
    /// organization's Mini App answers no one).
    pub fn web_app_key(&self, org: OrgId) -> Option<crm_lib::mini_app::WebAppKey> {
        self.read().get(&org).map(|bot| bot.web_app_key.clone())
    }

    /// The address the emulators are served at (the appliance's), once the bots started.
    pub(crate) fn address(&self) -> Option<SocketAddr> {
        self.address.get().copied()
    }

    /// The username of `org`'s bot, once known (for `t.me` links).
    pub fn username(&self, org: OrgId) -> Option<String> {
        self.bot(org).and_then(|bot| bot.username())
    }

    /// The slug of `org`, while its bot runs (for the `org` field of logs).
    pub fn slug(&self, org: OrgId) -> Option<String> {
        self.read().get(&org).map(|bot| bot.slug.clone())
    }

    /// What logs call `org`: its slug while its bot runs (every enabled organization's
    /// does), else its id.
    pub fn org_name(&self, org: OrgId) -> String {
        self.slug(org).unwrap_or_else(|| org.to_string())
    }

    /// Wakes the inbox processor of `org`'s bot.
    pub(crate) fn wake_inbox(&self, org: OrgId) {
        if let Some(bot) = self.read().get(&org) {
            bot.inbox_wake.notify_one();
        }
    }

    /// The most pending updates an organization's inbox takes.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity.load(Ordering::Relaxed)
    }

    /// Changes the inbox capacity (tests of the full inbox).
    #[cfg(test)]
    pub(crate) fn set_capacity(&self, capacity: u64) {
        self.capacity.store(capacity, Ordering::Relaxed);
    }

    /// The sandbox key every emulator takes (drawn at start in sandbox mode).
    pub fn set_sandbox_key(&self, key: String) {
        let _ = self.sandbox_key.set(key);
    }

    /// A webhook route for a test of the handler, without a running bot.
    #[cfg(test)]
    pub(crate) fn route_webhook_for_test(&self, org: OrgId, secrets: WebhookSecrets) {
        self.paused
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((org, secrets));
    }
}

/// The running bots; [`BotHandle::stop`] ends them and the outbox sender.
pub struct BotHandle {
    state: AppState,
    shutdown: watch::Sender<bool>,
    outbox: Mutex<Option<JoinHandle<()>>>,
}

impl BotHandle {
    /// Stops every bot (polling ends, the update in hand finishes, sandbox long polls wake)
    /// and the outbox sender (the sends in flight finish; at most a few seconds).
    pub async fn stop(&self) {
        let bots: Vec<Arc<OrgBot>> = std::mem::take(&mut *self.state.bots().write())
            .into_values()
            .collect();
        for bot in bots {
            bot.stop().await;
        }
        let _ = self.shutdown.send(true);
        let outbox = self.outbox.lock().ok().and_then(|mut outbox| outbox.take());
        if let Some(task) = outbox {
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

/// Starts the bots for the appliance listening at `address`: the outbox sender, woken by
/// every commit, and one bot per enabled organization ([`reconcile`]).
///
/// # Errors
/// No randomness for a sandbox token; an unusable HTTP client; the store unreadable.
pub async fn start(state: &AppState, address: SocketAddr) -> anyhow::Result<BotHandle> {
    let bots = state.bots();
    let host = if address.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], address.port()))
    } else {
        address
    };
    let _ = bots.address.set(host);
    let outbox_wake = bots.outbox_wake.clone();
    state.crm().on_commit(move || outbox_wake.notify_one());
    let (shutdown, receiver) = watch::channel(false);
    let outbox = tokio::spawn(
        outbox::run(state.clone(), receiver).instrument(tracing::info_span!("outbox")),
    );
    let handle = BotHandle {
        state: state.clone(),
        shutdown,
        outbox: Mutex::new(Some(outbox)),
    };
    reconcile(state).await?;
    Ok(handle)
}

/// The token `org`'s bot runs with: `--telegram-token` for the first organization, else the
/// one stored in its settings; `None` means an emulated bot.
fn token_of(state: &AppState, org: &Organization, first: Option<OrgId>) -> Option<String> {
    if Some(org.id) == first
        && let Some(token) = &state.config().telegram_token
    {
        return Some(token.clone());
    }
    org.settings.bot_token.clone()
}

/// Starts and stops bots to match the organizations: an enabled organization without a
/// running bot gets one; a bot whose organization was disabled, deleted or given another
/// token (or none, or one after none) stops, and restarts with the new token. Does nothing
/// before [`start`]. One reconciliation at a time.
///
/// # Errors
/// The store unreadable; a bot that cannot start (no randomness, no HTTP client).
pub async fn reconcile(state: &AppState) -> anyhow::Result<()> {
    let bots = state.bots();
    let Some(address) = bots.address.get().copied() else {
        return Ok(());
    };
    let _one_at_a_time = bots.reconciling.lock().await;
    let orgs = state
        .blocking(|crm| crm.system().organizations())
        .await
        .context("reading the organizations")?;
    let first = orgs.first().map(|org| org.id);
    let mut wanted: HashMap<OrgId, (Organization, Option<String>)> = HashMap::new();
    let mut paused = Vec::new();
    for org in orgs {
        let token = token_of(state, &org, first);
        if org.is_enabled() {
            wanted.insert(org.id, (org, token));
        } else if let (Some(token), Some(_)) = (&token, &state.config().public_url) {
            paused.push((org.id, WebhookSecrets::of_token(token)));
        }
    }
    *bots
        .paused
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = paused;
    let stale: Vec<Arc<OrgBot>> = {
        let mut running = bots.write();
        let gone: Vec<OrgId> = running
            .values()
            .filter(|bot| match wanted.get(&bot.org) {
                None => true,
                Some((_, token)) => bot.token != token.as_deref().map(digest),
            })
            .map(|bot| bot.org)
            .collect();
        gone.iter().filter_map(|org| running.remove(org)).collect()
    };
    for bot in stale {
        tracing::info!(org = %bot.slug, "stopping the organization's bot");
        bot.stop().await;
    }
    let mut missing: Vec<(Organization, Option<String>)> = {
        let running = bots.read();
        wanted
            .into_values()
            .filter(|(org, _)| !running.contains_key(&org.id))
            .collect()
    };
    missing.sort_by_key(|(org, _)| org.id);
    for (org, token) in missing {
        let slug = org.slug.clone();
        let bot = start_bot(state, org, token, address)
            .await
            .with_context(|| format!("starting the bot of organization {slug}"))?;
        bots.write().insert(bot.org, bot);
    }
    Ok(())
}

/// Starts `org`'s bot: picks the token and Bot API server (its own emulator at
/// `http://<address>/sandbox` with a generated token when it has none), then runs the update
/// source (polling, or webhook registration) and the inbox processor in the organization's
/// span.
async fn start_bot(
    state: &AppState,
    org: Organization,
    token: Option<String>,
    address: SocketAddr,
) -> anyhow::Result<Arc<OrgBot>> {
    let config = state.config();
    let stored = token.as_deref().map(digest);
    let (token, api_url, emulator) = match token {
        Some(token) => (token, config.telegram_api_url.clone(), None),
        None => {
            let emulator = Arc::new(Emulator::for_org(org.id.get()));
            let token = format!(
                "{}:{}",
                emulator.bot_id(),
                crm_lib::random_string(35, crm_lib::ALPHANUMERIC)?
            );
            emulator.set_token(token.clone());
            if let Some(key) = state.bots().sandbox_key.get() {
                emulator.set_key(key.clone());
            }
            let id = org.id;
            let last = state
                .blocking(move |crm| crm.system().inbox_last_update_id(id))
                .await
                .context("reading the inbox")?;
            emulator.seed(last);
            (token, format!("http://{address}/sandbox"), Some(emulator))
        }
    };
    let webhook = config
        .public_url
        .as_ref()
        .map(|_| WebhookSecrets::of_token(&token));
    let api = api::BotApi::new(&api_url, &token)?;
    let web_app_key = crm_lib::mini_app::WebAppKey::of_token(&token);
    let (shutdown, receiver) = watch::channel(false);
    let bot = Arc::new(OrgBot {
        org: org.id,
        slug: org.slug,
        emulator,
        webhook,
        username: OnceLock::new(),
        inbox_wake: Notify::new(),
        api,
        token: stored,
        web_app_key,
        shutdown,
        tasks: Mutex::new(Vec::new()),
    });
    tracing::info!(
        org = %bot.slug,
        mode = if bot.emulator.is_some() { "sandbox" } else { "telegram" },
        "starting the organization's bot"
    );
    let mut tasks = Vec::new();
    {
        let (state, bot_for_task) = (state.clone(), bot.clone());
        let mut receiver = receiver.clone();
        let public_url = config.public_url.clone();
        let span = bot.span("updates");
        tasks.push(tokio::spawn(
            async move {
                introduce(&bot_for_task, &mut receiver).await;
                match public_url {
                    Some(url) => updates::set_webhook(&bot_for_task, &url, &mut receiver).await,
                    None => {
                        delete_webhook(bot_for_task.api()).await;
                        updates::poll(state, bot_for_task, receiver).await;
                    }
                }
            }
            .instrument(span),
        ));
    }
    tasks.push(tokio::spawn(
        processor::run(state.clone(), bot.clone(), receiver).instrument(bot.span("inbox")),
    ));
    if let Ok(mut held) = bot.tasks.lock() {
        *held = tasks;
    }
    Ok(bot)
}

/// getMe (the username, for commands addressed `/cmd@bot`) and setMyCommands in every
/// language; retried in the background until the Bot API answers.
async fn introduce(bot: &OrgBot, shutdown: &mut watch::Receiver<bool>) {
    let api = bot.api();
    let mut pause = Duration::from_millis(200);
    loop {
        match api.call("getMe", &json!({}), api::CALL_TIMEOUT).await {
            Ok(me) => {
                if let Some(username) = me.get("username").and_then(serde_json::Value::as_str) {
                    let _ = bot.username.set(username.to_string());
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
