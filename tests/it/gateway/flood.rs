//! Floods without a credential: bad-CRC blobs and refused frames cannot grow the archive past
//! its bound or its rate, claimed multi-packet messages do not reserve memory, and a long
//! incomplete frame trickled in costs CPU in proportion to its bytes.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use gwmon::gateway::crc::crc16_modbus;

use super::auth::{GUARDED, connect_from, setup};
use super::{Setup, local_minutes_ago, reply_or_closed, sl651_confirm, sl651_report};
use crate::support::*;

/// An uplink SL 651 frame for `station` (10 hex digits) with `body` after STX, or after SYN and
/// the packet field when `packet` is (total, seq); the CRC is right unless `bad_crc`.
fn raw_sl651(station: &str, body: &[u8], packet: Option<(u16, u16)>, bad_crc: bool) -> Vec<u8> {
    let mut f = vec![0x7E, 0x7E, 0x01];
    f.extend(gwmon::gateway::crc::from_hex(station).unwrap());
    f.extend([0x12, 0x34, 0x32]);
    let mut rest: Vec<u8> = Vec::new();
    if let Some((total, seq)) = packet {
        let v = (u32::from(total) << 12 | u32::from(seq)).to_be_bytes();
        rest.extend(&v[1..]);
    }
    rest.extend(body);
    let len = rest.len() as u16;
    f.extend([(len >> 8) as u8 & 0x0F, len as u8]);
    f.push(if packet.is_some() { 0x16 } else { 0x02 });
    f.extend(rest);
    f.push(0x03);
    let crc = crc16_modbus(&f) ^ u16::from(bad_crc);
    f.extend(crc.to_be_bytes());
    f
}

/// A report of station 1401210001 (password 1234, any address) on `c`, and its confirm: every
/// frame sent before it on `c` has been handled.
fn report_and_confirm(c: &mut TcpStream, serial: u16, minutes_ago: i64) {
    c.write_all(&sl651_report("1401210001", serial, local_minutes_ago(minutes_ago), 1000).encode())
        .unwrap();
    let reply = reply_or_closed(c, Duration::from_secs(60)).expect("a confirm");
    assert_eq!(sl651_confirm(&reply).0, serial);
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The archive's size as the gateway counts it (text columns plus 64 bytes a row).
fn archive_size(s: &Setup) -> i64 {
    query_i64(
        &s.db,
        "SELECT coalesce(sum(length(hex) + length(peer) + length(protocol) + length(station) + length(outcome) + 64), 0) FROM gateway_frames",
    )
}

#[test]
fn bad_crc_blobs_and_refused_frames_cannot_grow_the_archive() {
    let s = setup("gw-it-archive-flood", GUARDED, |t| {
        t.replace("# archive_max_mb = 256", "archive_max_mb = 1")
    });
    // One connection: 4,000 bad-CRC frames back to back (the blob, repeated). Each was
    // a row of its own; a run from one connection is one row with a count.
    let bad = raw_sl651("1401219999", &[0x55; 40], None, true);
    let mut blob = Vec::new();
    for _ in 0..4000 {
        blob.extend(&bad);
    }
    let mut a = s.gateway.connect();
    a.write_all(&blob).unwrap();
    report_and_confirm(&mut a, 1, 30);
    // Four more connections from addresses of their own, each 150 refused frames of 4 KB
    // (CRC right, station unknown): past the rate per connection and, together, past the
    // 1 MB bound.
    let big = raw_sl651("1401219998", &[0x55; 4000], None, false);
    for i in 0..4u16 {
        let mut c = connect_from(&format!("127.0.2.{}", i + 1), s.gateway.port);
        for _ in 0..150 {
            c.write_all(&big).unwrap();
        }
        report_and_confirm(&mut c, 10 + i, 29 - i64::from(i));
    }
    // Rows are written in the order they were handled: the last report's row means every
    // earlier one was written (or counted as not).
    wait_until("the last report archived", Duration::from_secs(30), || {
        query_i64(
            &s.db,
            "SELECT count(*) FROM gateway_frames WHERE outcome = 'published' AND peer LIKE '127.0.2.4:%'",
        ) == 1
    });
    let runs = query_i64(
        &s.db,
        "SELECT count(*) FROM gateway_frames WHERE outcome = 'bad_crc'",
    );
    let repeats = query_i64(
        &s.db,
        "SELECT coalesce(sum(repeats), 0) FROM gateway_frames WHERE outcome = 'bad_crc'",
    );
    assert!(runs <= 2, "{runs} bad-CRC rows for one run");
    if runs > 0 {
        // The run's row may have been evicted by the 4 KB frames after it.
        assert_eq!(repeats, 4000);
    }
    let size = archive_size(&s);
    assert!(size <= 1 << 20, "archive {size} bytes > 1 MB");
    let refused = query_i64(
        &s.db,
        "SELECT count(*) FROM gateway_frames WHERE station = '1401219998'",
    );
    // 4 connections x (60 at once + one a second since).
    assert!(refused <= 4 * 90, "{refused} refused frames archived");
    let m = s.gateway.metrics();
    assert!(
        metric(&m, "gwmon_gateway_archive_dropped_total{reason=\"rate\"}") >= 300.0,
        "{m}"
    );
    assert!(
        metric(&m, "gwmon_gateway_archive_evicted_total") >= 1.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"bad_crc\"}"
        ),
        4000.0,
        "every bad frame is still counted"
    );
}

/// The resident memory of a process, bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap()
}

#[test]
fn claimed_packet_counts_reserve_no_memory() {
    let s = setup("gw-it-packets", GUARDED, |t| {
        t.replace("reassembly_max_mb = 64", "reassembly_max_mb = 1")
    });
    let pid = s.gateway.child.as_ref().unwrap().id();
    let before = rss(pid);
    // 100 connections from 10 addresses, each 16 "packet 1 of 4095" frames of stations that
    // are not in stations.csv: nothing is held for them.
    let mut conns = Vec::new();
    for c in 0..100u32 {
        let mut sock = connect_from(&format!("127.0.3.{}", c % 10 + 1), s.gateway.port);
        for k in 0..16u32 {
            let station = format!("14013{:05}", c * 16 + k);
            sock.write_all(&raw_sl651(&station, &[0x55; 20], Some((4095, 1)), false))
                .unwrap();
        }
        conns.push(sock);
    }
    for (i, c) in conns.iter_mut().enumerate() {
        report_and_confirm(c, 100 + i as u16, 200 - i as i64);
    }
    let grown = rss(pid).saturating_sub(before);
    let m = s.gateway.metrics();
    assert_eq!(metric(&m, "gwmon_gateway_reassembly_bytes"), 0.0, "{m}");
    assert!(
        metric(
            &m,
            "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"unknown_station\"}"
        ) >= 1600.0,
        "{m}"
    );
    assert!(grown < 40 << 20, "the gateway grew by {} MB", grown >> 20);
    // A known station claiming more packets than max_packets is refused; within it, a packet
    // is held, and only up to reassembly_max_mb for all connections.
    let mut c = s.gateway.connect();
    c.write_all(&raw_sl651(
        "1401210001",
        &[0x55; 20],
        Some((4095, 1)),
        false,
    ))
    .unwrap();
    for seq in 1..64 {
        c.write_all(&raw_sl651(
            "1401210001",
            &[0x55; 3000],
            Some((64, seq)),
            false,
        ))
        .unwrap();
    }
    report_and_confirm(&mut c, 300, 1);
    let m = s.gateway.metrics();
    assert_eq!(
        metric(
            &m,
            "gwmon_gateway_frames_total{protocol=\"sl651\",outcome=\"too_many_packets\"}"
        ),
        1.0,
        "{m}"
    );
    let held = metric(&m, "gwmon_gateway_reassembly_bytes");
    assert!(held > 0.0 && held <= f64::from(1 << 20), "{held}");
}

/// CPU seconds (user and system) a process has used.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // SAFETY: sysconf reads a constant.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// The gateway's CPU seconds for `bytes` sent one at a time, a millisecond apart (the
/// attacker's pace, so that each is read on its own), then a report and its confirm.
fn trickle_cpu(s: &Setup, bytes: &[u8], serial: u16) -> f64 {
    let pid = s.gateway.child.as_ref().unwrap().id();
    let mut c = s.gateway.connect();
    c.set_nodelay(true).unwrap();
    let before = cpu_s(pid);
    for b in bytes {
        c.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    report_and_confirm(&mut c, serial, 5 + i64::from(serial));
    cpu_s(pid) - before
}

#[test]
fn a_long_incomplete_frame_trickled_in_costs_little_cpu() {
    let s = setup("gw-it-trickle-cpu", GUARDED, |t| t);
    // What a byte costs anyway (a read, a wake-up): 4,000 bytes that start no frame.
    let junk = trickle_cpu(&s, &[0u8; 4000], 1);
    // A head announcing a 4112-byte frame, then 150 heads of frames that all end at byte
    // 3,000 with a wrong CRC, then filler, a byte at a time: before, every byte after the
    // 3,000th checked the CRC of all 150 nested frames again.
    const END: usize = 3000;
    let mut heads = gwmon::gateway::crc::from_hex("7E7E0000000000000000320FFF02").unwrap();
    for _ in 0..150 {
        let len = (END - heads.len() - 17) as u16;
        heads.extend([
            0x7E, 0x7E, 0x01, 0x14, 0x01, 0x21, 0x99, 0x99, 0x12, 0x34, 0x32,
        ]);
        heads.extend([(len >> 8) as u8, len as u8, 0x02]);
    }
    heads.resize(END - 3, 0x55);
    heads.extend([0x03, 0x00, 0x00]);
    heads.resize(4000, 0x55);
    let frames = trickle_cpu(&s, &heads, 2);
    assert!(
        frames - junk < 0.5,
        "4,000 trickled bytes of nested frame heads took {frames:.2} s of CPU, of junk {junk:.2} s"
    );
}
