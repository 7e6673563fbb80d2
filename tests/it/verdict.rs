//! The readiness model on hand-computed figures (DESIGN §2): volumes and levels come in through
//! `gwmon import`, so every figure below can be checked with a pencil. No broker is involved.
//!
//! The fixture: three counties with a quota of 1,000,000 m³/yr each (100.0万 m³), two obliged
//! groundwater intakes per county (permits 600,000 m³/yr), three shallow wells per county (two
//! karst wells more in 清徐县), and a supply-group well field in 阳曲县.

use std::path::PathBuf;

use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::Value;

use crate::support::gwmon;

const INTAKES: &str = "\
intake_id,name,county_code,budget,aquifer,source,sector,permit_m3_per_year,max_flow_m3_per_h,key_unit
QX-A,清徐甲厂,140121,county,shallow,groundwater,industry,600000,500,no
QX-B,清徐乙厂,140121,county,shallow,groundwater,industry,600000,500,no
YQ-A,阳曲甲厂,140122,county,shallow,groundwater,industry,600000,500,no
YQ-B,阳曲乙厂,140122,county,shallow,groundwater,industry,600000,500,no
SG-1,供水集团水源井,140122,supply_group,confined,groundwater,public_supply,2000000,500,yes
LF-A,娄烦甲厂,140123,county,shallow,groundwater,industry,600000,500,no
LF-B,娄烦乙厂,140123,county,shallow,groundwater,industry,600000,500,no
LF-U,娄烦无证井,140123,county,shallow,groundwater,service,0,500,no
";

const WELLS: &str = "\
well_id,name,county_code,aquifer,ground_elevation_m,datum
QX-W1,清徐一号井,140121,shallow,780,1985国家高程基准
QX-W2,清徐二号井,140121,shallow,780,1985国家高程基准
QX-W3,清徐三号井,140121,shallow,780,1985国家高程基准
QX-K1,清徐岩溶一号井,140121,karst,780,1985国家高程基准
QX-K2,清徐岩溶二号井,140121,karst,780,1985国家高程基准
YQ-W1,阳曲一号井,140122,shallow,900,1985国家高程基准
YQ-W2,阳曲二号井,140122,shallow,900,1985国家高程基准
YQ-W3,阳曲三号井,140122,shallow,900,1985国家高程基准
LF-W1,娄烦一号井,140123,shallow,1200,1985国家高程基准
LF-W2,娄烦二号井,140123,shallow,1200,1985国家高程基准
LF-W3,娄烦三号井,140123,shallow,1200,1985国家高程基准
";

fn config(self_assessment_met: &str) -> String {
    format!(
        r#"[mqtt]
url = "mqtt://127.0.0.1:1"
[store]
path = "gwmon.db"
[time]
zone = "Asia/Shanghai"
[registry]
intakes = "intakes.csv"
wells = "wells.csv"
[budgets]
city_cap_m3 = 150_000_000
supply_group_m3 = 76_020_000
counties_m3 = 73_900_000
[[county]]
code = 140121
name = "清徐县"
self_assessment = 2026-06-30
exit = 2027-06-30
{self_assessment_met}
[[county]]
code = 140122
name = "阳曲县"
self_assessment = 2026-06-30
exit = 2027-06-30
[[county]]
code = 140123
name = "娄烦县"
[[quota_version]]
effective_from = 2020-01-01
[quota_version.county_m3]
140121 = 1_000_000
140122 = 1_000_000
140123 = 1_000_000
"#
    )
}

/// A store and config in a temporary folder.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self::with_config(&config(""))
    }

    fn with_config(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gwmon.toml"), text).unwrap();
        std::fs::write(dir.path().join("intakes.csv"), INTAKES).unwrap();
        std::fs::write(dir.path().join("wells.csv"), WELLS).unwrap();
        Fixture { dir }
    }

    /// Rewrites intakes.csv with the `active_from,active_to` columns (empty for the fixture's
    /// rows) and `rows` after them.
    fn dated_intakes(&self, rows: &str) {
        let mut csv = String::new();
        for (n, line) in INTAKES.lines().enumerate() {
            csv.push_str(line);
            csv.push_str(if n == 0 {
                ",active_from,active_to\n"
            } else {
                ",,\n"
            });
        }
        csv.push_str(rows);
        std::fs::write(self.path("intakes.csv"), csv).unwrap();
    }

    /// Adds rows to the fixture's intakes.csv.
    fn add_intakes(&self, rows: &str) {
        let p = self.path("intakes.csv");
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(p, format!("{text}{rows}")).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn args<'a>(&'a self, cfg: &'a str, db: &'a str) -> [&'a str; 4] {
        ["--config", cfg, "--db", db]
    }

    fn run(&self, args: &[&str]) -> String {
        let cfg = self.path("gwmon.toml");
        let db = self.path("gwmon.db");
        let (cfg, db) = (cfg.to_str().unwrap(), db.to_str().unwrap());
        let mut all: Vec<&str> = args.to_vec();
        all.extend(self.args(cfg, db));
        let (code, out, err) = gwmon(&all);
        assert_eq!(code, 0, "gwmon {all:?}: {err}");
        out
    }

    /// Imports `m3` per day for `intake` on every day from `from` to `to` inclusive.
    fn daily(&self, intake: &str, from: &str, to: &str, m3: f64) {
        let (mut d, to): (Date, Date) = (from.parse().unwrap(), to.parse().unwrap());
        let mut csv = String::from("intake_id,day,volume_m3\n");
        while d <= to {
            csv.push_str(&format!("{intake},{d},{m3}\n"));
            d = d.checked_add(1.day()).unwrap();
        }
        let f = self.path(&format!("daily-{intake}-{from}.csv"));
        std::fs::write(&f, csv).unwrap();
        self.run(&["import", "--kind", "daily-volume", f.to_str().unwrap()]);
    }

    /// Imports one level reading on the 15th of every month from `from` to `to` (both months
    /// inclusive): `level(months since from)`.
    fn levels(&self, well: &str, from: &str, to: &str, level: impl Fn(i32) -> f64) {
        self.monthly_readings("level_m", well, from, to, level);
    }

    /// One reading of `column` (`level_m` or `depth_m`) on the 15th of every month from `from`
    /// to `to`: `value(months since from)`.
    fn monthly_readings(
        &self,
        column: &str,
        well: &str,
        from: &str,
        to: &str,
        value: impl Fn(i32) -> f64,
    ) {
        let (mut d, to): (Date, Date) = (from.parse().unwrap(), to.parse().unwrap());
        d = d.first_of_month().checked_add(14.days()).unwrap();
        let mut csv = format!("well_id,ts,{column}\n");
        let mut i = 0;
        while d <= to {
            csv.push_str(&format!("{well},{d}T10:00:00+08:00,{}\n", value(i)));
            d = d.checked_add(1.month()).unwrap();
            i += 1;
        }
        let f = self.path(&format!("{column}-{well}-{from}.csv"));
        std::fs::write(&f, csv).unwrap();
        self.run(&["import", "--kind", "level", f.to_str().unwrap()]);
    }

    /// Three steady shallow wells per county (level rising 0.12 m/a with a seasonal swing),
    /// 2020-01 to `to`.
    fn steady_wells(&self, to: &str) {
        for (w, base) in [
            ("QX-W1", 760.0),
            ("QX-W2", 761.0),
            ("QX-W3", 762.0),
            ("QX-K1", 700.0),
            ("QX-K2", 701.0),
            ("YQ-W1", 880.0),
            ("YQ-W2", 881.0),
            ("YQ-W3", 882.0),
            ("LF-W1", 1180.0),
            ("LF-W2", 1181.0),
            ("LF-W3", 1182.0),
        ] {
            self.levels(w, "2020-01-01", to, |i| {
                base + 0.01 * f64::from(i) + if i % 12 < 6 { 0.5 } else { -0.5 }
            });
        }
    }

    fn status(&self, as_of: &str) -> Value {
        serde_json::from_str(&self.run(&["status", "--as-of", as_of, "--json"])).unwrap()
    }

    fn table(&self, as_of: &str) -> String {
        self.run(&["status", "--as-of", as_of])
    }
}

fn county<'a>(doc: &'a Value, code: &str) -> &'a Value {
    doc["counties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("county {code} in {doc}"))
}

fn criterion<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap()
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64()
        .is_some_and(|x| (x - want).abs() < 1e-6 * want.abs().max(1.0))
}

/// 清徐县 ran 11 % over its quota in 2025 (both intakes 1,520 m³/day: 3,040 × 365 =
/// 1,109,600 m³, k = 1.1096) and at 2,000 m³/day in 2026 (k of the projection 0.73). In March
/// only three months of 2026 are in: last year decides, quantity fails. In mid-July, with seven
/// months projecting under the limit: at risk.
#[test]
fn last_year_over_the_limit_decides_until_six_months_say_otherwise() {
    let f = Fixture::new();
    f.steady_wells("2026-07-15");
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2025-01-01", "2025-12-31", 1520.0);
        f.daily(i, "2026-01-01", "2026-07-15", 1000.0);
    }
    let doc = f.status("2026-03-15");
    let qx = county(&doc, "140121");
    assert!(
        close(&qx["last_year_m3"], 1_109_600.0),
        "{}",
        qx["last_year_m3"]
    );
    assert!(close(&qx["k_last_year"], 1.1096));
    // 1 Jan – 15 Mar is 74 days: this year 148,000 m³, last year's same period 224,960 m³,
    // r = 0.6579; the rest of last year 884,640 m³ × r = 582,000 → 730,000 m³, k = 0.73.
    assert!(close(&qx["ytd_m3"], 148_000.0));
    assert!(
        close(&qx["projected_m3"], 730_000.0),
        "{}",
        qx["projected_m3"]
    );
    assert_eq!(qx["projection"]["method"], "seasonal");
    let q = criterion(qx, "quantity");
    assert_eq!(q["status"], "fail", "{q}");
    assert!(q["detail"].as_str().unwrap().contains("k = 1.11"), "{q}");
    assert_ne!(qx["verdict"], "ready");

    let doc = f.status("2026-07-15");
    let qx = county(&doc, "140121");
    assert_eq!(qx["months_with_data_this_year"], 7);
    assert_eq!(criterion(qx, "quantity")["status"], "at_risk");
}

/// 阳曲县 has 2025 at k = 1.46 (2 × 2,000 m³/day) and nothing yet in 2026: this year's k is null
/// (never 0.00) in the JSON and "—" in the table, and last year fails quantity.
#[test]
fn a_year_without_data_has_no_k() {
    let f = Fixture::new();
    f.steady_wells("2026-03-15");
    for i in ["YQ-A", "YQ-B"] {
        f.daily(i, "2025-01-01", "2025-12-31", 2000.0);
    }
    let doc = f.status("2026-03-15");
    let yq = county(&doc, "140122");
    assert!(yq["k"].is_null(), "{}", yq["k"]);
    assert!(close(&yq["k_last_year"], 1.46));
    assert_eq!(criterion(yq, "quantity")["status"], "fail");
    // 娄烦县 has no data at all: no k either year.
    let lf = county(&doc, "140123");
    assert!(lf["k"].is_null() && lf["k_last_year"].is_null());
    let table = f.table("2026-03-15");
    // The county's row of the table (its warning lines, which name it too, come first).
    let row = table
        .lines()
        .find(|l| l.contains("阳曲县") && !l.starts_with("注意"))
        .unwrap();
    assert!(row.contains("1.46") && row.contains("—"), "{row}");
    assert!(!row.contains("0.00"), "{row}");
}

/// Projection by the seasonal ratio with a hand-computed answer, and the run rate only without a
/// last year, over the days actually covered.
#[test]
fn projections_have_hand_computed_answers() {
    let f = Fixture::new();
    f.steady_wells("2026-06-20");
    // 清徐县: 2025 at 3,040 m³/day, 2026 at 2,800 m³/day. As of 15 March (74 days):
    // 207,200 + (1,109,600 − 224,960) × 207,200 / 224,960 = 207,200 + 814,800 = 1,022,000.
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2025-01-01", "2025-12-31", 1520.0);
        f.daily(i, "2026-01-01", "2026-06-20", 1400.0);
    }
    // 娄烦县: no last year; data from 1 June 2026 at 2 × 1,000 m³/day. As of 20 June: 40,000 m³
    // over 20 covered days = 2,000 m³/day for the 194 days left → 428,000 m³.
    for i in ["LF-A", "LF-B"] {
        f.daily(i, "2026-06-01", "2026-06-20", 1000.0);
    }
    let doc = f.status("2026-03-15");
    let qx = county(&doc, "140121");
    assert!(
        close(&qx["projected_m3"], 1_022_000.0),
        "{}",
        qx["projected_m3"]
    );
    assert!(close(&qx["projection"]["ratio"], 207_200.0 / 224_960.0));
    // Two complete months, each at the same ratio: the range is that single figure.
    assert!(close(&qx["projection"]["low_m3"], 1_022_000.0));
    assert!(close(&qx["projection"]["high_m3"], 1_022_000.0));
    let doc = f.status("2026-06-20");
    let lf = county(&doc, "140123");
    assert_eq!(lf["projection"]["method"], "run_rate");
    assert!(
        close(&lf["projected_m3"], 428_000.0),
        "{}",
        lf["projected_m3"]
    );
    // No complete last year and fewer than 12 months of data: quantity cannot be judged.
    assert_eq!(criterion(lf, "quantity")["status"], "insufficient_data");
    // The counties' budget projects the sum of the county projections.
    let counties = &doc["city"]["budgets"][1];
    let sum: f64 = doc["counties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["projected_m3"].as_f64().unwrap())
        .sum();
    assert!(close(&counties["projected_m3"], sum));
}

/// 阳曲县's 2025 is complete and at k = 0.80, but in 2026 one of its two obliged intakes has been
/// silent since 1 January: 50 % of the obliged intake-days reported, so this year's low figure is
/// an underestimate and quantity is at risk, not passed.
#[test]
fn an_incomplete_year_cannot_pass_quantity() {
    let f = Fixture::new();
    f.steady_wells("2026-09-30");
    for i in ["YQ-A", "YQ-B"] {
        f.daily(i, "2025-01-01", "2025-12-31", 1096.0);
    }
    f.daily("YQ-A", "2026-01-01", "2026-09-30", 1096.0);
    let doc = f.status("2026-09-30");
    let yq = county(&doc, "140122");
    let c = &yq["this_year"]["completeness"];
    assert_eq!(c["reported_intake_days"], 273);
    assert_eq!(c["expected_intake_days"], 546);
    let q = criterion(yq, "quantity");
    assert_eq!(q["status"], "at_risk", "{q}");
    assert!(q["detail"].as_str().unwrap().contains("50.0%"), "{q}");
}

/// 0.951 is at risk, and printed so: never "0.95" beside "> 0.95 有风险".
#[test]
fn printed_k_agrees_with_its_band() {
    let f = Fixture::new();
    f.steady_wells("2025-12-31");
    // 2025 complete: 2 × 1,302.74 m³/day × 365 = 951,000.2 m³ → k = 0.951.
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2025-01-01", "2025-12-31", 1302.74);
    }
    let doc = f.status("2025-12-31");
    let qx = county(&doc, "140121");
    assert_eq!(criterion(qx, "quantity")["status"], "at_risk");
    let table = f.table("2025-12-31");
    let row = table.lines().find(|l| l.contains("清徐县")).unwrap();
    assert!(row.contains("0.951"), "{row}");
}

/// An intake with no permit that withdraws groundwater is 无证取水 and fails permits.
#[test]
fn unpermitted_groundwater_fails_permits() {
    let f = Fixture::new();
    f.steady_wells("2026-03-31");
    f.daily("LF-U", "2026-01-01", "2026-03-31", 50.0);
    let doc = f.status("2026-03-31");
    let lf = county(&doc, "140123");
    assert_eq!(lf["permits"]["unpermitted"][0]["id"], "LF-U");
    assert!(close(&lf["permits"]["unpermitted"][0]["ytd_m3"], 4500.0));
    assert_eq!(criterion(lf, "permits")["status"], "fail");
}

/// Nothing dated after the as-of date enters a figure: a collapse of every well's level after
/// the as-of date changes no trend, and volumes after it change no sum.
#[test]
fn as_of_is_a_wall() {
    let f = Fixture::new();
    f.steady_wells("2026-06-14");
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2025-01-01", "2026-06-10", 1000.0);
    }
    let before = f.status("2026-06-10");
    let report = |name: &str| {
        let out = f.path(name);
        f.run(&[
            "report",
            "--county",
            "140121",
            "--as-of",
            "2026-06-10",
            "--out",
            out.to_str().unwrap(),
        ]);
        let dir = out.join("140121-清徐县");
        ["monthly.csv", "cumulative.csv", "hydrographs.csv"]
            .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
    };
    let report_before = report("report-before");
    for w in ["QX-W1", "QX-W2", "QX-W3"] {
        f.levels(w, "2026-06-20", "2026-06-20", |_| 500.0);
    }
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2026-06-11", "2026-06-30", 9000.0);
    }
    let after = f.status("2026-06-10");
    // The report's files too: June holds its first ten days only, before and after.
    let report_after = report("report-after");
    assert_eq!(report_before, report_after);
    assert!(
        report_after[0].contains("2026,6,20000"),
        "June 2026 in monthly.csv is ten days of 2,000 m³: {}",
        report_after[0]
    );
    let (b, a) = (county(&before, "140121"), county(&after, "140121"));
    assert_eq!(b["wells"], a["wells"]);
    assert_eq!(b["ytd_m3"], a["ytd_m3"]);
    assert_eq!(b["projected_m3"], a["projected_m3"]);
    // The as-of month is partial, and the status says so.
    assert!(
        after["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("2026-06")),
        "{}",
        after["warnings"]
    );
}

/// Levels are judged per aquifer type: 清徐县's shallow wells are steady but its karst wells
/// fall 1 m/a, so the level criterion fails on karst, and both types are shown.
#[test]
fn level_is_judged_per_aquifer_type() {
    let f = Fixture::new();
    for (w, base) in [("QX-W1", 760.0), ("QX-W2", 761.0), ("QX-W3", 762.0)] {
        f.levels(w, "2020-01-01", "2025-12-31", |i| {
            base + 0.01 * f64::from(i) + if i % 12 < 6 { 0.5 } else { -0.5 }
        });
    }
    for (w, base) in [("QX-K1", 700.0), ("QX-K2", 701.0)] {
        f.levels(w, "2020-01-01", "2025-12-31", |i| {
            base - f64::from(i) / 12.0 + if i % 12 < 6 { 0.5 } else { -0.5 }
        });
    }
    let doc = f.status("2025-12-31");
    let qx = county(&doc, "140121");
    let by: Vec<(&str, &str)> = qx["level_by_aquifer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["aquifer"].as_str().unwrap(),
                a["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(by, [("shallow", "pass"), ("karst", "fail")]);
    assert_eq!(criterion(qx, "level")["status"], "fail");
    // v over complete years: the karst wells' annual means fall exactly 1 m a year.
    let k1 = qx["wells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "QX-K1")
        .unwrap();
    assert!(close(&k1["trend"]["mean_annual_change_m"], -1.0), "{k1}");
}

/// A well without data in the last 12 months does not count; as of mid-2027 every well of
/// 娄烦县 stopped reporting at the end of 2025, so level is insufficient.
#[test]
fn wells_without_recent_data_do_not_count() {
    let f = Fixture::new();
    f.steady_wells("2025-12-31");
    let doc = f.status("2026-06-30");
    assert_eq!(
        county(&doc, "140123")["wells"][0]["trend"]["sufficient"],
        true
    );
    let doc = f.status("2027-02-28");
    let lf = county(&doc, "140123");
    assert_eq!(lf["wells"][0]["trend"]["sufficient"], false);
    assert_eq!(lf["wells"][0]["trend"]["direction"], "insufficient_data");
    assert_eq!(criterion(lf, "level")["status"], "insufficient_data");
    // … and the status warns that the data ends before the as-of date.
    assert!(
        doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("早于评估日")),
        "{}",
        doc["warnings"]
    );
}

/// A self-assessment met on 10 July 2026, ten days after its 30 June deadline: on 1 July it is
/// not met yet (passed); from 10 July it is met late by 10 days.
#[test]
fn deadlines_met_late_and_met_after_as_of() {
    let f = Fixture::with_config(&config("self_assessment_met = 2026-07-10"));
    f.steady_wells("2026-07-31");
    let d = |as_of: &str| county(&f.status(as_of), "140121")["deadlines"].clone();
    let early = d("2026-07-01");
    assert_eq!(early["self_assessment_state"], "passed");
    assert!(early["self_assessment_met"].is_null());
    let late = d("2026-07-31");
    assert_eq!(late["self_assessment_state"], "met_late");
    assert_eq!(late["self_assessment_days_late"], 10);
    assert_eq!(late["self_assessment_met"], "2026-07-10");
}

/// A silent big meter does not flatter the county. 清徐县's QX-A drew 2,000 m³/day and QX-B
/// 500 m³/day on every day of 2025 (912,500 m³, k 0.9125). In 2026 QX-A reports January and
/// February (59 days, 118,000 m³) and falls silent; QX-B goes on (181 days to 30 June,
/// 90,500 m³). Measured: 208,500 m³. QX-A's silent March–June is imputed from the same months
/// of 2025 (122 days × 2,000 = 244,000 m³), so the figure is 452,500 m³, of which 53.9 %
/// imputed. Completeness in expected volume: 208,500 of 452,500 = 46.1 % (in intake-days it
/// would read 240 of 362 = 66.3 %). The projection's ratio is 452,500 ÷ 452,500 = 1 and the
/// year end 912,500 m³ (k 0.9125) — without the imputation r would be 0.46 and k 0.42.
#[test]
fn a_silent_big_meter_is_imputed_and_weighs_by_its_volume() {
    let f = Fixture::new();
    f.steady_wells("2026-06-30");
    f.daily("QX-A", "2025-01-01", "2025-12-31", 2000.0);
    f.daily("QX-B", "2025-01-01", "2025-12-31", 500.0);
    f.daily("QX-A", "2026-01-01", "2026-02-28", 2000.0);
    f.daily("QX-B", "2026-01-01", "2026-06-30", 500.0);
    let doc = f.status("2026-06-30");
    let qx = county(&doc, "140121");
    let ty = &qx["this_year"];
    assert!(close(&ty["imputed_m3"], 244_000.0), "{ty}");
    assert!(close(&ty["withdrawal_m3"], 452_500.0), "{ty}");
    assert!(close(&qx["ytd_imputed_m3"], 244_000.0), "{qx}");
    let c = &ty["completeness"];
    assert!(close(&c["expected_m3"], 452_500.0), "{c}");
    assert!(close(&c["volume_share"], 208_500.0 / 452_500.0), "{c}");
    assert!(close(&c["intake_day_share"], 240.0 / 362.0), "{c}");
    assert!(
        close(&qx["projection"]["ratio"], 1.0),
        "{}",
        qx["projection"]
    );
    assert!(
        close(&qx["projected_m3"], 912_500.0),
        "{}",
        qx["projected_m3"]
    );
    assert!(close(&qx["k"], 0.9125), "{}", qx["k"]);
    let q = criterion(qx, "quantity");
    assert_eq!(q["status"], "at_risk", "{q}");
    let detail = q["detail"].as_str().unwrap();
    assert!(detail.contains("缺报补估 24.4"), "{detail}");
    assert!(detail.contains("46.1%"), "{detail}");
    assert_ne!(qx["verdict"], "ready");
    // Last year every meter reported every day: nothing imputed, complete in both measures.
    let ly = &qx["last_year"];
    assert!(close(&ly["imputed_m3"], 0.0), "{ly}");
    assert!(close(&ly["completeness"]["volume_share"], 1.0), "{ly}");
}

/// 太原供水集团's well field SG-1 lies in 阳曲县 and drew 10,000 m³/day in 2025 (3,650,000 m³),
/// over its permit of 2,000,000: it is listed under the supply group, and neither 阳曲县's permit
/// criterion nor its withdrawal by source counts it. 阳曲县's own intakes drew 2 × 1,000 m³/day.
#[test]
fn the_supply_groups_wells_are_judged_under_the_supply_group() {
    let f = Fixture::new();
    f.steady_wells("2026-06-30");
    f.daily("SG-1", "2025-01-01", "2026-06-30", 10_000.0);
    for i in ["YQ-A", "YQ-B"] {
        f.daily(i, "2025-01-01", "2026-06-30", 1000.0);
    }
    let doc = f.status("2026-06-30");
    let yq = county(&doc, "140122");
    let p = criterion(yq, "permits");
    assert_eq!(p["status"], "pass", "{p}");
    assert!(
        yq["permits"]["over_last_year"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let gw = yq["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "groundwater")
        .unwrap();
    assert!(close(&gw["last_year_m3"], 730_000.0), "{gw}");
    let sg = &doc["city"]["supply_group_permits"];
    let over: Vec<&str> = sg["over_last_year"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(over, ["SG-1"], "{sg}");
}

/// Groundwater users below the metering duty count too. 清徐县's two obliged intakes drew
/// 2 × 1,000 m³/day in 2025 (730,000 m³, k 0.73 alone); its farm well QX-F1 (农灌, permit
/// 200,000 m³/yr) and a small works QX-S1 (permit 40,000 m³/yr, under the 5万 duty) report
/// nothing, so they enter as their permits: 240,000 m³, and 2025 is 970,000 m³, k 0.97 — at
/// risk, not the 0.73 the meters alone would say. QX-S1 reports in 2026 (100 m³/day): from then
/// on its measured volume counts and only QX-F1 is estimated (200,000 × 181/365 = 99,178 m³
/// to 30 June).
#[test]
fn groundwater_users_below_the_duty_enter_as_estimates() {
    let f = Fixture::new();
    f.add_intakes(
        "QX-F1,清徐农灌井,140121,county,shallow,groundwater,agriculture,200000,100,no\n\
         QX-S1,清徐小厂,140121,county,shallow,groundwater,industry,40000,100,no\n",
    );
    f.steady_wells("2026-06-30");
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2025-01-01", "2026-06-30", 1000.0);
    }
    f.daily("QX-S1", "2026-01-01", "2026-06-30", 100.0);
    let doc = f.status("2026-06-30");
    let qx = county(&doc, "140121");
    let ly = &qx["last_year"];
    assert!(close(&ly["unmetered_m3"], 240_000.0), "{ly}");
    assert!(close(&ly["withdrawal_m3"], 970_000.0), "{ly}");
    assert!(close(&qx["k_last_year"], 0.97), "{}", qx["k_last_year"]);
    let ty = &qx["this_year"];
    assert!(
        close(&ty["unmetered_m3"], 200_000.0 * 181.0 / 365.0),
        "{ty}"
    );
    assert!(
        close(
            &ty["withdrawal_m3"],
            2.0 * 181_000.0 + 18_100.0 + 200_000.0 * 181.0 / 365.0
        ),
        "{ty}"
    );
    let q = criterion(qx, "quantity");
    assert_ne!(q["status"], "pass", "{q}");
    assert!(
        q["detail"]
            .as_str()
            .unwrap()
            .contains("未计量取水户估算 24.0"),
        "{q}"
    );
}

/// The registry has a history. 清徐县's 自备井 QX-C (500 m³/day) was sealed on 31 March 2026
/// (`active_to`), and QX-T (300 m³/day) moved to 太原供水集团 on 1 January 2026 (水源置换: a second
/// row from that day with the supply-group budget). Each year is computed on the registry in
/// force in it: 2025 keeps both — 2 × 365,000 + 182,500 + 109,500 = 1,022,000 m³ — while 2026
/// to 30 June counts QX-A and QX-B (2 × 181,000) and QX-C until it was sealed (90 days, 45,000):
/// 407,000 m³. Nothing is imputed for QX-C after its seal, QX-C owes no metering on 30 June, and
/// every obliged intake-day of the county's figure reported (452 of 452).
#[test]
fn each_year_uses_the_registry_in_force_in_it() {
    let f = Fixture::new();
    f.dated_intakes(
        "QX-C,清徐自备井,140121,county,shallow,groundwater,industry,300000,500,no,,2026-03-31\n\
         QX-T,清徐转供井,140121,county,shallow,groundwater,industry,200000,500,no,,2025-12-31\n\
         QX-T,清徐转供井,140121,supply_group,shallow,groundwater,public_supply,200000,500,no,2026-01-01,\n",
    );
    f.steady_wells("2026-06-30");
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2025-01-01", "2026-06-30", 1000.0);
    }
    f.daily("QX-C", "2025-01-01", "2026-03-31", 500.0);
    f.daily("QX-T", "2025-01-01", "2026-06-30", 300.0);
    let doc = f.status("2026-06-30");
    let qx = county(&doc, "140121");
    assert!(
        close(&qx["last_year_m3"], 1_022_000.0),
        "{}",
        qx["last_year_m3"]
    );
    assert!(close(&qx["ytd_m3"], 407_000.0), "{}", qx["ytd_m3"]);
    assert!(
        close(&qx["ytd_imputed_m3"], 0.0),
        "{}",
        qx["ytd_imputed_m3"]
    );
    let c = &qx["this_year"]["completeness"];
    assert_eq!(c["expected_intake_days"], 452, "{c}");
    assert_eq!(c["reported_intake_days"], 452, "{c}");
    // QX-A, QX-B and the supply group's QX-T owe metering on 30 June; the sealed QX-C does not.
    assert_eq!(qx["metering"]["obligated"], 3, "{}", qx["metering"]);
    let silent = qx["metering"]["silent"].to_string();
    assert!(!silent.contains("QX-C"), "{silent}");
    // Last year's ratio base is last year's registry: 2025 to 30 June with all four intakes.
    let same = 2.0 * 181_000.0 + 500.0 * 181.0 + 300.0 * 181.0;
    let r = 407_000.0 / same;
    assert!(close(&qx["projection"]["ratio"], r), "{}", qx["projection"]);
    assert!(
        close(&qx["projected_m3"], 407_000.0 + (1_022_000.0 - same) * r),
        "{}",
        qx["projected_m3"]
    );
}

/// An intake with stored data that disappears from the registry is said, with what the store
/// holds of it and the fix (keep the row with `active_to`), by `check-config --db`.
#[test]
fn check_config_names_devices_the_registry_lost() {
    let f = Fixture::new();
    f.daily("QX-B", "2025-01-01", "2025-01-31", 100.0);
    f.levels("QX-W3", "2025-01-01", "2025-03-31", |_| 760.0);
    let without = |text: &str, id: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with(id))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    std::fs::write(f.path("intakes.csv"), without(INTAKES, "QX-B")).unwrap();
    std::fs::write(f.path("wells.csv"), without(WELLS, "QX-W3")).unwrap();
    let (cfg, db) = (f.path("gwmon.toml"), f.path("gwmon.db"));
    let (code, _, err) = gwmon(&[
        "check-config",
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "warning: intake QX-B is not in the registry but the store holds 0 meter readings and 31 imported daily volumes: keep its row in intakes.csv with active_to"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: well QX-W3 is not in the registry but the store holds 3 level readings"
        ),
        "{err}"
    );
}

/// 压采量 and what made it. In the base year 2020 (366 days) 清徐县's own wells drew QX-A and
/// QX-B 1,000 m³/day, QX-C 500 and QX-T 300: 1,024,800 m³. In 2025 QX-A drew 900 m³/day
/// (328,500), QX-B 1,000 (365,000), QX-C was sealed on 30 June (181 days, 90,500) and QX-T went
/// to public supply on 1 July (水源置换: in 2025's registry it is the supply group's). 2025:
/// 784,000 m³, a reduction of 240,800 m³: the sealed well 183,000 − 90,500 = 92,500, the
/// transfer its whole 109,800, the rest 38,500 (QX-A's 37,500 and QX-B's 1,000).
#[test]
fn the_reduction_against_the_base_year_names_sealed_and_transferred_wells() {
    let f = Fixture::new();
    f.dated_intakes(
        "QX-C,清徐自备井,140121,county,shallow,groundwater,industry,300000,500,no,,2025-06-30\n\
         QX-T,清徐转供井,140121,county,shallow,groundwater,industry,200000,500,no,,2025-06-30\n\
         QX-T,清徐转供井,140121,supply_group,shallow,groundwater,public_supply,200000,500,no,2025-07-01,\n",
    );
    f.steady_wells("2026-03-31");
    for (i, base, y2025) in [("QX-A", 1000.0, 900.0), ("QX-B", 1000.0, 1000.0)] {
        f.daily(i, "2020-01-01", "2020-12-31", base);
        f.daily(i, "2025-01-01", "2025-12-31", y2025);
    }
    f.daily("QX-C", "2020-01-01", "2020-12-31", 500.0);
    f.daily("QX-C", "2025-01-01", "2025-06-30", 500.0);
    f.daily("QX-T", "2020-01-01", "2020-12-31", 300.0);
    f.daily("QX-T", "2025-01-01", "2025-12-31", 300.0);
    let doc = f.status("2026-03-31");
    let r = &county(&doc, "140121")["reduction"];
    assert_eq!(r["base_year"], 2020, "{r}");
    assert!(close(&r["base_m3"], 1_024_800.0), "{r}");
    assert!(close(&r["year_m3"], 784_000.0), "{r}");
    assert!(close(&r["reduction_m3"], 240_800.0), "{r}");
    assert!(close(&r["sealed_m3"], 92_500.0), "{r}");
    assert_eq!(r["sealed"][0]["id"], "QX-C");
    assert_eq!(r["sealed"][0]["since"], "2025-06-30");
    assert!(close(&r["transferred_m3"], 109_800.0), "{r}");
    assert_eq!(r["transferred"][0]["since"], "2025-07-01");
    assert!(close(&r["rest_m3"], 38_500.0), "{r}");
}

/// QX-A's meter read every midnight of 2025 but for 61 days (1 March to 1 May), its total
/// rising 1,000 m³ a day throughout; QX-B drew 1,000 m³ a day by daily volumes. The gap's
/// 61,000 m³ belongs to 2025: spread over its days as estimated volume, 2025 holds 730,000 m³
/// (k 0.73), of it 61,000 estimated and from a long gap — 8.4 % of the figure, more than the
/// 2 % that may rest on long gaps, so quantity is at most at risk.
#[test]
fn a_long_gap_inside_a_year_counts_in_that_year_as_estimated() {
    let f = Fixture::new();
    f.steady_wells("2026-06-30");
    let mut csv = String::from("intake_id,ts,total_m3\n");
    let (mut d, end): (Date, Date) = ("2025-01-01".parse().unwrap(), "2026-01-01".parse().unwrap());
    let (gap_from, gap_to): (Date, Date) =
        ("2025-03-01".parse().unwrap(), "2025-05-01".parse().unwrap());
    let mut total = 5_000.0;
    while d <= end {
        if d <= gap_from || d >= gap_to {
            csv.push_str(&format!("QX-A,{d}T00:00:00+08:00,{total}\n"));
        }
        total += 1000.0;
        d = d.checked_add(1.day()).unwrap();
    }
    let file = f.path("meter-QX-A.csv");
    std::fs::write(&file, csv).unwrap();
    f.run(&["import", "--kind", "meter", file.to_str().unwrap()]);
    f.daily("QX-B", "2025-01-01", "2025-12-31", 1000.0);
    f.daily("QX-A", "2026-01-01", "2026-06-30", 1000.0);
    f.daily("QX-B", "2026-01-01", "2026-06-30", 1000.0);
    let doc = f.status("2026-06-30");
    let qx = county(&doc, "140121");
    let ly = &qx["last_year"];
    assert!(close(&ly["withdrawal_m3"], 730_000.0), "{ly}");
    assert!(close(&ly["estimated_m3"], 61_000.0), "{ly}");
    assert!(close(&ly["long_gap_m3"], 61_000.0), "{ly}");
    assert!(close(&qx["k_last_year"], 0.73), "{qx}");
    let q = criterion(qx, "quantity");
    assert_eq!(q["status"], "at_risk", "{q}");
    let detail = q["detail"].as_str().unwrap();
    assert!(
        detail.contains("来自水表长缺口") && detail.contains("占 8.4%"),
        "{detail}"
    );
}

/// A terminal that reports daily at 08:00 give or take 25 minutes is complete: its 2025 of
/// readings (08:00, 08:25, 07:35, … each day, 1,000 m³ a day) is all measured, nothing estimated,
/// every expected m³ reported.
#[test]
fn a_daily_report_that_wanders_by_minutes_is_complete() {
    let f = Fixture::new();
    f.steady_wells("2026-06-30");
    let mut csv = String::from("intake_id,ts,total_m3\n");
    let (mut d, end): (Date, Date) = ("2024-12-31".parse().unwrap(), "2026-01-01".parse().unwrap());
    let mut n = 0;
    while d <= end {
        let minute = [0, 25, 35, 10][n % 4];
        let hour = if minute == 35 { 7 } else { 8 };
        // The total at 08:00 sharp would be 1,000 m³ a day; the reading is taken off it by time.
        let offset_h = f64::from(hour - 8) + f64::from(minute) / 60.0;
        let total = 1_000.0 * (f64::from(n as i32) + offset_h / 24.0);
        csv.push_str(&format!(
            "QX-A,{d}T{hour:02}:{minute:02}:00+08:00,{total}\n"
        ));
        n += 1;
        d = d.checked_add(1.day()).unwrap();
    }
    let file = f.path("meter-QX-A.csv");
    std::fs::write(&file, csv).unwrap();
    f.run(&["import", "--kind", "meter", file.to_str().unwrap()]);
    f.daily("QX-B", "2025-01-01", "2025-12-31", 1000.0);
    let doc = f.status("2026-06-30");
    let ly = &county(&doc, "140121")["last_year"];
    assert!(close(&ly["estimated_m3"], 0.0), "{ly}");
    assert!(close(&ly["withdrawal_m3"], 730_000.0), "{ly}");
    assert!(close(&ly["completeness"]["volume_share"], 1.0), "{ly}");
}

/// Daily volumes carry their provenance: QX-A's 2025 is 1,000 m³ a day metered, but March's 31
/// days are marked estimated (31,000 m³); QX-B's 1,000 m³ a day is metered. 2025 holds 730,000
/// m³, of it 31,000 estimated (4.2 %, under the 5 % that may be). A row with another provenance
/// is refused with the two that are allowed. Both intakes report only by daily volumes, to the
/// as-of date: both count as reporting for metering coverage.
#[test]
fn imported_daily_volumes_carry_their_provenance_and_count_as_reporting() {
    let f = Fixture::new();
    f.steady_wells("2026-06-30");
    let mut csv = String::from("intake_id,day,volume_m3,provenance\n");
    let (mut d, end): (Date, Date) = ("2025-01-01".parse().unwrap(), "2026-06-30".parse().unwrap());
    while d <= end {
        let prov = if d.year() == 2025 && d.month() == 3 {
            "estimated"
        } else {
            ""
        };
        csv.push_str(&format!("QX-A,{d},1000,{prov}\n"));
        d = d.checked_add(1.day()).unwrap();
    }
    let file = f.path("daily-QX-A.csv");
    std::fs::write(&file, csv).unwrap();
    f.run(&["import", "--kind", "daily-volume", file.to_str().unwrap()]);
    f.daily("QX-B", "2025-01-01", "2026-06-30", 1000.0);
    let doc = f.status("2026-06-30");
    let qx = county(&doc, "140121");
    let ly = &qx["last_year"];
    assert!(close(&ly["withdrawal_m3"], 730_000.0), "{ly}");
    assert!(close(&ly["estimated_m3"], 31_000.0), "{ly}");
    let m = criterion(qx, "metering");
    assert_eq!(m["status"], "pass", "{m}");
    assert!(
        close(&qx["metering"]["coverage"], 1.0),
        "{}",
        qx["metering"]
    );
    // Another provenance: the row is refused and named, the others stored.
    let bad = f.path("daily-bad.csv");
    std::fs::write(
        &bad,
        "intake_id,day,volume_m3,provenance\nQX-B,2026-07-01,5,guess\n",
    )
    .unwrap();
    let cfg = f.path("gwmon.toml");
    let db = f.path("gwmon.db");
    let (code, out, err) = gwmon(&[
        "import",
        "--kind",
        "daily-volume",
        bad.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        format!("{out}{err}").contains("provenance 'guess'")
            && format!("{out}{err}").contains("expected metered (the default) or estimated"),
        "{out}{err}"
    );
}

/// QX-A's meter read 1,000 m³ a day through 2025, but on 1 July its total jumped by 60,000 m³
/// in one day (a refurbished meter starting higher, or a fault): 2,500 m³/h, over its maximum
/// of 500. The jump stays in the figure (2025: 365,000 + 60,000 + QX-B's 365,000 = 790,000 m³,
/// k 0.79), shown apart as flagged, and quantity cannot pass until it is reviewed.
#[test]
fn an_implausible_counter_jump_is_counted_shown_and_keeps_quantity_from_passing() {
    let f = Fixture::new();
    f.jumping_meter();
    let doc = f.status("2026-06-30");
    let qx = county(&doc, "140121");
    let ly = &qx["last_year"];
    assert!(close(&ly["withdrawal_m3"], 790_000.0), "{ly}");
    assert!(close(&ly["flagged_m3"], 61_000.0), "{ly}");
    let q = criterion(qx, "quantity");
    assert_eq!(q["status"], "at_risk", "{q}");
    assert!(q["detail"].as_str().unwrap().contains("可疑跳变"), "{q}");
}

/// The jump above was a refurbished meter: swapped at noon on 1 July, the old one ending at
/// 181,500 m³ (181,000 at midnight plus half a day), the new one starting at 241,500. Entered by
/// hand, the interval across it draws 500 + 500 m³: 2025 is 730,000 m³ (k 0.73), nothing flagged,
/// and quantity passes. The same from a CSV: `import --kind replacement`, a bad row named.
#[test]
fn a_meter_replacement_entered_by_hand_is_no_withdrawal() {
    let f = Fixture::new();
    f.jumping_meter();
    let swaps = f.path("swaps.csv");
    std::fs::write(
        &swaps,
        // Saved by Excel as UTF-8: a byte-order mark before the header.
        "\u{feff}intake_id,at,old_final,new_start\nQX-A,2025-07-01 12:00,181500,241500\nQX-Z,2025-07-01 12:00,1,2\n",
    )
    .unwrap();
    let cfg = f.path("gwmon.toml");
    let db = f.path("gwmon.db");
    let (code, out, err) = gwmon(&[
        "import",
        "--kind",
        "replacement",
        swaps.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("QX-A: meter replaced at 2025-07-01 12:00"),
        "{out}"
    );
    assert!(
        err.contains("swaps.csv line 3: unknown intake 'QX-Z'"),
        "{err}"
    );
    let doc = f.status("2026-06-30");
    let qx = county(&doc, "140121");
    let ly = &qx["last_year"];
    assert!(close(&ly["withdrawal_m3"], 730_000.0), "{ly}");
    assert!(close(&ly["flagged_m3"], 0.0), "{ly}");
    assert_eq!(criterion(qx, "quantity")["status"], "pass", "{qx}");
    // On the command line, the same replacement again changes nothing.
    f.run(&[
        "meter",
        "replace",
        "--intake",
        "QX-A",
        "--at",
        "2025-07-01 12:00",
        "--old-final",
        "181500",
        "--new-start",
        "241500",
    ]);
    let doc = f.status("2026-06-30");
    assert!(close(
        &county(&doc, "140121")["last_year"]["withdrawal_m3"],
        730_000.0
    ));
}

/// 以电折水: the farm well QX-F1 (permit 200,000 m³, 2.5 m³ per kWh) drew 8,000 kWh a month in
/// 2025 by its electricity bills, January to September (nine months imported); October to
/// December have no bill, so they are its permit pro rata. 2025: 9 × 8,000 × 2.5 = 180,000 m³
/// from electricity, plus 92 days × 200,000 ÷ 365 = 50,410.96 m³: 230,410.96 m³ estimated for
/// it, beside QX-A and QX-B's 730,000 measured. A bill for an intake without a coefficient is
/// refused with the reason.
#[test]
fn electricity_estimates_a_pump_below_the_duty() {
    let f = Fixture::new();
    let mut csv = String::new();
    for (n, line) in INTAKES.lines().enumerate() {
        csv.push_str(line);
        csv.push_str(if n == 0 {
            ",active_from,active_to,m3_per_kwh\n"
        } else {
            ",,,\n"
        });
    }
    csv.push_str(
        "QX-F1,清徐农灌井,140121,county,shallow,groundwater,agriculture,200000,100,no,,,2.5\n",
    );
    std::fs::write(f.path("intakes.csv"), csv).unwrap();
    f.steady_wells("2026-06-30");
    for i in ["QX-A", "QX-B"] {
        f.daily(i, "2025-01-01", "2026-06-30", 1000.0);
    }
    let mut bills = String::from("intake_id,period,kwh\n");
    for m in 1..=9 {
        bills.push_str(&format!("QX-F1,2025-{m:02},8000\n"));
    }
    bills.push_str("QX-A,2025-01,100\n");
    let file = f.path("power.csv");
    std::fs::write(&file, bills).unwrap();
    let cfg = f.path("gwmon.toml");
    let db = f.path("gwmon.db");
    let (code, out, err) = gwmon(&[
        "import",
        "--kind",
        "electricity",
        file.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("9 stored, 1 rejected"), "{out}");
    assert!(
        out.contains("line 11: intake 'QX-A' has no m3_per_kwh"),
        "{out}"
    );
    let doc = f.status("2026-06-30");
    let ly = &county(&doc, "140121")["last_year"];
    let want = 180_000.0 + 92.0 * 200_000.0 / 365.0;
    assert!(close(&ly["unmetered_m3"], want), "{ly}");
    assert!(close(&ly["withdrawal_m3"], 730_000.0 + want), "{ly}");
}

/// Field data through the real binary: a depth of 20.x m keyed as 2.0x m (a decimal slip) in
/// April 2025 is listed on the well and left out of its 2025 mean; the county's level series
/// are per aquifer; the 公报 compares December 2025 with December 2024.
#[test]
fn a_decimal_slip_is_listed_and_left_out_and_the_bulletin_is_per_aquifer() {
    let f = Fixture::new();
    let level =
        |base: f64, i: i32| base + 0.01 * f64::from(i) + if i % 12 < 6 { 0.5 } else { -0.5 };
    // QX-W1: ground 780 m, level ≈ 760 m (depth ≈ 20 m); month 63 is April 2025.
    f.levels("QX-W1", "2020-01-01", "2025-12-31", |i| {
        let l = level(760.0, i);
        if i == 63 {
            780.0 - (780.0 - l) / 10.0
        } else {
            l
        }
    });
    for (w, base) in [("QX-W2", 761.0), ("QX-W3", 762.0), ("QX-K1", 700.0)] {
        f.levels(w, "2020-01-01", "2025-12-31", |i| level(base, i));
    }
    let doc = f.status("2026-03-31");
    let qx = county(&doc, "140121");
    let w1 = qx["wells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "QX-W1")
        .unwrap();
    let outliers = w1["trend"]["outliers"].as_array().unwrap();
    assert_eq!(outliers.len(), 1, "{w1}");
    assert_eq!(outliers[0]["month"], "2025-04");
    // 2025's mean without April: months 60–71 but 63.
    let kept: Vec<f64> = (60..72)
        .filter(|i| *i != 63)
        .map(|i| level(760.0, i))
        .collect();
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    assert!(close(&w1["trend"]["latest_annual_mean_m"], mean), "{w1}");
    // 公报: December 2025 (level 760.21, depth 19.79) against December 2024 (depth 19.91).
    let b = &w1["bulletin"];
    assert_eq!(
        (b["year"].as_i64(), b["month"].as_i64()),
        (Some(2025), Some(12))
    );
    assert!(close(&b["depth_m"], 780.0 - level(760.0, 71)), "{b}");
    assert!(close(&b["depth_change_m"], -0.12), "{b}");
    assert_eq!(b["class"], "stable");
    let aquifers: Vec<&str> = qx["bulletin_by_aquifer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["aquifer"].as_str().unwrap())
        .collect();
    assert_eq!(aquifers, ["shallow", "karst"]);
    let series: Vec<&str> = qx["level_series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["aquifer"].as_str().unwrap())
        .collect();
    assert_eq!(series, ["shallow", "karst"]);
    assert!(
        qx.get("level_trend").is_none(),
        "no county-wide line across aquifers"
    );
    let level = criterion(qx, "level")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(level.contains("QX-W1 1 个月的读数为异常值"), "{level}");
}

impl Fixture {
    /// Steady wells; QX-A's meter reading 1,000 m³ a day through 2025 with a 60,000 m³ jump on
    /// 1 July; QX-B 1,000 m³ a day; both 1,000 m³ a day in 2026 to 30 June.
    fn jumping_meter(&self) {
        self.steady_wells("2026-06-30");
        let mut csv = String::from("intake_id,ts,total_m3\n");
        let (mut d, end): (Date, Date) =
            ("2025-01-01".parse().unwrap(), "2026-01-01".parse().unwrap());
        let mut total = 0.0;
        while d <= end {
            csv.push_str(&format!("QX-A,{d}T00:00:00+08:00,{total}\n"));
            total += if d == "2025-07-01".parse::<Date>().unwrap() {
                61_000.0
            } else {
                1000.0
            };
            d = d.checked_add(1.day()).unwrap();
        }
        let file = self.path("meter-QX-A.csv");
        std::fs::write(&file, csv).unwrap();
        self.run(&["import", "--kind", "meter", file.to_str().unwrap()]);
        self.daily("QX-B", "2025-01-01", "2025-12-31", 1000.0);
        self.daily("QX-A", "2026-01-01", "2026-06-30", 1000.0);
        self.daily("QX-B", "2026-01-01", "2026-06-30", 1000.0);
    }

    /// Imports one depth reading (from the measuring point) on the 15th of every month from
    /// `from` to `to`: `depth(months since from)`.
    fn depths(&self, well: &str, from: &str, to: &str, depth: impl Fn(i32) -> f64) {
        self.monthly_readings("depth_m", well, from, to, depth);
    }

    /// Names datums.csv in the config and writes it.
    fn datums(&self, rows: &str) {
        let cfg = std::fs::read_to_string(self.path("gwmon.toml")).unwrap();
        if !cfg.contains("datums = ") {
            let cfg = cfg.replace(
                "wells = \"wells.csv\"\n",
                "wells = \"wells.csv\"\ndatums = \"datums.csv\"\n",
            );
            std::fs::write(self.path("gwmon.toml"), cfg).unwrap();
        }
        std::fs::write(
            self.path("datums.csv"),
            format!("well_id,effective_from,ground_elevation_m,measuring_point_m,note\n{rows}"),
        )
        .unwrap();
    }

    fn well_trend(&self, as_of: &str, id: &str) -> Value {
        let doc = self.status(as_of);
        let c = county(&doc, "140121");
        c["wells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .unwrap()["trend"]
            .clone()
    }
}

/// From January 2023 the terminal of QX-W1 measures from a new measuring point 1.5 m above
/// ground: its depths read 1.5 m more. Without the datum history the well seems to have fallen
/// 1.5 m; with it (datums.csv), the stored levels are derived again from what was sent — and
/// the depths imported before the correction and after it give the same trend.
#[test]
fn a_corrected_datum_derives_past_levels_again() {
    // Depth below ground 20 m, rising water 0.12 m/a, a ±0.5 m season.
    let below_ground = |i: i32| 20.0 - 0.01 * f64::from(i) + if i % 12 < 6 { -0.5 } else { 0.5 };
    let sent = move |i: i32| below_ground(i) + if i >= 36 { 1.5 } else { 0.0 };
    let row = "QX-W1,2023-01-01,,1.5,井口加高 1.5 m\n";

    let before = Fixture::new();
    before.depths("QX-W1", "2020-01-01", "2025-12-31", sent);
    let uncorrected = before.well_trend("2026-03-31", "QX-W1");
    // The correction, then any writer opening the store (here another import) derives again.
    before.datums(row);
    before.depths("QX-W2", "2020-01-01", "2025-12-31", below_ground);
    let corrected = before.well_trend("2026-03-31", "QX-W1");

    let after = Fixture::new();
    after.datums(row);
    after.depths("QX-W1", "2020-01-01", "2025-12-31", sent);
    let fresh = after.well_trend("2026-03-31", "QX-W1");

    assert_eq!(corrected["steps"], serde_json::json!([]), "{corrected}");
    for key in [
        "sen_slope_m_per_year",
        "mean_annual_change_m",
        "latest_annual_mean_m",
        "mk_s",
    ] {
        assert!(
            close(&corrected[key], fresh[key].as_f64().unwrap()),
            "{key}: {} vs {}",
            corrected[key],
            fresh[key]
        );
    }
    // Level = 780 − depth below ground: 2025's mean of 20 − 0.01 i ± 0.5 over i = 60…71.
    let mean = (60..72).map(|i| 780.0 - below_ground(i)).sum::<f64>() / 12.0;
    assert!(close(&fresh["latest_annual_mean_m"], mean), "{fresh}");
    assert!(close(&fresh["sen_slope_m_per_year"], 0.12), "{fresh}");
    assert!(
        uncorrected["sen_slope_m_per_year"].as_f64().unwrap() < 0.0,
        "{uncorrected}"
    );
}
