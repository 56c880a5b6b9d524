//! `/upload`: an archive upload (operators). The browser shows the upload's progress; the
//! response is a redirect to the import's page.

use askama::Template;

use crate::layout::{self, Chrome};
use crate::text::Text;

/// The upload page.
#[derive(Debug, Template)]
#[template(path = "upload.html")]
pub struct UploadPage {
    /// The frame.
    pub chrome: Chrome,
    /// The largest archive accepted, in bytes.
    pub max_upload: u64,
    /// Why the last upload failed.
    pub error: Option<Text>,
}

impl UploadPage {
    /// The limit for people.
    pub fn limit(&self) -> String {
        layout::bytes(self.max_upload)
    }
}
