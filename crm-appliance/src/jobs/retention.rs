//! Retention: deletes processed inbox items, finished outbox items and the change feed's old
//! entries once crm-lib's retention ages have passed
//! ([`crm_lib::retention::INBOX_RETENTION_DAYS`],
//! [`crm_lib::retention::OUTBOX_RETENTION_DAYS`],
//! [`crm_lib::retention::CHANGE_RETENTION_DAYS`]), and stored files that nothing refers to once
//! their grace period is over ([`crm_lib::retention::MEDIA_GRACE_HOURS`]), and the webhook
//! delivery log's finished deliveries with their attempts
//! ([`crm_lib::webhooks::DELIVERY_RETENTION_DAYS`]).
//!
//! The job runs shortly after start and then every hour. Each run calls crm-lib's prune
//! methods in batches of [`BATCH`] items, one write transaction each, until a batch comes back
//! short, so the writer is never held for long and other writes slip in between batches. Files
//! go in batches of [`MEDIA_BATCH`] files looked at (a file is up to 80 chunks), following
//! crm-lib's cursor through the file table. crm-lib decides what may go; this module only
//! keeps time.

use std::time::Duration;

use anyhow::Context;
use crm_lib::webhooks::DELIVERY_RETENTION_DAYS;
use crm_lib::{
    model::Timestamp,
    retention::{
        CHANGE_RETENTION_DAYS, INBOX_RETENTION_DAYS, MEDIA_GRACE_HOURS, OUTBOX_RETENTION_DAYS,
    },
};
use tokio::sync::watch;

use crate::AppState;

/// Items deleted per write transaction.
const BATCH: usize = 1000;
/// Stored files looked at per write transaction (each deleted one takes its chunks along).
const MEDIA_BATCH: usize = 100;
/// The pause between runs.
const PERIOD: Duration = Duration::from_secs(3600);
/// The pause before the first run, so that start-up work goes first.
const FIRST_RUN_AFTER: Duration = Duration::from_secs(30);

/// Starts the job on the current runtime.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    super::spawn(|shutdown| run(state, shutdown))
}

async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut wait = FIRST_RUN_AFTER;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let now = Timestamp::now();
        let cutoffs = Cutoffs {
            inbox: now.minus_days(INBOX_RETENTION_DAYS),
            outbox: now.minus_days(OUTBOX_RETENTION_DAYS),
            changes: now.minus_days(CHANGE_RETENTION_DAYS),
            media: now.plus_millis(-MEDIA_GRACE_HOURS * 3_600_000),
            webhooks: now.minus_days(DELIVERY_RETENTION_DAYS),
        };
        match prune_once(&state, cutoffs, &shutdown).await {
            Ok(pruned)
                if pruned.inbox
                    + pruned.outbox
                    + pruned.changes
                    + pruned.media
                    + pruned.webhooks
                    > 0 =>
            {
                tracing::info!(
                    inbox = pruned.inbox,
                    outbox = pruned.outbox,
                    changes = pruned.changes,
                    media = pruned.media,
                    webhooks = pruned.webhooks,
                    "retention deleted old inbox, outbox and change feed items and unreferenced files"
                );
            }
            Ok(_) => tracing::debug!("retention found nothing old enough to delete"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "retention failed"),
        }
        wait = PERIOD;
    }
}

/// What is old enough to go: items finished, and unreferenced files stored, before these
/// moments.
#[derive(Debug, Clone, Copy)]
struct Cutoffs {
    inbox: Timestamp,
    outbox: Timestamp,
    changes: Timestamp,
    media: Timestamp,
    webhooks: Timestamp,
}

/// Items deleted by one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Pruned {
    inbox: u64,
    outbox: u64,
    changes: u64,
    media: u64,
    webhooks: u64,
}

/// One run: inbox, then outbox, each in batches until a batch comes back short, then the
/// files to the end of their table; each part stops early at shutdown.
async fn prune_once(
    state: &AppState,
    cutoffs: Cutoffs,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Pruned> {
    let inbox = in_batches(shutdown, "inbox", |limit| {
        state.blocking(move |crm| crm.system().prune_inbox(None, cutoffs.inbox, limit))
    })
    .await
    .context("pruning the inbox")?;
    let outbox = in_batches(shutdown, "outbox", |limit| {
        state.blocking(move |crm| crm.system().prune_outbox(None, cutoffs.outbox, limit))
    })
    .await
    .context("pruning the outbox")?;
    let changes = in_batches(shutdown, "changes", |limit| {
        state.blocking(move |crm| crm.system().prune_changes(None, cutoffs.changes, limit))
    })
    .await
    .context("pruning the change feed")?;
    let media = prune_media(state, cutoffs.media, shutdown)
        .await
        .context("deleting unreferenced files")?;
    let webhooks = in_batches(shutdown, "webhook deliveries", |limit| {
        state.blocking(move |crm| {
            crm.system()
                .prune_webhook_deliveries(None, cutoffs.webhooks, limit)
        })
    })
    .await
    .context("pruning the webhook delivery log")?;
    Ok(Pruned {
        inbox,
        outbox,
        changes,
        media,
        webhooks,
    })
}

/// Walks the file table in batches of [`MEDIA_BATCH`] until crm-lib's cursor reaches its end
/// or shutdown is asked for; the files deleted.
async fn prune_media(
    state: &AppState,
    older_than: Timestamp,
    shutdown: &watch::Receiver<bool>,
) -> crm_lib::Result<u64> {
    let mut total = 0;
    let mut cursor = None;
    while !*shutdown.borrow() {
        let after = cursor.take();
        let pruned = state
            .blocking(move |crm| {
                crm.system()
                    .prune_media(None, older_than, after.as_ref(), MEDIA_BATCH)
            })
            .await?;
        total += pruned.deleted;
        tracing::debug!(table = "media", deleted = pruned.deleted, "retention batch");
        match pruned.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(total)
}

/// Calls `batch(BATCH)` until it deletes fewer than `BATCH` items or shutdown is asked for;
/// the total deleted.
async fn in_batches<F, Fut>(
    shutdown: &watch::Receiver<bool>,
    what: &str,
    mut batch: F,
) -> crm_lib::Result<u64>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = crm_lib::Result<u64>>,
{
    let mut total = 0;
    while !*shutdown.borrow() {
        let deleted = batch(BATCH).await?;
        total += deleted;
        tracing::debug!(table = what, deleted, "retention batch");
        if deleted < BATCH as u64 {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::{Cli, Config};

    #[tokio::test]
    async fn a_run_deletes_finished_items_and_unreferenced_files_in_batches_and_keeps_pending_ones()
    {
        let dir = tempfile::tempdir().unwrap();
        let crm = crm_lib::Crm::open(dir.path().join("crm.redb")).unwrap();
        let system = crm.system();
        let org = system
            .create_organization("studio", "Test", "test")
            .unwrap()
            .id;
        let updates = BATCH as u64 + 5;
        for update_id in 1..=updates {
            system
                .inbox_put(
                    org,
                    update_id,
                    "{}".into(),
                    crm_lib::telegram::INBOX_CAPACITY,
                )
                .unwrap();
            system.finish_update(org, update_id).unwrap();
        }
        system
            .inbox_put(
                org,
                updates + 1,
                "{}".into(),
                crm_lib::telegram::INBOX_CAPACITY,
            )
            .unwrap();
        let chat = crm_lib::model::ChatId::new(5);
        let text = |text: &str| crm_lib::model::BotReply::Text {
            text: text.into(),
            keyboard: None,
        };
        let delivered = system.reply(org, chat, text("a")).unwrap();
        system.outbox_delivered(org, delivered, None).unwrap();
        let pending = system.reply(org, chat, text("b")).unwrap();
        // A customer's message: one change in the feed.
        let customer = system
            .upsert_telegram_customer(
                org,
                crm_lib::customers::TelegramProfile {
                    telegram_id: crm_lib::model::TelegramUserId::new(5),
                    username: None,
                    first_name: "Ann".into(),
                    last_name: None,
                    language_code: None,
                },
            )
            .unwrap();
        crm.post_inbound(
            &crm_lib::model::Actor::customer(org, customer.id),
            crm_lib::chat::InboundMessage {
                customer: customer.id,
                about: crm_lib::chat::OrderChoice::None,
                text: "hello".into(),
                attachments: Vec::new(),
                telegram_message_id: None,
                content: None,
                reply_to_telegram: None,
                media_group: None,
            },
        )
        .unwrap();
        let cli = Cli::parse_from(["crm-appliance"]);
        let state = AppState::new(crm.clone(), Config::from_cli(&cli).unwrap());
        let (_stop, receiver) = watch::channel(false);
        let files = MEDIA_BATCH as u8 + 3;
        for index in 0..files {
            system
                .store_media(org, vec![index], "image/png".into())
                .unwrap();
        }
        let future = Timestamp::now().plus_millis(3_600_000);
        let cutoffs = Cutoffs {
            inbox: future,
            outbox: future,
            changes: future,
            media: future,
            webhooks: future,
        };

        let pruned = prune_once(&state, cutoffs, &receiver).await.unwrap();

        assert_eq!(
            pruned,
            Pruned {
                inbox: updates,
                outbox: 1,
                changes: 1,
                media: u64::from(files),
                webhooks: 0,
            }
        );
        assert_eq!(system.pending_updates(org, 10).unwrap().len(), 1);
        assert!(system.outbox_item(org, delivered).is_err());
        assert!(system.outbox_item(org, pending).is_ok());
        assert!(system.media(org, crm_lib::media::media_hash(&[0])).is_err());
        assert!(system.verify().unwrap().is_clean());
    }
}
