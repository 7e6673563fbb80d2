//! Mann-Kendall trend tests and Theil-Sen slopes for groundwater level series.
//!
//! This module is a pure-Rust port of four functions of the Python package
//! `pymannkendall` **1.4.3** (Hussain & Mahmud, 2019), reproducing its
//! numerical results (same formulas, same order of floating-point operations,
//! same handling of missing values):
//!
//! * [`original_test`]: the Mann-Kendall test (Mann 1945, Kendall 1975,
//!   Gilbert 1987) with the tie-corrected variance of `S`, the continuity
//!   correction of `Z` and a two-sided normal p-value; its slope is [`sens_slope`].
//! * [`sens_slope`]: the Theil (1950) / Sen (1968) slope, i.e. the median of all
//!   pairwise slopes, and the Conover (1980) intercept.
//! * [`seasonal_test`]: the seasonal Kendall test (Hirsch, Slack & Smith 1982;
//!   Hirsch & Slack 1984): `S`, `var(S)` and the Tau denominator are summed over
//!   the seasons; its slope is [`seasonal_sens_slope`].
//! * [`seasonal_sens_slope`]: the seasonal Sen slope (Hirsch et al. 1982,
//!   Hipel 1994): the median of the pairwise slopes computed *within* each season.
//!
//! # Conventions (as in pymannkendall)
//!
//! * The input is a regularly spaced series; a missing observation is `NaN`
//!   and keeps its place in time. `±inf` is treated as an ordinary value.
//! * For the seasonal functions the series is cut into consecutive cycles of
//!   `period` values (index `k` belongs to season `k % period` and cycle
//!   `k / period`); a final incomplete cycle is padded with missing values.
//!   For monthly data use `period = 12` (the series should start in the month
//!   that is to be season 0).
//! * The seasonal slope is expressed **per cycle** (per year for monthly data
//!   with `period = 12`), because pairwise slopes are taken between cycles of
//!   the same season. The non-seasonal slope is per time step (per month).
//! * Intercepts follow pymannkendall: `median(valid x) - median(valid t) * slope`
//!   where `t` is the 0-based time step of each non-missing value; for the
//!   seasonal slope, `t` is divided by `period` (so it is in cycles). The
//!   fitted line is therefore `x ≈ intercept + slope * t` (non-seasonal) or
//!   `x ≈ intercept + slope * t / period` (seasonal), with `t` counted from
//!   the first element of the input, whether or not it is missing.
//! * Medians are exact: for an even count, the mean of the two middle values
//!   (as `numpy.median`).
//! * `S` counts pairs *within* the non-missing values. In [`original_test`]
//!   missing values are dropped before scoring (only their order matters for `S`),
//!   whereas the slope keeps the real time gaps.
//!
//! # Degenerate input
//!
//! * Fewer than two non-missing values (for [`seasonal_test`]: no season with
//!   at least two non-missing values), or `period == 0`: pymannkendall raises
//!   `ZeroDivisionError`, and the tests return `None`.
//! * A constant series (or one with no pair of distinct values in any
//!   season): `S = 0`, `var_s = 0`, `z = 0`, `p = 1`, [`Trend::NoTrend`]
//!   (no division by zero happens, as in pymannkendall).
//! * No valid pairwise slope (e.g. one value per season, or all missing):
//!   slope and intercept are `NaN` (pymannkendall returns `nan` with a
//!   "Mean of empty slice" / "All-NaN slice" warning).
//! * `alpha` is used as `Φ⁻¹(1 - alpha/2)`; when `1 - alpha/2` is NaN or outside
//!   `[0, 1]` the threshold is NaN and `h` is `false` (scipy's `ppf` gives `nan`).
//!
//! # Accuracy against pymannkendall
//!
//! `S`, `var_s`, `z`, Tau, the slopes and the intercepts are computed with the
//! same floating-point operations in the same order as pymannkendall/numpy and
//! agree bit for bit (checked on the fixtures and on 600 random series).
//! `p` and the critical value use `statrs`' normal distribution instead of
//! scipy's: `Φ` in statrs 0.19.1 has a relative error of about 1e-10 (its
//! `erfc` carries interval constants rounded to 10 digits; fixed upstream in
//! statrs PR #412, not yet released), so `p` agrees with scipy to about 1e-10
//! relative, plus one rounding step of `1 - Φ(|z|)` (2.2e-16 absolute) for
//! tiny `p`. `h` can only differ when `|z|` lies within ~1e-15 of the critical value.

use statrs::distribution::{ContinuousCDF, Normal};

/// Seasonal cycle length for monthly data.
pub const DEFAULT_PERIOD: usize = 12;

/// Default significance level of the two-sided test.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// Direction of a monotonic trend, as decided by the test at level `alpha`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trend {
    /// `h` is true and `z > 0`.
    Increasing,
    /// `h` is true and `z < 0`.
    Decreasing,
    /// `h` is false (or `z == 0`).
    NoTrend,
}

impl Trend {
    /// The label pymannkendall uses: `"increasing"`, `"decreasing"` or `"no trend"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Increasing => "increasing",
            Trend::Decreasing => "decreasing",
            Trend::NoTrend => "no trend",
        }
    }
}

impl std::fmt::Display for Trend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of a Mann-Kendall test; the fields mirror pymannkendall's named tuple
/// (`trend, h, p, z, Tau, s, var_s, slope, intercept`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MkResult {
    /// Trend decision.
    pub trend: Trend,
    /// `true` when `|z|` exceeds the two-sided critical value `Φ⁻¹(1 - alpha/2)`.
    pub h: bool,
    /// Two-sided p-value `2 (1 - Φ(|z|))`.
    pub p: f64,
    /// Normalised statistic with continuity correction: `(S ∓ 1) / sqrt(var_s)`, `0` if `S == 0`.
    pub z: f64,
    /// Kendall's Tau: `S / Σ n(n-1)/2` (sum over seasons for the seasonal test).
    pub tau: f64,
    /// Mann-Kendall score `S` (an integer, stored as `f64`).
    pub s: f64,
    /// Tie-corrected variance of `S` (summed over seasons for the seasonal test).
    pub var_s: f64,
    /// Sen slope: per time step for [`original_test`], per cycle for [`seasonal_test`].
    pub slope: f64,
    /// Intercept of the Kendall-Theil line (see the module docs).
    pub intercept: f64,
}

impl MkResult {
    /// The result of a test with score `s`, its variance, statistic `z` and Tau, decided at
    /// `alpha`, with the test's slope and intercept. A `z` that is NaN (a variance of 0, as numpy
    /// divides) gives a NaN `p` and no trend.
    fn decided(
        s: f64,
        var_s: f64,
        z: f64,
        tau: f64,
        alpha: f64,
        (slope, intercept): (f64, f64),
    ) -> Self {
        let (p, h, trend) = if z.is_nan() {
            (f64::NAN, false, Trend::NoTrend)
        } else {
            p_value(z, alpha)
        };
        MkResult {
            trend,
            h,
            p,
            z,
            tau,
            s,
            var_s,
            slope,
            intercept,
        }
    }
}

/// Mann-Kendall test (pymannkendall `original_test(x, alpha)`).
///
/// `NaN` values are dropped before computing `S` and `var_s`; the slope and
/// intercept are those of [`sens_slope`] on the full series (with gaps).
/// Returns `None` when fewer than two values are not `NaN` (pymannkendall
/// raises `ZeroDivisionError` there).
pub fn original_test(x: &[f64], alpha: f64) -> Option<MkResult> {
    let valid: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = valid.len();
    if n < 2 {
        return None;
    }
    let mut scratch = Vec::with_capacity(n);
    let s = mk_score(&valid) as f64;
    let var_s = variance_s(&valid, &mut scratch);
    let tau = s / (0.5 * n as f64 * (n as f64 - 1.0));
    let z = z_score(s, var_s);
    Some(MkResult::decided(s, var_s, z, tau, alpha, sens_slope(x)))
}

/// Seasonal Mann-Kendall test (pymannkendall `seasonal_test(x, period, alpha)`).
///
/// The series is split into seasons (`x[k]` is season `k % period`); within each
/// season `NaN` values are dropped and the season's `S`, `var_s` and
/// `n(n-1)/2` are computed and summed. The slope and intercept are those of
/// [`seasonal_sens_slope`] (slope per cycle, i.e. per year for monthly data).
///
/// Returns `None` when `period == 0` or no season has two non-`NaN` values,
/// e.g. a series no longer than one cycle (pymannkendall raises there).
pub fn seasonal_test(x: &[f64], period: usize, alpha: f64) -> Option<MkResult> {
    if period == 0 {
        return None;
    }
    let cycles = x.len().div_ceil(period);
    let mut column = Vec::with_capacity(cycles);
    let mut scratch = Vec::with_capacity(cycles);
    // Same accumulation order as pymannkendall's multivariate_test.
    let mut s_total: i64 = 0;
    let mut var_s = 0.0_f64;
    let mut denom = 0.0_f64;
    // Seasons at or beyond `x.len()` are empty and add nothing.
    for season in 0..period.min(x.len()) {
        column.clear();
        column.extend(
            x.iter()
                .skip(season)
                .step_by(period)
                .copied()
                .filter(|v| !v.is_nan()),
        );
        let n = column.len() as f64;
        s_total += mk_score(&column);
        var_s += variance_s(&column, &mut scratch);
        denom += 0.5 * n * (n - 1.0);
    }
    if denom == 0.0 {
        return None;
    }
    let s = s_total as f64;
    let tau = s / denom;
    let z = z_score(s, var_s);
    Some(MkResult::decided(
        s,
        var_s,
        z,
        tau,
        alpha,
        seasonal_sens_slope(x, period),
    ))
}

/// Seasonal Mann-Kendall test corrected for serial correlation (Hirsch & Slack 1984;
/// pymannkendall `correlated_seasonal_test(x, period)`).
///
/// The series is cut into cycles of `period` values as in [`seasonal_test`]; only **complete**
/// cycles (no missing value; a final partial cycle is padded and so dropped) enter, as in
/// pymannkendall. `S` and Tau are those of the seasonal test on those cycles; `var(S)` is the
/// sum over all pairs of seasons of the covariance of their `S` estimated from Kendall's
/// concordance `K` and the within-season ranks `R`:
/// `Γ(g,h) = (K(g,h) + 4 Σ R_g R_h − n (n + 1)²) / 3`, so a series whose seasons move together
/// (autocorrelated noise) is not mistaken for a trend. `z = S / sqrt(var(S))`, without the
/// continuity correction (as pymannkendall); the slope and intercept are those of
/// [`seasonal_sens_slope`] on the whole series.
///
/// pymannkendall 1.4.3 decides at `alpha = 0.05` whatever is passed (it does not hand `alpha`
/// on); this port uses `alpha`. Returns `None` with fewer than two complete cycles or
/// `period < 2` (pymannkendall raises there). A constant series has `var(S) = 0`: `z` and `p`
/// are NaN and the trend is [`Trend::NoTrend`], as numpy gives.
pub fn correlated_seasonal_test(x: &[f64], period: usize, alpha: f64) -> Option<MkResult> {
    if period < 2 {
        return None;
    }
    let rows: Vec<&[f64]> = x
        .chunks_exact(period)
        .filter(|r| !r.iter().any(|v| v.is_nan()))
        .collect();
    let n = rows.len();
    if n < 2 {
        return None;
    }
    let columns: Vec<Vec<f64>> = (0..period)
        .map(|c| rows.iter().map(|r| r[c]).collect())
        .collect();
    let mut s_total: i64 = 0;
    let mut denom = 0.0_f64;
    for c in &columns {
        s_total += mk_score(c);
        denom += 0.5 * n as f64 * (n as f64 - 1.0);
    }
    // Twice the ranks R = (n + 1 + Σ sign(x_j − x_i)) / 2: integers, so Γ is exact until the
    // division by 3.
    let ranks2: Vec<Vec<i64>> = columns
        .iter()
        .map(|c| {
            c.iter()
                .map(|&xj| n as i64 + 1 + c.iter().map(|&xi| sign(xj - xi)).sum::<i64>())
                .collect()
        })
        .collect();
    let nn = n as i64;
    let mut var_s = 0.0_f64;
    for g in 0..period {
        for h in 0..period {
            let k = concordance(&columns[g], &columns[h]);
            let rr: i64 = ranks2[g].iter().zip(&ranks2[h]).map(|(a, b)| a * b).sum();
            var_s += (k + rr - nn * (nn + 1) * (nn + 1)) as f64 / 3.0;
        }
    }
    let s = s_total as f64;
    let tau = s / denom;
    let z = s / var_s.sqrt();
    Some(MkResult::decided(
        s,
        var_s,
        z,
        tau,
        alpha,
        seasonal_sens_slope(x, period),
    ))
}

/// Mann-Kendall test with the Hamed & Rao (1998) variance correction for serial correlation
/// (pymannkendall `hamed_rao_modification_test(x, alpha)`, all lags).
///
/// Missing values are dropped (the series is then taken as consecutive, as pymannkendall does);
/// the series is detrended with the Sen slope of the series with its gaps, ranked (average
/// ranks for ties), and every lag `i` whose rank autocorrelation lies outside
/// `±Φ⁻¹(1 − alpha/2)/sqrt(n)` inflates `var(S)` by `(n−i)(n−i−1)(n−i−2) ρ_i`, scaled by
/// `2 / (n (n−1) (n−2))`. Returns `None` with fewer than three values (pymannkendall raises).
pub fn hamed_rao_test(x: &[f64], alpha: f64) -> Option<MkResult> {
    let valid: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = valid.len();
    if n < 3 {
        return None;
    }
    let mut scratch = Vec::with_capacity(n);
    let s = mk_score(&valid) as f64;
    let var_s0 = variance_s(&valid, &mut scratch);
    let nf = n as f64;
    let tau = s / (0.5 * nf * (nf - 1.0));
    let (slope, intercept) = sens_slope(x);
    let detrended: Vec<f64> = valid
        .iter()
        .enumerate()
        .map(|(i, v)| v - (i + 1) as f64 * slope)
        .collect();
    let ranks = average_ranks(&detrended);
    let mean = ranks.iter().sum::<f64>() / nf;
    let y: Vec<f64> = ranks.iter().map(|r| r - mean).collect();
    let acov = |k: usize| y.iter().zip(&y[k..]).map(|(a, b)| a * b).sum::<f64>() / nf;
    let acov0 = acov(0);
    let normal = Normal::standard();
    let q = 1.0 - alpha / 2.0;
    let interval = if (0.0..=1.0).contains(&q) {
        normal.inverse_cdf(q) / nf.sqrt()
    } else {
        f64::NAN
    };
    let mut sni = 0.0;
    for i in 1..n {
        let rho = acov(i) / acov0;
        if !(rho <= interval && rho >= -interval) {
            let m = (n - i) as f64;
            sni += m * (m - 1.0) * (m - 2.0) * rho;
        }
    }
    let n_ns = 1.0 + (2.0 / (nf * (nf - 1.0) * (nf - 2.0))) * sni;
    let var_s = var_s0 * n_ns;
    let z = z_score(s, var_s);
    Some(MkResult::decided(
        s,
        var_s,
        z,
        tau,
        alpha,
        (slope, intercept),
    ))
}

/// Ranks from 1 with ties given their average rank (scipy `rankdata`, method "average").
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) share the mean of ranks start+1..=end.
        let r = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = r;
        }
        start = end;
    }
    ranks
}

/// numpy's `sign` of a difference (0 for NaN never arises: rows are complete).
fn sign(d: f64) -> i64 {
    if d > 0.0 {
        1
    } else if d < 0.0 {
        -1
    } else {
        0
    }
}

/// Kendall's concordance of two seasons over the same cycles:
/// `Σ_{i<n−1} Σ_{j≥i} sign((x_j − x_i)(z_j − z_i))` (pymannkendall `__K`).
fn concordance(x: &[f64], z: &[f64]) -> i64 {
    let n = x.len();
    let mut k = 0;
    for i in 0..n.saturating_sub(1) {
        for j in i..n {
            k += sign((x[j] - x[i]) * (z[j] - z[i]));
        }
    }
    k
}

/// Theil-Sen slope and Conover intercept (pymannkendall `sens_slope(x)`).
///
/// Returns `(slope, intercept)`: the slope is the median of
/// `(x[j] - x[i]) / (j - i)` over all `i < j` where the quotient is not `NaN`
/// (per time step); the intercept is `median(valid x) - median(valid indices) * slope`.
/// Both are `NaN` when there is no valid pair.
pub fn sens_slope(x: &[f64]) -> (f64, f64) {
    let n = x.len();
    let mut slopes = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for (i, &xi) in x.iter().enumerate() {
        for (gap, &xj) in (1_u32..).zip(&x[i + 1..]) {
            let d = (xj - xi) / f64::from(gap);
            if !d.is_nan() {
                slopes.push(d);
            }
        }
    }
    let slope = median_in_place(&mut slopes);
    let intercept = nan_median(x, slopes) - median_valid_index(x) * slope;
    (slope, intercept)
}

/// Seasonal Sen slope (pymannkendall `seasonal_sens_slope(x, period)`).
///
/// Returns `(slope, intercept)`. The slope is the median of
/// `(x[a] - x[b]) / ((a - b) / period)` over all pairs `b < a` of the same
/// season (`a ≡ b mod period`) where the quotient is not `NaN`; it is
/// expressed **per cycle** (per year for monthly data with `period = 12`).
/// The intercept is `median(valid x) - median(valid indices) / period * slope`.
///
/// Both are `NaN` when there is no valid within-season pair (e.g. a series no
/// longer than one cycle) and when `period == 0` (pymannkendall raises there).
pub fn seasonal_sens_slope(x: &[f64], period: usize) -> (f64, f64) {
    if period == 0 {
        return (f64::NAN, f64::NAN);
    }
    let cycles = x.len().div_ceil(period);
    let mut slopes = Vec::with_capacity(x.len() * cycles.saturating_sub(1) / 2);
    for season in 0..period.min(x.len()) {
        for (i, &xi) in x.iter().skip(season).step_by(period).enumerate() {
            let later = x.iter().skip(season + (i + 1) * period).step_by(period);
            for (gap, &xj) in (1_u32..).zip(later) {
                let d = (xj - xi) / f64::from(gap);
                if !d.is_nan() {
                    slopes.push(d);
                }
            }
        }
    }
    let slope = median_in_place(&mut slopes);
    let intercept = nan_median(x, slopes) - median_valid_index(x) / period as f64 * slope;
    (slope, intercept)
}

/// Mann-Kendall score `S = Σ_{i<j} sign(x[j] - x[i])` of a NaN-free slice.
fn mk_score(v: &[f64]) -> i64 {
    let mut s = 0_i64;
    for (k, &a) in v.iter().enumerate() {
        for &b in &v[k + 1..] {
            if b > a {
                s += 1;
            } else if b < a {
                s -= 1;
            }
        }
    }
    s
}

/// Variance of `S` with the tie correction, for a NaN-free slice:
/// `(n(n-1)(2n+5) - Σ t(t-1)(2t+5)) / 18` over groups of `t` equal values.
fn variance_s(v: &[f64], scratch: &mut Vec<f64>) -> f64 {
    let n = v.len() as i128;
    scratch.clear();
    scratch.extend_from_slice(v);
    scratch.sort_unstable_by(f64::total_cmp);
    let mut ties: i128 = 0;
    let mut start = 0;
    while start < scratch.len() {
        let mut end = start + 1;
        // `==` groups -0.0 with 0.0, as numpy's `unique`; they sort adjacent.
        while end < scratch.len() && scratch[end] == scratch[start] {
            end += 1;
        }
        let t = (end - start) as i128;
        ties += t * (t - 1) * (2 * t + 5);
        start = end;
    }
    // Integer numerator is exact, so one correctly rounded division matches Python.
    (n * (n - 1) * (2 * n + 5) - ties) as f64 / 18.0
}

/// Continuity-corrected standard normal statistic.
fn z_score(s: f64, var_s: f64) -> f64 {
    if s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var_s.sqrt()
    } else {
        0.0
    }
}

/// Two-sided p-value, decision and trend label, as pymannkendall's `__p_value`.
fn p_value(z: f64, alpha: f64) -> (f64, bool, Trend) {
    let normal = Normal::standard();
    let p = 2.0 * (1.0 - normal.cdf(z.abs()));
    let q = 1.0 - alpha / 2.0;
    let critical = if (0.0..=1.0).contains(&q) {
        normal.inverse_cdf(q)
    } else {
        f64::NAN
    };
    let h = z.abs() > critical;
    let trend = if z < 0.0 && h {
        Trend::Decreasing
    } else if z > 0.0 && h {
        Trend::Increasing
    } else {
        Trend::NoTrend
    };
    (p, h, trend)
}

/// Median of the non-NaN values of `x` (numpy `nanmedian`), reusing `buf`'s allocation.
fn nan_median(x: &[f64], mut buf: Vec<f64>) -> f64 {
    buf.clear();
    buf.extend(x.iter().copied().filter(|v| !v.is_nan()));
    median_in_place(&mut buf)
}

/// Median of the 0-based indices of the non-NaN values of `x` (NaN if none).
fn median_valid_index(x: &[f64]) -> f64 {
    let count = x.iter().filter(|v| !v.is_nan()).count();
    if count == 0 {
        return f64::NAN;
    }
    let mut valid = x
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, _)| i as f64);
    let lower_rank = (count - 1) / 2;
    let Some(lower) = valid.nth(lower_rank) else {
        return f64::NAN;
    };
    if count % 2 == 1 {
        lower
    } else {
        valid.next().map_or(f64::NAN, |upper| (lower + upper) / 2.0)
    }
}

/// Median of NaN-free values (numpy `median`: mean of the two middle values
/// for an even count); `NaN` for an empty slice. Reorders `v`.
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (left, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = left
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(f64::NAN);
    (lower + upper) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/mk_cases.json");

    /// Relative tolerance for all floating-point fields.
    const REL_TOL: f64 = 1e-9;
    /// Extra absolute slack for `p = 2 (1 - Φ(|z|))`: `p` is a multiple of
    /// 2^-52 (2.2e-16) once `Φ` rounds near 1, and statrs' `Φ` (relative error
    /// ~1e-10, see the module docs) can land one rounding step away from scipy's.
    const P_ABS_TOL: f64 = 1e-15;

    fn close(actual: f64, expected: f64, abs_tol: f64) -> bool {
        if expected.is_nan() || actual.is_nan() {
            return expected.is_nan() && actual.is_nan();
        }
        actual == expected
            || (actual - expected).abs() <= REL_TOL * expected.abs().max(actual.abs()) + abs_tol
    }

    fn num(v: &Value) -> f64 {
        // `null` encodes NaN in the fixture.
        v.as_f64().unwrap_or(f64::NAN)
    }

    fn field(obj: &Value, key: &str) -> f64 {
        num(&obj[key])
    }

    fn check_f(case: &str, func: &str, key: &str, actual: f64, expected: f64, abs_tol: f64) {
        assert!(
            close(actual, expected, abs_tol),
            "{case}/{func}/{key}: got {actual:e}, expected {expected:e}"
        );
    }

    fn check_test(case: &str, func: &str, actual: Option<MkResult>, expected: &Value) {
        if let Some(err) = expected.get("error") {
            assert!(
                actual.is_none(),
                "{case}/{func}: pymannkendall raised {err}, got {actual:?}"
            );
            return;
        }
        let Some(r) = actual else {
            panic!("{case}/{func}: got None, expected {expected}");
        };
        assert_eq!(
            Some(r.trend.as_str()),
            expected["trend"].as_str(),
            "{case}/{func}/trend"
        );
        assert_eq!(Some(r.h), expected["h"].as_bool(), "{case}/{func}/h");
        assert_eq!(r.s, field(expected, "s"), "{case}/{func}/s");
        check_f(case, func, "p", r.p, field(expected, "p"), P_ABS_TOL);
        check_f(case, func, "z", r.z, field(expected, "z"), 0.0);
        check_f(case, func, "tau", r.tau, field(expected, "tau"), 0.0);
        check_f(case, func, "var_s", r.var_s, field(expected, "var_s"), 0.0);
        check_f(case, func, "slope", r.slope, field(expected, "slope"), 0.0);
        let intercept = field(expected, "intercept");
        check_f(case, func, "intercept", r.intercept, intercept, 0.0);
    }

    fn check_slope(case: &str, func: &str, actual: (f64, f64), expected: &Value) {
        assert!(expected.get("error").is_none(), "{case}/{func}: error case");
        check_f(case, func, "slope", actual.0, field(expected, "slope"), 0.0);
        let intercept = field(expected, "intercept");
        check_f(case, func, "intercept", actual.1, intercept, 0.0);
    }

    #[test]
    fn matches_pymannkendall_fixtures() {
        let doc: Value = serde_json::from_str(FIXTURE).expect("fixture is valid JSON");
        assert_eq!(doc["pymannkendall_version"], "1.4.3");
        let cases = doc["cases"].as_array().expect("cases array");
        assert!(cases.len() >= 15, "only {} cases", cases.len());
        for case in cases {
            let name = case["name"].as_str().expect("case name");
            let x: Vec<f64> = case["x"]
                .as_array()
                .expect("x array")
                .iter()
                .map(num)
                .collect();
            let period = case["period"].as_u64().expect("period") as usize;
            let alpha = case["alpha"].as_f64().expect("alpha");

            let st = seasonal_test(&x, period, alpha);
            check_test(name, "seasonal_test", st, &case["seasonal_test"]);
            let ss = seasonal_sens_slope(&x, period);
            check_slope(
                name,
                "seasonal_sens_slope",
                ss,
                &case["seasonal_sens_slope"],
            );
            let ot = original_test(&x, alpha);
            check_test(name, "original_test", ot, &case["original_test"]);
            check_slope(name, "sens_slope", sens_slope(&x), &case["sens_slope"]);
            // pymannkendall decides the correlated test at 0.05 whatever the case's alpha.
            let ct = correlated_seasonal_test(&x, period, 0.05);
            check_test(
                name,
                "correlated_seasonal_test",
                ct,
                &case["correlated_seasonal_test"],
            );
            let hr = hamed_rao_test(&x, alpha);
            check_test(
                name,
                "hamed_rao_modification_test",
                hr,
                &case["hamed_rao_modification_test"],
            );
        }
    }

    #[test]
    fn sens_slope_of_straight_line() {
        let x: Vec<f64> = (0..50).map(|t| 2.5 + 0.25 * f64::from(t)).collect();
        let (slope, intercept) = sens_slope(&x);
        assert_eq!(slope, 0.25);
        assert_eq!(intercept, 2.5);
    }

    #[test]
    fn seasonal_slope_is_per_cycle() {
        // 0.1 m per month plus a seasonal pattern -> 1.2 m per 12-month cycle.
        let x: Vec<f64> = (0..84_u32)
            .map(|t| 0.1 * f64::from(t) + [0.0, 3.0, 1.0, -2.0][(t % 4) as usize])
            .collect();
        let (slope, _) = seasonal_sens_slope(&x, 12);
        assert!((slope - 1.2).abs() < 1e-12, "{slope}");
        let r = seasonal_test(&x, 12, 0.05).expect("enough data");
        assert_eq!(r.trend, Trend::Increasing);
        assert_eq!(r.tau, 1.0);
    }

    #[test]
    fn negated_series_flips_trend() {
        let depth: Vec<f64> = (0..84_u32)
            .map(|t| {
                30.0 + 0.02 * f64::from(t) + (f64::from(t) * std::f64::consts::FRAC_PI_6).sin()
            })
            .collect();
        let level: Vec<f64> = depth.iter().map(|d| -d).collect();
        for (a, b) in [
            (
                seasonal_test(&depth, 12, 0.05),
                seasonal_test(&level, 12, 0.05),
            ),
            (original_test(&depth, 0.05), original_test(&level, 0.05)),
        ] {
            let (a, b) = (a.expect("depth result"), b.expect("level result"));
            assert_eq!(a.trend, Trend::Increasing);
            assert_eq!(b.trend, Trend::Decreasing);
            assert_eq!(a.s, -b.s);
            assert_eq!(a.z, -b.z);
            assert_eq!(a.p, b.p);
            assert_eq!(a.var_s, b.var_s);
            assert_eq!(a.slope, -b.slope);
        }
    }

    #[test]
    fn constant_series_has_no_trend() {
        let x = [4.2; 36];
        for r in [seasonal_test(&x, 12, 0.05), original_test(&x, 0.05)] {
            let r = r.expect("enough data");
            assert_eq!(r.trend, Trend::NoTrend);
            assert!(!r.h);
            assert_eq!((r.s, r.var_s, r.z, r.p, r.tau), (0.0, 0.0, 0.0, 1.0, 0.0));
            assert_eq!((r.slope, r.intercept), (0.0, 4.2));
        }
    }

    #[test]
    fn too_short_or_missing_gives_none_and_nan() {
        let twelve: Vec<f64> = (0..12).map(f64::from).collect();
        assert!(seasonal_test(&twelve, 12, 0.05).is_none());
        assert!(seasonal_sens_slope(&twelve, 12).0.is_nan());
        assert!(original_test(&twelve, 0.05).is_some());
        assert!(original_test(&[1.0, f64::NAN], 0.05).is_none());
        assert!(original_test(&[], 0.05).is_none());
        assert!(seasonal_test(&[], 12, 0.05).is_none());
        assert!(seasonal_test(&twelve, 0, 0.05).is_none());
        let (s, i) = seasonal_sens_slope(&twelve, 0);
        assert!(s.is_nan() && i.is_nan());
        let (s, i) = sens_slope(&[f64::NAN; 5]);
        assert!(s.is_nan() && i.is_nan());
    }

    #[test]
    fn odd_alpha_and_infinities_do_not_panic() {
        let x: Vec<f64> = (0..30).map(|t| f64::from(t).sqrt()).collect();
        for alpha in [f64::NAN, -1.0, 0.0, 1.0, 2.0, 5.0] {
            let r = original_test(&x, alpha).expect("enough data");
            assert!(r.p < 1e-6);
        }
        assert!(!original_test(&x, 0.0).expect("data").h);
        assert!(!original_test(&x, f64::NAN).expect("data").h);
        let with_inf = [
            1.0,
            f64::INFINITY,
            2.0,
            f64::NEG_INFINITY,
            3.0,
            f64::INFINITY,
        ];
        assert!(original_test(&with_inf, 0.05).is_some());
        let _ = seasonal_sens_slope(&with_inf, 2);
    }

    #[test]
    fn median_matches_numpy_convention() {
        assert!(median_in_place(&mut []).is_nan());
        assert_eq!(median_in_place(&mut [3.0]), 3.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median_in_place(&mut [5.0, -1.0, 2.0]), 2.0);
        assert_eq!(
            median_valid_index(&[f64::NAN, 1.0, 1.0, f64::NAN, 1.0]),
            2.0
        );
        assert_eq!(median_valid_index(&[1.0, 1.0, f64::NAN, 1.0]), 1.0);
        assert_eq!(median_valid_index(&[1.0, f64::NAN, 1.0, 1.0, 1.0]), 2.5);
        assert!(median_valid_index(&[f64::NAN; 3]).is_nan());
    }
}
