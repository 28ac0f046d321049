//! The operators module's sweep: about once a minute, crm-lib's `sweep_operators` with what
//! this process knows of each staff user's browser sessions (the session cache's last-seen
//! times): online operators idle past the organization's idle time become away, those whose
//! last session ended become offline (their conversations are re-routed), and items left
//! unanswered past the answer timeout go to another operator. crm-lib decides; this module
//! only keeps time. Organizations without the module are left alone by crm-lib.

use std::collections::BTreeMap;
use std::time::Duration;

use crm_lib::model::{OrgId, Timestamp};
use crm_lib::operators::SessionActivity;
use tokio::sync::watch;

use crate::AppState;

/// The pause between sweeps.
const PERIOD: Duration = Duration::from_secs(60);

/// Starts the sweep on the current runtime.
pub(crate) fn start(state: AppState) -> super::JobHandle {
    super::spawn(|shutdown| run(state, shutdown))
}

async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(PERIOD) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let web = state.web();
        let activity = web.sessions.activity(Timestamp::now(), web.idle_ms);
        let mut by_org: BTreeMap<OrgId, Vec<SessionActivity>> = BTreeMap::new();
        // Every enabled organization is swept, with or without sessions (crm-lib leaves
        // those without the module alone).
        match state
            .blocking(|crm| crm.system().enabled_organizations())
            .await
        {
            Ok(orgs) => {
                for org in orgs {
                    by_org.entry(org.id).or_default();
                }
            }
            Err(error) => tracing::warn!(%error, "the operators sweep: reading the organizations"),
        }
        for seen in activity {
            by_org.entry(seen.org).or_default().push(SessionActivity {
                user: seen.user,
                last_seen: seen.last_seen,
            });
        }
        for (org, activity) in by_org {
            match state
                .blocking(move |crm| crm.system().sweep_operators(org, &activity))
                .await
            {
                Ok(report) => {
                    if !report.away.is_empty() || !report.offline.is_empty() || report.timed_out > 0
                    {
                        tracing::info!(
                            org = %state.bots().org_name(org),
                            away = report.away.len(),
                            offline = report.offline.len(),
                            timed_out = report.timed_out,
                            "operators sweep"
                        );
                    }
                }
                Err(error) => tracing::warn!(%error, "the operators sweep failed"),
            }
        }
    }
}
