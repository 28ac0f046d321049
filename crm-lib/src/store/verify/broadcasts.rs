//! `crm verify`'s check of broadcasts (issue 13): each broadcast's delivery report (its
//! counts) equals the tally of its recipients' states, and a broadcast that never started has
//! no recipients. The recipients' keys, organizations and broadcasts, and the index of active
//! broadcasts, are checked with every declared table.

use std::collections::BTreeMap;

use super::{Checker, EVERYTHING};
use crate::Result;
use crate::model::{
    Broadcast, BroadcastCounts, BroadcastId, BroadcastRecipient, OrgId, RecipientState,
};
use crate::store::codec;
use crate::store::keys;
use crate::store::{View, tables};

fn tally(counts: &mut BroadcastCounts, state: &RecipientState) {
    counts.recipients += 1;
    match state {
        RecipientState::Pending => counts.pending += 1,
        RecipientState::Queued(_) => counts.queued += 1,
        RecipientState::Sent { .. } => counts.sent += 1,
        RecipientState::Failed { .. } => counts.failed += 1,
        RecipientState::Blocked => counts.blocked += 1,
        RecipientState::Skipped => counts.skipped += 1,
    }
}

impl Checker<'_> {
    pub(super) fn check_broadcasts(&mut self) -> Result<()> {
        let view = self.view;
        let mut tallies: BTreeMap<(OrgId, BroadcastId), BroadcastCounts> = BTreeMap::new();
        view.scan(
            tables::BROADCAST_RECIPIENTS,
            EVERYTHING,
            false,
            |key, value| {
                if key.len() == 24
                    && let Ok(recipient) = codec::decode::<BroadcastRecipient>(value)
                {
                    let org = OrgId(keys::read_u64(key, 0));
                    tally(
                        tallies.entry((org, recipient.broadcast)).or_default(),
                        &recipient.state,
                    );
                }
                Ok(true)
            },
        )?;
        let mut problems = Vec::new();
        view.scan(tables::BROADCASTS, EVERYTHING, false, |key, value| {
            if key.len() != 16 {
                return Ok(true);
            }
            let Ok(broadcast) = codec::decode::<Broadcast>(value) else {
                return Ok(true);
            };
            let org = OrgId(keys::read_u64(key, 0));
            let tally = tallies.remove(&(org, broadcast.id)).unwrap_or_default();
            if tally != broadcast.counts {
                problems.push(format!(
                    "broadcasts: the report of broadcast {} of organization {org} says {:?}, but its recipients add up to {:?}",
                    broadcast.id, broadcast.counts, tally
                ));
            }
            Ok(true)
        })?;
        for problem in problems {
            self.problem(problem);
        }
        Ok(())
    }
}
