//! One county's folder: the charts (exit readiness, cumulative withdrawal, monthly withdrawal,
//! hydrographs on as many pages as the wells need, withdrawal by source), the CSV of the numbers
//! of the first four, and `summary.md`. [`chart_files`] lists the chart files a folder holds.

use jiff::civil::Date;

use super::series::{self, MonthSums};
use super::{ReportError, csv, docx, meta, summary};
use crate::analysis::accounting::{county_quota_for_year, quota_steps};
use crate::analysis::plan::delivered;
use crate::analysis::verdict::Status;
use crate::assess::{CountyModel, CountyStatus, ReportModel, StatusDoc, counts_for_county_quota};
use crate::config::Config;
use crate::domain::{Budget, Source, TargetKind};
use crate::output::charts::{
    self, AquiferLevels, ChartKind, ChartMeta, CriterionRow, CumulativeWithdrawal, CurrentYear,
    Deadline, ExitReadiness, Hydrographs, LevelKind, MonthlyWithdrawal, SourceSeries, Subject,
    WayOut, WayStep, WellSeries, WithdrawalBySource, YearQuota, YearWithdrawal,
};

/// What every county's bundle of one run reads: the same for all counties.
pub struct Run<'a> {
    pub cfg: &'a Config,
    pub model: &'a ReportModel,
    pub doc: &'a StatusDoc,
    /// The first month of the annual history.
    pub base: Date,
    pub as_of: Date,
    pub csv: csv::CsvForm,
    /// Hydrographs as depth to water (埋深) instead of level.
    pub depth: bool,
    /// Charts without their title line.
    pub untitled: bool,
}

impl<'a> Run<'a> {
    pub fn new(cfg: &'a Config, model: &'a ReportModel, options: super::Options) -> Self {
        Run {
            cfg,
            model,
            doc: &model.doc,
            base: model.base,
            as_of: model.as_of,
            csv: options.csv,
            depth: options.depth,
            untitled: options.untitled,
        }
    }
}

/// A folder's files: (file name, bytes).
pub(super) type Files = Vec<(String, Vec<u8>)>;

/// What a county's charts are handed to: [`render_files`] for a report; a test can look at the
/// charts instead of drawing them.
pub(super) type Render<'r> = &'r (dyn Fn(ChartKind<'_>, &str) -> Result<Files, ReportError> + Sync);

/// `stem.png` and `stem.svg` of the chart.
pub(super) fn render_files(chart: ChartKind<'_>, stem: &str) -> Result<Files, ReportError> {
    Ok(charts::render_all(chart, stem)?.into())
}

/// One county's figures as the charts of its folder share them.
struct County<'a> {
    c: &'a CountyStatus,
    model: &'a CountyModel,
    render: Render<'a>,
    by_month: MonthSums,
}

/// The files of county `c`'s folder (file name, bytes): charts, CSVs and `summary.md`.
pub fn files(run: &Run<'_>, c: &CountyStatus, model: &CountyModel) -> Result<Files, ReportError> {
    files_with(run, c, model, &render_files)
}

/// [`files`] with the charts handed to `render`.
pub(super) fn files_with(
    run: &Run<'_>,
    c: &CountyStatus,
    model: &CountyModel,
    render: Render<'_>,
) -> Result<Files, ReportError> {
    let county = County {
        c,
        model,
        render,
        by_month: by_month(run, c),
    };
    let mut files = readiness(run, &county)?;
    files.extend(cumulative(run, &county)?);
    files.extend(monthly(run, &county)?);
    files.extend(hydrographs(run, &county)?);
    files.extend(by_source(run, &county)?);
    files.extend(way_out(run, &county)?);
    files.push((
        "bulletin.csv".into(),
        csv::to_bytes(run.csv, |w| csv::bulletin(w, c))?,
    ));
    files.push((
        "summary.md".into(),
        summary::render(run.cfg, run.doc, c)?.into_bytes(),
    ));
    Ok(files)
}

/// Monthly withdrawal of the intakes that count towards county `c`'s quota.
fn by_month(run: &Run<'_>, c: &CountyStatus) -> MonthSums {
    let intakes = run
        .cfg
        .registry
        .intakes
        .iter()
        .filter(|i| i.county == c.code && counts_for_county_quota(i))
        .map(|i| i.id.as_str());
    series::month_sums(intakes, &run.model.monthly)
}

/// Each complete year from the base year against its quota, as the readiness chart draws it.
fn annual(run: &Run<'_>, c: &CountyStatus, by_month: &MonthSums) -> Vec<YearWithdrawal> {
    let cfg = run.cfg;
    series::annual_history(
        by_month,
        run.base.year(),
        run.doc.year,
        c.last_year_m3,
        |y| county_quota_for_year(&cfg.quota_versions, c.code, y, cfg.assessment.quota_rule),
    )
}

/// What county `c`'s Word appendix needs beyond its status: the author, the thresholds, the
/// annual history and the county's own intakes in force on the as-of date.
pub fn appendix<'r>(run: &Run<'r>, c: &CountyStatus) -> docx::Extra<'r> {
    let cfg = run.cfg;
    let intakes = cfg
        .registry
        .intakes
        .iter()
        .filter(|i| i.county == c.code && i.budget == Budget::County && i.active_on(run.as_of))
        .map(|i| docx::NetworkIntake {
            id: i.id.clone(),
            name: i.name.clone(),
            source: i.source.label(),
            aquifer: if i.source == Source::Groundwater {
                i.aquifer.label()
            } else {
                "—"
            },
            permit_m3: i.permit_m3_per_year,
            duty: i.metering_duty,
        })
        .collect();
    docx::Extra {
        author: &cfg.report.author,
        assessment: &cfg.assessment,
        metering: &cfg.metering,
        years: annual(run, c, &by_month(run, c)),
        intakes,
    }
}

/// The chart files (stem, without `.png`/`.svg`) of county `c`'s folder in reading order, with
/// the image's alt text: what an index or a document embeds.
pub fn chart_files(c: &CountyStatus) -> Vec<(String, &'static str)> {
    let mut files = vec![
        ("readiness".to_owned(), "退出准备度"),
        ("cumulative".to_owned(), "本年累计取水量"),
        ("monthly".to_owned(), "逐月取水量"),
    ];
    files.extend((0..hydrograph_pages(c)).map(|p| (hydrograph_stem(p), "监测井水位过程线")));
    files.push(("sources".to_owned(), "分水源取水量"));
    if c.plan.is_some() {
        files.push(("plan".to_owned(), "退出路径"));
    }
    files
}

fn hydrograph_pages(c: &CountyStatus) -> usize {
    c.wells.len().div_ceil(Hydrographs::PER_PAGE).max(1)
}

/// `hydrographs`, `hydrographs-2`, … for pages 0, 1, …
fn hydrograph_stem(page: usize) -> String {
    if page == 0 {
        "hydrographs".to_owned()
    } else {
        format!("hydrographs-{}", page + 1)
    }
}

impl Run<'_> {
    fn meta(&self, c: &CountyStatus) -> ChartMeta {
        ChartMeta {
            untitled: self.untitled,
            ..meta(&c.name, self.doc, self.as_of)
        }
    }
}

/// Exit readiness: annual withdrawal against the quota, this year's projection, the deadlines,
/// the county's mean level with its trend, and the verdict with what fails.
fn readiness(run: &Run<'_>, k: &County<'_>) -> Result<Files, ReportError> {
    let (cfg, c, year) = (run.cfg, k.c, run.doc.year);
    let years = annual(run, c, &k.by_month);
    let county_cfg = cfg.county(c.code);
    let deadlines = [
        county_cfg
            .and_then(|x| x.self_assessment)
            .map(|d| Deadline::self_assessment(series::ymd(d))),
        county_cfg
            .and_then(|x| x.exit)
            .map(|d| Deadline::exit(series::ymd(d))),
    ];
    let start = cfg.assessment.window_start;
    let levels: Vec<(&crate::assess::AquiferSeries, Vec<(Date, f64)>)> = c
        .level_series
        .iter()
        .map(|a| (a, series::monthly_points(&a.monthly_level_m, start)))
        .collect();
    // Quotas of the years to come, through the exit year (at least next year's).
    let exit_year = county_cfg
        .and_then(|x| x.exit)
        .map_or(year + 1, |d| d.year().max(year + 1));
    let quotas_ahead = (year + 1..=exit_year)
        .map(|y| YearQuota {
            year: i32::from(y),
            quota_m3: county_quota_for_year(
                &cfg.quota_versions,
                c.code,
                y,
                cfg.assessment.quota_rule,
            )
            .unwrap_or(f64::NAN),
        })
        .collect();
    let current = CurrentYear {
        year: i32::from(year),
        to_date_m3: c.ytd_m3,
        projected_m3: c.projected_m3,
        quota_m3: c.quota_m3.unwrap_or(f64::NAN),
    };
    let chart = ExitReadiness {
        meta: run.meta(c),
        years,
        current: Some(current),
        quotas_ahead,
        deadlines: deadlines.into_iter().flatten().collect(),
        level_kind: LevelKind::Level,
        levels: levels
            .iter()
            .map(|(a, points)| {
                let level = c.level_by_aquifer.iter().find(|l| l.aquifer == a.aquifer);
                AquiferLevels {
                    label: a.aquifer_label.to_owned(),
                    levels: series::dated(points),
                    trend: level
                        .and_then(|l| l.mean_annual_change_m)
                        .and_then(|v| series::decisive_line(&a.trend, start, points, v)),
                    status: level
                        .map_or(Status::InsufficientData, |l| l.status)
                        .label()
                        .to_owned(),
                }
            })
            .collect(),
        verdict: c.verdict_label.to_string(),
        verdict_kind: c.verdict.into(),
        failing: c
            .criteria
            .iter()
            .filter(|x| x.status != Status::Pass)
            .map(|x| CriterionRow {
                item: x.label().to_owned(),
                status: x.status.label().to_owned(),
                kind: x.status.into(),
                detail: x.detail.clone(),
            })
            .collect(),
    };
    let mut files = (k.render)(ChartKind::ExitReadiness(&chart), "readiness")?;
    files.push((
        "readiness.csv".into(),
        csv::to_bytes(run.csv, |w| csv::readiness(w, &chart.years, &current))?,
    ));
    files.push((
        "readiness_levels.csv".into(),
        csv::to_bytes(run.csv, |w| {
            let rows: Vec<csv::AquiferRows<'_>> = levels
                .iter()
                .map(|(a, points)| csv::AquiferRows {
                    aquifer: a.aquifer_label,
                    points,
                    decisive_m_per_year: c
                        .level_by_aquifer
                        .iter()
                        .find(|l| l.aquifer == a.aquifer)
                        .and_then(|l| l.mean_annual_change_m),
                    sen_slope_m_per_year: a.trend.sen_slope_m_per_year,
                    sen_intercept_m: a.trend.sen_intercept_m,
                })
                .collect();
            csv::readiness_levels(w, &rows)
        })?,
    ));
    Ok(files)
}

/// Cumulative withdrawal this year against last year and the quota's steps.
fn cumulative(run: &Run<'_>, k: &County<'_>) -> Result<Files, ReportError> {
    let (c, year) = (k.c, run.doc.year);
    let (this_year, last_year) = series::cumulative(&k.model.daily_m3, year);
    let steps = series::quota_step_days(&quota_steps(
        &run.cfg.quota_versions,
        c.code,
        year,
        run.cfg.assessment.quota_rule,
    ));
    let chart = CumulativeWithdrawal {
        meta: run.meta(c),
        year: i32::from(year),
        this_year,
        last_year,
        quota_steps: steps,
        projected_year_end_m3: Some(c.projected_m3),
        k_text: c.k.map(|k| run.doc.fmt_k(Some(k))),
    };
    let mut files = (k.render)(ChartKind::Cumulative(&chart), "cumulative")?;
    files.push((
        "cumulative.csv".into(),
        csv::to_bytes(run.csv, |w| {
            csv::cumulative(
                w,
                year,
                &chart.this_year,
                &chart.last_year,
                &chart.quota_steps,
                c.projected_m3,
            )
        })?,
    ));
    Ok(files)
}

/// Monthly withdrawal of the last three years.
fn monthly(run: &Run<'_>, k: &County<'_>) -> Result<Files, ReportError> {
    let chart = MonthlyWithdrawal {
        meta: run.meta(k.c),
        years: series::last_three_years(&k.by_month, run.doc.year),
    };
    let mut files = (k.render)(ChartKind::Monthly(&chart), "monthly")?;
    files.push((
        "monthly.csv".into(),
        csv::to_bytes(run.csv, |w| csv::monthly(w, &chart.years))?,
    ));
    Ok(files)
}

/// Each monitoring well's monthly mean level with its trend line.
fn hydrographs(run: &Run<'_>, k: &County<'_>) -> Result<Files, ReportError> {
    let start = run.cfg.assessment.window_start;
    let points: Vec<Vec<(Date, f64)>> =
        k.c.wells
            .iter()
            .map(|w| series::monthly_points(&w.monthly_level_m, start))
            .collect();
    let ground = |id: &str| {
        run.cfg
            .registry
            .wells
            .iter()
            .find(|w| w.id == id)
            .map(|w| w.ground_elevation_m)
    };
    // A target is drawn in the series' kind, converted with the well's ground elevation.
    let target = |id: &str, t: &crate::analysis::verdict::TargetCheck| match (t.kind, run.depth) {
        (TargetKind::Level, false) | (TargetKind::Depth, true) => Some(t.target_m),
        (TargetKind::Depth, false) | (TargetKind::Level, true) => {
            ground(id).map(|g| g - t.target_m)
        }
    };
    // Depth to water = ground elevation − level: the points, and the trend line (its slope
    // changes sign; the direction, said of the water level, does not).
    let as_depth = |id: &str, p: &[(Date, f64)]| -> Vec<(Date, f64)> {
        match ground(id) {
            Some(g) if run.depth => p.iter().map(|&(d, v)| (d, g - v)).collect(),
            _ => p.to_vec(),
        }
    };
    let trend = |id: &str, t: Option<crate::output::charts::Trend>| match (t, ground(id)) {
        (Some(mut t), Some(g)) if run.depth => {
            t.slope_m_per_year = -t.slope_m_per_year;
            t.anchor.value = g - t.anchor.value;
            Some(t)
        }
        (t, _) => t,
    };
    let mut chart = Hydrographs {
        subject: Subject::Wells,
        meta: run.meta(k.c),
        kind: if run.depth {
            LevelKind::Depth
        } else {
            LevelKind::Level
        },
        wells: k
            .c
            .wells
            .iter()
            .zip(&points)
            .map(|(w, p)| WellSeries {
                id: w.id.clone(),
                name: w.name.clone(),
                group: w.aquifer_label.to_owned(),
                points: series::dated(&as_depth(&w.id, p)),
                trend: trend(&w.id, series::trend_line(&w.trend, start)),
                target_m: w.target.as_ref().and_then(|t| target(&w.id, t)),
                target_note: w.target.as_ref().and_then(|t| {
                    let drawn = target(&w.id, t)?;
                    let (set, shown) = match t.kind {
                        TargetKind::Depth => ("埋深目标", "水位"),
                        TargetKind::Level => ("水位目标", "埋深"),
                    };
                    Some(if (t.kind == TargetKind::Depth) == run.depth {
                        format!("{set} {:.2} m", t.target_m)
                    } else {
                        format!("{set} {:.2} m（{shown} {drawn:.2} m）", t.target_m)
                    })
                }),
                outliers: {
                    let months: Vec<(Date, f64)> = w
                        .trend
                        .outliers
                        .iter()
                        .filter_map(|o| {
                            let d: Date = format!("{}-15", o.month).parse().ok()?;
                            Some((d, o.level_m))
                        })
                        .collect();
                    series::dated(&as_depth(&w.id, &months))
                },
                steps: w
                    .trend
                    .steps
                    .iter()
                    .filter_map(|s| format!("{}-15", s.month).parse::<Date>().ok())
                    .map(series::ymd)
                    .collect(),
            })
            .collect(),
        page: 0,
    };
    let mut files = Vec::new();
    for page in 0..chart.pages() {
        chart.page = page;
        files.extend((k.render)(
            ChartKind::Hydrographs(&chart),
            &hydrograph_stem(page),
        )?);
    }
    files.push((
        "hydrographs.csv".into(),
        csv::to_bytes(run.csv, |w| {
            csv::hydrographs(
                w,
                k.c.wells
                    .iter()
                    .zip(&points)
                    .map(|(w, p)| (w.id.as_str(), p.as_slice())),
            )
        })?,
    ));
    Ok(files)
}

/// Withdrawal by source and year from the base year: complete years summed from the monthly
/// volumes of the county's intakes of each source, last year and this year's projection as the
/// status document has them, so the chart agrees with the summary's table.
fn by_source(run: &Run<'_>, k: &County<'_>) -> Result<Files, ReportError> {
    let (c, year) = (k.c, run.doc.year);
    let years: Vec<i16> = (run.base.year()..=year).collect();
    let sources = c
        .by_source
        .iter()
        .map(|g| {
            let source = Source::ALL.iter().find(|s| s.as_str() == g.key);
            // The county's own intakes of the source, on the registry in force in each year.
            let of_year = |y: i16| {
                let (Ok(a), Ok(b)) = (Date::new(y, 1, 1), Date::new(y, 12, 31)) else {
                    return MonthSums::default();
                };
                let intakes = run
                    .cfg
                    .registry
                    .intakes_in_force(a, b)
                    .into_iter()
                    .filter(|i| {
                        i.county == c.code
                            && i.budget == Budget::County
                            && Some(&i.source) == source
                    })
                    .map(|i| i.id.as_str());
                series::month_sums(intakes, &run.model.monthly)
            };
            let m3 = years
                .iter()
                .map(|y| match *y {
                    y if y == year => g.projected_m3,
                    y if y == year - 1 => g.last_year_m3,
                    y => {
                        let by_month = of_year(y);
                        let mut months = by_month.range((y, 1)..=(y, 12)).peekable();
                        if months.peek().is_some() {
                            months.map(|(_, v)| v).sum()
                        } else {
                            f64::NAN
                        }
                    }
                })
                .collect();
            SourceSeries {
                label: g.label.clone(),
                groundwater: source == Some(&Source::Groundwater),
                m3,
            }
        })
        .collect();
    let chart = WithdrawalBySource {
        meta: run.meta(c),
        years: years.iter().map(|y| i32::from(*y)).collect(),
        sources,
        projected_year: Some(i32::from(year)),
        base_year: i32::from(run.cfg.assessment.base_year),
        reduction_parts: c
            .reduction
            .as_ref()
            .map(|r| (i32::from(r.year), r.sealed_m3, r.transferred_m3, r.rest_m3)),
    };
    let mut files = (k.render)(ChartKind::BySource(&chart), "sources")?;
    files.push((
        "sources.csv".into(),
        csv::to_bytes(run.csv, |w| csv::sources(w, &chart))?,
    ));
    Ok(files)
}

/// The way out (a county with an exit deadline only): this year's projection, held, through
/// what each measure takes off the exit year, to the exit year's allowed withdrawal, and the
/// candidate 自备井 when the measures leave a gap.
fn way_out(run: &Run<'_>, k: &County<'_>) -> Result<Files, ReportError> {
    let Some(p) = &k.c.plan else {
        return Ok(Vec::new());
    };
    let exit = p.years.last();
    let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let chart = WayOut {
        meta: run.meta(k.c),
        this_year: i32::from(run.doc.year),
        exit_year: i32::from(p.exit_year),
        projected_m3: nan(exit.and_then(|y| y.baseline_m3)),
        steps: p
            .measures
            .iter()
            .map(|m| WayStep {
                label: format!("{}：{}", super::way_out::kind_label(m.kind), m.name),
                m3: delivered(m, run.as_of, p.exit_year),
                measured: m.measured,
            })
            .filter(|s| s.m3 > 0.0)
            .collect(),
        candidates: p
            .candidates
            .last()
            .filter(|_| p.exit_gap_m3 > 0.0)
            .map(|c| (p.candidates.len(), c.cumulative_m3)),
        quota_m3: nan(exit.and_then(|y| y.quota_m3)),
        allowed_m3: nan(exit.and_then(|y| y.allowed_m3)),
        pass_k: p.pass_k,
        conclusion: super::way_out::conclusion(p),
    };
    (k.render)(ChartKind::WayOut(&chart), "plan")
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;

    /// Every county of a simulated Taiyuan store: no chart has overlapping or clipped text, and
    /// the hydrograph pages hold every well once.
    #[test]
    fn every_county_chart_is_laid_out_without_collisions() {
        let cfg = Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/taiyuan.toml"))
            .unwrap();
        let model = crate::assess::testing::simulated(
            &cfg,
            "2023-01-01".parse().unwrap(),
            "2026-11-27".parse().unwrap(),
            "2026-11-28".parse().unwrap(),
        );
        let run = Run::new(&cfg, &model, super::super::Options::default());
        let problems = Mutex::new(Vec::new());
        let wells_drawn = Mutex::new(Vec::new());
        let check = |chart: ChartKind<'_>, stem: &str| -> Result<Files, ReportError> {
            let found = charts::layout_problems(chart)?;
            let mut p = problems.lock().unwrap();
            p.extend(found.into_iter().map(|f| format!("{stem}: {f}")));
            if let ChartKind::Hydrographs(h) = chart {
                wells_drawn
                    .lock()
                    .unwrap()
                    .extend(h.page_wells(h.page).iter().map(|w| w.id.clone()));
            }
            Ok(Vec::new())
        };
        assert_eq!(model.counties.len(), 10);
        for (c, m) in model.selected() {
            files_with(&run, c, m, &check).unwrap();
            let p = std::mem::take(&mut *problems.lock().unwrap());
            assert!(p.is_empty(), "{}: {p:#?}", c.name);
            let mut drawn = std::mem::take(&mut *wells_drawn.lock().unwrap());
            let mut ids: Vec<String> = c.wells.iter().map(|w| w.id.clone()).collect();
            drawn.sort();
            ids.sort();
            assert_eq!(drawn, ids, "{}: every well on exactly one page", c.name);
            let stems = chart_files(c);
            assert_eq!(
                stems
                    .iter()
                    .filter(|(s, _)| s.starts_with("hydrographs"))
                    .count(),
                c.wells.len().div_ceil(Hydrographs::PER_PAGE).max(1)
            );
        }
    }
}
