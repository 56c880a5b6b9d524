//! What package registries publish about a release, and how it is read: package names
//! (`NpmPackage`, `PypiRelease`), which files a spec entry selects (`FileSelect`), a file
//! located with its digest and where its evidence is (`Located`), the bundles found for it
//! (`FoundBundle`, sorted by `sort_bundle`), and HTTPS with the registries' limits and
//! redirect rules (`PackageHttp`). The sources (`npm.rs`, `pypi.rs`, `github.rs`) read
//! their registries through it; `package.rs` plans and pulls with what they find.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use airlock_trust_root::{Bundle, ClaimedSigner, MAX_BUNDLE_SIZE};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha512};
use url::Url;

use super::error::Problem;
use super::referrers::EvidenceKind;
use super::store::{BlobStore, Written};
use crate::archive::Sha256Digest;
use crate::fetch::{FetchError, HttpClient, classify};
/// The largest metadata document read (a version document, an attestations or provenance
/// document).
pub(crate) const MAX_METADATA: u64 = 8 << 20;
/// SLSA provenance predicates: such a bundle is also an attestation the site's SLSA rules read.
pub const SLSA_PROVENANCE_PREDICATES: [&str; 2] = [
    "https://slsa.dev/provenance/v1",
    "https://slsa.dev/provenance/v0.2",
];
/// The longest a package download may go without receiving a byte.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Read size while streaming a package file.
const CHUNK: usize = 1 << 20;
/// The longest package name, version or file name accepted.
const MAX_NAME: usize = 256;
/// Redirects followed from a registry URL (each to https://).
const MAX_REDIRECTS: usize = 5;

/// `name@version` or `@scope/name@version`: one exact version of an npm package.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct NpmPackage {
    name: String,
    version: String,
}

impl NpmPackage {
    /// Parses `name@version` (npm's name characters, `@scope/` allowed; capitals only as
    /// legacy packages such as `JSONStream` have them) with an exact version.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("npm {text:?}: {why}");
        let at = text
            .get(1..)
            .and_then(|rest| rest.rfind('@'))
            .map(|i| i + 1)
            .ok_or_else(|| bad("write name@version (an exact version)"))?;
        let (name, version) = (&text[..at], &text[at + 1..]);
        let bare = match name.strip_prefix('@') {
            Some(scoped) => {
                let (scope, bare) = scoped
                    .split_once('/')
                    .ok_or_else(|| bad("a scoped name is @scope/name"))?;
                if !valid_npm_part(scope) {
                    return Err(bad("the scope is not an npm name"));
                }
                bare
            }
            None => name,
        };
        if !valid_npm_part(bare) || name.len() > 214 {
            return Err(bad(
                "the name must be 1 to 214 of A-Z a-z 0-9 - . _ ~ (not starting with . or _)",
            ));
        }
        if !valid_version(version) {
            return Err(bad(
                "the version must be exact (1 to 256 of A-Z a-z 0-9 . + - _, no ranges)",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            version: version.to_owned(),
        })
    }

    /// The package name (`@scope/name` or `name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }
}

impl TryFrom<String> for NpmPackage {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl std::fmt::Display for NpmPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

fn valid_npm_part(part: &str) -> bool {
    !part.is_empty()
        && !part.starts_with(['.', '_'])
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= MAX_NAME
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-' | b'_' | b'!'))
        && version.bytes().any(|b| b.is_ascii_digit())
}

/// `project==version`: one release of a PyPI project.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PypiRelease {
    project: String,
    version: String,
}

impl PypiRelease {
    /// Parses `project==version` (PEP 508 names, an exact version).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("pypi {text:?}: {why}");
        let (project, version) = text
            .split_once("==")
            .ok_or_else(|| bad("write project==version (an exact version)"))?;
        let (project, version) = (project.trim(), version.trim());
        let name_ok = !project.is_empty()
            && project.len() <= MAX_NAME
            && project
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && project.starts_with(|c: char| c.is_ascii_alphanumeric())
            && project.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !name_ok {
            return Err(bad(
                "the project name must be A-Z a-z 0-9 - . _, starting and ending with a letter or digit",
            ));
        }
        if !valid_version(version) {
            return Err(bad(
                "the version must be exact (1 to 256 of A-Z a-z 0-9 . + - _ !)",
            ));
        }
        Ok(Self {
            project: project.to_owned(),
            version: version.to_owned(),
        })
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.version
    }
}

impl TryFrom<String> for PypiRelease {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl std::fmt::Display for PypiRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}=={}", self.project, self.version)
    }
}

/// Which files of a PyPI release (or GitHub release assets) to pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSelect {
    /// Exactly this file name.
    Exact(String),
    /// Every file whose name matches this glob (`*` any run, `?` one character); at least
    /// one must.
    Pattern(String),
}

impl FileSelect {
    /// A pattern if `text` holds `*` or `?`, else an exact name.
    pub fn from_text(text: &str) -> Self {
        if text.contains(['*', '?']) {
            FileSelect::Pattern(text.to_owned())
        } else {
            FileSelect::Exact(text.to_owned())
        }
    }
}

impl FileSelect {
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            FileSelect::Exact(exact) => exact == name,
            FileSelect::Pattern(pattern) => glob(pattern.as_bytes(), name.as_bytes()),
        }
    }

    /// The `items` (named by `name`) this selects: at least one, else `NoSuchFile` listing
    /// every name there is (`none` when there are none).
    pub(crate) fn pick<'a, T>(
        &self,
        items: &'a [T],
        name: impl Fn(&T) -> &str,
        none: &str,
    ) -> Result<Vec<&'a T>, Problem> {
        let matching: Vec<&T> = items.iter().filter(|i| self.matches(name(i))).collect();
        if matching.is_empty() {
            let available: Vec<&str> = items.iter().map(&name).collect();
            return Err(Problem::NoSuchFile {
                looked: self.to_string(),
                available: if available.is_empty() {
                    none.to_owned()
                } else {
                    available.join(", ")
                },
            });
        }
        Ok(matching)
    }
}

impl std::fmt::Display for FileSelect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileSelect::Exact(name) => write!(f, "no file named {name}"),
            FileSelect::Pattern(pattern) => write!(f, "no file matching {pattern}"),
        }
    }
}

/// `*` matches any run of characters, `?` any one; everything else itself.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(c) if *c == b'?' || *c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

/// A Sigstore bundle the registry publishes for the file.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedPackageEvidence {
    /// The document it came from.
    pub url: String,
    /// Its place in that document (0-based).
    pub position: usize,
    /// Where it goes in the manifest (empty: ignored).
    pub kinds: Vec<EvidenceKind>,
    /// The bundle's digest as packed (PyPI's are converted to bundle JSON first); `None`:
    /// its bytes could not be read (see `ignored`).
    pub digest: Option<Sha256Digest>,
    /// Its size.
    pub size: u64,
    /// The predicate type of its statement (else as the registry lists it).
    pub predicate_type: Option<String>,
    /// The signer the bundle names, unverified (SAN and issuer, or key hint).
    pub signer: Option<String>,
    /// Why it is not packed.
    pub ignored: Option<String>,
}

/// A bundle held in memory with its plan entry.
#[derive(Debug, Clone)]
pub(crate) struct FoundBundle {
    pub(crate) planned: PlannedPackageEvidence,
    pub(crate) bytes: Vec<u8>,
}

/// What the registry's metadata says about the file.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) file_name: String,
    pub(crate) url: Url,
    /// The `Accept` header the download needs (GitHub's asset API URL answers
    /// `application/octet-stream` with the bytes).
    pub(crate) accept: Option<&'static str>,
    pub(crate) expected: Expected,
    pub(crate) size: Option<u64>,
    pub(crate) metadata_url: Url,
    /// Where the bundles are; `None`: the registry names none.
    pub(crate) evidence_url: Option<Url>,
}

pub(crate) use super::store::Expected;

/// A JSON document and its `Link` header, if any.
pub(crate) type Paged = (Vec<u8>, Option<String>);

/// HTTPS for one package registry: the bundler's client (https only), redirects followed
/// here (each to https://), a bearer token sent only to the registry's own origin — never
/// to a host a redirect leads to (GitHub's asset downloads redirect to its CDN).
#[derive(Debug, Clone)]
pub(crate) struct PackageHttp {
    agent: ureq::Agent,
    base: Url,
    token: Option<String>,
    /// Headers for the registry's own origin (GitHub's API version).
    headers: &'static [(&'static str, &'static str)],
    /// The `Accept` header of its JSON documents.
    json: &'static str,
}

impl PackageHttp {
    pub(crate) fn new(client: &HttpClient, base: &Url, token: Option<String>) -> Self {
        Self {
            agent: client.agent().clone(),
            base: base.clone(),
            token,
            headers: &[],
            json: "application/json",
        }
    }

    /// For an API with a JSON media type and headers of its own (GitHub's REST API and its
    /// version), sent to the registry's own origin only.
    pub(crate) fn with_api(
        self,
        json: &'static str,
        headers: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            headers,
            json,
            ..self
        }
    }

    /// `path` below the registry's base URL.
    pub(crate) fn url(&self, path: &str) -> Result<Url, Problem> {
        crate::fetch::join(&self.base, path).map_err(Problem::Fetch)
    }

    /// GETs `url` asking for `accept`: a JSON document, or (`long`) a file that may take
    /// long but must keep arriving. Redirects are followed here, at most
    /// [`MAX_REDIRECTS`], each to https://; the token goes only to the base's origin.
    fn call(
        &self,
        url: &Url,
        accept: Option<&str>,
        long: bool,
    ) -> Result<ureq::http::Response<ureq::Body>, Problem> {
        crate::fetch::require_https(url)?;
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.agent.get(current.as_str());
            if let Some(accept) = accept {
                request = request.header("Accept", accept);
            }
            if current.origin() == self.base.origin() {
                for (name, value) in self.headers {
                    request = request.header(*name, *value);
                }
                if let Some(token) = &self.token {
                    request = request.header("Authorization", format!("Bearer {token}"));
                }
            }
            let config = request.config().max_redirects(0);
            let result = if long {
                config
                    .timeout_global(None)
                    .timeout_per_read(Some(READ_TIMEOUT))
                    .build()
                    .call()
            } else {
                config.build().call()
            };
            let response = result.map_err(|e| Problem::Fetch(classify(&current, e)))?;
            if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(response);
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Problem::Malformed {
                    what: format!("redirect from {current}"),
                    reason: "no Location header".to_owned(),
                })?;
            let next = current.join(location).map_err(|e| Problem::Malformed {
                what: format!("redirect from {current}"),
                reason: format!("Location {location:?}: {e}"),
            })?;
            if next.scheme() != "https" {
                return Err(Problem::InsecureRedirect {
                    url: url.to_string(),
                    to: next.to_string(),
                });
            }
            current = next;
        }
        Err(Problem::Fetch(FetchError::Transport {
            url: url.to_string(),
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        }))
    }

    /// GETs a JSON document of at most [`MAX_METADATA`] bytes; `None` on 404.
    pub(crate) fn document(&self, url: &Url, what: &str) -> Result<Option<Vec<u8>>, Problem> {
        Ok(self.document_paged(url, what)?.map(|(bytes, _)| bytes))
    }

    /// As [`PackageHttp::document`], with the response's `Link` header (pagination).
    pub(crate) fn document_paged(&self, url: &Url, what: &str) -> Result<Option<Paged>, Problem> {
        self.bounded(url, Some(self.json), what)
    }

    /// GETs whatever `url` serves (a compressed bundle), at most [`MAX_METADATA`] bytes;
    /// `None` on 404.
    pub(crate) fn small_file(&self, url: &Url, what: &str) -> Result<Option<Vec<u8>>, Problem> {
        Ok(self.bounded(url, None, what)?.map(|(bytes, _)| bytes))
    }

    fn bounded(
        &self,
        url: &Url,
        accept: Option<&str>,
        what: &str,
    ) -> Result<Option<Paged>, Problem> {
        let response = self.call(url, accept, false)?;
        match response.status().as_u16() {
            404 => return Ok(None),
            200..=299 => {}
            status => {
                return Err(Problem::Fetch(FetchError::Status {
                    url: url.to_string(),
                    status,
                }));
            }
        }
        let link = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_METADATA + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| transport(url, e))?;
        if bytes.len() as u64 > MAX_METADATA {
            return Err(Problem::ManifestTooLarge {
                what: what.to_owned(),
                limit: MAX_METADATA,
            });
        }
        Ok(Some((bytes, link)))
    }

    /// Streams the file into `store`, hashing it (SHA-256 and, for npm, SHA-512) as it
    /// arrives; it is kept only if it is what the metadata names and at most `limit` bytes.
    /// `stop` set (another download failed) ends it between reads.
    pub(crate) fn download(
        &self,
        located: &Located,
        store: &BlobStore,
        limit: u64,
        stop: &AtomicBool,
        advance: &dyn Fn(u64),
    ) -> Result<(Sha256Digest, Written), Problem> {
        let url = &located.url;
        let what = format!("file {}", located.file_name);
        let response = self.call(url, located.accept, true)?;
        match response.status().as_u16() {
            404 => {
                return Err(Problem::PackageNotFound {
                    what,
                    url: url.to_string(),
                });
            }
            200..=299 => {}
            status => {
                return Err(Problem::Fetch(FetchError::Status {
                    url: url.to_string(),
                    status,
                }));
            }
        }
        let max = limit;
        let limit = located.size.map_or(max, |s| s.min(max));
        let mut partial = store.partial()?;
        let mut sha512 = Sha512::new();
        let mut reader = response.into_body().into_reader().take(limit + 1);
        let mut buffer = vec![0u8; CHUNK];
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err(Problem::Stopped);
            }
            let n = reader.read(&mut buffer).map_err(|e| transport(url, e))?;
            if n == 0 {
                break;
            }
            partial.write(&buffer[..n])?;
            sha512.update(&buffer[..n]);
            advance(n as u64);
            if partial.size() > limit {
                return Err(match located.size {
                    // More than the registry says the file has (at least one byte more).
                    Some(expected) if expected <= max => Problem::SizeMismatch {
                        what,
                        expected,
                        actual: partial.size(),
                    },
                    _ => Problem::ManifestTooLarge { what, limit },
                });
            }
        }
        if let Some(size) = located.size
            && partial.size() != size
        {
            return Err(Problem::SizeMismatch {
                what,
                expected: size,
                actual: partial.size(),
            });
        }
        match located.expected {
            Expected::Sha256(digest) => {
                let size = partial.size();
                let written = partial.finish(store, &digest, size, &what)?;
                Ok((digest, written))
            }
            Expected::Sha512(expected) => {
                let actual: [u8; 64] = sha512.finalize().into();
                if actual != expected {
                    return Err(Problem::IntegrityMismatch {
                        what: format!("tarball {url}"),
                        expected: integrity(&expected),
                        actual: integrity(&actual),
                    });
                }
                let (digest, written) = partial.finish_as_hashed(store)?;
                store.alias_sha512(&expected, &digest)?;
                Ok((digest, written))
            }
            Expected::Unknown => partial.finish_as_hashed(store),
        }
    }
}

/// `sha512-<base64>` as npm writes it.
pub(crate) fn integrity(sha512: &[u8; 64]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha512)
    )
}

pub(crate) fn transport(url: &Url, e: std::io::Error) -> Problem {
    Problem::Fetch(FetchError::Transport {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// Sorts a bundle: a managed-key bundle (npm's own publish attestation, signed with the
/// registry's key) is ignored, as no trusted root carries that key; a keyless SLSA provenance
/// bundle both signs the file (its certificate names the build's identity) and is an
/// attestation; any other keyless bundle signs it.
pub(crate) fn sort_bundle(
    bytes: Vec<u8>,
    url: &Url,
    position: usize,
    listed_predicate: Option<String>,
) -> FoundBundle {
    let digest = Sha256Digest::of(&bytes);
    let mut planned = PlannedPackageEvidence {
        url: url.to_string(),
        position,
        kinds: Vec::new(),
        digest: Some(digest),
        size: bytes.len() as u64,
        predicate_type: listed_predicate,
        signer: None,
        ignored: None,
    };
    if bytes.len() > MAX_BUNDLE_SIZE {
        planned.ignored = Some(format!(
            "larger than the {MAX_BUNDLE_SIZE} bytes a bundle may be"
        ));
        return FoundBundle { planned, bytes };
    }
    match Bundle::from_json(&bytes) {
        Ok(bundle) => {
            let signer = bundle.claimed_signer();
            planned.signer = Some(signer.to_string());
            // What the statement itself says wins over the registry's label for it.
            if let Some(statement) = bundle.claimed_statement() {
                planned.predicate_type = Some(statement.predicate_type);
            }
            match signer {
                ClaimedSigner::KeyHint(hint) => {
                    planned.ignored = Some(format!(
                        "signed with the registry's managed key {hint}, which no trusted root carries"
                    ));
                }
                ClaimedSigner::Certificate { .. } => {
                    planned.kinds.push(EvidenceKind::Bundle);
                    if planned
                        .predicate_type
                        .as_deref()
                        .is_some_and(|p| SLSA_PROVENANCE_PREDICATES.contains(&p))
                    {
                        planned.kinds.push(EvidenceKind::Attestation);
                    }
                }
            }
        }
        // Kept as a signature, so preflight names it failing rather than it being dropped.
        Err(e) => {
            planned.signer = Some(format!("unreadable bundle: {e}"));
            planned.kinds.push(EvidenceKind::Bundle);
        }
    }
    FoundBundle { planned, bytes }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn npm_names_scoped_and_plain_parse_with_an_exact_version() {
        let p = NpmPackage::parse("@sigstore/mock@0.1.0").unwrap();
        assert_eq!((p.name(), p.version()), ("@sigstore/mock", "0.1.0"));
        let p = NpmPackage::parse("left-pad@1.3.0").unwrap();
        assert_eq!((p.name(), p.version()), ("left-pad", "1.3.0"));
        assert!(NpmPackage::parse("left-pad").is_err());
        assert!(NpmPackage::parse("left-pad@^1.0.0").is_err());
        assert!(NpmPackage::parse("@scope@1.0.0").is_err());
        assert!(NpmPackage::parse("JSONStream@1.3.5").is_ok());
        assert!(NpmPackage::parse("a b@1.0.0").is_err());
        assert!(NpmPackage::parse("../x@1.0.0").is_err());
    }

    #[test]
    fn pypi_releases_need_an_exact_version() {
        let r = PypiRelease::parse("sampleproject==4.0.0").unwrap();
        assert_eq!((r.project(), r.version()), ("sampleproject", "4.0.0"));
        assert!(PypiRelease::parse("sampleproject>=4").is_err());
        assert!(PypiRelease::parse("../x==1").is_err());
        assert!(PypiRelease::parse("x==1/../2").is_err());
    }

    #[test]
    fn glob_matches_runs_and_single_characters() {
        assert!(glob(b"*.whl", b"demo-1.0-py3-none-any.whl"));
        assert!(glob(b"demo-?.0-*-any.whl", b"demo-1.0-py3-none-any.whl"));
        assert!(!glob(b"*.whl", b"demo-1.0.tar.gz"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"a*b", b"acbx"));
        assert!(glob(b"a*b*c", b"aXbYbZc"));
    }
}
