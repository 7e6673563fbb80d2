//! The writer thread: the only owner of the read-write connection in the daemon.
//!
//! It takes decoded messages from a channel, groups them into batches (closed by size, by age, or
//! as soon as nothing more is waiting, so a lone reading is committed at once), commits each batch
//! in one transaction, and only then hands the batch's tokens (the MQTT publishes) back to be
//! acknowledged. SQLite runs here, never on the async runtime.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::{Receiver, error::TryRecvError};
use tracing::debug;

use super::{Store, StoreError};
use crate::domain::Decoded;
use crate::store::Outcome;

/// One message on its way to the store.
pub struct Envelope<T> {
    pub decoded: Decoded,
    /// Epoch seconds at receipt.
    pub received_at: i64,
    /// Handed back after the commit (the publish to ack).
    pub token: T,
}

/// What the writer's channel carries.
pub enum WriterMsg<T> {
    Write(Envelope<T>),
    /// Commit what is in hand and stop; messages queued behind this are left uncommitted.
    Stop,
}

/// Batch limits.
#[derive(Clone, Copy, Debug)]
pub struct BatchLimits {
    pub max_readings: usize,
    pub max_delay: Duration,
    /// A batch also closes when no message has arrived for this long.
    pub quiet: Duration,
}

/// Running totals of what the writer committed.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriterStats {
    pub batches: u64,
    pub messages: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

impl WriterStats {
    fn add(&mut self, outcomes: &[Outcome]) {
        self.batches += 1;
        self.messages += outcomes.len() as u64;
        for o in outcomes {
            self.stored += u64::from(o.stored);
            self.duplicates += u64::from(o.duplicates);
            self.rejected += u64::from(o.rejected);
        }
    }
}

fn weight(d: &Decoded) -> usize {
    (d.readings.len() + d.rejected.len()).max(1)
}

/// Runs the writer loop on the current thread until [`WriterMsg::Stop`] or until the channel
/// closes and is drained.
/// `committed` receives each committed batch's tokens with their outcomes, in arrival order.
pub fn run_writer<T>(
    mut store: Store,
    mut rx: Receiver<WriterMsg<T>>,
    limits: BatchLimits,
    source: &str,
    mut committed: impl FnMut(Vec<(T, Outcome)>, &WriterStats),
) -> Result<WriterStats, StoreError> {
    let mut stats = WriterStats::default();
    let mut batch: Vec<Envelope<T>> = Vec::new();
    // A small runtime of this thread's own, only to wait for the next message with a timeout.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| StoreError::Runtime(e.to_string()))?;
    let mut stop = false;
    while !stop {
        // At start, then between batches at most hourly.
        store.prune_quarantine_if_due();
        let first = match rx.blocking_recv() {
            Some(WriterMsg::Write(env)) => env,
            Some(WriterMsg::Stop) | None => break,
        };
        let opened = Instant::now();
        let mut readings = weight(&first.decoded);
        batch.push(first);
        while readings < limits.max_readings {
            let left = limits.max_delay.saturating_sub(opened.elapsed());
            if left.is_zero() {
                break;
            }
            let msg = match rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Disconnected) => None,
                // Nothing waiting: give the broker a moment to deliver the rest of a burst, so
                // that a steady trickle is committed in batches and not one fsync per message.
                Err(TryRecvError::Empty) => match rt.block_on(async {
                    tokio::time::timeout(limits.quiet.min(left), rx.recv()).await
                }) {
                    Ok(m) => m,
                    Err(_) => break,
                },
            };
            match msg {
                Some(WriterMsg::Write(env)) => {
                    readings += weight(&env.decoded);
                    batch.push(env);
                }
                Some(WriterMsg::Stop) | None => {
                    stop = true;
                    break;
                }
            }
        }
        let received_at = batch.iter().map(|e| e.received_at).max().unwrap_or(0);
        let refs: Vec<&Decoded> = batch.iter().map(|e| &e.decoded).collect();
        let outcomes = store.apply(&refs, received_at, source)?;
        stats.add(&outcomes);
        debug!(
            messages = batch.len(),
            readings,
            ms = opened.elapsed().as_millis() as u64,
            "batch committed"
        );
        let done: Vec<(T, Outcome)> = batch.drain(..).map(|e| e.token).zip(outcomes).collect();
        committed(done, &stats);
    }
    Ok(stats)
}
