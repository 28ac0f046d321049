//! The scheduler's bookkeeping (see the module documentation of `crate::jobs`): the states
//! of every organization's jobs, claiming a due slot, finishing a run, the settings, and the
//! list the jobs page shows.

use jiff::tz::TimeZone;

use super::{AUDIT_RETENTION_MIN_DAYS, DAYS_MAX, JOBS, JobSpec, Schedule, Slot, Work, job};
use crate::model::*;
use crate::services::{load_org, require};
use crate::store::declarations::{job_settings_key, job_state_key};
use crate::store::{Key, ViewExt, keys, tables};
use crate::system::System;
use crate::{Crm, Error, Result, Tx, View};

/// A slot taken by [`System::claim_job`] or [`Crm::run_job`]: run its work with
/// [`System::run_claimed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The organization.
    pub org: OrgId,
    /// The job.
    pub job: &'static str,
    /// The slot: its scheduled moment, or the moment of a manual run.
    pub slot: Timestamp,
    /// Someone asked for it rather than the schedule.
    pub manual: bool,
    /// It is the run again of a claim an earlier opening of the file never finished.
    pub resumed: bool,
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    /// The organization.
    pub org: OrgId,
    /// The job.
    pub job: &'static str,
    /// The slot it ran.
    pub slot: Timestamp,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it said (`deleted 120 audit entries older than 2025-12-05`), or the error.
    pub result: String,
}

/// A job whose slot is due (or whose run was interrupted), as [`System::prepare_jobs`]
/// finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueJob {
    /// The organization.
    pub org: OrgId,
    /// The job.
    pub job: &'static str,
}

/// One line of the jobs page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// The job's name (`audit_cleanup`; its texts are `jobs.name.<name>`).
    pub name: &'static str,
    /// When its slots fall.
    pub schedule: Schedule,
    /// Whether it runs on its schedule.
    pub enabled: bool,
    /// Its next scheduled slot, when the scheduler has planned one.
    pub next_slot: Option<Timestamp>,
    /// When the run in progress started, if one is.
    pub running_since: Option<Timestamp>,
    /// When the last run started.
    pub last_start: Option<Timestamp>,
    /// When the last run ended.
    pub last_end: Option<Timestamp>,
    /// Whether the last finished run succeeded.
    pub last_ok: bool,
    /// What the last finished run said (empty before the first).
    pub last_result: String,
    /// Finished runs so far.
    pub runs: u64,
}

impl JobRow {
    /// How long the last finished run took, in milliseconds (when it finished after it
    /// started; a run in progress has no duration yet).
    pub fn duration_ms(&self) -> Option<i64> {
        match (self.last_start, self.last_end) {
            (Some(start), Some(end)) if end >= start && self.running_since.is_none() => {
                Some(end.millis() - start.millis())
            }
            _ => None,
        }
    }
}

/// The jobs page: the settings, the time zone the schedules follow, and every job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsView {
    /// The organization's job settings.
    pub settings: JobSettings,
    /// The organization's time zone (IANA name).
    pub time_zone: String,
    /// Every job of [`JOBS`] the organization runs (its module on), in order.
    pub jobs: Vec<JobRow>,
}

/// A change of the job settings; `None` leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobSettingsUpdate {
    /// Days audit entries are kept, 7-36500.
    pub audit_retention_days: Option<u32>,
    /// When the daily report is sent, on the organization's clock.
    pub report_time: Option<LocalTime>,
    /// Days after which closed conversations leave the working lists, 1-36500.
    pub archive_after_days: Option<u32>,
    /// Jobs switched on (`true`) or off (`false`), by name.
    pub enabled: Vec<(String, bool)>,
}

/// The organization's time zone ([`OrgSettings::time_zone`]). An organization whose stored
/// name the tz database does not know (the settings refuse such names) schedules in UTC
/// rather than not at all.
pub(crate) fn zone_of(org: &Organization) -> (String, TimeZone) {
    let name = org.settings.time_zone.clone();
    match TimeZone::get(&name) {
        Ok(zone) => (name, zone),
        Err(_) => ("UTC".to_string(), TimeZone::UTC),
    }
}

/// The organization's job settings ([`JobSettings::default`] until first saved).
pub(crate) fn job_settings_in(view: &impl View, org: OrgId) -> Result<JobSettings> {
    Ok(view
        .get(tables::JOB_SETTINGS, &job_settings_key(org))?
        .unwrap_or_default())
}

/// What a state's next slot was planned for: the schedule and the zone, in words. When it
/// differs from today's, the next slot is planned again.
fn plan_of(schedule: Schedule, zone: &str) -> String {
    match schedule {
        Schedule::EveryMinutes(minutes) => format!("every {minutes} min"),
        Schedule::DailyAt(time) => format!("daily {time} {zone}"),
    }
}

/// The state of `spec` in `org` at `now`, planned with `settings` and `zone`, and whether
/// it differs from the stored one (it is new, or its schedule changed and its next slot was
/// planned again).
fn current_state(
    view: &impl View,
    org: OrgId,
    spec: &JobSpec,
    settings: &JobSettings,
    zone: (&str, &TimeZone),
    now: Timestamp,
) -> Result<(JobState, bool)> {
    let schedule = (spec.schedule)(settings);
    let plan = plan_of(schedule, zone.0);
    let stored: Option<JobState> = view.get(tables::JOB_STATES, &job_state_key(org, spec.name))?;
    match stored {
        Some(state) if state.plan == plan => Ok((state, false)),
        Some(mut state) => {
            state.next_slot = schedule.next_after(now, zone.1)?;
            state.plan = plan;
            Ok((state, true))
        }
        None => Ok((
            JobState {
                job: spec.name.to_string(),
                next_slot: schedule.next_after(now, zone.1)?,
                claim: None,
                last_start: None,
                last_end: None,
                last_slot: None,
                last_ok: false,
                last_result: String::new(),
                runs: 0,
                plan,
            },
            true,
        )),
    }
}

/// Every organization's id.
fn all_orgs(view: &impl View) -> Result<Vec<OrgId>> {
    Ok(view
        .keys_with_prefix(tables::ORGS, &Key::empty(), None, false, usize::MAX)?
        .iter()
        .map(|key| OrgId(keys::read_u64(key, 0)))
        .collect())
}

/// Whether a job in `state` is due at `now` for the opening `instance`: its run was
/// interrupted (claimed by an earlier opening), or it is switched on, unclaimed and its
/// next slot has come.
fn is_due(state: &JobState, enabled: bool, instance: u64, now: Timestamp) -> bool {
    match state.claim {
        Some(claim) => claim.instance != instance,
        None => enabled && state.next_slot <= now,
    }
}

impl Tx<'_> {
    /// Plans the jobs of every organization (a state for each job that has none, a new next
    /// slot for each whose schedule changed) and returns those due now: slots that have come
    /// and runs an earlier opening of the file left unfinished. Bookkeeping: no audit entry.
    pub(crate) fn prepare_jobs(&mut self, instance: u64) -> Result<Vec<DueJob>> {
        let now = self.now();
        let mut due = Vec::new();
        for org_id in all_orgs(self)? {
            let org = load_org(self, org_id)?;
            // A disabled organization's jobs wait; missed slots run once it is enabled.
            if !org.is_enabled() {
                continue;
            }
            let settings = job_settings_in(self, org_id)?;
            let (name, zone) = zone_of(&org);
            for spec in JOBS.iter().filter(|spec| spec.runs_in(org.modules)) {
                let (state, changed) =
                    current_state(self, org_id, spec, &settings, (&name, &zone), now)?;
                if changed {
                    self.put(
                        tables::JOB_STATES,
                        &job_state_key(org_id, spec.name),
                        &state,
                    )?;
                }
                if is_due(&state, settings.is_enabled(spec.name), instance, now) {
                    due.push(DueJob {
                        org: org_id,
                        job: spec.name,
                    });
                }
            }
        }
        Ok(due)
    }

    /// Claims a slot of `spec` in `org` for the opening `instance` (see the module
    /// documentation): the interrupted run of an earlier opening if there is one, else a
    /// manual slot at `now` when `manual`, else the latest scheduled slot that has come
    /// (one run however many were missed), moving the next slot past `now`. Writes the claim; no audit entry (see [`Crm::run_job`] for the one a
    /// person's request writes).
    ///
    /// # Errors
    /// Not found for an unknown organization or a job whose module is off there; conflict
    /// when the job is running, or (for the schedule) is switched off or not yet due.
    pub(crate) fn claim_job(
        &mut self,
        org_id: OrgId,
        spec: &'static JobSpec,
        instance: u64,
        manual: bool,
    ) -> Result<(Claim, Slot)> {
        let now = self.now();
        let org = load_org(self, org_id)?;
        if !spec.runs_in(org.modules) {
            return Err(Error::not_found("job", format!("{:?}", spec.name)));
        }
        let settings = job_settings_in(self, org_id)?;
        let (name, zone) = zone_of(&org);
        let (mut state, _) = current_state(self, org_id, spec, &settings, (&name, &zone), now)?;
        let (slot, resumed, manual) = match state.claim {
            Some(claim) if claim.instance == instance => {
                return Err(Error::conflict(format!(
                    "job {} is running since {}",
                    spec.name, claim.at
                )));
            }
            Some(claim) => (claim.slot, true, claim.manual),
            None if manual => (now, false, true),
            None if !settings.is_enabled(spec.name) => {
                return Err(Error::conflict(format!(
                    "job {} is switched off",
                    spec.name
                )));
            }
            None if state.next_slot > now => {
                return Err(Error::conflict(format!(
                    "job {} is not due until {}",
                    spec.name, state.next_slot
                )));
            }
            None => {
                let schedule = (spec.schedule)(&settings);
                let slot = state.next_slot.max(schedule.last_at_or_before(now, &zone)?);
                state.next_slot = schedule.next_after(now, &zone)?;
                (slot, false, false)
            }
        };
        state.claim = Some(JobClaim {
            slot,
            at: now,
            instance,
            manual,
        });
        state.last_start = Some(now);
        self.put(
            tables::JOB_STATES,
            &job_state_key(org_id, spec.name),
            &state,
        )?;
        Ok((
            Claim {
                org: org_id,
                job: spec.name,
                slot,
                manual,
                resumed,
            },
            Slot {
                org: org_id,
                at: slot,
                settings,
                zone,
            },
        ))
    }

    /// Finishes the run of `claim` made by the opening `instance`: records its end, result
    /// and one more run, and clears the claim. Bookkeeping: no audit entry.
    ///
    /// # Errors
    /// Conflict when the job holds no such claim (it was finished already).
    pub(crate) fn finish_job(
        &mut self,
        claim: &Claim,
        instance: u64,
        ok: bool,
        result: &str,
    ) -> Result<JobRun> {
        let key = job_state_key(claim.org, claim.job);
        let mut state: JobState = self
            .get(tables::JOB_STATES, &key)?
            .ok_or_else(|| Error::conflict(format!("job {} has no run in progress", claim.job)))?;
        match state.claim {
            Some(held) if held.slot == claim.slot && held.instance == instance => {}
            _ => {
                return Err(Error::conflict(format!(
                    "job {} has no run of slot {} in progress",
                    claim.job, claim.slot
                )));
            }
        }
        let result: String = result.chars().take(1000).collect();
        state.claim = None;
        state.last_end = Some(self.now());
        state.last_slot = Some(claim.slot);
        state.last_ok = ok;
        state.last_result = result.clone();
        state.runs += 1;
        self.put(tables::JOB_STATES, &key, &state)?;
        Ok(JobRun {
            org: claim.org,
            job: claim.job,
            slot: claim.slot,
            ok,
            result,
        })
    }

    /// Changes the organization's job settings. Needs `manage_settings`. Retention 7-36500
    /// days, archive age 1-36500 days; jobs named by [`JOBS`]. Writes the audit entry
    /// `jobs.settings_changed` and a change of the organization. A changed schedule plans
    /// its next slot again at the scheduler's next round.
    ///
    /// # Errors
    /// Permission denied; invalid input on `audit_retention_days`, `archive_after_days` or
    /// `job` (an unknown name).
    pub fn update_job_settings(
        &mut self,
        actor: &Actor,
        update: JobSettingsUpdate,
    ) -> Result<JobSettings> {
        require(self, actor, Permission::ManageSettings)?;
        let mut settings = job_settings_in(self, actor.org)?;
        if let Some(days) = update.audit_retention_days {
            if !(AUDIT_RETENTION_MIN_DAYS..=DAYS_MAX).contains(&days) {
                return Err(Error::invalid(
                    "audit_retention_days",
                    format!("must be {AUDIT_RETENTION_MIN_DAYS} to {DAYS_MAX} days"),
                ));
            }
            settings.audit_retention_days = days;
        }
        if let Some(days) = update.archive_after_days {
            if !(1..=DAYS_MAX).contains(&days) {
                return Err(Error::invalid(
                    "archive_after_days",
                    format!("must be 1 to {DAYS_MAX} days"),
                ));
            }
            settings.archive_after_days = days;
        }
        if let Some(time) = update.report_time {
            settings.report_time = time;
        }
        for (name, enabled) in &update.enabled {
            let spec = job(name)
                .map_err(|_| Error::invalid("job", format!("{name:?} is not a scheduled job")))?;
            settings.disabled.retain(|disabled| disabled != spec.name);
            if !enabled {
                settings.disabled.push(spec.name.to_string());
            }
        }
        settings.disabled.sort();
        self.put(
            tables::JOB_SETTINGS,
            &job_settings_key(actor.org),
            &settings,
        )?;
        self.audit(
            actor,
            AuditAction::JobSettingsChanged,
            Subject::Organization,
            AuditDetail::Text(format!(
                "audit retention {} days, report at {}, archive after {} days, off: {}",
                settings.audit_retention_days,
                settings.report_time,
                settings.archive_after_days,
                if settings.disabled.is_empty() {
                    "none".to_string()
                } else {
                    settings.disabled.join(", ")
                }
            )),
        )?;
        self.changed(actor.org, Subject::Organization, ChangeKind::Updated)?;
        Ok(settings)
    }
}

/// The jobs page for `actor`: the settings, the time zone and every job's state. Needs
/// `manage_settings`.
///
/// # Errors
/// Permission denied.
pub fn jobs_in(view: &impl View, actor: &Actor) -> Result<JobsView> {
    require(view, actor, Permission::ManageSettings)?;
    let org = load_org(view, actor.org)?;
    let settings = job_settings_in(view, actor.org)?;
    let (time_zone, _) = zone_of(&org);
    let mut jobs = Vec::with_capacity(JOBS.len());
    for spec in JOBS.iter().filter(|spec| spec.runs_in(org.modules)) {
        let state: Option<JobState> =
            view.get(tables::JOB_STATES, &job_state_key(actor.org, spec.name))?;
        let state = state.as_ref();
        jobs.push(JobRow {
            name: spec.name,
            schedule: (spec.schedule)(&settings),
            enabled: settings.is_enabled(spec.name),
            next_slot: state.map(|state| state.next_slot),
            running_since: state.and_then(|state| state.claim.map(|claim| claim.at)),
            last_start: state.and_then(|state| state.last_start),
            last_end: state.and_then(|state| state.last_end),
            last_ok: state.is_some_and(|state| state.last_ok),
            last_result: state
                .map(|state| state.last_result.clone())
                .unwrap_or_default(),
            runs: state.map_or(0, |state| state.runs),
        });
    }
    Ok(JobsView {
        settings,
        time_zone,
        jobs,
    })
}

/// The earliest moment a job of any organization is due for the opening `instance`: now for
/// an interrupted run, else the earliest next slot of a job switched on and not running.
/// `None` when nothing is planned (before the first [`System::prepare_jobs`]).
fn next_due_in(view: &impl View, instance: u64) -> Result<Option<Timestamp>> {
    let mut next: Option<Timestamp> = None;
    for org in all_orgs(view)? {
        let record = load_org(view, org)?;
        if !record.is_enabled() {
            continue;
        }
        let settings = job_settings_in(view, org)?;
        let modules = record.modules;
        for spec in JOBS.iter().filter(|spec| spec.runs_in(modules)) {
            let Some(state): Option<JobState> =
                view.get(tables::JOB_STATES, &job_state_key(org, spec.name))?
            else {
                continue;
            };
            let at = match state.claim {
                Some(claim) if claim.instance != instance => Some(view.now()),
                Some(_) => None,
                None if settings.is_enabled(spec.name) => Some(state.next_slot),
                None => None,
            };
            if let Some(at) = at {
                next = Some(next.map_or(at, |next| next.min(at)));
            }
        }
    }
    Ok(next)
}

/// Runs the work of a claimed slot and finishes it: a one-transaction job in one write with
/// its finish; a batched job in its own writes, then the finish. A failing work is recorded
/// as a failed run (the error's text) and the claim is cleared all the same.
fn run_claimed(crm: &Crm, claim: &Claim, slot: Slot) -> Result<JobRun> {
    let spec = job(claim.job)?;
    let instance = crm.instance();
    let outcome = match spec.work {
        Work::OneTransaction(work) => {
            let finished = claim.clone();
            let slot = slot.clone();
            let done = crm.write(move |tx| {
                let result = work(tx, &slot)?;
                tx.finish_job(&finished, instance, true, &result)
            });
            match done {
                Ok(run) => return Ok(run),
                Err(error) => Err(error),
            }
        }
        Work::Batched(work) => work(crm, &slot),
    };
    let (ok, result) = match outcome {
        Ok(result) => (true, result),
        Err(error) => (false, format!("failed: {error}")),
    };
    let finished = claim.clone();
    crm.write(move |tx| tx.finish_job(&finished, instance, ok, &result))
}

impl System<'_> {
    /// Plans the jobs of every organization and lists those due now (see the module
    /// documentation). One write transaction; blocks until it is durable.
    ///
    /// # Errors
    /// Storage only.
    pub fn prepare_jobs(&self) -> Result<Vec<DueJob>> {
        let instance = self.crm.instance();
        self.crm.write(move |tx| tx.prepare_jobs(instance))
    }

    /// The earliest moment a job is due (see [`System::prepare_jobs`]); `None` when nothing
    /// is planned. Reads a snapshot.
    ///
    /// # Errors
    /// Storage only.
    pub fn next_job_due(&self) -> Result<Option<Timestamp>> {
        let instance = self.crm.instance();
        self.crm.read(|view| next_due_in(view, instance))
    }

    /// Claims the due slot of job `name` in `org` (or its interrupted run): one write
    /// transaction, durable before it returns, so the slot is the caller's alone. Run it
    /// with [`System::run_claimed`].
    ///
    /// # Errors
    /// Not found for an unknown job or organization; conflict when the job is running,
    /// switched off or not due.
    pub fn claim_job(&self, org: OrgId, name: &str) -> Result<Claim> {
        let spec = job(name)?;
        let instance = self.crm.instance();
        self.crm
            .write(move |tx| tx.claim_job(org, spec, instance, false))
            .map(|(claim, _)| claim)
    }

    /// Runs a claimed slot's work and finishes it (see [`Work`]); the finished run, failed
    /// or not. Blocks for the work's transactions.
    ///
    /// # Errors
    /// Conflict when the slot is not claimed by this opening (finished already); storage.
    pub fn run_claimed(&self, claim: &Claim) -> Result<JobRun> {
        let spec = job(claim.job)?;
        let (org_id, at) = (claim.org, claim.slot);
        let (settings, org) = self
            .crm
            .read(|view| Ok((job_settings_in(view, org_id)?, load_org(view, org_id)?)))?;
        let instance = self.crm.instance();
        let held = self.crm.read(|view| {
            let state: Option<JobState> =
                view.get(tables::JOB_STATES, &job_state_key(org_id, spec.name))?;
            Ok(state.and_then(|state| state.claim))
        })?;
        if !held.is_some_and(|held| held.slot == at && held.instance == instance) {
            return Err(Error::conflict(format!(
                "job {} has no run of slot {at} in progress",
                spec.name
            )));
        }
        let (_, zone) = zone_of(&org);
        run_claimed(
            self.crm,
            claim,
            Slot {
                org: org_id,
                at,
                settings,
                zone,
            },
        )
    }

    /// One round of the scheduler: [`System::prepare_jobs`], then each due job claimed and
    /// run in turn. A claim refused meanwhile (someone ran it by hand) is skipped. The runs
    /// finished, failed ones included.
    ///
    /// # Errors
    /// Storage.
    pub fn run_due_jobs(&self) -> Result<Vec<JobRun>> {
        let mut runs = Vec::new();
        for due in self.prepare_jobs()? {
            let spec = job(due.job)?;
            let instance = self.crm.instance();
            let org = due.org;
            let claimed = self
                .crm
                .write(move |tx| tx.claim_job(org, spec, instance, false));
            match claimed {
                Ok((claim, slot)) => runs.push(run_claimed(self.crm, &claim, slot)?),
                Err(error) if error.kind() == crate::ErrorKind::Conflict => {}
                Err(error) => return Err(error),
            }
        }
        Ok(runs)
    }
}

impl Crm {
    /// The jobs page: see [`jobs_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`jobs_in`].
    pub fn jobs(&self, actor: &Actor) -> Result<JobsView> {
        self.read(|view| jobs_in(view, actor))
    }

    /// See [`Tx::update_job_settings`]. One write transaction; blocks until it is durable.
    ///
    /// # Errors
    /// See [`Tx::update_job_settings`].
    pub fn update_job_settings(
        &self,
        actor: &Actor,
        update: JobSettingsUpdate,
    ) -> Result<JobSettings> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_job_settings(&actor, update))
    }

    /// Runs job `name` now ("run now"), outside its schedule: needs `manage_settings`;
    /// claims a manual slot (recording the audit entry `jobs.run_requested` with the claim),
    /// runs the work and finishes it, leaving the scheduled slot as it was. Blocks for the
    /// whole run (an audit cleanup of a large log takes a while).
    ///
    /// # Errors
    /// Permission denied (before the name is looked at); not found for an unknown job;
    /// conflict while the job is running. A failing work is not an error: the run comes back with `ok` false.
    pub fn run_job(&self, actor: &Actor, name: &str) -> Result<JobRun> {
        let instance = self.instance();
        let (actor, name) = (actor.clone(), name.to_string());
        let (claim, slot) = self.write(move |tx| {
            require(tx, &actor, Permission::ManageSettings)?;
            let spec = job(&name)?;
            let claimed = tx.claim_job(actor.org, spec, instance, true)?;
            tx.audit(
                &actor,
                AuditAction::JobRunRequested,
                Subject::Organization,
                AuditDetail::Text(spec.name.to_string()),
            )?;
            Ok(claimed)
        })?;
        run_claimed(self, &claim, slot)
    }
}
