//! Text placed in pixels — measuring, wrapping, labels on a box, rotated axis titles — and the pixel
//! geometry it is placed by: an area's size and where a data point falls in it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::ChartError;
use super::style::{colour, text_at};

/// Width and height in px that `s` takes in `style` (0 when it cannot be measured).
pub(crate) fn measure<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'_>,
) -> (i32, i32) {
    area.estimate_text_size(s, style)
        .map(|(w, h)| {
            (
                i32::try_from(w).unwrap_or(i32::MAX),
                i32::try_from(h).unwrap_or(0),
            )
        })
        .unwrap_or((0, 0))
}

/// Splits `s` into lines no wider than `max_w` px, breaking between characters (Chinese text has no
/// spaces); an explicit `\n` always breaks.
pub(crate) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    style: &TextStyle<'_>,
    max_w: i32,
) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.split('\n') {
        let mut line = String::new();
        for c in paragraph.chars() {
            line.push(c);
            if measure(area, &line, style).0 > max_w && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::take(&mut line));
                line.push(c);
            }
        }
        lines.push(line);
    }
    lines
}

/// Width and height of an area in px.
pub(crate) fn dims<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> (i32, i32) {
    let (w, h) = area.dim_in_pixel();
    (
        i32::try_from(w).unwrap_or(i32::MAX),
        i32::try_from(h).unwrap_or(i32::MAX),
    )
}

/// Where the data point `p` falls in `da`, in pixels relative to `da`'s top left corner: the
/// coordinates to draw text and boxes at on `da.strip_coord_spec()`.
pub(crate) fn pixel<DB: DrawingBackend, CT: CoordTranslate>(
    da: &DrawingArea<DB, CT>,
    p: &CT::From,
) -> (i32, i32) {
    let (x, y) = da.map_coordinate(p);
    let (bx, by) = da.get_base_pixel();
    (x - bx, y - by)
}

/// Text on a translucent white box, for data labels that may cross lines or bars.
/// `style` carries the anchor; the box follows plotters' glyph placement (ink from ≈ 0.22 size
/// above the anchor box top to ≈ 0.62 size below it).
pub(crate) fn boxed_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    (x, y): (i32, i32),
    style: &TextStyle<'_>,
) -> Result<(), ChartError> {
    let (w, h) = measure(area, s, style);
    let size = style.font.get_size();
    let x0 = match style.pos.h_pos {
        HPos::Left => x,
        HPos::Right => x - w,
        HPos::Center => x - w / 2,
    };
    let y0 = match style.pos.v_pos {
        VPos::Top => y,
        VPos::Center => y - h / 2,
        VPos::Bottom => y - h,
    };
    area.draw(&Rectangle::new(
        [
            (x0 - 8, y0 - (size * 0.24) as i32),
            (x0 + w + 8, y0 + (size * 0.66) as i32),
        ],
        WHITE.mix(0.85).filled(),
    ))?;
    area.draw(&Text::new(s.to_owned(), (x, y), style.clone()))?;
    Ok(())
}

/// A y-axis title of one or more lines, rotated, centred on the plot's vertical extent, at the left
/// edge of `panel`; for titles too long for one line (the 1985 datum).
pub(crate) fn y_title<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    plot_y: std::ops::Range<i32>,
    lines: &[(&str, f64)],
) -> Result<(), ChartError> {
    let base = panel.get_base_pixel();
    let cy = (plot_y.start + plot_y.end) / 2 - base.1;
    let mut x = 0;
    for (line, size) in lines {
        let step = (size * 0.95) as i32;
        let style = text_at(*size, colour::TEXT, HPos::Center, VPos::Center)
            .transform(FontTransform::Rotate270);
        panel.draw(&Text::new((*line).to_owned(), (x + step / 2, cy), style))?;
        x += step;
    }
    Ok(())
}
