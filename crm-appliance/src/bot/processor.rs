//! The inbox processor: takes pending updates in `update_id` order and handles each in one
//! `crm.write` that also marks it done (SPEC section 3), so a crash before the commit leaves
//! the update pending and a crash after it never replays it.
//!
//! Updates of one chat are handled one after the other, in order; different chats run side by
//! side, so their writes share the group commit's fsync. Files a message carries are fetched
//! (getFile, download, `crm.store_media`) before the transaction, because the writer thread
//! must never wait on the network; storing is content-addressed, so a retry stores nothing
//! twice.
//!
//! A storage failure leaves the update pending and it is tried again after a pause; after
//! [`MAX_ATTEMPTS`] it is finished without effects and logged, so one poisoned update cannot
//! stop the bot. An update that does not parse is finished the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_lib::{
    Crm, ErrorKind,
    model::{Attachment, BotReply, ChatId, InboxItem, Media, MediaKind, OrgId, TelegramUserId},
};
use teloxide::types::{Message, Update, UpdateKind};
use tokio::sync::watch;

use super::OrgBot;
use super::api::{ApiError, BotApi, CALL_TIMEOUT};
use super::context::{Ctx, Prepared, telegram_id};
use super::dialogue::{self, Dialogue, Step};
use super::handler;
use crate::AppState;

/// Tries before an update that keeps failing is given up.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// Updates read from the inbox per round.
const BATCH: usize = 256;

/// What became of one update.
enum Outcome {
    Done,
    Later,
}

/// The chat an update belongs to, for keeping each chat's updates in order: the chat of a
/// message, an edit, a post or a membership change, the presser's private chat for a button
/// press; 0 for anything else.
pub(crate) fn chat_key(update: &Update) -> i64 {
    match &update.kind {
        UpdateKind::CallbackQuery(query) => i64::try_from(query.from.id.0).unwrap_or(0),
        _ => update.chat().map_or(0, |chat| chat.id.0),
    }
}

/// An inbox item with its update parsed once: by the grouping and by the handling.
struct Parsed {
    item: InboxItem,
    update: Option<Update>,
}

impl Parsed {
    fn new(item: InboxItem) -> Self {
        let update = serde_json::from_str(&item.payload)
            .map_err(|error| {
                tracing::warn!(
                    update_id = item.update_id,
                    error = %error,
                    "ignoring an update that does not parse"
                );
            })
            .ok();
        Parsed { item, update }
    }

    fn chat_key(&self) -> i64 {
        self.update.as_ref().map_or(0, chat_key)
    }
}

/// Runs until `shutdown` turns true, finishing the update in hand.
pub(crate) async fn run(state: AppState, bot: Arc<OrgBot>, mut shutdown: watch::Receiver<bool>) {
    let attempts: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let org = bot.org();
    let api = bot.api().clone();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let batch = match state
            .blocking(move |crm| crm.system().pending_updates(org, BATCH))
            .await
        {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(error = %error, "reading the inbox failed");
                sleep_or_stop(&mut shutdown, Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = bot.inbox_wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let mut order: Vec<i64> = Vec::new();
        let mut by_chat: HashMap<i64, Vec<Parsed>> = HashMap::new();
        for item in batch.into_iter().map(Parsed::new) {
            let key = item.chat_key();
            by_chat
                .entry(key)
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push(item);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for key in order {
            let Some(items) = by_chat.remove(&key) else {
                continue;
            };
            let state = state.clone();
            let api = api.clone();
            let bot = bot.clone();
            let attempts = attempts.clone();
            let shutdown = shutdown.clone();
            let span = tracing::Span::current();
            tasks.spawn(tracing::Instrument::instrument(
                async move {
                    for item in items {
                        if *shutdown.borrow() {
                            return false;
                        }
                        match process(&state, &bot, &api, &attempts, item).await {
                            Outcome::Done => {}
                            // Later updates of this chat wait for this one.
                            Outcome::Later => return true,
                        }
                    }
                    false
                },
                span,
            ));
        }
        let mut postponed = false;
        while let Some(result) = tasks.join_next().await {
            postponed |= result.unwrap_or(true);
        }
        if postponed {
            sleep_or_stop(&mut shutdown, Duration::from_secs(1)).await;
        }
    }
}

async fn sleep_or_stop(shutdown: &mut watch::Receiver<bool>, pause: Duration) {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        _ = shutdown.changed() => {}
    }
}

fn count_attempt(attempts: &Mutex<HashMap<u64, u32>>, update_id: u64) -> u32 {
    let mut attempts = attempts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let count = attempts.entry(update_id).or_insert(0);
    *count += 1;
    *count
}

fn forget_attempts(attempts: &Mutex<HashMap<u64, u32>>, update_id: u64) {
    attempts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&update_id);
}

/// Finishes an update without effects (unparseable, or given up).
async fn finish_without_effects(state: &AppState, org: OrgId, update_id: u64) -> Outcome {
    match state
        .blocking(move |crm| crm.system().finish_update(org, update_id))
        .await
    {
        Ok(()) => Outcome::Done,
        Err(error) if matches!(error.kind(), ErrorKind::Conflict | ErrorKind::NotFound) => {
            Outcome::Done
        }
        Err(error) => {
            tracing::warn!(update_id, error = %error, "could not mark an update done");
            Outcome::Later
        }
    }
}

async fn process(
    state: &AppState,
    bot: &OrgBot,
    api: &BotApi,
    attempts: &Mutex<HashMap<u64, u32>>,
    parsed: Parsed,
) -> Outcome {
    let update_id = parsed.item.update_id;
    let received_at = parsed.item.received_at;
    let org = bot.org();
    let Some(update) = parsed.update else {
        return finish_without_effects(state, org, update_id).await;
    };
    let files = match prepare_files(state, org, api, &update).await {
        Ok(files) => files,
        Err(()) => {
            if count_attempt(attempts, update_id) < MAX_ATTEMPTS {
                return Outcome::Later;
            }
            // Go on without the files; the customer is asked to send them again.
            vec![Prepared::Failed]
        }
    };
    let bot_username = bot.username();
    let mini_app_url = super::mini_app::mini_app_url(state, org);
    let chat = update.chat().map(|chat| ChatId::new(chat.id.0));
    let result = state
        .write(handling(
            org,
            update_id,
            update,
            bot_username,
            files,
            mini_app_url,
        ))
        .await;
    match result {
        Ok(()) => {
            forget_attempts(attempts, update_id);
            tracing::debug!(update_id, "update handled");
            state.metrics().record_bot_update(
                bot.slug(),
                crm_lib::model::Timestamp::now().millis() - received_at.millis(),
            );
            Outcome::Done
        }
        Err(error) if error.kind() == ErrorKind::Storage => {
            let count = count_attempt(attempts, update_id);
            tracing::warn!(update_id, attempt = count, error = %error, "handling an update failed");
            if count < MAX_ATTEMPTS {
                Outcome::Later
            } else {
                tracing::error!(
                    update_id,
                    "giving up on an update after {MAX_ATTEMPTS} attempts"
                );
                forget_attempts(attempts, update_id);
                finish_without_effects(state, org, update_id).await
            }
        }
        Err(error) => {
            // A business error escaped a flow (a bug): nothing was written; finish the update
            // so it cannot block the chat, and say sorry.
            tracing::error!(update_id, error = %error, "an update's flow returned an error");
            let outcome = finish_without_effects(state, org, update_id).await;
            if let Some(chat) = chat.filter(|chat| !chat.is_group()) {
                let text = super::render::tr(crm_lib::model::Language::EN, "bot.error.internal");
                let reply = BotReply::Text {
                    text,
                    keyboard: None,
                };
                let _ = state
                    .blocking(move |crm| crm.system().reply(org, chat, reply))
                    .await;
            }
            outcome
        }
    }
}

/// Handles a parsed update in one `crm.write` that also marks it done, with the files fetched
/// for it. Blocks for the write.
///
/// # Errors
/// Storage (nothing kept, the update stays pending); a business error that escaped a flow.
pub(crate) fn handle_in_write(
    crm: &Crm,
    org: OrgId,
    update_id: u64,
    update: Update,
    bot_username: Option<String>,
    files: Vec<Prepared>,
    mini_app_url: Option<String>,
) -> crm_lib::Result<()> {
    crm.write(handling(
        org,
        update_id,
        update,
        bot_username,
        files,
        mini_app_url,
    ))
}

/// The write job that handles one update: its effects, dialogue state, replies (outbox) and
/// `finish_update`, all in one transaction.
fn handling(
    org: OrgId,
    update_id: u64,
    update: Update,
    bot_username: Option<String>,
    files: Vec<Prepared>,
    mini_app_url: Option<String>,
) -> impl FnOnce(&mut crm_lib::Tx<'_>) -> crm_lib::Result<()> + Send + 'static {
    move |tx| {
        let ctx = Ctx {
            org,
            update_id,
            bot_username: bot_username.as_deref(),
            files: &files,
            mini_app_url: mini_app_url.as_deref(),
        };
        handler::handle(tx, &ctx, &update)
    }
}

/// One file of a message: its Telegram id and what to store it as.
pub(crate) struct Wanted {
    file_id: String,
    size: u64,
    kind: MediaKind,
    mime: String,
    file_name: Option<String>,
}

/// The file a private message carries (the largest photo size), if any.
fn wanted_file(message: &Message) -> Option<Wanted> {
    let mime_or = |mime: Option<String>, default: &str| mime.unwrap_or_else(|| default.to_string());
    if let Some(sizes) = message.photo() {
        let largest = sizes.iter().max_by_key(|size| {
            (
                u64::from(size.width) * u64::from(size.height),
                size.file.size,
            )
        })?;
        return Some(Wanted {
            file_id: largest.file.id.0.clone(),
            size: u64::from(largest.file.size),
            kind: MediaKind::Photo,
            mime: "image/jpeg".into(),
            file_name: None,
        });
    }
    if let Some(document) = message.document() {
        return Some(Wanted {
            file_id: document.file.id.0.clone(),
            size: u64::from(document.file.size),
            kind: MediaKind::Document,
            mime: mime_or(
                document.mime_type.as_ref().map(ToString::to_string),
                "application/octet-stream",
            ),
            file_name: document.file_name.clone(),
        });
    }
    if let Some(voice) = message.voice() {
        return Some(Wanted {
            file_id: voice.file.id.0.clone(),
            size: u64::from(voice.file.size),
            kind: MediaKind::Voice,
            mime: mime_or(
                voice.mime_type.as_ref().map(ToString::to_string),
                "audio/ogg",
            ),
            file_name: None,
        });
    }
    if let Some(video) = message.video() {
        return Some(Wanted {
            file_id: video.file.id.0.clone(),
            size: u64::from(video.file.size),
            kind: MediaKind::Video,
            mime: mime_or(
                video.mime_type.as_ref().map(ToString::to_string),
                "video/mp4",
            ),
            file_name: video.file_name.clone(),
        });
    }
    if let Some(audio) = message.audio() {
        return Some(Wanted {
            file_id: audio.file.id.0.clone(),
            size: u64::from(audio.file.size),
            kind: MediaKind::Audio,
            mime: mime_or(
                audio.mime_type.as_ref().map(ToString::to_string),
                "audio/mpeg",
            ),
            file_name: audio.file_name.clone(),
        });
    }
    if let Some(sticker) = message.sticker() {
        // A static sticker is its .webp; an animated (.tgs) or video (.webm) one is shown
        // by its thumbnail (.webp or .jpg), or by its emoji alone when it has none.
        if sticker.is_static() {
            return Some(Wanted {
                file_id: sticker.file.id.0.clone(),
                size: u64::from(sticker.file.size),
                kind: MediaKind::Sticker,
                mime: "image/webp".into(),
                file_name: None,
            });
        }
        let thumbnail = sticker.thumbnail.as_ref()?;
        return Some(Wanted {
            file_id: thumbnail.file.id.0.clone(),
            size: u64::from(thumbnail.file.size),
            kind: MediaKind::Sticker,
            mime: "image/webp".into(),
            file_name: None,
        });
    }
    if let Some(note) = message.video_note() {
        return Some(Wanted {
            file_id: note.file.id.0.clone(),
            size: u64::from(note.file.size),
            kind: MediaKind::VideoNote,
            mime: "video/mp4".into(),
            file_name: None,
        });
    }
    None
}

impl Wanted {
    /// The file, once stored as `media`, as the handler gets it.
    pub(crate) fn stored_as(self, media: Media) -> Prepared {
        Prepared::Stored(Attachment {
            media: media.hash,
            kind: self.kind,
            file_name: self.file_name,
            mime: media.mime,
            size: media.size,
        })
    }

    /// Whether the file is larger than the Bot API lets a bot download.
    pub(crate) fn too_large(&self) -> bool {
        self.size > api_limit()
    }
}

/// Where a message with a file comes from: what [`wants_files`] decides on.
#[derive(Debug, Clone)]
pub(crate) struct FileOrigin {
    /// The chat it was sent in.
    pub(crate) chat: ChatId,
    /// Its sender.
    pub(crate) telegram: TelegramUserId,
    /// Whether the chat is the sender's private chat with the bot (else a group).
    pub(crate) private: bool,
    /// The Telegram message it replies to, in a private chat.
    pub(crate) reply_to: Option<i64>,
    /// Its forum topic (`message_thread_id`), in a group with topics.
    pub(crate) thread: Option<i64>,
    /// Its text or caption.
    pub(crate) text: Option<String>,
}

/// The file of a message from someone with a usable Telegram id, in a private chat or a group,
/// with where it comes from: what [`prepare_files`] may fetch.
pub(crate) fn file_candidate(update: &Update) -> Option<(Wanted, FileOrigin)> {
    let UpdateKind::Message(message) = &update.kind else {
        return None;
    };
    let private = message.chat.is_private();
    if !private && !message.chat.is_group() && !message.chat.is_supergroup() {
        return None;
    }
    let from = message.from.as_ref().filter(|from| !from.is_bot)?;
    let wanted = wanted_file(message)?;
    let telegram = telegram_id(from)?;
    let origin = FileOrigin {
        chat: ChatId::new(message.chat.id.0),
        telegram,
        private,
        reply_to: message
            .reply_to_message()
            .filter(|_| private)
            .map(|replied| i64::from(replied.id.0)),
        thread: message
            .thread_id
            .filter(|_| !private && message.is_topic_message)
            .map(|thread| i64::from(thread.0.0)),
        text: message
            .text()
            .or_else(|| message.caption())
            .map(str::to_string),
    };
    Some((wanted, origin))
}

/// Whether the message `origin` describes can use its file now: a customer chatting, idle, or
/// at the form's attachments step (not a text step, where it is refused unread); a linked
/// staff user's message to a customer (a reply to a notice, or in a customer's topic of the
/// staff group: crm-lib's `staff_message_to_customer`). Anything else in a group is ignored.
///
/// # Errors
/// Storage.
pub(crate) fn wants_files(crm: &Crm, org: OrgId, origin: &FileOrigin) -> crm_lib::Result<bool> {
    let system = crm.system();
    if let Some(user) = system.user_by_telegram(org, origin.telegram)? {
        // A worker's report or entry waiting for its files (`bot::worker`).
        if origin.private
            && super::worker::wants_file(&dialogue::decode_or_idle(
                system.dialogue(org, origin.chat)?,
            ))
        {
            return Ok(true);
        }
        return system.staff_message_to_customer(
            org,
            origin.chat,
            user.id,
            origin.reply_to,
            origin.thread,
            origin.text.as_deref(),
        );
    }
    if !origin.private {
        return Ok(false);
    }
    Ok(
        match dialogue::decode_or_idle(system.dialogue(org, origin.chat)?) {
            Dialogue::Wizard(wizard) => wizard.step == Step::Attachments,
            Dialogue::RejectReason { .. }
            | Dialogue::Form { .. }
            | Dialogue::Report(_)
            | Dialogue::Entry(_) => false,
            Dialogue::Idle | Dialogue::Chatting { .. } | Dialogue::CsatComment { .. } => true,
        },
    )
}

/// Fetches and stores the file of a message when [`wants_files`] says it can be used (a
/// customer's chat, the form's attachments step, or a staff message to a customer).
/// `Err(())` means try again later (the Bot API or the store failed for now).
async fn prepare_files(
    state: &AppState,
    org: OrgId,
    api: &BotApi,
    update: &Update,
) -> Result<Vec<Prepared>, ()> {
    let Some((wanted, origin)) = file_candidate(update) else {
        return Ok(Vec::new());
    };
    let wanted_here = state
        .blocking(move |crm| wants_files(crm, org, &origin))
        .await
        .map_err(|_| ())?;
    if !wanted_here {
        return Ok(Vec::new());
    }
    if wanted.too_large() {
        return Ok(vec![Prepared::Failed]);
    }
    let file = match api
        .call(
            "getFile",
            &serde_json::json!({ "file_id": wanted.file_id }),
            CALL_TIMEOUT,
        )
        .await
    {
        Ok(file) => file,
        Err(error) if error.is_transient() => return Err(()),
        Err(error) => {
            tracing::info!(error = %error, "getFile refused a message's file");
            return Ok(vec![Prepared::Failed]);
        }
    };
    let Some(path) = file.get("file_path").and_then(serde_json::Value::as_str) else {
        return Ok(vec![Prepared::Failed]);
    };
    let bytes = match api.download(path).await {
        Ok(bytes) => bytes,
        Err(error @ ApiError::Malformed(_)) => {
            tracing::info!(error = %error, "a message's file could not be downloaded");
            return Ok(vec![Prepared::Failed]);
        }
        Err(error) if error.is_transient() => return Err(()),
        Err(_) => return Ok(vec![Prepared::Failed]),
    };
    let mime = crm_lib::media::parse_mime(&wanted.mime)
        .unwrap_or_else(|_| "application/octet-stream".into());
    let stored = state
        .blocking(move |crm| crm.system().store_media(org, bytes, mime))
        .await;
    match stored {
        Ok(media) => Ok(vec![wanted.stored_as(media)]),
        Err(error) if error.kind() == ErrorKind::Storage => Err(()),
        Err(_) => Ok(vec![Prepared::Failed]),
    }
}

fn api_limit() -> u64 {
    u64::try_from(super::api::DOWNLOAD_MAX).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_grouped_by_the_chat_they_belong_to() {
        let parsed = |json: &str| {
            Parsed::new(InboxItem {
                update_id: 1,
                payload: json.to_string(),
                state: crm_lib::model::InboxState::Pending,
                received_at: crm_lib::model::Timestamp::from_millis(0),
            })
        };
        let message = r#"{"update_id":1,"message":{"message_id":5,"date":1700000000,"chat":{"id":42,"type":"private","first_name":"A"},"from":{"id":42,"is_bot":false,"first_name":"A"},"text":"hi"}}"#;
        assert_eq!(parsed(message).chat_key(), 42);
        let press = r#"{"update_id":2,"callback_query":{"id":"9","from":{"id":7,"is_bot":false,"first_name":"B"},"chat_instance":"1","data":"m:orders"}}"#;
        assert_eq!(parsed(press).chat_key(), 7);
        let unparsed = parsed("not json");
        assert!(unparsed.update.is_none());
        assert_eq!(unparsed.chat_key(), 0);
    }
}
