//! Steps on the log entries: each body records this bundle, each inclusion proof leads to a
//! checkpoint signed by the log, and each log key was trusted when it was used.

use chrono::{DateTime, Utc};

use super::VerifyError;
use super::times::ObservedTimes;
use crate::bundle::Bundle;
use crate::rekor::{Claims, check_entry};
use crate::tlog::{
    CheckpointError, SignedCheckpoint, leaf_hash, verify_checkpoint, verify_inclusion,
};

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
    /// What proves the entry is in the log.
    pub proven_by: InclusionEvidence,
    /// The checkpoint the inclusion proof was verified against (absent for a promise).
    pub checkpoint: Option<CheckpointFacts>,
    /// The index the inclusion proof was made for (a shard index for sharded Rekor v1 logs).
    pub proof_index: Option<u64>,
}

/// What showed that a log entry is in its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InclusionEvidence {
    /// An RFC 6962 inclusion proof to a checkpoint the log signed.
    InclusionProof,
    /// Only the log's signed promise to include it (a v0.1 bundle's signed entry timestamp,
    /// which protobuf-specs lets verifiers accept). Nothing about the log's tree can be
    /// witnessed from it.
    SignedEntryTimestamp,
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

        let (proven_by, checkpoint, proof_index) = match &entry.inclusion_proof {
            Some(proof) => {
                verify_inclusion(
                    leaf_hash(&entry.body),
                    proof.log_index,
                    proof.tree_size,
                    &proof.hashes,
                    &proof.root_hash,
                )
                .map_err(|source| VerifyError::Inclusion { index, source })?;
                let mismatch = |source| VerifyError::Checkpoint { index, source };
                let signed = verify_checkpoint(&proof.checkpoint, log).map_err(mismatch)?;
                if signed.size != proof.tree_size {
                    return Err(mismatch(CheckpointError::Size {
                        checkpoint: signed.size,
                        proof: proof.tree_size,
                    }));
                }
                if signed.root_hash[..] != proof.root_hash[..] {
                    return Err(mismatch(CheckpointError::RootHash));
                }
                (
                    InclusionEvidence::InclusionProof,
                    Some(CheckpointFacts::from(signed)),
                    Some(proof.log_index),
                )
            }
            // Parsing already requires proofs from v0.2 on; a v0.1 entry may rest on its
            // signed entry timestamp, but only one the observed-times step verified.
            None if times.integrated_time(index).is_some() => {
                (InclusionEvidence::SignedEntryTimestamp, None, None)
            }
            None => return Err(VerifyError::MissingInclusionProof { index }),
        };

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
            proven_by,
            checkpoint,
            proof_index,
        });
    }
    Ok(EntriesVerified(facts))
}
