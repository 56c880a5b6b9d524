//! Image manifests and indexes as the OCI image spec (and Docker's v2 schema 2) write them:
//! the descriptors pulling needs, the walk from the signed digest down to every config and
//! layer (indexes nested at most `MAX_INDEX_DEPTH` deep, never through themselves), and the
//! `platforms` selection.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::error::Problem;
use crate::archive::Sha256Digest;

/// OCI image manifest.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A document as served: its bytes and the `Content-Type` it came with (if known).
pub(crate) type Served = (Vec<u8>, Option<String>);

/// Reads a manifest by digest, checked to hash to it.
pub(crate) type FetchDocument<'a> = dyn FnMut(&Sha256Digest) -> Result<Served, Problem> + 'a;

/// Indexes inside indexes, at most this deep (the signed index is level 1).
pub(crate) const MAX_INDEX_DEPTH: usize = 4;

/// A content descriptor.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub(crate) media_type: String,
    pub(crate) digest: String,
    pub(crate) size: u64,
    #[serde(default)]
    pub(crate) platform: Option<Platform>,
    #[serde(default)]
    pub(crate) artifact_type: Option<String>,
    /// Its annotations (cosign's legacy layers carry their signature material here).
    #[serde(default)]
    pub(crate) annotations: std::collections::BTreeMap<String, String>,
}

/// A descriptor's platform.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Platform {
    #[serde(default)]
    pub(crate) os: String,
    #[serde(default)]
    pub(crate) architecture: String,
    #[serde(default)]
    pub(crate) variant: Option<String>,
}

impl Platform {
    /// `os/architecture[/variant]`.
    pub(crate) fn name(&self) -> String {
        match &self.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{v}", self.os, self.architecture),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// Whether `wanted` (`os/arch` or `os/arch/variant`) names this platform.
    fn matches(&self, wanted: &str) -> bool {
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
pub(crate) struct Document {
    #[serde(default)]
    schema_version: Option<u64>,
    #[serde(default)]
    pub(crate) media_type: Option<String>,
    #[serde(default)]
    pub(crate) artifact_type: Option<String>,
    #[serde(default)]
    pub(crate) config: Option<Descriptor>,
    #[serde(default)]
    pub(crate) layers: Vec<Descriptor>,
    #[serde(default)]
    pub(crate) manifests: Vec<Descriptor>,
    #[serde(default)]
    pub(crate) subject: Option<Descriptor>,
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Manifest,
    Index,
}

impl Document {
    /// Parses a manifest or index; `content_type` is what it was served as.
    pub(crate) fn parse(
        bytes: &[u8],
        content_type: Option<&str>,
        what: &str,
    ) -> Result<(Self, Kind, String), Problem> {
        let malformed = |reason: String| Problem::Malformed {
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

impl Descriptor {
    /// The descriptor's digest, which must be SHA-256.
    pub(crate) fn sha256(&self, what: &str) -> Result<Sha256Digest, Problem> {
        self.digest.parse().map_err(|_| Problem::Malformed {
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
pub(crate) struct BlobRef {
    pub(crate) digest: Sha256Digest,
    pub(crate) size: u64,
    pub(crate) media_type: String,
}

/// A manifest or index read during the walk, with its bytes.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) digest: Sha256Digest,
    pub(crate) bytes: Vec<u8>,
}

/// Everything an image is made of.
#[derive(Debug, Clone)]
pub(crate) struct Walked {
    /// What is packed and signed: the root (or the one platform manifest selected).
    pub(crate) digest: Sha256Digest,
    /// Its media type and size.
    pub(crate) media_type: String,
    pub(crate) size: u64,
    /// Every manifest and index, the root first.
    pub(crate) documents: Vec<Held>,
    /// Every config and layer, each once, in the order first met.
    pub(crate) blobs: Vec<BlobRef>,
    /// The platforms of the manifests kept (empty for a single manifest).
    pub(crate) platforms: Vec<String>,
}

/// Walks an image from its root document. `fetch` returns a manifest's bytes checked to
/// hash to the digest asked for, with the type it was served as. With `platforms`, the
/// root index's manifests are selected: all of them is the whole index; exactly one makes
/// that manifest the image (the site checks a signed index only whole).
pub(crate) fn walk(
    root: Held,
    root_content_type: Option<&str>,
    platforms: &[String],
    fetch: &mut FetchDocument<'_>,
) -> Result<Walked, Problem> {
    let what = format!("manifest {}", root.digest);
    let (doc, kind, _) = Document::parse(&root.bytes, root_content_type, &what)?;
    if kind == Kind::Index && !platforms.is_empty() {
        let selected: Vec<&Descriptor> = doc
            .manifests
            .iter()
            .filter(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| platforms.iter().any(|w| p.matches(w)))
            })
            .collect();
        let available: Vec<String> = doc
            .manifests
            .iter()
            .filter_map(|d| d.platform.as_ref().map(Platform::name))
            .collect();
        match selected.as_slice() {
            [] => {
                return Err(Problem::Platforms(format!(
                    "index {} has no manifest for platforms [{}] (it has [{}])",
                    root.digest,
                    platforms.join(", "),
                    available.join(", ")
                )));
            }
            _ if selected.len() == doc.manifests.len() => {}
            [one] => {
                let digest = one.sha256(&what)?;
                let (bytes, content_type) = fetch(&digest)?;
                let platform = one.platform.as_ref().map(Platform::name);
                let mut walked = walk_from(Held { digest, bytes }, content_type.as_deref(), fetch)?;
                walked.platforms = platform.into_iter().collect();
                return Ok(walked);
            }
            several => {
                return Err(Problem::Platforms(format!(
                    "platforms [{}] select {} of the {} manifests of index {}; the site checks a signed index only whole: name one platform, or all of them",
                    platforms.join(", "),
                    several.len(),
                    doc.manifests.len(),
                    root.digest
                )));
            }
        }
    }
    walk_from(root, root_content_type, fetch)
}

fn walk_from(
    root: Held,
    root_content_type: Option<&str>,
    fetch: &mut FetchDocument<'_>,
) -> Result<Walked, Problem> {
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

fn visit(
    held: Held,
    content_type: Option<&str>,
    depth: usize,
    seen: &mut Seen,
    walked: &mut Walked,
    fetch: &mut FetchDocument<'_>,
) -> Result<(), Problem> {
    let what = format!("manifest {}", held.digest);
    let (doc, kind, _) = Document::parse(&held.bytes, content_type, &what)?;
    let digest = held.digest;
    if seen
        .documents
        .insert(digest, held.bytes.len() as u64)
        .is_none()
    {
        walked.documents.push(held);
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
                return Err(Problem::IndexTooDeep {
                    digest,
                    limit: MAX_INDEX_DEPTH,
                });
            }
            seen.path.push(digest);
            for child in &doc.manifests {
                let child_digest = child.sha256(&what)?;
                if seen.path.contains(&child_digest) {
                    return Err(Problem::IndexLoop {
                        digest: child_digest,
                    });
                }
                if depth == 0 && child.platform.is_some() {
                    walked
                        .platforms
                        .extend(child.platform.as_ref().map(Platform::name));
                }
                let size_mismatch = |actual: u64| Problem::SizeMismatch {
                    what: format!("manifest {child_digest}"),
                    expected: child.size,
                    actual,
                };
                if let Some(&size) = seen.documents.get(&child_digest) {
                    if size != child.size {
                        return Err(size_mismatch(size));
                    }
                    continue;
                }
                let (bytes, child_type) = fetch(&child_digest)?;
                if bytes.len() as u64 != child.size {
                    return Err(size_mismatch(bytes.len() as u64));
                }
                visit(
                    Held {
                        digest: child_digest,
                        bytes,
                    },
                    child_type.as_deref(),
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

    use super::*;

    fn manifest(layers: &[&str]) -> Vec<u8> {
        let layers: Vec<_> = layers
            .iter()
            .map(|l| {
                let d = Sha256Digest::of(l.as_bytes());
                serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.to_string(), "size": l.len()})
            })
            .collect();
        let config = Sha256Digest::of(b"{}");
        serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 2},
            "layers": layers,
        })
        .to_string()
        .into_bytes()
    }

    fn index(children: &[(&[u8], Option<&str>, &str)]) -> Vec<u8> {
        let manifests: Vec<_> = children
            .iter()
            .map(|(bytes, platform, media_type)| {
                let mut d = serde_json::json!({"mediaType": media_type, "digest": Sha256Digest::of(bytes).to_string(), "size": bytes.len()});
                if let Some(p) = platform {
                    let (os, arch) = p.split_once('/').unwrap();
                    d["platform"] = serde_json::json!({"os": os, "architecture": arch});
                }
                d
            })
            .collect();
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
            .to_string()
            .into_bytes()
    }

    struct Docs(HashMap<Sha256Digest, Vec<u8>>);

    impl Docs {
        fn new(docs: &[&[u8]]) -> Self {
            Self(
                docs.iter()
                    .map(|d| (Sha256Digest::of(d), d.to_vec()))
                    .collect(),
            )
        }

        fn walk(&self, root: &[u8], platforms: &[&str]) -> Result<Walked, Problem> {
            let platforms: Vec<String> = platforms.iter().map(|p| (*p).to_owned()).collect();
            walk(
                Held {
                    digest: Sha256Digest::of(root),
                    bytes: root.to_vec(),
                },
                None,
                &platforms,
                &mut |d| Ok((self.0.get(d).cloned().unwrap(), None)),
            )
        }
    }

    #[test]
    fn an_index_is_walked_whole_or_to_one_selected_platform() {
        let amd = manifest(&["a", "shared"]);
        let arm = manifest(&["b", "shared"]);
        let root = index(&[
            (&amd, Some("linux/amd64"), OCI_MANIFEST),
            (&arm, Some("linux/arm64"), OCI_MANIFEST),
        ]);
        let docs = Docs::new(&[&amd, &arm]);

        let whole = docs.walk(&root, &[]).unwrap();
        assert_eq!(whole.digest, Sha256Digest::of(&root));
        assert_eq!(whole.media_type, OCI_INDEX);
        assert_eq!(whole.documents.len(), 3);
        assert_eq!(whole.blobs.len(), 4, "config, a, shared, b: each once");
        assert_eq!(whole.platforms, ["linux/amd64", "linux/arm64"]);
        let both = docs.walk(&root, &["linux/amd64", "linux/arm64"]).unwrap();
        assert_eq!(both.digest, whole.digest);

        let one = docs.walk(&root, &["linux/arm64"]).unwrap();
        assert_eq!(one.digest, Sha256Digest::of(&arm));
        assert_eq!(one.media_type, OCI_MANIFEST);
        assert_eq!(one.platforms, ["linux/arm64"]);
        assert_eq!(one.documents.len(), 1);

        assert_eq!(
            docs.walk(&root, &["linux/s390x"]).unwrap_err().to_string(),
            format!(
                "index {} has no manifest for platforms [linux/s390x] (it has [linux/amd64, linux/arm64])",
                Sha256Digest::of(&root)
            )
        );
        let three = index(&[
            (&amd, Some("linux/amd64"), OCI_MANIFEST),
            (&arm, Some("linux/arm64"), OCI_MANIFEST),
            (&amd, Some("linux/386"), OCI_MANIFEST),
        ]);
        assert_eq!(
            docs.walk(&three, &["linux/amd64", "linux/arm64"])
                .unwrap_err()
                .to_string(),
            format!(
                "platforms [linux/amd64, linux/arm64] select 2 of the 3 manifests of index {}; the site checks a signed index only whole: name one platform, or all of them",
                Sha256Digest::of(&three)
            )
        );
    }

    /// Indexes that each name the same child many times (a diamond at every level) cost one
    /// fetch per distinct document, not one per path to it.
    #[test]
    fn a_document_named_many_times_is_fetched_once() {
        let leaf = manifest(&["a", "b"]);
        let mut doc = leaf.clone();
        let mut docs = vec![leaf.clone()];
        for _ in 0..MAX_INDEX_DEPTH {
            doc = index(&[(doc.as_slice(), None, OCI_INDEX); 50]);
            docs.push(doc.clone());
        }
        let store = Docs::new(&docs.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let mut fetched = Vec::new();
        let walked = walk(
            Held {
                digest: Sha256Digest::of(&doc),
                bytes: doc.clone(),
            },
            None,
            &[],
            &mut |d| {
                fetched.push(*d);
                Ok((store.0[d].clone(), None))
            },
        )
        .unwrap();
        assert_eq!(
            fetched.len(),
            MAX_INDEX_DEPTH,
            "each document below the root once"
        );
        assert_eq!(walked.documents.len(), MAX_INDEX_DEPTH + 1);
        assert_eq!(walked.blobs.len(), 3, "config, a, b");

        // Named again with another size: refused, though it is not fetched again.
        let mut root: serde_json::Value = serde_json::from_slice(&index(&[
            (&leaf, None, OCI_MANIFEST),
            (&leaf, None, OCI_MANIFEST),
        ]))
        .unwrap();
        root["manifests"][1]["size"] = serde_json::json!(leaf.len() + 1);
        let root = serde_json::to_vec(&root).unwrap();
        assert_eq!(
            store.walk(&root, &[]).unwrap_err().to_string(),
            format!(
                "manifest {}: size mismatch (expected {} bytes, received {})",
                Sha256Digest::of(&leaf),
                leaf.len() + 1,
                leaf.len()
            )
        );
    }

    #[test]
    fn nesting_is_bounded_and_loops_are_refused() {
        let leaf = manifest(&["a"]);
        let mut doc = leaf.clone();
        let mut docs = vec![leaf.clone()];
        for _ in 0..MAX_INDEX_DEPTH {
            doc = index(&[(&doc, None, OCI_INDEX)]);
            docs.push(doc.clone());
        }
        let refs: Vec<&[u8]> = docs.iter().map(Vec::as_slice).collect();
        let store = Docs::new(&refs);
        assert!(store.walk(&doc, &[]).is_ok());
        let deeper = index(&[(&doc, None, OCI_INDEX)]);
        assert_eq!(
            store.walk(&deeper, &[]).unwrap_err().to_string(),
            format!(
                "index {} is nested deeper than {MAX_INDEX_DEPTH} levels of indexes",
                Sha256Digest::of(&docs[1])
            )
        );

        // A fetcher that serves an index under another digest (content addressing makes a
        // real loop impossible; the walk does not rely on that).
        let looping = index(&[(&leaf, None, OCI_INDEX)]);
        let err = walk(
            Held {
                digest: Sha256Digest::of(&leaf),
                bytes: index(&[(&looping, None, OCI_INDEX)]),
            },
            None,
            &[],
            &mut |_| Ok((index(&[(&leaf, None, OCI_INDEX)]), None)),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "index loop: {} is named again inside itself",
                Sha256Digest::of(&leaf)
            )
        );
    }

    #[test]
    fn schema_1_and_unknown_types_are_refused() {
        let err =
            Document::parse(br#"{"schemaVersion":1,"name":"x"}"#, None, "manifest m").unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest m: schemaVersion is 1, not 2 (Docker schema 1 manifests are not pulled)"
        );
        let err = Document::parse(
            br#"{"schemaVersion":2,"mediaType":"application/vnd.example+json","manifests":[]}"#,
            None,
            "manifest m",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest m: media type \"application/vnd.example+json\" is not an image manifest or index"
        );
    }
}
