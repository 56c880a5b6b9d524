//! `/`: the dashboard — recent imports, verdict counts, trust freshness, witnessed logs and
//! open alarms.

use askama::Template;

use crate::imports::ImportLine;
use crate::layout::Chrome;
use crate::text::Text;

/// Artifacts per verdict, over every import.
#[derive(Debug, Clone, Copy, Default)]
pub struct VerdictCounts {
    /// Passed.
    pub passed: i64,
    /// Released with warnings.
    pub warned: i64,
    /// Kept in quarantine.
    pub failed: i64,
}

/// How fresh one TUF repository's accepted state is.
#[derive(Debug, Clone)]
pub struct TrustFreshness {
    /// The repository.
    pub name: Text,
    /// The accepted root version (`None` until an archive updated it).
    pub root_version: Option<u64>,
    /// The accepted timestamp version.
    pub timestamp_version: Option<u64>,
    /// The accepted snapshot version.
    pub snapshot_version: Option<u64>,
    /// The accepted targets version.
    pub targets_version: Option<u64>,
    /// The archive time the state was accepted at (`created_at` of the archive).
    pub reference_time: Option<String>,
    /// How long ago that archive time is.
    pub age: Option<String>,
    /// When the appliance stored it.
    pub updated_at: Option<String>,
    /// The role that expires first and when (`timestamp 2026-12-08 23:00:00 UTC`).
    pub next_expiry: Option<String>,
    /// How long that role still had to run at the archive's time (`6 d 22 h left`), or how long
    /// before it had expired (`expired 3 h before`).
    pub margin: Option<String>,
}

/// A witnessed log's head.
#[derive(Debug, Clone)]
pub struct LogHead {
    /// The log's origin.
    pub origin: Text,
    /// Tree size.
    pub size: u64,
    /// Root hash (hex).
    pub root_hash: String,
    /// When it was accepted.
    pub witnessed_at: String,
    /// The import that brought it.
    pub import_id: Option<i64>,
}

/// An open alarm.
#[derive(Debug, Clone)]
pub struct AlarmLine {
    /// Its id.
    pub id: i64,
    /// `log-fork` or `rollback`.
    pub kind: String,
    /// The log or repository.
    pub subject: Text,
    /// What was seen.
    pub detail: Text,
    /// The import that raised it.
    pub import_id: Option<i64>,
    /// When.
    pub raised_at: String,
}

impl AlarmLine {
    /// What the kind means, for people.
    pub fn kind_text(&self) -> &'static str {
        match self.kind.as_str() {
            "log-fork" => "Log fork",
            "rollback" => "Rollback attempt",
            _ => "Alarm",
        }
    }
}

/// The dashboard.
#[derive(Debug, Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    /// The frame.
    pub chrome: Chrome,
    /// Artifacts per verdict.
    pub counts: VerdictCounts,
    /// Artifacts judged per day, the last weeks.
    pub verdict_chart: crate::chart::VerdictChart,
    /// The trust freshness margin of the latest imports that updated trust.
    pub margin_chart: crate::chart::MarginChart,
    /// The newest imports.
    pub recent: Vec<ImportLine>,
    /// Each TUF repository.
    pub trust: Vec<TrustFreshness>,
    /// Each witnessed log.
    pub logs: Vec<LogHead>,
    /// Open alarms, newest first.
    pub alarms: Vec<AlarmLine>,
    /// Failed artifacts released by an active exception, the soonest to expire first.
    pub exceptions: Vec<ActiveException>,
}

/// A failed artifact an active exception releases, as the dashboard lists it.
#[derive(Debug, Clone)]
pub struct ActiveException {
    /// The artifact's id.
    pub artifact_id: i64,
    /// Its name.
    pub artifact: Text,
    /// When the exception ends (RFC 3339, UTC).
    pub expires_at: String,
    /// Who approved it.
    pub approved_by: Text,
    /// Whether it ends within 7 days.
    pub expiring_soon: bool,
}

impl DashboardPage {
    /// How many active exceptions end within 7 days.
    pub fn expiring_soon(&self) -> usize {
        self.exceptions.iter().filter(|e| e.expiring_soon).count()
    }
}
