//! `crm verify`'s check of the dashboard's aggregates (`analytics_days`, schema 8) against
//! the records they count: for each organization, the stored entries must equal what its
//! orders, token orders and customers call for, computed by the same functions the use
//! cases keep them with (`services::analytics::aggregates::expected`). An entry of an
//! organization that does not exist, or with a malformed key or value, is reported too.

use super::{Checker, EVERYTHING, chain};
use crate::Result;
use crate::model::Organization;
use crate::services::analytics::aggregates::{self, slot_of, value_of};
use crate::store::keys::{self, hex};
use crate::store::{View, codec, tables};

impl Checker<'_> {
    pub(super) fn check_analytics(&mut self) -> Result<()> {
        if self.schema < 8 {
            return Ok(());
        }
        let view = self.view;
        let mut malformed = Vec::new();
        view.scan(tables::ANALYTICS_DAYS, EVERYTHING, false, |key, value| {
            self.index_entries += 1;
            let org = (key.len() >= 8).then(|| keys::read_u64(key, 0));
            if slot_of(key).is_none() || value_of(value).is_none() {
                malformed.push(format!(
                    "analytics_days: entry {} is malformed ({}-byte key, {}-byte value)",
                    hex(key),
                    key.len(),
                    value.len()
                ));
            } else if let Some(org) = org.filter(|org| !self.pipelines.contains_key(org)) {
                malformed.push(format!(
                    "analytics_days: entry {} belongs to organization {org}, which does not exist",
                    hex(key)
                ));
            }
            Ok(true)
        })?;
        for problem in malformed {
            self.problem(problem);
        }
        let mut orgs: Vec<Organization> = Vec::new();
        view.scan(tables::ORGS, EVERYTHING, false, |key, value| {
            if let (8, Ok(org)) = (key.len(), codec::decode::<Organization>(value)) {
                orgs.push(org);
            }
            Ok(true)
        })?;
        for org in &orgs {
            match aggregates::problems(view, org) {
                Ok(problems) => {
                    for problem in problems {
                        self.problem(problem);
                    }
                }
                Err(error) => self.problem(format!(
                    "analytics_days: the aggregates of organization {} cannot be computed: {}",
                    org.id,
                    chain(&error)
                )),
            }
        }
        Ok(())
    }
}
