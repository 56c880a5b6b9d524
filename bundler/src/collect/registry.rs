//! `Registry`: one repository of an OCI distribution registry over HTTPS (the bundler's
//! `HttpClient`: rustls, https only, redirects only to https). Manifests are read whole up to
//! 4 MiB and checked against the digest asked for; blobs stream into a `BlobStore`, hashed
//! as they arrive. 401 answers are met with the credentials (basic) or a token from the
//! challenge's realm (bearer), once; a second refusal is `AuthRefused`.

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use ureq::http::{HeaderMap, Response};
use url::Url;

use super::auth::{Challenge, Credentials, TokenResponse, parse_challenge};
use super::error::Problem;
use super::image::Served;
use super::store::{BlobStore, Written};
use crate::archive::Sha256Digest;
use crate::fetch::{FetchError, HttpClient, classify, require_https};

/// The largest manifest, index or referrers list read (the size distribution refuses to
/// store beyond, and the site's limit for `index.json` and manifests).
pub(crate) const MAX_MANIFEST: u64 = crate::oci::MAX_DOCUMENT;
/// The largest token response read.
const MAX_TOKEN_RESPONSE: u64 = 1 << 20;
/// The longest a blob download may go without receiving a byte.
const BLOB_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Read size while streaming a blob.
const CHUNK: usize = 1 << 20;

/// Every manifest type pulled: OCI and Docker v2, single images and indexes.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.docker.distribution.manifest.v2+json";
const INDEX_ACCEPT: &str = "application/vnd.oci.image.index.v1+json";

/// How requests are authorised once a challenge has been met.
#[derive(Debug, Clone)]
enum Authorization {
    None,
    Basic,
    Bearer(String),
}

/// A manifest as the registry served it.
#[derive(Debug, Clone)]
pub(crate) struct FetchedManifest {
    pub(crate) bytes: Vec<u8>,
    pub(crate) digest: Sha256Digest,
    /// The `Content-Type` it was served with (used when the body names no media type).
    pub(crate) content_type: Option<String>,
}

/// One repository of a registry.
#[derive(Debug)]
pub(crate) struct Registry {
    registry: String,
    repository: String,
    base: Url,
    agent: ureq::Agent,
    /// Token requests go through an agent of their own: a TLS session ticket from the
    /// registry is then never offered to a token service on the same host (rustls clients
    /// and servers disagree over such a resumption after a HelloRetryRequest).
    token_agent: ureq::Agent,
    credentials: Option<Credentials>,
    authorization: Mutex<Authorization>,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Head,
}

impl Registry {
    /// `registry` is the name credentials and messages use; `api_host` where the API answers.
    pub(crate) fn new(
        registry: &str,
        api_host: &str,
        repository: &str,
        client: &HttpClient,
        token_client: &HttpClient,
        credentials: Option<Credentials>,
    ) -> Result<Self, Problem> {
        let base = Url::parse(&format!("https://{api_host}/v2/"))
            .map_err(|e| Problem::Config(format!("registry {registry}: not a usable host: {e}")))?;
        Ok(Self {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            base,
            agent: client.agent().clone(),
            token_agent: token_client.agent().clone(),
            credentials,
            authorization: Mutex::new(Authorization::None),
        })
    }

    /// The registry's name as written.
    pub(crate) fn name(&self) -> &str {
        &self.registry
    }

    /// The repository.
    pub(crate) fn repository(&self) -> &str {
        &self.repository
    }

    fn url(&self, path: &str) -> Result<Url, Problem> {
        self.base
            .join(&format!("{}/{path}", self.repository))
            .map_err(|e| Problem::Config(format!("registry {}: {e}", self.registry)))
    }

    fn not_found(&self, what: String) -> Problem {
        Problem::NotFound {
            what,
            registry: self.registry.clone(),
            repository: self.repository.clone(),
        }
    }

    /// The digest `tag` names now (HEAD; a registry that sends no `Docker-Content-Digest`
    /// gets a GET, whose bytes are returned so they are not fetched twice). `None` on 404.
    pub(crate) fn resolve_tag(
        &self,
        tag: &str,
    ) -> Result<Option<(Sha256Digest, Option<FetchedManifest>)>, Problem> {
        let url = self.url(&format!("manifests/{tag}"))?;
        let response = self.send(Method::Head, &url, Some(MANIFEST_ACCEPT), false)?;
        match response.status().as_u16() {
            404 => return Ok(None),
            200..=299 => {}
            status => return Err(status_error(&url, status)),
        }
        if let Some(digest) = header(response.headers(), "docker-content-digest") {
            let digest = digest
                .parse::<Sha256Digest>()
                .map_err(|_| Problem::Malformed {
                    what: format!("tag {tag}"),
                    reason: format!("the registry names it by {digest:?}, not a sha256 digest"),
                })?;
            return Ok(Some((digest, None)));
        }
        let Some(fetched) = self.manifest_at(tag, None)? else {
            return Ok(None);
        };
        Ok(Some((fetched.digest, Some(fetched))))
    }

    /// The manifest at `digest`, checked to hash to it.
    pub(crate) fn manifest(&self, digest: &Sha256Digest) -> Result<FetchedManifest, Problem> {
        self.manifest_at(&digest.to_string(), Some(digest))?
            .ok_or_else(|| self.not_found(format!("manifest {digest}")))
    }

    /// The manifest at a tag or digest; `None` on 404.
    pub(crate) fn manifest_at(
        &self,
        reference: &str,
        expected: Option<&Sha256Digest>,
    ) -> Result<Option<FetchedManifest>, Problem> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let what = format!("manifest {reference}");
        let Some((bytes, content_type)) = self.get_document(&url, MANIFEST_ACCEPT, &what)? else {
            return Ok(None);
        };
        let digest = Sha256Digest::of(&bytes);
        if let Some(expected) = expected
            && digest != *expected
        {
            return Err(Problem::DigestMismatch {
                what,
                expected: *expected,
                actual: digest,
            });
        }
        Ok(Some(FetchedManifest {
            bytes,
            digest,
            content_type,
        }))
    }

    /// The OCI 1.1 referrers API's index for `digest`; `None` when the API answers 404 (the
    /// registry does not have it: fall back to the tag schema).
    pub(crate) fn referrers(&self, digest: &Sha256Digest) -> Result<Option<Vec<u8>>, Problem> {
        let url = self.url(&format!("referrers/{digest}"))?;
        let what = format!("referrers of {digest}");
        Ok(self
            .get_document(&url, INDEX_ACCEPT, &what)?
            .map(|(b, _)| b))
    }

    /// GETs a JSON document of at most [`MAX_MANIFEST`] bytes; `None` on 404.
    fn get_document(&self, url: &Url, accept: &str, what: &str) -> Result<Option<Served>, Problem> {
        let response = self.send(Method::Get, url, Some(accept), false)?;
        match response.status().as_u16() {
            404 => return Ok(None),
            200..=299 => {}
            status => return Err(status_error(url, status)),
        }
        let too_large = || Problem::ManifestTooLarge {
            what: what.to_owned(),
            limit: MAX_MANIFEST,
        };
        let declared = header(response.headers(), "content-length").and_then(|v| v.parse().ok());
        if declared.is_some_and(|n: u64| n > MAX_MANIFEST) {
            return Err(too_large());
        }
        let content_type = header(response.headers(), "content-type").map(str::to_owned);
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_MANIFEST + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| transport(url, e))?;
        if bytes.len() as u64 > MAX_MANIFEST {
            return Err(too_large());
        }
        Ok(Some((bytes, content_type)))
    }

    /// Streams the blob `digest` of `size` bytes into `store`, checking both; `advance`
    /// hears each chunk's length.
    pub(crate) fn blob_to_store(
        &self,
        digest: &Sha256Digest,
        size: u64,
        store: &BlobStore,
        advance: &dyn Fn(u64),
    ) -> Result<Written, Problem> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let response = self.send(Method::Get, &url, None, true)?;
        match response.status().as_u16() {
            404 => return Err(self.not_found(format!("blob {digest}"))),
            200..=299 => {}
            status => return Err(status_error(&url, status)),
        }
        let mut partial = store.partial()?;
        let mut reader = response.into_body().into_reader().take(size + 1);
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = reader.read(&mut buffer).map_err(|e| transport(&url, e))?;
            if n == 0 {
                break;
            }
            partial.write(&buffer[..n])?;
            advance(n as u64);
            if partial.size() > size {
                break;
            }
        }
        partial.finish(store, digest, size, "blob")
    }

    /// Reads a small blob (a bundle) of at most `limit` bytes into memory, checked.
    pub(crate) fn small_blob(&self, digest: &Sha256Digest, limit: u64) -> Result<Vec<u8>, Problem> {
        let url = self.url(&format!("blobs/{digest}"))?;
        let what = format!("blob {digest}");
        let response = self.send(Method::Get, &url, None, false)?;
        match response.status().as_u16() {
            404 => return Err(self.not_found(what)),
            200..=299 => {}
            status => return Err(status_error(&url, status)),
        }
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| transport(&url, e))?;
        if bytes.len() as u64 > limit {
            return Err(Problem::ManifestTooLarge { what, limit });
        }
        let actual = Sha256Digest::of(&bytes);
        if actual != *digest {
            return Err(Problem::DigestMismatch {
                what,
                expected: *digest,
                actual,
            });
        }
        Ok(bytes)
    }

    /// Sends a request, meeting one 401 challenge (and one more after a token expired).
    fn send(
        &self,
        method: Method,
        url: &Url,
        accept: Option<&str>,
        long: bool,
    ) -> Result<Response<ureq::Body>, Problem> {
        let mut answered = 0;
        loop {
            let current = self.current_authorization();
            let response = self.call(method, url, accept, long, &current)?;
            match response.status().as_u16() {
                401 if answered < 2 => {
                    let challenge = header(response.headers(), "www-authenticate")
                        .and_then(parse_challenge)
                        .ok_or_else(|| {
                            self.refused("HTTP 401 without a Basic or Bearer challenge".to_owned())
                        })?;
                    let fresh = self.meet(challenge, &current)?;
                    *lock(&self.authorization) = fresh;
                    answered += 1;
                }
                401 => {
                    return Err(self.refused(format!(
                        "HTTP 401 for {}{}",
                        url.path(),
                        self.as_whom()
                    )));
                }
                403 => {
                    return Err(self.refused(format!(
                        "HTTP 403 (denied) for {}{}",
                        url.path(),
                        self.as_whom()
                    )));
                }
                _ => return Ok(response),
            }
        }
    }

    fn current_authorization(&self) -> Authorization {
        lock(&self.authorization).clone()
    }

    fn as_whom(&self) -> String {
        match &self.credentials {
            Some(c) => format!(" as {}", c.user),
            None => " without credentials".to_owned(),
        }
    }

    fn refused(&self, reason: String) -> Problem {
        Problem::AuthRefused {
            registry: self.registry.clone(),
            reason,
        }
    }

    /// The authorisation a challenge asks for. Basic needs credentials; bearer gets a token
    /// (with the credentials when there are any, else anonymously).
    fn meet(&self, challenge: Challenge, used: &Authorization) -> Result<Authorization, Problem> {
        match challenge {
            Challenge::Basic => match (&self.credentials, used) {
                (None, _) => Err(self.refused(
                    "it asks for a user name and password, and the auth file has none for it"
                        .to_owned(),
                )),
                (Some(c), Authorization::Basic) => Err(self.refused(format!(
                    "the password for {} was not accepted (HTTP 401)",
                    c.user
                ))),
                (Some(_), _) => Ok(Authorization::Basic),
            },
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.repository));
                Ok(Authorization::Bearer(self.token(
                    &realm,
                    service.as_deref(),
                    &scope,
                )?))
            }
        }
    }

    /// A token from the realm (which must be https).
    fn token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<String, Problem> {
        let mut url = Url::parse(realm)
            .map_err(|e| self.refused(format!("its token realm {realm:?} is not a URL: {e}")))?;
        require_https(&url)?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", scope);
        }
        let mut request = self.token_agent.get(url.as_str());
        if let Some(c) = &self.credentials {
            request = request.header("Authorization", c.basic_header());
        }
        let response = request.call().map_err(|e| self.ureq_error(&url, e))?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(self.refused(format!(
                "its token service {} answered HTTP {status}{}",
                strip_query(&url),
                self.as_whom()
            )));
        }
        if !(200..300).contains(&status) {
            return Err(status_error(&url, status));
        }
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(MAX_TOKEN_RESPONSE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| transport(&url, e))?;
        serde_json::from_slice::<TokenResponse>(&bytes)
            .ok()
            .and_then(TokenResponse::into_token)
            .ok_or_else(|| Problem::Malformed {
                what: format!("token from {}", strip_query(&url)),
                reason: "no token in the response".to_owned(),
            })
    }

    fn call(
        &self,
        method: Method,
        url: &Url,
        accept: Option<&str>,
        long: bool,
        authorization: &Authorization,
    ) -> Result<Response<ureq::Body>, Problem> {
        let mut request = match method {
            Method::Get => self.agent.get(url.as_str()),
            Method::Head => self.agent.head(url.as_str()),
        };
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        match (authorization, &self.credentials) {
            (Authorization::Basic, Some(c)) => {
                request = request.header("Authorization", c.basic_header());
            }
            (Authorization::Bearer(token), _) => {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            _ => {}
        }
        let result = if long {
            // A layer may take longer than the client's whole-call limit; it must only
            // keep arriving.
            request
                .config()
                .timeout_global(None)
                .timeout_per_read(Some(BLOB_READ_TIMEOUT))
                .build()
                .call()
        } else {
            request.call()
        };
        result.map_err(|e| self.ureq_error(url, e))
    }

    fn ureq_error(&self, url: &Url, error: ureq::Error) -> Problem {
        match error {
            ureq::Error::RequireHttpsOnly(to) => Problem::InsecureRedirect {
                url: url.to_string(),
                to,
            },
            other => Problem::Fetch(classify(url, other)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn status_error(url: &Url, status: u16) -> Problem {
    Problem::Fetch(FetchError::Status {
        url: url.to_string(),
        status,
    })
}

fn transport(url: &Url, e: std::io::Error) -> Problem {
    Problem::Fetch(FetchError::Transport {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// A token URL without its query (which names the scope, not a secret, but is noise).
fn strip_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}
