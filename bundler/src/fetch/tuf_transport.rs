//! `tough`'s `Transport` over [`HttpClient`]: each file is fetched whole, bounded by the
//! limit for its kind, and the metadata tough reads is kept byte for byte so the mirror
//! writes exactly what tough verified. Failures keep their [`FetchError`] (tough only carries
//! its own error kinds), so the caller can report the one that happened.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_core::Stream;
use tough::{Bytes, Transport, TransportError, TransportErrorKind, TransportStream};
use url::Url;

use super::error::FetchError;
use super::http::{HttpClient, join};

/// Size limits per metadata file: those `LocalRepository::verify` applies (tough's defaults),
/// so nothing is fetched that verification would refuse to read.
pub(crate) const MAX_ROOT_SIZE: u64 = 1024 * 1024;
pub(crate) const MAX_TIMESTAMP_SIZE: u64 = 1024 * 1024;
pub(crate) const MAX_SNAPSHOT_SIZE: u64 = 1024 * 1024;
pub(crate) const MAX_TARGETS_SIZE: u64 = 10 * 1024 * 1024;
/// The largest target fetched (Sigstore's are a few KiB).
pub(crate) const MAX_TARGET_SIZE: u64 = 16 * 1024 * 1024;
/// Delegated targets roles fetched in all.
const MAX_DELEGATED_ROLES: usize = 1024;

/// What tough is reading: the repository's metadata, then the targets it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    /// Roots, timestamp, snapshot, targets and delegated targets metadata (kept).
    #[default]
    Metadata,
    /// Target files (not kept here: the caller has them from tough, checked).
    Targets,
}

/// What the transport saw, shared by its clones.
#[derive(Debug, Default)]
struct Fetched {
    phase: Phase,
    /// Metadata files fetched, by file name (each directly under the metadata URL).
    metadata: BTreeMap<String, Vec<u8>>,
    /// Delegated targets roles fetched.
    delegated: usize,
    /// The snapshot's URL (named when the delegated roles are too many).
    snapshot: Option<Url>,
    /// The most recent URL asked for (named when tough's error does not say).
    last: Option<Url>,
    /// The first failure other than a 404 (absence is an answer tough acts on).
    failure: Option<FetchError>,
}

/// tough's transport over [`HttpClient`].
#[derive(Debug, Clone)]
pub(crate) struct HttpTransport {
    client: HttpClient,
    /// The metadata URL as a folder (with its trailing slash), as tough joins file names to it.
    metadata: Url,
    fetched: Arc<Mutex<Fetched>>,
}

impl HttpTransport {
    /// A transport whose metadata files are those directly under `metadata`.
    pub(crate) fn new(client: &HttpClient, metadata: &Url) -> Result<Self, FetchError> {
        Ok(Self {
            client: client.clone(),
            metadata: join(metadata, "")?,
            fetched: Arc::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Fetched> {
        // Nothing panics while holding the lock but a failed allocation; a poisoned record
        // only under-reports, and a file missing from it is an error later.
        self.fetched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on, fetches are target files.
    pub(crate) fn start_targets(&self) {
        self.lock().phase = Phase::Targets;
    }

    /// The first failure other than a 404, if any (taken: asked once, at the end of a step).
    pub(crate) fn take_failure(&self) -> Option<FetchError> {
        self.lock().failure.take()
    }

    /// The metadata files fetched, by file name.
    pub(crate) fn take_metadata(&self) -> BTreeMap<String, Vec<u8>> {
        std::mem::take(&mut self.lock().metadata)
    }

    /// The most recent URL asked for.
    pub(crate) fn last_url(&self) -> Option<Url> {
        self.lock().last.clone()
    }

    /// The file name of `url` if it lies directly under the metadata URL.
    fn metadata_file(&self, url: &Url) -> Option<String> {
        url.as_str()
            .strip_prefix(self.metadata.as_str())
            .filter(|name| !name.is_empty() && !name.contains(['/', '?', '#']))
            .map(str::to_owned)
    }

    /// The limit for `url` in the current phase, or the failure that refuses it.
    fn limit(&self, url: &Url) -> Result<u64, FetchError> {
        let mut fetched = self.lock();
        fetched.last = Some(url.clone());
        if fetched.phase == Phase::Targets {
            return Ok(MAX_TARGET_SIZE);
        }
        let name = self.metadata_file(url).unwrap_or_default();
        let limit = match MetadataKind::of(&name) {
            MetadataKind::Root => MAX_ROOT_SIZE,
            MetadataKind::Timestamp => MAX_TIMESTAMP_SIZE,
            MetadataKind::Snapshot => {
                fetched.snapshot = Some(url.clone());
                MAX_SNAPSHOT_SIZE
            }
            MetadataKind::Targets => MAX_TARGETS_SIZE,
            MetadataKind::Delegated => {
                fetched.delegated += 1;
                if fetched.delegated > MAX_DELEGATED_ROLES {
                    return Err(FetchError::Malformed {
                        url: fetched.snapshot.as_ref().unwrap_or(url).to_string(),
                        reason: format!("more than {MAX_DELEGATED_ROLES} delegated roles"),
                    });
                }
                MAX_TARGETS_SIZE
            }
        };
        Ok(limit)
    }

    /// Remembers `error` (the first one wins) and hands tough its own kind of error.
    fn failed(&self, url: Url, error: FetchError) -> TransportError {
        let reason = error.to_string();
        self.lock().failure.get_or_insert(error);
        TransportError::new_with_cause(TransportErrorKind::Other, url, reason)
    }
}

#[tough::async_trait]
impl Transport for HttpTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        let limit = match self.limit(&url) {
            Ok(limit) => limit,
            Err(e) => return Err(self.failed(url, e)),
        };
        // A blocking call: tough runs on a private current-thread runtime with nothing else
        // to do meanwhile (see `mirror_tuf`).
        match self.client.get_bytes(&url, limit) {
            Ok(Some(bytes)) => {
                let mut fetched = self.lock();
                if fetched.phase == Phase::Metadata
                    && let Some(name) = self.metadata_file(&url)
                {
                    fetched.metadata.insert(name, bytes.clone());
                }
                Ok(Box::pin(Whole(Some(Bytes::from(bytes)))))
            }
            Ok(None) => Err(TransportError::new(TransportErrorKind::FileNotFound, url)),
            Err(e) => Err(self.failed(url, e)),
        }
    }
}

/// A body already read whole, as a stream of one chunk.
struct Whole(Option<Bytes>);

impl Stream for Whole {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.get_mut().0.take().map(Ok))
    }
}

/// A metadata file by its name (`N.root.json`, `timestamp.json`, `[N.]snapshot.json`,
/// `[N.]targets.json`, anything else a delegated targets role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MetadataKind {
    Root,
    Timestamp,
    Snapshot,
    Targets,
    Delegated,
}

impl MetadataKind {
    fn of(name: &str) -> Self {
        let unversioned = match name.split_once('.') {
            Some((version, rest)) if version.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => name,
        };
        match unversioned {
            "root.json" => Self::Root,
            "timestamp.json" => Self::Timestamp,
            "snapshot.json" => Self::Snapshot,
            "targets.json" => Self::Targets,
            _ => Self::Delegated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_files_are_known_by_name() {
        for (name, kind) in [
            ("3.root.json", MetadataKind::Root),
            ("timestamp.json", MetadataKind::Timestamp),
            ("12.snapshot.json", MetadataKind::Snapshot),
            ("snapshot.json", MetadataKind::Snapshot),
            ("7.targets.json", MetadataKind::Targets),
            ("8.registry.npmjs.org.json", MetadataKind::Delegated),
            ("registry.npmjs.org.json", MetadataKind::Delegated),
        ] {
            assert_eq!(MetadataKind::of(name), kind, "{name}");
        }
    }

    #[test]
    fn only_files_directly_under_the_metadata_url_are_metadata() {
        let client = HttpClient::new(Some(
            airlock_tests::TlsMaterial::new(1, 1_700_000_000, 1_900_000_000)
                .unwrap()
                .ca_pem()
                .as_bytes(),
        ))
        .unwrap();
        let base = Url::parse("https://h.example/tuf").unwrap();
        let t = HttpTransport::new(&client, &base).unwrap();
        let file = |u: &str| t.metadata_file(&Url::parse(u).unwrap());
        assert_eq!(
            file("https://h.example/tuf/1.root.json").as_deref(),
            Some("1.root.json")
        );
        assert_eq!(file("https://h.example/tuf/a/1.root.json"), None);
        assert_eq!(file("https://h.example/tuf/"), None);
        assert_eq!(file("https://h.example/other/1.root.json"), None);
    }

    #[test]
    fn the_delegated_roles_are_bounded() {
        let client = HttpClient::new(Some(
            airlock_tests::TlsMaterial::new(1, 1_700_000_000, 1_900_000_000)
                .unwrap()
                .ca_pem()
                .as_bytes(),
        ))
        .unwrap();
        let base = Url::parse("https://h.example/").unwrap();
        let t = HttpTransport::new(&client, &base).unwrap();
        let snapshot = base.join("4.snapshot.json").unwrap();
        assert_eq!(t.limit(&snapshot).unwrap(), MAX_SNAPSHOT_SIZE);
        for i in 0..MAX_DELEGATED_ROLES {
            let role = base.join(&format!("1.role-{i}.json")).unwrap();
            assert_eq!(t.limit(&role).unwrap(), MAX_TARGETS_SIZE);
        }
        let one_more = base.join("1.role-x.json").unwrap();
        assert!(matches!(
            t.limit(&one_more),
            Err(FetchError::Malformed { url, .. }) if url == snapshot.as_str()
        ));
    }
}
