//! The web view's pages, in Chinese, with nothing from outside the server: the login form, a
//! county's page, the city's overview, and the downloads of a county's bundle.
//!
//! A county's page shows the same figures as its report folder, because it is made from that
//! folder: the bundle `gwmon report --county` writes for the page's as-of date, held in memory
//! (see `cache`). The charts are its SVGs, inlined so that they use the page's font (each is
//! drawn with a `viewBox`, so it scales with the page); the tables come from the status
//! document. Without a token a page sends the browser to `/login`; another county's page is 403.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
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

const CSS: &str = include_str!("static/gwmon.css");

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

/// `/`: the token's county, or the city overview.
pub async fn root(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match page_grant(&s, peer, &headers).await {
        Ok(g) => home(g).into_response(),
        Err(r) => r,
    }
}

fn home(g: Grant) -> Redirect {
    match g.scope {
        Scope::City => Redirect::to("/city"),
        Scope::County(c) => Redirect::to(&format!("/county/{c}")),
    }
}

#[derive(Template)]
#[template(path = "login.html", config = "src/http/templates/askama.toml")]
struct Login<'a> {
    error: Option<&'a str>,
    scope: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
}

/// `GET /login`.
pub async fn login_form(Query(q): Query<LoginQuery>) -> Response {
    let error = q
        .expired
        .is_some()
        .then_some("令牌已失效（撤销或错误），请输入新的访问令牌。");
    html(Login { error, scope: None }.render())
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: a good token sets the session cookie and goes home.
pub async fn login(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if let Err(r) = auth::same_origin(&s, &headers) {
        return r;
    }
    let client = auth::client(&s, peer, &headers);
    let token = f.token.trim().to_owned();
    let failed = |msg: &str| {
        (
            StatusCode::UNAUTHORIZED,
            html(
                Login {
                    error: Some(msg),
                    scope: None,
                }
                .render(),
            ),
        )
            .into_response()
    };
    if token.is_empty() {
        return failed("请输入访问令牌。");
    }
    match auth::verify(&s, client, token.clone()).await {
        Ok(g) => (
            [(
                header::SET_COOKIE,
                auth::session_cookie(&token, auth::secure(&s, &headers)),
            )],
            home(g),
        )
            .into_response(),
        Err(Denied::Invalid | Denied::Missing) => {
            failed("令牌无效或已撤销。请核对后重试，或向市水务局索取新的令牌。")
        }
        Err(Denied::Limited(secs)) => limited(secs),
        Err(Denied::Store(e)) => PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("无法读取数据库：{e}"),
        )
        .into_response(),
    }
}

/// `POST /logout`.
pub async fn logout(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = auth::same_origin(&s, &headers) {
        return r;
    }
    (
        [(
            header::SET_COOKIE,
            auth::cleared_cookie(auth::secure(&s, &headers)),
        )],
        Redirect::to("/login"),
    )
        .into_response()
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

/// A chart of the county page: its inline SVG and download links.
struct Chart {
    number: usize,
    title: String,
    svg: String,
    links: Vec<(String, &'static str)>,
}

/// A row of the intakes tables.
struct IntakeRow<'a> {
    p: &'a PermitExcess,
    permit: String,
    ytd: String,
    projected: String,
}

struct WellRow<'a> {
    id: &'a str,
    name: &'a str,
    aquifer: &'a str,
    direction: &'static str,
    class: &'static str,
    slope: String,
    /// The decisive test's p (Hirsch–Slack), or what decided the well.
    decisive_p: String,
    /// The uncorrected seasonal test's p.
    p: String,
    recent: String,
    months: String,
    years: String,
    sufficient: &'static str,
    /// Outlier months, steps, dry or stopped.
    flags: String,
}

#[derive(Template)]
#[template(path = "county.html", config = "src/http/templates/askama.toml")]
struct CountyPage<'a> {
    scope: Option<String>,
    doc: &'a StatusDoc,
    c: &'a CountyStatus,
    h: Headline,
    as_of: String,
    today: String,
    last_year: String,
    coverage: String,
    /// The deadlines with their dates: "2026-06-30（已逾期 153 天）".
    self_assessment: String,
    exit: String,
    criteria: Vec<(&'static str, &'static str, &'static str, &'a str)>,
    charts: Vec<Chart>,
    over: Vec<IntakeRow<'a>>,
    projected_over: Vec<IntakeRow<'a>>,
    unpermitted: Vec<IntakeRow<'a>>,
    wells: Vec<WellRow<'a>>,
    downloads: Vec<(String, String)>,
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Pass => "ready",
        Status::AtRisk => "at_risk",
        Status::Fail => "not_ready",
        Status::InsufficientData => "insufficient_data",
    }
}

fn intake_rows(list: &[PermitExcess]) -> Vec<IntakeRow<'_>> {
    list.iter()
        .map(|p| IntakeRow {
            p,
            permit: if p.permit_m3 > 0.0 {
                wan(p.permit_m3)
            } else {
                "无取水许可".into()
            },
            ytd: wan(p.ytd_m3),
            projected: wan(p.projected_m3),
        })
        .collect()
}

/// A chart's SVG as a page inlines it: the `<svg>` element, without what comes before it.
fn inline_svg(svg: &[u8]) -> String {
    let svg = String::from_utf8_lossy(svg);
    svg.find("<svg")
        .map_or_else(String::new, |start| svg[start..].to_owned())
}

/// `/county/{code}?as_of=`.
pub async fn county(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<AsOf>,
) -> Response {
    let Requested {
        built,
        code,
        grant,
        as_of,
    } = match county_bundle(&s, peer, &headers, &code, &q).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let today = s.cfg().clock.day_of(now_ts());
    let page = s
        .cache
        .computed(
            &s.db,
            Key::Page(code, as_of, today, grant.scope),
            grant.id,
            move || {
                let c = built
                    .doc
                    .counties
                    .iter()
                    .find(|c| c.code == code)
                    .ok_or_else(|| format!("no county {code} in the status document"))?;
                county_page(&built, c, grant, as_of, today)
                    .render()
                    .map_err(|e| format!("page template failed: {e}"))
            },
        )
        .await;
    match page {
        Ok(p) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            p.as_ref().clone(),
        )
            .into_response(),
        Err(e) => PageError::new(StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

fn county_page<'a>(
    built: &'a Built,
    c: &'a CountyStatus,
    grant: Grant,
    as_of: Date,
    today: Date,
) -> CountyPage<'a> {
    let doc = built.doc.as_ref();
    let dir = county_dir(c);
    let file = |name: &str| built.bundle.get(&bundle::join(&dir, name));
    let query = if as_of == today {
        String::new()
    } else {
        format!("?as_of={as_of}")
    };
    let charts = (1..)
        .zip(charts_in(built.bundle.in_folder(&dir).map(|(n, _)| n)))
        .map(|(number, f)| {
            let svg = file(&format!("{}.svg", f.stem))
                .map(inline_svg)
                .unwrap_or_default();
            let links = [("png", "PNG"), ("svg", "SVG"), ("csv", "CSV")]
                .into_iter()
                .map(|(ext, label)| (format!("{}.{ext}", f.stem), label))
                .filter(|(name, _)| file(name).is_some())
                .map(|(name, label)| (format!("/county/{}/files/{name}{query}", c.code), label))
                .collect();
            Chart {
                number,
                title: f.title,
                svg,
                links,
            }
        })
        .collect();
    let mut downloads: Vec<(String, String)> = vec![(
        format!("/county/{}/bundle.zip{query}", c.code),
        format!("全部文件（{}.zip）", county_dir(c)),
    )];
    let mut names: Vec<String> = built
        .bundle
        .in_folder(&dir)
        .map(|(n, _)| n.to_owned())
        .filter(|n| n.ends_with(".docx") || n.ends_with(".csv") || n.ends_with(".md"))
        .collect();
    names.sort_by_key(|n| (n.as_str() != DOCX_NAME, n.clone()));
    downloads.extend(
        names
            .into_iter()
            .map(|n| (format!("/county/{}/files/{n}{query}", c.code), n)),
    );
    let h = Headline::of(doc, c);
    let d = &c.deadlines;
    CountyPage {
        scope: Some(scope_label(grant.scope, doc)),
        doc,
        c,
        as_of: as_of.to_string(),
        today: today.to_string(),
        last_year: wan(c.last_year_m3),
        coverage: c
            .metering
            .coverage
            .map_or("—".into(), |x| format!("{:.0}%", x * 100.0)),
        self_assessment: deadline_text(d.self_assessment.as_deref(), &h.self_assessment),
        exit: deadline_text(d.exit.as_deref(), &h.exit),
        h,
        criteria: c
            .criteria
            .iter()
            .map(|k| {
                (
                    k.label(),
                    k.status.label(),
                    status_class(k.status),
                    k.detail.as_str(),
                )
            })
            .collect(),
        charts,
        over: intake_rows(&c.permits.over),
        projected_over: intake_rows(&c.permits.projected_over),
        unpermitted: intake_rows(&c.permits.unpermitted),
        wells: c
            .wells
            .iter()
            .map(|w| {
                let t = &w.trend;
                WellRow {
                    id: &w.id,
                    name: &w.name,
                    aquifer: w.aquifer_label,
                    direction: t.direction.label(),
                    class: match t.direction {
                        crate::analysis::levels::Direction::Rising => "ready",
                        crate::analysis::levels::Direction::Stable => "",
                        crate::analysis::levels::Direction::Declining => "not_ready",
                        crate::analysis::levels::Direction::InsufficientData => "insufficient_data",
                    },
                    slope: t
                        .sen_slope_m_per_year
                        .map_or("—".into(), |x| format!("{x:+.2}")),
                    decisive_p: if t.decided_by == "recent_window" {
                        "近期窗口".into()
                    } else {
                        t.corr_p.map_or("—".into(), |x| format!("{x:.3}"))
                    },
                    p: t.mk_p.map_or("—".into(), |x| format!("{x:.3}")),
                    recent: t.recent_label(),
                    months: format!("{}/{}", t.n_months, t.window_months),
                    years: format!("{:.1}", t.years_of_data),
                    sufficient: if t.sufficient { "充足" } else { "不足" },
                    flags: t.flags_label(),
                }
            })
            .collect(),
        downloads,
    }
}

fn deadline_text(date: Option<&str>, days: &str) -> String {
    match date {
        Some(d) => format!("{d}（{days}）"),
        None => days.to_owned(),
    }
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

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("csv") => "text/csv; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// `Content-Disposition` for a download named `name` (RFC 6266, UTF-8 file names).
fn attachment(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ".-_".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The county folder a request names, with who asks and for which date.
struct Requested {
    built: Arc<Built>,
    code: CountyCode,
    grant: Grant,
    as_of: Date,
}

/// The built county folder a page or download request names, or the response that replaces it
/// (the login form, a refusal, or the reason it could not be built).
async fn county_bundle(
    s: &Arc<AppState>,
    peer: SocketAddr,
    headers: &HeaderMap,
    code: &str,
    q: &AsOf,
) -> Result<Requested, Response> {
    let grant = page_grant(s, peer, headers).await?;
    let code = county_of(s, grant, code).map_err(page_err)?;
    let as_of = as_of(s, q.as_of.as_deref()).map_err(page_err)?;
    let built = s
        .cache
        .county(&s.cfg(), &s.db, code, as_of, grant.id)
        .await
        .map_err(|e| {
            PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("无法生成 {code} 的图表和文件：{e}"),
            )
            .into_response()
        })?;
    Ok(Requested {
        built,
        code,
        grant,
        as_of,
    })
}

/// `/county/{code}/files/{name}?as_of=`: one file of the county's bundle.
pub async fn county_file(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((code, name)): Path<(String, String)>,
    Query(q): Query<AsOf>,
) -> Response {
    let Requested { built, code, .. } = match county_bundle(&s, peer, &headers, &code, &q).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(c) = built.doc.counties.iter().find(|c| c.code == code) else {
        return not_found().await;
    };
    let bytes = (!name.contains('/'))
        .then(|| built.bundle.get(&bundle::join(&county_dir(c), &name)))
        .flatten();
    let Some(bytes) = bytes else {
        return PageError::new(StatusCode::NOT_FOUND, format!("此区县的文件中没有 {name}"))
            .into_response();
    };
    let disposition = if name.ends_with(".svg") || name.ends_with(".png") {
        "inline".to_owned()
    } else {
        attachment(&name)
    };
    (
        [
            (header::CONTENT_TYPE, content_type(&name).to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes.to_vec(),
    )
        .into_response()
}

/// `/county/{code}/bundle.zip?as_of=`: the county's folder as one zip.
pub async fn county_zip(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<AsOf>,
) -> Response {
    let Requested { built, code, .. } = match county_bundle(&s, peer, &headers, &code, &q).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(c) = built.doc.counties.iter().find(|c| c.code == code) else {
        return not_found().await;
    };
    let folder = county_dir(c);
    let name = format!("{folder}-{}.zip", built.doc.as_of);
    let zipped = tokio::task::spawn_blocking(move || zip_folder(&built.bundle, &folder)).await;
    match zipped {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(&name).to_owned()),
                (header::CONTENT_DISPOSITION, attachment(&name)),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => {
            PageError::new(StatusCode::SERVICE_UNAVAILABLE, format!("zip: {e}")).into_response()
        }
        Err(e) => {
            PageError::new(StatusCode::SERVICE_UNAVAILABLE, format!("zip: {e}")).into_response()
        }
    }
}

/// The files of `folder` in `bundle` as a zip with that one folder holding them.
fn zip_folder(bundle: &Bundle, folder: &str) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in bundle.in_folder(folder) {
        zip.start_file(format!("{folder}/{name}"), opts)
            .map_err(|e| e.to_string())?;
        zip.write_all(bytes).map_err(|e| e.to_string())?;
    }
    zip.finish()
        .map(|c| c.into_inner())
        .map_err(|e| e.to_string())
}

/// A county row of the city page.
struct CityRow<'a> {
    c: &'a CountyStatus,
    h: Headline,
    silent: usize,
    over: usize,
}

struct BudgetRow {
    label: String,
    quota: String,
    ytd: String,
    projected: String,
    k: String,
}

#[derive(Template)]
#[template(path = "city.html", config = "src/http/templates/askama.toml")]
struct CityPage<'a> {
    scope: Option<String>,
    doc: &'a StatusDoc,
    as_of: String,
    today: String,
    cap: String,
    budgets: Vec<BudgetRow>,
    rows: Vec<CityRow<'a>>,
    chart: String,
    query: String,
}

/// `/city?as_of=` (city tokens only).
pub async fn city(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<AsOf>,
) -> Response {
    let grant = match page_grant(&s, peer, &headers).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    if grant.scope != Scope::City {
        return PageError::new(
            StatusCode::FORBIDDEN,
            "全市概览只对市级令牌开放；区县令牌请打开本区县页面。",
        )
        .into_response();
    }
    let as_of = match as_of(&s, q.as_of.as_deref()) {
        Ok(d) => d,
        Err(e) => return page_err(e),
    };
    let built = match s.cache.city(&s.cfg(), &s.db, as_of, grant.id).await {
        Ok(b) => b,
        Err(e) => {
            return PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("无法生成全市概览：{e}"),
            )
            .into_response();
        }
    };
    let doc = built.doc.as_ref();
    let today = s.cfg().clock.day_of(now_ts());
    let query = if as_of == today {
        String::new()
    } else {
        format!("?as_of={as_of}")
    };
    let chart = built
        .bundle
        .get("city/city.svg")
        .map(inline_svg)
        .unwrap_or_default();
    let all: Vec<&CountyStatus> = doc.counties.iter().collect();
    let rows = by_urgency(&all)
        .into_iter()
        .map(|c| CityRow {
            c,
            h: Headline::of(doc, c),
            silent: c.metering.silent.len(),
            over: c.permits.over.len() + c.permits.unpermitted.len(),
        })
        .collect();
    let budgets = doc
        .city
        .budgets
        .iter()
        .map(|b| BudgetRow {
            label: b.label.clone(),
            quota: wan(b.quota_m3),
            ytd: wan(b.ytd_m3),
            projected: wan(b.projected_m3),
            k: doc.fmt_k(b.k_projected),
        })
        .collect();
    let page = CityPage {
        scope: Some(scope_label(grant.scope, doc)),
        doc,
        as_of: as_of.to_string(),
        today: today.to_string(),
        cap: wan(doc.city.cap_m3),
        budgets,
        rows,
        chart,
        query,
    };
    html(page.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_inlined_from_its_svg_element() {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"1200\" height=\"800\" viewBox=\"0 0 1200 800\">\n<text>&lt;x&gt;</text></svg>";
        let out = inline_svg(svg.as_bytes());
        assert!(out.starts_with("<svg width=\"1200\""), "{out}");
        assert!(out.contains("&lt;x&gt;"));
        assert!(!out.contains("<?xml"));
        assert_eq!(inline_svg(b"not a chart"), "");
    }

    #[test]
    fn downloads_are_named_for_any_browser() {
        let a = attachment("自评估图表.docx");
        assert!(
            a.starts_with("attachment; filename=\"_____.docx\"; filename*=UTF-8''%E8%87%AA"),
            "{a}"
        );
    }
}
