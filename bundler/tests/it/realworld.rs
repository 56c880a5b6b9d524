//! `verify-bundle` on the real-world Sigstore bundles in `../shared/testdata/sigstore-realworld`
//! (npm provenance, slsa-github-generator, PyPI/CPython, sigstore-java and -js data, Rekor v2):
//! each case must agree with its `expect` (and contain its `expect_error`), with the artifact
//! given as a file and, where the case gives one, as its `sha256:` digest.

use std::path::PathBuf;
use std::process::Command;

const PUBLIC_GOOD_ROOT: &str = "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json";

/// The shared test data (skipped with a reason when absent; under CI it must exist).
fn testdata() -> Option<PathBuf> {
    crate::outside::shared_testdata("sigstore-realworld")?;
    crate::outside::shared_testdata("")
}

fn text(meta: &serde_json::Value, key: &str) -> Option<String> {
    meta.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

#[test]
fn every_realworld_case_agrees_with_its_expected_outcome() {
    let Some(testdata) = testdata() else {
        return;
    };
    let suite = testdata.join("sigstore-realworld");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", suite.display());
    let (mut runs, mut disagreements) = (0, Vec::new());
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(case.join("meta.json")).unwrap()).unwrap();
        let root = match text(&meta, "trusted_root").as_deref() {
            Some("staging") => suite.join("_roots/staging_trusted_root.json"),
            _ => testdata.join(PUBLIC_GOOD_ROOT),
        };
        let expect_pass = text(&meta, "expect").as_deref() == Some("pass");
        let expect_error = text(&meta, "expect_error");
        let mut forms = Vec::new();
        if case.join("artifact").exists() {
            forms.push(case.join("artifact").display().to_string());
        }
        if let Ok(digest) = std::fs::read_to_string(case.join("digest")) {
            forms.push(digest.trim().to_owned());
        }
        assert!(!forms.is_empty(), "{name}: neither artifact nor digest");
        for form in forms {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock-bundler"));
            cmd.arg("verify-bundle")
                .arg("--bundle")
                .arg(case.join("bundle.sigstore.json"))
                .arg("--trusted-root")
                .arg(&root);
            match text(&meta, "key") {
                Some(key) => {
                    cmd.arg("--key").arg(case.join(key));
                }
                None => {
                    cmd.arg("--certificate-identity")
                        .arg(text(&meta, "identity").unwrap())
                        .arg("--certificate-oidc-issuer")
                        .arg(text(&meta, "issuer").unwrap());
                }
            }
            let out = cmd.arg(&form).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            runs += 1;
            let agrees = match (expect_pass, out.status.code()) {
                (true, Some(0)) => true,
                (false, Some(1)) => expect_error.as_deref().is_none_or(|e| stderr.contains(e)),
                _ => false,
            };
            if !agrees {
                disagreements.push(format!(
                    "{name} ({form}): exit {:?}, expected {}: {}",
                    out.status.code(),
                    if expect_pass { "pass" } else { "fail" },
                    stderr.trim()
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {runs} runs disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    println!("{runs} real-world runs agree");
}
