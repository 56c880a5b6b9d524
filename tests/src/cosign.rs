//! Cosign's legacy layout, minted by the kit: a simple-signing payload signed and logged
//! (hashedrekord) or an in-toto statement in DSSE (dsse entry), each as the layer cosign
//! pushes under `sha256-<hex>.sig` / `.att`, with the signature, the certificate and chain
//! from the kit's CA and the Rekor entry with its SET from the kit's log in the annotations.
//! The layer is made from a bundle the kit minted in the v0.1 shape (chain, promise only), so
//! what the annotations say is exactly what that bundle says.
//!
//! Older evidence was logged as other kinds: `rekord 0.0.1` by `cosign sign` before
//! hashedrekord, `intoto 0.0.1` by `cosign attest`. [`Instance::cosign_relog`] logs a layer
//! again as one of those (a new entry in the kit's log, with its SET and inclusion proof),
//! optionally with one field recorded wrongly, the way a lying or confused log would.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use sha2::{Digest, Sha256};

use crate::attest::Predicate;
use crate::canonical::canonical_json;
use crate::error::{KitError, Result, json_err};
use crate::instance::{Instance, LoggedEntry, MintedBundle, SignOptions};
use crate::shape::{BundleVersion, CertificateMaterial, ProofShape};
use crate::x509::cert_pem;

/// A `.sig` layer's media type.
pub const COSIGN_SIMPLE_SIGNING_MEDIA_TYPE: &str =
    "application/vnd.dev.cosign.simplesigning.v1+json";
/// A `.att` layer's media type.
pub const COSIGN_DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// One layer of a cosign `.sig` or `.att` manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignLayer {
    /// Its media type.
    pub media_type: String,
    /// Its blob: the simple-signing payload, or the DSSE envelope (JSON).
    pub content: Vec<u8>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// The bundle it was made from (v0.1, chain, promise only; relogged layers' bundles also
    /// carry their entry's inclusion proof).
    pub minted: MintedBundle,
}

impl CosignLayer {
    /// Flips the last byte of the signature annotation: still base64 of a DER ECDSA
    /// signature, no longer a signature over this payload.
    pub fn tamper_signature(&mut self) {
        if let Some(sig) = self
            .annotations
            .get_mut("dev.cosignproject.cosign/signature")
            && let Ok(mut bytes) = B64.decode(sig.as_bytes())
        {
            if let Some(last) = bytes.last_mut() {
                *last ^= 0x01;
            }
            *sig = B64.encode(bytes);
        }
    }
}

/// The legacy Rekor kind [`Instance::cosign_relog`] logs a layer as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegacyKind {
    /// `rekord 0.0.1` (a `.sig` layer): the payload's SHA-256, the signature with format
    /// `x509`, the certificate's PEM.
    Rekord,
    /// `intoto 0.0.1` (a `.att` layer) in its canonical form: the SHA-256 of the envelope
    /// bytes (the layer) and of the payload, and the certificate's PEM; no envelope.
    Intoto001,
}

/// One field a relogged entry records wrongly. The log still signs and includes the entry as
/// minted, so only the check of the body against the bundle can catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryFault {
    /// `rekord`: `data.hash` is of other bytes.
    Digest,
    /// `rekord`: `signature.content` is another signature.
    Signature,
    /// `intoto`: `content.payloadHash` is of other bytes.
    PayloadHash,
    /// `intoto`: `content.hash` is of other bytes than the layer's envelope.
    EnvelopeHash,
    /// Either: the PEM is another certificate (one of the kit CA's).
    PublicKey,
}

/// Cosign's simple-signing payload for `docker_reference` at `digest` (`sha256:…`).
pub fn simple_signing_payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// The v0.1 shape cosign's annotations can express: a certificate chain, a SET, no proof.
fn legacy(opts: &SignOptions) -> SignOptions {
    let mut opts = opts.clone();
    opts.shape.version = BundleVersion::V0_1;
    opts.shape.material = CertificateMaterial::ChainToIntermediate;
    opts.shape.proof = ProofShape::PromiseOnly;
    opts
}

/// The `.sig` layer of a simple-signing `payload` and the bundle minted for it: the payload,
/// the signature annotation and the rest of the bundle's material as annotations.
fn sig_layer(payload: &[u8], minted: MintedBundle) -> Result<CosignLayer> {
    let bundle = parse(&minted)?;
    let mut annotations = annotations(&bundle)?;
    annotations.insert(
        "dev.cosignproject.cosign/signature".into(),
        text(&bundle["messageSignature"]["signature"], "signature")?,
    );
    Ok(CosignLayer {
        media_type: COSIGN_SIMPLE_SIGNING_MEDIA_TYPE.into(),
        content: payload.to_vec(),
        annotations,
        minted,
    })
}

impl Instance {
    /// Signs `payload` (a simple-signing payload) as `cosign sign` did before bundles: the
    /// `.sig` layer.
    pub fn cosign_sign(&mut self, payload: &[u8], opts: &SignOptions) -> Result<CosignLayer> {
        let minted = self.sign_blob(payload, &legacy(opts))?;
        sig_layer(payload, minted)
    }

    /// Signs `payload` as `cosign sign --key` did before bundles: the `.sig` layer carries the
    /// signature and the Rekor entry (logging `key`'s public key), and no certificate.
    pub fn cosign_sign_with_key(
        &mut self,
        payload: &[u8],
        key: &crate::keys::EcKey,
        opts: &SignOptions,
    ) -> Result<CosignLayer> {
        let minted = self.sign_blob_with_key(payload, key, &legacy(opts))?;
        sig_layer(payload, minted)
    }

    /// Attests `predicate` about the image `subject_digest` as `cosign attest` did before
    /// bundles: the `.att` layer.
    pub fn cosign_attest(
        &mut self,
        subject_name: &str,
        subject_digest: [u8; 32],
        predicate: &Predicate,
        opts: &SignOptions,
    ) -> Result<CosignLayer> {
        let minted = self.attest(subject_name, subject_digest, predicate, &legacy(opts))?;
        let bundle = parse(&minted)?;
        let mut annotations = annotations(&bundle)?;
        annotations.insert("dev.cosignproject.cosign/signature".into(), String::new());
        let content = serde_json::to_vec(&bundle["dsseEnvelope"]).map_err(json_err("envelope"))?;
        Ok(CosignLayer {
            media_type: COSIGN_DSSE_MEDIA_TYPE.into(),
            content,
            annotations,
            minted,
        })
    }
}

impl Instance {
    /// `layer` logged again as `kind` (with `fault`, one field recorded wrongly): a new entry
    /// in the kit's log at the original integrated time, the bundle annotation naming it with
    /// its SET, and [`CosignLayer::minted`] the v0.1 bundle for it, which also carries the
    /// entry's inclusion proof (the annotations cannot).
    pub fn cosign_relog(
        &mut self,
        layer: &CosignLayer,
        kind: LegacyKind,
        fault: Option<EntryFault>,
    ) -> Result<CosignLayer> {
        let invalid = |detail: &str| KitError::Invalid {
            what: "legacy entry",
            detail: detail.into(),
        };
        let leaf = layer
            .minted
            .certificate_der
            .as_deref()
            .ok_or_else(|| invalid("the layer has no certificate"))?;
        let chain = self.ca_chain_der();
        let other = chain
            .last()
            .ok_or_else(|| invalid("the kit CA has no certificates"))?;
        let signer = if fault == Some(EntryFault::PublicKey) {
            other
        } else {
            leaf
        };
        let signer = B64.encode(cert_pem(signer));
        let sha256 = |bytes: &[u8], wrong: bool| {
            let digest = if wrong {
                Sha256::digest([bytes, b" (not what was signed)"].concat())
            } else {
                Sha256::digest(bytes)
            };
            hex::encode(digest)
        };
        let body = match kind {
            LegacyKind::Rekord => {
                let signature = layer
                    .annotations
                    .get("dev.cosignproject.cosign/signature")
                    .ok_or_else(|| invalid("a rekord entry needs a .sig layer's signature"))?;
                let mut signature = B64
                    .decode(signature)
                    .map_err(|e| invalid(&format!("signature annotation: {e}")))?;
                if fault == Some(EntryFault::Signature)
                    && let Some(last) = signature.last_mut()
                {
                    *last ^= 0x01;
                }
                json!({
                    "apiVersion": "0.0.1",
                    "kind": "rekord",
                    "spec": {
                        "data": {"hash": {
                            "algorithm": "sha256",
                            "value": sha256(&layer.content, fault == Some(EntryFault::Digest)),
                        }},
                        "signature": {
                            "content": B64.encode(signature),
                            "format": "x509",
                            "publicKey": {"content": signer},
                        },
                    },
                })
            }
            LegacyKind::Intoto001 => {
                let envelope: Value =
                    serde_json::from_slice(&layer.content).map_err(json_err("envelope"))?;
                let payload = B64
                    .decode(text(&envelope["payload"], "payload")?)
                    .map_err(|e| invalid(&format!("envelope payload: {e}")))?;
                json!({
                    "apiVersion": "0.0.1",
                    "kind": "intoto",
                    "spec": {
                        "content": {
                            "hash": {
                                "algorithm": "sha256",
                                "value": sha256(&layer.content, fault == Some(EntryFault::EnvelopeHash)),
                            },
                            "payloadHash": {
                                "algorithm": "sha256",
                                "value": sha256(&payload, fault == Some(EntryFault::PayloadHash)),
                            },
                        },
                        "publicKey": signer,
                    },
                })
            }
        };
        let body = canonical_json(&body);
        let (kind_name, version) = match kind {
            LegacyKind::Rekord => ("rekord", "0.0.1"),
            LegacyKind::Intoto001 => ("intoto", "0.0.1"),
        };

        let mut bundle = parse(&layer.minted)?;
        let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
        let integrated_time = number(&entry["integratedTime"], "integratedTime")?;
        let log = self.log_mut();
        let index = log.append(body.clone(), integrated_time)?;
        let size = log.size();
        let set = log.signed_entry_timestamp(index)?;
        let hashes = log.inclusion_proof(index, size)?;
        let checkpoint = log.checkpoint(size)?;
        *entry = LoggedEntry {
            index,
            log_id: entry["logId"].clone(),
            kind: kind_name,
            version,
            integrated_time,
            set: &set,
            size,
            hashes: &hashes,
            checkpoint: &checkpoint,
            body: &body,
        }
        .to_json();

        let mut annotations = annotations(&bundle)?;
        if let Some(signature) = layer.annotations.get("dev.cosignproject.cosign/signature") {
            annotations.insert(
                "dev.cosignproject.cosign/signature".into(),
                signature.clone(),
            );
        }
        let mut minted = layer.minted.clone();
        minted.json = serde_json::to_vec_pretty(&bundle).map_err(json_err("bundle"))?;
        minted.log_index = index;
        Ok(CosignLayer {
            media_type: layer.media_type.clone(),
            content: layer.content.clone(),
            annotations,
            minted,
        })
    }
}

fn parse(minted: &MintedBundle) -> Result<Value> {
    serde_json::from_slice(&minted.json).map_err(json_err("minted bundle"))
}

fn text(value: &Value, what: &'static str) -> Result<String> {
    value.as_str().map(str::to_owned).ok_or(KitError::Invalid {
        what,
        detail: "missing from the minted bundle".into(),
    })
}

fn number(value: &Value, what: &'static str) -> Result<i64> {
    text(value, what)?.parse().map_err(|_| KitError::Invalid {
        what,
        detail: "not an integer".into(),
    })
}

/// The certificate, chain and bundle annotations for a minted v0.1 bundle (the bundle
/// annotation alone for one signed with a managed key).
fn annotations(bundle: &Value) -> Result<BTreeMap<String, String>> {
    let material = &bundle["verificationMaterial"];
    let certificates: Vec<Vec<u8>> = material["x509CertificateChain"]["certificates"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["rawBytes"].as_str())
                .filter_map(|b| B64.decode(b).ok())
                .collect()
        })
        .unwrap_or_default();
    let keyed = material.get("publicKey").is_some();
    let leaf_and_chain = certificates.split_first();
    if leaf_and_chain.is_none() && !keyed {
        return Err(KitError::Invalid {
            what: "certificate chain",
            detail: "empty in the minted bundle".into(),
        });
    }
    let entry = &material["tlogEntries"][0];
    let log_id = B64
        .decode(text(&entry["logId"]["keyId"], "logId")?)
        .map_err(|e| KitError::Invalid {
            what: "logId",
            detail: e.to_string(),
        })?;
    let cosign_bundle = json!({
        "SignedEntryTimestamp": text(&entry["inclusionPromise"]["signedEntryTimestamp"], "SET")?,
        "Payload": {
            "body": text(&entry["canonicalizedBody"], "body")?,
            "integratedTime": number(&entry["integratedTime"], "integratedTime")?,
            "logIndex": number(&entry["logIndex"], "logIndex")?,
            "logID": hex::encode(log_id),
        },
    });
    let mut out = BTreeMap::new();
    if let Some((leaf, chain)) = leaf_and_chain {
        out.insert("dev.sigstore.cosign/certificate".into(), cert_pem(leaf));
        out.insert(
            "dev.sigstore.cosign/chain".into(),
            chain.iter().map(|c| cert_pem(c)).collect::<String>(),
        );
    }
    out.insert(
        "dev.sigstore.cosign/bundle".into(),
        cosign_bundle.to_string(),
    );
    Ok(out)
}
