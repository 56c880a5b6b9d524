//! Airlock's pages: Askama templates and the view models they render, and the stylesheet.
//!
//! **Invariant:** this crate renders what it is given. It knows no SQL and no HTTP; the
//! appliance's handlers turn rows and reports into these view models. Autoescaping is always
//! on, nothing is marked safe, and untrusted text is [`Text`], whose invisible and
//! bidirectional control characters are shown as visible markers.
//!
//! Each page is one `#[derive(Template)]` struct whose template path mirrors its URL
//! (`/imports/{id}` → `templates/imports/detail.html`).

mod admin;
mod artifact_list;
mod artifacts;
mod audit;
mod chart;
mod components;
mod dashboard;
mod error;
mod imports;
mod layout;
mod signin;
mod text;
mod trust;
mod upload;
mod witness;

#[cfg(test)]
mod tests;

// The public interface is:
pub use admin::{
    AdminTab, Generated, IssuedToken, PolicyPage, PublisherKeyLine, PublisherLine, PublishersPage,
    PullTokenLine, ROLE_CHOICES, RegistryPage, SignerForm, SignerLine, SignersPage, UserLine,
    UsersPage, WithdrawnLine,
};
pub use artifact_list::{
    ARTIFACT_SORTS, ARTIFACT_VERDICT_CHOICES, ArtifactListLine, ArtifactsFilter, ArtifactsPage,
};
pub use artifacts::{
    ArtifactFacts, BundleView, CheckpointView, ComponentRow, ComponentTable, Downloads, DsseView,
    EvidenceLink, ExceptionLine, ExceptionsView, ExpectedView, LogEntryView, ProvenanceView,
    ReportPage, SbomView, SeenLogView, SeenView, SignerView, TimeView, WitnessedView,
};
pub use askama::{Error as RenderError, Template};
pub use audit::{
    AuditFilterView, AuditLine, AuditPage, CSV_EXPORT_PATH, ChainStatus, JSONL_EXPORT_PATH,
    PageCheck,
};
pub use chart::{DayBar, MarginChart, MarginPoint, VerdictChart};
pub use components::{ComponentHitLine, ComponentsFilter, ComponentsPage};
pub use dashboard::{
    ActiveException, AlarmLine, DashboardPage, LogHead, TrustFreshness, VerdictCounts,
};
pub use error::ErrorPage;
pub use imports::{
    ArtifactLine, ImportFacts, ImportLine, ImportPage, ImportsFilter, ImportsPage, ManifestSummary,
    StepLine, VERDICT_CHOICES,
};
pub use layout::{Chrome, Pager, Role, Section, Viewer, age, bytes, micros, time, time_or_dash};
pub use signin::SignInPage;
pub use text::{Clipped, Text};
pub use trust::{
    AuthorityView, LogInstanceView, RepositoryView, RoleLine, TrustPage, TrustedRootView,
};
pub use upload::UploadPage;
pub use witness::{CheckpointLine, WitnessPage, WitnessedLog};

/// The stylesheet, served at [`STYLESHEET_PATH`] (vendored: no external assets).
pub const STYLESHEET: &str = include_str!("../static/airlock.css");

/// Where pages link the stylesheet.
pub const STYLESHEET_PATH: &str = "/static/airlock.css";
