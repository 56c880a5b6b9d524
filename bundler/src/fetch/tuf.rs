//! Mirroring a TUF repository (Sigstore style) over HTTPS into the local folders
//! `airlock_trust_root::LocalRepository` reads. The download is not trusted: the caller
//! verifies the folders with `LocalRepository::verify` from its pinned root.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use airlock_trust_root::{LocalRepository, RepositoryName, TRUSTED_ROOT_TARGET};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::error::FetchError;
use super::http::{HttpClient, join, require_https};

/// Size limits per metadata file: those `LocalRepository::verify` applies (tough's defaults),
/// so nothing is fetched that verification would refuse to read.
const MAX_ROOT_SIZE: u64 = 1024 * 1024;
const MAX_TIMESTAMP_SIZE: u64 = 1024 * 1024;
const MAX_SNAPSHOT_SIZE: u64 = 1024 * 1024;
const MAX_TARGETS_SIZE: u64 = 10 * 1024 * 1024;
/// The largest target fetched (Sigstore's are a few KiB).
const MAX_TARGET_SIZE: u64 = 16 * 1024 * 1024;
/// Root versions followed after the initial one (as `LocalRepository::verify` allows).
const MAX_ROOT_UPDATES: u64 = 1024;
/// Delegated targets roles fetched in all.
const MAX_DELEGATED_ROLES: usize = 1024;

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
/// if absent; they must be empty), following TUF's client walk from `initial_root`:
///
/// 1. `N.root.json` for N = initial version + 1, + 2, … until a 404 (at most 1024 more); the
///    initial root is saved as well, under its own version;
/// 2. `timestamp.json`; the snapshot version it names;
/// 3. `V.snapshot.json` (or `snapshot.json` when the newest root has
///    `consistent_snapshot: false`); the targets version it lists;
/// 4. `V.targets.json`, then every delegated targets role reachable from it (pre-order,
///    versions from the snapshot; a role the snapshot does not list is skipped, as tough does).
///    Snapshot entries that no delegation names (Sigstore's snapshot keeps retired ones) are
///    not fetched;
/// 5. the targets `LocalRepository::verify` reads: `trusted_root.json` (required) and every
///    `signing_config*.json`, from any targets role, as `<sha256>.<name>`, each checked
///    against its listed SHA-256.
///
/// Role and target names must be plain file names (`A-Z a-z 0-9 . _ ~ -`), so file names
/// equal the ones tough asks for and nothing is written outside `dest`. Every file is
/// bounded in size. Nothing here is trusted: the caller must run `LocalRepository::verify`.
pub fn mirror_tuf(
    client: &HttpClient,
    remote: &TufRemote,
    initial_root: &[u8],
    dest: &Path,
) -> Result<MirroredRepo, FetchError> {
    let initial: Signed<RootFields> =
        serde_json::from_slice(initial_root).map_err(|e| FetchError::InitialRoot {
            reason: e.to_string(),
        })?;
    if initial.signed.version == 0 {
        return Err(FetchError::InitialRoot {
            reason: "version 0".to_owned(),
        });
    }
    let mirror = Mirror::create(client, remote, dest)?;

    // 1. Roots.
    mirror.write_metadata(
        &format!("{}.root.json", initial.signed.version),
        initial_root,
    )?;
    let initial_version = initial.signed.version;
    let mut root = initial.signed;
    let mut updates = 0u64;
    while let Some(next) = root.version.checked_add(1) {
        let file = format!("{next}.root.json");
        let url = mirror.metadata_url(&file)?;
        let Some(bytes) = client.get_bytes(&url, MAX_ROOT_SIZE)? else {
            break;
        };
        if updates == MAX_ROOT_UPDATES {
            return Err(FetchError::TooManyRoots {
                initial: initial_version,
                limit: MAX_ROOT_UPDATES,
            });
        }
        let parsed: Signed<RootFields> = parse(&url, &bytes)?;
        if parsed.signed.version != next {
            return Err(malformed(
                &url,
                format!("holds root version {}", parsed.signed.version),
            ));
        }
        mirror.write_metadata(&file, &bytes)?;
        root = parsed.signed;
        updates += 1;
    }
    let versioned = |version: u64, name: &str| {
        if root.consistent_snapshot {
            format!("{version}.{name}")
        } else {
            name.to_owned()
        }
    };

    // 2. Timestamp.
    let (url, bytes) = mirror.fetch_metadata("timestamp.json", MAX_TIMESTAMP_SIZE)?;
    let timestamp: Signed<MetaFields> = parse(&url, &bytes)?;
    let snapshot_version = timestamp.signed.version_of(&url, "snapshot.json")?;

    // 3. Snapshot.
    let (url, bytes) = mirror.fetch_metadata(
        &versioned(snapshot_version, "snapshot.json"),
        MAX_SNAPSHOT_SIZE,
    )?;
    let snapshot: Signed<MetaFields> = parse(&url, &bytes)?;
    let snapshot_url = url;
    let targets_version = snapshot.signed.version_of(&snapshot_url, "targets.json")?;

    // 4. Targets and delegated targets roles.
    let (url, bytes) = mirror.fetch_metadata(
        &versioned(targets_version, "targets.json"),
        MAX_TARGETS_SIZE,
    )?;
    let top: Signed<TargetsFields> = parse(&url, &bytes)?;
    let mut listed: BTreeMap<String, (Url, TargetFields)> = BTreeMap::new();
    let mut pending: VecDeque<String> = VecDeque::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut visit = |url: &Url, fields: Signed<TargetsFields>, pending: &mut VecDeque<String>| {
        for (name, target) in fields.signed.targets {
            listed.entry(name).or_insert_with(|| (url.clone(), target));
        }
        // Pre-order: this role's delegations come before its siblings'.
        for (i, role) in fields.signed.delegations.roles.into_iter().enumerate() {
            pending.insert(i, role.name);
        }
    };
    visit(&url, top, &mut pending);
    while let Some(name) = pending.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if seen.len() > MAX_DELEGATED_ROLES {
            return Err(malformed(
                &snapshot_url,
                format!("more than {MAX_DELEGATED_ROLES} delegated roles"),
            ));
        }
        check_name("delegated role", &name)?;
        let Some(meta) = snapshot.signed.meta.get(&format!("{name}.json")) else {
            continue;
        };
        let (url, bytes) = mirror.fetch_metadata(
            &versioned(meta.version, &format!("{name}.json")),
            MAX_TARGETS_SIZE,
        )?;
        visit(&url, parse(&url, &bytes)?, &mut pending);
    }

    // 5. The targets verification reads.
    if !listed.contains_key(TRUSTED_ROOT_TARGET) {
        return Err(FetchError::TargetNotListed {
            name: TRUSTED_ROOT_TARGET.to_owned(),
        });
    }
    for (name, (listed_in, target)) in &listed {
        let wanted = name == TRUSTED_ROOT_TARGET
            || (name.starts_with("signing_config") && name.ends_with(".json"));
        if !wanted {
            continue;
        }
        check_name("target", name)?;
        let sha256 = target
            .hashes
            .sha256
            .as_deref()
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| malformed(listed_in, format!("target {name} has no SHA-256")))?
            .to_ascii_lowercase();
        let file = if root.consistent_snapshot {
            format!("{sha256}.{name}")
        } else {
            name.clone()
        };
        mirror.fetch_target(&file, &sha256, target.length)?;
    }

    Ok(MirroredRepo {
        metadata_dir: mirror.metadata_dir,
        targets_dir: mirror.targets_dir,
        root_version: root.version,
    })
}

/// The destination folders and the remote, for one mirror run.
struct Mirror<'a> {
    client: &'a HttpClient,
    remote: &'a TufRemote,
    metadata_dir: PathBuf,
    targets_dir: PathBuf,
}

impl<'a> Mirror<'a> {
    fn create(
        client: &'a HttpClient,
        remote: &'a TufRemote,
        dest: &Path,
    ) -> Result<Self, FetchError> {
        let metadata_dir = dest.join("metadata");
        let targets_dir = dest.join("targets");
        for dir in [&metadata_dir, &targets_dir] {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
            if entries.next().is_some() {
                return Err(FetchError::DestinationNotEmpty { path: dir.clone() });
            }
        }
        Ok(Self {
            client,
            remote,
            metadata_dir,
            targets_dir,
        })
    }

    fn metadata_url(&self, file: &str) -> Result<Url, FetchError> {
        join(&self.remote.metadata, file)
    }

    /// Fetches a metadata file that must exist and writes it; returns its URL and bytes.
    fn fetch_metadata(&self, file: &str, limit: u64) -> Result<(Url, Vec<u8>), FetchError> {
        let url = self.metadata_url(file)?;
        let bytes = self.client.get_existing(&url, limit)?;
        self.write_metadata(file, &bytes)?;
        Ok((url, bytes))
    }

    fn write_metadata(&self, file: &str, bytes: &[u8]) -> Result<(), FetchError> {
        let path = self.metadata_dir.join(file);
        std::fs::write(&path, bytes).map_err(io_err(&path))
    }

    /// Fetches a target (at most its listed length), checks its SHA-256 and writes it.
    fn fetch_target(&self, file: &str, sha256: &str, length: u64) -> Result<(), FetchError> {
        let url = join(&self.remote.targets, file)?;
        if length > MAX_TARGET_SIZE {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: MAX_TARGET_SIZE,
            });
        }
        let bytes = self.client.get_existing(&url, length)?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            return Err(FetchError::TargetDigest {
                url: url.to_string(),
                expected: sha256.to_owned(),
                actual,
            });
        }
        let path = self.targets_dir.join(file);
        std::fs::write(&path, &bytes).map_err(io_err(&path))
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn malformed(url: &Url, reason: String) -> FetchError {
    FetchError::Malformed {
        url: url.to_string(),
        reason,
    }
}

fn parse<T: for<'de> Deserialize<'de>>(url: &Url, bytes: &[u8]) -> Result<T, FetchError> {
    serde_json::from_slice(bytes).map_err(|e| malformed(url, e.to_string()))
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

/// `{"signed": …, "signatures": …}`; only `signed` is read, unknown fields are ignored.
#[derive(Deserialize)]
struct Signed<T> {
    signed: T,
}

#[derive(Deserialize)]
struct RootFields {
    version: u64,
    consistent_snapshot: bool,
}

/// The `meta` of timestamp or snapshot metadata.
#[derive(Deserialize)]
struct MetaFields {
    meta: BTreeMap<String, MetaVersion>,
}

impl MetaFields {
    fn version_of(&self, url: &Url, file: &str) -> Result<u64, FetchError> {
        self.meta
            .get(file)
            .map(|m| m.version)
            .ok_or_else(|| malformed(url, format!("meta lists no {file}")))
    }
}

#[derive(Deserialize)]
struct MetaVersion {
    version: u64,
}

#[derive(Deserialize)]
struct TargetsFields {
    targets: BTreeMap<String, TargetFields>,
    #[serde(default)]
    delegations: DelegationFields,
}

#[derive(Deserialize)]
struct TargetFields {
    length: u64,
    hashes: HashFields,
}

#[derive(Deserialize)]
struct HashFields {
    sha256: Option<String>,
}

#[derive(Deserialize, Default)]
struct DelegationFields {
    #[serde(default)]
    roles: Vec<DelegatedRole>,
}

#[derive(Deserialize)]
struct DelegatedRole {
    name: String,
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
