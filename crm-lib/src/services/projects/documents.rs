//! A project's documents (issue 14; the renovation plan's contracts, estimates and plans):
//! staff with `manage_projects` attach a file with a title and remove one; whoever sees the
//! project reads the list, the client included (the Mini App shows it). The file is stored
//! like a report's media (content-addressed, at most [`crate::MEDIA_MAX_SIZE`]) and is
//! served by the media route to those who may see the project.

use crate::media::NewMedia;
use crate::model::*;
use crate::store::declarations::project_part_key;
use crate::store::{Key, ViewExt, tables};
use crate::webhooks::{WebhookEvent, emit};
use crate::{Crm, Error, Result, Tx, View};

use super::super::clean_text;
use super::{Access, TITLE_MAX_CHARS, refuse, visible_project};

/// The most documents one project holds.
pub const DOCUMENTS_MAX: usize = 100;
/// The longest file name of a document, in characters.
pub const DOCUMENT_FILE_NAME_MAX_CHARS: usize = 255;

/// A document to attach.
#[derive(Debug)]
pub struct NewDocument {
    /// What it is (`Contract`), 1-200 characters.
    pub title: String,
    /// The file's name as uploaded (`contract.pdf`), 1-255 characters; a path's folders are
    /// dropped.
    pub file_name: String,
    /// The file: a PDF, an image or an office document ([`DocumentKind::of_mime`]).
    pub file: NewMedia,
}

/// The documents of a project, oldest first.
fn documents_of(view: &impl View, org: OrgId, project: ProjectId) -> Result<Vec<ProjectDocument>> {
    view.records_with_prefix(tables::PROJECT_DOCUMENTS, &Key::org(org).u64(project.0))
}

/// A project as a manager sees it, for a document change: denied (naming
/// `manage_projects`) for workers and the client.
fn managed(view: &impl View, actor: &Actor, id: ProjectId, what: &str) -> Result<Project> {
    let (_, project, access) = visible_project(view, actor, id)?;
    if access != Access::Manager {
        return Err(refuse(access, &project, what));
    }
    Ok(project)
}

/// The file name without folders, trimmed, 1-255 characters.
fn clean_file_name(text: &str) -> Result<String> {
    let base = text.rsplit(['/', '\\']).next().unwrap_or_default();
    clean_text("file_name", base, 1, DOCUMENT_FILE_NAME_MAX_CHARS)
}

/// A project's documents as `actor` may see them, newest first: staff with
/// `manage_projects`, a worker put on the project, or the project's client
/// ([`Actor::customer`]; the Mini App's list). Reads one prefix of `project_documents`.
///
/// # Errors
/// Not found while the module is off, for an unknown project and one the actor may not see;
/// permission denied for staff without `manage_projects` or `report_projects`.
pub fn project_documents_in(
    view: &impl View,
    actor: &Actor,
    id: ProjectId,
) -> Result<Vec<ProjectDocument>> {
    visible_project(view, actor, id)?;
    let mut documents = documents_of(view, actor.org, id)?;
    documents.reverse();
    Ok(documents)
}

impl Tx<'_> {
    /// Attaches a document to a project: the file is stored (content-addressed, like a
    /// report's media) and named by the record. Needs `manage_projects`; any state of the
    /// project. Audited (`project.document_added`); webhooks get `project.document_added`.
    ///
    /// # Errors
    /// Not found; permission denied; invalid input on `title`, `file_name` or `file` (not a
    /// PDF, an image or an office document); conflict when the project holds
    /// [`DOCUMENTS_MAX`] already.
    pub fn add_project_document(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        new: NewDocument,
    ) -> Result<ProjectDocument> {
        let project = managed(self, actor, id, "attaching a document")?;
        let title = clean_text("title", &new.title, 1, TITLE_MAX_CHARS)?;
        let file_name = clean_file_name(&new.file_name)?;
        let kind = DocumentKind::of_mime(new.file.mime()).ok_or_else(|| {
            Error::invalid(
                "file",
                format!(
                    "{} is not a PDF, an image or an office document",
                    new.file.mime()
                ),
            )
        })?;
        let count = documents_of(self, actor.org, id)?.len();
        if count >= DOCUMENTS_MAX {
            return Err(Error::conflict(format!(
                "project {id} holds {count} documents, the most it may: remove one first"
            )));
        }
        let media = self.store_new_media(actor.org, &new.file)?;
        let document = ProjectDocument {
            id: ProjectDocumentId(self.next_id(actor.org, "project_document")?),
            project: id,
            title,
            file_name,
            kind,
            mime: media.mime.clone(),
            size: media.size,
            media: media.hash,
            added_by: actor.who,
            added_at: self.now(),
        };
        self.insert_record(&project_part_key(actor.org, id, document.id.0), &document)?;
        self.audit(
            actor,
            AuditAction::ProjectDocumentAdded,
            Subject::Project(id),
            AuditDetail::Text(format!(
                "document {} {:?}: {} ({}, {} bytes)",
                document.id,
                document.title,
                document.file_name,
                kind.as_str(),
                document.size
            )),
        )?;
        emit(
            self,
            actor.org,
            WebhookEvent::ProjectDocumentAdded {
                project: id,
                client: project.client,
                document: document.id,
                title: document.title.clone(),
                file_name: document.file_name.clone(),
                kind,
                size: document.size,
            },
        )?;
        self.changed(actor.org, Subject::Project(id), ChangeKind::Updated)?;
        Ok(document)
    }

    /// Removes a document from a project (the file stays while anything else refers to it;
    /// retention deletes it later otherwise). Needs `manage_projects`. Audited
    /// (`project.document_removed`).
    ///
    /// # Errors
    /// Not found (the project, or a document not of it); permission denied.
    pub fn remove_project_document(
        &mut self,
        actor: &Actor,
        id: ProjectId,
        document: ProjectDocumentId,
    ) -> Result<ProjectDocument> {
        managed(self, actor, id, "removing a document")?;
        let key = project_part_key(actor.org, id, document.0);
        let old: ProjectDocument = self
            .get(tables::PROJECT_DOCUMENTS, &key)?
            .ok_or_else(|| Error::not_found(ProjectDocumentId::LABEL, document))?;
        self.delete_record(&key, &old)?;
        self.audit(
            actor,
            AuditAction::ProjectDocumentRemoved,
            Subject::Project(id),
            AuditDetail::Text(format!(
                "document {} {:?}: {}",
                old.id, old.title, old.file_name
            )),
        )?;
        self.changed(actor.org, Subject::Project(id), ChangeKind::Updated)?;
        Ok(old)
    }
}

impl Crm {
    /// See [`Tx::add_project_document`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// As [`Tx::add_project_document`]; storage.
    pub fn add_project_document(
        &self,
        actor: &Actor,
        id: ProjectId,
        new: NewDocument,
    ) -> Result<ProjectDocument> {
        let actor = actor.clone();
        self.write(move |tx| tx.add_project_document(&actor, id, new))
    }

    /// See [`Tx::remove_project_document`]. Blocks until the commit is durable.
    ///
    /// # Errors
    /// As [`Tx::remove_project_document`]; storage.
    pub fn remove_project_document(
        &self,
        actor: &Actor,
        id: ProjectId,
        document: ProjectDocumentId,
    ) -> Result<ProjectDocument> {
        let actor = actor.clone();
        self.write(move |tx| tx.remove_project_document(&actor, id, document))
    }

    /// See [`project_documents_in`]; one read snapshot.
    ///
    /// # Errors
    /// As [`project_documents_in`]; storage.
    pub fn project_documents(&self, actor: &Actor, id: ProjectId) -> Result<Vec<ProjectDocument>> {
        self.read(|view| project_documents_in(view, actor, id))
    }
}
