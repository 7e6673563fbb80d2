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
    /// A well counts only with data in the last this many months before the as-of date.
    pub recent_months: usize,
    /// Months with data a calendar year needs for an annual mean.
    pub min_months_per_year: usize,
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
    /// Data within the recent months before the as-of date.
    pub recent: bool,
    /// Enough data to count towards the county's verdict: long and complete enough, and recent.
    pub sufficient: bool,
    /// A significant decline on a record shorter than required: not enough to judge the well,
    /// too much to ignore (it makes the level criterion at least at risk).
    pub short_record_decline: bool,
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

/// Judges one monthly level series that starts in `start`'s month and ends in `as_of`'s (the
/// caller cuts the series at the as-of date).
pub fn well_trend(series: &[f64], start: Date, as_of: Date, p: &TrendParams) -> WellTrend {
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
    let recent = last.is_some_and(|l| l + p.recent_months.max(1) >= window);
    let long_enough = years >= p.min_years;
    let sufficient = long_enough && completeness >= p.min_completeness && recent;
    // pymannkendall works on the series as given; the window starts in January when the
    // configured start does, so seasons line up with calendar months.
    let mk: Option<MkResult> = seasonal_test(series, 12, p.alpha);
    let (slope, intercept) = seasonal_sens_slope(series, 12);
    let tested = match mk {
        Some(r) if r.trend == Trend::Increasing => Direction::Rising,
        Some(r) if r.trend == Trend::Decreasing => Direction::Declining,
        Some(_) => Direction::Stable,
        None => Direction::InsufficientData,
    };
    // A well without enough data has no direction of its own; its statistics stay visible.
    let direction = if sufficient {
        tested
    } else {
        Direction::InsufficientData
    };
    let finite = |x: f64| x.is_finite().then_some(x);
    let latest = annual_means(series, start, as_of, p.min_months_per_year)
        .last()
        .copied();
    WellTrend {
        n_months: n,
        window_months: window,
        completeness,
        years_of_data: years,
        recent,
        sufficient,
        short_record_decline: !long_enough && tested == Direction::Declining,
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
            recent_months: 12,
            min_months_per_year: 6,
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
}
