//! The site links no network client, progress bar or terminal prompt: the appliance's normal
//! dependency tree (as its release binary is built, `cargo build -p airlock-appliance`) holds
//! none of the connected side's crates (its HTTPS client and the system trust store loader
//! included).

use std::process::Command;

#[test]
fn the_appliance_links_no_network_client_progress_bar_or_prompt() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            "airlock-appliance",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"airlock-bundler"), "{tree}");
    for connected in [
        "ureq",
        "indicatif",
        "rpassword",
        "hyper",
        "reqwest",
        "rustls-native-certs",
    ] {
        assert!(
            !crates.contains(&connected),
            "the appliance links {connected}:\n{tree}"
        );
    }
}
