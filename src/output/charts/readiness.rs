//! Chart 1, exit readiness of one county: the two things the self-assessment turns on, drawn on one
//! shared time axis that runs to the exit deadline.
//!
//! Top: annual groundwater withdrawal (bars, 万 m³) against the county quota (k = 1) drawn as a step
//! per year, the current year's to-date bar with its hatched year-end projection, and the
//! deadlines as vertical markers. Bottom: monthly mean water level (or depth, inverted axis) with the
//! Sen's-slope trend extended to the exit deadline. Caption: the verdict and the failing criteria.
//! Both panels use the same x range and label widths so years line up vertically.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::axes::{Ticked, runs, value_range};
use super::fonts;
use super::format::{fixed, signed, trim_decimal, wan};
use super::furniture::{
    LegendItem, Swatch, hatched_rect, legend, limit_line, note_box, note_center, page, watermark,
};
use super::spec::{ExitReadiness, LevelKind, Sanitize, Trend, Ymd};
use super::style::{colour, size, stroke, style_mesh, text, text_at};
use super::text::{boxed_text, dims, measure, pixel, wrap, y_title};

/// Canvas size in px.
pub(crate) const SIZE: (u32, u32) = (super::style::WIDTH, 1800);

const Y_LABEL_AREA: i32 = 240;
const X_LABEL_AREA: i32 = 130;
const RIGHT_MARGIN: i32 = 40;
/// The failing criteria get at most this many lines; the report text carries the full list.
const MAX_CAPTION_LINES: usize = 3;
/// At most this many years are drawn (the most recent); older data is outside the window.
const MAX_YEARS: i32 = 30;
/// Longest gap (years) a level line bridges; longer gaps break the line.
const MAX_LEVEL_GAP: f64 = 0.26;

/// The shared time axis: whole years `first..=last`, x from `first` to `last + 1`.
struct Years {
    first: i32,
    last: i32,
}

impl Years {
    fn of(m: &ExitReadiness) -> Self {
        let mut years: Vec<i32> = m.years.iter().map(|y| y.year).collect();
        years.extend(m.current.map(|c| c.year));
        years.extend(m.deadlines.iter().map(|d| d.date.year));
        years.extend(
            m.levels
                .iter()
                .filter(|p| p.value.is_finite())
                .map(|p| p.date.year),
        );
        let last = years
            .iter()
            .copied()
            .max()
            .unwrap_or(m.meta.as_of.year)
            .max(m.meta.as_of.year);
        let first = years
            .iter()
            .copied()
            .min()
            .unwrap_or(last)
            .max(last - MAX_YEARS + 1);
        Years { first, last }
    }

    fn range(&self) -> std::ops::Range<f64> {
        f64::from(self.first)..f64::from(self.last + 1)
    }

    fn contains(&self, year: i32) -> bool {
        (self.first..=self.last).contains(&year)
    }

    /// Tick positions (mid-year) for the year labels.
    fn ticks(&self) -> Vec<f64> {
        let step = if self.last - self.first >= 14 { 2 } else { 1 };
        (self.first..=self.last)
            .filter(|y| (y - self.first) % step == 0)
            .map(|y| f64::from(y) + 0.5)
            .collect()
    }
}

fn year_label(v: &f64) -> String {
    format!("{:.0}", v.floor())
}

/// Draws chart 1 on `root`, any plotters backend of 2400 × 1800 px
/// ([`ChartKind::size`](super::ChartKind::size)); wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_exit_readiness<DB: DrawingBackend>(
    m: &ExitReadiness,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let body = page(root, &m.meta, "超采区退出准备度", None)?;
    let (bw, bh) = dims(&body);

    // Caption at the bottom: verdict, then the failing criteria wrapped to the width.
    let verdict_style = text_at(size::NOTE + 4.0, verdict_colour(m), HPos::Left, VPos::Top);
    let crit_style = text_at(size::LEGEND, colour::TEXT, HPos::Left, VPos::Top);
    let verdict = format!(
        "结论：{}",
        if m.verdict.is_empty() {
            "（未给出）"
        } else {
            &m.verdict
        }
    );
    let criteria = if m.failing.is_empty() {
        "未达标项：无".to_owned()
    } else {
        format!("未达标项：{}", m.failing.join("；"))
    };
    let mut crit_lines = wrap(&body, &criteria, &crit_style, bw - 20);
    if crit_lines.len() > MAX_CAPTION_LINES {
        crit_lines.truncate(MAX_CAPTION_LINES);
        if let Some(last) = crit_lines.last_mut() {
            last.pop();
            last.push('…');
        }
    }
    let line_h = (size::LEGEND * 1.0) as i32;
    let caption_h = (size::NOTE * 1.15) as i32 + line_h * crit_lines.len() as i32 + 24;
    let (plots, caption) = body.split_vertically((bh - caption_h).max(bh / 2));
    caption.draw(&PathElement::new(
        vec![(0, 6), (bw, 6)],
        colour::GRID.stroke_width(2),
    ))?;
    caption.draw(&Text::new(verdict, (0, 18), verdict_style))?;
    let mut y = 18 + (size::NOTE * 1.15) as i32;
    for line in crit_lines {
        caption.draw(&Text::new(line, (0, y), crit_style.clone()))?;
        y += line_h;
    }

    let years = Years::of(m);
    let (_, ph) = dims(&plots);
    let (top, bottom) = plots.split_vertically((f64::from(ph) * 0.54) as i32);
    withdrawal_panel(&top, m, &years)?;
    level_panel(&bottom.margin(20, 0, 0, 0), m, &years)?;
    Ok(())
}

fn verdict_colour(m: &ExitReadiness) -> RGBColor {
    if m.failing.is_empty() {
        colour::TEXT
    } else {
        colour::LIMIT
    }
}

fn withdrawal_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &ExitReadiness,
    years: &Years,
) -> Result<(), ChartError> {
    let mut items = Vec::new();
    if m.years.iter().any(|y| y.withdrawal_m3.is_finite()) {
        items.push(LegendItem::new(Swatch::Bar(colour::BAR), "年地下水取水量"));
    }
    if let Some(c) = m.current {
        items.push(LegendItem::new(
            Swatch::Bar(colour::CURRENT),
            format!(
                "{}年截至 {:02}-{:02}",
                c.year, m.meta.as_of.month, m.meta.as_of.day
            ),
        ));
        if c.projected_m3.is_finite() {
            items.push(LegendItem::new(Swatch::Hatched(colour::BAR), "年末预测"));
        }
    }
    items.push(LegendItem::new(
        Swatch::Line(colour::LIMIT),
        "管控指标（k = 1；超指标的数值标红）",
    ));
    let plot = legend(area, &items)?;

    let in_window = |year: i32| years.contains(year);
    let mut values: Vec<f64> = Vec::new();
    for y in m.years.iter().filter(|y| in_window(y.year)) {
        values.extend([y.withdrawal_m3 / 1e4, y.quota_m3 / 1e4]);
    }
    if let Some(c) = m.current.filter(|c| in_window(c.year)) {
        values.extend([c.to_date_m3 / 1e4, c.projected_m3 / 1e4, c.quota_m3 / 1e4]);
    }
    let (_, data_max) = value_range(values.iter().copied(), 0.0, true);
    // Headroom above the tallest bar for value labels and the two rows of deadline labels.
    let y_max = data_max / 0.70;
    let y_axis = Ticked::nice(0f64..y_max, 6);
    let chart = time_chart(&plot, years, y_axis, Some("取水量（万 m³）"))?;
    let da = chart.plotting_area();
    year_separators(da, years, 0.0, y_max)?;
    deadlines(da, m, 0.0, y_max, Marks::Lines)?;

    let pa = da.strip_coord_spec();
    let px = |x: f64, y: f64| pixel(da, &(x, y));
    let value_style = text_at(size::LABEL, colour::TEXT, HPos::Center, VPos::Bottom);
    let over_style = text_at(size::LABEL, colour::LIMIT, HPos::Center, VPos::Bottom);
    let missing_style = text_at(size::LABEL - 6.0, colour::MUTED, HPos::Center, VPos::Bottom);

    // Complete years.
    let mut with_data: Vec<i32> = Vec::new();
    for y in m.years.iter().filter(|y| in_window(y.year)) {
        let x = f64::from(y.year);
        if !y.withdrawal_m3.is_finite() {
            continue;
        }
        with_data.push(y.year);
        let v = y.withdrawal_m3.max(0.0) / 1e4;
        da.draw(&Rectangle::new(
            [(x + 0.18, 0.0), (x + 0.82, v)],
            colour::BAR.filled(),
        ))?;
        let over = y.quota_m3.is_finite() && y.withdrawal_m3 > y.quota_m3;
        let (lx, ly) = px(x + 0.5, v);
        pa.draw(&Text::new(
            wan(y.withdrawal_m3),
            (lx, ly - 8),
            if over {
                over_style.clone()
            } else {
                value_style.clone()
            },
        ))?;
    }
    // Past years inside the window without data are marked, not left silently empty.
    let current_year = m.current.map_or(m.meta.as_of.year, |c| c.year);
    for year in years.first..current_year.min(years.last + 1) {
        if !with_data.contains(&year) {
            let (lx, ly) = px(f64::from(year) + 0.5, 0.0);
            pa.draw(&Text::new("无数据", (lx, ly - 8), missing_style.clone()))?;
        }
    }

    // Current year: solid to date, hatched up to the projection.
    if let Some(c) = m.current.filter(|c| in_window(c.year)) {
        let x = f64::from(c.year);
        let done = if c.to_date_m3.is_finite() {
            c.to_date_m3.max(0.0) / 1e4
        } else {
            0.0
        };
        if c.projected_m3.is_finite() && c.projected_m3 / 1e4 > done {
            let p0 = px(x + 0.18, done);
            let p1 = px(x + 0.82, c.projected_m3 / 1e4);
            hatched_rect(&pa, p0, p1, colour::BAR)?;
            let over = c.quota_m3.is_finite() && c.projected_m3 > c.quota_m3;
            let (lx, ly) = px(x + 0.5, c.projected_m3 / 1e4);
            boxed_text(
                &pa,
                &format!("预测 {}", wan(c.projected_m3)),
                (lx, ly - 8),
                if over { &over_style } else { &value_style },
            )?;
        }
        if c.to_date_m3.is_finite() {
            da.draw(&Rectangle::new(
                [(x + 0.18, 0.0), (x + 0.82, done)],
                colour::CURRENT.filled(),
            ))?;
            let (lx, top) = px(x + 0.5, done);
            let (_, bottom) = px(x + 0.5, 0.0);
            if bottom - top > 70 {
                let inside = text_at(size::LABEL, WHITE, HPos::Center, VPos::Top);
                pa.draw(&Text::new(wan(c.to_date_m3), (lx, top + 10), inside))?;
            } else if !(c.projected_m3.is_finite() && c.projected_m3 / 1e4 > done) {
                pa.draw(&Text::new(
                    wan(c.to_date_m3),
                    (lx, top - 8),
                    value_style.clone(),
                ))?;
            }
        } else {
            let (lx, ly) = px(x + 0.5, 0.0);
            pa.draw(&Text::new("无数据", (lx, ly - 8), missing_style.clone()))?;
        }
    }

    // Quota as a step per year; consecutive years are joined by vertical risers.
    let mut quotas: Vec<(i32, f64)> = m
        .years
        .iter()
        .map(|y| (y.year, y.quota_m3))
        .chain(m.current.map(|c| (c.year, c.quota_m3)))
        .filter(|(y, q)| in_window(*y) && q.is_finite())
        .map(|(y, q)| (y, q / 1e4))
        .collect();
    quotas.sort_by_key(|(y, _)| *y);
    quotas.dedup_by_key(|(y, _)| *y);
    let mut path: Vec<(f64, f64)> = Vec::new();
    let mut prev_year: Option<i32> = None;
    for (year, q) in &quotas {
        if prev_year.is_some_and(|p| p + 1 != *year) {
            limit_line(da, std::mem::take(&mut path))?;
        }
        let x = f64::from(*year);
        path.push((x, *q));
        path.push((x + 1.0, *q));
        prev_year = Some(*year);
    }
    if !path.is_empty() {
        limit_line(da, path)?;
    }
    if let Some((year, q)) = quotas.last() {
        // Label the quota where its line ends: to the right when there is room, else above it.
        let label = format!("指标 {}", trim_decimal(*q, 1));
        let (pw, _) = dims(&pa);
        let (lx, ly) = px(f64::from(*year + 1), *q);
        let style = text_at(size::LABEL, colour::LIMIT, HPos::Left, VPos::Center);
        if lx + 16 + measure(&pa, &label, &style).0 < pw {
            boxed_text(&pa, &label, (lx + 16, ly), &style)?;
        } else {
            let style = text_at(size::LABEL, colour::LIMIT, HPos::Right, VPos::Bottom);
            boxed_text(&pa, &label, (lx - 6, ly - 10), &style)?;
        }
    }
    let withdrawals: Vec<f64> = m
        .years
        .iter()
        .filter(|y| in_window(y.year))
        .map(|y| y.withdrawal_m3)
        .chain(
            m.current
                .filter(|c| in_window(c.year))
                .map(|c| c.to_date_m3),
        )
        .filter(|v| v.is_finite())
        .collect();
    if withdrawals.is_empty() {
        note_center(&pa, "无取水量数据")?;
    } else if withdrawals.iter().all(|v| *v == 0.0) {
        note_center(&pa, "取水量均为 0")?;
    }

    deadlines(da, m, 0.0, y_max, Marks::Labels)?;
    watermark(&pa, m.meta.example)?;
    Ok(())
}

type TimeArea<DB> = DrawingArea<DB, Cartesian2d<Ticked, Ticked>>;

/// A panel's chart on the shared time axis: years along the bottom, `y_axis` (with the decimals
/// of its labels) at the left, titled `y_desc` when the title fits on one rotated line.
fn time_chart<'a, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, Shift>,
    years: &Years,
    (y_axis, y_dec): (Ticked, usize),
    y_desc: Option<&str>,
) -> Result<ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>, ChartError> {
    let mut chart = ChartBuilder::on(plot)
        .margin_right(RIGHT_MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(Ticked::new(years.range(), years.ticks()), y_axis)?;
    let fy = |v: &f64| fixed(*v, y_dec);
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh)
        .disable_x_mesh()
        .x_label_formatter(&year_label)
        .y_label_formatter(&fy)
        .x_desc("年份");
    if let Some(desc) = y_desc {
        mesh.y_desc(desc);
    }
    mesh.draw()?;
    Ok(chart)
}

/// Light vertical lines at the year boundaries.
fn year_separators<DB: DrawingBackend>(
    da: &TimeArea<DB>,
    years: &Years,
    y0: f64,
    y1: f64,
) -> Result<(), ChartError> {
    for y in years.first + 1..=years.last {
        let x = f64::from(y);
        da.draw(&PathElement::new(
            vec![(x, y0), (x, y1)],
            colour::GRID.stroke_width(stroke::GRID),
        ))?;
    }
    Ok(())
}

/// Which part of the deadline markers to draw: the lines go under the data, the labels over it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Marks {
    Lines,
    Labels,
}

/// Vertical dashed markers at the deadlines, or their labels (staggered in two rows).
fn deadlines<DB: DrawingBackend>(
    da: &TimeArea<DB>,
    m: &ExitReadiness,
    y0: f64,
    y1: f64,
    marks: Marks,
) -> Result<(), ChartError> {
    let range = da.get_x_range();
    let mut sorted: Vec<_> = m
        .deadlines
        .iter()
        .filter(|d| range.contains(&d.date.fractional_year()))
        .collect();
    sorted.sort_by_key(|d| d.date);
    if marks == Marks::Lines {
        for d in &sorted {
            let x = d.date.fractional_year();
            da.draw(&DashedPathElement::new(
                vec![(x, y0), (x, y1)],
                22,
                12,
                colour::DEADLINE.stroke_width(stroke::MARKER),
            ))?;
        }
        return Ok(());
    }
    let pa = da.strip_coord_spec();
    let (w, _) = dims(&pa);
    let style = text(size::LABEL, colour::DEADLINE);
    for (i, d) in sorted.iter().enumerate() {
        let (x, top) = pixel(da, &(d.date.fractional_year(), y1));
        let label = format!("{} {}", d.label, d.date);
        let (tw, _) = measure(&pa, &label, &style);
        let row_y = top + 12 + (i % 2) as i32 * (size::LABEL * 1.15) as i32;
        // Text to the right of the line unless it would run off the plot.
        let (x0, anchor) = if x + 12 + tw < w {
            (x + 12, HPos::Left)
        } else {
            (x - 12, HPos::Right)
        };
        let bx0 = if matches!(anchor, HPos::Left) {
            x0 - 6
        } else {
            x0 - tw - 6
        };
        pa.draw(&Rectangle::new(
            [
                (bx0, row_y - 4),
                (bx0 + tw + 12, row_y + (size::LABEL * 0.95) as i32),
            ],
            WHITE.mix(0.85).filled(),
        ))?;
        pa.draw(&Text::new(
            label,
            (x0, row_y),
            text_at(size::LABEL, colour::DEADLINE, anchor, VPos::Top),
        ))?;
    }
    Ok(())
}

fn level_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &ExitReadiness,
    years: &Years,
) -> Result<(), ChartError> {
    let x_range = years.range();
    let points: Vec<(f64, f64)> = m
        .levels
        .iter()
        .filter(|p| p.value.is_finite())
        .map(|p| (p.date.fractional_year(), p.value))
        .filter(|(x, _)| x_range.contains(x))
        .collect();
    let end = m
        .deadlines
        .iter()
        .map(|d| d.date)
        .max()
        .unwrap_or(Ymd::new(years.last, 12, 31))
        .fractional_year()
        .min(x_range.end);
    let trend = m
        .trend
        .filter(|t| t.slope_m_per_year.is_finite() && t.anchor.value.is_finite())
        .filter(|_| !points.is_empty());
    // From the first measurement to the exit deadline.
    let start = points.first().map_or(end, |p| p.0).min(end);
    let trend_line = trend.map(|t| t.segment(start, end));

    // The datum makes the level title too long for one rotated line on this panel.
    let (what, y_lines) = match m.level_kind {
        LevelKind::Level => (
            "月均水位",
            [("水位 (m)", size::AXIS), ("1985国家高程基准", size::LABEL)],
        ),
        LevelKind::Depth => (
            "月均埋深",
            [("埋深 (m)", size::AXIS), ("坐标向下增大", size::LABEL)],
        ),
    };
    let mut items = Vec::new();
    if !points.is_empty() {
        items.push(LegendItem::new(Swatch::LineDot(colour::LEVEL), what));
    }
    if let Some(t) = trend {
        items.push(LegendItem::new(
            Swatch::Dashed(colour::TREND),
            trend_text(&t, m.level_kind),
        ));
    }
    if items.is_empty() {
        items.push(LegendItem::new(
            Swatch::Line(colour::LEVEL),
            format!("{what}（无数据）"),
        ));
    }
    let plot = legend(area, &items)?;

    let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    if let Some(seg) = &trend_line {
        ys.extend([seg[0].1, seg[1].1]);
    }
    let (lo, hi) = value_range(ys, 0.12, false);
    let y_range = match m.level_kind {
        LevelKind::Level => lo..hi,
        // Depth grows downward: the axis runs from the deepest value at the bottom.
        LevelKind::Depth => hi..lo,
    };
    // Without data the panel keeps its frame and axis title but shows no invented scale.
    let y_axis = if points.is_empty() {
        (Ticked::new(y_range, Vec::new()), 0)
    } else {
        Ticked::nice(y_range, 6)
    };
    let chart = time_chart(&plot, years, y_axis, None)?;
    let da = chart.plotting_area();
    y_title(&plot, da.get_pixel_range().1, &y_lines)?;
    year_separators(da, years, lo, hi)?;
    deadlines(da, m, lo, hi, Marks::Lines)?;

    let pa = da.strip_coord_spec();
    if points.is_empty() {
        note_center(&pa, "无水位监测数据")?;
    } else {
        for run in runs(points.clone(), MAX_LEVEL_GAP) {
            if run.len() > 1 {
                da.draw(&PathElement::new(
                    run,
                    colour::LEVEL.stroke_width(stroke::DATA),
                ))?;
            }
        }
        if points.len() <= 120 {
            for p in &points {
                da.draw(&Circle::new(*p, 8, colour::LEVEL.filled()))?;
            }
        }
        if let Some(seg) = trend_line {
            da.draw(&DashedPathElement::new(
                seg.to_vec(),
                24,
                14,
                colour::TREND.stroke_width(stroke::TREND),
            ))?;
        } else {
            let (w, _) = dims(&pa);
            note_box(&pa, "未给出趋势结果", (w / 2, 60))?;
        }
        if points.len() == 1 {
            let (w, h) = dims(&pa);
            note_box(&pa, "仅 1 个月数据，不足以判断趋势", (w / 2, h - 60))?;
        }
    }
    watermark(&pa, m.meta.example)?;
    Ok(())
}

/// Legend text of a trend: slope with sign and unit, and the level's direction in words.
pub(crate) fn trend_text(t: &Trend, kind: LevelKind) -> String {
    let slope = signed(t.slope_m_per_year, 3);
    match kind {
        LevelKind::Level => format!(
            "Sen 趋势线：{slope} m/a，水位{}（延至退出期限）",
            t.direction.label()
        ),
        LevelKind::Depth => format!(
            "Sen 趋势线：埋深 {slope} m/a，水位{}（延至退出期限）",
            t.direction.label()
        ),
    }
}
