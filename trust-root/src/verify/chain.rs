//! Steps on the signing certificate: chain to a trusted CA valid at every observed time, SCTs,
//! and the signer identity.

use super::VerifyError;
use super::times::ObservedTimes;
use crate::certificate::Certificate;
use crate::policy::CertificateIdentity;
use crate::sct::{VerifiedSct, verify_embedded_scts};
use crate::trusted_root::{Authority, TrustedRoot};

/// A CA certificate the bundle carried and verification did not use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IgnoredCertificate {
    /// The certificate's subject name (RFC 4514).
    pub subject: String,
    /// Whether it is a self-signed root.
    pub self_signed: bool,
}

/// Proof that the leaf chains to `authority` and was valid at every observed time.
#[derive(Debug)]
pub(super) struct ChainVerified<'r> {
    authority: &'r Authority,
    /// The bundle's own CA certificates, ignored: the chain was built from the trusted root.
    ignored: Vec<IgnoredCertificate>,
}

impl<'r> ChainVerified<'r> {
    pub(super) fn authority(&self) -> &'r Authority {
        self.authority
    }

    pub(super) fn into_ignored(self) -> Vec<IgnoredCertificate> {
        self.ignored
    }

    fn issuer(&self) -> &'r Certificate {
        // Invariant: trusted-root parsing refuses authorities with an empty chain.
        &self.authority.chain()[0]
    }
}

/// Chains the leaf to a CA of the trusted root. `carried` are the CA certificates the bundle
/// brought along: they are never trusted nor used, only reported as ignored.
pub(super) fn verify_chain<'r>(
    leaf: &Certificate,
    carried: &[Certificate],
    times: &ObservedTimes<'_>,
    root: &'r TrustedRoot,
) -> Result<ChainVerified<'r>, VerifyError> {
    let malformed =
        |e: crate::certificate::CertificateError| VerifyError::LeafMalformed(e.to_string());
    if !leaf.signature_algorithms_agree() {
        return Err(VerifyError::SignatureAlgorithmMismatch);
    }
    if let Some(oid) = leaf.unknown_critical_extension() {
        return Err(VerifyError::UnknownCriticalExtension(oid));
    }
    if leaf.is_ca().map_err(malformed)? {
        return Err(VerifyError::LeafIsCa);
    }
    if !leaf.has_digital_signature_usage().map_err(malformed)? {
        return Err(VerifyError::MissingUsage("digitalSignature key"));
    }
    if !leaf.has_code_signing_usage().map_err(malformed)? {
        return Err(VerifyError::MissingUsage("codeSigning extended key"));
    }
    let authority = root
        .certificate_authorities()
        .iter()
        .find(|ca| {
            ca.chain()
                .first()
                .is_some_and(|issuer| leaf.verify_issued_by(issuer).is_ok())
        })
        .ok_or(VerifyError::UntrustedIssuer)?;
    for observed in times.times() {
        let at = observed.time;
        if !leaf.valid_at(at) {
            return Err(VerifyError::CertificateNotValid {
                at,
                not_before: leaf.not_before(),
                not_after: leaf.not_after(),
            });
        }
        if !authority.valid_for().contains(at) {
            return Err(VerifyError::AuthorityNotValid {
                authority: authority.uri().to_owned(),
                at,
            });
        }
        if !authority.chain().iter().all(|c| c.valid_at(at)) {
            return Err(VerifyError::ChainNotValid {
                authority: authority.uri().to_owned(),
                at,
            });
        }
    }
    let ignored = carried
        .iter()
        .map(|c| IgnoredCertificate {
            subject: c.subject_name(),
            self_signed: c.is_self_issued(),
        })
        .collect();
    Ok(ChainVerified { authority, ignored })
}

/// Proof that a trusted CT log saw the certificate.
#[derive(Debug)]
pub(super) struct SctsVerified(Vec<VerifiedSct>);

impl SctsVerified {
    pub(super) fn into_inner(self) -> Vec<VerifiedSct> {
        self.0
    }
}

pub(super) fn verify_scts(
    leaf: &Certificate,
    chain: &ChainVerified<'_>,
    root: &TrustedRoot,
    min: usize,
) -> Result<SctsVerified, VerifyError> {
    Ok(SctsVerified(verify_embedded_scts(
        leaf,
        chain.issuer(),
        root,
        min,
    )?))
}

/// Proof that the certificate names the required signer.
#[derive(Debug)]
pub(super) struct IdentityMatched {
    subject: String,
    issuer: String,
}

impl IdentityMatched {
    pub(super) fn into_parts(self) -> (String, String) {
        (self.subject, self.issuer)
    }
}

pub(super) fn verify_identity(
    leaf: &Certificate,
    policy: &CertificateIdentity,
) -> Result<IdentityMatched, VerifyError> {
    let malformed =
        |e: crate::certificate::CertificateError| VerifyError::LeafMalformed(e.to_string());
    let issuer = leaf.oidc_issuer().map_err(malformed)?;
    let names = leaf.subject_alternative_names().map_err(malformed)?;
    let Some(subject) = names.iter().find(|n| policy.subject.matches(n)) else {
        return Err(VerifyError::IdentityMismatch {
            expected: policy.subject.to_string(),
            found: names,
        });
    };
    match issuer {
        Some(issuer) if policy.issuer.matches(&issuer) => Ok(IdentityMatched {
            subject: subject.clone(),
            issuer,
        }),
        found => Err(VerifyError::IssuerMismatch {
            expected: policy.issuer.to_string(),
            found,
        }),
    }
}
