//! The verifier's real-world rules in the appliance's import: a real npm tarball with its real
//! provenance (in-toto subject by SHA-512 only, v0.1 promise-only entry, chain with the
//! public-good root), and testkit provenance logged as `intoto 0.0.2` or naming the artifact
//! by SHA-512 only, each packed by the bundler and imported offline.

use std::path::PathBuf;

use airlock_appliance::pipeline::Verdict;
use airlock_appliance::store::ImportState;
use airlock_tests::{ArtifactPlan, DigestAlgorithm, EntryKind, Shape};
use serde_json::Value;

use crate::site::{BASE_POLICY, Site};

const PUBLIC_GOOD_ROOT: &str = "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json";
const NPM_CASE: &str = "sigstore-realworld/npm-provenance-npm-test-ossf-provenance";

/// The shared test data (skipped with a reason when absent; under CI it must exist).
fn testdata() -> Option<PathBuf> {
    crate::outside::shared_testdata(NPM_CASE)?;
    crate::outside::shared_testdata("")
}

/// `ours` with every authority and log of `other` added, as one trusted root.
fn merged_root(ours: &[u8], other: &[u8]) -> Vec<u8> {
    let mut ours: Value = serde_json::from_slice(ours).unwrap();
    let other: Value = serde_json::from_slice(other).unwrap();
    for list in [
        "certificateAuthorities",
        "tlogs",
        "ctlogs",
        "timestampAuthorities",
    ] {
        if let Some(items) = other[list].as_array() {
            let mine = ours[list].as_array_mut().unwrap();
            mine.extend(items.iter().cloned());
        }
    }
    serde_json::to_vec(&ours).unwrap()
}

#[test]
fn a_real_npm_tarball_with_its_sha512_only_provenance_passes() {
    let Some(testdata) = testdata() else {
        return;
    };
    let case = testdata.join(NPM_CASE);
    let meta: Value =
        serde_json::from_slice(&std::fs::read(case.join("meta.json")).unwrap()).unwrap();
    let tarball = std::fs::read(case.join("artifact")).unwrap();
    let bundle = std::fs::read(case.join("bundle.sigstore.json")).unwrap();

    let mut site = Site::new(301);
    // The site trusts the public-good instance besides its own, through the carried TUF.
    let public_good = std::fs::read(testdata.join(PUBLIC_GOOD_ROOT)).unwrap();
    let merged = merged_root(
        &site.world.sigstore.trusted_root_json().unwrap(),
        &public_good,
    );
    site.world
        .rewrite_tuf(|builder| builder.trusted_root(merged))
        .unwrap();
    site.policy(&format!(
        "{BASE_POLICY}\n[[signer]]\nname = \"npm-provenance\"\nissuer = {}\nsubject = {}\n",
        meta["issuer"], meta["identity"]
    ));

    let archive = site.archive(
        "npm",
        1,
        &[ArtifactPlan::with_bundles(
            "provenance-npm-test-1.0.5.tgz",
            &tarball,
            vec![bundle],
        )],
    );
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(
        outcome.artifacts[0].verdict,
        Verdict::Passed,
        "{:?}",
        outcome.artifacts[0]
    );

    // The report says how: the subject's SHA-512, the bundle's root ignored, a promise only.
    let report = site.report(outcome.artifacts[0].id);
    let check = &report["signatures"][0];
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["report"]["artifact_digest"]["algorithm"], "sha512");
    let ignored = check["report"]["ignored_chain_certificates"]
        .as_array()
        .unwrap();
    assert!(
        ignored.iter().any(|c| c["self_signed"] == true),
        "{ignored:?}"
    );
    assert_eq!(
        check["report"]["log_entries"][0]["proven_by"],
        "signed-entry-timestamp"
    );
    assert_eq!(check["witnessed"][0]["by"], "promise");
}

#[test]
fn provenance_logged_as_intoto_or_naming_only_the_sha512_passes() {
    let mut site = Site::new(302);
    let intoto = ArtifactPlan {
        provenance_form: (
            Shape {
                entry: EntryKind::Intoto002,
                ..Shape::default()
            },
            Vec::new(),
        ),
        ..ArtifactPlan::complete("generator-built.bin", b"built by the generator\n")
    };
    let sha512 = ArtifactPlan {
        provenance_form: (Shape::default(), vec![DigestAlgorithm::Sha512]),
        ..ArtifactPlan::complete("npm-style.tgz", b"a package\n")
    };
    let archive = site.archive("provenance", 1, &[intoto, sha512]);
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    for artifact in &outcome.artifacts {
        assert_eq!(artifact.verdict, Verdict::Passed, "{artifact:?}");
        let report = site.report(artifact.id);
        assert_eq!(report["attestations"][0]["ok"], true, "{report}");
    }
    let second = site.report(outcome.artifacts[1].id);
    assert_eq!(
        second["attestations"][0]["report"]["artifact_digest"]["algorithm"],
        "sha512"
    );
    let first = site.report(outcome.artifacts[0].id);
    assert_eq!(
        first["attestations"][0]["report"]["log_entries"][0]["kind"],
        "intoto"
    );
}
