//! The import needs no network: `airlock-appliance import` run in a new, empty network
//! namespace (`unshare -n`: no interfaces but a loopback that is down) judges an archive the
//! connected side built beforehand.

use std::process::Command;

use airlock_appliance::store::ImportState;
use airlock_tests::ArtifactPlan;

use crate::site::Site;

/// The appliance binary, built by cargo for this test.
const APPLIANCE: &str = env!("CARGO_BIN_EXE_airlock-appliance");

/// Whether this machine lets the test make a network namespace (root, or user namespaces);
/// why not, otherwise.
pub(crate) fn network_namespaces() -> Result<(), String> {
    let output = Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`unshare -n true` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[test]
fn an_import_runs_in_a_network_namespace_without_interfaces() {
    if let Err(why) = network_namespaces() {
        eprintln!("not run: {why}");
        return;
    }
    let mut site = Site::new(401);
    // Built with the network: the world serves its log over HTTPS on loopback.
    let archive = site.archive(
        "offline",
        1,
        &[
            ArtifactPlan::complete("tool-1.0.tar.gz", b"the tool, version 1.0\n"),
            ArtifactPlan::signed("notes.txt", b"release notes\n"),
        ],
    );

    // Inside the namespace there is no interface but loopback, and no route anywhere.
    let inside = |file: &str| {
        let output = Command::new("unshare")
            .args(["-n", "cat", file])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", output.status);
        String::from_utf8(output.stdout).unwrap()
    };
    let interfaces: Vec<String> = inside("/proc/net/dev")
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|name| name.trim().to_owned())
        .collect();
    assert_eq!(interfaces, ["lo"]);
    let routes: Vec<String> = inside("/proc/net/route")
        .lines()
        .filter(|l| !l.starts_with("Iface"))
        .map(str::to_owned)
        .collect();
    assert!(routes.is_empty(), "{routes:?}");

    let output = Command::new("unshare")
        .arg("-n")
        .arg(APPLIANCE)
        .arg("import")
        .arg("--data")
        .arg(site.data())
        .arg(&archive)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout,
        "import 1: 2 artifact(s)\n  \
         passed  tool-1.0.tar.gz  → released/1/0000-tool-1.0.tar.gz\n  \
         passed  notes.txt  → released/1/0001-notes.txt\n"
    );
    site.reopen();
    let row = site.import_row(1);
    assert_eq!(
        (row.state, row.passed, row.failed),
        (ImportState::Done, 2, 0)
    );
    assert_eq!(row.source, "cli");
    assert_eq!(site.files("released/1").len(), 2);
    site.audit_actions();
}
