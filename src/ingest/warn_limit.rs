//! WARN lines for quarantined messages, rate-limited: a device that sends garbage every second, or
//! a flood of made-up topics, must not flood the log.
//!
//! Per (topic, reason code), at most one line per interval (60 s by default); the messages in
//! between are counted and the next line says how many were not logged and since when. On top
//! of that, at most [`MAX_LINES`] lines per interval in all, so that thousands of distinct
//! topics cost a hundred lines a minute, plus one line saying how many were held back. The
//! table of keys is capped at [`MAX_KEYS`], dropping the oldest, so memory stays bounded
//! whatever topics arrive. Every message is still counted and stored; only the log is limited.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use tracing::warn;

use crate::domain::reading::summarise;
use crate::domain::sanitize::for_log;
use crate::domain::{Decoded, QUARANTINE_ORIGIN_MAX, QUARANTINE_REASON_MAX, RejectCode};

/// Default interval between lines for one (topic, reason), seconds.
pub const INTERVAL_S: i64 = 60;
/// Keys remembered at most.
pub const MAX_KEYS: usize = 10_000;
/// Lines per interval at most, all keys together.
pub const MAX_LINES: u32 = 100;

/// What a key's next line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    /// Messages of this key not logged since the last line.
    pub more: u64,
    /// When the first of those arrived (epoch seconds); meaningful when `more > 0`.
    pub since: i64,
}

#[derive(Debug)]
struct Entry {
    /// When this key's last line was written, if ever.
    last_line: Option<i64>,
    more: u64,
    since: i64,
}

/// The limiter; time is passed in (epoch seconds). Keys are (code, text): a reason code of the
/// quarantine by default, or any other small code (the gateway's frame outcomes).
#[derive(Debug)]
pub struct WarnLimit<C = RejectCode> {
    interval_s: i64,
    max_keys: usize,
    max_lines: u32,
    keys: HashMap<(C, String), Entry>,
    /// Keys in the order they were first seen: the front is dropped first.
    order: VecDeque<(C, String)>,
    window_start: i64,
    window_lines: u32,
    /// Messages held back by the overall limit (or forgotten with a dropped key) not yet reported.
    withheld: u64,
}

impl<C: Copy + Eq + Hash> Default for WarnLimit<C> {
    fn default() -> Self {
        Self::new(INTERVAL_S, MAX_KEYS, MAX_LINES)
    }
}

impl<C: Copy + Eq + Hash> WarnLimit<C> {
    pub fn new(interval_s: i64, max_keys: usize, max_lines: u32) -> Self {
        Self {
            interval_s: interval_s.max(1),
            max_keys: max_keys.max(1),
            max_lines,
            keys: HashMap::new(),
            order: VecDeque::new(),
            window_start: i64::MIN,
            window_lines: 0,
            withheld: 0,
        }
    }

    /// Seconds between two lines of one key.
    pub fn interval_s(&self) -> i64 {
        self.interval_s
    }

    /// Keys remembered.
    pub fn keys(&self) -> usize {
        self.keys.len()
    }

    /// Starts a new overall window when the last one is over; returns the messages the overall
    /// limit held back in the one that ended, when there were any.
    pub fn roll(&mut self, now: i64) -> Option<u64> {
        if now < self.window_start.saturating_add(self.interval_s) {
            return None;
        }
        self.window_start = now;
        self.window_lines = 0;
        let withheld = std::mem::take(&mut self.withheld);
        (withheld > 0).then_some(withheld)
    }

    /// Whether a message of `key` with `code` gets a line now (with what it reports), or is only
    /// counted.
    pub fn admit(&mut self, key: &str, code: C, now: i64) -> Option<Line> {
        let room = self.window_lines < self.max_lines;
        let k = (code, key.to_string());
        let entry = match self.keys.get_mut(&k) {
            Some(e) => e,
            None => {
                while self.keys.len() >= self.max_keys {
                    let Some(old) = self.order.pop_front() else {
                        break;
                    };
                    if let Some(e) = self.keys.remove(&old) {
                        self.withheld += e.more;
                    }
                }
                self.order.push_back(k.clone());
                self.keys.entry(k).or_insert(Entry {
                    last_line: None,
                    more: 0,
                    since: now,
                })
            }
        };
        let due = entry
            .last_line
            .is_none_or(|t| now >= t.saturating_add(self.interval_s));
        if !(due && room) {
            if entry.more == 0 {
                entry.since = now;
            }
            entry.more += 1;
            if due {
                // Held back by the overall limit, not by this key's interval.
                self.withheld += 1;
            }
            return None;
        }
        let line = Line {
            more: entry.more,
            since: entry.since,
        };
        entry.last_line = Some(now);
        entry.more = 0;
        self.window_lines += 1;
        Some(line)
    }
}

/// The poll loop's WARN lines for quarantined messages.
#[derive(Debug, Default)]
pub struct QuarantineWarnings {
    limit: WarnLimit,
}

impl QuarantineWarnings {
    /// Logs a message's refusals at WARN, one line per message at most, as the limits allow.
    /// `now` is the message's receipt, epoch seconds.
    pub fn note(&mut self, d: &Decoded, now: i64) {
        let Some(first) = d.rejected.first() else {
            return;
        };
        if let Some(n) = self.limit.roll(now) {
            warn!(
                messages = n,
                "{n} quarantined messages not logged in the last {} s: too many devices or topics at once (all are in the quarantine table)",
                self.limit.interval_s
            );
        }
        let code = first.rejection.code;
        let Some(line) = self.limit.admit(&first.origin, code, now) else {
            return;
        };
        // The origin and reasons are made safe when built; escaping again is a no-op that keeps
        // this line safe whatever a future caller passes.
        let topic = for_log(&first.origin, QUARANTINE_ORIGIN_MAX);
        let refused = d.rejected_elements();
        let detail = summarise(
            d.rejected.iter().map(|q| &q.rejection),
            refused,
            d.elements(),
        );
        let detail = for_log(&detail, QUARANTINE_REASON_MAX);
        if line.more == 0 {
            warn!(topic = %topic, reason = code.as_str(), elements = refused, detail = %detail, "quarantined");
        } else {
            let since = jiff::Timestamp::from_second(line.since)
                .map_or_else(|_| line.since.to_string(), |t| t.to_string());
            warn!(
                topic = %topic,
                reason = code.as_str(),
                elements = refused,
                detail = %detail,
                more = line.more,
                "quarantined ({} more from this topic with this reason since {since}, not logged)",
                line.more
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_772_323_200;

    #[test]
    fn one_line_per_key_and_interval_then_the_count() {
        let mut l = WarnLimit::new(60, 100, 100);
        let code = RejectCode::UnknownDevice;
        assert_eq!(
            l.admit("gw/1/meter/X", code, T),
            Some(Line { more: 0, since: T })
        );
        for s in 1..60 {
            assert_eq!(l.admit("gw/1/meter/X", code, T + s), None, "{s}");
        }
        // Another reason, or another topic, is another key.
        assert!(
            l.admit("gw/1/meter/X", RejectCode::BadField, T + 5)
                .is_some()
        );
        assert!(l.admit("gw/1/meter/Y", code, T + 5).is_some());
        assert_eq!(
            l.admit("gw/1/meter/X", code, T + 60),
            Some(Line {
                more: 59,
                since: T + 1
            })
        );
        assert_eq!(l.admit("gw/1/meter/X", code, T + 61), None);
    }

    #[test]
    fn a_flood_of_one_device_is_a_line_a_minute() {
        let mut l = WarnLimit::default();
        let lines = (0..3600 * 10)
            .filter(|i| {
                l.admit(
                    "gw/140121/meter/NOPE",
                    RejectCode::UnknownDevice,
                    T + i / 10,
                )
                .is_some()
            })
            .count();
        assert_eq!(lines, 60);
    }

    #[test]
    fn many_topics_are_capped_overall_and_the_rest_reported() {
        let mut l = WarnLimit::new(60, 1000, 10);
        assert_eq!(l.roll(T), None);
        let lines = (0..500)
            .filter(|i| {
                l.admit(&format!("gw/1/meter/F{i}"), RejectCode::UnknownDevice, T)
                    .is_some()
            })
            .count();
        assert_eq!(lines, 10);
        assert_eq!(l.roll(T + 30), None, "the window is not over");
        assert_eq!(l.roll(T + 60), Some(490));
        // A held-back key reports its count on its next line.
        assert_eq!(
            l.admit("gw/1/meter/F400", RejectCode::UnknownDevice, T + 61),
            Some(Line { more: 1, since: T })
        );
    }

    #[test]
    fn memory_is_bounded_by_dropping_the_oldest_keys() {
        let mut l = WarnLimit::new(60, 100, u32::MAX);
        for i in 0..10_000 {
            l.admit(&format!("gw/1/meter/F{i}"), RejectCode::UnknownDevice, T);
        }
        assert_eq!(l.keys(), 100);
        assert_eq!(l.order.len(), 100);
        // The newest are remembered (still limited), the oldest forgotten (a line again).
        assert_eq!(
            l.admit("gw/1/meter/F9999", RejectCode::UnknownDevice, T + 1),
            None
        );
        assert!(
            l.admit("gw/1/meter/F0", RejectCode::UnknownDevice, T + 1)
                .is_some()
        );
    }
}
