//! The raw archive (`gateway_frames`, migrations 6 and 7): every frame a terminal sent, as hex,
//! with when, from where and what became of it, so that an operator can replay a station's
//! frames after fixing its mapping.
//!
//! The archive is bounded in bytes (`[gateway] archive_max_mb`): the thread keeps a running
//! size (the bytes of each row's text columns plus a fixed overhead for the row and its index
//! entries) and, before a batch would pass the bound, deletes the oldest rows first. Strangers
//! can reach the gateway, so its archive must never grow until the store's volume is full and
//! readings can no longer be written.
//!
//! Rows are written by a thread of their own through their own connection, in short immediate
//! transactions (WAL, a busy timeout of a few seconds): the daemon's writer may be in another
//! process, and a reply to a terminal never waits for the archive. When the archive falls
//! behind by more than [`QUEUE`] rows, new rows are dropped and counted rather than holding up
//! the terminals. The same thread deletes rows older than `[gateway] archive_max_age_days`,
//! hourly, in chunks.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::sql::{Db, Sql, SqlExt};
use super::{Durability, StoreError, open_write};
use crate::vals;

/// Rows waiting for the archive thread at most.
pub const QUEUE: usize = 20_000;
/// Rows per transaction at most.
const BATCH: usize = 1000;
/// How long a write waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows deleted per pruning transaction.
const PRUNE_CHUNK: i64 = 10_000;
/// Pruning runs at most this often.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Bytes a row takes beyond its text columns (row header, id, times, two index entries).
const ROW_OVERHEAD: u64 = 64;
/// Rows deleted per eviction statement.
const EVICT_CHUNK: i64 = 1000;
/// SQL: a row's size as [`Row::size`] counts it.
const ROW_SIZE_SQL: &str =
    "length(hex) + length(peer) + length(protocol) + length(station) + length(outcome) + 64";

/// One archived frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub received_at: i64,
    pub peer: String,
    pub protocol: String,
    pub station: String,
    pub hex: String,
    pub outcome: String,
    /// Frames the row stands for: more than 1 for a run of bad-CRC frames from one connection
    /// (the hex is the first of them).
    pub repeats: u32,
}

impl Row {
    /// Bytes the row takes in the store, as the archive's bound counts them.
    pub fn size(&self) -> u64 {
        (self.hex.len()
            + self.peer.len()
            + self.protocol.len()
            + self.station.len()
            + self.outcome.len()) as u64
            + ROW_OVERHEAD
    }
}

/// What the archive thread reports: its size and the rows it deleted to stay within its bound.
#[derive(Debug, Default)]
pub struct ArchiveStats {
    /// Bytes the archive holds, as [`Row::size`] counts them.
    pub bytes: AtomicU64,
    /// Rows deleted (oldest first) to keep within `max_bytes`.
    pub evicted: AtomicU64,
    /// Rows not written because one batch alone was larger than the bound.
    pub refused: AtomicU64,
}

/// Hands rows to the archive thread.
#[derive(Clone)]
pub struct Archive {
    tx: SyncSender<Row>,
    stats: Arc<ArchiveStats>,
}

impl Archive {
    /// Opens the store at `db` (creating and migrating it if needed) and starts the thread,
    /// which keeps rows `max_age_days` and at most `max_bytes`.
    pub fn start(db: &Path, max_age_days: i64, max_bytes: u64) -> Result<Archive, StoreError> {
        // The connection is opened, used and closed on the archive's own thread: PostgreSQL's
        // blocking client must not run on the gateway's async workers.
        let open = |db: &Path| -> Result<(Db, u64), StoreError> {
            let conn = open_write(db, Durability::Normal)?;
            if let Some(c) = conn.sqlite() {
                c.busy_timeout(BUSY_TIMEOUT)?;
            }
            let bytes = size(&conn)?;
            Ok((conn, bytes))
        };
        let stats = Arc::new(ArchiveStats::default());
        let (tx, rx) = sync_channel(QUEUE);
        let (ready_tx, ready) = sync_channel(1);
        let limits = Limits {
            max_age_days,
            max_bytes,
        };
        let thread_stats = Arc::clone(&stats);
        let db = db.to_path_buf();
        std::thread::Builder::new()
            .name("gateway-archive".into())
            .spawn(move || match open(&db) {
                Ok((conn, bytes)) => {
                    thread_stats.bytes.store(bytes, Ordering::Relaxed);
                    let _ = ready_tx.send(Ok(()));
                    writer(conn, rx, limits, &thread_stats);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| StoreError::Runtime(e.to_string()))?;
        ready
            .recv()
            .map_err(|e| StoreError::Runtime(format!("the archive's thread ended: {e}")))??;
        Ok(Archive { tx, stats })
    }

    /// The thread's figures.
    pub fn stats(&self) -> &ArchiveStats {
        &self.stats
    }

    /// Queues a row; false when the archive is behind and the row was dropped.
    pub fn keep(&self, row: Row) -> bool {
        match self.tx.try_send(row) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// How long and how much the archive keeps.
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_age_days: i64,
    max_bytes: u64,
}

/// The archive's size as [`Row::size`] counts it.
pub fn size(conn: &dyn Sql) -> Result<u64, StoreError> {
    let n: i64 = conn.value(
        &format!("SELECT CAST(coalesce(sum({ROW_SIZE_SQL}), 0) AS BIGINT) FROM gateway_frames"),
        &[],
    )?;
    Ok(n.max(0) as u64)
}

/// Deletes the oldest rows until the archive holds at most `target` bytes, given that it holds
/// `size` now; returns (rows deleted, the size after).
pub fn evict(conn: &dyn Sql, mut size: u64, target: u64) -> Result<(u64, u64), StoreError> {
    let mut rows = 0u64;
    while size > target {
        conn.begin()?;
        // The oldest rows, as many as free enough (at most a chunk at a time).
        let oldest: Vec<(i64, i64)> = match conn.rows(
            &format!("SELECT id, {ROW_SIZE_SQL} FROM gateway_frames ORDER BY id LIMIT ?1"),
            vals![EVICT_CHUNK],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ) {
            Ok(rows) => rows,
            Err(e) => {
                conn.rollback();
                return Err(e);
            }
        };
        if oldest.is_empty() {
            conn.commit()?;
            return Ok((rows, 0));
        }
        let mut freed = 0u64;
        let mut last = oldest[0].0;
        let mut n = 0u64;
        for (id, bytes) in &oldest {
            if size - freed <= target {
                break;
            }
            freed += bytes.max(&0).unsigned_abs();
            last = *id;
            n += 1;
        }
        if let Err(e) = conn.exec("DELETE FROM gateway_frames WHERE id <= ?1", vals![last]) {
            conn.rollback();
            return Err(e);
        }
        conn.commit()?;
        rows += n;
        size = size.saturating_sub(freed);
    }
    Ok((rows, size))
}

fn writer(conn: Db, rx: Receiver<Row>, limits: Limits, stats: &ArchiveStats) {
    let max_age_days = limits.max_age_days;
    let mut pruned: Option<Instant> = None;
    let mut failures_logged: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        let mut rows = vec![first];
        while rows.len() < BATCH {
            match rx.try_recv() {
                Ok(r) => rows.push(r),
                Err(_) => break,
            }
        }
        let mut batch: u64 = rows.iter().map(Row::size).sum();
        let mut skip = 0;
        while batch > limits.max_bytes && skip < rows.len() {
            // A bound smaller than one batch: as for the archive, the oldest rows go first.
            batch -= rows[skip].size();
            skip += 1;
        }
        stats.refused.fetch_add(skip as u64, Ordering::Relaxed);
        rows.drain(..skip);
        let held = stats.bytes.load(Ordering::Relaxed);
        if held + batch > limits.max_bytes {
            // Room for the batch and a tenth of the bound, so that eviction is not run for
            // every batch once the archive is full.
            let target = (limits.max_bytes - batch).saturating_sub(limits.max_bytes / 10);
            match evict(&conn, held, target) {
                Ok((n, after)) => {
                    stats.evicted.fetch_add(n, Ordering::Relaxed);
                    stats.bytes.store(after, Ordering::Relaxed);
                }
                Err(e) => {
                    warn!(error = %e, "gateway archive: cannot delete its oldest rows; the new ones are not written");
                    stats
                        .refused
                        .fetch_add(rows.len() as u64, Ordering::Relaxed);
                    continue;
                }
            }
        }
        match insert(&conn, &rows) {
            Ok(()) => {
                stats.bytes.fetch_add(batch, Ordering::Relaxed);
            }
            Err(e) if failures_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) => {
                failures_logged = Some(Instant::now());
                warn!(error = %e, rows = rows.len(), "gateway archive: rows not written (the frames were handled; only their raw copy is missing)");
            }
            Err(_) => {}
        }
        if pruned.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            pruned = Some(Instant::now());
            match prune(&conn, crate::domain::time::now_ts(), max_age_days) {
                Ok(0) => {}
                Ok(n) => {
                    info!(rows = n, max_age_days, "gateway archive pruned");
                    if let Ok(b) = size(&conn) {
                        stats.bytes.store(b, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    warn!(error = %e, "gateway archive: pruning failed; will try again in an hour")
                }
            }
        }
    }
}

/// Inserts rows in one immediate transaction.
pub fn insert(conn: &dyn Sql, rows: &[Row]) -> Result<(), StoreError> {
    conn.in_transaction(|tx| {
        for r in rows {
            tx.exec(
                "INSERT INTO gateway_frames (received_at, peer, protocol, station, hex, outcome, repeats) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                vals![
                    r.received_at,
                    &r.peer,
                    &r.protocol,
                    &r.station,
                    &r.hex,
                    &r.outcome,
                    r.repeats
                ],
            )?;
        }
        Ok(())
    })
}

/// Deletes rows received before `now − max_age_days`, in chunks; returns how many.
pub fn prune(conn: &dyn Sql, now: i64, max_age_days: i64) -> Result<u64, StoreError> {
    let cutoff = now.saturating_sub(max_age_days.saturating_mul(86_400));
    let mut deleted = 0u64;
    loop {
        let n = conn.in_transaction(|tx| {
            tx.exec(
                "DELETE FROM gateway_frames WHERE id IN (SELECT id FROM gateway_frames WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)",
                vals![cutoff, PRUNE_CHUNK],
            )
        })?;
        deleted += n;
        if (n as i64) < PRUNE_CHUNK {
            return Ok(deleted);
        }
    }
}

/// A station's archived frames received at or after `since`, oldest first.
pub fn frames_of(conn: &dyn Sql, station: &str, since: i64) -> Result<Vec<Row>, StoreError> {
    conn.rows(
        "SELECT received_at, peer, protocol, station, hex, outcome, repeats FROM gateway_frames WHERE station = ?1 AND received_at >= ?2 ORDER BY received_at, id",
        vals![station, since],
        |r| {
        Ok(Row {
            received_at: r.get(0)?,
            peer: r.get(1)?,
            protocol: r.get(2)?,
            station: r.get(3)?,
            hex: r.get(4)?,
            outcome: r.get(5)?,
            repeats: r.get(6)?,
        })
    },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_rw;
    use rusqlite::Connection;

    const NOW: i64 = 1_772_323_200;

    fn row(age_days: i64, station: &str) -> Row {
        Row {
            received_at: NOW - age_days * 86_400,
            peer: "10.0.0.1:5000".into(),
            protocol: "sl651".into(),
            station: station.into(),
            hex: "7E7E".into(),
            outcome: "published".into(),
            repeats: 1,
        }
    }

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_rw(&dir.path().join("a.db"), Durability::Normal).unwrap();
        (dir, conn)
    }

    #[test]
    fn rows_are_kept_found_by_station_and_pruned_by_age() {
        let (_dir, conn) = store();
        insert(
            &conn,
            &[row(100, "A"), row(5, "A"), row(1, "B"), row(0, "A")],
        )
        .unwrap();
        let a = frames_of(&conn, "A", NOW - 10 * 86_400).unwrap();
        assert_eq!(
            a.iter().map(|r| r.received_at).collect::<Vec<_>>(),
            [NOW - 5 * 86_400, NOW]
        );
        assert_eq!(prune(&conn, NOW, 90).unwrap(), 1);
        assert_eq!(frames_of(&conn, "A", 0).unwrap().len(), 2);
    }

    #[test]
    fn the_thread_writes_what_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        let a = Archive::start(&db, 90, 1 << 30).unwrap();
        // Received now: the thread prunes by the wall clock before it waits for more rows.
        let mut r = row(0, "C");
        r.received_at = crate::domain::time::now_ts();
        assert!(a.keep(r));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let conn = Connection::open(&db).unwrap();
            if frames_of(&conn, "C", 0).map(|r| r.len()).unwrap_or(0) == 1 {
                break;
            }
            assert!(Instant::now() < deadline, "row not written");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_archive_stays_within_its_bound_oldest_rows_first() {
        let (_dir, conn) = store();
        let rows: Vec<Row> = (0..100).map(|i| row(100 - i, "A")).collect();
        insert(&conn, &rows).unwrap();
        let held = size(&conn).unwrap();
        assert_eq!(held, rows.iter().map(Row::size).sum::<u64>());
        let one = rows[0].size();
        let (n, after) = evict(&conn, held, 40 * one).unwrap();
        assert_eq!(n, 60);
        assert_eq!(after, 40 * one);
        assert_eq!(size(&conn).unwrap(), after);
        // The newest 40 are left.
        let left = frames_of(&conn, "A", 0).unwrap();
        assert_eq!(left.first().unwrap().received_at, NOW - 40 * 86_400);
    }

    #[test]
    fn the_thread_evicts_before_it_writes_past_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        let base = crate::domain::time::now_ts();
        let one = row(0, "D").size();
        let a = Archive::start(&db, 90, 10 * one).unwrap();
        for i in 0..25 {
            let mut r = row(0, "D");
            r.received_at = base + i;
            assert!(a.keep(r));
        }
        // Rows are written in the order given: the last one in means all were handled.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let conn = Connection::open(&db).unwrap();
            let newest: Option<i64> = conn
                .query_row("SELECT max(received_at) FROM gateway_frames", [], |r| {
                    r.get(0)
                })
                .unwrap();
            if newest == Some(base + 24) {
                assert!(size(&conn).unwrap() <= 10 * one);
                // Deleted from the store, or never written when one batch was over the bound.
                let st = a.stats();
                let gone = st.evicted.load(Ordering::Relaxed) + st.refused.load(Ordering::Relaxed);
                assert!(gone >= 15, "{gone}");
                break;
            }
            assert!(Instant::now() < deadline, "rows not written");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
