//! Collecting artifacts and their evidence straight from where they are published: OCI
//! images from registries (`image = "registry/repository@sha256:…"` in `bundle.toml`), plain
//! files over HTTPS with the bundle beside them (`url = …`, `download.rs`), npm package
//! versions (`npm = "name@version"`), PyPI release files (`pypi = "project==version"`) and
//! GitHub release assets (`github = "owner/repo@tag"`, see `package.rs` and `github.rs`),
//! each ending in the same `Collected…` shape: files on disk with their digests, evidence
//! with where it came from.
//!
//! For an image: a tag is resolved to a digest once, at the registry itself (and checked
//! again at the end: a tag that moved meanwhile is an error); manifests and blobs by digest
//! come from the registry's mirrors first, if it has any (`mirror.rs`); the manifest or index is walked down to every config and
//! layer (`platforms` selects from an index); referrers and cosign's legacy `.sig`/`.att`
//! tags give the evidence; blobs stream into
//! a content-addressed store (the `--cache` folder, or a work folder), each hashed as it
//! arrives and kept only if it is what was asked for, several at a time. Nothing collected is
//! trusted: `create` hashes what it packs and preflight verifies every bundle, as for local
//! inputs.
//!
//! The public interface is:

mod auth;
mod cosign;
mod download;
mod error;
mod github;
mod image;
mod metadata;
mod mirror;
mod npm;
mod package;
mod pypi;
mod reference;
mod referrers;
mod registry;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::Serialize;

pub use auth::default_auth_file;
pub use cosign::{
    BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, DSSE_ENVELOPE_MEDIA_TYPE,
    LEGACY_BUNDLE_MEDIA_TYPE, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE,
    TIMESTAMP_ANNOTATION,
};
pub use download::{CollectedUrl, Downloaded, MAX_URL_FILE, UrlError, UrlRequest, download_urls};
pub use error::{CollectError, PackageError, Problem};
pub use github::{DEFAULT_GITHUB_API, GithubRelease};
pub use metadata::{
    FileSelect, NpmPackage, PlannedPackageEvidence, PypiRelease, SLSA_PROVENANCE_PREDICATES,
};
pub use package::{
    CollectedPackage, DEFAULT_MAX_PACKAGE_SIZE, DEFAULT_NPM_REGISTRY, DEFAULT_PYPI_INDEX,
    PackageIndexes, PackagePlan, PackageRequest, PackageSource, PlannedPackageFile,
    PulledPackageEvidence,
};
pub use pypi::BUNDLE_V03_MEDIA_TYPE;
pub use reference::{ImageReference, MirrorLocation, Pin};
pub use referrers::{
    COSIGN_SIGN_PREDICATE, Discovery, EvidenceKind, SBOM_TYPES, SIGSTORE_BUNDLE_TYPES,
};
pub use store::Written;

use self::image::{BlobRef, Held, Walked};
use self::mirror::{Endpoints, Mirror};
use self::referrers::{Found, Outcome};
use self::registry::Registry;
use self::store::BlobStore;
use crate::archive::{RelativePath, Sha256Digest};
use crate::fetch::HttpClient;
use crate::pause::pause_at;
use crate::progress::{Progress, SourceProgress};

/// Downloads at once, by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How to collect.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The content-addressed cache folder (`create --cache`): blobs held there are not
    /// fetched again, and everything fetched is kept there.
    pub cache: Option<PathBuf>,
    /// The container auth file to take registry credentials from.
    pub auth_file: Option<PathBuf>,
    /// Pack an image no Sigstore bundle refers to (flagged) instead of failing.
    pub allow_unsigned: bool,
    /// Downloads at once (at least 1).
    pub concurrency: usize,
    /// The largest npm tarball, PyPI file or GitHub release asset downloaded
    /// (`create --max-package-size`).
    pub max_package_size: u64,
    /// The GitHub REST API to ask (`create --github-api`; else the spec's `[github] api`,
    /// else [`DEFAULT_GITHUB_API`]).
    pub github_api: Option<url::Url>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            cache: None,
            auth_file: None,
            allow_unsigned: false,
            concurrency: DEFAULT_CONCURRENCY,
            max_package_size: DEFAULT_MAX_PACKAGE_SIZE,
            github_api: None,
        }
    }
}

/// Extra CA certificates: for every HTTPS connection, and per registry host.
#[derive(Debug, Clone, Default)]
pub struct RegistryAccess {
    /// PEM trusted for every connection (`create --ca-file`).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// PEM trusted for one registry, by its name as images write it (`[[registry]]`), or
    /// for one mirror, by its host.
    pub per_registry: BTreeMap<String, Vec<u8>>,
    /// Mirrors of a registry, by its name as images write it, in the order they are tried.
    pub mirrors: BTreeMap<String, Vec<MirrorLocation>>,
}

/// One image to collect.
#[derive(Debug, Clone)]
pub struct ImageRequest {
    /// The artifact's name.
    pub name: String,
    /// The image.
    pub reference: ImageReference,
    /// Platforms to take from an index (empty: all of it).
    pub platforms: Vec<String>,
    /// Sigstore bundles the spec lists for it from files (with any, finding none in the
    /// registry is not an error).
    pub local_bundles: usize,
}

/// What an image is and what would be (or was) fetched for it: `create --dry-run` prints
/// this, `create` records it in its output.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePlan {
    /// The artifact's name.
    pub name: String,
    /// The image as the spec names it.
    pub source: String,
    /// The registry and repository.
    pub registry: String,
    /// The repository.
    pub repository: String,
    /// The tag resolved (once) to `resolved`, if the spec named a tag.
    pub tag: Option<String>,
    /// What the tag named (an index when `digest` is one platform's manifest).
    pub resolved: Sha256Digest,
    /// What is packed and what signatures must cover.
    pub digest: Sha256Digest,
    /// Its media type.
    pub media_type: String,
    /// The platforms packed.
    pub platforms: Vec<String>,
    /// Every manifest, config and layer.
    pub blobs: Vec<PlannedBlob>,
    /// How referrers were listed.
    pub discovery: Discovery,
    /// Every referrer found.
    pub referrers: Vec<PlannedReferrer>,
    /// No Sigstore bundle refers to the image (packed only with `--allow-unsigned`).
    pub unsigned: bool,
    /// Mirrors passed over (and why), or the registry unreachable for listings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A blob of the image.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedBlob {
    /// Its digest.
    pub digest: Sha256Digest,
    /// Its size.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
    /// Already in the cache (not fetched).
    pub held: bool,
    /// Where it was fetched from: the registry's name, or a mirror's location (`None`:
    /// not fetched, or not yet).
    pub from: Option<String>,
}

/// A referrer and what it gives.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedReferrer {
    /// The referrer manifest's digest (or the cosign legacy tag's manifest's).
    pub referrer: Sha256Digest,
    /// The cosign legacy tag it was found under (`sha256-<hex>.sig` or `.att`), if it is
    /// not a referrer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Its artifact type (a legacy layer's media type).
    pub artifact_type: String,
    /// Where its content goes (`None`: ignored).
    pub kind: Option<EvidenceKind>,
    /// The bundle or SBOM blob (for a legacy layer, the bundle made from it).
    pub blob: Option<Sha256Digest>,
    /// The payload a signed-payload bundle signs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Sha256Digest>,
    /// Its size.
    pub size: Option<u64>,
    /// The signer the bundle names, unverified (SAN and issuer, or key hint).
    pub signer: Option<String>,
    /// A DSSE bundle's predicate type.
    pub predicate_type: Option<String>,
    /// Why it is not used.
    pub ignored: Option<String>,
    /// Where its manifest and content were fetched from (the registry's name, or a mirror's
    /// location), when they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl ImagePlan {
    /// Bytes to fetch (blobs not held).
    pub fn bytes_to_fetch(&self) -> u64 {
        self.blobs.iter().filter(|b| !b.held).map(|b| b.size).sum()
    }
}

/// A file `create` packs, pulled or written here.
#[derive(Debug, Clone)]
pub struct PulledFile {
    /// Where it is.
    pub path: PathBuf,
    /// The digest it must have.
    pub digest: Sha256Digest,
    /// Its size and XXH3, when it was hashed as it was written now (else `create` hashes it,
    /// and it must still hash to `digest`).
    pub written: Option<Written>,
}

/// A piece of evidence pulled, and where it came from.
#[derive(Debug, Clone)]
pub struct PulledEvidence {
    /// Bundle, attestation, SBOM or signed payload.
    pub kind: EvidenceKind,
    /// The file (for a signed payload, its bundle).
    pub file: PulledFile,
    /// The payload a signed-payload bundle signs.
    pub payload: Option<PulledFile>,
    /// The referrer manifest it came from.
    pub referrer: Sha256Digest,
    /// Where it came from, for people: `referrer sha256:…`, or `tag sha256-<hex>.sig`.
    pub origin: String,
}

impl PulledEvidence {
    /// Its files: the evidence, and the payload it signs, if any.
    pub fn files(&self) -> impl Iterator<Item = &PulledFile> {
        std::iter::once(&self.file).chain(&self.payload)
    }
}

/// A collected image: its layout's files and its evidence, on disk.
#[derive(Debug, Clone)]
pub struct CollectedImage {
    /// What was planned and done.
    pub plan: ImagePlan,
    /// The folder holding its `oci-layout` and `index.json`.
    pub layout: PathBuf,
    /// The layout's files: `oci-layout`, `index.json`, `blobs/sha256/<hex>` (sorted).
    pub files: Vec<(RelativePath, PulledFile)>,
    /// Its evidence.
    pub evidence: Vec<PulledEvidence>,
    /// Blobs downloaded now, and their bytes.
    pub fetched_blobs: usize,
    /// Bytes downloaded now.
    pub fetched_bytes: u64,
}

/// Resolves and lists every image, its blobs and its referrers (reading bundles to name
/// their signers) without writing anything: `create --dry-run`.
pub fn survey(
    requests: &[ImageRequest],
    access: &RegistryAccess,
    options: &CollectOptions,
) -> Result<Vec<ImagePlan>, CollectError> {
    let clients = Clients::new(access);
    let cache = options.cache.as_deref().map(BlobStore::existing);
    requests
        .iter()
        .map(|request| {
            let source = request.reference.to_string();
            let puller = Puller::new(request, &clients, options, cache.clone())
                .map_err(|p| p.at(&source))?;
            let planned = plan(request, &puller).map_err(|p| p.at(&source))?;
            let mut plan = planned.plan;
            puller.record_sources(&mut plan);
            Ok(plan)
        })
        .collect()
}

/// Pulls every image into the cache (or `work_dir`) and writes each one's layout folder
/// under `work_dir`. Fails on the first image that cannot be collected.
pub fn collect(
    requests: &[ImageRequest],
    access: &RegistryAccess,
    options: &CollectOptions,
    work_dir: &Path,
    progress: &dyn Progress,
) -> Result<Vec<CollectedImage>, CollectError> {
    let clients = Clients::new(access);
    let root = options
        .cache
        .clone()
        .unwrap_or_else(|| work_dir.join("store"));
    let store = BlobStore::open(&root).map_err(|p| p.at("(cache)"))?;
    let mut planned = Vec::new();
    for request in requests {
        let source = request.reference.to_string();
        progress.phase(&format!("resolve {}", request.name), 0);
        let puller = Puller::new(request, &clients, options, Some(store.clone()))
            .map_err(|p| p.at(&source))?;
        let p = plan(request, &puller).map_err(|p| p.at(&source))?;
        if p.plan.unsigned && !options.allow_unsigned {
            return Err(Problem::NoSignature {
                digest: p.plan.digest,
                discovery: p.plan.discovery.to_string(),
            }
            .at(&source));
        }
        planned.push((puller, p));
    }
    pause_at("collect-resolved");
    let mut out = Vec::new();
    for (i, (puller, p)) in planned.into_iter().enumerate() {
        let source = p.plan.source.clone();
        let layout = work_dir.join(format!("layout-{i}"));
        let image =
            pull(&puller, p, &store, &layout, options, progress).map_err(|e| e.at(&source))?;
        out.push(image);
    }
    Ok(out)
}

/// Reads every package's registry metadata and evidence (naming the bundles' signers)
/// without writing anything: `create --dry-run`.
pub fn survey_packages(
    requests: &[PackageRequest],
    indexes: &PackageIndexes,
    access: &RegistryAccess,
    options: &CollectOptions,
) -> Result<Vec<PackagePlan>, PackageError> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let client = package_client(access)?;
    let cache = options.cache.as_deref().map(BlobStore::existing);
    package::survey_all(
        requests,
        &client,
        indexes,
        cache.as_ref(),
        options.concurrency,
    )
}

/// Downloads every package file (each checked against the digest its registry names) and
/// its Sigstore bundles into the cache (or `work_dir`), `options.concurrency` at a time.
/// Fails on the first package that cannot be collected, and before any download if one has
/// no signature (unless `allow_unsigned`).
pub fn collect_packages(
    requests: &[PackageRequest],
    indexes: &PackageIndexes,
    access: &RegistryAccess,
    options: &CollectOptions,
    work_dir: &Path,
    progress: &dyn Progress,
) -> Result<Vec<CollectedPackage>, PackageError> {
    let client = package_client(access)?;
    let root = options
        .cache
        .clone()
        .unwrap_or_else(|| work_dir.join("store"));
    let store = BlobStore::open(&root).map_err(|p| p.for_package("(cache)"))?;
    package::collect_all(requests, &client, indexes, &store, options, progress)
}

fn package_client(access: &RegistryAccess) -> Result<HttpClient, PackageError> {
    HttpClient::new(access.extra_ca_pem.as_deref())
        .map_err(|e| Problem::Fetch(e).for_package("(package registries)"))
}

/// One HTTPS client per registry (its own extra CA, if any).
struct Clients<'a> {
    access: &'a RegistryAccess,
    made: Mutex<BTreeMap<String, (HttpClient, HttpClient)>>,
}

impl<'a> Clients<'a> {
    fn new(access: &'a RegistryAccess) -> Self {
        Self {
            access,
            made: Mutex::new(BTreeMap::new()),
        }
    }

    /// The client for `registry`, and another for its token service.
    fn for_registry(&self, registry: &str) -> Result<(HttpClient, HttpClient), Problem> {
        let mut made = lock(&self.made);
        if let Some(clients) = made.get(registry) {
            return Ok(clients.clone());
        }
        let mut pem = self.access.extra_ca_pem.clone().unwrap_or_default();
        if let Some(own) = self.access.per_registry.get(registry) {
            pem.push(b'\n');
            pem.extend_from_slice(own);
        }
        let pem = (!pem.is_empty()).then_some(&pem[..]);
        let clients = (HttpClient::new(pem)?, HttpClient::new(pem)?);
        made.insert(registry.to_owned(), clients.clone());
        Ok(clients)
    }
}

/// Reads an image's documents and small blobs: from the store when it holds them, else from
/// the registry (counted).
struct Puller {
    endpoints: Endpoints,
    store: Option<BlobStore>,
    fetched_documents: AtomicUsize,
}

impl Puller {
    fn new(
        request: &ImageRequest,
        clients: &Clients<'_>,
        options: &CollectOptions,
        store: Option<BlobStore>,
    ) -> Result<Self, Problem> {
        let reference = &request.reference;
        let credentials = |host: &str| match &options.auth_file {
            Some(file) => auth::credentials_for(file, host).map_err(Problem::Config),
            None => Ok(None),
        };
        let (client, token_client) = clients.for_registry(reference.registry())?;
        let origin = Registry::new(
            reference.registry(),
            reference.api_host(),
            reference.repository(),
            &client,
            &token_client,
            credentials(reference.registry())?,
        )?;
        let locations = clients.access.mirrors.get(reference.registry());
        let mut mirrors = Vec::new();
        for location in locations.into_iter().flatten() {
            let (client, token_client) = clients.for_registry(location.host())?;
            mirrors.push(Mirror {
                location: location.to_string(),
                registry: Registry::new(
                    location.host(),
                    location.host(),
                    &location.repository(reference.repository()),
                    &client,
                    &token_client,
                    credentials(location.host())?,
                )?,
            });
        }
        Ok(Self {
            endpoints: Endpoints::new(origin, mirrors),
            store,
            fetched_documents: AtomicUsize::new(0),
        })
    }

    /// Notes in `plan` where each blob and referrer was fetched from, and the warnings.
    fn record_sources(&self, plan: &mut ImagePlan) {
        let from = |d: &Sha256Digest| self.endpoints.served_by(d);
        for blob in &mut plan.blobs {
            blob.from = from(&blob.digest);
        }
        for r in &mut plan.referrers {
            r.from = r
                .blob
                .as_ref()
                .and_then(from)
                .or_else(|| r.payload.as_ref().and_then(from))
                .or_else(|| from(&r.referrer));
        }
        plan.warnings = self.endpoints.warnings();
    }
}

impl referrers::Source for Puller {
    fn referrers(&self, digest: &Sha256Digest) -> Result<Option<Vec<u8>>, Problem> {
        self.endpoints.listing(|r| r.referrers(digest))
    }

    fn tagged(&self, tag: &str) -> Result<Option<registry::FetchedManifest>, Problem> {
        self.endpoints.listing(|r| r.manifest_at(tag, None))
    }

    fn document(&self, digest: &Sha256Digest) -> Result<image::Served, Problem> {
        if let Some(bytes) = self
            .store
            .as_ref()
            .and_then(|s| s.read(digest, registry::MAX_MANIFEST))
        {
            return Ok((bytes, None));
        }
        self.fetched_documents.fetch_add(1, Ordering::Relaxed);
        let fetched = self.endpoints.manifest(digest)?;
        Ok((fetched.bytes, fetched.content_type))
    }

    fn small_blob(&self, digest: &Sha256Digest, limit: u64) -> Result<Vec<u8>, Problem> {
        if let Some(bytes) = self.store.as_ref().and_then(|s| s.read(digest, limit)) {
            return Ok(bytes);
        }
        self.endpoints.small_blob(digest, limit)
    }
}

/// An image resolved and walked, its referrers sorted.
struct Planned {
    plan: ImagePlan,
    walked: Walked,
    found: Vec<Found>,
    /// The tag to resolve again once everything is pulled (it must not have moved).
    recheck: Option<String>,
}

fn plan(request: &ImageRequest, puller: &Puller) -> Result<Planned, Problem> {
    use referrers::Source as _;
    let reference = &request.reference;
    let registry = puller.endpoints.origin();
    let (resolved, tag, prefetched, recheck) = match reference.pin() {
        Pin::Digest { digest, tag } => (*digest, tag.clone(), None, None),
        Pin::Tag(tag) => match registry.resolve_tag(tag)? {
            Some((digest, fetched)) => (digest, Some(tag.clone()), fetched, Some(tag.clone())),
            None => {
                return Err(Problem::NotFound {
                    what: format!("tag {tag}"),
                    registry: registry.name().to_owned(),
                    repository: registry.repository().to_owned(),
                });
            }
        },
    };
    let (bytes, content_type) = match prefetched {
        Some(fetched) => (fetched.bytes, fetched.content_type),
        None => puller.document(&resolved)?,
    };
    let walked = image::walk(
        Held {
            digest: resolved,
            bytes,
        },
        content_type.as_deref(),
        &request.platforms,
        &mut |d| puller.document(d),
    )?;
    let (discovery, mut found) = referrers::discover(puller, &walked.digest)?;
    found.extend(cosign::discover(puller, &walked.digest)?);
    let held =
        |d: &Sha256Digest, size: u64| puller.store.as_ref().is_some_and(|s| s.holds(d, size));
    let mut blobs: Vec<PlannedBlob> = walked
        .documents
        .iter()
        .map(|d| PlannedBlob {
            digest: d.digest,
            size: d.bytes.len() as u64,
            media_type: d.media_type.clone(),
            held: held(&d.digest, d.bytes.len() as u64),
            from: None,
        })
        .collect();
    blobs.extend(walked.blobs.iter().map(|b| PlannedBlob {
        digest: b.digest,
        size: b.size,
        media_type: b.media_type.clone(),
        held: held(&b.digest, b.size),
        from: None,
    }));
    let referrers: Vec<PlannedReferrer> = found
        .iter()
        .map(|f| match &f.outcome {
            Outcome::Evidence {
                kind,
                blob,
                signer,
                predicate_type,
                payload,
                ..
            } => PlannedReferrer {
                referrer: f.referrer,
                tag: f.tag.clone(),
                artifact_type: f.artifact_type.clone(),
                kind: Some(*kind),
                blob: Some(blob.digest),
                payload: payload.as_ref().map(|p| p.digest),
                size: Some(blob.size),
                signer: signer.clone(),
                predicate_type: predicate_type.clone(),
                ignored: None,
                from: None,
            },
            Outcome::Ignored(why) => PlannedReferrer {
                referrer: f.referrer,
                tag: f.tag.clone(),
                artifact_type: f.artifact_type.clone(),
                kind: None,
                blob: None,
                payload: None,
                size: None,
                signer: None,
                predicate_type: None,
                ignored: Some(why.clone()),
                from: None,
            },
        })
        .collect();
    let unsigned = request.local_bundles == 0
        && !referrers.iter().any(|r| {
            matches!(
                r.kind,
                Some(EvidenceKind::Bundle | EvidenceKind::SignedPayload)
            )
        });
    let plan = ImagePlan {
        name: request.name.clone(),
        source: reference.to_string(),
        registry: reference.registry().to_owned(),
        repository: reference.repository().to_owned(),
        tag,
        resolved,
        digest: walked.digest,
        media_type: walked.media_type.clone(),
        platforms: walked.platforms.clone(),
        blobs,
        discovery,
        referrers,
        unsigned,
        warnings: Vec::new(),
    };
    Ok(Planned {
        plan,
        walked,
        found,
        recheck,
    })
}

/// Stores what planning read, downloads the rest, checks the tag did not move, and writes
/// the layout folder.
fn pull(
    puller: &Puller,
    planned: Planned,
    store: &BlobStore,
    layout: &Path,
    options: &CollectOptions,
    progress: &dyn Progress,
) -> Result<CollectedImage, Problem> {
    let Planned {
        mut plan,
        walked,
        found,
        recheck,
    } = planned;
    let mut written: BTreeMap<Sha256Digest, Written> = BTreeMap::new();
    let keep = |written: &mut BTreeMap<Sha256Digest, Written>,
                digest: &Sha256Digest,
                bytes: &[u8]|
     -> Result<(), Problem> {
        if !store.holds(digest, bytes.len() as u64) {
            written.insert(*digest, store.put(digest, bytes)?);
        }
        Ok(())
    };
    for document in &walked.documents {
        keep(&mut written, &document.digest, &document.bytes)?;
    }
    let mut evidence = Vec::new();
    let mut downloads: Vec<BlobRef> = walked.blobs.clone();
    for f in &found {
        let Outcome::Evidence {
            kind,
            manifest,
            blob,
            bytes,
            payload,
            ..
        } = &f.outcome
        else {
            continue;
        };
        keep(&mut written, &manifest.digest, &manifest.bytes)?;
        match bytes {
            Some(bytes) => keep(&mut written, &blob.digest, bytes)?,
            None => downloads.push(blob.clone()),
        }
        if let Some(payload) = payload {
            keep(&mut written, &payload.digest, &payload.bytes)?;
        }
        let origin = match &f.tag {
            Some(tag) => format!("tag {tag}"),
            None => format!("referrer {}", f.referrer),
        };
        evidence.push((
            *kind,
            blob.digest,
            payload.as_ref().map(|p| p.digest),
            f.referrer,
            origin,
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    downloads.retain(|b| seen.insert(b.digest) && !store.holds(&b.digest, b.size));
    let fetched_bytes: u64 = downloads.iter().map(|b| b.size).sum();
    let source = progress.source(&plan.name, fetched_bytes);
    let pulled = download(
        &puller.endpoints,
        &downloads,
        store,
        options.concurrency,
        &*source,
    )?;
    drop(source);
    let fetched_blobs = pulled.len();
    written.extend(pulled);

    if let Some(tag) = &recheck {
        let now = puller.endpoints.origin().resolve_tag(tag)?;
        let now_digest = now.as_ref().map(|(d, _)| *d);
        if now_digest != Some(plan.resolved) {
            return Err(Problem::TagMoved {
                tag: tag.clone(),
                resolved: plan.resolved,
                now: now_digest.map_or_else(|| "none".to_owned(), |d| d.to_string()),
            });
        }
    }

    std::fs::create_dir_all(layout).map_err(Problem::io(layout))?;
    let oci_layout = layout.join("oci-layout");
    std::fs::write(&oci_layout, br#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(Problem::io(&oci_layout))?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": plan.media_type,
            "digest": plan.digest.to_string(),
            "size": walked.size,
        }],
    });
    let index_path = layout.join("index.json");
    let index_bytes = index.to_string().into_bytes();
    std::fs::write(&index_path, &index_bytes).map_err(Problem::io(&index_path))?;

    let file = |digest: &Sha256Digest| PulledFile {
        path: store.path(digest),
        digest: *digest,
        written: written.get(digest).copied(),
    };
    let relative = |p: &str| {
        RelativePath::new(p).map_err(|reason| Problem::Malformed {
            what: p.to_owned(),
            reason,
        })
    };
    let mut files = vec![
        (
            relative("oci-layout")?,
            PulledFile {
                path: oci_layout,
                digest: Sha256Digest::of(br#"{"imageLayoutVersion":"1.0.0"}"#),
                written: None,
            },
        ),
        (
            relative("index.json")?,
            PulledFile {
                path: index_path,
                digest: Sha256Digest::of(&index_bytes),
                written: None,
            },
        ),
    ];
    let mut digests: Vec<Sha256Digest> = walked.documents.iter().map(|d| d.digest).collect();
    digests.extend(walked.blobs.iter().map(|b| b.digest));
    digests.sort();
    digests.dedup();
    for digest in &digests {
        files.push((
            relative(&format!("blobs/sha256/{}", digest.hex()))?,
            file(digest),
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    puller.record_sources(&mut plan);
    let evidence = evidence
        .into_iter()
        .map(|(kind, digest, payload, referrer, origin)| PulledEvidence {
            kind,
            file: file(&digest),
            payload: payload.map(|d| file(&d)),
            referrer,
            origin,
        })
        .collect();
    Ok(CollectedImage {
        plan,
        layout: layout.to_owned(),
        files,
        evidence,
        fetched_blobs,
        fetched_bytes,
    })
}

/// Downloads `blobs` into `store`, `concurrency` at a time; the first failure stops the rest.
fn download(
    endpoints: &Endpoints,
    blobs: &[BlobRef],
    store: &BlobStore,
    concurrency: usize,
    progress: &dyn SourceProgress,
) -> Result<BTreeMap<Sha256Digest, Written>, Problem> {
    let next = AtomicUsize::new(0);
    // Under a lock, so what the progress hears last is the count (a thrown-away copy of a
    // blob is taken back out of it).
    let done = Mutex::new(0u64);
    let failed = AtomicBool::new(false);
    let results = Mutex::new(BTreeMap::new());
    let first_error = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..concurrency.clamp(1, blobs.len().max(1)) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(blob) = blobs.get(i) else { break };
                    let advance = |n: u64| {
                        let mut done = lock(&done);
                        *done += n;
                        progress.set(*done);
                    };
                    let rewind = |n: u64| {
                        let mut done = lock(&done);
                        *done = done.saturating_sub(n);
                        progress.set(*done);
                    };
                    match endpoints.blob_to_store(&blob.digest, blob.size, store, &advance, &rewind)
                    {
                        Ok(written) => {
                            lock(&results).insert(blob.digest, written);
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            lock(&first_error).get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = lock(&first_error).take() {
        return Err(e);
    }
    Ok(std::mem::take(&mut *lock(&results)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
