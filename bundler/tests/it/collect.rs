//! `create` with `image = …` against a real registry: Debian's `docker-registry` on loopback
//! with the kit's TLS certificate and htpasswd or token authentication, images pushed with
//! `skopeo`, signed by the kit's private Sigstore and attached as OCI 1.1 referrers through
//! the referrers tag schema. And what a registry must not get away with, from a scripted
//! server where the real one will not misbehave.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock_tests::{
    BUNDLE_V03_MEDIA_TYPE, EntryFault, Instance, LegacyKind, LogServer, OciLayout, OciManifest,
    Predicate, Provenance, Registry, RegistryAuth, RegistryOptions, Scripted, ScriptedServer,
    SignOptions, StaticServer, TlsMaterial, TufRepoBuilder, sha256, simple_signing_payload,
};
use chrono::{DateTime, Duration, Utc};

const IDENTITY: &str = "https://ci.airlock.test/org/app/.ci/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.ci.airlock.test";
const USER: &str = "release-bot";
const PASSWORD: &str = "correct horse";
const CYCLONEDX: &str = "application/vnd.cyclonedx+json";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_airlock-bundler"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The tools, or `None` (the test is skipped with its reason; under CI it fails).
fn tools() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let setup = "bash tests/setup-registry.sh";
    Some((
        crate::outside::installed_tool(Path::new("/usr/bin/docker-registry"), setup)?,
        crate::outside::installed_tool(Path::new("/usr/bin/htpasswd"), setup)?,
        crate::outside::installed_tool(Path::new("/usr/bin/skopeo"), setup)?,
    ))
}

/// A connected side with a registry: the kit's Sigstore, its TUF repository and log, a
/// publisher key, and images in the registry.
struct Fixture {
    dir: tempfile::TempDir,
    registry: Registry,
    skopeo: PathBuf,
    sigstore: Instance,
    tls: TlsMaterial,
    log: LogServer,
    key: PathBuf,
    public: PathBuf,
}

/// An image pushed: its manifest's digest, size and bytes.
struct Pushed {
    manifest: OciManifest,
    bytes: Vec<u8>,
}

impl Fixture {
    fn new(auth: RegistryAuth) -> Option<Self> {
        let (docker_registry, htpasswd, skopeo) = tools()?;
        let dir = tempfile::tempdir().unwrap();
        let base = DateTime::from_timestamp(1_768_478_400, 0).unwrap();
        let sigstore = Instance::new(41, base).unwrap();
        let now = Utc::now().timestamp();
        let tls = TlsMaterial::new(43, now - 3600, now + 3600).unwrap();
        let registry = Registry::start(&RegistryOptions {
            binary: &docker_registry,
            htpasswd: &htpasswd,
            dir: &dir.path().join("registry"),
            tls: &tls,
            auth,
            now,
        })
        .unwrap();
        let tuf = TufRepoBuilder::new(42, Utc::now() - Duration::days(1))
            .trusted_root(sigstore.trusted_root_json().unwrap())
            .write(&dir.path().join("tuf"))
            .unwrap();
        std::fs::write(dir.path().join("tuf/1.root.json"), &tuf.initial_root).unwrap();
        std::fs::write(dir.path().join("ca.pem"), tls.ca_pem()).unwrap();
        let log = LogServer::start_https(sigstore.log(), &tls).unwrap();
        let generated =
            airlock_bundler::keys::generate(&dir.path().join("publisher"), None).unwrap();
        registry
            .write_auth_file(&dir.path().join("auth.json"), USER, PASSWORD)
            .unwrap();
        Some(Self {
            dir,
            registry,
            skopeo,
            sigstore,
            tls,
            log,
            key: generated.key_path,
            public: generated.pub_path,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn host(&self) -> &str {
        self.registry.host()
    }

    /// Pushes a one-image layout of `layers` as `repository:tag`.
    fn push(&self, repository: &str, tag: &str, layers: &[&[u8]]) -> Pushed {
        let layout_dir = self.path(&format!("layouts/{repository}-{tag}"));
        let (layout, manifest) = OciLayout::new(&layout_dir, layers).unwrap();
        self.registry
            .push_layout(&self.skopeo, &layout.dir, &format!("{repository}:{tag}"))
            .unwrap();
        let hex = manifest.digest.trim_start_matches("sha256:");
        let bytes = std::fs::read(layout.dir.join("blobs/sha256").join(hex)).unwrap();
        Pushed { manifest, bytes }
    }

    /// Attaches a signature, SLSA provenance, a CycloneDX SBOM and something unrelated.
    fn sign(&mut self, repository: &str, image: &Pushed) -> Vec<String> {
        let opts = SignOptions::workload(IDENTITY, ISSUER);
        let signed = self.sigstore.sign_blob(&image.bytes, &opts).unwrap();
        let digest: [u8; 32] = hex::decode(image.manifest.digest.trim_start_matches("sha256:"))
            .unwrap()
            .try_into()
            .unwrap();
        let provenance = self
            .sigstore
            .attest(
                repository,
                digest,
                &Predicate::SlsaV1(Provenance {
                    builder_id: "https://ci.airlock.test/builder".into(),
                    build_type: "https://ci.airlock.test/buildtypes/image/v1".into(),
                    source_uri: "git+https://git.airlock.test/org/app".into(),
                    source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
                }),
                &opts,
            )
            .unwrap();
        let sbom = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "components": [{"type": "library", "name": "musl", "version": "1.2.5"}],
        })
        .to_string();
        let attach = |artifact_type: &str, content: &[u8]| {
            self.registry
                .attach(
                    repository,
                    &image.manifest.digest,
                    image.manifest.size,
                    artifact_type,
                    content,
                )
                .unwrap()
        };
        vec![
            attach(BUNDLE_V03_MEDIA_TYPE, &signed.json),
            attach(BUNDLE_V03_MEDIA_TYPE, &provenance.json),
            attach(CYCLONEDX, sbom.as_bytes()),
            attach("application/vnd.example.note+json", b"{\"note\":1}"),
        ]
    }

    /// Grows the log after the signatures (the archive then needs proofs) and serves it.
    fn publish_log(&mut self) {
        let t = 1_768_478_400 + 3600;
        for i in 0..20 {
            self.sigstore
                .log_mut()
                .append(format!("later entry {i}").into_bytes(), t + i)
                .unwrap();
        }
        self.log.set_log(self.sigstore.log());
    }

    fn spec(&self, name: &str, artifacts: &str) -> PathBuf {
        let spec = format!(
            r#"
[publisher]
name = "release-team"
sequence = 7

[[trust]]
name = "private-sigstore"
root = "tuf/1.root.json"
metadata = "tuf/metadata"
targets = "tuf/targets"

[[log]]
url = "{url}"
api = "rekor-v1"

[[registry]]
host = "{host}"
ca_file = "registry/ca.pem"
{artifacts}
"#,
            url = self.log.url(),
            host = self.host(),
        );
        let path = self.path(&format!("{name}.toml"));
        std::fs::write(&path, spec).unwrap();
        path
    }

    fn create_command(&self, spec: &Path, out: &str, extra: &[&str]) -> Command {
        let mut cmd = bin();
        cmd.arg("create")
            .arg("--spec")
            .arg(spec)
            .arg("--key")
            .arg(&self.key)
            .arg("-o")
            .arg(self.path(out))
            .arg("--ca-file")
            .arg(self.path("ca.pem"))
            .args(extra)
            .env("REGISTRY_AUTH_FILE", self.path("auth.json"))
            .env_remove(airlock_bundler::pause::PAUSE_DIR_ENV);
        cmd
    }

    fn create(&self, spec: &Path, out: &str, extra: &[&str]) -> Output {
        run(&mut self.create_command(spec, out, extra))
    }

    fn verify(&self, archive: &str) -> Output {
        run(bin()
            .arg("verify")
            .arg(self.path(archive))
            .arg("--pub")
            .arg(&self.public)
            .arg("--tuf-root")
            .arg(format!(
                "private-sigstore={}",
                self.path("tuf/1.root.json").display()
            )))
    }

    fn inspect(&self, archive: &str) -> serde_json::Value {
        let out = run(bin()
            .arg("inspect")
            .arg(self.path(archive))
            .arg("--pub")
            .arg(&self.public)
            .arg("--json"));
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["manifest"].clone()
    }
}

fn image_table(image: &str) -> String {
    format!("\n[[artifact]]\nname = \"app\"\nimage = \"{image}\"\n")
}

#[test]
fn an_image_by_tag_is_pulled_with_its_referrers_verifies_and_the_cache_fetches_nothing_twice() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one", &vec![7u8; 300_000]]);
    let referrers = f.sign("app", &image);
    f.publish_log();
    let spec = f.spec("app", &image_table(&format!("{}/app:v1", f.host())));
    let cache = f.path("cache");
    let cache_arg = cache.to_str().unwrap();

    let before = f.registry.blob_requests("app");
    let out = f.create(
        &spec,
        "app.airlock.tar.zst",
        &["--cache", cache_arg, "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pulled = &summary["images"][0];
    assert_eq!(pulled["tag"], "v1");
    assert_eq!(pulled["digest"], image.manifest.digest.as_str());
    assert_eq!(pulled["resolved"], image.manifest.digest.as_str());
    assert_eq!(pulled["discovery"], "tag-schema");
    let kinds: Vec<(&str, &str)> = pulled["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["referrer"].as_str().unwrap(),
                r["kind"].as_str().unwrap_or("ignored"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (referrers[0].as_str(), "bundle"),
            (referrers[1].as_str(), "attestation"),
            (referrers[2].as_str(), "sbom"),
            (referrers[3].as_str(), "ignored"),
        ]
    );
    let first = f.registry.blob_requests("app") - before;
    // config, two layers; the two bundles and the SBOM.
    assert_eq!(first, 6);

    let manifest = f.inspect("app.airlock.tar.zst");
    let artifact = &manifest["artifacts"][0];
    assert_eq!(artifact["name"], "app");
    assert_eq!(artifact["kind"], "oci-image");
    assert_eq!(artifact["digest"], image.manifest.digest.as_str());
    assert_eq!(artifact["files"].as_array().unwrap().len(), 6);
    assert_eq!(artifact["evidence"]["bundles"].as_array().unwrap().len(), 1);
    assert_eq!(
        artifact["evidence"]["attestations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(artifact["evidence"]["sboms"].as_array().unwrap().len(), 1);

    let verified = f.verify("app.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(text.contains("passed    app"), "{text}");
    assert!(text.contains("https://slsa.dev/provenance/v1"), "{text}");
    assert!(text.contains("CycloneDX 1.5 with 1 components"), "{text}");

    // Everything is in the cache now: a second create fetches no blob at all.
    let before = f.registry.blob_requests("app");
    let out = f.create(&spec, "again.airlock.tar.zst", &["--cache", cache_arg]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(f.registry.blob_requests("app"), before);
    assert!(
        stderr(&out).contains(&format!(
            "  tag v1 resolved to {} (application/vnd.oci.image.manifest.v1+json)\n  0 blob(s), 0 bytes fetched (4 already in the cache)",
            image.manifest.digest
        )),
        "{}",
        stderr(&out)
    );
    // Nothing is left beside the archives but the cache.
    let mut names: Vec<String> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    names.sort();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn dry_run_lists_blobs_referrers_and_signers_and_writes_nothing() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one"]);
    let referrers = f.sign("app", &image);
    let spec = f.spec("app", &image_table(&format!("{}/app:v1", f.host())));
    let before = f.registry.blob_requests("app");
    let out = f.create(
        &spec,
        "never.airlock.tar.zst",
        &[
            "--dry-run",
            "--cache",
            f.path("cache").to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    // Only the two bundles are read, to name their signers; no layer, config or SBOM.
    assert_eq!(f.registry.blob_requests("app") - before, 2);
    assert!(!f.path("never.airlock.tar.zst").exists());
    assert!(!f.path("cache").exists());
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let planned = &found["images"][0];
    assert_eq!(planned["digest"], image.manifest.digest.as_str());
    assert_eq!(planned["unsigned"], false);
    let blobs = planned["blobs"].as_array().unwrap();
    assert_eq!(blobs.len(), 3);
    assert_eq!(blobs[0]["digest"], image.manifest.digest.as_str());
    assert_eq!(blobs[2]["size"], 9);
    assert!(blobs.iter().all(|b| b["held"] == false));
    let signer = format!("{IDENTITY} ({ISSUER})");
    assert_eq!(planned["referrers"][0]["referrer"], referrers[0].as_str());
    assert_eq!(planned["referrers"][0]["signer"], signer.as_str());
    assert_eq!(
        planned["referrers"][1]["predicate_type"],
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(
        planned["referrers"][3]["ignored"],
        "not a Sigstore bundle or SBOM"
    );

    // The same as text.
    let out = f.create(&spec, "never.airlock.tar.zst", &["--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "    {} bundle {BUNDLE_V03_MEDIA_TYPE}, names signer {signer}\n",
            referrers[0]
        )),
        "{text}"
    );
}

#[test]
fn bearer_tokens_are_fetched_from_the_challenge_realm_and_refusals_name_the_registry() {
    let Some(mut f) = Fixture::new(RegistryAuth::Token {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("team/app", "v1", &[b"layer"]);
    f.sign("team/app", &image);
    f.publish_log();
    let reference = format!("{}/team/app@{}", f.host(), image.manifest.digest);
    let spec = f.spec("app", &image_table(&reference));
    let out = f.create(&spec, "app.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(f.verify("app.airlock.tar.zst").status.code(), Some(0));

    // Anonymous: the token grants nothing, the registry refuses.
    let out = run(f
        .create_command(&spec, "anonymous.airlock.tar.zst", &[])
        .env("REGISTRY_AUTH_FILE", f.path("no-such-auth.json")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("auth file"), "{}", stderr(&out));
    std::fs::write(f.path("empty-auth.json"), r#"{"auths":{}}"#).unwrap();
    let out = run(f
        .create_command(&spec, "anonymous.airlock.tar.zst", &[])
        .env("REGISTRY_AUTH_FILE", f.path("empty-auth.json")));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {reference}: registry {host} refused access: HTTP 401 for /v2/team/app/manifests/{} without credentials\n",
            image.manifest.digest,
            host = f.host()
        )
    );
    // A wrong password: the token service refuses.
    f.registry
        .write_auth_file(&f.path("wrong.json"), USER, "wrong")
        .unwrap();
    let out = run(f
        .create_command(&spec, "wrong.airlock.tar.zst", &[])
        .env("REGISTRY_AUTH_FILE", f.path("wrong.json")));
    let realm = stderr(&out)
        .split("its token service ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or_default()
        .to_owned();
    assert!(realm.starts_with("https://127.0.0.1:") && realm.ends_with("/token"));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {reference}: registry {} refused access: its token service {realm} answered HTTP 401 as {USER}\n",
            f.host()
        )
    );
}

#[test]
fn basic_auth_refusals_missing_tags_and_unsigned_images_are_errors_naming_the_image() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer"]);
    let host = f.host().to_owned();
    let source = format!("{host}/app:v1");
    let spec = f.spec("app", &image_table(&source));

    std::fs::write(f.path("empty-auth.json"), r#"{"auths":{}}"#).unwrap();
    let out = run(f
        .create_command(&spec, "a.airlock.tar.zst", &[])
        .env("REGISTRY_AUTH_FILE", f.path("empty-auth.json")));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {source}: registry {host} refused access: it asks for a user name and password, and the auth file has none for it\n"
        )
    );
    f.registry
        .write_auth_file(&f.path("wrong.json"), USER, "wrong")
        .unwrap();
    let out = run(f
        .create_command(&spec, "a.airlock.tar.zst", &[])
        .env("REGISTRY_AUTH_FILE", f.path("wrong.json")));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {source}: registry {host} refused access: the password for {USER} was not accepted (HTTP 401)\n"
        )
    );

    let missing = f.spec("missing", &image_table(&format!("{host}/app:v9")));
    let out = f.create(&missing, "a.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!("airlock-bundler create: image {host}/app:v9: tag v9 not found in {host}/app\n")
    );

    // No referrer signs it: refused, unless --allow-unsigned.
    let out = f.create(&spec, "a.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {source}: no signature found: no Sigstore bundle refers to {} (referrers: referrers tag schema); --allow-unsigned packs it anyway\n",
            image.manifest.digest
        )
    );
    assert!(!f.path("a.airlock.tar.zst").exists());
    f.publish_log();
    let out = f.create(&spec, "a.airlock.tar.zst", &["--allow-unsigned"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("  UNSIGNED: no Sigstore bundle refers to it\n"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("preflight: 0 passed, 1 failed"));
}

#[test]
fn a_tampered_signature_in_the_registry_fails_create_naming_the_image_and_referrer() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer"]);
    let signed = f
        .sigstore
        .sign_blob(&image.bytes, &SignOptions::workload(IDENTITY, ISSUER))
        .unwrap();
    // One byte of the signature changed.
    let mut bundle: serde_json::Value = serde_json::from_slice(&signed.json).unwrap();
    let sig = bundle["messageSignature"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = base64_decode(&sig);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    bundle["messageSignature"]["signature"] = base64_encode(&bytes).into();
    let tampered = bundle.to_string().into_bytes();
    let referrer = f
        .registry
        .attach(
            "app",
            &image.manifest.digest,
            image.manifest.size,
            BUNDLE_V03_MEDIA_TYPE,
            &tampered,
        )
        .unwrap();
    f.publish_log();
    let source = format!("{}/app:v1", f.host());
    let spec = f.spec("app", &image_table(&source));
    let out = f.create(&spec, "app.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    let line = stderr(&out).lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        line,
        format!(
            "airlock-bundler create: preflight: 1 of 1 artifact(s) failed: app (image {source}): bundle {}: signature: signature does not verify against the artifact (from referrer {referrer} in {}/app)",
            sha256(&tampered),
            f.host()
        )
    );
    assert!(!f.path("app.airlock.tar.zst").exists());
}

#[test]
fn a_tag_that_moves_during_the_pull_is_an_error() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let first = f.push("app", "v1", &[b"first"]);
    f.sign("app", &first);
    let second = f.push("app", "v2", &[b"second"]);
    let source = format!("{}/app:v1", f.host());
    let spec = f.spec("app", &image_table(&source));
    let pause = f.path("pause");
    std::fs::create_dir(&pause).unwrap();
    let child = f
        .create_command(&spec, "app.airlock.tar.zst", &[])
        .env(airlock_bundler::pause::PAUSE_DIR_ENV, &pause)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while !pause.join("collect-resolved.reached").exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    f.registry
        .tag("app", "v1", &second.manifest.digest)
        .unwrap();
    std::fs::write(pause.join("collect-resolved.go"), b"").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {source}: tag v1 moved while the image was pulled (resolved to {}, now {})\n",
            first.manifest.digest, second.manifest.digest
        )
    );
}

#[test]
fn indexes_nested_too_deep_are_refused() {
    let Some(f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer"]);
    let mut child = (
        image.manifest.digest.clone(),
        image.manifest.size,
        "application/vnd.oci.image.manifest.v1+json",
    );
    let mut levels = Vec::new();
    for _ in 0..5 {
        let index = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": child.2, "digest": child.0, "size": child.1}],
        })
        .to_string()
        .into_bytes();
        let digest = sha256(&index);
        f.registry
            .put_manifest(
                "app",
                &digest,
                "application/vnd.oci.image.index.v1+json",
                &index,
            )
            .unwrap();
        levels.push(digest.clone());
        child = (
            digest,
            index.len(),
            "application/vnd.oci.image.index.v1+json",
        );
    }
    let source = format!("{}/app@{}", f.host(), levels[4]);
    let spec = f.spec("deep", &image_table(&source));
    let out = f.create(&spec, "deep.airlock.tar.zst", &["--allow-unsigned"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {source}: index {} is nested deeper than 4 levels of indexes\n",
            levels[0]
        )
    );
}

/// A scripted registry serving `routes` under `/v2/app/`.
fn scripted(f: &Fixture, routes: Vec<(String, Scripted)>) -> ScriptedServer {
    let routes: BTreeMap<String, Scripted> = routes.into_iter().collect();
    ScriptedServer::start_https(&f.tls, routes).unwrap()
}

fn answer(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Scripted {
    Scripted {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body,
    }
}

#[test]
fn oversized_manifests_redirects_to_http_and_digest_mismatches_are_refused() {
    let Some(f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer = b"the layer".to_vec();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(&layer), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let digest = sha256(&manifest);
    let huge = vec![b' '; (4 << 20) + 1];
    let other = sha256(b"something else");
    let manifest_type = ("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    let server = scripted(
        &f,
        vec![
            (
                "HEAD /v2/app/manifests/big".into(),
                answer(200, &[], Vec::new()),
            ),
            (
                "GET /v2/app/manifests/big".into(),
                answer(200, &[manifest_type], huge),
            ),
            (
                "HEAD /v2/app/manifests/moved".into(),
                answer(200, &[("Docker-Content-Digest", &digest)], Vec::new()),
            ),
            (
                format!("GET /v2/app/manifests/{digest}"),
                answer(
                    307,
                    &[("Location", "http://127.0.0.1:9/v2/app/manifests/x")],
                    Vec::new(),
                ),
            ),
            (
                "HEAD /v2/app/manifests/lying".into(),
                answer(200, &[("Docker-Content-Digest", &other)], Vec::new()),
            ),
            (
                format!("GET /v2/app/manifests/{other}"),
                answer(200, &[], manifest.clone()),
            ),
            (
                "HEAD /v2/app/manifests/badblob".into(),
                answer(200, &[], Vec::new()),
            ),
            (
                "GET /v2/app/manifests/badblob".into(),
                answer(200, &[manifest_type], manifest.clone()),
            ),
            (
                format!("GET /v2/app/blobs/{}", sha256(&config)),
                answer(200, &[], config.clone()),
            ),
            (
                format!("GET /v2/app/blobs/{}", sha256(&layer)),
                answer(200, &[], b"the layeR".to_vec()),
            ),
        ],
    );
    let host = server.host().to_owned();
    let spec = |name: &str, image: &str| {
        let path = f.path(&format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[publisher]\nname = \"release-team\"\n{}",
                image_table(image)
            ),
        )
        .unwrap();
        path
    };
    let create = |name: &str, image: &str| {
        let spec = spec(name, image);
        f.create(
            &spec,
            &format!("{name}.airlock.tar.zst"),
            &["--allow-unsigned"],
        )
    };

    let out = create("big", &format!("{host}/app:big"));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {host}/app:big: manifest big is larger than 4194304 bytes\n"
        )
    );
    let out = create("moved", &format!("{host}/app:moved"));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {host}/app:moved: https://{host}/v2/app/manifests/{digest} redirected to http://127.0.0.1:9/v2/app/manifests/x: only https:// is followed\n"
        )
    );
    let out = create("lying", &format!("{host}/app:lying"));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {host}/app:lying: manifest {other}: digest mismatch (expected {other}, received {digest})\n"
        )
    );
    let out = create("badblob", &format!("{host}/app:badblob"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {host}/app:badblob: blob {}: digest mismatch (expected {}, received {})\n",
            sha256(&layer),
            sha256(&layer),
            sha256(b"the layeR")
        )
    );
    assert!(
        server
            .seen()
            .iter()
            .any(|l| l.starts_with("GET /v2/app/blobs/"))
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn an_index_is_packed_whole_or_as_the_one_platform_selected_from_an_anonymous_registry() {
    let Some(mut f) = Fixture::new(RegistryAuth::Anonymous) else {
        return;
    };
    let amd = f.push("multi", "amd64", &[b"amd64 layer"]);
    let arm = f.push("multi", "arm64", &[b"arm64 layer"]);
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd.manifest.digest,
             "size": amd.manifest.size, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm.manifest.digest,
             "size": arm.manifest.size, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    })
    .to_string()
    .into_bytes();
    let index_digest = f
        .registry
        .put_manifest(
            "multi",
            "1.0",
            "application/vnd.oci.image.index.v1+json",
            &index,
        )
        .unwrap();
    let opts = SignOptions::workload(IDENTITY, ISSUER);
    for (digest, size, bytes) in [
        (&index_digest, index.len(), &index),
        (&arm.manifest.digest, arm.manifest.size, &arm.bytes),
    ] {
        let signed = f.sigstore.sign_blob(bytes, &opts).unwrap();
        f.registry
            .attach("multi", digest, size, BUNDLE_V03_MEDIA_TYPE, &signed.json)
            .unwrap();
    }
    f.publish_log();
    // No credentials at all.
    std::fs::remove_file(f.path("auth.json")).unwrap();
    std::fs::write(f.path("auth.json"), r#"{"auths":{}}"#).unwrap();
    let source = format!("{}/multi:1.0", f.host());

    let whole = f.spec("whole", &image_table(&source));
    let out = f.create(&whole, "whole.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(0));
    let artifact = &f.inspect("whole.airlock.tar.zst")["artifacts"][0];
    assert_eq!(artifact["digest"], index_digest.as_str());
    assert_eq!(
        artifact["media_type"],
        "application/vnd.oci.image.index.v1+json"
    );
    // oci-layout, index.json, the index, two manifests, their two configs (each lists its
    // layer's diff id), two layers.
    assert_eq!(artifact["files"].as_array().unwrap().len(), 9);
    assert_eq!(f.verify("whole.airlock.tar.zst").status.code(), Some(0));

    let one = f.spec(
        "one",
        &format!("{}platforms = [\"linux/arm64\"]\n", image_table(&source)),
    );
    let out = f.create(&one, "one.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains(&format!(
            "  tag 1.0 resolved to {index_digest}; packing {} (application/vnd.oci.image.manifest.v1+json, linux/arm64/v8)\n",
            arm.manifest.digest
        )),
        "{}",
        stderr(&out)
    );
    let artifact = &f.inspect("one.airlock.tar.zst")["artifacts"][0];
    assert_eq!(artifact["digest"], arm.manifest.digest.as_str());
    assert_eq!(artifact["files"].as_array().unwrap().len(), 5);
    assert_eq!(f.verify("one.airlock.tar.zst").status.code(), Some(0));

    let none = f.spec(
        "none",
        &format!("{}platforms = [\"linux/s390x\"]\n", image_table(&source)),
    );
    let out = f.create(&none, "none.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {source}: index {index_digest} has no manifest for platforms [linux/s390x] (it has [linux/amd64, linux/arm64/v8])\n"
        )
    );
}

/// Signs `image` the legacy cosign way: a simple-signing payload naming `named` (the image's
/// digest unless a test says otherwise) under `sha256-<hex>.sig`, and SLSA provenance under
/// `sha256-<hex>.att`. Returns the two tags.
fn cosign_legacy(
    f: &mut Fixture,
    repository: &str,
    image: &Pushed,
    named: &str,
    tamper: bool,
) -> (String, String) {
    let opts = SignOptions::workload(IDENTITY, ISSUER);
    let reference = format!("{}/{repository}", f.host());
    let payload = simple_signing_payload(&reference, named);
    let mut signature = f.sigstore.cosign_sign(&payload, &opts).unwrap();
    if tamper {
        signature.tamper_signature();
    }
    let digest: [u8; 32] = hex::decode(image.manifest.digest.trim_start_matches("sha256:"))
        .unwrap()
        .try_into()
        .unwrap();
    let provenance = f
        .sigstore
        .cosign_attest(
            &reference,
            digest,
            &Predicate::SlsaV1(Provenance {
                builder_id: "https://ci.airlock.test/builder".into(),
                build_type: "https://ci.airlock.test/buildtypes/image/v1".into(),
                source_uri: "git+https://git.airlock.test/org/app".into(),
                source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
            }),
            &opts,
        )
        .unwrap();
    let subject = &image.manifest.digest;
    f.registry
        .put_cosign_tag(repository, subject, "sig", &[signature])
        .unwrap();
    f.registry
        .put_cosign_tag(repository, subject, "att", &[provenance])
        .unwrap();
    let tag = subject.replace(':', "-");
    (format!("{tag}.sig"), format!("{tag}.att"))
}

/// The bundle made from the legacy `.sig` layer, as `--dry-run --json` names it.
fn legacy_signature_bundle(f: &Fixture, spec: &Path) -> String {
    let out = f.create(spec, "never.airlock.tar.zst", &["--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    found["images"][0]["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "signed-payload")
        .unwrap()["blob"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_image_signed_the_legacy_cosign_way_is_collected_from_its_sig_and_att_tags_and_verifies() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one"]);
    let named = image.manifest.digest.clone();
    let (sig, att) = cosign_legacy(&mut f, "app", &image, &named, false);
    f.publish_log();
    let spec = f.spec("app", &image_table(&format!("{}/app:v1", f.host())));

    // The dry run names both, with their claimed signers.
    let out = f.create(&spec, "never.airlock.tar.zst", &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let signer = format!("{IDENTITY} ({ISSUER})");
    assert!(
        text.contains(&format!(
            "    tag {sig} signed-payload application/vnd.dev.cosign.simplesigning.v1+json, names signer {signer}\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "    tag {att} attestation application/vnd.dsse.envelope.v1+json predicate https://slsa.dev/provenance/v1, names signer {signer}\n"
        )),
        "{text}"
    );

    let out = f.create(&spec, "app.airlock.tar.zst", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let referrers = summary["images"][0]["referrers"].as_array().unwrap();
    let tags: Vec<(&str, &str)> = referrers
        .iter()
        .map(|r| (r["tag"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tags,
        [
            (sig.as_str(), "signed-payload"),
            (att.as_str(), "attestation")
        ]
    );

    let manifest = f.inspect("app.airlock.tar.zst");
    let evidence = &manifest["artifacts"][0]["evidence"];
    assert!(
        evidence
            .get("bundles")
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(evidence["attestations"].as_array().unwrap().len(), 1);
    let signed = evidence["signed_payloads"].as_array().unwrap();
    assert_eq!(signed.len(), 1);
    assert_eq!(signed[0]["bundle"], referrers[0]["blob"]);
    assert_eq!(signed[0]["payload"], referrers[0]["payload"]);

    let verified = f.verify("app.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(text.contains("passed    app"), "{text}");
    assert!(
        text.contains("a simple-signing payload naming it"),
        "{text}"
    );
    assert!(text.contains("https://slsa.dev/provenance/v1"), "{text}");
}

#[test]
fn a_legacy_cosign_signature_whose_payload_names_another_digest_fails_create_with_the_digests() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one"]);
    let other = format!("sha256:{}", "0".repeat(64));
    let (sig, _) = cosign_legacy(&mut f, "app", &image, &other, false);
    f.publish_log();
    let source = format!("{}/app:v1", f.host());
    let spec = f.spec("app", &image_table(&source));
    let bundle = legacy_signature_bundle(&f, &spec);
    let out = f.create(&spec, "app.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    let line = stderr(&out).lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        line,
        format!(
            "airlock-bundler create: preflight: 1 of 1 artifact(s) failed: app (image {source}): bundle {bundle}: signed payload names image {other}, not the artifact's digest {} (from tag {sig} in {}/app)",
            image.manifest.digest,
            f.host()
        )
    );
    assert!(!f.path("app.airlock.tar.zst").exists());
}

#[test]
fn a_tampered_legacy_cosign_signature_fails_create_naming_the_tag() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one"]);
    let named = image.manifest.digest.clone();
    let (sig, _) = cosign_legacy(&mut f, "app", &image, &named, true);
    f.publish_log();
    let source = format!("{}/app:v1", f.host());
    let spec = f.spec("app", &image_table(&source));
    let bundle = legacy_signature_bundle(&f, &spec);
    let out = f.create(&spec, "app.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    let line = stderr(&out).lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        line,
        format!(
            "airlock-bundler create: preflight: 1 of 1 artifact(s) failed: app (image {source}): bundle {bundle}: signature: signature does not verify against the artifact (from tag {sig} in {}/app)",
            f.host()
        )
    );
    assert!(!f.path("app.airlock.tar.zst").exists());
}

/// Signs `image` the way older cosign did: its `.sig` logged as `rekord 0.0.1` and its `.att`
/// as `intoto 0.0.1` (the latter with `att_fault` recorded in the entry). Returns the tags.
fn cosign_older(
    f: &mut Fixture,
    image: &Pushed,
    att_fault: Option<EntryFault>,
) -> (String, String) {
    let opts = SignOptions::workload(IDENTITY, ISSUER);
    let reference = format!("{}/app", f.host());
    let payload = simple_signing_payload(&reference, &image.manifest.digest);
    let signature = f.sigstore.cosign_sign(&payload, &opts).unwrap();
    let signature = f
        .sigstore
        .cosign_relog(&signature, LegacyKind::Rekord, None)
        .unwrap();
    let digest: [u8; 32] = hex::decode(image.manifest.digest.trim_start_matches("sha256:"))
        .unwrap()
        .try_into()
        .unwrap();
    let provenance = f
        .sigstore
        .cosign_attest(
            &reference,
            digest,
            &Predicate::SlsaV1(Provenance {
                builder_id: "https://ci.airlock.test/builder".into(),
                build_type: "https://ci.airlock.test/buildtypes/image/v1".into(),
                source_uri: "git+https://git.airlock.test/org/app".into(),
                source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
            }),
            &opts,
        )
        .unwrap();
    let provenance = f
        .sigstore
        .cosign_relog(&provenance, LegacyKind::Intoto001, att_fault)
        .unwrap();
    let subject = &image.manifest.digest;
    f.registry
        .put_cosign_tag("app", subject, "sig", &[signature])
        .unwrap();
    f.registry
        .put_cosign_tag("app", subject, "att", &[provenance])
        .unwrap();
    let tag = subject.replace(':', "-");
    (format!("{tag}.sig"), format!("{tag}.att"))
}

#[test]
fn legacy_cosign_evidence_logged_as_rekord_and_intoto_v001_is_collected_and_verifies() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one"]);
    let (sig, att) = cosign_older(&mut f, &image, None);
    f.publish_log();
    let spec = f.spec("app", &image_table(&format!("{}/app:v1", f.host())));
    let out = f.create(&spec, "app.airlock.tar.zst", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tags: Vec<(&str, &str)> = summary["images"][0]["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["tag"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tags,
        [
            (sig.as_str(), "signed-payload"),
            (att.as_str(), "attestation")
        ]
    );
    let verified = f.verify("app.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(text.contains("passed    app"), "{text}");
    assert!(text.contains("https://slsa.dev/provenance/v1"), "{text}");
}

#[test]
fn a_legacy_att_layer_whose_bytes_are_not_the_logged_envelope_is_ignored_naming_both_hashes() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one"]);
    let (_, att) = cosign_older(&mut f, &image, Some(EntryFault::EnvelopeHash));
    f.publish_log();
    let spec = f.spec("app", &image_table(&format!("{}/app:v1", f.host())));
    let out = f.create(&spec, "never.airlock.tar.zst", &["--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let referrers = found["images"][0]["referrers"].as_array().unwrap();
    let ignored = referrers.iter().find(|r| r["tag"] == att.as_str()).unwrap();
    let why = ignored["ignored"].as_str().unwrap();
    let prefix =
        "layer 0: annotation dev.sigstore.cosign/bundle: Payload.body: the logged envelope hash ";
    assert!(why.starts_with(prefix), "{why}");
    let (logged, layer) = why[prefix.len()..]
        .split_once(" is not the layer's ")
        .unwrap();
    assert_eq!((logged.len(), layer.len()), (64, 64), "{why}");
    assert_ne!(logged, layer);
}

/// A file and its bundle served over HTTPS by a loopback server with the kit's certificate:
/// the server, the file's bytes, and the `[[artifact]]` table naming them (with `pin`).
fn served_file(f: &mut Fixture, pin: Option<&str>) -> (StaticServer, Vec<u8>, String) {
    let dir = f.path("downloads");
    std::fs::create_dir_all(&dir).unwrap();
    let content = vec![9u8; 200_000];
    std::fs::write(dir.join("tool.tar.gz"), &content).unwrap();
    let signed = f
        .sigstore
        .sign_blob(&content, &SignOptions::workload(IDENTITY, ISSUER))
        .unwrap();
    std::fs::write(dir.join("tool.tar.gz.sigstore.json"), &signed.json).unwrap();
    let server = StaticServer::start_https(&dir, &f.tls).unwrap();
    let base = server.url().to_owned();
    let pin = pin.map_or_else(String::new, |p| format!("sha256 = \"{p}\"\n"));
    let table = format!(
        "\n[[artifact]]\nurl = \"{base}/tool.tar.gz\"\nbundle_url = \"{base}/tool.tar.gz.sigstore.json\"\n{pin}"
    );
    (server, content, table)
}

#[test]
fn a_url_source_is_downloaded_with_its_bundle_into_the_cache_and_verifies() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let content_sha = sha256(&vec![9u8; 200_000]);
    let pin = content_sha.trim_start_matches("sha256:").to_owned();
    let (server, content, table) = served_file(&mut f, Some(&pin));
    f.publish_log();
    let spec = f.spec("tool", &table);
    let cache = f.path("cache");

    let out = f.create(&spec, "never.airlock.tar.zst", &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "download tool.tar.gz: {base}/tool.tar.gz, bundle {base}/tool.tar.gz.sigstore.json, pinned {content_sha}\n",
            base = server.url()
        )),
        "{text}"
    );

    let out = f.create(
        &spec,
        "tool.airlock.tar.zst",
        &["--cache", cache.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(cache.join("blobs/sha256").join(&pin).exists());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let downloaded = &summary["downloads"][0];
    assert_eq!(downloaded["url"], format!("{}/tool.tar.gz", server.url()));
    assert_eq!(downloaded["digest"], content_sha.as_str());
    assert_eq!(downloaded["fetched_bytes"], content.len());

    // Pinned and in the cache: a second create fetches the file no more.
    let out = f.create(
        &spec,
        "again.airlock.tar.zst",
        &["--cache", cache.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["downloads"][0]["fetched_bytes"], 0);
    let manifest = f.inspect("tool.airlock.tar.zst");
    let artifact = &manifest["artifacts"][0];
    assert_eq!(artifact["name"], "tool.tar.gz");
    assert_eq!(artifact["kind"], "file");
    assert_eq!(artifact["digest"], content_sha.as_str());
    assert_eq!(artifact["size"], content.len());
    assert_eq!(artifact["files"][0]["path"], "tool.tar.gz");
    assert_eq!(artifact["evidence"]["bundles"].as_array().unwrap().len(), 1);
    let verified = f.verify("tool.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(text.contains("passed    tool.tar.gz"), "{text}");
}

#[test]
fn a_url_source_that_does_not_hash_to_its_pin_fails_create_naming_the_url() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let pin = "ab".repeat(32);
    let (server, content, table) = served_file(&mut f, Some(&pin));
    f.publish_log();
    let spec = f.spec("tool", &table);
    let out = f.create(&spec, "tool.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let line = stderr(&out).lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        line,
        format!(
            "airlock-bundler create: download {}/tool.tar.gz: file sha256:{pin}: digest mismatch (expected sha256:{pin}, received {})",
            server.url(),
            sha256(&content)
        )
    );
    assert!(!f.path("tool.airlock.tar.zst").exists());
}

/// Another registry on loopback beside the fixture's: a mirror, with its own folder.
fn start_mirror(f: &Fixture, tls: &TlsMaterial, auth: RegistryAuth) -> Registry {
    let (docker_registry, htpasswd, _) = tools().unwrap();
    Registry::start(&RegistryOptions {
        binary: &docker_registry,
        htpasswd: &htpasswd,
        dir: &f.path("mirror"),
        tls,
        auth,
        now: Utc::now().timestamp(),
    })
    .unwrap()
}

/// The `[[registry]]` lines after the origin's `ca_file`: its mirrors, then the mirror's own
/// table (its CA), then the artifacts.
fn mirrored(mirrors: &[String], mirror_host: &str, artifacts: &str) -> String {
    let list: Vec<String> = mirrors.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "mirrors = [{}]\n\n[[registry]]\nhost = \"{mirror_host}\"\nca_file = \"mirror/ca.pem\"\n{artifacts}",
        list.join(", ")
    )
}

fn blob_sources(image: &serde_json::Value) -> BTreeMap<String, String> {
    image["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["digest"].as_str().unwrap().to_owned(),
                b["from"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_image_comes_through_its_mirror_with_the_mirrors_own_ca_and_credentials_and_its_tag_from_the_origin()
 {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let big = vec![5u8; 250_000];
    let image = f.push("app", "v1", &[b"mirrored layer", &big]);
    f.sign("app", &image);
    f.publish_log();
    // The mirror: a CA of its own, a user of its own, the repository under a prefix.
    let now = Utc::now().timestamp();
    let mirror_tls = TlsMaterial::new(44, now - 3600, now + 3600).unwrap();
    let mirror = start_mirror(
        &f,
        &mirror_tls,
        RegistryAuth::Basic {
            user: "mirror-bot".into(),
            password: "mirror secret".into(),
        },
    );
    mirror
        .mirror_repository(&f.registry, "app", "hub/app")
        .unwrap();
    // The origin has lost the big layer: only the mirror can serve it.
    f.registry.remove_blob(&sha256(&big)).unwrap();
    // On the mirror, v1 names another image: a mirror must not decide what a tag names.
    let (other, _) = OciLayout::new(&f.path("layouts/other"), &[b"rolled back"]).unwrap();
    mirror
        .push_layout(&f.skopeo, &other.dir, "hub/app:v1")
        .unwrap();
    let auths = serde_json::json!({"auths": {
        f.host(): {"auth": base64_encode(format!("{USER}:{PASSWORD}").as_bytes())},
        mirror.host(): {"auth": base64_encode(b"mirror-bot:mirror secret")},
    }});
    std::fs::write(f.path("auth.json"), auths.to_string()).unwrap();
    let location = format!("{}/hub", mirror.host());
    let spec = f.spec(
        "mirrored",
        &mirrored(
            std::slice::from_ref(&location),
            mirror.host(),
            &image_table(&format!("{}/app:v1", f.host())),
        ),
    );

    let origin_blobs = f.registry.blob_requests("app");
    let origin_tags = f.registry.manifest_requests("app", "v1");
    let out = f.create(&spec, "app.airlock.tar.zst", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pulled = &summary["images"][0];
    assert_eq!(pulled["resolved"], image.manifest.digest.as_str());
    let sources = blob_sources(pulled);
    assert_eq!(sources.len(), 4, "{sources:?}");
    assert!(sources.values().all(|s| *s == location), "{sources:?}");
    for r in pulled["referrers"].as_array().unwrap() {
        if r["kind"].is_string() {
            assert_eq!(r["from"], location.as_str(), "{r}");
        }
    }
    assert!(pulled.get("warnings").is_none(), "{pulled}");
    assert_eq!(f.registry.blob_requests("app"), origin_blobs);
    assert!(mirror.blob_requests("hub/app") > 0);
    assert_eq!(mirror.manifest_requests("hub/app", "v1"), 0);
    assert!(f.registry.manifest_requests("app", "v1") > origin_tags);
    let verified = f.verify("app.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));

    // The origin down: an image pinned by digest comes whole from the mirror, its referrers
    // listed there (with a warning); one pinned by tag cannot be resolved.
    f.registry.stop();
    let by_digest = format!("{}/app@{}", f.host(), image.manifest.digest);
    let spec = f.spec(
        "origin-down",
        &mirrored(
            std::slice::from_ref(&location),
            mirror.host(),
            &image_table(&by_digest),
        ),
    );
    let out = f.create(&spec, "down.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "  4 fetched from {location}\n  warning: registry {} could not be reached: https://{}/v2/app/referrers/{}: ",
            f.host(),
            f.host(),
            image.manifest.digest
        )),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("; listings are asked of its mirrors\n"));
    assert_eq!(f.verify("down.airlock.tar.zst").status.code(), Some(0));
    let out = f.create(
        &f.spec(
            "tag-down",
            &mirrored(
                std::slice::from_ref(&location),
                mirror.host(),
                &image_table(&format!("{}/app:v1", f.host())),
            ),
        ),
        "never.airlock.tar.zst",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(&format!(
            "airlock-bundler create: image {}/app:v1: https://{}/v2/app/manifests/v1: ",
            f.host(),
            f.host()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_mirror_serving_a_corrupted_blob_is_skipped_with_a_warning_and_the_origin_serves_it() {
    let Some(mut f) = Fixture::new(RegistryAuth::Anonymous) else {
        return;
    };
    let big = vec![6u8; 250_000];
    let image = f.push("app", "v1", &[b"small layer", &big]);
    f.sign("app", &image);
    f.publish_log();
    let tls = f.tls.clone();
    let mirror = start_mirror(&f, &tls, RegistryAuth::Anonymous);
    mirror.mirror_repository(&f.registry, "app", "app").unwrap();
    let layer = sha256(&big);
    let corrupted = mirror.corrupt_blob(&layer).unwrap();
    let reference = format!("{}/app@{}", f.host(), image.manifest.digest);
    let spec = f.spec(
        "corrupted",
        &mirrored(
            &[mirror.host().to_owned()],
            mirror.host(),
            &image_table(&reference),
        ),
    );

    let out = f.create(&spec, "app.airlock.tar.zst", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pulled = &summary["images"][0];
    let sources = blob_sources(pulled);
    assert_eq!(sources[&layer], f.host(), "{sources:?}");
    assert_eq!(
        sources[&image.manifest.digest],
        mirror.host(),
        "{sources:?}"
    );
    let warning = format!(
        "mirror {m} skipped from now on: blob {layer}: digest mismatch (expected {layer}, received {corrupted})",
        m = mirror.host()
    );
    assert_eq!(pulled["warnings"], serde_json::json!([warning]));
    assert_eq!(f.verify("app.airlock.tar.zst").status.code(), Some(0));

    // The origin lacking it too: the error names both answers, and nothing is packed.
    f.registry.remove_blob(&layer).unwrap();
    let out = f.create(&spec, "never.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: image {reference}: blob {layer} not found in {}/app (after its mirrors: mirror {m}: blob {layer}: digest mismatch (expected {layer}, received {corrupted}))\n",
            f.host(),
            m = mirror.host()
        )
    );
    assert!(!f.path("never.airlock.tar.zst").exists());
}

#[test]
fn collecting_reports_one_source_per_spec_entry_with_its_bytes() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one", &vec![7u8; 300_000]]);
    f.sign("app", &image);
    let (_server, content, table) = served_file(&mut f, None);
    f.publish_log();
    let artifacts = format!("{}{table}", image_table(&format!("{}/app:v1", f.host())));
    let spec = airlock_bundler::spec::Spec::load(&f.spec("both", &artifacts)).unwrap();
    let key = airlock_bundler::keys::load_signing_key(&f.key, || unreachable!()).unwrap();
    let options = airlock_bundler::create::CreateOptions {
        output: f.path("both.airlock.tar.zst"),
        write: Default::default(),
        allow_failing: false,
        witness_state: None,
        extra_ca_pem: Some(std::fs::read(f.path("ca.pem")).unwrap()),
        now: Utc::now(),
        sequence: None,
        collect: airlock_bundler::collect::CollectOptions {
            auth_file: Some(f.path("auth.json")),
            ..Default::default()
        },
    };
    let recorded = crate::recording::Recorded::default();
    let created = airlock_bundler::create::create(&spec, &[&key], &options, &recorded).unwrap();

    let plan = &created.images[0];
    // Config and layers, and the SBOM (bundles were read while planning).
    let blobs: u64 = plan
        .blobs
        .iter()
        .filter(|b| !b.media_type.contains("manifest"))
        .map(|b| b.size)
        .sum();
    let sbom: u64 = plan
        .referrers
        .iter()
        .filter(|r| r.kind == Some(airlock_bundler::collect::EvidenceKind::Sbom))
        .filter_map(|r| r.size)
        .sum();
    let total = blobs + sbom;
    assert_eq!(
        recorded.sources(),
        [
            ("app".to_owned(), total, total),
            (
                "tool.tar.gz".to_owned(),
                content.len() as u64,
                content.len() as u64
            ),
        ]
    );
}

#[test]
fn a_legacy_cosign_signature_made_with_a_key_is_collected_and_verifies_against_the_specs_key() {
    let Some(mut f) = Fixture::new(RegistryAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    }) else {
        return;
    };
    let image = f.push("app", "v1", &[b"layer one"]);
    let reference = format!("{}/app", f.host());
    let payload = simple_signing_payload(&reference, &image.manifest.digest);
    let key = f.sigstore.managed_key("cosign");
    let layer = f
        .sigstore
        .cosign_sign_with_key(&payload, &key, &SignOptions::workload(IDENTITY, ISSUER))
        .unwrap();
    f.registry
        .put_cosign_tag("app", &image.manifest.digest, "sig", &[layer])
        .unwrap();
    f.publish_log();
    std::fs::write(f.path("cosign.pub"), key.public_pem().unwrap()).unwrap();
    let source = format!("{reference}:v1");
    let spec = f.spec(
        "keyed",
        &format!("{}key = \"cosign.pub\"\n", image_table(&source)),
    );
    let out = f.create(&spec, "app.airlock.tar.zst", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let referrer = &summary["images"][0]["referrers"][0];
    assert_eq!(referrer["kind"], "signed-payload");
    assert_eq!(
        referrer["signer"],
        format!("managed key {}", base64_encode(&key.key_id().unwrap()))
    );
    assert_eq!(summary["preflight"]["artifacts"][0]["passed"], true);

    // Without the key, preflight cannot verify it: a key-signed bundle needs one.
    let spec = f.spec("keyless", &image_table(&source));
    let bundle = legacy_signature_bundle(&f, &spec);
    let out = f.create(&spec, "never.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    let line = stderr(&out).lines().last().unwrap_or_default().to_owned();
    assert_eq!(
        line,
        format!(
            "airlock-bundler create: preflight: 1 of 1 artifact(s) failed: app (image {source}): bundle {bundle}: material: bundle is signed with a managed key but no key was given (from tag {}.sig in {reference})",
            image.manifest.digest.replace(':', "-")
        )
    );
}
