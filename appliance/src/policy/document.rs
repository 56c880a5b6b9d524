//! The policy's TOML forms: a [`Policy`] alone (as stored) and a [`PolicyDocument`] (the policy
//! and the trusted signers, as `policy import` reads and `policy export` writes it), each read,
//! validated and written back. Every rule a policy must keep that TOML's shape cannot express
//! is checked here, each failure naming its field as a TOML path.
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
//! [exceptions]
//! approvals = 2
//! max_days = 30
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

use airlock_trust_root::{CertificateIdentity, Matcher, PublicKey, SignerPolicy};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sbom::SbomRequirement;
use super::slsa::SlsaRequirements;
use super::{
    Enforcement, ExceptionRules, Override, Policy, PolicyError, anchored, invalid, quoted,
};

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

impl Policy {
    /// Checks the rules TOML's shape cannot: build levels 0..=3, a minimum level only with
    /// trusted builders, patterns that compile, reachable component counts, named overrides
    /// and non-empty signer restrictions. Signer names are checked by [`PolicyDocument`].
    pub fn validate(&self) -> Result<(), PolicyError> {
        self.slsa.validate("slsa")?;
        self.sbom.validate("sbom")?;
        self.exceptions.validate("exceptions")?;
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

/// Reads `expires_at` from an RFC 3339 string or a TOML date-time literal (which must carry
/// its offset: a local date-time names no instant).
fn deserialize_expiry<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Expiry {
        Text(String),
        Toml(toml::value::Datetime),
    }
    let text = match Expiry::deserialize(deserializer).map_err(|_| {
        serde::de::Error::custom(
            "expected an RFC 3339 date and time with an offset, e.g. 2027-01-01T00:00:00Z",
        )
    })? {
        Expiry::Text(text) => text,
        Expiry::Toml(datetime) => datetime.to_string(),
    };
    parse_expiry(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 date and time with an offset: {e}"))
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
    exceptions: ExceptionRules,
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
    #[serde(skip_serializing_if = "ExceptionRules::is_default")]
    exceptions: &'a ExceptionRules,
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
                exceptions: raw.exceptions,
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
            exceptions: &self.policy.exceptions,
            signer: &self.signers,
        };
        toml::to_string(&out).expect(
            "a policy document has string keys, no bare None and integers within i64: it serialises",
        )
    }
}

// ---------------------------------------------------------------------------------------------
// SLSA provenance

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::TrustedBuilder;
    use crate::policy::tests::{ED25519_PEM, field_of, rich_policy};

    /// The ```toml block of this file's module documentation.
    fn doc_example() -> String {
        let mut lines = include_str!("document.rs")
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
        assert_eq!(
            p.exceptions,
            ExceptionRules {
                approvals: 2,
                max_days: 30
            }
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
    fn exceptions_default_to_one_admin_and_ninety_days_and_refuse_other_counts() {
        let policy = Policy::from_toml("enforcement = \"enforce\"\n").unwrap();
        assert_eq!(policy.exceptions, ExceptionRules::default());
        assert_eq!(policy.exceptions.approvals, 1);
        assert_eq!(policy.exceptions.max_days, 90);
        assert!(
            !policy.to_toml().contains("exceptions"),
            "defaults are left out"
        );
        let three = Policy::from_toml("enforcement = \"enforce\"\n[exceptions]\napprovals = 3\n");
        assert_eq!(field_of(three.unwrap_err()), "exceptions.approvals");
        let long = Policy::from_toml("enforcement = \"enforce\"\n[exceptions]\nmax_days = 0\n");
        assert_eq!(field_of(long.unwrap_err()), "exceptions.max_days");
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
}
