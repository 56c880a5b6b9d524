//! One writer per data folder, across processes: an OS file lock (`flock`) on `DATA/lock`,
//! held by whoever imports or changes the appliance's state, and released by the kernel when
//! its holder exits, however it exits.
//!
//! The holder writes who it is (pid, command, since) into the file after locking, so a
//! writer that finds the folder busy can say who holds it. Every acquisition opens the file
//! afresh: two acquisitions in one process exclude each other as two processes do.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rustix::fs::{FlockOperation, flock};
use serde::{Deserialize, Serialize};

/// How often a waiting writer tries the lock again.
const RETRY: Duration = Duration::from_millis(25);

/// The most of the lock file read back (it holds one short JSON object).
const MAX_HOLDER: u64 = 4096;

/// How long a writer waits for the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Fail at once if another writer holds it.
    No,
    /// Wait at most this long.
    Up(Duration),
    /// Wait until it is free.
    Forever,
}

impl Wait {
    /// `No` for zero seconds, else `Up(seconds)`.
    pub fn seconds(seconds: u64) -> Self {
        if seconds == 0 {
            Self::No
        } else {
            Self::Up(Duration::from_secs(seconds))
        }
    }
}

/// Who holds the lock, as its holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Its process id (in its own pid namespace: another container's pid is its own).
    pub pid: u32,
    /// The command it runs (`serve`, `import`, `users add`, …).
    pub command: String,
    /// Since when it holds the lock (RFC 3339).
    pub since: String,
    /// Its host name (a container's is usually its id), when the kernel says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} (command {}) since {}",
            self.pid,
            self.command.escape_debug(),
            self.since.escape_debug()
        )?;
        if let Some(host) = &self.host {
            write!(f, " on host {}", host.escape_debug())?;
        }
        Ok(())
    }
}

/// This host's name, from procfs (no libc call needed); `None` where it cannot be read.
fn host_name() -> Option<String> {
    let mut text = String::new();
    File::open("/proc/sys/kernel/hostname")
        .ok()?
        .take(256)
        .read_to_string(&mut text)
        .ok()?;
    let name = text.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another writer holds it.
    #[error("the data folder is busy: held by {}", holder.as_ref().map_or_else(|| "another process".to_owned(), Holder::to_string))]
    Busy {
        /// Who, if it has said so yet.
        holder: Option<Holder>,
    },
    /// The lock file could not be opened or locked.
    #[error("lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The held lock: released when dropped (or when the process ends).
#[derive(Debug)]
pub struct WriterLock {
    file: File,
}

impl WriterLock {
    /// Takes the lock on `path` for `command`, waiting as `wait` says. `now` is when it is
    /// taken, written into the file with the process id.
    pub fn acquire(
        path: &Path,
        command: &str,
        wait: Wait,
        now: impl Fn() -> DateTime<Utc>,
    ) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let deadline = match wait {
            Wait::No => Some(Instant::now()),
            Wait::Up(d) => Some(Instant::now() + d),
            Wait::Forever => None,
        };
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(LockError::Busy {
                            holder: holder(path),
                        });
                    }
                    std::thread::sleep(RETRY);
                }
                Err(e) => return Err(io(e.into())),
            }
        }
        let me = Holder {
            pid: std::process::id(),
            command: command.to_owned(),
            since: now().to_rfc3339_opts(SecondsFormat::Secs, true),
            host: host_name(),
        };
        // Serializing a number and two strings cannot fail.
        let text = serde_json::to_vec(&me).unwrap_or_default();
        file.set_len(0).map_err(io)?;
        file.write_all_at(&text, 0).map_err(io)?;
        Ok(Self { file })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Nobody holds it once this returns: say so before the lock goes with the file.
        let _ = self.file.set_len(0);
    }
}

/// Who holds the lock at `path`, if the holder has written it.
pub fn holder(path: &Path) -> Option<Holder> {
    let mut text = Vec::new();
    File::open(path)
        .ok()?
        .take(MAX_HOLDER)
        .read_to_end(&mut text)
        .ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_second_writer_is_told_who_holds_the_lock_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = WriterLock::acquire(&path, "import", Wait::No, at).unwrap();
        let err = WriterLock::acquire(&path, "users add", Wait::No, at).unwrap_err();
        let LockError::Busy { holder: Some(h) } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (h.pid, h.command.as_str(), h.since.as_str()),
            (std::process::id(), "import", "2027-01-15T08:00:00Z")
        );
        let on_host = h
            .host
            .as_ref()
            .map(|host| format!(" on host {host}"))
            .unwrap_or_default();
        assert_eq!(h.host, host_name());
        assert_eq!(
            err.to_string(),
            format!(
                "the data folder is busy: held by pid {} (command import) since 2027-01-15T08:00:00Z{on_host}",
                std::process::id()
            )
        );
        let waited = Instant::now();
        let err = WriterLock::acquire(&path, "users add", Wait::Up(Duration::from_millis(100)), at)
            .unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }));
        assert!(waited.elapsed() >= Duration::from_millis(100));

        drop(first);
        assert_eq!(holder(&path), None, "a released lock names nobody");
        let second = WriterLock::acquire(&path, "users add", Wait::No, at).unwrap();
        assert_eq!(holder(&path).unwrap().command, "users add");
        drop(second);
    }

    #[test]
    fn a_waiting_writer_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = WriterLock::acquire(&path, "serve", Wait::No, at).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                tx.send(()).unwrap();
                WriterLock::acquire(&path, "import", Wait::Forever, at).map(drop)
            })
        };
        rx.recv().unwrap();
        drop(first);
        waiter.join().unwrap().unwrap();
    }

    #[test]
    fn a_holder_without_details_is_another_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let file = File::create(&path).unwrap();
        flock(&file, FlockOperation::LockExclusive).unwrap();
        let err = WriterLock::acquire(&path, "import", Wait::No, at).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the data folder is busy: held by another process"
        );
    }
}
