//! `report`: the bundle renders for full, partial and level-less data, says what it is, and its
//! numbers are the status document's.

use std::path::Path;

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
        let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(summary.contains(name) && summary.contains("结论") && summary.contains("示例数据"));
        assert!(index.contains(c["verdict_label"].as_str().unwrap()));
    }
    let (w, _) = png_size(&out.join("city/city.png"));
    assert!(w >= 2400);
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
        let ytd = rows.iter().find(|r| r[1] == "year_to_date").unwrap();
        close(&ytd[2], c["ytd_m3"].as_f64().unwrap());
        close(&ytd[3], c["quota_m3"].as_f64().unwrap());
        let proj = rows.iter().find(|r| r[1] == "projected").unwrap();
        close(&proj[2], c["projected_m3"].as_f64().unwrap());
        let ly = rows.iter().find(|r| r[0] == "2025").unwrap();
        close(&ly[2], c["last_year_m3"].as_f64().unwrap());
        // The cumulative curve ends at the year-to-date figure (summed by day instead of by
        // intake: equal up to rounding).
        let cum = csv_rows(&cdir.join("cumulative.csv"));
        let last_ty = cum.iter().rfind(|r| r[0] == "this_year").unwrap();
        let v: f64 = last_ty[2].parse().unwrap();
        assert!((v - c["ytd_m3"].as_f64().unwrap()).abs() < 0.01);
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
        .filter(|r| r[0] == "quota")
        .collect();
    assert_eq!(quota_rows.len(), 2, "{quota_rows:?}");

    // Deterministic: the same store, config and as-of date give identical SVG and CSV bytes.
    let mut compared = 0;
    for entry in walk(&out1) {
        let ext = entry.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext == "svg" || ext == "csv" {
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
    assert!(compared >= 10 * 9 + 2, "{compared} files compared");
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
        assert_eq!(
            c["verdict"], "insufficient_data",
            "never ready without data"
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
    // One county alone.
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
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(one.join("140121-清徐县/readiness.png").exists());
    assert!(!one.join("140105-小店区").exists());
}
