//! The manifest's DSSE envelope: ed25519 signatures over the pre-authentication encoding,
//! checked against the publisher keys a caller trusts, with a k-of-n threshold.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use airlock_trust_root::pae;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::error::ArchiveError;
use super::manifest::{
    FORMAT_VERSION, MANIFEST_PAYLOAD_TYPE, ManifestError, PAYLOAD_TYPE_PREFIX, PAYLOAD_TYPE_SUFFIX,
};
use crate::keys::KeyId;

/// Largest manifest envelope a reader accepts.
pub const MAX_ENVELOPE_SIZE: u64 = 32 << 20;

/// Most signatures an envelope may carry (readers refuse more; the writer never writes more).
pub const MAX_SIGNATURES: usize = 64;

/// The payload is borrowed from the envelope's bytes where it can be (base64 needs no JSON
/// escapes): for a manifest of many artifacts it is tens of megabytes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(borrow)]
    payload: Cow<'a, str>,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeSignature {
    keyid: String,
    sig: String,
}

/// The publisher keys a reader trusts and how many of them must sign.
#[derive(Debug, Clone)]
pub struct PublisherKeys {
    keys: BTreeMap<KeyId, VerifyingKey>,
    threshold: usize,
}

impl PublisherKeys {
    /// Trusts `keys`, requiring `threshold` (at least 1) distinct valid signatures among them.
    pub fn new(
        keys: impl IntoIterator<Item = VerifyingKey>,
        threshold: usize,
    ) -> Result<Self, ArchiveError> {
        let keys: BTreeMap<_, _> = keys.into_iter().map(|k| (KeyId::of(&k), k)).collect();
        if threshold == 0 || threshold > keys.len() {
            return Err(ArchiveError::BadThreshold {
                threshold,
                keys: keys.len(),
            });
        }
        Ok(Self { keys, threshold })
    }

    /// Trusts any one of `keys`.
    pub fn any_of(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, ArchiveError> {
        let keys: Vec<_> = keys.into_iter().collect();
        Self::new(keys, 1)
    }

    /// The required number of signatures.
    pub fn threshold(&self) -> usize {
        self.threshold
    }
}

/// A verified envelope's payload and the trusted keys that signed it.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) payload: Vec<u8>,
    pub(crate) signers: Vec<KeyId>,
}

/// Signs `payload` (a manifest's JSON) with every key in `keys`; returns the envelope JSON.
pub fn sign_manifest(payload: &[u8], keys: &[&SigningKey]) -> Vec<u8> {
    let message = pae(MANIFEST_PAYLOAD_TYPE, payload);
    let envelope = Envelope {
        payload: STANDARD.encode(payload).into(),
        payload_type: MANIFEST_PAYLOAD_TYPE.to_owned(),
        signatures: keys
            .iter()
            .map(|key| EnvelopeSignature {
                keyid: KeyId::of(&key.verifying_key()).to_string(),
                sig: STANDARD.encode(key.sign(&message).to_bytes()),
            })
            .collect(),
    };
    // Strings and vectors of strings always serialize.
    serde_json::to_vec(&envelope)
        .expect("invariant: a DSSE envelope serializes (derived, string keys)")
}

/// Checks the envelope: the manifest payload type, and at least `threshold` distinct trusted
/// keys with valid signatures. A signature under a trusted key id that does not verify is an
/// error even if others suffice: it means tampering or a broken signer.
pub(crate) fn open(envelope_json: &[u8], keys: &PublisherKeys) -> Result<Opened, ArchiveError> {
    let (envelope, payload) = decode(envelope_json)?;
    let message = pae(&envelope.payload_type, &payload);

    let mut signers = BTreeSet::new();
    let mut unknown = Vec::new();
    for signature in &envelope.signatures {
        let Some((key_id, key)) = keys
            .keys
            .iter()
            .find(|(id, _)| id.as_str() == signature.keyid)
        else {
            unknown.push(signature.keyid.clone());
            continue;
        };
        let valid = STANDARD
            .decode(&signature.sig)
            .ok()
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .is_some_and(|sig| key.verify_strict(&message, &sig).is_ok());
        if !valid {
            return Err(ArchiveError::BadSignature {
                key_id: key_id.clone(),
            });
        }
        signers.insert(key_id.clone());
    }
    if signers.is_empty() {
        return Err(ArchiveError::UnknownSigner { key_ids: unknown });
    }
    if signers.len() < keys.threshold {
        return Err(ArchiveError::ThresholdNotMet {
            valid: signers.len(),
            required: keys.threshold,
        });
    }
    Ok(Opened {
        payload,
        signers: signers.into_iter().collect(),
    })
}

/// The envelope and its decoded payload, the signatures not yet checked.
fn decode(envelope_json: &[u8]) -> Result<(Envelope<'_>, Vec<u8>), ArchiveError> {
    let envelope: Envelope = serde_json::from_slice(envelope_json)
        .map_err(|e| ArchiveError::BadEnvelope(e.to_string()))?;
    if envelope.payload_type != MANIFEST_PAYLOAD_TYPE {
        return Err(match later_version(&envelope.payload_type) {
            Some(found) => ManifestError::UnsupportedVersion { found }.into(),
            None => ArchiveError::WrongPayloadType(envelope.payload_type),
        });
    }
    check_signature_count(envelope.signatures.len())?;
    let payload = STANDARD
        .decode(envelope.payload.as_bytes())
        .map_err(|e| ArchiveError::BadEnvelope(format!("payload is not base64: {e}")))?;
    Ok((envelope, payload))
}

/// The payload of an envelope verified earlier (one the reader staged), without checking its
/// signatures again.
pub(crate) fn payload_of_verified(envelope_json: &[u8]) -> Result<Vec<u8>, ArchiveError> {
    decode(envelope_json).map(|(_, payload)| payload)
}

/// The `N` of a payload type `application/vnd.airlock.manifest.vN+json` naming a later
/// version than this code implements: `N` in decimal without a sign or leading zeros, greater
/// than [`FORMAT_VERSION`] and at most `u32::MAX`.
fn later_version(payload_type: &str) -> Option<u32> {
    let digits = payload_type
        .strip_prefix(PAYLOAD_TYPE_PREFIX)?
        .strip_suffix(PAYLOAD_TYPE_SUFFIX)?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > FORMAT_VERSION)
}

fn check_signature_count(count: usize) -> Result<(), ArchiveError> {
    if count > MAX_SIGNATURES {
        return Err(ArchiveError::TooManySignatures {
            count,
            limit: MAX_SIGNATURES,
        });
    }
    Ok(())
}

/// The reader's limits, checked by the writer before it writes anything: at most
/// [`MAX_ENVELOPE_SIZE`] bytes (`EnvelopeTooLarge`), a DSSE envelope (`BadEnvelope`), at most
/// [`MAX_SIGNATURES`] signatures (`TooManySignatures`).
pub(crate) fn check_limits(envelope_json: &[u8]) -> Result<(), ArchiveError> {
    let size = envelope_json.len() as u64;
    if size > MAX_ENVELOPE_SIZE {
        return Err(ArchiveError::EnvelopeTooLarge {
            size,
            limit: MAX_ENVELOPE_SIZE,
        });
    }
    let envelope: Envelope = serde_json::from_slice(envelope_json)
        .map_err(|e| ArchiveError::BadEnvelope(e.to_string()))?;
    check_signature_count(envelope.signatures.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn one_of_two_keys_opens_and_names_its_signer() {
        let (a, b) = (key(1), key(2));
        let envelope = sign_manifest(b"{}", &[&a]);
        let keys = PublisherKeys::any_of([a.verifying_key(), b.verifying_key()]).unwrap();
        let opened = open(&envelope, &keys).unwrap();
        assert_eq!(opened.payload, b"{}");
        assert_eq!(opened.signers, vec![KeyId::of(&a.verifying_key())]);
    }

    #[test]
    fn threshold_counts_distinct_keys() {
        let (a, b) = (key(1), key(2));
        let keys = PublisherKeys::new([a.verifying_key(), b.verifying_key()], 2).unwrap();
        let once = sign_manifest(b"{}", &[&a, &a]);
        assert!(matches!(
            open(&once, &keys),
            Err(ArchiveError::ThresholdNotMet {
                valid: 1,
                required: 2
            })
        ));
        let both = sign_manifest(b"{}", &[&a, &b]);
        assert_eq!(open(&both, &keys).unwrap().signers.len(), 2);
        assert!(matches!(
            PublisherKeys::new([a.verifying_key()], 2),
            Err(ArchiveError::BadThreshold {
                threshold: 2,
                keys: 1
            })
        ));
    }

    #[test]
    fn unknown_and_bad_signatures_are_named() {
        let (a, b) = (key(1), key(2));
        let keys = PublisherKeys::any_of([a.verifying_key()]).unwrap();
        let by_b = sign_manifest(b"{}", &[&b]);
        match open(&by_b, &keys) {
            Err(ArchiveError::UnknownSigner { key_ids }) => {
                assert_eq!(key_ids, vec![KeyId::of(&b.verifying_key()).to_string()]);
            }
            other => panic!("{other:?}"),
        }
        // Same key id, different payload: the signature no longer verifies.
        let mut envelope: serde_json::Value =
            serde_json::from_slice(&sign_manifest(b"{}", &[&a])).unwrap();
        envelope["payload"] = STANDARD.encode(b"{ }").into();
        let tampered = serde_json::to_vec(&envelope).unwrap();
        assert!(matches!(
            open(&tampered, &keys),
            Err(ArchiveError::BadSignature { key_id }) if key_id == KeyId::of(&a.verifying_key())
        ));
        envelope["payloadType"] = "application/vnd.in-toto+json".into();
        let retyped = serde_json::to_vec(&envelope).unwrap();
        assert!(matches!(
            open(&retyped, &keys),
            Err(ArchiveError::WrongPayloadType(t)) if t == "application/vnd.in-toto+json"
        ));
    }

    #[test]
    fn a_later_manifest_type_is_an_unsupported_version() {
        let a = key(1);
        let keys = PublisherKeys::any_of([a.verifying_key()]).unwrap();
        let mut envelope: serde_json::Value =
            serde_json::from_slice(&sign_manifest(b"{}", &[&a])).unwrap();
        for (payload_type, found) in [
            ("application/vnd.airlock.manifest.v2+json", Some(2)),
            (
                "application/vnd.airlock.manifest.v4294967295+json",
                Some(u32::MAX),
            ),
            ("application/vnd.airlock.manifest.v4294967296+json", None),
            ("application/vnd.airlock.manifest.v0+json", None),
            ("application/vnd.airlock.manifest.v02+json", None),
            ("application/vnd.airlock.manifest.v+2+json", None),
            ("application/vnd.airlock.manifest.v+json", None),
            ("application/vnd.airlock.manifest.v2", None),
            ("application/vnd.airlock.manifest.V2+json", None),
        ] {
            envelope["payloadType"] = payload_type.into();
            let bytes = serde_json::to_vec(&envelope).unwrap();
            match (open(&bytes, &keys), found) {
                (
                    Err(ArchiveError::Manifest(ManifestError::UnsupportedVersion { found: f })),
                    Some(want),
                ) => assert_eq!(f, want),
                (Err(ArchiveError::WrongPayloadType(t)), None) => assert_eq!(t, payload_type),
                (other, _) => panic!("{payload_type}: {other:?}"),
            }
        }
        assert_eq!(
            format!("{PAYLOAD_TYPE_PREFIX}{FORMAT_VERSION}{PAYLOAD_TYPE_SUFFIX}"),
            MANIFEST_PAYLOAD_TYPE
        );
    }

    #[test]
    fn more_than_64_signatures_are_refused_by_reader_and_writer_check() {
        let a = key(1);
        let keys = PublisherKeys::any_of([a.verifying_key()]).unwrap();
        let at_limit = sign_manifest(b"{}", &vec![&a; MAX_SIGNATURES]);
        assert_eq!(open(&at_limit, &keys).unwrap().signers.len(), 1);
        check_limits(&at_limit).unwrap();
        let over = sign_manifest(b"{}", &vec![&a; MAX_SIGNATURES + 1]);
        for result in [open(&over, &keys).map(|_| ()), check_limits(&over)] {
            assert!(
                matches!(
                    result,
                    Err(ArchiveError::TooManySignatures {
                        count: 65,
                        limit: 64
                    })
                ),
                "{result:?}"
            );
        }
    }
}
