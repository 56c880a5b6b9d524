//! PyPI: the JSON API (`GET {index}/pypi/{project}/{version}/json`) lists the release's files
//! in `urls[]` with `digests.sha256`; PEP 740's integrity API
//! (`GET {index}/integrity/{project}/{version}/{file}/provenance`) gives its attestations,
//! each converted here to the Sigstore bundle v0.3 it is (certificate, transparency log
//! entries, DSSE envelope) so the site verifies it like any other bundle.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::error::Problem;
use super::metadata::{
    Expected, FileSelect, FoundBundle, Located, PackageHttp, PypiRelease, sort_bundle,
};
use crate::archive::Sha256Digest;

/// The Sigstore bundle media type PEP 740 attestations become.
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The DSSE payload type of PEP 740 statements.
const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The largest number of attestations read from a provenance document.
const MAX_BUNDLES: usize = 16;

#[derive(Debug, Deserialize)]
struct ReleaseDocument {
    #[serde(default)]
    urls: Vec<ReleaseFile>,
}

#[derive(Debug, Deserialize)]
struct ReleaseFile {
    filename: String,
    url: String,
    size: Option<u64>,
    digests: Digests,
}

#[derive(Debug, Deserialize)]
struct Digests {
    sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Provenance {
    attestation_bundles: Vec<AttestationBundle>,
}

#[derive(Debug, Deserialize)]
struct AttestationBundle {
    attestations: Vec<Attestation>,
}

#[derive(Debug, Deserialize)]
struct Attestation {
    version: u64,
    verification_material: VerificationMaterial,
    envelope: Envelope,
}

#[derive(Debug, Deserialize)]
struct VerificationMaterial {
    certificate: String,
    transparency_entries: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    statement: String,
    signature: String,
}

/// Reads the release's file list and picks the files `select` names: the one named, or
/// every file the pattern matches (at least one).
pub(crate) fn locate(
    http: &PackageHttp,
    release: &PypiRelease,
    select: &FileSelect,
) -> Result<Vec<Located>, Problem> {
    let metadata_url = http.url(&format!(
        "pypi/{}/{}/json",
        release.project(),
        release.version()
    ))?;
    let what = format!("release document {metadata_url}");
    let bytes = http
        .document(&metadata_url, &what)?
        .ok_or_else(|| Problem::PackageNotFound {
            what: format!("version {}", release.version()),
            url: metadata_url.to_string(),
        })?;
    let malformed = |reason: String| Problem::Malformed {
        what: what.clone(),
        reason,
    };
    let doc: ReleaseDocument =
        serde_json::from_slice(&bytes).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let matching = select.pick(&doc.urls, |f| f.filename.as_str(), "no files")?;
    matching
        .into_iter()
        .map(|file| locate_file(http, release, file, &metadata_url, &malformed))
        .collect()
}

/// One file of the release: its name checked, its URL, digest and provenance URL.
fn locate_file(
    http: &PackageHttp,
    release: &PypiRelease,
    file: &ReleaseFile,
    metadata_url: &Url,
    malformed: &dyn Fn(String) -> Problem,
) -> Result<Located, Problem> {
    let plain = file
        .filename
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-+!".contains(&b));
    if !plain || file.filename.starts_with('.') {
        return Err(malformed(format!(
            "file name {:?} is not a plain file name",
            file.filename
        )));
    }
    let url = Url::parse(&file.url)
        .map_err(|e| malformed(format!("{}: url {:?}: {e}", file.filename, file.url)))?;
    crate::fetch::require_https(&url)?;
    let sha256 = file
        .digests
        .sha256
        .as_deref()
        .and_then(|h| Sha256Digest::from_hex(h).ok())
        .ok_or_else(|| malformed(format!("{}: no digests.sha256", file.filename)))?;
    let evidence_url = http.url(&format!(
        "integrity/{}/{}/{}/provenance",
        release.project(),
        release.version(),
        file.filename
    ))?;
    Ok(Located {
        file_name: file.filename.clone(),
        url,
        accept: None,
        expected: Expected::Sha256(sha256),
        size: file.size,
        metadata_url: metadata_url.clone(),
        evidence_url: Some(evidence_url),
    })
}

/// Fetches the file's PEP 740 provenance (404: there is none) and converts each attestation
/// to a Sigstore bundle.
pub(crate) fn bundles(http: &PackageHttp, located: &Located) -> Result<Vec<FoundBundle>, Problem> {
    let Some(url) = &located.evidence_url else {
        return Ok(Vec::new());
    };
    let what = format!("provenance {url}");
    let Some(bytes) = http.document(url, &what)? else {
        return Ok(Vec::new());
    };
    let malformed = |reason: String| Problem::Malformed {
        what: what.clone(),
        reason,
    };
    let doc: Provenance = serde_json::from_slice(&bytes)
        .map_err(|e| malformed(format!("not a PEP 740 provenance object: {e}")))?;
    let attestations: Vec<&Attestation> = doc
        .attestation_bundles
        .iter()
        .flat_map(|b| &b.attestations)
        .collect();
    if attestations.len() > MAX_BUNDLES {
        return Err(malformed(format!(
            "{} attestations (at most {MAX_BUNDLES} are read)",
            attestations.len()
        )));
    }
    attestations
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let bundle = to_bundle(a)
                .map_err(|reason| malformed(format!("attestation {}: {reason}", i + 1)))?;
            Ok(sort_bundle(bundle, url, i, None))
        })
        .collect()
}

/// A PEP 740 attestation as the Sigstore bundle v0.3 it carries: the leaf certificate, the
/// log entries as they are (Sigstore's `TransparencyLogEntry` JSON), and the DSSE envelope
/// of the in-toto statement.
fn to_bundle(a: &Attestation) -> Result<Vec<u8>, String> {
    if a.version != 1 {
        return Err(format!("version {} (only 1 is known)", a.version));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let decode = |field: &str, text: &str| {
        b64.decode(text)
            .map_err(|e| format!("{field} is not base64: {e}"))
    };
    let certificate = decode("certificate", &a.verification_material.certificate)?;
    let statement = decode("statement", &a.envelope.statement)?;
    let signature = decode("signature", &a.envelope.signature)?;
    if a.verification_material.transparency_entries.is_empty() {
        return Err("no transparency log entry".to_owned());
    }
    let bundle = json!({
        "mediaType": BUNDLE_V03_MEDIA_TYPE,
        "verificationMaterial": {
            "certificate": {"rawBytes": b64.encode(certificate)},
            "tlogEntries": a.verification_material.transparency_entries,
        },
        "dsseEnvelope": {
            "payload": b64.encode(statement),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": b64.encode(signature)}],
        },
    });
    Ok(bundle.to_string().into_bytes())
}
