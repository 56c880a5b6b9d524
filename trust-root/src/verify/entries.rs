//! Steps on the log entries: each body records this bundle, each inclusion proof leads to a
//! checkpoint signed by the log, and each log key was trusted when it was used.

use chrono::{DateTime, Utc};

use super::VerifyError;
use super::times::ObservedTimes;
use crate::bundle::Bundle;
use crate::rekor::{Claims, check_entry};
use crate::tlog::{SignedCheckpoint, leaf_hash, verify_checkpoint, verify_inclusion};

/// What one verified log entry showed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogEntryFacts {
    pub log_base_url: String,
    #[serde(with = "hex::serde")]
    pub log_id: Vec<u8>,
    pub log_index: u64,
    pub kind: String,
    pub version: String,
    /// Verified through the signed entry timestamp; absent for Rekor v2.
    pub integrated_time: Option<DateTime<Utc>>,
    /// The checkpoint the inclusion proof was verified against, if the bundle carried one.
    pub checkpoint: Option<CheckpointFacts>,
    /// The index the inclusion proof was made for (a shard index for sharded Rekor v1 logs).
    pub proof_index: Option<u64>,
}

/// A verified checkpoint, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointFacts {
    pub origin: String,
    pub size: u64,
    #[serde(with = "hex::serde")]
    pub root_hash: [u8; 32],
    /// The signed note itself, for a witness to remember.
    pub note: String,
}

impl From<SignedCheckpoint> for CheckpointFacts {
    fn from(c: SignedCheckpoint) -> Self {
        Self {
            origin: c.origin,
            size: c.size,
            root_hash: c.root_hash,
            note: c.note,
        }
    }
}

/// Proof that every entry records the bundle and is included in its log.
#[derive(Debug)]
pub(super) struct EntriesVerified(Vec<LogEntryFacts>);

impl EntriesVerified {
    pub(super) fn into_inner(self) -> Vec<LogEntryFacts> {
        self.0
    }
}

pub(super) fn verify_entries(
    bundle: &Bundle,
    claims: &Claims<'_>,
    times: &ObservedTimes<'_>,
) -> Result<EntriesVerified, VerifyError> {
    let mut facts = Vec::with_capacity(bundle.tlog_entries.len());
    for (index, (entry, log)) in bundle.tlog_entries.iter().zip(times.logs()).enumerate() {
        check_entry(entry, claims).map_err(|source| VerifyError::LogEntry { index, source })?;

        let mut checkpoint = None;
        let mut proof_index = None;
        match &entry.inclusion_proof {
            Some(proof) => {
                verify_inclusion(
                    leaf_hash(&entry.body),
                    proof.log_index,
                    proof.tree_size,
                    &proof.hashes,
                    &proof.root_hash,
                )
                .map_err(|source| VerifyError::Inclusion { index, source })?;
                proof_index = Some(proof.log_index);
                if let Some(note) = &proof.checkpoint {
                    let signed = verify_checkpoint(note, log)
                        .map_err(|source| VerifyError::Checkpoint { index, source })?;
                    let mismatch = |source| VerifyError::Checkpoint { index, source };
                    if signed.size != proof.tree_size {
                        return Err(mismatch(crate::tlog::CheckpointError::Size {
                            checkpoint: signed.size,
                            proof: proof.tree_size,
                        }));
                    }
                    if signed.root_hash[..] != proof.root_hash[..] {
                        return Err(mismatch(crate::tlog::CheckpointError::RootHash));
                    }
                    checkpoint = Some(CheckpointFacts::from(signed));
                }
            }
            // Parsing already requires proofs from v0.2 on; a v0.1 entry may rest on its
            // signed entry timestamp, but only one the observed-times step verified.
            None if times.integrated_time(index).is_some() => {}
            None => return Err(VerifyError::MissingInclusionProof { index }),
        }

        // The log key must have been trusted when the log used it: at the integrated time
        // for Rekor v1, at the timestamp authorities' times for Rekor v2.
        let integrated = times.integrated_time(index);
        let when: Vec<DateTime<Utc>> = match integrated {
            Some(t) => vec![t],
            None => times.times().iter().map(|t| t.time).collect(),
        };
        if let Some(&at) = when.iter().find(|t| !log.valid_for().contains(**t)) {
            return Err(VerifyError::LogKeyNotValid {
                index,
                log: log.base_url().to_owned(),
                at,
            });
        }
        facts.push(LogEntryFacts {
            log_base_url: log.base_url().to_owned(),
            log_id: entry.log_id.clone(),
            log_index: entry.log_index,
            kind: entry.kind.clone(),
            version: entry.version.clone(),
            integrated_time: integrated,
            checkpoint,
            proof_index,
        });
    }
    Ok(EntriesVerified(facts))
}
