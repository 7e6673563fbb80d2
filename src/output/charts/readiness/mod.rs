//! Chart 1, exit readiness of one county: what the self-assessment turns on, read at a glance.
//!
//! Headline: the verdict in its colour and symbol, this year's projection against the quota (the
//! gap in 万 m³ and %) and what next year's quota asks (the ceiling and the cut needed). Top
//! panel: annual groundwater withdrawal (bars, 万 m³) against the county quota (k = 1) drawn per
//! year at its own value through the exit year, the current year's to-date bar with its hatched
//! year-end projection, and the deadlines as vertical lines behind the data, labelled above the
//! plot. Bottom panel: monthly mean water level (or depth, inverted axis) with the Sen's-slope
//! trend extended to the exit deadline. Below: the criteria not met as a table, wrapped, never
//! cut, so the canvas grows with it ([`size`]). Both panels use the same x range and label widths
//! so years line up vertically; every value label is placed by a [`Placer`] so none sits on a
//! line or on another label.

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
use super::layout::{
    Placer, PxRect, dims, halo_text, ink_box, pixel, text_width, wrap_with, y_title,
};
use super::spec::{
    CriterionRow, CurrentYear, ExitReadiness, LevelKind, Sanitize, Trend, VerdictKind, YearQuota,
    Ymd,
};
use super::style::{MARGIN, WIDTH, colour, size, stroke, style_mesh, text_at};

mod levels;
mod table;

use levels::level_panel;
use table::{criteria_table, table_layout, table_width};

/// Canvas height without the criteria table, in px.
const BASE_HEIGHT: u32 = 1760;

/// Canvas size in px: the table of criteria not met adds its height, so nothing is cut.
pub(crate) fn size(m: &ExitReadiness) -> (u32, u32) {
    let table = table_layout(&m.failing, table_width());
    (WIDTH, BASE_HEIGHT + table.height as u32)
}

const Y_LABEL_AREA: i32 = 240;
const X_LABEL_AREA: i32 = 130;
const RIGHT_MARGIN: i32 = 40;
/// At most this many years are drawn (the most recent); older data is outside the window.
const MAX_YEARS: i32 = 30;
/// Longest gap (years) a level line bridges; longer gaps break the line.
const MAX_LEVEL_GAP: f64 = 0.26;

/// The shared time axis: whole years `first..=last`, x from `first` to `last + 1`.
struct Years {
    first: i32,
    last: i32,
}

/// What marks a value over its quota besides red.
const OVER_MARK: &str = "▲";

impl Years {
    fn of(m: &ExitReadiness) -> Self {
        let mut years: Vec<i32> = m.years.iter().map(|y| y.year).collect();
        years.extend(m.current.map(|c| c.year));
        years.extend(m.quotas_ahead.iter().map(|q| q.year));
        years.extend(m.deadlines.iter().map(|d| d.date.year));
        years.extend(
            m.levels
                .iter()
                .flat_map(|a| &a.levels)
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

    /// Tick positions on 1 January, labelled with their year, as hydrographs have them.
    fn first_days(&self) -> Vec<f64> {
        self.ticks().into_iter().map(f64::floor).collect()
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

/// The verdict's colour and the symbol that tells it apart in greyscale.
pub(crate) fn verdict_mark(kind: VerdictKind) -> (RGBColor, &'static str) {
    match kind {
        VerdictKind::Ready => (colour::READY, "√"),
        VerdictKind::AtRisk => (colour::AT_RISK, "△"),
        VerdictKind::NotReady => (colour::NOT_READY, "×"),
        VerdictKind::InsufficientData => (colour::NO_DATA, "？"),
    }
}

/// This year's projection against its quota: `2026 年预测 1526.4 万 m³，指标 1434.9 万 m³，超指标
/// 91.5 万 m³（+6.4%）` or `… 低于指标 8.0 万 m³（-0.7%）`; `None` without a projection or a quota.
pub(crate) fn gap_text(c: &CurrentYear) -> Option<String> {
    let (p, q) = (c.projected_m3, c.quota_m3);
    if !(p.is_finite() && q.is_finite() && q > 0.0) {
        return None;
    }
    let d = p - q;
    let pct = d / q * 100.0;
    let gap = if wan(d.abs()) == "0.0" {
        "与指标持平".to_owned()
    } else if d > 0.0 {
        format!("超指标 {} 万 m³（+{}%）", wan(d), fixed(pct, 1))
    } else {
        format!("低于指标 {} 万 m³（-{}%）", wan(-d), fixed(-pct, 1))
    };
    Some(format!(
        "{} 年预测 {} 万 m³，指标 {} 万 m³，{gap}",
        c.year,
        wan(p),
        trim_decimal(q / 1e4, 1)
    ))
}

/// What next year's quota asks of this year's projection: `2027 年需控制在 1420 万 m³ 以内，需压减
/// 106.4 万 m³（7.0%）`, the cut as a share of the projection; or that the projection already
/// keeps within it. `None` without a projection or next year's quota.
pub(crate) fn requirement_text(c: &CurrentYear, ahead: &[YearQuota]) -> Option<String> {
    let next = ahead
        .iter()
        .find(|q| q.year == c.year + 1 && q.quota_m3.is_finite() && q.quota_m3 > 0.0)?;
    let p = c.projected_m3;
    if !(p.is_finite() && p > 0.0) {
        return None;
    }
    let cut = p - next.quota_m3;
    let ceiling = trim_decimal(next.quota_m3 / 1e4, 1);
    Some(if cut > 0.0 {
        format!(
            "{} 年需控制在 {ceiling} 万 m³ 以内，需压减 {} 万 m³（{}%）",
            next.year,
            wan(cut),
            fixed(cut / p * 100.0, 1)
        )
    } else {
        format!(
            "{} 年指标 {ceiling} 万 m³，按本年预测可满足（余 {} 万 m³）",
            next.year,
            wan(-cut)
        )
    })
}

/// Draws chart 1 on `root`, any plotters backend of [`ChartKind::size`](super::ChartKind::size)
/// (2400 px wide, taller with more criteria not met); wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_exit_readiness<DB: DrawingBackend>(
    m: &ExitReadiness,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let body = page(root, &m.meta, "超采区退出准备度", None)?;
    let (bw, bh) = dims(&body);

    let table = table_layout(&m.failing, bw);
    let (upper, bottom) = body.split_vertically((bh - table.height).max(bh / 2));
    criteria_table(&bottom, &table, &m.failing)?;

    let head_h = headline(&upper, m)?;
    let plots = upper.margin(head_h as u32, 0, 0, 0);
    let years = Years::of(m);
    let (_, ph) = dims(&plots);
    let (top, bottom) = plots.split_vertically((f64::from(ph) * 0.58) as i32);
    withdrawal_panel(&top, m, &years)?;
    level_panel(&bottom.margin(20, 0, 0, 0), m, &years)?;
    Ok(())
}

/// The verdict pill, the gap and the requirement; returns the height used.
fn headline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    m: &ExitReadiness,
) -> Result<i32, ChartError> {
    let (w, _) = dims(area);
    let (c, symbol) = verdict_mark(m.verdict_kind);
    let verdict = format!(
        "{symbol} {}",
        if m.verdict.is_empty() {
            "结论未给出"
        } else {
            &m.verdict
        }
    );
    let pill_size = size::NOTE + 2.0;
    let tw = text_width(&verdict, pill_size);
    let pill_h = (pill_size * 1.15) as i32;
    area.draw(&Rectangle::new([(0, 0), (tw + 48, pill_h)], c.filled()))?;
    // Dark text on the light orange, white on the others: contrast first.
    let on = if m.verdict_kind == VerdictKind::AtRisk {
        colour::TEXT
    } else {
        WHITE
    };
    area.draw(&Text::new(
        verdict,
        (24, pill_h / 2),
        text_at(pill_size, on, HPos::Left, VPos::Center),
    ))?;

    let mut lines: Vec<(String, RGBColor)> = Vec::new();
    match m.current {
        Some(cur) => {
            let over = cur.projected_m3 > cur.quota_m3;
            match gap_text(&cur) {
                Some(g) => lines.push((
                    g,
                    if over {
                        colour::NOT_READY
                    } else {
                        colour::TEXT
                    },
                )),
                None if !cur.projected_m3.is_finite() => {
                    lines.push((format!("{} 年无年末预测", cur.year), colour::MUTED))
                }
                None => lines.push((format!("{} 年未设定管控指标", cur.year), colour::MUTED)),
            }
            if let Some(r) = requirement_text(&cur, &m.quotas_ahead) {
                lines.push((r, colour::TEXT));
            }
        }
        None => lines.push(("本年无取水量数据".to_owned(), colour::MUTED)),
    }
    // The first line goes beside the pill when it fits, the rest below.
    let fs = size::NOTE;
    let line_h = (fs * 1.1) as i32;
    let beside = tw + 48 + 40;
    let mut y = pill_h / 2;
    for (i, (s, col)) in lines.into_iter().enumerate() {
        let style = text_at(fs, col, HPos::Left, VPos::Center);
        if i == 0 && beside + text_width(&s, fs) <= w {
            area.draw(&Text::new(s, (beside, y), style))?;
            continue;
        }
        y = if y < pill_h {
            pill_h + line_h / 2 + 12
        } else {
            y + line_h
        };
        area.draw(&Text::new(s, (0, y), style))?;
    }
    Ok(y + line_h / 2 + 24)
}

/// Quotas per year in the window, in year order, each year once (万 m³).
fn quotas_by_year(m: &ExitReadiness, years: &Years) -> Vec<(i32, f64)> {
    let mut quotas: Vec<(i32, f64)> = m
        .years
        .iter()
        .map(|y| (y.year, y.quota_m3))
        .chain(m.current.map(|c| (c.year, c.quota_m3)))
        .chain(m.quotas_ahead.iter().map(|q| (q.year, q.quota_m3)))
        .filter(|(y, q)| years.contains(*y) && q.is_finite())
        .map(|(y, q)| (y, q / 1e4))
        .collect();
    quotas.sort_by_key(|(y, _)| *y);
    quotas.dedup_by_key(|(y, _)| *y);
    quotas
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
        "管控指标（k = 1，逐年；超指标的数值标红并加 ▲）",
    ));
    let with_legend = legend(area, &items)?;
    // A strip above the plot for the deadline labels, so they never sit on the data.
    let strip_h = if m.deadlines.is_empty() {
        0
    } else {
        deadline_row_h() * 2 + 16
    };
    let (strip, plot) = with_legend.split_vertically(strip_h);

    let in_window = |year: i32| years.contains(year);
    let quotas = quotas_by_year(m, years);
    let mut values: Vec<f64> = quotas.iter().map(|q| q.1).collect();
    for y in m.years.iter().filter(|y| in_window(y.year)) {
        values.push(y.withdrawal_m3 / 1e4);
    }
    if let Some(c) = m.current.filter(|c| in_window(c.year)) {
        values.extend([c.to_date_m3 / 1e4, c.projected_m3 / 1e4]);
    }
    let (_, data_max) = value_range(values.iter().copied(), 0.0, true);
    // Headroom above the tallest bar for a value label.
    let y_max = data_max * 1.2;
    let y_axis = Ticked::nice(0f64..y_max, 6);
    let chart = time_chart(&plot, years, years.ticks(), y_axis, Some("取水量（万 m³）"))?;
    let da = chart.plotting_area();
    year_separators(da, years, 0.0, y_max)?;
    deadline_lines(da, m, 0.0, y_max)?;

    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    let (pw, ph) = dims(&pa);
    let px = |x: f64, y: f64| pixel(da, &(x, y));
    let mut placer = Placer::new(pw, ph);
    let label = |c: RGBColor, v: VPos| text_at(size::LABEL, c, HPos::Center, v);
    let missing_style = text_at(size::LABEL, colour::MUTED, HPos::Center, VPos::Bottom);

    // The quota line: one step per year at its own value, joined by risers.
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
        // The step is an obstacle for every label.
        let (x0, y) = px(x, *q);
        let (x1, _) = px(x + 1.0, *q);
        placer.block(PxRect::new(x0, y - 7, x1, y + 7));
    }
    if !path.is_empty() {
        limit_line(da, path)?;
    }
    let quota_of = |year: i32| quotas.iter().find(|q| q.0 == year).map(|q| q.1);

    // Complete years: the value above the bar, else inside it, else above the quota line.
    let mut with_data: Vec<i32> = Vec::new();
    for y in m.years.iter().filter(|y| in_window(y.year)) {
        if !y.withdrawal_m3.is_finite() {
            continue;
        }
        with_data.push(y.year);
        let x = f64::from(y.year);
        let v = y.withdrawal_m3.max(0.0) / 1e4;
        da.draw(&Rectangle::new(
            [(x + 0.18, 0.0), (x + 0.82, v)],
            colour::BAR.filled(),
        ))?;
        let over = y.quota_m3.is_finite() && y.withdrawal_m3 > y.quota_m3;
        let c = if over { colour::LIMIT } else { colour::TEXT };
        let (lx, top) = px(x + 0.5, v);
        let (_, base) = px(x + 0.5, 0.0);
        let mut candidates = vec![((lx, top - 10), label(c, VPos::Bottom))];
        // An over-quota value stays red (never white inside its bar) and carries ▲, which a
        // greyscale print keeps.
        if !over && base - top > (size::LABEL * 2.2) as i32 {
            candidates.push(((lx, top + 14), label(WHITE, VPos::Top)));
            candidates.push(((lx, top + 44), label(WHITE, VPos::Top)));
        }
        if let Some(q) = quota_of(y.year) {
            let (_, qy) = px(x + 0.5, q);
            candidates.push(((lx, qy.min(top) - 14), label(c, VPos::Bottom)));
        }
        let text = if over {
            format!("{OVER_MARK}{}", wan(y.withdrawal_m3))
        } else {
            wan(y.withdrawal_m3)
        };
        place_label(&pa, &mut placer, &text, candidates)?;
    }
    // Past years inside the window without data are marked, not left silently empty.
    let current_year = m.current.map_or(m.meta.as_of.year, |c| c.year);
    for year in years.first..current_year.min(years.last + 1) {
        if !with_data.contains(&year) {
            let (lx, ly) = px(f64::from(year) + 0.5, 0.0);
            place_label(
                &pa,
                &mut placer,
                "无数据",
                [((lx, ly - 8), missing_style.clone())],
            )?;
        }
    }

    // Quota values, once per run of equal years: above the line, else just below it.
    let mut runs_of: Vec<(i32, i32, f64)> = Vec::new();
    for (year, q) in &quotas {
        match runs_of.last_mut() {
            Some(r) if r.1 + 1 == *year && (r.2 - q).abs() < 1e-9 => r.1 = *year,
            _ => runs_of.push((*year, *year, *q)),
        }
    }
    let current_run = m.current.and_then(|c| {
        runs_of
            .iter()
            .copied()
            .find(|r| (r.0..=r.1).contains(&c.year))
    });
    let place_quota = |placer: &mut Placer, (from, to, q): &(i32, i32, f64)| {
        let text = format!("指标 {}", trim_decimal(*q, 1));
        let style = |v: VPos| text_at(size::LABEL, colour::LIMIT, HPos::Center, v);
        let mut candidates = Vec::new();
        for year in (*from..=*to).rev() {
            let (lx, y) = px(f64::from(year) + 0.5, *q);
            candidates.push(((lx, y - 14), style(VPos::Bottom)));
            candidates.push(((lx, y + 24), style(VPos::Top)));
        }
        place_label(&pa, placer, &text, candidates)
    };

    // Current year: solid to date, hatched up to the projection.
    if let Some(c) = m.current.filter(|c| in_window(c.year)) {
        let x = f64::from(c.year);
        let done = if c.to_date_m3.is_finite() {
            c.to_date_m3.max(0.0) / 1e4
        } else {
            0.0
        };
        let projected = c.projected_m3.is_finite() && c.projected_m3 / 1e4 > done;
        if projected {
            let p0 = px(x + 0.18, done);
            let p1 = px(x + 0.82, c.projected_m3 / 1e4);
            hatched_rect(&pa, p0, p1, colour::BAR)?;
        }
        if c.to_date_m3.is_finite() {
            da.draw(&Rectangle::new(
                [(x + 0.18, 0.0), (x + 0.82, done)],
                colour::CURRENT.filled(),
            ))?;
        }
        // The quota line goes over the bars again so it stays visible across them.
        if let Some(q) = quota_of(c.year) {
            limit_line(da, vec![(x, q), (x + 1.0, q)])?;
        }
        if projected {
            let over = c.quota_m3.is_finite() && c.projected_m3 > c.quota_m3;
            let col = if over { colour::LIMIT } else { colour::CURRENT };
            let (lx, top) = px(x + 0.5, c.projected_m3 / 1e4);
            let mut candidates = vec![((lx, top - 10), label(col, VPos::Bottom))];
            if let Some(q) = quota_of(c.year) {
                let (_, qy) = px(x + 0.5, q);
                candidates.push(((lx, qy.min(top) - 14), label(col, VPos::Bottom)));
                candidates.push(((lx, qy.max(top) + 14), label(col, VPos::Top)));
            }
            place_label(
                &pa,
                &mut placer,
                &format!(
                    "{}预测 {}",
                    if over { OVER_MARK } else { "" },
                    wan(c.projected_m3)
                ),
                candidates,
            )?;
        }
        // This year's quota next to it, before the to-date figure takes the space under the line.
        if let Some(run) = &current_run {
            place_quota(&mut placer, run)?;
        }
        if c.to_date_m3.is_finite() {
            let (lx, top) = px(x + 0.5, done);
            let (_, bottom) = px(x + 0.5, 0.0);
            let mut candidates = Vec::new();
            if bottom - top > (size::LABEL * 2.2) as i32 {
                candidates.push(((lx, top + 14), label(WHITE, VPos::Top)));
                candidates.push(((lx, top + 44), label(WHITE, VPos::Top)));
                candidates.push(((lx, top + 100), label(WHITE, VPos::Top)));
            }
            if !projected {
                candidates.push(((lx, top - 10), label(colour::TEXT, VPos::Bottom)));
            }
            place_label(&pa, &mut placer, &wan(c.to_date_m3), candidates)?;
        } else {
            let (lx, ly) = px(x + 0.5, 0.0);
            place_label(
                &pa,
                &mut placer,
                "无数据",
                [((lx, ly - 8), missing_style.clone())],
            )?;
        }
    }

    // The other quota values, once per run of equal years, newest first.
    for run in runs_of.iter().rev().filter(|r| Some(**r) != current_run) {
        place_quota(&mut placer, run)?;
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
    deadline_labels(&strip, da, m)?;
    Ok(())
}

/// Draws `text` at the first free candidate with a white halo; a label with no free place is
/// left out rather than drawn over another (the CSV beside the chart has every figure).
fn place_label<'s, DB: DrawingBackend>(
    pa: &DrawingArea<DB, Shift>,
    placer: &mut Placer,
    text: &str,
    candidates: impl IntoIterator<Item = ((i32, i32), TextStyle<'s>)>,
) -> Result<(), ChartError> {
    if let Some((at, style)) = placer.place(text, candidates) {
        if style.color.rgb == (255, 255, 255) {
            // Inside a bar: the bar is the background.
            pa.draw(&Text::new(text.to_owned(), at, style))?;
        } else {
            halo_text(pa, text, at, &style)?;
        }
    }
    Ok(())
}

type TimeArea<DB> = DrawingArea<DB, Cartesian2d<Ticked, Ticked>>;

/// A panel's chart on the shared time axis: years along the bottom, `y_axis` (with the decimals
/// of its labels) at the left, titled `y_desc` when the title fits on one rotated line.
fn time_chart<'a, DB: DrawingBackend>(
    plot: &'a DrawingArea<DB, Shift>,
    years: &Years,
    x_ticks: Vec<f64>,
    (y_axis, y_dec): (Ticked, usize),
    y_desc: Option<&str>,
) -> Result<ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>, ChartError> {
    let mut chart = ChartBuilder::on(plot)
        .margin_right(RIGHT_MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(Ticked::new(years.range(), x_ticks), y_axis)?;
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

/// Height of a row of deadline labels: the ink and the placer's clearance.
fn deadline_row_h() -> i32 {
    (size::LABEL * 1.2) as i32
}

/// Vertical dashed lines at the deadlines, drawn before the data so bars and lines cover them.
fn deadline_lines<DB: DrawingBackend>(
    da: &TimeArea<DB>,
    m: &ExitReadiness,
    y0: f64,
    y1: f64,
) -> Result<(), ChartError> {
    let range = da.get_x_range();
    for d in m
        .deadlines
        .iter()
        .filter(|d| range.contains(&d.date.fractional_year()))
    {
        let x = d.date.fractional_year();
        da.draw(&DashedPathElement::new(
            vec![(x, y0), (x, y1)],
            22,
            12,
            colour::DEADLINE.stroke_width(stroke::MARKER),
        ))?;
    }
    Ok(())
}

/// The deadlines' labels in the strip above the plot, each next to its line's top end (right of
/// it when there is room), in the first of two rows where it does not collide.
fn deadline_labels<DB: DrawingBackend>(
    strip: &DrawingArea<DB, Shift>,
    da: &TimeArea<DB>,
    m: &ExitReadiness,
) -> Result<(), ChartError> {
    let range = da.get_x_range();
    let mut sorted: Vec<_> = m
        .deadlines
        .iter()
        .filter(|d| range.contains(&d.date.fractional_year()))
        .collect();
    sorted.sort_by_key(|d| d.date);
    let (sw, sh) = dims(strip);
    let sx = strip.get_base_pixel().0;
    let mut placer = Placer::new(sw, sh);
    let row_h = deadline_row_h();
    // Every label's tick runs down through the row next to the plot: no label there may cross
    // another deadline's line.
    for d in &sorted {
        let x = da.map_coordinate(&(d.date.fractional_year(), 0.0)).0 - sx;
        placer.block(PxRect::new(x - 3, sh - row_h - 6, x + 3, sh));
    }
    for d in sorted {
        let (ax, _) = da.map_coordinate(&(d.date.fractional_year(), 0.0));
        let x = ax - sx;
        let label = format!("{} {}", d.label(), d.date);
        let mut candidates = Vec::new();
        for row in [0, 1] {
            let y = sh - 6 - row * row_h;
            candidates.push((
                (x + 10, y),
                text_at(size::LABEL, colour::DEADLINE, HPos::Left, VPos::Bottom),
            ));
            candidates.push((
                (x - 10, y),
                text_at(size::LABEL, colour::DEADLINE, HPos::Right, VPos::Bottom),
            ));
        }
        if let Some((at, style)) = placer.place(&label, candidates) {
            let r = ink_box(&label, at, &style);
            // A tick from the label down to the line.
            strip.draw(&PathElement::new(
                vec![(x, r.y1.min(sh)), (x, sh)],
                colour::DEADLINE.stroke_width(stroke::MARKER),
            ))?;
            strip.draw(&Text::new(label, at, style))?;
        }
    }
    Ok(())
}
