//! Test inputs from outside the repository: the shared test data beside the checkout
//! (`../shared/testdata`) and tools installed by `tests/setup-*.sh`. Included by path into each
//! crate's integration tests, so every skip follows one rule: absent, the test is skipped with
//! its reason on stderr and a line in `target/tmp/airlock-skipped.txt` (which `tests/run.sh`
//! prints at the end of the run); under `CI` nothing may be absent, so the test fails.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `../shared/testdata/<relative>`, if it exists.
#[allow(dead_code)]
pub(crate) fn shared_testdata(relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    skip(&format!(
        "{} is absent (the shared test data beside the checkout; CI always has it)",
        path.display()
    ));
    None
}

/// An installed tool, if `path` exists; `setup` says how to install it.
#[allow(dead_code)]
pub(crate) fn installed_tool(path: &Path, setup: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path.to_owned());
    }
    skip(&format!("{} is not installed ({setup})", path.display()));
    None
}

fn skip(reason: &str) {
    assert!(std::env::var_os("CI").is_none(), "under CI: {reason}");
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    eprintln!("skipped {test}: {reason}");
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("airlock-skipped.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
    {
        let _ = writeln!(file, "{}: {test}: {reason}", env!("CARGO_PKG_NAME"));
    }
}
