//! `verify-bundle` on every sigstore-conformance case, as the conformance harness calls it.

use std::path::{Path, PathBuf};
use std::process::Command;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
const PRODUCTION_ROOT: &str = "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json";

fn testdata() -> Option<PathBuf> {
    crate::outside::shared_testdata("sigstore-conformance")?;
    crate::outside::shared_testdata("")
}

fn bundler() -> Command {
    Command::new(env!("CARGO_BIN_EXE_airlock-bundler"))
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn conformance_cases_through_the_cli() {
    let Some(testdata) = testdata() else {
        return;
    };
    let suite = testdata.join("sigstore-conformance/bundle-verify");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70);
    let (mut passed, mut disagreements) = (0, Vec::new());
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let artifact = if case.join("artifact").exists() {
            case.join("artifact")
        } else {
            suite.join("a.txt")
        };
        let root = if case.join("trusted_root.json").exists() {
            case.join("trusted_root.json")
        } else {
            testdata.join(PRODUCTION_ROOT)
        };
        for form in [
            artifact.display().to_string(),
            format!("sha256:{}", sha256_hex(&artifact)),
        ] {
            let mut cmd = bundler();
            cmd.arg("verify-bundle")
                .arg("--bundle")
                .arg(case.join("bundle.sigstore.json"))
                .arg("--trusted-root")
                .arg(&root);
            if case.join("key.pub").exists() {
                cmd.arg("--key").arg(case.join("key.pub"));
            } else {
                cmd.arg("--certificate-identity")
                    .arg(read_trimmed(&case.join("identity")).unwrap_or(DEFAULT_IDENTITY.into()))
                    .arg("--certificate-oidc-issuer")
                    .arg(read_trimmed(&case.join("issuer")).unwrap_or(DEFAULT_ISSUER.into()));
            }
            let out = cmd.arg(&form).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let expected = if name.ends_with("_fail") { 1 } else { 0 };
            if out.status.code() == Some(expected) {
                if expected == 1 {
                    assert_eq!(
                        stderr.lines().count(),
                        1,
                        "{name}: one line on stderr: {stderr}"
                    );
                }
                passed += 1;
            } else {
                disagreements.push(format!(
                    "{name} ({form}): exit {:?}: {stderr}",
                    out.status.code()
                ));
            }
        }
    }
    println!("{passed} passed, {} failed", disagreements.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn json_report_names_the_signer_and_log_entry() {
    let Some(testdata) = testdata() else {
        return;
    };
    let case = testdata.join("sigstore-conformance/bundle-verify/happy-path-v0.3");
    let out = bundler()
        .args(["verify-bundle", "--json", "--bundle"])
        .arg(case.join("bundle.sigstore.json"))
        .arg("--trusted-root")
        .arg(testdata.join(PRODUCTION_ROOT))
        .args(["--certificate-identity", DEFAULT_IDENTITY])
        .args(["--certificate-oidc-issuer", DEFAULT_ISSUER])
        .arg(testdata.join("sigstore-conformance/bundle-verify/a.txt"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["signer"]["identity"], DEFAULT_IDENTITY);
    assert_eq!(report["signer"]["issuer"], DEFAULT_ISSUER);
    assert_eq!(report["log_entries"][0]["log_index"], 79571823);
    assert_eq!(report["bundle_version"], "0.3");
}

#[test]
fn identity_regexp_is_anchored_and_wrong_identity_is_rejected() {
    let Some(testdata) = testdata() else {
        return;
    };
    let case = testdata.join("sigstore-conformance/bundle-verify/happy-path-v0.3");
    let run = |identity_args: &[&str]| {
        bundler()
            .args(["verify-bundle", "--bundle"])
            .arg(case.join("bundle.sigstore.json"))
            .arg("--trusted-root")
            .arg(testdata.join(PRODUCTION_ROOT))
            .args(identity_args)
            .args(["--certificate-oidc-issuer", DEFAULT_ISSUER])
            .arg(testdata.join("sigstore-conformance/bundle-verify/a.txt"))
            .output()
            .unwrap()
    };
    let ok = run(&[
        "--certificate-identity-regexp",
        "https://github.com/sigstore-conformance/.*",
    ]);
    assert_eq!(ok.status.code(), Some(0));
    let unanchored = run(&["--certificate-identity-regexp", "sigstore-conformance"]);
    assert_eq!(unanchored.status.code(), Some(1));
    let wrong = run(&["--certificate-identity", "https://example.com/someone-else"]);
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("identity step: certificate identity"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = bundler().args(["verify-bundle", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "no signer given");
    let out = bundler()
        .args([
            "verify-bundle",
            "--bundle",
            "/nonexistent",
            "--key",
            "/nonexistent",
            "sha256:00",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trusted-root is required"));
}
