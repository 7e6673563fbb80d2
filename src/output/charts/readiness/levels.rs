//! Chart 1's bottom panel: each aquifer type's monthly mean water level (or depth, on an
//! inverted axis) with its Sen's-slope trend extended to the exit deadline.

use super::*;

/// One aquifer's series as drawn: points, trend, colours, and what its legend says.
struct Drawn {
    points: Vec<(f64, f64)>,
    trend: Option<Trend>,
    line: RGBColor,
    trend_colour: RGBColor,
    label: String,
    status: String,
}

pub(super) fn level_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &ExitReadiness,
    years: &Years,
) -> Result<(), ChartError> {
    let x_range = years.range();
    let end = m
        .deadlines
        .iter()
        .map(|d| d.date)
        .max()
        .unwrap_or(Ymd::new(years.last, 12, 31))
        .fractional_year()
        .min(x_range.end);
    // Several aquifers are drawn as changes from each one's first-year mean: their levels lie
    // metres (often hundreds) apart, and no line averages them.
    let relative = m.levels.len() > 1;
    let drawn: Vec<Drawn> = m
        .levels
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut points: Vec<(f64, f64)> = a
                .levels
                .iter()
                .filter(|p| p.value.is_finite())
                .map(|p| (p.date.fractional_year(), p.value))
                .filter(|(x, _)| x_range.contains(x))
                .collect();
            let mut trend = a
                .trend
                .filter(|t| t.slope_m_per_year.is_finite() && t.anchor.value.is_finite())
                .filter(|_| !points.is_empty());
            if relative && let Some(first) = points.first().map(|p| p.0.floor()) {
                let year: Vec<f64> = points
                    .iter()
                    .filter(|p| p.0.floor() == first)
                    .map(|p| p.1)
                    .collect();
                let base = year.iter().sum::<f64>() / year.len() as f64;
                for p in &mut points {
                    p.1 -= base;
                }
                if let Some(t) = &mut trend {
                    t.anchor.value -= base;
                }
            }
            let (line, trend_colour) = if relative {
                let c = colour::aquifer(&a.label, i);
                (c, c)
            } else {
                (colour::LEVEL, colour::TREND)
            };
            Drawn {
                points,
                trend,
                line,
                trend_colour,
                label: a.label.clone(),
                status: a.status.clone(),
            }
        })
        .collect();
    let any_points = drawn.iter().any(|d| !d.points.is_empty());
    // The decisive line over each series' own data, and, dotted, from its last month to the exit
    // deadline (only when the county has one).
    let has_deadline = !m.deadlines.is_empty();
    let over_data = |d: &Drawn| {
        let (first, last) = (d.points.first()?.0, d.points.last()?.0);
        d.trend.map(|t| t.segment(first, last))
    };
    let extended = |d: &Drawn| {
        let last = d.points.last()?.0;
        (has_deadline && end > last)
            .then_some(d.trend?)
            .map(|t| t.segment(last, end))
    };

    // The datum makes the level title too long for one rotated line on this panel.
    let (what, y_lines) = match (m.level_kind, relative) {
        (LevelKind::Level, false) => (
            "月均水位",
            [("水位 (m)", size::AXIS), ("1985国家高程基准", size::LABEL)],
        ),
        (LevelKind::Level, true) => (
            "月均水位变幅",
            [("水位变幅 (m)", size::AXIS), ("相对首年均值", size::LABEL)],
        ),
        (LevelKind::Depth, _) => (
            "月均埋深",
            [("埋深 (m)", size::AXIS), ("坐标向下增大", size::LABEL)],
        ),
    };
    let mut items = Vec::new();
    for d in &drawn {
        if d.points.is_empty() {
            continue;
        }
        let rate = d
            .trend
            .map_or(format!("{}，数据不足，无趋势线", d.status), |t| {
                let v = match m.level_kind {
                    // The line runs in depth; the rate is the level's.
                    LevelKind::Depth => -t.slope_m_per_year,
                    LevelKind::Level => t.slope_m_per_year,
                };
                format!("决定性年变幅 {} m/a，{}", signed(v, 2), d.status)
            });
        let name = if relative {
            d.label.clone()
        } else {
            format!("{what}（{}）", d.label)
        };
        items.push(LegendItem::new(
            Swatch::LineDot(d.line),
            format!("{name}：{rate}"),
        ));
    }
    if drawn.iter().any(|d| d.trend.is_some()) {
        items.push(LegendItem::new(
            Swatch::Dashed(if relative {
                colour::TEXT
            } else {
                colour::TREND
            }),
            "趋势线（决定性年变幅）",
        ));
        if has_deadline && drawn.iter().any(|d| extended(d).is_some()) {
            items.push(LegendItem::new(
                Swatch::Dotted(if relative {
                    colour::TEXT
                } else {
                    colour::TREND
                }),
                "延至退出期限",
            ));
        }
    }
    if items.is_empty() {
        items.push(LegendItem::new(
            Swatch::Line(colour::LEVEL),
            format!("{what}（无数据）"),
        ));
    }
    let plot = legend(area, &items)?;

    let mut ys: Vec<f64> = drawn
        .iter()
        .flat_map(|d| d.points.iter().map(|p| p.1))
        .collect();
    for seg in drawn
        .iter()
        .filter_map(over_data)
        .chain(drawn.iter().filter_map(extended))
    {
        ys.extend([seg[0].1, seg[1].1]);
    }
    let (lo, hi) = value_range(ys, 0.12, false);
    let y_range = match m.level_kind {
        LevelKind::Level => lo..hi,
        // Depth grows downward: the axis runs from the deepest value at the bottom.
        LevelKind::Depth => hi..lo,
    };
    // Without data the panel keeps its frame and axis title but shows no invented scale.
    let y_axis = if any_points {
        Ticked::nice(y_range, 6)
    } else {
        (Ticked::new(y_range, Vec::new()), 0)
    };
    let chart = time_chart(&plot, years, years.first_days(), y_axis, None)?;
    let da = chart.plotting_area();
    y_title(&plot, da.get_pixel_range().1, &y_lines)?;
    year_separators(da, years, lo, hi)?;
    deadline_lines(da, m, lo, hi)?;

    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    if !any_points {
        note_center(&pa, "无水位监测数据")?;
        return Ok(());
    }
    let total: usize = drawn.iter().map(|d| d.points.len()).sum();
    for d in &drawn {
        for run in runs(d.points.clone(), MAX_LEVEL_GAP) {
            if run.len() > 1 {
                da.draw(&PathElement::new(run, d.line.stroke_width(stroke::DATA)))?;
            }
        }
        if total <= 120 {
            for p in &d.points {
                da.draw(&Circle::new(*p, 8, d.line.filled()))?;
            }
        }
        if let Some(seg) = over_data(d) {
            da.draw(&DashedPathElement::new(
                seg.to_vec(),
                24,
                14,
                d.trend_colour.stroke_width(stroke::TREND),
            ))?;
        }
        if let Some(seg) = extended(d) {
            da.draw(&DashedPathElement::new(
                seg.to_vec(),
                4,
                12,
                d.trend_colour.stroke_width(stroke::TREND),
            ))?;
        }
    }
    if drawn.iter().all(|d| d.trend.is_none()) {
        let (w, _) = dims(&pa);
        note_box(&pa, "无参评井，不给出趋势线", (w / 2, 60))?;
    }
    if total == 1 {
        let (w, h) = dims(&pa);
        note_box(&pa, "仅 1 个月数据，不足以判断趋势", (w / 2, h - 60))?;
    }
    Ok(())
}
