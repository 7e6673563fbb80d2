//! One county's assessment: withdrawals against its quota, metering, permits, wells per aquifer
//! type, deadlines, and the verdict.

use jiff::civil::Date;

use super::doc::{
    AquiferBulletin, AquiferSeries, CountyStatus, DeadlineState, DeadlineStatus, Deadlines,
    GroupFigures, Metering, PermitExcess, Permits, Reduction, ReductionPart, SilentIntake,
    WellStatus,
};
use super::inputs::Inputs;
use super::{counts_for_county_quota, group_figures, only, source_label};
use crate::analysis::accounting::{
    ProjectionParams, VolumeWithEstimate, county_quota_for_year, days_between, days_in_year,
    project,
};
use crate::analysis::expected::Expected;
use crate::analysis::levels::{self, TrendParams};
use crate::analysis::verdict::{
    AquiferWells, CountyFacts, PermitFacts, QuantityFacts, TargetCheck, Thresholds, YearFigures,
    aquifer_level, assess,
};
use crate::config::registry::Intake;
use crate::config::{Config, County};
use crate::domain::{Aquifer, Budget, Source, TargetKind};

/// Where a county stands against one deadline as of `as_of` (DESIGN §2): a date of meeting it
/// counts only once it has happened.
fn deadline_state(
    deadline: Option<Date>,
    met: Option<Date>,
    as_of: Date,
) -> (Option<DeadlineState>, Option<i64>) {
    let Some(d) = deadline else {
        return (None, None);
    };
    match met.filter(|m| *m <= as_of) {
        Some(m) if m > d => (Some(DeadlineState::MetLate), Some(days_between(d, m))),
        Some(_) => (Some(DeadlineState::Met), None),
        None if as_of > d => (Some(DeadlineState::Passed), None),
        None => (Some(DeadlineState::Upcoming), None),
    }
}

pub(super) fn deadlines(c: &County, as_of: Date) -> Deadlines {
    let status = |date: Option<Date>, met: Option<Date>| {
        let (state, days_late) = deadline_state(date, met, as_of);
        DeadlineStatus {
            date: date.map(|d| d.to_string()),
            days_to: date.map(|d| days_between(as_of, d)),
            state,
            met: met.filter(|m| *m <= as_of).map(|d| d.to_string()),
            days_late,
        }
    };
    Deadlines {
        self_assessment: status(c.self_assessment, c.self_assessment_met),
        exit: status(c.exit, c.exit_met),
    }
}

/// Parameters of the analysis, from the configuration.
pub(super) struct Params {
    pub thresholds: Thresholds,
    pub trend: TrendParams,
    pub projection: ProjectionParams,
}

fn metering(cfg: &Config, inputs: &Inputs<'_>, obliged: &[&Intake]) -> Metering {
    let silent_after = cfg.metering.silent_after_days * 86_400;
    let until = cfg.clock.day_end(inputs.w.as_of);
    let silent: Vec<SilentIntake> = obliged
        .iter()
        .filter_map(|i| {
            let ts = inputs.last_meter.get(i.id.as_str()).copied();
            ts.is_none_or(|t| t < until - silent_after)
                .then(|| SilentIntake {
                    id: i.id.clone(),
                    name: i.name.clone(),
                    last_reading: ts.map(|t| cfg.clock.format(t)),
                })
        })
        .collect();
    let reporting = obliged.len() - silent.len();
    Metering {
        obligated: obliged.len(),
        reporting,
        coverage: (!obliged.is_empty()).then(|| reporting as f64 / obliged.len() as f64),
        silent,
    }
}

pub(super) fn permits(inputs: &Inputs<'_>, intakes: &[&Intake], p: &ProjectionParams) -> Permits {
    let mut out = Permits {
        over: Vec::new(),
        projected_over: Vec::new(),
        unpermitted: Vec::new(),
        over_last_year: Vec::new(),
    };
    for i in intakes {
        let s = inputs.sums_of(&[i]);
        let projected = project(&inputs.w, &inputs.projection_input(&[i]), p).projected_m3;
        let e = PermitExcess {
            id: i.id.clone(),
            name: i.name.clone(),
            source: i.source.label(),
            permit_m3: i.permit_m3_per_year.max(0.0),
            ytd_m3: s.ytd.m3,
            projected_m3: projected,
            last_year_m3: s.last_year.m3,
        };
        let permit = i.permit_m3_per_year;
        if permit <= 0.0 {
            if i.source == Source::Groundwater && (s.ytd.m3 > 0.0 || s.last_year.m3 > 0.0) {
                out.unpermitted.push(e);
            }
            continue;
        }
        if s.last_year.m3 > permit {
            out.over_last_year.push(e.clone());
        }
        if s.ytd.m3 > permit {
            out.over.push(e);
        } else if projected > permit {
            out.projected_over.push(e);
        }
    }
    out
}

fn wells(cfg: &Config, inputs: &Inputs<'_>, c: &County, tp: &TrendParams) -> Vec<WellStatus> {
    let start = cfg.assessment.window_start;
    let as_of = inputs.w.as_of;
    cfg.registry
        .wells
        .iter()
        .filter(|wl| wl.county == c.code)
        .map(|wl| {
            let pts = inputs.levels.get(&wl.id).map(Vec::as_slice).unwrap_or(&[]);
            let series = levels::monthly_series(pts, start, as_of);
            let trend = levels::well_trend(&series, start, as_of, tp);
            // The target in its own terms: a depth target against the mean depth.
            let target = wl.target.map(|t| TargetCheck {
                well_id: wl.id.clone(),
                kind: t.kind,
                target_m: t.value_m,
                target_year: t.year,
                latest_m: trend.latest_annual_mean_m.map(|l| match t.kind {
                    TargetKind::Level => l,
                    // With the ground elevation in force at the end of that year.
                    TargetKind::Depth => {
                        let year_end = trend
                            .latest_annual_mean_year
                            .and_then(|y| Date::new(y, 12, 31).ok())
                            .unwrap_or(as_of);
                        wl.datum_on(year_end).ground_elevation_m - l
                    }
                }),
                latest_year: trend.latest_annual_mean_year,
            });
            // Outlier months are left out of the 公报 and the county's series too.
            let screened = trend.screened(&series, start);
            WellStatus {
                id: wl.id.clone(),
                name: wl.name.clone(),
                aquifer: wl.aquifer.as_str(),
                aquifer_label: wl.aquifer.label(),
                target,
                bulletin: levels::bulletin(
                    &screened,
                    start,
                    as_of,
                    |y, m| {
                        let day = Date::new(y, m, 15).unwrap_or(as_of);
                        wl.datum_on(day).ground_elevation_m
                    },
                    cfg.assessment.bulletin_band_m,
                ),
                monthly_level_m: screened,
                trend,
            }
        })
        .collect()
}

/// The county's withdrawal by aquifer and by source: `intakes` this year's own intakes,
/// `last_year` last year's.
fn groups(
    inputs: &Inputs<'_>,
    (intakes, last_year): (&[&Intake], &[&Intake]),
    p: &ProjectionParams,
) -> (Vec<GroupFigures>, Vec<GroupFigures>) {
    let pick = |keep: &dyn Fn(&Intake) -> bool| (only(intakes, keep), only(last_year, keep));
    let by_aquifer = Aquifer::ALL
        .iter()
        .filter_map(|a| {
            let (g, g_ly) = pick(&|i: &Intake| i.source == Source::Groundwater && i.aquifer == *a);
            (!g.is_empty() || !g_ly.is_empty())
                .then(|| group_figures(inputs, a.as_str(), a.label(), (&g, &g_ly), p))
        })
        .collect();
    let by_source = Source::ALL
        .iter()
        .filter_map(|src| {
            let (g, g_ly) = pick(&|i: &Intake| i.source == *src);
            (!g.is_empty() || !g_ly.is_empty())
                .then(|| group_figures(inputs, src.as_str(), source_label(*src), (&g, &g_ly), p))
        })
        .collect();
    (by_aquifer, by_source)
}

/// A county's intakes in the registry in force over a period, and the sets its figures use.
struct YearSet<'a> {
    in_county: Vec<&'a Intake>,
    /// Counted against the county's quota: its own budget's groundwater.
    quota: Vec<&'a Intake>,
    /// Of those, obliged to meter online: the completeness and imputation are theirs.
    obliged_quota: Vec<&'a Intake>,
    /// Of those, below the metering duty: estimated from their permits when silent.
    below_duty: Vec<&'a Intake>,
}

impl<'a> YearSet<'a> {
    fn new(cfg: &'a Config, c: &County, start: Date, end: Date) -> Self {
        let in_county: Vec<&Intake> = cfg
            .registry
            .intakes_in_force(start, end)
            .into_iter()
            .filter(|i| i.county == c.code)
            .collect();
        let quota: Vec<&Intake> = in_county
            .iter()
            .filter(|i| counts_for_county_quota(i))
            .copied()
            .collect();
        let (obliged_quota, below_duty) = quota.iter().partition(|i| i.metering_duty);
        YearSet {
            in_county,
            quota,
            obliged_quota,
            below_duty,
        }
    }
}

/// 压采量 of the county's own budget: last complete year against the base year, each on the
/// registry in force in it, with the sealed and transferred wells that made part of it.
fn reduction(cfg: &Config, c: &County, inputs: &Inputs<'_>, ly: &YearSet<'_>) -> Option<Reduction> {
    let w = &inputs.w;
    let base_year = cfg.assessment.base_year;
    let (year, year_end) = (w.year - 1, w.last_year_end);
    if base_year >= year {
        return None;
    }
    let base = YearSet::new(
        cfg,
        c,
        Date::new(base_year, 1, 1).ok()?,
        Date::new(base_year, 12, 31).ok()?,
    );
    let of = |i: &Intake| inputs.base_year.get(&i.id).map_or(0.0, |v| v.m3);
    let base_m3: f64 = base.quota.iter().map(|i| of(i)).sum();
    if base_m3 <= 0.0 {
        return None;
    }
    let year_m3 = inputs.sums_of(&ly.quota).last_year.m3;
    let in_force_then = cfg
        .registry
        .intakes_in_force(Date::new(year, 1, 1).ok()?, year_end);
    // A part is what the intake drew in the base year less what it drew in the year (a well
    // sealed during the year drew for part of it).
    let part = |i: &Intake, since: Option<Date>| {
        let then = inputs.sums_of(&[i]).last_year.m3;
        (
            ReductionPart {
                id: i.id.clone(),
                name: i.name.clone(),
                base_m3: of(i),
                since: since.map(|d| d.to_string()),
            },
            of(i) - then,
        )
    };
    let mut sealed = Vec::new();
    let mut transferred = Vec::new();
    for i in &base.quota {
        let sealed_on = cfg
            .registry
            .intake(&i.id)
            .and_then(|x| x.active_to)
            .filter(|t| *t <= year_end);
        match in_force_then.iter().find(|v| v.id == i.id) {
            Some(v) if v.budget == Budget::SupplyGroup => {
                let (p, _) = part(i, v.active_from);
                // Its whole base-year volume left the county's budget.
                let m3 = p.base_m3;
                transferred.push((p, m3));
            }
            _ if sealed_on.is_some() => sealed.push(part(i, sealed_on)),
            _ => {}
        }
    }
    let sealed_m3 = sealed.iter().map(|p| p.1).sum();
    let transferred_m3 = transferred.iter().map(|p| p.1).sum();
    let (sealed, transferred) = (
        sealed.into_iter().map(|p| p.0).collect(),
        transferred.into_iter().map(|p| p.0).collect(),
    );
    let reduction_m3 = base_m3 - year_m3;
    Some(Reduction {
        base_year,
        base_m3,
        year,
        year_m3,
        reduction_m3,
        sealed,
        sealed_m3,
        transferred,
        transferred_m3,
        rest_m3: reduction_m3 - sealed_m3 - transferred_m3,
    })
}

pub(super) fn county_status(
    cfg: &Config,
    c: &County,
    inputs: &Inputs<'_>,
    params: &Params,
) -> CountyStatus {
    let w = &inputs.w;
    let jan1 = |y: i16| Date::new(y, 1, 1).unwrap_or(w.as_of);
    // Each year is computed on the registry in force in it: a well sealed last spring still
    // counts for last year, an intake transferred to the supply group counts for the county
    // until its transfer.
    let ty = YearSet::new(cfg, c, jan1(w.year), w.as_of);
    let ly = YearSet::new(cfg, c, jan1(w.year - 1), w.last_year_end);
    // Metering is owed by the intakes in force on the as-of date.
    let obliged: Vec<&Intake> = ty
        .in_county
        .iter()
        .filter(|i| i.metering_duty && i.active_on(w.as_of))
        .copied()
        .collect();
    // What the obliged intakes were expected to draw; their silent days are imputed and counted
    // in the county's figure (as estimates, shown apart), so that a silent big meter does not
    // shrink the figure, the projection's ratio or the completeness.
    let exp_ty = inputs.expected(&ty.obliged_quota, jan1(w.year), w.as_of);
    let exp_ly = inputs.expected(&ly.obliged_quota, jan1(w.year - 1), w.last_year_end);
    let exp_ly_same = inputs.expected(&ly.obliged_quota, jan1(w.year - 1), w.same_day_last_year);
    // Groundwater users below the metering duty (farm wells, permits under 5万 m³, rural
    // supply) that report nothing in a period enter it as an estimate over the days they are in
    // force: 以电折水 (kWh × m3_per_kwh) for the days their imported electricity covers, their
    // permit pro rata for the rest.
    let unmetered = |below: &[&Intake], start: Date, end: Date| -> f64 {
        below
            .iter()
            .filter(|i| !inputs.has_volume(i, start, end))
            .map(|i| {
                let (s, e) = (
                    i.active_from.map_or(start, |f| f.max(start)),
                    i.active_to.map_or(end, |t| t.min(end)),
                );
                if e < s {
                    return 0.0;
                }
                let (from_power, covered) = match (i.m3_per_kwh, inputs.electricity.get(&i.id)) {
                    (Some(k), Some(periods)) => electricity_m3(periods, k, s, e),
                    _ => (0.0, 0),
                };
                let rest = (days_between(s, e) + 1 - covered).max(0);
                from_power
                    + i.permit_m3_per_year.max(0.0) * rest as f64
                        / days_in_year(start.year()) as f64
            })
            // An empty sum is -0.0: written as 0.
            .sum::<f64>()
            + 0.0
    };
    let unmetered_ty = unmetered(&ty.below_duty, jan1(w.year), w.as_of);
    let unmetered_ly = unmetered(&ly.below_duty, jan1(w.year - 1), w.last_year_end);
    let unmetered_ly_same = unmetered(&ly.below_duty, jan1(w.year - 1), w.same_day_last_year);
    // This year's sums from this year's registry, last year's from last year's.
    let mut quota_sums = inputs.sums_by_year(&ty.quota, &ly.quota);
    let (add_ty, add_ly, add_ly_same) = (
        exp_ty.imputed_m3 + unmetered_ty,
        exp_ly.imputed_m3 + unmetered_ly,
        exp_ly_same.imputed_m3 + unmetered_ly_same,
    );
    quota_sums.ytd.m3 += add_ty;
    quota_sums.ytd_same_days.m3 += add_ty;
    quota_sums.last_year.m3 += add_ly;
    quota_sums.last_year_to_date.m3 += add_ly_same;
    quota_sums.last_year_same_days.m3 += add_ly_same;
    let mut projection_input = inputs.projection_input(&ty.quota);
    projection_input.sums = quota_sums;
    projection_input.has_last_year = quota_sums.last_year.m3 > 0.0;
    let projection = project(w, &projection_input, &params.projection);
    let rule = cfg.assessment.quota_rule;
    let quota = county_quota_for_year(&cfg.quota_versions, c.code, w.year, rule);
    let ly_quota = county_quota_for_year(&cfg.quota_versions, c.code, w.year - 1, rule);
    let mut months = inputs.months_reported(&ty.quota);
    months.extend(inputs.months_reported(&ly.quota));
    months.sort_unstable();
    months.dedup();
    let year_figures = |set: &YearSet<'_>,
                        year: i16,
                        vol: VolumeWithEstimate,
                        e: &Expected,
                        unmetered: f64,
                        quota| YearFigures {
        year,
        withdrawal_m3: vol.m3,
        estimated_m3: vol.estimated_m3,
        imputed_m3: e.imputed_m3,
        unmetered_m3: unmetered,
        quota_m3: quota,
        has_data: vol.m3 - e.imputed_m3 - unmetered > 0.0 || months.iter().any(|m| m.0 == year),
        completeness: inputs.completeness(&set.obliged_quota, &set.quota, year, e),
        long_gap_m3: inputs.long_gap_m3(&set.quota, year, &cfg.clock),
        flagged_m3: inputs.flagged_m3(&set.quota, year),
    };
    // Months numbered consecutively; the 12 months ending with the as-of month.
    let month_no = |y: i16, m: i8| i32::from(y) * 12 + i32::from(m);
    let as_of_month = month_no(w.year, w.as_of.month());
    let quantity = QuantityFacts {
        last_year: year_figures(
            &ly,
            w.year - 1,
            quota_sums.last_year,
            &exp_ly,
            unmetered_ly,
            ly_quota,
        ),
        this_year: year_figures(&ty, w.year, quota_sums.ytd, &exp_ty, unmetered_ty, quota),
        projection,
        months_with_data_this_year: months.iter().filter(|m| m.0 == w.year).count() as u32,
        months_with_data_12m: months
            .iter()
            .filter(|(y, m)| month_no(*y, *m) > as_of_month - 12)
            .count() as u32,
    };

    let metering = metering(cfg, inputs, &obliged);
    // The county's own intakes: 太原供水集团's well fields that lie in the county belong to the
    // supply group's budget — their permits are judged there, and they are no part of the
    // county's withdrawal by source or aquifer, nor of its reduction against the base year.
    let own = |i: &Intake| i.budget == Budget::County;
    let (own_ty, own_ly) = (only(&ty.in_county, own), only(&ly.in_county, own));
    let permits = permits(inputs, &own_ty, &params.projection);
    let (by_aquifer, by_source) = groups(inputs, (&own_ty, &own_ly), &params.projection);
    let wells = wells(cfg, inputs, c, &params.trend);
    let level_series: Vec<AquiferSeries> = Aquifer::ALL
        .iter()
        .filter_map(|a| {
            let ws: Vec<Vec<f64>> = wells
                .iter()
                .filter(|x| x.aquifer == a.as_str())
                .map(|x| x.monthly_level_m.clone())
                .collect();
            (!ws.is_empty()).then(|| {
                let series = levels::county_series(&ws);
                AquiferSeries {
                    aquifer: a.as_str(),
                    aquifer_label: a.label(),
                    trend: levels::well_trend(
                        &series,
                        cfg.assessment.window_start,
                        w.as_of,
                        &params.trend,
                    ),
                    monthly_level_m: series,
                }
            })
        })
        .collect();
    let bulletin_by_aquifer = Aquifer::ALL
        .iter()
        .filter_map(|a| {
            let b: Vec<(f64, f64, i16)> = wells
                .iter()
                .filter(|x| x.aquifer == a.as_str())
                .filter_map(|x| x.bulletin.as_ref())
                .filter_map(|b| Some((b.depth_m, b.depth_change_m?, b.year)))
                .collect();
            let n = b.len();
            (n > 0).then(|| {
                let mean_change = b.iter().map(|x| x.1).sum::<f64>() / n as f64;
                let band = cfg.assessment.bulletin_band_m;
                let class = levels::BulletinClass::of(mean_change, band);
                let count = |c| {
                    b.iter()
                        .filter(|x| levels::BulletinClass::of(x.1, band) == c)
                        .count()
                };
                AquiferBulletin {
                    aquifer: a.as_str(),
                    aquifer_label: a.label(),
                    year: b[0].2,
                    wells: n,
                    mean_depth_m: b.iter().map(|x| x.0).sum::<f64>() / n as f64,
                    mean_depth_change_m: mean_change,
                    class,
                    class_label: class.label(),
                    rising: count(levels::BulletinClass::Rising),
                    stable: count(levels::BulletinClass::Stable),
                    falling: count(levels::BulletinClass::Falling),
                }
            })
        })
        .collect();
    // Each aquifer's share of the county's groundwater: last year's, else this year's so far.
    let total = |f: &dyn Fn(&GroupFigures) -> f64| by_aquifer.iter().map(f).sum::<f64>();
    let (ly_total, ytd_total) = (total(&|g| g.last_year_m3), total(&|g| g.ytd_m3));
    let pumped_share = |a: &Aquifer| {
        let g = by_aquifer.iter().find(|g| g.key == a.as_str())?;
        if ly_total > 0.0 {
            Some(g.last_year_m3 / ly_total)
        } else if ytd_total > 0.0 {
            Some(g.ytd_m3 / ytd_total)
        } else {
            None
        }
    };
    let level_by_aquifer = Aquifer::ALL
        .iter()
        .filter_map(|a| {
            let ws: Vec<&WellStatus> = wells.iter().filter(|x| x.aquifer == a.as_str()).collect();
            let share = pumped_share(a);
            let pumped = share.is_some_and(|s| s > params.thresholds.level_aquifer_min_share);
            (!ws.is_empty() || pumped).then(|| {
                let g = AquiferWells {
                    aquifer: a.as_str(),
                    label: a.label(),
                    wells: ws.iter().map(|x| (x.id.as_str(), &x.trend)).collect(),
                    targets: ws.iter().filter_map(|x| x.target.clone()).collect(),
                    pumped_share: share,
                };
                aquifer_level(&g, w.year, &params.thresholds)
            })
        })
        .collect();

    let facts = CountyFacts {
        quantity,
        levels: level_by_aquifer,
        wells: wells.len(),
        wells_sufficient: wells.iter().filter(|x| x.trend.sufficient).count(),
        obligated: metering.obligated,
        reporting: metering.reporting,
        permits: PermitFacts {
            over: permits.over.len(),
            projected_over: permits.projected_over.len(),
            unpermitted: permits.unpermitted.len(),
            over_last_year: permits.over_last_year.len(),
        },
    };
    let (criteria, verdict) = assess(&facts, &params.thresholds);
    CountyStatus {
        plan: super::plan::county_plan(
            cfg,
            c,
            inputs,
            facts
                .quantity
                .this_year
                .has_data
                .then_some(projection.projected_m3),
        ),
        reduction: reduction(cfg, c, inputs, &ly),
        code: c.code,
        name: c.name.clone(),
        quota_m3: quota,
        quota_example: cfg.quota_versions.iter().any(|v| v.example),
        last_year_quota_m3: ly_quota,
        ytd_m3: quota_sums.ytd.m3,
        ytd_estimated_m3: quota_sums.ytd.estimated_m3,
        ytd_imputed_m3: exp_ty.imputed_m3,
        ytd_unmetered_m3: unmetered_ty,
        last_year_m3: quota_sums.last_year.m3,
        last_year_estimated_m3: quota_sums.last_year.estimated_m3,
        last_year_imputed_m3: exp_ly.imputed_m3,
        last_year_unmetered_m3: unmetered_ly,
        rolling_12m_m3: quota_sums.rolling_12m.m3,
        projected_m3: projection.projected_m3,
        projection,
        k: facts.quantity.k_projected(),
        k_last_year: facts.quantity.last_year.k(),
        last_year: facts.quantity.last_year,
        this_year: facts.quantity.this_year,
        months_with_data_this_year: facts.quantity.months_with_data_this_year,
        months_with_data_12m: facts.quantity.months_with_data_12m,
        verdict,
        verdict_label: verdict.label(),
        criteria,
        level_by_aquifer: facts.levels,
        deadlines: deadlines(c, w.as_of),
        metering,
        permits,
        by_aquifer,
        by_source,
        level_series,
        bulletin_by_aquifer,
        wells,
    }
}

/// 以电折水 over `[s, e]`: each period's kWh × `m3_per_kwh`, spread evenly over its days, for
/// the days inside `[s, e]`; and how many of those days the periods cover.
fn electricity_m3(periods: &[(Date, Date, f64)], m3_per_kwh: f64, s: Date, e: Date) -> (f64, i64) {
    let mut m3 = 0.0;
    let mut covered = 0;
    for &(ps, pe, kwh) in periods {
        let (a, b) = (ps.max(s), pe.min(e));
        if b < a {
            continue;
        }
        let inside = days_between(a, b) + 1;
        let all = days_between(ps, pe) + 1;
        m3 += kwh.max(0.0) * m3_per_kwh * inside as f64 / all as f64;
        covered += inside;
    }
    (m3, covered)
}
