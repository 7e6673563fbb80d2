//! The karst springs (任务42–43): how far the water level of the wells that represent a spring
//! stands above or below its outlet, how it trends (the tests the wells get), whether it has
//! stood above the outlet through the last twelve months (stable reflow), and, for a spring with
//! a target, the year the trend reaches the outlet.
//!
//! The wells of a spring screen the same karst aquifer, so their monthly levels are averaged
//! into one series: each month the mean of the wells with data that month.

use jiff::civil::Date;
use serde::Serialize;

use super::levels::{Direction, TrendParams, WellTrend, well_trend};

/// One spring as the configuration gives it, with its wells' monthly levels (m above the datum,
/// NaN for a month without data) from `start`'s month.
#[derive(Clone, Debug)]
pub struct SpringInput<'a> {
    pub name: &'a str,
    pub outlet_m: f64,
    /// The year it should flow again by (兰村泉: 2030), if set.
    pub reflow_by: Option<i16>,
    pub example: bool,
    pub wells: Vec<(&'a str, &'a [f64])>,
}

/// A spring's state as of the as-of date.
#[derive(Clone, Debug, Serialize)]
pub struct SpringStatus {
    pub name: String,
    /// The outlet's elevation, m.
    pub outlet_m: f64,
    /// The outlet elevation or the wells are example values (示例值).
    pub example: bool,
    pub wells: Vec<String>,
    /// The last month with data (`YYYY-MM`) and its level's margin above the outlet, m
    /// (negative: below it, no flow).
    pub latest_month: Option<String>,
    pub margin_m: Option<f64>,
    /// Of the last twelve months, those with data and those with the level above the outlet.
    pub months_with_data_12: usize,
    pub months_above_12: usize,
    /// All of the last twelve months have data above the outlet.
    pub stable_reflow: bool,
    /// The trend of the spring's series, as a well's.
    pub trend: WellTrend,
    /// The year the Sen trend brings the level to the outlet, for a spring below it whose level
    /// rises; `None` when it is above already or does not rise.
    pub reaches_outlet_year: Option<i16>,
    pub reflow_by: Option<i16>,
    /// Whether that year is no later than `reflow_by` (`None` without a target, or when the
    /// spring is not rising and not above).
    pub on_track: Option<bool>,
    /// The spring's monthly series, the first day of each month with data and its level, m:
    /// what a chart draws (not in the JSON; `trend` carries its figures).
    #[serde(skip)]
    pub monthly_m: Vec<(Date, f64)>,
    /// The first month of the series the trend was fitted on (its intercept's month).
    #[serde(skip)]
    pub series_start: Date,
}

/// The spring's monthly series: each month the mean of its wells with data.
fn mean_series(wells: &[(&str, &[f64])]) -> Vec<f64> {
    let n = wells.iter().map(|w| w.1.len()).max().unwrap_or(0);
    (0..n)
        .map(|i| {
            let v: Vec<f64> = wells
                .iter()
                .filter_map(|w| w.1.get(i).copied())
                .filter(|x| x.is_finite())
                .collect();
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        })
        .collect()
}

/// `YYYY-MM` of the month `i` months after `start`'s.
fn month_key(start: Date, i: usize) -> String {
    let m = i64::from(start.year()) * 12 + i64::from(start.month()) - 1 + i as i64;
    format!("{}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// The state of spring `s` from series starting in `start`'s month up to `as_of`'s.
pub fn spring_status(
    s: &SpringInput<'_>,
    start: Date,
    as_of: Date,
    p: &TrendParams,
) -> SpringStatus {
    let series = mean_series(&s.wells);
    let trend = well_trend(&series, start, as_of, p);
    let last = series.iter().rposition(|v| v.is_finite());
    let margin_m = last.map(|i| series[i] - s.outlet_m);
    let recent = &series[series.len().saturating_sub(12)..];
    let months_with_data_12 = recent.iter().filter(|v| v.is_finite()).count();
    let months_above_12 = recent
        .iter()
        .filter(|v| v.is_finite() && **v > s.outlet_m)
        .count();
    let rate = trend.sen_slope_m_per_year.filter(|r| r.is_finite());
    // Only a record with recent data says where the spring stands now: an old margin is
    // reported with its month, never taken as today's.
    let current = trend.recent;
    let reaches_outlet_year = match (margin_m, rate) {
        (Some(m), Some(r))
            if current && m < 0.0 && r > 0.0 && trend.direction == Direction::Rising =>
        {
            let last_x = last.map_or(0.0, |i| {
                f64::from(start.year()) + (f64::from(start.month()) - 0.5 + i as f64) / 12.0
            });
            let year = (last_x + (-m) / r).floor();
            (year < f64::from(i16::MAX)).then_some(year as i16)
        }
        _ => None,
    };
    let above = current && margin_m.is_some_and(|m| m > 0.0);
    let on_track = s.reflow_by.and_then(|by| {
        if above {
            Some(true)
        } else {
            reaches_outlet_year.map(|y| y <= by)
        }
    });
    SpringStatus {
        name: s.name.to_owned(),
        outlet_m: s.outlet_m,
        example: s.example,
        wells: s.wells.iter().map(|w| w.0.to_owned()).collect(),
        latest_month: last.map(|i| month_key(start, i)),
        margin_m,
        months_with_data_12,
        months_above_12,
        stable_reflow: months_with_data_12 == 12 && months_above_12 == 12,
        trend,
        reaches_outlet_year,
        reflow_by: s.reflow_by,
        on_track,
        monthly_m: series
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .filter_map(|(i, v)| Some((month_start(start, i)?, *v)))
            .collect(),
        series_start: start,
    }
}

/// The first day of the month `i` months after `start`'s.
fn month_start(start: Date, i: usize) -> Option<Date> {
    let months = i64::try_from(i).ok()?;
    start
        .first_of_month()
        .checked_add(jiff::Span::new().months(months))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::levels::tests::params;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// Monthly levels from January 2020 for `months` months: `base` rising `per_year` m a year,
    /// with a ±0.5 m season.
    fn rising(months: usize, base: f64, per_year: f64) -> Vec<f64> {
        (0..months)
            .map(|i| {
                let season = 0.5 * (std::f64::consts::TAU * (i % 12) as f64 / 12.0).sin();
                base + per_year * i as f64 / 12.0 + season
            })
            .collect()
    }

    #[test]
    fn a_rising_spring_below_its_outlet_reaches_it_in_the_year_the_trend_says() {
        // 83 months to November 2026; the level rises 2 m a year from 790 m: in November 2026 it
        // is ≈ 803.7 − 0.5 … about 3.3 m below an outlet of 807.0 (the season at its low), and
        // reaches it about 1.7 years later: in 2028.
        let levels = rising(83, 790.0, 2.0);
        let s = SpringInput {
            name: "兰村泉",
            outlet_m: 807.0,
            reflow_by: Some(2030),
            example: true,
            wells: vec![("W-1", &levels)],
        };
        let st = spring_status(&s, d("2020-01-01"), d("2026-11-30"), &params());
        assert_eq!(st.latest_month.as_deref(), Some("2026-11"));
        let m = st.margin_m.unwrap();
        assert!((m - (levels[82] - 807.0)).abs() < 1e-9, "{m}");
        assert!(m < 0.0);
        let r = st.trend.sen_slope_m_per_year.unwrap();
        assert!((r - 2.0).abs() < 0.1, "{r}");
        assert_eq!(st.reaches_outlet_year, Some(2028));
        assert_eq!(st.on_track, Some(true));
        assert_eq!(st.months_above_12, 0);
        assert!(!st.stable_reflow);
    }

    #[test]
    fn twelve_months_above_the_outlet_is_stable_reflow_and_the_wells_are_averaged() {
        // Two wells 1 m either side of 804.59 m: their mean stands 2 m above an outlet of
        // 802.59 m, every month.
        let a = vec![805.59; 24];
        let b = vec![803.59; 24];
        let s = SpringInput {
            name: "晋祠泉",
            outlet_m: 802.59,
            reflow_by: None,
            example: false,
            wells: vec![("W-1", &a), ("W-2", &b)],
        };
        let st = spring_status(&s, d("2025-01-01"), d("2026-12-31"), &params());
        assert!((st.margin_m.unwrap() - 2.0).abs() < 1e-9);
        assert_eq!((st.months_with_data_12, st.months_above_12), (12, 12));
        assert!(st.stable_reflow);
        assert_eq!(st.reaches_outlet_year, None, "above already");
        assert_eq!(st.on_track, None, "no target");
        // One month without data breaks the run: reflow not yet stable.
        let mut gap = a.clone();
        gap[20] = f64::NAN;
        let mut gap_b = b.clone();
        gap_b[20] = f64::NAN;
        let s = SpringInput {
            wells: vec![("W-1", &gap), ("W-2", &gap_b)],
            ..s
        };
        let st = spring_status(&s, d("2025-01-01"), d("2026-12-31"), &params());
        assert_eq!((st.months_with_data_12, st.months_above_12), (11, 11));
        assert!(!st.stable_reflow);
    }

    #[test]
    fn an_old_margin_above_the_outlet_is_not_taken_as_reflow_today() {
        // Above the outlet through 2023, then no data: as of the end of 2026 the spring is not
        // "on track" on the strength of three-year-old readings.
        let levels: Vec<f64> = (0..84)
            .map(|i| if i < 48 { 810.0 } else { f64::NAN })
            .collect();
        let s = SpringInput {
            name: "晋祠泉",
            outlet_m: 802.59,
            reflow_by: Some(2030),
            example: false,
            wells: vec![("W-1", &levels)],
        };
        let st = spring_status(&s, d("2020-01-01"), d("2026-12-31"), &params());
        assert_eq!(st.latest_month.as_deref(), Some("2023-12"));
        assert!(
            st.margin_m.unwrap() > 0.0,
            "the old margin is reported with its month"
        );
        assert_eq!(st.on_track, None);
        assert!(!st.stable_reflow);
    }

    #[test]
    fn a_falling_spring_has_no_crossing_year_and_is_off_track() {
        let levels = rising(60, 800.0, -1.0);
        let s = SpringInput {
            name: "兰村泉",
            outlet_m: 805.0,
            reflow_by: Some(2030),
            example: true,
            wells: vec![("W-1", &levels)],
        };
        let st = spring_status(&s, d("2020-01-01"), d("2024-12-31"), &params());
        assert_eq!(st.reaches_outlet_year, None);
        assert_eq!(st.on_track, None, "not rising: no year to compare");
        assert!(st.margin_m.unwrap() < -5.0);
    }
}
