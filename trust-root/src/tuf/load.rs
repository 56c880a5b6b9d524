//! Loading a TUF repository from local folders with tough, judging every role's expiry at a
//! reference time the caller passes, and reading the Sigstore targets with length and hash checks.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tough::schema::{Delegations, RoleType, Signed, Targets};
use tough::{ExpirationEnforcement, IntoVec, Limits, Repository, RepositoryLoader, TargetName};
use url::Url;

use super::error::TufError;
use super::name::RepositoryName;
use super::role::Role;
use super::state::{RoleRecord, TrustState, TrustStateParts};
use super::transport::{FetchLog, RecordingTransport, file_name};

/// The target every Sigstore TUF repository must carry.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// Size limits for metadata (tough's defaults, written out so they are part of this crate's
/// contract). Targets are bounded by their signed length.
const LIMITS: Limits = Limits {
    max_root_size: 1024 * 1024,
    max_targets_size: 10 * 1024 * 1024,
    max_timestamp_size: 1024 * 1024,
    max_snapshot_size: 1024 * 1024,
    max_root_updates: 1024,
};

/// A TUF repository laid out in local folders (consistent snapshots: `N.root.json`,
/// `timestamp.json`, `N.snapshot.json`, `N.targets.json`, `targets/<sha256>.<name>`).
#[derive(Debug, Clone)]
pub struct LocalRepository {
    name: RepositoryName,
    metadata_dir: PathBuf,
    targets_dir: PathBuf,
}

/// One role as verified: its version, signed expiry and the SHA-256 of its metadata file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleStatus {
    /// The role.
    pub role: Role,
    /// Its version.
    pub version: u64,
    /// Its signed expiry.
    pub expires: DateTime<Utc>,
    /// Hex SHA-256 of the role's signed body in canonical JSON (what its signatures cover),
    /// taken from the exact bytes tough verified.
    pub sha256: String,
}

/// A target read from the repository, its length and SHA-256 checked against targets metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTarget {
    name: String,
    bytes: Vec<u8>,
    sha256: String,
}

impl VerifiedTarget {
    /// The target name (e.g. `trusted_root.json`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The verified content.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Hex SHA-256 of the content.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// Which folder of a repository a file belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepositoryFolder {
    /// `metadata/`: `N.root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json`, …
    Metadata,
    /// `targets/`: `<sha256>.<name>`.
    Targets,
}

/// A file the verification read, with its exact bytes: together with the pinned root, the
/// files another verifier needs to repeat this verification from the same or an older root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFile {
    /// Its folder.
    pub folder: RepositoryFolder,
    /// Its path inside the folder.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A repository whose signatures, thresholds, rotations, hashes, lengths and expiries all
/// verified at the reference time, and which does not move backwards from the previous state.
/// Only [`LocalRepository::verify`] builds one.
#[derive(Debug, Clone)]
pub struct VerifiedRepository {
    roles: Vec<RoleStatus>,
    trusted_root: VerifiedTarget,
    signing_configs: Vec<VerifiedTarget>,
    current_root: Vec<u8>,
    files: Vec<RepositoryFile>,
    state: TrustState,
}

impl VerifiedRepository {
    /// Every role in TUF order: root, timestamp, snapshot, targets, then delegated roles
    /// (pre-order).
    pub fn roles(&self) -> &[RoleStatus] {
        &self.roles
    }
    /// The verified `trusted_root.json`.
    pub fn trusted_root(&self) -> &VerifiedTarget {
        &self.trusted_root
    }
    /// Every verified `signing_config*.json` target, by name.
    pub fn signing_configs(&self) -> &[VerifiedTarget] {
        &self.signing_configs
    }
    /// The newest root's metadata bytes (what the next verification may start from).
    pub fn current_root(&self) -> &[u8] {
        &self.current_root
    }
    /// Every file the verification read (the pinned root included, as `N.root.json`), sorted
    /// by folder and path.
    pub fn files(&self) -> &[RepositoryFile] {
        &self.files
    }
    /// The state to persist for this repository.
    pub fn state(&self) -> &TrustState {
        &self.state
    }
    /// Consumes the result, keeping the state to persist.
    pub fn into_state(self) -> TrustState {
        self.state
    }
}

impl LocalRepository {
    /// Names a repository laid out in `metadata_dir` and `targets_dir`.
    pub fn new(
        name: RepositoryName,
        metadata_dir: impl Into<PathBuf>,
        targets_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            name,
            metadata_dir: metadata_dir.into(),
            targets_dir: targets_dir.into(),
        }
    }

    /// The repository's name.
    pub fn name(&self) -> &RepositoryName {
        &self.name
    }

    /// Verifies the repository starting from `trusted_root` (root metadata obtained out of
    /// band, or the current root of an earlier verification), judging expiry at `at`, and
    /// checks the result against `previous` (the state accepted last time, if any).
    ///
    /// Order: tough walks the roots and verifies timestamp, snapshot, targets and delegations
    /// (signatures, thresholds, versions, hashes, lengths); then every role's expiry is judged
    /// at `at` in that same order and the first expired role is reported; then the targets are
    /// read; then `previous` is checked. Fails closed: no partial result.
    ///
    /// Synchronous and safe on any thread, including inside a tokio runtime: tough runs on a
    /// scoped worker thread with its own current-thread runtime.
    pub fn verify(
        &self,
        trusted_root: &[u8],
        at: DateTime<Utc>,
        previous: Option<&TrustState>,
    ) -> Result<VerifiedRepository, TufError> {
        let metadata_url = folder_url(&self.metadata_dir, "metadata")?;
        let targets_url = folder_url(&self.targets_dir, "targets")?;
        let loaded = run_on_private_runtime(|| load(trusted_root, metadata_url, targets_url, at))?;
        let state = TrustState::from_parts(TrustStateParts {
            repository: self.name.clone(),
            root: record(&loaded.roles, &Role::Root)?,
            timestamp: record(&loaded.roles, &Role::Timestamp)?,
            snapshot: record(&loaded.roles, &Role::Snapshot)?,
            targets: record(&loaded.roles, &Role::Targets)?,
            delegated: loaded
                .roles
                .iter()
                .filter_map(|s| match &s.role {
                    Role::Delegated(name) => Some((
                        name.clone(),
                        RoleRecord {
                            version: s.version,
                            sha256: s.sha256.clone(),
                        },
                    )),
                    _ => None,
                })
                .collect::<BTreeMap<_, _>>(),
            trusted_root_sha256: loaded.trusted_root.sha256.clone(),
            reference_time: at,
        });
        if let Some(previous) = previous {
            previous.check_successor(&state)?;
        }
        Ok(VerifiedRepository {
            roles: loaded.roles,
            trusted_root: loaded.trusted_root,
            signing_configs: loaded.signing_configs,
            current_root: loaded.current_root,
            files: loaded.files,
            state,
        })
    }
}

fn record(roles: &[RoleStatus], role: &Role) -> Result<RoleRecord, TufError> {
    roles
        .iter()
        .find(|s| &s.role == role)
        .map(|s| RoleRecord {
            version: s.version,
            sha256: s.sha256.clone(),
        })
        .ok_or_else(|| TufError::Tough {
            reason: format!("no {role} metadata was loaded"),
        })
}

fn folder_url(dir: &Path, what: &'static str) -> Result<Url, TufError> {
    let folder_err = |reason: String| TufError::Folder {
        what,
        path: dir.display().to_string(),
        reason,
    };
    let abs = std::fs::canonicalize(dir).map_err(|e| folder_err(e.to_string()))?;
    if !abs.is_dir() {
        return Err(folder_err("not a directory".to_owned()));
    }
    Url::from_directory_path(&abs).map_err(|()| folder_err("cannot be made a file URL".to_owned()))
}

/// Drives `make()`'s future to completion on a fresh scoped thread with its own
/// current-thread runtime, so callers need no runtime and may already be inside one
/// (`Runtime::block_on` inside a runtime panics; a separate thread has no ambient runtime).
fn run_on_private_runtime<T, F, Fut>(make: F) -> Result<T, TufError>
where
    T: Send,
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = Result<T, TufError>>,
{
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| TufError::Worker {
                    reason: e.to_string(),
                })?;
            runtime.block_on(make())
        });
        worker.join().unwrap_or_else(|_| {
            Err(TufError::Worker {
                reason: "the TUF worker thread panicked".to_owned(),
            })
        })
    })
}

/// What the worker hands back.
struct Loaded {
    roles: Vec<RoleStatus>,
    trusted_root: VerifiedTarget,
    signing_configs: Vec<VerifiedTarget>,
    current_root: Vec<u8>,
    files: Vec<RepositoryFile>,
}

async fn load(
    trusted_root: &[u8],
    metadata_url: Url,
    targets_url: Url,
    at: DateTime<Utc>,
) -> Result<Loaded, TufError> {
    let transport = RecordingTransport::default();
    let log = transport.log();
    let loaded = RepositoryLoader::new(&trusted_root, metadata_url.clone(), targets_url.clone())
        .transport(transport)
        .limits(LIMITS)
        // tough's own check compares with the wall clock. It is switched off on purpose and
        // replaced, completely, by `enforce_expiry_at_reference_time` below: every role tough
        // loaded is judged at `at`. Signatures and thresholds stay enforced by tough.
        .expiration_enforcement(ExpirationEnforcement::Unsafe)
        .load()
        .await;
    let repo = loaded.map_err(|e| map_load_error(&e, &lock(&log)))?;

    let roles = role_statuses(&repo, &metadata_url, trusted_root, &lock(&log))?;
    enforce_expiry_at_reference_time(&roles, at)?;

    let trusted_root_target = read_target(&repo, TRUSTED_ROOT_TARGET).await?;
    let mut config_names: Vec<String> = repo
        .all_targets()
        .map(|(name, _)| name.raw().to_owned())
        .filter(|n| n.starts_with("signing_config") && n.ends_with(".json"))
        .collect();
    config_names.sort();
    config_names.dedup();
    let mut signing_configs = Vec::with_capacity(config_names.len());
    for name in &config_names {
        signing_configs.push(read_target(&repo, name).await?);
    }
    let current_root = root_bytes(&repo, &metadata_url, trusted_root, &lock(&log)).to_vec();
    let files = files_read(&lock(&log), &metadata_url, &targets_url, trusted_root);
    Ok(Loaded {
        roles,
        trusted_root: trusted_root_target,
        signing_configs,
        current_root,
        files,
    })
}

fn lock(log: &Mutex<FetchLog>) -> std::sync::MutexGuard<'_, FetchLog> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The files tough read, by folder, plus the pinned root under its versioned name.
fn files_read(
    log: &FetchLog,
    metadata_url: &Url,
    targets_url: &Url,
    pinned: &[u8],
) -> Vec<RepositoryFile> {
    let mut files: Vec<RepositoryFile> = log
        .iter()
        .filter_map(|(url, bytes)| {
            let (folder, path) = if let Some(p) = url.strip_prefix(metadata_url.as_str()) {
                (RepositoryFolder::Metadata, p)
            } else {
                (
                    RepositoryFolder::Targets,
                    url.strip_prefix(targets_url.as_str())?,
                )
            };
            let path = percent_decode(path)?;
            Some(RepositoryFile {
                folder,
                path,
                bytes: bytes.to_vec(),
            })
        })
        .collect();
    let pinned_version = serde_json::from_slice::<serde_json::Value>(pinned)
        .ok()
        .and_then(|v| v["signed"]["version"].as_u64());
    if let Some(version) = pinned_version {
        let path = format!("{version}.root.json");
        if !files
            .iter()
            .any(|f| f.folder == RepositoryFolder::Metadata && f.path == path)
        {
            files.push(RepositoryFile {
                folder: RepositoryFolder::Metadata,
                path,
                bytes: pinned.to_vec(),
            });
        }
    }
    files.sort_by(|a, b| (a.folder, &a.path).cmp(&(b.folder, &b.path)));
    files
}

/// Decodes `%XX` escapes in a URL path (tough escapes delegated role names); `None` if the
/// result is not UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Judges every role's expiry at `at`, in TUF's order (root, timestamp, snapshot, targets,
/// delegated roles pre-order). This is the only expiry check: tough's is disabled. A role is
/// expired when its expiry is not later than `at` (TUF: expiry MUST be higher than the time).
pub(crate) fn enforce_expiry_at_reference_time(
    roles: &[RoleStatus],
    at: DateTime<Utc>,
) -> Result<(), TufError> {
    match roles.iter().find(|s| s.expires <= at) {
        Some(s) => Err(TufError::Expired {
            role: s.role.clone(),
            version: s.version,
            expires: s.expires,
            at,
        }),
        None => Ok(()),
    }
}

fn to_chrono(t: jiff::Timestamp, role: &Role) -> Result<DateTime<Utc>, TufError> {
    i64::try_from(t.as_nanosecond())
        .ok()
        .map(DateTime::from_timestamp_nanos)
        .ok_or_else(|| TufError::TimeOutOfRange { role: role.clone() })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 (hex) of a metadata file's `signed` body in canonical JSON: exactly what its
/// signatures cover. Re-encoding the file or adding a signature leaves it unchanged; any change
/// to signed content changes it, which is what equivocation means.
fn signed_body_sha256(role: &Role, file: &[u8]) -> Result<String, TufError> {
    use serde::Serialize;
    let parse_err = |reason: String| TufError::MetadataRejected {
        role: role.clone(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(file).map_err(|e| parse_err(e.to_string()))?;
    let signed = value
        .get("signed")
        .ok_or_else(|| parse_err("no \"signed\" member".to_owned()))?;
    let mut canonical = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut canonical,
        olpc_cjson::CanonicalFormatter::new(),
    );
    signed
        .serialize(&mut ser)
        .map_err(|e| parse_err(e.to_string()))?;
    Ok(sha256_hex(&canonical))
}

/// Percent-encodes a delegated role name the way TUF file names need (RFC 3986 unreserved
/// characters stay).
fn encode_role_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn metadata_bytes<'a>(log: &'a FetchLog, base: &Url, file: &str) -> Result<&'a [u8], TufError> {
    let url = base.join(file).map_err(|e| TufError::MetadataUnreadable {
        file: file.to_owned(),
        reason: e.to_string(),
    })?;
    log.bytes(&url).ok_or_else(|| TufError::MetadataMissing {
        file: file.to_owned(),
    })
}

fn root_bytes<'a>(repo: &Repository, base: &Url, pinned: &'a [u8], log: &'a FetchLog) -> &'a [u8] {
    let version = repo.root().signed.version.get();
    base.join(&format!("{version}.root.json"))
        .ok()
        .and_then(|u| log.bytes(&u))
        .unwrap_or(pinned)
}

fn role_statuses(
    repo: &Repository,
    base: &Url,
    pinned: &[u8],
    log: &FetchLog,
) -> Result<Vec<RoleStatus>, TufError> {
    let consistent = repo.root().signed.consistent_snapshot;
    let versioned = |version: u64, file: &str| {
        if consistent {
            format!("{version}.{file}")
        } else {
            file.to_owned()
        }
    };
    let root = &repo.root().signed;
    let timestamp = &repo.timestamp().signed;
    let snapshot = &repo.snapshot().signed;
    let targets = &repo.targets().signed;
    let mut out = vec![
        RoleStatus {
            role: Role::Root,
            version: root.version.get(),
            expires: to_chrono(root.expires, &Role::Root)?,
            sha256: signed_body_sha256(&Role::Root, root_bytes(repo, base, pinned, log))?,
        },
        RoleStatus {
            role: Role::Timestamp,
            version: timestamp.version.get(),
            expires: to_chrono(timestamp.expires, &Role::Timestamp)?,
            sha256: signed_body_sha256(
                &Role::Timestamp,
                metadata_bytes(log, base, "timestamp.json")?,
            )?,
        },
        RoleStatus {
            role: Role::Snapshot,
            version: snapshot.version.get(),
            expires: to_chrono(snapshot.expires, &Role::Snapshot)?,
            sha256: signed_body_sha256(
                &Role::Snapshot,
                metadata_bytes(
                    log,
                    base,
                    &versioned(snapshot.version.get(), "snapshot.json"),
                )?,
            )?,
        },
        RoleStatus {
            role: Role::Targets,
            version: targets.version.get(),
            expires: to_chrono(targets.expires, &Role::Targets)?,
            sha256: signed_body_sha256(
                &Role::Targets,
                metadata_bytes(log, base, &versioned(targets.version.get(), "targets.json"))?,
            )?,
        },
    ];
    if let Some(delegations) = &targets.delegations {
        delegated_statuses(delegations, &versioned, base, log, &mut out)?;
    }
    Ok(out)
}

fn delegated_statuses(
    delegations: &Delegations,
    versioned: &dyn Fn(u64, &str) -> String,
    base: &Url,
    log: &FetchLog,
    out: &mut Vec<RoleStatus>,
) -> Result<(), TufError> {
    for delegated in &delegations.roles {
        let Some(signed): Option<&Signed<Targets>> = delegated.targets.as_ref() else {
            return Err(TufError::DelegatedRoleNotLoaded {
                role: delegated.name.clone(),
            });
        };
        let role = Role::Delegated(delegated.name.clone());
        let version = signed.signed.version.get();
        let file = versioned(
            version,
            &format!("{}.json", encode_role_file_name(&delegated.name)),
        );
        out.push(RoleStatus {
            expires: to_chrono(signed.signed.expires, &role)?,
            sha256: signed_body_sha256(&role, metadata_bytes(log, base, &file)?)?,
            role,
            version,
        });
        if let Some(inner) = &signed.signed.delegations {
            delegated_statuses(inner, versioned, base, log, out)?;
        }
    }
    Ok(())
}

async fn read_target(repo: &Repository, name: &str) -> Result<VerifiedTarget, TufError> {
    let unreadable = |reason: String| TufError::TargetUnreadable {
        target: name.to_owned(),
        reason,
    };
    let target_name = TargetName::new(name).map_err(|e| unreadable(e.to_string()))?;
    let listed = repo
        .all_targets()
        .find(|(n, _)| **n == target_name)
        .map(|(_, t)| t.clone())
        .ok_or_else(|| TufError::TargetMissing {
            target: name.to_owned(),
        })?;
    let stream = repo
        .read_target(&target_name)
        .await
        .map_err(|e| map_target_error(&e, name, listed.length))?
        .ok_or_else(|| TufError::TargetMissing {
            target: name.to_owned(),
        })?;
    let bytes = stream
        .into_vec()
        .await
        .map_err(|e| map_target_error(&e, name, listed.length))?;
    // tough checked both already; checked again here so the result never depends on it.
    let expected = hex::encode(listed.hashes.sha256.as_ref());
    let calculated = sha256_hex(&bytes);
    if u64::try_from(bytes.len()).ok() != Some(listed.length) {
        return Err(TufError::TargetLengthMismatch {
            target: name.to_owned(),
            listed: listed.length,
        });
    }
    if calculated != expected {
        return Err(TufError::TargetHashMismatch {
            target: name.to_owned(),
            expected,
            calculated,
        });
    }
    Ok(VerifiedTarget {
        name: name.to_owned(),
        bytes,
        sha256: calculated,
    })
}

/// The tough error a transport error wraps (hash and size checks travel that way).
fn wrapped(err: &tough::error::Error) -> Option<&tough::error::Error> {
    match err {
        tough::error::Error::Transport { source, .. } => {
            std::error::Error::source(source).and_then(|s| s.downcast_ref::<tough::error::Error>())
        }
        _ => None,
    }
}

fn map_target_error(err: &tough::error::Error, target: &str, listed: u64) -> TufError {
    use tough::error::Error as E;
    match wrapped(err).unwrap_or(err) {
        E::HashMismatch {
            calculated,
            expected,
            ..
        } => TufError::TargetHashMismatch {
            target: target.to_owned(),
            expected: expected.clone(),
            calculated: calculated.clone(),
        },
        E::MaxSizeExceeded { .. } => TufError::TargetLengthMismatch {
            target: target.to_owned(),
            listed,
        },
        other => TufError::TargetUnreadable {
            target: target.to_owned(),
            reason: other.to_string(),
        },
    }
}

fn map_load_error(err: &tough::error::Error, log: &FetchLog) -> TufError {
    use tough::error::Error as E;
    use tough::schema::Error as S;
    if let (E::Transport { url, .. }, Some(inner)) = (err, wrapped(err)) {
        let file = file_name(url);
        match inner {
            E::HashMismatch {
                calculated,
                expected,
                ..
            } => {
                return TufError::MetadataHashMismatch {
                    file,
                    expected: expected.clone(),
                    calculated: calculated.clone(),
                };
            }
            E::MaxSizeExceeded {
                max_size,
                specifier,
                ..
            } => {
                return TufError::MetadataTooLarge {
                    file,
                    max_size: *max_size,
                    limit_from: (*specifier).to_owned(),
                };
            }
            _ => {}
        }
    }
    match err {
        E::ParseTrustedMetadata { source, .. } => TufError::PinnedRoot {
            reason: source.to_string(),
        },
        E::VerifyTrustedMetadata { source, .. } => TufError::PinnedRoot {
            reason: source.to_string(),
        },
        E::VerifyMetadata {
            role: RoleType::Root,
            source: S::SignatureThreshold {
                threshold, valid, ..
            },
            ..
        } => TufError::RootRotation {
            to_version: log.highest_root_fetched().unwrap_or_default(),
            threshold: *threshold,
            valid: *valid,
        },
        E::VerifyMetadata {
            role,
            source: S::SignatureThreshold {
                threshold, valid, ..
            },
            ..
        } => TufError::SignatureThreshold {
            role: Role::from_tough(*role),
            threshold: *threshold,
            valid: *valid,
        },
        E::VerifyRoleMetadata {
            role,
            source: S::SignatureThreshold {
                threshold, valid, ..
            },
            ..
        } => TufError::SignatureThreshold {
            role: Role::Delegated(role.clone()),
            threshold: *threshold,
            valid: *valid,
        },
        E::VerifyMetadata { role, source, .. } => TufError::MetadataRejected {
            role: Role::from_tough(*role),
            reason: source.to_string(),
        },
        E::VerifyRoleMetadata { role, source, .. } => TufError::MetadataRejected {
            role: Role::Delegated(role.clone()),
            reason: source.to_string(),
        },
        E::OlderMetadata {
            role: RoleType::Root,
            current_version,
            new_version,
            ..
        } => TufError::RootVersionMismatch {
            expected: current_version.saturating_add(1),
            found: *new_version,
        },
        E::VersionMismatch {
            role,
            fetched,
            expected,
            ..
        } => TufError::VersionMismatch {
            role: Role::from_tough(*role),
            listed: *expected,
            found: *fetched,
        },
        E::ParseMetadata { role, source, .. } => TufError::MetadataParse {
            role: Role::from_tough(*role),
            file: log.last_file(),
            reason: source.to_string(),
        },
        E::MaxUpdatesExceeded {
            max_root_updates, ..
        } => TufError::TooManyRootRotations {
            max: *max_root_updates,
        },
        E::Transport { url, source, .. } => {
            if source.kind() == tough::TransportErrorKind::FileNotFound {
                TufError::MetadataMissing {
                    file: file_name(url),
                }
            } else {
                TufError::MetadataUnreadable {
                    file: file_name(url),
                    reason: source.to_string(),
                }
            }
        }
        other => TufError::Tough {
            reason: format!("{other} (last file read: {})", log.last_file()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(role: Role, expires: &str) -> RoleStatus {
        RoleStatus {
            role,
            version: 7,
            expires: expires.parse().unwrap(),
            sha256: String::new(),
        }
    }

    #[test]
    fn expiry_is_judged_in_tuf_order_at_the_reference_time() {
        let roles = [
            status(Role::Root, "2026-11-20T00:00:00Z"),
            status(Role::Timestamp, "2026-08-28T19:25:56Z"),
        ];
        let at: DateTime<Utc> = "2026-08-22T00:00:00Z".parse().unwrap();
        enforce_expiry_at_reference_time(&roles, at).unwrap();
        let at: DateTime<Utc> = "2026-11-22T00:00:00Z".parse().unwrap();
        assert_eq!(
            enforce_expiry_at_reference_time(&roles, at),
            Err(TufError::Expired {
                role: Role::Root,
                version: 7,
                expires: "2026-11-20T00:00:00Z".parse().unwrap(),
                at
            })
        );
    }

    #[test]
    fn expiry_equal_to_reference_time_is_expired() {
        let roles = [status(Role::Targets, "2026-01-01T00:00:00Z")];
        let at: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        assert!(matches!(
            enforce_expiry_at_reference_time(&roles, at),
            Err(TufError::Expired {
                role: Role::Targets,
                ..
            })
        ));
    }

    #[test]
    fn role_file_names_are_percent_encoded() {
        assert_eq!(
            encode_role_file_name("registry.npmjs.org"),
            "registry.npmjs.org"
        );
        assert_eq!(encode_role_file_name("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn worker_runs_inside_a_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let v = rt.block_on(async { run_on_private_runtime(|| async { Ok(41 + 1) }) });
        assert_eq!(v, Ok(42));
    }

    #[test]
    fn missing_folder_is_named() {
        let err = folder_url(Path::new("/nonexistent/airlock/metadata"), "metadata");
        assert!(matches!(
            err,
            Err(TufError::Folder {
                what: "metadata",
                ..
            })
        ));
    }
}
