//! The site registry: what the appliance serves to the site's machines over the OCI
//! Distribution API (`http::registry` speaks the protocol), and nothing that did not pass.
//!
//! - **Names.** An image is served as `<publisher>/<artifact name>`, both lower-cased, every
//!   run of characters outside `[a-z0-9._-]` turned into one `-`, and `/` in the artifact name
//!   kept as a path separator ([`repository_name`]). A `:tag` at the end of the artifact name
//!   and the `org.opencontainers.image.ref.name` annotation of the layout's `index.json` are its
//!   tags; when two released images of a repository share a tag, the later import has it.
//! - **What is served.** Images of finished imports whose verdict released them (passed or
//!   warned), or failed images an exception active at the time releases (read from
//!   `quarantine/`, never copied: see `crate::exception`), and that no admin withdrew; of each, only the signed manifest (or index) and what
//!   it reaches (child manifests, configs, layers), read from the released layout, whose files
//!   were hashed at import. Everything else answers "unknown".
//! - **Referrers.** For each image: the site's verdict (the appliance-signed VSA as a Sigstore
//!   bundle v0.3 with public-key material), and the Sigstore bundles, attestations and SBOM
//!   files the archive carried for it, each as an OCI 1.1 artifact manifest whose subject is
//!   the image. They are derived from stored rows, so they are the same bytes on every request.
//! - **Index.** The server keeps one [`Index`] in memory and rebuilds it when the database's
//!   registry generation (bumped by triggers on every change to artifacts, imports' states,
//!   withdrawals and exceptions) moves, so a withdrawal by another process takes effect on the
//!   next request, or when the soonest expiry of an exception it serves by has passed.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use airlock_bundler::oci::{self, Document, Held, OciError, Served};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::appliance::Appliance;
use crate::report::{ArtifactReport, SbomSource};
use crate::store::{self, StoreError, registry::ReleasedImage};

/// The largest manifest or index read from a layout.
pub const MAX_MANIFEST: u64 = 4 << 20;
/// The media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of an OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The OCI empty descriptor's media type (config of artifact manifests).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The bytes of the OCI empty blob.
pub const EMPTY_BLOB: &[u8] = b"{}";
/// A Sigstore bundle v0.3 (the artifact type of signature and verdict referrers).
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// CycloneDX JSON.
pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
/// SPDX JSON.
pub const SPDX_JSON: &str = "application/spdx+json";

/// Why the registry could not answer.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A released file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        source: std::io::Error,
    },
}

/// A content digest as the registry names it: `sha256:<64 lower-case hex>`, any other
/// algorithm or form refused (the archive's own digest type).
pub use airlock_bundler::archive::Sha256Digest as Digest;

/// One path component of a repository name: runs of characters outside `[a-z0-9]` become a
/// single separator (`.` or `_` when the run is exactly that, else `-`), trimmed at both ends.
fn component(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if !run.is_empty() && !out.is_empty() {
                out.push_str(if run == "." || run == "_" { &run } else { "-" });
            }
            run.clear();
            out.push(c);
        } else {
            run.push(c);
        }
    }
    out
}

/// The repository an image of `publisher` named `name` is served as, and the tag its name
/// carries (`name:tag`), if any. `None` when nothing of the name is left.
pub fn repository_name(publisher: &str, name: &str) -> Option<(String, Option<String>)> {
    let (name, tag) = match name.rsplit_once(':') {
        Some((base, tag)) if !base.is_empty() && valid_tag(tag) && !tag.contains('/') => {
            (base, Some(tag.to_owned()))
        }
        _ => (name, None),
    };
    let mut parts = vec![component(publisher)];
    parts.extend(name.split('/').map(component));
    parts.retain(|p| !p.is_empty());
    if parts.len() < 2 {
        return None;
    }
    Some((parts.join("/"), tag))
}

/// Whether `tag` is a valid OCI tag (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`).
pub fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `name` is a valid repository name in the OCI grammar (at most 255 characters):
/// `/`-separated components of lower-case letters and digits joined by `.`, `_`, `__` or
/// runs of `-`.
pub fn valid_repository(name: &str) -> bool {
    name.len() <= 255 && name.split('/').all(valid_component)
}

fn valid_component(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !part.starts_with(alnum) || !part.ends_with(alnum) {
        return false;
    }
    part.split(alnum)
        .filter(|run| !run.is_empty())
        .all(|run| matches!(run, "." | "_" | "__") || run.chars().all(|c| c == '-'))
}

/// What a digest of an image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// A manifest or index in the layout, with its media type.
    Manifest {
        /// Its media type (its own `mediaType`, else the descriptor's that reaches it).
        media_type: String,
        /// The file.
        path: PathBuf,
    },
    /// A config or layer in the layout.
    Blob {
        /// The file.
        path: PathBuf,
    },
    /// A referrer manifest the site derives (see [`referrers`]); index into them.
    Referrer(usize),
    /// The blob a derived referrer carries; index into the referrers.
    ReferrerBlob(usize),
    /// The OCI empty blob (`{}`), the config of every derived referrer.
    Empty,
}

/// One released image as the index holds it.
#[derive(Debug, Clone)]
pub struct Image {
    /// Its row.
    pub row: ReleasedImage,
    /// The signed manifest (or index).
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// Its tags.
    pub tags: Vec<String>,
    /// Every object it reaches (the manifest included) and the derived referrers' objects.
    pub objects: HashMap<Digest, Object>,
    /// The derived referrers' descriptors.
    pub referrers: Vec<Descriptor>,
}

/// A repository: its images (oldest first) and tags.
#[derive(Debug, Clone, Default)]
pub struct Repository {
    /// Images, by artifact id.
    pub images: Vec<Image>,
    /// Tag → index into `images`.
    pub tags: BTreeMap<String, usize>,
}

impl Repository {
    /// The image reaching `digest`, and what it is there.
    pub fn find(&self, digest: &Digest) -> Option<(&Image, &Object)> {
        self.images
            .iter()
            .rev()
            .find_map(|image| image.objects.get(digest).map(|o| (image, o)))
    }

    /// The image whose signed manifest is `digest`.
    pub fn image(&self, digest: &Digest) -> Option<&Image> {
        self.images.iter().rev().find(|i| i.digest == *digest)
    }
}

/// Every released image, by repository, as of one registry generation.
#[derive(Debug, Default)]
pub struct Index {
    /// The generation it was built at.
    pub generation: i64,
    /// When the first exception it serves an image by expires: it is stale from then on.
    pub valid_until: Option<DateTime<Utc>>,
    /// Repositories by name.
    pub repositories: BTreeMap<String, Repository>,
    /// Images that could not be indexed (their layout unreadable), with why.
    pub skipped: Vec<(i64, String)>,
}

impl Index {
    /// Whether it still says what is served at `now` when the database is at `generation`:
    /// built at that generation, and no exception it serves an image by has expired since.
    pub fn is_current(&self, generation: i64, now: DateTime<Utc>) -> bool {
        self.generation == generation && self.valid_until.is_none_or(|until| now < until)
    }
}

/// The index, rebuilt when the database's registry generation moves.
#[derive(Debug, Default)]
pub struct Cache {
    current: Mutex<Option<Arc<Index>>>,
}

impl Cache {
    /// The index as of now.
    pub fn index(&self, app: &Appliance) -> Result<Arc<Index>, RegistryError> {
        let generation = store::registry::generation(app.store().read())?;
        let now = app.now();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = current.as_ref()
            && index.is_current(generation, now)
        {
            return Ok(index.clone());
        }
        let index = Arc::new(build(app, generation, now)?);
        *current = Some(index.clone());
        Ok(index)
    }
}

/// Builds the index of every image served at `now`.
fn build(app: &Appliance, generation: i64, now: DateTime<Utc>) -> Result<Index, RegistryError> {
    let rows = store::registry::released_images(app.store().read(), now)?;
    let mut index = Index {
        generation,
        ..Index::default()
    };
    for row in rows {
        if let Some(until) = &row.exception_expires_at {
            // Unreadable: stale at once, so the next request rebuilds rather than serving on.
            let until = DateTime::parse_from_rfc3339(until).map_or(now, |t| t.with_timezone(&Utc));
            index.valid_until = Some(index.valid_until.map_or(until, |v| v.min(until)));
        }
        let Some((repository, name_tag)) = repository_name(&row.publisher, &row.name) else {
            index.skipped.push((
                row.artifact_id,
                format!("no repository name in {:?}", row.name),
            ));
            continue;
        };
        match image(app, row, name_tag) {
            Ok(image) => {
                let repo = index.repositories.entry(repository).or_default();
                let at = repo.images.len();
                for tag in &image.tags {
                    repo.tags.insert(tag.clone(), at);
                }
                repo.images.push(image);
            }
            Err((id, why)) => index.skipped.push((id, why)),
        }
    }
    Ok(index)
}

/// Reads one released image's layout: its tags and every object its signed manifest reaches.
fn image(
    app: &Appliance,
    row: ReleasedImage,
    name_tag: Option<String>,
) -> Result<Image, (i64, String)> {
    let id = row.artifact_id;
    let fail = |why: String| (id, why);
    let layout = app.data().root().join(&row.location);
    let digest = Digest::from_hex(&row.digest).map_err(|_| fail("bad stored digest".into()))?;
    let index_json = read_bounded(&layout.join("index.json"), MAX_MANIFEST)
        .map_err(|e| fail(format!("index.json: {e}")))?;
    let layout_index = Document::layout_index(&index_json).map_err(|e| fail(e.to_string()))?;
    let mut tags: Vec<String> = name_tag.into_iter().collect();
    let mut size = 0;
    for descriptor in &layout_index.manifests {
        if descriptor.sha256("index.json").ok() != Some(digest) {
            continue;
        }
        size = descriptor.size;
        if let Some(tag) = descriptor
            .annotations
            .get("org.opencontainers.image.ref.name")
            && valid_tag(tag)
            && !tags.contains(tag)
        {
            tags.push(tag.clone());
        }
    }
    let mut objects = HashMap::new();
    walk(&layout, digest, row.media_type.clone(), &mut objects).map_err(fail)?;
    let mut image = Image {
        row,
        digest,
        size,
        tags,
        objects,
        referrers: Vec::new(),
    };
    let derived = referrers(app, &image).map_err(|e| fail(e.to_string()))?;
    image.objects.insert(Digest::of(EMPTY_BLOB), Object::Empty);
    for (i, referrer) in derived.iter().enumerate() {
        image
            .objects
            .insert(referrer.descriptor.digest, Object::Referrer(i));
        image
            .objects
            .insert(referrer.blob.digest, Object::ReferrerBlob(i));
    }
    image.referrers = derived.into_iter().map(|r| r.descriptor).collect();
    Ok(image)
}

/// Records `digest` (a manifest or index of `media_type`) and everything it reaches: the
/// walk the import checked (`airlock_bundler::oci`), so what passed is served whole, Docker's
/// lists and nested indexes too.
fn walk(
    layout: &Path,
    digest: Digest,
    media_type: String,
    objects: &mut HashMap<Digest, Object>,
) -> Result<(), String> {
    let mut read = |d: &Digest| -> Result<Served, OciError> {
        read_bounded(&layout.join("blobs/sha256").join(d.hex()), MAX_MANIFEST)
            .map(|bytes| (bytes, None))
            .map_err(|e| OciError::Malformed {
                what: d.to_string(),
                reason: e.to_string(),
            })
    };
    let (bytes, _) = read(&digest).map_err(|e| e.to_string())?;
    let walked = oci::walk(Held { digest, bytes }, Some(&media_type), &mut read)
        .map_err(|e| e.to_string())?;
    for document in walked.documents {
        let digest = document.digest;
        let path = blob_file(layout, &digest);
        objects.insert(
            digest,
            Object::Manifest {
                media_type: document.media_type,
                path,
            },
        );
    }
    for blob in walked.blobs {
        let digest = blob.digest;
        let path = blob_file(layout, &digest);
        objects.insert(digest, Object::Blob { path });
    }
    Ok(())
}

/// A blob's file in an OCI layout.
pub fn blob_file(layout: &Path, digest: &Digest) -> PathBuf {
    layout.join("blobs/sha256").join(digest.hex())
}

fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// An OCI descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of what it points at.
    pub media_type: String,
    /// Its digest.
    #[serde(serialize_with = "display")]
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// The artifact type (referrers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

fn display<S: serde::Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

/// Where a derived referrer's blob comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobSource {
    /// Bytes the site made (the VSA bundle).
    Made(Vec<u8>),
    /// A file the archive carried, kept in the import's evidence.
    Evidence(PathBuf),
}

/// A referrer the site derives for an image: an artifact manifest and the one blob it carries.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// The manifest's descriptor (as the referrers list shows it).
    pub descriptor: Descriptor,
    /// The manifest's bytes.
    pub manifest: Vec<u8>,
    /// The blob's descriptor.
    pub blob: Descriptor,
    /// The blob.
    pub source: BlobSource,
}

#[derive(Debug, Deserialize)]
struct MediaTypeOnly {
    #[serde(rename = "mediaType")]
    media_type: String,
}

/// What kind of evidence a carried blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceKind {
    /// A Sigstore bundle signing the artifact.
    Signature,
    /// An attestation bundle (provenance, SBOM attestation).
    Attestation,
    /// An SBOM file.
    Sbom,
}

/// The evidence an artifact's report lists: each carried blob's digest and kind, and for
/// SBOM files their format line (`CycloneDX 1.5`, `SPDX-2.3`).
pub fn evidence_of(report: &ArtifactReport) -> Vec<(Digest, EvidenceKind, Option<String>)> {
    let mut out = Vec::new();
    for check in &report.signatures {
        out.extend(
            Digest::from_hex(&check.digest)
                .ok()
                .map(|d| (d, EvidenceKind::Signature, None)),
        );
    }
    for check in &report.attestations {
        out.extend(
            Digest::from_hex(&check.digest)
                .ok()
                .map(|d| (d, EvidenceKind::Attestation, None)),
        );
    }
    for sbom in report.sboms.iter().filter(|s| s.source == SbomSource::File) {
        let format = sbom.summary.as_ref().map(|s| s.format.clone());
        out.extend(
            Digest::from_hex(&sbom.digest)
                .ok()
                .map(|d| (d, EvidenceKind::Sbom, format)),
        );
    }
    out
}

/// An artifact's stored report, typed.
pub fn stored_report(app: &Appliance, artifact_id: i64) -> Result<ArtifactReport, RegistryError> {
    let json = store::artifacts::report(app.store().read(), artifact_id)?.unwrap_or_default();
    serde_json::from_str(&json).map_err(|e| RegistryError::Io {
        path: format!("(artifact {artifact_id}'s stored report)").into(),
        source: std::io::Error::other(e),
    })
}

/// A Sigstore bundle v0.3 over a DSSE envelope, verified by a public key (no log entry).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyBundle<'a> {
    media_type: &'static str,
    verification_material: KeyMaterial<'a>,
    dsse_envelope: serde_json::Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyMaterial<'a> {
    public_key: KeyHint<'a>,
    tlog_entries: [(); 0],
}

#[derive(Debug, Serialize)]
struct KeyHint<'a> {
    hint: &'a str,
}

/// The appliance-signed VSA envelope as a Sigstore bundle v0.3 with public-key material (the
/// key's hint is the appliance key id). Verify it with the appliance's public key
/// (`airlock-bundler verify-bundle --key appliance.pub --no-tlog`).
pub fn vsa_bundle(vsa_envelope: &[u8], key_id: &str) -> Result<Vec<u8>, serde_json::Error> {
    let envelope: serde_json::Value = serde_json::from_slice(vsa_envelope)?;
    serde_json::to_vec(&KeyBundle {
        media_type: SIGSTORE_BUNDLE_V03,
        verification_material: KeyMaterial {
            public_key: KeyHint { hint: key_id },
            tlog_entries: [],
        },
        dsse_envelope: envelope,
    })
}

/// The Sigstore bundle media type of a bundle's bytes, as an OCI artifact type
/// (`application/vnd.dev.sigstore.bundle+json;version=0.2` → `…bundle.v0.2+json`).
fn bundle_artifact_type(path: &Path) -> String {
    let media_type = read_bounded(path, crate::pipeline::MAX_EVIDENCE_BUNDLE)
        .ok()
        .and_then(|b| serde_json::from_slice::<MediaTypeOnly>(&b).ok())
        .map(|m| m.media_type)
        .unwrap_or_default();
    match media_type.strip_prefix("application/vnd.dev.sigstore.bundle+json;version=") {
        Some(version) => format!("application/vnd.dev.sigstore.bundle.v{version}+json"),
        None if media_type.starts_with("application/vnd.dev.sigstore.bundle.v") => media_type,
        None => SIGSTORE_BUNDLE_V03.to_owned(),
    }
}

/// The referrers the site derives for `image`: its verdict first, then the evidence the
/// archive carried for it (signatures, attestations, SBOM files), in the report's order.
pub fn referrers(app: &Appliance, image: &Image) -> Result<Vec<Referrer>, RegistryError> {
    let vsa = crate::exception::current_vsa(app.store().read(), image.row.artifact_id, app.now())?
        .unwrap_or_default();
    let report = stored_report(app, image.row.artifact_id)?;
    let evidence_dir = app.data().evidence_of(image.row.import_id);
    let created = image.row.finished_at.clone();
    let subject = Descriptor {
        media_type: image.row.media_type.clone(),
        digest: image.digest,
        size: image.size,
        artifact_type: None,
        annotations: BTreeMap::new(),
    };
    let mut out = Vec::new();
    if !vsa.is_empty()
        && let Ok(bundle) = vsa_bundle(&vsa, &app.key_id().to_string())
    {
        let mut notes = BTreeMap::new();
        notes.insert("dev.sigstore.bundle.content".into(), "dsse-envelope".into());
        notes.insert(
            "dev.sigstore.bundle.predicateType".into(),
            crate::vsa::VSA_PREDICATE_TYPE.into(),
        );
        notes.insert("dev.airlock.evidence".into(), "site-verdict".into());
        let blob = Descriptor {
            media_type: SIGSTORE_BUNDLE_V03.into(),
            digest: Digest::of(&bundle),
            size: bundle.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        };
        out.push(referrer(
            SIGSTORE_BUNDLE_V03,
            blob,
            BlobSource::Made(bundle),
            &subject,
            &created,
            notes,
        ));
    }
    for (digest, kind, format) in evidence_of(&report) {
        let path = blob_file(&evidence_dir, &digest);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let artifact_type = match kind {
            EvidenceKind::Sbom if format.is_some_and(|f| f.starts_with("SPDX")) => {
                SPDX_JSON.to_owned()
            }
            EvidenceKind::Sbom => CYCLONEDX_JSON.to_owned(),
            EvidenceKind::Signature | EvidenceKind::Attestation => bundle_artifact_type(&path),
        };
        let label = match kind {
            EvidenceKind::Signature => "signature",
            EvidenceKind::Attestation => "attestation",
            EvidenceKind::Sbom => "sbom",
        };
        let mut notes = BTreeMap::new();
        notes.insert("dev.airlock.evidence".into(), label.into());
        let blob = Descriptor {
            media_type: artifact_type.clone(),
            digest,
            size: meta.len(),
            artifact_type: None,
            annotations: BTreeMap::new(),
        };
        out.push(referrer(
            &artifact_type,
            blob,
            BlobSource::Evidence(path),
            &subject,
            &created,
            notes,
        ));
    }
    Ok(out)
}

/// An OCI image manifest as an artifact: empty config, one layer, `subject` set.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactManifest<'a> {
    schema_version: u8,
    media_type: &'static str,
    artifact_type: &'a str,
    config: Descriptor,
    layers: [&'a Descriptor; 1],
    subject: &'a Descriptor,
    annotations: &'a BTreeMap<String, String>,
}

fn referrer(
    artifact_type: &str,
    blob: Descriptor,
    source: BlobSource,
    subject: &Descriptor,
    created: &str,
    mut annotations: BTreeMap<String, String>,
) -> Referrer {
    if let Ok(t) = DateTime::parse_from_rfc3339(created) {
        annotations.insert(
            "org.opencontainers.image.created".into(),
            t.with_timezone(&Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
    }
    let manifest = serde_json::to_vec(&ArtifactManifest {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        artifact_type,
        config: Descriptor {
            media_type: OCI_EMPTY.into(),
            digest: Digest::of(EMPTY_BLOB),
            size: EMPTY_BLOB.len() as u64,
            artifact_type: None,
            annotations: BTreeMap::new(),
        },
        layers: [&blob],
        subject,
        annotations: &annotations,
    })
    .expect("invariant: an artifact manifest serializes (derived, string keys)");
    Referrer {
        descriptor: Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: Digest::of(&manifest),
            size: manifest.len() as u64,
            artifact_type: Some(artifact_type.into()),
            annotations,
        },
        manifest,
        blob,
        source,
    }
}

/// Whether an artifact is served (by the registry or the downloads) now: released by a
/// finished import, or failed and released by an exception active now from its quarantine
/// folder, and not withdrawn.
pub fn is_served(app: &Appliance, artifact: &store::ArtifactRow) -> Result<bool, StoreError> {
    let now = app.now();
    let store = app.store();
    let conn = store.read();
    let done = store::imports::get(conn, artifact.import_id)?
        .is_some_and(|i| i.state == store::ImportState::Done);
    let location = artifact.location.as_deref().unwrap_or_default();
    let released = if artifact.verdict == crate::report::Verdict::Failed {
        location.starts_with("quarantine/")
            && store::exceptions::active_of(conn, artifact.id, now)?.is_some()
    } else {
        location.starts_with("released/")
    };
    Ok(done && released && store::registry::withdrawal(conn, artifact.id)?.is_none())
}

/// A new pull token: 32 random bytes, base64url without padding, prefixed `alp_`.
pub fn generate_token() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use rand_core::{OsRng, RngCore as _};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("alp_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 a token is stored as.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who may pull: a live pull token (with its scope) or anyone, when anonymous pull is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Puller {
    /// A pull token, by id and name, limited to repositories under `scope` if set.
    Token {
        /// Its id.
        id: i64,
        /// Its name.
        name: String,
        /// The repository prefix.
        scope: Option<String>,
    },
    /// No token; anonymous pull is on.
    Anonymous,
}

impl Puller {
    /// Whether this puller may read `repository`.
    pub fn may_read(&self, repository: &str) -> bool {
        match self {
            Self::Anonymous | Self::Token { scope: None, .. } => true,
            Self::Token {
                scope: Some(scope), ..
            } => {
                let scope = scope.trim_end_matches('/');
                repository == scope
                    || repository
                        .strip_prefix(scope)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

/// Why a pull credential was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PullDenied {
    /// No credential, and anonymous pull is off.
    #[error("a pull token is required")]
    Missing,
    /// Not a token this site issued.
    #[error("unknown pull token")]
    Unknown,
    /// Revoked.
    #[error("pull token {0} was revoked")]
    Revoked(String),
    /// Expired.
    #[error("pull token {0} expired")]
    Expired(String),
}

/// Checks a presented pull token (or none) at `now`.
pub fn authorize(
    app: &Appliance,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Result<Puller, PullDenied>, RegistryError> {
    let store = app.store();
    let conn = store.read();
    let Some(token) = token else {
        let anonymous =
            store::settings::get(conn, crate::settings::ANONYMOUS_PULL)?.as_deref() == Some("true");
        return Ok(if anonymous {
            Ok(Puller::Anonymous)
        } else {
            Err(PullDenied::Missing)
        });
    };
    let Some(row) = store::registry::token_by_hash(conn, &token_hash(token))? else {
        return Ok(Err(PullDenied::Unknown));
    };
    if row.revoked_at.is_some() {
        return Ok(Err(PullDenied::Revoked(row.name)));
    }
    if let Some(expires) = &row.expires_at
        && DateTime::parse_from_rfc3339(expires).map_or(true, |t| t <= now)
    {
        return Ok(Err(PullDenied::Expired(row.name)));
    }
    Ok(Ok(Puller::Token {
        id: row.id,
        name: row.name,
        scope: row.scope,
    }))
}

/// Decodes `Basic` credentials' password (`user:password`, base64).
pub fn basic_password(encoded: &str) -> Option<String> {
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_index_is_stale_once_the_generation_moves_or_an_exception_it_serves_by_expires() {
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        let mut index = Index {
            generation: 7,
            ..Index::default()
        };
        assert!(index.is_current(7, at("2030-01-01T00:00:00Z")));
        assert!(!index.is_current(8, at("2026-01-01T00:00:00Z")));
        index.valid_until = Some(at("2026-12-10T00:00:00Z"));
        assert!(index.is_current(7, at("2026-12-09T23:59:59Z")));
        assert!(!index.is_current(7, at("2026-12-10T00:00:00Z")));
    }

    #[test]
    fn repository_names_follow_the_oci_grammar() {
        let cases = [
            ("acme", "tool", Some(("acme/tool", None))),
            ("Acme Corp", "Web App", Some(("acme-corp/web-app", None))),
            ("acme", "team/app:1.2", Some(("acme/team/app", Some("1.2")))),
            ("acme", "app.v2_x", Some(("acme/app.v2_x", None))),
            ("acme", "--app--", Some(("acme/app", None))),
            ("acme", "a..b", Some(("acme/a-b", None))),
            ("acme", "!!!", None),
            ("", "app", None),
        ];
        for (publisher, name, want) in cases {
            let got = repository_name(publisher, name);
            let want =
                want.map(|(r, t): (&str, Option<&str>)| (r.to_owned(), t.map(str::to_owned)));
            assert_eq!(got, want, "{publisher:?} {name:?}");
            if let Some((repo, _)) = &got {
                assert!(valid_repository(repo), "{repo}");
            }
        }
    }

    #[test]
    fn names_and_tags_outside_the_grammar_are_refused() {
        for bad in [
            "", "A/b", "a//b", "-a", "a-", "../a", "a/..", "a/.b", "a b", "a._b", "a___b",
        ] {
            assert!(!valid_repository(bad), "{bad:?}");
        }
        for good in ["a", "a/b", "a.b/c__d/e---f"] {
            assert!(valid_repository(good), "{good:?}");
        }
        assert!(valid_tag("v1.2.3-rc_1"));
        for bad in ["", ".x", "-x", "a/b", &"x".repeat(129)] {
            assert!(!valid_tag(bad), "{bad:?}");
        }
    }

    #[test]
    fn digests_are_sha256_lower_hex_only() {
        let hex64 = "ab".repeat(32);
        assert!(format!("sha256:{hex64}").parse::<Digest>().is_ok());
        for bad in [
            format!("sha512:{hex64}"),
            format!("sha256:{}", hex64.to_uppercase()),
            format!("sha256:{}", &hex64[..62]),
            format!("sha256:../{}", &hex64[..61]),
            hex64.clone(),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_scoped_token_reads_its_prefix_only() {
        let token = |scope: &str| Puller::Token {
            id: 1,
            name: "ci".into(),
            scope: Some(scope.into()),
        };
        assert!(token("acme/").may_read("acme/tool"));
        assert!(token("acme").may_read("acme/tool"));
        assert!(!token("acme").may_read("acmex/tool"));
        assert!(token("acme/tool").may_read("acme/tool"));
        assert!(!token("acme/tool").may_read("acme/toolbox"));
        assert!(Puller::Anonymous.may_read("anything/x"));
    }

    #[test]
    fn basic_credentials_give_the_password() {
        let encoded = STANDARD.encode("machine:alp_secret:with:colons");
        assert_eq!(
            basic_password(&encoded).as_deref(),
            Some("alp_secret:with:colons")
        );
        assert_eq!(basic_password("!!"), None);
    }
}
