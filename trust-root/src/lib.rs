//! What Airlock trusts, and checking evidence against it.
//!
//! **Invariant:** this crate does no network I/O, never reads the clock (every check takes the
//! time it is judged at as a parameter) and knows nothing of databases or HTTP.

mod artifact;
mod bundle;
mod certificate;
mod dsse;
mod encoding;
mod keys;
mod policy;
mod rekor;
mod sct;
mod timestamp;
mod tlog;
mod trusted_root;
mod tuf;
mod verify;

pub use bundle::{
    Bundle, BundleError, BundleVersion, ClaimedLogEntry, ClaimedSigner, MAX_BUNDLE_SIZE,
};
pub use certificate::{CertificateError, IssuedByError};
pub use dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE, Statement, Subject, pae};
pub use encoding::DecodeError;
pub use keys::{BadSignature, HashAlgorithm, KeyError, KeyKind, PublicKey, VerifyWithError};
pub use policy::{AnchoredRegex, CertificateIdentity, Matcher, PolicyError, SignerPolicy};
pub use rekor::EntryMismatch;
pub use sct::{SctError, VerifiedSct};
pub use timestamp::{TimestampError, VerifiedTimestamp};
pub use tlog::{
    CheckpointError, ProofError, SignedCheckpoint, leaf_hash, verify_checkpoint,
    verify_consistency, verify_inclusion,
};
pub use trusted_root::{Authority, LogInstance, TimeRange, TrustedRoot, TrustedRootError};
pub use tuf::{
    LocalRepository, RepositoryFile, RepositoryFolder, RepositoryName, Role, RoleRecord,
    RoleStatus, TRUSTED_ROOT_TARGET, TrustState, TrustStates, TufError, VerifiedRepository,
    VerifiedTarget,
};
pub use verify::{
    Artifact, ArtifactDigests, CheckpointFacts, DigestFacts, DsseFacts, IgnoredCertificate,
    InclusionEvidence, LogEntryFacts, ObservedTime, Report, SignerFacts, Step, TimeSource,
    Verifier, VerifierOptions, VerifyError,
};
