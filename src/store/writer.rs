//! The writer thread: the only owner of the read-write connection in the daemon.
//!
//! It takes decoded messages from a channel, groups them into batches (closed by size, by age, or,
//! once a batch is `min_delay` old, as soon as a short wait brings nothing more: see
//! [`BatchLimits`]), commits each batch in one transaction, and only then hands the batch's
//! tokens (the MQTT publishes) back to be acknowledged. SQLite runs here, never on the async
//! runtime.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{Receiver, error::TryRecvError};
use tracing::{debug, error, info, warn};

use super::{Store, StoreError, StoreSettings};
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
    /// A batch that is not full stays open at least this long ...
    pub min_delay: Duration,
    /// ... and then closes as soon as no message has arrived for this long.
    pub quiet: Duration,
}

/// How a writer runs: its batches, what it stores as the readings' source, where it reports
/// a pause, how it names a message's origin, and where reloaded settings come from.
pub struct WriterSetup<'a, O> {
    pub limits: BatchLimits,
    /// Stored with each reading (`mqtt`, `import`).
    pub source: &'a str,
    /// The epoch second since which the store refuses writes, 0 while it accepts them.
    pub paused_since: &'a AtomicI64,
    /// A message's origin (its topic) for a quarantine record.
    pub origin: O,
    /// The settings of a reloaded configuration.
    pub reload: Option<tokio::sync::watch::Receiver<StoreSettings>>,
}

/// Running totals of what the writer committed.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriterStats {
    pub batches: u64,
    pub messages: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Seconds the last batch took to commit (retries while the store refused it included).
    pub last_commit_s: f64,
    /// Readings (and refused elements) in the last batch.
    pub last_batch_readings: u64,
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

/// How long the writer waits before retrying a batch the store refused, doubling up to the cap.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_CAP: Duration = Duration::from_secs(30);
/// While the store stays unavailable, an ERROR line at most this often.
const PAUSED_LOG_EVERY: Duration = Duration::from_secs(60);

/// Why the writer stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The store cannot be used at all (corrupt, not a database, newer schema).
    #[error("{0}")]
    Fatal(StoreError),
    /// Told to stop while the store was refusing writes: what it held is neither committed nor
    /// acknowledged, so the broker delivers it again.
    #[error(
        "stopped while the store was unavailable ({cause}): {messages} messages were not committed and not acknowledged; the broker delivers them again to the next session"
    )]
    StoppedPaused { cause: StoreError, messages: usize },
}

/// The writer's inbox: the channel, and messages taken from it while a batch waited for the
/// store (they come first).
struct Inbox<T> {
    rx: Receiver<WriterMsg<T>>,
    held: VecDeque<Envelope<T>>,
    stop_seen: bool,
}

impl<T> Inbox<T> {
    /// The next message, waiting for one.
    fn recv(&mut self) -> Option<Envelope<T>> {
        if let Some(e) = self.held.pop_front() {
            return Some(e);
        }
        if self.stop_seen {
            return None;
        }
        match self.rx.blocking_recv() {
            Some(WriterMsg::Write(env)) => Some(env),
            Some(WriterMsg::Stop) | None => {
                self.stop_seen = true;
                None
            }
        }
    }

    /// The next message if one is waiting: `Err(true)` = nothing now, `Err(false)` = stopped.
    fn try_recv(&mut self) -> Result<Envelope<T>, bool> {
        if let Some(e) = self.held.pop_front() {
            return Ok(e);
        }
        if self.stop_seen {
            return Err(false);
        }
        match self.rx.try_recv() {
            Ok(WriterMsg::Write(env)) => Ok(env),
            Err(TryRecvError::Empty) => Err(true),
            Ok(WriterMsg::Stop) | Err(TryRecvError::Disconnected) => {
                self.stop_seen = true;
                Err(false)
            }
        }
    }

    /// Waits `d` for the store to recover, keeping whatever arrives meanwhile for the next
    /// batches; returns early when told to stop.
    fn hold_for(&mut self, rt: &tokio::runtime::Runtime, d: Duration) {
        let until = Instant::now() + d;
        while !self.stop_seen {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match rt.block_on(async { tokio::time::timeout(left, self.rx.recv()).await }) {
                Ok(Some(WriterMsg::Write(env))) => self.held.push_back(env),
                Ok(Some(WriterMsg::Stop) | None) => self.stop_seen = true,
                Err(_) => break,
            }
        }
    }
}

/// Runs the writer loop on the current thread until [`WriterMsg::Stop`] or until the channel
/// closes and is drained.
/// `committed` receives each committed batch's tokens with their outcomes, in arrival order.
///
/// A store that refuses a batch (another writer holding the lock past the busy timeout, a full
/// disk, an I/O error) pauses the writer instead of ending it: nothing is acknowledged, the batch
/// is retried with backoff, one ERROR names the cause (then one a minute with how long it has
/// waited), and the writer resumes by itself. Only a store that cannot be used at all ends it.
/// `setup.paused_since` holds the epoch second since which the store refuses writes, 0 while
/// it accepts them (for a health check).
///
/// A batch refused for a reason retrying cannot fix (a constraint, a bug: see
/// [`StoreError::is_transient`]) is applied again one message at a time: the good ones are
/// stored, each one still refused is quarantined as `store_refused` under `setup.origin(token)`
/// (its topic), and all are acknowledged, so that no message can stop the others.
pub fn run_writer<T, O: Fn(&T) -> String>(
    mut store: Store,
    rx: Receiver<WriterMsg<T>>,
    setup: WriterSetup<'_, O>,
    mut committed: impl FnMut(Vec<(T, Outcome)>, &WriterStats),
) -> Result<WriterStats, WriterError> {
    let WriterSetup {
        limits,
        source,
        paused_since,
        origin,
        mut reload,
    } = setup;
    let mut stats = WriterStats::default();
    let mut batch: Vec<Envelope<T>> = Vec::new();
    // A small runtime of this thread's own, only to wait for the next message with a timeout.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| WriterError::Fatal(StoreError::Runtime(e.to_string())))?;
    let mut inbox = Inbox {
        rx,
        held: VecDeque::new(),
        stop_seen: false,
    };
    loop {
        // At start, then between batches: retention at most hourly, the WAL every few minutes.
        store.prune_quarantine_if_due();
        store.checkpoint_if_due();
        let Some(first) = inbox.recv() else { break };
        // A reloaded configuration's counter rules apply from the next batch on.
        if let Some(rx) = reload.as_mut()
            && rx.has_changed().unwrap_or(false)
        {
            store.set_settings(rx.borrow_and_update().clone());
            info!(
                "writer: counter rules and plausible flows of the reloaded configuration in force"
            );
            // A corrected well datum derives the stored levels again.
            if let Err(e) = store.rederive_levels() {
                tracing::error!("writer: cannot derive levels with the reloaded datums: {e}");
            }
        }
        let opened = Instant::now();
        let mut readings = weight(&first.decoded);
        batch.push(first);
        // Everything waiting is taken at once; then the writer sleeps for `quiet` and looks
        // again, rather than waking for each message: a steady stream costs a wake-up per step,
        // not per message. Once the batch is `min_delay` old, a step that brought nothing means
        // the burst has ended (or the broker's in-flight window is full, waiting for acks), so
        // a steady trickle is committed a few dozen times a second, not once per gap in it.
        let mut round = 0u32;
        'fill: loop {
            let mut took = false;
            while readings < limits.max_readings {
                match inbox.try_recv() {
                    Ok(env) => {
                        readings += weight(&env.decoded);
                        batch.push(env);
                        took = true;
                    }
                    Err(true) => break,
                    Err(false) => break 'fill,
                }
            }
            let left = limits.max_delay.saturating_sub(opened.elapsed());
            let settled = round > 0 && !took && opened.elapsed() >= limits.min_delay;
            if readings >= limits.max_readings || left.is_zero() || settled {
                break;
            }
            round += 1;
            let to_min = limits.min_delay.saturating_sub(opened.elapsed());
            std::thread::sleep(limits.quiet.max(to_min).min(left));
        }
        let started = Instant::now();
        let outcomes = commit_or_wait(
            &mut store,
            &batch,
            &origin,
            source,
            &mut inbox,
            &rt,
            paused_since,
        )?;
        stats.add(&outcomes);
        stats.last_commit_s = started.elapsed().as_secs_f64();
        stats.last_batch_readings = readings as u64;
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

/// Applies one batch, waiting out a store that refuses it for a while and setting aside the
/// messages it refuses for good (see [`run_writer`]).
fn commit_or_wait<T>(
    store: &mut Store,
    batch: &[Envelope<T>],
    origin: &impl Fn(&T) -> String,
    source: &str,
    inbox: &mut Inbox<T>,
    rt: &tokio::runtime::Runtime,
    paused_since: &AtomicI64,
) -> Result<Vec<Outcome>, WriterError> {
    let received_at = batch.iter().map(|e| e.received_at).max().unwrap_or(0);
    let refs: Vec<&Decoded> = batch.iter().map(|e| &e.decoded).collect();
    let mut paused: Option<Instant> = None;
    let mut last_log = Instant::now();
    let mut wait = crate::domain::Backoff::new(RETRY_FIRST, RETRY_CAP);
    // Once the batch was refused for good, it is applied message by message from then on.
    let mut split = false;
    loop {
        let applied = if split {
            store.apply_each(&refs, |i| origin(&batch[i].token), received_at, source)
        } else {
            store.apply(&refs, received_at, source)
        };
        let err = match applied {
            Ok(outcomes) => {
                paused_since.store(0, Ordering::Relaxed);
                if let Some(since) = paused {
                    info!(
                        waited_s = since.elapsed().as_secs(),
                        "store available again: committing and acknowledging"
                    );
                }
                return Ok(outcomes);
            }
            Err(e) if e.is_fatal() => return Err(WriterError::Fatal(e)),
            Err(e) if !e.is_transient() && !split => {
                warn!(
                    error = %e,
                    messages = batch.len(),
                    "store refused a batch for a reason retrying cannot fix: storing its messages one by one and quarantining the ones it refuses (store_refused)"
                );
                split = true;
                continue;
            }
            Err(e) => e,
        };
        match paused {
            None => {
                error!(
                    error = %err,
                    hint = err.hint(),
                    messages = batch.len() + inbox.held.len(),
                    "store refused a batch: not acknowledging; retrying until it accepts (readings stay with the broker meanwhile)"
                );
                paused = Some(Instant::now());
                paused_since.store(crate::domain::time::now_ts(), Ordering::Relaxed);
                last_log = Instant::now();
            }
            Some(since) if last_log.elapsed() >= PAUSED_LOG_EVERY => {
                error!(
                    error = %err,
                    waited_s = since.elapsed().as_secs(),
                    messages = batch.len() + inbox.held.len(),
                    "store still unavailable"
                );
                last_log = Instant::now();
            }
            Some(_) => {}
        }
        if inbox.stop_seen {
            return Err(WriterError::StoppedPaused {
                cause: err,
                messages: batch.len() + inbox.held.len(),
            });
        }
        inbox.hold_for(rt, wait.next_wait());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Reading;
    use crate::store::Durability;
    use crate::store::apply::tests::settings;

    fn write(ts: i64, token: u32) -> WriterMsg<u32> {
        WriterMsg::Write(Envelope {
            decoded: Decoded {
                readings: vec![Reading::Meter {
                    intake_id: "QX-1".into(),
                    ts,
                    total_m3: ts as f64 / 3600.0,
                }],
                ..Decoded::default()
            },
            received_at: ts,
            token,
        })
    }

    #[test]
    fn a_batch_stays_open_for_its_minimum_age_then_closes_once_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            crate::store::open_store(settings(), &dir.path().join("gwmon.db"), Durability::Normal)
                .unwrap();
        let limits = BatchLimits {
            max_readings: 100,
            max_delay: Duration::from_secs(5),
            min_delay: Duration::from_millis(300),
            quiet: Duration::from_millis(5),
        };
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let (commits_tx, commits) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            let paused = AtomicI64::new(0);
            let setup = WriterSetup {
                limits,
                source: "mqtt",
                paused_since: &paused,
                origin: |t: &u32| t.to_string(),
                reload: None,
            };
            run_writer(store, rx, setup, |done, _| {
                let tokens: Vec<u32> = done.into_iter().map(|(t, _)| t).collect();
                let _ = commits_tx.send((Instant::now(), tokens));
            })
            .unwrap()
        });
        let t0 = Instant::now();
        tx.blocking_send(write(1_767_196_800, 1)).unwrap();
        // The input's timing, well inside the minimum age: the second message joins the batch.
        std::thread::sleep(Duration::from_millis(50));
        tx.blocking_send(write(1_767_200_400, 2)).unwrap();
        let (at, tokens) = commits.recv().unwrap();
        assert_eq!(tokens, [1, 2], "one batch");
        let age = at.duration_since(t0);
        assert!(age >= limits.min_delay, "closed after {age:?}");
        assert!(
            age < limits.max_delay,
            "closed by quiet, not by age: {age:?}"
        );
        tx.blocking_send(WriterMsg::Stop).unwrap();
        let stats = writer.join().unwrap();
        assert_eq!((stats.batches, stats.stored), (1, 2));
    }
}
