//! Schema migrations, numbered by `PRAGMA user_version`.
//!
//! Migration *n* brings a store from version *n − 1* to *n*; a new store runs them all. Each one
//! runs in the same immediate transaction as the `user_version` update that records it, so a crash
//! leaves the store at the previous version, never half-way. A store whose version is higher than
//! [`SCHEMA_VERSION`] was written by a newer gwmon and is refused: this build would not know what
//! its tables mean.
//!
//! `rusqlite_migration` does this too, but its releases pin an older rusqlite (its `libsqlite3-sys`
//! cannot link beside ours), and the whole job is the short loop below.

use rusqlite::{Connection, TransactionBehavior};

/// The migrations, in order: `MIGRATIONS[0]` is migration 1. Append, never edit: a store that
/// already ran a migration never runs it again.
const MIGRATIONS: &[&str] = &[
    // 1: the schema of the first release (`schema.sql` at the repository root).
    include_str!("../../schema.sql"),
    // 2: which days each intake reported (completeness of a year's withdrawal).
    include_str!("../../migrations/002_reported_days.sql"),
    // 3: one quarantine row per refused message (`elements`), and an index for retention.
    include_str!("../../migrations/003_quarantine_elements.sql"),
    // 4: quarantine rows found by origin (an import run twice does not add its rows again).
    include_str!("../../migrations/004_quarantine_origin.sql"),
    // 5: access tokens of the web view (`gwmon token`), kept as hashes.
    include_str!("../../migrations/005_access_tokens.sql"),
    // 6: the gateway's raw archive of field-terminal frames (`gwmon gateway replay`).
    include_str!("../../migrations/006_gateway_frames.sql"),
    // 7: an archive row may stand for a run of bad-CRC frames (`repeats`).
    include_str!("../../migrations/007_gateway_frames_repeats.sql"),
    // 8: meter replacements entered by hand.
    include_str!("../../migrations/008_meter_replacements.sql"),
    // 9: electricity of users below the metering duty (以电折水).
    include_str!("../../migrations/009_electricity.sql"),
    // 10: what a terminal sent for each level reading, and the datums levels were derived with.
    include_str!("../../migrations/010_level_sent.sql"),
    // 11: partial indexes for the last imported metered day and for flagged volume.
    include_str!("../../migrations/011_daily_volume_partial_indexes.sql"),
];

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Why a store's schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("schema version {0}, this gwmon understands up to {SCHEMA_VERSION}: upgrade gwmon")]
    Newer(i64),
    #[error("migration to schema version {version}: {source}")]
    Failed {
        version: i64,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// The store's schema version.
pub fn user_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Refuses a store written by a newer gwmon.
pub fn check_not_newer(conn: &Connection) -> Result<i64, MigrateError> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(MigrateError::Newer(found));
    }
    Ok(found)
}

/// Runs the migrations the store has not run yet. An up-to-date store is only read, so opening
/// it takes no write lock.
pub fn to_latest(conn: &mut Connection) -> Result<(), MigrateError> {
    if check_not_newer(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the write lock: another process may have migrated in between.
    let found = check_not_newer(&tx)?;
    for (done, sql) in (found..).zip(&MIGRATIONS[found as usize..]) {
        let version = done + 1;
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", version))
            .map_err(|source| MigrateError::Failed { version, source })?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut st = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The questions `status` asks of daily_volume beyond its key are answered from the
    /// partial indexes (named in the queries: SQLite's planner prefers the primary key and
    /// then reads every day of every intake), and the indexes match the queries' terms.
    #[test]
    fn status_lookups_use_the_partial_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        to_latest(&mut conn).unwrap();
        let plan = |sql: &str| -> String {
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            st.query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let last = plan(
            "SELECT max(day) FROM daily_volume INDEXED BY daily_volume_imported
             WHERE intake_id = 'A' AND day <= '2026-06-30' AND source = 'import' AND measured_s > 0",
        );
        assert!(last.contains("daily_volume_imported"), "{last}");
        let flagged = plan(
            "SELECT intake_id, sum(flagged_m3) FROM daily_volume INDEXED BY daily_volume_flagged
             WHERE day >= '2025-01-01' AND day <= '2026-06-30' AND flagged_m3 > 0 GROUP BY 1",
        );
        assert!(flagged.contains("daily_volume_flagged"), "{flagged}");
    }

    #[test]
    fn a_new_store_runs_every_migration() {
        let mut conn = Connection::open_in_memory().unwrap();
        to_latest(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        for t in [
            "meter_readings",
            "level_readings",
            "quarantine",
            "daily_volume",
            "gateway_frames",
        ] {
            assert!(tables(&conn).iter().any(|n| n == t), "{t} missing");
        }
    }

    #[test]
    fn running_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        to_latest(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO meter_readings VALUES ('QX-1', 1767225600, 12.5, 1767225600, 'mqtt')",
            [],
        )
        .unwrap();
        to_latest(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM meter_readings", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_newer_store_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = to_latest(&mut conn).unwrap_err();
        assert!(matches!(err, MigrateError::Newer(v) if v == SCHEMA_VERSION + 1));
        assert!(err.to_string().contains("upgrade gwmon"), "{err}");
        assert!(tables(&conn).is_empty());
    }
}
