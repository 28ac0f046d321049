//! The declarations of the satisfaction surveys (`services::csat`) and their settings.

use super::owner_by_tail;
use crate::model::*;
use crate::store::indexes::{Declared, Index, Layout, Reference, Value};
use crate::store::keys::Key;
use crate::store::tables::{self, Def};

/// The key of an order's survey in `csat_surveys`.
pub(crate) fn csat_key(org: OrgId, order: OrderId) -> Key {
    Key::org(org).u64(order.0)
}

/// What a survey's index entry disagrees with.
fn survey_disagreement(_: &[u8], _: &[u8], survey: &CsatSurvey) -> String {
    format!(
        "disagrees with the survey of order {} (customer {}, rated at {:?})",
        survey.order, survey.customer, survey.rated_at
    )
}

impl Declared for CsatSurvey {
    const TABLE: Def = tables::CSAT_SURVEYS;
    const NOUN: &'static str = "csat survey";
    const LAYOUT: Layout = Layout::OrgFields;
    const INDEXES: &'static [Index<Self>] = &[
        Index {
            table: tables::CSAT_BY_TIME,
            since: 7,
            entries: |org, _, survey, out| {
                if let (Some(_), Some(at)) = (survey.rating, survey.rated_at) {
                    out.push((Key::org(org).i64(at.0).u64(survey.order.0), Value::Empty));
                }
            },
            owner: owner_by_tail,
            disagreement: survey_disagreement,
        },
        Index {
            table: tables::CSAT_BY_CUSTOMER,
            since: 7,
            entries: |org, _, survey, out| {
                out.push((
                    Key::org(org).u64(survey.customer.0).u64(survey.order.0),
                    Value::Empty,
                ));
            },
            owner: owner_by_tail,
            disagreement: survey_disagreement,
        },
    ];

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(csat_key(org, self.order))
    }

    fn references(&self, org: OrgId, out: &mut Vec<Reference>) {
        out.push(Reference::new(
            "is the survey of order",
            tables::ORDERS,
            org,
            self.order.0,
        ));
        out.push(Reference::new(
            "asks customer",
            tables::CUSTOMERS,
            org,
            self.customer.0,
        ));
        if let Some(user) = self.operator {
            out.push(Reference::new("rates operator", tables::USERS, org, user.0));
        }
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!(
            "the csat survey of order {} of organization {org}",
            self.order
        )
    }
}

impl Declared for CsatSettings {
    const TABLE: Def = tables::CSAT_SETTINGS;
    const NOUN: &'static str = "csat settings";
    const LAYOUT: Layout = Layout::OrgFields;

    fn key(&self, org: OrgId) -> Option<Key> {
        Some(Key::org(org))
    }

    fn describe(&self, org: OrgId, _: &[u8]) -> String {
        format!("the csat settings of organization {org}")
    }
}
