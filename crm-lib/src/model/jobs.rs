//! Scheduled jobs' records (SPEC section 5B): each organization's job settings and, per job,
//! where its schedule stands (the next slot, the claim of a run in progress, the last run's
//! result). The rules that read and write them are `crate::jobs`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Date, Localized, StageId, Timestamp};

/// A time of day on the organization's clock: when a daily job runs, in the organization's
/// time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalTime {
    /// 0-23.
    pub(crate) hour: u8,
    /// 0-59.
    pub(crate) minute: u8,
}

impl LocalTime {
    /// `hour:minute`, when both are in range (0-23, 0-59).
    pub fn new(hour: u8, minute: u8) -> Option<Self> {
        (hour < 24 && minute < 60).then_some(LocalTime { hour, minute })
    }

    /// Parses `HH:MM` (`9:00` too), 24-hour clock.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field` when the text is not such a time.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        let bad = || {
            crate::Error::invalid(
                field,
                format!("{:?} is not a time of day like 09:00", text.trim()),
            )
        };
        let (hour, minute) = text.trim().split_once(':').ok_or_else(bad)?;
        if minute.len() != 2 || hour.is_empty() || hour.len() > 2 {
            return Err(bad());
        }
        let hour: u8 = hour.parse().map_err(|_| bad())?;
        let minute: u8 = minute.parse().map_err(|_| bad())?;
        LocalTime::new(hour, minute).ok_or_else(bad)
    }

    /// The hour, 0-23.
    pub fn hour(self) -> u8 {
        self.hour
    }

    /// The minute, 0-59.
    pub fn minute(self) -> u8 {
        self.minute
    }
}

impl fmt::Display for LocalTime {
    /// `09:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// One organization's settings of its scheduled jobs, edited on the jobs page
/// (`manage_settings`). Stored in the jobs area's own table, keyed by organization; an
/// organization that never saved them has [`JobSettings::default`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSettings {
    /// Audit entries older than this many days are deleted by `audit_cleanup` (default 365).
    pub audit_retention_days: u32,
    /// When `daily_report` sends yesterday's summary, on the organization's clock (default
    /// 09:00).
    pub report_time: LocalTime,
    /// Closed conversations older than this many days leave the inbox's working lists
    /// (default 30; read by the archiving job once conversations can be closed).
    pub archive_after_days: u32,
    /// The names of the jobs switched off; every other job runs on its schedule.
    pub disabled: Vec<String>,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            audit_retention_days: 365,
            report_time: LocalTime { hour: 9, minute: 0 },
            archive_after_days: 30,
            disabled: Vec::new(),
        }
    }
}

impl JobSettings {
    /// Whether the job named `name` runs on its schedule.
    pub fn is_enabled(&self, name: &str) -> bool {
        !self.disabled.iter().any(|disabled| disabled == name)
    }
}

/// A run that has started and not finished: its slot is taken, so no one else runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobClaim {
    /// The slot being run: the scheduled moment, or the moment of a manual run.
    pub slot: Timestamp,
    /// When the run started.
    pub at: Timestamp,
    /// Which opening of the file started it (see `crate::jobs`: a claim of an earlier opening
    /// was interrupted, since one process at a time holds the file).
    pub instance: u64,
    /// Someone asked for it ("run now"), rather than the schedule.
    pub manual: bool,
}

/// Where one job of one organization stands. Keyed by organization and job name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// The job's name (`audit_cleanup`).
    pub job: String,
    /// The next scheduled slot not yet run (UTC). Claiming a due slot moves it past the
    /// claim's moment, so slots missed while the appliance was down run once, not once each.
    pub next_slot: Timestamp,
    /// The run in progress, if any.
    pub claim: Option<JobClaim>,
    /// When the last run started.
    pub last_start: Option<Timestamp>,
    /// When the last run ended.
    pub last_end: Option<Timestamp>,
    /// The slot the last finished run ran.
    pub last_slot: Option<Timestamp>,
    /// Whether the last finished run succeeded.
    pub last_ok: bool,
    /// What the last finished run said (`deleted 120 audit entries`, or the error).
    pub last_result: String,
    /// Finished runs so far.
    pub runs: u64,
    /// The schedule and time zone the next slot was planned for, in words (`daily 09:00
    /// Europe/Moscow`): when they change, the next slot is planned again.
    pub plan: String,
}

/// Open orders in one stage, for the daily report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageCount {
    /// The stage.
    pub stage: StageId,
    /// Its name in every language the organization named it in.
    pub name: Localized,
    /// Orders in it when the report was made.
    pub orders: u64,
}

/// A day's summary for managers (the daily report, SPEC section 5B), counted from the
/// audit log of the organization's local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySummary {
    /// The day reported, on the organization's clock.
    pub day: Date,
    /// Orders (tickets, leads) created or imported that day.
    pub new_orders: u32,
    /// Orders moved to a won stage that day.
    pub won: u32,
    /// Orders moved to a lost stage (rejected, cancelled) that day.
    pub lost: u32,
    /// Customers' messages received that day.
    pub messages_in: u32,
    /// Staff messages sent that day.
    pub messages_out: u32,
    /// Orders in each open (non-terminal) stage when the report was made, in board order.
    pub open_by_stage: Vec<StageCount>,
}
