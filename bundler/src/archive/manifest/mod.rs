//! The manifest: what an archive claims to carry, signed by its publisher. Parsing checks
//! every rule a reader relies on, so a `Manifest` value is always self-consistent.
//!
//! `types`: the in-memory types. `wire`: their JSON form (`Manifest::from_json`,
//! `Manifest::to_json`), in which a log's proofs share one table of hashes, resolved while
//! parsing. `check`: every cross-reference and bound (`Manifest::check`), which parsing runs
//! and writers call before signing. Here: the format's constants and [`ManifestError`].

mod check;
mod types;
mod wire;

use super::digest::Sha256Digest;

pub use types::{
    Artifact, ArtifactKind, BlobEntry, ConsistencyProof, Evidence, FileEntry, LogSnapshot,
    Manifest, OtherDigests, Publisher, RelativePath, SignedPayload, TrustRepository,
};

/// The DSSE payload type of a version-1 manifest.
pub const MANIFEST_PAYLOAD_TYPE: &str = "application/vnd.airlock.manifest.v1+json";
/// What comes before the version number in a manifest payload type.
pub(crate) const PAYLOAD_TYPE_PREFIX: &str = "application/vnd.airlock.manifest.v";
/// What comes after it.
pub(crate) const PAYLOAD_TYPE_SUFFIX: &str = "+json";
/// The manifest format version this code writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The largest publisher sequence number: what a site's database (SQLite, signed 64-bit
/// integers) can hold.
pub const MAX_SEQUENCE: u64 = i64::MAX as u64;
/// Longest artifact, publisher, site or repository name, in bytes.
const MAX_NAME_LEN: usize = 255;
/// Longest relative path (OCI layout paths, TUF file names), in bytes.
const MAX_PATH_LEN: usize = 1024;
/// Longest notes field, in bytes.
const MAX_NOTES_LEN: usize = 64 * 1024;
/// Longest checkpoint (a signed note), in bytes.
const MAX_CHECKPOINT_LEN: usize = 64 * 1024;
/// Most hashes in one consistency proof (a tree of 2^64 leaves needs at most 128).
const MAX_PROOF_HASHES: usize = 128;
/// Most positions in all the consistency paths of a manifest: 32 MiB of hashes once resolved.
/// 10,000 individually logged artifacts need about 136,000.
const MAX_PROOF_POSITIONS: usize = 1 << 20;
/// The folder of an OCI image layout's blobs, as `create` carries them.
const OCI_BLOB_PREFIX: &str = "blobs/sha256/";

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the manifest's shape.
    #[error("manifest is not valid: {0}")]
    Syntax(String),
    /// A `version` this code does not implement.
    #[error("manifest version {found} is not supported (this reader implements {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// A field breaks a rule (too long, empty, bad characters, inconsistent).
    #[error("manifest field {field}: {reason}")]
    Invalid {
        /// Which field, e.g. `artifacts[2].name`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The same blob listed twice.
    #[error("manifest lists blob {0} twice")]
    DuplicateBlob(Sha256Digest),
    /// A digest referenced by an artifact, trust file or evidence that is not in `blobs`.
    #[error("{field} refers to {digest}, which is not in blobs")]
    DanglingReference {
        /// The referring field.
        field: String,
        /// The digest.
        digest: Sha256Digest,
    },
    /// A blob nothing refers to.
    #[error("blob {0} is listed but nothing refers to it")]
    UnreferencedBlob(Sha256Digest),
}

/// A [`ManifestError::Invalid`] naming `field`.
fn invalid(field: &str, reason: &str) -> ManifestError {
    ManifestError::Invalid {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    //! The sample manifest the submodules' tests edit, and its round trip.

    use chrono::DateTime;

    use super::*;

    pub(super) fn digest(text: &str) -> Sha256Digest {
        Sha256Digest::of(text.as_bytes())
    }

    pub(super) fn file(path: &str, digest: Sha256Digest) -> FileEntry {
        FileEntry {
            path: RelativePath::new(path).unwrap(),
            digest,
        }
    }

    fn layout_blob(digest: Sha256Digest) -> FileEntry {
        file(&format!("blobs/sha256/{}", digest.hex()), digest)
    }

    /// A valid manifest: a log with two proofs, an OCI image signed by its image manifest.
    /// Blob contents are the texts hashed, so sizes are their lengths.
    pub(super) fn sample() -> Manifest {
        let texts = ["oci-layout", "index", "image", "layer"];
        Manifest {
            version: FORMAT_VERSION,
            archive_id: "0123456789abcdef0123456789abcdef".into(),
            created_at: DateTime::from_timestamp(1_795_003_200, 0).unwrap(),
            publisher: Publisher {
                name: "release-team".into(),
                sequence: 7,
            },
            site: None,
            notes: None,
            trust: vec![],
            logs: vec![LogSnapshot {
                origin: "log.example/1".into(),
                checkpoint: "log.example/1\n10\nAAAA\n\n\u{2014} log.example/1 c2ln\n".into(),
                consistency: vec![
                    ConsistencyProof {
                        from_size: 3,
                        to_size: 10,
                        hashes: vec![[0xab; 32]],
                    },
                    ConsistencyProof {
                        from_size: 7,
                        to_size: 10,
                        hashes: vec![[0xcd; 32]],
                    },
                ],
            }],
            artifacts: vec![Artifact {
                name: "image".into(),
                kind: ArtifactKind::OciImage,
                digest: digest("image"),
                size: texts.iter().map(|t| t.len() as u64).sum(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                files: vec![
                    file("oci-layout", digest("oci-layout")),
                    file("index.json", digest("index")),
                    layout_blob(digest("image")),
                    layout_blob(digest("layer")),
                ],
                evidence: Evidence::default(),
                other_digests: Default::default(),
            }],
            blobs: texts
                .iter()
                .map(|t| BlobEntry {
                    digest: digest(t),
                    size: t.len() as u64,
                })
                .collect(),
        }
    }

    #[test]
    fn the_sample_is_valid_and_round_trips() {
        let manifest = sample();
        manifest.check().unwrap();
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
    }
}
