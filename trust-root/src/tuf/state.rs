//! `TrustState`: what a site has already accepted from one TUF repository, and the rule that
//! an update never moves backwards (rollback, freeze and equivocation protection).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::TufError;
use super::name::RepositoryName;
use super::role::Role;

/// One role's accepted version and the SHA-256 (hex) of its signed body in canonical JSON
/// (what its signatures cover; the same content re-encoded or re-signed keeps the digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRecord {
    /// The role's version.
    pub version: u64,
    /// Hex SHA-256 of the role's canonical signed body.
    pub sha256: String,
}

/// The accepted state of one named TUF repository. Built only by a successful verification;
/// the caller persists it (serde) and passes it back to the next verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustState {
    repository: RepositoryName,
    root: RoleRecord,
    timestamp: RoleRecord,
    snapshot: RoleRecord,
    targets: RoleRecord,
    #[serde(default)]
    delegated: BTreeMap<String, RoleRecord>,
    trusted_root_sha256: String,
    reference_time: DateTime<Utc>,
}

/// The parts of a [`TrustState`], as the verifier assembles them.
#[derive(Debug)]
pub(crate) struct TrustStateParts {
    pub(crate) repository: RepositoryName,
    pub(crate) root: RoleRecord,
    pub(crate) timestamp: RoleRecord,
    pub(crate) snapshot: RoleRecord,
    pub(crate) targets: RoleRecord,
    pub(crate) delegated: BTreeMap<String, RoleRecord>,
    pub(crate) trusted_root_sha256: String,
    pub(crate) reference_time: DateTime<Utc>,
}

impl TrustState {
    pub(crate) fn from_parts(p: TrustStateParts) -> Self {
        Self {
            repository: p.repository,
            root: p.root,
            timestamp: p.timestamp,
            snapshot: p.snapshot,
            targets: p.targets,
            delegated: p.delegated,
            trusted_root_sha256: p.trusted_root_sha256,
            reference_time: p.reference_time,
        }
    }

    /// The repository this state belongs to.
    pub fn repository(&self) -> &RepositoryName {
        &self.repository
    }

    /// The accepted record of a top-level or delegated role, if any.
    pub fn role(&self, role: &Role) -> Option<&RoleRecord> {
        match role {
            Role::Root => Some(&self.root),
            Role::Timestamp => Some(&self.timestamp),
            Role::Snapshot => Some(&self.snapshot),
            Role::Targets => Some(&self.targets),
            Role::Delegated(name) => self.delegated.get(name),
        }
    }

    /// Hex SHA-256 of the accepted `trusted_root.json`.
    pub fn trusted_root_sha256(&self) -> &str {
        &self.trusted_root_sha256
    }

    /// The reference time the state was accepted at.
    pub fn reference_time(&self) -> DateTime<Utc> {
        self.reference_time
    }

    /// Checks that `next` may replace `self`: same repository, reference time not earlier,
    /// no role's version lower, and no role with the same version but different content.
    /// Checked in this order: repository, reference time, root, timestamp, snapshot, targets,
    /// delegated roles by name. Delegated roles that disappear are allowed (the snapshot that
    /// dropped them is itself version-checked).
    pub fn check_successor(&self, next: &TrustState) -> Result<(), TufError> {
        if self.repository != next.repository {
            return Err(TufError::RepositoryMismatch {
                stored: self.repository.to_string(),
                offered: next.repository.to_string(),
            });
        }
        if next.reference_time < self.reference_time {
            return Err(TufError::ReferenceTimeBackwards {
                stored: self.reference_time,
                offered: next.reference_time,
            });
        }
        let top = [
            (Role::Root, &self.root, &next.root),
            (Role::Timestamp, &self.timestamp, &next.timestamp),
            (Role::Snapshot, &self.snapshot, &next.snapshot),
            (Role::Targets, &self.targets, &next.targets),
        ];
        for (role, stored, offered) in top {
            check_record(role, stored, offered)?;
        }
        for (name, stored) in &self.delegated {
            if let Some(offered) = next.delegated.get(name) {
                check_record(Role::Delegated(name.clone()), stored, offered)?;
            }
        }
        Ok(())
    }
}

fn check_record(role: Role, stored: &RoleRecord, offered: &RoleRecord) -> Result<(), TufError> {
    if offered.version < stored.version {
        return Err(TufError::Rollback {
            role,
            stored: stored.version,
            offered: offered.version,
        });
    }
    if offered.version == stored.version && offered.sha256 != stored.sha256 {
        return Err(TufError::Equivocation {
            role,
            version: stored.version,
            stored_sha256: stored.sha256.clone(),
            offered_sha256: offered.sha256.clone(),
        });
    }
    Ok(())
}

/// The trust states of several named repositories side by side (e.g. `sigstore-public-good`
/// and `site-private`), keyed by name. Serialisable as one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrustStates {
    repositories: BTreeMap<RepositoryName, TrustState>,
}

impl TrustStates {
    /// The accepted state of `name`, if it was ever verified.
    pub fn get(&self, name: &RepositoryName) -> Option<&TrustState> {
        self.repositories.get(name)
    }

    /// Records `next` under its repository's name after checking it against the state already
    /// held for that name. On error nothing changes.
    pub fn advance(&mut self, next: TrustState) -> Result<(), TufError> {
        if let Some(stored) = self.repositories.get(&next.repository) {
            stored.check_successor(&next)?;
        }
        self.repositories.insert(next.repository.clone(), next);
        Ok(())
    }

    /// The repositories held, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&RepositoryName, &TrustState)> {
        self.repositories.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(version: u64, sha: &str) -> RoleRecord {
        RoleRecord {
            version,
            sha256: sha.to_owned(),
        }
    }

    fn state(name: &str, versions: [u64; 4], at: &str) -> TrustState {
        TrustState::from_parts(TrustStateParts {
            repository: RepositoryName::new(name).unwrap(),
            root: rec(versions[0], &format!("r{}", versions[0])),
            timestamp: rec(versions[1], &format!("t{}", versions[1])),
            snapshot: rec(versions[2], &format!("s{}", versions[2])),
            targets: rec(versions[3], &format!("g{}", versions[3])),
            delegated: BTreeMap::from([("d".to_owned(), rec(1, "d1"))]),
            trusted_root_sha256: "00".into(),
            reference_time: at.parse().unwrap(),
        })
    }

    const T0: &str = "2026-08-20T00:00:00Z";
    const T1: &str = "2026-08-21T00:00:00Z";

    #[test]
    fn same_or_newer_is_accepted() {
        let old = state("a", [1, 1, 1, 1], T0);
        old.check_successor(&old).unwrap();
        old.check_successor(&state("a", [2, 3, 4, 5], T1)).unwrap();
    }

    #[test]
    fn each_role_rollback_is_named() {
        let old = state("a", [2, 2, 2, 2], T0);
        let roles = [Role::Root, Role::Timestamp, Role::Snapshot, Role::Targets];
        for (i, role) in roles.into_iter().enumerate() {
            let mut v = [2, 2, 2, 2];
            v[i] = 1;
            assert_eq!(
                old.check_successor(&state("a", v, T1)),
                Err(TufError::Rollback {
                    role,
                    stored: 2,
                    offered: 1
                })
            );
        }
    }

    #[test]
    fn same_version_other_bytes_is_equivocation() {
        let old = state("a", [1, 1, 1, 1], T0);
        let mut next = old.clone();
        next.snapshot.sha256 = "other".into();
        assert_eq!(
            old.check_successor(&next),
            Err(TufError::Equivocation {
                role: Role::Snapshot,
                version: 1,
                stored_sha256: "s1".into(),
                offered_sha256: "other".into()
            })
        );
        let mut next = old.clone();
        next.delegated.insert("d".into(), rec(1, "evil"));
        assert!(matches!(
            old.check_successor(&next),
            Err(TufError::Equivocation { role: Role::Delegated(ref d), version: 1, .. }) if d == "d"
        ));
    }

    #[test]
    fn reference_time_may_not_go_back() {
        let old = state("a", [1, 1, 1, 1], T1);
        assert_eq!(
            old.check_successor(&state("a", [1, 1, 1, 1], T0)),
            Err(TufError::ReferenceTimeBackwards {
                stored: T1.parse().unwrap(),
                offered: T0.parse().unwrap()
            })
        );
    }

    #[test]
    fn states_are_kept_per_repository() {
        let mut all = TrustStates::default();
        all.advance(state("sigstore-public-good", [5, 5, 5, 5], T1))
            .unwrap();
        all.advance(state("site-private", [1, 1, 1, 1], T0))
            .unwrap();
        // An older site-private state is fine next to a newer public-good one ...
        assert_eq!(all.iter().count(), 2);
        // ... but public-good may not go back.
        let err = all.advance(state("sigstore-public-good", [4, 5, 5, 5], T1));
        assert_eq!(
            err,
            Err(TufError::Rollback {
                role: Role::Root,
                stored: 5,
                offered: 4
            })
        );
        let name = RepositoryName::new("sigstore-public-good").unwrap();
        assert_eq!(
            all.get(&name).unwrap().role(&Role::Root).unwrap().version,
            5
        );
        let json = serde_json::to_string(&all).unwrap();
        let back: TrustStates = serde_json::from_str(&json).unwrap();
        assert_eq!(back, all);
    }

    #[test]
    fn other_repository_is_rejected() {
        let old = state("a", [1, 1, 1, 1], T0);
        assert_eq!(
            old.check_successor(&state("b", [1, 1, 1, 1], T0)),
            Err(TufError::RepositoryMismatch {
                stored: "a".into(),
                offered: "b".into()
            })
        );
    }
}
