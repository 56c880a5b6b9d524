//! `/audit`: the hash-chained audit log, newest first: filters (action, actor, subject, time in
//! UTC), each row's details as key/value pairs and its subject linked, the chain's status and
//! that of the rows on the page, and the exports (the whole chain as JSONL, the rows shown as
//! CSV).

use std::fmt::Write as _;

use askama::Template;

use crate::layout::{Chrome, Pager};
use crate::text::{Text, query_value};

/// One audit row.
#[derive(Debug, Clone)]
pub struct AuditLine {
    /// Position in the chain.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: Text,
    /// What.
    pub action: Text,
    /// About what.
    pub subject: Text,
    /// Where the subject is shown (an import, an artifact, the trust page…), if anywhere.
    pub subject_href: Option<String>,
    /// The details: each field of the JSON object, its value as text (nested values as
    /// compact JSON).
    pub details: Vec<(Text, Text)>,
    /// The details as stored, when they are not a JSON object with fields.
    pub detail: Option<Text>,
    /// The row's hash (hex).
    pub hash: String,
}

impl AuditLine {
    /// The first 16 hex digits of the hash (the table's column; the chain head is shown whole).
    pub fn short_hash(&self) -> &str {
        self.hash.get(..16).unwrap_or(&self.hash)
    }

    /// The log of this row's actor.
    pub fn actor_href(&self) -> String {
        format!("/audit?actor={}", query_value(self.actor.as_str()))
    }

    /// The log of this row's action.
    pub fn action_href(&self) -> String {
        format!("/audit?action={}", query_value(self.action.as_str()))
    }

    /// The log of this row's subject.
    pub fn subject_log_href(&self) -> String {
        format!("/audit?subject={}", query_value(self.subject.as_str()))
    }
}

/// The chain as verified when the page was made.
#[derive(Debug, Clone)]
pub enum ChainStatus {
    /// Every row re-hashed and linked.
    Intact {
        /// Rows checked.
        rows: i64,
        /// The head hash.
        head: String,
    },
    /// The first problem found.
    Broken {
        /// What is wrong.
        error: Text,
    },
}

/// The rows on this page, each re-hashed and checked against the row before it.
#[derive(Debug, Clone)]
pub enum PageCheck {
    /// No rows on the page.
    Empty,
    /// Every row on the page hashes to its hash and names its predecessor's.
    Intact {
        /// The oldest row shown.
        first: i64,
        /// The newest row shown.
        last: i64,
    },
    /// The first problem found on the page.
    Broken {
        /// What is wrong.
        error: Text,
    },
}

/// The log's filters as given (echoed into the form and kept in links and the CSV export).
#[derive(Debug, Clone, Default)]
pub struct AuditFilterView {
    /// An action or its dotted family, or empty.
    pub action: Text,
    /// An actor, or empty.
    pub actor: Text,
    /// A subject, or empty.
    pub subject: Text,
    /// `YYYY-MM-DD` or RFC 3339, or empty.
    pub since: Text,
    /// `YYYY-MM-DD` or RFC 3339, or empty.
    pub until: Text,
}

impl AuditFilterView {
    /// The filters as query pairs (empty ones included; links leave them out).
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("subject", self.subject.as_str()),
            ("since", self.since.as_str()),
            ("until", self.until.as_str()),
        ]
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        self.pairs().iter().any(|(_, v)| !v.is_empty())
    }

    /// `path` with these filters as its query.
    fn href(&self, path: &str) -> String {
        let mut href = format!("{path}?");
        for (name, value) in self.pairs().iter().filter(|(_, v)| !v.is_empty()) {
            let _ = write!(href, "{name}={}&", query_value(value));
        }
        href.trim_end_matches(['&', '?']).to_owned()
    }

    /// The CSV export of the rows these filters select.
    pub fn csv_href(&self) -> String {
        self.href(CSV_EXPORT_PATH)
    }
}

/// Where the whole chain is exported as JSON lines (what `airlock-appliance audit export`
/// writes).
pub const JSONL_EXPORT_PATH: &str = "/audit/export.jsonl";

/// Where the rows a filter selects are exported as CSV.
pub const CSV_EXPORT_PATH: &str = "/audit/export.csv";

/// The audit page.
#[derive(Debug, Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// The frame.
    pub chrome: Chrome,
    /// The whole chain's status.
    pub chain: ChainStatus,
    /// The status of the rows on this page.
    pub page_check: PageCheck,
    /// The filters in force.
    pub filter: AuditFilterView,
    /// Why the filters were refused, if they were.
    pub error: Option<Text>,
    /// Every action recorded (the action filter's suggestions).
    pub actions: Vec<Text>,
    /// This page's rows, newest first.
    pub rows: Vec<AuditLine>,
    /// Pagination.
    pub pager: Pager,
}

impl AuditPage {
    /// Where the whole chain is exported (JSONL).
    pub fn jsonl_href(&self) -> &'static str {
        JSONL_EXPORT_PATH
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Role, Section, Viewer};

    fn hostile() -> Text {
        Text::new("<script>alert(1)</script>\"'&x=1\u{202E}")
    }

    fn page(filter: AuditFilterView, page_check: PageCheck) -> String {
        let row = AuditLine {
            seq: 7,
            at: "2026-03-01T10:11:12.000000Z".into(),
            actor: hostile(),
            action: Text::new("verdict"),
            subject: Text::new("3/0"),
            subject_href: Some("/artifacts/12".into()),
            details: vec![
                (Text::new("artifact"), hostile()),
                (Text::new("reasons"), Text::new("[\"x\"]")),
            ],
            detail: None,
            hash: "ab".repeat(32),
        };
        let plain = AuditLine {
            seq: 6,
            details: Vec::new(),
            detail: Some(hostile()),
            subject_href: None,
            ..row.clone()
        };
        AuditPage {
            chrome: Chrome::new(
                "Audit log",
                Viewer {
                    name: hostile(),
                    role: Role::Auditor,
                    csrf: "t".into(),
                },
                Section::Audit,
            ),
            chain: ChainStatus::Intact {
                rows: 7,
                head: "ab".repeat(32),
            },
            page_check,
            pager: Pager::new("/audit", &filter.pairs(), 1, 50, 2),
            filter,
            error: None,
            actions: vec![Text::new("import.done"), hostile()],
            rows: vec![row, plain],
        }
        .render()
        .unwrap()
    }

    #[test]
    fn rows_read_as_key_value_pairs_with_their_subject_linked_and_nothing_raw() {
        let filter = AuditFilterView {
            action: Text::new("import"),
            since: Text::new("2026-03-01"),
            ..AuditFilterView::default()
        };
        let html = page(filter, PageCheck::Intact { first: 6, last: 7 });
        assert!(
            !html.contains("<script") && !html.contains('\u{202E}'),
            "{html}"
        );
        assert!(html.contains("<dt>artifact</dt><dd>&#60;script&#62;"));
        assert!(html.contains("<a href=\"/artifacts/12\">3/0</a>"));
        assert!(html.contains("href=\"/audit?subject=3%2F0\""));
        // The actor's filter link encodes it; the text is escaped.
        assert!(html.contains("href=\"/audit?actor=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"));
        assert!(html.contains(
            "<p class=\"ok-line\" role=\"status\">Rows 6 to 7 on this page: each re-hashed and \
             linked to the row before it.</p>"
        ));
        // Exports: the whole chain, and the rows these filters select.
        assert!(html.contains("href=\"/audit/export.jsonl\""));
        assert!(html.contains("href=\"/audit/export.csv?action=import&#38;since=2026-03-01\""));
        assert!(html.contains("Times are UTC"));
        assert!(!html.contains("type=\"date\""));
        assert!(html.contains("<option value=\"import.done\">"));
    }

    #[test]
    fn a_broken_page_and_an_empty_one_say_so() {
        let html = page(
            AuditFilterView::default(),
            PageCheck::Broken {
                error: Text::new("audit row 7: content does not match its hash"),
            },
        );
        assert!(html.contains(
            "<p class=\"error\" role=\"alert\">On this page: audit row 7: content does not \
             match its hash</p>"
        ));
        assert!(html.contains("href=\"/audit/export.csv\""));
    }
}
