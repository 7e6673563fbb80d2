//! Log timestamps in the configured zone with its offset (`2026-12-05T16:03:00.123+08:00`), as the
//! operators of a Taiyuan bureau read them, not UTC. Logging starts before the configuration is
//! read: until a command has loaded it, the zone is `[time] zone`'s default, Asia/Shanghai.

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// The zone of log timestamps, once the configuration is loaded.
static ZONE: OnceLock<TimeZone> = OnceLock::new();

/// The zone of `[time] zone` before any configuration is read.
const DEFAULT_ZONE: &str = "Asia/Shanghai";

/// Sets the zone of log timestamps (the first call wins: one configuration per process).
pub fn set_zone(name: &str) {
    if let Ok(tz) = TimeZone::get(name) {
        let _ = ZONE.set(tz);
    }
}

/// A `tracing-subscriber` timer writing RFC 3339 with the zone's offset.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogTime;

impl LogTime {
    fn format(ts: jiff::Timestamp, tz: &TimeZone) -> String {
        // The local wall clock, then the zone's offset at that instant.
        let local = tz.to_datetime(ts).strftime("%Y-%m-%dT%H:%M:%S%.3f");
        let secs = tz.to_offset(ts).seconds();
        let sign = if secs < 0 { '-' } else { '+' };
        let secs = secs.abs();
        format!("{local}{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
    }
}

impl FormatTime for LogTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let fallback;
        let tz = match ZONE.get() {
            Some(tz) => tz,
            None => {
                fallback = TimeZone::get(DEFAULT_ZONE).unwrap_or(TimeZone::UTC);
                &fallback
            }
        };
        w.write_str(&Self::format(jiff::Timestamp::now(), tz))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_carry_the_zone_and_its_offset() {
        let ts: jiff::Timestamp = "2026-12-05T08:03:00.25Z".parse().unwrap();
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(LogTime::format(ts, &tz), "2026-12-05T16:03:00.250+08:00");
        assert_eq!(
            LogTime::format(ts, &TimeZone::UTC),
            "2026-12-05T08:03:00.250+00:00"
        );
    }
}
