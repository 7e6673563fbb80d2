//! The series the report plots that the status document does not hold as such: annual history,
//! cumulative curves, monthly bars and mid-month level points. Pure functions over the store's
//! monthly and daily sums, so each figure can be checked by hand.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;

use crate::analysis::accounting::VolumeWithEstimate;
use crate::analysis::levels::{Direction, WellTrend};
use crate::domain::MonthlyPoints;
use crate::output::charts::{
    DatedValue, DayValue, QuotaStep, Trend, TrendDirection, YearMonths, YearWithdrawal, Ymd,
};

/// Monthly withdrawal sums (m³) of one county, keyed by (year, month).
pub type MonthSums = BTreeMap<(i16, i8), f64>;

/// A chart's date for a calendar day.
pub fn ymd(d: Date) -> Ymd {
    Ymd::new(i32::from(d.year()), d.month() as u8, d.day() as u8)
}

/// The 15th of `d`'s month: where a monthly mean is plotted.
fn mid_month(d: Date) -> Date {
    d.first_of_month().saturating_add(14.days())
}

/// The monthly sums of the listed intakes added up by month. Months none of them reported are
/// absent, so that "no data" stays distinct from zero.
pub fn month_sums<'a>(
    intakes: impl IntoIterator<Item = &'a str>,
    monthly: &MonthlyPoints<VolumeWithEstimate>,
) -> MonthSums {
    let mut by_month = MonthSums::new();
    for id in intakes {
        for (y, m, v) in monthly.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            *by_month.entry((*y, *m)).or_default() += v.m3;
        }
    }
    by_month
}

/// One bar per year from `from` to the year before `year`: the summed months, or NaN for a year
/// without any; last year is the status document's figure (`last_year_m3`), so the chart shows
/// the number the verdict used. `quota` gives each year's county quota.
pub fn annual_history(
    by_month: &MonthSums,
    from: i16,
    year: i16,
    last_year_m3: f64,
    quota: impl Fn(i16) -> Option<f64>,
) -> Vec<YearWithdrawal> {
    (from..year)
        .map(|y| {
            let months = by_month.range((y, 1)..=(y, 12));
            let withdrawal_m3 = if y == year - 1 {
                last_year_m3
            } else if months.clone().next().is_some() {
                months.map(|(_, v)| v).sum()
            } else {
                f64::NAN
            };
            YearWithdrawal {
                year: i32::from(y),
                withdrawal_m3,
                quota_m3: quota(y).unwrap_or(f64::NAN),
            }
        })
        .collect()
}

/// Cumulative withdrawal by day of year from daily sums in date order: `year`'s curve, and the
/// curve of every other day given (last year's).
pub fn cumulative(days: &[(Date, f64)], year: i16) -> (Vec<DayValue>, Vec<DayValue>) {
    let (mut this_year, mut last_year) = (Vec::new(), Vec::new());
    let (mut cum_ty, mut cum_ly) = (0.0, 0.0);
    for (d, v) in days {
        let (cum, curve) = if d.year() == year {
            (&mut cum_ty, &mut this_year)
        } else {
            (&mut cum_ly, &mut last_year)
        };
        *cum += v;
        curve.push(DayValue {
            day: d.day_of_year() as u16,
            value_m3: *cum,
        });
    }
    (this_year, last_year)
}

/// The quota's steps within a year as chart steps by day of year.
pub fn quota_step_days(steps: &[(Date, f64)]) -> Vec<QuotaStep> {
    steps
        .iter()
        .map(|(d, q)| QuotaStep {
            from_day: d.day_of_year() as u16,
            quota_m3: *q,
        })
        .collect()
}

/// Twelve monthly sums for each of the three years ending with `year`; NaN for a month without
/// data.
pub fn last_three_years(by_month: &MonthSums, year: i16) -> Vec<YearMonths> {
    ((year - 2)..=year)
        .map(|y| {
            let mut months_m3 = [f64::NAN; 12];
            for (k, slot) in (1..).zip(months_m3.iter_mut()) {
                if let Some(v) = by_month.get(&(y, k)) {
                    *slot = *v;
                }
            }
            YearMonths {
                year: i32::from(y),
                months_m3,
            }
        })
        .collect()
}

/// A monthly series that starts in `start`'s month as (mid-month date, value), leaving out the
/// months without a value (NaN).
pub fn monthly_points(series: &[f64], start: Date) -> Vec<(Date, f64)> {
    let first = mid_month(start);
    (0_i64..)
        .zip(series)
        .filter(|(_, v)| v.is_finite())
        .filter_map(|(i, v)| Some((first.checked_add(i.months()).ok()?, *v)))
        .collect()
}

/// Points as the charts take them.
pub fn dated(points: &[(Date, f64)]) -> Vec<DatedValue> {
    points
        .iter()
        .map(|(d, v)| DatedValue {
            date: ymd(*d),
            value: *v,
        })
        .collect()
}

/// The Sen trend line of a well (or a county's mean) as the charts draw it; none without a slope.
pub fn trend_line(t: &WellTrend, start: Date) -> Option<Trend> {
    let slope = t.sen_slope_m_per_year?;
    let intercept = t.sen_intercept_m?;
    Some(Trend {
        slope_m_per_year: slope,
        // pymannkendall's intercept is the value at month index 0 (the window's first month).
        anchor: DatedValue {
            date: ymd(mid_month(start)),
            value: intercept,
        },
        direction: match t.direction {
            Direction::Rising => TrendDirection::Rising,
            Direction::Declining => TrendDirection::Falling,
            _ => TrendDirection::Stable,
        },
    })
}

/// The aquifer's decisive line: `rate_m_per_year` (the verdict's rate) through the series' Sen
/// line at the middle of its data, so the line sits on the data whatever the two slopes.
pub fn decisive_line(
    t: &WellTrend,
    start: Date,
    points: &[(Date, f64)],
    rate_m_per_year: f64,
) -> Option<Trend> {
    let sen = trend_line(t, start)?;
    let (first, last) = (points.first()?.0, points.last()?.0);
    let mid_date = first
        .checked_add(jiff::Span::new().days((last - first).get_days() / 2))
        .ok()?;
    let mid = ymd(mid_date).fractional_year();
    let [(_, at_mid), _] = sen.segment(mid, mid);
    Some(Trend {
        slope_m_per_year: rate_m_per_year,
        anchor: DatedValue {
            date: ymd(mid_date),
            value: at_mid,
        },
        direction: if rate_m_per_year < 0.0 {
            TrendDirection::Falling
        } else if rate_m_per_year > 0.0 {
            TrendDirection::Rising
        } else {
            TrendDirection::Stable
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    fn vol(m3: f64) -> VolumeWithEstimate {
        VolumeWithEstimate {
            m3,
            estimated_m3: 0.0,
        }
    }

    #[test]
    fn month_sums_add_the_listed_intakes_only() {
        let mut monthly = MonthlyPoints::new();
        monthly.insert(
            "A".to_string(),
            vec![(2025, 1, vol(100.0)), (2025, 2, vol(50.0))],
        );
        monthly.insert("B".to_string(), vec![(2025, 1, vol(25.5))]);
        monthly.insert("C".to_string(), vec![(2025, 3, vol(999.0))]);
        let sums = month_sums(["A", "B", "missing"], &monthly);
        assert_eq!(
            sums.into_iter().collect::<Vec<_>>(),
            vec![((2025, 1), 125.5), ((2025, 2), 50.0)]
        );
    }

    #[test]
    fn annual_history_sums_months_and_takes_last_year_from_the_document() {
        let sums = MonthSums::from([
            ((2023, 1), 10.0),
            ((2023, 12), 5.0),
            ((2025, 6), 1.0),
            ((2026, 1), 7.0),
        ]);
        let years = annual_history(&sums, 2023, 2026, 42.0, |y| {
            (y != 2024).then_some(f64::from(y) * 10.0)
        });
        assert_eq!(years.len(), 3);
        assert_eq!((years[0].year, years[0].withdrawal_m3), (2023, 15.0));
        assert_eq!(years[0].quota_m3, 20_230.0);
        // 2024 has no month at all: no bar rather than a zero one, and no quota either.
        assert_eq!(years[1].year, 2024);
        assert!(years[1].withdrawal_m3.is_nan() && years[1].quota_m3.is_nan());
        // 2025 is last year: the document's 42, not the month sum 1.
        assert_eq!((years[2].year, years[2].withdrawal_m3), (2025, 42.0));
    }

    #[test]
    fn cumulative_curves_restart_each_year() {
        let days = [
            (d(2025, 1, 1), 10.0),
            (d(2025, 12, 31), 5.0),
            (d(2026, 1, 1), 1.0),
            (d(2026, 2, 1), 2.5),
        ];
        let (this_year, last_year) = cumulative(&days, 2026);
        let pairs = |s: &[DayValue]| s.iter().map(|x| (x.day, x.value_m3)).collect::<Vec<_>>();
        assert_eq!(pairs(&this_year), vec![(1, 1.0), (32, 3.5)]);
        assert_eq!(pairs(&last_year), vec![(1, 10.0), (365, 15.0)]);
    }

    #[test]
    fn quota_steps_by_day_of_year() {
        let steps = quota_step_days(&[(d(2024, 1, 1), 100.0), (d(2024, 3, 1), 80.0)]);
        // 2024 is a leap year: 1 March is day 31 + 29 + 1.
        assert_eq!(
            steps,
            vec![
                QuotaStep {
                    from_day: 1,
                    quota_m3: 100.0
                },
                QuotaStep {
                    from_day: 61,
                    quota_m3: 80.0
                }
            ]
        );
    }

    #[test]
    fn three_years_of_months_with_gaps_as_nan() {
        let sums = MonthSums::from([((2024, 1), 3.0), ((2026, 12), 4.0), ((2023, 5), 9.0)]);
        let yms = last_three_years(&sums, 2026);
        assert_eq!(
            yms.iter().map(|y| y.year).collect::<Vec<_>>(),
            [2024, 2025, 2026]
        );
        assert_eq!(yms[0].months_m3[0], 3.0);
        assert!(yms[0].months_m3[1..].iter().all(|v| v.is_nan()));
        assert!(yms[1].months_m3.iter().all(|v| v.is_nan()));
        assert_eq!(yms[2].months_m3[11], 4.0);
        assert_eq!(yms[2].months_m3.iter().filter(|v| v.is_finite()).count(), 1);
    }

    #[test]
    fn monthly_points_sit_mid_month_across_year_ends_and_skip_gaps() {
        let pts = monthly_points(&[1.0, f64::NAN, 3.0, 4.0], d(2025, 11, 28));
        assert_eq!(
            pts,
            vec![
                (d(2025, 11, 15), 1.0),
                (d(2026, 1, 15), 3.0),
                (d(2026, 2, 15), 4.0)
            ]
        );
        assert_eq!(
            dated(&pts[..1]),
            vec![DatedValue {
                date: Ymd::new(2025, 11, 15),
                value: 1.0
            }]
        );
    }

    #[test]
    fn trend_line_anchors_the_intercept_at_the_first_month() {
        let t = WellTrend {
            n_months: 72,
            window_months: 72,
            completeness: 1.0,
            years_of_data: 6.0,
            recent: true,
            sufficient: true,
            short_record_decline: false,
            record_start: Some("2020-01".into()),
            sparse_decline: false,
            ended_decline: false,
            dry: false,
            corr_z: None,
            corr_p: None,
            corr_var: None,
            corr_years: 6,
            decided_by: "hirsch_slack",
            recent_window: None,
            outliers: Vec::new(),
            steps: Vec::new(),
            mk_s: None,
            mk_var: None,
            mk_z: None,
            mk_p: None,
            mk_tau: None,
            sen_slope_m_per_year: Some(-0.5),
            sen_intercept_m: Some(812.25),
            mean_annual_change_m: None,
            latest_annual_mean_m: None,
            latest_annual_mean_year: None,
            direction: Direction::Declining,
            basis: "level",
        };
        let line = trend_line(&t, d(2020, 1, 1)).unwrap();
        assert_eq!(line.slope_m_per_year, -0.5);
        assert_eq!(line.anchor.date, Ymd::new(2020, 1, 15));
        assert_eq!(line.anchor.value, 812.25);
        assert_eq!(line.direction, TrendDirection::Falling);
        let flat = WellTrend {
            sen_intercept_m: None,
            ..t
        };
        assert!(trend_line(&flat, d(2020, 1, 1)).is_none());
    }
}
