//! Early write-back of the large files an import writes (its kept archive, its staged blobs):
//! a background thread asks the kernel to write each out (`fdatasync`) while the archive is
//! still being read, so the disk works beside the checks instead of after them, when the
//! release's copies (or reflinks, which first write their source back) and the commit's sync
//! would otherwise wait for all of it. Best effort: a file gone or failing is skipped (what
//! decides durability is the commit's own sync), and a full queue drops the request.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};

/// Files queued at most; past it, requests are dropped (the kernel writes them back anyway).
const QUEUE: usize = 1024;

/// The queue of files to write back early.
#[derive(Debug)]
pub(super) struct Writeback {
    files: SyncSender<PathBuf>,
}

impl Writeback {
    /// Starts the write-back thread. It ends once this is dropped and its queue is done; the
    /// import does not wait for it.
    pub(super) fn start() -> Self {
        let (files, queue) = mpsc::sync_channel::<PathBuf>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("airlock-writeback".into())
            .spawn(move || {
                for path in queue {
                    if let Ok(file) = File::open(&path) {
                        let _ = file.sync_data();
                    }
                }
            });
        // Without the thread, requests go nowhere: the kernel's own write-back remains.
        drop(spawned);
        Self { files }
    }

    /// Asks for `path` to be written back.
    pub(super) fn ask(&self, path: &Path) {
        let _ = self.files.try_send(path.to_owned());
    }
}
