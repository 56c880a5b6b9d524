//! `airlock_bundler::fetch` against the testkit's loopback HTTPS servers: a log over Rekor v1
//! and tlog-tiles, TUF repositories (minted with a root rotation, and the real Sigstore one from
//! `../shared/testdata`), and the failures a broken or hostile network gives.

use std::path::{Path, PathBuf};

use airlock_bundler::fetch::{
    FetchError, HttpClient, LogApi, LogEndpoint, LogSnapshot, TufRemote, fetch_log, mirror_tuf,
};
use airlock_tests::{Instance, LogServer, StaticServer, TlsMaterial, TufRepoBuilder};
use airlock_trust_root::{
    LocalRepository, RepositoryName, TrustedRoot, verify_checkpoint, verify_consistency,
};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use url::Url;

/// 2026-01-15T12:00:00Z: when the instance and the TUF repositories start.
fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_768_478_400, 0).unwrap()
}

/// TLS material valid around the real clock: rustls judges the server certificate by it.
fn tls(seed: u64) -> TlsMaterial {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    TlsMaterial::new(seed, now - 3600, now + 3600).unwrap()
}

fn client(tls: &TlsMaterial) -> HttpClient {
    HttpClient::new(Some(tls.ca_pem().as_bytes())).unwrap()
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// Entries in the test log: two full level-0 tiles, a partial one (88 hashes) and a partial
/// level-1 tile (2 hashes).
const LOG_SIZE: u64 = 600;

/// A private Sigstore whose log holds `size` entries.
fn instance_with_log(size: u64) -> Instance {
    let mut inst = Instance::new(21, base_time()).unwrap();
    let t0 = base_time().timestamp();
    for i in 0..size {
        inst.log_mut()
            .append(format!("entry {i}").into_bytes(), t0 + i as i64)
            .unwrap();
    }
    inst
}

/// Old sizes on both sides of tile boundaries, with a 0, the current size and a duplicate.
const FROM_SIZES: &[u64] = &[257, 1, 2, 255, 256, 0, 257, 300, 512, 513, 599, LOG_SIZE];
const PROVEN_SIZES: &[u64] = &[1, 2, 255, 256, 257, 300, 512, 513, 599];

/// The snapshot is the log's checkpoint, verifies with the trusted root's log key, and each
/// proof equals the testkit's and verifies from the log's old root.
fn check_snapshot(inst: &Instance, snap: &LogSnapshot) {
    let log = inst.log();
    let cp = log.checkpoint(LOG_SIZE).unwrap();
    assert_eq!(snap.checkpoint, cp.note);
    assert_eq!(snap.origin, log.origin());
    assert_eq!(snap.size, LOG_SIZE);
    assert_eq!(snap.root_hash, cp.root);

    let trusted = TrustedRoot::from_json(&inst.trusted_root_json().unwrap()).unwrap();
    let verified = verify_checkpoint(&snap.checkpoint, &trusted.tlogs()[0]).unwrap();
    assert_eq!(
        (verified.size, verified.root_hash),
        (snap.size, snap.root_hash)
    );

    let from: Vec<u64> = snap.consistency.iter().map(|p| p.from_size).collect();
    assert_eq!(from, PROVEN_SIZES);
    for p in &snap.consistency {
        assert_eq!(p.to_size, LOG_SIZE);
        assert_eq!(
            p.hashes,
            log.consistency_proof(p.from_size, LOG_SIZE).unwrap(),
            "proof from {}",
            p.from_size
        );
        let hashes: Vec<Vec<u8>> = p.hashes.iter().map(|h| h.to_vec()).collect();
        verify_consistency(
            p.from_size,
            &log.root(p.from_size).unwrap(),
            LOG_SIZE,
            &snap.root_hash,
            &hashes,
        )
        .unwrap();
    }
}

#[test]
fn rekor_v1_checkpoint_and_consistency_proofs() {
    let inst = instance_with_log(LOG_SIZE);
    let tls = tls(51);
    let server = LogServer::start_https(inst.log(), &tls).unwrap();
    let endpoint = LogEndpoint {
        kind: LogApi::RekorV1,
        url: url(server.url()),
    };
    let snap = fetch_log(&client(&tls), &endpoint, FROM_SIZES).unwrap();
    check_snapshot(&inst, &snap);
}

#[test]
fn tiles_checkpoint_and_consistency_proofs() {
    let inst = instance_with_log(LOG_SIZE);
    let tls = tls(52);
    let server = LogServer::start_https(inst.log(), &tls).unwrap();
    let endpoint = LogEndpoint {
        kind: LogApi::Tiles,
        url: url(server.url()),
    };
    let snap = fetch_log(&client(&tls), &endpoint, FROM_SIZES).unwrap();
    check_snapshot(&inst, &snap);
}

#[test]
fn tiles_of_a_log_with_one_partial_tile() {
    let inst = instance_with_log(5);
    let tls = tls(53);
    let server = LogServer::start_https(inst.log(), &tls).unwrap();
    let endpoint = LogEndpoint {
        kind: LogApi::Tiles,
        url: url(server.url()),
    };
    let snap = fetch_log(&client(&tls), &endpoint, &[1, 3, 4]).unwrap();
    assert_eq!(snap.root_hash, inst.log().root(5).unwrap());
    for p in &snap.consistency {
        assert_eq!(
            p.hashes,
            inst.log().consistency_proof(p.from_size, 5).unwrap()
        );
    }
}

#[test]
fn a_size_beyond_the_log_is_named() {
    let inst = instance_with_log(10);
    let tls = tls(54);
    let server = LogServer::start_https(inst.log(), &tls).unwrap();
    let client = client(&tls);
    for kind in [LogApi::RekorV1, LogApi::Tiles] {
        let endpoint = LogEndpoint {
            kind,
            url: url(server.url()),
        };
        let err = fetch_log(&client, &endpoint, &[3, 11, 10]).unwrap_err();
        assert!(
            matches!(
                err,
                FetchError::SizeBeyondLog {
                    from_size: 11,
                    size: 10,
                    ..
                }
            ),
            "{kind:?}: {err}"
        );
    }
}

#[test]
fn plain_http_is_rejected() {
    let inst = instance_with_log(3);
    let plain = LogServer::start(inst.log()).unwrap();
    assert!(plain.url().starts_with("http://"));
    let client = client(&tls(55));
    let checkpoint = url(&format!("{}/checkpoint", plain.url()));
    assert!(matches!(
        client.get_bytes(&checkpoint, 1024),
        Err(FetchError::InsecureUrl { url }) if url == checkpoint.as_str()
    ));
    for kind in [LogApi::RekorV1, LogApi::Tiles] {
        let endpoint = LogEndpoint {
            kind,
            url: url(plain.url()),
        };
        assert!(matches!(
            fetch_log(&client, &endpoint, &[]),
            Err(FetchError::InsecureUrl { .. })
        ));
    }
    assert!(matches!(
        TufRemote::under(&url(plain.url())),
        Err(FetchError::InsecureUrl { .. })
    ));
}

#[test]
fn a_server_with_an_untrusted_ca_is_a_tls_error() {
    let inst = instance_with_log(3);
    let server_tls = tls(56);
    let server = LogServer::start_https(inst.log(), &server_tls).unwrap();
    let other_ca = client(&tls(57));
    let checkpoint = url(&format!("{}/checkpoint", server.url()));
    let err = other_ca.get_bytes(&checkpoint, 1024).unwrap_err();
    assert!(
        matches!(&err, FetchError::Tls { url, .. } if url == checkpoint.as_str()),
        "{err}"
    );

    // The right CA, but a server certificate that expired an hour ago.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expired_tls = TlsMaterial::new(58, now - 7200, now - 3600).unwrap();
    let expired = LogServer::start_https(inst.log(), &expired_tls).unwrap();
    let err = client(&expired_tls)
        .get_bytes(&url(&format!("{}/checkpoint", expired.url())), 1024)
        .unwrap_err();
    assert!(matches!(err, FetchError::Tls { .. }), "{err}");
}

#[test]
fn statuses_and_sizes_are_named() {
    let inst = instance_with_log(3);
    let tls = tls(59);
    let server = LogServer::start_https(inst.log(), &tls).unwrap();
    let client = client(&tls);
    let missing = url(&format!("{}/tile/0/999", server.url()));
    assert!(client.get_bytes(&missing, 1024).unwrap().is_none());
    let bad_request = url(&format!("{}/api/v1/log/proof?firstSize=9", server.url()));
    assert!(matches!(
        client.get_bytes(&bad_request, 1024),
        Err(FetchError::Status { status: 400, .. })
    ));
    let checkpoint = url(&format!("{}/checkpoint", server.url()));
    assert!(matches!(
        client.get_bytes(&checkpoint, 10),
        Err(FetchError::TooLarge { limit: 10, .. })
    ));
    let note = inst.log().checkpoint(3).unwrap().note.into_bytes();
    let exact = note.len() as u64;
    assert_eq!(client.get_bytes(&checkpoint, exact).unwrap().unwrap(), note);
    assert!(matches!(
        client.get_bytes(&checkpoint, exact - 1),
        Err(FetchError::TooLarge { limit, .. }) if limit == exact - 1
    ));
}

/// A repository carrying the instance's trusted root and a signing config, with two root
/// rotations (root v1 → v3).
fn minted_repo(dir: &Path) -> (Instance, airlock_tests::TufRepo) {
    let inst = Instance::new(61, base_time()).unwrap();
    let repo = TufRepoBuilder::new(61, base_time())
        .trusted_root(inst.trusted_root_json().unwrap())
        .target(
            "signing_config.v0.2.json",
            b"{\"mediaType\":\"test\"}".to_vec(),
        )
        .target("unrelated.txt", b"not mirrored".to_vec())
        .rotate_root(base_time() + Duration::days(400))
        .rotate_root_with(base_time() + Duration::days(500), true, true)
        .write(dir)
        .unwrap();
    (inst, repo)
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn name() -> RepositoryName {
    RepositoryName::new("test-repo").unwrap()
}

#[test]
fn mirrors_a_tuf_repository_with_root_rotations() {
    let source = tempfile::tempdir().unwrap();
    let (inst, repo) = minted_repo(source.path());
    let tls = tls(62);
    let server = StaticServer::start_https(source.path(), &tls).unwrap();
    let remote = TufRemote::under(&url(server.url())).unwrap();
    let dest = tempfile::tempdir().unwrap();

    let mirrored = mirror_tuf(&client(&tls), &remote, &repo.initial_root, dest.path()).unwrap();
    assert_eq!(mirrored.root_version(), 3);
    assert_eq!(
        files(mirrored.metadata_dir()),
        [
            "1.root.json",
            "1.snapshot.json",
            "1.targets.json",
            "2.root.json",
            "3.root.json",
            "timestamp.json"
        ]
    );
    for f in files(mirrored.metadata_dir()) {
        assert_eq!(
            std::fs::read(mirrored.metadata_dir().join(&f)).unwrap(),
            std::fs::read(repo.metadata_dir.join(&f)).unwrap(),
            "{f}"
        );
    }
    // Only what verification reads: no unrelated.txt.
    let targets = files(mirrored.targets_dir());
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert!(targets.iter().all(|t| !t.ends_with("unrelated.txt")));

    let at = base_time() + Duration::days(1);
    let verified = mirrored
        .local_repository(name())
        .verify(&repo.initial_root, at, None)
        .unwrap();
    let original = LocalRepository::new(name(), &repo.metadata_dir, &repo.targets_dir)
        .verify(&repo.initial_root, at, None)
        .unwrap();
    assert_eq!(
        verified.trusted_root().sha256(),
        original.trusted_root().sha256()
    );
    assert_eq!(
        verified.trusted_root().sha256(),
        hex::encode(Sha256::digest(inst.trusted_root_json().unwrap()))
    );
    assert_eq!(verified.signing_configs(), original.signing_configs());
    assert_eq!(verified.current_root(), repo.latest_root.as_slice());
    assert_eq!(verified.state(), original.state());
}

#[test]
fn a_missing_timestamp_is_not_found() {
    let source = tempfile::tempdir().unwrap();
    let (_, repo) = minted_repo(source.path());
    std::fs::remove_file(repo.metadata_dir.join("timestamp.json")).unwrap();
    let tls = tls(63);
    let server = StaticServer::start_https(source.path(), &tls).unwrap();
    let remote = TufRemote::under(&url(server.url())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = mirror_tuf(&client(&tls), &remote, &repo.initial_root, dest.path()).unwrap_err();
    assert!(
        matches!(&err, FetchError::NotFound { url } if url.ends_with("/metadata/timestamp.json")),
        "{err}"
    );
}

#[test]
fn a_tampered_target_is_caught_by_its_digest() {
    let source = tempfile::tempdir().unwrap();
    let (_, repo) = minted_repo(source.path());
    let trusted_root = files(&repo.targets_dir)
        .into_iter()
        .find(|f| f.ends_with(".trusted_root.json"))
        .unwrap();
    let path: PathBuf = repo.targets_dir.join(&trusted_root);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let tls = tls(64);
    let server = StaticServer::start_https(source.path(), &tls).unwrap();
    let remote = TufRemote::under(&url(server.url())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = mirror_tuf(&client(&tls), &remote, &repo.initial_root, dest.path()).unwrap_err();
    assert!(
        matches!(&err, FetchError::TargetDigest { expected, .. } if trusted_root.starts_with(expected.as_str())),
        "{err}"
    );
}

#[test]
fn the_destination_must_be_empty() {
    let source = tempfile::tempdir().unwrap();
    let (_, repo) = minted_repo(source.path());
    let tls = tls(65);
    let server = StaticServer::start_https(source.path(), &tls).unwrap();
    let remote = TufRemote::under(&url(server.url())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    std::fs::create_dir(dest.path().join("metadata")).unwrap();
    std::fs::write(dest.path().join("metadata/9.root.json"), b"{}").unwrap();
    let err = mirror_tuf(&client(&tls), &remote, &repo.initial_root, dest.path()).unwrap_err();
    assert!(
        matches!(err, FetchError::DestinationNotEmpty { .. }),
        "{err}"
    );
}

/// A timestamp whose signed body was changed after signing: tough refuses it while
/// mirroring (the signature threshold is not met), naming the repository.
#[test]
fn a_timestamp_that_does_not_verify_is_refused_while_mirroring() {
    let source = tempfile::tempdir().unwrap();
    let (_, repo) = minted_repo(source.path());
    let path = repo.metadata_dir.join("timestamp.json");
    let mut timestamp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    timestamp["signed"]["expires"] = "2099-01-01T00:00:00Z".into();
    std::fs::write(&path, serde_json::to_vec(&timestamp).unwrap()).unwrap();
    let tls = tls(67);
    let server = StaticServer::start_https(source.path(), &tls).unwrap();
    let remote = TufRemote::under(&url(server.url())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = mirror_tuf(&client(&tls), &remote, &repo.initial_root, dest.path()).unwrap_err();
    assert!(
        matches!(&err, FetchError::Tuf { url, reason }
            if url == remote.metadata_url().as_str() && reason.contains("timestamp")),
        "{err}"
    );
    assert!(files(&dest.path().join("metadata")).is_empty());
}

/// A next root that cannot be downloaded (here: over the 1 MiB limit) is that failure, not
/// the end of the roots (tough on its own would stop at it and go on).
#[test]
fn a_next_root_that_fails_to_download_is_that_failure() {
    let source = tempfile::tempdir().unwrap();
    let (_, repo) = minted_repo(source.path());
    let big = repo.metadata_dir.join("4.root.json");
    std::fs::write(&big, vec![b' '; 1024 * 1024 + 1]).unwrap();
    let tls = tls(68);
    let server = StaticServer::start_https(source.path(), &tls).unwrap();
    let remote = TufRemote::under(&url(server.url())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = mirror_tuf(&client(&tls), &remote, &repo.initial_root, dest.path()).unwrap_err();
    assert!(
        matches!(&err, FetchError::TooLarge { url, limit: 1_048_576 } if url.ends_with("/metadata/4.root.json")),
        "{err}"
    );
}

/// The real Sigstore repository (from root v12, with the `registry.npmjs.org` delegation and
/// retired roles still listed in the snapshot), served as is; skipped when the shared test
/// data is absent.
#[test]
fn mirrors_the_real_sigstore_repository() {
    if crate::outside::shared_testdata("sigstore-tuf/metadata").is_none() {
        return;
    }
    let Some(dir) = crate::outside::shared_testdata("sigstore-tuf") else {
        return;
    };
    let initial_root = std::fs::read(dir.join("metadata/12.root.json")).unwrap();
    let tls = tls(66);
    let server = StaticServer::start_https(&dir, &tls).unwrap();
    let remote = TufRemote::under(&url(server.url())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let mirrored = mirror_tuf(&client(&tls), &remote, &initial_root, dest.path()).unwrap();
    assert_eq!(mirrored.root_version(), 15);
    assert!(
        mirrored
            .metadata_dir()
            .join("8.registry.npmjs.org.json")
            .is_file()
    );
    let at = DateTime::parse_from_rfc3339("2026-08-22T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let verified = mirrored
        .local_repository(RepositoryName::new("sigstore-public-good").unwrap())
        .verify(&initial_root, at, None)
        .unwrap();
    assert_eq!(
        verified.trusted_root().sha256(),
        "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66"
    );
    let configs: Vec<&str> = verified
        .signing_configs()
        .iter()
        .map(|c| c.name())
        .collect();
    assert!(configs.contains(&"signing_config.v0.2.json"), "{configs:?}");
}

/// Copies `paths` from a running server into `dir` (to serve them, or a mix of them, statically).
fn copy_from(client: &HttpClient, server: &str, paths: &[&str], dir: &Path) {
    for p in paths {
        let bytes = client
            .get_bytes(&url(&format!("{server}/{p}")), 1 << 20)
            .unwrap()
            .unwrap_or_else(|| panic!("{p} not served"));
        let file = dir.join(p);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
}

/// A log that grew from 300 to 600 entries and deleted its partial tiles, still serving the
/// checkpoint at 300: partial tiles are read from the full ones, as C2SP allows.
#[test]
fn partial_tiles_fall_back_to_full_tiles() {
    let inst = instance_with_log(LOG_SIZE);
    let old = inst.log().fork(300).unwrap();
    let tls = tls(71);
    let client = client(&tls);
    let grown = LogServer::start_https(inst.log(), &tls).unwrap();
    let earlier = LogServer::start_https(&old, &tls).unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_from(
        &client,
        grown.url(),
        &["tile/0/000", "tile/0/001"],
        dir.path(),
    );
    copy_from(
        &client,
        earlier.url(),
        &["checkpoint", "tile/1/000.p/1"],
        dir.path(),
    );
    let server = StaticServer::start_https(dir.path(), &tls).unwrap();
    let endpoint = LogEndpoint {
        kind: LogApi::Tiles,
        url: url(server.url()),
    };
    let snap = fetch_log(&client, &endpoint, &[100, 299]).unwrap();
    assert_eq!(snap.checkpoint, old.checkpoint(300).unwrap().note);
    for p in &snap.consistency {
        assert_eq!(p.hashes, old.consistency_proof(p.from_size, 300).unwrap());
    }
}

/// Tiles of another log under a checkpoint: the tree hash they give is not the checkpoint's.
#[test]
fn tiles_that_do_not_match_the_checkpoint_are_rejected() {
    let inst = instance_with_log(5);
    let mut other = Instance::new(22, base_time()).unwrap();
    for i in 0..5 {
        other
            .log_mut()
            .append(format!("other entry {i}").into_bytes(), 0)
            .unwrap();
    }
    let tls = tls(72);
    let client = client(&tls);
    let real = LogServer::start_https(inst.log(), &tls).unwrap();
    let fake = LogServer::start_https(other.log(), &tls).unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_from(&client, real.url(), &["checkpoint"], dir.path());
    copy_from(&client, fake.url(), &["tile/0/000.p/5"], dir.path());
    let server = StaticServer::start_https(dir.path(), &tls).unwrap();
    let endpoint = LogEndpoint {
        kind: LogApi::Tiles,
        url: url(server.url()),
    };
    let err = fetch_log(&client, &endpoint, &[2]).unwrap_err();
    assert!(
        matches!(&err, FetchError::LogMismatch { url, .. } if url.ends_with("/checkpoint")),
        "{err}"
    );
}

/// A Rekor v1 log info whose treeSize disagrees with its own signed tree head.
#[test]
fn rekor_log_info_that_disagrees_with_its_checkpoint_is_rejected() {
    let inst = instance_with_log(5);
    let cp = inst.log().checkpoint(5).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("api/v1")).unwrap();
    let info = serde_json::json!({
        "rootHash": hex::encode(cp.root),
        "treeSize": 6,
        "signedTreeHead": cp.note,
        "treeID": "1",
    });
    std::fs::write(dir.path().join("api/v1/log"), info.to_string()).unwrap();
    let tls = tls(73);
    let server = StaticServer::start_https(dir.path(), &tls).unwrap();
    let endpoint = LogEndpoint {
        kind: LogApi::RekorV1,
        url: url(server.url()),
    };
    let err = fetch_log(&client(&tls), &endpoint, &[]).unwrap_err();
    assert!(matches!(err, FetchError::LogMismatch { .. }), "{err}");
}
