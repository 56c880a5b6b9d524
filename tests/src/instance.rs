//! The private Sigstore-like instance: CA, CT log, transparency log and TSA from one seed, and
//! the bundles, attestations and trusted root it mints.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::attest::{IN_TOTO_PAYLOAD_TYPE, Predicate, pae, statement_with_digests};
use crate::ca::{Ca, Identity, LeafRequest, SctMode};
use crate::canonical::canonical_json;
use crate::ct::CtLog;
use crate::error::{KitError, Result, json_err};
use crate::keys::{EcKey, LeafKey, Seed};
use crate::log::TransparencyLog;
use crate::shape::{CertificateMaterial, DigestAlgorithm, EntryKind, ProofShape, Shape};
use crate::tsa::Tsa;
use crate::x509::cert_pem;

pub use crate::shape::BUNDLE_V03_MEDIA_TYPE;
/// Media type of a Sigstore trusted root.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// Lifetime of a leaf certificate, as Fulcio issues them.
pub const LEAF_VALIDITY_SECS: i64 = 600;

/// When the leaf certificate is valid, relative to the signing time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CertValidity {
    /// `[signed_at, signed_at + 10 min]`: valid at signing and log integration.
    #[default]
    Normal,
    /// Expired before the signature was logged: `[signed_at − 20 min, signed_at − 10 min]`.
    Expired,
    /// Not yet valid when the signature was logged: `[signed_at + 10 min, signed_at + 20 min]`.
    NotYetValid,
}

/// Which key signs the checkpoint in the bundle's inclusion proof.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CheckpointMode {
    /// The log's own key.
    #[default]
    LogKey,
    /// A key the trusted root does not know.
    UnknownKey,
}

/// Whether the bundle carries an RFC 3161 timestamp, and what kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimestampMode {
    /// No timestamp; the log's integrated time is the only observed time.
    #[default]
    None,
    /// A valid timestamp from the trusted TSA over the signature.
    Valid,
    /// A timestamp over some other message than the signature.
    WrongMessage,
    /// A timestamp signed by a TSA the trusted root does not list.
    UnknownAuthority,
    /// A valid timestamp whose time is outside the leaf certificate's validity.
    OutsideCertValidity,
}

/// Switches that break one thing in a minted bundle, for negative fixtures.
/// The default breaks nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Knobs {
    /// The leaf certificate's validity window.
    pub cert_validity: CertValidity,
    /// The leaf certificate's SCT.
    pub sct: SctMode,
    /// Issue the certificate for this identity instead of [`SignOptions::identity`]
    /// (the bundle's [`MintedBundle::identity`] still reports the requested one).
    pub wrong_identity: Option<Identity>,
    /// Issue the certificate with this OIDC issuer instead of [`SignOptions::issuer`].
    pub wrong_issuer: Option<String>,
    /// The bundle's canonicalized body differs from what the log signed and hashed.
    pub tamper_body: bool,
    /// The first hash of the inclusion path is corrupted (or a bogus one added if it is empty).
    pub wrong_inclusion_path: bool,
    /// Who signs the inclusion proof's checkpoint.
    pub checkpoint: CheckpointMode,
    /// The RFC 3161 timestamp.
    pub timestamp: TimestampMode,
    /// The signature (message or DSSE) does not verify.
    pub bad_signature: bool,
    /// The log entry carries no signed entry timestamp or integrated time, so the RFC 3161
    /// timestamp is the bundle's only evidence of time (as with Rekor v2).
    pub omit_promise: bool,
    /// Attestations only: the log entry's payload hash is not the payload's (the log still
    /// signs and includes the entry as minted).
    pub wrong_entry_payload_hash: bool,
    /// The log entry records a valid signature by the same key over another message instead of
    /// the bundle's signature (the log still signs and includes the entry as minted).
    pub wrong_entry_signature: bool,
}

/// How to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOptions {
    /// The identity the certificate names.
    pub identity: Identity,
    /// The OIDC issuer the certificate names.
    pub issuer: String,
    /// When to sign; `None` means the instance's base time plus one second per signature
    /// already made (so successive signatures are ordered and deterministic).
    pub at: Option<DateTime<Utc>>,
    /// Negative-fixture switches.
    pub knobs: Knobs,
    /// How the bundle is laid out (version, material, proof, entry kind, key, digest).
    pub shape: Shape,
}

impl SignOptions {
    /// A good signature by a CI workload (URI SAN) from `issuer`.
    pub fn workload(uri: &str, issuer: &str) -> Self {
        SignOptions {
            identity: Identity::Uri(uri.to_string()),
            issuer: issuer.to_string(),
            at: None,
            knobs: Knobs::default(),
            shape: Shape::default(),
        }
    }

    /// A good signature by a person (email SAN) from `issuer`.
    pub fn person(email: &str, issuer: &str) -> Self {
        SignOptions {
            identity: Identity::Email(email.to_string()),
            issuer: issuer.to_string(),
            at: None,
            knobs: Knobs::default(),
            shape: Shape::default(),
        }
    }

    /// The same options with `knobs`.
    pub fn with_knobs(mut self, knobs: Knobs) -> Self {
        self.knobs = knobs;
        self
    }

    /// The same options with `shape`.
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }
}

/// A bundle the kit minted, with what a verifier should expect of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MintedBundle {
    /// The Sigstore bundle JSON (v0.3 unless [`Shape::version`] says otherwise).
    pub json: Vec<u8>,
    /// The identity a verifier should require (the requested one, whatever the knobs did).
    pub identity: Identity,
    /// The OIDC issuer a verifier should require.
    pub issuer: String,
    /// DER of the leaf certificate (`None` for managed-key bundles).
    pub certificate_der: Option<Vec<u8>>,
    /// The entry's index in the instance's log.
    pub log_index: u64,
    /// SHA-256 of the artifact (message signatures) or of the subject (attestations), whatever
    /// digest the bundle itself names.
    pub subject_digest: [u8; 32],
    /// For attestations, the in-toto statement (the DSSE payload).
    pub statement: Option<Vec<u8>>,
    /// The signing time.
    pub signed_at: DateTime<Utc>,
}

/// A private Sigstore: every key and output follows from the seed and the base time.
#[derive(Clone, Debug)]
pub struct Instance {
    seed: Seed,
    base_time: DateTime<Utc>,
    host: String,
    ca: Ca,
    ct_log: CtLog,
    rogue_ct_log: CtLog,
    log: TransparencyLog,
    rogue_key: EcKey,
    tsa: Tsa,
    rogue_tsa: Tsa,
    signatures: u64,
}

/// How long before the base time the instance's keys and CA become valid.
const CA_BACKDATE_SECS: i64 = 365 * 24 * 3600;
/// How long after the base time the CA stays valid.
const CA_LIFETIME_SECS: i64 = 10 * 365 * 24 * 3600;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn secs(t: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(t, 0).ok_or(KitError::Invalid {
        what: "time",
        detail: t.to_string(),
    })
}

/// A Rekor v1 entry as a bundle carries it (`TransparencyLogEntry` JSON): its promise, its
/// inclusion proof with the checkpoint, and its canonicalized body.
pub(crate) struct LoggedEntry<'a> {
    pub(crate) index: u64,
    /// `logId` as it is written (`{"keyId": …}`).
    pub(crate) log_id: Value,
    pub(crate) kind: &'a str,
    pub(crate) version: &'a str,
    pub(crate) integrated_time: i64,
    /// The signed entry timestamp.
    pub(crate) set: &'a [u8],
    /// The tree size the proof and checkpoint are for.
    pub(crate) size: u64,
    pub(crate) hashes: &'a [[u8; 32]],
    pub(crate) checkpoint: &'a crate::log::SignedCheckpoint,
    pub(crate) body: &'a [u8],
}

impl LoggedEntry<'_> {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "logIndex": self.index.to_string(),
            "logId": self.log_id,
            "kindVersion": {"kind": self.kind, "version": self.version},
            "integratedTime": self.integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": B64.encode(self.set)},
            "inclusionProof": {
                "logIndex": self.index.to_string(),
                "rootHash": B64.encode(self.checkpoint.root),
                "treeSize": self.size.to_string(),
                "hashes": self.hashes.iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": {"envelope": self.checkpoint.note},
            },
            "canonicalizedBody": B64.encode(self.body),
        })
    }
}

impl Instance {
    /// A new instance. `base_time` is when the instance's first signature is made; its CA, logs
    /// and TSA became valid a year before.
    pub fn new(seed: impl Into<Seed>, base_time: DateTime<Utc>) -> Result<Self> {
        let seed = seed.into();
        let host = "airlock.test".to_string();
        let t0 = base_time.timestamp();
        let (nb, na) = (t0 - CA_BACKDATE_SECS, t0 + CA_LIFETIME_SECS);
        let ca = Ca::new(
            "airlock-test",
            seed.p256("ca-root"),
            seed.p256("ca-intermediate"),
            nb,
            na,
        )?;
        let tsa = Tsa::new(
            "airlock-test",
            &seed.p256("tsa-root"),
            seed.p256("tsa"),
            nb,
            na,
        )?;
        let rogue_tsa = Tsa::new(
            "airlock-rogue",
            &seed.p256("rogue-tsa-root"),
            seed.p256("rogue-tsa"),
            nb,
            na,
        )?;
        // The tree id is derived from the seed so that two instances' origins differ.
        let d = seed.derive("tree-id", 0);
        let tree_id = i64::from_be_bytes([d[0] & 0x7f, d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        Ok(Instance {
            log: TransparencyLog::new(seed.p256("rekor"), &host, tree_id),
            ct_log: CtLog {
                key: seed.p256("ctlog"),
            },
            rogue_ct_log: CtLog {
                key: seed.p256("rogue-ctlog"),
            },
            rogue_key: seed.p256("rogue-rekor"),
            seed,
            base_time,
            host,
            ca,
            tsa,
            rogue_tsa,
            signatures: 0,
        })
    }

    /// The base time.
    pub fn base_time(&self) -> DateTime<Utc> {
        self.base_time
    }

    /// The transparency log.
    pub fn log(&self) -> &TransparencyLog {
        &self.log
    }

    /// The transparency log, to append entries of one's own (e.g. to grow it between checkpoints).
    pub fn log_mut(&mut self) -> &mut TransparencyLog {
        &mut self.log
    }

    /// A key no trusted root of this instance lists (for "unknown key" fixtures).
    pub fn rogue_key(&self) -> &EcKey {
        &self.rogue_key
    }

    /// DER of the CA root and intermediate certificates.
    pub fn ca_chain_der(&self) -> Vec<Vec<u8>> {
        self.ca.chain_der()
    }

    /// DER of the TSA leaf and root certificates.
    pub fn tsa_chain_der(&self) -> Vec<Vec<u8>> {
        self.tsa.chain_der()
    }

    /// The CT log's public key (PKIX DER).
    pub fn ct_log_key_der(&self) -> Result<Vec<u8>> {
        self.ct_log.key.spki_der()
    }

    /// Signs `artifact` with a fresh Fulcio-style certificate and logs a hashedrekord entry.
    pub fn sign_blob(&mut self, artifact: &[u8], opts: &SignOptions) -> Result<MintedBundle> {
        let signing = self.start_signing(opts)?;
        self.sign_blob_as(signing, artifact, opts)
    }

    /// A managed (non-keyless) signing key derived from the seed and `label`.
    pub fn managed_key(&self, label: &str) -> EcKey {
        self.seed.p256(&format!("managed-{label}"))
    }

    /// Signs `artifact` with a managed key: the bundle names the key by `publicKey.hint` (base64
    /// of its SHA-256 key id) instead of carrying a certificate. Certificate knobs do nothing;
    /// `opts.identity`/`issuer` are only echoed in the result.
    pub fn sign_blob_with_key(
        &mut self,
        artifact: &[u8],
        key: &EcKey,
        opts: &SignOptions,
    ) -> Result<MintedBundle> {
        let n = self.signatures;
        self.signatures += 1;
        let signing = Signing {
            at: self.signing_time(opts, n),
            key: LeafKey::P256(key.clone()),
            cert_der: None,
            serial: n,
        };
        self.sign_blob_as(signing, artifact, opts)
    }

    fn signing_time(&self, opts: &SignOptions, n: u64) -> DateTime<Utc> {
        opts.at
            .unwrap_or(self.base_time + chrono::Duration::seconds(n as i64))
    }

    fn sign_blob_as(
        &mut self,
        signing: Signing,
        artifact: &[u8],
        opts: &SignOptions,
    ) -> Result<MintedBundle> {
        if opts.shape.entry != EntryKind::Dsse001 {
            return Err(KitError::Invalid {
                what: "shape",
                detail: format!(
                    "message signatures are logged as hashedrekord 0.0.1, not {:?}",
                    opts.shape.entry
                ),
            });
        }
        let algorithm = opts.shape.message_digest;
        let digest = algorithm.digest(artifact);
        let mut signature = signing.key.sign_prehash(&digest)?;
        if opts.knobs.bad_signature {
            corrupt(&mut signature);
        }
        let entry_signature = self.entry_signature(&signing, &signature, opts)?;
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": algorithm.rekor_name(), "value": hex::encode(&digest)}},
                "signature": {
                    "content": B64.encode(&entry_signature),
                    "publicKey": {"content": B64.encode(signing.verifier_pem()?)},
                },
            },
        });
        let content = (
            "messageSignature",
            json!({
                "messageDigest": {"algorithm": algorithm.bundle_name(), "digest": B64.encode(&digest)},
                "signature": B64.encode(&signature),
            }),
        );
        self.finish(
            signing,
            opts,
            body,
            ("hashedrekord", "0.0.1"),
            &signature,
            content,
            Sha256::digest(artifact).into(),
            None,
        )
    }

    /// The signature the log entry records: the bundle's, or with
    /// [`Knobs::wrong_entry_signature`] one by the same key over another message.
    fn entry_signature(
        &self,
        signing: &Signing,
        signature: &[u8],
        opts: &SignOptions,
    ) -> Result<Vec<u8>> {
        if opts.knobs.wrong_entry_signature {
            signing.key.sign(b"airlock-testkit: not the signed message")
        } else {
            Ok(signature.to_vec())
        }
    }

    /// Signs an in-toto statement about `subject_name` (whose SHA-256 is `subject_digest`) in a
    /// DSSE envelope and logs it (a dsse 0.0.1 entry unless [`Shape::entry`] says otherwise).
    pub fn attest(
        &mut self,
        subject_name: &str,
        subject_digest: [u8; 32],
        predicate: &Predicate,
        opts: &SignOptions,
    ) -> Result<MintedBundle> {
        let digests = [(DigestAlgorithm::Sha256, subject_digest.to_vec())];
        self.attest_digests(subject_name, &digests, subject_digest, predicate, opts)
    }

    /// Like [`Instance::attest`], about the artifact `artifact`, whose in-toto subject names
    /// it by one digest per entry of `algorithms` (e.g. only `[Sha512]`). The result's
    /// [`MintedBundle::subject_digest`] is still the artifact's SHA-256.
    pub fn attest_bytes(
        &mut self,
        subject_name: &str,
        artifact: &[u8],
        algorithms: &[DigestAlgorithm],
        predicate: &Predicate,
        opts: &SignOptions,
    ) -> Result<MintedBundle> {
        let digests: Vec<_> = algorithms
            .iter()
            .map(|alg| (*alg, alg.digest(artifact)))
            .collect();
        let sha256 = Sha256::digest(artifact).into();
        self.attest_digests(subject_name, &digests, sha256, predicate, opts)
    }

    fn attest_digests(
        &mut self,
        subject_name: &str,
        digests: &[(DigestAlgorithm, Vec<u8>)],
        subject_digest: [u8; 32],
        predicate: &Predicate,
        opts: &SignOptions,
    ) -> Result<MintedBundle> {
        let signing = self.start_signing(opts)?;
        let serial = hex::encode(&self.seed.derive("statement", self.signatures as u32)[..16]);
        let stmt = statement_with_digests(
            subject_name,
            digests,
            predicate,
            &rfc3339(signing.at),
            &serial,
        );
        let payload = serde_json::to_vec(&stmt).map_err(json_err("statement"))?;
        let mut signature = signing.key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload))?;
        if opts.knobs.bad_signature {
            corrupt(&mut signature);
        }
        let envelope = json!({
            "payload": B64.encode(&payload),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": B64.encode(&signature)}],
        });
        let entry_signature = self.entry_signature(&signing, &signature, opts)?;
        let body = dsse_entry_body(opts, &signing, &payload, &entry_signature)?;
        let kind_version = match opts.shape.entry {
            EntryKind::Dsse001 => ("dsse", "0.0.1"),
            EntryKind::Intoto002 => ("intoto", "0.0.2"),
            EntryKind::Dsse002 => ("dsse", "0.0.2"),
        };
        self.finish(
            signing,
            opts,
            body,
            kind_version,
            &signature,
            ("dsseEnvelope", envelope),
            subject_digest,
            Some(payload),
        )
    }

    fn start_signing(&mut self, opts: &SignOptions) -> Result<Signing> {
        let n = self.signatures;
        self.signatures += 1;
        let at = self.signing_time(opts, n);
        let t = at.timestamp();
        let (nb, na) = match opts.knobs.cert_validity {
            CertValidity::Normal => (t, t + LEAF_VALIDITY_SECS),
            CertValidity::Expired => (t - 2 * LEAF_VALIDITY_SECS, t - LEAF_VALIDITY_SECS),
            CertValidity::NotYetValid => (t + LEAF_VALIDITY_SECS, t + 2 * LEAF_VALIDITY_SECS),
        };
        let key = self.seed.leaf_key(opts.shape.key, &format!("leaf-{n}"));
        let identity = opts.knobs.wrong_identity.as_ref().unwrap_or(&opts.identity);
        let issuer = opts.knobs.wrong_issuer.as_deref().unwrap_or(&opts.issuer);
        let cert_der = self.ca.issue_leaf(&LeafRequest {
            serial: 0x1000 + n,
            spki: key.spki()?,
            identity,
            issuer,
            not_before: nb,
            not_after: na,
            sct: opts.knobs.sct,
            ct_log: &self.ct_log,
            rogue_ct_log: &self.rogue_ct_log,
            quirks: opts.shape.leaf,
        })?;
        Ok(Signing {
            at,
            key,
            cert_der: Some(cert_der),
            serial: n,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        signing: Signing,
        opts: &SignOptions,
        body: Value,
        (kind, version): (&str, &str),
        signature: &[u8],
        (content_key, content): (&str, Value),
        subject_digest: [u8; 32],
        statement: Option<Vec<u8>>,
    ) -> Result<MintedBundle> {
        let knobs = &opts.knobs;
        let body = canonical_json(&body);
        let integrated_time = signing.at.timestamp() + 1;
        let index = self.log.append(body.clone(), integrated_time)?;
        let size = self.log.size();
        let set = self.log.signed_entry_timestamp(index)?;
        let mut hashes = self.log.inclusion_proof(index, size)?;
        if knobs.wrong_inclusion_path {
            match hashes.first_mut() {
                Some(h) => h[0] ^= 0xff,
                None => hashes.push([0x5a; 32]),
            }
        }
        let checkpoint = match knobs.checkpoint {
            CheckpointMode::LogKey => self.log.checkpoint(size)?,
            CheckpointMode::UnknownKey => self.log.checkpoint_signed_by(size, &self.rogue_key)?,
        };
        let mut bundle_body = body;
        if knobs.tamper_body {
            tamper(&mut bundle_body);
        }
        let (signer_key, signer_value) = signing.material(opts.shape.material, &self.ca)?;
        let entry = LoggedEntry {
            index,
            log_id: json!({"keyId": B64.encode(self.log.log_id()?)}),
            kind,
            version,
            integrated_time,
            set: &set,
            size,
            hashes: &hashes,
            checkpoint: &checkpoint,
            body: &bundle_body,
        };
        let mut material = json!({ "tlogEntries": [entry.to_json()] });
        if knobs.omit_promise
            && let Some(entry) = material["tlogEntries"][0].as_object_mut()
        {
            entry.remove("integratedTime");
            entry.remove("inclusionPromise");
        }
        if let Some(entry) = material["tlogEntries"][0].as_object_mut() {
            match opts.shape.proof {
                ProofShape::Full => {}
                ProofShape::PromiseOnly => {
                    entry.remove("inclusionProof");
                }
                ProofShape::ProofWithoutCheckpoint => {
                    if let Some(proof) = entry
                        .get_mut("inclusionProof")
                        .and_then(Value::as_object_mut)
                    {
                        proof.remove("checkpoint");
                    }
                }
            }
        }
        let ts_serial = 0x2000 + signing.serial;
        let t = signing.at.timestamp();
        let stamp = match knobs.timestamp {
            TimestampMode::None => None,
            TimestampMode::Valid => Some(self.tsa.timestamp(signature, t, ts_serial)?),
            TimestampMode::WrongMessage => {
                Some(self.tsa.timestamp(b"not the signature", t, ts_serial)?)
            }
            TimestampMode::UnknownAuthority => {
                Some(self.rogue_tsa.timestamp(signature, t, ts_serial)?)
            }
            TimestampMode::OutsideCertValidity => Some(self.tsa.timestamp(
                signature,
                t + 3 * LEAF_VALIDITY_SECS,
                ts_serial,
            )?),
        };
        if let Some(m) = material.as_object_mut() {
            m.insert(signer_key.into(), signer_value);
        }
        if let (Some(stamp), Some(m)) = (stamp, material.as_object_mut()) {
            m.insert(
                "timestampVerificationData".into(),
                json!({"rfc3161Timestamps": [{"signedTimestamp": B64.encode(stamp)}]}),
            );
        }
        let mut bundle = serde_json::Map::new();
        bundle.insert("mediaType".into(), opts.shape.version.media_type().into());
        bundle.insert("verificationMaterial".into(), material);
        bundle.insert(content_key.into(), content);
        let json = serde_json::to_vec_pretty(&Value::Object(bundle)).map_err(json_err("bundle"))?;
        Ok(MintedBundle {
            json,
            identity: opts.identity.clone(),
            issuer: opts.issuer.clone(),
            certificate_der: signing.cert_der,
            log_index: index,
            subject_digest,
            statement,
            signed_at: signing.at,
        })
    }

    /// The Sigstore trusted root (JSON) for this instance: its CA, log, CT log and TSA.
    pub fn trusted_root_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(&self.trusted_root()?).map_err(json_err("trusted root"))
    }

    /// The trusted root as a JSON value.
    pub fn trusted_root(&self) -> Result<Value> {
        let start = rfc3339(secs(self.ca.not_before)?);
        let end = rfc3339(secs(self.ca.not_after)?);
        let url = format!("https://{}", self.host);
        let key = |k: &EcKey| -> Result<Value> {
            Ok(json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(k.spki_der()?),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": B64.encode(k.key_id()?)},
            }))
        };
        let chain = |certs: Vec<Vec<u8>>| -> Value {
            json!({"certificates": certs.iter().map(|c| json!({"rawBytes": B64.encode(c)})).collect::<Vec<_>>()})
        };
        Ok(json!({
            "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
            "tlogs": [key(self.log.key())?],
            "certificateAuthorities": [{
                "subject": {"organization": "airlock-test", "commonName": "airlock-test-root"},
                "uri": format!("https://fulcio.{}", self.host),
                "certChain": chain(self.ca.chain_der()),
                "validFor": {"start": start, "end": end},
            }],
            "ctlogs": [key(&self.ct_log.key)?],
            "timestampAuthorities": [{
                "subject": {"organization": "airlock-test", "commonName": "airlock-test-tsa"},
                "uri": format!("https://tsa.{}", self.host),
                "certChain": chain(self.tsa.chain_der()),
                "validFor": {"start": start, "end": end},
            }],
        }))
    }

    /// A sigstore ClientTrustConfig wrapping [`Instance::trusted_root`], with a signing config
    /// naming this instance's (fictional) services; for `sigstore --trust-config`.
    pub fn client_trust_config_json(&self) -> Result<Vec<u8>> {
        let start = rfc3339(secs(self.ca.not_before)?);
        let service = |url: String, version: u32| json!({"url": url, "majorApiVersion": version, "validFor": {"start": start}, "operator": self.host});
        let config = json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root()?,
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [service(format!("https://fulcio.{}", self.host), 1)],
                "oidcUrls": [service(format!("https://oauth2.{}", self.host), 1)],
                "rekorTlogUrls": [service(format!("https://{}", self.host), 1)],
                "tsaUrls": [service(format!("https://tsa.{}/api/v1/timestamp", self.host), 1)],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            },
        });
        serde_json::to_vec_pretty(&config).map_err(json_err("client trust config"))
    }
}

/// Material for one signature in progress.
struct Signing {
    at: DateTime<Utc>,
    key: LeafKey,
    /// The leaf certificate, or `None` for a managed key.
    cert_der: Option<Vec<u8>>,
    serial: u64,
}

impl Signing {
    /// The PEM a log entry records as the verifier: the certificate, or the public key.
    fn verifier_pem(&self) -> Result<String> {
        match &self.cert_der {
            Some(der) => Ok(cert_pem(der)),
            None => self.key.public_pem(),
        }
    }

    /// The bundle's `verificationMaterial` entry naming the signer, the certificate carried
    /// in `form`.
    fn material(&self, form: CertificateMaterial, ca: &Ca) -> Result<(&'static str, Value)> {
        let Some(leaf) = &self.cert_der else {
            return Ok(("publicKey", json!({"hint": B64.encode(key_id(&self.key)?)})));
        };
        let (intermediate, root) = (&ca.intermediate_der, &ca.root_der);
        let chain: Vec<&Vec<u8>> = match form {
            CertificateMaterial::Certificate => {
                return Ok(("certificate", json!({"rawBytes": B64.encode(leaf)})));
            }
            CertificateMaterial::ChainLeaf => vec![leaf],
            CertificateMaterial::ChainToIntermediate => vec![leaf, intermediate],
            CertificateMaterial::ChainToRoot => vec![leaf, intermediate, root],
            CertificateMaterial::ChainOutOfOrder => vec![leaf, root, intermediate],
        };
        let certificates: Vec<Value> = chain
            .iter()
            .map(|der| json!({"rawBytes": B64.encode(der)}))
            .collect();
        Ok((
            "x509CertificateChain",
            json!({"certificates": certificates}),
        ))
    }
}

/// SHA-256 of a key's PKIX DER: Sigstore's key id.
fn key_id(key: &LeafKey) -> Result<[u8; 32]> {
    Ok(Sha256::digest(key.spki_der()?).into())
}

/// The log entry body for a DSSE envelope over `payload` with `signature`, of the kind
/// [`Shape::entry`] names.
fn dsse_entry_body(
    opts: &SignOptions,
    signing: &Signing,
    payload: &[u8],
    signature: &[u8],
) -> Result<Value> {
    let payload_hash: [u8; 32] = if opts.knobs.wrong_entry_payload_hash {
        Sha256::digest(b"airlock-testkit: not the payload").into()
    } else {
        Sha256::digest(payload).into()
    };
    Ok(match opts.shape.entry {
        EntryKind::Dsse001 => {
            let envelope_hash = Sha256::digest(canonical_json(&json!({
                "payload": B64.encode(payload),
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"keyid": "", "sig": B64.encode(signature)}],
            })));
            json!({
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": hex::encode(envelope_hash)},
                    "payloadHash": {"algorithm": "sha256", "value": hex::encode(payload_hash)},
                    "signatures": [{
                        "signature": B64.encode(signature),
                        "verifier": B64.encode(signing.verifier_pem()?),
                    }],
                },
            })
        }
        // Rekor v1 keeps the envelope without its payload; `hash` is SHA-256 of the whole
        // envelope's canonical JSON (payload included, signature base64).
        EntryKind::Intoto002 => {
            let envelope_hash = Sha256::digest(canonical_json(&json!({
                "payload": B64.encode(payload),
                "payloadType": IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"keyid": "", "sig": B64.encode(signature)}],
            })));
            json!({
                "apiVersion": "0.0.2",
                "kind": "intoto",
                "spec": {
                    "content": {
                        "envelope": {
                            "payloadType": IN_TOTO_PAYLOAD_TYPE,
                            "signatures": [{
                                "publicKey": B64.encode(signing.verifier_pem()?),
                                "sig": B64.encode(B64.encode(signature)),
                            }],
                        },
                        "hash": {"algorithm": "sha256", "value": hex::encode(envelope_hash)},
                        "payloadHash": {"algorithm": "sha256", "value": hex::encode(payload_hash)},
                    },
                },
            })
        }
        EntryKind::Dsse002 => {
            let verifier = match &signing.cert_der {
                Some(der) => json!({
                    "x509Certificate": {"rawBytes": B64.encode(der)},
                    "keyDetails": signing.key.algorithm().key_details(),
                }),
                None => json!({
                    "publicKey": {"rawBytes": B64.encode(signing.key.spki_der()?)},
                    "keyDetails": signing.key.algorithm().key_details(),
                }),
            };
            json!({
                "apiVersion": "0.0.2",
                "kind": "dsse",
                "spec": {
                    "dsseV002": {
                        "payloadHash": {"algorithm": "SHA2_256", "digest": B64.encode(payload_hash)},
                        "signatures": [{"content": B64.encode(signature), "verifier": verifier}],
                    },
                },
            })
        }
    })
}

/// Breaks an ECDSA DER signature while keeping it parseable: flips a bit of the last byte of `s`.
fn corrupt(sig: &mut [u8]) {
    if let Some(b) = sig.last_mut() {
        *b ^= 0x01;
    }
}

/// Changes a canonical body without breaking its JSON: the first hex digit after `"value":"` is
/// rotated, which changes the recorded digest.
fn tamper(body: &mut [u8]) {
    let needle = b"\"value\":\"";
    if let Some(pos) = body.windows(needle.len()).position(|w| w == needle) {
        let i = pos + needle.len();
        body[i] = if body[i] == b'0' { b'1' } else { b'0' };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{BUNDLE_V01_MEDIA_TYPE, BundleVersion, KeyAlgorithm, LeafQuirks, SanForm};

    fn inst() -> Instance {
        Instance::new(1, DateTime::from_timestamp(1_768_478_400, 0).unwrap()).unwrap()
    }

    #[test]
    fn successive_signatures_are_a_second_apart_and_logged_in_order() {
        let mut i = inst();
        let o = SignOptions::person("a@b.test", "https://issuer.test");
        let a = i.sign_blob(b"1", &o).unwrap();
        let b = i.sign_blob(b"2", &o).unwrap();
        assert_eq!((a.log_index, b.log_index), (0, 1));
        assert_eq!((b.signed_at - a.signed_at).num_seconds(), 1);
        assert_eq!(a.signed_at, i.base_time());
        assert_eq!(
            i.log().entry(1).unwrap().integrated_time,
            b.signed_at.timestamp() + 1
        );
    }

    #[test]
    fn explicit_signing_time_is_used() {
        let mut i = inst();
        let at = i.base_time() + chrono::Duration::hours(3);
        let o = SignOptions {
            at: Some(at),
            ..SignOptions::workload("https://x.test/w", "https://issuer.test")
        };
        assert_eq!(i.sign_blob(b"1", &o).unwrap().signed_at, at);
    }

    #[test]
    fn tamper_changes_exactly_one_digest_character() {
        let mut body = br#"{"spec":{"hash":{"value":"0abc"}}}"#.to_vec();
        let orig = body.clone();
        tamper(&mut body);
        let diff: Vec<_> = body.iter().zip(&orig).filter(|(a, b)| a != b).collect();
        assert_eq!(diff.len(), 1);
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
    }

    fn opts(shape: Shape, knobs: Knobs) -> SignOptions {
        SignOptions::workload("https://x.test/w", "https://issuer.test")
            .with_shape(shape)
            .with_knobs(knobs)
    }

    fn bundle_json(b: &MintedBundle) -> Value {
        serde_json::from_slice(&b.json).unwrap()
    }

    /// The first tlog entry's canonicalized body, decoded.
    fn entry_body(bundle: &Value) -> Value {
        let b64 = bundle["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
            .as_str()
            .unwrap();
        serde_json::from_slice(&B64.decode(b64).unwrap()).unwrap()
    }

    fn attest_with(i: &mut Instance, shape: Shape, knobs: Knobs) -> MintedBundle {
        i.attest_bytes(
            "a",
            b"artifact",
            &[DigestAlgorithm::Sha256],
            &Predicate::Spdx(vec![]),
            &opts(shape, knobs),
        )
        .unwrap()
    }

    #[test]
    fn chain_material_lists_the_certificates_in_the_order_asked() {
        let mut i = inst();
        let (intermediate, root) = (i.ca.intermediate_der.clone(), i.ca.root_der.clone());
        for (material, expected) in [
            (CertificateMaterial::ChainLeaf, vec![None]),
            (
                CertificateMaterial::ChainToIntermediate,
                vec![None, Some(&intermediate)],
            ),
            (
                CertificateMaterial::ChainToRoot,
                vec![None, Some(&intermediate), Some(&root)],
            ),
            (
                CertificateMaterial::ChainOutOfOrder,
                vec![None, Some(&root), Some(&intermediate)],
            ),
        ] {
            let shape = Shape {
                version: BundleVersion::V0_1,
                material,
                ..Shape::default()
            };
            let b = i.sign_blob(b"x", &opts(shape, Knobs::default())).unwrap();
            let leaf = b.certificate_der.clone().unwrap();
            let json = bundle_json(&b);
            let vm = &json["verificationMaterial"];
            assert_eq!(json["mediaType"], BUNDLE_V01_MEDIA_TYPE);
            assert_eq!(vm.get("certificate"), None);
            let got: Vec<Vec<u8>> = vm["x509CertificateChain"]["certificates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| B64.decode(c["rawBytes"].as_str().unwrap()).unwrap())
                .collect();
            let expected: Vec<Vec<u8>> = expected
                .into_iter()
                .map(|c| c.cloned().unwrap_or_else(|| leaf.clone()))
                .collect();
            assert_eq!(got, expected, "{material:?}");
        }
    }

    #[test]
    fn proof_shapes_drop_the_proof_or_its_checkpoint() {
        let mut i = inst();
        let entry = |i: &mut Instance, proof| {
            let shape = Shape {
                proof,
                ..Shape::default()
            };
            let b = i.sign_blob(b"x", &opts(shape, Knobs::default())).unwrap();
            bundle_json(&b)["verificationMaterial"]["tlogEntries"][0].clone()
        };
        let full = entry(&mut i, ProofShape::Full);
        assert!(full["inclusionProof"]["checkpoint"]["envelope"].is_string());
        let promise = entry(&mut i, ProofShape::PromiseOnly);
        assert_eq!(promise.get("inclusionProof"), None);
        assert!(promise["inclusionPromise"]["signedEntryTimestamp"].is_string());
        let no_checkpoint = entry(&mut i, ProofShape::ProofWithoutCheckpoint);
        assert_eq!(no_checkpoint["inclusionProof"].get("checkpoint"), None);
        assert!(no_checkpoint["inclusionProof"]["rootHash"].is_string());
        assert!(no_checkpoint["inclusionPromise"]["signedEntryTimestamp"].is_string());
    }

    #[test]
    fn intoto_v002_entry_has_no_payload_and_double_encoded_signature() {
        let mut i = inst();
        let shape = Shape {
            entry: EntryKind::Intoto002,
            ..Shape::default()
        };
        let b = attest_with(&mut i, shape, Knobs::default());
        let json = bundle_json(&b);
        let entry = &json["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(
            entry["kindVersion"],
            json!({"kind": "intoto", "version": "0.0.2"})
        );
        let body = entry_body(&json);
        let content = &body["spec"]["content"];
        assert_eq!(
            content["envelope"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["payloadType", "signatures"]
        );
        let sig = &content["envelope"]["signatures"][0];
        let inner = B64.decode(sig["sig"].as_str().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(inner).unwrap(),
            json["dsseEnvelope"]["signatures"][0]["sig"]
                .as_str()
                .unwrap()
        );
        let pem = B64.decode(sig["publicKey"].as_str().unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(pem).unwrap(),
            cert_pem(b.certificate_der.as_ref().unwrap())
        );
        let payload = b.statement.unwrap();
        assert_eq!(
            content["payloadHash"],
            json!({"algorithm": "sha256", "value": hex::encode(Sha256::digest(&payload))})
        );
    }

    #[test]
    fn dsse_v002_entry_names_the_certificate_and_key_details() {
        let mut i = inst();
        let shape = Shape {
            entry: EntryKind::Dsse002,
            ..Shape::default()
        };
        let b = attest_with(&mut i, shape, Knobs::default());
        let json = bundle_json(&b);
        let spec = &entry_body(&json)["spec"]["dsseV002"];
        let payload = b.statement.unwrap();
        assert_eq!(
            spec["payloadHash"],
            json!({"algorithm": "SHA2_256", "digest": B64.encode(Sha256::digest(&payload))})
        );
        assert_eq!(
            spec["signatures"][0],
            json!({
                "content": json["dsseEnvelope"]["signatures"][0]["sig"],
                "verifier": {
                    "x509Certificate": {"rawBytes": B64.encode(b.certificate_der.unwrap())},
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                },
            })
        );
    }

    #[test]
    fn wrong_entry_knobs_change_the_entry_not_the_envelope() {
        let mut i = inst();
        // (knobs, whether the logged payload hash is the payload's, whether the logged
        // signature is the envelope's)
        for (knobs, hash_ok, sig_ok) in [
            (Knobs::default(), true, true),
            (
                Knobs {
                    wrong_entry_payload_hash: true,
                    ..Knobs::default()
                },
                false,
                true,
            ),
            (
                Knobs {
                    wrong_entry_signature: true,
                    ..Knobs::default()
                },
                true,
                false,
            ),
        ] {
            let b = attest_with(&mut i, Shape::default(), knobs.clone());
            let json = bundle_json(&b);
            let spec = &entry_body(&json)["spec"];
            let payload_hash = hex::encode(Sha256::digest(b.statement.unwrap()));
            assert_eq!(
                spec["payloadHash"]["value"] == payload_hash.as_str(),
                hash_ok,
                "{knobs:?}"
            );
            assert_eq!(
                spec["signatures"][0]["signature"] == json["dsseEnvelope"]["signatures"][0]["sig"],
                sig_ok,
                "{knobs:?}"
            );
        }
    }

    #[test]
    fn message_digest_algorithm_names_the_bundle_and_entry_digest() {
        let mut i = inst();
        let shape = Shape {
            key: KeyAlgorithm::P384,
            message_digest: DigestAlgorithm::Sha384,
            ..Shape::default()
        };
        let b = i.sign_blob(b"x", &opts(shape, Knobs::default())).unwrap();
        let json = bundle_json(&b);
        let digest = sha2::Sha384::digest(b"x");
        assert_eq!(
            json["messageSignature"]["messageDigest"],
            json!({"algorithm": "SHA2_384", "digest": B64.encode(digest)})
        );
        assert_eq!(
            entry_body(&json)["spec"]["data"]["hash"],
            json!({"algorithm": "sha384", "value": hex::encode(digest)})
        );
        assert_eq!(b.subject_digest, <[u8; 32]>::from(Sha256::digest(b"x")));
    }

    #[test]
    fn message_signatures_are_only_hashedrekord() {
        let mut i = inst();
        let shape = Shape {
            entry: EntryKind::Intoto002,
            ..Shape::default()
        };
        let err = i.sign_blob(b"x", &opts(shape, Knobs::default()));
        assert!(
            matches!(err, Err(KitError::Invalid { what: "shape", .. })),
            "{err:?}"
        );
    }

    #[test]
    fn leaf_quirks_are_in_the_certificate() {
        use der::Decode;
        use x509_cert::ext::pkix::SubjectAltName;
        use x509_cert::ext::pkix::name::GeneralName;
        let mut i = inst();
        let quirks = LeafQuirks {
            san: SanForm::OtherName(crate::shape::FULCIO_OTHERNAME_OID),
            unknown_critical_extension: true,
            inner_signature_algorithm_mismatch: true,
        };
        let shape = Shape {
            leaf: quirks,
            ..Shape::default()
        };
        let b = i.sign_blob(b"x", &opts(shape, Knobs::default())).unwrap();
        let cert = x509_cert::Certificate::from_der(&b.certificate_der.unwrap()).unwrap();
        let tbs = &cert.tbs_certificate;
        assert_eq!(tbs.signature.oid, crate::x509::ECDSA_WITH_SHA384);
        assert_eq!(cert.signature_algorithm.oid, crate::x509::ECDSA_WITH_SHA256);
        let exts = tbs.extensions.as_ref().unwrap();
        let unknown = exts
            .iter()
            .find(|e| e.extn_id == crate::shape::UNKNOWN_EXTENSION_OID)
            .unwrap();
        assert!(unknown.critical);
        let san = exts
            .iter()
            .find(|e| e.extn_id == const_oid::db::rfc5912::ID_CE_SUBJECT_ALT_NAME)
            .unwrap();
        let SubjectAltName(names) = SubjectAltName::from_der(san.extn_value.as_bytes()).unwrap();
        let [GeneralName::OtherName(other)] = names.as_slice() else {
            panic!("expected one otherName SAN, got {names:?}");
        };
        assert_eq!(other.type_id, crate::shape::FULCIO_OTHERNAME_OID);
        let value = der::asn1::Utf8StringRef::try_from(&other.value).unwrap();
        assert_eq!(value.as_str(), "https://x.test/w");
    }

    #[test]
    fn trusted_root_lists_every_service() {
        let root = inst().trusted_root().unwrap();
        assert_eq!(root["mediaType"], TRUSTED_ROOT_MEDIA_TYPE);
        for k in [
            "tlogs",
            "ctlogs",
            "certificateAuthorities",
            "timestampAuthorities",
        ] {
            assert_eq!(root[k].as_array().unwrap().len(), 1, "{k}");
        }
        assert_eq!(
            root["certificateAuthorities"][0]["certChain"]["certificates"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            root["tlogs"][0]["publicKey"]["keyDetails"],
            "PKIX_ECDSA_P256_SHA_256"
        );
    }
}
