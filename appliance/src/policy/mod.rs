//! The site policy: which provenance and SBOMs an artifact needs, how strictly a failure counts,
//! per-artifact overrides, and the TOML document `policy import`/`export` read and write.
//!
//! Pure: no I/O, no clock, no SQL. Trusted signers are stored in their own table; this module
//! only carries them in the [`PolicyDocument`] and checks their shape ([`SignerSpec::validate`]).
//! Regular expressions are kept as the strings the admin wrote and compiled (anchored as
//! `^(?:…)$`) when validated or used, so values compare and round-trip exactly.
//!
//! A policy document, as `policy export` writes it (the policy stored alone is the same without
//! the `[[signer]]` tables):
//!
//! ```toml
//! enforcement = "enforce"
//!
//! [slsa]
//! required = true
//! min_build_level = 2
//! source_repository = "git\\+https://git\\.example/org/.*"
//!
//! [[slsa.trusted_builders]]
//! id = "https://ci.example/builder@v1"
//! level = 3
//!
//! [sbom]
//! required = true
//!
//! [overrides."legacy-tool.tar.gz"]
//! enforcement = "warn"
//!
//! [[signer]]
//! name = "release-ci"
//! issuer = "https://token.ci.example"
//! subject = "https://ci.example/org/repo/.ci/release.yml@refs/heads/main"
//!
//! [[signer]]
//! name = "vendor-key"
//! public_key = """
//! -----BEGIN PUBLIC KEY-----
//! MCowBQYDK2VwAyEAkx+QTpC3rpRxEz0t8cYTFSRAcRD6MEaX7HdguQNiORg=
//! -----END PUBLIC KEY-----
//! """
//! expires_at = "2027-01-01T00:00:00Z"
//! enabled = false
//! ```
//!
//! `expires_at` may also be written as a TOML date-time literal (`2027-01-01T00:00:00Z`); either
//! way it needs an offset. Every table refuses keys it does not know.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use airlock_trust_root::{CertificateIdentity, Matcher, PublicKey, SignerPolicy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The in-toto predicate type of SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// The in-toto predicate type of SLSA provenance v0.2.
pub const SLSA_PROVENANCE_V0_2: &str = "https://slsa.dev/provenance/v0.2";
/// The in-toto predicate type of a CycloneDX SBOM attestation.
pub const CYCLONEDX_PREDICATE_TYPE: &str = "https://cyclonedx.org/bom";
/// The in-toto predicate type of an SPDX SBOM attestation.
pub const SPDX_PREDICATE_TYPE: &str = "https://spdx.dev/Document";
/// The highest SLSA build level.
pub const MAX_BUILD_LEVEL: u8 = 3;
/// The most components an SBOM may list before [`inspect_sbom`] refuses it.
pub const MAX_SBOM_COMPONENTS: usize = 100_000;

/// The key under which the `toml` crate hands a date-time literal to serde.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

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

/// One line: where in the text, and what the parser said (the `toml` crate's own rendering
/// spans several lines with a source excerpt).
fn toml_error(error: &toml::de::Error, text: &str) -> PolicyError {
    let message = error.message().trim().replace('\n', " ");
    match error.span().and_then(|span| text.get(..span.start)) {
        Some(before) => {
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            PolicyError::Toml(format!("line {line}, column {column}: {message}"))
        }
        None => PolicyError::Toml(message),
    }
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

/// What SLSA provenance an artifact needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlsaRequirements {
    /// A provenance attestation must be present.
    pub required: bool,
    /// The lowest build level accepted (0 to 3); a builder's level comes from `trusted_builders`.
    pub min_build_level: u8,
    /// The builders accepted, with their levels; empty accepts any builder, at level 0.
    pub trusted_builders: Vec<TrustedBuilder>,
    /// An anchored regular expression the provenance's source URI must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository: Option<String>,
}

impl SlsaRequirements {
    /// Whether any check beyond presence is configured.
    fn constrained(&self) -> bool {
        !self.trusted_builders.is_empty()
            || self.min_build_level > 0
            || self.source_repository.is_some()
    }

    /// The level the site grants `builder_id` (0 if it is not listed).
    fn level_of(&self, builder_id: &str) -> u8 {
        self.trusted_builders
            .iter()
            .find(|b| b.id == builder_id)
            .map_or(0, |b| b.level)
    }

    fn validate(&self, prefix: &str) -> Result<(), PolicyError> {
        if self.min_build_level > MAX_BUILD_LEVEL {
            return Err(invalid(
                format!("{prefix}.min_build_level"),
                format!(
                    "SLSA build levels run from 0 to {MAX_BUILD_LEVEL}; {} is not one",
                    self.min_build_level
                ),
            ));
        }
        if self.min_build_level > 0 && self.trusted_builders.is_empty() {
            return Err(invalid(
                format!("{prefix}.min_build_level"),
                "a minimum build level needs trusted_builders to say which builders reach it",
            ));
        }
        for (i, builder) in self.trusted_builders.iter().enumerate() {
            let at = format!("{prefix}.trusted_builders[{i}]");
            if builder.id.trim().is_empty() {
                return Err(invalid(format!("{at}.id"), "builder id must not be empty"));
            }
            if builder.level > MAX_BUILD_LEVEL {
                return Err(invalid(
                    format!("{at}.level"),
                    format!(
                        "SLSA build levels run from 0 to {MAX_BUILD_LEVEL}; {} is not one",
                        builder.level
                    ),
                ));
            }
            if self.trusted_builders[..i]
                .iter()
                .any(|b| b.id == builder.id)
            {
                return Err(invalid(
                    format!("{at}.id"),
                    format!("builder {} is listed twice", builder.id),
                ));
            }
        }
        if let Some(pattern) = &self.source_repository {
            anchored(pattern).map_err(|e| invalid(format!("{prefix}.source_repository"), e))?;
        }
        Ok(())
    }
}

/// A builder the site trusts, and the SLSA build level it grants the builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedBuilder {
    /// The provenance's builder id, compared exactly.
    pub id: String,
    /// The build level (0 to 3) provenance from this builder reaches.
    pub level: u8,
}

/// What SBOM an artifact needs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SbomRequirement {
    /// An SBOM (file or attestation) must be present and readable.
    pub required: bool,
    /// The fewest components an SBOM must list (0: any number).
    #[serde(serialize_with = "serialize_count")]
    pub min_components: usize,
}

/// TOML integers are `i64`; a count beyond that (never valid, see [`Policy::validate`]) saturates
/// rather than making serialisation fail.
fn serialize_count<S: serde::Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(i64::try_from(*n).unwrap_or(i64::MAX))
}

impl SbomRequirement {
    fn validate(&self, prefix: &str) -> Result<(), PolicyError> {
        if self.min_components > MAX_SBOM_COMPONENTS {
            return Err(invalid(
                format!("{prefix}.min_components"),
                format!(
                    "SBOMs are read up to {MAX_SBOM_COMPONENTS} components, so {} can never be met",
                    self.min_components
                ),
            ));
        }
        Ok(())
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

    /// Checks the rules TOML's shape cannot: build levels 0..=3, a minimum level only with
    /// trusted builders, patterns that compile, reachable component counts, named overrides
    /// and non-empty signer restrictions. Signer names are checked by [`PolicyDocument`].
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.slsa.validate("slsa")?;
        self.sbom.validate("sbom")?;
        for (name, o) in &self.overrides {
            let prefix = format!("overrides.{}", quoted(name));
            if name.trim().is_empty() {
                return Err(invalid(prefix, "an override needs an artifact name"));
            }
            if let Some(slsa) = &o.slsa {
                slsa.validate(&format!("{prefix}.slsa"))?;
            }
            if let Some(sbom) = &o.sbom {
                sbom.validate(&format!("{prefix}.sbom"))?;
            }
            if let Some(signers) = &o.signers {
                if signers.is_empty() {
                    return Err(invalid(
                        format!("{prefix}.signers"),
                        "an empty list admits no signer; leave signers out to accept every trusted signer",
                    ));
                }
                if signers.iter().any(|s| s.trim().is_empty()) {
                    return Err(invalid(
                        format!("{prefix}.signers"),
                        "signer names must not be empty",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads and validates a policy alone (no `[[signer]]` tables).
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let policy: Self = toml::from_str(text).map_err(|e| toml_error(&e, text))?;
        policy.validate()?;
        Ok(policy)
    }

    /// Writes the policy as TOML that [`Policy::from_toml`] reads back equal.
    pub fn to_toml(&self) -> String {
        toml::to_string(self)
            .expect("a policy has string keys, no bare None and integers within i64: it serialises")
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

/// One trusted signer in a policy document: a keyless identity (issuer with an exact subject or
/// an anchored subject pattern) or a PEM public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerSpec {
    /// Unique name, used by overrides and reports.
    pub name: String,
    /// OIDC issuer, compared exactly (keyless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Certificate subject, compared exactly (keyless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Certificate subject as an anchored regular expression (keyless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_regex: Option<String>,
    /// A PEM `PUBLIC KEY` block (managed key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Whether the signer is trusted at all (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The signer is not trusted at or after this time.
    #[serde(
        default,
        deserialize_with = "deserialize_expiry",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

fn enabled_by_default() -> bool {
    true
}

impl SignerSpec {
    /// Checks the signer's shape: a name, exactly one form (keyless or key), a subject pattern
    /// that compiles and a PEM that parses.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.signer_policy().map(|_| ())
    }

    /// What the verifier is given for this signer (validating it on the way).
    pub fn signer_policy(&self) -> Result<SignerPolicy, PolicyError> {
        let at = format!("signer.{}", quoted(&self.name));
        if self.name.trim().is_empty() {
            return Err(invalid(format!("{at}.name"), "a signer needs a name"));
        }
        if self.name.chars().any(char::is_control) {
            return Err(invalid(
                format!("{at}.name"),
                "a signer name must not contain control characters",
            ));
        }
        let keyless =
            self.issuer.is_some() || self.subject.is_some() || self.subject_regex.is_some();
        match (keyless, &self.public_key) {
            (true, Some(_)) => Err(invalid(
                at,
                "give either issuer with subject or subject_regex (keyless) or public_key, not both",
            )),
            (false, None) => Err(invalid(
                at,
                "give either issuer with subject or subject_regex (keyless) or public_key",
            )),
            (false, Some(pem)) => PublicKey::from_pem(pem)
                .map(SignerPolicy::PublicKey)
                .map_err(|e| invalid(format!("{at}.public_key"), e.to_string())),
            (true, None) => {
                let issuer = self.issuer.as_deref().ok_or_else(|| {
                    invalid(format!("{at}.issuer"), "a keyless signer needs issuer")
                })?;
                let issuer = Matcher::exact(issuer)
                    .map_err(|e| invalid(format!("{at}.issuer"), e.to_string()))?;
                let subject = match (&self.subject, &self.subject_regex) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            format!("{at}.subject_regex"),
                            "give subject or subject_regex, not both",
                        ));
                    }
                    (None, None) => {
                        return Err(invalid(
                            format!("{at}.subject"),
                            "a keyless signer needs subject or subject_regex",
                        ));
                    }
                    (Some(exact), None) => Matcher::exact(exact.as_str())
                        .map_err(|e| invalid(format!("{at}.subject"), e.to_string()))?,
                    (None, Some(pattern)) => {
                        anchored(pattern).map_err(|e| invalid(format!("{at}.subject_regex"), e))?
                    }
                };
                Ok(SignerPolicy::Keyless(CertificateIdentity {
                    subject,
                    issuer,
                }))
            }
        }
    }

    /// Whether the signer is trusted at `at`: enabled and not yet expired.
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.enabled && self.expires_at.is_none_or(|expiry| at < expiry)
    }
}

/// Reads `expires_at` from an RFC 3339 string or a TOML date-time literal.
fn deserialize_expiry<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_any(ExpiryVisitor).map(Some)
}

#[derive(Debug)]
struct ExpiryVisitor;

fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 date and time with an offset: {e}"))
}

impl<'de> serde::de::Visitor<'de> for ExpiryVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date and time with an offset, e.g. 2027-01-01T00:00:00Z")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        parse_expiry(text).map_err(E::custom)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let key: Option<String> = map.next_key()?;
        if key.as_deref() != Some(TOML_DATETIME_KEY) {
            return Err(serde::de::Error::invalid_type(
                serde::de::Unexpected::Map,
                &self,
            ));
        }
        let text: String = map.next_value()?;
        parse_expiry(&text).map_err(serde::de::Error::custom)
    }
}

/// What `policy import` reads and `policy export` writes: the policy and the trusted signers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// The site policy.
    pub policy: Policy,
    /// The trusted signers, in the order written.
    pub signers: Vec<SignerSpec>,
}

/// The document as TOML has it: the policy's keys at top level, signers as `[[signer]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentIn {
    enforcement: Enforcement,
    #[serde(default)]
    slsa: SlsaRequirements,
    #[serde(default)]
    sbom: SbomRequirement,
    #[serde(default)]
    overrides: BTreeMap<String, Override>,
    #[serde(default)]
    signer: Vec<SignerSpec>,
}

#[derive(Debug, Serialize)]
struct DocumentOut<'a> {
    enforcement: Enforcement,
    slsa: &'a SlsaRequirements,
    sbom: &'a SbomRequirement,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    overrides: &'a BTreeMap<String, Override>,
    #[serde(skip_serializing_if = "<[SignerSpec]>::is_empty")]
    signer: &'a [SignerSpec],
}

impl PolicyDocument {
    /// Checks the policy, every signer, that signer names are unique and that every override's
    /// `signers` names a signer in the document.
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.policy.validate()?;
        for (i, signer) in self.signers.iter().enumerate() {
            signer.validate()?;
            if self.signers[..i].iter().any(|s| s.name == signer.name) {
                return Err(invalid(
                    format!("signer.{}.name", quoted(&signer.name)),
                    "duplicate signer name",
                ));
            }
        }
        for (artifact, o) in &self.policy.overrides {
            for name in o.signers.iter().flatten() {
                if !self.signers.iter().any(|s| &s.name == name) {
                    return Err(invalid(
                        format!("overrides.{}.signers", quoted(artifact)),
                        format!("no signer is named {}", quoted(name)),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads and validates a policy document.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let raw: DocumentIn = toml::from_str(text).map_err(|e| toml_error(&e, text))?;
        let document = Self {
            policy: Policy {
                enforcement: raw.enforcement,
                slsa: raw.slsa,
                sbom: raw.sbom,
                overrides: raw.overrides,
            },
            signers: raw.signer,
        };
        document.validate()?;
        Ok(document)
    }

    /// Writes the document as TOML that [`PolicyDocument::from_toml`] reads back equal.
    pub fn to_toml(&self) -> String {
        let out = DocumentOut {
            enforcement: self.policy.enforcement,
            slsa: &self.policy.slsa,
            sbom: &self.policy.sbom,
            overrides: &self.policy.overrides,
            signer: &self.signers,
        };
        toml::to_string(&out).expect(
            "a policy document has string keys, no bare None and integers within i64: it serialises",
        )
    }
}

// ---------------------------------------------------------------------------------------------
// SLSA provenance

/// One verified in-toto statement about an artifact (its subject already matched the artifact).
#[derive(Debug, Clone, Copy)]
pub struct Attestation<'a> {
    /// The statement's `predicateType`.
    pub predicate_type: &'a str,
    /// The statement's `predicate`.
    pub predicate: &'a Value,
}

/// What a provenance attestation says, and the level the site grants its builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvenanceFacts {
    /// [`SLSA_PROVENANCE_V1`] or [`SLSA_PROVENANCE_V0_2`].
    pub predicate_type: String,
    /// The builder id.
    pub builder_id: String,
    /// The build type (empty if the provenance gives none).
    pub build_type: String,
    /// The source repository URI, if the provenance names one.
    pub source_uri: Option<String>,
    /// The source's digest as `algorithm:value` (`gitCommit` preferred, then `sha1`, `sha256`).
    pub source_digest: Option<String>,
    /// The builder's level in the policy's trusted builders (0 if not listed).
    pub build_level: u8,
}

/// The result of checking an artifact's provenance against SLSA requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlsaOutcome {
    /// The provenance judged: the first that meets the requirements, else the first found.
    pub provenance: Option<ProvenanceFacts>,
    /// Why the requirements are not met; empty when they are.
    pub problems: Vec<String>,
}

/// Checks an artifact's verified attestations against SLSA requirements.
///
/// Non-provenance attestations are ignored. With no provenance, the only problem is
/// `no SLSA provenance attestation`, and only if provenance is required. A present provenance
/// is checked against whichever of trusted builders, minimum level and source repository are
/// configured, required or not. A provenance without a builder id is unusable: it is skipped
/// if another is usable, and otherwise reported as `SLSA provenance attestation is malformed:
/// <why>` when provenance is required or any check is configured.
pub fn evaluate_slsa(req: &SlsaRequirements, attestations: &[Attestation<'_>]) -> SlsaOutcome {
    let mut valid = Vec::new();
    let mut malformed = None;
    for attestation in attestations {
        match provenance_facts(req, attestation) {
            None => {}
            Some(Ok(facts)) => valid.push(facts),
            Some(Err(reason)) => {
                malformed.get_or_insert(reason);
            }
        }
    }
    let mut first = None;
    for facts in valid {
        let problems = slsa_problems(req, &facts);
        if problems.is_empty() {
            return SlsaOutcome {
                provenance: Some(facts),
                problems,
            };
        }
        first.get_or_insert((facts, problems));
    }
    if let Some((facts, problems)) = first {
        return SlsaOutcome {
            provenance: Some(facts),
            problems,
        };
    }
    let problems = match malformed {
        Some(reason) if req.required || req.constrained() => {
            vec![format!(
                "SLSA provenance attestation is malformed: {reason}"
            )]
        }
        _ if req.required => vec!["no SLSA provenance attestation".to_owned()],
        _ => Vec::new(),
    };
    SlsaOutcome {
        provenance: None,
        problems,
    }
}

fn slsa_problems(req: &SlsaRequirements, facts: &ProvenanceFacts) -> Vec<String> {
    let mut problems = Vec::new();
    if !req.trusted_builders.is_empty()
        && !req
            .trusted_builders
            .iter()
            .any(|b| b.id == facts.builder_id)
    {
        problems.push(format!("builder {} is not trusted", facts.builder_id));
    }
    if facts.build_level < req.min_build_level {
        problems.push(format!(
            "build level {} is below the required {}",
            facts.build_level, req.min_build_level
        ));
    }
    if let Some(pattern) = &req.source_repository {
        match anchored(pattern) {
            Err(e) => problems.push(format!("source pattern is unusable: {e}")),
            Ok(matcher) => match &facts.source_uri {
                None => problems.push("provenance names no source repository".to_owned()),
                Some(uri) if !matcher.matches(uri) => {
                    problems.push(format!("source {uri} does not match {pattern}"));
                }
                Some(_) => {}
            },
        }
    }
    problems
}

/// `None` if the attestation is not SLSA provenance; `Err` if it is but lacks a builder id.
fn provenance_facts(
    req: &SlsaRequirements,
    attestation: &Attestation<'_>,
) -> Option<Result<ProvenanceFacts, String>> {
    let v1 = match attestation.predicate_type {
        SLSA_PROVENANCE_V1 => true,
        SLSA_PROVENANCE_V0_2 => false,
        _ => return None,
    };
    let p = attestation.predicate;
    let Some(_) = p.as_object() else {
        return Some(Err("the predicate is not a JSON object".to_owned()));
    };
    let (builder_path, build_type_path) = if v1 {
        ("/runDetails/builder/id", "/buildDefinition/buildType")
    } else {
        ("/builder/id", "/buildType")
    };
    let builder_id = match p.pointer(builder_path).and_then(Value::as_str) {
        Some(id) if !id.trim().is_empty() => id.to_owned(),
        _ => {
            let dotted = builder_path.trim_start_matches('/').replace('/', ".");
            return Some(Err(format!("{dotted} is missing")));
        }
    };
    let build_type = p
        .pointer(build_type_path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (source_uri, source_digest) = if v1 { source_v1(p) } else { source_v0_2(p) }
        .map_or((None, None), |(uri, digest)| (Some(uri), digest));
    Some(Ok(ProvenanceFacts {
        predicate_type: attestation.predicate_type.to_owned(),
        build_level: req.level_of(&builder_id),
        builder_id,
        build_type,
        source_uri,
        source_digest,
    }))
}

/// The `uri` of a JSON object, if it is a non-empty string.
fn uri_of(v: &Value) -> Option<String> {
    v.get("uri")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
}

/// The first resource with a `uri` in a JSON array, with its digest.
fn first_with_uri(list: Option<&Value>) -> Option<(String, Option<String>)> {
    list.and_then(Value::as_array)?
        .iter()
        .find_map(|d| uri_of(d).map(|uri| (uri, digest_of(d.get("digest")))))
}

fn source_v1(p: &Value) -> Option<(String, Option<String>)> {
    first_with_uri(p.pointer("/buildDefinition/resolvedDependencies")).or_else(|| {
        let external = p.pointer("/buildDefinition/externalParameters")?;
        if let Some(repo) = external
            .pointer("/workflow/repository")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            return Some((repo.to_owned(), None));
        }
        match external.get("source")? {
            Value::String(s) if !s.is_empty() => Some((s.clone(), None)),
            source @ Value::Object(_) => {
                uri_of(source).map(|uri| (uri, digest_of(source.get("digest"))))
            }
            _ => None,
        }
    })
}

fn source_v0_2(p: &Value) -> Option<(String, Option<String>)> {
    p.pointer("/invocation/configSource")
        .and_then(|config| uri_of(config).map(|uri| (uri, digest_of(config.get("digest")))))
        .or_else(|| first_with_uri(p.get("materials")))
}

/// An in-toto digest set as `algorithm:value`, preferring a git commit, then sha1, then sha256.
fn digest_of(digest: Option<&Value>) -> Option<String> {
    let set = digest?.as_object()?;
    let pick = |alg: &str| {
        set.get(alg)
            .and_then(Value::as_str)
            .map(|value| format!("{alg}:{value}"))
    };
    ["gitCommit", "sha1", "sha256", "sha512"]
        .into_iter()
        .find_map(pick)
        .or_else(|| {
            set.iter()
                .find_map(|(alg, v)| v.as_str().map(|value| format!("{alg}:{value}")))
        })
}

// ---------------------------------------------------------------------------------------------
// SBOMs

/// One component an SBOM lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SbomComponent {
    /// Name (empty if the SBOM gives none).
    pub name: String,
    /// Version.
    pub version: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// License id, name or expression.
    pub license: Option<String>,
}

/// What an SBOM says, as far as policy and the pages need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SbomSummary {
    /// `CycloneDX <specVersion>` or the SPDX version (`SPDX-2.3`).
    pub format: String,
    /// The first [`MAX_SBOM_KEPT`] components (CycloneDX nested components included, depth
    /// first): what the report keeps and the pages search.
    pub components: Vec<SbomComponent>,
    /// How many components the SBOM lists (what the policy judges).
    pub component_count: usize,
}

/// The most components of one SBOM a report keeps (all are counted, up to
/// [`MAX_SBOM_COMPONENTS`]): what is kept in memory while an artifact is judged stays small
/// however many components its SBOMs list.
pub const MAX_SBOM_KEPT: usize = 10_000;

impl SbomSummary {
    /// A summary of `components`, keeping the first [`MAX_SBOM_KEPT`].
    pub fn of(format: String, mut components: Vec<SbomComponent>) -> Self {
        let component_count = components.len();
        components.truncate(MAX_SBOM_KEPT);
        Self {
            format,
            components,
            component_count,
        }
    }
}

const NEITHER: &str = "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON";

fn too_many() -> String {
    format!("SBOM lists more than {MAX_SBOM_COMPONENTS} components")
}

/// Reads an SBOM already parsed as JSON: a CycloneDX or SPDX document, which is also what an
/// in-toto statement of type [`CYCLONEDX_PREDICATE_TYPE`] or [`SPDX_PREDICATE_TYPE`] carries as
/// its predicate. A whole such statement is accepted too.
pub fn inspect_sbom_value(v: &Value) -> Result<SbomSummary, String> {
    let v = match (
        v.get("predicateType").and_then(Value::as_str),
        v.get("predicate"),
    ) {
        (Some(CYCLONEDX_PREDICATE_TYPE | SPDX_PREDICATE_TYPE), Some(predicate)) => predicate,
        _ => v,
    };
    let Some(doc) = v.as_object() else {
        return Err(NEITHER.to_owned());
    };
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return cyclonedx(doc);
    }
    if let Some(version) = doc.get("spdxVersion").and_then(Value::as_str) {
        return spdx(version, doc);
    }
    Err(NEITHER.to_owned())
}

fn string_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A component's nested `components`, if any.
fn cyclonedx_children(v: &Map<String, Value>) -> Result<&[Value], String> {
    match v.get("components") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(_) => Err("CycloneDX components is not an array".to_owned()),
    }
}

fn cyclonedx(doc: &Map<String, Value>) -> Result<SbomSummary, String> {
    let version = doc
        .get("specVersion")
        .and_then(Value::as_str)
        .ok_or("CycloneDX BOM has no specVersion")?;
    let mut components = Vec::new();
    // Depth first with an explicit stack: nesting depth costs heap, never the call stack.
    let mut stack = vec![cyclonedx_children(doc)?.iter()];
    while let Some(top) = stack.last_mut() {
        let Some(item) = top.next() else {
            stack.pop();
            continue;
        };
        let component = item
            .as_object()
            .ok_or("a CycloneDX component is not a JSON object")?;
        if components.len() == MAX_SBOM_COMPONENTS {
            return Err(too_many());
        }
        let license = component
            .get("licenses")
            .and_then(|l| l.get(0))
            .and_then(|first| {
                first
                    .pointer("/license/id")
                    .or_else(|| first.pointer("/license/name"))
                    .or_else(|| first.get("expression"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        components.push(SbomComponent {
            name: string_at(item, "name").unwrap_or_default(),
            version: string_at(item, "version"),
            purl: string_at(item, "purl"),
            license,
        });
        let children = cyclonedx_children(component)?;
        if !children.is_empty() {
            stack.push(children.iter());
        }
    }
    Ok(SbomSummary::of(format!("CycloneDX {version}"), components))
}

fn spdx(version: &str, doc: &Map<String, Value>) -> Result<SbomSummary, String> {
    let packages: &[Value] = match doc.get("packages") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(list)) => list,
        Some(_) => return Err("SPDX packages is not an array".to_owned()),
    };
    if packages.len() > MAX_SBOM_COMPONENTS {
        return Err(too_many());
    }
    let license =
        |p: &Value, key: &str| string_at(p, key).filter(|l| !l.is_empty() && l != "NOASSERTION");
    let components = packages
        .iter()
        .map(|p| {
            if !p.is_object() {
                return Err("an SPDX package is not a JSON object".to_owned());
            }
            let purl = p
                .get("externalRefs")
                .and_then(Value::as_array)
                .and_then(|refs| {
                    refs.iter().find_map(|r| {
                        (r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                            .then(|| string_at(r, "referenceLocator"))
                            .flatten()
                    })
                });
            Ok(SbomComponent {
                name: string_at(p, "name").unwrap_or_default(),
                version: string_at(p, "versionInfo"),
                purl,
                license: license(p, "licenseConcluded").or_else(|| license(p, "licenseDeclared")),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(SbomSummary::of(version.to_owned(), components))
}

/// Checks an artifact's SBOMs (as read, unreadable ones included) against the requirement.
///
/// Unreadable SBOMs count as absent; the caller reports their errors as evidence problems.
/// With several SBOMs, the one listing the most components is judged.
pub fn evaluate_sbom(req: &SbomRequirement, sboms: &[Result<SbomSummary, String>]) -> Vec<String> {
    let Some(most) = sboms
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .map(|s| s.component_count)
        .max()
    else {
        return if req.required {
            vec!["no SBOM".to_owned()]
        } else {
            Vec::new()
        };
    };
    if most < req.min_components {
        return vec![format!(
            "SBOM has {most} components, at least {} required",
            req.min_components
        )];
    }
    Vec::new()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sbom::read_sbom as inspect_sbom;

    const ED25519_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAkx+QTpC3rpRxEz0t8cYTFSRAcRD6MEaX7HdguQNiORg=
-----END PUBLIC KEY-----
";

    /// The ```toml block of this file's module documentation.
    fn doc_example() -> String {
        let mut lines = include_str!("mod.rs")
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                let l = l.trim_start_matches("//!");
                l.strip_prefix(' ').unwrap_or(l)
            })
            .skip_while(|l| *l != "```toml")
            .skip(1);
        let example: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        assert!(!example.is_empty(), "the module doc has a ```toml example");
        example.join("\n") + "\n"
    }

    fn field_of(error: PolicyError) -> String {
        match error {
            PolicyError::Invalid { field, .. } => field,
            other => panic!("expected PolicyError::Invalid, got {other:?}"),
        }
    }

    fn keyless(name: &str) -> SignerSpec {
        SignerSpec {
            name: name.to_owned(),
            issuer: Some("https://token.ci.example".to_owned()),
            subject: Some("https://ci.example/org/repo".to_owned()),
            subject_regex: None,
            public_key: None,
            enabled: true,
            expires_at: None,
        }
    }

    fn document_with(signers: Vec<SignerSpec>) -> PolicyDocument {
        PolicyDocument {
            policy: Policy::strict(),
            signers,
        }
    }

    fn rich_policy() -> Policy {
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

    // --- TOML -------------------------------------------------------------------------------

    #[test]
    fn the_doc_example_parses() {
        let doc = PolicyDocument::from_toml(&doc_example()).unwrap();
        let p = &doc.policy;
        assert_eq!(p.enforcement, Enforcement::Enforce);
        assert!(p.slsa.required);
        assert_eq!(p.slsa.min_build_level, 2);
        assert_eq!(
            p.slsa.trusted_builders,
            vec![TrustedBuilder {
                id: "https://ci.example/builder@v1".to_owned(),
                level: 3
            }]
        );
        assert_eq!(
            p.slsa.source_repository.as_deref(),
            Some(r"git\+https://git\.example/org/.*")
        );
        assert_eq!(
            p.sbom,
            SbomRequirement {
                required: true,
                min_components: 0
            }
        );
        assert_eq!(
            p.overrides["legacy-tool.tar.gz"].enforcement,
            Some(Enforcement::Warn)
        );
        assert_eq!(doc.signers.len(), 2);
        assert_eq!(doc.signers[0].name, "release-ci");
        assert!(doc.signers[0].enabled, "enabled defaults to true");
        assert!(matches!(
            doc.signers[0].signer_policy().unwrap(),
            SignerPolicy::Keyless(_)
        ));
        let key = &doc.signers[1];
        assert_eq!(key.public_key.as_deref(), Some(ED25519_PEM));
        assert!(!key.enabled);
        assert_eq!(
            key.expires_at,
            Some("2027-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap())
        );
        assert!(matches!(
            key.signer_policy().unwrap(),
            SignerPolicy::PublicKey(_)
        ));
    }

    #[test]
    fn documents_round_trip() {
        let example = PolicyDocument::from_toml(&doc_example()).unwrap();
        assert_eq!(
            PolicyDocument::from_toml(&example.to_toml()).unwrap(),
            example
        );

        let mut regex_signer = keyless("release-ci");
        regex_signer.subject = None;
        regex_signer.subject_regex = Some("https://ci\\.example/org/.*".to_owned());
        regex_signer.expires_at = Some("2030-06-01T12:30:00Z".parse().unwrap());
        let rich = PolicyDocument {
            policy: rich_policy(),
            signers: vec![
                regex_signer,
                SignerSpec {
                    name: "vendor \"key\"".to_owned(),
                    issuer: None,
                    subject: None,
                    subject_regex: None,
                    public_key: Some(ED25519_PEM.to_owned()),
                    enabled: false,
                    expires_at: None,
                },
            ],
        };
        let text = rich.to_toml();
        assert_eq!(PolicyDocument::from_toml(&text).unwrap(), rich, "{text}");

        let empty = document_with(Vec::new());
        assert_eq!(PolicyDocument::from_toml(&empty.to_toml()).unwrap(), empty);
    }

    #[test]
    fn policies_round_trip_and_refuse_signers() {
        for policy in [Policy::strict(), rich_policy()] {
            let text = policy.to_toml();
            assert!(!text.contains("signer]]"), "{text}");
            assert_eq!(Policy::from_toml(&text).unwrap(), policy, "{text}");
        }
        assert!(matches!(
            Policy::from_toml(&doc_example()).unwrap_err(),
            PolicyError::Toml(m) if m.contains("signer")
        ));
    }

    #[test]
    fn strict_enforces_and_requires_nothing_else() {
        let strict = Policy::strict();
        assert_eq!(strict.enforcement, Enforcement::Enforce);
        assert!(!strict.slsa.required && !strict.slsa.constrained());
        assert_eq!(strict.sbom, SbomRequirement::default());
        assert!(strict.overrides.is_empty());
        strict.validate().unwrap();
        assert_eq!(
            Policy::from_toml("enforcement = \"enforce\"\n").unwrap(),
            strict
        );
    }

    #[test]
    fn expiry_may_be_a_toml_datetime_but_needs_an_offset() {
        let base = "enforcement = \"monitor\"\n[[signer]]\nname = \"k\"\npublic_key = \"\"\"\n";
        let with = |expiry: &str| format!("{base}{ED25519_PEM}\"\"\"\nexpires_at = {expiry}\n");
        let doc = PolicyDocument::from_toml(&with("2027-01-01T00:00:00+02:00")).unwrap();
        assert_eq!(
            doc.signers[0].expires_at,
            Some("2026-12-31T22:00:00Z".parse().unwrap())
        );
        assert!(matches!(
            PolicyDocument::from_toml(&with("2027-01-01T00:00:00")).unwrap_err(),
            PolicyError::Toml(m) if m.contains("RFC 3339")
        ));
        assert!(matches!(
            PolicyDocument::from_toml(&with("\"next tuesday\"")).unwrap_err(),
            PolicyError::Toml(m) if m.contains("RFC 3339")
        ));
    }

    #[test]
    fn toml_errors_are_one_line_with_a_position() {
        let syntax = Policy::from_toml("enforcement = \"enforce\"\n[slsa\n").unwrap_err();
        let PolicyError::Toml(message) = &syntax else {
            panic!("expected Toml, got {syntax:?}");
        };
        assert!(message.starts_with("line 2, column "), "{message}");
        assert!(!syntax.to_string().contains('\n'), "{syntax}");

        for text in [
            "enforcement = \"enforce\"\nextra = 1\n",
            "enforcement = \"strictest\"\n",
            "enforcement = \"enforce\"\n[slsa]\nmin_build_level = \"two\"\n",
            "enforcement = \"enforce\"\n[slsa]\nmin_build_level = 300\n",
            "enforcement = \"enforce\"\n[overrides.x]\nenforce = \"warn\"\n",
            "[slsa]\nrequired = true\n",
        ] {
            let error = Policy::from_toml(text).unwrap_err();
            assert!(matches!(error, PolicyError::Toml(_)), "{text}: {error:?}");
            assert!(!error.to_string().contains('\n'), "{error}");
        }
    }

    // --- rule breaks ------------------------------------------------------------------------

    fn policy_field(text: &str) -> String {
        field_of(Policy::from_toml(&format!("enforcement = \"enforce\"\n{text}")).unwrap_err())
    }

    #[test]
    fn policy_rule_breaks_name_their_field() {
        assert_eq!(
            policy_field("[slsa]\nsource_repository = \"git+(\"\n"),
            "slsa.source_repository"
        );
        assert_eq!(
            policy_field("[slsa]\nsource_repository = \"\"\n"),
            "slsa.source_repository"
        );
        assert_eq!(
            policy_field(
                "[slsa]\nmin_build_level = 4\n[[slsa.trusted_builders]]\nid = \"b\"\nlevel = 3\n"
            ),
            "slsa.min_build_level"
        );
        assert_eq!(
            policy_field("[slsa]\nmin_build_level = 1\n"),
            "slsa.min_build_level"
        );
        assert_eq!(
            policy_field("[[slsa.trusted_builders]]\nid = \"b\"\nlevel = 4\n"),
            "slsa.trusted_builders[0].level"
        );
        assert_eq!(
            policy_field("[[slsa.trusted_builders]]\nid = \"\"\nlevel = 1\n"),
            "slsa.trusted_builders[0].id"
        );
        assert_eq!(
            policy_field(
                "[[slsa.trusted_builders]]\nid = \"b\"\nlevel = 1\n[[slsa.trusted_builders]]\nid = \"b\"\nlevel = 2\n"
            ),
            "slsa.trusted_builders[1].id"
        );
        assert_eq!(
            policy_field("[sbom]\nmin_components = 100001\n"),
            "sbom.min_components"
        );
        assert_eq!(
            policy_field("[overrides.\"a.tgz\".slsa]\nmin_build_level = 9\n"),
            "overrides.\"a.tgz\".slsa.min_build_level"
        );
        assert_eq!(
            policy_field("[overrides.\"a.tgz\".sbom]\nmin_components = 200000\n"),
            "overrides.\"a.tgz\".sbom.min_components"
        );
        assert_eq!(
            policy_field("[overrides.\"a.tgz\"]\nsigners = []\n"),
            "overrides.\"a.tgz\".signers"
        );
        assert_eq!(
            policy_field("[overrides.\"\"]\nenforcement = \"warn\"\n"),
            "overrides.\"\""
        );
    }

    #[test]
    fn invalid_errors_display_one_line() {
        let error =
            Policy::from_toml("enforcement = \"enforce\"\n[slsa]\nsource_repository = \"(\"\n")
                .unwrap_err();
        let text = error.to_string();
        assert_eq!(
            text,
            "policy slsa.source_repository: \"(\" is not a valid regular expression: unclosed group"
        );
        assert!(!text.contains('\n'), "{text}");
    }

    fn signer_field(signer: SignerSpec) -> String {
        field_of(signer.validate().unwrap_err())
    }

    #[test]
    fn signer_rule_breaks_name_their_field() {
        let mut both = keyless("s");
        both.public_key = Some(ED25519_PEM.to_owned());
        assert_eq!(signer_field(both), "signer.\"s\"");

        let mut neither = keyless("s");
        neither.issuer = None;
        neither.subject = None;
        assert_eq!(signer_field(neither), "signer.\"s\"");

        let mut no_issuer = keyless("s");
        no_issuer.issuer = None;
        assert_eq!(signer_field(no_issuer), "signer.\"s\".issuer");

        let mut empty_issuer = keyless("s");
        empty_issuer.issuer = Some(String::new());
        assert_eq!(signer_field(empty_issuer), "signer.\"s\".issuer");

        let mut no_subject = keyless("s");
        no_subject.subject = None;
        assert_eq!(signer_field(no_subject), "signer.\"s\".subject");

        let mut two_subjects = keyless("s");
        two_subjects.subject_regex = Some(".*".to_owned());
        assert_eq!(signer_field(two_subjects), "signer.\"s\".subject_regex");

        let mut bad_regex = keyless("s");
        bad_regex.subject = None;
        bad_regex.subject_regex = Some("https://(".to_owned());
        assert_eq!(signer_field(bad_regex), "signer.\"s\".subject_regex");

        let mut bad_pem = keyless("s");
        bad_pem.issuer = None;
        bad_pem.subject = None;
        bad_pem.public_key =
            Some("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n".to_owned());
        assert_eq!(signer_field(bad_pem), "signer.\"s\".public_key");

        assert_eq!(signer_field(keyless(" ")), "signer.\" \".name");
    }

    #[test]
    fn document_rule_breaks_name_their_field() {
        let duplicate = document_with(vec![keyless("ci"), keyless("ci")]);
        assert_eq!(
            field_of(PolicyDocument::from_toml(&duplicate.to_toml()).unwrap_err()),
            "signer.\"ci\".name"
        );

        let mut unknown = document_with(vec![keyless("ci")]);
        unknown.policy.overrides.insert(
            "a.tgz".to_owned(),
            Override {
                signers: Some(vec!["ci".to_owned(), "gone".to_owned()]),
                ..Override::default()
            },
        );
        assert_eq!(
            field_of(PolicyDocument::from_toml(&unknown.to_toml()).unwrap_err()),
            "overrides.\"a.tgz\".signers"
        );

        let mut bad_signer = keyless("ci");
        bad_signer.subject_regex = Some("x".to_owned());
        assert_eq!(
            field_of(document_with(vec![bad_signer]).validate().unwrap_err()),
            "signer.\"ci\".subject_regex"
        );
        assert!(matches!(
            PolicyDocument::from_toml(
                "enforcement = \"warn\"\n[[signer]]\nname = \"x\"\nissuer = \"i\"\nsubject = \"s\"\nkind = \"keyless\"\n"
            )
            .unwrap_err(),
            PolicyError::Toml(_)
        ));
    }

    #[test]
    fn signer_activity_depends_on_enabled_and_expiry() {
        let expiry: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        let before: DateTime<Utc> = "2026-12-31T23:59:59Z".parse().unwrap();
        let mut signer = keyless("ci");
        assert!(signer.is_active(before));
        signer.expires_at = Some(expiry);
        assert!(signer.is_active(before));
        assert!(!signer.is_active(expiry), "expiry is exclusive");
        signer.enabled = false;
        assert!(!signer.is_active(before));
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

    // --- SLSA -------------------------------------------------------------------------------

    const BUILDER: &str = "https://ci.example/builder@v1";
    const SOURCE: &str = "git+https://git.example/org/repo@refs/heads/main";
    const COMMIT: &str = "9f3c1f0a1b2c3d4e5f60718293a4b5c6d7e8f901";

    fn v1(builder: &str, source: Option<&str>) -> Value {
        let deps = match source {
            Some(uri) => json!([
                { "name": "no uri here" },
                { "uri": uri, "digest": { "sha1": "ab", "gitCommit": COMMIT } }
            ]),
            None => json!([]),
        };
        json!({
            "buildDefinition": {
                "buildType": "https://ci.example/build/v1",
                "externalParameters": {},
                "resolvedDependencies": deps
            },
            "runDetails": { "builder": { "id": builder }, "metadata": {} }
        })
    }

    fn v0_2(builder: &str, source: Option<&str>) -> Value {
        let mut p = json!({
            "builder": { "id": builder },
            "buildType": "https://ci.example/build/v0",
            "invocation": {},
        });
        if let Some(uri) = source {
            p["invocation"]["configSource"] =
                json!({ "uri": uri, "digest": { "sha256": "cd", "sha1": COMMIT } });
        }
        p
    }

    fn strict_slsa() -> SlsaRequirements {
        SlsaRequirements {
            required: true,
            min_build_level: 2,
            trusted_builders: vec![
                TrustedBuilder {
                    id: BUILDER.to_owned(),
                    level: 3,
                },
                TrustedBuilder {
                    id: "https://ci.example/low".to_owned(),
                    level: 1,
                },
            ],
            source_repository: Some(r"git\+https://git\.example/org/.*".to_owned()),
        }
    }

    fn slsa(req: &SlsaRequirements, predicate_type: &str, predicate: &Value) -> SlsaOutcome {
        evaluate_slsa(
            req,
            &[Attestation {
                predicate_type,
                predicate,
            }],
        )
    }

    fn problems(outcome: SlsaOutcome) -> Vec<String> {
        outcome.problems
    }

    #[test]
    fn v1_provenance_meeting_the_requirements_reports_its_facts() {
        let outcome = slsa(
            &strict_slsa(),
            SLSA_PROVENANCE_V1,
            &v1(BUILDER, Some(SOURCE)),
        );
        assert_eq!(outcome.problems, Vec::<String>::new());
        assert_eq!(
            outcome.provenance,
            Some(ProvenanceFacts {
                predicate_type: SLSA_PROVENANCE_V1.to_owned(),
                builder_id: BUILDER.to_owned(),
                build_type: "https://ci.example/build/v1".to_owned(),
                source_uri: Some(SOURCE.to_owned()),
                source_digest: Some(format!("gitCommit:{COMMIT}")),
                build_level: 3,
            })
        );
    }

    #[test]
    fn v0_2_provenance_meeting_the_requirements_reports_its_facts() {
        let outcome = slsa(
            &strict_slsa(),
            SLSA_PROVENANCE_V0_2,
            &v0_2(BUILDER, Some(SOURCE)),
        );
        assert_eq!(outcome.problems, Vec::<String>::new());
        assert_eq!(
            outcome.provenance,
            Some(ProvenanceFacts {
                predicate_type: SLSA_PROVENANCE_V0_2.to_owned(),
                builder_id: BUILDER.to_owned(),
                build_type: "https://ci.example/build/v0".to_owned(),
                source_uri: Some(SOURCE.to_owned()),
                source_digest: Some(format!("sha1:{COMMIT}")),
                build_level: 3,
            })
        );
    }

    #[test]
    fn missing_provenance_is_a_problem_only_when_required() {
        let sbom = json!({ "bomFormat": "CycloneDX" });
        let unrelated = [Attestation {
            predicate_type: CYCLONEDX_PREDICATE_TYPE,
            predicate: &sbom,
        }];
        for attestations in [&[][..], &unrelated[..]] {
            let outcome = evaluate_slsa(&strict_slsa(), attestations);
            assert_eq!(outcome.provenance, None);
            assert_eq!(outcome.problems, ["no SLSA provenance attestation"]);

            let optional = SlsaRequirements {
                required: false,
                ..strict_slsa()
            };
            assert_eq!(
                evaluate_slsa(&optional, attestations),
                SlsaOutcome {
                    provenance: None,
                    problems: Vec::new()
                }
            );
        }
    }

    #[test]
    fn every_slsa_problem_for_v1_and_v0_2() {
        type Make = fn(&str, Option<&str>) -> Value;
        let kinds: [(&str, Make); 2] = [(SLSA_PROVENANCE_V1, v1), (SLSA_PROVENANCE_V0_2, v0_2)];
        for (predicate_type, make) in kinds {
            let req = strict_slsa();
            let untrusted = "https://evil.example/builder";
            assert_eq!(
                problems(slsa(&req, predicate_type, &make(untrusted, Some(SOURCE)))),
                [
                    format!("builder {untrusted} is not trusted"),
                    "build level 0 is below the required 2".to_owned(),
                ],
                "{predicate_type}"
            );
            assert_eq!(
                problems(slsa(
                    &req,
                    predicate_type,
                    &make("https://ci.example/low", Some(SOURCE))
                )),
                ["build level 1 is below the required 2"],
                "{predicate_type}"
            );
            let elsewhere = "git+https://git.example/other/repo";
            assert_eq!(
                problems(slsa(&req, predicate_type, &make(BUILDER, Some(elsewhere)))),
                [format!(
                    "source {elsewhere} does not match git\\+https://git\\.example/org/.*"
                )],
                "{predicate_type}"
            );
            assert_eq!(
                problems(slsa(&req, predicate_type, &make(BUILDER, None))),
                ["provenance names no source repository"],
                "{predicate_type}"
            );

            // Not required: facts still reported, configured checks still apply.
            let optional = SlsaRequirements {
                required: false,
                ..strict_slsa()
            };
            let outcome = slsa(&optional, predicate_type, &make(untrusted, Some(SOURCE)));
            assert_eq!(
                outcome.provenance.map(|p| p.builder_id).as_deref(),
                Some(untrusted)
            );
            assert_eq!(outcome.problems.len(), 2, "{predicate_type}");

            // Nothing configured: any builder at level 0, no problems.
            let outcome = slsa(
                &SlsaRequirements::default(),
                predicate_type,
                &make(untrusted, None),
            );
            assert_eq!(outcome.problems, Vec::<String>::new());
            assert_eq!(outcome.provenance.map(|p| p.build_level), Some(0));
        }
    }

    #[test]
    fn the_anchored_source_pattern_matches_the_whole_uri() {
        let req = SlsaRequirements {
            source_repository: Some("git\\+https://git\\.example/org/repo".to_owned()),
            ..SlsaRequirements::default()
        };
        let longer = "evil+git+https://git.example/org/repo";
        assert_eq!(
            problems(slsa(&req, SLSA_PROVENANCE_V1, &v1(BUILDER, Some(longer)))),
            [format!(
                "source {longer} does not match git\\+https://git\\.example/org/repo"
            )]
        );
    }

    #[test]
    fn the_first_satisfying_provenance_is_chosen() {
        let req = strict_slsa();
        let bad = v1("https://ci.example/low", Some(SOURCE));
        let good = v0_2(BUILDER, Some(SOURCE));
        let outcome = evaluate_slsa(
            &req,
            &[
                Attestation {
                    predicate_type: SLSA_PROVENANCE_V1,
                    predicate: &bad,
                },
                Attestation {
                    predicate_type: SLSA_PROVENANCE_V0_2,
                    predicate: &good,
                },
            ],
        );
        assert_eq!(outcome.problems, Vec::<String>::new());
        assert_eq!(
            outcome.provenance.unwrap().predicate_type,
            SLSA_PROVENANCE_V0_2
        );

        let worse = v1("https://evil.example", None);
        let outcome = evaluate_slsa(
            &req,
            &[
                Attestation {
                    predicate_type: SLSA_PROVENANCE_V1,
                    predicate: &bad,
                },
                Attestation {
                    predicate_type: SLSA_PROVENANCE_V1,
                    predicate: &worse,
                },
            ],
        );
        assert_eq!(
            outcome.provenance.unwrap().builder_id,
            "https://ci.example/low",
            "none satisfies: the first is reported"
        );
        assert_eq!(outcome.problems, ["build level 1 is below the required 2"]);
    }

    #[test]
    fn v1_source_falls_back_to_external_parameters() {
        let mut p = v1(BUILDER, None);
        p["buildDefinition"]["externalParameters"] = json!({
            "workflow": { "repository": "https://git.example/org/repo", "ref": "refs/heads/main" }
        });
        let facts = slsa(&SlsaRequirements::default(), SLSA_PROVENANCE_V1, &p)
            .provenance
            .unwrap();
        assert_eq!(
            facts.source_uri.as_deref(),
            Some("https://git.example/org/repo")
        );
        assert_eq!(facts.source_digest, None);

        p["buildDefinition"]["externalParameters"] = json!({
            "source": { "uri": "git+https://git.example/org/src", "digest": { "sha256": "ee" } }
        });
        let facts = slsa(&SlsaRequirements::default(), SLSA_PROVENANCE_V1, &p)
            .provenance
            .unwrap();
        assert_eq!(
            facts.source_uri.as_deref(),
            Some("git+https://git.example/org/src")
        );
        assert_eq!(facts.source_digest.as_deref(), Some("sha256:ee"));

        p["buildDefinition"]["externalParameters"] =
            json!({ "source": "git+https://git.example/org/plain" });
        let facts = slsa(&SlsaRequirements::default(), SLSA_PROVENANCE_V1, &p)
            .provenance
            .unwrap();
        assert_eq!(
            facts.source_uri.as_deref(),
            Some("git+https://git.example/org/plain")
        );
    }

    #[test]
    fn v0_2_source_falls_back_to_materials() {
        let mut p = v0_2(BUILDER, None);
        p["materials"] = json!([
            { "digest": { "sha256": "00" } },
            { "uri": SOURCE, "digest": { "sha256": "11", "sha512": "22" } }
        ]);
        let facts = slsa(&strict_slsa(), SLSA_PROVENANCE_V0_2, &p)
            .provenance
            .unwrap();
        assert_eq!(facts.source_uri.as_deref(), Some(SOURCE));
        assert_eq!(facts.source_digest.as_deref(), Some("sha256:11"));
        assert_eq!(facts.build_type, "https://ci.example/build/v0");
    }

    #[test]
    fn malformed_provenance_is_reported_not_ignored() {
        let no_builder = json!({ "buildDefinition": { "buildType": "t" } });
        assert_eq!(
            problems(slsa(&strict_slsa(), SLSA_PROVENANCE_V1, &no_builder)),
            ["SLSA provenance attestation is malformed: runDetails.builder.id is missing"]
        );
        assert_eq!(
            problems(slsa(&strict_slsa(), SLSA_PROVENANCE_V0_2, &json!("text"))),
            ["SLSA provenance attestation is malformed: the predicate is not a JSON object"]
        );
        assert_eq!(
            problems(slsa(
                &SlsaRequirements::default(),
                SLSA_PROVENANCE_V1,
                &no_builder
            )),
            Vec::<String>::new(),
            "nothing required, nothing configured"
        );
        let good = v1(BUILDER, Some(SOURCE));
        let outcome = evaluate_slsa(
            &strict_slsa(),
            &[
                Attestation {
                    predicate_type: SLSA_PROVENANCE_V1,
                    predicate: &no_builder,
                },
                Attestation {
                    predicate_type: SLSA_PROVENANCE_V1,
                    predicate: &good,
                },
            ],
        );
        assert_eq!(outcome.problems, Vec::<String>::new());
    }

    #[test]
    fn an_unvalidated_bad_pattern_fails_closed() {
        let req = SlsaRequirements {
            source_repository: Some("(".to_owned()),
            ..SlsaRequirements::default()
        };
        let outcome = slsa(&req, SLSA_PROVENANCE_V1, &v1(BUILDER, Some(SOURCE)));
        assert_eq!(
            outcome.problems,
            ["source pattern is unusable: \"(\" is not a valid regular expression: unclosed group"]
        );
    }

    // --- SBOMs ------------------------------------------------------------------------------

    fn component(name: &str) -> SbomComponent {
        SbomComponent {
            name: name.to_owned(),
            version: None,
            purl: None,
            license: None,
        }
    }

    #[test]
    fn cyclonedx_components_are_read_depth_first_with_licenses() {
        let bom = json!({
            "bomFormat": "CycloneDX",
            "specVersion": "1.5",
            "metadata": { "component": { "name": "the artifact itself" } },
            "components": [
                {
                    "name": "top", "version": "1.0", "purl": "pkg:npm/top@1.0",
                    "licenses": [ { "license": { "id": "MIT" } } ],
                    "components": [
                        {
                            "name": "child",
                            "licenses": [ { "license": { "name": "Custom" } } ],
                            "components": [ { "name": "grandchild", "licenses": [ { "expression": "Apache-2.0 OR MIT" } ] } ]
                        },
                        { "name": "sibling" }
                    ]
                },
                { "name": "last", "components": [] }
            ]
        });
        let summary = inspect_sbom(bom.to_string().as_bytes()).unwrap();
        assert_eq!(summary.format, "CycloneDX 1.5");
        assert_eq!(
            summary.components,
            vec![
                SbomComponent {
                    name: "top".to_owned(),
                    version: Some("1.0".to_owned()),
                    purl: Some("pkg:npm/top@1.0".to_owned()),
                    license: Some("MIT".to_owned()),
                },
                SbomComponent {
                    license: Some("Custom".to_owned()),
                    ..component("child")
                },
                SbomComponent {
                    license: Some("Apache-2.0 OR MIT".to_owned()),
                    ..component("grandchild")
                },
                component("sibling"),
                component("last"),
            ]
        );
    }

    #[test]
    fn spdx_packages_give_purl_and_license() {
        let doc = json!({
            "spdxVersion": "SPDX-2.3",
            "SPDXID": "SPDXRef-DOCUMENT",
            "packages": [
                {
                    "name": "libfoo", "versionInfo": "2.1",
                    "licenseConcluded": "NOASSERTION", "licenseDeclared": "BSD-3-Clause",
                    "externalRefs": [
                        { "referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:foo" },
                        { "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:deb/libfoo@2.1" }
                    ]
                },
                { "name": "bar", "licenseConcluded": "MIT", "licenseDeclared": "GPL-2.0-only" },
                { "name": "baz", "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION" }
            ]
        });
        let summary = inspect_sbom(doc.to_string().as_bytes()).unwrap();
        assert_eq!(summary.format, "SPDX-2.3");
        assert_eq!(
            summary.components,
            vec![
                SbomComponent {
                    name: "libfoo".to_owned(),
                    version: Some("2.1".to_owned()),
                    purl: Some("pkg:deb/libfoo@2.1".to_owned()),
                    license: Some("BSD-3-Clause".to_owned()),
                },
                SbomComponent {
                    license: Some("MIT".to_owned()),
                    ..component("bar")
                },
                component("baz"),
            ]
        );
    }

    #[test]
    fn sbom_attestation_predicates_and_statements_are_read() {
        let bom = json!({ "bomFormat": "CycloneDX", "specVersion": "1.6", "components": [ { "name": "a" } ] });
        assert_eq!(
            inspect_sbom_value(&bom).unwrap().components,
            [component("a")]
        );
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [],
            "predicateType": SPDX_PREDICATE_TYPE,
            "predicate": { "spdxVersion": "SPDX-2.2", "packages": [ { "name": "p" } ] }
        });
        let summary = inspect_sbom_value(&statement).unwrap();
        assert_eq!(summary.format, "SPDX-2.2");
        assert_eq!(summary.components, [component("p")]);
    }

    #[test]
    fn unreadable_sboms_say_why_in_one_line() {
        let not_json = inspect_sbom(&b"{ nope"[..]).unwrap_err();
        assert!(not_json.starts_with("not JSON: "), "{not_json}");
        assert!(!not_json.contains('\n'));
        for neither in [
            json!({ "bomFormat": "Other" }),
            json!([1, 2]),
            json!({ "packages": [] }),
        ] {
            assert_eq!(
                inspect_sbom(neither.to_string().as_bytes()).unwrap_err(),
                "neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON"
            );
        }
        assert_eq!(
            inspect_sbom_value(
                &json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": {} })
            )
            .unwrap_err(),
            "CycloneDX components is not an array"
        );
        assert_eq!(
            inspect_sbom_value(
                &json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": [1] })
            )
            .unwrap_err(),
            "a CycloneDX component is not a JSON object"
        );
        assert_eq!(
            inspect_sbom_value(&json!({ "bomFormat": "CycloneDX" })).unwrap_err(),
            "CycloneDX BOM has no specVersion"
        );
        assert_eq!(
            inspect_sbom_value(&json!({ "spdxVersion": "SPDX-2.3", "packages": "x" })).unwrap_err(),
            "SPDX packages is not an array"
        );
    }

    #[test]
    fn components_are_capped() {
        let many = |n: usize| -> Vec<Value> { (0..n).map(|_| json!({ "name": "c" })).collect() };
        let at_cap = json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": many(MAX_SBOM_COMPONENTS) });
        let kept = inspect_sbom_value(&at_cap).unwrap();
        assert_eq!(
            (kept.component_count, kept.components.len()),
            (MAX_SBOM_COMPONENTS, MAX_SBOM_KEPT)
        );
        let over = "SBOM lists more than 100000 components";
        let flat = json!({ "bomFormat": "CycloneDX", "specVersion": "1.5", "components": many(MAX_SBOM_COMPONENTS + 1) });
        assert_eq!(inspect_sbom_value(&flat).unwrap_err(), over);
        let nested = json!({
            "bomFormat": "CycloneDX", "specVersion": "1.5",
            "components": [ { "name": "parent", "components": many(MAX_SBOM_COMPONENTS) } ]
        });
        assert_eq!(inspect_sbom_value(&nested).unwrap_err(), over);
        let packages: Vec<Value> = (0..=MAX_SBOM_COMPONENTS)
            .map(|_| json!({ "name": "p" }))
            .collect();
        let spdx = json!({ "spdxVersion": "SPDX-2.3", "packages": packages });
        assert_eq!(inspect_sbom_value(&spdx).unwrap_err(), over);
    }

    #[test]
    fn nesting_up_to_the_json_depth_limit_is_read() {
        // serde_json refuses input nested deeper than 128, which bounds what reaches the walk.
        let depth = 60;
        let mut text =
            String::from(r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#);
        for _ in 0..depth {
            text.push_str(r#"{"name":"n","components":["#);
        }
        text.push_str(r#"{"name":"leaf"}"#);
        text.push_str(&"]}".repeat(depth + 1));
        let summary = inspect_sbom(text.as_bytes()).unwrap();
        assert_eq!(summary.components.len(), depth + 1);
        assert_eq!(summary.components[depth], component("leaf"));
    }

    #[test]
    fn sbom_requirements() {
        let three = Ok(SbomSummary::of(
            "CycloneDX 1.5".to_owned(),
            vec![component("a"), component("b"), component("c")],
        ));
        let one = Ok(SbomSummary::of("SPDX-2.3".to_owned(), vec![component("a")]));
        let broken: Result<SbomSummary, String> = Err("not JSON: eof".to_owned());
        let required = SbomRequirement {
            required: true,
            min_components: 0,
        };
        assert_eq!(evaluate_sbom(&required, &[]), ["no SBOM"]);
        assert_eq!(
            evaluate_sbom(&required, std::slice::from_ref(&broken)),
            ["no SBOM"]
        );
        assert_eq!(
            evaluate_sbom(&required, &[broken.clone(), one.clone()]),
            Vec::<String>::new()
        );
        assert_eq!(
            evaluate_sbom(&SbomRequirement::default(), std::slice::from_ref(&broken)),
            Vec::<String>::new()
        );
        let four = SbomRequirement {
            required: true,
            min_components: 4,
        };
        assert_eq!(
            evaluate_sbom(&four, &[one.clone(), three.clone()]),
            ["SBOM has 3 components, at least 4 required"]
        );
        let two = SbomRequirement {
            required: false,
            min_components: 2,
        };
        assert_eq!(
            evaluate_sbom(&two, std::slice::from_ref(&one)),
            ["SBOM has 1 components, at least 2 required"]
        );
        assert_eq!(evaluate_sbom(&two, &[one, three]), Vec::<String>::new());
        assert_eq!(evaluate_sbom(&two, &[broken]), Vec::<String>::new());
    }
}
