//! The state every handler and job shares.

use std::sync::Arc;

use crm_lib::{Crm, OrgId};

use crate::config::Config;

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
}

impl AppState {
    /// Wraps the opened store.
    pub fn new(crm: Crm, org: OrgId, config: Config) -> Self {
        AppState {
            inner: Arc::new(Inner { crm, org, config }),
        }
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
