//! `ArchiveError`: every way writing or reading an archive can fail, each naming what failed.

use std::path::PathBuf;

use super::digest::Sha256Digest;
use super::manifest::ManifestError;
use crate::keys::KeyId;

/// Why an archive could not be written or was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The input is not a zstd stream, or the stream is corrupt.
    #[error("compressed stream: {0}")]
    Compression(String),
    /// The zstd frame needs a larger window than readers allow.
    #[error("zstd window larger than 2^{limit_log} bytes")]
    WindowTooLarge {
        /// log2 of the largest window allowed.
        limit_log: u32,
    },
    /// The zstd frame does not carry a content checksum (writers always set one).
    #[error("zstd frame has no content checksum")]
    NoContentChecksum,
    /// Bytes after the archive's single zstd frame.
    #[error("trailing data after the compressed archive")]
    TrailingData,
    /// The decompressed stream is longer than the manifest accounts for.
    #[error("decompressed size exceeds the {limit} bytes the manifest accounts for")]
    DecompressedTooLarge {
        /// The bound.
        limit: u64,
    },
    /// The stream ended early (inside an entry, or before the end-of-archive blocks).
    #[error("archive is truncated: {0}")]
    Truncated(&'static str),
    /// A tar header that is not a valid ustar header.
    #[error("tar header at byte {offset}: {reason}")]
    BadHeader {
        /// Offset of the header in the decompressed stream.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The first entry is not `manifest.dsse.json`.
    #[error("first entry is {found:?}, not manifest.dsse.json")]
    FirstEntryNotManifest {
        /// The first entry's path.
        found: String,
    },
    /// The envelope is larger than readers accept.
    #[error("manifest envelope is {size} bytes (at most {limit})")]
    EnvelopeTooLarge {
        /// Its size.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// The envelope carries more signatures than readers accept.
    #[error("manifest envelope has {count} signatures (at most {limit})")]
    TooManySignatures {
        /// How many it carries.
        count: usize,
        /// The bound.
        limit: usize,
    },
    /// The envelope is not a DSSE envelope.
    #[error("manifest envelope: {0}")]
    BadEnvelope(String),
    /// The envelope's payload type is not the manifest's.
    #[error("manifest envelope has payload type {0:?}")]
    WrongPayloadType(String),
    /// No signature by any trusted publisher key.
    #[error("manifest is not signed by a trusted publisher key (signed by: {})",
        if key_ids.is_empty() { "nobody".to_owned() } else { key_ids.join(", ") })]
    UnknownSigner {
        /// The key ids the envelope names.
        key_ids: Vec<String>,
    },
    /// A signature under a trusted key id that does not verify.
    #[error("manifest signature by key {key_id} does not verify")]
    BadSignature {
        /// The key.
        key_id: KeyId,
    },
    /// Fewer trusted signatures than required.
    #[error("manifest has {valid} trusted signature(s), {required} required")]
    ThresholdNotMet {
        /// Valid trusted signatures found.
        valid: usize,
        /// Required.
        required: usize,
    },
    /// A threshold that no key set can meet.
    #[error("threshold {threshold} with {keys} distinct key(s)")]
    BadThreshold {
        /// The threshold asked for.
        threshold: usize,
        /// The number of distinct keys.
        keys: usize,
    },
    /// The manifest breaks a rule.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A link, device, directory or other non-regular entry.
    #[error("entry {path:?} is not a regular file (tar type {kind:?})")]
    NotRegularFile {
        /// The entry's path.
        path: String,
        /// The tar type flag.
        kind: char,
    },
    /// A non-zero byte in the padding after an entry's data.
    #[error("entry {path:?}: padding byte at {offset} is not zero")]
    BadPadding {
        /// The entry's path.
        path: String,
        /// Offset of the first non-zero padding byte in the decompressed stream.
        offset: u64,
    },
    /// A path other than `manifest.dsse.json` (first) and `blobs/sha256/<hex>`.
    #[error("entry {0:?} is not allowed (only blobs/sha256/<64 lowercase hex>)")]
    BadPath(String),
    /// The same path twice.
    #[error("entry {0:?} appears twice")]
    DuplicateEntry(String),
    /// A blob the manifest does not list.
    #[error("blob {0} is not listed in the manifest")]
    UnlistedBlob(Sha256Digest),
    /// Blobs the manifest lists that the archive lacks.
    #[error("{count} blob(s) listed in the manifest are missing, e.g. {first}")]
    MissingBlobs {
        /// How many.
        count: usize,
        /// One of them.
        first: Sha256Digest,
    },
    /// An entry whose size differs from the manifest's.
    #[error("blob {digest}: {found} bytes, the manifest says {listed}")]
    SizeMismatch {
        /// The blob.
        digest: Sha256Digest,
        /// Size in the manifest.
        listed: u64,
        /// Size in the tar header.
        found: u64,
    },
    /// An entry whose bytes do not hash to its name.
    #[error("blob {expected}: content hashes to {actual}")]
    DigestMismatch {
        /// The digest the path names.
        expected: Sha256Digest,
        /// The digest of the bytes read.
        actual: Sha256Digest,
    },
    /// An artifact's blob whose bytes do not hash to a digest the manifest declares for it
    /// by another algorithm (`other_digests`).
    #[error("blob {blob}: its {algorithm} is {actual}, the manifest declares {expected}")]
    OtherDigestMismatch {
        /// The blob (the artifact's `digest`).
        blob: Sha256Digest,
        /// `sha384` or `sha512`.
        algorithm: &'static str,
        /// The declared digest (hex).
        expected: String,
        /// The digest of the bytes read (hex).
        actual: String,
    },
    /// A source file changed between hashing and archiving.
    #[error("{path}: changed while the archive was written")]
    SourceChanged {
        /// The file.
        path: PathBuf,
    },
    /// The staging folder already exists.
    #[error("staging folder {0} already exists")]
    StagingExists(PathBuf),
    /// Output parts: a bad size, or too many parts.
    #[error("output parts: {0}")]
    Parts(String),
}

impl ArchiveError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
