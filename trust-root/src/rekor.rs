//! Transparency-log entry bodies (Rekor v1 and v2 kinds) and the check that a logged entry
//! records exactly the bundle's signature, signer and artifact.
//!
//! Two kinds come only from legacy evidence: `rekord 0.0.1` (what `cosign sign` and
//! `sign-blob` logged before hashedrekord) and `intoto 0.0.1` (what `cosign attest` logged
//! for `.att` tags). A `rekord` body is checked as a hashedrekord one is: the logged SHA-256
//! is the artifact's, the signature (format `x509`, the only one a bundle can carry) is the
//! bundle's, and the PEM is the bundle's signer.
//!
//! An `intoto 0.0.1` body logs no signature: only `content.hash`, the SHA-256 of the envelope
//! bytes the client uploaded, `content.payloadHash`, the SHA-256 of the payload, and the
//! signer's PEM. `content.hash` cannot be checked against a bundle: the bundle carries the
//! envelope's fields, not its bytes, and no re-serialisation is guaranteed to reproduce the
//! bytes a client chose (field order, `keyid`, whitespace). So the rule is the payload hash and
//! the signer: Rekor verified, before logging, that the envelope it hashed was signed by that
//! key over that payload, and the bundle's own signature is verified with the same key over
//! the same payload. What may differ is only which signature bytes the key made, not what was
//! signed nor by whom. Where the stored body still holds `content.envelope` (entries from
//! before Rekor dropped it from the canonical form), its hash is checked against `content.hash`
//! and its payload, type and signature against the bundle's; the bundler, which still holds a
//! `.att` layer's bytes, checks `content.hash` against them when it converts the layer.

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
    #[error("logged envelope hash differs from the logged envelope")]
    EnvelopeHash,
    #[error("logged signature format {0:?} is not supported: a bundle's signature is x509")]
    SignatureFormat(String),
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
        ("rekord", "0.0.1") => rekord_v001(spec, claims),
        ("intoto", "0.0.1") => intoto_v001(spec, claims),
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
    check_logged_signature(spec, signature, claims)
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

/// `rekord 0.0.1`: like hashedrekord 0.0.1, with the signature's format named and the digest
/// only ever SHA-256.
fn rekord_v001(spec: &Value, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let Content::MessageSignature { signature, .. } = claims.content else {
        return Err(EntryMismatch::KindForContent {
            kind: "rekord 0.0.1".into(),
            content: "DSSE envelope",
        });
    };
    let format = str_at(spec, &["signature", "format"])?;
    if format != "x509" {
        return Err(EntryMismatch::SignatureFormat(format.into()));
    }
    if sha256_at(spec, &["data", "hash"])? != *claims.artifact.sha256() {
        return Err(EntryMismatch::ArtifactDigest);
    }
    check_logged_signature(spec, signature, claims)
}

/// `intoto 0.0.1`: the payload hash and the signer (see the module doc for why not the
/// envelope hash), and the envelope itself when the body still holds it.
fn intoto_v001(spec: &Value, claims: &Claims<'_>) -> Result<(), EntryMismatch> {
    let Content::Dsse(envelope) = claims.content else {
        return Err(EntryMismatch::KindForContent {
            kind: "intoto 0.0.1".into(),
            content: "message signature",
        });
    };
    let content = at(spec, &["content"])?;
    if sha256_at(spec, &["content", "payloadHash"])?[..] != Sha256::digest(&envelope.payload)[..] {
        return Err(EntryMismatch::PayloadHash);
    }
    // Only its shape can be checked without the uploaded bytes.
    let logged_hash = sha256_at(spec, &["content", "hash"])?;
    if let Some(stored) = content.get("envelope") {
        let stored = stored
            .as_str()
            .ok_or_else(|| EntryMismatch::Malformed("content.envelope is not a string".into()))?;
        if Sha256::digest(stored.as_bytes())[..] != logged_hash {
            return Err(EntryMismatch::EnvelopeHash);
        }
        let stored: Value = serde_json::from_str(stored)
            .map_err(|e| EntryMismatch::Malformed(format!("content.envelope is not JSON: {e}")))?;
        if str_at(&stored, &["payloadType"])? != envelope.payload_type
            || b64_at(&stored, &["payload"])? != envelope.payload
        {
            return Err(EntryMismatch::Envelope);
        }
        let [logged] = array_at(&stored, &["signatures"])? else {
            return Err(EntryMismatch::Envelope);
        };
        if b64_at(logged, &["sig"])? != envelope.signature {
            return Err(EntryMismatch::Signature);
        }
    }
    check_pem_signer(str_at(spec, &["publicKey"])?, claims)
}

/// The SHA-256 in the `{algorithm, value}` object at `path` (Rekor v1 schemas allow no other
/// algorithm there).
fn sha256_at(value: &Value, path: &[&str]) -> Result<[u8; 32], EntryMismatch> {
    let field = |name| [path, &[name]].concat();
    let algorithm = str_at(value, &field("algorithm"))?;
    if algorithm != "sha256" {
        return Err(EntryMismatch::DigestAlgorithm(algorithm.into()));
    }
    let value_path = field("value");
    hex::decode(str_at(value, &value_path)?)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            EntryMismatch::Malformed(format!("{} is not a SHA-256 in hex", value_path.join(".")))
        })
}

/// The `signature` object of a `hashedrekord 0.0.1` or `rekord 0.0.1` body: its `content` is
/// the bundle's signature and its `publicKey` the bundle's signer.
fn check_logged_signature(
    spec: &Value,
    signature: &[u8],
    claims: &Claims<'_>,
) -> Result<(), EntryMismatch> {
    if b64_at(spec, &["signature", "content"])? != signature {
        return Err(EntryMismatch::Signature);
    }
    check_pem_signer(
        str_at(spec, &["signature", "publicKey", "content"])?,
        claims,
    )
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use serde_json::json;

    use super::*;
    use crate::artifact::Artifact;
    use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};

    const SIGNER_DER: &[u8] = b"the leaf certificate's DER";
    const ARTIFACT: &[u8] = b"a simple-signing payload";
    const SIGNATURE: &[u8] = b"the signature";
    const STATEMENT: &[u8] = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;

    fn pem_b64(der: &[u8]) -> String {
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            B64.encode(der)
        );
        B64.encode(pem)
    }

    fn message() -> Content {
        Content::MessageSignature {
            digest: None,
            signature: SIGNATURE.to_vec(),
        }
    }

    fn dsse() -> Content {
        Content::Dsse(Envelope {
            payload_type: IN_TOTO_PAYLOAD_TYPE.into(),
            payload: STATEMENT.to_vec(),
            signature: SIGNATURE.to_vec(),
        })
    }

    /// Checks `body` (of `kind 0.0.1`) against `content` signed by [`SIGNER_DER`].
    fn check(kind: &str, content: &Content, body: &Value) -> Result<(), EntryMismatch> {
        let artifact = ArtifactView::new(Artifact::Bytes(ARTIFACT));
        let signed = [0u8; 32];
        let claims = Claims {
            content,
            signer_der: SIGNER_DER,
            artifact: &artifact,
            signed_sha256: &signed,
        };
        let entry = TlogEntry {
            log_index: 0,
            log_id: Vec::new(),
            kind: kind.into(),
            version: "0.0.1".into(),
            integrated_time: None,
            signed_entry_timestamp: None,
            inclusion_proof: None,
            body: serde_json::to_vec(body).unwrap(),
        };
        check_entry(&entry, &claims)
    }

    /// A canonical `rekord 0.0.1` body for [`ARTIFACT`], [`SIGNATURE`] and [`SIGNER_DER`].
    fn rekord() -> Value {
        json!({
            "apiVersion": "0.0.1",
            "kind": "rekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(ARTIFACT))}},
                "signature": {
                    "content": B64.encode(SIGNATURE),
                    "format": "x509",
                    "publicKey": {"content": pem_b64(SIGNER_DER)},
                },
            },
        })
    }

    /// The envelope as a client uploads it.
    fn uploaded_envelope(signature: &[u8]) -> String {
        json!({
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "payload": B64.encode(STATEMENT),
            "signatures": [{"keyid": "", "sig": B64.encode(signature)}],
        })
        .to_string()
    }

    /// A canonical `intoto 0.0.1` body (no envelope) for [`STATEMENT`] and [`SIGNER_DER`].
    fn intoto() -> Value {
        json!({
            "apiVersion": "0.0.1",
            "kind": "intoto",
            "spec": {
                "content": {
                    "hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(uploaded_envelope(SIGNATURE)))},
                    "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(STATEMENT))},
                },
                "publicKey": pem_b64(SIGNER_DER),
            },
        })
    }

    fn changed(mut body: Value, pointer: &str, to: Value) -> Value {
        *body.pointer_mut(pointer).unwrap() = to;
        body
    }

    #[test]
    fn a_rekord_body_recording_the_artifact_signature_and_certificate_is_accepted() {
        assert_eq!(check("rekord", &message(), &rekord()), Ok(()));
    }

    #[test]
    fn a_rekord_body_differing_in_one_field_is_refused_naming_it() {
        let other_hash = json!(hex::encode(Sha256::digest(b"another payload")));
        let cases = [
            (
                "/spec/data/hash/value",
                other_hash,
                "logged artifact digest differs from the artifact",
            ),
            (
                "/spec/signature/content",
                json!(B64.encode(b"another signature")),
                "logged signature differs from the bundle's",
            ),
            (
                "/spec/signature/publicKey/content",
                json!(pem_b64(b"another certificate")),
                "logged certificate or key differs from the bundle's",
            ),
            (
                "/spec/signature/format",
                json!("minisign"),
                "logged signature format \"minisign\" is not supported: a bundle's signature is x509",
            ),
            (
                "/spec/data/hash/algorithm",
                json!("sha512"),
                "logged digest algorithm \"sha512\" is not supported",
            ),
            (
                "/spec/data/hash/value",
                json!("abc"),
                "entry body is malformed: data.hash.value is not a SHA-256 in hex",
            ),
        ];
        for (pointer, to, message_text) in cases {
            let err = check("rekord", &message(), &changed(rekord(), pointer, to)).unwrap_err();
            assert_eq!(err.to_string(), message_text, "{pointer}");
        }
    }

    #[test]
    fn a_rekord_entry_cannot_record_a_dsse_envelope() {
        assert_eq!(
            check("rekord", &dsse(), &rekord()).unwrap_err().to_string(),
            "entry kind rekord 0.0.1 cannot record a DSSE envelope"
        );
    }

    #[test]
    fn an_intoto_v001_body_recording_the_payload_and_certificate_is_accepted() {
        assert_eq!(check("intoto", &dsse(), &intoto()), Ok(()));
    }

    #[test]
    fn an_intoto_v001_body_differing_in_payload_hash_or_key_is_refused_naming_it() {
        let cases = [
            (
                "/spec/content/payloadHash/value",
                json!(hex::encode(Sha256::digest(b"another statement"))),
                "logged payload hash differs from the DSSE payload",
            ),
            (
                "/spec/publicKey",
                json!(pem_b64(b"another certificate")),
                "logged certificate or key differs from the bundle's",
            ),
            (
                "/spec/content/hash/algorithm",
                json!("sha1"),
                "logged digest algorithm \"sha1\" is not supported",
            ),
        ];
        for (pointer, to, message_text) in cases {
            let err = check("intoto", &dsse(), &changed(intoto(), pointer, to)).unwrap_err();
            assert_eq!(err.to_string(), message_text, "{pointer}");
        }
        let mut old = intoto();
        old["spec"]["content"]
            .as_object_mut()
            .unwrap()
            .remove("payloadHash");
        assert_eq!(
            check("intoto", &dsse(), &old).unwrap_err().to_string(),
            "entry body is malformed: missing content.payloadHash.algorithm"
        );
        assert_eq!(
            check("intoto", &message(), &intoto())
                .unwrap_err()
                .to_string(),
            "entry kind intoto 0.0.1 cannot record a message signature"
        );
    }

    /// An `intoto 0.0.1` body still holding the uploaded envelope (`signature` in it), hashed
    /// as `hashed` says.
    fn intoto_with_envelope(signature: &[u8], hashed: &str) -> Value {
        let mut body = intoto();
        let content = &mut body["spec"]["content"];
        content["envelope"] = json!(uploaded_envelope(signature));
        content["hash"]["value"] = json!(hex::encode(Sha256::digest(hashed)));
        body
    }

    #[test]
    fn an_intoto_v001_body_holding_its_envelope_is_checked_against_it() {
        let ours = uploaded_envelope(SIGNATURE);
        assert_eq!(
            check("intoto", &dsse(), &intoto_with_envelope(SIGNATURE, &ours)),
            Ok(())
        );
        let theirs = uploaded_envelope(b"another signature");
        assert_eq!(
            check(
                "intoto",
                &dsse(),
                &intoto_with_envelope(b"another signature", &theirs)
            )
            .unwrap_err()
            .to_string(),
            "logged signature differs from the bundle's"
        );
        assert_eq!(
            check("intoto", &dsse(), &intoto_with_envelope(SIGNATURE, &theirs))
                .unwrap_err()
                .to_string(),
            "logged envelope hash differs from the logged envelope"
        );
    }
}
