//! The permit table: one row per intake over its permit, projected over it, over it last year,
//! or drawing groundwater without one, with every state that applies in one column. The Word
//! document, `summary.md` and the web page list the same rows in the same order.

use crate::assess::{CountyStatus, PermitExcess, Permits};

/// One intake's row.
#[derive(Clone, Debug)]
pub struct PermitRow<'a> {
    pub p: &'a PermitExcess,
    /// The states that apply, worst first: 无证取水, 已超许可, 预计超许可, 上年超许可.
    pub states: Vec<&'static str>,
}

impl PermitRow<'_> {
    /// The states joined for a table cell (无证取水、上年超许可).
    pub fn state(&self) -> String {
        self.states.join("、")
    }

    /// The projected year-end withdrawal beyond the permit (m³); `None` when it stays within
    /// it. An intake without a permit exceeds by all it draws.
    pub fn projected_excess_m3(&self) -> Option<f64> {
        let excess = self.p.projected_m3 - self.p.permit_m3;
        (excess > 0.0).then_some(excess)
    }

    /// The CSS class of the worst state, as the web page colours it.
    pub fn class(&self) -> &'static str {
        match self.states.first() {
            Some(&"无证取水") | Some(&"已超许可") => "not_ready",
            _ => "at_risk",
        }
    }
}

/// The rows of county `c`, worst state first, then by intake id.
pub fn permit_rows(c: &CountyStatus) -> Vec<PermitRow<'_>> {
    rows(&c.permits)
}

/// The rows of a permit list (a county's, or the supply group's).
pub fn rows(p: &Permits) -> Vec<PermitRow<'_>> {
    let lists: [(&[PermitExcess], &'static str); 4] = [
        (&p.unpermitted, "无证取水"),
        (&p.over, "已超许可"),
        (&p.projected_over, "预计超许可"),
        (&p.over_last_year, "上年超许可"),
    ];
    let mut out: Vec<PermitRow<'_>> = Vec::new();
    for (list, state) in lists {
        for e in list {
            match out.iter_mut().find(|r| r.p.id == e.id) {
                Some(r) => r.states.push(state),
                None => out.push(PermitRow {
                    p: e,
                    states: vec![state],
                }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, permit: f64, projected: f64) -> PermitExcess {
        PermitExcess {
            id: id.into(),
            name: format!("{id} 井"),
            source: "地下水",
            permit_m3: permit,
            ytd_m3: projected * 0.9,
            projected_m3: projected,
            last_year_m3: projected,
        }
    }

    #[test]
    fn an_intake_in_several_lists_is_one_row_with_every_state() {
        let p = Permits {
            over: vec![e("B", 10.0, 30.0)],
            projected_over: vec![e("A", 10.0, 12.0)],
            unpermitted: vec![],
            over_last_year: vec![e("A", 10.0, 12.0), e("B", 10.0, 30.0), e("C", 10.0, 9.0)],
        };
        let rows = rows(&p);
        let ids: Vec<&str> = rows.iter().map(|r| r.p.id.as_str()).collect();
        assert_eq!(ids, ["B", "A", "C"]);
        assert_eq!(rows[0].state(), "已超许可、上年超许可");
        assert_eq!(rows[1].state(), "预计超许可、上年超许可");
        assert_eq!(rows[2].state(), "上年超许可");
        assert_eq!(rows[0].projected_excess_m3(), Some(20.0));
        assert_eq!(rows[2].projected_excess_m3(), None);
        assert_eq!(rows[0].class(), "not_ready");
        assert_eq!(rows[1].class(), "at_risk");
    }
}
