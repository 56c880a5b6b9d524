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
//!
//! [[artifact]]
//! name = "app"
//! image = "registry.example/team/app@sha256:…"   # or :tag, resolved to a digest once
//! platforms = ["linux/amd64"]   # optional: one platform of an index, or all (default)
//! # evidence comes from the image's referrers; bundles/attestations/sboms may add files
//!
//! [[artifact]]
//! url = "https://downloads.example/tool-1.2.3.tar.gz"              # a file over HTTPS
//! bundle_url = "https://downloads.example/tool-1.2.3.tar.gz.sigstore.json"  # optional
//! sha256 = "…"                  # optional: 64 hex digits the file must hash to
//!
//! [[artifact]]
//! npm = "@scope/tool@1.2.3"     # the tarball, checked against dist.integrity (SHA-512),
//!                               # its attestations (SLSA provenance) as evidence
//!
//! [[artifact]]
//! pypi = "sampleproject==4.0.0" # files of the release, each checked against its sha256,
//! pattern = "*-py3-none-any.whl"   # or: file = "sampleproject-4.0.0-py3-none-any.whl"
//!                               # their PEP 740 attestations, as Sigstore bundles
//!
//! [[artifact]]
//! github = "sigstore/cosign@v2.4.1"   # assets of a GitHub release, each checked against
//! assets = ["cosign-linux-amd64", "cosign_*.deb"]  # its digest; names or globs (* ?);
//!                               # their artifact attestations as evidence
//!
//! [[registry]]                  # optional, per registry an image names
//! host = "registry.example"
//! ca_file = "certs/registry-ca.pem"   # an extra CA for its HTTPS
//! mirrors = ["mirror.example:5000", "cache.example/prefix"]   # optional, tried in order for
//!                               # manifests and blobs by digest (tags: the origin only); a
//!                               # mirror's own CA file: a [[registry]] with its host
//!
//! [npm]                         # optional
//! registry = "https://registry.npmjs.org"   # the default
//! token_env = "NPM_TOKEN"       # the default: a bearer token from this variable, if set
//!
//! [pypi]                        # optional
//! index = "https://pypi.org"    # the default
//! token_env = "PYPI_TOKEN"      # optional
//!
//! [github]                      # optional
//! api = "https://api.github.com"   # the default (`create --github-api` overrides it)
//! token_env = "GITHUB_TOKEN"    # the default: a bearer token from this variable, if set
//! ```
//!
//! A package entry that names several files (a `pattern` matching several, or several
//! `assets`) becomes one artifact per file, named `{name}/{file name}`, where `name` is the
//! entry's name (default: the source as written, `project==version` or `owner/repo@tag`);
//! one file keeps the entry's name.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::collect::{
    FileSelect, GithubRelease, ImageReference, MirrorLocation, NpmPackage, PackageSource,
    PypiRelease,
};

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
    /// Registries images are pulled from, where they need settings.
    #[serde(default, rename = "registry")]
    pub registries: Vec<RegistrySpec>,
    /// The npm registry packages come from.
    pub npm: Option<NpmSpec>,
    /// The PyPI index releases come from.
    pub pypi: Option<PypiSpec>,
    /// The GitHub API releases come from.
    pub github: Option<GithubSpec>,
}

/// `[github]`: where `github = …` releases come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSpec {
    /// The REST API's base URL (HTTPS; default `https://api.github.com`).
    pub api: Option<Url>,
    /// The environment variable holding a bearer token (default `GITHUB_TOKEN`).
    pub token_env: Option<String>,
}

/// `[npm]`: where `npm = …` packages come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpmSpec {
    /// The registry's base URL (HTTPS; default `https://registry.npmjs.org`).
    pub registry: Option<Url>,
    /// The environment variable holding a bearer token (default `NPM_TOKEN`).
    pub token_env: Option<String>,
}

/// `[pypi]`: where `pypi = …` releases come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PypiSpec {
    /// The index's base URL (HTTPS; default `https://pypi.org`).
    pub index: Option<Url>,
    /// The environment variable holding a bearer token (default: none is sent).
    pub token_env: Option<String>,
}

/// `[[registry]]`: settings for one registry images name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    /// The registry as images name it (`host[:port]`).
    pub host: String,
    /// An extra CA certificate file (PEM) trusted for its HTTPS, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Mirrors to try, in order, for manifests and blobs by digest before the registry
    /// itself (untrusted: all they serve is checked against its digest).
    #[serde(default)]
    pub mirrors: Vec<MirrorLocation>,
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

/// `[[artifact]]`: exactly one of `file`, `oci_layout`, `image`, `url`, `npm`, `pypi` and
/// `github` (with `pypi`, `file` names the release's file rather than a local one).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactSpec {
    /// Name in the archive (default: the file or folder name).
    pub name: Option<String>,
    /// A file.
    pub file: Option<PathBuf>,
    /// An OCI image layout folder.
    pub oci_layout: Option<PathBuf>,
    /// An image in a registry, pulled with its referrers as evidence.
    pub image: Option<ImageReference>,
    /// A file downloaded over HTTPS.
    pub url: Option<Url>,
    /// The Sigstore bundle published beside `url` (HTTPS), its signature evidence.
    pub bundle_url: Option<Url>,
    /// The SHA-256 (64 lowercase hex digits) `url`'s file must have.
    pub sha256: Option<String>,
    /// An npm package version (`name@version`), its tarball packed.
    pub npm: Option<NpmPackage>,
    /// A PyPI release (`project==version`): `file` or `pattern` picks its file.
    pub pypi: Option<PypiRelease>,
    /// With `pypi`: a glob (`*`, `?`) matching files of the release (one artifact each).
    pub pattern: Option<String>,
    /// A GitHub release (`owner/repo@tag`): `assets` picks its files.
    pub github: Option<GithubRelease>,
    /// With `github`: asset names, or globs (`*`, `?`), one artifact per asset.
    #[serde(default)]
    pub assets: Vec<String>,
    /// Platforms to take from an image index (`os/arch[/variant]`; default: all).
    #[serde(default)]
    pub platforms: Vec<String>,
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
        for r in &mut self.registries {
            r.ca_file.as_mut().map(fix);
        }
        for a in &mut self.artifacts {
            if a.pypi.is_none() {
                a.file.as_mut().map(fix);
            }
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
        let https = |url: &Option<Url>, what: &str| match url {
            Some(u) if u.scheme() != "https" => Err(format!("{what} {u} must be https://")),
            _ => Ok(()),
        };
        https(
            &self.npm.as_ref().and_then(|n| n.registry.clone()),
            "npm registry",
        )?;
        https(
            &self.pypi.as_ref().and_then(|p| p.index.clone()),
            "pypi index",
        )?;
        https(
            &self.github.as_ref().and_then(|g| g.api.clone()),
            "github api",
        )?;
        for (i, r) in self.registries.iter().enumerate() {
            if self.registries[..i].iter().any(|o| o.host == r.host) {
                return Err(format!("registry {:?} is listed twice", r.host));
            }
            for (j, m) in r.mirrors.iter().enumerate() {
                if m.host() == r.host {
                    return Err(format!(
                        "registry {:?}: mirror {m} is the registry itself",
                        r.host
                    ));
                }
                if r.mirrors[..j].contains(m) {
                    return Err(format!("registry {:?}: mirror {m} is listed twice", r.host));
                }
            }
        }
        for (i, a) in self.artifacts.iter().enumerate() {
            let sources = [
                a.file.is_some() && a.pypi.is_none(),
                a.oci_layout.is_some(),
                a.image.is_some(),
                a.url.is_some(),
                a.npm.is_some(),
                a.pypi.is_some(),
                a.github.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(format!(
                    "artifact {}: give exactly one of file, oci_layout, image, url, npm, pypi and github",
                    i + 1
                ));
            }
            if a.github.is_some() == a.assets.is_empty() {
                return Err(format!(
                    "artifact {}: github needs assets (names or patterns), and assets need github",
                    i + 1
                ));
            }
            if let Some(asset) = a
                .assets
                .iter()
                .find(|n| n.is_empty() || n.contains(['/', '\\']) || n.starts_with('.'))
            {
                return Err(format!(
                    "artifact {}: asset {asset:?} is not a file name or pattern",
                    i + 1
                ));
            }
            if (a.bundle_url.is_some() || a.sha256.is_some()) && a.url.is_none() {
                return Err(format!(
                    "artifact {}: bundle_url and sha256 need a url",
                    i + 1
                ));
            }
            for (field, url) in [("url", &a.url), ("bundle_url", &a.bundle_url)] {
                if let Some(url) = url
                    && url.scheme() != "https"
                {
                    return Err(format!("artifact {}: {field} {url} is not https://", i + 1));
                }
            }
            if a.url.is_some() && a.url_file_name().is_none() {
                return Err(format!(
                    "artifact {}: url names no file (its path ends in /)",
                    i + 1
                ));
            }
            if a.sha256.is_some() && a.pinned_sha256().is_none() {
                return Err(format!(
                    "artifact {}: sha256 must be 64 lowercase hex digits",
                    i + 1
                ));
            }
            if a.pypi.is_some() && a.file.is_some() == a.pattern.is_some() {
                return Err(format!(
                    "artifact {}: pypi needs exactly one of file (the release's file name) and pattern",
                    i + 1
                ));
            }
            if a.pattern.is_some() && a.pypi.is_none() {
                return Err(format!("artifact {}: pattern needs pypi", i + 1));
            }
            if a.pypi.is_some()
                && let Some(name) = &a.file
                && (name.components().count() != 1 || name.to_str().is_none())
            {
                return Err(format!(
                    "artifact {}: with pypi, file is the release's file name, not a path",
                    i + 1
                ));
            }
            if !a.platforms.is_empty() && a.image.is_none() {
                return Err(format!("artifact {}: platforms needs an image", i + 1));
            }
            if let Some(p) = a.platforms.iter().find(|p| !valid_platform(p)) {
                return Err(format!(
                    "artifact {}: platform {p:?} is not os/architecture[/variant]",
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

/// `os/architecture` or `os/architecture/variant`, each part of `a-z 0-9 _ . -`.
fn valid_platform(platform: &str) -> bool {
    let parts: Vec<&str> = platform.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
                })
        })
}

impl ArtifactSpec {
    /// The `sha256` pin as a digest, if given and well formed.
    pub fn pinned_sha256(&self) -> Option<crate::archive::Sha256Digest> {
        let hex = self.sha256.as_deref()?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        format!("sha256:{hex}").parse().ok()
    }

    /// The file name a `url` source is packed under: the URL path's last segment.
    pub fn url_file_name(&self) -> Option<String> {
        self.url
            .as_ref()?
            .path_segments()?
            .next_back()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// The artifact's name: as given, else the image or package as written, or its file or
    /// folder name (a `url`'s last path segment).
    pub fn resolved_name(&self) -> String {
        if let (None, Some(image)) = (&self.name, &self.image) {
            return image.to_string();
        }
        if let (None, Some(name)) = (&self.name, self.url_file_name()) {
            return name;
        }
        if self.name.is_none()
            && let Some(source) = self.package()
        {
            return match source {
                PackageSource::Npm(p) => p.to_string(),
                PackageSource::Pypi { select, .. } => match select {
                    FileSelect::Exact(name) => name,
                    FileSelect::Pattern(_) => self
                        .pypi
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                },
                PackageSource::Github { release, .. } => release.to_string(),
            };
        }
        self.name.clone().unwrap_or_else(|| {
            self.file
                .as_ref()
                .or(self.oci_layout.as_ref())
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
    }

    /// The package it names (`npm`, `pypi` with `file` or `pattern`, or `github` with
    /// `assets`), if any.
    pub fn package(&self) -> Option<PackageSource> {
        if let Some(npm) = &self.npm {
            return Some(PackageSource::Npm(npm.clone()));
        }
        if let Some(release) = &self.github {
            return Some(PackageSource::Github {
                release: release.clone(),
                assets: self
                    .assets
                    .iter()
                    .map(|a| FileSelect::from_text(a))
                    .collect(),
            });
        }
        let release = self.pypi.clone()?;
        let select = match (&self.file, &self.pattern) {
            (_, Some(pattern)) => FileSelect::Pattern(pattern.clone()),
            (Some(file), None) => FileSelect::Exact(file.to_string_lossy().into_owned()),
            (None, None) => return None,
        };
        Some(PackageSource::Pypi { release, select })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Spec, SpecError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.toml");
        std::fs::write(&path, format!("[publisher]\nname = \"p\"\n{text}")).unwrap();
        Spec::load(&path)
    }

    #[test]
    fn a_pypi_file_names_the_release_file_not_a_local_path() {
        let spec = load(
            "[[artifact]]\npypi = \"demo==1.0\"\nfile = \"demo-1.0-py3-none-any.whl\"\n\
             [[artifact]]\nnpm = \"@scope/demo@1.0.0\"\n",
        )
        .unwrap();
        let a = &spec.artifacts[0];
        assert_eq!(
            a.file.as_deref(),
            Some(Path::new("demo-1.0-py3-none-any.whl"))
        );
        assert_eq!(a.resolved_name(), "demo-1.0-py3-none-any.whl");
        assert!(matches!(
            a.package(),
            Some(PackageSource::Pypi { select: FileSelect::Exact(n), .. }) if n == "demo-1.0-py3-none-any.whl"
        ));
        assert_eq!(spec.artifacts[1].resolved_name(), "@scope/demo@1.0.0");
    }

    #[test]
    fn registry_mirrors_parse_and_refuse_themselves_and_repeats() {
        let spec = load(
            "[[registry]]\nhost = \"r.example\"\nmirrors = [\"m.example:5000\", \"c.example/hub\"]\n",
        )
        .unwrap();
        let mirrors: Vec<String> = spec.registries[0]
            .mirrors
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(mirrors, ["m.example:5000", "c.example/hub"]);
        let err = |text: &str| load(text).unwrap_err().to_string();
        assert!(
            err("[[registry]]\nhost = \"r.example\"\nmirrors = [\"r.example/x\"]\n")
                .ends_with("registry \"r.example\": mirror r.example/x is the registry itself"),
        );
        assert!(
            err("[[registry]]\nhost = \"r.example\"\nmirrors = [\"m.example\", \"m.example\"]\n")
                .ends_with("registry \"r.example\": mirror m.example is listed twice"),
        );
        assert!(
            err("[[registry]]\nhost = \"r.example\"\nmirrors = [\"https://m.example\"]\n")
                .contains("write the mirror without a scheme"),
        );
    }

    #[test]
    fn package_sources_refuse_what_they_cannot_mean() {
        let err = |text: &str| load(text).unwrap_err().to_string();
        assert!(err("[[artifact]]\npypi = \"demo==1.0\"\n").ends_with(
            "artifact 1: pypi needs exactly one of file (the release's file name) and pattern"
        ));
        assert!(
            err("[[artifact]]\nnpm = \"demo@1.0.0\"\nimage = \"r.example/a:1\"\n").ends_with(
                "artifact 1: give exactly one of file, oci_layout, image, url, npm, pypi and github"
            )
        );
        assert!(
            err("[[artifact]]\npypi = \"demo==1.0\"\nfile = \"../demo.whl\"\n")
                .ends_with("artifact 1: with pypi, file is the release's file name, not a path")
        );
        assert!(
            err("[[artifact]]\nfile = \"a\"\npattern = \"*.whl\"\n")
                .ends_with("artifact 1: pattern needs pypi")
        );
        assert!(err("[[artifact]]\nnpm = \"demo@^1\"\n").contains("the version must be exact"));
        assert!(
            err("[npm]\nregistry = \"http://registry.example\"\n")
                .ends_with("npm registry http://registry.example/ must be https://")
        );
    }

    #[test]
    fn a_github_source_takes_assets_as_names_or_patterns() {
        let spec = load(
            "[github]\napi = \"https://ghe.example/api/v3\"\n\
             [[artifact]]\ngithub = \"org/tool@v1.0.0\"\nassets = [\"tool-linux\", \"*.deb\"]\n",
        )
        .unwrap();
        let a = &spec.artifacts[0];
        assert_eq!(a.resolved_name(), "org/tool@v1.0.0");
        assert!(matches!(
            a.package(),
            Some(PackageSource::Github { assets, .. })
                if assets == [FileSelect::Exact("tool-linux".into()), FileSelect::Pattern("*.deb".into())]
        ));
        let err = |text: &str| load(text).unwrap_err().to_string();
        assert!(err("[[artifact]]\ngithub = \"org/tool@v1\"\n").ends_with(
            "artifact 1: github needs assets (names or patterns), and assets need github"
        ));
        assert!(
            err("[[artifact]]\ngithub = \"org/tool@v1\"\nassets = [\"../x\"]\n")
                .ends_with("artifact 1: asset \"../x\" is not a file name or pattern")
        );
        assert!(
            err("[github]\napi = \"http://ghe.example\"\n")
                .ends_with("github api http://ghe.example/ must be https://")
        );
        assert!(
            err("[[artifact]]\ngithub = \"org@v1\"\nassets = [\"x\"]\n")
                .contains("write owner/repo@tag")
        );
    }

    fn check(artifact: &str) -> Result<Spec, String> {
        let text = format!("[publisher]\nname = \"p\"\n\n[[artifact]]\n{artifact}");
        let spec: Spec = toml::from_str(&text).map_err(|e| e.to_string())?;
        spec.check()?;
        Ok(spec)
    }

    #[test]
    fn a_url_source_is_https_names_a_file_and_alone_takes_bundle_url_and_sha256() {
        let pin = "ab".repeat(32);
        let spec = check(&format!(
            "url = \"https://dl.example/v1/tool.tar.gz\"\nbundle_url = \"https://dl.example/v1/tool.tar.gz.sigstore.json\"\nsha256 = \"{pin}\"\n"
        ))
        .unwrap();
        let a = &spec.artifacts[0];
        assert_eq!(a.resolved_name(), "tool.tar.gz");
        assert_eq!(a.pinned_sha256().unwrap().hex(), pin);

        for (artifact, error) in [
            (
                "url = \"http://dl.example/tool\"\n".to_owned(),
                "artifact 1: url http://dl.example/tool is not https://",
            ),
            (
                "url = \"https://dl.example/tool\"\nbundle_url = \"http://dl.example/b\"\n"
                    .to_owned(),
                "artifact 1: bundle_url http://dl.example/b is not https://",
            ),
            (
                "url = \"https://dl.example/dir/\"\n".to_owned(),
                "artifact 1: url names no file (its path ends in /)",
            ),
            (
                "url = \"https://dl.example/tool\"\nsha256 = \"AB\"\n".to_owned(),
                "artifact 1: sha256 must be 64 lowercase hex digits",
            ),
            (
                "file = \"tool\"\nsha256 = \"ab\"\n".to_owned(),
                "artifact 1: bundle_url and sha256 need a url",
            ),
            (
                "file = \"tool\"\nurl = \"https://dl.example/tool\"\n".to_owned(),
                "artifact 1: give exactly one of file, oci_layout, image, url, npm, pypi and github",
            ),
        ] {
            assert_eq!(check(&artifact).unwrap_err(), error, "{artifact}");
        }
    }
}
