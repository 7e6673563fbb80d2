//! The records that flow from decoding (MQTT or CSV import) to the store.
//!
//! A refused message becomes one quarantine record however many of its elements were refused:
//! decoding keeps the first [`REJECTIONS_KEPT`] refusals in full and only counts the rest, so a
//! hostile backlog array of half a million bad elements costs a few strings, not half a million.

use std::borrow::Cow;

use super::sanitize;

/// One accepted measurement.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// A cumulative meter total.
    Meter {
        intake_id: String,
        ts: i64,
        total_m3: f64,
    },
    /// A water-level observation; both forms are kept, converted with the well's ground elevation.
    Level {
        well_id: String,
        ts: i64,
        depth_m: f64,
        level_m: f64,
        /// What the terminal sent: the store keeps it, and derives the rest again when the
        /// well's datum is corrected.
        sent: super::Sent,
    },
    /// A daily volume from history where only daily figures exist (import only).
    DailyVolume {
        intake_id: String,
        day: jiff::civil::Date,
        volume_m3: f64,
        /// The figure is an estimate (the file's `provenance` column says `estimated`), not a
        /// meter's: it counts as estimated volume and as no report.
        estimated: bool,
    },
}

impl Reading {
    /// The intake or well the reading belongs to.
    pub fn device_id(&self) -> &str {
        match self {
            Reading::Meter { intake_id, .. } | Reading::DailyVolume { intake_id, .. } => intake_id,
            Reading::Level { well_id, .. } => well_id,
        }
    }
}

/// Why input was quarantined: a stable code for counting and a sentence for people.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
}

/// Stable reason codes, stored in `quarantine.reason_code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectCode {
    Oversize,
    BadTopic,
    MalformedJson,
    BadField,
    UnknownDevice,
    CountyMismatch,
    WrongKind,
    BadValue,
    BadTimestamp,
    FutureTimestamp,
    Conflict,
    /// The store refused the message for a reason retrying cannot fix (a constraint, a bug):
    /// kept here with the error so that it stops nothing else.
    StoreRefused,
}

impl RejectCode {
    /// The code as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::Oversize => "oversize",
            RejectCode::BadTopic => "bad_topic",
            RejectCode::MalformedJson => "malformed_json",
            RejectCode::BadField => "bad_field",
            RejectCode::UnknownDevice => "unknown_device",
            RejectCode::CountyMismatch => "county_mismatch",
            RejectCode::WrongKind => "wrong_kind",
            RejectCode::BadValue => "bad_value",
            RejectCode::BadTimestamp => "bad_timestamp",
            RejectCode::FutureTimestamp => "future_timestamp",
            RejectCode::Conflict => "conflict",
            RejectCode::StoreRefused => "store_refused",
        }
    }
}

impl Rejection {
    /// A refusal with its message made safe to show: device text in it (a topic, a payload
    /// string) has its control and bidi characters escaped, and the message is cut at
    /// [`QUARANTINE_REASON_MAX`] bytes.
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = match sanitize::for_store(&message, QUARANTINE_REASON_MAX) {
            Cow::Borrowed(_) => message,
            Cow::Owned(safe) => safe,
        };
        Self { code, message }
    }
}

/// A quarantine record: what arrived, where from, and why it was refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Quarantined {
    /// Topic (as [`origin`] makes it safe), or `import:<file>:<line>` for imported rows.
    pub origin: String,
    /// The offending payload (or the offending element of a backlog array), truncated.
    pub payload: Vec<u8>,
    pub rejection: Rejection,
}

/// Payload bytes kept in quarantine at most.
pub const QUARANTINE_PAYLOAD_MAX: usize = 4096;
/// Bytes of a quarantine record's origin (the topic) at most.
pub const QUARANTINE_ORIGIN_MAX: usize = 256;
/// Bytes of a quarantine record's reason at most.
pub const QUARANTINE_REASON_MAX: usize = 1024;
/// Refusals of one message kept in full; the rest are only counted.
pub const REJECTIONS_KEPT: usize = 5;
/// Refusals quoted in the reason of a message's quarantine record.
const REASONS_QUOTED: usize = 3;

/// A topic as stored and shown: control and bidi characters escaped, at most
/// [`QUARANTINE_ORIGIN_MAX`] bytes, ending in `…(N bytes)` when cut.
pub fn origin(topic: &str) -> String {
    sanitize::for_store(topic, QUARANTINE_ORIGIN_MAX).into_owned()
}

/// What one message (or one imported row) became.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    pub readings: Vec<Reading>,
    /// The first refusals, at most [`REJECTIONS_KEPT`] (through [`Decoded::refuse`]).
    pub rejected: Vec<Quarantined>,
    /// Refusals past those kept in `rejected`: counted, not kept.
    pub rejected_more: u32,
}

impl Decoded {
    /// Records a refusal: built and kept while fewer than [`REJECTIONS_KEPT`] are, else counted.
    pub fn refuse(&mut self, q: impl FnOnce() -> Quarantined) {
        if self.rejected.len() < REJECTIONS_KEPT {
            self.rejected.push(q());
        } else {
            self.rejected_more = self.rejected_more.saturating_add(1);
        }
    }

    /// Elements refused, kept or only counted.
    pub fn rejected_elements(&self) -> u32 {
        (self.rejected.len() as u32).saturating_add(self.rejected_more)
    }

    /// Elements the message held, each either a reading or refused (a message refused whole
    /// counts as one).
    pub fn elements(&self) -> u32 {
        (self.readings.len() as u32).saturating_add(self.rejected_elements())
    }
}

/// The reason of a message's one quarantine record: the first refusal's message when it is the
/// only one of a one-element message, else `N of M elements refused: <first>; <second>; …`.
pub fn summarise<'r>(
    first: impl IntoIterator<Item = &'r Rejection>,
    refused: u32,
    elements: u32,
) -> String {
    let mut quoted = first.into_iter().map(|r| r.message.as_str());
    if refused <= 1 && elements <= 1 {
        return quoted.next().unwrap_or_default().to_string();
    }
    let shown: Vec<&str> = quoted.by_ref().take(REASONS_QUOTED).collect();
    let mut reason = format!(
        "{refused} of {} elements refused: {}",
        elements.max(refused),
        shown.join("; ")
    );
    if refused as usize > shown.len() {
        reason.push_str("; …");
    }
    sanitize::for_store(&reason, QUARANTINE_REASON_MAX).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(code: RejectCode, msg: &str) -> Quarantined {
        Quarantined {
            origin: "gw/x".into(),
            payload: Vec::new(),
            rejection: Rejection::new(code, msg),
        }
    }

    #[test]
    fn refusals_past_the_first_few_are_only_counted() {
        let mut d = Decoded::default();
        let mut built = 0;
        for i in 0..500_000 {
            d.refuse(|| {
                built += 1;
                q(RejectCode::BadField, &format!("element {i}"))
            });
        }
        assert_eq!(built, REJECTIONS_KEPT);
        assert_eq!(d.rejected.len(), REJECTIONS_KEPT);
        assert_eq!(d.rejected_elements(), 500_000);
        assert_eq!(d.elements(), 500_000);
    }

    #[test]
    fn the_reason_names_the_count_and_the_first_reasons() {
        let a = Rejection::new(RejectCode::BadField, "a");
        let b = Rejection::new(RejectCode::BadValue, "b");
        assert_eq!(summarise([&a], 1, 1), "a");
        assert_eq!(summarise([&a], 1, 3), "1 of 3 elements refused: a");
        assert_eq!(summarise([&a, &b], 2, 2), "2 of 2 elements refused: a; b");
        assert_eq!(
            summarise([&a, &b, &a, &b, &a], 500_000, 500_000),
            "500000 of 500000 elements refused: a; b; a; …"
        );
        let long = Rejection::new(RejectCode::BadField, "x".repeat(900));
        assert!(summarise([&long, &long], 2, 2).len() <= QUARANTINE_REASON_MAX);
    }

    #[test]
    fn a_message_is_made_safe_and_cut() {
        let r = Rejection::new(
            RejectCode::BadTimestamp,
            "invalid timestamp 'x\nFORGED \u{1b}[31m\u{202E}'",
        );
        assert_eq!(
            r.message,
            r"invalid timestamp 'x\u{a}FORGED \u{1b}[31m\u{202e}'"
        );
        let r = Rejection::new(RejectCode::BadTopic, "t".repeat(60_000));
        assert!(r.message.len() <= QUARANTINE_REASON_MAX);
        assert!(r.message.ends_with("…(60000 bytes)"));
    }
}
