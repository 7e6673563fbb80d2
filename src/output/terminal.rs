//! Terminal tables in Chinese: padding by display width (a Chinese character takes two columns).

use crate::output::wording;
use std::fmt::Write;

use unicode_width::UnicodeWidthStr;

use crate::assess::{DeadlineState, StatusDoc, arrow};
use crate::config::Config;
use crate::domain::volume::wan;
use jiff::civil::Date;

/// Pads `s` on the right to `width` display columns.
pub fn pad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// Pads `s` on the left to `width` display columns.
pub fn rpad(s: &str, width: usize) -> String {
    let w = UnicodeWidthStr::width(s);
    format!("{}{s}", " ".repeat(width.saturating_sub(w)))
}

/// Renders rows as aligned columns; `right` marks right-aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| UnicodeWidthStr::width(*h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(UnicodeWidthStr::width(c.as_str()));
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if right.get(i).copied().unwrap_or(false) {
                    rpad(c, widths[i])
                } else {
                    pad(c, widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut s = line(header.to_vec());
    s.push('\n');
    for r in rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
        s.push('\n');
    }
    s
}

/// The `gwmon status` table.
pub fn status_table(doc: &StatusDoc) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "太原市地下水超采区退出评估  截至 {}（{} 年）{}",
        doc.as_of,
        doc.year,
        if doc.example_data {
            "  【示例数据：指标与名录为示例值】"
        } else {
            ""
        }
    );
    for w in &doc.warnings {
        let _ = writeln!(s, "注意：{w}");
    }
    let mut rows = Vec::new();
    for b in &doc.city.budgets {
        rows.push(vec![
            b.label.clone(),
            wan(b.quota_m3),
            wan(b.ytd_m3),
            wan(b.last_year_m3),
            wan(b.projected_m3),
            doc.fmt_k(b.k_projected),
        ]);
    }
    s.push_str(&table(
        &["预算", "指标(万m³)", "本年累计", "上年", "预计全年", "k"],
        &rows,
        &[false, true, true, true, true, true],
    ));
    s.push('\n');
    let mut rows = Vec::new();
    for c in &doc.counties {
        let judged = c.wells.iter().filter(|w| w.trend.sufficient).count();
        let declining = c
            .wells
            .iter()
            .filter(|w| {
                w.trend.sufficient
                    && w.trend.direction == crate::analysis::levels::Direction::Declining
            })
            .count();
        // The aquifer whose county series falls fastest (or rises slowest): aquifers are never
        // averaged into one line.
        let worst = c.level_series.iter().min_by(|a, b| {
            let slope = |x: &crate::assess::AquiferSeries| {
                x.trend.sen_slope_m_per_year.unwrap_or(f64::INFINITY)
            };
            slope(a).total_cmp(&slope(b))
        });
        let level = format!(
            "{}{} {}/{}↓",
            worst.map_or("?", |a| arrow(a.trend.direction)),
            worst
                .and_then(|a| a.trend.sen_slope_m_per_year)
                .map_or("—".into(), |v| format!("{v:+.2}")),
            declining,
            judged
        );
        let exit = match (c.deadlines.exit.days_to, c.deadlines.exit.state) {
            (_, Some(DeadlineState::Met)) => "已退出".to_string(),
            (_, Some(DeadlineState::MetLate)) => format!(
                "已退出(逾期{}天)",
                c.deadlines.exit.days_late.unwrap_or_default()
            ),
            (Some(d), Some(DeadlineState::Passed)) => format!("已逾期{}天", -d),
            (Some(d), _) => d.to_string(),
            _ => "—".into(),
        };
        rows.push(vec![
            c.code.to_string(),
            c.name.clone(),
            c.quota_m3.map_or("—".into(), wan),
            wan(c.ytd_m3),
            wan(c.projected_m3),
            doc.fmt_k(c.k_last_year),
            doc.fmt_k(c.k),
            level,
            c.metering
                .coverage
                .map_or(wording::DASH.into(), |v| wording::percent(v, 0)),
            c.verdict_label.to_string(),
            exit,
        ]);
    }
    s.push_str(&table(
        &[
            "代码",
            "区县",
            "指标(万m³)",
            "本年累计",
            "预计全年",
            "上年k",
            "k",
            "水位趋势(m/a)",
            "计量覆盖",
            "结论",
            "距退出(天)",
        ],
        &rows,
        &[
            false, false, true, true, true, true, true, false, true, false, true,
        ],
    ));
    let _ = writeln!(
        s,
        "\n数据：水表读数 {} 条，水位读数 {} 条，隔离 {} 条。k = 取水量 ÷ 管控指标（本年按年末预测，上年按全年实际；无数据为“—”）；水位趋势为下降最快的含水层县级序列的季节性 Sen 斜率（水位上升为正，各含水层分列、不混合平均）及显著下降井数/有效井数。",
        doc.ingest.meter_readings, doc.ingest.level_readings, doc.ingest.quarantined
    );
    s
}

/// A human summary of the configuration (what `check-config` prints).
pub fn config_summary(cfg: &Config) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let w = 1e4;
    let _ = writeln!(s, "configuration {} is valid", cfg.source);
    let _ = writeln!(
        s,
        "broker {} (client id {}, topics {}/+/meter/+ and {}/+/level/+), store {}, zone {}",
        cfg.mqtt.url,
        cfg.mqtt.client_id,
        cfg.mqtt.topic_prefix,
        cfg.mqtt.topic_prefix,
        cfg.store.path.display(),
        cfg.clock.name()
    );
    let _ = writeln!(
        s,
        "budgets: city cap {:.0}万 m³; 太原供水集团 {:.0}万 m³; counties {:.0}万 m³",
        cfg.budgets.city_cap_m3 / w,
        cfg.budgets.supply_group_m3 / w,
        cfg.budgets.counties_m3 / w
    );
    for v in &cfg.quota_versions {
        let sum: f64 = v.county_m3.values().sum();
        let _ = writeln!(
            s,
            "quota version from {}{}: counties sum {:.1}万 m³{}",
            v.effective_from,
            v.effective_until
                .map(|u| format!(" until {u}"))
                .unwrap_or_default(),
            sum / w,
            if v.example {
                " (示例值 example figures)"
            } else {
                ""
            }
        );
    }
    let reg = &cfg.registry;
    let _ = writeln!(
        s,
        "registry: {} intakes ({} with the online-metering duty), {} wells{}",
        reg.intakes.len(),
        reg.intakes.iter().filter(|i| i.metering_duty).count(),
        reg.wells.len(),
        if cfg.registry_example {
            " (示例数据 example data)"
        } else {
            ""
        }
    );
    if !cfg.stations.is_empty() {
        let _ = writeln!(
            s,
            "gateway: {} field terminals mapped in {}, listening on {}",
            cfg.stations.len(),
            cfg.stations.source,
            cfg.gateway
                .listen
                .iter()
                .map(|l| l.addr.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut rows = Vec::new();
    for c in &cfg.counties {
        let n = reg.intakes.iter().filter(|i| i.county == c.code).count();
        let d = reg
            .intakes
            .iter()
            .filter(|i| i.county == c.code && i.metering_duty)
            .count();
        let wl = reg.wells.iter().filter(|x| x.county == c.code).count();
        let date = |d: Option<Date>| d.map_or("-".to_string(), |d| d.to_string());
        rows.push(vec![
            c.code.to_string(),
            c.name.clone(),
            n.to_string(),
            d.to_string(),
            wl.to_string(),
            date(c.self_assessment),
            date(c.exit),
        ]);
    }
    s.push_str(&table(
        &[
            "code",
            "county",
            "intakes",
            "metered",
            "wells",
            "self-assess",
            "exit",
        ],
        &rows,
        &[false, false, true, true, true, true, true],
    ));
    s
}

/// `gwmon devices`: one line per meter and well, and the thresholds of `[metering]`.
pub fn devices_table(rows: &[crate::assess::devices::DeviceStatus], cfg: &Config) -> String {
    use crate::assess::devices::{DeviceKind, DeviceState};
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|d| {
            let (kind, value) = match d.kind {
                DeviceKind::Meter => ("水表", d.last_value.map(|v| format!("{v} m³"))),
                DeviceKind::Well => ("水位井", d.last_value.map(|v| format!("埋深 {v} m"))),
            };
            let state = match (d.state, d.silent_days) {
                (DeviceState::Silent, Some(days)) => format!("静默 {days} 天"),
                (s, _) => s.label().to_string(),
            };
            vec![
                kind.to_string(),
                d.id.clone(),
                d.name.clone(),
                d.county_name.clone(),
                if d.obliged { "是" } else { "否" }.to_string(),
                d.last_reading.clone().unwrap_or_else(|| "—".into()),
                value.unwrap_or_else(|| "—".into()),
                d.readings_today.to_string(),
                d.quarantined_today.to_string(),
                state,
            ]
        })
        .collect();
    let silent = rows
        .iter()
        .filter(|d| d.state == DeviceState::Silent)
        .count();
    let never = rows
        .iter()
        .filter(|d| d.state == DeviceState::NeverReported)
        .count();
    let mut out = table(
        &[
            "类型",
            "编码",
            "名称",
            "县（市、区）",
            "在线计量",
            "最近读数时间",
            "最近读数",
            "当日读数",
            "当日隔离",
            "状态",
        ],
        &body,
        &[
            false, false, false, false, false, false, true, true, true, false,
        ],
    );
    let _ = writeln!(
        out,
        "\n共 {} 台：静默 {silent}，从未上报 {never}。静默阈值：水表 {} 天，水位井 {} 天（[metering]）。",
        rows.len(),
        cfg.metering.silent_after_days,
        cfg.metering.well_silent_after_days,
    );
    out
}

/// `gwmon quarantine`: refusals grouped by reason and origin.
pub fn quarantine_table(
    groups: &[crate::assess::devices::QuarantineGroup],
    clock: &crate::domain::LocalClock,
    since: &str,
) -> String {
    let body: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.reason_code.clone(),
                g.origin.clone(),
                g.rows.to_string(),
                g.elements.to_string(),
                clock.format(g.last_received_at),
                crate::domain::sanitize::for_log(&g.last_reason, 120).into_owned(),
            ]
        })
        .collect();
    let mut out = table(
        &["原因代码", "来源", "条数", "元素", "最近", "最近一条原因"],
        &body,
        &[false, false, true, true, false, false],
    );
    let _ = writeln!(
        out,
        "\n自 {since} 起隔离 {} 条（{} 组）。",
        groups.iter().map(|g| g.rows).sum::<i64>(),
        groups.len()
    );
    out
}

/// The plans of the counties of `doc` as text: per year the cut needed, what the measures
/// deliver and the gap; the measures; the candidates with the cumulative cut.
pub fn plan_text(doc: &StatusDoc) -> String {
    let w = |v: f64| crate::domain::volume::wan(v);
    let opt = |v: Option<f64>| v.map_or_else(|| super::wording::DASH.to_owned(), w);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "退出路径（万 m³）  截至 {}{}",
        doc.as_of,
        if doc.example_data {
            "  【示例数据：指标、名录与项目水量为示例值】"
        } else {
            ""
        }
    );
    for c in &doc.counties {
        let _ = writeln!(s);
        let Some(p) = &c.plan else {
            let _ = writeln!(s, "{}（{}）：规划未列入本批次，无退出期限", c.name, c.code);
            continue;
        };
        let _ = writeln!(
            s,
            "{}（{}）  退出年份 {}  达标要求 k ≤ {}",
            c.name,
            c.code,
            p.exit_year,
            super::wording::trim_decimal(p.pass_k, 2)
        );
        let _ = writeln!(
            s,
            "  {:<6}{:>10}{:>12}{:>12}{:>10}{:>10}{:>10}",
            "年份", "管控指标", "允许取水", "本年预测", "需压减", "措施可减", "缺口"
        );
        for y in &p.years {
            let _ = writeln!(
                s,
                "  {:<8}{:>12}{:>14}{:>14}{:>13}{:>14}{:>12}",
                y.year,
                opt(y.quota_m3),
                opt(y.allowed_m3),
                opt(y.baseline_m3),
                opt(y.cut_needed_m3),
                w(y.delivered_m3),
                opt(y.gap_m3)
            );
        }
        if p.measures.is_empty() {
            let _ = writeln!(s, "  措施：无已计划的关停或项目");
        } else {
            let _ = writeln!(s, "  措施：");
            for [from, kind, name, annual, basis] in super::report::way_out::measure_rows(p) {
                let _ = writeln!(
                    s,
                    "    {from}  {kind}  {name}  {annual} 万 m³/年（{basis}）"
                );
            }
        }
        if !p.candidates.is_empty() {
            let _ = writeln!(s, "  供水管网覆盖内尚未计划关停的自备井（按上年取水量）：");
            for k in &p.candidates {
                let _ = writeln!(
                    s,
                    "    {}  {}  上年 {}  累计 {}",
                    k.id,
                    k.name,
                    w(k.last_year_m3),
                    w(k.cumulative_m3)
                );
            }
        }
        let verdict = super::report::way_out::conclusion(p);
        let _ = writeln!(s, "  结论：{verdict}");
    }
    if !doc.springs.is_empty() {
        let _ = writeln!(s, "\n岩溶大泉（任务42–43）：代表井月均水位对泉口高程");
        for [name, outlet, month, margin, above, trend, reach] in
            super::report::way_out::spring_rows(&doc.springs)
        {
            let _ = writeln!(
                s,
                "  {name}  泉口 {outlet} m  {month} 与泉口差 {margin} m  近 12 月高于泉口 {above}  趋势 {trend} m/a  复流：{reach}"
            );
        }
    }
    s
}
