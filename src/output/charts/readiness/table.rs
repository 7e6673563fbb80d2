//! The table of the criteria not met under chart 1: wrapped, never cut, so the canvas grows
//! with it.

use super::*;

const TABLE_SIZE: f64 = size::LEGEND;
const TABLE_PAD: i32 = 14;

pub(super) fn table_width() -> i32 {
    WIDTH as i32 - 2 * MARGIN
}

fn table_line_h() -> i32 {
    (TABLE_SIZE * 1.02) as i32
}

/// One row of the criteria table: each cell's wrapped lines and the row's height.
struct TableRow {
    item: Vec<String>,
    status: Vec<String>,
    detail: Vec<String>,
    height: i32,
}

/// The criteria table laid out: column x offsets, and per row its wrapped cells and height.
pub(super) struct Table {
    cols: [i32; 3],
    rows: Vec<TableRow>,
    header_h: i32,
    pub(super) height: i32,
}

pub(super) fn table_layout(failing: &[CriterionRow], width: i32) -> Table {
    let w = |s: &str| text_width(s, TABLE_SIZE);
    let header_h = table_line_h() + 2 * TABLE_PAD;
    if failing.is_empty() {
        return Table {
            cols: [0, 0, 0],
            rows: Vec::new(),
            header_h,
            height: header_h + 24,
        };
    }
    let item_w = failing
        .iter()
        .map(|r| w(&r.item))
        .chain([w("判据")])
        .max()
        .unwrap_or(0)
        .min(width / 4)
        + 2 * TABLE_PAD;
    let status_w = failing
        .iter()
        .map(|r| w(&format!("× {}", r.status)))
        .chain([w("结果")])
        .max()
        .unwrap_or(0)
        .min(width / 5)
        + 2 * TABLE_PAD;
    let detail_w = width - item_w - status_w - 2 * TABLE_PAD;
    let rows: Vec<_> = failing
        .iter()
        .map(|r| {
            let item = wrap_with(&r.item, item_w - 2 * TABLE_PAD, w);
            let status = wrap_with(&r.status, status_w - 2 * TABLE_PAD - w("× "), w);
            let detail = wrap_with(&r.detail, detail_w, w);
            let lines = item.len().max(status.len()).max(detail.len()) as i32;
            TableRow {
                item,
                status,
                detail,
                height: lines * table_line_h() + 2 * TABLE_PAD,
            }
        })
        .collect();
    let height = header_h + rows.iter().map(|r| r.height).sum::<i32>() + 24;
    Table {
        cols: [0, item_w, item_w + status_w],
        rows,
        header_h,
        height,
    }
}

pub(super) fn criteria_table<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    t: &Table,
    failing: &[CriterionRow],
) -> Result<(), ChartError> {
    let (w, _) = dims(area);
    let lh = table_line_h();
    let style = |c: RGBColor| text_at(TABLE_SIZE, c, HPos::Left, VPos::Top);
    area.draw(&PathElement::new(
        vec![(0, 6), (w, 6)],
        colour::AXIS.stroke_width(3),
    ))?;
    if failing.is_empty() {
        area.draw(&Text::new(
            "未达标或有风险的判据：无",
            (TABLE_PAD, 6 + TABLE_PAD + 10),
            style(colour::TEXT),
        ))?;
        return Ok(());
    }
    let mut y = 6;
    area.draw(&Rectangle::new(
        [(0, y), (w, y + t.header_h)],
        RGBColor(0xF2, 0xF2, 0xF2).filled(),
    ))?;
    for (i, head) in ["判据", "结果", "说明"].iter().enumerate() {
        area.draw(&Text::new(
            *head,
            (t.cols[i] + TABLE_PAD, y + TABLE_PAD + 10),
            style(colour::TEXT),
        ))?;
    }
    y += t.header_h;
    for (row, laid) in failing.iter().zip(&t.rows) {
        let (c, symbol) = verdict_mark(row.kind);
        let cells: [(i32, &Vec<String>, RGBColor); 3] = [
            (t.cols[0] + TABLE_PAD, &laid.item, colour::TEXT),
            (t.cols[1] + TABLE_PAD, &laid.status, c),
            (t.cols[2] + TABLE_PAD, &laid.detail, colour::TEXT),
        ];
        for (col, (x, lines, c)) in cells.into_iter().enumerate() {
            for (i, line) in lines.iter().enumerate() {
                let s = if col == 1 && i == 0 {
                    format!("{symbol} {line}")
                } else {
                    line.clone()
                };
                area.draw(&Text::new(
                    s,
                    (x, y + TABLE_PAD + 10 + i as i32 * lh),
                    style(c),
                ))?;
            }
        }
        y += laid.height;
        area.draw(&PathElement::new(
            vec![(0, y), (w, y)],
            colour::GRID.stroke_width(2),
        ))?;
    }
    Ok(())
}
