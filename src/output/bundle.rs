//! [`Bundle`]: a report as a value — file names (folder and name, `/`-separated, as the report
//! folder lays them out) and their bytes. `output` fills one; `gwmon report` writes it to disk
//! and the web view serves pages and downloads from it in memory.

use std::collections::BTreeMap;

/// A report's files by relative path (`140121-清徐县/readiness.png`, `city/city.csv`,
/// `index.html`), sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    files: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the file at `path`.
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }

    /// Adds the file `name` of `folder` (`folder/name`; the top level when `folder` is empty).
    pub fn insert_in(&mut self, folder: &str, name: &str, bytes: impl Into<Vec<u8>>) {
        self.insert(join(folder, name), bytes);
    }

    /// Takes every file of `other`.
    pub fn append(&mut self, other: Bundle) {
        self.files.extend(other.files);
    }

    /// The bytes of the file at `path`.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Every file, by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// Every path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The files directly in `folder`: (file name, bytes), by name.
    pub fn in_folder<'a>(&'a self, folder: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        self.iter().filter_map(move |(p, b)| {
            let name = if folder.is_empty() {
                p
            } else {
                p.strip_prefix(folder)?.strip_prefix('/')?
            };
            (!name.contains('/')).then_some((name, b))
        })
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The bytes of every file together, paths included: what a cache weighs it at.
    pub fn size(&self) -> usize {
        self.files.iter().map(|(p, b)| p.len() + b.len()).sum()
    }
}

/// `folder/name`, or `name` when `folder` is empty.
pub fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_owned()
    } else {
        format!("{folder}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_lists_its_own_files_only() {
        let mut b = Bundle::new();
        b.insert_in("140121-清徐县", "readiness.png", vec![1]);
        b.insert_in("140121-清徐县", "summary.md", "x");
        b.insert_in("140121-清徐县0", "other.png", vec![2]);
        b.insert_in("", "index.html", "<html>");
        b.insert("fonts/a.otf", vec![3]);
        let names: Vec<&str> = b.in_folder("140121-清徐县").map(|(n, _)| n).collect();
        assert_eq!(names, ["readiness.png", "summary.md"]);
        let top: Vec<&str> = b.in_folder("").map(|(n, _)| n).collect();
        assert_eq!(top, ["index.html"]);
        assert_eq!(b.get("140121-清徐县/readiness.png"), Some(&[1u8][..]));
        assert_eq!(b.len(), 5);
        assert!(b.size() > 5);
    }
}
