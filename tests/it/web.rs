//! The web view end to end: `gwmon serve` on a free port, a real HTTP client (ureq), tokens made
//! with `gwmon token`, and headless Chromium through the login form where it is installed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::support::*;

/// Connections that never finish a request, connection caps, a flood of page builds.
mod flood;

const AS_OF: &str = "2026-11-27";
const QINGXU: &str = "140121";
const GUJIAO: &str = "140181";

/// One simulated store for the tests that only read it (each makes its own tokens).
fn shared_store() -> &'static Path {
    static STORE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let db = simulated_store_between(dir.path(), "2021-01-01", AS_OF);
            (dir, db)
        })
        .1
}

/// `gwmon token add …` on `db`: (id, token).
fn token(db: &Path, scope: &[&str]) -> (i64, String) {
    let mut args = vec!["token", "--db", db.to_str().unwrap(), "add"];
    args.extend_from_slice(scope);
    args.extend_from_slice(&["--note", "test"]);
    let (code, out, err) = gwmon(&args);
    assert_eq!(code, 0, "{err}");
    let id = err
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("the token's id on stderr");
    (id, out.lines().last().unwrap().to_owned())
}

/// A running `gwmon serve`, killed and reaped on drop.
pub(crate) struct Server {
    child: Child,
    base: String,
}

impl Server {
    pub(crate) fn start(db: &Path, config: Option<&Path>) -> Server {
        let mut cmd = Command::new(GWMON);
        cmd.args(["serve", "--http", "127.0.0.1:0", "--db"]).arg(db);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let mut child = cmd
            .current_dir(REPO)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let base = first
            .trim()
            .strip_prefix("serving ")
            .unwrap_or_else(|| panic!("expected `serving URL`, got {first:?}"))
            .trim_end_matches('/')
            .to_owned();
        Server { child, base }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that reports every status (no redirects followed, no error for 4xx).
fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// GET with a bearer token (or none): (status, headers, body).
pub(crate) fn get(url: &str, token: Option<&str>) -> (u16, ureq::http::HeaderMap, Vec<u8>) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .body_mut()
        .with_config()
        .limit(100 << 20)
        .read_to_vec()
        .unwrap();
    (status, headers, body)
}

pub(crate) fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

fn header<'a>(h: &'a ureq::http::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[test]
fn each_token_sees_its_own_scope_until_revoked() {
    let db = shared_store();
    let (qid, qingxu) = token(db, &["--county", QINGXU]);
    let (_, city) = token(db, &["--city"]);
    let server = Server::start(db, None);
    let q = format!("?as_of={AS_OF}");

    // No token: the API says 401, a page sends the browser to the login form.
    let (code, h, body) = get(&server.url("/api/v1/status"), None);
    assert_eq!(code, 401, "{}", text(&body));
    assert!(header(&h, "www-authenticate").starts_with("Bearer"));
    assert!(text(&body).contains("gwmon token add"));
    let (code, h, _) = get(&server.url(&format!("/county/{QINGXU}")), None);
    assert_eq!((code, header(&h, "location")), (303, "/login"));
    let (code, h, _) = get(&server.url("/"), None);
    assert_eq!((code, header(&h, "location")), (303, "/login"));

    // A county token: its own county, nothing else.
    let (code, h, _) = get(&server.url("/"), Some(&qingxu));
    assert_eq!((code, header(&h, "location")), (303, "/county/140121"));
    let (code, h, body) = get(&server.url(&format!("/county/{QINGXU}{q}")), Some(&qingxu));
    let page = text(&body);
    assert_eq!(code, 200, "{page}");
    assert!(header(&h, "content-type").starts_with("text/html"));
    assert!(page.contains("清徐县") && page.contains(AS_OF), "{page}");
    assert!(page.contains("<svg"), "the charts are inline SVG");
    assert!(!page.contains("<script"), "no script on the page");
    let (code, _, body) = get(&server.url(&format!("/county/{GUJIAO}{q}")), Some(&qingxu));
    assert_eq!(code, 403);
    assert!(
        text(&body).contains("此令牌只能查看清徐县"),
        "{}",
        text(&body)
    );
    let (code, _, body) = get(
        &server.url(&format!("/county/{QINGXU}?as_of=2999-01-01")),
        Some(&qingxu),
    );
    assert_eq!(code, 400);
    assert!(text(&body).contains("晚于今天"), "{}", text(&body));
    let (code, _, _) = get(&server.url("/city"), Some(&qingxu));
    assert_eq!(code, 403);
    let (code, _, _) = get(
        &server.url(&format!("/api/v1/counties/{GUJIAO}/daily")),
        Some(&qingxu),
    );
    assert_eq!(code, 403);
    let (code, _, _) = get(&server.url("/county/999999"), Some(&qingxu));
    assert_eq!(code, 404);
    let (code, _, body) = get(&server.url(&format!("/api/v1/status{q}")), Some(&qingxu));
    assert_eq!(code, 200);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let counties = doc["counties"].as_array().unwrap();
    assert_eq!(counties.len(), 1);
    assert_eq!(counties[0]["code"], QINGXU);
    assert!(
        doc.get("city").is_none(),
        "a county token gets no city figures"
    );

    // The city token: every county and the overview.
    let (code, h, _) = get(&server.url("/"), Some(&city));
    assert_eq!((code, header(&h, "location")), (303, "/city"));
    let (code, _, body) = get(&server.url(&format!("/city{q}")), Some(&city));
    let page = text(&body);
    assert_eq!(code, 200);
    assert!(page.contains("7602.0") && page.contains("7390.0"), "{page}");
    assert!(page.contains("古交市") && page.contains("清徐县"));
    let (code, _, _) = get(&server.url(&format!("/county/{GUJIAO}{q}")), Some(&city));
    assert_eq!(code, 200);
    let (_, _, body) = get(&server.url(&format!("/api/v1/status{q}")), Some(&city));
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["counties"].as_array().unwrap().len(), 10);

    // A bad as-of date and one after today are refused with the reason.
    let (code, _, body) = get(&server.url("/api/v1/status?as_of=2026-13-01"), Some(&city));
    assert_eq!(code, 400, "{}", text(&body));
    let (code, _, body) = get(&server.url("/api/v1/status?as_of=2999-01-01"), Some(&city));
    assert_eq!(code, 400);
    assert!(text(&body).contains("after today"));

    // Revoked: refused from the next request on; the list says when it was last used.
    let (code, out, _) = gwmon(&["token", "--db", db.to_str().unwrap(), "list"]);
    assert_eq!(code, 0);
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{qid} ")))
        .unwrap_or_else(|| panic!("token {qid} in\n{out}"));
    assert!(row.contains(QINGXU) && row.contains("2026") && !out.contains(&qingxu));
    let (code, _, err) = gwmon(&[
        "token",
        "--db",
        db.to_str().unwrap(),
        "revoke",
        &qid.to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = get(&server.url(&format!("/api/v1/status{q}")), Some(&qingxu));
    assert_eq!(code, 401);
    let (code, h, _) = get(&server.url(&format!("/county/{QINGXU}{q}")), Some(&qingxu));
    assert_eq!(code, 303);
    assert!(header(&h, "location").starts_with("/login"));
    let (code, _, _) = get(&server.url(&format!("/api/v1/status{q}")), Some(&city));
    assert_eq!(code, 200, "other tokens still work");
}

#[test]
fn every_response_carries_the_security_headers() {
    let db = shared_store();
    let server = Server::start(db, None);
    for path in ["/login", "/api/v1/status", "/county/140121", "/nowhere"] {
        let (_, h, _) = get(&server.url(path), None);
        let csp = header(&h, "content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{path}");
    }
    let (code, h, body) = get(&server.url("/static/font.otf"), None);
    assert_eq!(code, 200);
    assert_eq!(header(&h, "content-type"), "font/otf");
    assert!(body.len() > 1_000_000);
}

#[test]
fn the_api_gives_the_figures_of_status_json() {
    let db = shared_store();
    let (_, city) = token(db, &["--city"]);
    let (_, qingxu) = token(db, &["--county", QINGXU]);
    let server = Server::start(db, None);
    let (code, cli, err) = gwmon(&[
        "status",
        "--db",
        db.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let cli: serde_json::Value = serde_json::from_str(&cli).unwrap();
    let (_, _, body) = get(
        &server.url(&format!("/api/v1/status?as_of={AS_OF}")),
        Some(&city),
    );
    let api: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(api["counties"], cli["counties"]);
    assert_eq!(api["city"], cli["city"]);
    let county = cli["counties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == QINGXU)
        .unwrap();

    // The county page prints the status document's figures, and its permit table has the Word
    // document's rows: one per intake, every state it is in.
    let (code, _, body) = get(
        &server.url(&format!("/county/{QINGXU}?as_of={AS_OF}")),
        Some(&qingxu),
    );
    assert_eq!(code, 200);
    let page = text(&body);
    for key in ["ytd_m3", "projected_m3"] {
        let figure = gwmon::domain::volume::wan(county[key].as_f64().unwrap());
        assert!(page.contains(&figure), "{key} {figure}");
    }
    // The permit section: from its heading to the next one.
    let start = page.find("<h2>超许可与无证取水</h2>").unwrap() + 1;
    let table = &page[start..start + page[start..].find("<h2>").unwrap()];
    let mut ids: Vec<&str> = ["unpermitted", "over", "projected_over", "over_last_year"]
        .iter()
        .flat_map(|k| county["permits"][k].as_array().unwrap())
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        table.matches("<tr>").count(),
        ids.len() + 1,
        "a header and a row per intake"
    );
    for id in ids {
        assert_eq!(table.matches(&format!("<td>{id}</td>")).count(), 1, "{id}");
    }
    // The 公报 table: each aquifer's mean year-end depth, as status has it.
    for b in county["bulletin_by_aquifer"].as_array().unwrap() {
        let depth = format!("<td>{:.2}</td>", b["mean_depth_m"].as_f64().unwrap());
        assert!(page.contains(&depth), "{depth}");
    }

    // Daily volumes from 1 January sum to the year-to-date withdrawal of the status document.
    let daily = format!("/api/v1/counties/{QINGXU}/daily?from=2026-01-01&to={AS_OF}");
    let (code, h, body) = get(&server.url(&daily), Some(&qingxu));
    assert_eq!(code, 200, "{}", text(&body));
    assert!(header(&h, "content-type").starts_with("application/json"));
    let d: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let days = d["days"].as_array().unwrap();
    assert_eq!(days.first().unwrap()["date"], "2026-01-01");
    assert_eq!(days.last().unwrap()["date"], AS_OF);
    let sum: f64 = days.iter().filter_map(|x| x["volume_m3"].as_f64()).sum();
    // The days are what the meters reported; the silent days of obliged meters are imputed on
    // top, in the status document only.
    let ytd = county["ytd_m3"].as_f64().unwrap()
        - county["ytd_imputed_m3"].as_f64().unwrap()
        - county["ytd_unmetered_m3"].as_f64().unwrap();
    assert!(
        (sum - ytd).abs() <= 1e-6 * ytd.max(1.0),
        "daily sum {sum} vs ytd_m3 {ytd}"
    );
    let wells = d["wells"].as_array().unwrap();
    assert!(!wells.is_empty());
    assert!(
        days.iter()
            .any(|x| !x["level_m"].as_object().unwrap().is_empty())
    );

    // The CSV holds the same numbers.
    let (code, h, body) = get(&server.url(&format!("{daily}&format=csv")), Some(&qingxu));
    assert_eq!(code, 200);
    assert!(header(&h, "content-type").starts_with("text/csv"));
    let mut r = csv::Reader::from_reader(body.as_slice());
    let head = r.headers().unwrap().clone();
    assert_eq!(&head[0], "date");
    assert_eq!(&head[1], "volume_m3");
    assert_eq!(head.len(), 4 + wells.len());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), days.len());
    let csv_sum: f64 = rows.iter().filter_map(|x| x[1].parse::<f64>().ok()).sum();
    assert!(
        (csv_sum - sum).abs() < 0.001 * rows.len() as f64,
        "{csv_sum} vs {sum}"
    );
    let first_well = wells[0].as_str().unwrap();
    let (json_level, csv_level) = days
        .iter()
        .zip(&rows)
        .find_map(|(j, c)| {
            let l = j["level_m"][first_well].as_f64()?;
            Some((l, c[4].parse::<f64>().ok()?))
        })
        .expect("a day with a level of the first well");
    assert!((json_level - csv_level).abs() < 0.0005);

    // Nothing after today; a bad range says what is wrong.
    let (code, _, body) = get(
        &server.url(&format!(
            "/api/v1/counties/{QINGXU}/daily?from=2026-02-01&to=2026-01-01"
        )),
        Some(&qingxu),
    );
    assert_eq!(code, 400);
    assert!(text(&body).contains("after"), "{}", text(&body));
    let (code, _, _) = get(
        &server.url(&format!("/api/v1/counties/{QINGXU}/daily?format=xml")),
        Some(&qingxu),
    );
    assert_eq!(code, 400);
}

#[test]
fn the_county_bundle_downloads_one_file_or_all_of_them() {
    let db = shared_store();
    let (_, qingxu) = token(db, &["--county", QINGXU]);
    let server = Server::start(db, None);
    let q = format!("?as_of={AS_OF}");
    let docx = "%E8%87%AA%E8%AF%84%E4%BC%B0%E5%9B%BE%E8%A1%A8.docx"; // 自评估图表.docx
    let (code, h, body) = get(
        &server.url(&format!("/county/{QINGXU}/files/{docx}{q}")),
        Some(&qingxu),
    );
    assert_eq!(code, 200, "{}", text(&body));
    assert!(header(&h, "content-type").contains("wordprocessingml"));
    // Saved as 清徐县_自评估图表_<as-of>.docx.
    let saved: String = format!("清徐县_自评估图表_{AS_OF}.docx")
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    assert!(
        header(&h, "content-disposition").contains(&format!("filename*=UTF-8''{saved}")),
        "{}",
        header(&h, "content-disposition")
    );
    assert_eq!(&body[..2], b"PK");
    let (code, _, body) = get(
        &server.url(&format!("/county/{QINGXU}/files/readiness.csv{q}")),
        Some(&qingxu),
    );
    assert_eq!(code, 200);
    assert!(text(&body).contains("2026"));
    for bad in ["..%2F..%2Fstatus.json", "status.json", "nothing.csv"] {
        let (code, _, _) = get(
            &server.url(&format!("/county/{QINGXU}/files/{bad}{q}")),
            Some(&qingxu),
        );
        assert_eq!(code, 404, "{bad}");
    }
    let (code, h, body) = get(
        &server.url(&format!("/county/{QINGXU}/bundle.zip{q}")),
        Some(&qingxu),
    );
    assert_eq!(code, 200);
    assert_eq!(header(&h, "content-type"), "application/zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    for want in [
        "140121-清徐县/自评估图表.docx",
        "140121-清徐县/readiness.png",
        "140121-清徐县/readiness.svg",
        "140121-清徐县/readiness.csv",
        "140121-清徐县/summary.md",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    assert!(
        names.iter().all(|n| n.starts_with("140121-清徐县/")),
        "{names:?}"
    );
    let mut summary = String::new();
    zip.by_name("140121-清徐县/summary.md")
        .unwrap()
        .read_to_string(&mut summary)
        .unwrap();
    assert!(summary.contains("清徐县"));
    let (code, _, _) = get(
        &server.url(&format!("/county/{GUJIAO}/bundle.zip{q}")),
        Some(&qingxu),
    );
    assert_eq!(code, 403);
}

#[test]
fn login_sets_a_strict_session_cookie_and_failures_are_limited() {
    let db = shared_store();
    let (_, qingxu) = token(db, &["--county", QINGXU]);
    let server = Server::start(db, None);
    let post = |token: &str| {
        let mut resp = client()
            .post(&server.url("/login"))
            .send_form([("token", token)])
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.body_mut().read_to_string().unwrap();
        (status, headers, body)
    };
    let (code, _, body) = get(&server.url("/login"), None);
    assert_eq!(code, 200);
    assert!(text(&body).contains("访问令牌"));
    let (code, h, _) = post(&qingxu);
    assert_eq!((code, header(&h, "location")), (303, "/county/140121"));
    let cookie = header(&h, "set-cookie");
    for want in ["gwmon_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(want), "{want} in {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();
    let mut resp = client()
        .get(&server.url(&format!("/county/{QINGXU}?as_of={AS_OF}")))
        .header("Cookie", &session)
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.body_mut().read_to_string().unwrap().contains("清徐县"));

    let (code, _, body) = post("gw_not-a-token");
    assert_eq!(code, 401);
    assert!(body.contains("令牌无效"), "{body}");
    // The limit counts per address; this test's server is its own, so it starts at one failure.
    let mut limited = None;
    for attempt in 2..=20 {
        let (code, h, _) = post(&format!("gw_wrong-{attempt}"));
        if code == 429 {
            assert!(header(&h, "retry-after").parse::<u64>().unwrap() > 0);
            limited = Some(attempt);
            break;
        }
        assert_eq!(code, 401);
    }
    assert_eq!(
        limited,
        Some(11),
        "the eleventh failure within ten minutes is refused"
    );
    let (code, _, _) = post(&qingxu);
    assert_eq!(code, 429, "a limited address cannot try even a good token");
}

#[test]
fn a_hostile_registry_name_is_shown_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "<script>alert(\"x\")</script>&<b>井";
    let cfgdir = Path::new(REPO).join("config");
    let wells = std::fs::read_to_string(cfgdir.join("wells.csv")).unwrap();
    let mut replaced = false;
    let wells: String = wells
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            if !replaced && cols.len() > 2 && cols[2] == QINGXU {
                replaced = true;
                let mut c: Vec<String> = cols.iter().map(|s| s.to_string()).collect();
                c[1] = format!("\"{}\"", hostile.replace('"', "\"\""));
                c.join(",")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(replaced);
    std::fs::write(dir.path().join("wells.csv"), wells + "\n").unwrap();
    std::fs::copy(cfgdir.join("intakes.csv"), dir.path().join("intakes.csv")).unwrap();
    std::fs::copy(cfgdir.join("projects.csv"), dir.path().join("projects.csv")).unwrap();
    std::fs::copy(cfgdir.join("taiyuan.toml"), dir.path().join("gwmon.toml")).unwrap();
    let config = dir.path().join("gwmon.toml");
    let db = simulated_store_for(&config, dir.path(), "2024-01-01", AS_OF);
    let (code, out, err) = gwmon(&[
        "token",
        "--config",
        config.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "add",
        "--county",
        QINGXU,
    ]);
    assert_eq!(code, 0, "{err}");
    let token = out.lines().last().unwrap().to_owned();
    let server = Server::start(&db, Some(&config));
    let (code, _, body) = get(
        &server.url(&format!("/county/{QINGXU}?as_of={AS_OF}")),
        Some(&token),
    );
    let page = text(&body);
    assert_eq!(code, 200, "{page}");
    assert!(
        !page.contains("<script"),
        "markup from the registry reached the page"
    );
    assert!(!page.contains("<b>井"));
    assert!(
        page.contains("&lt;script&gt;"),
        "the name is shown, escaped"
    );
}

#[test]
fn the_listener_speaks_tls_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: openssl could not make a test certificate");
        return;
    }
    let text_cfg = std::fs::read_to_string(Path::new(REPO).join("config/taiyuan.toml"))
        .unwrap()
        .replace(
            "# cert_file = \"/etc/gwmon/tls/cert.pem\"",
            &format!("cert_file = \"{}\"", cert.display()),
        )
        .replace(
            "# key_file = \"/etc/gwmon/tls/key.pem\"",
            &format!("key_file = \"{}\"", key.display()),
        );
    let cfgdir = Path::new(REPO).join("config");
    for f in ["intakes.csv", "wells.csv", "projects.csv"] {
        std::fs::copy(cfgdir.join(f), dir.path().join(f)).unwrap();
    }
    let config = dir.path().join("gwmon.toml");
    std::fs::write(&config, text_cfg).unwrap();
    let server = Server::start(shared_store(), Some(&config));
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let pem = std::fs::read(&cert).unwrap();
    let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|p| match p {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build(),
        )
        .build()
        .into();
    let mut resp = agent.get(&server.url("/login")).call().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.body_mut()
            .read_to_string()
            .unwrap()
            .contains("访问令牌")
    );
    let mut resp = client()
        .post(&server.url("/login"))
        .send_form([("token", "x")]);
    // A client that does not trust the certificate gets no page.
    assert!(
        resp.as_mut().is_err(),
        "an untrusted certificate must fail the handshake"
    );
}

/// Headless Chromium, driven by ChromeDriver: the login form, a county token, the county page.
/// The screenshot is kept in `target/web-login.png`.
#[test]
fn a_browser_logs_in_and_lands_on_its_county() {
    let (Some(chromium), Some(driver)) = (which("chromium"), which("chromedriver")) else {
        eprintln!("skipped: chromium and chromedriver are not installed (.ci/run installs them)");
        return;
    };
    let db = shared_store();
    let (_, qingxu) = token(db, &["--county", QINGXU]);
    let server = Server::start(db, None);
    let port = free_port();
    let mut driver = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Reap<'a>(&'a mut Child);
    impl Drop for Reap<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _reap = Reap(&mut driver);
    let wd = format!("http://127.0.0.1:{port}");
    wait_until("chromedriver", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let call = |method: &str, path: &str, body: serde_json::Value| -> serde_json::Value {
        let url = format!("{wd}{path}");
        let mut resp = match method {
            "GET" => client().get(&url).call().unwrap(),
            "DELETE" => client().delete(&url).call().unwrap(),
            _ => client()
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string())
                .unwrap(),
        };
        let v: serde_json::Value =
            serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    };
    let session = call(
        "POST",
        "/session",
        serde_json::json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400"]
        }}}}),
    );
    let sid = session["sessionId"].as_str().unwrap().to_owned();
    let s = |p: &str| format!("/session/{sid}{p}");
    call(
        "POST",
        &s("/url"),
        serde_json::json!({"url": server.url("/county/140121")}),
    );
    let landed = call("GET", &s("/url"), serde_json::Value::Null);
    assert!(landed.as_str().unwrap().ends_with("/login"), "{landed}");
    let element = |css: &str| -> String {
        let e = call(
            "POST",
            &s("/element"),
            serde_json::json!({"using": "css selector", "value": css}),
        );
        e.as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    let input = element("#token");
    call(
        "POST",
        &s(&format!("/element/{input}/value")),
        serde_json::json!({"text": qingxu}),
    );
    let button = element("form.login button");
    call(
        "POST",
        &s(&format!("/element/{button}/click")),
        serde_json::json!({}),
    );
    // The click may return before the form's navigation has begun: wait for the page it leads
    // to (a county page on a cold cache takes a moment to build).
    let mut landed = String::new();
    wait_until(
        "the county page after the login",
        Duration::from_secs(60),
        || {
            landed = call("GET", &s("/url"), serde_json::Value::Null)
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let ready = call(
                "POST",
                &s("/execute/sync"),
                serde_json::json!({"script": "return document.readyState", "args": []}),
            );
            !landed.ends_with("/login") && ready == "complete"
        },
    );
    assert!(landed.ends_with("/county/140121"), "{landed}");
    let dom = call("GET", &s("/source"), serde_json::Value::Null);
    let dom = dom.as_str().unwrap();
    assert!(dom.contains("清徐县"), "the county's name in the DOM");
    let verdicts = ["具备退出条件", "存在风险", "尚不具备退出条件", "数据不足"];
    assert!(
        verdicts
            .iter()
            .any(|v| dom.contains("class=\"badge") && dom.contains(v)),
        "a verdict in the DOM"
    );
    let png = call("GET", &s("/screenshot"), serde_json::Value::Null);
    let png = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        png.as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let out = Path::new(REPO).join("target/web-login.png");
    std::fs::write(&out, &png).unwrap();
    eprintln!("screenshot: {}", out.display());
    call("DELETE", &s(""), serde_json::Value::Null);
}

fn which(name: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}

/// A form posted to /login or /logout from another site is refused (cross-site request
/// forgery); the same site's form, and a script that sends no Origin, are not.
#[test]
fn a_cross_site_post_to_login_or_logout_is_refused() {
    let db = shared_store();
    let (_, qingxu) = token(db, &["--county", QINGXU]);
    let server = Server::start(db, None);
    let host = server
        .url("/")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let post = |path: &str, origin: Option<&str>| {
        let mut req = client().post(&server.url(path));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send_form([("token", qingxu.as_str())])
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post("/login", Some("https://evil.example")), 403);
    assert_eq!(post("/logout", Some("https://evil.example")), 403);
    assert_eq!(post("/login", Some(&format!("http://{host}"))), 303);
    assert_eq!(post("/login", None), 303);
    assert_eq!(post("/logout", Some(&format!("http://{host}"))), 303);
}

/// An as-of date before `[ingest] earliest` (or after today) is refused with the range, not
/// built: a flood of such dates cannot fill the cache.
#[test]
fn an_as_of_date_outside_the_data_is_refused() {
    let db = shared_store();
    let (_, qingxu) = token(db, &["--county", QINGXU]);
    let server = Server::start(db, None);
    let (code, _, body) = get(
        &server.url("/api/v1/status?as_of=0001-01-01"),
        Some(&qingxu),
    );
    assert_eq!(code, 400, "{}", text(&body));
    assert!(text(&body).contains("before 2010-01-01"), "{}", text(&body));
    let (code, _, _) = get(
        &server.url("/api/v1/status?as_of=2099-01-01"),
        Some(&qingxu),
    );
    assert_eq!(code, 400);
}
