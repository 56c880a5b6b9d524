//! `/trust`: each TUF repository with its accepted versions and times, and the trusted root's
//! certificate authorities, timestamp authorities, transparency logs and CT logs with their
//! validity windows.

use askama::Template;

use crate::layout::Chrome;
use crate::text::Text;

/// A certificate or timestamp authority.
#[derive(Debug, Clone)]
pub struct AuthorityView {
    /// `organization / common name`.
    pub subject: Text,
    /// Its URI.
    pub uri: Text,
    /// Valid from.
    pub valid_from: String,
    /// Valid until (`None`: still valid).
    pub valid_until: Option<String>,
}

/// A transparency or CT log.
#[derive(Debug, Clone)]
pub struct LogInstanceView {
    /// Its base URL.
    pub base_url: Text,
    /// Log id (hex).
    pub log_id: String,
    /// Valid from.
    pub valid_from: String,
    /// Valid until (`None`: still valid).
    pub valid_until: Option<String>,
}

/// The accepted `trusted_root.json`.
#[derive(Debug, Clone, Default)]
pub struct TrustedRootView {
    /// Certificate authorities (Fulcio).
    pub certificate_authorities: Vec<AuthorityView>,
    /// Timestamp authorities.
    pub timestamp_authorities: Vec<AuthorityView>,
    /// Transparency logs (Rekor).
    pub tlogs: Vec<LogInstanceView>,
    /// CT logs.
    pub ctlogs: Vec<LogInstanceView>,
}

/// One accepted role.
#[derive(Debug, Clone)]
pub struct RoleLine {
    /// `root`, `timestamp`, `snapshot`, `targets` or a delegated role's name.
    pub role: Text,
    /// Its version.
    pub version: u64,
    /// SHA-256 of its signed body (hex).
    pub sha256: String,
    /// Its signed expiry, when the appliance recorded it.
    pub expires: Option<String>,
}

/// One TUF repository.
#[derive(Debug, Clone)]
pub struct RepositoryView {
    /// Its name.
    pub name: Text,
    /// The pinned root's version.
    pub pinned_root_version: Option<u64>,
    /// The pinned root's signed expiry.
    pub pinned_root_expires: Option<String>,
    /// Accepted roles (empty until an archive updated the repository).
    pub roles: Vec<RoleLine>,
    /// The archive time the state was accepted at.
    pub reference_time: Option<String>,
    /// How long ago that is.
    pub age: Option<String>,
    /// When the appliance stored it.
    pub updated_at: Option<String>,
    /// SHA-256 of the accepted trusted root (hex).
    pub trusted_root_sha256: Option<String>,
    /// The accepted trusted root.
    pub trusted_root: Option<TrustedRootView>,
    /// Why the stored state or root could not be read.
    pub error: Option<Text>,
}

/// The trust page.
#[derive(Debug, Template)]
#[template(path = "trust.html")]
pub struct TrustPage {
    /// The frame.
    pub chrome: Chrome,
    /// Every repository.
    pub repositories: Vec<RepositoryView>,
}
