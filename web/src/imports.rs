//! `/imports` (the list, filtered and paginated) and `/imports/{id}` (one import: publisher and
//! keys, the manifest, each pipeline step, the artifacts and their verdicts).

use askama::Template;

use crate::layout::{self, Chrome, Pager};
use crate::text::Text;

/// One import in a list.
#[derive(Debug, Clone)]
pub struct ImportLine {
    /// Its id.
    pub id: i64,
    /// The archive's file name as received.
    pub file_name: Text,
    /// The manifest's publisher.
    pub publisher: Option<Text>,
    /// The publisher's sequence number.
    pub sequence: Option<u64>,
    /// `running`, `releasing`, `done`, `rejected` or `interrupted`.
    pub state: String,
    /// Why it was rejected or interrupted.
    pub reason: Option<Text>,
    /// Artifacts that passed.
    pub passed: i64,
    /// Artifacts released with warnings.
    pub warned: i64,
    /// Artifacts that failed.
    pub failed: i64,
    /// When it started (stored form).
    pub started_at: String,
}

impl ImportLine {
    /// The start time for people.
    pub fn started(&self) -> String {
        layout::time(&self.started_at)
    }

    /// The outcome in words: `done: 1 passed, 2 failed`, or the state (see [`outcome_text`]).
    pub fn outcome_label(&self) -> String {
        outcome_text(&self.state, self.passed, self.warned, self.failed)
    }

    /// The one word for the outcome, the badge's class: the worst verdict of a finished
    /// import, else its state (see [`outcome_word`]).
    pub fn outcome(&self) -> &str {
        outcome_word(&self.state, self.warned, self.failed)
    }
}

/// An import's outcome as one word, for its badge's colour: a finished import's worst
/// verdict (`failed`, `warned`, `passed`), else its state.
pub(crate) fn outcome_word(state: &str, warned: i64, failed: i64) -> &str {
    match state {
        "done" if failed > 0 => "failed",
        "done" if warned > 0 => "warned",
        "done" => "passed",
        other => other,
    }
}

/// An import's outcome in words: a finished import's state and its counts, those that are
/// not zero (`done: 1 passed, 2 failed`; `done: no artifacts`), else its state.
pub(crate) fn outcome_text(state: &str, passed: i64, warned: i64, failed: i64) -> String {
    if state != "done" {
        return state.to_owned();
    }
    let counts: Vec<String> = [(passed, "passed"), (warned, "warned"), (failed, "failed")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| format!("{n} {word}"))
        .collect();
    if counts.is_empty() {
        "done: no artifacts".to_owned()
    } else {
        format!("done: {}", counts.join(", "))
    }
}

/// The list's filters as given (echoed into the form and the page links).
#[derive(Debug, Clone, Default)]
pub struct ImportsFilter {
    /// A verdict or state, or empty.
    pub verdict: String,
    /// A publisher name, or empty.
    pub publisher: Text,
    /// `YYYY-MM-DD` or RFC 3339, or empty.
    pub since: String,
    /// `YYYY-MM-DD` or RFC 3339, or empty.
    pub until: String,
}

/// The choices of the verdict filter: (value, label).
pub const VERDICT_CHOICES: [(&str, &str); 9] = [
    ("", "any"),
    ("passed", "with passed artifacts"),
    ("warned", "with warned artifacts"),
    ("failed", "with failed artifacts"),
    ("rejected", "rejected"),
    ("interrupted", "interrupted"),
    ("running", "running"),
    ("releasing", "releasing"),
    ("done", "done"),
];

/// The imports list.
#[derive(Debug, Template)]
#[template(path = "imports/list.html")]
pub struct ImportsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The filters in force.
    pub filter: ImportsFilter,
    /// Why the filters were refused, if they were.
    pub error: Option<Text>,
    /// This page's imports, newest first.
    pub rows: Vec<ImportLine>,
    /// Pagination.
    pub pager: Pager,
}

impl ImportsPage {
    /// The verdict filter's choices.
    pub fn choices(&self) -> &'static [(&'static str, &'static str)] {
        &VERDICT_CHOICES
    }
}

/// What one import is.
#[derive(Debug, Clone)]
pub struct ImportFacts {
    /// Its id.
    pub id: i64,
    /// The archive's file name as received.
    pub file_name: Text,
    /// `upload`, `inbox` or `cli`.
    pub source: String,
    /// Lifecycle state.
    pub state: String,
    /// Why it was rejected or interrupted.
    pub reason: Option<Text>,
    /// The archive's size.
    pub archive_size: u64,
    /// The archive's SHA-256 (hex), as received.
    pub archive_sha256: Option<String>,
    /// When only part of it is kept (a rejected archive): how many bytes, and their SHA-256.
    pub kept: Option<(u64, String)>,
    /// The manifest's archive id.
    pub archive_id: Option<Text>,
    /// The manifest's publisher.
    pub publisher: Option<Text>,
    /// Its sequence number.
    pub sequence: Option<u64>,
    /// The publisher key ids whose signatures verified.
    pub key_ids: Vec<String>,
    /// The manifest's `created_at`.
    pub created_at: Option<String>,
    /// The site the archive was made for.
    pub site: Option<Text>,
    /// The manifest's notes.
    pub notes: Option<Text>,
    /// When the import started.
    pub started_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// Who started it.
    pub started_by: Text,
    /// Artifacts that passed.
    pub passed: i64,
    /// Artifacts released with warnings.
    pub warned: i64,
    /// Artifacts that failed.
    pub failed: i64,
}

impl ImportFacts {
    /// The outcome in words (see [`outcome_text`]).
    pub fn outcome_label(&self) -> String {
        outcome_text(&self.state, self.passed, self.warned, self.failed)
    }

    /// The outcome's one word, the badge's class (see [`outcome_word`]).
    pub fn outcome(&self) -> &str {
        outcome_word(&self.state, self.warned, self.failed)
    }

    /// The archive size for people.
    pub fn size(&self) -> String {
        layout::bytes(self.archive_size)
    }
}

/// The manifest in brief.
#[derive(Debug, Clone, Default)]
pub struct ManifestSummary {
    /// The manifest's format version.
    pub version: String,
    /// Artifacts listed.
    pub artifacts: usize,
    /// Blobs listed.
    pub blobs: usize,
    /// Their total size.
    pub blob_bytes: u64,
    /// TUF repositories carried.
    pub trust: Vec<Text>,
    /// Logs carried (origin and checkpoint size).
    pub logs: Vec<(Text, u64)>,
}

impl ManifestSummary {
    /// The blobs' total size for people.
    pub fn size(&self) -> String {
        layout::bytes(self.blob_bytes)
    }
}

/// One pipeline step.
#[derive(Debug, Clone)]
pub struct StepLine {
    /// `archive`, `publisher`, `trust`, `witness`, `evidence` or `release`.
    pub step: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it found (may quote untrusted text).
    pub detail: Text,
    /// Microseconds.
    pub duration_us: i64,
}

impl StepLine {
    /// The duration for people.
    pub fn duration(&self) -> String {
        layout::micros(self.duration_us)
    }
}

/// One artifact in an import.
#[derive(Debug, Clone)]
pub struct ArtifactLine {
    /// Its id.
    pub id: i64,
    /// Its position in the manifest.
    pub position: i64,
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
    /// Why it did not simply pass.
    pub reasons: Vec<Text>,
}

impl ArtifactLine {
    /// The size for people.
    pub fn size_text(&self) -> String {
        layout::bytes(self.size)
    }
}

/// One import.
#[derive(Debug, Template)]
#[template(path = "imports/detail.html")]
pub struct ImportPage {
    /// The frame.
    pub chrome: Chrome,
    /// The import.
    pub import: ImportFacts,
    /// Its manifest, once verified.
    pub manifest: Option<ManifestSummary>,
    /// Each step in order.
    pub steps: Vec<StepLine>,
    /// Its artifacts in manifest order.
    pub artifacts: Vec<ArtifactLine>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_import_says_its_counts_in_the_colour_of_the_worst_verdict() {
        for (state, counts, word, text) in [
            ("done", (1, 0, 2), "failed", "done: 1 passed, 2 failed"),
            ("done", (3, 1, 0), "warned", "done: 3 passed, 1 warned"),
            ("done", (0, 0, 1), "failed", "done: 1 failed"),
            ("done", (2, 0, 0), "passed", "done: 2 passed"),
            ("done", (0, 0, 0), "passed", "done: no artifacts"),
            ("rejected", (0, 0, 0), "rejected", "rejected"),
            ("interrupted", (0, 0, 0), "interrupted", "interrupted"),
            ("releasing", (1, 0, 1), "releasing", "releasing"),
            ("running", (0, 0, 0), "running", "running"),
        ] {
            let (passed, warned, failed) = counts;
            assert_eq!(
                outcome_word(state, warned, failed),
                word,
                "{state} {counts:?}"
            );
            assert_eq!(
                outcome_text(state, passed, warned, failed),
                text,
                "{state} {counts:?}"
            );
        }
    }
}
