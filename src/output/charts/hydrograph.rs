//! Chart 4, hydrographs of a county's monitoring wells as small multiples: one panel per well on
//! its own y scale, so a decline of 0.3 m/a shows as a slope rather than a flat line next to a
//! well 30 m higher. Panels are grouped by aquifer type, labelled directly (id, name, group,
//! Sen's slope), carry the well's level target where it has one, and run
//! [`Hydrographs::PER_PAGE`] to a page (`hydrographs.png`, `hydrographs-2.png`, …) so every well
//! is shown and none is summarised away.
//!
//! The sign trap of groundwater charts is depth versus level: a rising depth is a falling level.
//! The subtitle therefore always says which is plotted — `水位 (m，1985国家高程基准)`, up = more
//! water, or `埋深 (m，坐标向下增大)` on an inverted axis so that down still means less water —
//! and each panel states the level's direction in words. Groups differ by colour (Okabe–Ito) and
//! marker shape, trends are dashed and targets dash-dotted, so a greyscale print reads the same.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::axes::{Ticked, runs, time_ticks, value_range};
use super::fonts;
use super::format::{fixed, signed, time_label, trim_decimal};
use super::furniture::{LegendItem, Swatch, legend, note_center, page, watermark};
use super::layout::{dims, pixel, text_width};
use super::spec::{Hydrographs, LevelKind, Sanitize, Subject, Trend, WellSeries};
use super::style::{WIDTH, colour, size, stroke, text, text_at};

/// Panels per row.
const COLS: usize = 3;
/// Height of one row of panels in px.
const PANEL_H: u32 = 560;
/// Height of the page around the panels: title, subtitle, legend, footer.
const FRAME_H: u32 = 560;
/// Text sizes inside a panel: the house label size, 7 pt when the chart is printed 16 cm wide.
const PANEL_TITLE: f64 = 48.0;
const PANEL_TEXT: f64 = 46.0;
const PANEL_TICK: f64 = 46.0;

/// Panels per row of chart `m`: springs (a handful, each a city-level figure) get the full
/// width each.
fn cols(m: &Hydrographs) -> usize {
    match m.subject {
        Subject::Springs => 1,
        Subject::Wells => COLS,
    }
}

/// Canvas size in px: as many rows as the page's panels need.
pub(crate) fn size(m: &Hydrographs) -> (u32, u32) {
    let n = m.page_wells(m.page).len().max(1);
    let rows = n.div_ceil(cols(m)) as u32;
    (WIDTH, FRAME_H + rows * PANEL_H)
}

/// Longest gap (years) a line bridges: a quarter, so monthly data with one missing month stays
/// joined while a season-long outage shows as a break.
const MAX_GAP: f64 = 0.26;
/// Markers are drawn only for sparse series (monthly data); daily series are plain lines.
const MAX_MARKED_POINTS: usize = 80;

/// Finite points of a well as (fractional year, m).
fn points(w: &WellSeries) -> Vec<(f64, f64)> {
    w.points
        .iter()
        .filter(|p| p.value.is_finite())
        .map(|p| (p.date.fractional_year(), p.value))
        .collect()
}

/// A well's trend line over the span of its own data.
fn trend_line(t: &Trend, pts: &[(f64, f64)]) -> Option<[(f64, f64); 2]> {
    if !(t.slope_m_per_year.is_finite() && t.anchor.value.is_finite()) {
        return None;
    }
    let lo = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let hi = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return None;
    }
    Some(t.segment(lo, hi))
}

/// The panel's first line: id and name, or that the well has no data.
fn title_text(w: &WellSeries, pts: &[(f64, f64)]) -> String {
    match (pts.is_empty(), w.name.is_empty()) {
        (true, _) => format!("{}（无数据）", w.id),
        (false, true) => w.id.clone(),
        (false, false) => format!("{} {}", w.id, w.name),
    }
}

/// The panel's second line: the trend (slope and the level's direction in words), where its line
/// can be drawn (two or more dates).
fn trend_text(w: &WellSeries, kind: LevelKind, pts: &[(f64, f64)]) -> Option<String> {
    let t = w.trend.filter(|t| trend_line(t, pts).is_some())?;
    let slope = signed(t.slope_m_per_year, 2);
    let what = match kind {
        LevelKind::Level => "",
        LevelKind::Depth => "埋深 ",
    };
    Some(format!("{what}{slope} m/a，水位{}", t.direction.label()))
}

/// Draws marker shape `shape` (circle, square, triangle, diamond) at pixel `(x, y)`.
fn marker<DB: DrawingBackend>(
    pa: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    shape: usize,
    c: RGBColor,
    r: i32,
) -> Result<(), ChartError> {
    match shape % 4 {
        0 => pa.draw(&Circle::new((x, y), r as u32, c.filled()))?,
        1 => pa.draw(&Rectangle::new(
            [(x - r, y - r), (x + r, y + r)],
            c.filled(),
        ))?,
        2 => pa.draw(&Polygon::new(
            vec![(x, y - r - 2), (x - r - 2, y + r), (x + r + 2, y + r)],
            c.filled(),
        ))?,
        _ => pa.draw(&Polygon::new(
            vec![
                (x, y - r - 3),
                (x + r + 3, y),
                (x, y + r + 3),
                (x - r - 3, y),
            ],
            c.filled(),
        ))?,
    }
    Ok(())
}

/// Draws page [`Hydrographs::page`] of chart 4 on `root`, any plotters backend of
/// [`ChartKind::size`](super::ChartKind::size) (2400 px wide, rows as needed); wrap a bitmap
/// backend in [`GlyphFix`](super::GlyphFix).
pub fn draw_hydrographs<DB: DrawingBackend>(
    m: &Hydrographs,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let springs = m.subject == Subject::Springs;
    let (title, what) = match (m.subject, m.kind) {
        (Subject::Springs, _) => (
            "岩溶大泉：泉域岩溶水位与泉口高程",
            "代表井月均水位 (m，1985国家高程基准)",
        ),
        (_, LevelKind::Level) => ("监测井地下水水位过程线", "水位 (m，1985国家高程基准)"),
        (_, LevelKind::Depth) => ("监测井地下水埋深过程线", "埋深 (m，坐标向下增大)"),
    };
    let pages = m.pages();
    let page_no = m.page.min(pages - 1);
    let wells = m.page_wells(page_no);
    let all: Vec<(&WellSeries, Vec<(f64, f64)>)> = m.wells.iter().map(|w| (w, points(w))).collect();
    let has_data = all.iter().any(|(_, p)| !p.is_empty());
    let mut subtitle = if springs {
        format!(
            "共 {} 处泉；纵轴：{what}，每泉独立刻度；水位高于泉口即复流",
            m.wells.len()
        )
    } else {
        format!(
            "第 {}/{pages} 页，共 {} 眼井；纵轴：{what}，每井独立刻度",
            page_no + 1,
            m.wells.len()
        )
    };
    if has_data && all.iter().all(|(_, p)| p.len() <= 1) {
        subtitle.push_str("；每井仅 1 个数据点，不足以判断趋势");
    } else if !has_data && !m.wells.is_empty() {
        subtitle.push_str("；无水位监测数据");
    }
    let body = page(root, &m.meta, title, Some(&subtitle))?;

    // Groups in the order of the whole chart, so a group keeps its colour across pages.
    let mut groups: Vec<&str> = Vec::new();
    for w in m.ordered() {
        if !groups.contains(&w.group.as_str()) {
            groups.push(&w.group);
        }
    }
    let group_of = |w: &WellSeries| groups.iter().position(|g| *g == w.group).unwrap_or(0);
    let series_colour = |g: usize| colour::aquifer(groups[g], g);

    let mut items: Vec<LegendItem> = Vec::new();
    let mut on_page: Vec<usize> = wells.iter().map(|w| group_of(w)).collect();
    on_page.dedup();
    for g in &on_page {
        let label = if groups[*g].is_empty() {
            if springs {
                "泉域岩溶水位"
            } else {
                "监测井"
            }
            .to_owned()
        } else {
            groups[*g].to_owned()
        };
        items.push(LegendItem::new(Swatch::LineDot(series_colour(*g)), label));
    }
    if all
        .iter()
        .any(|(w, p)| w.trend.is_some_and(|t| trend_line(&t, p).is_some()))
    {
        items.push(LegendItem::new(Swatch::Dashed(colour::TEXT), "Sen 趋势线"));
    }
    if wells.iter().any(|w| w.target_m.is_some()) {
        items.push(LegendItem::new(
            Swatch::Dashed(colour::LIMIT),
            if springs {
                "泉口高程"
            } else {
                "水位控制目标"
            },
        ));
    }
    if wells.iter().any(|w| !w.outliers.is_empty()) {
        items.push(LegendItem::new(
            Swatch::Bar(colour::OVER),
            "异常值（不计入均值、趋势和目标）",
        ));
    }
    if wells.iter().any(|w| !w.steps.is_empty()) {
        items.push(LegendItem::new(
            Swatch::Line(colour::OI_PURPLE),
            "水位突变（核对基准或测点）",
        ));
    }
    let grid = legend(&body, &items)?;

    // One time axis for all wells of the county, so panels compare across pages.
    let xs = all.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let (x_lo, x_hi) = match (
        xs.clone().fold(f64::INFINITY, f64::min),
        xs.fold(f64::NEG_INFINITY, f64::max),
    ) {
        (lo, hi) if hi - lo >= 1.0 / 6.0 => (lo - (hi - lo) * 0.02, hi + (hi - lo) * 0.02),
        // At least two months wide, so one month of data sits in a readable window.
        (lo, hi) if lo.is_finite() && hi.is_finite() => {
            let mid = (lo + hi) / 2.0;
            (mid - 1.0 / 12.0, mid + 1.0 / 12.0)
        }
        _ => {
            let y = f64::from(m.meta.as_of.year);
            (y, y + 1.0)
        }
    };

    if wells.is_empty() {
        note_center(&grid, "无水位监测数据")?;
        watermark(&grid, m.meta.example)?;
        return Ok(());
    }
    watermark(&grid, m.meta.example)?;
    let rows = wells.len().div_ceil(cols(m));
    let cells = grid.split_evenly((rows, cols(m)));
    for (cell, w) in cells.iter().zip(&wells) {
        let g = group_of(w);
        panel(
            cell,
            m.kind,
            w,
            (x_lo, x_hi),
            series_colour(g),
            g,
            groups[g],
        )?;
    }
    Ok(())
}

/// One well's panel: title lines above, its own y scale, the series, trend and target.
fn panel<DB: DrawingBackend>(
    cell: &DrawingArea<DB, Shift>,
    kind: LevelKind,
    w: &WellSeries,
    (x_lo, x_hi): (f64, f64),
    c: RGBColor,
    shape: usize,
    group: &str,
) -> Result<(), ChartError> {
    let area = cell.margin(10, 24, 10, 10);
    let (aw, _) = dims(&area);
    let pts = points(w);
    let title = title_text(w, &pts);
    area.draw(&Text::new(
        title,
        (0, 0),
        text_at(PANEL_TITLE, colour::TEXT, HPos::Left, VPos::Top),
    ))?;
    let mut second: Vec<String> = Vec::new();
    if !group.is_empty() {
        second.push(group.to_owned());
    }
    second.extend(trend_text(w, kind, &pts));
    if let Some(note) = &w.target_note {
        second.push(note.clone());
    } else if let Some(t) = w.target_m {
        second.push(format!("目标 {} m", trim_decimal(t, 2)));
    }
    // The second line drops its least important parts rather than run into the next panel.
    let mut line = second.join(" · ");
    while text_width(&line, PANEL_TEXT) > aw && second.len() > 1 {
        second.remove(0);
        line = second.join(" · ");
    }
    area.draw(&Text::new(
        line,
        (0, (PANEL_TITLE * 1.05) as i32),
        text_at(PANEL_TEXT, colour::MUTED, HPos::Left, VPos::Top),
    ))?;
    let plot = area.margin((PANEL_TITLE * 1.05 + PANEL_TEXT * 1.1) as u32, 0, 0, 0);

    let mut ys: Vec<f64> = pts.iter().map(|q| q.1).collect();
    let seg = w.trend.and_then(|t| trend_line(&t, &pts));
    if let Some(s) = &seg {
        ys.extend([s[0].1, s[1].1]);
    }
    ys.extend(w.target_m);
    let has = !pts.is_empty();
    let (lo, hi) = value_range(ys, 0.1, false);
    let y_range = match kind {
        LevelKind::Level => lo..hi,
        LevelKind::Depth => hi..lo,
    };
    let (ticks, monthly) = if has {
        time_ticks(x_lo, x_hi)
    } else {
        (Vec::new(), false)
    };
    // Thinned so the labels fit a panel's width: year labels are ≈ 90 px, months ≈ 150 px.
    let max_ticks = if monthly { 3 } else { 5 };
    let keep = ticks.len().div_ceil(max_ticks).max(1);
    let ticks: Vec<f64> = ticks.into_iter().step_by(keep).collect();
    let (y_axis, y_dec) = if has {
        Ticked::nice(y_range, 4)
    } else {
        (Ticked::new(y_range, Vec::new()), 0)
    };
    let mut chart = ChartBuilder::on(&plot)
        .margin_right(30)
        .margin_top(24)
        .x_label_area_size(76)
        .y_label_area_size(150)
        .build_cartesian_2d(Ticked::new(x_lo..x_hi, ticks), y_axis)?;
    let fx = |v: &f64| time_label(*v, monthly);
    let fy = |v: &f64| fixed(*v, y_dec);
    chart
        .configure_mesh()
        .label_style(text(PANEL_TICK, colour::TEXT))
        .bold_line_style(colour::GRID.stroke_width(stroke::GRID))
        .light_line_style(TRANSPARENT)
        .max_light_lines(0)
        .axis_style(colour::AXIS.stroke_width(stroke::AXIS))
        .set_all_tick_mark_size(8)
        // Longer ticks below push the year labels clear of the lowest level label.
        .set_tick_mark_size(LabelAreaPosition::Bottom, 14)
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .draw()?;
    let da = chart.plotting_area();
    let pa = da.strip_coord_spec();
    if let Some(t) = w.target_m {
        let dash = vec![(x_lo, t), (x_hi, t)];
        // Long dashes, thicker than the trend's short ones: the two differ in greyscale too.
        da.draw(&DashedPathElement::new(
            dash,
            44,
            14,
            colour::LIMIT.stroke_width(stroke::TREND),
        ))?;
    }
    for run in runs(pts.clone(), MAX_GAP) {
        if run.len() > 1 {
            da.draw(&PathElement::new(run, c.stroke_width(stroke::DATA - 2)))?;
        }
    }
    let step = (pts.len() / MAX_MARKED_POINTS).max(1);
    let r = if pts.len() <= MAX_MARKED_POINTS { 6 } else { 4 };
    for p in pts.iter().step_by(step.max(pts.len() / 24).max(1)) {
        marker(&pa, pixel(da, p), shape, c, r)?;
    }
    if let Some(s) = seg {
        da.draw(&DashedPathElement::new(
            s.to_vec(),
            20,
            12,
            colour::TEXT.stroke_width(stroke::TREND - 2),
        ))?;
    }
    // A step: a vertical line where the record jumps.
    for d in &w.steps {
        let x = d.fractional_year();
        if (x_lo..=x_hi).contains(&x) {
            da.draw(&PathElement::new(
                vec![(x, lo), (x, hi)],
                colour::OI_PURPLE.stroke_width(stroke::DATA - 2),
            ))?;
        }
    }
    // Outliers as squares, held inside the panel: a decimal slip tens of metres off would
    // otherwise flatten the record it is no part of.
    for o in &w.outliers {
        let x = o.date.fractional_year();
        if o.value.is_finite() && (x_lo..=x_hi).contains(&x) {
            let y = o.value.clamp(lo.min(hi), lo.max(hi));
            let (px, py) = pixel(da, &(x, y));
            pa.draw(&Rectangle::new(
                [(px - 9, py - 9), (px + 9, py + 9)],
                colour::OVER.filled(),
            ))?;
        }
    }
    if !has {
        let (pw, ph) = dims(&pa);
        pa.draw(&Text::new(
            "无数据",
            (pw / 2, ph / 2),
            text_at(size::LABEL, colour::MUTED, HPos::Center, VPos::Center),
        ))?;
    }
    Ok(())
}
