//! Small OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/`), as `buildah push
//! oci:` writes them, for tests of image artifacts: one image by default, more manifests on
//! request, and `index.json` pointed wherever a test needs.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::{KitError, Result};

/// The media type of an OCI image manifest.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// An OCI image layout on disk.
#[derive(Debug, Clone)]
pub struct OciLayout {
    /// Its folder.
    pub dir: PathBuf,
}

/// One image manifest written into a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciManifest {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its size in bytes.
    pub size: usize,
}

impl OciLayout {
    /// A layout in `dir` (created) holding one image of these layers, which `index.json` names.
    pub fn new(dir: &Path, layers: &[&[u8]]) -> Result<(Self, OciManifest)> {
        std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(io(dir))?;
        write(
            &dir.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )?;
        let layout = Self {
            dir: dir.to_owned(),
        };
        let manifest = layout.add_image(layers)?;
        layout.point_index_at(&manifest)?;
        Ok((layout, manifest))
    }

    /// Writes another image (config, layers, manifest) into the layout's blobs; `index.json`
    /// is left as it is.
    /// The config lists each layer's digest as its diff id (the layers are uncompressed), so
    /// an image of tar layers is one that unpacking clients (podman) accept.
    pub fn add_image(&self, layers: &[&[u8]]) -> Result<OciManifest> {
        let diff_ids: Vec<String> = layers
            .iter()
            .map(|l| format!("sha256:{}", hex::encode(Sha256::digest(l))))
            .collect();
        let config = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        let config = self.blob(config.to_string().as_bytes())?;
        let layers = layers
            .iter()
            .map(|l| {
                let (digest, size) = self.blob(l)?;
                Ok(serde_json::json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest,
                    "size": size,
                }))
            })
            .collect::<Result<Vec<_>>>()?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST_MEDIA_TYPE,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config.0,
                "size": config.1,
            },
            "layers": layers,
        });
        let (digest, size) = self.blob(manifest.to_string().as_bytes())?;
        Ok(OciManifest { digest, size })
    }

    /// Rewrites `index.json` to name `manifest` alone.
    pub fn point_index_at(&self, manifest: &OciManifest) -> Result<()> {
        write(&self.dir.join("index.json"), &Self::index_for(manifest))
    }

    /// Rewrites `index.json` to name `manifest` alone, tagged `tag` (the
    /// `org.opencontainers.image.ref.name` annotation, as `skopeo copy … oci:DIR:TAG` writes).
    pub fn point_index_at_tagged(&self, manifest: &OciManifest, tag: &str) -> Result<()> {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": OCI_MANIFEST_MEDIA_TYPE,
                "digest": manifest.digest,
                "size": manifest.size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }],
        });
        write(&self.dir.join("index.json"), index.to_string().as_bytes())
    }

    /// The bytes of an `index.json` naming `manifest` alone.
    pub fn index_for(manifest: &OciManifest) -> Vec<u8> {
        serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": OCI_MANIFEST_MEDIA_TYPE,
                "digest": manifest.digest,
                "size": manifest.size,
            }],
        })
        .to_string()
        .into_bytes()
    }

    /// Writes `bytes` as a blob; returns its `sha256:<hex>` digest and size.
    pub fn blob(&self, bytes: &[u8]) -> Result<(String, usize)> {
        let hex = hex::encode(Sha256::digest(bytes));
        write(&self.dir.join("blobs/sha256").join(&hex), bytes)?;
        Ok((format!("sha256:{hex}"), bytes.len()))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(io(path))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> KitError + '_ {
    move |e| KitError::Invalid {
        what: "OCI layout",
        detail: format!("{}: {e}", path.display()),
    }
}
