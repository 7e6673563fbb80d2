//! Sample inputs for every chart in every data situation the reports meet: full data, no level
//! monitoring, one month, a quota change mid-year, zeros and NaN, nothing at all.
//!
//! Shared by the chart tests and by `examples/chart_samples.rs` (which includes this file with
//! `#[path]`), so it names the chart types through its parent module: `charts` here, the example's
//! `use gwmon::output::charts::*` there. The data are made up but shaped like a Taiyuan county's
//! (清徐县): plausible volumes, seasonal levels, deterministic wiggles instead of randomness.

use super::{
    AquiferLevels, BudgetBar, ChartKind, ChartMeta, CityOverview, CountyK, CriterionRow,
    CumulativeWithdrawal, CurrentYear, DatedValue, DayValue, Deadline, ExitReadiness, Hydrographs,
    LevelKind, MonthlyWithdrawal, QuotaStep, SourceSeries, Subject, Trend, TrendDirection,
    VerdictKind, WayOut, WayStep, WellSeries, WithdrawalBySource, YearMonths, YearQuota,
    YearWithdrawal, Ymd,
};

const AS_OF: Ymd = Ymd::new(2026, 11, 28);

pub(crate) const COUNTIES: [&str; 10] = [
    "小店区",
    "迎泽区",
    "杏花岭区",
    "尖草坪区",
    "万柏林区",
    "晋源区",
    "清徐县",
    "阳曲县",
    "娄烦县",
    "古交市",
];

/// The data situations every chart must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Full,
    NoLevels,
    OneMonth,
    QuotaChange,
    ZerosAndNan,
    Empty,
}

pub(crate) const CASES: [Case; 6] = [
    Case::Full,
    Case::NoLevels,
    Case::OneMonth,
    Case::QuotaChange,
    Case::ZerosAndNan,
    Case::Empty,
];

fn meta(place: &str, example: bool) -> ChartMeta {
    ChartMeta {
        place: place.to_owned(),
        as_of: AS_OF,
        source: "取水在线计量、地下水监测井".to_owned(),
        example,
        untitled: false,
    }
}

/// A smooth, deterministic wiggle in [-1, 1] (no RNG, no clock).
fn wiggle(i: usize, seed: usize) -> f64 {
    ((i * 7 + seed * 13) as f64 * 0.61).sin() * 0.6 + ((i + seed) as f64 * 1.7).cos() * 0.4
}

/// Monthly means dated the 15th, from `from` (inclusive) for `n` months.
pub(crate) fn monthly_levels(
    from: (i32, u8),
    n: usize,
    start: f64,
    slope: f64,
    seed: usize,
) -> Vec<DatedValue> {
    (0..n)
        .map(|i| {
            let m0 = usize::from(from.1 - 1) + i;
            let date = Ymd::new(from.0 + (m0 / 12) as i32, (m0 % 12) as u8 + 1, 15);
            let t = i as f64 / 12.0;
            let seasonal = -0.55 * ((m0 % 12) as f64 / 12.0 * std::f64::consts::TAU).cos();
            DatedValue {
                date,
                value: start + slope * t + seasonal + 0.15 * wiggle(i, seed),
            }
        })
        .collect()
}

pub(crate) fn trend(slope: f64, anchor: DatedValue, direction: TrendDirection) -> Trend {
    Trend {
        slope_m_per_year: slope,
        anchor,
        direction,
    }
}

fn readiness(case: Case, example: bool) -> ExitReadiness {
    let mut years: Vec<YearWithdrawal> = [
        (2019, 1648.2, 1400.0),
        (2020, 1561.0, 1400.0),
        (2021, 1497.5, 1400.0),
        (2022, 1392.8, 1300.0),
        (2023, 1344.1, 1300.0),
        (2024, 1287.6, 1300.0),
        (2025, 1263.9, 1250.0),
    ]
    .iter()
    .map(|&(year, w, q)| YearWithdrawal {
        year,
        withdrawal_m3: w * 1e4,
        quota_m3: q * 1e4,
    })
    .collect();
    let mut current = Some(CurrentYear {
        year: 2026,
        to_date_m3: 1085.4e4,
        projected_m3: 1192.0e4,
        quota_m3: 1200.0e4,
    });
    let mut levels = monthly_levels((2019, 1), 95, 761.8, -0.31, 1);
    let mut tr = Some(trend(
        -0.29,
        DatedValue {
            date: Ymd::new(2022, 12, 15),
            value: 760.6,
        },
        TrendDirection::Falling,
    ));
    let row = |item: &str, status: &str, detail: &str| CriterionRow {
        item: item.to_owned(),
        status: status.to_owned(),
        kind: match status {
            "有风险" => VerdictKind::AtRisk,
            "数据不足" => VerdictKind::InsufficientData,
            "达标" => VerdictKind::Ready,
            _ => VerdictKind::NotReady,
        },
        detail: detail.to_owned(),
    };
    let mut failing = vec![
        row(
            "地下水水位",
            "不达标",
            "水位仍呈下降趋势（Sen 斜率 −0.29 m/a，Mann–Kendall 检验 p = 0.003）；浅层孔隙水 \
             12 眼井中 9 眼下降",
        ),
        row(
            "地下水取水总量",
            "有风险",
            "2025 年取水量 1263.9 万 m³ 超管控指标 1250 万 m³（k = 1.01）",
        ),
        row(
            "计量监控",
            "不达标",
            "覆盖率 92.0%，低于 95% 的要求；3 个取水口 30 天以上未上报：QX-W07、QX-W12、\
             QX-W19",
        ),
    ];
    let mut quotas_ahead = vec![YearQuota {
        year: 2027,
        quota_m3: 1150.0e4,
    }];
    match case {
        Case::Full => {}
        Case::NoLevels => {
            levels.clear();
            tr = None;
            failing.push(row("数据充分性", "数据不足", "无水位监测数据"));
        }
        Case::OneMonth => {
            years.clear();
            current = Some(CurrentYear {
                year: 2026,
                to_date_m3: 96.3e4,
                projected_m3: f64::NAN,
                quota_m3: 1200.0e4,
            });
            levels = monthly_levels((2026, 1), 1, 761.0, 0.0, 2);
            tr = None;
        }
        Case::QuotaChange => {
            if let Some(y) = years.last_mut() {
                y.quota_m3 = 1100.0e4;
            }
            quotas_ahead = vec![
                YearQuota {
                    year: 2027,
                    quota_m3: 1100.0e4,
                },
                YearQuota {
                    year: 2028,
                    quota_m3: 1050.0e4,
                },
            ];
        }
        Case::ZerosAndNan => {
            for (i, y) in years.iter_mut().enumerate() {
                y.withdrawal_m3 = if i % 2 == 0 { 0.0 } else { f64::NAN };
                if i == 3 {
                    y.quota_m3 = f64::NAN;
                }
            }
            current = Some(CurrentYear {
                year: 2026,
                to_date_m3: 0.0,
                projected_m3: f64::NAN,
                quota_m3: f64::INFINITY,
            });
            for (i, l) in levels.iter_mut().enumerate() {
                if i % 3 == 0 {
                    l.value = f64::NAN;
                }
            }
            tr = Some(trend(
                f64::NAN,
                DatedValue {
                    date: AS_OF,
                    value: f64::NAN,
                },
                TrendDirection::Stable,
            ));
        }
        Case::Empty => {
            years.clear();
            current = None;
            levels.clear();
            tr = None;
            failing.clear();
            quotas_ahead.clear();
        }
    }
    ExitReadiness {
        meta: meta("清徐县", example),
        years,
        current,
        quotas_ahead,
        deadlines: vec![
            Deadline::self_assessment(Ymd::new(2026, 6, 30)),
            Deadline::exit(Ymd::new(2027, 6, 30)),
        ],
        level_kind: LevelKind::Level,
        levels: if levels.is_empty() && tr.is_none() {
            Vec::new()
        } else {
            vec![AquiferLevels {
                label: "浅层孔隙水".to_owned(),
                levels,
                trend: tr,
                status: "不达标".to_owned(),
            }]
        },
        verdict: if case == Case::Empty {
            String::new()
        } else {
            "尚不具备退出条件".to_owned()
        },
        verdict_kind: if case == Case::Empty {
            VerdictKind::InsufficientData
        } else {
            VerdictKind::NotReady
        },
        failing,
    }
}

/// Cumulative m³ at the end of each day from a monthly profile (万 m³ per month).
fn cumulative_days(year: i32, profile: &[f64; 12], until_day: u16, scale: f64) -> Vec<DayValue> {
    let mut out = Vec::new();
    let mut total = 0.0;
    let mut day = 0u16;
    for (m, wan) in profile.iter().enumerate() {
        let n = Ymd::days_in_month(year, m as u8 + 1);
        for d in 0..n {
            day += 1;
            if day > until_day {
                return out;
            }
            total += wan * 1e4 * scale / f64::from(n)
                * (1.0 + 0.25 * wiggle(usize::from(day), usize::from(d)));
            out.push(DayValue {
                day,
                value_m3: total,
            });
        }
    }
    out
}

const PROFILE: [f64; 12] = [
    78.0, 74.0, 92.0, 118.0, 131.0, 126.0, 121.0, 117.0, 104.0, 95.0, 84.0, 80.0,
];

fn cumulative(case: Case, example: bool) -> CumulativeWithdrawal {
    let as_of_day = AS_OF.day_of_year();
    let mut m = CumulativeWithdrawal {
        meta: meta("清徐县", example),
        year: 2026,
        this_year: cumulative_days(2026, &PROFILE, as_of_day, 0.93),
        last_year: cumulative_days(2025, &PROFILE, 365, 1.0),
        quota_steps: vec![QuotaStep {
            from_day: 1,
            quota_m3: 1200.0e4,
        }],
        projected_year_end_m3: Some(1192.0e4),
        k_text: None,
    };
    match case {
        Case::Full | Case::NoLevels => {}
        Case::OneMonth => {
            m.this_year = cumulative_days(2026, &PROFILE, 31, 0.93);
            m.last_year.clear();
            m.projected_year_end_m3 = None;
        }
        Case::QuotaChange => {
            m.quota_steps.push(QuotaStep {
                from_day: Ymd::new(2026, 7, 1).day_of_year(),
                quota_m3: 1120.0e4,
            });
        }
        Case::ZerosAndNan => {
            for (i, p) in m.this_year.iter_mut().enumerate() {
                p.value_m3 = if i % 5 == 0 { f64::NAN } else { 0.0 };
            }
            for p in m.last_year.iter_mut().step_by(3) {
                p.value_m3 = f64::NAN;
            }
            m.quota_steps.push(QuotaStep {
                from_day: 400,
                quota_m3: f64::NAN,
            });
            m.projected_year_end_m3 = Some(f64::NAN);
        }
        Case::Empty => {
            m.this_year.clear();
            m.last_year.clear();
            m.quota_steps.clear();
            m.projected_year_end_m3 = None;
        }
    }
    m
}

fn monthly(case: Case, example: bool) -> MonthlyWithdrawal {
    let year = |y: i32, scale: f64, months: usize| YearMonths {
        year: y,
        months_m3: std::array::from_fn(|i| {
            if i < months {
                PROFILE[i] * 1e4 * scale * (1.0 + 0.08 * wiggle(i, y as usize))
            } else {
                f64::NAN
            }
        }),
    };
    let mut m = MonthlyWithdrawal {
        meta: meta("清徐县", example),
        years: vec![
            year(2026, 0.93, 11),
            year(2024, 1.02, 12),
            year(2025, 1.0, 12),
            year(2023, 1.1, 12),
        ],
    };
    match case {
        Case::Full | Case::NoLevels | Case::QuotaChange => {}
        Case::OneMonth => m.years = vec![year(2026, 0.93, 1)],
        Case::ZerosAndNan => {
            for y in &mut m.years {
                for (i, v) in y.months_m3.iter_mut().enumerate() {
                    *v = if i % 4 == 0 { f64::NAN } else { 0.0 };
                }
            }
        }
        Case::Empty => m.years.clear(),
    }
    m
}

fn hydrographs(case: Case, kind: LevelKind, n_wells: usize, example: bool) -> Hydrographs {
    let wells: Vec<WellSeries> = (0..n_wells)
        .map(|i| {
            let (start, slope) = match kind {
                LevelKind::Level => (758.0 + i as f64 * 1.3, -0.45 + 0.12 * i as f64),
                LevelKind::Depth => (42.0 + i as f64 * 2.1, 0.45 - 0.12 * i as f64),
            };
            let points = monthly_levels((2019, 1), 95, start, slope, i + 3);
            let direction = match (kind, slope) {
                (_, s) if s.abs() < 0.1 => TrendDirection::Stable,
                (LevelKind::Level, s) if s > 0.0 => TrendDirection::Rising,
                (LevelKind::Depth, s) if s < 0.0 => TrendDirection::Rising,
                _ => TrendDirection::Falling,
            };
            // Sen's intercept convention: the line passes through (median date, median value).
            let mut values: Vec<f64> = points.iter().map(|p| p.value).collect();
            values.sort_by(f64::total_cmp);
            let anchor = DatedValue {
                date: points[points.len() / 2].date,
                value: values[values.len() / 2],
            };
            WellSeries {
                id: format!("QX-{:02}", i + 1),
                name: format!("清源{}号观测井", i + 1),
                group: if i % 3 == 2 {
                    "中深层孔隙水"
                } else {
                    "浅层孔隙水"
                }
                .to_owned(),
                points,
                trend: Some(trend(slope, anchor, direction)),
                target_m: (i == 0).then_some(match kind {
                    LevelKind::Level => 757.5,
                    LevelKind::Depth => 45.0,
                }),
                // The sample's target is a 埋深 target: on the level chart it names both.
                target_note: (i == 0 && kind == LevelKind::Level)
                    .then(|| "埋深目标 45.00 m（水位 757.50 m）".to_owned()),
                // The second well has a screened month and a new measuring point.
                outliers: if i == 1 {
                    vec![DatedValue {
                        date: Ymd::new(2023, 4, 15),
                        value: anchor.value + 2.4,
                    }]
                } else {
                    Vec::new()
                },
                steps: if i == 1 {
                    vec![Ymd::new(2024, 1, 15)]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let mut m = Hydrographs {
        meta: meta("清徐县", example),
        kind,
        wells,
        page: 0,
        subject: Subject::Wells,
    };
    match case {
        Case::Full | Case::QuotaChange => {}
        Case::NoLevels | Case::Empty => m.wells.clear(),
        Case::OneMonth => {
            for w in &mut m.wells {
                w.points.truncate(1);
            }
        }
        Case::ZerosAndNan => {
            for (i, w) in m.wells.iter_mut().enumerate() {
                for (j, p) in w.points.iter_mut().enumerate() {
                    if (i + j) % 4 == 0 {
                        p.value = f64::NAN;
                    }
                    if i == 0 {
                        p.value = f64::NAN;
                    }
                }
                // A gap of half a year in the second well.
                if i == 1 {
                    w.points.drain(30..36);
                }
            }
        }
    }
    m
}

fn city(case: Case, example: bool) -> CityOverview {
    let quotas = [
        1460.0, 820.0, 905.0, 1015.0, 1240.0, 690.0, 1200.0, 410.0, 150.0, 500.0,
    ];
    let ks = [1.06, 0.92, 0.98, 1.12, 0.87, 1.01, 0.99, 0.74, 0.81, 0.95];
    let counties: Vec<CountyK> = COUNTIES
        .iter()
        .zip(quotas.iter().zip(ks))
        .map(|(name, (q, k))| CountyK {
            name: (*name).to_owned(),
            withdrawal_m3: q * k * 1e4,
            quota_m3: q * 1e4,
            k_text: None,
        })
        .collect();
    let county_total: f64 = counties.iter().map(|c| c.withdrawal_m3).sum();
    let group = 7215.6e4;
    let mut m = CityOverview {
        meta: meta("太原市", example),
        basis: "2026 年取水量（年末预测）".to_owned(),
        budgets: vec![
            BudgetBar {
                name: "太原供水集团".to_owned(),
                withdrawal_m3: group,
                limit_m3: 7602.0e4,
            },
            BudgetBar {
                name: "县（市、区）合计".to_owned(),
                withdrawal_m3: county_total,
                limit_m3: 7390.0e4,
            },
        ],
        total: BudgetBar {
            name: "全市合计".to_owned(),
            withdrawal_m3: group + county_total,
            limit_m3: 1.5e8,
        },
        counties,
        k_at_risk: 0.95,
        k_limit: 1.0,
    };
    match case {
        Case::Full | Case::NoLevels => {}
        Case::OneMonth => {
            m.counties.truncate(1);
        }
        Case::QuotaChange => m.budgets[1].limit_m3 = 7400.0e4,
        Case::ZerosAndNan => {
            m.budgets[0].withdrawal_m3 = f64::NAN;
            m.budgets[1].withdrawal_m3 = 0.0;
            m.total.withdrawal_m3 = 0.0;
            m.counties[2].quota_m3 = 0.0;
            m.counties[3].withdrawal_m3 = f64::NAN;
            m.counties[4].quota_m3 = f64::NAN;
            m.counties[5].withdrawal_m3 = 0.0;
        }
        Case::Empty => {
            m.budgets.clear();
            m.total.withdrawal_m3 = f64::NAN;
            m.total.limit_m3 = f64::NAN;
            m.counties.clear();
        }
    }
    m
}

/// `n` wells in three aquifer types, shown at page `page`: what a county with a dense monitoring
/// network gets.
pub(crate) fn many_wells(case: Case, n: usize, example: bool, page: usize) -> Hydrographs {
    let mut h = hydrographs(case, LevelKind::Level, n, example);
    for (i, w) in h.wells.iter_mut().enumerate() {
        w.group = ["浅层孔隙水", "中深层孔隙水", "岩溶水"][i % 3].to_owned();
    }
    h.page = page;
    h
}

fn by_source(case: Case, example: bool) -> WithdrawalBySource {
    let years: Vec<i32> = (2020..=2026).collect();
    let series = |label: &str, groundwater: bool, start: f64, step: f64| SourceSeries {
        label: label.to_owned(),
        groundwater,
        m3: (0..years.len())
            .map(|i| (start + step * i as f64) * 1e4)
            .collect(),
    };
    let mut m = WithdrawalBySource {
        meta: meta("清徐县", example),
        years: years.clone(),
        sources: vec![
            series("地下水", true, 1561.0, -52.0),
            series("地表水", false, 820.0, 35.0),
            series("再生水", false, 120.0, 18.0),
            series("矿井水", false, 40.0, 2.0),
        ],
        projected_year: Some(2026),
        base_year: 2020,
        reduction_parts: None,
    };
    match case {
        Case::Full | Case::QuotaChange => {}
        Case::NoLevels => m.sources.truncate(2),
        Case::OneMonth => {
            for s in &mut m.sources {
                for v in s.m3.iter_mut().take(6) {
                    *v = f64::NAN;
                }
            }
        }
        Case::ZerosAndNan => {
            for s in &mut m.sources {
                for (i, v) in s.m3.iter_mut().enumerate() {
                    *v = if i % 2 == 0 { 0.0 } else { f64::NAN };
                }
            }
        }
        Case::Empty => {
            m.sources.clear();
            m.years.clear();
        }
    }
    m
}

fn way_out(case: Case, example: bool) -> WayOut {
    let step = |label: &str, wan: f64, measured: bool| WayStep {
        label: label.to_owned(),
        m3: wan * 1e4,
        measured,
    };
    let mut m = WayOut {
        meta: meta("清徐县", example),
        this_year: 2026,
        exit_year: 2027,
        projected_m3: 1615.0e4,
        steps: vec![
            step(
                "关停：QX-0003 清徐县马峪乡某某建材有限公司2号井",
                18.25,
                true,
            ),
            step("水源置换：清徐县地下水置换晋祠泉保护治理工程", 240.0, false),
            step("关停：清徐县城区自备井关停（第一批）", 40.0, false),
        ],
        candidates: Some((12, 96.4e4)),
        quota_m3: 1420.0e4,
        allowed_m3: 1349.0e4,
        pass_k: 0.95,
        conclusion: "计划措施在 2027 年可减 298.3 万 m³，仍差 0 万 m³……".to_owned(),
    };
    match case {
        Case::Full => {}
        Case::NoLevels => m.candidates = None,
        Case::OneMonth => {
            m.steps = (0..12)
                .map(|i| {
                    step(
                        &format!("关停：QX-{i:04} 某某很长名称的企业自备井"),
                        5.0 + i as f64,
                        i % 3 == 0,
                    )
                })
                .collect();
        }
        Case::QuotaChange => m.allowed_m3 = 1700.0e4,
        Case::ZerosAndNan => {
            m.steps[0].m3 = f64::NAN;
            m.steps[1].m3 = 0.0;
            m.quota_m3 = f64::NAN;
        }
        Case::Empty => {
            m.projected_m3 = f64::NAN;
            m.steps.clear();
            m.candidates = None;
        }
    }
    m
}

/// The two karst springs as the city's spring panels.
fn springs(case: Case, example: bool) -> Hydrographs {
    let spring = |name: &str, wells: &str, base: f64, outlet: f64| WellSeries {
        id: name.to_owned(),
        name: format!("代表井 {wells}"),
        group: String::new(),
        points: monthly_levels((2020, 1), 83, base, 1.1, name.len()),
        trend: Some(trend(
            1.1,
            DatedValue {
                date: Ymd::new(2023, 6, 15),
                value: base + 2.0,
            },
            TrendDirection::Rising,
        )),
        target_m: Some(outlet),
        target_note: Some(format!(
            "泉口 {outlet:.2} m · 复流：2029 年（目标 2030 年）"
        )),
        outliers: Vec::new(),
        steps: Vec::new(),
    };
    let mut m = Hydrographs {
        meta: meta("太原市", example),
        kind: LevelKind::Level,
        wells: vec![
            spring("晋祠泉", "W-JY-01", 796.0, 802.59),
            spring("兰村泉", "W-JCP-01、W-JCP-04", 795.0, 801.0),
        ],
        page: 0,
        subject: Subject::Springs,
    };
    match case {
        Case::Empty => m.wells.clear(),
        Case::ZerosAndNan => m.wells[0]
            .points
            .iter_mut()
            .for_each(|p| p.value = f64::NAN),
        _ => {}
    }
    m
}

/// Owned models of every chart for one case.
pub(crate) struct Models {
    pub(crate) readiness: ExitReadiness,
    pub(crate) cumulative: CumulativeWithdrawal,
    pub(crate) monthly: MonthlyWithdrawal,
    pub(crate) hydro_level: Hydrographs,
    pub(crate) hydro_depth: Hydrographs,
    /// Thirty wells in three aquifer types, drawn at their second page.
    pub(crate) hydro_pages: Hydrographs,
    pub(crate) city: CityOverview,
    pub(crate) by_source: WithdrawalBySource,
    pub(crate) way_out: WayOut,
    pub(crate) springs: Hydrographs,
}

impl Models {
    pub(crate) fn new(case: Case, example: bool) -> Self {
        Self {
            readiness: readiness(case, example),
            cumulative: cumulative(case, example),
            monthly: monthly(case, example),
            hydro_level: hydrographs(case, LevelKind::Level, 10, example),
            hydro_depth: hydrographs(case, LevelKind::Depth, 3, example),
            hydro_pages: many_wells(case, 30, example, 1),
            city: city(case, example),
            by_source: by_source(case, example),
            way_out: way_out(case, example),
            springs: springs(case, example),
        }
    }

    pub(crate) fn charts(&self) -> Vec<(&'static str, ChartKind<'_>)> {
        vec![
            ("readiness", ChartKind::ExitReadiness(&self.readiness)),
            ("cumulative", ChartKind::Cumulative(&self.cumulative)),
            ("monthly", ChartKind::Monthly(&self.monthly)),
            (
                "hydrograph-level",
                ChartKind::Hydrographs(&self.hydro_level),
            ),
            (
                "hydrograph-depth",
                ChartKind::Hydrographs(&self.hydro_depth),
            ),
            (
                "hydrograph-page-2",
                ChartKind::Hydrographs(&self.hydro_pages),
            ),
            ("city", ChartKind::CityOverview(&self.city)),
            ("by-source", ChartKind::BySource(&self.by_source)),
            ("way-out", ChartKind::WayOut(&self.way_out)),
            ("springs", ChartKind::Hydrographs(&self.springs)),
        ]
    }
}
