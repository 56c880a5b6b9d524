//! Every sigstore-conformance `bundle-verify` case, through the library, with the artifact
//! given both as bytes and as a `sha256:` digest.

use std::fs;
use std::path::{Path, PathBuf};

use airlock_trust_root::{
    Artifact, Bundle, CertificateIdentity, Matcher, PublicKey, SignerPolicy, TrustedRoot, Verifier,
};
use sha2::{Digest, Sha256};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
const PRODUCTION_ROOT: &str = "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json";

fn testdata() -> Option<PathBuf> {
    crate::outside::shared_testdata("sigstore-conformance")?;
    crate::outside::shared_testdata("")
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// Why a case was rejected: the stage and error variant (with its source's variant), e.g.
/// `inclusion/Checkpoint/NoLogSignature`, and the message.
struct Rejection {
    kind: String,
    message: String,
}

/// The variant names in an error's `Debug` form: `Checkpoint { index: 0, source: Origin {..} }`
/// gives `Checkpoint/Origin`.
fn variants(debug: &str) -> String {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric()).collect() };
    let mut out = ident(debug);
    if let Some(pos) = debug.find("source: ") {
        out = format!("{out}/{}", ident(&debug[pos + 8..]));
    }
    out
}

fn reject(stage: &str, e: impl std::fmt::Debug + std::fmt::Display) -> Rejection {
    Rejection {
        kind: format!("{stage}/{}", variants(&format!("{e:?}"))),
        message: e.to_string(),
    }
}

/// Runs one case; `Ok` if it verified, the rejection otherwise.
fn run_case(testdata: &Path, case: &Path, by_digest: bool) -> Result<(), Rejection> {
    let io = |e: std::io::Error| reject("io", e);
    let root_path = case.join("trusted_root.json");
    let root_json = if root_path.exists() {
        fs::read(&root_path)
    } else {
        fs::read(testdata.join(PRODUCTION_ROOT))
    }
    .map_err(io)?;
    let root = TrustedRoot::from_json(&root_json).map_err(|e| reject("trusted-root", e))?;
    let bundle_json = fs::read(case.join("bundle.sigstore.json")).map_err(io)?;
    let bundle = Bundle::from_json(&bundle_json).map_err(|e| reject("bundle", e))?;
    let artifact_path = if case.join("artifact").exists() {
        case.join("artifact")
    } else {
        case.join("../a.txt")
    };
    let artifact_bytes = fs::read(artifact_path).map_err(io)?;
    let policy = match fs::read_to_string(case.join("key.pub")) {
        Ok(pem) => {
            SignerPolicy::PublicKey(PublicKey::from_pem(&pem).map_err(|e| reject("key", e))?)
        }
        Err(_) => SignerPolicy::Keyless(CertificateIdentity {
            subject: Matcher::exact(
                read_trimmed(&case.join("identity")).unwrap_or(DEFAULT_IDENTITY.into()),
            )
            .map_err(|e| reject("policy", e))?,
            issuer: Matcher::exact(
                read_trimmed(&case.join("issuer")).unwrap_or(DEFAULT_ISSUER.into()),
            )
            .map_err(|e| reject("policy", e))?,
        }),
    };
    let artifact = if by_digest {
        Artifact::Sha256(Sha256::digest(&artifact_bytes).into())
    } else {
        Artifact::Bytes(&artifact_bytes)
    };
    Verifier::new(root)
        .verify(&bundle, artifact, &policy)
        .map(|_| ())
        .map_err(|e| reject(&e.step().to_string().replace(' ', "-"), e))
}

/// What each `_fail` case must be rejected for.
const EXPECTED_REJECTIONS: &[(&str, &str)] = &[
    (
        "bundle-empty-certificate-chain_fail",
        "bundle/EmptyCertificateChain",
    ),
    (
        "bundle-from-wrong-instance_fail",
        "observed-times/UnknownLog",
    ),
    (
        "bundle-invalid-base64-signature_fail",
        "bundle/Decode/Base64",
    ),
    ("bundle-malformed-json_fail", "bundle/Json"),
    ("bundle-negative-log-index_fail", "bundle/TlogEntry"),
    ("bundle-unknown-version_fail", "bundle/MediaType"),
    ("bundle-with-root-cert_fail", "bundle/ChainOutOfOrder"),
    (
        "checkpoint-bad-keyhint_fail",
        "inclusion-proof/Checkpoint/NoLogSignature",
    ),
    (
        "checkpoint-wrong-roothash_fail",
        "inclusion-proof/Checkpoint/Size",
    ),
    ("dsse-invalid-sig_fail", "signature/BadSignature"),
    (
        "dsse-mismatch-envelope_fail",
        "log-entry/LogEntry/PayloadHash",
    ),
    ("dsse-mismatch-sig_fail", "log-entry/LogEntry/Signature"),
    (
        "inclusion-proof-corrupted-hash_fail",
        "inclusion-proof/Inclusion/RootMismatch",
    ),
    (
        "incorrect-public-key_fail",
        "observed-times/BadSignedEntryTimestamp",
    ),
    (
        "integrated-time-in-future_fail",
        "certificate-chain/CertificateNotValid",
    ),
    (
        "intoto-expired-certificate_fail",
        "certificate-chain/CertificateNotValid",
    ),
    (
        "intoto-log-entry-mismatch_fail",
        "log-entry/LogEntry/Malformed",
    ),
    (
        "intoto-missing-inclusion-proof_fail",
        "bundle/VersionRequires",
    ),
    (
        "intoto-set-outside-signing-cert-validity_fail",
        "certificate-chain/CertificateNotValid",
    ),
    (
        "intoto-tsa-timestamp-outside-cert-validity_fail",
        "certificate-chain/CertificateNotValid",
    ),
    (
        "invalid-checkpoint-signature_fail",
        "inclusion-proof/Checkpoint/BadSignature",
    ),
    ("invalid-ct-key_fail", "SCT/Sct"),
    ("invalid-inclusion-proof_fail", "bundle/TlogEntry"),
    ("managed-key-no-key_fail", "material/KeyRequired"),
    ("managed-key-wrong-key_fail", "key/Pem"),
    (
        "message-digest-mismatch_fail",
        "signature/MessageDigestMismatch",
    ),
    (
        "rekor2-checkpoint-missing-log-signature_fail",
        "inclusion-proof/Checkpoint/MalformedNote",
    ),
    (
        "rekor2-checkpoint-missing-origin_fail",
        "inclusion-proof/Checkpoint/BadSignature",
    ),
    (
        "rekor2-checkpoint-missing-root-hash_fail",
        "inclusion-proof/Checkpoint/BadSignature",
    ),
    (
        "rekor2-checkpoint-missing-size_fail",
        "inclusion-proof/Checkpoint/BadSignature",
    ),
    (
        "rekor2-checkpoint-no-matching-signature_fail",
        "inclusion-proof/Checkpoint/NoLogSignature",
    ),
    ("rekor2-dsse-invalid-sig_fail", "signature/BadSignature"),
    (
        "rekor2-dsse-mismatch-envelope_fail",
        "log-entry/LogEntry/ArtifactDigest",
    ),
    (
        "rekor2-dsse-mismatch-sig_fail",
        "log-entry/LogEntry/Signature",
    ),
    ("rekor2-no-inclusion-proof_fail", "bundle/VersionRequires"),
    ("rekor2-no-timestamp_fail", "observed-times/NoObservedTime"),
    (
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "observed-times/Timestamp/AuthorityNotValid",
    ),
    (
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "observed-times/Timestamp/CertificateNotValid",
    ),
    (
        "rekor2-timestamp-payload-mismatch_fail",
        "observed-times/Timestamp/ImprintMismatch",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "observed-times/Timestamp/UntrustedAuthority",
    ),
    (
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
        "observed-times/Timestamp/UntrustedAuthority",
    ),
    (
        "rekor2-timestamp-with-incorrect-time_fail",
        "certificate-chain/CertificateNotValid",
    ),
    (
        "set-invalid-signature_fail",
        "observed-times/BadSignedEntryTimestamp",
    ),
    ("signature-mismatch_fail", "signature/BadSignature"),
    (
        "trust-root-tlog-missing-validity-start_fail",
        "trusted-root/MissingValidityStart",
    ),
    (
        "wrong-hashedrekord-artifact_fail",
        "log-entry/LogEntry/ArtifactDigest",
    ),
    (
        "wrong-hashedrekord-cert-and-sig_fail",
        "log-entry/LogEntry/Signature",
    ),
    (
        "wrong-hashedrekord-entry_fail",
        "log-entry/LogEntry/ArtifactDigest",
    ),
    ("wrong-material_fail", "signature/MessageDigestMismatch"),
];

#[test]
fn every_conformance_case_agrees() {
    let Some(testdata) = testdata() else {
        return;
    };
    let suite = testdata.join("sigstore-conformance/bundle-verify");
    let mut cases: Vec<PathBuf> = fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bundle.sigstore.json").exists())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "the suite has 70 cases");

    let (mut passed, mut disagreements) = (0, Vec::new());
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let should_fail = name.ends_with("_fail");
        for by_digest in [false, true] {
            let form = if by_digest { "digest" } else { "path" };
            match (run_case(&testdata, case, by_digest), should_fail) {
                (Ok(()), false) => passed += 1,
                (Err(rejection), true) => {
                    let expected = EXPECTED_REJECTIONS
                        .iter()
                        .find(|(case, _)| *case == name)
                        .map(|(_, kind)| *kind);
                    if expected == Some(rejection.kind.as_str()) {
                        passed += 1;
                    } else {
                        disagreements.push(format!(
                            "{name} ({form}): rejected as {} ({}), expected {expected:?}",
                            rejection.kind, rejection.message
                        ));
                    }
                }
                (Ok(()), true) => {
                    disagreements.push(format!("{name} ({form}): verified, must fail"))
                }
                (Err(r), false) => {
                    disagreements.push(format!("{name} ({form}): {}: {}", r.kind, r.message))
                }
            }
        }
    }
    println!("{passed} passed, {} failed", disagreements.len());
    assert!(
        disagreements.is_empty(),
        "disagreements:\n{}",
        disagreements.join("\n")
    );
}
