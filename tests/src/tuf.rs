//! TUF repositories carrying an instance's `trusted_root.json`, built with tough's editor, with
//! root rotation and chosen versions and expiries for every role.

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use serde::Serialize;
use tough::editor::RepositoryEditor;
use tough::editor::signed::PathExists;
use tough::key_source::KeySource;
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::key::{Ed25519Key, Ed25519Scheme, Key};
use tough::schema::{RoleKeys, RoleType, Root, Signature, Signed};
use tough::sign::Sign;

use crate::error::{KitError, Result};
use crate::keys::Seed;

/// A role's version and expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RoleSpec {
    /// Metadata version (≥ 1).
    pub(crate) version: u64,
    /// When the metadata expires.
    pub(crate) expires: DateTime<Utc>,
}

/// One version of root metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RootSpec {
    /// Version and expiry.
    pub(crate) role: RoleSpec,
    /// Generation of the root key (a new generation is a new key).
    pub(crate) root_key_generation: u32,
    /// Generation of the targets, snapshot and timestamp keys.
    pub(crate) role_key_generation: u32,
    /// Whether the previous root's key also signs this root (TUF requires it for rotation).
    pub(crate) signed_by_previous: bool,
}

/// Builds a TUF repository (consistent snapshots, one ed25519 key per role) in a directory.
///
/// Output is byte-for-byte deterministic for a seed as long as at most one target is added:
/// tough serialises targets.json from a `HashMap`, so several targets may be written in any order.
#[derive(Clone, Debug)]
pub struct TufRepoBuilder {
    seed: Seed,
    roots: Vec<RootSpec>,
    targets: BTreeMap<String, Vec<u8>>,
    targets_role: RoleSpec,
    snapshot_role: RoleSpec,
    timestamp_role: RoleSpec,
}

/// A repository on disk.
#[derive(Clone, Debug)]
pub struct TufRepo {
    /// `<dir>/metadata`: `N.root.json`, `N.targets.json`, `N.snapshot.json`, `timestamp.json`.
    pub metadata_dir: PathBuf,
    /// `<dir>/targets`: `<sha256>.<name>`.
    pub targets_dir: PathBuf,
    /// Bytes of `1.root.json`, the root a client pins.
    pub initial_root: Vec<u8>,
    /// Bytes of the newest root.
    pub latest_root: Vec<u8>,
}

const DAY: i64 = 24 * 3600;

fn role(version: u64, expires: DateTime<Utc>) -> RoleSpec {
    RoleSpec { version, expires }
}

fn tuf_err(what: impl Into<String>) -> impl FnOnce(tough::error::Error) -> KitError {
    let what = what.into();
    move |source| KitError::Tuf {
        what,
        source: Box::new(source),
    }
}

fn key_id_err(e: tough::schema::Error) -> KitError {
    KitError::Invalid {
        what: "TUF key",
        detail: e.to_string(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KitError + '_ {
    move |source| KitError::Io {
        what: path.display().to_string(),
        source,
    }
}

fn jiff_time(t: DateTime<Utc>) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_second(t.timestamp()).map_err(|e| KitError::Invalid {
        what: "expiry",
        detail: e.to_string(),
    })
}

fn nonzero(v: u64) -> Result<NonZeroU64> {
    NonZeroU64::new(v).ok_or(KitError::Invalid {
        what: "TUF version",
        detail: "0".into(),
    })
}

impl TufRepoBuilder {
    /// Root v1 valid a year, targets and snapshot v1 for 90 days, timestamp v1 for 7 days,
    /// all from `base_time`.
    pub fn new(seed: impl Into<Seed>, base_time: DateTime<Utc>) -> Self {
        let at = |days: i64| base_time + chrono::Duration::seconds(days * DAY);
        TufRepoBuilder {
            seed: seed.into(),
            roots: vec![RootSpec {
                role: role(1, at(365)),
                root_key_generation: 1,
                role_key_generation: 1,
                signed_by_previous: false,
            }],
            targets: BTreeMap::new(),
            targets_role: role(1, at(90)),
            snapshot_role: role(1, at(90)),
            timestamp_role: role(1, at(7)),
        }
    }

    /// Adds a target file.
    pub fn target(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.targets.insert(name.to_string(), bytes.into());
        self
    }

    /// Adds `trusted_root.json` with the given bytes (e.g. `Instance::trusted_root_json()`).
    pub fn trusted_root(self, json: impl Into<Vec<u8>>) -> Self {
        self.target("trusted_root.json", json)
    }

    /// Adds a new root version with a new root key, signed by the old and the new root keys.
    pub fn rotate_root(self, expires: DateTime<Utc>) -> Self {
        self.rotate_root_with(expires, false, true)
    }

    /// Adds a new root version with a new root key; `rotate_role_keys` also replaces the
    /// targets/snapshot/timestamp keys, and `cross_sign = false` leaves out the old key's
    /// signature (a rotation clients must reject).
    pub fn rotate_root_with(
        mut self,
        expires: DateTime<Utc>,
        rotate_role_keys: bool,
        cross_sign: bool,
    ) -> Self {
        let last = self.roots.last().cloned().unwrap_or(RootSpec {
            role: role(0, expires),
            root_key_generation: 0,
            role_key_generation: 1,
            signed_by_previous: false,
        });
        self.roots.push(RootSpec {
            role: role(last.role.version + 1, expires),
            root_key_generation: last.root_key_generation + 1,
            role_key_generation: last.role_key_generation + u32::from(rotate_role_keys),
            signed_by_previous: cross_sign,
        });
        self
    }

    /// Sets the newest root's expiry (re-signing it).
    pub fn root_expires(mut self, expires: DateTime<Utc>) -> Self {
        if let Some(r) = self.roots.last_mut() {
            r.role.expires = expires;
        }
        self
    }

    /// Sets targets.json's version and expiry.
    pub fn targets_role(mut self, version: u64, expires: DateTime<Utc>) -> Self {
        self.targets_role = role(version, expires);
        self
    }

    /// Sets snapshot.json's version and expiry.
    pub fn snapshot_role(mut self, version: u64, expires: DateTime<Utc>) -> Self {
        self.snapshot_role = role(version, expires);
        self
    }

    /// Sets timestamp.json's version and expiry.
    pub fn timestamp_role(mut self, version: u64, expires: DateTime<Utc>) -> Self {
        self.timestamp_role = role(version, expires);
        self
    }

    fn root_key(&self, generation: u32) -> ed25519_dalek::SigningKey {
        self.seed.ed25519(&format!("tuf-root-{generation}"))
    }

    fn role_key(&self, role: &str, generation: u32) -> ed25519_dalek::SigningKey {
        self.seed.ed25519(&format!("tuf-{role}-{generation}"))
    }

    fn root_metadata(&self, spec: &RootSpec) -> Result<Root> {
        let mut keys = std::collections::HashMap::new();
        let mut roles = std::collections::HashMap::new();
        let mut add = |role_type: RoleType, key: &ed25519_dalek::SigningKey| -> Result<()> {
            let k = tuf_key(key);
            let id = k.key_id().map_err(key_id_err)?;
            keys.insert(id.clone(), k);
            roles.insert(
                role_type,
                RoleKeys {
                    keyids: vec![id],
                    threshold: nonzero(1)?,
                    _extra: Default::default(),
                },
            );
            Ok(())
        };
        add(RoleType::Root, &self.root_key(spec.root_key_generation))?;
        let g = spec.role_key_generation;
        add(RoleType::Targets, &self.role_key("targets", g))?;
        add(RoleType::Snapshot, &self.role_key("snapshot", g))?;
        add(RoleType::Timestamp, &self.role_key("timestamp", g))?;
        Ok(Root {
            spec_version: "1.0.0".into(),
            consistent_snapshot: true,
            version: nonzero(spec.role.version)?,
            expires: jiff_time(spec.role.expires)?,
            keys,
            roles,
            _extra: Default::default(),
        })
    }

    /// Signs root `i` (with its own root key and, if asked, the previous one) and serialises it
    /// as canonical JSON.
    fn signed_root(&self, i: usize) -> Result<Vec<u8>> {
        let spec = &self.roots[i];
        let root = self.root_metadata(spec)?;
        let signed_bytes = canonical(&root)?;
        let mut signers = vec![self.root_key(spec.root_key_generation)];
        if spec.signed_by_previous && i > 0 {
            signers.push(self.root_key(self.roots[i - 1].root_key_generation));
        }
        let mut signatures = Vec::new();
        for key in signers {
            let id = tuf_key(&key).key_id().map_err(key_id_err)?;
            signatures.push(Signature {
                keyid: id,
                sig: Decoded::<Hex>::from(key.sign(&signed_bytes).to_bytes().to_vec()),
            });
        }
        signatures.sort_by(|a, b| a.keyid.cmp(&b.keyid));
        let mut out = canonical(&Signed {
            signed: root,
            signatures,
        })?;
        out.push(b'\n');
        Ok(out)
    }

    /// Writes the repository under `dir` (`metadata/` and `targets/`).
    pub fn write(&self, dir: &Path) -> Result<TufRepo> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err(dir))?;
        rt.block_on(self.write_async(dir))
    }

    async fn write_async(&self, dir: &Path) -> Result<TufRepo> {
        let metadata_dir = dir.join("metadata");
        let targets_dir = dir.join("targets");
        let staging = dir.join(".staging");
        for d in [&metadata_dir, &targets_dir, &staging] {
            std::fs::create_dir_all(d).map_err(io_err(d))?;
        }
        let mut roots = Vec::new();
        for i in 0..self.roots.len() {
            let bytes = self.signed_root(i)?;
            let path = metadata_dir.join(format!("{}.root.json", self.roots[i].role.version));
            std::fs::write(&path, &bytes).map_err(io_err(&path))?;
            roots.push(bytes);
        }
        let (Some(initial_root), Some(latest_root)) =
            (roots.first().cloned(), roots.last().cloned())
        else {
            return Err(KitError::Invalid {
                what: "TUF repository",
                detail: "no root".into(),
            });
        };
        let latest = self.roots.last().map(|r| r.role.version).unwrap_or(1);
        let root_path = metadata_dir.join(format!("{latest}.root.json"));
        let mut editor = RepositoryEditor::new(&root_path)
            .await
            .map_err(tuf_err("opening root"))?;
        let mut paths = Vec::new();
        for (name, bytes) in &self.targets {
            let path = staging.join(name);
            std::fs::write(&path, bytes).map_err(io_err(&path))?;
            paths.push(path);
        }
        editor
            .add_target_paths(paths)
            .await
            .map_err(tuf_err("adding targets"))?;
        editor
            .targets_version(nonzero(self.targets_role.version)?)
            .map_err(tuf_err("targets version"))?
            .targets_expires(jiff_time(self.targets_role.expires)?)
            .map_err(tuf_err("targets expiry"))?
            .snapshot_version(nonzero(self.snapshot_role.version)?)
            .snapshot_expires(jiff_time(self.snapshot_role.expires)?)
            .timestamp_version(nonzero(self.timestamp_role.version)?)
            .timestamp_expires(jiff_time(self.timestamp_role.expires)?);
        let g = self
            .roots
            .last()
            .map(|r| r.role_key_generation)
            .unwrap_or(1);
        let keys: Vec<Box<dyn KeySource>> = vec![
            Box::new(SeededKey(self.role_key("targets", g))),
            Box::new(SeededKey(self.role_key("snapshot", g))),
            Box::new(SeededKey(self.role_key("timestamp", g))),
        ];
        let signed = editor.sign(&keys).await.map_err(tuf_err("signing"))?;
        signed
            .write(&metadata_dir)
            .await
            .map_err(tuf_err("writing metadata"))?;
        signed
            .copy_targets(&staging, &targets_dir, PathExists::Replace)
            .await
            .map_err(tuf_err("copying targets"))?;
        std::fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
        // The editor rewrote the newest root from the bytes it read; keep ours.
        std::fs::write(&root_path, &latest_root).map_err(io_err(&root_path))?;
        Ok(TufRepo {
            metadata_dir,
            targets_dir,
            initial_root,
            latest_root,
        })
    }
}

fn canonical<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    v.serialize(&mut ser).map_err(|source| KitError::Json {
        what: "TUF metadata",
        source,
    })?;
    Ok(out)
}

fn tuf_key(key: &ed25519_dalek::SigningKey) -> Key {
    Key::Ed25519 {
        keyval: Ed25519Key {
            public: Decoded::<Hex>::from(key.verifying_key().to_bytes().to_vec()),
            _extra: Default::default(),
        },
        scheme: Ed25519Scheme::Ed25519,
        _extra: Default::default(),
    }
}

/// A role key handed to tough's editor.
#[derive(Debug)]
struct SeededKey(ed25519_dalek::SigningKey);

#[async_trait::async_trait]
impl KeySource for SeededKey {
    async fn as_sign(
        &self,
    ) -> std::result::Result<Box<dyn Sign>, Box<dyn std::error::Error + Send + Sync + 'static>>
    {
        let der = self.0.to_pkcs8_der().map_err(|e| e.to_string())?;
        Ok(Box::new(tough::sign::parse_keypair(der.as_bytes())?))
    }

    async fn write(
        &self,
        _value: &str,
        _key_id_hex: &str,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        Err("the testkit's keys are derived from its seed and cannot be written".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier as _;

    #[test]
    fn rotated_root_is_cross_signed_over_its_canonical_form() {
        let t = DateTime::from_timestamp(1_768_478_400, 0).unwrap();
        let b = TufRepoBuilder::new(1, t).rotate_root(t + chrono::Duration::days(400));
        let signed: Signed<Root> = serde_json::from_slice(&b.signed_root(1).unwrap()).unwrap();
        assert_eq!(signed.signed.version.get(), 2);
        assert_eq!(signed.signatures.len(), 2);
        let msg = canonical(&signed.signed).unwrap();
        for key in [b.root_key(1), b.root_key(2)] {
            let id = tuf_key(&key).key_id().unwrap();
            let sig = signed.signatures.iter().find(|s| s.keyid == id).unwrap();
            let sig = ed25519_dalek::Signature::from_slice(&sig.sig).unwrap();
            key.verifying_key().verify(&msg, &sig).unwrap();
        }
    }
}
