//! What the assessment reads from the store, once per run, cut at the as-of date; and the
//! per-group figures derived from it (window sums, projection inputs, reported days).

use std::collections::HashMap;

use crate::store::sql::Sql;
use jiff::ToSpan;
use jiff::civil::Date;

use crate::analysis::accounting::{
    Completeness, ProjectionInput, VolumeWithEstimate, WindowSums, Windows, complete_months,
    days_between,
};
use crate::analysis::expected::{Expected, MonthRecord, expected};
use crate::analysis::plan::MonthVolume;
use crate::config::Config;
use crate::config::registry::Intake;
use crate::domain::MonthlyPoints;
use crate::store::{StoreError, devices, levels, volumes};

/// The store's figures for one as-of date.
pub struct Inputs<'a> {
    pub w: Windows,
    pub sums: HashMap<&'a str, WindowSums>,
    /// Monthly volumes since 1 January of last year, the as-of month to the as-of date.
    pub monthly: MonthlyPoints<VolumeWithEstimate>,
    /// Reported days per intake and month, over the same months.
    pub reported: MonthlyPoints<u32>,
    /// Each intake's monthly records for [`expected`]: volume, reported days, days with volume.
    pub records: HashMap<String, Vec<MonthRecord>>,
    pub first_day: HashMap<String, Date>,
    /// Latest meter reading of each intake before the end of the as-of date.
    pub last_meter: HashMap<&'a str, i64>,
    /// Latest level reading of each well before the end of the as-of date.
    pub last_level: HashMap<String, i64>,
    /// Monthly mean levels from the trend window's start to the as-of date.
    pub levels: MonthlyPoints<f64>,
    /// Meter gaps too long to spread, ending in last year or this year up to the as-of date.
    pub long_gaps: Vec<devices::LongGap>,
    /// Each intake's withdrawal in the base year (`[assessment] base_year`), for 压采量.
    pub base_year: HashMap<String, VolumeWithEstimate>,
    /// Volume flagged as implausible per intake and year, last year and this year to the as-of
    /// date.
    pub flagged: HashMap<(String, i16), f64>,
    /// Imported electricity of users below the duty (以电折水): (first day, last day, kWh).
    pub electricity: volumes::Electricity,
    /// What the meter of each intake sealed since 1 January of last year (its `active_to`
    /// before the as-of date) counted after the seal, m³: a closure counts only with its meter
    /// silent or at zero.
    pub after_seal: HashMap<String, f64>,
}

/// The monthly figures of each intake as [`MonthRecord`]s. Volumes and covered days come from
/// the same rows, in the same order; reported days only for months with any.
fn month_records(m: &volumes::MonthlyFigures) -> HashMap<String, Vec<MonthRecord>> {
    m.volumes
        .iter()
        .map(|(id, vols)| {
            let covered = m.covered_days.get(id).map(Vec::as_slice).unwrap_or(&[]);
            let reported = m.reported_days.get(id).map(Vec::as_slice).unwrap_or(&[]);
            let records = vols
                .iter()
                .zip(covered)
                .map(|(&(y, mo, v), &(_, _, c))| {
                    let r = reported
                        .iter()
                        .find(|x| x.0 == y && x.1 == mo)
                        .map_or(0, |x| x.2);
                    (y, mo, v.m3, r, c)
                })
                .collect();
            (id.clone(), records)
        })
        .collect()
}

/// When each intake last reported: its last meter reading, or the end of the last day it has an
/// imported metered daily volume for, whichever is later.
fn last_reports<'a>(
    cfg: &Config,
    conn: &dyn Sql,
    intakes: &[&'a str],
    as_of: Date,
) -> Result<HashMap<&'a str, i64>, StoreError> {
    let until = cfg.clock.day_end(as_of);
    let mut last = devices::last_readings(conn, intakes.iter().copied(), until)?;
    for (id, day) in volumes::last_metered_days(conn, intakes.iter().copied(), as_of)? {
        let ts = cfg.clock.day_end(day) - 1;
        let e = last.entry(id).or_insert(ts);
        *e = (*e).max(ts);
    }
    Ok(last)
}

impl<'a> Inputs<'a> {
    pub fn load(cfg: &'a Config, conn: &dyn Sql, as_of: Date) -> Result<Self, StoreError> {
        let w = Windows::new(as_of);
        let reg = &cfg.registry;
        let intakes: Vec<&'a str> = reg.intakes.iter().map(|i| i.id.as_str()).collect();
        let wells: Vec<&str> = reg.wells.iter().map(|x| x.id.as_str()).collect();
        let until = cfg.clock.day_end(as_of);
        // From the year before last: what last year's months were expected to hold is read
        // from the year before them.
        let from = Date::new(w.year - 2, 1, 1).unwrap_or(as_of);
        let months = volumes::monthly_figures(conn, &intakes, from, as_of)?;
        let records = month_records(&months);
        let since = Date::new(w.year - 1, 1, 1).unwrap_or(as_of);
        let mut after_seal = HashMap::new();
        for i in &reg.intakes {
            if let Some(to) = i.active_to.filter(|t| *t >= since && *t < as_of)
                && let Ok(next) = to.tomorrow()
            {
                let days = volumes::daily_volume_sums(conn, [i.id.as_str()], next, as_of)?;
                after_seal.insert(i.id.clone(), days.iter().map(|d| d.1).sum());
            }
        }
        Ok(Inputs {
            after_seal,
            sums: volumes::intake_window_sums(conn, intakes.iter().copied(), &w)?,
            monthly: months.volumes,
            records,
            reported: months.reported_days,
            first_day: volumes::first_days(conn, &intakes, as_of)?,
            last_meter: last_reports(cfg, conn, &intakes, as_of)?,
            last_level: levels::last_level_readings(conn, &wells, until)?,
            levels: levels::monthly_levels(conn, &wells, cfg.assessment.window_start, as_of)?,
            base_year: volumes::year_totals(conn, &intakes, cfg.assessment.base_year)?,
            electricity: volumes::electricity(conn, Date::new(w.year - 1, 1, 1).unwrap_or(as_of))?,
            flagged: volumes::flagged_by_year(
                conn,
                Date::new(w.year - 1, 1, 1).unwrap_or(as_of),
                as_of,
            )?,
            long_gaps: devices::long_gaps(
                conn,
                cfg.clock
                    .day_start(Date::new(w.year - 1, 1, 1).unwrap_or(as_of)),
                until,
            )?,
            w,
        })
    }

    /// The part of these intakes' long meter gaps spread over the days of `year` up to the
    /// as-of date (by time, as the gap's volume is spread): estimated volume in the year's
    /// figure that rests on months of silence.
    pub fn long_gap_m3(
        &self,
        intakes: &[&Intake],
        year: i16,
        clock: &crate::domain::LocalClock,
    ) -> f64 {
        let (Ok(start), Ok(end)) = (Date::new(year, 1, 1), Date::new(year, 12, 31)) else {
            return 0.0;
        };
        let to = clock.day_end(end.min(self.w.as_of));
        let from = clock.day_start(start);
        self.long_gaps
            .iter()
            .filter(|g| g.start < to && g.end > from && g.end > g.start)
            .filter(|g| intakes.iter().any(|i| i.id == g.intake_id))
            .map(|g| {
                let inside = (g.end.min(to) - g.start.max(from)).max(0) as f64;
                g.volume_m3 * inside / (g.end - g.start) as f64
            })
            .sum::<f64>()
            // An empty sum is -0.0: written as 0.
            + 0.0
    }

    /// Volume of these intakes flagged as implausible in `year` (to the as-of date).
    pub fn flagged_m3(&self, intakes: &[&Intake], year: i16) -> f64 {
        intakes
            .iter()
            .filter_map(|i| self.flagged.get(&(i.id.clone(), year)))
            .sum::<f64>()
            // An empty sum is -0.0: written as 0.
            + 0.0
    }

    /// What the intakes were expected to draw over `[start, end]` (within one year), what of it
    /// reported, and what is imputed for their silent days ([`expected`]).
    pub fn expected(&self, intakes: &[&Intake], start: Date, end: Date) -> Expected {
        let mut total = Expected::default();
        for i in intakes {
            let id = i.id.as_str();
            // Only the days the intake is in force: a sealed well is expected to draw nothing
            // after its date.
            let (s, e) = (
                i.active_from.map_or(start, |f| f.max(start)),
                i.active_to.map_or(end, |t| t.min(end)),
            );
            if e < s {
                continue;
            }
            let records = self.records.get(id).map(Vec::as_slice).unwrap_or(&[]);
            total += expected(
                records,
                Some(i.permit_m3_per_year),
                s,
                e,
                e == self.w.as_of,
                self.first_day.get(id).copied(),
            );
        }
        total
    }

    /// Whether an intake has any volume (measured or estimated) in the months of `[start, end]`.
    pub fn has_volume(&self, intake: &Intake, start: Date, end: Date) -> bool {
        let (from, to) = ((start.year(), start.month()), (end.year(), end.month()));
        self.records.get(&intake.id).is_some_and(|rs| {
            rs.iter()
                .any(|r| (r.0, r.1) >= from && (r.0, r.1) <= to && (r.2 > 0.0 || r.4 > 0))
        })
    }

    /// Window sums of a set of intakes.
    pub fn sums_of(&self, intakes: &[&Intake]) -> WindowSums {
        let mut s = WindowSums::default();
        for i in intakes {
            if let Some(x) = self.sums.get(i.id.as_str()) {
                s += *x;
            }
        }
        s
    }

    /// Window sums of the registry in force in each year: this year's windows from
    /// `this_year`'s intakes, last year's from `last_year`'s, the rolling 12 months from both.
    pub fn sums_by_year(&self, this_year: &[&Intake], last_year: &[&Intake]) -> WindowSums {
        let mut s = self.sums_of(this_year);
        let last = self.sums_of(last_year);
        s.last_year = last.last_year;
        s.last_year_to_date = last.last_year_to_date;
        s.last_year_same_days = last.last_year_same_days;
        s.rolling_12m = s.ytd + (last.last_year - last.last_year_to_date);
        s
    }

    /// Monthly volumes of a set of intakes, summed: `(year, month) → m³`.
    fn monthly_of(&self, intakes: &[&Intake]) -> HashMap<(i16, i8), f64> {
        let mut m = HashMap::new();
        for i in intakes {
            for &(y, mo, v) in self.monthly.get(&i.id).map(Vec::as_slice).unwrap_or(&[]) {
                *m.entry((y, mo)).or_default() += v.m3;
            }
        }
        m
    }

    /// Each month of the loaded months of a set of intakes, summed, with whether every one of
    /// them reported on at least `share` of its days (or was sealed before the month began).
    pub fn month_volumes(&self, intakes: &[&Intake], share: f64) -> Vec<MonthVolume> {
        let mut months: Vec<(i16, i8)> = intakes
            .iter()
            .flat_map(|i| self.records.get(&i.id).map(Vec::as_slice).unwrap_or(&[]))
            .map(|r| (r.0, r.1))
            .collect();
        months.sort_unstable();
        months.dedup();
        months
            .into_iter()
            .filter_map(|(year, month)| {
                let first = Date::new(year, month, 1).ok()?;
                let days = f64::from(first.days_in_month());
                let mut m3 = 0.0;
                let mut complete = true;
                for i in intakes {
                    let r = self
                        .records
                        .get(&i.id)
                        .and_then(|rs| rs.iter().find(|r| (r.0, r.1) == (year, month)));
                    m3 += r.map_or(0.0, |r| r.2);
                    let sealed = i.active_to.is_some_and(|t| t < first);
                    complete &= sealed || r.is_some_and(|r| f64::from(r.3) >= share * days);
                }
                Some(MonthVolume {
                    year,
                    month,
                    m3,
                    complete,
                })
            })
            .collect()
    }

    /// The months `(year, month)` in which any of the intakes reported.
    pub fn months_reported(&self, intakes: &[&Intake]) -> Vec<(i16, i8)> {
        let mut months: Vec<(i16, i8)> = intakes
            .iter()
            .flat_map(|i| self.reported.get(&i.id).map(Vec::as_slice).unwrap_or(&[]))
            .filter(|x| x.2 > 0)
            .map(|x| (x.0, x.1))
            .collect();
        months.sort_unstable();
        months.dedup();
        months
    }

    /// The first day any of the intakes has data.
    fn first_day_of(&self, intakes: &[&Intake]) -> Option<Date> {
        intakes
            .iter()
            .filter_map(|i| self.first_day.get(&i.id))
            .min()
            .copied()
    }

    /// What a projection of a set of intakes is computed from.
    pub fn projection_input(&self, intakes: &[&Intake]) -> ProjectionInput {
        let w = &self.w;
        let sums = self.sums_of(intakes);
        let first = self.first_day_of(intakes);
        let jan1 = Date::new(w.year, 1, 1).unwrap_or(w.as_of);
        let days_from = |start: Date| {
            first.map_or(0, |f| {
                if f > w.as_of {
                    0
                } else {
                    days_between(f.max(start), w.as_of) + 1
                }
            })
        };
        let monthly = self.monthly_of(intakes);
        let monthly_ratios = complete_months(w.as_of)
            .filter_map(|m| {
                let now = *monthly.get(&(w.year, m))?;
                let before = *monthly.get(&(w.year - 1, m))?;
                (now > 0.0 && before > 0.0).then(|| now / before)
            })
            .collect();
        ProjectionInput {
            has_last_year: sums.last_year.m3 > 0.0,
            data_days_this_year: days_from(jan1),
            days_covered_90d: days_from(w.as_of.checked_sub(89.days()).unwrap_or(w.as_of)),
            monthly_ratios,
            sums,
        }
    }

    /// The share of `obliged` intake-days that reported in `year` (to the as-of date for the
    /// current year), with the months in which none of `group` reported, and the share of their
    /// expected volume `e` (over the same days) that reported.
    pub fn completeness(
        &self,
        obliged: &[&Intake],
        group: &[&Intake],
        year: i16,
        e: &Expected,
    ) -> Completeness {
        let w = &self.w;
        let (end, last_month) = if year == w.year {
            (w.as_of, w.as_of.month())
        } else {
            (Date::new(year, 12, 31).unwrap_or(w.as_of), 12)
        };
        let start = Date::new(year, 1, 1).unwrap_or(w.as_of);
        // Each intake owes the days of the period it is in force.
        let owed: i64 = obliged
            .iter()
            .map(|i| {
                let (s, e) = (
                    i.active_from.map_or(start, |f| f.max(start)),
                    i.active_to.map_or(end, |t| t.min(end)),
                );
                if e < s { 0 } else { days_between(s, e) + 1 }
            })
            .sum();
        let reported: i64 = obliged
            .iter()
            .flat_map(|i| self.reported.get(&i.id).map(Vec::as_slice).unwrap_or(&[]))
            .filter(|x| x.0 == year)
            .map(|x| i64::from(x.2))
            .sum();
        let months = self.months_reported(group);
        let missing = (1..=last_month)
            .filter(|m| !months.contains(&(year, *m)))
            .count() as u32;
        Completeness {
            reported_intake_days: reported,
            expected_intake_days: owed,
            missing_months: missing,
            expected_m3: e.expected_m3,
            reported_m3: e.reported_m3,
        }
    }
}
