//! The SQLite store: schema, the batch writer, and read helpers.
//!
//! One writer owns the read-write connection (in the daemon, on its own thread — see
//! [`writer`]); readers (status, report) open their own connections, which WAL lets run beside
//! the writer.

mod apply;
pub mod coverage;
pub mod query;
pub mod writer;

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use crate::config::Config;

pub use apply::{Outcome, Store};

/// The schema, applied on open.
pub const SCHEMA: &str = include_str!("../../schema.sql");
/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Store failures. Any of these on the writer is fatal for the daemon: nothing is acked, so the
/// broker redelivers after a restart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("cannot create the folder for the database {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "database {path} has schema version {found}, this gwmon understands up to {SCHEMA_VERSION}: upgrade gwmon"
    )]
    NewerSchema { path: String, found: i64 },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot start the writer's timer: {0}")]
    Runtime(String),
}

/// Page cache of the writer connection, KiB.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
/// WAL pages between automatic checkpoints (4 KiB pages: ≈ 32 MB of WAL).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 8000;

/// How hard commits are pushed to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every commit: an acked reading survives power loss (the daemon).
    Full,
    /// WAL default: survives a process crash, not power loss (re-runnable imports, benchmarks).
    Normal,
}

/// Opens (creating if needed) the database read-write and applies the schema.
pub fn open_rw(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let p = path.display().to_string();
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
            path: p.clone(),
            source,
        })?;
    }
    let conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: p.clone(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        },
    )?;
    // A page cache big enough for a batch's working set over thousands of intakes: with
    // SQLite's 2 MB default, pages spill to the WAL mid-transaction and are read back.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    // Fewer, larger checkpoints: hot pages (daily and monthly rows, index roots) are copied
    // back once per checkpoint instead of after every 1000 WAL pages.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { path: p, found });
    }
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Opens the database read-only for queries; it must exist.
pub fn open_ro(path: &Path) -> Result<Connection, StoreError> {
    let p = path.display().to_string();
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open {
        path: format!("{p} (run `gwmon run` or `gwmon import` first to create it)"),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// Opens the writer's store for this config.
pub fn open_store(
    cfg: Arc<Config>,
    path: &Path,
    durability: Durability,
) -> Result<Store, StoreError> {
    Ok(Store::new(open_rw(path, durability)?, cfg))
}

/// Row counts of the raw tables, for summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub meter_readings: i64,
    pub level_readings: i64,
    pub quarantined: i64,
}

/// Counts rows of the raw tables.
pub fn counts(conn: &Connection) -> Result<Counts, StoreError> {
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    Ok(Counts {
        meter_readings: one("SELECT count(*) FROM meter_readings")?,
        level_readings: one("SELECT count(*) FROM level_readings")?,
        quarantined: one("SELECT count(*) FROM quarantine")?,
    })
}
