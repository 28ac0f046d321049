//! The declarations of projects (`services::projects`, issue 14): the projects with their
//! client, state, lead and worker indexes and the list's projection, and their parts (stages,
//! reports, entries, estimate lines, change requests, timeline events), each keyed
//! `org | project | part` so a project's parts are one prefix scan.

use super::chat::{MEDIA_REF_KEY_LEN, RefKind, media_refs_valued};
use super::{org_of, owner_by_tail, owner_by_value};
use crate::model::*;
use crate::store::codec::{self, Record};
use crate::store::indexes::{Declared, Index, Layout, Owner, Reference, Value};
use crate::store::keys::{self, Key};
use crate::store::tables::{self, Def};

/// The key of a project in `projects`: `org | project`.
pub(crate) fn project_key(org: OrgId, project: ProjectId) -> Key {
    Key::org(org).u64(project.0)
}

/// The key of a part of a project (a stage, report, entry, estimate line, change request
/// or event) in its table: `org | project | part`.
pub(crate) fn project_part_key(org: OrgId, project: ProjectId, part: u64) -> Key {
    Key::org(org).u64(project.0).u64(part)
}

/// The stored list row of `project` (`project_rows`); see `order_row` for why encoding
/// cannot fail in practice.
fn project_row(project: &Project) -> Value {
    let row = ProjectRow::from(project);
    Value::Row(codec::encode(&row).unwrap_or_else(|_| vec![ProjectRow::VERSION]))
}

/// What a project's index entry disagrees with.
fn project_disagreement(_: &[u8], _: &[u8], project: &Project) -> String {
    format!(
        "disagrees with project {} (client {}, state {}, lead {:?}, workers {:?})",
        project.id,
        project.client,
        project.state.as_str(),
        project.lead.map(|lead| lead.0),
        project
            .workers
            .iter()
            .map(|user| user.0)
            .collect::<Vec<_>>()
    )
}

impl Declared for Project {
    const TABLE: Def = tables::PROJECTS;
    const NOUN: &'static str = "project";
    const LAYOUT: Layout = Layout::OrgId;
    const SEQUENCE: Option<&'static str> = Some("project");
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::PROJECTS_BY_CLIENT,
            since: 9,
            entries: |org, _, project, out| {
                out.push((
                    Key::org(org).u64(project.client.0).u64(project.id.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: project_disagreement,
        },
        Index {
            table: tables::PROJECTS_BY_STATE,
            since: 9,
            entries: |org, _, project, out| {
                out.push((
                    Key::org(org).u8(project.state.code()).u64(project.id.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: project_disagreement,
        },
        Index {
            table: tables::PROJECTS_BY_LEAD,
            since: 9,
            entries: |org, _, project, out| {
                if let Some(lead) = project.lead {
                    out.push((Key::org(org).u64(lead.0), Value::id(project.id.0)));
                }
            },
            owner: owner_by_value,
            disagreement: project_disagreement,
        },
        Index {
            table: tables::PROJECTS_BY_WORKER,
            since: 9,
            entries: |org, _, project, out| {
                let mut workers = project.workers.clone();
                workers.sort_unstable();
                workers.dedup();
                for worker in workers {
                    out.push((Key::org(org).u64(worker.0).u64(project.id.0), Value::Empty));
                }
            },
            owner: owner_by_tail,
            disagreement: project_disagreement,
        },
        Index {
            table: tables::PROJECT_ROWS,
            since: 9,
            entries: |org, _, project, out| {
                out.push((project_key(org, project.id), project_row(project)));
            },
            owner: owner_by_tail,
            disagreement: |_, _, project| {
                format!(
                    "is stale: it does not match project {} (state {}, totals {:?})",
                    project.id,
                    project.state.as_str(),
                    project.totals
                )
            },
        },
    ];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is for customer",
            tables::CUSTOMERS,
            org,
            self.client.0,
        ));
        if let Some(lead) = self.lead {
            out.push(Reference::new(
                "was made from order",
                tables::ORDERS,
                org,
                lead.0,
            ));
        }
        for worker in &self.workers {
            out.push(Reference::new(
                "is worked on by user",
                tables::USERS,
                org,
                worker.0,
            ));
        }
    }
}

/// The owner of a `media_refs` entry of a project's part of `kind`: the part stored under
/// `org | project | part`, the project being the entry's value.
fn part_media_owner(key: &[u8], value: &[u8], kind: RefKind) -> Owner {
    let found = key
        .get(40)
        .copied()
        .and_then(RefKind::from_byte)
        .filter(|_| key.len() == MEDIA_REF_KEY_LEN);
    match found {
        None => Owner::Malformed(format!(
            "is malformed ({} bytes, expected {MEDIA_REF_KEY_LEN} with kind 1 to 6)",
            key.len()
        )),
        Some(found) if found != kind => Owner::Elsewhere,
        Some(_) => match <[u8; 8]>::try_from(value) {
            Ok(project) => Owner::Record(
                Key::org(org_of(key))
                    .u64(u64::from_be_bytes(project))
                    .u64(keys::tail_u64(key)),
            ),
            Err(_) => Owner::Malformed(format!(
                "holds a {}-byte value instead of a project id",
                value.len()
            )),
        },
    }
}

/// The reference every part makes to its project.
fn of_project(org: OrgId, project: ProjectId, out: &mut Vec<Reference>) {
    out.push(Reference::new(
        "is part of project",
        tables::PROJECTS,
        org,
        project.0,
    ));
}

/// How problems name a part: `daily report 3 of project 2 of organization 1`.
fn describe_part(noun: &str, id: u64, project: ProjectId, org: OrgId) -> String {
    format!("{noun} {id} of project {project} of organization {org}")
}

impl Declared for ProjectStage {
    const TABLE: Def = tables::PROJECT_STAGES;
    const NOUN: &'static str = "project stage";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("project_stage");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(project_part_key(org, self.project, self.id.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        of_project(org, self.project, out);
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        describe_part(Self::NOUN, self.id.0, self.project, org)
    }
}

impl Declared for DailyReport {
    const TABLE: Def = tables::PROJECT_REPORTS;
    const NOUN: &'static str = "daily report";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("project_report");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::MEDIA_REFS,
        since: 9,
        entries: |org, _, report, out| {
            media_refs_valued(
                org,
                report.files(),
                RefKind::Report,
                report.id.0,
                &Value::id(report.project.0),
                out,
            );
        },
        owner: |key, value| part_media_owner(key, value, RefKind::Report),
        disagreement: |key, _, _| {
            format!(
                "names daily report {}, which does not carry the file",
                keys::tail_u64(key)
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(project_part_key(org, self.project, self.id.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        of_project(org, self.project, out);
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        describe_part(Self::NOUN, self.id.0, self.project, org)
    }
}

impl Declared for ProjectEntry {
    const TABLE: Def = tables::PROJECT_ENTRIES;
    const NOUN: &'static str = "project entry";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("project_entry");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::MEDIA_REFS,
        since: 9,
        entries: |org, _, entry, out| {
            media_refs_valued(
                org,
                entry.proof,
                RefKind::Entry,
                entry.id.0,
                &Value::id(entry.project.0),
                out,
            );
        },
        owner: |key, value| part_media_owner(key, value, RefKind::Entry),
        disagreement: |key, _, _| {
            format!(
                "names project entry {}, which does not carry the file",
                keys::tail_u64(key)
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(project_part_key(org, self.project, self.id.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        of_project(org, self.project, out);
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        describe_part(Self::NOUN, self.id.0, self.project, org)
    }
}

impl Declared for EstimateLine {
    const TABLE: Def = tables::ESTIMATE_LINES;
    const NOUN: &'static str = "estimate line";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("estimate_line");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(project_part_key(org, self.project, self.id.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        of_project(org, self.project, out);
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        describe_part(Self::NOUN, self.id.0, self.project, org)
    }
}

impl Declared for ChangeRequest {
    const TABLE: Def = tables::CHANGE_REQUESTS;
    const NOUN: &'static str = "change request";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("change_request");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(project_part_key(org, self.project, self.id.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        of_project(org, self.project, out);
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        describe_part(Self::NOUN, self.id.0, self.project, org)
    }
}

impl Declared for ProjectEvent {
    const TABLE: Def = tables::PROJECT_EVENTS;
    const NOUN: &'static str = "project event";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("project_event");

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(project_part_key(org, self.project, self.id.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        of_project(org, self.project, out);
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        describe_part(Self::NOUN, self.id.0, self.project, org)
    }
}

impl Declared for ProjectDocument {
    const TABLE: Def = tables::PROJECT_DOCUMENTS;
    const NOUN: &'static str = "project document";
    const LAYOUT: Layout = Layout::OrgFields;
    const SEQUENCE: Option<&'static str> = Some("project_document");
    const INDEXES: &'static [Index<Self>] = &[Index {
        table: tables::MEDIA_REFS,
        since: 9,
        entries: |org, _, document, out| {
            media_refs_valued(
                org,
                Some(document.media),
                RefKind::Document,
                document.id.0,
                &Value::id(document.project.0),
                out,
            );
        },
        owner: |key, value| part_media_owner(key, value, RefKind::Document),
        disagreement: |key, _, _| {
            format!(
                "names project document {}, which does not carry the file",
                keys::tail_u64(key)
            )
        },
    }];

    fn id(&self) -> Option<u64> {
        Some(self.id.0)
    }

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(project_part_key(org, self.project, self.id.0))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        of_project(org, self.project, out);
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        describe_part(Self::NOUN, self.id.0, self.project, org)
    }
}
