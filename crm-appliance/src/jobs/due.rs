//! The loop both network senders share (webhook deliveries, AI calls): read a batch of due
//! items from crm-lib, start a request for each one not already in flight, at most
//! [`DueSender::MAX_IN_FLIGHT`] at once, then sleep until the next item is due (at most
//! [`IDLE_WAIT`]), a request ends, a commit wakes it, or shutdown.
//!
//! crm-lib keeps each queue and decides every retry; a sender only makes the request and
//! hands the outcome back (its [`DueSender::attempt`]). Rounds are at least [`MIN_ROUND`]
//! apart, because every commit wakes the loop and commits come by the hundreds a second
//! under load (as the outbox's own `MIN_ROUND`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_lib::Crm;
use crm_lib::model::Timestamp;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::AppState;

/// The longest sleep without a wake-up.
pub(crate) const IDLE_WAIT: Duration = Duration::from_secs(5);
/// The shortest time between two rounds.
pub(crate) const MIN_ROUND: Duration = Duration::from_millis(50);

/// One queue of due items sent over the network by a loop of its own.
pub(crate) trait DueSender: Send + Sync + 'static {
    /// A due item, as crm-lib hands it out.
    type Item: Send + 'static;
    /// What names an item across rounds (an item still in flight is not started twice).
    type Key: PartialEq + Copy + Send + 'static;
    /// Requests in flight at once.
    const MAX_IN_FLIGHT: usize;
    /// Due items read per round.
    const DUE_BATCH: usize;
    /// How long stopping waits for the requests in flight; `None` abandons them at once.
    /// Either way crm-lib still holds an unfinished item and it is sent again after a start.
    const DRAIN: Option<Duration>;
    /// What the logs call the items ("webhook deliveries").
    const WHAT: &'static str;

    /// At most `limit` items due at `now` (crm-lib's due index).
    ///
    /// # Errors
    /// Storage.
    fn due(crm: &Crm, now: Timestamp, limit: usize) -> crm_lib::Result<Vec<Self::Item>>;

    /// When the next item falls due, if any.
    ///
    /// # Errors
    /// Storage.
    fn next_due(crm: &Crm) -> crm_lib::Result<Option<Timestamp>>;

    /// The item's key.
    fn key(item: &Self::Item) -> Self::Key;

    /// Makes one attempt of `item` and hands its outcome to crm-lib (logging what fails).
    fn attempt(&self, state: AppState, item: Self::Item) -> impl Future<Output = ()> + Send;
}

/// Starts `sender`'s loop on the current runtime; every commit wakes it.
pub(crate) fn start<S: DueSender>(state: AppState, sender: S) -> super::JobHandle {
    let wake = Arc::new(Notify::new());
    let hook = wake.clone();
    state.crm().on_commit(move || hook.notify_one());
    super::spawn(|shutdown| run(state, Arc::new(sender), wake, shutdown))
}

async fn run<S: DueSender>(
    state: AppState,
    sender: Arc<S>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks: JoinSet<()> = JoinSet::new();
    // The item of each task in flight, by task (a panicked task still names its own).
    let mut in_flight: HashMap<tokio::task::Id, S::Key> = HashMap::new();
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
            .blocking(move |crm| S::due(crm, now, S::DUE_BATCH))
            .await;
        // Whether this round started a request: a round that found only requests already in
        // flight waits for one of them (or a commit) instead of reading again at once.
        let mut started = false;
        match due {
            Ok(due) => {
                for item in due {
                    if tasks.len() >= S::MAX_IN_FLIGHT {
                        break;
                    }
                    let key = S::key(&item);
                    if in_flight.values().any(|taken| *taken == key) {
                        continue;
                    }
                    let (state, sender) = (state.clone(), sender.clone());
                    let handle = tasks.spawn(async move { sender.attempt(state, item).await });
                    in_flight.insert(handle.id(), key);
                    started = true;
                }
            }
            Err(error) => tracing::warn!(%error, "reading the due {} failed", S::WHAT),
        }
        let next_due = state.blocking(S::next_due).await.ok().flatten();
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
    let Some(drain_for) = S::DRAIN else {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        return;
    };
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(drain_for, drain).await.is_err() {
        tracing::warn!(
            "stopping with {} in flight; they are sent again after the next start",
            S::WHAT
        );
    }
}
