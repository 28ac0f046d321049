//! What a project's counters must be (the module's money rules), recomputed from its records:
//! what `crm verify` compares with the stored [`ProjectTotals`] and each stage's `planned`
//! and `spent`.

use std::collections::BTreeMap;

use crate::model::*;
use crate::store::{Key, ViewExt, tables};
use crate::{Result, View};

use super::progress_of;

/// A project's counters as its records add them up, with each stage's planned and spent
/// sums, and the parts that name a stage the project lacks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The project's counters.
    pub(crate) totals: ProjectTotals,
    /// Each stage's (planned, spent), by stage.
    pub(crate) stages: BTreeMap<ProjectStageId, (Money, Money)>,
    /// Problems of the parts themselves (a report, entry or line on a stage that is not the
    /// project's), as sentences.
    pub(crate) problems: Vec<String>,
}

/// Recomputes the counters of project `id` of `org` from its stages, reports, entries,
/// estimate lines and change requests (a prefix scan of each).
pub(crate) fn expected(view: &impl View, org: OrgId, id: ProjectId) -> Result<Expected> {
    let prefix = Key::org(org).u64(id.0);
    let mut expected = Expected::default();
    let mut stages: Vec<ProjectStage> =
        view.records_with_prefix(tables::PROJECT_STAGES, &prefix)?;
    for stage in &stages {
        expected.stages.insert(stage.id, (Money(0), Money(0)));
    }
    expected.totals.stages = u32::try_from(stages.len()).unwrap_or(u32::MAX);
    let on_stage = |expected: &mut Expected, stage: ProjectStageId, what: String| {
        if !expected.stages.contains_key(&stage) {
            expected
                .problems
                .push(format!("{what} of project {id} of organization {org} is on stage {stage}, which the project lacks"));
            false
        } else {
            true
        }
    };
    for line in view.records_with_prefix::<EstimateLine>(tables::ESTIMATE_LINES, &prefix)? {
        expected.totals.estimate_lines += 1;
        expected.totals.planned = Money(expected.totals.planned.0.saturating_add(line.planned.0));
        if on_stage(
            &mut expected,
            line.stage,
            format!("estimate line {}", line.id),
        ) && let Some((planned, _)) = expected.stages.get_mut(&line.stage)
        {
            *planned = Money(planned.0.saturating_add(line.planned.0));
        }
    }
    for entry in view.records_with_prefix::<ProjectEntry>(tables::PROJECT_ENTRIES, &prefix)? {
        expected.totals.entries += 1;
        match entry.kind {
            EntryKind::Expense => {
                expected.totals.spent =
                    Money(expected.totals.spent.0.saturating_add(entry.amount.0));
                if let Some(stage) = entry.stage
                    && on_stage(&mut expected, stage, format!("entry {}", entry.id))
                    && let Some((_, spent)) = expected.stages.get_mut(&stage)
                {
                    *spent = Money(spent.0.saturating_add(entry.amount.0));
                }
            }
            EntryKind::Income => {
                expected.totals.income =
                    Money(expected.totals.income.0.saturating_add(entry.amount.0));
                if let Some(stage) = entry.stage {
                    on_stage(&mut expected, stage, format!("entry {}", entry.id));
                }
            }
        }
    }
    for report in view.records_with_prefix::<DailyReport>(tables::PROJECT_REPORTS, &prefix)? {
        expected.totals.reports += 1;
        on_stage(
            &mut expected,
            report.stage,
            format!("daily report {}", report.id),
        );
    }
    for request in view.records_with_prefix::<ChangeRequest>(tables::CHANGE_REQUESTS, &prefix)? {
        match request.state {
            ChangeRequestState::Pending => expected.totals.pending_changes += 1,
            ChangeRequestState::Approved => {
                expected.totals.approved_changes = Money(
                    expected
                        .totals
                        .approved_changes
                        .0
                        .saturating_add(request.amount.0),
                );
            }
            ChangeRequestState::Rejected | ChangeRequestState::Withdrawn => {}
        }
    }
    // The progress weighs the stages as the recomputed plan says.
    for stage in &mut stages {
        if let Some((planned, _)) = expected.stages.get(&stage.id) {
            stage.planned = *planned;
        }
    }
    expected.totals.progress = progress_of(&stages);
    Ok(expected)
}
