//! The web view's pages, in Chinese, with nothing from outside the server: the login form, a
//! county's page, the city's overview, and the downloads of a county's bundle.
//!
//! A county's page shows the same figures as its report folder, because it is made from that
//! folder: the bundle `gwmon report --county` writes for the page's as-of date, held in memory
//! (see `cache`). The charts are its SVGs, inlined so that they use the page's font (each is
//! drawn with a `viewBox`, so it scales with the page); the tables come from the status
//! document. Without a token a page sends the browser to `/login`; another county's page is 403.
//!
//! By route: `login` (`/`, `/login`, `/logout`), `county` (a county's page and its downloads),
//! `city` (the overview); here what they share — the caller's grant as an extractor
//! ([`PageGrant`]), the as-of date and county a request names, the error page, the stylesheet
//! and font.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use serde::Deserialize;

use super::AppState;
use super::auth::{self, Denied};
use super::cache::{Built, Key};
use crate::analysis::verdict::Status;
use crate::assess::{CountyStatus, PermitExcess, StatusDoc};
use crate::domain::CountyCode;
use crate::domain::time::{now_ts, parse_date};
use crate::domain::volume::wan;
use crate::output::bundle::{self, Bundle};
use crate::output::charts::fonts;
use crate::output::report::{DOCX_NAME, Headline, by_urgency, charts_in, county_dir};
use crate::store::tokens::{Grant, Scope};

mod city;
mod county;
mod login;

pub use city::city;
pub use county::{county, county_file, county_zip};
pub use login::{login, login_form, logout, root};

const CSS: &str = include_str!("../static/gwmon.css");

/// A page that could not be shown, as a page.
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html", config = "src/http/templates/askama.toml")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    scope: Option<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::FORBIDDEN => "无权查看",
            StatusCode::NOT_FOUND => "页面不存在",
            StatusCode::BAD_REQUEST => "请求有误",
            StatusCode::TOO_MANY_REQUESTS => "尝试次数过多",
            _ => "暂时无法显示",
        };
        let page = ErrorPage {
            title,
            message: &self.message,
            scope: None,
        };
        (self.status, html(page.render())).into_response()
    }
}

/// An askama result as an HTML response (a template error is a 500 that says so).
fn html(rendered: askama::Result<String>) -> Response {
    match rendered {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("page template failed: {e}"),
        )
            .into_response(),
    }
}

/// The grant of a page request: without a valid token the page is replaced by the login form
/// (or a refusal saying why).
pub struct PageGrant(pub Grant);

#[axum::async_trait]
impl FromRequestParts<Arc<AppState>> for PageGrant {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        s: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = super::peer_of(parts);
        page_grant(s, peer, &parts.headers).await.map(PageGrant)
    }
}

/// The grant of a page request, or the response that replaces the page.
async fn page_grant(
    s: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Grant, Response> {
    let client = auth::client(s, peer, headers);
    match auth::authorize(s, client, headers).await {
        Ok(g) => Ok(g),
        Err(Denied::Missing) => Err(Redirect::to("/login").into_response()),
        Err(Denied::Invalid) => Err((
            [(
                header::SET_COOKIE,
                auth::cleared_cookie(auth::secure(s, headers)),
            )],
            Redirect::to("/login?expired=1"),
        )
            .into_response()),
        Err(Denied::Limited(secs)) => Err(limited(secs)),
        Err(Denied::Store(e)) => Err(PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("无法读取数据库：{e}"),
        )
        .into_response()),
    }
}

fn limited(secs: u64) -> Response {
    let mut r = PageError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "此地址的令牌错误次数过多，请 {} 分钟后再试。",
            secs.div_ceil(60)
        ),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// `?as_of=YYYY-MM-DD`, by default today; never after today.
#[derive(Debug, Deserialize)]
pub struct AsOf {
    pub as_of: Option<String>,
}

/// Why a request's date or county is refused: a page says it in Chinese, the API in English.
#[derive(Debug)]
pub enum Refusal {
    /// Not a date; the parser's words.
    BadDate {
        given: String,
        reason: String,
    },
    AfterToday {
        date: Date,
        today: Date,
    },
    /// Before any reading could exist (`[ingest] earliest`): nothing to build, and a flood of
    /// such dates would only fill the cache.
    BeforeEarliest {
        date: Date,
        earliest: Date,
    },
    NoCounty(String),
    /// Another county than the token's (`name` is the token's own county).
    OtherCounty {
        scope: Scope,
        name: String,
    },
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::BadDate { .. }
            | Refusal::AfterToday { .. }
            | Refusal::BeforeEarliest { .. } => StatusCode::BAD_REQUEST,
            Refusal::NoCounty(_) => StatusCode::NOT_FOUND,
            Refusal::OtherCounty { .. } => StatusCode::FORBIDDEN,
        }
    }

    /// For a county official.
    pub fn zh(&self) -> String {
        match self {
            Refusal::BadDate { given, .. } => {
                format!("日期“{given}”无效：请写成 年-月-日，例如 2026-11-30。")
            }
            Refusal::AfterToday { date, today } => {
                format!("所选日期 {date} 晚于今天（{today}）：数据只到今天，请选今天或更早的日期。")
            }
            Refusal::BeforeEarliest { date, earliest } => format!(
                "所选日期 {date} 早于 {earliest}：此前没有数据，请选 {earliest} 至今天之间的日期。"
            ),
            Refusal::NoCounty(code) => format!("没有代码为 {code} 的区县。"),
            Refusal::OtherCounty { name, .. } => {
                format!("此令牌只能查看{name}的页面、文件和数据。")
            }
        }
    }

    /// For the API.
    pub fn en(&self) -> String {
        match self {
            Refusal::BadDate { reason, .. } => reason.clone(),
            Refusal::AfterToday { date, today } => {
                format!("as_of {date} is after today ({today}): figures exist only up to today")
            }
            Refusal::BeforeEarliest { date, earliest } => format!(
                "as_of {date} is before {earliest} ([ingest] earliest): give a date from then to today"
            ),
            Refusal::NoCounty(code) => format!("no county {code} in the configuration"),
            Refusal::OtherCounty { scope, .. } => format!("this token is for {scope} only"),
        }
    }
}

/// The as-of date of a request.
pub fn as_of(s: &AppState, q: Option<&str>) -> Result<Date, Refusal> {
    let today = s.cfg().clock.day_of(now_ts());
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(today);
    };
    let date = parse_date(q, "as_of").map_err(|reason| Refusal::BadDate {
        given: q.to_owned(),
        reason,
    })?;
    if date > today {
        return Err(Refusal::AfterToday { date, today });
    }
    let earliest = s.cfg().ingest.earliest;
    if date < earliest {
        return Err(Refusal::BeforeEarliest { date, earliest });
    }
    Ok(date)
}

/// A county of the configuration from a path segment, and the grant's right to it.
pub fn county_of(s: &AppState, grant: Grant, code: &str) -> Result<CountyCode, Refusal> {
    let code = CountyCode::parse(code)
        .filter(|c| s.cfg().counties.iter().any(|x| x.code == *c))
        .ok_or_else(|| Refusal::NoCounty(code.to_owned()))?;
    if !grant.scope.sees(code) {
        let name = match grant.scope {
            Scope::County(own) => s
                .cfg()
                .counties
                .iter()
                .find(|c| c.code == own)
                .map_or_else(|| own.to_string(), |c| c.name.clone()),
            Scope::City => "全市".into(),
        };
        return Err(Refusal::OtherCounty {
            scope: grant.scope,
            name,
        });
    }
    Ok(code)
}

fn page_err(r: Refusal) -> Response {
    PageError::new(r.status(), r.zh()).into_response()
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

pub async fn font() -> Response {
    (
        [
            (header::CONTENT_TYPE, "font/otf"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        fonts::FONT_BYTES,
    )
        .into_response()
}

pub async fn not_found() -> Response {
    PageError::new(StatusCode::NOT_FOUND, "没有这个页面。").into_response()
}

fn scope_label(scope: Scope, doc: &StatusDoc) -> String {
    match scope {
        Scope::City => "全市".into(),
        Scope::County(code) => doc
            .counties
            .iter()
            .find(|c| c.code == code)
            .map_or_else(|| code.to_string(), |c| c.name.clone()),
    }
}

/// A chart's SVG as a page inlines it: the `<svg>` element, without what comes before it.
pub(super) fn inline_svg(svg: &[u8]) -> String {
    let svg = String::from_utf8_lossy(svg);
    svg.find("<svg")
        .map_or_else(String::new, |start| svg[start..].to_owned())
}
