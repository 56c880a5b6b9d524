//! `/components`: SBOM components across every artifact, found by exact name (any case),
//! version, package URL prefix or a part of the licence, each with a link to its artifact's
//! report ("which artifacts contain zlib 1.3.1?").

use askama::Template;

use crate::layout::{Chrome, Pager};
use crate::text::Text;

/// One component found.
#[derive(Debug, Clone)]
pub struct ComponentHitLine {
    /// The artifact's id (its report is `/artifacts/{id}`).
    pub artifact_id: i64,
    /// The artifact's name.
    pub artifact: Text,
    /// The import it came in.
    pub import_id: i64,
    /// The artifact's verdict: `passed`, `warned` or `failed`.
    pub verdict: String,
    /// The component's name.
    pub name: Text,
    /// Its version.
    pub version: Text,
    /// Its package URL.
    pub purl: Text,
    /// Its licences.
    pub licence: Text,
}

/// The search as given (echoed into the form and kept in every link).
#[derive(Debug, Clone, Default)]
pub struct ComponentsFilter {
    /// The whole name, or empty.
    pub name: Text,
    /// The whole version, or empty.
    pub version: Text,
    /// The start of the package URL, or empty.
    pub purl: Text,
    /// A part of the licence, or empty.
    pub licence: Text,
}

impl ComponentsFilter {
    /// The filters as query pairs (empty ones included; links leave them out).
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("name", self.name.as_str()),
            ("version", self.version.as_str()),
            ("purl", self.purl.as_str()),
            ("licence", self.licence.as_str()),
        ]
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        self.pairs().iter().any(|(_, v)| !v.is_empty())
    }
}

/// The component search.
#[derive(Debug, Template)]
#[template(path = "components/list.html")]
pub struct ComponentsPage {
    /// The frame.
    pub chrome: Chrome,
    /// The search in force.
    pub filter: ComponentsFilter,
    /// Why the search was refused, if it was.
    pub error: Option<Text>,
    /// This page's components.
    pub rows: Vec<ComponentHitLine>,
    /// How many artifacts hold a matching component.
    pub artifacts: u64,
    /// Pagination over the matching components.
    pub pager: Pager,
}
