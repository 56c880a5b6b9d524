//! Cross-check: sigstore-python, an independent verifier, accepts the kit's good bundles and
//! rejects each negative knob.

use std::path::PathBuf;
use std::process::Command;

use airlock_tests::{
    CertValidity, CheckpointMode, Identity, Knobs, MintedBundle, Package, Predicate, Provenance,
    SctMode, SignOptions, TimestampMode,
};

use crate::common::{ISSUER, instance, opts};

fn sigstore_bin() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    crate::outside::installed_tool(
        &root.join("target/sigstore-venv/bin/sigstore"),
        "run tests/setup-sigstore-python.sh; CI does",
    )
}

/// Runs `sigstore verify identity --offline` and returns (success, stderr).
fn verify(bin: &PathBuf, config: &[u8], bundle: &MintedBundle, artifact: &[u8]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("trust_config.json");
    let art = dir.path().join("artifact");
    let b = dir.path().join("artifact.sigstore.json");
    std::fs::write(&cfg, config).unwrap();
    std::fs::write(&art, artifact).unwrap();
    std::fs::write(&b, &bundle.json).unwrap();
    let (id_flag, id) = match &bundle.identity {
        Identity::Uri(u) | Identity::Email(u) => ("--cert-identity", u.clone()),
    };
    let out = Command::new(bin)
        .arg("--trust-config")
        .arg(&cfg)
        .args(["verify", "identity", "--offline", "--bundle"])
        .arg(&b)
        .args([id_flag, &id, "--cert-oidc-issuer", &bundle.issuer])
        .arg(&art)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stderr)
}

const ARTIFACT: &[u8] = b"airlock release 1.0\n";

#[test]
fn sigstore_python_accepts_good_and_rejects_each_knob() {
    let Some(bin) = sigstore_bin() else { return };
    let mut inst = instance(11);
    let config = inst.client_trust_config_json().unwrap();

    let mut cases: Vec<(&str, Expect, MintedBundle)> = Vec::new();
    cases.push((
        "message signature",
        Expect::Pass,
        inst.sign_blob(ARTIFACT, &opts()).unwrap(),
    ));
    let knob_cases: Vec<(&str, Expect, Knobs)> = vec![
        (
            "expired certificate",
            Expect::Fail("cert is not valid"),
            Knobs {
                cert_validity: CertValidity::Expired,
                ..Knobs::default()
            },
        ),
        (
            "not-yet-valid certificate",
            Expect::Fail("cert is not valid"),
            Knobs {
                cert_validity: CertValidity::NotYetValid,
                ..Knobs::default()
            },
        ),
        (
            "wrong identity",
            Expect::Fail("SANs do not match"),
            Knobs {
                wrong_identity: Some(Identity::Uri("https://evil.test/x".into())),
                ..Knobs::default()
            },
        ),
        (
            "wrong issuer",
            Expect::Fail("OIDCIssuer does not match"),
            Knobs {
                wrong_issuer: Some("https://evil.test".into()),
                ..Knobs::default()
            },
        ),
        (
            "missing SCT",
            Expect::Fail("does not contain a signed certificate timestamp"),
            Knobs {
                sct: SctMode::Missing,
                ..Knobs::default()
            },
        ),
        (
            "bad SCT signature",
            Expect::Fail("SCT verify failed"),
            Knobs {
                sct: SctMode::BadSignature,
                ..Knobs::default()
            },
        ),
        (
            "SCT from unknown log",
            Expect::Fail("SCT verify failed"),
            Knobs {
                sct: SctMode::UnknownLog,
                ..Knobs::default()
            },
        ),
        (
            "tampered body",
            Expect::Fail("invalid root hash"),
            Knobs {
                tamper_body: true,
                ..Knobs::default()
            },
        ),
        (
            "wrong inclusion path",
            Expect::Fail("invalid root hash"),
            Knobs {
                wrong_inclusion_path: true,
                ..Knobs::default()
            },
        ),
        (
            "checkpoint from unknown key",
            Expect::Fail("checkpoint: Signature not"),
            Knobs {
                checkpoint: CheckpointMode::UnknownKey,
                ..Knobs::default()
            },
        ),
        (
            "timestamp over wrong message",
            Expect::IgnoredBySigstorePython,
            Knobs {
                timestamp: TimestampMode::WrongMessage,
                ..Knobs::default()
            },
        ),
        (
            "timestamp over wrong message, the only time evidence",
            Expect::Fail("not enough sources of verified time"),
            Knobs {
                timestamp: TimestampMode::WrongMessage,
                omit_promise: true,
                ..Knobs::default()
            },
        ),
        (
            "timestamp from unknown TSA",
            Expect::IgnoredBySigstorePython,
            Knobs {
                timestamp: TimestampMode::UnknownAuthority,
                ..Knobs::default()
            },
        ),
        (
            "timestamp from unknown TSA, the only time evidence",
            Expect::Fail("not enough sources of verified time"),
            Knobs {
                timestamp: TimestampMode::UnknownAuthority,
                omit_promise: true,
                ..Knobs::default()
            },
        ),
        (
            "timestamp outside cert validity",
            Expect::Fail("cert is not valid"),
            Knobs {
                timestamp: TimestampMode::OutsideCertValidity,
                ..Knobs::default()
            },
        ),
        (
            "bad signature",
            Expect::Fail("Signature is invalid for input"),
            Knobs {
                bad_signature: true,
                ..Knobs::default()
            },
        ),
    ];
    cases.push((
        "message signature with timestamp",
        Expect::Pass,
        inst.sign_blob(
            ARTIFACT,
            &opts().with_knobs(Knobs {
                timestamp: TimestampMode::Valid,
                ..Knobs::default()
            }),
        )
        .unwrap(),
    ));
    // The control for the two cases above: a good timestamp as the only time evidence passes.
    cases.push((
        "message signature with timestamp as the only time evidence",
        Expect::Pass,
        inst.sign_blob(
            ARTIFACT,
            &opts().with_knobs(Knobs {
                timestamp: TimestampMode::Valid,
                omit_promise: true,
                ..Knobs::default()
            }),
        )
        .unwrap(),
    ));
    let digest: [u8; 32] =
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(ARTIFACT)).into();
    let prov = Provenance {
        builder_id: "https://ci.airlock.test/builder".into(),
        build_type: "https://ci.airlock.test/buildtypes/release/v1".into(),
        source_uri: "git+https://git.airlock.test/org/repo".into(),
        source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
    };
    let prov_v1 = prov.clone();
    let pkgs = vec![Package {
        name: "libfoo".into(),
        version: "1.2.3".into(),
    }];
    for (name, p) in [
        ("SLSA v1 attestation", Predicate::SlsaV1(prov.clone())),
        ("SLSA v0.2 attestation", Predicate::SlsaV02(prov.clone())),
        ("CycloneDX attestation", Predicate::CycloneDx(pkgs.clone())),
        ("SPDX attestation", Predicate::Spdx(pkgs)),
    ] {
        cases.push((
            name,
            Expect::Pass,
            inst.attest("artifact", digest, &p, &opts()).unwrap(),
        ));
    }
    let stamped = opts().with_knobs(Knobs {
        timestamp: TimestampMode::Valid,
        ..Knobs::default()
    });
    cases.push((
        "SLSA v1 attestation with timestamp",
        Expect::Pass,
        inst.attest("artifact", digest, &Predicate::SlsaV1(prov_v1), &stamped)
            .unwrap(),
    ));
    cases.push((
        "signature by a person (email SAN)",
        Expect::Pass,
        inst.sign_blob(ARTIFACT, &SignOptions::person("dev@airlock.test", ISSUER))
            .unwrap(),
    ));
    for (name, expect, knobs) in knob_cases {
        cases.push((
            name,
            expect,
            inst.sign_blob(ARTIFACT, &opts().with_knobs(knobs.clone()))
                .unwrap(),
        ));
    }
    cases.push((
        "attestation with bad signature",
        Expect::Fail("DSSE: invalid signature"),
        inst.attest(
            "artifact",
            digest,
            &Predicate::Spdx(vec![]),
            &opts().with_knobs(Knobs {
                bad_signature: true,
                ..Knobs::default()
            }),
        )
        .unwrap(),
    ));

    let mut failures = Vec::new();
    for (name, expect, bundle) in &cases {
        let (ok, stderr) = verify(&bin, &config, bundle, ARTIFACT);
        let said = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!(
            "{name}: expected {expect:?}, sigstore-python {}",
            if ok { "passed" } else { "failed" }
        );
        let agrees = match expect {
            Expect::Pass | Expect::IgnoredBySigstorePython => ok,
            Expect::Fail(why) => !ok && said.contains(why),
        };
        if !agrees {
            failures.push(format!("{name}: expected {expect:?}, got ok={ok}: {said}"));
        }
    }
    assert!(
        failures.is_empty(),
        "sigstore-python disagreed:\n{}",
        failures.join("\n")
    );
}

/// What sigstore-python should say about a bundle.
#[derive(Debug)]
enum Expect {
    Pass,
    /// Rejected, with this text in the message.
    Fail(&'static str),
    /// A broken RFC 3161 timestamp: sigstore-python drops timestamps it cannot verify and
    /// relies on the log's integrated time, so it accepts the bundle. Airlock's verifier, which
    /// treats a present but invalid timestamp as an error, must reject it.
    IgnoredBySigstorePython,
}
