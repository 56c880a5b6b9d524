//! Crash safety: `airlock-appliance import` killed with SIGKILL while it reads a large archive,
//! and releases cut short after the verdicts were committed, leave a data folder that
//! `recover` makes consistent: nothing released without a committed verdict, no partial files,
//! an intact audit chain, and the archive importable again.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airlock_appliance::pipeline::{self, ImportError, Verdict};
use airlock_appliance::store::{self, ImportState};
use airlock_bundler::archive::Sha256Digest;
use airlock_tests::{ArtifactPlan, Signing};
use chrono::Utc;

use crate::site::Site;

/// The appliance binary, built by cargo for this test.
const APPLIANCE: &str = env!("CARGO_BIN_EXE_airlock-appliance");

/// The large artifact: a debug build stages 32 MiB in about a second on a 2-core machine,
/// ample for a 2 ms poll to catch it twice, while building the archive stays a few seconds.
const BIG: usize = 32 << 20;

/// How long a condition may take to appear.
const PATIENCE: Duration = Duration::from_secs(60);

/// What `recover` writes for an import that never committed a verdict.
const INTERRUPTED: &str =
    "interrupted: the appliance stopped before a verdict was committed; partial files removed";

/// Incompressible bytes from a fixed seed (xorshift64*), so the archive is as large as the
/// artifact and the reader's work is proportional to it.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `airlock-appliance import --data DIR FILE`, running.
fn spawn_import(site: &Site, archive: &Path) -> Child {
    Command::new(APPLIANCE)
        .arg("import")
        .arg("--data")
        .arg(site.data())
        .arg(archive)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls `ready` every 2 ms until it holds, then kills the child with SIGKILL. Panics if the
/// child exits first (the archive is too small to catch it) or after [`PATIENCE`].
fn kill_when(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if ready() {
            child.kill().unwrap();
            let status = child.wait().unwrap();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(9),
                "{status:?}"
            );
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
            }
            panic!("the import ended ({status}) before {what}: {stderr}");
        }
        assert!(start.elapsed() < PATIENCE, "no {what} after {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// After a kill before any verdict: `recover` marks the import interrupted and removes
/// everything it wrote but the kept original; nothing was released and the sequence stays.
fn assert_recovered_interrupted(site: &mut Site, id: i64) {
    assert_eq!(site.import_row(id).state, ImportState::Running);
    site.reopen();
    assert_eq!(pipeline::recover(&site.app).unwrap(), [id]);
    assert!(
        pipeline::recover(&site.app).unwrap().is_empty(),
        "recover is idempotent"
    );
    let row = site.import_row(id);
    assert_eq!(row.state, ImportState::Interrupted);
    assert_eq!(row.reason.as_deref(), Some(INTERRUPTED));
    assert!(site.artifacts(id).is_empty());
    let data = site.data();
    assert!(!data.join(format!("quarantine/{id}")).exists());
    assert!(!data.join(format!("released/{id}")).exists());
    assert!(!data.join(format!("released/.{id}.partial")).exists());
    assert!(site.files("incoming").is_empty());
    assert!(
        site.files("released").is_empty(),
        "{:?}",
        site.files("released")
    );
    assert!(data.join(format!("archive/{id}.airlock.tar.zst")).is_file());
    let publisher = store::publishers::get(site.app.store().read(), "release-team")
        .unwrap()
        .unwrap();
    assert_eq!(publisher.last_sequence, None);
    assert!(
        store::witness::heads(site.app.store().read())
            .unwrap()
            .is_empty()
    );
    site.audit_actions();
}

#[test]
fn an_import_killed_while_reading_is_interrupted_and_imports_again() {
    let mut site = Site::new(301);
    let content = noise(BIG);
    let digest = Sha256Digest::of(&content).hex();
    let archive = site.archive("big", 1, &[ArtifactPlan::signed("big.bin", &content)]);

    // Killed as soon as the reader has created its staging folder.
    let mut child = spawn_import(&site, &archive);
    let staging = site.data().join("quarantine/1/.staging");
    kill_when(&mut child, "the staging folder", || staging.is_dir());
    assert_recovered_interrupted(&mut site, 1);

    // Killed halfway through the large blob.
    let mut child = spawn_import(&site, &archive);
    let blob = site
        .data()
        .join(format!("quarantine/2/.staging/blobs/sha256/{digest}"));
    kill_when(&mut child, "half the large blob staged", || {
        std::fs::metadata(&blob).is_ok_and(|m| m.len() >= BIG as u64 / 2)
    });
    assert_recovered_interrupted(&mut site, 2);

    // The interrupted imports committed nothing: the same archive, same sequence, passes.
    let child = spawn_import(&site, &archive);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    site.reopen();
    let row = site.import_row(3);
    assert_eq!(
        (row.state, row.passed, row.failed),
        (ImportState::Done, 1, 0)
    );
    let artifacts = site.artifacts(3);
    assert_eq!(artifacts[0].verdict, Verdict::Passed);
    let released = site.files("released/3");
    assert_eq!(released.len(), 1, "{released:?}");
    let bytes = std::fs::read(site.data().join("released/3").join(&released[0])).unwrap();
    assert!(
        bytes == content,
        "the released file differs from the artifact"
    );
    assert!(!site.data().join("quarantine/3/.staging").exists());
    let actions = site.audit_actions();
    let interrupted = actions
        .iter()
        .filter(|a| *a == "import.interrupted")
        .count();
    assert_eq!(interrupted, 2, "{actions:?}");
}

#[test]
fn a_release_cut_short_after_the_verdicts_were_committed_is_finished_by_recover() {
    let mut site = Site::new(302);
    let mut loose = ArtifactPlan::signed("loose.tar.gz", b"unsigned\n");
    loose.signing = Signing::Unsigned;
    let archive = site.archive(
        "cut",
        1,
        &[ArtifactPlan::signed("tool.tar.gz", b"the tool\n"), loose],
    );
    // Something takes the partial folder's name: the release fails after the commit, as if
    // the appliance had stopped there.
    let partial = site.data().join("released/.1.partial");
    std::fs::write(&partial, b"in the way").unwrap();
    let err = site.try_import(&archive).unwrap_err();
    assert!(
        matches!(&err, ImportError::Io { path, .. } if *path == partial),
        "{err:?}"
    );
    assert_eq!(site.import_row(1).state, ImportState::Releasing);
    assert_eq!(site.artifacts(1).len(), 2, "the verdicts were committed");
    assert!(!site.data().join("released/1").exists());

    std::fs::remove_file(&partial).unwrap();
    site.reopen();
    assert_eq!(pipeline::recover(&site.app).unwrap(), [1]);
    let row = site.import_row(1);
    assert_eq!((row.state, row.reason), (ImportState::Done, None));
    let released = site.files("released/1");
    assert_eq!(released.len(), 1, "{released:?}");
    assert_eq!(released[0], "0000-tool.tar.gz");
    let bytes = std::fs::read(site.data().join("released/1").join(&released[0])).unwrap();
    assert_eq!(bytes, b"the tool\n");
    let quarantined = site.files("quarantine/1");
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    assert_eq!(quarantined[0], "0001-loose.tar.gz");
    assert_eq!(quarantined[1], "evidence/manifest.dsse.json");
    assert!(!partial.exists());
    let actions = site.audit_actions();
    assert!(
        actions.iter().any(|a| a == "release.resumed"),
        "{actions:?}"
    );
}

#[test]
fn a_quarantine_cut_short_after_the_verdicts_were_committed_is_finished_by_recover() {
    // Every artifact fails: nothing goes to released/, but the failed files still move from
    // staging into quarantine after the commit.
    let mut site = Site::new(303);
    let mut loose = ArtifactPlan::signed("loose.tar.gz", b"unsigned\n");
    loose.signing = Signing::Unsigned;
    let archive = site.archive("all-failed", 1, &[loose]);
    // A folder (not a file, which the copy would replace) takes the failed file's name.
    let obstacle = site.data().join("quarantine/1/0000-loose.tar.gz");
    std::fs::create_dir_all(obstacle.join("in-the-way")).unwrap();
    let err = site.try_import(&archive).unwrap_err();
    assert!(
        matches!(&err, ImportError::Io { path, .. } if *path == obstacle),
        "{err:?}"
    );
    assert_eq!(site.import_row(1).state, ImportState::Releasing);
    assert_eq!(site.artifacts(1)[0].verdict, Verdict::Failed);

    std::fs::remove_dir_all(&obstacle).unwrap();
    site.reopen();
    assert_eq!(pipeline::recover(&site.app).unwrap(), [1]);
    let row = site.import_row(1);
    assert_eq!((row.state, row.failed), (ImportState::Done, 1));
    let quarantined = site.files("quarantine/1");
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    assert_eq!(quarantined[0], "0000-loose.tar.gz");
    assert_eq!(quarantined[1], "evidence/manifest.dsse.json");
    assert!(!site.data().join("quarantine/1/.staging").exists());
    assert!(site.files("released").is_empty());
    let outcome_reasons: Vec<String> = serde_json::from_str(&site.artifacts(1)[0].reasons).unwrap();
    assert_eq!(outcome_reasons, ["no Sigstore bundle signs it"]);
    let actions = site.audit_actions();
    assert!(
        actions.iter().any(|a| a == "release.resumed"),
        "{actions:?}"
    );
}

/// Sets an import's state back to what a crash at some point of its release leaves.
fn crashed_in(site: &Site, id: i64, state: ImportState) {
    site.app
        .store()
        .write(|tx| store::imports::set_state(tx, id, state, None, Utc::now()))
        .unwrap();
}

fn unsigned(name: &str) -> ArtifactPlan {
    let mut plan = ArtifactPlan::signed(name, format!("{name}, unsigned\n").as_bytes());
    plan.signing = Signing::Unsigned;
    plan
}

#[test]
fn a_crash_after_the_files_moved_and_before_done_is_finished_or_reported_by_recover() {
    let mut site = Site::new(304);
    // The staging folder is gone, the files are in place: only the last commit is missing.
    let archive = site.archive(
        "moved",
        1,
        &[
            ArtifactPlan::signed("tool.tar.gz", b"the tool\n"),
            unsigned("loose.tar.gz"),
        ],
    );
    assert_eq!(site.import(&archive).state, ImportState::Done);
    let (released, quarantined) = (site.files("released/1"), site.files("quarantine/1"));
    crashed_in(&site, 1, ImportState::Releasing);
    site.reopen();
    assert_eq!(pipeline::recover(&site.app).unwrap(), [1]);
    let row = site.import_row(1);
    assert_eq!((row.state, row.reason), (ImportState::Done, None));
    assert_eq!(site.files("released/1"), released);
    assert_eq!(site.files("quarantine/1"), quarantined);

    // The same when every artifact failed and nothing was to be released.
    let archive = site.archive("all-failed", 2, &[unsigned("other.tar.gz")]);
    assert_eq!(site.import(&archive).state, ImportState::Done);
    crashed_in(&site, 2, ImportState::Releasing);
    site.reopen();
    assert_eq!(pipeline::recover(&site.app).unwrap(), [2]);
    assert_eq!(site.import_row(2).state, ImportState::Done);
    assert_eq!(site.files("quarantine/2").len(), 2);

    // Released files that vanished with the staging folder cannot be brought back.
    let archive = site.archive("lost", 3, &[ArtifactPlan::signed("gone.tar.gz", b"gone\n")]);
    assert_eq!(site.import(&archive).state, ImportState::Done);
    crashed_in(&site, 3, ImportState::Releasing);
    std::fs::remove_dir_all(site.data().join("released/3")).unwrap();
    site.reopen();
    assert_eq!(pipeline::recover(&site.app).unwrap(), [3]);
    let row = site.import_row(3);
    assert_eq!(row.state, ImportState::Interrupted);
    assert_eq!(
        row.reason.as_deref(),
        Some("interrupted during release and the staged files are gone")
    );
    let actions = site.audit_actions();
    assert_eq!(
        actions.iter().filter(|a| *a == "release.resumed").count(),
        2,
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "import.interrupted"),
        "{actions:?}"
    );
}

#[test]
fn a_release_whose_staged_manifest_is_gone_ends_interrupted_instead_of_stopping_every_start() {
    // What a recovery run by a second process during the release used to leave: the import
    // `releasing`, its staging folder half removed. Every later start then failed on it.
    let mut site = Site::new(305);
    let archive = site.archive("half", 1, &[ArtifactPlan::signed("tool.tar.gz", b"tool\n")]);
    assert_eq!(site.import(&archive).state, ImportState::Done);
    crashed_in(&site, 1, ImportState::Releasing);
    let staging = site.data().join("quarantine/1/.staging");
    std::fs::create_dir_all(staging.join("blobs")).unwrap();
    site.reopen();
    assert_eq!(pipeline::recover(&site.app).unwrap(), [1]);
    let row = site.import_row(1);
    assert_eq!(row.state, ImportState::Interrupted);
    let reason = row.reason.unwrap();
    assert!(
        reason.starts_with("interrupted during release and the staged manifest is unreadable: "),
        "{reason}"
    );
    assert!(pipeline::recover(&site.app).unwrap().is_empty());
    // The appliance opens and imports again.
    let next = site.archive("next", 2, &[ArtifactPlan::signed("next.tar.gz", b"next\n")]);
    assert_eq!(site.import(&next).state, ImportState::Done);
}
