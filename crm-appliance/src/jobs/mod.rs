//! Background jobs: retention (`retention` deletes processed inbox items, finished outbox items
//! and files nothing refers to, every hour), the scheduler of crm-lib's scheduled jobs
//! (`scheduler`: audit cleanup, the daily report, whatever `crm_lib::jobs::JOBS` declares) and
//! the operators module's sweep (`operators`: idle operators away, ended sessions offline,
//! unanswered conversations re-routed, every minute) and the webhook sender (`webhooks`: due
//! webhook deliveries POSTed to their endpoints, woken by commits) and the broadcast sender
//! (`broadcasts`: recipients handed to the outbox at each broadcast's rate, scheduled ones
//! started) and the AI sender (`ai`: the projects module's lead qualification, due calls made
//! to an OpenAI-compatible endpoint and their outcomes handed to crm-lib). Delivering the
//! outbox to
//! Telegram is the bot's sending half: see `bot::outbox`.

pub(crate) mod ai;
pub(crate) mod broadcasts;
pub(crate) mod due;
pub(crate) mod operators;
pub(crate) mod payments;
pub(crate) mod retention;
pub(crate) mod scheduler;
pub(crate) mod webhooks;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running background job: the shutdown signal it watches and its task. Every job of this
/// module is started with [`spawn`] and ended with [`JobHandle::stop`].
pub(crate) struct JobHandle {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl JobHandle {
    /// Stops the job: it sees the signal at its next wait, so a round in progress (a short
    /// write) finishes and no new one starts. Waits at most 8 s, then aborts the task.
    pub(crate) async fn stop(self) {
        let _ = self.shutdown.send(true);
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(8), self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// Starts `job` on the current runtime with a shutdown signal: it should return once the
/// receiver changes to `true`.
pub(crate) fn spawn<F, Fut>(job: F) -> JobHandle
where
    F: FnOnce(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (shutdown, receiver) = watch::channel(false);
    let task = tokio::spawn(job(receiver));
    JobHandle { shutdown, task }
}
