//! Water-level trends per well and per county.
//!
//! Everything is computed on the water **level** (m above the datum; up = more water). The store
//! keeps the level for every reading (converted from depth with the well's ground elevation), so
//! a rising depth to water shows here as a falling level, never the other way round.
//!
//! Per well: monthly means over the evaluation window (missing months NaN), the seasonal
//! Mann–Kendall test and seasonal Sen's slope with period 12 (as `pymannkendall`), and the
//! regulatory mean annual change rate from the first to the last annual mean in the window.

use jiff::civil::Date;
use serde::Serialize;

use super::trend::{
    MkResult, Trend, correlated_seasonal_test, hamed_rao_test, seasonal_sens_slope, seasonal_test,
};

mod bulletin;
mod screen;

pub use bulletin::{Bulletin, BulletinClass, bulletin};
pub use screen::screen_outliers;
use screen::{deseasonalise, find_steps};

/// Months from `start` to `end` inclusive (both as first-of-month or any day in the month).
pub fn months_between(start: Date, end: Date) -> usize {
    let a = i32::from(start.year()) * 12 + i32::from(start.month()) - 1;
    let b = i32::from(end.year()) * 12 + i32::from(end.month()) - 1;
    (b - a + 1).max(0) as usize
}

/// Index of a `(year, month)` in a monthly series starting at `start`'s month.
pub fn month_index(start: Date, year: i16, month: i8) -> Option<usize> {
    let a = i32::from(start.year()) * 12 + i32::from(start.month()) - 1;
    let b = i32::from(year) * 12 + i32::from(month) - 1;
    usize::try_from(b - a).ok()
}

/// A dense monthly series (NaN where a month has no data) from `(year, month, value)` points.
pub fn monthly_series(points: &[(i16, i8, f64)], start: Date, end: Date) -> Vec<f64> {
    let n = months_between(start, end);
    let mut v = vec![f64::NAN; n];
    for &(y, m, x) in points {
        if let Some(i) = month_index(start, y, m)
            && i < n
            && x.is_finite()
        {
            v[i] = x;
        }
    }
    v
}

/// Direction of a well's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Rising,
    Stable,
    Declining,
    InsufficientData,
}

impl Direction {
    /// Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Direction::Rising => "上升",
            Direction::Stable => "稳定",
            Direction::Declining => "下降",
            Direction::InsufficientData => "数据不足",
        }
    }
}

/// Thresholds for judging one well.
#[derive(Clone, Copy, Debug)]
pub struct TrendParams {
    pub alpha: f64,
    pub min_years: f64,
    pub min_completeness: f64,
    /// A well counts only with data in the last this many months before the as-of date.
    pub recent_months: usize,
    /// Months with data a calendar year needs for an annual mean.
    pub min_months_per_year: usize,
    /// The recent window: this many complete calendar years plus the year to date.
    pub recent_years: u32,
    /// A month is an outlier when its deseasonalised level lies more than this many MADs from
    /// the median of the 13 months around it (0 turns screening off).
    pub outlier_mad_k: f64,
    /// A jump between consecutive months larger than this (m, deseasonalised, lasting) is a
    /// step: a datum change, a new measuring point or a new sensor (0 turns it off).
    pub step_m: f64,
    /// A record that stopped (no data in the recent months) within this many months of the
    /// as-of date still counts as evidence when it was falling.
    pub ended_months: usize,
}

/// The trend figures of one well (or of a county's mean series).
#[derive(Clone, Debug, Serialize)]
pub struct WellTrend {
    /// Months with data in the window (outliers left out).
    pub n_months: usize,
    /// Months of the well's own record: from its first month with data to the as-of month.
    pub window_months: usize,
    /// `n_months / window_months`: completeness over the well's own record, so a network
    /// installed after the window's start is not short of data for the months before it.
    pub completeness: f64,
    /// First month with data (`YYYY-MM`).
    pub record_start: Option<String>,
    /// Years from the first to the last month with data.
    pub years_of_data: f64,
    /// Data within the recent months before the as-of date.
    pub recent: bool,
    /// Enough data to count towards the county's verdict: long and complete enough, and recent.
    pub sufficient: bool,
    /// A significant decline on a record shorter than required: not enough to judge the well,
    /// too much to ignore (it makes the level criterion at least at risk).
    pub short_record_decline: bool,
    /// A significant decline (uncorrected seasonal test) on a record too gappy to judge: fewer
    /// complete years than the decisive test needs, or under the completeness required.
    pub sparse_decline: bool,
    /// A falling record that stopped within `ended_months` of the as-of date.
    pub ended_decline: bool,
    /// The last readings sit at the deepest the record ever reached, after a fall of more than
    /// a metre: the well has gone dry (the pump or sensor is above the water), not silent.
    pub dry: bool,
    /// The decisive test: the seasonal Mann–Kendall test corrected for serial correlation
    /// (Hirsch & Slack 1984) on the complete years of the record.
    pub corr_z: Option<f64>,
    pub corr_p: Option<f64>,
    pub corr_var: Option<f64>,
    /// Complete calendar years the decisive test used.
    pub corr_years: usize,
    /// What decided the well's direction: `hirsch_slack` (the correlated seasonal test over its
    /// record), or `recent_window` on a record with fewer than four complete years.
    pub decided_by: &'static str,
    /// The recent window's trend (Hamed–Rao modified Mann–Kendall on the deseasonalised
    /// months of the last complete years plus the year to date).
    pub recent_window: Option<RecentTrend>,
    /// Months screened out as outliers: kept in the store, left out of every figure.
    pub outliers: Vec<FlaggedMonth>,
    /// Lasting jumps between consecutive months, with the trend on each side.
    pub steps: Vec<Step>,
    /// The uncorrected seasonal Mann–Kendall test (Hirsch et al. 1982), shown beside the
    /// decisive one.
    pub mk_s: Option<f64>,
    pub mk_var: Option<f64>,
    pub mk_z: Option<f64>,
    pub mk_p: Option<f64>,
    pub mk_tau: Option<f64>,
    /// Seasonal Sen's slope of the level, m per year (positive = rising water).
    pub sen_slope_m_per_year: Option<f64>,
    /// Intercept of the Sen line in m at month index 0 (per pymannkendall: level at the start of
    /// the window, with the slope per year and the index in years).
    pub sen_intercept_m: Option<f64>,
    /// Mean annual change rate v (m/a) between the first and the last complete calendar year of
    /// the window, each year's mean taken over the months both years have.
    pub mean_annual_change_m: Option<f64>,
    /// The last complete calendar year's mean level and its year.
    pub latest_annual_mean_m: Option<f64>,
    pub latest_annual_mean_year: Option<i16>,
    pub direction: Direction,
    /// What the series measures.
    pub basis: &'static str,
}

/// The trend of the recent window.
#[derive(Clone, Debug, Serialize)]
pub struct RecentTrend {
    /// First month of the window (`YYYY-MM`, a January).
    pub from: String,
    pub window_months: usize,
    pub n_months: usize,
    /// Enough data in the window to test it (the completeness required, at least 24 months).
    pub assessable: bool,
    pub z: Option<f64>,
    pub p: Option<f64>,
    /// Seasonal Sen slope over the window, m/a (positive = rising water).
    pub sen_slope_m_per_year: Option<f64>,
    /// A significant decline over the window.
    pub declining: bool,
    /// A significant rise over the window.
    pub rising: bool,
}

/// A month left out of the figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlaggedMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The level recorded, m.
    pub level_m: f64,
    /// What the months around it put it at (their median, season added back), m.
    pub expected_m: f64,
}

/// A lasting jump in a well's level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// The first month after the jump (`YYYY-MM`).
    pub month: String,
    /// The jump, m (positive = the level jumped up).
    pub jump_m: f64,
    /// Seasonal Sen slopes before and after the jump, m/a.
    pub slope_before_m_per_year: Option<f64>,
    pub slope_after_m_per_year: Option<f64>,
}

/// `YYYY-MM` of month index `i` of a series starting at `start`.
pub fn month_label(start: Date, i: usize) -> String {
    let m = i32::from(start.year()) * 12 + i32::from(start.month()) - 1 + i as i32;
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// The series with everything outside `range` missing.
fn only(series: &[f64], range: std::ops::Range<usize>) -> Vec<f64> {
    series
        .iter()
        .enumerate()
        .map(|(i, x)| if range.contains(&i) { *x } else { f64::NAN })
        .collect()
}

/// The months (1–12) with data of one calendar year of a monthly series starting at `start`:
/// `(month, value)`.
fn year_months(series: &[f64], start: Date, year: i16) -> Vec<(i8, f64)> {
    (1..=12i8)
        .filter_map(|m| {
            let i = month_index(start, year, m)?;
            let x = *series.get(i)?;
            x.is_finite().then_some((m, x))
        })
        .collect()
}

/// The complete calendar years of a series whose last month is `as_of`'s: the years that ended
/// on or before `as_of` and that have at least `min_months` months of data.
fn complete_years(series: &[f64], start: Date, as_of: Date, min_months: usize) -> Vec<i16> {
    let last_ended = if as_of.month() == 12 && as_of.day() == 31 {
        as_of.year()
    } else {
        as_of.year() - 1
    };
    (start.year()..=last_ended)
        .filter(|&y| year_months(series, start, y).len() >= min_months.max(1))
        .collect()
}

/// Annual means `(year, mean)` of the complete calendar years (see [`complete_years`]).
pub fn annual_means(
    series: &[f64],
    start: Date,
    as_of: Date,
    min_months: usize,
) -> Vec<(i16, f64)> {
    complete_years(series, start, as_of, min_months)
        .into_iter()
        .map(|y| {
            let v = year_months(series, start, y);
            (y, v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64)
        })
        .collect()
}

/// Mean annual change rate v (m/a) between the first and the last complete calendar year, each
/// year's mean taken over the months both years have — so neither a partial year nor a missing
/// season reads as a change of level.
pub fn mean_annual_change(
    series: &[f64],
    start: Date,
    as_of: Date,
    min_months: usize,
) -> Option<f64> {
    let years = complete_years(series, start, as_of, min_months);
    let (&first, &last) = (years.first()?, years.last()?);
    if last <= first {
        return None;
    }
    let a = year_months(series, start, first);
    let b = year_months(series, start, last);
    let common: Vec<(f64, f64)> = a
        .iter()
        .filter_map(|(m, x)| b.iter().find(|(n, _)| n == m).map(|(_, y)| (*x, *y)))
        .collect();
    if common.len() < min_months.max(1) {
        return None;
    }
    let n = common.len() as f64;
    let mean_a = common.iter().map(|c| c.0).sum::<f64>() / n;
    let mean_b = common.iter().map(|c| c.1).sum::<f64>() / n;
    Some((mean_b - mean_a) / f64::from(last - first))
}

/// Complete years the correlated seasonal test needs before it can decide a well.
pub const MIN_DECISIVE_YEARS: usize = 4;

/// The last calendar year complete on `as_of`.
fn last_complete_year(as_of: Date) -> i16 {
    if as_of.month() == 12 && as_of.day() == 31 {
        as_of.year()
    } else {
        as_of.year() - 1
    }
}

/// The recent window's trend of a (screened) series.
fn recent_trend(series: &[f64], start: Date, as_of: Date, p: &TrendParams) -> Option<RecentTrend> {
    let from_year = last_complete_year(as_of) - p.recent_years.max(1) as i16 + 1;
    let from_year = from_year.max(start.year());
    // The window starts in a January inside the series (seasons line up with months).
    let off = month_index(start, from_year, 1).filter(|&o| o < series.len())?;
    let window = &series[off..];
    let (_, d) = deseasonalise(series, start);
    let n = window.iter().filter(|x| x.is_finite()).count();
    let assessable = n >= 24 && n as f64 / window.len() as f64 >= p.min_completeness;
    let hr = hamed_rao_test(&d[off..], p.alpha);
    let (slope, _) = seasonal_sens_slope(window, 12);
    let finite = |x: f64| x.is_finite().then_some(x);
    Some(RecentTrend {
        from: format!("{from_year:04}-01"),
        window_months: window.len(),
        n_months: n,
        assessable,
        z: hr.and_then(|r| finite(r.z)),
        p: hr.and_then(|r| finite(r.p)),
        sen_slope_m_per_year: finite(slope),
        declining: assessable && hr.is_some_and(|r| r.trend == Trend::Decreasing),
        rising: assessable && hr.is_some_and(|r| r.trend == Trend::Increasing),
    })
}

/// Whether the well went dry: its record ends in a flat run (at least three months with data,
/// within 0.05 m) at the deepest level it ever reached, after a fall of more than a metre over
/// the 12 months before the run — the water is below the sensor or the pump, and the flat line
/// is no sign of stability.
fn went_dry(series: &[f64]) -> bool {
    let v: Vec<f64> = series.iter().copied().filter(|x| x.is_finite()).collect();
    let lowest = v.iter().copied().fold(f64::INFINITY, f64::min);
    let run = v.iter().rev().take_while(|x| *x - lowest <= 0.05).count();
    if run < 3 || run == v.len() {
        return false;
    }
    let before = &v[..v.len() - run];
    let before = &before[before.len().saturating_sub(12)..];
    before.iter().copied().fold(f64::NEG_INFINITY, f64::max) - lowest > 1.0
}

/// Judges one monthly level series that starts in `start`'s month and ends in `as_of`'s (the
/// caller cuts the series at the as-of date). Months screened as outliers are left out of
/// every figure.
pub fn well_trend(raw: &[f64], start: Date, as_of: Date, p: &TrendParams) -> WellTrend {
    let outliers = screen_outliers(raw, start, p.outlier_mad_k);
    let mut series = raw.to_vec();
    for o in &outliers {
        if let Some(i) = (0..series.len()).find(|&i| month_label(start, i) == o.month) {
            series[i] = f64::NAN;
        }
    }
    let series = series.as_slice();
    let n = series.iter().filter(|x| x.is_finite()).count();
    let first = series.iter().position(|x| x.is_finite());
    let last = series.iter().rposition(|x| x.is_finite());
    let years = match (first, last) {
        (Some(a), Some(b)) => (b - a + 1) as f64 / 12.0,
        _ => 0.0,
    };
    let window = series.len() - first.unwrap_or(0);
    let completeness = if window > 0 {
        n as f64 / window as f64
    } else {
        0.0
    };
    let recent = last.is_some_and(|l| l + p.recent_months.max(1) >= series.len());
    let ended = !recent && last.is_some_and(|l| l + p.ended_months.max(1) >= series.len());
    let long_enough = years >= p.min_years;
    let dry = went_dry(series);
    let corr = correlated_seasonal_test(series, 12, p.alpha);
    let corr_years = series
        .chunks_exact(12)
        .filter(|r| r.iter().all(|x| x.is_finite()))
        .count();
    let recent_window = recent_trend(series, start, as_of, p);
    // With fewer than four complete years the decisive test cannot reject "no trend" when the
    // months move together (|z| ≤ 1.57 on three years): such a record — a network installed a
    // few years ago — is decided by its recent window, which then spans most of it.
    let decided_by_recent = corr_years < MIN_DECISIVE_YEARS;
    let recent_assessable = recent_window.as_ref().is_some_and(|r| r.assessable);
    // Complete over its own record, with a testable recent window (old data alone does not
    // make a well count), and the decisive test possible.
    let complete_enough = completeness >= p.min_completeness
        && recent_assessable
        && (decided_by_recent || corr.is_some());
    let sufficient = long_enough && complete_enough && recent && !dry;
    // The uncorrected test, shown beside the decisive one and used as evidence on records too
    // short, sparse or ended to judge.
    let mk: Option<MkResult> = seasonal_test(series, 12, p.alpha);
    let (slope, intercept) = seasonal_sens_slope(series, 12);
    let direction_of = |r: Option<MkResult>| match r {
        Some(r) if r.trend == Trend::Increasing => Direction::Rising,
        Some(r) if r.trend == Trend::Decreasing => Direction::Declining,
        Some(_) => Direction::Stable,
        None => Direction::InsufficientData,
    };
    let uncorrected = direction_of(mk);
    // A well without enough data has no direction of its own; its statistics stay visible.
    let direction = match &recent_window {
        _ if !sufficient => Direction::InsufficientData,
        Some(r) if decided_by_recent && r.declining => Direction::Declining,
        Some(r) if decided_by_recent && r.rising => Direction::Rising,
        Some(_) if decided_by_recent => Direction::Stable,
        _ => direction_of(corr),
    };
    let finite = |x: f64| x.is_finite().then_some(x);
    let latest = annual_means(series, start, as_of, p.min_months_per_year)
        .last()
        .copied();
    let steps = find_steps(series, start, p.step_m)
        .into_iter()
        .map(|(i, jump)| WellTrend::step(series, start, i, jump))
        .collect();
    let falling = uncorrected == Direction::Declining;
    WellTrend {
        n_months: n,
        window_months: window,
        completeness,
        record_start: first.map(|f| month_label(start, f)),
        years_of_data: years,
        recent,
        sufficient,
        short_record_decline: !long_enough && falling,
        sparse_decline: long_enough && !complete_enough && (recent || ended) && falling,
        ended_decline: ended && falling,
        dry,
        corr_z: corr.and_then(|r| finite(r.z)),
        corr_p: corr.and_then(|r| finite(r.p)),
        corr_var: corr.map(|r| r.var_s),
        corr_years,
        decided_by: if decided_by_recent {
            "recent_window"
        } else {
            "hirsch_slack"
        },
        recent_window,
        outliers,
        steps,
        mk_s: mk.map(|r| r.s),
        mk_var: mk.map(|r| r.var_s),
        mk_z: mk.map(|r| r.z),
        mk_p: mk.map(|r| r.p),
        mk_tau: mk.and_then(|r| finite(r.tau)),
        sen_slope_m_per_year: finite(slope),
        sen_intercept_m: finite(intercept),
        mean_annual_change_m: mean_annual_change(series, start, as_of, p.min_months_per_year),
        latest_annual_mean_m: latest.map(|l| l.1),
        latest_annual_mean_year: latest.map(|l| l.0),
        direction,
        basis: "level_m",
    }
}

impl WellTrend {
    /// The step at month `i` with the seasonal Sen slope on each side of it.
    fn step(series: &[f64], start: Date, i: usize, jump: f64) -> Step {
        let slope = |r| {
            let (s, _) = seasonal_sens_slope(&only(series, r), 12);
            s.is_finite().then_some(s)
        };
        Step {
            month: month_label(start, i),
            jump_m: jump,
            slope_before_m_per_year: slope(0..i),
            slope_after_m_per_year: slope(i..series.len()),
        }
    }

    /// The recent window's Sen slope and whether it falls significantly.
    pub fn recent_label(&self) -> String {
        let t = self;
        match &t.recent_window {
            Some(r) if !r.assessable => format!("{} 起数据不足", r.from),
            Some(r) => format!(
                "{}{}",
                r.sen_slope_m_per_year
                    .map_or("—".into(), |s| format!("{s:+.3}")),
                if r.declining {
                    "，显著下降"
                } else if r.rising {
                    "，显著上升"
                } else {
                    ""
                }
            ),
            None => "—".into(),
        }
    }

    /// What is flagged on a well: dry, stopped, outlier months, steps.
    pub fn flags_label(&self) -> String {
        let t = self;
        let mut m = Vec::new();
        if t.dry {
            m.push("已干涸".to_string());
        } else if t.ended_decline {
            m.push("下降后停测".to_string());
        }
        if t.sparse_decline {
            m.push("记录稀疏但显著下降".to_string());
        }
        if t.short_record_decline {
            m.push("记录短但显著下降".to_string());
        }
        for o in &t.outliers {
            m.push(format!("异常值 {} ({:.2} m)", o.month, o.level_m));
        }
        for s in &t.steps {
            m.push(format!("突变 {} {:+.2} m", s.month, s.jump_m));
        }
        if m.is_empty() {
            "—".into()
        } else {
            m.join("；")
        }
    }

    /// The screened monthly series: `raw` with the outlier months missing.
    pub fn screened(&self, raw: &[f64], start: Date) -> Vec<f64> {
        raw.iter()
            .enumerate()
            .map(|(i, x)| {
                let m = month_label(start, i);
                if self.outliers.iter().any(|o| o.month == m) {
                    f64::NAN
                } else {
                    *x
                }
            })
            .collect()
    }
}

/// A county's mean level series from its wells' monthly series (same start and length): each
/// month is the mean of the wells' deviations from their own means that month, plus the mean of
/// those means — so a well dropping out does not make the county's level jump.
pub fn county_series(wells: &[Vec<f64>]) -> Vec<f64> {
    let n = wells.iter().map(Vec::len).max().unwrap_or(0);
    let means: Vec<Option<f64>> = wells
        .iter()
        .map(|w| {
            let v: Vec<f64> = w.iter().copied().filter(|x| x.is_finite()).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        })
        .collect();
    let present: Vec<f64> = means.iter().flatten().copied().collect();
    if present.is_empty() {
        return vec![f64::NAN; n];
    }
    let base = present.iter().sum::<f64>() / present.len() as f64;
    (0..n)
        .map(|i| {
            let devs: Vec<f64> = wells
                .iter()
                .zip(&means)
                .filter_map(|(w, m)| {
                    let x = *w.get(i)?;
                    let mean = (*m)?;
                    x.is_finite().then_some(x - mean)
                })
                .collect();
            if devs.is_empty() {
                f64::NAN
            } else {
                base + devs.iter().sum::<f64>() / devs.len() as f64
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }
    /// The shipped thresholds, for the tests of this module and of those that judge series
    /// the way wells are judged.
    pub(crate) fn params() -> TrendParams {
        TrendParams {
            alpha: 0.05,
            min_years: 3.0,
            min_completeness: 0.7,
            recent_months: 12,
            min_months_per_year: 6,
            recent_years: 3,
            outlier_mad_k: 5.0,
            step_m: 3.0,
            ended_months: 24,
        }
    }

    /// 6 years of a seasonal level falling 0.5 m/yr.
    fn falling() -> Vec<f64> {
        (0..72)
            .map(|i| {
                800.0 - 0.5 * (i as f64 / 12.0)
                    + ((i % 12) as f64 * std::f64::consts::FRAC_PI_6).sin() * 0.8
            })
            .collect()
    }

    #[test]
    fn falling_level_is_declining_with_negative_slope() {
        let t = well_trend(&falling(), d("2020-01-01"), d("2025-12-31"), &params());
        assert_eq!(t.direction, Direction::Declining);
        assert!(t.sufficient);
        assert!((t.sen_slope_m_per_year.unwrap() + 0.5).abs() < 1e-9);
        assert!((t.mean_annual_change_m.unwrap() + 0.5).abs() < 1e-9);
    }

    #[test]
    fn depth_rising_means_level_falling() {
        // A depth series rising 0.5 m/yr, converted to level with the ground elevation.
        let ground = 790.0;
        let depth: Vec<f64> = (0..72).map(|i| 20.0 + 0.5 * (i as f64 / 12.0)).collect();
        let level: Vec<f64> = depth.iter().map(|d| ground - d).collect();
        let t = well_trend(&level, d("2020-01-01"), d("2025-12-31"), &params());
        assert_eq!(t.direction, Direction::Declining);
        assert!(t.sen_slope_m_per_year.unwrap() < 0.0);
    }

    #[test]
    fn short_or_sparse_series_are_not_sufficient() {
        let mut s = falling();
        s.truncate(20);
        assert!(!well_trend(&s, d("2020-01-01"), d("2021-08-31"), &params()).sufficient);
        let sparse: Vec<f64> = falling()
            .iter()
            .enumerate()
            .map(|(i, x)| if i % 2 == 0 { *x } else { f64::NAN })
            .collect();
        let t = well_trend(&sparse, d("2020-01-01"), d("2025-12-31"), &params());
        assert!(!t.sufficient, "50% complete < 70%");
        let one = [800.0];
        assert_eq!(
            well_trend(&one, d("2020-01-01"), d("2020-01-31"), &params()).direction,
            Direction::InsufficientData
        );
    }

    #[test]
    fn monthly_series_and_annual_means() {
        let s = monthly_series(
            &[(2020, 3, 1.0), (2021, 1, 2.0), (2019, 12, 9.0)],
            d("2020-01-01"),
            d("2021-02-10"),
        );
        assert_eq!(s.len(), 14);
        assert_eq!(s[2], 1.0);
        assert_eq!(s[12], 2.0);
        assert!(s[0].is_nan());
        let a = annual_means(&falling(), d("2020-01-01"), d("2025-12-31"), 6);
        assert_eq!(a.len(), 6);
        // As of 30 June 2025 the year 2025 is not complete.
        let half: Vec<f64> = falling()[..66].to_vec();
        assert_eq!(
            annual_means(&half, d("2020-01-01"), d("2025-06-30"), 6).len(),
            5
        );
    }

    #[test]
    fn county_series_is_stable_when_a_well_drops_out() {
        let a = vec![10.0, 10.0, 10.0, 10.0];
        let b = vec![20.0, 20.0, f64::NAN, f64::NAN];
        let c = county_series(&[a, b]);
        assert!(c.iter().all(|x| (x - 15.0).abs() < 1e-9), "{c:?}");
    }

    /// Level 100 m every January–June and 98 m every July–December (a seasonal low), flat year
    /// on year; data stop at the end of September 2025.
    fn seasonal_flat_to_september() -> Vec<f64> {
        (0..69)
            .map(|i| if i % 12 < 6 { 100.0 } else { 98.0 })
            .collect()
    }

    #[test]
    fn v_uses_complete_years_so_a_partial_years_seasonal_low_is_no_decline() {
        let s = seasonal_flat_to_september();
        // As of 30 September 2025: 2025 is not complete, v over 2020–2024 is exactly 0.
        let v = mean_annual_change(&s, d("2020-01-01"), d("2025-09-30"), 6).unwrap();
        assert_eq!(v, 0.0);
        // (Counting 2025's nine months, mean 99.33 against 99.0, as a year would read +0.07 m/a.)
        // The same months year on year: 2020 has all 12 months, 2024 only January–June
        // (the rest missing): both years are compared on January–June, 100 against 100.
        let mut gappy = s.clone();
        for x in &mut gappy[54..60] {
            *x = f64::NAN;
        }
        let v = mean_annual_change(&gappy, d("2020-01-01"), d("2025-09-30"), 6).unwrap();
        assert_eq!(v, 0.0);
        // Hand-computed decline: 2021 mean 99, 2024 mean 97.5 (1.5 m lower): v = −0.5 m/a.
        let mut falling = s.clone();
        for x in &mut falling[48..60] {
            *x -= 1.5;
        }
        let v = mean_annual_change(&falling, d("2020-01-01"), d("2025-09-30"), 6).unwrap();
        assert!((v - (-1.5 / 4.0)).abs() < 1e-12, "{v}");
    }

    #[test]
    fn a_well_without_recent_data_is_not_sufficient() {
        // Six good years, then nothing for 14 months.
        let mut s = falling();
        s.extend([f64::NAN; 14]);
        let t = well_trend(&s, d("2020-01-01"), d("2027-02-28"), &params());
        assert!(!t.recent && !t.sufficient);
        assert_eq!(t.direction, Direction::InsufficientData);
        // Its statistics are still shown.
        assert!(t.sen_slope_m_per_year.is_some() && t.mk_p.is_some());
    }

    #[test]
    fn a_significant_decline_on_a_short_record_is_flagged() {
        // Two years falling 2 m/a: fewer than the three years required.
        let steep: Vec<f64> = falling()[..24]
            .iter()
            .enumerate()
            .map(|(i, x)| x - 1.5 * i as f64 / 12.0)
            .collect();
        let t = well_trend(&steep, d("2020-01-01"), d("2021-12-31"), &params());
        assert!(!t.sufficient);
        assert!(t.short_record_decline, "{t:?}");
        assert_eq!(t.direction, Direction::InsufficientData);
    }

    /// Deterministic small noise in [−0.05, 0.05) m.
    fn jitter(i: usize) -> f64 {
        ((i * 7919 + 13) % 101) as f64 / 1010.0 - 0.05
    }

    /// A seasonal level (0.8 m amplitude) with jitter, `level(i)` the trend part.
    fn seasonal(n: usize, level: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                level(i) + ((i % 12) as f64 * std::f64::consts::FRAC_PI_6).sin() * 0.8 + jitter(i)
            })
            .collect()
    }

    /// Two dozen trendless series with AR(1) noise (φ = 0.8): the uncorrected seasonal test
    /// calls many of them significant; the decisive (Hirsch–Slack) test about as many as α
    /// allows.
    #[test]
    fn autocorrelated_trendless_series_are_not_called_significant() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut uncorrected, mut corrected) = (0, 0);
        for _ in 0..24 {
            let mut ar = 0.0;
            let s: Vec<f64> = (0..96)
                .map(|i| {
                    // Box–Muller: a standard normal from two uniforms.
                    let (u1, u2) = (uniform().max(1e-12), uniform());
                    let e = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    ar = 0.8 * ar + 0.3 * e;
                    50.0 + ((i % 12) as f64 * std::f64::consts::FRAC_PI_6).sin() * 0.5 + ar
                })
                .collect();
            let t = well_trend(&s, d("2020-01-01"), d("2027-12-31"), &params());
            assert!(t.sufficient);
            if t.mk_p.is_some_and(|p| p < 0.05) {
                uncorrected += 1;
            }
            if t.direction != Direction::Stable {
                corrected += 1;
            }
        }
        assert!(uncorrected >= 8, "uncorrected: {uncorrected}/24");
        assert!(
            corrected <= 3,
            "corrected: {corrected}/24 (uncorrected {uncorrected})"
        );
    }

    /// Rising 1.5 m/a in 2020–22, then falling 1 m/a for three and a half years: the full
    /// window has no significant trend, the recent window (2023 to date) a significant decline.
    #[test]
    fn a_recent_decline_shows_in_the_recent_window() {
        let s = seasonal(78, |i| {
            let y = i as f64 / 12.0;
            if i < 36 {
                800.0 + 1.5 * y
            } else {
                804.5 - (y - 3.0)
            }
        });
        let t = well_trend(&s, d("2020-01-01"), d("2026-06-30"), &params());
        assert!(t.sufficient);
        assert_ne!(t.direction, Direction::Declining, "{t:?}");
        let r = t.recent_window.as_ref().unwrap();
        assert_eq!(r.from, "2023-01");
        assert_eq!(r.window_months, 42);
        assert!(r.assessable && r.declining, "{r:?}");
        assert!(
            (r.sen_slope_m_per_year.unwrap() + 1.0).abs() < 0.05,
            "{r:?}"
        );
    }

    /// A network installed in May 2022 has 55 months of its own record by the end of
    /// November 2026: complete over its own record, and judged.
    #[test]
    fn completeness_is_over_the_wells_own_record() {
        let mut s = seasonal(83, |i| 800.0 - 0.5 * i as f64 / 12.0);
        for x in &mut s[..28] {
            *x = f64::NAN;
        }
        let t = well_trend(&s, d("2020-01-01"), d("2026-11-30"), &params());
        assert_eq!(t.record_start.as_deref(), Some("2022-05"));
        assert_eq!(t.window_months, 55);
        assert_eq!(t.completeness, 1.0);
        assert_eq!(t.corr_years, 3, "2022 is partial, 2026 not over");
        assert!(t.sufficient, "{t:?}");
        // Three complete years: decided by the recent window (2023 to date), which falls.
        assert_eq!(t.decided_by, "recent_window");
        assert_eq!(t.direction, Direction::Declining);
    }

    /// A well read once a quarter, falling 1.5 m/a for six years: too sparse to judge, but its
    /// decline is evidence.
    #[test]
    fn a_sparse_falling_record_is_a_sparse_decline() {
        let s: Vec<f64> = seasonal(72, |i| 800.0 - 1.5 * i as f64 / 12.0)
            .into_iter()
            .enumerate()
            .map(|(i, x)| if i % 3 == 1 { x } else { f64::NAN })
            .collect();
        let t = well_trend(&s, d("2020-01-01"), d("2025-12-31"), &params());
        assert!(!t.sufficient);
        assert_eq!(t.direction, Direction::InsufficientData);
        assert!(t.sparse_decline, "{t:?}");
    }

    /// Falling 1.5 m/a until it went dry in mid-2024: the last readings sit flat at the
    /// bottom (the sensor above the water). Another falling well went silent in 2025.
    #[test]
    fn dry_and_ended_records_are_evidence() {
        let bottom = 800.0 - 1.5 * 54.0 / 12.0;
        let s: Vec<f64> = (0..72)
            .map(|i| {
                let x = 800.0 - 1.5 * i as f64 / 12.0 + jitter(i) * 0.2;
                if i >= 54 { bottom } else { x.max(bottom) }
            })
            .collect();
        let t = well_trend(&s, d("2020-01-01"), d("2025-12-31"), &params());
        assert!(t.dry && !t.sufficient, "{t:?}");
        let mut silent = seasonal(66, |i| 800.0 - 1.5 * i as f64 / 12.0);
        silent.extend([f64::NAN; 18]);
        let t = well_trend(&silent, d("2020-01-01"), d("2026-12-31"), &params());
        assert!(!t.recent && t.ended_decline && !t.dry, "{t:?}");
        // Silent for longer than ended_months: no longer evidence.
        silent.extend([f64::NAN; 12]);
        let t = well_trend(&silent, d("2020-01-01"), d("2027-12-31"), &params());
        assert!(!t.ended_decline);
    }

    /// A depth keyed as 4.05 instead of 40.50 m (the level 36.45 m too high) is screened out:
    /// it stays listed, and the annual mean is the one without it.
    #[test]
    fn a_decimal_slip_is_screened_out() {
        let ground = 820.0;
        let depth: Vec<f64> = seasonal(72, |_| 40.5);
        let mut level: Vec<f64> = depth.iter().map(|x| ground - x).collect();
        let clean = well_trend(&level, d("2020-01-01"), d("2025-12-31"), &params());
        assert!(clean.outliers.is_empty(), "{:?}", clean.outliers);
        level[63] = ground - 4.05;
        let t = well_trend(&level, d("2020-01-01"), d("2025-12-31"), &params());
        assert_eq!(t.outliers.len(), 1, "{:?}", t.outliers);
        assert_eq!(t.outliers[0].month, "2025-04");
        assert_eq!(t.outliers[0].level_m, ground - 4.05);
        assert!((t.outliers[0].expected_m - level[51]).abs() < 0.5);
        assert_eq!(t.latest_annual_mean_year, Some(2025));
        // 2025's mean without the slip (11 months), not lifted by 36.45 / 12 ≈ 3 m.
        let without: Vec<f64> = level[60..72]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 3)
            .map(|(_, x)| *x)
            .collect();
        let mean = without.iter().sum::<f64>() / 11.0;
        assert!((t.latest_annual_mean_m.unwrap() - mean).abs() < 1e-9);
        assert_eq!(t.n_months, 71);
    }

    /// A new measuring point in January 2023 lifts the recorded level by 5 m: flagged as a
    /// step, with the trend on each side (both −0.5 m/a).
    #[test]
    fn a_step_is_flagged_with_both_segments() {
        let s = seasonal(72, |i| {
            800.0 - 0.5 * i as f64 / 12.0 + if i >= 36 { 5.0 } else { 0.0 }
        });
        let t = well_trend(&s, d("2020-01-01"), d("2025-12-31"), &params());
        assert_eq!(t.steps.len(), 1, "{:?}", t.steps);
        let st = &t.steps[0];
        assert_eq!(st.month, "2023-01");
        assert!((st.jump_m - 5.0).abs() < 0.15, "{st:?}");
        assert!(
            (st.slope_before_m_per_year.unwrap() + 0.5).abs() < 0.05,
            "{st:?}"
        );
        assert!(
            (st.slope_after_m_per_year.unwrap() + 0.5).abs() < 0.05,
            "{st:?}"
        );
        assert!(t.outliers.is_empty(), "{:?}", t.outliers);
        // An irrigation-season drawdown of 4 m every summer is seasonal, not a step.
        let summer: Vec<f64> = (0..72)
            .map(|i| 800.0 - if (5..8).contains(&(i % 12)) { 4.0 } else { 0.0 } + jitter(i))
            .collect();
        let t = well_trend(&summer, d("2020-01-01"), d("2025-12-31"), &params());
        assert!(
            t.steps.is_empty() && t.outliers.is_empty(),
            "{:?} {:?}",
            t.steps,
            t.outliers
        );
    }

    /// The 公报 figure: December 2025's depth against December 2024's, ±0.5 m band.
    #[test]
    fn the_bulletin_compares_the_same_month_a_year_before() {
        let mut s = vec![f64::NAN; 72];
        s[59] = 780.0; // December 2024: depth 20.0
        s[71] = 779.3; // December 2025: depth 20.7
        let b = bulletin(&s, d("2020-01-01"), d("2026-03-31"), |_, _| 800.0, 0.5).unwrap();
        assert_eq!((b.year, b.month), (2025, 12));
        assert!((b.depth_m - 20.7).abs() < 1e-9);
        assert!((b.depth_change_m.unwrap() - 0.7).abs() < 1e-9);
        assert_eq!(b.class, Some(BulletinClass::Falling));
        assert_eq!(b.class_label, Some("下降"));
        assert_eq!(BulletinClass::of(-0.6, 0.5), BulletinClass::Rising);
        assert_eq!(BulletinClass::of(0.5, 0.5), BulletinClass::Stable);
        // Without December 2024 the change is unknown, not zero.
        s[59] = f64::NAN;
        let b = bulletin(&s, d("2020-01-01"), d("2026-03-31"), |_, _| 800.0, 0.5).unwrap();
        assert_eq!((b.depth_change_m, b.class), (None, None));
    }

    /// Six complete, steady years (2017–22), then one reading a quarter falling 2 m/a: complete
    /// enough over its record (84 of 108 months) and recent, but its recent window cannot be
    /// tested, so it does not count as stable; its fall is evidence.
    #[test]
    fn old_data_alone_does_not_make_a_well_count() {
        let s: Vec<f64> = seasonal(108, |i| {
            if i < 72 {
                800.0
            } else {
                800.0 - 2.0 * (i - 72) as f64 / 12.0
            }
        })
        .into_iter()
        .enumerate()
        .map(|(i, x)| if i < 72 || i % 3 == 1 { x } else { f64::NAN })
        .collect();
        let t = well_trend(&s, d("2017-01-01"), d("2025-12-31"), &params());
        assert!(t.completeness >= 0.7 && t.recent, "{t:?}");
        assert!(!t.recent_window.as_ref().unwrap().assessable);
        assert!(!t.sufficient);
        assert_eq!(t.direction, Direction::InsufficientData);
        assert!(t.sparse_decline, "{t:?}");
    }
}
