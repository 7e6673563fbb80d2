//! Cross-chart tests: every chart in every data situation the reports meet (the inputs are in
//! `samples`), determinism, file output, and glyph coverage of everything the module writes.
//!
//! Output files go to a fresh temporary directory, never into the repository. Sample files and
//! timings come from `examples/chart_samples.rs`.

use super::layout::{break_units, wrap_with};
use super::readiness::{gap_text, requirement_text, verdict_mark};
use super::render::{ChartKind, layout_problems, render_all, render_png, render_rgb, render_svg};
use super::samples::{CASES, COUNTIES, Case, Models, many_wells, monthly_levels, trend};
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
                let place = if name == "city" || name == "springs" {
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
    assert!(svg.contains("未达标或有风险的判据：无") && svg.contains("？ 结论未给出"));
    let svg = render_svg(ChartKind::Cumulative(&m.cumulative)).expect("render");
    assert!(svg.contains("本年无取水量数据") && svg.contains("未设定管控指标"));
    let svg = render_svg(ChartKind::Monthly(&m.monthly)).expect("render");
    assert!(svg.contains("无取水量数据"));
    let svg = render_svg(ChartKind::CityOverview(&m.city)).expect("render");
    assert!(svg.contains("无县（市、区）数据") && svg.contains("无数据"));

    let m = Models::new(Case::ZerosAndNan, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(svg.contains("取水量均为 0") && svg.contains("无数据"));
    assert!(
        svg.contains("无参评井，不给出趋势线"),
        "NaN trend is not drawn"
    );
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
    let texts = svg_texts(&svg).concat();
    assert!(texts.contains("每井仅 1 个数据点") && !texts.contains("m/a"));
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
    m.readiness.levels.push(AquiferLevels {
        label: "岩溶水".to_owned(),
        levels: vec![DatedValue {
            date: Ymd::new(-4000, 0, 0),
            value: 1.0,
        }],
        trend: Some(trend(
            1e12,
            DatedValue {
                date: Ymd::new(2020, 2, 30),
                value: 760.0,
            },
            TrendDirection::Rising,
        )),
        status: "有风险".to_owned(),
    });
    m.readiness.failing = vec![
        CriterionRow {
            item: "很长的项目".repeat(10),
            status: "不达标".repeat(5),
            kind: VerdictKind::NotReady,
            detail: "很长的未达标说明".repeat(40),
        };
        5
    ];
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
            name: "很长的井名".repeat(8),
            group: format!("含水层{}", i % 6),
            points: monthly_levels((2020, 1), 3, 700.0 + i as f64, 0.1, i),
            trend: None,
            target_m: Some(f64::NAN),
            target_note: None,
            outliers: vec![DatedValue {
                date: Ymd::new(2020, 2, 15),
                value: f64::INFINITY,
            }],
            steps: vec![Ymd::new(i32::MAX, 1, 15)],
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
    let mut h = m.hydro_level.clone();
    for page in [0, h.pages() - 1, h.pages() + 5] {
        h.page = page;
        let svg = render_svg(ChartKind::Hydrographs(&h)).expect("render");
        assert!(!svg.contains("项未列出"), "no well is summarised away");
    }
}

#[test]
fn content_follows_the_data() {
    let m = Models::new(Case::Full, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    for s in [
        "清徐县 超采区退出准备度",
        "自评估 2026-06-30",
        "退出 2027-06-30",
        "× 尚不具备退出条件",
        "2026 年预测 1192.0 万 m³，指标 1200 万 m³，低于指标 8.0 万 m³（-0.7%）",
        "2027 年需控制在 1150 万 m³ 以内，需压减 42.0 万 m³（3.5%）",
        "判据",
        "Mann–Kendall",
        "水位 (m)",
        "1985国家高程基准",
        "月均水位（浅层孔隙水）：决定性年变幅 -0.29 m/a，不达标",
        "趋势线（决定性年变幅）",
        "延至退出期限",
        "预测 1192",
        "取水量（万 m³）",
    ] {
        assert!(svg.contains(s), "readiness lacks '{s}'");
    }
    let svg = render_svg(ChartKind::Hydrographs(&m.hydro_level)).expect("render");
    assert!(svg.contains("水位 (m，1985国家高程基准)"));
    // A 埋深 target drawn on the level axis says both.
    assert!(svg.contains("埋深目标 45.00 m（水位 757.50 m）"));
    // The second well's screened month and step are marked, and the legend says what they are.
    assert!(
        svg.contains("异常值（不计入均值、趋势和目标）")
            && svg.contains("水位突变（核对基准或测点）")
    );
    let mut plain = m.hydro_level.clone();
    for w in &mut plain.wells {
        w.outliers.clear();
        w.steps.clear();
    }
    let plain = render_svg(ChartKind::Hydrographs(&plain)).expect("render");
    assert!(!plain.contains("异常值") && !plain.contains("水位突变"));
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
fn render_all_gives_png_and_svg_of_the_promised_size() {
    let m = Models::new(Case::Full, false);
    for (name, chart) in m.charts() {
        let [(png_name, png), (svg_name, svg)] = render_all(chart, name).expect("render_all");
        assert_eq!(
            (png_name, svg_name),
            (format!("{name}.png"), format!("{name}.svg"))
        );
        let (w, h) = chart.size();
        assert!(w >= 2400, "{name}: at least 2400 px wide");
        assert_eq!(png_size(&png), (w, h), "{name}: PNG header size");
        let svg = String::from_utf8(svg).expect("utf-8 svg");
        assert!(
            svg.contains(&format!("width=\"{w}\" height=\"{h}\"")),
            "{name}: SVG size"
        );
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {w} {h}\"")),
            "{name}: the SVG scales with a page"
        );
    }
    let chart = ChartKind::Monthly(&m.monthly);
    assert!(render_all(chart, "../escape").is_err());
    assert!(render_all(chart, "").is_err());
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

/// Edge fixtures on top of the sample cases: quotas tiny and huge, a projection just over the
/// limit, a long criteria list, thirty wells.
fn edge_models() -> Vec<(String, Models)> {
    let mut out = Vec::new();
    for (name, scale) in [("tiny", 1e-4), ("huge", 1e4)] {
        let mut m = Models::new(Case::Full, true);
        for y in &mut m.readiness.years {
            y.quota_m3 *= scale;
        }
        if let Some(c) = &mut m.readiness.current {
            c.quota_m3 *= scale;
        }
        for q in &mut m.readiness.quotas_ahead {
            q.quota_m3 *= scale;
        }
        for q in &mut m.cumulative.quota_steps {
            q.quota_m3 *= scale;
        }
        out.push((format!("{name} quotas"), m));
    }
    let mut m = Models::new(Case::Full, false);
    if let Some(c) = &mut m.readiness.current {
        c.projected_m3 = c.quota_m3 * 1.001;
        m.cumulative.projected_year_end_m3 = Some(c.projected_m3);
    }
    for y in &mut m.readiness.years {
        y.withdrawal_m3 = y.quota_m3 * 1.002;
    }
    m.readiness.failing = [
        m.readiness.failing.clone(),
        m.readiness.failing.clone(),
        m.readiness.failing.clone(),
    ]
    .concat();
    out.push(("just over the limit".to_owned(), m));
    let mut m = Models::new(Case::Full, false);
    m.hydro_level = many_wells(Case::Full, 30, false, 0);
    out.push(("thirty wells".to_owned(), m));
    out
}

#[test]
fn no_text_overlaps_or_leaves_the_canvas_in_any_case() {
    let mut sets: Vec<(String, Models)> = Vec::new();
    for case in CASES {
        for example in [false, true] {
            sets.push((
                format!("{case:?} example={example}"),
                Models::new(case, example),
            ));
        }
    }
    sets.extend(edge_models());
    let mut problems = Vec::new();
    for (set, models) in &sets {
        for (name, chart) in models.charts() {
            let found = layout_problems(chart).unwrap_or_else(|e| panic!("{set} {name}: {e}"));
            problems.extend(found.into_iter().map(|p| format!("{set} {name}: {p}")));
        }
        let mut h = models.hydro_level.clone();
        for page in 1..h.pages() {
            h.page = page;
            let found = layout_problems(ChartKind::Hydrographs(&h)).expect("render");
            problems.extend(
                found
                    .into_iter()
                    .map(|p| format!("{set} hydro p{page}: {p}")),
            );
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn hydrograph_pages_hold_every_well_once_grouped() {
    let h = many_wells(Case::Full, 30, false, 0);
    assert_eq!(h.pages(), 3);
    let mut seen: Vec<String> = Vec::new();
    for page in 0..h.pages() {
        let wells = h.page_wells(page);
        assert!(wells.len() <= Hydrographs::PER_PAGE);
        seen.extend(wells.iter().map(|w| w.id.clone()));
        let mut p = h.clone();
        p.page = page;
        let svg = render_svg(ChartKind::Hydrographs(&p)).expect("render");
        assert!(svg.contains(&format!("第 {}/3 页", page + 1)));
        for w in wells {
            assert!(svg.contains(&w.id), "page {page} lacks {}", w.id);
        }
    }
    let mut all: Vec<String> = h.wells.iter().map(|w| w.id.clone()).collect();
    assert_eq!(seen.len(), all.len(), "no well twice");
    seen.sort();
    all.sort();
    assert_eq!(seen, all);
    // Grouped: once a group's wells end, the group does not come back.
    let groups: Vec<&str> = h.ordered().iter().map(|w| w.group.as_str()).collect();
    let mut runs = groups.clone();
    runs.dedup();
    assert_eq!(runs, ["浅层孔隙水", "中深层孔隙水", "岩溶水"]);
    assert_eq!(Models::new(Case::Empty, false).hydro_level.pages(), 1);
}

#[test]
fn headline_states_the_gap_and_what_next_year_asks() {
    let c = CurrentYear {
        year: 2026,
        to_date_m3: 1400.0e4,
        projected_m3: 1526.4e4,
        quota_m3: 1434.9e4,
    };
    assert_eq!(
        gap_text(&c).unwrap(),
        "2026 年预测 1526.4 万 m³，指标 1434.9 万 m³，超指标 91.5 万 m³（+6.4%）"
    );
    let ahead = [YearQuota {
        year: 2027,
        quota_m3: 1420.0e4,
    }];
    assert_eq!(
        requirement_text(&c, &ahead).unwrap(),
        "2027 年需控制在 1420 万 m³ 以内，需压减 106.4 万 m³（7.0%）"
    );
    let under = CurrentYear {
        projected_m3: 1350.0e4,
        ..c
    };
    assert_eq!(
        gap_text(&under).unwrap(),
        "2026 年预测 1350.0 万 m³，指标 1434.9 万 m³，低于指标 84.9 万 m³（-5.9%）"
    );
    assert_eq!(
        requirement_text(
            &under,
            &[YearQuota {
                year: 2027,
                quota_m3: 1400.0e4
            }]
        )
        .unwrap(),
        "2027 年指标 1400 万 m³，按本年预测可满足（余 50.0 万 m³）"
    );
    let none = CurrentYear {
        projected_m3: f64::NAN,
        ..c
    };
    assert_eq!(gap_text(&none), None);
    assert_eq!(requirement_text(&c, &[]), None, "no quota for next year");
}

#[test]
fn lines_break_by_chinese_rules_and_keep_latin_words_whole() {
    let units = break_units("趋势（Mann–Kendall 检验）：下降，覆盖率 92.0%。");
    assert!(units.contains(&"（Mann–Kendall ".to_owned()), "{units:?}");
    assert!(units.contains(&"验）：".to_owned()), "{units:?}");
    assert!(units.contains(&"92.0%。".to_owned()), "{units:?}");
    for u in &units {
        assert!(!u.starts_with(['，', '。', '；', '：', '、', '）']), "{u}");
        assert!(!u.trim_end().ends_with('（'), "{u}");
    }
    // One unit = 10 px per character; lines of at most 60 px.
    let w = |s: &str| 10 * s.chars().count() as i32;
    let text = "计量覆盖率 92.0%，低于要求；Mann–Kendall 检验显示下降。";
    let lines = wrap_with(text, 60, w);
    assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
    for l in &lines {
        assert!(
            !l.starts_with(['，', '。', '；', '：', '、', '）']),
            "{lines:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.contains("Mann–Kendall")),
        "{lines:?}"
    );
    assert_eq!(wrap_with("甲\n乙", 1000, w), ["甲", "乙"]);
}

#[test]
fn by_source_states_the_reduction_against_the_base_year() {
    let m = Models::new(Case::Full, false);
    let svg = render_svg(ChartKind::BySource(&m.by_source)).expect("render");
    let texts = svg_texts(&svg).concat();
    // Groundwater 1561.0 in 2020, 1561 − 52 × 5 = 1301.0 in 2025: 260.0 less, 16.7 %.
    assert!(
        texts.contains("2025 年比基准年 2020 年减少 260.0 万 m³（-16.7%）"),
        "{texts}"
    );
    assert!(texts.contains("2026 年（年末预测）减少 312.0 万 m³（-20.0%）"));
    for s in ["地下水", "地表水", "再生水", "矿井水"] {
        assert!(svg.contains(s));
    }
}

#[test]
fn partial_month_and_watermark_under_the_data() {
    let m = Models::new(Case::Full, true);
    let svg = render_svg(ChartKind::Monthly(&m.monthly)).expect("render");
    assert!(svg.contains("（至 11-28）"));
    // The watermark is drawn before the bars' label, so everything else is drawn over it.
    let texts = svg_texts(&svg);
    let mark = texts
        .iter()
        .rposition(|t| t == "示例数据")
        .expect("watermark");
    let label = texts
        .iter()
        .position(|t| t == "（至 11-28）")
        .expect("label");
    assert!(mark < label, "{texts:?}");
}

#[test]
fn verdicts_differ_in_colour_and_in_symbol_for_greyscale_prints() {
    let kinds = [
        VerdictKind::Ready,
        VerdictKind::AtRisk,
        VerdictKind::NotReady,
        VerdictKind::InsufficientData,
    ];
    let marks: Vec<_> = kinds.iter().map(|k| verdict_mark(*k)).collect();
    for (i, a) in marks.iter().enumerate() {
        for b in &marks[i + 1..] {
            assert_ne!(a.0, b.0, "colours");
            assert_ne!(a.1, b.1, "symbols");
        }
    }
    let symbols: String = marks.iter().map(|m| m.1).collect();
    assert_eq!(super::fonts::missing_glyphs(&symbols), Vec::<char>::new());
}

#[test]
fn city_ranking_prints_the_k_it_is_given() {
    let mut m = Models::new(Case::Full, false);
    let c = &mut m.city.counties[0];
    c.quota_m3 = 1_000_000.0;
    c.withdrawal_m3 = 951_200.0;
    c.k_text = None;
    let svg = render_svg(ChartKind::CityOverview(&m.city)).expect("render");
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|t| t == "0.95"),
        "fallback prints two decimals: {texts:?}"
    );
    m.city.counties[0].k_text = Some("0.951".into());
    let svg = render_svg(ChartKind::CityOverview(&m.city)).expect("render");
    assert!(
        svg_texts(&svg).iter().any(|t| t == "0.951"),
        "the status document's digits are printed"
    );
}

/// `text` drawn through the PNG path at 40 px on a 64 px square: the packed RGB pixels.
fn draw_glyph(text: &str) -> Vec<u8> {
    use super::render::GlyphFix;
    use plotters::prelude::*;
    let mut buf = vec![255u8; 64 * 64 * 3];
    {
        let root = GlyphFix(BitMapBackend::with_buffer(&mut buf, (64, 64))).into_drawing_area();
        let style = TextStyle::from((super::fonts::FAMILY, 40).into_font()).color(&BLACK);
        root.draw_text(text, &style, (4, 4)).unwrap();
        root.present().unwrap();
    }
    buf
}

/// Every character of `names` is drawn with ink and is not the empty box of a missing glyph.
fn assert_drawn(names: &str) {
    super::fonts::register().unwrap();
    let missing = draw_glyph("\u{E000}");
    for c in names.chars().filter(|c| !c.is_whitespace()) {
        let px = draw_glyph(&c.to_string());
        let ink = px.chunks(3).filter(|p| p[0] < 128).count();
        assert!(
            ink > 30,
            "{c} (U+{:04X}) is blank: {ink} dark pixels",
            c as u32
        );
        assert!(
            px != missing,
            "{c} (U+{:04X}) is drawn as the missing-glyph box",
            c as u32
        );
    }
}

#[test]
fn names_outside_gb2312_are_drawn_with_their_own_glyphs() {
    // Given names of well owners and villages outside GB2312 (GBK, GB18030 level 1), one of CJK
    // Extension A, and GB2312 for comparison: all in the embedded font.
    assert_drawn("昇 喆 镕 玥 珺 堃 㙟 清徐");
}

#[test]
fn characters_beyond_the_embedded_font_come_from_the_fallback_font() {
    // 𠮷 (U+20BB7, CJK Extension B) is outside GB18030 level 1 and the embedded subset; Debian's
    // fonts-noto-cjk has it. `.ci/run` installs that package.
    const NOTO: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
    if !std::path::Path::new(NOTO).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{NOTO} is missing: install fonts-noto-cjk"
        );
        eprintln!("skipped: {NOTO} is missing (apt-get install fonts-noto-cjk)");
        return;
    }
    assert_eq!(
        super::fonts::missing_glyphs_in_embedded("𠮷"),
        vec!['𠮷'],
        "the character is outside the embedded font"
    );
    super::fonts::set_fallback_source(Box::new(|| Some((std::fs::read(NOTO).ok()?, 2))));
    assert_drawn("𠮷");
    assert!(super::fonts::missing_glyphs("𠮷").is_empty());
}

#[test]
fn no_chart_text_is_below_7_points_at_16_cm() {
    let mut small = Vec::new();
    for case in CASES {
        let models = Models::new(case, true);
        for (name, chart) in models.charts() {
            let (w, _) = chart.size();
            for b in super::render::text_boxes(chart).unwrap() {
                let pt = b.points_at(16.0, w);
                if !b.faint && !b.text.trim().is_empty() && pt < 6.95 {
                    small.push(format!("{name} {case:?}: '{}' at {pt:.1} pt", b.text));
                }
            }
        }
    }
    small.dedup();
    assert!(
        small.is_empty(),
        "{} texts below 7 pt:\n{}",
        small.len(),
        small.join("\n")
    );
}

#[test]
fn the_level_trend_is_extended_only_to_a_deadline_the_county_has() {
    let mut m = Models::new(Case::Full, false);
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(svg.contains("延至退出期限"));
    m.readiness.deadlines.clear();
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(
        !svg.contains("延至退出期限") && !svg.contains("退出期限"),
        "no deadline"
    );
    assert!(svg.contains("趋势线（决定性年变幅）"));
    // Without a judged well there is no line at all.
    for a in &mut m.readiness.levels {
        a.trend = None;
    }
    let svg = render_svg(ChartKind::ExitReadiness(&m.readiness)).expect("render");
    assert!(!svg.contains("趋势线（决定性年变幅）") && svg.contains("数据不足，无趋势线"));
}

#[test]
fn an_aquifer_type_has_one_colour_whatever_else_a_county_has() {
    use super::style::colour;
    // 岩溶水 is the only type of one county, the third of another: the same colour in both.
    assert_eq!(colour::aquifer("岩溶水", 0), colour::aquifer("岩溶水", 2));
    assert_ne!(
        colour::aquifer("岩溶水", 0),
        colour::aquifer("浅层孔隙水", 0)
    );
    // A group that is no aquifer type does not take a type's colour.
    let types =
        ["浅层孔隙水", "深层承压水", "岩溶水", "山丘区裂隙水"].map(|t| colour::aquifer(t, 0));
    assert!(!types.contains(&colour::aquifer("监测井", 0)));
}

#[test]
fn the_cumulative_chart_shows_the_quota_k_uses_and_this_year_on_top() {
    let m = Models::new(Case::QuotaChange, false);
    let svg = render_svg(ChartKind::Cumulative(&m.cumulative)).expect("render");
    // 1200 for 181 days, 1120 from 1 July for 184: (181 × 1200 + 184 × 1120) ÷ 365.
    assert!(
        svg.contains("按天数折算的全年指标 1159.7（k 所用）"),
        "the day-weighted quota"
    );
    // This year's curve is drawn after (over) last year's.
    let last = svg.find("stroke=\"#E69F00\"").expect("last year's curve");
    let this = svg.rfind("stroke=\"#1F4E79\"").expect("this year's curve");
    assert!(this > last, "this year is drawn over last year");
    let one = Models::new(Case::Full, false);
    let svg = render_svg(ChartKind::Cumulative(&one.cumulative)).expect("render");
    assert!(
        !svg.contains("按天数折算"),
        "one quota all year: nothing to weigh"
    );
}

#[test]
fn the_city_ranking_follows_the_verdict_bands() {
    let m = Models::new(Case::Full, false);
    let svg = render_svg(ChartKind::CityOverview(&m.city)).expect("render");
    for band in ["k ≤ 0.95 达标", "0.95 &lt; k ≤ 1 有风险", "k &gt; 1 超指标"] {
        assert!(svg.contains(band), "{band}");
    }
    assert!(
        !svg.contains("超采"),
        "k above 1 is over the quota, not 超采 itself"
    );
}

#[test]
fn charts_without_their_title_keep_the_example_label_and_footer_and_lay_out_cleanly() {
    for case in CASES {
        let mut m = Models::new(case, true);
        m.readiness.meta.untitled = true;
        m.cumulative.meta.untitled = true;
        m.monthly.meta.untitled = true;
        m.hydro_level.meta.untitled = true;
        for (name, chart) in [
            ("readiness", ChartKind::ExitReadiness(&m.readiness)),
            ("cumulative", ChartKind::Cumulative(&m.cumulative)),
            ("monthly", ChartKind::Monthly(&m.monthly)),
            ("hydrograph", ChartKind::Hydrographs(&m.hydro_level)),
        ] {
            let svg = render_svg(chart).unwrap();
            assert!(!svg.contains("清徐县 "), "{name} {case:?}: no title");
            assert!(
                svg.contains("示例数据") && svg.contains("数据截至 2026-11-28"),
                "{name} {case:?}"
            );
            assert_eq!(
                layout_problems(chart).unwrap(),
                Vec::<String>::new(),
                "{name} {case:?}"
            );
        }
    }
}
