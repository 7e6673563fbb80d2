//! Screening a well's monthly series before it is tested: outlier months against a 13-month
//! running median (Hampel, MAD-scaled), steps that jump far beyond the well's usual month-to-month
//! change (a datum or sensor change), and the seasonal cycle taken out for the recent window.

use super::*;

/// Median of the finite values (NaN if none).
pub(super) fn median(v: &mut Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Each calendar month's median over the record, and the series with it taken off.
pub(super) fn deseasonalise(series: &[f64], start: Date) -> ([f64; 12], Vec<f64>) {
    let off = start.month() as usize - 1;
    let mut med = [f64::NAN; 12];
    for (m, slot) in med.iter_mut().enumerate() {
        let mut v: Vec<f64> = series
            .iter()
            .enumerate()
            .filter(|(i, _)| (i + off) % 12 == m)
            .map(|(_, x)| *x)
            .collect();
        *slot = median(&mut v);
    }
    let d = series
        .iter()
        .enumerate()
        .map(|(i, x)| x - med[(i + off) % 12])
        .collect();
    (med, d)
}

/// The smallest MAD the outlier screen works with, m: a record that hardly moves is not made
/// to flag centimetres.
pub(super) const MAD_FLOOR_M: f64 = 0.1;

/// Months whose deseasonalised level lies more than `k` MADs from the median of the 13 months
/// around it (a Hampel filter; at least 5 of them with data).
pub fn screen_outliers(series: &[f64], start: Date, k: f64) -> Vec<FlaggedMonth> {
    if k.is_nan() || k <= 0.0 {
        return Vec::new();
    }
    let (season, d) = deseasonalise(series, start);
    let off = start.month() as usize - 1;
    let mut out = Vec::new();
    for i in 0..d.len() {
        if !d[i].is_finite() {
            continue;
        }
        let mut w: Vec<f64> = d[i.saturating_sub(6)..(i + 7).min(d.len())].to_vec();
        w.retain(|x| x.is_finite());
        if w.len() < 5 {
            continue;
        }
        let med = median(&mut w.clone());
        let mut dev: Vec<f64> = w.iter().map(|x| (x - med).abs()).collect();
        let mad = median(&mut dev).max(MAD_FLOOR_M);
        if (d[i] - med).abs() > k * mad {
            out.push(FlaggedMonth {
                month: month_label(start, i),
                level_m: series[i],
                expected_m: med + season[(i + off) % 12],
            });
        }
    }
    out
}

/// Lasting jumps between consecutive months: the change from the month before differs from the
/// usual change between those two calendar months (the median over the other years) by more
/// than `step_m`, and the deseasonalised months after differ from those before by more than
/// half that. Returns each jump's month index and size.
pub(super) fn find_steps(series: &[f64], start: Date, step_m: f64) -> Vec<(usize, f64)> {
    if step_m.is_nan() || step_m <= 0.0 {
        return Vec::new();
    }
    let off = start.month() as usize - 1;
    let diff = |i: usize| series[i] - series[i - 1];
    let (_, d) = deseasonalise(series, start);
    (1..series.len())
        .filter_map(|i| {
            let change = diff(i);
            if !change.is_finite() {
                return None;
            }
            let mut usual: Vec<f64> = (1..series.len())
                .filter(|&j| j != i && (j + off) % 12 == (i + off) % 12)
                .map(diff)
                .collect();
            let usual = median(&mut usual);
            let jump = change - if usual.is_finite() { usual } else { 0.0 };
            if jump.abs() <= step_m {
                return None;
            }
            let mut before: Vec<f64> = d[i.saturating_sub(6)..i].to_vec();
            let mut after: Vec<f64> = d[i..(i + 6).min(d.len())].to_vec();
            let (b, a) = (median(&mut before), median(&mut after));
            (before.len() >= 3 && after.len() >= 3 && (a - b).abs() > step_m / 2.0)
                .then_some((i, jump))
        })
        .collect()
}
