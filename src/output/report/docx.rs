//! `自评估图表.docx`: the county's figures as a Word document that goes into the self-assessment
//! report as it is — the verdict, the criteria, every chart of the folder at print size with a
//! numbered caption, and the tables of wells, intakes over their permit and silent meters.
//!
//! Chinese text is set in 宋体 (SimSun), the face every Chinese Word and WPS has; Latin text and
//! figures in Times New Roman. A machine without them substitutes (LibreOffice on Linux takes a
//! CJK face through fontconfig), so the document never depends on a font being installed.
//!
//! The bytes depend on the status document and the charts only: the document properties carry
//! the as-of date as their created and modified time, the zip entries docx-rs's fixed date, and
//! every id is numbered within the document, so two runs give the same file.

use crate::output::wording;
use docx_rs::{
    AlignmentType, DocumentChild, Docx, Footer, PageMargin, PageNum, Paragraph, Pic, Run, RunFonts,
    Shading, Style, StyleType, Table, TableCell, TableCellContent, TableChild, TableRow,
    TableRowChild, WidthType,
};
use jiff::civil::Date;

use super::figures::{self, Figure};
use super::html::reasons;
use super::summary::progress;
use super::{ReportError, county_dir};
use crate::analysis::verdict::Verdict;
use crate::assess::{CountyStatus, StatusDoc};
use crate::domain::volume::wan;

/// A4 in twips (1/20 pt).
const PAGE_W: u32 = 11_906;
const PAGE_H: u32 = 16_838;
/// 2.5 cm margins left and right, 2.54 cm top and bottom: 16 cm of text width.
const MARGIN_SIDE: i32 = 1_417;
const MARGIN_TB: i32 = 1_440;
/// The text width in twips (16 cm).
const TEXT_W: usize = 9_072;
/// Charts are placed 16 cm wide, the size they were drawn for (150 px/cm).
const CHART_W_EMU: u32 = 16 * EMU_PER_CM;
const EMU_PER_CM: u32 = 360_000;

const EAST_ASIA: &str = "宋体";
const LATIN: &str = "Times New Roman";
/// Sizes in half-points: 三号 title, 四号 headings, 五号 body, 小五 tables and captions.
const TITLE_SIZE: usize = 32;
const HEADING_SIZE: usize = 28;
const BODY_SIZE: usize = 21;
const SMALL_SIZE: usize = 18;

/// The Word document of county `c`, with every chart PNG among `files`, the files of its folder
/// (file name, bytes).
pub fn render(
    doc: &StatusDoc,
    c: &CountyStatus,
    as_of: Date,
    files: &[(String, Vec<u8>)],
) -> Result<Vec<u8>, ReportError> {
    let charts: Vec<(Figure, &[u8])> = figures::charts_in(files.iter().map(|(n, _)| n.as_str()))
        .into_iter()
        .filter_map(|f| {
            let png = files.iter().find(|(n, _)| *n == f.file)?.1.as_slice();
            Some((f, png))
        })
        .collect();
    build(doc, c, as_of, &charts).map_err(|message| ReportError::Docx {
        county: county_dir(c),
        message,
    })
}

/// The document's bytes: `charts` are (figure, PNG bytes) in numbering order.
fn build(
    doc: &StatusDoc,
    c: &CountyStatus,
    as_of: Date,
    charts: &[(Figure, &[u8])],
) -> Result<Vec<u8>, String> {
    let stamp = format!("{as_of}T00:00:00Z");
    let mut d = Docx::new()
        .page_size(PAGE_W, PAGE_H)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TB)
                .bottom(MARGIN_TB)
                .left(MARGIN_SIDE)
                .right(MARGIN_SIDE),
        )
        .default_fonts(fonts())
        .default_size(BODY_SIZE)
        .add_style(heading_style())
        .footer(page_footer())
        .created_at(&stamp)
        .updated_at(&stamp);

    d = d
        .add_paragraph(
            Paragraph::new().align(AlignmentType::Center).add_run(
                text(&format!(
                    "{}（{}）地下水超采区退出自评估图表",
                    c.name, c.code
                ))
                .bold()
                .size(TITLE_SIZE),
            ),
        )
        .add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .add_run(text(&format!("数据截至 {}（{} 年）", doc.as_of, doc.year))),
        );
    if doc.example_data {
        d = d.add_paragraph(
            Paragraph::new().add_run(
                text("示例数据：本文件所用的分县管控指标和/或取水口名录为示例值，不是规划或官方数据，不得用于正式报告。")
                    .bold()
                    .color("C62828"),
            ),
        );
    }
    for w in &doc.warnings {
        d = d.add_paragraph(Paragraph::new().add_run(text(&format!("注意：{w}")).bold()));
    }

    // 一、结论
    let mut tables = 0;
    d = d.add_paragraph(heading("一、结论"));
    d = d.add_paragraph(
        Paragraph::new().add_run(text("结论：")).add_run(
            text(c.verdict_label)
                .bold()
                .color(verdict_colour(c.verdict)),
        ),
    );
    d = d.add_paragraph(Paragraph::new().add_run(text(&format!(
        "未达标判据：{}。管控指标 {} 万 m³，本年累计 {} 万 m³，年末预测 {} 万 m³，k = {}。",
        reasons(c),
        c.quota_m3.map_or("—".into(), wan),
        wan(c.ytd_m3),
        wan(c.projected_m3),
        doc.fmt_k(c.k)
    ))));
    d = table_with_caption(
        d,
        &mut tables,
        "判据",
        &[("判据", 1_300), ("状态", 1_100), ("数据与阈值", 6_672)],
        c.criteria
            .iter()
            .map(|k| {
                vec![
                    k.label().to_string(),
                    k.status.label().to_string(),
                    k.detail.clone(),
                ]
            })
            .collect(),
    );
    let dl = &c.deadlines;
    let (sa_progress, exit_progress) = progress(dl);
    d = table_with_caption(
        d,
        &mut tables,
        "期限",
        &[("事项", 2_600), ("期限", 2_000), ("进度", 4_472)],
        vec![
            vec![
                "提交自评估报告".into(),
                dl.self_assessment
                    .date
                    .clone()
                    .unwrap_or_else(|| "—".into()),
                sa_progress,
            ],
            vec![
                "完成退出".into(),
                dl.exit.date.clone().unwrap_or_else(|| "—".into()),
                exit_progress,
            ],
        ],
    );

    // 二、图表
    d = d.add_paragraph(heading("二、图表"));
    if charts.is_empty() {
        d = d.add_paragraph(Paragraph::new().add_run(text("（本县无图表）")));
    }
    for (n, (f, png)) in (1..).zip(charts) {
        let (w, h) = png_size(png).map_err(|e| format!("{}: {e}", f.file))?;
        let height = (u64::from(CHART_W_EMU) * u64::from(h) / u64::from(w.max(1))) as u32;
        // Numbered within the document: docx-rs would take the next number of a process-wide
        // counter, which depends on the order the counties' workers ran in.
        let pic = Pic::new_with_dimensions(png.to_vec(), w, h)
            .size(CHART_W_EMU, height)
            .id(format!("rIdImage{n}"));
        d = d
            .add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .keep_next(true)
                    .add_run(Run::new().add_image(pic)),
            )
            .add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_run(text(&format!("图{n} {}", f.title)).size(SMALL_SIZE)),
            );
    }

    // 三、监测井
    d = d.add_paragraph(heading("三、地下水位监测井"));
    let wells: Vec<Vec<String>> = c
        .wells
        .iter()
        .map(|w| {
            vec![
                w.id.clone(),
                w.name.clone(),
                w.aquifer_label.to_string(),
                format!("{}/{}", w.trend.n_months, w.trend.window_months),
                fixed(w.trend.sen_slope_m_per_year, 3),
                fixed(w.trend.mean_annual_change_m, 3),
                w.trend.direction.label().to_string(),
                if w.trend.sufficient { "是" } else { "否" }.to_string(),
            ]
        })
        .collect();
    if wells.is_empty() {
        d = d.add_paragraph(Paragraph::new().add_run(text("本县无监测井。")));
    } else {
        d = table_with_caption(
            d,
            &mut tables,
            "监测井水位趋势",
            &[
                ("监测井", 1_200),
                ("名称", 1_900),
                ("含水层", 1_100),
                ("有效月数", 900),
                ("Sen 斜率（m/a）", 1_050),
                ("年均变幅（m/a）", 1_050),
                ("趋势", 1_000),
                ("数据充分", 872),
            ],
            wells,
        );
    }

    // 四、取水许可
    d = d.add_paragraph(heading("四、取水许可"));
    let p = &c.permits;
    let permits: Vec<Vec<String>> = (p.unpermitted.iter().map(|e| (e, "无证取水")))
        .chain(p.over.iter().map(|e| (e, "已超许可")))
        .chain(p.projected_over.iter().map(|e| (e, "预计超许可")))
        .chain(p.over_last_year.iter().map(|e| (e, "上年超许可")))
        .map(|(e, state)| {
            vec![
                e.id.clone(),
                e.name.clone(),
                wan(e.permit_m3),
                wan(e.ytd_m3),
                wan(e.projected_m3),
                wan(e.last_year_m3),
                state.to_string(),
            ]
        })
        .collect();
    if permits.is_empty() {
        d = d.add_paragraph(
            Paragraph::new().add_run(text("无无证取水、超许可或预计超许可的取水口。")),
        );
    } else {
        d = table_with_caption(
            d,
            &mut tables,
            "超许可及无证取水的取水口（万 m³）",
            &[
                ("取水口", 1_200),
                ("名称", 2_072),
                ("许可水量", 1_100),
                ("本年累计", 1_100),
                ("年末预测", 1_100),
                ("上年", 1_100),
                ("状态", 1_400),
            ],
            permits,
        );
    }

    // 五、在线计量
    d = d.add_paragraph(heading("五、在线计量"));
    let m = &c.metering;
    d = d.add_paragraph(Paragraph::new().add_run(text(&format!(
        "应在线计量取水口 {} 处，按时上报 {} 处，覆盖率 {}。",
        m.obligated,
        m.reporting,
        m.coverage
            .map_or(wording::DASH.into(), |v| wording::percent(v, 1))
    ))));
    if m.silent.is_empty() {
        d = d.add_paragraph(Paragraph::new().add_run(text("无未按时上报的计量设施。")));
    } else {
        d = table_with_caption(
            d,
            &mut tables,
            "未按时上报的计量设施",
            &[("取水口", 1_800), ("名称", 4_272), ("最后数据", 3_000)],
            m.silent
                .iter()
                .map(|x| {
                    vec![
                        x.id.clone(),
                        x.name.clone(),
                        x.last_reading.clone().unwrap_or_else(|| "无".into()),
                    ]
                })
                .collect(),
        );
    }

    number_paragraphs(&mut d);
    let mut bytes = Vec::new();
    d.pack(std::io::Cursor::new(&mut bytes))
        .map_err(|e| e.to_string())?;
    repeat_header_rows(&bytes)
}

/// The package with every table's header row marked to repeat at the top of each page the
/// table runs onto (`w:tblHeader`, which docx-rs does not write). The header rows are the only
/// rows without properties of their own: body rows are all marked `cantSplit`. Entries keep
/// their order, names and the package's fixed date, so the bytes stay deterministic.
fn repeat_header_rows(package: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::{Read, Write};
    const HEADER_ROW: &str = "<w:tr><w:trPr />";
    const REPEATED: &str = "<w:tr><w:trPr><w:tblHeader /></w:trPr>";
    let mut input =
        zip::ZipArchive::new(std::io::Cursor::new(package)).map_err(|e| e.to_string())?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for i in 0..input.len() {
        let mut entry = input.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().to_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
        if name == "word/document.xml" {
            let xml = String::from_utf8(data).map_err(|e| e.to_string())?;
            data = xml.replace(HEADER_ROW, REPEATED).into_bytes();
        }
        out.start_file(name, opts).map_err(|e| e.to_string())?;
        out.write_all(&data).map_err(|e| e.to_string())?;
    }
    out.finish()
        .map(|c| c.into_inner())
        .map_err(|e| e.to_string())
}

/// Numbers the paragraphs 1, 2, … in document order. docx-rs gives each new paragraph the next
/// number of a per-thread counter, so its ids would depend on which documents the same worker
/// thread built before this one.
fn number_paragraphs(d: &mut Docx) {
    let mut n = 0_u32;
    let mut number = |p: &mut Paragraph| {
        n += 1;
        p.id = format!("{n:08X}");
    };
    for child in &mut d.document.children {
        match child {
            DocumentChild::Paragraph(p) => number(p),
            DocumentChild::Table(t) => {
                for TableChild::TableRow(row) in &mut t.rows {
                    for TableRowChild::TableCell(cell) in &mut row.cells {
                        for content in &mut cell.children {
                            if let TableCellContent::Paragraph(p) = content {
                                number(p);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// 宋体 for Chinese, Times New Roman for the rest; characters both scripts use (（）“”：)
/// in 宋体, as Chinese Word sets them.
fn fonts() -> RunFonts {
    RunFonts::new()
        .east_asia(EAST_ASIA)
        .ascii(LATIN)
        .hi_ansi(LATIN)
        .cs(LATIN)
        .hint("eastAsia")
}

/// A run of `s` in the document's fonts.
fn text(s: &str) -> Run {
    Run::new().add_text(s).fonts(fonts())
}

/// The style id of the section headings: Word's own "heading 1", so the navigation pane and a
/// table of contents find them.
const HEADING_STYLE: &str = "Heading1";

/// "heading 1" in the document's fonts: 四号, bold, outline level 1, kept with what follows.
fn heading_style() -> Style {
    Style::new(HEADING_STYLE, StyleType::Paragraph)
        .name("heading 1")
        .based_on("Normal")
        .next("Normal")
        .outline_lvl(0)
        .bold()
        .size(HEADING_SIZE)
        .fonts(fonts())
}

/// The footer of every page: its number, centred.
fn page_footer() -> Footer {
    Footer::new().add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(text("第 ").size(SMALL_SIZE))
            .add_page_num(PageNum::new())
            .add_run(text(" 页").size(SMALL_SIZE)),
    )
}

/// A section heading in the heading style, kept with what follows it.
fn heading(s: &str) -> Paragraph {
    Paragraph::new()
        .style(HEADING_STYLE)
        .keep_next(true)
        .add_run(text(s).bold().size(HEADING_SIZE))
}

/// The verdict's colour, as index.html shows it.
fn verdict_colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Ready => "1A7F37",
        Verdict::AtRisk => "B35900",
        Verdict::NotReady => "C62828",
        Verdict::InsufficientData => "666666",
    }
}

/// `v` with `decimals` decimals, or "—".
fn fixed(v: Option<f64>, decimals: usize) -> String {
    wording::or_dash(v, |v| wording::fixed(v, decimals))
}

/// A numbered caption ("表2 期限") above a table with a shaded header row; `columns` are
/// (header, width in twips), the widths adding up to the text width.
fn table_with_caption(
    d: Docx,
    tables: &mut usize,
    title: &str,
    columns: &[(&str, usize)],
    rows: Vec<Vec<String>>,
) -> Docx {
    debug_assert_eq!(columns.iter().map(|c| c.1).sum::<usize>(), TEXT_W);
    *tables += 1;
    // Figures are right-aligned so their decimals line up.
    let cell = |s: &str, w: usize, bold: bool| {
        let run = text(s).size(SMALL_SIZE);
        let align = if !bold && s.parse::<f64>().is_ok() {
            AlignmentType::Right
        } else {
            AlignmentType::Left
        };
        TableCell::new().width(w, WidthType::Dxa).add_paragraph(
            Paragraph::new()
                .align(align)
                .add_run(if bold { run.bold() } else { run }),
        )
    };
    let header = TableRow::new(
        columns
            .iter()
            .map(|&(h, w)| cell(h, w, true).shading(Shading::new().fill("E7E6E6")))
            .collect(),
    );
    // A row is never split across pages: an intake's name stays next to its figures.
    let body = rows.iter().map(|r| {
        TableRow::new(
            columns
                .iter()
                .zip(r)
                .map(|(&(_, w), s)| cell(s, w, false))
                .collect(),
        )
        .cant_split()
    });
    let table = Table::new(std::iter::once(header).chain(body).collect())
        .set_grid(columns.iter().map(|c| c.1).collect())
        .width(TEXT_W, WidthType::Dxa);
    d.add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .keep_next(true)
            .add_run(text(&format!("表{tables} {title}")).size(SMALL_SIZE)),
    )
    .add_table(table)
    .add_paragraph(Paragraph::new())
}

/// Width and height of a PNG from its header.
fn png_size(png: &[u8]) -> Result<(u32, u32), String> {
    let reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .map_err(|e| e.to_string())?;
    let info = reader.info();
    Ok((info.width, info.height))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::config::Config;

    const AS_OF: &str = "2026-11-28";

    /// The status document of an empty store (every county without data).
    fn status() -> StatusDoc {
        let cfg = Config::embedded().unwrap();
        crate::assess::testing::empty(&cfg, AS_OF.parse().unwrap()).doc
    }

    /// A `w`×`h` PNG in grey `level` (docx-rs stores identical images once, so each chart of a
    /// test gets its own level).
    fn png(w: u32, h: u32, level: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer
            .write_image_data(&vec![level; (w * h) as usize])
            .unwrap();
        writer.finish().unwrap();
        out
    }

    /// The entries of a zip: name → bytes.
    fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        (0..zip.len())
            .map(|i| {
                let mut f = zip.by_index(i).unwrap();
                let mut data = Vec::new();
                f.read_to_end(&mut data).unwrap();
                (f.name().to_string(), data)
            })
            .collect()
    }

    /// A county folder with the charts `stems` as PNGs (and an SVG and a CSV beside one, which
    /// the document must leave out).
    fn folder(stems: &[&str]) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        for (level, stem) in (100..).zip(stems) {
            files.push((format!("{stem}.png"), png(48, 36, level)));
        }
        for other in ["readiness.svg", "readiness.csv"] {
            files.push((other.to_owned(), b"x".to_vec()));
        }
        files
    }

    #[test]
    fn the_document_names_the_county_and_holds_every_chart_with_its_caption() {
        let doc = status();
        let c = &doc.counties[0];
        let files = folder(&[
            "hydrographs-2",
            "readiness",
            "monthly",
            "hydrographs",
            "cumulative",
        ]);
        let bytes = render(&doc, c, AS_OF.parse().unwrap(), &files).unwrap();
        let entries = unzip(&bytes);
        let xml = entries
            .iter()
            .find(|(n, _)| n == "word/document.xml")
            .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
            .expect("word/document.xml");
        assert!(xml.contains(&c.name), "the county's name");
        assert!(
            !xml.contains("gwmon"),
            "no tool name in the appendix's text"
        );
        assert!(xml.contains(c.verdict_label), "the verdict");
        let captions = [
            "图1 退出准备度",
            "图2 本年累计取水量",
            "图3 近三年逐月取水量",
            "图4 监测井水位过程线",
            "图5 监测井水位过程线（续1）",
        ];
        let mut at = 0;
        for caption in captions {
            let found = xml[at..]
                .find(caption)
                .unwrap_or_else(|| panic!("{caption} after byte {at}"));
            at += found + caption.len();
        }
        assert!(!xml.contains("图6"));
        assert_eq!(xml.matches("<pic:pic").count(), 5, "one picture per PNG");
        let media = entries
            .iter()
            .filter(|(n, _)| n.starts_with("word/media/") && n.ends_with(".png"))
            .count();
        assert_eq!(media, 5);
        // 16 cm wide, the height in the PNG's proportion (48 × 36 → 12 cm).
        assert!(xml.contains(r#"cx="5760000" cy="4320000""#), "print size");
        assert!(xml.contains("示例数据") == doc.example_data);
        for table in ["判据", "期限"] {
            assert!(xml.contains(table), "{table}");
        }
        assert!(xml.contains(r#"w:eastAsia="宋体""#), "Chinese in 宋体");
        // Section headings in Word's heading 1 (outline level 1), so the navigation pane and
        // a table of contents find them.
        let styles = entries
            .iter()
            .find(|(n, _)| n == "word/styles.xml")
            .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
            .expect("word/styles.xml");
        assert!(
            styles.contains(r#"w:styleId="Heading1""#)
                && styles.contains(r#"<w:name w:val="heading 1" />"#)
                && styles.contains(r#"<w:outlineLvl w:val="0" />"#),
            "{styles}"
        );
        assert!(
            xml.matches(r#"<w:pStyle w:val="Heading1" />"#).count() >= 3,
            "the sections use the heading style"
        );
        // Page numbers in the footer of every page: a PAGE field.
        let footer = entries
            .iter()
            .find(|(n, _)| n.starts_with("word/footer") && n.ends_with(".xml"))
            .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
            .expect("a footer part");
        assert!(footer.contains("PAGE"), "{footer}");
        assert!(
            xml.contains("<w:footerReference"),
            "the section uses the footer"
        );
    }

    #[test]
    fn two_documents_of_the_same_county_are_byte_identical_and_dated_as_of() {
        let doc = status();
        let c = &doc.counties[1];
        let pngs: Vec<(Figure, Vec<u8>)> = (1..)
            .zip(["readiness", "monthly"])
            .map(|(level, stem)| {
                let f = figures::charts_in([format!("{stem}.png").as_str()]).remove(0);
                (f, png(30, 20, level))
            })
            .collect();
        let charts: Vec<(Figure, &[u8])> = pngs
            .iter()
            .map(|(f, b)| (f.clone(), b.as_slice()))
            .collect();
        let as_of: Date = AS_OF.parse().unwrap();
        let first = build(&doc, c, as_of, &charts).unwrap();
        // Another document in between moves docx-rs's process-wide counters.
        build(&doc, &doc.counties[2], as_of, &charts).unwrap();
        let second = build(&doc, c, as_of, &charts).unwrap();
        assert!(
            first == second,
            "the same document twice gives the same bytes"
        );
        let core = unzip(&first)
            .into_iter()
            .find(|(n, _)| n == "docProps/core.xml")
            .map(|(_, b)| String::from_utf8(b).unwrap())
            .unwrap();
        assert_eq!(core.matches("2026-11-28T00:00:00Z").count(), 2, "{core}");
    }
}
