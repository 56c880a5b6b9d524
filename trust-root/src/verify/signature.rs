//! Steps on the content: the signature over the artifact or DSSE payload, and the in-toto
//! subject against the artifact.

use super::{Artifact, VerifyError};
use crate::bundle::Content;
use crate::dsse::{IN_TOTO_PAYLOAD_TYPE, Statement, Subject, is_in_toto_statement_type};
use crate::keys::{HashAlgorithm, KeyKind, PublicKey, VerifyWithError};

/// Proof that the content's signature verifies with the signer's key.
#[derive(Debug)]
pub(super) struct SignatureVerified(());

/// Verifies the content's signature. `signed_sha256` is SHA-256 of what the signature covers
/// (the artifact, or the DSSE PAE), computed once by the caller: keys that sign SHA-256 are
/// checked against it without hashing the content again.
pub(super) fn verify_signature(
    content: &Content,
    key: &PublicKey,
    artifact: &Artifact<'_>,
    signed_sha256: &[u8; 32],
) -> Result<SignatureVerified, VerifyError> {
    // Pure Ed25519 and non-SHA-256 curves need the signed bytes themselves.
    let needs_bytes = matches!(
        key.kind(),
        KeyKind::Ed25519 | KeyKind::EcdsaP384 | KeyKind::EcdsaP521
    );
    let result = match content {
        Content::MessageSignature { digest, signature } => {
            // For a message signature, what is signed is the artifact.
            let artifact_sha256 = signed_sha256;
            if let Some((algorithm, claimed)) = digest {
                let actual = match (algorithm, artifact) {
                    (HashAlgorithm::Sha256, _) => artifact_sha256.to_vec(),
                    (other, Artifact::Bytes(bytes)) => other.digest(bytes),
                    (_, Artifact::Sha256(_)) => return Err(VerifyError::MessageDigestMismatch),
                };
                if *claimed != actual {
                    return Err(VerifyError::MessageDigestMismatch);
                }
            }
            match artifact {
                Artifact::Bytes(b) if needs_bytes => {
                    key.verify(b, signature).map_err(VerifyWithError::from)
                }
                _ => key.verify_prehashed(HashAlgorithm::Sha256, artifact_sha256, signature),
            }
        }
        Content::Dsse(envelope) if needs_bytes => key
            .verify(&envelope.pae(), &envelope.signature)
            .map_err(VerifyWithError::from),
        Content::Dsse(envelope) => {
            key.verify_prehashed(HashAlgorithm::Sha256, signed_sha256, &envelope.signature)
        }
    };
    match result {
        Ok(()) => Ok(SignatureVerified(())),
        Err(VerifyWithError::BadSignature) => Err(VerifyError::BadSignature),
        Err(VerifyWithError::Key(e)) => Err(VerifyError::SignatureKey(e)),
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

/// Proof that the DSSE statement names the artifact as a subject.
#[derive(Debug)]
pub(super) struct SubjectMatched(DsseFacts);

impl SubjectMatched {
    pub(super) fn into_facts(self) -> DsseFacts {
        self.0
    }
}

pub(super) fn verify_subject(
    content: &Content,
    artifact_sha256: &[u8; 32],
) -> Result<Option<SubjectMatched>, VerifyError> {
    let Content::Dsse(envelope) = content else {
        return Ok(None);
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
    let wanted = hex::encode(artifact_sha256);
    let found = statement.subject.iter().any(|s| {
        s.digest
            .get("sha256")
            .is_some_and(|d| d.eq_ignore_ascii_case(&wanted))
    });
    if !found {
        return Err(VerifyError::SubjectMismatch(wanted));
    }
    Ok(Some(SubjectMatched(DsseFacts {
        payload_type: envelope.payload_type.clone(),
        predicate_type: statement.predicate_type,
        subjects: statement.subject,
        predicate: statement.predicate,
    })))
}
