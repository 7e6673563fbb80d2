//! Assessment: reads the store, runs the pure analysis, and assembles the status document that
//! `status --json` prints and every report and chart draws from (one source of figures).
//!
//! - `doc`: the status document's types.
//! - `inputs`: what is read from the store, cut at the as-of date.
//! - `county`: one county's figures and verdict.
//! - `devices`: every registered meter and well with what it last sent (`gwmon devices`).
//! - `report`: the report model — the document and every series a report draws.
//! - this file: the entry point, the city's budgets, the warnings.

mod county;
pub mod devices;
mod doc;
mod inputs;
mod plan;
mod report;

pub use doc::*;
#[cfg(test)]
pub use report::testing;
pub use report::{CountyModel, ReportModel, report_model, report_model_for};

use crate::store::sql::Sql;
use jiff::civil::Date;

use self::county::{Params, county_status};
use self::inputs::Inputs;
use crate::analysis::accounting::{
    Projection, ProjectionParams, WindowSums, k, project, sum_projections,
};
use crate::analysis::levels::{Direction, TrendParams};
use crate::config::Config;
use crate::config::registry::Intake;
use crate::domain::{Aquifer, Budget, CountyCode, Source};
use crate::store::{self, StoreError};

/// Which figures of an intake count towards a county's quota: groundwater of the county budget.
pub fn counts_for_county_quota(i: &Intake) -> bool {
    i.budget == Budget::County && i.source == Source::Groundwater
}

fn source_label(s: Source) -> &'static str {
    s.label()
}

/// Figures of a group of intakes, projected as one.
/// The intakes of `set` that `keep` accepts.
fn only<'a>(set: &[&'a Intake], keep: impl Fn(&Intake) -> bool) -> Vec<&'a Intake> {
    set.iter().filter(|i| keep(i)).copied().collect()
}

fn group_figures(
    inputs: &Inputs<'_>,
    key: &str,
    label: &str,
    (intakes, last_year): (&[&Intake], &[&Intake]),
    p: &ProjectionParams,
) -> GroupFigures {
    // This year's windows on this year's registry, last year's on last year's.
    let s = inputs.sums_by_year(intakes, last_year);
    let mut input = inputs.projection_input(intakes);
    input.sums = s;
    input.has_last_year = s.last_year.m3 > 0.0;
    let pr = project(&inputs.w, &input, p);
    GroupFigures {
        key: key.to_string(),
        label: label.to_string(),
        ytd_m3: s.ytd.m3,
        ytd_estimated_m3: s.ytd.estimated_m3,
        last_year_m3: s.last_year.m3,
        last_year_estimated_m3: s.last_year.estimated_m3,
        rolling_12m_m3: s.rolling_12m.m3,
        projected_m3: pr.projected_m3,
        projected_low_m3: pr.low_m3,
        projected_high_m3: pr.high_m3,
        projection_method: pr.method,
    }
}

/// The springs of `[[springs]]` from their wells' monthly levels (every well of the registry is
/// in some county's status).
fn springs(
    cfg: &Config,
    counties: &[CountyStatus],
    as_of: Date,
    p: &TrendParams,
) -> Vec<crate::analysis::springs::SpringStatus> {
    use crate::analysis::springs::{SpringInput, spring_status};
    let level = |id: &str| {
        counties
            .iter()
            .flat_map(|c| &c.wells)
            .find(|w| w.id == id)
            .map(|w| w.monthly_level_m.as_slice())
    };
    cfg.springs
        .iter()
        .map(|s| {
            let input = SpringInput {
                name: &s.name,
                outlet_m: s.outlet_m,
                reflow_by: s.reflow_by,
                example: s.example,
                wells: s
                    .wells
                    .iter()
                    .map(|id| (id.as_str(), level(id).unwrap_or(&[])))
                    .collect(),
            };
            spring_status(&input, cfg.assessment.window_start, as_of, p)
        })
        .collect()
}

fn params(cfg: &Config) -> Params {
    let a = &cfg.assessment;
    Params {
        thresholds: a.thresholds(),
        trend: TrendParams {
            alpha: a.alpha,
            min_years: a.min_level_years,
            min_completeness: a.min_monthly_completeness,
            recent_months: a.recent_months,
            min_months_per_year: a.min_months_per_year,
            recent_years: a.recent_window_years,
            outlier_mad_k: a.outlier_mad_k,
            step_m: a.level_step_m,
            ended_months: a.ended_months,
        },
        projection: a.projection(),
    }
}

/// A budget's figures: its sums, and its parts' projections.
fn budget(
    key: &str,
    label: &str,
    quota: f64,
    s: WindowSums,
    projections: &[Projection],
) -> BudgetFigures {
    let p = sum_projections(projections);
    BudgetFigures {
        budget: key.to_string(),
        label: label.to_string(),
        quota_m3: quota,
        ytd_m3: s.ytd.m3,
        ytd_estimated_m3: s.ytd.estimated_m3,
        last_year_m3: s.last_year.m3,
        projected_m3: p.projected_m3,
        projected_low_m3: p.low_m3,
        projected_high_m3: p.high_m3,
        projection_method: p.method,
        k_projected: (s.ytd.m3 > 0.0)
            .then(|| k(p.projected_m3, Some(quota)))
            .flatten(),
        k_last_year: (s.last_year.m3 > 0.0)
            .then(|| k(s.last_year.m3, Some(quota)))
            .flatten(),
    }
}

/// The city's budgets: the counties' projection is the sum of the county projections, the
/// supply group's the sum of its intakes' projections, the total the sum of both.
fn city(
    cfg: &Config,
    inputs: &Inputs<'_>,
    counties: &[CountyStatus],
    p: &ProjectionParams,
) -> City {
    // Each year on the registry in force in it (a well transferred to the supply group counts
    // for the counties until its transfer).
    let w = &inputs.w;
    let jan1 = |y: i16| Date::new(y, 1, 1).unwrap_or(w.as_of);
    let groundwater = |start: Date, end: Date| -> Vec<&Intake> {
        cfg.registry
            .intakes_in_force(start, end)
            .into_iter()
            .filter(|i| i.source == Source::Groundwater)
            .collect()
    };
    let (gw, gw_ly) = (
        groundwater(jan1(w.year), w.as_of),
        groundwater(jan1(w.year - 1), w.last_year_end),
    );
    let (supply, supply_ly): (Vec<&Intake>, Vec<&Intake>) = (
        gw.iter()
            .filter(|i| i.budget == Budget::SupplyGroup)
            .copied()
            .collect(),
        gw_ly
            .iter()
            .filter(|i| i.budget == Budget::SupplyGroup)
            .copied()
            .collect(),
    );
    let supply_p: Vec<Projection> = supply
        .iter()
        .map(|i| project(&inputs.w, &inputs.projection_input(&[i]), p))
        .collect();
    let county_p: Vec<Projection> = counties.iter().map(|c| c.projection).collect();
    let all_p: Vec<Projection> = supply_p.iter().chain(&county_p).copied().collect();
    let b = &cfg.budgets;
    let all: Vec<&Intake> = cfg.registry.intakes_in_force(jan1(w.year), w.as_of);
    let all_ly: Vec<&Intake> = cfg
        .registry
        .intakes_in_force(jan1(w.year - 1), w.last_year_end);
    let supply_sums = inputs.sums_by_year(&supply, &supply_ly);
    // The counties' budget is the sum of the counties' figures, their estimates included.
    let mut county_sums = WindowSums::default();
    for c in counties {
        county_sums.ytd.m3 += c.ytd_m3;
        county_sums.ytd.estimated_m3 += c.ytd_estimated_m3 + c.ytd_imputed_m3 + c.ytd_unmetered_m3;
        county_sums.last_year.m3 += c.last_year_m3;
        county_sums.last_year.estimated_m3 +=
            c.last_year_estimated_m3 + c.last_year_imputed_m3 + c.last_year_unmetered_m3;
    }
    let mut total_sums = supply_sums;
    total_sums.ytd += county_sums.ytd;
    total_sums.last_year += county_sums.last_year;
    let supply_all: Vec<&Intake> = all
        .iter()
        .filter(|i| i.budget == Budget::SupplyGroup)
        .copied()
        .collect();
    City {
        supply_group_permits: county::permits(inputs, &supply_all, p),
        cap_m3: b.city_cap_m3,
        budgets: vec![
            budget(
                "supply_group",
                Budget::SupplyGroup.label(),
                b.supply_group_m3,
                supply_sums,
                &supply_p,
            ),
            budget(
                "counties",
                Budget::County.label(),
                b.counties_m3,
                county_sums,
                &county_p,
            ),
            budget("city_total", "全市合计", b.city_cap_m3, total_sums, &all_p),
        ],
        by_aquifer: Aquifer::ALL
            .iter()
            .map(|a| {
                let keep = |i: &Intake| i.aquifer == *a;
                let (g, g_ly) = (only(&gw, keep), only(&gw_ly, keep));
                group_figures(inputs, a.as_str(), a.label(), (&g, &g_ly), p)
            })
            .collect(),
        by_source: Source::ALL
            .iter()
            .map(|src| {
                let keep = |i: &Intake| i.source == *src;
                let (g, g_ly) = (only(&all, keep), only(&all_ly, keep));
                group_figures(inputs, src.as_str(), source_label(*src), (&g, &g_ly), p)
            })
            .collect(),
    }
}

/// What a reader must know before trusting figures as of `as_of`.
fn warnings(cfg: &Config, inputs: &Inputs<'_>, as_of: Date) -> Vec<String> {
    let mut out = Vec::new();
    let last = inputs
        .last_meter
        .values()
        .chain(inputs.last_level.values())
        .max()
        .copied();
    match last {
        None => out.push(format!("库中没有 {as_of} 及以前的读数：所有数字均为空")),
        Some(ts) if cfg.clock.day_of(ts) < as_of => out.push(format!(
            "最新读数在 {}，早于评估日 {as_of}：此后各日无数据，本年累计和预测偏低",
            cfg.clock.format(ts)
        )),
        Some(_) => {}
    }
    // Volume of long gaps is spread over their days as estimates: when it was drawn is a guess.
    let mut gaps: Vec<(&str, usize, f64)> = Vec::new();
    for g in &inputs.long_gaps {
        let county = cfg
            .registry
            .intake(&g.intake_id)
            .and_then(|i| cfg.counties.iter().find(|c| c.code == i.county))
            .map_or("未登记县", |c| c.name.as_str());
        match gaps.iter_mut().find(|x| x.0 == county) {
            Some(x) => {
                x.1 += 1;
                x.2 += g.volume_m3;
            }
            None => gaps.push((county, 1, g.volume_m3)),
        }
    }
    for (county, n, m3) in gaps {
        out.push(format!(
            "{county}：{n} 段水表缺口超过 {} 天，其间 {:.0} m³ 已按天摊分并计为估算量（何时取用不详）；请在 meter_events（kind = long_gap）中核查，并按日补录取水量",
            cfg.ingest.max_spread_days,
            m3
        ));
    }
    let month_end = as_of.last_of_month();
    if as_of < month_end {
        out.push(format!(
            "评估日所在月份（{}）不完整：该月只计至 {as_of}",
            crate::domain::time::month_key(as_of)
        ));
    }
    out
}

/// Computes the status document as of `as_of` from the store behind `conn`.
pub fn status(cfg: &Config, conn: &dyn Sql, as_of: Date) -> Result<StatusDoc, StoreError> {
    let inputs = Inputs::load(cfg, conn, as_of)?;
    let params = params(cfg);
    let counties: Vec<CountyStatus> = cfg
        .counties
        .iter()
        .map(|c| county_status(cfg, c, &inputs, &params))
        .collect();
    let mut warnings = warnings(cfg, &inputs, as_of);
    for c in &counties {
        let parts = [
            (
                c.ytd_unmetered_m3,
                c.last_year_unmetered_m3,
                "无在线计量义务、未报送数据的地下水取水户（农灌井、许可量不足 5 万 m³ 等）按许可水量折算计入取水量",
            ),
            (
                c.ytd_imputed_m3,
                c.last_year_imputed_m3,
                "应在线计量的取水口缺报的天数按其上年同期取水量（无则按许可水量折算）补估，计入取水量",
            ),
        ];
        for (ytd, last_year, what) in parts {
            if ytd > 0.0 || last_year > 0.0 {
                warnings.push(format!(
                    "{}：{what}：本年 {}、{}年 {}，为估算值，非实测",
                    c.name,
                    crate::domain::Volume::from_m3(ytd),
                    inputs.w.year - 1,
                    crate::domain::Volume::from_m3(last_year)
                ));
            }
        }
    }
    Ok(StatusDoc {
        as_of: as_of.to_string(),
        year: inputs.w.year,
        example_data: cfg.has_example_data(),
        warnings,
        k_bands: params.thresholds.k_bands(),
        quota_rule: cfg.assessment.quota_rule,
        level_basis: "level_m: 水位（m，高程基准以上；上升 = 水位回升）",
        trend_window_start: cfg.assessment.window_start.to_string(),
        city: city(cfg, &inputs, &counties, &params.projection),
        springs: springs(cfg, &counties, as_of, &params.trend),
        counties,
        ingest: store::counts(conn)?,
    })
}

/// Direction arrow for tables.
pub fn arrow(d: Direction) -> &'static str {
    match d {
        Direction::Rising => "↑",
        Direction::Stable => "→",
        Direction::Declining => "↓",
        Direction::InsufficientData => "?",
    }
}

/// Keeps only the counties asked for (all when `code` is `None`).
pub fn filter_county(doc: &mut StatusDoc, code: Option<CountyCode>) {
    if let Some(c) = code {
        doc.counties.retain(|x| x.code == c);
    }
}
