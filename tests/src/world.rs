//! A whole connected side for end-to-end tests and the demo: a private Sigstore instance,
//! its TUF repository (dated around the real clock, as archives are judged at their creation
//! time), its log served over HTTPS on loopback, a publisher key, and archives built with
//! `airlock-bundler`'s `create` from artifacts described in code.

use std::path::{Path, PathBuf};

use airlock_bundler::archive::{
    ArchiveParts, BlobSource, Manifest, PlannedBlob, PublisherKeys, WriteOptions, read_archive,
    sign_manifest, write_archive,
};
use airlock_bundler::create::{self, CreateOptions, NoProgress};
use airlock_bundler::keys::{self, GeneratedKey};
use airlock_bundler::spec::Spec;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::{
    DigestAlgorithm, Instance, KitError, LogServer, Package, Predicate, Provenance, Result, Shape,
    SignOptions, TlsMaterial, TufRepo, TufRepoBuilder,
};

/// The identity the world's trusted pipeline signs as.
pub const TRUSTED_IDENTITY: &str =
    "https://git.example.internal/platform/release/.ci/release.yml@refs/heads/main";
/// Someone else's pipeline in the same CI.
pub const UNTRUSTED_IDENTITY: &str =
    "https://git.example.internal/someone/fork/.ci/release.yml@refs/heads/main";
/// The CI's OIDC issuer.
pub const ISSUER: &str = "https://token.ci.example.internal";
/// The builder the world's provenance names.
pub const BUILDER_ID: &str = "https://ci.example.internal/builders/hermetic@v2";
/// The source repository the world's provenance names.
pub const SOURCE_URI: &str = "git+https://git.example.internal/platform/release";
/// The TUF repository's name.
pub const TUF_NAME: &str = "private-sigstore";

/// How an artifact is signed.
#[derive(Debug, Clone)]
pub enum Signing {
    /// By [`TRUSTED_IDENTITY`].
    Trusted,
    /// By another identity.
    As(String),
    /// Not at all.
    Unsigned,
}

/// One artifact to pack.
#[derive(Debug, Clone)]
pub struct ArtifactPlan {
    /// Its name in the archive.
    pub name: String,
    /// Its bytes.
    pub content: Vec<u8>,
    /// Who signs it.
    pub signing: Signing,
    /// SLSA v1 provenance by the trusted identity, naming this builder id.
    pub provenance: Option<String>,
    /// A CycloneDX SBOM file listing these packages.
    pub sbom: Option<Vec<Package>>,
    /// An OCI image layout to pack instead of a file (`content` is then its image manifest,
    /// which is what the signatures cover).
    pub oci_layout: Option<PathBuf>,
    /// More SBOM files, packed as they are (hostile or broken ones included).
    pub extra_sboms: Vec<PathBuf>,
    /// More attestation bundles, packed as they are (hostile or broken ones included).
    pub extra_attestations: Vec<PathBuf>,
    /// How the provenance attestation is minted: its bundle shape (e.g. an `intoto 0.0.2`
    /// entry) and the digests its subject names the artifact by (empty: SHA-256).
    pub provenance_form: (Shape, Vec<DigestAlgorithm>),
    /// Sigstore bundles carried as given (real-world ones), besides any minted signature.
    pub given_bundles: Vec<Vec<u8>>,
}

impl ArtifactPlan {
    /// A file signed by the trusted identity, with provenance from [`BUILDER_ID`] and an SBOM.
    pub fn complete(name: &str, content: &[u8]) -> Self {
        Self {
            name: name.to_owned(),
            content: content.to_vec(),
            signing: Signing::Trusted,
            provenance: Some(BUILDER_ID.to_owned()),
            sbom: Some(vec![Package {
                name: "zlib".into(),
                version: "1.3.1".into(),
            }]),
            oci_layout: None,
            extra_sboms: Vec::new(),
            extra_attestations: Vec::new(),
            provenance_form: Default::default(),
            given_bundles: Vec::new(),
        }
    }

    /// An OCI image layout with one image (as `buildah push oci:` writes), signed by the
    /// trusted identity with provenance and an SBOM.
    pub fn image(name: &str, layout: &Path) -> Result<Self> {
        let index_path = layout.join("index.json");
        let index: serde_json::Value = std::fs::read(&index_path)
            .map_err(io(&index_path))
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| invalid("index.json", e)))?;
        let digest = index["manifests"][0]["digest"]
            .as_str()
            .and_then(|d| d.strip_prefix("sha256:"))
            .ok_or_else(|| invalid("index.json", "no sha256 manifest"))?;
        let manifest_path = layout.join("blobs/sha256").join(digest);
        let manifest = std::fs::read(&manifest_path).map_err(io(&manifest_path))?;
        Ok(Self {
            oci_layout: Some(layout.to_owned()),
            content: manifest,
            ..Self::complete(name, b"")
        })
    }

    /// A file signed by the trusted identity, nothing more.
    pub fn signed(name: &str, content: &[u8]) -> Self {
        Self {
            name: name.to_owned(),
            content: content.to_vec(),
            signing: Signing::Trusted,
            provenance: None,
            sbom: None,
            oci_layout: None,
            extra_sboms: Vec::new(),
            extra_attestations: Vec::new(),
            provenance_form: Default::default(),
            given_bundles: Vec::new(),
        }
    }

    /// A file carrying only the given Sigstore bundles (real-world ones), nothing minted.
    pub fn with_bundles(name: &str, content: &[u8], bundles: Vec<Vec<u8>>) -> Self {
        Self {
            signing: Signing::Unsigned,
            given_bundles: bundles,
            ..Self::signed(name, content)
        }
    }
}

/// The connected side.
#[derive(Debug)]
pub struct World {
    dir: PathBuf,
    seed: u64,
    tuf_time: DateTime<Utc>,
    /// The private Sigstore instance (sign more, grow its log).
    pub sigstore: Instance,
    tuf: TufRepo,
    tls: TlsMaterial,
    log: LogServer,
    publisher: GeneratedKey,
    signed: usize,
}

impl World {
    /// A world in `dir` (created). `seed` fixes every key; `tuf_time` dates the TUF repository
    /// (its timestamp is valid 7 days from then).
    pub fn new(seed: u64, dir: &Path, tuf_time: DateTime<Utc>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let sigstore = Instance::new(seed, tuf_time - Duration::hours(1))?;
        let tuf = tuf_builder(seed, tuf_time, &sigstore)?.write(&dir.join("tuf"))?;
        std::fs::write(dir.join("tuf/1.root.json"), &tuf.initial_root).map_err(io(dir))?;
        let now = Utc::now().timestamp();
        let tls = TlsMaterial::new(seed + 2, now - 3600, now + 30 * 86_400)?;
        let log = LogServer::start_https(sigstore.log(), &tls)?;
        let publisher = keys::generate(&dir.join("publisher"), None)
            .map_err(|e| invalid("publisher key", e))?;
        Ok(Self {
            dir: dir.to_owned(),
            seed,
            tuf_time,
            sigstore,
            tuf,
            tls,
            log,
            publisher,
            signed: 0,
        })
    }

    /// The TLS material its loopback servers use (`create` trusts its CA).
    pub fn tls(&self) -> &TlsMaterial {
        &self.tls
    }

    /// The folder everything is written in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The time the TUF repository is dated (its timestamp expires 7 days later).
    pub fn tuf_time(&self) -> DateTime<Utc> {
        self.tuf_time
    }

    /// The pinned TUF root a site gets out of band.
    pub fn tuf_root(&self) -> &[u8] {
        &self.tuf.initial_root
    }

    /// The pinned root's path.
    pub fn tuf_root_path(&self) -> PathBuf {
        self.dir.join("tuf/1.root.json")
    }

    /// The publisher key files.
    pub fn publisher(&self) -> &GeneratedKey {
        &self.publisher
    }

    /// Serves the instance's log as it is now (after appending to it).
    pub fn publish_log(&self) {
        self.log.set_log(self.sigstore.log());
    }

    /// The publisher's signing key.
    pub fn publisher_key(&self) -> Result<SigningKey> {
        keys::load_signing_key(&self.publisher.key_path, || {
            Err(keys::KeyError::PromptNeedsTerminal)
        })
        .map_err(|e| invalid("publisher key", e))
    }

    /// Rewrites the TUF repository from the same keys and trusted root: `edit` gets the builder
    /// the world started with (every role version 1, dated `tuf_time`) and may change role
    /// versions and expiries. The pinned root is unchanged as long as `edit` does not rotate it.
    pub fn rewrite_tuf(
        &mut self,
        edit: impl FnOnce(TufRepoBuilder) -> TufRepoBuilder,
    ) -> Result<()> {
        let dir = self.dir.join("tuf");
        for sub in ["metadata", "targets"] {
            let path = dir.join(sub);
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
        let builder = tuf_builder(self.seed, self.tuf_time, &self.sigstore)?;
        let tuf = edit(builder).write(&dir)?;
        if tuf.initial_root != self.tuf.initial_root {
            return Err(KitError::Invalid {
                what: "TUF rewrite",
                detail: "the edit changed the pinned root".into(),
            });
        }
        self.tuf = tuf;
        Ok(())
    }

    /// Packs `artifacts` into `NAME.airlock.tar.zst` with the publisher `sequence`. When
    /// `witness_state` is given, proofs from its sizes are carried.
    pub fn archive(
        &mut self,
        name: &str,
        sequence: u64,
        artifacts: &[ArtifactPlan],
        witness_state: Option<&Path>,
    ) -> Result<PathBuf> {
        self.archive_at(name, sequence, artifacts, witness_state, Utc::now())
    }

    /// As [`World::archive`], created at `now` (the manifest's `created_at`, and the time the
    /// bundler judges TUF expiry at).
    pub fn archive_at(
        &mut self,
        name: &str,
        sequence: u64,
        artifacts: &[ArtifactPlan],
        witness_state: Option<&Path>,
        now: DateTime<Utc>,
    ) -> Result<PathBuf> {
        let mut spec = self.spec_head(sequence);
        for plan in artifacts {
            spec.push_str(&self.stage(plan)?);
        }
        self.publish_log();
        let spec_path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&spec_path, spec).map_err(io(&spec_path))?;
        let spec = Spec::load(&spec_path).map_err(|e| invalid("spec", e))?;
        let key = self.publisher_key()?;
        let output = self.dir.join(format!("{name}.airlock.tar.zst"));
        let options = CreateOptions {
            output: output.clone(),
            write: Default::default(),
            allow_failing: true,
            witness_state: witness_state.map(Path::to_owned),
            extra_ca_pem: Some(self.tls.ca_pem().into_bytes()),
            now,
            sequence: None,
            collect: Default::default(),
        };
        create::create(&spec, &[&key], &options, &NoProgress).map_err(|e| invalid("create", e))?;
        Ok(output)
    }

    /// Packs `[[artifact]]` (and `[[registry]]`) tables given as TOML, such as images to pull
    /// from a registry, into `NAME.airlock.tar.zst` with `collect`'s settings; preflight
    /// must pass. The inner result is `create`'s error as its message.
    pub fn archive_tables(
        &mut self,
        name: &str,
        sequence: u64,
        tables: &str,
        witness_state: Option<&Path>,
        collect: airlock_bundler::collect::CollectOptions,
    ) -> Result<std::result::Result<PathBuf, String>> {
        let spec_path = self.spec_tables(name, sequence, tables)?;
        let spec = Spec::load(&spec_path).map_err(|e| invalid("spec", e))?;
        let key = self.publisher_key()?;
        let output = self.dir.join(format!("{name}.airlock.tar.zst"));
        let options = CreateOptions {
            output: output.clone(),
            write: Default::default(),
            allow_failing: false,
            witness_state: witness_state.map(Path::to_owned),
            extra_ca_pem: Some(self.tls.ca_pem().into_bytes()),
            now: Utc::now(),
            sequence: None,
            collect,
        };
        Ok(create::create(&spec, &[&key], &options, &NoProgress)
            .map(|_| output)
            .map_err(|e| e.to_string()))
    }

    /// Writes `NAME.toml`, a spec of the world's publisher, trust and log tables followed by
    /// `tables`, for `airlock-bundler create --spec` (its paths are relative to the world's
    /// folder); the log is served as it is now.
    pub fn spec_tables(&self, name: &str, sequence: u64, tables: &str) -> Result<PathBuf> {
        let spec = format!("{}{tables}", self.spec_head(sequence));
        self.publish_log();
        let spec_path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&spec_path, spec).map_err(io(&spec_path))?;
        Ok(spec_path)
    }

    /// The spec's publisher, trust and log tables.
    fn spec_head(&self, sequence: u64) -> String {
        format!(
            "[publisher]\nname = \"release-team\"\nsequence = {sequence}\nsite = \"plant-3\"\n\n\
             [[trust]]\nname = \"{TUF_NAME}\"\nroot = \"tuf/1.root.json\"\nmetadata = \"tuf/metadata\"\n\
             targets = \"tuf/targets\"\n\n[[log]]\nurl = \"{}\"\napi = \"rekor-v1\"\n",
            self.log.url()
        )
    }

    /// Re-packs an archive this world built as `NAME.airlock.tar.zst` after `edit` changed its
    /// manifest (a hostile or broken publisher: dropped proofs, another `created_at`), signed by
    /// the publisher key as `create` signs. Nothing is checked: the site must find the problem.
    pub fn repack(
        &self,
        archive: &Path,
        name: &str,
        edit: impl FnOnce(&mut Manifest),
    ) -> Result<PathBuf> {
        let key = self.publisher_key()?;
        self.repack_signed_by(archive, name, edit, &[&key])
    }

    /// As [`World::repack`], signed by `signers` instead of the publisher key.
    pub fn repack_signed_by(
        &self,
        archive: &Path,
        name: &str,
        edit: impl FnOnce(&mut Manifest),
        signers: &[&SigningKey],
    ) -> Result<PathBuf> {
        let own = PublisherKeys::any_of([self.publisher_key()?.verifying_key()])
            .map_err(|e| invalid("publisher keys", e))?;
        let staging = self.dir.join(format!(".{name}.repack"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        let staged = read_archive(
            &ArchiveParts::from_paths(vec![archive.to_owned()]),
            &own,
            &staging,
            &mut (),
        )
        .map_err(|e| invalid("archive to repack", e))?;
        let mut manifest = staged.manifest().clone();
        edit(&mut manifest);
        let envelope = sign_manifest(&manifest.to_json(), signers);
        let blobs: Vec<PlannedBlob> = manifest
            .blobs
            .iter()
            .map(|b| PlannedBlob {
                digest: b.digest,
                size: b.size,
                source: BlobSource::File(staged.blob_path(&b.digest)),
            })
            .collect();
        let output = self.dir.join(format!("{name}.airlock.tar.zst"));
        write_archive(
            &output,
            &envelope,
            &blobs,
            &WriteOptions::default(),
            &mut |_| {},
        )
        .map_err(|e| invalid("repacked archive", e))?;
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        Ok(output)
    }

    /// Writes an artifact's files and evidence; returns its `[[artifact]]` table.
    fn stage(&mut self, plan: &ArtifactPlan) -> Result<String> {
        self.signed += 1;
        let n = self.signed;
        let mut table = format!("\n[[artifact]]\nname = {}\n", toml_string(&plan.name));
        match &plan.oci_layout {
            Some(layout) => {
                let layout = std::path::absolute(layout).map_err(io(layout))?;
                let layout = layout
                    .to_str()
                    .ok_or_else(|| invalid("layout", "not UTF-8"))?;
                table.push_str(&format!("oci_layout = {}\n", toml_string(layout)));
            }
            None => {
                let file = format!("a{n}.bin");
                std::fs::write(self.dir.join(&file), &plan.content).map_err(io(&self.dir))?;
                table.push_str(&format!("file = \"{file}\"\n"));
            }
        }
        let identity = match &plan.signing {
            Signing::Trusted => Some(TRUSTED_IDENTITY.to_owned()),
            Signing::As(who) => Some(who.clone()),
            Signing::Unsigned => None,
        };
        let mut bundles = Vec::new();
        if let Some(identity) = &identity {
            let bundle = self
                .sigstore
                .sign_blob(&plan.content, &SignOptions::workload(identity, ISSUER))?;
            bundles.push(bundle.json);
        }
        bundles.extend(plan.given_bundles.iter().cloned());
        if !bundles.is_empty() {
            let mut paths = Vec::new();
            for (i, json) in bundles.iter().enumerate() {
                let path = format!("a{n}.{i}.sigstore.json");
                std::fs::write(self.dir.join(&path), json).map_err(io(&self.dir))?;
                paths.push(toml_string(&path));
            }
            table.push_str(&format!("bundles = [{}]\n", paths.join(", ")));
        }
        let mut attestations = Vec::new();
        if let Some(builder) = &plan.provenance {
            let predicate = Predicate::SlsaV1(Provenance {
                builder_id: builder.clone(),
                build_type: "https://ci.example.internal/build/v1".into(),
                source_uri: SOURCE_URI.into(),
                source_commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
            });
            let (shape, subject_digests) = &plan.provenance_form;
            let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER).with_shape(*shape);
            let bundle = if subject_digests.is_empty() {
                let digest: [u8; 32] = Sha256::digest(&plan.content).into();
                self.sigstore
                    .attest(&plan.name, digest, &predicate, &opts)?
            } else {
                self.sigstore.attest_bytes(
                    &plan.name,
                    &plan.content,
                    subject_digests,
                    &predicate,
                    &opts,
                )?
            };
            let path = format!("a{n}.provenance.json");
            std::fs::write(self.dir.join(&path), &bundle.json).map_err(io(&self.dir))?;
            attestations.push(path);
        }
        for extra in &plan.extra_attestations {
            let extra = std::path::absolute(extra).map_err(io(extra))?;
            let extra = extra
                .to_str()
                .ok_or_else(|| invalid("attestation", "not UTF-8"))?;
            attestations.push(extra.to_owned());
        }
        if !attestations.is_empty() {
            let list: Vec<String> = attestations.iter().map(|p| toml_string(p)).collect();
            table.push_str(&format!("attestations = [{}]\n", list.join(", ")));
        }
        let mut sboms = Vec::new();
        if let Some(packages) = &plan.sbom {
            let components: Vec<serde_json::Value> = packages
                .iter()
                .map(|p| serde_json::json!({"type": "library", "name": p.name, "version": p.version}))
                .collect();
            let sbom = serde_json::json!({
                "bomFormat": "CycloneDX",
                "specVersion": "1.5",
                "components": components,
            });
            let path = format!("a{n}.cdx.json");
            std::fs::write(self.dir.join(&path), sbom.to_string()).map_err(io(&self.dir))?;
            sboms.push(path);
        }
        for extra in &plan.extra_sboms {
            let extra = std::path::absolute(extra).map_err(io(extra))?;
            let extra = extra.to_str().ok_or_else(|| invalid("sbom", "not UTF-8"))?;
            sboms.push(extra.to_owned());
        }
        if !sboms.is_empty() {
            let list: Vec<String> = sboms.iter().map(|p| toml_string(p)).collect();
            table.push_str(&format!("sboms = [{}]\n", list.join(", ")));
        }
        Ok(table)
    }
}

/// The world's TUF repository as first built: the instance's trusted root, every role at
/// version 1, dated `tuf_time`.
fn tuf_builder(seed: u64, tuf_time: DateTime<Utc>, sigstore: &Instance) -> Result<TufRepoBuilder> {
    Ok(TufRepoBuilder::new(seed + 1, tuf_time).trusted_root(sigstore.trusted_root_json()?))
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    // serde_json's string escaping is valid TOML basic-string escaping for these inputs.
    serde_json::to_string(s).unwrap_or_default()
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> KitError + '_ {
    move |e| KitError::Invalid {
        what: "world file",
        detail: format!("{}: {e}", path.display()),
    }
}

fn invalid(what: &'static str, e: impl std::fmt::Display) -> KitError {
    KitError::Invalid {
        what,
        detail: e.to_string(),
    }
}
