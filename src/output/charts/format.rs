//! Numbers and dates as the charts print them: volumes in 万 m³ and 亿 m³, decimals without
//! trailing zeros or `-0`, signed slopes, axis labels of one form per axis, and time tick labels.

pub(crate) use crate::domain::volume::wan;

/// Formats a number with at most `decimals` decimals, dropping trailing zeros and `-0`.
pub(crate) fn trim_decimal(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" { "0".to_owned() } else { s }
}

/// A limit as the plan writes it: 亿 m³ from 1亿 up when that is exact to 0.01亿, else 万 m³.
pub(crate) fn limit_text(m3: f64) -> String {
    let yi = m3 / 1e8;
    if yi >= 1.0 && (yi * 100.0 - (yi * 100.0).round()).abs() < 1e-6 {
        format!("{}亿 m³", trim_decimal(yi, 2))
    } else {
        format!("{}万 m³", wan(m3))
    }
}

/// A slope or change with its sign: `+0.45`, `-0.29`, `0` (at most `decimals` decimals).
pub(crate) fn signed(v: f64, decimals: usize) -> String {
    let s = trim_decimal(v, decimals);
    if v > 0.0 && s != "0" {
        format!("+{s}")
    } else {
        s
    }
}

/// A number with exactly `decimals` decimals (axis labels), `-0` shown as `0`.
pub(crate) fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_owned()
    } else {
        s
    }
}

/// Label of a time tick made by [`time_ticks`](super::axes::time_ticks): `2026` or `2026-07`.
pub(crate) fn time_label(v: f64, monthly: bool) -> String {
    let year = v.floor();
    if !monthly {
        return format!("{year:.0}");
    }
    let month = ((v - year) * 12.0 + 0.5).floor().clamp(0.0, 11.0) as u32 + 1;
    format!("{year:.0}-{month:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(wan(12_345_000.0), "1234.5");
        assert_eq!(wan(76_020_000.0), "7602.0");
        assert_eq!(wan(f64::NAN), "—");
        assert_eq!(wan(-1.0), "0.0");
        assert_eq!(limit_text(150_000_000.0), "1.5亿 m³");
        assert_eq!(limit_text(76_020_000.0), "7602.0万 m³");
        assert_eq!(limit_text(149_920_000.0), "14992.0万 m³");
    }

    #[test]
    fn signs_and_time_labels() {
        assert_eq!(signed(0.45, 2), "+0.45");
        assert_eq!(signed(-0.291, 2), "-0.29");
        assert_eq!(signed(0.0001, 2), "0");
        assert_eq!(signed(-0.0001, 2), "0");
        assert_eq!(signed(f64::NAN, 2), "—");
        assert_eq!(time_label(2026.0, false), "2026");
        assert_eq!(time_label(2026.5, true), "2026-07");
    }
}
