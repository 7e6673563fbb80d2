//! `gwmon report`: the self-assessment bundle. For each county a folder with the four charts
//! (PNG + SVG), the CSV behind each chart (the exact numbers plotted) and a `summary.md` in
//! Chinese; a city folder; `status.json` (the document every figure comes from) and an
//! `index.html` that opens from disk.
//!
//! Every figure is taken from the status document of [`crate::assess`] or, for the series the
//! document does not hold (annual history, daily cumulative curves, monthly bars), summed from the
//! same store tables with the same rule of which intakes count — never recomputed differently.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::civil::Date;
use rusqlite::{Connection, params};

use crate::analysis::accounting::{county_quota_for_year, quota_steps};
use crate::analysis::levels::{Direction, WellTrend};
use crate::analysis::verdict::Status;
use crate::assess::{CountyStatus, DeadlineState, StatusDoc, counts_for_county_quota};
use crate::config::Config;
use crate::domain::CountyCode;
use crate::domain::volume::wan;
use crate::output::charts::{
    self, BudgetBar, ChartKind, ChartMeta, CityOverview, CountyK, CumulativeWithdrawal,
    CurrentYear, DatedValue, DayValue, Deadline, ExitReadiness, Hydrographs, LevelKind,
    MonthlyWithdrawal, QuotaStep, Trend, TrendDirection, WellSeries, YearMonths, YearWithdrawal,
    Ymd,
};
use crate::store::{StoreError, open_ro, query};

/// Report failures.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Chart(#[from] charts::ChartError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
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

const SOURCE: &str = "取水在线计量、地下水监测井";

fn ymd(d: Date) -> Ymd {
    Ymd::new(i32::from(d.year()), d.month() as u8, d.day() as u8)
}

fn meta(place: &str, doc: &StatusDoc, as_of: Date) -> ChartMeta {
    ChartMeta {
        place: place.to_string(),
        as_of: ymd(as_of),
        source: SOURCE.to_string(),
        example: doc.example_data,
    }
}

/// The folder name of a county: `140121-清徐县`.
pub fn county_dir(c: &CountyStatus) -> String {
    format!("{}-{}", c.code, c.name)
}

/// Writes the bundle for `only` (or every county) as of `as_of` into `out`.
pub fn report(
    cfg: &Config,
    db: &Path,
    as_of: Date,
    only: Option<CountyCode>,
    out: &Path,
) -> Result<ReportOutput, ReportError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let conn = open_ro(db)?;
    let doc = crate::assess::status(cfg, &conn, as_of)?;
    let base = Date::new(cfg.assessment.base_year.min(as_of.year() - 2), 1, 1).unwrap_or(as_of);
    let monthly = query::monthly_volumes(&conn, base, as_of)?;
    drop(conn);

    let selected: Vec<&CountyStatus> = doc
        .counties
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.code))
        .collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(selected.len().max(1));
    let results: Vec<Result<Vec<PathBuf>, ReportError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<Vec<PathBuf>, ReportError> {
                    let conn = open_ro(db)?;
                    let mut files = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(c) = selected.get(k) else { break };
                        files.extend(county_bundle(
                            cfg, &conn, &doc, c, &monthly, base, as_of, out,
                        )?);
                    }
                    Ok(files)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())))
            .collect()
    });
    let mut files = Vec::new();
    for r in results {
        files.extend(r?);
    }
    files.extend(city_bundle(&doc, as_of, out)?);
    let status_path = out.join("status.json");
    let json = serde_json::to_string_pretty(&doc).unwrap_or_default();
    std::fs::write(&status_path, json).map_err(io(&status_path))?;
    files.push(status_path);
    let index = out.join("index.html");
    std::fs::write(&index, index_html(&doc, &selected)).map_err(io(&index))?;
    files.push(index.clone());
    files.sort();
    Ok(ReportOutput {
        index,
        status: doc,
        files,
    })
}

fn trend_of(t: &WellTrend, start: Date) -> Option<Trend> {
    let slope = t.sen_slope_m_per_year?;
    let intercept = t.sen_intercept_m?;
    Some(Trend {
        slope_m_per_year: slope,
        // pymannkendall's intercept is the value at month index 0 (the window's first month).
        anchor: DatedValue {
            date: Ymd::new(i32::from(start.year()), start.month() as u8, 15),
            value: intercept,
        },
        direction: match t.direction {
            Direction::Rising => TrendDirection::Rising,
            Direction::Declining => TrendDirection::Falling,
            _ => TrendDirection::Stable,
        },
    })
}

fn monthly_points(series: &[f64], start: Date) -> Vec<DatedValue> {
    let (y0, m0) = (i32::from(start.year()), i32::from(start.month()) - 1);
    series
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| {
            let k = m0 + i as i32;
            DatedValue {
                date: Ymd::new(y0 + k / 12, (k % 12 + 1) as u8, 15),
                value: *v,
            }
        })
        .collect()
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>, ReportError> {
    let f = std::fs::File::create(path).map_err(io(path))?;
    Ok(csv::Writer::from_writer(f))
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        String::new()
    }
}

#[allow(clippy::too_many_arguments)]
fn county_bundle(
    cfg: &Config,
    conn: &Connection,
    doc: &StatusDoc,
    c: &CountyStatus,
    monthly: &query::MonthlyPoints<crate::analysis::accounting::Vol>,
    base: Date,
    as_of: Date,
    out: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let dir = out.join(county_dir(c));
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let code = c.code;
    let year = doc.year;
    let ids: Vec<&str> = cfg
        .registry
        .intakes
        .iter()
        .filter(|i| i.county == code && counts_for_county_quota(i))
        .map(|i| i.id.as_str())
        .collect();

    // Monthly sums of the county's quota intakes, by (year, month).
    let mut by_month: BTreeMap<(i16, i8), f64> = BTreeMap::new();
    for id in &ids {
        for (y, m, v) in monthly.get(*id).map(Vec::as_slice).unwrap_or(&[]) {
            *by_month.entry((*y, *m)).or_default() += v.m3;
        }
    }
    let mut files = Vec::new();
    let m = |place: &str| meta(place, doc, as_of);

    // 1. Exit readiness.
    let mut years = Vec::new();
    for y in base.year()..year {
        let w = if y == year - 1 {
            c.last_year_m3
        } else {
            let s: f64 = by_month.range((y, 1)..=(y, 12)).map(|(_, v)| v).sum();
            if by_month.range((y, 1)..=(y, 12)).next().is_some() {
                s
            } else {
                f64::NAN
            }
        };
        years.push(YearWithdrawal {
            year: i32::from(y),
            withdrawal_m3: w,
            quota_m3: county_quota_for_year(&cfg.quota_versions, code, y).unwrap_or(f64::NAN),
        });
    }
    let county_cfg = cfg.county(code);
    let mut deadlines = Vec::new();
    if let Some(d) = county_cfg.and_then(|k| k.self_assessment) {
        deadlines.push(Deadline::self_assessment(ymd(d)));
    }
    if let Some(d) = county_cfg.and_then(|k| k.exit) {
        deadlines.push(Deadline::exit(ymd(d)));
    }
    let start = cfg.assessment.window_start;
    let failing: Vec<String> = c
        .criteria
        .iter()
        .filter(|k| k.status != Status::Pass)
        .map(|k| format!("{}（{}）：{}", k.label(), k.status.label(), k.detail))
        .collect();
    let readiness = ExitReadiness {
        meta: m(&c.name),
        years: years.clone(),
        current: Some(CurrentYear {
            year: i32::from(year),
            to_date_m3: c.ytd_m3,
            projected_m3: c.projected_m3,
            quota_m3: c.quota_m3.unwrap_or(f64::NAN),
        }),
        deadlines,
        level_kind: LevelKind::Level,
        levels: monthly_points(&c.monthly_level_m, start),
        trend: trend_of(&c.level_trend, start),
        verdict: c.verdict_label.to_string(),
        failing,
    };
    files.extend(charts::render_all(
        ChartKind::ExitReadiness(&readiness),
        &dir,
        "readiness",
    )?);
    let p = dir.join("readiness.csv");
    let mut w = csv_writer(&p)?;
    w.write_record(["year", "kind", "withdrawal_m3", "quota_m3"])?;
    for y in &years {
        w.write_record([
            y.year.to_string(),
            "actual".into(),
            num(y.withdrawal_m3),
            num(y.quota_m3),
        ])?;
    }
    let q = c.quota_m3.unwrap_or(f64::NAN);
    w.write_record([
        year.to_string(),
        "year_to_date".into(),
        num(c.ytd_m3),
        num(q),
    ])?;
    w.write_record([
        year.to_string(),
        "projected".into(),
        num(c.projected_m3),
        num(q),
    ])?;
    w.flush().map_err(io(&p))?;
    files.push(p);
    let p = dir.join("readiness_levels.csv");
    let mut w = csv_writer(&p)?;
    w.write_record([
        "month",
        "mean_level_m",
        "sen_slope_m_per_year",
        "sen_intercept_m",
    ])?;
    for pt in &readiness.levels {
        w.write_record([
            format!("{:04}-{:02}", pt.date.year, pt.date.month),
            num(pt.value),
            c.level_trend
                .sen_slope_m_per_year
                .map_or(String::new(), num),
            c.level_trend.sen_intercept_m.map_or(String::new(), num),
        ])?;
    }
    w.flush().map_err(io(&p))?;
    files.push(p);

    // 2. Cumulative this year against last year and the quota.
    let ly_start = Date::new(year - 1, 1, 1).unwrap_or(as_of);
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let mut st = conn.prepare_cached(
        "SELECT d.day, sum(d.volume_m3) FROM json_each(?1) AS i
         JOIN daily_volume AS d ON d.intake_id = i.value AND d.day >= ?2 AND d.day <= ?3
         GROUP BY d.day ORDER BY d.day",
    )?;
    let days: Vec<(String, f64)> = st
        .query_map(
            params![ids_json, ly_start.to_string(), as_of.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<Result<_, _>>()?;
    let (mut this_year, mut last_year) = (Vec::new(), Vec::new());
    let (mut cum_ty, mut cum_ly) = (0.0, 0.0);
    for (day, v) in &days {
        let Ok(d) = day.parse::<Date>() else { continue };
        let doy = d.day_of_year() as u16;
        if d.year() == year {
            cum_ty += v;
            this_year.push(DayValue {
                day: doy,
                value_m3: cum_ty,
            });
        } else {
            cum_ly += v;
            last_year.push(DayValue {
                day: doy,
                value_m3: cum_ly,
            });
        }
    }
    let steps: Vec<QuotaStep> = quota_steps(&cfg.quota_versions, code, year)
        .into_iter()
        .map(|(d, q)| QuotaStep {
            from_day: d.day_of_year() as u16,
            quota_m3: q,
        })
        .collect();
    let cumulative = CumulativeWithdrawal {
        meta: m(&c.name),
        year: i32::from(year),
        this_year: this_year.clone(),
        last_year: last_year.clone(),
        quota_steps: steps.clone(),
        projected_year_end_m3: Some(c.projected_m3),
    };
    files.extend(charts::render_all(
        ChartKind::Cumulative(&cumulative),
        &dir,
        "cumulative",
    )?);
    let p = dir.join("cumulative.csv");
    let mut w = csv_writer(&p)?;
    w.write_record(["series", "day_of_year", "cumulative_m3"])?;
    for (name, s) in [("this_year", &this_year), ("last_year", &last_year)] {
        for dv in s.iter() {
            w.write_record([name.to_string(), dv.day.to_string(), num(dv.value_m3)])?;
        }
    }
    for s in &steps {
        w.write_record(["quota".to_string(), s.from_day.to_string(), num(s.quota_m3)])?;
    }
    w.write_record([
        "projected_year_end".to_string(),
        "365".into(),
        num(c.projected_m3),
    ])?;
    w.flush().map_err(io(&p))?;
    files.push(p);

    // 3. Monthly withdrawal, the last three years.
    let mut yms = Vec::new();
    for y in (year - 2)..=year {
        let mut months = [f64::NAN; 12];
        for (k, slot) in months.iter_mut().enumerate() {
            if let Some(v) = by_month.get(&(y, k as i8 + 1)) {
                *slot = *v;
            }
        }
        yms.push(YearMonths {
            year: i32::from(y),
            months_m3: months,
        });
    }
    let monthly_chart = MonthlyWithdrawal {
        meta: m(&c.name),
        years: yms.clone(),
    };
    files.extend(charts::render_all(
        ChartKind::Monthly(&monthly_chart),
        &dir,
        "monthly",
    )?);
    let p = dir.join("monthly.csv");
    let mut w = csv_writer(&p)?;
    w.write_record(["year", "month", "withdrawal_m3"])?;
    for ym in &yms {
        for (k, v) in ym.months_m3.iter().enumerate() {
            w.write_record([ym.year.to_string(), (k + 1).to_string(), num(*v)])?;
        }
    }
    w.flush().map_err(io(&p))?;
    files.push(p);

    // 4. Hydrographs.
    let hydro = Hydrographs {
        meta: m(&c.name),
        kind: LevelKind::Level,
        wells: c
            .wells
            .iter()
            .map(|wl| WellSeries {
                id: wl.id.clone(),
                points: monthly_points(&wl.monthly_level_m, start),
                trend: trend_of(&wl.trend, start),
            })
            .collect(),
    };
    files.extend(charts::render_all(
        ChartKind::Hydrographs(&hydro),
        &dir,
        "hydrographs",
    )?);
    let p = dir.join("hydrographs.csv");
    let mut w = csv_writer(&p)?;
    w.write_record(["well_id", "month", "mean_level_m"])?;
    for s in &hydro.wells {
        for pt in &s.points {
            w.write_record([
                s.id.clone(),
                format!("{:04}-{:02}", pt.date.year, pt.date.month),
                num(pt.value),
            ])?;
        }
    }
    w.flush().map_err(io(&p))?;
    files.push(p);

    let p = dir.join("summary.md");
    std::fs::write(&p, summary_md(cfg, doc, c)).map_err(io(&p))?;
    files.push(p);
    Ok(files)
}

fn city_bundle(doc: &StatusDoc, as_of: Date, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let dir = out.join("city");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let bar = |key: &str| {
        doc.city
            .budgets
            .iter()
            .find(|b| b.budget == key)
            .map(|b| BudgetBar {
                name: b.label.clone(),
                withdrawal_m3: b.projected_m3,
                limit_m3: b.quota_m3,
            })
    };
    let overview = CityOverview {
        meta: meta("太原市", doc, as_of),
        basis: format!("{} 年取水量（年末预测）", doc.year),
        budgets: ["supply_group", "counties"]
            .iter()
            .filter_map(|k| bar(k))
            .collect(),
        total: bar("city_total").unwrap_or(BudgetBar {
            name: "全市合计".into(),
            withdrawal_m3: f64::NAN,
            limit_m3: doc.city.cap_m3,
        }),
        counties: doc
            .counties
            .iter()
            .map(|c| CountyK {
                name: c.name.clone(),
                withdrawal_m3: c.projected_m3,
                quota_m3: c.quota_m3.unwrap_or(f64::NAN),
            })
            .collect(),
    };
    let mut files = charts::render_all(ChartKind::CityOverview(&overview), &dir, "city")?;
    let p = dir.join("city.csv");
    let mut w = csv_writer(&p)?;
    w.write_record(["item", "name", "projected_m3", "limit_m3", "k"])?;
    for b in overview
        .budgets
        .iter()
        .chain(std::iter::once(&overview.total))
    {
        w.write_record([
            "budget".to_string(),
            b.name.clone(),
            num(b.withdrawal_m3),
            num(b.limit_m3),
            num(b.withdrawal_m3 / b.limit_m3),
        ])?;
    }
    for c in &overview.counties {
        w.write_record([
            "county".to_string(),
            c.name.clone(),
            num(c.withdrawal_m3),
            num(c.quota_m3),
            num(c.withdrawal_m3 / c.quota_m3),
        ])?;
    }
    w.flush().map_err(io(&p))?;
    files.push(p);
    Ok(files)
}

fn days_text(days: Option<i64>, state: Option<DeadlineState>, met: Option<&String>) -> String {
    match (days, state) {
        (_, Some(DeadlineState::Met)) => format!("已完成（{}）", met.map_or("", |s| s.as_str())),
        (Some(d), Some(DeadlineState::Passed)) => format!("已过期 {} 天", -d),
        (Some(d), _) => format!("剩余 {d} 天"),
        _ => "规划未列入本批次".into(),
    }
}

/// A Markdown table of group figures (by aquifer, by source), nothing when empty.
fn group_table(s: &mut String, title: &str, head: &str, groups: &[crate::assess::GroupFigures]) {
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n{title}：\n\n| {head} | 本年累计 | 上年 | 年末预测 |\n|---|---|---|---|"
    );
    for g in groups {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            g.label,
            wan(g.ytd_m3),
            wan(g.last_year_m3),
            wan(g.projected_m3)
        );
    }
}

fn summary_md(cfg: &Config, doc: &StatusDoc, c: &CountyStatus) -> String {
    let a = &cfg.assessment;
    let mut s = String::new();
    let _ = writeln!(s, "# {}（{}）地下水超采区退出自评估摘要\n", c.name, c.code);
    if doc.example_data {
        let _ = writeln!(
            s,
            "> **示例数据**：本摘要所用的分县管控指标和/或取水口名录为示例值，不是规划或官方数据，不得用于正式报告。\n"
        );
    }
    let _ = writeln!(
        s,
        "数据截至 {}（{} 年）· 由 gwmon 生成\n",
        doc.as_of, doc.year
    );
    let _ = writeln!(s, "## 结论：{}\n", c.verdict_label);
    let _ = writeln!(s, "| 判据 | 状态 | 数据与阈值 |\n|---|---|---|");
    for k in &c.criteria {
        let _ = writeln!(s, "| {} | {} | {} |", k.label(), k.status.label(), k.detail);
    }
    let d = &c.deadlines;
    let _ = writeln!(s, "\n## 期限\n\n| 事项 | 期限 | 进度 |\n|---|---|---|");
    let _ = writeln!(
        s,
        "| 提交自评估报告 | {} | {} |",
        d.self_assessment.as_deref().unwrap_or("—"),
        days_text(
            d.days_to_self_assessment,
            d.self_assessment_state,
            d.self_assessment_met.as_ref()
        )
    );
    let _ = writeln!(
        s,
        "| 完成退出 | {} | {} |",
        d.exit.as_deref().unwrap_or("—"),
        days_text(d.days_to_exit, d.exit_state, d.exit_met.as_ref())
    );
    let _ = writeln!(s, "\n## 取水量（县级管控指标口径：县属地下水取水口）\n");
    let _ = writeln!(s, "| 项目 | 万 m³ |\n|---|---|");
    let _ = writeln!(
        s,
        "| 本年累计（截至 {}） | {}（其中估算 {}） |",
        doc.as_of,
        wan(c.ytd_m3),
        wan(c.ytd_estimated_m3)
    );
    let _ = writeln!(
        s,
        "| 上年（{} 年） | {}（其中估算 {}） |",
        doc.year - 1,
        wan(c.last_year_m3),
        wan(c.last_year_estimated_m3)
    );
    let _ = writeln!(s, "| 近 12 个月 | {} |", wan(c.rolling_12m_m3));
    let _ = writeln!(
        s,
        "| 年末预测 | {}（{}；区间 {}–{}） |",
        wan(c.projected_m3),
        c.projection.method.label(),
        wan(c.projection.low_m3),
        wan(c.projection.high_m3)
    );
    let _ = writeln!(
        s,
        "| 管控指标（本年，按生效天数折算）{} | {} |",
        if c.quota_example {
            "【示例值】"
        } else {
            ""
        },
        c.quota_m3.map_or("—".into(), wan)
    );
    let _ = writeln!(
        s,
        "| k = 取水量 ÷ 管控指标（本年年末预测） | {} |",
        doc.fmt_k(c.k)
    );
    let _ = writeln!(
        s,
        "| 上年 k（{} 年） | {} |",
        doc.year - 1,
        doc.fmt_k(c.k_last_year)
    );
    group_table(
        &mut s,
        "按含水层（全部地下水取水口，含太原供水集团水源井）",
        "含水层",
        &c.by_aquifer,
    );
    group_table(&mut s, "按水源（全部取水口）", "水源", &c.by_source);
    let _ = writeln!(s, "\n## 地下水位（水位高程，上升为正）\n");
    let f = |v: Option<f64>, p: usize| v.map_or("—".to_string(), |x| format!("{x:.p$}"));
    let _ = writeln!(
        s,
        "县域平均水位：Sen 斜率 {} m/a，年均变幅 {} m/a，趋势 {}。\n",
        f(c.level_trend.sen_slope_m_per_year, 3),
        f(c.level_trend.mean_annual_change_m, 3),
        c.level_trend.direction.label()
    );
    let _ = writeln!(
        s,
        "| 监测井 | 含水层 | 有效月数 | 完整率 | S | Z | p | Sen 斜率 (m/a) | 年均变幅 (m/a) | 趋势 | 数据充分 |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for w in &c.wells {
        let t = &w.trend;
        let _ = writeln!(
            s,
            "| {} {} | {} | {}/{} | {:.0}% | {} | {} | {} | {} | {} | {} | {} |",
            w.id,
            w.name,
            w.aquifer_label,
            t.n_months,
            t.window_months,
            t.completeness * 100.0,
            f(t.mk_s, 0),
            f(t.mk_z, 3),
            f(t.mk_p, 4),
            f(t.sen_slope_m_per_year, 3),
            f(t.mean_annual_change_m, 3),
            t.direction.label(),
            if t.sufficient { "是" } else { "否" }
        );
    }
    if c.wells.is_empty() {
        let _ = writeln!(s, "| （无监测井） | | | | | | | | | | |");
    }
    let judged = c.wells.iter().filter(|w| w.trend.sufficient).count();
    let _ = writeln!(
        s,
        "\n## 数据充分性\n\n{} 眼监测井中 {} 眼满足要求（≥ {} 年且月完整率 ≥ {:.0}%；县内至少 {:.0}% 的井满足）。评价窗口 {} 至 {}。",
        c.wells.len(),
        judged,
        a.min_level_years,
        a.min_monthly_completeness * 100.0,
        a.min_wells_sufficient_share * 100.0,
        doc.trend_window_start,
        doc.as_of
    );
    let _ = writeln!(s, "\n## 取水许可\n");
    if c.permits.over.is_empty() && c.permits.projected_over.is_empty() {
        let _ = writeln!(s, "无超许可或预计超许可的取水口。");
    } else {
        let _ = writeln!(
            s,
            "| 取水口 | 名称 | 许可水量 (万 m³) | 本年累计 | 年末预测 | 状态 |\n|---|---|---|---|---|---|"
        );
        for (e, st) in c
            .permits
            .over
            .iter()
            .map(|e| (e, "已超许可"))
            .chain(c.permits.projected_over.iter().map(|e| (e, "预计超许可")))
        {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                e.id,
                e.name,
                wan(e.permit_m3),
                wan(e.ytd_m3),
                wan(e.projected_m3),
                st
            );
        }
    }
    let mt = &c.metering;
    let _ = writeln!(
        s,
        "\n## 在线计量\n\n应在线计量取水口 {} 处（非农业地下水许可 ≥ {:.0} 万 m³/年、地表水 ≥ {:.0} 万 m³/年及重点监控单位），{} 日内有数据的 {} 处，覆盖率 {}。",
        mt.obligated,
        cfg.metering.groundwater_permit_min_m3 / 1e4,
        cfg.metering.surface_permit_min_m3 / 1e4,
        cfg.metering.silent_after_days,
        mt.reporting,
        mt.coverage
            .map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
    );
    if !mt.silent.is_empty() {
        let _ = writeln!(
            s,
            "\n未按时上报：\n\n| 取水口 | 名称 | 最后数据 |\n|---|---|---|"
        );
        for x in &mt.silent {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                x.id,
                x.name,
                x.last_reading.as_deref().unwrap_or("无")
            );
        }
    }
    let _ = writeln!(
        s,
        "\n## 方法\n\n- 取水量：由在线计量累计读数逐时段差分，按当地时间（{}）跨日按时间比例分摊；表计归零、换表记为事件，从不出现负水量；断数时段的水量按时间摊分并标为估算。\n- 超采系数 k = 取水量 ÷ 管控指标；年内指标调整时按生效天数折算。\n- 年末预测：{}；另列趋势法（近 90 天日均外推）供对照。\n- 水位趋势：各井月均水位（日均值的月平均），季节性 Mann–Kendall 检验（Hirsch 1982，周期 12，含结值方差修正与连续性校正，α = {}）与季节性 Sen 斜率，与 pymannkendall 1.4.3 的 seasonal_test / seasonal_sens_slope 结果一致；年均变幅为评价窗口内首末年平均水位之差除以年数。\n- 阈值：k ≤ {:.2} 达标、> {:.2} 有风险；显著下降井比例 ≤ {:.0}%；计量覆盖率 ≥ {:.0}%。\n",
        cfg.clock.name(),
        c.projection.method.label(),
        a.alpha,
        a.k_limit,
        a.k_at_risk,
        a.max_declining_share * 100.0,
        a.min_metering_coverage * 100.0
    );
    let _ = writeln!(
        s,
        "## 图表\n\n![退出准备度](readiness.png)\n\n![本年累计取水量](cumulative.png)\n\n![逐月取水量](monthly.png)\n\n![监测井水位过程线](hydrographs.png)\n\n每张图均有同名 SVG 与 CSV（图中数值）。"
    );
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The verdict's JSON name, used as its CSS class.
fn verdict_class(c: &CountyStatus) -> String {
    serde_json::to_value(c.verdict)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn index_html(doc: &StatusDoc, selected: &[&CountyStatus]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>太原市地下水超采区退出评估 {as_of}</title>\n<style>\nbody{{font-family:\"Noto Sans CJK SC\",\"Microsoft YaHei\",\"PingFang SC\",sans-serif;margin:2em auto;max-width:1200px;color:#222}}\ntable{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 10px;text-align:right}}td:nth-child(2),th{{text-align:left}}\n.ready{{color:#1a7f37}}.at_risk{{color:#b35900}}.not_ready{{color:#c62828}}.insufficient_data{{color:#666}}\n.example{{border:2px solid #c62828;color:#c62828;padding:.5em 1em;display:inline-block}}\nimg{{width:100%;border:1px solid #ddd;margin:.5em 0}}section{{margin-top:3em}}\n</style>\n</head>\n<body>\n<h1>太原市地下水超采区退出评估</h1>\n<p>数据截至 {as_of}（{year} 年）· gwmon</p>\n",
        as_of = esc(&doc.as_of),
        year = doc.year
    );
    if doc.example_data {
        h.push_str("<p class=\"example\">示例数据：分县管控指标和/或取水口名录为示例值，非规划或官方数据。</p>\n");
    }
    h.push_str("<table>\n<tr><th>代码</th><th>区县</th><th>结论</th><th>指标(万m³)</th><th>本年累计</th><th>年末预测</th><th>k</th><th>自评估期限</th><th>退出期限</th></tr>\n");
    for c in selected {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><a href=\"#c{}\">{}</a></td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.code.to_string()),
            esc(&c.code.to_string()),
            esc(&c.name),
            verdict_class(c),
            esc(c.verdict_label),
            c.quota_m3.map_or("—".into(), wan),
            wan(c.ytd_m3),
            wan(c.projected_m3),
            doc.fmt_k(c.k),
            esc(&days_text(
                c.deadlines.days_to_self_assessment,
                c.deadlines.self_assessment_state,
                c.deadlines.self_assessment_met.as_ref()
            )),
            esc(&days_text(
                c.deadlines.days_to_exit,
                c.deadlines.exit_state,
                c.deadlines.exit_met.as_ref()
            )),
        );
    }
    h.push_str("</table>\n<section><h2>全市</h2>\n<img src=\"city/city.png\" alt=\"全市取水量与预算\">\n<p><a href=\"city/city.svg\">SVG</a> · <a href=\"city/city.csv\">CSV</a> · <a href=\"status.json\">status.json</a></p></section>\n");
    for c in selected {
        let dir = esc(&county_dir(c));
        let _ = write!(
            h,
            "<section id=\"c{code}\"><h2>{name}（{code}）：<span class=\"{cls}\">{verdict}</span></h2>\n<ul>\n",
            code = esc(&c.code.to_string()),
            name = esc(&c.name),
            cls = verdict_class(c),
            verdict = esc(c.verdict_label)
        );
        for k in &c.criteria {
            let _ = writeln!(
                h,
                "<li>{}：{} — {}</li>",
                esc(k.label()),
                esc(k.status.label()),
                esc(&k.detail)
            );
        }
        h.push_str("</ul>\n");
        for (stem, alt) in [
            ("readiness", "退出准备度"),
            ("cumulative", "本年累计取水量"),
            ("monthly", "逐月取水量"),
            ("hydrographs", "监测井水位过程线"),
        ] {
            let _ = writeln!(
                h,
                "<img src=\"{dir}/{stem}.png\" alt=\"{alt}\">\n<p><a href=\"{dir}/{stem}.svg\">SVG</a> · <a href=\"{dir}/{stem}.csv\">CSV</a></p>"
            );
        }
        let _ = writeln!(
            h,
            "<p><a href=\"{dir}/summary.md\">summary.md</a></p></section>"
        );
    }
    h.push_str("</body>\n</html>\n");
    h
}
