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
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("passed  site-tool-1.4.2.tar.gz"),
        "{stdout}"
    );
    assert!(stdout.contains("failed  plugin-0.9.so"), "{stdout}");
    assert!(
        stdout.contains("not signed by a trusted signer: identity:"),
        "{stdout}"
    );
    assert!(stdout.contains("failed  install.sh"), "{stdout}");
    assert!(stdout.contains("no Sigstore bundle signs it"), "{stdout}");
    // The page to open, not the JSON API.
    assert!(
        stdout.contains("import page: https://127.0.0.1:8443/imports/1 (once served: "),
        "{stdout}"
    );
    assert!(!stdout.contains("/api/"), "{stdout}");
    let login = std::fs::read_to_string(out.join("login.txt")).unwrap();
    assert!(
        login.starts_with("https://127.0.0.1:8443/\nadmin / "),
        "{login}"
    );
    // The appliance released the passing artifact and kept the others in quarantine.
    assert!(out.join("appliance/released/1").is_dir());
    assert!(
        out.join("appliance/quarantine/1/0001-plugin-0.9.so")
            .is_file()
    );

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

/// A minimal OCI image layout (one layer), as `buildah push oci:` writes one.
fn image_layout(dir: &std::path::Path) {
    use sha2::Digest as _;
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |bytes: &[u8]| {
        let hex = hex::encode(sha2::Sha256::digest(bytes));
        std::fs::write(dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        hex
    };
    let config = put(br#"{"architecture":"amd64","os":"linux","config":{"User":"65532:65532"}}"#);
    let layer = put(&[0u8; 1024]);
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{config}","size":70}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{layer}","size":1024}}]}}"#
    );
    let manifest_hex = put(manifest.as_bytes());
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{manifest_hex}","size":{}}}]}}"#,
            manifest.len()
        ),
    )
    .unwrap();
}

#[test]
fn the_demo_verifies_the_appliance_image_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("image");
    image_layout(&layout);
    let out = dir.path().join("demo");
    let run = Command::new(env!("CARGO_BIN_EXE_airlock-demo"))
        .arg("--out")
        .arg(&out)
        .arg("--no-serve")
        .arg("--image")
        .arg(&layout)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        stdout.contains(&format!("passed  airlock-appliance:{version}")),
        "{stdout}"
    );
    // The released image is the layout itself.
    let released = out.join(format!(
        "appliance/released/1/0003-airlock-appliance_{version}"
    ));
    assert!(
        released.join("index.json").is_file(),
        "{}",
        released.display()
    );
    assert!(released.join("oci-layout").is_file());
}
