//! Access tokens of the web view and its API (`gwmon token`, migration 5).
//!
//! A token is 32 bytes from the operating system's random source, written as `gw_` and 64 hex
//! digits. It is shown once, when it is made; the store keeps only its SHA-256. A presented token
//! is hashed and compared with every live hash in constant time, so neither the comparison nor
//! an index lookup tells a caller how close a guess came.

use std::fmt;

use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use super::StoreError;
use super::sql::{Sql, SqlExt};
use crate::domain::CountyCode;
use crate::vals;

/// Who a token lets in: one county, or the city (every county and the city's budgets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    City,
    County(CountyCode),
}

impl Scope {
    /// Whether this scope may see county `code`.
    pub fn sees(self, code: CountyCode) -> bool {
        match self {
            Scope::City => true,
            Scope::County(c) => c == code,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        if s == "city" {
            Some(Scope::City)
        } else {
            CountyCode::parse(s).map(Scope::County)
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::City => f.write_str("city"),
            Scope::County(c) => write!(f, "{c}"),
        }
    }
}

/// A stored token, without its secret.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenInfo {
    pub id: i64,
    pub scope: Scope,
    pub note: String,
    pub created: i64,
    pub last_used: Option<i64>,
    pub revoked: Option<i64>,
}

/// What a presented token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: i64,
    pub scope: Scope,
}

/// The prefix of every token, so one found in a log or a paste is recognisable as gwmon's.
const PREFIX: &str = "gw_";

/// A new random token (`gw_` and 64 hex digits).
pub fn generate() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Runtime("the system's random source failed".into()))?;
    let mut s = String::with_capacity(PREFIX.len() + 64);
    s.push_str(PREFIX);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    Ok(s)
}

/// The SHA-256 of a token, as stored.
pub fn hash(token: &str) -> [u8; 32] {
    let d = digest(&SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Stores a new token for `scope` and returns `(id, token)`: the only time the token is seen.
pub fn add(
    conn: &dyn Sql,
    scope: Scope,
    note: &str,
    now: i64,
) -> Result<(i64, String), StoreError> {
    let token = generate()?;
    let id = conn.value(
        "INSERT INTO access_tokens (scope, sha256, note, created) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        vals![&scope.to_string(), hash(&token).as_slice(), note, now],
    )?;
    Ok((id, token))
}

/// Every token, oldest first. Rows whose scope this build does not know are left out.
pub fn list(conn: &dyn Sql) -> Result<Vec<TokenInfo>, StoreError> {
    let rows = conn.rows(
        "SELECT id, scope, note, created, last_used, revoked FROM access_tokens ORDER BY id",
        &[],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<i64>(3)?,
                r.get::<Option<i64>>(4)?,
                r.get::<Option<i64>>(5)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for (id, scope, note, created, last_used, revoked) in rows {
        if let Some(scope) = Scope::parse(&scope) {
            out.push(TokenInfo {
                id,
                scope,
                note,
                created,
                last_used,
                revoked,
            });
        }
    }
    Ok(out)
}

/// Revokes token `id` from `now` on. Returns false when there is no such token; revoking a
/// revoked token keeps its first revocation time.
pub fn revoke(conn: &dyn Sql, id: i64, now: i64) -> Result<bool, StoreError> {
    let exists: Option<i64> = conn.opt(
        "SELECT id FROM access_tokens WHERE id = ?1",
        vals![id],
        |r| r.get(0),
    )?;
    if exists.is_none() {
        return Ok(false);
    }
    conn.exec(
        "UPDATE access_tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
        vals![id, now],
    )?;
    Ok(true)
}

/// The grant of `token` when it is a live (not revoked) token of the store. Every live hash is
/// compared, each in constant time, whatever matched before.
pub fn check(conn: &dyn Sql, token: &str) -> Result<Option<Grant>, StoreError> {
    let presented = hash(token);
    let rows = conn.rows(
        "SELECT id, scope, sha256 FROM access_tokens WHERE revoked IS NULL",
        &[],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<Vec<u8>>(2)?)),
    )?;
    let mut found = None;
    for (id, scope, stored) in rows {
        let equal: bool = stored.as_slice().ct_eq(presented.as_slice()).into();
        if equal && found.is_none() {
            found = Scope::parse(&scope).map(|scope| Grant { id, scope });
        }
    }
    Ok(found)
}

/// Records that token `id` was used at `now`.
pub fn touch(conn: &dyn Sql, id: i64, now: i64) -> Result<(), StoreError> {
    conn.exec(
        "UPDATE access_tokens SET last_used = ?2 WHERE id = ?1",
        vals![id, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Durability, open_rw};
    use rusqlite::Connection;

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_rw(&dir.path().join("t.db"), Durability::Normal).unwrap();
        (dir, conn)
    }

    #[test]
    fn a_token_is_shown_once_and_stored_only_as_its_hash() {
        let (_d, conn) = store();
        let county = CountyCode::parse("140121").unwrap();
        let (id, token) = add(&conn, Scope::County(county), "清徐县水务局", 100).unwrap();
        assert!(token.starts_with("gw_") && token.len() == 67, "{token}");
        let stored: Vec<u8> = conn
            .query_row(
                "SELECT sha256 FROM access_tokens WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, hash(&token).to_vec());
        let dump: String = conn
            .query_row(
                "SELECT group_concat(scope || note || created) FROM access_tokens",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!dump.contains(&token[3..]));
        assert_eq!(
            check(&conn, &token).unwrap(),
            Some(Grant {
                id,
                scope: Scope::County(county)
            })
        );
    }

    #[test]
    fn wrong_and_revoked_tokens_are_refused() {
        let (_d, conn) = store();
        let (id, token) = add(&conn, Scope::City, "", 100).unwrap();
        let (_, other) = add(&conn, Scope::City, "", 100).unwrap();
        assert_ne!(token, other);
        let mut wrong = token.clone();
        wrong.pop();
        wrong.push('x');
        assert_eq!(check(&conn, &wrong).unwrap(), None);
        assert_eq!(check(&conn, "").unwrap(), None);
        assert!(revoke(&conn, id, 200).unwrap());
        assert!(revoke(&conn, id, 300).unwrap());
        assert_eq!(check(&conn, &token).unwrap(), None);
        assert!(check(&conn, &other).unwrap().is_some());
        assert!(!revoke(&conn, 999, 200).unwrap());
        let listed = list(&conn).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].revoked, Some(200));
        assert_eq!(listed[1].revoked, None);
    }

    #[test]
    fn use_is_recorded() {
        let (_d, conn) = store();
        let (id, _) = add(&conn, Scope::City, "ops", 100).unwrap();
        touch(&conn, id, 150).unwrap();
        assert_eq!(list(&conn).unwrap()[0].last_used, Some(150));
    }
}
