//! `url = "https://…"` sources: a plain file and, with `bundle_url`, the Sigstore bundle
//! published beside it, both over HTTPS with bounded sizes. The file streams into the
//! content-addressed store (`--cache`, else the work folder), hashed as it arrives and named
//! by what it hashed to; a `sha256` pin must match, and with one a file the cache holds is
//! not fetched again. The bundle becomes the file's signature evidence. Nothing fetched is
//! trusted: `create` packs only what it hashed, and preflight verifies the bundle.

use std::io::Read;

use airlock_trust_root::MAX_BUNDLE_SIZE;
use serde::Serialize;
use url::Url;

use super::error::Problem;
use super::store::BlobStore;
use crate::archive::Sha256Digest;
use crate::fetch::{FetchError, HttpClient};
use crate::progress::Progress;

/// The largest file a `url` source may be.
pub const MAX_URL_FILE: u64 = 64 << 30;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;

/// One `url` source to download.
#[derive(Debug, Clone, Serialize)]
pub struct UrlRequest {
    /// The artifact's name.
    pub name: String,
    /// The file.
    pub url: Url,
    /// Its Sigstore bundle, if published beside it.
    pub bundle_url: Option<Url>,
    /// The digest it must have, if pinned.
    pub sha256: Option<Sha256Digest>,
}

/// A file downloaded into the store: a file `create` packs, as pulled images' are.
pub type Downloaded = super::PulledFile;

/// A `url` source downloaded: the file and its bundle, in the store.
#[derive(Debug, Clone)]
pub struct CollectedUrl {
    /// What was asked for.
    pub request: UrlRequest,
    /// The file.
    pub file: Downloaded,
    /// Its bundle.
    pub bundle: Option<Downloaded>,
    /// Bytes downloaded now (0 when the cache held the pinned file).
    pub fetched_bytes: u64,
}

/// Downloads every `url` source into `cache` (or `work_dir/store`). Fails on the first
/// that cannot be downloaded, naming its URL.
pub fn download_urls(
    requests: &[UrlRequest],
    client: &HttpClient,
    cache: Option<&std::path::Path>,
    work_dir: &std::path::Path,
    progress: &dyn Progress,
) -> Result<Vec<CollectedUrl>, UrlError> {
    let root = cache.map_or_else(|| work_dir.join("store"), std::path::Path::to_owned);
    let store = BlobStore::open(&root).map_err(|problem| UrlError {
        url: "(cache)".into(),
        problem,
    })?;
    requests
        .iter()
        .map(|request| {
            let at = |url: &Url| {
                let url = url.to_string();
                move |problem| UrlError { url, problem }
            };
            let (file, fetched_bytes) =
                download_file(client, &store, request, progress).map_err(at(&request.url))?;
            let bundle = match &request.bundle_url {
                Some(url) => Some(download_bundle(client, &store, url).map_err(at(url))?),
                None => None,
            };
            Ok(CollectedUrl {
                request: request.clone(),
                file,
                bundle,
                fetched_bytes,
            })
        })
        .collect()
}

/// Why a `url` source could not be downloaded.
#[derive(Debug, thiserror::Error)]
#[error("download {url}: {problem}")]
pub struct UrlError {
    /// The URL.
    pub url: String,
    /// What went wrong.
    pub problem: Problem,
}

fn download_file(
    client: &HttpClient,
    store: &BlobStore,
    request: &UrlRequest,
    progress: &dyn Progress,
) -> Result<(Downloaded, u64), Problem> {
    if let Some(pin) = &request.sha256
        && let Ok(meta) = std::fs::metadata(store.path(pin))
        && store.holds(pin, meta.len())
    {
        drop(progress.source(&request.name, 0));
        let file = Downloaded {
            path: store.path(pin),
            digest: *pin,
            written: None,
        };
        return Ok((file, 0));
    }
    let url = request.url.as_str();
    crate::fetch::require_https(&request.url)?;
    let response = client
        .agent()
        .get(url)
        .call()
        .map_err(|e| crate::fetch::classify(&request.url, e))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status,
        }
        .into());
    }
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let source = progress.source(&request.name, length.unwrap_or(0));
    let mut partial = store.partial()?;
    let mut reader = response.into_body().into_reader().take(MAX_URL_FILE + 1);
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = reader
            .read(&mut buffer)
            .map_err(|e| FetchError::Transport {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        if n == 0 {
            break;
        }
        partial.write(&buffer[..n])?;
        source.set(partial.size());
        if partial.size() > MAX_URL_FILE {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                limit: MAX_URL_FILE,
            }
            .into());
        }
    }
    let size = partial.size();
    let (digest, written) = partial.finish_found(store, request.sha256.as_ref(), "file")?;
    let file = Downloaded {
        path: store.path(&digest),
        digest,
        written: Some(written),
    };
    Ok((file, size))
}

fn download_bundle(
    client: &HttpClient,
    store: &BlobStore,
    url: &Url,
) -> Result<Downloaded, Problem> {
    let bytes = client.get_existing(url, MAX_BUNDLE_SIZE as u64)?;
    let digest = Sha256Digest::of(&bytes);
    let written = store.put(&digest, &bytes)?;
    Ok(Downloaded {
        path: store.path(&digest),
        digest,
        written: Some(written),
    })
}
