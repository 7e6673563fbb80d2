//! The read side on volumes, cut at the as-of date: running yearly sums and window sums per
//! intake, the days each intake reported and when its data begins, monthly volumes (complete
//! months from the monthly rollup, the as-of month summed from at most 31 daily rows), daily
//! county sums, estimated and flagged volumes, electricity. Each figure is a handful of index
//! lookups per intake, never a scan of the daily history.

use std::collections::HashMap;

use jiff::civil::Date;

use super::StoreError;
use super::sql::{Sql, SqlExt};
use crate::analysis::accounting::{VolumeWithEstimate, WindowSums, Windows, window_sums};
use crate::domain::MonthlyPoints;
use crate::domain::time::{month_key, parse_month_key};
use crate::vals;

/// The running yearly sums of many intakes at `day`: for each, the latest daily row on or
/// before `day` in `day`'s year (intakes with none are absent). One statement for all intakes:
/// two index seeks each inside SQLite, instead of a round trip per intake.
fn cum_at_all(
    conn: &dyn Sql,
    ids_json: &str,
    day: Date,
) -> Result<HashMap<String, VolumeWithEstimate>, StoreError> {
    let rows = conn.rows(
        "SELECT d.intake_id, d.cum_year_m3, d.cum_year_est_m3
         FROM json_each(?1) AS i
         JOIN daily_volume AS d ON d.intake_id = i.value AND d.day = (
             SELECT max(day) FROM daily_volume
             WHERE intake_id = i.value AND day <= ?2 AND day >= ?3)",
        vals![
            ids_json,
            &day.to_string(),
            &format!("{:04}-01-01", day.year())
        ],
        |r| {
            Ok((
                r.get::<String>(0)?,
                VolumeWithEstimate {
                    m3: r.get(1)?,
                    estimated_m3: r.get(2)?,
                },
            ))
        },
    )?;
    Ok(rows.into_iter().collect())
}

/// Each listed intake's withdrawal in calendar year `year` (from its running yearly sums).
pub fn year_totals(
    conn: &dyn Sql,
    intakes: &[&str],
    year: i16,
) -> Result<HashMap<String, VolumeWithEstimate>, StoreError> {
    let ids_json = serde_json::to_string(intakes).unwrap_or_else(|_| "[]".into());
    let Ok(end) = Date::new(year, 12, 31) else {
        return Ok(HashMap::new());
    };
    cum_at_all(conn, &ids_json, end)
}

/// Window sums of every listed intake as of `w.as_of`.
pub fn intake_window_sums<'a>(
    conn: &dyn Sql,
    intakes: impl IntoIterator<Item = &'a str>,
    w: &Windows,
) -> Result<HashMap<&'a str, WindowSums>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    // The handful of dates the windows need, each looked up once for all intakes.
    let mut at: HashMap<Date, HashMap<String, VolumeWithEstimate>> = HashMap::new();
    let mut err = None;
    window_sums(w, |d| {
        if let std::collections::hash_map::Entry::Vacant(slot) = at.entry(d) {
            match cum_at_all(conn, &ids_json, d) {
                Ok(m) => {
                    slot.insert(m);
                }
                Err(e) => err = Some(e),
            }
        }
        VolumeWithEstimate::default()
    });
    if let Some(e) = err {
        return Err(e);
    }
    let empty = HashMap::new();
    Ok(ids
        .into_iter()
        .map(|id| {
            let sums = window_sums(w, |d| {
                at.get(&d)
                    .unwrap_or(&empty)
                    .get(id)
                    .copied()
                    .unwrap_or_default()
            });
            (id, sums)
        })
        .collect())
}

/// The last day on or before `until` each of `intakes` has an imported, metered daily volume
/// (an intake whose meter is read as daily figures reports that way).
pub fn last_metered_days<'a>(
    conn: &dyn Sql,
    intakes: impl IntoIterator<Item = &'a str>,
    until: Date,
) -> Result<HashMap<&'a str, Date>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    let rows = conn.rows(
        "SELECT i.key, (SELECT max(day) FROM daily_volume INDEXED BY daily_volume_imported
                          WHERE intake_id = i.value AND day <= ?2
                          AND source = 'import' AND measured_s > 0)
         FROM json_each(?1) AS i",
        vals![&ids_json, &until.to_string()],
        |r| Ok((r.get::<i64>(0)?, r.get::<Option<String>>(1)?)),
    )?;
    let mut out = HashMap::new();
    for row in rows {
        if let (k, Some(day)) = row
            && let Some(id) = usize::try_from(k).ok().and_then(|k| ids.get(k))
            && let Ok(d) = day.parse::<Date>()
        {
            out.insert(*id, d);
        }
    }
    Ok(out)
}

/// Volume flagged as implausible (a flow above the intake's maximum: a counter jump, a meter
/// refurbished or replaced starting higher) per intake and year, on days from `from` to `to`.
pub fn flagged_by_year(
    conn: &dyn Sql,
    from: Date,
    to: Date,
) -> Result<HashMap<(String, i16), f64>, StoreError> {
    let rows = conn.rows(
        "SELECT intake_id, CAST(substr(day, 1, 4) AS INTEGER), sum(flagged_m3)
         FROM daily_volume INDEXED BY daily_volume_flagged
         WHERE day >= ?1 AND day <= ?2 AND flagged_m3 > 0 GROUP BY 1, 2",
        vals![&from.to_string(), &to.to_string()],
        |r| {
            let year = i16::try_from(r.get::<i64>(1)?).unwrap_or(i16::MAX);
            Ok(((r.get::<String>(0)?, year), r.get::<f64>(2)?))
        },
    )?;
    Ok(rows.into_iter().collect())
}

/// Periods of imported electricity per intake: (first day, last day, kWh).
pub type Electricity = HashMap<String, Vec<(Date, Date, f64)>>;

/// Imported electricity per intake, periods ending on or after `from`.
pub fn electricity(conn: &dyn Sql, from: Date) -> Result<Electricity, StoreError> {
    let rows = conn.rows(
        "SELECT intake_id, period_start, period_end, kwh FROM electricity WHERE period_end >= ?1
         ORDER BY intake_id, period_start",
        vals![&from.to_string()],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<f64>(3)?,
            ))
        },
    )?;
    let mut out = Electricity::new();
    for (id, s, e, kwh) in rows {
        if let (Ok(s), Ok(e)) = (s.parse::<Date>(), e.parse::<Date>()) {
            out.entry(id).or_default().push((s, e, kwh));
        }
    }
    Ok(out)
}

/// Records one period of an intake's electricity (a period imported again replaces it).
pub fn put_electricity(
    conn: &dyn Sql,
    intake: &str,
    start: Date,
    end: Date,
    kwh: f64,
) -> Result<(), StoreError> {
    conn.exec(
        "INSERT INTO electricity (intake_id, period_start, period_end, kwh) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (intake_id, period_start) DO UPDATE SET period_end = excluded.period_end,
           kwh = excluded.kwh",
        vals![intake, &start.to_string(), &end.to_string(), kwh],
    )?;
    Ok(())
}

/// One day's withdrawal of a group of intakes.
#[derive(Clone, Debug, PartialEq)]
pub struct DayVolume {
    pub day: Date,
    pub volume_m3: f64,
    pub estimated_m3: f64,
    /// Intakes with a figure for the day.
    pub intakes: u32,
}

/// The daily volumes of the listed intakes summed by day, from `from` to `to` (inclusive), in
/// date order, with the estimated part and the number of intakes of each day. Days on which
/// none of them has a row are absent.
pub fn daily_county_volumes(
    conn: &dyn Sql,
    intakes: &[&str],
    from: Date,
    to: Date,
) -> Result<Vec<DayVolume>, StoreError> {
    let ids_json = serde_json::to_string(intakes).unwrap_or_else(|_| "[]".into());
    let rows = conn.rows(
        "SELECT d.day, sum(d.volume_m3), sum(d.estimated_m3), count(*) FROM json_each(?1) AS i
         JOIN daily_volume AS d ON d.intake_id = i.value AND d.day >= ?2 AND d.day <= ?3
         GROUP BY d.day ORDER BY d.day",
        vals![&ids_json, &from.to_string(), &to.to_string()],
        |r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<f64>(1)?,
                r.get::<f64>(2)?,
                r.get::<u32>(3)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for (day, volume_m3, estimated_m3, intakes) in rows {
        // The store writes days as YYYY-MM-DD; a row that is not one cannot be placed on a day.
        if let Ok(day) = day.parse::<Date>() {
            out.push(DayVolume {
                day,
                volume_m3,
                estimated_m3,
                intakes,
            });
        }
    }
    Ok(out)
}

/// The daily volumes of the listed intakes summed by day, from `from` to `to` (inclusive), in
/// date order. Days on which none of them has a row are absent.
pub fn daily_volume_sums<'a>(
    conn: &dyn Sql,
    intakes: impl IntoIterator<Item = &'a str>,
    from: Date,
    to: Date,
) -> Result<Vec<(Date, f64)>, StoreError> {
    let ids: Vec<&'a str> = intakes.into_iter().collect();
    Ok(daily_county_volumes(conn, &ids, from, to)?
        .into_iter()
        .map(|d| (d.day, d.volume_m3))
        .collect())
}

/// The listed ids as a JSON array, for `json_each`: one statement for all devices, an index
/// seek each inside SQLite.
pub(super) fn ids_json(ids: &[&str]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// The first day with a daily volume of each listed intake, on or before `as_of`.
pub fn first_days(
    conn: &dyn Sql,
    intakes: &[&str],
    as_of: Date,
) -> Result<HashMap<String, Date>, StoreError> {
    let rows = conn.rows(
        "SELECT i.value, (SELECT min(day) FROM daily_volume WHERE intake_id = i.value AND day <= ?2)
         FROM json_each(?1) AS i",
        vals![&ids_json(intakes), &as_of.to_string()],
        |r| Ok((r.get::<String>(0)?, r.get::<Option<String>>(1)?)),
    )?;
    let mut out = HashMap::new();
    for row in rows {
        if let (id, Some(day)) = row
            && let Ok(d) = day.parse()
        {
            out.insert(id, d);
        }
    }
    Ok(out)
}

/// Monthly figures of each listed intake from `from`'s month to `as_of`'s, the as-of month
/// summed only up to `as_of`: the volume, and the days on which the intake reported (a day not
/// wholly estimated). Months without a row, and months without a reported day, are absent from
/// their map.
pub struct MonthlyFigures {
    pub volumes: MonthlyPoints<VolumeWithEstimate>,
    pub reported_days: MonthlyPoints<u32>,
    /// Days with any volume, measured or estimated (a gap's days included), per month with a
    /// row: the days an imputation must not count again.
    pub covered_days: MonthlyPoints<u32>,
}

/// [`MonthlyFigures`] of the listed intakes: one pass over their monthly rollups (an index range
/// per intake) and one over the as-of month's daily rows. Rows are gathered by the intake's
/// position in `intakes`, so no id is copied per row.
pub fn monthly_figures(
    conn: &dyn Sql,
    intakes: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyFigures, StoreError> {
    type Row = (i16, i8, VolumeWithEstimate, u32, u32);
    let mut by_intake: Vec<Vec<Row>> = vec![Vec::new(); intakes.len()];
    let ids = ids_json(intakes);
    let gather = |sql: &str,
                  args: &[super::sql::Val<'_>],
                  by_intake: &mut [Vec<Row>]|
     -> Result<(), StoreError> {
        conn.each(sql, args, &mut |r| {
            let k = usize::try_from(r.get::<i64>(0)?).unwrap_or(usize::MAX);
            let Some((y, m)) = parse_month_key(&r.get::<String>(1)?) else {
                return Ok(());
            };
            if let Some(v) = by_intake.get_mut(k) {
                v.push((
                    y,
                    m,
                    VolumeWithEstimate {
                        m3: r.get(2)?,
                        estimated_m3: r.get(3)?,
                    },
                    r.get(4)?,
                    r.get(5)?,
                ));
            }
            Ok(())
        })
    };
    // Complete months, and the as-of month whole where nothing is stored after `as_of` (the live
    // case: the rollup row is then the partial month).
    let month_end = as_of.last_of_month();
    let later: Vec<String> = conn.rows(
        "SELECT i.value FROM json_each(?1) AS i
         WHERE EXISTS (SELECT 1 FROM daily_volume
                       WHERE intake_id = i.value AND day > ?2 AND day <= ?3)",
        vals![&ids, &as_of.to_string(), &month_end.to_string()],
        |r| r.get(0),
    )?;
    gather(
        "SELECT i.key, m.month, m.volume_m3, m.estimated_m3, m.reported_days, m.days
         FROM json_each(?1) AS i
         JOIN monthly_volume AS m ON m.intake_id = i.value AND m.month >= ?2 AND m.month <= ?3",
        vals![&ids, &month_key(from), &month_key(as_of)],
        &mut by_intake,
    )?;
    if !later.is_empty() {
        // Intakes with days after `as_of` in its month: that month summed from the daily rows.
        let (y, m) = (as_of.year(), as_of.month());
        let is_later: std::collections::HashSet<&str> = later.iter().map(String::as_str).collect();
        for (id, rows) in intakes.iter().zip(by_intake.iter_mut()) {
            if is_later.contains(id) {
                rows.retain(|r| (r.0, r.1) != (y, m));
            }
        }
        gather(
            "SELECT i.key, CAST(?4 AS TEXT), sum(d.volume_m3), sum(d.estimated_m3),
                    sum(CASE WHEN d.measured_s > 0 THEN 1 ELSE 0 END), count(*)
             FROM json_each(?1) AS i
             JOIN daily_volume AS d ON d.intake_id = i.value AND d.day >= ?2 AND d.day <= ?3
             WHERE i.value IN (SELECT value FROM json_each(?5))
             GROUP BY i.key",
            vals![
                &ids,
                &as_of.first_of_month().max(from).to_string(),
                &as_of.to_string(),
                &month_key(as_of),
                &serde_json::to_string(&later).unwrap_or_else(|_| "[]".into())
            ],
            &mut by_intake,
        )?;
    }
    let mut out = MonthlyFigures {
        volumes: HashMap::new(),
        reported_days: HashMap::new(),
        covered_days: HashMap::new(),
    };
    for (id, rows) in intakes.iter().zip(by_intake) {
        if rows.is_empty() {
            continue;
        }
        let reported: Vec<(i16, i8, u32)> = rows
            .iter()
            .filter(|r| r.3 > 0)
            .map(|&(y, m, _, n, _)| (y, m, n))
            .collect();
        if !reported.is_empty() {
            out.reported_days.insert((*id).to_string(), reported);
        }
        out.covered_days.insert(
            (*id).to_string(),
            rows.iter().map(|&(y, m, _, _, c)| (y, m, c)).collect(),
        );
        out.volumes.insert(
            (*id).to_string(),
            rows.into_iter().map(|(y, m, v, _, _)| (y, m, v)).collect(),
        );
    }
    Ok(out)
}

/// Monthly volumes of the listed intakes (see [`monthly_figures`]).
pub fn monthly_volumes(
    conn: &dyn Sql,
    intakes: &[&str],
    from: Date,
    as_of: Date,
) -> Result<MonthlyPoints<VolumeWithEstimate>, StoreError> {
    Ok(monthly_figures(conn, intakes, from, as_of)?.volumes)
}
