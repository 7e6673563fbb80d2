//! Withdrawal accounting: per-intake window sums → county, budget, aquifer, source and city
//! figures; quotas resolved by effective date; year-end projections; permit checks.
//!
//! All inputs are plain numbers read from the store; nothing here does I/O. Estimated volumes
//! (gap spreading, replacement estimates) travel beside every sum as a separate figure.

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;

use crate::domain::{CountyCode, QuotaVersion};

/// A volume and the part of it that is estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Vol {
    pub m3: f64,
    pub estimated_m3: f64,
}

impl std::ops::AddAssign for Vol {
    fn add_assign(&mut self, o: Vol) {
        self.m3 += o.m3;
        self.estimated_m3 += o.estimated_m3;
    }
}

impl std::ops::Sub for Vol {
    type Output = Vol;
    fn sub(self, o: Vol) -> Vol {
        Vol {
            m3: self.m3 - o.m3,
            estimated_m3: self.estimated_m3 - o.estimated_m3,
        }
    }
}

impl std::ops::Add for Vol {
    type Output = Vol;
    fn add(self, o: Vol) -> Vol {
        Vol {
            m3: self.m3 + o.m3,
            estimated_m3: self.estimated_m3 + o.estimated_m3,
        }
    }
}

/// The window sums of one intake (or of a group of intakes: they add up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct WindowSums {
    /// 1 January of the year to the as-of date.
    pub ytd: Vol,
    /// The whole previous calendar year.
    pub last_year: Vol,
    /// The previous year from 1 January to the as-of date's calendar day.
    pub last_year_to_date: Vol,
    /// The 12 months ending on the as-of date.
    pub rolling_12m: Vol,
    /// The 90 days ending on the as-of date.
    pub last_90d: Vol,
}

impl std::ops::AddAssign for WindowSums {
    fn add_assign(&mut self, o: WindowSums) {
        self.ytd += o.ytd;
        self.last_year += o.last_year;
        self.last_year_to_date += o.last_year_to_date;
        self.rolling_12m += o.rolling_12m;
        self.last_90d += o.last_90d;
    }
}

/// The dates that bound the windows for an as-of date.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Windows {
    pub as_of: Date,
    pub year: i16,
    /// The same calendar day a year earlier (28 February for 29 February).
    pub same_day_last_year: Date,
    /// Last day before the 90-day window.
    pub before_90d: Date,
    pub last_year_end: Date,
}

impl Windows {
    pub fn new(as_of: Date) -> Self {
        let year = as_of.year();
        let same = Date::new(year - 1, as_of.month(), as_of.day())
            .unwrap_or_else(|_| Date::new(year - 1, as_of.month(), 28).unwrap_or(as_of));
        Self {
            as_of,
            year,
            same_day_last_year: same,
            before_90d: as_of.checked_sub(90.days()).unwrap_or(as_of),
            last_year_end: Date::new(year - 1, 12, 31).unwrap_or(as_of),
        }
    }

    /// Days of the year after the as-of date.
    pub fn days_remaining(&self) -> i64 {
        let end = Date::new(self.year, 12, 31).unwrap_or(self.as_of);
        days_between(self.as_of, end)
    }

    /// Days from 1 January to the as-of date, inclusive.
    pub fn days_elapsed(&self) -> i64 {
        i64::from(self.as_of.day_of_year())
    }
}

/// Whole days from `a` to `b` (`b - a`).
pub fn days_between(a: Date, b: Date) -> i64 {
    // A civil date difference is expressed in days by default.
    a.until(b).map_or(0, |s| i64::from(s.get_days()))
}

/// Days in a calendar year.
pub fn days_in_year(year: i16) -> i64 {
    if Date::new(year, 2, 29).is_ok() {
        366
    } else {
        365
    }
}

/// Builds window sums from year-to-date running sums (what the store keeps per day):
/// `cum(d)` is the sum from 1 January of `d`'s year to `d`.
pub fn window_sums(w: &Windows, mut cum: impl FnMut(Date) -> Vol) -> WindowSums {
    let ytd = cum(w.as_of);
    let ly_same = cum(w.same_day_last_year);
    let ly_total = cum(w.last_year_end);
    let rolling = ytd + (ly_total - ly_same);
    let last_90d = if w.before_90d.year() == w.year {
        ytd - cum(w.before_90d)
    } else {
        let prev_end = Date::new(w.before_90d.year(), 12, 31).unwrap_or(w.before_90d);
        ytd + (cum(prev_end) - cum(w.before_90d))
    };
    WindowSums {
        ytd,
        last_year: ly_total,
        last_year_to_date: ly_same,
        rolling_12m: rolling,
        last_90d,
    }
}

/// How the year-end figure was projected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Year to date × last year's total ÷ last year's same-period figure.
    Seasonal,
    /// Year to date + the last 90 days' daily mean × the days left.
    RunRate,
    /// The year is complete: the projection is the year's total.
    Complete,
}

impl Method {
    /// Chinese description for reports.
    pub fn label(self) -> &'static str {
        match self {
            Method::Seasonal => "季节法（按上年同期占全年比例外推）",
            Method::RunRate => "趋势法（按近90天日均取水量外推）",
            Method::Complete => "全年已结束（实际值）",
        }
    }
}

/// A year-end projection, both ways, and which one is used.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Projection {
    pub projected_m3: f64,
    pub method: Method,
    pub run_rate_m3: f64,
    pub seasonal_m3: Option<f64>,
}

/// Smallest share of last year's total that last year's same period must hold before the
/// seasonal method is trusted (early January has too little to scale from).
const SEASONAL_MIN_SHARE: f64 = 0.05;

/// Projects the year-end withdrawal. The seasonal method is used when last year has a profile
/// to scale by; otherwise the 90-day run rate.
pub fn project(w: &Windows, s: &WindowSums) -> Projection {
    let remaining = w.days_remaining() as f64;
    let run_rate = s.ytd.m3 + s.last_90d.m3 / 90.0 * remaining;
    if remaining == 0.0 {
        return Projection {
            projected_m3: s.ytd.m3,
            method: Method::Complete,
            run_rate_m3: s.ytd.m3,
            seasonal_m3: Some(s.ytd.m3),
        };
    }
    let ly = s.last_year.m3;
    let ly_part = s.last_year_to_date.m3;
    let seasonal =
        (ly > 0.0 && ly_part >= SEASONAL_MIN_SHARE * ly).then(|| s.ytd.m3 * ly / ly_part);
    match seasonal {
        Some(v) => Projection {
            projected_m3: v,
            method: Method::Seasonal,
            run_rate_m3: run_rate,
            seasonal_m3: Some(v),
        },
        None => Projection {
            projected_m3: run_rate,
            method: Method::RunRate,
            run_rate_m3: run_rate,
            seasonal_m3: None,
        },
    }
}

/// The quota version in force on `day`.
pub fn version_on(versions: &[QuotaVersion], day: Date) -> Option<&QuotaVersion> {
    versions
        .iter()
        .rev()
        .find(|v| v.effective_from <= day)
        .filter(|v| v.effective_until.is_none_or(|u| day < u))
}

/// A county's quota for a calendar year: each version weighted by the days it is in force
/// (days with no version in force count zero). `None` when no version covers any day.
pub fn county_quota_for_year(
    versions: &[QuotaVersion],
    county: CountyCode,
    year: i16,
) -> Option<f64> {
    let n = days_in_year(year);
    let start = Date::new(year, 1, 1).ok()?;
    let mut sum = 0.0;
    let mut covered = false;
    // Walk the year in spans between version boundaries rather than day by day.
    let mut bounds: Vec<Date> = vec![start];
    for v in versions {
        for d in [Some(v.effective_from), v.effective_until]
            .into_iter()
            .flatten()
        {
            if d.year() == year && d > start {
                bounds.push(d);
            }
        }
    }
    let end = Date::new(year + 1, 1, 1).ok()?;
    bounds.push(end);
    bounds.sort();
    bounds.dedup();
    for pair in bounds.windows(2) {
        let days = days_between(pair[0], pair[1]) as f64;
        if let Some(v) = version_on(versions, pair[0])
            && let Some(q) = v.county_m3.get(&county)
        {
            covered = true;
            sum += q * days / n as f64;
        }
    }
    covered.then_some(sum)
}

/// The quota as a step function over the year: `(first day, m³/yr)` at each change.
pub fn quota_steps(versions: &[QuotaVersion], county: CountyCode, year: i16) -> Vec<(Date, f64)> {
    let mut out: Vec<(Date, f64)> = Vec::new();
    let Ok(mut d) = Date::new(year, 1, 1) else {
        return out;
    };
    while d.year() == year {
        let q = version_on(versions, d).and_then(|v| v.county_m3.get(&county).copied());
        if let Some(q) = q
            && out.last().is_none_or(|l| l.1 != q)
        {
            out.push((d, q));
        }
        match d.checked_add(1.day()) {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    out
}

/// Groups keyed sums, preserving key order.
pub fn group_by<K: Ord + Clone, T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> Option<K>,
    sums: impl Fn(&T) -> WindowSums,
) -> BTreeMap<K, WindowSums> {
    let mut m: BTreeMap<K, WindowSums> = BTreeMap::new();
    for it in items {
        if let Some(k) = key(&it) {
            *m.entry(k).or_default() += sums(&it);
        }
    }
    m
}

/// Overdraft coefficient k = withdrawal ÷ quota.
pub fn k(withdrawal_m3: f64, quota_m3: Option<f64>) -> Option<f64> {
    quota_m3.filter(|q| *q > 0.0).map(|q| withdrawal_m3 / q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn v(m3: f64) -> Vol {
        Vol {
            m3,
            estimated_m3: 0.0,
        }
    }

    fn version(from: &str, q: f64) -> QuotaVersion {
        QuotaVersion {
            effective_from: d(from),
            effective_until: None,
            example: true,
            note: String::new(),
            county_m3: BTreeMap::from([(CountyCode::parse("140121").unwrap(), q)]),
        }
    }

    #[test]
    fn quota_is_prorated_by_days_when_the_split_moves() {
        let vs = [version("2020-01-01", 365.0), version("2026-07-01", 730.0)];
        // 2026: 181 days at 365/yr + 184 days at 730/yr.
        let q = county_quota_for_year(&vs, CountyCode::parse("140121").unwrap(), 2026).unwrap();
        assert!((q - (181.0 + 368.0)).abs() < 1e-9, "{q}");
        assert_eq!(
            county_quota_for_year(&vs, CountyCode::parse("140121").unwrap(), 2025),
            Some(365.0)
        );
        assert_eq!(
            county_quota_for_year(&vs, CountyCode::parse("140105").unwrap(), 2025),
            None
        );
        assert_eq!(
            county_quota_for_year(&vs[1..], CountyCode::parse("140121").unwrap(), 2025),
            None
        );
        let steps = quota_steps(&vs, CountyCode::parse("140121").unwrap(), 2026);
        assert_eq!(
            steps,
            vec![(d("2026-01-01"), 365.0), (d("2026-07-01"), 730.0)]
        );
    }

    #[test]
    fn windows_from_running_sums() {
        // 1 m³ per day every day: cum(d) = day of year.
        let w = Windows::new(d("2026-03-15"));
        let s = window_sums(&w, |x| v(f64::from(x.day_of_year())));
        assert_eq!(s.ytd.m3, 74.0);
        assert_eq!(s.last_year.m3, 365.0);
        assert_eq!(s.last_year_to_date.m3, 74.0);
        assert_eq!(s.rolling_12m.m3, 365.0);
        assert_eq!(s.last_90d.m3, 90.0);
        let w = Windows::new(d("2026-12-31"));
        let s = window_sums(&w, |x| v(f64::from(x.day_of_year())));
        assert_eq!(s.last_90d.m3, 90.0);
    }

    #[test]
    fn projections() {
        let w = Windows::new(d("2026-06-30"));
        // Last year 1000 with 400 by the same date; this year 500 so far → seasonal 1250.
        let s = WindowSums {
            ytd: v(500.0),
            last_year: v(1000.0),
            last_year_to_date: v(400.0),
            last_90d: v(270.0),
            ..Default::default()
        };
        let p = project(&w, &s);
        assert_eq!(p.method, Method::Seasonal);
        assert!((p.projected_m3 - 1250.0).abs() < 1e-9);
        // Run rate: 3 m³/day for the 184 days left.
        assert!((p.run_rate_m3 - (500.0 + 3.0 * 184.0)).abs() < 1e-9);
        let no_history = WindowSums {
            last_year: v(0.0),
            last_year_to_date: v(0.0),
            ..s
        };
        assert_eq!(project(&w, &no_history).method, Method::RunRate);
        let end = Windows::new(d("2026-12-31"));
        assert_eq!(project(&end, &s).method, Method::Complete);
        assert_eq!(project(&end, &s).projected_m3, 500.0);
    }
}
