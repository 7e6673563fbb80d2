//! Withdrawal accounting: per-intake window sums → county, budget, aquifer, source and city
//! figures; quotas resolved by effective date; year-end projections; permit checks.
//!
//! All inputs are plain numbers read from the store; nothing here does I/O. Estimated volumes
//! (gap spreading, replacement estimates) travel beside every sum as a separate figure.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;

use crate::domain::{CountyCode, QuotaRule, QuotaVersion};

/// A volume and the part of it that is estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct VolumeWithEstimate {
    pub m3: f64,
    pub estimated_m3: f64,
}

impl std::ops::AddAssign for VolumeWithEstimate {
    fn add_assign(&mut self, o: VolumeWithEstimate) {
        self.m3 += o.m3;
        self.estimated_m3 += o.estimated_m3;
    }
}

impl std::ops::Sub for VolumeWithEstimate {
    type Output = VolumeWithEstimate;
    fn sub(self, o: VolumeWithEstimate) -> VolumeWithEstimate {
        VolumeWithEstimate {
            m3: self.m3 - o.m3,
            estimated_m3: self.estimated_m3 - o.estimated_m3,
        }
    }
}

impl std::ops::Add for VolumeWithEstimate {
    type Output = VolumeWithEstimate;
    fn add(self, o: VolumeWithEstimate) -> VolumeWithEstimate {
        VolumeWithEstimate {
            m3: self.m3 + o.m3,
            estimated_m3: self.estimated_m3 + o.estimated_m3,
        }
    }
}

/// The window sums of one intake (or of a group of intakes: they add up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct WindowSums {
    /// 1 January of the year to the as-of date.
    pub ytd: VolumeWithEstimate,
    /// The whole previous calendar year.
    pub last_year: VolumeWithEstimate,
    /// The previous year from 1 January to the as-of date's calendar day.
    pub last_year_to_date: VolumeWithEstimate,
    /// The 12 months ending on the as-of date.
    pub rolling_12m: VolumeWithEstimate,
    /// The 90 days ending on the as-of date.
    pub last_90d: VolumeWithEstimate,
    /// `ytd` and `last_year_to_date` over the calendar days both years have (without a 29
    /// February the other year lacks): what the seasonal ratio compares.
    pub ytd_same_days: VolumeWithEstimate,
    pub last_year_same_days: VolumeWithEstimate,
}

impl std::ops::AddAssign for WindowSums {
    fn add_assign(&mut self, o: WindowSums) {
        self.ytd_same_days += o.ytd_same_days;
        self.last_year_same_days += o.last_year_same_days;
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

    /// Days of last year after its same calendar day: the days last year's rest-of-year volume
    /// was drawn in (one more or less than [`Windows::days_remaining`] when a 29 February lies
    /// in one of the two rests).
    pub fn days_remaining_last_year(&self) -> i64 {
        days_between(self.same_day_last_year, self.last_year_end)
    }

    /// 29 February of `year` when it is a leap year and the day lies in `[1 January, to]`.
    fn leap_day_by(year: i16, to: Date) -> Option<Date> {
        Date::new(year, 2, 29).ok().filter(|d| *d <= to)
    }

    /// Days from 1 January to the as-of date, inclusive.
    pub fn days_elapsed(&self) -> i64 {
        i64::from(self.as_of.day_of_year())
    }
}

/// The complete months of `as_of`'s year up to it: the as-of month counts when `as_of` is its
/// last day (an empty range in January before the 31st).
pub fn complete_months(as_of: Date) -> std::ops::RangeInclusive<i8> {
    let last = if as_of == as_of.last_of_month() {
        as_of.month()
    } else {
        as_of.month() - 1
    };
    1..=last
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
pub fn window_sums(w: &Windows, mut cum: impl FnMut(Date) -> VolumeWithEstimate) -> WindowSums {
    let ytd = cum(w.as_of);
    let ly_same = cum(w.same_day_last_year);
    let ly_total = cum(w.last_year_end);
    let rolling = ytd + (ly_total - ly_same);
    // A 29 February in one year's part of the comparison has no counterpart in the other.
    let leap_day = |d: Date, cum: &mut dyn FnMut(Date) -> VolumeWithEstimate| {
        d.yesterday()
            .map_or(VolumeWithEstimate::default(), |before| cum(d) - cum(before))
    };
    let ytd_same_days = match Windows::leap_day_by(w.year, w.as_of) {
        Some(d) if w.same_day_last_year.month() != 2 || w.same_day_last_year.day() != 29 => {
            ytd - leap_day(d, &mut cum)
        }
        _ => ytd,
    };
    let last_year_same_days = match Windows::leap_day_by(w.year - 1, w.same_day_last_year) {
        Some(d) if Windows::leap_day_by(w.year, w.as_of).is_none() => {
            ly_same - leap_day(d, &mut cum)
        }
        _ => ly_same,
    };
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
        ytd_same_days,
        last_year_same_days,
    }
}

/// How the year-end figure was projected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 季节比例法: year to date + last year's withdrawal over the rest of the year × r, where
    /// r = year to date ÷ last year's same period (clamped; 1 early in the year).
    Seasonal,
    /// 近90天日均外推: year to date + the daily mean of the last 90 days (of the days actually
    /// covered by data) × the days left. Used only when there is no last year.
    RunRate,
    /// The year is complete: the projection is the year's total.
    Complete,
}

impl Method {
    /// Chinese name for reports.
    pub fn label(self) -> &'static str {
        match self {
            Method::Seasonal => "季节比例法（本年累计 + 上年同期以后取水量 × 本年/上年同期比例）",
            Method::RunRate => "近90天日均外推（无上年数据时）",
            Method::Complete => "全年已结束（实际值）",
        }
    }
}

/// Parameters of the year-end projection (`[assessment]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProjectionParams {
    /// Days of data this year before the seasonal ratio r is computed (before that r = 1).
    pub min_days_for_ratio: i64,
    /// The range r is clamped to.
    pub ratio_min: f64,
    pub ratio_max: f64,
}

impl Default for ProjectionParams {
    fn default() -> Self {
        Self {
            min_days_for_ratio: 30,
            ratio_min: 0.5,
            ratio_max: 2.0,
        }
    }
}

/// What a year-end projection is computed from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectionInput {
    pub sums: WindowSums,
    /// Last year has data.
    pub has_last_year: bool,
    /// Days of this year from the first day with data to the as-of date (inclusive).
    pub data_days_this_year: i64,
    /// Days of the 90-day window from the first day with data to the as-of date (≤ 90).
    pub days_covered_90d: i64,
    /// For each complete month of this year so far in which both years have data: this year's
    /// withdrawal ÷ last year's in the same month.
    pub monthly_ratios: Vec<f64>,
}

/// A year-end projection with its method and a low–high range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Projection {
    pub projected_m3: f64,
    pub method: Method,
    /// The seasonal ratio r used (after clamping); `None` for the other methods.
    pub ratio: Option<f64>,
    /// r before clamping, when it was computed from the data.
    pub ratio_unclamped: Option<f64>,
    /// The range from the smallest and largest monthly ratio so far (or the clamp range when
    /// there is no complete month yet), so an early-year figure is not read as certain.
    pub low_m3: f64,
    pub high_m3: f64,
}

/// Projects the year-end withdrawal (DESIGN §2): the seasonal ratio method whenever last year has
/// data, the 90-day run rate only without a last year.
pub fn project(w: &Windows, input: &ProjectionInput, p: &ProjectionParams) -> Projection {
    let s = &input.sums;
    let ytd = s.ytd.m3;
    let remaining = w.days_remaining();
    if remaining == 0 {
        return Projection {
            projected_m3: ytd,
            method: Method::Complete,
            ratio: None,
            ratio_unclamped: None,
            low_m3: ytd,
            high_m3: ytd,
        };
    }
    let clamp = |r: f64| r.clamp(p.ratio_min, p.ratio_max);
    let ratio_range = || {
        let lo = input
            .monthly_ratios
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = input
            .monthly_ratios
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi.is_finite() {
            (clamp(lo), clamp(hi))
        } else {
            (p.ratio_min, p.ratio_max)
        }
    };
    if input.has_last_year {
        // Last year's rest of the year, for as many days as this year's rest has (a 29 February
        // in either rest is a day more or less), and r over the calendar days both years have.
        let last_rest_days = w.days_remaining_last_year();
        let days_scale = if last_rest_days > 0 {
            remaining as f64 / last_rest_days as f64
        } else {
            1.0
        };
        let rest = (s.last_year.m3 - s.last_year_to_date.m3).max(0.0) * days_scale;
        let same = s.last_year_same_days.m3;
        let unclamped = (input.data_days_this_year >= p.min_days_for_ratio && same > 0.0)
            .then(|| s.ytd_same_days.m3 / same);
        let r = unclamped.map_or(1.0, clamp);
        let (lo, hi) = ratio_range();
        let projected = ytd + rest * r;
        return Projection {
            projected_m3: projected,
            method: Method::Seasonal,
            ratio: Some(r),
            ratio_unclamped: unclamped,
            low_m3: (ytd + rest * lo).min(projected),
            high_m3: (ytd + rest * hi).max(projected),
        };
    }
    let days = input.days_covered_90d.clamp(0, 90);
    let daily = if days > 0 {
        s.last_90d.m3 / days as f64
    } else {
        0.0
    };
    let rest = daily * remaining as f64;
    let (lo, hi) = ratio_range();
    let projected = ytd + rest;
    Projection {
        projected_m3: projected,
        method: Method::RunRate,
        ratio: None,
        ratio_unclamped: None,
        low_m3: (ytd + rest * lo).min(projected),
        high_m3: (ytd + rest * hi).max(projected),
    }
}

/// Sums of projections (a budget from its counties or intakes): figures and ranges add up; the
/// method is the one all parts share, else the seasonal method (the one used whenever there is
/// a last year).
pub fn sum_projections<'a>(parts: impl IntoIterator<Item = &'a Projection>) -> Projection {
    let mut out = Projection {
        projected_m3: 0.0,
        method: Method::Complete,
        ratio: None,
        ratio_unclamped: None,
        low_m3: 0.0,
        high_m3: 0.0,
    };
    let mut methods = Vec::new();
    for p in parts {
        out.projected_m3 += p.projected_m3;
        out.low_m3 += p.low_m3;
        out.high_m3 += p.high_m3;
        methods.push(p.method);
    }
    methods.dedup();
    out.method = match methods.as_slice() {
        [one] => *one,
        [] => Method::Complete,
        _ if methods.contains(&Method::Complete) => Method::Complete,
        _ => Method::Seasonal,
    };
    out
}

/// How completely the obliged intakes reported in a period: in intake-days, and in expected
/// volume (each intake weighed by what it was expected to draw, so that one silent big meter
/// counts as much as it draws — [`super::expected`]). The volume share decides where anything
/// was expected; the JSON gives both.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Completeness {
    /// Days on which an obliged intake reported, summed over the obliged intakes.
    pub reported_intake_days: i64,
    /// Obliged intakes × days in the period.
    pub expected_intake_days: i64,
    /// Calendar months of the period without any reported day.
    pub missing_months: u32,
    /// Volume the obliged intakes were expected to draw over the period.
    pub expected_m3: f64,
    /// The part of it on days that reported.
    pub reported_m3: f64,
}

impl Completeness {
    /// The share of obliged intake-days that reported; `None` without an obliged intake.
    pub fn intake_day_share(&self) -> Option<f64> {
        (self.expected_intake_days > 0)
            .then(|| self.reported_intake_days as f64 / self.expected_intake_days as f64)
    }

    /// The share of expected volume that reported; `None` when nothing was expected.
    pub fn volume_share(&self) -> Option<f64> {
        (self.expected_m3 > 0.0).then(|| self.reported_m3 / self.expected_m3)
    }

    /// The share a year is judged on: of expected volume, or of intake-days where no volume
    /// was expected; `None` when neither.
    pub fn share(&self) -> Option<f64> {
        self.volume_share().or_else(|| self.intake_day_share())
    }

    /// Complete enough to judge a year on: at least `min_share` reported and no month missing.
    pub fn is_complete(&self, min_share: f64) -> bool {
        self.missing_months == 0 && self.share().is_none_or(|s| s >= min_share)
    }
}

impl Serialize for Completeness {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Completeness", 7)?;
        st.serialize_field("reported_intake_days", &self.reported_intake_days)?;
        st.serialize_field("expected_intake_days", &self.expected_intake_days)?;
        st.serialize_field("intake_day_share", &self.intake_day_share())?;
        st.serialize_field("expected_m3", &self.expected_m3)?;
        st.serialize_field("reported_m3", &self.reported_m3)?;
        st.serialize_field("volume_share", &self.volume_share())?;
        st.serialize_field("missing_months", &self.missing_months)?;
        st.end()
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

/// A county's quota for a calendar year under `rule`: each version weighted by the days it is
/// in force (days with no version in force count zero), or the last version in force during
/// the year for all of it. `None` when no version covers any day.
pub fn county_quota_for_year(
    versions: &[QuotaVersion],
    county: CountyCode,
    year: i16,
    rule: QuotaRule,
) -> Option<f64> {
    let n = days_in_year(year);
    let start = Date::new(year, 1, 1).ok()?;
    let mut sum = 0.0;
    let mut last = None;
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
            last = Some(*q);
            sum += q * days / n as f64;
        }
    }
    match rule {
        QuotaRule::Prorated => last.map(|_| sum),
        QuotaRule::AsIssued => last,
    }
}

/// The quota as a step function over the year: `(first day, m³/yr)` at each change; under
/// [`QuotaRule::AsIssued`] one step, the figure the year is judged against.
pub fn quota_steps(
    versions: &[QuotaVersion],
    county: CountyCode,
    year: i16,
    rule: QuotaRule,
) -> Vec<(Date, f64)> {
    let mut out: Vec<(Date, f64)> = Vec::new();
    if rule == QuotaRule::AsIssued {
        if let (Ok(jan1), Some(q)) = (
            Date::new(year, 1, 1),
            county_quota_for_year(versions, county, year, rule),
        ) {
            out.push((jan1, q));
        }
        return out;
    }
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

    fn v(m3: f64) -> VolumeWithEstimate {
        VolumeWithEstimate {
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
        let qx = CountyCode::parse("140121").unwrap();
        let quota =
            |vs: &[QuotaVersion], c, y| county_quota_for_year(vs, c, y, QuotaRule::Prorated);
        // 2026: 181 days at 365/yr + 184 days at 730/yr.
        let q = quota(&vs, qx, 2026).unwrap();
        assert!((q - (181.0 + 368.0)).abs() < 1e-9, "{q}");
        assert_eq!(quota(&vs, qx, 2025), Some(365.0));
        assert_eq!(quota(&vs, CountyCode::parse("140105").unwrap(), 2025), None);
        assert_eq!(quota(&vs[1..], qx, 2025), None);
        let steps = quota_steps(&vs, qx, 2026, QuotaRule::Prorated);
        assert_eq!(
            steps,
            vec![(d("2026-01-01"), 365.0), (d("2026-07-01"), 730.0)]
        );
    }

    /// As issued: the version in force for the year applies to all of it (730 for 2026, the
    /// figure issued on 1 July), one step on the chart; a year without a change is the same
    /// under both rules.
    #[test]
    fn quota_as_issued_takes_the_figure_in_force_for_the_year() {
        let vs = [version("2020-01-01", 365.0), version("2026-07-01", 730.0)];
        let qx = CountyCode::parse("140121").unwrap();
        let rule = QuotaRule::AsIssued;
        assert_eq!(county_quota_for_year(&vs, qx, 2026, rule), Some(730.0));
        assert_eq!(county_quota_for_year(&vs, qx, 2025, rule), Some(365.0));
        assert_eq!(
            quota_steps(&vs, qx, 2026, rule),
            vec![(d("2026-01-01"), 730.0)]
        );
        assert_eq!(county_quota_for_year(&vs[1..], qx, 2025, rule), None);
    }

    /// Daily running sums of two years at 10 m³ a day in 2027 and 12 m³ a day in 2028 (a leap
    /// year), 20 m³ on 29 February 2028.
    fn leap_cum(d: Date) -> VolumeWithEstimate {
        let day = i64::from(d.day_of_year());
        let m3 = match d.year() {
            2027 => 10.0 * day as f64,
            // Through 28 February at 12, then 20 on the 29th, then 12 a day again.
            2028 if day <= 59 => 12.0 * day as f64,
            2028 => 12.0 * (day - 1) as f64 + 20.0,
            _ => 0.0,
        };
        v(m3)
    }

    /// r compares the same calendar days: as of 10 March 2028 this year's 70 days hold
    /// 29 February, last year's 69 do not, so r = (69 × 12) ÷ (69 × 10) = 1.2, not the 858 ÷ 690
    /// of the raw sums; the rest of 2028 (296 days) counts its own days: last year's 296 days
    /// after 10 March × 1.2 = 3,552 m³. As of 31 January the rest of 2028 (335 days, 29 February
    /// among them) is one day longer than the rest of 2027 (334): last year's 3,340 m³ × 335/334.
    #[test]
    fn leap_years_compare_the_same_calendar_days_and_count_real_days() {
        let w = Windows::new(d("2028-03-10"));
        let s = window_sums(&w, leap_cum);
        assert!(close(s.ytd.m3, 69.0 * 12.0 + 20.0), "{s:?}");
        assert!(close(s.ytd_same_days.m3, 69.0 * 12.0), "{s:?}");
        assert!(close(s.last_year_same_days.m3, 690.0), "{s:?}");
        let p = project(
            &w,
            &ProjectionInput {
                sums: s,
                has_last_year: true,
                data_days_this_year: 70,
                days_covered_90d: 70,
                monthly_ratios: Vec::new(),
            },
            &ProjectionParams::default(),
        );
        assert!(close(p.ratio.unwrap(), 1.2), "{p:?}");
        assert!(close(p.projected_m3, 848.0 + 2960.0 * 1.2), "{p:?}");

        let w = Windows::new(d("2028-01-31"));
        let s = window_sums(&w, leap_cum);
        let p = project(
            &w,
            &ProjectionInput {
                sums: s,
                has_last_year: true,
                data_days_this_year: 31,
                days_covered_90d: 31,
                monthly_ratios: Vec::new(),
            },
            &ProjectionParams::default(),
        );
        assert!(close(p.ratio.unwrap(), 1.2), "{p:?}");
        assert!(
            close(p.projected_m3, 372.0 + 3340.0 * 335.0 / 334.0 * 1.2),
            "{p:?}"
        );

        // The year after a leap year: as of 10 March 2029 last year's same period drops its
        // 29 February.
        let w = Windows::new(d("2029-03-10"));
        let s = window_sums(&w, |d| {
            if d.year() == 2029 {
                v(10.0 * f64::from(d.day_of_year()))
            } else {
                leap_cum(d)
            }
        });
        assert!(close(s.last_year_same_days.m3, 69.0 * 12.0), "{s:?}");
        assert!(close(s.ytd_same_days.m3, 690.0), "{s:?}");
    }

    #[test]
    fn the_as_of_month_is_complete_on_its_last_day() {
        assert_eq!(complete_months(d("2026-06-29")), 1..=5);
        assert_eq!(complete_months(d("2026-06-30")), 1..=6);
        assert!(complete_months(d("2026-01-30")).is_empty());
        assert_eq!(complete_months(d("2024-02-29")), 1..=2);
        assert_eq!(complete_months(d("2026-12-31")), 1..=12);
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

    fn input(ytd: f64, ly: f64, ly_same: f64, days: i64) -> ProjectionInput {
        ProjectionInput {
            sums: WindowSums {
                ytd: v(ytd),
                last_year: v(ly),
                last_year_to_date: v(ly_same),
                last_90d: v(270.0),
                ytd_same_days: v(ytd),
                last_year_same_days: v(ly_same),
                ..Default::default()
            },
            has_last_year: ly > 0.0,
            data_days_this_year: days,
            days_covered_90d: 90.0_f64.min(days as f64) as i64,
            monthly_ratios: Vec::new(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn seasonal_ratio_scales_last_years_rest_of_year() {
        let w = Windows::new(d("2026-06-30"));
        let p = ProjectionParams::default();
        // Last year 1000, of which 400 by 30 June; this year 500 so far: r = 1.25,
        // 500 + 600 × 1.25 = 1250.
        let mut i = input(500.0, 1000.0, 400.0, 181);
        i.monthly_ratios = vec![1.1, 1.4, 1.25];
        let pr = project(&w, &i, &p);
        assert_eq!(pr.method, Method::Seasonal);
        assert!(close(pr.projected_m3, 1250.0), "{pr:?}");
        assert_eq!(pr.ratio, Some(1.25));
        // Range from the smallest and largest monthly ratio: 500 + 600 × 1.1 and × 1.4.
        assert!(
            close(pr.low_m3, 1160.0) && close(pr.high_m3, 1340.0),
            "{pr:?}"
        );
    }

    #[test]
    fn seasonal_ratio_is_clamped_and_one_early_in_the_year() {
        let w = Windows::new(d("2026-06-30"));
        let p = ProjectionParams::default();
        // r = 500 / 100 = 5 → clamped to 2: 500 + 900 × 2 = 2300.
        let pr = project(&w, &input(500.0, 1000.0, 100.0, 181), &p);
        assert_eq!(pr.ratio, Some(2.0));
        assert_eq!(pr.ratio_unclamped, Some(5.0));
        assert!(close(pr.projected_m3, 2300.0));
        // No complete month yet: the range is the clamp range, 500 + 900 × 0.5 … × 2.
        assert!(
            close(pr.low_m3, 950.0) && close(pr.high_m3, 2300.0),
            "{pr:?}"
        );
        // Fewer than 30 days of data this year: r = 1, 40 + (1000 − 30) × 1 = 1010.
        let w = Windows::new(d("2026-01-20"));
        let pr = project(&w, &input(40.0, 1000.0, 30.0, 20), &p);
        assert_eq!(pr.ratio, Some(1.0));
        assert_eq!(pr.ratio_unclamped, None);
        assert!(close(pr.projected_m3, 1010.0));
        // Last year's same period empty: r = 1 as well.
        let w = Windows::new(d("2026-06-30"));
        let pr = project(&w, &input(500.0, 1000.0, 0.0, 181), &p);
        assert_eq!(pr.ratio, Some(1.0));
        assert!(close(pr.projected_m3, 1500.0));
    }

    #[test]
    fn run_rate_only_without_a_last_year_and_over_the_days_covered() {
        let w = Windows::new(d("2026-06-30"));
        let p = ProjectionParams::default();
        // 270 m³ over 90 covered days = 3 m³/day for the 184 days left.
        let pr = project(&w, &input(500.0, 0.0, 0.0, 181), &p);
        assert_eq!(pr.method, Method::RunRate);
        assert!(close(pr.projected_m3, 500.0 + 3.0 * 184.0));
        // Data only since 12 June (19 days): 270 / 19 per day, not 270 / 90.
        let mut i = input(270.0, 0.0, 0.0, 19);
        i.days_covered_90d = 19;
        let pr = project(&w, &i, &p);
        assert!(
            close(pr.projected_m3, 270.0 + 270.0 / 19.0 * 184.0),
            "{pr:?}"
        );
        // A complete year is its total.
        let end = Windows::new(d("2026-12-31"));
        let pr = project(&end, &input(500.0, 1000.0, 1000.0, 365), &p);
        assert_eq!(pr.method, Method::Complete);
        assert_eq!(
            (pr.projected_m3, pr.low_m3, pr.high_m3),
            (500.0, 500.0, 500.0)
        );
    }

    #[test]
    fn sums_of_projections_add_figures_and_ranges() {
        let w = Windows::new(d("2026-06-30"));
        let p = ProjectionParams::default();
        let a = project(&w, &input(500.0, 1000.0, 400.0, 181), &p);
        let b = project(&w, &input(500.0, 0.0, 0.0, 181), &p);
        let s = sum_projections([&a, &b]);
        assert!(close(s.projected_m3, a.projected_m3 + b.projected_m3));
        assert!(close(s.low_m3, a.low_m3 + b.low_m3));
        assert_eq!(s.method, Method::Seasonal);
    }

    #[test]
    fn completeness_share_and_missing_months() {
        let c = Completeness {
            reported_intake_days: 657,
            expected_intake_days: 730,
            missing_months: 0,
            ..Default::default()
        };
        assert!(close(c.share().unwrap(), 0.9));
        assert!(c.is_complete(0.9));
        assert!(!c.is_complete(0.91));
        assert!(
            !Completeness {
                missing_months: 1,
                ..c
            }
            .is_complete(0.5)
        );
        assert_eq!(Completeness::default().share(), None);
    }
}
