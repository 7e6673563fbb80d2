//! `index.html`: one page that opens from disk, with a table of the counties and, for each, its
//! criteria and charts. Rendered from `templates/index.html`; askama escapes every value.
//!
//! The page needs nothing from the machine it is opened on: its font is the charts' own (a copy in
//! the bundle's `fonts/`, loaded with `@font-face`), so it shows Chinese on a machine without a
//! CJK font and prints the same everywhere. The counties are listed by urgency — the nearest
//! pending deadline first, then the gravest verdict — because that is the order a city official
//! works through them in; the table says which criteria each county fails.

use std::fmt;

use askama::Template;

use super::figures::{self, Figure};
use super::summary::progress;
use super::{DOCX_NAME, ReportError, county_dir};
use crate::analysis::verdict::{Status, Verdict};
use crate::assess::{CountyStatus, DeadlineState, StatusDoc};
use crate::domain::volume::wan;
use crate::output::Bundle;
use crate::output::charts::fonts;

/// The bundle's copy of the charts' font, relative to `index.html`.
pub const FONT_PATH: &str = "fonts/NotoSansSC-gwmon-subset.otf";

/// The font's licence (SIL OFL 1.1), which must travel with every copy of the font.
const FONT_LICENCE: &str = include_str!("../../../assets/fonts/OFL.txt");

/// Adds the page's font and its licence (`fonts/`) to `bundle`.
pub fn add_font(bundle: &mut Bundle) {
    bundle.insert(FONT_PATH, fonts::FONT_BYTES);
    bundle.insert("fonts/OFL.txt", FONT_LICENCE);
}

#[derive(Template)]
#[template(
    path = "index.html",
    config = "src/output/report/templates/askama.toml"
)]
struct Index<'a> {
    doc: &'a StatusDoc,
    rows: Vec<Row<'a>>,
    font: &'static str,
}

/// A county's row of the table and its section, with the figures formatted.
struct Row<'a> {
    c: &'a CountyStatus,
    h: Headline,
    dir: String,
    docx: &'static str,
    charts: Vec<Chart>,
}

/// A county's headline figures as a page shows them: the verdict's CSS class, quota, year to
/// date, projection and k in 万 m³, where the deadlines stand, and what fails. The index, and the
/// web view's pages, show the same words.
pub struct Headline {
    /// The verdict's JSON name, used as its CSS class.
    pub class: String,
    pub quota: String,
    pub ytd: String,
    pub projected: String,
    pub k: String,
    pub self_assessment: String,
    pub exit: String,
    /// The CSS class of each deadline's cell: `overdue` once it passed unmet, else empty.
    pub self_assessment_class: &'static str,
    pub exit_class: &'static str,
    /// The criteria the county does not pass, with their state ("水量（不达标）").
    pub reasons: String,
}

impl Headline {
    pub fn of(doc: &StatusDoc, c: &CountyStatus) -> Self {
        let (self_assessment, exit) = progress(&c.deadlines);
        let class = |d: &crate::assess::DeadlineStatus| {
            if d.state == Some(crate::assess::DeadlineState::Passed) {
                "overdue"
            } else {
                ""
            }
        };
        Headline {
            self_assessment_class: class(&c.deadlines.self_assessment),
            exit_class: class(&c.deadlines.exit),
            class: verdict_class(c.verdict),
            quota: c.quota_m3.map_or("—".into(), wan),
            ytd: wan(c.ytd_m3),
            projected: wan(c.projected_m3),
            k: doc.fmt_k(c.k),
            self_assessment: dated(
                c.deadlines.self_assessment.date.as_deref(),
                &self_assessment,
            ),
            exit: dated(c.deadlines.exit.date.as_deref(), &exit),
            reasons: reasons(c),
        }
    }
}

/// A deadline with where the county stands: "2026-06-30（已逾期 153 天）", or the standing
/// alone for a county the plan gives no date.
fn dated(date: Option<&str>, standing: &str) -> String {
    match date {
        Some(d) => format!("{d}（{standing}）"),
        None => standing.to_owned(),
    }
}

/// The CSS class of a verdict: its JSON name.
pub fn verdict_class(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A chart of a county's section.
struct Chart {
    /// 图1, 图2, … as in the Word document.
    number: usize,
    /// The PNG's file name.
    file: String,
    title: String,
    /// (file name, label) of the chart's SVG and CSV where the folder has them.
    links: Vec<(String, &'static str)>,
}

impl Chart {
    /// Chart `f` of `folder` in `bundle`, numbered `number`.
    fn new(number: usize, f: &Figure, bundle: &Bundle, folder: &str) -> Self {
        let links = [("svg", "SVG"), ("csv", "CSV")]
            .into_iter()
            .map(|(ext, label)| (format!("{}.{ext}", f.stem), label))
            .filter(|(name, _)| bundle.contains(&crate::output::bundle::join(folder, name)))
            .collect();
        Chart {
            number,
            file: f.file.clone(),
            title: f.title.clone(),
            links,
        }
    }
}

impl<'a> Row<'a> {
    fn new(doc: &StatusDoc, c: &'a CountyStatus, bundle: &Bundle) -> Self {
        let dir = county_dir(c);
        let charts = (1..)
            .zip(figures::charts_in(bundle.in_folder(&dir).map(|(n, _)| n)))
            .map(|(n, f)| Chart::new(n, &f, bundle, &dir))
            .collect();
        Row {
            c,
            h: Headline::of(doc, c),
            dir,
            docx: DOCX_NAME,
            charts,
        }
    }
}

/// The criteria `c` does not pass, with their state, or "—" when it passes all.
pub fn reasons(c: &CountyStatus) -> String {
    let failing: Vec<String> = c
        .criteria
        .iter()
        .filter(|x| x.status != Status::Pass)
        .map(|x| format!("{}（{}）", x.label(), x.status.label()))
        .collect();
    if failing.is_empty() {
        "—".into()
    } else {
        failing.join("；")
    }
}

/// Days to the county's nearest deadline not yet met (negative when overdue); `None` when both
/// are met or not in the plan.
fn days_to_next_deadline(c: &CountyStatus) -> Option<i64> {
    let d = &c.deadlines;
    let pending = |days: Option<i64>, state: Option<DeadlineState>| match state {
        Some(DeadlineState::Met | DeadlineState::MetLate) => None,
        _ => days,
    };
    [
        pending(d.self_assessment.days_to, d.self_assessment.state),
        pending(d.exit.days_to, d.exit.state),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// How grave a verdict is, the gravest 0: a county that fails beats one that cannot show it
/// passes, which beats one at risk.
fn severity(v: Verdict) -> u8 {
    match v {
        Verdict::NotReady => 0,
        Verdict::InsufficientData => 1,
        Verdict::AtRisk => 2,
        Verdict::Ready => 3,
    }
}

/// The counties in the order the page lists them: the nearest pending deadline first (overdue
/// ones before all, counties without one last), then the gravest verdict, then by code.
pub fn by_urgency<'a>(counties: &[&'a CountyStatus]) -> Vec<&'a CountyStatus> {
    let mut sorted = counties.to_vec();
    sorted.sort_by_key(|c| {
        (
            days_to_next_deadline(c).unwrap_or(i64::MAX),
            severity(c.verdict),
            c.code,
        )
    });
    sorted
}

/// The page for the counties in `selected`; each county's charts are found among the files of
/// its folder in `bundle`.
pub fn render(
    doc: &StatusDoc,
    selected: &[&CountyStatus],
    bundle: &Bundle,
) -> Result<String, ReportError> {
    Index {
        doc,
        rows: by_urgency(selected)
            .into_iter()
            .map(|c| Row::new(doc, c, bundle))
            .collect(),
        font: FONT_PATH,
    }
    .render()
    .map_err(|source| ReportError::Template {
        template: "index.html",
        source,
    })
}

/// The page's HTML escaping: `&`, `<`, `>` and `"` as named entities, as index.html has always
/// had them (askama's built-in escaper writes numeric ones). Every attribute in the template is
/// double-quoted, so `'` needs no escaping.
#[derive(Clone, Copy, Debug)]
pub struct NamedEntities;

impl askama::filters::Escaper for NamedEntities {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => continue,
            };
            dest.write_str(&s[plain..i])?;
            dest.write_str(entity)?;
            plain = i + 1;
        }
        dest.write_str(&s[plain..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        askama::filters::Escaper::write_escaped_str(&NamedEntities, &mut out, s).unwrap();
        out
    }

    #[test]
    fn escapes_markup_with_named_entities() {
        assert_eq!(
            escaped(r#"k > 1.00 & "水位" <下降>"#),
            "k &gt; 1.00 &amp; &quot;水位&quot; &lt;下降&gt;"
        );
        assert_eq!(escaped("清徐县"), "清徐县");
        assert_eq!(escaped(""), "");
    }

    /// The status document of an empty store, with each county's deadlines and verdict as
    /// `set` makes them.
    fn counties(set: impl Fn(usize, &mut CountyStatus)) -> StatusDoc {
        let cfg = crate::config::Config::embedded().unwrap();
        let mut doc = crate::assess::testing::empty(&cfg, "2026-11-28".parse().unwrap()).doc;
        for (i, c) in doc.counties.iter_mut().enumerate() {
            set(i, c);
        }
        doc
    }

    #[test]
    fn counties_are_listed_by_the_nearest_pending_deadline_then_the_gravest_verdict() {
        let doc = counties(|i, c| {
            let d = &mut c.deadlines;
            (d.self_assessment.days_to, d.self_assessment.state) = (None, None);
            (d.exit.days_to, d.exit.state) = (None, None);
            c.verdict = Verdict::Ready;
            match i {
                // Overdue, but met: it does not count.
                0 => {
                    d.self_assessment.days_to = Some(-300);
                    d.self_assessment.state = Some(DeadlineState::Met);
                }
                1 => {
                    d.exit.days_to = Some(200);
                    d.exit.state = Some(DeadlineState::Upcoming);
                    c.verdict = Verdict::AtRisk;
                }
                2 => {
                    d.exit.days_to = Some(200);
                    d.exit.state = Some(DeadlineState::Upcoming);
                    c.verdict = Verdict::NotReady;
                }
                3 => {
                    d.self_assessment.days_to = Some(-10);
                    d.self_assessment.state = Some(DeadlineState::Passed);
                    d.exit.days_to = Some(400);
                    d.exit.state = Some(DeadlineState::Upcoming);
                }
                4 => c.verdict = Verdict::InsufficientData,
                _ => {}
            }
        });
        let all: Vec<&CountyStatus> = doc.counties.iter().collect();
        let order: Vec<&str> = by_urgency(&all).iter().map(|c| c.name.as_str()).collect();
        let name = |i: usize| doc.counties[i].name.as_str();
        assert_eq!(order[..4], [name(3), name(2), name(1), name(4)]);
        assert_eq!(order.len(), doc.counties.len());
        // The rest: no pending deadline, all ready, by code.
        assert!(order[4..].contains(&name(0)));
    }

    #[test]
    fn reasons_name_the_criteria_not_passed_with_their_state() {
        let doc = counties(|_, _| {});
        let mut c = doc.counties[0].clone();
        for k in &mut c.criteria {
            k.status = Status::Pass;
        }
        assert_eq!(reasons(&c), "—");
        c.criteria[0].status = Status::Fail;
        c.criteria[2].status = Status::AtRisk;
        assert_eq!(
            reasons(&c),
            format!(
                "{}（不达标）；{}（有风险）",
                c.criteria[0].label(),
                c.criteria[2].label()
            )
        );
    }
}
