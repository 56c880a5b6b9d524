//! [`Text`]: untrusted text (anything from an archive, a certificate or a form) as pages show
//! it. Askama HTML-escapes it like any value; on top of that, characters a reader cannot see
//! (controls, bidirectional overrides and isolates, zero-width characters) are shown as
//! visible `[U+XXXX]` markers, so a right-to-left override cannot disguise a name.

use std::fmt::{self, Write as _};

/// Untrusted text. Its `Display` makes invisible characters visible; escaping is Askama's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// Wraps `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The text as given (for comparisons, never for output).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// At most `max` characters of it, then `…` and how many were left out (for tables; the
    /// detail page shows it whole).
    pub fn clip(&self, max: usize) -> Clipped<'_> {
        Clipped { text: &self.0, max }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_visible(f, &self.0)
    }
}

/// A prefix of a [`Text`], as [`Text::clip`] makes it.
#[derive(Debug, Clone, Copy)]
pub struct Clipped<'a> {
    text: &'a str,
    max: usize,
}

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text.char_indices().nth(self.max) {
            None => write_visible(f, self.text),
            Some((cut, _)) => {
                write_visible(f, &self.text[..cut])?;
                let left = self.text[cut..].chars().count();
                write!(f, "… ({left} more characters)")
            }
        }
    }
}

/// Whether `c` is invisible or reorders text: C0/C1 controls but tab and newline, bidi
/// embeddings, overrides, isolates and marks, zero-width characters, the BOM and interlinear
/// annotation characters.
pub(crate) fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

fn write_visible(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let mut rest = s;
    while let Some(at) = rest.find(is_hidden) {
        f.write_str(&rest[..at])?;
        let c = rest[at..].chars().next().unwrap_or_default();
        write!(f, "[U+{:04X}]", u32::from(c))?;
        rest = &rest[at + c.len_utf8()..];
    }
    f.write_str(rest)
}

/// `s` percent-encoded for a URL query value (everything but unreserved characters).
pub(crate) fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_become_markers() {
        let t = Text::new("invoice\u{202E}fdp.exe\u{0}\u{200B}");
        assert_eq!(t.to_string(), "invoice[U+202E]fdp.exe[U+0000][U+200B]");
        assert_eq!(Text::new("a\tb\nc").to_string(), "a\tb\nc");
        assert_eq!(Text::new("شهادة").to_string(), "شهادة");
    }

    #[test]
    fn clipping_counts_characters_not_bytes() {
        let t = Text::new("ééééé");
        assert_eq!(t.clip(2).to_string(), "éé… (3 more characters)");
        assert_eq!(t.clip(5).to_string(), "ééééé");
        assert_eq!(
            Text::new("a\u{202E}bc").clip(2).to_string(),
            "a[U+202E]… (2 more characters)"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(query_value("release-team_1.0~"), "release-team_1.0~");
    }
}
