//! `gwmon report`: the self-assessment bundle. For each county a folder with the four charts
//! (PNG + SVG), the CSV behind each chart (the exact numbers plotted), a `summary.md` in
//! Chinese and a Word document (`自评估图表.docx`) to paste into the self-assessment report; a
//! city folder; `status.json` (the document every figure comes from) and an `index.html` that
//! opens from disk, with its font beside it in `fonts/`.
//!
//! Every figure is taken from the status document of [`crate::assess`] or, for the series the
//! document does not hold (annual history, daily cumulative curves, monthly bars), summed from the
//! same store tables with the same rule of which intakes count — never recomputed differently.
//!
//! What lives where:
//! - here: [`report`], the entry — reads the status document and the monthly sums once, runs one
//!   job per county on rayon's pool (a failed or panicking job fails the run, naming the
//!   county), then writes the city folder, `status.json` and `index.html`;
//! - `county` — one county's folder: its charts, their CSVs and `summary.md`; [`chart_files`]
//!   lists a folder's chart files;
//! - `docx` — the county's Word document, from its status and the charts its folder holds;
//! - `figures` — which charts a folder holds, in which order, under which title;
//! - `city` — the city folder;
//! - `series` — the pure series maths (monthly sums, annual history, cumulative curves,
//!   mid-month points, trend lines);
//! - `csv` — the CSV writers, for Excel or plain;
//! - `summary` — `summary.md` from `templates/summary.md`;
//! - `html` — `index.html` from `templates/index.html`, escaped by askama, and its font.
//!
//! The templates are compiled into the binary (askama), so no run parses one.

mod city;
mod county;
mod csv;
mod docx;
mod figures;
mod html;
mod series;
mod summary;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use rayon::prelude::*;

pub use county::chart_files;
pub use figures::{Figure, charts_in};
pub use html::{Headline, by_urgency, reasons, verdict_class};
pub use summary::progress;

use crate::assess::{CountyStatus, StatusDoc};
use crate::config::Config;
use crate::domain::CountyCode;
use crate::output::charts::{self, ChartMeta};
use crate::store::{StoreError, coverage, open_ro};

pub use csv::CsvForm;

/// Report failures.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chart(#[from] charts::ChartError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CSV: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("cannot write the Word document {path}: {message}")]
    Docx { path: PathBuf, message: String },
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a report run wrote.
#[derive(Debug, Clone)]
pub struct ReportOutput {
    pub index: PathBuf,
    pub status: StatusDoc,
    /// Every file written, sorted.
    pub files: Vec<PathBuf>,
}

/// How a run writes what is not fixed: the defaults are for people (Excel CSVs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub csv: CsvForm,
    /// Hydrographs as depth to water (埋深, on an inverted axis) instead of level.
    pub depth: bool,
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
    }
}

/// The folder name of a county: `140121-清徐县`.
pub fn county_dir(c: &CountyStatus) -> String {
    format!("{}-{}", c.code, c.name)
}

/// Writes the bundle for `only` (or every county) as of `as_of` into `out`, with the default
/// [`Options`].
pub fn report(
    cfg: &Config,
    db: &Path,
    as_of: Date,
    only: Option<CountyCode>,
    out: &Path,
) -> Result<ReportOutput, ReportError> {
    report_with(cfg, db, as_of, only, out, Options::default())
}

/// [`report`] with `options`.
pub fn report_with(
    cfg: &Config,
    db: &Path,
    as_of: Date,
    only: Option<CountyCode>,
    out: &Path,
    options: Options,
) -> Result<ReportOutput, ReportError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let conn = open_ro(db)?;
    let doc = crate::assess::status(cfg, &conn, as_of)?;
    let base = Date::new(cfg.assessment.base_year.min(as_of.year() - 2), 1, 1).unwrap_or(as_of);
    // Cut at `as_of`: the as-of month holds only its days up to `as_of`, never a later reading.
    let intakes: Vec<&str> = cfg.registry.intakes.iter().map(|i| i.id.as_str()).collect();
    let monthly = coverage::monthly_volumes(&conn, &intakes, base, as_of)?;
    drop(conn);

    let selected: Vec<&CountyStatus> = doc
        .counties
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.code))
        .collect();
    let run = county::Run {
        cfg,
        doc: &doc,
        monthly: &monthly,
        base,
        as_of,
        out,
        csv: options.csv,
        depth: options.depth,
    };
    let mut files = each_county(
        &selected,
        || Ok(open_ro(db)?),
        |conn, c| {
            let mut files = county::bundle(&run, conn, c)?;
            let dir = out.join(county_dir(c));
            files.push(docx::write(&doc, c, as_of, &dir, &files)?);
            Ok(files)
        },
    )?;
    files.extend(city::bundle(&doc, as_of, out, options.csv)?);
    let status_path = out.join("status.json");
    let json = serde_json::to_string_pretty(&doc)?;
    std::fs::write(&status_path, json).map_err(io(&status_path))?;
    files.push(status_path);
    files.extend(html::write_font(out)?);
    let index = out.join("index.html");
    std::fs::write(&index, html::render(&doc, &selected, &files, out)?).map_err(io(&index))?;
    files.push(index.clone());
    files.sort();
    Ok(ReportOutput {
        index,
        status: doc,
        files,
    })
}

/// Writes the city folder (`out/city/`: the overview chart and its CSV) of `doc`: the files
/// written.
pub fn city_bundle(doc: &StatusDoc, as_of: Date, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    city::bundle(doc, as_of, out, CsvForm::default())
}

/// Runs `job` for every county on rayon's pool and gathers the files the jobs wrote. `open` makes
/// the state the counties of one worker share (a read-only connection): rayon calls it once per
/// piece of the list it hands a worker, not once per county. The first job to fail fails the
/// whole run; a job that panics does too, with an error naming its county, so a report with a
/// county missing is never taken for a complete one.
fn each_county<S, O, J>(
    counties: &[&CountyStatus],
    open: O,
    job: J,
) -> Result<Vec<PathBuf>, ReportError>
where
    O: Fn() -> Result<S, ReportError> + Sync,
    J: Fn(&mut S, &CountyStatus) -> Result<Vec<PathBuf>, ReportError> + Sync,
{
    let per_county: Vec<Vec<PathBuf>> = counties
        .par_iter()
        .map_init(
            || None,
            |state: &mut Option<S>, c| {
                let s = match state {
                    Some(s) => s,
                    None => state.insert(open()?),
                };
                catch_unwind(AssertUnwindSafe(|| job(s, c))).unwrap_or_else(|panic| {
                    Err(ReportError::CountyPanicked {
                        county: county_dir(c),
                        message: panic_message(panic.as_ref()),
                    })
                })
            },
        )
        .collect::<Result<_, _>>()?;
    Ok(per_county.into_iter().flatten().collect())
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
    use crate::store::{Durability, open_rw};

    const AS_OF: &str = "2026-11-30";

    /// An empty store (schema only) in `dir` and the status document it gives.
    fn empty_store(dir: &Path) -> (Config, PathBuf, StatusDoc) {
        let cfg = Config::embedded().unwrap();
        let db = dir.join("gwmon.db");
        let conn = open_rw(&db, Durability::Normal).unwrap();
        let doc = crate::assess::status(&cfg, &conn, AS_OF.parse().unwrap()).unwrap();
        (cfg, db, doc)
    }

    #[test]
    fn a_panicking_county_job_fails_the_run_and_names_the_county() {
        let dir = tempfile::tempdir().unwrap();
        let (_, _, doc) = empty_store(dir.path());
        let counties: Vec<&CountyStatus> = doc.counties.iter().collect();
        assert!(counties.len() >= 2);
        let doomed = counties[1].code;
        let err = each_county(
            &counties,
            || Ok(()),
            |_, c| {
                if c.code == doomed {
                    panic!("chart backend gave up");
                }
                Ok(vec![PathBuf::from(county_dir(c))])
            },
        )
        .unwrap_err();
        match &err {
            ReportError::CountyPanicked { county, message } => {
                assert_eq!(*county, county_dir(counties[1]));
                assert_eq!(message, "chart backend gave up");
            }
            other => panic!("expected a panicked county, got {other}"),
        }
        assert!(err.to_string().contains(&county_dir(counties[1])), "{err}");
    }

    #[test]
    fn a_failing_county_job_or_worker_fails_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let (_, _, doc) = empty_store(dir.path());
        let counties: Vec<&CountyStatus> = doc.counties.iter().collect();
        let last = counties[counties.len() - 1].code;
        let failed = each_county(
            &counties,
            || Ok(()),
            |_, c| {
                if c.code == last {
                    Err(io(Path::new("full-disk"))(
                        std::io::ErrorKind::StorageFull.into(),
                    ))
                } else {
                    Ok(Vec::new())
                }
            },
        );
        assert!(matches!(failed, Err(ReportError::Io { .. })), "{failed:?}");
        let unopened = each_county(
            &counties,
            || {
                Err::<(), _>(ReportError::Store(StoreError::Runtime(
                    "no connection".into(),
                )))
            },
            |_, _| Ok(Vec::new()),
        );
        assert!(
            matches!(unopened, Err(ReportError::Store(_))),
            "{unopened:?}"
        );
        let all = each_county(
            &counties,
            || Ok(()),
            |_, c| Ok(vec![PathBuf::from(county_dir(c))]),
        )
        .unwrap();
        assert_eq!(all.len(), counties.len());
    }

    #[test]
    fn a_county_folder_that_cannot_be_made_fails_the_report() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, db, doc) = empty_store(dir.path());
        let out = dir.path().join("report");
        let c = &doc.counties[0];
        let blocked = out.join(county_dir(c));
        std::fs::create_dir_all(&out).unwrap();
        // A file where the county's folder goes.
        std::fs::write(&blocked, "").unwrap();
        let err = report(&cfg, &db, AS_OF.parse().unwrap(), Some(c.code), &out).unwrap_err();
        assert!(
            matches!(&err, ReportError::Io { path, .. } if *path == blocked),
            "{err}"
        );
        assert!(!out.join("status.json").exists() && !out.join("index.html").exists());
    }
}
