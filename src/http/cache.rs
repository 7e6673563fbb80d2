//! What pages are made from, built once per as-of date and reused: the status document, each
//! county's report bundle (the files `gwmon report` writes, held in memory: charts, CSVs, Word
//! document), the city folder, and rendered pages and API bodies.
//!
//! The entries live in a [`moka`] cache bounded by bytes ([`CACHE_BYTES`]); its TinyLFU
//! admission keeps the pages people keep opening when one token floods it with one-off dates.
//! An entry is reused while the store is unchanged (SQLite's `data_version` on a connection kept
//! for the purpose), and for `[http] cache_s` seconds after it was built while a running daemon
//! keeps committing. One build runs at a time: a page that needs one waits for it rather than
//! starting a second copy of the same work. Nothing is written to disk.
//!
//! Fairness between access tokens (the owner of a request): at most `[http] build_queue`
//! builds wait, `build_queue_per_token` of one token; past either the request is refused as
//! [`BUSY`] (503 with Retry-After) rather than queued behind another token's flood.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::civil::Date;

use super::daily::Daily;
use crate::assess::{StatusDoc, report_model_for};
use crate::config::Config;
use crate::domain::CountyCode;
use crate::output::Bundle;
use crate::output::report::{self, Options, ReportError};
use crate::store::StoreError;
use crate::store::tokens::Scope;

/// The bytes the cache holds at most: a county bundle is 3–8 MB, so this keeps every county of
/// a few as-of dates.
pub const CACHE_BYTES: u64 = 256 << 20;

/// What a status document or a daily series is weighed at (their size is not worth measuring).
const DOC_WEIGHT: u32 = 256 << 10;

/// A report bundle with the status document it was rendered from.
#[derive(Debug)]
pub struct Built {
    pub bundle: Bundle,
    pub doc: Arc<StatusDoc>,
}

/// The error of a request refused because too many builds wait: the pages answer 503 with
/// Retry-After.
pub const BUSY: &str = "too many pages are being prepared: try again in a few seconds";

/// Why a page's figures could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Too many builds wait ([`BUSY`]).
    #[error("{BUSY}")]
    Busy,
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot render the report: {0}")]
    Report(#[from] ReportError),
    #[error("cannot render the page: {0}")]
    Template(#[from] askama::Error),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The build's task ended without a value (it panicked).
    #[error("building the page's figures failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the cache held another kind of value under {0}")]
    WrongKind(String),
    #[error("{0}")]
    Other(String),
}

/// Builds waiting or running, in all and per owner.
#[derive(Default)]
struct Queue {
    total: usize,
    by_owner: HashMap<i64, usize>,
}

/// A place in the build queue, given back when dropped.
struct Ticket<'a> {
    cache: &'a Cache,
    owner: i64,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut q = self.cache.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.total = q.total.saturating_sub(1);
        if let Some(n) = q.by_owner.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                q.by_owner.remove(&self.owner);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Key {
    Doc(Date),
    County(CountyCode, Date),
    City(Date),
    /// A county's daily series from one day to another.
    Daily(CountyCode, Date, Date),
    /// The status API's body for an as-of date and a scope.
    StatusBody(Date, Scope),
    /// A county page as of a date, on a day, for a scope.
    Page(CountyCode, Date, Date, Scope),
}

/// What the cache holds, one kind per variant.
#[derive(Clone, Debug)]
pub enum Value {
    Doc(Arc<StatusDoc>),
    Built(Arc<Built>),
    Text(Arc<String>),
    Daily(Arc<Daily>),
}

impl Value {
    /// What the entry is weighed at, bytes.
    fn weight(&self) -> u32 {
        let n = match self {
            Value::Doc(_) | Value::Daily(_) => return DOC_WEIGHT,
            Value::Built(b) => b.bundle.size(),
            Value::Text(t) => t.len(),
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// A type the cache holds under one [`Value`] variant.
pub trait Cached: Sized + Send + Sync + 'static {
    fn wrap(this: Arc<Self>) -> Value;
    fn unwrap(v: Value) -> Option<Arc<Self>>;
}

macro_rules! cached {
    ($t:ty, $variant:ident) => {
        impl Cached for $t {
            fn wrap(this: Arc<Self>) -> Value {
                Value::$variant(this)
            }
            fn unwrap(v: Value) -> Option<Arc<Self>> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}
cached!(StatusDoc, Doc);
cached!(Built, Built);
cached!(String, Text);
cached!(Daily, Daily);

/// An entry: the value, when it was built and on which version of the store.
#[derive(Clone)]
struct Entry {
    value: Value,
    built: Instant,
    version: i64,
}

pub struct Cache {
    max_age: Duration,
    entries: moka::sync::Cache<Key, Entry>,
    /// The connection whose `data_version` tells whether another connection wrote.
    watch: Arc<Mutex<Option<crate::store::sql::Db>>>,
    building: tokio::sync::Mutex<()>,
    queue: Mutex<Queue>,
    max_queue: usize,
    max_queue_per_owner: usize,
}

impl Cache {
    pub fn new(cfg: &Config) -> Self {
        Self::with_capacity(cfg, CACHE_BYTES)
    }

    fn with_capacity(cfg: &Config, bytes: u64) -> Self {
        Cache {
            max_age: Duration::from_secs(cfg.http.cache_s),
            entries: moka::sync::Cache::builder()
                .max_capacity(bytes)
                .weigher(|_, e: &Entry| e.value.weight())
                .build(),
            watch: Arc::new(Mutex::new(None)),
            building: tokio::sync::Mutex::new(()),
            queue: Mutex::new(Queue::default()),
            max_queue: cfg.http.build_queue,
            max_queue_per_owner: cfg.http.build_queue_per_token,
        }
    }

    /// Forgets every built document and bundle (a reloaded configuration changes them all).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }

    /// The store's change counter: it moves whenever another connection commits. Read on a
    /// blocking thread (PostgreSQL's client blocks, and must not run on the runtime's workers).
    async fn version(&self, db: &Path) -> Result<i64, BuildError> {
        let (watch, db) = (Arc::clone(&self.watch), db.to_owned());
        let read = move || -> Result<i64, BuildError> {
            let mut w = watch.lock().unwrap_or_else(|p| p.into_inner());
            let conn = match w.take() {
                Some(c) => c,
                None => crate::store::open_read(&db)?,
            };
            let v = crate::store::data_version(&conn);
            // A connection that failed is opened again next time.
            if v.is_ok() {
                *w = Some(conn);
            }
            Ok(v?)
        };
        tokio::task::spawn_blocking(read).await?
    }

    fn lookup(&self, key: Key, version: i64) -> Option<Value> {
        let e = self.entries.get(&key)?;
        (e.version == version || e.built.elapsed() < self.max_age).then_some(e.value)
    }

    fn insert(&self, key: Key, value: Value, version: i64) {
        let entry = Entry {
            value,
            built: Instant::now(),
            version,
        };
        self.entries.insert(key, entry);
    }

    /// A place in the build queue for `owner`, or [`BUSY`].
    fn admit(&self, owner: i64) -> Result<Ticket<'_>, BuildError> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mine = q.by_owner.get(&owner).copied().unwrap_or(0);
        if q.total >= self.max_queue || mine >= self.max_queue_per_owner {
            return Err(BuildError::Busy);
        }
        q.total += 1;
        *q.by_owner.entry(owner).or_default() += 1;
        Ok(Ticket { cache: self, owner })
    }

    /// The value under `key`, built by `build` (on a blocking thread, one build at a time) when
    /// there is none or it is stale.
    pub async fn computed<T, F>(
        &self,
        db: &Path,
        key: Key,
        owner: i64,
        build: F,
    ) -> Result<Arc<T>, BuildError>
    where
        T: Cached,
        F: FnOnce() -> Result<T, BuildError> + Send + 'static,
    {
        let wrong = || BuildError::WrongKind(format!("{key:?}"));
        let version = self.version(db).await?;
        if let Some(v) = self.lookup(key, version) {
            return T::unwrap(v).ok_or_else(wrong);
        }
        let _ticket = self.admit(owner)?;
        let _one_build = self.building.lock().await;
        // Built by the request this one waited for.
        if let Some(v) = self.lookup(key, version) {
            return T::unwrap(v).ok_or_else(wrong);
        }
        let value = tokio::task::spawn_blocking(build).await??;
        let value = Arc::new(value);
        self.insert(key, T::wrap(Arc::clone(&value)), version);
        Ok(value)
    }

    /// The status document as of `as_of`.
    pub async fn doc(
        &self,
        cfg: &Arc<Config>,
        db: &Path,
        as_of: Date,
        owner: i64,
    ) -> Result<Arc<StatusDoc>, BuildError> {
        let (cfg, path) = (Arc::clone(cfg), db.to_owned());
        self.computed(db, Key::Doc(as_of), owner, move || {
            let conn = crate::store::open_read(&path)?;
            Ok(crate::assess::status(&cfg, &conn, as_of)?)
        })
        .await
    }

    /// County `code`'s report folder as of `as_of`: the files `gwmon report --county` writes
    /// into it.
    pub async fn county(
        &self,
        cfg: &Arc<Config>,
        db: &Path,
        code: CountyCode,
        as_of: Date,
        owner: i64,
    ) -> Result<Arc<Built>, BuildError> {
        // The status document of the date, shared with the other pages of that date.
        let doc = self.doc(cfg, db, as_of, owner).await?;
        let (cfg, path) = (Arc::clone(cfg), db.to_owned());
        self.computed(db, Key::County(code, as_of), owner, move || {
            let model = {
                let conn = crate::store::open_read(&path)?;
                report_model_for(&cfg, &conn, (*doc).clone(), as_of, Some(code))?
            };
            let bundle = report::render_counties(&cfg, &model, Options::default())?;
            Ok(Built {
                bundle,
                doc: Arc::new(model.doc),
            })
        })
        .await
    }

    /// The city folder (its chart and CSV) as of `as_of`.
    pub async fn city(
        &self,
        cfg: &Arc<Config>,
        db: &Path,
        as_of: Date,
        owner: i64,
    ) -> Result<Arc<Built>, BuildError> {
        let doc = self.doc(cfg, db, as_of, owner).await?;
        self.computed(db, Key::City(as_of), owner, move || {
            let bundle = report::city(&doc, as_of, report::CsvForm::default())?;
            Ok(Built { bundle, doc })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Value {
        Value::Text(Arc::new("x".repeat(n)))
    }

    /// A token asking for many one-off dates does not push out the pages that are read: the
    /// cache stays within its bytes and keeps the entries in use.
    #[test]
    fn a_flood_of_one_off_entries_keeps_the_pages_in_use_and_the_byte_bound() {
        let cfg = Config::embedded().unwrap();
        let cache = Cache::with_capacity(&cfg, 100_000);
        let day = |n: i64| {
            jiff::civil::date(2020, 1, 1)
                .checked_add(jiff::Span::new().days(n))
                .unwrap()
        };
        let kept = [Key::City(day(5000)), Key::City(day(5001))];
        for k in kept {
            cache.insert(k, text(10_000), 0);
        }
        for _ in 0..20 {
            for k in kept {
                assert!(cache.lookup(k, 0).is_some());
            }
        }
        for n in 0..300 {
            cache.insert(Key::Doc(day(n)), text(10_000), 0);
            cache.entries.run_pending_tasks();
        }
        cache.entries.run_pending_tasks();
        for k in kept {
            assert!(cache.lookup(k, 0).is_some(), "{k:?} was pushed out");
        }
        assert!(
            cache.entries.weighted_size() <= 100_000,
            "{}",
            cache.entries.weighted_size()
        );
    }

    /// A stale entry (another version of the store, older than `cache_s`) is not served; a
    /// value of another kind under a key is refused by name.
    #[test]
    fn stale_entries_are_not_served() {
        let mut cfg = Config::embedded().unwrap();
        cfg.http.cache_s = 0;
        let cache = Cache::new(&cfg);
        let k = Key::Doc(jiff::civil::date(2026, 1, 1));
        cache.insert(k, text(3), 7);
        assert!(cache.lookup(k, 7).is_some());
        assert!(cache.lookup(k, 8).is_none());
        let v = cache.lookup(k, 7).unwrap();
        assert!(<StatusDoc as Cached>::unwrap(v.clone()).is_none());
        assert_eq!(String::unwrap(v).unwrap().as_str(), "xxx");
    }

    /// Past the per-token or the total queue, a build is refused, and a finished one gives its
    /// place back.
    #[test]
    fn the_build_queue_is_bounded_in_all_and_per_token() {
        let mut cfg = Config::embedded().unwrap();
        cfg.http.build_queue = 3;
        cfg.http.build_queue_per_token = 2;
        let cache = Cache::new(&cfg);
        let a1 = cache.admit(1).unwrap();
        let _a2 = cache.admit(1).unwrap();
        assert!(matches!(cache.admit(1), Err(BuildError::Busy)));
        let _b1 = cache.admit(2).unwrap();
        assert!(matches!(cache.admit(3), Err(BuildError::Busy)));
        drop(a1);
        let _c1 = cache.admit(3).unwrap();
    }
}
