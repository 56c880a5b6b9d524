//! The verifier's error: one variant per way a bundle can fail, each naming its step.

use chrono::{DateTime, Utc};

use crate::bundle::BundleError;
use crate::keys::{HashAlgorithm, KeyError, KeyKind};
use crate::rekor::EntryMismatch;
use crate::sct::SctError;
use crate::timestamp::TimestampError;
use crate::tlog::{CheckpointError, ProofError};

/// The verification steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Reading the bundle and choosing the key or certificate to check.
    Material,
    /// Finding the logs and verifying signed entry timestamps and RFC 3161 timestamps.
    ObservedTimes,
    /// Certificate chain to a trusted CA at the observed times.
    CertificateChain,
    /// Signed certificate timestamps.
    Sct,
    /// Signer identity policy.
    Identity,
    /// Signature over the artifact or DSSE payload.
    Signature,
    /// DSSE in-toto subject against the artifact.
    Subject,
    /// Log entry body against the bundle.
    LogEntry,
    /// Merkle inclusion proof and checkpoint.
    Inclusion,
    /// Trusted-root validity windows of the log keys used.
    KeyValidity,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Material => "material",
            Self::ObservedTimes => "observed times",
            Self::CertificateChain => "certificate chain",
            Self::Sct => "SCT",
            Self::Identity => "identity",
            Self::Signature => "signature",
            Self::Subject => "DSSE subject",
            Self::LogEntry => "log entry",
            Self::Inclusion => "inclusion proof",
            Self::KeyValidity => "key validity",
        })
    }
}

/// Why a bundle did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("bundle is signed with a managed key but no key was given")]
    KeyRequired,
    #[error("a key was given but the bundle is signed with a certificate")]
    CertificateNotKey,
    #[error("bundle has no transparency log entry")]
    NoLogEntry,
    #[error("bundle has {found} transparency log entries; at least {required} are required")]
    TooFewLogEntries { found: usize, required: usize },
    #[error("the signature was seen at {found} verified times; at least {required} are required")]
    TooFewObservedTimes { found: usize, required: usize },
    #[error("tlog entry {index}: log {log_id} is not in the trusted root")]
    UnknownLog { index: usize, log_id: String },
    #[error("tlog entry {index}: signed entry timestamp does not verify")]
    BadSignedEntryTimestamp { index: usize },
    #[error("tlog entry {index}: signed entry timestamp without an integrated time")]
    PromiseWithoutTime { index: usize },
    #[error("timestamp {index}: {source}")]
    Timestamp {
        index: usize,
        #[source]
        source: TimestampError,
    },
    #[error(
        "no verified time: the bundle has neither a signed entry timestamp nor an RFC 3161 timestamp from a trusted authority"
    )]
    NoObservedTime,
    #[error("certificate was not issued by a certificate authority in the trusted root")]
    UntrustedIssuer,
    #[error("certificate authority {authority} is not valid at {at} in the trusted root")]
    AuthorityNotValid {
        authority: String,
        at: DateTime<Utc>,
    },
    #[error("certificate is not valid at {at} (valid {not_before} to {not_after})")]
    CertificateNotValid {
        at: DateTime<Utc>,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    },
    #[error("certificate chain of {authority} is not valid at {at}")]
    ChainNotValid {
        authority: String,
        at: DateTime<Utc>,
    },
    #[error("signing certificate is a CA certificate")]
    LeafIsCa,
    #[error("signing certificate lacks the {0} usage")]
    MissingUsage(&'static str),
    #[error("signing certificate: {0}")]
    LeafMalformed(String),
    #[error(
        "signing certificate has critical extension {0}, which this verifier does not understand"
    )]
    UnknownCriticalExtension(String),
    #[error(
        "signing certificate's signature algorithm inside the signed part differs from its outer signature algorithm"
    )]
    SignatureAlgorithmMismatch,
    #[error(transparent)]
    Sct(#[from] SctError),
    #[error("certificate identity {} does not match {expected}", quoted(.found))]
    IdentityMismatch {
        expected: String,
        found: Vec<String>,
    },
    #[error(
        "certificate OIDC issuer {} does not match {expected}",
        .found.as_deref().map_or_else(|| "(none)".to_owned(), |f| format!("{f:?}"))
    )]
    IssuerMismatch {
        expected: String,
        found: Option<String>,
    },
    #[error("bundle's message digest does not match the artifact")]
    MessageDigestMismatch,
    #[error("signature does not verify against the artifact")]
    BadSignature,
    #[error(
        "the bundle binds the artifact by its {0} digest, which was not given: give the artifact itself"
    )]
    DigestUnavailable(HashAlgorithm),
    #[error("a {0} message signature covers the artifact's bytes: give the artifact itself")]
    ArtifactBytesRequired(KeyKind),
    #[error("signature cannot be checked: {0}")]
    SignatureKey(KeyError),
    #[error("DSSE payload type {0:?} is not an in-toto statement")]
    PayloadType(String),
    #[error("DSSE payload is not an in-toto statement: {0}")]
    Statement(String),
    #[error("no in-toto subject has the artifact's SHA-256 {sha256}{}", unchecked_note(.unchecked))]
    SubjectMismatch {
        sha256: String,
        /// Digest algorithms the subjects use that could not be taken (comma-separated).
        unchecked: String,
    },
    #[error("tlog entry {index}: {source}")]
    LogEntry {
        index: usize,
        #[source]
        source: EntryMismatch,
    },
    #[error("tlog entry {index}: no inclusion proof")]
    MissingInclusionProof { index: usize },
    #[error("tlog entry {index}: inclusion proof: {source}")]
    Inclusion {
        index: usize,
        #[source]
        source: ProofError,
    },
    #[error("tlog entry {index}: checkpoint: {source}")]
    Checkpoint {
        index: usize,
        #[source]
        source: CheckpointError,
    },
    #[error("tlog entry {index}: log key of {log} is not valid at {at} in the trusted root")]
    LogKeyNotValid {
        index: usize,
        log: String,
        at: DateTime<Utc>,
    },
}

impl VerifyError {
    /// The step that failed.
    pub fn step(&self) -> Step {
        use VerifyError::*;
        match self {
            Bundle(_) | KeyRequired | CertificateNotKey => Step::Material,
            NoLogEntry
            | UnknownLog { .. }
            | BadSignedEntryTimestamp { .. }
            | PromiseWithoutTime { .. }
            | Timestamp { .. }
            | NoObservedTime => Step::ObservedTimes,
            TooFewLogEntries { .. } | TooFewObservedTimes { .. } => Step::ObservedTimes,
            UntrustedIssuer
            | UnknownCriticalExtension(_)
            | SignatureAlgorithmMismatch
            | AuthorityNotValid { .. }
            | CertificateNotValid { .. }
            | ChainNotValid { .. }
            | LeafIsCa
            | MissingUsage(_)
            | LeafMalformed(_) => Step::CertificateChain,
            Sct(_) => Step::Sct,
            IdentityMismatch { .. } | IssuerMismatch { .. } => Step::Identity,
            MessageDigestMismatch
            | BadSignature
            | SignatureKey(_)
            | DigestUnavailable(_)
            | ArtifactBytesRequired(_) => Step::Signature,
            PayloadType(_) | Statement(_) | SubjectMismatch { .. } => Step::Subject,
            LogEntry { .. } => Step::LogEntry,
            MissingInclusionProof { .. } | Inclusion { .. } | Checkpoint { .. } => Step::Inclusion,
            LogKeyNotValid { .. } => Step::KeyValidity,
        }
    }
}

fn unchecked_note(unchecked: &str) -> String {
    if unchecked.is_empty() {
        String::new()
    } else {
        format!("; its subjects carry {unchecked} digests, which need the artifact itself")
    }
}

/// Values as a reader reads them: each quoted, comma-separated; `(none)` for none.
fn quoted(values: &[String]) -> String {
    if values.is_empty() {
        return "(none)".to_owned();
    }
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
