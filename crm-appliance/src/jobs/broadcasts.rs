//! The broadcast sender (issue 13): hands each sending broadcast's recipients to the outbox
//! at the broadcast's rate, and starts scheduled broadcasts when their moment comes. The
//! rules (who is picked, at most once, the report) are crm-lib's (`crm_lib::broadcasts`);
//! this loop only keeps time.
//!
//! Each round reads the active broadcasts (a small index), gives every sending one the
//! messages its rate earned since the last round (a token bucket holding at most one second's
//! worth, so a restart or a slow round never bursts past the rate), and hands that many over
//! in one write (`System::feed_broadcast`). A broadcast whose outbox items lag (more than two
//! seconds' worth unanswered: a 429 pause, a slow network) gets nothing until they are
//! answered, so pausing it stops the sending within about a second. The outbox then sends
//! within Telegram's limits shared with every other message. Rounds run every
//! [`ROUND`] while something is sending; otherwise the loop sleeps until the next scheduled
//! start, a commit (a broadcast may have started), or [`IDLE_WAIT`]. Rounds are at least
//! [`ROUND`] apart however often commits wake it (they come by the thousands a second under
//! load), so an idle sender reads at most five times a second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_lib::broadcasts::ActiveBroadcast;
use crm_lib::model::{BroadcastId, BroadcastState, OrgId, Timestamp};
use tokio::sync::{Notify, watch};

use crate::AppState;

/// The time between two rounds while a broadcast sends.
const ROUND: Duration = Duration::from_millis(200);
/// The longest sleep with nothing sending.
const IDLE_WAIT: Duration = Duration::from_secs(5);

/// Starts the sender on the current runtime; every commit wakes it.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    let wake = Arc::new(Notify::new());
    let hook = wake.clone();
    state.crm().on_commit(move || hook.notify_one());
    super::spawn(|shutdown| run(state, wake, shutdown))
}

/// What a sending broadcast may send next: messages earned and when they were last counted.
struct Bucket {
    credit: f64,
    at: Instant,
}

/// The messages `broadcast` may hand over now, from its bucket (created full for one round).
fn earned(
    buckets: &mut HashMap<(OrgId, BroadcastId), Bucket>,
    broadcast: &ActiveBroadcast,
    now: Instant,
) -> usize {
    let rate = f64::from(broadcast.rate_per_second.max(1));
    let bucket = buckets
        .entry((broadcast.org, broadcast.id))
        .or_insert(Bucket {
            credit: rate * ROUND.as_secs_f64(),
            at: now,
        });
    bucket.credit = (bucket.credit + rate * now.duration_since(bucket.at).as_secs_f64()).min(rate);
    bucket.at = now;
    // Outbox items unanswered for more than two seconds' worth: wait for them.
    if broadcast.queued as f64 > 2.0 * rate {
        return 0;
    }
    bucket.credit.floor() as usize
}

async fn run(state: AppState, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    let mut buckets: HashMap<(OrgId, BroadcastId), Bucket> = HashMap::new();
    let mut last_round: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Some(wait) = last_round.and_then(|last| ROUND.checked_sub(last.elapsed())) {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => continue,
            }
        }
        last_round = Some(Instant::now());
        let active = match state.blocking(|crm| crm.system().active_broadcasts()).await {
            Ok(active) => active,
            Err(error) => {
                tracing::warn!(error = %error, "reading the active broadcasts failed");
                Vec::new()
            }
        };
        let now = Timestamp::now();
        let mut sleep = IDLE_WAIT;
        if active.iter().any(|broadcast| {
            broadcast.state == BroadcastState::Scheduled
                && broadcast.scheduled_at.is_some_and(|at| at <= now)
        }) {
            match state
                .blocking(move |crm| crm.system().start_due_broadcasts(now))
                .await
            {
                Ok(started) => tracing::info!(started, "scheduled broadcasts started"),
                Err(error) => {
                    tracing::warn!(error = %error, "starting scheduled broadcasts failed")
                }
            }
            sleep = Duration::ZERO;
        }
        for broadcast in &active {
            if broadcast.state == BroadcastState::Scheduled {
                if let Some(at) = broadcast.scheduled_at {
                    let ahead = Duration::from_millis(
                        u64::try_from(at.millis() - now.millis()).unwrap_or(0),
                    );
                    sleep = sleep.min(ahead);
                }
                continue;
            }
            sleep = sleep.min(ROUND);
            let count = earned(&mut buckets, broadcast, Instant::now());
            if count == 0 {
                continue;
            }
            let (org, id) = (broadcast.org, broadcast.id);
            match state
                .blocking(move |crm| crm.system().feed_broadcast(org, id, count))
                .await
            {
                Ok(fed) => {
                    if let Some(bucket) = buckets.get_mut(&(org, id)) {
                        bucket.credit -= fed as f64;
                    }
                }
                Err(error) => {
                    tracing::warn!(org = %state.bots().org_name(org), broadcast = id.get(), error = %error, "handing broadcast recipients to the outbox failed");
                }
            }
        }
        buckets.retain(|key, _| {
            active.iter().any(|broadcast| {
                (broadcast.org, broadcast.id) == *key && broadcast.state == BroadcastState::Sending
            })
        });
        if sleep.is_zero() {
            continue;
        }
        if sleep >= IDLE_WAIT {
            // Nothing sending: a commit may have started one.
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
                _ = shutdown.changed() => {}
            }
        } else {
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sending(rate: u32, queued: u64) -> ActiveBroadcast {
        ActiveBroadcast {
            org: OrgId::new(1),
            id: BroadcastId::new(1),
            state: BroadcastState::Sending,
            rate_per_second: rate,
            scheduled_at: None,
            queued,
        }
    }

    #[test]
    fn the_bucket_earns_the_rate_and_holds_at_most_one_second() {
        let mut buckets = HashMap::new();
        let start = Instant::now();
        // A new broadcast gets one round's worth: 10/s for 200 ms.
        assert_eq!(earned(&mut buckets, &sending(10, 0), start), 2);
        // Half a second later, five more (nothing was spent).
        assert_eq!(
            earned(
                &mut buckets,
                &sending(10, 0),
                start + Duration::from_millis(500)
            ),
            7
        );
        // A long stall earns one second's worth, not more.
        assert_eq!(
            earned(
                &mut buckets,
                &sending(10, 0),
                start + Duration::from_secs(60)
            ),
            10
        );
    }

    #[test]
    fn a_lagging_outbox_holds_the_broadcast_back() {
        let mut buckets = HashMap::new();
        let start = Instant::now();
        assert_eq!(
            earned(
                &mut buckets,
                &sending(10, 21),
                start + Duration::from_secs(1)
            ),
            0
        );
        assert_eq!(
            earned(
                &mut buckets,
                &sending(10, 20),
                start + Duration::from_secs(2)
            ),
            10
        );
    }
}
