//! The raw archive (`gateway_frames`, migration 6): every frame a terminal sent, as hex, with
//! when, from where and what became of it, so that an operator can replay a station's frames
//! after fixing its mapping.
//!
//! Rows are written by a thread of their own through their own connection, in short immediate
//! transactions (WAL, a busy timeout of a few seconds): the daemon's writer may be in another
//! process, and a reply to a terminal never waits for the archive. When the archive falls
//! behind by more than [`QUEUE`] rows, new rows are dropped and counted rather than holding up
//! the terminals. The same thread deletes rows older than `[gateway] archive_max_age_days`,
//! hourly, in chunks.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, params};
use tracing::{info, warn};

use super::{Durability, StoreError, open_rw};

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

/// One archived frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub received_at: i64,
    pub peer: String,
    pub protocol: String,
    pub station: String,
    pub hex: String,
    pub outcome: String,
}

/// Hands rows to the archive thread.
#[derive(Clone)]
pub struct Archive {
    tx: SyncSender<Row>,
}

impl Archive {
    /// Opens the store at `db` (creating and migrating it if needed) and starts the thread.
    pub fn start(db: &Path, max_age_days: i64) -> Result<Archive, StoreError> {
        let conn = open_rw(db, Durability::Normal)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("gateway-archive".into())
            .spawn(move || writer(conn, rx, max_age_days))
            .map_err(|e| StoreError::Runtime(e.to_string()))?;
        Ok(Archive { tx })
    }

    /// Queues a row; false when the archive is behind and the row was dropped.
    pub fn keep(&self, row: Row) -> bool {
        match self.tx.try_send(row) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

fn writer(mut conn: Connection, rx: Receiver<Row>, max_age_days: i64) {
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
        if let Err(e) = insert(&mut conn, &rows)
            && failures_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            failures_logged = Some(Instant::now());
            warn!(error = %e, rows = rows.len(), "gateway archive: rows not written (the frames were handled; only their raw copy is missing)");
        }
        if pruned.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            pruned = Some(Instant::now());
            match prune(&mut conn, crate::domain::time::now_ts(), max_age_days) {
                Ok(0) => {}
                Ok(n) => info!(rows = n, max_age_days, "gateway archive pruned"),
                Err(e) => {
                    warn!(error = %e, "gateway archive: pruning failed; will try again in an hour")
                }
            }
        }
    }
}

/// Inserts rows in one immediate transaction.
pub fn insert(conn: &mut Connection, rows: &[Row]) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO gateway_frames (received_at, peer, protocol, station, hex, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in rows {
            st.execute(params![
                r.received_at,
                r.peer,
                r.protocol,
                r.station,
                r.hex,
                r.outcome
            ])?;
        }
    }
    tx.commit()
}

/// Deletes rows received before `now − max_age_days`, in chunks; returns how many.
pub fn prune(conn: &mut Connection, now: i64, max_age_days: i64) -> Result<u64, rusqlite::Error> {
    let cutoff = now.saturating_sub(max_age_days.saturating_mul(86_400));
    let mut deleted = 0u64;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "DELETE FROM gateway_frames WHERE id IN (SELECT id FROM gateway_frames WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)",
            params![cutoff, PRUNE_CHUNK],
        )?;
        tx.commit()?;
        deleted += n as u64;
        if (n as i64) < PRUNE_CHUNK {
            return Ok(deleted);
        }
    }
}

/// A station's archived frames received at or after `since`, oldest first.
pub fn frames_of(
    conn: &Connection,
    station: &str,
    since: i64,
) -> Result<Vec<Row>, rusqlite::Error> {
    let mut st = conn.prepare(
        "SELECT received_at, peer, protocol, station, hex, outcome FROM gateway_frames WHERE station = ?1 AND received_at >= ?2 ORDER BY received_at, id",
    )?;
    st.query_map(params![station, since], |r| {
        Ok(Row {
            received_at: r.get(0)?,
            peer: r.get(1)?,
            protocol: r.get(2)?,
            station: r.get(3)?,
            hex: r.get(4)?,
            outcome: r.get(5)?,
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_772_323_200;

    fn row(age_days: i64, station: &str) -> Row {
        Row {
            received_at: NOW - age_days * 86_400,
            peer: "10.0.0.1:5000".into(),
            protocol: "sl651".into(),
            station: station.into(),
            hex: "7E7E".into(),
            outcome: "published".into(),
        }
    }

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_rw(&dir.path().join("a.db"), Durability::Normal).unwrap();
        (dir, conn)
    }

    #[test]
    fn rows_are_kept_found_by_station_and_pruned_by_age() {
        let (_dir, mut conn) = store();
        insert(
            &mut conn,
            &[row(100, "A"), row(5, "A"), row(1, "B"), row(0, "A")],
        )
        .unwrap();
        let a = frames_of(&conn, "A", NOW - 10 * 86_400).unwrap();
        assert_eq!(
            a.iter().map(|r| r.received_at).collect::<Vec<_>>(),
            [NOW - 5 * 86_400, NOW]
        );
        assert_eq!(prune(&mut conn, NOW, 90).unwrap(), 1);
        assert_eq!(frames_of(&conn, "A", 0).unwrap().len(), 2);
    }

    #[test]
    fn the_thread_writes_what_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        let a = Archive::start(&db, 90).unwrap();
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
}
