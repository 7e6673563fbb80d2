//! The records that flow from decoding (MQTT or CSV import) to the store.

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
    },
    /// A daily volume from history where only daily figures exist (import only).
    DailyVolume {
        intake_id: String,
        day: jiff::civil::Date,
        volume_m3: f64,
    },
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
        }
    }
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A quarantine record: what arrived, where from, and why it was refused.
#[derive(Clone, Debug, PartialEq)]
pub struct Quarantined {
    /// Topic, or `import:<file>:<line>` for imported rows.
    pub origin: String,
    /// The offending payload (or the offending element of a backlog array), truncated.
    pub payload: Vec<u8>,
    pub rejection: Rejection,
}

/// Payload bytes kept in quarantine at most.
pub const QUARANTINE_PAYLOAD_MAX: usize = 4096;

/// What one message (or one imported row) became.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    pub readings: Vec<Reading>,
    pub rejected: Vec<Quarantined>,
}
