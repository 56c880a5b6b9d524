//! The archive-wide steps: publisher keys and sequence, TUF trust, and the log witness.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use airlock_bundler::archive::{Manifest, Sha256Digest, read_staged_blob};
use airlock_bundler::check::{self, CheckError, Head, KnownRepository};
use airlock_bundler::keys::KeyId;
use airlock_trust_root::{TrustState, TufError, Verifier, verify_consistency};
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;

use super::{Rejection, Settings};
use crate::appliance::Appliance;
use crate::policy_store::NamedSigner;
use crate::report::ImportStep;
use crate::store::{self, AlarmKind};

/// The trusted publisher keys, as the archive reader wants them.
pub(super) fn publisher_keys(
    app: &Appliance,
    settings: &Settings,
) -> Result<airlock_bundler::archive::PublisherKeys, Rejection> {
    let rows = store::publishers::keys(app.store().read())
        .map_err(|e| Rejection::new(ImportStep::Archive, e.to_string()))?;
    let keys: Vec<VerifyingKey> = rows
        .iter()
        .filter(|k| k.enabled)
        .filter_map(|k| {
            let bytes: [u8; 32] = k.public_key.as_slice().try_into().ok()?;
            VerifyingKey::from_bytes(&bytes).ok()
        })
        .collect();
    if keys.is_empty() {
        return Err(Rejection::new(
            ImportStep::Archive,
            "no trusted publisher keys are configured",
        ));
    }
    airlock_bundler::archive::PublisherKeys::new(keys, settings.threshold)
        .map_err(|e| Rejection::new(ImportStep::Archive, e.to_string()))
}

/// The publisher named in the manifest owns the keys that signed it, the archive is meant for
/// this site (when the site has a name), its sequence number is new, and `created_at` is
/// neither in the future nor too old.
pub(super) fn check_publisher(
    app: &Appliance,
    manifest: &Manifest,
    key_ids: &[KeyId],
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<String, Rejection> {
    let name = &manifest.publisher.name;
    let store = app.store();
    let owners: HashMap<String, String> = store::publishers::keys(store.read())
        .map_err(|e| Rejection::new(ImportStep::Publisher, e.to_string()))?
        .into_iter()
        .map(|k| (k.key_id, k.publisher))
        .collect();
    let own = key_ids
        .iter()
        .filter(|k| owners.get(k.as_str()) == Some(name))
        .count();
    if own < settings.threshold {
        let signers: Vec<&str> = key_ids.iter().map(KeyId::as_str).collect();
        return Err(Rejection::new(
            ImportStep::Publisher,
            format!(
                "signed by key(s) {} which do not belong to publisher {name:?}",
                signers.join(", ")
            ),
        ));
    }
    if let Some(site) = &settings.site
        && manifest.site.as_ref() != Some(site)
    {
        return Err(Rejection::new(
            ImportStep::Publisher,
            match &manifest.site {
                Some(other) => {
                    format!("the archive is meant for site {other:?}, not this site ({site:?})")
                }
                None => format!(
                    "the archive names no site; this site ({site:?}) accepts only archives made for it"
                ),
            },
        ));
    }
    let record = store::publishers::get(store.read(), name)
        .map_err(|e| Rejection::new(ImportStep::Publisher, e.to_string()))?;
    let sequence = manifest.publisher.sequence;
    if let Some(last) = record.and_then(|r| r.last_sequence)
        && sequence <= last
    {
        return Err(Rejection::new(
            ImportStep::Publisher,
            format!(
                "sequence {sequence} of {name:?} is not above the last accepted ({last}): a replayed or out-of-order archive"
            ),
        ));
    }
    let created = manifest.created_at;
    if created > now + settings.skew {
        return Err(Rejection::new(
            ImportStep::Publisher,
            format!(
                "created_at {} is in the future (appliance clock {}, skew allowed {} s)",
                rfc3339(created),
                rfc3339(now),
                settings.skew.num_seconds()
            ),
        ));
    }
    if created < now - settings.max_transit {
        return Err(Rejection::new(
            ImportStep::Publisher,
            format!(
                "created_at {} is older than the maximum transit age ({})",
                rfc3339(created),
                whole_days_or_seconds(settings.max_transit)
            ),
        ));
    }
    Ok(format!(
        "publisher {name:?}, sequence {sequence}, created {}",
        rfc3339(created)
    ))
}

/// A trust state to save when the import commits.
#[derive(Debug)]
pub(super) struct NewTrustState {
    pub(super) name: String,
    pub(super) state_json: String,
    pub(super) trusted_root: Vec<u8>,
    pub(super) trusted_root_sha256: String,
    pub(super) root_version: u64,
    /// `{"role": "<RFC 3339 expiry>"}` for every verified role.
    pub(super) role_expiries: String,
    /// The archive time it was verified as of.
    pub(super) reference_time: DateTime<Utc>,
    /// The verified role that expires first, and when.
    pub(super) first_expiry: Option<(String, DateTime<Utc>)>,
}

/// The verified trust an import runs with.
#[derive(Debug)]
pub(super) struct Trust {
    pub(super) verifiers: Vec<Verifier>,
    pub(super) states: Vec<NewTrustState>,
}

/// Each carried TUF repository verified from its pinned root as of the archive's
/// `created_at`, never behind the stored state. Repositories the archive does not carry are
/// used as last accepted.
pub(super) fn check_trust(
    app: &Appliance,
    manifest: &Manifest,
    staging: &Path,
) -> Result<(Trust, String), Rejection> {
    let rows = store::trust::list(app.store().read())
        .map_err(|e| Rejection::new(ImportStep::Trust, e.to_string()))?;
    let mut known = BTreeMap::new();
    for row in rows {
        let previous: Option<TrustState> = match &row.state {
            Some(json) => Some(serde_json::from_str(json).map_err(|e| {
                Rejection::new(
                    ImportStep::Trust,
                    format!("stored state of {}: {e}", row.name),
                )
            })?),
            None => None,
        };
        known.insert(
            row.name.clone(),
            KnownRepository {
                pinned_root: row.pinned_root,
                previous,
                last_trusted_root: row.trusted_root,
            },
        );
    }
    let dir = staging.join(".trust");
    let read_blob = |digest: &Sha256Digest, limit: u64| read_staged_blob(staging, digest, limit);
    let checked = check::check_trust(manifest, &known, manifest.created_at, &read_blob, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let checked = checked.map_err(|e| match &e {
        CheckError::Trust { name, .. } => {
            let name = name.clone();
            trust_rejection(&name, e)
        }
        _ => Rejection::new(ImportStep::Trust, e.to_string()),
    })?;
    let mut lines = Vec::new();
    let mut states = Vec::new();
    for (name, verified) in &checked.carried {
        let root_version = verified.roles().first().map_or(0, |r| r.version);
        lines.push(format!(
            "{name}: root v{root_version}, trusted_root {}",
            short(verified.trusted_root().sha256())
        ));
        states.push(NewTrustState {
            name: name.clone(),
            trusted_root: verified.trusted_root().bytes().to_vec(),
            trusted_root_sha256: verified.trusted_root().sha256().to_owned(),
            state_json: serde_json::to_string(verified.state())
                .expect("invariant: a TUF state serializes (derived, string keys)"),
            root_version,
            reference_time: manifest.created_at,
            first_expiry: verified
                .roles()
                .iter()
                .min_by_key(|r| r.expires)
                .map(|r| (r.role.name().to_owned(), r.expires)),
            role_expiries: serde_json::Value::Object(
                verified
                    .roles()
                    .iter()
                    .map(|r| {
                        (
                            r.role.name().to_owned(),
                            serde_json::Value::String(rfc3339(r.expires)),
                        )
                    })
                    .collect(),
            )
            .to_string(),
        });
    }
    lines.extend(
        checked
            .reused
            .iter()
            .map(|name| format!("{name}: as last accepted")),
    );
    let verifiers = checked.verifiers;
    Ok((Trust { verifiers, states }, lines.join("; ")))
}

fn trust_rejection(name: &str, e: CheckError) -> Rejection {
    let rollback = matches!(
        &e,
        CheckError::Trust {
            source: TufError::Rollback { .. }
                | TufError::Equivocation { .. }
                | TufError::ReferenceTimeBackwards { .. },
            ..
        }
    );
    let rejection = Rejection::new(ImportStep::Trust, e.to_string());
    if rollback {
        rejection.with_alarm(AlarmKind::Rollback, name)
    } else {
        rejection
    }
}

/// A checkpoint to store when the import commits.
#[derive(Debug)]
pub(super) struct NewCheckpoint {
    pub(super) origin: String,
    pub(super) size: u64,
    pub(super) root_hash: String,
    pub(super) note: String,
}

/// The witness step's result: the carried heads, the stored history, what to store.
#[derive(Debug)]
pub(super) struct Witness {
    pub(super) heads: BTreeMap<String, Head>,
    /// Every stored checkpoint, by (origin, size): its root.
    pub(super) history: HashMap<(String, u64), [u8; 32]>,
    pub(super) accepted: Vec<NewCheckpoint>,
}

/// Each carried checkpoint, signed by its log's key from the trusted root, must extend the
/// stored head by a carried consistency proof (or equal a stored checkpoint). A proof that
/// fails, or the same size with another root, is a fork: the import is rejected and an alarm
/// raised that stays until an admin clears it.
pub(super) fn check_witness(
    app: &Appliance,
    manifest: &Manifest,
    verifiers: &[Verifier],
) -> Result<(Witness, String), Rejection> {
    let heads = check::log_heads(manifest, verifiers).map_err(|e| match &e {
        CheckError::LogFork { origin, .. } => {
            let origin = origin.clone();
            Rejection::new(ImportStep::Witness, e.to_string())
                .with_alarm(AlarmKind::LogFork, origin)
        }
        _ => Rejection::new(ImportStep::Witness, e.to_string()),
    })?;
    let store = app.store();
    let mut history = HashMap::new();
    let mut accepted = Vec::new();
    let mut lines = Vec::new();
    for (origin, head) in &heads {
        let fork = |detail: String| {
            Rejection::new(ImportStep::Witness, format!("log {origin}: {detail}: fork"))
                .with_alarm(AlarmKind::LogFork, origin.clone())
        };
        let stored = store::witness::history(store.read(), origin, i64::MAX)
            .map_err(|e| Rejection::new(ImportStep::Witness, e.to_string()))?;
        for row in &stored {
            let mut root = [0u8; 32];
            hex::decode_to_slice(&row.root_hash, &mut root).map_err(|_| {
                Rejection::new(
                    ImportStep::Witness,
                    format!("stored root of {origin} is not hex"),
                )
            })?;
            history.insert((origin.clone(), row.size), root);
        }
        let new_root = hex::encode(head.root);
        match stored.first() {
            None => lines.push(format!("{origin}: first checkpoint, size {}", head.size)),
            Some(top) if top.size == head.size => {
                if top.root_hash != new_root {
                    return Err(fork(format!(
                        "size {} has root {new_root}, the witnessed root is {}",
                        head.size, top.root_hash
                    )));
                }
                lines.push(format!("{origin}: unchanged at size {}", head.size));
            }
            Some(top) if top.size < head.size => {
                let Some(proof) = head.proofs.get(&top.size) else {
                    return Err(Rejection::new(
                        ImportStep::Witness,
                        format!(
                            "log {origin}: no consistency proof from the witnessed size {} to {}",
                            top.size, head.size
                        ),
                    ));
                };
                let top_root = history[&(origin.clone(), top.size)];
                if verify_consistency(top.size, &top_root, head.size, &head.root, proof).is_err() {
                    return Err(fork(format!(
                        "tree of size {} is not a prefix of size {}",
                        top.size, head.size
                    )));
                }
                lines.push(format!("{origin}: {} → {}", top.size, head.size));
            }
            Some(top) => match history.get(&(origin.clone(), head.size)) {
                Some(root) if *root == head.root => {
                    lines.push(format!(
                        "{origin}: older checkpoint {} already witnessed",
                        head.size
                    ));
                }
                Some(_) => {
                    return Err(fork(format!(
                        "size {} has root {new_root}, another root was witnessed",
                        head.size
                    )));
                }
                None => {
                    return Err(Rejection::new(
                        ImportStep::Witness,
                        format!(
                            "log {origin}: checkpoint of size {} is older than the witnessed size {} and cannot be reconciled",
                            head.size, top.size
                        ),
                    ));
                }
            },
        }
        accepted.push(NewCheckpoint {
            origin: origin.clone(),
            size: head.size,
            root_hash: new_root,
            note: head.note.clone(),
        });
    }
    if heads.is_empty() {
        lines.push("no checkpoints carried".into());
    }
    Ok((
        Witness {
            heads,
            history,
            accepted,
        },
        lines.join("; "),
    ))
}

/// The enabled, unexpired signers, ready for the verifier.
pub(super) fn signers(app: &Appliance, now: DateTime<Utc>) -> Result<Vec<NamedSigner>, String> {
    crate::policy_store::signer_policies(app.store().read(), now).map_err(|e| e.to_string())
}

/// `30 days`, or `3600 s` when the setting is not a whole number of days (a limit under a day
/// must not read as `0 days`).
fn whole_days_or_seconds(d: chrono::Duration) -> String {
    let seconds = d.num_seconds();
    match seconds {
        86_400 => "1 day".to_owned(),
        s if s > 0 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s => format!("{s} s"),
    }
}

pub(super) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}
