//! One county's folder: the four charts (exit readiness, cumulative withdrawal, monthly
//! withdrawal, hydrographs), each with the CSV of its numbers, and `summary.md`.

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use rusqlite::Connection;

use super::series::{self, MonthSums};
use super::{ReportError, county_dir, csv, io, meta, summary};
use crate::analysis::accounting::{Vol, county_quota_for_year, quota_steps};
use crate::analysis::verdict::Status;
use crate::assess::{CountyStatus, StatusDoc, counts_for_county_quota};
use crate::config::Config;
use crate::output::charts::{
    self, ChartKind, ChartMeta, CumulativeWithdrawal, CurrentYear, Deadline, ExitReadiness,
    Hydrographs, LevelKind, MonthlyWithdrawal, WellSeries,
};
use crate::store::query::{self, MonthlyPoints};

/// What every county's bundle of one run reads: the same for all counties.
pub struct Run<'a> {
    pub cfg: &'a Config,
    pub doc: &'a StatusDoc,
    /// Monthly volumes of every intake from `base` to `as_of`.
    pub monthly: &'a MonthlyPoints<Vol>,
    /// The first month of the annual history.
    pub base: Date,
    pub as_of: Date,
    pub out: &'a Path,
    pub csv: csv::CsvForm,
}

/// One county's figures as the charts of its folder share them.
struct County<'a> {
    c: &'a CountyStatus,
    /// The intakes that count towards the county's quota.
    intakes: Vec<&'a str>,
    by_month: MonthSums,
    dir: PathBuf,
}

/// Writes the folder of county `c` and returns the files written.
pub fn bundle(
    run: &Run<'_>,
    conn: &Connection,
    c: &CountyStatus,
) -> Result<Vec<PathBuf>, ReportError> {
    let dir = run.out.join(county_dir(c));
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let intakes: Vec<&str> = run
        .cfg
        .registry
        .intakes
        .iter()
        .filter(|i| i.county == c.code && counts_for_county_quota(i))
        .map(|i| i.id.as_str())
        .collect();
    let county = County {
        c,
        by_month: series::month_sums(intakes.iter().copied(), run.monthly),
        intakes,
        dir,
    };
    let mut files = readiness(run, &county)?;
    files.extend(cumulative(run, conn, &county)?);
    files.extend(monthly(run, &county)?);
    files.extend(hydrographs(run, &county)?);
    let p = county.dir.join("summary.md");
    std::fs::write(&p, summary::render(run.cfg, run.doc, c)?).map_err(io(&p))?;
    files.push(p);
    Ok(files)
}

impl Run<'_> {
    fn meta(&self, c: &CountyStatus) -> ChartMeta {
        meta(&c.name, self.doc, self.as_of)
    }
}

/// Exit readiness: annual withdrawal against the quota, this year's projection, the deadlines,
/// the county's mean level with its trend, and the verdict with what fails.
fn readiness(run: &Run<'_>, k: &County<'_>) -> Result<Vec<PathBuf>, ReportError> {
    let (cfg, c, year) = (run.cfg, k.c, run.doc.year);
    let years = series::annual_history(&k.by_month, run.base.year(), year, c.last_year_m3, |y| {
        county_quota_for_year(&cfg.quota_versions, c.code, y)
    });
    let county_cfg = cfg.county(c.code);
    let deadlines = [
        county_cfg
            .and_then(|x| x.self_assessment)
            .map(|d| Deadline::self_assessment(series::ymd(d))),
        county_cfg
            .and_then(|x| x.exit)
            .map(|d| Deadline::exit(series::ymd(d))),
    ];
    let start = cfg.assessment.window_start;
    let levels = series::monthly_points(&c.monthly_level_m, start);
    let current = CurrentYear {
        year: i32::from(year),
        to_date_m3: c.ytd_m3,
        projected_m3: c.projected_m3,
        quota_m3: c.quota_m3.unwrap_or(f64::NAN),
    };
    let chart = ExitReadiness {
        meta: run.meta(c),
        years,
        current: Some(current),
        deadlines: deadlines.into_iter().flatten().collect(),
        level_kind: LevelKind::Level,
        levels: series::dated(&levels),
        trend: series::trend_line(&c.level_trend, start),
        verdict: c.verdict_label.to_string(),
        failing: c
            .criteria
            .iter()
            .filter(|x| x.status != Status::Pass)
            .map(|x| format!("{}（{}）：{}", x.label(), x.status.label(), x.detail))
            .collect(),
    };
    let mut files = charts::render_all(ChartKind::ExitReadiness(&chart), &k.dir, "readiness")?;
    files.push(csv::write_file(
        run.csv,
        k.dir.join("readiness.csv"),
        |w| csv::readiness(w, &chart.years, &current),
    )?);
    files.push(csv::write_file(
        run.csv,
        k.dir.join("readiness_levels.csv"),
        |w| {
            csv::readiness_levels(
                w,
                &levels,
                c.level_trend.sen_slope_m_per_year,
                c.level_trend.sen_intercept_m,
            )
        },
    )?);
    Ok(files)
}

/// Cumulative withdrawal this year against last year and the quota's steps.
fn cumulative(
    run: &Run<'_>,
    conn: &Connection,
    k: &County<'_>,
) -> Result<Vec<PathBuf>, ReportError> {
    let (c, year) = (k.c, run.doc.year);
    let last_year_start = Date::new(year - 1, 1, 1).unwrap_or(run.as_of);
    let days =
        query::daily_volume_sums(conn, k.intakes.iter().copied(), last_year_start, run.as_of)?;
    let (this_year, last_year) = series::cumulative(&days, year);
    let steps = series::quota_step_days(&quota_steps(&run.cfg.quota_versions, c.code, year));
    let chart = CumulativeWithdrawal {
        meta: run.meta(c),
        year: i32::from(year),
        this_year,
        last_year,
        quota_steps: steps,
        projected_year_end_m3: Some(c.projected_m3),
        k_text: c.k.map(|k| run.doc.fmt_k(Some(k))),
    };
    let mut files = charts::render_all(ChartKind::Cumulative(&chart), &k.dir, "cumulative")?;
    files.push(csv::write_file(
        run.csv,
        k.dir.join("cumulative.csv"),
        |w| {
            csv::cumulative(
                w,
                &chart.this_year,
                &chart.last_year,
                &chart.quota_steps,
                c.projected_m3,
            )
        },
    )?);
    Ok(files)
}

/// Monthly withdrawal of the last three years.
fn monthly(run: &Run<'_>, k: &County<'_>) -> Result<Vec<PathBuf>, ReportError> {
    let chart = MonthlyWithdrawal {
        meta: run.meta(k.c),
        years: series::last_three_years(&k.by_month, run.doc.year),
    };
    let mut files = charts::render_all(ChartKind::Monthly(&chart), &k.dir, "monthly")?;
    files.push(csv::write_file(run.csv, k.dir.join("monthly.csv"), |w| {
        csv::monthly(w, &chart.years)
    })?);
    Ok(files)
}

/// Each monitoring well's monthly mean level with its trend line.
fn hydrographs(run: &Run<'_>, k: &County<'_>) -> Result<Vec<PathBuf>, ReportError> {
    let start = run.cfg.assessment.window_start;
    let points: Vec<Vec<(Date, f64)>> =
        k.c.wells
            .iter()
            .map(|w| series::monthly_points(&w.monthly_level_m, start))
            .collect();
    let chart = Hydrographs {
        meta: run.meta(k.c),
        kind: LevelKind::Level,
        wells: k
            .c
            .wells
            .iter()
            .zip(&points)
            .map(|(w, p)| WellSeries {
                id: w.id.clone(),
                points: series::dated(p),
                trend: series::trend_line(&w.trend, start),
            })
            .collect(),
    };
    let mut files = charts::render_all(ChartKind::Hydrographs(&chart), &k.dir, "hydrographs")?;
    files.push(csv::write_file(
        run.csv,
        k.dir.join("hydrographs.csv"),
        |w| {
            csv::hydrographs(
                w,
                k.c.wells
                    .iter()
                    .zip(&points)
                    .map(|(w, p)| (w.id.as_str(), p.as_slice())),
            )
        },
    )?);
    Ok(files)
}
