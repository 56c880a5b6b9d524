//! Evidence for an image digest, found as its referrers: the OCI 1.1 referrers API
//! (`GET /v2/<name>/referrers/<digest>`), or, where that answers 404, the referrers tag
//! schema (the index tagged `sha256-<hex>`). Referrers carrying a Sigstore bundle become the
//! artifact's `bundles` (a message signature, or DSSE signing the image) or `attestations`
//! (DSSE with any other predicate); CycloneDX and SPDX referrers become `sboms`. Everything
//! else is listed as ignored. Cosign's legacy tags are read beside them (`cosign.rs`).
//! Nothing here is trusted: preflight verifies every bundle.

use std::fmt;

use airlock_trust_root::{Bundle, MAX_BUNDLE_SIZE};
use serde::Serialize;

use super::error::Problem;
use super::image::{BlobRef, Document, Held, Served};
use super::registry::FetchedManifest;
use crate::archive::Sha256Digest;
use crate::check::MAX_SBOM_SIZE;

/// The Sigstore bundle media types (and so referrer artifact types), both spellings.
pub const SIGSTORE_BUNDLE_TYPES: &[&str] = &[
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.2+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle.v0.1+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
];
/// SBOM artifact types: CycloneDX JSON and SPDX JSON.
pub const SBOM_TYPES: &[&str] = &["application/vnd.cyclonedx+json", "application/spdx+json"];
/// The predicate cosign signs an image with in a DSSE bundle: a signature, not an attestation.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// How the referrers were listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discovery {
    /// The registry's referrers API.
    ReferrersApi,
    /// The `sha256-<hex>` tag (the API answered 404).
    TagSchema,
}

impl fmt::Display for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ReferrersApi => "referrers API",
            Self::TagSchema => "referrers tag schema",
        })
    }
}

/// Where a piece of evidence goes in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// `evidence.bundles`: signs the image.
    Bundle,
    /// `evidence.attestations`: a statement about it.
    Attestation,
    /// `evidence.sboms`.
    Sbom,
    /// `evidence.signed_payloads`: signs a payload that names the image (cosign's simple
    /// signing, from the `sha256-<hex>.sig` tag).
    SignedPayload,
}

/// One referrer and what became of it.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The referrer's manifest digest.
    pub(crate) referrer: Sha256Digest,
    /// Its artifact type (for a legacy cosign layer, the layer's media type).
    pub(crate) artifact_type: String,
    /// The cosign legacy tag it was found under (`sha256-<hex>.sig`), if not a referrer.
    pub(crate) tag: Option<String>,
    /// Evidence, or why it is ignored.
    pub(crate) outcome: Outcome,
}

/// What a referrer gave.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Evidence {
        kind: EvidenceKind,
        /// The referrer's manifest (stored with the pulled blobs when a cache is kept).
        manifest: Held,
        /// The layer holding the bundle or SBOM.
        blob: BlobRef,
        /// Its bytes, when read already (bundles, to sort them; SBOMs stream later).
        bytes: Option<Vec<u8>>,
        /// The signer the bundle names (unverified), for people to read.
        signer: Option<String>,
        /// The predicate type of a DSSE bundle.
        predicate_type: Option<String>,
        /// The payload a signed-payload bundle signs.
        payload: Option<Box<Held>>,
    },
    Ignored(String),
}

/// Reads listings, documents and small blobs for discovery (documents and blobs from the
/// cache when it holds them; see `mirror.rs` for which endpoint is asked).
pub(crate) trait Source {
    /// The referrers API's index for `digest` (`None`: the API answers 404).
    fn referrers(&self, digest: &Sha256Digest) -> Result<Option<Vec<u8>>, Problem>;
    /// The manifest a tag names now (`None`: no such tag).
    fn tagged(&self, tag: &str) -> Result<Option<FetchedManifest>, Problem>;
    fn document(&self, digest: &Sha256Digest) -> Result<Served, Problem>;
    fn small_blob(&self, digest: &Sha256Digest, limit: u64) -> Result<Vec<u8>, Problem>;
}

/// Lists `digest`'s referrers and sorts them into evidence.
pub(crate) fn discover(
    source: &dyn Source,
    digest: &Sha256Digest,
) -> Result<(Discovery, Vec<Found>), Problem> {
    let (discovery, listing) = match source.referrers(digest)? {
        Some(bytes) => (Discovery::ReferrersApi, Some(bytes)),
        None => {
            let tag = format!("sha256-{}", digest.hex());
            let index = source.tagged(&tag)?;
            (Discovery::TagSchema, index.map(|m| m.bytes))
        }
    };
    let Some(listing) = listing else {
        return Ok((discovery, Vec::new()));
    };
    let what = format!("referrers of {digest} ({discovery})");
    let (index, _, _) = Document::parse(&listing, Some(super::image::OCI_INDEX), &what)?;
    let mut found: Vec<Found> = Vec::new();
    for descriptor in &index.manifests {
        let referrer = descriptor.sha256(&what)?;
        if found.iter().any(|f| f.referrer == referrer) {
            continue;
        }
        found.push(examine(
            source,
            digest,
            referrer,
            descriptor.artifact_type.clone(),
        )?);
    }
    Ok((discovery, found))
}

/// Reads one referrer's manifest (when its type is one evidence can have) and its layer.
fn examine(
    source: &dyn Source,
    subject: &Sha256Digest,
    referrer: Sha256Digest,
    listed_type: Option<String>,
) -> Result<Found, Problem> {
    let ignored = |artifact_type: String, why: String| Found {
        referrer,
        artifact_type,
        tag: None,
        outcome: Outcome::Ignored(why),
    };
    // A listing without the artifact type: the manifest says it.
    let known = listed_type
        .as_deref()
        .is_some_and(|t| evidence_type(t).is_some());
    if listed_type.is_some() && !known {
        let t = listed_type.unwrap_or_default();
        return Ok(ignored(t, "not a Sigstore bundle or SBOM".to_owned()));
    }
    let what = format!("referrer {referrer}");
    let (bytes, content_type) = source.document(&referrer)?;
    let (doc, _, _) = Document::parse(&bytes, content_type.as_deref(), &what)?;
    let artifact_type = doc
        .artifact_type
        .clone()
        .or(listed_type)
        .or_else(|| doc.config.as_ref().map(|c| c.media_type.clone()))
        .unwrap_or_default();
    let Some(class) = evidence_type(&artifact_type) else {
        return Ok(ignored(
            artifact_type,
            "not a Sigstore bundle or SBOM".to_owned(),
        ));
    };
    match doc.subject.as_ref().map(|s| s.sha256(&what)).transpose()? {
        Some(s) if s == *subject => {}
        Some(other) => {
            return Ok(ignored(artifact_type, format!("its subject is {other}")));
        }
        None => return Ok(ignored(artifact_type, "it names no subject".to_owned())),
    }
    let layer = match class {
        Class::Bundle => doc
            .layers
            .iter()
            .find(|l| SIGSTORE_BUNDLE_TYPES.contains(&l.media_type.as_str()))
            .or(doc.layers.first()),
        Class::Sbom => doc.layers.first(),
    };
    let Some(layer) = layer else {
        return Ok(ignored(artifact_type, "it has no layer".to_owned()));
    };
    let blob = BlobRef {
        digest: layer.sha256(&what)?,
        size: layer.size,
        media_type: layer.media_type.clone(),
    };
    let manifest = Held {
        digest: referrer,
        bytes,
    };
    let outcome = match class {
        Class::Sbom => {
            if blob.size > MAX_SBOM_SIZE {
                return Ok(ignored(
                    artifact_type,
                    format!("its SBOM is {} bytes (at most {MAX_SBOM_SIZE})", blob.size),
                ));
            }
            Outcome::Evidence {
                kind: EvidenceKind::Sbom,
                manifest,
                blob,
                bytes: None,
                signer: None,
                predicate_type: None,
                payload: None,
            }
        }
        Class::Bundle => {
            if blob.size > MAX_BUNDLE_SIZE as u64 {
                return Ok(ignored(
                    artifact_type,
                    format!(
                        "its bundle is {} bytes (at most {MAX_BUNDLE_SIZE})",
                        blob.size
                    ),
                ));
            }
            let bytes = source.small_blob(&blob.digest, blob.size)?;
            let (kind, signer, predicate_type) = sort_bundle(&bytes);
            Outcome::Evidence {
                kind,
                manifest,
                blob,
                bytes: Some(bytes),
                signer,
                predicate_type,
                payload: None,
            }
        }
    };
    Ok(Found {
        referrer,
        artifact_type,
        tag: None,
        outcome,
    })
}

#[derive(Debug, Clone, Copy)]
enum Class {
    Bundle,
    Sbom,
}

fn evidence_type(artifact_type: &str) -> Option<Class> {
    if SIGSTORE_BUNDLE_TYPES.contains(&artifact_type) {
        Some(Class::Bundle)
    } else if SBOM_TYPES.contains(&artifact_type) {
        Some(Class::Sbom)
    } else {
        None
    }
}

/// A bundle's place: a message signature, or DSSE with cosign's signing predicate, signs
/// the image; DSSE with any other predicate is an attestation. One that does not parse goes
/// with the signatures, so preflight names it failing rather than it being dropped.
pub(crate) fn sort_bundle(bytes: &[u8]) -> (EvidenceKind, Option<String>, Option<String>) {
    match Bundle::from_json(bytes) {
        Ok(bundle) => {
            let signer = Some(bundle.claimed_signer().to_string());
            match bundle.claimed_statement() {
                Some(s) if s.predicate_type != COSIGN_SIGN_PREDICATE => {
                    (EvidenceKind::Attestation, signer, Some(s.predicate_type))
                }
                Some(s) => (EvidenceKind::Bundle, signer, Some(s.predicate_type)),
                None => (EvidenceKind::Bundle, signer, None),
            }
        }
        Err(e) => (
            EvidenceKind::Bundle,
            Some(format!("unreadable bundle: {e}")),
            None,
        ),
    }
}
