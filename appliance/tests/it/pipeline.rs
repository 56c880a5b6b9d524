//! The import pipeline end to end: archives built by the bundler from the testkit's private
//! Sigstore, imported into a real appliance (SQLite, files), every verdict and reason
//! asserted.

use airlock_appliance::pipeline::Verdict;
use airlock_appliance::store::{self, ImportState};
use airlock_appliance::{audit, vsa};
use airlock_tests::ArtifactPlan;
use base64::Engine as _;

use crate::site::Site;

#[test]
fn a_good_archive_is_released_with_signed_summaries_and_an_audit_trail() {
    let mut site = Site::new(101);
    let archive = site
        .world
        .archive(
            "good",
            1,
            &[
                ArtifactPlan::complete("tool-1.0.tar.gz", b"the tool, version 1.0\n"),
                ArtifactPlan::signed("notes.txt", b"release notes\n"),
            ],
            None,
        )
        .unwrap();
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    let verdicts: Vec<_> = outcome.artifacts.iter().map(|a| a.verdict).collect();
    assert_eq!(verdicts, [Verdict::Passed, Verdict::Passed], "{outcome:?}");

    // Released atomically under released/<import>/, the original kept, staging gone.
    let data = site.data();
    let id = outcome.import_id;
    let released = data.join(&outcome.artifacts[0].location).join("a1.bin");
    assert_eq!(std::fs::read(released).unwrap(), b"the tool, version 1.0\n");
    assert!(data.join(format!("archive/{id}.airlock.tar.zst")).is_file());
    assert!(!data.join(format!("quarantine/{id}/.staging")).exists());
    assert!(!data.join(format!("released/.{id}.partial")).exists());

    // The signed VSA names the artifact and verifies under the appliance key.
    let store = site.app.store();
    let vsa_bytes = store::artifacts::vsa(store.read(), outcome.artifacts[0].id)
        .unwrap()
        .unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(&vsa_bytes).unwrap();
    assert_eq!(envelope["payloadType"], vsa::IN_TOTO_PAYLOAD_TYPE);
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let statement: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(statement["predicateType"], vsa::VSA_PREDICATE_TYPE);
    assert_eq!(statement["subject"][0]["name"], "tool-1.0.tar.gz");
    assert_eq!(statement["predicate"]["verificationResult"], "PASSED");
    let key_pem = site.app.public_key_pem();
    let key = {
        use ed25519_dalek::pkcs8::DecodePublicKey as _;
        ed25519_dalek::VerifyingKey::from_public_key_pem(&key_pem).unwrap()
    };
    let sig = base64::engine::general_purpose::STANDARD
        .decode(envelope["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
    key.verify_strict(
        &airlock_trust_root::pae(vsa::IN_TOTO_PAYLOAD_TYPE, &payload),
        &sig,
    )
    .unwrap();

    // The log head is witnessed, the TUF state saved, the chain intact.
    let heads = store::witness::heads(store.read()).unwrap();
    assert_eq!(heads.len(), 1);
    let trust = store::trust::list(store.read()).unwrap();
    assert!(trust[0].state.is_some());
    let chain = audit::verify(store.read()).unwrap().unwrap();
    let actions: Vec<String> = store::audit::page(store.read(), 0, 1000)
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    for expected in ["import.started", "trust.updated", "verdict", "import.done"] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
    assert_eq!(chain.rows as usize, actions.len());
}
