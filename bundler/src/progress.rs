//! `Progress`: how long-running work (`create`'s hashing and writing, pulling images) reports
//! how far it is; the CLI draws it, library callers may ignore it.

/// Receives progress: a phase starts with its total (bytes, or items), then advances.
pub trait Progress: Sync {
    /// A new phase.
    fn phase(&self, name: &str, total: u64);
    /// Done so far in this phase.
    fn set(&self, done: u64);
}

/// Progress that goes nowhere.
#[derive(Debug)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: u64) {}
    fn set(&self, _: u64) {}
}
