//! Sigstore bundles (v0.1, v0.2, v0.3): strict parsing into types that verification can trust
//! to be well-formed. Parsing checks shape only; nothing here says the bundle is genuine.

use serde::Deserialize;

use crate::certificate::{Certificate, CertificateError};
use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE, Statement};
use crate::encoding::{self, DecodeError, IntOrString};
use crate::keys::HashAlgorithm;

/// The largest bundle the parser accepts. Real bundles are a few kilobytes; DSSE payloads with
/// large provenance stay well under this.
pub const MAX_BUNDLE_SIZE: usize = 16 * 1024 * 1024;

/// Why a bundle could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("bundle is larger than {MAX_BUNDLE_SIZE} bytes")]
    TooLarge,
    #[error("bundle is not valid JSON: {0}")]
    Json(String),
    #[error("bundle media type {0:?} is not a supported Sigstore bundle version")]
    MediaType(String),
    #[error("{what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: DecodeError,
    },
    #[error("{what}: {source}")]
    Certificate {
        what: String,
        #[source]
        source: CertificateError,
    },
    #[error("bundle has no verification material")]
    NoVerificationMaterial,
    #[error("bundle certificate chain is empty")]
    EmptyCertificateChain,
    #[error(
        "bundle certificate chain is out of order at position {0}: it did not issue the certificate before it"
    )]
    ChainOutOfOrder(usize),
    #[error(
        "a v0.3 bundle must carry a single leaf certificate (verificationMaterial.certificate), not an x509CertificateChain"
    )]
    ChainInV03,
    #[error("bundle has neither a message signature nor a DSSE envelope")]
    NoContent,
    #[error("DSSE envelope must carry exactly one signature, found {0}")]
    DsseSignatureCount(usize),
    #[error("message digest algorithm {0:?} is not supported")]
    DigestAlgorithm(String),
    #[error("message digest has {actual} bytes, {algorithm:?} needs {expected}")]
    DigestLength {
        algorithm: HashAlgorithm,
        expected: usize,
        actual: usize,
    },
    #[error("tlog entry {index}: {problem}")]
    TlogEntry { index: usize, problem: String },
    #[error("a {version} bundle requires {what} in every tlog entry (entry {index} has none)")]
    VersionRequires {
        version: BundleVersion,
        what: &'static str,
        index: usize,
    },
}

/// The bundle format version, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BundleVersion {
    V0_1,
    V0_2,
    V0_3,
}

impl std::fmt::Display for BundleVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::V0_1 => "v0.1",
            Self::V0_2 => "v0.2",
            Self::V0_3 => "v0.3",
        })
    }
}

impl BundleVersion {
    fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            "application/vnd.dev.sigstore.bundle+json;version=0.1"
            | "application/vnd.dev.sigstore.bundle.v0.1+json" => Some(Self::V0_1),
            "application/vnd.dev.sigstore.bundle+json;version=0.2"
            | "application/vnd.dev.sigstore.bundle.v0.2+json" => Some(Self::V0_2),
            "application/vnd.dev.sigstore.bundle+json;version=0.3"
            | "application/vnd.dev.sigstore.bundle.v0.3+json" => Some(Self::V0_3),
            _ => None,
        }
    }
}

/// Who signed, as the bundle claims it.
#[derive(Debug, Clone)]
pub(crate) enum Material {
    /// A Fulcio-style leaf certificate (from `certificate` or the first of a chain).
    Certificate {
        leaf: Box<Certificate>,
        /// The CA certificates a v0.1/v0.2 chain carried after the leaf. Never trusted: the
        /// chain is always built to a CA of the trusted root; they are kept only to be
        /// reported as ignored.
        ignored: Vec<Certificate>,
    },
    /// A hint naming a key the verifier must supply.
    PublicKey { hint: String },
}

/// What was signed.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    MessageSignature {
        /// The claimed artifact digest (an unauthenticated hint).
        digest: Option<(HashAlgorithm, Vec<u8>)>,
        signature: Vec<u8>,
    },
    Dsse(Envelope),
}

impl Content {
    /// The signature bytes a timestamp authority or log countersigned.
    pub(crate) fn signature(&self) -> &[u8] {
        match self {
            Self::MessageSignature { signature, .. } => signature,
            Self::Dsse(envelope) => &envelope.signature,
        }
    }
}

/// An RFC 6962 inclusion proof with the checkpoint it was made against.
#[derive(Debug, Clone)]
pub(crate) struct InclusionProof {
    pub(crate) log_index: u64,
    pub(crate) root_hash: Vec<u8>,
    pub(crate) tree_size: u64,
    pub(crate) hashes: Vec<Vec<u8>>,
    pub(crate) checkpoint: String,
}

/// One transparency log entry as the bundle carries it.
#[derive(Debug, Clone)]
pub(crate) struct TlogEntry {
    pub(crate) log_index: u64,
    pub(crate) log_id: Vec<u8>,
    pub(crate) kind: String,
    pub(crate) version: String,
    /// Seconds since the epoch; absent (or zero) for Rekor v2 entries.
    pub(crate) integrated_time: Option<u64>,
    pub(crate) signed_entry_timestamp: Option<Vec<u8>>,
    pub(crate) inclusion_proof: Option<InclusionProof>,
    pub(crate) body: Vec<u8>,
}

/// A parsed Sigstore bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub(crate) version: BundleVersion,
    pub(crate) material: Material,
    pub(crate) tlog_entries: Vec<TlogEntry>,
    pub(crate) timestamps: Vec<Vec<u8>>,
    pub(crate) content: Content,
}

impl Bundle {
    /// Parses a bundle's JSON. Every field verification will read is decoded here.
    pub fn from_json(json: &[u8]) -> Result<Self, BundleError> {
        if json.len() > MAX_BUNDLE_SIZE {
            return Err(BundleError::TooLarge);
        }
        let raw: RawBundle =
            serde_json::from_slice(json).map_err(|e| BundleError::Json(e.to_string()))?;
        let version = BundleVersion::from_media_type(&raw.media_type)
            .ok_or_else(|| BundleError::MediaType(raw.media_type.clone()))?;
        let vm = raw
            .verification_material
            .ok_or(BundleError::NoVerificationMaterial)?;
        let material = material(&vm, version)?;
        let tlog_entries = vm
            .tlog_entries
            .iter()
            .enumerate()
            .map(|(i, e)| tlog_entry(i, e))
            .collect::<Result<Vec<_>, _>>()?;
        for (index, entry) in tlog_entries.iter().enumerate() {
            if version == BundleVersion::V0_1 && entry.signed_entry_timestamp.is_none() {
                return Err(BundleError::VersionRequires {
                    version,
                    what: "an inclusion promise",
                    index,
                });
            }
            if version >= BundleVersion::V0_2 && entry.inclusion_proof.is_none() {
                return Err(BundleError::VersionRequires {
                    version,
                    what: "an inclusion proof with a checkpoint",
                    index,
                });
            }
        }
        let timestamps = vm
            .timestamp_verification_data
            .map(|t| t.rfc3161_timestamps)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, t)| decode(&t.signed_timestamp, &format!("rfc3161Timestamps[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let content = match (raw.message_signature, raw.dsse_envelope) {
            (Some(ms), None) => message_signature(ms)?,
            (None, Some(env)) => Content::Dsse(dsse_envelope(env)?),
            _ => return Err(BundleError::NoContent),
        };
        Ok(Self {
            version,
            material,
            tlog_entries,
            timestamps,
            content,
        })
    }

    pub fn version(&self) -> BundleVersion {
        self.version
    }

    /// Who the bundle says signed it, **unverified**: for people to read before anything is
    /// decided (`create --dry-run` lists it), never to decide on. A name or issuer that
    /// cannot be read from the certificate is left out.
    pub fn claimed_signer(&self) -> ClaimedSigner {
        match &self.material {
            Material::Certificate { leaf, .. } => ClaimedSigner::Certificate {
                identities: leaf.subject_alternative_names().unwrap_or_default(),
                issuer: leaf.oidc_issuer().ok().flatten(),
            },
            Material::PublicKey { hint } => ClaimedSigner::KeyHint(hint.clone()),
        }
    }

    /// The transparency-log entries the bundle carries, as it names them, **unverified**: to
    /// show what a bundle that failed verification claims, never to decide on.
    pub fn claimed_log_entries(&self) -> Vec<ClaimedLogEntry> {
        self.tlog_entries
            .iter()
            .map(|e| ClaimedLogEntry {
                log_id: hex::encode(&e.log_id),
                log_index: e.log_index,
                kind: format!("{} {}", e.kind, e.version),
                integrated_time: e.integrated_time.filter(|t| *t > 0),
            })
            .collect()
    }

    /// The in-toto statement a DSSE bundle carries, **unverified** (`None` for a message
    /// signature, another payload type, or a payload that is not a statement): to sort
    /// evidence (a signature or an attestation) before it is verified, never to trust.
    pub fn claimed_statement(&self) -> Option<Statement> {
        match &self.content {
            Content::Dsse(envelope) if envelope.payload_type == IN_TOTO_PAYLOAD_TYPE => {
                serde_json::from_slice(&envelope.payload).ok()
            }
            _ => None,
        }
    }
}

/// A transparency-log entry as a bundle names it (see [`Bundle::claimed_log_entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedLogEntry {
    /// The log's id (hex).
    pub log_id: String,
    /// The entry's index in that log.
    pub log_index: u64,
    /// The entry's kind and version (`hashedrekord 0.0.1`).
    pub kind: String,
    /// The integrated time (seconds since the epoch), when the entry has one.
    pub integrated_time: Option<u64>,
}

/// The signer a bundle names, as it names it (see [`Bundle::claimed_signer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedSigner {
    /// A certificate: its subject alternative names and its OIDC issuer extension.
    Certificate {
        /// SANs (URIs, emails, Fulcio's otherName).
        identities: Vec<String>,
        /// The OIDC issuer, when the certificate carries one.
        issuer: Option<String>,
    },
    /// A managed key, by the bundle's hint.
    KeyHint(String),
}

impl std::fmt::Display for ClaimedSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Certificate { identities, issuer } => {
                let names = if identities.is_empty() {
                    "(no identity)".to_owned()
                } else {
                    identities.join(", ")
                };
                write!(f, "{names} ({})", issuer.as_deref().unwrap_or("no issuer"))
            }
            Self::KeyHint(hint) if hint.is_empty() => f.write_str("a managed key (no hint)"),
            Self::KeyHint(hint) => write!(f, "managed key {hint}"),
        }
    }
}

fn decode(b64: &str, what: &str) -> Result<Vec<u8>, BundleError> {
    encoding::base64(b64).map_err(|source| BundleError::Decode {
        what: what.to_owned(),
        source,
    })
}

fn certificate(raw: &RawBytes, what: &str) -> Result<Certificate, BundleError> {
    let der = decode(&raw.raw_bytes, what)?;
    Certificate::from_der(&der).map_err(|source| BundleError::Certificate {
        what: what.to_owned(),
        source,
    })
}

fn material(vm: &RawVerificationMaterial, version: BundleVersion) -> Result<Material, BundleError> {
    if let Some(cert) = &vm.certificate {
        return Ok(Material::Certificate {
            leaf: Box::new(certificate(cert, "verificationMaterial.certificate")?),
            ignored: Vec::new(),
        });
    }
    if let Some(chain) = &vm.x509_certificate_chain {
        // protobuf-specs: from v0.3 a keyless bundle carries the leaf alone.
        if version >= BundleVersion::V0_3 {
            return Err(BundleError::ChainInV03);
        }
        let mut certs = chain
            .certificates
            .iter()
            .enumerate()
            .map(|(i, c)| certificate(c, &format!("x509CertificateChain.certificates[{i}]")))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let leaf = certs.next().ok_or(BundleError::EmptyCertificateChain)?;
        // The chain is ordered leaf first, each certificate issued by the next (protobuf-specs
        // X509CertificateChain). The CA certificates after the leaf, a self-signed root
        // included, are superfluous: verifiers SHOULD ignore them, and this one never uses
        // them. Only their order is checked, so a chain that is not one is refused.
        let ignored: Vec<Certificate> = certs.collect();
        let mut previous = &leaf;
        for (position, ca) in ignored.iter().enumerate() {
            if !ca.names_issuer_of(previous) {
                return Err(BundleError::ChainOutOfOrder(position + 1));
            }
            previous = ca;
        }
        return Ok(Material::Certificate {
            leaf: Box::new(leaf),
            ignored,
        });
    }
    if let Some(pk) = &vm.public_key {
        return Ok(Material::PublicKey {
            hint: pk.hint.clone().unwrap_or_default(),
        });
    }
    Err(BundleError::NoVerificationMaterial)
}

fn tlog_entry(index: usize, raw: &RawTlogEntry) -> Result<TlogEntry, BundleError> {
    let problem = |problem: String| BundleError::TlogEntry { index, problem };
    let int = |v: &IntOrString, field: &str| {
        encoding::non_negative(v).map_err(|e| problem(format!("{field}: {e}")))
    };
    let b64 =
        |v: &str, field: &str| encoding::base64(v).map_err(|e| problem(format!("{field}: {e}")));
    let log_index = int(&raw.log_index, "logIndex")?;
    let log_id = b64(&raw.log_id.key_id, "logId.keyId")?;
    let integrated_time = raw
        .integrated_time
        .as_ref()
        .map(|t| int(t, "integratedTime"))
        .transpose()?
        .filter(|t| *t != 0);
    let signed_entry_timestamp = raw
        .inclusion_promise
        .as_ref()
        .map(|p| {
            b64(
                &p.signed_entry_timestamp,
                "inclusionPromise.signedEntryTimestamp",
            )
        })
        .transpose()?;
    let inclusion_proof = raw
        .inclusion_proof
        .as_ref()
        .map(|p| -> Result<InclusionProof, BundleError> {
            Ok(InclusionProof {
                log_index: int(&p.log_index, "inclusionProof.logIndex")?,
                root_hash: b64(&p.root_hash, "inclusionProof.rootHash")?,
                tree_size: int(&p.tree_size, "inclusionProof.treeSize")?,
                hashes: p
                    .hashes
                    .iter()
                    .map(|h| b64(h, "inclusionProof.hashes"))
                    .collect::<Result<_, _>>()?,
                // protobuf-specs: the checkpoint is REQUIRED in an inclusion proof, in every
                // bundle version. A proof without one could only be checked against an
                // unsigned root hash, which proves nothing.
                checkpoint: p
                    .checkpoint
                    .as_ref()
                    .map(|c| c.envelope.clone())
                    .ok_or_else(|| problem("inclusion proof has no checkpoint".into()))?,
            })
        })
        .transpose()?;
    let body = b64(&raw.canonicalized_body, "canonicalizedBody")?;
    Ok(TlogEntry {
        log_index,
        log_id,
        kind: raw.kind_version.kind.clone(),
        version: raw.kind_version.version.clone(),
        integrated_time,
        signed_entry_timestamp,
        inclusion_proof,
        body,
    })
}

pub(crate) fn hash_algorithm(name: &str) -> Option<HashAlgorithm> {
    match name {
        "SHA2_256" => Some(HashAlgorithm::Sha256),
        "SHA2_384" => Some(HashAlgorithm::Sha384),
        "SHA2_512" => Some(HashAlgorithm::Sha512),
        _ => None,
    }
}

fn message_signature(raw: RawMessageSignature) -> Result<Content, BundleError> {
    let digest = raw
        .message_digest
        .map(|d| -> Result<_, BundleError> {
            let algorithm = hash_algorithm(&d.algorithm)
                .ok_or_else(|| BundleError::DigestAlgorithm(d.algorithm.clone()))?;
            let bytes = decode(&d.digest, "messageSignature.messageDigest.digest")?;
            if bytes.len() != algorithm.output_len() {
                return Err(BundleError::DigestLength {
                    algorithm,
                    expected: algorithm.output_len(),
                    actual: bytes.len(),
                });
            }
            Ok((algorithm, bytes))
        })
        .transpose()?;
    Ok(Content::MessageSignature {
        digest,
        signature: decode(&raw.signature, "messageSignature.signature")?,
    })
}

fn dsse_envelope(raw: RawEnvelope) -> Result<Envelope, BundleError> {
    if raw.signatures.len() != 1 {
        return Err(BundleError::DsseSignatureCount(raw.signatures.len()));
    }
    Ok(Envelope {
        payload_type: raw.payload_type,
        payload: decode(&raw.payload, "dsseEnvelope.payload")?,
        signature: decode(&raw.signatures[0].sig, "dsseEnvelope.signatures[0].sig")?,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: String,
    verification_material: Option<RawVerificationMaterial>,
    message_signature: Option<RawMessageSignature>,
    dsse_envelope: Option<RawEnvelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawVerificationMaterial {
    certificate: Option<RawBytes>,
    x509_certificate_chain: Option<RawChain>,
    public_key: Option<RawPublicKeyHint>,
    #[serde(default)]
    tlog_entries: Vec<RawTlogEntry>,
    timestamp_verification_data: Option<RawTimestampData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
struct RawPublicKeyHint {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestampData {
    #[serde(default)]
    rfc3161_timestamps: Vec<RawTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamp {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTlogEntry {
    log_index: IntOrString,
    log_id: RawLogId,
    kind_version: RawKindVersion,
    integrated_time: Option<IntOrString>,
    inclusion_promise: Option<RawPromise>,
    inclusion_proof: Option<RawInclusionProof>,
    canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInclusionProof {
    log_index: IntOrString,
    root_hash: String,
    tree_size: IntOrString,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    message_digest: Option<RawDigest>,
    signature: String,
}

#[derive(Deserialize)]
struct RawDigest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<RawEnvelopeSignature>,
}

#[derive(Deserialize)]
struct RawEnvelopeSignature {
    sig: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_signer_and_statement_are_read_unverified() {
        use base64::Engine;
        let statement = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}"#;
        let payload = base64::engine::general_purpose::STANDARD.encode(statement);
        let json = format!(
            r#"{{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{{"publicKey":{{"hint":"a2V5"}},"tlogEntries":[]}},"dsseEnvelope":{{"payload":"{payload}","payloadType":"application/vnd.in-toto+json","signatures":[{{"sig":"AAAA"}}]}}}}"#
        );
        let bundle = Bundle::from_json(json.as_bytes()).unwrap();
        assert_eq!(
            bundle.claimed_signer(),
            ClaimedSigner::KeyHint("a2V5".into())
        );
        assert_eq!(bundle.claimed_signer().to_string(), "managed key a2V5");
        assert_eq!(
            bundle.claimed_statement().unwrap().predicate_type,
            "https://slsa.dev/provenance/v1"
        );
        let other = json.replace("application/vnd.in-toto+json", "text/plain");
        assert_eq!(
            Bundle::from_json(other.as_bytes())
                .unwrap()
                .claimed_statement(),
            None
        );
    }

    #[test]
    fn unknown_media_type_is_rejected() {
        let json = br#"{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=99.9"}"#;
        assert_eq!(
            Bundle::from_json(json).unwrap_err(),
            BundleError::MediaType("application/vnd.dev.sigstore.bundle+json;version=99.9".into())
        );
    }

    #[test]
    fn truncated_json_is_a_json_error() {
        assert!(matches!(
            Bundle::from_json(br#"{"mediaType": "appl"#),
            Err(BundleError::Json(_))
        ));
    }

    #[test]
    fn both_media_type_spellings_name_the_same_version() {
        assert_eq!(
            BundleVersion::from_media_type("application/vnd.dev.sigstore.bundle.v0.3+json"),
            Some(BundleVersion::V0_3)
        );
        assert_eq!(
            BundleVersion::from_media_type("application/vnd.dev.sigstore.bundle+json;version=0.3"),
            Some(BundleVersion::V0_3)
        );
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = vec![b' '; MAX_BUNDLE_SIZE + 1];
        assert_eq!(Bundle::from_json(&big).unwrap_err(), BundleError::TooLarge);
    }
}
