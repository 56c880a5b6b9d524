//! Repositories published here with tough's editor (keys generated per test, written to a
//! tempdir), each bent to show one attack; every test asserts the exact `TufError`.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use airlock_trust_root::{LocalRepository, RepositoryName, Role, TrustState, TufError};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tough::editor::RepositoryEditor;
use tough::editor::signed::{PathExists, SignedRole};
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::key::Key;
use tough::schema::{KeyHolder, PathPattern, PathSet, RoleKeys, RoleType, Root};

/// Signed metadata expires here; tests judge at [`AT`] unless they say otherwise.
const EXPIRES: &str = "2030-01-01T00:00:00Z";
const AT: &str = "2029-06-01T00:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn jiff(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn nz(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// An ed25519 key written as PKCS#8 (what tough's `LocalKeySource` reads).
#[derive(Clone)]
struct TestKey {
    path: PathBuf,
    key: Key,
    id: Decoded<Hex>,
}

impl TestKey {
    fn generate(dir: &Path, name: &str) -> Self {
        use tough::sign::Sign;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let path = dir.join(format!("{name}.pk8"));
        std::fs::write(&path, pkcs8.as_ref()).unwrap();
        let key = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
            .unwrap()
            .tuf_key();
        let id = key.key_id().unwrap();
        Self { path, key, id }
    }

    fn source(&self) -> Box<dyn KeySource> {
        Box::new(LocalKeySource {
            path: self.path.clone(),
        })
    }
}

/// The keys of one test repository.
struct Keys {
    root: TestKey,
    timestamp: TestKey,
    timestamp2: TestKey,
    snapshot: TestKey,
    targets: TestKey,
    delegated: TestKey,
}

impl Keys {
    fn generate(dir: &Path) -> Self {
        Self {
            root: TestKey::generate(dir, "root"),
            timestamp: TestKey::generate(dir, "timestamp"),
            timestamp2: TestKey::generate(dir, "timestamp2"),
            snapshot: TestKey::generate(dir, "snapshot"),
            targets: TestKey::generate(dir, "targets"),
            delegated: TestKey::generate(dir, "delegated"),
        }
    }

    fn all_sources(&self) -> Vec<Box<dyn KeySource>> {
        [
            &self.root,
            &self.timestamp,
            &self.timestamp2,
            &self.snapshot,
            &self.targets,
        ]
        .iter()
        .map(|k| k.source())
        .collect()
    }
}

/// What one publication contains.
#[derive(Clone)]
struct Spec {
    root_key_override: Option<usize>,
    root_versions: u64,
    timestamp: u64,
    snapshot: u64,
    targets: u64,
    timestamp_threshold: u64,
    trusted_root: &'static [u8],
    delegated_expires: Option<&'static str>,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            root_key_override: None,
            root_versions: 1,
            timestamp: 1,
            snapshot: 1,
            targets: 1,
            timestamp_threshold: 1,
            trusted_root:
                br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
            delegated_expires: None,
        }
    }
}

fn role_keys(keys: &[&TestKey], threshold: u64) -> RoleKeys {
    RoleKeys {
        keyids: keys.iter().map(|k| k.id.clone()).collect(),
        threshold: nz(threshold),
        _extra: HashMap::new(),
    }
}

fn root_metadata(keys: &Keys, root_key: &TestKey, version: u64, ts_threshold: u64) -> Root {
    let all = [
        root_key,
        &keys.timestamp,
        &keys.timestamp2,
        &keys.snapshot,
        &keys.targets,
    ];
    Root {
        spec_version: "1.0.0".to_owned(),
        consistent_snapshot: true,
        version: nz(version),
        expires: jiff(EXPIRES),
        keys: all.iter().map(|k| (k.id.clone(), k.key.clone())).collect(),
        roles: HashMap::from([
            (RoleType::Root, role_keys(&[root_key], 1)),
            (
                RoleType::Timestamp,
                role_keys(&[&keys.timestamp, &keys.timestamp2], ts_threshold),
            ),
            (RoleType::Snapshot, role_keys(&[&keys.snapshot], 1)),
            (RoleType::Targets, role_keys(&[&keys.targets], 1)),
        ]),
        _extra: HashMap::new(),
    }
}

fn sign_root(root: Root, signer: &TestKey) -> Vec<u8> {
    let holder = KeyHolder::Root(root.clone());
    let signed = block_on(SignedRole::new(
        root,
        &holder,
        &[signer.source()],
        &SystemRandom::new(),
    ))
    .unwrap();
    signed.buffer().clone()
}

/// A published repository: `metadata/`, `targets/`, and the v1 root to pin.
struct Published {
    dir: PathBuf,
    pinned_root: Vec<u8>,
}

impl Published {
    fn metadata(&self) -> PathBuf {
        self.dir.join("metadata")
    }
    fn targets(&self) -> PathBuf {
        self.dir.join("targets")
    }
    fn repo(&self) -> LocalRepository {
        LocalRepository::new(
            RepositoryName::new("site-private").unwrap(),
            self.metadata(),
            self.targets(),
        )
    }
    fn verify(&self, previous: Option<&TrustState>) -> Result<TrustState, TufError> {
        self.repo()
            .verify(&self.pinned_root, at(AT), previous)
            .map(|v| v.into_state())
    }
    /// The one consistent-snapshot file in `targets/` ending in `.{name}`.
    fn target_file(&self, name: &str) -> PathBuf {
        std::fs::read_dir(self.targets())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(&format!(".{name}")))
            .unwrap()
    }
    fn edit_json(&self, file: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let path = self.metadata().join(file);
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut v);
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
}

/// Publishes `spec` under `base/name` with `keys`.
fn publish(base: &Path, name: &str, keys: &Keys, spec: &Spec) -> Published {
    let dir = base.join(name);
    let metadata = dir.join("metadata");
    let targets = dir.join("targets");
    let src = dir.join("src");
    for d in [&metadata, &targets, &src] {
        std::fs::create_dir_all(d).unwrap();
    }
    // Roots 1..=n, each signed by the root key (a rotation that keeps the key).
    let mut pinned_root = Vec::new();
    for v in 1..=spec.root_versions {
        let root_key = match spec.root_key_override {
            Some(from) if v >= from as u64 => &keys.delegated,
            _ => &keys.root,
        };
        let bytes = sign_root(
            root_metadata(keys, root_key, v, spec.timestamp_threshold),
            root_key,
        );
        std::fs::write(metadata.join(format!("{v}.root.json")), &bytes).unwrap();
        if v == 1 {
            pinned_root = bytes.clone();
        }
        std::fs::write(dir.join("root.json"), &bytes).unwrap();
    }
    // The editor starts from the newest root the keys in `keys.root` can sign with.
    let editor_root = if spec.root_key_override.is_some() {
        metadata.join("1.root.json")
    } else {
        dir.join("root.json")
    };
    std::fs::write(src.join("trusted_root.json"), spec.trusted_root).unwrap();
    block_on(async {
        let mut editor = RepositoryEditor::new(&editor_root).await.unwrap();
        editor
            .snapshot_version(nz(spec.snapshot))
            .snapshot_expires(jiff(EXPIRES))
            .timestamp_version(nz(spec.timestamp))
            .timestamp_expires(jiff(EXPIRES))
            .targets_version(nz(spec.targets))
            .unwrap()
            .targets_expires(jiff(EXPIRES))
            .unwrap();
        editor
            .add_target_path(src.join("trusted_root.json"))
            .await
            .unwrap();
        if let Some(expires) = spec.delegated_expires {
            editor
                .delegate_role(
                    "team",
                    &[keys.delegated.source()],
                    PathSet::Paths(vec![PathPattern::new("team/*").unwrap()]),
                    false,
                    nz(1),
                    jiff(expires),
                    nz(3),
                )
                .await
                .unwrap();
        }
        let signed = editor.sign(&keys.all_sources()).await.unwrap();
        signed.write(&metadata).await.unwrap();
        signed
            .copy_targets(&src, &targets, PathExists::Replace)
            .await
            .unwrap();
    });
    Published { dir, pinned_root }
}

fn setup() -> (TempDir, Keys) {
    let tmp = TempDir::new().unwrap();
    let keys = Keys::generate(tmp.path());
    (tmp, keys)
}

#[test]
fn a_clean_repository_verifies() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "clean", &keys, &Spec::default());
    let verified = repo.repo().verify(&repo.pinned_root, at(AT), None).unwrap();
    let versions: Vec<(Role, u64)> = verified
        .roles()
        .iter()
        .map(|r| (r.role.clone(), r.version))
        .collect();
    assert_eq!(
        versions,
        [
            (Role::Root, 1),
            (Role::Timestamp, 1),
            (Role::Snapshot, 1),
            (Role::Targets, 1)
        ]
    );
    assert_eq!(
        verified.trusted_root().bytes(),
        Spec::default().trusted_root
    );
}

#[test]
fn a_corrupted_signature_fails_the_threshold() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "badsig", &keys, &Spec::default());
    // Both timestamp keys signed; corrupt every signature.
    repo.edit_json("timestamp.json", |v| {
        for s in v["signatures"].as_array_mut().unwrap() {
            let sig = s["sig"].as_str().unwrap().to_owned();
            let flipped = if sig.starts_with('0') { "1" } else { "0" };
            s["sig"] = format!("{flipped}{}", &sig[1..]).into();
        }
    });
    assert_eq!(
        repo.verify(None),
        Err(TufError::SignatureThreshold {
            role: Role::Timestamp,
            threshold: 1,
            valid: 0
        })
    );
}

#[test]
fn tampered_signed_content_fails_the_threshold() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "tampered", &keys, &Spec::default());
    repo.edit_json("timestamp.json", |v| {
        v["signed"]["expires"] = "2099-01-01T00:00:00Z".into();
    });
    assert_eq!(
        repo.verify(None),
        Err(TufError::SignatureThreshold {
            role: Role::Timestamp,
            threshold: 1,
            valid: 0
        })
    );
}

#[test]
fn one_of_two_required_signatures_is_not_enough() {
    let (tmp, keys) = setup();
    let spec = Spec {
        timestamp_threshold: 2,
        ..Spec::default()
    };
    let repo = publish(tmp.path(), "threshold", &keys, &spec);
    repo.verify(None).unwrap();
    repo.edit_json("timestamp.json", |v| {
        v["signatures"].as_array_mut().unwrap().truncate(1);
    });
    assert_eq!(
        repo.verify(None),
        Err(TufError::SignatureThreshold {
            role: Role::Timestamp,
            threshold: 2,
            valid: 1
        })
    );
}

#[test]
fn root_rotation_follows_to_the_newest_root() {
    let (tmp, keys) = setup();
    let spec = Spec {
        root_versions: 3,
        ..Spec::default()
    };
    let repo = publish(tmp.path(), "rotated", &keys, &spec);
    let state = repo.verify(None).unwrap();
    assert_eq!(state.role(&Role::Root).unwrap().version, 3);
}

#[test]
fn root_rotation_not_signed_by_the_old_root_is_rejected() {
    let (tmp, keys) = setup();
    // Root v2 names a new root key and is signed only by it.
    let spec = Spec {
        root_versions: 2,
        root_key_override: Some(2),
        ..Spec::default()
    };
    let repo = publish(tmp.path(), "brokenrotation", &keys, &spec);
    assert_eq!(
        repo.verify(None),
        Err(TufError::RootRotation {
            to_version: 2,
            threshold: 1,
            valid: 0
        })
    );
}

#[test]
fn a_root_file_holding_the_wrong_version_is_rejected() {
    let (tmp, keys) = setup();
    let spec = Spec {
        root_versions: 3,
        ..Spec::default()
    };
    let repo = publish(tmp.path(), "rootskip", &keys, &spec);
    std::fs::copy(
        repo.metadata().join("3.root.json"),
        repo.metadata().join("2.root.json"),
    )
    .unwrap();
    assert_eq!(
        repo.verify(None),
        Err(TufError::RootVersionMismatch {
            expected: 2,
            found: 3
        })
    );
}

#[test]
fn each_role_rolled_back_is_named() {
    let (tmp, keys) = setup();
    let newer = Spec {
        root_versions: 2,
        timestamp: 2,
        snapshot: 2,
        targets: 2,
        ..Spec::default()
    };
    let stored = publish(tmp.path(), "newer", &keys, &newer)
        .verify(None)
        .unwrap();
    let cases: [(Role, Spec); 4] = [
        (
            Role::Root,
            Spec {
                root_versions: 1,
                ..newer.clone()
            },
        ),
        (
            Role::Timestamp,
            Spec {
                timestamp: 1,
                ..newer.clone()
            },
        ),
        (
            Role::Snapshot,
            // A lower snapshot must come with a newer timestamp, or the timestamp equivocates.
            Spec {
                timestamp: 3,
                snapshot: 1,
                ..newer.clone()
            },
        ),
        (
            Role::Targets,
            Spec {
                timestamp: 3,
                snapshot: 3,
                targets: 1,
                ..newer.clone()
            },
        ),
    ];
    for (i, (role, spec)) in cases.into_iter().enumerate() {
        let older = publish(tmp.path(), &format!("older{i}"), &keys, &spec);
        assert_eq!(
            older.verify(Some(&stored)),
            Err(TufError::Rollback {
                role,
                stored: 2,
                offered: 1
            })
        );
    }
}

#[test]
fn same_version_different_content_is_equivocation() {
    let (tmp, keys) = setup();
    let first = publish(tmp.path(), "first", &keys, &Spec::default());
    let stored = first.verify(None).unwrap();
    let other = Spec {
        trusted_root: br#"{"mediaType":"something else"}"#,
        ..Spec::default()
    };
    let second = publish(tmp.path(), "second", &keys, &other);
    let err = second.verify(Some(&stored)).unwrap_err();
    // Timestamp v1 differs (it signs a different snapshot), and is checked first.
    assert!(
        matches!(&err, TufError::Equivocation { role: Role::Timestamp, version: 1, stored_sha256, offered_sha256 }
            if stored_sha256 == &stored.role(&Role::Timestamp).unwrap().sha256
            && offered_sha256 != stored_sha256),
        "{err:?}"
    );
}

/// Publishes two repositories with the same keys but different content, copies `file` from the
/// second into the first, and returns the first's verification error.
fn mix_in_from_another_publication(file: &str) -> TufError {
    let (tmp, keys) = setup();
    let a = publish(tmp.path(), "a", &keys, &Spec::default());
    let b = publish(
        tmp.path(),
        "b",
        &keys,
        &Spec {
            trusted_root: b"{}",
            ..Spec::default()
        },
    );
    std::fs::copy(b.metadata().join(file), a.metadata().join(file)).unwrap();
    a.verify(None).unwrap_err()
}

#[test]
fn targets_from_another_publication_do_not_match_the_snapshot() {
    let err = mix_in_from_another_publication("1.targets.json");
    assert!(
        matches!(&err, TufError::MetadataHashMismatch { file, .. } if file == "1.targets.json"),
        "{err:?}"
    );
}

#[test]
fn a_snapshot_from_another_publication_does_not_match_the_timestamp() {
    let err = mix_in_from_another_publication("1.snapshot.json");
    assert!(
        matches!(&err, TufError::MetadataHashMismatch { file, .. } if file == "1.snapshot.json"),
        "{err:?}"
    );
}

#[test]
fn a_target_with_other_bytes_is_rejected() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "targethash", &keys, &Spec::default());
    let file = repo.target_file("trusted_root.json");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let err = repo.verify(None).unwrap_err();
    assert!(
        matches!(&err, TufError::TargetHashMismatch { target, expected, calculated }
            if target == "trusted_root.json" && expected != calculated),
        "{err:?}"
    );
}

#[test]
fn a_target_longer_than_signed_is_rejected() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "targetlen", &keys, &Spec::default());
    let file = repo.target_file("trusted_root.json");
    let mut bytes = std::fs::read(&file).unwrap();
    let listed = bytes.len() as u64;
    bytes.push(b'\n');
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(
        repo.verify(None),
        Err(TufError::TargetLengthMismatch {
            target: "trusted_root.json".into(),
            listed
        })
    );
}

#[test]
fn oversized_timestamp_metadata_is_rejected() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "oversized", &keys, &Spec::default());
    let path = repo.metadata().join("timestamp.json");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.resize(1024 * 1024 + 1, b' ');
    std::fs::write(&path, &bytes).unwrap();
    let err = repo.verify(None).unwrap_err();
    assert!(
        matches!(&err, TufError::MetadataTooLarge { file, max_size: 1_048_576, .. } if file == "timestamp.json"),
        "{err:?}"
    );
}

#[test]
fn missing_timestamp_is_named() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "notimestamp", &keys, &Spec::default());
    std::fs::remove_file(repo.metadata().join("timestamp.json")).unwrap();
    assert_eq!(
        repo.verify(None),
        Err(TufError::MetadataMissing {
            file: "timestamp.json".into()
        })
    );
}

#[test]
fn delegated_role_is_verified_and_listed() {
    let (tmp, keys) = setup();
    let spec = Spec {
        delegated_expires: Some(EXPIRES),
        ..Spec::default()
    };
    let repo = publish(tmp.path(), "delegated", &keys, &spec);
    let verified = repo.repo().verify(&repo.pinned_root, at(AT), None).unwrap();
    let last = verified.roles().last().unwrap();
    assert_eq!(
        (&last.role, last.version),
        (&Role::Delegated("team".into()), 3)
    );
    assert_eq!(
        verified
            .state()
            .role(&Role::Delegated("team".into()))
            .unwrap()
            .version,
        3
    );
}

#[test]
fn an_expired_delegated_role_is_named() {
    let (tmp, keys) = setup();
    let spec = Spec {
        delegated_expires: Some("2029-01-01T00:00:00Z"),
        ..Spec::default()
    };
    let repo = publish(tmp.path(), "delegatedexpired", &keys, &spec);
    assert_eq!(
        repo.verify(None),
        Err(TufError::Expired {
            role: Role::Delegated("team".into()),
            version: 3,
            expires: at("2029-01-01T00:00:00Z"),
            at: at(AT)
        })
    );
}

#[test]
fn a_tampered_delegated_role_fails_its_signature_check() {
    let (tmp, keys) = setup();
    let spec = Spec {
        delegated_expires: Some(EXPIRES),
        ..Spec::default()
    };
    let repo = publish(tmp.path(), "delegatedtampered", &keys, &spec);
    // Snapshot pins the delegated file's hash, so any edit is caught there first.
    repo.edit_json("3.team.json", |v| {
        v["signed"]["expires"] = "2099-01-01T00:00:00Z".into();
    });
    let err = repo.verify(None).unwrap_err();
    assert!(
        matches!(&err, TufError::MetadataHashMismatch { file, .. } if file == "3.team.json"),
        "{err:?}"
    );
}

#[test]
fn expiry_uses_the_reference_time_not_the_clock() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "clock", &keys, &Spec::default());
    // Far past every expiry: fails, naming root first (TUF order).
    let err = repo
        .repo()
        .verify(&repo.pinned_root, at("2031-01-01T00:00:00Z"), None)
        .unwrap_err();
    assert_eq!(
        err,
        TufError::Expired {
            role: Role::Root,
            version: 1,
            expires: at(EXPIRES),
            at: at("2031-01-01T00:00:00Z")
        }
    );
}

#[test]
fn verify_inside_a_multi_thread_runtime() {
    let (tmp, keys) = setup();
    let repo = publish(tmp.path(), "inruntime", &keys, &Spec::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let result =
        runtime.block_on(async { repo.verify(None).map(|s| s.role(&Role::Root).cloned()) });
    assert_eq!(result.unwrap().unwrap().version, 1);
}
