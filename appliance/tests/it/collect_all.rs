//! End to end, the three registries at once: one spec naming an image (Debian's
//! `docker-registry`, TLS and htpasswd, signed as an OCI 1.1 referrer), an npm package and a
//! PyPI file (the testkit's package registry), packed by the real `airlock-bundler create` and
//! imported by the real `airlock-appliance import` in a network namespace with no interfaces:
//! every artifact passes. The same with the image's signature tampered in the registry:
//! `create` refuses naming the image, and with `--allow-failing` the site fails the image alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use airlock_appliance::pipeline::Verdict;
use airlock_appliance::store::ImportState;
use airlock_bundler::archive::{ArtifactKind, Sha256Digest};
use airlock_tests::{
    BUNDLE_V03_MEDIA_TYPE, ISSUER, OciManifest, PackageServer, Registry, SignOptions,
    TRUSTED_IDENTITY,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::collect::site_with_image;
use crate::netns::network_namespaces;
use crate::packages::publish_tool;
use crate::registry_clients::bundler;
use crate::site::Site;

/// The appliance binary, built by cargo for this test.
const APPLIANCE: &str = env!("CARGO_BIN_EXE_airlock-appliance");

/// The connected side with everything published: the site, the servers it pulls from (kept
/// running), the spec naming `tool` (the image), `tool-npm` and `tool-wheel`, and the image's
/// manifest with its signature's referrer and the signature bundle (as pushed).
struct Published {
    site: Site,
    registry: Registry,
    _packages: PackageServer,
    spec: PathBuf,
    manifest: OciManifest,
    referrer: String,
    bundle: Sha256Digest,
}

/// How the image's signature reaches the registry.
enum Signature {
    /// As the trusted pipeline signed it.
    AsSigned,
    /// With one bit of the signature's last byte flipped after signing (the log entry is the
    /// one for the signature as signed).
    Tampered,
}

/// Publishes the three artifacts and writes their spec; `None` (said on stderr) when the
/// registry tools, the bundler binary or network namespaces are missing.
fn publish(seed: u64, signature: Signature) -> Option<(Published, PathBuf)> {
    if let Err(why) = network_namespaces() {
        eprintln!("not run: {why}");
        return None;
    }
    let bundler = bundler()?;
    let (mut site, registry, tls, manifest, bytes) = site_with_image(seed)?;
    let dir = site.dir.path().to_owned();

    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let signed = site.world.sigstore.sign_blob(&bytes, &opts).unwrap();
    let bundle = match signature {
        Signature::AsSigned => signed.json,
        Signature::Tampered => flip_signature_bit(&signed.json),
    };
    let referrer = registry
        .attach(
            "release/tool",
            &manifest.digest,
            manifest.size,
            BUNDLE_V03_MEDIA_TYPE,
            &bundle,
        )
        .unwrap();

    let packages = PackageServer::start_https(site.world.tls()).unwrap();
    let package_tables = publish_tool(&mut site, &packages);

    std::fs::write(dir.join("registry-ca.pem"), tls.ca_pem()).unwrap();
    std::fs::write(dir.join("world-ca.pem"), site.world.tls().ca_pem()).unwrap();
    let tables = format!(
        "\n[[artifact]]\nname = \"tool\"\nimage = \"{host}/release/tool:1.0\"\n\n\
         [[registry]]\nhost = \"{host}\"\nca_file = {ca:?}\n{package_tables}",
        host = registry.host(),
        ca = dir.join("registry-ca.pem").display().to_string(),
    );
    let spec = site.world.spec_tables("bundle", 1, &tables).unwrap();
    let published = Published {
        site,
        registry,
        _packages: packages,
        spec,
        manifest,
        referrer,
        bundle: Sha256Digest::of(&bundle),
    };
    Some((published, bundler))
}

/// The bundle with the last byte of its message signature's DER changed: still base64, still
/// parseable, no longer the signer's.
fn flip_signature_bit(bundle: &[u8]) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(bundle).unwrap();
    let field = &mut json["messageSignature"]["signature"];
    let mut signature = B64.decode(field.as_str().unwrap()).unwrap();
    *signature.last_mut().unwrap() ^= 0x01;
    *field = B64.encode(signature).into();
    serde_json::to_vec(&json).unwrap()
}

/// `airlock-bundler create` as a publisher runs it on the connected side, with the site's
/// witness state, the registry credentials in `REGISTRY_AUTH_FILE` and the loopback servers'
/// CA; `extra` flags after the others.
fn create(bundler: &Path, p: &Published, output: &Path, extra: &[&str]) -> Output {
    let dir = p.site.dir.path();
    let out = Command::new(bundler)
        .arg("create")
        .arg("--spec")
        .arg(&p.spec)
        .arg("--key")
        .arg(&p.site.world.publisher().key_path)
        .arg("--output")
        .arg(output)
        .arg("--witness-state")
        .arg(p.site.witness_state())
        .arg("--ca-file")
        .arg(dir.join("world-ca.pem"))
        .arg("--cache")
        .arg(dir.join("cache"))
        .arg("--quiet")
        .args(extra)
        .env("REGISTRY_AUTH_FILE", dir.join("auth.json"))
        .output()
        .unwrap();
    eprintln!(
        "create {extra:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `airlock-appliance import` in a new network namespace (no interface but a loopback that is
/// down): its stdout and exit code.
fn import_offline(site: &Site, archive: &Path) -> (String, Option<i32>) {
    let out = Command::new("unshare")
        .arg("-n")
        .arg(APPLIANCE)
        .arg("import")
        .arg("--data")
        .arg(site.data())
        .arg(archive)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    eprintln!(
        "import: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (stdout, out.status.code())
}

/// The stored artifacts of import 1 as (name, kind, verdict).
fn judged(site: &mut Site) -> Vec<(String, ArtifactKind, Verdict)> {
    site.reopen();
    let row = site.import_row(1);
    assert_eq!((row.state, row.source.as_str()), (ImportState::Done, "cli"));
    site.artifacts(1)
        .into_iter()
        .map(|a| (a.name, a.kind, a.verdict))
        .collect()
}

#[test]
fn an_image_an_npm_package_and_a_pypi_file_collected_together_pass_at_an_offline_site() {
    let Some((mut p, bundler)) = publish(1801, Signature::AsSigned) else {
        return;
    };
    let archive = p.site.dir.path().join("all.airlock.tar.zst");
    let out = create(&bundler, &p, &archive, &[]);
    assert!(out.status.success(), "{}", out.status);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}\n", archive.display())
    );
    // The servers go away: the site has only the archive.
    drop(p.registry);

    let (stdout, code) = import_offline(&p.site, &archive);
    assert_eq!(code, Some(0));
    assert_eq!(
        stdout,
        "import 1: 3 artifact(s)\n  \
         passed  tool  → released/1/0000-tool\n  \
         passed  tool-npm  → released/1/0001-tool-npm\n  \
         passed  tool-wheel  → released/1/0002-tool-wheel\n"
    );
    assert_eq!(
        judged(&mut p.site),
        [
            ("tool".into(), ArtifactKind::OciImage, Verdict::Passed),
            ("tool-npm".into(), ArtifactKind::File, Verdict::Passed),
            ("tool-wheel".into(), ArtifactKind::File, Verdict::Passed),
        ]
    );
    let image = &p.site.artifacts(1)[0];
    assert_eq!(format!("sha256:{}", image.digest), p.manifest.digest);
    for artifact in p.site.artifacts(1) {
        let report = p.site.report(artifact.id);
        assert_eq!(
            report["signatures"].as_array().unwrap().len(),
            1,
            "{report}"
        );
        assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
    }
}

#[test]
fn a_tampered_registry_signature_fails_at_create_and_with_allow_failing_at_the_site() {
    let Some((mut p, bundler)) = publish(1811, Signature::Tampered) else {
        return;
    };
    let dir = p.site.dir.path().to_owned();
    let refused = dir.join("refused.airlock.tar.zst");
    let out = create(&bundler, &p, &refused, &[]);
    assert_eq!(out.status.code(), Some(1));
    let problem = format!(
        "bundle {}: signature: signature does not verify against the artifact",
        p.bundle
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!(
            "  failed tool: {problem}\n\
             airlock-bundler create: preflight: 1 of 3 artifact(s) failed: tool (image \
             {host}/release/tool:1.0): {problem} (from referrer {} in {host}/release/tool)\n",
            p.referrer,
            host = p.registry.host(),
        )
    );
    assert!(!refused.exists());

    let archive = dir.join("forced.airlock.tar.zst");
    let out = create(&bundler, &p, &archive, &["--allow-failing"]);
    assert!(out.status.success(), "{}", out.status);
    // Quiet: the failure and the summary, not each source's details.
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(lines[0], format!("  failed tool: {problem}"));
    assert!(
        lines[1].ends_with("; preflight: 2 passed, 1 failed"),
        "{stderr}"
    );
    drop(p.registry);

    let (stdout, code) = import_offline(&p.site, &archive);
    assert_eq!(code, Some(1));
    assert_eq!(
        stdout,
        "import 1: 3 artifact(s)\n  \
         failed  tool  → quarantine/1/0000-tool\n          \
         not signed by a trusted signer: signature: signature does not verify against the \
         artifact\n  \
         passed  tool-npm  → released/1/0001-tool-npm\n  \
         passed  tool-wheel  → released/1/0002-tool-wheel\n"
    );
    assert_eq!(
        judged(&mut p.site),
        [
            ("tool".into(), ArtifactKind::OciImage, Verdict::Failed),
            ("tool-npm".into(), ArtifactKind::File, Verdict::Passed),
            ("tool-wheel".into(), ArtifactKind::File, Verdict::Passed),
        ]
    );
}
