//! Assessment: reads the store, runs the pure analysis, and assembles the status document that
//! `status --json` prints and every report and chart draws from (one source of figures).

use jiff::civil::Date;
use rusqlite::Connection;
use serde::Serialize;

use crate::analysis::accounting::{
    Method, Projection, WindowSums, Windows, county_quota_for_year, days_between, k, project,
};
use crate::analysis::levels::{self, Direction, TrendParams, WellTrend};
use crate::analysis::verdict::{CountyFacts, Criterion, Verdict, assess};
use crate::config::registry::Intake;
use crate::config::{Config, County};
use crate::domain::CountyCode;
use crate::domain::{Aquifer, Budget, Source};
use crate::store::{self, Counts, StoreError, query};

/// Figures of a group of intakes (a budget, an aquifer type, a source).
#[derive(Clone, Debug, Serialize)]
pub struct GroupFigures {
    pub key: String,
    pub label: String,
    pub ytd_m3: f64,
    pub ytd_estimated_m3: f64,
    pub last_year_m3: f64,
    pub last_year_estimated_m3: f64,
    pub rolling_12m_m3: f64,
    pub projected_m3: f64,
    pub projection_method: Method,
}

impl GroupFigures {
    fn new(key: &str, label: &str, s: &WindowSums, p: &Projection) -> Self {
        Self {
            key: key.to_string(),
            label: label.to_string(),
            ytd_m3: s.ytd.m3,
            ytd_estimated_m3: s.ytd.estimated_m3,
            last_year_m3: s.last_year.m3,
            last_year_estimated_m3: s.last_year.estimated_m3,
            rolling_12m_m3: s.rolling_12m.m3,
            projected_m3: p.projected_m3,
            projection_method: p.method,
        }
    }
}

/// A budget against its figure.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetFigures {
    /// `supply_group`, `counties` or `city_total`.
    pub budget: String,
    pub label: String,
    pub quota_m3: f64,
    pub ytd_m3: f64,
    pub ytd_estimated_m3: f64,
    pub last_year_m3: f64,
    pub projected_m3: f64,
    pub projection_method: Method,
    pub k_projected: Option<f64>,
    pub k_last_year: Option<f64>,
}

/// City-wide figures.
#[derive(Clone, Debug, Serialize)]
pub struct City {
    pub cap_m3: f64,
    /// 太原供水集团, counties, and the total against the cap.
    pub budgets: Vec<BudgetFigures>,
    pub by_aquifer: Vec<GroupFigures>,
    pub by_source: Vec<GroupFigures>,
}

/// Where a county stands against one deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    Upcoming,
    Passed,
    Met,
}

/// A deadline and where the county stands against it.
#[derive(Clone, Debug, Serialize)]
pub struct Deadlines {
    pub self_assessment: Option<String>,
    pub exit: Option<String>,
    pub days_to_self_assessment: Option<i64>,
    pub days_to_exit: Option<i64>,
    pub self_assessment_state: Option<DeadlineState>,
    pub exit_state: Option<DeadlineState>,
    pub self_assessment_met: Option<String>,
    pub exit_met: Option<String>,
}

/// Metering coverage.
#[derive(Clone, Debug, Serialize)]
pub struct Metering {
    pub obligated: usize,
    pub reporting: usize,
    pub coverage: Option<f64>,
    /// Obliged intakes that have not reported within the configured days.
    pub silent: Vec<SilentIntake>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SilentIntake {
    pub id: String,
    pub name: String,
    /// Last reading (local time), if any.
    pub last_reading: Option<String>,
}

/// An intake over (or projected over) its permit.
#[derive(Clone, Debug, Serialize)]
pub struct PermitExcess {
    pub id: String,
    pub name: String,
    pub permit_m3: f64,
    pub ytd_m3: f64,
    pub projected_m3: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Permits {
    pub over: Vec<PermitExcess>,
    pub projected_over: Vec<PermitExcess>,
}

/// One monitoring well and its trend.
#[derive(Clone, Debug, Serialize)]
pub struct WellStatus {
    pub id: String,
    pub name: String,
    pub aquifer: &'static str,
    /// Chinese name of the aquifer type.
    pub aquifer_label: &'static str,
    pub trend: WellTrend,
    /// Monthly mean levels from the window start (NaN → null), for charts.
    #[serde(skip)]
    pub monthly_level_m: Vec<f64>,
}

/// One county's assessment.
#[derive(Clone, Debug, Serialize)]
pub struct CountyStatus {
    pub code: CountyCode,
    pub name: String,
    /// This year's quota, prorated by days when the split changes during the year.
    pub quota_m3: Option<f64>,
    pub quota_example: bool,
    pub last_year_quota_m3: Option<f64>,
    pub ytd_m3: f64,
    pub ytd_estimated_m3: f64,
    pub last_year_m3: f64,
    pub last_year_estimated_m3: f64,
    pub rolling_12m_m3: f64,
    pub projected_m3: f64,
    pub projection: Projection,
    /// k of this year's projection.
    pub k: Option<f64>,
    pub k_last_year: Option<f64>,
    pub verdict: Verdict,
    pub verdict_label: &'static str,
    pub criteria: Vec<Criterion>,
    pub deadlines: Deadlines,
    pub metering: Metering,
    pub permits: Permits,
    pub by_aquifer: Vec<GroupFigures>,
    pub by_source: Vec<GroupFigures>,
    /// The county's mean level series trend (mean of its wells' monthly levels).
    pub level_trend: WellTrend,
    pub wells: Vec<WellStatus>,
    /// County mean monthly level series from the window start, for charts.
    #[serde(skip)]
    pub monthly_level_m: Vec<f64>,
}

/// Raw-table counts.
pub type Ingest = Counts;

/// The whole status document.
#[derive(Clone, Debug, Serialize)]
pub struct StatusDoc {
    pub as_of: String,
    pub year: i16,
    /// True when quotas or the registry are example figures (示例值).
    pub example_data: bool,
    /// What the level figures are computed on.
    pub level_basis: &'static str,
    pub trend_window_start: String,
    pub city: City,
    pub counties: Vec<CountyStatus>,
    pub ingest: Ingest,
}

/// Which figures of an intake count towards a county's quota: groundwater of the county budget.
pub fn counts_for_county_quota(i: &Intake) -> bool {
    i.budget == Budget::County && i.source == Source::Groundwater
}

fn deadline_state(deadline: Option<Date>, met: Option<Date>, as_of: Date) -> Option<DeadlineState> {
    let d = deadline?;
    Some(if met.is_some() {
        DeadlineState::Met
    } else if as_of > d {
        DeadlineState::Passed
    } else {
        DeadlineState::Upcoming
    })
}

fn deadlines(c: &County, as_of: Date) -> Deadlines {
    Deadlines {
        self_assessment: c.self_assessment.map(|d| d.to_string()),
        exit: c.exit.map(|d| d.to_string()),
        days_to_self_assessment: c.self_assessment.map(|d| days_between(as_of, d)),
        days_to_exit: c.exit.map(|d| days_between(as_of, d)),
        self_assessment_state: deadline_state(c.self_assessment, c.self_assessment_met, as_of),
        exit_state: deadline_state(c.exit, c.exit_met, as_of),
        self_assessment_met: c.self_assessment_met.map(|d| d.to_string()),
        exit_met: c.exit_met.map(|d| d.to_string()),
    }
}

/// Computes the status document as of `as_of` from the store behind `conn`.
pub fn status(cfg: &Config, conn: &Connection, as_of: Date) -> Result<StatusDoc, StoreError> {
    let w = Windows::new(as_of);
    let year = w.year;
    let reg = &cfg.registry;
    let sums = query::intake_window_sums(conn, reg.intakes.iter().map(|i| i.id.as_str()), &w)?;
    let until = cfg.clock.day_end(as_of);
    let last = query::last_readings(
        conn,
        reg.intakes
            .iter()
            .filter(|i| i.metering_duty)
            .map(|i| i.id.as_str()),
        until,
    )?;
    let window_start = cfg.assessment.window_start;
    let levels_by_well = query::monthly_levels(conn, window_start, as_of)?;
    let tp = TrendParams {
        alpha: cfg.assessment.alpha,
        min_years: cfg.assessment.min_level_years,
        min_completeness: cfg.assessment.min_monthly_completeness,
    };
    let sum_of = |pred: &dyn Fn(&Intake) -> bool| {
        let mut s = WindowSums::default();
        for i in reg.intakes.iter().filter(|i| pred(i)) {
            if let Some(x) = sums.get(i.id.as_str()) {
                s += *x;
            }
        }
        s
    };

    // City and budgets (groundwater only: the cap is on groundwater).
    let gw = |i: &Intake| i.source == Source::Groundwater;
    let b = &cfg.budgets;
    let budget_fig = |key: &str, label: &str, quota: f64, s: WindowSums| {
        let p = project(&w, &s);
        BudgetFigures {
            budget: key.to_string(),
            label: label.to_string(),
            quota_m3: quota,
            ytd_m3: s.ytd.m3,
            ytd_estimated_m3: s.ytd.estimated_m3,
            last_year_m3: s.last_year.m3,
            projected_m3: p.projected_m3,
            projection_method: p.method,
            k_projected: k(p.projected_m3, Some(quota)),
            k_last_year: k(s.last_year.m3, Some(quota)),
        }
    };
    let city = City {
        cap_m3: b.city_cap_m3,
        budgets: vec![
            budget_fig(
                "supply_group",
                Budget::SupplyGroup.label(),
                b.supply_group_m3,
                sum_of(&|i| gw(i) && i.budget == Budget::SupplyGroup),
            ),
            budget_fig(
                "counties",
                Budget::County.label(),
                b.counties_m3,
                sum_of(&|i| gw(i) && i.budget == Budget::County),
            ),
            budget_fig("city_total", "全市合计", b.city_cap_m3, sum_of(&gw)),
        ],
        by_aquifer: Aquifer::ALL
            .iter()
            .map(|a| {
                let s = sum_of(&|i| gw(i) && i.aquifer == *a);
                GroupFigures::new(a.as_str(), a.label(), &s, &project(&w, &s))
            })
            .collect(),
        by_source: Source::ALL
            .iter()
            .map(|src| {
                let s = sum_of(&|i| i.source == *src);
                GroupFigures::new(src.as_str(), source_label(*src), &s, &project(&w, &s))
            })
            .collect(),
    };

    let mut counties = Vec::new();
    for c in &cfg.counties {
        counties.push(county_status(
            cfg,
            c,
            &w,
            &sums,
            &last,
            &levels_by_well,
            &tp,
        ));
    }
    let _ = year;
    Ok(StatusDoc {
        as_of: as_of.to_string(),
        year,
        example_data: cfg.has_example_data(),
        level_basis: "level_m: 水位（m，高程基准以上；上升 = 水位回升）",
        trend_window_start: window_start.to_string(),
        city,
        counties,
        ingest: store::counts(conn)?,
    })
}

fn source_label(s: Source) -> &'static str {
    match s {
        Source::Groundwater => "地下水",
        Source::Surface => "地表水",
        Source::Reclaimed => "再生水",
        Source::Mine => "矿井疏干水",
    }
}

fn county_status(
    cfg: &Config,
    c: &County,
    w: &Windows,
    sums: &std::collections::HashMap<&str, WindowSums>,
    last: &std::collections::HashMap<&str, i64>,
    levels_by_well: &query::MonthlyPoints<f64>,
    tp: &TrendParams,
) -> CountyStatus {
    let reg = &cfg.registry;
    let code: CountyCode = c.code;
    let in_county: Vec<&Intake> = reg.intakes.iter().filter(|i| i.county == code).collect();
    let of = |i: &Intake| sums.get(i.id.as_str()).copied().unwrap_or_default();
    let mut quota_sums = WindowSums::default();
    for i in in_county.iter().filter(|i| counts_for_county_quota(i)) {
        quota_sums += of(i);
    }
    let projection = project(w, &quota_sums);
    let quota = county_quota_for_year(&cfg.quota_versions, code, w.year);
    let ly_quota = county_quota_for_year(&cfg.quota_versions, code, w.year - 1);
    let k_now = k(projection.projected_m3, quota);
    let k_ly = (quota_sums.last_year.m3 > 0.0)
        .then(|| k(quota_sums.last_year.m3, ly_quota))
        .flatten();

    // Metering.
    let silent_after = cfg.metering.silent_after_days * 86_400;
    let until = cfg.clock.day_end(w.as_of);
    let obliged: Vec<&&Intake> = in_county.iter().filter(|i| i.metering_duty).collect();
    let mut silent = Vec::new();
    for i in &obliged {
        let ts = last.get(i.id.as_str()).copied();
        if ts.is_none_or(|t| t < until - silent_after) {
            silent.push(SilentIntake {
                id: i.id.clone(),
                name: i.name.clone(),
                last_reading: ts.map(|t| cfg.clock.format(t)),
            });
        }
    }
    let reporting = obliged.len() - silent.len();
    let metering = Metering {
        obligated: obliged.len(),
        reporting,
        coverage: (!obliged.is_empty()).then(|| reporting as f64 / obliged.len() as f64),
        silent,
    };

    // Permits.
    let mut permits = Permits {
        over: Vec::new(),
        projected_over: Vec::new(),
    };
    for i in &in_county {
        if i.permit_m3_per_year <= 0.0 {
            continue;
        }
        let s = of(i);
        let p = project(w, &s);
        let e = PermitExcess {
            id: i.id.clone(),
            name: i.name.clone(),
            permit_m3: i.permit_m3_per_year,
            ytd_m3: s.ytd.m3,
            projected_m3: p.projected_m3,
        };
        if s.ytd.m3 > i.permit_m3_per_year {
            permits.over.push(e);
        } else if p.projected_m3 > i.permit_m3_per_year {
            permits.projected_over.push(e);
        }
    }

    // Groups.
    let by_aquifer = Aquifer::ALL
        .iter()
        .filter_map(|a| {
            let mut s = WindowSums::default();
            let mut any = false;
            for i in in_county
                .iter()
                .filter(|i| i.source == Source::Groundwater && i.aquifer == *a)
            {
                s += of(i);
                any = true;
            }
            any.then(|| GroupFigures::new(a.as_str(), a.label(), &s, &project(w, &s)))
        })
        .collect();
    let by_source = Source::ALL
        .iter()
        .filter_map(|src| {
            let mut s = WindowSums::default();
            let mut any = false;
            for i in in_county.iter().filter(|i| i.source == *src) {
                s += of(i);
                any = true;
            }
            any.then(|| GroupFigures::new(src.as_str(), source_label(*src), &s, &project(w, &s)))
        })
        .collect();

    // Wells.
    let start = cfg.assessment.window_start;
    let wells: Vec<WellStatus> = cfg
        .registry
        .wells
        .iter()
        .filter(|wl| wl.county == code)
        .map(|wl| {
            let pts = levels_by_well.get(&wl.id).map(Vec::as_slice).unwrap_or(&[]);
            let series = levels::monthly_series(pts, start, w.as_of);
            WellStatus {
                id: wl.id.clone(),
                name: wl.name.clone(),
                aquifer: wl.aquifer.as_str(),
                aquifer_label: wl.aquifer.label(),
                trend: levels::well_trend(&series, start, tp),
                monthly_level_m: series,
            }
        })
        .collect();
    let county_series = levels::county_series(
        &wells
            .iter()
            .map(|w| w.monthly_level_m.clone())
            .collect::<Vec<_>>(),
    );
    let level_trend = levels::well_trend(&county_series, start, tp);
    let trends: Vec<WellTrend> = wells.iter().map(|w| w.trend.clone()).collect();

    let facts = CountyFacts {
        k_last_year: k_ly,
        last_year: w.year - 1,
        last_year_m3: quota_sums.last_year.m3,
        k_projected: (quota_sums.ytd.m3 > 0.0 || quota_sums.last_90d.m3 > 0.0)
            .then_some(k_now)
            .flatten(),
        projected_m3: projection.projected_m3,
        quota_m3: quota,
        wells: &trends,
        obligated: metering.obligated,
        reporting: metering.reporting,
        over_permit: permits.over.len(),
        projected_over_permit: permits.projected_over.len(),
        has_volume_data: quota_sums.ytd.m3 > 0.0 || quota_sums.last_year.m3 > 0.0,
    };
    let (criteria, verdict) = assess(&facts, &cfg.assessment.thresholds());
    let quota_example = cfg.quota_versions.iter().any(|v| v.example);

    CountyStatus {
        code,
        name: c.name.clone(),
        quota_m3: quota,
        quota_example,
        last_year_quota_m3: ly_quota,
        ytd_m3: quota_sums.ytd.m3,
        ytd_estimated_m3: quota_sums.ytd.estimated_m3,
        last_year_m3: quota_sums.last_year.m3,
        last_year_estimated_m3: quota_sums.last_year.estimated_m3,
        rolling_12m_m3: quota_sums.rolling_12m.m3,
        projected_m3: projection.projected_m3,
        projection,
        k: k_now,
        k_last_year: k_ly,
        verdict,
        verdict_label: verdict.label(),
        criteria,
        deadlines: deadlines(c, w.as_of),
        metering,
        permits,
        by_aquifer,
        by_source,
        level_trend,
        wells,
        monthly_level_m: county_series,
    }
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
