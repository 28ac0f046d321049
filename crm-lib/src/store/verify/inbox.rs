//! `crm verify`'s check of the inbox's projection against its sources: every customer has a
//! conversation row, and every row equals what its customer, messages and queue item say
//! (the same function the use cases write rows with, `services::inbox::rows`). The row's own
//! state (open, snoozed, closed) is taken as stored; its indexes are checked with every
//! declared index.

use super::{Checker, EVERYTHING, chain};
use crate::Result;
use crate::model::{ConversationRow, CustomerId, OrgId};
use crate::services::inbox::rows::row_problem;
use crate::store::codec;
use crate::store::declarations::conversation_row_key;
use crate::store::keys::{self};
use crate::store::{View, ViewExt, tables};

impl Checker<'_> {
    pub(super) fn check_conversation_rows(&mut self) -> Result<()> {
        if self.schema < 7 {
            return Ok(());
        }
        let view = self.view;
        let mut rows: Vec<(OrgId, ConversationRow)> = Vec::new();
        view.scan(
            tables::CONVERSATION_ROWS,
            EVERYTHING,
            false,
            |key, value| {
                if key.len() >= 8
                    && let Ok(row) = codec::decode::<ConversationRow>(value)
                {
                    rows.push((OrgId(keys::read_u64(key, 0)), row));
                }
                Ok(true)
            },
        )?;
        for (org, row) in &rows {
            match row_problem(view, *org, row) {
                Ok(Some(problem)) => self.problem(format!(
                    "conversation_rows: the row of customer {} of organization {org} {problem}",
                    row.customer
                )),
                Ok(None) => {}
                Err(error) => self.problem(format!(
                    "conversation_rows: the row of customer {} of organization {org}: {}",
                    row.customer,
                    chain(&error)
                )),
            }
        }
        let mut customers: Vec<(OrgId, CustomerId)> = Vec::new();
        view.scan(tables::CUSTOMERS, EVERYTHING, false, |key, _| {
            if key.len() == 16 {
                customers.push((
                    OrgId(keys::read_u64(key, 0)),
                    CustomerId(keys::tail_u64(key)),
                ));
            }
            Ok(true)
        })?;
        for (org, customer) in customers {
            if !view.exists(
                tables::CONVERSATION_ROWS,
                &conversation_row_key(org, customer),
            )? {
                self.problem(format!(
                    "conversation_rows: customer {customer} of organization {org} has no conversation row"
                ));
            }
        }
        Ok(())
    }
}
