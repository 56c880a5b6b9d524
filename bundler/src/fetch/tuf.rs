//! Mirroring a TUF repository (Sigstore style) over HTTPS into the local folders
//! `airlock_trust_root::LocalRepository` reads, with `tough`: its `RepositoryLoader` walks and
//! verifies the repository from the initial root over [`HttpTransport`], and the metadata it
//! read and the targets it checked are written out. Expiry is not judged here (tough runs with
//! `ExpirationEnforcement::Unsafe`): the caller verifies the folders with
//! `LocalRepository::verify` at its reference time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use airlock_trust_root::{LocalRepository, RepositoryName, TRUSTED_ROOT_TARGET};
use tough::schema::Delegations;
use tough::{ExpirationEnforcement, IntoVec, Limits, Repository, RepositoryLoader};
use url::Url;

use super::error::FetchError;
use super::http::{HttpClient, join, require_https};
use super::tuf_transport::{
    HttpTransport, MAX_ROOT_SIZE, MAX_SNAPSHOT_SIZE, MAX_TARGET_SIZE, MAX_TARGETS_SIZE,
    MAX_TIMESTAMP_SIZE,
};

/// Root versions followed after the initial one (as `LocalRepository::verify` allows).
const MAX_ROOT_UPDATES: u64 = 1024;

/// tough's limits: those `LocalRepository::verify` applies.
const LIMITS: Limits = Limits {
    max_root_size: MAX_ROOT_SIZE,
    max_targets_size: MAX_TARGETS_SIZE,
    max_timestamp_size: MAX_TIMESTAMP_SIZE,
    max_snapshot_size: MAX_SNAPSHOT_SIZE,
    max_root_updates: MAX_ROOT_UPDATES,
};

/// Where a repository is served: its metadata and targets base URLs (both `https://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TufRemote {
    metadata: Url,
    targets: Url,
}

impl TufRemote {
    /// Metadata and targets at separate URLs, as Sigstore serves them
    /// (`https://tuf-repo-cdn.sigstore.dev` and `https://tuf-repo-cdn.sigstore.dev/targets`).
    pub fn new(metadata: Url, targets: Url) -> Result<Self, FetchError> {
        require_https(&metadata)?;
        require_https(&targets)?;
        Ok(Self { metadata, targets })
    }

    /// `<base>/metadata/` and `<base>/targets/`: the layout of a mirror on disk, served as is.
    pub fn under(base: &Url) -> Result<Self, FetchError> {
        Self::new(join(base, "metadata/")?, join(base, "targets/")?)
    }

    /// The metadata base URL.
    pub fn metadata_url(&self) -> &Url {
        &self.metadata
    }

    /// The targets base URL.
    pub fn targets_url(&self) -> &Url {
        &self.targets
    }
}

/// A repository downloaded into `metadata/` and `targets/` folders. Not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredRepo {
    metadata_dir: PathBuf,
    targets_dir: PathBuf,
    root_version: u64,
}

impl MirroredRepo {
    /// `<dest>/metadata`: `N.root.json` (the initial root's version and every later one),
    /// `timestamp.json`, `N.snapshot.json`, `N.targets.json`, `N.<delegated role>.json`.
    pub fn metadata_dir(&self) -> &Path {
        &self.metadata_dir
    }

    /// `<dest>/targets`: `<sha256>.trusted_root.json` and `<sha256>.signing_config*.json`.
    pub fn targets_dir(&self) -> &Path {
        &self.targets_dir
    }

    /// The newest root version the server had.
    pub fn root_version(&self) -> u64 {
        self.root_version
    }

    /// The mirror as a repository to verify.
    pub fn local_repository(&self, name: RepositoryName) -> LocalRepository {
        LocalRepository::new(name, &self.metadata_dir, &self.targets_dir)
    }
}

/// Downloads the repository at `remote` into `<dest>/metadata` and `<dest>/targets` (created
/// if absent; they must be empty), following TUF's client walk from `initial_root` with tough:
///
/// 1. `N.root.json` for N = initial version + 1, + 2, … until a 404 (at most 1024 more), each
///    signed by the root before it and by itself; the initial root is saved as well, under its
///    own version;
/// 2. `timestamp.json`, then the snapshot version it names, the targets version the snapshot
///    lists, and every delegated targets role reachable from it (as tough loads them: a role
///    the snapshot does not list ends its delegation's search). Snapshot entries that no
///    delegation names (Sigstore's snapshot keeps retired ones) are not fetched. Signatures,
///    thresholds, versions and listed hashes and lengths are checked as each file arrives;
/// 3. the targets `LocalRepository::verify` reads: `trusted_root.json` (required) and every
///    `signing_config*.json`, from any targets role, as `<sha256>.<name>`, each checked
///    against its listed length and SHA-256.
///
/// Role and target names must be plain file names (`A-Z a-z 0-9 . _ ~ -`), so file names
/// equal the ones tough asks for and nothing is written outside `dest`. Every file is bounded
/// in size. Expiry is not judged: the caller must run `LocalRepository::verify`.
pub fn mirror_tuf(
    client: &HttpClient,
    remote: &TufRemote,
    initial_root: &[u8],
    dest: &Path,
) -> Result<MirroredRepo, FetchError> {
    let (metadata_dir, targets_dir) = create_destination(dest)?;
    let transport = HttpTransport::new(client, &remote.metadata)?;
    let mirrored = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            // tough is async; it runs on this thread's own runtime, so callers need none and
            // may be inside one (`block_on` inside a runtime panics).
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| tuf_error(remote, format!("cannot start tough's runtime: {e}")))?;
            runtime.block_on(mirror(&transport, remote, initial_root))
        });
        worker
            .join()
            .unwrap_or_else(|_| Err(tuf_error(remote, "the TUF worker panicked".to_owned())))
    })?;

    let initial_version = serde_json::from_slice::<InitialRoot>(initial_root)
        .map(|r| r.signed.version)
        .map_err(|e| FetchError::InitialRoot {
            reason: e.to_string(),
        })?;
    write(
        &metadata_dir.join(format!("{initial_version}.root.json")),
        initial_root,
    )?;
    for (name, bytes) in &mirrored.metadata {
        write(&metadata_dir.join(name), bytes)?;
    }
    for (name, bytes) in &mirrored.targets {
        write(&targets_dir.join(name), bytes)?;
    }
    Ok(MirroredRepo {
        metadata_dir,
        targets_dir,
        root_version: mirrored.root_version,
    })
}

/// What tough verified: its metadata files and the targets read, by file name.
struct Mirrored {
    root_version: u64,
    metadata: BTreeMap<String, Vec<u8>>,
    targets: Vec<(String, Vec<u8>)>,
}

/// Loads the repository with tough over `transport`, then reads the targets verification
/// needs. A failure of the transport itself (TLS, status, size) is reported as it happened,
/// even where tough went on without the file (a next root that would not download is not the
/// end of the roots).
async fn mirror(
    transport: &HttpTransport,
    remote: &TufRemote,
    initial_root: &[u8],
) -> Result<Mirrored, FetchError> {
    let loaded = RepositoryLoader::new(
        &initial_root,
        remote.metadata.clone(),
        remote.targets.clone(),
    )
    .transport(transport.clone())
    .limits(LIMITS)
    // Expiry is judged by the caller at its reference time (`LocalRepository::verify`),
    // never by the clock here; signatures and thresholds stay enforced by tough.
    .expiration_enforcement(ExpirationEnforcement::Unsafe)
    .load()
    .await;
    if let Some(failure) = transport.take_failure() {
        return Err(failure);
    }
    let repo = loaded.map_err(|e| load_error(&e, remote, initial_root, transport))?;
    check_role_names(repo.targets().signed.delegations.as_ref())?;
    let metadata = transport.take_metadata();

    transport.start_targets();
    let mut wanted: Vec<_> = repo
        .all_targets()
        .filter(|(name, _)| {
            let name = name.raw();
            name == TRUSTED_ROOT_TARGET
                || (name.starts_with("signing_config") && name.ends_with(".json"))
        })
        .collect();
    wanted.sort_by(|a, b| a.0.raw().cmp(b.0.raw()));
    wanted.dedup_by(|a, b| a.0 == b.0);
    if !wanted
        .iter()
        .any(|(name, _)| name.raw() == TRUSTED_ROOT_TARGET)
    {
        return Err(FetchError::TargetNotListed {
            name: TRUSTED_ROOT_TARGET.to_owned(),
        });
    }
    let mut targets = Vec::with_capacity(wanted.len());
    for (name, target) in wanted {
        check_name("target", name.raw())?;
        let sha256 = hex::encode(&target.hashes.sha256);
        let file = if repo.root().signed.consistent_snapshot {
            format!("{sha256}.{}", name.raw())
        } else {
            name.raw().to_owned()
        };
        if target.length > MAX_TARGET_SIZE {
            return Err(FetchError::TooLarge {
                url: join(&remote.targets, &file)?.to_string(),
                limit: MAX_TARGET_SIZE,
            });
        }
        let bytes = read_target(&repo, name).await;
        if let Some(failure) = transport.take_failure() {
            return Err(failure);
        }
        let bytes = bytes
            .map_err(|e| target_error(&e, remote, &file))?
            .ok_or_else(|| FetchError::TargetNotListed {
                name: name.raw().to_owned(),
            })?;
        targets.push((file, bytes));
    }
    Ok(Mirrored {
        root_version: repo.root().signed.version.get(),
        metadata,
        targets,
    })
}

/// A target read through tough, its listed length and SHA-256 checked; `None` if tough's
/// search through the delegations does not find it (a role listing a path it is not
/// delegated).
async fn read_target(
    repo: &Repository,
    name: &tough::TargetName,
) -> Result<Option<Vec<u8>>, tough::error::Error> {
    match repo.read_target(name).await? {
        Some(stream) => stream.into_vec().await.map(Some),
        None => Ok(None),
    }
}

/// `<dest>/metadata` and `<dest>/targets`, created if absent, and empty.
fn create_destination(dest: &Path) -> Result<(PathBuf, PathBuf), FetchError> {
    let metadata_dir = dest.join("metadata");
    let targets_dir = dest.join("targets");
    for dir in [&metadata_dir, &targets_dir] {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
        if entries.next().is_some() {
            return Err(FetchError::DestinationNotEmpty { path: dir.clone() });
        }
    }
    Ok((metadata_dir, targets_dir))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    std::fs::write(path, bytes).map_err(io_err(path))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn tuf_error(remote: &TufRemote, reason: String) -> FetchError {
    FetchError::Tuf {
        url: remote.metadata.to_string(),
        reason,
    }
}

/// tough's error with the errors behind it, on one line.
fn chain(err: &tough::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line
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

/// What a failed load means, in this module's terms where it has them.
fn load_error(
    err: &tough::error::Error,
    remote: &TufRemote,
    initial_root: &[u8],
    transport: &HttpTransport,
) -> FetchError {
    use tough::error::Error as E;
    if let (E::Transport { url, .. }, Some(E::MaxSizeExceeded { max_size, .. })) =
        (err, wrapped(err))
    {
        return FetchError::TooLarge {
            url: url.to_string(),
            limit: *max_size,
        };
    }
    match err {
        E::ParseTrustedMetadata { .. } | E::VerifyTrustedMetadata { .. } => {
            FetchError::InitialRoot { reason: chain(err) }
        }
        E::MaxUpdatesExceeded {
            max_root_updates, ..
        } => FetchError::TooManyRoots {
            initial: serde_json::from_slice::<InitialRoot>(initial_root)
                .map(|r| r.signed.version)
                .unwrap_or_default(),
            limit: *max_root_updates,
        },
        E::ParseMetadata { source, .. } => FetchError::Malformed {
            url: transport
                .last_url()
                .map_or_else(|| remote.metadata.to_string(), |u| u.to_string()),
            reason: source.to_string(),
        },
        E::Transport { url, source, .. }
            if source.kind() == tough::TransportErrorKind::FileNotFound =>
        {
            FetchError::NotFound {
                url: url.to_string(),
            }
        }
        other => tuf_error(remote, chain(other)),
    }
}

/// What a failed target read means: a digest or length that is not the listed one, or
/// tough's own finding.
fn target_error(err: &tough::error::Error, remote: &TufRemote, file: &str) -> FetchError {
    use tough::error::Error as E;
    let url = match err {
        E::Transport { url, .. } => url.to_string(),
        _ => join(&remote.targets, file).map_or_else(|_| file.to_owned(), |u| u.to_string()),
    };
    match wrapped(err).unwrap_or(err) {
        E::HashMismatch {
            context,
            calculated,
            expected,
            ..
        } => FetchError::TargetDigest {
            url: context.clone(),
            expected: expected.clone(),
            actual: calculated.clone(),
        },
        E::MaxSizeExceeded { max_size, .. } => FetchError::TooLarge {
            url,
            limit: *max_size,
        },
        E::Transport { source, .. } if source.kind() == tough::TransportErrorKind::FileNotFound => {
            FetchError::NotFound { url }
        }
        other => tuf_error(remote, format!("{url}: {}", chain(other))),
    }
}

/// Every delegated role's name (loaded or not) must be a plain file name.
fn check_role_names(delegations: Option<&Delegations>) -> Result<(), FetchError> {
    let Some(delegations) = delegations else {
        return Ok(());
    };
    for role in &delegations.roles {
        check_name("delegated role", &role.name)?;
        if let Some(targets) = &role.targets {
            check_role_names(targets.signed.delegations.as_ref())?;
        }
    }
    Ok(())
}

/// A role or target name usable verbatim as a file name and URL segment: what tough leaves
/// unescaped (RFC 3986 unreserved characters), and not `.` or `..`.
fn check_name(what: &'static str, name: &str) -> Result<(), FetchError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
    if plain {
        Ok(())
    } else {
        Err(FetchError::UnsupportedName {
            what,
            name: name.to_owned(),
        })
    }
}

/// The initial root's version (tough has checked the rest by the time it is read).
#[derive(serde::Deserialize)]
struct InitialRoot {
    signed: InitialRootVersion,
}

#[derive(serde::Deserialize)]
struct InitialRootVersion {
    version: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain_file_names() {
        for ok in [
            "trusted_root.json",
            "registry.npmjs.org",
            "signing_config.v0.2.json",
        ] {
            assert!(check_name("target", ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../x.json", "a/b", "a%2Fb", "ö", "a b"] {
            assert!(
                matches!(
                    check_name("target", bad),
                    Err(FetchError::UnsupportedName { .. })
                ),
                "{bad}"
            );
        }
    }
}
