//! A `Progress` that records each source collected: its name, the total it announced and the
//! last count it reported.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use airlock_bundler::create::{Progress, SourceProgress};

/// Every source reported, in the order they started.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    sources: Mutex<Vec<(String, u64, Arc<AtomicU64>)>>,
}

impl Recorded {
    /// `(name, total, last count)` for each source.
    pub(crate) fn sources(&self) -> Vec<(String, u64, u64)> {
        self.sources
            .lock()
            .unwrap()
            .iter()
            .map(|(n, t, d)| (n.clone(), *t, d.load(Ordering::SeqCst)))
            .collect()
    }
}

impl Progress for Recorded {
    fn phase(&self, _: &str, _: u64) {}
    fn set(&self, _: u64) {}

    fn source(&self, name: &str, total: u64) -> Box<dyn SourceProgress + '_> {
        let done = Arc::new(AtomicU64::new(0));
        self.sources
            .lock()
            .unwrap()
            .push((name.to_owned(), total, done.clone()));
        Box::new(Count(done))
    }
}

struct Count(Arc<AtomicU64>);

impl SourceProgress for Count {
    fn set(&self, done: u64) {
        self.0.store(done, Ordering::SeqCst);
    }
}
