//! A connection's bytes as the gateway reads them: each frame decoded ([`decode`]), the packets
//! of a multi-packet message reassembled (held only for a station of stations.csv whose
//! `allow_from` and password it passes), frames the centre sent and looped back told apart, and
//! [`confirm`], the answer a terminal gets once a report's readings are with the broker.

use std::net::IpAddr;

use jiff::civil::DateTime;

use super::crc::to_hex;
use super::frame::{Frame, FrameError, Header, Packet};
use super::stream::{Assembled, Reassembly};
use super::{sl651, szy206};
use crate::config::Config;
use crate::config::stations::{Protocol, Reply, StationAddr, Stations};

/// A decoded unit of a connection's stream.
pub(super) enum Decoded {
    /// A whole message.
    Frame(Frame),
    /// A packet of a multi-packet message that is not complete yet.
    Packet,
    /// The last packet came but some are missing: (the envelope's frame, first missing).
    Missing(Frame, u16),
    /// A frame the centre sent, looped back: not a report.
    Downlink,
    /// A packet not held for reassembly: its outcome and why.
    Refused(&'static str, String),
    Error(FrameError),
}

/// Decodes a frame received at `received` from `ip` (`None`: from the archive, admitted when
/// it was received). A packet of a multi-packet message is held only for a station of
/// stations.csv whose `allow_from` and password it passes.
pub(super) fn decode(
    protocol: Protocol,
    bytes: &[u8],
    received: i64,
    reassembly: &mut Reassembly,
    cfg: &Config,
    ip: Option<IpAddr>,
) -> Decoded {
    let clock = &cfg.clock;
    match protocol {
        Protocol::Szy206 => {
            match szy206::decode(bytes, received, cfg.ingest.future_margin_s, clock) {
                Ok(f) if matches!(f.header, Header::Szy206 { control, .. } if control & 0x80 == 0) => {
                    Decoded::Downlink
                }
                Ok(f) => Decoded::Frame(f),
                Err(e) => Decoded::Error(e),
            }
        }
        Protocol::Sl651 => {
            let env = match sl651::envelope(bytes) {
                Ok(env) => env,
                Err(e) => return Decoded::Error(e),
            };
            if env.downlink {
                return Decoded::Downlink;
            }
            let Packet::Part { total, .. } = env.packet else {
                return match sl651::decode_message(&env, env.body, clock) {
                    Ok(f) => Decoded::Frame(f),
                    Err(e) => Decoded::Error(e),
                };
            };
            if let Some(ip) = ip {
                if cfg.stations.get(Protocol::Sl651, &env.station).is_none() {
                    return Decoded::Refused(
                        "unknown_station",
                        format!(
                            "a packet for station {} which is not in {}: not held",
                            env.station, cfg.stations.source
                        ),
                    );
                }
                if let Some(r) = station_refusal(
                    &cfg.stations,
                    Protocol::Sl651,
                    env.station,
                    Some(env.password),
                    ip,
                ) {
                    return Decoded::Refused(r.0, r.1);
                }
            }
            match reassembly.add(bytes, received) {
                Assembled::Dropped(outcome) => Decoded::Refused(
                    outcome,
                    if outcome == "too_many_packets" {
                        format!(
                            "a message of {total} packets: more than [gateway] max_packets = {}",
                            cfg.gateway.max_packets
                        )
                    } else {
                        format!(
                            "no room to hold the packet ([gateway] reassembly_max_mb = {}, or this connection's share): the terminal sends it again",
                            cfg.gateway.reassembly_max_mb
                        )
                    },
                ),
                Assembled::Pending => Decoded::Packet,
                Assembled::Missing(seqs) => match sl651::decode(bytes, clock) {
                    Ok(f) => Decoded::Missing(f, seqs[0]),
                    Err(e) => Decoded::Error(e),
                },
                Assembled::Complete(m) => {
                    let result = sl651::envelope(&m.last)
                        .and_then(|env| sl651::decode_message(&env, &m.body, clock));
                    match result {
                        Ok(f) => Decoded::Frame(f),
                        Err(e) => Decoded::Error(e),
                    }
                }
            }
        }
    }
}

/// The station address of a frame that did not decode, if its header holds one.
pub(super) fn station_of(protocol: Protocol, bytes: &[u8]) -> String {
    let addr = match protocol {
        Protocol::Sl651 if bytes.len() >= 12 => {
            if bytes[11] >> 4 == 8 {
                bytes.get(2..7)
            } else {
                bytes.get(3..8)
            }
        }
        Protocol::Szy206 if bytes.len() >= 4 => {
            let at = if bytes[3] & 0x40 != 0 { 5 } else { 4 };
            bytes.get(at..at + 5)
        }
        _ => None,
    };
    addr.map(to_hex).unwrap_or_default()
}

/// Why station `addr` of stations.csv may not be spoken for from `ip` with `password` (SL 651;
/// `None` for SZY 206, whose uplink frames carry none): (outcome, why). `None` when it may, or
/// when the station is not in stations.csv.
pub(super) fn station_refusal(
    stations: &Stations,
    protocol: Protocol,
    addr: StationAddr,
    password: Option<[u8; 2]>,
    ip: IpAddr,
) -> Option<(&'static str, String)> {
    let st = stations.get(protocol, &addr)?;
    if !st.allows(ip) {
        return Some((
            "not_allowed",
            format!(
                "{ip} is not in the allow_from of station {addr} in {}",
                stations.source
            ),
        ));
    }
    if let (Some(want), Some(password)) = (st.password, password)
        && want != password
    {
        return Some((
            "bad_password",
            format!(
                "password {:04X} is not the one station {addr} has in {}",
                u16::from_be_bytes(password),
                stations.source
            ),
        ));
    }
    None
}

/// The centre's confirm of a handled frame in `mode`, with the centre's local time `now`:
/// SL 651 EOT or ESC (ACK after a frame ending ETB; for a multi-packet message the total as
/// the sequence answered), SZY 206 in the JetLinks or SL/T 427 form; `None` for `none` and
/// for frames that get no answer.
pub fn confirm(frame: &Frame, mode: Reply, now: DateTime) -> Option<Vec<u8>> {
    match (&frame.header, mode) {
        (_, Reply::None) => None,
        (
            Header::Sl651 {
                centre,
                password,
                packet,
                end,
                ..
            },
            mode,
        ) => {
            let end_char = if *end == sl651::ETB {
                sl651::ACK
            } else if mode == Reply::Esc {
                sl651::ESC
            } else {
                sl651::EOT
            };
            let packet = match packet {
                Packet::Single => Packet::Single,
                Packet::Part { total, .. } => Packet::Part {
                    total: *total,
                    seq: *total,
                },
            };
            Some(sl651::reply(
                frame.station,
                *centre,
                *password,
                frame.function,
                frame.serial?,
                packet,
                end_char,
                now,
            ))
        }
        (Header::Szy206 { .. }, Reply::Sl427) => {
            szy206::reply(frame, szy206::ReplyForm::Sl427, now)
        }
        (Header::Szy206 { .. }, _) => szy206::reply(frame, szy206::ReplyForm::Jetlinks, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::crc::to_hex;

    fn cfg() -> Config {
        Config::embedded().unwrap()
    }

    fn report(function: u8) -> sl651::Report {
        sl651::Report {
            password: [0x12, 0x34],
            function,
            ..sl651::Report::sample(23, vec![(0x0E, 0x1A, vec![0x00, 0x15, 0x20])])
        }
    }

    fn now() -> DateTime {
        "2026-11-30T08:01:05".parse().unwrap()
    }

    fn frame_of(bytes: &[u8], cfg: &Config) -> Frame {
        let mut r = Reassembly::unbounded(120);
        match decode(Protocol::Sl651, bytes, 0, &mut r, cfg, None) {
            Decoded::Frame(f) => f,
            _ => panic!("not a frame"),
        }
    }

    #[test]
    fn sl651_confirms_end_as_the_station_is_configured() {
        let c = cfg();
        let f = frame_of(&report(0x32).encode(), &c);
        let eot = confirm(&f, Reply::Eot, now()).unwrap();
        let env = sl651::envelope(&eot).unwrap();
        assert!(env.downlink);
        assert_eq!(
            (env.end, env.function, env.password),
            (sl651::EOT, 0x32, [0x12, 0x34])
        );
        assert_eq!(to_hex(env.body), "0017261130080105");
        assert_eq!(
            sl651::envelope(&confirm(&f, Reply::Esc, now()).unwrap())
                .unwrap()
                .end,
            sl651::ESC
        );
        assert_eq!(confirm(&f, Reply::None, now()), None);
        // A frame ending ETB (more follow) is acknowledged with ACK whatever the mode.
        let mut etb = report(0x32).encode();
        let n = etb.len();
        etb[n - 3] = sl651::ETB;
        let crc = crate::gateway::crc::crc16_modbus(&etb[..n - 2]).to_be_bytes();
        etb[n - 2..].copy_from_slice(&crc);
        let f = frame_of(&etb, &c);
        assert_eq!(
            sl651::envelope(&confirm(&f, Reply::Esc, now()).unwrap())
                .unwrap()
                .end,
            sl651::ACK
        );
    }

    #[test]
    fn a_multi_packet_message_is_answered_once_with_its_total() {
        let c = cfg();
        let parts = report(0x32).encode_parts(3);
        let mut r = Reassembly::unbounded(120);
        assert!(matches!(
            decode(Protocol::Sl651, &parts[0], 0, &mut r, &c, None),
            Decoded::Packet
        ));
        // The last packet before the second: NAK material, the second is missing.
        assert!(matches!(
            decode(Protocol::Sl651, &parts[2], 1, &mut r, &c, None),
            Decoded::Missing(_, 2)
        ));
        assert!(matches!(
            decode(Protocol::Sl651, &parts[1], 2, &mut r, &c, None),
            Decoded::Packet
        ));
        let Decoded::Frame(f) = decode(Protocol::Sl651, &parts[2], 3, &mut r, &c, None) else {
            panic!("not reassembled")
        };
        assert_eq!(f.serial, Some(23));
        assert_eq!(f.elements.len(), 1);
        let env_bytes = confirm(&f, Reply::Eot, now()).unwrap();
        let env = sl651::envelope(&env_bytes).unwrap();
        assert_eq!(env.packet, Packet::Part { total: 3, seq: 3 });
    }

    #[test]
    fn downlink_frames_looped_back_are_not_reports() {
        let c = cfg();
        let down = sl651::reply(
            "1401210001".parse().unwrap(),
            1,
            [0, 0],
            0x32,
            1,
            Packet::Single,
            sl651::EOT,
            now(),
        );
        let mut r = Reassembly::unbounded(120);
        assert!(matches!(
            decode(Protocol::Sl651, &down, 0, &mut r, &c, None),
            Decoded::Downlink
        ));
        let szy_down = crate::gateway::crc::from_hex("680868335303810D00C0003E16").unwrap();
        assert!(matches!(
            decode(Protocol::Szy206, &szy_down, 0, &mut r, &c, None),
            Decoded::Downlink
        ));
    }

    #[test]
    fn station_addresses_of_frames_that_did_not_decode() {
        let b = report(0x32).encode();
        assert_eq!(station_of(Protocol::Sl651, &b), "1401210001");
        let z = crate::gateway::crc::from_hex(
            "681A68B35303810D00C00059000000826110000001106000004508090A3516",
        )
        .unwrap();
        assert_eq!(station_of(Protocol::Szy206, &z), "5303810D00");
        assert_eq!(station_of(Protocol::Szy206, &[0x68]), "");
    }
}
