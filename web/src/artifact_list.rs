//! `/artifacts`: every artifact across imports, filtered (verdict, name, digest, signer,
//! publisher, import time in UTC, policy rule), sorted and paginated.

use std::fmt::Write as _;

use askama::Template;

use crate::layout::{self, Chrome, Pager};
use crate::text::{Text, query_value};

/// One artifact in the list.
#[derive(Debug, Clone)]
pub struct ArtifactListLine {
    /// Its id.
    pub id: i64,
    /// The import it came in.
    pub import_id: i64,
    /// Its name.
    pub name: Text,
    /// `file` or `oci-image`.
    pub kind: String,
    /// Hex SHA-256.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// `passed`, `warned` or `failed`.
    pub verdict: String,
    /// The policy rule that decided.
    pub rule: Text,
    /// The import's publisher.
    pub publisher: Option<Text>,
    /// When the import started (stored form, UTC).
    pub imported_at: String,
    /// Who verifiably signed it: identities or key ids, in bundle order.
    pub signers: Vec<Text>,
}

impl ArtifactListLine {
    /// The size for people.
    pub fn size_text(&self) -> String {
        layout::bytes(self.size)
    }

    /// The import time for people.
    pub fn imported(&self) -> String {
        layout::time(&self.imported_at)
    }

    /// The digest's first 12 digits (the whole one is in the link and its title).
    pub fn short_digest(&self) -> &str {
        self.digest.get(..12).unwrap_or(&self.digest)
    }

    /// The first signer, if any.
    pub fn first_signer(&self) -> Option<&Text> {
        self.signers.first()
    }

    /// How many signers besides the first.
    pub fn more_signers(&self) -> usize {
        self.signers.len().saturating_sub(1)
    }
}

/// The list's filters and order as given (echoed into the form and kept in every link).
#[derive(Debug, Clone, Default)]
pub struct ArtifactsFilter {
    /// `passed`, `warned`, `failed`, or empty.
    pub verdict: String,
    /// A part of the name, or empty.
    pub name: Text,
    /// The start of the digest, or empty.
    pub digest: Text,
    /// A part of a signer's identity or key id, or empty.
    pub signer: Text,
    /// A publisher, or empty.
    pub publisher: Text,
    /// `YYYY-MM-DD` or RFC 3339, or empty.
    pub since: Text,
    /// `YYYY-MM-DD` or RFC 3339, or empty.
    pub until: Text,
    /// A policy rule, or empty.
    pub rule: Text,
    /// The order's name, or empty (newest first).
    pub sort: String,
}

impl ArtifactsFilter {
    /// The filters as query pairs (empty ones included; links leave them out).
    pub fn pairs(&self) -> [(&'static str, &str); 8] {
        [
            ("verdict", &self.verdict),
            ("name", self.name.as_str()),
            ("digest", self.digest.as_str()),
            ("signer", self.signer.as_str()),
            ("publisher", self.publisher.as_str()),
            ("since", self.since.as_str()),
            ("until", self.until.as_str()),
            ("rule", self.rule.as_str()),
        ]
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        self.pairs().iter().any(|(_, v)| !v.is_empty())
    }

    /// The list with these filters in order `sort` (its first page).
    pub fn sorted_href(&self, sort: &str) -> String {
        let mut href = "/artifacts?".to_owned();
        for (name, value) in self.pairs().iter().filter(|(_, v)| !v.is_empty()) {
            let _ = write!(href, "{name}={}&", query_value(value));
        }
        if sort != ARTIFACT_SORTS[0].0 {
            let _ = write!(href, "sort={}", query_value(sort));
        }
        href.trim_end_matches(['&', '?']).to_owned()
    }

    /// The order in force (`newest` when none was given).
    pub fn sort_in_force(&self) -> &str {
        if self.sort.is_empty() {
            ARTIFACT_SORTS[0].0
        } else {
            &self.sort
        }
    }
}

/// The choices of the verdict filter: (value, label).
pub const ARTIFACT_VERDICT_CHOICES: [(&str, &str); 4] = [
    ("", "any"),
    ("passed", "passed"),
    ("warned", "warned"),
    ("failed", "failed (quarantined)"),
];

/// The orders: (value, label); the first is the default.
pub const ARTIFACT_SORTS: [(&str, &str); 5] = [
    ("newest", "newest first"),
    ("oldest", "oldest first"),
    ("name", "name, A to Z"),
    ("size", "largest first"),
    ("verdict", "worst verdict first"),
];

/// The artifacts list.
#[derive(Debug, Template)]
#[template(path = "artifacts/list.html")]
pub struct ArtifactsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The filters in force.
    pub filter: ArtifactsFilter,
    /// Why the filters were refused, if they were.
    pub error: Option<Text>,
    /// This page's artifacts.
    pub rows: Vec<ArtifactListLine>,
    /// Pagination.
    pub pager: Pager,
}

impl ArtifactsPage {
    /// The verdict filter's choices.
    pub fn verdicts(&self) -> &'static [(&'static str, &'static str)] {
        &ARTIFACT_VERDICT_CHOICES
    }

    /// The orders.
    pub fn sorts(&self) -> &'static [(&'static str, &'static str)] {
        &ARTIFACT_SORTS
    }

    /// Whether `sort` is the order in force.
    pub fn is_sort(&self, sort: &str) -> bool {
        self.filter.sort_in_force() == sort
    }

    /// `aria-sort` of the import time's column (newest or oldest first, else `none`).
    pub fn aria_sort_time(&self) -> &'static str {
        match self.filter.sort_in_force() {
            "newest" => "descending",
            "oldest" => "ascending",
            _ => "none",
        }
    }

    /// The order the import time's header switches to: oldest first from newest first,
    /// else newest first.
    pub fn time_sort_next(&self) -> &'static str {
        if self.filter.sort_in_force() == "newest" {
            "oldest"
        } else {
            "newest"
        }
    }

    /// `aria-sort` for a column sorted by `sort`: its direction when in force, else `none`.
    pub fn aria_sort(&self, sort: &str) -> &'static str {
        match (self.filter.sort_in_force() == sort, sort) {
            (false, _) => "none",
            (true, "name" | "oldest") => "ascending",
            (true, _) => "descending",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Role, Section, Viewer};

    /// Markup, quotes and a right-to-left override, where untrusted text goes.
    fn hostile() -> Text {
        Text::new("<script>alert(1)</script>\"'><img src=x onerror=alert(2)>invoice\u{202E}fdp")
    }

    fn line(id: i64, signers: Vec<Text>) -> ArtifactListLine {
        ArtifactListLine {
            id,
            import_id: 3,
            name: Text::new(format!("{}{}", "A".repeat(10 * 1024), hostile())),
            kind: "oci-image".into(),
            digest: "ab".repeat(32),
            size: 2048,
            verdict: "failed".into(),
            rule: hostile(),
            publisher: Some(hostile()),
            imported_at: "2026-03-01T10:11:12.000000Z".into(),
            signers,
        }
    }

    fn page(filter: ArtifactsFilter, rows: Vec<ArtifactListLine>) -> String {
        let keep = filter.pairs();
        ArtifactsPage {
            chrome: Chrome::new(
                "Artifacts",
                Viewer {
                    name: hostile(),
                    role: Role::Auditor,
                    csrf: "t".into(),
                },
                Section::Artifacts,
            ),
            pager: Pager::new("/artifacts", &keep, 1, 50, rows.len() as u64),
            filter,
            error: Some(hostile()),
            rows,
        }
        .render()
        .unwrap()
    }

    #[test]
    fn the_list_renders_hostile_text_inert_and_keeps_the_filters_in_its_links() {
        let filter = ArtifactsFilter {
            verdict: "failed".into(),
            name: hostile(),
            signer: Text::new("a&b c"),
            since: Text::new("2026-03-01"),
            sort: "size".into(),
            ..ArtifactsFilter::default()
        };
        let html = page(
            filter,
            vec![
                line(9, vec![hostile(), Text::new("second")]),
                line(8, Vec::new()),
            ],
        );
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(!html.contains('\u{202E}') && html.contains("[U+202E]"));
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(!html.contains(" style="));
        // Long names are clipped; hashes are short with the whole digest in the link.
        assert!(html.contains("more characters)") && !html.contains(&"A".repeat(200)));
        let digest = "ab".repeat(32);
        assert!(html.contains(&format!(
            "<a href=\"/artifacts?digest={digest}\" title=\"sha256:{digest}\""
        )));
        assert!(html.contains("<code class=\"short\">abababababab…</code>"));
        assert!(html.contains("and 1 more") && html.contains("no verified signature"));
        assert!(html.contains("<time>2026-03-01 10:11:12 UTC</time>"));
        // The form says the times are UTC and uses no browser date picker.
        assert!(html.contains("Imported on or after (UTC)"));
        assert!(!html.contains("type=\"date\""));
        assert!(html.contains("<option value=\"failed\" selected>"));
        assert!(html.contains("<option value=\"size\" selected>largest first</option>"));
        // Sorting links keep every filter (encoded), and mark the column in force.
        assert!(html.contains(
            "<th scope=\"col\" class=\"num\" aria-sort=\"descending\"><a href=\"/artifacts?\
             verdict=failed&#38;name=%3Cscript%3E"
        ));
        assert!(
            html.contains("signer=a%26b%20c&#38;since=2026-03-01&#38;sort=name\">Artifact</a>")
        );
        assert!(html.contains("aria-current=\"page\">Artifacts</a>"));
    }

    #[test]
    fn the_default_order_and_empty_lists_say_so() {
        let html = page(ArtifactsFilter::default(), Vec::new());
        assert!(html.contains("<caption>Every artifact, newest first</caption>"));
        assert!(html.contains("No artifacts yet."));
        assert!(html.contains(
            "<th scope=\"col\" aria-sort=\"descending\"><a href=\"/artifacts?sort=oldest\">\
             Imported (UTC)</a>"
        ));
        let filtered = ArtifactsFilter {
            rule: Text::new("default"),
            sort: "oldest".into(),
            ..ArtifactsFilter::default()
        };
        assert_eq!(filtered.sorted_href("newest"), "/artifacts?rule=default");
        let html = page(filtered, Vec::new());
        assert!(html.contains("No artifact matches these filters."));
        assert!(html.contains("Artifacts matching the filters, oldest first"));
    }
}
