//! A site for pipeline tests: an appliance initialised in a temporary folder with the world's
//! pinned TUF root, the world's publisher trusted and a policy trusting the world's release
//! identity, plus the connected-side world that builds archives for it.

use std::path::{Path, PathBuf};

use airlock_appliance::admin;
use airlock_appliance::appliance::Appliance;
use airlock_appliance::init::{InitOptions, init};
use airlock_appliance::pipeline::{self, ImportOutcome, ImportRequest, Original};
use airlock_appliance::policy::PolicyDocument;
use airlock_appliance::store::ImportSource;
use airlock_tests::{ISSUER, TRUSTED_IDENTITY, TUF_NAME, World};
use chrono::{Duration, Utc};

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
            now: Utc::now(),
        })
        .unwrap();
        let app = Appliance::open(&data).unwrap();
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
        .unwrap()
    }
}
