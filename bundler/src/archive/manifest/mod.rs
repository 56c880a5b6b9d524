//! The manifest: what an archive claims to carry, signed by its publisher. Parsing checks
//! every rule a reader relies on, so a `Manifest` value is always self-consistent.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use airlock_trust_root::{ArtifactDigests, HashAlgorithm};

use super::digest::Sha256Digest;

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
    /// Always [`FORMAT_VERSION`].
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
/// proof holds its hashes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "wire::LogSnapshot")]
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

impl Serialize for LogSnapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut table = Vec::new();
        let mut positions = HashMap::new();
        let consistency = self
            .consistency
            .iter()
            .map(|proof| wire::ConsistencyProof {
                from_size: proof.from_size,
                to_size: proof.to_size,
                path: proof
                    .hashes
                    .iter()
                    .map(|hash| {
                        *positions.entry(hash).or_insert_with(|| {
                            table.push(*hash);
                            table.len() - 1
                        })
                    })
                    .collect(),
            })
            .collect();
        wire::LogSnapshotRef {
            origin: &self.origin,
            checkpoint: &self.checkpoint,
            hashes: &table,
            consistency,
        }
        .serialize(serializer)
    }
}

/// The wire form of [`LogSnapshot`].
mod wire {
    use std::collections::HashSet;
    use std::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize};

    use super::MAX_PROOF_HASHES;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct LogSnapshot {
        origin: String,
        checkpoint: String,
        #[serde(default, with = "super::hex_hashes")]
        hashes: Vec<[u8; 32]>,
        #[serde(default)]
        consistency: Vec<ConsistencyProof>,
    }

    #[derive(Serialize)]
    pub(super) struct LogSnapshotRef<'a> {
        pub(super) origin: &'a str,
        pub(super) checkpoint: &'a str,
        #[serde(with = "super::hex_hashes")]
        pub(super) hashes: &'a [[u8; 32]],
        pub(super) consistency: Vec<ConsistencyProof>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct ConsistencyProof {
        pub(super) from_size: u64,
        pub(super) to_size: u64,
        #[serde(deserialize_with = "bounded_path")]
        pub(super) path: Vec<usize>,
    }

    /// Counts the positions of every log's consistency paths, keeping nothing else.
    pub(super) fn count_positions(bytes: &[u8]) -> Result<usize, super::ManifestError> {
        #[derive(Deserialize)]
        struct Logs {
            #[serde(default)]
            logs: Vec<Log>,
        }
        #[derive(Deserialize)]
        struct Log {
            #[serde(default)]
            consistency: Vec<Proof>,
        }
        #[derive(Deserialize)]
        struct Proof {
            #[serde(default)]
            path: Count,
        }
        #[derive(Default)]
        struct Count(usize);
        impl<'de> Deserialize<'de> for Count {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Counter;
                impl<'de> Visitor<'de> for Counter {
                    type Value = Count;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a list of positions")
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                        let mut n = 0;
                        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                            n += 1;
                        }
                        Ok(Count(n))
                    }
                }
                d.deserialize_seq(Counter)
            }
        }
        let logs: Logs = serde_json::from_slice(bytes)
            .map_err(|e| super::ManifestError::Syntax(e.to_string()))?;
        Ok(logs
            .logs
            .iter()
            .flat_map(|log| &log.consistency)
            .map(|proof| proof.path.0)
            .fold(0, usize::saturating_add))
    }

    /// A path, refused as soon as it runs past [`MAX_PROOF_HASHES`] positions (each "0," of
    /// the text would otherwise become 8 bytes of memory).
    fn bounded_path<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<usize>, D::Error> {
        struct Path;
        impl<'de> Visitor<'de> for Path {
            type Value = Vec<usize>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "at most {MAX_PROOF_HASHES} positions in the log's hashes"
                )
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<usize>, A::Error> {
                let mut path = Vec::new();
                while let Some(position) = seq.next_element()? {
                    if path.len() == MAX_PROOF_HASHES {
                        return Err(serde::de::Error::custom(format!(
                            "a consistency proof's path has more than {MAX_PROOF_HASHES} positions"
                        )));
                    }
                    path.push(position);
                }
                Ok(path)
            }
        }
        d.deserialize_seq(Path)
    }

    impl TryFrom<LogSnapshot> for super::LogSnapshot {
        type Error = String;

        /// Resolves every path into its hashes. The table is canonical: each hash once, each
        /// used by some proof, so one set of proofs has one wire form.
        fn try_from(log: LogSnapshot) -> Result<Self, String> {
            let mut distinct = HashSet::with_capacity(log.hashes.len());
            if let Some(i) = log.hashes.iter().position(|h| !distinct.insert(h)) {
                return Err(format!(
                    "log {:?}: hashes[{i}] repeats an earlier hash",
                    log.origin
                ));
            }
            let mut used = vec![false; log.hashes.len()];
            let mut consistency = Vec::with_capacity(log.consistency.len());
            for (j, proof) in log.consistency.into_iter().enumerate() {
                let hashes = proof
                    .path
                    .iter()
                    .map(|&k| {
                        let hash = log.hashes.get(k).ok_or_else(|| {
                            format!(
                                "log {:?}: consistency[{j}] names hashes[{k}] of {}",
                                log.origin,
                                log.hashes.len()
                            )
                        })?;
                        used[k] = true;
                        Ok(*hash)
                    })
                    .collect::<Result<_, String>>()?;
                consistency.push(super::ConsistencyProof {
                    from_size: proof.from_size,
                    to_size: proof.to_size,
                    hashes,
                });
            }
            if let Some(i) = used.iter().position(|u| !u) {
                return Err(format!("log {:?}: no proof uses hashes[{i}]", log.origin));
            }
            Ok(Self {
                origin: log.origin,
                checkpoint: log.checkpoint,
                consistency,
            })
        }
    }
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

mod hex_hashes {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub(super) fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for h in v {
            seq.serialize_element(&hex::encode(h))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| {
                let bad = || {
                    serde::de::Error::custom(format!("not a 32-byte hash in lowercase hex: {s:?}"))
                };
                // `hex` accepts either case; the writer writes lowercase and readers accept only that.
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(bad());
                }
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
                Ok(out)
            })
            .collect()
    }
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        // The version decides the schema, so read it before anything else.
        let VersionOnly { version } =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        if version != FORMAT_VERSION {
            return Err(ManifestError::UnsupportedVersion { found: version });
        }
        // Every path position becomes a 32-byte hash (from as little as "0,"), so their number
        // is bounded before anything is built. Each takes two bytes at least (a digit, then
        // `,` or `]`): a payload of at most twice the bound cannot pass it, and is not counted.
        if bytes.len() > 2 * MAX_PROOF_POSITIONS
            && wire::count_positions(bytes)? > MAX_PROOF_POSITIONS
        {
            return Err(invalid(
                "logs",
                &format!("more than {MAX_PROOF_POSITIONS} positions in all consistency paths"),
            ));
        }
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Serializes the manifest (the exact bytes that get signed).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing these plain types cannot fail: every map key is a string. Compact, not
        // pretty: indentation was a quarter of a large manifest.
        serde_json::to_vec(self)
            .expect("invariant: a manifest serializes (derived and hand-written, string keys)")
    }

    /// The sum of all blob sizes.
    pub fn total_blob_size(&self) -> u64 {
        self.blobs
            .iter()
            .map(|b| b.size)
            .fold(0, u64::saturating_add)
    }

    /// Checks every rule `from_json` promises; writers call it before signing.
    pub fn check(&self) -> Result<(), ManifestError> {
        if self.version != FORMAT_VERSION {
            return Err(ManifestError::UnsupportedVersion {
                found: self.version,
            });
        }
        if self.archive_id.len() != 32
            || !self
                .archive_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("archive_id", "must be 32 lowercase hex digits"));
        }
        check_name("publisher.name", &self.publisher.name)?;
        if self.publisher.sequence > MAX_SEQUENCE {
            return Err(invalid(
                "publisher.sequence",
                "must be below 2^63 (sites store it as a signed 64-bit integer)",
            ));
        }
        if let Some(site) = &self.site {
            check_name("site", site)?;
        }
        if let Some(notes) = &self.notes
            && (notes.len() > MAX_NOTES_LEN || notes.chars().any(is_bad_control))
        {
            return Err(invalid(
                "notes",
                "must be at most 64 KiB without control characters other than newline and tab",
            ));
        }

        let mut blobs = BTreeMap::new();
        let mut total: u64 = 0;
        for blob in &self.blobs {
            if blobs.insert(blob.digest, (blob.size, false)).is_some() {
                return Err(ManifestError::DuplicateBlob(blob.digest));
            }
            total = total
                .checked_add(blob.size)
                .ok_or_else(|| invalid("blobs", "sizes overflow"))?;
        }
        // Marks `digest` as referred to and returns its size.
        let mut refer =
            |field: &dyn Fn() -> String, digest: &Sha256Digest| match blobs.get_mut(digest) {
                Some((size, seen)) => {
                    *seen = true;
                    Ok(*size)
                }
                None => Err(ManifestError::DanglingReference {
                    field: field(),
                    digest: *digest,
                }),
            };

        let mut names = HashSet::new();
        for (i, repo) in self.trust.iter().enumerate() {
            let field = format!("trust[{i}]");
            airlock_trust_root::RepositoryName::new(&repo.name)
                .map_err(|e| invalid(&format!("{field}.name"), &e.to_string()))?;
            if !names.insert(repo.name.as_str()) {
                return Err(invalid(
                    &format!("{field}.name"),
                    "repeats another repository",
                ));
            }
            for (list, files) in [("metadata", &repo.metadata), ("targets", &repo.targets)] {
                let mut paths = HashSet::new();
                for (j, file) in files.iter().enumerate() {
                    if !paths.insert(&file.path) {
                        return Err(invalid(
                            &format!("{field}.{list}[{j}].path"),
                            "repeats another file",
                        ));
                    }
                    refer(&|| format!("{field}.{list}[{j}]"), &file.digest)?;
                }
            }
        }

        let positions = self
            .logs
            .iter()
            .flat_map(|log| &log.consistency)
            .map(|proof| proof.hashes.len())
            .fold(0, usize::saturating_add);
        if positions > MAX_PROOF_POSITIONS {
            return Err(invalid(
                "logs",
                &format!("more than {MAX_PROOF_POSITIONS} positions in all consistency paths"),
            ));
        }
        let mut origins = HashSet::new();
        for (i, log) in self.logs.iter().enumerate() {
            let field = format!("logs[{i}]");
            if log.origin.is_empty()
                || log.origin.len() > MAX_NAME_LEN
                || log.origin.chars().any(char::is_control)
            {
                return Err(invalid(
                    &format!("{field}.origin"),
                    "must be 1..=255 bytes without control characters",
                ));
            }
            if !origins.insert(log.origin.as_str()) {
                return Err(invalid(&format!("{field}.origin"), "repeats another log"));
            }
            if log.checkpoint.len() > MAX_CHECKPOINT_LEN
                || log.checkpoint.contains('\r')
                || log.checkpoint.split('\n').next() != Some(log.origin.as_str())
            {
                return Err(invalid(
                    &format!("{field}.checkpoint"),
                    "must be at most 64 KiB without carriage returns and start with the origin line",
                ));
            }
            let mut from_sizes = HashSet::new();
            for (j, proof) in log.consistency.iter().enumerate() {
                let proof_field = format!("{field}.consistency[{j}]");
                if proof.from_size == 0 || proof.from_size >= proof.to_size {
                    return Err(invalid(
                        &proof_field,
                        "from_size must be greater than 0 and less than to_size",
                    ));
                }
                if !from_sizes.insert(proof.from_size) {
                    return Err(invalid(
                        &proof_field,
                        "repeats the from_size of another proof",
                    ));
                }
                if proof.hashes.len() > MAX_PROOF_HASHES {
                    return Err(invalid(&proof_field, "has more than 128 hashes"));
                }
            }
        }

        let mut artifact_names = HashSet::new();
        for (i, artifact) in self.artifacts.iter().enumerate() {
            let field = format!("artifacts[{i}]");
            check_name(&format!("{field}.name"), &artifact.name)?;
            if !artifact_names.insert(artifact.name.as_str()) {
                return Err(invalid(
                    &format!("{field}.name"),
                    "repeats another artifact",
                ));
            }
            if artifact.media_type.is_empty()
                || artifact.media_type.len() > MAX_NAME_LEN
                || !artifact.media_type.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(invalid(
                    &format!("{field}.media_type"),
                    "must be 1..=255 printable ASCII characters",
                ));
            }
            let mut paths = BTreeSet::new();
            let mut size: u64 = 0;
            for (j, file) in artifact.files.iter().enumerate() {
                if !paths.insert(file.path.as_str()) {
                    return Err(invalid(
                        &format!("{field}.files[{j}].path"),
                        "repeats another file",
                    ));
                }
                let blob_size = refer(&|| format!("{field}.files[{j}]"), &file.digest)?;
                size = size.saturating_add(blob_size);
            }
            match artifact.kind {
                ArtifactKind::File => {
                    let [file] = artifact.files.as_slice() else {
                        return Err(invalid(
                            &format!("{field}.files"),
                            "a file artifact has exactly one file",
                        ));
                    };
                    if file.path.as_str().contains('/') || file.digest != artifact.digest {
                        return Err(invalid(
                            &format!("{field}.files"),
                            "a file artifact's file is a plain name with the artifact's digest",
                        ));
                    }
                }
                ArtifactKind::OciImage => check_oci_layout(&field, artifact, &paths)?,
            }
            for (algorithm, hex) in artifact.other_digests.declared() {
                if hex.len() != 2 * algorithm.output_len()
                    || !hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(invalid(
                        &format!("{field}.other_digests.{}", algorithm.name()),
                        "must be the digest in lowercase hex",
                    ));
                }
            }
            if size != artifact.size {
                return Err(invalid(
                    &format!("{field}.size"),
                    &format!("is {} but its files add up to {size}", artifact.size),
                ));
            }
            let evidence = &artifact.evidence;
            for (list, digests) in [
                ("bundles", &evidence.bundles),
                ("attestations", &evidence.attestations),
                ("sboms", &evidence.sboms),
            ] {
                for (j, digest) in digests.iter().enumerate() {
                    refer(&|| format!("{field}.evidence.{list}[{j}]"), digest)?;
                }
            }
        }

        if let Some((digest, _)) = blobs.iter().find(|(_, (_, seen))| !*seen) {
            return Err(ManifestError::UnreferencedBlob(*digest));
        }
        Ok(())
    }
}

/// An image's files: `oci-layout`, `index.json` and `blobs/sha256/<hex>` files, each holding
/// the blob `<hex>` names, and nothing else; the artifact's digest is one of those blobs.
fn check_oci_layout(
    field: &str,
    artifact: &Artifact,
    paths: &BTreeSet<&str>,
) -> Result<(), ManifestError> {
    if !paths.contains("oci-layout") || !paths.contains("index.json") {
        return Err(invalid(
            &format!("{field}.files"),
            "an OCI image layout needs oci-layout and index.json",
        ));
    }
    let mut digest_found = false;
    for (j, file) in artifact.files.iter().enumerate() {
        let path = file.path.as_str();
        if path == "oci-layout" || path == "index.json" {
            continue;
        }
        let Some(named) = path
            .strip_prefix(OCI_BLOB_PREFIX)
            .and_then(|hex| Sha256Digest::from_hex(hex).ok())
        else {
            return Err(invalid(
                &format!("{field}.files[{j}].path"),
                "an OCI image layout holds only oci-layout, index.json and \
                 blobs/sha256/<64 lowercase hex>",
            ));
        };
        if named != file.digest {
            return Err(invalid(
                &format!("{field}.files[{j}].digest"),
                &format!("is {}, but its path names {named}", file.digest),
            ));
        }
        digest_found |= named == artifact.digest;
    }
    if !digest_found {
        return Err(invalid(
            &format!("{field}.digest"),
            "is not the digest of one of the image's blobs/sha256/ files",
        ));
    }
    Ok(())
}

fn invalid(field: &str, reason: &str) -> ManifestError {
    ManifestError::Invalid {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn is_bad_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

fn check_name(field: &str, name: &str) -> Result<(), ManifestError> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || name.chars().any(char::is_control)
        || name.trim() != name
    {
        return Err(invalid(
            field,
            "must be 1..=255 bytes, no control characters, no surrounding spaces",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(text: &str) -> Sha256Digest {
        Sha256Digest::of(text.as_bytes())
    }

    fn file(path: &str, digest: Sha256Digest) -> FileEntry {
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
    fn sample() -> Manifest {
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

    /// The field and reason of the `Invalid` error `manifest` fails with.
    fn invalid_in(manifest: &Manifest) -> (String, String) {
        match manifest.check() {
            Err(ManifestError::Invalid { field, reason }) => (field, reason),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_sample_is_valid_and_round_trips() {
        let manifest = sample();
        manifest.check().unwrap();
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
    }

    #[test]
    fn other_digests_must_be_lowercase_hex_of_their_length() {
        let mut manifest = sample();
        manifest.artifacts[0].other_digests.sha512 = Some("ab".repeat(64));
        manifest.check().unwrap();
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
        for bad in ["ab".repeat(63), "AB".repeat(64), "zz".repeat(64)] {
            manifest.artifacts[0].other_digests.sha512 = Some(bad);
            assert_eq!(
                invalid_in(&manifest),
                (
                    "artifacts[0].other_digests.sha512".to_owned(),
                    "must be the digest in lowercase hex".to_owned()
                )
            );
        }
        // Only SHA-384 and SHA-512 have a place.
        let json = String::from_utf8(sample().to_json()).unwrap().replace(
            "\"evidence\":",
            "\"other_digests\":{\"md5\":\"00\"},\"evidence\":",
        );
        assert!(matches!(
            Manifest::from_json(json.as_bytes()),
            Err(ManifestError::Syntax(_))
        ));
    }

    #[test]
    fn a_sequence_must_fit_a_signed_64_bit_integer() {
        let mut manifest = sample();
        manifest.publisher.sequence = MAX_SEQUENCE;
        manifest.check().unwrap();
        for sequence in [MAX_SEQUENCE + 1, u64::MAX] {
            manifest.publisher.sequence = sequence;
            assert_eq!(
                invalid_in(&manifest),
                (
                    "publisher.sequence".to_owned(),
                    "must be below 2^63 (sites store it as a signed 64-bit integer)".to_owned()
                ),
                "{sequence}"
            );
        }
    }

    #[test]
    fn an_image_digest_must_be_one_of_its_layout_blobs() {
        // index.json is the image's file, but not one of its blobs/sha256/ files.
        let mut manifest = sample();
        manifest.artifacts[0].digest = digest("index");
        assert_eq!(invalid_in(&manifest).0, "artifacts[0].digest");
    }

    #[test]
    fn a_layout_blob_path_must_name_its_digest() {
        let mut manifest = sample();
        manifest.artifacts[0].files[3].digest = digest("image");
        let (field, reason) = invalid_in(&manifest);
        assert_eq!(field, "artifacts[0].files[3].digest");
        assert!(reason.contains(&digest("layer").to_string()), "{reason}");

        let other_hex = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
        for path in [
            "manifest.json".to_owned(),
            format!("blobs/sha512/{other_hex}"),
            format!("blobs/sha256/{}", other_hex.to_uppercase()),
            format!("blobs/sha256/{other_hex}/x"),
            "blobs/sha256/ca97".to_owned(),
        ] {
            let mut manifest = sample();
            manifest.artifacts[0]
                .files
                .push(file(&path, digest("layer")));
            assert_eq!(
                invalid_in(&manifest).0,
                "artifacts[0].files[4].path",
                "{path}"
            );
        }
    }

    #[test]
    fn proofs_need_distinct_from_sizes_strictly_between_0_and_to_size() {
        let out_of_range = "from_size must be greater than 0 and less than to_size";
        for from_size in [0, 10, 11] {
            let mut manifest = sample();
            manifest.logs[0].consistency[0].from_size = from_size;
            assert_eq!(
                invalid_in(&manifest),
                ("logs[0].consistency[0]".to_owned(), out_of_range.to_owned()),
                "from_size {from_size}"
            );
        }
        // A repeated size is reported at the second proof with it.
        let mut manifest = sample();
        manifest.logs[0].consistency[0].from_size = 7;
        assert_eq!(
            invalid_in(&manifest),
            (
                "logs[0].consistency[1]".to_owned(),
                "repeats the from_size of another proof".to_owned()
            )
        );
    }

    #[test]
    fn proof_hashes_must_be_lowercase_hex() {
        let json = String::from_utf8(sample().to_json()).unwrap();
        let lower = "ab".repeat(32);
        assert!(json.contains(&lower));
        let upper = json.replace(&lower, &lower.to_uppercase());
        match Manifest::from_json(upper.as_bytes()) {
            Err(ManifestError::Syntax(message)) => {
                assert!(message.contains("lowercase hex"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The sample as a JSON value, changed by `edit`, parsed again.
    fn parse_edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Manifest, ManifestError> {
        let mut value: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        edit(&mut value);
        Manifest::from_json(&serde_json::to_vec(&value).unwrap())
    }

    fn syntax_error(result: Result<Manifest, ManifestError>) -> String {
        match result {
            Err(ManifestError::Syntax(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn proofs_share_one_table_of_hashes() {
        let mut manifest = sample();
        let proofs = &mut manifest.logs[0].consistency;
        proofs[0].hashes = vec![[0xab; 32], [0x01; 32]];
        proofs[1].hashes = vec![[0xab; 32], [0x02; 32], [0xab; 32]];
        let json: serde_json::Value = serde_json::from_slice(&manifest.to_json()).unwrap();
        let log = &json["logs"][0];
        let hex = |b: u8| hex::encode([b; 32]);
        assert_eq!(
            log["hashes"],
            serde_json::json!([hex(0xab), hex(0x01), hex(0x02)])
        );
        assert_eq!(log["consistency"][0]["path"], serde_json::json!([0, 1]));
        assert_eq!(log["consistency"][1]["path"], serde_json::json!([0, 2, 0]));
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
    }

    #[test]
    fn a_proof_path_must_name_hashes_of_the_table() {
        let message = syntax_error(parse_edited(|m| {
            m["logs"][0]["consistency"][1]["path"] = serde_json::json!([0, 2]);
        }));
        assert!(
            message.contains("consistency[1] names hashes[2] of 2"),
            "{message}"
        );

        let message = syntax_error(parse_edited(|m| {
            m["logs"][0]["consistency"][0]["path"] = serde_json::Value::from(vec![0; 129]);
        }));
        assert!(
            message.contains("a consistency proof's path has more than 128 positions"),
            "{message}"
        );
        // Exactly 128 positions are a path.
        let at_limit = parse_edited(|m| {
            m["logs"][0]["consistency"][0]["path"] = serde_json::Value::from(vec![0; 128]);
        });
        assert!(
            !matches!(at_limit, Err(ManifestError::Syntax(_))),
            "{at_limit:?}"
        );
    }

    #[test]
    fn the_table_holds_each_hash_once_and_only_hashes_a_proof_uses() {
        let message = syntax_error(parse_edited(|m| {
            let first = m["logs"][0]["hashes"][0].clone();
            m["logs"][0]["hashes"][1] = first;
        }));
        assert!(
            message.contains("hashes[1] repeats an earlier hash"),
            "{message}"
        );

        let message = syntax_error(parse_edited(|m| {
            let hashes = m["logs"][0]["hashes"].as_array_mut().unwrap();
            hashes.push(serde_json::json!("ef".repeat(32)));
        }));
        assert!(message.contains("no proof uses hashes[2]"), "{message}");
    }

    #[test]
    fn all_paths_together_are_bounded_before_they_are_resolved() {
        // 8,193 proofs of 128 positions each: one position too many, though every path is
        // within its own bound.
        let result = parse_edited(|m| {
            let proof = serde_json::json!({
                "from_size": 3, "to_size": 10, "path": serde_json::Value::from(vec![0; 128])
            });
            let mut proofs = vec![proof; MAX_PROOF_POSITIONS / 128];
            proofs.push(serde_json::json!({"from_size": 7, "to_size": 10, "path": [1]}));
            m["logs"][0]["consistency"] = serde_json::Value::from(proofs);
        });
        let too_many = ManifestError::Invalid {
            field: "logs".into(),
            reason: "more than 1048576 positions in all consistency paths".into(),
        };
        assert_eq!(result.unwrap_err(), too_many);
        // A writer's own check refuses the same.
        let mut manifest = sample();
        manifest.logs[0].consistency[0].hashes = vec![[0xab; 32]; MAX_PROOF_POSITIONS];
        assert_eq!(manifest.check().unwrap_err(), too_many);
    }

    #[test]
    fn the_writer_emits_compact_json() {
        let json = sample().to_json();
        assert!(!json.contains(&b'\n'), "{}", String::from_utf8_lossy(&json));
        assert!(!json.windows(2).any(|w| w == b": " || w == b", "));
    }

    #[test]
    fn a_checkpoint_must_not_contain_carriage_returns() {
        for checkpoint in [
            "log.example/1\r\n10\nAAAA\n\n\u{2014} log.example/1 c2ln\n",
            "log.example/1\n10\nAAAA\n\n\u{2014} log.example/1 c2ln\r\n",
        ] {
            let mut manifest = sample();
            manifest.logs[0].checkpoint = checkpoint.into();
            assert_eq!(invalid_in(&manifest).0, "logs[0].checkpoint");
        }
    }
}
