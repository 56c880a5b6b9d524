//! `HttpClient`: HTTPS-only GETs over rustls with the aws-lc-rs provider, explicit root
//! certificates, timeouts and a size limit on every response.

use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
use url::Url;

use super::error::FetchError;

/// Time allowed to open a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for a whole call, from resolving the name to the last body byte.
const CALL_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Redirects followed (each must stay on https://).
const MAX_REDIRECTS: u32 = 5;
/// An HTTPS client: rustls with aws-lc-rs, TLS 1.2/1.3, roots from the system's trust store
/// plus optional extra CA certificates, a 30 s connect and 5 min per-call timeout, at most 5
/// redirects (all https://), and a size limit on every response.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
}

impl HttpClient {
    /// A client trusting the system's trust store (through `rustls-native-certs`: the file
    /// and folders `SSL_CERT_FILE` and `SSL_CERT_DIR` name if either is set, else the
    /// platform's store — on Linux and the BSDs the CA bundle and folder `openssl-probe`
    /// finds) and, if given, the certificates in `extra_ca_pem` (e.g. a TLS-inspecting
    /// proxy's CA, or a test CA).
    ///
    /// Errors if `extra_ca_pem` holds no certificate or one rustls cannot use as a root, or
    /// if there are no roots at all (no system bundle and no extra CA).
    pub fn new(extra_ca_pem: Option<&[u8]>) -> Result<Self, FetchError> {
        let mut roots = system_roots();
        if let Some(pem) = extra_ca_pem {
            roots.extend(extra_roots(pem)?);
        }
        if roots.is_empty() {
            return Err(FetchError::RootCertificates {
                reason: "no system root certificates found (set SSL_CERT_FILE or SSL_CERT_DIR) and no extra CA given"
                    .to_owned(),
            });
        }
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .root_certs(RootCerts::Specific(Arc::new(roots)))
            .build();
        let agent = ureq::Agent::config_builder()
            .https_only(true)
            .http_status_as_error(false)
            .max_redirects(MAX_REDIRECTS)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(CALL_TIMEOUT))
            .user_agent(concat!("airlock-bundler/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .new_agent();
        Ok(Self { agent })
    }

    /// GETs `url`, reading at most `limit` bytes of body. `Ok(None)` on 404 (absence is an
    /// answer, e.g. there is no next root version); any other status outside 2xx is
    /// [`FetchError::Status`]; a longer body is [`FetchError::TooLarge`].
    pub fn get_bytes(&self, url: &Url, limit: u64) -> Result<Option<Vec<u8>>, FetchError> {
        require_https(url)?;
        let mut response = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| classify(url, e))?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
            });
        }
        // ureq's limit refuses a body of exactly `limit` bytes (it reads once more to see
        // the end), so it gets one byte more: bodies of at most `limit` bytes are read.
        response
            .body_mut()
            .with_config()
            .limit(limit.saturating_add(1))
            .read_to_vec()
            .map(Some)
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge {
                    url: url.to_string(),
                    limit,
                },
                other => classify(url, other),
            })
    }

    /// The agent, for requests that need their own headers (registries: `Accept`,
    /// `Authorization`) or stream their body; its https-only rule and roots still apply.
    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// GETs `url` like [`HttpClient::get_bytes`], but a 404 is [`FetchError::NotFound`].
    pub(crate) fn get_existing(&self, url: &Url, limit: u64) -> Result<Vec<u8>, FetchError> {
        self.get_bytes(url, limit)?
            .ok_or_else(|| FetchError::NotFound {
                url: url.to_string(),
            })
    }
}

/// Rejects every scheme but `https`.
pub(crate) fn require_https(url: &Url) -> Result<(), FetchError> {
    if url.scheme() == "https" {
        Ok(())
    } else {
        Err(FetchError::InsecureUrl {
            url: url.to_string(),
        })
    }
}

/// `base` joined with the relative `path`, treating `base` as a folder even without a
/// trailing slash (`https://h/a` + `b` is `https://h/a/b`).
pub(crate) fn join(base: &Url, path: &str) -> Result<Url, FetchError> {
    let bad = |reason: String| FetchError::BadUrl {
        url: base.to_string(),
        path: path.to_owned(),
        reason,
    };
    if base.cannot_be_a_base() {
        return Err(bad("the URL cannot hold a path".to_owned()));
    }
    let mut folder = base.clone();
    folder.set_query(None);
    folder.set_fragment(None);
    if !folder.path().ends_with('/') {
        let with_slash = format!("{}/", folder.path());
        folder.set_path(&with_slash);
    }
    folder.join(path).map_err(|e| bad(e.to_string()))
}

/// Maps a ureq failure to what failed: TLS, the https-only rule, the size limit, or transport.
pub(crate) fn classify(url: &Url, error: ureq::Error) -> FetchError {
    let tls = |reason: String| FetchError::Tls {
        url: url.to_string(),
        reason,
    };
    match error {
        ureq::Error::RequireHttpsOnly(to) => FetchError::InsecureUrl { url: to },
        ureq::Error::Rustls(e) => tls(e.to_string()),
        ureq::Error::Tls(e) => tls(e.to_owned()),
        ureq::Error::Io(e) => match rustls_error(&e) {
            Some(r) => tls(r.to_string()),
            None => FetchError::Transport {
                url: url.to_string(),
                reason: e.to_string(),
            },
        },
        ureq::Error::BodyExceedsLimit(limit) => FetchError::TooLarge {
            url: url.to_string(),
            limit,
        },
        other => FetchError::Transport {
            url: url.to_string(),
            reason: other.to_string(),
        },
    }
}

/// The rustls error inside an I/O error (how a failed handshake surfaces).
fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// Certificates from the system's trust store; empty if there is none. What
/// `rustls-native-certs` cannot read (a missing folder, a PEM block that does not parse) is
/// skipped, as the platform's own tools do; ureq skips certificates rustls cannot use.
fn system_roots() -> Vec<Certificate<'static>> {
    rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

/// Every certificate in `pem`, each checked to be usable as a rustls root.
fn extra_roots(pem: &[u8]) -> Result<Vec<Certificate<'static>>, FetchError> {
    let bad = |reason: String| FetchError::RootCertificates {
        reason: format!("extra CA PEM: {reason}"),
    };
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item.map_err(|e| bad(e.to_string()))? {
            PemItem::Certificate(cert) => {
                rustls::RootCertStore::empty()
                    .add(rustls::pki_types::CertificateDer::from(cert.der()))
                    .map_err(|e| bad(format!("certificate {}: {e}", out.len() + 1)))?;
                out.push(cert);
            }
            _ => return Err(bad("holds something other than certificates".to_owned())),
        }
    }
    if out.is_empty() {
        return Err(bad("no certificate found".to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_treats_the_base_as_a_folder() {
        let base = Url::parse("https://h.example/a").unwrap();
        assert_eq!(
            join(&base, "b.json").unwrap().as_str(),
            "https://h.example/a/b.json"
        );
        let base = Url::parse("https://h.example/a/?x=1").unwrap();
        assert_eq!(join(&base, "b").unwrap().as_str(), "https://h.example/a/b");
        let base = Url::parse("https://h.example").unwrap();
        assert_eq!(
            join(&base, "checkpoint").unwrap().as_str(),
            "https://h.example/checkpoint"
        );
    }

    #[test]
    fn plain_http_is_rejected_before_any_connection() {
        let client = HttpClient::new(Some(test_ca().as_bytes()));
        let url = Url::parse("http://127.0.0.1:9/x").unwrap();
        assert!(matches!(
            client.unwrap().get_bytes(&url, 10),
            Err(FetchError::InsecureUrl { .. })
        ));
    }

    #[test]
    fn extra_ca_must_hold_a_usable_certificate() {
        assert!(matches!(
            extra_roots(b"not pem"),
            Err(FetchError::RootCertificates { .. })
        ));
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            extra_roots(garbage),
            Err(FetchError::RootCertificates { .. })
        ));
        assert_eq!(extra_roots(test_ca().as_bytes()).unwrap().len(), 1);
        assert!(matches!(
            extra_roots(b""),
            Err(FetchError::RootCertificates { .. })
        ));
    }

    fn test_ca() -> String {
        airlock_tests::TlsMaterial::new(1, 1_700_000_000, 1_900_000_000)
            .unwrap()
            .ca_pem()
    }
}
