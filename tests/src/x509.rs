//! Hand-built X.509 certificates: a TBS from parts, signed with ECDSA-SHA256.

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString, UtcTime};
use der::{Encode, asn1::GeneralizedTime};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::{KitError, Result, der_err};
use crate::keys::EcKey;

/// ecdsa-with-SHA256.
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// ecdsa-with-SHA384.
pub(crate) const ECDSA_WITH_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// An ASN.1 time for a Unix timestamp: UTCTime before 2050, GeneralizedTime after (RFC 5280).
pub(crate) fn asn1_time(unix: i64) -> Result<Time> {
    let secs = u64::try_from(unix).map_err(|_| KitError::Invalid {
        what: "time",
        detail: format!("{unix} is before 1970"),
    })?;
    let d = std::time::Duration::from_secs(secs);
    if secs < 2_524_608_000 {
        Ok(Time::UtcTime(
            UtcTime::from_unix_duration(d).map_err(der_err("UTCTime"))?,
        ))
    } else {
        Ok(Time::GeneralTime(
            GeneralizedTime::from_unix_duration(d).map_err(der_err("GeneralizedTime"))?,
        ))
    }
}

/// The minimal DER INTEGER content octets of a non-negative number.
pub(crate) fn der_uint(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut out = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[skip..]);
    out
}

/// Wraps a DER-encodable value as an extension.
pub(crate) fn ext<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension> {
    let der = value.to_der().map_err(der_err("extension value"))?;
    raw_ext(oid, critical, der)
}

/// An extension whose value bytes are given as they are.
pub(crate) fn raw_ext(oid: ObjectIdentifier, critical: bool, value: Vec<u8>) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value).map_err(der_err("extension"))?,
    })
}

/// Key identifier: first 20 bytes of SHA-256 of the subjectPublicKey bits (RFC 7093 method 1).
pub(crate) fn key_identifier(key: &EcKey) -> Result<OctetString> {
    spki_key_identifier(&key.spki()?)
}

/// [`key_identifier`] of any public key.
pub(crate) fn spki_key_identifier(spki: &spki::SubjectPublicKeyInfoOwned) -> Result<OctetString> {
    let digest = Sha256::digest(spki.subject_public_key.raw_bytes());
    OctetString::new(&digest[..20]).map_err(der_err("key identifier"))
}

/// The parts of a certificate the kit chooses.
#[derive(Debug)]
pub(crate) struct CertParts {
    pub(crate) serial: u64,
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) spki: spki::SubjectPublicKeyInfoOwned,
    pub(crate) extensions: Vec<Extension>,
}

impl CertParts {
    /// A self-signed root CA (serial 1) that may issue `path_len` levels of CAs below it.
    pub(crate) fn self_signed_ca(
        name: Name,
        key: &EcKey,
        not_before: i64,
        not_after: i64,
        path_len: u8,
    ) -> Result<Self> {
        use const_oid::db::rfc5280::{
            ID_CE_BASIC_CONSTRAINTS, ID_CE_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER,
        };
        use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
        Ok(Self {
            serial: 1,
            issuer: name.clone(),
            subject: name,
            not_before,
            not_after,
            spki: key.spki()?,
            extensions: vec![
                ext(
                    ID_CE_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                )?,
                ext(
                    ID_CE_BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(path_len),
                    },
                )?,
                ext(ID_CE_SUBJECT_KEY_IDENTIFIER, false, &key_identifier(key)?)?,
            ],
        })
    }

    /// The TBSCertificate for these parts.
    pub(crate) fn tbs(&self) -> Result<TbsCertificate> {
        Ok(TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&der_uint(self.serial)).map_err(der_err("serial"))?,
            signature: AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA256,
                parameters: None,
            },
            issuer: self.issuer.clone(),
            validity: Validity {
                not_before: asn1_time(self.not_before)?,
                not_after: asn1_time(self.not_after)?,
            },
            subject: self.subject.clone(),
            subject_public_key_info: self.spki.clone(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(self.extensions.clone()),
        })
    }
}

/// Signs a TBS with `issuer_key`.
pub(crate) fn sign_tbs(tbs: TbsCertificate, issuer_key: &EcKey) -> Result<Certificate> {
    let der = tbs.to_der().map_err(der_err("TBSCertificate"))?;
    let sig = issuer_key.sign(&der);
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        },
        signature: BitString::from_bytes(&sig).map_err(der_err("signature"))?,
    })
}

/// DER of a certificate.
pub(crate) fn cert_der(cert: &Certificate) -> Result<Vec<u8>> {
    cert.to_der().map_err(der_err("certificate"))
}

/// PEM of a DER certificate.
pub fn cert_pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
