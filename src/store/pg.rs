//! PostgreSQL beside SQLite: its schema migrations (`migrations/postgres/`), and the copy of a
//! SQLite store into it with the checks that prove the copy whole (`gwmon migrate-store`).
//!
//! The PostgreSQL schema holds the same tables and columns as SQLite's at
//! [`SQLITE_EQUIVALENT`], with types that keep every value exactly (see the migration's header).
//! The copy runs in one transaction, through `COPY … FROM STDIN`: a failure leaves the target as it
//! was. Doubles are written in Rust's shortest round-trip form, which PostgreSQL reads back to the
//! same bits.

use std::fmt::Write as _;
use std::io::Write as _;

use postgres::{Client, NoTls};
use rusqlite::types::ValueRef;

/// PostgreSQL's migrations, in order: `PG_MIGRATIONS[0]` is migration 1. Append, never edit.
const PG_MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/001_schema.sql"),
    include_str!("../../migrations/postgres/002_byte_order.sql"),
];

/// The PostgreSQL schema version this build writes (`gwmon_schema`).
pub const PG_SCHEMA_VERSION: i64 = PG_MIGRATIONS.len() as i64;

/// The SQLite schema version whose tables the PostgreSQL schema holds.
pub const SQLITE_EQUIVALENT: i64 = 11;

/// The store's tables, in the order they are copied.
pub const TABLES: [&str; 13] = [
    "meter_readings",
    "level_readings",
    "quarantine",
    "meter_events",
    "daily_volume",
    "monthly_volume",
    "daily_level",
    "monthly_level",
    "access_tokens",
    "gateway_frames",
    "meter_replacements",
    "electricity",
    "level_datums",
];

/// Tables whose `id` PostgreSQL numbers itself: after a copy it continues from the copied ids.
const IDENTITY_TABLES: [&str; 3] = ["quarantine", "access_tokens", "gateway_frames"];

/// Withdrawal per intake and year, in SQL both dialects read alike: what the copy is checked by.
pub const YEAR_TOTALS_SQL: &str = "SELECT intake_id, substr(day, 1, 4) AS year, count(*) AS days,
        sum(volume_m3) AS volume_m3, sum(estimated_m3) AS estimated_m3
   FROM daily_volume GROUP BY intake_id, substr(day, 1, 4) ORDER BY intake_id, year";

/// Why the PostgreSQL store could not be opened, migrated or filled.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "cannot connect to PostgreSQL at {url}: {source}. Check the URL (postgres://USER@HOST:PORT/DATABASE), that the server runs and that it lets this user in (pg_hba.conf)"
    )]
    Connect {
        url: String,
        source: postgres::Error,
    },
    #[error(
        "the PostgreSQL store is at schema version {0}, this gwmon understands up to {PG_SCHEMA_VERSION}: upgrade gwmon"
    )]
    Newer(i64),
    #[error(
        "the SQLite store is at schema version {0}, migrate-store copies version {SQLITE_EQUIVALENT}: run this gwmon on it once (e.g. `gwmon status --db PATH`) to bring it up to date, or use the gwmon that wrote it"
    )]
    SourceVersion(i64),
    #[error(
        "the target already holds {rows} rows in {table}: copy into an empty database or schema (a second copy would mix two histories)"
    )]
    NotEmpty { table: &'static str, rows: i64 },
    #[error(
        "{table} has the columns {sqlite:?} in SQLite but {pg:?} in PostgreSQL: this gwmon's two schemas disagree, nothing was copied; report this"
    )]
    Columns {
        table: &'static str,
        sqlite: Vec<String>,
        pg: Vec<String>,
    },
    #[error(
        "row {row} of {table} holds text that is not UTF-8: repair it in the SQLite store first"
    )]
    NotUtf8 { table: &'static str, row: u64 },
    #[error("PostgreSQL: {0}")]
    Pg(#[from] postgres::Error),
    #[error("SQLite store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("streaming {table} into PostgreSQL: {source}")]
    Copy {
        table: &'static str,
        source: std::io::Error,
    },
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// Connects to the PostgreSQL store at `url` and brings its schema up to date.
pub fn open(url: &str) -> Result<Client, PgError> {
    let mut client = Client::connect(url, NoTls).map_err(|source| PgError::Connect {
        url: redact(url),
        source,
    })?;
    migrate(&mut client)?;
    Ok(client)
}

/// Runs the migrations the store has not run yet, each in the transaction that records it; a
/// store written by a newer gwmon is refused.
pub fn migrate(client: &mut Client) -> Result<i64, PgError> {
    // The server's notices (a table that already exists) are no news to an operator.
    // Daemons starting together migrate one after the other (a session lock: released by the
    // server if this process dies mid-way).
    client.batch_execute(
        "SET client_min_messages = warning;
         SELECT pg_advisory_lock(7402351);
         CREATE TABLE IF NOT EXISTS gwmon_schema (version BIGINT NOT NULL)",
    )?;
    let result = migrate_locked(client);
    client.batch_execute("SELECT pg_advisory_unlock(7402351)")?;
    result
}

fn migrate_locked(client: &mut Client) -> Result<i64, PgError> {
    let version: i64 = client
        .query_one("SELECT coalesce(max(version), 0) FROM gwmon_schema", &[])?
        .get(0);
    if version > PG_SCHEMA_VERSION {
        return Err(PgError::Newer(version));
    }
    for (i, sql) in PG_MIGRATIONS.iter().enumerate().skip(version as usize) {
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO gwmon_schema (version) VALUES ($1)",
            &[&(i as i64 + 1)],
        )?;
        tx.commit()?;
    }
    Ok(PG_SCHEMA_VERSION)
}

/// Rows copied per table.
pub type Copied = Vec<(&'static str, u64)>;

/// Copies every table of the SQLite store behind `conn` into the (empty) PostgreSQL store, in one
/// transaction.
pub fn copy_from_sqlite(
    conn: &rusqlite::Connection,
    client: &mut Client,
) -> Result<Copied, PgError> {
    let found = super::migrate::user_version(conn)?;
    if found != SQLITE_EQUIVALENT {
        return Err(PgError::SourceVersion(found));
    }
    for table in TABLES {
        let rows: i64 = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
            .get(0);
        if rows > 0 {
            return Err(PgError::NotEmpty { table, rows });
        }
    }
    let mut tx = client.transaction()?;
    let mut copied = Vec::new();
    for table in TABLES {
        let columns: Vec<String> = tx
            .query(
                "SELECT column_name::text FROM information_schema.columns
                  WHERE table_schema = current_schema() AND table_name = $1
                  ORDER BY ordinal_position",
                &[&table],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // Every SQLite column has its PostgreSQL one: none is left behind unseen.
        let mut theirs: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut ours = columns.clone();
        theirs.sort();
        ours.sort();
        if theirs != ours {
            return Err(PgError::Columns {
                table,
                sqlite: theirs,
                pg: ours,
            });
        }
        let list = columns.join(", ");
        let mut st = conn.prepare(&format!("SELECT {list} FROM {table}"))?;
        let mut rows = st.query([])?;
        let mut writer = tx.copy_in(&format!("COPY {table} ({list}) FROM STDIN"))?;
        let mut line = String::new();
        let mut n = 0u64;
        while let Some(row) = rows.next()? {
            n += 1;
            line.clear();
            for i in 0..columns.len() {
                if i > 0 {
                    line.push('\t');
                }
                copy_text(&mut line, row.get_ref(i)?).ok_or(PgError::NotUtf8 { table, row: n })?;
            }
            line.push('\n');
            writer
                .write_all(line.as_bytes())
                .map_err(|source| PgError::Copy { table, source })?;
        }
        writer.finish()?;
        copied.push((table, n));
    }
    for table in IDENTITY_TABLES {
        tx.batch_execute(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
        ))?;
    }
    tx.commit()?;
    // Fresh statistics and visibility maps for the planner: without them the first queries on
    // a bulk-loaded table read every heap page an index points at.
    for table in TABLES {
        client.batch_execute(&format!("VACUUM (ANALYZE) {table}"))?;
    }
    Ok(copied)
}

/// Appends `v` to `line` in COPY's text format; `None` for text that is not UTF-8.
fn copy_text(line: &mut String, v: ValueRef<'_>) -> Option<()> {
    match v {
        ValueRef::Null => line.push_str("\\N"),
        ValueRef::Integer(i) => {
            let _ = write!(line, "{i}");
        }
        ValueRef::Real(f) if f.is_nan() => line.push_str("NaN"),
        ValueRef::Real(f) if f.is_infinite() => {
            line.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        }
        ValueRef::Real(f) => {
            let _ = write!(line, "{f}");
        }
        ValueRef::Text(t) => {
            for c in std::str::from_utf8(t).ok()?.chars() {
                match c {
                    '\\' => line.push_str("\\\\"),
                    '\t' => line.push_str("\\t"),
                    '\n' => line.push_str("\\n"),
                    '\r' => line.push_str("\\r"),
                    c => line.push(c),
                }
            }
        }
        ValueRef::Blob(b) => {
            line.push_str("\\\\x");
            for byte in b {
                let _ = write!(line, "{byte:02x}");
            }
        }
    }
    Some(())
}

/// Row counts per table of the PostgreSQL store.
pub fn pg_counts(client: &mut Client) -> Result<Vec<(&'static str, i64)>, PgError> {
    TABLES
        .iter()
        .map(|t| {
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM {t}"), &[])?
                .get(0);
            Ok((*t, n))
        })
        .collect()
}

/// Row counts per table of the SQLite store.
pub fn sqlite_counts(conn: &rusqlite::Connection) -> Result<Vec<(&'static str, i64)>, PgError> {
    TABLES
        .iter()
        .map(|t| {
            let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
            Ok((*t, n))
        })
        .collect()
}

/// One intake's withdrawal in one year: (intake, year, days, m³, estimated m³).
pub type YearTotal = (String, String, i64, f64, f64);

/// [`YEAR_TOTALS_SQL`] on the PostgreSQL store.
pub fn pg_year_totals(client: &mut Client) -> Result<Vec<YearTotal>, PgError> {
    Ok(client
        .query(YEAR_TOTALS_SQL, &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect())
}

/// [`YEAR_TOTALS_SQL`] on the SQLite store.
pub fn sqlite_year_totals(conn: &rusqlite::Connection) -> Result<Vec<YearTotal>, PgError> {
    let mut st = conn.prepare(YEAR_TOTALS_SQL)?;
    let rows = st.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: ValueRef<'_>) -> String {
        let mut s = String::new();
        copy_text(&mut s, v).unwrap();
        s
    }

    #[test]
    fn values_are_written_in_copy_text_format_without_losing_a_bit() {
        assert_eq!(text(ValueRef::Null), "\\N");
        assert_eq!(text(ValueRef::Integer(-42)), "-42");
        for f in [0.1, 1.0 / 3.0, 123_456.789, 1e-300, 5e300, -0.0] {
            let s = text(ValueRef::Real(f));
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), f.to_bits(), "{s}");
        }
        assert_eq!(text(ValueRef::Real(f64::INFINITY)), "Infinity");
        assert_eq!(
            text(ValueRef::Text("a\tb\nc\\d 清徐".as_bytes())),
            "a\\tb\\nc\\\\d 清徐"
        );
        assert_eq!(text(ValueRef::Blob(&[0, 0xab, 0xff])), "\\\\x00abff");
        assert!(copy_text(&mut String::new(), ValueRef::Text(&[0xff, 0xfe])).is_none());
    }

    #[test]
    fn the_postgresql_schema_holds_the_sqlite_schema_this_build_writes() {
        // A new SQLite migration needs its PostgreSQL counterpart (and this constant raised).
        assert_eq!(SQLITE_EQUIVALENT, super::super::migrate::SCHEMA_VERSION);
    }

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redact("postgres://gwmon:s3cret@db.example:5432/gwmon"),
            "postgres://gwmon:***@db.example:5432/gwmon"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("host=/run/postgresql"), "host=/run/postgresql");
    }
}
