//! What the commands share: the options every command takes, loading the config, the store's
//! path, the as-of date and county of `status` and `report`, the async runtime, and the shutdown
//! signal of the daemon.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::config::{Config, ConfigError, DEFAULT_CONFIG_PATH};
use crate::domain::CountyCode;
use crate::domain::time::now_ts;

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Configuration file. Without this option (or GWMON_CONFIG) gwmon reads
    /// config/taiyuan.toml, else the installed /etc/gwmon/taiyuan.toml, else its built-in copy.
    #[arg(long, value_name = "FILE", global = true, env = "GWMON_CONFIG")]
    pub config: Option<PathBuf>,
    /// The store: a SQLite file, or a PostgreSQL URL postgres://USER@HOST:PORT/DATABASE
    /// (overrides [store] path and url).
    #[arg(long, value_name = "PATH", global = true, env = "GWMON_DB")]
    pub db: Option<PathBuf>,
}

/// Where the configuration is looked for when neither `--config` nor `GWMON_CONFIG` names it:
/// a checkout's own, then the installed one (the Debian package's).
pub const CONFIG_SEARCH: [&str; 2] = [DEFAULT_CONFIG_PATH, INSTALLED_CONFIG_PATH];
/// The configuration the package installs.
pub const INSTALLED_CONFIG_PATH: &str = "/etc/gwmon/taiyuan.toml";
/// The store of the installed service, for a relative `[store] path` in the installed config.
pub const INSTALLED_STORE_PATH: &str = "/var/lib/gwmon/gwmon.db";

/// The first of `candidates` that exists.
pub fn find_config<'a>(candidates: &[&'a str]) -> Option<&'a str> {
    candidates.iter().copied().find(|p| Path::new(p).exists())
}

impl Common {
    /// Loads the config named by `--config` (or `GWMON_CONFIG`), else the first of
    /// [`CONFIG_SEARCH`] that exists, else the built-in copy.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        let cfg = self.load_config_only()?;
        super::logtime::set_zone(cfg.clock.name());
        crate::report::use_fallback_font(&cfg.report);
        Ok(cfg)
    }

    fn load_config_only(&self) -> Result<Config, ConfigError> {
        match &self.config {
            Some(p) => Config::load(p),
            None if find_config(&CONFIG_SEARCH).is_some() => {
                let found = find_config(&CONFIG_SEARCH).unwrap_or(DEFAULT_CONFIG_PATH);
                let mut cfg = Config::load(Path::new(found))?;
                // The installed service keeps its store in /var/lib/gwmon: a relative path of the
                // installed config means that, not the caller's current folder.
                if found == INSTALLED_CONFIG_PATH && cfg.store.path.is_relative() {
                    cfg.store.path = INSTALLED_STORE_PATH.into();
                }
                Ok(cfg)
            }
            None => {
                // Outside the repository, with neither option nor variable: say so, since the
                // figures would come from the example registry, not the bureau's.
                let cfg = Config::embedded()?;
                let db = self.db.as_ref().unwrap_or(&cfg.store.path);
                eprintln!(
                    "note: no --config, no GWMON_CONFIG, no {DEFAULT_CONFIG_PATH} here and no {INSTALLED_CONFIG_PATH}: using the built-in example configuration and the store {} (set GWMON_CONFIG and GWMON_DB, or --config and --db)",
                    db.display()
                );
                Ok(cfg)
            }
        }
    }

    /// [`Common::load_config`] for commands that cannot go on without it.
    pub(super) fn config(&self) -> anyhow::Result<Config> {
        self.load_config().context("loading the configuration")
    }

    /// The store: `--db`, else `[store] path`.
    pub fn db_path(&self, cfg: &Config) -> PathBuf {
        if let (Some(db), Some(url)) = (&self.db, &cfg.store.url)
            && crate::store::postgres_url(db).is_none()
        {
            // The packaged services set GWMON_DB to their SQLite store: a PostgreSQL url in
            // the config alone would be passed over without a word.
            eprintln!(
                "note: [store] url = {} is set, but --db or GWMON_DB names the SQLite store {}: using that. Set GWMON_DB to the URL instead (for the services: GWMON_DB=postgres://… in /etc/gwmon/env)",
                crate::store::pg::redact(url),
                db.display()
            );
        }
        self.db.clone().unwrap_or_else(|| match &cfg.store.url {
            Some(url) => PathBuf::from(url),
            None => cfg.store.path.clone(),
        })
    }
}

/// Refuses a command that writes to the store when it runs as root on a store another user owns
/// (the `gwmon` service account): SQLite would create root-owned `-wal` and `-shm` files the
/// service then cannot open. A store that does not exist yet is fine.
pub(super) fn refuse_root_on_service_store(db: &Path) -> Result<(), ArgError> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Ok(());
    }
    match std::fs::metadata(db) {
        Ok(m) if m.uid() != 0 => {
            let owner = user_name(m.uid()).unwrap_or_else(|| format!("uid {}", m.uid()));
            Err(ArgError(format!(
                "{} belongs to {owner}, and this command would write to it as root, leaving files the service cannot open: run it as that user, e.g. `sudo -u {owner} gwmon …`",
                db.display()
            )))
        }
        _ => Ok(()),
    }
}

/// The account name of `uid`, from /etc/passwd.
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

/// The devices the store at `db` holds data of that the registry no longer lists, each said in
/// an operator's words (none when the store does not exist yet).
pub(super) fn unregistered_devices(cfg: &Config, db: &Path) -> anyhow::Result<Vec<String>> {
    if !crate::store::exists(db) {
        return Ok(Vec::new());
    }
    let conn = crate::store::open_read(db)?;
    let intakes: Vec<&str> = cfg.registry.intakes.iter().map(|i| i.id.as_str()).collect();
    let wells: Vec<&str> = cfg.registry.wells.iter().map(|w| w.id.as_str()).collect();
    Ok(
        crate::store::devices::unregistered(&conn, &intakes, &wells)?
            .iter()
            .map(|u| u.describe())
            .collect(),
    )
}

/// Config, as-of date and county filter of `status` and `report`.
pub(super) fn evaluation(
    common: &Common,
    as_of: Option<&str>,
    year: Option<i16>,
    county: Option<&str>,
) -> anyhow::Result<Evaluation> {
    let cfg = common.config()?;
    let today = cfg.clock.day_of(now_ts());
    let as_of = resolve_as_of(as_of, year, today)?;
    let county = county.map(|c| resolve_county(&cfg, c)).transpose()?;
    Ok(Evaluation { cfg, as_of, county })
}

/// The status document of the store as of the chosen day, of the one county asked for or all.
pub(super) fn evaluated_status(
    common: &Common,
    as_of: Option<&str>,
    year: Option<i16>,
    county: Option<&str>,
) -> anyhow::Result<crate::assess::StatusDoc> {
    let Evaluation { cfg, as_of, county } = evaluation(common, as_of, year, county)?;
    let conn = crate::store::open_read(&common.db_path(&cfg))?;
    let mut doc = crate::assess::status(&cfg, &conn, as_of)?;
    crate::assess::filter_county(&mut doc, county);
    Ok(doc)
}

/// What `status` and `report` evaluate: the configuration, the as-of date, and the one county
/// asked for (`None`: all of them).
pub(super) struct Evaluation {
    pub cfg: Config,
    pub as_of: jiff::civil::Date,
    pub county: Option<CountyCode>,
}

/// Why a command-line value was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

/// The as-of date from `--as-of` and `--year` (today by default; 31 December of a past year).
pub fn resolve_as_of(
    as_of: Option<&str>,
    year: Option<i16>,
    today: jiff::civil::Date,
) -> Result<jiff::civil::Date, ArgError> {
    let parsed = as_of
        .map(|s| crate::domain::time::parse_date(s, "--as-of").map_err(ArgError))
        .transpose()?;
    match (parsed, year) {
        (Some(d), Some(y)) if d.year() != y => Err(ArgError(format!(
            "--as-of {d} is not in --year {y}: give one of them, or a date inside the year"
        ))),
        (Some(d), _) => Ok(d),
        (None, Some(y)) if y < today.year() => {
            jiff::civil::Date::new(y, 12, 31).map_err(|e| ArgError(format!("--year {y}: {e}")))
        }
        (None, Some(y)) if y > today.year() => Err(ArgError(format!(
            "--year {y} has not begun (today is {today}): give the current or a past year"
        ))),
        (None, _) => Ok(today),
    }
}

/// A county from its code or Chinese name.
pub fn resolve_county(cfg: &Config, s: &str) -> Result<CountyCode, ArgError> {
    cfg.counties
        .iter()
        .find(|c| c.code.to_string() == s.trim() || c.name == s.trim())
        .map(|c| c.code)
        .ok_or_else(|| {
            ArgError(format!(
                "unknown county '{s}': expected one of {}",
                cfg.counties
                    .iter()
                    .map(|c| format!("{} {}", c.code, c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// Worker threads of the runtimes that run the daemon (`run`, `demo`). Its async work is the
/// MQTT poll loop and the acker; SQLite runs on the writer's own thread, so two are enough.
pub(super) const DAEMON_WORKERS: usize = 2;

/// A multi-threaded tokio runtime for the commands that speak MQTT; `workers: None` gives one
/// worker per core.
pub(super) fn runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        b.worker_threads(n);
    }
    b.enable_all().build()
}

/// Resolves on SIGTERM or SIGINT (SIGINT alone if the SIGTERM handler cannot be installed).
pub(super) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = tokio::signal::ctrl_c() => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkout's config comes first, then the installed one; none found is `None`.
    #[test]
    fn the_config_is_looked_for_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
        let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
        assert_eq!(find_config(&[a_s, b_s]), None);
        std::fs::write(&b, "").unwrap();
        assert_eq!(find_config(&[a_s, b_s]), Some(b_s));
        std::fs::write(&a, "").unwrap();
        assert_eq!(find_config(&[a_s, b_s]), Some(a_s));
        assert_eq!(
            CONFIG_SEARCH,
            ["config/taiyuan.toml", "/etc/gwmon/taiyuan.toml"]
        );
    }
}
