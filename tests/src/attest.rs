//! In-toto statements and their predicates: SLSA provenance v1 / v0.2, CycloneDX and SPDX SBOMs.

use serde_json::{Value, json};

use crate::shape::DigestAlgorithm;

/// A SLSA provenance description: who built what from which source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The builder's id (`runDetails.builder.id` / `builder.id`).
    pub builder_id: String,
    /// The build type URI.
    pub build_type: String,
    /// The source repository URI, e.g. `git+https://example.test/org/repo`.
    pub source_uri: String,
    /// The source revision (git commit, hex).
    pub source_commit: String,
}

/// A package listed in an SBOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
}

/// What an attestation says.
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    /// SLSA provenance v1 (`https://slsa.dev/provenance/v1`).
    SlsaV1(Provenance),
    /// SLSA provenance v0.2 (`https://slsa.dev/provenance/v0.2`).
    SlsaV02(Provenance),
    /// A CycloneDX 1.5 SBOM (`https://cyclonedx.org/bom`).
    CycloneDx(Vec<Package>),
    /// An SPDX 2.3 SBOM (`https://spdx.dev/Document`).
    Spdx(Vec<Package>),
    /// Anything else.
    Custom {
        /// The predicate type URI.
        predicate_type: String,
        /// The predicate body.
        predicate: Value,
    },
}

/// in-toto Statement v1 type.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

impl Predicate {
    /// The predicate type URI.
    pub fn predicate_type(&self) -> &str {
        match self {
            Predicate::SlsaV1(_) => "https://slsa.dev/provenance/v1",
            Predicate::SlsaV02(_) => "https://slsa.dev/provenance/v0.2",
            Predicate::CycloneDx(_) => "https://cyclonedx.org/bom",
            Predicate::Spdx(_) => "https://spdx.dev/Document",
            Predicate::Custom { predicate_type, .. } => predicate_type,
        }
    }

    /// The predicate JSON; `at` is the RFC 3339 time used for build/creation timestamps and
    /// `subject` the name of the attested artifact.
    pub(crate) fn body(&self, at: &str, subject: &str, serial: &str) -> Value {
        match self {
            Predicate::SlsaV1(p) => json!({
                "buildDefinition": {
                    "buildType": p.build_type,
                    "externalParameters": {"source": p.source_uri},
                    "internalParameters": {},
                    "resolvedDependencies": [{
                        "uri": p.source_uri,
                        "digest": {"gitCommit": p.source_commit},
                    }],
                },
                "runDetails": {
                    "builder": {"id": p.builder_id},
                    "metadata": {
                        "invocationId": format!("{}/runs/{serial}", p.builder_id),
                        "startedOn": at,
                        "finishedOn": at,
                    },
                },
            }),
            Predicate::SlsaV02(p) => json!({
                "builder": {"id": p.builder_id},
                "buildType": p.build_type,
                "invocation": {
                    "configSource": {
                        "uri": p.source_uri,
                        "digest": {"sha1": p.source_commit},
                        "entryPoint": "build",
                    },
                },
                "metadata": {
                    "buildInvocationId": format!("{}/runs/{serial}", p.builder_id),
                    "buildStartedOn": at,
                    "buildFinishedOn": at,
                    "completeness": {"parameters": true, "environment": false, "materials": true},
                    "reproducible": false,
                },
                "materials": [{"uri": p.source_uri, "digest": {"sha1": p.source_commit}}],
            }),
            Predicate::CycloneDx(pkgs) => json!({
                "bomFormat": "CycloneDX",
                "specVersion": "1.5",
                "serialNumber": format!("urn:uuid:{serial}"),
                "version": 1,
                "metadata": {
                    "timestamp": at,
                    "component": {"type": "application", "name": subject},
                },
                "components": pkgs.iter().map(|p| json!({
                    "type": "library",
                    "name": p.name,
                    "version": p.version,
                    "purl": format!("pkg:generic/{}@{}", p.name, p.version),
                })).collect::<Vec<_>>(),
            }),
            Predicate::Spdx(pkgs) => json!({
                "spdxVersion": "SPDX-2.3",
                "dataLicense": "CC0-1.0",
                "SPDXID": "SPDXRef-DOCUMENT",
                "name": subject,
                "documentNamespace": format!("https://airlock.test/spdx/{serial}"),
                "creationInfo": {"created": at, "creators": ["Tool: airlock-testkit"]},
                "packages": pkgs.iter().enumerate().map(|(i, p)| json!({
                    "SPDXID": format!("SPDXRef-Package-{i}"),
                    "name": p.name,
                    "versionInfo": p.version,
                    "downloadLocation": "NOASSERTION",
                    "externalRefs": [{
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": format!("pkg:generic/{}@{}", p.name, p.version),
                    }],
                })).collect::<Vec<_>>(),
            }),
            Predicate::Custom { predicate, .. } => predicate.clone(),
        }
    }
}

/// An in-toto Statement v1 about one subject, named by its SHA-256.
#[cfg(test)]
pub(crate) fn statement(
    subject: &str,
    sha256: &[u8; 32],
    predicate: &Predicate,
    at: &str,
    serial: &str,
) -> Value {
    let digests = [(DigestAlgorithm::Sha256, sha256.to_vec())];
    statement_with_digests(subject, &digests, predicate, at, serial)
}

/// An in-toto Statement v1 about one subject whose digest set holds `digests`.
pub(crate) fn statement_with_digests(
    subject: &str,
    digests: &[(DigestAlgorithm, Vec<u8>)],
    predicate: &Predicate,
    at: &str,
    serial: &str,
) -> Value {
    let digest_set: serde_json::Map<String, Value> = digests
        .iter()
        .map(|(alg, d)| (alg.rekor_name().to_string(), Value::String(hex::encode(d))))
        .collect();
    json!({
        "_type": STATEMENT_V1,
        "subject": [{"name": subject, "digest": digest_set}],
        "predicateType": predicate.predicate_type(),
        "predicate": predicate.body(at, subject, serial),
    })
}

/// DSSE pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn statement_shape() {
        let p = Predicate::Spdx(vec![Package {
            name: "a".into(),
            version: "1".into(),
        }]);
        let s = statement("x.tar", &[0; 32], &p, "2026-01-01T00:00:00Z", "1");
        assert_eq!(s["_type"], STATEMENT_V1);
        assert_eq!(s["predicateType"], "https://spdx.dev/Document");
        assert_eq!(s["subject"][0]["digest"]["sha256"], hex::encode([0u8; 32]));
        assert_eq!(s["predicate"]["packages"][0]["versionInfo"], "1");
    }

    #[test]
    fn statement_with_only_sha512() {
        let d = DigestAlgorithm::Sha512.digest(b"x");
        let s = statement_with_digests(
            "x.tar",
            &[(DigestAlgorithm::Sha512, d.clone())],
            &Predicate::Spdx(vec![]),
            "2026-01-01T00:00:00Z",
            "1",
        );
        assert_eq!(s["subject"][0]["digest"], json!({"sha512": hex::encode(d)}));
    }
}
