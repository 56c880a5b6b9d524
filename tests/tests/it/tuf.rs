//! TUF repositories the kit writes load with tough's client.

use airlock_tests::TufRepoBuilder;
use tough::{ExpirationEnforcement, IntoVec, RepositoryLoader, TargetName};
use url::Url;

use crate::common::{base_time, instance};

fn load(
    repo: &airlock_tests::TufRepo,
    root: &[u8],
    exp: ExpirationEnforcement,
) -> Result<tough::Repository, Box<tough::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(
        RepositoryLoader::new(
            &root,
            Url::from_directory_path(&repo.metadata_dir).unwrap(),
            Url::from_directory_path(&repo.targets_dir).unwrap(),
        )
        .expiration_enforcement(exp)
        .load(),
    )
    .map_err(Box::new)
}

fn read_target(repo: &tough::Repository, name: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stream = repo
            .read_target(&TargetName::new(name).unwrap())
            .await
            .unwrap()
            .unwrap();
        stream.into_vec().await.unwrap()
    })
}

#[test]
fn repository_with_rotated_roots_loads_and_carries_the_trusted_root() {
    let inst = instance(31);
    let trusted_root = inst.trusted_root_json().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let later = base_time() + chrono::Duration::days(500);
    let repo = TufRepoBuilder::new(31, base_time())
        .trusted_root(trusted_root.clone())
        .rotate_root(later)
        .rotate_root_with(later, true, true)
        .targets_role(3, later)
        .snapshot_role(4, later)
        .timestamp_role(5, later)
        .write(dir.path())
        .unwrap();
    let loaded = load(&repo, &repo.initial_root, ExpirationEnforcement::Unsafe).unwrap();
    assert_eq!(loaded.root().signed.version.get(), 3);
    assert_eq!(loaded.targets().signed.version.get(), 3);
    assert_eq!(loaded.snapshot().signed.version.get(), 4);
    assert_eq!(loaded.timestamp().signed.version.get(), 5);
    assert_eq!(read_target(&loaded, "trusted_root.json"), trusted_root);
}

#[test]
fn rotation_without_the_old_key_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TufRepoBuilder::new(32, base_time())
        .target("x", b"x".to_vec())
        .rotate_root_with(base_time() + chrono::Duration::days(400), false, false)
        .write(dir.path())
        .unwrap();
    let err = load(&repo, &repo.initial_root, ExpirationEnforcement::Unsafe).unwrap_err();
    assert!(
        matches!(
            *err,
            tough::error::Error::VerifyMetadata { .. }
                | tough::error::Error::VerifyRoleMetadata { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn expired_timestamp_is_rejected_when_expiry_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    // base_time() is in the past of any clock running these tests; the timestamp lasts 7 days.
    let repo = TufRepoBuilder::new(33, base_time())
        .target("x", b"x".to_vec())
        .write(dir.path())
        .unwrap();
    let err = load(&repo, &repo.initial_root, ExpirationEnforcement::Safe).unwrap_err();
    assert!(
        matches!(*err, tough::error::Error::ExpiredMetadata { .. }),
        "{err:?}"
    );
}

#[test]
fn re_signing_into_the_same_directory_moves_the_repository_forward() {
    let dir = tempfile::tempdir().unwrap();
    let later = base_time() + chrono::Duration::days(30);
    let builder = TufRepoBuilder::new(34, base_time()).target("x", b"x".to_vec());
    builder.write(dir.path()).unwrap();
    let repo = builder
        .clone()
        .snapshot_role(2, later)
        .timestamp_role(2, later)
        .rotate_root(later)
        .write(dir.path())
        .unwrap();
    let loaded = load(&repo, &repo.initial_root, ExpirationEnforcement::Unsafe).unwrap();
    assert_eq!(loaded.root().signed.version.get(), 2);
    assert_eq!(loaded.snapshot().signed.version.get(), 2);
    assert_eq!(loaded.timestamp().signed.version.get(), 2);
    assert!(repo.metadata_dir.join("1.snapshot.json").exists());
}
