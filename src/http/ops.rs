//! `GET /healthz` for a load balancer or a monitor and `GET /metrics` for Prometheus: the
//! daemon's ingest health (`gwmon run` only). Read-only; they never touch the writer's
//! connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::AppState;
use crate::assess::devices::{DeviceKind, DeviceState, inventory};
use crate::config::Config;
use crate::domain::time::now_ts;
use crate::ingest::health::{Health, HealthState};

/// How long the silent-device counts of `/metrics` are reused before they are counted again.
const SILENT_REFRESH: Duration = Duration::from_secs(60);

/// When the silent-device gauges of `/metrics` were last counted.
#[derive(Default)]
pub(crate) struct OpsState {
    silent_counted: tokio::sync::Mutex<Option<Instant>>,
}

pub(crate) async fn healthz(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    let Some(health) = &s.health else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            String::new(),
        );
    };
    let (code, body) = match health.state(now_ts()) {
        HealthState::Ok => (StatusCode::OK, serde_json::json!({ "status": "ok" })),
        HealthState::Degraded(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "degraded", "reason": reason }),
        ),
        HealthState::Unhealthy(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "unhealthy", "reason": reason }),
        ),
    };
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

pub(crate) async fn metrics(
    State(s): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    if let Some(token) = &s.metrics_token {
        use subtle::ConstantTimeEq;
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs the token of [http] metrics_token_file\n",
            )
                .into_response();
        }
    }
    metrics_text(s).await.into_response()
}

async fn metrics_text(s: Arc<AppState>) -> impl IntoResponse {
    let Some(health) = &s.health else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            String::new(),
        );
    };
    {
        let mut last = s.ops.silent_counted.lock().await;
        if last.is_none_or(|t| t.elapsed() >= SILENT_REFRESH) {
            let (cfg, db, health) = (s.cfg(), s.db.clone(), Arc::clone(health));
            let counted = tokio::task::spawn_blocking(move || count_silent(&cfg, &db, &health))
                .await
                .unwrap_or(false);
            if counted {
                *last = Some(Instant::now());
            }
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        match &s.gateway {
            Some(g) => health.render() + &g.render(),
            None => health.render(),
        },
    )
}

/// Counts silent and never-reported obliged meters and wells per county and kind into the gauges; false when
/// the store could not be read (the previous counts stay).
fn count_silent(cfg: &Config, db: &std::path::Path, health: &Health) -> bool {
    let Ok(conn) = crate::store::open_read(db) else {
        return false;
    };
    let Ok(devices) = inventory(cfg, &conn, now_ts()) else {
        return false;
    };
    for c in &cfg.counties {
        for kind in [DeviceKind::Meter, DeviceKind::Well] {
            let n = devices
                .iter()
                // Obliged meters only: a farm well without a meter is not silent, it has none.
                .filter(|d| {
                    d.county == c.code && d.kind == kind && d.obliged && d.state != DeviceState::Ok
                })
                .count();
            let label = if kind == DeviceKind::Meter {
                "meter"
            } else {
                "well"
            };
            health.silent_devices(&c.code.to_string(), label, n);
        }
    }
    true
}
