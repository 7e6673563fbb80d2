//! Who is asking: the API's `Authorization: Bearer` header or the pages' session cookie, both
//! carrying an access token of the store ([`crate::store::tokens`]).
//!
//! The cookie holds the token itself (HttpOnly, SameSite=Strict, Secure under TLS), so a
//! revoked token stops working on the next request, pages included, and a restart logs nobody
//! out. Failed attempts — a wrong token at the login form or in a bearer header — are counted
//! per client address; past [`MAX_FAILURES`] in [`FAILURE_WINDOW`] the address is refused (429)
//! until the window has passed. Tokens are never logged.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use axum_extra::headers::HeaderMapExt;
use axum_extra::headers::authorization::{Authorization, Bearer};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use super::AppState;
use crate::domain::time::now_ts;
use crate::store::tokens::{self, Grant};

/// The session cookie's name.
pub const COOKIE: &str = "gwmon_session";

/// Failed attempts an address may make within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: usize = 10;

/// How long a failed attempt counts against its address.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Addresses remembered at most; past it the address with the oldest failure is forgotten.
const MAX_ADDRESSES: usize = 10_000;

/// How often a token's last use is written to the store at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Why a request is not let in.
#[derive(Debug)]
pub enum Denied {
    /// No token in the request.
    Missing,
    /// A token that is not a live token of the store (wrong, or revoked).
    Invalid,
    /// The address made too many failed attempts; retry after this many seconds.
    Limited(u64),
    /// The store could not be read.
    Store(String),
}

/// The token a request carries: the bearer header first, then the session cookie.
pub fn presented(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .typed_get::<Authorization<Bearer>>()
        .map(|a| a.token().trim().to_owned());
    bearer.or_else(|| {
        CookieJar::from_headers(headers)
            .get(COOKIE)
            .map(|c| c.value().to_owned())
    })
}

/// The client's address: the peer, or behind a proxy (`[http] behind_proxy`) the address the
/// proxy saw, the last of `X-Forwarded-For`.
pub fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if state.cfg().http.behind_proxy
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return ip;
    }
    peer.ip()
}

/// Whether the browser reached us over HTTPS: our own TLS, or behind a proxy that says so
/// (`X-Forwarded-Proto: https`). The session cookie is then `Secure`.
pub fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.tls
        || (state.cfg().http.behind_proxy
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https")))
}

/// Refuses a form posted from another site (cross-site request forgery on `/login` and
/// `/logout`): the `Origin` header, or the `Referer` when a browser sends no `Origin`, must name
/// this host (`X-Forwarded-Host` behind a proxy). A request with neither is a script's, not a
/// browser's, and passes.
#[allow(clippy::result_large_err)]
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> Result<(), axum::response::Response> {
    use axum::response::IntoResponse;
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let Some(from) = value("origin").or_else(|| value("referer")) else {
        return Ok(());
    };
    let host = if state.cfg().http.behind_proxy {
        value("x-forwarded-host").or_else(|| value("host"))
    } else {
        value("host")
    };
    // The authority of the origin: after the scheme, up to the path.
    let authority = from
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    if host.is_some_and(|h| !h.is_empty() && h.eq_ignore_ascii_case(authority)) {
        return Ok(());
    }
    Err((
        axum::http::StatusCode::FORBIDDEN,
        "此请求来自其他网站，已拒绝。请从本站的登录页面登录。",
    )
        .into_response())
}

/// Checks the request's token against the store.
pub async fn authorize(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
) -> Result<Grant, Denied> {
    let Some(token) = presented(headers) else {
        return Err(Denied::Missing);
    };
    verify(state, client, token).await
}

/// Checks `token` for `client`: the limiter first, then the store.
pub async fn verify(state: &AppState, client: IpAddr, token: String) -> Result<Grant, Denied> {
    if let Some(wait) = state.logins.blocked(client, Instant::now()) {
        return Err(Denied::Limited(wait.as_secs().max(1)));
    }
    let readers = std::sync::Arc::clone(&state.readers);
    let found = tokio::task::spawn_blocking(move || check(&readers, &token))
        .await
        .map_err(|e| Denied::Store(e.to_string()))?;
    match found {
        Ok(Some(grant)) => {
            if state.touched.due(grant.id, Instant::now()) {
                let (db, readers) = (state.db.clone(), std::sync::Arc::clone(&state.readers));
                tokio::task::spawn_blocking(move || touch(&db, &readers, grant.id));
            }
            Ok(grant)
        }
        Ok(None) => {
            state.logins.failed(client, Instant::now());
            tracing::info!(client = %client, "refused a request with an unknown or revoked token");
            Err(Denied::Invalid)
        }
        Err(e) => Err(Denied::Store(e)),
    }
}

fn check(readers: &super::Readers, token: &str) -> Result<Option<Grant>, String> {
    match readers.with(|conn| tokens::check(conn, token)) {
        Ok(g) => Ok(g),
        // A store from before access tokens: there are none to match.
        Err(crate::store::StoreError::Sql(e)) if e.to_string().contains("no such table") => {
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Writes a token's last use; a store that cannot be written (a read-only copy on a reporting
/// machine) only loses the time.
fn touch(db: &Path, readers: &super::Readers, id: i64) {
    // A PostgreSQL store's connections can write: one of the readers' records it.
    if crate::store::postgres_url(db).is_some() {
        if let Err(e) = readers.with(|conn| tokens::touch(conn, id, now_ts())) {
            tracing::debug!(token = id, error = %e, "could not record a token's last use");
        }
        return;
    }
    let result = rusqlite::Connection::open(db).and_then(|conn| {
        conn.busy_timeout(Duration::from_secs(2))?;
        Ok(conn)
    });
    let done = result
        .map_err(crate::store::StoreError::from)
        .and_then(|conn| tokens::touch(&conn, id, now_ts()));
    if let Err(e) = done {
        tracing::debug!(token = id, error = %e, "could not record a token's last use");
    }
}

/// Failed attempts per client address.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl LoginLimiter {
    /// How long `client` must wait, when it has used up its failures.
    pub fn blocked(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let q = map.get_mut(&client)?;
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW)
        {
            q.pop_front();
        }
        if q.is_empty() {
            map.remove(&client);
            return None;
        }
        (q.len() >= MAX_FAILURES).then(|| FAILURE_WINDOW.saturating_sub(now.duration_since(q[0])))
    }

    /// Counts a failed attempt of `client`.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&client) {
            let oldest = map
                .iter()
                .min_by_key(|(_, q)| q.back().copied())
                .map(|(ip, _)| *ip);
            if let Some(ip) = oldest {
                map.remove(&ip);
            }
        }
        let q = map.entry(client).or_default();
        q.push_back(now);
        while q.len() > MAX_FAILURES {
            q.pop_front();
        }
    }
}

/// When each token's last use was written.
#[derive(Default)]
pub struct TouchLog {
    written: Mutex<HashMap<i64, Instant>>,
}

impl TouchLog {
    /// True when token `id`'s use should be written now (and notes that it is).
    pub fn due(&self, id: i64, now: Instant) -> bool {
        let mut map = self.written.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&id) {
            Some(t) if now.duration_since(*t) < TOUCH_EVERY => false,
            _ => {
                map.insert(id, now);
                true
            }
        }
    }
}

/// The session cookie holding `value`: for the whole site, out of scripts' reach, never sent
/// from another site, over TLS only when the site is served over TLS.
fn session(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build()
}

/// The `Set-Cookie` value that keeps `token` for the browser session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    session(token.to_owned(), secure).to_string()
}

/// The `Set-Cookie` value that removes the session.
pub fn cleared_cookie(secure: bool) -> String {
    let mut c = session(String::new(), secure);
    c.make_removal();
    c.to_string()
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_passes() {
        let l = LoginLimiter::default();
        let a: IpAddr = "192.0.2.7".parse().unwrap();
        let b: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert_eq!(l.blocked(a, t0), None, "attempt {i}");
            l.failed(a, t0);
        }
        let wait = l.blocked(a, t0 + Duration::from_secs(1)).unwrap();
        assert!(
            wait <= FAILURE_WINDOW && wait > Duration::from_secs(500),
            "{wait:?}"
        );
        assert_eq!(l.blocked(b, t0), None, "another address is not affected");
        assert_eq!(l.blocked(a, t0 + FAILURE_WINDOW), None);
    }

    #[test]
    fn tokens_come_from_the_bearer_header_or_the_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert(
            header::COOKIE,
            "a=1; gwmon_session=gw_abc; b=2".parse().unwrap(),
        );
        assert_eq!(presented(&h).as_deref(), Some("gw_abc"));
        h.insert(header::AUTHORIZATION, "Bearer gw_def".parse().unwrap());
        assert_eq!(presented(&h).as_deref(), Some("gw_def"));
    }

    /// The session cookie is the site's, out of scripts' reach, never sent cross-site, Secure
    /// under TLS; clearing it expires it.
    #[test]
    fn the_session_cookie_is_strict_and_cleared_by_expiry() {
        let c = session_cookie("gw_abc", false);
        for part in [
            "gwmon_session=gw_abc",
            "Path=/",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Secure"), "{c}");
        assert!(session_cookie("gw_abc", true).contains("Secure"));
        let gone = cleared_cookie(true);
        assert!(gone.starts_with("gwmon_session=;"), "{gone}");
        assert!(
            gone.contains("Max-Age=0") && gone.contains("Secure"),
            "{gone}"
        );
    }

    #[test]
    fn a_token_use_is_written_once_a_minute() {
        let log = TouchLog::default();
        let t0 = Instant::now();
        assert!(log.due(1, t0));
        assert!(!log.due(1, t0 + Duration::from_secs(5)));
        assert!(log.due(2, t0));
        assert!(log.due(1, t0 + TOUCH_EVERY));
    }
}
