//! Local calendar time.
//!
//! Daily and annual sums belong to the configured zone (Asia/Shanghai for Taiyuan), never UTC: a
//! reading at 23:30 local on 31 December counts towards that year even though it is 15:30 UTC.
//! Timestamps inside gwmon are epoch seconds (`i64`); this module turns them into local days and
//! back, and parses the timestamp forms the data contract allows.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A time zone plus the conversions gwmon needs between epoch seconds and local days.
#[derive(Clone, Debug)]
pub struct LocalClock {
    tz: TimeZone,
    name: String,
}

/// Characters of an unparsable timestamp string quoted in its error.
const SHOWN_TS_CHARS: usize = 64;

/// Why a timestamp could not be understood.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TsError {
    #[error(
        "invalid timestamp '{0}': expected RFC 3339 with offset (2026-03-01T08:00:00+08:00), epoch seconds, or local time (2026-03-01 08:00:00, 2026/3/1 8:00)"
    )]
    Unparsable(String),
    #[error("timestamp {0} is out of range: expected epoch seconds between 2000 and 2100")]
    OutOfRange(String),
}

/// Earliest timestamp accepted from any source (2000-01-01T00:00:00Z). Meters with a flat clock
/// battery report 1970; those readings cannot be placed in time and are quarantined.
pub const MIN_TS: i64 = 946_684_800;
/// Latest timestamp accepted (2100-01-01T00:00:00Z), far beyond any deadline in the plan.
pub const MAX_TS: i64 = 4_102_444_800;

impl LocalClock {
    /// The clock for an IANA zone name such as `Asia/Shanghai` (from the bundled tz database, so
    /// it works on machines without /usr/share/zoneinfo).
    pub fn new(zone: &str) -> Result<Self, String> {
        let tz = TimeZone::get(zone).map_err(|e| {
            format!("unknown time zone '{zone}' ({e}): expected an IANA name such as Asia/Shanghai")
        })?;
        Ok(Self {
            tz,
            name: zone.to_string(),
        })
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The local calendar day that contains `ts`.
    pub fn day_of(&self, ts: i64) -> Date {
        match Timestamp::from_second(ts) {
            Ok(t) => self.tz.to_datetime(t).date(),
            Err(_) => Date::constant(1970, 1, 1),
        }
    }

    /// Epoch seconds of local midnight at the start of `day`.
    pub fn day_start(&self, day: Date) -> i64 {
        self.local_to_ts(day.at(0, 0, 0, 0)).unwrap_or(0)
    }

    /// Epoch seconds of local midnight at the start of the day after `day`.
    pub fn day_end(&self, day: Date) -> i64 {
        self.day_start(next_day(day))
    }

    /// Epoch seconds of a local civil date-time.
    pub fn local_to_ts(&self, dt: DateTime) -> Option<i64> {
        self.tz.to_timestamp(dt).ok().map(|t| t.as_second())
    }

    /// The local civil date and time of `ts`.
    pub fn local(&self, ts: i64) -> DateTime {
        match Timestamp::from_second(ts) {
            Ok(t) => self.tz.to_datetime(t),
            Err(_) => DateTime::constant(1970, 1, 1, 0, 0, 0, 0),
        }
    }

    /// The local date and time of `ts`, formatted `YYYY-MM-DD HH:MM:SS` (for messages).
    pub fn format(&self, ts: i64) -> String {
        match Timestamp::from_second(ts) {
            Ok(t) => self.tz.to_datetime(t).strftime("%F %T").to_string(),
            Err(_) => ts.to_string(),
        }
    }

    /// Parses a timestamp string: RFC 3339 with an offset, or a naive local date-time
    /// (`T` or space separated) interpreted in this zone, also as spreadsheets write it
    /// (`2024/1/1 0:00`, `2024年1月1日 8:00`, a date alone). Fractional seconds are truncated.
    pub fn parse_str(&self, s: &str) -> Result<i64, TsError> {
        let t = s.trim();
        if let Ok(ts) = t.parse::<Timestamp>() {
            return check_range(ts.as_second(), s);
        }
        if let Ok(dt) = t.parse::<DateTime>() {
            return match self.local_to_ts(dt) {
                Some(ts) => check_range(ts, s),
                None => Err(TsError::Unparsable(s.to_string())),
            };
        }
        // Spreadsheet forms: Excel on Chinese Windows writes `2024/1/1 0:00`, leading zeros
        // dropped, seconds often too; a date alone is local midnight.
        let spreadsheet = SPREADSHEET_DATE_TIMES
            .iter()
            .find_map(|f| DateTime::strptime(f, t).ok())
            .or_else(|| {
                SPREADSHEET_DATES
                    .iter()
                    .find_map(|f| jiff::civil::Date::strptime(f, t).ok())
                    .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
            });
        if let Some(dt) = spreadsheet {
            return match self.local_to_ts(dt) {
                Some(ts) => check_range(ts, s),
                None => Err(TsError::Unparsable(s.to_string())),
            };
        }
        // Some loggers send purely numeric strings.
        if let Ok(n) = t.parse::<f64>() {
            return self.parse_epoch(n);
        }
        // The string comes from a device: quoted in messages and logs, so made safe and short.
        Err(TsError::Unparsable(
            super::sanitize::for_log(s, SHOWN_TS_CHARS).into_owned(),
        ))
    }

    /// Interprets a JSON number as epoch seconds. Values beyond year 2100 in seconds but plausible
    /// as milliseconds are taken as milliseconds, a common logger setting.
    pub fn parse_epoch(&self, n: f64) -> Result<i64, TsError> {
        if !n.is_finite() {
            return Err(TsError::Unparsable(n.to_string()));
        }
        let secs = if n >= MAX_TS as f64 && n / 1000.0 < MAX_TS as f64 {
            (n / 1000.0).floor()
        } else {
            n.floor()
        };
        check_range(secs as i64, &n.to_string())
    }
}

/// Local date-times as spreadsheets write them (leading zeros are optional when parsing).
const SPREADSHEET_DATE_TIMES: [&str; 4] = [
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M",
    "%Y年%m月%d日 %H:%M",
];
/// Local dates alone (midnight).
const SPREADSHEET_DATES: [&str; 2] = ["%Y/%m/%d", "%Y-%m-%d"];

fn check_range(ts: i64, raw: &str) -> Result<i64, TsError> {
    if (MIN_TS..MAX_TS).contains(&ts) {
        Ok(ts)
    } else {
        Err(TsError::OutOfRange(raw.to_string()))
    }
}

/// The day after `day` (saturating at the end of the supported range).
pub fn next_day(day: Date) -> Date {
    day.checked_add(1.day()).unwrap_or(day)
}

/// Parses `YYYY-MM-DD`, naming the field in the error.
pub fn parse_date(s: &str, what: &str) -> Result<Date, String> {
    s.trim()
        .parse::<Date>()
        .map_err(|_| format!("invalid {what} '{s}': expected a date as YYYY-MM-DD"))
}

/// Now, in epoch seconds. The one place that reads the wall clock; the library takes time as
/// a parameter everywhere else, so tests inject it.
pub fn now_ts() -> i64 {
    Timestamp::now().as_second()
}

/// The month of `day` as the store and the CSVs key it: "2026-03".
pub fn month_key(day: Date) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// Parses a [`month_key`] back into (year, month).
pub fn parse_month_key(s: &str) -> Option<(i16, i8)> {
    let (y, m) = s.split_once('-')?;
    let (y, m) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some((y, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh() -> LocalClock {
        LocalClock::new("Asia/Shanghai").unwrap()
    }

    #[test]
    fn local_midnight_is_16_utc() {
        let c = sh();
        let d = Date::constant(2026, 1, 1);
        // 2025-12-31T16:00:00Z
        assert_eq!(c.day_start(d), 1_767_196_800);
        assert_eq!(c.day_of(1_767_196_799), Date::constant(2025, 12, 31));
        assert_eq!(c.day_of(1_767_196_800), d);
    }

    #[test]
    fn parses_what_spreadsheets_write() {
        let c = sh();
        let eight = 1_772_323_200; // 2026-03-01 08:00 local
        for s in [
            "2026/3/1 8:00",
            "2026/03/01 08:00:00",
            "2026/3/1 8:00:00",
            "2026-3-1 8:00",
            "2026年3月1日 8:00",
        ] {
            assert_eq!(c.parse_str(s), Ok(eight), "{s}");
        }
        let midnight = eight - 8 * 3600;
        assert_eq!(c.parse_str("2026/3/1"), Ok(midnight));
        assert_eq!(c.parse_str("2026-03-01"), Ok(midnight));
        assert!(c.parse_str("2026/13/1 8:00").is_err());
        assert!(
            c.parse_str("1/3/2026 8:00").is_err(),
            "day-first is ambiguous: refused"
        );
    }

    #[test]
    fn parses_the_three_forms() {
        let c = sh();
        let want = 1_772_323_200; // 2026-03-01T00:00:00Z
        assert_eq!(c.parse_str("2026-03-01T08:00:00+08:00"), Ok(want));
        assert_eq!(c.parse_str("2026-03-01T00:00:00Z"), Ok(want));
        assert_eq!(c.parse_str("2026-03-01 08:00:00"), Ok(want));
        assert_eq!(c.parse_str("2026-03-01T08:00:00.750"), Ok(want));
        assert_eq!(c.parse_epoch(want as f64), Ok(want));
        assert_eq!(c.parse_epoch(want as f64 * 1000.0), Ok(want));
        assert!(matches!(
            c.parse_str("2026-13-01"),
            Err(TsError::Unparsable(_))
        ));
        assert!(matches!(c.parse_epoch(0.0), Err(TsError::OutOfRange(_))));
    }
}
