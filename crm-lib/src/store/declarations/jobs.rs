//! The declarations of the scheduled jobs' settings and states (`services::jobs`): plain
//! records keyed by organization (and job name), without indexes.

use crate::model::*;
use crate::store::indexes::{Declared, Layout};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

/// The key of an organization's job settings: `org`.
pub(crate) fn job_settings_key(org: OrgId) -> Key {
    Key::org(org)
}

/// The key of one job's state: `org | job name`.
pub(crate) fn job_state_key(org: OrgId, job: &str) -> Key {
    Key::org(org).bytes(job.as_bytes())
}

impl Declared for JobSettings {
    const TABLE: Def = tables::JOB_SETTINGS;
    const NOUN: &'static str = "job settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(job_settings_key(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the job settings of organization {org}")
    }
}

impl Declared for JobState {
    const TABLE: Def = tables::JOB_STATES;
    const NOUN: &'static str = "job state";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(job_state_key(org, &self.job))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("job {:?} of organization {org}", self.job)
    }
}
