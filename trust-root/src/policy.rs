//! Who a verifier accepts as the signer: a keyless identity (certificate SAN and OIDC issuer)
//! or a managed public key. There is deliberately no default.

use regex::Regex;

use crate::keys::PublicKey;

/// Why a matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("pattern {pattern:?} is not a valid regular expression: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("an identity matcher must not be empty")]
    Empty,
}

/// How a certificate field is matched.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The field must equal this string exactly.
    Exact(String),
    /// The whole field must match this pattern (anchored at both ends).
    Pattern(AnchoredRegex),
}

impl Matcher {
    /// An exact matcher; empty strings are refused so a blank form field never matches anything.
    pub fn exact(value: impl Into<String>) -> Result<Self, PolicyError> {
        let value = value.into();
        if value.is_empty() {
            return Err(PolicyError::Empty);
        }
        Ok(Self::Exact(value))
    }

    /// A pattern matcher, anchored so `pattern` must match the whole field.
    pub fn pattern(pattern: &str) -> Result<Self, PolicyError> {
        AnchoredRegex::new(pattern).map(Self::Pattern)
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(expected) => expected == value,
            Self::Pattern(re) => re.0.is_match(value),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(s) => write!(f, "{s:?}"),
            Self::Pattern(re) => write!(f, "pattern {:?}", re.1),
        }
    }
}

/// A regular expression that must match a whole value.
#[derive(Debug, Clone)]
pub struct AnchoredRegex(Regex, String);

impl AnchoredRegex {
    pub fn new(pattern: &str) -> Result<Self, PolicyError> {
        if pattern.is_empty() {
            return Err(PolicyError::Empty);
        }
        Regex::new(&format!("^(?:{pattern})$"))
            .map(|re| Self(re, pattern.to_owned()))
            .map_err(|e| PolicyError::BadPattern {
                pattern: pattern.to_owned(),
                reason: e.to_string(),
            })
    }
}

/// A keyless signer: the certificate's subject alternative name and OIDC issuer.
#[derive(Debug, Clone)]
pub struct CertificateIdentity {
    pub subject: Matcher,
    pub issuer: Matcher,
}

/// The signer a bundle must come from.
#[derive(Debug, Clone)]
pub enum SignerPolicy {
    /// A Fulcio-style certificate issued to this identity.
    Keyless(CertificateIdentity),
    /// A managed key, given out of band.
    PublicKey(PublicKey),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_anchored() {
        let m = Matcher::pattern("https://github.com/org/.*").unwrap();
        assert!(m.matches("https://github.com/org/repo"));
        assert!(!m.matches("evil https://github.com/org/repo"));
        let m = Matcher::pattern("a|b").unwrap();
        assert!(!m.matches("ab"), "alternation must be anchored as a whole");
    }

    #[test]
    fn empty_and_bad_matchers_are_refused() {
        assert_eq!(Matcher::exact("").unwrap_err(), PolicyError::Empty);
        assert!(matches!(
            Matcher::pattern("(").unwrap_err(),
            PolicyError::BadPattern { .. }
        ));
    }
}
