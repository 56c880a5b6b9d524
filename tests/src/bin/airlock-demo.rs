//! `airlock-demo`: mints a private Sigstore-like instance, signs two artifacts and attests one
//! of them with it, and verifies every bundle offline against that private trust root.
//!
//! Today this shows the verifier end to end on fixtures nothing outside this machine has seen.
//! The full demo (archive → appliance → browser) arrives with the appliance (issue 6).

use std::path::PathBuf;

use airlock_tests::{Instance, Knobs, Package, Predicate, Provenance, SignOptions, TimestampMode};
use airlock_trust_root::{
    Artifact, Bundle, CertificateIdentity, Matcher, SignerFacts, SignerPolicy, TrustedRoot,
    Verifier,
};
use anyhow::Context as _;

const TRUSTED_IDENTITY: &str =
    "https://git.example.internal/platform/release/.ci/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.ci.example.internal";

fn main() -> anyhow::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/demo"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    // The demo is an edge: it may read the clock. The verifier never does.
    let mut sigstore = Instance::new(2026, chrono::Utc::now())?;
    let trusted = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let stranger = SignOptions::workload(
        "https://git.example.internal/someone/fork/.ci/release.yml@refs/heads/main",
        ISSUER,
    );

    let tool = b"release tarball of the site tool, v1.4.2\n".to_vec();
    let signed = sigstore.sign_blob(
        &tool,
        &trusted.clone().with_knobs(Knobs {
            timestamp: TimestampMode::Valid,
            ..Knobs::default()
        }),
    )?;
    let provenance = sigstore.attest(
        "site-tool-1.4.2.tar.gz",
        sha256(&tool),
        &Predicate::SlsaV1(Provenance {
            builder_id: "https://ci.example.internal/builders/hermetic@v2".into(),
            build_type: "https://ci.example.internal/build/v1".into(),
            source_uri: "git+https://git.example.internal/platform/release".into(),
            source_commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
        }),
        &trusted,
    )?;
    let sbom = sigstore.attest(
        "site-tool-1.4.2.tar.gz",
        sha256(&tool),
        &Predicate::CycloneDx(vec![Package {
            name: "zlib".into(),
            version: "1.3.1".into(),
        }]),
        &trusted,
    )?;
    let plugin = b"an unreviewed plugin\n".to_vec();
    let untrusted = sigstore.sign_blob(&plugin, &stranger)?;

    let root_json = sigstore.trusted_root_json()?;
    std::fs::write(out.join("trusted_root.json"), &root_json)?;
    let verifier = Verifier::new(TrustedRoot::from_json(&root_json)?);
    let policy = SignerPolicy::Keyless(CertificateIdentity {
        subject: Matcher::exact(TRUSTED_IDENTITY)?,
        issuer: Matcher::exact(ISSUER)?,
    });

    println!(
        "private trust root: {}",
        out.join("trusted_root.json").display()
    );
    println!("site policy: signer {TRUSTED_IDENTITY} via {ISSUER}\n");
    for (file, evidence, artifact, bundle) in [
        ("site-tool-1.4.2.tar.gz", "signature", &tool, &signed.json),
        (
            "site-tool-1.4.2.tar.gz",
            "provenance",
            &tool,
            &provenance.json,
        ),
        ("site-tool-1.4.2.tar.gz", "sbom", &tool, &sbom.json),
        ("plugin.bin", "signature", &plugin, &untrusted.json),
    ] {
        let name = format!("{file} ({evidence})");
        std::fs::write(out.join(file), artifact)?;
        let bundle_path = out.join(format!("{file}.{evidence}.sigstore.json"));
        std::fs::write(&bundle_path, bundle)?;
        let verdict = Bundle::from_json(bundle)
            .map_err(airlock_trust_root::VerifyError::from)
            .and_then(|b| verifier.verify(&b, Artifact::Bytes(artifact), &policy));
        match verdict {
            Ok(report) => {
                let who = match &report.signer {
                    SignerFacts::Certificate { identity, .. } => identity.clone(),
                    SignerFacts::PublicKey { key_id, .. } => format!("key {key_id}"),
                };
                let log = &report.log_entries[0];
                println!(
                    "PASS  {name}\n      signer {who}\n      log index {}, {} observed time(s)",
                    log.log_index,
                    report.observed_times.len()
                );
            }
            Err(e) => println!("FAIL  {name}\n      {} step: {e}", e.step()),
        }
        println!("      bundle {}", bundle_path.display());
    }
    println!(
        "\nCheck any of them with the CLI, e.g.:\n  cargo run -q -p airlock-bundler -- verify-bundle --trusted-root {} --bundle <bundle> --certificate-identity {TRUSTED_IDENTITY} --certificate-oidc-issuer {ISSUER} <artifact>",
        out.join("trusted_root.json").display()
    );
    Ok(())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}
