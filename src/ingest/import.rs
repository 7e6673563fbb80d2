//! `gwmon import`: years of history from the bureaus' CSV files, through the same validation and
//! counter logic as live data, idempotent (importing a file twice changes nothing).

use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::domain::{Decoded, QUARANTINE_PAYLOAD_MAX, Quarantined, Reading, RejectCode, Rejection};
use crate::ingest::decode::{DecodeCtx, Kind, decode_element};
use crate::store::{Durability, StoreError, StoreSettings, open_store};

/// Rows per transaction.
const BATCH_ROWS: usize = 20_000;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    /// Cumulative meter totals: intake_id,ts,total_m3
    Meter,
    /// Water levels: well_id,ts,depth_m (or level_m)
    Level,
    /// Daily volumes where only those exist: intake_id,day,volume_m3[,provenance]
    DailyVolume,
    /// Meter replacements entered by hand: intake_id,at,old_final,new_start (as `gwmon meter
    /// replace --file`)
    Replacement,
    /// Electricity of pumps below the metering duty (以电折水): intake_id,period,kwh, the period
    /// a month (2025-07), a day, or first/last day (2025-07-01/2025-07-15)
    Electricity,
}

/// A CSV file's text encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// GB18030, the superset of GBK and GB2312 (Excel's CSV on Chinese Windows).
    #[value(name = "gb18030", alias = "gbk")]
    Gb18030,
}

/// Import failures that stop the whole file (row problems are reported, not fatal).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Header { file: String, message: String },
    #[error(
        "{file} is neither UTF-8 (not from byte {offset} on) nor GB18030/GBK text: save it from Excel as \"CSV UTF-8\" (or plain \"CSV\" on Chinese Windows) and import it again"
    )]
    Encoding { file: String, offset: usize },
    #[error("{file} line {line}: {source}")]
    Csv {
        file: String,
        line: u64,
        source: csv::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A rejected row.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ImportSummary {
    /// The file's text encoding: `UTF-8`, or `GB18030` (GBK files are read as their superset).
    pub encoding: &'static str,
    pub rows: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: Vec<RejectedRow>,
}

/// Accepted header names per field (English, and the Chinese headers bureaus use).
const ALIASES: &[(&str, &[&str])] = &[
    (
        "intake_id",
        &[
            "intake_id",
            "取水口编码",
            "取水口编号",
            "测站编码",
            "测点编码",
        ],
    ),
    (
        "well_id",
        &["well_id", "监测井编码", "监测井编号", "井号", "测站编码"],
    ),
    ("ts", &["ts", "时间", "监测时间", "采集时间", "观测时间"]),
    (
        "total_m3",
        &["total_m3", "累计水量", "累计流量", "累计取水量"],
    ),
    ("depth_m", &["depth_m", "埋深", "水位埋深", "地下水埋深"]),
    ("level_m", &["level_m", "水位", "地下水位", "水位高程"]),
    ("day", &["day", "date", "日期"]),
    ("volume_m3", &["volume_m3", "日取水量", "取水量", "日水量"]),
    ("provenance", &["provenance", "来源", "数据来源"]),
];

fn find(headers: &csv::StringRecord, field: &str) -> Option<usize> {
    let names = ALIASES
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(&[][..], |a| a.1);
    headers.iter().position(|h| names.contains(&header_name(h)))
}

/// A record of a CSV with its line in the file.
pub type LineRecord = (u64, csv::StringRecord);

/// A small CSV that holds no readings (meter replacements, electricity bills), read as the
/// reading files are: UTF-8 or GB18030, with or without a byte-order mark, `#` comments, a
/// header that may carry a unit in brackets. Returns each record with its line in the file, and
/// where each of `columns` is in the header.
pub fn read_table<const N: usize>(
    file: &Path,
    columns: [&str; N],
) -> Result<(Vec<LineRecord>, [usize; N]), ImportError> {
    let fname = file.display().to_string();
    let (text, _) = read_text(file, &fname, None)?;
    let mut lines = crate::config::csv_file::Lines::new(&text);
    let (mut rdr, headers) = csv_reader(&text, &fname)?;
    let mut at = [0usize; N];
    for (k, name) in columns.iter().enumerate() {
        at[k] = headers
            .iter()
            .position(|h| header_name(h) == *name)
            .ok_or_else(|| ImportError::Header {
                file: fname.clone(),
                message: format!("no '{name}' column; the header is {}", columns.join(",")),
            })?;
    }
    let mut out = Vec::new();
    loop {
        let from = usize::try_from(rdr.position().byte()).unwrap_or(usize::MAX);
        let line = lines.record_start(from);
        let mut record = csv::StringRecord::new();
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => out.push((line, record)),
            Err(source) => {
                return Err(ImportError::Csv {
                    file: fname,
                    line,
                    source,
                });
            }
        }
    }
    Ok((out, at))
}

/// A header without what does not name the column: a byte-order mark, white space, and a unit
/// in brackets as gwmon's own CSVs and Excel sheets write it — `累计水量（m³）`, `埋深(m)`,
/// `日取水量 （立方米）` all name their column.
fn header_name(h: &str) -> &str {
    let h = h.trim().trim_start_matches('\u{feff}').trim();
    h.find(['（', '(']).map_or(h, |at| h[..at].trim_end())
}

/// Imports one CSV file into the store at `db`.
pub fn import_csv(
    cfg: Arc<Config>,
    db: &Path,
    kind: ImportKind,
    encoding: Option<Encoding>,
    file: &Path,
    show_progress: bool,
    now: i64,
) -> Result<ImportSummary, ImportError> {
    let fname = file.display().to_string();
    let (text, encoding) = read_text(file, &fname, encoding)?;
    let size = text.len() as u64;
    let mut lines = crate::config::csv_file::Lines::new(&text);
    let (mut rdr, headers) = csv_reader(&text, &fname)?;
    let need = |field: &str| {
        find(&headers, field).ok_or_else(|| ImportError::Header {
            file: fname.clone(),
            message: format!(
                "no '{field}' column (accepted headers: {}); expected {}",
                ALIASES
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map_or(String::new(), |a| a.1.join(", ")),
                match kind {
                    ImportKind::Meter => "intake_id,ts,total_m3",
                    ImportKind::Level => "well_id,ts,depth_m or well_id,ts,level_m",
                    ImportKind::DailyVolume => "intake_id,day,volume_m3",
                    ImportKind::Replacement => "intake_id,at,old_final,new_start",
                    ImportKind::Electricity => "intake_id,period,kwh",
                }
            ),
        })
    };
    enum Cols {
        Meter(usize, usize, usize),
        Level(usize, usize, Option<usize>, Option<usize>),
        Daily(usize, usize, usize, Option<usize>),
    }
    let cols = match kind {
        ImportKind::Meter => Cols::Meter(need("intake_id")?, need("ts")?, need("total_m3")?),
        ImportKind::Level => {
            let (d, l) = (find(&headers, "depth_m"), find(&headers, "level_m"));
            if d.is_none() && l.is_none() {
                need("depth_m")?;
            }
            Cols::Level(need("well_id")?, need("ts")?, d, l)
        }
        ImportKind::DailyVolume => Cols::Daily(
            need("intake_id")?,
            need("day")?,
            need("volume_m3")?,
            find(&headers, "provenance"),
        ),
        ImportKind::Replacement | ImportKind::Electricity => {
            return Err(ImportError::Header {
                file: fname,
                message: "meter replacements and electricity are not readings: `gwmon import` records them on their own path".into(),
            });
        }
    };

    let mut store = open_store(StoreSettings::from_config(&cfg), db, Durability::Normal)?;
    let ctx = DecodeCtx {
        max_payload_bytes: usize::MAX,
        ..DecodeCtx::from_config(&cfg)
    };
    let bar = if show_progress {
        let b = ProgressBar::new(size);
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_message(format!(
            "importing {}",
            file.file_name().and_then(|n| n.to_str()).unwrap_or("")
        ));
        b
    } else {
        ProgressBar::hidden()
    };

    let mut summary = ImportSummary {
        encoding,
        ..ImportSummary::default()
    };
    let short = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(&fname)
        .to_string();
    let mut batch: Vec<(u64, Decoded)> = Vec::with_capacity(BATCH_ROWS);
    let mut flush =
        |batch: &mut Vec<(u64, Decoded)>, summary: &mut ImportSummary| -> Result<(), ImportError> {
            let refs: Vec<&Decoded> = batch.iter().map(|(_, d)| d).collect();
            let outcomes = match store.apply(&refs, now, "import") {
                Ok(outcomes) => outcomes,
                // Refused for a reason retrying cannot fix: row by row, so that the rows the
                // store refuses are named (quarantined as store_refused) and the rest land.
                Err(e) if !e.is_fatal() && !e.is_transient() => {
                    let origin = |i: usize| format!("{short} line {}", batch[i].0);
                    store.apply_each(&refs, origin, now, "import")?
                }
                Err(e) => return Err(e.into()),
            };
            for ((line, _), o) in batch.iter().zip(outcomes) {
                summary.stored += u64::from(o.stored);
                summary.duplicates += u64::from(o.duplicates);
                for r in o.reasons {
                    summary.rejected.push(RejectedRow {
                        line: *line,
                        reason: r.message,
                    });
                }
            }
            batch.clear();
            Ok(())
        };
    let mut record = csv::StringRecord::new();
    loop {
        // The reader stands just past the previous record; the line is counted from the text,
        // since the csv reader's own count is off for CRLF files and after comment lines.
        let from = usize::try_from(rdr.position().byte()).unwrap_or(usize::MAX);
        let line = lines.record_start(from);
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(ImportError::Csv {
                    file: fname,
                    line,
                    source: e,
                });
            }
        }
        summary.rows += 1;
        let origin = format!("{short} line {line}");
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let decoded = match &cols {
            Cols::Meter(id, ts, total) => {
                let mut obj = Map::new();
                obj.insert("ts".into(), cell(&field(*ts)));
                obj.insert("total_m3".into(), cell(&field(*total)));
                one(&ctx, &origin, Kind::Meter, &field(*id), &obj, now)
            }
            Cols::Level(id, ts, d, l) => {
                let mut obj = Map::new();
                obj.insert("ts".into(), cell(&field(*ts)));
                if let Some(d) = d
                    && !field(*d).is_empty()
                {
                    obj.insert("depth_m".into(), cell(&field(*d)));
                }
                if let Some(l) = l
                    && !field(*l).is_empty()
                {
                    obj.insert("level_m".into(), cell(&field(*l)));
                }
                one(&ctx, &origin, Kind::Level, &field(*id), &obj, now)
            }
            Cols::Daily(id, day, vol, prov) => {
                let prov = prov.map(&field).unwrap_or_default();
                daily(
                    &cfg,
                    &origin,
                    [&field(*id), &field(*day), &field(*vol), &prov],
                    now,
                )
            }
        };
        batch.push((line, decoded));
        if batch.len() >= BATCH_ROWS {
            flush(&mut batch, &mut summary)?;
            bar.set_position(rdr.position().byte());
        }
    }
    flush(&mut batch, &mut summary)?;
    bar.finish_and_clear();
    Ok(summary)
}

/// A CSV cell as a JSON value: numbers as numbers, anything else as a string (so the decoder
/// reports it as the wrong type rather than guessing).
fn cell(s: &str) -> Value {
    if s.is_empty() {
        return Value::Null;
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => {
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
        }
        _ => Value::String(s.to_string()),
    }
}

/// What is wrong with a row's cells, in the words of a spreadsheet: an empty time, or text where a
/// number belongs. (The decoder's own messages speak of JSON fields, which is what MQTT sends.)
fn cell_problem(obj: &Map<String, Value>, origin: &str) -> Option<String> {
    match obj.get("ts") {
        None | Some(Value::Null) => {
            return Some(format!(
                "column ts is empty ({origin}): expected a time such as 2024-01-01 08:00 or 2024/1/1 8:00"
            ));
        }
        _ => {}
    }
    for (key, what) in [
        ("total_m3", "the meter's cumulative total in m³"),
        ("depth_m", "the depth to water in m below ground"),
        ("level_m", "the water level in m above the datum"),
    ] {
        match obj.get(key) {
            Some(Value::String(s)) => {
                return Some(format!(
                    "column {key} = '{}' ({origin}) is not a number: expected {what}, digits only, e.g. 12345.6",
                    crate::domain::sanitize::for_log(s, 40)
                ));
            }
            Some(Value::Null) if key == "total_m3" => {
                return Some(format!(
                    "column total_m3 is empty ({origin}): expected {what}"
                ));
            }
            _ => {}
        }
    }
    None
}

/// The file's text: in the encoding asked for, or else UTF-8 (with or without a byte-order
/// mark) when it is valid UTF-8, and GB18030, the superset of the GBK that Excel writes on
/// Chinese Windows, when it is not. `Err` holds the offset of the first byte that is not UTF-8.
/// The text of an import file (named `fname` in errors), decoded from UTF-8 or GB18030 (or
/// the `forced` encoding), and the encoding's name.
fn read_text(
    file: &Path,
    fname: &str,
    forced: Option<Encoding>,
) -> Result<(String, &'static str), ImportError> {
    let bytes = std::fs::read(file).map_err(|source| ImportError::Read {
        file: fname.to_string(),
        source,
    })?;
    decode_text(&bytes, forced)
        .map(|(text, encoding)| (text.into_owned(), encoding))
        .map_err(|offset| ImportError::Encoding {
            file: fname.to_string(),
            offset,
        })
}

/// A reader of import CSV `text` (`#` comments, trimmed fields, rows of any length) and its
/// header row.
fn csv_reader<'t>(
    text: &'t str,
    fname: &str,
) -> Result<(csv::Reader<&'t [u8]>, csv::StringRecord), ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| ImportError::Header {
            file: fname.to_string(),
            message: format!("cannot read the header row: {e}"),
        })?
        .clone();
    Ok((rdr, headers))
}

fn decode_text(
    bytes: &[u8],
    forced: Option<Encoding>,
) -> Result<(std::borrow::Cow<'_, str>, &'static str), usize> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let gb18030 = || {
        encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(body)
            .map(|s| (s, "GB18030"))
    };
    match (forced, std::str::from_utf8(body)) {
        (Some(Encoding::Gb18030), Err(e)) => gb18030().ok_or(e.valid_up_to()),
        (Some(Encoding::Gb18030), Ok(_)) => gb18030().ok_or(0),
        (_, Ok(s)) => Ok((std::borrow::Cow::Borrowed(s), "UTF-8")),
        (Some(Encoding::Utf8), Err(e)) => Err(e.valid_up_to()),
        (None, Err(e)) => gb18030().ok_or(e.valid_up_to()),
    }
}

fn rejected(origin: &str, raw: String, code: RejectCode, msg: String) -> Decoded {
    let mut payload = raw.into_bytes();
    payload.truncate(QUARANTINE_PAYLOAD_MAX);
    Decoded {
        readings: Vec::new(),
        rejected: vec![Quarantined {
            origin: format!("import:{origin}"),
            payload,
            rejection: Rejection::new(code, msg),
        }],
        rejected_more: 0,
    }
}

fn one(
    ctx: &DecodeCtx<'_>,
    origin: &str,
    kind: Kind,
    id: &str,
    obj: &Map<String, Value>,
    now: i64,
) -> Decoded {
    let raw = Value::Object(obj.clone()).to_string();
    let known = match kind {
        Kind::Meter => ctx.registry.intake(id).is_some(),
        Kind::Level => ctx.registry.well(id).is_some(),
    };
    if !known {
        // The file names no county; the registry check reports unknown or wrong-kind devices.
        let r = crate::ingest::decode::check_device(ctx.registry, "", kind, id)
            .err()
            .unwrap_or_else(|| {
                Rejection::new(RejectCode::UnknownDevice, format!("unknown device '{id}'"))
            });
        return rejected(origin, raw, r.code, format!("{} ({origin})", r.message));
    }
    if let Some(problem) = cell_problem(obj, origin) {
        return rejected(origin, raw, RejectCode::BadField, problem);
    }
    match decode_element(ctx, origin, kind, id, obj, now) {
        Ok(r) => Decoded {
            readings: vec![r],
            ..Decoded::default()
        },
        Err(r) => rejected(origin, raw, r.code, r.message),
    }
}

/// A daily-volume row: intake, day, volume and provenance (`metered`, the default, or
/// `estimated`).
fn daily(cfg: &Config, origin: &str, [id, day, vol, prov]: [&str; 4], now: i64) -> Decoded {
    let raw = format!("{id},{day},{vol}");
    let estimated = match prov.trim() {
        "" | "metered" | "实测" => false,
        "estimated" | "估算" => true,
        other => {
            return rejected(
                origin,
                raw,
                RejectCode::BadValue,
                format!(
                    "provenance '{other}' ({origin}): expected metered (the default) or estimated"
                ),
            );
        }
    };
    if cfg.registry.intake(id).is_none() {
        return rejected(
            origin,
            raw,
            RejectCode::UnknownDevice,
            format!("unknown intake '{id}' ({origin}): add it to intakes.csv or fix the id"),
        );
    }
    let d = match crate::domain::time::parse_date(day, "day") {
        Ok(d) => d,
        Err(e) => {
            return rejected(
                origin,
                raw,
                RejectCode::BadTimestamp,
                format!("{e} ({origin})"),
            );
        }
    };
    if d > cfg.clock.day_of(now) {
        return rejected(
            origin,
            raw,
            RejectCode::FutureTimestamp,
            format!("day {d} is in the future ({origin})"),
        );
    }
    match vol.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Decoded {
            readings: vec![Reading::DailyVolume {
                intake_id: id.to_string(),
                day: d,
                volume_m3: v,
                estimated,
            }],
            ..Decoded::default()
        },
        _ => rejected(
            origin,
            raw,
            RejectCode::BadValue,
            format!("volume_m3 '{vol}' ({origin}): expected a daily volume ≥ 0 in m³"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers gwmon writes, units and all, name their columns.
    #[test]
    fn headers_with_units_name_their_columns() {
        let headers = csv::StringRecord::from(vec![
            "\u{feff}取水口编码",
            "监测时间",
            "累计水量（m³）",
            "埋深(m)",
            "日取水量 （m3）",
            "date",
        ]);
        assert_eq!(find(&headers, "intake_id"), Some(0));
        assert_eq!(find(&headers, "ts"), Some(1));
        assert_eq!(find(&headers, "total_m3"), Some(2));
        assert_eq!(find(&headers, "depth_m"), Some(3));
        assert_eq!(find(&headers, "volume_m3"), Some(4));
        assert_eq!(find(&headers, "day"), Some(5));
        assert_eq!(find(&headers, "level_m"), None);
    }

    const NOW: i64 = 1_772_323_200; // 2026-03-01

    /// Imports `text` as a meter file into a fresh store; returns the summary and the store.
    fn import_meter(bytes: &[u8]) -> (ImportSummary, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("meters.csv");
        std::fs::write(&file, bytes).unwrap();
        let cfg = Arc::new(Config::embedded().unwrap());
        let db = dir.path().join("gwmon.db");
        let s = import_csv(cfg, &db, ImportKind::Meter, None, &file, false, NOW).unwrap();
        (s, dir)
    }

    fn an_intake() -> String {
        Config::embedded().unwrap().registry.intakes[0].id.clone()
    }

    /// Excel on Chinese Windows saves CSV as GBK: Chinese headers, Excel's own time form, CRLF.
    #[test]
    fn a_gbk_excel_file_with_crlf_imports_with_true_line_numbers() {
        let id = an_intake();
        let text = format!(
            "取水口编码,监测时间,累计水量\r\n{id},2025/1/1 0:00,100\r\n# 以下为二月\r\n{id},2025/2/1 0:00,abc\r\n{id},2025/3/1 0:00,300\r\n"
        );
        let (gbk, _, lossy) = encoding_rs::GBK.encode(&text);
        assert!(!lossy);
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "the fixture is not UTF-8"
        );
        let (s, _dir) = import_meter(&gbk);
        assert_eq!(s.encoding, "GB18030");
        assert_eq!((s.rows, s.stored), (3, 2));
        assert_eq!(s.rejected.len(), 1);
        assert_eq!(s.rejected[0].line, 4, "CRLF and the comment line counted");
        assert_eq!(
            s.rejected[0].reason,
            "column total_m3 = 'abc' (meters.csv line 4) is not a number: expected the meter's cumulative total in m³, digits only, e.g. 12345.6"
        );
    }

    #[test]
    fn neither_utf8_nor_gb18030_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.csv");
        // 0x80 alone is not GB18030; 0xFF never is.
        std::fs::write(&file, b"intake_id,ts,total_m3\n\xff\x80,1,2\n").unwrap();
        let cfg = Arc::new(Config::embedded().unwrap());
        let e = import_csv(
            cfg,
            &dir.path().join("g.db"),
            ImportKind::Meter,
            None,
            &file,
            false,
            NOW,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("neither UTF-8") && e.contains("CSV UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_time_is_named_as_a_column() {
        let id = an_intake();
        let (s, _dir) = import_meter(format!("intake_id,ts,total_m3\n{id},,5\n").as_bytes());
        assert_eq!(s.rejected.len(), 1);
        assert!(
            s.rejected[0]
                .reason
                .starts_with("column ts is empty (meters.csv line 2)"),
            "{}",
            s.rejected[0].reason
        );
    }

    /// Importing the same file twice stores nothing new and quarantines nothing new.
    #[test]
    fn a_second_import_adds_no_quarantine_rows() {
        let id = an_intake();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.csv");
        std::fs::write(
            &file,
            format!("intake_id,ts,total_m3\n{id},2025-01-01 00:00,1\n{id},2025-01-02 00:00,x\nNOPE,2025-01-02 00:00,1\n"),
        )
        .unwrap();
        let cfg = Arc::new(Config::embedded().unwrap());
        let db = dir.path().join("gwmon.db");
        let rows = || -> i64 {
            crate::store::open_ro(&db)
                .unwrap()
                .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))
                .unwrap()
        };
        let first = import_csv(
            Arc::clone(&cfg),
            &db,
            ImportKind::Meter,
            None,
            &file,
            false,
            NOW,
        )
        .unwrap();
        assert_eq!((first.stored, first.rejected.len()), (1, 2));
        assert_eq!(rows(), 2);
        let again = import_csv(
            Arc::clone(&cfg),
            &db,
            ImportKind::Meter,
            None,
            &file,
            false,
            NOW,
        )
        .unwrap();
        assert_eq!((again.stored, again.duplicates), (0, 1));
        assert_eq!(rows(), 2, "the same refusals are not quarantined twice");
    }

    /// Imported level rows go through the same plausibility check as MQTT readings: a level in
    /// the depth column, or a depth in the level column, is quarantined as `bad_value` with its
    /// line and the likely mix-up.
    #[test]
    fn implausible_level_rows_are_quarantined_with_the_likely_cause() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("levels.csv");
        std::fs::write(
            &file,
            "# W-XD-01: ground at 768.47 m\nwell_id,ts,depth_m,level_m\n\
             W-XD-01,2025-06-01 08:00:00,16.2,\n\
             W-XD-01,2025-06-02 08:00:00,752.3,\n\
             W-XD-01,2025-06-03 08:00:00,,16.1\n\
             W-XD-01,2025-06-04 08:00:00,,752.4\n",
        )
        .unwrap();
        let cfg = Arc::new(Config::embedded().unwrap());
        let db = dir.path().join("gwmon.db");
        let now = 1_772_323_200; // 2026-03-01
        let s = import_csv(
            Arc::clone(&cfg),
            &db,
            ImportKind::Level,
            None,
            &file,
            false,
            now,
        )
        .unwrap();
        assert_eq!((s.rows, s.stored), (4, 2));
        assert_eq!(
            s.rejected,
            [
                RejectedRow {
                    line: 4,
                    reason: "depth_m = 752.3 is deeper than the well's maximum 300 m: was a level (m above the datum) given as depth_m? (on levels.csv line 4)".into(),
                },
                RejectedRow {
                    line: 5,
                    reason: "level_m = 16.1 puts the water table 752.37 m below ground (ground at 768.47 m above the datum), which is deeper than the well's maximum 300 m: was a depth to water (m below ground) given as level_m? (on levels.csv line 5)".into(),
                },
            ]
        );
        let conn = crate::store::open_rw(&db, Durability::Normal).unwrap();
        let codes: Vec<String> = conn
            .prepare("SELECT reason_code FROM quarantine ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(codes, ["bad_value", "bad_value"]);
    }
}
