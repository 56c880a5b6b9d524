//! The `.airlock.tar.zst` archive format (specified in `docs/format.md`): a zstd-compressed
//! tar whose first entry is a DSSE-signed manifest and whose other entries are
//! content-addressed blobs.

mod digest;
mod entry;
mod envelope;
mod error;
mod manifest;
mod parts;
mod reader;
mod writer;

pub use digest::{BadDigest, Sha256Digest};
pub use entry::{BLOB_PREFIX, MANIFEST_ENTRY, blob_path};
pub use envelope::{MAX_ENVELOPE_SIZE, MAX_SIGNATURES, PublisherKeys, sign_manifest};
pub use error::ArchiveError;
pub use manifest::{
    Artifact, ArtifactKind, BlobEntry, ConsistencyProof, Evidence, FORMAT_VERSION, FileEntry,
    LogSnapshot, MANIFEST_PAYLOAD_TYPE, MAX_SEQUENCE, Manifest, ManifestError, OtherDigests,
    Publisher, RelativePath, SignedPayload, TrustRepository,
};
pub use parts::{ArchiveParts, MAX_PARTS, PartReader, part_path};
pub use reader::{
    MAX_WINDOW_LOG, OpenedManifest, Progress, ReadObserver, StagedArchive, WHOLE_BLOB_SIZE,
    read_archive, read_archive_from, read_manifest, read_staged_blob,
};
pub use writer::{BlobSource, MAX_LEVEL, PlannedBlob, WriteOptions, write_archive};
