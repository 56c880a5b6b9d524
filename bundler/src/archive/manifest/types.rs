//! The manifest's types as they are in memory: every proof holds its hashes, every name and
//! path is as the archive gives it. Only a [`RelativePath`] checks itself when built; the rest
//! are checked together (`Manifest::check`, in `check`), as the rules cross-reference.

use std::fmt;

use airlock_trust_root::{ArtifactDigests, HashAlgorithm};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::MAX_PATH_LEN;
use crate::archive::digest::Sha256Digest;

/// A relative path: `/`-separated components of `[A-Za-z0-9._+-]`, none empty, `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RelativePath(String);

impl RelativePath {
    /// Checks `path`.
    pub fn new(path: &str) -> Result<Self, String> {
        if path.is_empty() || path.len() > MAX_PATH_LEN {
            return Err(format!("path must be 1..={MAX_PATH_LEN} bytes"));
        }
        for component in path.split('/') {
            if component.is_empty() || component == "." || component == ".." {
                return Err(format!("path {path:?} has an empty, `.` or `..` component"));
            }
            if !component
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
            {
                return Err(format!(
                    "path {path:?} may only use letters, digits, `.`, `_`, `+`, `-` and `/`"
                ));
            }
        }
        Ok(Self(path.to_owned()))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RelativePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RelativePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A manifest: the signed statement of what an archive carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`super::FORMAT_VERSION`].
    pub version: u32,
    /// 32 lowercase hex digits, random per archive.
    pub archive_id: String,
    /// When the publisher created the archive.
    pub created_at: DateTime<Utc>,
    /// Who published it, and their sequence number.
    pub publisher: Publisher,
    /// The site the archive is meant for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Free text for the receiving operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// TUF repositories carrying Sigstore trust data.
    #[serde(default)]
    pub trust: Vec<TrustRepository>,
    /// Transparency-log checkpoints and consistency proofs.
    #[serde(default)]
    pub logs: Vec<LogSnapshot>,
    /// The artifacts and their evidence.
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// Every blob in the archive, in archive order.
    pub blobs: Vec<BlobEntry>,
}

/// The publisher and its monotonically increasing sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publisher {
    /// The publisher's name.
    pub name: String,
    /// Higher than every earlier archive of this publisher; sites refuse ones they have seen.
    pub sequence: u64,
}

/// A TUF repository, as files (metadata and targets) stored as blobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRepository {
    /// The repository's name (e.g. `sigstore-public-good`).
    pub name: String,
    /// Metadata files by name (`N.root.json`, `timestamp.json`, `N.snapshot.json`, …).
    pub metadata: Vec<FileEntry>,
    /// Target files by their name in the targets folder (`<sha256>.trusted_root.json`, …).
    pub targets: Vec<FileEntry>,
}

/// A named file whose bytes are a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Where the file goes, relative to its folder.
    pub path: RelativePath,
    /// The blob holding its bytes.
    pub digest: Sha256Digest,
}

/// A transparency log's checkpoint at export time and proofs that it extends earlier ones.
///
/// On the wire the proofs share one table of hashes (`hashes`) and each lists its own as
/// positions in it (`path`): proofs from many sizes to one head repeat most of their nodes,
/// and 10,000 of them carried as lists of hashes were half of a 20 MB manifest. In memory every
/// proof holds its hashes (`wire` has both serde forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSnapshot {
    /// The log's origin (the checkpoint's first line).
    pub origin: String,
    /// The signed checkpoint, as served (C2SP signed-note text).
    pub checkpoint: String,
    /// Consistency proofs from earlier tree sizes to the checkpoint's size.
    pub consistency: Vec<ConsistencyProof>,
}

/// An RFC 6962 consistency proof between two tree sizes of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The earlier size.
    pub from_size: u64,
    /// The later size (the checkpoint's).
    pub to_size: u64,
    /// The proof's hashes.
    pub hashes: Vec<[u8; 32]>,
}

/// What kind of thing an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// A single file.
    File,
    /// An OCI image layout folder.
    OciImage,
}

/// One artifact: its bytes (as files) and the evidence about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// The artifact's name, unique in the archive.
    pub name: String,
    /// File or OCI image layout.
    pub kind: ArtifactKind,
    /// The digest signatures refer to: the file's, or the image manifest's.
    pub digest: Sha256Digest,
    /// Total bytes of its files.
    pub size: u64,
    /// Media type (the file's, or the image manifest's).
    pub media_type: String,
    /// Its files: one for `file`; the layout (`oci-layout`, `index.json`, `blobs/…`) for images.
    pub files: Vec<FileEntry>,
    /// Sigstore bundles, attestation bundles and SBOMs about it.
    #[serde(default)]
    pub evidence: Evidence,
    /// Its digests by other SHA-2 algorithms, when its evidence names it by them.
    #[serde(default, skip_serializing_if = "OtherDigests::is_empty")]
    pub other_digests: OtherDigests,
}

impl Artifact {
    /// The artifact's digests as the verifier takes them: its SHA-256 and the others declared
    /// (which the reader checks against the artifact's bytes).
    pub fn verifier_digests(&self) -> ArtifactDigests {
        let mut digests = ArtifactDigests {
            sha256: *self.digest.as_bytes(),
            sha384: None,
            sha512: None,
        };
        if let Some(hex) = &self.other_digests.sha384 {
            digests.sha384 = decode_hex(hex);
        }
        if let Some(hex) = &self.other_digests.sha512 {
            digests.sha512 = decode_hex(hex);
        }
        digests
    }
}

fn decode_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok().map(|()| out)
}

/// An artifact's digests by SHA-2 algorithms other than SHA-256 (lowercase hex). `create`
/// records one when the artifact's evidence names the artifact by it (an in-toto subject with
/// only `sha512`, as npm provenance has; a hashedrekord entry that logged `sha384`), so the
/// site can check that evidence without the artifact's bytes at hand; the reader checks each
/// against the bytes of the blob named by the artifact's `digest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherDigests {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha384: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha512: Option<String>,
}

impl OtherDigests {
    pub fn is_empty(&self) -> bool {
        self.sha384.is_none() && self.sha512.is_none()
    }

    /// Each declared digest with its algorithm.
    pub fn declared(&self) -> impl Iterator<Item = (HashAlgorithm, &str)> {
        [
            (HashAlgorithm::Sha384, &self.sha384),
            (HashAlgorithm::Sha512, &self.sha512),
        ]
        .into_iter()
        .filter_map(|(algorithm, hex)| Some((algorithm, hex.as_deref()?)))
    }

    /// Records `digest` under `algorithm` (SHA-256 is the artifact's own `digest`).
    pub fn set(&mut self, algorithm: HashAlgorithm, digest: &[u8]) {
        match algorithm {
            HashAlgorithm::Sha256 => {}
            HashAlgorithm::Sha384 => self.sha384 = Some(hex::encode(digest)),
            HashAlgorithm::Sha512 => self.sha512 = Some(hex::encode(digest)),
        }
    }
}

/// Evidence about an artifact, each a blob.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Sigstore bundles signing the artifact itself.
    #[serde(default)]
    pub bundles: Vec<Sha256Digest>,
    /// Sigstore bundles carrying DSSE attestations (SLSA provenance, SBOM attestations).
    #[serde(default)]
    pub attestations: Vec<Sha256Digest>,
    /// SBOM documents (CycloneDX or SPDX JSON).
    #[serde(default)]
    pub sboms: Vec<Sha256Digest>,
    /// Signatures over a payload that names the artifact rather than over the artifact:
    /// cosign's simple signing (`sha256-<hex>.sig`). Absent when empty, so archives without
    /// any read as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_payloads: Vec<SignedPayload>,
}

impl Evidence {
    /// Every evidence blob, in the manifest's order: bundles, attestations, SBOMs, then each
    /// signed payload's bundle and payload.
    pub fn blobs(&self) -> impl Iterator<Item = &Sha256Digest> {
        self.bundles
            .iter()
            .chain(&self.attestations)
            .chain(&self.sboms)
            .chain(
                self.signed_payloads
                    .iter()
                    .flat_map(|s| [&s.bundle, &s.payload]),
            )
    }

    /// Whether any Sigstore bundle is carried (signature, attestation or signed payload).
    pub fn has_bundles(&self) -> bool {
        !self.bundles.is_empty()
            || !self.attestations.is_empty()
            || !self.signed_payloads.is_empty()
    }
}

/// A Sigstore bundle that signs `payload`, a blob naming the artifact: a cosign
/// simple-signing payload, whose `critical.image.docker-manifest-digest` must be the
/// artifact's digest ([`crate::check::payload_names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedPayload {
    /// The Sigstore bundle, verified against the payload's bytes.
    pub bundle: Sha256Digest,
    /// The payload it signs.
    pub payload: Sha256Digest,
}

/// A blob in the archive: `blobs/sha256/<hex>`, `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobEntry {
    /// The blob's digest (and path).
    pub digest: Sha256Digest,
    /// Its exact size.
    pub size: u64,
}

impl Manifest {
    /// The sum of all blob sizes.
    pub fn total_blob_size(&self) -> u64 {
        self.blobs
            .iter()
            .map(|b| b.size)
            .fold(0, u64::saturating_add)
    }
}
