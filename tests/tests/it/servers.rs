//! The loopback servers answer real HTTP(S) with the log's and repository's bytes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use airlock_tests::{LogServer, StaticServer, TlsMaterial, TufRepoBuilder};
use serde_json::Value;
use tlog_tiles::Hash;

use crate::common::{base_time, instance, opts};
use crate::fixtures::verify_note;

/// A minimal HTTP/1.1 GET; returns (status, body).
fn get(url: &str, tls: Option<&TlsMaterial>) -> (u16, Vec<u8>) {
    let rest = url.split_once("://").unwrap().1;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let tcp = TcpStream::connect(host).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let mut raw = Vec::new();
    match tls {
        None => {
            let mut tcp = tcp;
            tcp.write_all(request.as_bytes()).unwrap();
            tcp.read_to_end(&mut raw).unwrap();
        }
        Some(tls) => {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(rustls::pki_types::CertificateDer::from(
                    tls.ca_der().to_vec(),
                ))
                .unwrap();
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1")
                .unwrap()
                .to_owned();
            let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            stream.write_all(request.as_bytes()).unwrap();
            // The server may close without close_notify; keep what arrived.
            let _ = stream.read_to_end(&mut raw);
        }
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let len =
            usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16).unwrap();
        if len == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + len]);
        data = &data[eol + 4 + len..];
    }
}

fn json(url: &str) -> Value {
    let (status, body) = get(url, None);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            Hash(
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap(),
            )
        })
        .collect()
}

#[test]
fn log_server_speaks_rekor_v1_and_tlog_tiles() {
    let mut inst = instance(41);
    for i in 0..5 {
        inst.sign_blob(format!("a{i}").as_bytes(), &opts()).unwrap();
    }
    let server = LogServer::start(inst.log()).unwrap();
    let url = server.url().to_string();
    assert!(url.starts_with("http://127.0.0.1:"));

    let info = json(&format!("{url}/api/v1/log"));
    assert_eq!(info["treeSize"], 5);
    assert_eq!(info["rootHash"], hex::encode(inst.log().root(5).unwrap()));
    assert_eq!(info["treeID"], inst.log().tree_id().to_string());
    verify_note(inst.log().key(), info["signedTreeHead"].as_str().unwrap()).unwrap();

    // The log grows; the server follows; the consistency proof checks.
    for i in 0..4 {
        inst.sign_blob(format!("b{i}").as_bytes(), &opts()).unwrap();
    }
    server.set_log(inst.log());
    let proof = json(&format!("{url}/api/v1/log/proof?firstSize=5&lastSize=9"));
    let new_root = Hash(
        hex::decode(proof["rootHash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    );
    tlog_tiles::check_tree(
        &hashes(&proof["hashes"]),
        9,
        new_root,
        5,
        Hash(inst.log().root(5).unwrap()),
    )
    .unwrap();
    let (status, _) = get(
        &format!("{url}/api/v1/log/proof?firstSize=5&lastSize=99"),
        None,
    );
    assert_eq!(status, 400);

    let (status, cp) = get(&format!("{url}/checkpoint"), None);
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(cp).unwrap(),
        inst.log().checkpoint(9).unwrap().note
    );

    // Level-0 partial tile: the 9 leaf hashes; same bytes under the height-prefixed path.
    let (status, tile) = get(&format!("{url}/tile/0/000.p/9"), None);
    assert_eq!(status, 200);
    assert_eq!(tile.len(), 9 * 32);
    for i in 0..9 {
        assert_eq!(
            &tile[i * 32..(i + 1) * 32],
            &inst.log().leaf_hash(i as u64).unwrap()
        );
    }
    assert_eq!(get(&format!("{url}/tile/8/0/000.p/9"), None), (200, tile));
    // Entry bundle: length-prefixed canonical bodies.
    let (status, entries) = get(&format!("{url}/tile/entries/000.p/9"), None);
    assert_eq!(status, 200);
    let first = &inst.log().entry(0).unwrap().body;
    assert_eq!(&entries[..2], &(first.len() as u16).to_be_bytes());
    assert_eq!(&entries[2..2 + first.len()], first.as_slice());
    // Tiles the tree does not have yet are 404.
    assert_eq!(get(&format!("{url}/tile/0/000.p/10"), None).0, 404);
    assert_eq!(get(&format!("{url}/tile/0/000"), None).0, 404);
}

#[test]
fn servers_stop_on_drop() {
    let inst = instance(42);
    let server = LogServer::start(inst.log()).unwrap();
    let addr = server.url().trim_start_matches("http://").to_string();
    drop(server);
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn static_server_serves_a_tuf_repository_over_http_and_https() {
    let inst = instance(43);
    let dir = tempfile::tempdir().unwrap();
    let repo = TufRepoBuilder::new(43, base_time())
        .trusted_root(inst.trusted_root_json().unwrap())
        .write(dir.path())
        .unwrap();
    let plain = StaticServer::start(dir.path()).unwrap();
    let (status, body) = get(&format!("{}/metadata/timestamp.json", plain.url()), None);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        std::fs::read(repo.metadata_dir.join("timestamp.json")).unwrap()
    );
    assert_eq!(
        get(&format!("{}/metadata/9.root.json", plain.url()), None).0,
        404
    );

    // HTTPS with a kit-minted certificate valid around the real clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let tls = TlsMaterial::new(43, now - 3600, now + 3600).unwrap();
    assert!(tls.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let secure = StaticServer::start_https(dir.path(), &tls).unwrap();
    assert!(secure.url().starts_with("https://127.0.0.1:"));
    let (status, body) = get(
        &format!("{}/metadata/1.root.json", secure.url()),
        Some(&tls),
    );
    assert_eq!(status, 200);
    assert_eq!(body, repo.initial_root);

    let log = LogServer::start_https(inst.log(), &tls).unwrap();
    let (status, body) = get(&format!("{}/checkpoint", log.url()), Some(&tls));
    assert_eq!(status, 200);
    verify_note(inst.log().key(), std::str::from_utf8(&body).unwrap()).unwrap();
}
