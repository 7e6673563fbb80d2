//! The way out: how much a county must cut for k to reach the pass threshold in each year up to
//! its exit year, what its planned closures and projects deliver in those years, the gap that
//! remains, and the 自备井 it could still close, largest first.
//!
//! Every year is measured against this year's projection, held: the plan answers "if nothing
//! else changed, what must". A measure (a closure, a substitution, a saving) takes an annual
//! volume off from its effective day. This year's projection already holds what the meters
//! measured up to the as-of day, so a measure in force before it delivers in a later year only
//! the part of this year it was still pumping; one that starts after it delivers the rest of this
//! year, then its share of each later year.

use jiff::civil::Date;
use serde::Serialize;

/// What a measure is (任务66 closures, 任务67 substitution, savings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    Closure,
    Substitution,
    Saving,
}

/// One planned or done measure as the plan counts it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measure {
    /// The project's name, or the intake's id and name for a closure.
    pub name: String,
    pub kind: MeasureKind,
    /// Groundwater it takes off per year, m³ (declared for a planned project, measured for a
    /// closure: the intake's last complete year).
    pub annual_m3: f64,
    /// The first day without that water.
    #[serde(serialize_with = "date_text")]
    pub from: Date,
    /// Whether its effect is measured (done and seen in the meters) or only planned.
    pub measured: bool,
    /// How its volume is known.
    pub evidence: Evidence,
}

/// How a measure's volume is known: progress is measured, not declared.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Evidence {
    /// Not done: the volume it is planned to take off — `declared` in projects.csv, or for a
    /// closure the registry plans, the intake's last complete year as measured.
    Planned { declared: bool },
    /// A closure whose meters have been silent or at zero since the seal: it takes off the
    /// intake's last complete year. `after_m3` is what they counted since (at most the tolerance).
    Sealed { after_m3: f64 },
    /// A substitution seen in the meters: the named intakes over `months` whole months after it
    /// was done (`after_m3`) against the same months a year before its start (`before_m3`).
    Measured {
        months: u32,
        before_m3: f64,
        after_m3: f64,
    },
    /// Done, but the meters do not show it (why): it counts as planned, from tomorrow, or not at
    /// all where its effect is already in the meters' figures.
    Unconfirmed { reason: String },
}

/// The volume a meter may count after a seal and still be "at zero", m³ (a display's last
/// digit, a test run of the pump before the seal was set).
pub const SEALED_TOLERANCE_M3: f64 = 1.0;

/// One month of the intakes a measure names, summed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonthVolume {
    pub year: i16,
    pub month: i8,
    pub m3: f64,
    /// Every named intake reported on enough of the month's days to compare it.
    pub complete: bool,
}

/// The measured effect of a substitution that began on `start` and was done on `done`: each
/// whole month after `done` up to the last month complete on `as_of`, against the same month a
/// year before, when that month ended before `start` and both months are complete. `None` when
/// no month can be compared yet.
pub fn measured_drop(
    months: &[MonthVolume],
    start: Date,
    done: Date,
    as_of: Date,
) -> Option<Evidence> {
    let next = |(y, m): (i16, i8)| if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let prev = |(y, m): (i16, i8)| if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    let first = if done.day() == 1 {
        (done.year(), done.month())
    } else {
        next((done.year(), done.month()))
    };
    let last = if as_of.day() == as_of.days_in_month() {
        (as_of.year(), as_of.month())
    } else {
        prev((as_of.year(), as_of.month()))
    };
    let find = |ym: (i16, i8)| {
        months
            .iter()
            .find(|v| (v.year, v.month) == ym && v.complete && v.m3.is_finite())
            .map(|v| v.m3)
    };
    let start_month = (start.year(), start.month());
    let (mut n, mut before, mut after) = (0u32, 0.0, 0.0);
    let mut ym = first;
    while ym <= last {
        let year_before = (ym.0 - 1, ym.1);
        if year_before < start_month
            && let (Some(b), Some(a)) = (find(year_before), find(ym))
        {
            n += 1;
            before += b;
            after += a;
        }
        ym = next(ym);
    }
    (n > 0).then_some(Evidence::Measured {
        months: n,
        before_m3: before,
        after_m3: after,
    })
}

impl Evidence {
    /// The annual volume a measured substitution takes off: the monthly drop × 12 (never below
    /// zero); `None` for any other evidence.
    pub fn measured_annual_m3(&self) -> Option<f64> {
        match self {
            Evidence::Measured {
                months,
                before_m3,
                after_m3,
            } if *months > 0 => Some(((before_m3 - after_m3) * 12.0 / f64::from(*months)).max(0.0)),
            _ => None,
        }
    }
}

/// A date as `YYYY-MM-DD` in JSON.
fn date_text<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

/// An intake inside the public supply network's coverage that is not yet planned for closure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub name: String,
    /// Its withdrawal in the last complete year, m³.
    pub last_year_m3: f64,
    /// The cut if it and every candidate ranked before it were closed, m³.
    pub cumulative_m3: f64,
}

/// One year of the plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanYear {
    pub year: i16,
    /// The county's quota that year; `None` when none is set.
    pub quota_m3: Option<f64>,
    /// What k at the pass threshold allows: quota × threshold.
    pub allowed_m3: Option<f64>,
    /// This year's projection, held; `None` without data this year.
    pub baseline_m3: Option<f64>,
    /// How much the withdrawal must come down for k to pass: never negative.
    pub cut_needed_m3: Option<f64>,
    /// What the measures deliver that year.
    pub delivered_m3: f64,
    /// What remains after them: never negative.
    pub gap_m3: Option<f64>,
}

/// A county's way out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The k a year must not exceed to pass.
    pub pass_k: f64,
    pub exit_year: i16,
    pub years: Vec<PlanYear>,
    pub measures: Vec<Measure>,
    /// Covered 自备井 not yet planned, largest last-year withdrawal first.
    pub candidates: Vec<Candidate>,
    /// The exit year's gap after the measures, m³ (0: the measures suffice). The year the
    /// county must pass in; this year's gap, with the year nearly gone, is in `years`.
    pub exit_gap_m3: f64,
    /// What would remain of it if every candidate were closed too (before the exit year, so
    /// each for a whole year), m³.
    pub gap_after_candidates_m3: f64,
}

/// What the plan of one county is computed from.
#[derive(Clone, Debug)]
pub struct PlanInput {
    /// The as-of date: this year is its year.
    pub as_of: Date,
    pub exit_year: i16,
    /// This year's projected withdrawal, m³; `None` without data this year (nothing to plan
    /// from: no cut is computed, never a cut of zero).
    pub projected_m3: Option<f64>,
    pub pass_k: f64,
    pub measures: Vec<Measure>,
    /// Covered intakes not planned for closure: (id, name, last year's withdrawal).
    pub candidates: Vec<(String, String, f64)>,
}

/// The share of `year` that lies before `day` (0 when `day` is at or before 1 January, 1 when it
/// is after 31 December).
fn share_before(year: i16, day: Date) -> f64 {
    let (Ok(start), Ok(end)) = (Date::new(year, 1, 1), Date::new(year, 12, 31)) else {
        return 0.0;
    };
    if day <= start {
        0.0
    } else if day > end {
        1.0
    } else {
        let days = f64::from(end.day_of_year());
        f64::from(day.day_of_year() - 1) / days
    }
}

/// What measure `m` takes off year `year`, against this year's projection.
pub fn delivered(m: &Measure, as_of: Date, year: i16) -> f64 {
    let this = as_of.year();
    if year < this || !m.annual_m3.is_finite() || m.annual_m3 <= 0.0 {
        return 0.0;
    }
    // The share of this year the projection counts it pumping: up to its day when that is
    // already past (measured), the whole year otherwise (the projection knows nothing of it).
    let in_projection = if m.from <= as_of {
        share_before(this, m.from)
    } else {
        1.0
    };
    (m.annual_m3 * (in_projection - share_before(year, m.from))).max(0.0)
}

/// The plan of one county. `quota` gives each year's quota; years run from this year to the
/// exit year.
pub fn plan(input: &PlanInput, quota: impl Fn(i16) -> Option<f64>) -> Plan {
    let this = input.as_of.year();
    let years: Vec<PlanYear> = (this..=input.exit_year.max(this))
        .map(|year| {
            let quota_m3 = quota(year).filter(|q| q.is_finite() && *q > 0.0);
            let allowed_m3 = quota_m3.map(|q| q * input.pass_k);
            let delivered_m3: f64 = input
                .measures
                .iter()
                .map(|m| delivered(m, input.as_of, year))
                .sum();
            let cut_needed_m3 = allowed_m3
                .zip(input.projected_m3)
                .map(|(a, p)| (p - a).max(0.0));
            PlanYear {
                year,
                quota_m3,
                allowed_m3,
                baseline_m3: input.projected_m3,
                cut_needed_m3,
                delivered_m3,
                gap_m3: cut_needed_m3.map(|c| (c - delivered_m3).max(0.0)),
            }
        })
        .collect();
    let mut ranked: Vec<&(String, String, f64)> = input
        .candidates
        .iter()
        .filter(|c| c.2.is_finite() && c.2 > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut total = 0.0;
    let candidates: Vec<Candidate> = ranked
        .into_iter()
        .map(|(id, name, v)| {
            total += v;
            Candidate {
                id: id.clone(),
                name: name.clone(),
                last_year_m3: *v,
                cumulative_m3: total,
            }
        })
        .collect();
    let exit_gap_m3 = years.last().and_then(|y| y.gap_m3).unwrap_or(0.0);
    Plan {
        pass_k: input.pass_k,
        exit_year: input.exit_year,
        years,
        measures: input.measures.clone(),
        candidates,
        exit_gap_m3,
        gap_after_candidates_m3: (exit_gap_m3 - total).max(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn closure(name: &str, annual: f64, from: &str) -> Measure {
        Measure {
            name: name.into(),
            kind: MeasureKind::Closure,
            annual_m3: annual,
            from: d(from),
            measured: false,
            evidence: Evidence::Planned { declared: false },
        }
    }

    fn input(measures: Vec<Measure>, candidates: Vec<(String, String, f64)>) -> PlanInput {
        PlanInput {
            as_of: d("2026-06-30"),
            exit_year: 2027,
            projected_m3: Some(1500_0000.0),
            pass_k: 0.95,
            measures,
            candidates,
        }
    }

    #[test]
    fn the_cut_needed_brings_k_to_the_pass_threshold() {
        // Projection 1500万; quota 1450万 this year, 1420万 in the exit year: k ≤ 0.95 allows
        // 1377.5万 and 1349万, so 122.5万 and 151万 must go.
        let p = plan(&input(Vec::new(), Vec::new()), |y| {
            Some(if y == 2026 { 1450_0000.0 } else { 1420_0000.0 })
        });
        assert_eq!(p.years.len(), 2);
        let cut: Vec<f64> = p.years.iter().map(|y| y.cut_needed_m3.unwrap()).collect();
        assert!((cut[0] - 122_5000.0).abs() < 1e-6, "{cut:?}");
        assert!((cut[1] - 151_0000.0).abs() < 1e-6, "{cut:?}");
        assert_eq!(p.exit_gap_m3, 151_0000.0);
        // A county already within the threshold needs nothing.
        let p = plan(&input(Vec::new(), Vec::new()), |_| Some(2000_0000.0));
        assert!(p.years.iter().all(|y| y.cut_needed_m3 == Some(0.0)));
        assert_eq!(p.exit_gap_m3, 0.0);
        // Without data this year there is nothing to cut from: no figure, never a cut of zero.
        let mut no_data = input(Vec::new(), Vec::new());
        no_data.projected_m3 = None;
        let p = plan(&no_data, |_| Some(1420_0000.0));
        assert!(
            p.years
                .iter()
                .all(|y| y.cut_needed_m3.is_none() && y.gap_m3.is_none())
        );
        // Without a quota there is no figure to cut to.
        let p = plan(&input(Vec::new(), Vec::new()), |_| None);
        assert!(
            p.years
                .iter()
                .all(|y| y.cut_needed_m3.is_none() && y.gap_m3.is_none())
        );
    }

    #[test]
    fn a_measure_delivers_from_its_day_against_the_projection() {
        // 2026 has 365 days; 1 October is day 274: 92 days remain.
        let later = closure("QX-1", 365_000.0, "2026-10-01");
        assert!((delivered(&later, d("2026-06-30"), 2026) - 92_000.0).abs() < 1e-6);
        assert!((delivered(&later, d("2026-06-30"), 2027) - 365_000.0).abs() < 1e-6);
        // Closed on 1 April, before the as-of date: the meters already show this year's saving,
        // so next year adds only the 90 days it still pumped this year.
        let done = closure("QX-2", 365_000.0, "2026-04-01");
        assert_eq!(delivered(&done, d("2026-06-30"), 2026), 0.0);
        assert!((delivered(&done, d("2026-06-30"), 2027) - 90_000.0).abs() < 1e-6);
        // A project starting mid-2027 delivers half of 2027 (from 2 July: 183 of 365 days).
        let project = closure("南水北调", 365_000.0, "2027-07-02");
        assert!((delivered(&project, d("2026-06-30"), 2027) - 183_000.0).abs() < 1e-6);
        assert_eq!(delivered(&project, d("2026-06-30"), 2026), 0.0);
        // Nothing before this year, nothing from a non-positive volume.
        assert_eq!(delivered(&later, d("2026-06-30"), 2025), 0.0);
        assert_eq!(
            delivered(&closure("x", -5.0, "2026-10-01"), d("2026-06-30"), 2027),
            0.0
        );
    }

    fn month(year: i16, month: i8, m3: f64) -> MonthVolume {
        MonthVolume {
            year,
            month,
            m3,
            complete: true,
        }
    }

    #[test]
    fn a_substitution_is_measured_against_the_same_months_before_its_start() {
        // 10万 m³ a month in 2025; the substitution began 1 March 2026 and was done on
        // 15 March: April to October 2026 (November is not complete on 20 November) drew
        // 6万 a month.
        let mut months: Vec<MonthVolume> = (1..=12).map(|m| month(2025, m, 10_0000.0)).collect();
        months.extend((1..=3).map(|m| month(2026, m, 9_0000.0)));
        months.extend((4..=11).map(|m| month(2026, m, 6_0000.0)));
        let e = measured_drop(&months, d("2026-03-01"), d("2026-03-15"), d("2026-11-20")).unwrap();
        assert_eq!(
            e,
            Evidence::Measured {
                months: 7,
                before_m3: 70_0000.0,
                after_m3: 42_0000.0
            }
        );
        // 4万 a month less: 48万 a year.
        assert!((e.measured_annual_m3().unwrap() - 48_0000.0).abs() < 1e-6);
        // On 30 November, November is complete too.
        let e = measured_drop(&months, d("2026-03-01"), d("2026-03-15"), d("2026-11-30")).unwrap();
        assert!(matches!(e, Evidence::Measured { months: 8, .. }));
        // An incomplete month on either side is left out of both sums.
        months[5].complete = false; // June 2025
        months[12 + 8].complete = false; // September 2026
        let e = measured_drop(&months, d("2026-03-01"), d("2026-03-15"), d("2026-11-20")).unwrap();
        assert_eq!(
            e,
            Evidence::Measured {
                months: 5,
                before_m3: 50_0000.0,
                after_m3: 30_0000.0
            }
        );
        // A month a year before that is not wholly before the start is no baseline: a project
        // begun in July 2025 and done in March 2026 compares only against January to June 2025,
        // and April to June 2026 have such months.
        let e = measured_drop(&months, d("2025-07-01"), d("2026-03-15"), d("2026-11-20")).unwrap();
        assert!(matches!(e, Evidence::Measured { months: 2, .. }), "{e:?}");
        // Done this month: nothing to compare yet.
        assert_eq!(
            measured_drop(&months, d("2026-11-01"), d("2026-11-10"), d("2026-11-20")),
            None
        );
        // More water after than before: measured, and it takes nothing off.
        let up = [month(2025, 5, 5.0), month(2026, 5, 8.0)];
        let e = measured_drop(&up, d("2026-01-01"), d("2026-04-30"), d("2026-06-10")).unwrap();
        assert_eq!(e.measured_annual_m3(), Some(0.0));
    }

    #[test]
    fn the_gap_is_what_the_measures_leave_and_candidates_are_ranked_largest_first() {
        let measures = vec![closure("QX-1", 100_0000.0, "2027-01-01")];
        let candidates = vec![
            ("QX-B".into(), "小".into(), 20_0000.0),
            ("QX-A".into(), "大".into(), 40_0000.0),
            ("QX-C".into(), "同量".into(), 20_0000.0),
            ("QX-Z".into(), "无水".into(), 0.0),
        ];
        let p = plan(&input(measures, candidates), |_| Some(1420_0000.0));
        // Cut 151万 both years; the closure delivers nothing in 2026 and 100万 in 2027.
        assert_eq!(p.years[0].gap_m3, Some(151_0000.0));
        assert!((p.years[1].gap_m3.unwrap() - 51_0000.0).abs() < 1e-6);
        assert!((p.exit_gap_m3 - 51_0000.0).abs() < 1e-6);
        let ids: Vec<&str> = p.candidates.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["QX-A", "QX-B", "QX-C"],
            "largest first, ties by id, none without water"
        );
        let cum: Vec<f64> = p.candidates.iter().map(|c| c.cumulative_m3).collect();
        assert_eq!(cum, [40_0000.0, 60_0000.0, 80_0000.0]);
        // 51万 − 80万: closing the candidates would close the exit year's gap.
        assert_eq!(p.gap_after_candidates_m3, 0.0);
        // Without the closure they could not: 151万 − 80万 remain.
        let again: Vec<(String, String, f64)> = p
            .candidates
            .iter()
            .map(|c| (c.id.clone(), c.name.clone(), c.last_year_m3))
            .collect();
        let p = plan(&input(Vec::new(), again), |_| Some(1420_0000.0));
        assert!((p.gap_after_candidates_m3 - 71_0000.0).abs() < 1e-6);
    }
}
