//! How figures and states are written, the same in the terminal, the charts, the Word document,
//! the CSVs' companions and the web pages: volumes in 万 m³ (one formatter, in `domain`),
//! decimals, signs, percentages, the dash for "no figure", and the words of the deadlines.

pub use crate::domain::volume::wan;

/// What is printed where there is no figure.
pub const DASH: &str = "—";

/// `v` with at most `decimals` decimals, trailing zeros and `-0` dropped; [`DASH`] when not
/// finite.
pub fn trim_decimal(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return DASH.to_owned();
    }
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}

/// `v` with exactly `decimals` decimals, `-0` shown as `0`; [`DASH`] when not finite.
pub fn fixed(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return DASH.to_owned();
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// A slope or change with its sign and at most `decimals` decimals: `+0.45`, `-0.29`, `0`.
pub fn signed(v: f64, decimals: usize) -> String {
    let s = trim_decimal(v, decimals);
    if v > 0.0 && s != "0" {
        format!("+{s}")
    } else {
        s
    }
}

/// A change with its sign and exactly `decimals` decimals: `+0.70`, `-0.20`, `+0.00`.
pub fn signed_fixed(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{:+.*}", decimals, v + 0.0)
    } else {
        DASH.to_owned()
    }
}

/// A local time `2026-11-30 14:05:09` as a document prints it, to the minute: `2026-11-30
/// 14:05`. Anything else is returned as it is.
pub fn minutes(t: &str) -> &str {
    match t.char_indices().filter(|(_, c)| *c == ':').nth(1) {
        Some((i, _)) => &t[..i],
        None => t,
    }
}

/// A p-value as a report prints it: three decimals, `< 0.001` below that (never `0.000`).
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        DASH.to_owned()
    } else if p < 0.001 {
        "< 0.001".to_owned()
    } else {
        format!("{p:.3}")
    }
}

/// A share (0.92) as a percentage with `decimals` decimals: `92%`.
pub fn percent(share: f64, decimals: usize) -> String {
    if share.is_finite() {
        format!("{:.decimals$}%", share * 100.0)
    } else {
        DASH.to_owned()
    }
}

/// `f` of the figure, or [`DASH`] without one.
pub fn or_dash<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| DASH.to_owned(), f)
}

/// A limit as the plan writes it: 亿 m³ from 1亿 up when that is exact to 0.01亿, else 万 m³.
pub fn limit_text(m3: f64) -> String {
    let yi = m3 / 1e8;
    if yi >= 1.0 && (yi * 100.0 - (yi * 100.0).round()).abs() < 1e-6 {
        format!("{}亿 m³", trim_decimal(yi, 2))
    } else {
        format!("{}万 m³", wan(m3))
    }
}

pub use crate::domain::DeadlineKind;

impl DeadlineKind {
    /// The short word a chart marks the deadline with.
    pub fn short(self) -> &'static str {
        match self {
            DeadlineKind::SelfAssessment => "自评估",
            DeadlineKind::Exit => "退出",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_one_way() {
        assert_eq!(wan(12_345_000.0), "1234.5");
        assert_eq!(wan(f64::NAN), DASH);
        assert_eq!(limit_text(150_000_000.0), "1.5亿 m³");
        assert_eq!(limit_text(76_020_000.0), "7602.0万 m³");
        assert_eq!(trim_decimal(1.50, 2), "1.5");
        assert_eq!(trim_decimal(-0.001, 2), "0");
        assert_eq!(fixed(-0.001, 2), "0.00");
        assert_eq!(fixed(f64::INFINITY, 2), DASH);
        assert_eq!(signed(0.45, 2), "+0.45");
        assert_eq!(signed(-0.291, 2), "-0.29");
        assert_eq!(signed(0.0001, 2), "0");
        assert_eq!(signed_fixed(0.7, 2), "+0.70");
        assert_eq!(signed_fixed(-0.0, 2), "+0.00");
        assert_eq!(percent(0.923, 0), "92%");
        assert_eq!(percent(0.923, 1), "92.3%");
        assert_eq!(or_dash(None::<f64>, |v| fixed(v, 1)), DASH);
        assert_eq!(or_dash(Some(2.0), |v| fixed(v, 1)), "2.0");
        assert_eq!(DeadlineKind::Exit.short(), "退出");
        assert_eq!(p_value(0.000_02), "< 0.001");
        assert_eq!(p_value(0.0449), "0.045");
        assert_eq!(p_value(f64::NAN), DASH);
        assert_eq!(minutes("2026-11-30 14:05:09"), "2026-11-30 14:05");
        assert_eq!(minutes("2026-11-30"), "2026-11-30");
    }
}
