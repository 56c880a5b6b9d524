//! OCI images bound to what was signed: the layout's `index.json` must name exactly the
//! manifest the signatures cover (`artifact.digest`), and everything that manifest names
//! (for a signed index, its manifests and theirs, however nested, Docker's lists and
//! manifests read like OCI's) must be among the image's files: the walk `create`'s pull
//! makes (`airlock_bundler::oci`), each document size-checked before it is read.

use std::collections::BTreeSet;

use airlock_bundler::archive::{Artifact, Sha256Digest};
use airlock_bundler::oci::{self, Document, Held, OciError, Served};

/// The largest `index.json` or image manifest read.
pub(super) const MAX_OCI_DOCUMENT: u64 = oci::MAX_DOCUMENT;

/// How a blob of the archive is read (from memory or staging), refused over `limit` bytes.
pub(super) type ReadBlob<'a> = dyn Fn(&Sha256Digest, u64) -> Result<Vec<u8>, String> + 'a;

/// Checks an image artifact's layout against its signed digest. The error is one line.
pub(super) fn check_layout(artifact: &Artifact, read: &ReadBlob<'_>) -> Result<(), String> {
    let blobs: BTreeSet<Sha256Digest> = artifact
        .files
        .iter()
        .filter(|f| f.path.as_str().starts_with("blobs/sha256/"))
        .map(|f| f.digest)
        .collect();
    let index_file = artifact
        .files
        .iter()
        .find(|f| f.path.as_str() == "index.json")
        .ok_or("the layout has no index.json")?;
    let index_bytes =
        read(&index_file.digest, MAX_OCI_DOCUMENT).map_err(|e| format!("index.json: {e}"))?;
    let index = Document::layout_index(&index_bytes).map_err(|e| e.to_string())?;
    let signed = artifact.digest.to_string();
    let named: Vec<&str> = index.manifests.iter().map(|d| d.digest.as_str()).collect();
    let [descriptor] = index.manifests.as_slice() else {
        return Err(format!(
            "index.json must name exactly the signed manifest {signed}; it names [{}]",
            named.join(", ")
        ));
    };
    if descriptor.sha256("index.json").ok().as_ref() != Some(&artifact.digest) {
        return Err(format!(
            "index.json names {}, not the signed manifest {signed}",
            descriptor.digest
        ));
    }
    let signed_bytes = read(&artifact.digest, MAX_OCI_DOCUMENT)
        .map_err(|e| format!("signed manifest {signed}: {e}"))?;
    if descriptor.size != signed_bytes.len() as u64 {
        return Err(format!(
            "index.json gives {signed} a size of {}; it is {} bytes",
            descriptor.size,
            signed_bytes.len()
        ));
    }
    // The signed document and everything it names, walked as the bundler's pull walks it:
    // Docker's lists and manifests as OCI's, nested indexes, each document once.
    let not_held = |digest: &Sha256Digest, reason: String| OciError::Malformed {
        what: format!("manifest {digest}"),
        reason,
    };
    let mut fetch = |digest: &Sha256Digest| -> Result<Served, OciError> {
        if !blobs.contains(digest) {
            return Err(not_held(digest, "not among the image's files".to_owned()));
        }
        let bytes = read(digest, MAX_OCI_DOCUMENT).map_err(|e| not_held(digest, e))?;
        Ok((bytes, None))
    };
    let walked = oci::walk(
        Held {
            digest: artifact.digest,
            bytes: signed_bytes,
        },
        Some(&descriptor.media_type),
        &mut fetch,
    )
    .map_err(|e| e.to_string())?;
    match walked.blobs.iter().find(|b| !blobs.contains(&b.digest)) {
        None => Ok(()),
        Some(missing) => Err(format!(
            "{} refers to {}, which is not among the image's files",
            naming(&walked, &missing.digest),
            missing.digest
        )),
    }
}

/// Which manifest of the walk names `blob` as its config or a layer (for the error).
fn naming(walked: &oci::Walked, blob: &Sha256Digest) -> String {
    walked
        .documents
        .iter()
        .find(|held| {
            Document::parse(&held.bytes, None, "").is_ok_and(|(doc, _, _)| {
                doc.config
                    .iter()
                    .chain(&doc.layers)
                    .any(|d| d.sha256("").ok().as_ref() == Some(blob))
            })
        })
        .map_or_else(
            || "the image".to_owned(),
            |held| format!("manifest {}", held.digest),
        )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use airlock_bundler::archive::{ArtifactKind, Evidence, FileEntry, RelativePath};
    use sha2::{Digest as _, Sha256};

    use super::*;

    /// A layout in memory: its blobs by digest, and the files an artifact lists.
    #[derive(Default)]
    struct Layout {
        blobs: HashMap<Sha256Digest, Vec<u8>>,
        files: Vec<FileEntry>,
    }

    impl Layout {
        fn add(&mut self, path: Option<&str>, bytes: &[u8]) -> (Sha256Digest, String) {
            let digest = Sha256Digest::from_hex(&hex::encode(Sha256::digest(bytes))).unwrap();
            self.blobs.insert(digest, bytes.to_vec());
            let path = path.map_or_else(|| format!("blobs/sha256/{}", digest.hex()), str::to_owned);
            self.files.push(FileEntry {
                path: RelativePath::new(&path).unwrap(),
                digest,
            });
            (digest, format!("sha256:{}", digest.hex()))
        }

        fn check(&self, signed: Sha256Digest) -> Result<(), String> {
            let artifact = Artifact {
                name: "image".into(),
                kind: ArtifactKind::OciImage,
                digest: signed,
                size: 0,
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                files: self.files.clone(),
                evidence: Evidence::default(),
                other_digests: Default::default(),
            };
            check_layout(&artifact, &|d: &Sha256Digest, _| {
                self.blobs
                    .get(d)
                    .cloned()
                    .ok_or_else(|| "missing".to_owned())
            })
        }
    }

    fn manifest(config: &str, layers: &[&str]) -> Vec<u8> {
        let layers: Vec<_> = layers
            .iter()
            .map(|d| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": 1}))
            .collect();
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": layers,
        })
        .to_string()
        .into_bytes()
    }

    fn index(entries: &[(&str, usize)]) -> Vec<u8> {
        let manifests: Vec<_> = entries
            .iter()
            .map(|(d, size)| serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": size}))
            .collect();
        serde_json::json!({"schemaVersion": 2, "manifests": manifests})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn the_index_must_name_exactly_the_signed_manifest_whose_blobs_are_all_there() {
        let mut layout = Layout::default();
        let (_, config) = layout.add(None, b"{}");
        let (_, layer) = layout.add(None, b"layer");
        let good = manifest(&config, &[&layer]);
        let (signed, signed_name) = layout.add(None, &good);
        let mut ok = Layout {
            blobs: layout.blobs.clone(),
            files: layout.files.clone(),
        };
        ok.add(Some("index.json"), &index(&[(&signed_name, good.len())]));
        assert_eq!(ok.check(signed), Ok(()));

        // Two manifests where one was signed.
        let other = manifest(&config, &[]);
        let (_, other_name) = layout.add(None, &other);
        let mut two = Layout {
            blobs: layout.blobs.clone(),
            files: layout.files.clone(),
        };
        two.add(
            Some("index.json"),
            &index(&[(&signed_name, good.len()), (&other_name, other.len())]),
        );
        assert_eq!(
            two.check(signed).unwrap_err(),
            format!(
                "index.json must name exactly the signed manifest {signed_name}; it names [{signed_name}, {other_name}]"
            )
        );

        // The signed manifest's layer is not among the files.
        let missing = manifest(&config, &[&format!("sha256:{}", "ab".repeat(32))]);
        let (missing_digest, missing_name) = layout.add(None, &missing);
        let mut gap = Layout {
            blobs: layout.blobs.clone(),
            files: layout.files.clone(),
        };
        gap.add(
            Some("index.json"),
            &index(&[(&missing_name, missing.len())]),
        );
        assert_eq!(
            gap.check(missing_digest).unwrap_err(),
            format!(
                "manifest {missing_name} refers to sha256:{}, which is not among the image's files",
                "ab".repeat(32)
            )
        );

        // A wrong size in the index.
        let mut sized = Layout {
            blobs: layout.blobs.clone(),
            files: layout.files.clone(),
        };
        sized.add(Some("index.json"), &index(&[(&signed_name, 3)]));
        assert_eq!(
            sized.check(signed).unwrap_err(),
            format!(
                "index.json gives {signed_name} a size of 3; it is {} bytes",
                good.len()
            )
        );
    }

    /// A signed Docker manifest list (or any index, nested) is checked whole: each manifest
    /// it names must be among the files, and each of theirs; loops and depth are bounded.
    #[test]
    fn a_signed_list_is_walked_whole_and_what_it_names_must_be_there() {
        const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
        let list = |children: &[(&str, usize)]| {
            let manifests: Vec<_> = children
                .iter()
                .map(|(d, size)| serde_json::json!({"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": d, "size": size}))
                .collect();
            serde_json::json!({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": manifests})
                .to_string()
                .into_bytes()
        };
        let signed_layout = |layout: &Layout, top: &[u8]| {
            let mut l = Layout {
                blobs: layout.blobs.clone(),
                files: layout.files.clone(),
            };
            let (digest, name) = l.add(None, top);
            let index = serde_json::json!({"schemaVersion": 2, "manifests": [
                {"mediaType": DOCKER_LIST, "digest": name, "size": top.len()}
            ]});
            l.add(Some("index.json"), index.to_string().as_bytes());
            (l, digest)
        };
        let mut layout = Layout::default();
        let (_, config) = layout.add(None, b"{}");
        let (_, layer) = layout.add(None, b"layer");
        let amd = manifest(&config, &[&layer]);
        let (_, amd_name) = layout.add(None, &amd);

        let good = list(&[(&amd_name, amd.len()), (&amd_name, amd.len())]);
        let (l, digest) = signed_layout(&layout, &good);
        assert_eq!(l.check(digest), Ok(()));

        // A manifest the list names is not among the files.
        let absent = manifest(&config, &[]);
        let absent_name = format!("sha256:{}", hex::encode(Sha256::digest(&absent)));
        let (l, digest) = signed_layout(&layout, &list(&[(&absent_name, absent.len())]));
        assert_eq!(
            l.check(digest).unwrap_err(),
            format!("manifest {absent_name}: not among the image's files")
        );

        // A layer of a listed manifest is not among the files: the manifest is named.
        let gap = manifest(&config, &[&format!("sha256:{}", "cd".repeat(32))]);
        let (_, gap_name) = layout.add(None, &gap);
        let (l, digest) = signed_layout(&layout, &list(&[(&gap_name, gap.len())]));
        assert_eq!(
            l.check(digest).unwrap_err(),
            format!(
                "manifest {gap_name} refers to sha256:{}, which is not among the image's files",
                "cd".repeat(32)
            )
        );
    }
}
