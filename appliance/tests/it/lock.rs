//! Two processes, one data folder: an `airlock-appliance import` (or `serve`) paused at each
//! checkpoint (through the pipeline's pause folder) while a second process runs `status`,
//! `audit verify`, `import` and `users add`; the inbox watcher beside it; a writer killed
//! with SIGKILL mid-import, after which the next writer recovers; uploads being received.
//!
//! Read-only commands change nothing and never recover; writers are refused (or wait) with
//! the holder's pid, command and start; the running import ends `done`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use airlock_appliance::inbox::Inbox;
use airlock_appliance::lock::LockError;
use airlock_appliance::pipeline::{self, ImportError};
use airlock_appliance::store::{self, ImportState};
use airlock_bundler::pause::PAUSE_DIR_ENV;
use airlock_tests::ArtifactPlan;

use crate::common::appliance;
use crate::common::{Auth, OPERATOR, Server};
use crate::site::Site;

const APPLIANCE: &str = env!("CARGO_BIN_EXE_airlock-appliance");

/// How long a paused import may take to reach its checkpoint.
const PATIENCE: Duration = Duration::from_secs(120);

/// The import's checkpoints, in order.
const POINTS: [&str; 3] = ["started", "checked", "committed"];

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An import that pauses at `point` (every earlier and later checkpoint is let through).
struct Paused {
    child: Child,
    dir: PathBuf,
    point: &'static str,
}

impl Paused {
    fn start(site: &Site, archive: &Path, point: &'static str) -> Self {
        Self::start_in(&site.data(), site.dir.path(), archive, point)
    }

    /// As [`Paused::start`] for the data folder `data`, with its handshake files in `scratch`.
    fn start_in(data: &Path, scratch: &Path, archive: &Path, point: &'static str) -> Self {
        let dir = scratch.join(format!("pause-{point}"));
        std::fs::create_dir_all(&dir).unwrap();
        for other in POINTS.iter().filter(|p| **p != point) {
            std::fs::write(dir.join(format!("{other}.go")), b"").unwrap();
        }
        let child = Command::new(APPLIANCE)
            .arg("import")
            .arg("--data")
            .arg(data)
            .arg(archive)
            .env(PAUSE_DIR_ENV, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut paused = Self { child, dir, point };
        paused.wait_reached();
        paused
    }

    /// Polls until the import says it reached its checkpoint (it then waits for us).
    fn wait_reached(&mut self) {
        let reached = self.dir.join(format!("{}.reached", self.point));
        let start = Instant::now();
        while !reached.exists() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let out = self.child_output();
                panic!("the import ended ({status}) before {}: {out}", self.point);
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no {} after {PATIENCE:?}",
                self.point
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn child_output(&mut self) -> String {
        let mut text = String::new();
        for pipe in [
            self.child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read>),
            self.child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read>),
        ]
        .into_iter()
        .flatten()
        {
            let mut pipe = pipe;
            std::io::Read::read_to_string(&mut pipe, &mut text).unwrap();
        }
        text
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets the import go on and waits for it to finish.
    fn finish(self) -> Output {
        std::fs::write(self.dir.join(format!("{}.go", self.point)), b"").unwrap();
        let out = self.child.wait_with_output().unwrap();
        eprintln!(
            "paused import: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// What a second process could disturb: the import's row, its files and the audit chain.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    state: ImportState,
    reason: Option<String>,
    quarantine: Vec<String>,
    released: Vec<String>,
    incoming: Vec<String>,
    audit_rows: i64,
}

fn snapshot(site: &Site, id: i64) -> Snapshot {
    let row = site.import_row(id);
    Snapshot {
        state: row.state,
        reason: row.reason,
        quarantine: site.files(&format!("quarantine/{id}")),
        released: site.files("released"),
        incoming: site.files("incoming"),
        audit_rows: store::audit::count(site.app.store().read()).unwrap(),
    }
}

/// The busy message a refused writer prints, naming the paused import.
fn held_by(pid: u32) -> String {
    format!("the data folder is busy: held by pid {pid} (command import) since ")
}

#[test]
fn a_second_process_during_an_import_reads_without_recovering_and_writers_are_refused() {
    let mut site = Site::new(401);
    let password = site.dir.path().join("user.pw");
    std::fs::write(&password, "a long enough password\n").unwrap();
    let password = password.display().to_string();
    let data = site.data();
    let mut sequence = 0;
    for (n, point) in POINTS.into_iter().enumerate() {
        sequence += 1;
        let archive = site.archive(
            &format!("at-{point}"),
            sequence,
            &[ArtifactPlan::signed("tool.tar.gz", point.as_bytes())],
        );
        let other = site.dir.path().join("other.airlock.tar.zst");
        std::fs::copy(&archive, &other).unwrap();
        let paused = Paused::start(&site, &archive, point);
        // The import ids: this one, and none for the refused import.
        let id = n as i64 + 1;
        let expected = match point {
            "committed" => ImportState::Releasing,
            _ => ImportState::Running,
        };
        let before = snapshot(&site, id);
        assert_eq!(before.state, expected, "at {point}");
        if point != "started" {
            assert!(
                data.join(format!("quarantine/{id}/.staging/manifest.dsse.json"))
                    .is_file(),
                "at {point}: {:?}",
                before.quarantine
            );
        }

        // Readers: they succeed and change nothing (the old `status` recovered the running
        // import as crashed and removed its staging folder).
        for args in [
            &["status"][..],
            &["status", "--json"],
            &["audit", "verify"],
            &["witness-state"],
            &["users", "list"],
        ] {
            let out = appliance(&data, args);
            assert!(
                out.status.success(),
                "{args:?} at {point}: {}",
                stderr(&out)
            );
            assert_eq!(snapshot(&site, id), before, "{args:?} at {point}");
        }

        // Writers: refused at once, naming the import that holds the folder.
        let user = format!("user-{point}");
        for args in [
            vec!["import", other.to_str().unwrap()],
            vec![
                "users",
                "add",
                &user,
                "--role",
                "auditor",
                "--password-file",
                &password,
            ],
            vec!["publishers", "reset-sequence", "release-team"],
            vec!["audit", "sign-head"],
        ] {
            let out = appliance(&data, &args);
            assert_eq!(out.status.code(), Some(2), "{args:?} at {point}");
            let text = stderr(&out);
            assert!(
                text.starts_with(&format!("error: {}", held_by(paused.pid())))
                    && text
                        .trim_end()
                        .ends_with("(pass --wait SECONDS to wait for it)"),
                "{args:?} at {point}: {text}"
            );
            assert_eq!(snapshot(&site, id), before, "{args:?} at {point}");
        }
        // A writer told to wait a little gives up the same way once the time is up.
        let out = appliance(&data, &["alarms", "clear", "1", "--wait", "1"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains(&held_by(paused.pid())),
            "{}",
            stderr(&out)
        );

        // A writer told to wait long enough goes on once the import is over.
        let waiting = Command::new(APPLIANCE)
            .args(["users", "add", &user, "--role", "auditor", "--wait", "120"])
            .arg("--password-file")
            .arg(&password)
            .arg("--data")
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();

        let out = paused.finish();
        assert!(out.status.success(), "at {point}: {}", stderr(&out));
        let waited = waiting.wait_with_output().unwrap();
        assert!(waited.status.success(), "{}", stderr(&waited));

        let row = site.import_row(id);
        assert_eq!(
            (row.state, row.passed),
            (ImportState::Done, 1),
            "at {point}"
        );
        assert_eq!(site.files(&format!("released/{id}")), ["0000-tool.tar.gz"]);
        let actions = site.audit_actions();
        assert!(
            !actions.iter().any(|a| a == "import.interrupted"),
            "at {point}: {actions:?}"
        );
        // The waiting writer's change came after the import, never inside it.
        let done = actions.iter().rposition(|a| a == "import.done").unwrap();
        let added = actions.iter().rposition(|a| a == "user.added").unwrap();
        assert!(added > done, "{actions:?}");
    }
    assert_eq!(
        store::imports::count(site.app.store().read()).unwrap(),
        3,
        "the refused imports recorded nothing"
    );
}

#[test]
fn the_inbox_waits_for_a_scan_while_another_process_imports() {
    let mut site = Site::new(402);
    let first = site.archive("first", 1, &[ArtifactPlan::signed("a.tar.gz", b"a\n")]);
    // The same contents under the next sequence number (the same log state, so no proof
    // from the size the first import witnesses is needed).
    let second = site
        .world
        .repack(&first, "second", |m| m.publisher.sequence = 2)
        .unwrap();
    let dropped = site.data().join("inbox/second.airlock.tar.zst");
    std::fs::copy(&second, &dropped).unwrap();

    let paused = Paused::start(&site, &first, "checked");
    let mut watcher = Inbox::default();
    assert!(
        watcher.scan(&site.app).is_empty(),
        "the first scan only records the size"
    );
    for _ in 0..2 {
        let results = watcher.scan(&site.app);
        assert_eq!(results.len(), 1);
        let (path, outcome) = &results[0];
        assert_eq!(path, &dropped);
        assert!(
            matches!(
                outcome,
                Err(ImportError::Locked(LockError::Busy { holder: Some(h) }))
                    if h.pid == paused.pid() && h.command == "import"
            ),
            "{outcome:?}"
        );
        assert!(dropped.is_file(), "left in the inbox for the next scan");
    }
    assert!(paused.finish().status.success());

    let results = watcher.scan(&site.app);
    assert_eq!(results.len(), 1);
    let outcome = results[0].1.as_ref().unwrap();
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert!(!dropped.exists());
    assert_eq!(site.import_row(1).state, ImportState::Done);
}

#[test]
fn a_writer_killed_mid_import_is_recovered_by_the_next_writer_and_never_by_a_reader() {
    let mut site = Site::new(403);
    let archive = site.archive(
        "killed",
        1,
        &[ArtifactPlan::signed("tool.tar.gz", b"tool\n")],
    );
    let data = site.data();
    for point in ["checked", "committed"] {
        let mut paused = Paused::start(&site, &archive, point);
        paused.child.kill().unwrap();
        let status = paused.child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        let id = if point == "checked" { 1 } else { 2 };
        let before = snapshot(&site, id);
        assert!(matches!(
            before.state,
            ImportState::Running | ImportState::Releasing
        ));

        // A reader sees the unfinished import and leaves it alone.
        let out = appliance(&data, &["status"]);
        assert!(out.status.success());
        assert_eq!(snapshot(&site, id), before);

        // The kernel let go of the dead writer's lock: the next writer takes it and recovers.
        let out = appliance(&data, &["publishers", "threshold", "1"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let row = site.import_row(id);
        match point {
            // Nothing was committed: interrupted, its files gone.
            "checked" => {
                assert_eq!(row.state, ImportState::Interrupted);
                assert!(!data.join(format!("quarantine/{id}")).exists());
            }
            // The verdicts were: the release is finished.
            _ => {
                assert_eq!((row.state, row.passed), (ImportState::Done, 1));
                assert_eq!(site.files(&format!("released/{id}")), ["0000-tool.tar.gz"]);
            }
        }
    }
    let actions = site.audit_actions();
    assert_eq!(
        (
            actions
                .iter()
                .filter(|a| *a == "import.interrupted")
                .count(),
            actions.iter().filter(|a| *a == "release.resumed").count()
        ),
        (1, 1),
        "{actions:?}"
    );
}

#[test]
fn cli_commands_beside_serve_importing_from_its_inbox() {
    let mut site = Site::new(404);
    let archive = site.archive(
        "served",
        1,
        &[ArtifactPlan::signed("tool.tar.gz", b"tool\n")],
    );
    let data = site.data();
    let pause = site.dir.path().join("pause-serve");
    std::fs::create_dir_all(&pause).unwrap();
    for point in ["started", "committed"] {
        std::fs::write(pause.join(format!("{point}.go")), b"").unwrap();
    }
    let mut serve = Command::new(APPLIANCE)
        .args(["serve", "--listen", "127.0.0.1:0", "--inbox-interval", "1"])
        .arg("--data")
        .arg(&data)
        .env(PAUSE_DIR_ENV, &pause)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Dropped as operators do: copied under a hidden name, renamed into place.
    let hidden = data.join("inbox/.served.airlock.tar.zst");
    std::fs::copy(&archive, &hidden).unwrap();
    std::fs::rename(&hidden, data.join("inbox/served.airlock.tar.zst")).unwrap();
    let reached = pause.join("checked.reached");
    let start = Instant::now();
    while !reached.exists() {
        assert!(serve.try_wait().unwrap().is_none(), "serve stopped");
        assert!(
            start.elapsed() < PATIENCE,
            "the inbox import never reached its check"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let before = snapshot(&site, 1);
    assert_eq!(before.state, ImportState::Running);
    let out = appliance(&data, &["status"]);
    assert!(out.status.success());
    assert_eq!(
        snapshot(&site, 1),
        before,
        "status changed a running import"
    );
    let out = appliance(&data, &["users", "list"]);
    assert!(out.status.success());
    let out = appliance(&data, &["import", archive.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "the data folder is busy: held by pid {} (command serve) since ",
            serve.id()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&site, 1), before);

    std::fs::write(pause.join("checked.go"), b"").unwrap();
    let start = Instant::now();
    while site.import_row(1).state != ImportState::Done {
        assert!(serve.try_wait().unwrap().is_none(), "serve stopped");
        assert!(
            start.elapsed() < PATIENCE,
            "the inbox import did not finish"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Once serve's import is over (it still signs the audit head after `done`), a CLI change
    // goes through.
    let out = appliance(&data, &["publishers", "threshold", "1", "--wait", "60"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert_eq!(site.files("released/1"), ["0000-tool.tar.gz"]);
    let actions = site.audit_actions();
    assert!(
        !actions.iter().any(|a| a == "import.interrupted"),
        "{actions:?}"
    );
}

#[test]
fn recovery_removes_abandoned_uploads_and_leaves_those_still_being_received() {
    use rustix::fs::{FlockOperation, flock};
    let site = Site::new(405);
    let incoming = site.data().join("incoming");
    let (live, abandoned) = (incoming.join("live.partial"), incoming.join("gone.partial"));
    std::fs::write(&abandoned, b"half an upload").unwrap();
    // A receiver (here, or in `serve`) holds a lock on its partial file until the import ends.
    let receiving = std::fs::File::create(&live).unwrap();
    flock(&receiving, FlockOperation::LockExclusive).unwrap();
    pipeline::recover(&site.app).unwrap();
    assert!(live.is_file(), "an upload being received was removed");
    assert!(!abandoned.exists());
    drop(receiving);
    pipeline::recover(&site.app).unwrap();
    assert!(!live.exists());
}

#[test]
fn an_upload_waits_while_another_process_imports_and_is_then_imported() {
    let server = Server::start();
    // The `import` command first checks that the site could judge an archive (a publisher
    // key, a signer) and that the file begins as one.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    airlock_appliance::admin::add_publisher_key(server.app(), "test", "someone", &key).unwrap();
    airlock_appliance::admin::add_signer(
        server.app(),
        "test",
        &airlock_appliance::policy::SignerSpec {
            name: "release-ci".into(),
            issuer: Some(airlock_tests::ISSUER.into()),
            subject: Some(airlock_tests::TRUSTED_IDENTITY.into()),
            subject_regex: None,
            public_key: None,
            enabled: true,
            expires_at: None,
        },
    )
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    // Then any such file will do: the import records its row, and pauses, before reading on.
    let file = scratch.path().join("first.airlock.tar.zst");
    std::fs::write(&file, b"\x28\xb5\x2f\xfdnot an archive").unwrap();
    let paused = Paused::start_in(&server.folder.path, scratch.path(), &file, "started");

    let client = server.client();
    let (token, _) = client.session(OPERATOR);
    let upload = std::thread::spawn(move || {
        client.post(
            "/api/v1/imports",
            Auth::Bearer(&token),
            &[("X-Airlock-File-Name", "upload.airlock.tar.zst")],
            b"an upload, not an archive either",
        )
    });
    // Received into incoming/, where it waits for the lock (kept by its receiver's lock).
    let start = Instant::now();
    while server.folder.incoming().is_empty() {
        assert!(
            !upload.is_finished(),
            "the upload did not wait for the lock"
        );
        assert!(start.elapsed() < PATIENCE, "the upload never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!upload.is_finished());
    let out = paused.finish();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the CLI's file is rejected, not interrupted"
    );

    let reply = upload.join().unwrap();
    assert_eq!(reply.status, 201, "{:?}", reply.json());
    assert_eq!(reply.json()["import_id"], 2);
    let app = server.app();
    for id in [1, 2] {
        let row = store::imports::get(app.store().read(), id)
            .unwrap()
            .unwrap();
        assert_eq!(row.state, ImportState::Rejected, "import {id}");
    }
    assert!(server.folder.incoming().is_empty());
}
