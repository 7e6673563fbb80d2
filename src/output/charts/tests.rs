//! Cross-chart tests: every chart in every data situation the reports meet (the inputs are in
//! `samples`), determinism, file output, and glyph coverage of everything the module writes.
//!
//! Output files go to a fresh temporary directory, never into the repository. Sample files and
//! timings come from `examples/chart_samples.rs`.

use super::render::{ChartKind, render_all, render_png, render_rgb, render_svg};
use super::samples::{CASES, COUNTIES, Case, Models, monthly_levels, trend};
use super::spec::*;

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
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let m = Models::new(Case::Full, false);
    for (name, chart) in m.charts() {
        let paths = render_all(chart, dir, name).expect("render_all");
        assert_eq!(
            paths,
            vec![
                dir.join(format!("{name}.png")),
                dir.join(format!("{name}.svg"))
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
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
    let chart = ChartKind::Monthly(&m.monthly);
    assert!(render_all(chart, dir, "../escape").is_err());
    assert!(render_all(chart, dir, "").is_err());
    assert!(render_all(chart, &dir.join("missing"), "x").is_err());
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

#[test]
fn cumulative_prints_the_k_it_is_given_and_falls_back_to_two_decimals() {
    let mut m = Models::new(Case::Full, false);
    let q = m.cumulative.quota_steps[0].quota_m3;
    // A projection just over the at-risk threshold: two decimals would read "0.95".
    m.cumulative.projected_year_end_m3 = Some(q * 0.9512);
    m.cumulative.k_text = None;
    let svg = render_svg(ChartKind::Cumulative(&m.cumulative)).expect("render");
    assert!(svg.contains("k = 0.95"), "fallback prints two decimals");
    m.cumulative.k_text = Some("0.951".into());
    let svg = render_svg(ChartKind::Cumulative(&m.cumulative)).expect("render");
    assert!(
        svg.contains("k = 0.951"),
        "the status document's digits are printed"
    );
}
