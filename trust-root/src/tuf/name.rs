//! `RepositoryName`: the validated name a TUF repository's trust state is kept under.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::TufError;

/// The longest repository name accepted.
const MAX_LEN: usize = 64;

/// The name of one TUF repository the site trusts, e.g. `sigstore-public-good` or
/// `site-private`: 1–64 characters from `[a-z0-9._-]`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepositoryName(String);

impl RepositoryName {
    /// Parses a repository name.
    pub fn new(name: &str) -> Result<Self, TufError> {
        let reject = |reason| TufError::InvalidRepositoryName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(reject("empty"));
        }
        if name.len() > MAX_LEN {
            return Err(reject("longer than 64 characters"));
        }
        if !name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        }) {
            return Err(reject("only a-z, 0-9, '.', '_' and '-' are allowed"));
        }
        if !name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(reject("must start with a letter or digit"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RepositoryName {
    type Error = TufError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<RepositoryName> for String {
    fn from(value: RepositoryName) -> Self {
        value.0
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["sigstore-public-good", "site-private", "a", "tuf.v2_x"] {
            assert_eq!(RepositoryName::new(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn rejects_bad_names_with_reason() {
        let cases = [
            ("", "empty"),
            ("Upper", "only a-z, 0-9, '.', '_' and '-' are allowed"),
            ("../etc", "only a-z, 0-9, '.', '_' and '-' are allowed"),
            ("-lead", "must start with a letter or digit"),
        ];
        for (name, reason) in cases {
            assert_eq!(
                RepositoryName::new(name),
                Err(TufError::InvalidRepositoryName {
                    name: name.to_owned(),
                    reason
                })
            );
        }
        let long = "a".repeat(65);
        assert!(matches!(
            RepositoryName::new(&long),
            Err(TufError::InvalidRepositoryName {
                reason: "longer than 64 characters",
                ..
            })
        ));
    }

    #[test]
    fn serde_validates() {
        let ok: RepositoryName = serde_json::from_str("\"site-private\"").unwrap();
        assert_eq!(ok.as_str(), "site-private");
        assert!(serde_json::from_str::<RepositoryName>("\"a/b\"").is_err());
    }
}
