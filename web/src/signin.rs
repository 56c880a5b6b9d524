//! `/signin`: the sign-in form.

use askama::Template;

use crate::layout::Chrome;
use crate::text::Text;

/// The sign-in page.
#[derive(Debug, Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    /// The frame (no viewer).
    pub chrome: Chrome,
    /// The pre-session CSRF token (double-submitted: also in a cookie).
    pub csrf: String,
    /// The name typed last time, kept after a failure.
    pub name: Text,
    /// Why the last attempt failed.
    pub error: Option<Text>,
    /// A notice (signed out, session expired).
    pub notice: Option<&'static str>,
}
