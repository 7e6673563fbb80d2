//! The live case: meter readings that extend an intake's history in time order are added to
//! its days, months and running yearly sums as increments from its cached [`Frontier`] (the
//! last reading and the running sums), without reading its history again.

use super::*;

/// Reads an intake's frontier: its last reading, the rate of its last interval, its last daily row.
pub(super) fn load_frontier(
    tx: &dyn Sql,
    settings: &StoreSettings,
    intake: &str,
) -> Result<Frontier, StoreError> {
    let last_two = points(
        tx,
        "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 ORDER BY ts DESC LIMIT 2",
        vals![intake],
    )?;
    let row = tx.opt(
        "SELECT day, cum_year_m3, cum_year_est_m3, source FROM daily_volume
         WHERE intake_id = ?1 ORDER BY day DESC LIMIT 1",
        vals![intake],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(frontier_of(settings, intake, last_two, row))
}

/// The frontiers of `intakes` in two statements, whatever their number: on PostgreSQL, where
/// each statement is a round trip to the server, instead of two for each intake.
pub(super) fn load_frontiers_at_once(
    tx: &dyn Sql,
    settings: &StoreSettings,
    intakes: &[&str],
) -> Result<Vec<Frontier>, StoreError> {
    let json = serde_json::to_string(intakes).unwrap_or_else(|_| "[]".into());
    let mut last: Vec<Vec<Point>> = vec![Vec::new(); intakes.len()];
    tx.each(
        "SELECT i.key, r.ts, r.total_m3 FROM json_each(?1) AS i
         CROSS JOIN LATERAL (SELECT ts, total_m3 FROM meter_readings
                             WHERE intake_id = i.value ORDER BY ts DESC LIMIT 2) AS r
         ORDER BY i.key, r.ts DESC",
        vals![&json],
        &mut |r| {
            if let Some(v) = usize::try_from(r.get::<i64>(0)?)
                .ok()
                .and_then(|k| last.get_mut(k))
            {
                v.push(Point {
                    ts: r.get(1)?,
                    total_m3: r.get(2)?,
                });
            }
            Ok(())
        },
    )?;
    let mut rows: Vec<Option<DailyRow>> = vec![None; intakes.len()];
    tx.each(
        "SELECT i.key, d.day, d.cum_year_m3, d.cum_year_est_m3, d.source FROM json_each(?1) AS i
         CROSS JOIN LATERAL (SELECT day, cum_year_m3, cum_year_est_m3, source FROM daily_volume
                             WHERE intake_id = i.value ORDER BY day DESC LIMIT 1) AS d",
        vals![&json],
        &mut |r| {
            if let Some(slot) = usize::try_from(r.get::<i64>(0)?)
                .ok()
                .and_then(|k| rows.get_mut(k))
            {
                *slot = Some((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
            }
            Ok(())
        },
    )?;
    Ok(intakes
        .iter()
        .zip(last.into_iter().zip(rows))
        .map(|(intake, (last_two, row))| frontier_of(settings, intake, last_two, row))
        .collect())
}

/// An intake's latest daily row as stored: day, running yearly sums, source.
type DailyRow = (String, f64, f64, String);

/// A frontier from an intake's last two readings (latest first) and its latest daily row.
fn frontier_of(
    settings: &StoreSettings,
    intake: &str,
    mut last_two: Vec<Point>,
    row: Option<DailyRow>,
) -> Frontier {
    last_two.reverse();
    let rate = match last_two.as_slice() {
        [a, b] => rate_for_next(&interval(*a, *b, None, &settings.counter_params(intake))),
        _ => None,
    };
    let row = row.and_then(|(d, c, e, s)| d.parse::<Date>().ok().map(|d| (d, c, e, s == "meter")));
    Frontier {
        last: last_two.last().copied(),
        rate,
        row,
    }
}

/// True when `points` (sorted) all lie after the intake's last reading and its daily rows end
/// where that reading's interval ends, so they can be applied as increments.
pub(super) fn appends(f: &Frontier, points: &[Point], clock: &LocalClock) -> bool {
    let after_last = f.last.is_none_or(|l| points[0].ts > l.ts);
    let rows_ok = match (f.row, f.last) {
        (None, _) => true,
        (Some((day, _, _, is_meter)), Some(l)) => is_meter && day <= clock.day_of(l.ts),
        (Some(_), None) => false,
    };
    after_last && rows_ok
}

/// The incremental path: intervals from the frontier through the new points, their shares
/// added to the daily rows (new rows continue the running yearly sums) and to the months.
pub(super) fn append_meter(
    tx: &dyn Sql,
    settings: &StoreSettings,
    intake: &str,
    f: &mut Frontier,
    new: &[Point],
) -> Result<(), StoreError> {
    let p = settings.counter_params(intake);
    let ivs = advance(f, new, &p);
    let days = day_sums(&ivs, &settings.clock, |_| true);
    let months = add_to_days(tx, intake, f, &days)?;
    add_to_months(tx, intake, &months)?;
    record_events(tx, intake, &ivs, &p)
}

/// The intervals from the frontier's last reading through `new`; the frontier moves to the end.
fn advance(f: &mut Frontier, new: &[Point], p: &CounterParams) -> Vec<Interval> {
    let mut ivs = Vec::with_capacity(new.len());
    let mut prev = f.last;
    for &pt in new {
        if let Some(a) = prev {
            let iv = interval(a, pt, f.rate, p);
            f.rate = rate_for_next(&iv);
            ivs.push(iv);
        }
        prev = Some(pt);
    }
    f.last = prev;
    ivs
}

/// Adds day sums to an intake's daily rows after its frontier row: the frontier's day is
/// updated in place, later days are new rows continuing the running yearly sums. Returns what
/// the months gain: the sums and the number of new days.
fn add_to_days(
    tx: &dyn Sql,
    intake: &str,
    f: &mut Frontier,
    days: &BTreeMap<Date, DayAcc>,
) -> Result<BTreeMap<String, MonthAdd>, StoreError> {
    let mut months: BTreeMap<String, MonthAdd> = BTreeMap::new();
    for (day, a) in days {
        let (is_new, newly_reported) = match f.row {
            Some((row_day, cum, est, _)) if row_day == *day => {
                let measured: i64 = tx.value(
                    "UPDATE daily_volume SET volume_m3 = volume_m3 + ?3, estimated_m3 = estimated_m3 + ?4,
                       flagged_m3 = flagged_m3 + ?5, covered_s = covered_s + ?6, measured_s = measured_s + ?7,
                       cum_year_m3 = cum_year_m3 + ?3, cum_year_est_m3 = cum_year_est_m3 + ?4
                     WHERE intake_id = ?1 AND day = ?2 RETURNING measured_s",
                    vals![
                        intake,
                        &day.to_string(),
                        a.volume,
                        a.estimated,
                        a.flagged,
                        a.covered,
                        a.measured
                    ],
                )?;
                f.row = Some((row_day, cum + a.volume, est + a.estimated, true));
                // Reported now, and not before this batch's share.
                (false, a.measured > 0 && measured == a.measured)
            }
            row => {
                let (cum, est) = match row {
                    Some((d, c, e, _)) if d.year() == day.year() => (c + a.volume, e + a.estimated),
                    _ => (a.volume, a.estimated),
                };
                tx.exec(
                    "INSERT INTO daily_volume (intake_id, day, volume_m3, estimated_m3, flagged_m3, covered_s, measured_s, source, cum_year_m3, cum_year_est_m3)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?9, 'meter', ?7, ?8)",
                    vals![
                        intake,
                        &day.to_string(),
                        a.volume,
                        a.estimated,
                        a.flagged,
                        a.covered,
                        cum,
                        est,
                        a.measured
                    ],
                )?;
                f.row = Some((*day, cum, est, true));
                (true, a.measured > 0)
            }
        };
        let m = months.entry(month_key(*day)).or_default();
        m.sums.volume += a.volume;
        m.sums.estimated += a.estimated;
        m.sums.flagged += a.flagged;
        m.new_days += i64::from(is_new);
        m.new_reported += i64::from(newly_reported);
    }
    Ok(months)
}

/// What an append adds to one month: the sums, the new days, the days newly reported.
#[derive(Default)]
struct MonthAdd {
    sums: DayAcc,
    new_days: i64,
    new_reported: i64,
}

/// Adds month sums (and new days) to an intake's monthly rows.
fn add_to_months(
    tx: &dyn Sql,
    intake: &str,
    months: &BTreeMap<String, MonthAdd>,
) -> Result<(), StoreError> {
    for (month, m) in months {
        tx.exec(
            "INSERT INTO monthly_volume AS mv (intake_id, month, volume_m3, estimated_m3, flagged_m3, days, reported_days)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (intake_id, month) DO UPDATE SET
               volume_m3 = mv.volume_m3 + excluded.volume_m3,
               estimated_m3 = mv.estimated_m3 + excluded.estimated_m3,
               flagged_m3 = mv.flagged_m3 + excluded.flagged_m3, days = mv.days + excluded.days,
               reported_days = mv.reported_days + excluded.reported_days",
            vals![
                intake,
                month,
                m.sums.volume,
                m.sums.estimated,
                m.sums.flagged,
                m.new_days,
                m.new_reported
            ],
        )?;
    }
    Ok(())
}
