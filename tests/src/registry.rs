//! An OCI registry for tests: Debian's `docker-registry` (distribution) run on 127.0.0.1 with
//! the kit's TLS certificate and htpasswd (basic) or token (bearer) authentication, its
//! requests counted from its access log; a token service signing the registry's JWTs; the
//! raw pushes tests need besides `skopeo copy` (blobs, manifests, OCI 1.1 referrers attached
//! through the referrers tag schema); and a scripted HTTPS server for what a real registry
//! will not serve (oversized manifests, redirects to http).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use p256::ecdsa::signature::Signer as _;
use sha2::{Digest as _, Sha256};

use crate::error::{KitError, Result};
use crate::keys::{EcKey, Seed};
use crate::server::{Running, spawn};
use crate::tls::TlsMaterial;
use crate::x509::{CertParts, cert_der, cert_pem, sign_tbs};

/// The service name the registry expects in tokens' audience.
const SERVICE: &str = "airlock-test-registry";
/// The issuer the registry expects of tokens.
const ISSUER: &str = "airlock-testkit-token-service";
/// The empty JSON object OCI artifacts use as their config.
const EMPTY_CONFIG: &[u8] = b"{}";
/// Its media type.
const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// OCI image manifest and index media types.
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// How the registry authenticates clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    /// Not at all: anyone may pull and push.
    Anonymous,
    /// htpasswd: `WWW-Authenticate: Basic`.
    Basic {
        /// The one user.
        user: String,
        /// Its password.
        password: String,
    },
    /// A token service: `WWW-Authenticate: Bearer realm=…,service=…,scope=…`. The service
    /// grants what is asked to this user, and nothing to anyone else.
    Token {
        /// The one user.
        user: String,
        /// Its password.
        password: String,
    },
}

impl RegistryAuth {
    fn user_password(&self) -> Option<(&str, &str)> {
        match self {
            Self::Anonymous => None,
            Self::Basic { user, password } | Self::Token { user, password } => {
                Some((user, password))
            }
        }
    }
}

/// Where the tools are and how to run the registry.
#[derive(Debug, Clone)]
pub struct RegistryOptions<'a> {
    /// `/usr/bin/docker-registry`.
    pub binary: &'a Path,
    /// `/usr/bin/htpasswd` (apache2-utils), for basic authentication.
    pub htpasswd: &'a Path,
    /// A folder of its own (created): configuration, storage and log.
    pub dir: &'a Path,
    /// Its TLS certificate.
    pub tls: &'a TlsMaterial,
    /// How it authenticates.
    pub auth: RegistryAuth,
    /// The time tokens are issued at (Unix seconds; valid an hour either side).
    pub now: i64,
}

/// A running registry; stopped (its process killed) when dropped.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    host: String,
    dir: PathBuf,
    auth: RegistryAuth,
    agent: ureq::Agent,
    tokens: Option<TokenService>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Starts the registry and waits until it answers.
    pub fn start(options: &RegistryOptions<'_>) -> Result<Self> {
        let dir = options.dir;
        std::fs::create_dir_all(dir.join("certs")).map_err(io(dir))?;
        write(
            &dir.join("server.pem"),
            options.tls.server_chain_pem().as_bytes(),
        )?;
        write(
            &dir.join("server.key"),
            options.tls.server_key_pem().as_bytes(),
        )?;
        // skopeo reads a folder of `*.crt` CA files.
        write(&dir.join("certs/ca.crt"), options.tls.ca_pem().as_bytes())?;
        write(&dir.join("ca.pem"), options.tls.ca_pem().as_bytes())?;
        let port = free_port()?;
        let host = format!("127.0.0.1:{port}");
        let (user, password) = options.auth.user_password().unwrap_or_default();
        let (auth, tokens) = match &options.auth {
            RegistryAuth::Anonymous => (String::new(), None),
            RegistryAuth::Basic { .. } => {
                let out = Command::new(options.htpasswd)
                    .args(["-Bbn", user, password])
                    .output()
                    .map_err(io(options.htpasswd))?;
                if !out.status.success() {
                    return Err(invalid("htpasswd", String::from_utf8_lossy(&out.stderr)));
                }
                write(&dir.join("htpasswd"), &out.stdout)?;
                (
                    format!(
                        "auth:\n  htpasswd:\n    realm: airlock-test\n    path: {}\n",
                        dir.join("htpasswd").display()
                    ),
                    None,
                )
            }
            RegistryAuth::Token { .. } => {
                let tokens = TokenService::start(options.tls, user, password, options.now)?;
                write(&dir.join("token-signer.pem"), tokens.signer_pem.as_bytes())?;
                (
                    format!(
                        "auth:\n  token:\n    realm: {}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
                        tokens.running.url,
                        dir.join("token-signer.pem").display()
                    ),
                    Some(tokens),
                )
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  tls:\n    certificate: {cert}\n    key: {key}\n{auth}",
            data = dir.join("data").display(),
            cert = dir.join("server.pem").display(),
            key = dir.join("server.key").display(),
        );
        write(&dir.join("config.yml"), config.as_bytes())?;
        let log = std::fs::File::create(dir.join("registry.log")).map_err(io(dir))?;
        let log2 = log.try_clone().map_err(io(dir))?;
        let child = Command::new(options.binary)
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(io(options.binary))?;
        let registry = Self {
            child,
            host,
            dir: dir.to_owned(),
            auth: options.auth.clone(),
            agent: agent(options.tls)?,
            tokens,
        };
        registry.wait_until_up(port)?;
        Ok(registry)
    }

    fn wait_until_up(&self, port: u16) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
                return Err(invalid(
                    "registry start",
                    format!("not listening after 20 s: {log}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// `127.0.0.1:PORT`, as image references name it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The CA certificate (PEM) file clients must trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A container auth file (`{"auths":{HOST:{"auth":…}}}`) with `user` and `password`.
    pub fn write_auth_file(&self, path: &Path, user: &str, password: &str) -> Result<()> {
        let auth = B64.encode(format!("{user}:{password}"));
        let json = serde_json::json!({"auths": {self.host.clone(): {"auth": auth}}});
        write(path, json.to_string().as_bytes())
    }

    /// Pushes an OCI layout's image with `skopeo copy --preserve-digests` to `reference`
    /// (`repository:tag`).
    pub fn push_layout(&self, skopeo: &Path, layout: &Path, reference: &str) -> Result<()> {
        let mut copy = Command::new(skopeo);
        copy.args(["--insecure-policy", "copy", "--quiet", "--preserve-digests"])
            .arg("--dest-cert-dir")
            .arg(self.dir.join("certs"));
        match self.auth.user_password() {
            Some((user, password)) => copy.arg("--dest-creds").arg(format!("{user}:{password}")),
            None => copy.arg("--dest-no-creds"),
        };
        let out = copy
            .arg(format!("oci:{}", layout.display()))
            .arg(format!("docker://{}/{reference}", self.host))
            .output()
            .map_err(io(skopeo))?;
        if !out.status.success() {
            return Err(invalid("skopeo copy", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }

    /// Uploads a blob; returns its `sha256:` digest.
    pub fn put_blob(&self, repository: &str, bytes: &[u8]) -> Result<String> {
        let digest = sha256(bytes);
        let auth = self.authorization(repository)?;
        let start = format!("https://{}/v2/{repository}/blobs/uploads/", self.host);
        let mut post = self.agent.post(&start);
        if let Some(a) = &auth {
            post = post.header("Authorization", a);
        }
        let response = post.send_empty().map_err(http(&start))?;
        expect_status(&start, response.status().as_u16(), 202)?;
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| invalid("blob upload", "no Location"))?
            .to_owned();
        let location = if location.starts_with("https://") {
            location
        } else {
            format!("https://{}{location}", self.host)
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{separator}digest={digest}");
        let mut put = self
            .agent
            .put(&put_url)
            .header("Content-Type", "application/octet-stream");
        if let Some(a) = &auth {
            put = put.header("Authorization", a);
        }
        let response = put.send(bytes).map_err(http(&put_url))?;
        expect_status(&put_url, response.status().as_u16(), 201)?;
        Ok(digest)
    }

    /// Puts a manifest or index under `reference` (a tag or its digest); returns its digest.
    pub fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String> {
        let url = format!(
            "https://{}/v2/{repository}/manifests/{reference}",
            self.host
        );
        let mut put = self.agent.put(&url).header("Content-Type", media_type);
        if let Some(a) = self.authorization(repository)? {
            put = put.header("Authorization", a);
        }
        let response = put.send(bytes).map_err(http(&url))?;
        expect_status(&url, response.status().as_u16(), 201)?;
        Ok(sha256(bytes))
    }

    /// The manifest at `reference`, if there is one.
    pub fn get_manifest(&self, repository: &str, reference: &str) -> Result<Option<Vec<u8>>> {
        let url = format!(
            "https://{}/v2/{repository}/manifests/{reference}",
            self.host
        );
        let mut get = self
            .agent
            .get(&url)
            .header("Accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"));
        if let Some(a) = self.authorization(repository)? {
            get = get.header("Authorization", a);
        }
        let response = get.call().map_err(http(&url))?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        expect_status(&url, response.status().as_u16(), 200)?;
        let mut bytes = Vec::new();
        response
            .into_body()
            .into_reader()
            .read_to_end(&mut bytes)
            .map_err(io(Path::new(&url)))?;
        Ok(Some(bytes))
    }

    /// Points `tag` at the manifest `digest` (moving it if it named another).
    pub fn tag(&self, repository: &str, tag: &str, digest: &str) -> Result<()> {
        let bytes = self
            .get_manifest(repository, digest)?
            .ok_or_else(|| invalid("tag", format!("no manifest {digest}")))?;
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
            .unwrap_or_else(|| OCI_MANIFEST.to_owned());
        self.put_manifest(repository, tag, &media_type, &bytes)?;
        Ok(())
    }

    /// Attaches `content` to the image `subject` (`sha256:…` of `subject_size` bytes, an
    /// image manifest) as an OCI 1.1 referrer of `artifact_type`: an artifact manifest
    /// (empty config, one layer of that type, `subject`) pushed by digest, and listed in the
    /// referrers tag schema's index (`sha256-<hex>`), as clients do for registries without
    /// the referrers API. Returns the referrer manifest's digest.
    pub fn attach(
        &self,
        repository: &str,
        subject: &str,
        subject_size: usize,
        artifact_type: &str,
        content: &[u8],
    ) -> Result<String> {
        let config = self.put_blob(repository, EMPTY_CONFIG)?;
        let layer = self.put_blob(repository, content)?;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": config, "size": EMPTY_CONFIG.len()},
            "layers": [{"mediaType": artifact_type, "digest": layer, "size": content.len()}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size},
        })
        .to_string()
        .into_bytes();
        let digest = sha256(&manifest);
        self.put_manifest(repository, &digest, OCI_MANIFEST, &manifest)?;
        self.list_referrer(repository, subject, &digest, manifest.len(), artifact_type)?;
        Ok(digest)
    }

    /// Pushes cosign's legacy `.sig` or `.att` manifest for `subject` (`sha256:…`): its
    /// layers with their annotations, under the tag `sha256-<hex>.<suffix>`. Returns the
    /// manifest's digest.
    pub fn put_cosign_tag(
        &self,
        repository: &str,
        subject: &str,
        suffix: &str,
        layers: &[crate::cosign::CosignLayer],
    ) -> Result<String> {
        let config = self.put_blob(repository, EMPTY_CONFIG)?;
        let mut descriptors = Vec::new();
        for layer in layers {
            let digest = self.put_blob(repository, &layer.content)?;
            descriptors.push(serde_json::json!({
                "mediaType": layer.media_type,
                "digest": digest,
                "size": layer.content.len(),
                "annotations": layer.annotations,
            }));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": config, "size": EMPTY_CONFIG.len()},
            "layers": descriptors,
        })
        .to_string()
        .into_bytes();
        let tag = format!("{}.{suffix}", subject.replace(':', "-"));
        self.put_manifest(repository, &tag, OCI_MANIFEST, &manifest)
    }

    /// Adds a descriptor to `subject`'s referrers tag index (creating it).
    pub fn list_referrer(
        &self,
        repository: &str,
        subject: &str,
        referrer: &str,
        size: usize,
        artifact_type: &str,
    ) -> Result<()> {
        let tag = subject.replace(':', "-");
        let mut index = match self.get_manifest(repository, &tag)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| invalid("referrers index", e.to_string()))?,
            None => {
                serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
            }
        };
        if let Some(list) = index["manifests"].as_array_mut() {
            list.push(serde_json::json!({
                "mediaType": OCI_MANIFEST, "digest": referrer, "size": size, "artifactType": artifact_type,
            }));
        }
        self.put_manifest(repository, &tag, OCI_INDEX, index.to_string().as_bytes())?;
        Ok(())
    }

    /// Stops the registry (its port then refuses connections): a registry that is down.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The folder its filesystem storage keeps repositories and blobs in.
    fn storage(&self) -> PathBuf {
        self.dir.join("data/docker/registry/v2")
    }

    /// Copies `repository` (its tags, manifests and layer links) from `source`'s storage into
    /// this registry's as `as_repository`, with every blob `source` holds: a mirror holding
    /// what the source holds, written straight into its storage folder.
    pub fn mirror_repository(
        &self,
        source: &Registry,
        repository: &str,
        as_repository: &str,
    ) -> Result<()> {
        copy_tree(
            &source.storage().join("blobs"),
            &self.storage().join("blobs"),
        )?;
        copy_tree(
            &source.storage().join("repositories").join(repository),
            &self.storage().join("repositories").join(as_repository),
        )
    }

    /// Overwrites the stored blob `digest` (`sha256:…`) with as many other bytes (each one
    /// inverted): the registry serves them under the digest, as a corrupt or malicious mirror
    /// would. Returns the digest of what it now serves.
    pub fn corrupt_blob(&self, digest: &str) -> Result<String> {
        let path = self.blob_path(digest);
        let bytes: Vec<u8> = std::fs::read(&path)
            .map_err(io(&path))?
            .iter()
            .map(|b| !b)
            .collect();
        write(&path, &bytes)?;
        Ok(sha256(&bytes))
    }

    /// Deletes the stored blob `digest` (`sha256:…`): the registry answers 404 for it.
    pub fn remove_blob(&self, digest: &str) -> Result<()> {
        let path = self.blob_path(digest);
        std::fs::remove_file(&path).map_err(io(&path))
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage()
            .join("blobs/sha256")
            .join(hex.get(..2).unwrap_or_default())
            .join(hex)
            .join("data")
    }

    /// Requests for blobs of `repository` the registry has logged (GET and HEAD).
    pub fn blob_requests(&self, repository: &str) -> usize {
        let log = std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
        let get = format!("\"GET /v2/{repository}/blobs/");
        let head = format!("\"HEAD /v2/{repository}/blobs/");
        log.lines()
            .filter(|l| l.contains(&get) || l.contains(&head))
            .count()
    }

    /// Requests for manifests of `repository` by `reference` (a tag or digest) the registry
    /// has logged (GET and HEAD).
    pub fn manifest_requests(&self, repository: &str, reference: &str) -> usize {
        let log = std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default();
        let path = format!("/v2/{repository}/manifests/{reference} ");
        log.lines()
            .filter(|l| {
                l.contains(&format!("\"GET {path}")) || l.contains(&format!("\"HEAD {path}"))
            })
            .count()
    }

    /// The `Authorization` header for pushing to `repository`.
    fn authorization(&self, repository: &str) -> Result<Option<String>> {
        let Some((user, password)) = self.auth.user_password() else {
            return Ok(None);
        };
        match &self.tokens {
            None => Ok(Some(format!(
                "Basic {}",
                B64.encode(format!("{user}:{password}"))
            ))),
            Some(tokens) => Ok(Some(format!(
                "Bearer {}",
                tokens.token(user, &format!("repository:{repository}:pull,push"))?
            ))),
        }
    }
}

/// The token service: `GET /token?service=…&scope=…` with basic credentials answers
/// `{"token": JWT}` granting the scope's actions to its one user; anyone else gets a token
/// granting nothing; a wrong password gets 401.
#[derive(Debug)]
struct TokenService {
    running: Running,
    state: Arc<TokenState>,
    signer_pem: String,
}

#[derive(Debug)]
struct TokenState {
    user: String,
    password: String,
    key: EcKey,
    cert_der: Vec<u8>,
    now: i64,
    issued: Mutex<u64>,
}

impl TokenService {
    fn start(tls: &TlsMaterial, user: &str, password: &str, now: i64) -> Result<Self> {
        let key = Seed::from(0x70_6b_65_6e_u64).p256("registry-token-signer");
        let name = std::str::FromStr::from_str("CN=airlock-test-token-signer")
            .map_err(crate::error::der_err("name"))?;
        let parts = CertParts::self_signed_ca(name, &key, now - 86_400, now + 86_400, 0)?;
        let cert_der = cert_der(&sign_tbs(parts.tbs()?, &key)?)?;
        let signer_pem = cert_pem(&cert_der);
        let state = Arc::new(TokenState {
            user: user.to_owned(),
            password: password.to_owned(),
            key,
            cert_der,
            now,
            issued: Mutex::new(0),
        });
        let data = web::Data::from(state.clone());
        let running = spawn(
            move || {
                App::new()
                    .app_data(data.clone())
                    .route("/token", web::get().to(token))
            },
            Some(tls),
        )?;
        Ok(Self {
            running,
            state,
            signer_pem,
        })
    }

    /// A token for `user` with `scope`, as the service would issue it.
    fn token(&self, user: &str, scope: &str) -> Result<String> {
        self.state.jwt(user, &[scope.to_owned()])
    }
}

impl TokenState {
    fn jwt(&self, user: &str, scopes: &[String]) -> Result<String> {
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter(|_| user == self.user)
            .filter_map(|scope| {
                let mut parts = scope.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                Some(serde_json::json!({
                    "type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>(),
                }))
            })
            .collect();
        let serial = {
            let mut issued = self
                .issued
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *issued += 1;
            *issued
        };
        let header =
            serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [B64.encode(&self.cert_der)]});
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": user, "aud": SERVICE,
            "exp": self.now + 3600, "nbf": self.now - 3600, "iat": self.now,
            "jti": format!("token-{serial}"), "access": access,
        });
        let input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let signature: p256::ecdsa::Signature = self.key.signing_key().sign(input.as_bytes());
        Ok(format!("{input}.{}", B64URL.encode(signature.to_bytes())))
    }
}

async fn token(request: HttpRequest, state: web::Data<TokenState>) -> HttpResponse {
    let user = match request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| B64.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
    {
        Some(pair) => match pair.split_once(':') {
            Some((u, p)) if u == state.user && p == state.password => u.to_owned(),
            _ => return HttpResponse::Unauthorized().body("bad credentials"),
        },
        None => "anonymous".to_owned(),
    };
    let scopes: Vec<String> = url_pairs(request.query_string())
        .into_iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v)
        .collect();
    match state.jwt(&user, &scopes) {
        Ok(t) => HttpResponse::Ok().json(serde_json::json!({"token": t})),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// `a=b&c=d` with percent-decoding.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| s.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One canned answer of a [`ScriptedServer`].
#[derive(Debug, Clone)]
pub struct Scripted {
    /// The status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTPS server answering `METHOD /path` with canned responses (404 for anything else),
/// recording each request line: a registry misbehaving in ways a real one will not.
#[derive(Debug)]
pub struct ScriptedServer {
    running: Running,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ScriptedServer {
    /// Serves `routes` (keyed `"GET /v2/…"`) over HTTPS with `tls`'s certificate.
    pub fn start_https(tls: &TlsMaterial, routes: BTreeMap<String, Scripted>) -> Result<Self> {
        let routes = Arc::new(routes);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (routes.clone(), seen.clone());
        let running = spawn(
            move || {
                let (routes, seen) = (r.clone(), s.clone());
                App::new().default_service(web::to(move |request: HttpRequest| {
                    let (routes, seen) = (routes.clone(), seen.clone());
                    async move {
                        let line = format!("{} {}", request.method(), request.path());
                        seen.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(line.clone());
                        match routes.get(&line) {
                            Some(answer) => {
                                let status = actix_web::http::StatusCode::from_u16(answer.status)
                                    .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
                                let mut response = HttpResponse::build(status);
                                for (k, v) in &answer.headers {
                                    response.insert_header((k.as_str(), v.as_str()));
                                }
                                response.body(answer.body.clone())
                            }
                            None => HttpResponse::NotFound().finish(),
                        }
                    }
                }))
            },
            Some(tls),
        )?;
        Ok(Self { running, seen })
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        self.running.url.trim_start_matches("https://")
    }

    /// The request lines received so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn agent(tls: &TlsMaterial) -> Result<ureq::Agent> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let roots = vec![Certificate::from_der(tls.ca_der()).to_owned()];
    let config = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build();
    Ok(ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(config)
        .build()
        .new_agent())
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io(Path::new("127.0.0.1:0")))?;
    let port = listener
        .local_addr()
        .map_err(io(Path::new("127.0.0.1:0")))?
        .port();
    Ok(port)
}

fn expect_status(url: &str, status: u16, expected: u16) -> Result<()> {
    if status == expected {
        Ok(())
    } else {
        Err(invalid(
            "registry request",
            format!("{url}: HTTP {status}, expected {expected}"),
        ))
    }
}

/// Copies the folder `from` into `to` (created), merging with what is there.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(io(from))?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(io(&target))?;
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(io(path))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KitError + '_ {
    move |source| KitError::Io {
        what: path.display().to_string(),
        source,
    }
}

fn http(url: &str) -> impl FnOnce(ureq::Error) -> KitError + '_ {
    move |e| invalid("registry request", format!("{url}: {e}"))
}

fn invalid(what: &'static str, detail: impl ToString) -> KitError {
    KitError::Invalid {
        what,
        detail: detail.to_string(),
    }
}
