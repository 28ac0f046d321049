//! Retention: processed inbox items and finished outbox items are deleted once they are old
//! enough that nobody needs them (a busy bot adds millions of each), and stored files that no
//! message or order refers to once their grace period is over. A pruned outbox item takes
//! along what only it made useful: a staff notice's reply record and a forum topic message's
//! origin mark (`staff_chat::on_outbox_pruned`). The appliance runs
//! [`System::prune_inbox`](crate::system::System::prune_inbox), [`System::prune_outbox`](crate::system::System::prune_outbox) and [`System::prune_media`](crate::system::System::prune_media) from a background job with
//! the default ages [`INBOX_RETENTION_DAYS`], [`OUTBOX_RETENTION_DAYS`] and
//! [`MEDIA_GRACE_HOURS`].
//!
//! # Unreferenced files
//!
//! A file may be stored before anything refers to it: an upload through the API waits for
//! the message that sends it, and the bot stores a customer's file before the update is
//! handled. Such a file is kept for [`MEDIA_GRACE_HOURS`] after it was stored, then deleted
//! if still no entry of `MEDIA_REFS` names it. Files are keyed by hash, not time, so
//! [`System::prune_media`](crate::system::System::prune_media) walks the file table in key order a bounded batch at a time, with a
//! cursor, rather than stopping at the first file that must stay.
//!
//! # How items are found
//!
//! Both methods scan the organization's records in key order, oldest first, and stop at the
//! first item that must stay (still pending, or too new). No "finished by time" index is kept:
//!
//! - inbox keys are Telegram's `update_id`s and outbox keys are our own ids, both growing with
//!   time, and the bot processes updates (and the delivery job finishes outbox items) roughly
//!   in that order, so what is old enough to go is a prefix of the key order;
//! - deleted items leave the front of the table, so each call starts at the oldest remaining
//!   item and reads at most `limit + 1` records per organization, however large the table;
//! - an index would cost a write on every delivery and, for the items already in existing
//!   files (5.4 million outbox items in the 1M-order bench file), a migration to backfill it.
//!
//! The price is that an item stuck ahead of others holds them back: a pending update or outbox
//! item, or an outbox item delivered late. That delay is bounded, because updates and outbox
//! items are finished within hours (the bot gives an update up after a few attempts, the
//! delivery job an outbox item after 30) and an item finished late only holds back items
//! created after it.
//!
//! # Repeated updates after pruning
//!
//! [`System::inbox_put`](crate::system::System::inbox_put) recognises a repeated `update_id` by finding it in the inbox. Once the
//! update is pruned that no longer works, so pruning records a per-organization high-water
//! mark: the newest pruned `update_id` and when it was received (two entries of the
//! `sequences` table, `inbox_pruned_through` and `inbox_pruned_received_at`). Pruning
//! always removes a prefix of the key order, so every update at or below the mark was seen,
//! and [`System::inbox_put`](crate::system::System::inbox_put) treats such an id as a repeat.
//!
//! Only for a while, though: Telegram keeps an update at most 24 hours, so it cannot deliver
//! one again after that; and after a week without updates it starts numbering at a random
//! value, which may lie below the mark. Treating those as repeats forever would make the bot
//! deaf, so the mark only counts for [`REDELIVERY_WINDOW_MS`] after the marked update arrived.

use crate::model::{InboxItem, InboxState, Media, OrgId, OutboxItem, OutboxState, Timestamp};
use crate::store::{Key, ViewExt, codec, keys, tables};
use crate::{Error, Result, Tx, View};

/// Days a processed inbox item is kept after it was received (the default of the appliance's
/// retention job). An update is processed within seconds of arriving, so this is in effect
/// the time after processing; inbox items record no processing time of their own.
pub const INBOX_RETENTION_DAYS: i64 = 7;

/// Days a delivered or failed outbox item is kept after delivery (or, for a failed item,
/// after it was created; a failure records no time) (the default of the appliance's retention
/// job).
pub const OUTBOX_RETENTION_DAYS: i64 = 30;

/// Days a change of the change feed is kept: a live stream that reconnects after longer
/// reloads its page instead of replaying (the default of the appliance's retention job).
pub const CHANGE_RETENTION_DAYS: i64 = 2;

/// Hours a stored file that no message or order refers to is kept after it was stored (or
/// handed in again): the time between an upload (`POST /api/v1/media`) and the message that
/// sends it. A day, so that a client that uploads and then waits out a restart or a night
/// still finds its file.
pub const MEDIA_GRACE_HOURS: i64 = 24;

/// How long after the newest pruned update arrived an `update_id` at or below it still counts
/// as a repeat, in milliseconds: two days, twice the 24 hours Telegram keeps an update, for
/// clock error.
pub const REDELIVERY_WINDOW_MS: i64 = 2 * 86_400_000;

/// Name of the `sequences` entry holding the newest pruned `update_id` of an organization.
pub(crate) const INBOX_PRUNED_THROUGH: &str = "inbox_pruned_through";

/// Name of the `sequences` entry holding when that update was received (i64 ms, big-endian).
pub(crate) const INBOX_PRUNED_RECEIVED_AT: &str = "inbox_pruned_received_at";

/// The newest pruned update of an organization: its `update_id` and when it was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PrunedMark {
    pub(crate) update_id: u64,
    pub(crate) received_at: Timestamp,
}

fn mark_key(org: OrgId, name: &str) -> Key {
    Key::org(org).bytes(name.as_bytes())
}

/// The organization's pruning mark, if its inbox was ever pruned.
pub(crate) fn pruned_mark_in(view: &impl View, org: OrgId) -> Result<Option<PrunedMark>> {
    let read = |name: &str| {
        view.get_raw(tables::SEQUENCES, mark_key(org, name).as_slice(), |bytes| {
            Ok(keys::read_u64(bytes, 0))
        })
    };
    let Some(update_id) = read(INBOX_PRUNED_THROUGH)? else {
        return Ok(None);
    };
    // The two entries are written together; a missing time reads as "long ago", so the mark
    // then no longer refuses anything (the safe side: Telegram cannot repeat old updates).
    let received_at = read(INBOX_PRUNED_RECEIVED_AT)?.map_or(i64::MIN, |bits| bits as i64);
    Ok(Some(PrunedMark {
        update_id,
        received_at: Timestamp(received_at),
    }))
}

/// Whether `update_id` arriving at `now` is a repeat of a pruned update (see the module doc).
pub(crate) fn is_pruned_repeat(mark: Option<PrunedMark>, update_id: u64, now: Timestamp) -> bool {
    mark.is_some_and(|mark| {
        update_id <= mark.update_id && now < mark.received_at.plus_millis(REDELIVERY_WINDOW_MS)
    })
}

/// The organizations to prune: `org`, or every organization.
pub(crate) fn orgs_to_prune(view: &impl View, org: Option<OrgId>) -> Result<Vec<OrgId>> {
    match org {
        Some(org) => Ok(vec![org]),
        None => Ok(view
            .keys_with_prefix(tables::ORGS, &Key::empty(), None, false, usize::MAX)?
            .iter()
            .map(|key| OrgId(keys::read_u64(key, 0)))
            .collect()),
    }
}

/// The moment an outbox item stopped mattering, or `None` while it is pending.
fn outbox_final_time(item: &OutboxItem) -> Option<Timestamp> {
    match item.state {
        OutboxState::Pending | OutboxState::Sending { .. } => None,
        OutboxState::Delivered { at, .. } => Some(at),
        OutboxState::Failed { .. } => Some(item.created_at),
    }
}

impl Tx<'_> {
    /// Deletes processed inbox items received before `older_than`, oldest `update_id` first,
    /// at most `limit` of them, of `org` or (with `None`) of every organization. Pending
    /// updates are never deleted: the scan of an organization stops at the first pending or
    /// too new item (see the module doc for why no index is needed). Records the newest
    /// deleted update per organization, so that [`System::inbox_put`](crate::system::System::inbox_put) still recognises it when
    /// Telegram sends it again. Call it again until it returns less than `limit`.
    ///
    /// Runs in this transaction; reads at most `limit + 1` inbox records per organization. No
    /// audit entry: retention is bookkeeping, not a change anyone made.
    ///
    /// # Errors
    /// Storage only (an undecodable inbox record included).
    pub(crate) fn prune_inbox(
        &mut self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        let mut pruned = 0u64;
        let mut left = limit;
        for org in orgs_to_prune(self, org)? {
            if left == 0 {
                break;
            }
            let mut doomed: Vec<(Vec<u8>, PrunedMark)> = Vec::new();
            self.for_each_prefix(tables::INBOX, &Key::org(org), |key, value| {
                let item: InboxItem = codec::decode(value)?;
                if item.state != InboxState::Done || item.received_at >= older_than {
                    return Ok(false);
                }
                doomed.push((
                    key.to_vec(),
                    PrunedMark {
                        update_id: item.update_id,
                        received_at: item.received_at,
                    },
                ));
                Ok(doomed.len() < left)
            })?;
            let Some(&(_, newest)) = doomed.last() else {
                continue;
            };
            for (key, _) in &doomed {
                self.remove(tables::INBOX, &Key::empty().bytes(key))?;
            }
            self.put_raw(
                tables::SEQUENCES,
                mark_key(org, INBOX_PRUNED_THROUGH).as_slice(),
                &newest.update_id.to_be_bytes(),
            )?;
            self.put_raw(
                tables::SEQUENCES,
                mark_key(org, INBOX_PRUNED_RECEIVED_AT).as_slice(),
                &newest.received_at.0.to_be_bytes(),
            )?;
            left -= doomed.len();
            pruned += doomed.len() as u64;
        }
        Ok(pruned)
    }

    /// Deletes delivered and failed outbox items that finished before `older_than` (delivered:
    /// at their delivery time; failed: at their creation time, as a failure records no time),
    /// oldest id first, at most `limit` of them, of `org` or (with `None`) of every
    /// organization. Pending items are never deleted: the scan of an organization stops at
    /// the first pending or too new item (see the module doc). Call it again until it returns
    /// less than `limit`.
    ///
    /// Runs in this transaction; reads at most `limit + 1` outbox records per organization. No
    /// audit entry.
    ///
    /// # Errors
    /// Storage only (an undecodable outbox record included).
    pub(crate) fn prune_outbox(
        &mut self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        let mut pruned = 0u64;
        let mut left = limit;
        for org in orgs_to_prune(self, org)? {
            if left == 0 {
                break;
            }
            let mut doomed: Vec<(Vec<u8>, OutboxItem)> = Vec::new();
            self.for_each_prefix(tables::OUTBOX, &Key::org(org), |key, value| {
                let item: OutboxItem = codec::decode(value)?;
                match outbox_final_time(&item) {
                    Some(at) if at < older_than => {
                        doomed.push((key.to_vec(), item));
                        Ok(doomed.len() < left)
                    }
                    _ => Ok(false),
                }
            })?;
            for (key, item) in &doomed {
                self.remove(tables::OUTBOX, &Key::empty().bytes(key))?;
                super::staff_chat::on_outbox_pruned(self, org, item)?;
            }
            left -= doomed.len();
            pruned += doomed.len() as u64;
        }
        Ok(pruned)
    }
}

impl Tx<'_> {
    /// Deletes up to `limit` changes of the change feed recorded before `older_than`, oldest
    /// first, in `org` or (with `None`) every organization. Change ids grow with time, so what
    /// goes is a prefix of each organization's feed. Reads at most `limit + 1` changes per
    /// organization; no audit entry.
    ///
    /// # Errors
    /// Storage only.
    pub(crate) fn prune_changes(
        &mut self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        let mut pruned = 0u64;
        let mut left = limit;
        for org in orgs_to_prune(self, org)? {
            if left == 0 {
                break;
            }
            let mut doomed: Vec<Vec<u8>> = Vec::new();
            self.for_each_prefix(tables::CHANGES, &Key::org(org), |key, value| {
                let change: crate::model::Change = codec::decode(value)?;
                if change.at < older_than {
                    doomed.push(key.to_vec());
                    Ok(doomed.len() < left)
                } else {
                    Ok(false)
                }
            })?;
            for key in &doomed {
                self.remove(tables::CHANGES, &Key::empty().bytes(key))?;
            }
            left -= doomed.len();
            pruned += doomed.len() as u64;
        }
        Ok(pruned)
    }
}

/// Where a walk of the file table stopped: the key of the last file looked at (an
/// organization id and a hash). Opaque; pass it to the next [`System::prune_media`](crate::system::System::prune_media) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCursor(Vec<u8>);

/// What one [`System::prune_media`](crate::system::System::prune_media) call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPruned {
    /// Files deleted, with their chunks.
    pub deleted: u64,
    /// Where to go on, or `None` when the walk reached the end of the table.
    pub next: Option<MediaCursor>,
}

impl Tx<'_> {
    /// Looks at up to `limit` stored files after `after` (from the start with `None`), in key
    /// order, of `org` or (with `None`) of every organization, and deletes each that was
    /// stored before `older_than` and that no message or order refers to (no entry in
    /// `MEDIA_REFS`), with its chunks. Call it again with the returned cursor until that is
    /// `None`. Files with references are never touched, so `crm verify` stays clean.
    ///
    /// Runs in this transaction; reads at most `limit` file records, their reference
    /// prefixes, and the chunks of the files it deletes (at most 80 each). No audit entry:
    /// retention is bookkeeping, not a change anyone made.
    ///
    /// # Errors
    /// Storage only (an undecodable file record included).
    pub(crate) fn prune_media(
        &mut self,
        org: Option<OrgId>,
        older_than: Timestamp,
        after: Option<&MediaCursor>,
        limit: usize,
    ) -> Result<MediaPruned> {
        let prefix = org.map_or_else(Key::empty, Key::org);
        let keys = self.keys_with_prefix(
            tables::MEDIA,
            &prefix,
            after.map(|cursor| cursor.0.as_slice()),
            false,
            limit,
        )?;
        let mut deleted = 0;
        for key in &keys {
            let file_key = Key::empty().bytes(key);
            let media: Media = self
                .get(tables::MEDIA, &file_key)?
                .ok_or_else(|| Error::corrupt("a media key vanished during retention"))?;
            if media.created_at >= older_than
                || !self
                    .keys_with_prefix(tables::MEDIA_REFS, &file_key, None, false, 1)?
                    .is_empty()
            {
                continue;
            }
            let chunks =
                self.keys_with_prefix(tables::MEDIA_CHUNKS, &file_key, None, false, usize::MAX)?;
            for chunk in &chunks {
                self.remove(tables::MEDIA_CHUNKS, &Key::empty().bytes(chunk))?;
            }
            self.remove(tables::MEDIA, &file_key)?;
            deleted += 1;
        }
        let next = if keys.len() < limit {
            None
        } else {
            keys.last().cloned().map(MediaCursor)
        };
        Ok(MediaPruned { deleted, next })
    }
}

impl crate::system::System<'_> {
    /// Deletes up to `limit` changes of the change feed recorded before `older_than`, oldest
    /// first, in `org` or (with `None`) every organization. Change ids grow with time, so what
    /// goes is a prefix of each organization's feed. Reads at most `limit + 1` changes per
    /// organization; no audit entry.
    ///
    /// # Errors
    /// Storage only.
    ///
    /// One write transaction of its own; blocks until it is durable.
    pub fn prune_changes(
        &self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        self.crm
            .write(move |tx| tx.prune_changes(org, older_than, limit))
    }

    /// Looks at up to `limit` stored files after `after` (from the start with `None`), in key
    /// order, of `org` or (with `None`) of every organization, and deletes each that was
    /// stored before `older_than` and that no message or order refers to (no entry in
    /// `MEDIA_REFS`), with its chunks. Call it again with the returned cursor until that is
    /// `None`. Files with references are never touched, so `crm verify` stays clean.
    ///
    /// Runs in this transaction; reads at most `limit` file records, their reference
    /// prefixes, and the chunks of the files it deletes (at most 80 each). No audit entry:
    /// retention is bookkeeping, not a change anyone made.
    ///
    /// # Errors
    /// Storage only (an undecodable file record included).
    ///
    /// One write transaction of its own; blocks until it is durable.
    pub fn prune_media(
        &self,
        org: Option<OrgId>,
        older_than: Timestamp,
        after: Option<&MediaCursor>,
        limit: usize,
    ) -> Result<MediaPruned> {
        let after = after.cloned();
        self.crm
            .write(move |tx| tx.prune_media(org, older_than, after.as_ref(), limit))
    }

    /// Deletes processed inbox items received before `older_than`, oldest `update_id` first,
    /// at most `limit` of them, of `org` or (with `None`) of every organization. Pending
    /// updates are never deleted: the scan of an organization stops at the first pending or
    /// too new item (see the module doc for why no index is needed). Records the newest
    /// deleted update per organization, so that [`System::inbox_put`](crate::system::System::inbox_put) still recognises it when
    /// Telegram sends it again. Call it again until it returns less than `limit`.
    ///
    /// Runs in this transaction; reads at most `limit + 1` inbox records per organization. No
    /// audit entry: retention is bookkeeping, not a change anyone made.
    ///
    /// # Errors
    /// Storage only (an undecodable inbox record included).
    ///
    /// One write transaction of its own; blocks until it is durable.
    pub fn prune_inbox(
        &self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        self.crm
            .write(move |tx| tx.prune_inbox(org, older_than, limit))
    }

    /// Deletes delivered and failed outbox items that finished before `older_than` (delivered:
    /// at their delivery time; failed: at their creation time, as a failure records no time),
    /// oldest id first, at most `limit` of them, of `org` or (with `None`) of every
    /// organization. Pending items are never deleted: the scan of an organization stops at
    /// the first pending or too new item (see the module doc). Call it again until it returns
    /// less than `limit`.
    ///
    /// Runs in this transaction; reads at most `limit + 1` outbox records per organization. No
    /// audit entry.
    ///
    /// # Errors
    /// Storage only (an undecodable outbox record included).
    ///
    /// One write transaction of its own; blocks until it is durable.
    pub fn prune_outbox(
        &self,
        org: Option<OrgId>,
        older_than: Timestamp,
        limit: usize,
    ) -> Result<u64> {
        self.crm
            .write(move |tx| tx.prune_outbox(org, older_than, limit))
    }
}

#[cfg(test)]
mod tests {
    //! The repeat window needs a moved clock, which only the crate itself can set.

    use super::*;

    #[test]
    fn a_pruned_update_id_is_a_repeat_only_within_the_redelivery_window() {
        let mark = Some(PrunedMark {
            update_id: 100,
            received_at: Timestamp(1_000_000),
        });
        let soon = Timestamp(1_000_000 + 3_600_000);
        let much_later = Timestamp(1_000_000 + 8 * 86_400_000);
        assert!(is_pruned_repeat(mark, 100, soon));
        assert!(is_pruned_repeat(mark, 7, soon));
        assert!(!is_pruned_repeat(mark, 101, soon));
        // A week of silence: Telegram numbers from a random value, possibly below the mark.
        assert!(!is_pruned_repeat(mark, 7, much_later));
        assert!(!is_pruned_repeat(None, 7, soon));
    }
}
