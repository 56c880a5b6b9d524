//! `Endpoints`: an image's registry and its mirrors (`[[registry]] mirrors = […]`), and which
//! of them each request goes to. Mirrors are untrusted, and a mirror that could name what is
//! packed would be a way to roll an image back, so:
//!
//! - **By digest** (manifests, indexes, config and layer blobs, referrer manifests and their
//!   bundles and SBOMs): each mirror in order, then the registry. What a mirror serves is
//!   checked against the digest exactly as the registry's is; a mirror that answers 404 is
//!   passed over for that request, one that fails any other way (wrong bytes, a refusal, no
//!   connection) is warned about and not asked again for this image.
//! - **By tag** (the spec's `image = "…:tag"`, resolved once and checked again at the end):
//!   the registry only. A mirror never decides what a tag names.
//! - **Listings** (the referrers API, the referrers tag schema's index, cosign's
//!   `sha256-<hex>.sig`/`.att` tags): the registry; mirrors in order only when it cannot be
//!   reached (a transport, TLS or HTTP status failure). A listing names evidence for a digest
//!   already chosen and every piece of it is verified by preflight: a mirror can withhold
//!   evidence (the image then fails as unsigned or unattested), not make an image pass.
//!
//! Which endpoint served each digest is kept, for the plan (`from`), with the warnings.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::error::Problem;
use super::registry::{FetchedManifest, Registry};
use super::store::{BlobStore, Written};
use crate::archive::Sha256Digest;

/// One mirror of the registry.
#[derive(Debug)]
pub(crate) struct Mirror {
    /// Its location as the spec writes it (`host[:port][/prefix]`).
    pub(crate) location: String,
    /// The origin's repository on it.
    pub(crate) registry: Registry,
}

/// The registry an image names and its mirrors.
#[derive(Debug)]
pub(crate) struct Endpoints {
    origin: Registry,
    mirrors: Vec<Mirror>,
    /// Why a mirror is no longer asked, by its index.
    dropped: Mutex<BTreeMap<usize, String>>,
    /// Why the registry could not be reached for a listing (mirrors answer the rest).
    origin_down: Mutex<Option<String>>,
    /// Which endpoint served each manifest and blob.
    served: Mutex<BTreeMap<Sha256Digest, String>>,
    warnings: Mutex<Vec<String>>,
}

impl Endpoints {
    pub(crate) fn new(origin: Registry, mirrors: Vec<Mirror>) -> Self {
        Self {
            origin,
            mirrors,
            dropped: Mutex::new(BTreeMap::new()),
            origin_down: Mutex::new(None),
            served: Mutex::new(BTreeMap::new()),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// The registry itself: tags are resolved here only.
    pub(crate) fn origin(&self) -> &Registry {
        &self.origin
    }

    /// The manifest at `digest`, checked to hash to it.
    pub(crate) fn manifest(&self, digest: &Sha256Digest) -> Result<FetchedManifest, Problem> {
        self.by_digest(digest, |r| r.manifest(digest))
    }

    /// A small blob (a bundle, a simple-signing payload) of at most `limit` bytes, checked.
    pub(crate) fn small_blob(&self, digest: &Sha256Digest, limit: u64) -> Result<Vec<u8>, Problem> {
        self.by_digest(digest, |r| r.small_blob(digest, limit))
    }

    /// Streams the blob into `store`, checked. `advance` hears each chunk; a copy thrown away
    /// (a mirror's that did not hash to `digest`) is taken back through `rewind`.
    pub(crate) fn blob_to_store(
        &self,
        digest: &Sha256Digest,
        size: u64,
        store: &BlobStore,
        advance: &dyn Fn(u64),
        rewind: &dyn Fn(u64),
    ) -> Result<Written, Problem> {
        self.by_digest(digest, |r| {
            let received = std::sync::atomic::AtomicU64::new(0);
            let counted = |n: u64| {
                received.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                advance(n);
            };
            let result = r.blob_to_store(digest, size, store, &counted);
            if result.is_err() {
                rewind(received.load(std::sync::atomic::Ordering::Relaxed));
            }
            result
        })
    }

    /// A listing: asked of the registry, and of the mirrors in order only when the registry
    /// cannot be reached.
    pub(crate) fn listing<T>(
        &self,
        ask: impl Fn(&Registry) -> Result<T, Problem>,
    ) -> Result<T, Problem> {
        let down = lock(&self.origin_down).clone();
        let origin_error = match down {
            Some(why) => Problem::Config(why),
            None => match ask(&self.origin) {
                Err(Problem::Fetch(e)) if !self.mirrors.is_empty() => {
                    let why = format!("registry {} could not be reached: {e}", self.origin.name());
                    self.warn(format!("{why}; listings are asked of its mirrors"));
                    *lock(&self.origin_down) = Some(why);
                    Problem::Fetch(e)
                }
                answered => return answered,
            },
        };
        let mut passed = Vec::new();
        for (i, mirror) in self.mirrors.iter().enumerate() {
            if let Some(why) = lock(&self.dropped).get(&i) {
                passed.push(format!("mirror {}: {why}", mirror.location));
                continue;
            }
            match ask(&mirror.registry) {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    passed.push(format!("mirror {}: {e}", mirror.location));
                    self.drop_mirror(i, &e);
                }
            }
        }
        Err(Problem::AfterMirrors {
            problem: Box::new(origin_error),
            mirrors: passed.join("; "),
        })
    }

    /// Where `digest` was fetched from (a mirror's location, or the registry's name).
    pub(crate) fn served_by(&self, digest: &Sha256Digest) -> Option<String> {
        lock(&self.served).get(digest).cloned()
    }

    /// What went wrong with mirrors (and the registry, for listings) so far.
    pub(crate) fn warnings(&self) -> Vec<String> {
        lock(&self.warnings).clone()
    }

    fn by_digest<T>(
        &self,
        digest: &Sha256Digest,
        fetch: impl Fn(&Registry) -> Result<T, Problem>,
    ) -> Result<T, Problem> {
        let mut passed = Vec::new();
        for (i, mirror) in self.mirrors.iter().enumerate() {
            if let Some(why) = lock(&self.dropped).get(&i) {
                passed.push(format!("mirror {}: {why}", mirror.location));
                continue;
            }
            match fetch(&mirror.registry) {
                Ok(found) => {
                    lock(&self.served).insert(*digest, mirror.location.clone());
                    return Ok(found);
                }
                Err(Problem::NotFound { .. }) => {
                    passed.push(format!("mirror {}: not found", mirror.location));
                }
                Err(e) => {
                    passed.push(format!("mirror {}: {e}", mirror.location));
                    self.drop_mirror(i, &e);
                }
            }
        }
        match fetch(&self.origin) {
            Ok(found) => {
                lock(&self.served).insert(*digest, self.origin.name().to_owned());
                Ok(found)
            }
            Err(e) if passed.is_empty() => Err(e),
            Err(e) => Err(Problem::AfterMirrors {
                problem: Box::new(e),
                mirrors: passed.join("; "),
            }),
        }
    }

    fn drop_mirror(&self, i: usize, e: &Problem) {
        let Some(mirror) = self.mirrors.get(i) else {
            return;
        };
        lock(&self.dropped).insert(i, format!("skipped ({e})"));
        self.warn(format!(
            "mirror {} skipped from now on: {e}",
            mirror.location
        ));
    }

    fn warn(&self, warning: String) {
        let mut warnings = lock(&self.warnings);
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
