//! RFC 3161 timestamps: proof from a trusted timestamp authority that a signature existed at a
//! time. Only the authorities in the trusted root are believed; certificates embedded in the
//! token are ignored.

use chrono::{DateTime, Utc};
use cmpv2::status::PkiStatus;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER;
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_tsp::{TimeStampResp, TstInfo};

use crate::certificate::Certificate;
use crate::keys::HashAlgorithm;
use crate::trusted_root::Authority;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// The largest timestamp token accepted (real ones are 1–3 KiB).
const MAX_TOKEN_SIZE: usize = 64 * 1024;

/// Why a timestamp was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("timestamp is not a DER RFC 3161 response or token")]
    Malformed,
    #[error("timestamp response status is {0}, not granted")]
    NotGranted(u64),
    #[error("timestamp covers a different signature (message imprint mismatch)")]
    ImprintMismatch,
    #[error("timestamp hash algorithm {0} is not supported")]
    HashAlgorithm(String),
    #[error("timestamp was not signed by a timestamp authority in the trusted root")]
    UntrustedAuthority,
    #[error("timestamp signature by {authority} does not verify")]
    BadSignature { authority: String },
    #[error("timestamp's signed message digest does not match its content")]
    ContentDigest,
    #[error("timestamp time {at} is outside {authority}'s validity in the trusted root")]
    AuthorityNotValid {
        authority: String,
        at: DateTime<Utc>,
    },
    #[error("timestamp time {at} is outside the validity of {authority}'s certificate chain")]
    CertificateNotValid {
        authority: String,
        at: DateTime<Utc>,
    },
    #[error("{authority}'s certificate is not for time stamping")]
    NotTimeStampingCertificate { authority: String },
}

/// A timestamp verified against a trusted authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    pub time: DateTime<Utc>,
    /// The authority's URI from the trusted root.
    pub authority: String,
}

fn hash_for(oid: ObjectIdentifier) -> Result<HashAlgorithm, TimestampError> {
    match oid {
        const_oid::db::rfc5912::ID_SHA_256 => Ok(HashAlgorithm::Sha256),
        const_oid::db::rfc5912::ID_SHA_384 => Ok(HashAlgorithm::Sha384),
        const_oid::db::rfc5912::ID_SHA_512 => Ok(HashAlgorithm::Sha512),
        other => Err(TimestampError::HashAlgorithm(other.to_string())),
    }
}

/// Reads either a full `TimeStampResp` or a bare `TimeStampToken` (a CMS `ContentInfo`).
fn token(der: &[u8]) -> Result<ContentInfo, TimestampError> {
    if let Ok(resp) = TimeStampResp::from_der(der) {
        match resp.status.status {
            PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
            other => return Err(TimestampError::NotGranted(other as u64)),
        }
        return resp.time_stamp_token.ok_or(TimestampError::Malformed);
    }
    ContentInfo::from_der(der).map_err(|_| TimestampError::Malformed)
}

/// Verifies that `token_der` timestamps `signature` and was issued by one of `authorities`.
pub(crate) fn verify_timestamp(
    token_der: &[u8],
    signature: &[u8],
    authorities: &[Authority],
) -> Result<VerifiedTimestamp, TimestampError> {
    if token_der.len() > MAX_TOKEN_SIZE {
        return Err(TimestampError::Malformed);
    }
    let content = token(token_der)?;
    if content.content_type != ID_SIGNED_DATA {
        return Err(TimestampError::Malformed);
    }
    let signed: SignedData = content
        .content
        .decode_as()
        .map_err(|_| TimestampError::Malformed)?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(TimestampError::Malformed);
    }
    let econtent = signed
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or(TimestampError::Malformed)?;
    let tst_der = econtent
        .decode_as::<OctetString>()
        .map_err(|_| TimestampError::Malformed)?
        .into_bytes();
    let tst = TstInfo::from_der(&tst_der).map_err(|_| TimestampError::Malformed)?;

    let imprint_hash = hash_for(tst.message_imprint.hash_algorithm.oid)?;
    if imprint_hash.digest(signature) != tst.message_imprint.hashed_message.as_bytes() {
        return Err(TimestampError::ImprintMismatch);
    }
    let unix = tst.gen_time.to_unix_duration();
    let time = i64::try_from(unix.as_secs())
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, unix.subsec_nanos()))
        .ok_or(TimestampError::Malformed)?;

    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err(TimestampError::Malformed);
    };
    let authority = authorities
        .iter()
        .find(|a| {
            a.chain()
                .first()
                .is_some_and(|c| identifies(&signer.sid, c))
        })
        .ok_or(TimestampError::UntrustedAuthority)?;
    let name = authority.uri().to_owned();
    check_signer(signer, &tst_der, &authority.chain()[0], &name)?;

    if !authority.valid_for().contains(time) {
        return Err(TimestampError::AuthorityNotValid {
            authority: name,
            at: time,
        });
    }
    if !authority.chain().iter().all(|c| c.valid_at(time)) {
        return Err(TimestampError::CertificateNotValid {
            authority: name,
            at: time,
        });
    }
    if !authority.chain()[0]
        .has_time_stamping_usage()
        .unwrap_or(false)
    {
        return Err(TimestampError::NotTimeStampingCertificate { authority: name });
    }
    Ok(VerifiedTimestamp {
        time,
        authority: name,
    })
}

/// Whether the signer identifier names `cert`.
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.inner().tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
            .extensions
            .as_ref()
            .and_then(|exts| {
                exts.iter()
                    .find(|e| e.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER)
            })
            .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
            .is_some_and(|v| v.as_bytes() == ski.0.as_bytes()),
    }
}

/// Checks the signer's signed attributes and signature with the TSA certificate's key.
fn check_signer(
    signer: &SignerInfo,
    tst_der: &[u8],
    cert: &Certificate,
    authority: &str,
) -> Result<(), TimestampError> {
    let hash = hash_for(signer.digest_alg.oid)?;
    let signed_bytes = match &signer.signed_attrs {
        Some(attrs) => {
            let mut content_type_ok = false;
            let mut digest_ok = false;
            for attr in attrs.iter() {
                let Some(value) = attr.values.get(0) else {
                    return Err(TimestampError::Malformed);
                };
                if attr.oid == ID_CONTENT_TYPE {
                    content_type_ok =
                        value.decode_as::<ObjectIdentifier>().ok() == Some(ID_CT_TST_INFO);
                } else if attr.oid == ID_MESSAGE_DIGEST {
                    let digest = value
                        .decode_as::<OctetString>()
                        .map_err(|_| TimestampError::Malformed)?;
                    digest_ok = digest.as_bytes() == hash.digest(tst_der);
                }
            }
            if !content_type_ok {
                return Err(TimestampError::Malformed);
            }
            if !digest_ok {
                return Err(TimestampError::ContentDigest);
            }
            // The signature covers the attributes encoded as a DER SET OF.
            attrs.to_der().map_err(|_| TimestampError::Malformed)?
        }
        None => tst_der.to_vec(),
    };
    cert.public_key()
        .verify_with(hash, &signed_bytes, signer.signature.as_bytes())
        .map_err(|_| TimestampError::BadSignature {
            authority: authority.to_owned(),
        })
}
