//! The SQLite store: schema and migrations, the batch writer, and read helpers.
//!
//! One writer owns the read-write connection (in the daemon, on its own thread — see
//! [`writer`]); readers (status, report) open their own connections, which WAL lets run beside
//! the writer. What the writer needs from the configuration (the local clock and the counter
//! rules) comes in one [`StoreSettings`].
//!
//! Files: `apply` inserts raw readings under idempotent keys (a redelivery is a no-op, the same
//! key with another value is quarantined as a conflict); `volume_rollup` and `level_rollup` keep
//! the daily, monthly and running yearly tables current in the same transaction; `migrate`
//! versions the schema; the read side is by subject — `volumes`, `levels`, `devices` (last
//! readings, long gaps, quarantine, devices the registry does not know); `retention` prunes the
//! quarantine table; `tokens` keeps the web view's
//! access tokens; `frame_archive` is the gateway's raw archive of terminal frames, with its own writer
//! thread and retention.
//!
//! The schema is versioned with `PRAGMA user_version` through numbered migrations ([`migrate`]).
//! `schema.sql` at the repository root is migration 1, the schema as first released, and stays
//! as it is: a later schema change is a new file `migrations/NNN_what.sql` appended to the list
//! in `migrate.rs`, so every store, old or new, reaches the same schema by the same steps. A store
//! with a newer version than this build knows is refused, by writers and readers alike.

pub(crate) mod apply;
pub mod backup;
pub mod devices;
pub mod frame_archive;
mod level_rollup;
pub mod levels;
mod migrate;
pub mod pg;
pub mod retention;
mod settings;
pub mod sql;
pub mod tokens;
mod volume_rollup;
pub mod volumes;
pub mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use sql::SqlExt;

pub use apply::{Outcome, Store};
pub use migrate::SCHEMA_VERSION;
pub use settings::StoreSettings;

use migrate::MigrateError;

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
    #[error("database {path}: migration to schema version {version} failed: {source}")]
    Migration {
        path: String,
        version: i64,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", pg_detail(.0))]
    Pg(#[from] postgres::Error),
    #[error("cannot start the writer's timer: {0}")]
    Runtime(String),
    #[error("{0}")]
    PgOpen(#[from] pg::PgError),
}

impl StoreError {
    /// True when waiting cannot help: the file is not a database or is corrupt, or belongs to a
    /// newer gwmon. A busy lock, a full disk or an I/O error may clear, and a writer waits them out.
    pub fn is_fatal(&self) -> bool {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        let sql = match self {
            StoreError::NewerSchema { .. } | StoreError::Runtime(_) => return true,
            StoreError::PgOpen(e) => return matches!(e, pg::PgError::Newer(_)),
            StoreError::Folder { .. } | StoreError::Pg(_) => return false,
            StoreError::Open { source, .. } | StoreError::Migration { source, .. } => source,
            StoreError::Sql(e) => e,
        };
        matches!(
            sql.sqlite_error_code(),
            Some(DatabaseCorrupt | NotADatabase)
        )
    }

    /// True when time can fix the error: another process holding the write lock, a full disk,
    /// a permission or I/O problem, a folder that cannot be created. A writer pauses and retries
    /// these. An error that is neither this nor [fatal](Self::is_fatal) (a constraint, a type
    /// mismatch, a bug) is the data's: retrying the same batch fails the same way, so the
    /// writer sets the refused message aside instead ([`Store::apply_each`]).
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode::{
            CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, FileLockingProtocolFailed,
            OutOfMemory, PermissionDenied, ReadOnly, SystemIoFailure,
        };
        let sql = match self {
            StoreError::Folder { .. } => return true,
            StoreError::Pg(e) => return pg_transient(e),
            StoreError::PgOpen(pg::PgError::Connect { .. }) => return true,
            StoreError::PgOpen(pg::PgError::Pg(e)) => return pg_transient(e),
            StoreError::PgOpen(_) => return false,
            StoreError::NewerSchema { .. } | StoreError::Runtime(_) => return false,
            StoreError::Open { .. } => return !self.is_fatal(),
            StoreError::Migration { source, .. } | StoreError::Sql(source) => source,
        };
        matches!(
            sql.sqlite_error_code(),
            Some(
                DatabaseBusy
                    | DatabaseLocked
                    | DiskFull
                    | SystemIoFailure
                    | CannotOpen
                    | PermissionDenied
                    | ReadOnly
                    | OutOfMemory
                    | FileLockingProtocolFailed
            )
        )
    }

    /// What an operator can do about an error the writer waits out, in plain words.
    pub fn hint(&self) -> &'static str {
        use rusqlite::ErrorCode::{
            CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, PermissionDenied, ReadOnly,
            SystemIoFailure,
        };
        let code = match self {
            StoreError::Open { source, .. } | StoreError::Migration { source, .. } => {
                source.sqlite_error_code()
            }
            StoreError::Sql(e) => e.sqlite_error_code(),
            StoreError::Folder { .. } => {
                return "the store's folder cannot be created: check the path and its permissions";
            }
            StoreError::Pg(_) | StoreError::PgOpen(_) => {
                return "PostgreSQL cannot be reached or is busy: check that the server runs and accepts this user; gwmon reconnects by itself";
            }
            _ => None,
        };
        match code {
            Some(DatabaseBusy | DatabaseLocked) => {
                "another process holds the store's write lock (a long import, a sqlite3 shell): gwmon goes on when it lets go"
            }
            Some(DiskFull) => "the disk holding the store is full: free space on it",
            Some(CannotOpen | PermissionDenied | ReadOnly) => {
                "the store or its folder cannot be written: check that it exists and belongs to the user gwmon runs as"
            }
            Some(SystemIoFailure) => {
                "the disk reports an I/O error: check the disk and its free space"
            }
            _ => "see the error; gwmon retries by itself",
        }
    }

    fn from_migrate(path: String, e: MigrateError) -> Self {
        match e {
            MigrateError::Newer(found) => StoreError::NewerSchema { path, found },
            MigrateError::Failed { version, source } => StoreError::Migration {
                path,
                version,
                source,
            },
            MigrateError::Sql(e) => StoreError::Sql(e),
        }
    }
}

/// A PostgreSQL error with the server's message, detail and hint where it sent them.
fn pg_detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(&format!("; {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => e.to_string(),
    }
}

/// True for PostgreSQL errors time can fix: a lost connection, a server shutting down or out of
/// connections or disk, a serialisation failure or a deadlock (the transaction is retried whole).
fn pg_transient(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    match e.code() {
        None => e.is_closed() || e.as_db_error().is_none(),
        Some(c) => {
            let class = &c.code()[..2];
            // 08 connection, 53 resources, 57 operator intervention (shutdown), 40 rollbacks.
            matches!(class, "08" | "53" | "57" | "40") || *c == SqlState::LOCK_NOT_AVAILABLE
        }
    }
}

/// Page cache of the writer connection, KiB.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
/// WAL pages between automatic checkpoints (4 KiB pages: ≈ 32 MB of WAL).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 8000;
/// What the WAL file is cut back to once a checkpoint has copied it into the store: without a
/// limit SQLite reuses the file but never shrinks it, and it stays at its largest size beside a
/// store a tenth of it.
pub const WAL_SIZE_LIMIT_BYTES: i64 = 16 << 20;

/// How hard commits are pushed to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every commit: an acked reading survives power loss (the daemon).
    Full,
    /// WAL default: survives a process crash, not power loss (re-runnable imports, benchmarks).
    Normal,
}

/// The PostgreSQL URL when `db` names one (`postgres://…` or `postgresql://…`, from `[store] url`,
/// `--db` or `GWMON_DB`); `None` for a SQLite file.
pub fn postgres_url(db: &Path) -> Option<&str> {
    let s = db.to_str()?;
    (s.starts_with("postgres://") || s.starts_with("postgresql://")).then_some(s)
}

/// The store at `db` as an operator reads it in messages: a path, or a URL without its password.
pub fn describe(db: &Path) -> String {
    match postgres_url(db) {
        Some(url) => pg::redact(url),
        None => db.display().to_string(),
    }
}

/// Connects to a PostgreSQL store and brings its schema up to date.
pub fn open_pg(url: &str) -> Result<sql::PgConn, StoreError> {
    Ok(sql::PgConn::new(pg::open(url)?))
}

/// A number that moves whenever the store may have changed since it was last read through
/// `conn`: SQLite's `data_version` (another connection committed); on PostgreSQL the next
/// transaction id the server will assign (any write anywhere on the server moves it, so a cache
/// keyed on it is rebuilt at worst too often, never too rarely).
pub fn data_version(conn: &sql::Db) -> Result<i64, StoreError> {
    match conn {
        sql::Db::Lite(c) => Ok(c.pragma_query_value(None, "data_version", |r| r.get(0))?),
        sql::Db::Pg(_) => conn.value(
            "SELECT CAST(CAST(pg_snapshot_xmax(pg_current_snapshot()) AS TEXT) AS BIGINT)",
            &[],
        ),
    }
}

/// True when there is a store at `db` to read: a SQLite file that exists, or any PostgreSQL URL
/// (opening it says whether it can be reached).
pub fn exists(db: &Path) -> bool {
    postgres_url(db).is_some() || db.exists()
}

/// Opens the store at `db` for reading, whichever backend it is on.
pub fn open_read(db: &Path) -> Result<sql::Db, StoreError> {
    Ok(match postgres_url(db) {
        Some(url) => open_pg(url)?.into(),
        None => sql::Db::Lite(open_ro(db)?),
    })
}

/// Opens (creating if needed) the store at `db` for writing, whichever backend it is on.
pub fn open_write(db: &Path, durability: Durability) -> Result<sql::Db, StoreError> {
    Ok(match postgres_url(db) {
        Some(url) => open_pg(url)?.into(),
        None => sql::Db::Lite(open_rw(db, durability)?),
    })
}

/// Opens (creating if needed) the database read-write and brings its schema up to date.
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
    let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
        path: p.clone(),
        source,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // Refuse a newer store before changing anything about it, its journal mode included.
    migrate::check_not_newer(&conn).map_err(|e| StoreError::from_migrate(p.clone(), e))?;
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
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
    migrate::to_latest(&mut conn).map_err(|e| StoreError::from_migrate(p, e))?;
    // Every statement a batch runs stays prepared: rusqlite keeps 16 by default, fewer than a
    // batch of meters, levels, rollups and quarantine records cycles through, so each batch
    // prepared most of them again.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // One plan per statement, whatever values are bound: otherwise SQLite marks a statement
    // such as a meter's last two readings (`intake_id = ?1`) to be planned again whenever a new
    // id is bound, which was 5 % of the writer's time in a backlog drain. The writer's lookups
    // are all by key; no plan of theirs depends on a value.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

/// Prepared statements a read-write connection keeps (see [`open_rw`]).
const STATEMENT_CACHE: usize = 128;

/// Address space a reader maps of the store (pages are read on demand, not up front).
const READER_MMAP_BYTES: i64 = 4 << 30;

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
    // Readers map the file instead of copying each page through a read() call: a status run
    // touches tens of thousands of pages, and the copies were a third of its time. The store
    // never shrinks (no VACUUM, no auto_vacuum), which is what makes a mapping safe.
    conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)?;
    let version = migrate::check_not_newer(&conn).map_err(|e| StoreError::from_migrate(p, e))?;
    if version < SCHEMA_VERSION {
        // A store from an earlier gwmon that no daemon of this version has opened yet: bring it
        // up to date once (the migration takes the write lock briefly), then read as usual.
        drop(conn);
        let mut rw = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        rw.busy_timeout(std::time::Duration::from_secs(30))?;
        migrate::to_latest(&mut rw)
            .map_err(|e| StoreError::from_migrate(path.display().to_string(), e))?;
        drop(rw);
        return open_ro(path);
    }
    Ok(conn)
}

/// One daemon per store: an exclusive lock on `<store>.lock`, held while the value lives (the
/// operating system releases it when the process ends, however it ends).
#[derive(Debug)]
pub struct StoreLock {
    _file: Option<std::fs::File>,
    pub path: std::path::PathBuf,
}

/// Why the daemon's lock on a store was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another gwmon daemon is already writing to {db}{holder} (lock file {lock}): run one daemon per store — stop the other one, or give this one its own [store] path and [mqtt] client_id"
    )]
    Held {
        db: String,
        lock: String,
        holder: String,
    },
    #[error("cannot create the lock file {lock}: {source}")]
    Io {
        lock: String,
        source: std::io::Error,
    },
}

/// Takes the daemon's exclusive lock on the store at `db`. Commands that only read, and
/// `import`, do not take it: they run beside the daemon.
pub fn lock_store(db: &Path) -> Result<StoreLock, LockError> {
    use std::io::{Read, Seek, Write};
    // Daemons on one PostgreSQL store share the load: each device is serialised in the database.
    if postgres_url(db).is_some() {
        return Ok(StoreLock {
            _file: None,
            path: PathBuf::new(),
        });
    }
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let path = std::path::PathBuf::from(name);
    let io = |source| LockError::Io {
        lock: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(LockError::Held {
                db: db.display().to_string(),
                lock: path.display().to_string(),
                holder: if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (process {pid})")
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(StoreLock {
        _file: Some(file),
        path,
    })
}

/// Opens the writer's store.
pub fn open_store(
    settings: StoreSettings,
    path: &Path,
    durability: Durability,
) -> Result<Store, StoreError> {
    let mut store = Store::new(open_write(path, durability)?, settings);
    store.rederive_levels()?;
    Ok(store)
}

impl Store {
    /// Derives stored levels again where a well's datum history changed since (see
    /// `level_rollup::rederive`); returns how many readings changed.
    pub fn rederive_levels(&mut self) -> Result<usize, StoreError> {
        let Self { conn, settings, .. } = self;
        let n = conn.in_transaction(|tx| {
            apply::lock_devices(tx, settings.datums.keys().map(String::as_str))?;
            level_rollup::rederive(tx, &settings.clock, &settings.datums)
        })?;
        if n > 0 {
            tracing::info!(
                readings = n,
                "levels derived again with the corrected well datums (datums.csv / wells.csv)"
            );
        }
        Ok(n)
    }

    /// How long a write waits for another connection's lock before the store refuses it.
    pub fn set_busy_timeout(&self, d: std::time::Duration) -> Result<(), StoreError> {
        if let Some(c) = self.conn.sqlite() {
            c.busy_timeout(d)?;
        }
        Ok(())
    }
}

/// Row counts of the raw tables, for summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub meter_readings: i64,
    pub level_readings: i64,
    pub quarantined: i64,
}

/// Counts rows of the raw tables.
pub fn counts(conn: &dyn sql::Sql) -> Result<Counts, StoreError> {
    let one = |sql: &str| conn.value::<i64>(sql, &[]);
    Ok(Counts {
        meter_readings: one("SELECT count(*) FROM meter_readings")?,
        level_readings: one("SELECT count(*) FROM level_readings")?,
        quarantined: one("SELECT count(*) FROM quarantine")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store as the first release made it: `schema.sql` then `PRAGMA user_version = 1` (the
    /// file's last line then), with rows in the raw and derived tables.
    fn first_release_store(path: &Path) {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(include_str!("../../schema.sql"))
            .unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO meter_readings VALUES ('QX-1', 1772323200, 100.0, 1772323200, 'mqtt');
             INSERT INTO level_readings VALUES ('W-1', 1772323200, 42.5, 757.5, 1772323200, 'import');
             INSERT INTO quarantine (received_at, origin, payload, reason_code, reason)
               VALUES (1772323200, 'gw/140121/meter/QX-9', x'7b7d', 'unknown_device', 'unknown intake QX-9');
             INSERT INTO daily_volume VALUES ('QX-1', '2026-03-01', 10.0, 0, 0, 3600, 'meter', 10.0, 0);",
        )
        .unwrap();
    }

    #[test]
    fn the_writers_statements_keep_their_plan_whatever_id_is_bound() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_rw(&dir.path().join("gwmon.db"), Durability::Full).unwrap();
        let sql =
            "SELECT ts, total_m3 FROM meter_readings WHERE intake_id = ?1 ORDER BY ts DESC LIMIT 2";
        for id in ["QX-1", "QX-2", "QX-3"] {
            let mut st = conn.prepare_cached(sql).unwrap();
            let n = st.query_map([id], |r| r.get::<_, i64>(0)).unwrap().count();
            assert_eq!(n, 0);
        }
        let st = conn.prepare_cached(sql).unwrap();
        assert_eq!(
            st.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "planned again for a new id"
        );
    }

    #[test]
    fn a_reader_brings_an_older_store_up_to_date_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwmon.db");
        first_release_store(&path);
        let conn = open_ro(&path).unwrap();
        assert_eq!(migrate::user_version(&conn).unwrap(), SCHEMA_VERSION);
        let reported: i64 = conn
            .query_row(
                "SELECT count(*) FROM daily_volume WHERE measured_s > 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(reported, 1);
    }

    #[test]
    fn a_store_of_the_first_release_opens_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwmon.db");
        first_release_store(&path);
        let conn = open_rw(&path, Durability::Normal).unwrap();
        assert_eq!(migrate::user_version(&conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(
            counts(&conn).unwrap(),
            Counts {
                meter_readings: 1,
                level_readings: 1,
                quarantined: 1,
            }
        );
        let daily: f64 = conn
            .query_row("SELECT cum_year_m3 FROM daily_volume", [], |r| r.get(0))
            .unwrap();
        assert_eq!(daily, 10.0);
        // Migration 3: a row written before it held one element.
        let elements: i64 = conn
            .query_row("SELECT elements FROM quarantine", [], |r| r.get(0))
            .unwrap();
        assert_eq!(elements, 1);
        // Migration 2 counts the measured day as reported.
        let measured: i64 = conn
            .query_row("SELECT measured_s FROM daily_volume", [], |r| r.get(0))
            .unwrap();
        assert_eq!(measured, 3600);
        drop(conn);
        assert_eq!(counts(&open_ro(&path).unwrap()).unwrap().meter_readings, 1);
    }

    #[test]
    fn a_store_of_a_newer_gwmon_is_refused_by_writers_and_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gwmon.db");
        first_release_store(&path);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let want = format!(
            "database {} has schema version {}, this gwmon understands up to {SCHEMA_VERSION}: upgrade gwmon",
            path.display(),
            SCHEMA_VERSION + 1
        );
        let err = open_rw(&path, Durability::Full).unwrap_err();
        assert_eq!(err.to_string(), want);
        let err = open_ro(&path).unwrap_err();
        assert_eq!(err.to_string(), want);
        // Refused untouched: still the newer version, rows intact.
        let conn = Connection::open(&path).unwrap();
        assert_eq!(migrate::user_version(&conn).unwrap(), SCHEMA_VERSION + 1);
        assert_eq!(counts(&conn).unwrap().meter_readings, 1);
    }
}
