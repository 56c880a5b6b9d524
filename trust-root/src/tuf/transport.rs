//! A file transport for tough that keeps the exact bytes tough read, so the digests Airlock
//! records are the digests of what was verified (no second read, no TOCTOU).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use tough::{Bytes, FilesystemTransport, Transport, TransportError, TransportStream};
use url::Url;

/// What tough fetched, keyed by URL, plus the most recent URL (for errors that do not name it).
#[derive(Debug, Default)]
pub(crate) struct FetchLog {
    files: HashMap<String, Vec<u8>>,
    last: Option<Url>,
}

impl FetchLog {
    /// The bytes read from `url`, if tough fetched it.
    pub(crate) fn bytes(&self, url: &Url) -> Option<&[u8]> {
        self.files.get(url.as_str()).map(Vec::as_slice)
    }

    /// Every file fetched successfully, by URL.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(u, b)| (u.as_str(), b.as_slice()))
    }

    /// The file name of the most recent fetch.
    pub(crate) fn last_file(&self) -> String {
        self.last.as_ref().map(file_name).unwrap_or_default()
    }

    /// The highest N among the `N.root.json` files tough fetched.
    pub(crate) fn highest_root_fetched(&self) -> Option<u64> {
        self.files
            .keys()
            .filter_map(|u| Url::parse(u).ok())
            .filter_map(|u| {
                file_name(&u)
                    .strip_suffix(".root.json")
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .max()
    }
}

/// The last path segment of a URL.
pub(crate) fn file_name(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default()
        .to_owned()
}

/// tough's [`FilesystemTransport`] with a shared record of every byte it handed out.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordingTransport {
    log: Arc<Mutex<FetchLog>>,
}

impl RecordingTransport {
    /// The shared record (read it after tough is done).
    pub(crate) fn log(&self) -> Arc<Mutex<FetchLog>> {
        Arc::clone(&self.log)
    }
}

fn lock(log: &Mutex<FetchLog>) -> std::sync::MutexGuard<'_, FetchLog> {
    // A panic while holding the lock cannot leave the map half-updated in a way that matters:
    // a poisoned record only ever under-reports, and missing bytes are an error later.
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

#[tough::async_trait]
impl Transport for RecordingTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        {
            let mut log = lock(&self.log);
            log.last = Some(url.clone());
            log.files.insert(url.to_string(), Vec::new());
        }
        let inner = match FilesystemTransport.fetch(url.clone()).await {
            Ok(inner) => inner,
            Err(e) => {
                // Not fetched: only `last` remembers it (for error messages).
                lock(&self.log).files.remove(url.as_str());
                return Err(e);
            }
        };
        Ok(Box::pin(Recording {
            inner,
            key: url.to_string(),
            log: Arc::clone(&self.log),
        }))
    }
}

/// A stream that copies each chunk into the fetch log as it passes.
struct Recording {
    inner: TransportStream,
    key: String,
    log: Arc<Mutex<FetchLog>>,
}

impl Stream for Recording {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let poll = this.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &poll
            && let Some(buf) = lock(&this.log).files.get_mut(&this.key)
        {
            buf.extend_from_slice(bytes);
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_is_last_segment() {
        let u = Url::parse("file:///a/b/12.root.json").unwrap();
        assert_eq!(file_name(&u), "12.root.json");
    }

    #[test]
    fn highest_root_ignores_other_files() {
        let mut log = FetchLog::default();
        for f in [
            "2.root.json",
            "10.root.json",
            "timestamp.json",
            "3.snapshot.json",
        ] {
            log.files.insert(format!("file:///m/{f}"), Vec::new());
        }
        assert_eq!(log.highest_root_fetched(), Some(10));
    }
}
