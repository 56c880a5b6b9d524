//! Shared fixtures for the integration tests.

use airlock_tests::{Instance, SignOptions};
use chrono::{DateTime, Utc};

/// The base time every test instance uses: 2026-01-15T12:00:00Z.
pub(crate) fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_768_478_400, 0).unwrap()
}

pub(crate) fn instance(seed: u64) -> Instance {
    Instance::new(seed, base_time()).unwrap()
}

pub(crate) const IDENTITY: &str =
    "https://ci.airlock.test/org/repo/.ci/release.yml@refs/heads/main";
pub(crate) const ISSUER: &str = "https://token.ci.airlock.test";

pub(crate) fn opts() -> SignOptions {
    SignOptions::workload(IDENTITY, ISSUER)
}
