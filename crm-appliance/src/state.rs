//! The state every handler and job shares.

use std::sync::Arc;

use crm_lib::Crm;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::web::metrics::Metrics;
use crate::web::sse::LiveHub;

/// Shared state: the store, the configuration, the organizations' bots. Cheap to clone.
///
/// It holds no organization: the appliance serves several (SPEC 3.1), and every handler and
/// job takes its organization from what it serves: the session, the API token, the webhook
/// path, the outbox item, the bot.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    crm: Crm,
    config: Config,
    web: crate::web::WebState,
    live: LiveHub,
    metrics: Metrics,
    bots: crate::bot::Bots,
    hashing: Semaphore,
}

/// The most threads of tokio's blocking pool (its default is 512). The hot write paths
/// await the group-commit writer without a thread ([`AppState::write`]), so the pool only
/// runs short reads and rare writes; each thread it keeps costs a stack and its allocator's
/// thread heap, which holds page buffers the store's cache freed from other threads. Measured
/// with `benches/run.sh --quick` on 2 cores (2026-12-05): at the default the pool grew to 64
/// threads under 64 connections and the highest RSS, during the online backup, was 344-364
/// MiB; with 16, 306-316 MiB, and order creation, list pages, Zadarma webhooks and the bot ran
/// as fast as before (12,200-12,500 creates/s, 18,000-20,000 list pages/s).
pub const BLOCKING_THREADS: usize = 16;

/// The most password hashes (argon2id, 19 MiB and about 25 ms of one core each) computed at
/// once: one per core. Without a bound, a burst of logins takes every thread of the blocking
/// pool and its memory grows by 19 MiB per waiting login (OWASP's password storage cheat
/// sheet: limit the concurrency of hashing so it cannot be used to exhaust the server).
fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl AppState {
    /// Wraps the opened store, and registers the commit hook that wakes live streams (see
    /// [`crate::web::sse`]).
    pub fn new(crm: Crm, config: Config) -> Self {
        let live = LiveHub::default();
        live.attach(&crm);
        AppState {
            inner: Arc::new(Inner {
                crm,
                web: crate::web::WebState::new(&config),
                bots: crate::bot::Bots::new(),
                config,
                live,
                metrics: Metrics::default(),
                hashing: Semaphore::new(hashing_permits()),
            }),
        }
    }

    /// The hub that wakes live streams after commits and ends them at shutdown.
    pub fn live(&self) -> &LiveHub {
        &self.inner.live
    }

    /// The series behind `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The store.
    pub fn crm(&self) -> &Crm {
        &self.inner.crm
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The organizations' bots (their emulators, webhook routes, usernames, wake-ups).
    pub fn bots(&self) -> &crate::bot::Bots {
        &self.inner.bots
    }

    /// The staff web's in-memory state: session cache, login throttle, cookie settings.
    pub fn web(&self) -> &crate::web::WebState {
        &self.inner.web
    }

    /// Runs a short read on the calling thread: one snapshot of a page's worth of records (the
    /// order list, a token lookup). Such a read takes tens of microseconds and never waits
    /// for a writer, while handing it to the blocking pool costs two thread switches, which
    /// measured 20-25% of the order list's throughput (SPEC section 7). Writes, and reads
    /// whose size grows with the data (exports, backups), go through [`AppState::blocking`].
    ///
    /// # Errors
    /// The call's own error.
    pub fn read_now<R>(&self, f: impl FnOnce(&Crm) -> crm_lib::Result<R>) -> crm_lib::Result<R> {
        f(&self.inner.crm)
    }

    /// Runs `f` in a write transaction of the group-commit writer and resolves once it is
    /// durable, without holding a thread meanwhile ([`Crm::write_async`]): the hot write paths
    /// (API creates, the bot's inbox) use this; the rest go through [`AppState::blocking`].
    ///
    /// # Errors
    /// As [`Crm::write`].
    pub async fn write<R, F>(&self, f: F) -> crm_lib::Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut crm_lib::Tx<'_>) -> crm_lib::Result<R> + Send + 'static,
    {
        self.inner.crm.write_async(f).await
    }

    /// Runs a blocking crm-lib call that hashes or checks a password (login, password change,
    /// a new user, a reset) once one of the hashing permits is free, so that at most one hash
    /// per core runs at a time and the rest wait without holding a thread (see
    /// `hashing_permits`).
    ///
    /// # Errors
    /// As [`AppState::blocking`].
    pub async fn hashing<R, F>(&self, f: F) -> crm_lib::Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Crm) -> crm_lib::Result<R> + Send + 'static,
    {
        let _permit =
            self.inner.hashing.acquire().await.map_err(|error| {
                crm_lib::Error::corrupt(format!("hashing gate closed: {error}"))
            })?;
        self.blocking(f).await
    }

    /// Runs a blocking crm-lib call on tokio's blocking pool, keeping the tracing span.
    ///
    /// # Errors
    /// The call's own error, or a storage error if the blocking task was cancelled.
    pub async fn blocking<R, F>(&self, f: F) -> crm_lib::Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Crm) -> crm_lib::Result<R> + Send + 'static,
    {
        let crm = self.inner.crm.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| f(&crm)))
            .await
            .map_err(|error| crm_lib::Error::corrupt(format!("background task failed: {error}")))?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use clap::Parser;

    use super::*;
    use crate::config::{Cli, Config};

    /// A burst of password work never runs more hashes at once than there are permits, and
    /// every call of the burst completes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_password_work_runs_at_most_one_hash_per_permit_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        crm.system()
            .create_organization("studio", "Test", "test")
            .unwrap();
        let config = Config::from_cli(&Cli::parse_from(["crm-appliance"])).unwrap();
        let state = AppState::new(crm, config);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let calls = (0..12).map(|_| {
            let (state, running, most) = (state.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                state
                    .hashing(move |_| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            })
        });
        for call in calls.collect::<Vec<_>>() {
            call.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most >= 1, "no hash ran");
        assert!(
            most <= hashing_permits(),
            "{most} hashes ran at once with {} permits",
            hashing_permits()
        );
    }
}
