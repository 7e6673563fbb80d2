//! `index.html`: one page that opens from disk, with a table of the counties and, for each, its
//! criteria and charts. Rendered from `templates/index.html`; askama escapes every value.

use std::fmt;

use askama::Template;

use super::summary::days_text;
use super::{ReportError, county_dir};
use crate::assess::{CountyStatus, StatusDoc};
use crate::domain::volume::wan;

/// The charts of a county folder: file stem and the image's alt text.
const CHARTS: [(&str, &str); 4] = [
    ("readiness", "退出准备度"),
    ("cumulative", "本年累计取水量"),
    ("monthly", "逐月取水量"),
    ("hydrographs", "监测井水位过程线"),
];

#[derive(Template)]
#[template(
    path = "index.html",
    config = "src/output/report/templates/askama.toml"
)]
struct Index<'a> {
    doc: &'a StatusDoc,
    rows: Vec<Row<'a>>,
    charts: [(&'static str, &'static str); 4],
}

/// A county's row of the table and its section, with the figures formatted.
struct Row<'a> {
    c: &'a CountyStatus,
    /// The verdict's JSON name, used as its CSS class.
    class: String,
    dir: String,
    quota: String,
    ytd: String,
    projected: String,
    k: String,
    self_assessment: String,
    exit: String,
}

impl<'a> Row<'a> {
    fn new(doc: &StatusDoc, c: &'a CountyStatus) -> Self {
        let d = &c.deadlines;
        Row {
            c,
            class: serde_json::to_value(c.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            dir: county_dir(c),
            quota: c.quota_m3.map_or("—".into(), wan),
            ytd: wan(c.ytd_m3),
            projected: wan(c.projected_m3),
            k: doc.fmt_k(c.k),
            self_assessment: days_text(
                d.days_to_self_assessment,
                d.self_assessment_state,
                d.self_assessment_met.as_deref(),
                d.self_assessment_days_late,
            ),
            exit: days_text(
                d.days_to_exit,
                d.exit_state,
                d.exit_met.as_deref(),
                d.exit_days_late,
            ),
        }
    }
}

/// The page for the counties in `selected`.
pub fn render(doc: &StatusDoc, selected: &[&CountyStatus]) -> Result<String, ReportError> {
    Index {
        doc,
        rows: selected.iter().map(|c| Row::new(doc, c)).collect(),
        charts: CHARTS,
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
}
