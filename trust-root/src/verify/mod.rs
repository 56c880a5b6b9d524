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

use crate::artifact::ArtifactView;
pub use crate::artifact::{Artifact, ArtifactDigests};
pub use chain::IgnoredCertificate;
pub use entries::{CheckpointFacts, InclusionEvidence, LogEntryFacts};
pub use error::{Step, VerifyError};
pub use signature::{DigestFacts, DsseFacts};
pub use times::{ObservedTime, TimeSource};

use crate::bundle::{Bundle, BundleVersion, Content, Material};
use crate::certificate::Certificate;
use crate::keys::PublicKey;
use crate::policy::{CertificateIdentity, SignerPolicy};
use crate::rekor::Claims;
use crate::trusted_root::TrustedRoot;

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

/// What a verified bundle proved. Only [`Verifier::verify`] makes one, from the proof value
/// of every step: a step that did not run leaves nothing to build the report from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub bundle_version: String,
    #[serde(with = "hex::serde")]
    pub artifact_sha256: [u8; 32],
    /// The digest that bound the artifact to what was signed: the one the message signature
    /// covers, or the in-toto subject's (the strongest that matched).
    pub artifact_digest: DigestFacts,
    pub signer: SignerFacts,
    /// CA certificates the bundle carried in its chain, which verification ignored (the chain
    /// is always built to a CA of the trusted root).
    pub ignored_chain_certificates: Vec<IgnoredCertificate>,
    pub log_entries: Vec<LogEntryFacts>,
    pub observed_times: Vec<ObservedTime>,
    pub dsse: Option<DsseFacts>,
}

/// How much evidence a bundle must carry, as sigstore-go's verifier options set it. The
/// defaults are the strict ones: one log entry, one SCT, one verified time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifierOptions {
    /// Transparency-log entries the bundle must carry (each is verified).
    pub min_log_entries: usize,
    /// Embedded SCTs from CT logs in the trusted root that must verify (keyless only).
    pub min_scts: usize,
    /// Verified times (signed entry timestamps, RFC 3161 timestamps) the signature must have.
    pub min_observed_times: usize,
}

impl VerifierOptions {
    /// No log entry, SCT or verified time required: the signature alone, for bundles signed by
    /// a key the verifier trusts directly (log entries and timestamps that are present are
    /// still verified).
    pub fn signature_only() -> Self {
        Self {
            min_log_entries: 0,
            min_scts: 0,
            min_observed_times: 0,
        }
    }
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            min_log_entries: 1,
            min_scts: 1,
            min_observed_times: 1,
        }
    }
}

/// A verifier holding a prepared trusted root.
#[derive(Debug, Clone)]
pub struct Verifier {
    root: TrustedRoot,
    options: VerifierOptions,
}

/// Who the bundle says signed, matched with what the policy asks for.
enum Claimed<'b> {
    Certificate {
        leaf: &'b Certificate,
        carried: &'b [Certificate],
        identity: &'b CertificateIdentity,
    },
    Key {
        key: &'b PublicKey,
        hint: &'b str,
    },
}

/// Proof of the signer: a certificate that passed the chain, SCT and identity steps, or the
/// key the policy named.
enum SignerVerified<'b, 'r> {
    Certificate {
        leaf: &'b Certificate,
        chain: chain::ChainVerified<'r>,
        scts: chain::SctsVerified,
        identity: chain::IdentityMatched,
    },
    Key {
        key: &'b PublicKey,
        hint: &'b str,
    },
}

impl Verifier {
    /// A verifier with the default (strict) options.
    pub fn new(root: TrustedRoot) -> Self {
        Self::with_options(root, VerifierOptions::default())
    }

    pub fn with_options(root: TrustedRoot, options: VerifierOptions) -> Self {
        Self { root, options }
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
        let artifact = ArtifactView::new(artifact);

        // Material: the certificate or key the rest of the checks are about.
        let claimed = match (&bundle.material, policy) {
            (Material::Certificate { leaf, ignored }, SignerPolicy::Keyless(identity)) => {
                Claimed::Certificate {
                    leaf,
                    carried: ignored,
                    identity,
                }
            }
            (Material::PublicKey { hint }, SignerPolicy::PublicKey(key)) => {
                Claimed::Key { key, hint }
            }
            (Material::PublicKey { .. }, SignerPolicy::Keyless(_)) => {
                return Err(VerifyError::KeyRequired);
            }
            (Material::Certificate { .. }, SignerPolicy::PublicKey(_)) => {
                return Err(VerifyError::CertificateNotKey);
            }
        };

        let times = times::observed_times(bundle, root, &self.options)?;

        let (signer, key) = match claimed {
            Claimed::Certificate {
                leaf,
                carried,
                identity,
            } => {
                let chain = chain::verify_chain(leaf, carried, &times, root)?;
                let scts = chain::verify_scts(leaf, &chain, root, self.options.min_scts)?;
                let identity = chain::verify_identity(leaf, identity)?;
                let signer = SignerVerified::Certificate {
                    leaf,
                    chain,
                    scts,
                    identity,
                };
                (signer, leaf.public_key())
            }
            Claimed::Key { key, hint } => (SignerVerified::Key { key, hint }, key),
        };

        // SHA-256 of the DSSE PAE, computed once for the signature and log steps; for a
        // message signature what is signed is the artifact.
        let signed_sha256: [u8; 32] = match &bundle.content {
            Content::MessageSignature { .. } => *artifact.sha256(),
            Content::Dsse(envelope) => Sha256::digest(envelope.pae()).into(),
        };
        let signature =
            signature::verify_signature(&bundle.content, key, &artifact, &signed_sha256)?;
        let content = signature::verify_subject(&bundle.content, &artifact, signature)?;

        let signer_der = match &signer {
            SignerVerified::Certificate { leaf, .. } => leaf.der(),
            SignerVerified::Key { key, .. } => key.spki_der(),
        };
        let claims = Claims {
            content: &bundle.content,
            signer_der,
            artifact: &artifact,
            signed_sha256: &signed_sha256,
        };
        let entries = entries::verify_entries(bundle, &claims, &times)?;

        Ok(Report::from_proofs(
            bundle.version,
            *artifact.sha256(),
            signer,
            times,
            content,
            entries,
        ))
    }
}

impl Report {
    /// The report of a bundle that passed every step: each argument is a step's proof value,
    /// which only that step can make, and each gives the report part of what it shows.
    fn from_proofs(
        version: BundleVersion,
        artifact_sha256: [u8; 32],
        signer: SignerVerified<'_, '_>,
        times: times::ObservedTimes<'_>,
        content: signature::ContentBound,
        entries: entries::EntriesVerified,
    ) -> Self {
        let (signer, ignored_chain_certificates) = match signer {
            SignerVerified::Certificate {
                leaf,
                chain,
                scts,
                identity,
            } => {
                let (identity, issuer) = identity.into_parts();
                let certificate_authority = chain.authority().uri().to_owned();
                let facts = SignerFacts::Certificate {
                    identity,
                    issuer,
                    serial: leaf.serial_hex(),
                    not_before: leaf.not_before(),
                    not_after: leaf.not_after(),
                    certificate_authority,
                    sct_log_ids: scts
                        .into_inner()
                        .iter()
                        .map(|s| hex::encode(&s.log_id))
                        .collect(),
                };
                (facts, chain.into_ignored())
            }
            SignerVerified::Key { key, hint } => (
                SignerFacts::PublicKey {
                    key_id: hex::encode(key.key_id()),
                    hint: hint.to_owned(),
                },
                Vec::new(),
            ),
        };
        let (artifact_digest, dsse) = content.into_parts();
        Self {
            bundle_version: match version {
                BundleVersion::V0_1 => "0.1",
                BundleVersion::V0_2 => "0.2",
                BundleVersion::V0_3 => "0.3",
            }
            .to_owned(),
            artifact_sha256,
            artifact_digest,
            signer,
            ignored_chain_certificates,
            log_entries: entries.into_inner(),
            observed_times: times.into_times(),
            dsse,
        }
    }
}
