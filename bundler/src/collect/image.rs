//! The image a spec names, as the pull walks it: the shared walk (`crate::oci`) from the
//! digest down to every config and layer, and the `platforms` selection.

use super::error::Problem;
use crate::archive::Sha256Digest;
pub(crate) use crate::oci::{
    BlobRef, Descriptor, Document, Held, Kind, OCI_INDEX, Platform, Served, Walked,
};

/// Reads a manifest by digest, checked to hash to it.
pub(crate) type FetchDocument<'a> = dyn FnMut(&Sha256Digest) -> Result<Served, Problem> + 'a;

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
                let mut walked =
                    crate::oci::walk(Held { digest, bytes }, content_type.as_deref(), fetch)?;
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
    crate::oci::walk(root, root_content_type, fetch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::oci::{MAX_INDEX_DEPTH, OCI_MANIFEST};

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
