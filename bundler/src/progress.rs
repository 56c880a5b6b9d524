//! `Progress`: how long-running work (`create`'s hashing and writing, collecting images,
//! files and packages) reports how far it is; the CLI draws it, library callers may ignore
//! it. Work done one step at a time is a phase (one total, one count); collecting is per
//! source (each `image`, `url`, `npm` and `pypi` entry its own count of bytes), as sources
//! may be fetched side by side.

/// Receives progress: a phase starts with its total (bytes, or items), then advances; a
/// source being collected gets a [`SourceProgress`] of its own.
pub trait Progress: Sync {
    /// A new phase.
    fn phase(&self, name: &str, total: u64);
    /// Done so far in this phase.
    fn set(&self, done: u64);
    /// A source starts being fetched: the artifact's `name` and the bytes it will fetch
    /// (0: nothing, or not known). It reports to the handle returned until it drops it. By
    /// default, nowhere.
    fn source(&self, name: &str, total: u64) -> Box<dyn SourceProgress + '_> {
        let _ = (name, total);
        Box::new(NoProgress)
    }
}

/// One source's progress: its bytes fetched so far. The count may go back (a copy a mirror
/// served that did not hash to its digest is thrown away and fetched again); dropping the
/// handle ends the source.
pub trait SourceProgress: Sync {
    /// Bytes fetched so far.
    fn set(&self, done: u64);
}

/// Progress that goes nowhere.
#[derive(Debug)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn set(&self, _: u64) {}
}

impl SourceProgress for NoProgress {
    fn set(&self, _: u64) {}
}
