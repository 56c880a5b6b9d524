//! The site policy: which provenance and SBOMs an artifact needs, how strictly a failure counts,
//! per-artifact overrides, and the TOML document `policy import`/`export` read and write.
//!
//! Pure: no I/O, no clock, no SQL. Trusted signers are stored in their own table; this module
//! only carries them in the [`PolicyDocument`] and checks their shape ([`SignerSpec::validate`]).
//! Regular expressions are kept as the strings the admin wrote and compiled (anchored as
//! `^(?:…)$`) when validated or used, so values compare and round-trip exactly.
//!
//! Here: the [`Policy`] itself, its [`Enforcement`] and per-artifact [`Override`]s, and the
//! [`Rule`] an artifact is judged by ([`Policy::rule_for`]). The parts:
//!
//! - `document`: the TOML forms (the policy alone and the [`PolicyDocument`] with its signers),
//!   read, validated and written; the module documentation shows a document.
//! - `slsa`: SLSA requirements and trusted builders, and the provenance facts
//!   [`evaluate_slsa`] judges.
//! - `sbom`: the SBOM requirement, what an SBOM says ([`SbomSummary`]) and [`evaluate_sbom`].

mod document;
mod sbom;
mod slsa;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use airlock_trust_root::Matcher;
use serde::{Deserialize, Serialize};

pub use document::{PolicyDocument, SignerSpec};
pub use sbom::{
    CYCLONEDX_PREDICATE_TYPE, MAX_COMPONENT_LICENSES, MAX_SBOM_COMPONENTS, MAX_SBOM_KEPT,
    MAX_SBOM_TOOLS, SPDX_PREDICATE_TYPE, SbomComponent, SbomRequirement, SbomSummary,
    evaluate_sbom, inspect_sbom_value,
};
pub(crate) use sbom::{spdx_license, spdx_tool, tool_line};
pub use slsa::{
    Attestation, MAX_BUILD_LEVEL, ProvenanceFacts, SLSA_PROVENANCE_V0_2, SLSA_PROVENANCE_V1,
    SlsaOutcome, SlsaRequirements, TrustedBuilder, evaluate_slsa,
};

/// Why a policy or policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not TOML of the policy's shape (syntax, unknown key, wrong type).
    #[error("policy TOML: {0}")]
    Toml(String),
    /// The TOML is well formed but breaks a rule.
    #[error("policy {field}: {reason}")]
    Invalid {
        /// Where, as a TOML path (`slsa.min_build_level`, `signer."vendor-key".public_key`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A TOML key as written in a dotted path.
fn quoted(key: &str) -> String {
    format!("{key:?}")
}

/// Compiles an admin's pattern, anchored, with a one-line reason on failure (the regex crate's
/// own message spans several lines with a caret under the offending character).
fn anchored(pattern: &str) -> Result<Matcher, String> {
    Matcher::pattern(pattern).map_err(|e| match e {
        airlock_trust_root::PolicyError::BadPattern { pattern, reason } => {
            let reason = reason
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .map_or_else(
                    || reason.split_whitespace().collect::<Vec<_>>().join(" "),
                    str::to_owned,
                );
            format!("{pattern:?} is not a valid regular expression: {reason}")
        }
        other => other.to_string(),
    })
}

/// How a policy failure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// A failure rejects the artifact.
    Enforce,
    /// A failure is shown as a warning; the artifact is admitted.
    Warn,
    /// A failure is only recorded.
    Monitor,
}

impl Enforcement {
    /// The lowercase name used in TOML and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Warn => "warn",
            Self::Monitor => "monitor",
        }
    }
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Enforcement {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enforce" => Ok(Self::Enforce),
            "warn" => Ok(Self::Warn),
            "monitor" => Ok(Self::Monitor),
            other => Err(invalid(
                "enforcement",
                format!("{other:?} is not one of enforce, warn, monitor"),
            )),
        }
    }
}

/// The policy for one artifact name; a field left out falls back to the default policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Override {
    /// Replaces the default enforcement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<Enforcement>,
    /// Replaces the default SLSA requirements as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slsa: Option<SlsaRequirements>,
    /// Replaces the default SBOM requirement as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom: Option<SbomRequirement>,
    /// Only these trusted signers (by name) are accepted for the artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signers: Option<Vec<String>>,
}

/// The site policy (everything but the signers). There is deliberately no `Default`:
/// [`Policy::strict`] is the one starting point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// How failures count, unless an override says otherwise.
    pub enforcement: Enforcement,
    /// The default SLSA requirements.
    #[serde(default)]
    pub slsa: SlsaRequirements,
    /// The default SBOM requirement.
    #[serde(default)]
    pub sbom: SbomRequirement,
    /// Per-artifact-name overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Override>,
    /// Who may release a failed artifact by exception, and for how long.
    #[serde(default, skip_serializing_if = "ExceptionRules::is_default")]
    pub exceptions: ExceptionRules,
}

/// The policy's `[exceptions]` table: how many distinct admins an exception needs (1 or 2)
/// and how far ahead its expiry may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRules {
    /// Distinct admins who must agree: 1 (the requester grants it) or 2 (another admin
    /// approves it). Default 1.
    #[serde(default = "ExceptionRules::default_approvals")]
    pub approvals: u8,
    /// The longest an exception may last, in days from when it is requested (1..=3650).
    /// Default 90.
    #[serde(default = "ExceptionRules::default_max_days")]
    pub max_days: u32,
}

impl ExceptionRules {
    /// The default number of approvals.
    pub const DEFAULT_APPROVALS: u8 = 1;
    /// The default longest exception, in days.
    pub const DEFAULT_MAX_DAYS: u32 = 90;

    fn default_approvals() -> u8 {
        Self::DEFAULT_APPROVALS
    }

    fn default_max_days() -> u32 {
        Self::DEFAULT_MAX_DAYS
    }

    /// Whether these are the defaults (left out when the policy is written).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Checks `approvals` is 1 or 2 and `max_days` 1 to 3650.
    pub fn validate(&self, prefix: &str) -> Result<(), PolicyError> {
        if !(1..=2).contains(&self.approvals) {
            return Err(invalid(
                format!("{prefix}.approvals"),
                "an exception needs 1 or 2 approvals",
            ));
        }
        if !(1..=3650).contains(&self.max_days) {
            return Err(invalid(
                format!("{prefix}.max_days"),
                "an exception lasts at most 1 to 3650 days",
            ));
        }
        Ok(())
    }
}

impl Default for ExceptionRules {
    fn default() -> Self {
        Self {
            approvals: Self::DEFAULT_APPROVALS,
            max_days: Self::DEFAULT_MAX_DAYS,
        }
    }
}

impl Policy {
    /// The policy `init` stores: failures reject, and nothing beyond a trusted signature is
    /// required.
    pub fn strict() -> Self {
        Self {
            enforcement: Enforcement::Enforce,
            slsa: SlsaRequirements::default(),
            sbom: SbomRequirement::default(),
            overrides: BTreeMap::new(),
            exceptions: ExceptionRules::default(),
        }
    }

    /// The effective rule for an artifact: its override (if any) over the default policy.
    pub fn rule_for(&self, artifact_name: &str) -> Rule {
        match self.overrides.get(artifact_name) {
            None => Rule {
                name: "default".to_owned(),
                enforcement: self.enforcement,
                slsa: self.slsa.clone(),
                sbom: self.sbom.clone(),
                signers: None,
            },
            Some(o) => Rule {
                name: format!("override:{artifact_name}"),
                enforcement: o.enforcement.unwrap_or(self.enforcement),
                slsa: o.slsa.clone().unwrap_or_else(|| self.slsa.clone()),
                sbom: o.sbom.clone().unwrap_or_else(|| self.sbom.clone()),
                signers: o.signers.clone(),
            },
        }
    }
}

/// The rule one artifact is judged by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// `default`, or `override:<artifact name>`.
    pub name: String,
    /// How failures count.
    pub enforcement: Enforcement,
    /// SLSA requirements.
    pub slsa: SlsaRequirements,
    /// SBOM requirement.
    pub sbom: SbomRequirement,
    /// If set, only these trusted signers (by name) are accepted.
    pub signers: Option<Vec<String>>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Fixtures the submodules' tests share, and the tests of what is defined here.

    use serde_json::json;

    use super::*;

    pub(super) const ED25519_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAkx+QTpC3rpRxEz0t8cYTFSRAcRD6MEaX7HdguQNiORg=
-----END PUBLIC KEY-----
";

    pub(super) fn field_of(error: PolicyError) -> String {
        match error {
            PolicyError::Invalid { field, .. } => field,
            other => panic!("expected PolicyError::Invalid, got {other:?}"),
        }
    }

    pub(super) fn rich_policy() -> Policy {
        let mut policy = Policy::strict();
        policy.enforcement = Enforcement::Warn;
        policy.slsa = SlsaRequirements {
            required: true,
            min_build_level: 2,
            trusted_builders: vec![
                TrustedBuilder {
                    id: "https://ci.example/builder@v1".to_owned(),
                    level: 3,
                },
                TrustedBuilder {
                    id: "https://ci.example/old@v0".to_owned(),
                    level: 1,
                },
            ],
            source_repository: Some(r"git\+https://git\.example/org/.*".to_owned()),
        };
        policy.sbom = SbomRequirement {
            required: true,
            min_components: 3,
        };
        policy.overrides.insert(
            "legacy-tool.tar.gz".to_owned(),
            Override {
                enforcement: Some(Enforcement::Monitor),
                ..Override::default()
            },
        );
        policy.overrides.insert(
            "app.img".to_owned(),
            Override {
                enforcement: None,
                slsa: Some(SlsaRequirements {
                    required: true,
                    ..SlsaRequirements::default()
                }),
                sbom: Some(SbomRequirement::default()),
                signers: Some(vec!["release-ci".to_owned()]),
            },
        );
        policy
    }

    #[test]
    fn enforcement_names_are_lowercase() {
        for (e, name) in [
            (Enforcement::Enforce, "enforce"),
            (Enforcement::Warn, "warn"),
            (Enforcement::Monitor, "monitor"),
        ] {
            assert_eq!(e.to_string(), name);
            assert_eq!(name.parse::<Enforcement>().unwrap(), e);
            assert_eq!(serde_json::to_value(e).unwrap(), json!(name));
        }
        assert_eq!(
            field_of("Enforce".parse::<Enforcement>().unwrap_err()),
            "enforcement"
        );
    }

    // --- rules ------------------------------------------------------------------------------

    #[test]
    fn rule_for_falls_back_to_the_default_field_by_field() {
        let policy = rich_policy();

        let default = policy.rule_for("other.bin");
        assert_eq!(default.name, "default");
        assert_eq!(default.enforcement, Enforcement::Warn);
        assert_eq!(default.slsa, policy.slsa);
        assert_eq!(default.sbom, policy.sbom);
        assert_eq!(default.signers, None);

        let legacy = policy.rule_for("legacy-tool.tar.gz");
        assert_eq!(legacy.name, "override:legacy-tool.tar.gz");
        assert_eq!(legacy.enforcement, Enforcement::Monitor);
        assert_eq!(legacy.slsa, policy.slsa, "slsa falls back");
        assert_eq!(legacy.sbom, policy.sbom, "sbom falls back");
        assert_eq!(legacy.signers, None);

        let app = policy.rule_for("app.img");
        assert_eq!(app.name, "override:app.img");
        assert_eq!(app.enforcement, Enforcement::Warn, "enforcement falls back");
        assert_eq!(
            app.slsa,
            SlsaRequirements {
                required: true,
                ..SlsaRequirements::default()
            }
        );
        assert_eq!(app.sbom, SbomRequirement::default());
        assert_eq!(app.signers, Some(vec!["release-ci".to_owned()]));
    }
}
