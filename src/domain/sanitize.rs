//! Device-supplied text made safe to show: topics, ids and payload strings reach log lines, the
//! quarantine table and the terminal, and a device chooses every byte of them.
//!
//! Control characters (a newline would start a forged log line, ESC a terminal escape sequence)
//! and the bidirectional overrides and isolates (which make a line read differently from what it
//! holds) are written as `\u{…}`; everything else, Chinese text included, is kept as sent. Text
//! past a limit is cut on a character boundary and ends in `…(N chars)` or `…(N bytes)`, N being
//! the length as sent, so that one long topic cannot fill a row or a log line.
//!
//! Escaping is idempotent (the escaped form holds none of the characters it escapes), so text
//! that was made safe once, e.g. a topic inside a refusal's message, can pass through again.

use std::borrow::Cow;
use std::fmt::Write;

/// True for the characters written as `\u{…}`: C0 and C1 controls and DEL, the line and
/// paragraph separators, and the bidirectional marks, embeddings, overrides and isolates.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}' | '\u{202A}'
                ..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `s` escaped and cut to at most `max_chars` characters of escaped text, followed by
/// `…(N chars)` when cut. For log fields.
pub fn for_log(s: &str, max_chars: usize) -> Cow<'_, str> {
    shorten(s, max_chars, Unit::Chars)
}

/// `s` escaped and cut so that the result, `…(N bytes)` included, is at most `max_bytes` bytes
/// of UTF-8. For text stored under a size limit.
pub fn for_store(s: &str, max_bytes: usize) -> Cow<'_, str> {
    shorten(s, max_bytes, Unit::Bytes)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Chars,
    Bytes,
}

impl Unit {
    fn measure(self, s: &str) -> usize {
        match self {
            Unit::Chars => s.chars().count(),
            Unit::Bytes => s.len(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Chars => "chars",
            Unit::Bytes => "bytes",
        }
    }
}

fn shorten(s: &str, max: usize, unit: Unit) -> Cow<'_, str> {
    let clean = !s.chars().any(needs_escape);
    // Counting chars is one pass over the text; cheaper than escaping what will be cut.
    if clean && unit.measure(s) <= max {
        return Cow::Borrowed(s);
    }
    let (all, complete) = escape_prefix(s, max, unit);
    if complete {
        return Cow::Owned(all);
    }
    let marker = format!("…({} {})", unit.measure(s), unit.name());
    // The marker counts against a byte limit (storage) but not against a character limit.
    let room = match unit {
        Unit::Bytes => max.saturating_sub(marker.len()),
        Unit::Chars => max,
    };
    let (mut out, _) = escape_prefix(s, room, unit);
    out.push_str(&marker);
    Cow::Owned(out)
}

/// The longest escaped prefix of `s` that fits in `room`, never splitting an escape, and
/// whether it is all of `s`.
fn escape_prefix(s: &str, room: usize, unit: Unit) -> (String, bool) {
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    for c in s.chars() {
        piece.clear();
        if needs_escape(c) {
            let _ = write!(piece, "\\u{{{:x}}}", c as u32);
        } else {
            piece.push(c);
        }
        let size = unit.measure(&piece);
        if used + size > room {
            return (out, false);
        }
        used += size;
        out.push_str(&piece);
    }
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in ["gw/140121/meter/QX-7", "水位埋深 42.25 m", ""] {
            assert!(matches!(for_log(s, 100), Cow::Borrowed(t) if t == s));
            assert!(matches!(for_store(s, 100), Cow::Borrowed(t) if t == s));
        }
    }

    #[test]
    fn a_forged_newline_cannot_start_a_log_line() {
        let s = "x\n2026-03-01T08:00:00Z  INFO gwmon: all readings verified\r\tok";
        let got = for_log(s, 200);
        assert_eq!(
            got,
            "x\\u{a}2026-03-01T08:00:00Z  INFO gwmon: all readings verified\\u{d}\\u{9}ok"
        );
        assert!(!got.contains(['\n', '\r', '\t']));
    }

    #[test]
    fn terminal_escapes_and_c1_controls_are_written_out() {
        assert_eq!(
            for_log("\u{1b}[31mred\u{1b}[0m", 50),
            "\\u{1b}[31mred\\u{1b}[0m"
        );
        assert_eq!(
            for_log("a\u{9b}2Jb\u{7f}\0", 50),
            "a\\u{9b}2Jb\\u{7f}\\u{0}"
        );
    }

    #[test]
    fn bidi_overrides_and_isolates_are_written_out() {
        let s = "QX-\u{202E}7gnp.exe\u{202C}\u{2066}\u{2069}\u{200E}\u{200F}\u{61C}\u{2028}";
        assert_eq!(
            for_log(s, 100),
            "QX-\\u{202e}7gnp.exe\\u{202c}\\u{2066}\\u{2069}\\u{200e}\\u{200f}\\u{61c}\\u{2028}"
        );
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = for_log("a\u{1b}b\u{202E}c\n", 100).into_owned();
        assert_eq!(for_log(&once, 100), once);
        assert_eq!(for_store(&once, 100), once);
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_its_length() {
        let s = "水".repeat(10);
        assert_eq!(for_log(&s, 4), "水水水水…(10 chars)");
        // 3 bytes a char: "…(30 bytes)" is 13 bytes, which leaves 7 bytes, two chars.
        let got = for_store(&s, 20);
        assert_eq!(got, "水水…(30 bytes)");
        assert!(got.len() <= 20);
    }

    #[test]
    fn a_cut_never_splits_an_escape() {
        let s = "ab\u{1b}\u{1b}\u{1b}cd";
        assert_eq!(for_log(s, 8), "ab\\u{1b}…(7 chars)");
        let got = for_store(s, 20);
        assert_eq!(got, "ab\\u{1b}…(7 bytes)");
        assert!(got.len() <= 20);
    }

    #[test]
    fn a_60000_character_topic_becomes_256_bytes() {
        let topic = format!("gw/140121/meter/{}", "A".repeat(60_000 - 16));
        let got = for_store(&topic, 256);
        assert!(got.len() <= 256, "{}", got.len());
        assert!(got.starts_with("gw/140121/meter/AAA"));
        assert!(got.ends_with("…(60000 bytes)"), "{got}");
        let got = for_log(&topic, 100);
        assert!(got.ends_with("…(60000 chars)"), "{got}");
        assert_eq!(got.chars().count(), 100 + "…(60000 chars)".chars().count());
    }

    #[test]
    fn text_that_fits_only_unescaped_is_cut() {
        // Four characters fit a limit of 4, their escaped form does not.
        assert_eq!(for_log("\n\n\n\n", 4), "…(4 chars)");
        assert_eq!(for_store("a\n", 12), "a\\u{a}");
    }
}
