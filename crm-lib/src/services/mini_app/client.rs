//! The client's reads and decisions in the Mini App: whose Telegram account it is, their
//! projects, one project's summary with a page of its daily reports' feed, a change
//! request decided, a report's file.

use std::collections::HashMap;
use std::ops::Bound;

use crate::model::*;
use crate::projects::{Decision, ProjectActions, StageView};
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Error, Paged, Result, View};

use super::super::customers::customer_by_telegram;
use super::super::media::{MediaFile, media_in, read_visible_media_in};
use super::super::orders::rows::stored_customer_name;
use super::super::projects::{Access, stages_of, visible_project};
use super::super::require_module;
use super::init_data::InitData;

/// Daily reports per page of the feed.
pub const FEED_PAGE: usize = 20;

/// The most projects the client's home lists (a client has a handful).
const HOME_PROJECTS_MAX: usize = 100;

/// Who opened the Mini App, and their projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHome {
    /// The customer, as the actor of every further call.
    pub actor: Actor,
    /// Their name.
    pub name: String,
    /// Their language in the CRM (the Mini App prefers the one Telegram reports).
    pub language: Language,
    /// Their projects: active first, then the newest (at most 100).
    pub projects: Vec<ProjectRow>,
}

/// The money of a project as its client sees it, in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneySummary {
    /// The budget now: the base plus the approved change requests.
    pub budget_total: Money,
    /// The sum of the approved change requests.
    pub approved_changes: Money,
    /// Spent: the sum of the expense entries.
    pub spent: Money,
    /// Left: total minus spent (negative when over budget).
    pub remaining: Money,
    /// The project's currency (ISO 4217).
    pub currency: String,
}

/// A file of a daily report, with what kind of file it is (from its stored MIME type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMedia {
    /// The stored file.
    pub hash: MediaHash,
    /// Photo, video, or document for anything else.
    pub kind: MediaKind,
    /// Its MIME type.
    pub mime: String,
}

/// One daily report of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReport {
    /// The report (its id is the feed's cursor).
    pub id: ReportId,
    /// When it was written.
    pub at: Timestamp,
    /// Its stage's name.
    pub stage: String,
    /// Its author's name (a staff user's display name; empty when gone).
    pub author: String,
    /// The text (may be empty).
    pub text: String,
    /// Photos and videos, in the order sent.
    pub media: Vec<FeedMedia>,
    /// A voice note.
    pub voice: Option<FeedMedia>,
}

/// A document of the project the client may download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDocument {
    /// Its title.
    pub title: String,
    /// The file's name as uploaded (the download's name).
    pub file_name: String,
    /// The stored file.
    pub file: MediaHash,
    /// Its MIME type.
    pub mime: String,
    /// When it was added.
    pub at: Timestamp,
}

/// A change request the client decided, with the money after the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDecision {
    /// The request as decided.
    pub request: ChangeRequest,
    /// The project's money after it.
    pub money: MoneySummary,
    /// The client's language in the CRM.
    pub language: Language,
}

/// One project as its client sees it in the Mini App.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientProject {
    /// The project (as [`crate::projects::project_in`] shows it to a client: no books).
    pub project: Project,
    /// Its progress in percent ([`crate::projects::progress_of`]).
    pub progress: u8,
    /// The stages in order, each with its progress.
    pub stages: Vec<StageView>,
    /// The money summary.
    pub money: MoneySummary,
    /// A page of the daily reports, newest first; `next` is the report to continue before.
    pub feed: Paged<FeedReport>,
    /// The pending change requests, newest first.
    pub pending: Vec<ChangeRequest>,
    /// The decided change requests, newest first.
    pub decided: Vec<ChangeRequest>,
    /// The project's documents, newest first (the projects' `project_documents_in`).
    pub documents: Vec<ClientDocument>,
    /// What the client may do (approve or reject while a request is pending and the project
    /// active).
    pub actions: ProjectActions,
    /// A stamp that changes whenever the project or any of its parts does (its
    /// `updated_at`, in ms): the Mini App polls it to refresh.
    pub stamp: i64,
    /// The client's language in the CRM (the Mini App prefers the one Telegram reports).
    pub language: Language,
}

/// The customer actor of the Telegram account that signed `init`, in `org`: the projects
/// module on (else "not found"), `init` naming a user, and that user a customer of `org`.
///
/// # Errors
/// Not found while the module is off, without a user, and for an account that is no
/// customer here (a staff user's, a stranger's).
pub fn client_actor_in(view: &impl View, org: OrgId, init: &InitData) -> Result<Actor> {
    Ok(client_of(view, org, init)?.0)
}

fn client_of(view: &impl View, org: OrgId, init: &InitData) -> Result<(Actor, Customer)> {
    require_module(view, org, Module::Projects)?;
    let user = init
        .user()
        .ok_or_else(|| Error::not_found("telegram user", "none"))?;
    let customer = customer_by_telegram(view, org, user.id)?
        .ok_or_else(|| Error::not_found("customer of telegram user", user.id))?;
    Ok((Actor::customer(org, customer.id), customer))
}

/// The client who opened the Mini App and their projects (see [`client_actor_in`] for who
/// that is), active first, then the newest. Reads the client index and the list rows.
///
/// # Errors
/// As [`client_actor_in`].
pub fn client_home_in(view: &impl View, org: OrgId, init: &InitData) -> Result<ClientHome> {
    let (actor, customer) = client_of(view, org, init)?;
    let mut projects: Vec<ProjectRow> = Vec::new();
    let prefix = Key::org(org).u64(customer.id.0);
    for key in view.keys_with_prefix(
        tables::PROJECTS_BY_CLIENT,
        &prefix,
        None,
        true,
        HOME_PROJECTS_MAX,
    )? {
        let id = keys::tail_u64(&key);
        let row: ProjectRow = view
            .get(tables::PROJECT_ROWS, &Key::org(org).u64(id))?
            .ok_or_else(|| crate::store::dangling("project_rows", &id.to_be_bytes()))?;
        projects.push(row);
    }
    projects.sort_by_key(|row| (row.state != ProjectState::Active, std::cmp::Reverse(row.id)));
    Ok(ClientHome {
        actor,
        name: customer.full_name(),
        language: customer.language,
        projects,
    })
}

/// One project as its client `actor` sees it in the Mini App, with the page of its daily
/// reports newest first strictly before report `before` ([`FEED_PAGE`] per page). The page
/// is a reverse range read of the project's reports from the cursor, so a deep page costs
/// what the first does.
///
/// # Errors
/// Not found while the module is off, for an unknown project and for one that is not the
/// actor's (the client reads only their own; staff and the system are refused alike:
/// this is the client's view).
pub fn client_project_in(
    view: &impl View,
    actor: &Actor,
    id: ProjectId,
    before: Option<ReportId>,
) -> Result<ClientProject> {
    let (_, project, access) = visible_project(view, actor, id)?;
    if access != Access::Client {
        return Err(Error::not_found(ProjectId::LABEL, id));
    }
    let org = actor.org;
    let stages = stages_of(view, org, id)?;
    let stage_names: HashMap<ProjectStageId, String> = stages
        .iter()
        .map(|stage| (stage.id, stage.name.clone()))
        .collect();
    let feed = feed_of(view, org, id, before, &stage_names)?;
    let mut pending = Vec::new();
    let mut decided = Vec::new();
    let mut requests: Vec<ChangeRequest> =
        view.records_with_prefix(tables::CHANGE_REQUESTS, &Key::org(org).u64(id.0))?;
    requests.reverse();
    for request in requests {
        match request.state {
            ChangeRequestState::Pending => pending.push(request),
            _ => decided.push(request),
        }
    }
    let actions = super::super::projects::actions_of(access, &project);
    let language = super::super::load_customer(view, org, project.client)?.language;
    let stages = stages
        .into_iter()
        .map(|mut stage| {
            stage.planned = Money(0);
            stage.spent = Money(0);
            StageView {
                stage,
                lines: Vec::new(),
            }
        })
        .collect();
    let money = money_of(&project);
    let mut project = project;
    project.totals.planned = Money(0);
    project.workers.clear();
    Ok(ClientProject {
        progress: project.totals.progress,
        stamp: project.updated_at.millis(),
        documents: super::super::projects::project_documents_in(view, actor, id)?
            .into_iter()
            .map(|document| ClientDocument {
                title: document.title,
                file_name: document.file_name,
                file: document.media,
                mime: document.mime,
                at: document.added_at,
            })
            .collect(),
        project,
        stages,
        money,
        feed,
        pending,
        decided,
        actions,
        language,
    })
}

fn money_of(project: &Project) -> MoneySummary {
    MoneySummary {
        budget_total: project.budget_total(),
        approved_changes: project.totals.approved_changes,
        spent: project.totals.spent,
        remaining: project.remaining(),
        currency: project.currency.clone(),
    }
}

fn feed_of(
    view: &impl View,
    org: OrgId,
    project: ProjectId,
    before: Option<ReportId>,
    stage_names: &HashMap<ProjectStageId, String>,
) -> Result<Paged<FeedReport>> {
    let prefix = Key::org(org).u64(project.0);
    let start = prefix.as_slice().to_vec();
    let upper_key = before.map(|before| prefix.clone().u64(before.0));
    let end = keys::prefix_end(prefix.as_slice());
    let upper = match &upper_key {
        Some(key) => Bound::Excluded(key.as_slice()),
        None => end.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
    };
    let mut reports: Vec<DailyReport> = Vec::with_capacity(FEED_PAGE);
    let mut more = false;
    view.scan(
        tables::PROJECT_REPORTS,
        (Bound::Included(start.as_slice()), upper),
        true,
        |_, value| {
            if reports.len() == FEED_PAGE {
                more = true;
                return Ok(false);
            }
            reports.push(codec::decode(value)?);
            Ok(true)
        },
    )?;
    let mut authors: HashMap<ActorRef, String> = HashMap::new();
    let mut items = Vec::with_capacity(reports.len());
    for report in reports {
        let author = match authors.get(&report.author) {
            Some(name) => name.clone(),
            None => {
                let name = author_name(view, org, report.author)?;
                authors.insert(report.author, name.clone());
                name
            }
        };
        let media = report
            .media
            .iter()
            .map(|hash| feed_media(view, org, *hash))
            .collect::<Result<Vec<_>>>()?;
        let voice = report
            .voice
            .map(|hash| feed_media(view, org, hash))
            .transpose()?;
        items.push(FeedReport {
            id: report.id,
            at: report.created_at,
            stage: stage_names.get(&report.stage).cloned().unwrap_or_default(),
            author,
            text: report.text,
            media,
            voice,
        });
    }
    let next = if more {
        items.last().map(|item| item.id.0)
    } else {
        None
    };
    Ok(Paged { items, next })
}

fn feed_media(view: &impl View, org: OrgId, hash: MediaHash) -> Result<FeedMedia> {
    let media = media_in(view, org, hash)?;
    let kind = if media.mime.starts_with("image/") {
        MediaKind::Photo
    } else if media.mime.starts_with("video/") {
        MediaKind::Video
    } else if media.mime.starts_with("audio/") {
        MediaKind::Voice
    } else {
        MediaKind::Document
    };
    Ok(FeedMedia {
        hash,
        kind,
        mime: media.mime,
    })
}

fn author_name(view: &impl View, org: OrgId, who: ActorRef) -> Result<String> {
    Ok(match who {
        ActorRef::Staff(user) => view
            .get::<User>(tables::USERS, &Key::org(org).u64(user.0))?
            .map(|user| user.display_name)
            .unwrap_or_default(),
        ActorRef::Customer(customer) => {
            stored_customer_name(view, org, customer)?.unwrap_or_default()
        }
        ActorRef::System => String::new(),
    })
}

impl Crm {
    /// See [`client_home_in`]. Reads a snapshot.
    ///
    /// # Errors
    /// See [`client_home_in`].
    pub fn mini_app_home(&self, org: OrgId, init: &InitData) -> Result<ClientHome> {
        self.read(|view| client_home_in(view, org, init))
    }

    /// The client of `init` (see [`client_actor_in`]) reads `project` (see
    /// [`client_project_in`]), on one snapshot.
    ///
    /// # Errors
    /// As [`client_actor_in`] and [`client_project_in`].
    pub fn mini_app_project(
        &self,
        org: OrgId,
        init: &InitData,
        project: ProjectId,
        before: Option<ReportId>,
    ) -> Result<ClientProject> {
        self.read(|view| {
            let actor = client_actor_in(view, org, init)?;
            client_project_in(view, &actor, project, before)
        })
    }

    /// The stamp of `project` for its client (see [`ClientProject::stamp`]): one read, what
    /// the Mini App polls.
    ///
    /// # Errors
    /// As [`Crm::mini_app_project`].
    pub fn mini_app_stamp(&self, org: OrgId, init: &InitData, project: ProjectId) -> Result<i64> {
        self.read(|view| {
            let actor = client_actor_in(view, org, init)?;
            let (_, project, access) = visible_project(view, &actor, project)?;
            if access != Access::Client {
                return Err(Error::not_found(ProjectId::LABEL, project.id));
            }
            Ok(project.updated_at.millis())
        })
    }

    /// The client of `init` approves or rejects change request `request` of `project`:
    /// `decide_change_request` as [`Actor::customer`], in one write transaction that finds
    /// the customer, decides (audited as the customer) and reads the money after it.
    ///
    /// # Errors
    /// As [`client_actor_in`]; then as `Tx::decide_change_request` (conflict when decided
    /// already).
    pub fn mini_app_decide(
        &self,
        org: OrgId,
        init: &InitData,
        project: ProjectId,
        request: ChangeRequestId,
        decision: Decision,
    ) -> Result<ClientDecision> {
        let init = init.clone();
        self.write(move |tx| {
            let (actor, customer) = client_of(&*tx, org, &init)?;
            let request = tx.decide_change_request(&actor, project, request, decision)?;
            let project = super::super::projects::load_project(&*tx, org, project)?;
            Ok(ClientDecision {
                request,
                money: money_of(&project),
                language: customer.language,
            })
        })
    }

    /// A file of one of the client's daily reports (or any file the client may see, by the
    /// media visibility rule), with its bytes, on one snapshot.
    ///
    /// # Errors
    /// As [`client_actor_in`]; not found for a file the client may not see.
    pub fn mini_app_media(
        &self,
        org: OrgId,
        init: &InitData,
        hash: MediaHash,
    ) -> Result<MediaFile> {
        self.read(|view| {
            let actor = client_actor_in(view, org, init)?;
            read_visible_media_in(view, &actor, hash)
        })
    }
}

/// Whether the customer `actor` is the client of any project of their organization (the
/// bot's customer menu offers the Mini App then). Anyone else has none. One key read.
///
/// # Errors
/// Storage only.
pub fn client_has_project_in(view: &impl View, actor: &Actor) -> Result<bool> {
    let ActorRef::Customer(customer) = actor.who else {
        return Ok(false);
    };
    if !super::super::load_org(view, actor.org)?
        .modules
        .contains(Module::Projects)
    {
        return Ok(false);
    }
    Ok(!view
        .keys_with_prefix(
            tables::PROJECTS_BY_CLIENT,
            &Key::org(actor.org).u64(customer.0),
            None,
            false,
            1,
        )?
        .is_empty())
}
