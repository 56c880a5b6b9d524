//! The offline Sigstore bundle verifier.
//!
//! Steps run in sigstore-go's order — material, observed times, certificate chain at those
//! times, SCTs, identity, signature, DSSE subject, log entry bodies, inclusion proofs and
//! checkpoints, key validity — and each returns a proof value only it can build. The
//! [`Report`] is assembled from all of them, so a report exists only for a bundle that passed
//! every step. Nothing here reads the clock: the times that matter come from the evidence.

mod chain;
mod entries;
mod error;
mod signature;
mod times;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub use entries::{CheckpointFacts, LogEntryFacts};
pub use error::{Step, VerifyError};
pub use signature::DsseFacts;
pub use times::{ObservedTime, TimeSource};

use crate::bundle::{Bundle, BundleVersion, Content, Material};
use crate::policy::SignerPolicy;
use crate::rekor::Claims;
use crate::trusted_root::TrustedRoot;

/// The artifact a bundle is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// Only the artifact's SHA-256 (the conformance protocol's `sha256:<hex>` form).
    Sha256([u8; 32]),
}

impl Artifact<'_> {
    fn sha256(&self) -> [u8; 32] {
        match self {
            Self::Bytes(bytes) => Sha256::digest(bytes).into(),
            Self::Sha256(digest) => *digest,
        }
    }
}

/// Who signed, as verified.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SignerFacts {
    Certificate {
        /// The subject alternative name that matched the policy.
        identity: String,
        /// The OIDC issuer from the certificate.
        issuer: String,
        serial: String,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        /// The trusted root's URI for the issuing CA.
        certificate_authority: String,
        /// CT logs (hex log ids) whose SCTs verified.
        sct_log_ids: Vec<String>,
    },
    PublicKey {
        /// SHA-256 of the key's SubjectPublicKeyInfo, hex.
        key_id: String,
        /// The bundle's (unauthenticated) hint naming the key.
        hint: String,
    },
}

/// What a verified bundle proved.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub bundle_version: String,
    #[serde(with = "hex::serde")]
    pub artifact_sha256: [u8; 32],
    pub signer: SignerFacts,
    pub log_entries: Vec<LogEntryFacts>,
    pub observed_times: Vec<ObservedTime>,
    pub dsse: Option<DsseFacts>,
}

/// A verifier holding a prepared trusted root.
#[derive(Debug, Clone)]
pub struct Verifier {
    root: TrustedRoot,
}

impl Verifier {
    pub fn new(root: TrustedRoot) -> Self {
        Self { root }
    }

    pub fn trusted_root(&self) -> &TrustedRoot {
        &self.root
    }

    /// Verifies `bundle` completely for `artifact`, requiring the signer `policy` names.
    pub fn verify(
        &self,
        bundle: &Bundle,
        artifact: Artifact<'_>,
        policy: &SignerPolicy,
    ) -> Result<Report, VerifyError> {
        let root = &self.root;
        let artifact_sha256 = artifact.sha256();

        // Material: the certificate or key the rest of the checks are about.
        let (leaf, key, key_hint) = match (&bundle.material, policy) {
            (Material::Certificate(leaf), SignerPolicy::Keyless(identity)) => {
                (Some((leaf.as_ref(), identity)), leaf.public_key(), "")
            }
            (Material::PublicKey { hint }, SignerPolicy::PublicKey(key)) => {
                (None, key, hint.as_str())
            }
            (Material::PublicKey { .. }, SignerPolicy::Keyless(_)) => {
                return Err(VerifyError::KeyRequired);
            }
            (Material::Certificate(_), SignerPolicy::PublicKey(_)) => {
                return Err(VerifyError::CertificateNotKey);
            }
        };

        let times = times::observed_times(bundle, root)?;

        let certificate_steps = match leaf {
            Some((leaf, identity)) => {
                let chain = chain::verify_chain(leaf, &times, root)?;
                let scts = chain::verify_scts(leaf, &chain, root)?;
                let matched = chain::verify_identity(leaf, identity)?;
                Some((leaf, chain, scts, matched))
            }
            None => None,
        };

        // SHA-256 of what the signature covers, computed once for the signature and log steps.
        let signed_sha256: [u8; 32] = match &bundle.content {
            Content::MessageSignature { .. } => artifact_sha256,
            Content::Dsse(envelope) => Sha256::digest(envelope.pae()).into(),
        };
        let _signed = signature::verify_signature(&bundle.content, key, &artifact, &signed_sha256)?;
        let subject = signature::verify_subject(&bundle.content, &artifact_sha256)?;

        let signer_der = match leaf {
            Some((leaf, _)) => leaf.der(),
            None => key.spki_der(),
        };
        let claims = Claims {
            content: &bundle.content,
            signer_der,
            artifact_sha256: &artifact_sha256,
            signed_sha256: &signed_sha256,
        };
        let entries = entries::verify_entries(bundle, &claims, &times)?;

        let signer = match certificate_steps {
            Some((leaf, chain, scts, matched)) => {
                let (identity, issuer) = matched.into_parts();
                SignerFacts::Certificate {
                    identity,
                    issuer,
                    serial: leaf.serial_hex(),
                    not_before: leaf.not_before(),
                    not_after: leaf.not_after(),
                    certificate_authority: chain.authority().uri().to_owned(),
                    sct_log_ids: scts
                        .into_inner()
                        .iter()
                        .map(|s| hex::encode(&s.log_id))
                        .collect(),
                }
            }
            None => SignerFacts::PublicKey {
                key_id: hex::encode(key.key_id()),
                hint: key_hint.to_owned(),
            },
        };
        Ok(Report {
            bundle_version: match bundle.version {
                BundleVersion::V0_1 => "0.1",
                BundleVersion::V0_2 => "0.2",
                BundleVersion::V0_3 => "0.3",
            }
            .to_owned(),
            artifact_sha256,
            signer,
            log_entries: entries.into_inner(),
            observed_times: times.into_times(),
            dsse: subject.map(signature::SubjectMatched::into_facts),
        })
    }
}
