//! `gwmon report`: reads the [`ReportModel`] from the store, renders it into a
//! [`Bundle`] and writes the bundle into a folder. Each file goes to a temporary name first and
//! is renamed into place, so a reader never sees half a chart; `status.json` and `index.html`
//! are written last, so a folder with an index is a complete one.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

use crate::assess::{ReportModel, StatusDoc, report_model};
use crate::config::Config;
use crate::domain::CountyCode;
use crate::output::Bundle;
use crate::output::report::{Options, ReportError, render};
use crate::store::StoreError;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] ReportError),
    #[error(
        "cannot write {path}: {source} (check that the folder is writable and the disk has room)"
    )]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a report run wrote.
#[derive(Debug, Clone)]
pub struct ReportOutput {
    pub index: PathBuf,
    pub status: StatusDoc,
    /// Every file written, sorted.
    pub files: Vec<PathBuf>,
}

/// Writes the report of `only` (or every county) as of `as_of` into `out`, with the default
/// [`Options`].
pub fn report(
    cfg: &Config,
    db: &Path,
    as_of: Date,
    only: Option<CountyCode>,
    out: &Path,
) -> Result<ReportOutput, WriteError> {
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
) -> Result<ReportOutput, WriteError> {
    let model: ReportModel = {
        let conn = crate::store::open_read(db)?;
        report_model(cfg, &conn, as_of, only)?
    };
    let bundle = render(cfg, &model, options)?;
    let files = write(&bundle, out)?;
    Ok(ReportOutput {
        index: out.join("index.html"),
        status: model.doc,
        files,
    })
}

/// Files written last: a folder with them holds everything else.
const LAST: [&str; 2] = ["status.json", "index.html"];

/// Writes every file of `bundle` under `out` (creating folders as needed): the paths written,
/// sorted.
pub fn write(bundle: &Bundle, out: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let first = bundle.iter().filter(|(p, _)| !LAST.contains(p));
    let last = LAST.iter().filter_map(|p| bundle.get(p).map(|b| (*p, b)));
    let mut files = Vec::with_capacity(bundle.len());
    for (rel, bytes) in first.chain(last) {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        write_atomic(&path, bytes)?;
        files.push(path);
    }
    files.sort();
    Ok(files)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// System fonts tried, in order, for characters the embedded chart font lacks (Debian's
/// fonts-noto-cjk, face 2 = Simplified Chinese; fonts-wqy-zenhei; fonts-arphic-uming).
const SYSTEM_FALLBACK_FONTS: [(&str, u32); 4] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
];

/// Points the charts' fallback font at `[report] fallback_font`, or at the first system CJK font
/// that exists. The file is read only when a chart first draws a character outside the
/// embedded font (GB18030 level 1); a configured file that cannot be read is logged then.
pub fn use_fallback_font(cfg: &crate::config::ReportConfig) {
    let chosen: Option<(PathBuf, u32)> = match &cfg.fallback_font {
        Some(p) => Some((p.clone(), cfg.fallback_font_index)),
        None => SYSTEM_FALLBACK_FONTS
            .iter()
            .find(|(p, _)| Path::new(p).exists())
            .map(|&(p, i)| (PathBuf::from(p), i)),
    };
    let Some((path, index)) = chosen else {
        return;
    };
    crate::output::charts::fonts::set_fallback_source(Box::new(move || {
        match std::fs::read(&path) {
            Ok(bytes) => Some((bytes, index)),
            Err(e) => {
                tracing::warn!(
                    "the fallback chart font {} could not be read ({e}): characters outside GB18030 level 1 are drawn as boxes; fix [report] fallback_font",
                    path.display()
                );
                None
            }
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::report::county_dir;
    use crate::store::open_ro;
    use crate::store::{Durability, open_rw};

    const AS_OF: &str = "2026-11-30";

    fn empty_store(dir: &Path) -> (Config, PathBuf) {
        let cfg = Config::embedded().unwrap();
        let db = dir.join("gwmon.db");
        drop(open_rw(&db, Durability::Normal).unwrap());
        (cfg, db)
    }

    #[test]
    fn a_county_folder_that_cannot_be_made_fails_the_report_before_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, db) = empty_store(dir.path());
        let out = dir.path().join("report");
        let conn = open_ro(&db).unwrap();
        let c = crate::assess::status(&cfg, &conn, AS_OF.parse().unwrap())
            .unwrap()
            .counties
            .remove(0);
        let blocked = out.join(county_dir(&c));
        std::fs::create_dir_all(&out).unwrap();
        // A file where the county's folder goes.
        std::fs::write(&blocked, "").unwrap();
        let err = report(&cfg, &db, AS_OF.parse().unwrap(), Some(c.code), &out).unwrap_err();
        assert!(
            matches!(&err, WriteError::Io { path, .. } if *path == blocked),
            "{err}"
        );
        assert!(!out.join("status.json").exists() && !out.join("index.html").exists());
    }

    #[test]
    fn every_file_of_the_bundle_is_written_with_its_bytes_and_no_temporary_left() {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, db) = empty_store(dir.path());
        let out = dir.path().join("report");
        let written = report(&cfg, &db, AS_OF.parse().unwrap(), None, &out).unwrap();
        assert_eq!(written.index, out.join("index.html"));
        let conn = open_ro(&db).unwrap();
        let model = report_model(&cfg, &conn, AS_OF.parse().unwrap(), None).unwrap();
        let bundle = render(&cfg, &model, Options::default()).unwrap();
        let mut expected: Vec<PathBuf> = bundle.paths().map(|p| out.join(p)).collect();
        expected.sort();
        assert_eq!(written.files, expected);
        for (rel, bytes) in bundle.iter() {
            assert_eq!(std::fs::read(out.join(rel)).unwrap(), bytes, "{rel}");
        }
        let tmp = walk(&out)
            .into_iter()
            .filter(|p| p.ends_with(".tmp"))
            .count();
        assert_eq!(tmp, 0);
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
        out
    }
}
