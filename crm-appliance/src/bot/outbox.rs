//! Outbox delivery: every notification, chat message and bot reply leaves the process here,
//! after the transaction that queued it has committed (SPEC section 3).
//!
//! The loop reads the due items (crm-lib's `System::due_outbox`, each with its chat and its
//! recipient's language), turns each typed item into Bot API calls (this module is where
//! method names live), and sends at most one item per chat at a time, in outbox order, within Telegram's limits
//! (see [`super::limiter`]). Each item's outcome is recorded in its own write:
//!
//! | answer | what happens |
//! | --- | --- |
//! | ok | `outbox_delivered` with Telegram's `message_id` (a chat message is marked sent) |
//! | 429 | `outbox_retry` at now + `retry_after`; every send pauses that long |
//! | 5xx, network error | `outbox_retry` with exponential back-off (1 s doubling to 5 min) |
//! | 403 | `outbox_failed` with `DeliveryFailure::Blocked`: crm-lib marks the customer unreachable, no more retries |
//! | other 4xx | `outbox_failed` with `DeliveryFailure::Refused` and Telegram's description |
//!
//! An item is recorded delivered right after Telegram accepts it, so a restart never sends it
//! again; the one window left is a crash between Telegram's answer and that write (Telegram
//! has no idempotency key to close it), and a chat message with several files sent as separate
//! calls may repeat its first files if a later call fails.
//! Items wake the loop through crm-lib's commit hook, so a reply leaves within milliseconds of
//! its update's commit.
//!
//! One loop sends for every organization (issue 14): each item goes through its
//! organization's bot (its Bot API client and token), within that bot's own limits (Telegram
//! counts them per bot: one [`Limiter`] per organization, and a 429 pauses that bot alone),
//! and the chat an item holds back is the organization's chat (two bots may share a chat id:
//! one person talking to both). An item of an organization whose bot is not running waits;
//! crm-lib does not hand out a disabled organization's items at all.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crm_lib::{
    ErrorKind,
    model::{
        Author, BotReply, ChatId, DeliveryFailure, Direction, ForumCall, Language, MediaKind,
        Message as CrmMessage, MessageContent, OrgId, OutboxId, OutboxItem, OutboxPayload,
        Timestamp,
    },
    telegram::DueItem,
};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::api::{ApiError, BotApi, CALL_TIMEOUT, Upload};
use super::keyboards;
use super::limiter::Limiter;
use super::render::{self, CAPTION_MAX_UTF16, TEXT_MAX_UTF16, fit, tr, tr_with};
use crate::AppState;

/// Sends in flight at once (across chats).
const MAX_IN_FLIGHT: usize = 32;
/// Due items read per round.
const DUE_BATCH: usize = 512;
/// The shortest time between two rounds. Every commit wakes the loop (the commit may have
/// queued a reply), and a round reads and decodes up to [`DUE_BATCH`] items: with a backlog
/// of bot replies (Telegram allows 30 sends a second) and hundreds of commits a second, rounds
/// on every wake took most of a core from the writes (measured with `benches/run.sh`: creates
/// fell to 1,500/s during a backup). Twenty rounds a second still start every send the limits
/// allow.
const MIN_ROUND: Duration = Duration::from_millis(50);
/// Attempts before a transient failure is given up.
pub(crate) const MAX_ATTEMPTS: u32 = 30;
/// The longest back-off between attempts.
const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Methods whose parameters take no `chat_id`.
const NO_CHAT_ID: &[&str] = &[
    "answerCallbackQuery",
    "answerPreCheckoutQuery",
    "refundStarPayment",
];

/// What a finished delivery tells the loop.
#[derive(Debug, Default)]
struct Report {
    /// Keep this chat's later items back until then (a retry is scheduled).
    hold_until: Option<Instant>,
    /// Telegram asked every send to wait until then.
    pause_until: Option<Instant>,
}

/// The Bot API call(s) an item becomes.
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) params: Map<String, Value>,
    pub(crate) uploads: Vec<Upload>,
}

/// Whether an item puts a new message in the chat (counts against the limits).
fn item_counts(item: &OutboxItem) -> bool {
    match &item.payload {
        OutboxPayload::Reply(reply) => reply.is_new_message(),
        OutboxPayload::Notify(_) | OutboxPayload::ChatMessage(_) => true,
        OutboxPayload::EditMessage(_) | OutboxPayload::DeleteMessage(_) => false,
        OutboxPayload::Forum(call) => !matches!(
            call,
            ForumCall::CloseTopic { .. } | ForumCall::ReopenTopic { .. }
        ),
        OutboxPayload::StarsInvoice { .. } => true,
        OutboxPayload::RefundStars { .. } => false,
        OutboxPayload::Broadcast { .. } => true,
    }
}

/// The back-off after `attempts` failed attempts: 1 s, 2 s, 4 s ... up to 5 minutes.
pub(crate) fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(9)).min(BACKOFF_CAP)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A chat of one organization's bot.
type ChatKey = (OrgId, i64);

/// Runs until `shutdown`, then waits a few seconds for sends in flight.
pub(crate) async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let outbox_wake = state.bots().outbox_wake.clone();
    let mut limiters: HashMap<OrgId, Limiter> = HashMap::new();
    let mut holds: HashMap<ChatKey, Instant> = HashMap::new();
    let mut in_flight: HashSet<ChatKey> = HashSet::new();
    let mut failing: HashSet<(OrgId, OutboxId)> = HashSet::new();
    let mut tasks: JoinSet<Report> = JoinSet::new();
    // The chat (of its organization's bot) each send holds, and the item a failing task
    // records.
    let mut task_chats: HashMap<tokio::task::Id, (ChatKey, Option<(OrgId, OutboxId)>)> =
        HashMap::new();
    let mut last_prune = Instant::now();
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
        let now_ts = Timestamp::now();
        let due = state
            .blocking(move |crm| crm.system().due_outbox(now_ts, DUE_BATCH))
            .await;
        let now = Instant::now();
        let mut next_wake = now + Duration::from_secs(1);
        match due {
            Ok(mut due) => {
                due.sort_by_key(|due| (due.org, due.item.id));
                let mut claimed: HashSet<ChatKey> = HashSet::new();
                for due in due {
                    if tasks.len() >= MAX_IN_FLIGHT {
                        break;
                    }
                    // The item's organization's bot, with its client and its span.
                    let Some(bot) = state.bots().bot(due.org) else {
                        continue;
                    };
                    let span = bot.span("outbox");
                    let Some(chat) = due.chat else {
                        let key = (due.org, due.item.id);
                        if failing.insert(key) {
                            let state = state.clone();
                            let handle = tasks.spawn(tracing::Instrument::instrument(
                                async move {
                                    record_failed(
                                        &state,
                                        due.org,
                                        &due.item,
                                        DeliveryFailure::NoChat,
                                    )
                                    .await;
                                    Report::default()
                                },
                                span,
                            ));
                            task_chats.insert(handle.id(), ((due.org, 0), Some(key)));
                        }
                        continue;
                    };
                    let chat_key = (due.org, chat.get());
                    if in_flight.contains(&chat_key) || !claimed.insert(chat_key) {
                        continue;
                    }
                    if let Some(until) = holds.get(&chat_key).copied() {
                        if until > now {
                            next_wake = next_wake.min(until);
                            continue;
                        }
                        holds.remove(&chat_key);
                    }
                    let limiter = limiters.entry(due.org).or_default();
                    if let Err(ready) = limiter.try_take(chat.get(), item_counts(&due.item), now) {
                        next_wake = next_wake.min(ready);
                        continue;
                    }
                    in_flight.insert(chat_key);
                    let state = state.clone();
                    let api = bot.api().clone();
                    let handle = tasks.spawn(tracing::Instrument::instrument(
                        async move { deliver(&state, &api, due, chat).await },
                        span,
                    ));
                    task_chats.insert(handle.id(), (chat_key, None));
                }
            }
            Err(error) => tracing::warn!(error = %error, "reading the outbox failed"),
        }
        if now.duration_since(last_prune) > Duration::from_secs(10) {
            for limiter in limiters.values_mut() {
                limiter.prune(now);
            }
            holds.retain(|_, until| *until > now);
            last_prune = now;
        }
        tokio::select! {
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, report) = match done {
                    Ok((id, report)) => (id, report),
                    Err(error) => (error.id(), Report::default()),
                };
                if let Some((chat, failed)) = task_chats.remove(&id) {
                    let org = chat.0;
                    in_flight.remove(&chat);
                    if let Some(key) = failed {
                        failing.remove(&key);
                    }
                    if let Some(until) = report.hold_until {
                        holds.insert(chat, until);
                    }
                    // Telegram's 429 is the bot's: only this organization's sends pause.
                    if let Some(until) = report.pause_until {
                        limiters.entry(org).or_default().pause(until);
                    }
                }
            }
            () = outbox_wake.notified() => {}
            () = tokio::time::sleep_until(next_wake.into()) => {}
            _ = shutdown.changed() => {}
        }
    }
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        tracing::warn!("stopping with sends still in flight; they are retried on the next start");
    }
}

/// Sends one item and records the outcome. An item sent at most once
/// ([`OutboxPayload::at_most_once`]) records its attempt first, and a failure that may have
/// reached Telegram gives it up instead of retrying.
async fn deliver(state: &AppState, api: &BotApi, due: DueItem, chat: ChatId) -> Report {
    let org = due.org;
    let item = due.item.clone();
    let at_most_once = item.payload.at_most_once();
    if at_most_once {
        let id = item.id;
        match state
            .blocking(move |crm| crm.system().outbox_begin(org, id))
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(
                    item = id.get(),
                    "outbox item interrupted earlier; not repeated"
                );
                return Report::default();
            }
            Err(error) => {
                tracing::warn!(item = id.get(), error = %error, "cannot record the start of a send");
                return Report {
                    hold_until: Some(Instant::now() + Duration::from_secs(1)),
                    pause_until: None,
                };
            }
        }
    }
    let requests = match render_item(state, due, chat).await {
        Ok(requests) => requests,
        Err(error) if error.kind() == ErrorKind::Storage => {
            return retry(
                state,
                org,
                &item,
                None,
                &format!("cannot prepare the item: {error}"),
            )
            .await;
        }
        Err(error) => {
            let reason = format!("cannot prepare the item: {error}");
            record_failed(state, org, &item, DeliveryFailure::Refused { reason }).await;
            return Report::default();
        }
    };
    // Every Telegram message the item became (an album answers with one per file).
    let mut message_ids: Vec<i64> = Vec::new();
    for request in requests {
        let answer = if request.uploads.is_empty() {
            api.call(
                &request.method,
                &Value::Object(request.params),
                CALL_TIMEOUT,
            )
            .await
        } else {
            api.call_with_files(&request.method, &request.params, request.uploads)
                .await
        };
        match answer {
            Ok(result) => message_ids.extend(message_ids_of(&result)),
            Err(ApiError::Telegram {
                code: 429,
                retry_after,
                description,
            }) => {
                let wait = Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 3600));
                let mut report = retry(state, org, &item, Some(wait), &description).await;
                report.pause_until = Some(Instant::now() + wait);
                return report;
            }
            Err(ApiError::Telegram {
                code: 403,
                description,
                ..
            }) => {
                let reason = format!("403: {description}");
                record_failed(state, org, &item, DeliveryFailure::Blocked { reason }).await;
                return Report::default();
            }
            Err(error) if at_most_once && !error.surely_unsent() => {
                tracing::info!(item = item.id.get(), error = %error, "an at-most-once send may have arrived");
                record_failed(state, org, &item, DeliveryFailure::Interrupted).await;
                return Report::default();
            }
            Err(error) if error.is_transient() => {
                return retry(state, org, &item, None, &error.to_string()).await;
            }
            Err(error) => {
                let reason = error.to_string();
                record_failed(state, org, &item, DeliveryFailure::Refused { reason }).await;
                return Report::default();
            }
        }
    }
    record(state, move |crm| {
        if message_ids.len() > 1 {
            crm.system()
                .outbox_delivered_parts(org, item.id, message_ids.clone())
        } else {
            crm.system()
                .outbox_delivered(org, item.id, message_ids.first().copied())
        }
    })
    .await;
    Report::default()
}

/// Telegram's `message_id`s of a send's result (one per message of an album), or the
/// `message_thread_id` of a created forum topic (`createForumTopic` returns a `ForumTopic`).
fn message_ids_of(result: &Value) -> Vec<i64> {
    let id = |message: &Value| {
        message
            .get("message_id")
            .or_else(|| message.get("message_thread_id"))
            .and_then(Value::as_i64)
    };
    match result {
        Value::Array(messages) => messages.iter().filter_map(id).collect(),
        other => id(other).into_iter().collect(),
    }
}

/// Schedules another attempt: after `wait` (a 429) or the back-off; gives up after
/// [`MAX_ATTEMPTS`].
async fn retry(
    state: &AppState,
    org: OrgId,
    item: &OutboxItem,
    wait: Option<Duration>,
    reason: &str,
) -> Report {
    if wait.is_none() && item.attempts + 1 >= MAX_ATTEMPTS {
        let reason = format!("gave up after {MAX_ATTEMPTS} attempts: {reason}");
        record_failed(state, org, item, DeliveryFailure::GaveUp { reason }).await;
        return Report::default();
    }
    let wait = wait.unwrap_or_else(|| backoff(item.attempts));
    tracing::info!(
        item = item.id.get(),
        attempt = item.attempts + 1,
        wait_ms = millis(wait),
        reason,
        "outbox send postponed"
    );
    let at = Timestamp::now().plus_millis(millis(wait));
    let id = item.id;
    record(state, move |crm| {
        crm.system().outbox_retry(org, id, at).map(|_| ())
    })
    .await;
    Report {
        hold_until: Some(Instant::now() + wait),
        pause_until: None,
    }
}

/// Gives an item up; crm-lib decides what the failure means for its recipient (a blocked
/// bot marks the customer unreachable, see `DeliveryFailure`).
async fn record_failed(state: &AppState, org: OrgId, item: &OutboxItem, failure: DeliveryFailure) {
    tracing::info!(
        item = item.id.get(),
        reason = failure.reason(),
        "outbox item failed"
    );
    let id = item.id;
    record(state, move |crm| {
        crm.system().outbox_failed(org, id, failure.clone())
    })
    .await;
}

/// Runs a bookkeeping write, retried a few times on storage errors; conflicts (the item moved
/// on meanwhile) are fine.
async fn record<F>(state: &AppState, write: F)
where
    F: Fn(&crm_lib::Crm) -> crm_lib::Result<()> + Send + Sync + Clone + 'static,
{
    for attempt in 0..3 {
        let write = write.clone();
        match state.blocking(move |crm| write(crm)).await {
            Ok(()) => return,
            Err(error) if matches!(error.kind(), ErrorKind::Conflict | ErrorKind::NotFound) => {
                return;
            }
            Err(error) => {
                tracing::warn!(attempt, error = %error, "recording an outbox outcome failed");
                tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
            }
        }
    }
}

/// Turns an item into Bot API calls (reading what it needs from the store): the one place
/// crm-lib's typed outbox items become Telegram methods.
async fn render_item(
    state: &AppState,
    due: DueItem,
    chat: ChatId,
) -> crm_lib::Result<Vec<Request>> {
    let mini_app_url = super::mini_app::mini_app_url(state, due.org);
    state
        .blocking(move |crm| {
            let org = due.org;
            let mut requests = match &due.item.payload {
                OutboxPayload::Reply(reply) => vec![reply_request(reply)],
                OutboxPayload::Notify(event) => {
                    let (text, keyboard) = render::notification(event, due.language, &due.currency);
                    let mut params = Map::new();
                    params.insert("text".into(), json!(text));
                    let mut markup = keyboard.as_ref().map(keyboards::to_json);
                    if let Some(url) = mini_app_url
                        .as_deref()
                        .filter(|_| super::mini_app::about_a_project(event))
                    {
                        markup = Some(super::mini_app::append_to_markup(markup, due.language, url));
                    }
                    if let Some(markup) = markup {
                        params.insert("reply_markup".into(), markup);
                    }
                    vec![Request {
                        method: "sendMessage".into(),
                        params,
                        uploads: Vec::new(),
                    }]
                }
                OutboxPayload::ChatMessage(message) => {
                    let message = crm.system().outbox_message(org, *message)?;
                    chat_message_requests(crm, org, &message)?
                }
                OutboxPayload::EditMessage(message) => {
                    let message = crm.system().outbox_message(org, *message)?;
                    vec![edit_request(&message)?]
                }
                OutboxPayload::DeleteMessage(message) => {
                    let parts = crm.system().sent_parts(org, *message)?;
                    let message = crm.system().outbox_message(org, *message)?;
                    let mut params = Map::new();
                    // A message sent as several (an album) goes as a whole: `deleteMessages`
                    // takes up to 100 ids of one chat.
                    let method = if parts.len() > 1 {
                        params.insert("message_ids".into(), json!(parts));
                        "deleteMessages"
                    } else {
                        params.insert("message_id".into(), json!(sent_id(&message)?));
                        "deleteMessage"
                    };
                    vec![Request {
                        method: method.into(),
                        params,
                        uploads: Vec::new(),
                    }]
                }
                OutboxPayload::Forum(call) => forum_requests(crm, org, call, due.language)?,
                OutboxPayload::StarsInvoice {
                    invoice,
                    tokens,
                    amount,
                } => vec![stars_invoice_request(
                    due.language,
                    *invoice,
                    *tokens,
                    *amount,
                )],
                OutboxPayload::Broadcast { text, .. } => {
                    let mut params = Map::new();
                    params.insert("text".into(), json!(text));
                    vec![Request {
                        method: "sendMessage".into(),
                        params,
                        uploads: Vec::new(),
                    }]
                }
                OutboxPayload::RefundStars { charge_id } => {
                    // A private chat's id is its user's id, what refundStarPayment names.
                    let mut params = Map::new();
                    params.insert("user_id".into(), json!(chat.get()));
                    params.insert("telegram_payment_charge_id".into(), json!(charge_id));
                    vec![Request {
                        method: "refundStarPayment".into(),
                        params,
                        uploads: Vec::new(),
                    }]
                }
            };
            for request in &mut requests {
                if !NO_CHAT_ID.contains(&request.method.as_str()) {
                    request.params.insert("chat_id".into(), json!(chat.get()));
                }
            }
            Ok(requests)
        })
        .await
}

/// `sendInvoice` of a Stars invoice: currency `XTR`, an empty `provider_token` (the Bot
/// API's rule for payments in Telegram Stars), one price, and the invoice id as the
/// `payload` Telegram sends back in `pre_checkout_query` and `successful_payment`.
fn stars_invoice_request(language: Language, invoice: u64, tokens: u64, amount: u64) -> Request {
    let mut params = Map::new();
    let title = render::tr_with(language, "payments.bot.stars_title", &[("tokens", &tokens)]);
    params.insert("title".into(), json!(title));
    params.insert(
        "description".into(),
        json!(render::tr_with(
            language,
            "payments.bot.stars_description",
            &[("id", &invoice), ("tokens", &tokens)],
        )),
    );
    params.insert("payload".into(), json!(invoice.to_string()));
    params.insert("provider_token".into(), json!(""));
    params.insert("currency".into(), json!("XTR"));
    params.insert(
        "prices".into(),
        json!([{ "label": title, "amount": amount }]),
    );
    Request {
        method: "sendInvoice".into(),
        params,
        uploads: Vec::new(),
    }
}

/// The Bot API call of the bot's reply to an update.
fn reply_request(reply: &BotReply) -> Request {
    let mut params = Map::new();
    let method = match reply {
        BotReply::Text { text, keyboard } => {
            params.insert("text".into(), json!(fit(text, TEXT_MAX_UTF16)));
            if let Some(keyboard) = keyboard {
                params.insert("reply_markup".into(), keyboards::to_json(keyboard));
            }
            "sendMessage"
        }
        BotReply::Edit {
            message_id,
            text,
            keyboard,
        } => {
            params.insert("message_id".into(), json!(message_id));
            params.insert("text".into(), json!(fit(text, TEXT_MAX_UTF16)));
            if let Some(keyboard) = keyboard {
                params.insert("reply_markup".into(), keyboards::to_json(keyboard));
            }
            "editMessageText"
        }
        BotReply::RemoveButtons { message_id } => {
            params.insert("message_id".into(), json!(message_id));
            "editMessageReplyMarkup"
        }
        BotReply::SetButtons {
            message_id,
            keyboard,
        } => {
            params.insert("message_id".into(), json!(message_id));
            params.insert("reply_markup".into(), keyboards::to_json(keyboard));
            "editMessageReplyMarkup"
        }
        BotReply::AnswerPress {
            query_id,
            text,
            alert,
        } => {
            params.insert("callback_query_id".into(), json!(query_id));
            if let Some(text) = text {
                params.insert("text".into(), json!(text));
                if *alert {
                    params.insert("show_alert".into(), json!(true));
                }
            }
            "answerCallbackQuery"
        }
        BotReply::AnswerPreCheckout {
            query_id,
            ok,
            error_message,
        } => {
            params.insert("pre_checkout_query_id".into(), json!(query_id));
            params.insert("ok".into(), json!(ok));
            if let Some(message) = error_message {
                params.insert("error_message".into(), json!(message));
            }
            "answerPreCheckoutQuery"
        }
    };
    Request {
        method: method.to_string(),
        params,
        uploads: Vec::new(),
    }
}

/// Telegram's id of a sent chat message (what an edit or a delete names).
fn sent_id(message: &crm_lib::model::Message) -> crm_lib::Result<i64> {
    message.telegram_message_id.ok_or_else(|| {
        crm_lib::Error::conflict(format!(
            "message {} has no Telegram id to edit or delete",
            message.id
        ))
    })
}

/// A staff edit of a sent message: `editMessageCaption` when Telegram holds its text as a
/// file's caption, `editMessageText` otherwise.
fn edit_request(message: &crm_lib::model::Message) -> crm_lib::Result<Request> {
    let mut params = Map::new();
    params.insert("message_id".into(), json!(sent_id(message)?));
    let method = if message.edits_as_caption() {
        params.insert(
            "caption".into(),
            json!(fit(&message.text, CAPTION_MAX_UTF16)),
        );
        "editMessageCaption"
    } else {
        params.insert("text".into(), json!(fit(&message.text, TEXT_MAX_UTF16)));
        "editMessageText"
    };
    Ok(Request {
        method: method.into(),
        params,
        uploads: Vec::new(),
    })
}

/// A message without files that Telegram shows as a location, venue or contact.
fn content_request(content: &MessageContent) -> Option<Request> {
    let mut params = Map::new();
    let method = match content {
        MessageContent::Location {
            latitude,
            longitude,
        } => {
            params.insert("latitude".into(), json!(latitude));
            params.insert("longitude".into(), json!(longitude));
            "sendLocation"
        }
        MessageContent::Venue {
            latitude,
            longitude,
            title,
            address,
        } => {
            params.insert("latitude".into(), json!(latitude));
            params.insert("longitude".into(), json!(longitude));
            params.insert("title".into(), json!(title));
            params.insert("address".into(), json!(address));
            "sendVenue"
        }
        MessageContent::Contact {
            phone,
            first_name,
            last_name,
        } => {
            params.insert("phone_number".into(), json!(phone));
            params.insert("first_name".into(), json!(first_name));
            if let Some(last_name) = last_name {
                params.insert("last_name".into(), json!(last_name));
            }
            "sendContact"
        }
        MessageContent::Sticker { .. }
        | MessageContent::Dice { .. }
        | MessageContent::Poll { .. } => return None,
    };
    Some(Request {
        method: method.into(),
        params,
        uploads: Vec::new(),
    })
}

fn send_method(kind: MediaKind) -> (&'static str, &'static str) {
    match kind {
        MediaKind::Photo => ("sendPhoto", "photo"),
        MediaKind::Voice => ("sendVoice", "voice"),
        MediaKind::Video => ("sendVideo", "video"),
        MediaKind::VideoNote => ("sendVideoNote", "video_note"),
        MediaKind::Audio => ("sendAudio", "audio"),
        MediaKind::Sticker => ("sendSticker", "sticker"),
        MediaKind::Document => ("sendDocument", "document"),
    }
}

fn default_file_name(mime: &str) -> String {
    let extension = match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "video/mp4" => "mp4",
        "text/plain" => "txt",
        _ => "bin",
    };
    format!("file.{extension}")
}

/// A staff message: text, one file with a caption, an album, a sticker, a location, venue
/// or contact; text too long for a caption goes first as its own message. A reply quotes
/// the message it answers (`reply_parameters` on the first call, sent even when the quoted
/// message is gone from the chat).
pub(crate) fn chat_message_requests(
    crm: &crm_lib::Crm,
    org: OrgId,
    message: &crm_lib::model::Message,
) -> crm_lib::Result<Vec<Request>> {
    let mut requests = match message.content.as_ref().and_then(content_request) {
        Some(request) => vec![request],
        None => message_requests(crm, org, message)?,
    };
    let quoted = match message.reply_to {
        Some(quoted) => {
            crm.system()
                .outbox_message(org, quoted)?
                .telegram_message_id
        }
        None => None,
    };
    if let (Some(quoted), Some(first)) = (quoted, requests.first_mut()) {
        first.params.insert(
            "reply_parameters".into(),
            json!({ "message_id": quoted, "allow_sending_without_reply": true }),
        );
    }
    Ok(requests)
}

/// The calls of a staff message's text and files.
fn message_requests(
    crm: &crm_lib::Crm,
    org: OrgId,
    message: &crm_lib::model::Message,
) -> crm_lib::Result<Vec<Request>> {
    let text = fit(&message.text, TEXT_MAX_UTF16);
    let mut requests = Vec::new();
    if message.attachments.is_empty() {
        let mut params = Map::new();
        params.insert("text".into(), json!(text));
        requests.push(Request {
            method: "sendMessage".into(),
            params,
            uploads: Vec::new(),
        });
        return Ok(requests);
    }
    let caption_fits = text.encode_utf16().count() <= CAPTION_MAX_UTF16;
    if !text.is_empty() && !caption_fits {
        let mut params = Map::new();
        params.insert("text".into(), json!(text));
        requests.push(Request {
            method: "sendMessage".into(),
            params,
            uploads: Vec::new(),
        });
    }
    let caption = if caption_fits && !text.is_empty() {
        Some(text.clone())
    } else {
        None
    };
    let uploads: Vec<(MediaKind, Upload)> = message
        .attachments
        .iter()
        .enumerate()
        .map(|(index, attachment)| {
            Ok((
                attachment.kind,
                Upload {
                    field: format!("file{index}"),
                    bytes: crm.system().read_media(org, attachment.media)?,
                    file_name: attachment
                        .file_name
                        .clone()
                        .unwrap_or_else(|| default_file_name(&attachment.mime)),
                    mime: attachment.mime.clone(),
                },
            ))
        })
        .collect::<crm_lib::Result<_>>()?;
    let visual = |kind: MediaKind| matches!(kind, MediaKind::Photo | MediaKind::Video);
    let album = uploads.len() >= 2
        && (uploads.iter().all(|(kind, _)| visual(*kind))
            || uploads.iter().all(|(kind, _)| *kind == MediaKind::Document)
            || uploads.iter().all(|(kind, _)| *kind == MediaKind::Audio));
    if album {
        let media: Vec<Value> = uploads
            .iter()
            .enumerate()
            .map(|(index, (kind, upload))| {
                let kind = match kind {
                    MediaKind::Photo => "photo",
                    MediaKind::Video => "video",
                    MediaKind::Audio => "audio",
                    _ => "document",
                };
                let mut item =
                    json!({ "type": kind, "media": format!("attach://{}", upload.field) });
                if index == 0
                    && let Some(caption) = &caption
                {
                    item["caption"] = json!(caption);
                }
                item
            })
            .collect();
        let mut params = Map::new();
        params.insert("media".into(), Value::Array(media));
        requests.push(Request {
            method: "sendMediaGroup".into(),
            params,
            uploads: uploads.into_iter().map(|(_, upload)| upload).collect(),
        });
        return Ok(requests);
    }
    for (index, (kind, mut upload)) in uploads.into_iter().enumerate() {
        let (method, field) = send_method(kind);
        upload.field = field.to_string();
        let mut params = Map::new();
        if index == 0
            && let Some(caption) = &caption
        {
            params.insert("caption".into(), json!(caption));
        }
        requests.push(Request {
            method: method.into(),
            params,
            uploads: vec![upload],
        });
    }
    Ok(requests)
}

// ----- the staff group's forum (issue 12) -----

/// The text a mirrored message shows in the topic: who wrote it, then its text (or the kind
/// of its first file).
fn mirror_text(language: Language, message: &CrmMessage, staff_name: Option<&str>) -> String {
    let body = if message.text.trim().is_empty() && message.attachments.is_empty() {
        tr(language, "staffgram.kind.other")
    } else {
        message.text.clone()
    };
    match (message.direction, staff_name, message.author) {
        (Direction::Note, name, _) => tr_with(
            language,
            "staffgram.mirror.note",
            &[("name", &name.unwrap_or("—")), ("text", &body)],
        ),
        (Direction::Inbound, _, _) => {
            tr_with(language, "staffgram.mirror.customer", &[("text", &body)])
        }
        (_, Some(name), _) => tr_with(
            language,
            "staffgram.mirror.staff",
            &[("name", &name), ("text", &body)],
        ),
        (_, None, Author::System) | (_, None, _) => {
            tr_with(language, "staffgram.mirror.system", &[("text", &body)])
        }
    }
}

/// The Bot API calls of a forum item (the chat id is added by the caller); none when a
/// mirror is to be skipped.
///
/// # Errors
/// Not found or conflict when the topic or message is missing (the item fails); storage.
pub(crate) fn forum_requests(
    crm: &crm_lib::Crm,
    org: OrgId,
    call: &ForumCall,
    language: Language,
) -> crm_lib::Result<Vec<Request>> {
    let request = |method: &str, params: serde_json::Map<String, serde_json::Value>| Request {
        method: method.to_string(),
        params,
        uploads: Vec::new(),
    };
    let with_thread = |thread: i64| {
        let mut params = serde_json::Map::new();
        params.insert("message_thread_id".into(), json!(thread));
        params
    };
    Ok(match call {
        ForumCall::CreateTopic { name, .. } => {
            let mut params = serde_json::Map::new();
            params.insert("name".into(), json!(name));
            vec![request("createForumTopic", params)]
        }
        ForumCall::CloseTopic { customer } => {
            let thread = crm.system().forum_thread(org, *customer)?;
            vec![request("closeForumTopic", with_thread(thread))]
        }
        ForumCall::ReopenTopic { customer } => {
            let thread = crm.system().forum_thread(org, *customer)?;
            vec![request("reopenForumTopic", with_thread(thread))]
        }
        ForumCall::Say { thread, text } => {
            let mut params = with_thread(*thread);
            params.insert("text".into(), json!(text));
            vec![request("sendMessage", params)]
        }
        ForumCall::Mirror { message } => {
            let Some(item) = crm.system().forum_mirror(org, *message)? else {
                return Ok(Vec::new());
            };
            let mut shown = item.message.clone();
            shown.text = mirror_text(language, &item.message, item.staff_name.as_deref());
            let mut requests = chat_message_requests(crm, org, &shown)?;
            for request in &mut requests {
                request
                    .params
                    .insert("message_thread_id".into(), json!(item.thread));
            }
            requests
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(20), BACKOFF_CAP);
    }

    #[test]
    fn the_message_ids_come_from_a_message_every_part_of_an_album_or_a_topic() {
        assert_eq!(message_ids_of(&json!({"message_id": 5})), vec![5]);
        assert_eq!(
            message_ids_of(&json!([{"message_id": 7}, {"message_id": 8}])),
            vec![7, 8]
        );
        assert_eq!(message_ids_of(&json!({"message_thread_id": 9})), vec![9]);
        assert!(message_ids_of(&json!(true)).is_empty());
    }
}
