//! `/audit`: the hash-chained audit log, newest first, with the chain's verification status.

use askama::Template;

use crate::layout::{Chrome, Pager};
use crate::text::Text;

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
    /// Details (JSON).
    pub detail: Text,
    /// The row's hash (hex).
    pub hash: String,
}

impl AuditLine {
    /// The first 16 hex digits of the hash (the table's column; the chain head is shown whole).
    pub fn short_hash(&self) -> &str {
        self.hash.get(..16).unwrap_or(&self.hash)
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

/// The audit page.
#[derive(Debug, Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// The frame.
    pub chrome: Chrome,
    /// The chain's status.
    pub chain: ChainStatus,
    /// This page's rows, newest first.
    pub rows: Vec<AuditLine>,
    /// Pagination.
    pub pager: Pager,
}
