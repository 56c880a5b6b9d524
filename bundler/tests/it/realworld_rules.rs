//! `verify-bundle` on the shapes real Sigstore deployments produce (issue 15), minted by the
//! testkit's [`Shape`]s: v0.1/v0.2 bundles with certificate chains, promise-only entries,
//! `intoto 0.0.2` and Rekor v2 `dsse 0.0.2` entries, legacy cosign `rekord 0.0.1` and `intoto
//! 0.0.1` entries, subjects named by SHA-384/512, P-384 and P-521 leaves, and leaf
//! certificates with odd extensions. Each test names the rule it holds the verifier to: accepted shapes exit 0, the others exit 1 with one stderr line naming the
//! step (or `bundle:` for what the parser refuses).

use airlock_tests::{
    BundleVersion, CertificateMaterial, DigestAlgorithm, EntryFault, EntryKind,
    FOREIGN_OTHERNAME_OID, FULCIO_OTHERNAME_OID, Instance, KeyAlgorithm, Knobs, LeafQuirks,
    LegacyKind, MintedBundle, Predicate, ProofShape, Provenance, SanForm, Shape, SignOptions,
    TimestampMode, simple_signing_payload,
};
use chrono::DateTime;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};

use crate::testkit_bundles::{Run, Signer};

const IDENTITY: &str = "https://ci.airlock.test/org/repo/.ci/release.yml@refs/heads/main";
const ISSUER: &str = "https://token.ci.airlock.test";
const ARTIFACT: &[u8] = b"airlock release 1.0\n";
const OTHER_ARTIFACT: &[u8] = b"something else\n";

/// A fresh private Sigstore; 2026-01-15T12:00:00Z is when it makes its first signature.
fn instance() -> Instance {
    Instance::new(15, DateTime::from_timestamp(1_768_478_400, 0).unwrap()).unwrap()
}

/// Signing options for [`IDENTITY`] with `shape` and `knobs`.
fn shaped(shape: Shape, knobs: Knobs) -> SignOptions {
    SignOptions::workload(IDENTITY, ISSUER)
        .with_shape(shape)
        .with_knobs(knobs)
}

fn provenance() -> Predicate {
    Predicate::SlsaV1(Provenance {
        builder_id: "https://ci.airlock.test/builder".into(),
        build_type: "https://ci.airlock.test/buildtypes/release/v1".into(),
        source_uri: "git+https://git.airlock.test/org/repo".into(),
        source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
    })
}

/// An attestation about [`ARTIFACT`] whose subject names it by `algorithms`.
fn attest(
    inst: &mut Instance,
    algorithms: &[DigestAlgorithm],
    shape: Shape,
    knobs: Knobs,
) -> MintedBundle {
    inst.attest_bytes(
        "artifact",
        ARTIFACT,
        algorithms,
        &provenance(),
        &shaped(shape, knobs),
    )
    .unwrap()
}

/// A message signature over [`ARTIFACT`].
fn sign(inst: &mut Instance, shape: Shape, knobs: Knobs) -> MintedBundle {
    inst.sign_blob(ARTIFACT, &shaped(shape, knobs)).unwrap()
}

/// The v0.2 `intoto 0.0.2` shape of rule 1.
fn intoto_shape() -> Shape {
    Shape {
        version: BundleVersion::V0_2,
        material: CertificateMaterial::ChainLeaf,
        entry: EntryKind::Intoto002,
        ..Shape::default()
    }
}

/// The bundle's first log entry body, decoded.
fn entry_body(bundle: &MintedBundle) -> Value {
    use base64::Engine;
    let json: Value = serde_json::from_slice(&bundle.json).unwrap();
    let b64 = json["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
        .as_str()
        .unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// Runs `airlock-bundler verify-bundle` on `bundle` (and `artifact`, or `sha256:` of the
/// bundle's subject when `None`), requiring the identity and issuer it was minted for.
fn verify(inst: &Instance, bundle: &MintedBundle, artifact: Option<&[u8]>, extra: &[&str]) -> Run {
    crate::testkit_bundles::verify(inst, bundle, artifact, &Signer::Minted, extra)
}

/// Exit 0 with nothing on stderr.
fn assert_verified(run: &Run, case: &str) {
    eprintln!("{case}: exit {:?}: {}", run.code, run.stderr.trim_end());
    assert!(
        run.code == Some(0) && run.stderr.is_empty(),
        "{case}: expected exit 0, got exit {:?}: {}",
        run.code,
        run.stderr
    );
}

/// Exit 1 with exactly one stderr line `airlock-bundler verify-bundle: <prefix>...` that
/// contains every one of `details`.
fn assert_rejected(run: &Run, case: &str, prefix: &str, details: &[&str]) {
    eprintln!("{case}: exit {:?}: {}", run.code, run.stderr.trim_end());
    let expected = format!("airlock-bundler verify-bundle: {prefix}");
    let ok = run.code == Some(1)
        && run.stderr.lines().count() == 1
        && run.stderr.starts_with(&expected)
        && details.iter().all(|d| run.stderr.contains(d));
    assert!(
        ok,
        "{case}: expected exit 1 with one line starting {expected:?} containing {details:?}, \
         got exit {:?}: {}",
        run.code, run.stderr
    );
}

/// The `--json` report of a run that must have verified.
fn report(run: &Run, case: &str) -> Value {
    assert_verified(run, case);
    serde_json::from_str(&run.stdout).unwrap()
}

// Rule 1: an `intoto 0.0.2` entry records the envelope without its payload; the verifier
// matches it by payload hash and signature.

#[test]
fn intoto_v002_entry_without_payload_verifies() {
    let mut inst = instance();
    let bundle = attest(
        &mut inst,
        &[DigestAlgorithm::Sha256],
        intoto_shape(),
        Knobs::default(),
    );
    let body = entry_body(&bundle);
    assert_eq!(body["kind"], "intoto");
    assert_eq!(body["spec"]["content"]["envelope"].get("payload"), None);
    let file = verify(&inst, &bundle, Some(ARTIFACT), &[]);
    assert_verified(&file, "intoto 0.0.2, file");
    let digest = verify(&inst, &bundle, None, &[]);
    assert_verified(&digest, "intoto 0.0.2, sha256: form");
}

#[test]
fn intoto_v002_entry_with_wrong_payload_hash_is_rejected() {
    let mut inst = instance();
    let bundle = attest(
        &mut inst,
        &[DigestAlgorithm::Sha256],
        intoto_shape(),
        Knobs {
            wrong_entry_payload_hash: true,
            ..Knobs::default()
        },
    );
    let run = verify(&inst, &bundle, Some(ARTIFACT), &[]);
    assert_rejected(
        &run,
        "intoto 0.0.2 with another payload hash",
        "log entry step: ",
        &["payload hash"],
    );
}

#[test]
fn intoto_v002_entry_with_other_signature_is_rejected() {
    let mut inst = instance();
    let bundle = attest(
        &mut inst,
        &[DigestAlgorithm::Sha256],
        intoto_shape(),
        Knobs {
            wrong_entry_signature: true,
            ..Knobs::default()
        },
    );
    let run = verify(&inst, &bundle, Some(ARTIFACT), &[]);
    assert_rejected(
        &run,
        "intoto 0.0.2 recording another signature",
        "log entry step: ",
        &[],
    );
}

// Rule 2: an in-toto subject may name the artifact by SHA-384 or SHA-512 only; a file is hashed
// with the subject's algorithm, a `sha256:` digest cannot match it. hashedrekord entries may
// record SHA-384 / SHA-512 digests.

#[test]
fn subject_with_only_sha512_matches_the_file_not_a_sha256_digest() {
    let mut inst = instance();
    let bundle = attest(
        &mut inst,
        &[DigestAlgorithm::Sha512],
        Shape::default(),
        Knobs::default(),
    );
    assert_verified(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "sha512 subject, file",
    );
    assert_rejected(
        &verify(&inst, &bundle, None, &[]),
        "sha512 subject, sha256: form",
        "DSSE subject step: ",
        &[],
    );
}

#[test]
fn subject_with_only_sha384_matches_the_file() {
    let mut inst = instance();
    let bundle = attest(
        &mut inst,
        &[DigestAlgorithm::Sha384],
        Shape::default(),
        Knobs::default(),
    );
    assert_verified(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "sha384 subject, file",
    );
}

/// A message signature by a `key` leaf over the `digest` of [`ARTIFACT`] verifies for that
/// artifact and no other.
fn assert_hashedrekord_verifies_only_its_artifact(key: KeyAlgorithm, digest: DigestAlgorithm) {
    let mut inst = instance();
    let case = format!("{key:?} over {digest:?}");
    let shape = Shape {
        key,
        message_digest: digest,
        ..Shape::default()
    };
    let bundle = sign(&mut inst, shape, Knobs::default());
    assert_verified(&verify(&inst, &bundle, Some(ARTIFACT), &[]), &case);
    assert_rejected(
        &verify(&inst, &bundle, Some(OTHER_ARTIFACT), &[]),
        &format!("{case}, another artifact"),
        "signature step: ",
        &[],
    );
}

#[test]
fn hashedrekord_p384_with_sha384_verifies_only_its_artifact() {
    assert_hashedrekord_verifies_only_its_artifact(KeyAlgorithm::P384, DigestAlgorithm::Sha384);
}

#[test]
fn hashedrekord_p521_with_sha512_verifies_only_its_artifact() {
    assert_hashedrekord_verifies_only_its_artifact(KeyAlgorithm::P521, DigestAlgorithm::Sha512);
}

// Rule 3: the message digest's algorithm is the bundle's, not the key's: a P-384 key may sign a
// SHA-256 digest.

#[test]
fn p384_key_over_sha256_digest_verifies() {
    let mut inst = instance();
    let shape = Shape {
        key: KeyAlgorithm::P384,
        message_digest: DigestAlgorithm::Sha256,
        ..Shape::default()
    };
    let bundle = sign(&mut inst, shape, Knobs::default());
    assert_verified(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "P-384 over SHA-256, file",
    );
    assert_verified(
        &verify(&inst, &bundle, None, &[]),
        "P-384 over SHA-256, sha256: form",
    );
}

// Rule 4: v0.1/v0.2 chains are ignored past the leaf (the trusted root decides the path), and
// the report names what was ignored; a chain out of order is malformed.

fn v01_chain(material: CertificateMaterial) -> Shape {
    Shape {
        version: BundleVersion::V0_1,
        material,
        ..Shape::default()
    }
}

#[test]
fn v01_chain_to_root_verifies_and_reports_the_ignored_certificates() {
    let mut inst = instance();
    let bundle = sign(
        &mut inst,
        v01_chain(CertificateMaterial::ChainToRoot),
        Knobs::default(),
    );
    let report = report(
        &verify(&inst, &bundle, Some(ARTIFACT), &["--json"]),
        "v0.1 [leaf, intermediate, root]",
    );
    let ignored = report["ignored_chain_certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no ignored_chain_certificates array in {report:#}"));
    assert!(!ignored.is_empty(), "{report:#}");
    for cert in ignored {
        let subject = cert["subject"]
            .as_str()
            .unwrap_or_else(|| panic!("no subject string in {cert}"));
        let self_signed = cert["self_signed"]
            .as_bool()
            .unwrap_or_else(|| panic!("no self_signed boolean in {cert}"));
        assert_eq!(self_signed, subject.contains("airlock-test-root"), "{cert}");
    }
    assert!(
        ignored
            .iter()
            .any(|c| c["self_signed"] == true && c["subject"].as_str().is_some()),
        "the root is among the ignored certificates: {report:#}"
    );
}

#[test]
fn v01_chain_of_the_leaf_alone_ignores_nothing() {
    let mut inst = instance();
    let bundle = sign(
        &mut inst,
        v01_chain(CertificateMaterial::ChainLeaf),
        Knobs::default(),
    );
    let report = report(
        &verify(&inst, &bundle, Some(ARTIFACT), &["--json"]),
        "v0.1 [leaf]",
    );
    match report.get("ignored_chain_certificates") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => assert!(a.is_empty(), "{report:#}"),
        Some(other) => panic!("ignored_chain_certificates is {other}"),
    }
}

#[test]
fn chain_out_of_order_is_rejected_at_parse() {
    let mut inst = instance();
    let bundle = sign(
        &mut inst,
        v01_chain(CertificateMaterial::ChainOutOfOrder),
        Knobs::default(),
    );
    assert_rejected(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "v0.1 [leaf, root, intermediate]",
        "bundle: ",
        &["out of order"],
    );
}

// Rule 5: a v0.3 bundle carries its leaf as `certificate`, never as a chain.

#[test]
fn v03_bundle_with_certificate_chain_is_rejected() {
    let mut inst = instance();
    let shape = Shape {
        material: CertificateMaterial::ChainLeaf,
        ..Shape::default()
    };
    let bundle = sign(&mut inst, shape, Knobs::default());
    assert_rejected(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "v0.3 with x509CertificateChain",
        "bundle: ",
        &["v0.3"],
    );
}

// Rule 6: an inclusion proof is only checkable against a checkpoint, in any version.

#[test]
fn inclusion_proof_without_checkpoint_is_rejected() {
    let mut inst = instance();
    for (case, version, material) in [
        (
            "v0.1 with SET",
            BundleVersion::V0_1,
            CertificateMaterial::ChainLeaf,
        ),
        (
            "v0.3",
            BundleVersion::V0_3,
            CertificateMaterial::Certificate,
        ),
    ] {
        let shape = Shape {
            version,
            material,
            proof: ProofShape::ProofWithoutCheckpoint,
            ..Shape::default()
        };
        let bundle = sign(&mut inst, shape, Knobs::default());
        assert_rejected(
            &verify(&inst, &bundle, Some(ARTIFACT), &[]),
            case,
            "bundle: ",
            &["checkpoint"],
        );
    }
}

// Rule 7: Rekor v2 `dsse 0.0.2` entries are not understood, and the rejection says so.

#[test]
fn rekor_v2_dsse_v002_entry_is_rejected_by_name() {
    let mut inst = instance();
    let shape = Shape {
        entry: EntryKind::Dsse002,
        ..Shape::default()
    };
    let knobs = Knobs {
        omit_promise: true,
        timestamp: TimestampMode::Valid,
        ..Knobs::default()
    };
    let bundle = attest(&mut inst, &[DigestAlgorithm::Sha256], shape, knobs);
    assert_rejected(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "dsse 0.0.2 entry",
        "log entry step: ",
        &["dsse 0.0.2"],
    );
}

// Rule 8: a v0.1 entry proven by its signed entry timestamp alone is enough, and the report
// says which proof it rested on.

#[test]
fn v01_promise_only_is_proven_by_the_signed_entry_timestamp() {
    let mut inst = instance();
    let shape = Shape {
        proof: ProofShape::PromiseOnly,
        ..v01_chain(CertificateMaterial::ChainLeaf)
    };
    let bundle = sign(&mut inst, shape, Knobs::default());
    let report = report(
        &verify(&inst, &bundle, Some(ARTIFACT), &["--json"]),
        "v0.1 SET only",
    );
    assert_eq!(
        report["log_entries"][0]["proven_by"], "signed-entry-timestamp",
        "{report:#}"
    );
}

#[test]
fn v03_entry_is_proven_by_the_inclusion_proof() {
    let mut inst = instance();
    let bundle = sign(&mut inst, Shape::default(), Knobs::default());
    let report = report(&verify(&inst, &bundle, Some(ARTIFACT), &["--json"]), "v0.3");
    assert_eq!(
        report["log_entries"][0]["proven_by"], "inclusion-proof",
        "{report:#}"
    );
}

// Rule 9: every timestamp in a bundle must verify, even when the SET alone would suffice.

#[test]
fn timestamp_from_unknown_authority_is_rejected_even_when_the_set_suffices() {
    let mut inst = instance();
    let shape = Shape {
        proof: ProofShape::PromiseOnly,
        ..v01_chain(CertificateMaterial::ChainLeaf)
    };
    let knobs = Knobs {
        timestamp: TimestampMode::UnknownAuthority,
        ..Knobs::default()
    };
    let bundle = sign(&mut inst, shape, knobs);
    assert_rejected(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "v0.1 SET only with an unknown TSA's timestamp",
        "observed times step: timestamp 0",
        &[],
    );
}

// Rule 10: identities come from the SAN forms Fulcio issues; unknown critical extensions and a
// TBS whose signature algorithm disagrees with the certificate's are rejected.

fn leaf(leaf: LeafQuirks) -> Shape {
    Shape {
        leaf,
        ..Shape::default()
    }
}

#[test]
fn othername_san_under_a_foreign_oid_is_not_an_identity() {
    let mut inst = instance();
    let shape = leaf(LeafQuirks {
        san: SanForm::OtherName(FOREIGN_OTHERNAME_OID),
        ..LeafQuirks::default()
    });
    let bundle = sign(&mut inst, shape, Knobs::default());
    assert_rejected(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "otherName SAN under 1.3.6.1.4.1.99999.1",
        "identity step: ",
        &[],
    );
}

#[test]
fn fulcio_othername_san_is_an_identity() {
    let mut inst = instance();
    let shape = leaf(LeafQuirks {
        san: SanForm::OtherName(FULCIO_OTHERNAME_OID),
        ..LeafQuirks::default()
    });
    let bundle = sign(&mut inst, shape, Knobs::default());
    assert_verified(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "Fulcio otherName SAN",
    );
}

#[test]
fn unknown_critical_extension_is_rejected() {
    let mut inst = instance();
    let shape = leaf(LeafQuirks {
        unknown_critical_extension: true,
        ..LeafQuirks::default()
    });
    let bundle = sign(&mut inst, shape, Knobs::default());
    assert_rejected(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "unknown critical extension",
        "certificate chain step: ",
        &["critical extension"],
    );
}

#[test]
fn inner_and_outer_signature_algorithms_must_agree() {
    let mut inst = instance();
    let shape = leaf(LeafQuirks {
        inner_signature_algorithm_mismatch: true,
        ..LeafQuirks::default()
    });
    let bundle = sign(&mut inst, shape, Knobs::default());
    assert_rejected(
        &verify(&inst, &bundle, Some(ARTIFACT), &[]),
        "TBS ecdsa-with-SHA384, outer ecdsa-with-SHA256",
        "certificate chain step: ",
        &["signature algorithm"],
    );
}

// The report names the artifact digest by the algorithm it was matched with.

#[test]
fn json_report_names_the_artifact_digest_algorithm() {
    let mut inst = instance();
    let normal = sign(&mut inst, Shape::default(), Knobs::default());
    let report_256 = report(
        &verify(&inst, &normal, Some(ARTIFACT), &["--json"]),
        "normal bundle",
    );
    assert_eq!(
        report_256["artifact_digest"],
        serde_json::json!({"algorithm": "sha256", "hex": hex::encode(Sha256::digest(ARTIFACT))}),
        "{report_256:#}"
    );
    let sha512 = attest(
        &mut inst,
        &[DigestAlgorithm::Sha512],
        Shape::default(),
        Knobs::default(),
    );
    let report_512 = report(
        &verify(&inst, &sha512, Some(ARTIFACT), &["--json"]),
        "sha512 subject",
    );
    assert_eq!(
        report_512["artifact_digest"],
        serde_json::json!({"algorithm": "sha512", "hex": hex::encode(Sha512::digest(ARTIFACT))}),
        "{report_512:#}"
    );
}

// Rule 11: legacy cosign evidence is logged as `rekord 0.0.1` (`cosign sign` before
// hashedrekord: the payload's SHA-256, the signature, the certificate) or `intoto 0.0.1`
// (`cosign attest`: the payload's hash and the certificate, no signature); each is matched
// field by field, by inclusion proof or by its SET alone.

/// A cosign `.sig` layer over a simple-signing payload and a `.att` layer about [`ARTIFACT`],
/// logged again as `rekord 0.0.1` and `intoto 0.0.1` with `fault` recorded in the entry.
/// Returns the signed payload and the two layers' bundles.
fn legacy(inst: &mut Instance, fault: Option<EntryFault>) -> (Vec<u8>, MintedBundle, MintedBundle) {
    let reference = "registry.airlock.test/app";
    let subject: [u8; 32] = Sha256::digest(ARTIFACT).into();
    let payload = simple_signing_payload(reference, &format!("sha256:{}", hex::encode(subject)));
    let opts = shaped(Shape::default(), Knobs::default());
    let sig = inst.cosign_sign(&payload, &opts).unwrap();
    let att = inst
        .cosign_attest(reference, subject, &provenance(), &opts)
        .unwrap();
    let sig = inst.cosign_relog(&sig, LegacyKind::Rekord, fault).unwrap();
    let att = inst
        .cosign_relog(&att, LegacyKind::Intoto001, fault)
        .unwrap();
    (payload, sig.minted, att.minted)
}

/// `bundle` without its entry's inclusion proof, as cosign's annotations carry it.
fn promise_only(bundle: &MintedBundle) -> MintedBundle {
    let mut json: Value = serde_json::from_slice(&bundle.json).unwrap();
    json["verificationMaterial"]["tlogEntries"][0]
        .as_object_mut()
        .unwrap()
        .remove("inclusionProof");
    MintedBundle {
        json: serde_json::to_vec(&json).unwrap(),
        ..bundle.clone()
    }
}

#[test]
fn legacy_rekord_and_intoto_v001_entries_verify_by_proof_and_by_their_set_alone() {
    let mut inst = instance();
    let (payload, sig, att) = legacy(&mut inst, None);
    assert_eq!(entry_body(&sig)["kind"], "rekord");
    assert_eq!(entry_body(&att)["spec"]["content"].get("envelope"), None);
    for (case, bundle, artifact, kind, proven_by) in [
        ("rekord", &sig, &payload[..], "rekord", "inclusion-proof"),
        (
            "rekord, SET",
            &promise_only(&sig),
            &payload[..],
            "rekord",
            "signed-entry-timestamp",
        ),
        ("intoto 0.0.1", &att, ARTIFACT, "intoto", "inclusion-proof"),
        (
            "intoto 0.0.1, SET",
            &promise_only(&att),
            ARTIFACT,
            "intoto",
            "signed-entry-timestamp",
        ),
    ] {
        let report = report(&verify(&inst, bundle, Some(artifact), &["--json"]), case);
        let entry = &report["log_entries"][0];
        assert_eq!(
            (&entry["kind"], &entry["version"], &entry["proven_by"]),
            (&kind.into(), &"0.0.1".into(), &proven_by.into()),
            "{case}"
        );
    }
}

#[test]
fn legacy_entries_recording_another_digest_signature_or_signer_are_rejected_by_name() {
    let mut inst = instance();
    for (fault, rekord, detail) in [
        (
            EntryFault::Digest,
            true,
            "logged artifact digest differs from the artifact",
        ),
        (
            EntryFault::Signature,
            true,
            "logged signature differs from the bundle's",
        ),
        (
            EntryFault::PublicKey,
            true,
            "logged certificate or key differs from the bundle's",
        ),
        (
            EntryFault::PayloadHash,
            false,
            "logged payload hash differs from the DSSE payload",
        ),
        (
            EntryFault::PublicKey,
            false,
            "logged certificate or key differs from the bundle's",
        ),
    ] {
        let (payload, sig, att) = legacy(&mut inst, Some(fault));
        let (bundle, artifact) = if rekord {
            (sig, &payload[..])
        } else {
            (att, ARTIFACT)
        };
        let run = verify(&inst, &bundle, Some(artifact), &[]);
        let case = format!(
            "{fault:?} in {}",
            if rekord { "rekord" } else { "intoto 0.0.1" }
        );
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (
                Some(1),
                format!("airlock-bundler verify-bundle: log entry step: tlog entry 0: {detail}\n")
                    .as_str()
            ),
            "{case}"
        );
    }
}
