//! `create`: turn a spec into a signed archive. Hash every input once (in parallel), fetch
//! or read the trust data and log checkpoints, assemble the manifest, run the site's check
//! as preflight, sign, and write. Nothing is written at the output path unless all of that
//! succeeds.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use airlock_trust_root::{
    Artifact as Subject, ArtifactDigests, Bundle, CertificateIdentity, HashAlgorithm,
    LocalRepository, MAX_BUNDLE_SIZE, Matcher, PublicKey, RepositoryFolder, RepositoryName,
    SignerPolicy, TrustedRoot, Verifier,
};
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::Xxh3Default;

use crate::archive::{
    ArchiveError, Artifact, ArtifactKind, BlobEntry, BlobSource, ConsistencyProof, Evidence,
    FORMAT_VERSION, FileEntry, LogSnapshot, MAX_SIGNATURES, Manifest, OtherDigests, PlannedBlob,
    Publisher, RelativePath, Sha256Digest, SignedPayload, TrustRepository, WriteOptions,
    sign_manifest, write_archive,
};
pub use crate::progress::{NoProgress, Progress, SourceProgress};

use crate::check::{self, CheckError, CheckInput, CheckReport, SignerRule};
use crate::collect::{
    self, CollectError, CollectOptions, CollectedImage, CollectedPackage, CollectedUrl,
    EvidenceKind, ImagePlan, ImageRequest, PackageError, PackageIndexes, PackagePlan,
    PackageRequest, PulledEvidence, RegistryAccess, UrlError, UrlRequest,
};
use crate::fetch::{self, FetchError, HttpClient, LogApi, LogEndpoint, TufRemote};
use crate::spec::{ArtifactSpec, LogApiSpec, Spec, TrustSpec};

/// Read buffer for hashing.
const HASH_CHUNK: usize = 1 << 20;

/// Why an archive was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Reading an input failed.
    #[error("{path}: {source}")]
    Io {
        /// The input.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An input is not what the spec says it is.
    #[error("{path}: {reason}")]
    Input {
        /// The input.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Fetching trust data or a checkpoint failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// An image could not be collected from its registry.
    #[error(transparent)]
    Collect(#[from] CollectError),
    /// A `url` source (or its bundle) could not be downloaded.
    #[error(transparent)]
    Download(#[from] UrlError),
    /// An npm or PyPI package could not be collected from its registry.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A trust repository did not verify at creation time.
    #[error("trust {name}: {source}")]
    Trust {
        /// The repository.
        name: String,
        /// Why.
        source: airlock_trust_root::TufError,
    },
    /// The check of the assembled contents failed as a whole.
    #[error("preflight: {0}")]
    Check(#[from] CheckError),
    /// Some artifacts failed preflight (and `--allow-failing` was not given).
    #[error("preflight: {} of {} artifact(s) failed: {}", failed.len(), total, failed.join("; "))]
    Preflight {
        /// One line per failing artifact.
        failed: Vec<String>,
        /// Artifacts in the spec.
        total: usize,
        /// The whole report.
        report: Box<CheckReport>,
    },
    /// The manifest broke a rule (e.g. a name).
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// How to create.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// The output file (or the base name of its parts).
    pub output: PathBuf,
    /// Compression and parts.
    pub write: WriteOptions,
    /// Write the archive even if preflight fails for some artifacts.
    pub allow_failing: bool,
    /// The site's witness state (proofs are added from its sizes).
    pub witness_state: Option<PathBuf>,
    /// Extra CA certificates (PEM) for HTTPS.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The creation time (and the time TUF expiry is judged at).
    pub now: DateTime<Utc>,
    /// Overrides the spec's sequence number.
    pub sequence: Option<u64>,
    /// How images are pulled from registries (cache, credentials, unsigned images).
    pub collect: CollectOptions,
}

/// What `create` produced.
#[derive(Debug)]
pub struct Created {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The signed manifest.
    pub manifest: Manifest,
    /// Preflight's report.
    pub report: CheckReport,
    /// The images pulled from registries: what each tag resolved to, what was fetched and
    /// where each piece of evidence came from (the manifest has no field for it).
    pub images: Vec<ImagePlan>,
    /// The npm and PyPI packages collected: the metadata that named each file and its
    /// digest, and the document each bundle came from.
    pub packages: Vec<PackagePlan>,
    /// The `url` sources downloaded: where from, and what each file hashed to.
    pub downloads: Vec<Downloaded>,
}

/// A `url` source as `create` downloaded it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Downloaded {
    /// The artifact's name.
    pub name: String,
    /// The file's URL.
    pub url: String,
    /// Its bundle's URL.
    pub bundle_url: Option<String>,
    /// What the file hashed to.
    pub digest: Sha256Digest,
    /// Its bundle's digest.
    pub bundle: Option<Sha256Digest>,
    /// Bytes downloaded now (0 when the cache held the pinned file).
    pub fetched_bytes: u64,
}

/// What `create --dry-run` finds: every image resolved, its blobs and referrers (with the
/// signers their bundles name, unverified), and the local inputs; nothing is written.
#[derive(Debug, serde::Serialize)]
pub struct DryRun {
    /// The images.
    pub images: Vec<ImagePlan>,
    /// The `url` sources (not fetched by a dry run).
    pub downloads: Vec<UrlRequest>,
    /// The npm and PyPI packages: each file, its digest and the bundles found (with the
    /// signers they name, unverified).
    pub packages: Vec<PackagePlan>,
    /// The local files the spec names, with their sizes.
    pub files: Vec<LocalInput>,
}

/// A local input file.
#[derive(Debug, serde::Serialize)]
pub struct LocalInput {
    /// The artifact it belongs to.
    pub artifact: String,
    /// `file`, `layout`, `bundle`, `attestation` or `sbom`.
    pub role: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Its size (`None`: it cannot be read).
    pub size: Option<u64>,
}

/// Lists what `create` would pack and fetch, without writing anything or deciding anything.
pub fn dry_run(spec: &Spec, options: &CreateOptions) -> Result<DryRun, CreateError> {
    let images = collect::survey(
        &image_requests(spec),
        &registry_access(spec, options)?,
        &options.collect,
    )?;
    let packages = collect::survey_packages(
        &package_requests(spec),
        &package_indexes(spec, &options.collect),
        &registry_access(spec, options)?,
        &options.collect,
    )?;
    let mut files = Vec::new();
    for a in &spec.artifacts {
        let name = a.resolved_name();
        let mut add = |role: &'static str, path: &Path| {
            files.push(LocalInput {
                artifact: name.clone(),
                role,
                path: path.to_owned(),
                size: std::fs::metadata(path).ok().map(|m| m.len()),
            });
        };
        let local_file = if a.pypi.is_some() { &None } else { &a.file };
        for (role, path) in [("file", local_file), ("layout", &a.oci_layout)] {
            if let Some(path) = path {
                add(role, path);
            }
        }
        for (role, paths) in [
            ("bundle", &a.bundles),
            ("attestation", &a.attestations),
            ("sbom", &a.sboms),
        ] {
            for path in paths {
                add(role, path);
            }
        }
    }
    Ok(DryRun {
        images,
        downloads: url_requests(spec),
        packages,
        files,
    })
}

/// The spec's `url` sources, in spec order.
fn url_requests(spec: &Spec) -> Vec<UrlRequest> {
    spec.artifacts
        .iter()
        .filter_map(|a| {
            a.url.as_ref().map(|url| UrlRequest {
                name: a.resolved_name(),
                url: url.clone(),
                bundle_url: a.bundle_url.clone(),
                sha256: a.pinned_sha256(),
            })
        })
        .collect()
}

/// The spec's npm and PyPI packages, in spec order.
fn package_requests(spec: &Spec) -> Vec<PackageRequest> {
    spec.artifacts
        .iter()
        .filter_map(|a| {
            a.package().map(|source| PackageRequest {
                name: a.resolved_name(),
                source,
                local_bundles: a.bundles.len(),
            })
        })
        .collect()
}

/// Where packages come from (`[npm]`, `[pypi]`, `[github]` or `--github-api`), with the
/// tokens their variables hold now.
fn package_indexes(spec: &Spec, collect: &CollectOptions) -> PackageIndexes {
    let token = |name: Option<&str>| {
        name.and_then(|n| std::env::var(n).ok())
            .filter(|t| !t.is_empty())
    };
    let defaults = PackageIndexes::default();
    let npm = spec.npm.as_ref();
    let pypi = spec.pypi.as_ref();
    let github = spec.github.as_ref();
    PackageIndexes {
        npm: npm.and_then(|n| n.registry.clone()).unwrap_or(defaults.npm),
        npm_token: token(Some(
            npm.and_then(|n| n.token_env.as_deref())
                .unwrap_or("NPM_TOKEN"),
        )),
        pypi: pypi.and_then(|p| p.index.clone()).unwrap_or(defaults.pypi),
        pypi_token: token(pypi.and_then(|p| p.token_env.as_deref())),
        github: collect
            .github_api
            .clone()
            .or_else(|| github.and_then(|g| g.api.clone()))
            .unwrap_or(defaults.github),
        github_token: token(Some(
            github
                .and_then(|g| g.token_env.as_deref())
                .unwrap_or("GITHUB_TOKEN"),
        )),
        max_file_size: collect.max_package_size,
    }
}

/// The spec's images, in spec order.
fn image_requests(spec: &Spec) -> Vec<ImageRequest> {
    spec.artifacts
        .iter()
        .filter_map(|a| {
            a.image.as_ref().map(|reference| ImageRequest {
                name: a.resolved_name(),
                reference: reference.clone(),
                platforms: a.platforms.clone(),
                local_bundles: a.bundles.len(),
            })
        })
        .collect()
}

/// The CA files for registries: `--ca-file` for all, `[[registry]] ca_file` for one; and
/// each registry's mirrors.
fn registry_access(spec: &Spec, options: &CreateOptions) -> Result<RegistryAccess, CreateError> {
    let mut access = RegistryAccess {
        extra_ca_pem: options.extra_ca_pem.clone(),
        per_registry: BTreeMap::new(),
        mirrors: BTreeMap::new(),
    };
    for r in &spec.registries {
        if !r.mirrors.is_empty() {
            access.mirrors.insert(r.host.clone(), r.mirrors.clone());
        }
        if let Some(path) = &r.ca_file {
            let pem = std::fs::read(path).map_err(|source| CreateError::Io {
                path: path.clone(),
                source,
            })?;
            access.per_registry.insert(r.host.clone(), pem);
        }
    }
    Ok(access)
}

/// Creates the archive `spec` describes, signed by `keys`.
pub fn create(
    spec: &Spec,
    keys: &[&SigningKey],
    options: &CreateOptions,
    progress: &dyn Progress,
) -> Result<Created, CreateError> {
    // Readers refuse an envelope with more signatures; say so before any work is done.
    // (`write_archive` checks this and the envelope's size again before it writes.)
    if keys.len() > MAX_SIGNATURES {
        return Err(ArchiveError::TooManySignatures {
            count: keys.len(),
            limit: MAX_SIGNATURES,
        }
        .into());
    }
    let mut blobs = Blobs::default();

    // 0. Images from registries, pulled (each blob checked as it arrives) into the cache or
    // a work folder beside the output, which goes when `create` ends.
    let requests = image_requests(spec);
    let url_requests = url_requests(spec);
    let package_requests = package_requests(spec);
    let work = match requests.is_empty() && url_requests.is_empty() && package_requests.is_empty() {
        true => None,
        false => Some(pull_folder(&options.output)?),
    };
    let images = match &work {
        Some(work) if !requests.is_empty() => collect::collect(
            &requests,
            &registry_access(spec, options)?,
            &options.collect,
            work.path(),
            progress,
        )?,
        _ => Vec::new(),
    };
    let packages = match &work {
        Some(work) if !package_requests.is_empty() => collect::collect_packages(
            &package_requests,
            &package_indexes(spec, &options.collect),
            &registry_access(spec, options)?,
            &options.collect,
            work.path(),
            progress,
        )?,
        _ => Vec::new(),
    };
    // `url` sources: each file hashed as it streams into the cache or work folder.
    let downloads: Vec<CollectedUrl> = match &work {
        Some(work) if !url_requests.is_empty() => collect::download_urls(
            &url_requests,
            &HttpClient::new(options.extra_ca_pem.as_deref())?,
            options.collect.cache.as_deref(),
            work.path(),
            progress,
        )?,
        _ => Vec::new(),
    };

    // 1. Every input file, hashed once (pulled blobs were hashed as they arrived; those
    // already held in the cache are hashed here like local files).
    let mut inputs: Vec<PathBuf> = Vec::new();
    let mut prehashed: HashMap<PathBuf, Hashed> = HashMap::new();
    let pulled_files: Vec<&collect::PulledFile> = images
        .iter()
        .flat_map(|image| {
            let files = image.files.iter().map(|(_, f)| f);
            files.chain(image.evidence.iter().flat_map(PulledEvidence::files))
        })
        .chain(
            packages
                .iter()
                .flat_map(|p| std::iter::once(&p.file).chain(p.evidence.iter().map(|e| &e.file))),
        )
        .chain(
            downloads
                .iter()
                .flat_map(|d| std::iter::once(&d.file).chain(&d.bundle)),
        )
        .collect();
    {
        for file in pulled_files.iter().copied() {
            match file.written {
                Some(w) => {
                    prehashed.insert(
                        file.path.clone(),
                        Hashed {
                            digest: file.digest,
                            size: w.size,
                            xxh3: w.xxh3,
                        },
                    );
                }
                None => inputs.push(file.path.clone()),
            }
        }
    }
    let mut layouts = Vec::new();
    for artifact in &spec.artifacts {
        if let Some(file) = &artifact.file
            && artifact.pypi.is_none()
        {
            inputs.push(file.clone());
        }
        if let Some(dir) = &artifact.oci_layout {
            let files = layout_files(dir)?;
            inputs.extend(files.iter().map(|(_, p)| p.clone()));
            layouts.push(files);
        }
        for p in artifact
            .bundles
            .iter()
            .chain(&artifact.attestations)
            .chain(&artifact.sboms)
        {
            inputs.push(p.clone());
        }
    }
    inputs.sort();
    inputs.dedup();
    let mut hashed = hash_files(&inputs, progress)?;
    hashed.extend(prehashed);
    for file in &pulled_files {
        let found = hashed[&file.path].digest;
        if found != file.digest {
            return Err(CreateError::Input {
                path: file.path.clone(),
                reason: format!("held as {} but hashes to {found}", file.digest),
            });
        }
    }

    // 2. Trust data, verified now.
    let client = match (
        spec.trust.iter().any(|t| t.url.is_some()),
        spec.logs.is_empty(),
    ) {
        (false, true) => None,
        _ => Some(HttpClient::new(options.extra_ca_pem.as_deref())?),
    };
    let scratch = tempfile::tempdir().map_err(|source| CreateError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut trust = Vec::new();
    let mut pinned = BTreeMap::new();
    let mut verifiers = Vec::new();
    for t in &spec.trust {
        progress.phase(&format!("trust {}", t.name), 0);
        let (repo, root_bytes, trusted_root) =
            trust_repository(t, client.as_ref(), scratch.path(), options.now, &mut blobs)?;
        trust.push(repo);
        pinned.insert(t.name.clone(), root_bytes);
        verifiers.push(Verifier::new(trusted_root));
    }

    // 3. Artifacts and their evidence.
    let mut artifacts = Vec::new();
    let mut layouts = layouts.into_iter();
    let mut pulled = images.iter();
    let mut downloaded = downloads.iter();
    let mut package_requests_seen = 0;
    for a in &spec.artifacts {
        let mut evidence = Evidence::default();
        for (list, paths) in [
            (&mut evidence.bundles, &a.bundles),
            (&mut evidence.attestations, &a.attestations),
            (&mut evidence.sboms, &a.sboms),
        ] {
            for p in paths {
                let h = hashed[p];
                blobs.add_file(&h, p);
                list.push(h.digest);
            }
        }
        // A package: one artifact per file it gave, each with its own evidence besides the
        // spec's.
        if a.package().is_some() {
            let request = package_requests_seen;
            package_requests_seen += 1;
            for package in packages.iter().filter(|p| p.request == request) {
                let artifact = package_artifact(a, package, evidence.clone(), &hashed, &mut blobs)?;
                artifacts.push(artifact);
            }
            continue;
        }
        let image = match a.image {
            Some(_) => pulled.next(),
            None => None,
        };
        if let Some(image) = image {
            for e in &image.evidence {
                for file in e.files() {
                    blobs.add_file(&hashed[&file.path], &file.path);
                }
                let digest = hashed[&e.file.path].digest;
                let list = match (e.kind, &e.payload) {
                    (EvidenceKind::SignedPayload, Some(payload)) => {
                        let signed = SignedPayload {
                            bundle: digest,
                            payload: hashed[&payload.path].digest,
                        };
                        if !evidence.signed_payloads.contains(&signed) {
                            evidence.signed_payloads.push(signed);
                        }
                        continue;
                    }
                    // A signed payload always comes with its payload; without one it can
                    // only be checked against the image (and fails preflight there).
                    (EvidenceKind::Bundle | EvidenceKind::SignedPayload, _) => {
                        &mut evidence.bundles
                    }
                    (EvidenceKind::Attestation, _) => &mut evidence.attestations,
                    (EvidenceKind::Sbom, _) => &mut evidence.sboms,
                };
                if !list.contains(&digest) {
                    list.push(digest);
                }
            }
        }
        let download = match a.url {
            Some(_) => downloaded.next(),
            None => None,
        };
        if let Some(bundle) = download.and_then(|d| d.bundle.as_ref()) {
            let h = hashed[&bundle.path];
            blobs.add_file(&h, &bundle.path);
            if !evidence.bundles.contains(&h.digest) {
                evidence.bundles.push(h.digest);
            }
        }
        let name = a.resolved_name();
        let artifact = if let Some(download) = download {
            fetched_artifact(
                a,
                name,
                &a.url_file_name().unwrap_or_default(),
                &download.file.path,
                download.file.path.clone(),
                evidence,
                &hashed,
                &mut blobs,
            )?
        } else if let Some(image) = image {
            let files: Vec<(RelativePath, PathBuf)> = image
                .files
                .iter()
                .map(|(rel, f)| (rel.clone(), f.path.clone()))
                .collect();
            oci_artifact(
                a,
                name,
                &image.layout,
                &files,
                &hashed,
                &mut blobs,
                evidence,
            )?
        } else if let Some(file) = &a.file {
            let h = hashed[file];
            let (digest, size) = (h.digest, h.size);
            blobs.add_file(&h, file);
            let file_name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path = RelativePath::new(&file_name).map_err(|reason| CreateError::Input {
                path: file.clone(),
                reason,
            })?;
            Artifact {
                name,
                kind: ArtifactKind::File,
                digest,
                size,
                media_type: a
                    .media_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                files: vec![FileEntry { path, digest }],
                evidence,
                other_digests: OtherDigests::default(),
            }
        } else {
            let files = layouts.next().unwrap_or_default();
            let dir = a.oci_layout.clone().unwrap_or_default();
            oci_artifact(a, name, &dir, &files, &hashed, &mut blobs, evidence)?
        };
        let mut artifact = artifact;
        artifact.other_digests = other_digests(&artifact, &blobs)?;
        artifacts.push(artifact);
    }

    // 4. Log checkpoints, with proofs from every entry's checkpoint and the site's sizes.
    let entry_sizes = entry_checkpoint_sizes(&artifacts, &blobs, &verifiers);
    let site_sizes = match &options.witness_state {
        Some(path) => witness_sizes(path)?,
        None => BTreeMap::new(),
    };
    let mut logs = Vec::new();
    for l in &spec.logs {
        let Some(client) = &client else { break };
        progress.phase(&format!("log {}", l.url), 0);
        let endpoint = LogEndpoint {
            kind: match l.api {
                LogApiSpec::RekorV1 => LogApi::RekorV1,
                LogApiSpec::Tiles => LogApi::Tiles,
            },
            url: l.url.clone(),
        };
        let head = fetch::fetch_log(client, &endpoint, &[])?;
        let mut sizes: Vec<u64> = entry_sizes
            .get(&head.origin)
            .into_iter()
            .chain(site_sizes.get(&head.origin))
            .flatten()
            .copied()
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        let snapshot = if sizes.is_empty() {
            head
        } else {
            fetch::fetch_log(client, &endpoint, &sizes)?
        };
        logs.push(LogSnapshot {
            origin: snapshot.origin,
            checkpoint: snapshot.checkpoint,
            consistency: snapshot
                .consistency
                .into_iter()
                .map(|p| ConsistencyProof {
                    from_size: p.from_size,
                    to_size: p.to_size,
                    hashes: p.hashes,
                })
                .collect(),
        });
    }

    // 5. The manifest, checked as the site will check it.
    let mut random = [0u8; 16];
    OsRng.fill_bytes(&mut random);
    let manifest = Manifest {
        version: FORMAT_VERSION,
        archive_id: hex::encode(random),
        created_at: options.now,
        publisher: Publisher {
            name: spec.publisher.name.clone(),
            sequence: options
                .sequence
                .or(spec.publisher.sequence)
                .unwrap_or_else(|| u64::try_from(options.now.timestamp()).unwrap_or(0)),
        },
        site: spec.publisher.site.clone(),
        notes: spec.publisher.notes.clone(),
        blobs: blobs.entries(&trust, &artifacts),
        trust,
        logs,
        artifacts,
    };
    manifest.check().map_err(ArchiveError::from)?;

    progress.phase("preflight", manifest.artifacts.len() as u64);
    let (rules, default_rule) = signer_rules(spec)?;
    let read_blob = |digest: &Sha256Digest, limit: u64| blobs.read(digest, limit);
    let report = check::check(
        &CheckInput {
            manifest: &manifest,
            pinned_roots: &pinned,
            trust_at: options.now,
            rules: &rules,
            default_rule: &default_rule,
        },
        &read_blob,
        &scratch.path().join("preflight"),
    )?;
    let failed = failures(&report, &images, &packages, options.collect.allow_unsigned);
    if !failed.is_empty() && !options.allow_failing {
        return Err(CreateError::Preflight {
            failed,
            total: report.artifacts.len(),
            report: Box::new(report),
        });
    }

    // 6. Sign and write.
    let envelope = sign_manifest(&manifest.to_json(), keys);
    let planned = blobs.planned(&manifest);
    let total = manifest.total_blob_size();
    progress.phase("writing", total);
    let files = write_archive(
        &options.output,
        &envelope,
        &planned,
        &options.write,
        &mut |done| progress.set(done),
    )?;
    drop(work);
    Ok(Created {
        files,
        manifest,
        report,
        images: images.into_iter().map(|i| i.plan).collect(),
        downloads: downloads
            .iter()
            .map(|d| Downloaded {
                name: d.request.name.clone(),
                url: d.request.url.to_string(),
                bundle_url: d.request.bundle_url.as_ref().map(ToString::to_string),
                digest: d.file.digest,
                bundle: d.bundle.as_ref().map(|b| b.digest),
                fetched_bytes: d.fetched_bytes,
            })
            .collect(),
        packages: packages.into_iter().map(|p| p.plan).collect(),
    })
}

/// One file of a package, with its evidence added to the spec's (`evidence`).
fn package_artifact(
    a: &ArtifactSpec,
    package: &CollectedPackage,
    mut evidence: Evidence,
    hashed: &HashMap<PathBuf, Hashed>,
    blobs: &mut Blobs,
) -> Result<Artifact, CreateError> {
    for e in &package.evidence {
        let h = hashed[&e.file.path];
        blobs.add_file(&h, &e.file.path);
        for kind in &e.kinds {
            let list = match kind {
                // Packages carry no cosign payloads; a bundle is a bundle.
                EvidenceKind::Bundle | EvidenceKind::SignedPayload => &mut evidence.bundles,
                EvidenceKind::Attestation => &mut evidence.attestations,
                EvidenceKind::Sbom => &mut evidence.sboms,
            };
            if !list.contains(&h.digest) {
                list.push(h.digest);
            }
        }
    }
    let mut artifact = fetched_artifact(
        a,
        package.plan.name.clone(),
        &package.plan.file.name,
        &package.file.path,
        PathBuf::from(&package.plan.file.url),
        evidence,
        hashed,
        blobs,
    )?;
    artifact.other_digests = other_digests(&artifact, blobs)?;
    Ok(artifact)
}

/// A file fetched from its URL or its package's registry: `file_name` is its name in the
/// archive, `held` where it is, `origin` where it came from (for errors).
#[allow(clippy::too_many_arguments)]
fn fetched_artifact(
    a: &ArtifactSpec,
    name: String,
    file_name: &str,
    held: &Path,
    origin: PathBuf,
    evidence: Evidence,
    hashed: &HashMap<PathBuf, Hashed>,
    blobs: &mut Blobs,
) -> Result<Artifact, CreateError> {
    let h = hashed[held];
    blobs.add_file(&h, held);
    let path = RelativePath::new(file_name).map_err(|reason| CreateError::Input {
        path: origin,
        reason,
    })?;
    Ok(Artifact {
        name,
        kind: ArtifactKind::File,
        digest: h.digest,
        size: h.size,
        media_type: a
            .media_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
        files: vec![FileEntry {
            path,
            digest: h.digest,
        }],
        evidence,
        other_digests: OtherDigests::default(),
    })
}

/// The message preflight's failure is for a pulled image's problem.
const UNSIGNED: &str = "no Sigstore bundle signs it";

/// One line per artifact that failed preflight. A pulled image's line names its source,
/// and each of its evidence's problems the referrer the evidence came from. An image
/// packed unsigned with `--allow-unsigned` fails only if something else is wrong.
fn failures(
    report: &CheckReport,
    images: &[CollectedImage],
    packages: &[CollectedPackage],
    allow_unsigned: bool,
) -> Vec<String> {
    report
        .artifacts
        .iter()
        .filter(|a| !a.passed)
        .filter_map(|a| {
            if let Some(package) = packages.iter().find(|p| p.plan.name == a.name) {
                return package_failure(a, package, allow_unsigned);
            }
            let image = images.iter().find(|i| i.plan.name == a.name);
            let Some(image) = image else {
                return Some(format!("{}: {}", a.name, a.problems.join(", ")));
            };
            let plan = &image.plan;
            if allow_unsigned && plan.unsigned && a.problems == [UNSIGNED] {
                return None;
            }
            let problems: Vec<String> = a
                .problems
                .iter()
                .map(|problem| {
                    let blob = problem
                        .split_whitespace()
                        .nth(1)
                        .map(|d| d.trim_end_matches(':'));
                    let origin = image
                        .evidence
                        .iter()
                        .find(|e| blob == Some(e.file.digest.to_string().as_str()));
                    match origin {
                        Some(e) => format!(
                            "{problem} (from {} in {}/{})",
                            e.origin, plan.registry, plan.repository
                        ),
                        None => problem.clone(),
                    }
                })
                .collect();
            Some(format!(
                "{} (image {}): {}",
                a.name,
                image.plan.source,
                problems.join(", ")
            ))
        })
        .collect()
}

/// A pulled package's line: its source, and the document each failing bundle came from.
fn package_failure(
    a: &check::ArtifactOutcome,
    package: &CollectedPackage,
    allow_unsigned: bool,
) -> Option<String> {
    let plan = &package.plan;
    if allow_unsigned && plan.unsigned && a.problems == [UNSIGNED] {
        return None;
    }
    let problems: Vec<String> = a
        .problems
        .iter()
        .map(|problem| {
            let blob = problem
                .split_whitespace()
                .nth(1)
                .map(|d| d.trim_end_matches(':'));
            match package
                .evidence
                .iter()
                .find(|e| blob == Some(e.file.digest.to_string().as_str()))
            {
                Some(e) => format!("{problem} (from {})", e.from),
                None => problem.clone(),
            }
        })
        .collect();
    Some(format!(
        "{} ({} {}): {}",
        a.name,
        plan.ecosystem,
        plan.source,
        problems.join(", ")
    ))
}

/// A folder beside the output for pulled blobs (when there is no cache) and the layouts'
/// `index.json`: on the same filesystem as the archive, not in a memory-backed /tmp.
fn pull_folder(output: &Path) -> Result<tempfile::TempDir, CreateError> {
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".airlock-pull-")
        .tempdir_in(&parent)
        .map_err(|source| CreateError::Io {
            path: parent,
            source,
        })
}

/// The blobs collected so far: where each one's bytes are, in first-seen order.
#[derive(Debug, Default)]
struct Blobs {
    order: Vec<Sha256Digest>,
    sources: HashMap<Sha256Digest, (u64, BlobSource)>,
}

impl Blobs {
    fn add(&mut self, digest: Sha256Digest, size: u64, source: BlobSource) {
        if !self.sources.contains_key(&digest) {
            self.order.push(digest);
            self.sources.insert(digest, (size, source));
        }
    }

    fn add_file(&mut self, hashed: &Hashed, path: &Path) {
        self.add(
            hashed.digest,
            hashed.size,
            BlobSource::HashedFile {
                path: path.to_owned(),
                xxh3: hashed.xxh3,
            },
        );
    }

    fn add_bytes(&mut self, bytes: Vec<u8>) -> Sha256Digest {
        let digest = Sha256Digest::of(&bytes);
        self.add(digest, bytes.len() as u64, BlobSource::Bytes(bytes));
        digest
    }

    /// The archive order: the trust data, then the evidence, then everything else, each by
    /// size. A site can check trust as soon as its files are in and judge each artifact once
    /// its evidence is, while the bulk of the bytes is still arriving.
    fn entries(&self, trust: &[TrustRepository], artifacts: &[Artifact]) -> Vec<BlobEntry> {
        let trust: HashSet<Sha256Digest> = trust
            .iter()
            .flat_map(|t| t.metadata.iter().chain(&t.targets))
            .map(|f| f.digest)
            .collect();
        let evidence: HashSet<Sha256Digest> = artifacts
            .iter()
            .flat_map(|a| a.evidence.blobs())
            .copied()
            .collect();
        let rank = |d: &Sha256Digest| {
            if trust.contains(d) {
                0
            } else if evidence.contains(d) {
                1
            } else {
                2
            }
        };
        let mut entries: Vec<BlobEntry> = self
            .order
            .iter()
            .map(|d| BlobEntry {
                digest: *d,
                size: self.sources[d].0,
            })
            .collect();
        entries.sort_by_key(|b| (rank(&b.digest), b.size));
        entries
    }

    fn planned(&self, manifest: &Manifest) -> Vec<PlannedBlob> {
        manifest
            .blobs
            .iter()
            .map(|b| PlannedBlob {
                digest: b.digest,
                size: b.size,
                source: self.sources[&b.digest].1.clone(),
            })
            .collect()
    }

    /// A blob's digests by `algorithms` (and SHA-256, which must still be its digest).
    fn digests(
        &self,
        digest: &Sha256Digest,
        algorithms: &BTreeSet<HashAlgorithm>,
    ) -> Result<ArtifactDigests, CreateError> {
        let digests = match self.sources.get(digest) {
            Some((_, BlobSource::Bytes(bytes))) => ArtifactDigests::of_bytes(bytes, algorithms),
            Some((_, BlobSource::File(path) | BlobSource::HashedFile { path, .. })) => {
                let io = |source| CreateError::Io {
                    path: path.clone(),
                    source,
                };
                let digests = File::open(path)
                    .and_then(|f| ArtifactDigests::from_reader(f, algorithms))
                    .map_err(io)?;
                if digests.sha256 != *digest.as_bytes() {
                    return Err(ArchiveError::SourceChanged { path: path.clone() }.into());
                }
                digests
            }
            None => ArtifactDigests::of_bytes(&[], algorithms),
        };
        Ok(digests)
    }

    fn read(&self, digest: &Sha256Digest, limit: u64) -> Result<Vec<u8>, String> {
        match self.sources.get(digest) {
            Some((_, BlobSource::Bytes(bytes))) => Ok(bytes.clone()),
            Some((size, BlobSource::File(path) | BlobSource::HashedFile { path, .. })) => {
                if *size > limit {
                    return Err(format!("{} bytes (at most {limit})", size));
                }
                let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                if Sha256Digest::of(&bytes) != *digest {
                    return Err(format!(
                        "{} changed while the archive was built",
                        path.display()
                    ));
                }
                Ok(bytes)
            }
            None => Err("not in the archive".into()),
        }
    }
}

/// The digests by other algorithms that the artifact's bundles name it by (an in-toto
/// subject with only `sha512`, a hashedrekord entry that logged `sha384`), taken from its
/// bytes so the site can check that evidence (the reader checks them against the bytes).
fn other_digests(artifact: &Artifact, blobs: &Blobs) -> Result<OtherDigests, CreateError> {
    let mut needed = BTreeSet::new();
    for digest in artifact
        .evidence
        .bundles
        .iter()
        .chain(&artifact.evidence.attestations)
    {
        // A bundle that cannot be read or parsed is the preflight's to report; it names
        // nothing here.
        if let Ok(bytes) = blobs.read(digest, MAX_BUNDLE_SIZE as u64)
            && let Ok(bundle) = Bundle::from_json(&bytes)
        {
            needed.extend(bundle.artifact_hashes());
        }
    }
    needed.remove(&HashAlgorithm::Sha256);
    let mut other = OtherDigests::default();
    if needed.is_empty() {
        return Ok(other);
    }
    let digests = blobs.digests(&artifact.digest, &needed)?;
    for algorithm in needed {
        if let Some(digest) = digests.get(algorithm) {
            other.set(algorithm, digest);
        }
    }
    Ok(other)
}

/// An input file as read once: its digest and size, and the XXH3-64 its copy is checked
/// against when the archive is written.
#[derive(Debug, Clone, Copy)]
struct Hashed {
    digest: Sha256Digest,
    size: u64,
    xxh3: u64,
}

/// Hashes files on all cores.
fn hash_files(
    paths: &[PathBuf],
    progress: &dyn Progress,
) -> Result<HashMap<PathBuf, Hashed>, CreateError> {
    let total = paths.iter().try_fold(0u64, |sum, p| {
        let meta = std::fs::metadata(p).map_err(|source| CreateError::Io {
            path: p.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(CreateError::Input {
                path: p.clone(),
                reason: "not a regular file".into(),
            });
        }
        Ok(sum.saturating_add(meta.len()))
    })?;
    progress.phase("hashing", total);
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let results = Mutex::new(HashMap::with_capacity(paths.len()));
    let first_error = Mutex::new(None);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(paths.len().max(1)) {
            scope.spawn(|| {
                let mut buffer = vec![0u8; HASH_CHUNK];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    match hash_file(path, &mut buffer, &|n| {
                        let all = done.fetch_add(n, Ordering::Relaxed) + n;
                        progress.set(all);
                    }) {
                        Ok(hashed) => {
                            lock(&results).insert(path.clone(), hashed);
                        }
                        Err(e) => {
                            lock(&first_error).get_or_insert(e);
                            break;
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

fn hash_file(path: &Path, buffer: &mut [u8], advance: &dyn Fn(u64)) -> Result<Hashed, CreateError> {
    let io = |source| CreateError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut sha = Sha256::new();
    let mut xxh3 = Xxh3Default::new();
    let mut size = 0u64;
    loop {
        let n = file.read(buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        sha.update(&buffer[..n]);
        xxh3.update(&buffer[..n]);
        size += n as u64;
        advance(n as u64);
    }
    Ok(Hashed {
        digest: Sha256Digest::from_bytes(sha.finalize().into()),
        size,
        xxh3: xxh3.digest(),
    })
}

/// The files of an OCI image layout: `oci-layout`, `index.json` and `blobs/sha256/*`.
fn layout_files(dir: &Path) -> Result<Vec<(RelativePath, PathBuf)>, CreateError> {
    let input = |reason: String| CreateError::Input {
        path: dir.to_owned(),
        reason,
    };
    let mut files = Vec::new();
    for name in ["oci-layout", "index.json"] {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(input(format!("not an OCI image layout: {name} is missing")));
        }
        files.push((RelativePath::new(name).map_err(input)?, path));
    }
    let blob_dir = dir.join("blobs/sha256");
    let entries = std::fs::read_dir(&blob_dir).map_err(|source| CreateError::Io {
        path: blob_dir.clone(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| CreateError::Io {
            path: blob_dir.clone(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        Sha256Digest::from_hex(&name).map_err(|_| {
            input(format!(
                "blobs/sha256/{name} is not named by a sha256 digest"
            ))
        })?;
        files.push((
            RelativePath::new(&format!("blobs/sha256/{name}")).map_err(input)?,
            entry.path(),
        ));
    }
    files.sort();
    Ok(files)
}

/// An OCI image artifact: its layout's blobs must hash to their names, and `index.json`
/// must name exactly one image manifest, whose digest the signatures refer to.
fn oci_artifact(
    spec: &ArtifactSpec,
    name: String,
    dir: &Path,
    files: &[(RelativePath, PathBuf)],
    hashed: &HashMap<PathBuf, Hashed>,
    blobs: &mut Blobs,
    evidence: Evidence,
) -> Result<Artifact, CreateError> {
    let dir = dir.to_owned();
    let input = |reason: String| CreateError::Input {
        path: dir.clone(),
        reason,
    };
    let mut entries = Vec::new();
    let mut size = 0u64;
    let mut layout_blobs = Vec::new();
    for (rel, path) in files {
        let h = hashed[path];
        let (digest, file_size) = (h.digest, h.size);
        if let Some(hex) = rel.as_str().strip_prefix("blobs/sha256/") {
            if digest.hex() != hex {
                return Err(input(format!("{rel} hashes to {digest}")));
            }
            layout_blobs.push(digest);
        }
        blobs.add_file(&h, path);
        size += file_size;
        entries.push(FileEntry {
            path: rel.clone(),
            digest,
        });
    }
    let index_path = dir.join("index.json");
    let index: serde_json::Value = std::fs::read(&index_path)
        .map_err(|source| CreateError::Io {
            path: index_path.clone(),
            source,
        })
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| input(format!("index.json: {e}"))))?;
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    let [manifest] = manifests.as_slice() else {
        return Err(input(format!(
            "index.json names {} manifests; exactly one is supported",
            manifests.len()
        )));
    };
    let digest: Sha256Digest = manifest["digest"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| input(format!("index.json: {e}")))?;
    if !layout_blobs.contains(&digest) {
        return Err(input(format!(
            "index.json names {digest}, which is not in blobs/"
        )));
    }
    let media_type = spec.media_type.clone().unwrap_or_else(|| {
        manifest["mediaType"]
            .as_str()
            .unwrap_or("application/vnd.oci.image.manifest.v1+json")
            .to_owned()
    });
    check_image_whole(files, digest, manifest["mediaType"].as_str()).map_err(input)?;
    Ok(Artifact {
        name,
        kind: ArtifactKind::OciImage,
        digest,
        size,
        media_type,
        files: entries,
        evidence,
        other_digests: OtherDigests::default(),
    })
}

/// The image from `digest` down, as the site will walk it (`crate::oci::walk`): every
/// manifest and index it names, and every config and layer, must be among the layout's
/// blobs, so an incomplete layout is refused here rather than failing at the site.
fn check_image_whole(
    files: &[(RelativePath, PathBuf)],
    digest: Sha256Digest,
    media_type: Option<&str>,
) -> Result<(), String> {
    use crate::oci::{Held, OciError};
    let by_digest: HashMap<Sha256Digest, &PathBuf> = files
        .iter()
        .filter_map(|(rel, path)| {
            let hex = rel.as_str().strip_prefix("blobs/sha256/")?;
            Some((Sha256Digest::from_hex(hex).ok()?, path))
        })
        .collect();
    let mut read = |d: &Sha256Digest| -> Result<crate::oci::Served, OciError> {
        let malformed = |reason: String| OciError::Malformed {
            what: format!("manifest {d}"),
            reason,
        };
        let path = by_digest
            .get(d)
            .ok_or_else(|| malformed("not in blobs/".to_owned()))?;
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(crate::oci::MAX_DOCUMENT + 1).read_to_end(&mut bytes))
            .map_err(|e| malformed(format!("{}: {e}", path.display())))?;
        if bytes.len() as u64 > crate::oci::MAX_DOCUMENT {
            return Err(malformed(format!(
                "larger than the {} bytes a manifest may be",
                crate::oci::MAX_DOCUMENT
            )));
        }
        Ok((bytes, None))
    };
    let (bytes, _) = read(&digest).map_err(|e| e.to_string())?;
    let walked = crate::oci::walk(Held { digest, bytes }, media_type, &mut read)
        .map_err(|e| e.to_string())?;
    match walked
        .blobs
        .iter()
        .find(|b| !by_digest.contains_key(&b.digest))
    {
        Some(missing) => Err(format!(
            "the image {digest} refers to {}, which is not in blobs/",
            missing.digest
        )),
        None => Ok(()),
    }
}

/// Verifies a trust repository now (fetching it first if it is remote) and adds its files.
fn trust_repository(
    t: &TrustSpec,
    client: Option<&HttpClient>,
    scratch: &Path,
    now: DateTime<Utc>,
    blobs: &mut Blobs,
) -> Result<(TrustRepository, Vec<u8>, TrustedRoot), CreateError> {
    let root = std::fs::read(&t.root).map_err(|source| CreateError::Io {
        path: t.root.clone(),
        source,
    })?;
    let trust_error = |source| CreateError::Trust {
        name: t.name.clone(),
        source,
    };
    let name = RepositoryName::new(&t.name).map_err(trust_error)?;
    let local = match (&t.metadata, &t.targets, &t.url, client) {
        (Some(metadata), Some(targets), _, _) => {
            LocalRepository::new(name, metadata.clone(), targets.clone())
        }
        (_, _, Some(url), Some(client)) => {
            let targets = match &t.targets_url {
                Some(u) => u.clone(),
                None => url.join("targets/").map_err(|e| CreateError::Input {
                    path: t.root.clone(),
                    reason: format!("{url}: {e}"),
                })?,
            };
            let remote = TufRemote::new(url.clone(), targets)?;
            let mirrored = fetch::mirror_tuf(client, &remote, &root, &scratch.join(&t.name))?;
            mirrored.local_repository(name)
        }
        _ => {
            return Err(CreateError::Input {
                path: t.root.clone(),
                reason: "trust needs metadata and targets folders, or a url".into(),
            });
        }
    };
    let verified = local.verify(&root, now, None).map_err(trust_error)?;
    let trusted_root = TrustedRoot::from_json(verified.trusted_root().bytes()).map_err(|e| {
        CreateError::Input {
            path: t.root.clone(),
            reason: format!("trusted_root.json: {e}"),
        }
    })?;
    let mut repo = TrustRepository {
        name: t.name.clone(),
        metadata: Vec::new(),
        targets: Vec::new(),
    };
    for file in verified.files() {
        let path = RelativePath::new(&file.path).map_err(|reason| CreateError::Input {
            path: t.root.clone(),
            reason,
        })?;
        let digest = blobs.add_bytes(file.bytes.clone());
        let list = match file.folder {
            RepositoryFolder::Metadata => &mut repo.metadata,
            RepositoryFolder::Targets => &mut repo.targets,
        };
        list.push(FileEntry { path, digest });
    }
    Ok((repo, root, trusted_root))
}

/// The checkpoint sizes of every bundle's log entries, by log origin (from bundles that
/// verify; the others fail preflight anyway).
fn entry_checkpoint_sizes(
    artifacts: &[Artifact],
    blobs: &Blobs,
    verifiers: &[Verifier],
) -> BTreeMap<String, Vec<u64>> {
    let any = SignerRule::any_identity();
    let mut sizes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for artifact in artifacts {
        let subject = artifact.verifier_digests();
        for digest in artifact
            .evidence
            .bundles
            .iter()
            .chain(&artifact.evidence.attestations)
        {
            let Ok(bytes) = blobs.read(digest, MAX_BUNDLE_SIZE as u64) else {
                continue;
            };
            let Ok(bundle) = Bundle::from_json(&bytes) else {
                continue;
            };
            for verifier in verifiers {
                for policy in &any.signers {
                    if let Ok(report) = verifier.verify(&bundle, Subject::Digests(subject), policy)
                    {
                        for entry in report.log_entries {
                            if let Some(c) = entry.checkpoint {
                                sizes.entry(c.origin).or_default().push(c.size);
                            }
                        }
                    }
                }
            }
        }
    }
    sizes
}

/// The tree sizes in a site's witness state, by origin. The state is a DSSE envelope from
/// the appliance (payload type `application/vnd.airlock.witness-state.v1+json`); only the sizes
/// are used here, to ask the logs for proofs — the site checks them against what it stored.
fn witness_sizes(path: &Path) -> Result<BTreeMap<String, Vec<u64>>, CreateError> {
    use base64::Engine;
    let input = |reason: String| CreateError::Input {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|source| CreateError::Io {
        path: path.to_owned(),
        source,
    })?;
    let outer: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| input(format!("not JSON: {e}")))?;
    let state = match outer["payload"].as_str() {
        Some(b64) => {
            let payload = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| input(format!("payload: {e}")))?;
            serde_json::from_slice(&payload).map_err(|e| input(format!("payload: {e}")))?
        }
        None => outer,
    };
    let mut sizes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for log in state["logs"].as_array().into_iter().flatten() {
        let (Some(origin), Some(size)) = (log["origin"].as_str(), log["size"].as_u64()) else {
            return Err(input("each log needs an origin and a size".into()));
        };
        sizes.entry(origin.to_owned()).or_default().push(size);
    }
    Ok(sizes)
}

/// Preflight signer rules from the spec: each artifact's identity or key; any identity else.
fn signer_rules(spec: &Spec) -> Result<(BTreeMap<String, SignerRule>, SignerRule), CreateError> {
    let mut rules = BTreeMap::new();
    for a in &spec.artifacts {
        let bad = |path: &Path, reason: String| CreateError::Input {
            path: path.to_owned(),
            reason,
        };
        let policy = if let Some(key) = &a.key {
            let pem = std::fs::read(key).map_err(|source| CreateError::Io {
                path: key.clone(),
                source,
            })?;
            let pem = String::from_utf8(pem).map_err(|_| bad(key, "not a PEM file".into()))?;
            let key_value = PublicKey::from_pem(&pem).map_err(|e| bad(key, e.to_string()))?;
            Some(SignerPolicy::PublicKey(key_value))
        } else if let Some(issuer) = &a.issuer {
            let where_ = a
                .file
                .as_ref()
                .or(a.oci_layout.as_ref())
                .cloned()
                .or_else(|| a.image.as_ref().map(|i| PathBuf::from(i.to_string())))
                .unwrap_or_default();
            let subject = match (&a.identity, &a.identity_regexp) {
                (Some(exact), _) => Matcher::exact(exact.clone()),
                (None, Some(re)) => Matcher::pattern(re),
                (None, None) => Matcher::pattern(".*"),
            }
            .map_err(|e| bad(&where_, e.to_string()))?;
            let issuer = Matcher::exact(issuer.clone()).map_err(|e| bad(&where_, e.to_string()))?;
            Some(SignerPolicy::Keyless(CertificateIdentity {
                subject,
                issuer,
            }))
        } else {
            None
        };
        if let Some(policy) = policy {
            rules.insert(
                a.resolved_name(),
                SignerRule {
                    signers: vec![policy],
                },
            );
        }
    }
    Ok((rules, SignerRule::any_identity()))
}
