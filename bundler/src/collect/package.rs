//! Packages straight from their registries: npm (`npm = "name@version"`), PyPI
//! (`pypi = "project==version"` with `file` or `pattern`) and GitHub releases
//! (`github = "owner/repo@tag"` with `assets`). The registry's metadata names the files to
//! pack, their digests (npm: `dist.integrity`, SHA-512; PyPI: `digests.sha256`; GitHub: an
//! asset's `digest`, when it has one) and where their Sigstore evidence is (npm:
//! `dist.attestations.url`; PyPI: the PEP 740 integrity API, converted to Sigstore bundles in
//! `pypi.rs`; GitHub: the attestations API by digest, `github.rs`). Each file streams into
//! the content-addressed store, hashed as it arrives, and is kept only if it is what the
//! metadata names; every bundle is kept as evidence with the URL it came from.
//!
//! One spec entry may name several files (a pattern, several assets): each becomes its own
//! artifact with its own evidence. Everything is planned first (so a missing file or
//! signature fails before any large download), then the files download several at a time
//! (`CollectOptions::concurrency`); the first failure stops the others mid-stream, and no
//! partial file is kept. Nothing here is trusted: `create` packs and preflight verifies it
//! like any other input.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;
use url::Url;

use super::error::{PackageError, Problem};
use super::github::{self, GithubRelease};
pub(crate) use super::metadata::{
    Expected, FileSelect, FoundBundle, Located, NpmPackage, PackageHttp, PlannedPackageEvidence,
    PypiRelease,
};
use super::referrers::EvidenceKind;
use super::store::BlobStore;
use super::{PulledFile, npm, pypi};
use crate::archive::Sha256Digest;
use crate::fetch::HttpClient;
use crate::progress::Progress;

/// The npm registry asked when the spec names none.
pub const DEFAULT_NPM_REGISTRY: &str = "https://registry.npmjs.org";
/// The PyPI index asked when the spec names none.
pub const DEFAULT_PYPI_INDEX: &str = "https://pypi.org";
/// The largest package file downloaded, by default (`create --max-package-size`).
pub const DEFAULT_MAX_PACKAGE_SIZE: u64 = 1 << 30;

/// What to collect from where.
#[derive(Debug, Clone)]
pub enum PackageSource {
    /// An npm package version.
    Npm(NpmPackage),
    /// Files of a PyPI release.
    Pypi {
        /// The release.
        release: PypiRelease,
        /// Which of its files.
        select: FileSelect,
    },
    /// Assets of a GitHub release.
    Github {
        /// The release.
        release: GithubRelease,
        /// Which of its assets (each name must be there, each pattern match).
        assets: Vec<FileSelect>,
    },
}

impl PackageSource {
    /// How messages name it: `npm package name@1.0.0`, `PyPI project name==1.0`.
    pub fn describe(&self) -> String {
        match self {
            PackageSource::Npm(p) => format!("npm package {p}"),
            PackageSource::Pypi { release, .. } => format!("PyPI project {release}"),
            PackageSource::Github { release, .. } => format!("GitHub release {release}"),
        }
    }

    /// The source as the spec writes it.
    fn written(&self) -> String {
        match self {
            PackageSource::Npm(p) => p.to_string(),
            PackageSource::Pypi { release, .. } => release.to_string(),
            PackageSource::Github { release, .. } => release.to_string(),
        }
    }
}

/// The registries packages come from, and how to authenticate to them.
#[derive(Debug, Clone)]
pub struct PackageIndexes {
    /// The npm registry's base URL.
    pub npm: Url,
    /// A bearer token for the npm registry (sent only to its origin).
    pub npm_token: Option<String>,
    /// The PyPI index's base URL (the JSON and integrity APIs hang below it).
    pub pypi: Url,
    /// A bearer token for the PyPI index (sent only to its origin).
    pub pypi_token: Option<String>,
    /// The GitHub REST API's base URL.
    pub github: Url,
    /// A bearer token for the GitHub API (sent only to its origin, never to the CDN its
    /// asset downloads redirect to).
    pub github_token: Option<String>,
    /// The largest package file downloaded.
    pub max_file_size: u64,
}

impl Default for PackageIndexes {
    fn default() -> Self {
        Self {
            npm: Url::parse(DEFAULT_NPM_REGISTRY).expect("the default npm registry is a URL"),
            npm_token: None,
            pypi: Url::parse(DEFAULT_PYPI_INDEX).expect("the default PyPI index is a URL"),
            pypi_token: None,
            github: Url::parse(github::DEFAULT_GITHUB_API)
                .expect("the default GitHub API is a URL"),
            github_token: None,
            max_file_size: DEFAULT_MAX_PACKAGE_SIZE,
        }
    }
}

/// One package to collect.
#[derive(Debug, Clone)]
pub struct PackageRequest {
    /// The artifact's name; when the source names several files, each artifact is named
    /// `{name}/{file name}`.
    pub name: String,
    /// Where from.
    pub source: PackageSource,
    /// Sigstore bundles the spec lists for it from files (with any, finding none at the
    /// registry is not an error).
    pub local_bundles: usize,
}

/// What a package is and what would be (or was) fetched for it: `create --dry-run` prints
/// this, `create` records it in its output.
#[derive(Debug, Clone, Serialize)]
pub struct PackagePlan {
    /// The artifact's name.
    pub name: String,
    /// `npm`, `pypi` or `github`.
    pub ecosystem: &'static str,
    /// The package as the spec names it (`name@version`, `project==version`,
    /// `owner/repo@tag`).
    pub source: String,
    /// The metadata document that named the file and its digest.
    pub metadata_url: String,
    /// The file packed.
    pub file: PlannedPackageFile,
    /// Where the evidence was looked for (`None`: the registry names none, or, for a
    /// GitHub asset without a digest, it is looked up once the file is hashed).
    pub evidence_url: Option<String>,
    /// Every Sigstore bundle found.
    pub evidence: Vec<PlannedPackageEvidence>,
    /// No Sigstore bundle signs it (packed only with `--allow-unsigned`).
    pub unsigned: bool,
}

/// The package file.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedPackageFile {
    /// Its name (the tarball's or wheel's file name).
    pub name: String,
    /// Where it is downloaded from.
    pub url: String,
    /// Its SHA-256, when the registry names it (PyPI, GitHub) or it is known (held, or
    /// fetched).
    pub sha256: Option<Sha256Digest>,
    /// Its SHA-512 (hex), when the registry names it (npm's `dist.integrity`).
    pub sha512: Option<String>,
    /// Its size, when known.
    pub size: Option<u64>,
    /// Already in the cache (not fetched).
    pub held: bool,
}

/// A package file collected: the file and its evidence, on disk.
#[derive(Debug, Clone)]
pub struct CollectedPackage {
    /// What was planned and done.
    pub plan: PackagePlan,
    /// The request it was collected for (its place in the list asked for): a request may
    /// give several files.
    pub request: usize,
    /// The file.
    pub file: PulledFile,
    /// Its evidence.
    pub evidence: Vec<PulledPackageEvidence>,
    /// Bytes downloaded now for the file (0 when it was held).
    pub fetched_bytes: u64,
}

/// A bundle collected for a package, and where it came from.
#[derive(Debug, Clone)]
pub struct PulledPackageEvidence {
    /// The manifest lists it goes to (a SLSA provenance bundle is both signature and
    /// attestation).
    pub kinds: Vec<EvidenceKind>,
    /// The bundle file.
    pub file: PulledFile,
    /// The document it came from.
    pub from: String,
}

/// One file of a package located and its bundles read.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) plan: PackagePlan,
    /// The request it belongs to (its place in the list collected).
    request: usize,
    located: Located,
    bundles: Vec<FoundBundle>,
    /// The registry it came from and the token for it.
    http: PackageHttp,
    /// A GitHub release whose attestations are looked up once the file is hashed (its
    /// asset had no `digest`).
    lookup_after: Option<GithubRelease>,
}

/// Reads the registry's metadata and evidence for `request`: one entry per file it names
/// (nothing is written).
pub(crate) fn plan(
    index: usize,
    request: &PackageRequest,
    client: &HttpClient,
    indexes: &PackageIndexes,
    store: Option<&BlobStore>,
) -> Result<Vec<Planned>, Problem> {
    let (files, ecosystem, http) = match &request.source {
        PackageSource::Npm(package) => {
            let http = PackageHttp::new(client, &indexes.npm, indexes.npm_token.clone());
            let located = npm::locate(&http, package)?;
            let bundles = npm::bundles(&http, &located)?;
            (vec![(located, bundles)], "npm", http)
        }
        PackageSource::Pypi { release, select } => {
            let http = PackageHttp::new(client, &indexes.pypi, indexes.pypi_token.clone());
            let mut files = Vec::new();
            for located in pypi::locate(&http, release, select)? {
                let bundles = pypi::bundles(&http, &located)?;
                files.push((located, bundles));
            }
            (files, "pypi", http)
        }
        PackageSource::Github { release, assets } => {
            let http = PackageHttp::new(client, &indexes.github, indexes.github_token.clone())
                .with_api(github::API_ACCEPT, github::API_HEADERS);
            let mut files = Vec::new();
            for located in github::locate(&http, release, assets)? {
                let bundles = github::bundles(&http, &located)?;
                files.push((located, bundles));
            }
            (files, "github", http)
        }
    };
    let several = files.len() > 1;
    let mut out = Vec::new();
    for (located, bundles) in files {
        let name = match several {
            true => format!("{}/{}", request.name, located.file_name),
            false => request.name.clone(),
        };
        let lookup_after = match (&request.source, &located.expected) {
            (PackageSource::Github { release, .. }, Expected::Unknown) => Some(release.clone()),
            _ => None,
        };
        out.push(Planned {
            plan: file_plan(request, name, ecosystem, &located, &bundles, store),
            request: index,
            located,
            bundles,
            http: http.clone(),
            lookup_after,
        });
    }
    Ok(out)
}

/// What is known of one file before it is fetched.
fn file_plan(
    request: &PackageRequest,
    name: String,
    ecosystem: &'static str,
    located: &Located,
    bundles: &[FoundBundle],
    store: Option<&BlobStore>,
) -> PackagePlan {
    let held = store.and_then(|s| s.holding(&located.expected, located.size));
    let (sha256, sha512) = match located.expected {
        Expected::Sha256(d) => (Some(d), None),
        Expected::Sha512(d) => (held.map(|(d, _)| d), Some(hex::encode(d))),
        Expected::Unknown => (None, None),
    };
    // An asset whose digest is unknown is judged once its attestations are looked up.
    let unsigned = request.local_bundles == 0
        && !matches!(located.expected, Expected::Unknown)
        && !signs(bundles);
    PackagePlan {
        name,
        ecosystem,
        source: request.source.written(),
        metadata_url: located.metadata_url.to_string(),
        file: PlannedPackageFile {
            name: located.file_name.clone(),
            url: located.url.to_string(),
            sha256,
            sha512,
            size: located.size.or(held.map(|(_, size)| size)),
            held: held.is_some(),
        },
        evidence_url: located.evidence_url.as_ref().map(Url::to_string),
        evidence: bundles.iter().map(|b| b.planned.clone()).collect(),
        unsigned,
    }
}

/// Some bundle could sign the file.
fn signs(bundles: &[FoundBundle]) -> bool {
    bundles
        .iter()
        .any(|b| b.planned.kinds.contains(&EvidenceKind::Bundle))
}

/// The error for a file no bundle signs.
fn no_signature(plan: &PackagePlan) -> Problem {
    let looked = plan
        .evidence_url
        .clone()
        .unwrap_or_else(|| "the registry names no attestations".to_owned());
    Problem::NoProvenance {
        file: plan.file.name.clone(),
        looked,
    }
}

/// Downloads the planned file (unless the store holds it), looks up its evidence now if
/// that needed its digest, and stores its bundles.
fn pull(
    planned: Planned,
    indexes: &PackageIndexes,
    store: &BlobStore,
    allow_unsigned: bool,
    stop: &AtomicBool,
    progress: &dyn Progress,
    advance: &dyn Fn(u64),
) -> Result<CollectedPackage, Problem> {
    let Planned {
        mut plan,
        request,
        mut located,
        mut bundles,
        http,
        lookup_after,
    } = planned;
    let (file, fetched_bytes) = match store.holding(&located.expected, located.size) {
        Some((digest, _)) => (
            PulledFile {
                path: store.path(&digest),
                digest,
                written: None,
            },
            0,
        ),
        None => {
            let source = progress.source(&plan.name, located.size.unwrap_or_default());
            let done = AtomicU64::new(0);
            let report = |n: u64| {
                advance(n);
                source.set(done.fetch_add(n, Ordering::Relaxed) + n);
            };
            let (digest, written) =
                http.download(&located, store, indexes.max_file_size, stop, &report)?;
            (
                PulledFile {
                    path: store.path(&digest),
                    digest,
                    written: Some(written),
                },
                written.size,
            )
        }
    };
    plan.file.sha256 = Some(file.digest);
    if plan.file.size.is_none() {
        plan.file.size = std::fs::metadata(&file.path).ok().map(|m| m.len());
    }
    if let Some(release) = &lookup_after {
        let url = github::attestations_url(&http, release, &file.digest)?;
        plan.evidence_url = Some(url.to_string());
        located.evidence_url = Some(url);
        bundles = github::bundles(&http, &located)?;
        plan.evidence = bundles.iter().map(|b| b.planned.clone()).collect();
        plan.unsigned = !signs(&bundles);
        if plan.unsigned && !allow_unsigned {
            return Err(no_signature(&plan));
        }
    }
    let mut evidence = Vec::new();
    for bundle in bundles {
        let Some(digest) = bundle
            .planned
            .digest
            .filter(|_| !bundle.planned.kinds.is_empty())
        else {
            continue;
        };
        let written = match store.holds(&digest, bundle.bytes.len() as u64) {
            true => None,
            false => Some(store.put(&digest, &bundle.bytes)?),
        };
        evidence.push(PulledPackageEvidence {
            kinds: bundle.planned.kinds.clone(),
            file: PulledFile {
                path: store.path(&digest),
                digest,
                written,
            },
            from: bundle.planned.url.clone(),
        });
    }
    Ok(CollectedPackage {
        plan,
        request,
        file,
        evidence,
        fetched_bytes,
    })
}

/// Surveys every package (`create --dry-run`), `concurrency` at a time.
pub(crate) fn survey_all(
    requests: &[PackageRequest],
    client: &HttpClient,
    indexes: &PackageIndexes,
    store: Option<&BlobStore>,
    concurrency: usize,
) -> Result<Vec<PackagePlan>, PackageError> {
    let planned = plan_all(requests, client, indexes, store, concurrency)?;
    Ok(planned.into_iter().map(|p| p.plan).collect())
}

/// Plans every request, `concurrency` at a time, each failure naming its package; the files
/// in spec order.
fn plan_all(
    requests: &[PackageRequest],
    client: &HttpClient,
    indexes: &PackageIndexes,
    store: Option<&BlobStore>,
    concurrency: usize,
) -> Result<Vec<Planned>, PackageError> {
    let jobs: Vec<(usize, &PackageRequest)> = requests.iter().enumerate().collect();
    let planned = run_all(jobs, concurrency, |(i, r)| {
        plan(i, r, client, indexes, store).map_err(|p| p.for_package(&r.source.describe()))
    })?;
    Ok(planned.into_iter().flatten().collect())
}

/// Plans every package first (so a missing version or signature fails before any large
/// download), then pulls every file, `concurrency` at a time. The first failure stops the
/// rest; a file only lands in the store once it is complete and checked.
pub(crate) fn collect_all(
    requests: &[PackageRequest],
    client: &HttpClient,
    indexes: &PackageIndexes,
    store: &BlobStore,
    options: &super::CollectOptions,
    progress: &dyn Progress,
) -> Result<Vec<CollectedPackage>, PackageError> {
    progress.phase("resolve packages", requests.len() as u64);
    let planned = plan_all(requests, client, indexes, Some(store), options.concurrency)?;
    for p in &planned {
        if p.plan.unsigned && !options.allow_unsigned {
            return Err(no_signature(&p.plan).for_package(&requests[p.request].source.describe()));
        }
    }
    let total: u64 = planned
        .iter()
        .filter(|p| !p.plan.file.held)
        .filter_map(|p| p.plan.file.size)
        .sum();
    progress.phase("pull packages", total);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let advance = |n: u64| progress.set(done.fetch_add(n, Ordering::Relaxed) + n);
    run_all(planned, options.concurrency, |p| {
        let what = requests[p.request].source.describe();
        let pulled = pull(
            p,
            indexes,
            store,
            options.allow_unsigned,
            &stop,
            progress,
            &advance,
        );
        if pulled.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        pulled.map_err(|e| e.for_package(&what))
    })
}

/// Runs `work` on every job, at most `concurrency` at once (scoped threads taking the next
/// job as they finish one), the results in the jobs' order. After the first failure no
/// further job starts; that failure is returned (a job stopped because of it is not).
fn run_all<J: Send, R: Send>(
    jobs: Vec<J>,
    concurrency: usize,
    work: impl Fn(J) -> Result<R, PackageError> + Sync,
) -> Result<Vec<R>, PackageError> {
    let count = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..count).map(|_| None).collect());
    let first_error: Mutex<Option<PackageError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..concurrency.clamp(1, count.max(1)) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let Some((i, job)) = lock(&queue).next() else {
                        break;
                    };
                    match work(job) {
                        Ok(r) => lock(&results)[i] = Some(r),
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            let mut first = lock(&first_error);
                            let stopped = |f: &Option<PackageError>| {
                                f.as_ref()
                                    .is_some_and(|f| matches!(f.problem, Problem::Stopped))
                            };
                            if first.is_none() || stopped(&first) {
                                *first = Some(e);
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = lock(&first_error).take() {
        return Err(e);
    }
    Ok(std::mem::take(&mut *lock(&results))
        .into_iter()
        .flatten()
        .collect())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
