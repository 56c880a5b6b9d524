//! Steps on the content: the signature over the artifact or DSSE payload, and the in-toto
//! subject against the artifact. Together they bind the artifact to what was signed.

use super::VerifyError;
use crate::artifact::ArtifactView;
use crate::bundle::Content;
use crate::dsse::{IN_TOTO_PAYLOAD_TYPE, Statement, Subject, is_in_toto_statement_type};
use crate::keys::{HashAlgorithm, KeyKind, PublicKey, VerifyWithError};

/// Proof that the content's signature verifies with the signer's key. For a message signature
/// it names the artifact digest the signature covers.
#[derive(Debug)]
pub(super) struct SignatureVerified {
    signed_digest: Option<DigestFacts>,
}

/// Verifies the content's signature. `signed_sha256` is SHA-256 of the DSSE PAE, computed once
/// by the caller for the signature and log steps.
///
/// A message signature is checked over the artifact's digest by the algorithm the bundle's
/// `messageDigest` names (a P-384 key may well have signed a SHA-256 digest), or the key's
/// default when the bundle names none; a claimed digest must equal the artifact's.
pub(super) fn verify_signature(
    content: &Content,
    key: &PublicKey,
    artifact: &ArtifactView<'_>,
    signed_sha256: &[u8; 32],
) -> Result<SignatureVerified, VerifyError> {
    let checked = |result: Result<(), VerifyWithError>| match result {
        Ok(()) => Ok(()),
        Err(VerifyWithError::BadSignature) => Err(VerifyError::BadSignature),
        Err(VerifyWithError::Key(e)) => Err(VerifyError::SignatureKey(e)),
    };
    match content {
        Content::MessageSignature { digest, signature } => {
            let hash = digest
                .as_ref()
                .map_or(key.kind().default_hash(), |(algorithm, _)| *algorithm);
            let actual = artifact
                .digest(hash)
                .ok_or(VerifyError::DigestUnavailable(hash))?;
            if let Some((_, claimed)) = digest
                && claimed[..] != *actual
            {
                return Err(VerifyError::MessageDigestMismatch);
            }
            if key.kind() == KeyKind::Ed25519 {
                // Pure Ed25519 signs the message itself.
                let bytes = artifact
                    .bytes()
                    .ok_or(VerifyError::ArtifactBytesRequired(key.kind()))?;
                checked(key.verify(bytes, signature).map_err(VerifyWithError::from))?;
            } else {
                checked(key.verify_prehashed(hash, actual, signature))?;
            }
            Ok(SignatureVerified {
                signed_digest: Some(DigestFacts::new(hash, actual)),
            })
        }
        Content::Dsse(envelope) => {
            let result = if key.kind() != KeyKind::Ed25519
                && key.kind().default_hash() == HashAlgorithm::Sha256
            {
                key.verify_prehashed(HashAlgorithm::Sha256, signed_sha256, &envelope.signature)
            } else {
                key.verify(&envelope.pae(), &envelope.signature)
                    .map_err(VerifyWithError::from)
            };
            checked(result)?;
            Ok(SignatureVerified {
                signed_digest: None,
            })
        }
    }
}

/// A digest of the artifact, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DigestFacts {
    /// `sha256`, `sha384` or `sha512`.
    pub algorithm: &'static str,
    pub hex: String,
}

impl DigestFacts {
    fn new(algorithm: HashAlgorithm, digest: &[u8]) -> Self {
        Self {
            algorithm: algorithm.name(),
            hex: hex::encode(digest),
        }
    }
}

/// What a verified DSSE envelope said.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DsseFacts {
    pub payload_type: String,
    pub predicate_type: String,
    pub subjects: Vec<Subject>,
    /// The statement's predicate, for policy (SLSA provenance, SBOM) to read.
    #[serde(skip)]
    pub predicate: serde_json::Value,
}

/// Proof that the signed content names the artifact: the message signature covers its digest,
/// or a DSSE statement's subject carries it.
#[derive(Debug)]
pub(super) struct ContentBound {
    artifact_digest: DigestFacts,
    dsse: Option<DsseFacts>,
}

impl ContentBound {
    pub(super) fn into_parts(self) -> (DigestFacts, Option<DsseFacts>) {
        (self.artifact_digest, self.dsse)
    }
}

/// Binds the artifact to the verified signature: directly for a message signature, through
/// an in-toto subject for a DSSE envelope. A subject matches when every digest of it that
/// can be taken (SHA-256, SHA-384, SHA-512) equals the artifact's and at least one can.
pub(super) fn verify_subject(
    content: &Content,
    artifact: &ArtifactView<'_>,
    signature: SignatureVerified,
) -> Result<ContentBound, VerifyError> {
    let Content::Dsse(envelope) = content else {
        let artifact_digest = signature
            .signed_digest
            .unwrap_or_else(|| DigestFacts::new(HashAlgorithm::Sha256, artifact.sha256()));
        return Ok(ContentBound {
            artifact_digest,
            dsse: None,
        });
    };
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(VerifyError::PayloadType(envelope.payload_type.clone()));
    }
    let statement: Statement = serde_json::from_slice(&envelope.payload)
        .map_err(|e| VerifyError::Statement(e.to_string()))?;
    if !is_in_toto_statement_type(&statement.statement_type) {
        return Err(VerifyError::Statement(format!(
            "unknown statement type {:?}",
            statement.statement_type
        )));
    }
    let Some(artifact_digest) = statement
        .subject
        .iter()
        .find_map(|subject| subject_match(subject, artifact))
    else {
        let mut unchecked: Vec<&'static str> = statement
            .subject
            .iter()
            .flat_map(|s| s.digest.keys())
            .filter_map(|name| HashAlgorithm::from_name(name))
            .filter(|a| artifact.digest(*a).is_none())
            .map(HashAlgorithm::name)
            .collect();
        unchecked.sort_unstable();
        unchecked.dedup();
        return Err(VerifyError::SubjectMismatch {
            sha256: hex::encode(artifact.sha256()),
            unchecked: unchecked.join(", "),
        });
    };
    Ok(ContentBound {
        artifact_digest,
        dsse: Some(DsseFacts {
            payload_type: envelope.payload_type.clone(),
            predicate_type: statement.predicate_type,
            subjects: statement.subject,
            predicate: statement.predicate,
        }),
    })
}

/// The strongest digest by which `subject` names the artifact, if it does (and no digest
/// of it contradicts the artifact).
fn subject_match(subject: &Subject, artifact: &ArtifactView<'_>) -> Option<DigestFacts> {
    let mut best: Option<(HashAlgorithm, &[u8])> = None;
    for (name, value) in &subject.digest {
        let Some(algorithm) = HashAlgorithm::from_name(name) else {
            continue;
        };
        let Some(actual) = artifact.digest(algorithm) else {
            continue;
        };
        if !hex::decode(value).is_ok_and(|claimed| claimed == actual) {
            return None;
        }
        if best.is_none_or(|(b, _)| algorithm > b) {
            best = Some((algorithm, actual));
        }
    }
    best.map(|(algorithm, digest)| DigestFacts::new(algorithm, digest))
}
