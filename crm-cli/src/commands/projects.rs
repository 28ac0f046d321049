//! `crm project list|show|create|stage|progress|report|entry|change-request` and
//! `crm project document add|list|remove`: parse, one
//! crm-lib call each (as the system, or as the staff user `--as` names for a report or an
//! entry), render; crm-lib checks everything (the module, the lead, the limits, the state)
//! and its error kind becomes the exit code.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use crm_lib::Crm;
use crm_lib::media::NewMedia;
use crm_lib::model::{
    Actor, ChangeRequestId, CustomerId, Date, EntryCategory, EntryKind, Money, OrderId, OrgId,
    ProjectDocumentId, ProjectId, ProjectStageId, ProjectState,
};
use crm_lib::projects::{
    Decision, NewChangeRequest, NewDocument, NewEntry, NewProject, NewReport, ProjectFilter,
    ProjectView, TimelineKind,
};

use super::{Place, print_table};
use crate::Io;
use crate::cli::{DocumentCommand, ProjectCommand};

/// The MIME type of a file by its extension (the files a report or an entry carries); crm-lib
/// refuses a type the record may not carry (a report: photo, video, audio; a document: PDF,
/// image, office document).
fn mime_of(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "rtf" => "application/rtf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        _ => "application/octet-stream",
    }
}

/// A file named on the command line, read and checked.
fn file(place: &Place, path: &Path) -> Result<NewMedia> {
    let bytes =
        fs::read(place.path(path)).with_context(|| format!("reading {}", path.display()))?;
    Ok(NewMedia::parse(bytes, mime_of(path))?)
}

/// The actor of a report or entry: the staff user `--as` names, else the system.
fn author(crm: &Crm, org: OrgId, name: Option<&str>) -> Result<Actor> {
    match name {
        Some(name) => {
            let user = crm.user_by_name(&Actor::system(org), name)?;
            Ok(Actor::staff(org, user.id))
        }
        None => Ok(Actor::system(org)),
    }
}

/// A project as JSON (the API's field names, money as decimal strings).
fn project_json(view: &ProjectView) -> serde_json::Value {
    let project = &view.project;
    let totals = &project.totals;
    serde_json::json!({
        "id": project.id.get(),
        "client": project.client.get(),
        "client_name": view.client_name,
        "lead": project.lead.map(OrderId::get),
        "title": project.title,
        "address": project.address,
        "state": project.state.as_str(),
        "currency": project.currency,
        "budget_base": project.budget_base.to_string(),
        "budget_total": project.budget_total().to_string(),
        "approved_changes": totals.approved_changes.to_string(),
        "spent": totals.spent.to_string(),
        "income": totals.income.to_string(),
        "remaining": project.remaining().to_string(),
        "planned": totals.planned.to_string(),
        "progress": totals.progress,
        "stages": view.stages.iter().map(|stage| serde_json::json!({
            "id": stage.stage.id.get(),
            "name": stage.stage.name,
            "progress": stage.stage.progress,
            "planned": stage.stage.planned.to_string(),
            "spent": stage.stage.spent.to_string(),
        })).collect::<Vec<_>>(),
        "change_requests": view.change_requests.iter().map(|request| serde_json::json!({
            "id": request.id.get(),
            "title": request.title,
            "amount": request.amount.to_string(),
            "state": request.state.as_str(),
        })).collect::<Vec<_>>(),
    })
}

/// One line of the timeline, in plain English.
fn timeline_line(kind: &TimelineKind) -> String {
    match kind {
        TimelineKind::Created { lead: Some(lead) } => format!("created from lead {lead}"),
        TimelineKind::Created { lead: None } => "created".to_string(),
        TimelineKind::StageAdded { name, .. } => format!("stage {name:?} added"),
        TimelineKind::Progress { name, from, to, .. } => {
            format!("stage {name:?}: {from}% -> {to}%")
        }
        TimelineKind::Report { report, stage } => format!(
            "report {} on {stage:?}: {} ({} files)",
            report.id,
            report.text,
            report.files().count()
        ),
        TimelineKind::Entry { entry, .. } => format!(
            "{} {} ({}){}",
            entry.kind.as_str(),
            entry.amount,
            entry.category.as_str(),
            if entry.note.is_empty() {
                String::new()
            } else {
                format!(": {}", entry.note)
            }
        ),
        TimelineKind::ChangeRequest { request, state } => format!(
            "change request {} {:?} ({}): {}",
            request.id,
            request.title,
            request.amount,
            state.as_str()
        ),
        TimelineKind::State { to, .. } => format!("now {}", to.as_str()),
    }
}

/// `crm project ...`.
pub(super) fn project(
    crm: &Crm,
    org: OrgId,
    command: &ProjectCommand,
    place: &Place,
    io: &mut Io<'_>,
) -> Result<()> {
    let system = Actor::system(org);
    match command {
        ProjectCommand::List {
            state,
            search,
            json,
        } => {
            let filter = ProjectFilter {
                state: state
                    .as_deref()
                    .map(|text| ProjectState::parse("state", text))
                    .transpose()?,
                search: search.clone().unwrap_or_default(),
            };
            let mut rows = Vec::new();
            let mut page = crm_lib::Page::first(crm_lib::Page::MAX);
            loop {
                let list = crm.projects(&system, &filter, page)?;
                rows.extend(list.rows);
                match list.next {
                    Some(next) => page = crm_lib::Page::after(next, crm_lib::Page::MAX),
                    None => break,
                }
            }
            if *json {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|row| {
                        serde_json::json!({
                            "id": row.row.id.get(),
                            "state": row.row.state.as_str(),
                            "progress": row.row.totals.progress,
                            "budget_total": row.row.budget_total.to_string(),
                            "spent": row.row.totals.spent.to_string(),
                            "income": row.row.totals.income.to_string(),
                            "currency": row.row.currency,
                            "client": row.row.client.get(),
                            "client_name": row.client_name,
                            "title": row.row.title,
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    vec![
                        row.row.id.to_string(),
                        row.row.state.as_str().to_string(),
                        format!("{}%", row.row.totals.progress),
                        row.row.budget_total.to_string(),
                        row.row.totals.spent.to_string(),
                        row.client_name.clone().unwrap_or_default(),
                        row.row.title.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID", "STATE", "PROGRESS", "BUDGET", "SPENT", "CLIENT", "TITLE",
                ],
                &table,
                io,
            )?;
        }
        ProjectCommand::Show { id, json } => {
            let page = crm.project_page(&system, ProjectId::new(*id), None, 20)?;
            let view = &page.view;
            if *json {
                out!(io, "{}", serde_json::to_string_pretty(&project_json(view))?);
                return Ok(());
            }
            let project = &view.project;
            let currency = &project.currency;
            out!(io, "project {}: {}", project.id, project.title);
            out!(
                io,
                "client: {} (customer {})",
                view.client_name.as_deref().unwrap_or("?"),
                project.client
            );
            if let Some(lead) = project.lead {
                out!(io, "lead: order {lead}");
            }
            out!(io, "address: {}", project.address);
            out!(io, "state: {}", project.state.as_str());
            out!(io, "progress: {}%", project.totals.progress);
            out!(
                io,
                "budget: {} {currency} (agreed {}, approved changes {}); spent {}, received {}, remaining {}",
                project.budget_total(),
                project.budget_base,
                project.totals.approved_changes,
                project.totals.spent,
                project.totals.income,
                project.remaining()
            );
            out!(io);
            let stages: Vec<Vec<String>> = view
                .stages
                .iter()
                .map(|stage| {
                    vec![
                        stage.stage.id.to_string(),
                        format!("{}%", stage.stage.progress),
                        stage.stage.planned.to_string(),
                        stage.stage.spent.to_string(),
                        stage.stage.name.clone(),
                    ]
                })
                .collect();
            print_table(
                &["STAGE", "PROGRESS", "PLANNED", "SPENT", "NAME"],
                &stages,
                io,
            )?;
            if !view.change_requests.is_empty() {
                out!(io);
                let requests: Vec<Vec<String>> = view
                    .change_requests
                    .iter()
                    .map(|request| {
                        vec![
                            request.id.to_string(),
                            request.state.as_str().to_string(),
                            request.amount.to_string(),
                            request.title.clone(),
                        ]
                    })
                    .collect();
                print_table(&["REQUEST", "STATE", "AMOUNT", "TITLE"], &requests, io)?;
            }
            out!(io);
            out!(io, "latest:");
            for item in &page.timeline.items {
                out!(
                    io,
                    "  {} {}",
                    item.at.to_rfc3339(),
                    timeline_line(&item.kind)
                );
            }
        }
        ProjectCommand::Create {
            client,
            lead,
            title,
            address,
            budget,
            stages,
        } => {
            let mut new = match lead {
                Some(lead) => {
                    crm.project_draft(&system, Some(OrderId::new(*lead)))?
                        .project
                }
                None => NewProject {
                    client: CustomerId::new(client.ok_or_else(|| {
                        crm_lib::Error::invalid(
                            "client",
                            "name the client (--client) or a lead (--lead)",
                        )
                    })?),
                    ..NewProject::default()
                },
            };
            if let Some(client) = client {
                new.client = CustomerId::new(*client);
            }
            if let Some(title) = title {
                new.title = title.clone();
            }
            if !address.is_empty() {
                new.address = address.clone();
            }
            if let Some(budget) = budget {
                new.budget = Money::parse("budget", budget)?;
            }
            new.stages = stages.clone();
            let project = crm.create_project(&system, new)?;
            out!(
                io,
                "project {} made for customer {}: {} with {} stages",
                project.id,
                project.client,
                project.title,
                project.totals.stages
            );
        }
        ProjectCommand::Stage { id, name } => {
            let stage = crm.add_project_stage(
                &system,
                ProjectId::new(*id),
                crm_lib::projects::NewStage {
                    name: name.clone(),
                    ..crm_lib::projects::NewStage::default()
                },
            )?;
            out!(
                io,
                "stage {} {:?} added to project {id}",
                stage.id,
                stage.name
            );
        }
        ProjectCommand::Progress { id, stage, percent } => {
            let stage = crm.set_stage_progress(
                &system,
                ProjectId::new(*id),
                ProjectStageId::new(*stage),
                *percent,
            )?;
            let project = crm.project(&system, ProjectId::new(*id))?.project;
            out!(
                io,
                "stage {} {:?} at {}%; project {id} at {}%",
                stage.id,
                stage.name,
                stage.progress,
                project.totals.progress
            );
        }
        ProjectCommand::Report {
            id,
            stage,
            text,
            files,
            voice,
            author: name,
        } => {
            let media = files
                .iter()
                .map(|path| file(place, path))
                .collect::<Result<Vec<_>>>()?;
            let voice = voice.as_deref().map(|path| file(place, path)).transpose()?;
            let actor = author(crm, org, name.as_deref())?;
            let report = crm.add_daily_report(
                &actor,
                ProjectId::new(*id),
                NewReport {
                    stage: ProjectStageId::new(*stage),
                    text: text.clone(),
                    media,
                    voice,
                },
            )?;
            out!(
                io,
                "report {} added to project {id} with {} files; the client is told",
                report.id,
                report.files().count()
            );
        }
        ProjectCommand::Entry {
            id,
            kind,
            amount,
            category,
            note,
            stage,
            date,
            proof,
            author: name,
        } => {
            let new = NewEntry {
                kind: EntryKind::parse("kind", kind)?,
                amount: Money::parse("amount", amount)?,
                category: EntryCategory::parse("category", category)?,
                note: note.clone(),
                stage: stage.map(ProjectStageId::new),
                proof: proof.as_deref().map(|path| file(place, path)).transpose()?,
                date: Date::parse_optional("date", date.as_deref())?,
            };
            let actor = author(crm, org, name.as_deref())?;
            let entry = crm.add_project_entry(&actor, ProjectId::new(*id), new)?;
            let project = crm.project(&system, ProjectId::new(*id))?.project;
            out!(
                io,
                "entry {}: {} {} on project {id}; spent {}, received {}",
                entry.id,
                entry.kind.as_str(),
                entry.amount,
                project.totals.spent,
                project.totals.income
            );
        }
        ProjectCommand::ChangeRequest {
            id,
            title,
            amount,
            description,
            request,
            decide,
        } => {
            let project_id = ProjectId::new(*id);
            match (request, decide) {
                (Some(request), Some(decision)) => {
                    let decided = crm.decide_change_request(
                        &system,
                        project_id,
                        ChangeRequestId::new(*request),
                        Decision::parse("decide", decision)?,
                    )?;
                    let project = crm.project(&system, project_id)?.project;
                    out!(
                        io,
                        "change request {} {}; project {id}'s budget is {}",
                        decided.id,
                        decided.state.as_str(),
                        project.budget_total()
                    );
                }
                (None, None) => {
                    let new = NewChangeRequest {
                        title: title.clone().unwrap_or_default(),
                        amount: Money::parse_signed("amount", amount.as_deref().unwrap_or(""))?,
                        description: description.clone(),
                    };
                    let written = crm.create_change_request(&system, project_id, new)?;
                    out!(
                        io,
                        "change request {} ({}) sent to the client of project {id}",
                        written.id,
                        written.amount
                    );
                }
                _ => {
                    return Err(crm_lib::Error::invalid(
                        "decide",
                        "deciding needs both --request and --decide",
                    )
                    .into());
                }
            }
        }
        ProjectCommand::Document(command) => document(crm, &system, command, place, io)?,
    }
    Ok(())
}

/// `crm project document ...`, as the system.
fn document(
    crm: &Crm,
    system: &Actor,
    command: &DocumentCommand,
    place: &Place,
    io: &mut Io<'_>,
) -> Result<()> {
    match command {
        DocumentCommand::Add {
            id,
            title,
            file: path,
        } => {
            let new = NewDocument {
                title: title.clone(),
                file_name: path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                file: file(place, path)?,
            };
            let added = crm.add_project_document(system, ProjectId::new(*id), new)?;
            out!(
                io,
                "document {} ({}, {} bytes) added to project {id}",
                added.id,
                added.kind.as_str(),
                added.size
            );
        }
        DocumentCommand::List { id, json } => {
            let documents = crm.project_documents(system, ProjectId::new(*id))?;
            if *json {
                let rows: Vec<serde_json::Value> = documents
                    .iter()
                    .map(|document| {
                        serde_json::json!({
                            "id": document.id.get(),
                            "title": document.title,
                            "file_name": document.file_name,
                            "kind": document.kind.as_str(),
                            "mime": document.mime,
                            "size": document.size,
                            "media": document.media.to_string(),
                            "added_at": document.added_at.to_rfc3339(),
                        })
                    })
                    .collect();
                out!(io, "{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let table: Vec<Vec<String>> = documents
                .iter()
                .map(|document| {
                    vec![
                        document.id.to_string(),
                        document.kind.as_str().to_string(),
                        document.size.to_string(),
                        document.file_name.clone(),
                        document.title.clone(),
                    ]
                })
                .collect();
            print_table(&["ID", "KIND", "BYTES", "FILE", "TITLE"], &table, io)?;
        }
        DocumentCommand::Remove { id, document } => {
            let removed = crm.remove_project_document(
                system,
                ProjectId::new(*id),
                ProjectDocumentId::new(*document),
            )?;
            out!(
                io,
                "document {} {:?} removed from project {id}",
                removed.id,
                removed.title
            );
        }
    }
    Ok(())
}
