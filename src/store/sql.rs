//! One way to run the store's SQL on either backend: SQLite (`rusqlite::Connection`) or
//! PostgreSQL ([`PgConn`]).
//!
//! Statements are written once in the SQL both dialects read alike, with SQLite's `?N`
//! placeholders; PostgreSQL receives them as `$N`. Parameters are [`Val`]s, which PostgreSQL
//! encodes as whatever type it inferred for the placeholder (an integer bound where it expects a
//! double is sent as a double), and columns are read through [`Col`], which accepts any integer
//! width for an integer and any number for a double. Where the dialects differ (upserts that
//! replace, advisory locks, the schema's catalogue) the caller asks [`Sql::dialect`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::error::Error as StdError;

use postgres::types::{FromSql, IsNull, ToSql, Type};

use super::StoreError;

/// Which SQL the connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement parameter.
#[derive(Clone, Copy, Debug)]
pub enum Val<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

macro_rules! val_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Val<'_> {
            fn from(v: $t) -> Self {
                Val::Int(v as i64)
            }
        }
        impl From<&$t> for Val<'_> {
            fn from(v: &$t) -> Self {
                Val::Int(*v as i64)
            }
        }
    )*};
}
val_from_int!(i64, i32, u32, u16, u8, usize);

impl From<u64> for Val<'_> {
    fn from(v: u64) -> Self {
        Val::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Val<'_> {
    fn from(v: bool) -> Self {
        Val::Int(i64::from(v))
    }
}
impl From<f64> for Val<'_> {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}
impl From<&f64> for Val<'_> {
    fn from(v: &f64) -> Self {
        Val::Real(*v)
    }
}
impl<'a> From<&'a str> for Val<'a> {
    fn from(v: &'a str) -> Self {
        Val::Text(v)
    }
}
impl<'a> From<&'a &str> for Val<'a> {
    fn from(v: &'a &str) -> Self {
        Val::Text(v)
    }
}
impl<'a> From<&'a String> for Val<'a> {
    fn from(v: &'a String) -> Self {
        Val::Text(v)
    }
}
impl<'a> From<&'a [u8]> for Val<'a> {
    fn from(v: &'a [u8]) -> Self {
        Val::Blob(v)
    }
}
impl<'a> From<&'a Vec<u8>> for Val<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Val::Blob(v)
    }
}
impl<'a, const N: usize> From<&'a [u8; N]> for Val<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Val::Blob(v)
    }
}
impl<'a, T: Into<Val<'a>>> From<Option<T>> for Val<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// Parameters for a statement: `vals![a, b, c]`.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::sql::Val::from($v)),*][..]
    };
}
pub use crate::vals;

impl rusqlite::ToSql for Val<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Val::Null => ValueRef::Null,
            Val::Int(i) => ValueRef::Integer(i),
            Val::Real(f) => ValueRef::Real(f),
            Val::Text(s) => ValueRef::Text(s.as_bytes()),
            Val::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

type BoxError = Box<dyn StdError + Sync + Send>;

impl ToSql for Val<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match *self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                _ => i.to_string().to_sql(ty, out),
            },
            Val::Real(f) => match *ty {
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                Type::INT8 if f.fract() == 0.0 => (f as i64).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            Val::Text(s) => s.to_sql(ty, out),
            Val::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A result row of either backend.
pub enum Row<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `i` (from 0) as `T`.
    pub fn get<T: Col>(&self, i: usize) -> Result<T, StoreError> {
        match self {
            Row::Lite(r) => Ok(T::lite(r, i)?),
            Row::Pg(r) => T::pg(r, i).map_err(StoreError::from),
        }
    }
}

/// A Rust type a column reads into on both backends.
pub trait Col: Sized {
    fn lite(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self>;
    fn pg(r: &postgres::Row, i: usize) -> Result<Self, postgres::Error>;
}

/// An integer of any width PostgreSQL returns (`count` is BIGINT, a literal INTEGER).
struct PgInt(i64);
impl<'a> FromSql<'a> for PgInt {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(PgInt(match *ty {
            Type::INT2 => i64::from(i16::from_sql(ty, raw)?),
            Type::INT4 => i64::from(i32::from_sql(ty, raw)?),
            Type::BOOL => i64::from(bool::from_sql(ty, raw)?),
            _ => i64::from_sql(ty, raw)?,
        }))
    }
    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL)
    }
}

/// A number PostgreSQL returns as a double or an integer.
struct PgReal(f64);
impl<'a> FromSql<'a> for PgReal {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(PgReal(match *ty {
            Type::FLOAT4 => f64::from(f32::from_sql(ty, raw)?),
            Type::FLOAT8 => f64::from_sql(ty, raw)?,
            _ => PgInt::from_sql(ty, raw)?.0 as f64,
        }))
    }
    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::FLOAT4 | Type::FLOAT8) || PgInt::accepts(ty)
    }
}

macro_rules! col_via {
    ($t:ty, $pg:ty, $conv:expr) => {
        impl Col for $t {
            fn lite(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
                r.get(i)
            }
            fn pg(r: &postgres::Row, i: usize) -> Result<Self, postgres::Error> {
                r.try_get::<_, $pg>(i).map($conv)
            }
        }
        impl Col for Option<$t> {
            fn lite(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
                r.get(i)
            }
            fn pg(r: &postgres::Row, i: usize) -> Result<Self, postgres::Error> {
                r.try_get::<_, Option<$pg>>(i).map(|v| v.map($conv))
            }
        }
    };
}
col_via!(i64, PgInt, |v: PgInt| v.0);
col_via!(f64, PgReal, |v: PgReal| v.0);
col_via!(bool, PgInt, |v: PgInt| v.0 != 0);
col_via!(String, String, |v: String| v);
col_via!(Vec<u8>, Vec<u8>, |v: Vec<u8>| v);

impl Col for u32 {
    fn lite(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        r.get(i)
    }
    fn pg(r: &postgres::Row, i: usize) -> Result<Self, postgres::Error> {
        // Counts stored as BIGINT: a value outside u32 is clamped, never wrapped.
        r.try_get::<_, PgInt>(i)
            .map(|v| u32::try_from(v.0.max(0)).unwrap_or(u32::MAX))
    }
}

/// A connection either backend's store runs its statements on. Object safe: store functions
/// take `&dyn Sql`, and a `&rusqlite::Connection` coerces to it.
pub trait Sql {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns the rows it changed.
    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<u64, StoreError>;
    /// Runs a query, calling `f` on each row in order.
    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs statements without parameters (`BEGIN`, `COMMIT`, DDL).
    fn batch(&self, sql: &str) -> Result<(), StoreError>;
    /// The SQLite store's file, where other connections to it can be opened (parallel readers).
    fn file(&self) -> Option<&str> {
        None
    }
}

/// The helpers every connection has on top of [`Sql`].
pub trait SqlExt: Sql {
    /// Every row of a query, read by `f`.
    fn rows<T>(
        &self,
        sql: &str,
        params: &[Val<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    fn opt<T>(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut f = Some(f);
        let mut out = None;
        self.each(sql, params, &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, which must have one.
    fn one<T>(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.opt(sql, params, f)?
            .ok_or(StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))
    }

    /// The first column of the first row.
    fn value<T: Col>(&self, sql: &str, params: &[Val<'_>]) -> Result<T, StoreError> {
        self.one(sql, params, |r| r.get(0))
    }

    /// Opens a write transaction: SQLite's takes the write lock at once (an import beside the
    /// daemon waits its turn instead of failing on the upgrade).
    fn begin(&self) -> Result<(), StoreError> {
        self.batch(match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.batch("COMMIT")
    }

    /// Rolls back, ignoring failure (the connection may be the reason).
    fn rollback(&self) {
        let _ = self.batch("ROLLBACK");
    }

    /// Runs `f` in a write transaction: committed when it returns `Ok`, rolled back otherwise.
    fn in_transaction<T>(
        &self,
        f: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.begin()?;
        match f(self).and_then(|v| self.commit().map(|()| v)) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }
}

impl<S: Sql + ?Sized> SqlExt for S {}

impl Sql for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<u64, StoreError> {
        let n = self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(params))?;
        Ok(n as u64)
    }

    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut st = self.prepare_cached(sql)?;
        let mut rows = st.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            f(&Row::Lite(r))?;
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        Ok(self.execute_batch(sql)?)
    }

    fn file(&self) -> Option<&str> {
        self.path().filter(|p| !p.is_empty())
    }
}

impl Sql for rusqlite::Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<u64, StoreError> {
        (**self).exec(sql, params)
    }
    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        (**self).each(sql, params, f)
    }
    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        (**self).batch(sql)
    }
}

/// A PostgreSQL connection with its prepared statements, for one thread.
pub struct PgConn {
    /// Always `Some` until dropped (see the `Drop` impl).
    client: RefCell<Option<postgres::Client>>,
    prepared: RefCell<HashMap<String, postgres::Statement>>,
}

impl PgConn {
    pub fn new(client: postgres::Client) -> Self {
        Self {
            client: RefCell::new(Some(client)),
            prepared: RefCell::new(HashMap::new()),
        }
    }

    /// The client itself, for what the store does only on PostgreSQL (COPY, the catalogue).
    pub fn client(&self) -> std::cell::RefMut<'_, postgres::Client> {
        std::cell::RefMut::map(self.client.borrow_mut(), |c| {
            c.as_mut()
                .expect("a PostgreSQL connection is used only until it is dropped")
        })
    }

    fn statement(&self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(st) = self.prepared.borrow().get(sql) {
            return Ok(st.clone());
        }
        let st = self.client().prepare(&to_postgres(sql))?;
        self.prepared
            .borrow_mut()
            .insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

impl Drop for PgConn {
    /// The blocking client runs a runtime of its own to close the connection, which cannot be
    /// done on a thread that drives async tasks (a web view's or gateway's worker): there it is
    /// closed on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(client));
        }
    }
}

fn pg_params<'a>(params: &'a [Val<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl Sql for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<u64, StoreError> {
        let st = self.statement(sql)?;
        Ok(self.client().execute(&st, &pg_params(params))?)
    }

    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let st = self.statement(sql)?;
        let rows = self.client().query(&st, &pg_params(params))?;
        for r in &rows {
            f(&Row::Pg(r))?;
        }
        Ok(())
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        Ok(self.client().batch_execute(sql)?)
    }
}

/// A store connection of either backend, owned.
pub enum Db {
    Lite(rusqlite::Connection),
    Pg(Box<PgConn>),
}

impl From<rusqlite::Connection> for Db {
    fn from(c: rusqlite::Connection) -> Self {
        Db::Lite(c)
    }
}

impl From<PgConn> for Db {
    fn from(c: PgConn) -> Self {
        Db::Pg(Box::new(c))
    }
}

impl Db {
    /// The SQLite connection, for what only SQLite has (its pragmas, its online backup).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Db::Lite(c) => Some(c),
            Db::Pg(_) => None,
        }
    }
}

impl Sql for Db {
    fn dialect(&self) -> Dialect {
        match self {
            Db::Lite(_) => Dialect::Sqlite,
            Db::Pg(_) => Dialect::Postgres,
        }
    }
    fn exec(&self, sql: &str, params: &[Val<'_>]) -> Result<u64, StoreError> {
        match self {
            Db::Lite(c) => c.exec(sql, params),
            Db::Pg(c) => c.exec(sql, params),
        }
    }
    fn each(
        &self,
        sql: &str,
        params: &[Val<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            Db::Lite(c) => c.each(sql, params, f),
            Db::Pg(c) => c.each(sql, params, f),
        }
    }
    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Db::Lite(c) => c.batch(sql),
            Db::Pg(c) => c.batch(sql),
        }
    }
    fn file(&self) -> Option<&str> {
        self.sqlite().and_then(|c| c.file())
    }
}

/// A statement as PostgreSQL reads it. The store's SQL is SQLite's where the two agree; the few
/// places they do not are written SQLite's way and translated here, in one place:
/// - `json_each(?N) AS a` (the list of ids a query runs over, passed as one JSON array) becomes
///   `jsonb_array_elements_text(…) WITH ORDINALITY`, and `a.key` (the 0-based position) `a.ord - 1`;
///   a bare `json_each(?N)` in `IN (SELECT value FROM …)` becomes the same function;
/// - `INDEXED BY name` (a hint for SQLite's planner) is dropped;
/// - placeholders become `$N` ([`dollar_placeholders`]).
pub fn to_postgres(sql: &str) -> String {
    let mut s = sql.to_string();
    while let Some(at) = s.find("INDEXED BY ") {
        let rest = &s[at + "INDEXED BY ".len()..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let end = at + "INDEXED BY ".len() + name_len;
        s.replace_range(at..end, "");
    }
    let mut aliases = Vec::new();
    let mut from = 0;
    while let Some(found) = s[from..].find("json_each(") {
        let at = from + found;
        let Some(close) = s[at..].find(')').map(|c| at + c) else {
            break;
        };
        let param = s[at + "json_each(".len()..close].to_string();
        let list = format!("jsonb_array_elements_text(CAST(CAST({param} AS TEXT) AS jsonb))");
        let after = &s[close + 1..];
        let replacement;
        let mut end = close + 1;
        if let Some(alias_part) = after.strip_prefix(" AS ") {
            let len = alias_part
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(alias_part.len());
            let alias = alias_part[..len].to_string();
            end += " AS ".len() + len;
            replacement = format!("{list} WITH ORDINALITY AS {alias}(value, ord)");
            aliases.push(alias);
        } else {
            replacement = format!("{list} AS je(value)");
        }
        s.replace_range(at..end, &replacement);
        from = at + replacement.len();
    }
    for a in aliases {
        s = replace_column(&s, &format!("{a}.key"), &format!("({a}.ord - 1)"));
    }
    dollar_placeholders(&s)
}

/// `sql` with every `from` that is a whole reference (not the tail of a longer name, such as
/// `bi.key` for `i.key`, nor the head of one, such as `i.keys`) written as `to`.
fn replace_column(sql: &str, from: &str, to: &str) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(ident) || after.is_some_and(ident) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// SQLite's `?N` (and bare `?`) placeholders as PostgreSQL's `$N`, leaving quoted text alone.
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quoted = false;
    let mut next = 1;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                out.push('$');
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    while let Some(d) = chars.next_if(char::is_ascii_digit) {
                        out.push(d);
                    }
                } else {
                    out.push_str(&next.to_string());
                    next += 1;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// PostgreSQL stores for the store's own tests: a schema of its own in the development
/// machine's database (`GWMON_TEST_PG`, else postgres://postgres@127.0.0.1:5432/test), dropped
/// with the value.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::atomic::{AtomicU32, Ordering};

    pub(crate) struct PgSchema {
        base: String,
        name: String,
    }

    impl PgSchema {
        pub(crate) fn new() -> PgSchema {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let base = std::env::var("GWMON_TEST_PG")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let name = format!(
                "gwmon_ut_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let mut c = postgres::Client::connect(&base, postgres::NoTls).expect(
                "PostgreSQL at GWMON_TEST_PG or 127.0.0.1:5432 (database test): run .ci/run to install and start it",
            );
            c.batch_execute(&format!(
                "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            ))
            .unwrap();
            PgSchema { base, name }
        }

        pub(crate) fn url(&self) -> String {
            let sep = if self.base.contains('?') { '&' } else { '?' };
            format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
        }

        /// A writer's connection to the schema, migrated.
        pub(crate) fn conn(&self) -> super::PgConn {
            crate::store::open_pg(&self.url()).unwrap()
        }
    }

    impl Drop for PgSchema {
        fn drop(&mut self) {
            if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
                let _ = c.batch_execute(&format!(
                    "SET client_min_messages = warning; DROP SCHEMA IF EXISTS {} CASCADE",
                    self.name
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE x = ?1 AND y = '?' AND z IN (?, ?12)"),
            "SELECT a FROM t WHERE x = $1 AND y = '?' AND z IN ($1, $12)"
        );
    }

    #[test]
    fn sqlite_only_phrases_become_postgresql() {
        assert_eq!(
            to_postgres(
                "SELECT i.key, (SELECT max(day) FROM daily_volume INDEXED BY daily_volume_imported WHERE intake_id = i.value)
                 FROM json_each(?1) AS i WHERE i.value IN (SELECT value FROM json_each(?5))"
            ),
            "SELECT (i.ord - 1), (SELECT max(day) FROM daily_volume  WHERE intake_id = i.value)
                 FROM jsonb_array_elements_text(CAST(CAST($1 AS TEXT) AS jsonb)) WITH ORDINALITY AS i(value, ord) WHERE i.value IN (SELECT value FROM jsonb_array_elements_text(CAST(CAST($5 AS TEXT) AS jsonb)) AS je(value))"
        );
    }

    #[test]
    fn only_whole_references_to_a_key_are_rewritten() {
        assert_eq!(
            replace_column(
                "SELECT i.key, bi.key, i.keys FROM t",
                "i.key",
                "(i.ord - 1)"
            ),
            "SELECT (i.ord - 1), bi.key, i.keys FROM t"
        );
    }

    #[test]
    fn sqlite_runs_through_the_common_interface() {
        common_interface(&rusqlite::Connection::open_in_memory().unwrap());
    }

    #[test]
    fn postgresql_runs_through_the_common_interface() {
        let schema = testing::PgSchema::new();
        common_interface(&schema.conn());
    }

    /// Types, transactions and reads through [`Sql`], on either backend.
    fn common_interface(conn: &dyn Sql) {
        conn.batch(match conn.dialect() {
            Dialect::Sqlite => "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, x REAL, b BLOB)",
            Dialect::Postgres => {
                "CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, b BYTEA)"
            }
        })
        .unwrap();
        let k = String::from("a");
        conn.in_transaction(|c| {
            c.exec(
                "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
                vals![&k, 3u32, 1.5, &b"zz"[..]],
            )
        })
        .unwrap();
        let err = conn.in_transaction(|c| {
            c.exec("INSERT INTO t VALUES ('b', 1, 1, NULL)", &[])?;
            c.exec("INSERT INTO t VALUES ('a', 1, 1, NULL)", &[])
        });
        assert!(err.is_err());
        let rows = conn
            .rows("SELECT k, n, x, b FROM t ORDER BY k", &[], |r| {
                Ok((
                    r.get::<String>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<f64>(2)?,
                    r.get::<Option<Vec<u8>>>(3)?,
                ))
            })
            .unwrap();
        assert_eq!(rows, [("a".into(), 3, 1.5, Some(b"zz".to_vec()))]);
        assert_eq!(
            conn.opt("SELECT n FROM t WHERE k = ?1", vals!["b"], |r| r
                .get::<i64>(0))
                .unwrap(),
            None
        );
    }
}
