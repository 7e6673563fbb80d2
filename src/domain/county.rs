//! County-level divisions of Taiyuan, by their GB/T 2260 code.

use std::fmt;

/// GB/T 2260 code of a county-level division.
///
/// Built only by [`CountyCode::parse`]; serialised as its six digits (a JSON string).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountyCode(u32);

impl fmt::Display for CountyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl CountyCode {
    /// Parses a six-digit code (it must also be one of the configured counties to be used).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok().map(CountyCode)
        } else {
            None
        }
    }

    /// The code as a number (GB/T 2260 codes are six digits).
    pub fn get(self) -> u32 {
        self.0
    }
}

impl serde::Serialize for CountyCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One of a county's two deadlines in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineKind {
    /// The self-assessment report (自评估).
    SelfAssessment,
    /// The approved exit from the list (退出).
    Exit,
}
