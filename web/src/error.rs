//! The error page: a status and one line saying what went wrong.

use askama::Template;

use crate::layout::Chrome;
use crate::text::Text;

/// An error page.
#[derive(Debug, Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The frame.
    pub chrome: Chrome,
    /// The HTTP status code.
    pub status: u16,
    /// Its reason phrase.
    pub reason: &'static str,
    /// What went wrong.
    pub message: Text,
}
