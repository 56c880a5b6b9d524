//! Helpers shared by the integration tests: an initialised data folder with one user per role,
//! the real server on `127.0.0.1:0` over real TLS, and an HTTPS client trusting its
//! self-signed certificate.

#![allow(dead_code)] // Each test module uses its own subset.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use airlock_appliance::appliance::Appliance;
use airlock_appliance::http::{self, ServeOptions, Signals};
use airlock_appliance::init::{InitOptions, init};
use airlock_appliance::lock::Wait;
use airlock_appliance::store::Role;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use serde_json::Value;
use tempfile::TempDir;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// The admin `init` creates.
/// How long a test's in-process writes wait for the writer lock. Not zero: a child process that
/// another test thread is starting holds copies of this process's descriptors, the lock's among
/// them, until it execs, so a lock just released can look held for a moment.
pub(crate) const TEST_WAIT: Wait = Wait::Up(std::time::Duration::from_secs(10));

pub(crate) const ADMIN: (&str, &str) = ("admin", "admin-password-0");
/// An operator.
pub(crate) const OPERATOR: (&str, &str) = ("olga", "operator-password-0");
/// An auditor.
pub(crate) const AUDITOR: (&str, &str) = ("aude", "auditor-password-0");

/// An initialised data folder in a temporary directory, opened.
#[derive(Debug)]
pub(crate) struct Folder {
    /// The opened appliance.
    pub(crate) app: Arc<Appliance>,
    /// The data folder's path.
    pub(crate) path: PathBuf,
    // Dropped last: removes everything.
    _dir: TempDir,
}

impl Folder {
    /// A folder with no pinned TUF roots and the three users above.
    pub(crate) fn new() -> Self {
        Self::with_roots(Vec::new())
    }

    /// A folder with these pinned TUF roots (repository name, root.json) and the three users.
    pub(crate) fn with_roots(tuf_roots: Vec<(String, Vec<u8>)>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("data");
        init(&InitOptions {
            data: path.clone(),
            tuf_roots,
            admin: ADMIN.0.into(),
            admin_password: Some(ADMIN.1.into()),
            tls: None,
            hostnames: Vec::new(),
            site: None,
            now: chrono::Utc::now(),
        })
        .expect("init");
        let app = Arc::new(Appliance::open(&path).expect("open the new data folder"));
        for (user, role) in [(OPERATOR, Role::Operator), (AUDITOR, Role::Auditor)] {
            airlock_appliance::admin::add_user(&app, "test", user.0, role, Some(user.1))
                .expect("add a user");
        }
        Self {
            app,
            path,
            _dir: dir,
        }
    }

    /// The server certificate `init` made (DER).
    pub(crate) fn cert_der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(self.app.data().tls_cert()).expect("the TLS certificate")
    }

    /// The files in `incoming/` (uploads in progress; empty between requests).
    pub(crate) fn incoming(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.app.data().incoming()) {
            Ok(entries) => entries
                .map(|e| e.expect("a directory entry").path())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("reading incoming/: {e}"),
        }
    }
}

/// The real server, running on its own thread and actix system; stopped when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    /// Its folder.
    pub(crate) folder: Folder,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// `https://127.0.0.1:PORT`.
    pub(crate) url: String,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves a new [`Folder`] with the default options (one worker, signals ignored).
    pub(crate) fn start() -> Self {
        Self::serve(Folder::new(), options())
    }

    /// Serves `folder` with `options`.
    pub(crate) fn serve(folder: Folder, options: ServeOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the bound address");
        let app = folder.app.clone();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("airlock-test-server".into())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match http::run(app, listener, &options) {
                        Ok(server) => {
                            let _ = tx.send(Ok(server.handle()));
                            let _ = server.await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                    }
                });
            })
            .expect("a server thread");
        let handle = rx
            .recv()
            .expect("the server thread reports")
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        Self {
            folder,
            addr,
            url: format!("https://{addr}"),
            handle,
            thread: Some(thread),
        }
    }

    /// A client trusting this server's certificate.
    pub(crate) fn client(&self) -> Client {
        Client::new(&self.url, self.folder.cert_der())
    }

    /// The opened appliance behind the server.
    pub(crate) fn app(&self) -> &Appliance {
        &self.folder.app
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only awaits completion.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Test server options: one worker, signals left alone, [`http::MAX_UPLOAD`].
/// `airlock-appliance ARGS --data DIR`, run to completion; what it printed is echoed into the
/// test's output.
pub(crate) fn appliance(data: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock-appliance"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    eprintln!(
        "$ airlock-appliance {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub(crate) fn options() -> ServeOptions {
    ServeOptions {
        workers: Some(1),
        signals: Signals::Ignore,
        ..ServeOptions::default()
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// Not at all.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// The session cookie, and the CSRF header if given.
    Cookie {
        /// The session token.
        token: &'a str,
        /// The `X-CSRF-Token` header's value.
        csrf: Option<&'a str>,
    },
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status code.
    pub(crate) status: u16,
    /// The headers.
    pub(crate) headers: ureq::http::HeaderMap,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `error` line of a JSON error body.
    pub(crate) fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error line in {}", self.json()))
            .to_owned()
    }

    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An HTTPS client for one server: rustls with aws-lc-rs trusting exactly its certificate,
/// statuses returned rather than raised.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
}

impl Client {
    /// A client for `base` trusting `cert` (as the bundler's `HttpClient` configures ureq).
    pub(crate) fn new(base: &str, cert: CertificateDer<'static>) -> Self {
        let roots = vec![Certificate::from_der(cert.as_ref()).to_owned()];
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
            .timeout_global(Some(Duration::from_secs(60)))
            .tls_config(tls)
            .build()
            .new_agent();
        Self {
            agent,
            base: base.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path`.
    pub(crate) fn get(&self, path: &str, auth: Auth<'_>) -> Reply {
        reply(with_auth(self.agent.get(self.url(path)), auth).call())
    }

    /// DELETE `path`.
    pub(crate) fn delete(&self, path: &str, auth: Auth<'_>) -> Reply {
        reply(with_auth(self.agent.delete(self.url(path)), auth).call())
    }

    /// `method` on `path` with these headers and no body (for HEAD, Range, other schemes).
    pub(crate) fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(()).expect("a well-formed request");
        reply(self.agent.run(request))
    }

    /// POST `body` to `path` with extra `headers`.
    pub(crate) fn post(
        &self,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut request = with_auth(self.agent.post(self.url(path)), auth);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send(body))
    }

    /// POST a body of unknown length (sent chunked) to `path`.
    pub(crate) fn post_chunked(&self, path: &str, auth: Auth<'_>, body: Vec<u8>) -> Reply {
        let request = with_auth(self.agent.post(self.url(path)), auth);
        reply(
            request.send(ureq::SendBody::from_owned_reader(std::io::Cursor::new(
                body,
            ))),
        )
    }

    /// `POST /api/v1/session`.
    pub(crate) fn sign_in(&self, name: &str, password: &str) -> Reply {
        let body = serde_json::json!({"name": name, "password": password}).to_string();
        self.post(
            "/api/v1/session",
            Auth::None,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// Signs in and returns the session (`token`, `csrf_token`), asserting success.
    pub(crate) fn session(&self, user: (&str, &str)) -> (String, String) {
        let reply = self.sign_in(user.0, user.1);
        assert_eq!(reply.status, 200, "sign in {}: {:?}", user.0, reply.json());
        let json = reply.json();
        let field = |name: &str| {
            json[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {json}"))
                .to_owned()
        };
        (field("token"), field("csrf_token"))
    }
}

fn with_auth<B>(request: ureq::RequestBuilder<B>, auth: Auth<'_>) -> ureq::RequestBuilder<B> {
    match auth {
        Auth::None => request,
        Auth::Bearer(token) => request.header("Authorization", format!("Bearer {token}")),
        Auth::Cookie { token, csrf } => {
            let request = request.header("Cookie", format!("airlock_session={token}"));
            match csrf {
                Some(csrf) => request.header("X-CSRF-Token", csrf),
                None => request,
            }
        }
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.unwrap_or_else(|e| panic!("the request failed: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_else(|e| panic!("reading the body: {e}"));
    Reply {
        status,
        headers,
        body,
    }
}
