//! The API, for a bureau's own tools: `Authorization: Bearer <token>` on every request.
//!
//! - `GET /api/v1/status?as_of=DATE`: the `gwmon status --json` document for the as-of date
//!   (default today), cut to the token's scope: a county token gets its own county and none of
//!   the city's figures.
//! - `GET /api/v1/counties/{code}/daily?from=&to=&format=json|csv`: the county's daily
//!   withdrawal (intakes that count towards its quota) and each of its wells' daily mean level,
//!   from `from` (default 1 January of `to`'s year) to `to` (default today, never later).
//!
//! Errors are JSON `{"error": "..."}` with 400 (a bad parameter), 401 (no token, or a wrong or
//! revoked one; `WWW-Authenticate: Bearer`), 403 (another county), 404, 429 or 503.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{self, Denied};
use super::cache::Key;
use super::daily::{daily_csv, daily_series};
use super::pages::{AsOf, as_of, county_of};
use crate::domain::time::{now_ts, parse_date};
use crate::store::tokens::{Grant, Scope};

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() }).to_string();
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gwmon\""),
        );
    }
    r
}

/// The grant of an API request: without a valid bearer token, a JSON error saying why.
pub struct ApiGrant(pub Grant);

#[axum::async_trait]
impl FromRequestParts<Arc<AppState>> for ApiGrant {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        s: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = super::peer_of(parts);
        grant(s, peer, &parts.headers).await.map(ApiGrant)
    }
}

/// The grant of an API request, or the error response.
async fn grant(s: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<Grant, Response> {
    let client = auth::client(s, peer, headers);
    auth::authorize(s, client, headers).await.map_err(|d| match d {
        Denied::Missing => error(
            StatusCode::UNAUTHORIZED,
            "no access token: send Authorization: Bearer <token> (made with `gwmon token add`)",
        ),
        Denied::Invalid => error(
            StatusCode::UNAUTHORIZED,
            "the access token is not valid (wrong, or revoked): ask the city water bureau for a new one",
        ),
        Denied::Limited(secs) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed attempts from this address: retry in {secs} s"),
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Denied::Store(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot read the store: {e}"),
        ),
    })
}

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_string_pretty(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /api/v1/status`.
pub async fn status(
    State(s): State<Arc<AppState>>,
    ApiGrant(g): ApiGrant,
    Query(q): Query<AsOf>,
) -> Response {
    let as_of = match as_of(&s, q.as_of.as_deref()) {
        Ok(d) => d,
        Err(r) => return error(r.status(), r.en()),
    };
    let doc = match s.cache.doc(&s.cfg(), &s.db, as_of, g.id).await {
        Ok(d) => d,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let scope = g.scope;
    let body = s
        .cache
        .computed(&s.db, Key::StatusBody(as_of, scope), g.id, move || {
            let mut value = serde_json::to_value(doc.as_ref())?;
            if let Scope::County(code) = scope {
                let name = doc
                    .counties
                    .iter()
                    .find(|c| c.code == code)
                    .map(|c| c.name.as_str());
                scope_to_county(&mut value, code, name);
            }
            Ok(serde_json::to_string_pretty(&value)?)
        })
        .await;
    match body {
        Ok(b) => (
            [(header::CONTENT_TYPE, "application/json")],
            b.as_ref().clone(),
        )
            .into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Cuts a status document to one county: its own entry, and the warnings that name it. The
/// city's budgets, the other counties and the city-wide ingest figures are removed.
fn scope_to_county(v: &mut serde_json::Value, code: crate::domain::CountyCode, name: Option<&str>) {
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    obj.remove("city");
    obj.remove("ingest");
    let code_s = code.to_string();
    if let Some(serde_json::Value::Array(counties)) = obj.get_mut("counties") {
        counties.retain(|c| c.get("code").and_then(|x| x.as_str()) == Some(code_s.as_str()));
    }
    if let Some(serde_json::Value::Array(warnings)) = obj.get_mut("warnings") {
        warnings.retain(|w| {
            w.as_str()
                .is_some_and(|w| w.contains(code_s.as_str()) || name.is_some_and(|n| w.contains(n)))
        });
    }
}

#[derive(Debug, Deserialize)]
pub struct DailyQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// `GET /api/v1/counties/{code}/daily`.
pub async fn daily(
    State(s): State<Arc<AppState>>,
    ApiGrant(g): ApiGrant,
    Path(code): Path<String>,
    Query(q): Query<DailyQuery>,
) -> Response {
    let code = match county_of(&s, g, &code) {
        Ok(c) => c,
        Err(r) => return error(r.status(), r.en()),
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("format={other}: expected json or csv"),
            );
        }
    };
    let today = s.cfg().clock.day_of(now_ts());
    let (from, to) = match daily_range(&q, today) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let cfg = s.cfg();
    let db = s.db.clone();
    let built = s
        .cache
        .computed(&s.db, Key::Daily(code, from, to), g.id, move || {
            Ok(daily_series(&cfg, &db, code, from, to)?)
        })
        .await;
    let daily = match built {
        Ok(d) => d,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    if csv {
        match daily_csv(&daily) {
            Ok(body) => (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{}-daily-{}-{}.csv\"",
                            daily.county, daily.from, daily.to
                        ),
                    ),
                ],
                body,
            )
                .into_response(),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        }
    } else {
        json(daily.as_ref())
    }
}

/// The days `?from=&to=` ask for: `to` by default today and never later, `from` by default the
/// first of `to`'s year; at most ten years. The error says what to change.
fn daily_range(q: &DailyQuery, today: Date) -> Result<(Date, Date), String> {
    let to = match q.to.as_deref().filter(|t| !t.is_empty()) {
        None => today,
        Some(t) => parse_date(t, "to")?.min(today),
    };
    let from = match q.from.as_deref().filter(|t| !t.is_empty()) {
        None => Date::new(to.year(), 1, 1).unwrap_or(to),
        Some(t) => parse_date(t, "from")?,
    };
    if from > to {
        return Err(format!("from {from} is after to {to}"));
    }
    if to.since(from).map_or(true, |span| span.get_days() > 3660) {
        return Err(format!(
            "from {from} to {to} is more than ten years: ask for a shorter range"
        ));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_county_document_keeps_only_its_county() {
        let code = crate::domain::CountyCode::parse("140121").unwrap();
        let mut v = serde_json::json!({
            "as_of": "2026-11-30",
            "city": {"cap_m3": 1.5e8},
            "ingest": {"readings": 5},
            "warnings": ["清徐县: 3 台计量设施未上报", "阳曲县: 示例", "140121 quota"],
            "counties": [{"code": "140121", "name": "清徐县"}, {"code": "140122", "name": "阳曲县"}]
        });
        scope_to_county(&mut v, code, Some("清徐县"));
        assert!(v.get("city").is_none() && v.get("ingest").is_none());
        assert_eq!(v["counties"].as_array().unwrap().len(), 1);
        assert_eq!(v["counties"][0]["code"], "140121");
        assert_eq!(v["warnings"].as_array().unwrap().len(), 2);
        assert_eq!(v["as_of"], "2026-11-30");
    }
}
