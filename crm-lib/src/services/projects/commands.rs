//! The projects' use cases that write (the module's rules, `super`): each checks everything
//! first, then writes the record, the project's counters and list row, the timeline event,
//! the audit entry, the change, and the client's notification or the webhook it causes, in
//! the caller's transaction.

use crate::media::NewMedia;
use crate::model::*;
use crate::store::declarations::{project_key, project_part_key};
use crate::store::{Key, ViewExt, tables};
use crate::webhooks::{WebhookEvent, emit};
use crate::{Crm, Error, Result, Tx, View};

use super::super::{clean_text, load_customer, load_org};
use super::{
    ADDRESS_MAX_CHARS, Access, ESTIMATE_LINES_MAX, NOTE_MAX_CHARS, REPORT_MEDIA_MAX,
    STAGE_NAME_MAX_CHARS, STAGES_MAX, TEXT_MAX_CHARS, TITLE_MAX_CHARS, WORKERS_MAX, actions_of,
    progress_of, readable, refuse, stage_in, stages_of, visible_project,
};

/// A project to make: by hand, or from a won lead (`lead`). Its `Default` names customer 0,
/// who never exists: set the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProject {
    /// The client.
    pub client: CustomerId,
    /// The won lead (an order in a `Won` stage) it is made from; its customer must be the
    /// client, and a lead makes one project.
    pub lead: Option<OrderId>,
    /// A name, 1-200 characters.
    pub title: String,
    /// Where, at most 500 characters (may be empty).
    pub address: String,
    /// The agreed budget, zero or more.
    pub budget: Money,
    /// Stages to start with, in order, each 1-100 characters (at most 50).
    pub stages: Vec<String>,
}

/// A project's fields staff may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectEdit {
    /// A name, 1-200 characters.
    pub title: String,
    /// Where, at most 500 characters.
    pub address: String,
    /// The base budget, zero or more (the total adds the approved change requests and may
    /// not fall below zero).
    pub budget: Money,
}

impl Default for NewProject {
    fn default() -> Self {
        NewProject {
            client: CustomerId::new(0),
            lead: None,
            title: String::new(),
            address: String::new(),
            budget: Money(0),
            stages: Vec::new(),
        }
    }
}

/// A stage to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewStage {
    /// A name, 1-100 characters.
    pub name: String,
    /// When it is planned to start.
    pub planned_start: Option<Date>,
    /// When it is planned to end (not before the start).
    pub planned_end: Option<Date>,
}

/// A daily report: what the worker's bot collects (project -> stage -> photos or videos ->
/// text or a voice note), or the web's form. The files were checked and hashed by
/// [`NewMedia::parse`] on the caller's thread and are stored only when the report is. Its
/// `Default` names stage 0, which never exists: set the stage.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The stage it is about.
    pub stage: ProjectStageId,
    /// The text, at most 4,000 characters (may be empty with files or a voice note).
    pub text: String,
    /// Photos and videos (`image/*`, `video/*`), at most 30.
    pub media: Vec<NewMedia>,
    /// A voice note (`audio/*`).
    pub voice: Option<NewMedia>,
}

impl Default for NewReport {
    fn default() -> Self {
        NewReport {
            stage: ProjectStageId::new(0),
            text: String::new(),
            media: Vec::new(),
            voice: None,
        }
    }
}

/// An expense or income entry.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// Out or in.
    pub kind: EntryKind,
    /// How much, above zero.
    pub amount: Money,
    /// What for.
    pub category: EntryCategory,
    /// Words beside the category, at most 500 characters.
    pub note: String,
    /// The stage it is booked on.
    pub stage: Option<ProjectStageId>,
    /// A photo of the receipt (`image/*`) or a PDF.
    pub proof: Option<NewMedia>,
    /// The day the money moved; today (the organization's local day) when `None`; never
    /// after today.
    pub date: Option<Date>,
}

/// An estimate line to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEstimateLine {
    /// The stage it plans for.
    pub stage: ProjectStageId,
    /// What, 1-200 characters.
    pub title: String,
    /// How much, zero or more.
    pub planned: Money,
}

/// A change request to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewChangeRequest {
    /// What changes, 1-200 characters.
    pub title: String,
    /// What it adds to the budget, not zero (negative: what it takes off); see
    /// [`Money::parse_signed`].
    pub amount: Money,
    /// Details, at most 4,000 characters.
    pub description: String,
}

/// A decision on a change request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approve: its amount joins the budget.
    Approve,
    /// Reject.
    Reject,
}

impl Decision {
    /// `approve` or `reject`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }

    /// The decision named `text`.
    ///
    /// # Errors
    /// Invalid input on `field`.
    pub fn parse(field: &'static str, text: &str) -> Result<Self> {
        match text.trim() {
            "approve" => Ok(Decision::Approve),
            "reject" => Ok(Decision::Reject),
            other => Err(Error::invalid(
                field,
                format!("{other:?} is not approve or reject"),
            )),
        }
    }
}

/// Checks an amount: zero or more (above zero when `positive`), at most [`Money::MAX`].
fn check_amount(field: &'static str, amount: Money, positive: bool) -> Result<()> {
    if amount.0 < 0 || (positive && amount.0 == 0) {
        return Err(Error::invalid(
            field,
            if positive {
                "must be above zero"
            } else {
                "must not be negative"
            },
        ));
    }
    if amount > Money::MAX {
        return Err(Error::invalid(field, format!("{amount} is too large")));
    }
    Ok(())
}

/// Checks that a file is of one of the MIME type families `prefixes` (`image/`).
fn check_kind(field: &'static str, file: &NewMedia, prefixes: &[&str], what: &str) -> Result<()> {
    if prefixes
        .iter()
        .any(|prefix| file.mime().starts_with(prefix))
    {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{} is not {what}", file.mime()),
        ))
    }
}

/// Writes `after` over `before` (its indexes and list row follow) and records the change;
/// `updated_at` becomes now.
fn save(tx: &mut Tx<'_>, org: OrgId, before: &Project, mut after: Project) -> Result<Project> {
    after.updated_at = tx.now();
    tx.update_record(&project_key(org, before.id), before, &after)?;
    tx.changed(org, Subject::Project(before.id), ChangeKind::Updated)?;
    Ok(after)
}

/// Adds an event to a project's timeline.
fn event(tx: &mut Tx<'_>, actor: &Actor, project: ProjectId, kind: ProjectEventKind) -> Result<()> {
    let id = ProjectEventId(tx.next_id(actor.org, "project_event")?);
    let event = ProjectEvent {
        id,
        project,
        actor: actor.who,
        at: tx.now(),
        kind,
    };
    tx.insert_record(&project_part_key(actor.org, project, id.0), &event)
}

fn audit(
    tx: &mut Tx<'_>,
    actor: &Actor,
    action: AuditAction,
    project: ProjectId,
    detail: String,
) -> Result<()> {
    tx.audit(
        actor,
        action,
        Subject::Project(project),
        AuditDetail::Text(detail),
    )
}

/// The project with its stages' progress recomputed, `changed` standing for its stored
/// stage of the same id (or added when new).
fn with_progress(
    view: &impl View,
    org: OrgId,
    mut project: Project,
    changed: &ProjectStage,
) -> Result<Project> {
    let mut stages = stages_of(view, org, project.id)?;
    match stages.iter_mut().find(|stage| stage.id == changed.id) {
        Some(stage) => *stage = changed.clone(),
        None => stages.push(changed.clone()),
    }
    project.totals.progress = progress_of(&stages);
    Ok(project)
}

/// The manager's view of a project: [`visible_project`] standing as a manager, else denied
/// (workers and clients) naming `manage_projects`.
fn managed(view: &impl View, actor: &Actor, id: ProjectId, what: &str) -> Result<Project> {
    let (_, project, access) = visible_project(view, actor, id)?;
    if access != Access::Manager {
        return Err(refuse(access, &project, what));
    }
    Ok(project)
}

/// Checks a lead for a new project (the module's rules): an order of the organization in a
/// `Won` stage with no project yet. Invalid input on `lead` for an unknown order.
pub(super) fn check_lead(view: &impl View, org: &Organization, lead: OrderId) -> Result<Order> {
    let order = super::super::orders::load_order(view, org.id, lead).map_err(|error| {
        if error.kind() == crate::ErrorKind::NotFound {
            Error::invalid("lead", format!("order {lead} does not exist"))
        } else {
            error
        }
    })?;
    let won = org
        .pipeline
        .stage(order.stage)
        .is_some_and(|stage| stage.kind == StageKind::Won);
    if !won {
        return Err(Error::conflict(format!(
            "order {lead} is not won: a project is made from a won lead"
        )));
    }
    if let Some(project) = view.get_raw(
        tables::PROJECTS_BY_LEAD,
        Key::org(org.id).u64(lead.0).as_slice(),
        |bytes| Ok(crate::store::keys::read_u64(bytes, 0)),
    )? {
        return Err(Error::conflict(format!(
            "order {lead} already has project {project}"
        )));
    }
    Ok(order)
}

impl Tx<'_> {
    /// Makes a project (the module's rules), from a won lead or by hand, with its first
    /// stages. Needs `manage_projects`. Audited (`project.created`).
    ///
    /// # Errors
    /// Not found while the module is off; permission denied; invalid input on `client`,
    /// `lead`, `title`, `address`, `budget` or `stages`; conflict when the lead is not won or
    /// already has a project.
    pub fn create_project(&mut self, actor: &Actor, new: NewProject) -> Result<Project> {
        let resolved = readable(self, actor)?;
        if !resolved.has(Permission::ManageProjects) {
            return Err(Error::denied(
                Permission::ManageProjects,
                format!("{} lacks the manage_projects permission", actor.who),
            ));
        }
        let org = load_org(self, actor.org)?;
        let title = clean_text("title", &new.title, 1, TITLE_MAX_CHARS)?;
        let address = clean_text("address", &new.address, 0, ADDRESS_MAX_CHARS)?;
        check_amount("budget", new.budget, false)?;
        load_customer(self, actor.org, new.client).map_err(|error| {
            if error.kind() == crate::ErrorKind::NotFound {
                Error::invalid("client", format!("customer {} does not exist", new.client))
            } else {
                error
            }
        })?;
        if let Some(lead) = new.lead {
            let order = check_lead(self, &org, lead)?;
            if order.customer != new.client {
                return Err(Error::invalid(
                    "client",
                    format!(
                        "must be customer {}, whose lead order {lead} is",
                        order.customer
                    ),
                ));
            }
        }
        if new.stages.len() > STAGES_MAX as usize {
            return Err(Error::invalid(
                "stages",
                format!("a project has at most {STAGES_MAX} stages"),
            ));
        }
        let mut stage_names = Vec::with_capacity(new.stages.len());
        for name in &new.stages {
            stage_names.push(clean_text("stages", name, 1, STAGE_NAME_MAX_CHARS)?);
        }

        let id = ProjectId(self.next_id(actor.org, "project")?);
        let now = self.now();
        let mut project = Project {
            id,
            client: new.client,
            lead: new.lead,
            title,
            address,
            budget_base: new.budget,
            currency: org.settings.currency.clone(),
            state: ProjectState::Active,
            workers: Vec::new(),
            created_by: actor.who,
            created_at: now,
            updated_at: now,
            totals: ProjectTotals::default(),
        };
        let mut stages = Vec::with_capacity(stage_names.len());
        for (position, name) in stage_names.into_iter().enumerate() {
            let stage = ProjectStage {
                id: ProjectStageId(self.next_id(actor.org, "project_stage")?),
                project: id,
                name,
                position: u32::try_from(position).unwrap_or(u32::MAX),
                progress: 0,
                planned_start: None,
                planned_end: None,
                planned: Money(0),
                spent: Money(0),
                created_at: now,
            };
            self.insert_record(&project_part_key(actor.org, id, stage.id.0), &stage)?;
            stages.push(stage);
        }
        project.totals.stages = u32::try_from(stages.len()).unwrap_or(u32::MAX);
        project.totals.progress = progress_of(&stages);
        self.insert_record(&project_key(actor.org, id), &project)?;
        event(
            self,
            actor,
            id,
            ProjectEventKind::Created { lead: new.lead },
        )?;
        audit(
            self,
            actor,
            AuditAction::ProjectCreated,
            id,
            match new.lead {
                Some(lead) => format!(
                    "{:?} for customer {} from order {lead}",
                    project.title, project.client
                ),
                None => format!("{:?} for customer {}", project.title, project.client),
            },
        )?;
        self.changed(actor.org, Subject::Project(id), ChangeKind::Created)?;
        Ok(project)
    }

    /// Changes a project's title, address or base budget. Needs `manage_projects`; the
    /// project active. Audited (`project.updated`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `title`, `address` or `budget` (also
    /// when the total would fall below zero); conflict when it is not active.
    pub fn update_project(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        edit: ProjectEdit,
    ) -> Result<Project> {
        let before = managed(self, actor, id, "editing")?;
        if !actions_of(Access::Manager, &before).edit {
            return Err(refuse(Access::Manager, &before, "editing"));
        }
        let title = clean_text("title", &edit.title, 1, TITLE_MAX_CHARS)?;
        let address = clean_text("address", &edit.address, 0, ADDRESS_MAX_CHARS)?;
        check_amount("budget", edit.budget, false)?;
        if edit
            .budget
            .0
            .saturating_add(before.totals.approved_changes.0)
            < 0
        {
            return Err(Error::invalid(
                "budget",
                format!(
                    "with the approved change requests ({}) the total would fall below zero",
                    before.totals.approved_changes
                ),
            ));
        }
        let after = Project {
            title,
            address,
            budget_base: edit.budget,
            ..before.clone()
        };
        audit(
            self,
            actor,
            AuditAction::ProjectUpdated,
            id,
            format!("{:?}, budget {}", after.title, after.budget_base),
        )?;
        save(self, actor.org, &before, after)
    }

    /// Puts workers on a project (the list replaces the one before): active staff users who
    /// hold `report_projects` or `manage_projects`, at most 50. Needs `manage_projects`; the
    /// project active. Audited (`project.workers_changed`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `workers`; conflict when it is not
    /// active.
    pub fn set_project_workers(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        workers: Vec<UserId>,
    ) -> Result<Project> {
        let before = managed(self, actor, id, "putting workers on it")?;
        if !actions_of(Access::Manager, &before).assign_workers {
            return Err(refuse(Access::Manager, &before, "putting workers on it"));
        }
        let mut chosen: Vec<UserId> = Vec::with_capacity(workers.len());
        for worker in workers {
            if !chosen.contains(&worker) {
                chosen.push(worker);
            }
        }
        if chosen.len() > WORKERS_MAX {
            return Err(Error::invalid(
                "workers",
                format!("a project has at most {WORKERS_MAX} workers"),
            ));
        }
        for worker in &chosen {
            let user = super::super::team::load_user(self, actor.org, *worker)
                .map_err(|_| Error::invalid("workers", format!("user {worker} does not exist")))?;
            let permissions = super::super::permissions_of(self, actor.org, &user)?;
            if user.status != UserStatus::Active
                || !(permissions.contains(Permission::ReportProjects)
                    || permissions.contains(Permission::ManageProjects))
            {
                return Err(Error::invalid(
                    "workers",
                    format!(
                        "{} is not an active user with report_projects",
                        user.username
                    ),
                ));
            }
        }
        if chosen == before.workers {
            return Ok(before);
        }
        let after = Project {
            workers: chosen,
            ..before.clone()
        };
        audit(
            self,
            actor,
            AuditAction::ProjectWorkersChanged,
            id,
            format!(
                "workers {}",
                after
                    .workers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )?;
        save(self, actor.org, &before, after)
    }

    /// Adds a stage at the end, at 0 percent (the project's progress follows). Needs
    /// `manage_projects`; the project active, with fewer than 50 stages. Audited
    /// (`project.stage_added`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `name` or `planned_end` (before the
    /// start); conflict when it is not active or has 50 stages.
    pub fn add_project_stage(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        new: NewStage,
    ) -> Result<ProjectStage> {
        let before = managed(self, actor, id, "adding a stage")?;
        if before.state == ProjectState::Active && before.totals.stages >= STAGES_MAX {
            return Err(Error::conflict(format!(
                "project {id} has {STAGES_MAX} stages, the most a project has"
            )));
        }
        if !actions_of(Access::Manager, &before).add_stage {
            return Err(refuse(Access::Manager, &before, "adding a stage"));
        }
        let name = clean_text("name", &new.name, 1, STAGE_NAME_MAX_CHARS)?;
        if let (Some(start), Some(end)) = (new.planned_start, new.planned_end)
            && end < start
        {
            return Err(Error::invalid(
                "planned_end",
                "must not be before the planned start",
            ));
        }
        let stage = ProjectStage {
            id: ProjectStageId(self.next_id(actor.org, "project_stage")?),
            project: id,
            name,
            position: before.totals.stages,
            progress: 0,
            planned_start: new.planned_start,
            planned_end: new.planned_end,
            planned: Money(0),
            spent: Money(0),
            created_at: self.now(),
        };
        let mut after = with_progress(self, actor.org, before.clone(), &stage)?;
        after.totals.stages += 1;
        self.insert_record(&project_part_key(actor.org, id, stage.id.0), &stage)?;
        event(
            self,
            actor,
            id,
            ProjectEventKind::StageAdded { stage: stage.id },
        )?;
        audit(
            self,
            actor,
            AuditAction::ProjectStageAdded,
            id,
            format!("stage {} {:?}", stage.id, stage.name),
        )?;
        save(self, actor.org, &before, after)?;
        Ok(stage)
    }

    /// Sets a stage's progress, 0-100 percent (the project's progress follows). Setting the
    /// progress it has writes nothing. Needs `manage_projects`; the project active. Audited
    /// (`project.progress_set`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `progress` (above 100) or `stage` (not
    /// the project's); conflict when it is not active.
    pub fn set_stage_progress(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        stage: ProjectStageId,
        progress: u8,
    ) -> Result<ProjectStage> {
        let before = managed(self, actor, id, "setting progress")?;
        if !actions_of(Access::Manager, &before).set_progress {
            return Err(refuse(Access::Manager, &before, "setting progress"));
        }
        if progress > 100 {
            return Err(Error::invalid(
                "progress",
                format!("{progress} is not a percentage from 0 to 100"),
            ));
        }
        let old = stage_in(self, actor.org, id, stage, "stage")?;
        if old.progress == progress {
            return Ok(old);
        }
        let new = ProjectStage {
            progress,
            ..old.clone()
        };
        let after = with_progress(self, actor.org, before.clone(), &new)?;
        self.update_record(&project_part_key(actor.org, id, stage.0), &old, &new)?;
        event(
            self,
            actor,
            id,
            ProjectEventKind::ProgressSet {
                stage,
                from: old.progress,
                to: progress,
            },
        )?;
        audit(
            self,
            actor,
            AuditAction::ProjectProgressSet,
            id,
            format!(
                "stage {stage} {:?}: {}% -> {progress}%",
                new.name, old.progress
            ),
        )?;
        save(self, actor.org, &before, after)?;
        Ok(new)
    }

    /// Adds a daily report (the worker's bot's flow, or the web's form): the files are
    /// stored with it. A manager, or a worker put on the project; the project active with a
    /// stage. The client is told (`Event::ProjectReport`); webhooks get
    /// `project.report_added`. Audited (`project.report_added`).
    ///
    /// # Errors
    /// Not found (also a project the worker is not on); permission denied for other staff
    /// and for the client; invalid input on `stage`, `text` (too long, or the report empty),
    /// `media` (more than 30, or not a photo or video) or `voice` (not audio); conflict when
    /// it is not active.
    pub fn add_daily_report(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        new: NewReport,
    ) -> Result<DailyReport> {
        let (_, before, access) = visible_project(self, actor, id)?;
        if access != Access::Client
            && before.state == ProjectState::Active
            && before.totals.stages == 0
        {
            return Err(Error::conflict(format!(
                "project {id} has no stage to report on: add one first"
            )));
        }
        if !actions_of(access, &before).add_report {
            return Err(refuse(access, &before, "adding a daily report"));
        }
        let stage = stage_in(self, actor.org, id, new.stage, "stage")?;
        let text = clean_text("text", &new.text, 0, TEXT_MAX_CHARS)?;
        if new.media.len() > REPORT_MEDIA_MAX {
            return Err(Error::invalid(
                "media",
                format!(
                    "a report carries at most {REPORT_MEDIA_MAX} photos and videos (got {})",
                    new.media.len()
                ),
            ));
        }
        for file in &new.media {
            check_kind("media", file, &["image/", "video/"], "a photo or a video")?;
        }
        if let Some(voice) = &new.voice {
            check_kind("voice", voice, &["audio/"], "a voice note (audio)")?;
        }
        if text.is_empty() && new.media.is_empty() && new.voice.is_none() {
            return Err(Error::invalid(
                "text",
                "a report needs a text, a voice note, or photos or videos",
            ));
        }
        let mut media = Vec::with_capacity(new.media.len());
        for file in &new.media {
            media.push(self.store_new_media(actor.org, file)?.hash);
        }
        let voice = match &new.voice {
            Some(file) => Some(self.store_new_media(actor.org, file)?.hash),
            None => None,
        };
        let report = DailyReport {
            id: ReportId(self.next_id(actor.org, "project_report")?),
            project: id,
            stage: stage.id,
            author: actor.who,
            text,
            media,
            voice,
            created_at: self.now(),
        };
        self.insert_record(&project_part_key(actor.org, id, report.id.0), &report)?;
        let mut after = before.clone();
        after.totals.reports = after.totals.reports.saturating_add(1);
        event(
            self,
            actor,
            id,
            ProjectEventKind::ReportAdded { report: report.id },
        )?;
        let files = u32::try_from(report.media.len()).unwrap_or(u32::MAX);
        audit(
            self,
            actor,
            AuditAction::ProjectReportAdded,
            id,
            format!(
                "report {} on stage {:?}: {} characters, {files} files{}",
                report.id,
                stage.name,
                report.text.chars().count(),
                if report.voice.is_some() {
                    ", a voice note"
                } else {
                    ""
                }
            ),
        )?;
        self.enqueue(
            actor.org,
            Recipient::Customer(before.client),
            OutboxPayload::Notify(Event::ProjectReport {
                project: id,
                title: before.title.clone(),
                report: report.id,
                stage: stage.name.clone(),
                text: preview(&report.text),
                files,
            }),
        )?;
        emit(
            self,
            actor.org,
            WebhookEvent::ProjectReportAdded {
                project: id,
                client: before.client,
                report: report.id,
                stage: stage.id,
                author: actor.who,
                text: report.text.clone(),
                files,
            },
        )?;
        save(self, actor.org, &before, after)?;
        Ok(report)
    }

    /// Adds an expense or income entry, with its proof stored beside it. A manager, or a
    /// worker put on the project; the project active. The project's spent or income (and
    /// the stage's spent, for an expense on a stage) follow. Audited (`project.entry_added`).
    ///
    /// # Errors
    /// Not found; permission denied for other staff and the client; invalid input on
    /// `amount`, `note`, `stage`, `proof` (not a photo or PDF) or `date` (after today);
    /// conflict when it is not active.
    pub fn add_project_entry(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        new: NewEntry,
    ) -> Result<ProjectEntry> {
        let (_, before, access) = visible_project(self, actor, id)?;
        if !actions_of(access, &before).add_entry {
            return Err(refuse(access, &before, "adding a money entry"));
        }
        check_amount("amount", new.amount, true)?;
        let note = clean_text("note", &new.note, 0, NOTE_MAX_CHARS)?;
        let stage = match new.stage {
            Some(stage) => Some(stage_in(self, actor.org, id, stage, "stage")?),
            None => None,
        };
        if let Some(proof) = &new.proof {
            check_kind(
                "proof",
                proof,
                &["image/", "application/pdf"],
                "a photo or a PDF",
            )?;
        }
        let org = load_org(self, actor.org)?;
        let today = Zone::of(&org).date_of(self.now());
        let date = new.date.unwrap_or(today);
        if date > today {
            return Err(Error::invalid(
                "date",
                format!("{date} is after today ({today})"),
            ));
        }
        let proof = match &new.proof {
            Some(file) => Some(self.store_new_media(actor.org, file)?.hash),
            None => None,
        };
        let entry = ProjectEntry {
            id: EntryId(self.next_id(actor.org, "project_entry")?),
            project: id,
            kind: new.kind,
            amount: new.amount,
            category: new.category,
            note,
            stage: stage.as_ref().map(|stage| stage.id),
            proof,
            author: actor.who,
            date,
            created_at: self.now(),
        };
        self.insert_record(&project_part_key(actor.org, id, entry.id.0), &entry)?;
        let mut after = before.clone();
        after.totals.entries = after.totals.entries.saturating_add(1);
        match entry.kind {
            EntryKind::Expense => {
                after.totals.spent = Money(after.totals.spent.0.saturating_add(entry.amount.0));
                if let Some(old) = &stage {
                    let new_stage = ProjectStage {
                        spent: Money(old.spent.0.saturating_add(entry.amount.0)),
                        ..old.clone()
                    };
                    self.update_record(
                        &project_part_key(actor.org, id, old.id.0),
                        old,
                        &new_stage,
                    )?;
                }
            }
            EntryKind::Income => {
                after.totals.income = Money(after.totals.income.0.saturating_add(entry.amount.0));
            }
        }
        event(
            self,
            actor,
            id,
            ProjectEventKind::EntryAdded { entry: entry.id },
        )?;
        audit(
            self,
            actor,
            AuditAction::ProjectEntryAdded,
            id,
            format!(
                "entry {}: {} {} ({}){}",
                entry.id,
                entry.kind.as_str(),
                entry.amount,
                entry.category.as_str(),
                if entry.proof.is_some() {
                    " with proof"
                } else {
                    ""
                }
            ),
        )?;
        save(self, actor.org, &before, after)?;
        Ok(entry)
    }

    /// Adds an estimate line (the plan) for a stage; the stage's and the project's planned
    /// sums follow, and with them the progress's weights. Needs `manage_projects`; the
    /// project active, with fewer than 500 lines. Audited (`project.estimate_line_added`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `stage`, `title` or `planned`;
    /// conflict when it is not active or has 500 lines.
    pub fn add_estimate_line(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        new: NewEstimateLine,
    ) -> Result<EstimateLine> {
        let before = managed(self, actor, id, "adding an estimate line")?;
        if before.state == ProjectState::Active
            && before.totals.estimate_lines >= ESTIMATE_LINES_MAX
        {
            return Err(Error::conflict(format!(
                "project {id} has {ESTIMATE_LINES_MAX} estimate lines, the most a project has"
            )));
        }
        if !actions_of(Access::Manager, &before).add_estimate_line {
            return Err(refuse(Access::Manager, &before, "adding an estimate line"));
        }
        let stage = stage_in(self, actor.org, id, new.stage, "stage")?;
        let title = clean_text("title", &new.title, 1, TITLE_MAX_CHARS)?;
        check_amount("planned", new.planned, false)?;
        let line = EstimateLine {
            id: EstimateLineId(self.next_id(actor.org, "estimate_line")?),
            project: id,
            stage: stage.id,
            title,
            planned: new.planned,
            created_at: self.now(),
        };
        let new_stage = ProjectStage {
            planned: Money(stage.planned.0.saturating_add(line.planned.0)),
            ..stage.clone()
        };
        let mut after = with_progress(self, actor.org, before.clone(), &new_stage)?;
        after.totals.planned = Money(after.totals.planned.0.saturating_add(line.planned.0));
        after.totals.estimate_lines += 1;
        self.insert_record(&project_part_key(actor.org, id, line.id.0), &line)?;
        self.update_record(
            &project_part_key(actor.org, id, stage.id.0),
            &stage,
            &new_stage,
        )?;
        audit(
            self,
            actor,
            AuditAction::ProjectEstimateLineAdded,
            id,
            format!(
                "line {} on stage {:?}: {:?} {}",
                line.id, stage.name, line.title, line.planned
            ),
        )?;
        save(self, actor.org, &before, after)?;
        Ok(line)
    }

    /// Writes a change request for the client to decide; the client is told
    /// (`Event::ChangeRequestWaiting`). Needs `manage_projects`; the project active. Audited
    /// (`project.change_request_created`).
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `title`, `amount` (zero, or beyond
    /// [`Money::MAX`] either way) or `description`; conflict when it is not active.
    pub fn create_change_request(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        new: NewChangeRequest,
    ) -> Result<ChangeRequest> {
        let before = managed(self, actor, id, "writing a change request")?;
        if !actions_of(Access::Manager, &before).create_change_request {
            return Err(refuse(Access::Manager, &before, "writing a change request"));
        }
        let title = clean_text("title", &new.title, 1, TITLE_MAX_CHARS)?;
        let description = clean_text("description", &new.description, 0, TEXT_MAX_CHARS)?;
        if new.amount.0 == 0 {
            return Err(Error::invalid("amount", "must not be zero"));
        }
        if new.amount.0.unsigned_abs() > Money::MAX.0.unsigned_abs() {
            return Err(Error::invalid(
                "amount",
                format!("{} is too large", new.amount),
            ));
        }
        let request = ChangeRequest {
            id: ChangeRequestId(self.next_id(actor.org, "change_request")?),
            project: id,
            title,
            amount: new.amount,
            description,
            state: ChangeRequestState::Pending,
            created_by: actor.who,
            created_at: self.now(),
            decided_by: None,
            decided_at: None,
        };
        self.insert_record(&project_part_key(actor.org, id, request.id.0), &request)?;
        let mut after = before.clone();
        after.totals.pending_changes = after.totals.pending_changes.saturating_add(1);
        event(
            self,
            actor,
            id,
            ProjectEventKind::ChangeRequestCreated {
                request: request.id,
            },
        )?;
        audit(
            self,
            actor,
            AuditAction::ProjectChangeRequestCreated,
            id,
            format!(
                "change request {} {:?}: {}",
                request.id, request.title, request.amount
            ),
        )?;
        self.enqueue(
            actor.org,
            Recipient::Customer(before.client),
            OutboxPayload::Notify(Event::ChangeRequestWaiting {
                project: id,
                project_title: before.title.clone(),
                request: request.id,
                title: request.title.clone(),
                amount: request.amount,
                currency: before.currency.clone(),
            }),
        )?;
        save(self, actor.org, &before, after)?;
        Ok(request)
    }

    /// Approves or rejects a pending change request, once: the client (their own project),
    /// or staff with `manage_projects` on their behalf; the project active. An approval adds
    /// the amount to the budget, which may not fall below zero. Webhooks get
    /// `project.change_request_decided`. Audited (`project.change_request_approved` or
    /// `project.change_request_rejected`).
    ///
    /// # Errors
    /// Not found (the project, or a request not of it); permission denied for workers;
    /// conflict when it was decided already, the project is not active, or the approval
    /// would take the budget below zero.
    pub fn decide_change_request(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        request: ChangeRequestId,
        decision: Decision,
    ) -> Result<ChangeRequest> {
        let (_, before, access) = visible_project(self, actor, id)?;
        if access == Access::Worker {
            return Err(refuse(access, &before, "deciding a change request"));
        }
        let old = load_request(self, actor.org, id, request)?;
        if old.state != ChangeRequestState::Pending {
            return Err(Error::conflict(format!(
                "change request {request} is {} already: it is decided once",
                old.state.as_str()
            )));
        }
        if before.state != ProjectState::Active {
            return Err(refuse(
                Access::Manager,
                &before,
                "deciding a change request",
            ));
        }
        let mut after = before.clone();
        after.totals.pending_changes = after.totals.pending_changes.saturating_sub(1);
        let (state, action) = match decision {
            Decision::Approve => {
                let total = before.budget_total().0.saturating_add(old.amount.0);
                if total < 0 {
                    return Err(Error::conflict(format!(
                        "approving change request {request} ({}) would take the budget ({}) below zero",
                        old.amount,
                        before.budget_total()
                    )));
                }
                after.totals.approved_changes =
                    Money(after.totals.approved_changes.0.saturating_add(old.amount.0));
                (
                    ChangeRequestState::Approved,
                    AuditAction::ProjectChangeRequestApproved,
                )
            }
            Decision::Reject => (
                ChangeRequestState::Rejected,
                AuditAction::ProjectChangeRequestRejected,
            ),
        };
        decided(self, actor, &before, after, &old, state, action)
    }

    /// Withdraws a pending change request (staff, before the client decides). Needs
    /// `manage_projects`; the project active. Webhooks get `project.change_request_decided`.
    /// Audited (`project.change_request_withdrawn`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict when it was decided already or the project is
    /// not active.
    pub fn withdraw_change_request(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        request: ChangeRequestId,
    ) -> Result<ChangeRequest> {
        let before = managed(self, actor, id, "withdrawing a change request")?;
        let old = load_request(self, actor.org, id, request)?;
        if old.state != ChangeRequestState::Pending {
            return Err(Error::conflict(format!(
                "change request {request} is {} already: it is decided once",
                old.state.as_str()
            )));
        }
        if before.state != ProjectState::Active {
            return Err(refuse(
                Access::Manager,
                &before,
                "withdrawing a change request",
            ));
        }
        let mut after = before.clone();
        after.totals.pending_changes = after.totals.pending_changes.saturating_sub(1);
        decided(
            self,
            actor,
            &before,
            after,
            &old,
            ChangeRequestState::Withdrawn,
            AuditAction::ProjectChangeRequestWithdrawn,
        )
    }

    /// Completes a project (active -> completed), reopens one (completed or archived ->
    /// active) or archives one (completed -> archived). Needs `manage_projects`. Audited
    /// (`project.state_changed`).
    ///
    /// # Errors
    /// Not found; permission denied; conflict for any other move (the same state included).
    pub fn set_project_state(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        state: ProjectState,
    ) -> Result<Project> {
        let before = managed(self, actor, id, "changing its state")?;
        let actions = actions_of(Access::Manager, &before);
        let allowed = match state {
            ProjectState::Completed => actions.complete,
            ProjectState::Active => actions.reopen,
            ProjectState::Archived => actions.archive,
        };
        if !allowed {
            return Err(Error::conflict(format!(
                "project {id} is {}: it cannot become {}",
                before.state.as_str(),
                state.as_str()
            )));
        }
        let after = Project {
            state,
            ..before.clone()
        };
        event(
            self,
            actor,
            id,
            ProjectEventKind::StateChanged {
                from: before.state,
                to: state,
            },
        )?;
        audit(
            self,
            actor,
            AuditAction::ProjectStateChanged,
            id,
            format!("{} -> {}", before.state.as_str(), state.as_str()),
        )?;
        save(self, actor.org, &before, after)
    }
}

/// Reads a change request of a project, or not found (also for one of another project).
fn load_request(
    view: &impl View,
    org: OrgId,
    project: ProjectId,
    request: ChangeRequestId,
) -> Result<ChangeRequest> {
    view.get(
        tables::CHANGE_REQUESTS,
        &project_part_key(org, project, request.0),
    )?
    .ok_or_else(|| Error::not_found(ChangeRequestId::LABEL, request))
}

/// Writes a change request's decision (or withdrawal) with the project `after` whose
/// counters the caller moved: the request, the timeline event, the audit entry, the webhook.
fn decided(
    tx: &mut Tx<'_>,
    actor: &Actor,
    before: &Project,
    after: Project,
    old: &ChangeRequest,
    state: ChangeRequestState,
    action: AuditAction,
) -> Result<ChangeRequest> {
    let request = ChangeRequest {
        state,
        decided_by: Some(actor.who),
        decided_at: Some(tx.now()),
        ..old.clone()
    };
    tx.update_record(
        &project_part_key(actor.org, before.id, old.id.0),
        old,
        &request,
    )?;
    event(
        tx,
        actor,
        before.id,
        ProjectEventKind::ChangeRequestDecided {
            request: request.id,
            state,
        },
    )?;
    audit(
        tx,
        actor,
        action,
        before.id,
        format!(
            "change request {} {:?}: {} ({})",
            request.id,
            request.title,
            request.amount,
            state.as_str()
        ),
    )?;
    emit(
        tx,
        actor.org,
        WebhookEvent::ProjectChangeRequestDecided {
            project: before.id,
            client: before.client,
            request: request.id,
            state,
            amount: request.amount,
            budget_total: after.budget_total(),
            currency: after.currency.clone(),
            decided_by: actor.who,
        },
    )?;
    tell_the_author(tx, actor, before, &after, &request)?;
    save(tx, actor.org, before, after)?;
    Ok(request)
}

/// Tells the staff user who wrote a change request that it was approved or rejected
/// ([`Event::ChangeRequestDecided`]), when someone else decided it and they can be reached
/// in Telegram (an active user with a linked account); a withdrawal is their own doing.
fn tell_the_author(
    tx: &mut Tx<'_>,
    actor: &Actor,
    before: &Project,
    after: &Project,
    request: &ChangeRequest,
) -> Result<()> {
    let ActorRef::Staff(author) = request.created_by else {
        return Ok(());
    };
    if actor.who == request.created_by
        || !matches!(
            request.state,
            ChangeRequestState::Approved | ChangeRequestState::Rejected
        )
    {
        return Ok(());
    }
    let reachable = match super::super::team::load_user(&*tx, actor.org, author) {
        Ok(user) => user.status == UserStatus::Active && user.telegram_id.is_some(),
        Err(error) if error.kind() == crate::ErrorKind::NotFound => false,
        Err(error) => return Err(error),
    };
    if !reachable {
        return Ok(());
    }
    tx.enqueue(
        actor.org,
        Recipient::Staff(author),
        OutboxPayload::Notify(Event::ChangeRequestDecided {
            project: before.id,
            project_title: before.title.clone(),
            request: request.id,
            title: request.title.clone(),
            amount: request.amount,
            currency: before.currency.clone(),
            state: request.state,
            by_client: matches!(actor.who, ActorRef::Customer(_)),
            budget_total: after.budget_total(),
        }),
    )?;
    Ok(())
}

/// The first characters of a report's text, for the client's notification.
fn preview(text: &str) -> String {
    const MAX: usize = 300;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

impl Crm {
    /// See [`Tx::create_project`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// See [`Tx::create_project`].
    pub fn create_project(&self, actor: &Actor, new: NewProject) -> Result<Project> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_project(&actor, new))
    }

    /// See [`Tx::update_project`].
    ///
    /// # Errors
    /// See [`Tx::update_project`].
    pub fn update_project(
        &self,
        actor: &Actor,
        id: ProjectId,
        edit: ProjectEdit,
    ) -> Result<Project> {
        let actor = actor.clone();
        self.write(move |tx| tx.update_project(&actor, id, edit))
    }

    /// See [`Tx::set_project_workers`].
    ///
    /// # Errors
    /// See [`Tx::set_project_workers`].
    pub fn set_project_workers(
        &self,
        actor: &Actor,
        id: ProjectId,
        workers: Vec<UserId>,
    ) -> Result<Project> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_project_workers(&actor, id, workers))
    }

    /// See [`Tx::add_project_stage`].
    ///
    /// # Errors
    /// See [`Tx::add_project_stage`].
    pub fn add_project_stage(
        &self,
        actor: &Actor,
        id: ProjectId,
        new: NewStage,
    ) -> Result<ProjectStage> {
        let actor = actor.clone();
        self.write(move |tx| tx.add_project_stage(&actor, id, new))
    }

    /// See [`Tx::set_stage_progress`].
    ///
    /// # Errors
    /// See [`Tx::set_stage_progress`].
    pub fn set_stage_progress(
        &self,
        actor: &Actor,
        id: ProjectId,
        stage: ProjectStageId,
        progress: u8,
    ) -> Result<ProjectStage> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_stage_progress(&actor, id, stage, progress))
    }

    /// See [`Tx::add_daily_report`]. The files were checked and hashed by
    /// [`NewMedia::parse`] on the caller's thread.
    ///
    /// # Errors
    /// See [`Tx::add_daily_report`].
    pub fn add_daily_report(
        &self,
        actor: &Actor,
        id: ProjectId,
        new: NewReport,
    ) -> Result<DailyReport> {
        let actor = actor.clone();
        self.write(move |tx| tx.add_daily_report(&actor, id, new))
    }

    /// See [`Tx::add_project_entry`].
    ///
    /// # Errors
    /// See [`Tx::add_project_entry`].
    pub fn add_project_entry(
        &self,
        actor: &Actor,
        id: ProjectId,
        new: NewEntry,
    ) -> Result<ProjectEntry> {
        let actor = actor.clone();
        self.write(move |tx| tx.add_project_entry(&actor, id, new))
    }

    /// See [`Tx::add_estimate_line`].
    ///
    /// # Errors
    /// See [`Tx::add_estimate_line`].
    pub fn add_estimate_line(
        &self,
        actor: &Actor,
        id: ProjectId,
        new: NewEstimateLine,
    ) -> Result<EstimateLine> {
        let actor = actor.clone();
        self.write(move |tx| tx.add_estimate_line(&actor, id, new))
    }

    /// See [`Tx::create_change_request`].
    ///
    /// # Errors
    /// See [`Tx::create_change_request`].
    pub fn create_change_request(
        &self,
        actor: &Actor,
        id: ProjectId,
        new: NewChangeRequest,
    ) -> Result<ChangeRequest> {
        let actor = actor.clone();
        self.write(move |tx| tx.create_change_request(&actor, id, new))
    }

    /// See [`Tx::decide_change_request`].
    ///
    /// # Errors
    /// See [`Tx::decide_change_request`].
    pub fn decide_change_request(
        &self,
        actor: &Actor,
        id: ProjectId,
        request: ChangeRequestId,
        decision: Decision,
    ) -> Result<ChangeRequest> {
        let actor = actor.clone();
        self.write(move |tx| tx.decide_change_request(&actor, id, request, decision))
    }

    /// See [`Tx::withdraw_change_request`].
    ///
    /// # Errors
    /// See [`Tx::withdraw_change_request`].
    pub fn withdraw_change_request(
        &self,
        actor: &Actor,
        id: ProjectId,
        request: ChangeRequestId,
    ) -> Result<ChangeRequest> {
        let actor = actor.clone();
        self.write(move |tx| tx.withdraw_change_request(&actor, id, request))
    }

    /// See [`Tx::set_project_state`].
    ///
    /// # Errors
    /// See [`Tx::set_project_state`].
    pub fn set_project_state(
        &self,
        actor: &Actor,
        id: ProjectId,
        state: ProjectState,
    ) -> Result<Project> {
        let actor = actor.clone();
        self.write(move |tx| tx.set_project_state(&actor, id, state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(progress: u8, planned: i64) -> ProjectStage {
        ProjectStage {
            id: ProjectStageId(u64::from(progress)),
            project: ProjectId(1),
            name: "s".into(),
            position: 0,
            progress,
            planned_start: None,
            planned_end: None,
            planned: Money(planned),
            spent: Money(0),
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn progress_weighs_stages_by_their_plan_only_when_every_stage_has_one() {
        assert_eq!(progress_of(&[]), 0);
        assert_eq!(progress_of(&[stage(100, 0), stage(0, 0)]), 50);
        assert_eq!(
            progress_of(&[stage(100, 0), stage(0, 300)]),
            50,
            "one unplanned"
        );
        assert_eq!(progress_of(&[stage(100, 100), stage(0, 300)]), 25);
        assert_eq!(
            progress_of(&[stage(33, 1), stage(34, 1), stage(34, 1)]),
            33,
            "down"
        );
        assert_eq!(progress_of(&[stage(100, 5), stage(100, 7)]), 100);
    }

    #[test]
    fn decisions_parse_by_their_names_only() {
        assert_eq!(
            Decision::parse("d", " approve ").ok(),
            Some(Decision::Approve)
        );
        assert_eq!(Decision::parse("d", "reject").ok(), Some(Decision::Reject));
        assert!(Decision::parse("d", "yes").is_err());
    }
}
