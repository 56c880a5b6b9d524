//! Image manifests and indexes as the OCI image spec (and Docker's v2 schema 2) write them,
//! and the walk from a signed manifest or index down to every document, config and layer it
//! names: indexes nested at most [`MAX_INDEX_DEPTH`] deep, never through themselves, each
//! document read once however many indexes name it, every descriptor's size checked. One
//! walk for both sides: the bundler's pull fetches each document from the registry, the
//! site reads it from the archive, so what `create` collects whole the site checks whole.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::archive::Sha256Digest;

/// Why a walk stopped: the document or descriptor at fault. (The fetcher's own errors pass
/// through as they are.)
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// A document that is not a manifest or index this walk reads.
    #[error("{what}: {reason}")]
    Malformed {
        /// Which document.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// An index that names itself, directly or below.
    #[error("index loop: {digest} is named again inside itself")]
    IndexLoop {
        /// The repeated digest.
        digest: Sha256Digest,
    },
    /// Indexes nested deeper than the limit.
    #[error("index {digest} is nested deeper than {limit} levels of indexes")]
    IndexTooDeep {
        /// The index too deep.
        digest: Sha256Digest,
        /// The limit.
        limit: usize,
    },
    /// A document that is not the size its descriptor gives.
    #[error("{what}: size mismatch (expected {expected} bytes, received {actual})")]
    SizeMismatch {
        /// The document.
        what: String,
        /// The descriptor's size.
        expected: u64,
        /// Its size.
        actual: u64,
    },
}

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's image manifest (v2 schema 2), read like OCI's.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list, read like an OCI index.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A document as served: its bytes and the `Content-Type` it came with (if known).
pub type Served = (Vec<u8>, Option<String>);

/// The largest manifest or index read, at either side.
pub const MAX_DOCUMENT: u64 = 4 << 20;

/// Indexes inside indexes, at most this deep (the signed index is level 1).
pub const MAX_INDEX_DEPTH: usize = 4;

/// A content descriptor.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// Its annotations (cosign's legacy layers carry their signature material here).
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// A descriptor's platform.
#[derive(Debug, Clone, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// `os/architecture[/variant]`.
    pub fn name(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{v}", self.os, self.architecture),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// Whether `wanted` (`os/arch` or `os/arch/variant`) names this platform.
    pub fn matches(&self, wanted: &str) -> bool {
        let mut parts = wanted.split('/');
        let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
        os == Some(self.os.as_str())
            && arch == Some(self.architecture.as_str())
            && variant.is_none_or(|v| self.variant.as_deref() == Some(v))
    }
}

/// Any manifest or index: the fields pulling reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    #[serde(default)]
    schema_version: Option<u64>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Manifest,
    Index,
}

impl Document {
    /// Parses a manifest or index; `content_type` is what it was served as.
    pub fn parse(
        bytes: &[u8],
        content_type: Option<&str>,
        what: &str,
    ) -> Result<(Self, Kind, String), OciError> {
        let malformed = |reason: String| OciError::Malformed {
            what: what.to_owned(),
            reason,
        };
        let doc: Document = serde_json::from_slice(bytes)
            .map_err(|e| malformed(format!("not JSON of a manifest: {e}")))?;
        if doc.schema_version != Some(2) {
            return Err(malformed(format!(
                "schemaVersion is {}, not 2 (Docker schema 1 manifests are not pulled)",
                doc.schema_version
                    .map_or_else(|| "missing".to_owned(), |v| v.to_string())
            )));
        }
        let media_type = doc
            .media_type
            .clone()
            .or_else(|| {
                content_type
                    .map(|c| c.split(';').next().unwrap_or(c).trim().to_owned())
                    .filter(|c| {
                        c == OCI_MANIFEST
                            || c == OCI_INDEX
                            || c == DOCKER_MANIFEST
                            || c == DOCKER_LIST
                    })
            })
            .unwrap_or_else(|| {
                if doc.config.is_some() {
                    OCI_MANIFEST.to_owned()
                } else {
                    OCI_INDEX.to_owned()
                }
            });
        let kind = match media_type.as_str() {
            OCI_MANIFEST | DOCKER_MANIFEST => Kind::Manifest,
            OCI_INDEX | DOCKER_LIST => Kind::Index,
            other => {
                return Err(malformed(format!(
                    "media type {other:?} is not an image manifest or index"
                )));
            }
        };
        match kind {
            Kind::Manifest if doc.config.is_none() => {
                return Err(malformed("an image manifest without a config".to_owned()));
            }
            Kind::Index if doc.config.is_some() || !doc.layers.is_empty() => {
                return Err(malformed("an index with a config or layers".to_owned()));
            }
            _ => {}
        }
        Ok((doc, kind, media_type))
    }
}

impl Document {
    /// An OCI layout's `index.json`: an index (schema version 2, no config or layers).
    pub fn layout_index(bytes: &[u8]) -> Result<Self, OciError> {
        let what = "index.json";
        match Self::parse(bytes, Some(OCI_INDEX), what)? {
            (doc, Kind::Index, _) => Ok(doc),
            (_, Kind::Manifest, media_type) => Err(OciError::Malformed {
                what: what.to_owned(),
                reason: format!("a manifest ({media_type}), not an index"),
            }),
        }
    }
}

impl Descriptor {
    /// The descriptor's digest, which must be SHA-256.
    pub fn sha256(&self, what: &str) -> Result<Sha256Digest, OciError> {
        self.digest.parse().map_err(|_| OciError::Malformed {
            what: what.to_owned(),
            reason: format!(
                "refers to {:?}, which is not a sha256 digest (sha256:<64 lowercase hex>)",
                self.digest
            ),
        })
    }
}

/// A blob an image needs, from its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub digest: Sha256Digest,
    pub size: u64,
    pub media_type: String,
}

/// A manifest or index read during the walk, with its bytes.
#[derive(Debug, Clone)]
pub struct Held {
    pub digest: Sha256Digest,
    pub bytes: Vec<u8>,
}

/// A manifest or index the walk read: its bytes and its media type (its own field, else as
/// served or named, else OCI's by its shape).
#[derive(Debug, Clone)]
pub struct WalkedDocument {
    /// Its digest.
    pub digest: Sha256Digest,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its media type.
    pub media_type: String,
}

/// Everything an image is made of.
#[derive(Debug, Clone)]
pub struct Walked {
    /// What is packed and signed: the root (or the one platform manifest selected).
    pub digest: Sha256Digest,
    /// Its media type and size.
    pub media_type: String,
    pub size: u64,
    /// Every manifest and index, the root first.
    pub documents: Vec<WalkedDocument>,
    /// Every config and layer, each once, in the order first met.
    pub blobs: Vec<BlobRef>,
    /// The platforms of the manifests kept (empty for a single manifest).
    pub platforms: Vec<String>,
}

/// Walks the image from `root` (served as `root_content_type`, if known) to every document,
/// config and layer; `fetch` reads a document by digest, checked to hash to it.
pub fn walk<E: From<OciError>>(
    root: Held,
    root_content_type: Option<&str>,
    fetch: &mut dyn FnMut(&Sha256Digest) -> Result<Served, E>,
) -> Result<Walked, E> {
    let what = format!("manifest {}", root.digest);
    let (_, _, media_type) = Document::parse(&root.bytes, root_content_type, &what)?;
    let mut walked = Walked {
        digest: root.digest,
        media_type,
        size: root.bytes.len() as u64,
        documents: Vec::new(),
        blobs: Vec::new(),
        platforms: Vec::new(),
    };
    let mut seen = Seen::default();
    visit(root, root_content_type, 0, &mut seen, &mut walked, fetch)?;
    Ok(walked)
}

/// What the walk has met: the indexes it is inside (loops), the documents it has read (each
/// is read once, however many indexes name it: a registry cannot make a few documents
/// into exponential work), and the blobs it has listed.
#[derive(Default)]
struct Seen {
    path: Vec<Sha256Digest>,
    /// Each document read, with its size.
    documents: HashMap<Sha256Digest, u64>,
    blobs: HashSet<Sha256Digest>,
}

fn visit<E: From<OciError>>(
    held: Held,
    content_type: Option<&str>,
    depth: usize,
    seen: &mut Seen,
    walked: &mut Walked,
    fetch: &mut dyn FnMut(&Sha256Digest) -> Result<Served, E>,
) -> Result<(), E> {
    let what = format!("manifest {}", held.digest);
    let (doc, kind, media_type) = Document::parse(&held.bytes, content_type, &what)?;
    let digest = held.digest;
    if seen
        .documents
        .insert(digest, held.bytes.len() as u64)
        .is_none()
    {
        walked.documents.push(WalkedDocument {
            digest,
            bytes: held.bytes,
            media_type,
        });
    }
    match kind {
        Kind::Manifest => {
            for d in doc.config.iter().chain(&doc.layers) {
                let blob = BlobRef {
                    digest: d.sha256(&what)?,
                    size: d.size,
                    media_type: d.media_type.clone(),
                };
                if seen.blobs.insert(blob.digest) {
                    walked.blobs.push(blob);
                }
            }
            Ok(())
        }
        Kind::Index => {
            if depth >= MAX_INDEX_DEPTH {
                return Err(OciError::IndexTooDeep {
                    digest,
                    limit: MAX_INDEX_DEPTH,
                }
                .into());
            }
            seen.path.push(digest);
            for child in &doc.manifests {
                let child_digest = child.sha256(&what)?;
                if seen.path.contains(&child_digest) {
                    return Err(OciError::IndexLoop {
                        digest: child_digest,
                    }
                    .into());
                }
                if depth == 0 && child.platform.is_some() {
                    walked
                        .platforms
                        .extend(child.platform.as_ref().map(Platform::name));
                }
                let size_mismatch = |actual: u64| OciError::SizeMismatch {
                    what: format!("manifest {child_digest}"),
                    expected: child.size,
                    actual,
                };
                if let Some(&size) = seen.documents.get(&child_digest) {
                    if size != child.size {
                        return Err(size_mismatch(size).into());
                    }
                    continue;
                }
                let (bytes, child_type) = fetch(&child_digest)?;
                if bytes.len() as u64 != child.size {
                    return Err(size_mismatch(bytes.len() as u64).into());
                }
                visit(
                    Held {
                        digest: child_digest,
                        bytes,
                    },
                    // As served, else as the descriptor says (the document's own field wins).
                    child_type.as_deref().or(Some(child.media_type.as_str())),
                    depth + 1,
                    seen,
                    walked,
                    fetch,
                )?;
            }
            seen.path.pop();
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// One made-up document: a manifest or index naming others by slot (a digest that is not
    /// the hash of anything, so loops can be made), with the size it declares for each.
    #[derive(Debug, Clone)]
    struct Slot {
        index: bool,
        media_type: Option<&'static str>,
        children: Vec<(usize, i8)>,
        garbage: bool,
    }

    fn digest_of(slot: usize) -> Sha256Digest {
        Sha256Digest::from_hex(&format!("{slot:02x}").repeat(32)).unwrap()
    }

    fn render(slots: &[Slot]) -> Vec<Vec<u8>> {
        // Sizes are declared from a first rendering with zero sizes, so "+0" is usually but
        // not always right (the lengths of numbers change); mismatches are part of the game.
        let mut sizes = vec![0usize; slots.len()];
        let mut out = Vec::new();
        for _ in 0..2 {
            out = slots
                .iter()
                .map(|s| {
                    if s.garbage {
                        return b"{\"schemaVersion\":2,\"manifests\":7}".to_vec();
                    }
                    let descriptors: Vec<_> = s
                        .children
                        .iter()
                        .map(|(c, delta)| {
                            let c = c % slots.len();
                            serde_json::json!({
                                "mediaType": if slots[c].index { OCI_INDEX } else { OCI_MANIFEST },
                                "digest": digest_of(c).to_string(),
                                "size": (sizes[c] as i64 + i64::from(*delta)).max(0),
                            })
                        })
                        .collect();
                    let mut doc = if s.index {
                        serde_json::json!({"schemaVersion": 2, "manifests": descriptors})
                    } else {
                        serde_json::json!({"schemaVersion": 2, "config": descriptors.first(), "layers": descriptors})
                    };
                    if let Some(t) = s.media_type {
                        doc["mediaType"] = serde_json::json!(t);
                    }
                    serde_json::to_vec(&doc).unwrap()
                })
                .collect();
            sizes = out.iter().map(Vec::len).collect();
        }
        out
    }

    fn slot() -> impl Strategy<Value = Slot> {
        (
            any::<bool>(),
            prop_oneof![
                Just(None),
                Just(Some(OCI_INDEX)),
                Just(Some(DOCKER_LIST)),
                Just(Some(OCI_MANIFEST)),
                Just(Some("text/plain")),
            ],
            proptest::collection::vec((0usize..8, prop_oneof![Just(0i8), -1i8..=1]), 0..6),
            proptest::bool::weighted(0.05),
        )
            .prop_map(|(index, media_type, children, garbage)| Slot {
                index,
                media_type,
                children,
                garbage,
            })
    }

    #[test]
    fn a_layout_index_must_be_an_index() {
        let index = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:00","size":1,"annotations":{"org.opencontainers.image.ref.name":"1.0"}}]}"#;
        let doc = Document::layout_index(index).unwrap();
        assert_eq!(
            doc.manifests[0].annotations["org.opencontainers.image.ref.name"],
            "1.0"
        );
        let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:00","size":1}}"#;
        assert_eq!(
            Document::layout_index(manifest).unwrap_err().to_string(),
            format!("index.json: a manifest ({OCI_MANIFEST}), not an index")
        );
        assert_eq!(
            Document::layout_index(br#"{"schemaVersion":1}"#)
                .unwrap_err()
                .to_string(),
            "index.json: schemaVersion is 1, not 2 (Docker schema 1 manifests are not pulled)"
        );
        assert_eq!(
            Document::layout_index(b"{").unwrap_err().to_string(),
            "index.json: not JSON of a manifest: EOF while parsing an object at line 1 column 1"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Whatever the documents say (loops, repeats, wrong sizes and types, nesting), the
        /// walk ends without panicking, reads each document at most once, and lists each
        /// document and blob once.
        #[test]
        fn any_graph_of_documents_is_walked_once_or_refused(
            slots in proptest::collection::vec(slot(), 1..8),
        ) {
            let bytes = render(&slots);
            let mut fetched: HashMap<Sha256Digest, usize> = HashMap::new();
            let by_digest: HashMap<Sha256Digest, Vec<u8>> = bytes
                .iter()
                .enumerate()
                .map(|(i, b)| (digest_of(i), b.clone()))
                .collect();
            let result = walk::<OciError>(
                Held { digest: digest_of(0), bytes: bytes[0].clone() },
                None,
                &mut |d| {
                    *fetched.entry(*d).or_default() += 1;
                    Ok((by_digest[d].clone(), None))
                },
            );
            prop_assert!(fetched.values().all(|n| *n == 1), "{fetched:?}");
            if let Ok(walked) = result {
                let documents: HashSet<_> = walked.documents.iter().map(|d| d.digest).collect();
                prop_assert_eq!(documents.len(), walked.documents.len());
                let blobs: HashSet<_> = walked.blobs.iter().map(|b| b.digest).collect();
                prop_assert_eq!(blobs.len(), walked.blobs.len());
            }
        }
    }
}
