//! `FetchError`: every way fetching over HTTPS, mirroring a TUF repository or reading a log
//! can fail. `Display` is one line naming what failed (the URL, status, size or file).

use std::path::PathBuf;

use airlock_trust_root::ProofError;

/// Why a fetch failed. Each variant names what failed; none of them means "trusted": a
/// successful fetch is still unverified data.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A URL is not `https://` (plain HTTP is never used, not even after a redirect).
    #[error("{url}: only https:// URLs are fetched")]
    InsecureUrl {
        /// The rejected URL.
        url: String,
    },
    /// A URL cannot be built (a base URL that cannot hold a path, a bad join).
    #[error("{url}: cannot build the URL for {path:?}: {reason}")]
    BadUrl {
        /// The base URL.
        url: String,
        /// The relative path that was being joined.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The extra CA certificates are unusable, or there are no root certificates at all.
    #[error("root certificates: {reason}")]
    RootCertificates {
        /// What is wrong with them.
        reason: String,
    },
    /// The TLS handshake failed (an untrusted or expired server certificate, a name mismatch,
    /// no common protocol version).
    #[error("{url}: TLS: {reason}")]
    Tls {
        /// The URL being fetched.
        url: String,
        /// rustls' finding.
        reason: String,
    },
    /// The request did not complete: DNS, connection, timeout, protocol or I/O failure.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL being fetched.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with a status other than 2xx (or 404 where absence is allowed).
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL fetched.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// A file that must exist is absent (HTTP 404).
    #[error("{url}: not found (HTTP 404)")]
    NotFound {
        /// The URL fetched.
        url: String,
    },
    /// The response body is larger than the limit for this kind of file.
    #[error("{url}: response larger than {limit} bytes")]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The response is not what the protocol says it is (JSON, checkpoint, tile or metadata).
    #[error("{url}: malformed response: {reason}")]
    Malformed {
        /// The URL fetched.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The initial (pinned) root given by the caller does not parse as TUF root metadata.
    #[error("initial root: {reason}")]
    InitialRoot {
        /// What is wrong with it.
        reason: String,
    },
    /// The mirror's destination folder already holds files (stale metadata there would be
    /// read as part of the repository).
    #[error("{}: the mirror destination is not empty", path.display())]
    DestinationNotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// More than the allowed number of root versions follow the initial root.
    #[error("more than {limit} root versions after version {initial}")]
    TooManyRoots {
        /// The initial root's version.
        initial: u64,
        /// The limit.
        limit: u64,
    },
    /// A role or target name that cannot be used as a file name as-is.
    #[error("{what} name {name:?} is not a plain file name (only A-Z a-z 0-9 . _ ~ - allowed)")]
    UnsupportedName {
        /// `delegated role` or `target`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A required target is not listed in the targets metadata.
    #[error("target {name} is not listed in targets metadata")]
    TargetNotListed {
        /// The target name.
        name: String,
    },
    /// A downloaded target's SHA-256 differs from its listed hash.
    #[error("{url}: SHA-256 {actual} differs from the listed {expected}")]
    TargetDigest {
        /// The URL fetched.
        url: String,
        /// The hash targets metadata lists (hex).
        expected: String,
        /// The hash of what was downloaded (hex).
        actual: String,
    },
    /// A file could not be written to the mirror folder.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A consistency proof was asked from a tree size the log has not reached.
    #[error("{url}: tree size {from_size} is beyond the log's current size {size}")]
    SizeBeyondLog {
        /// The log URL.
        url: String,
        /// The size asked for.
        from_size: u64,
        /// The log's current size (its checkpoint's).
        size: u64,
    },
    /// What the log served disagrees with its own checkpoint (size or root hash).
    #[error("{url}: {reason}")]
    LogMismatch {
        /// The URL whose answer disagrees.
        url: String,
        /// What differs.
        reason: String,
    },
    /// What a TUF repository served does not verify from the initial root (a signature
    /// threshold not met, a version or listed hash that does not match, as tough checks them
    /// while mirroring).
    #[error("{url}: TUF: {reason}")]
    Tuf {
        /// The repository's metadata URL.
        url: String,
        /// tough's finding.
        reason: String,
    },
    /// A consistency proof did not verify.
    #[error("{url}: consistency proof {from_size} → {to_size} does not verify")]
    Proof {
        /// The log URL.
        url: String,
        /// The old tree size.
        from_size: u64,
        /// The new tree size.
        to_size: u64,
        /// The verifier's finding.
        #[source]
        source: ProofError,
    },
}
