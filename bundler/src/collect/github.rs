//! GitHub releases (`github = "owner/repo@tag"` with `assets = [...]`): the REST API's
//! release document (`GET {api}/repos/{owner}/{repo}/releases/tags/{tag}`) lists the assets,
//! each with its size, its API URL (downloaded with `Accept: application/octet-stream`,
//! which GitHub answers with a redirect to its CDN, where the token is not sent) and, on
//! releases since mid-2025, its `digest` (`sha256:<hex>`). Artifact attestations are looked
//! up by that digest (`GET {api}/repos/{owner}/{repo}/attestations/sha256:{hex}`, paginated
//! with a `Link` header); for an asset without a `digest` they are looked up once the
//! download has been hashed. Each attestation's `bundle` is a Sigstore bundle: SLSA
//! provenance signs the asset and is an attestation (as npm's is), any other predicate is an
//! attestation, and an SBOM predicate (SPDX, CycloneDX) is also packed as the asset's SBOM.
//! Nothing here is trusted: preflight verifies every bundle against the asset's digest.

use airlock_trust_root::MAX_BUNDLE_SIZE;
use serde::Deserialize;
use url::Url;

use super::error::Problem;
use super::metadata::{
    Expected, FileSelect, FoundBundle, Located, MAX_METADATA, PackageHttp, PlannedPackageEvidence,
    SLSA_PROVENANCE_PREDICATES, sort_bundle,
};
use super::referrers::EvidenceKind;
use crate::archive::Sha256Digest;
use crate::check::MAX_SBOM_SIZE;

/// The GitHub API asked when neither `--github-api` nor the spec names one.
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";
/// The media type an asset's API URL answers with its bytes for.
pub(crate) const ASSET_ACCEPT: &str = "application/octet-stream";
/// The media type of the API's JSON documents.
pub(crate) const API_ACCEPT: &str = "application/vnd.github+json";
/// The REST API version asked for.
pub(crate) const API_HEADERS: &[(&str, &str)] = &[("X-GitHub-Api-Version", "2022-11-28")];
/// Attestations asked for per page.
const PER_PAGE: usize = 100;
/// Attestation pages followed at most.
const MAX_PAGES: usize = 8;
/// Attestations read per asset at most.
const MAX_BUNDLES: usize = 64;
/// Predicate types of SBOM attestations (as `actions/attest-sbom` writes them), by prefix.
const SBOM_PREDICATE_PREFIXES: [&str; 2] =
    ["https://spdx.dev/Document", "https://cyclonedx.org/bom"];

/// `owner/repo@tag`: one release of a GitHub repository.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct GithubRelease {
    owner: String,
    repo: String,
    tag: String,
}

impl GithubRelease {
    /// Parses `owner/repo@tag` (GitHub's owner and repository characters; a tag of
    /// `A-Z a-z 0-9 . _ - + /`, without `..`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("github {text:?}: {why}");
        let (path, tag) = text
            .split_once('@')
            .ok_or_else(|| bad("write owner/repo@tag"))?;
        let (owner, repo) = path
            .split_once('/')
            .ok_or_else(|| bad("write owner/repo@tag"))?;
        let owner_ok = (1..=39).contains(&owner.len())
            && owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !owner.starts_with('-');
        if !owner_ok {
            return Err(bad("the owner must be 1 to 39 of A-Z a-z 0-9 -"));
        }
        let repo_ok = (1..=100).contains(&repo.len())
            && repo
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            && repo != "."
            && repo != "..";
        if !repo_ok {
            return Err(bad("the repository must be 1 to 100 of A-Z a-z 0-9 - . _"));
        }
        let tag_ok = (1..=256).contains(&tag.len())
            && tag.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'+' | b'/')
            })
            && !tag.starts_with('/')
            && !tag.ends_with('/')
            && !tag.contains("..")
            && !tag.contains("//");
        if !tag_ok {
            return Err(bad(
                "the tag must be 1 to 256 of A-Z a-z 0-9 . _ - + / (no .., no leading or trailing /)",
            ));
        }
        Ok(Self {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            tag: tag.to_owned(),
        })
    }

    /// The owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The repository.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// The tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }
}

impl TryFrom<String> for GithubRelease {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl std::fmt::Display for GithubRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.owner, self.repo, self.tag)
    }
}

#[derive(Debug, Deserialize)]
struct ReleaseDocument {
    tag_name: Option<String>,
    #[serde(default)]
    assets: Vec<Asset>,
}

#[derive(Debug, Deserialize)]
struct Asset {
    name: String,
    size: Option<u64>,
    url: Option<String>,
    browser_download_url: Option<String>,
    digest: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AttestationsPage {
    #[serde(default)]
    attestations: Vec<AttestationEntry>,
}

#[derive(Debug, Deserialize)]
struct AttestationEntry {
    /// Kept as GitHub served it (`null` reads as `None`).
    bundle: Option<Box<serde_json::value::RawValue>>,
    bundle_url: Option<String>,
}

/// Reads the release document and picks the assets `selects` name: each name must be there,
/// each pattern must match at least one (an asset named twice is packed once), in the order
/// the spec names them.
pub(crate) fn locate(
    http: &PackageHttp,
    release: &GithubRelease,
    selects: &[FileSelect],
) -> Result<Vec<Located>, Problem> {
    let metadata_url = http.url(&format!(
        "repos/{}/{}/releases/tags/{}",
        release.owner, release.repo, release.tag
    ))?;
    let what = format!("release document {metadata_url}");
    let bytes = http
        .document(&metadata_url, &what)?
        .ok_or_else(|| Problem::PackageNotFound {
            what: format!("release {}", release.tag),
            url: metadata_url.to_string(),
        })?;
    let malformed = |reason: String| Problem::Malformed {
        what: what.clone(),
        reason,
    };
    let doc: ReleaseDocument =
        serde_json::from_slice(&bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
    if doc.tag_name.as_deref() != Some(release.tag.as_str()) {
        return Err(malformed(format!(
            "it describes tag {}, not {}",
            doc.tag_name.as_deref().unwrap_or("(none)"),
            release.tag
        )));
    }
    let mut picked: Vec<&Asset> = Vec::new();
    for select in selects {
        let matching = select.pick(&doc.assets, |a| a.name.as_str(), "no assets")?;
        for asset in matching {
            if !picked.iter().any(|p| p.name == asset.name) {
                picked.push(asset);
            }
        }
    }
    picked
        .into_iter()
        .map(|asset| {
            let name = &asset.name;
            let plain = asset
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+~".contains(&b));
            if !plain || name.starts_with('.') || name.len() > 255 {
                return Err(malformed(format!(
                    "asset name {name:?} is not a plain file name"
                )));
            }
            let (link, accept) = match (&asset.url, &asset.browser_download_url) {
                (Some(api), _) => (api, Some(ASSET_ACCEPT)),
                (None, Some(browser)) => (browser, None),
                (None, None) => return Err(malformed(format!("asset {name}: no url"))),
            };
            let url = Url::parse(link)
                .map_err(|e| malformed(format!("asset {name}: url {link:?}: {e}")))?;
            crate::fetch::require_https(&url)?;
            let expected = match &asset.digest {
                Some(digest) => Expected::Sha256(
                    digest
                        .strip_prefix("sha256:")
                        .and_then(|hex| Sha256Digest::from_hex(hex).ok())
                        .ok_or_else(|| {
                            malformed(format!(
                                "asset {name}: digest {digest:?} is not sha256:<64 hex digits>"
                            ))
                        })?,
                ),
                None => Expected::Unknown,
            };
            let evidence_url = match &expected {
                Expected::Sha256(d) => Some(attestations_url(http, release, d)?),
                _ => None,
            };
            Ok(Located {
                file_name: name.clone(),
                url,
                accept,
                expected,
                size: asset.size,
                metadata_url: metadata_url.clone(),
                evidence_url,
            })
        })
        .collect()
}

/// Where the attestations for `digest` are listed.
pub(crate) fn attestations_url(
    http: &PackageHttp,
    release: &GithubRelease,
    digest: &Sha256Digest,
) -> Result<Url, Problem> {
    let mut url = http.url(&format!(
        "repos/{}/{}/attestations/sha256:{}",
        release.owner,
        release.repo,
        digest.hex()
    ))?;
    url.query_pairs_mut()
        .append_pair("per_page", &PER_PAGE.to_string());
    Ok(url)
}

/// Lists the attestations for the asset (404 or an empty list: there are none), following
/// `Link: <…>; rel="next"` on the API's origin, and sorts each bundle.
pub(crate) fn bundles(http: &PackageHttp, located: &Located) -> Result<Vec<FoundBundle>, Problem> {
    let Some(first) = &located.evidence_url else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    let mut next = Some(first.clone());
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        let what = format!("attestations {url}");
        if pages > MAX_PAGES {
            return Err(Problem::Malformed {
                what,
                reason: format!("more than {MAX_PAGES} pages of attestations"),
            });
        }
        let Some((bytes, link)) = http.document_paged(&url, &what)? else {
            break;
        };
        let page: AttestationsPage =
            serde_json::from_slice(&bytes).map_err(|e| Problem::Malformed {
                what: what.clone(),
                reason: format!("not an attestations list: {e}"),
            })?;
        for entry in page.attestations {
            let position = found.len();
            if position >= MAX_BUNDLES {
                return Err(Problem::Malformed {
                    what,
                    reason: format!("more than {MAX_BUNDLES} attestations"),
                });
            }
            match entry.bundle {
                Some(bundle) => {
                    found.extend(sort_github_bundle(
                        bundle.get().as_bytes().to_vec(),
                        &url,
                        position,
                    ));
                }
                _ => match entry.bundle_url.as_deref().map(|u| (u, Url::parse(u))) {
                    Some((_, Ok(bundle_url))) => match compressed_bundle(http, &bundle_url)? {
                        Ok(bytes) => found.extend(sort_github_bundle(bytes, &bundle_url, position)),
                        Err(why) => found.push(unread(&bundle_url, position, why)),
                    },
                    Some((text, Err(e))) => {
                        found.push(unread(&url, position, format!("bundle_url {text:?}: {e}")));
                    }
                    None => {
                        found.push(unread(&url, position, "the entry carries no bundle".into()))
                    }
                },
            }
        }
        next = link
            .and_then(|l| next_link(&l))
            .filter(|n| n.origin() == url.origin());
    }
    Ok(found)
}

/// The bundle an entry gives only by `bundle_url`: GitHub keeps those in its storage,
/// snappy-compressed (the raw block format), and the URL is fetched like any other (https
/// only, no token off the API's origin). `Err`: why it is not read (too large, not snappy, not
/// found), for the entry to be listed as ignored.
fn compressed_bundle(http: &PackageHttp, url: &Url) -> Result<Result<Vec<u8>, String>, Problem> {
    let Some(compressed) = http.small_file(url, &format!("attestation bundle {url}"))? else {
        return Ok(Err("its bundle_url answers 404".to_owned()));
    };
    let size = match snap::raw::decompress_len(&compressed) {
        Ok(size) => size,
        Err(e) => return Ok(Err(format!("its bundle_url is not a snappy block: {e}"))),
    };
    if size > MAX_BUNDLE_SIZE {
        return Ok(Err(format!(
            "its bundle_url holds {size} bytes, more than the {MAX_BUNDLE_SIZE} a bundle may be"
        )));
    }
    Ok(snap::raw::Decoder::new()
        .decompress_vec(&compressed)
        .map_err(|e| format!("its bundle_url is not a snappy block: {e}")))
}

/// An attestation not read: shown with why, not packed.
fn unread(url: &Url, position: usize, why: String) -> FoundBundle {
    let planned = PlannedPackageEvidence {
        url: url.to_string(),
        position,
        kinds: Vec::new(),
        digest: None,
        size: 0,
        predicate_type: None,
        signer: None,
        ignored: Some(why),
    };
    FoundBundle {
        planned,
        bytes: Vec::new(),
    }
}

/// Sorts a GitHub attestation: SLSA provenance signs the asset and is an attestation, a
/// message signature signs it; any other predicate is an attestation only; an SBOM
/// predicate's document is also an SBOM.
fn sort_github_bundle(bytes: Vec<u8>, url: &Url, position: usize) -> Vec<FoundBundle> {
    let mut bundle = sort_bundle(bytes, url, position, None);
    if !bundle.planned.kinds.contains(&EvidenceKind::Bundle) {
        return vec![bundle];
    }
    // A statement other than SLSA provenance is an attestation only; a message signature
    // (no statement) over the asset signs it.
    let Some(predicate) = bundle.planned.predicate_type.clone() else {
        return vec![bundle];
    };
    if !SLSA_PROVENANCE_PREDICATES.contains(&predicate.as_str()) {
        bundle.planned.kinds = vec![EvidenceKind::Attestation];
    }
    let mut out = Vec::new();
    if SBOM_PREDICATE_PREFIXES
        .iter()
        .any(|p| predicate.starts_with(p))
        && let Some(sbom) = sbom_document(&bundle.bytes)
    {
        let mut planned = bundle.planned.clone();
        planned.kinds = vec![EvidenceKind::Sbom];
        planned.digest = Some(Sha256Digest::of(&sbom));
        planned.size = sbom.len() as u64;
        out.push(FoundBundle {
            planned,
            bytes: sbom,
        });
    }
    out.insert(0, bundle);
    out
}

/// The SPDX or CycloneDX document an SBOM attestation's statement carries as its predicate.
fn sbom_document(bundle: &[u8]) -> Option<Vec<u8>> {
    let statement = airlock_trust_root::Bundle::from_json(bundle)
        .ok()?
        .claimed_statement()?;
    let p = &statement.predicate;
    let sbom = p["bomFormat"] == "CycloneDX" || p["spdxVersion"].is_string();
    let bytes = serde_json::to_vec(p).ok()?;
    (sbom && bytes.len() as u64 <= MAX_SBOM_SIZE.min(MAX_METADATA)).then_some(bytes)
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<Url> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let rel_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        rel_next.then(|| Url::parse(target).ok()).flatten()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn releases_parse_owner_repo_and_tag() {
        let r = GithubRelease::parse("sigstore/cosign@v2.4.1").unwrap();
        assert_eq!(
            (r.owner(), r.repo(), r.tag()),
            ("sigstore", "cosign", "v2.4.1")
        );
        assert_eq!(r.to_string(), "sigstore/cosign@v2.4.1");
        assert!(GithubRelease::parse("org/tool@release/1.0").is_ok());
        for bad in [
            "sigstore/cosign",
            "cosign@v1",
            "a/b@../x",
            "a/b@",
            "-a/b@v1",
            "a/../b@v1",
            "a/b@v 1",
            "a/b@/v1",
        ] {
            assert!(GithubRelease::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_next_link_is_read_from_a_link_header() {
        let header = "<https://api.example/x?page=2>; rel=\"next\", <https://api.example/x?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(header).unwrap().as_str(),
            "https://api.example/x?page=2"
        );
        assert_eq!(
            next_link("<https://api.example/x?page=5>; rel=\"last\""),
            None
        );
    }
}
