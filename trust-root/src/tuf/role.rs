//! `Role`: which TUF metadata role a version, expiry or error is about.

use std::fmt;

/// A TUF role: the four top-level roles or a delegated targets role by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `root.json`.
    Root,
    /// `timestamp.json`.
    Timestamp,
    /// `snapshot.json`.
    Snapshot,
    /// The top-level `targets.json`.
    Targets,
    /// A delegated targets role.
    Delegated(String),
}

impl Role {
    /// The role's name as TUF spells it (`root`, ..., or the delegated role's name).
    pub fn name(&self) -> &str {
        match self {
            Role::Root => "root",
            Role::Timestamp => "timestamp",
            Role::Snapshot => "snapshot",
            Role::Targets => "targets",
            Role::Delegated(name) => name,
        }
    }

    pub(crate) fn from_tough(role: tough::schema::RoleType) -> Role {
        use tough::schema::RoleType;
        match role {
            RoleType::Root => Role::Root,
            RoleType::Timestamp => Role::Timestamp,
            RoleType::Snapshot => Role::Snapshot,
            RoleType::Targets => Role::Targets,
            RoleType::DelegatedTargets => Role::Delegated("(delegated targets)".to_owned()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Delegated(name) => write!(f, "delegated role {name}"),
            other => f.write_str(other.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_delegated_roles() {
        assert_eq!(Role::Timestamp.to_string(), "timestamp");
        assert_eq!(
            Role::Delegated("registry.npmjs.org".into()).to_string(),
            "delegated role registry.npmjs.org"
        );
        assert_eq!(Role::Delegated("x".into()).name(), "x");
    }
}
