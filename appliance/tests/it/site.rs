//! A site for pipeline tests: an appliance initialised in a temporary folder with the world's
//! pinned TUF root, the world's publisher trusted and a policy trusting the world's release
//! identity, plus the connected-side world that builds archives for it.

use std::path::{Path, PathBuf};

use airlock_appliance::admin;
use airlock_appliance::appliance::Appliance;
use airlock_appliance::init::{InitOptions, init};
use airlock_appliance::pipeline::{self, ImportError, ImportOutcome, ImportRequest, Original};
use airlock_appliance::policy::PolicyDocument;
use airlock_appliance::store::{self, ArtifactRow, ImportRow, ImportSource};
use airlock_appliance::{audit, witness_state};
use airlock_tests::{ArtifactPlan, ISSUER, TRUSTED_IDENTITY, TUF_NAME, World};
use chrono::{Duration, Utc};

use crate::common::TEST_WAIT;

/// The policy most tests run under: the release identity trusted, nothing else required.
pub(crate) const BASE_POLICY: &str = r#"
enforcement = "enforce"

[[signer]]
name = "release-ci"
issuer = "https://token.ci.example.internal"
subject = "https://git.example.internal/platform/release/.ci/release.yml@refs/heads/main"
"#;

/// An appliance and the world that feeds it.
pub(crate) struct Site {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) world: World,
    pub(crate) app: Appliance,
}

impl Site {
    /// A new site and world; `seed` fixes the world's keys.
    pub(crate) fn new(seed: u64) -> Self {
        Self::with_tuf_time(seed, Utc::now() - Duration::hours(2))
    }

    /// As [`Site::new`], with the TUF repository dated `tuf_time`.
    pub(crate) fn with_tuf_time(seed: u64, tuf_time: chrono::DateTime<Utc>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let world = World::new(seed, &dir.path().join("world"), tuf_time).unwrap();
        let data = dir.path().join("data");
        init(&InitOptions {
            data: data.clone(),
            tuf_roots: vec![(TUF_NAME.to_owned(), world.tuf_root().to_vec())],
            admin: "admin".into(),
            admin_password: Some("correct horse battery staple".into()),
            tls: None,
            hostnames: Vec::new(),
            site: None,
            now: Utc::now(),
        })
        .unwrap();
        let app = Appliance::open(&data)
            .unwrap()
            .with_writer("test", TEST_WAIT);
        let key = airlock_bundler::keys::load_public_key(&world.publisher().pub_path).unwrap();
        admin::add_publisher_key(&app, "test", "release-team", &key).unwrap();
        let site = Self { dir, world, app };
        site.policy(BASE_POLICY);
        assert!(BASE_POLICY.contains(TRUSTED_IDENTITY) && BASE_POLICY.contains(ISSUER));
        site
    }

    /// The data folder.
    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Replaces the policy.
    pub(crate) fn policy(&self, toml: &str) {
        let doc = PolicyDocument::from_toml(toml).unwrap();
        admin::import_policy(&self.app, "test", &doc).unwrap();
    }

    /// Imports an archive as the CLI does.
    pub(crate) fn import(&self, archive: &Path) -> ImportOutcome {
        self.try_import(archive).unwrap()
    }

    /// Imports an archive as the CLI does, returning the appliance's own failures.
    pub(crate) fn try_import(&self, archive: &Path) -> Result<ImportOutcome, ImportError> {
        pipeline::import_file(
            &self.app,
            ImportRequest {
                source: ImportSource::Cli,
                path: archive.to_owned(),
                file_name: archive.file_name().unwrap().to_string_lossy().into_owned(),
                actor: "test".into(),
                original: Original::Copy,
            },
        )
    }

    /// Builds an archive carrying consistency proofs from the site's witnessed sizes, as the
    /// connected side does with the exported witness state.
    pub(crate) fn archive(&mut self, name: &str, sequence: u64, plans: &[ArtifactPlan]) -> PathBuf {
        let state = self.witness_state();
        self.world
            .archive(name, sequence, plans, Some(&state))
            .unwrap()
    }

    /// Opens the data folder again, as a restarted appliance does (the old handle is closed).
    pub(crate) fn reopen(&mut self) {
        self.app = Appliance::open(&self.data())
            .unwrap()
            .with_writer("test", TEST_WAIT);
    }

    /// Sets an appliance setting as an admin does.
    pub(crate) fn set(&self, key: &str, value: &str) {
        admin::set_setting(&self.app, "test", key, value).unwrap();
    }

    /// The site's signed witness state, written to a file for `create --witness-state`.
    pub(crate) fn witness_state(&self) -> PathBuf {
        let path = self.dir.path().join("witness-state.json");
        std::fs::write(&path, witness_state::signed(&self.app).unwrap()).unwrap();
        path
    }

    /// An import as stored.
    pub(crate) fn import_row(&self, id: i64) -> ImportRow {
        store::imports::get(self.app.store().read(), id)
            .unwrap()
            .unwrap()
    }

    /// An import's artifacts as stored.
    pub(crate) fn artifacts(&self, import_id: i64) -> Vec<ArtifactRow> {
        store::artifacts::of_import(self.app.store().read(), import_id).unwrap()
    }

    /// An artifact's stored report.
    pub(crate) fn report(&self, artifact_id: i64) -> serde_json::Value {
        let json = store::artifacts::report(self.app.store().read(), artifact_id)
            .unwrap()
            .unwrap();
        serde_json::from_str(&json).unwrap()
    }

    /// Open alarms as (kind, subject), newest first.
    pub(crate) fn open_alarms(&self) -> Vec<(String, String)> {
        store::alarms::open(self.app.store().read())
            .unwrap()
            .into_iter()
            .map(|a| (a.kind, a.subject))
            .collect()
    }

    /// Verifies the audit chain (panicking if it is broken) and returns its actions in order.
    pub(crate) fn audit_actions(&self) -> Vec<String> {
        let store = self.app.store();
        let chain = audit::verify(store.read()).unwrap();
        let chain = chain.unwrap_or_else(|e| panic!("the audit chain is broken: {e}"));
        let actions: Vec<String> = store::audit::page(store.read(), 0, 100_000)
            .unwrap()
            .into_iter()
            .map(|r| r.action)
            .collect();
        assert_eq!(chain.rows as usize, actions.len());
        actions
    }

    /// Every file under `relative` (a folder of the data folder), as paths relative to it,
    /// sorted; empty if the folder does not exist. The staged blobs an import keeps as
    /// evidence (`*/evidence/blobs/`) are left out; its `manifest.dsse.json` is listed.
    pub(crate) fn files(&self, relative: &str) -> Vec<String> {
        let root = self.data().join(relative);
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", dir.display()),
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if path.ends_with("evidence/blobs") {
                        continue;
                    }
                    stack.push(path);
                } else {
                    out.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }
}
