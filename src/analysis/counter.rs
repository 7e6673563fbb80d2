//! Cumulative meter totals → interval volumes → local days.
//!
//! Real meters (SZY 206 累计水量 and the like) send running totals. The volume of an interval is
//! the difference of two consecutive totals in time order, with the field's failure modes handled
//! explicitly:
//!
//! * a total that steps back by no more than the jitter tolerance is meter noise: zero volume;
//! * a larger drop is a **reset** when the new total could have accumulated from zero within the
//!   interval at the intake's maximum flow (volume = the new total), otherwise a **replacement**
//!   (new meter, unknown starting figure: volume estimated from the previous interval's rate, or
//!   zero when there is none) — both recorded as events, never a negative volume;
//! * an interval longer than the gap threshold is a **gap**: its volume is real but its
//!   distribution over the days is not, so it is spread in proportion to time and marked estimated;
//! * a volume implying a flow above the plausible maximum is **flagged** (kept, not dropped).
//!
//! Every interval is apportioned to local days in proportion to time, so an interval crossing
//! midnight (or New Year) is split between the days it spans.

use jiff::civil::Date;

use crate::domain::time::{LocalClock, next_day};

/// One reading of a cumulative meter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub ts: i64,
    pub total_m3: f64,
}

/// Per-intake parameters of the counter rules.
#[derive(Clone, Copy, Debug)]
pub struct CounterParams {
    /// Plausible maximum flow of the intake.
    pub max_flow_m3_per_h: f64,
    /// Intervals longer than this are gaps.
    pub gap_s: i64,
    /// Intervals longer than this are long gaps: spread over their days like gaps, and also
    /// recorded as events for review (where in months of silence the water was drawn is a
    /// guess, and the verdict weighs how much of a year rests on it).
    pub max_spread_s: i64,
    /// Backward steps up to this size are noise.
    pub jitter_m3: f64,
}

/// What kind of interval two consecutive readings make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalKind {
    Normal,
    Gap,
    Jitter,
    Reset,
    Replacement,
    /// Longer than the spread limit: the volume is known but where it fell in time is not. It is
    /// spread over its days as estimated volume, so that it counts in the year (or the years, by
    /// days) it spans, and recorded as an event for review.
    LongGap,
}

impl IntervalKind {
    /// Name stored in `meter_events.kind` for kinds that are events.
    pub fn event_name(self) -> Option<&'static str> {
        match self {
            IntervalKind::Jitter => Some("jitter"),
            IntervalKind::Reset => Some("reset"),
            IntervalKind::Replacement => Some("replacement"),
            IntervalKind::LongGap => Some("long_gap"),
            IntervalKind::Normal | IntervalKind::Gap => None,
        }
    }
}

/// The volume between two consecutive readings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub start: i64,
    pub end: i64,
    pub start_total: f64,
    pub end_total: f64,
    pub volume_m3: f64,
    /// The volume (or its placement in time) is an estimate.
    pub estimated: bool,
    /// The implied flow exceeds the plausible maximum.
    pub flagged: bool,
    pub kind: IntervalKind,
}

impl Interval {
    /// Mean flow over the interval in m³/h.
    pub fn flow_m3_per_h(&self) -> f64 {
        let h = (self.end - self.start) as f64 / 3600.0;
        if h > 0.0 { self.volume_m3 / h } else { 0.0 }
    }
}

/// The interval from `a` to `b` (with `a.ts < b.ts`). `prev_rate_m3_per_h` is the flow of the
/// interval before, used to estimate the volume lost across a meter replacement.
pub fn interval(
    a: Point,
    b: Point,
    prev_rate_m3_per_h: Option<f64>,
    p: &CounterParams,
) -> Interval {
    let dt_s = (b.ts - a.ts).max(1);
    let hours = dt_s as f64 / 3600.0;
    let diff = b.total_m3 - a.total_m3;
    let gap = dt_s > p.gap_s;
    let (kind, volume, estimated) = if dt_s > p.max_spread_s {
        // A drop across a long outage (meter swapped, counter reset) leaves the volume unknown.
        (IntervalKind::LongGap, diff.max(0.0), true)
    } else if diff >= 0.0 {
        (
            if gap {
                IntervalKind::Gap
            } else {
                IntervalKind::Normal
            },
            diff,
            gap,
        )
    } else if -diff <= p.jitter_m3 {
        (IntervalKind::Jitter, 0.0, false)
    } else if b.total_m3 <= p.max_flow_m3_per_h * hours {
        // Counter rolled back to zero and counted up again within the interval.
        (IntervalKind::Reset, b.total_m3, gap)
    } else {
        let est = prev_rate_m3_per_h.map_or(0.0, |r| (r * hours).max(0.0));
        (IntervalKind::Replacement, est, true)
    };
    Interval {
        start: a.ts,
        end: b.ts,
        start_total: a.total_m3,
        end_total: b.total_m3,
        volume_m3: volume,
        estimated,
        flagged: kind != IntervalKind::LongGap && volume / hours > p.max_flow_m3_per_h,
        kind,
    }
}

/// A meter replacement entered by hand: at `at` the old meter's last total was `old_final` and
/// the new one started at `new_start`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Swap {
    pub at: i64,
    pub old_final: f64,
    pub new_start: f64,
}

/// The interval from `a` (old meter) to `b` (new meter) across a replacement: what the old meter
/// counted after `a` and the new one before `b`. Measured, not estimated; flagged like any
/// interval when the flow is implausible.
pub fn interval_across(a: Point, b: Point, swap: Swap, p: &CounterParams) -> Interval {
    let dt_s = (b.ts - a.ts).max(1);
    let hours = dt_s as f64 / 3600.0;
    let volume = (swap.old_final - a.total_m3).max(0.0) + (b.total_m3 - swap.new_start).max(0.0);
    let gap = dt_s > p.gap_s;
    Interval {
        start: a.ts,
        end: b.ts,
        start_total: a.total_m3,
        end_total: b.total_m3,
        volume_m3: volume,
        estimated: gap,
        flagged: volume / hours > p.max_flow_m3_per_h,
        kind: IntervalKind::Replacement,
    }
}

/// [`intervals`], with the replacements entered by hand: an interval with one inside it is
/// [`interval_across`].
pub fn intervals_with(
    points: &[Point],
    prev_rate: Option<f64>,
    p: &CounterParams,
    swaps: &[Swap],
) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::with_capacity(points.len().saturating_sub(1));
    let mut rate = prev_rate;
    for w in points.windows(2) {
        let iv = match swaps.iter().find(|s| w[0].ts < s.at && s.at <= w[1].ts) {
            Some(s) => interval_across(w[0], w[1], *s, p),
            None => interval(w[0], w[1], rate, p),
        };
        rate = rate_for_next(&iv);
        out.push(iv);
    }
    out
}

/// Intervals between consecutive points (sorted by time, distinct timestamps). The first
/// interval's replacement estimate uses `prev_rate`, later ones the interval before them.
pub fn intervals(points: &[Point], prev_rate: Option<f64>, p: &CounterParams) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::with_capacity(points.len().saturating_sub(1));
    let mut rate = prev_rate;
    for w in points.windows(2) {
        let iv = interval(w[0], w[1], rate, p);
        rate = rate_for_next(&iv);
        out.push(iv);
    }
    out
}

/// The flow an interval passes on to a following replacement estimate: only measured, unflagged
/// intervals are trusted.
pub fn rate_for_next(iv: &Interval) -> Option<f64> {
    match iv.kind {
        IntervalKind::Normal | IntervalKind::Gap if !iv.flagged => Some(iv.flow_m3_per_h()),
        _ => None,
    }
}

/// A share of an interval that falls on one local day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DayShare {
    pub day: Date,
    pub volume_m3: f64,
    pub estimated: bool,
    pub flagged: bool,
    /// Seconds of the interval inside this day.
    pub seconds: i64,
}

/// Splits an interval's volume over the local days it spans, in proportion to time (a long gap
/// as well: its volume is estimated on each of its days).
pub fn apportion(iv: &Interval, clock: &LocalClock, out: &mut Vec<DayShare>) {
    let total_s = (iv.end - iv.start).max(1) as f64;
    let mut day = clock.day_of(iv.start);
    let mut t = iv.start;
    // The last day touched is the one containing end-1s (an interval ending exactly at midnight
    // belongs wholly to the day before).
    let last = clock.day_of(iv.end - 1);
    loop {
        let day_end = clock.day_end(day);
        let seg_end = day_end.min(iv.end);
        let secs = seg_end - t;
        if secs > 0 {
            out.push(DayShare {
                day,
                volume_m3: iv.volume_m3 * secs as f64 / total_s,
                estimated: iv.estimated,
                flagged: iv.flagged,
                seconds: secs,
            });
        }
        if day >= last || seg_end >= iv.end {
            break;
        }
        t = seg_end;
        day = next_day(day);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> CounterParams {
        CounterParams {
            max_flow_m3_per_h: 100.0,
            gap_s: 24 * 3600,
            max_spread_s: 31 * 86_400,
            jitter_m3: 1.0,
        }
    }
    fn sh() -> LocalClock {
        LocalClock::new("Asia/Shanghai").unwrap()
    }
    fn ts(s: &str) -> i64 {
        sh().parse_str(s).unwrap()
    }
    fn pt(s: &str, total: f64) -> Point {
        Point {
            ts: ts(s),
            total_m3: total,
        }
    }
    fn by_day(ivs: &[Interval]) -> Vec<(String, f64, bool)> {
        let c = sh();
        let mut shares = Vec::new();
        for iv in ivs {
            apportion(iv, &c, &mut shares);
        }
        let mut out: Vec<(String, f64, bool)> = Vec::new();
        for s in shares {
            let d = s.day.to_string();
            match out.last_mut() {
                Some(last) if last.0 == d => {
                    last.1 += s.volume_m3;
                    last.2 |= s.estimated;
                }
                _ => out.push((d, s.volume_m3, s.estimated)),
            }
        }
        out
    }
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn consecutive_totals_give_differences() {
        let p = [
            pt("2026-03-01 08:00", 1000.0),
            pt("2026-03-01 09:00", 1030.0),
            pt("2026-03-01 10:00", 1075.5),
        ];
        let iv = intervals(&p, None, &params());
        assert_eq!(iv.len(), 2);
        assert!(close(iv[0].volume_m3, 30.0) && close(iv[1].volume_m3, 45.5));
        assert!(
            iv.iter()
                .all(|i| i.kind == IntervalKind::Normal && !i.estimated && !i.flagged)
        );
    }

    #[test]
    fn midnight_crossing_is_split_by_time() {
        // 22:00 → 02:00 with 40 m³: 2 h before midnight, 2 h after.
        let iv = intervals(
            &[pt("2026-03-01 22:00", 100.0), pt("2026-03-02 02:00", 140.0)],
            None,
            &params(),
        );
        let d = by_day(&iv);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].0, "2026-03-01");
        assert!(close(d[0].1, 20.0) && close(d[1].1, 20.0), "{d:?}");
    }

    #[test]
    fn year_end_split_uses_local_time() {
        // 23:00 local on 31 Dec to 01:00 local on 1 Jan: 30 m³ → 15 + 15, split at local
        // midnight (16:00 UTC), not UTC midnight.
        let iv = intervals(
            &[
                pt("2025-12-31T23:00:00+08:00", 0.0),
                pt("2026-01-01T01:00:00+08:00", 30.0),
            ],
            None,
            &params(),
        );
        let d = by_day(&iv);
        assert_eq!(
            d.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
            ["2025-12-31", "2026-01-01"]
        );
        assert!(close(d[0].1, 15.0) && close(d[1].1, 15.0));
    }

    #[test]
    fn interval_ending_at_midnight_stays_on_its_day() {
        let iv = intervals(
            &[pt("2026-03-01 23:00", 0.0), pt("2026-03-02 00:00", 10.0)],
            None,
            &params(),
        );
        let d = by_day(&iv);
        assert_eq!(d, vec![("2026-03-01".to_string(), 10.0, false)]);
    }

    #[test]
    fn reset_to_zero_counts_the_new_total_and_never_goes_negative() {
        let iv = intervals(
            &[
                pt("2026-03-01 08:00", 5000.0),
                pt("2026-03-01 09:00", 5050.0),
                pt("2026-03-01 10:00", 20.0),
                pt("2026-03-01 11:00", 70.0),
            ],
            None,
            &params(),
        );
        assert_eq!(iv[1].kind, IntervalKind::Reset);
        assert!(close(iv[1].volume_m3, 20.0) && !iv[1].estimated);
        let total: f64 = iv.iter().map(|i| i.volume_m3).sum();
        assert!(close(total, 50.0 + 20.0 + 50.0));
    }

    #[test]
    fn replacement_is_estimated_from_the_previous_rate() {
        // New meter showing 800 m³: it cannot have counted up from zero in one hour at
        // ≤ 100 m³/h, so it is a replacement; the lost hour is estimated at the previous 60 m³/h.
        let iv = intervals(
            &[
                pt("2026-03-01 08:00", 5000.0),
                pt("2026-03-01 09:00", 5060.0),
                pt("2026-03-01 10:00", 800.0),
                pt("2026-03-01 11:00", 840.0),
            ],
            None,
            &params(),
        );
        assert_eq!(iv[1].kind, IntervalKind::Replacement);
        assert!(iv[1].estimated && close(iv[1].volume_m3, 60.0));
        assert!(close(iv[2].volume_m3, 40.0));
        // Without a previous interval the lost volume is unknown: zero, estimated, an event.
        let first = interval(
            pt("2026-03-01 08:00", 5000.0),
            pt("2026-03-01 09:00", 800.0),
            None,
            &params(),
        );
        assert_eq!(first.kind, IntervalKind::Replacement);
        assert!(first.estimated && first.volume_m3 == 0.0);
    }

    #[test]
    fn small_backstep_is_jitter() {
        let iv = interval(
            pt("2026-03-01 08:00", 5000.5),
            pt("2026-03-01 09:00", 5000.0),
            None,
            &params(),
        );
        assert_eq!(iv.kind, IntervalKind::Jitter);
        assert_eq!(iv.volume_m3, 0.0);
    }

    #[test]
    fn gap_spreads_over_days_and_is_estimated() {
        // 72 h outage with 7200 m³: 08:00 day 1 → 08:00 day 4: 16 h, 24 h, 24 h, 8 h.
        let iv = intervals(
            &[pt("2026-03-01 08:00", 0.0), pt("2026-03-04 08:00", 7200.0)],
            None,
            &params(),
        );
        assert_eq!(iv[0].kind, IntervalKind::Gap);
        let d = by_day(&iv);
        let vols: Vec<f64> = d.iter().map(|x| x.1).collect();
        assert_eq!(d.len(), 4);
        for (got, want) in vols.iter().zip([1600.0, 2400.0, 2400.0, 800.0]) {
            assert!(close(*got, want), "{vols:?}");
        }
        assert!(d.iter().all(|x| x.2));
    }

    #[test]
    fn a_gap_past_the_spread_limit_is_spread_as_estimated_and_kept_for_review() {
        // 45 days without a reading: 50,000 m³ is known, where it fell in time is not.
        let iv = intervals(
            &[
                pt("2026-03-01 00:00", 1000.0),
                pt("2026-04-15 00:00", 51_000.0),
                pt("2026-04-15 01:00", 51_010.0),
            ],
            None,
            &params(),
        );
        assert_eq!(iv[0].kind, IntervalKind::LongGap);
        assert_eq!(IntervalKind::LongGap.event_name(), Some("long_gap"));
        assert!(close(iv[0].volume_m3, 50_000.0) && iv[0].estimated && !iv[0].flagged);
        // Its rate estimates nothing that follows; the next hour is an ordinary interval.
        assert_eq!(rate_for_next(&iv[0]), None);
        assert_eq!(iv[1].kind, IntervalKind::Normal);
        // 45 days of 50,000 m³: 1,111.1 m³ a day, each estimated; the next hour is measured.
        let d = by_day(&iv);
        assert_eq!(d.len(), 46, "{d:?}");
        assert!(close(d[0].1, 50_000.0 / 45.0) && d[0].2);
        assert!(close(d[44].1, 50_000.0 / 45.0));
        assert!(close(d[45].1, 10.0) && !d[45].2);
        // Across New Year it is split by days: 1 December to 30 January, 61 days, 6,100 m³.
        let ny = intervals(
            &[pt("2025-12-01 00:00", 0.0), pt("2026-01-31 00:00", 6100.0)],
            None,
            &params(),
        );
        let d = by_day(&ny);
        let in_2025: f64 = d
            .iter()
            .filter(|x| x.0.starts_with("2025"))
            .map(|x| x.1)
            .sum();
        assert!(close(in_2025, 3100.0) && d.iter().all(|x| x.2), "{d:?}");
        // Exactly at the limit it is still a gap, spread over its 31 days.
        let at = intervals(
            &[pt("2026-03-01 00:00", 0.0), pt("2026-04-01 00:00", 3100.0)],
            None,
            &params(),
        );
        assert_eq!(at[0].kind, IntervalKind::Gap);
        assert_eq!(by_day(&at).len(), 31);
    }

    #[test]
    fn spike_is_flagged_not_dropped() {
        let iv = interval(
            pt("2026-03-01 08:00", 0.0),
            pt("2026-03-01 09:00", 250.0),
            None,
            &params(),
        );
        assert!(iv.flagged);
        assert!(close(iv.volume_m3, 250.0));
    }

    #[test]
    fn out_of_order_arrival_gives_the_same_days_as_in_order() {
        // The counter math is on time-sorted points; arrival order must not matter once sorted.
        let mut pts = vec![
            pt("2026-03-01 22:00", 0.0),
            pt("2026-03-02 03:00", 50.0),
            pt("2026-03-01 23:30", 15.0),
            pt("2026-03-02 01:00", 30.0),
        ];
        pts.sort_by_key(|p| p.ts);
        let d = by_day(&intervals(&pts, None, &params()));
        assert!(close(d[0].1, 20.0) && close(d[1].1, 30.0), "{d:?}");
    }
}
