//! A Fulcio-like CA: a root, an intermediate, and short-lived code-signing leaves with embedded SCTs.

use std::str::FromStr;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_KP_CODE_SIGNING;
use const_oid::db::rfc5912::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE,
    ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use der::asn1::{Any, Ia5String, OctetString, Utf8StringRef};
use der::{Decode, Encode};
use x509_cert::TbsCertificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::name::OtherName as AnotherName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;

use crate::ct::{CtLog, SCT_LIST_OID, sct_list};
use crate::error::{Result, der_err};
use crate::keys::EcKey;
use crate::shape::{LeafQuirks, SanForm, UNKNOWN_EXTENSION_OID};
use crate::x509::{
    CertParts, ECDSA_WITH_SHA384, cert_der, ext, key_identifier, raw_ext, sign_tbs,
    spki_key_identifier,
};

/// Fulcio's OIDC issuer extension (v1): the issuer URL as raw bytes.
pub const OIDC_ISSUER_V1_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer extension (v2): the issuer URL as a DER UTF8String.
pub const OIDC_ISSUER_V2_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");

/// Who a leaf certificate names, in its SAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// A URI SAN, as for CI workload identities.
    Uri(String),
    /// An rfc822Name SAN, as for people.
    Email(String),
}

impl Identity {
    /// The SAN value as a verifier compares it.
    pub fn as_str(&self) -> &str {
        match self {
            Identity::Uri(s) | Identity::Email(s) => s,
        }
    }
}

/// What the leaf's embedded SCT looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SctMode {
    /// A valid SCT from the trusted test CT log.
    #[default]
    Valid,
    /// No SCT extension at all.
    Missing,
    /// An SCT from the trusted log whose signature does not verify.
    BadSignature,
    /// An SCT signed by a CT log the trusted root does not list.
    UnknownLog,
}

/// A certificate authority (root + intermediate).
#[derive(Clone, Debug)]
pub(crate) struct Ca {
    pub(crate) intermediate_key: EcKey,
    pub(crate) root_der: Vec<u8>,
    pub(crate) intermediate_der: Vec<u8>,
    pub(crate) intermediate_name: Name,
    /// Validity of the CA certificates (unix seconds).
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

/// Parameters for a leaf.
#[derive(Debug)]
pub(crate) struct LeafRequest<'a> {
    pub(crate) serial: u64,
    /// The leaf's public key.
    pub(crate) spki: spki::SubjectPublicKeyInfoOwned,
    pub(crate) identity: &'a Identity,
    pub(crate) issuer: &'a str,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) sct: SctMode,
    pub(crate) ct_log: &'a CtLog,
    pub(crate) rogue_ct_log: &'a CtLog,
    /// Oddities to build in.
    pub(crate) quirks: LeafQuirks,
}

fn name(s: &str) -> Result<Name> {
    Name::from_str(s).map_err(der_err("name"))
}

impl Ca {
    /// Mints a CA with `label`d names, valid over `[not_before, not_after]`.
    pub(crate) fn new(
        label: &str,
        root_key: EcKey,
        intermediate_key: EcKey,
        not_before: i64,
        not_after: i64,
    ) -> Result<Self> {
        let root_name = name(&format!("CN={label}-root,O={label}"))?;
        let intermediate_name = name(&format!("CN={label}-intermediate,O={label}"))?;
        let root =
            CertParts::self_signed_ca(root_name.clone(), &root_key, not_before, not_after, 1)?;
        let root_der = cert_der(&sign_tbs(root.tbs()?, &root_key)?)?;
        let intermediate = CertParts {
            serial: 2,
            issuer: root_name,
            subject: intermediate_name.clone(),
            not_before,
            not_after,
            spki: intermediate_key.spki()?,
            extensions: vec![
                ext(
                    ID_CE_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                )?,
                ext(
                    ID_CE_EXT_KEY_USAGE,
                    false,
                    &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]),
                )?,
                ext(
                    ID_CE_BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    },
                )?,
                ext(
                    ID_CE_SUBJECT_KEY_IDENTIFIER,
                    false,
                    &key_identifier(&intermediate_key)?,
                )?,
                ext(ID_CE_AUTHORITY_KEY_IDENTIFIER, false, &aki(&root_key)?)?,
            ],
        };
        let intermediate_der = cert_der(&sign_tbs(intermediate.tbs()?, &root_key)?)?;
        Ok(Ca {
            intermediate_key,
            root_der,
            intermediate_der,
            intermediate_name,
            not_before,
            not_after,
        })
    }

    /// Issues a Fulcio-style leaf and returns its DER.
    pub(crate) fn issue_leaf(&self, req: &LeafRequest<'_>) -> Result<Vec<u8>> {
        let san = match (req.quirks.san, req.identity) {
            (SanForm::Standard, Identity::Uri(u)) => GeneralName::UniformResourceIdentifier(
                Ia5String::new(u).map_err(der_err("SAN URI"))?,
            ),
            (SanForm::Standard, Identity::Email(e)) => {
                GeneralName::Rfc822Name(Ia5String::new(e).map_err(der_err("SAN email"))?)
            }
            (SanForm::OtherName(type_id), identity) => {
                let value = Utf8StringRef::new(identity.as_str())
                    .map_err(der_err("SAN otherName"))?
                    .to_der()
                    .map_err(der_err("SAN otherName"))?;
                GeneralName::OtherName(AnotherName {
                    type_id,
                    value: Any::from_der(&value).map_err(der_err("SAN otherName"))?,
                })
            }
        };
        let issuer_v2 = Utf8StringRef::new(req.issuer)
            .map_err(der_err("issuer"))?
            .to_der()
            .map_err(der_err("issuer"))?;
        let mut parts = CertParts {
            serial: req.serial,
            issuer: self.intermediate_name.clone(),
            subject: Name::default(),
            not_before: req.not_before,
            not_after: req.not_after,
            spki: req.spki.clone(),
            extensions: vec![
                ext(
                    ID_CE_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::DigitalSignature.into()),
                )?,
                ext(
                    ID_CE_EXT_KEY_USAGE,
                    false,
                    &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]),
                )?,
                ext(
                    ID_CE_SUBJECT_KEY_IDENTIFIER,
                    false,
                    &spki_key_identifier(&req.spki)?,
                )?,
                ext(
                    ID_CE_AUTHORITY_KEY_IDENTIFIER,
                    false,
                    &aki(&self.intermediate_key)?,
                )?,
                ext(ID_CE_SUBJECT_ALT_NAME, true, &SubjectAltName(vec![san]))?,
                raw_ext(OIDC_ISSUER_V1_OID, false, req.issuer.as_bytes().to_vec())?,
                raw_ext(OIDC_ISSUER_V2_OID, false, issuer_v2)?,
            ],
        };
        if req.quirks.unknown_critical_extension {
            parts
                .extensions
                .push(raw_ext(UNKNOWN_EXTENSION_OID, true, vec![0x05, 0x00])?);
        }
        // The TBS the CA signs (and the precertificate TBS the SCT covers, which Fulcio derives
        // from it), with the inner signature algorithm changed if asked.
        let tbs = |parts: &CertParts| -> Result<TbsCertificate> {
            let mut tbs = parts.tbs()?;
            if req.quirks.inner_signature_algorithm_mismatch {
                tbs.signature.oid = ECDSA_WITH_SHA384;
            }
            Ok(tbs)
        };
        let log = match req.sct {
            SctMode::Missing => None,
            SctMode::UnknownLog => Some(req.rogue_ct_log),
            SctMode::Valid | SctMode::BadSignature => Some(req.ct_log),
        };
        if let Some(log) = log {
            let precert_tbs = tbs(&parts)?.to_der().map_err(der_err("precert TBS"))?;
            let issuer_spki = self.intermediate_key.spki_der()?;
            // The SCT is stamped at issuance, i.e. at notBefore.
            let ts_ms = u64::try_from(req.not_before).unwrap_or(0) * 1000;
            let mut sct = log.sct(ts_ms, &issuer_spki, &precert_tbs)?;
            if req.sct == SctMode::BadSignature {
                flip_last_sig_byte(&mut sct);
            }
            let list = sct_list(&[sct]);
            let value = OctetString::new(list)
                .map_err(der_err("SCT list"))?
                .to_der()
                .map_err(der_err("SCT list"))?;
            parts.extensions.push(raw_ext(SCT_LIST_OID, false, value)?);
        }
        cert_der(&sign_tbs(tbs(&parts)?, &self.intermediate_key)?)
    }

    /// The chain as the trusted root lists it: intermediate first, root last.
    pub(crate) fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.intermediate_der.clone(), self.root_der.clone()]
    }
}

fn aki(issuer_key: &EcKey) -> Result<AuthorityKeyIdentifier> {
    Ok(AuthorityKeyIdentifier {
        key_identifier: Some(key_identifier(issuer_key)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    })
}

/// Corrupts an ECDSA DER signature at the end of `sct` while keeping it well-formed DER:
/// the last byte of `s` is changed.
fn flip_last_sig_byte(sct: &mut [u8]) {
    if let Some(last) = sct.last_mut() {
        *last ^= 0x01;
    }
}
