//! The Sigstore public-good TUF repository (roots 1–15) as published, read from
//! `../shared/testdata/sigstore-tuf`; skipped with a reason when that folder is absent.

use std::path::PathBuf;

use airlock_trust_root::{
    LocalRepository, RepositoryFolder, RepositoryName, Role, TrustState, TufError,
};
use chrono::{DateTime, Utc};

const TRUSTED_ROOT_SHA256: &str =
    "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66";

fn testdata() -> Option<PathBuf> {
    crate::outside::shared_testdata("sigstore-tuf/metadata")?;
    crate::outside::shared_testdata("sigstore-tuf")
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn repo(dir: &std::path::Path) -> LocalRepository {
    LocalRepository::new(
        RepositoryName::new("sigstore-public-good").unwrap(),
        dir.join("metadata"),
        dir.join("targets"),
    )
}

fn root(dir: &std::path::Path, version: u32) -> Vec<u8> {
    std::fs::read(dir.join(format!("metadata/{version}.root.json"))).unwrap()
}

#[test]
fn pinned_at_v12_walks_to_v15_and_yields_trusted_root() {
    let Some(dir) = testdata() else { return };
    let verified = repo(&dir)
        .verify(&root(&dir, 12), at("2026-08-22T00:00:00Z"), None)
        .unwrap();
    let versions: Vec<(Role, u64)> = verified
        .roles()
        .iter()
        .map(|r| (r.role.clone(), r.version))
        .collect();
    assert_eq!(
        versions,
        [
            (Role::Root, 15),
            (Role::Timestamp, versions[1].1),
            (Role::Snapshot, 165),
            (Role::Targets, 14),
            (Role::Delegated("registry.npmjs.org".into()), 8),
        ]
    );
    assert_eq!(verified.trusted_root().sha256(), TRUSTED_ROOT_SHA256);
    assert_eq!(verified.state().trusted_root_sha256(), TRUSTED_ROOT_SHA256);
    assert_eq!(verified.current_root(), root(&dir, 15).as_slice());
    let names: Vec<&str> = verified
        .signing_configs()
        .iter()
        .map(|t| t.name())
        .collect();
    assert!(names.contains(&"signing_config.v0.2.json"), "{names:?}");
}

#[test]
fn the_files_read_are_enough_to_repeat_the_verification() {
    let Some(dir) = testdata() else { return };
    let when = at("2026-08-22T00:00:00Z");
    let verified = repo(&dir).verify(&root(&dir, 12), when, None).unwrap();
    let metadata: Vec<&str> = verified
        .files()
        .iter()
        .filter(|f| f.folder == RepositoryFolder::Metadata)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        metadata,
        [
            "12.root.json",
            "13.root.json",
            "14.root.json",
            "14.targets.json",
            "15.root.json",
            "165.snapshot.json",
            "8.registry.npmjs.org.json",
            "timestamp.json",
        ]
    );
    assert!(
        verified
            .files()
            .iter()
            .any(|f| f.folder == RepositoryFolder::Targets
                && f.path == format!("{TRUSTED_ROOT_SHA256}.trusted_root.json"))
    );

    let copy = tempfile::tempdir().unwrap();
    for file in verified.files() {
        let folder = match file.folder {
            RepositoryFolder::Metadata => "metadata",
            RepositoryFolder::Targets => "targets",
        };
        let path = copy.path().join(folder).join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        assert_eq!(
            file.bytes,
            std::fs::read(dir.join(folder).join(&file.path)).unwrap()
        );
        std::fs::write(path, &file.bytes).unwrap();
    }
    let again = repo(copy.path())
        .verify(&root(&dir, 12), when, None)
        .unwrap();
    assert_eq!(again.state(), verified.state());
    assert_eq!(again.files(), verified.files());
}

#[test]
fn pinned_at_v14_walks_to_v15() {
    let Some(dir) = testdata() else { return };
    let verified = repo(&dir)
        .verify(&root(&dir, 14), at("2026-08-22T00:00:00Z"), None)
        .unwrap();
    assert_eq!(verified.roles()[0].role, Role::Root);
    assert_eq!(verified.roles()[0].version, 15);
    assert_eq!(verified.trusted_root().sha256(), TRUSTED_ROOT_SHA256);
}

#[test]
fn after_root_expiry_the_root_is_named_first() {
    // Both root v15 (2026-11-20) and timestamp (2026-08-28) are expired on 2026-11-22; roles
    // are judged in TUF order, so the root is reported.
    let Some(dir) = testdata() else { return };
    let err = repo(&dir)
        .verify(&root(&dir, 12), at("2026-11-22T00:00:00Z"), None)
        .unwrap_err();
    let TufError::Expired {
        role,
        version,
        expires,
        at: judged,
    } = &err
    else {
        panic!("expected Expired, got {err:?}");
    };
    assert_eq!((role, *version), (&Role::Root, 15));
    assert_eq!(expires.date_naive().to_string(), "2026-11-20");
    assert_eq!(*judged, at("2026-11-22T00:00:00Z"));
    assert!(
        err.to_string()
            .starts_with("root metadata version 15 expired at 2026-11-20T")
    );
}

#[test]
fn after_timestamp_expiry_the_timestamp_is_named() {
    let Some(dir) = testdata() else { return };
    let err = repo(&dir)
        .verify(&root(&dir, 12), at("2026-09-01T00:00:00Z"), None)
        .unwrap_err();
    assert!(
        matches!(&err, TufError::Expired { role: Role::Timestamp, expires, .. }
            if *expires == at("2026-08-28T19:25:56Z")),
        "{err:?}"
    );
}

#[test]
fn roots_before_v12_are_rejected_by_tough() {
    let Some(dir) = testdata() else { return };
    let err = repo(&dir)
        .verify(&root(&dir, 5), at("2026-08-22T00:00:00Z"), None)
        .unwrap_err();
    // Sigstore's early roots list key ids that are not the SHA-256 of the keys; tough refuses
    // the first such root it is asked to walk through (here root v11, on the way from v5).
    assert!(
        matches!(&err, TufError::MetadataParse { role: Role::Root, file, reason }
            if file == "11.root.json" && reason.starts_with("Invalid key ID")),
        "{err:?}"
    );
}

#[test]
fn state_round_trips_and_accepts_the_same_repository_later() {
    let Some(dir) = testdata() else { return };
    let first = repo(&dir)
        .verify(&root(&dir, 12), at("2026-08-21T00:00:00Z"), None)
        .unwrap();
    let json = serde_json::to_string(first.state()).unwrap();
    let stored: TrustState = serde_json::from_str(&json).unwrap();
    repo(&dir)
        .verify(
            first.current_root(),
            at("2026-08-22T00:00:00Z"),
            Some(&stored),
        )
        .unwrap();
    let err = repo(&dir)
        .verify(&root(&dir, 12), at("2026-08-20T00:00:00Z"), Some(&stored))
        .unwrap_err();
    assert_eq!(
        err,
        TufError::ReferenceTimeBackwards {
            stored: at("2026-08-21T00:00:00Z"),
            offered: at("2026-08-20T00:00:00Z")
        }
    );
}

#[test]
fn verify_is_callable_inside_a_tokio_runtime() {
    let Some(dir) = testdata() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let sha = runtime.block_on(async {
        repo(&dir)
            .verify(&root(&dir, 12), at("2026-08-22T00:00:00Z"), None)
            .map(|v| v.trusted_root().sha256().to_owned())
    });
    assert_eq!(sha.unwrap(), TRUSTED_ROOT_SHA256);
}
