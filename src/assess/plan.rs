//! The plan of one county from its status, the registry and projects.csv: the measures as
//! [`crate::analysis::plan`] counts them, and the covered 自备井 not yet planned.

use jiff::civil::Date;

use super::inputs::Inputs;
use crate::analysis::accounting::county_quota_for_year;
use crate::analysis::plan::{
    Evidence, Measure, MeasureKind, Plan, PlanInput, SEALED_TOLERANCE_M3, measured_drop, plan,
};
use crate::config::projects::{ProjectKind, ProjectStatus};
use crate::config::registry::Intake;
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
    let own = |i: &&Intake| {
        i.county == c.code && i.budget == Budget::County && i.source == Source::Groundwater
    };
    let in_projects: Vec<&str> = cfg
        .projects
        .iter()
        .filter(|p| p.county == c.code)
        .flat_map(|p| p.intakes.iter().map(String::as_str))
        .collect();
    // A measure not done (or not seen in the meters) whose day has passed has not delivered: it
    // counts from tomorrow, never back to its planned day.
    let tomorrow = as_of.tomorrow().ok()?;
    let pending = |day: Date| if day <= as_of { tomorrow } else { day };
    let sealed_evidence = |i: &Intake| -> Evidence {
        let after = inputs.after_seal.get(&i.id).copied().unwrap_or(0.0);
        match i.active_to {
            Some(to) if to < as_of && after <= SEALED_TOLERANCE_M3 => {
                Evidence::Sealed { after_m3: after }
            }
            Some(to) if to < as_of => Evidence::Unconfirmed {
                reason: format!("{} 登记封停于 {to}，其后表计仍计量 {:.0} m³", i.id, after),
            },
            Some(to) => Evidence::Unconfirmed {
                reason: format!("{} 登记封停日 {to} 尚未到", i.id),
            },
            None => Evidence::Unconfirmed {
                reason: format!("{} 在取水口登记中未注销（无 active_to）", i.id),
            },
        }
    };
    let mut measures: Vec<Measure> = Vec::new();
    for i in cfg.registry.intakes.iter().filter(own) {
        if in_projects.contains(&i.id.as_str()) {
            continue;
        }
        // Sealed this year or later (the registry's active_to): measured when its meter has
        // been silent or at zero since; planned (closure_planned): from its day. Either takes
        // off the intake's last complete year.
        let (from, evidence) = match (i.active_to, i.closure_planned) {
            (Some(to), _) if to >= this_year_start && to < as_of => match sealed_evidence(i) {
                e @ Evidence::Sealed { .. } => (to.tomorrow().ok()?, e),
                e => (tomorrow, e),
            },
            (Some(to), _) if to >= as_of => {
                (to.tomorrow().ok()?, Evidence::Planned { declared: false })
            }
            (None, Some(planned)) => (pending(planned), Evidence::Planned { declared: false }),
            _ => continue,
        };
        measures.push(Measure {
            name: format!("{} {}", i.id, i.name),
            kind: MeasureKind::Closure,
            annual_m3: last_year(&i.id),
            from,
            measured: matches!(evidence, Evidence::Sealed { .. }),
            evidence,
        });
    }
    let share = cfg.assessment.min_data_completeness;
    for p in cfg.projects.iter().filter(|p| p.county == c.code) {
        let named: Vec<&Intake> = p
            .intakes
            .iter()
            .filter_map(|id| cfg.registry.intake(id))
            .collect();
        let kind = match p.kind {
            ProjectKind::Closure => MeasureKind::Closure,
            ProjectKind::Substitution => MeasureKind::Substitution,
            ProjectKind::Saving => MeasureKind::Saving,
        };
        let planned = (
            p.annual_m3,
            pending(p.start),
            Evidence::Planned { declared: true },
        );
        let (annual_m3, from, evidence) = match (p.status, p.done) {
            (ProjectStatus::Done, Some(done)) => match kind {
                // Every intake it names sealed with its meter silent since: their last year.
                MeasureKind::Closure => {
                    let unconfirmed = named
                        .iter()
                        .map(|i| sealed_evidence(i))
                        .find(|e| !matches!(e, Evidence::Sealed { .. }));
                    match unconfirmed {
                        _ if named.is_empty() => (
                            p.annual_m3,
                            tomorrow,
                            Evidence::Unconfirmed {
                                reason: "未列出关停的取水口，无法由计量核实".into(),
                            },
                        ),
                        Some(e) => (p.annual_m3, tomorrow, e),
                        None => {
                            let after: f64 = named
                                .iter()
                                .map(|i| inputs.after_seal.get(&i.id).copied().unwrap_or(0.0))
                                .sum();
                            let sealed_from = named
                                .iter()
                                .filter_map(|i| i.active_to)
                                .max()
                                .and_then(|t| t.tomorrow().ok())
                                .unwrap_or(done);
                            (
                                named.iter().map(|i| last_year(&i.id)).sum(),
                                sealed_from,
                                Evidence::Sealed { after_m3: after },
                            )
                        }
                    }
                }
                // The named intakes' drop against the same months before the start.
                MeasureKind::Substitution => {
                    let months = inputs.month_volumes(&named, share);
                    match measured_drop(&months, p.start, done, as_of) {
                        Some(e) if !named.is_empty() => {
                            (e.measured_annual_m3().unwrap_or(0.0), done, e)
                        }
                        _ => (
                            p.annual_m3,
                            pending(done),
                            Evidence::Unconfirmed {
                                reason: "已完成，尚无可与开工前同期比较的完整月份计量".into(),
                            },
                        ),
                    }
                }
                // A saving names no intake: its effect is in the meters' figures already and
                // nothing more is counted on its word.
                MeasureKind::Saving => (
                    0.0,
                    done,
                    Evidence::Unconfirmed {
                        reason: "节水项目不对应取水口，成效已含在实测取水量中，不另计".into(),
                    },
                ),
            },
            _ => planned,
        };
        measures.push(Measure {
            name: p.name.clone(),
            kind,
            annual_m3,
            from,
            measured: matches!(
                evidence,
                Evidence::Sealed { .. } | Evidence::Measured { .. }
            ),
            evidence,
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

#[cfg(test)]
mod tests {
    use jiff::civil::Date;

    use crate::analysis::plan::{Evidence, Measure};
    use crate::config::Config;
    use crate::config::projects::ProjectStatus;
    use crate::domain::{Budget, CountyCode, Decoded, Reading, Source};
    use crate::store::{Durability, StoreSettings, open_ro, open_store};

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// Daily volumes of `id` from `from` to `to`, `m3` a day.
    fn days(out: &mut Vec<Reading>, id: &str, from: &str, to: &str, m3: f64) {
        let mut day = d(from);
        while day <= d(to) {
            out.push(Reading::DailyVolume {
                intake_id: id.into(),
                day,
                volume_m3: m3,
                estimated: false,
            });
            day = day.tomorrow().unwrap();
        }
    }

    #[test]
    fn measures_count_what_the_meters_show() {
        let mut cfg = Config::embedded().unwrap();
        let qx = CountyCode::parse("140121").unwrap();
        let p = cfg
            .projects
            .iter_mut()
            .find(|p| p.name == "清徐县地下水置换晋祠泉保护治理工程")
            .unwrap();
        (p.start, p.status, p.done) = (d("2026-03-01"), ProjectStatus::Done, Some(d("2026-03-15")));
        let named = p.intakes.clone();
        // Two more of the county's groundwater intakes, both sealed in the registry: the first
        // went silent, the second still draws.
        let free: Vec<String> = cfg
            .registry
            .intakes
            .iter()
            .filter(|i| {
                i.county == qx
                    && i.budget == Budget::County
                    && i.source == Source::Groundwater
                    && i.active_to.is_none()
                    && i.closure_planned.is_none()
                    && !cfg.projects.iter().any(|p| p.intakes.contains(&i.id))
            })
            .map(|i| i.id.clone())
            .take(2)
            .collect();
        for (id, to) in free.iter().zip(["2026-05-31", "2026-06-30"]) {
            let i = cfg
                .registry
                .intakes
                .iter_mut()
                .find(|i| &i.id == id)
                .unwrap();
            i.active_to = Some(d(to));
        }
        let mut r = Vec::new();
        for id in &named {
            // 1000 m³ a day until the substitution was done, 600 after.
            days(&mut r, id, "2025-01-01", "2026-03-15", 1000.0);
            days(&mut r, id, "2026-03-16", "2026-11-20", 600.0);
        }
        days(&mut r, &free[0], "2025-01-01", "2026-05-31", 500.0);
        days(&mut r, &free[1], "2025-01-01", "2026-11-20", 500.0);

        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gwmon.db");
        {
            let mut store =
                open_store(StoreSettings::from_config(&cfg), &db, Durability::Normal).unwrap();
            let batch = Decoded {
                readings: r,
                ..Decoded::default()
            };
            store.apply(&[&batch], 0, "import").unwrap();
        }
        let doc = super::super::status(&cfg, &open_ro(&db).unwrap(), d("2026-11-20")).unwrap();
        let plan = doc
            .counties
            .iter()
            .find(|c| c.code == qx)
            .and_then(|c| c.plan.as_ref())
            .unwrap();
        let find = |name: &str| -> &Measure {
            plan.measures
                .iter()
                .find(|m| m.name.starts_with(name))
                .unwrap_or_else(|| panic!("{name}: {:?}", plan.measures))
        };
        // April to October 2026 (214 days) against April to October 2025: 2 × 400 m³ a day
        // less, 171,200 m³ over 7 months, 293,485.7 m³ a year.
        let s = find("清徐县地下水置换晋祠泉保护治理工程");
        assert_eq!(
            s.evidence,
            Evidence::Measured {
                months: 7,
                before_m3: 214.0 * 2000.0,
                after_m3: 214.0 * 1200.0
            }
        );
        assert!(s.measured);
        assert!((s.annual_m3 - 171_200.0 * 12.0 / 7.0).abs() < 1e-6, "{s:?}");
        assert_eq!(s.from, d("2026-03-15"));
        // Sealed on 31 May with its meter silent since: last year's 182,500 m³ from 1 June.
        let a = find(&free[0]);
        assert_eq!(a.evidence, Evidence::Sealed { after_m3: 0.0 });
        assert_eq!(
            (a.annual_m3, a.from, a.measured),
            (182_500.0, d("2026-06-01"), true)
        );
        // Sealed on 30 June in the registry but still drawing: not counted as done; it counts
        // from tomorrow as if planned, and says why (143 days × 500 m³ after the seal).
        let b = find(&free[1]);
        assert!(
            matches!(&b.evidence, Evidence::Unconfirmed { reason } if reason.contains(free[1].as_str())
                && reason.contains("71500 m³")),
            "{b:?}"
        );
        assert_eq!((b.from, b.measured), (d("2026-11-21"), false));
    }
}
