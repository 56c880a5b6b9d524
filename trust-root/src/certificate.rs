//! X.509 certificates: the parts of a Fulcio leaf, a CA chain or a TSA chain that verification reads.

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5280, rfc5912};
use der::asn1::{AnyRef, BitStringRef, Ia5String, OctetString, Utf8StringRef};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierRef;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::keys::{HashAlgorithm, KeyError, PublicKey, VerifyWithError};

/// Fulcio's OIDC issuer extension, v1: the extension value is the raw issuer string.
pub(crate) const OID_FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension, v2: a DER UTF8String.
pub(crate) const OID_FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio's otherName SAN type (a UTF8String identity, e.g. a username).
const OID_FULCIO_OTHER_NAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// RFC 6962 embedded SCT list.
pub(crate) const OID_SCT_LIST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// RFC 6962 precertificate poison.
const OID_CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
const OID_EKU_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const OID_EKU_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Why a certificate could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("certificate is not valid DER X.509")]
    Malformed,
    #[error("certificate public key: {0}")]
    Key(#[from] KeyError),
    #[error("certificate extension {oid} is malformed")]
    Extension { oid: String },
    #[error("certificate signature algorithm {0} is not supported")]
    SignatureAlgorithm(String),
}

/// A parsed certificate that keeps its DER.
#[derive(Debug, Clone)]
pub(crate) struct Certificate {
    der: Vec<u8>,
    tbs_der: Vec<u8>,
    signature: Vec<u8>,
    signature_hash: HashAlgorithm,
    cert: x509_cert::Certificate,
    key: PublicKey,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
}

/// The outer certificate structure with the to-be-signed part kept as raw bytes.
#[derive(Sequence)]
struct RawCertificate<'a> {
    tbs: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

impl Certificate {
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, CertificateError> {
        let raw = RawCertificate::from_der(der).map_err(|_| CertificateError::Malformed)?;
        let tbs_der = raw.tbs.to_der().map_err(|_| CertificateError::Malformed)?;
        let signature = raw
            .signature
            .as_bytes()
            .ok_or(CertificateError::Malformed)?
            .to_vec();
        let signature_hash = signature_hash(raw.algorithm.oid)?;
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|_| CertificateError::Malformed)?;
        let spki_der = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|_| CertificateError::Malformed)?;
        let key = PublicKey::from_spki_der(&spki_der)?;
        let validity = &cert.tbs_certificate.validity;
        let not_before = to_chrono(validity.not_before.to_unix_duration())?;
        let not_after = to_chrono(validity.not_after.to_unix_duration())?;
        Ok(Self {
            der: der.to_vec(),
            tbs_der,
            signature,
            signature_hash,
            cert,
            key,
            not_before,
            not_after,
        })
    }

    pub(crate) fn der(&self) -> &[u8] {
        &self.der
    }

    pub(crate) fn public_key(&self) -> &PublicKey {
        &self.key
    }

    pub(crate) fn inner(&self) -> &x509_cert::Certificate {
        &self.cert
    }

    pub(crate) fn not_before(&self) -> DateTime<Utc> {
        self.not_before
    }

    pub(crate) fn not_after(&self) -> DateTime<Utc> {
        self.not_after
    }

    /// Whether `at` lies within notBefore..=notAfter.
    pub(crate) fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// The serial number as lowercase hex.
    pub(crate) fn serial_hex(&self) -> String {
        hex::encode(self.cert.tbs_certificate.serial_number.as_bytes())
    }

    pub(crate) fn is_self_issued(&self) -> bool {
        self.cert.tbs_certificate.issuer == self.cert.tbs_certificate.subject
    }

    /// Whether this certificate's subject is the name `issued` gives as its issuer.
    pub(crate) fn names_issuer_of(&self, issued: &Certificate) -> bool {
        issued.cert.tbs_certificate.issuer == self.cert.tbs_certificate.subject
    }

    /// The subject's distinguished name (RFC 4514 form), for reports.
    pub(crate) fn subject_name(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// Checks that `issuer` issued this certificate: names chain and the signature verifies.
    pub(crate) fn verify_issued_by(&self, issuer: &Certificate) -> Result<(), IssuedByError> {
        if self.cert.tbs_certificate.issuer != issuer.cert.tbs_certificate.subject {
            return Err(IssuedByError::NameMismatch);
        }
        issuer
            .key
            .verify_with(self.signature_hash, &self.tbs_der, &self.signature)
            .map_err(|e| match e {
                VerifyWithError::BadSignature => IssuedByError::BadSignature,
                VerifyWithError::Key(k) => IssuedByError::Key(k),
            })
    }

    fn extension(&self, oid: ObjectIdentifier) -> Option<&OctetString> {
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| &e.extn_value)
    }

    fn decode_extension<'a, T: Decode<'a>>(
        &'a self,
        oid: ObjectIdentifier,
    ) -> Result<Option<T>, CertificateError> {
        self.extension(oid)
            .map(|v| T::from_der(v.as_bytes()))
            .transpose()
            .map_err(|_| CertificateError::Extension {
                oid: oid.to_string(),
            })
    }

    /// Whether basicConstraints marks this certificate as a CA.
    pub(crate) fn is_ca(&self) -> Result<bool, CertificateError> {
        Ok(self
            .decode_extension::<BasicConstraints>(rfc5280::ID_CE_BASIC_CONSTRAINTS)?
            .is_some_and(|bc| bc.ca))
    }

    /// Whether keyUsage is present and includes digitalSignature.
    pub(crate) fn has_digital_signature_usage(&self) -> Result<bool, CertificateError> {
        Ok(self
            .decode_extension::<KeyUsage>(rfc5280::ID_CE_KEY_USAGE)?
            .is_some_and(|ku| ku.digital_signature()))
    }

    fn has_extended_usage(&self, usage: ObjectIdentifier) -> Result<bool, CertificateError> {
        Ok(self
            .decode_extension::<ExtendedKeyUsage>(rfc5280::ID_CE_EXT_KEY_USAGE)?
            .is_some_and(|eku| eku.0.contains(&usage)))
    }

    pub(crate) fn has_code_signing_usage(&self) -> Result<bool, CertificateError> {
        self.has_extended_usage(OID_EKU_CODE_SIGNING)
    }

    pub(crate) fn has_time_stamping_usage(&self) -> Result<bool, CertificateError> {
        self.has_extended_usage(OID_EKU_TIME_STAMPING)
    }

    /// Every subject alternative name that identifies a signer (URI, email, other name).
    pub(crate) fn subject_alternative_names(&self) -> Result<Vec<String>, CertificateError> {
        let Some(san) = self.decode_extension::<SubjectAltName>(rfc5280::ID_CE_SUBJECT_ALT_NAME)?
        else {
            return Ok(Vec::new());
        };
        let mut names = Vec::new();
        for name in san.0 {
            match name {
                GeneralName::UniformResourceIdentifier(uri) => names.push(ia5(&uri)),
                GeneralName::Rfc822Name(email) => names.push(ia5(&email)),
                // An otherName is an identity only under Fulcio's own type: any other type
                // is some other authority's name for something else.
                GeneralName::OtherName(other) if other.type_id == OID_FULCIO_OTHER_NAME => {
                    if let Ok(s) = other.value.decode_as::<Utf8StringRef<'_>>() {
                        names.push(s.as_str().to_owned());
                    }
                }
                _ => {}
            }
        }
        Ok(names)
    }

    /// The first extension marked critical that this verifier does not understand (RFC 5280
    /// §4.2: such a certificate must be rejected).
    pub(crate) fn unknown_critical_extension(&self) -> Option<String> {
        const UNDERSTOOD: [ObjectIdentifier; 6] = [
            rfc5280::ID_CE_BASIC_CONSTRAINTS,
            rfc5280::ID_CE_KEY_USAGE,
            rfc5280::ID_CE_EXT_KEY_USAGE,
            rfc5280::ID_CE_SUBJECT_ALT_NAME,
            rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
            rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        ];
        self.cert
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.critical && !UNDERSTOOD.contains(&e.extn_id))
            .map(|e| e.extn_id.to_string())
    }

    /// Whether the signature algorithm inside the signed part equals the outer one (RFC 5280
    /// §4.1.1.2 requires it; a difference means the signed part claims another algorithm
    /// than the one that was checked).
    pub(crate) fn signature_algorithms_agree(&self) -> bool {
        self.cert.tbs_certificate.signature == self.cert.signature_algorithm
    }

    /// The OIDC issuer from Fulcio's v2 extension, else its v1 extension.
    pub(crate) fn oidc_issuer(&self) -> Result<Option<String>, CertificateError> {
        if let Some(v2) = self.extension(OID_FULCIO_ISSUER_V2) {
            let s = Utf8StringRef::from_der(v2.as_bytes()).map_err(|_| {
                CertificateError::Extension {
                    oid: OID_FULCIO_ISSUER_V2.to_string(),
                }
            })?;
            return Ok(Some(s.as_str().to_owned()));
        }
        match self.extension(OID_FULCIO_ISSUER_V1) {
            Some(v1) => std::str::from_utf8(v1.as_bytes())
                .map(|s| Some(s.to_owned()))
                .map_err(|_| CertificateError::Extension {
                    oid: OID_FULCIO_ISSUER_V1.to_string(),
                }),
            None => Ok(None),
        }
    }

    /// The raw embedded SCT list (a TLS-encoded `SignedCertificateTimestampList`), if any.
    pub(crate) fn sct_list(&self) -> Result<Option<Vec<u8>>, CertificateError> {
        Ok(self
            .decode_extension::<OctetString>(OID_SCT_LIST)?
            .map(OctetString::into_bytes))
    }

    /// The precertificate TBS that a CT log signed: this TBS without the SCT list extension.
    pub(crate) fn precertificate_tbs_der(&self) -> Result<Vec<u8>, CertificateError> {
        let mut tbs = self.cert.tbs_certificate.clone();
        if let Some(exts) = tbs.extensions.as_mut() {
            exts.retain(|e| e.extn_id != OID_SCT_LIST && e.extn_id != OID_CT_POISON);
        }
        tbs.to_der().map_err(|_| CertificateError::Malformed)
    }

    /// SHA-256 of the issuer-facing SubjectPublicKeyInfo (RFC 6962 `issuer_key_hash`).
    pub(crate) fn spki_sha256(&self) -> [u8; 32] {
        self.key.key_id()
    }
}

/// Why a certificate is not issued by a given CA certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuedByError {
    #[error("issuer name does not match the CA subject")]
    NameMismatch,
    #[error("signature does not verify with the CA key")]
    BadSignature,
    #[error(transparent)]
    Key(KeyError),
}

fn ia5(s: &Ia5String) -> String {
    s.to_string()
}

fn signature_hash(oid: ObjectIdentifier) -> Result<HashAlgorithm, CertificateError> {
    Ok(match oid {
        rfc5912::ECDSA_WITH_SHA_256 | rfc5912::SHA_256_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha256,
        rfc5912::ECDSA_WITH_SHA_384 | rfc5912::SHA_384_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha384,
        rfc5912::ECDSA_WITH_SHA_512 | rfc5912::SHA_512_WITH_RSA_ENCRYPTION => HashAlgorithm::Sha512,
        // Ed25519 hashes internally; the value is ignored for pure Ed25519 keys.
        const_oid::db::rfc8410::ID_ED_25519 => HashAlgorithm::Sha512,
        other => return Err(CertificateError::SignatureAlgorithm(other.to_string())),
    })
}

fn to_chrono(d: std::time::Duration) -> Result<DateTime<Utc>, CertificateError> {
    let secs = i64::try_from(d.as_secs()).map_err(|_| CertificateError::Malformed)?;
    DateTime::from_timestamp(secs, d.subsec_nanos()).ok_or(CertificateError::Malformed)
}
