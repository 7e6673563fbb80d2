//! `report`: the bundle renders for full, partial and level-less data, says what it is, and its
//! numbers are the status document's; its CSVs open in Excel (or stay plain for scripts), its
//! Word documents convert with LibreOffice and its index.html renders and prints in Chromium.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Width and height of a PNG, read by the png decoder (which also checks the signature and the
/// header chunk).
fn png_size(path: &Path) -> (u32, u32) {
    let file = std::fs::File::open(path).unwrap();
    let reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let info = reader.info();
    (info.width, info.height)
}

/// The rows of a CSV after its header (a UTF-8 byte-order mark is skipped).
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect()
}

const STEMS: [&str; 4] = ["readiness", "cumulative", "monthly", "hydrographs"];

fn check_bundle(out: &Path) -> serde_json::Value {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("status.json")).unwrap()).unwrap();
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    for c in doc["counties"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let dir = out.join(format!("{}-{name}", c["code"].as_str().unwrap()));
        for stem in STEMS {
            let (w, _) = png_size(&dir.join(format!("{stem}.png")));
            assert!(w >= 2400, "{stem}.png is {w} px wide");
            let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
            assert!(svg.contains(name), "{stem}.svg names {name}");
            assert!(svg.contains("<text"), "SVG keeps text as text");
            assert!(svg.contains("示例数据"), "example data is marked on {stem}");
            assert!(dir.join(format!("{stem}.csv")).exists());
            assert!(index.contains(&format!(
                "{}/{stem}.png",
                dir.file_name().unwrap().to_str().unwrap()
            )));
        }
        // Withdrawal by source, and the hydrographs on as many pages as the wells need.
        let (w, _) = png_size(&dir.join("sources.png"));
        assert!(w >= 2400);
        let wells = c["wells"].as_array().map_or(0, Vec::len);
        let pages = wells.div_ceil(12).max(1);
        for p in 2..=pages {
            assert!(dir.join(format!("hydrographs-{p}.png")).exists());
        }
        assert!(!dir.join(format!("hydrographs-{}.png", pages + 1)).exists());
        let svg = std::fs::read_to_string(dir.join("hydrographs.svg")).unwrap();
        assert!(!svg.contains("项未列出"), "every well has its panel");
        let docx = std::fs::read(dir.join("自评估图表.docx")).unwrap();
        assert!(docx.starts_with(b"PK"), "the Word document is a zip");
        assert!(index.contains(&format!(
            "{}/自评估图表.docx",
            dir.file_name().unwrap().to_str().unwrap()
        )));
        let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(summary.contains(name) && summary.contains("结论") && summary.contains("示例数据"));
        assert!(index.contains(c["verdict_label"].as_str().unwrap()));
    }
    let (w, _) = png_size(&out.join("city/city.png"));
    assert!(w >= 2400);
    // The page's font travels with it, with its licence.
    assert!(index.contains("@font-face") && index.contains("fonts/NotoSansSC-gwmon-subset.otf"));
    assert!(
        std::fs::metadata(out.join("fonts/NotoSansSC-gwmon-subset.otf"))
            .unwrap()
            .len()
            > 1_000_000
    );
    assert!(
        std::fs::read_to_string(out.join("fonts/OFL.txt"))
            .unwrap()
            .contains("SIL OPEN FONT LICENSE")
    );
    doc
}

#[test]
fn full_bundle_with_numbers_equal_to_status_and_byte_identical_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store(dir.path());
    let out1 = dir.path().join("r1");
    let out2 = dir.path().join("r2");
    for out in [&out1, &out2] {
        let (code, stdout, err) = gwmon(&[
            "report",
            "--all",
            "--db",
            db.to_str().unwrap(),
            "--as-of",
            "2026-11-27",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(stdout.contains("index.html"), "{stdout}");
    }
    let doc = check_bundle(&out1);
    let (_, json, _) = gwmon(&[
        "status",
        "--db",
        db.to_str().unwrap(),
        "--as-of",
        "2026-11-27",
        "--json",
    ]);
    let status: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        doc, status,
        "status.json in the bundle is the status document"
    );

    for c in status["counties"].as_array().unwrap() {
        let cdir = out1.join(format!(
            "{}-{}",
            c["code"].as_str().unwrap(),
            c["name"].as_str().unwrap()
        ));
        let close = |csv: &str, json: f64| {
            let v: f64 = csv.parse().unwrap();
            assert!(
                (v - json).abs() < 0.0006,
                "{csv} vs {json} in {}",
                cdir.display()
            );
        };
        let rows = csv_rows(&cdir.join("readiness.csv"));
        let ytd = rows.iter().find(|r| r[1] == "本年累计").unwrap();
        close(&ytd[2], c["ytd_m3"].as_f64().unwrap());
        close(&ytd[3], c["quota_m3"].as_f64().unwrap());
        let proj = rows.iter().find(|r| r[1] == "年末预测").unwrap();
        close(&proj[2], c["projected_m3"].as_f64().unwrap());
        let ly = rows.iter().find(|r| r[0] == "2025").unwrap();
        close(&ly[2], c["last_year_m3"].as_f64().unwrap());
        // The cumulative curve ends at the year-to-date figure (summed by day instead of by
        // intake: equal up to rounding).
        let cum = csv_rows(&cdir.join("cumulative.csv"));
        let last_ty = cum.iter().rfind(|r| r[0] == "本年").unwrap();
        // The curve is what the meters reported; the silent days of obliged meters and the
        // users without a meter are estimated on top of it, shown apart.
        let v: f64 = last_ty[3].parse().unwrap();
        // The same figure in 万 m³ beside it, and the day as a date of this year.
        let wan: f64 = last_ty[4].parse().unwrap();
        assert!((wan - v / 1e4).abs() < 0.000_06, "{wan} vs {v}");
        assert!(last_ty[1].starts_with("2026-"), "{last_ty:?}");
        let reported = c["ytd_m3"].as_f64().unwrap()
            - c["ytd_imputed_m3"].as_f64().unwrap()
            - c["ytd_unmetered_m3"].as_f64().unwrap();
        assert!((v - reported).abs() < 0.01, "{v} vs {reported}");
        // The Word appendix, the summary and the readiness chart print the same figures: the
        // headline volumes in 万 m³, each aquifer's decisive rate, one permit row per intake.
        let word = docx_text(&cdir.join("自评估图表.docx"));
        let summary = std::fs::read_to_string(cdir.join("summary.md")).unwrap();
        let chart = std::fs::read_to_string(cdir.join("readiness.svg")).unwrap();
        let wan = |key: &str| gwmon::domain::volume::wan(c[key].as_f64().unwrap());
        for (what, key) in [("本年累计", "ytd_m3"), ("年末预测", "projected_m3")] {
            let figure = format!("{what} {} 万 m³", wan(key));
            assert!(word.contains(&figure), "Word lacks {figure}");
        }
        for l in c["level_by_aquifer"].as_array().unwrap() {
            let Some(v) = l["mean_annual_change_m"].as_f64() else {
                continue;
            };
            let rate = format!("{v:+.2}");
            let label = l["aquifer_label"].as_str().unwrap();
            assert!(word.contains(&rate), "Word lacks {label} {rate}");
            assert!(summary.contains(&rate), "summary lacks {label} {rate}");
            assert!(
                chart.contains(&format!("{label}：决定性年变幅 {rate} m/a")),
                "chart lacks {label} {rate}"
            );
            assert!(
                l["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("v = {rate} m/a")),
                "the criterion's text has {label} {rate}"
            );
            let levels = csv_rows(&cdir.join("readiness_levels.csv"));
            let row = levels.iter().find(|r| r[0] == label).unwrap();
            assert!(
                (row[3].parse::<f64>().unwrap() - v).abs() < 0.0006,
                "{row:?}"
            );
        }
        // The 公报 table: each aquifer's mean year-end depth and change, as status has them.
        for b in c["bulletin_by_aquifer"].as_array().unwrap() {
            let label = b["aquifer_label"].as_str().unwrap();
            let depth = format!("{:.2}", b["mean_depth_m"].as_f64().unwrap());
            let change = format!("{:+.2}", b["mean_depth_change_m"].as_f64().unwrap());
            let row = word
                .lines()
                .skip_while(|l| !l.starts_with(&format!("{label}（")))
                .take(5)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                row.contains(&depth) && row.contains(&change),
                "{label}: {row}"
            );
        }
        let permits = &word[word.find("七、取水许可").unwrap()..word.find("八、在线计量").unwrap()];
        let mut ids: Vec<&str> = ["unpermitted", "over", "projected_over", "over_last_year"]
            .iter()
            .flat_map(|k| c["permits"][k].as_array().unwrap())
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            assert_eq!(
                permits.matches(id).count(),
                1,
                "{id}: one row in the permit table"
            );
        }
        // Hydrograph rows are the wells' monthly means.
        let hyd = csv_rows(&cdir.join("hydrographs.csv"));
        let months: usize = c["wells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["trend"]["n_months"].as_u64().unwrap() as usize)
            .sum();
        assert_eq!(hyd.len(), months);
    }
    // Every text the report puts on a chart is covered by the bundled font.
    let mut texts = String::new();
    for c in status["counties"].as_array().unwrap() {
        texts.push_str(c["name"].as_str().unwrap());
        texts.push_str(c["verdict_label"].as_str().unwrap());
        for k in c["criteria"].as_array().unwrap() {
            texts.push_str(k["detail"].as_str().unwrap());
        }
        for w in c["wells"].as_array().unwrap() {
            texts.push_str(w["id"].as_str().unwrap());
        }
    }
    assert_eq!(
        gwmon::output::charts::fonts::missing_glyphs(&texts),
        Vec::<char>::new()
    );

    // Quota change mid-year shows on 清徐县's cumulative chart as two steps.
    let qx = out1.join("140121-清徐县");
    let quota_rows: Vec<Vec<String>> = csv_rows(&qx.join("cumulative.csv"))
        .into_iter()
        .filter(|r| r[0] == "管控指标")
        .collect();
    assert_eq!(quota_rows.len(), 2, "{quota_rows:?}");

    // The CSVs are for Excel: a byte-order mark, then Chinese headers with units.
    let monthly = std::fs::read(qx.join("monthly.csv")).unwrap();
    assert!(
        monthly.starts_with("\u{feff}年份,月份,取水量（m³）,取水量（万 m³）\n".as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&monthly[..40])
    );

    // Deterministic: the same store, config and as-of date give identical SVG, CSV and Word
    // bytes.
    let mut compared = 0;
    let mut docx = 0;
    for entry in walk(&out1) {
        let ext = entry.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == "svg" || ext == "csv" || ext == "docx" {
            docx += usize::from(ext == "docx");
            let other = out2.join(entry.strip_prefix(&out1).unwrap());
            assert_eq!(
                std::fs::read(&entry).unwrap(),
                std::fs::read(&other).unwrap(),
                "{}",
                entry.display()
            );
            compared += 1;
        }
    }
    assert!(compared >= 10 * 10 + 2, "{compared} files compared");
    assert_eq!(docx, 10, "one Word document per county");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn one_month_of_data_and_no_level_data_still_render_with_notes() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store_between(dir.path(), "2026-11-01", "2026-11-27");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DELETE FROM level_readings; DELETE FROM daily_level; DELETE FROM monthly_level;",
    )
    .unwrap();
    drop(conn);
    let out = dir.path().join("r");
    let (code, _, err) = gwmon(&[
        "report",
        "--all",
        "--db",
        db.to_str().unwrap(),
        "--as-of",
        "2026-11-27",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let doc = check_bundle(&out);
    for c in doc["counties"].as_array().unwrap() {
        // Never ready without data: insufficient data, unless a criterion fails outright (a
        // failure decides whatever else is missing).
        let failing = c["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["status"] == "fail");
        let want = if failing {
            "not_ready"
        } else {
            "insufficient_data"
        };
        assert_eq!(
            c["verdict"], want,
            "never ready without data: {}",
            c["criteria"]
        );
        let dir = out.join(format!(
            "{}-{}",
            c["code"].as_str().unwrap(),
            c["name"].as_str().unwrap()
        ));
        let svg = std::fs::read_to_string(dir.join("hydrographs.svg")).unwrap();
        assert!(
            svg.contains("无水位监测数据"),
            "a clear note where level data is missing"
        );
    }
    // One county alone, with the CSVs for scripts: no byte-order mark, the English headers.
    let one = dir.path().join("one");
    let (code, _, err) = gwmon(&[
        "report",
        "--county",
        "清徐县",
        "--db",
        db.to_str().unwrap(),
        "--as-of",
        "2026-11-27",
        "--out",
        one.to_str().unwrap(),
        "--csv-plain",
    ]);
    assert_eq!(code, 0, "{err}");
    let qx = one.join("140121-清徐县");
    assert!(qx.join("readiness.png").exists());
    assert!(!one.join("140105-小店区").exists());
    for (file, header) in [
        (
            "readiness.csv",
            "year,kind,withdrawal_m3,quota_m3,withdrawal_wan_m3,quota_wan_m3\n",
        ),
        (
            "monthly.csv",
            "year,month,withdrawal_m3,withdrawal_wan_m3\n",
        ),
        ("hydrographs.csv", "well_id,month,mean_level_m\n"),
        (
            "cumulative.csv",
            "series,date,day_of_year,cumulative_m3,cumulative_wan_m3\n",
        ),
    ] {
        let bytes = std::fs::read(qx.join(file)).unwrap();
        assert!(bytes.starts_with(header.as_bytes()), "{file}");
    }
    assert!(
        std::fs::read(one.join("city/city.csv"))
            .unwrap()
            .starts_with(b"item,name,projected_m3,limit_m3,k,projected_wan_m3,limit_wan_m3\n")
    );
    let rows = csv_rows(&qx.join("readiness.csv"));
    assert!(rows.iter().any(|r| r[1] == "year_to_date"), "{rows:?}");
}

/// The text of a Word document's body: every `<w:t>` in order, paragraphs on their own lines.
fn docx_text(path: &Path) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let mut out = String::new();
    for part in xml.split("<w:t") {
        let body = part.strip_prefix('>').or_else(|| {
            part.find('>')
                .map(|i| &part[i + 1..])
                .filter(|_| part.starts_with(' '))
        });
        if let Some(body) = body
            && let Some(end) = body.find("</w:t>")
        {
            out.push_str(&body[..end]);
        }
        if part.contains("</w:p>") {
            out.push('\n');
        }
    }
    out
}

/// Runs `cmd` with a deadline (a converter that hangs must not hang the suite): its output, or
/// `None` when it had to be killed.
fn run_with_deadline(cmd: &mut Command, deadline: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(child.wait_with_output().unwrap())
}

/// The path of `program` on PATH, if it is there.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// One county's bundle from a month of data, in `dir/r`.
fn one_county_bundle(dir: &Path) -> PathBuf {
    let db = simulated_store_between(dir, "2026-10-01", "2026-11-27");
    let out = dir.join("r");
    let (code, _, err) = gwmon(&[
        "report",
        "--county",
        "清徐县",
        "--db",
        db.to_str().unwrap(),
        "--as-of",
        "2026-11-27",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn the_word_document_converts_to_pdf_with_libreoffice() {
    let Some(soffice) = on_path("soffice") else {
        eprintln!("skipped: soffice (LibreOffice) is not installed; .ci/run installs it");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = one_county_bundle(dir.path());
    let docx = out.join("140121-清徐县/自评估图表.docx");
    let pdf_dir = dir.path().join("pdf");
    let profile = dir.path().join("lo-profile");
    let converted = run_with_deadline(
        Command::new(soffice)
            .arg(format!(
                "-env:UserInstallation=file://{}",
                profile.display()
            ))
            .args(["--headless", "--convert-to", "pdf", "--outdir"])
            .arg(&pdf_dir)
            .arg(&docx),
        Duration::from_secs(180),
    )
    .expect("soffice finished within 3 minutes");
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    let pdf = std::fs::read(pdf_dir.join("自评估图表.pdf")).unwrap();
    assert!(
        pdf.starts_with(b"%PDF") && pdf.len() > 50_000,
        "{} bytes",
        pdf.len()
    );
}

#[test]
fn index_html_renders_and_prints_in_chromium() {
    let Some(chromium) = ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(on_path)
    else {
        eprintln!("skipped: chromium is not installed; .ci/run installs it");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = one_county_bundle(dir.path());
    let url = format!("file://{}", out.join("index.html").display());
    let shot = dir.path().join("index.png");
    let pdf = dir.path().join("index.pdf");
    let headless = |profile: &str| {
        let mut c = Command::new(&chromium);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join(profile).display()
        ));
        c
    };
    for (what, mut cmd, file) in [
        (
            "screenshot",
            {
                let mut c = headless("profile-shot");
                c.arg(format!("--screenshot={}", shot.display()))
                    .arg("--window-size=1280,2000");
                c
            },
            &shot,
        ),
        (
            "print",
            {
                let mut c = headless("profile-pdf");
                c.arg("--no-pdf-header-footer")
                    .arg(format!("--print-to-pdf={}", pdf.display()));
                c
            },
            &pdf,
        ),
    ] {
        let done = run_with_deadline(cmd.arg(&url), Duration::from_secs(120))
            .unwrap_or_else(|| panic!("chromium {what} finished within 2 minutes"));
        assert!(
            file.exists(),
            "chromium {what} wrote nothing: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let (w, h) = png_size(&shot);
    assert_eq!((w, h), (1280, 2000));
    let pdf = std::fs::read(&pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    // The table page, the city and the county each start a page; the county's charts take more.
    let pages = pdf
        .windows(12)
        .filter(|w| w.starts_with(b"/Type /Page") && w[11] != b's')
        .count();
    assert!(pages >= 3, "{pages} pages");
}

/// `--depth` draws the hydrographs as depth to water (埋深) on an inverted axis: the well's
/// ground elevation minus its level, the slope's sign turned, the water level still "falling".
#[test]
fn hydrographs_as_depth_to_water() {
    let dir = tempfile::tempdir().unwrap();
    let db = simulated_store_between(dir.path(), "2023-01-01", "2026-11-27");
    let run = |extra: &[&str], out: &str| {
        let out = dir.path().join(out);
        let mut args = vec![
            "report",
            "--county",
            "清徐县",
            "--db",
            db.to_str().unwrap(),
            "--as-of",
            "2026-11-27",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (code, _, err) = gwmon(&args);
        assert_eq!(code, 0, "{err}");
        let dir = std::fs::read_dir(&out)
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("140121"))
            .unwrap()
            .path();
        std::fs::read_to_string(dir.join("hydrographs.svg")).unwrap()
    };
    let level = run(&[], "level");
    let depth = run(&["--depth"], "depth");
    assert!(level.contains("水位过程线") && !level.contains("埋深过程线"));
    assert!(
        depth.contains("埋深过程线") && depth.contains("坐标向下增大"),
        "{depth}"
    );
    assert!(
        depth.contains("埋深 +"),
        "a falling level is a rising depth"
    );
}
