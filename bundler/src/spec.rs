//! `bundle.toml`: what staff ask `create` to pack. Paths are relative to the spec's folder.
//!
//! ```toml
//! [publisher]
//! name = "release-team"
//! sequence = 42                 # optional, below 2^63; default: created_at in Unix seconds
//! site = "plant-3"              # optional; required by a site initialised with --site
//! notes = "October release"     # optional
//!
//! [[trust]]
//! name = "sigstore-public-good"
//! root = "trust/root.json"      # the pinned initial root
//! metadata = "tuf/metadata"     # a local mirror ...
//! targets = "tuf/targets"
//! # url = "https://tuf-repo-cdn.sigstore.dev/"          ... or an HTTPS repository
//! # targets_url = "https://tuf-repo-cdn.sigstore.dev/targets/"  (default: url + "targets/")
//!
//! [[log]]
//! url = "https://rekor.sigstore.dev"
//! api = "rekor-v1"              # or "tiles"
//!
//! [[artifact]]
//! name = "tool-1.2.3.tar.gz"
//! file = "dist/tool-1.2.3.tar.gz"          # or: oci_layout = "images/app"
//! bundles = ["dist/tool-1.2.3.tar.gz.sigstore.json"]
//! attestations = ["dist/tool.provenance.sigstore.json"]
//! sboms = ["dist/tool.cdx.json"]
//! identity = "https://github.com/org/tool/.github/workflows/release.yml@refs/tags/v1.2.3"
//! issuer = "https://token.actions.githubusercontent.com"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

/// Largest spec file read.
const MAX_SPEC_SIZE: u64 = 4 << 20;

/// A parsed spec, its paths resolved against its folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The publisher.
    pub publisher: PublisherSpec,
    /// TUF repositories to carry.
    #[serde(default, rename = "trust")]
    pub trust: Vec<TrustSpec>,
    /// Logs whose checkpoints and proofs to carry.
    #[serde(default, rename = "log")]
    pub logs: Vec<LogSpec>,
    /// Artifacts and their evidence.
    #[serde(default, rename = "artifact")]
    pub artifacts: Vec<ArtifactSpec>,
}

/// `[publisher]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublisherSpec {
    /// The publisher's name.
    pub name: String,
    /// Sequence number; default: the creation time in Unix seconds.
    pub sequence: Option<u64>,
    /// Intended site.
    pub site: Option<String>,
    /// Notes for the site.
    pub notes: Option<String>,
}

/// `[[trust]]`: a local mirror (`metadata` + `targets`) or an HTTPS repository (`url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSpec {
    /// The repository's name.
    pub name: String,
    /// The pinned initial root.
    pub root: PathBuf,
    /// Local metadata folder.
    pub metadata: Option<PathBuf>,
    /// Local targets folder.
    pub targets: Option<PathBuf>,
    /// HTTPS metadata base URL.
    pub url: Option<Url>,
    /// HTTPS targets base URL (default: `url` + `targets/`).
    pub targets_url: Option<Url>,
}

/// `[[log]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    /// The log's base URL (HTTPS).
    pub url: Url,
    /// `rekor-v1` or `tiles`.
    pub api: LogApiSpec,
}

/// Which API a log speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogApiSpec {
    /// Rekor v1 (`/api/v1/log`, `/api/v1/log/proof`).
    RekorV1,
    /// C2SP tlog-tiles (`/checkpoint`, `/tile/…`).
    Tiles,
}

/// `[[artifact]]`: exactly one of `file` and `oci_layout`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactSpec {
    /// Name in the archive (default: the file or folder name).
    pub name: Option<String>,
    /// A file.
    pub file: Option<PathBuf>,
    /// An OCI image layout folder.
    pub oci_layout: Option<PathBuf>,
    /// Media type (default: `application/octet-stream`, or the image manifest's).
    pub media_type: Option<String>,
    /// Sigstore bundles signing it.
    #[serde(default)]
    pub bundles: Vec<PathBuf>,
    /// Sigstore bundles with attestations about it.
    #[serde(default)]
    pub attestations: Vec<PathBuf>,
    /// SBOM files.
    #[serde(default)]
    pub sboms: Vec<PathBuf>,
    /// Expected signer identity (SAN), exact.
    pub identity: Option<String>,
    /// Expected signer identity as an anchored regular expression.
    pub identity_regexp: Option<String>,
    /// Expected OIDC issuer, exact.
    pub issuer: Option<String>,
    /// A PEM public key for managed-key bundles.
    pub key: Option<PathBuf>,
}

/// Why a spec could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The spec.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML of the spec's shape.
    #[error("{path}: {reason}")]
    Syntax {
        /// The spec.
        path: PathBuf,
        /// toml's message.
        reason: String,
    },
    /// A rule the shape cannot express.
    #[error("{path}: {what}")]
    Invalid {
        /// The spec.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

impl Spec {
    /// Reads a spec and resolves its paths against its folder.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        use std::io::Read;
        let io = |source| SpecError::Io {
            path: path.to_owned(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io)?
            .take(MAX_SPEC_SIZE)
            .read_to_string(&mut text)
            .map_err(io)?;
        let mut spec: Spec = toml::from_str(&text).map_err(|e| SpecError::Syntax {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        spec.resolve(base);
        spec.check().map_err(|what| SpecError::Invalid {
            path: path.to_owned(),
            what,
        })?;
        Ok(spec)
    }

    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| *p = base.join(&*p);
        for t in &mut self.trust {
            fix(&mut t.root);
            t.metadata.as_mut().map(fix);
            t.targets.as_mut().map(fix);
        }
        for a in &mut self.artifacts {
            a.file.as_mut().map(fix);
            a.oci_layout.as_mut().map(fix);
            a.key.as_mut().map(fix);
            a.bundles.iter_mut().for_each(fix);
            a.attestations.iter_mut().for_each(fix);
            a.sboms.iter_mut().for_each(fix);
        }
    }

    fn check(&self) -> Result<(), String> {
        for t in &self.trust {
            match (&t.metadata, &t.targets, &t.url) {
                (Some(_), Some(_), None) | (None, None, Some(_)) => {}
                _ => {
                    return Err(format!(
                        "trust {:?}: give either metadata and targets folders, or url",
                        t.name
                    ));
                }
            }
        }
        for (i, a) in self.artifacts.iter().enumerate() {
            if a.file.is_some() == a.oci_layout.is_some() {
                return Err(format!(
                    "artifact {}: give exactly one of file and oci_layout",
                    i + 1
                ));
            }
            if a.identity.is_some() && a.identity_regexp.is_some() {
                return Err(format!(
                    "artifact {}: identity and identity_regexp exclude each other",
                    i + 1
                ));
            }
            if (a.identity.is_some() || a.identity_regexp.is_some()) != a.issuer.is_some() {
                return Err(format!(
                    "artifact {}: an identity needs an issuer and vice versa",
                    i + 1
                ));
            }
        }
        Ok(())
    }
}

impl ArtifactSpec {
    /// The artifact's name: as given, or its file or folder name.
    pub fn resolved_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.file
                .as_ref()
                .or(self.oci_layout.as_ref())
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }
}
