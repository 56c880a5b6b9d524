//! A test handshake at named points of long work, so tests can look at what other processes
//! see mid-way (an import between its checks and its commit, a pull between resolving a tag
//! and fetching it). Set [`PAUSE_DIR_ENV`] to a folder: at each point the process writes
//! `POINT.reached` there and goes on once `POINT.go` exists. Only debug builds (the test
//! suite's) look at the variable; a release build has no handshake at all.

/// The environment variable naming the handshake folder.
pub const PAUSE_DIR_ENV: &str = "AIRLOCK_TEST_PAUSE_DIR";

/// Waits at `point` when the handshake is on (debug builds, [`PAUSE_DIR_ENV`] set).
pub fn pause_at(point: &str) {
    #[cfg(debug_assertions)]
    {
        let Some(dir) = std::env::var_os(PAUSE_DIR_ENV) else {
            return;
        };
        let dir = std::path::PathBuf::from(dir);
        if std::fs::write(dir.join(format!("{point}.reached")), b"").is_err() {
            return;
        }
        let go = dir.join(format!("{point}.go"));
        while !go.exists() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
