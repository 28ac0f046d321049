//! The scheduler of crm-lib's scheduled jobs (`crm_lib::jobs::JOBS`: audit cleanup, the
//! daily report, and what later modules declare): a task that wakes at the next due slot,
//! lets crm-lib claim, run and finish every due job, and sleeps again.
//!
//! crm-lib owns the schedule and the bookkeeping (see `crm_lib::jobs`): a slot is claimed in
//! a durable write before its work starts, so it runs once even across a kill -9; a claim
//! left unfinished by an earlier process is run again at the first round after start, and
//! slots missed while the appliance was down run once then too. This module only keeps time.
//!
//! The first round runs shortly after start. After each round the task sleeps until crm-lib's
//! next due slot, at most [`MAX_SLEEP`], so that a schedule changed meanwhile (the report
//! time, the organization's time zone, a job switched back on) and a clock moved by the
//! system are noticed within a minute. Stopping waits a few seconds for the round in hand;
//! a run cut short is the interrupted claim the next start resumes.

use std::time::Duration;

use crm_lib::model::Timestamp;
use tokio::sync::watch;

use crate::AppState;

/// The longest sleep between rounds.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The pause before the first round, so that start-up work goes first.
const FIRST_ROUND_AFTER: Duration = Duration::from_secs(2);

/// Starts the scheduler on the current runtime.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    super::spawn(|shutdown| run(state, shutdown))
}

/// How long to sleep until `next` (crm-lib's next due slot) when it is `now`: at most
/// [`MAX_SLEEP`], at least a moment past the slot (slots are whole milliseconds).
fn sleep_until(next: Option<Timestamp>, now: Timestamp) -> Duration {
    match next {
        Some(next) => {
            let millis = next.millis().saturating_sub(now.millis()).max(0) as u64;
            Duration::from_millis(millis + 5).min(MAX_SLEEP)
        }
        None => MAX_SLEEP,
    }
}

async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut wait = FIRST_ROUND_AFTER;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        match state.blocking(|crm| crm.system().run_due_jobs()).await {
            Ok(runs) => {
                for run in runs {
                    if run.ok {
                        tracing::info!(org = %state.bots().org_name(run.org), job = run.job, slot = %run.slot, result = %run.result, "scheduled job ran");
                    } else {
                        tracing::warn!(org = %state.bots().org_name(run.org), job = run.job, slot = %run.slot, result = %run.result, "scheduled job failed");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "scheduled jobs round failed")
            }
        }
        wait = match state.blocking(|crm| crm.system().next_job_due()).await {
            Ok(next) => sleep_until(next, Timestamp::now()),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "reading the next job slot failed"
                );
                MAX_SLEEP
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheduler_sleeps_until_the_next_slot_but_never_longer_than_a_minute() {
        let now = Timestamp::from_millis(1_000_000);
        assert_eq!(
            sleep_until(Some(now.plus_millis(1500)), now),
            Duration::from_millis(1505)
        );
        assert_eq!(
            sleep_until(Some(now.plus_millis(-10)), now),
            Duration::from_millis(5)
        );
        assert_eq!(
            sleep_until(Some(now.plus_millis(3_600_000)), now),
            MAX_SLEEP
        );
        assert_eq!(sleep_until(None, now), MAX_SLEEP);
    }
}
