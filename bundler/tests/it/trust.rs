//! `airlock-bundler trust verify` on the real Sigstore TUF repository in `../shared/testdata`
//! (skipped with a reason when absent).

use std::path::PathBuf;
use std::process::{Command, Output};

const TRUSTED_ROOT_SHA256: &str =
    "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66";

fn testdata() -> Option<PathBuf> {
    crate::outside::shared_testdata("sigstore-tuf/metadata")?;
    crate::outside::shared_testdata("sigstore-tuf")
}

fn verify(dir: &std::path::Path, at: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airlock-bundler"))
        .args(["trust", "verify", "--metadata"])
        .arg(dir.join("metadata"))
        .arg("--targets")
        .arg(dir.join("targets"))
        .arg("--root")
        .arg(dir.join("metadata/12.root.json"))
        .args(["--at", at])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn verifies_before_expiry_and_prints_the_digest() {
    let Some(dir) = testdata() else { return };
    let out = verify(&dir, "2026-08-22T00:00:00Z", &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(&format!("trusted_root.json sha256 {TRUSTED_ROOT_SHA256}")));
    assert!(
        stdout.contains("root       version 15    expires 2026-11-20T13:58:18Z"),
        "{stdout}"
    );
}

#[test]
fn json_output_lists_roles() {
    let Some(dir) = testdata() else { return };
    let out = verify(&dir, "2026-08-22T00:00:00Z", &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trusted_root_sha256"], TRUSTED_ROOT_SHA256);
    assert_eq!(v["roles"][0]["role"], "root");
    assert_eq!(v["roles"][0]["version"], 15);
    assert_eq!(v["roles"][2]["version"], 165);
}

#[test]
fn after_expiry_exits_1_with_one_precise_line() {
    let Some(dir) = testdata() else { return };
    let out = verify(&dir, "2026-11-22T00:00:00Z", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: root metadata version 15 expired at 2026-11-20T13:58:18Z (reference time 2026-11-22T00:00:00Z)\n"
    );
}

#[test]
fn state_file_is_written_then_guards_against_going_back() {
    let Some(dir) = testdata() else { return };
    let tmp = tempfile::TempDir::new().unwrap();
    let state = tmp.path().join("trust-state.json");
    let state_arg = state.to_str().unwrap();
    let out = verify(&dir, "2026-08-22T00:00:00Z", &["--state", state_arg]);
    assert_eq!(out.status.code(), Some(0));
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(
        saved["sigstore-public-good"]["trusted_root_sha256"],
        TRUSTED_ROOT_SHA256
    );
    let before = std::fs::read(&state).unwrap();
    let out = verify(&dir, "2026-08-21T00:00:00Z", &["--state", state_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: reference time 2026-08-21T00:00:00Z is earlier than the recorded 2026-08-22T00:00:00Z\n"
    );
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "state untouched on failure"
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let Some(dir) = testdata() else { return };
    let out = verify(&dir, "yesterday", &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_airlock-bundler"))
        .args([
            "trust",
            "verify",
            "--metadata",
            "/nonexistent",
            "--targets",
            "/nonexistent",
        ])
        .arg("--root")
        .arg(dir.join("metadata/12.root.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("error: TUF metadata folder /nonexistent")
    );
}
