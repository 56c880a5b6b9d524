//! What the appliance keeps is its own: kept archives and released files are copies that
//! writing to the source or to a released file cannot change, their digests are recorded and
//! re-checked by `audit verify --deep`, symlinks in the inbox are refused, and quotas bound
//! what rejected and oversized archives cost.

use std::io::{Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use airlock_appliance::admin::{self, QuotaChange};
use airlock_appliance::inbox::Inbox;
use airlock_appliance::integrity::{self, FileProblem};
use airlock_appliance::pipeline::{self, ImportError, Verdict};
use airlock_appliance::store::{self, ImportState, KeptArchive};
use airlock_tests::ArtifactPlan;
use sha2::{Digest as _, Sha256};

use crate::site::Site;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What is recorded of import `id`'s archive.
fn kept(site: &Site, id: i64) -> KeptArchive {
    store::imports::kept_archives(site.app.store().read())
        .unwrap()
        .into_iter()
        .find(|k| k.id == id)
        .unwrap()
}

/// Overwrites the first bytes of `path` in place (same inode, as a writer holding it would).
fn scribble(path: &Path) {
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(b"SCRIBBLED").unwrap();
    file.sync_all().unwrap();
}

fn good_archive(site: &mut Site, name: &str, sequence: u64) -> PathBuf {
    site.archive(
        name,
        sequence,
        &[ArtifactPlan::signed("tool.bin", b"the bytes of the tool\n")],
    )
}

#[test]
fn writing_to_the_cli_source_after_import_leaves_the_kept_archive_unchanged() {
    let mut site = Site::new(601);
    let archive = good_archive(&mut site, "cli-source", 1);
    let original = std::fs::read(&archive).unwrap();
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    let id = outcome.import_id;

    // The digest is recorded on the row and in the audit chain.
    let record = kept(&site, id);
    assert_eq!(record.path, format!("archive/{id}.airlock.tar.zst"));
    assert_eq!(record.archive_sha256, sha256_hex(&original));
    assert_eq!(record.kept_sha256, record.archive_sha256);
    assert_eq!(record.kept_bytes, original.len() as u64);
    assert!(
        site.audit_actions()
            .iter()
            .any(|a| a == "import.archive_kept")
    );

    let kept_path = site.data().join(&record.path);
    assert_ne!(
        std::fs::metadata(&kept_path).unwrap().ino(),
        std::fs::metadata(&archive).unwrap().ino(),
        "a copy, not a link"
    );
    scribble(&archive);
    assert_eq!(std::fs::read(&kept_path).unwrap(), original);
    assert!(
        integrity::verify_files(&site.app)
            .unwrap()
            .problems
            .is_empty()
    );
}

#[test]
fn writing_to_a_released_file_leaves_the_evidence_unchanged() {
    let mut site = Site::new(602);
    let archive = good_archive(&mut site, "released", 1);
    let outcome = site.import(&archive);
    assert_eq!(outcome.artifacts[0].verdict, Verdict::Passed, "{outcome:?}");
    let id = outcome.import_id;
    let released = site.data().join(&outcome.artifacts[0].location);
    let digest = sha256_hex(b"the bytes of the tool\n");
    let blob = site
        .data()
        .join(format!("quarantine/{id}/evidence/blobs/sha256/{digest}"));
    assert_ne!(
        std::fs::metadata(&released).unwrap().ino(),
        std::fs::metadata(&blob).unwrap().ino()
    );
    scribble(&released);
    assert_eq!(std::fs::read(&blob).unwrap(), b"the bytes of the tool\n");
    let checked = integrity::verify_files(&site.app).unwrap();
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert!(checked.blobs >= 2 && checked.archives == 1, "{checked:?}");
}

#[test]
fn audit_verify_deep_names_a_tampered_kept_archive_and_evidence_blob() {
    let mut site = Site::new(603);
    let archive = good_archive(&mut site, "tampered", 1);
    let outcome = site.import(&archive);
    let id = outcome.import_id;
    let record = kept(&site, id);
    let digest = sha256_hex(b"the bytes of the tool\n");
    let blob = format!("quarantine/{id}/evidence/blobs/sha256/{digest}");

    scribble(&site.data().join(&record.path));
    scribble(&site.data().join(&blob));
    let problems = integrity::verify_files(&site.app).unwrap().problems;
    assert_eq!(problems.len(), 2, "{problems:?}");
    let FileProblem::Changed { path, recorded, .. } = &problems[0] else {
        panic!("{problems:?}")
    };
    assert_eq!(
        (path.as_path(), recorded.as_str()),
        (Path::new(&record.path), record.kept_sha256.as_str())
    );
    let FileProblem::Changed { path, recorded, .. } = &problems[1] else {
        panic!("{problems:?}")
    };
    assert_eq!(
        (path.as_path(), recorded.as_str()),
        (Path::new(&blob), digest.as_str())
    );

    // The CLI: exit 1, each named on its own line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock-appliance"))
        .args(["audit", "verify", "--deep", "--data"])
        .arg(site.data())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "kept file changed: archive/{id}.airlock.tar.zst: SHA-256 "
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("kept file changed: {blob}: SHA-256 ")),
        "{stderr}"
    );
    // Without --deep only the chain is checked, and it holds.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock-appliance"))
        .args(["audit", "verify", "--data"])
        .arg(site.data())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// Splits `archive` into `NAME.001` and `NAME.002` in `dir` (the parts are the byte stream
/// cut anywhere, as `create --split` writes them).
fn split(archive: &Path, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let bytes = std::fs::read(archive).unwrap();
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let first = dir.join(format!("{name}.001"));
    let second = dir.join(format!("{name}.002"));
    std::fs::write(&first, a).unwrap();
    std::fs::write(&second, b).unwrap();
    (first, second)
}

#[test]
fn a_symlinked_split_part_in_the_inbox_is_refused_not_followed() {
    let mut site = Site::new(604);
    let archive = good_archive(&mut site, "split", 1);
    let inbox = site.data().join("inbox");
    let outside = site.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let (first, second) = split(&archive, &inbox, "split.airlock.tar.zst");
    // The second part lives outside the data folder; the inbox holds a symlink to it.
    let target = outside.join("part-2");
    std::fs::rename(&second, &target).unwrap();
    std::os::unix::fs::symlink(&target, &second).unwrap();

    let mut watcher = Inbox::default();
    assert!(
        watcher.scan(&site.app).is_empty(),
        "first sight: not yet stable"
    );
    let results = watcher.scan(&site.app);
    assert_eq!(results.len(), 1);
    match &results[0] {
        (path, Err(ImportError::NotRegular { path: refused })) => {
            assert_eq!((path, refused), (&first, &second));
        }
        other => panic!("{other:?}"),
    }
    // Nothing was recorded or kept, nothing moved; reported once, not at every scan.
    assert_eq!(store::imports::count(site.app.store().read()).unwrap(), 0);
    assert!(first.is_file() && second.is_symlink());
    assert_eq!(
        std::fs::read_dir(site.data().join("archive"))
            .unwrap()
            .count(),
        0
    );
    assert!(watcher.scan(&site.app).is_empty());

    // A symlink as the archive itself is refused the same way.
    std::fs::remove_file(&first).unwrap();
    std::fs::remove_file(&second).unwrap();
    let link = inbox.join("linked.airlock.tar.zst");
    std::os::unix::fs::symlink(&archive, &link).unwrap();
    let results = watcher.scan(&site.app);
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(
        matches!(&results[0], (p, Err(ImportError::NotRegular { path })) if p == &link && path == &link),
        "{results:?}"
    );

    // Regular parts are imported, copied into archive/ and removed from the inbox.
    std::fs::remove_file(&link).unwrap();
    let (first, second) = split(&archive, &inbox, "split.airlock.tar.zst");
    watcher.scan(&site.app);
    let results = watcher.scan(&site.app);
    let outcome = results[0].1.as_ref().unwrap();
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert!(!first.exists() && !second.exists());
    let record = kept(&site, outcome.import_id);
    assert_eq!(
        record.archive_sha256,
        sha256_hex(&std::fs::read(&archive).unwrap())
    );
    for part in 1..=2 {
        let path = site.data().join(format!(
            "archive/{}.airlock.tar.zst.{part:03}",
            outcome.import_id
        ));
        assert!(std::fs::symlink_metadata(path).unwrap().is_file());
    }
    assert!(
        integrity::verify_files(&site.app)
            .unwrap()
            .problems
            .is_empty()
    );
}

/// `mib` MiB of bytes that are no archive, as `NAME.airlock.tar.zst` in `dir`.
fn garbage(dir: &Path, name: &str, mib: usize) -> (PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..mib << 20)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    let path = dir.join(format!("{name}.airlock.tar.zst"));
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[test]
fn a_rejected_archive_keeps_its_first_mib_size_and_digest_unless_kept_whole() {
    let site = Site::new(605);
    let dir = site.dir.path().to_owned();
    let head = pipeline::REJECTED_HEAD_BYTES as usize;

    // By default: only the first MiB, with the whole archive's size and SHA-256 recorded.
    let (path, bytes) = garbage(&dir, "noise", 3);
    let outcome = site.import(&path);
    assert_eq!(outcome.state, ImportState::Rejected, "{outcome:?}");
    let id = outcome.import_id;
    let record = kept(&site, id);
    assert_eq!(
        record,
        KeptArchive {
            id,
            path: format!("archive/{id}.airlock.tar.zst.head"),
            archive_sha256: sha256_hex(&bytes),
            kept_bytes: head as u64,
            kept_sha256: sha256_hex(&bytes[..head]),
        }
    );
    assert_eq!(site.import_row(id).archive_size, bytes.len() as u64);
    assert_eq!(
        std::fs::read(site.data().join(&record.path)).unwrap(),
        &bytes[..head]
    );
    assert!(
        !site
            .data()
            .join(format!("archive/{id}.airlock.tar.zst"))
            .exists()
    );
    assert!(
        integrity::verify_files(&site.app)
            .unwrap()
            .problems
            .is_empty()
    );

    // Kept whole when the admin asks, while they fit in their room (5 MiB: one, not two).
    admin::set_quotas(
        &site.app,
        "test",
        &QuotaChange {
            keep_rejected_whole: Some(true),
            rejected_max_total_bytes: Some(5 << 20),
            ..QuotaChange::default()
        },
    )
    .unwrap();
    let (path, bytes) = garbage(&dir, "kept-whole", 3);
    let id = site.import(&path).import_id;
    let record = kept(&site, id);
    assert_eq!(
        (
            record.path.as_str(),
            record.kept_bytes,
            record.kept_sha256.as_str()
        ),
        (
            format!("archive/{id}.airlock.tar.zst").as_str(),
            bytes.len() as u64,
            sha256_hex(&bytes).as_str()
        )
    );
    let (path, bytes) = garbage(&dir, "over-the-room", 3);
    let id = site.import(&path).import_id;
    let record = kept(&site, id);
    assert_eq!(
        (record.kept_bytes, record.kept_sha256),
        (head as u64, sha256_hex(&bytes[..head]))
    );
    assert_eq!(
        admin::quotas(&site.app).unwrap().rejected_kept_whole_bytes,
        3 << 20
    );
}

#[test]
fn an_archive_over_the_size_limit_is_refused_from_the_inbox_before_it_is_kept() {
    let mut site = Site::new(606);
    admin::set_quotas(
        &site.app,
        "test",
        &QuotaChange {
            max_archive_bytes: Some(1 << 20),
            ..QuotaChange::default()
        },
    )
    .unwrap();
    let inbox = site.data().join("inbox");
    let (big, bytes) = garbage(&inbox, "big", 2);
    let mut watcher = Inbox::default();
    watcher.scan(&site.app);
    let results = watcher.scan(&site.app);
    match &results[..] {
        [(path, Err(ImportError::TooLarge { size, limit }))] => {
            assert_eq!((path, *size, *limit), (&big, bytes.len() as u64, 1 << 20));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        results[0].1.as_ref().unwrap_err().to_string(),
        "the archive is 2097152 bytes, more than the 1048576 bytes an import may be"
    );
    assert_eq!(store::imports::count(site.app.store().read()).unwrap(), 0);
    assert!(big.is_file(), "left where it was");
    assert!(watcher.scan(&site.app).is_empty(), "reported once");

    // Under the limit, imports go on as before.
    let archive = good_archive(&mut site, "small", 1);
    assert!(std::fs::metadata(&archive).unwrap().len() < 1 << 20);
    assert_eq!(site.import(&archive).state, ImportState::Done);
}

#[test]
fn init_flags_and_settings_quotas_set_the_quotas() {
    let dir = tempfile::tempdir().unwrap();
    let world = airlock_tests::World::new(
        607,
        &dir.path().join("world"),
        chrono::Utc::now() - chrono::Duration::hours(1),
    )
    .unwrap();
    let data = dir.path().join("data");
    let password = dir.path().join("admin.pw");
    std::fs::write(&password, "a long admin password\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_airlock-appliance");
    let out = std::process::Command::new(bin)
        .args(["init", "--data"])
        .arg(&data)
        .arg("--tuf-root")
        .arg(format!(
            "{}={}",
            airlock_tests::TUF_NAME,
            world.tuf_root_path().display()
        ))
        .arg("--admin-password-file")
        .arg(&password)
        .args(["--max-archive-size", "2GiB", "--keep-rejected", "whole"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = |data: &Path| -> serde_json::Value {
        let out = std::process::Command::new(bin)
            .args(["settings", "show", "--data"])
            .arg(data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(
        show(&data),
        serde_json::json!({
            "max_archive_bytes": 2u64 << 30,
            "keep_rejected_whole": true,
            "rejected_max_total_bytes": pipeline::DEFAULT_REJECTED_MAX_TOTAL,
            "rejected_kept_whole_bytes": 0,
        })
    );
    let out = std::process::Command::new(bin)
        .args(["settings", "quotas", "--keep-rejected", "head"])
        .args(["--rejected-max-total", "512MiB", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = show(&data);
    assert_eq!(
        (
            &shown["keep_rejected_whole"],
            &shown["rejected_max_total_bytes"]
        ),
        (&serde_json::json!(false), &serde_json::json!(512u64 << 20))
    );
    // A size clap cannot read is a usage error.
    let out = std::process::Command::new(bin)
        .args(["settings", "quotas", "--max-archive-size", "2GB", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("\"2GB\": expected bytes, or a number with KiB, MiB, GiB or TiB"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
