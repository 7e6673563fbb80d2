//! The plan of one county from its status, the registry and projects.csv: the measures as
//! [`crate::analysis::plan`] counts them, and the covered 自备井 not yet planned.

use jiff::civil::Date;

use super::inputs::Inputs;
use crate::analysis::accounting::county_quota_for_year;
use crate::analysis::plan::{Measure, MeasureKind, Plan, PlanInput, plan};
use crate::config::projects::{ProjectKind, ProjectStatus};
use crate::config::{Config, County};
use crate::domain::{Budget, Source};

/// The plan of county `c`, whose year-end projection is `projected_m3` (`None` without data this
/// year); `None` for a county
/// the action plan gives no exit deadline.
pub(super) fn county_plan(
    cfg: &Config,
    c: &County,
    inputs: &Inputs<'_>,
    projected_m3: Option<f64>,
) -> Option<Plan> {
    let exit = c.exit?;
    let as_of = inputs.w.as_of;
    let this_year_start = Date::new(as_of.year(), 1, 1).ok()?;
    let last_year = |id: &str| {
        cfg.registry
            .intake(id)
            .map_or(0.0, |i| inputs.sums_of(&[i]).last_year.m3)
    };
    let own = |i: &&crate::config::registry::Intake| {
        i.county == c.code && i.budget == Budget::County && i.source == Source::Groundwater
    };
    let in_projects: Vec<&str> = cfg
        .projects
        .iter()
        .filter(|p| p.county == c.code)
        .flat_map(|p| p.intakes.iter().map(String::as_str))
        .collect();
    // A measure not yet done whose day has passed has not delivered (the meters would show it):
    // it counts from tomorrow, never back to its planned day.
    let tomorrow = as_of.tomorrow().ok()?;
    let pending = |day: Date| if day <= as_of { tomorrow } else { day };
    let mut measures: Vec<Measure> = Vec::new();
    for i in cfg.registry.intakes.iter().filter(own) {
        // Sealed this year or later (the registry's active_to), or planned (closure_planned):
        // the intake's last complete year is what its closure takes off.
        let (from, measured) = match (i.active_to, i.closure_planned) {
            _ if in_projects.contains(&i.id.as_str()) => continue,
            (Some(to), _) if to >= this_year_start => (to.tomorrow().ok()?, to < as_of),
            (None, Some(planned)) => (pending(planned), false),
            _ => continue,
        };
        measures.push(Measure {
            name: format!("{} {}", i.id, i.name),
            kind: MeasureKind::Closure,
            annual_m3: last_year(&i.id),
            from,
            measured,
        });
    }
    for p in cfg.projects.iter().filter(|p| p.county == c.code) {
        measures.push(Measure {
            name: p.name.clone(),
            kind: match p.kind {
                ProjectKind::Closure => MeasureKind::Closure,
                ProjectKind::Substitution => MeasureKind::Substitution,
                ProjectKind::Saving => MeasureKind::Saving,
            },
            annual_m3: p.annual_m3,
            from: match p.done {
                Some(done) => done,
                None => pending(p.start),
            },
            measured: p.status == ProjectStatus::Done,
        });
    }
    measures.sort_by(|a, b| a.from.cmp(&b.from).then(a.name.cmp(&b.name)));
    let candidates = cfg
        .registry
        .intakes
        .iter()
        .filter(own)
        .filter(|i| {
            i.supply_covered
                && i.active_to.is_none()
                && i.closure_planned.is_none()
                && !in_projects.contains(&i.id.as_str())
        })
        .map(|i| (i.id.clone(), i.name.clone(), last_year(&i.id)))
        .collect();
    let input = PlanInput {
        as_of,
        exit_year: exit.year(),
        projected_m3,
        pass_k: cfg.assessment.k_at_risk,
        measures,
        candidates,
    };
    Some(plan(&input, |y| {
        county_quota_for_year(&cfg.quota_versions, c.code, y, cfg.assessment.quota_rule)
    }))
}
