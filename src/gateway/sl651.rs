//! SL 651-2014 《水文监测数据通信规约》, HEX/BCD mode: frames → [`Frame`](super::frame::Frame),
//! and the frames the centre (and, for the simulator, a terminal) sends.
//!
//! Layout (TELEMETRY-FRAMES §1): `7E 7E`, centre address, 5-byte station address (downlink:
//! station then centre), 2-byte password, function code, direction nibble + 12-bit length,
//! start character (`02`, or `16` followed by 3 bytes of packet info for a multi-packet
//! message), the body, the end character, CRC-16/MODBUS high byte first over everything before
//! it. The length counts the bytes between the start and the end character, packet info
//! included.
//!
//! Elements are decoded with the data-definition byte actually received (field terminals differ
//! from the standard's table), `FF…`/`AA…` is "no value", a leading `FF` byte is a minus sign, a
//! body that ends in a stray byte ends the element list cleanly, and vendor `FFxx` elements are
//! kept for a per-station mapping (a cumulative volume, which the standard lacks, can only come
//! that way). Times are local (Asia/Shanghai, the configured zone), years 2000–2099.

use jiff::civil::DateTime;

use super::crc::crc16_modbus;
use super::frame::{
    Element, FrameError, Header, Invalid, Packet, Value, bcd_byte, bcd_digits, no_data,
};
use crate::config::stations::{ElementKey, Protocol, StationAddr};
use crate::domain::time::LocalClock;

/// Frame start.
pub const START: [u8; 2] = [0x7E, 0x7E];
/// Start character of a whole message.
pub const STX: u8 = 0x02;
/// Start character of a packet of a multi-packet message (M3).
pub const SYN: u8 = 0x16;
/// End: last (or only) frame.
pub const ETX: u8 = 0x03;
/// End: more frames follow.
pub const ETB: u8 = 0x17;
/// Downlink ends: query, acknowledge, refuse, end of link, stay online.
pub const ENQ: u8 = 0x05;
pub const ACK: u8 = 0x06;
pub const NAK: u8 = 0x15;
pub const EOT: u8 = 0x04;
pub const ESC: u8 = 0x1B;
/// 链路维持报: no reply.
pub const LINK_KEEP: u8 = 0x2F;
/// 测试报: decoded and confirmed, never published.
pub const TEST_REPORT: u8 = 0x30;
/// 均匀时段报: one element, a series of values a time step apart.
pub const UNIFORM_REPORT: u8 = 0x31;
/// Bytes up to and including the start character.
pub const HEAD_LEN: usize = 14;
/// Frame bytes besides the length field's count: head, end character, CRC.
pub const OVERHEAD: usize = 17;

/// Functions whose body carries the 32-style head and elements (30–34, and the responses 37,
/// 38, 3A to the centre's queries).
const ELEMENT_FUNCTIONS: [u8; 8] = [0x30, 0x31, 0x32, 0x33, 0x34, 0x37, 0x38, 0x3A];

/// The whole frame's length from its first [`HEAD_LEN`] bytes, when they look like a frame
/// head: `7E 7E`, a direction nibble of 0 or 8, a start character `02` or `16`.
pub fn frame_len(head: &[u8]) -> Option<usize> {
    if head.len() < HEAD_LEN || head[..2] != START {
        return None;
    }
    let dir = head[11] >> 4;
    if dir != 0 && dir != 8 {
        return None;
    }
    let len = usize::from(head[11] & 0x0F) << 8 | usize::from(head[12]);
    match head[13] {
        STX => Some(len + OVERHEAD),
        SYN if len >= 3 => Some(len + OVERHEAD),
        _ => None,
    }
}

/// True for the end characters a frame may carry.
fn valid_end(b: u8) -> bool {
    matches!(b, ETX | ETB | ENQ | ACK | NAK | EOT | ESC)
}

/// A frame's fields before its body is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub station: StationAddr,
    pub centre: u8,
    pub password: [u8; 2],
    pub function: u8,
    pub downlink: bool,
    pub packet: Packet,
    pub body: &'a [u8],
    pub end: u8,
}

/// Checks start, length, end character and CRC, and splits the frame into its fields.
pub fn envelope(bytes: &[u8]) -> Result<Envelope<'_>, FrameError> {
    if bytes.len() < OVERHEAD {
        return Err(FrameError::TooShort(bytes.len()));
    }
    if bytes[..2] != START {
        return Err(FrameError::Start("7E 7E"));
    }
    let said = frame_len(bytes).ok_or_else(|| {
        FrameError::Structure(format!(
            "direction/length {:02X}{:02X} or start character {:02X} is not SL 651 (expected 0xxx or 8xxx, then 02 or 16)",
            bytes[11], bytes[12], bytes[13]
        ))
    })?;
    if said != bytes.len() {
        return Err(FrameError::Length {
            said,
            has: bytes.len(),
        });
    }
    let n = bytes.len();
    let sent = u16::from_be_bytes([bytes[n - 2], bytes[n - 1]]);
    let computed = crc16_modbus(&bytes[..n - 2]);
    if sent != computed {
        return Err(FrameError::Crc { sent, computed });
    }
    let end = bytes[n - 3];
    if !valid_end(end) {
        return Err(FrameError::Structure(format!(
            "end character {end:02X} is none of 03 17 05 06 15 04 1B"
        )));
    }
    let downlink = bytes[11] >> 4 == 8;
    let (centre, station) = if downlink {
        (bytes[7], &bytes[2..7])
    } else {
        (bytes[2], &bytes[3..8])
    };
    let mut addr = [0u8; 5];
    addr.copy_from_slice(station);
    let (packet, body) = if bytes[13] == SYN {
        let info = u32::from_be_bytes([0, bytes[14], bytes[15], bytes[16]]);
        let total = (info >> 12) as u16;
        let seq = (info & 0xFFF) as u16;
        if total == 0 || seq == 0 || seq > total {
            return Err(FrameError::Structure(format!(
                "packet {seq} of {total}: expected a sequence from 1 to the total"
            )));
        }
        (Packet::Part { total, seq }, &bytes[17..n - 3])
    } else {
        (Packet::Single, &bytes[14..n - 3])
    };
    Ok(Envelope {
        station: StationAddr(addr),
        centre,
        password: [bytes[8], bytes[9]],
        function: bytes[10],
        downlink,
        packet,
        body,
        end,
    })
}

/// Decodes a whole frame (a single-packet message, or one packet's envelope: a packet's body is
/// decoded only once the message is reassembled, see [`decode_message`]).
pub fn decode(bytes: &[u8], clock: &LocalClock) -> Result<super::frame::Frame, FrameError> {
    let env = envelope(bytes)?;
    match env.packet {
        Packet::Single => decode_message(&env, env.body, clock),
        Packet::Part { .. } => Ok(super::frame::Frame {
            protocol: Protocol::Sl651,
            station: env.station,
            function: env.function,
            serial: None,
            sent: None,
            elements: Vec::new(),
            header: header(&env),
        }),
    }
}

fn header(env: &Envelope<'_>) -> Header {
    Header::Sl651 {
        centre: env.centre,
        password: env.password,
        downlink: env.downlink,
        packet: env.packet,
        end: env.end,
    }
}

/// Decodes a message body (a frame's, or the reassembled packets' bodies) with the fields of
/// `env`.
pub fn decode_message(
    env: &Envelope<'_>,
    body: &[u8],
    clock: &LocalClock,
) -> Result<super::frame::Frame, FrameError> {
    let mut frame = super::frame::Frame {
        protocol: Protocol::Sl651,
        station: env.station,
        function: env.function,
        serial: None,
        sent: None,
        elements: Vec::new(),
        header: header(env),
    };
    if body.len() < 8 {
        return Err(FrameError::Structure(format!(
            "body of {} bytes: expected at least a serial and a send time (8 bytes)",
            body.len()
        )));
    }
    frame.serial = Some(u16::from_be_bytes([body[0], body[1]]));
    frame.sent = Some(local_ts(&body[2..8], clock)?);
    if env.downlink || !ELEMENT_FUNCTIONS.contains(&env.function) {
        return Ok(frame);
    }
    let rest = &body[8..];
    if rest.len() < 8 || rest[..2] != [0xF1, 0xF1] {
        return Err(FrameError::Structure(
            "no F1 F1 station group after the send time".into(),
        ));
    }
    frame.elements = elements(env.function, rest, env.station, clock)?;
    Ok(frame)
}

/// Epoch seconds of a local BCD time `YYMMDDhhmm[ss]`.
fn local_ts(b: &[u8], clock: &LocalClock) -> Result<i64, FrameError> {
    let bad = || FrameError::Time(super::crc::to_hex(b));
    let d: Vec<u8> = b
        .iter()
        .map(|&x| bcd_byte(x))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let sec = d.get(5).copied().unwrap_or(0);
    let dt = DateTime::new(
        2000 + i16::from(d[0]),
        d[1] as i8,
        d[2] as i8,
        d[3] as i8,
        d[4] as i8,
        sec as i8,
        0,
    )
    .map_err(|_| bad())?;
    clock.local_to_ts(dt).ok_or_else(bad)
}

/// The element groups after the send time: `F1 F1` station groups, `F0 F0` observation times,
/// elements; a 31 report's series. A truncated last element ends the list (one real frame
/// carries a stray byte before its end character).
fn elements(
    function: u8,
    b: &[u8],
    header_station: StationAddr,
    clock: &LocalClock,
) -> Result<Vec<Element>, FrameError> {
    let mut out = Vec::new();
    let mut station = header_station;
    let mut observed: Option<i64> = None;
    let mut step_s: Option<i64> = None;
    let mut i = 0;
    while i + 1 < b.len() {
        let id = b[i];
        match id {
            0xF1 => {
                let Some(g) = b.get(i + 2..i + 8) else { break };
                station = StationAddr([g[0], g[1], g[2], g[3], g[4]]);
                // The class code (遥测站分类码) follows; some responses leave it out.
                i += 7;
                if b.get(i).is_some_and(|c| c.is_ascii_uppercase()) {
                    i += 1;
                }
            }
            0xF0 => {
                let Some(t) = b.get(i + 2..i + 7) else { break };
                observed = Some(local_ts(t, clock)?);
                i += 7;
            }
            0xF2 | 0xF3 => break,
            0xF4 => i += 2 + 12,
            0xF5..=0xFC => i += 2 + 24,
            0x04 => {
                let Some(t) = b.get(i + 2..i + 5) else { break };
                step_s = step(t);
                i += 5;
            }
            _ => {
                let (key, def_at) = if id == 0xFF {
                    (0xFF00 | u16::from(b[i + 1]), i + 2)
                } else {
                    (u16::from(id), i + 1)
                };
                let Some(&def) = b.get(def_at) else { break };
                let n = usize::from(def >> 3);
                let start = def_at + 1;
                if n == 0 {
                    i = start;
                    continue;
                }
                if function == UNIFORM_REPORT
                    && let Some(step) = step_s
                {
                    // 均匀时段报: values of this element back to back to the end, the first at
                    // the observation time, then one per step.
                    for (k, data) in b[start.min(b.len())..].chunks_exact(n).enumerate() {
                        out.push(Element {
                            station,
                            key: ElementKey::Sl651(key),
                            observed: observed.map(|t| t + step * k as i64),
                            value: value(key, def, data),
                        });
                    }
                    break;
                }
                let Some(data) = b.get(start..start + n) else {
                    break;
                };
                out.push(Element {
                    station,
                    key: ElementKey::Sl651(key),
                    observed,
                    value: value(key, def, data),
                });
                i = start + n;
            }
        }
    }
    Ok(out)
}

/// Seconds of a 时间步长码 `dd hh mm` (BCD; only one is non-zero). `00 00 00` introduces a
/// 5-minute block rather than a series: no step.
fn step(t: &[u8]) -> Option<i64> {
    let (d, h, m) = (bcd_byte(t[0])?, bcd_byte(t[1])?, bcd_byte(t[2])?);
    let s = i64::from(d) * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60;
    (s > 0).then_some(s)
}

/// An element's value, read with its data-definition byte: high 5 bits the byte count, low 3
/// the decimals.
fn value(key: u16, def: u8, data: &[u8]) -> Value {
    if key == 0x45 {
        return Value::Raw(data.to_vec());
    }
    // "No value" is checked before the sign: all FF would otherwise read as a negative.
    if no_data(data) {
        return Value::Invalid(Invalid::NoData);
    }
    let (negative, digits) = match data.split_first() {
        Some((0xFF, rest)) => (true, rest),
        _ => (false, data),
    };
    let Some(v) = bcd_digits(digits.iter().copied()).filter(|_| !digits.is_empty()) else {
        return Value::Invalid(Invalid::NotBcd);
    };
    let x = v as f64 / 10f64.powi(i32::from(def & 7));
    if key == 0x0E && x == 444.0 {
        return Value::Invalid(Invalid::WellDry);
    }
    Value::Number(if negative { -x } else { x })
}

/// BCD bytes of `value` with `decimals` in `bytes` bytes, a leading `FF` for a negative value
/// (counted in `bytes`); `None` when it does not fit.
pub fn encode_value(value: f64, bytes: usize, decimals: u8) -> Option<Vec<u8>> {
    let negative = value < 0.0;
    let n = if negative {
        bytes.checked_sub(1)?
    } else {
        bytes
    };
    let scaled = (value.abs() * 10f64.powi(i32::from(decimals))).round();
    if !scaled.is_finite() || scaled >= 10f64.powi(2 * n as i32) {
        return None;
    }
    let digits = format!("{:0width$}", scaled as u64, width = 2 * n);
    let mut out = Vec::with_capacity(bytes);
    if negative {
        out.push(0xFF);
    }
    for p in digits.as_bytes().chunks(2) {
        out.push((p[0] - b'0') << 4 | (p[1] - b'0'));
    }
    Some(out)
}

/// BCD `YYMMDDhhmmss` of a local time.
pub fn encode_time(t: DateTime) -> [u8; 6] {
    let b = |v: i64| (((v / 10) % 10) << 4 | (v % 10)) as u8;
    [
        b(i64::from(t.year()) % 100),
        b(i64::from(t.month())),
        b(i64::from(t.day())),
        b(i64::from(t.hour())),
        b(i64::from(t.minute())),
        b(i64::from(t.second())),
    ]
}

/// Assembles a frame: `addr` is centre + station (uplink) or station + centre (downlink).
#[allow(clippy::too_many_arguments)]
fn assemble(
    addr: [u8; 6],
    password: [u8; 2],
    function: u8,
    downlink: bool,
    packet: Packet,
    body: &[u8],
    end: u8,
) -> Vec<u8> {
    let info = matches!(packet, Packet::Part { .. }) as usize * 3;
    let len = (body.len() + info) as u16 & 0x0FFF;
    let dir_len = if downlink { 0x8000 | len } else { len };
    let mut f = Vec::with_capacity(body.len() + OVERHEAD + info);
    f.extend_from_slice(&START);
    f.extend_from_slice(&addr);
    f.extend_from_slice(&password);
    f.push(function);
    f.extend_from_slice(&dir_len.to_be_bytes());
    match packet {
        Packet::Single => f.push(STX),
        Packet::Part { total, seq } => {
            f.push(SYN);
            let v = (u32::from(total) << 12 | u32::from(seq)).to_be_bytes();
            f.extend_from_slice(&v[1..]);
        }
    }
    f.extend_from_slice(body);
    f.push(end);
    let crc = crc16_modbus(&f);
    f.extend_from_slice(&crc.to_be_bytes());
    f
}

/// The centre's answer to a frame (`end` = EOT, ESC, ACK or NAK): same station, centre,
/// password and function, the uplink's serial echoed and the centre's time, the 8-byte body a
/// terminal's firmware checks (an empty-body ACK is refused by it). For a multi-packet message
/// `packet` carries the total and the sequence answered.
#[allow(clippy::too_many_arguments)]
pub fn reply(
    station: StationAddr,
    centre: u8,
    password: [u8; 2],
    function: u8,
    serial: u16,
    packet: Packet,
    end: u8,
    now: DateTime,
) -> Vec<u8> {
    let s = station.0;
    let addr = [s[0], s[1], s[2], s[3], s[4], centre];
    let mut body = serial.to_be_bytes().to_vec();
    body.extend_from_slice(&encode_time(now));
    assemble(addr, password, function, true, packet, &body, end)
}

/// What a simulated terminal reports.
#[derive(Clone, Debug)]
pub struct Report {
    pub centre: u8,
    pub station: StationAddr,
    pub password: [u8; 2],
    pub function: u8,
    pub serial: u16,
    pub sent: DateTime,
    /// 遥测站分类码, e.g. `b'G'` (groundwater) or `b'I'` (intake).
    pub class: u8,
    pub observed: DateTime,
    /// (identifier, or `FFxx` for a vendor extension; data-definition byte; data).
    pub elements: Vec<(u16, u8, Vec<u8>)>,
}

#[cfg(test)]
impl Report {
    /// A 定时报 of groundwater station 1401210001 observed at 2026-11-30 08:00 with `elements`,
    /// for the tests of the modules that take frames apart.
    pub(crate) fn sample(serial: u16, elements: Vec<(u16, u8, Vec<u8>)>) -> Self {
        Report {
            centre: 1,
            station: "1401210001".parse().expect("a station address"),
            password: [0, 0],
            function: 0x32,
            serial,
            sent: "2026-11-30T08:00:30".parse().expect("a time"),
            class: b'G',
            observed: "2026-11-30T08:00".parse().expect("a time"),
            elements,
        }
    }
}

impl Report {
    /// The body: serial, send time, station group, observation time, elements.
    pub fn body(&self) -> Vec<u8> {
        let mut b = self.serial.to_be_bytes().to_vec();
        b.extend_from_slice(&encode_time(self.sent));
        b.extend_from_slice(&[0xF1, 0xF1]);
        b.extend_from_slice(&self.station.0);
        b.push(self.class);
        b.extend_from_slice(&[0xF0, 0xF0]);
        b.extend_from_slice(&encode_time(self.observed)[..5]);
        for (id, def, data) in &self.elements {
            if *id > 0xFF {
                b.extend_from_slice(&id.to_be_bytes());
            } else {
                b.push(*id as u8);
            }
            b.push(*def);
            b.extend_from_slice(data);
        }
        b
    }

    fn addr(&self) -> [u8; 6] {
        let s = self.station.0;
        [self.centre, s[0], s[1], s[2], s[3], s[4]]
    }

    /// The report as one frame, ending with ETX.
    pub fn encode(&self) -> Vec<u8> {
        assemble(
            self.addr(),
            self.password,
            self.function,
            false,
            Packet::Single,
            &self.body(),
            ETX,
        )
    }

    /// The report as a multi-packet message (M3) of `parts` packets (ETB, the last ETX).
    pub fn encode_parts(&self, parts: usize) -> Vec<Vec<u8>> {
        let body = self.body();
        let parts = parts.clamp(1, body.len().max(1));
        let size = body.len().div_ceil(parts);
        let chunks: Vec<&[u8]> = body.chunks(size).collect();
        let total = chunks.len() as u16;
        chunks
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let seq = k as u16 + 1;
                let end = if seq == total { ETX } else { ETB };
                let packet = Packet::Part { total, seq };
                assemble(
                    self.addr(),
                    self.password,
                    self.function,
                    false,
                    packet,
                    c,
                    end,
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::crc::from_hex;
    use crate::gateway::frame::Frame;

    fn clock() -> LocalClock {
        LocalClock::new("Asia/Shanghai").unwrap()
    }

    fn at(s: &str) -> i64 {
        clock().parse_str(s).unwrap()
    }

    fn decode_hex(h: &str) -> Frame {
        decode(&from_hex(h).unwrap(), &clock()).unwrap()
    }

    fn numbers(f: &Frame) -> Vec<(String, Value)> {
        f.elements
            .iter()
            .map(|e| (e.key.to_string(), e.value.clone()))
            .collect()
    }

    fn n(x: f64) -> Value {
        Value::Number(x)
    }

    /// T-A1: a real 定时报 from the Beijing platform, with a vendor element.
    #[test]
    fn t_a1_beijing_hourly_report() {
        let f = decode_hex(
            "7E7E010030503768000032003302 0A02260701060114 F1F1003050376848 F0F02607010600 392300033660 361B000110 272B0000004320 FF221B000110 38121230 03 2B97",
        );
        assert_eq!(f.station.to_string(), "0030503768");
        assert_eq!((f.function, f.serial), (0x32, Some(2562)));
        assert_eq!(f.sent, Some(at("2026-07-01 06:01:14")));
        assert_eq!(
            numbers(&f),
            [
                ("39".into(), n(33.66)),
                ("36".into(), n(0.11)),
                ("27".into(), n(4.32)),
                ("FF22".into(), n(0.11)),
                ("38".into(), n(12.3)),
            ]
        );
        assert!(
            f.elements
                .iter()
                .all(|e| e.observed == Some(at("2026-07-01 06:00")))
        );
        assert_eq!(
            f.header,
            Header::Sl651 {
                centre: 1,
                password: [0, 0],
                downlink: false,
                packet: Packet::Single,
                end: ETX
            }
        );
    }

    /// T-A2: a groundwater response with its observation time twice and a stray byte before
    /// the end character.
    #[test]
    fn t_a2_groundwater_depth_with_a_stray_byte() {
        let f = decode_hex(
            "7E7E1600000000010000370024020000160830165821F1F1000000000147F0F01608301658F0F016083016580E1A00187903030746",
        );
        assert_eq!(f.station.to_string(), "0000000001");
        assert_eq!((f.function, f.serial), (0x37, Some(0)));
        assert_eq!(f.sent, Some(at("2016-08-30 16:58:21")));
        assert_eq!(numbers(&f), [("0E".into(), n(18.79))]);
        assert_eq!(f.elements[0].observed, Some(at("2016-08-30 16:58")));
    }

    /// T-A5, T-A6: real downlink confirms (ESC, EOT) decode as downlink frames.
    #[test]
    fn t_a5_a6_downlink_confirms() {
        let f = decode_hex("7E7E112233445501AAAA3080080200052401101420331BF1CC");
        assert_eq!(f.station.to_string(), "1122334455");
        assert_eq!((f.function, f.serial), (0x30, Some(5)));
        assert_eq!(f.sent, Some(at("2024-01-10 14:20:33")));
        assert!(matches!(
            f.header,
            Header::Sl651 {
                downlink: true,
                end: ESC,
                centre: 1,
                ..
            }
        ));
        let f = decode_hex("7E7E001230567810123433800802000C14061202001504A2DF");
        assert_eq!(f.station.to_string(), "0012305678");
        assert_eq!(f.serial, Some(12));
        assert!(matches!(
            f.header,
            Header::Sl651 {
                downlink: true,
                end: EOT,
                centre: 0x10,
                ..
            }
        ));
    }

    /// T-A7: link maintenance: serial and time only.
    #[test]
    fn t_a7_link_maintenance() {
        let f = decode_hex("7E7E01001234567812342F0008020003591011155111036BCA");
        assert_eq!((f.function, f.serial), (LINK_KEEP, Some(3)));
        assert_eq!(f.sent, Some(at("2059-10-11 15:51:11")));
        assert!(f.elements.is_empty());
    }

    const T_A8: &str = "7E7E011401090001123432002A020017250315080012F1F1140109000147F0F025031508000E1A0012340311013545200000008038121256034CF9";

    /// T-A8: the constructed groundwater 定时报 and its two confirms, byte for byte.
    #[test]
    fn t_a8_groundwater_report_and_confirms() {
        let f = decode_hex(T_A8);
        assert_eq!(f.station.to_string(), "1401090001");
        assert_eq!(f.serial, Some(23));
        assert_eq!(
            numbers(&f),
            [
                ("0E".into(), n(12.34)),
                ("03".into(), n(13.5)),
                ("45".into(), Value::Raw(vec![0, 0, 0, 0x80])),
                ("38".into(), n(12.56)),
            ]
        );
        assert_eq!(f.elements[0].observed, Some(at("2025-03-15 08:00")));
        let centre_time: DateTime = "2025-03-15T08:01:05".parse().unwrap();
        let Header::Sl651 {
            centre, password, ..
        } = f.header
        else {
            panic!("{:?}", f.header)
        };
        let confirm = |end| {
            super::super::crc::to_hex(&reply(
                f.station,
                centre,
                password,
                f.function,
                23,
                Packet::Single,
                end,
                centre_time,
            ))
        };
        assert_eq!(
            confirm(EOT),
            "7E7E14010900010112343280080200172503150801050473D8"
        );
        assert_eq!(
            confirm(ESC),
            "7E7E14010900010112343280080200172503150801051BBB99"
        );
    }

    /// T-A9: an intake report with a negative level and an hourly volume.
    #[test]
    fn t_a9_intake_negative_level() {
        let f = decode_hex(
            "7E7E0114010900020000320030020102250315090030F1F1140109000249F0F025031509003C2BFF00001234282B0000000012682A0000004320381212010323D8",
        );
        assert_eq!(
            numbers(&f),
            [
                ("3C".into(), n(-1.234)),
                ("28".into(), n(0.012)),
                ("68".into(), n(43.2)),
                ("38".into(), n(12.01)),
            ]
        );
    }

    #[test]
    fn a_wrong_crc_length_or_start_is_refused() {
        let mut b = from_hex(T_A8).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        assert!(matches!(envelope(&b), Err(FrameError::Crc { .. })));
        let b = from_hex(T_A8).unwrap();
        assert!(matches!(
            envelope(&b[..b.len() - 1]),
            Err(FrameError::Length { .. })
        ));
        assert!(matches!(envelope(&b[1..]), Err(FrameError::Start(_))));
        assert!(matches!(envelope(&b[..5]), Err(FrameError::TooShort(5))));
    }

    #[test]
    fn values_no_data_negative_dry() {
        assert_eq!(
            value(0x39, 0x23, &[0xFF; 4]),
            Value::Invalid(Invalid::NoData)
        );
        assert_eq!(
            value(0x39, 0x23, &[0xAA; 4]),
            Value::Invalid(Invalid::NoData)
        );
        assert_eq!(value(0x39, 0x1A, &[0xFF, 0x12, 0x34]), n(-12.34));
        assert_eq!(
            value(0x0E, 0x1A, &[0x04, 0x44, 0x00]),
            Value::Invalid(Invalid::WellDry)
        );
        assert_eq!(value(0x0E, 0x1A, &[0x00, 0x00, 0x00]), n(0.0));
        assert_eq!(
            value(0x0E, 0x1A, &[0x00, 0x1A, 0x00]),
            Value::Invalid(Invalid::NotBcd)
        );
        assert_eq!(value(0x0E, 0x08, &[0xFF]), Value::Invalid(Invalid::NoData));
    }

    #[test]
    fn encoded_values_decode_back() {
        for (v, bytes, dec) in [
            (12.34, 3, 2),
            (-1.234, 4, 3),
            (106_182.0, 5, 0),
            (0.0, 3, 2),
        ] {
            let data = encode_value(v, bytes, dec).unwrap();
            assert_eq!(data.len(), bytes);
            let def = ((bytes as u8) << 3) | dec;
            assert_eq!(value(0x27, def, &data), n(v), "{v}");
        }
        assert_eq!(encode_value(1000.0, 1, 0), None);
        assert_eq!(encode_value(-1.0, 1, 0), None);
    }

    fn report() -> Report {
        Report {
            password: [0x12, 0x34],
            ..Report::sample(
                7,
                vec![
                    (0x0E, 0x1A, vec![0x00, 0x15, 0x20]),
                    (0xFFA1, 0x28, vec![0, 0, 0, 1, 0]),
                ],
            )
        }
    }

    #[test]
    fn a_built_report_decodes_to_its_values() {
        let f = decode(&report().encode(), &clock()).unwrap();
        assert_eq!(
            numbers(&f),
            [("0E".into(), n(15.2)), ("FFA1".into(), n(100.0))]
        );
        assert_eq!(f.elements[0].observed, Some(at("2026-11-30 08:00")));
    }

    #[test]
    fn a_uniform_interval_report_is_a_series() {
        let mut r = report();
        r.function = UNIFORM_REPORT;
        let mut body = r.body();
        // Replace the elements with a 1-hour step and three 埋深 values, the second missing.
        let cut = body.len() - (2 + 3) - (3 + 5);
        body.truncate(cut);
        body.extend_from_slice(&[0x04, 0x18, 0x00, 0x01, 0x00, 0x0E, 0x1A]);
        body.extend_from_slice(&[0x00, 0x15, 0x20, 0xFF, 0xFF, 0xFF, 0x00, 0x15, 0x30]);
        let s = r.station.0;
        let frame = assemble(
            [1, s[0], s[1], s[2], s[3], s[4]],
            r.password,
            UNIFORM_REPORT,
            false,
            Packet::Single,
            &body,
            ETX,
        );
        let f = decode(&frame, &clock()).unwrap();
        let t0 = at("2026-11-30 08:00");
        let got: Vec<(Option<i64>, Value)> = f
            .elements
            .iter()
            .map(|e| (e.observed, e.value.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (Some(t0), n(15.2)),
                (Some(t0 + 3600), Value::Invalid(Invalid::NoData)),
                (Some(t0 + 7200), n(15.3)),
            ]
        );
    }

    #[test]
    fn packets_carry_their_sequence() {
        let parts = report().encode_parts(3);
        assert_eq!(parts.len(), 3);
        for (k, p) in parts.iter().enumerate() {
            let env = envelope(p).unwrap();
            assert_eq!(
                env.packet,
                Packet::Part {
                    total: 3,
                    seq: k as u16 + 1
                }
            );
            assert_eq!(env.end, if k == 2 { ETX } else { ETB });
        }
    }

    #[test]
    fn a_bad_time_is_named() {
        let mut r = report();
        r.elements.clear();
        let mut frame = r.encode();
        // Month 13 in the observation time.
        let at = frame.len() - 3 - 5 + 1;
        frame[at] = 0x13;
        let n = frame.len();
        let crc = crc16_modbus(&frame[..n - 2]).to_be_bytes();
        frame[n - 2..].copy_from_slice(&crc);
        assert!(matches!(decode(&frame, &clock()), Err(FrameError::Time(_))));
    }
}
