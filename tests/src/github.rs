//! A loopback GitHub over HTTPS: the REST API (a release by tag with its `assets[]`, each
//! asset's API URL, artifact attestations by digest, paginated with a `Link` header) on one
//! server, and the CDN its asset downloads redirect to on another (another origin, as
//! GitHub's `objects.githubusercontent.com` is). Both answer from what the test publishes,
//! in GitHub's response shapes, and record every request's `Authorization` and `Accept`;
//! the CDN also counts downloads in flight at once, and can hold them until several are
//! (so a test sees whether a client downloads concurrently without timing it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use crate::error::{KitError, Result};
use crate::server::{Running, spawn};
use crate::tls::TlsMaterial;

/// The longest the CDN holds a download waiting for others (see [`GithubServer::hold_downloads`]).
const HOLD_AT_MOST: Duration = Duration::from_secs(10);

/// What a path answers.
#[derive(Debug, Clone)]
enum Route {
    /// A body.
    Body(&'static str, Vec<u8>),
    /// An asset's API URL: its JSON, or (asked for `application/octet-stream`) a redirect.
    Asset { json: Vec<u8>, location: String },
    /// Attestations, a page at a time: each entry's JSON as served, its bundle byte for byte
    /// as it was given.
    Pages(Vec<Box<RawValue>>),
}

/// An entry of the attestations list.
#[derive(Serialize)]
struct AttestationEntry<'a> {
    bundle: Option<&'a RawValue>,
    repository_id: u64,
    bundle_url: String,
}

impl AttestationEntry<'_> {
    fn raw(&self) -> Result<Box<RawValue>> {
        serde_json::value::to_raw_value(self).map_err(|e| KitError::Invalid {
            what: "attestation entry",
            detail: e.to_string(),
        })
    }
}

/// A bundle as it was given, checked to be JSON.
pub(crate) fn raw_bundle(bytes: &[u8], what: &'static str) -> Result<Box<RawValue>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| e.to_string())
        .and_then(|t| RawValue::from_string(t.trim().to_owned()).map_err(|e| e.to_string()));
    text.map_err(|detail| KitError::Invalid { what, detail })
}

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Its `Authorization` header.
    pub authorization: Option<String>,
    /// Its `Accept` header.
    pub accept: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    routes: RwLock<BTreeMap<String, Route>>,
    hits: Mutex<BTreeMap<String, Vec<Hit>>>,
    page_size: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Hold each request until this many are in flight (0: never hold).
    hold_until: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts a request in flight until dropped.
struct InFlight(Arc<State>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn start(tls: &TlsMaterial) -> Result<(Running, Arc<State>)> {
    let state = Arc::new(State {
        page_size: AtomicUsize::new(30),
        ..State::default()
    });
    let shared = state.clone();
    let running = spawn(
        move || {
            let state = shared.clone();
            App::new().default_service(web::to(move |request: HttpRequest| {
                let state = state.clone();
                async move { answer(&state, &request).await }
            }))
        },
        Some(tls),
    )?;
    Ok((running, state))
}

async fn answer(state: &Arc<State>, request: &HttpRequest) -> HttpResponse {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(state.clone());
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = request.uri().path().to_owned();
    lock(&state.hits)
        .entry(path.clone())
        .or_default()
        .push(Hit {
            authorization: header("authorization"),
            accept: header("accept"),
        });
    let hold = state.hold_until.load(Ordering::SeqCst);
    let since = Instant::now();
    while hold > 0
        && state.max_in_flight.load(Ordering::SeqCst) < hold
        && since.elapsed() < HOLD_AT_MOST
    {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    let route = state
        .routes
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&path)
        .cloned();
    match route {
        Some(Route::Body(content_type, body)) => HttpResponse::Ok()
            .insert_header(("Content-Type", content_type))
            .body(body),
        Some(Route::Asset { json, location }) => {
            if header("accept").as_deref() == Some("application/octet-stream") {
                HttpResponse::Found()
                    .insert_header(("Location", location))
                    .finish()
            } else {
                HttpResponse::Ok()
                    .insert_header(("Content-Type", "application/json"))
                    .body(json)
            }
        }
        Some(Route::Pages(all)) => {
            let size = state.page_size.load(Ordering::SeqCst).max(1);
            let query: BTreeMap<&str, &str> = request
                .query_string()
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .collect();
            let per_page = query
                .get("per_page")
                .and_then(|p| p.parse::<usize>().ok())
                .map_or(size, |p| p.clamp(1, size));
            let page = query
                .get("page")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1);
            let start = (page - 1) * per_page;
            let items: Vec<&RawValue> = all.iter().skip(start).take(per_page).map(|e| &**e).collect();
            let mut response = HttpResponse::Ok();
            response.insert_header(("Content-Type", "application/json"));
            if start + per_page < all.len() {
                let host = header("host").unwrap_or_default();
                response.insert_header((
                    "Link",
                    format!(
                        "<https://{host}{path}?per_page={per_page}&page={}>; rel=\"next\"",
                        page + 1
                    ),
                ));
            }
            #[derive(Serialize)]
            struct Page<'a> {
                attestations: Vec<&'a RawValue>,
            }
            response.body(serde_json::to_string(&Page { attestations: items }).unwrap_or_default())
        }
        None => HttpResponse::NotFound()
            .content_type("application/json")
            .body(
                r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}"#,
            ),
    }
}

/// GitHub's REST API and its download CDN, each a loopback HTTPS server.
#[derive(Debug)]
pub struct GithubServer {
    api: Running,
    api_state: Arc<State>,
    cdn: Running,
    cdn_state: Arc<State>,
    next_asset: AtomicUsize,
}

/// A release asset to publish.
#[derive(Debug, Clone)]
pub struct GithubAsset<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// List its `digest` (`sha256:<hex>`), as releases since mid-2025 do.
    pub digest: bool,
    /// Its artifact attestations, as Sigstore bundle JSON (none: the attestations API
    /// answers 404 for its digest).
    pub attestations: Vec<Vec<u8>>,
}

/// What [`GithubServer::publish_release`] serves (paths, without the server's URL).
#[derive(Debug, Clone)]
pub struct GithubPaths {
    /// The release by tag, on the API.
    pub release: String,
    /// Each asset's API URL path, by name.
    pub assets: BTreeMap<String, String>,
    /// Each asset's download path on the CDN, by name.
    pub downloads: BTreeMap<String, String>,
    /// Each asset's attestations path (by its SHA-256) on the API, by name.
    pub attestations: BTreeMap<String, String>,
}

impl GithubServer {
    /// Starts an empty API and CDN over HTTPS with `tls`'s certificate.
    pub fn start_https(tls: &TlsMaterial) -> Result<Self> {
        let (api, api_state) = start(tls)?;
        let (cdn, cdn_state) = start(tls)?;
        Ok(Self {
            api,
            api_state,
            cdn,
            cdn_state,
            next_asset: AtomicUsize::new(1000),
        })
    }

    /// The API's base URL, `https://127.0.0.1:PORT`.
    pub fn api_url(&self) -> &str {
        &self.api.url
    }

    /// The CDN's base URL (another port: another origin).
    pub fn cdn_url(&self) -> &str {
        &self.cdn.url
    }

    /// Publishes a release of `owner/repo` at `tag` with `assets`: the release document, each
    /// asset's API URL (redirecting downloads to the CDN), its bytes on the CDN, and its
    /// attestations by digest.
    pub fn publish_release(
        &self,
        owner: &str,
        repo: &str,
        tag: &str,
        assets: &[GithubAsset<'_>],
    ) -> Result<GithubPaths> {
        let api = self.api_url();
        let mut listed = Vec::new();
        let mut paths = GithubPaths {
            release: format!("/repos/{owner}/{repo}/releases/tags/{tag}"),
            assets: BTreeMap::new(),
            downloads: BTreeMap::new(),
            attestations: BTreeMap::new(),
        };
        for asset in assets {
            let id = self.next_asset.fetch_add(1, Ordering::SeqCst);
            let hex = hex::encode(Sha256::digest(asset.bytes));
            let api_path = format!("/repos/{owner}/{repo}/releases/assets/{id}");
            let download = format!("/github-production-release-asset/{id}/{}", asset.name);
            let mut entry = json!({
                "url": format!("{api}{api_path}"),
                "id": id,
                "node_id": format!("RA_kit{id}"),
                "name": asset.name,
                "label": "",
                "content_type": "application/octet-stream",
                "state": "uploaded",
                "size": asset.bytes.len(),
                "download_count": 0,
                "created_at": "2026-01-15T12:00:00Z",
                "updated_at": "2026-01-15T12:00:00Z",
                "browser_download_url": format!("{api}/{owner}/{repo}/releases/download/{tag}/{}", asset.name),
            });
            if asset.digest {
                entry["digest"] = format!("sha256:{hex}").into();
            }
            self.put_api(
                &api_path,
                Route::Asset {
                    json: entry.to_string().into_bytes(),
                    location: format!("{}{download}?X-Kit-Signature=abc", self.cdn_url()),
                },
            );
            self.put_download(&download, asset.bytes.to_vec());
            let attestations_path = format!("/repos/{owner}/{repo}/attestations/sha256:{hex}");
            if !asset.attestations.is_empty() {
                self.set_attestations(&attestations_path, &asset.attestations)?;
            }
            paths.assets.insert(asset.name.to_owned(), api_path);
            paths.downloads.insert(asset.name.to_owned(), download);
            paths
                .attestations
                .insert(asset.name.to_owned(), attestations_path);
            listed.push(entry);
        }
        let release = json!({
            "url": format!("{api}/repos/{owner}/{repo}/releases/1"),
            "id": 1,
            "tag_name": tag,
            "target_commitish": "main",
            "name": tag,
            "draft": false,
            "prerelease": false,
            "created_at": "2026-01-15T12:00:00Z",
            "published_at": "2026-01-15T12:00:00Z",
            "assets": listed,
        });
        self.put_api(
            &paths.release,
            Route::Body("application/json", release.to_string().into_bytes()),
        );
        Ok(paths)
    }

    /// Serves `bundles` (Sigstore bundle JSON) as the attestations at `path` (an
    /// attestations path from [`GithubPaths`]).
    pub fn set_attestations(&self, path: &str, bundles: &[Vec<u8>]) -> Result<()> {
        let entries = bundles
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let bundle = raw_bundle(b, "attestation bundle")?;
                AttestationEntry {
                    bundle: Some(&bundle),
                    repository_id: 7,
                    bundle_url: format!("https://kit.invalid/attestations/{i}.snappy"),
                }
                .raw()
            })
            .collect::<Result<Vec<_>>>()?;
        self.put_api(path, Route::Pages(entries));
        Ok(())
    }

    /// As [`GithubServer::set_attestations`], each entry giving its bundle only by
    /// `bundle_url`: snappy-compressed (raw block format) on the CDN, as GitHub's storage
    /// serves them; `garbage` serves bytes that are not snappy instead.
    pub fn set_attestations_by_url(
        &self,
        path: &str,
        bundles: &[Vec<u8>],
        garbage: bool,
    ) -> Result<()> {
        let entries = bundles
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let stored = format!("/attestation-bundles{path}/{i}.snappy");
                let compressed = if garbage {
                    b"\xff\xff\xff\xff\xff not snappy".to_vec()
                } else {
                    snap::raw::Encoder::new()
                        .compress_vec(b)
                        .map_err(|e| KitError::Invalid {
                            what: "attestation bundle",
                            detail: e.to_string(),
                        })?
                };
                self.put_download(&stored, compressed);
                AttestationEntry {
                    bundle: None,
                    repository_id: 7,
                    bundle_url: format!("{}{stored}", self.cdn_url()),
                }
                .raw()
            })
            .collect::<Result<Vec<_>>>()?;
        self.put_api(path, Route::Pages(entries));
        Ok(())
    }

    /// Stops serving `path` on the API (404 from now on).
    pub fn remove_api(&self, path: &str) {
        self.api_state
            .routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(path);
    }

    /// Serves `bytes` at `path` on the CDN (e.g. an asset swapped after it was published).
    pub fn put_download(&self, path: &str, bytes: Vec<u8>) {
        self.cdn_state
            .routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                path.to_owned(),
                Route::Body("application/octet-stream", bytes),
            );
    }

    fn put_api(&self, path: &str, route: Route) {
        self.api_state
            .routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_owned(), route);
    }

    /// Attestations per page at most (GitHub's default is 30).
    pub fn set_page_size(&self, size: usize) {
        self.api_state.page_size.store(size, Ordering::SeqCst);
    }

    /// Holds every CDN download until `n` have been in flight at once (or 10 s passed):
    /// a client downloading `n` or more at a time passes at once.
    pub fn hold_downloads(&self, n: usize) {
        self.cdn_state.hold_until.store(n, Ordering::SeqCst);
    }

    /// The most CDN downloads in flight at once so far.
    pub fn max_downloads_in_flight(&self) -> usize {
        self.cdn_state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests the API received for `path`.
    pub fn api_hits(&self, path: &str) -> Vec<Hit> {
        lock(&self.api_state.hits)
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    /// Requests the CDN received for `path`.
    pub fn cdn_hits(&self, path: &str) -> Vec<Hit> {
        lock(&self.cdn_state.hits)
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}
