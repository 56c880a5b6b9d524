//! The inbox: archives dropped into `inbox/` are imported once they stop growing, copied to
//! `archive/` (the pipeline keeps every original as its own file) and removed from the inbox.
//! Names starting with `.` are ignored, so a copy can be made under a hidden name and renamed
//! into place. Names with control characters are refused, as uploads are, and so are
//! symlinks and special files (a split part included: never followed) and archives over the
//! size limit; a refused file is reported once and left where it is until it changes. While
//! another writer holds the data folder's lock, a ready archive waits for a later scan.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::appliance::Appliance;
use crate::lock::Wait;
use crate::pipeline::{self, ImportError, ImportOutcome, ImportRequest, Original};
use crate::store::ImportSource;

/// What the watcher saw of a file at the last scan.
type Seen = HashMap<PathBuf, (u64, Option<SystemTime>)>;

/// The inbox watcher's memory between scans.
#[derive(Debug, Default)]
pub struct Inbox {
    seen: Seen,
    /// Files refused (their names, their kind, their size), as they were when refused
    /// (reported once).
    refused: HashSet<(PathBuf, (u64, Option<SystemTime>))>,
}

impl Inbox {
    /// Scans once; imports every archive that is unchanged since the previous scan.
    pub fn scan(&mut self, app: &Appliance) -> Vec<(PathBuf, Result<ImportOutcome, ImportError>)> {
        let mut now_seen = Seen::new();
        let mut still_refused = HashSet::new();
        let mut refused_now = Vec::new();
        let mut ready = Vec::new();
        let Ok(entries) = std::fs::read_dir(app.data().inbox()) else {
            return Vec::new();
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !is_archive_start(&path) {
                continue;
            }
            // The entry itself, not what a symlink points to.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let mark = (meta.len(), meta.modified().ok());
            let key = (path.clone(), mark);
            if self.refused.contains(&key) {
                still_refused.insert(key);
                continue;
            }
            if !meta.is_file() {
                still_refused.insert(key);
                refused_now.push((path.clone(), Err(ImportError::NotRegular { path })));
                continue;
            }
            if self.seen.get(&path) == Some(&mark) {
                ready.push(path.clone());
            }
            now_seen.insert(path, mark);
        }
        self.seen = now_seen;
        // Forget refused files that were removed or changed.
        self.refused = still_refused;
        ready.sort();
        let mut results = refused_now;
        for path in ready {
            let mark = self.seen.remove(&path);
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let outcome = pipeline::import_file_waiting(
                app,
                ImportRequest {
                    source: ImportSource::Inbox,
                    path: path.clone(),
                    file_name,
                    actor: "inbox".into(),
                    original: Original::Take,
                },
                Wait::No,
            );
            match (&outcome, mark) {
                // Another writer holds the folder: still ready at the next scan.
                (Err(ImportError::Locked(_)), Some(mark)) => {
                    self.seen.insert(path.clone(), mark);
                }
                (
                    Err(
                        ImportError::FileName { .. }
                        | ImportError::NotRegular { .. }
                        | ImportError::TooLarge { .. },
                    ),
                    Some(mark),
                ) => {
                    self.refused.insert((path.clone(), mark));
                }
                _ => {}
            }
            results.push((path, outcome));
        }
        results
    }
}

/// An archive, or the first part of a split one; later parts come along with the first.
fn is_archive_start(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.')
        && (name.ends_with(".airlock.tar.zst") || name.ends_with(".airlock.tar.zst.001"))
}

/// Watches the inbox every `interval` until `stop` is set.
pub fn watch(
    app: Arc<Appliance>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut inbox = Inbox::default();
        while !stop.load(Ordering::Relaxed) {
            for (path, outcome) in inbox.scan(&app) {
                match outcome {
                    // Debug quoting: a file name is never written raw to the log.
                    Ok(o) => eprintln!("inbox: {path:?} → import {} {:?}", o.import_id, o.state),
                    Err(e) => eprintln!("inbox: {path:?}: {e}"),
                }
            }
            std::thread::sleep(interval);
        }
    })
}
