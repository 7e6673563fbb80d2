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

use super::bulletin::bulletin_rows;
use super::figures::{self, Figure};
use super::html::reasons;
use super::permits::permit_rows;
use super::summary::progress;
use super::{ReportError, county_dir};
use crate::analysis::verdict::{Status, Verdict};
use crate::assess::{CountyStatus, DeadlineState, StatusDoc};
use crate::config::{AssessmentConfig, MeteringConfig};
use crate::domain::volume::wan;
use crate::output::charts::YearWithdrawal;

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

/// What the appendix needs beyond the status document, from the configuration and the series.
pub struct Extra<'a> {
    /// 编制单位 (`[report] author`): the document's author and the sign-off block's first line;
    /// empty leaves both blank.
    pub author: &'a str,
    pub assessment: &'a AssessmentConfig,
    pub metering: &'a MeteringConfig,
    /// Withdrawal and quota of each complete year from the base year, as the readiness chart
    /// draws them.
    pub years: Vec<YearWithdrawal>,
    /// The county's own intakes in force on the as-of date (its budget), for the network table.
    pub intakes: Vec<NetworkIntake>,
}

/// An intake as the 监测站网 table lists it.
pub struct NetworkIntake {
    pub id: String,
    pub name: String,
    pub source: &'static str,
    pub aquifer: &'static str,
    pub permit_m3: f64,
    /// The plan obliges it to meter online.
    pub duty: bool,
}

/// The Word document of county `c`, with every chart PNG among `files`, the files of its folder
/// (file name, bytes).
pub fn render(
    doc: &StatusDoc,
    c: &CountyStatus,
    as_of: Date,
    files: &[(String, Vec<u8>)],
    extra: &Extra<'_>,
) -> Result<Vec<u8>, ReportError> {
    let charts: Vec<(Figure, &[u8])> = figures::charts_in(files.iter().map(|(n, _)| n.as_str()))
        .into_iter()
        .filter_map(|f| {
            let png = files.iter().find(|(n, _)| *n == f.file)?.1.as_slice();
            Some((f, png))
        })
        .collect();
    build(doc, c, as_of, &charts, extra).map_err(|message| ReportError::Docx {
        county: county_dir(c),
        message,
    })
}

/// The document being written, with its running figure and table numbers.
struct Appendix {
    d: Docx,
    tables: usize,
    figures: usize,
}

impl Appendix {
    fn para(&mut self, p: Paragraph) {
        self.d = std::mem::take(&mut self.d).add_paragraph(p);
    }

    fn text(&mut self, s: &str) {
        self.para(Paragraph::new().add_run(text(s)));
    }

    fn heading(&mut self, s: &str) {
        self.para(heading(s));
    }

    /// A numbered table ("表3 …", the number a SEQ field) with a shaded header row repeated on
    /// every page. Columns marked `wrap` take what the others leave of the text width; the others
    /// are as wide as their longest entry, so short terms never break.
    fn table(&mut self, title: &str, columns: &[Col], rows: Vec<Vec<Cell>>) {
        self.tables += 1;
        let caption = caption("表", self.tables, title).keep_next(true);
        self.para(caption);
        let table = table(columns, rows);
        self.d = std::mem::take(&mut self.d)
            .add_table(table)
            .add_paragraph(Paragraph::new());
    }

    /// A chart at print width with its numbered caption below, kept on its page.
    fn figure(&mut self, f: &Figure, png: &[u8]) -> Result<(), String> {
        let (w, h) = png_size(png).map_err(|e| format!("{}: {e}", f.file))?;
        let height = (u64::from(CHART_W_EMU) * u64::from(h) / u64::from(w.max(1))) as u32;
        // Numbered within the document: docx-rs would take the next number of a process-wide
        // counter, which depends on the order the counties' workers ran in.
        let pic = Pic::new_with_dimensions(png.to_vec(), w, h)
            .size(CHART_W_EMU, height)
            .id(format!("rIdImage{}", self.figures + 1));
        self.figures += 1;
        self.para(
            Paragraph::new()
                .align(AlignmentType::Center)
                .keep_next(true)
                .add_run(Run::new().add_image(pic)),
        );
        self.para(caption("图", self.figures, &f.title));
        Ok(())
    }
}

impl Default for Appendix {
    fn default() -> Self {
        Appendix {
            d: Docx::new(),
            tables: 0,
            figures: 0,
        }
    }
}

/// A table column: its header and how its text may wrap.
struct Col {
    header: &'static str,
    fit: Fit,
}

/// How a column's text may wrap.
#[derive(Clone, Copy, PartialEq)]
enum Fit {
    /// Never: the column is as wide as its widest cell (ids, figures, dates, short terms).
    Fixed,
    /// Anywhere (names, explanations): the column takes what the others leave.
    Wrap,
    /// Only between the terms of a list (已超许可、上年超许可): at least as wide as its longest
    /// term.
    Terms,
}

const fn col(header: &'static str) -> Col {
    Col {
        header,
        fit: Fit::Fixed,
    }
}

const fn wrap(header: &'static str) -> Col {
    Col {
        header,
        fit: Fit::Wrap,
    }
}

const fn terms(header: &'static str) -> Col {
    Col {
        header,
        fit: Fit::Terms,
    }
}

/// The width of the longest term of a list in `s` (terms end at 、，； and spaces, and before
/// a bracket).
fn longest_term(s: &str) -> usize {
    s.split(['、', '，', '；', ' ', '（'])
        .map(text_width)
        .max()
        .unwrap_or(0)
}

/// A cell's text and whether it is marked (bold red: overdue, over the limit).
struct Cell {
    text: String,
    alert: bool,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, alert: false }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::from(text.to_owned())
    }
}

fn alert(text: String, on: bool) -> Cell {
    Cell { text, alert: on }
}

/// A row of cells from anything that converts.
macro_rules! row {
    ($($x:expr),* $(,)?) => { vec![$(Cell::from($x)),*] };
}

/// The document's bytes: `charts` are (figure, PNG bytes) in numbering order.
fn build(
    doc: &StatusDoc,
    c: &CountyStatus,
    as_of: Date,
    charts: &[(Figure, &[u8])],
    extra: &Extra<'_>,
) -> Result<Vec<u8>, String> {
    let stamp = format!("{as_of}T00:00:00Z");
    let mut a = Appendix {
        d: Docx::new()
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
            .add_style(caption_style())
            .footer(page_footer())
            .created_at(&stamp)
            .updated_at(&stamp),
        ..Appendix::default()
    };
    let title = format!("{}（{}）地下水超采区退出自评估图表", c.name, c.code);
    a.para(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(text(&title).bold().size(TITLE_SIZE)),
    );
    a.para(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(text(&format!("数据截至 {}（{} 年）", doc.as_of, doc.year))),
    );
    if doc.example_data {
        a.para(
            Paragraph::new().add_run(
                text("示例数据：本文件所用的分县管控指标和/或取水口名录为示例值，不是规划或官方数据，不得用于正式报告。")
                    .bold()
                    .color("C62828"),
            ),
        );
    }
    // The document's warnings, without those about other counties.
    let others: Vec<String> = doc
        .counties
        .iter()
        .filter(|o| o.code != c.code)
        .map(|o| format!("{}：", o.name))
        .collect();
    for w in doc
        .warnings
        .iter()
        .filter(|w| !others.iter().any(|o| w.starts_with(o.as_str())))
    {
        a.para(Paragraph::new().add_run(text(&format!("注意：{w}")).bold()));
    }

    overview(&mut a, doc, c);
    methods(&mut a, doc, c, extra);
    network(&mut a, c, extra);
    withdrawal(&mut a, doc, c, extra);
    levels(&mut a, c);

    a.heading("六、图表");
    if charts.is_empty() {
        a.text("（本县无图表）");
    }
    for (f, png) in charts {
        a.figure(f, png)?;
    }

    permits(&mut a, c);
    metering(&mut a, c);
    way_out(&mut a, c);
    sign_off(&mut a, extra.author);

    let mut d = a.d;
    number_paragraphs(&mut d);
    let mut bytes = Vec::new();
    d.pack(std::io::Cursor::new(&mut bytes))
        .map_err(|e| e.to_string())?;
    finish_package(&bytes, extra.author, &title)
}

/// 一、概述与结论: the verdict, the headline figures, the criteria and the deadlines.
fn overview(a: &mut Appendix, doc: &StatusDoc, c: &CountyStatus) {
    a.heading("一、概述与结论");
    a.para(
        Paragraph::new().add_run(text("结论：")).add_run(
            text(c.verdict_label)
                .bold()
                .color(verdict_colour(c.verdict)),
        ),
    );
    let failing = reasons(c);
    if !failing.is_empty() && failing != wording::DASH {
        a.text(&format!("未达标或有风险的判据：{failing}。"));
    }
    a.text(&format!(
        "管控指标 {} 万 m³，本年累计 {} 万 m³，年末预测 {} 万 m³，k = {}（年末预测 ÷ 管控指标）。",
        c.quota_m3.map_or(wording::DASH.into(), wan),
        wan(c.ytd_m3),
        wan(c.projected_m3),
        doc.fmt_k(c.k)
    ));
    a.table(
        "判据",
        &[col("判据"), col("状态"), wrap("数据与阈值")],
        c.criteria
            .iter()
            .map(|k| {
                vec![
                    Cell::from(k.label()),
                    alert(k.status.label().to_owned(), k.status == Status::Fail),
                    Cell::from(k.detail.clone()),
                ]
            })
            .collect(),
    );
    let dl = &c.deadlines;
    let (sa_progress, exit_progress) = progress(dl);
    let overdue = |s: &crate::assess::DeadlineStatus| s.state == Some(DeadlineState::Passed);
    a.table(
        "期限",
        &[col("事项"), col("期限"), terms("进度")],
        vec![
            vec![
                Cell::from("提交自评估报告"),
                Cell::from(
                    dl.self_assessment
                        .date
                        .clone()
                        .unwrap_or_else(|| "—".into()),
                ),
                alert(sa_progress, overdue(&dl.self_assessment)),
            ],
            vec![
                Cell::from("完成退出"),
                Cell::from(dl.exit.date.clone().unwrap_or_else(|| "—".into())),
                alert(exit_progress, overdue(&dl.exit)),
            ],
        ],
    );
}

/// 二、数据来源与方法: what is measured, and how completeness, the projection and the trend
/// test work, with the thresholds in force.
fn methods(a: &mut Appendix, doc: &StatusDoc, c: &CountyStatus, extra: &Extra<'_>) {
    let (s, m) = (extra.assessment, extra.metering);
    a.heading("二、数据来源与方法");
    let paragraphs = [
        format!(
            "数据来源：取水量为许可水量 {} 万 m³/a 及以上的地下水取水口在线计量设施上报的累计读数，逐日换算为取水量（跨零点的时段按时间拆分，表计回零、换表、重发与迟到数据已处理）；缺测时段按前后读数摊分，标为估算，从不计为实测；未纳入在线计量的取水户按许可水量或以电折水估算。地下水位为监测井上报的埋深，按井口高程换算为水位。日期均为北京时间（Asia/Shanghai）。",
            wan(m.groundwater_permit_min_m3)
        ),
        format!(
            "数据完整性：取水量以应上报取水口-日中实际上报的比例衡量；估算量占比超过 {}、本年有数据月份少于 {} 个时，不作“可退出”判断。应在线计量取水口超过 {} 天无数据即为未按时上报。",
            wording::percent(s.max_estimated_share, 0),
            s.min_months_this_year,
            m.silent_after_days
        ),
        format!(
            "年末预测：季节比例法，本年累计加上上年同期以后的取水量乘以本年与上年同期之比（限 {}–{}；本年数据不足 {} 天时取 1）；无上年数据时按近 90 天日均外推。本县：{}。k = 年末预测 ÷ 管控指标；k ≤ {} 为达标，{} < k ≤ {} 为有风险，k > {} 为超指标。指标口径：{}。",
            wording::trim_decimal(s.projection_ratio_min, 2),
            wording::trim_decimal(s.projection_ratio_max, 2),
            s.projection_min_days,
            c.projection.method.label(),
            wording::trim_decimal(doc.k_bands.at_risk, 2),
            wording::trim_decimal(doc.k_bands.at_risk, 2),
            wording::trim_decimal(doc.k_bands.limit, 2),
            wording::trim_decimal(doc.k_bands.limit, 2),
            doc.quota_rule.label()
        ),
        format!(
            "水位趋势：按含水层分别判断，不同含水层的井不合并为一条曲线。每眼井自 {} 起的月均{}，先以 Hampel 滤波剔除异常月（{} 倍 MAD），识别大于 {} m 的基准突变；决定性检验为经序列相关校正的季节 Mann–Kendall 检验（Hirsch–Slack，显著性水平 α = {}），资料不足 4 个完整年时用近 {} 年窗口的修正 Mann–Kendall 检验。含水层的决定性年变幅为参评井年均变幅的平均值，单井 Sen 斜率仅作描述。参评井须有 {} 年以上资料、月完整率不低于 {}，且近 {} 个月内有数据。",
            doc.trend_window_start,
            doc.level_basis
                .split_once(": ")
                .map_or(doc.level_basis, |(_, what)| what),
            wording::trim_decimal(s.outlier_mad_k, 1),
            wording::trim_decimal(s.level_step_m, 1),
            wording::trim_decimal(s.alpha, 3),
            s.recent_window_years,
            wording::trim_decimal(s.min_level_years, 1),
            wording::percent(s.min_monthly_completeness, 0),
            s.recent_months
        ),
        format!(
            "在线计量覆盖率：按时上报的应在线计量取水口占应在线计量取水口的比例，不低于 {} 为达标。",
            wording::percent(s.min_metering_coverage, 0)
        ),
    ];
    for p in paragraphs {
        a.text(&p);
    }
}

/// 三、监测站网: the wells and the county's own intakes with their metering.
fn network(a: &mut Appendix, c: &CountyStatus, extra: &Extra<'_>) {
    a.heading("三、监测站网");
    if c.wells.is_empty() {
        a.text("本县无地下水位监测井。");
    } else {
        a.table(
            "地下水位监测井",
            &[
                col("监测井"),
                wrap("名称"),
                col("含水层"),
                col("资料起始"),
                col("资料年数"),
                col("有数据月数"),
                col("完整率"),
                col("参评"),
            ],
            c.wells
                .iter()
                .map(|w| {
                    let t = &w.trend;
                    row![
                        w.id.clone(),
                        w.name.clone(),
                        w.aquifer_label,
                        t.record_start.clone().unwrap_or_else(|| "—".into()),
                        wording::fixed(t.years_of_data, 1),
                        format!("{}/{}", t.n_months, t.window_months),
                        wording::percent(t.completeness, 0),
                        if t.sufficient { "是" } else { "否" },
                    ]
                })
                .collect(),
        );
    }
    if extra.intakes.is_empty() {
        a.text("本县无计入本县指标的地下水取水口。");
        return;
    }
    let silent = |id: &str| c.metering.silent.iter().find(|s| s.id == id);
    a.table(
        "取水口及在线计量（万 m³/a）",
        &[
            col("取水口"),
            wrap("名称"),
            col("水源"),
            col("含水层"),
            col("许可水量"),
            terms("在线计量"),
        ],
        extra
            .intakes
            .iter()
            .map(|i| {
                let state = match (i.duty, silent(&i.id)) {
                    (false, _) => "不要求".to_owned(),
                    (true, None) => "按时上报".to_owned(),
                    (true, Some(s)) => format!(
                        "未按时上报（最后数据 {}）",
                        s.last_reading
                            .as_deref()
                            .map_or("从未上报", wording::minutes)
                    ),
                };
                let late = state.starts_with("未按时");
                vec![
                    Cell::from(i.id.clone()),
                    Cell::from(i.name.clone()),
                    Cell::from(i.source),
                    Cell::from(i.aquifer),
                    Cell::from(if i.permit_m3 > 0.0 {
                        wan(i.permit_m3)
                    } else {
                        "无证".into()
                    }),
                    alert(state, late),
                ]
            })
            .collect(),
    );
}

/// 四、取用水量: each complete year against its quota, and 压采量 against the base year.
fn withdrawal(a: &mut Appendix, doc: &StatusDoc, c: &CountyStatus, extra: &Extra<'_>) {
    a.heading("四、取用水量");
    let mut rows: Vec<Vec<Cell>> = extra
        .years
        .iter()
        .map(|y| {
            let k = (y.withdrawal_m3.is_finite() && y.quota_m3.is_finite() && y.quota_m3 > 0.0)
                .then(|| y.withdrawal_m3 / y.quota_m3);
            let over = k.is_some_and(|k| k > doc.k_bands.limit);
            vec![
                Cell::from(y.year.to_string()),
                Cell::from(finite_wan(y.withdrawal_m3)),
                Cell::from(finite_wan(y.quota_m3)),
                alert(doc.fmt_k(k), over),
                Cell::from(if i32::from(doc.year) - 1 == y.year {
                    format!(
                        "全年；含缺测估算 {}、未按时上报补齐 {}、未计量取水户估算 {}",
                        wan(c.last_year_estimated_m3),
                        wan(c.last_year_imputed_m3),
                        wan(c.last_year_unmetered_m3)
                    )
                } else {
                    "全年；计量取水口合计".to_owned()
                }),
            ]
        })
        .collect();
    rows.push(vec![
        Cell::from(format!("{}（预测）", doc.year)),
        Cell::from(wan(c.projected_m3)),
        Cell::from(c.quota_m3.map_or(wording::DASH.into(), wan)),
        alert(doc.fmt_k(c.k), c.k.is_some_and(|k| k > doc.k_bands.limit)),
        Cell::from(format!("截至 {} 累计 {}", doc.as_of, wan(c.ytd_m3))),
    ]);
    a.table(
        "历年地下水取水量与管控指标（本县指标口径，万 m³）",
        &[
            col("年份"),
            col("取水量"),
            col("管控指标"),
            col("k"),
            wrap("说明"),
        ],
        rows,
    );
    a.text(&format!(
        "本年累计 {} 万 m³ 中，估算 {} 万 m³（缺测摊分），补齐 {} 万 m³（未按时上报的应计量取水口），未计量取水户估算 {} 万 m³；估算与补齐量不计为实测。",
        wan(c.ytd_m3),
        wan(c.ytd_estimated_m3),
        wan(c.ytd_imputed_m3),
        wan(c.ytd_unmetered_m3)
    ));
    match &c.reduction {
        None => a.text("压采量：基准年无取水数据，无法计算。"),
        Some(r) => a.table(
            &format!(
                "压采量（{} 年对比基准年 {} 年，本县指标内计量取水口口径，不含未计量取水户估算，万 m³）",
                r.year, r.base_year
            ),
            &[wrap("项目"), col("水量")],
            vec![
                row![format!("基准年 {} 年取水量", r.base_year), wan(r.base_m3)],
                row![format!("{} 年取水量", r.year), wan(r.year_m3)],
                row!["压采量（基准年 − 评价年）", wan(r.reduction_m3)],
                row![
                    format!("其中：关停封填自备井（{} 眼）", r.sealed.len()),
                    wan(r.sealed_m3)
                ],
                row![
                    format!("其中：水源置换转入公共供水（{} 眼）", r.transferred.len()),
                    wan(r.transferred_m3)
                ],
                row!["其中：节水、替代及少采", wan(r.rest_m3)],
            ],
        ),
    }
}

/// 五、地下水位: the decisive rate per aquifer, and the 公报 table of year-end depth and its
/// change per aquifer and per well.
fn levels(a: &mut Appendix, c: &CountyStatus) {
    a.heading("五、地下水位");
    if c.level_by_aquifer.is_empty() {
        a.text("本县无地下水位监测数据。");
        return;
    }
    a.table(
        "各含水层水位判据（决定性年变幅为参评井年均变幅的平均值，负值为水位下降）",
        &[
            col("含水层"),
            col("监测井"),
            col("参评井"),
            col("显著下降"),
            col("决定性年变幅（m/a）"),
            col("状态"),
        ],
        c.level_by_aquifer
            .iter()
            .map(|l| {
                vec![
                    Cell::from(l.aquifer_label),
                    Cell::from(l.wells.to_string()),
                    Cell::from(l.judged.to_string()),
                    Cell::from(l.declining.to_string()),
                    Cell::from(wording::or_dash(l.mean_annual_change_m, |v| {
                        wording::signed_fixed(v, 2)
                    })),
                    alert(l.status.label().to_owned(), l.status == Status::Fail),
                ]
            })
            .collect(),
    );
    let rows: Vec<Vec<Cell>> = bulletin_rows(c)
        .into_iter()
        .map(|r| {
            let label = if r.well {
                format!("　{}", r.label)
            } else {
                r.label
            };
            row![label, r.when, r.depth_m, r.change_m, r.class]
        })
        .collect();
    if rows.is_empty() {
        a.text("无可比的年末埋深。");
    } else {
        a.table(
            "年末地下水埋深及年变幅（m，变幅为正表示埋深增大、水位下降）",
            &[
                wrap("含水层 / 监测井"),
                col("年（月）"),
                col("埋深"),
                col("年变幅"),
                col("类别"),
            ],
            rows,
        );
    }
}

/// 七、取水许可: one row per intake with every state that applies.
fn permits(a: &mut Appendix, c: &CountyStatus) {
    a.heading("七、取水许可");
    let rows = permit_rows(c);
    if rows.is_empty() {
        a.text("无无证取水、超许可或预计超许可的取水口。");
        return;
    }
    a.table(
        "超许可及无证取水的取水口（万 m³）",
        &[
            col("取水口"),
            wrap("名称"),
            col("水源"),
            col("许可水量"),
            col("上年"),
            col("本年累计"),
            col("年末预测"),
            col("预计超出"),
            terms("状态"),
        ],
        rows.iter()
            .map(|r| {
                let p = r.p;
                vec![
                    Cell::from(p.id.clone()),
                    Cell::from(p.name.clone()),
                    Cell::from(p.source),
                    Cell::from(if p.permit_m3 > 0.0 {
                        wan(p.permit_m3)
                    } else {
                        "无证".into()
                    }),
                    Cell::from(wan(p.last_year_m3)),
                    Cell::from(wan(p.ytd_m3)),
                    Cell::from(wan(p.projected_m3)),
                    Cell::from(r.projected_excess_m3().map_or(wording::DASH.into(), wan)),
                    alert(r.state(), r.class() == "not_ready"),
                ]
            })
            .collect(),
    );
}

/// 八、在线计量: coverage and the silent meters.
fn metering(a: &mut Appendix, c: &CountyStatus) {
    a.heading("八、在线计量");
    let m = &c.metering;
    a.text(&format!(
        "应在线计量取水口 {} 处，按时上报 {} 处，覆盖率 {}。",
        m.obligated,
        m.reporting,
        m.coverage
            .map_or(wording::DASH.into(), |v| wording::percent(v, 1))
    ));
    if m.silent.is_empty() {
        a.text("无未按时上报的计量设施。");
        return;
    }
    a.table(
        "未按时上报的计量设施",
        &[col("取水口"), wrap("名称"), col("最后数据")],
        m.silent
            .iter()
            .map(|x| {
                row![
                    x.id.clone(),
                    x.name.clone(),
                    x.last_reading
                        .as_deref()
                        .map_or("从未上报", wording::minutes),
                ]
            })
            .collect(),
    );
}

/// 九、退出路径: the cut each year to the exit year needs, the measures, the gap and the
/// 自备井 to close next (only for a county with an exit deadline).
fn way_out(a: &mut Appendix, c: &CountyStatus) {
    use super::way_out::{candidate_rows, conclusion, measure_rows, year_rows};
    let Some(p) = &c.plan else { return };
    a.heading("九、退出路径");
    a.text(&format!(
        "按本年年末预测不变，各年取水量须降至管控指标 × {}（k 达标要求）以内。措施自实施之日起计；本年此前已实施的措施已体现在计量数据中。",
        wording::trim_decimal(p.pass_k, 2)
    ));
    a.table(
        "各年需压减量与措施效果（万 m³）",
        &[
            col("年份"),
            col("管控指标"),
            col("允许取水"),
            col("本年预测"),
            col("需压减"),
            col("措施可减"),
            col("缺口"),
        ],
        year_rows(p)
            .into_iter()
            .map(|r| r.map(Cell::from).into_iter().collect())
            .collect(),
    );
    if !p.measures.is_empty() {
        a.table(
            "关停与水源置换等措施",
            &[
                col("起始日"),
                col("类别"),
                wrap("名称"),
                col("万 m³/年"),
                wrap("依据"),
            ],
            measure_rows(p)
                .into_iter()
                .map(|r| r.map(Cell::from).into_iter().collect())
                .collect(),
        );
    }
    if !p.candidates.is_empty() {
        a.table(
            "供水管网覆盖内尚未计划关停的自备井（按上年取水量，万 m³）",
            &[
                col("取水口"),
                wrap("名称"),
                col("上年取水量"),
                col("累计压减"),
            ],
            candidate_rows(p)
                .into_iter()
                .map(|r| r.map(Cell::from).into_iter().collect())
                .collect(),
        );
    }
    a.text(&format!("结论：{}。", conclusion(p)));
}

/// The block the county fills in and signs: 编制单位 (the configured author or a blank),
/// 编制人, 审核, 日期.
fn sign_off(a: &mut Appendix, author: &str) {
    const BLANK: &str = "＿＿＿＿＿＿＿＿＿＿＿＿";
    a.para(Paragraph::new());
    let unit = if author.is_empty() { BLANK } else { author };
    for line in [
        format!("编制单位：{unit}"),
        format!("编制人：{BLANK}　　审核：{BLANK}"),
        "日期：＿＿＿＿年＿＿月＿＿日".to_owned(),
    ] {
        a.para(Paragraph::new().keep_next(true).add_run(text(&line)));
    }
}

/// 万 m³ of a finite volume, "—" otherwise.
fn finite_wan(m3: f64) -> String {
    if m3.is_finite() {
        wan(m3)
    } else {
        wording::DASH.into()
    }
}

/// A caption: the kind (图, 表), its number as a SEQ field (Word renumbers and lists it in a
/// table of figures), and the title, in the caption style.
fn caption(kind: &str, n: usize, title: &str) -> Paragraph {
    use docx_rs::{FieldCharType, InstrText};
    let small = |s: &str| text(s).size(SMALL_SIZE);
    Paragraph::new()
        .style(CAPTION_STYLE)
        .align(AlignmentType::Center)
        .add_run(small(kind))
        .add_run(Run::new().add_field_char(FieldCharType::Begin, false))
        .add_run(
            Run::new().add_instr_text(InstrText::Unsupported(format!(" SEQ {kind} \\* ARABIC "))),
        )
        .add_run(Run::new().add_field_char(FieldCharType::Separate, false))
        .add_run(small(&n.to_string()))
        .add_run(Run::new().add_field_char(FieldCharType::End, false))
        .add_run(small(&format!(" {title}")))
}

/// The package as docx-rs wrote it, finished: every table's header row marked to repeat at the
/// top of each page the table runs onto (`w:tblHeader`, which docx-rs does not write; the header
/// rows are the only rows without properties of their own, body rows are all `cantSplit`), and
/// the document properties' author and title set (docx-rs writes "unknown"). Entries keep their
/// order, names and the package's fixed date, so the bytes stay deterministic.
fn finish_package(package: &[u8], author: &str, title: &str) -> Result<Vec<u8>, String> {
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
        } else if name == "docProps/core.xml" {
            let xml = String::from_utf8(data).map_err(|e| e.to_string())?;
            let author = xml_escape(author);
            data = xml
                .replace(
                    "<dc:creator>unknown</dc:creator>",
                    &format!(
                        "<dc:creator>{author}</dc:creator><dc:title>{}</dc:title>",
                        xml_escape(title)
                    ),
                )
                .replace(
                    "<cp:lastModifiedBy>unknown</cp:lastModifiedBy>",
                    &format!("<cp:lastModifiedBy>{author}</cp:lastModifiedBy>"),
                )
                .into_bytes();
        }
        out.start_file(name, opts).map_err(|e| e.to_string())?;
        out.write_all(&data).map_err(|e| e.to_string())?;
    }
    out.finish()
        .map(|c| c.into_inner())
        .map_err(|e| e.to_string())
}

/// `s` with XML's special characters escaped.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

/// The style id of figure and table captions: Word's own "caption" (题注), so a table of figures
/// finds them.
const CAPTION_STYLE: &str = "Caption";

/// "caption" in the document's fonts: 小五, centred, kept with its table.
fn caption_style() -> Style {
    Style::new(CAPTION_STYLE, StyleType::Paragraph)
        .name("caption")
        .based_on("Normal")
        .next("Normal")
        .size(SMALL_SIZE)
        .fonts(fonts())
}

/// Cell padding left and right (Word's default 0.19 cm each side) plus a little slack, in twips.
const CELL_PAD: usize = 260;

/// The width `s` takes at 小五 in twips: a full em for CJK and full-width forms, about half for
/// the rest.
fn text_width(s: &str) -> usize {
    let em = SMALL_SIZE * 10; // half-points → twips
    s.chars()
        .map(|c| if c.is_ascii() { em * 11 / 20 } else { em })
        .sum()
}

/// The column widths of a table in twips, summing to the text width: a column that must not
/// wrap is as wide as its widest cell; wrapping columns share the rest in proportion to their
/// longest text, each at least four characters wide. When the fixed columns alone are too wide,
/// all columns shrink in proportion.
fn column_widths(columns: &[Col], rows: &[Vec<Cell>]) -> Vec<usize> {
    let cells = |i: usize| {
        rows.iter()
            .filter_map(move |r| r.get(i))
            .map(|c| c.text.as_str())
    };
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells(i)
                .chain(std::iter::once(c.header))
                .map(text_width)
                .max()
                .unwrap_or(0)
                + CELL_PAD
        })
        .collect();
    // The narrowest a wrapping column may be: four characters, or its longest term.
    let least: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| match c.fit {
            Fit::Fixed => natural[i],
            Fit::Wrap => (4 * SMALL_SIZE * 10 + CELL_PAD).min(natural[i]),
            Fit::Terms => {
                cells(i)
                    .chain(std::iter::once(c.header))
                    .map(longest_term)
                    .max()
                    .unwrap_or(0)
                    + CELL_PAD
            }
        })
        .collect();
    let n = columns.len();
    if n == 0 {
        return Vec::new();
    }
    let fixed: usize = (0..n)
        .filter(|&i| columns[i].fit == Fit::Fixed)
        .map(|i| natural[i])
        .sum();
    let flexible: Vec<usize> = (0..n).filter(|&i| columns[i].fit != Fit::Fixed).collect();
    let least_total: usize = flexible.iter().map(|&i| least[i]).sum();
    let mut widths: Vec<usize> = if fixed + least_total > TEXT_W {
        // Too many columns: everything shrinks alike.
        let total: usize = least.iter().sum::<usize>().max(1);
        least.iter().map(|w| w * TEXT_W / total).collect()
    } else if flexible.is_empty() {
        // Short terms only: the slack is spread evenly.
        let extra = (TEXT_W - fixed) / n;
        natural.iter().map(|w| w + extra).collect()
    } else {
        // Each flexible column gets its least width, then the room left in proportion to what
        // it still wants (its natural width beyond the least), and any slack alike.
        let room = TEXT_W - fixed - least_total;
        let wanted: usize = flexible
            .iter()
            .map(|&i| natural[i] - least[i].min(natural[i]))
            .sum();
        (0..n)
            .map(|i| {
                if columns[i].fit == Fit::Fixed {
                    return natural[i];
                }
                let want = natural[i] - least[i].min(natural[i]);
                let share = if wanted == 0 {
                    room / flexible.len()
                } else if wanted <= room {
                    want + (room - wanted) / flexible.len()
                } else {
                    room * want / wanted
                };
                least[i] + share
            })
            .collect()
    };
    // Rounding: the last column takes up the difference so the table fills the text width.
    let sum: usize = widths.iter().sum();
    widths[n - 1] = (widths[n - 1] + TEXT_W).saturating_sub(sum).max(1);
    widths
}

/// A table with a shaded header row; figures right-aligned so their decimals line up; a row is
/// never split across pages, so an intake's name stays next to its figures.
fn table(columns: &[Col], rows: Vec<Vec<Cell>>) -> Table {
    let widths = column_widths(columns, &rows);
    let cell = |s: &Cell, w: usize, header: bool| {
        let mut run = text(&s.text).size(SMALL_SIZE);
        if header || s.alert {
            run = run.bold();
        }
        if s.alert {
            run = run.color("C62828");
        }
        let numeric = !header
            && s.text
                .trim_start_matches(['+', '−'])
                .replace(',', "")
                .parse::<f64>()
                .is_ok();
        let align = if numeric {
            AlignmentType::Right
        } else {
            AlignmentType::Left
        };
        TableCell::new()
            .width(w, WidthType::Dxa)
            .add_paragraph(Paragraph::new().align(align).add_run(run))
    };
    let header = TableRow::new(
        columns
            .iter()
            .zip(&widths)
            .map(|(c, &w)| {
                cell(&Cell::from(c.header), w, true).shading(Shading::new().fill("E7E6E6"))
            })
            .collect(),
    );
    let body = rows.iter().map(|r| {
        TableRow::new(
            widths
                .iter()
                .zip(r)
                .map(|(&w, s)| cell(s, w, false))
                .collect(),
        )
        .cant_split()
    });
    Table::new(std::iter::once(header).chain(body).collect())
        .set_grid(widths.clone())
        .width(TEXT_W, WidthType::Dxa)
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

    /// The appendix inputs for `c` from the embedded configuration: two years and two intakes,
    /// one of them metered online.
    fn extra<'a>(cfg: &'a Config, author: &'a str) -> Extra<'a> {
        Extra {
            author,
            assessment: &cfg.assessment,
            metering: &cfg.metering,
            years: vec![
                YearWithdrawal {
                    year: 2024,
                    withdrawal_m3: 8_100_000.0,
                    quota_m3: 9_000_000.0,
                },
                YearWithdrawal {
                    year: 2025,
                    withdrawal_m3: f64::NAN,
                    quota_m3: 9_000_000.0,
                },
            ],
            intakes: vec![
                NetworkIntake {
                    id: "140121-W001".into(),
                    name: "某某村农灌井".into(),
                    source: "地下水",
                    aquifer: "浅层孔隙水",
                    permit_m3: 30_000.0,
                    duty: false,
                },
                NetworkIntake {
                    id: "140121-W002".into(),
                    name: "某某水厂1号井".into(),
                    source: "地下水",
                    aquifer: "深层承压水",
                    permit_m3: 600_000.0,
                    duty: true,
                },
            ],
        }
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

    /// The document's text as a reader sees it: every `<w:t>` in order (field results included,
    /// field codes left out), paragraphs ending in a newline.
    fn plain(xml: &str) -> String {
        let mut out = String::new();
        for part in xml.split("<w:t") {
            if let Some(body) = part.strip_prefix('>').or_else(|| {
                part.strip_prefix(' ')
                    .and_then(|p| p.find('>').map(|i| &p[i + 1..]))
            }) && let Some(end) = body.find("</w:t>")
            {
                out.push_str(&body[..end]);
            }
            if part.contains("</w:p>") {
                out.push('\n');
            }
        }
        out
    }

    /// The named part of a package, as text.
    fn part(entries: &[(String, Vec<u8>)], name: &str) -> String {
        entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
            .unwrap_or_else(|| panic!("{name}"))
    }

    #[test]
    fn the_appendix_has_its_sections_numbered_captions_repeated_headers_and_author() {
        let cfg = Config::embedded().unwrap();
        let doc = status();
        let c = &doc.counties[0];
        let files = folder(&["readiness", "monthly"]);
        let bytes = render(
            &doc,
            c,
            AS_OF.parse().unwrap(),
            &files,
            &extra(&cfg, "清徐县水利局"),
        )
        .unwrap();
        let entries = unzip(&bytes);
        let xml = part(&entries, "word/document.xml");
        let text = plain(&xml);
        for section in [
            "一、概述与结论",
            "二、数据来源与方法",
            "三、监测站网",
            "四、取用水量",
            "五、地下水位",
            "六、图表",
            "七、取水许可",
            "八、在线计量",
        ] {
            assert!(
                xml.contains(&format!(
                    r#"<w:pStyle w:val="Heading1" /></w:pPr><w:r><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="宋体" w:cs="Times New Roman" w:hint="eastAsia" /><w:b /><w:bCs /><w:sz w:val="28" /><w:szCs w:val="28" /></w:rPr><w:t xml:space="preserve">{section}"#
                )) || text.contains(section),
                "{section}"
            );
        }
        assert_eq!(
            xml.matches(r#"<w:pStyle w:val="Heading1" />"#).count(),
            8,
            "eight sections in the heading style"
        );
        // Captions: numbered by SEQ fields in Word's caption style, 图 and 表 counted apart.
        let figures = xml.matches(" SEQ 图 \\* ARABIC ").count();
        let tables = xml.matches(" SEQ 表 \\* ARABIC ").count();
        assert_eq!(figures, 2, "one SEQ field per chart");
        assert!(tables >= 5, "{tables} table captions");
        assert_eq!(
            xml.matches(r#"<w:pStyle w:val="Caption" />"#).count(),
            figures + tables
        );
        let styles = part(&entries, "word/styles.xml");
        assert!(
            styles.contains(r#"w:styleId="Caption""#)
                && styles.contains(r#"<w:name w:val="caption" />"#)
        );
        for n in 1..=tables {
            assert!(text.contains(&format!("表{n} ")), "表{n}");
        }
        assert!(text.contains("图1 退出准备度") && text.contains("图2 "));
        // A table caption is kept with its table; every table repeats its header row.
        assert_eq!(
            xml.matches("<w:tblHeader />").count(),
            tables,
            "one repeated header per table"
        );
        // The network, the annual table with k, the methods' thresholds, the sign-off block.
        assert!(
            text.contains("某某水厂1号井") && text.contains("按时上报") && text.contains("不要求")
        );
        assert!(
            text.contains("2024") && text.contains("810.0") && text.contains("0.90"),
            "{text}"
        );
        assert!(text.contains("Hirsch–Slack") && text.contains("α = 0.05"));
        assert!(
            text.contains("编制单位：清徐县水利局")
                && text.contains("审核：")
                && text.contains("日期：")
        );
        // No tool name anywhere, the author in the properties.
        let core = part(&entries, "docProps/core.xml");
        assert!(
            core.contains("<dc:creator>清徐县水利局</dc:creator>"),
            "{core}"
        );
        assert!(
            core.contains("<dc:title>") && !core.contains("unknown"),
            "{core}"
        );
        for (name, data) in &entries {
            let s = String::from_utf8_lossy(data).to_lowercase();
            assert!(
                !s.contains("gwmon") && !s.contains("docx-rs"),
                "{name} names the tool"
            );
        }
    }

    #[test]
    fn columns_that_must_not_wrap_are_as_wide_as_their_text() {
        let columns = [
            col("取水口"),
            wrap("名称"),
            col("许可水量"),
            col("预计超出"),
            terms("状态"),
        ];
        let rows = vec![row![
            "140121-W0001",
            "某某村很长很长很长的名称的农业灌溉井",
            "12.34",
            "1,234.56",
            "无证取水、预计超许可、上年超许可"
        ]];
        let widths = column_widths(&columns, &rows);
        assert_eq!(widths.iter().sum::<usize>(), TEXT_W);
        assert!(
            widths[0] >= text_width("140121-W0001") + CELL_PAD,
            "{widths:?}"
        );
        assert!(widths[2] >= text_width("许可水量") + CELL_PAD, "{widths:?}");
        assert!(widths[3] >= text_width("预计超出") + CELL_PAD, "{widths:?}");
        // A list breaks between its terms, never inside one.
        assert!(
            widths[4] >= text_width("预计超许可") + CELL_PAD,
            "{widths:?}"
        );
        assert!(widths[1] >= 4 * text_width("名"), "{widths:?}");
        // A table of short terms only spreads its slack; the widths still fill the text width.
        let short = column_widths(&[col("年份"), col("k")], &[row!["2024", "0.90"]]);
        assert_eq!(short.iter().sum::<usize>(), TEXT_W);
        assert!(short[0] >= text_width("年份") + CELL_PAD);
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
        let cfg = Config::embedded().unwrap();
        let bytes = render(&doc, c, AS_OF.parse().unwrap(), &files, &extra(&cfg, "")).unwrap();
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
        let text = plain(&xml);
        let mut at = 0;
        for caption in captions {
            let found = text[at..]
                .find(caption)
                .unwrap_or_else(|| panic!("{caption} after byte {at}"));
            at += found + caption.len();
        }
        assert!(!text.contains("图6"));
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
        let cfg = Config::embedded().unwrap();
        let x = extra(&cfg, "");
        let first = build(&doc, c, as_of, &charts, &x).unwrap();
        // Another document in between moves docx-rs's process-wide counters.
        build(&doc, &doc.counties[2], as_of, &charts, &x).unwrap();
        let second = build(&doc, c, as_of, &charts, &x).unwrap();
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
