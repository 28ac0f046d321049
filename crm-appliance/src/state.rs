//! The state every handler and job shares.

use std::sync::Arc;

use crm_lib::{Crm, model::OrgId};

use crate::config::Config;
use crate::web::metrics::Metrics;
use crate::web::sse::LiveHub;

/// Shared state: the store, the organization this appliance serves, the configuration.
/// Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    crm: Crm,
    org: OrgId,
    config: Config,
    web: crate::web::WebState,
    live: LiveHub,
    metrics: Metrics,
    telegram: Arc<crate::bot::Telegram>,
}

impl AppState {
    /// Wraps the opened store, and registers the commit hook that wakes live streams (see
    /// [`crate::web::sse`]).
    pub fn new(crm: Crm, org: OrgId, config: Config) -> Self {
        let live = LiveHub::default();
        live.attach(&crm);
        AppState {
            inner: Arc::new(Inner {
                crm,
                org,
                web: crate::web::WebState::new(&config),
                telegram: Arc::new(crate::bot::Telegram::new(&config)),
                config,
                live,
                metrics: Metrics::default(),
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

    /// The organization served.
    pub fn org(&self) -> OrgId {
        self.inner.org
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The bot's shared handles (sandbox emulator, webhook secrets, wake-ups).
    pub fn telegram(&self) -> &crate::bot::Telegram {
        &self.inner.telegram
    }

    /// The bot's shared handles, for tasks that outlive a request.
    pub fn telegram_arc(&self) -> Arc<crate::bot::Telegram> {
        self.inner.telegram.clone()
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
