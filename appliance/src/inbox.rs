//! The inbox: archives dropped into `inbox/` are imported once they stop growing, copied to
//! `archive/` (the pipeline keeps every original as its own file) and removed from the inbox.
//! Names starting with `.` are ignored, so a copy can be made under a hidden name and renamed
//! into place. Symlinks and special files (a split part included) are refused, never
//! followed, as are archives over the size limit; a refused file is reported once and left
//! alone until it changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::appliance::Appliance;
use crate::pipeline::{self, ImportError, ImportOutcome, ImportRequest, Original};
use crate::store::ImportSource;

/// What the watcher saw of a file at the last scan.
type Seen = HashMap<PathBuf, (u64, Option<SystemTime>)>;

/// The inbox watcher's memory between scans.
#[derive(Debug, Default)]
pub struct Inbox {
    seen: Seen,
    /// Files refused, as they were when refused.
    refused: Seen,
}

impl Inbox {
    /// Scans once; imports every archive that is unchanged since the previous scan.
    pub fn scan(&mut self, app: &Appliance) -> Vec<(PathBuf, Result<ImportOutcome, ImportError>)> {
        let mut now_seen = Seen::new();
        let mut ready = Vec::new();
        let mut out = Vec::new();
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
            if self.refused.get(&path) == Some(&mark) {
                continue;
            }
            self.refused.remove(&path);
            if !meta.is_file() {
                self.refused.insert(path.clone(), mark);
                out.push((path.clone(), Err(ImportError::NotRegular { path })));
                continue;
            }
            if self.seen.get(&path) == Some(&mark) {
                ready.push((path.clone(), mark));
            }
            now_seen.insert(path, mark);
        }
        self.seen = now_seen;
        ready.sort();
        out.extend(ready.into_iter().map(|(path, mark)| {
            self.seen.remove(&path);
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let outcome = pipeline::import_file(
                app,
                ImportRequest {
                    source: ImportSource::Inbox,
                    path: path.clone(),
                    file_name,
                    actor: "inbox".into(),
                    original: Original::Take,
                },
            );
            if let Err(ImportError::NotRegular { .. } | ImportError::TooLarge { .. }) = &outcome {
                self.refused.insert(path.clone(), mark);
            }
            (path, outcome)
        }));
        out
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
                    Ok(o) => eprintln!(
                        "inbox: {} → import {} {:?}",
                        path.display(),
                        o.import_id,
                        o.state
                    ),
                    Err(e) => eprintln!("inbox: {}: {e}", path.display()),
                }
            }
            std::thread::sleep(interval);
        }
    })
}
