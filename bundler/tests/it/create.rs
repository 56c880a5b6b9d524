//! `keygen` → `create` → `inspect` → `verify` → `extract` with the built binary, against a
//! private Sigstore from the testkit: its TUF repository on disk, its log served over HTTPS
//! on loopback (Rekor v1 and tiles), files, an OCI image layout, provenance and an SBOM.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock_tests::{
    Instance, LogServer, Predicate, Provenance, SignOptions, TlsMaterial, TufRepoBuilder,
};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

const IDENTITY: &str = "https://ci.airlock.test/org/repo/.ci/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.ci.airlock.test";

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

/// Everything a spec refers to, in one folder, plus the servers it names.
struct World {
    dir: tempfile::TempDir,
    _log: LogServer,
    log_url: String,
    key: PathBuf,
    public: PathBuf,
    root: PathBuf,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn spec(&self, api: &str, artifacts: &str) -> PathBuf {
        let spec = format!(
            r#"
[publisher]
name = "release-team"
sequence = 5
site = "plant-3"

[[trust]]
name = "private-sigstore"
root = "tuf/1.root.json"
metadata = "tuf/metadata"
targets = "tuf/targets"

[[log]]
url = "{url}"
api = "{api}"
{artifacts}
"#,
            url = self.log_url
        );
        let path = self.path(&format!("{api}.toml"));
        std::fs::write(&path, spec).unwrap();
        path
    }

    fn create(&self, spec: &Path, out: &str, extra: &[&str]) -> Output {
        run(bin()
            .arg("create")
            .arg("--spec")
            .arg(spec)
            .arg("--key")
            .arg(&self.key)
            .arg("-o")
            .arg(self.path(out))
            .arg("--ca-file")
            .arg(self.path("ca.pem"))
            .args(extra))
    }

    fn verify(&self, archive: &str) -> Output {
        run(bin()
            .arg("verify")
            .arg(self.path(archive))
            .arg("--pub")
            .arg(&self.public)
            .arg("--tuf-root")
            .arg(format!("private-sigstore={}", self.root.display())))
    }
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let base = DateTime::from_timestamp(1_768_478_400, 0).unwrap();
    let mut inst = Instance::new(31, base).unwrap();
    let opts = SignOptions::workload(IDENTITY, ISSUER);

    let tool = b"airlock tool 1.0\n".to_vec();
    std::fs::write(dir.path().join("tool.bin"), &tool).unwrap();
    let signed = inst.sign_blob(&tool, &opts).unwrap();
    std::fs::write(dir.path().join("tool.sigstore.json"), &signed.json).unwrap();
    let digest: [u8; 32] = Sha256::digest(&tool).into();
    let provenance = inst
        .attest(
            "tool.bin",
            digest,
            &Predicate::SlsaV1(Provenance {
                builder_id: "https://ci.airlock.test/builder".into(),
                build_type: "https://ci.airlock.test/buildtypes/release/v1".into(),
                source_uri: "git+https://git.airlock.test/org/repo".into(),
                source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
            }),
            &opts,
        )
        .unwrap();
    std::fs::write(dir.path().join("tool.provenance.json"), &provenance.json).unwrap();
    std::fs::write(
        dir.path().join("tool.cdx.json"),
        br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"libfoo","version":"1.2.3"}]}"#,
    )
    .unwrap();

    // An OCI image layout whose manifest is signed.
    let layout = dir.path().join("image");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layer = vec![7u8; 10_000];
    let put = |bytes: &[u8]| {
        let hex = hex::encode(Sha256::digest(bytes));
        std::fs::write(layout.join("blobs/sha256").join(&hex), bytes).unwrap();
        hex
    };
    let (config_hex, layer_hex) = (put(&config), put(&layer));
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config_hex}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{layer_hex}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let manifest_hex = put(manifest.as_bytes());
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        layout.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest_hex}","size":{}}}]}}"#,
            manifest.len()
        ),
    )
    .unwrap();
    let image_signed = inst.sign_blob(manifest.as_bytes(), &opts).unwrap();
    std::fs::write(dir.path().join("image.sigstore.json"), &image_signed.json).unwrap();

    // Something signed for different bytes, for the failing case.
    let other = inst.sign_blob(b"not the tool", &opts).unwrap();
    std::fs::write(dir.path().join("other.sigstore.json"), &other.json).unwrap();

    // The log grows after the signatures: the archive needs consistency proofs.
    let t = base.timestamp() + 3600;
    for i in 0..40 {
        inst.log_mut()
            .append(format!("later entry {i}").into_bytes(), t + i)
            .unwrap();
    }

    // TUF expiry is judged at the real clock when creating: start the repository yesterday.
    let tuf = TufRepoBuilder::new(32, Utc::now() - Duration::days(1))
        .trusted_root(inst.trusted_root_json().unwrap())
        .write(&dir.path().join("tuf"))
        .unwrap();
    let root = dir.path().join("tuf/1.root.json");
    std::fs::write(&root, &tuf.initial_root).unwrap();

    let now = Utc::now().timestamp();
    let tls = TlsMaterial::new(33, now - 3600, now + 3600).unwrap();
    std::fs::write(dir.path().join("ca.pem"), tls.ca_pem()).unwrap();
    let log = LogServer::start_https(inst.log(), &tls).unwrap();
    let log_url = log.url().to_owned();

    let generated = airlock_bundler::keys::generate(&dir.path().join("publisher"), None).unwrap();
    World {
        dir,
        log_url,
        _log: log,
        key: generated.key_path,
        public: generated.pub_path,
        root,
    }
}

const GOOD: &str = r#"
[[artifact]]
file = "tool.bin"
bundles = ["tool.sigstore.json"]
attestations = ["tool.provenance.json"]
sboms = ["tool.cdx.json"]
identity = "https://ci.airlock.test/org/repo/.ci/release.yml@refs/heads/main"
issuer = "https://token.ci.airlock.test"

[[artifact]]
name = "app:1.0"
oci_layout = "image"
bundles = ["image.sigstore.json"]
"#;

#[test]
fn create_inspect_verify_extract_over_rekor_v1() {
    let w = world();
    let spec = w.spec("rekor-v1", GOOD);
    let out = w.create(&spec, "good.airlock.tar.zst", &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["artifacts"], 2);
    assert_eq!(summary["publisher"]["sequence"], 5);

    let inspected = run(bin()
        .arg("inspect")
        .arg(w.path("good.airlock.tar.zst"))
        .arg("--pub")
        .arg(&w.public)
        .arg("--json"));
    assert_eq!(inspected.status.code(), Some(0));
    let listing: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    let manifest = &listing["manifest"];
    assert_eq!(manifest["site"], "plant-3");
    assert_eq!(manifest["artifacts"][0]["name"], "tool.bin");
    assert_eq!(manifest["artifacts"][1]["kind"], "oci-image");
    assert_eq!(
        manifest["artifacts"][1]["files"].as_array().unwrap().len(),
        5
    );
    let log = &manifest["logs"][0];
    assert!(
        !log["consistency"].as_array().unwrap().is_empty(),
        "entries were logged before the head: proofs are carried"
    );
    let metadata: Vec<&str> = manifest["trust"][0]["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(metadata.contains(&"1.root.json") && metadata.contains(&"timestamp.json"));

    // Archive order: the trust files, then the evidence, then the artifacts' files, each group
    // by ascending size.
    let digests = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f.get("digest").unwrap_or(f).as_str().unwrap().to_owned())
            .collect()
    };
    let trust = &manifest["trust"][0];
    let trust: Vec<String> = [digests(&trust["metadata"]), digests(&trust["targets"])].concat();
    let evidence: Vec<String> = manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| {
            let e = &a["evidence"];
            [
                digests(&e["bundles"]),
                digests(&e["attestations"]),
                digests(&e["sboms"]),
            ]
            .concat()
        })
        .collect();
    let ranks: Vec<(u8, u64)> = manifest["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let d = b["digest"].as_str().unwrap().to_owned();
            let rank = if trust.contains(&d) {
                0
            } else if evidence.contains(&d) {
                1
            } else {
                2
            };
            (rank, b["size"].as_u64().unwrap())
        })
        .collect();
    assert!(ranks.iter().any(|r| r.0 == 0) && ranks.iter().any(|r| r.0 == 1));
    assert!(ranks.is_sorted(), "{ranks:?}");

    let verified = w.verify("good.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(text.contains("passed    tool.bin"), "{text}");
    assert!(text.contains("passed    app:1.0"), "{text}");
    assert!(text.contains("https://slsa.dev/provenance/v1"), "{text}");
    assert!(text.contains("CycloneDX 1.5 with 1 components"), "{text}");

    let to = w.path("extracted");
    let extracted = run(bin()
        .arg("extract")
        .arg(w.path("good.airlock.tar.zst"))
        .arg("--pub")
        .arg(&w.public)
        .arg("--to")
        .arg(&to));
    assert_eq!(extracted.status.code(), Some(0));
    let tool_hex = hex::encode(Sha256::digest(b"airlock tool 1.0\n"));
    assert_eq!(
        std::fs::read(to.join("blobs/sha256").join(tool_hex)).unwrap(),
        b"airlock tool 1.0\n"
    );

    // Someone else's key: inspect refuses with the signature error.
    let stranger = airlock_bundler::keys::generate(&w.path("stranger"), None).unwrap();
    let refused = run(bin()
        .arg("inspect")
        .arg(w.path("good.airlock.tar.zst"))
        .arg("--pub")
        .arg(&stranger.pub_path));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not signed by a trusted publisher key")
    );
}

#[test]
fn tiles_api_and_split_parts() {
    let w = world();
    let spec = w.spec("tiles", GOOD);
    let out = w.create(&spec, "split.airlock.tar.zst", &["--max-part-size", "4K"]);
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.lines().count() > 2, "{listed}");
    assert!(
        listed
            .lines()
            .next()
            .unwrap()
            .ends_with("split.airlock.tar.zst.001")
    );
    assert_eq!(w.verify("split.airlock.tar.zst.001").status.code(), Some(0));
    assert_eq!(w.verify("split.airlock.tar.zst").status.code(), Some(0));
}

#[test]
fn preflight_stops_a_bad_bundle_unless_allowed() {
    let w = world();
    let bad = r#"
[[artifact]]
file = "tool.bin"
bundles = ["other.sigstore.json"]
"#;
    let spec = w.spec("rekor-v1", bad);
    let out = w.create(&spec, "bad.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("preflight: 1 of 1 artifact(s) failed: tool.bin"),
        "{stderr}"
    );
    assert!(!w.path("bad.airlock.tar.zst").exists(), "nothing written");

    let out = w.create(&spec, "bad.airlock.tar.zst", &["--allow-failing"]);
    assert_eq!(out.status.code(), Some(0));
    let verified = w.verify("bad.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&verified.stdout).contains("FAILED    tool.bin"));

    // The wrong identity in the spec fails preflight too.
    let wrong = GOOD.replace("refs/heads/main", "refs/heads/evil");
    let out = w.create(&w.spec("rekor-v1", &wrong), "wrong.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(1));
}

/// A layout missing a blob its signed manifest names is refused at `create` (as the site would
/// refuse it), naming the blob, and nothing is written.
#[test]
fn a_layout_missing_a_layer_its_manifest_names_is_refused() {
    let w = world();
    let blobs = w.path("image/blobs/sha256");
    let gappy = w.path("gappy/blobs/sha256");
    std::fs::create_dir_all(&gappy).unwrap();
    for name in ["oci-layout", "index.json"] {
        std::fs::copy(w.path("image").join(name), w.path("gappy").join(name)).unwrap();
    }
    let layer_hex = hex::encode(Sha256::digest(vec![7u8; 10_000]));
    for entry in std::fs::read_dir(&blobs).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != layer_hex.as_str() {
            std::fs::copy(entry.path(), gappy.join(entry.file_name())).unwrap();
        }
    }
    let spec = w.spec(
        "rekor-v1",
        "[[artifact]]\nname = \"app:1.0\"\noci_layout = \"gappy\"\nbundles = [\"image.sigstore.json\"]\n",
    );
    let out = w.create(&spec, "gappy.airlock.tar.zst", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let index = std::fs::read_to_string(w.path("gappy/index.json")).unwrap();
    let manifest = index.split("sha256:").nth(1).unwrap()[..64].to_owned();
    assert!(
        stderr.contains(&format!(
            "the image sha256:{manifest} refers to sha256:{layer_hex}, which is not in blobs/"
        )),
        "{stderr}"
    );
    assert!(!w.path("gappy.airlock.tar.zst").exists(), "nothing written");
}
