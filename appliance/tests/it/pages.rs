//! The pages over real HTTPS on loopback: every route's roles, CSRF on every state-changing
//! form, the sign-in form's refusals, the upload form, hostile strings from a real imported
//! archive rendered inert, and an admin disabling a signer through the form so that the next
//! import fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use airlock_appliance::admin;
use airlock_appliance::policy::{PolicyDocument, SignerSpec};
use airlock_appliance::report::Verdict;
use airlock_appliance::store;
use airlock_tests::{ArtifactPlan, ISSUER, Package, Signing, TUF_NAME, World};
use chrono::Utc;
use rustls::pki_types::CertificateDer;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use crate::common::{ADMIN, AUDITOR, Folder, OPERATOR, Reply, Server, options};
use crate::site::BASE_POLICY;

/// Markup, quotes and a right-to-left override, as an archive might carry them.
pub(crate) const HOSTILE: &str = "<script>alert(1)</script>\"'\u{202E}exe.pdf";
/// What the `<script>` part becomes on a page (Askama escapes with numeric references).
pub(crate) const ESCAPED_SCRIPT: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";
/// A certificate identity with markup and quotes (a URI SAN is ASCII: no override).
pub(crate) const HOSTILE_IDENTITY: &str =
    "https://git.example.internal/<script>alert(2)</script>/\"quoted\"/'x'@refs/heads/main";

/// A browser-like HTTPS client for the pages: no redirects followed, cookies given by hand.
#[derive(Debug, Clone)]
pub(crate) struct Web {
    agent: ureq::Agent,
    base: String,
}

/// A signed-in page session: the cookie's token and the CSRF token the pages carry.
#[derive(Debug, Clone)]
pub(crate) struct PageSession {
    /// The `airlock_session` cookie's value.
    pub(crate) token: String,
    /// The session's CSRF token (from a page's hidden field).
    pub(crate) csrf: String,
}

impl PageSession {
    pub(crate) fn cookie(&self) -> String {
        format!("airlock_session={}", self.token)
    }
}

impl Web {
    /// A client for `base` trusting `cert`.
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
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(120)))
            .tls_config(tls)
            .build()
            .new_agent();
        Self {
            agent,
            base: base.to_owned(),
        }
    }

    /// GET `path` with `cookie` (a whole `Cookie` header value, or none).
    pub(crate) fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            request = request.header("Cookie", c);
        }
        reply(request.call())
    }

    /// POST an urlencoded form.
    pub(crate) fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            request = request.header("Cookie", c);
        }
        reply(request.send(body.as_bytes()))
    }

    /// POST a multipart form with the given parts in order: (name, file name, bytes).
    pub(crate) fn post_multipart(
        &self,
        path: &str,
        cookie: Option<&str>,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Reply {
        let boundary = "----airlock-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, file, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(f) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                         Content-Type: application/zstd\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut request = self.agent.post(format!("{}{path}", self.base)).header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(c) = cookie {
            request = request.header("Cookie", c);
        }
        reply(request.send(&body[..]))
    }

    /// Uploads `archive` through the upload form; returns the reply (a 303 to the import).
    pub(crate) fn upload(&self, s: &PageSession, archive: &Path) -> Reply {
        let bytes = std::fs::read(archive).unwrap();
        let name = archive.file_name().unwrap().to_string_lossy().into_owned();
        self.post_multipart(
            "/upload",
            Some(&s.cookie()),
            &[
                ("csrf", None, s.csrf.as_bytes()),
                ("archive", Some(&name), &bytes),
            ],
        )
    }

    /// Signs in through the form as a browser does; returns the reply to the POST.
    pub(crate) fn sign_in_reply(&self, name: &str, password: &str) -> Reply {
        let form = self.get("/signin", None);
        assert_eq!(form.status, 200, "{}", form.text());
        let token = set_cookie(&form, "airlock_signin").expect("the sign-in form sets its cookie");
        let csrf = hidden(&form.text(), "csrf").expect("the sign-in form has a token");
        assert_eq!(token, csrf, "the form token is double-submitted");
        self.post_form(
            "/signin",
            Some(&format!("airlock_signin={token}")),
            &[("csrf", &csrf), ("name", name), ("password", password)],
        )
    }

    /// Signs in as `user` and reads the session's CSRF token from the dashboard.
    pub(crate) fn sign_in(&self, user: (&str, &str)) -> PageSession {
        let reply = self.sign_in_reply(user.0, user.1);
        assert_eq!(reply.status, 303, "sign in {}: {}", user.0, reply.text());
        assert_eq!(reply.header("location"), Some("/"));
        let token = set_cookie(&reply, "airlock_session").expect("a session cookie");
        let page = self.get("/", Some(&format!("airlock_session={token}")));
        assert_eq!(page.status, 200, "{}", page.text());
        let csrf = hidden(&page.text(), "csrf").expect("the page's sign-out form has the token");
        PageSession { token, csrf }
    }
}

/// A reply's body as text.
pub(crate) trait BodyText {
    /// The body, lossily decoded.
    fn text(&self) -> String;
}

impl BodyText for Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The value a `Set-Cookie` header gives cookie `name`.
pub(crate) fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    set_cookie_line(reply, name).and_then(|line| {
        line.split(';')
            .next()
            .and_then(|pair| pair.split_once('='))
            .map(|(_, v)| v.to_owned())
    })
}

/// The whole `Set-Cookie` header for cookie `name`.
pub(crate) fn set_cookie_line(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value of the first hidden input named `name` in `html`.
pub(crate) fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
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

/// The real server over a data folder that trusts a world: its TUF root pinned, its publisher
/// trusted, the base policy (the release identity) in force; admin, operator and auditor
/// accounts.
pub(crate) struct WebSite {
    pub(crate) server: Server,
    pub(crate) world: World,
    pub(crate) web: Web,
    dir: tempfile::TempDir,
    sequence: u64,
}

impl WebSite {
    pub(crate) fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let world = World::new(
            seed,
            &dir.path().join("world"),
            Utc::now() - chrono::Duration::hours(2),
        )
        .unwrap();
        let folder = Folder::with_roots(vec![(TUF_NAME.to_owned(), world.tuf_root().to_vec())]);
        let key = airlock_bundler::keys::load_public_key(&world.publisher().pub_path).unwrap();
        admin::add_publisher_key(&folder.app, "test", "release-team", &key).unwrap();
        let doc = PolicyDocument::from_toml(BASE_POLICY).unwrap();
        admin::import_policy(&folder.app, "test", &doc).unwrap();
        let server = Server::serve(folder, options());
        let web = Web::new(&server.url, server.folder.cert_der());
        Self {
            server,
            world,
            web,
            dir,
            sequence: 0,
        }
    }

    /// An archive of `plans` with the next sequence number, carrying proofs from the site's
    /// witnessed sizes (as the connected side builds it from the exported witness state).
    pub(crate) fn archive(&mut self, name: &str, plans: &[ArtifactPlan]) -> PathBuf {
        self.sequence += 1;
        let state = self
            .dir
            .path()
            .join(format!("witness-state-{}.json", self.sequence));
        std::fs::write(
            &state,
            airlock_appliance::witness_state::signed(self.server.app()).unwrap(),
        )
        .unwrap();
        self.world
            .archive(name, self.sequence, plans, Some(&state))
            .unwrap()
    }

    /// The artifacts of an import, as stored.
    pub(crate) fn artifacts(&self, import_id: i64) -> Vec<store::ArtifactRow> {
        store::artifacts::of_import(self.server.app().store().read(), import_id).unwrap()
    }

    /// The import id a `303 See Other` to `/imports/{id}` names.
    pub(crate) fn import_id(reply: &Reply) -> i64 {
        assert_eq!(reply.status, 303, "{}", reply.text());
        let to = reply.header("location").unwrap();
        to.strip_prefix("/imports/")
            .unwrap_or_else(|| panic!("not an import page: {to}"))
            .parse()
            .unwrap()
    }
}

/// Every GET page and the least role that may see it.
const PAGES: [(&str, Option<&str>); 13] = [
    ("/", None),
    ("/imports", None),
    ("/artifacts", None),
    ("/components", None),
    ("/trust", None),
    ("/witness", None),
    ("/audit", None),
    ("/upload", Some("operator")),
    ("/admin/signers", Some("admin")),
    ("/admin/policy", Some("admin")),
    ("/admin/publishers", Some("admin")),
    ("/admin/users", Some("admin")),
    ("/admin", Some("admin")),
];

/// A state-changing form: its path, its fields besides `csrf`, and the least role it needs.
type Form = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

/// Every state-changing form.
fn forms() -> Vec<Form> {
    vec![
        (
            "/admin/signers",
            vec![
                ("name", "new-signer"),
                ("kind", "keyless"),
                ("issuer", ISSUER),
                ("subject", "https://example.internal/x"),
            ],
            "admin",
        ),
        (
            "/admin/signers/enabled",
            vec![("name", "release-ci"), ("enabled", "false")],
            "admin",
        ),
        (
            "/admin/signers/expiry",
            vec![("name", "release-ci"), ("expires_at", "2020-01-01")],
            "admin",
        ),
        (
            "/admin/policy",
            vec![("toml", "enforcement = \"monitor\"\n")],
            "admin",
        ),
        (
            "/admin/publishers",
            vec![("publisher", "other"), ("public_key", "not a key")],
            "admin",
        ),
        (
            "/admin/publishers/enabled",
            vec![("key_id", "00"), ("enabled", "false")],
            "admin",
        ),
        (
            "/admin/publishers/threshold",
            vec![("threshold", "2")],
            "admin",
        ),
        (
            "/admin/users",
            vec![
                ("name", "mallory"),
                ("role", "admin"),
                ("password", "mallory-pw-0"),
            ],
            "admin",
        ),
        (
            "/admin/users/enabled",
            vec![("name", AUDITOR.0), ("enabled", "false")],
            "admin",
        ),
        (
            "/admin/users/role",
            vec![("name", AUDITOR.0), ("role", "admin")],
            "admin",
        ),
        ("/admin/users/password", vec![("name", AUDITOR.0)], "admin"),
        ("/admin/alarms/clear", vec![("id", "1")], "admin"),
        (
            "/admin/exceptions/request",
            vec![
                ("artifact", "1"),
                ("justification", "vendor fix pending"),
                ("expires", "2099-01-01"),
            ],
            "admin",
        ),
        ("/admin/exceptions/approve", vec![("id", "1")], "admin"),
        (
            "/admin/exceptions/revoke",
            vec![("id", "1"), ("reason", "fixed")],
            "admin",
        ),
        ("/signout", vec![], "auditor"),
    ]
}

fn rank(role: &str) -> u8 {
    match role {
        "auditor" => 0,
        "operator" => 1,
        _ => 2,
    }
}

#[test]
fn every_page_sends_strangers_to_sign_in_and_enforces_its_role() {
    let server = Server::start();
    let web = Web::new(&server.url, server.folder.cert_der());
    let extra = ["/imports/1", "/artifacts/1"];
    for path in PAGES.iter().map(|(p, _)| *p).chain(extra) {
        let reply = web.get(path, None);
        assert_eq!(reply.status, 303, "{path}");
        assert_eq!(reply.header("location"), Some("/signin"), "{path}");
        // A cookie that is no session is the same as none.
        let reply = web.get(path, Some("airlock_session=forged"));
        assert_eq!(reply.header("location"), Some("/signin"), "{path}");
    }
    for (user, role) in [
        (AUDITOR, "auditor"),
        (OPERATOR, "operator"),
        (ADMIN, "admin"),
    ] {
        let session = web.sign_in(user);
        for (path, least) in PAGES {
            let reply = web.get(path, Some(&session.cookie()));
            let allowed = least.is_none_or(|l| rank(role) >= rank(l));
            match (allowed, path) {
                (true, "/admin") => assert_eq!(reply.status, 303, "{role} {path}"),
                (true, _) => {
                    assert_eq!(reply.status, 200, "{role} {path}: {}", reply.text());
                    assert_eq!(
                        reply.header("content-type"),
                        Some("text/html; charset=utf-8")
                    );
                }
                (false, _) => {
                    assert_eq!(reply.status, 403, "{role} {path}");
                    assert!(
                        reply
                            .text()
                            .contains(&format!("this needs the {} role", least.unwrap()))
                    );
                }
            }
        }
        // Links are offered only to those they are for.
        let dashboard = web.get("/", Some(&session.cookie())).text();
        assert_eq!(
            dashboard.contains("href=\"/upload\""),
            rank(role) >= 1,
            "{role}"
        );
        assert_eq!(
            dashboard.contains("href=\"/admin/signers\""),
            rank(role) >= 2,
            "{role}"
        );
    }
    // Missing things are HTML 404 pages, not JSON.
    let admin = web.sign_in(ADMIN);
    for path in [
        "/imports/999",
        "/artifacts/999",
        "/imports/x",
        "/artifacts/-1",
    ] {
        let reply = web.get(path, Some(&admin.cookie()));
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.text().contains("<h1>404 Not Found</h1>"), "{path}");
    }
    let bad = web.get("/imports?verdict=%3Cscript%3E", Some(&admin.cookie()));
    assert_eq!(bad.status, 400);
    assert!(!bad.text().contains("<script>"));
}

#[test]
fn every_state_changing_form_needs_the_session_csrf_token_and_the_role() {
    let server = Server::start();
    let web = Web::new(&server.url, server.folder.cert_der());
    let app = server.app();
    admin::add_signer(
        app,
        "test",
        &SignerSpec {
            name: "release-ci".into(),
            issuer: Some(ISSUER.into()),
            subject: Some("https://example.internal/release".into()),
            subject_regex: None,
            public_key: None,
            enabled: true,
            expires_at: None,
        },
    )
    .unwrap();
    let audit_rows = || store::audit::count(app.store().read()).unwrap();

    let admin_session = web.sign_in(ADMIN);
    let other = web.sign_in(OPERATOR);
    let before = audit_rows();
    for (path, fields, _) in forms() {
        // No token, an empty one, another session's, and a near miss: all refused.
        let mut wrong = admin_session.csrf.clone();
        wrong.pop();
        wrong.push('x');
        for token in [
            None,
            Some(""),
            Some(other.csrf.as_str()),
            Some(wrong.as_str()),
        ] {
            let mut all = fields.clone();
            if let Some(t) = token {
                all.push(("csrf", t));
            }
            let reply = web.post_form(path, Some(&admin_session.cookie()), &all);
            assert_eq!(reply.status, 403, "{path} with {token:?}: {}", reply.text());
            assert!(reply.text().contains("CSRF token"), "{path}");
        }
        // Without a session at all: to the sign-in page.
        let mut all = fields.clone();
        all.push(("csrf", &admin_session.csrf));
        let reply = web.post_form(path, None, &all);
        assert_eq!(
            (reply.status, reply.header("location")),
            (303, Some("/signin")),
            "{path}"
        );
    }
    // The upload form too: no token, a wrong one, and the token after the file.
    for parts in [
        vec![("archive", Some("a.airlock.tar.zst"), &b"x"[..])],
        vec![
            ("csrf", None, b"wrong"),
            ("archive", Some("a.airlock.tar.zst"), b"x"),
        ],
        vec![
            ("archive", Some("a.airlock.tar.zst"), b"x"),
            ("csrf", None, other.csrf.as_bytes()),
        ],
    ] {
        let reply = web.post_multipart("/upload", Some(&other.cookie()), &parts);
        assert_eq!(reply.status, 403, "{}", reply.text());
    }
    assert!(server.folder.incoming().is_empty(), "nothing was written");
    // Nothing changed: no audit row, the signer still enabled, the session still alive.
    assert_eq!(audit_rows(), before);
    assert!(store::signers::list(app.store().read()).unwrap()[0].enabled);
    assert_eq!(web.get("/", Some(&admin_session.cookie())).status, 200);

    // With the right token but too small a role: 403, still nothing changed.
    let auditor = web.sign_in(AUDITOR);
    let before = audit_rows();
    for (session, role) in [(&auditor, "auditor"), (&other, "operator")] {
        for (path, fields, least) in forms() {
            if rank(role) >= rank(least) {
                continue;
            }
            let mut all = fields.clone();
            all.push(("csrf", &session.csrf));
            let reply = web.post_form(path, Some(&session.cookie()), &all);
            assert_eq!(reply.status, 403, "{role} {path}");
            assert!(reply.text().contains("this needs the admin role"), "{path}");
        }
    }
    let reply = web.post_multipart(
        "/upload",
        Some(&auditor.cookie()),
        &[
            ("csrf", None, auditor.csrf.as_bytes()),
            ("archive", Some("a"), b"x"),
        ],
    );
    assert_eq!(reply.status, 403);
    assert!(reply.text().contains("this needs the operator role"));
    assert_eq!(audit_rows(), before);

    // With the token and the role, each form does its work (or says why it cannot).
    for (path, fields, _) in forms() {
        if path == "/signout" {
            continue;
        }
        let mut all = fields.clone();
        all.push(("csrf", &admin_session.csrf));
        let reply = web.post_form(path, Some(&admin_session.cookie()), &all);
        let expected: &[u16] = match path {
            // A PEM that is no key, a key id and an alarm that do not exist.
            "/admin/publishers" => &[400],
            "/admin/publishers/enabled" | "/admin/alarms/clear" => &[404],
            // No artifact or exception 1 here (and an expiry beyond the policy's 90 days).
            "/admin/exceptions/request" => &[400, 404],
            "/admin/exceptions/approve" | "/admin/exceptions/revoke" => &[404],
            "/admin/users" | "/admin/users/password" => &[200],
            _ => &[303],
        };
        assert!(
            expected.contains(&reply.status),
            "{path}: {} {}",
            reply.status,
            reply.text()
        );
    }
    // The policy form replaced the signers with none; the new user exists; the auditor is
    // disabled and now an admin.
    assert!(store::signers::list(app.store().read()).unwrap().is_empty());
    let users = store::users::list(app.store().read()).unwrap();
    assert!(users.iter().any(|u| u.name == "mallory"));
    let aude = users.iter().find(|u| u.name == AUDITOR.0).unwrap();
    assert!(!aude.enabled);
    // Signing out needs the token too, then ends the session and clears the cookie.
    let reply = web.post_form("/signout", Some(&other.cookie()), &[("csrf", &other.csrf)]);
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/signin?notice=signed-out"));
    assert!(
        set_cookie_line(&reply, "airlock_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(web.get("/", Some(&other.cookie())).status, 303);
}

#[test]
fn the_sign_in_form_sets_a_strict_cookie_and_shows_each_refusal() {
    let server = Server::start();
    let web = Web::new(&server.url, server.folder.cert_der());

    let reply = web.sign_in_reply(OPERATOR.0, OPERATOR.1);
    assert_eq!(reply.status, 303);
    let cookie = set_cookie_line(&reply, "airlock_session").unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(
        set_cookie_line(&reply, "airlock_signin")
            .unwrap()
            .contains("Max-Age=0")
    );
    // Pages carry the security headers: CSP without inline script, no framing, HSTS.
    let token = set_cookie(&reply, "airlock_session").unwrap();
    let page = web.get("/", Some(&format!("airlock_session={token}")));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("script-src"));
    assert!(page.header("strict-transport-security").is_some());
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(!page.text().contains("<script"), "no script at all");
    assert!(!page.text().contains(" style="), "no inline style");
    // Signed in, the sign-in page sends you on.
    let again = web.get("/signin", Some(&format!("airlock_session={token}")));
    assert_eq!((again.status, again.header("location")), (303, Some("/")));

    // A form posted without its double-submitted token is refused before any password check.
    let reply = web.post_form(
        "/signin",
        None,
        &[
            ("csrf", "x"),
            ("name", OPERATOR.0),
            ("password", OPERATOR.1),
        ],
    );
    assert_eq!(reply.status, 403);
    assert!(reply.text().contains("The sign-in form expired"));

    // Wrong passwords: one answer for unknown names and wrong passwords, shown on the page.
    let reply = web.sign_in_reply("nobody", "x");
    assert_eq!(reply.status, 401);
    assert!(reply.text().contains("wrong user name or password"));
    assert!(
        reply.text().contains("value=\"nobody\""),
        "the name is kept"
    );
    for _ in 0..5 {
        assert_eq!(web.sign_in_reply(AUDITOR.0, "wrong").status, 401);
    }
    // Three more failures from this address, spaced so that none waited, the last half an
    // hour from now: the name must wait here until then, and even the right password is
    // refused without a check.
    let now = chrono::Utc::now();
    for minutes in [10, 20, 30] {
        let at = now + chrono::TimeDelta::minutes(minutes);
        let from = Some("127.0.0.1".parse().unwrap());
        let err = airlock_appliance::auth::sign_in_from(server.app(), from, AUDITOR.0, "wrong", at)
            .unwrap_err();
        assert!(
            matches!(err, airlock_appliance::auth::AuthError::BadCredentials),
            "{err:?}"
        );
    }
    let reply = web.sign_in_reply(AUDITOR.0, AUDITOR.1);
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert!(
        reply
            .text()
            .contains("too many failed sign-ins for this name")
    );
    let retry: i64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((30 * 60..=30 * 60 + 8).contains(&retry), "{retry}");
    // The address has used 8 of its 10 attempts a minute; the eleventh is rate limited.
    for _ in 0..2 {
        assert_ne!(web.sign_in_reply(ADMIN.0, "wrong").status, 429);
    }
    let reply = web.sign_in_reply(ADMIN.0, ADMIN.1);
    assert_eq!(reply.status, 429, "{}", reply.text());
    assert!(reply.text().contains("too many sign-in attempts"));
    assert!(reply.header("retry-after").is_some());
}

#[test]
fn an_idle_session_is_sent_to_sign_in_with_a_notice() {
    let server = Server::start();
    let web = Web::new(&server.url, server.folder.cert_der());
    let session = web.sign_in(AUDITOR);
    // Age the session past the idle timeout, as an idle hour would.
    let hash = airlock_appliance::auth::token_sha256(&session.token);
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);
    server
        .app()
        .store()
        .write(|tx| store::users::touch_session(tx, &hash, an_hour_ago))
        .unwrap();
    let reply = web.get("/imports", Some(&session.cookie()));
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/signin?notice=expired"));
    let page = web.get("/signin?notice=expired", None).text();
    assert!(page.contains("Your session expired"));
    // Unknown notices show nothing.
    assert!(
        !web.get("/signin?notice=%3Cscript%3E", None)
            .text()
            .contains("&#60;script")
    );
}

/// The hostile archive: names with markup, quotes and an override; an SBOM with hostile and
/// very long fields; one artifact signed by a hostile identity the policy trusts, one by an
/// identity it does not.
fn hostile_plans() -> Vec<ArtifactPlan> {
    let mut named = ArtifactPlan::complete(&format!("tool-{HOSTILE}"), b"hostile one\n");
    named.sbom = Some(vec![
        Package {
            name: HOSTILE.into(),
            version: "1.0\"><b>".into(),
        },
        Package {
            name: format!("{}{HOSTILE}", "L".repeat(10 * 1024)),
            version: "2".into(),
        },
        Package {
            name: "zlib".into(),
            version: "1.3.1".into(),
        },
    ]);
    let mut trusted_hostile = ArtifactPlan::signed("by-the-hostile-identity", b"hostile two\n");
    trusted_hostile.signing = Signing::As(HOSTILE_IDENTITY.into());
    let mut untrusted = ArtifactPlan::signed(&format!("untrusted-{HOSTILE}"), b"hostile three\n");
    untrusted.signing = Signing::As(format!("{HOSTILE_IDENTITY}/untrusted"));
    vec![named, trusted_hostile, untrusted]
}

/// The page has the hostile strings only escaped, and no raw override.
fn assert_inert(html: &str, what: &str) {
    assert!(!html.contains("<script"), "{what}: raw <script");
    assert!(!html.contains("<b>"), "{what}: raw markup");
    assert!(
        !html.contains('\u{202E}'),
        "{what}: raw right-to-left override"
    );
    assert!(
        html.contains(ESCAPED_SCRIPT),
        "{what}: the hostile text is not shown at all"
    );
}

#[test]
fn hostile_strings_from_an_imported_archive_render_inert_everywhere() {
    let mut site = WebSite::new(71);
    admin::add_signer(
        site.server.app(),
        "test",
        &SignerSpec {
            name: "<script>alert(3)</script>-signer".into(),
            issuer: Some(ISSUER.into()),
            subject: Some(HOSTILE_IDENTITY.into()),
            subject_regex: None,
            public_key: None,
            enabled: true,
            expires_at: None,
        },
    )
    .unwrap();
    let archive = site.archive("hostile", &hostile_plans());
    let operator = site.web.sign_in(OPERATOR);
    let import = WebSite::import_id(&site.web.upload(&operator, &archive));
    let artifacts = site.artifacts(import);
    let verdicts: Vec<&str> = artifacts.iter().map(|a| a.verdict.as_str()).collect();
    assert_eq!(verdicts, ["passed", "passed", "failed"]);

    let auditor = site.web.sign_in(AUDITOR);
    let cookie = Some(auditor.cookie());
    let list = site.web.get("/imports", cookie.as_deref());
    assert_eq!(list.status, 200);
    let detail = site
        .web
        .get(&format!("/imports/{import}"), cookie.as_deref());
    assert_eq!(detail.status, 200);
    let detail = detail.text();
    assert_inert(&detail, "import detail");
    assert!(
        detail.contains("tool-&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;[U+202E]exe.pdf")
    );
    // The untrusted identity is quoted in the failed artifact's reason, escaped.
    assert!(
        detail.contains("&#60;script&#62;alert(2)&#60;/script&#62;"),
        "{detail}"
    );
    for a in &artifacts {
        let report = site
            .web
            .get(&format!("/artifacts/{}", a.id), cookie.as_deref());
        assert_eq!(report.status, 200);
        let report = report.text();
        assert!(!report.contains("<script"), "report {}", a.name);
        assert!(!report.contains('\u{202E}'), "report {}", a.name);
    }
    // The report of the artifact with the hostile SBOM: the components, escaped; the long
    // one whole on the report (it wraps), the search echoing the query inert.
    let named = &artifacts[0];
    let report = site
        .web
        .get(&format!("/artifacts/{}", named.id), cookie.as_deref())
        .text();
    assert_inert(&report, "report");
    assert!(report.contains("1.0&#34;&#62;&#60;b&#62;"));
    assert!(
        report.contains(&"L".repeat(200)),
        "the first part of the long name is shown"
    );
    let q = "%3Cscript%3Ealert%281%29";
    let searched = site
        .web
        .get(&format!("/artifacts/{}?q={q}", named.id), cookie.as_deref())
        .text();
    assert_inert(&searched, "search");
    assert!(searched.contains("2 of 3 components"), "{searched}");
    assert!(
        !searched.contains(">zlib<"),
        "the search filters server-side"
    );
    // The hostile identity the policy trusts is shown as the signer, escaped, with the
    // trusted signer's hostile name.
    let trusted = &artifacts[1];
    let report = site
        .web
        .get(&format!("/artifacts/{}", trusted.id), cookie.as_deref())
        .text();
    assert!(!report.contains("<script"));
    assert!(report.contains(
        "https://git.example.internal/&#60;script&#62;alert(2)&#60;/script&#62;/&#34;quoted&#34;/&#39;x&#39;@refs/heads/main"
    ));
    assert!(report.contains("&#60;script&#62;alert(3)&#60;/script&#62;-signer"));

    let list = site.web.get("/imports", cookie.as_deref()).text();
    assert!(!list.contains("<script") && !list.contains('\u{202E}'));
    let everything = site.web.get("/artifacts", cookie.as_deref()).text();
    assert_inert(&everything, "artifacts list");
    assert!(everything.contains("by-the-hostile-identity"));
    let dashboard = site.web.get("/", cookie.as_deref()).text();
    assert!(!dashboard.contains("<script") && !dashboard.contains('\u{202E}'));
    let audit = site.web.get("/audit", cookie.as_deref()).text();
    assert_inert(&audit, "audit");
    assert!(audit.contains("Chain verified"));
}

#[test]
fn the_report_shows_every_check_and_its_vsa_downloads_with_the_cookie() {
    let mut site = WebSite::new(72);
    let archive = site.archive(
        "complete",
        &[ArtifactPlan::complete("service.tar", b"the service\n")],
    );
    let operator = site.web.sign_in(OPERATOR);
    let import = WebSite::import_id(&site.web.upload(&operator, &archive));
    let auditor = site.web.sign_in(AUDITOR);
    let cookie = Some(auditor.cookie());
    let detail = site
        .web
        .get(&format!("/imports/{import}"), cookie.as_deref())
        .text();
    for step in [
        "archive",
        "publisher",
        "trust",
        "witness",
        "evidence",
        "release",
    ] {
        assert!(
            detail.contains(&format!("<th scope=\"row\">{step}</th>")),
            "{step}"
        );
    }
    assert!(detail.contains("release-team") && detail.contains("complete.airlock.tar.zst"));
    // The manifest's summary, kept with the import.
    assert!(
        detail.contains("<dt>Artifacts</dt><dd>1</dd>")
            && detail.contains(&format!(
                "<dt>TUF repositories</dt><dd class=\"u\">{TUF_NAME}</dd>"
            ))
            && detail.contains(" at size "),
        "{detail}"
    );

    // Trust freshness: every accepted role's signed expiry, and on the dashboard the first one
    // to expire and its margin after the archive's time (the testkit's timestamp: 7 days).
    let trust = site.web.get("/trust", cookie.as_deref()).text();
    assert!(trust.contains("<th scope=\"col\">Expires</th>"), "{trust}");
    let expiries = store::trust::list(site.server.app().store().read()).unwrap()[0]
        .role_expiries
        .clone()
        .unwrap();
    let expiries: serde_json::Value = serde_json::from_str(&expiries).unwrap();
    let timestamp = chrono::DateTime::parse_from_rfc3339(expiries["timestamp"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let shown = timestamp.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    assert!(trust.contains(&format!("<time>{shown}</time>")), "{trust}");
    let dashboard = site.web.get("/", cookie.as_deref()).text();
    assert!(
        dashboard.contains(&format!("timestamp {shown}")),
        "{dashboard}"
    );
    assert!(dashboard.contains(" left</td>"), "{dashboard}");

    let artifact = &site.artifacts(import)[0];
    assert_eq!(artifact.verdict, Verdict::Passed);
    let report = site
        .web
        .get(&format!("/artifacts/{}", artifact.id), cookie.as_deref())
        .text();
    for fact in [
        airlock_tests::TRUSTED_IDENTITY,
        ISSUER,
        "Certificate serial",
        "Log index",
        "Inclusion proof",
        "SCTs verified from CT logs",
        "Verified times",
        airlock_tests::BUILDER_ID,
        "SLSA Build L",
        "zlib",
        "Policy rule",
        "Download the signed VSA",
    ] {
        assert!(report.contains(fact), "the report lacks {fact}");
    }
    let vsa = site.web.get(
        &format!("/api/v1/artifacts/{}/vsa", artifact.id),
        cookie.as_deref(),
    );
    assert_eq!(vsa.status, 200);
    assert!(
        vsa.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    let envelope: serde_json::Value = serde_json::from_slice(&vsa.body).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    // The stylesheet is served, as CSS, from the appliance itself.
    let css = site.web.get("/static/airlock.css", None);
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains("@media print"));
}

#[test]
fn an_admin_disables_a_signer_with_the_form_and_the_next_import_fails() {
    let mut site = WebSite::new(73);
    let operator = site.web.sign_in(OPERATOR);
    let first = site.archive("before", &[ArtifactPlan::signed("app.bin", b"v1\n")]);
    let import = WebSite::import_id(&site.web.upload(&operator, &first));
    assert_eq!(site.artifacts(import)[0].verdict, Verdict::Passed);

    let admin_session = site.web.sign_in(ADMIN);
    let page = site
        .web
        .get("/admin/signers", Some(&admin_session.cookie()))
        .text();
    assert!(page.contains("release-ci") && page.contains(">trusted<"));
    let reply = site.web.post_form(
        "/admin/signers/enabled",
        Some(&admin_session.cookie()),
        &[
            ("csrf", &admin_session.csrf),
            ("name", "release-ci"),
            ("enabled", "false"),
        ],
    );
    assert_eq!(
        (reply.status, reply.header("location")),
        (303, Some("/admin/signers"))
    );
    let page = site
        .web
        .get("/admin/signers", Some(&admin_session.cookie()))
        .text();
    assert!(page.contains(">disabled<"));
    let rows = store::audit::newest(site.server.app().store().read(), 0, 1).unwrap();
    assert_eq!(
        (rows[0].action.as_str(), rows[0].actor.as_str()),
        ("signer.disabled", ADMIN.0)
    );

    let second = site.archive("after", &[ArtifactPlan::signed("app.bin", b"v2\n")]);
    let import = WebSite::import_id(&site.web.upload(&operator, &second));
    let artifact = &site.artifacts(import)[0];
    assert_eq!(artifact.verdict, Verdict::Failed);
    let detail = site
        .web
        .get(&format!("/imports/{import}"), Some(&operator.cookie()))
        .text();
    assert!(
        detail.contains("not signed by a trusted signer"),
        "{detail}"
    );

    // A refused change shows the form again with why: an unknown signer.
    let reply = site.web.post_form(
        "/admin/signers/enabled",
        Some(&admin_session.cookie()),
        &[
            ("csrf", &admin_session.csrf),
            ("name", "nobody"),
            ("enabled", "true"),
        ],
    );
    assert_eq!(reply.status, 404);
    assert!(reply.text().contains("signer nobody not found"));
    assert!(
        reply.text().contains("Add a signer"),
        "the page, not a bare error"
    );
}

#[test]
fn the_upload_form_refuses_empty_and_oversized_archives_and_leaves_nothing() {
    let folder = Folder::new();
    let server = Server::serve(
        folder,
        airlock_appliance::http::ServeOptions {
            max_upload: 1024,
            ..options()
        },
    );
    let web = Web::new(&server.url, server.folder.cert_der());
    let operator = web.sign_in(OPERATOR);
    let empty = web.post_multipart(
        "/upload",
        Some(&operator.cookie()),
        &[
            ("csrf", None, operator.csrf.as_bytes()),
            ("archive", Some("e.airlock.tar.zst"), b""),
        ],
    );
    assert_eq!(empty.status, 400);
    assert!(empty.text().contains("the chosen file is empty"));
    assert!(empty.text().contains("<h1>Upload an archive</h1>"));
    let big = vec![7u8; 4096];
    let large = web.post_multipart(
        "/upload",
        Some(&operator.cookie()),
        &[
            ("csrf", None, operator.csrf.as_bytes()),
            ("archive", Some("big.airlock.tar.zst"), &big),
        ],
    );
    assert_eq!(large.status, 413);
    assert!(large.text().contains("1.0 KiB"));
    assert!(server.folder.incoming().is_empty());
    // Garbage that is not an archive becomes a rejected import, shown on its page with the
    // file name the browser gave, escaped.
    let reply = web.post_multipart(
        "/upload",
        Some(&operator.cookie()),
        &[
            ("csrf", None, operator.csrf.as_bytes()),
            (
                "archive",
                Some("<script>alert(1)</script>'x'.zst"),
                b"not zstd",
            ),
        ],
    );
    let id = WebSite::import_id(&reply);
    let page = web.get(&format!("/imports/{id}"), Some(&operator.cookie()));
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(page.contains("Rejected: "), "{page}");
    assert!(!page.contains("<script"));
    assert!(
        page.contains(&format!("{ESCAPED_SCRIPT}&#39;x&#39;.zst")),
        "{page}"
    );
    assert!(server.folder.incoming().is_empty());
}
