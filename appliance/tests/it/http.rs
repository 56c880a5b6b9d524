//! The HTTPS server end to end: the real server on 127.0.0.1 over real TLS, a real client.
//! TLS 1.3 only, security headers, sign-in throttling and rate limit, roles, CSRF for
//! cookie sessions, idle expiry, sign-out, the audit trail of sign-ins, upload limits.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use airlock_appliance::http::ServeOptions;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use serde_json::Value;

use airlock_appliance::auth::AuthError;

use crate::common::{ADMIN, AUDITOR, Auth, Folder, OPERATOR, Reply, Server, options};

/// A raw rustls client limited to `versions`, trusting the server's certificate, and its
/// handshake's outcome.
fn handshake(
    server: &Server,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<ClientConnection, std::io::Error> {
    let mut roots = RootCertStore::empty();
    roots.add(server.folder.cert_der()).unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    // Prove the connection carries HTTP.
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response);
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    Ok(conn)
}

#[test]
fn tls_1_2_is_refused_and_tls_1_3_speaks_http_1_1() {
    let server = Server::start();

    let err = handshake(&server, &[&rustls::version::TLS12]).unwrap_err();
    let rustls_err = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a TLS error: {err}"));
    assert_eq!(
        *rustls_err,
        rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
        "{err}"
    );

    let conn = handshake(&server, &[&rustls::version::TLS13, &rustls::version::TLS12]).unwrap();
    assert_eq!(
        conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(conn.alpn_protocol(), Some(&b"http/1.1"[..]));
}

const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("strict-transport-security", "max-age=31536000"),
    ("x-frame-options", "DENY"),
];

#[test]
fn healthz_answers_without_a_session_and_every_response_has_the_security_headers() {
    let server = Server::start();
    let client = server.client();

    let health = client.get("/healthz", Auth::None);
    assert_eq!(health.status, 200);
    assert_eq!(
        health.json(),
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );

    let unauthorised = client.get("/api/v1/imports", Auth::None);
    assert_eq!(unauthorised.status, 401);
    assert_eq!(unauthorised.error(), "not signed in");
    let missing = client.get("/api/v1/no/such/page", Auth::None);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error(), "no such page: /api/v1/no/such/page");

    for reply in [&health, &unauthorised, &missing] {
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                reply.header(name),
                Some(value),
                "{name} on {}",
                reply.status
            );
        }
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
}

#[test]
fn sign_in_gives_a_token_a_strict_cookie_and_the_role_and_bad_credentials_are_one_answer() {
    let server = Server::start();
    let client = server.client();

    let ok = client.sign_in(OPERATOR.0, OPERATOR.1);
    assert_eq!(ok.status, 200);
    let json = ok.json();
    assert_eq!(json["role"], "operator");
    let token = json["token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "32 bytes, base64url without padding");
    assert_ne!(json["csrf_token"].as_str().unwrap(), token);
    assert_eq!(
        ok.header("set-cookie"),
        Some(
            format!("airlock_session={token}; HttpOnly; SameSite=Strict; Secure; Path=/").as_str()
        )
    );
    let me = client.get("/api/v1/session", Auth::Bearer(token));
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["name"], OPERATOR.0);

    let wrong_password = client.sign_in(OPERATOR.0, "not the password");
    let unknown_name = client.sign_in("nobody", OPERATOR.1);
    // Disabling ends the user's sessions, and their right password is then refused alike.
    airlock_appliance::admin::set_user_enabled(server.app(), "test", OPERATOR.0, false).unwrap();
    let ended = client.get("/api/v1/session", Auth::Bearer(token));
    assert_eq!(
        (ended.status, ended.error().as_str()),
        (401, "not signed in")
    );
    let disabled = client.sign_in(OPERATOR.0, OPERATOR.1);
    for reply in [&wrong_password, &unknown_name, &disabled] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.error(), "wrong user name or password");
        assert_eq!(reply.header("set-cookie"), None);
    }

    let malformed = client.post(
        "/api/v1/session",
        Auth::None,
        &[("Content-Type", "application/json")],
        br#"{"name": "olga"}"#,
    );
    assert_eq!(malformed.status, 400);
    assert!(
        malformed
            .error()
            .starts_with("JSON body: missing field `password`")
    );
}

#[test]
fn unknown_and_known_names_answer_alike_when_wrong_and_when_throttled() {
    // Nine attempts in all: under the per-address rate limit.
    let server = Server::start();
    let client = server.client();
    let unknown = "nobody-at-all";

    // Wrong: the same status, headers that matter and body for a known and an unknown name.
    for _ in 0..3 {
        let known = client.sign_in(AUDITOR.0, "guess");
        let nobody = client.sign_in(unknown, "guess");
        assert_eq!(known.status, 401);
        assert_eq!((known.status, &known.body), (nobody.status, &nobody.body));
        assert_eq!(known.header("retry-after"), nobody.header("retry-after"));
    }

    // Throttled: both names fail eight times from this address (spaced so that none waits),
    // the last just now; each must now wait 8 s here, and says so in the same words.
    let now = chrono::Utc::now();
    for name in [AUDITOR.0, unknown] {
        for i in (0..5).rev() {
            let at = now - chrono::TimeDelta::minutes(10 * i);
            let from = Some("127.0.0.1".parse().unwrap());
            let err = airlock_appliance::auth::sign_in_from(server.app(), from, name, "guess", at)
                .unwrap_err();
            assert!(matches!(err, AuthError::BadCredentials), "{err:?}");
        }
    }
    let known = client.sign_in(AUDITOR.0, AUDITOR.1);
    let nobody = client.sign_in(unknown, "guess");
    for reply in [&known, &nobody] {
        assert_eq!(reply.status, 429);
        let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=8).contains(&retry), "{retry}");
        assert_eq!(
            reply.error(),
            format!("too many failed sign-ins for this name; try again in {retry} s")
        );
    }
    // Within the same second they are byte for byte the same; across a second boundary only
    // the number differs.
    let digitless = |r: &Reply| r.error().replace(|c: char| c.is_ascii_digit(), "");
    assert_eq!(digitless(&known), digitless(&nobody));

    // Other accounts are unaffected.
    assert_eq!(client.sign_in(OPERATOR.0, OPERATOR.1).status, 200);
}

#[test]
fn the_eleventh_attempt_in_a_minute_from_one_address_is_rate_limited() {
    let server = Server::start();
    let client = server.client();

    for i in 0..10 {
        let name = format!("nobody-{i}");
        assert_eq!(client.sign_in(&name, "guess").status, 401);
    }
    let limited = client.sign_in(ADMIN.0, ADMIN.1);
    assert_eq!(limited.status, 429);
    assert!(
        limited
            .error()
            .starts_with("too many sign-in attempts from this address; try again in "),
        "{}",
        limited.error()
    );
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // A limited attempt never reached the accounts: no failure counted, no audit row.
    let admin = airlock_appliance::store::users::by_name(server.app().store().read(), ADMIN.0)
        .unwrap()
        .unwrap();
    assert_eq!(admin.failed_logins, 0);
}

#[test]
fn an_auditor_reads_everything_but_may_not_import() {
    let server = Server::start();
    let client = server.client();
    let (token, _) = client.session(AUDITOR);
    let auth = Auth::Bearer(&token);

    let imports = client.get("/api/v1/imports", auth);
    assert_eq!(imports.status, 200);
    assert_eq!(
        imports.json(),
        serde_json::json!({"page": 1, "per_page": 50, "total": 0, "imports": []})
    );
    let alarms = client.get("/api/v1/alarms", auth);
    assert_eq!(
        (alarms.status, alarms.json()),
        (200, serde_json::json!({"alarms": []}))
    );

    let key = client.get("/api/v1/appliance-key", auth);
    assert_eq!(key.status, 200);
    assert_eq!(
        key.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        String::from_utf8(key.body.clone()).unwrap(),
        server.app().public_key_pem()
    );
    assert_eq!(
        key.header("x-airlock-key-id"),
        Some(server.app().key_id().to_string().as_str())
    );

    let witness = client.get("/api/v1/witness-state", auth);
    assert_eq!(witness.status, 200);
    assert_eq!(
        witness.header("content-type"),
        Some("application/vnd.dsse.envelope.v1+json")
    );
    assert_eq!(
        witness.json()["payloadType"],
        "application/vnd.airlock.witness-state.v1+json"
    );

    let verify = client.get("/api/v1/audit/verify", auth);
    assert_eq!(verify.status, 200);
    assert_eq!(verify.json()["ok"], true);

    let upload = client.post("/api/v1/imports", auth, &[], b"an archive");
    assert_eq!(upload.status, 403);
    assert_eq!(
        upload.error(),
        "this needs the operator role; aude is auditor"
    );
    assert!(server.folder.incoming().is_empty());
}

#[test]
fn missing_things_are_404_and_bad_queries_400() {
    let server = Server::start();
    let client = server.client();
    let (token, _) = client.session(ADMIN);
    let auth = Auth::Bearer(&token);

    for (path, error) in [
        ("/api/v1/imports/999", "import 999 not found"),
        ("/api/v1/artifacts/999", "artifact 999 not found"),
        ("/api/v1/artifacts/999/vsa", "artifact 999 not found"),
    ] {
        let reply = client.get(path, auth);
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (404, error),
            "{path}"
        );
    }
    assert_eq!(client.get("/api/v1/imports/abc", auth).status, 404);
    for (query, error) in [
        ("page=0", "page must be 1 to 1000000"),
        (
            "verdict=maybe",
            "verdict must be one of passed, warned, failed, running, releasing, done, rejected, interrupted",
        ),
        (
            "since=yesterday",
            "since must be a date (YYYY-MM-DD) or an RFC 3339 time",
        ),
    ] {
        let reply = client.get(&format!("/api/v1/imports?{query}"), auth);
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (400, error),
            "{query}"
        );
    }
    let empty_filters = client.get(
        "/api/v1/imports?verdict=&publisher=&since=&until=&page=",
        auth,
    );
    assert_eq!(empty_filters.status, 200);
    let filtered = client.get(
        "/api/v1/imports?verdict=failed&since=2026-01-01&until=2099-01-01T00:00:00Z&page=2",
        auth,
    );
    assert_eq!(filtered.status, 200);
    assert_eq!(filtered.json()["page"], 2);
}

#[test]
fn cookie_sessions_need_the_csrf_header_to_change_state_and_bearer_tokens_do_not() {
    let server = Server::start();
    let client = server.client();
    let (token, csrf) = client.session(OPERATOR);
    let name = [("X-Airlock-File-Name", "not-an-archive.airlock.tar.zst")];

    // Reading with the cookie needs no CSRF token.
    let read = client.get(
        "/api/v1/imports",
        Auth::Cookie {
            token: &token,
            csrf: None,
        },
    );
    assert_eq!(read.status, 200);

    for csrf in [None, Some("wrong")] {
        let refused = client.post(
            "/api/v1/imports",
            Auth::Cookie {
                token: &token,
                csrf,
            },
            &name,
            b"not an archive",
        );
        assert_eq!(refused.status, 403, "{csrf:?}");
        assert_eq!(
            refused.error(),
            "missing or wrong X-CSRF-Token header (required with the session cookie)"
        );
    }
    let imports = airlock_appliance::store::imports::count(server.app().store().read()).unwrap();
    assert_eq!(imports, 0, "refused before the pipeline");

    // With the header the request passes authentication and reaches the pipeline, which
    // records the import (and rejects the bytes: they are no archive).
    let with_cookie = client.post(
        "/api/v1/imports",
        Auth::Cookie {
            token: &token,
            csrf: Some(&csrf),
        },
        &name,
        b"not an archive",
    );
    let with_bearer = client.post(
        "/api/v1/imports",
        Auth::Bearer(&token),
        &name,
        b"not an archive",
    );
    for reply in [&with_cookie, &with_bearer] {
        assert_eq!(
            reply.status,
            201,
            "{:?}",
            String::from_utf8_lossy(&reply.body)
        );
        let outcome = reply.json();
        assert_eq!(outcome["state"], "rejected", "{outcome}");
        let id = outcome["import_id"].as_i64().unwrap();
        assert_eq!(
            reply.header("location"),
            Some(format!("/api/v1/imports/{id}").as_str())
        );
        let import = client.get(&format!("/api/v1/imports/{id}"), Auth::Bearer(&token));
        assert_eq!(import.status, 200);
        let import = import.json();
        assert_eq!(import["import"]["source"], "upload");
        assert_eq!(
            import["import"]["file_name"],
            "not-an-archive.airlock.tar.zst"
        );
        assert_eq!(import["import"]["started_by"], OPERATOR.0);
    }
    assert!(
        server.folder.incoming().is_empty(),
        "{:?}",
        server.folder.incoming()
    );
}

#[test]
fn an_idle_session_expires_and_is_ended() {
    let server = Server::start();
    let client = server.client();
    let (token, _) = client.session(AUDITOR);
    assert_eq!(
        client.get("/api/v1/alarms", Auth::Bearer(&token)).status,
        200
    );

    let idle = (chrono::Utc::now() - chrono::TimeDelta::minutes(31))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    server
        .app()
        .store()
        .write(|tx| {
            tx.execute("UPDATE sessions SET last_seen = ?1", [idle.as_str()])?;
            Ok::<_, airlock_appliance::store::StoreError>(())
        })
        .unwrap();
    let expired = client.get("/api/v1/alarms", Auth::Bearer(&token));
    assert_eq!(expired.status, 401);
    assert_eq!(expired.error(), "session expired; sign in again");
    assert_eq!(expired.header("www-authenticate"), Some("Bearer"));
    // Ended, not just refused once.
    let again = client.get("/api/v1/alarms", Auth::Bearer(&token));
    assert_eq!(
        (again.status, again.error().as_str()),
        (401, "not signed in")
    );
}

#[test]
fn sign_out_ends_the_session_and_clears_the_cookie() {
    let server = Server::start();
    let client = server.client();
    let (token, csrf) = client.session(ADMIN);
    let (other, _) = client.session(ADMIN);

    // A cookie sign-out is a state change: it needs the CSRF header.
    let refused = client.delete(
        "/api/v1/session",
        Auth::Cookie {
            token: &token,
            csrf: None,
        },
    );
    assert_eq!(refused.status, 403);
    let out = client.delete(
        "/api/v1/session",
        Auth::Cookie {
            token: &token,
            csrf: Some(&csrf),
        },
    );
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = client.get("/api/v1/imports", Auth::Bearer(&token));
    assert_eq!(
        (after.status, after.error().as_str()),
        (401, "not signed in")
    );
    // Only that session ended.
    assert_eq!(
        client.get("/api/v1/imports", Auth::Bearer(&other)).status,
        200
    );
}

#[test]
fn every_sign_in_attempt_is_in_the_audit_chain() {
    let server = Server::start();
    let client = server.client();
    assert_eq!(client.sign_in(OPERATOR.0, "guess").status, 401);
    assert_eq!(client.sign_in("nobody", "guess").status, 401);
    let (token, _) = client.session(OPERATOR);
    assert_eq!(
        client
            .delete("/api/v1/session", Auth::Bearer(&token))
            .status,
        204
    );
    let (token, _) = client.session(AUDITOR);

    let audit = client.get("/api/v1/audit", Auth::Bearer(&token));
    assert_eq!(audit.status, 200);
    let audit = audit.json();
    let rows: Vec<(String, String, Value)> = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .map(|r| {
            let detail: Value = serde_json::from_str(r["detail"].as_str().unwrap()).unwrap();
            (
                r["action"].as_str().unwrap().to_owned(),
                r["subject"].as_str().unwrap().to_owned(),
                detail,
            )
        })
        .collect();
    // Newest first.
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .map(|(a, s, _)| (a.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("login", AUDITOR.0),
            ("logout", OPERATOR.0),
            ("login", OPERATOR.0),
            ("login.failed", "nobody"),
            ("login.failed", OPERATOR.0),
        ]
    );
    assert_eq!(rows[0].2["role"], "auditor");
    assert_eq!(rows[0].2["remote"], "127.0.0.1");
    assert_eq!(rows[3].2["reason"], "unknown user");
    assert_eq!(rows[4].2["reason"], "wrong password");
    assert_eq!(rows[4].2["failures"], 1);
    let total = audit["rows"].as_array().unwrap().len();
    assert_eq!(audit["total"], total, "fewer rows than a page: all of them");

    let verify = client
        .get("/api/v1/audit/verify", Auth::Bearer(&token))
        .json();
    assert_eq!(verify["ok"], true);
    assert_eq!(verify["rows"], audit["total"]);
}

#[test]
fn an_upload_over_the_limit_is_413_and_leaves_nothing_behind() {
    let server = Server::serve(
        Folder::new(),
        ServeOptions {
            max_upload: 1024,
            ..options()
        },
    );
    let client = server.client();
    let (token, _) = client.session(OPERATOR);
    let auth = Auth::Bearer(&token);

    // Declared too large: refused before reading.
    let declared = client.post("/api/v1/imports", auth, &[], &[7u8; 4096]);
    assert_eq!(declared.status, 413);
    assert_eq!(declared.error(), "request body larger than 1024 bytes");
    // Sent chunked, with no length: refused once the limit is passed.
    let streamed = client.post_chunked("/api/v1/imports", auth, vec![7u8; 4096]);
    assert_eq!(streamed.status, 413);
    assert!(
        server.folder.incoming().is_empty(),
        "{:?}",
        server.folder.incoming()
    );

    let empty = client.post("/api/v1/imports", auth, &[], b"");
    assert_eq!(
        (empty.status, empty.error().as_str()),
        (400, "the upload is empty")
    );
    assert!(server.folder.incoming().is_empty());
}

#[test]
fn the_admins_largest_archive_setting_bounds_uploads() {
    let folder = Folder::new();
    airlock_appliance::admin::set_quotas(
        &folder.app,
        "test",
        &airlock_appliance::admin::QuotaChange {
            max_archive_bytes: Some(2048),
            ..Default::default()
        },
    )
    .unwrap();
    let server = Server::serve(folder, options());
    let client = server.client();
    let (token, _) = client.session(OPERATOR);
    let auth = Auth::Bearer(&token);

    let declared = client.post("/api/v1/imports", auth, &[], &[7u8; 4096]);
    assert_eq!(declared.status, 413);
    assert_eq!(declared.error(), "request body larger than 2048 bytes");
    let streamed = client.post_chunked("/api/v1/imports", auth, vec![7u8; 4096]);
    assert_eq!(streamed.status, 413);
    assert!(server.folder.incoming().is_empty());
    // Within it, an upload is imported (and, being no archive, rejected).
    let small = client.post("/api/v1/imports", auth, &[], &[7u8; 2048]);
    assert_eq!(small.status, 201, "{}", small.error());
    assert_eq!(small.json()["state"], "rejected");
}
