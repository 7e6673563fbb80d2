//! Chart 3, monthly groundwater withdrawal of the last three years side by side.
//!
//! Grouped bars per month (1月 … 12月), one colour per year, the most recent year in a contrasting
//! colour. The as-of month, which holds only its days up to the as-of date, is hatched and
//! labelled `（至 11-28）`. Months without data (the rest of the current year, gaps) are left empty and each year's
//! total and coverage is printed in its legend entry, so an empty bar is never mistaken for zero.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ChartError;
use super::axes::{Ticked, value_range};
use super::fonts;
use super::format::{fixed, trim_decimal};
use super::furniture::{
    Fill, LegendItem, Swatch, hatched_rect, legend, note_center, page, patterned_rect, watermark,
};
use super::layout::{halo_text, pixel, y_label_area};
use super::spec::{MonthlyWithdrawal, Sanitize, YearMonths, Ymd};
use super::style::{colour, size, stroke, style_mesh, text_at};
use plotters::style::text_anchor::{HPos, VPos};

/// Canvas size in px.
pub(crate) const SIZE: (u32, u32) = (super::style::WIDTH, 1500);

/// Year colours, oldest first; the newest year always takes the last one.
const YEAR_COLOURS: [RGBColor; 3] = [colour::OI_SKY, colour::OI_BLUE, colour::OI_VERMILLION];

/// The years to draw: the most recent [`MonthlyWithdrawal::MAX_YEARS`], oldest first, one per year.
fn recent_years(m: &MonthlyWithdrawal) -> Vec<YearMonths> {
    let mut years = m.years.clone();
    years.sort_by_key(|y| y.year);
    years.dedup_by_key(|y| y.year);
    let skip = years.len().saturating_sub(MonthlyWithdrawal::MAX_YEARS);
    years.split_off(skip)
}

/// Legend text: year, total over the months with data, and which months those are.
fn year_text(y: &YearMonths) -> String {
    let with_data: Vec<usize> = (0..12).filter(|i| y.months_m3[*i].is_finite()).collect();
    let total: f64 = with_data.iter().map(|i| y.months_m3[*i]).sum();
    match (with_data.first(), with_data.last()) {
        (None, _) | (_, None) => format!("{}年（无数据）", y.year),
        (Some(_), Some(_)) if with_data.len() == 12 => {
            format!(
                "{}年（合计 {} 万 m³）",
                y.year,
                trim_decimal(total / 1e4, 1)
            )
        }
        (Some(a), Some(b)) if b - a + 1 == with_data.len() => format!(
            "{}年（{}–{}月 合计 {} 万 m³）",
            y.year,
            a + 1,
            b + 1,
            trim_decimal(total / 1e4, 1)
        ),
        _ => format!(
            "{}年（{} 个月有数据，合计 {} 万 m³）",
            y.year,
            with_data.len(),
            trim_decimal(total / 1e4, 1)
        ),
    }
}

/// Draws chart 3 on `root`, any plotters backend of 2400 × 1500 px
/// ([`ChartKind::size`](super::ChartKind::size)); wrap a bitmap backend in
/// [`GlyphFix`](super::GlyphFix).
pub fn draw_monthly<DB: DrawingBackend>(
    m: &MonthlyWithdrawal,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ChartError> {
    fonts::register()?;
    let m = &m.sanitized();
    let years = recent_years(m);
    let title = match (years.first(), years.last()) {
        (Some(a), Some(b)) if a.year != b.year => {
            format!("逐月地下水取水量（{}–{}年）", a.year, b.year)
        }
        (Some(a), _) => format!("逐月地下水取水量（{}年）", a.year),
        _ => "逐月地下水取水量".to_owned(),
    };
    let body = page(root, &m.meta, &title, None)?;
    let offset = YEAR_COLOURS.len() - years.len().min(YEAR_COLOURS.len());
    let colours: Vec<RGBColor> = (0..years.len())
        .map(|i| YEAR_COLOURS[(offset + i).min(YEAR_COLOURS.len() - 1)])
        .collect();
    // The as-of month holds only its days up to the as-of date: hatched, and labelled so.
    let as_of = m.meta.as_of;
    let partial = (as_of.day < Ymd::days_in_month(as_of.year, as_of.month))
        .then_some((as_of.year, usize::from(as_of.month.clamp(1, 12)) - 1))
        .filter(|(year, month)| {
            years
                .iter()
                .any(|y| y.year == *year && y.months_m3[*month].is_finite())
        });
    // The latest year solid, the one before striped, the earliest outlined: the years stay apart
    // in a greyscale print as well as by colour.
    let fills: Vec<Fill> = (0..years.len())
        .map(|i| match years.len() - 1 - i {
            0 => Fill::Solid,
            1 => Fill::Striped,
            _ => Fill::Outlined,
        })
        .collect();
    let mut items: Vec<LegendItem> = years
        .iter()
        .zip(colours.iter().zip(&fills))
        .map(|(y, (c, f))| LegendItem::new(f.swatch(*c), year_text(y)))
        .collect();
    if let (Some((_, month)), Some(c)) = (partial, colours.last()) {
        items.push(LegendItem::new(
            Swatch::Hatched(*c),
            format!(
                "{}月未满月（至 {:02}-{:02}）",
                month + 1,
                as_of.month,
                as_of.day
            ),
        ));
    }
    let plot = legend(&body, &items)?;

    let values = years
        .iter()
        .flat_map(|y| y.months_m3.iter().map(|v| v / 1e4));
    let (_, data_max) = value_range(values.clone(), 0.0, true);
    // Headroom for the as-of month's label.
    let y_max = data_max * 1.18;
    let (y_axis, y_dec) = Ticked::nice(0f64..y_max, 8);
    let mids: Vec<f64> = (0..12).map(|i| f64::from(i) + 0.5).collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin_right(40)
        .x_label_area_size(130)
        .y_label_area_size(y_label_area(&fixed(y_max, y_dec), 210))
        .build_cartesian_2d(Ticked::new(0f64..12.0, mids), y_axis)?;
    let fx = |v: &f64| format!("{}月", (v.floor() as i64).clamp(0, 11) + 1);
    let fy = |v: &f64| fixed(*v, y_dec);
    style_mesh(&mut chart.configure_mesh())
        .disable_x_mesh()
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_desc("月份")
        .y_desc("取水量（万 m³）")
        .draw()?;
    let da = chart.plotting_area();
    let pa = da.strip_coord_spec();
    watermark(&pa, m.meta.example)?;
    for b in 1..12 {
        let x = f64::from(b);
        da.draw(&PathElement::new(
            vec![(x, 0.0), (x, y_max)],
            colour::GRID.stroke_width(stroke::GRID),
        ))?;
    }

    let n = years.len().max(1) as f64;
    let group = 0.8;
    let bar = group / n;
    for (i, ((y, c), fill)) in years.iter().zip(&colours).zip(&fills).enumerate() {
        for (month, v) in y.months_m3.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let x0 = month as f64 + 0.1 + bar * i as f64;
            let (a, b) = ((x0 + bar * 0.06, 0.0), (x0 + bar * 0.94, v.max(0.0) / 1e4));
            if partial == Some((y.year, month)) {
                hatched_rect(&pa, pixel(da, &a), pixel(da, &b), *c)?;
                // Above the month's group and its neighbours, which the label is wider than.
                let top = years
                    .iter()
                    .flat_map(|y| y.months_m3[month.saturating_sub(1)..(month + 2).min(12)].iter())
                    .filter(|v| v.is_finite())
                    .fold(0.0f64, |a, v| a.max(*v / 1e4));
                let (lx, ty) = pixel(da, &(x0 + bar * 0.5, top));
                halo_text(
                    &pa,
                    &format!("（至 {:02}-{:02}）", as_of.month, as_of.day),
                    (lx, ty - 12),
                    &text_at(size::LABEL, colour::TEXT, HPos::Center, VPos::Bottom),
                )?;
            } else {
                patterned_rect(&pa, pixel(da, &a), pixel(da, &b), *c, *fill)?;
            }
        }
    }
    if values.clone().all(|v| !v.is_finite()) {
        note_center(&pa, "无取水量数据")?;
    } else if values.clone().all(|v| !v.is_finite() || v == 0.0) {
        note_center(&pa, "各月取水量均为 0")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(year: i32, months: [f64; 12]) -> YearMonths {
        YearMonths {
            year,
            months_m3: months,
        }
    }

    #[test]
    fn legend_text_says_what_the_total_covers() {
        assert_eq!(year_text(&ym(2025, [1e4; 12])), "2025年（合计 12 万 m³）");
        let mut part = [f64::NAN; 12];
        part[..10].copy_from_slice(&[2e4; 10]);
        assert_eq!(year_text(&ym(2026, part)), "2026年（1–10月 合计 20 万 m³）");
        part[4] = f64::NAN;
        assert_eq!(
            year_text(&ym(2026, part)),
            "2026年（9 个月有数据，合计 18 万 m³）"
        );
        assert_eq!(year_text(&ym(2024, [f64::NAN; 12])), "2024年（无数据）");
    }
}
