//! A county's page and the downloads of its report folder: one file, or all of them as a zip.

use super::*;
use crate::http::cache::BuildError;
use crate::output::wording;

/// A chart of the county page: its inline SVG and download links.
struct Chart {
    number: usize,
    title: String,
    svg: String,
    links: Vec<(String, &'static str)>,
}

/// The plan as the page prints it: the Word document's rows.
struct PlanRows {
    years: Vec<[String; 7]>,
    measures: Vec<[String; 5]>,
    candidates: Vec<[String; 4]>,
    conclusion: String,
}

/// A row of the permit table: the Word document's rows, in its order.
struct IntakeRow<'a> {
    p: &'a PermitExcess,
    state: String,
    class: &'static str,
    permit: String,
    last_year: String,
    ytd: String,
    projected: String,
    excess: String,
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
    permits: Vec<IntakeRow<'a>>,
    bulletin: Vec<crate::output::report::BulletinRow>,
    /// The way out: years, measures, candidates, conclusion (none without an exit deadline).
    plan: Option<PlanRows>,
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

fn intake_rows(c: &CountyStatus) -> Vec<IntakeRow<'_>> {
    crate::output::report::permit_rows(c)
        .into_iter()
        .map(|r| {
            let p = r.p;
            IntakeRow {
                p,
                state: r.state(),
                class: r.class(),
                permit: if p.permit_m3 > 0.0 {
                    wan(p.permit_m3)
                } else {
                    "无证".into()
                },
                last_year: wan(p.last_year_m3),
                ytd: wan(p.ytd_m3),
                projected: wan(p.projected_m3),
                excess: r.projected_excess_m3().map_or(wording::DASH.into(), wan),
            }
        })
        .collect()
}

/// `/county/{code}?as_of=`.
pub async fn county(
    State(s): State<Arc<AppState>>,
    PageGrant(grant): PageGrant,
    Path(code): Path<String>,
    Query(q): Query<AsOf>,
) -> Response {
    let Requested {
        built,
        code,
        grant,
        as_of,
    } = match county_bundle(&s, grant, &code, &q).await {
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
                    .ok_or_else(|| {
                        BuildError::Other(format!("no county {code} in the status document"))
                    })?;
                Ok(county_page(&built, c, grant, as_of, today).render()?)
            },
        )
        .await;
    match page {
        Ok(p) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            p.as_ref().clone(),
        )
            .into_response(),
        Err(e) => PageError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
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
            .map_or(wording::DASH.into(), |x| wording::percent(x, 0)),
        self_assessment: h.self_assessment.clone(),
        exit: h.exit.clone(),
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
        permits: intake_rows(c),
        bulletin: crate::output::report::bulletin_rows(c),
        plan: c.plan.as_ref().map(|p| {
            use crate::output::report::way_out;
            PlanRows {
                years: way_out::year_rows(p),
                measures: way_out::measure_rows(p),
                candidates: way_out::candidate_rows(p),
                conclusion: way_out::conclusion(p),
            }
        }),
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
                        wording::or_dash(t.corr_p, wording::p_value)
                    },
                    p: wording::or_dash(t.mk_p, wording::p_value),
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

/// The name a file of a county's folder is saved under: the county and the as-of date around
/// its own name, so that downloads of several counties and dates can sit in one folder
/// (`清徐县_自评估图表_2026-06-30.docx`).
fn download_name(county: &str, file: &str, as_of: &str) -> String {
    match file.rsplit_once('.') {
        Some((stem, ext)) => format!("{county}_{stem}_{as_of}.{ext}"),
        None => format!("{county}_{file}_{as_of}"),
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
    grant: Grant,
    code: &str,
    q: &AsOf,
) -> Result<Requested, Response> {
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
    PageGrant(grant): PageGrant,
    Path((code, name)): Path<(String, String)>,
    Query(q): Query<AsOf>,
) -> Response {
    let Requested { built, code, .. } = match county_bundle(&s, grant, &code, &q).await {
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
        attachment(&download_name(&c.name, &name, &built.doc.as_of))
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
    PageGrant(grant): PageGrant,
    Path(code): Path<String>,
    Query(q): Query<AsOf>,
) -> Response {
    let Requested { built, code, .. } = match county_bundle(&s, grant, &code, &q).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(c) = built.doc.counties.iter().find(|c| c.code == code) else {
        return not_found().await;
    };
    let folder = county_dir(c);
    let name = download_name(&c.name, "自评估图表及数据.zip", &built.doc.as_of);
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
    fn downloads_carry_the_county_and_the_date() {
        assert_eq!(
            download_name("清徐县", "自评估图表.docx", "2026-06-30"),
            "清徐县_自评估图表_2026-06-30.docx"
        );
        assert_eq!(
            download_name("清徐县", "readiness.csv", "2026-06-30"),
            "清徐县_readiness_2026-06-30.csv"
        );
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
