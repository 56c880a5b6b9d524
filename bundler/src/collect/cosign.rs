//! Cosign's legacy layout: an image's signatures tagged `sha256-<hex>.sig` and its
//! attestations tagged `sha256-<hex>.att` in the image's repository, each an OCI manifest
//! whose layers hold what was signed and whose annotations hold the signature, the signer's
//! certificate and chain, the Rekor entry with its signed entry timestamp (SET), and
//! optionally an RFC 3161 timestamp. Each layer becomes a Sigstore bundle v0.1 (the version
//! whose entries may be proven by a SET alone): a `.att` layer (a DSSE envelope) an
//! attestation, or a signature when its predicate is cosign's signing one; a `.sig` layer (a
//! simple-signing payload) a signed payload, verified against the payload's bytes, which must
//! then name the image (`check::Signed`). A layer signed with a key (`cosign sign --key`: no
//! certificate annotation) becomes a bundle whose material is a public key hint — the key's
//! id, taken from the Rekor entry's logged key — verified against the key the spec's `key`
//! (at the site, a managed-key signer) gives; the entry's key must be that key. Nothing here
//! is trusted: preflight verifies every bundle, and a layer that cannot be converted is listed
//! as ignored, with why.
//!
//! The entry keeps the kind its body names, so older evidence converts too: `rekord 0.0.1`
//! (`cosign sign` before hashedrekord) and `intoto 0.0.1` (`cosign attest`). An `intoto
//! 0.0.1` entry logs the SHA-256 of the envelope bytes cosign uploaded, which are the `.att`
//! layer's bytes; a bundle keeps only the envelope's fields, so that hash can be checked only
//! here, and a layer whose bytes are not the logged ones is ignored.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::Problem;
use super::image::{BlobRef, Document, Held};
use super::referrers::{EvidenceKind, Found, Outcome, Source, sort_bundle};
use crate::archive::Sha256Digest;
use crate::check::MAX_SIGNED_PAYLOAD;
use airlock_trust_root::MAX_BUNDLE_SIZE;

/// A `.sig` layer: cosign's simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// A `.att` layer: a DSSE envelope.
pub const DSSE_ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The bundle version a converted layer is written as: v0.1, whose log entries may be proven
/// by a signed entry timestamp alone (cosign's annotations carry no inclusion proof).
pub const LEGACY_BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// The base64 signature over a `.sig` layer's payload.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The signer's certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The certificates that issued it (PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The Rekor entry and its SET (JSON).
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// An RFC 3161 timestamp (JSON `{"SignedRFC3161Timestamp": b64}`).
pub const TIMESTAMP_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";

/// Largest annotation value read (a certificate chain is a few kilobytes).
const MAX_ANNOTATION: usize = 256 << 10;

/// Which legacy tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyTag {
    /// `sha256-<hex>.sig`: simple-signing signatures.
    Signatures,
    /// `sha256-<hex>.att`: DSSE attestations.
    Attestations,
}

impl LegacyTag {
    /// The tag for `digest`.
    pub(crate) fn tag(self, digest: &Sha256Digest) -> String {
        let suffix = match self {
            Self::Signatures => "sig",
            Self::Attestations => "att",
        };
        format!("sha256-{}.{suffix}", digest.hex())
    }
}

/// The evidence under `digest`'s legacy tags, one [`Found`] per layer (none when neither tag
/// exists).
pub(crate) fn discover(source: &dyn Source, digest: &Sha256Digest) -> Result<Vec<Found>, Problem> {
    let mut found = Vec::new();
    for legacy in [LegacyTag::Signatures, LegacyTag::Attestations] {
        let tag = legacy.tag(digest);
        let Some(fetched) = source.tagged(&tag)? else {
            continue;
        };
        let what = format!("tag {tag}");
        let (doc, _, _) = Document::parse(&fetched.bytes, fetched.content_type.as_deref(), &what)?;
        let manifest = Held {
            digest: fetched.digest,
            bytes: fetched.bytes,
        };
        for (i, layer) in doc.layers.iter().enumerate() {
            let layer_what = format!("{what} layer {i}");
            let ignored = |why: String| Found {
                referrer: manifest.digest,
                artifact_type: layer.media_type.clone(),
                tag: Some(tag.clone()),
                outcome: Outcome::Ignored(why),
            };
            let expected = match legacy {
                LegacyTag::Signatures => SIMPLE_SIGNING_MEDIA_TYPE,
                LegacyTag::Attestations => DSSE_ENVELOPE_MEDIA_TYPE,
            };
            if layer.media_type != expected {
                found.push(ignored(format!("layer {i} is not {expected}")));
                continue;
            }
            let limit = match legacy {
                LegacyTag::Signatures => MAX_SIGNED_PAYLOAD,
                LegacyTag::Attestations => MAX_BUNDLE_SIZE as u64,
            };
            if layer.size > limit {
                found.push(ignored(format!(
                    "layer {i} is {} bytes (at most {limit})",
                    layer.size
                )));
                continue;
            }
            let layer_digest = layer.sha256(&layer_what)?;
            let content = source.small_blob(&layer_digest, layer.size)?;
            let signed = match legacy {
                LegacyTag::Signatures => Signed::Payload(&content),
                LegacyTag::Attestations => Signed::Envelope(&content),
            };
            let bundle = match to_bundle(signed, &layer.annotations) {
                Ok(bundle) => bundle,
                Err(why) => {
                    found.push(ignored(format!("layer {i}: {why}")));
                    continue;
                }
            };
            let (sorted, signer, predicate_type) = sort_bundle(&bundle);
            let (kind, payload) = match legacy {
                LegacyTag::Signatures => (
                    EvidenceKind::SignedPayload,
                    Some(Box::new(Held {
                        digest: layer_digest,
                        bytes: content,
                    })),
                ),
                LegacyTag::Attestations => (sorted, None),
            };
            found.push(Found {
                referrer: manifest.digest,
                artifact_type: layer.media_type.clone(),
                tag: Some(tag.clone()),
                outcome: Outcome::Evidence {
                    kind,
                    manifest: manifest.clone(),
                    blob: BlobRef {
                        digest: Sha256Digest::of(&bundle),
                        size: bundle.len() as u64,
                        media_type: LEGACY_BUNDLE_MEDIA_TYPE.to_owned(),
                    },
                    bytes: Some(bundle),
                    signer,
                    predicate_type,
                    payload,
                },
            });
        }
    }
    Ok(found)
}

/// What a legacy layer holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signed<'a> {
    /// A simple-signing payload, signed by the signature annotation.
    Payload(&'a [u8]),
    /// A DSSE envelope (its signature inside).
    Envelope(&'a [u8]),
}

/// The `dev.sigstore.cosign/bundle` annotation.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CosignBundle {
    signed_entry_timestamp: String,
    payload: CosignEntry,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CosignEntry {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// The `dev.sigstore.cosign/rfc3161timestamp` annotation.
#[derive(Deserialize)]
struct CosignTimestamp {
    #[serde(rename = "SignedRFC3161Timestamp")]
    signed_rfc3161_timestamp: String,
}

/// A Sigstore bundle v0.1 (JSON) for one legacy layer and its annotations.
pub(crate) fn to_bundle(
    signed: Signed<'_>,
    annotations: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    let get = |name: &str| -> Result<Option<&str>, String> {
        match annotations.get(name) {
            Some(v) if v.len() > MAX_ANNOTATION => Err(format!(
                "annotation {name} is {} bytes (at most {MAX_ANNOTATION})",
                v.len()
            )),
            Some(v) => Ok(Some(v.as_str())),
            None => Ok(None),
        }
    };
    let need = |name: &str| get(name)?.ok_or_else(|| format!("no annotation {name}"));

    let entry: CosignBundle = serde_json::from_str(need(BUNDLE_ANNOTATION)?)
        .map_err(|e| format!("annotation {BUNDLE_ANNOTATION}: {e}"))?;
    let body = B64
        .decode(&entry.payload.body)
        .map_err(|e| format!("annotation {BUNDLE_ANNOTATION}: Payload.body: {e}"))?;
    let (kind, version) = kind_version(&body)
        .map_err(|e| format!("annotation {BUNDLE_ANNOTATION}: Payload.body: {e}"))?;
    let log_id = hex::decode(&entry.payload.log_id)
        .map_err(|e| format!("annotation {BUNDLE_ANNOTATION}: Payload.logID: {e}"))?;

    let signer = match get(CERTIFICATE_ANNOTATION)? {
        Some(pem) => {
            let leaf = pem_certificates(pem)
                .map_err(|e| format!("annotation {CERTIFICATE_ANNOTATION}: {e}"))?;
            let [leaf] = leaf.as_slice() else {
                return Err(format!(
                    "annotation {CERTIFICATE_ANNOTATION} holds {} certificates, not one",
                    leaf.len()
                ));
            };
            let mut chain = vec![leaf.clone()];
            if let Some(pem) = get(CHAIN_ANNOTATION)? {
                chain.extend(
                    pem_certificates(pem)
                        .map_err(|e| format!("annotation {CHAIN_ANNOTATION}: {e}"))?,
                );
            }
            (
                "x509CertificateChain",
                json!({"certificates": chain.iter().map(|der| json!({"rawBytes": B64.encode(der)})).collect::<Vec<_>>()}),
            )
        }
        // Signed with a key: the entry names it; the bundle hints at it by its id.
        None => (
            "publicKey",
            json!({"hint": logged_key_hint(&body)
                .map_err(|e| format!("annotation {BUNDLE_ANNOTATION}: Payload.body: {e}"))?}),
        ),
    };
    let mut material = json!({
        "tlogEntries": [{
            "logIndex": entry.payload.log_index.to_string(),
            "logId": {"keyId": B64.encode(&log_id)},
            "kindVersion": {"kind": kind, "version": version},
            "integratedTime": entry.payload.integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": entry.signed_entry_timestamp},
            "canonicalizedBody": entry.payload.body,
        }],
    });
    material[signer.0] = signer.1;
    if let Some(stamp) = get(TIMESTAMP_ANNOTATION)? {
        let stamp: CosignTimestamp = serde_json::from_str(stamp)
            .map_err(|e| format!("annotation {TIMESTAMP_ANNOTATION}: {e}"))?;
        material["timestampVerificationData"] = json!({
            "rfc3161Timestamps": [{"signedTimestamp": stamp.signed_rfc3161_timestamp}],
        });
    }

    let (content_key, content) = match signed {
        Signed::Payload(payload) => {
            use sha2::Digest as _;
            let signature = need(SIGNATURE_ANNOTATION)?;
            B64.decode(signature)
                .map_err(|e| format!("annotation {SIGNATURE_ANNOTATION}: {e}"))?;
            (
                "messageSignature",
                json!({
                    "messageDigest": {
                        "algorithm": "SHA2_256",
                        "digest": B64.encode(sha2::Sha256::digest(payload)),
                    },
                    "signature": signature,
                }),
            )
        }
        Signed::Envelope(bytes) => {
            if (kind.as_str(), version.as_str()) == ("intoto", "0.0.1") {
                check_envelope_hash(&body, bytes)
                    .map_err(|e| format!("annotation {BUNDLE_ANNOTATION}: Payload.body: {e}"))?;
            }
            let envelope: Value = serde_json::from_slice(bytes)
                .map_err(|e| format!("the DSSE envelope is not JSON: {e}"))?;
            ("dsseEnvelope", envelope)
        }
    };
    let mut bundle = serde_json::Map::new();
    bundle.insert("mediaType".into(), LEGACY_BUNDLE_MEDIA_TYPE.into());
    bundle.insert("verificationMaterial".into(), material);
    bundle.insert(content_key.into(), content);
    serde_json::to_vec(&Value::Object(bundle)).map_err(|e| format!("bundle: {e}"))
}

/// A Rekor entry body's `kind` and `apiVersion`.
fn kind_version(body: &[u8]) -> Result<(String, String), String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let field = |name: &str| {
        value[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name}"))
    };
    Ok((field("kind")?, field("apiVersion")?))
}

/// The hint for the key a hashedrekord entry logged (`spec.signature.publicKey.content`,
/// base64 PEM): base64 of its id, the SHA-256 of its SubjectPublicKeyInfo.
fn logged_key_hint(body: &[u8]) -> Result<String, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let logged = value
        .pointer("/spec/signature/publicKey/content")
        .and_then(Value::as_str)
        .ok_or("no certificate annotation, and the entry logs no public key (spec.signature.publicKey.content)")?;
    let pem = B64
        .decode(logged)
        .map_err(|e| format!("spec.signature.publicKey.content: {e}"))?;
    let pem = String::from_utf8(pem)
        .map_err(|_| "spec.signature.publicKey.content is not a PEM text".to_owned())?;
    let key = airlock_trust_root::PublicKey::from_pem(&pem)
        .map_err(|e| format!("spec.signature.publicKey.content: {e}"))?;
    Ok(B64.encode(key.key_id()))
}

/// Checks that an `intoto 0.0.1` body's `content.hash` is the SHA-256 of `envelope`, the
/// bytes the layer holds.
fn check_envelope_hash(body: &[u8], envelope: &[u8]) -> Result<(), String> {
    use sha2::Digest as _;
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let hash = &value["spec"]["content"]["hash"];
    if hash["algorithm"] != "sha256" {
        return Err(format!(
            "spec.content.hash.algorithm is {}, not sha256",
            hash["algorithm"]
        ));
    }
    let logged = hash["value"].as_str().ok_or("no spec.content.hash.value")?;
    let layer = hex::encode(sha2::Sha256::digest(envelope));
    if !logged.eq_ignore_ascii_case(&layer) {
        let shown: String = logged.chars().take(64).collect();
        return Err(format!(
            "the logged envelope hash {shown} is not the layer's {layer}"
        ));
    }
    Ok(())
}

/// The DER of every `CERTIFICATE` block in `pem`, in order (at least one).
fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else {
            return Err("a certificate block has no END line".into());
        };
        let b64: String = after[..end].split_whitespace().collect();
        out.push(
            B64.decode(b64)
                .map_err(|e| format!("certificate {}: {e}", out.len()))?,
        );
        rest = &after[end + END.len()..];
    }
    if out.is_empty() {
        return Err("no PEM CERTIFICATE block".into());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn annotations(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        annotations_for(
            br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#,
            extra,
        )
    }

    /// Annotations whose bundle annotation logs `body`.
    fn annotations_for(body: &[u8], extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            B64.encode(b"leaf der")
        );
        let body = B64.encode(body);
        let bundle = format!(
            r#"{{"SignedEntryTimestamp":"c2V0","Payload":{{"body":"{body}","integratedTime":1700000000,"logIndex":7,"logID":"0a0b"}}}}"#
        );
        let mut map: BTreeMap<String, String> = [
            (CERTIFICATE_ANNOTATION, pem.as_str()),
            (BUNDLE_ANNOTATION, bundle.as_str()),
            (SIGNATURE_ANNOTATION, "c2ln"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        map
    }

    #[test]
    fn a_simple_signing_layer_becomes_a_v0_1_message_signature_bundle_with_its_set() {
        let bytes = to_bundle(Signed::Payload(b"payload"), &annotations(&[])).unwrap();
        let b: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(b["mediaType"], LEGACY_BUNDLE_MEDIA_TYPE);
        let entry = &b["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(entry["logIndex"], "7");
        assert_eq!(entry["logId"]["keyId"], B64.encode([0x0a, 0x0b]));
        assert_eq!(entry["kindVersion"]["kind"], "hashedrekord");
        assert_eq!(entry["kindVersion"]["version"], "0.0.1");
        assert_eq!(entry["integratedTime"], "1700000000");
        assert_eq!(entry["inclusionPromise"]["signedEntryTimestamp"], "c2V0");
        assert_eq!(
            b["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"],
            B64.encode(b"leaf der")
        );
        assert_eq!(b["messageSignature"]["signature"], "c2ln");
        assert_eq!(
            b["messageSignature"]["messageDigest"]["algorithm"],
            "SHA2_256"
        );
    }

    #[test]
    fn a_layer_without_a_certificate_or_a_logged_key_or_with_a_broken_bundle_annotation_is_refused_by_name()
     {
        let mut a = annotations(&[]);
        a.remove(CERTIFICATE_ANNOTATION);
        assert_eq!(
            to_bundle(Signed::Payload(b"p"), &a).unwrap_err(),
            "annotation dev.sigstore.cosign/bundle: Payload.body: no certificate annotation, and the entry logs no public key (spec.signature.publicKey.content)"
        );
        let a = annotations(&[(BUNDLE_ANNOTATION, "{}")]);
        assert!(
            to_bundle(Signed::Payload(b"p"), &a)
                .unwrap_err()
                .starts_with("annotation dev.sigstore.cosign/bundle: missing field")
        );
        let a = annotations(&[(CHAIN_ANNOTATION, "not pem")]);
        assert_eq!(
            to_bundle(Signed::Payload(b"p"), &a).unwrap_err(),
            "annotation dev.sigstore.cosign/chain: no PEM CERTIFICATE block"
        );
    }

    fn kind_version_of(bundle: &[u8]) -> Value {
        let b: Value = serde_json::from_slice(bundle).unwrap();
        b["verificationMaterial"]["tlogEntries"][0]["kindVersion"].clone()
    }

    #[test]
    fn a_rekord_entry_keeps_its_kind() {
        let body = br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{}}"#;
        let bytes = to_bundle(Signed::Payload(b"payload"), &annotations_for(body, &[])).unwrap();
        assert_eq!(
            kind_version_of(&bytes),
            json!({"kind": "rekord", "version": "0.0.1"})
        );
    }

    #[test]
    fn an_intoto_v001_entry_must_log_the_layers_envelope_bytes() {
        use sha2::Digest as _;
        let envelope = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"c2ln"}]}"#;
        let body = |hash: &str| {
            json!({
                "apiVersion": "0.0.1",
                "kind": "intoto",
                "spec": {"content": {"hash": {"algorithm": "sha256", "value": hash}}},
            })
            .to_string()
        };
        let ours = hex::encode(sha2::Sha256::digest(envelope));
        let bytes = to_bundle(
            Signed::Envelope(envelope),
            &annotations_for(body(&ours).as_bytes(), &[]),
        )
        .unwrap();
        assert_eq!(
            kind_version_of(&bytes),
            json!({"kind": "intoto", "version": "0.0.1"})
        );
        let theirs = "0".repeat(64);
        assert_eq!(
            to_bundle(
                Signed::Envelope(envelope),
                &annotations_for(body(&theirs).as_bytes(), &[]),
            )
            .unwrap_err(),
            format!(
                "annotation dev.sigstore.cosign/bundle: Payload.body: the logged envelope hash {theirs} is not the layer's {ours}"
            )
        );
    }
}
