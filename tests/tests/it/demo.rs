//! The README's first command, run as a user would: `airlock-demo` in a fresh folder.

use std::process::Command;

#[test]
fn the_demo_imports_three_artifacts_and_judges_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = Command::new(env!("CARGO_BIN_EXE_airlock-demo"))
        .arg("--out")
        .arg(&out)
        .arg("--no-serve")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("passed  site-tool-1.4.2.tar.gz"), "{stdout}");
    assert!(stdout.contains("failed  plugin-0.9.so"), "{stdout}");
    assert!(stdout.contains("not signed by a trusted signer: identity:"), "{stdout}");
    assert!(stdout.contains("failed  install.sh"), "{stdout}");
    assert!(stdout.contains("no Sigstore bundle signs it"), "{stdout}");
    let login = std::fs::read_to_string(out.join("login.txt")).unwrap();
    assert!(login.starts_with("https://127.0.0.1:8443/\nadmin / "), "{login}");
    // The appliance released the passing artifact and kept the others in quarantine.
    assert!(out.join("appliance/released/1").is_dir());
    assert!(out.join("appliance/quarantine/1/0001-plugin-0.9.so").is_dir());

    // A second run replaces its own folder; a folder it did not make is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_airlock-demo"))
        .arg("--out")
        .arg(&out)
        .arg("--no-serve")
        .output()
        .unwrap();
    assert!(again.status.success());
    let foreign = dir.path().join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_airlock-demo"))
        .arg("--out")
        .arg(&foreign)
        .arg("--no-serve")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a previous demo folder"));
}
