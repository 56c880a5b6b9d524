//! Signed verification summaries: for each artifact, a SLSA Verification Summary Attestation
//! (an in-toto Statement v1 with predicate type `https://slsa.dev/verification_summary/v1`)
//! in a DSSE envelope signed by the appliance key.
//!
//! `verificationResult` says whether the artifact met the policy's checks; the verdict (what
//! the site did with it) may still release a `FAILED` artifact in warn or monitor mode.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The in-toto Statement v1 type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The VSA predicate type.
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// DSSE payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// What one summary states.
#[derive(Debug)]
pub struct Summary<'a> {
    /// The artifact's name (the statement's subject name).
    pub name: &'a str,
    /// Its SHA-256, hex.
    pub digest: &'a str,
    /// The appliance key id.
    pub verifier_key_id: &'a str,
    /// When it was verified.
    pub time_verified: DateTime<Utc>,
    /// `urn:airlock:import:<id>:artifact:<position>`.
    pub resource_uri: String,
    /// SHA-256 of the policy document in force (hex).
    pub policy_sha256: &'a str,
    /// Digests (hex) of the bundles and attestations that were evaluated.
    pub inputs: Vec<&'a str>,
    /// Whether every check passed.
    pub passed: bool,
    /// The SLSA build level verified (when it passed).
    pub build_level: u8,
}

#[derive(Serialize)]
struct Statement<'a> {
    #[serde(rename = "_type")]
    type_: &'static str,
    subject: [Subject<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'static str,
    predicate: Predicate<'a>,
}

#[derive(Serialize)]
struct Subject<'a> {
    name: &'a str,
    digest: Sha256<'a>,
}

#[derive(Serialize)]
struct Sha256<'a> {
    sha256: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Predicate<'a> {
    verifier: Verifier,
    time_verified: String,
    resource_uri: &'a str,
    policy: Input<'a>,
    input_attestations: Vec<Input<'a>>,
    verification_result: &'static str,
    verified_levels: Vec<String>,
    slsa_version: &'static str,
}

#[derive(Serialize)]
struct Verifier {
    id: String,
    version: std::collections::BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct Input<'a> {
    uri: String,
    digest: Sha256<'a>,
}

/// The statement's JSON (the DSSE payload).
pub fn statement(s: &Summary<'_>) -> Vec<u8> {
    let statement = Statement {
        type_: STATEMENT_TYPE,
        subject: [Subject {
            name: s.name,
            digest: Sha256 { sha256: s.digest },
        }],
        predicate_type: VSA_PREDICATE_TYPE,
        predicate: Predicate {
            verifier: Verifier {
                id: format!("urn:airlock:appliance:{}", s.verifier_key_id),
                version: [("airlock-appliance", env!("CARGO_PKG_VERSION"))].into(),
            },
            time_verified: s
                .time_verified
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            resource_uri: &s.resource_uri,
            policy: Input {
                uri: format!("urn:airlock:policy:sha256:{}", s.policy_sha256),
                digest: Sha256 {
                    sha256: s.policy_sha256,
                },
            },
            input_attestations: s
                .inputs
                .iter()
                .map(|d| Input {
                    uri: format!("urn:airlock:blob:sha256:{d}"),
                    digest: Sha256 { sha256: d },
                })
                .collect(),
            verification_result: if s.passed { "PASSED" } else { "FAILED" },
            verified_levels: if s.passed {
                vec![format!("SLSA_BUILD_LEVEL_{}", s.build_level)]
            } else {
                vec!["FAILED".to_owned()]
            },
            slsa_version: "1.0",
        },
    };
    // Plain strings and vectors always serialize.
    serde_json::to_vec(&statement)
        .expect("invariant: the VSA statement serializes (derived, string keys)")
}
