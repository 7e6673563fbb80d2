//! [`ReportModel`]: everything a report draws — the status document and the series its charts,
//! tables and CSVs need beyond it — read from the store here and only here, so `output` renders
//! a value and never opens the store.

use crate::store::sql::Sql;
use jiff::civil::Date;
use rayon::prelude::*;

use super::{CountyStatus, StatusDoc, counts_for_county_quota};
use crate::analysis::accounting::VolumeWithEstimate;
use crate::config::Config;
use crate::domain::{CountyCode, MonthlyPoints};
use crate::store::{StoreError, open_ro, volumes};

/// One report: the status document as of `as_of` with the series of the selected counties.
#[derive(Debug, Clone)]
pub struct ReportModel {
    pub doc: StatusDoc,
    pub as_of: Date,
    /// The first month of the annual history: January of the base year, or of two years before
    /// `as_of` when the base year is later.
    pub base: Date,
    /// Monthly volumes of every registered intake from `base` to `as_of` (the as-of month holds
    /// only its days up to `as_of`).
    pub monthly: MonthlyPoints<VolumeWithEstimate>,
    /// The counties the report is for, in the document's order.
    pub counties: Vec<CountyModel>,
}

/// What one county's charts need beyond its status.
#[derive(Debug, Clone, PartialEq)]
pub struct CountyModel {
    pub code: CountyCode,
    /// Daily withdrawal of the intakes that count towards its quota, from 1 January of last year
    /// to `as_of`; days without any row are absent.
    pub daily_m3: Vec<(Date, f64)>,
}

impl ReportModel {
    /// The selected counties with their status, in the document's order.
    pub fn selected(&self) -> impl Iterator<Item = (&CountyStatus, &CountyModel)> {
        self.counties.iter().filter_map(|m| {
            let c = self.doc.counties.iter().find(|c| c.code == m.code)?;
            Some((c, m))
        })
    }
}

/// The report model of `only` (or every county) as of `as_of`.
pub fn report_model(
    cfg: &Config,
    conn: &dyn Sql,
    as_of: Date,
    only: Option<CountyCode>,
) -> Result<ReportModel, StoreError> {
    let doc = super::status(cfg, conn, as_of)?;
    report_model_for(cfg, conn, doc, as_of, only)
}

/// [`report_model`] on a status document already made for `as_of` (the web view keeps one per
/// date): only the series are read.
pub fn report_model_for(
    cfg: &Config,
    conn: &dyn Sql,
    doc: StatusDoc,
    as_of: Date,
    only: Option<CountyCode>,
) -> Result<ReportModel, StoreError> {
    let base = Date::new(cfg.assessment.base_year.min(as_of.year() - 2), 1, 1).unwrap_or(as_of);
    // The monthly volumes of the intakes of the counties reported on (every county's charts
    // draw only its own intakes).
    let intakes: Vec<&str> = cfg
        .registry
        .intakes
        .iter()
        .filter(|i| only.is_none_or(|o| o == i.county))
        .map(|i| i.id.as_str())
        .collect();
    let monthly = volumes::monthly_volumes(conn, &intakes, base, as_of)?;
    let last_year_start = Date::new(doc.year - 1, 1, 1).unwrap_or(as_of);
    let codes: Vec<CountyCode> = doc
        .counties
        .iter()
        .map(|c| c.code)
        .filter(|c| only.is_none_or(|o| o == *c))
        .collect();
    let county = |conn: &dyn Sql, code: CountyCode| {
        let intakes = cfg
            .registry
            .intakes
            .iter()
            .filter(|i| i.county == code && counts_for_county_quota(i))
            .map(|i| i.id.as_str());
        Ok(CountyModel {
            code,
            daily_m3: volumes::daily_volume_sums(conn, intakes, last_year_start, as_of)?,
        })
    };
    // Each county's daily sums read a year and more of its intakes' days: on a store file, the
    // counties are read on rayon's pool, a read-only connection per worker.
    let counties = match conn.file() {
        Some(path) if codes.len() > 1 => {
            let path = std::path::PathBuf::from(path);
            codes
                .par_iter()
                .map_init(
                    || open_ro(&path),
                    |worker, &code| match worker {
                        Ok(c) => county(&*c, code),
                        Err(e) => Err(StoreError::Runtime(format!(
                            "cannot open {} to read: {e}",
                            path.display()
                        ))),
                    },
                )
                .collect::<Result<_, StoreError>>()?
        }
        _ => codes
            .iter()
            .map(|&code| county(conn, code))
            .collect::<Result<_, StoreError>>()?,
    };
    Ok(ReportModel {
        doc,
        as_of,
        base,
        monthly,
        counties,
    })
}

/// Report models over stores made for a test, so the renderers' tests need no store of their own.
#[cfg(test)]
pub mod testing {
    use std::path::Path;

    use super::*;
    use crate::store::{Durability, StoreSettings, open_ro, open_store};

    /// The model of every county over a store the fleet simulator filled from `from` to `to`
    /// (seed 42, five wells' worth of variety), as of `as_of`.
    pub fn simulated(cfg: &Config, from: Date, to: Date, as_of: Date) -> ReportModel {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gwmon.db");
        {
            let mut store =
                open_store(StoreSettings::from_config(cfg), &db, Durability::Normal).unwrap();
            crate::tools::fleet::populate(&mut store, cfg, 42, from, to, 5).unwrap();
        }
        model_of(cfg, &db, as_of)
    }

    /// The model of every county over an empty store, as of `as_of`.
    pub fn empty(cfg: &Config, as_of: Date) -> ReportModel {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("gwmon.db");
        drop(open_store(StoreSettings::from_config(cfg), &db, Durability::Normal).unwrap());
        model_of(cfg, &db, as_of)
    }

    fn model_of(cfg: &Config, db: &Path, as_of: Date) -> ReportModel {
        report_model(cfg, &open_ro(db).unwrap(), as_of, None).unwrap()
    }
}
