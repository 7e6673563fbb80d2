//! The one way registry CSV files are read: `#` comment lines, a header row, one serde row per
//! record, and every problem located by file, line and field.
//!
//! Line numbers are counted here from the text, not taken from the csv crate's record
//! positions: those put a record that follows comment or blank lines on the first of them, and
//! count the lines of a CRLF file wrong, and CRLF is what a bureau's spreadsheet exports.

use std::fmt;

use serde::de::DeserializeOwned;

/// A line starting with this byte is a comment.
const COMMENT: u8 = b'#';

/// One located problem: file, line, field and what would be valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: String,
    /// 1-based; the first line of a record that spans several.
    pub line: u64,
    /// The column, or `-` for a record that is not a row at all.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} line {}, field {}: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

/// The problems found in one file, in the order of its lines.
#[derive(Debug)]
pub struct Problems {
    file: String,
    list: Vec<Problem>,
}

impl Problems {
    /// No problems yet in `file`.
    pub fn new(file: &str) -> Self {
        Problems {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    /// Records a problem with `field` on `line`.
    pub fn push(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.list.push(Problem {
            file: self.file.clone(),
            line,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// The value of a field that parsed; a field that did not becomes a problem (the error's text
    /// is its message) and `None`.
    pub fn check<T, E: fmt::Display>(
        &mut self,
        line: u64,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed
            .map_err(|e| self.push(line, field, e.to_string()))
            .ok()
    }

    /// The problems, in the order found.
    pub fn into_vec(self) -> Vec<Problem> {
        self.list
    }
}

/// Reads the CSV `text` (the contents of `file`) and calls `row` with each record that
/// deserialises into `T`, its 1-based line and the file's problems, for the caller to check the
/// row's values. A record that is not a `T` (missing or extra columns, an unreadable header)
/// becomes a problem of field `-` that names the expected `columns`.
pub fn read_rows<T: DeserializeOwned>(
    file: &str,
    text: &str,
    columns: &[&str],
    mut row: impl FnMut(&mut Problems, u64, T),
) -> Problems {
    let mut problems = Problems::new(file);
    let mut lines = Lines::new(text);
    let mut rdr = csv::ReaderBuilder::new()
        .comment(Some(COMMENT))
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header_line = lines.record_start(0);
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(header_line, "-", format!("cannot read the header row: {e}"));
            csv::StringRecord::new()
        }
    };
    let mut record = csv::StringRecord::new();
    loop {
        // The reader stands just past the previous record: the next one starts on the first
        // line after it that is neither blank nor a comment.
        let from = usize::try_from(rdr.position().byte()).unwrap_or(usize::MAX);
        let line = lines.record_start(from);
        let parsed = match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => record.deserialize::<T>(Some(&headers)),
            Err(e) => Err(e),
        };
        match parsed {
            Ok(r) => row(&mut problems, line, r),
            Err(e) => problems.push(
                line,
                "-",
                format!("{e}; expected the columns {}", columns.join(",")),
            ),
        }
    }
    problems
}

/// 1-based line numbers of byte offsets, counted forward through the text once.
pub(crate) struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Lines {
            text: text.as_bytes(),
            pos: 0,
            line: 1,
        }
    }

    /// The line on which the record after offset `from` (where the csv reader stopped) starts:
    /// past the `\n` of a CRLF terminator, and past the blank and `#` lines the reader skips.
    pub(crate) fn record_start(&mut self, from: usize) -> u64 {
        let text = self.text;
        let mut at = from.min(text.len());
        if at > 0 && text[at - 1] == b'\r' && text.get(at) == Some(&b'\n') {
            at += 1;
        }
        while at < text.len() {
            let end = text[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| at + i + 1);
            let line = &text[at..end];
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            if !(content.is_empty() || content[0] == COMMENT) {
                break;
            }
            at = end;
        }
        self.line_of(at)
    }

    /// The line of offset `at`, which is never before the previous one asked for.
    fn line_of(&mut self, at: usize) -> u64 {
        let at = at.max(self.pos);
        self.line += self.text[self.pos..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.pos = at;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::domain::Budget;
    use crate::domain::kinds;

    #[derive(Debug, Deserialize)]
    struct Row {
        id: String,
        budget: String,
    }

    const COLUMNS: &[&str] = &["id", "budget"];

    /// Reads `text` and checks each row's budget, as the registry does; returns (line, id) of the
    /// good rows and the problems as text.
    fn read(text: &str) -> (Vec<(u64, String)>, Vec<String>) {
        let mut rows = Vec::new();
        let problems = read_rows("f.csv", text, COLUMNS, |p: &mut Problems, line, r: Row| {
            if p.check::<Budget, _>(line, "budget", kinds::parse(&r.budget))
                .is_some()
            {
                rows.push((line, r.id));
            }
        });
        let problems = problems.into_vec().iter().map(|p| p.to_string()).collect();
        (rows, problems)
    }

    fn lines_of(rows: &[(u64, String)]) -> Vec<(u64, &str)> {
        rows.iter().map(|(l, id)| (*l, id.as_str())).collect()
    }

    #[test]
    fn comment_and_blank_lines_are_skipped_and_counted() {
        let text = "# example data\n# second comment\nid,budget\nA,county\n# a comment among rows\n\nB,supply_group\n";
        let (rows, problems) = read(text);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(lines_of(&rows), [(4, "A"), (7, "B")]);
    }

    #[test]
    fn crlf_files_have_the_same_line_numbers() {
        let lf = "# example data\nid,budget\nA,county\n# note\n\nB,supply_group\nC,town\n";
        let crlf = lf.replace('\n', "\r\n");
        let (rows_lf, problems_lf) = read(lf);
        let (rows_crlf, problems_crlf) = read(&crlf);
        assert_eq!(lines_of(&rows_lf), [(3, "A"), (6, "B")]);
        assert_eq!(rows_crlf, rows_lf);
        assert_eq!(problems_crlf, problems_lf);
        assert_eq!(
            problems_lf,
            ["f.csv line 7, field budget: 'town': expected supply_group|county"]
        );
    }

    #[test]
    fn a_bad_field_names_file_line_field_and_the_valid_values() {
        let (rows, problems) = read("id,budget\nA,county\nB,Town\n");
        assert_eq!(lines_of(&rows), [(2, "A")]);
        assert_eq!(
            problems,
            ["f.csv line 3, field budget: 'Town': expected supply_group|county"]
        );
    }

    #[test]
    fn a_record_that_is_not_a_row_names_the_columns() {
        let (rows, problems) = read("id,budget\nA\nB,county\n");
        assert_eq!(lines_of(&rows), [(3, "B")]);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("f.csv line 2, field -: "),
            "{problems:?}"
        );
        assert!(
            problems[0].ends_with("; expected the columns id,budget"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_quoted_line_break_keeps_the_following_lines_right() {
        let text = "id,budget\r\n\"A\r\n# not a comment\",county\r\nB,county\r\n";
        let (rows, problems) = read(text);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(lines_of(&rows), [(2, "A\r\n# not a comment"), (4, "B")]);
    }

    #[test]
    fn an_empty_file_has_no_rows_and_no_problems() {
        let (rows, problems) = read("");
        assert!(rows.is_empty() && problems.is_empty());
        let (rows, problems) = read("# only a comment\r\nid,budget\r\n");
        assert!(rows.is_empty() && problems.is_empty());
    }
}
