//! npm: a version document (`GET {registry}/{name}/{version}`) names the tarball, its
//! `dist.integrity` (`sha512-<base64>`) and `dist.attestations.url`, a document of Sigstore
//! bundles (`{"attestations":[{"predicateType":…,"bundle":{…}}]}`): SLSA provenance from the
//! build, and npm's publish attestation (signed with the registry's own key).

use base64::Engine as _;
use serde::Deserialize;
use url::Url;

use super::error::Problem;
use super::metadata::{Expected, FoundBundle, Located, NpmPackage, PackageHttp, sort_bundle};

/// The largest number of bundles read from an attestations document.
const MAX_BUNDLES: usize = 16;

#[derive(Debug, Deserialize)]
struct VersionDocument {
    name: Option<String>,
    version: Option<String>,
    dist: Option<Dist>,
}

#[derive(Debug, Deserialize)]
struct Dist {
    tarball: Option<String>,
    integrity: Option<String>,
    attestations: Option<AttestationsRef>,
}

#[derive(Debug, Deserialize)]
struct AttestationsRef {
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AttestationsDocument {
    attestations: Vec<AttestationEntry>,
}

#[derive(Debug, Deserialize)]
struct AttestationEntry {
    #[serde(rename = "predicateType")]
    predicate_type: Option<String>,
    /// Kept as the registry served it: the packed bytes are the registry's, not a re-encoding.
    bundle: Box<serde_json::value::RawValue>,
}

/// The version document's path: the name with a scope's `/` escaped, as npm's API takes it.
fn version_path(package: &NpmPackage) -> String {
    format!(
        "{}/{}",
        package.name().replace('/', "%2f"),
        package.version()
    )
}

/// Reads the version document: the tarball, its SHA-512 and where its attestations are.
pub(crate) fn locate(http: &PackageHttp, package: &NpmPackage) -> Result<Located, Problem> {
    let metadata_url = http.url(&version_path(package))?;
    let what = format!("version document {metadata_url}");
    let bytes = http
        .document(&metadata_url, &what)?
        .ok_or_else(|| Problem::PackageNotFound {
            what: format!("version {}", package.version()),
            url: metadata_url.to_string(),
        })?;
    let malformed = |reason: String| Problem::Malformed {
        what: what.clone(),
        reason,
    };
    let doc: VersionDocument =
        serde_json::from_slice(&bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
    if doc.name.as_deref() != Some(package.name())
        || doc.version.as_deref() != Some(package.version())
    {
        return Err(malformed(format!(
            "it describes {}@{}, not {package}",
            doc.name.as_deref().unwrap_or("(no name)"),
            doc.version.as_deref().unwrap_or("(no version)")
        )));
    }
    let dist = doc.dist.ok_or_else(|| malformed("no dist".to_owned()))?;
    let tarball = dist
        .tarball
        .ok_or_else(|| malformed("no dist.tarball".to_owned()))?;
    let url =
        Url::parse(&tarball).map_err(|e| malformed(format!("dist.tarball {tarball:?}: {e}")))?;
    crate::fetch::require_https(&url)?;
    let integrity = dist.integrity.ok_or_else(|| {
        malformed("no dist.integrity (only a sha512 integrity is accepted)".to_owned())
    })?;
    let expected = parse_integrity(&integrity).ok_or_else(|| {
        malformed(format!(
            "dist.integrity {integrity:?} is not sha512-<base64 of 64 bytes>"
        ))
    })?;
    let evidence_url = match dist.attestations.and_then(|a| a.url) {
        Some(u) => {
            let u = Url::parse(&u)
                .map_err(|e| malformed(format!("dist.attestations.url {u:?}: {e}")))?;
            crate::fetch::require_https(&u)?;
            Some(u)
        }
        None => None,
    };
    let file_name = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|n| !n.is_empty())
        .unwrap_or("package.tgz")
        .to_owned();
    Ok(Located {
        file_name,
        url,
        accept: None,
        expected: Expected::Sha512(expected),
        size: None,
        metadata_url,
        evidence_url,
    })
}

/// `sha512-<base64>` (npm may list several space-separated hashes; the SHA-512 one is used).
fn parse_integrity(integrity: &str) -> Option<[u8; 64]> {
    integrity.split_whitespace().find_map(|part| {
        let b64 = part.strip_prefix("sha512-")?;
        let b64 = b64.split('?').next()?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()?
            .try_into()
            .ok()
    })
}

/// Fetches the attestations document and sorts its bundles.
pub(crate) fn bundles(http: &PackageHttp, located: &Located) -> Result<Vec<FoundBundle>, Problem> {
    let Some(url) = &located.evidence_url else {
        return Ok(Vec::new());
    };
    let what = format!("attestations {url}");
    let bytes = http
        .document(url, &what)?
        .ok_or_else(|| Problem::PackageNotFound {
            what: "its attestations".to_owned(),
            url: url.to_string(),
        })?;
    let doc: AttestationsDocument =
        serde_json::from_slice(&bytes).map_err(|e| Problem::Malformed {
            what: what.clone(),
            reason: format!("not an attestations document: {e}"),
        })?;
    if doc.attestations.len() > MAX_BUNDLES {
        return Err(Problem::Malformed {
            what,
            reason: format!(
                "{} attestations (at most {MAX_BUNDLES} are read)",
                doc.attestations.len()
            ),
        });
    }
    Ok(doc
        .attestations
        .into_iter()
        .enumerate()
        .map(|(i, a)| sort_bundle(a.bundle.get().as_bytes().to_vec(), url, i, a.predicate_type))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_read_from_the_sha512_entry() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
        assert_eq!(
            parse_integrity(&format!("sha1-AAAA sha512-{b64}")),
            Some([7u8; 64])
        );
        assert_eq!(parse_integrity("sha1-AAAA"), None);
        assert_eq!(parse_integrity("sha512-AAAA"), None);
    }

    #[test]
    fn a_scoped_name_is_escaped_in_the_version_path() {
        let p = NpmPackage::parse("@scope/name@1.0.0").unwrap();
        assert_eq!(version_path(&p), "@scope%2fname/1.0.0");
    }
}
