//! Transparency-log entry bodies (Rekor v1 and v2 kinds) and the check that a logged entry
//! records exactly the bundle's signature, signer and artifact.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::artifact::ArtifactView;
use crate::bundle::{Content, TlogEntry, hash_algorithm};
use crate::encoding;
use crate::keys::{HashAlgorithm, pem_decode};

/// What a bundle claims, which the log entry must record.
#[derive(Debug)]
pub(crate) struct Claims<'a> {
    pub(crate) content: &'a Content,
    /// DER of the signing certificate, or of the public key's SubjectPublicKeyInfo.
    pub(crate) signer_der: &'a [u8],
    /// The artifact's digests.
    pub(crate) artifact: &'a ArtifactView<'a>,
    /// SHA-256 of what the signature covers: the artifact, or the DSSE PAE.
    pub(crate) signed_sha256: &'a [u8; 32],
}

/// How a log entry failed to match the bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryMismatch {
    #[error("entry kind {kind} {version} is not supported")]
    UnsupportedKind { kind: String, version: String },
    #[error("entry kind {kind} cannot record a {content}")]
    KindForContent { kind: String, content: &'static str },
    #[error("entry body is malformed: {0}")]
    Malformed(String),
    #[error("entry body kind/version {body} does not match the bundle's {bundle}")]
    KindVersion { body: String, bundle: String },
    #[error("logged signature differs from the bundle's")]
    Signature,
    #[error("logged certificate or key differs from the bundle's")]
    Signer,
    #[error("logged artifact digest differs from the artifact")]
    ArtifactDigest,
    #[error("logged payload hash differs from the DSSE payload")]
    PayloadHash,
    #[error("logged envelope differs from the bundle's DSSE envelope")]
    Envelope,
    #[error("logged digest algorithm {0:?} is not supported")]
    DigestAlgorithm(String),
    #[error(
        "the entry logs the artifact's {0} digest, which was not given: give the artifact itself"
    )]
    DigestUnavailable(HashAlgorithm),
    #[error(
        "dsse 0.0.2 entries are not accepted: Rekor v2 logs a DSSE envelope as hashedrekord 0.0.2 over its PAE"
    )]
    DsseInRekorV2,
}

/// Checks that `entry`'s body records the bundle's claims.
pub(crate) fn check_entry(entry: &TlogEntry, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let body: Value = serde_json::from_slice(&entry.body)
        .map_err(|e| EntryMismatch::Malformed(format!("not JSON: {e}")))?;
    let kind = str_at(&body, &["kind"])?;
    let version = str_at(&body, &["apiVersion"])?;
    if kind != entry.kind || version != entry.version {
        return Err(EntryMismatch::KindVersion {
            body: format!("{kind} {version}"),
            bundle: format!("{} {}", entry.kind, entry.version),
        });
    }
    let spec = at(&body, &["spec"])?;
    match (kind, version) {
        ("hashedrekord", "0.0.1") => hashedrekord_v001(spec, claims),
        ("hashedrekord", "0.0.2") => hashedrekord_v002(spec, claims),
        ("dsse", "0.0.1") => dsse_v001(spec, claims),
        // Rekor v2 dropped its dsse type before release (DSSE goes in as hashedrekord over
        // the PAE); the few entries an alpha log made are refused, as sigstore-go does.
        ("dsse", "0.0.2") => Err(EntryMismatch::DsseInRekorV2),
        ("intoto", "0.0.2") => intoto_v002(spec, claims),
        _ => Err(EntryMismatch::UnsupportedKind {
            kind: kind.to_owned(),
            version: version.to_owned(),
        }),
    }
}

fn hashedrekord_v001(spec: &Value, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let Content::MessageSignature { signature, .. } = claims.content else {
        return Err(EntryMismatch::KindForContent {
            kind: "hashedrekord 0.0.1".into(),
            content: "DSSE envelope",
        });
    };
    // The logged digest may be any SHA-2 (sigstore-java logs SHA-384 for P-384 keys).
    let name = str_at(spec, &["data", "hash", "algorithm"])?;
    let algorithm = HashAlgorithm::from_name(name)
        .ok_or_else(|| EntryMismatch::DigestAlgorithm(name.into()))?;
    let actual = claims
        .artifact
        .digest(algorithm)
        .ok_or(EntryMismatch::DigestUnavailable(algorithm))?;
    if !hex_eq(str_at(spec, &["data", "hash", "value"])?, actual) {
        return Err(EntryMismatch::ArtifactDigest);
    }
    if b64_at(spec, &["signature", "content"])? != *signature {
        return Err(EntryMismatch::Signature);
    }
    check_pem_signer(
        str_at(spec, &["signature", "publicKey", "content"])?,
        claims,
    )
}

fn hashedrekord_v002(spec: &Value, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let spec = at(spec, &["hashedRekordV002"])?;
    // hashedrekord 0.0.2 records the digest of what was signed: for a DSSE bundle, the PAE.
    let name = str_at(spec, &["data", "algorithm"])?;
    let algorithm =
        hash_algorithm(name).ok_or_else(|| EntryMismatch::DigestAlgorithm(name.into()))?;
    let signed: Vec<u8> = match (claims.content, algorithm) {
        (Content::Dsse(_), HashAlgorithm::Sha256) => claims.signed_sha256.to_vec(),
        (Content::Dsse(envelope), other) => other.digest(&envelope.pae()),
        (Content::MessageSignature { .. }, _) => claims
            .artifact
            .digest(algorithm)
            .ok_or(EntryMismatch::DigestUnavailable(algorithm))?
            .to_vec(),
    };
    if b64_at(spec, &["data", "digest"])? != signed {
        return Err(EntryMismatch::ArtifactDigest);
    }
    if b64_at(spec, &["signature", "content"])? != claims.content.signature() {
        return Err(EntryMismatch::Signature);
    }
    check_v2_verifier(at(spec, &["signature", "verifier"])?, claims)
}

fn dsse_v001(spec: &Value, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let Content::Dsse(envelope) = claims.content else {
        return Err(EntryMismatch::KindForContent {
            kind: "dsse 0.0.1".into(),
            content: "message signature",
        });
    };
    let payload_hash = Sha256::digest(&envelope.payload);
    if str_at(spec, &["payloadHash", "algorithm"])? != "sha256"
        || !hex_eq(str_at(spec, &["payloadHash", "value"])?, &payload_hash)
    {
        return Err(EntryMismatch::PayloadHash);
    }
    let signatures = array_at(spec, &["signatures"])?;
    let [logged] = signatures else {
        return Err(EntryMismatch::Envelope);
    };
    if b64_at(logged, &["signature"])? != envelope.signature {
        return Err(EntryMismatch::Signature);
    }
    check_pem_signer(str_at(logged, &["verifier"])?, claims)
}

fn intoto_v002(spec: &Value, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let Content::Dsse(envelope) = claims.content else {
        return Err(EntryMismatch::KindForContent {
            kind: "intoto 0.0.2".into(),
            content: "message signature",
        });
    };
    let content = at(spec, &["content"])?;
    let payload_hash = Sha256::digest(&envelope.payload);
    if str_at(content, &["payloadHash", "algorithm"])? != "sha256"
        || !hex_eq(str_at(content, &["payloadHash", "value"])?, &payload_hash)
    {
        return Err(EntryMismatch::PayloadHash);
    }
    let logged_envelope = at(content, &["envelope"])?;
    // intoto 0.0.2 stores the envelope's base64 fields base64-encoded once more. Rekor v1
    // keeps the payload hash and the signatures but drops the payload itself (as sigstore-go
    // reads it): the payload is bound by `payloadHash` above, and compared when present.
    let twice = |v: &Value, path: &[&str]| -> Result<Vec<u8>, EntryMismatch> {
        let once = b64_at(v, path)?;
        let text = std::str::from_utf8(&once)
            .map_err(|_| EntryMismatch::Malformed(format!("{} is not base64", path.join("."))))?;
        encoding::base64(text)
            .map_err(|_| EntryMismatch::Malformed(format!("{} is not base64", path.join("."))))
    };
    if let Some(payload_type) = logged_envelope.get("payloadType")
        && payload_type.as_str() != Some(envelope.payload_type.as_str())
    {
        return Err(EntryMismatch::Envelope);
    }
    if logged_envelope.get("payload").is_some()
        && twice(logged_envelope, &["payload"])? != envelope.payload
    {
        return Err(EntryMismatch::Envelope);
    }
    let signatures = array_at(logged_envelope, &["signatures"])?;
    let [logged] = signatures else {
        return Err(EntryMismatch::Envelope);
    };
    if twice(logged, &["sig"])? != envelope.signature {
        return Err(EntryMismatch::Signature);
    }
    check_pem_signer(str_at(logged, &["publicKey"])?, claims)
}

/// Rekor v1 records the signer as base64 of a PEM certificate or public key.
fn check_pem_signer(b64_pem: &str, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let pem = encoding::base64(b64_pem)
        .map_err(|_| EntryMismatch::Malformed("signer is not base64".into()))?;
    let pem = std::str::from_utf8(&pem)
        .map_err(|_| EntryMismatch::Malformed("signer is not PEM".into()))?;
    let (_, der) =
        pem_decode(pem).ok_or_else(|| EntryMismatch::Malformed("signer is not PEM".into()))?;
    if der != claims.signer_der {
        return Err(EntryMismatch::Signer);
    }
    Ok(())
}

/// Rekor v2 records the signer as DER, either a certificate or a public key.
fn check_v2_verifier(verifier: &Value, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let der = if let Ok(cert) = b64_at(verifier, &["x509Certificate", "rawBytes"]) {
        cert
    } else {
        b64_at(verifier, &["publicKey", "rawBytes"])?
    };
    if der != claims.signer_der {
        return Err(EntryMismatch::Signer);
    }
    Ok(())
}

fn at<'v>(value: &'v Value, path: &[&str]) -> Result<&'v Value, EntryMismatch> {
    let mut v = value;
    for key in path {
        v = v
            .get(key)
            .ok_or_else(|| EntryMismatch::Malformed(format!("missing {}", path.join("."))))?;
    }
    Ok(v)
}

fn str_at<'v>(value: &'v Value, path: &[&str]) -> Result<&'v str, EntryMismatch> {
    at(value, path)?
        .as_str()
        .ok_or_else(|| EntryMismatch::Malformed(format!("{} is not a string", path.join("."))))
}

fn array_at<'v>(value: &'v Value, path: &[&str]) -> Result<&'v [Value], EntryMismatch> {
    at(value, path)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| EntryMismatch::Malformed(format!("{} is not a list", path.join("."))))
}

fn b64_at(value: &Value, path: &[&str]) -> Result<Vec<u8>, EntryMismatch> {
    encoding::base64(str_at(value, path)?)
        .map_err(|_| EntryMismatch::Malformed(format!("{} is not base64", path.join("."))))
}

fn hex_eq(text: &str, bytes: &[u8]) -> bool {
    hex::decode(text).is_ok_and(|decoded| decoded == bytes)
}
