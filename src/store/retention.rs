//! Retention of the quarantine table (`[quarantine]`): rows older than `max_age_days` go, then the
//! oldest beyond `max_rows`.
//!
//! Deletes run in chunks of [`CHUNK_ROWS`], each its own immediate transaction, so that pruning a
//! large backlog never holds the write lock for long: an import beside the daemon, or the
//! writer's next batch, waits at most one chunk.

use std::time::{Duration, Instant};

#[cfg(test)]
use rusqlite::Connection;
use tracing::{info, warn};

use super::sql::{Sql, SqlExt, Val};
use super::{Store, StoreError};
use crate::config::QuarantineConfig;
use crate::vals;

/// Rows deleted per transaction.
pub const CHUNK_ROWS: i64 = 10_000;
/// The daemon prunes at most this often.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often the writer checkpoints the WAL between batches.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(300);

/// Deletes quarantine rows received before `now − max_age_days`, then the oldest rows beyond
/// `max_rows`. Returns how many rows were deleted.
pub fn prune_quarantine(
    conn: &dyn Sql,
    now: i64,
    settings: &QuarantineConfig,
) -> Result<u64, StoreError> {
    let cutoff = now.saturating_sub(settings.max_age_days.saturating_mul(86_400));
    let mut deleted = 0u64;
    loop {
        let n = in_chunk(
            conn,
            "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine WHERE received_at < ?1 ORDER BY received_at LIMIT ?2)",
            vals![cutoff, CHUNK_ROWS],
        )?;
        deleted += n;
        if n < CHUNK_ROWS as u64 {
            break;
        }
    }
    loop {
        let rows: i64 = conn.value("SELECT count(*) FROM quarantine", &[])?;
        let excess = rows - settings.max_rows;
        if excess <= 0 {
            break;
        }
        let n = in_chunk(
            conn,
            "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine ORDER BY received_at, id LIMIT ?1)",
            vals![excess.min(CHUNK_ROWS)],
        )?;
        deleted += n;
        if n == 0 {
            break;
        }
    }
    Ok(deleted)
}

/// Runs one delete in its own immediate transaction.
fn in_chunk(conn: &dyn Sql, sql: &str, params: &[Val<'_>]) -> Result<u64, StoreError> {
    conn.in_transaction(|tx| tx.exec(sql, params))
}

/// When the writer last pruned.
#[derive(Debug, Default)]
pub(crate) struct PruneClock {
    last: Option<Instant>,
    /// When the WAL was last checkpointed by [`Store::checkpoint_if_due`].
    checkpointed: Option<Instant>,
}

impl Store {
    /// Copies the WAL into the store at most every few minutes (a passive checkpoint, which
    /// never waits for readers), so that the next write starts the WAL again from its beginning
    /// and `journal_size_limit` cuts the file back: the WAL stays small while the daemon runs,
    /// and a store copied between checkpoints carries little uncommitted to the main file.
    pub fn checkpoint_if_due(&mut self) {
        if self
            .pruned
            .checkpointed
            .is_some_and(|t| t.elapsed() < CHECKPOINT_EVERY)
        {
            return;
        }
        self.pruned.checkpointed = Some(Instant::now());
        let Some(conn) = self.conn.sqlite() else {
            return;
        };
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            warn!(error = %e, "could not checkpoint the store's WAL; will try again");
        }
    }

    /// Prunes the quarantine table by the store's `[quarantine]` settings if it was not done in
    /// the last hour (or ever, by this store): the writer calls this between batches. A failure
    /// is logged, not returned: retention can wait for the next hour, ingest should not stop.
    pub fn prune_quarantine_if_due(&mut self) {
        if self.pruned.last.is_some_and(|t| t.elapsed() < PRUNE_EVERY) {
            return;
        }
        self.pruned.last = Some(Instant::now());
        let now = crate::domain::time::now_ts();
        match prune_quarantine(&self.conn, now, &self.settings.quarantine) {
            Ok(0) => {}
            Ok(n) => info!(
                rows = n,
                max_age_days = self.settings.quarantine.max_age_days,
                max_rows = self.settings.quarantine.max_rows,
                "quarantine pruned"
            ),
            Err(e) => {
                warn!(error = %e, "could not prune the quarantine table; will try again in an hour")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_772_323_200;
    const DAY: i64 = 86_400;

    fn store_with(ages_days: &[i64]) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate::to_latest(&mut conn).unwrap();
        let mut st = conn
            .prepare(
                "INSERT INTO quarantine (received_at, origin, payload, reason_code, reason) VALUES (?1, 'gw/x', x'', 'bad_field', 'r')",
            )
            .unwrap();
        for age in ages_days {
            st.execute([NOW - age * DAY]).unwrap();
        }
        drop(st);
        conn
    }

    fn ages(conn: &Connection) -> Vec<i64> {
        conn.prepare(
            "SELECT (?1 - received_at) / 86400 FROM quarantine ORDER BY received_at DESC, id",
        )
        .unwrap()
        .query_map([NOW], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn settings(max_age_days: i64, max_rows: i64) -> QuarantineConfig {
        QuarantineConfig {
            max_age_days,
            max_rows,
        }
    }

    #[test]
    fn rows_older_than_the_age_limit_go() {
        let conn = store_with(&[0, 10, 89, 90, 91, 400]);
        let n = prune_quarantine(&conn, NOW, &settings(90, 100)).unwrap();
        assert_eq!(n, 2);
        assert_eq!(ages(&conn), [0, 10, 89, 90]);
    }

    #[test]
    fn the_newest_rows_are_kept_up_to_the_row_limit() {
        let conn = store_with(&[5, 1, 3, 2, 4, 0]);
        let n = prune_quarantine(&conn, NOW, &settings(90, 4)).unwrap();
        assert_eq!(n, 2);
        assert_eq!(ages(&conn), [0, 1, 2, 3]);
        assert_eq!(prune_quarantine(&conn, NOW, &settings(90, 4)).unwrap(), 0);
    }

    #[test]
    fn a_large_backlog_is_deleted_in_chunks() {
        let n_rows = 2 * CHUNK_ROWS + 17;
        let conn = store_with(&vec![100; n_rows as usize]);
        conn.execute_batch("INSERT INTO quarantine (received_at, origin, payload, reason_code, reason) SELECT received_at + 99 * 86400, origin, payload, reason_code, reason FROM quarantine")
            .unwrap();
        // Half too old, half recent; of the recent half, the row limit keeps 5.
        let n = prune_quarantine(&conn, NOW, &settings(90, 5)).unwrap();
        assert_eq!(n as i64, 2 * n_rows - 5);
        assert_eq!(ages(&conn), [1, 1, 1, 1, 1]);
    }

    /// After a checkpoint the WAL is cut back to the limit at the next write, however large a
    /// burst made it.
    #[test]
    fn the_wal_is_cut_back_after_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwmon.db");
        let mut store = crate::store::open_store(
            crate::store::apply::tests::settings(),
            &path,
            crate::store::Durability::Normal,
        )
        .unwrap();
        let wal = || std::fs::metadata(dir.path().join("gwmon.db-wal")).map_or(0, |m| m.len());
        // A burst larger than the limit in one transaction: the WAL grows past it.
        store
            .conn()
            .execute_batch(
                "CREATE TABLE filler (b BLOB);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
                 INSERT INTO filler SELECT randomblob(4096) FROM n;",
            )
            .unwrap();
        assert!(
            wal() > crate::store::WAL_SIZE_LIMIT_BYTES as u64,
            "{}",
            wal()
        );
        store.checkpoint_if_due();
        store
            .conn()
            .execute_batch("DELETE FROM filler WHERE rowid = 1")
            .unwrap();
        assert!(
            wal() <= crate::store::WAL_SIZE_LIMIT_BYTES as u64,
            "{}",
            wal()
        );
    }
}
