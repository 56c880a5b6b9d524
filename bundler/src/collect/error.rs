//! `CollectError`: what went wrong collecting an image, always naming the image as the spec
//! wrote it, then the problem (`Problem`) in one line.

use std::path::PathBuf;

use crate::archive::Sha256Digest;
use crate::fetch::FetchError;

/// Why an image could not be collected: the image as the spec names it, and the problem.
#[derive(Debug, thiserror::Error)]
#[error("image {image}: {problem}")]
pub struct CollectError {
    /// The image reference as written in the spec.
    pub image: String,
    /// What went wrong.
    pub problem: Problem,
}

/// Why a package could not be collected: the package as the spec names it
/// (`npm package name@1.0.0`, `PyPI project name==1.0`, `GitHub release owner/repo@tag`),
/// and the problem.
#[derive(Debug, thiserror::Error)]
#[error("{package}: {problem}")]
pub struct PackageError {
    /// The package, as messages name it.
    pub package: String,
    /// What went wrong.
    pub problem: Problem,
}

/// One way collecting an image or a package fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The registry has no such manifest, blob or tag (HTTP 404).
    #[error("{what} not found in {registry}/{repository}")]
    NotFound {
        /// `manifest sha256:…`, `tag v1`, `blob sha256:…`.
        what: String,
        /// The registry.
        registry: String,
        /// The repository.
        repository: String,
    },
    /// The registry (or its token service) refused access.
    #[error("registry {registry} refused access: {reason}")]
    AuthRefused {
        /// The registry.
        registry: String,
        /// What was refused and how.
        reason: String,
    },
    /// What the registry sent does not hash to the digest it was asked for.
    #[error("{what}: digest mismatch (expected {expected}, received {actual})")]
    DigestMismatch {
        /// `manifest …`, `blob …`.
        what: String,
        /// The digest asked for.
        expected: Sha256Digest,
        /// The digest of what arrived.
        actual: Sha256Digest,
    },
    /// What the registry sent is not the size its descriptor gives.
    #[error("{what}: size mismatch (expected {expected} bytes, received {actual})")]
    SizeMismatch {
        /// The blob.
        what: String,
        /// The descriptor's size.
        expected: u64,
        /// What arrived (at least).
        actual: u64,
    },
    /// The tag named another manifest at the end of the pull than when it was resolved.
    #[error("tag {tag} moved while the image was pulled (resolved to {resolved}, now {now})")]
    TagMoved {
        /// The tag.
        tag: String,
        /// The digest it was resolved to (and pulled).
        resolved: Sha256Digest,
        /// What it names now (`none` when it is gone).
        now: String,
    },
    /// No referrer carries a Sigstore bundle that could sign the image.
    #[error(
        "no signature found: no Sigstore bundle refers to {digest} (referrers: {discovery}); --allow-unsigned packs it anyway"
    )]
    NoSignature {
        /// The image digest.
        digest: Sha256Digest,
        /// How referrers were looked for.
        discovery: String,
    },
    /// A package registry has no such version, file or document (HTTP 404).
    #[error("{what} not found ({url} answered HTTP 404)")]
    PackageNotFound {
        /// `version 1.0.0`, `file x.tgz`, `its attestations`.
        what: String,
        /// The URL asked.
        url: String,
    },
    /// A package file does not hash to the SHA-512 its registry names (npm's integrity).
    #[error("{what}: integrity mismatch (expected {expected}, received {actual})")]
    IntegrityMismatch {
        /// The file and where it came from.
        what: String,
        /// `sha512-…` as the registry names it.
        expected: String,
        /// `sha512-…` of what arrived.
        actual: String,
    },
    /// A PyPI release has no file the spec names.
    #[error("{looked} in the release (it has: {available})")]
    NoSuchFile {
        /// `no file named x.whl`, `no file matching *.whl`.
        looked: String,
        /// The files it has.
        available: String,
    },
    /// The registry publishes no Sigstore bundle that could sign a package file.
    #[error(
        "no provenance: no Sigstore bundle signs {file} (looked at {looked}); --allow-unsigned packs it anyway"
    )]
    NoProvenance {
        /// The file.
        file: String,
        /// Where bundles were looked for.
        looked: String,
    },
    /// The registry failed too, after its mirrors did not serve what was asked.
    #[error("{problem} (after its mirrors: {mirrors})")]
    AfterMirrors {
        /// The registry's failure.
        problem: Box<Problem>,
        /// What each mirror answered.
        mirrors: String,
    },
    /// A manifest, index or referrers list over the size limit.
    #[error("{what} is larger than {limit} bytes")]
    ManifestTooLarge {
        /// Which document.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// An index loop or indexes nested too deep (the walk's own checks).
    #[error(transparent)]
    Index(crate::oci::OciError),
    /// A redirect to a URL that is not `https://`.
    #[error("{url} redirected to {to}: only https:// is followed")]
    InsecureRedirect {
        /// The URL asked for.
        url: String,
        /// Where the registry sent the client.
        to: String,
    },
    /// A document that is not what the distribution or image spec says it is.
    #[error("{what}: {reason}")]
    Malformed {
        /// Which document.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// `platforms` selects nothing, or a part of an index the site cannot check.
    #[error("{0}")]
    Platforms(String),
    /// Credentials or CA files could not be used.
    #[error("{0}")]
    Config(String),
    /// A download stopped because another one failed (that failure is reported instead).
    #[error("stopped: another download failed")]
    Stopped,
    /// The HTTPS exchange failed (TLS, transport, an unexpected status).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A file in the cache or work folder could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl From<crate::oci::OciError> for Problem {
    /// A malformed document or a size mismatch is the same problem however it was met; the
    /// walk's own structural checks keep their own error.
    fn from(e: crate::oci::OciError) -> Self {
        use crate::oci::OciError;
        match e {
            OciError::Malformed { what, reason } => Problem::Malformed { what, reason },
            OciError::SizeMismatch {
                what,
                expected,
                actual,
            } => Problem::SizeMismatch {
                what,
                expected,
                actual,
            },
            index => Problem::Index(index),
        }
    }
}

impl Problem {
    /// This problem, for `image`.
    pub(crate) fn at(self, image: &str) -> CollectError {
        CollectError {
            image: image.to_owned(),
            problem: self,
        }
    }

    /// This problem, for a package (`npm package name@1.0.0`).
    pub(crate) fn for_package(self, package: &str) -> PackageError {
        PackageError {
            package: package.to_owned(),
            problem: self,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Problem {
        let path = path.into();
        move |source| Problem::Io { path, source }
    }
}
