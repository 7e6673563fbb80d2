//! The 公报 table: each aquifer's mean year-end depth to water and its change against the same
//! month a year before, then its wells one by one. The Word document and the web page print the
//! same rows.

use crate::assess::CountyStatus;
use crate::output::wording;

/// One row: an aquifer (its mean over the wells that have both years) or one of its wells.
#[derive(Clone, Debug, PartialEq)]
pub struct BulletinRow {
    /// `浅层孔隙水（2 眼平均）` for an aquifer, `W-QX-01 某某监测井` for a well.
    pub label: String,
    /// A well's row is indented under its aquifer's.
    pub well: bool,
    /// `2025` for an aquifer's mean, `2025-12` for a well's year-end month.
    pub when: String,
    /// Depth to water, m, two decimals.
    pub depth_m: String,
    /// Change against a year before, m, signed (+ = deeper, the level fell), or "—".
    pub change_m: String,
    /// 上升, 稳定 or 下降, or "—".
    pub class: String,
}

/// The rows of county `c`: each aquifer with its wells under it.
pub fn bulletin_rows(c: &CountyStatus) -> Vec<BulletinRow> {
    let mut rows = Vec::new();
    for b in &c.bulletin_by_aquifer {
        rows.push(BulletinRow {
            label: format!("{}（{} 眼平均）", b.aquifer_label, b.wells),
            well: false,
            when: b.year.to_string(),
            depth_m: wording::fixed(b.mean_depth_m, 2),
            change_m: wording::signed_fixed(b.mean_depth_change_m, 2),
            class: b.class_label.to_owned(),
        });
        for w in c.wells.iter().filter(|w| w.aquifer == b.aquifer) {
            let Some(wb) = &w.bulletin else { continue };
            rows.push(BulletinRow {
                label: format!("{} {}", w.id, w.name),
                well: true,
                when: format!("{}-{:02}", wb.year, wb.month),
                depth_m: wording::fixed(wb.depth_m, 2),
                change_m: wording::or_dash(wb.depth_change_m, |v| wording::signed_fixed(v, 2)),
                class: wb.class_label.unwrap_or(wording::DASH).to_owned(),
            });
        }
    }
    rows
}
