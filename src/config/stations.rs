//! `stations.csv`: which field terminal (RTU) reports for which registered device, for the
//! SL 651 / SZY 206 gateway ([`crate::gateway`]).
//!
//! One row per (station, element): `station,protocol,device_id,quantity,element,reply`.
//! - `station` — the terminal's 5-byte address as 10 hex digits, as it is on the wire. It is a
//!   key, never checked as BCD: field terminals use addresses that break the BCD rule.
//! - `protocol` — `sl651` or `szy206`.
//! - `device_id` — an intake or well of the registry; `quantity` — `total_m3` (intakes only),
//!   `depth_m` or `level_m` (wells only).
//! - `element` — SL 651: the element identifier in hex, `0E` (埋深) or a vendor extension such as
//!   `FF22`; SZY 206: `c0.volume.N` (the N-th meter's 累计水量 in an AFN C0 report) or
//!   `c0.level.N` (the N-th gauge's 水位).
//! - `reply` — what the centre answers: SL 651 `none|eot|esc`; SZY 206 `none|jetlinks|sl427`.
//!   The sources disagree on SZY 206's confirm, so it is chosen per station; a station's rows
//!   must agree on it.
//! - `password` (optional column) — SL 651 only: the 2-byte password every frame carries, as 4
//!   hex digits (e.g. `1234`). A frame with another password is refused. SZY 206 uplink frames
//!   carry none (its PW field is in the centre's downlink frames), so there `allow_from` is the
//!   only check. Empty: not checked, and `check-config` warns.
//! - `allow_from` (optional column) — the addresses or networks a station may report from,
//!   `;`-separated (e.g. `10.8.0.0/16;203.0.113.7`). Empty: any address.
//!
//! A station's rows must agree on `reply`, `password` and `allow_from`; writing them on its
//! first row and leaving them empty on the others is the same as repeating them.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use serde::Deserialize;
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

use super::csv_file::{self, Problem, Problems};
use super::registry::Registry;
use crate::domain::CountyCode;
use crate::domain::kinds;

/// The columns of stations.csv, as error messages list them.
const COLUMNS: &[&str] = &[
    "station",
    "protocol",
    "device_id",
    "quantity",
    "element",
    "reply",
    "password",
    "allow_from",
];

/// stations.csv problems: each names file, line, field and what would be valid.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct StationsError(pub Vec<Problem>);

/// A terminal's 5-byte address, kept as sent. Shown (and written in stations.csv) as 10
/// upper-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StationAddr(pub [u8; 5]);

impl fmt::Display for StationAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Why a station address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}': expected the station's 5-byte address as 10 hex digits, as on the wire (e.g. 1401090001)"
)]
pub struct BadStationAddr(pub String);

impl FromStr for StationAddr {
    type Err = BadStationAddr;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || BadStationAddr(s.to_string());
        if t.len() != 10 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut out = [0u8; 5];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&t[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(StationAddr(out))
    }
}

/// The two telemetry protocols the gateway speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumString)]
#[strum(serialize_all = "snake_case")]
#[derive(Display, IntoStaticStr, VariantArray)]
pub enum Protocol {
    /// SL 651-2014 《水文监测数据通信规约》, HEX/BCD mode.
    Sl651,
    /// SZY 206-2016 《水资源监测数据传输规约》 (and its revision SL/T 427-2021).
    Szy206,
}

impl Protocol {
    /// The name as written in stations.csv and in metrics.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What a mapped element is published as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumString)]
#[strum(serialize_all = "snake_case")]
#[derive(Display, IntoStaticStr, VariantArray)]
pub enum Quantity {
    /// A meter's cumulative total, m³ (intakes).
    TotalM3,
    /// Depth to water below ground, m (wells).
    DepthM,
    /// Water level above the well's datum, m (wells).
    LevelM,
}

impl Quantity {
    /// The JSON field of the MQTT contract.
    pub fn field(self) -> &'static str {
        self.into()
    }
}

/// The centre's answer to a station's reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumString)]
#[strum(serialize_all = "snake_case")]
#[derive(Display, IntoStaticStr, VariantArray)]
pub enum Reply {
    /// No answer (SL 651 M1; SZY 206 terminals in plain self-report mode).
    None,
    /// SL 651 confirm ending with EOT: the terminal may hang up.
    Eot,
    /// SL 651 confirm ending with ESC: the terminal stays online and keeps the link.
    Esc,
    /// SZY 206 confirm as the JetLinks plugin sends it: data byte `00`, no time label.
    Jetlinks,
    /// SZY 206 confirm per SL/T 427-2021: work mode byte and a 7-byte time label.
    Sl427,
}

impl Reply {
    /// Whether this reply belongs to `protocol`.
    pub fn fits(self, protocol: Protocol) -> bool {
        match self {
            Reply::None => true,
            Reply::Eot | Reply::Esc => protocol == Protocol::Sl651,
            Reply::Jetlinks | Reply::Sl427 => protocol == Protocol::Szy206,
        }
    }
}

/// An element of a report, as stations.csv names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementKey {
    /// SL 651 identifier: one byte (`0E`), or `FFxx` for a vendor extension.
    Sl651(u16),
    /// SZY 206 AFN C0: the N-th meter's cumulative volume (1-based).
    Szy206Volume(u8),
    /// SZY 206 AFN C0: the N-th meter's instantaneous flow (decoded, never published).
    Szy206Flow(u8),
    /// SZY 206 AFN C0: the N-th gauge's water level (1-based).
    Szy206Level(u8),
}

impl fmt::Display for ElementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementKey::Sl651(id) if *id > 0xFF => write!(f, "{id:04X}"),
            ElementKey::Sl651(id) => write!(f, "{id:02X}"),
            ElementKey::Szy206Volume(n) => write!(f, "c0.volume.{n}"),
            ElementKey::Szy206Flow(n) => write!(f, "c0.flow.{n}"),
            ElementKey::Szy206Level(n) => write!(f, "c0.level.{n}"),
        }
    }
}

impl ElementKey {
    /// Parses the `element` column for `protocol`.
    pub fn parse(s: &str, protocol: Protocol) -> Result<Self, String> {
        let t = s.trim();
        match protocol {
            Protocol::Sl651 => {
                let ok = matches!(t.len(), 2 | 4) && t.bytes().all(|b| b.is_ascii_hexdigit());
                let id = u16::from_str_radix(t, 16).ok().filter(|_| ok);
                match id {
                    Some(id) if t.len() == 4 && id >> 8 != 0xFF => Err(format!(
                        "'{s}': a 4-digit SL 651 element is a vendor extension and starts with FF (e.g. FF22)"
                    )),
                    Some(id) if t.len() == 2 && (id >= 0xF0 || id == 0x04) => Err(format!(
                        "'{s}': {t} is a time, address or block marker, not a value element; give a value element such as 0E (埋深) or a vendor FFxx"
                    )),
                    Some(id) => Ok(ElementKey::Sl651(id)),
                    None => Err(format!(
                        "'{s}': expected an SL 651 element identifier in hex, e.g. 0E (地下水埋深) or a vendor extension such as FF22"
                    )),
                }
            }
            Protocol::Szy206 => {
                let bad = || {
                    format!(
                        "'{s}': expected c0.volume.N (the N-th meter's 累计水量) or c0.level.N (the N-th gauge's 水位), N from 1, e.g. c0.volume.1"
                    )
                };
                let (what, n) = t
                    .strip_prefix("c0.")
                    .and_then(|r| r.split_once('.'))
                    .ok_or_else(bad)?;
                let n: u8 = n.parse().ok().filter(|&n| n >= 1).ok_or_else(bad)?;
                match what {
                    "volume" => Ok(ElementKey::Szy206Volume(n)),
                    "level" => Ok(ElementKey::Szy206Level(n)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

/// Which kind of registered device a row publishes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Intake,
    Well,
}

/// Where a mapped element goes: the device, its county and the quantity.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub device_id: String,
    pub county: CountyCode,
    pub kind: DeviceKind,
    pub quantity: Quantity,
    /// The stations.csv line that maps it.
    pub line: u64,
}

/// One terminal: its reply mode, how it is authenticated and its mapped elements.
#[derive(Clone, Debug, Default)]
pub struct Station {
    pub reply: Option<Reply>,
    /// SL 651 password its frames must carry; `None`: not checked.
    pub password: Option<[u8; 2]>,
    /// Networks it may report from; empty: any.
    pub allow_from: Vec<IpNet>,
    pub elements: HashMap<ElementKey, Target>,
}

impl Station {
    /// Whether a frame from `peer` may speak for this station.
    pub fn allows(&self, peer: IpAddr) -> bool {
        let peer = canonical_ip(peer);
        self.allow_from.is_empty() || self.allow_from.iter().any(|n| n.contains(&peer))
    }
}

/// A v4 peer on a dual-stack listener shows as `::ffff:a.b.c.d`: it is that v4 address, for
/// its networks and its connection count alike.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The `password` column: 4 hex digits, SL 651 only; empty is no password.
fn parse_password(s: &str, protocol: Protocol) -> Result<Option<[u8; 2]>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if protocol == Protocol::Szy206 {
        return Err(format!(
            "'{s}': SZY 206 terminals send no password in their reports; leave password empty and restrict the station with allow_from"
        ));
    }
    if t.len() != 4 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "'{s}': expected the SL 651 password as 4 hex digits, as configured in the terminal (e.g. 1234)"
        ));
    }
    let v = u16::from_str_radix(t, 16).map_err(|e| format!("'{s}': {e}"))?;
    Ok(Some(v.to_be_bytes()))
}

/// The `allow_from` column: `;`-separated addresses and networks; empty is any address.
fn parse_allow_from(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<IpNet>()
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "'{t}': expected an IP address or network, e.g. 203.0.113.7 or 10.8.0.0/16; separate several with ;"
                    )
                })
        })
        .collect()
}

/// All mapped terminals, by protocol and address.
#[derive(Clone, Debug, Default)]
pub struct Stations {
    /// Where they were read from, for messages.
    pub source: String,
    map: HashMap<(Protocol, StationAddr), Station>,
}

#[derive(Debug, Deserialize)]
struct RawRow {
    station: String,
    protocol: String,
    device_id: String,
    quantity: String,
    element: String,
    reply: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    allow_from: String,
}

impl Stations {
    /// No stations (stations.csv absent).
    pub fn none(source: &str) -> Self {
        Stations {
            source: source.to_string(),
            map: HashMap::new(),
        }
    }

    /// Parses stations.csv against the registry; every problem found is reported.
    pub fn parse(file: &str, text: &str, registry: &Registry) -> Result<Stations, StationsError> {
        let mut out = Stations::none(file);
        // The line that first set each station's reply, for a message naming both.
        let mut reply_lines: HashMap<(Protocol, StationAddr), u64> = HashMap::new();
        let problems = csv_file::read_rows(file, text, COLUMNS, |p, line, raw: RawRow| {
            out.row(p, line, raw, registry, &mut reply_lines);
        });
        let list = problems.into_vec();
        if list.is_empty() {
            Ok(out)
        } else {
            Err(StationsError(list))
        }
    }

    fn row(
        &mut self,
        p: &mut Problems,
        line: u64,
        r: RawRow,
        registry: &Registry,
        reply_lines: &mut HashMap<(Protocol, StationAddr), u64>,
    ) {
        let addr = p.check(line, "station", r.station.parse::<StationAddr>());
        let protocol = p.check::<Protocol, _>(line, "protocol", kinds::parse(&r.protocol));
        let quantity = p.check::<Quantity, _>(line, "quantity", kinds::parse(&r.quantity));
        let reply = p.check::<Reply, _>(line, "reply", kinds::parse(&r.reply));
        let element =
            protocol.and_then(|pr| p.check(line, "element", ElementKey::parse(&r.element, pr)));
        let password =
            protocol.and_then(|pr| p.check(line, "password", parse_password(&r.password, pr)));
        let allow_from = p.check(line, "allow_from", parse_allow_from(&r.allow_from));
        let device = device(p, line, &r.device_id, quantity, registry);
        let (
            Some(addr),
            Some(protocol),
            Some(quantity),
            Some(reply),
            Some(element),
            Some(dev),
            Some(password),
            Some(allow_from),
        ) = (
            addr, protocol, quantity, reply, element, device, password, allow_from,
        )
        else {
            return;
        };
        if !reply.fits(protocol) {
            let valid = match protocol {
                Protocol::Sl651 => "none|eot|esc",
                Protocol::Szy206 => "none|jetlinks|sl427",
            };
            p.push(
                line,
                "reply",
                format!("'{}' is not a {protocol} reply: expected {valid}", r.reply),
            );
            return;
        }
        let station = self.map.entry((protocol, addr)).or_default();
        match station.reply {
            Some(other) if other != reply => {
                let first = reply_lines.get(&(protocol, addr)).copied().unwrap_or(0);
                p.push(
                    line,
                    "reply",
                    format!(
                        "station {addr} answers '{other}' on line {first} and '{reply}' here: a terminal gets one kind of reply; write the same on every row of the station"
                    ),
                );
                return;
            }
            Some(_) => {}
            None => {
                station.reply = Some(reply);
                reply_lines.insert((protocol, addr), line);
            }
        }
        let first = reply_lines.get(&(protocol, addr)).copied().unwrap_or(line);
        // Empty on a later row means "as on the first row"; another value is a contradiction
        // an operator must resolve, not something to pick a winner for.
        if let Some(pw) = password {
            match station.password {
                Some(other) if other != pw => {
                    p.push(
                        line,
                        "password",
                        format!(
                            "station {addr} has password {:04X} on line {first} and {:04X} here: a terminal has one password; write the same on every row of the station",
                            u16::from_be_bytes(other),
                            u16::from_be_bytes(pw)
                        ),
                    );
                    return;
                }
                _ => station.password = Some(pw),
            }
        }
        if !allow_from.is_empty() {
            if !station.allow_from.is_empty() && station.allow_from != allow_from {
                p.push(
                    line,
                    "allow_from",
                    format!(
                        "station {addr} has another allow_from on line {first}: write the same networks on every row of the station (or leave the later rows empty)"
                    ),
                );
                return;
            }
            station.allow_from = allow_from;
        }
        if let Some(prev) = station.elements.get(&element) {
            p.push(
                line,
                "element",
                format!(
                    "station {addr} element {element} is already mapped on line {} (to {}): one row per station and element",
                    prev.line, prev.device_id
                ),
            );
            return;
        }
        let (county, kind) = dev;
        station.elements.insert(
            element,
            Target {
                device_id: r.device_id.trim().to_string(),
                county,
                kind,
                quantity,
                line,
            },
        );
    }

    /// The terminal with this address, if mapped.
    pub fn get(&self, protocol: Protocol, addr: &StationAddr) -> Option<&Station> {
        self.map.get(&(protocol, *addr))
    }

    /// Mapped terminals.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no terminal is mapped.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// What an operator should fix though the file is valid: SL 651 stations without a
    /// password, whose frames anyone who can reach the gateway could forge.
    pub fn warnings(&self) -> Vec<String> {
        self.iter()
            .filter(|(p, _, s)| *p == Protocol::Sl651 && s.password.is_none())
            .map(|(_, addr, s)| {
                let restricted = if s.allow_from.is_empty() {
                    " and no allow_from"
                } else {
                    ""
                };
                format!(
                    "{}: sl651 station {addr} has no password{restricted}: anyone who reaches the gateway can report for it; write its 4-digit password in the password column",
                    self.source
                )
            })
            .collect()
    }

    /// Every terminal with its protocol and address, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (Protocol, StationAddr, &Station)> {
        let mut all: Vec<_> = self.map.iter().map(|((p, a), s)| (*p, *a, s)).collect();
        all.sort_by_key(|(p, a, _)| (*p, *a));
        all.into_iter()
    }
}

/// The county and kind of the registered device `id`, checked against the quantity.
fn device(
    p: &mut Problems,
    line: u64,
    id: &str,
    quantity: Option<Quantity>,
    registry: &Registry,
) -> Option<(CountyCode, DeviceKind)> {
    let id = id.trim();
    let found = if let Some(i) = registry.intake(id) {
        Some((i.county, DeviceKind::Intake))
    } else {
        registry.well(id).map(|w| (w.county, DeviceKind::Well))
    };
    let Some((county, kind)) = found else {
        p.push(
            line,
            "device_id",
            format!(
                "'{id}' is neither an intake of intakes.csv nor a well of wells.csv: use a registered id, or register the device first"
            ),
        );
        return None;
    };
    let q = quantity?;
    let fits = matches!(
        (kind, q),
        (DeviceKind::Intake, Quantity::TotalM3)
            | (DeviceKind::Well, Quantity::DepthM | Quantity::LevelM)
    );
    if !fits {
        let (what, valid) = match kind {
            DeviceKind::Intake => ("an intake", "total_m3"),
            DeviceKind::Well => ("a well", "depth_m or level_m"),
        };
        p.push(
            line,
            "quantity",
            format!("'{q}' does not fit {id}, which is {what}: use {valid}"),
        );
        return None;
    }
    Some((county, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Stations, Vec<String>> {
        let cfg = Config::embedded().unwrap();
        Stations::parse("s.csv", text, &cfg.registry)
            .map_err(|e| e.0.iter().map(|p| p.to_string()).collect())
    }

    const HEADER: &str = "station,protocol,device_id,quantity,element,reply\n";

    #[test]
    fn addresses_are_opaque_hex_keys() {
        let a: StationAddr = "00303a9006".parse().unwrap();
        assert_eq!(a.to_string(), "00303A9006");
        assert_eq!(a.0, [0x00, 0x30, 0x3A, 0x90, 0x06]);
        for bad in ["0030", "00303A900G", "00303A90066", ""] {
            assert!(bad.parse::<StationAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn element_names_per_protocol() {
        let sl = |s| ElementKey::parse(s, Protocol::Sl651);
        let szy = |s| ElementKey::parse(s, Protocol::Szy206);
        assert_eq!(sl("0E"), Ok(ElementKey::Sl651(0x0E)));
        assert_eq!(sl("ff22"), Ok(ElementKey::Sl651(0xFF22)));
        assert_eq!(ElementKey::Sl651(0xFF22).to_string(), "FF22");
        assert!(sl("1234").unwrap_err().contains("starts with FF"));
        assert!(sl("F0").unwrap_err().contains("not a value element"));
        assert!(sl("E").is_err() && sl("0G").is_err());
        assert_eq!(szy("c0.volume.1"), Ok(ElementKey::Szy206Volume(1)));
        assert_eq!(szy("c0.level.2"), Ok(ElementKey::Szy206Level(2)));
        for bad in ["c0.volume.0", "c0.flow.1", "volume.1", "0E", "c0.level.x"] {
            assert!(szy(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_valid_file_maps_stations_to_devices() {
        let s = parse(&format!(
            "{HEADER}# a comment\n1401090001,sl651,W-XD-01,depth_m,0E,eot\n530381 0D00,szy206,TYGS-0001,total_m3,c0.volume.1,jetlinks\n"
        )
        .replace("530381 0D00", "5303810D00"))
        .unwrap();
        assert_eq!(s.len(), 2);
        let st = s
            .get(Protocol::Sl651, &"1401090001".parse().unwrap())
            .unwrap();
        assert_eq!(st.reply, Some(Reply::Eot));
        let t = &st.elements[&ElementKey::Sl651(0x0E)];
        assert_eq!(
            (t.device_id.as_str(), t.kind, t.line),
            ("W-XD-01", DeviceKind::Well, 3)
        );
        assert_eq!(t.county.to_string(), "140105");
        // The same address under the other protocol is another terminal.
        assert!(
            s.get(Protocol::Szy206, &"1401090001".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn every_problem_names_line_field_and_fix() {
        let e = parse(&format!(
            "{HEADER}\
1401090001,sl651,NOPE-1,depth_m,0E,eot
1401090001,sl651,TYGS-0001,depth_m,0E,eot
1401090001,sl651,W-XD-01,total_m3,0E,eot
14010900,sl651,W-XD-01,depth_m,0E,eot
1401090001,modbus,W-XD-01,depth_m,0E,eot
1401090001,sl651,W-XD-01,depth_m,0E,jetlinks
1401090002,sl651,W-XD-01,depth_m,0E,eot
1401090002,sl651,W-XD-02,depth_m,0E,eot
1401090002,sl651,W-XD-02,depth_m,FF0E,esc
"
        ))
        .unwrap_err();
        assert_eq!(
            e,
            [
                "s.csv line 2, field device_id: 'NOPE-1' is neither an intake of intakes.csv nor a well of wells.csv: use a registered id, or register the device first",
                "s.csv line 3, field quantity: 'depth_m' does not fit TYGS-0001, which is an intake: use total_m3",
                "s.csv line 4, field quantity: 'total_m3' does not fit W-XD-01, which is a well: use depth_m or level_m",
                "s.csv line 5, field station: '14010900': expected the station's 5-byte address as 10 hex digits, as on the wire (e.g. 1401090001)",
                "s.csv line 6, field protocol: 'modbus': expected sl651|szy206",
                "s.csv line 7, field reply: 'jetlinks' is not a sl651 reply: expected none|eot|esc",
                "s.csv line 9, field element: station 1401090002 element 0E is already mapped on line 8 (to W-XD-01): one row per station and element",
                "s.csv line 10, field reply: station 1401090002 answers 'eot' on line 8 and 'esc' here: a terminal gets one kind of reply; write the same on every row of the station",
            ]
        );
    }

    #[test]
    fn passwords_and_allowed_networks_per_station() {
        let s = parse(
            "station,protocol,device_id,quantity,element,reply,password,allow_from
1401090001,sl651,W-XD-01,depth_m,0E,eot,12ab,10.8.0.0/16; 203.0.113.7
1401090001,sl651,W-XD-02,depth_m,FF0E,eot,,
5303810D00,szy206,TYGS-0001,total_m3,c0.volume.1,jetlinks,,
1401090002,sl651,W-XD-02,depth_m,0E,eot,,
",
        )
        .unwrap();
        let st = s
            .get(Protocol::Sl651, &"1401090001".parse().unwrap())
            .unwrap();
        assert_eq!(st.password, Some([0x12, 0xAB]));
        assert!(st.allows("10.8.3.4".parse().unwrap()));
        assert!(st.allows("::ffff:203.0.113.7".parse().unwrap()));
        assert!(!st.allows("203.0.113.8".parse().unwrap()));
        let open = s
            .get(Protocol::Szy206, &"5303810D00".parse().unwrap())
            .unwrap();
        assert!(open.allows("192.0.2.1".parse().unwrap()) && open.password.is_none());
        // Only the SL 651 station without a password is warned about; the SZY 206 one cannot
        // have one.
        let w = s.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("sl651 station 1401090002 has no password and no allow_from"));
        // The old header without the optional columns still reads.
        assert!(
            parse(&format!(
                "{HEADER}1401090001,sl651,W-XD-01,depth_m,0E,eot\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn bad_passwords_and_networks_name_the_fix() {
        let e = parse(
            "station,protocol,device_id,quantity,element,reply,password,allow_from
1401090001,sl651,W-XD-01,depth_m,0E,eot,12,
5303810D00,szy206,TYGS-0001,total_m3,c0.volume.1,jetlinks,1234,
1401090002,sl651,W-XD-02,depth_m,0E,eot,,10.8.0.0/33
1401090003,sl651,W-XD-01,depth_m,0E,eot,1234,
1401090003,sl651,W-XD-02,depth_m,FF0E,eot,4321,
",
        )
        .unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[0].contains(
            "line 2, field password: '12': expected the SL 651 password as 4 hex digits"
        ));
        assert!(
            e[1].contains("line 3, field password: '1234': SZY 206 terminals send no password")
        );
        assert!(e[2].contains(
            "line 4, field allow_from: '10.8.0.0/33': expected an IP address or network"
        ));
        assert!(e[3].contains(
            "line 6, field password: station 1401090003 has password 1234 on line 5 and 4321 here"
        ));
    }

    #[test]
    fn the_shipped_file_is_valid() {
        let cfg = Config::embedded().unwrap();
        assert!(cfg.stations.len() >= 3, "{}", cfg.stations.len());
    }
}
