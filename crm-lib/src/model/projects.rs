//! Projects (SPEC 5E, issue 14; the renovation plan's "Project Management"): a job for a
//! client, made from a won lead or by hand, with its stages and their progress, the workers'
//! daily reports, the money spent and received, the estimate (the plan per stage) and the
//! change requests the client approves. The rules are `crate::projects`.
//!
//! A project keeps its totals as counters ([`ProjectTotals`]), written in the same
//! transaction as each record they add up, so the list, the page and the client's summary
//! read them without scanning; `crm verify` recomputes them from the records.

use serde::{Deserialize, Serialize};

use super::{
    ActorRef, ChangeRequestId, CustomerId, Date, EntryId, EstimateLineId, MediaHash, Money,
    OrderId, ProjectDocumentId, ProjectEventId, ProjectId, ProjectStageId, ReportId, Timestamp,
    UserId,
};

/// Where a project stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProjectState {
    /// Work goes on: reports, entries, stages and change requests are added.
    Active,
    /// The work is done; nothing is added until it is reopened.
    Completed,
    /// Put away: out of the default list.
    Archived,
}

impl ProjectState {
    /// Every state, in the order lists offer them.
    pub const ALL: [ProjectState; 3] = [
        ProjectState::Active,
        ProjectState::Completed,
        ProjectState::Archived,
    ];

    /// The stable name used in URLs, the API and the CLI: `active`, `completed`, `archived`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Active => "active",
            ProjectState::Completed => "completed",
            ProjectState::Archived => "archived",
        }
    }

    /// The state named `text` ([`ProjectState::as_str`]).
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field`, naming the states.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        ProjectState::ALL
            .into_iter()
            .find(|state| state.as_str() == text.trim())
            .ok_or_else(|| {
                crate::Error::invalid(
                    field,
                    format!("{text:?} is not a state (active, completed or archived)"),
                )
            })
    }

    /// The byte the state index keys it by.
    pub(crate) fn code(self) -> u8 {
        match self {
            ProjectState::Active => 1,
            ProjectState::Completed => 2,
            ProjectState::Archived => 3,
        }
    }
}

/// The counters a project keeps of its records (the module's rule: kept in the transaction
/// that writes each record, recomputed by `crm verify`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectTotals {
    /// The sum of the approved change requests (may be negative).
    pub approved_changes: Money,
    /// The sum of the expense entries.
    pub spent: Money,
    /// The sum of the income entries.
    pub income: Money,
    /// The sum of the estimate lines (the plan).
    pub planned: Money,
    /// The weighted progress of the stages, 0-100 (see `crate::projects::progress_of`).
    pub progress: u8,
    /// How many stages.
    pub stages: u32,
    /// How many daily reports.
    pub reports: u32,
    /// How many money entries.
    pub entries: u32,
    /// How many estimate lines.
    pub estimate_lines: u32,
    /// How many change requests wait for the client.
    pub pending_changes: u32,
}

/// A project: a job for a client (the renovation plan's `Project`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// The id, from sequence `project`.
    pub id: ProjectId,
    /// The client.
    pub client: CustomerId,
    /// The won lead (order) it was made from, when it was.
    pub lead: Option<OrderId>,
    /// A name, 1-200 characters.
    pub title: String,
    /// Where the work is, at most 500 characters (may be empty).
    pub address: String,
    /// The budget agreed at the start; the total adds the approved change requests.
    pub budget_base: Money,
    /// The organization's currency when the project was made (ISO 4217).
    pub currency: String,
    /// Where it stands.
    pub state: ProjectState,
    /// The workers who report on it (staff with `report_projects`).
    pub workers: Vec<UserId>,
    /// Who made it.
    pub created_by: ActorRef,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed (any record of it).
    pub updated_at: Timestamp,
    /// The counters of its records.
    pub totals: ProjectTotals,
}

impl Project {
    /// The budget now: the base plus the approved change requests.
    pub fn budget_total(&self) -> Money {
        Money(
            self.budget_base
                .0
                .saturating_add(self.totals.approved_changes.0),
        )
    }

    /// What is left of the budget: total minus spent (negative when over budget).
    pub fn remaining(&self) -> Money {
        Money(self.budget_total().0.saturating_sub(self.totals.spent.0))
    }
}

/// What the project list shows of a project (`project_rows`, kept beside every project in
/// the same transaction: SPEC 3.1 "List pages read projections").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRow {
    /// The id.
    pub id: ProjectId,
    /// The client.
    pub client: CustomerId,
    /// The name.
    pub title: String,
    /// Where.
    pub address: String,
    /// Where it stands.
    pub state: ProjectState,
    /// The budget now (base plus approved change requests).
    pub budget_total: Money,
    /// The counters.
    pub totals: ProjectTotals,
    /// The currency.
    pub currency: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl From<&Project> for ProjectRow {
    fn from(project: &Project) -> Self {
        ProjectRow {
            id: project.id,
            client: project.client,
            title: project.title.clone(),
            address: project.address.clone(),
            state: project.state,
            budget_total: project.budget_total(),
            totals: project.totals,
            currency: project.currency.clone(),
            created_at: project.created_at,
            updated_at: project.updated_at,
        }
    }
}

/// A stage of a project (`ProjectStage`, SPEC 3.1): named for this project by its manager,
/// like its title, so a plain text rather than a configured `Localized` name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectStage {
    /// The id, from sequence `project_stage`.
    pub id: ProjectStageId,
    /// Its project.
    pub project: ProjectId,
    /// A name, 1-100 characters.
    pub name: String,
    /// Its place among the project's stages, from 0.
    pub position: u32,
    /// How far it is, 0-100 percent.
    pub progress: u8,
    /// When it is planned to start.
    pub planned_start: Option<Date>,
    /// When it is planned to end.
    pub planned_end: Option<Date>,
    /// The sum of its estimate lines (kept, like the project's totals).
    pub planned: Money,
    /// The sum of the expense entries on it (kept).
    pub spent: Money,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A worker's daily report (the renovation plan's `DailyReport`): photos or videos, a text
/// or a voice note, on one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyReport {
    /// The id, from sequence `project_report`.
    pub id: ReportId,
    /// Its project.
    pub project: ProjectId,
    /// The stage it is about.
    pub stage: ProjectStageId,
    /// Who wrote it.
    pub author: ActorRef,
    /// The text, at most 4,000 characters (may be empty when it has files or a voice note).
    pub text: String,
    /// Its photos and videos, in the order sent (stored files).
    pub media: Vec<MediaHash>,
    /// A voice note.
    pub voice: Option<MediaHash>,
    /// When it was written.
    pub created_at: Timestamp,
}

impl DailyReport {
    /// Every file it carries: the photos and videos, then the voice note.
    pub fn files(&self) -> impl Iterator<Item = MediaHash> + '_ {
        self.media.iter().copied().chain(self.voice)
    }
}

/// Whether money went out or came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    /// Money spent (the plan's "Fact").
    Expense,
    /// Money received (the client's payments).
    Income,
}

impl EntryKind {
    /// `expense` or `income`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Expense => "expense",
            EntryKind::Income => "income",
        }
    }

    /// The kind named `text`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field`.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        match text.trim() {
            "expense" => Ok(EntryKind::Expense),
            "income" => Ok(EntryKind::Income),
            other => Err(crate::Error::invalid(
                field,
                format!("{other:?} is not expense or income"),
            )),
        }
    }
}

/// What a money entry is for: a fixed set, named in every language by the locale files
/// (`projects.category.<key>`), with a free text beside it on the entry. Stored by position:
/// new categories go at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryCategory {
    /// Building materials.
    Materials,
    /// Wages of the crew.
    Labor,
    /// Work bought from another firm.
    Subcontract,
    /// Tools and machines bought or hired.
    Equipment,
    /// Delivery and transport.
    Delivery,
    /// Permits, fees, waste removal.
    Fees,
    /// A payment by the client.
    ClientPayment,
    /// Anything else (the free text says what).
    Other,
}

impl EntryCategory {
    /// Every category, in the order forms offer them.
    pub const ALL: [EntryCategory; 8] = [
        EntryCategory::Materials,
        EntryCategory::Labor,
        EntryCategory::Subcontract,
        EntryCategory::Equipment,
        EntryCategory::Delivery,
        EntryCategory::Fees,
        EntryCategory::ClientPayment,
        EntryCategory::Other,
    ];

    /// The stable key (`materials`): the API's and the CLI's name and the locale key's last
    /// part.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryCategory::Materials => "materials",
            EntryCategory::Labor => "labor",
            EntryCategory::Subcontract => "subcontract",
            EntryCategory::Equipment => "equipment",
            EntryCategory::Delivery => "delivery",
            EntryCategory::Fees => "fees",
            EntryCategory::ClientPayment => "client_payment",
            EntryCategory::Other => "other",
        }
    }

    /// The category named `text`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::InvalidInput`] on `field`, naming the categories.
    pub fn parse(field: &'static str, text: &str) -> crate::Result<Self> {
        EntryCategory::ALL
            .into_iter()
            .find(|category| category.as_str() == text.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = EntryCategory::ALL.iter().map(|c| c.as_str()).collect();
                crate::Error::invalid(
                    field,
                    format!("{text:?} is not a category ({})", names.join(", ")),
                )
            })
    }
}

/// An expense or income entry (the renovation plan's `Transaction`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectEntry {
    /// The id, from sequence `project_entry`.
    pub id: EntryId,
    /// Its project.
    pub project: ProjectId,
    /// Out or in.
    pub kind: EntryKind,
    /// How much, above zero.
    pub amount: Money,
    /// What for.
    pub category: EntryCategory,
    /// Words beside the category, at most 500 characters (may be empty).
    pub note: String,
    /// The stage it is booked on, when it is.
    pub stage: Option<ProjectStageId>,
    /// A photo of the receipt or the transfer (a stored file).
    pub proof: Option<MediaHash>,
    /// Who entered it.
    pub author: ActorRef,
    /// The day the money moved.
    pub date: Date,
    /// When it was entered.
    pub created_at: Timestamp,
}

/// A line of a project's estimate: planned money for a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateLine {
    /// The id, from sequence `estimate_line`.
    pub id: EstimateLineId,
    /// Its project.
    pub project: ProjectId,
    /// The stage it plans for.
    pub stage: ProjectStageId,
    /// What, 1-200 characters.
    pub title: String,
    /// How much, zero or more.
    pub planned: Money,
    /// When it was added.
    pub created_at: Timestamp,
}

/// Where a change request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeRequestState {
    /// Waiting for the client.
    Pending,
    /// The client (or staff on their behalf) approved it: its amount is in the budget.
    Approved,
    /// The client (or staff on their behalf) rejected it.
    Rejected,
    /// Staff took it back before a decision.
    Withdrawn,
}

impl ChangeRequestState {
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeRequestState::Pending => "pending",
            ChangeRequestState::Approved => "approved",
            ChangeRequestState::Rejected => "rejected",
            ChangeRequestState::Withdrawn => "withdrawn",
        }
    }
}

/// A change request (the plan's "Change Orders": extra costs requiring the client's
/// approval).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    /// The id, from sequence `change_request`.
    pub id: ChangeRequestId,
    /// Its project.
    pub project: ProjectId,
    /// What changes, 1-200 characters.
    pub title: String,
    /// What it adds to the budget (negative: what it takes off).
    pub amount: Money,
    /// Details, at most 4,000 characters (may be empty).
    pub description: String,
    /// Where it stands.
    pub state: ChangeRequestState,
    /// Who wrote it.
    pub created_by: ActorRef,
    /// When it was written.
    pub created_at: Timestamp,
    /// Who decided or withdrew it: the client, or staff on their behalf.
    pub decided_by: Option<ActorRef>,
    /// When.
    pub decided_at: Option<Timestamp>,
}

/// What kind of file a project document is, from its MIME type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DocumentKind {
    /// `application/pdf`.
    Pdf,
    /// `image/*`: a scan or a photo of a paper.
    Image,
    /// A word processor's, spreadsheet's or presentation's file (Microsoft Office,
    /// OpenDocument, RTF), or plain text or CSV.
    Office,
}

impl DocumentKind {
    /// The kind of a file of MIME type `mime`, or `None` for a type a project document may
    /// not have (an archive, a program, a video).
    pub fn of_mime(mime: &str) -> Option<Self> {
        let mime = mime.trim().to_ascii_lowercase();
        let mime = mime.split(';').next().unwrap_or_default().trim();
        if mime == "application/pdf" {
            Some(DocumentKind::Pdf)
        } else if mime.starts_with("image/") {
            Some(DocumentKind::Image)
        } else if mime == "application/msword"
            || mime == "application/rtf"
            || mime == "text/plain"
            || mime == "text/csv"
            || mime.starts_with("application/vnd.ms-")
            || mime.starts_with("application/vnd.openxmlformats-officedocument.")
            || mime.starts_with("application/vnd.oasis.opendocument.")
        {
            Some(DocumentKind::Office)
        } else {
            None
        }
    }

    /// `pdf`, `image` or `office`.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Image => "image",
            DocumentKind::Office => "office",
        }
    }
}

/// A document of a project (the renovation plan's contract, estimate and plans): a stored
/// file with a title, which staff with `manage_projects` add and remove and the client reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectDocument {
    /// The id, from sequence `project_document`.
    pub id: ProjectDocumentId,
    /// Its project.
    pub project: ProjectId,
    /// What it is, 1-200 characters.
    pub title: String,
    /// The file's name as uploaded, 1-255 characters (the download's name).
    pub file_name: String,
    /// PDF, image or office document.
    pub kind: DocumentKind,
    /// The file's MIME type.
    pub mime: String,
    /// The file's size in bytes.
    pub size: u64,
    /// The stored file.
    pub media: MediaHash,
    /// Who added it.
    pub added_by: ActorRef,
    /// When.
    pub added_at: Timestamp,
}

/// What happened on a project: one line of its timeline (`project_events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectEventKind {
    /// The project was made (from a lead, when it names one).
    Created {
        /// The lead.
        lead: Option<OrderId>,
    },
    /// A stage was added.
    StageAdded {
        /// The stage.
        stage: ProjectStageId,
    },
    /// A stage's progress was set.
    ProgressSet {
        /// The stage.
        stage: ProjectStageId,
        /// Before, in percent.
        from: u8,
        /// After.
        to: u8,
    },
    /// A daily report was added.
    ReportAdded {
        /// The report.
        report: ReportId,
    },
    /// A money entry was added.
    EntryAdded {
        /// The entry.
        entry: EntryId,
    },
    /// A change request was written.
    ChangeRequestCreated {
        /// The request.
        request: ChangeRequestId,
    },
    /// A change request was approved, rejected or withdrawn.
    ChangeRequestDecided {
        /// The request.
        request: ChangeRequestId,
        /// Its new state.
        state: ChangeRequestState,
    },
    /// The project was completed, reopened or archived.
    StateChanged {
        /// Before.
        from: ProjectState,
        /// After.
        to: ProjectState,
    },
}

impl ProjectEventKind {
    /// Whether the client sees it in their feed: everything but the money entries (the
    /// firm's own books; the client reads the totals).
    pub fn client_sees(&self) -> bool {
        !matches!(self, ProjectEventKind::EntryAdded { .. })
    }
}

/// One event of a project's timeline, in the order they happened (its id grows with time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectEvent {
    /// The id, from sequence `project_event`.
    pub id: ProjectEventId,
    /// Its project.
    pub project: ProjectId,
    /// Who.
    pub actor: ActorRef,
    /// When.
    pub at: Timestamp,
    /// What.
    pub kind: ProjectEventKind,
}
