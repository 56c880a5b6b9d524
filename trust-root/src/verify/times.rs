//! Step: observed times. Finds each entry's log in the trusted root, verifies signed entry
//! timestamps and RFC 3161 timestamps, and yields the times the signature is known to have
//! existed at.

use chrono::{DateTime, Utc};

use super::{VerifierOptions, VerifyError};
use crate::bundle::Bundle;
use crate::timestamp::verify_timestamp;
use crate::tlog::set_payload;
use crate::trusted_root::{LogInstance, TrustedRoot};

/// Where an observed time came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum TimeSource {
    /// A log entry's integrated time, vouched for by its signed entry timestamp.
    LogEntry { index: usize },
    /// An RFC 3161 timestamp from this authority.
    TimestampAuthority { authority: String },
}

/// A time at which the signature verifiably existed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObservedTime {
    pub time: DateTime<Utc>,
    #[serde(flatten)]
    pub source: TimeSource,
}

/// Proof of this step: every entry's log is trusted and every time here was verified.
#[derive(Debug)]
pub(super) struct ObservedTimes<'r> {
    logs: Vec<&'r LogInstance>,
    times: Vec<ObservedTime>,
}

impl<'r> ObservedTimes<'r> {
    /// The trusted log of each tlog entry, in entry order.
    pub(super) fn logs(&self) -> &[&'r LogInstance] {
        &self.logs
    }

    pub(super) fn times(&self) -> &[ObservedTime] {
        &self.times
    }

    /// The verified integrated time of entry `index`, if it had a signed entry timestamp.
    pub(super) fn integrated_time(&self, index: usize) -> Option<DateTime<Utc>> {
        self.times.iter().find_map(|t| match t.source {
            TimeSource::LogEntry { index: i } if i == index => Some(t.time),
            _ => None,
        })
    }

    pub(super) fn into_times(self) -> Vec<ObservedTime> {
        self.times
    }
}

pub(super) fn observed_times<'r>(
    bundle: &Bundle,
    root: &'r TrustedRoot,
    options: &VerifierOptions,
) -> Result<ObservedTimes<'r>, VerifyError> {
    let entries = bundle.tlog_entries.len();
    if entries < options.min_log_entries {
        return Err(if entries == 0 {
            VerifyError::NoLogEntry
        } else {
            VerifyError::TooFewLogEntries {
                found: entries,
                required: options.min_log_entries,
            }
        });
    }
    let mut logs = Vec::with_capacity(bundle.tlog_entries.len());
    let mut times = Vec::new();
    for (index, entry) in bundle.tlog_entries.iter().enumerate() {
        let log = root
            .tlog(&entry.log_id)
            .ok_or_else(|| VerifyError::UnknownLog {
                index,
                log_id: hex::encode(&entry.log_id),
            })?;
        logs.push(log);
        // A promise is only worth anything verified: one without the time it signs is rejected
        // rather than skipped, so nothing later mistakes its presence for proof.
        let (set, integrated) = match (&entry.signed_entry_timestamp, entry.integrated_time) {
            (Some(set), Some(integrated)) => (set, integrated),
            (Some(_), None) => return Err(VerifyError::PromiseWithoutTime { index }),
            (None, _) => continue,
        };
        let payload = set_payload(&entry.body, integrated, &entry.log_id, entry.log_index);
        log.key()
            .verify(&payload, set)
            .map_err(|_| VerifyError::BadSignedEntryTimestamp { index })?;
        let time = i64::try_from(integrated)
            .ok()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or(VerifyError::BadSignedEntryTimestamp { index })?;
        times.push(ObservedTime {
            time,
            source: TimeSource::LogEntry { index },
        });
    }
    let signature = bundle.content.signature();
    for (index, token) in bundle.timestamps.iter().enumerate() {
        let verified = verify_timestamp(token, signature, root.timestamp_authorities())
            .map_err(|source| VerifyError::Timestamp { index, source })?;
        times.push(ObservedTime {
            time: verified.time,
            source: TimeSource::TimestampAuthority {
                authority: verified.authority,
            },
        });
    }
    if times.len() < options.min_observed_times {
        return Err(if times.is_empty() {
            VerifyError::NoObservedTime
        } else {
            VerifyError::TooFewObservedTimes {
                found: times.len(),
                required: options.min_observed_times,
            }
        });
    }
    Ok(ObservedTimes { logs, times })
}
