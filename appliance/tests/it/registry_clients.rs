//! The site registry and downloads as real clients use them: `skopeo copy` and `skopeo
//! inspect` (containers/image, Debian) pull a released image with a pull token, through the
//! bearer challenge or with a bearer token given directly; oras-py lists its referrers and
//! fetches the site's verdict, which `airlock-bundler verify-bundle --key … --no-tlog`
//! accepts for the image's digest and nothing else; podman pulls an image into its storage;
//! curl downloads a released file by range.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock_appliance::admin::{self, PullTokenSpec};
use serde_json::Value;

use crate::registry::released;

fn tool(path: &str, setup: &str) -> Option<PathBuf> {
    crate::outside::installed_tool(Path::new(path), setup)
}

/// The workspace's `airlock-bundler`, built beside this crate's binary by `cargo test
/// --workspace`.
pub(crate) fn bundler() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_BIN_EXE_airlock-appliance")).with_file_name("airlock-bundler");
    crate::outside::installed_tool(
        &path,
        "cargo build -p airlock-bundler; `cargo test --workspace` builds it",
    )
}

fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    eprintln!(
        "$ {command:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn skopeo_copies_a_released_image_with_a_pull_token() {
    let Some(skopeo) = tool("/usr/bin/skopeo", "apt-get install skopeo; CI does") else {
        return;
    };
    let r = released(411);
    let app = r.site.server.app();
    let (id, token) = admin::issue_pull_token(
        app,
        "admin",
        &PullTokenSpec {
            name: "ci-cluster".into(),
            ..PullTokenSpec::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(app.data().tls_cert(), certs.join("ca.crt")).unwrap();
    let source = format!("docker://{}/release-team/tool:1.0", r.site.server.addr);

    // Basic credentials: skopeo follows the bearer challenge to /v2/token.
    let layout = dir.path().join("layout");
    let out = run(Command::new(&skopeo)
        .args(["copy", "--preserve-digests", "--src-cert-dir"])
        .arg(&certs)
        .args(["--src-creds", &format!("machine:{token}"), &source])
        .arg(format!("oci:{}:1.0", layout.display())));
    assert!(out.status.success());
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], r.image.as_str());
    let layer = layout
        .join("blobs/sha256")
        .join(r.layer_digest.strip_prefix("sha256:").unwrap());
    assert_eq!(std::fs::read(layer).unwrap(), r.layer);

    // The token as a bearer token directly.
    let out = run(Command::new(&skopeo)
        .args(["inspect", "--cert-dir"])
        .arg(&certs)
        .args(["--registry-token", &token, &source]));
    assert!(out.status.success());
    let inspected: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inspected["Digest"], r.image.as_str());

    // Revoked: refused.
    admin::revoke_pull_token(app, "admin", id).unwrap();
    let out = run(Command::new(&skopeo)
        .args(["inspect", "--cert-dir"])
        .arg(&certs)
        .args(["--creds", &format!("machine:{token}"), &source]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pull token ci-cluster was revoked"),
        "{stderr}"
    );
}

#[test]
fn oras_fetches_the_site_verdict_and_verify_bundle_accepts_it_for_the_image_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let Some(python) = crate::outside::installed_tool(
        &root.join("target/oras-venv/bin/python"),
        "run tests/setup-oras.sh; CI does",
    ) else {
        return;
    };
    let Some(bundler) = bundler() else {
        return;
    };
    let r = released(412);
    let app = r.site.server.app();
    let (_, token) = admin::issue_pull_token(
        app,
        "admin",
        &PullTokenSpec {
            name: "oras".into(),
            scope: Some("release-team/".into()),
            expires_at: None,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("verdict.sigstore.json");
    let out = run(Command::new(&python)
        .arg(root.join("tests/clients/oras_verdict.py"))
        .arg(r.site.server.addr.to_string())
        .args(["release-team/tool", "1.0", &token])
        .arg(app.data().tls_cert())
        .arg(&bundle));
    assert!(out.status.success());
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["digest"], r.image.as_str());
    assert_eq!(seen["referrers"], 4);

    let key = dir.path().join("appliance.pub");
    std::fs::write(&key, app.public_key_pem()).unwrap();
    let verify = |digest: &str| {
        run(Command::new(&bundler)
            .args(["verify-bundle", "--no-tlog", "--key"])
            .arg(&key)
            .arg("--bundle")
            .arg(&bundle)
            .arg(digest))
    };
    assert!(verify(&r.image).status.success());
    let other = verify(&r.second);
    assert_eq!(other.status.code(), Some(1));
    // Without --no-tlog the verdict is refused: it carries no log entry.
    let strict = run(Command::new(&bundler)
        .args(["verify-bundle", "--key"])
        .arg(&key)
        .arg("--bundle")
        .arg(&bundle)
        .arg(&r.image));
    assert_eq!(
        strict.status.code(),
        Some(2),
        "no trusted root: a usage error"
    );
}

#[test]
fn curl_downloads_a_released_file_by_range_and_is_refused_without_a_session() {
    let Some(curl) = tool("/usr/bin/curl", "apt-get install curl; CI does") else {
        return;
    };
    let r = released(413);
    let client = r.site.server.client();
    let (session, _) = client.session(crate::common::AUDITOR);
    let cert = r.site.server.app().data().tls_cert();
    let url = format!("{}/api/v1/artifacts/{}/file", r.site.server.url, r.file_id);
    let out = run(Command::new(&curl)
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .args([
            "-H",
            &format!("Authorization: Bearer {session}"),
            "-r",
            "0-6",
            &url,
        ]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "release");
    let out = run(Command::new(&curl)
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(&cert)
        .arg(&url));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let (_, token) = admin::issue_pull_token(
        r.site.server.app(),
        "admin",
        &PullTokenSpec {
            name: "curl".into(),
            ..PullTokenSpec::default()
        },
    )
    .unwrap();
    let traversal = format!(
        "{}/v2/release-team/..%2F..%2Fairlock.db/blobs/sha256:{}",
        r.site.server.url,
        "0".repeat(64)
    );
    let out = run(Command::new(&curl)
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .args(["-H", &format!("Authorization: Bearer {}", token)])
        .arg(&traversal));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["errors"][0]["code"], "NAME_INVALID");
}

#[test]
fn podman_pulls_a_released_image_into_its_storage() {
    let Some(podman) = tool("/usr/bin/podman", "apt-get install podman; CI does") else {
        return;
    };
    // An image podman can unpack: one layer, an empty tar (two zero blocks).
    let mut site = crate::pages::WebSite::new(414);
    let dir = site.world.dir().join("runnable");
    let (layout, manifest) = airlock_tests::OciLayout::new(&dir, &[&[0u8; 1024]]).unwrap();
    layout.point_index_at_tagged(&manifest, "1.0").unwrap();
    let archive = site.archive(
        "runnable",
        &[airlock_tests::ArtifactPlan::image("runnable", &layout.dir).unwrap()],
    );
    let outcome = airlock_appliance::pipeline::import_file(
        site.server.app(),
        airlock_appliance::pipeline::ImportRequest {
            source: airlock_appliance::store::ImportSource::Cli,
            path: archive.clone(),
            file_name: "runnable.airlock.tar.zst".into(),
            actor: "test".into(),
            original: airlock_appliance::pipeline::Original::Copy,
        },
    )
    .unwrap();
    assert_eq!(
        outcome.artifacts[0].verdict,
        airlock_appliance::pipeline::Verdict::Passed
    );
    let app = site.server.app();
    let (_, token) = admin::issue_pull_token(
        app,
        "admin",
        &PullTokenSpec {
            name: "podman".into(),
            ..PullTokenSpec::default()
        },
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(app.data().tls_cert(), certs.join("ca.crt")).unwrap();
    let storage = |cmd: &mut Command| {
        cmd.arg("--root")
            .arg(tmp.path().join("root"))
            .arg("--runroot")
            .arg(tmp.path().join("run"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "none",
            ]);
    };
    let reference = format!("{}/release-team/runnable:1.0", site.server.addr);
    let mut pull = Command::new(&podman);
    storage(&mut pull);
    pull.args(["pull", "--cert-dir"]).arg(&certs).args([
        "--creds",
        &format!("machine:{token}"),
        &reference,
    ]);
    let out = run(&mut pull);
    assert!(out.status.success());
    let mut inspect = Command::new(&podman);
    storage(&mut inspect);
    inspect.args(["image", "inspect", "--format", "{{.Digest}}", &reference]);
    let out = run(&mut inspect);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), manifest.digest);
}
