//! `TufError`: every way loading, judging or updating a TUF repository can fail.

use chrono::{DateTime, SecondsFormat, Utc};

use super::role::Role;

/// Formats a time the way every TUF message in Airlock shows it (RFC 3339, UTC, `Z`).
pub(crate) fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Why a TUF repository was not accepted. `Display` is one line naming what failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TufError {
    /// A repository name is empty, too long or uses characters outside `[a-z0-9._-]`.
    #[error("invalid TUF repository name {name:?}: {reason}")]
    InvalidRepositoryName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A metadata or targets folder cannot be opened.
    #[error("TUF {what} folder {path}: {reason}")]
    Folder {
        /// `metadata` or `targets`.
        what: &'static str,
        /// The folder as given.
        path: String,
        /// The I/O failure.
        reason: String,
    },
    /// The pinned root does not parse, or is not signed by a threshold of its own root keys.
    #[error("pinned root rejected: {reason}")]
    PinnedRoot {
        /// tough's finding.
        reason: String,
    },
    /// Root version N+1 is not signed by a threshold of version N's keys and of its own keys.
    #[error(
        "root rotation to version {to_version} rejected: signature threshold {threshold} not met ({valid} valid signatures)"
    )]
    RootRotation {
        /// The root version that was offered.
        to_version: u64,
        /// The threshold that applied.
        threshold: u64,
        /// How many signatures verified.
        valid: u64,
    },
    /// A file `N.root.json` holds a root whose version is not N (a root may not skip or repeat).
    #[error("root rotation: expected root version {expected}, file holds version {found}")]
    RootVersionMismatch {
        /// The version the file name promised.
        expected: u64,
        /// The version inside.
        found: u64,
    },
    /// A role's metadata is not signed by a threshold of the keys the delegating role lists.
    #[error("{role} metadata: signature threshold {threshold} not met ({valid} valid signatures)")]
    SignatureThreshold {
        /// The role whose metadata failed.
        role: Role,
        /// The threshold that applied.
        threshold: u64,
        /// How many signatures verified.
        valid: u64,
    },
    /// Metadata failed a structural check after parsing (duplicate key id, missing role, ...).
    #[error("{role} metadata rejected: {reason}")]
    MetadataRejected {
        /// The role whose metadata failed.
        role: Role,
        /// tough's finding.
        reason: String,
    },
    /// A metadata file the chain requires is absent from the metadata folder.
    #[error("metadata file {file} not found")]
    MetadataMissing {
        /// The file name.
        file: String,
    },
    /// A metadata file could not be read.
    #[error("metadata file {file} unreadable: {reason}")]
    MetadataUnreadable {
        /// The file name.
        file: String,
        /// The I/O failure.
        reason: String,
    },
    /// A metadata file is not valid JSON for its role.
    #[error("{role} metadata {file} does not parse: {reason}")]
    MetadataParse {
        /// The role.
        role: Role,
        /// The file name.
        file: String,
        /// The parser's finding.
        reason: String,
    },
    /// A metadata file is larger than its signed length or the fixed size limit.
    #[error("metadata file {file} exceeds {max_size} bytes (limit from {limit_from})")]
    MetadataTooLarge {
        /// The file name.
        file: String,
        /// The limit in bytes.
        max_size: u64,
        /// Where the limit came from (a signed length or the loader's limit).
        limit_from: String,
    },
    /// A metadata file's SHA-256 differs from the digest its parent role signed.
    #[error("metadata file {file}: SHA-256 {calculated} differs from the signed {expected}")]
    MetadataHashMismatch {
        /// The file name.
        file: String,
        /// The signed digest (hex).
        expected: String,
        /// The digest of the bytes read (hex).
        calculated: String,
    },
    /// A role's version differs from the version its parent role lists (mix-and-match).
    #[error("{role} metadata is version {found} but the parent role lists version {listed}")]
    VersionMismatch {
        /// The role.
        role: Role,
        /// The version the parent role signed.
        listed: u64,
        /// The version in the file.
        found: u64,
    },
    /// More root updates than the loader allows.
    #[error("more than {max} root rotations")]
    TooManyRootRotations {
        /// The limit.
        max: u64,
    },
    /// A delegated role named by its parent was not loaded (absent from snapshot).
    #[error("delegated role {role} is not listed in the snapshot metadata")]
    DelegatedRoleNotLoaded {
        /// The delegated role's name.
        role: String,
    },
    /// A role's metadata expired at or before the reference time.
    #[error(
        "{role} metadata version {version} expired at {} (reference time {})",
        rfc3339(.expires),
        rfc3339(.at)
    )]
    Expired {
        /// The role.
        role: Role,
        /// Its version.
        version: u64,
        /// Its signed expiry.
        expires: DateTime<Utc>,
        /// The reference time it was judged at.
        at: DateTime<Utc>,
    },
    /// A signed time cannot be represented.
    #[error("{role} metadata: expiry time out of range")]
    TimeOutOfRange {
        /// The role.
        role: Role,
    },
    /// A required target is not listed by the targets metadata.
    #[error("target {target} is not listed in the targets metadata")]
    TargetMissing {
        /// The target name.
        target: String,
    },
    /// A target's SHA-256 differs from the signed digest.
    #[error("target {target}: SHA-256 {calculated} differs from the signed {expected}")]
    TargetHashMismatch {
        /// The target name.
        target: String,
        /// The signed digest (hex).
        expected: String,
        /// The digest of the bytes read (hex).
        calculated: String,
    },
    /// A target is longer or shorter than its signed length.
    #[error("target {target}: length differs from the signed {listed} bytes")]
    TargetLengthMismatch {
        /// The target name.
        target: String,
        /// The signed length.
        listed: u64,
    },
    /// A target file could not be read.
    #[error("target {target} unreadable: {reason}")]
    TargetUnreadable {
        /// The target name.
        target: String,
        /// The failure.
        reason: String,
    },
    /// The stored state belongs to another repository.
    #[error("trust state is for repository {stored}, not {offered}")]
    RepositoryMismatch {
        /// The repository named in the stored state.
        stored: String,
        /// The repository being verified.
        offered: String,
    },
    /// The reference time is earlier than the one already recorded (freeze / replay).
    #[error(
        "reference time {} is earlier than the recorded {}",
        rfc3339(.offered),
        rfc3339(.stored)
    )]
    ReferenceTimeBackwards {
        /// The recorded reference time.
        stored: DateTime<Utc>,
        /// The offered reference time.
        offered: DateTime<Utc>,
    },
    /// A role's version is lower than the recorded one (rollback).
    #[error("{role} rollback: version {offered} offered, version {stored} already trusted")]
    Rollback {
        /// The role.
        role: Role,
        /// The recorded version.
        stored: u64,
        /// The offered version.
        offered: u64,
    },
    /// A role's version equals the recorded one but its content differs (equivocation).
    #[error(
        "{role} equivocation: version {version} has SHA-256 {offered_sha256}, recorded {stored_sha256}"
    )]
    Equivocation {
        /// The role.
        role: Role,
        /// The version both copies claim.
        version: u64,
        /// The recorded metadata digest (hex).
        stored_sha256: String,
        /// The offered metadata digest (hex).
        offered_sha256: String,
    },
    /// tough rejected the repository for a reason without a more precise variant.
    #[error("TUF verification failed: {reason}")]
    Tough {
        /// tough's message.
        reason: String,
    },
    /// The private runtime that drives tough could not run.
    #[error("TUF worker failed: {reason}")]
    Worker {
        /// What went wrong.
        reason: String,
    },
}
