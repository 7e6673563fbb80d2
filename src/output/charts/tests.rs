//! Cross-chart tests: every chart in every data situation the reports meet (full data, no level
//! monitoring, one month, a quota change mid-year, zeros and NaN, nothing at all), determinism,
//! file output, and glyph coverage of everything the module writes.
//!
//! Output files go to a fresh directory under `std::env::temp_dir()`, never into the repository.
//! Two ignored tests are tools: `write_samples` (set `GWMON_CHART_SAMPLES=dir`) and
//! `time_one_county` (run with `--release --ignored --nocapture`).

use std::path::PathBuf;

use super::render::{ChartKind, render_all, render_png, render_rgb, render_svg};
use super::spec::*;

const AS_OF: Ymd = Ymd::new(2026, 11, 28);

const COUNTIES: [&str; 10] = [
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
enum Case {
    Full,
    NoLevels,
    OneMonth,
    QuotaChange,
    ZerosAndNan,
    Empty,
}

const CASES: [Case; 6] = [
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
    }
}

/// A smooth, deterministic wiggle in [-1, 1] (no RNG, no clock).
fn wiggle(i: usize, seed: usize) -> f64 {
    ((i * 7 + seed * 13) as f64 * 0.61).sin() * 0.6 + ((i + seed) as f64 * 1.7).cos() * 0.4
}

/// Monthly means dated the 15th, from `from` (inclusive) for `n` months.
fn monthly_levels(
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

fn trend(slope: f64, anchor: DatedValue, direction: TrendDirection) -> Trend {
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
    let mut failing = vec![
        "水位仍呈下降趋势（Sen 斜率 −0.29 m/a，p = 0.003）".to_owned(),
        "2025 年取水量 1263.9 万 m³ 超管控指标 1250 万 m³（k = 1.01）".to_owned(),
    ];
    match case {
        Case::Full => {}
        Case::NoLevels => {
            levels.clear();
            tr = None;
            failing.push("数据不足：无水位监测数据".to_owned());
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
            years.push(YearWithdrawal {
                year: 2027,
                withdrawal_m3: f64::NAN,
                quota_m3: 1150.0e4,
            });
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
        }
    }
    ExitReadiness {
        meta: meta("清徐县", example),
        years,
        current,
        deadlines: vec![
            Deadline::self_assessment(Ymd::new(2026, 6, 30)),
            Deadline::exit(Ymd::new(2027, 6, 30)),
        ],
        level_kind: LevelKind::Level,
        levels,
        trend: tr,
        verdict: if case == Case::Empty {
            String::new()
        } else {
            "未达标".to_owned()
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
                points,
                trend: Some(trend(slope, anchor, direction)),
            }
        })
        .collect();
    let mut m = Hydrographs {
        meta: meta("清徐县", example),
        kind,
        wells,
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

/// Owned models of every chart for one case.
struct Models {
    readiness: ExitReadiness,
    cumulative: CumulativeWithdrawal,
    monthly: MonthlyWithdrawal,
    hydro_level: Hydrographs,
    hydro_depth: Hydrographs,
    city: CityOverview,
}

impl Models {
    fn new(case: Case, example: bool) -> Self {
        Self {
            readiness: readiness(case, example),
            cumulative: cumulative(case, example),
            monthly: monthly(case, example),
            hydro_level: hydrographs(case, LevelKind::Level, 10, example),
            hydro_depth: hydrographs(case, LevelKind::Depth, 3, example),
            city: city(case, example),
        }
    }

    fn charts(&self) -> Vec<(&'static str, ChartKind<'_>)> {
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
            ("city", ChartKind::CityOverview(&self.city)),
        ]
    }
}

/// The text content of every `<text>` element, unescaped.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let Some(close) = rest.find("</text>") else {
            break;
        };
        let raw = rest[open_end + 1..close].trim();
        out.push(
            raw.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &rest[close + 7..];
    }
    out
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gwmon-charts-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn every_chart_renders_in_every_case_svg() {
    for case in CASES {
        for example in [false, true] {
            let models = Models::new(case, example);
            for (name, chart) in models.charts() {
                let svg = render_svg(chart).unwrap_or_else(|e| panic!("{name} {case:?}: {e}"));
                let place = if name == "city" {
                    "太原市"
                } else {
                    "清徐县"
                };
                assert!(svg.contains(place), "{name} {case:?}: title lacks {place}");
                assert!(
                    svg.contains("数据截至 2026-11-28"),
                    "{name} {case:?}: footer"
                );
                assert_eq!(
                    svg.contains("示例数据"),
                    example,
                    "{name} {case:?}: example marking"
                );
            }
        }
    }
}

#[test]
fn every_chart_renders_in_every_case_bitmap() {
    for case in CASES {
        let models = Models::new(case, case == Case::ZerosAndNan);
        for (name, chart) in models.charts() {
            let (w, h) = chart.size();
            let rgb = render_rgb(chart).unwrap_or_else(|e| panic!("{name} {case:?}: {e}"));
            assert_eq!(rgb.len(), w as usize * h as usize * 3);
            // Something besides the white background was drawn.
            assert!(rgb.iter().any(|b| *b < 128), "{name} {case:?}: blank");
        }
    }
}

#[test]
fn missing_data_is_noted_on_the_chart() {
    let m = Models::new(Case::NoLevels, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(svg.contains("无水位监测数据"));
    assert!(!svg.contains("Sen 趋势线"));
    for h in [&m.hydro_level, &m.hydro_depth] {
        let svg = render_svg(ChartKind::Hydrographs(h)).expect("render");
        assert!(svg.contains("无水位监测数据"));
    }

    let m = Models::new(Case::Empty, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(svg.contains("无取水量数据") && svg.contains("无水位监测数据"));
    assert!(svg.contains("未达标项：无") && svg.contains("结论：（未给出）"));
    let svg = render_svg(ChartKind::Cumulative(&m.cumulative)).expect("render");
    assert!(svg.contains("本年无取水量数据") && svg.contains("未设定管控指标"));
    let svg = render_svg(ChartKind::Monthly(&m.monthly)).expect("render");
    assert!(svg.contains("无取水量数据"));
    let svg = render_svg(ChartKind::CityOverview(&m.city)).expect("render");
    assert!(svg.contains("无县（市、区）数据") && svg.contains("无数据"));

    let m = Models::new(Case::ZerosAndNan, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(svg.contains("取水量均为 0") && svg.contains("无数据"));
    assert!(svg.contains("未给出趋势结果"), "NaN trend is not drawn");
    let svg = render_svg(ChartKind::Monthly(&m.monthly)).expect("render");
    assert!(svg.contains("各月取水量均为 0"));
    let svg = render_svg(ChartKind::CityOverview(&m.city)).expect("render");
    assert!(svg.contains("无管控指标") && svg.contains("无取水量数据"));
    let svg = render_svg(ChartKind::Hydrographs(&m.hydro_level)).expect("render");
    assert!(svg.contains("QX-01（无数据）"));

    let m = Models::new(Case::OneMonth, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(svg.contains("仅 1 个月数据"));
    let svg = render_svg(ChartKind::Hydrographs(&m.hydro_level)).expect("render");
    assert!(svg.contains("每井仅 1 个数据点") && !svg.contains("m/a"));
}

#[test]
fn absurd_input_neither_panics_nor_hangs() {
    let mut m = Models::new(Case::Full, true);
    m.readiness.years.push(YearWithdrawal {
        year: i32::MAX,
        withdrawal_m3: 1e300,
        quota_m3: -1e300,
    });
    m.readiness.years[0].withdrawal_m3 = -5e4;
    m.readiness.current = Some(CurrentYear {
        year: 2026,
        to_date_m3: 1e200,
        projected_m3: f64::MAX,
        quota_m3: f64::NEG_INFINITY,
    });
    m.readiness
        .deadlines
        .push(Deadline::exit(Ymd::new(i32::MIN, 13, 77)));
    m.readiness.levels.push(DatedValue {
        date: Ymd::new(-4000, 0, 0),
        value: 1.0,
    });
    m.readiness.trend = Some(trend(
        1e12,
        DatedValue {
            date: Ymd::new(2020, 2, 30),
            value: 760.0,
        },
        TrendDirection::Rising,
    ));
    m.readiness.failing = vec!["很长的未达标说明".repeat(40); 5];
    m.cumulative.year = i32::MIN;
    m.cumulative.this_year.push(DayValue {
        day: u16::MAX,
        value_m3: 1e300,
    });
    m.cumulative.quota_steps.push(QuotaStep {
        from_day: 0,
        quota_m3: -1.0,
    });
    m.monthly.years.push(YearMonths {
        year: i32::MAX,
        months_m3: [f64::MAX; 12],
    });
    m.monthly.years[0].months_m3[3] = -1e12;
    for i in 0..40 {
        m.hydro_level.wells.push(WellSeries {
            id: format!("很长的井编号-{i:03}"),
            points: monthly_levels((2020, 1), 3, 700.0 + i as f64, 0.1, i),
            trend: None,
        });
    }
    m.hydro_level.wells[0].points[0].value = 1e300;
    m.city.counties[0].quota_m3 = 1e-300;
    m.city.total.limit_m3 = f64::MIN_POSITIVE;
    for (name, chart) in m.charts() {
        let svg = render_svg(chart).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(svg.contains("示例数据"), "{name}");
        render_rgb(chart).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let svg = render_svg(ChartKind::Hydrographs(&m.hydro_level)).expect("render");
    assert!(svg.contains("项未列出"), "legend overflow is counted");
}

#[test]
fn content_follows_the_data() {
    let m = Models::new(Case::Full, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    for s in [
        "清徐县 超采区退出准备度",
        "自评估 2026-06-30",
        "退出 2027-06-30",
        "结论：未达标",
        "水位 (m)",
        "1985国家高程基准",
        "Sen 趋势线：-0.29 m/a，水位下降（延至退出期限）",
        "预测 1192",
        "取水量（万 m³）",
    ] {
        assert!(svg.contains(s), "readiness lacks '{s}'");
    }
    let svg = render_svg(ChartKind::Hydrographs(&m.hydro_level)).expect("render");
    assert!(svg.contains("水位 (m，1985国家高程基准)"));
    let svg = render_svg(ChartKind::Hydrographs(&m.hydro_depth)).expect("render");
    assert!(svg.contains("埋深 (m，坐标向下增大)") && svg.contains("埋深 +0.45 m/a，水位下降"));
    let svg = render_svg(ChartKind::Monthly(&m.monthly)).expect("render");
    assert!(
        svg.contains("2024–2026年") && !svg.contains("2023年"),
        "last three years"
    );
    assert!(svg.contains("12月") && svg.contains("1–11月"));
    let svg = render_svg(ChartKind::CityOverview(&m.city)).expect("render");
    // The subtitle wraps, so look at the text of all lines joined.
    assert!(
        svg_texts(&svg)
            .concat()
            .contains("比全市上限 1.5亿 m³ 少 8.0万 m³")
    );
    assert!(svg.contains("上限 1.5亿 m³") && svg.contains("指标 7602.0万 m³"));
    let m = Models::new(Case::QuotaChange, false);
    let svg = render_svg(ChartKind::Cumulative(&m.cumulative)).expect("render");
    assert!(
        svg.contains("指标 1120（自 07-01）"),
        "mid-year quota change is labelled"
    );
}

#[test]
fn svg_keeps_text_with_a_resolvable_font_family() {
    let m = Models::new(Case::Full, false);
    let svg = render_svg(ChartKind::Cumulative(&m.cumulative)).expect("render");
    assert!(svg.contains(&format!("font-family=\"{}\"", super::fonts::FAMILY)));
    assert!(super::fonts::FAMILY.starts_with("Noto Sans CJK SC,"));
    assert!(super::fonts::FAMILY.ends_with("sans-serif"));
}

#[test]
fn output_is_deterministic() {
    let a = Models::new(Case::Full, true);
    let b = Models::new(Case::Full, true);
    for ((name, x), (_, y)) in a.charts().into_iter().zip(b.charts()) {
        let (sx, sy) = (render_svg(x).expect("svg"), render_svg(y).expect("svg"));
        assert!(sx == sy, "{name}: SVG differs between two renders");
    }
    let (px, py) = (
        render_png(ChartKind::Monthly(&a.monthly)).expect("png"),
        render_png(ChartKind::Monthly(&b.monthly)).expect("png"),
    );
    assert!(px == py, "PNG differs between two renders");
}

#[test]
fn render_all_writes_png_and_svg_of_the_promised_size() {
    let dir = TempDir::new("files");
    let m = Models::new(Case::Full, false);
    for (name, chart) in m.charts() {
        let paths = render_all(chart, &dir.0, name).expect("render_all");
        assert_eq!(
            paths,
            vec![
                dir.0.join(format!("{name}.png")),
                dir.0.join(format!("{name}.svg"))
            ]
        );
        let png = std::fs::read(&paths[0]).expect("read png");
        let (w, h) = chart.size();
        assert!(w >= 2400, "{name}: at least 2400 px wide");
        assert_eq!(png_size(&png), (w, h), "{name}: PNG header size");
        let svg = std::fs::read_to_string(&paths[1]).expect("read svg");
        assert!(
            svg.contains(&format!("width=\"{w}\" height=\"{h}\"")),
            "{name}: SVG size"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    let chart = ChartKind::Monthly(&m.monthly);
    assert!(render_all(chart, &dir.0, "../escape").is_err());
    assert!(render_all(chart, &dir.0, "").is_err());
    assert!(render_all(chart, &dir.0.join("missing"), "x").is_err());
}

#[test]
fn embedded_font_covers_everything_the_module_writes() {
    let mut texts: Vec<String> = COUNTIES.iter().map(|s| (*s).to_owned()).collect();
    texts.extend(
        [
            "太原市",
            "太原供水集团",
            "示例数据",
            "县（市、区）合计",
            "全市合计",
        ]
        .map(String::from),
    );
    for case in CASES {
        for example in [false, true] {
            let models = Models::new(case, example);
            for (_, chart) in models.charts() {
                texts.extend(svg_texts(&render_svg(chart).expect("render")));
            }
        }
    }
    for d in [
        TrendDirection::Rising,
        TrendDirection::Stable,
        TrendDirection::Falling,
    ] {
        texts.push(d.label().to_owned());
    }
    assert!(
        texts.len() > 200,
        "the SVG text extraction found the labels"
    );
    let all: String = texts.concat();
    assert_eq!(super::fonts::missing_glyphs(&all), Vec::<char>::new());
}

/// Writes one set of sample charts: `GWMON_CHART_SAMPLES=dir cargo test --release -- --ignored write_samples`.
#[test]
#[ignore = "tool: writes sample charts to $GWMON_CHART_SAMPLES"]
fn write_samples() {
    let Some(dir) = std::env::var_os("GWMON_CHART_SAMPLES").map(PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).expect("create sample dir");
    let full = Models::new(Case::Full, false);
    for (name, chart) in full.charts() {
        render_all(chart, &dir, name).expect("render");
    }
    let example = Models::new(Case::Full, true);
    render_all(ChartKind::CityOverview(&example.city), &dir, "city-example").expect("render");
    render_all(
        ChartKind::ExitReadiness(&example.readiness),
        &dir,
        "readiness-example",
    )
    .expect("render");
    let no_levels = Models::new(Case::NoLevels, false);
    render_all(
        ChartKind::ExitReadiness(&no_levels.readiness),
        &dir,
        "readiness-no-levels",
    )
    .expect("render");
    let quota = Models::new(Case::QuotaChange, false);
    render_all(
        ChartKind::Cumulative(&quota.cumulative),
        &dir,
        "cumulative-quota-change",
    )
    .expect("render");
    let nan = Models::new(Case::ZerosAndNan, false);
    for (name, chart) in nan.charts() {
        render_all(chart, &dir, &format!("{name}-zeros-nan")).expect("render");
    }
    let one = Models::new(Case::OneMonth, false);
    for (name, chart) in one.charts() {
        render_all(chart, &dir, &format!("{name}-one-month")).expect("render");
    }
}

/// One county's full set (5 charts × PNG + SVG), timed: `cargo test --release -- --ignored --nocapture time_one_county`.
#[test]
#[ignore = "benchmark: run in release mode"]
fn time_one_county() {
    let dir = TempDir::new("timing");
    let m = Models::new(Case::Full, false);
    let charts: Vec<_> = m
        .charts()
        .into_iter()
        .filter(|(n, _)| *n != "hydrograph-depth")
        .collect();
    // Warm up the font registration and allocator.
    render_svg(charts[0].1).expect("warm-up");
    let t = std::time::Instant::now();
    for (name, chart) in &charts {
        render_all(*chart, &dir.0, name).expect("render");
    }
    let total = t.elapsed();
    let mut parts = Vec::new();
    for (name, chart) in &charts {
        let t0 = std::time::Instant::now();
        let svg = render_svg(*chart).expect("svg");
        let t1 = std::time::Instant::now();
        let (w, h) = chart.size();
        let rgb = render_rgb(*chart).expect("rgb");
        let t2 = std::time::Instant::now();
        let png = super::render::encode_png(&rgb, w, h).expect("png");
        let t3 = std::time::Instant::now();
        parts.push(format!(
            "{name}: svg {:.0} ms ({} kB), draw {:.0} ms, png encode {:.0} ms ({} kB)",
            (t1 - t0).as_secs_f64() * 1e3,
            svg.len() / 1024,
            (t2 - t1).as_secs_f64() * 1e3,
            (t3 - t2).as_secs_f64() * 1e3,
            png.len() / 1024
        ));
    }
    println!(
        "one county, 5 charts x (PNG + SVG), written: {:.0} ms",
        total.as_secs_f64() * 1e3
    );

    // The main program's load: ten counties × five charts, two threads (one per core).
    let counties: Vec<Models> = COUNTIES
        .iter()
        .map(|name| {
            let mut m = Models::new(Case::Full, false);
            m.readiness.meta.place = (*name).to_owned();
            m.cumulative.meta.place = (*name).to_owned();
            m.monthly.meta.place = (*name).to_owned();
            m.hydro_level.meta.place = (*name).to_owned();
            m
        })
        .collect();
    let t = std::time::Instant::now();
    std::thread::scope(|s| {
        for half in counties.chunks(5) {
            let dir = &dir.0;
            s.spawn(move || {
                for (i, m) in half.iter().enumerate() {
                    for (name, chart) in m
                        .charts()
                        .into_iter()
                        .filter(|(n, _)| *n != "hydrograph-depth")
                    {
                        render_all(
                            chart,
                            dir,
                            &format!("{}-{i}-{name}", m.readiness.meta.place),
                        )
                        .expect("render");
                    }
                }
            });
        }
    });
    println!(
        "ten counties x 5 charts x (PNG + SVG), 2 threads: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    for p in parts {
        println!("  {p}");
    }
}
