//! The testkit's error type.

/// Why minting a fixture or starting a loopback server failed.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// A DER structure could not be encoded or decoded.
    #[error("DER encoding of {what} failed")]
    Der {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's complaint.
        #[source]
        source: der::Error,
    },
    /// The CMS builder failed (its error type implements only `Debug`).
    #[error("CMS {what}: {detail}")]
    Cms {
        /// What was being built.
        what: &'static str,
        /// The builder's complaint.
        detail: String,
    },
    /// A signature could not be made.
    #[error("signing {what} failed")]
    Sign {
        /// What was being signed.
        what: &'static str,
        /// The signer's complaint.
        #[source]
        source: p256::ecdsa::Error,
    },
    /// A Merkle tree computation failed.
    #[error("Merkle tree: {what}")]
    Tlog {
        /// What was being computed.
        what: String,
        /// The tree library's complaint.
        #[source]
        source: tlog_tiles::Error,
    },
    /// A log index or tree size is out of range.
    #[error("log has {size} entries; {what} {asked} is out of range")]
    OutOfRange {
        /// What was asked for ("index", "tree size").
        what: &'static str,
        /// The value asked for.
        asked: u64,
        /// The log's current size.
        size: u64,
    },
    /// A signed note or checkpoint could not be formed.
    #[error("signed note: {0}")]
    Note(String),
    /// A value supplied to the kit is not usable.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The parameter.
        what: &'static str,
        /// Why it was rejected.
        detail: String,
    },
    /// JSON serialisation failed.
    #[error("JSON encoding of {what} failed")]
    Json {
        /// What was being encoded.
        what: &'static str,
        /// serde_json's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// TUF repository editing failed.
    #[error("TUF repository: {what}")]
    Tuf {
        /// The step that failed.
        what: String,
        /// tough's complaint.
        #[source]
        source: Box<tough::error::Error>,
    },
    /// File or socket I/O failed.
    #[error("I/O on {what}")]
    Io {
        /// The file, directory or socket.
        what: String,
        /// The OS complaint.
        #[source]
        source: std::io::Error,
    },
    /// TLS configuration failed.
    #[error("TLS configuration")]
    Tls(#[source] rustls::Error),
}

/// Result with [`KitError`].
pub type Result<T, E = KitError> = std::result::Result<T, E>;

/// Shorthand for wrapping a [`der::Error`].
pub(crate) fn der_err(what: &'static str) -> impl FnOnce(der::Error) -> KitError {
    move |source| KitError::Der { what, source }
}

/// Shorthand for wrapping a JSON error.
pub(crate) fn json_err(what: &'static str) -> impl FnOnce(serde_json::Error) -> KitError {
    move |source| KitError::Json { what, source }
}
