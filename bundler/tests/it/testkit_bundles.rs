//! `verify-bundle` on bundles minted by the testkit (issue 4): the same good bundles and
//! negative knobs that `airlock-tests` cross-checks with sigstore-python, verified here by the
//! built binary. Good bundles exit 0; each knob exits 1 with one stderr line naming the step
//! that caught it.

use std::process::{Command, Output};

use airlock_tests::{
    CertValidity, CheckpointMode, Identity, Instance, Knobs, MintedBundle, Package, Predicate,
    Provenance, SctMode, SignOptions, TimestampMode,
};
use chrono::DateTime;
use sha2::{Digest, Sha256};

const IDENTITY: &str = "https://ci.airlock.test/org/repo/.ci/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.ci.airlock.test";
const EMAIL: &str = "dev@airlock.test";
const ARTIFACT: &[u8] = b"airlock release 1.0\n";

/// A fresh private Sigstore; 2026-01-15T12:00:00Z is when it makes its first signature.
fn instance() -> Instance {
    Instance::new(11, DateTime::from_timestamp(1_768_478_400, 0).unwrap()).unwrap()
}

fn opts() -> SignOptions {
    SignOptions::workload(IDENTITY, ISSUER)
}

fn stamped() -> SignOptions {
    opts().with_knobs(Knobs {
        timestamp: TimestampMode::Valid,
        ..Knobs::default()
    })
}

fn artifact_digest() -> [u8; 32] {
    Sha256::digest(ARTIFACT).into()
}

/// Attests to [`ARTIFACT`] (the DSSE subject) with `predicate`.
fn attest(inst: &mut Instance, predicate: &Predicate, opts: &SignOptions) -> MintedBundle {
    inst.attest("artifact", artifact_digest(), predicate, opts)
        .unwrap()
}

fn provenance() -> Provenance {
    Provenance {
        builder_id: "https://ci.airlock.test/builder".into(),
        build_type: "https://ci.airlock.test/buildtypes/release/v1".into(),
        source_uri: "git+https://git.airlock.test/org/repo".into(),
        source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
    }
}

fn packages() -> Vec<Package> {
    vec![Package {
        name: "libfoo".into(),
        version: "1.2.3".into(),
    }]
}

/// Who `verify-bundle` is told signed the bundle.
pub(crate) enum Signer {
    /// The identity and issuer the bundle was minted for (`--certificate-identity/-oidc-issuer`).
    Minted,
    /// A managed key, by PEM (`--key`).
    Key(String),
}

/// What `verify-bundle` did.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Writes the instance's trusted root, `bundle` and `artifact` into a temporary directory and
/// runs `airlock-bundler verify-bundle` on them. `artifact` is `None` to pass the digest the
/// bundle was minted over (`sha256:<hex>`) instead of a file.
pub(crate) fn verify(
    inst: &Instance,
    bundle: &MintedBundle,
    artifact: Option<&[u8]>,
    signer: &Signer,
    extra: &[&str],
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let root = write("trusted_root.json", &inst.trusted_root_json().unwrap());
    let bundle_path = write("artifact.sigstore.json", &bundle.json);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock-bundler"));
    cmd.arg("verify-bundle")
        .arg("--bundle")
        .arg(&bundle_path)
        .arg("--trusted-root")
        .arg(&root)
        .args(extra);
    match signer {
        Signer::Minted => {
            let (Identity::Uri(id) | Identity::Email(id)) = &bundle.identity;
            cmd.args(["--certificate-identity", id])
                .args(["--certificate-oidc-issuer", &bundle.issuer]);
        }
        Signer::Key(pem) => {
            cmd.arg("--key").arg(write("key.pub", pem.as_bytes()));
        }
    }
    match artifact {
        Some(bytes) => cmd.arg(write("artifact", bytes)),
        None => cmd.arg(format!("sha256:{}", hex::encode(bundle.subject_digest))),
    };
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[test]
fn good_bundles_verify() {
    let mut inst = instance();
    let managed = inst.managed_key("release");
    let mut cases: Vec<(&str, MintedBundle, Signer)> = vec![
        (
            "message signature",
            inst.sign_blob(ARTIFACT, &opts()).unwrap(),
            Signer::Minted,
        ),
        (
            "message signature with timestamp",
            inst.sign_blob(ARTIFACT, &stamped()).unwrap(),
            Signer::Minted,
        ),
        (
            "signature by a person (email SAN)",
            inst.sign_blob(ARTIFACT, &SignOptions::person(EMAIL, ISSUER))
                .unwrap(),
            Signer::Minted,
        ),
    ];
    for (name, predicate) in [
        ("SLSA v1 attestation", Predicate::SlsaV1(provenance())),
        ("SLSA v0.2 attestation", Predicate::SlsaV02(provenance())),
        ("CycloneDX attestation", Predicate::CycloneDx(packages())),
        ("SPDX attestation", Predicate::Spdx(packages())),
    ] {
        cases.push((name, attest(&mut inst, &predicate, &opts()), Signer::Minted));
    }
    cases.push((
        "SLSA v1 attestation with timestamp",
        attest(&mut inst, &Predicate::SlsaV1(provenance()), &stamped()),
        Signer::Minted,
    ));
    cases.push((
        "managed-key signature",
        inst.sign_blob_with_key(ARTIFACT, &managed, &opts())
            .unwrap(),
        Signer::Key(managed.public_pem().unwrap()),
    ));

    let mut failures = Vec::new();
    for (name, bundle, signer) in &cases {
        for (form, artifact) in [("file", Some(ARTIFACT)), ("digest", None)] {
            let run = verify(&inst, bundle, artifact, signer, &[]);
            if run.code != Some(0) || !run.stderr.is_empty() {
                failures.push(format!(
                    "{name} ({form}): exit {:?}: {}",
                    run.code, run.stderr
                ));
            }
        }
    }
    assert!(failures.is_empty(), "rejected:\n{}", failures.join("\n"));
}

#[test]
fn json_report_names_the_signer_and_log_entry() {
    let mut inst = instance();
    inst.sign_blob(b"an earlier artifact", &opts()).unwrap();
    let bundle = inst.sign_blob(ARTIFACT, &stamped()).unwrap();
    assert_eq!(bundle.log_index, 1);
    let run = verify(&inst, &bundle, Some(ARTIFACT), &Signer::Minted, &["--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["signer"]["identity"], IDENTITY);
    assert_eq!(report["signer"]["issuer"], ISSUER);
    assert_eq!(report["log_entries"][0]["log_index"], 1);
    assert_eq!(report["bundle_version"], "0.3");
}

/// A bundle `verify-bundle` must reject, and where.
struct Reject {
    name: &'static str,
    /// The step stderr must name, e.g. `"SCT step"`.
    step: &'static str,
    /// Text the reason must contain after the step.
    detail: &'static str,
    bundle: MintedBundle,
}

/// Runs every case and fails listing each one that did not exit 1 with exactly one stderr line
/// `airlock-bundler verify-bundle: <step>: ...<detail>...`.
fn assert_rejected(inst: &Instance, cases: &[Reject], artifact: &[u8], signer: &Signer) {
    let mut failures = Vec::new();
    for case in cases {
        let run = verify(inst, &case.bundle, Some(artifact), signer, &[]);
        eprintln!(
            "{}: exit {:?}: {}",
            case.name,
            run.code,
            run.stderr.trim_end()
        );
        let prefix = format!("airlock-bundler verify-bundle: {}: ", case.step);
        let rejected_here = run.code == Some(1)
            && run.stderr.lines().count() == 1
            && run.stderr.starts_with(&prefix)
            && run.stderr.contains(case.detail);
        if !rejected_here {
            failures.push(format!(
                "{}: expected exit 1 at {:?} ({:?}), got exit {:?}: {}",
                case.name, case.step, case.detail, run.code, run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "disagreed:\n{}", failures.join("\n"));
}

#[test]
fn each_knob_is_rejected_at_its_step() {
    let mut inst = instance();
    let mut reject = |name, step, detail, knobs: Knobs| Reject {
        name,
        step,
        detail,
        bundle: inst.sign_blob(ARTIFACT, &opts().with_knobs(knobs)).unwrap(),
    };
    let mut cases = vec![
        reject(
            "expired certificate",
            "certificate chain step",
            "certificate is not valid at",
            Knobs {
                cert_validity: CertValidity::Expired,
                ..Knobs::default()
            },
        ),
        reject(
            "not-yet-valid certificate",
            "certificate chain step",
            "certificate is not valid at",
            Knobs {
                cert_validity: CertValidity::NotYetValid,
                ..Knobs::default()
            },
        ),
        reject(
            "wrong identity",
            "identity step",
            "certificate identity \"https://evil.test/x\" does not match",
            Knobs {
                wrong_identity: Some(Identity::Uri("https://evil.test/x".into())),
                ..Knobs::default()
            },
        ),
        reject(
            "wrong issuer",
            "identity step",
            "certificate OIDC issuer \"https://evil.test\" does not match",
            Knobs {
                wrong_issuer: Some("https://evil.test".into()),
                ..Knobs::default()
            },
        ),
        reject(
            "missing SCT",
            "SCT step",
            "certificate has no embedded SCTs",
            Knobs {
                sct: SctMode::Missing,
                ..Knobs::default()
            },
        ),
        reject(
            "bad SCT signature",
            "SCT step",
            "does not verify",
            Knobs {
                sct: SctMode::BadSignature,
                ..Knobs::default()
            },
        ),
        reject(
            "SCT from unknown log",
            "SCT step",
            "no embedded SCT is from a CT log in the trusted root",
            Knobs {
                sct: SctMode::UnknownLog,
                ..Knobs::default()
            },
        ),
        // The signed entry timestamp covers the body, and it is checked first.
        reject(
            "tampered body",
            "observed times step",
            "signed entry timestamp does not verify",
            Knobs {
                tamper_body: true,
                ..Knobs::default()
            },
        ),
        reject(
            "wrong inclusion path",
            "inclusion proof step",
            "proof does not lead to the expected root hash",
            Knobs {
                wrong_inclusion_path: true,
                ..Knobs::default()
            },
        ),
        reject(
            "checkpoint from unknown key",
            "inclusion proof step",
            "checkpoint has no signature by log airlock.test",
            Knobs {
                checkpoint: CheckpointMode::UnknownKey,
                ..Knobs::default()
            },
        ),
        // sigstore-python ignores a timestamp it cannot verify; Airlock rejects the bundle.
        reject(
            "timestamp over wrong message",
            "observed times step",
            "message imprint mismatch",
            Knobs {
                timestamp: TimestampMode::WrongMessage,
                ..Knobs::default()
            },
        ),
        reject(
            "timestamp over wrong message, the only time evidence",
            "observed times step",
            "message imprint mismatch",
            Knobs {
                timestamp: TimestampMode::WrongMessage,
                omit_promise: true,
                ..Knobs::default()
            },
        ),
        reject(
            "timestamp from unknown TSA",
            "observed times step",
            "not signed by a timestamp authority in the trusted root",
            Knobs {
                timestamp: TimestampMode::UnknownAuthority,
                ..Knobs::default()
            },
        ),
        reject(
            "timestamp outside cert validity",
            "certificate chain step",
            "certificate is not valid at",
            Knobs {
                timestamp: TimestampMode::OutsideCertValidity,
                ..Knobs::default()
            },
        ),
        reject(
            "bad signature",
            "signature step",
            "signature does not verify against the artifact",
            Knobs {
                bad_signature: true,
                ..Knobs::default()
            },
        ),
    ];
    let bad = opts().with_knobs(Knobs {
        bad_signature: true,
        ..Knobs::default()
    });
    cases.push(Reject {
        name: "attestation with bad signature",
        step: "signature step",
        detail: "signature does not verify",
        bundle: attest(&mut inst, &Predicate::Spdx(vec![]), &bad),
    });
    assert_rejected(&inst, &cases, ARTIFACT, &Signer::Minted);
}

#[test]
fn wrong_artifact_or_key_is_rejected() {
    let mut inst = instance();
    let signature = Reject {
        name: "message signature over another artifact",
        step: "signature step",
        detail: "bundle's message digest does not match the artifact",
        bundle: inst.sign_blob(ARTIFACT, &opts()).unwrap(),
    };
    let attestation = Reject {
        name: "attestation about another artifact",
        step: "DSSE subject step",
        detail: "no in-toto subject has the artifact's SHA-256",
        bundle: attest(&mut inst, &Predicate::SlsaV1(provenance()), &opts()),
    };
    assert_rejected(
        &inst,
        &[signature, attestation],
        b"something else\n",
        &Signer::Minted,
    );

    let managed = inst.managed_key("release");
    let other = inst.managed_key("other");
    let keyed = inst
        .sign_blob_with_key(ARTIFACT, &managed, &opts())
        .unwrap();
    let wrong_key = Reject {
        name: "managed-key signature checked against another key",
        step: "signature step",
        detail: "signature does not verify against the artifact",
        bundle: keyed.clone(),
    };
    assert_rejected(
        &inst,
        &[wrong_key],
        ARTIFACT,
        &Signer::Key(other.public_pem().unwrap()),
    );
    let no_key = Reject {
        name: "managed-key signature checked against an identity",
        step: "material step",
        detail: "no key was given",
        bundle: keyed,
    };
    assert_rejected(&inst, &[no_key], ARTIFACT, &Signer::Minted);
}
