//! The city's overview (city tokens only): the budgets, every county by urgency, chart 5.

use super::*;

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
    /// The springs: the rows the report prints.
    springs: Vec<[String; 7]>,
}

/// `/city?as_of=` (city tokens only).
pub async fn city(
    State(s): State<Arc<AppState>>,
    PageGrant(grant): PageGrant,
    Query(q): Query<AsOf>,
) -> Response {
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
        springs: crate::output::report::way_out::spring_rows(&doc.springs),
    };
    html(page.render())
}
