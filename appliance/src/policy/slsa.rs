//! SLSA provenance: what an artifact's provenance must show (trusted builders with the levels
//! the site grants them, a minimum level, an anchored source pattern), the facts read from a
//! v1 or v0.2 provenance predicate, and [`evaluate_slsa`], which judges them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{PolicyError, anchored, invalid};

/// The in-toto predicate type of SLSA provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// The in-toto predicate type of SLSA provenance v0.2.
pub const SLSA_PROVENANCE_V0_2: &str = "https://slsa.dev/provenance/v0.2";
/// The highest SLSA build level.
pub const MAX_BUILD_LEVEL: u8 = 3;

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
    pub(super) fn constrained(&self) -> bool {
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

    pub(super) fn validate(&self, prefix: &str) -> Result<(), PolicyError> {
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

/// One verified in-toto statement about an artifact (its subject already matched the artifact).
#[derive(Debug, Clone, Copy)]
pub struct Attestation<'a> {
    /// The statement's `predicateType`.
    pub predicate_type: &'a str,
    /// The statement's `predicate`.
    pub predicate: &'a Value,
}

/// What a provenance attestation says, and the level the site grants its builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::policy::CYCLONEDX_PREDICATE_TYPE;

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
}
