//! The charts of a county folder as the Word document and index.html number and caption them.
//!
//! Both take the PNG files of the county's folder — not a fixed list — so a chart added to the
//! folder (a second page of hydrographs, a chart by source) shows up in both without a change
//! here: known stems get their title from [`TITLES`] and their place in its order, an unknown
//! stem a generic title after them.

/// Chart titles by file stem, in the order the charts are numbered.
const TITLES: [(&str, &str); 6] = [
    (
        "readiness",
        "退出准备度：年取水量与管控指标、分含水层水位趋势",
    ),
    ("cumulative", "本年累计取水量与管控指标"),
    ("monthly", "近三年逐月取水量"),
    ("hydrographs", "监测井水位过程线"),
    ("sources", "按水源分取水量"),
    ("plan", "退出路径：本年预测、各项措施与退出年允许取水量"),
];

/// One chart of a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The PNG's file name in its folder.
    pub file: String,
    /// File stem: `readiness`, `hydrographs-2`, …
    pub stem: String,
    pub title: String,
}

/// The charts among the file names of one folder (their PNGs), in numbering order: the stems of
/// [`TITLES`] in its order, continuation pages (`hydrographs-2`, `-3`, …) after their first page
/// by number, then unknown stems by name.
pub fn charts_in<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Figure> {
    let mut figures: Vec<(usize, u32, Figure)> = names
        .into_iter()
        .filter_map(|name| {
            let stem = name.strip_suffix(".png")?.to_string();
            let (rank, page, title) = caption(&stem);
            Some((
                rank,
                page,
                Figure {
                    file: name.to_owned(),
                    stem,
                    title,
                },
            ))
        })
        .collect();
    figures.sort_by(|a, b| (a.0, a.1, &a.2.stem).cmp(&(b.0, b.1, &b.2.stem)));
    figures.into_iter().map(|(_, _, f)| f).collect()
}

/// (place in [`TITLES`] or after it, page number, title) of a chart stem.
fn caption(stem: &str) -> (usize, u32, String) {
    let (base, page) = match stem.rsplit_once('-') {
        Some((base, n)) => match n.parse::<u32>() {
            Ok(n) if n >= 2 => (base, n),
            _ => (stem, 1),
        },
        None => (stem, 1),
    };
    match TITLES.iter().position(|(s, _)| *s == base) {
        Some(i) if page == 1 => (i, 1, TITLES[i].1.to_string()),
        Some(i) => (i, page, format!("{}（续{}）", TITLES[i].1, page - 1)),
        None => (TITLES.len(), 1, format!("图表：{stem}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_numbered_in_title_order_with_continuations_and_unknowns_last() {
        let files = [
            "zz-extra.png",
            "hydrographs-10.png",
            "summary.md",
            "monthly.csv",
            "hydrographs-2.png",
            "sources.png",
            "monthly.png",
            "readiness.svg",
            "hydrographs.png",
            "cumulative.png",
            "readiness.png",
        ];
        let figures = charts_in(files);
        let stems: Vec<&str> = figures.iter().map(|f| f.stem.as_str()).collect();
        assert_eq!(
            stems,
            [
                "readiness",
                "cumulative",
                "monthly",
                "hydrographs",
                "hydrographs-2",
                "hydrographs-10",
                "sources",
                "zz-extra"
            ]
        );
        assert_eq!(figures[3].title, "监测井水位过程线");
        assert_eq!(figures[4].title, "监测井水位过程线（续1）");
        assert_eq!(figures[7].title, "图表：zz-extra");
        assert_eq!(figures[0].file, "readiness.png");
    }
}
