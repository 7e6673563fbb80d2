//! What pages are made from, built once per as-of date and reused: the status document, each
//! county's bundle (the same folder `gwmon report` writes: charts, CSVs, Word document) and the
//! city folder.
//!
//! An entry is reused while the store is unchanged (SQLite's `data_version` on a connection kept
//! for the purpose), and for `[http] cache_s` seconds after it was built while a running daemon
//! keeps committing. One build runs at a time: a page that needs one waits for it rather than
//! starting a second copy of the same work. The bundles live in a folder of the system's
//! temporary directory, one per process, removed when the process ends cleanly and at the next
//! start otherwise.
//!
//! Fairness between access tokens (the owner of a request): at most `[http] build_queue`
//! builds wait, `build_queue_per_token` of one token; past either the request is refused as
//! [`BUSY`] (503 with Retry-After) rather than queued behind another token's flood. A full
//! cache makes room by dropping the oldest entry of the token that holds the most, so one
//! token asking for many dates pushes out its own pages, not the others'.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use rusqlite::Connection;

use crate::assess::StatusDoc;
use crate::config::Config;
use crate::domain::CountyCode;
use crate::output::report::{self, Options};
use crate::store::tokens::Scope;

/// County bundles kept at most (ten counties, a few as-of dates each).
const MAX_BUNDLES: usize = 24;

/// Status documents and daily series kept at most.
const MAX_DOCS: usize = 64;

/// A folder of built files.
#[derive(Debug)]
pub struct Built {
    /// The folder the files are in.
    pub dir: PathBuf,
    /// Every file written, relative paths under `dir` by way of their full path.
    pub files: Vec<PathBuf>,
    pub doc: Arc<StatusDoc>,
}

impl Drop for Built {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Entry<T> {
    value: Arc<T>,
    built: Instant,
    version: i64,
    /// The access token whose request built it.
    owner: i64,
}

/// The error of a request refused because too many builds wait: the pages answer 503 with
/// Retry-After.
pub const BUSY: &str = "too many pages are being prepared: try again in a few seconds";

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

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
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

#[derive(Clone)]
enum Value {
    Doc(Arc<StatusDoc>),
    Folder(Arc<Built>),
    Other(Arc<dyn std::any::Any + Send + Sync>),
}

pub struct Cache {
    root: PathBuf,
    /// The folder itself, removed with the cache.
    _dir: tempfile::TempDir,
    max_age: Duration,
    entries: Mutex<HashMap<Key, Entry<Value>>>,
    /// The connection whose `data_version` tells whether another connection wrote.
    watch: Mutex<Option<Connection>>,
    building: tokio::sync::Mutex<u64>,
    queue: Mutex<Queue>,
    max_queue: usize,
    max_queue_per_owner: usize,
}

impl Drop for Cache {
    fn drop(&mut self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The prefix of the cache folders in the temporary directory.
const ROOT_PREFIX: &str = "gwmon-web-";

impl Cache {
    pub fn new(cfg: &Config) -> std::io::Result<Self> {
        let tmp = std::env::temp_dir();
        remove_abandoned(&tmp);
        // A new folder under a random name, mode 0700, created in one step: a folder of the
        // same name made beforehand by another local user is never adopted, and no other user
        // can read or replace what is built in it.
        let dir = tempfile::Builder::new()
            .prefix(&format!("{ROOT_PREFIX}{}-", std::process::id()))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&tmp)?;
        let root = dir.path().to_path_buf();
        Ok(Cache {
            root,
            _dir: dir,
            max_age: Duration::from_secs(cfg.http.cache_s),
            entries: Mutex::new(HashMap::new()),
            watch: Mutex::new(None),
            building: tokio::sync::Mutex::new(0),
            queue: Mutex::new(Queue::default()),
            max_queue: cfg.http.build_queue,
            max_queue_per_owner: cfg.http.build_queue_per_token,
        })
    }

    /// Forgets every built document and folder (a reloaded configuration changes them all).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The store's change counter: it moves whenever another connection commits.
    fn version(&self, db: &Path) -> Result<i64, String> {
        let mut w = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        if w.is_none() {
            *w = Some(crate::store::open_ro(db).map_err(|e| e.to_string())?);
        }
        let conn = w.as_ref().ok_or("no connection")?;
        conn.pragma_query_value(None, "data_version", |r| r.get::<_, i64>(0))
            .map_err(|e| {
                *w = None;
                e.to_string()
            })
    }

    fn lookup(&self, key: Key, version: i64) -> Option<Value> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(&key)?;
        (e.version == version || e.built.elapsed() < self.max_age).then(|| e.value.as_ref().clone())
    }

    fn insert(&self, key: Key, value: Value, version: i64, owner: i64) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let is_folder = matches!(key, Key::County(..) | Key::City(_));
        let limit = if is_folder { MAX_BUNDLES } else { MAX_DOCS };
        let same_kind = |k: &Key| matches!(k, Key::County(..) | Key::City(_)) == is_folder;
        map.remove(&key);
        while map.keys().filter(|k| same_kind(k)).count() >= limit {
            // The owner holding the most entries of this kind gives up its oldest.
            let mut held: HashMap<i64, usize> = HashMap::new();
            for (_, e) in map.iter().filter(|(k, _)| same_kind(k)) {
                *held.entry(e.owner).or_default() += 1;
            }
            let most = held.values().copied().max().unwrap_or(0);
            let oldest = map
                .iter()
                .filter(|(k, e)| same_kind(k) && held.get(&e.owner) == Some(&most))
                .min_by_key(|(_, e)| e.built)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            key,
            Entry {
                value: Arc::new(value),
                built: Instant::now(),
                version,
                owner,
            },
        );
    }

    /// A place in the build queue for `owner`, or [`BUSY`].
    fn admit(&self, owner: i64) -> Result<Ticket<'_>, String> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let mine = q.by_owner.get(&owner).copied().unwrap_or(0);
        if q.total >= self.max_queue || mine >= self.max_queue_per_owner {
            return Err(BUSY.to_string());
        }
        q.total += 1;
        *q.by_owner.entry(owner).or_default() += 1;
        Ok(Ticket { cache: self, owner })
    }

    /// The entry for `key`, built by `build` (on a blocking thread, one build at a time) when
    /// there is none or it is stale.
    async fn get<F>(&self, db: &Path, key: Key, owner: i64, build: F) -> Result<Value, String>
    where
        F: FnOnce(PathBuf) -> Result<Value, String> + Send + 'static,
    {
        let version = self.version(db)?;
        if let Some(v) = self.lookup(key, version) {
            return Ok(v);
        }
        let _ticket = self.admit(owner)?;
        let mut n = self.building.lock().await;
        // Built by the request this one waited for.
        if let Some(v) = self.lookup(key, version) {
            return Ok(v);
        }
        *n += 1;
        let dir = self.root.join(n.to_string());
        let value = tokio::task::spawn_blocking(move || build(dir))
            .await
            .map_err(|e| format!("building the page's figures failed: {e}"))??;
        self.insert(key, value.clone(), version, owner);
        Ok(value)
    }

    /// The status document as of `as_of`.
    pub async fn doc(
        &self,
        cfg: &Arc<Config>,
        db: &Path,
        as_of: Date,
        owner: i64,
    ) -> Result<Arc<StatusDoc>, String> {
        let (cfg, path) = (Arc::clone(cfg), db.to_owned());
        let v = self
            .get(db, Key::Doc(as_of), owner, move |_| {
                let conn = crate::store::open_ro(&path).map_err(|e| e.to_string())?;
                crate::assess::status(&cfg, &conn, as_of)
                    .map(|d| Value::Doc(Arc::new(d)))
                    .map_err(|e| e.to_string())
            })
            .await?;
        match v {
            Value::Doc(d) => Ok(d),
            Value::Folder(f) => Ok(Arc::clone(&f.doc)),
            Value::Other(_) => {
                Err("the cache held something else where a document was expected".into())
            }
        }
    }

    /// A value of type `T` under `key`, computed by `build` on a blocking thread.
    pub async fn computed<T, F>(
        &self,
        db: &Path,
        key: Key,
        owner: i64,
        build: F,
    ) -> Result<Arc<T>, String>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Result<T, String> + Send + 'static,
    {
        let v = self
            .get(db, key, owner, move |_| {
                build().map(|t| Value::Other(Arc::new(t) as Arc<dyn std::any::Any + Send + Sync>))
            })
            .await?;
        match v {
            Value::Other(any) => any
                .downcast::<T>()
                .map_err(|_| "the cache held another type under this key".to_string()),
            _ => Err("the cache held a document where a value was expected".into()),
        }
    }

    /// County `code`'s bundle as of `as_of`: the folder `gwmon report --county` writes.
    pub async fn county(
        &self,
        cfg: &Arc<Config>,
        db: &Path,
        code: CountyCode,
        as_of: Date,
        owner: i64,
    ) -> Result<Arc<Built>, String> {
        let (cfg, path) = (Arc::clone(cfg), db.to_owned());
        let v = self
            .get(db, Key::County(code, as_of), owner, move |dir| {
                let out =
                    report::report_with(&cfg, &path, as_of, Some(code), &dir, Options::default());
                match out {
                    Ok(o) => Ok(Value::Folder(Arc::new(Built {
                        dir,
                        files: o.files,
                        doc: Arc::new(o.status),
                    }))),
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(&dir);
                        Err(e.to_string())
                    }
                }
            })
            .await?;
        folder(v)
    }

    /// The city folder (its chart and CSV) as of `as_of`.
    pub async fn city(
        &self,
        cfg: &Arc<Config>,
        db: &Path,
        as_of: Date,
        owner: i64,
    ) -> Result<Arc<Built>, String> {
        let doc = self.doc(cfg, db, as_of, owner).await?;
        let v = self
            .get(
                db,
                Key::City(as_of),
                owner,
                move |dir| match report::city_bundle(&doc, as_of, &dir) {
                    Ok(files) => Ok(Value::Folder(Arc::new(Built { dir, files, doc }))),
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(&dir);
                        Err(e.to_string())
                    }
                },
            )
            .await?;
        folder(v)
    }
}

fn folder(v: Value) -> Result<Arc<Built>, String> {
    match v {
        Value::Folder(f) => Ok(f),
        _ => Err("the cache held something else where a folder was expected".into()),
    }
}

/// Removes the cache folders of gwmon processes that no longer run (killed before they could
/// remove their own).
fn remove_abandoned(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(ROOT_PREFIX))
            .and_then(|p| p.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// The folder is new, private (0700) and not one of the same-looking name made before.
    #[test]
    fn the_cache_folder_is_new_and_private() {
        let planted = std::env::temp_dir().join(format!("{ROOT_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&planted).unwrap();
        let cfg = Config::embedded().unwrap();
        let cache = Cache::new(&cfg).unwrap();
        assert_ne!(cache.root, planted);
        let mode = std::fs::metadata(&cache.root).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let _ = std::fs::remove_dir_all(&planted);
    }

    fn doc_value() -> Value {
        Value::Other(Arc::new(()) as Arc<dyn std::any::Any + Send + Sync>)
    }

    fn day(n: i8) -> Date {
        jiff::civil::date(2026, 1, n)
    }

    /// A token asking for many dates pushes out its own entries, not another token's.
    #[test]
    fn one_token_cannot_evict_the_others_pages() {
        let cfg = Config::embedded().unwrap();
        let cache = Cache::new(&cfg).unwrap();
        let (city, flood) = (1, 2);
        cache.insert(Key::Doc(day(1)), doc_value(), 0, city);
        cache.insert(Key::Doc(day(2)), doc_value(), 0, city);
        for n in 0..(MAX_DOCS as i64 * 3) {
            let date = jiff::civil::date(2020, 1, 1)
                .checked_add(jiff::Span::new().days(n))
                .unwrap();
            cache.insert(Key::Doc(date), doc_value(), 0, flood);
        }
        assert!(cache.lookup(Key::Doc(day(1)), 0).is_some());
        assert!(cache.lookup(Key::Doc(day(2)), 0).is_some());
        let n = cache.entries.lock().unwrap().len();
        assert_eq!(n, MAX_DOCS);
    }

    /// Past the per-token or the total queue, a build is refused, and a finished one gives its
    /// place back.
    #[test]
    fn the_build_queue_is_bounded_in_all_and_per_token() {
        let mut cfg = Config::embedded().unwrap();
        cfg.http.build_queue = 3;
        cfg.http.build_queue_per_token = 2;
        let cache = Cache::new(&cfg).unwrap();
        let a1 = cache.admit(1).unwrap();
        let _a2 = cache.admit(1).unwrap();
        assert_eq!(cache.admit(1).err().as_deref(), Some(BUSY));
        let _b1 = cache.admit(2).unwrap();
        assert_eq!(cache.admit(3).err().as_deref(), Some(BUSY));
        drop(a1);
        let _c1 = cache.admit(3).unwrap();
    }
}
