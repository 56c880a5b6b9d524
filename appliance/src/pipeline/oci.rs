//! OCI images bound to what was signed: the layout's `index.json` must name exactly the
//! manifest the signatures cover (`artifact.digest`), and that manifest's config and layers
//! (or, for a signed index, its manifests and theirs) must be among the image's files. Parsed
//! with `oci-spec`'s types, each document size-checked before it is read.

use std::collections::BTreeSet;

use airlock_bundler::archive::{Artifact, Sha256Digest};
use oci_spec::image::{Descriptor, DigestAlgorithm, ImageIndex, ImageManifest, MediaType};

/// The largest `index.json` or image manifest read.
pub(super) const MAX_OCI_DOCUMENT: u64 = 4 << 20;

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
    let index =
        ImageIndex::from_reader(&index_bytes[..]).map_err(|e| format!("index.json: {e}"))?;
    let signed = format!("sha256:{}", artifact.digest.hex());
    let named: Vec<String> = index
        .manifests()
        .iter()
        .map(|d| d.digest().to_string())
        .collect();
    let [descriptor] = index.manifests().as_slice() else {
        return Err(format!(
            "index.json must name exactly the signed manifest {signed}; it names [{}]",
            named.join(", ")
        ));
    };
    if sha256_of(descriptor).as_ref() != Some(&artifact.digest) {
        return Err(format!(
            "index.json names {}, not the signed manifest {signed}",
            descriptor.digest()
        ));
    }
    let signed_bytes = read(&artifact.digest, MAX_OCI_DOCUMENT)
        .map_err(|e| format!("signed manifest {signed}: {e}"))?;
    if descriptor.size() != signed_bytes.len() as u64 {
        return Err(format!(
            "index.json gives {signed} a size of {}; it is {} bytes",
            descriptor.size(),
            signed_bytes.len()
        ));
    }
    match descriptor.media_type() {
        MediaType::ImageIndex => {
            let inner = ImageIndex::from_reader(&signed_bytes[..])
                .map_err(|e| format!("signed index {signed}: {e}"))?;
            for child in inner.manifests() {
                let digest = present(child, &blobs, &format!("signed index {signed}"))?;
                let bytes = read(&digest, MAX_OCI_DOCUMENT)
                    .map_err(|e| format!("manifest {}: {e}", child.digest()))?;
                check_manifest(&bytes, child.digest().as_ref(), &blobs)?;
            }
            Ok(())
        }
        _ => check_manifest(&signed_bytes, &signed, &blobs),
    }
}

/// An image manifest whose config and layers must all be among `blobs`.
fn check_manifest(bytes: &[u8], name: &str, blobs: &BTreeSet<Sha256Digest>) -> Result<(), String> {
    let manifest =
        ImageManifest::from_reader(bytes).map_err(|e| format!("manifest {name}: {e}"))?;
    let what = format!("manifest {name}");
    present(manifest.config(), blobs, &what)?;
    for layer in manifest.layers() {
        present(layer, blobs, &what)?;
    }
    Ok(())
}

/// The descriptor's SHA-256, which must be one of `blobs`.
fn present(
    d: &Descriptor,
    blobs: &BTreeSet<Sha256Digest>,
    what: &str,
) -> Result<Sha256Digest, String> {
    match sha256_of(d) {
        Some(digest) if blobs.contains(&digest) => Ok(digest),
        Some(_) => Err(format!(
            "{what} refers to {}, which is not among the image's files",
            d.digest()
        )),
        None => Err(format!(
            "{what} refers to {}, which is not a SHA-256 digest",
            d.digest()
        )),
    }
}

fn sha256_of(d: &Descriptor) -> Option<Sha256Digest> {
    (*d.digest().algorithm() == DigestAlgorithm::Sha256)
        .then(|| Sha256Digest::from_hex(d.digest().digest()).ok())
        .flatten()
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
}
