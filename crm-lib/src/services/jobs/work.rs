//! The work of the jobs declared in `super::JOBS`: audit cleanup, the daily report and
//! archiving closed conversations.

use std::ops::Bound;

use super::schedule::day_before;
use super::{ARCHIVE_BATCH, AUDIT_BATCH, Slot};
use crate::model::*;
use crate::services::load_org;
use crate::services::team::linked_staff_with;
use crate::store::declarations::order_count_key;
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Crm, Result, Tx, View};

impl Tx<'_> {
    /// Deletes up to `limit` audit entries of `org` recorded before `older_than`, oldest
    /// first, with their `audit_by_subject` entries (through the audit declaration). Audit
    /// ids grow with time, so what goes is a prefix of the organization's log: the scan stops
    /// at the first entry that must stay and reads at most `limit + 1` entries. The deleted
    /// count; call again until it is less than `limit`. Bookkeeping: no audit entry (it would
    /// be the log's newest, and deleting the log is what the organization's retention asks).
    ///
    /// # Errors
    /// Storage only (an undecodable audit entry included).
    pub(crate) fn prune_audit(
        &mut self,
        org: OrgId,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        let mut doomed: Vec<(Vec<u8>, AuditEntry)> = Vec::new();
        if limit == 0 {
            return Ok(0);
        }
        self.for_each_prefix(tables::AUDIT, &Key::org(org), |key, value| {
            let entry: AuditEntry = codec::decode(value)?;
            if entry.at >= older_than {
                return Ok(false);
            }
            doomed.push((key.to_vec(), entry));
            Ok(doomed.len() < limit)
        })?;
        for (key, entry) in &doomed {
            self.delete_record(&Key::empty().bytes(key), entry)?;
        }
        Ok(doomed.len() as u64)
    }
}

/// `audit_cleanup`: deletes the organization's audit entries older than its retention
/// (counted back from the slot), in batches of [`AUDIT_BATCH`] per write transaction.
/// Idempotent: a second run finds nothing more to delete.
pub(super) fn audit_cleanup(crm: &Crm, slot: &Slot) -> Result<String> {
    let days = i64::from(slot.settings.audit_retention_days);
    let older_than = slot.at.minus_days(days);
    let org = slot.org;
    let mut total = 0u64;
    loop {
        let deleted = crm.write(move |tx| tx.prune_audit(org, older_than, AUDIT_BATCH))?;
        total += deleted;
        if deleted < AUDIT_BATCH as u64 {
            break;
        }
    }
    Ok(format!(
        "deleted {total} audit entries older than {days} days"
    ))
}

/// `archive_conversations`: archives the organization's conversations closed more than its
/// `archive_after_days` before the slot (through [`Tx::archive_closed_conversations`]), in
/// batches of [`ARCHIVE_BATCH`] per write transaction. Idempotent: a second run finds
/// nothing more to archive.
pub(super) fn archive_conversations(crm: &Crm, slot: &Slot) -> Result<String> {
    let days = i64::from(slot.settings.archive_after_days);
    let older_than = slot.at.minus_days(days);
    let org = slot.org;
    let mut total = 0u64;
    loop {
        let archived =
            crm.write(move |tx| tx.archive_closed_conversations(org, older_than, ARCHIVE_BATCH))?;
        total += archived;
        if archived < ARCHIVE_BATCH as u64 {
            break;
        }
    }
    Ok(format!(
        "archived {total} conversations closed more than {days} days ago"
    ))
}

/// The summary of the organization's local day `[start, end)` from its audit log: orders
/// created or imported, moved to won and lost stages, messages in and out; and the open
/// orders per stage now. Reads the log backwards from its newest entry to the first one
/// before `start`.
pub(crate) fn summary_in(
    view: &impl View,
    org: &Organization,
    day: Date,
    start: Timestamp,
    end: Timestamp,
) -> Result<DailySummary> {
    let mut summary = DailySummary {
        day,
        new_orders: 0,
        won: 0,
        lost: 0,
        messages_in: 0,
        messages_out: 0,
        open_by_stage: Vec::new(),
    };
    let prefix = Key::org(org.id);
    let upper = keys::prefix_end(prefix.as_slice());
    let range = (
        Bound::Included(prefix.as_slice()),
        upper.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
    );
    let kind_of = |stage: StageId| org.pipeline.stage(stage).map(|stage| stage.kind);
    view.scan(tables::AUDIT, range, true, |_, value| {
        let entry: AuditEntry = codec::decode(value)?;
        if entry.at < start {
            return Ok(false);
        }
        if entry.at >= end {
            return Ok(true);
        }
        match (entry.action, &entry.detail) {
            (AuditAction::OrderCreated | AuditAction::OrderImported, _) => {
                summary.new_orders += 1;
            }
            (
                AuditAction::OrderStageChanged
                | AuditAction::OrderApproved
                | AuditAction::OrderRejected,
                AuditDetail::StageMove { to, .. },
            ) => match kind_of(*to) {
                Some(StageKind::Won) => summary.won += 1,
                Some(StageKind::Lost) => summary.lost += 1,
                _ => {}
            },
            (AuditAction::MessageReceived, _) => summary.messages_in += 1,
            (AuditAction::MessageSent, _) => summary.messages_out += 1,
            _ => {}
        }
        Ok(true)
    })?;
    for stage in &org.pipeline.stages {
        if stage.kind.is_terminal() {
            continue;
        }
        summary.open_by_stage.push(StageCount {
            stage: stage.id,
            name: stage.name.clone(),
            orders: view.counter(tables::ORDER_COUNTS, &order_count_key(org.id, stage.id))?,
        });
    }
    Ok(summary)
}

/// `daily_report`: yesterday's summary (the local day before the slot) to every active
/// staff user with `view_analytics` or `assign_orders` and a linked Telegram account, as a
/// notification the bot renders in their language. One transaction with the slot's finish.
pub(super) fn daily_report(tx: &mut Tx<'_>, slot: &Slot) -> Result<String> {
    let org = load_org(tx, slot.org)?;
    let (day, start, end) = day_before(slot.at, &slot.zone)?;
    let summary = summary_in(tx, &org, day, start, end)?;
    let mut managers = linked_staff_with(tx, slot.org, Permission::ViewAnalytics)?;
    for user in linked_staff_with(tx, slot.org, Permission::AssignOrders)? {
        if !managers.iter().any(|known| known.id == user.id) {
            managers.push(user);
        }
    }
    managers.sort_by_key(|user| user.id);
    for user in &managers {
        tx.enqueue(
            slot.org,
            Recipient::Staff(user.id),
            OutboxPayload::Notify(Event::DailyReport {
                summary: summary.clone(),
            }),
        )?;
    }
    Ok(format!(
        "report of {day} sent to {} managers: {} new, {} won, {} lost, {} messages in, {} out",
        managers.len(),
        summary.new_orders,
        summary.won,
        summary.lost,
        summary.messages_in,
        summary.messages_out
    ))
}
