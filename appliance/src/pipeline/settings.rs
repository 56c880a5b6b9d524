//! The pipeline's settings, read once per import from the database.

use chrono::Duration;

use super::ImportError;
use crate::appliance::Appliance;
use crate::policy::Policy;
use crate::store;

/// Setting: how many publisher keys must sign an archive.
pub const PUBLISHER_THRESHOLD: &str = "publisher.threshold";
/// Setting: how far in the future `created_at` may be (seconds).
pub const CLOCK_SKEW: &str = "clock.skew_seconds";
/// Setting: the oldest `created_at` accepted (seconds before now).
pub const MAX_TRANSIT_AGE: &str = "transit.max_age_seconds";
/// Setting: the policy (TOML, without signers).
pub const POLICY: &str = "policy";
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
    /// This site's name, when it has one.
    pub site: Option<String>,
}

impl Settings {
    /// Reads the settings (defaults for those never set).
    pub fn load(app: &Appliance) -> Result<Self, ImportError> {
        let store = app.store();
        let conn = store.read();
        let number = |key: &str, default: i64| -> Result<i64, ImportError> {
            match store::settings::get(conn, key)? {
                Some(v) => v.parse().map_err(|_| {
                    ImportError::Store(store::StoreError::Corrupt {
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
                Policy::from_toml(text).map_err(|e| ImportError::Policy(e.to_string()))?
            }
            None => Policy::strict(),
        };
        let document =
            crate::policy_store::document(conn).map_err(|e| ImportError::Policy(e.to_string()))?;
        let sha = super::sha256_hex(document.to_toml().as_bytes());
        Ok(Self {
            threshold: usize::try_from(threshold.max(1)).unwrap_or(DEFAULT_THRESHOLD),
            skew: Duration::seconds(skew.max(0)),
            max_transit: Duration::seconds(transit.max(0)),
            policy: (policy, sha),
            site: store::settings::get(conn, SITE)?,
        })
    }
}
