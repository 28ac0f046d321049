//! Scheduled jobs (SPEC section 5B): work that runs on a schedule in every organization,
//! whose slots and last runs are kept in the data file, so that each slot runs once even
//! across a kill -9 and a restart.
//!
//! # Declaring a job
//!
//! A job is one entry of [`JOBS`]: its name, its [`Schedule`] (computed from the
//! organization's [`JobSettings`]: every N minutes, or daily at a local time in the
//! organization's time zone), the crm-lib function it calls, and the module it belongs to
//! (a job of a module that is off in an organization is neither planned, listed nor run
//! there). A later module adds its job
//! there and nowhere else: the appliance's scheduler, the jobs page, `crm jobs` and the API
//! list and run whatever [`JOBS`] holds.
//!
//! # Slots, claims and results
//!
//! Each organization keeps a [`JobState`](crate::model::JobState) per job: the next slot not yet run, the claim of a
//! run in progress, and the last run's start, end, result and count. A run goes
//! claim, work, finish:
//!
//! 1. **Claim** (one write transaction, durable before any work starts): the slot must be
//!    due and unclaimed. Claiming records the claim and moves the next slot to the first
//!    slot *after the claim's moment*, so a slot is claimed once, and slots missed while the
//!    appliance was down (off at 09:00 for three days) run once at start-up, not once each:
//!    the run takes the latest of them (the report of yesterday, not of three days ago). A
//!    second claim of the same slot is refused (conflict).
//! 2. **Work**: the job's function. A [`Work::OneTransaction`] job (the daily report) does
//!    its work and the finish in the same write transaction, so its effects (the report's
//!    outbox items) commit together with the end of its slot or not at all. A
//!    [`Work::Batched`] job (audit cleanup) works in several short transactions.
//! 3. **Finish**: records the end, the result text (or the error) and one more run, and
//!    clears the claim. A finished slot is never run again.
//!
//! # A claim whose run never finished
//!
//! One process at a time holds the data file, and each opening of it draws a random number
//! that its claims record. A claim made by an earlier opening is therefore a run that was
//! interrupted (the process died between claim and finish): the next scheduler round of the
//! new opening (at start-up) claims the same slot again and runs it once more. That is safe
//! because an interrupted one-transaction job wrote nothing (its effects commit with its
//! finish), and a batched job is idempotent: audit cleanup deletes what is still older than
//! its cut-off, however much an earlier attempt deleted. A claim of the current opening is a
//! run in progress: claims of it are refused (so a run whose finish could not be written, a
//! storage failure, shows as running until the next start, which runs it again).
//!
//! Switching a job off keeps its slots from being claimed by the schedule; switched on again,
//! a slot that fell due meanwhile runs once. Changing the schedule (the report time, the
//! organization's time zone) moves the next slot to the new schedule's next one.
//! "Run now" ([`Crm::run_job`]) runs a manual slot at once and leaves the scheduled slot as it
//! is.
//!
//! Bookkeeping (claims, finishes, the states the scheduler creates) writes no audit entry,
//! like the outbox's; a person's "run now" and a change of the settings do.

mod engine;
mod schedule;
mod work;

pub use engine::{Claim, DueJob, JobRow, JobRun, JobSettingsUpdate, JobsView, jobs_in};
pub use schedule::Schedule;

use crate::model::{JobSettings, OrgId, Timestamp};
use crate::{Crm, Result, Tx};

/// Audit entries older than this many days are deleted by `audit_cleanup` unless the
/// organization chose otherwise ([`JobSettings::audit_retention_days`]).
pub const AUDIT_RETENTION_DAYS: u32 = 365;

/// The shortest audit retention an organization may choose, in days: a week, so that the
/// daily report (which counts yesterday's audit entries) always finds its day.
pub const AUDIT_RETENTION_MIN_DAYS: u32 = 7;

/// The longest audit retention, archive age and such settings, in days (100 years).
pub const DAYS_MAX: u32 = 36_500;

/// Audit entries deleted per write transaction by `audit_cleanup`.
pub const AUDIT_BATCH: usize = 1000;

/// Closed conversations archived per write transaction by `archive_conversations`.
pub const ARCHIVE_BATCH: usize = 500;

/// What a job's work is given: the organization, the slot being run, and the settings and
/// time zone in force when it was claimed.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The organization.
    pub org: OrgId,
    /// The slot: its scheduled moment, or the moment of a manual run.
    pub at: Timestamp,
    /// The organization's job settings.
    pub settings: JobSettings,
    /// The organization's time zone.
    pub zone: jiff::tz::TimeZone,
}

/// How a job does its work.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// In one write transaction together with the finish of its slot: a crash leaves either
    /// both or neither. Returns the result text.
    OneTransaction(fn(&mut Tx<'_>, &Slot) -> Result<String>),
    /// In write transactions of its own (batches), then the finish in another: an
    /// interrupted run is run again, so the work must be idempotent. Returns the result text.
    Batched(fn(&Crm, &Slot) -> Result<String>),
}

/// One scheduled job, declared once in [`JOBS`].
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// Its stable name (`audit_cleanup`): the key of its state, what `crm jobs run` and the
    /// API take, and the key of its texts (`jobs.name.<name>`).
    pub name: &'static str,
    /// When its slots fall, given the organization's settings.
    pub schedule: fn(&JobSettings) -> Schedule,
    /// What it calls.
    pub work: Work,
    /// The module it belongs to: in an organization without that module on, the job is not
    /// planned, listed or run (`None`: every organization, as the order desk's jobs).
    pub module: Option<crate::model::Module>,
}

impl JobSpec {
    /// Whether the job exists in an organization running `modules`.
    pub fn runs_in(&self, modules: crate::model::Modules) -> bool {
        self.module.is_none_or(|module| modules.contains(module))
    }
}

/// Every scheduled job, in the order pages list them. A module adds its job here.
pub const JOBS: &[JobSpec] = &[
    JobSpec {
        name: "audit_cleanup",
        // At night, when nobody works: 03:30 on the organization's clock.
        schedule: |_| {
            Schedule::DailyAt(crate::model::LocalTime {
                hour: 3,
                minute: 30,
            })
        },
        work: Work::Batched(work::audit_cleanup),
        module: None,
    },
    JobSpec {
        name: "daily_report",
        schedule: |settings| Schedule::DailyAt(settings.report_time),
        work: Work::OneTransaction(work::daily_report),
        module: None,
    },
    JobSpec {
        name: "archive_conversations",
        // At night, after the audit cleanup: 04:00 on the organization's clock.
        schedule: |_| Schedule::DailyAt(crate::model::LocalTime { hour: 4, minute: 0 }),
        work: Work::Batched(work::archive_conversations),
        module: Some(crate::model::Module::Operators),
    },
    JobSpec {
        name: "scheduled_messages",
        // Every minute: a scheduled message leaves within a minute of its moment.
        schedule: |_| Schedule::EveryMinutes(1),
        work: Work::OneTransaction(crate::scheduled::send_due),
        module: None,
    },
    JobSpec {
        name: "subscription_notices",
        // Often enough that a reminder or an end is told within a quarter of an hour.
        schedule: |_| Schedule::EveryMinutes(15),
        work: Work::OneTransaction(crate::tokens::subscription_notices),
        module: Some(crate::model::Module::Tokens),
    },
];

/// The job named `name`.
///
/// # Errors
/// Not found (`job "x" not found`).
pub fn job(name: &str) -> Result<&'static JobSpec> {
    JOBS.iter()
        .find(|spec| spec.name == name.trim())
        .ok_or_else(|| crate::Error::not_found("job", format!("{:?}", name.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Module, Modules};

    #[test]
    fn a_module_s_job_runs_only_where_the_module_is_on_and_the_order_desk_s_everywhere() {
        let operators = JobSpec {
            name: "operators_job",
            schedule: |_| Schedule::EveryMinutes(5),
            work: Work::Batched(|_, _| Ok(String::new())),
            module: Some(Module::Operators),
        };
        assert!(!operators.runs_in(Modules::NONE));
        assert!(operators.runs_in([Module::Operators].into_iter().collect()));
        assert!(!operators.runs_in([Module::Tickets].into_iter().collect()));
        assert!(
            JOBS.iter()
                .filter(|spec| spec.module.is_none())
                .all(|spec| spec.runs_in(Modules::NONE))
        );
        assert!(!job("archive_conversations").unwrap().runs_in(Modules::NONE));
        let mut names: Vec<_> = JOBS.iter().map(|spec| spec.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), JOBS.len(), "job names are unique");
    }
}
