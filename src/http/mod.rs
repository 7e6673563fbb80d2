//! The HTTP listener: one per process, on `[http] listen`.
//!
//! - `ops` — `/healthz` and `/metrics` of the daemon (`gwmon run` only: they report ingest).
//! - `auth` — access tokens: the bearer header of the API, the session cookie of the pages,
//!   the login form and its rate limit.
//! - `cache` — status documents and county bundles built for an as-of date, reused while the
//!   store is unchanged.
//! - `pages` — the read-only web view in Chinese: `/login`, `/county/{code}`, `/city`, the
//!   downloads of a county's bundle.
//! - `api` — `/api/v1/status` and `/api/v1/counties/{code}/daily`.
//! - `tls` — the listener's own TLS (`[http] cert_file`/`key_file`).
//! - `listener` — connections: caps in all and per address, accepting paused near the
//!   open-file limit, TLS-handshake and request-head timeouts.
//!
//! Everything here reads the store through read-only connections; the one write is the time a
//! token was last used, at most once a minute per token. Nothing from a request reaches SQL but
//! as a bound parameter, and every page is rendered by askama, which escapes every value.

mod api;
mod auth;
mod cache;
mod daily;
mod listener;
mod ops;
mod pages;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;
use crate::gateway::metrics::Metrics as GatewayMetrics;
use crate::ingest::health::Health;

pub use tls::{TlsError, load_tls};

/// The Content-Security-Policy of every response: nothing but this server's own files, no
/// inline script, no framing.
const CSP: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A request body larger than this is refused (the login form is the only body).
const MAX_BODY_BYTES: usize = 16 * 1024;

/// A request that takes longer than this is answered 408 (a county bundle on a cold cache takes
/// seconds, not minutes).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What every handler shares.
pub(crate) struct AppState {
    /// The configuration in force: replaced when the daemon reloads it (SIGHUP).
    cfg: std::sync::RwLock<Arc<Config>>,
    pub db: PathBuf,
    /// Ingest health: `Some` in `gwmon run`, whose `/healthz` and `/metrics` report it.
    pub health: Option<Arc<Health>>,
    /// The in-process gateway's counters (`[gateway] enabled`), added to `/metrics`.
    pub gateway: Option<Arc<GatewayMetrics>>,
    pub ops: ops::OpsState,
    pub cache: cache::Cache,
    pub logins: auth::LoginLimiter,
    pub touched: auth::TouchLog,
    /// Read-only connections of the token checks, reused.
    pub readers: Arc<Readers>,
    /// Whether the listener speaks TLS (the session cookie is then `Secure`).
    pub tls: bool,
    /// The bearer token `/metrics` requires, if one is configured.
    pub metrics_token: Option<String>,
}

/// The token of `[http] metrics_token_file`: its first line, trimmed.
pub fn read_metrics_token(cfg: &Config) -> Result<Option<String>, String> {
    let Some(path) = &cfg.http.metrics_token_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "[http] metrics_token_file {}: {e}: make it readable by the user gwmon runs as, or remove the key",
            path.display()
        )
    })?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        return Err(format!(
            "[http] metrics_token_file {} is empty: write the token on its first line",
            path.display()
        ));
    }
    Ok(Some(token))
}

impl AppState {
    /// The configuration in force.
    pub fn cfg(&self) -> Arc<Config> {
        Arc::clone(&self.cfg.read().unwrap_or_else(|p| p.into_inner()))
    }
}

/// How the listener is set up.
pub struct Serve {
    pub cfg: Arc<Config>,
    /// Reloaded configurations (the daemon's SIGHUP): pages and figures follow them.
    pub reload: Option<tokio::sync::watch::Receiver<Arc<Config>>>,
    pub db: PathBuf,
    pub health: Option<Arc<Health>>,
    pub gateway: Option<Arc<GatewayMetrics>>,
    /// TLS of the listener itself; `None` for plain HTTP (or TLS at nginx in front).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Idle read-only connections to the store, taken by a request and put back after it (at most
/// [`Readers::IDLE`] are kept).
pub(crate) struct Readers {
    db: PathBuf,
    idle: std::sync::Mutex<Vec<crate::store::sql::Db>>,
}

impl Readers {
    const IDLE: usize = 4;

    fn new(db: PathBuf) -> Self {
        Readers {
            db,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on an idle connection or a new one (blocking: call from a blocking thread).
    pub fn with<T>(
        &self,
        f: impl FnOnce(&dyn crate::store::sql::Sql) -> Result<T, crate::store::StoreError>,
    ) -> Result<T, crate::store::StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => crate::store::open_read(&self.db)?,
        };
        let out = f(&conn);
        if out.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < Self::IDLE {
                idle.push(conn);
            }
        }
        out
    }
}

/// The application: pages, API and, with ingest health, `/healthz` and `/metrics`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let mut app = Router::new()
        .route("/", get(pages::root))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/static/gwmon.css", get(pages::stylesheet))
        .route("/static/font.otf", get(pages::font))
        .route("/city", get(pages::city))
        .route("/county/:code", get(pages::county))
        .route("/county/:code/files/:name", get(pages::county_file))
        .route("/county/:code/bundle.zip", get(pages::county_zip))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/counties/:code/daily", get(api::daily));
    if state.health.is_some() {
        app = app
            .route("/healthz", get(ops::healthz))
            .route("/metrics", get(ops::metrics));
    }
    app.fallback(pages::not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        // A 503 (a full build queue, the store unavailable) says when to ask again.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::RETRY_AFTER,
            |r: &axum::response::Response| {
                (r.status() == StatusCode::SERVICE_UNAVAILABLE)
                    .then(|| HeaderValue::from_static(RETRY_AFTER_S))
            },
        ))
}

/// The address a request came from (the listener adds it to every connection's requests);
/// unspecified if it is missing, which only a test harness without one would do.
fn peer_of(parts: &axum::http::request::Parts) -> SocketAddr {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0)
}

/// Seconds a 503 asks the client to wait.
const RETRY_AFTER_S: &str = "5";

/// Serves on `listener` until `shutdown` is cancelled and the open connections have their
/// answers.
pub async fn serve(
    listener: TcpListener,
    s: Serve,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let metrics_token = read_metrics_token(&s.cfg).map_err(std::io::Error::other)?;
    let state = Arc::new(AppState {
        metrics_token,
        ops: ops::OpsState::default(),
        cache: cache::Cache::new(&s.cfg),
        logins: auth::LoginLimiter::default(),
        touched: auth::TouchLog::default(),
        readers: Arc::new(Readers::new(s.db.clone())),
        tls: s.tls.is_some(),
        cfg: std::sync::RwLock::new(s.cfg),
        db: s.db,
        health: s.health,
        gateway: s.gateway,
    });
    if let Some(mut rx) = s.reload {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let cfg = Arc::clone(&rx.borrow_and_update());
                *state.cfg.write().unwrap_or_else(|p| p.into_inner()) = cfg;
                // Figures built on the previous configuration are not served again.
                state.cache.clear();
            }
        });
    }
    let limits = listener::Limits::of(&state.cfg());
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    listener::serve(listener, app, s.tls, limits, shutdown).await
}
