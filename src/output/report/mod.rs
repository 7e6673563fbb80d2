//! The self-assessment report rendered into a [`Bundle`]: for each county a folder with the
//! charts (PNG + SVG), the CSV behind each chart (the exact numbers plotted), a `summary.md` in
//! Chinese and a Word document (`自评估图表.docx`) to paste into the self-assessment report; a
//! city folder; `status.json` (the document every figure comes from) and an `index.html` that
//! opens from disk, with its font beside it in `fonts/`.
//!
//! Every figure is taken from the [`ReportModel`] of [`crate::assess`]: the status document and
//! the series it does not hold (monthly volumes, daily withdrawals), read from the store there
//! with the same rule of which intakes count — never recomputed differently. Nothing here opens
//! the store, writes a file or reads the clock: `gwmon report` writes the bundle to disk
//! ([`crate::report`]), the web view serves it from memory.
//!
//! What lives where:
//! - here: [`render`], the entry — one job per county on rayon's pool (a failed or panicking
//!   job fails the run, naming the county), then the city folder, `status.json` and
//!   `index.html`;
//! - `county` — one county's folder: its charts, their CSVs and `summary.md`; [`chart_files`]
//!   lists a folder's chart files;
//! - `docx` — the county's Word document, from its status and the charts of its folder;
//! - `figures` — which charts a folder holds, in which order, under which title;
//! - `city` — the city folder;
//! - `series` — the pure series maths (monthly sums, annual history, cumulative curves,
//!   mid-month points, trend lines);
//! - `csv` — the CSV writers, for Excel or plain;
//! - `summary` — `summary.md` from `templates/summary.md`;
//! - `html` — `index.html` from `templates/index.html`, escaped by askama, and its font.
//!
//! The templates are compiled into the binary (askama), so no run parses one.

mod bulletin;
mod city;
mod county;
mod csv;
mod docx;
mod figures;
mod html;
mod permits;
mod series;
mod summary;
pub mod way_out;

use std::panic::{AssertUnwindSafe, catch_unwind};

use jiff::civil::Date;
use rayon::prelude::*;

pub use bulletin::{BulletinRow, bulletin_rows};
pub use county::chart_files;
pub use figures::{Figure, charts_in};
pub use html::{Headline, by_urgency, reasons, verdict_class};
pub use permits::{PermitRow, permit_rows};
pub use summary::progress;

use self::county::{Files, Run};
use crate::assess::{CountyModel, CountyStatus, ReportModel, StatusDoc};
use crate::config::Config;
use crate::output::Bundle;
use crate::output::charts::{self, ChartMeta};

pub use csv::CsvForm;

/// Report failures.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Chart(#[from] charts::ChartError),
    #[error("CSV: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("cannot make the Word document of {county}: {message}")]
    Docx { county: String, message: String },
    #[error("cannot write the status document as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot render {template}: {source}")]
    Template {
        template: &'static str,
        source: askama::Error,
    },
    #[error("the report of {county} failed: its worker panicked: {message}")]
    CountyPanicked { county: String, message: String },
}

/// How a run writes what is not fixed: the defaults are for people (Excel CSVs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub csv: CsvForm,
    /// Hydrographs as depth to water (埋深, on an inverted axis) instead of level.
    pub depth: bool,
    /// Charts without their title line: the Word document's captions and index.html's headings
    /// carry it.
    pub untitled: bool,
}

/// The Word document in each county folder.
pub const DOCX_NAME: &str = "自评估图表.docx";

const SOURCE: &str = "取水在线计量、地下水监测井";

fn meta(place: &str, doc: &StatusDoc, as_of: Date) -> ChartMeta {
    ChartMeta {
        place: place.to_string(),
        as_of: series::ymd(as_of),
        source: SOURCE.to_string(),
        example: doc.example_data,
        untitled: false,
    }
}

/// The folder name of a county: `140121-清徐县`.
pub fn county_dir(c: &CountyStatus) -> String {
    format!("{}-{}", c.code, c.name)
}

/// The report of the counties of `model` (and the city, `status.json`, `index.html`).
pub fn render(cfg: &Config, model: &ReportModel, options: Options) -> Result<Bundle, ReportError> {
    let mut bundle = render_counties(cfg, model, options)?;
    bundle.append(city(&model.doc, model.as_of, options.csv)?);
    bundle.insert("status.json", serde_json::to_string_pretty(&model.doc)?);
    html::add_font(&mut bundle);
    let selected: Vec<&CountyStatus> = model.selected().map(|(c, _)| c).collect();
    let index = html::render(&model.doc, &selected, &bundle)?;
    bundle.insert("index.html", index);
    Ok(bundle)
}

/// The folders of the counties of `model` only: what a county's web page serves.
pub fn render_counties(
    cfg: &Config,
    model: &ReportModel,
    options: Options,
) -> Result<Bundle, ReportError> {
    let run = Run::new(cfg, model, options);
    let counties: Vec<(&CountyStatus, &CountyModel)> = model.selected().collect();
    let per_county = each_county(&counties, |c, m| {
        let mut files = county::files(&run, c, m)?;
        let extra = county::appendix(&run, c);
        let docx = docx::render(&model.doc, c, model.as_of, &files, &extra)?;
        files.push((DOCX_NAME.to_owned(), docx));
        Ok(files)
    })?;
    let mut bundle = Bundle::new();
    for ((c, _), files) in counties.iter().zip(per_county) {
        let dir = county_dir(c);
        for (name, bytes) in files {
            bundle.insert_in(&dir, &name, bytes);
        }
    }
    Ok(bundle)
}

/// The city folder (`city/`: the overview chart and its CSV) of `doc`.
pub fn city(doc: &StatusDoc, as_of: Date, form: CsvForm) -> Result<Bundle, ReportError> {
    let mut bundle = Bundle::new();
    for (name, bytes) in city::files(doc, as_of, form)? {
        bundle.insert_in("city", &name, bytes);
    }
    Ok(bundle)
}

/// Runs `job` for every county on rayon's pool and gathers the files of each, in the order of
/// `counties`. The first job to fail fails the whole run; a job that panics does too, with an
/// error naming its county, so a report with a county missing is never taken for a complete one.
fn each_county<J>(
    counties: &[(&CountyStatus, &CountyModel)],
    job: J,
) -> Result<Vec<Files>, ReportError>
where
    J: Fn(&CountyStatus, &CountyModel) -> Result<Files, ReportError> + Sync,
{
    counties
        .par_iter()
        .map(|&(c, m)| {
            catch_unwind(AssertUnwindSafe(|| job(c, m))).unwrap_or_else(|panic| {
                Err(ReportError::CountyPanicked {
                    county: county_dir(c),
                    message: panic_message(panic.as_ref()),
                })
            })
        })
        .collect()
}

/// The message a panic was raised with.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS_OF: &str = "2026-11-30";

    /// The report model of an empty store (schema only).
    fn empty() -> (Config, ReportModel) {
        let cfg = Config::embedded().unwrap();
        let model = crate::assess::testing::empty(&cfg, AS_OF.parse().unwrap());
        (cfg, model)
    }

    #[test]
    fn a_panicking_county_job_fails_the_run_and_names_the_county() {
        let (_, model) = empty();
        let counties: Vec<_> = model.selected().collect();
        assert!(counties.len() >= 2);
        let doomed = counties[1].0.code;
        let err = each_county(&counties, |c, _| {
            if c.code == doomed {
                panic!("chart backend gave up");
            }
            Ok(vec![(county_dir(c), Vec::new())])
        })
        .unwrap_err();
        match &err {
            ReportError::CountyPanicked { county, message } => {
                assert_eq!(*county, county_dir(counties[1].0));
                assert_eq!(message, "chart backend gave up");
            }
            other => panic!("expected a panicked county, got {other}"),
        }
        assert!(
            err.to_string().contains(&county_dir(counties[1].0)),
            "{err}"
        );
    }

    #[test]
    fn a_failing_county_job_fails_the_run() {
        let (_, model) = empty();
        let counties: Vec<_> = model.selected().collect();
        let last = counties[counties.len() - 1].0.code;
        let failed = each_county(&counties, |c, _| {
            if c.code == last {
                Err(ReportError::Docx {
                    county: county_dir(c),
                    message: "no room".into(),
                })
            } else {
                Ok(Vec::new())
            }
        });
        assert!(
            matches!(failed, Err(ReportError::Docx { .. })),
            "{failed:?}"
        );
        let all = each_county(&counties, |c, _| Ok(vec![(county_dir(c), Vec::new())])).unwrap();
        assert_eq!(all.len(), counties.len());
        assert_eq!(
            all[0][0].0,
            county_dir(counties[0].0),
            "in the counties' order"
        );
    }

    /// One county's report holds its folder (charts in both formats with their CSVs, the Word
    /// document, the summary), the city folder, the font, `status.json` and an index that links
    /// only files the bundle has.
    #[test]
    fn a_county_report_is_a_complete_bundle() {
        let (cfg, mut model) = empty();
        model.counties.truncate(1);
        let bundle = render(&cfg, &model, Options::default()).unwrap();
        let dir = county_dir(model.selected().next().unwrap().0);
        let mut names: Vec<&str> = bundle.in_folder(&dir).map(|(n, _)| n).collect();
        names.sort();
        for want in [
            "readiness.png",
            "readiness.svg",
            "readiness.csv",
            "cumulative.png",
            "monthly.csv",
            "hydrographs.png",
            "sources.svg",
            "summary.md",
            DOCX_NAME,
        ] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        assert!(bundle.contains("city/city.png") && bundle.contains("city/city.csv"));
        assert!(bundle.contains(html::FONT_PATH) && bundle.contains("fonts/OFL.txt"));
        let status: serde_json::Value =
            serde_json::from_slice(bundle.get("status.json").unwrap()).unwrap();
        assert_eq!(status["as_of"], AS_OF);
        let index = std::str::from_utf8(bundle.get("index.html").unwrap()).unwrap();
        for link in index.split("src=\"").skip(1) {
            let target = &link[..link.find('"').unwrap()];
            assert!(
                bundle.contains(target),
                "index links {target}, not in the bundle"
            );
        }
        assert!(index.contains(&format!("{dir}/readiness.png")), "{index}");
    }
}
