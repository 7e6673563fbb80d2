//! The charts of a county folder as the Word document and index.html number and caption them.
//!
//! Both take the PNG files the county's bundle wrote — not a fixed list — so a chart added to the
//! folder (a second page of hydrographs, a chart by source) shows up in both without a change
//! here: known stems get their title from [`TITLES`] and their place in its order, an unknown
//! stem a generic title after them.

use std::path::{Path, PathBuf};

/// Chart titles by file stem, in the order the charts are numbered.
const TITLES: [(&str, &str); 5] = [
    (
        "readiness",
        "退出准备度：年取水量与管控指标、县域平均水位趋势",
    ),
    ("cumulative", "本年累计取水量与管控指标"),
    ("monthly", "近三年逐月取水量"),
    ("hydrographs", "监测井水位过程线"),
    ("sources", "按水源分取水量"),
];

/// One chart of a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figure {
    pub path: PathBuf,
    /// File stem: `readiness`, `hydrographs-2`, …
    pub stem: String,
    pub title: String,
}

/// The charts among `files` that lie in `dir` (their PNGs), in numbering order: the stems of
/// [`TITLES`] in its order, continuation pages (`hydrographs-2`, `-3`, …) after their first page
/// by number, then unknown stems by name.
pub fn charts_in(files: &[PathBuf], dir: &Path) -> Vec<Figure> {
    let mut figures: Vec<(usize, u32, Figure)> = files
        .iter()
        .filter(|p| p.parent() == Some(dir) && p.extension().is_some_and(|e| e == "png"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_string();
            let (rank, page, title) = caption(&stem);
            Some((
                rank,
                page,
                Figure {
                    path: p.clone(),
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
        let dir = Path::new("/r/140121-清徐县");
        let files: Vec<PathBuf> = [
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
        ]
        .iter()
        .map(|f| dir.join(f))
        .chain([PathBuf::from("/r/city/city.png")])
        .collect();
        let figures = charts_in(&files, dir);
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
        assert_eq!(figures[0].path, dir.join("readiness.png"));
    }
}
