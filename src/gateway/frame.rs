//! What a decoder makes of one frame, whichever the protocol: the terminal, the function, the
//! elements with their observation times and values, and what a reply needs to echo.

use crate::config::stations::{ElementKey, Protocol, StationAddr};

/// Why an element carries no reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// All `FF` or all `AA`: the terminal had no value.
    NoData,
    /// A digit that is not BCD, or a sign nibble that is neither + nor −.
    NotBcd,
    /// SL 651 埋深 `444`: the well is dry.
    WellDry,
}

impl Invalid {
    /// The outcome name in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Invalid::NoData => "no_data",
            Invalid::NotBcd => "not_bcd",
            Invalid::WellDry => "well_dry",
        }
    }
}

/// An element's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Invalid(Invalid),
    /// A bit field or block kept as sent (SL 651 `45` status, `F4`–`FC` 5-minute blocks).
    Raw(Vec<u8>),
}

/// One element of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    /// The terminal the element belongs to (an SL 651 body may carry several station groups).
    pub station: StationAddr,
    pub key: ElementKey,
    /// Epoch seconds of the observation; `None` when the frame gives no time for it.
    pub observed: Option<i64>,
    pub value: Value,
}

/// SL 651 start character and, for a multi-packet message (M3), its packet info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packet {
    /// `02`: a whole message.
    Single,
    /// `16`: packet `seq` (1-based) of `total`.
    Part { total: u16, seq: u16 },
}

/// What a reply echoes of the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Header {
    Sl651 {
        centre: u8,
        password: [u8; 2],
        /// Uplink `false`, downlink `true`.
        downlink: bool,
        packet: Packet,
        end: u8,
    },
    Szy206 {
        control: u8,
        /// Status word (low byte first as sent); its D1D0 is the terminal's work mode.
        status: Option<u16>,
        /// The data byte of an AFN 02 link test (F0 login, F1 logout, F2 keep-alive).
        link: Option<u8>,
    },
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub protocol: Protocol,
    pub station: StationAddr,
    /// SL 651 function code, SZY 206 AFN.
    pub function: u8,
    /// SL 651 流水号 (serial); `None` for SZY 206 and packets after the first.
    pub serial: Option<u16>,
    /// Epoch seconds the terminal says it sent the frame (SL 651 发报时间, SZY 206 Tp), if any.
    pub sent: Option<i64>,
    pub elements: Vec<Element>,
    pub header: Header,
}

/// Why a frame could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{0} bytes: too short for a frame")]
    TooShort(usize),
    #[error("does not start with {0}")]
    Start(&'static str),
    #[error("length field says {said} bytes, the frame has {has}")]
    Length { said: usize, has: usize },
    #[error("CRC {sent:#06X} sent, {computed:#06X} computed")]
    Crc { sent: u16, computed: u16 },
    #[error("{0}")]
    Structure(String),
    #[error("invalid time {0}: expected BCD digits of a real date and time")]
    Time(String),
}

impl FrameError {
    /// The outcome name in the archive and metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            FrameError::Crc { .. } => "bad_crc",
            FrameError::Time(_) => "bad_time",
            _ => "bad_frame",
        }
    }
}

/// The value of packed BCD digits, most significant first; `None` when a nibble is above 9.
pub(crate) fn bcd_digits(bytes: impl IntoIterator<Item = u8>) -> Option<u64> {
    let mut v: u64 = 0;
    for b in bytes {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        v = v
            .checked_mul(100)?
            .checked_add(u64::from(hi) * 10 + u64::from(lo))?;
    }
    Some(v)
}

/// One BCD byte (two digits), or `None`.
pub(crate) fn bcd_byte(b: u8) -> Option<u8> {
    bcd_digits([b]).map(|v| v as u8)
}

/// True when every byte is `FF`, or every byte is `AA` (the two ways terminals say "no value").
pub(crate) fn no_data(bytes: &[u8]) -> bool {
    !bytes.is_empty() && (bytes.iter().all(|&b| b == 0xFF) || bytes.iter().all(|&b| b == 0xAA))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd() {
        assert_eq!(bcd_digits([0x12, 0x34]), Some(1234));
        assert_eq!(bcd_digits([0x1A]), None);
        assert_eq!(bcd_digits([]), Some(0));
        // 24 digits do not fit: refused, not wrapped.
        assert_eq!(bcd_digits([0x99; 12]), None);
        assert!(no_data(&[0xFF, 0xFF]) && no_data(&[0xAA]));
        assert!(!no_data(&[0xFF, 0xAA]) && !no_data(&[]));
    }
}
