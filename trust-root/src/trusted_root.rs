//! Sigstore's `trusted_root.json`: the CAs, transparency logs, CT logs and timestamp authorities
//! a verifier trusts, each for a window of time.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::certificate::{Certificate, CertificateError};
use crate::encoding::{self, DecodeError};
use crate::keys::{KeyError, KeyKind, PublicKey};

const MEDIA_TYPE_V01: &str = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
const MEDIA_TYPE_V01_NEW: &str = "application/vnd.dev.sigstore.trustedroot.v0.1+json";

/// Why a trusted root could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedRootError {
    #[error("trusted root is not valid JSON: {0}")]
    Json(String),
    #[error("trusted root media type {0:?} is not supported")]
    MediaType(String),
    #[error("{what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: DecodeError,
    },
    #[error("{what}: {source}")]
    Key {
        what: String,
        #[source]
        source: KeyError,
    },
    #[error("{what}: {source}")]
    Certificate {
        what: String,
        #[source]
        source: CertificateError,
    },
    #[error("{what}: validFor has no start")]
    MissingValidityStart { what: String },
    #[error("{what}: validFor is missing")]
    MissingValidity { what: String },
    #[error("{what}: time {value:?} is not RFC 3339")]
    BadTime { what: String, value: String },
    #[error("{what}: certificate chain is empty")]
    EmptyChain { what: String },
    #[error("{what}: unsupported key details {details:?}")]
    KeyDetails { what: String, details: String },
    #[error("{what}: unsupported hash algorithm {algorithm:?}")]
    HashAlgorithm { what: String, algorithm: String },
}

/// A closed window of time: `start ..= end`, open-ended when `end` is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// Whether `at` lies in the window; both ends are inclusive.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && self.end.is_none_or(|end| at <= end)
    }
}

/// A transparency log or CT log the root trusts.
#[derive(Debug, Clone)]
pub struct LogInstance {
    base_url: String,
    key: PublicKey,
    log_id: Vec<u8>,
    valid_for: TimeRange,
}

impl LogInstance {
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The host (and path, if any) of the base URL: the name a log signs its checkpoints with.
    pub fn origin_name(&self) -> &str {
        let url = &self.base_url;
        let without_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        without_scheme.trim_end_matches('/')
    }

    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The log id as the root lists it (SHA-256 of the key for Rekor v1 and CT logs).
    pub fn log_id(&self) -> &[u8] {
        &self.log_id
    }

    pub fn valid_for(&self) -> TimeRange {
        self.valid_for
    }
}

/// A certificate authority (Fulcio) or timestamp authority the root trusts.
#[derive(Debug, Clone)]
pub struct Authority {
    subject: String,
    uri: String,
    /// Issuing certificate first, root last.
    chain: Vec<Certificate>,
    valid_for: TimeRange,
}

impl Authority {
    /// "organization / common name" from the root's subject field.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn valid_for(&self) -> TimeRange {
        self.valid_for
    }

    pub(crate) fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// Validity windows of the chain's certificates, issuing certificate first.
    pub fn certificate_windows(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.chain
            .iter()
            .map(|c| (c.not_before(), c.not_after()))
            .collect()
    }
}

/// A parsed `trusted_root.json`.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    tlogs: Vec<LogInstance>,
    ctlogs: Vec<LogInstance>,
    certificate_authorities: Vec<Authority>,
    timestamp_authorities: Vec<Authority>,
}

impl TrustedRoot {
    /// A root that trusts no CA, log, CT log or TSA. Only a bundle signed by a key the policy
    /// names, carrying no log entry or timestamp, verifies against it, and only with options
    /// that require none ([`crate::VerifierOptions::signature_only`]): a site's own
    /// signatures, such as an Airlock appliance's verdicts.
    pub fn empty() -> Self {
        Self {
            tlogs: Vec::new(),
            ctlogs: Vec::new(),
            certificate_authorities: Vec::new(),
            timestamp_authorities: Vec::new(),
        }
    }

    /// Parses and checks a `trusted_root.json` document.
    pub fn from_json(json: &[u8]) -> Result<Self, TrustedRootError> {
        let raw: RawTrustedRoot =
            serde_json::from_slice(json).map_err(|e| TrustedRootError::Json(e.to_string()))?;
        if raw.media_type != MEDIA_TYPE_V01 && raw.media_type != MEDIA_TYPE_V01_NEW {
            return Err(TrustedRootError::MediaType(raw.media_type));
        }
        let logs = |list: Vec<RawLog>, kind: &str| -> Result<Vec<LogInstance>, TrustedRootError> {
            list.into_iter()
                .enumerate()
                .map(|(i, l)| l.into_instance(&format!("{kind}[{i}]")))
                .collect()
        };
        let authorities =
            |list: Vec<RawAuthority>, kind: &str| -> Result<Vec<Authority>, TrustedRootError> {
                list.into_iter()
                    .enumerate()
                    .map(|(i, a)| a.into_authority(&format!("{kind}[{i}]")))
                    .collect()
            };
        Ok(Self {
            tlogs: logs(raw.tlogs, "tlogs")?,
            ctlogs: logs(raw.ctlogs, "ctlogs")?,
            certificate_authorities: authorities(
                raw.certificate_authorities,
                "certificateAuthorities",
            )?,
            timestamp_authorities: authorities(raw.timestamp_authorities, "timestampAuthorities")?,
        })
    }

    pub fn tlogs(&self) -> &[LogInstance] {
        &self.tlogs
    }

    pub fn ctlogs(&self) -> &[LogInstance] {
        &self.ctlogs
    }

    pub fn certificate_authorities(&self) -> &[Authority] {
        &self.certificate_authorities
    }

    pub fn timestamp_authorities(&self) -> &[Authority] {
        &self.timestamp_authorities
    }

    /// The transparency log with this log id.
    pub fn tlog(&self, log_id: &[u8]) -> Option<&LogInstance> {
        self.tlogs.iter().find(|l| l.log_id == log_id)
    }

    /// The CT log with this log id.
    pub fn ctlog(&self, log_id: &[u8]) -> Option<&LogInstance> {
        self.ctlogs.iter().find(|l| l.log_id == log_id)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTrustedRoot {
    media_type: String,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    hash_algorithm: Option<String>,
    public_key: RawPublicKey,
    log_id: RawLogId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPublicKey {
    raw_bytes: String,
    key_details: String,
    valid_for: Option<RawTimeRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: String,
}

#[derive(Deserialize)]
struct RawTimeRange {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    #[serde(default)]
    subject: RawSubject,
    #[serde(default)]
    uri: String,
    cert_chain: RawCertChain,
    valid_for: Option<RawTimeRange>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSubject {
    #[serde(default)]
    organization: String,
    #[serde(default)]
    common_name: String,
}

#[derive(Deserialize)]
struct RawCertChain {
    #[serde(default)]
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

impl RawLog {
    fn into_instance(self, what: &str) -> Result<LogInstance, TrustedRootError> {
        if let Some(alg) = self.hash_algorithm.as_deref()
            && alg != "SHA2_256"
        {
            return Err(TrustedRootError::HashAlgorithm {
                what: what.to_owned(),
                algorithm: alg.to_owned(),
            });
        }
        let key_what = format!("{what}.publicKey");
        let raw = decode(&self.public_key.raw_bytes, &format!("{key_what}.rawBytes"))?;
        let key = parse_key(&raw, &self.public_key.key_details, &key_what)?;
        let valid_for = time_range(self.public_key.valid_for, &format!("{key_what}.validFor"))?;
        let log_id = decode(&self.log_id.key_id, &format!("{what}.logId.keyId"))?;
        Ok(LogInstance {
            base_url: self.base_url,
            key,
            log_id,
            valid_for,
        })
    }
}

impl RawAuthority {
    fn into_authority(self, what: &str) -> Result<Authority, TrustedRootError> {
        let chain = self
            .cert_chain
            .certificates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cert_what = format!("{what}.certChain.certificates[{i}]");
                let der = decode(&c.raw_bytes, &cert_what)?;
                Certificate::from_der(&der).map_err(|source| TrustedRootError::Certificate {
                    what: cert_what,
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if chain.is_empty() {
            return Err(TrustedRootError::EmptyChain {
                what: what.to_owned(),
            });
        }
        let valid_for = time_range(self.valid_for, &format!("{what}.validFor"))?;
        let subject = match (
            self.subject.organization.is_empty(),
            self.subject.common_name.is_empty(),
        ) {
            (false, false) => format!(
                "{} / {}",
                self.subject.organization, self.subject.common_name
            ),
            (true, _) => self.subject.common_name,
            (false, true) => self.subject.organization,
        };
        Ok(Authority {
            subject,
            uri: self.uri,
            chain,
            valid_for,
        })
    }
}

fn decode(b64: &str, what: &str) -> Result<Vec<u8>, TrustedRootError> {
    encoding::base64(b64).map_err(|source| TrustedRootError::Decode {
        what: what.to_owned(),
        source,
    })
}

fn parse_key(raw: &[u8], details: &str, what: &str) -> Result<PublicKey, TrustedRootError> {
    let key_err = |source| TrustedRootError::Key {
        what: what.to_owned(),
        source,
    };
    match details {
        "PKCS1_RSA_PKCS1V5" => PublicKey::from_pkcs1_der(raw, KeyKind::RsaPkcs1).map_err(key_err),
        "PKCS1_RSA_PSS" => PublicKey::from_pkcs1_der(raw, KeyKind::RsaPss).map_err(key_err),
        d if d.starts_with("PKIX_RSA_PSS") => {
            PublicKey::from_spki_der_with_rsa(raw, KeyKind::RsaPss).map_err(key_err)
        }
        d if d.starts_with("PKIX_RSA_PKCS1V") => {
            PublicKey::from_spki_der_with_rsa(raw, KeyKind::RsaPkcs1).map_err(key_err)
        }
        "PKIX_ECDSA_P256_SHA_256"
        | "PKIX_ECDSA_P384_SHA_384"
        | "PKIX_ECDSA_P521_SHA_512"
        | "PKIX_ED25519"
        | "PKIX_ED25519_PH" => {
            let key = PublicKey::from_spki_der(raw).map_err(key_err)?;
            let expected = match details {
                "PKIX_ECDSA_P256_SHA_256" => KeyKind::EcdsaP256,
                "PKIX_ECDSA_P384_SHA_384" => KeyKind::EcdsaP384,
                "PKIX_ECDSA_P521_SHA_512" => KeyKind::EcdsaP521,
                _ => KeyKind::Ed25519,
            };
            if key.kind() != expected {
                return Err(TrustedRootError::KeyDetails {
                    what: what.to_owned(),
                    details: format!("{details} (key is {})", key.kind()),
                });
            }
            Ok(key)
        }
        other => Err(TrustedRootError::KeyDetails {
            what: what.to_owned(),
            details: other.to_owned(),
        }),
    }
}

fn time_range(raw: Option<RawTimeRange>, what: &str) -> Result<TimeRange, TrustedRootError> {
    let raw = raw.ok_or_else(|| TrustedRootError::MissingValidity {
        what: what.to_owned(),
    })?;
    let start = raw
        .start
        .ok_or_else(|| TrustedRootError::MissingValidityStart {
            what: what.to_owned(),
        })?;
    let parse = |value: String| {
        DateTime::parse_from_rfc3339(&value)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| TrustedRootError::BadTime {
                what: what.to_owned(),
                value,
            })
    };
    Ok(TimeRange {
        start: parse(start)?,
        end: raw.end.map(parse).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: &str, end: Option<&str>) -> TimeRange {
        let p = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        TimeRange {
            start: p(start),
            end: end.map(p),
        }
    }

    #[test]
    fn time_range_is_closed_at_both_ends() {
        let r = range("2024-01-01T00:00:00Z", Some("2024-02-01T00:00:00Z"));
        assert!(r.contains(r.start));
        assert!(r.contains(r.end.unwrap()));
        assert!(!r.contains(r.start - chrono::Duration::seconds(1)));
        assert!(!r.contains(r.end.unwrap() + chrono::Duration::seconds(1)));
        assert!(range("2024-01-01T00:00:00Z", None).contains(Utc::now()));
    }

    #[test]
    fn missing_validity_start_is_an_error() {
        let json = r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs":[{"baseUrl":"https://x","hashAlgorithm":"SHA2_256",
              "publicKey":{"rawBytes":"MCowBQYDK2VwAyEAPn+AREHoBaZ7wgS1zBqpxmLSGnyhxXj4lFxSdWVB8o8=",
                "keyDetails":"PKIX_ED25519","validFor":{"end":"2030-01-01T00:00:00Z"}},
              "logId":{"keyId":"AAAA"}}]}"#;
        assert_eq!(
            TrustedRoot::from_json(json.as_bytes()).unwrap_err(),
            TrustedRootError::MissingValidityStart {
                what: "tlogs[0].publicKey.validFor".into()
            }
        );
    }

    #[test]
    fn unknown_media_type_is_an_error() {
        let json = r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=9"}"#;
        assert!(matches!(
            TrustedRoot::from_json(json.as_bytes()),
            Err(TrustedRootError::MediaType(_))
        ));
    }
}
