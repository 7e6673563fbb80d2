//! `summary.md`, one county's self-assessment summary in Chinese, from `templates/summary.md`.
//! The text lives in the template; the helpers here format the figures it prints, so that a
//! missing figure reads "—" the same way in every table.

use crate::output::wording;
use askama::Template;

use super::ReportError;
use crate::analysis::accounting::Completeness;
use crate::analysis::levels::WellTrend;
use crate::assess::{
    CountyStatus, DeadlineState, DeadlineStatus, Deadlines, GroupFigures, PermitExcess, StatusDoc,
};
use crate::config::{AssessmentConfig, Config, MeteringConfig};
use crate::domain::volume::{self, Volume};

#[derive(Template)]
#[template(
    path = "summary.md",
    config = "src/output/report/templates/askama.toml"
)]
struct Summary<'a> {
    doc: &'a StatusDoc,
    c: &'a CountyStatus,
    a: &'a AssessmentConfig,
    metering: &'a MeteringConfig,
    /// The zone whose days the volumes are summed by.
    clock: &'a str,
    self_assessment_progress: String,
    exit_progress: String,
    /// (title, first column, rows): the county's figures by aquifer and by source.
    group_tables: [(&'static str, &'static str, &'a [GroupFigures]); 2],
    wells_sufficient: usize,
    /// Intakes without a permit, over it, projected over it, and over it last year, each
    /// with its state.
    permits: Vec<(&'a PermitExcess, String)>,
}

/// The summary of county `c`.
pub fn render(cfg: &Config, doc: &StatusDoc, c: &CountyStatus) -> Result<String, ReportError> {
    let (self_assessment_progress, exit_progress) = progress(&c.deadlines);
    let permits = super::permit_rows(c)
        .into_iter()
        .map(|r| (r.p, r.state()))
        .collect();
    Summary {
        doc,
        c,
        a: &cfg.assessment,
        metering: &cfg.metering,
        clock: cfg.clock.name(),
        self_assessment_progress,
        exit_progress,
        group_tables: [
            (
                "按含水层（全部地下水取水口，含太原供水集团水源井）",
                "含水层",
                &c.by_aquifer,
            ),
            ("按水源（全部取水口）", "水源", &c.by_source),
        ],
        wells_sufficient: c.wells.iter().filter(|w| w.trend.sufficient).count(),
        permits,
    }
    .render()
    .map_err(|source| ReportError::Template {
        template: "summary.md",
        source,
    })
}

/// Where a county's self-assessment and exit deadlines stand, in the words of [`days_text`].
pub fn progress(d: &Deadlines) -> (String, String) {
    (days_text(&d.self_assessment), days_text(&d.exit))
}

/// Where a deadline stands, as the summary and index.html state it: met (on which day, and how
/// late), days overdue, days left, or not in this batch of the plan.
fn days_text(d: &DeadlineStatus) -> String {
    let (met, days_late) = (d.met.as_deref(), d.days_late);
    match (d.days_to, d.state) {
        (_, Some(DeadlineState::Met)) => format!("已完成（{}）", met.unwrap_or("")),
        (_, Some(DeadlineState::MetLate)) => format!(
            "已完成（{}，逾期 {} 天）",
            met.unwrap_or(""),
            days_late.unwrap_or_default()
        ),
        (Some(d), Some(DeadlineState::Passed)) => format!("已逾期 {} 天", -d),
        (Some(d), _) => format!("剩余 {d} 天"),
        _ => "规划未列入本批次".into(),
    }
}

// The template's figure helpers. Askama passes a template's arguments by reference.

/// A volume in 万 m³ ([`volume::wan`]).
fn wan(m3: &f64) -> String {
    volume::wan(*m3)
}

/// [`wan`], or "—" without a figure.
fn wan_or_dash(m3: &Option<f64>) -> String {
    wording::or_dash(*m3, volume::wan)
}

/// A threshold in whole 万 m³ ("5").
fn wan_whole(m3: &f64) -> String {
    fixed(&Volume::from_m3(*m3).wan(), 0)
}

/// `v` with `decimals` decimals.
fn fixed(v: &f64, decimals: usize) -> String {
    wording::fixed(*v, decimals)
}

/// A p-value ([`wording::p_value`]), or "—" without one.
fn p_or_dash(p: &Option<f64>) -> String {
    wording::or_dash(*p, wording::p_value)
}

/// [`fixed`], or "—" without a figure.
fn fixed_or_dash(v: &Option<f64>, decimals: usize) -> String {
    wording::or_dash(*v, |v| wording::fixed(v, decimals))
}

/// With its sign: `+0.70`, `-0.20`.
fn signed(v: &f64, decimals: usize) -> String {
    wording::signed_fixed(*v, decimals)
}

/// [`signed`], or "—" without a figure.
fn signed_or_dash(v: &Option<f64>, decimals: usize) -> String {
    wording::or_dash(*v, |v| wording::signed_fixed(v, decimals))
}

/// A share (0.92) as a percentage with `decimals` decimals ("92%").
fn percent(share: &f64, decimals: usize) -> String {
    wording::percent(*share, decimals)
}

/// k with the digits of its band, or "—".
fn k(doc: &StatusDoc, k: &Option<f64>) -> String {
    doc.fmt_k(*k)
}

/// The share of obliged intake-days that reported, or "—" without obliged intakes.
fn reported(c: &Completeness) -> String {
    percent_or_dash(&c.share(), 1)
}

/// [`percent`], or "—" without a figure.
fn percent_or_dash(share: &Option<f64>, decimals: usize) -> String {
    wording::or_dash(*share, |v| wording::percent(v, decimals))
}

/// The decisive test of a well, as `Z / p`, or what decided it.
fn decisive(t: &WellTrend) -> String {
    if t.decided_by == "recent_window" {
        return format!("近期窗口（完整年份 {} 年）", t.corr_years);
    }
    match (t.corr_z, t.corr_p) {
        (Some(z), Some(p)) => format!("{z:.3} / {}", wording::p_value(p)),
        _ => format!("—（完整年份 {} 年）", t.corr_years),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_progress_reads_as_the_plan_words_it() {
        let days_text = |days_to, state, met: Option<&str>, days_late| {
            super::days_text(&DeadlineStatus {
                date: None,
                days_to,
                state,
                met: met.map(str::to_owned),
                days_late,
            })
        };
        let met = Some(DeadlineState::Met);
        assert_eq!(
            days_text(Some(-3), met, Some("2026-05-01"), None),
            "已完成（2026-05-01）"
        );
        assert_eq!(
            days_text(Some(-153), Some(DeadlineState::Passed), None, None),
            "已逾期 153 天"
        );
        assert_eq!(
            days_text(Some(212), Some(DeadlineState::Upcoming), None, None),
            "剩余 212 天"
        );
        assert_eq!(days_text(None, None, None, None), "规划未列入本批次");
        assert_eq!(
            days_text(
                Some(-31),
                Some(DeadlineState::MetLate),
                Some("2026-07-10"),
                Some(10)
            ),
            "已完成（2026-07-10，逾期 10 天）"
        );
    }

    #[test]
    fn missing_figures_read_as_a_dash() {
        assert_eq!(fixed_or_dash(&Some(1.064), 2), "1.06");
        assert_eq!(fixed_or_dash(&None, 2), "—");
        assert_eq!(percent(&0.7, 0), "70%");
        assert_eq!(percent_or_dash(&Some(0.92), 1), "92.0%");
        assert_eq!(percent_or_dash(&None, 1), "—");
        assert_eq!(wan(&7_887_000.0), "788.7");
        assert_eq!(wan_or_dash(&Some(14_349_000.0)), "1434.9");
        assert_eq!(wan_or_dash(&None), "—");
        assert_eq!(wan_whole(&50_000.0), "5");
    }
}
