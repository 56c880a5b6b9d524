//! Split archives: the writer's sink that cuts the compressed stream into numbered parts
//! (`NAME.001`, `NAME.002`, …) written under temporary names and renamed only when all are
//! complete, and the reader's source that reads the parts back in sequence.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::error::ArchiveError;

/// Most parts one archive may be split into.
pub const MAX_PARTS: usize = 999;

/// The name of part `index` (1-based) of `base`: `base.001`.
pub fn part_path(base: &Path, index: usize) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(format!(".{index:03}"));
    PathBuf::from(name)
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Written bytes after which the writeback of a part is started early.
const EARLY_SYNC_EVERY: u64 = 64 << 20;

/// Where compressed bytes go: one file, or parts of at most `max_part_size` bytes.
#[derive(Debug)]
pub(crate) struct PartSink {
    base: PathBuf,
    max_part_size: Option<u64>,
    /// Final paths of the parts written so far (the last one is open).
    finals: Vec<PathBuf>,
    current: Option<File>,
    written_in_part: u64,
    finished: bool,
    early: EarlySync,
}

/// Starts writing back what a part holds so far, on a second thread, every
/// [`EARLY_SYNC_EVERY`] bytes: the disk works while the archive is still being compressed, and
/// the sync that ends each part (which alone decides success) finds little left to write.
/// Its own errors are ignored; the final sync reports any that remain.
#[derive(Debug)]
struct EarlySync {
    files: Option<mpsc::SyncSender<File>>,
    thread: Option<std::thread::JoinHandle<()>>,
    since: u64,
    every: u64,
    /// Writebacks asked for (for tests).
    asked: u64,
}

impl EarlySync {
    fn start() -> Self {
        Self::every(EARLY_SYNC_EVERY)
    }

    fn every(every: u64) -> Self {
        let (files, rx) = mpsc::sync_channel::<File>(1);
        let thread = std::thread::spawn(move || {
            for file in rx {
                let _ = file.sync_data();
            }
        });
        Self {
            files: Some(files),
            thread: Some(thread),
            since: 0,
            every,
            asked: 0,
        }
    }

    /// Counts `n` bytes written to `file`; past the threshold, asks for a writeback unless one
    /// is still running.
    fn wrote(&mut self, file: &File, n: usize) {
        self.since += n as u64;
        if self.since < self.every {
            return;
        }
        self.since = 0;
        if let (Some(files), Ok(clone)) = (&self.files, file.try_clone())
            && files.try_send(clone).is_ok()
        {
            self.asked += 1;
        }
    }
}

impl Drop for EarlySync {
    fn drop(&mut self) {
        self.files = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl PartSink {
    /// Prepares to write `base` (or `base.001`, … when split). Refuses to replace files.
    pub(crate) fn new(base: &Path, max_part_size: Option<u64>) -> Result<Self, ArchiveError> {
        if max_part_size == Some(0) {
            return Err(ArchiveError::Parts(
                "part size must be at least 1 byte".into(),
            ));
        }
        let first = match max_part_size {
            Some(_) => part_path(base, 1),
            None => base.to_owned(),
        };
        for taken in [&first, &base.to_path_buf()] {
            if taken.exists() {
                return Err(ArchiveError::Io {
                    path: taken.clone(),
                    source: io::Error::new(io::ErrorKind::AlreadyExists, "already exists"),
                });
            }
        }
        let mut sink = Self {
            base: base.to_owned(),
            max_part_size,
            finals: Vec::new(),
            current: None,
            written_in_part: 0,
            finished: false,
            early: EarlySync::start(),
        };
        sink.open_next()?;
        Ok(sink)
    }

    fn open_next(&mut self) -> Result<(), ArchiveError> {
        if let Some(file) = self.current.take() {
            let path = self
                .finals
                .last()
                .map(|p| partial_path(p))
                .unwrap_or_default();
            file.sync_all().map_err(ArchiveError::io(path))?;
        }
        let index = self.finals.len() + 1;
        if index > MAX_PARTS {
            return Err(ArchiveError::Parts(format!(
                "more than {MAX_PARTS} parts; choose a larger part size"
            )));
        }
        let path = match self.max_part_size {
            Some(_) => part_path(&self.base, index),
            None => self.base.clone(),
        };
        let partial = partial_path(&path);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&partial)
            .map_err(ArchiveError::io(&partial))?;
        self.finals.push(path);
        self.current = Some(file);
        self.written_in_part = 0;
        Ok(())
    }

    /// Syncs the last part and renames every part to its final name; returns the paths.
    pub(crate) fn finish(mut self) -> Result<Vec<PathBuf>, ArchiveError> {
        if let Some(file) = self.current.take() {
            let path = self
                .finals
                .last()
                .map(|p| partial_path(p))
                .unwrap_or_default();
            file.sync_all().map_err(ArchiveError::io(path))?;
        }
        if self.max_part_size.is_some() {
            let next = part_path(&self.base, self.finals.len() + 1);
            if next.exists() {
                return Err(ArchiveError::Parts(format!(
                    "{} exists and would be read as part of this archive; remove it",
                    next.display()
                )));
            }
        }
        for path in &self.finals {
            fs::rename(partial_path(path), path).map_err(ArchiveError::io(path))?;
        }
        self.finished = true;
        Ok(std::mem::take(&mut self.finals))
    }
}

impl Write for PartSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(max) = self.max_part_size
            && self.written_in_part >= max
        {
            self.open_next().map_err(io::Error::other)?;
        }
        let room = match self.max_part_size {
            Some(max) => usize::try_from(max - self.written_in_part).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let file = self
            .current
            .as_mut()
            .ok_or_else(|| io::Error::other("part sink already finished"))?;
        let n = file.write(&buf[..buf.len().min(room)])?;
        self.written_in_part += n as u64;
        self.early.wrote(file, n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.current.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for PartSink {
    fn drop(&mut self) {
        if !self.finished {
            self.current = None;
            for path in &self.finals {
                let _ = fs::remove_file(partial_path(path));
            }
        }
    }
}

/// The files making up an archive, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveParts(Vec<PathBuf>);

impl ArchiveParts {
    /// Finds an archive's files from any of: the archive itself, its first part (`X.001`), or
    /// the unsplit name whose parts exist (`X` when `X.001` exists).
    pub fn locate(path: &Path) -> Result<Self, ArchiveError> {
        let not_found = |p: &Path| ArchiveError::Io {
            path: p.to_owned(),
            source: io::Error::new(io::ErrorKind::NotFound, "no such archive or first part"),
        };
        let base = match path.to_str().and_then(|s| s.strip_suffix(".001")) {
            Some(base) => PathBuf::from(base),
            None if path.is_file() => return Ok(Self(vec![path.to_owned()])),
            None if part_path(path, 1).is_file() => path.to_owned(),
            None => return Err(not_found(path)),
        };
        let mut parts = Vec::new();
        loop {
            let next = part_path(&base, parts.len() + 1);
            if !next.is_file() || parts.len() == MAX_PARTS {
                break;
            }
            parts.push(next);
        }
        if parts.is_empty() {
            return Err(not_found(path));
        }
        Ok(Self(parts))
    }

    /// Exactly these files, in this order.
    pub fn from_paths(paths: Vec<PathBuf>) -> Self {
        Self(paths)
    }

    /// The files.
    pub fn paths(&self) -> &[PathBuf] {
        &self.0
    }

    /// Their total size in bytes.
    pub fn total_size(&self) -> Result<u64, ArchiveError> {
        self.0.iter().try_fold(0u64, |sum, p| {
            let len = fs::metadata(p).map_err(ArchiveError::io(p))?.len();
            Ok(sum.saturating_add(len))
        })
    }

    /// A reader over all parts in sequence.
    pub fn open(&self) -> Result<PartReader, ArchiveError> {
        let first = self
            .0
            .first()
            .ok_or_else(|| ArchiveError::Parts("no files".into()))?;
        let file = File::open(first).map_err(ArchiveError::io(first))?;
        Ok(PartReader {
            parts: self.0.clone(),
            index: 0,
            current: file,
        })
    }
}

/// Reads the parts of an archive one after another.
#[derive(Debug)]
pub struct PartReader {
    parts: Vec<PathBuf>,
    index: usize,
    current: File,
}

impl Read for PartReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() || self.index + 1 >= self.parts.len() {
                return Ok(n);
            }
            self.index += 1;
            let path = &self.parts[self.index];
            self.current = File::open(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn early_writebacks_run_beside_the_writes_and_change_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("out.bin");
        let mut sink = PartSink::new(&base, Some(40 << 10)).unwrap();
        sink.early = EarlySync::every(4 << 10);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(1000) {
            sink.write_all(chunk).unwrap();
        }
        assert!(sink.early.asked > 0);
        let parts = sink.finish().unwrap();
        assert_eq!(parts.len(), 3);
        let mut back = Vec::new();
        for p in &parts {
            back.extend(fs::read(p).unwrap());
        }
        assert_eq!(back, data);
    }
}
