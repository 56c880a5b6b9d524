//! `create` with `npm = …` and `pypi = …` against the testkit's loopback package registry
//! (the npm registry's version documents, tarballs and attestations documents; PyPI's JSON
//! API, files and PEP 740 provenance), every file and bundle minted by the kit's private
//! Sigstore; and the real npm provenance bundle with its real tarball, served the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock_tests::{
    DigestAlgorithm, Instance, LogServer, NPM_PUBLISH_PREDICATE, PYPI_PUBLISH_PREDICATE,
    PackageServer, Predicate, Provenance, PypiFile, SignOptions, TlsMaterial, TufRepoBuilder,
    npm_integrity,
};
use chrono::{DateTime, Duration, Utc};

pub(crate) const IDENTITY: &str =
    "https://ci.airlock.test/org/tool/.ci/release.yml@refs/tags/v1.0.0";
pub(crate) const ISSUER: &str = "https://token.ci.airlock.test";
const NPM: &str = "@airlock/tool";
const PROJECT: &str = "airlock-tool";
const WHEEL: &str = "airlock_tool-1.0.0-py3-none-any.whl";
const SDIST: &str = "airlock_tool-1.0.0.tar.gz";

pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_airlock-bundler"))
}

pub(crate) fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A connected side with a package registry: the kit's Sigstore, its TUF repository and
/// log, a publisher key.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) server: PackageServer,
    pub(crate) tls: TlsMaterial,
    pub(crate) sigstore: Instance,
    log: LogServer,
    key: PathBuf,
    public: PathBuf,
}

pub(crate) fn provenance() -> Predicate {
    Predicate::SlsaV1(Provenance {
        builder_id: "https://ci.airlock.test/builder".into(),
        build_type: "https://ci.airlock.test/buildtypes/npm/v1".into(),
        source_uri: "git+https://git.airlock.test/org/tool".into(),
        source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
    })
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = DateTime::from_timestamp(1_768_478_400, 0).unwrap();
        let sigstore = Instance::new(61, base).unwrap();
        let now = Utc::now().timestamp();
        let tls = TlsMaterial::new(63, now - 3600, now + 3600).unwrap();
        let tuf = TufRepoBuilder::new(62, Utc::now() - Duration::days(1))
            .trusted_root(sigstore.trusted_root_json().unwrap())
            .write(&dir.path().join("tuf"))
            .unwrap();
        std::fs::write(dir.path().join("tuf/1.root.json"), &tuf.initial_root).unwrap();
        std::fs::write(dir.path().join("ca.pem"), tls.ca_pem()).unwrap();
        let log = LogServer::start_https(sigstore.log(), &tls).unwrap();
        let server = PackageServer::start_https(&tls).unwrap();
        let generated =
            airlock_bundler::keys::generate(&dir.path().join("publisher"), None).unwrap();
        Self {
            dir,
            server,
            tls,
            sigstore,
            log,
            key: generated.key_path,
            public: generated.pub_path,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Publishes `@airlock/tool@1.0.0` with SLSA provenance naming the tarball by SHA-512
    /// (as npm's does) and a publish attestation signed with a managed key (as npm's
    /// registry signs its own).
    fn publish_npm(&mut self, tarball: &[u8]) -> airlock_tests::NpmPaths {
        let opts = SignOptions::workload(IDENTITY, ISSUER);
        let subject = format!("pkg:npm/{NPM}@1.0.0");
        let slsa = self
            .sigstore
            .attest_bytes(
                &subject,
                tarball,
                &[DigestAlgorithm::Sha512],
                &provenance(),
                &opts,
            )
            .unwrap();
        let registry_key = self.sigstore.managed_key("npm-registry");
        let publish = self
            .sigstore
            .sign_blob_with_key(tarball, &registry_key, &opts)
            .unwrap();
        self.server
            .publish_npm(
                NPM,
                "1.0.0",
                tarball,
                Some(&[
                    ("https://slsa.dev/provenance/v1", &slsa.json),
                    (NPM_PUBLISH_PREDICATE, &publish.json),
                ]),
            )
            .unwrap()
    }

    /// Publishes `airlock-tool==1.0.0`: a wheel with a PEP 740 publish attestation, and an
    /// sdist with none.
    fn publish_pypi(&mut self, wheel: &[u8]) -> airlock_tests::PypiPaths {
        let opts = SignOptions::workload(IDENTITY, ISSUER);
        let publish = self
            .sigstore
            .attest_bytes(
                WHEEL,
                wheel,
                &[DigestAlgorithm::Sha256],
                &Predicate::Custom {
                    predicate_type: PYPI_PUBLISH_PREDICATE.into(),
                    predicate: serde_json::Value::Null,
                },
                &opts,
            )
            .unwrap();
        self.server
            .publish_pypi(
                PROJECT,
                "1.0.0",
                &[
                    PypiFile {
                        name: WHEEL,
                        bytes: wheel,
                        bundles: vec![publish.json],
                    },
                    PypiFile {
                        name: SDIST,
                        bytes: b"an sdist without provenance",
                        bundles: vec![],
                    },
                ],
            )
            .unwrap()
    }

    /// Grows the log after the signatures (the archive then needs proofs) and serves it.
    pub(crate) fn publish_log(&mut self) {
        let t = 1_768_478_400 + 3600;
        for i in 0..20 {
            self.sigstore
                .log_mut()
                .append(format!("later entry {i}").into_bytes(), t + i)
                .unwrap();
        }
        self.log.set_log(self.sigstore.log());
    }

    pub(crate) fn spec(&self, name: &str, artifacts: &str) -> PathBuf {
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
url = "{log}"
api = "rekor-v1"

[npm]
registry = "{registry}"

[pypi]
index = "{registry}"
{artifacts}
"#,
            log = self.log.url(),
            registry = self.server.url(),
        );
        let path = self.path(&format!("{name}.toml"));
        std::fs::write(&path, spec).unwrap();
        path
    }

    pub(crate) fn create(&self, spec: &Path, out: &str, extra: &[&str]) -> Output {
        run(&mut self.create_command(spec, out, extra))
    }

    pub(crate) fn create_command(&self, spec: &Path, out: &str, extra: &[&str]) -> Command {
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
            .env_remove("NPM_TOKEN");
        cmd
    }

    pub(crate) fn verify(&self, archive: &str) -> Output {
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

    pub(crate) fn inspect(&self, archive: &str) -> serde_json::Value {
        let out = run(bin()
            .arg("inspect")
            .arg(self.path(archive))
            .arg("--pub")
            .arg(&self.public)
            .arg("--json"));
        assert_eq!(out.status.code(), Some(0));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["manifest"].clone()
    }

    /// Nothing but what the test made itself is left in the folder (no output, no work
    /// folder).
    pub(crate) fn leftovers(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') || n.ends_with(".zst"))
            .collect();
        names.sort();
        names
    }
}

const NPM_TABLE: &str = "\n[[artifact]]\nnpm = \"@airlock/tool@1.0.0\"\n";
const PYPI_TABLE: &str =
    "\n[[artifact]]\nname = \"tool-wheel\"\npypi = \"airlock-tool==1.0.0\"\npattern = \"*.whl\"\n";

#[test]
fn npm_and_pypi_packages_are_collected_with_their_attestations_verify_and_the_cache_fetches_no_file_twice()
 {
    let mut f = Fixture::new();
    let tarball = b"package/package.json: the airlock tool, packed by the testkit".to_vec();
    let wheel = b"PK: the airlock tool's wheel, minted by the testkit".to_vec();
    let npm = f.publish_npm(&tarball);
    let pypi = f.publish_pypi(&wheel);
    f.publish_log();
    let spec = f.spec("packages", &format!("{NPM_TABLE}{PYPI_TABLE}"));
    let cache = f.path("cache");
    let cache_arg = cache.to_str().unwrap();

    let out = f.create(
        &spec,
        "packages.airlock.tar.zst",
        &["--cache", cache_arg, "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(f.server.requests(&npm.tarball), 1);
    assert_eq!(f.server.requests(&format!("/files/{WHEEL}")), 1);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = summary["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2);
    let n = &packages[0];
    assert_eq!(n["ecosystem"], "npm");
    assert_eq!(n["source"], "@airlock/tool@1.0.0");
    assert_eq!(
        n["metadata_url"],
        format!("{}/@airlock%2ftool/1.0.0", f.server.url()).as_str()
    );
    assert_eq!(n["file"]["name"], "tool-1.0.0.tgz");
    assert_eq!(
        n["file"]["sha256"],
        airlock_tests::sha256(&tarball).as_str()
    );
    assert_eq!(
        n["evidence_url"],
        format!("{}{}", f.server.url(), npm.attestations).as_str()
    );
    assert_eq!(
        n["evidence"][0]["kinds"],
        serde_json::json!(["bundle", "attestation"])
    );
    assert_eq!(n["evidence"][1]["predicate_type"], NPM_PUBLISH_PREDICATE);
    assert!(
        n["evidence"][1]["ignored"]
            .as_str()
            .unwrap()
            .starts_with("signed with the registry's managed key "),
        "{n}"
    );
    let p = &packages[1];
    assert_eq!(p["ecosystem"], "pypi");
    assert_eq!(p["file"]["name"], WHEEL);
    assert_eq!(
        p["evidence_url"],
        format!("{}{}", f.server.url(), pypi.provenance[WHEEL]).as_str()
    );
    assert_eq!(p["evidence"][0]["kinds"], serde_json::json!(["bundle"]));
    assert_eq!(p["evidence"][0]["predicate_type"], PYPI_PUBLISH_PREDICATE);

    let manifest = f.inspect("packages.airlock.tar.zst");
    let a = &manifest["artifacts"][0];
    assert_eq!(a["name"], "@airlock/tool@1.0.0");
    assert_eq!(a["kind"], "file");
    assert_eq!(a["files"][0]["path"], "tool-1.0.0.tgz");
    assert_eq!(a["evidence"]["bundles"].as_array().unwrap().len(), 1);
    assert_eq!(a["evidence"]["attestations"], a["evidence"]["bundles"]);
    // The provenance names the tarball by SHA-512 only: the manifest declares it.
    let sha512 = npm_integrity(&tarball);
    let declared = a["other_digests"]["sha512"].as_str().unwrap();
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(hex::decode(declared).unwrap()),
        sha512.trim_start_matches("sha512-")
    );
    let w = &manifest["artifacts"][1];
    assert_eq!(w["name"], "tool-wheel");
    assert_eq!(w["files"][0]["path"], WHEEL);
    assert_eq!(w["evidence"]["bundles"].as_array().unwrap().len(), 1);

    let verified = f.verify("packages.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(text.contains("passed    @airlock/tool@1.0.0"), "{text}");
    assert!(text.contains("passed    tool-wheel"), "{text}");
    assert!(text.contains("https://slsa.dev/provenance/v1"), "{text}");

    // Everything is in the cache now: a second create reads the metadata again, but no
    // tarball or wheel.
    let out = f.create(&spec, "again.airlock.tar.zst", &["--cache", cache_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(f.server.requests(&npm.tarball), 1);
    assert_eq!(f.server.requests(&format!("/files/{WHEEL}")), 1);
    assert!(
        stderr(&out).contains("  file tool-1.0.0.tgz (sha512:"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(") held in the cache from "),
        "{}",
        stderr(&out)
    );
    let again = f.inspect("again.airlock.tar.zst");
    assert_eq!(again["artifacts"], manifest["artifacts"]);
    assert_eq!(
        f.leftovers(),
        ["again.airlock.tar.zst", "packages.airlock.tar.zst"]
    );
}

#[test]
fn dry_run_lists_package_files_bundles_and_signers_and_fetches_no_file() {
    let mut f = Fixture::new();
    let tarball = b"a tarball never downloaded".to_vec();
    let npm = f.publish_npm(&tarball);
    f.publish_pypi(b"a wheel never downloaded");
    let spec = f.spec("packages", &format!("{NPM_TABLE}{PYPI_TABLE}"));
    let out = f.create(&spec, "never.airlock.tar.zst", &["--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(f.server.requests(&npm.tarball), 0);
    assert_eq!(f.server.requests(&format!("/files/{WHEEL}")), 0);
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let signer = format!("{IDENTITY} ({ISSUER})");
    assert_eq!(
        found["packages"][0]["evidence"][0]["signer"],
        signer.as_str()
    );
    assert_eq!(
        found["packages"][1]["evidence"][0]["signer"],
        signer.as_str()
    );
    assert_eq!(found["packages"][0]["unsigned"], false);
    assert_eq!(found["packages"][0]["file"]["held"], false);

    let out = f.create(&spec, "never.airlock.tar.zst", &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let sha512 = hex::encode(sha2::Sha512::digest(&tarball));
    assert!(
        text.contains(&format!(
            "npm @airlock/tool@1.0.0: @airlock/tool@1.0.0\n  file tool-1.0.0.tgz (sha512:{sha512}) to fetch from {}{}\n  2 bundle(s) from {}{}\n",
            f.server.url(),
            npm.tarball,
            f.server.url(),
            npm.attestations
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            " bundle+attestation predicate https://slsa.dev/provenance/v1, names signer {signer}\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "pypi tool-wheel: airlock-tool==1.0.0\n  file {WHEEL} ({}, 24 bytes) to fetch from {}/files/{WHEEL}\n",
            airlock_tests::sha256(b"a wheel never downloaded"),
            f.server.url()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            " bundle predicate {PYPI_PUBLISH_PREDICATE}, names signer {signer}\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            " ignored predicate {NPM_PUBLISH_PREDICATE}, names signer managed key "
        )),
        "{text}"
    );
    assert!(text.contains(", which no trusted root carries\n"), "{text}");
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}

use sha2::Digest as _;

#[test]
fn a_tarball_that_does_not_match_its_integrity_is_refused_and_nothing_is_written() {
    let mut f = Fixture::new();
    let tarball = b"the tarball that was published".to_vec();
    let npm = f.publish_npm(&tarball);
    f.publish_log();
    f.server.put(
        &npm.tarball,
        "application/octet-stream",
        b"the tarball swapped in".to_vec(),
    );
    let spec = f.spec("swapped", NPM_TABLE);
    let out = f.create(&spec, "swapped.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: npm package @airlock/tool@1.0.0: tarball {}{}: integrity mismatch (expected {}, received {})\n",
            f.server.url(),
            npm.tarball,
            npm_integrity(&tarball),
            npm_integrity(b"the tarball swapped in")
        )
    );
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}

#[test]
fn a_missing_version_a_missing_file_and_a_release_without_provenance_are_each_named() {
    let mut f = Fixture::new();
    f.publish_npm(b"tarball");
    f.publish_pypi(b"wheel");
    f.publish_log();

    let spec = f.spec("missing", "\n[[artifact]]\nnpm = \"@airlock/tool@2.0.0\"\n");
    let out = f.create(&spec, "missing.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: npm package @airlock/tool@2.0.0: version 2.0.0 not found ({}/@airlock%2ftool/2.0.0 answered HTTP 404)\n",
            f.server.url()
        )
    );
    let spec = f.spec(
        "nofile",
        "\n[[artifact]]\npypi = \"airlock-tool==1.0.0\"\nfile = \"airlock_tool-1.0.0-cp312-abi3-manylinux.whl\"\n",
    );
    let out = f.create(&spec, "nofile.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: PyPI project airlock-tool==1.0.0: no file named airlock_tool-1.0.0-cp312-abi3-manylinux.whl in the release (it has: {WHEEL}, {SDIST})\n"
        )
    );
    let spec = f.spec(
        "unsigned",
        &format!("\n[[artifact]]\npypi = \"airlock-tool==1.0.0\"\nfile = \"{SDIST}\"\n"),
    );
    let out = f.create(&spec, "unsigned.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: PyPI project airlock-tool==1.0.0: no provenance: no Sigstore bundle signs {SDIST} (looked at {}/integrity/{PROJECT}/1.0.0/{SDIST}/provenance); --allow-unsigned packs it anyway\n",
            f.server.url()
        )
    );
    // No file was downloaded for any of them.
    assert_eq!(f.server.requests(&format!("/files/{SDIST}")), 0);
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());

    // With --allow-unsigned it is packed, and the archive says it is unsigned.
    let out = f.create(
        &spec,
        "unsigned.airlock.tar.zst",
        &["--allow-unsigned", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["packages"][0]["unsigned"], true);
    let manifest = f.inspect("unsigned.airlock.tar.zst");
    assert_eq!(manifest["artifacts"][0]["name"], SDIST);
    assert_eq!(
        manifest["artifacts"][0]["evidence"]["bundles"]
            .as_array()
            .map_or(0, Vec::len),
        0
    );
}

/// The real npm provenance bundle (slsa-verifier's provenance-npm-test-ossf) with its real
/// tarball, served by the loopback npm registry: collected, the tarball checked against its
/// SHA-512 integrity, and the bundle as collected verifying against the public-good trusted
/// root for the tarball.
#[test]
fn the_real_npm_provenance_is_collected_and_verifies_against_public_good() {
    const CASE: &str = "sigstore-realworld/npm-provenance-npm-test-ossf-provenance";
    const ROOT: &str = "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json";
    let Some(case) = crate::outside::shared_testdata(CASE) else {
        return;
    };
    let Some(root) = crate::outside::shared_testdata(ROOT) else {
        return;
    };
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("meta.json")).unwrap()).unwrap();
    let tarball = std::fs::read(case.join("artifact")).unwrap();
    let bundle = std::fs::read(case.join("bundle.sigstore.json")).unwrap();
    let f = Fixture::new();
    f.server
        .publish_npm(
            "@laurentsimon/provenance-npm-test",
            "1.0.0",
            &tarball,
            Some(&[("https://slsa.dev/provenance/v0.2", &bundle)]),
        )
        .unwrap();
    let ca = std::fs::read(f.path("ca.pem")).unwrap();
    let access = airlock_bundler::collect::RegistryAccess {
        extra_ca_pem: Some(ca),
        ..Default::default()
    };
    let indexes = airlock_bundler::collect::PackageIndexes {
        npm: url::Url::parse(f.server.url()).unwrap(),
        ..Default::default()
    };
    let request = airlock_bundler::collect::PackageRequest {
        name: "provenance-npm-test".into(),
        source: airlock_bundler::collect::PackageSource::Npm(
            airlock_bundler::collect::NpmPackage::parse("@laurentsimon/provenance-npm-test@1.0.0")
                .unwrap(),
        ),
        local_bundles: 0,
    };
    let recorded = crate::recording::Recorded::default();
    let collected = airlock_bundler::collect::collect_packages(
        &[request],
        &indexes,
        &access,
        &airlock_bundler::collect::CollectOptions::default(),
        &f.path("work"),
        &recorded,
    )
    .unwrap();
    let package = &collected[0];
    assert_eq!(std::fs::read(&package.file.path).unwrap(), tarball);
    // One source; npm names no size for its tarball, so its total is not known (0).
    assert_eq!(
        recorded.sources(),
        [("provenance-npm-test".to_owned(), 0, tarball.len() as u64)]
    );
    let evidence = &package.evidence;
    assert_eq!(evidence.len(), 1);
    // Packed as the registry served it, not re-encoded.
    assert_eq!(
        std::fs::read(&evidence[0].file.path).unwrap(),
        bundle.trim_ascii()
    );
    assert_eq!(
        package.plan.evidence[0].signer.as_deref(),
        Some(
            format!(
                "{} ({})",
                meta["identity"].as_str().unwrap(),
                meta["issuer"].as_str().unwrap()
            )
            .as_str()
        )
    );
    let out = run(bin()
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(&evidence[0].file.path)
        .arg("--trusted-root")
        .arg(&root)
        .arg("--certificate-identity")
        .arg(meta["identity"].as_str().unwrap())
        .arg("--certificate-oidc-issuer")
        .arg(meta["issuer"].as_str().unwrap())
        .arg(&package.file.path));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn package_files_are_bounded_https_only_and_checked_against_their_sha256() {
    let mut f = Fixture::new();
    let tarball = vec![5u8; 4096];
    let npm = f.publish_npm(&tarball);
    f.publish_pypi(b"the wheel that was published");
    f.publish_log();

    // Larger than --max-package-size: refused while it streams.
    let spec = f.spec("large", NPM_TABLE);
    let out = f.create(
        &spec,
        "large.airlock.tar.zst",
        &["--max-package-size", "1K"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "airlock-bundler create: npm package @airlock/tool@1.0.0: file tool-1.0.0.tgz is larger than 1024 bytes\n"
    );

    // A tarball named by plain http is never asked for.
    let mut document = f.server.document(&npm.version).unwrap();
    let insecure = format!(
        "http://{}{}",
        f.server.url().trim_start_matches("https://"),
        npm.tarball
    );
    document["dist"]["tarball"] = insecure.clone().into();
    f.server.put(
        &npm.version,
        "application/json",
        document.to_string().into_bytes(),
    );
    let out = f.create(&spec, "insecure.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: npm package @airlock/tool@1.0.0: {insecure}: only https:// URLs are fetched\n"
        )
    );
    assert_eq!(f.server.requests(&npm.tarball), 1);

    // A wheel swapped after its digest was published.
    f.server.put(
        &format!("/files/{WHEEL}"),
        "application/octet-stream",
        b"the wheel swapped in, same size".to_vec(),
    );
    let spec = f.spec("swapped", PYPI_TABLE);
    let out = f.create(&spec, "swapped.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    let published = airlock_tests::sha256(b"the wheel that was published");
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: PyPI project airlock-tool==1.0.0: file {WHEEL}: size mismatch (expected 28 bytes, received 29)\n"
        )
    );
    f.server.put(
        &format!("/files/{WHEEL}"),
        "application/octet-stream",
        b"the wheel swapped in, 28 byt".to_vec(),
    );
    let out = f.create(&spec, "swapped.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: PyPI project airlock-tool==1.0.0: file {WHEEL} {published}: digest mismatch (expected {published}, received {})\n",
            airlock_tests::sha256(b"the wheel swapped in, 28 byt")
        )
    );
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}

#[test]
fn the_npm_token_goes_to_the_registry_and_never_to_another_host() {
    let mut f = Fixture::new();
    let tarball = b"a tarball hosted elsewhere".to_vec();
    let npm = f.publish_npm(&tarball);
    f.publish_log();
    // The tarball is served by another host than the registry.
    let elsewhere = PackageServer::start_https(&f.tls).unwrap();
    elsewhere.put(&npm.tarball, "application/octet-stream", tarball);
    let mut document = f.server.document(&npm.version).unwrap();
    document["dist"]["tarball"] = format!("{}{}", elsewhere.url(), npm.tarball).into();
    f.server.put(
        &npm.version,
        "application/json",
        document.to_string().into_bytes(),
    );
    let spec = f.spec("token", NPM_TABLE);
    let out = run(f
        .create_command(&spec, "token.airlock.tar.zst", &[])
        .env("NPM_TOKEN", "npm_s3cret"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bearer = || Some("Bearer npm_s3cret".to_owned());
    assert_eq!(f.server.authorizations(&npm.version), [bearer()]);
    assert_eq!(f.server.authorizations(&npm.attestations), [bearer()]);
    assert_eq!(elsewhere.authorizations(&npm.tarball), [None]);
}

#[test]
fn a_package_signed_by_another_identity_fails_preflight_naming_where_its_bundle_came_from() {
    let mut f = Fixture::new();
    let npm = f.publish_npm(b"tarball");
    f.publish_log();
    let spec = f.spec(
        "other",
        &format!(
            "{NPM_TABLE}identity = \"https://ci.airlock.test/org/other/.ci/release.yml@refs/heads/main\"\nissuer = \"{ISSUER}\"\n"
        ),
    );
    let out = f.create(&spec, "other.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("airlock-bundler create: preflight: 1 of 1 artifact(s) failed: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("@airlock/tool@1.0.0 (npm @airlock/tool@1.0.0): bundle sha256:"),
        "{line}"
    );
    assert!(
        line.contains(&format!("(from {}{})", f.server.url(), npm.attestations)),
        "{line}"
    );
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}
