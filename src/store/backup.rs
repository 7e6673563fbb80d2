//! `gwmon backup`: an online, consistent copy of the store beside a running daemon.
//!
//! SQLite's online backup API copies the pages of one read transaction: a snapshot of the last
//! commit, however busy the writer is. All pages go in one step (`-1`): copied in small steps,
//! the backup would start again after every commit of the daemon's and might never finish. The
//! copy is written to a temporary file beside the destination, checked (`PRAGMA quick_check`,
//! the schema version), switched to a single file (no WAL) and only then renamed into place, so
//! a failed backup leaves no half file behind. A plain `cp` of a live store is not a backup:
//! committed transactions may still be in the `-wal` file only, and a copy taken while a
//! checkpoint writes the main file can be torn.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{Counts, SCHEMA_VERSION, StoreError, counts, open_ro};

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: give another file, or --force to replace it")]
    Exists(PathBuf),
    #[error(
        "the store is PostgreSQL ({0}): back it up with PostgreSQL's own tools, e.g. `pg_dump --format=custom --file=gwmon.dump DATABASE` (or the bureau's base backups and WAL archive); `gwmon backup` copies a SQLite store"
    )]
    Postgres(String),
    #[error("cannot write the backup beside {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the folder {0} does not exist: create it first (e.g. mkdir -p {0}), or give a file in an existing folder"
    )]
    NoFolder(PathBuf),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the copy failed its check ({0}): the store was not backed up; run `sqlite3 STORE 'PRAGMA integrity_check'` on the store"
    )]
    Check(String),
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Store(StoreError::Sql(e))
    }
}

/// What a backup holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackupReport {
    pub counts: Counts,
    pub bytes: u64,
    pub schema_version: i64,
}

/// Copies the store at `src` to `dest` (replacing it only with `force`) and checks the copy.
pub fn backup(src: &Path, dest: &Path, force: bool) -> Result<BackupReport, BackupError> {
    if super::postgres_url(src).is_some() {
        return Err(BackupError::Postgres(super::describe(src)));
    }
    if dest.exists() && !force {
        return Err(BackupError::Exists(dest.to_path_buf()));
    }
    let folder = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(BackupError::NoFolder(folder.to_path_buf()));
    }
    let io = |source| BackupError::Io {
        path: dest.to_path_buf(),
        source,
    };
    let name = dest
        .file_name()
        .map_or_else(|| "gwmon.db".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let result = copy_and_check(src, &tmp);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, dest).map_err(io)?;
    Ok(report)
}

fn copy_and_check(src: &Path, tmp: &Path) -> Result<BackupReport, BackupError> {
    let source = open_ro(src)?;
    {
        let mut copy = Connection::open(tmp)?;
        let b = rusqlite::backup::Backup::new(&source, &mut copy)?;
        // Every page in one step; a busy or locked step (a checkpoint in progress) is tried
        // again a moment later.
        use rusqlite::backup::StepResult;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while b.step(-1)? != StepResult::Done {
            if std::time::Instant::now() > deadline {
                return Err(BackupError::Check(
                    "the store stayed locked for 60 s; try again when a long import or checkpoint is over".into(),
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    let copy = Connection::open(tmp)?;
    // One file, nothing beside it: what an operator copies and restores.
    copy.pragma_update(None, "journal_mode", "DELETE")?;
    let check: String = copy.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(BackupError::Check(check));
    }
    let schema_version: i64 = copy.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if schema_version != SCHEMA_VERSION {
        return Err(BackupError::Check(format!(
            "schema version {schema_version}, expected {SCHEMA_VERSION}"
        )));
    }
    let counts = counts(&copy)?;
    drop(copy);
    let bytes = std::fs::metadata(tmp).map_or(0, |m| m.len());
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|source| BackupError::Io {
            path: tmp.to_path_buf(),
            source,
        })?;
    Ok(BackupReport {
        counts,
        bytes,
        schema_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, open_rw};

    #[test]
    fn a_backup_is_one_checked_file_and_an_existing_one_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("gwmon.db");
        let conn = open_rw(&src, Durability::Normal).unwrap();
        conn.execute(
            "INSERT INTO meter_readings VALUES ('QX-1', 1772323200, 100.0, 1772323200, 'mqtt')",
            [],
        )
        .unwrap();
        let dest = dir.path().join("backup.db");
        let r = backup(&src, &dest, false).unwrap();
        assert_eq!(r.counts.meter_readings, 1);
        assert_eq!(r.schema_version, SCHEMA_VERSION);
        assert!(!dir.path().join("backup.db-wal").exists());
        let err = backup(&src, &dest, false).unwrap_err().to_string();
        assert!(
            err.contains("exists already") && err.contains("--force"),
            "{err}"
        );
        backup(&src, &dest, true).unwrap();
        // No partial file left beside it.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
        // A folder that does not exist is named, with how to make it.
        let missing = dir.path().join("nightly").join("backup.db");
        let err = backup(&src, &missing, false).unwrap_err().to_string();
        assert!(
            err.contains("nightly does not exist") && err.contains("mkdir -p"),
            "{err}"
        );
    }
}
