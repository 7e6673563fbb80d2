//! Which terminal connections the gateway takes: at most `[gateway] max_connections` in all,
//! at most `max_connections_per_address` from one IP address, and none while the process is
//! near its open-file limit.
//!
//! The per-address cap is what keeps a single host from taking every slot with idle
//! connections; the file-descriptor budget is what keeps a flood from starving the store and
//! the broker connection of descriptors (an `accept` that fails with EMFILE would otherwise be
//! retried in a loop while every other part of the process fails too).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::config::stations::canonical_ip;

/// Descriptors kept free for everything that is not a terminal connection opened later: the
/// store's readers and writer, the broker connection and its reconnects, the metrics listener,
/// log files, the daemon's web listener when the gateway runs inside it.
pub const FD_RESERVE: usize = 64;

/// Why a connection was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` are open.
    Total,
    /// `max_connections_per_address` are open from this address.
    PerAddress,
}

impl Refusal {
    /// The reason in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Total => "too_many_connections",
            Refusal::PerAddress => "too_many_from_address",
        }
    }
}

/// The open connections, in all and per address.
#[derive(Debug)]
pub struct Slots {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// An open connection's slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    /// Slots for at most `max_total` connections, `max_per_address` from one address.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max_total,
            max_per_address,
            open: Mutex::new(Open::default()),
        })
    }

    /// Takes a slot for a connection from `ip`, or says why not.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let ip = canonical_ip(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let from = open.by_address.entry(ip).or_default();
        if *from >= self.max_per_address {
            return Err(Refusal::PerAddress);
        }
        *from += 1;
        open.total += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            ip,
        })
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

/// How many terminal connections the process can hold open: its soft open-file limit, less
/// the descriptors open now (store, broker, listeners) and [`FD_RESERVE`]. `None` when the
/// limit cannot be read or is unlimited.
pub fn fd_budget() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer to a local.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    if !ok || lim.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let soft = usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX);
    // Linux lists the open descriptors here; elsewhere the reserve alone has to cover them.
    let open_now = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    Some(soft.saturating_sub(open_now + FD_RESERVE).max(1))
}

/// A token bucket: `per_minute` events a minute, as many at once.
#[derive(Clone, Copy, Debug)]
pub struct RateBucket {
    per_minute: f64,
    tokens: f64,
    at: f64,
}

impl RateBucket {
    pub fn new(per_minute: u32) -> Self {
        RateBucket {
            per_minute: f64::from(per_minute),
            tokens: f64::from(per_minute),
            at: f64::NEG_INFINITY,
        }
    }

    /// Takes a token at `now` (seconds, any monotonic origin); false when there is none.
    pub fn take(&mut self, now: f64) -> bool {
        if self.at.is_finite() {
            let refill = (now - self.at).max(0.0) * self.per_minute / 60.0;
            self.tokens = (self.tokens + refill).min(self.per_minute);
        }
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bucket_allows_its_rate_and_refills() {
        let mut b = RateBucket::new(60);
        assert_eq!((0..100).filter(|_| b.take(0.0)).count(), 60);
        assert!(!b.take(0.5));
        assert!(b.take(1.5));
        assert_eq!((0..100).filter(|_| b.take(1000.0)).count(), 60);
    }

    use super::*;

    #[test]
    fn one_address_cannot_take_every_slot() {
        let slots = Slots::new(3, 2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let a1 = slots.take(a).unwrap();
        let _a2 = slots.take("::ffff:192.0.2.1".parse().unwrap()).unwrap();
        assert_eq!(slots.take(a).unwrap_err(), Refusal::PerAddress);
        let _b1 = slots.take(b).unwrap();
        assert_eq!(slots.take(b).unwrap_err(), Refusal::Total);
        // A closed connection gives its slot back, to its address and to the total.
        drop(a1);
        assert_eq!(slots.open(), 2);
        let _a3 = slots.take(a).unwrap();
    }
}
