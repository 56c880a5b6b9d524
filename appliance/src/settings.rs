//! The pipeline's settings, read once per import from the database.

use chrono::Duration;

use crate::appliance::Appliance;
use crate::policy::Policy;
use crate::store;

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("policy: {0}")]
    Policy(String),
}

/// Setting: how many publisher keys must sign an archive.
pub const PUBLISHER_THRESHOLD: &str = "publisher.threshold";
/// Setting: how far in the future `created_at` may be (seconds).
pub const CLOCK_SKEW: &str = "clock.skew_seconds";
/// Setting: the oldest `created_at` accepted (seconds before now).
pub const MAX_TRANSIT_AGE: &str = "transit.max_age_seconds";
/// Setting: the policy (TOML, without signers), kept by the policy store.
pub use crate::policy_store::POLICY_SETTING as POLICY;
/// Setting: the largest archive imported, all parts together (bytes); uploads and inbox
/// files over it are refused before they are kept.
pub const MAX_ARCHIVE_BYTES: &str = "import.max_archive_bytes";
/// Setting: `true` keeps rejected archives whole (within [`REJECTED_MAX_TOTAL`]); otherwise
/// only their first MiB is kept, with their size and SHA-256.
pub const KEEP_REJECTED_WHOLE: &str = "rejected.keep_whole";
/// Setting: the most bytes rejected archives kept whole may take together; past it a
/// rejected archive keeps only its first MiB whatever [`KEEP_REJECTED_WHOLE`] says.
pub const REJECTED_MAX_TOTAL: &str = "rejected.max_total_bytes";

/// Default largest archive: 16 GiB.
pub const DEFAULT_MAX_ARCHIVE_BYTES: u64 = 16 << 30;
/// Default room for rejected archives kept whole: 4 GiB.
pub const DEFAULT_REJECTED_MAX_TOTAL: u64 = 4 << 30;
/// What is kept of a rejected archive that is not kept whole: its first MiB.
pub const REJECTED_HEAD_BYTES: u64 = 1 << 20;
/// Setting: `true` lets machines pull released images from the site registry without a
/// pull token; off unless set.
pub(crate) const ANONYMOUS_PULL: &str = "registry.anonymous_pull";
/// Setting: this site's name (set at `init`); archives must name it in `site`.
pub const SITE: &str = "site";

/// Defaults: one signature, five minutes of clock skew, thirty days in transit.
const DEFAULT_THRESHOLD: usize = 1;
const DEFAULT_SKEW_SECONDS: i64 = 300;
const DEFAULT_TRANSIT_SECONDS: i64 = 30 * 24 * 3600;

/// The settings one import runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Signatures required from trusted publisher keys.
    pub threshold: usize,
    /// How far ahead of the appliance's clock `created_at` may be.
    pub skew: Duration,
    /// How long an archive may take to arrive.
    pub max_transit: Duration,
    /// The policy and the SHA-256 of the document in force (policy + signers).
    pub policy: (Policy, String),
    /// Rejected archives kept whole (else their first MiB).
    pub keep_rejected_whole: bool,
    /// The most bytes rejected archives kept whole may take together.
    pub rejected_max_total: u64,
    /// This site's name, when it has one.
    pub site: Option<String>,
}

/// A byte count setting, or `default` if it was never set.
fn bytes_setting(
    conn: &rusqlite::Connection,
    key: &str,
    default: u64,
) -> Result<u64, SettingsError> {
    match store::settings::get(conn, key)? {
        Some(v) => v.parse().map_err(|_| {
            SettingsError::Store(store::StoreError::Corrupt {
                what: format!("setting {key}"),
                reason: format!("{v:?} is not a byte count"),
            })
        }),
        None => Ok(default),
    }
}

/// The largest archive accepted ([`MAX_ARCHIVE_BYTES`]).
pub fn max_archive_bytes(app: &Appliance) -> Result<u64, SettingsError> {
    bytes_setting(
        app.store().read(),
        MAX_ARCHIVE_BYTES,
        DEFAULT_MAX_ARCHIVE_BYTES,
    )
}

impl Settings {
    /// Reads the settings (defaults for those never set).
    pub fn load(app: &Appliance) -> Result<Self, SettingsError> {
        let store = app.store();
        let conn = store.read();
        let number = |key: &str, default: i64| -> Result<i64, SettingsError> {
            match store::settings::get(conn, key)? {
                Some(v) => v.parse().map_err(|_| {
                    SettingsError::Store(store::StoreError::Corrupt {
                        what: format!("setting {key}"),
                        reason: format!("{v:?} is not a number"),
                    })
                }),
                None => Ok(default),
            }
        };
        let threshold = number(PUBLISHER_THRESHOLD, DEFAULT_THRESHOLD as i64)?;
        let skew = number(CLOCK_SKEW, DEFAULT_SKEW_SECONDS)?;
        let transit = number(MAX_TRANSIT_AGE, DEFAULT_TRANSIT_SECONDS)?;
        let policy_toml = store::settings::get(conn, POLICY)?;
        let policy = match &policy_toml {
            Some(text) => {
                Policy::from_toml(text).map_err(|e| SettingsError::Policy(e.to_string()))?
            }
            None => Policy::strict(),
        };
        let document = crate::policy_store::document(conn)
            .map_err(|e| SettingsError::Policy(e.to_string()))?;
        let sha = crate::audit::sha256_hex(document.to_toml().as_bytes());
        let keep_rejected_whole =
            store::settings::get(conn, KEEP_REJECTED_WHOLE)?.as_deref() == Some("true");
        let rejected_max_total =
            bytes_setting(conn, REJECTED_MAX_TOTAL, DEFAULT_REJECTED_MAX_TOTAL)?;
        Ok(Self {
            keep_rejected_whole,
            rejected_max_total,
            threshold: usize::try_from(threshold.max(1)).unwrap_or(DEFAULT_THRESHOLD),
            skew: Duration::seconds(skew.max(0)),
            max_transit: Duration::seconds(transit.max(0)),
            policy: (policy, sha),
            site: store::settings::get(conn, SITE)?,
        })
    }
}
