//! Kit-minted TLS material for the loopback servers: a CA and a server certificate for
//! 127.0.0.1 / localhost, and the rustls (aws-lc-rs) server configuration built from them.

use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::Arc;

use const_oid::db::rfc5280::ID_KP_SERVER_AUTH;
use const_oid::db::rfc5912::{
    ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME,
};
use der::asn1::{Ia5String, OctetString};
use p256::pkcs8::EncodePrivateKey;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;

use crate::error::{KitError, Result, der_err};
use crate::keys::Seed;
use crate::x509::{CertParts, cert_der, cert_pem, ext, sign_tbs};

/// A CA and a loopback server certificate minted from a seed.
#[derive(Clone, Debug)]
pub struct TlsMaterial {
    ca_der: Vec<u8>,
    server_der: Vec<u8>,
    server_key_pkcs8: Vec<u8>,
}

impl TlsMaterial {
    /// Mints the CA and server certificate, valid over `[not_before, not_after]` (unix seconds).
    ///
    /// rustls checks validity against the clock of whoever connects, so tests that fetch over
    /// HTTPS should pass a window around the real time.
    pub fn new(seed: impl Into<Seed>, not_before: i64, not_after: i64) -> Result<Self> {
        let seed = seed.into();
        let ca_key = seed.p256("tls-ca");
        let server_key = seed.p256("tls-server");
        let ca_name =
            Name::from_str("CN=airlock-test-tls-ca,O=airlock-test").map_err(der_err("name"))?;
        let ca = CertParts::self_signed_ca(ca_name.clone(), &ca_key, not_before, not_after, 0)?;
        let ca_der = cert_der(&sign_tbs(ca.tbs()?, &ca_key)?)?;
        let ip =
            OctetString::new(Ipv4Addr::LOCALHOST.octets().to_vec()).map_err(der_err("IP SAN"))?;
        let server = CertParts {
            serial: 2,
            issuer: ca_name,
            subject: Name::from_str("CN=localhost").map_err(der_err("name"))?,
            not_before,
            not_after,
            spki: server_key.spki()?,
            extensions: vec![
                ext(
                    ID_CE_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::DigitalSignature.into()),
                )?,
                ext(
                    ID_CE_EXT_KEY_USAGE,
                    false,
                    &ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH]),
                )?,
                ext(
                    ID_CE_BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints {
                        ca: false,
                        path_len_constraint: None,
                    },
                )?,
                ext(
                    ID_CE_SUBJECT_ALT_NAME,
                    false,
                    &SubjectAltName(vec![
                        GeneralName::DnsName(
                            Ia5String::new("localhost").map_err(der_err("DNS SAN"))?,
                        ),
                        GeneralName::IpAddress(ip),
                    ]),
                )?,
            ],
        };
        let server_der = cert_der(&sign_tbs(server.tbs()?, &ca_key)?)?;
        let server_key_pkcs8 = server_key
            .signing_key()
            .to_pkcs8_der()
            .map_err(|e| KitError::Invalid {
                what: "TLS key",
                detail: e.to_string(),
            })?
            .as_bytes()
            .to_vec();
        Ok(TlsMaterial {
            ca_der,
            server_der,
            server_key_pkcs8,
        })
    }

    /// The CA certificate (PEM) a client should trust.
    pub fn ca_pem(&self) -> String {
        cert_pem(&self.ca_der)
    }

    /// The CA certificate (DER).
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The server certificate then the CA (PEM), as servers outside the kit (the test
    /// registry) read their chain.
    pub fn server_chain_pem(&self) -> String {
        cert_pem(&self.server_der) + &cert_pem(&self.ca_der)
    }

    /// The server's private key (PKCS#8 PEM).
    pub fn server_key_pem(&self) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.server_key_pkcs8);
        let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END PRIVATE KEY-----\n");
        out
    }

    /// A TLS 1.3-only rustls server configuration using the aws-lc-rs provider.
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(KitError::Tls)?
            .with_no_client_auth()
            .with_single_cert(
                vec![
                    CertificateDer::from(self.server_der.clone()),
                    CertificateDer::from(self.ca_der.clone()),
                ],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_pkcs8.clone())),
            )
            .map_err(KitError::Tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn material_is_deterministic_and_configures_rustls() {
        let a = TlsMaterial::new(1, 1_700_000_000, 1_900_000_000).unwrap();
        let b = TlsMaterial::new(1, 1_700_000_000, 1_900_000_000).unwrap();
        assert_eq!(a.ca_pem(), b.ca_pem());
        assert!(a.server_config().is_ok());
    }
}
