//! `crm verify`'s check of projects (issue 14): each project's counters (budget changes,
//! spent, income, planned, progress, and the counts of stages, reports, entries, estimate
//! lines and pending change requests) and each stage's planned and spent sums equal what its
//! records add up to, computed by the module's own rule (`services::projects::totals`); a
//! report, entry or estimate line on a stage its project lacks is reported too. Keys,
//! organizations, references and indexes are checked with every declared table.

use super::{Checker, EVERYTHING};
use crate::Result;
use crate::model::{OrgId, Project, ProjectStage};
use crate::services::projects::totals;
use crate::store::{View, ViewExt, codec, keys, tables};

impl Checker<'_> {
    pub(super) fn check_projects(&mut self) -> Result<()> {
        let view = self.view;
        let mut projects: Vec<(OrgId, Project)> = Vec::new();
        view.scan(tables::PROJECTS, EVERYTHING, false, |key, value| {
            if key.len() == 16
                && let Ok(project) = codec::decode::<Project>(value)
            {
                projects.push((OrgId(keys::read_u64(key, 0)), project));
            }
            Ok(true)
        })?;
        let mut problems = Vec::new();
        for (org, project) in projects {
            let expected = totals::expected(view, org, project.id)?;
            problems.extend(
                expected
                    .problems
                    .iter()
                    .map(|problem| format!("projects: {problem}")),
            );
            if expected.totals != project.totals {
                problems.push(format!(
                    "projects: the totals of project {} of organization {org} say {:?}, but its records add up to {:?}",
                    project.id, project.totals, expected.totals
                ));
            }
            let stages: Vec<ProjectStage> = view.records_with_prefix(
                tables::PROJECT_STAGES,
                &crate::store::Key::org(org).u64(project.id.get()),
            )?;
            for stage in stages {
                let (planned, spent) = expected.stages.get(&stage.id).copied().unwrap_or_default();
                if (planned, spent) != (stage.planned, stage.spent) {
                    problems.push(format!(
                        "projects: stage {} of project {} of organization {org} says planned {} and spent {}, but its records add up to {planned} and {spent}",
                        stage.id, project.id, stage.planned, stage.spent
                    ));
                }
            }
        }
        for problem in problems {
            self.problem(problem);
        }
        Ok(())
    }
}
