//! One negative test per verification step: a real passing conformance bundle with exactly one
//! thing changed (bundle JSON, trusted root JSON, policy or artifact), and the exact error.

use std::fs;
use std::path::PathBuf;

use airlock_trust_root::{
    Artifact, Bundle, BundleError, BundleVersion, CertificateIdentity, CheckpointError,
    EntryMismatch, Matcher, ProofError, PublicKey, Report, SctError, SignerFacts, SignerPolicy,
    Step, TimestampError, TrustedRoot, Verifier, VerifierOptions, VerifyError,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
const PRODUCTION_ROOT: &str = "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json";

/// Base cases: each verifies unmodified.
const HAPPY_V03: &str = "happy-path-v0.3";
const HAPPY_DSSE: &str = "happy-path-intoto-in-dsse-v3";
const REKOR2: &str = "rekor2-happy-path";
const MANAGED_KEY: &str = "managed-key-happy-path";
const HAPPY_V02: &str = "happy-path-v0.2";

/// The production Rekor v1 log every non-rekor2 base bundle is in (`logId.keyId`).
const REKOR_V1_LOG_ID: &str = "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=";
/// The production CT log that issued the base certificates' SCTs.
const CTFE_2022_LOG_ID: &str = "3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4=";

/// A conformance case as JSON, ready to be mutated and verified.
struct Case {
    bundle: Value,
    root: Value,
    artifact: Vec<u8>,
    key_pem: Option<String>,
}

impl Case {
    /// Loads `name` from the conformance suite, or prints why the test is skipped.
    fn load(name: &str) -> Option<Self> {
        crate::outside::shared_testdata("sigstore-conformance")?;
        let testdata = crate::outside::shared_testdata("")?;
        let case = testdata
            .join("sigstore-conformance/bundle-verify")
            .join(name);
        let read_json =
            |path: PathBuf| -> Value { serde_json::from_slice(&fs::read(&path).unwrap()).unwrap() };
        let own_root = case.join("trusted_root.json");
        let root_path = if own_root.exists() {
            own_root
        } else {
            testdata.join(PRODUCTION_ROOT)
        };
        Some(Self {
            bundle: read_json(case.join("bundle.sigstore.json")),
            root: read_json(root_path),
            artifact: fs::read(case.join("../a.txt")).unwrap(),
            key_pem: fs::read_to_string(case.join("key.pub")).ok(),
        })
    }

    /// Changes the bundle JSON.
    fn bundle(mut self, mutate: impl FnOnce(&mut Value)) -> Self {
        mutate(&mut self.bundle);
        self
    }

    /// Changes the trusted root JSON.
    fn root(mut self, mutate: impl FnOnce(&mut Value)) -> Self {
        mutate(&mut self.root);
        self
    }

    /// The case's own signer: its `key.pub`, or the default conformance identity.
    fn policy(&self) -> SignerPolicy {
        match &self.key_pem {
            Some(pem) => SignerPolicy::PublicKey(PublicKey::from_pem(pem).unwrap()),
            None => keyless(DEFAULT_IDENTITY, DEFAULT_ISSUER),
        }
    }

    fn parse_bundle(&self) -> Result<Bundle, BundleError> {
        Bundle::from_json(&serde_json::to_vec(&self.bundle).unwrap())
    }

    /// Verifies against an explicit artifact and policy.
    fn verify_with(
        &self,
        artifact: Artifact<'_>,
        policy: &SignerPolicy,
    ) -> Result<Report, VerifyError> {
        let root = TrustedRoot::from_json(&serde_json::to_vec(&self.root).unwrap())
            .expect("the (mutated) trusted root still parses");
        let bundle = self
            .parse_bundle()
            .expect("the (mutated) bundle still parses");
        Verifier::new(root).verify(&bundle, artifact, policy)
    }

    /// Verifies against the case's own artifact bytes and signer.
    fn verify(&self) -> Result<Report, VerifyError> {
        self.verify_with(Artifact::Bytes(&self.artifact), &self.policy())
    }

    /// Verifies with the case's artifact and signer, expecting a rejection at `step`.
    fn rejected_at(&self, step: Step) -> VerifyError {
        let err = self.verify().expect_err("the mutated case must not verify");
        assert_eq!(err.step(), step, "wrong step for {err:?}");
        err
    }
}

fn keyless(subject: &str, issuer: &str) -> SignerPolicy {
    SignerPolicy::Keyless(CertificateIdentity {
        subject: Matcher::exact(subject).unwrap(),
        issuer: Matcher::exact(issuer).unwrap(),
    })
}

/// The (only) tlog entry of a bundle.
fn entry(bundle: &mut Value) -> &mut Value {
    &mut bundle["verificationMaterial"]["tlogEntries"][0]
}

fn checkpoint(bundle: &mut Value) -> &mut Value {
    &mut entry(bundle)["inclusionProof"]["checkpoint"]["envelope"]
}

/// A trusted-root list entry's validity window (`publicKey.validFor` for logs).
fn valid_for(item: &mut Value) -> &mut Value {
    if item.get("publicKey").is_some() {
        &mut item["publicKey"]["validFor"]
    } else {
        &mut item["validFor"]
    }
}

/// Applies `mutate` to every element of the root's list `list`.
fn each(root: &mut Value, list: &str, mut mutate: impl FnMut(&mut Value)) {
    for item in root[list].as_array_mut().unwrap() {
        mutate(item);
    }
}

fn integrated_time(bundle: &Value) -> DateTime<Utc> {
    let seconds = bundle["verificationMaterial"]["tlogEntries"][0]["integratedTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    DateTime::from_timestamp(seconds, 0).unwrap()
}

fn b64_hex(b64: &str) -> String {
    hex::encode(BASE64.decode(b64).unwrap())
}

// --- positive control -------------------------------------------------------------------------

#[test]
fn every_base_bundle_verifies_unmodified() {
    for name in [HAPPY_V03, HAPPY_DSSE, REKOR2, MANAGED_KEY, HAPPY_V02] {
        let Some(case) = Case::load(name) else { return };
        let policy = case.policy();
        case.verify_with(Artifact::Bytes(&case.artifact), &policy)
            .unwrap_or_else(|e| panic!("{name} (bytes): {e}"));
        let digest: [u8; 32] = Sha256::digest(&case.artifact).into();
        case.verify_with(Artifact::Sha256(digest), &policy)
            .unwrap_or_else(|e| panic!("{name} (digest): {e}"));
    }
}

// --- material ---------------------------------------------------------------------------------

#[test]
fn key_policy_on_certificate_bundle_is_certificate_not_key() {
    let (Some(case), Some(managed)) = (Case::load(HAPPY_V03), Case::load(MANAGED_KEY)) else {
        return;
    };
    let err = case
        .verify_with(Artifact::Bytes(&case.artifact), &managed.policy())
        .unwrap_err();
    assert!(matches!(err, VerifyError::CertificateNotKey), "{err:?}");
    assert_eq!(err.step(), Step::Material);
}

#[test]
fn keyless_policy_on_managed_key_bundle_is_key_required() {
    let Some(case) = Case::load(MANAGED_KEY) else {
        return;
    };
    let err = case
        .verify_with(
            Artifact::Bytes(&case.artifact),
            &keyless(DEFAULT_IDENTITY, DEFAULT_ISSUER),
        )
        .unwrap_err();
    assert!(matches!(err, VerifyError::KeyRequired), "{err:?}");
    assert_eq!(err.step(), Step::Material);
}

// --- observed times ---------------------------------------------------------------------------

#[test]
fn root_without_the_bundles_log_is_unknown_log() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.root(|r| {
        r["tlogs"]
            .as_array_mut()
            .unwrap()
            .retain(|log| log["logId"]["keyId"] != REKOR_V1_LOG_ID);
    });
    let err = case.rejected_at(Step::ObservedTimes);
    assert!(
        matches!(&err, VerifyError::UnknownLog { index: 0, log_id } if *log_id == b64_hex(REKOR_V1_LOG_ID)),
        "{err:?}"
    );
}

#[test]
fn changed_log_index_breaks_signed_entry_timestamp() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| entry(b)["logIndex"] = json!("79571824"));
    let err = case.rejected_at(Step::ObservedTimes);
    assert!(
        matches!(err, VerifyError::BadSignedEntryTimestamp { index: 0 }),
        "{err:?}"
    );
}

#[test]
fn rekor2_without_timestamps_has_no_observed_time() {
    let Some(case) = Case::load(REKOR2) else {
        return;
    };
    let case = case.bundle(|b| {
        b["verificationMaterial"]
            .as_object_mut()
            .unwrap()
            .remove("timestampVerificationData")
            .unwrap();
    });
    let err = case.rejected_at(Step::ObservedTimes);
    assert!(matches!(err, VerifyError::NoObservedTime), "{err:?}");
}

/// An unverifiable promise must not stand in for an inclusion proof: a v0.1 bundle whose SET
/// has no integrated time to check it against is rejected, not waved through on its timestamp.
#[test]
fn promise_without_integrated_time_is_rejected_not_skipped() {
    let Some(case) = Case::load(REKOR2) else {
        return;
    };
    let case = case.bundle(|b| {
        b["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
        let entry = &mut b["verificationMaterial"]["tlogEntries"][0];
        let entry = entry.as_object_mut().unwrap();
        entry.remove("inclusionProof").unwrap();
        entry.remove("integratedTime");
        entry.insert(
            "inclusionPromise".into(),
            json!({"signedEntryTimestamp": "AAAA"}),
        );
    });
    let err = case.rejected_at(Step::ObservedTimes);
    assert!(
        matches!(err, VerifyError::PromiseWithoutTime { index: 0 }),
        "{err:?}"
    );
}

#[test]
fn rekor2_without_trusted_timestamp_authorities_is_untrusted_authority() {
    let Some(case) = Case::load(REKOR2) else {
        return;
    };
    let case = case.root(|r| r["timestampAuthorities"] = json!([]));
    let err = case.rejected_at(Step::ObservedTimes);
    assert!(
        matches!(
            err,
            VerifyError::Timestamp {
                index: 0,
                source: TimestampError::UntrustedAuthority
            }
        ),
        "{err:?}"
    );
}

#[test]
fn empty_tlog_entries_is_no_log_entry() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| b["verificationMaterial"]["tlogEntries"] = json!([]));
    let err = case.rejected_at(Step::ObservedTimes);
    assert!(matches!(err, VerifyError::NoLogEntry), "{err:?}");
}

// --- verifier options -------------------------------------------------------------------------

impl Case {
    /// Verifies with the case's artifact and signer under `options`.
    fn verify_under(&self, options: VerifierOptions) -> Result<Report, VerifyError> {
        let root = TrustedRoot::from_json(&serde_json::to_vec(&self.root).unwrap()).unwrap();
        let bundle = self.parse_bundle().unwrap();
        Verifier::with_options(root, options).verify(
            &bundle,
            Artifact::Bytes(&self.artifact),
            &self.policy(),
        )
    }
}

#[test]
fn the_default_options_are_one_entry_one_sct_one_time() {
    assert_eq!(
        VerifierOptions::default(),
        VerifierOptions {
            min_log_entries: 1,
            min_scts: 1,
            min_observed_times: 1,
        }
    );
}

#[test]
fn raised_minimum_counts_are_enforced_and_named() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let strict = |change: fn(&mut VerifierOptions)| {
        let mut options = VerifierOptions::default();
        change(&mut options);
        case.verify_under(options).unwrap_err()
    };
    assert_eq!(
        strict(|o| o.min_log_entries = 2),
        VerifyError::TooFewLogEntries {
            found: 1,
            required: 2
        }
    );
    assert_eq!(
        strict(|o| o.min_observed_times = 2),
        VerifyError::TooFewObservedTimes {
            found: 1,
            required: 2
        }
    );
    assert_eq!(
        strict(|o| o.min_scts = 2),
        VerifyError::Sct(SctError::TooFew {
            found: 1,
            required: 2
        })
    );
}

#[test]
fn no_sct_is_needed_when_the_minimum_is_zero() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.root(|r| r["ctlogs"] = json!([]));
    let options = VerifierOptions {
        min_scts: 0,
        ..VerifierOptions::default()
    };
    let report = case.verify_under(options).unwrap();
    assert!(
        matches!(&report.signer, SignerFacts::Certificate { sct_log_ids, .. } if sct_log_ids.is_empty())
    );
}

// --- certificate chain ------------------------------------------------------------------------

#[test]
fn authority_expired_before_signing_is_authority_not_valid() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let signed_at = integrated_time(&case.bundle);
    let case = case.root(|r| {
        each(r, "certificateAuthorities", |ca| {
            valid_for(ca)["end"] = json!("2024-01-01T00:00:00Z");
        });
    });
    let err = case.rejected_at(Step::CertificateChain);
    assert!(
        matches!(
            &err,
            VerifyError::AuthorityNotValid { authority, at }
                if authority == "https://fulcio.sigstore.dev" && *at == signed_at
        ),
        "{err:?}"
    );
}

#[test]
fn root_without_certificate_authorities_is_untrusted_issuer() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.root(|r| r["certificateAuthorities"] = json!([]));
    let err = case.rejected_at(Step::CertificateChain);
    assert!(matches!(err, VerifyError::UntrustedIssuer), "{err:?}");
}

// --- SCT --------------------------------------------------------------------------------------

#[test]
fn root_without_ct_logs_is_no_trusted_log() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.root(|r| r["ctlogs"] = json!([]));
    let err = case.rejected_at(Step::Sct);
    assert!(
        matches!(err, VerifyError::Sct(SctError::NoTrustedLog)),
        "{err:?}"
    );
}

#[test]
fn ct_log_valid_only_in_the_future_is_log_key_not_valid() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let future: DateTime<Utc> = "2099-01-01T00:00:00Z".parse().unwrap();
    let case = case.root(|r| {
        each(r, "ctlogs", |log| {
            *valid_for(log) = json!({ "start": "2099-01-01T00:00:00Z" });
        });
    });
    let err = case.rejected_at(Step::Sct);
    assert!(
        matches!(
            &err,
            VerifyError::Sct(SctError::LogKeyNotValid { log_id, at })
                if *log_id == b64_hex(CTFE_2022_LOG_ID) && *at < future
        ),
        "{err:?}"
    );
}

// --- identity ---------------------------------------------------------------------------------

#[test]
fn wrong_subject_is_identity_mismatch_listing_the_real_san() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let wanted =
        "https://github.com/someone-else/repo/.github/workflows/release.yml@refs/heads/main";
    let err = case
        .verify_with(
            Artifact::Bytes(&case.artifact),
            &keyless(wanted, DEFAULT_ISSUER),
        )
        .unwrap_err();
    assert_eq!(err.step(), Step::Identity);
    assert!(
        matches!(
            &err,
            VerifyError::IdentityMismatch { expected, found }
                if expected == &format!("{wanted:?}") && found == &[DEFAULT_IDENTITY]
        ),
        "{err:?}"
    );
}

#[test]
fn wrong_issuer_is_issuer_mismatch() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let err = case
        .verify_with(
            Artifact::Bytes(&case.artifact),
            &keyless(DEFAULT_IDENTITY, "https://accounts.google.com"),
        )
        .unwrap_err();
    assert_eq!(err.step(), Step::Identity);
    assert!(
        matches!(
            &err,
            VerifyError::IssuerMismatch { found: Some(found), .. } if found == DEFAULT_ISSUER
        ),
        "{err:?}"
    );
}

#[test]
fn pattern_matching_only_a_substring_is_rejected() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let policy = |subject: &str| {
        SignerPolicy::Keyless(CertificateIdentity {
            subject: Matcher::pattern(subject).unwrap(),
            issuer: Matcher::exact(DEFAULT_ISSUER).unwrap(),
        })
    };
    let artifact = Artifact::Bytes(&case.artifact);
    // Control: a pattern covering the whole SAN is accepted.
    case.verify_with(
        artifact,
        &policy("https://github.com/sigstore-conformance/.*"),
    )
    .unwrap();
    let err = case
        .verify_with(
            artifact,
            &policy("sigstore-conformance/extremely-dangerous"),
        )
        .unwrap_err();
    assert_eq!(err.step(), Step::Identity);
    assert!(
        matches!(&err, VerifyError::IdentityMismatch { found, .. } if found == &[DEFAULT_IDENTITY]),
        "{err:?}"
    );
}

// --- signature --------------------------------------------------------------------------------

#[test]
fn other_artifact_with_matching_digest_hint_is_bad_signature() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let other = b"not the artifact that was signed";
    let case = case.bundle(|b| {
        b["messageSignature"]["messageDigest"]["digest"] =
            json!(BASE64.encode(Sha256::digest(other)));
    });
    let err = case
        .verify_with(Artifact::Bytes(other), &case.policy())
        .unwrap_err();
    assert_eq!(err.step(), Step::Signature);
    assert!(matches!(err, VerifyError::BadSignature), "{err:?}");
}

#[test]
fn digest_of_other_bytes_is_message_digest_mismatch() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let other: [u8; 32] = Sha256::digest(b"other bytes").into();
    let err = case
        .verify_with(Artifact::Sha256(other), &case.policy())
        .unwrap_err();
    assert_eq!(err.step(), Step::Signature);
    assert!(matches!(err, VerifyError::MessageDigestMismatch), "{err:?}");
}

// --- DSSE subject -----------------------------------------------------------------------------

#[test]
fn dsse_bundle_for_another_artifact_is_subject_mismatch() {
    let Some(case) = Case::load(HAPPY_DSSE) else {
        return;
    };
    let other = b"not a subject of the statement";
    let err = case
        .verify_with(Artifact::Bytes(other), &case.policy())
        .unwrap_err();
    assert_eq!(err.step(), Step::Subject);
    assert!(
        matches!(&err, VerifyError::SubjectMismatch { sha256, unchecked } if *sha256 == hex::encode(Sha256::digest(other)) && unchecked.is_empty()),
        "{err:?}"
    );
}

// --- log entry --------------------------------------------------------------------------------

#[test]
fn rekor2_kind_version_differing_from_body_is_log_entry_mismatch() {
    // Rekor v2 entries carry no signed entry timestamp, so kindVersion is covered only by the
    // comparison with the logged body.
    let Some(case) = Case::load(REKOR2) else {
        return;
    };
    let case = case.bundle(|b| entry(b)["kindVersion"]["version"] = json!("0.0.1"));
    let err = case.rejected_at(Step::LogEntry);
    assert!(
        matches!(
            &err,
            VerifyError::LogEntry {
                index: 0,
                source: EntryMismatch::KindVersion { body, bundle }
            } if body == "hashedrekord 0.0.2" && bundle == "hashedrekord 0.0.1"
        ),
        "{err:?}"
    );
}

// --- inclusion proof and checkpoint -----------------------------------------------------------

#[test]
fn flipped_proof_hash_is_root_mismatch() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| {
        let hash = &mut entry(b)["inclusionProof"]["hashes"][0];
        let mut bytes = BASE64.decode(hash.as_str().unwrap()).unwrap();
        bytes[0] ^= 1;
        *hash = json!(BASE64.encode(bytes));
    });
    let err = case.rejected_at(Step::Inclusion);
    assert!(
        matches!(
            err,
            VerifyError::Inclusion {
                index: 0,
                source: ProofError::RootMismatch
            }
        ),
        "{err:?}"
    );
}

#[test]
fn altered_checkpoint_text_is_bad_signature() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| {
        let note = checkpoint(b).as_str().unwrap().to_owned();
        let altered = note.replacen("\n75408393\n", "\n75408394\n", 1);
        assert_ne!(note, altered);
        *checkpoint(b) = json!(altered);
    });
    let err = case.rejected_at(Step::Inclusion);
    assert!(
        matches!(
            &err,
            VerifyError::Checkpoint {
                index: 0,
                source: CheckpointError::BadSignature { name }
            } if name == "rekor.sigstore.dev"
        ),
        "{err:?}"
    );
}

#[test]
fn checkpoint_without_signature_line_is_malformed_note() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| {
        let note = checkpoint(b).as_str().unwrap().to_owned();
        let (text, _signatures) = note.split_once("\n\n").unwrap();
        *checkpoint(b) = json!(format!("{text}\n\n"));
    });
    let err = case.rejected_at(Step::Inclusion);
    assert!(
        matches!(
            err,
            VerifyError::Checkpoint {
                index: 0,
                source: CheckpointError::MalformedNote
            }
        ),
        "{err:?}"
    );
}

#[test]
fn changed_tree_size_fails_the_inclusion_proof() {
    // The proof is checked before the checkpoint, and a different tree size gives a different
    // audit path, so the proof itself no longer leads to the root.
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| entry(b)["inclusionProof"]["treeSize"] = json!("75408394"));
    let err = case.rejected_at(Step::Inclusion);
    assert!(
        matches!(
            err,
            VerifyError::Inclusion {
                index: 0,
                source: ProofError::RootMismatch
            }
        ),
        "{err:?}"
    );
}

// --- key validity -----------------------------------------------------------------------------

#[test]
fn log_key_expired_before_integration_is_log_key_not_valid() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let integrated = integrated_time(&case.bundle);
    let case = case.root(|r| {
        each(r, "tlogs", |log| {
            if log["logId"]["keyId"] == REKOR_V1_LOG_ID {
                valid_for(log)["end"] = json!("2024-01-01T00:00:00Z");
            }
        });
    });
    let err = case.rejected_at(Step::KeyValidity);
    assert!(
        matches!(
            &err,
            VerifyError::LogKeyNotValid { index: 0, log, at }
                if log == "https://rekor.sigstore.dev" && *at == integrated
        ),
        "{err:?}"
    );
}

#[test]
fn rekor2_log_key_expired_before_the_timestamp_is_log_key_not_valid() {
    // Without an integrated time, a Rekor v2 log key is judged at the RFC 3161 times.
    let Some(case) = Case::load(REKOR2) else {
        return;
    };
    let end: DateTime<Utc> = "2025-04-17T00:00:00Z".parse().unwrap();
    let case = case.root(|r| {
        each(r, "tlogs", |log| {
            valid_for(log)["end"] = json!("2025-04-17T00:00:00Z")
        });
    });
    let err = case.rejected_at(Step::KeyValidity);
    assert!(
        matches!(
            &err,
            VerifyError::LogKeyNotValid { index: 0, log, at }
                if log == "https://log2025-alpha1.rekor.sigstage.dev" && *at > end
        ),
        "{err:?}"
    );
}

// --- bundle parsing ---------------------------------------------------------------------------

/// Parses the mutated bundle, expecting a parse error, which the verifier reports as material.
fn parse_error(case: &Case) -> BundleError {
    let err = case
        .parse_bundle()
        .expect_err("the mutated bundle must not parse");
    assert_eq!(VerifyError::from(err.clone()).step(), Step::Material);
    err
}

#[test]
fn v02_bundle_without_inclusion_proof_is_version_requires() {
    let Some(case) = Case::load(HAPPY_V02) else {
        return;
    };
    let case = case.bundle(|b| {
        entry(b).as_object_mut().unwrap().remove("inclusionProof");
    });
    let err = parse_error(&case);
    assert!(
        matches!(
            err,
            BundleError::VersionRequires {
                version: BundleVersion::V0_2,
                index: 0,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn dsse_envelope_with_two_signatures_is_signature_count() {
    let Some(case) = Case::load(HAPPY_DSSE) else {
        return;
    };
    let case = case.bundle(|b| {
        let signatures = b["dsseEnvelope"]["signatures"].as_array_mut().unwrap();
        signatures.push(signatures[0].clone());
    });
    let err = parse_error(&case);
    assert!(matches!(err, BundleError::DsseSignatureCount(2)), "{err:?}");
}

#[test]
fn bundle_without_content_is_no_content() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| {
        b.as_object_mut()
            .unwrap()
            .remove("messageSignature")
            .unwrap();
    });
    let err = parse_error(&case);
    assert!(matches!(err, BundleError::NoContent), "{err:?}");
}

#[test]
fn negative_integrated_time_is_tlog_entry_error() {
    let Some(case) = Case::load(HAPPY_V03) else {
        return;
    };
    let case = case.bundle(|b| entry(b)["integratedTime"] = json!("-1710869186"));
    let err = parse_error(&case);
    assert!(
        matches!(
            &err,
            BundleError::TlogEntry { index: 0, problem } if problem.starts_with("integratedTime")
        ),
        "{err:?}"
    );
}
