//! Axes: value ranges that are never empty, "nice" ticks, time ticks in fractional years, the
//! [`Ticked`] coordinate that carries them, and series split at gaps on a time axis.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

/// An axis range covering `values` (non-finite ignored) padded by `pad` of the span on each side;
/// never empty, never NaN. `include_zero` anchors bar charts at 0.
pub(crate) fn value_range(
    values: impl IntoIterator<Item = f64>,
    pad: f64,
    include_zero: bool,
) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * hi.abs().max(1.0) {
        // One distinct value: a fixed window around it (1 m for a level, 1 unit in general).
        let d = (hi.abs() * 1e-3).max(1.0);
        return (
            if include_zero && lo >= 0.0 {
                0.0
            } else {
                lo - d
            },
            hi + d,
        );
    }
    let lo = if include_zero && lo >= 0.0 {
        lo
    } else {
        lo - span * pad
    };
    (lo, hi + span * pad)
}

/// An f64 axis with explicit tick positions.
///
/// plotters' own `with_key_points` wrapper has no value formatter for f64, so no mesh can be drawn
/// over it; this one takes the default formatting slot and every chart sets its own formatter.
#[derive(Clone)]
pub(crate) struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    /// An axis over `range` (which may run high to low) with labels at `ticks` inside it.
    pub(crate) fn new(range: Range<f64>, mut ticks: Vec<f64>) -> Self {
        let (lo, hi) = (range.start.min(range.end), range.start.max(range.end));
        ticks.retain(|t| (lo..=hi).contains(t));
        Self {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ticked {
    /// An axis over `range` with "nice" ticks (1, 2, 2.5 or 5 × 10^k apart), at most `max` of
    /// them, and the number of decimals their labels need (use with [`fixed`](super::format::fixed)).
    pub(crate) fn nice(range: Range<f64>, max: usize) -> (Self, usize) {
        let (ticks, decimals) = nice_ticks(range.start, range.end, max);
        (Self::new(range, ticks), decimals)
    }
}

/// Tick positions 1, 2, 2.5 or 5 × 10^k apart covering `a..b` (either order), at most `max`, and
/// the decimals their labels need so that all labels of an axis have the same form.
pub(crate) fn nice_ticks(a: f64, b: f64, max: usize) -> (Vec<f64>, usize) {
    let (lo, hi) = (a.min(b), a.max(b));
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) || max == 0 {
        return (Vec::new(), 0);
    }
    let mag = 10f64.powf((span / max as f64).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= max as f64)
        .unwrap_or(10.0 * mag);
    let decimals = (0..=6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    let (first, last) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    (ticks, decimals)
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// Finite (x, y) points sorted by x, split where consecutive points are more than `max_gap` apart:
/// each run is drawn as its own line, so a long gap in monitoring is not bridged by a straight line.
pub(crate) fn runs(mut points: Vec<(f64, f64)>, max_gap: f64) -> Vec<Vec<(f64, f64)>> {
    points.retain(|(x, y)| x.is_finite() && y.is_finite());
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in points {
        match out.last_mut() {
            Some(run) if run.last().is_some_and(|q| p.0 - q.0 <= max_gap) => run.push(p),
            _ => out.push(vec![p]),
        }
    }
    out
}

/// Tick positions for a time axis in fractional years: year starts for spans of two years or more
/// (every second year beyond twelve), month starts otherwise. Returns the ticks and whether they
/// are months.
pub(crate) fn time_ticks(lo: f64, hi: f64) -> (Vec<f64>, bool) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (Vec::new(), false);
    }
    if span >= 2.0 {
        let step = if span > 12.0 { 2 } else { 1 };
        let (first, last) = (lo.ceil() as i64, hi.floor() as i64);
        let ticks = (first..=last)
            .filter(|y| y.rem_euclid(step) == 0)
            .map(|y| y as f64)
            .collect();
        return (ticks, false);
    }
    let months = (span * 12.0).ceil() as i64;
    let step = (months / 10 + 1).clamp(1, 6);
    let mut ticks = Vec::new();
    let start = (lo * 12.0).ceil() as i64;
    let end = (hi * 12.0).floor() as i64;
    for m in start..=end {
        if m.rem_euclid(step) == 0 {
            ticks.push(month_start(m));
        }
    }
    (ticks, true)
}

/// The fractional year at which month index `m` (= year × 12 + month − 1) starts.
fn month_start(m: i64) -> f64 {
    let year = m.div_euclid(12) as i32;
    let month = (m.rem_euclid(12) + 1) as u8;
    super::spec::Ymd::new(year, month, 1).fractional_year()
}

#[cfg(test)]
mod tests {
    use super::super::format::{fixed, time_label};
    use super::*;

    #[test]
    fn nice_ticks_have_uniform_labels() {
        let (t, d) = nice_ticks(758.6, 762.9, 6);
        let labels: Vec<String> = t.iter().map(|v| fixed(*v, d)).collect();
        assert_eq!(labels, ["759", "760", "761", "762"]);
        let (t, d) = nice_ticks(758.6, 761.9, 8);
        let labels: Vec<String> = t.iter().map(|v| fixed(*v, d)).collect();
        assert_eq!(
            labels,
            ["759.0", "759.5", "760.0", "760.5", "761.0", "761.5"]
        );
        let (t, d) = nice_ticks(0.0, 2290.0, 6);
        assert_eq!((t.len(), d), (5, 0));
        assert_eq!(fixed(t[4], d), "2000");
        let (t, d) = nice_ticks(62.0, 41.0, 8);
        assert_eq!(d, 0);
        assert_eq!(fixed(t[0], d), "45");
        let (t, d) = nice_ticks(0.0, 1.3, 6);
        assert_eq!((fixed(t[1], d), d), ("0.25".to_owned(), 2));
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert!(nice_ticks(1.0, 1.0, 5).0.is_empty());
        assert!(nice_ticks(f64::NAN, 1.0, 5).0.is_empty());
    }

    #[test]
    fn runs_split_at_gaps_and_skip_nan() {
        let r = runs(
            vec![(3.0, 1.0), (1.0, f64::NAN), (0.0, 1.0), (0.5, 2.0)],
            1.0,
        );
        assert_eq!(r, vec![vec![(0.0, 1.0), (0.5, 2.0)], vec![(3.0, 1.0)]]);
        assert!(runs(Vec::new(), 1.0).is_empty());
    }

    #[test]
    fn time_ticks_years_and_months() {
        let (t, monthly) = time_ticks(2019.9, 2027.6);
        assert!(!monthly);
        assert_eq!(
            t,
            vec![
                2020.0, 2021.0, 2022.0, 2023.0, 2024.0, 2025.0, 2026.0, 2027.0
            ]
        );
        let (t, monthly) = time_ticks(2026.0, 2026.99);
        assert!(monthly);
        assert_eq!(time_label(t[0], true), "2026-01");
        assert_eq!(
            time_label(t[t.len() - 1], true),
            "2026-11",
            "every second month"
        );
        assert!(time_ticks(1.0, 1.0).0.is_empty());
        assert!(time_ticks(f64::NAN, 1.0).0.is_empty());
    }

    #[test]
    fn ranges_are_never_degenerate() {
        assert_eq!(value_range([], 0.1, true), (0.0, 1.0));
        assert_eq!(
            value_range([f64::NAN, f64::INFINITY], 0.1, false),
            (0.0, 1.0)
        );
        let (lo, hi) = value_range([0.0, 0.0], 0.1, true);
        assert!(lo < hi);
        let (lo, hi) = value_range([812.3], 0.1, false);
        assert!(lo < 812.3 && hi > 812.3);
        let (lo, hi) = value_range([10.0, 20.0], 0.1, true);
        assert_eq!((lo, hi), (0.0, 22.0));
    }
}
