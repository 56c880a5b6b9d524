//! The offline check of an archive's contents, as the site will make it: TUF trust as of a
//! reference time, log checkpoints and the consistency proofs between them, every Sigstore
//! bundle completely, each log entry witnessed by the carried checkpoint, and SBOMs parsed.
//! `create` runs it before export (preflight) and `verify` runs it on a finished archive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use airlock_trust_root::{
    Artifact as Subject, Bundle, CertificateIdentity, InclusionEvidence, LocalRepository,
    MAX_BUNDLE_SIZE, Matcher, RepositoryName, SignedCheckpoint, SignerFacts, SignerPolicy,
    TrustState, TrustedRoot, VerifiedRepository, Verifier, verify_checkpoint, verify_consistency,
};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::archive::{Artifact, Manifest, Sha256Digest, TrustRepository};

/// Largest SBOM the check parses.
pub const MAX_SBOM_SIZE: u64 = 64 << 20;

/// Largest signed payload the check reads (cosign's simple-signing payloads are a few
/// hundred bytes).
pub const MAX_SIGNED_PAYLOAD: u64 = 64 << 10;

/// The `critical.type` of a cosign simple-signing payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

/// What a bundle in the manifest signs: the artifact itself (`evidence.bundles`,
/// `evidence.attestations`), or a payload that names it (`evidence.signed_payloads`). Both
/// checkers, the connected side's and the site's, verify a bundle against
/// [`Signed::subject`] and then require [`Signed::names`], so they hold the same rule.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// The artifact: its digests.
    Artifact,
    /// A cosign simple-signing payload's bytes.
    Payload(&'a [u8]),
}

impl<'a> Signed<'a> {
    /// What the bundle's signature (and log entry) must cover.
    pub fn subject(&self, artifact: &Artifact) -> Subject<'a> {
        match self {
            Self::Artifact => Subject::Digests(artifact.verifier_digests()),
            Self::Payload(bytes) => Subject::Bytes(bytes),
        }
    }

    /// After the bundle verified: a payload must name the artifact.
    pub fn names(&self, artifact: &Artifact) -> Result<(), PayloadError> {
        match self {
            Self::Artifact => Ok(()),
            Self::Payload(bytes) => payload_names(bytes, &artifact.digest),
        }
    }
}

/// Why a signed payload does not bind its signature to the artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// It is not a simple-signing payload.
    #[error("signed payload is not a cosign simple-signing payload: {0}")]
    Malformed(String),
    /// Its `critical.type` is another one.
    #[error("signed payload's critical.type is {0:?}, not {SIMPLE_SIGNING_TYPE:?}")]
    Type(String),
    /// It names another image.
    #[error("signed payload names image {named}, not the artifact's digest {artifact}")]
    OtherImage {
        /// `critical.image.docker-manifest-digest`.
        named: String,
        /// The artifact's digest.
        artifact: Sha256Digest,
    },
}

/// The part of a simple-signing payload that binds it to an image (`optional` and
/// `critical.identity` are claims people read, not checked).
#[derive(serde::Deserialize)]
struct SimpleSigning {
    critical: Critical,
}

#[derive(serde::Deserialize)]
struct Critical {
    image: CriticalImage,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(serde::Deserialize)]
struct CriticalImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Checks that a cosign simple-signing payload names `digest`: its `critical.type` is
/// [`SIMPLE_SIGNING_TYPE`] and `critical.image.docker-manifest-digest` is exactly `digest`.
pub fn payload_names(payload: &[u8], digest: &Sha256Digest) -> Result<(), PayloadError> {
    let parsed: SimpleSigning =
        serde_json::from_slice(payload).map_err(|e| PayloadError::Malformed(e.to_string()))?;
    if parsed.critical.kind != SIMPLE_SIGNING_TYPE {
        return Err(PayloadError::Type(parsed.critical.kind));
    }
    if parsed.critical.image.docker_manifest_digest != digest.to_string() {
        return Err(PayloadError::OtherImage {
            named: parsed.critical.image.docker_manifest_digest,
            artifact: *digest,
        });
    }
    Ok(())
}

/// Why the archive as a whole cannot be trusted (as opposed to one artifact failing).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A TUF repository did not verify.
    #[error("trust repository {name}: {source}")]
    Trust {
        /// The repository.
        name: String,
        /// tough's or our verdict.
        source: airlock_trust_root::TufError,
    },
    /// No pinned root was given for a repository the archive carries.
    #[error("trust repository {0:?}: no pinned root for it (the site pins it at init)")]
    NoPinnedRoot(String),
    /// The verified trusted_root.json does not parse.
    #[error("trust repository {name}: trusted_root.json: {reason}")]
    TrustedRoot {
        /// The repository.
        name: String,
        /// Why.
        reason: String,
    },
    /// Bundles were carried without any trust repository to check them against.
    #[error(
        "the archive carries Sigstore bundles but no trust repository, and none was accepted before"
    )]
    NoTrust,
    /// A trusted root the checker accepted before does not parse.
    #[error("trust repository {name}: the trusted_root.json accepted before: {reason}")]
    StoredRoot {
        /// The repository.
        name: String,
        /// Why.
        reason: String,
    },
    /// A log's checkpoint is not signed by that log's key in the trusted root.
    #[error("log {origin}: checkpoint: {reason}")]
    Checkpoint {
        /// The log's origin.
        origin: String,
        /// Why.
        reason: String,
    },
    /// A consistency proof that does not verify: the log's history was rewritten.
    #[error("log {origin}: tree of size {from_size} is not a prefix of size {to_size}: fork")]
    LogFork {
        /// The log's origin.
        origin: String,
        /// The earlier size.
        from_size: u64,
        /// The later size.
        to_size: u64,
    },
    /// A blob could not be read.
    #[error("blob {digest}: {reason}")]
    Blob {
        /// The blob.
        digest: Sha256Digest,
        /// Why.
        reason: String,
    },
}

/// Who must have signed an artifact.
#[derive(Debug, Clone)]
pub struct SignerRule {
    /// Any of these signers is accepted.
    pub signers: Vec<SignerPolicy>,
}

impl SignerRule {
    /// Accepts any certificate identity from any issuer (the connected side's default: the
    /// site's policy decides identities; the report names them).
    pub fn any_identity() -> Self {
        let any = || Matcher::pattern(".*").unwrap_or_else(|_| unreachable!(".* is a valid regex"));
        Self {
            signers: vec![SignerPolicy::Keyless(CertificateIdentity {
                subject: any(),
                issuer: any(),
            })],
        }
    }
}

/// What to check against.
#[derive(Debug)]
pub struct CheckInput<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// Pinned initial roots by repository name.
    pub pinned_roots: &'a BTreeMap<String, Vec<u8>>,
    /// Judge TUF expiry at this time.
    pub trust_at: DateTime<Utc>,
    /// The signer rule for each artifact name; `default` for the others.
    pub rules: &'a BTreeMap<String, SignerRule>,
    /// The rule for artifacts without their own.
    pub default_rule: &'a SignerRule,
}

/// The result of a check that got as far as the artifacts.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// Each trust repository as verified.
    pub trust: Vec<TrustOutcome>,
    /// Each log's witnessed head.
    pub logs: Vec<LogOutcome>,
    /// Each artifact's verdict.
    pub artifacts: Vec<ArtifactOutcome>,
}

impl CheckReport {
    /// Whether every artifact passed.
    pub fn all_passed(&self) -> bool {
        self.artifacts.iter().all(|a| a.passed)
    }
}

/// A verified trust repository.
#[derive(Debug, Serialize)]
pub struct TrustOutcome {
    /// Its name.
    pub name: String,
    /// The root version reached.
    pub root_version: u64,
    /// Hex SHA-256 of its trusted_root.json.
    pub trusted_root_sha256: String,
}

/// A log's head as witnessed from the archive.
#[derive(Debug, Serialize)]
pub struct LogOutcome {
    /// The origin.
    pub origin: String,
    /// Tree size of the carried checkpoint.
    pub size: u64,
    /// Its root hash (hex).
    pub root_hash: String,
    /// Consistency proofs verified from the checkpoint of a carried log entry.
    pub proofs_verified: usize,
    /// Proofs from sizes no carried entry has (from the site's witness state: the site
    /// checks them against the checkpoints it stored).
    pub proofs_for_site: usize,
}

/// One artifact's verdict and the evidence behind it.
#[derive(Debug, Serialize)]
pub struct ArtifactOutcome {
    /// Its name.
    pub name: String,
    /// Its digest.
    pub digest: Sha256Digest,
    /// True when every piece of evidence verified and at least one signature matched.
    pub passed: bool,
    /// What was checked, one line each.
    pub evidence: Vec<EvidenceOutcome>,
    /// Why it failed (empty when it passed).
    pub problems: Vec<String>,
}

/// One piece of evidence.
#[derive(Debug, Serialize)]
pub struct EvidenceOutcome {
    /// `bundle`, `attestation` or `sbom`.
    pub kind: &'static str,
    /// The blob.
    pub digest: Sha256Digest,
    /// Whether it verified.
    pub ok: bool,
    /// Signer and issuer, predicate type, SBOM format — or the error.
    pub detail: String,
}

/// Reads a blob's bytes, refusing ones larger than the limit; errors are one line.
pub type ReadBlob<'a> = dyn Fn(&Sha256Digest, u64) -> Result<Vec<u8>, String> + 'a;

/// Runs the whole check. `read_blob` returns a blob's bytes (bounded by `limit`).
pub fn check(
    input: &CheckInput<'_>,
    read_blob: &ReadBlob<'_>,
    repositories_dir: &Path,
) -> Result<CheckReport, CheckError> {
    let manifest = input.manifest;
    let known: BTreeMap<String, KnownRepository> = input
        .pinned_roots
        .iter()
        .map(|(name, root)| (name.clone(), KnownRepository::pinned(root.clone())))
        .collect();
    let checked = check_trust(
        manifest,
        &known,
        input.trust_at,
        read_blob,
        repositories_dir,
    )?;
    let trust = checked
        .carried
        .iter()
        .map(|(name, verified)| TrustOutcome {
            name: name.clone(),
            root_version: verified.roles().first().map_or(0, |r| r.version),
            trusted_root_sha256: verified.trusted_root().sha256().to_owned(),
        })
        .collect();
    let verifiers = checked.verifiers;

    let heads = log_heads(manifest, &verifiers)?;
    let mut witnessed = BTreeSet::new();
    let artifacts = manifest
        .artifacts
        .iter()
        .map(|artifact| {
            let rule = input
                .rules
                .get(&artifact.name)
                .unwrap_or(input.default_rule);
            check_artifact(
                artifact,
                rule,
                &verifiers,
                &heads,
                &mut witnessed,
                read_blob,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let logs = heads
        .iter()
        .map(|(origin, head)| {
            let verified = head
                .proofs
                .keys()
                .filter(|size| witnessed.contains(&(origin.clone(), **size)))
                .count();
            LogOutcome {
                origin: origin.clone(),
                size: head.size,
                root_hash: hex::encode(head.root),
                proofs_verified: verified,
                proofs_for_site: head.proofs.len() - verified,
            }
        })
        .collect();
    Ok(CheckReport {
        trust,
        logs,
        artifacts,
    })
}

/// What a checker knew of a TUF repository before this archive: the connected side knows
/// only the pinned root it was given; the site also knows the state it last accepted (never to
/// be rolled back from) and that state's trusted root (used when an archive does not carry the
/// repository).
#[derive(Debug, Clone)]
pub struct KnownRepository {
    /// The pinned initial root.
    pub pinned_root: Vec<u8>,
    /// The state last accepted.
    pub previous: Option<TrustState>,
    /// The trusted_root.json last accepted (JSON).
    pub last_trusted_root: Option<Vec<u8>>,
}

impl KnownRepository {
    /// A repository known only by its pinned root.
    pub fn pinned(pinned_root: Vec<u8>) -> Self {
        Self {
            pinned_root,
            previous: None,
            last_trusted_root: None,
        }
    }
}

/// The trust an archive is checked with.
#[derive(Debug)]
pub struct CheckedTrust {
    /// One verifier per trusted root in force: the carried repositories' first, then those
    /// known from before that the archive does not carry.
    pub verifiers: Vec<Verifier>,
    /// The carried repositories as verified, by name, in the manifest's order.
    pub carried: Vec<(String, VerifiedRepository)>,
    /// Repositories used as last accepted (not carried).
    pub reused: Vec<String>,
}

/// The one trust step, on both sides of the air gap: every repository the archive carries
/// verified from its pinned root as of `at`, never behind what was accepted before; the
/// repositories it does not carry used as last accepted; and an archive carrying Sigstore
/// bundles with no trusted root at all refused. The caller plugs in what it knows (`known`):
/// the bundler's preflight its pinned roots, the appliance its stored state.
pub fn check_trust(
    manifest: &Manifest,
    known: &BTreeMap<String, KnownRepository>,
    at: DateTime<Utc>,
    read_blob: &ReadBlob<'_>,
    repositories_dir: &Path,
) -> Result<CheckedTrust, CheckError> {
    let mut verifiers = Vec::new();
    let mut carried = Vec::new();
    for repo in &manifest.trust {
        let known_repo = known
            .get(&repo.name)
            .ok_or_else(|| CheckError::NoPinnedRoot(repo.name.clone()))?;
        let verified = verify_carried_repository(
            repo,
            &known_repo.pinned_root,
            at,
            known_repo.previous.as_ref(),
            read_blob,
            repositories_dir,
        )?;
        verifiers.push(Verifier::new(parse_trusted_root(&repo.name, &verified)?));
        carried.push((repo.name.clone(), verified));
    }
    let mut reused = Vec::new();
    for (name, known_repo) in known {
        if manifest.trust.iter().any(|r| &r.name == name) {
            continue;
        }
        if let Some(bytes) = &known_repo.last_trusted_root {
            let root = TrustedRoot::from_json(bytes).map_err(|e| CheckError::StoredRoot {
                name: name.clone(),
                reason: e.to_string(),
            })?;
            verifiers.push(Verifier::new(root));
            reused.push(name.clone());
        }
    }
    let has_bundles = manifest.artifacts.iter().any(|a| a.evidence.has_bundles());
    if has_bundles && verifiers.is_empty() {
        return Err(CheckError::NoTrust);
    }
    Ok(CheckedTrust {
        verifiers,
        carried,
        reused,
    })
}

/// Writes a carried TUF repository's files under `repositories_dir/<name>/` and verifies them
/// from the `pinned` root as of `at`, never moving back from `previous` (the site's state).
pub fn verify_carried_repository(
    repo: &TrustRepository,
    pinned: &[u8],
    at: DateTime<Utc>,
    previous: Option<&TrustState>,
    read_blob: &ReadBlob<'_>,
    repositories_dir: &Path,
) -> Result<VerifiedRepository, CheckError> {
    let dir = repositories_dir.join(&repo.name);
    for (folder, files) in [("metadata", &repo.metadata), ("targets", &repo.targets)] {
        for file in files {
            let bytes = read_blob(&file.digest, MAX_BUNDLE_SIZE as u64).map_err(|reason| {
                CheckError::Blob {
                    digest: file.digest,
                    reason,
                }
            })?;
            let path = dir.join(folder).join(file.path.as_str());
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, bytes));
            written.map_err(|e| CheckError::Blob {
                digest: file.digest,
                reason: format!("{}: {e}", path.display()),
            })?;
        }
    }
    let trust_error = |source| CheckError::Trust {
        name: repo.name.clone(),
        source,
    };
    let name = RepositoryName::new(&repo.name).map_err(trust_error)?;
    LocalRepository::new(name, dir.join("metadata"), dir.join("targets"))
        .verify(pinned, at, previous)
        .map_err(trust_error)
}

/// The trusted root a verified repository carries.
pub fn parse_trusted_root(
    name: &str,
    verified: &VerifiedRepository,
) -> Result<TrustedRoot, CheckError> {
    TrustedRoot::from_json(verified.trusted_root().bytes()).map_err(|e| CheckError::TrustedRoot {
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

/// Verifies every carried checkpoint with its log's key and collects the proofs to it.
pub fn log_heads(
    manifest: &Manifest,
    verifiers: &[Verifier],
) -> Result<BTreeMap<String, Head>, CheckError> {
    let mut heads = BTreeMap::new();
    for snapshot in &manifest.logs {
        let checkpoint_error = |reason: String| CheckError::Checkpoint {
            origin: snapshot.origin.clone(),
            reason,
        };
        // The log whose key signed the note (its origin line names the log's shard too).
        let mut last_error = "no log in the trusted root signed it".to_owned();
        let mut verified = None;
        for log in verifiers.iter().flat_map(|v| v.trusted_root().tlogs()) {
            match verify_checkpoint(&snapshot.checkpoint, log) {
                Ok(c) if c.origin == snapshot.origin => {
                    verified = Some(c);
                    break;
                }
                Ok(c) => last_error = format!("its origin line is {:?}", c.origin),
                Err(e) => last_error = e.to_string(),
            }
        }
        let head: SignedCheckpoint = verified.ok_or_else(|| checkpoint_error(last_error))?;
        let mut proofs = BTreeMap::new();
        for proof in &snapshot.consistency {
            if proof.to_size != head.size {
                return Err(checkpoint_error(format!(
                    "consistency proof ends at size {}, the checkpoint is at {}",
                    proof.to_size, head.size
                )));
            }
            proofs.insert(proof.from_size, proof.hashes.clone());
        }
        heads.insert(
            snapshot.origin.clone(),
            Head {
                size: head.size,
                root: head.root_hash,
                note: snapshot.checkpoint.clone(),
                proofs,
            },
        );
    }
    Ok(heads)
}

/// A log head carried by an archive (its checkpoint verified) and the consistency proofs to
/// it, by earlier size.
#[derive(Debug)]
pub struct Head {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: [u8; 32],
    /// The signed note.
    pub note: String,
    /// Proof hashes from each earlier size.
    pub proofs: BTreeMap<u64, Vec<[u8; 32]>>,
}

impl Head {
    /// Whether a tree of `size` with `root` is a prefix of this head, by a carried proof.
    pub fn witnesses(&self, size: u64, root: &[u8; 32]) -> Linked {
        if size == self.size {
            return if *root == self.root {
                Linked::Head
            } else {
                Linked::Fork
            };
        }
        match self.proofs.get(&size) {
            Some(proof) => match verify_consistency(size, root, self.size, &self.root, proof) {
                Ok(()) => Linked::Proof,
                Err(_) => Linked::Fork,
            },
            None => Linked::NoProof,
        }
    }
}

/// How an earlier tree relates to a carried head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// It is the head.
    Head,
    /// A carried consistency proof links it to the head.
    Proof,
    /// No proof from its size is carried.
    NoProof,
    /// Same size with another root, or a proof that fails: the log forked.
    Fork,
}

fn check_artifact(
    artifact: &Artifact,
    rule: &SignerRule,
    verifiers: &[Verifier],
    heads: &BTreeMap<String, Head>,
    witnessed: &mut BTreeSet<(String, u64)>,
    read_blob: &ReadBlob<'_>,
) -> Result<ArtifactOutcome, CheckError> {
    let mut evidence = Vec::new();
    let mut problems = Vec::new();
    let mut signed = false;
    let lists = [
        ("bundle", &artifact.evidence.bundles),
        ("attestation", &artifact.evidence.attestations),
    ];
    let read = |digest: &Sha256Digest, limit: u64| {
        read_blob(digest, limit).map_err(|reason| CheckError::Blob {
            digest: *digest,
            reason,
        })
    };
    let mut payloads = Vec::new();
    for s in &artifact.evidence.signed_payloads {
        payloads.push((s.bundle, Some(read(&s.payload, MAX_SIGNED_PAYLOAD)?)));
    }
    let lists = lists.map(|(kind, digests)| {
        let direct: Vec<(Sha256Digest, Option<Vec<u8>>)> =
            digests.iter().map(|d| (*d, None)).collect();
        (kind, direct)
    });
    for (kind, digests) in lists.into_iter().chain([("bundle", payloads)]) {
        for (digest, payload) in &digests {
            let bytes = read(digest, MAX_BUNDLE_SIZE as u64)?;
            let what = match payload {
                Some(payload) => Signed::Payload(payload),
                None => Signed::Artifact,
            };
            let outcome = check_bundle(&bytes, artifact, what, rule, verifiers, heads, witnessed)?;
            match &outcome {
                Ok(detail) => {
                    signed |= kind == "bundle";
                    evidence.push(EvidenceOutcome {
                        kind,
                        digest: *digest,
                        ok: true,
                        detail: detail.clone(),
                    });
                }
                Err(reason) => {
                    problems.push(format!("{kind} {digest}: {reason}"));
                    evidence.push(EvidenceOutcome {
                        kind,
                        digest: *digest,
                        ok: false,
                        detail: reason.clone(),
                    });
                }
            }
        }
    }
    for digest in &artifact.evidence.sboms {
        let bytes = read_blob(digest, MAX_SBOM_SIZE).map_err(|reason| CheckError::Blob {
            digest: *digest,
            reason,
        })?;
        let (ok, detail) = match sbom_format(&bytes) {
            Ok(format) => (true, format),
            Err(reason) => {
                problems.push(format!("sbom {digest}: {reason}"));
                (false, reason)
            }
        };
        evidence.push(EvidenceOutcome {
            kind: "sbom",
            digest: *digest,
            ok,
            detail,
        });
    }
    if !signed && problems.is_empty() {
        problems.push("no Sigstore bundle signs it".into());
    }
    Ok(ArtifactOutcome {
        name: artifact.name.clone(),
        digest: artifact.digest,
        passed: problems.is_empty(),
        evidence,
        problems,
    })
}

/// Verifies one bundle for `artifact` under `rule` with any of the trusted roots, then checks
/// that each of its log entries is witnessed by a carried checkpoint. The outer error is a
/// log fork (fatal for the whole archive); the inner one is this bundle's failure.
fn check_bundle(
    bytes: &[u8],
    artifact: &Artifact,
    signed: Signed<'_>,
    rule: &SignerRule,
    verifiers: &[Verifier],
    heads: &BTreeMap<String, Head>,
    witnessed: &mut BTreeSet<(String, u64)>,
) -> Result<Result<String, String>, CheckError> {
    let bundle = match Bundle::from_json(bytes) {
        Ok(bundle) => bundle,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mut first_error = None;
    for verifier in verifiers {
        for policy in &rule.signers {
            match verifier.verify(&bundle, signed.subject(artifact), policy) {
                Ok(report) => {
                    if let Err(e) = signed.names(artifact) {
                        return Ok(Err(e.to_string()));
                    }
                    for entry in &report.log_entries {
                        // A v0.1 promise (a verified signed entry timestamp, no inclusion
                        // proof) names no tree to witness; the report says so.
                        if entry.proven_by == InclusionEvidence::SignedEntryTimestamp {
                            continue;
                        }
                        let Some(checkpoint) = &entry.checkpoint else {
                            return Ok(Err(format!(
                                "unwitnessed: log entry {} has no checkpoint",
                                entry.log_index
                            )));
                        };
                        let Some(head) = heads.get(&checkpoint.origin) else {
                            return Ok(Err(format!(
                                "unwitnessed: no checkpoint of log {} carried",
                                checkpoint.origin
                            )));
                        };
                        match head.witnesses(checkpoint.size, &checkpoint.root_hash) {
                            Linked::Head | Linked::Proof => {
                                witnessed.insert((checkpoint.origin.clone(), checkpoint.size));
                            }
                            Linked::NoProof => {
                                return Ok(Err(format!(
                                    "unwitnessed: no consistency proof from size {} of {}",
                                    checkpoint.size, checkpoint.origin
                                )));
                            }
                            Linked::Fork => {
                                return Err(CheckError::LogFork {
                                    origin: checkpoint.origin.clone(),
                                    from_size: checkpoint.size,
                                    to_size: head.size,
                                });
                            }
                        }
                    }
                    let detail = match &report.dsse {
                        Some(dsse) => {
                            format!("{} by {}", dsse.predicate_type, signer_line(&report))
                        }
                        None => match signed {
                            Signed::Artifact => format!("signed by {}", signer_line(&report)),
                            Signed::Payload(_) => format!(
                                "signed by {} (a simple-signing payload naming it)",
                                signer_line(&report)
                            ),
                        },
                    };
                    return Ok(Ok(detail));
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| format!("{}: {e}", e.step()));
                }
            }
        }
    }
    Ok(Err(first_error.unwrap_or_else(|| {
        "no trusted root to verify against".into()
    })))
}

fn signer_line(report: &airlock_trust_root::Report) -> String {
    match &report.signer {
        SignerFacts::Certificate {
            identity, issuer, ..
        } => format!("{identity} ({issuer})"),
        SignerFacts::PublicKey { key_id, .. } => format!("managed key {key_id}"),
    }
}

/// Names an SBOM's format after checking it parses as CycloneDX or SPDX JSON.
fn sbom_format(bytes: &[u8]) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if value["bomFormat"] == "CycloneDX" {
        let components = value["components"].as_array().map_or(0, Vec::len);
        return Ok(format!(
            "CycloneDX {} with {components} components",
            value["specVersion"].as_str().unwrap_or("?")
        ));
    }
    if let Some(version) = value["spdxVersion"].as_str() {
        let packages = value["packages"].as_array().map_or(0, Vec::len);
        return Ok(format!("{version} with {packages} packages"));
    }
    Err("neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod payload_tests {
    use super::*;

    fn payload(kind: &str, digest: &str) -> Vec<u8> {
        serde_json::json!({
            "critical": {
                "identity": {"docker-reference": "registry.example/app"},
                "image": {"docker-manifest-digest": digest},
                "type": kind,
            },
            "optional": {"creator": "cosign"},
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_simple_signing_payload_binds_only_the_digest_it_names() {
        let image = Sha256Digest::of(b"image");
        assert_eq!(
            payload_names(&payload(SIMPLE_SIGNING_TYPE, &image.to_string()), &image),
            Ok(())
        );
        let other = Sha256Digest::of(b"other").to_string();
        assert_eq!(
            payload_names(&payload(SIMPLE_SIGNING_TYPE, &other), &image)
                .unwrap_err()
                .to_string(),
            format!("signed payload names image {other}, not the artifact's digest {image}")
        );
        assert_eq!(
            payload_names(
                &payload("atomic container signature", &image.to_string()),
                &image
            ),
            Err(PayloadError::Type("atomic container signature".into()))
        );
        assert!(matches!(
            payload_names(b"{\"critical\":{}}", &image),
            Err(PayloadError::Malformed(_))
        ));
    }
}
