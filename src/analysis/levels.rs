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

use super::trend::{MkResult, Trend, seasonal_sens_slope, seasonal_test};

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
}

/// The trend figures of one well (or of a county's mean series).
#[derive(Clone, Debug, Serialize)]
pub struct WellTrend {
    /// Months with data in the window.
    pub n_months: usize,
    /// Months in the window.
    pub window_months: usize,
    /// `n_months / window_months`.
    pub completeness: f64,
    /// Years from the first to the last month with data.
    pub years_of_data: f64,
    /// Enough data to count towards the county's verdict.
    pub sufficient: bool,
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
    /// Mean annual change rate (m/a) from the first to the last annual mean in the window.
    pub mean_annual_change_m: Option<f64>,
    pub direction: Direction,
    /// What the series measures.
    pub basis: &'static str,
}

/// Smallest number of months with data for a year to have an annual mean.
const MIN_MONTHS_PER_YEAR: usize = 6;

/// Annual means of a monthly series starting at `start_year`-01: `(year, mean)` for years with at
/// least six months of data.
pub fn annual_means(series: &[f64], start: Date) -> Vec<(i16, f64)> {
    let offset = usize::try_from(start.month() - 1).unwrap_or(0);
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut year = start.year();
    // The first (possibly partial) year covers months offset..12.
    let mut len = 12 - offset;
    while i < series.len() {
        let chunk = &series[i..(i + len).min(series.len())];
        let vals: Vec<f64> = chunk.iter().copied().filter(|x| x.is_finite()).collect();
        if vals.len() >= MIN_MONTHS_PER_YEAR {
            out.push((year, vals.iter().sum::<f64>() / vals.len() as f64));
        }
        i += len;
        len = 12;
        year += 1;
    }
    out
}

/// Mean annual change rate: (last annual mean − first annual mean) ÷ years between them.
pub fn mean_annual_change(series: &[f64], start: Date) -> Option<f64> {
    let a = annual_means(series, start);
    match (a.first(), a.last()) {
        (Some(f), Some(l)) if l.0 > f.0 => Some((l.1 - f.1) / f64::from(l.0 - f.0)),
        _ => None,
    }
}

/// Judges one monthly level series that starts in `start`'s month.
pub fn well_trend(series: &[f64], start: Date, p: &TrendParams) -> WellTrend {
    let n = series.iter().filter(|x| x.is_finite()).count();
    let first = series.iter().position(|x| x.is_finite());
    let last = series.iter().rposition(|x| x.is_finite());
    let years = match (first, last) {
        (Some(a), Some(b)) => (b - a + 1) as f64 / 12.0,
        _ => 0.0,
    };
    let window = series.len();
    let completeness = if window > 0 {
        n as f64 / window as f64
    } else {
        0.0
    };
    let sufficient = years >= p.min_years && completeness >= p.min_completeness;
    // pymannkendall works on the series as given; the window starts in January when the
    // configured start does, so seasons line up with calendar months.
    let mk: Option<MkResult> = seasonal_test(series, 12, p.alpha);
    let (slope, intercept) = seasonal_sens_slope(series, 12);
    let direction = match mk {
        Some(r) if r.trend == Trend::Increasing => Direction::Rising,
        Some(r) if r.trend == Trend::Decreasing => Direction::Declining,
        Some(_) => Direction::Stable,
        None => Direction::InsufficientData,
    };
    let finite = |x: f64| x.is_finite().then_some(x);
    WellTrend {
        n_months: n,
        window_months: window,
        completeness,
        years_of_data: years,
        sufficient,
        mk_s: mk.map(|r| r.s),
        mk_var: mk.map(|r| r.var_s),
        mk_z: mk.map(|r| r.z),
        mk_p: mk.map(|r| r.p),
        mk_tau: mk.and_then(|r| finite(r.tau)),
        sen_slope_m_per_year: finite(slope),
        sen_intercept_m: finite(intercept),
        mean_annual_change_m: mean_annual_change(series, start),
        direction,
        basis: "level_m",
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
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }
    fn params() -> TrendParams {
        TrendParams {
            alpha: 0.05,
            min_years: 3.0,
            min_completeness: 0.7,
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
        let t = well_trend(&falling(), d("2020-01-01"), &params());
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
        let t = well_trend(&level, d("2020-01-01"), &params());
        assert_eq!(t.direction, Direction::Declining);
        assert!(t.sen_slope_m_per_year.unwrap() < 0.0);
    }

    #[test]
    fn short_or_sparse_series_are_not_sufficient() {
        let mut s = falling();
        s.truncate(20);
        assert!(!well_trend(&s, d("2020-01-01"), &params()).sufficient);
        let sparse: Vec<f64> = falling()
            .iter()
            .enumerate()
            .map(|(i, x)| if i % 2 == 0 { *x } else { f64::NAN })
            .collect();
        let t = well_trend(&sparse, d("2020-01-01"), &params());
        assert!(!t.sufficient, "50% complete < 70%");
        let one = [800.0];
        assert_eq!(
            well_trend(&one, d("2020-01-01"), &params()).direction,
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
        let a = annual_means(&falling(), d("2020-01-01"));
        assert_eq!(a.len(), 6);
    }

    #[test]
    fn county_series_is_stable_when_a_well_drops_out() {
        let a = vec![10.0, 10.0, 10.0, 10.0];
        let b = vec![20.0, 20.0, f64::NAN, f64::NAN];
        let c = county_series(&[a, b]);
        assert!(c.iter().all(|x| (x - 15.0).abs() < 1e-9), "{c:?}");
    }
}
