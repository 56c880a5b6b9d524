//! The HTTPS certificate: a self-signed one made at `init` (unless the site provides its own),
//! and the TLS 1.3-only rustls server configuration built from the PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Months, Utc};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Names every self-signed certificate carries besides the ones given.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// How long a self-signed certificate is valid.
const VALIDITY_MONTHS: u32 = 5 * 12;

/// The ALPN protocol offered (HTTP/2 is not enabled in this build of actix-web).
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// Why a certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen refused the parameters (e.g. a name that is neither a DNS name nor an IP address).
    #[error("cannot generate the self-signed certificate: {reason}")]
    Generate {
        /// rcgen's error.
        reason: String,
    },
    /// A name for the certificate is neither an IP address nor a DNS name.
    #[error("{name:?} is neither an IP address nor a DNS name (letters, digits, hyphens, dots)")]
    BadName {
        /// The name given.
        name: String,
    },
    /// A file could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not the PEM expected.
    #[error("{}: {reason}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificate and key (e.g. the key does not match the certificate).
    #[error("certificate {} with key {}: {reason}", cert.display(), key.display())]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' error.
        reason: String,
    },
}

/// A freshly made certificate and its private key.
#[derive(Clone)]
pub(crate) struct SelfSigned {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A self-signed ECDSA P-256 server certificate for `names` plus `localhost`, `127.0.0.1` and
/// `::1`, valid from today for five years. Reads the clock (it runs at `init`, an edge); see
/// [`generate_self_signed_at`].
pub(crate) fn generate_self_signed(names: &[String]) -> Result<SelfSigned, TlsError> {
    generate_self_signed_at(names, Utc::now())
}

/// [`generate_self_signed`] valid from the start of `now`'s day (UTC) for five years.
pub(crate) fn generate_self_signed_at(
    names: &[String],
    now: DateTime<Utc>,
) -> Result<SelfSigned, TlsError> {
    let generate = |e: rcgen::Error| TlsError::Generate {
        reason: e.to_string(),
    };
    let mut sans: Vec<String> = Vec::with_capacity(names.len() + LOOPBACK_NAMES.len());
    for name in names
        .iter()
        .map(String::as_str)
        .chain(LOOPBACK_NAMES)
        .map(str::trim)
    {
        if name.is_empty() || sans.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            continue;
        }
        if name.parse::<std::net::IpAddr>().is_err() && !is_dns_name(name) {
            return Err(TlsError::BadName {
                name: name.to_owned(),
            });
        }
        sans.push(name.to_owned());
    }
    let common_name = sans.first().cloned().unwrap_or_else(|| "localhost".into());
    let mut params = CertificateParams::new(sans).map_err(generate)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "Airlock appliance");
    params.distinguished_name = dn;
    let until = now
        .checked_add_months(Months::new(VALIDITY_MONTHS))
        .ok_or_else(|| TlsError::Generate {
            reason: format!("{now} plus five years is out of range"),
        })?;
    params.not_before = rcgen::date_time_ymd(now.year(), month(now), day(now));
    params.not_after = rcgen::date_time_ymd(until.year(), month(until), day(until));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    Ok(SelfSigned {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A DNS name as a certificate may carry it: dot-separated labels of ASCII letters, digits
/// and inner hyphens, each at most 63 bytes, at most 253 in all; `*.` may lead.
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `t`'s month, 1–12 (chrono's are always in range).
fn month(t: DateTime<Utc>) -> u8 {
    u8::try_from(t.month()).unwrap_or(1)
}

/// `t`'s day of the month, 1–31.
fn day(t: DateTime<Utc>) -> u8 {
    u8::try_from(t.day()).unwrap_or(1)
}

/// The server configuration: TLS 1.3 only, aws-lc-rs, no client authentication, ALPN
/// `http/1.1`, with the certificate chain in `cert_pem` and the private key in `key_pem`.
pub(crate) fn server_config(cert_pem: &Path, key_pem: &Path) -> Result<ServerConfig, TlsError> {
    let pem_err = |path: &Path, reason: String| TlsError::Pem {
        path: path.to_owned(),
        reason,
    };
    let cert_bytes = read(cert_pem)?;
    let chain = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(cert_pem, e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_err(cert_pem, "no CERTIFICATE in the file".into()));
    }
    let key_bytes = read(key_pem)?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            pem_err(key_pem, "no PRIVATE KEY in the file".into())
        }
        other => pem_err(key_pem, other.to_string()),
    })?;
    let config_err = |e: rustls::Error| TlsError::Config {
        cert: cert_pem.to_owned(),
        key: key_pem.to_owned(),
        reason: e.to_string(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(config_err)?;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(config)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_self_signed_certificate_loads_as_a_tls13_config() {
        let made = generate_self_signed(&["airlock.site.example".into()]).unwrap();
        assert!(made.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(made.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let dir = tempfile::tempdir().unwrap();
        let cert = write(dir.path(), "cert.pem", &made.cert_pem);
        let key = write(dir.path(), "key.pem", &made.key_pem);
        let config = server_config(&cert, &key).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(!format!("{made:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn a_name_that_is_not_a_dns_name_is_refused() {
        for bad in [
            "not a name",
            "a..b",
            "-a.example",
            "a_b.example",
            "ex\u{e4}mple.org",
        ] {
            let err = generate_self_signed(&[bad.into()]).unwrap_err();
            assert!(
                matches!(&err, TlsError::BadName { name } if name == bad),
                "{err}"
            );
        }
        for good in [
            "airlock",
            "*.site.example",
            "10.0.0.5",
            "fd00::5",
            "a-1.example.",
        ] {
            generate_self_signed(&[good.into()]).unwrap();
        }
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let one = generate_self_signed(&[]).unwrap();
        let other = generate_self_signed(&[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = write(dir.path(), "cert.pem", &one.cert_pem);
        let key = write(dir.path(), "key.pem", &other.key_pem);
        let err = server_config(&cert, &key).unwrap_err();
        assert!(matches!(err, TlsError::Config { .. }), "{err}");
    }

    #[test]
    fn missing_and_empty_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let made = generate_self_signed(&[]).unwrap();
        let cert = write(dir.path(), "cert.pem", &made.cert_pem);
        let empty = write(dir.path(), "empty.pem", "");
        let missing = dir.path().join("missing.pem");

        let err = server_config(&missing, &empty).unwrap_err();
        assert!(
            matches!(&err, TlsError::Read { path, .. } if *path == missing),
            "{err}"
        );

        let err = server_config(&empty, &empty).unwrap_err();
        assert!(
            matches!(&err, TlsError::Pem { path, .. } if *path == empty),
            "{err}"
        );

        let err = server_config(&cert, &empty).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: no PRIVATE KEY in the file", empty.display())
        );
    }
}
