//! Archiving closed conversations (issue 11, the `archive_conversations` job): a closed
//! conversation older than the organization's `archive_after_days` leaves the inbox's working
//! lists (`queue_closed`, the inbox's customer list) and stays reachable under "Archived"
//! (`queue_archived`), its conversation and timeline pages unchanged. Reopening it, or a
//! customer message, makes it a working conversation again (see `queue.rs`). Statistics
//! count it as the closed conversation it is.

use crate::model::*;
use crate::store::{Key, ViewExt, keys, tables};
use crate::{Result, Tx, View};

use super::module_on;
use super::queue::{load_item, subject_of, update_item};
use crate::services::load_org;

impl Tx<'_> {
    /// Archives up to `limit` closed conversations (never tickets) of `org` closed before
    /// `older_than`, oldest closed first: one range read of `queue_closed` (which holds only
    /// the closed items not yet archived), stopping at the first item closed at or after
    /// `older_than` (closed tickets on the way are read and left: they stay closed working
    /// items). Each archived conversation gets `archived_at = now` (leaving
    /// `queue_closed` for `queue_archived`) and a change-feed entry of its conversation; the
    /// batch writes one audit entry (`conversation.archived`, the system, the count). Returns
    /// how many were archived; call again until it is less than `limit`. Idempotent: what is
    /// archived is no longer in `queue_closed`, so a second call archives nothing and writes
    /// nothing. Does nothing (0) while the operators module is off or `limit` is 0. A system
    /// use case (the job), not offered to people.
    ///
    /// # Errors
    /// Not found for an unknown organization; storage (an undecodable item included).
    pub fn archive_closed_conversations(
        &mut self,
        org: OrgId,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        let record = load_org(self, org)?;
        if !module_on(&record) || limit == 0 {
            return Ok(0);
        }
        let mut doomed: Vec<QueueItem> = Vec::new();
        let this = &*self;
        this.for_each_prefix(tables::QUEUE_CLOSED, &Key::org(org), |key, _| {
            if keys::read_i64(key, 8) >= older_than.millis() {
                return Ok(false);
            }
            let item = load_item(this, org, QueueItemId(keys::tail_u64(key)))?;
            if let QueueSubject::Conversation(_) = item.subject {
                doomed.push(item);
            }
            Ok(doomed.len() < limit)
        })?;
        let now = self.now();
        for item in &doomed {
            let mut after = item.clone();
            after.archived_at = Some(now);
            update_item(self, org, item, &after)?;
            self.changed(org, subject_of(item), ChangeKind::Updated)?;
        }
        let count = doomed.len() as u64;
        if count > 0 {
            self.audit(
                &Actor::system(org),
                AuditAction::ConversationsArchived,
                Subject::Organization,
                AuditDetail::Text(format!(
                    "{count} closed conversations closed before {}",
                    older_than.to_rfc3339()
                )),
            )?;
        }
        Ok(count)
    }
}
