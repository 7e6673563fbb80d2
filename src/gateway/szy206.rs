//! SZY 206-2016 《水资源监测数据传输规约》 (and SL/T 427-2021, same frame): frames → [`Frame`],
//! and the centre's replies.
//!
//! Layout (TELEMETRY-FRAMES §5): `68 L 68`, control byte C (DIR, DIV, FCB, type code), a DIVS
//! byte when DIV is set, the 5-byte address, AFN, data, CRC-8 (0xE5) over C … last data byte,
//! `16`. L counts C through the data; the frame is L + 5 bytes.
//!
//! AFN C0 (自报实时数据): records, 2-byte alarm word, 2-byte status word, time label Tp. Numbers
//! are packed BCD with the low byte first. Flow/volume (type 3) records are 10 bytes (5 flow,
//! 5 cumulative volume in m³); some terminals send 5-byte flow-only records, which carry no
//! volume. Level (type 2) records are 4 bytes, 3 decimals, a sign nibble. Tp is 5 bytes in
//! SZY 206-2016 (second, minute, hour, day, delay) and 7 in SL/T 427-2021 (… month, year,
//! delay); the record size tells them apart, since 5 and 7 leave different remainders. A 5-byte
//! Tp has no month or year: they are taken from the receive clock, the latest date not after
//! receipt (a label of the 28th received on the 1st is last month), with a tolerance for a
//! terminal clock slightly ahead.

use jiff::ToSpan;
use jiff::civil::{Date, DateTime};

use super::crc::crc8_e5;
use super::frame::{
    Element, Frame, FrameError, Header, Invalid, Value, bcd_byte, bcd_digits, no_data,
};
use crate::config::stations::{ElementKey, Protocol, StationAddr};
use crate::domain::time::LocalClock;

/// Frame start and end.
pub const START: u8 = 0x68;
pub const END: u8 = 0x16;
/// Self-reported real-time data.
pub const AFN_REPORT: u8 = 0xC0;
/// Link test: login, logout, keep-alive.
pub const AFN_LINK: u8 = 0x02;
/// Type codes of C.
pub const TYPE_LEVEL: u8 = 2;
pub const TYPE_FLOW: u8 = 3;
/// Smallest L: C, address, AFN.
pub const MIN_L: usize = 7;

/// The whole frame's length from its first 3 bytes, when they look like a frame head.
pub fn frame_len(head: &[u8]) -> Option<usize> {
    if head.len() < 3 || head[0] != START || head[2] != START {
        return None;
    }
    let l = usize::from(head[1]);
    (l >= MIN_L).then_some(l + 5)
}

/// Decodes a frame received at `received` (epoch seconds; a 5-byte Tp takes its month and year
/// from it). `skew_s`: how far ahead of the receive clock a terminal's time may be before its
/// label is taken for last month.
pub fn decode(
    bytes: &[u8],
    received: i64,
    skew_s: i64,
    clock: &LocalClock,
) -> Result<Frame, FrameError> {
    if bytes.len() < MIN_L + 5 {
        return Err(FrameError::TooShort(bytes.len()));
    }
    let said = frame_len(bytes).ok_or(FrameError::Start("68 L 68"))?;
    if said != bytes.len() {
        return Err(FrameError::Length {
            said,
            has: bytes.len(),
        });
    }
    let l = usize::from(bytes[1]);
    let user = &bytes[3..3 + l];
    let (sent, computed) = (bytes[3 + l], crc8_e5(user));
    if sent != computed {
        return Err(FrameError::Crc {
            sent: sent.into(),
            computed: computed.into(),
        });
    }
    if bytes[4 + l] != END {
        return Err(FrameError::Structure(format!(
            "last byte {:02X}: expected 16",
            bytes[4 + l]
        )));
    }
    let control = user[0];
    let mut at = 1;
    if control & 0x40 != 0 {
        // DIVS: a count-down of the frames of a divided message.
        at += 1;
    }
    let Some(rest) = user.get(at..).filter(|r| r.len() >= 6) else {
        return Err(FrameError::Structure(
            "no address and AFN after the control byte".into(),
        ));
    };
    let station = StationAddr([rest[0], rest[1], rest[2], rest[3], rest[4]]);
    let afn = rest[5];
    let data = &rest[6..];
    let mut frame = Frame {
        protocol: Protocol::Szy206,
        station,
        function: afn,
        serial: None,
        sent: None,
        elements: Vec::new(),
        header: Header::Szy206 {
            control,
            status: None,
            link: None,
        },
    };
    let uplink = control & 0x80 != 0;
    match afn {
        AFN_LINK => {
            frame.header = Header::Szy206 {
                control,
                status: None,
                link: data.first().copied(),
            };
        }
        AFN_REPORT if uplink => {
            let report = report(control & 0x0F, data, received, skew_s, clock)?;
            frame.sent = Some(report.tp);
            frame.header = Header::Szy206 {
                control,
                status: Some(report.status),
                link: None,
            };
            frame.elements = report
                .values
                .into_iter()
                .map(|(key, value)| Element {
                    station,
                    key,
                    observed: Some(report.tp),
                    value,
                })
                .collect();
        }
        _ => {}
    }
    Ok(frame)
}

/// An AFN C0 report's content.
struct Report {
    values: Vec<(ElementKey, Value)>,
    status: u16,
    tp: i64,
}

/// Splits C0 data into records, alarm, status and Tp, choosing the Tp length by the record
/// size of the type code.
fn report(
    type_code: u8,
    data: &[u8],
    received: i64,
    skew_s: i64,
    clock: &LocalClock,
) -> Result<Report, FrameError> {
    let record = match type_code {
        TYPE_FLOW => Some(10),
        TYPE_LEVEL => Some(4),
        _ => None,
    };
    let fits = |tp: usize, size: usize| {
        data.len()
            .checked_sub(4 + tp)
            .is_some_and(|r| r % size == 0 && (r > 0 || size == 1))
            && tp_time(&data[data.len() - tp..], received, skew_s, clock).is_some()
    };
    let layout = match record {
        Some(size) => [5, 7]
            .into_iter()
            .find(|&tp| fits(tp, size))
            .map(|tp| (tp, size))
            .or_else(|| {
                // Flow-only records (5 bytes): no volume in them.
                (type_code == TYPE_FLOW)
                    .then(|| [5, 7].into_iter().find(|&tp| fits(tp, 5)).map(|tp| (tp, 5)))
                    .flatten()
            }),
        // Other types: nothing gwmon publishes; the Tp length by which label is a valid time.
        None => [7, 5].into_iter().find(|&tp| fits(tp, 1)).map(|tp| (tp, 1)),
    };
    let Some((tp_len, size)) = layout else {
        return Err(FrameError::Structure(format!(
            "AFN C0 data of {} bytes (type code {type_code}) fits no record layout with a 5- or 7-byte time label",
            data.len()
        )));
    };
    let n = data.len();
    let tp_bytes = &data[n - tp_len..];
    let tp = tp_time(tp_bytes, received, skew_s, clock)
        .ok_or_else(|| FrameError::Time(super::crc::to_hex(tp_bytes)))?;
    let status = u16::from_le_bytes([data[n - tp_len - 2], data[n - tp_len - 1]]);
    let records = &data[..n - tp_len - 4];
    let mut values = Vec::new();
    if record.is_some() {
        for (k, r) in records.chunks_exact(size).enumerate() {
            let nth = u8::try_from(k + 1).unwrap_or(u8::MAX);
            match size {
                10 => {
                    values.push((ElementKey::Szy206Flow(nth), flow(&r[..5])));
                    values.push((ElementKey::Szy206Volume(nth), volume(&r[5..])));
                }
                5 => values.push((ElementKey::Szy206Flow(nth), flow(r))),
                _ => values.push((ElementKey::Szy206Level(nth), level(r))),
            }
        }
    }
    Ok(Report { values, status, tp })
}

/// Packed BCD, low byte first, of `bytes` with the high nibble of the last byte masked off
/// (it holds a sign or unit there); `None` when a digit is not BCD.
fn le_bcd(bytes: &[u8], keep_top_nibble: bool) -> Option<u64> {
    let mut rev: Vec<u8> = bytes.iter().rev().copied().collect();
    if !keep_top_nibble {
        rev[0] &= 0x0F;
    }
    bcd_digits(rev)
}

/// Instantaneous flow: 3 decimals; byte 5's D7–D6 `11` is a minus sign, D5–D4 the unit (the
/// unit is not certain for SZY 206-2016; flow is decoded for the archive, never published).
fn flow(b: &[u8]) -> Value {
    if no_data(b) {
        return Value::Invalid(Invalid::NoData);
    }
    match le_bcd(b, false) {
        Some(v) => {
            let x = v as f64 / 1000.0;
            Value::Number(if b[4] & 0xC0 == 0xC0 { -x } else { x })
        }
        None => Value::Invalid(Invalid::NotBcd),
    }
}

/// 累计水量: whole m³, 0–799 999 999; byte 5's high nibble must be 0.
fn volume(b: &[u8]) -> Value {
    if no_data(b) {
        return Value::Invalid(Invalid::NoData);
    }
    if b[4] >> 4 != 0 {
        return Value::Invalid(Invalid::NotBcd);
    }
    match le_bcd(b, true) {
        Some(v) => Value::Number(v as f64),
        None => Value::Invalid(Invalid::NotBcd),
    }
}

/// Water level: 3 decimals, ±9999.999 m; the high nibble of byte 4 is the sign (0 +, F −).
fn level(b: &[u8]) -> Value {
    if no_data(b) {
        return Value::Invalid(Invalid::NoData);
    }
    let negative = match b[3] >> 4 {
        0 => false,
        0xF => true,
        _ => return Value::Invalid(Invalid::NotBcd),
    };
    match le_bcd(b, false) {
        Some(v) => {
            let x = v as f64 / 1000.0;
            Value::Number(if negative { -x } else { x })
        }
        None => Value::Invalid(Invalid::NotBcd),
    }
}

/// Epoch seconds of a time label (5 or 7 bytes, the last one the allowed delay), or `None`
/// when it is not a valid time.
fn tp_time(tp: &[u8], received: i64, skew_s: i64, clock: &LocalClock) -> Option<i64> {
    let (s, m, h, d) = (
        bcd_byte(tp[0])?,
        bcd_byte(tp[1])?,
        bcd_byte(tp[2])?,
        bcd_byte(tp[3])?,
    );
    if s > 59 || m > 59 || h > 23 || d == 0 || d > 31 {
        return None;
    }
    if tp.len() == 7 {
        let (mo, y) = (bcd_byte(tp[4])?, bcd_byte(tp[5])?);
        let dt = DateTime::new(
            2000 + i16::from(y),
            mo as i8,
            d as i8,
            h as i8,
            m as i8,
            s as i8,
            0,
        )
        .ok()?;
        return clock.local_to_ts(dt);
    }
    label_time(d, h, m, s, received, skew_s, clock)
}

/// The latest local time with this day of month and time of day not after `received` +
/// `skew_s`: this month, or the last month that has the day.
fn label_time(
    d: u8,
    h: u8,
    m: u8,
    s: u8,
    received: i64,
    skew_s: i64,
    clock: &LocalClock,
) -> Option<i64> {
    let today = clock.day_of(received);
    let mut month = Date::new(today.year(), today.month(), 1).ok()?;
    for _ in 0..12 {
        if let Ok(day) = Date::new(month.year(), month.month(), d as i8)
            && let Some(ts) = clock.local_to_ts(day.at(h as i8, m as i8, s as i8, 0))
            && ts <= received + skew_s
        {
            return Some(ts);
        }
        month = month.checked_sub(1.month()).ok()?;
    }
    None
}

/// BCD of the centre's time as a 7-byte SL/T 427 label (second … year, delay 0).
fn tp7(now: DateTime) -> [u8; 7] {
    let b = |v: i64| (((v / 10) % 10) << 4 | (v % 10)) as u8;
    [
        b(i64::from(now.second())),
        b(i64::from(now.minute())),
        b(i64::from(now.hour())),
        b(i64::from(now.day())),
        b(i64::from(now.month())),
        b(i64::from(now.year()) % 100),
        0,
    ]
}

/// Assembles a frame from its user data (C … data).
pub fn assemble(user: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(user.len() + 5);
    f.extend_from_slice(&[START, user.len() as u8, START]);
    f.extend_from_slice(user);
    f.push(crc8_e5(user));
    f.push(END);
    f
}

/// How the centre answers, for the two forms in circulation (TELEMETRY-FRAMES §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyForm {
    /// JetLinks: C with DIR (and DIV) cleared, the AFN, one data byte `00`.
    Jetlinks,
    /// SL/T 427-2021: for C0 a confirm (type code 0, FCB echoed) with the work mode the
    /// terminal reports and the centre's time as a 7-byte Tp (the terminal sets its clock from
    /// it); for a link test the data byte echoed.
    Sl427,
}

/// The centre's answer to an uplink frame, or `None` for frames that get none (logout is
/// answered too: the terminal waits for it before it hangs up).
pub fn reply(frame: &Frame, form: ReplyForm, now: DateTime) -> Option<Vec<u8>> {
    let Header::Szy206 {
        control,
        status,
        link,
    } = frame.header
    else {
        return None;
    };
    if control & 0x80 == 0 {
        return None;
    }
    let mut user = Vec::with_capacity(15);
    match (frame.function, form) {
        (AFN_REPORT, ReplyForm::Jetlinks) | (AFN_LINK, ReplyForm::Jetlinks) => {
            user.push(control & 0x3F);
            user.extend_from_slice(&frame.station.0);
            user.extend_from_slice(&[frame.function, 0x00]);
        }
        (AFN_REPORT, ReplyForm::Sl427) => {
            user.push(control & 0x30);
            user.extend_from_slice(&frame.station.0);
            user.push(AFN_REPORT);
            // The work mode the terminal reports (status D1D0), so the confirm cannot switch it.
            user.push(status.map_or(0, |s| (s & 0x03) as u8));
            user.extend_from_slice(&tp7(now));
        }
        (AFN_LINK, ReplyForm::Sl427) => {
            user.push(control & 0x3F);
            user.extend_from_slice(&frame.station.0);
            user.extend_from_slice(&[AFN_LINK, link.unwrap_or(0)]);
        }
        _ => return None,
    }
    Some(assemble(&user))
}

/// What a simulated terminal reports in an AFN C0 frame.
#[derive(Clone, Debug)]
pub struct Report7 {
    pub station: StationAddr,
    /// `TYPE_FLOW` with (flow m³/h·1000 as integer, volume m³) pairs, or `TYPE_LEVEL` with
    /// levels in mm.
    pub type_code: u8,
    pub values: Vec<i64>,
    pub status: u16,
    /// The terminal's clock: a 5-byte Tp is written from it.
    pub time: DateTime,
}

/// BCD bytes of `v` (≥ 0), low byte first.
fn le_bcd_bytes(v: u64, n: usize) -> Vec<u8> {
    let digits = format!("{:0width$}", v, width = 2 * n);
    let mut out: Vec<u8> = digits
        .as_bytes()
        .chunks(2)
        .map(|p| (p[0] - b'0') << 4 | (p[1] - b'0'))
        .collect();
    out.reverse();
    out
}

impl Report7 {
    /// The report as an SZY 206-2016 frame (5-byte Tp, delay 10 min, FCB 3).
    pub fn encode(&self) -> Vec<u8> {
        let mut user = vec![0x80 | 0x30 | (self.type_code & 0x0F)];
        user.extend_from_slice(&self.station.0);
        user.push(AFN_REPORT);
        for &v in &self.values {
            match self.type_code {
                TYPE_LEVEL => {
                    let mut b = le_bcd_bytes(v.unsigned_abs() % 10_000_000, 4);
                    if v < 0 {
                        b[3] |= 0xF0;
                    }
                    user.extend_from_slice(&b);
                }
                _ => user.extend_from_slice(&le_bcd_bytes(v.unsigned_abs() % 1_000_000_000, 5)),
            }
        }
        user.extend_from_slice(&[0, 0]);
        user.extend_from_slice(&self.status.to_le_bytes());
        let t = tp7(self.time);
        user.extend_from_slice(&[t[0], t[1], t[2], t[3], 0x0A]);
        assemble(&user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::crc::{from_hex, to_hex};

    fn clock() -> LocalClock {
        LocalClock::new("Asia/Shanghai").unwrap()
    }

    fn at(s: &str) -> i64 {
        clock().parse_str(s).unwrap()
    }

    fn decode_at(h: &str, received: &str) -> Frame {
        decode(&from_hex(h).unwrap(), at(received), 600, &clock()).unwrap()
    }

    fn values(f: &Frame) -> Vec<(String, Value)> {
        f.elements
            .iter()
            .map(|e| (e.key.to_string(), e.value.clone()))
            .collect()
    }

    const T_B1: &str = "681A68B35303810D00C00059000000826110000001106000004508090A3516";

    /// T-B1: the real C0 flow/volume frame from Yunnan.
    #[test]
    fn t_b1_flow_and_volume() {
        let f = decode_at(T_B1, "2026-11-09 08:46:00");
        assert_eq!(f.station.to_string(), "5303810D00");
        assert_eq!(f.function, AFN_REPORT);
        assert_eq!(
            values(&f),
            [
                ("c0.flow.1".into(), Value::Number(5.9)),
                ("c0.volume.1".into(), Value::Number(106_182.0)),
            ]
        );
        assert_eq!(f.sent, Some(at("2026-11-09 08:45:00")));
        // Alarm `01 10`, status `60 00`, low byte first.
        assert_eq!(
            f.header,
            Header::Szy206 {
                control: 0xB3,
                status: Some(0x0060),
                link: None
            }
        );
    }

    /// T-B3: constructed level frames, positive and negative.
    #[test]
    fn t_b3_levels() {
        let f = decode_at(
            "681468B21401090100C0325408000000000000000815003416",
            "2026-11-15 08:05:00",
        );
        assert_eq!(f.station.to_string(), "1401090100");
        assert_eq!(values(&f), [("c0.level.1".into(), Value::Number(85.432))]);
        assert_eq!(f.sent, Some(at("2026-11-15 08:00:00")));
        let f = decode_at(
            "681468B21401090100C0501200F00000000030120915002A16",
            "2026-11-15 10:00:00",
        );
        assert_eq!(values(&f), [("c0.level.1".into(), Value::Number(-1.25))]);
        assert_eq!(f.sent, Some(at("2026-11-15 09:12:30")));
    }

    /// T-B4: link tests and the JetLinks-style confirm of T-B1, byte for byte.
    #[test]
    fn t_b4_link_test_and_confirm() {
        let now: DateTime = "2026-11-09T08:46:00".parse().unwrap();
        let f = decode_at(T_B1, "2026-11-09 08:46:00");
        let confirm = reply(&f, ReplyForm::Jetlinks, now).unwrap();
        assert_eq!(to_hex(&confirm), "680868335303810D00C0003E16");
        for (h, data) in [
            ("68086880140109010002F0B816", 0xF0),
            ("68086880140109010002F29716", 0xF2),
        ] {
            let f = decode_at(h, "2026-11-09 08:46:00");
            assert_eq!(f.function, AFN_LINK);
            assert!(f.elements.is_empty());
            assert!(matches!(f.header, Header::Szy206 { link: Some(d), .. } if d == data));
            let r = reply(&f, ReplyForm::Sl427, now).unwrap();
            assert_eq!(r[9], AFN_LINK);
            assert_eq!(r[10], data);
            assert!(decode(&r, 0, 0, &clock()).is_ok());
        }
    }

    #[test]
    fn the_sl427_confirm_echoes_the_work_mode_and_sets_the_clock() {
        let now: DateTime = "2026-11-09T08:46:07".parse().unwrap();
        let f = decode_at(T_B1, "2026-11-09 08:46:00");
        let r = reply(&f, ReplyForm::Sl427, now).unwrap();
        assert_eq!(to_hex(&r[..11]), "680F68305303810D00C000");
        assert_eq!(to_hex(&r[11..18]), "07460809112600");
        assert_eq!(r.len(), 15 + 5);
    }

    #[test]
    fn a_five_byte_label_takes_month_and_year_from_the_receive_clock() {
        let c = clock();
        let recv = at("2026-03-01 00:10:00");
        // The 28th received on the 1st is last month.
        assert_eq!(
            label_time(28, 23, 50, 0, recv, 600, &c),
            Some(at("2026-02-28 23:50:00"))
        );
        // The 31st received on 1 March: February has none, January has.
        assert_eq!(
            label_time(31, 12, 0, 0, recv, 600, &c),
            Some(at("2026-01-31 12:00:00"))
        );
        // Minutes ahead of the receive clock: still today, within the tolerance.
        assert_eq!(
            label_time(1, 0, 15, 0, recv, 600, &c),
            Some(at("2026-03-01 00:15:00"))
        );
        // Beyond the tolerance: a month back.
        assert_eq!(
            label_time(1, 1, 0, 0, recv, 600, &c),
            Some(at("2026-02-01 01:00:00"))
        );
        // Across the year.
        assert_eq!(
            label_time(31, 23, 0, 0, at("2026-01-01 00:05:00"), 600, &c),
            Some(at("2025-12-31 23:00:00"))
        );
    }

    #[test]
    fn seven_byte_labels_are_detected_by_the_record_size() {
        let mut user = from_hex("B35303810D00C00059000000826110000001106000").unwrap();
        user.extend_from_slice(&from_hex("004508151126").unwrap());
        user.push(0x0A);
        let f = decode(&assemble(&user), at("2026-12-30 00:00:00"), 600, &clock()).unwrap();
        assert_eq!(f.sent, Some(at("2026-11-15 08:45:00")));
        assert_eq!(f.elements.len(), 2);
    }

    #[test]
    fn flow_only_records_carry_no_volume() {
        let user = from_hex("B35303810D00C0005900000000006000004508090A").unwrap();
        let f = decode(&assemble(&user), at("2026-11-09 09:00:00"), 600, &clock()).unwrap();
        assert_eq!(values(&f), [("c0.flow.1".into(), Value::Number(5.9))]);
    }

    #[test]
    fn missing_and_malformed_values() {
        assert_eq!(volume(&[0xAA; 5]), Value::Invalid(Invalid::NoData));
        assert_eq!(volume(&[0, 0, 0, 0, 0x10]), Value::Invalid(Invalid::NotBcd));
        assert_eq!(
            volume(&[0x82, 0x61, 0x10, 0, 0x07]),
            Value::Number(700_106_182.0)
        );
        assert_eq!(level(&[0, 0, 0, 0x50]), Value::Invalid(Invalid::NotBcd));
        assert_eq!(level(&[0x0A, 0, 0, 0]), Value::Invalid(Invalid::NotBcd));
        assert_eq!(flow(&[0, 0, 0, 0, 0xC0]), Value::Number(-0.0));
    }

    #[test]
    fn wrong_crc_length_and_end_are_refused() {
        let b = from_hex(T_B1).unwrap();
        let mut bad = b.clone();
        bad[10] ^= 1;
        assert!(matches!(
            decode(&bad, 0, 0, &clock()),
            Err(FrameError::Crc { .. })
        ));
        let mut bad = b.clone();
        *bad.last_mut().unwrap() = 0x17;
        assert!(matches!(
            decode(&bad, 0, 0, &clock()),
            Err(FrameError::Structure(_))
        ));
        assert!(matches!(
            decode(&b[..b.len() - 1], 0, 0, &clock()),
            Err(FrameError::Length { .. })
        ));
    }

    #[test]
    fn a_built_report_decodes_to_its_values() {
        let r = Report7 {
            station: "1401210100".parse().unwrap(),
            type_code: TYPE_FLOW,
            values: vec![12_500, 345_678],
            status: 0x0001,
            time: "2026-11-30T08:00:00".parse().unwrap(),
        };
        let f = decode(&r.encode(), at("2026-11-30 08:00:02"), 600, &clock()).unwrap();
        assert_eq!(
            values(&f),
            [
                ("c0.flow.1".into(), Value::Number(12.5)),
                ("c0.volume.1".into(), Value::Number(345_678.0)),
            ]
        );
        let r = Report7 {
            type_code: TYPE_LEVEL,
            values: vec![-1250],
            ..r
        };
        let f = decode(&r.encode(), at("2026-11-30 08:00:02"), 600, &clock()).unwrap();
        assert_eq!(values(&f), [("c0.level.1".into(), Value::Number(-1.25))]);
    }
}
