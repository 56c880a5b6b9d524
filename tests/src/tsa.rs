//! An RFC 3161 timestamp authority: TimeStampResp with a CMS SignedData over a TSTInfo.

use std::str::FromStr;

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
use const_oid::db::rfc5912::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE,
    ID_CE_SUBJECT_KEY_IDENTIFIER, ID_SHA_256,
};
use der::asn1::{GeneralizedTime, Int, OctetString};
use der::{Any, Decode, Encode, Tag};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_tsp::{MessageImprint, TspVersion, TstInfo};

use crate::error::{KitError, Result, der_err};
use crate::keys::EcKey;
use crate::x509::{CertParts, cert_der, der_uint, ext, key_identifier, sign_tbs};

/// id-ct-TSTInfo.
const ID_CT_TST_INFO: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// The policy the test TSA stamps under.
const TSA_POLICY: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// A timestamp authority: a root and a timestamping leaf.
#[derive(Clone, Debug)]
pub(crate) struct Tsa {
    key: EcKey,
    pub(crate) root_der: Vec<u8>,
    pub(crate) leaf_der: Vec<u8>,
    leaf: Certificate,
}

impl Tsa {
    pub(crate) fn new(
        label: &str,
        root_key: &EcKey,
        key: EcKey,
        not_before: i64,
        not_after: i64,
    ) -> Result<Self> {
        let root_name =
            Name::from_str(&format!("CN={label}-tsa-root,O={label}")).map_err(der_err("name"))?;
        let leaf_name =
            Name::from_str(&format!("CN={label}-tsa,O={label}")).map_err(der_err("name"))?;
        let root =
            CertParts::self_signed_ca(root_name.clone(), root_key, not_before, not_after, 0)?;
        let root_der = cert_der(&sign_tbs(root.tbs()?, root_key)?)?;
        let leaf_parts = CertParts {
            serial: 2,
            issuer: root_name,
            subject: leaf_name,
            not_before,
            not_after,
            spki: key.spki()?,
            extensions: vec![
                ext(
                    ID_CE_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::DigitalSignature.into()),
                )?,
                ext(
                    ID_CE_EXT_KEY_USAGE,
                    true,
                    &ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
                )?,
                ext(ID_CE_SUBJECT_KEY_IDENTIFIER, false, &key_identifier(&key)?)?,
                ext(
                    ID_CE_AUTHORITY_KEY_IDENTIFIER,
                    false,
                    &AuthorityKeyIdentifier {
                        key_identifier: Some(key_identifier(root_key)?),
                        authority_cert_issuer: None,
                        authority_cert_serial_number: None,
                    },
                )?,
            ],
        };
        let leaf = sign_tbs(leaf_parts.tbs()?, root_key)?;
        Ok(Tsa {
            key,
            root_der,
            leaf_der: cert_der(&leaf)?,
            leaf,
        })
    }

    /// The chain as the trusted root lists it: leaf first, root last.
    pub(crate) fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.leaf_der.clone(), self.root_der.clone()]
    }

    /// A DER TimeStampResp (status granted) stamping SHA-256(`message`) at `gen_time`.
    pub(crate) fn timestamp(&self, message: &[u8], gen_time: i64, serial: u64) -> Result<Vec<u8>> {
        let secs = u64::try_from(gen_time).map_err(|_| KitError::Invalid {
            what: "timestamp time",
            detail: gen_time.to_string(),
        })?;
        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        };
        let serial_bytes = der_uint(serial);
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: TSA_POLICY,
            message_imprint: MessageImprint {
                hash_algorithm: sha256.clone(),
                hashed_message: OctetString::new(Sha256::digest(message).to_vec())
                    .map_err(der_err("message imprint"))?,
            },
            serial_number: Int::new(&serial_bytes).map_err(der_err("TSA serial"))?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map_err(der_err("genTime"))?,
            accuracy: None,
            ordering: false,
            nonce: None,
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(der_err("TSTInfo"))?;
        let content = EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::new(Tag::OctetString, tst_der).map_err(der_err("eContent"))?),
        };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: self.leaf.tbs_certificate.issuer.clone(),
            serial_number: self.leaf.tbs_certificate.serial_number.clone(),
        });
        let signer = self.key.signing_key();
        let signer_info = SignerInfoBuilder::new(signer, sid, sha256.clone(), &content, None)
            .map_err(cms_err("SignerInfo"))?;
        let token = SignedDataBuilder::new(&content)
            .add_digest_algorithm(sha256)
            .map_err(cms_err("digest algorithm"))?
            .add_certificate(CertificateChoices::Certificate(self.leaf.clone()))
            .map_err(cms_err("TSA certificate"))?
            .add_signer_info::<_, p256::ecdsa::DerSignature>(signer_info)
            .map_err(cms_err("signer info"))?
            .build()
            .map_err(cms_err("SignedData"))?;
        let token_der = token.to_der().map_err(der_err("TimeStampToken"))?;
        // TimeStampResp ::= SEQUENCE { status PKIStatusInfo (SEQUENCE { granted(0) }), token }
        let mut body = vec![0x30, 0x03, 0x02, 0x01, 0x00];
        body.extend_from_slice(&token_der);
        let resp = der_sequence(&body);
        // Round-trip as a sanity check of the framing.
        let _ = Any::from_der(&resp).map_err(der_err("TimeStampResp"))?;
        Ok(resp)
    }
}

fn cms_err(what: &'static str) -> impl FnOnce(cms::builder::Error) -> KitError {
    move |e| KitError::Cms {
        what,
        detail: format!("{e:?}"),
    }
}

/// Wraps `content` in a DER SEQUENCE header.
fn der_sequence(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Seed;

    #[test]
    fn timestamp_response_parses_and_imprints_message() {
        let s = Seed::from(5);
        let tsa = Tsa::new("t", &s.p256("r"), s.p256("l"), 1_700_000_000, 1_800_000_000).unwrap();
        let resp = tsa.timestamp(b"sig", 1_750_000_000, 1).unwrap();
        assert_eq!(resp, tsa.timestamp(b"sig", 1_750_000_000, 1).unwrap());
        let any = Any::from_der(&resp).unwrap();
        assert_eq!(resp[0], 0x30);
        assert!(any.value().len() > 100);
        // Find the TSTInfo inside: the imprint is SHA-256("sig").
        let digest = Sha256::digest(b"sig");
        assert!(resp.windows(32).any(|w| w == digest.as_slice()));
    }
}
