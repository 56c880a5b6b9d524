//! The import pipeline end to end: archives built by the bundler from the testkit's private
//! Sigstore, imported into a real appliance (SQLite, files), every verdict and reason
//! asserted.

use airlock_appliance::inbox::Inbox;
use airlock_appliance::pipeline::{self, ImportOutcome, Verdict};
use airlock_appliance::report::ImportStep;
use airlock_appliance::store::{self, ImportState};
use airlock_appliance::{admin, audit, vsa};
use airlock_bundler::keys::KeyId;
use airlock_tests::{
    ArtifactPlan, BUILDER_ID, ISSUER, Instance, SOURCE_URI, SignOptions, Signing, TRUSTED_IDENTITY,
    TUF_NAME, UNTRUSTED_IDENTITY,
};
use base64::Engine as _;
use chrono::{DateTime, Duration, SecondsFormat, SubsecRound as _, Utc};
use ed25519_dalek::SigningKey;

use crate::site::{BASE_POLICY, Site};

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
    // A file artifact is released as one file named after the artifact.
    let released = data.join(&outcome.artifacts[0].location);
    assert_eq!(std::fs::read(released).unwrap(), b"the tool, version 1.0\n");
    assert!(data.join(format!("archive/{id}.airlock.tar.zst")).is_file());
    assert!(!data.join(format!("quarantine/{id}/.staging")).exists());
    assert!(!data.join(format!("released/.{id}.partial")).exists());
    // Every staged blob stays as evidence; released files are copies of it, not links.
    assert!(
        data.join(format!("quarantine/{id}/evidence/manifest.dsse.json"))
            .is_file()
    );
    {
        use std::os::unix::fs::MetadataExt as _;
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            b"the tool, version 1.0\n",
        ));
        let blob = data.join(format!("quarantine/{id}/evidence/blobs/sha256/{digest}"));
        let released = data.join(&outcome.artifacts[0].location);
        assert_ne!(
            std::fs::metadata(&blob).unwrap().ino(),
            std::fs::metadata(&released).unwrap().ino()
        );
        assert_eq!(
            std::fs::read(blob).unwrap(),
            std::fs::read(released).unwrap()
        );
    }

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
    for expected in [
        "import.started",
        "trust.updated",
        "verdict",
        "release",
        "import.done",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    assert_eq!(chain.rows as usize, actions.len());
}

/// The verdicts and reasons of an outcome, in manifest order.
fn verdicts(outcome: &ImportOutcome) -> Vec<(Verdict, Vec<String>)> {
    outcome
        .artifacts
        .iter()
        .map(|a| (a.verdict, a.reasons.clone()))
        .collect()
}

/// Asserts a rejected import: its reason, no artifacts, nothing left in quarantine or
/// released, the original kept, the state and reason stored.
fn assert_rejected(site: &Site, outcome: &ImportOutcome, reason: &str) {
    assert_eq!(outcome.state, ImportState::Rejected, "{outcome:?}");
    assert_eq!(outcome.reason.as_deref(), Some(reason), "{outcome:?}");
    assert!(outcome.artifacts.is_empty());
    let id = outcome.import_id;
    let data = site.data();
    assert!(!data.join(format!("quarantine/{id}")).exists());
    assert!(!data.join(format!("released/{id}")).exists());
    assert!(!data.join(format!("released/.{id}.partial")).exists());
    assert!(data.join(format!("archive/{id}.airlock.tar.zst")).is_file());
    let row = site.import_row(id);
    assert_eq!(row.state, ImportState::Rejected);
    assert_eq!(row.reason.as_deref(), Some(reason));
    assert!(site.artifacts(id).is_empty());
}

fn signed(name: &str) -> ArtifactPlan {
    ArtifactPlan::signed(name, format!("the bytes of {name}\n").as_bytes())
}

fn complete(name: &str) -> ArtifactPlan {
    ArtifactPlan::complete(name, format!("the bytes of {name}\n").as_bytes())
}

/// Every rendering of `f(t)` for the whole seconds `t` between `before` and `after`: the
/// appliance reads its clock between the two.
fn at_some_second(
    before: DateTime<Utc>,
    after: DateTime<Utc>,
    f: impl Fn(DateTime<Utc>) -> String,
) -> Vec<String> {
    let mut t = before.trunc_subsecs(0);
    let mut out = Vec::new();
    while t <= after {
        out.push(f(t));
        t += Duration::seconds(1);
    }
    out
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[test]
fn an_archive_signed_by_an_unknown_key_is_rejected_and_kept_as_evidence() {
    let mut site = Site::new(201);
    let genuine = site
        .world
        .archive("genuine", 1, &[signed("tool.tar.gz")], None)
        .unwrap();
    let stranger = SigningKey::from_bytes(&[0x5a; 32]);
    let forged = site
        .world
        .repack_signed_by(&genuine, "forged", |_| {}, &[&stranger])
        .unwrap();

    let outcome = site.import(&forged);
    let reason = format!(
        "archive: manifest is not signed by a trusted publisher key (signed by: {})",
        KeyId::of(&stranger.verifying_key())
    );
    assert_rejected(&site, &outcome, &reason);
    assert!(site.files("released").is_empty());
    assert_eq!(site.files("quarantine"), Vec::<String>::new());
    // The original is kept byte for byte, and the caller's copy stays where it was.
    let kept = site
        .data()
        .join(format!("archive/{}.airlock.tar.zst", outcome.import_id));
    assert_eq!(
        std::fs::read(kept).unwrap(),
        std::fs::read(&forged).unwrap()
    );
    let steps = store::imports::steps(site.app.store().read(), outcome.import_id).unwrap();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!((steps[0].step.as_str(), steps[0].ok), ("archive", false));
    let actions = site.audit_actions();
    assert!(
        actions.iter().any(|a| a == "import.rejected"),
        "{actions:?}"
    );
    assert!(!actions.iter().any(|a| a == "verdict"), "{actions:?}");
}

#[test]
fn a_publisher_key_only_vouches_for_its_own_publisher_while_enabled() {
    let mut site = Site::new(214);
    let key_id = KeyId::of(&site.world.publisher_key().unwrap().verifying_key()).to_string();
    let genuine = site.archive("genuine", 1, &[signed("tool.tar.gz")]);
    // Another publisher's name on an archive the release team's key signed.
    let impostor = site
        .world
        .repack(&genuine, "impostor", |m| m.publisher.name = "vendor".into())
        .unwrap();
    let outcome = site.import(&impostor);
    assert_rejected(
        &site,
        &outcome,
        &format!(
            "publisher: signed by key(s) {key_id} which do not belong to publisher \"vendor\""
        ),
    );

    // Two signatures required, one key trusted: no archive can meet it.
    admin::set_publisher_threshold(&site.app, "admin", 2).unwrap();
    let outcome = site.import(&genuine);
    assert_rejected(
        &site,
        &outcome,
        "archive: threshold 2 with 1 distinct key(s)",
    );
    admin::set_publisher_threshold(&site.app, "admin", 1).unwrap();

    // A disabled key is not trusted at all.
    admin::set_publisher_key_enabled(&site.app, "admin", &key_id, false).unwrap();
    let outcome = site.import(&genuine);
    assert_rejected(
        &site,
        &outcome,
        "archive: no trusted publisher keys are configured",
    );
    admin::set_publisher_key_enabled(&site.app, "admin", &key_id, true).unwrap();
    let outcome = site.import(&genuine);
    assert_eq!(verdicts(&outcome), [(Verdict::Passed, vec![])]);
    let actions = site.audit_actions();
    for expected in [
        "publisher.key_disabled",
        "publisher.key_enabled",
        "setting.changed",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[test]
fn a_replayed_or_older_sequence_number_is_rejected() {
    let mut site = Site::new(202);
    let first = site.archive("five", 5, &[signed("tool-5.tar.gz")]);
    let outcome = site.import(&first);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");

    let replayed = |n: u64| {
        format!(
            "publisher: sequence {n} of \"release-team\" is not above the last accepted (5): a replayed or out-of-order archive"
        )
    };
    // The very same file again, a new archive reusing 5, and an older one.
    let again = site.import(&first);
    assert_rejected(&site, &again, &replayed(5));
    let same = site.archive("five-again", 5, &[signed("tool-5b.tar.gz")]);
    let outcome = site.import(&same);
    assert_rejected(&site, &outcome, &replayed(5));
    let older = site.archive("four", 4, &[signed("tool-4.tar.gz")]);
    let outcome = site.import(&older);
    assert_rejected(&site, &outcome, &replayed(4));

    // The rejections did not move the sequence: 6 is accepted.
    let next = site.archive("six", 6, &[signed("tool-6.tar.gz")]);
    let outcome = site.import(&next);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    let publisher = store::publishers::get(site.app.store().read(), "release-team")
        .unwrap()
        .unwrap();
    assert_eq!(publisher.last_sequence, Some(6));
    site.audit_actions();
}

#[test]
fn created_at_older_than_the_transit_age_or_beyond_the_clock_skew_is_rejected() {
    let mut site = Site::new(203);
    site.set(pipeline::MAX_TRANSIT_AGE, "3600");
    let created = Utc::now().trunc_subsecs(0) - Duration::hours(2);
    let old = site
        .world
        .archive_at("old", 1, &[signed("tool.tar.gz")], None, created)
        .unwrap();
    let outcome = site.import(&old);
    let reason = format!(
        "publisher: created_at {} is older than the maximum transit age (3600 s)",
        rfc3339(created)
    );
    assert_rejected(&site, &outcome, &reason);

    // A larger limit admits it: the setting is read at every import.
    site.set(pipeline::MAX_TRANSIT_AGE, &(3 * 86_400).to_string());
    let outcome = site.import(&old);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");

    site.set(pipeline::CLOCK_SKEW, "60");
    let created = Utc::now().trunc_subsecs(0) + Duration::minutes(10);
    let state = site.witness_state();
    let future = site
        .world
        .archive_at("future", 2, &[signed("next.tar.gz")], Some(&state), created)
        .unwrap();
    let before = Utc::now();
    let outcome = site.import(&future);
    let after = Utc::now();
    let expected = at_some_second(before, after, |clock| {
        format!(
            "publisher: created_at {} is in the future (appliance clock {}, skew allowed 60 s)",
            rfc3339(created),
            rfc3339(clock)
        )
    });
    let reason = outcome.reason.clone().unwrap_or_default();
    assert!(expected.contains(&reason), "{reason:?} not in {expected:?}");
    assert_rejected(&site, &outcome, &reason);

    // Within the skew it is accepted.
    site.set(pipeline::CLOCK_SKEW, "900");
    let outcome = site.import(&future);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    site.audit_actions();
}

#[test]
fn tuf_metadata_expired_at_created_at_is_rejected() {
    // The timestamp role (valid 7 days) expired a day ago.
    let tuf_time = Utc::now().trunc_subsecs(0) - Duration::days(8);
    let mut site = Site::with_tuf_time(204, tuf_time);
    // `create` judges TUF at its own `now`: build while the timestamp was valid, then move
    // `created_at` past its expiry, as a publisher with a stale mirror would.
    let built = site
        .world
        .archive_at(
            "stale",
            1,
            &[signed("tool.tar.gz")],
            None,
            Utc::now() - Duration::days(2),
        )
        .unwrap();
    let created = Utc::now().trunc_subsecs(0) - Duration::hours(1);
    let stale = site
        .world
        .repack(&built, "stale-now", |m| m.created_at = created)
        .unwrap();
    let outcome = site.import(&stale);
    let expires = tuf_time + Duration::days(7);
    let reason = format!(
        "trust: trust repository {TUF_NAME}: timestamp metadata version 1 expired at {} (reference time {})",
        rfc3339(expires),
        rfc3339(created)
    );
    assert_rejected(&site, &outcome, &reason);
    // Not a rollback: no alarm, and no trust state saved.
    assert!(site.open_alarms().is_empty());
    let trust = store::trust::list(site.app.store().read()).unwrap();
    assert!(trust[0].state.is_none());

    // The archive as built (created while the timestamp was valid) is accepted.
    let outcome = site.import(&built);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    site.audit_actions();
}

#[test]
fn older_tuf_metadata_than_accepted_is_a_rollback_with_an_alarm() {
    let mut site = Site::new(205);
    let expires = site.world.tuf_time() + Duration::days(7);
    site.world
        .rewrite_tuf(|b| b.timestamp_role(2, expires))
        .unwrap();
    let newer = site.archive("newer", 1, &[signed("tool-1.tar.gz")]);
    let outcome = site.import(&newer);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");

    // A mirror serving the repository as it was before: timestamp version 1.
    site.world.rewrite_tuf(|b| b).unwrap();
    let older = site.archive("older", 2, &[signed("tool-2.tar.gz")]);
    let outcome = site.import(&older);
    assert_rejected(
        &site,
        &outcome,
        &format!(
            "trust: trust repository {TUF_NAME}: timestamp rollback: version 1 offered, version 2 already trusted"
        ),
    );
    assert_eq!(
        site.open_alarms(),
        [("rollback".to_owned(), TUF_NAME.to_owned())]
    );
    let alarms = store::alarms::open(site.app.store().read()).unwrap();
    assert_eq!(alarms[0].import_id, Some(outcome.import_id));

    // The accepted state did not move back: version 2 is still accepted, the alarm stays.
    site.world
        .rewrite_tuf(|b| b.timestamp_role(2, expires))
        .unwrap();
    let current = site.archive("current", 3, &[signed("tool-3.tar.gz")]);
    let outcome = site.import(&current);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(site.open_alarms().len(), 1);
    let actions = site.audit_actions();
    for expected in ["import.rejected", "alarm.raised"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[test]
fn a_forked_log_is_rejected_with_an_alarm_that_survives_a_restart() {
    let mut site = Site::new(206);
    let first = site.archive("first", 1, &[signed("tool-1.tar.gz")]);
    let outcome = site.import(&first);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    let origin = site.world.sigstore.log().origin();
    let witnessed = site.world.sigstore.log().size();

    // The log's operator rewrites history: same keys and origin, another first entry.
    let mut forked = Instance::new(206, site.world.sigstore.base_time()).unwrap();
    forked
        .sign_blob(
            b"a different first entry",
            &SignOptions::workload(TRUSTED_IDENTITY, ISSUER),
        )
        .unwrap();
    assert_eq!(forked.log().origin(), origin);
    assert_eq!(forked.log().size(), witnessed);
    assert_ne!(
        forked.log().root(witnessed).unwrap(),
        site.world.sigstore.log().root(witnessed).unwrap()
    );
    let honest = std::mem::replace(&mut site.world.sigstore, forked);
    let split = site.archive("split-view", 2, &[signed("tool-2.tar.gz")]);
    let outcome = site.import(&split);
    let grown = witnessed + 1;
    let reason = format!(
        "witness: log {origin}: tree of size {witnessed} is not a prefix of size {grown}: fork"
    );
    assert_rejected(&site, &outcome, &reason);
    let alarms = store::alarms::open(site.app.store().read()).unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(
        (alarms[0].kind.as_str(), alarms[0].subject.as_str()),
        ("log-fork", origin.as_str())
    );
    assert_eq!(alarms[0].import_id, Some(outcome.import_id));
    assert_eq!(
        alarms[0].detail,
        format!("log {origin}: tree of size {witnessed} is not a prefix of size {grown}: fork")
    );
    // The forked checkpoint was not stored.
    let heads = store::witness::heads(site.app.store().read()).unwrap();
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].size, witnessed);

    // The alarm is persistent.
    site.reopen();
    assert_eq!(
        site.open_alarms(),
        [("log-fork".to_owned(), origin.clone())]
    );

    // The honest log goes on; its next archive is judged, and the alarm stays open.
    site.world.sigstore = honest;
    let next = site.archive("next", 3, &[signed("tool-3.tar.gz")]);
    let outcome = site.import(&next);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(verdicts(&outcome), [(Verdict::Passed, vec![])]);
    assert_eq!(
        site.open_alarms(),
        [("log-fork".to_owned(), origin.clone())]
    );

    // Until an admin clears it.
    admin::clear_alarm(&site.app, "admin", alarms[0].id).unwrap();
    assert!(site.open_alarms().is_empty());
    let err = admin::clear_alarm(&site.app, "admin", alarms[0].id).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("open alarm {} not found", alarms[0].id)
    );
    let actions = site.audit_actions();
    for expected in [
        "import.rejected",
        "alarm.raised",
        "alarm.cleared",
        "import.done",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[test]
fn a_grown_log_without_a_proof_from_the_witnessed_size_is_rejected_without_an_alarm() {
    let mut site = Site::new(207);
    let first = site.archive("first", 1, &[signed("tool-1.tar.gz")]);
    assert_eq!(site.import(&first).state, ImportState::Done);
    let origin = site.world.sigstore.log().origin();
    let witnessed = site.world.sigstore.log().size();

    // Others use the log meanwhile.
    for n in 0..3 {
        site.world
            .sigstore
            .log_mut()
            .append(
                format!("someone else's entry {n}").into_bytes(),
                1_800_000_000,
            )
            .unwrap();
    }
    // Built without the site's witness state: proofs only from its own entries' sizes.
    let second = site
        .world
        .archive("second", 2, &[signed("tool-2.tar.gz")], None)
        .unwrap();
    let head = site.world.sigstore.log().size();
    assert_eq!(head, witnessed + 4);
    let outcome = site.import(&second);
    assert_rejected(
        &site,
        &outcome,
        &format!(
            "witness: log {origin}: no consistency proof from the witnessed size {witnessed} to {head}"
        ),
    );
    assert!(site.open_alarms().is_empty());

    // With the witness state the same contents pass.
    let third = site.archive("third", 2, &[signed("tool-2.tar.gz")]);
    let outcome = site.import(&third);
    assert_eq!(verdicts(&outcome), [(Verdict::Passed, vec![])]);
    site.audit_actions();
}

#[test]
fn a_log_entry_no_carried_checkpoint_covers_is_unwitnessed() {
    let mut site = Site::new(208);
    let built = site
        .world
        .archive(
            "built",
            1,
            &[signed("early.tar.gz"), signed("late.tar.gz")],
            None,
        )
        .unwrap();
    let origin = site.world.sigstore.log().origin();
    let mut bundle = None;
    // A publisher that drops the proof linking the first entry's checkpoint to the head.
    let stripped = site
        .world
        .repack(&built, "stripped", |m| {
            assert_eq!(
                m.logs[0].consistency.len(),
                1,
                "{:?}",
                m.logs[0].consistency
            );
            m.logs[0].consistency.clear();
            bundle = Some(m.artifacts[0].evidence.bundles[0]);
        })
        .unwrap();
    let bundle = bundle.unwrap().hex();
    let outcome = site.import(&stripped);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(
        verdicts(&outcome),
        [
            (
                Verdict::Failed,
                vec![format!(
                    "unwitnessed: bundle {} has a log entry at size 1 of {origin} that no witnessed checkpoint covers",
                    &bundle[..12]
                )]
            ),
            (Verdict::Passed, vec![]),
        ]
    );
    let report = site.report(outcome.artifacts[0].id);
    assert_eq!(report["signatures"][0]["ok"], true);
    assert_eq!(report["signatures"][0]["witnessed"][0]["by"], "unwitnessed");
    let report = site.report(outcome.artifacts[1].id);
    assert_eq!(report["signatures"][0]["witnessed"][0]["by"], "head");
    site.audit_actions();
}

#[test]
fn untrusted_and_missing_signatures_fail_and_stay_in_quarantine() {
    let mut site = Site::new(209);
    let mut stranger = signed("fork-build.tar.gz");
    stranger.signing = Signing::As(UNTRUSTED_IDENTITY.to_owned());
    let mut unsigned = signed("unsigned.tar.gz");
    unsigned.signing = Signing::Unsigned;
    let archive = site.archive("mixed", 1, &[stranger, unsigned, signed("good.tar.gz")]);
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(
        verdicts(&outcome),
        [
            (
                Verdict::Failed,
                vec![format!(
                    "not signed by a trusted signer: identity: certificate identity {UNTRUSTED_IDENTITY:?} does not match {TRUSTED_IDENTITY:?}"
                )]
            ),
            (
                Verdict::Failed,
                vec!["no Sigstore bundle signs it".to_owned()]
            ),
            (Verdict::Passed, vec![]),
        ]
    );
    let id = outcome.import_id;
    let locations: Vec<&str> = outcome
        .artifacts
        .iter()
        .map(|a| a.location.as_str())
        .collect();
    assert_eq!(
        locations,
        [
            format!("quarantine/{id}/0000-fork-build.tar.gz"),
            format!("quarantine/{id}/0001-unsigned.tar.gz"),
            format!("released/{id}/0002-good.tar.gz"),
        ]
    );
    let quarantined = site.files(&format!("quarantine/{id}"));
    assert_eq!(quarantined.len(), 3, "{quarantined:?}");
    assert_eq!(quarantined[0], "0000-fork-build.tar.gz");
    assert_eq!(quarantined[1], "0001-unsigned.tar.gz");
    assert_eq!(quarantined[2], "evidence/manifest.dsse.json");
    let released = site.files(&format!("released/{id}"));
    assert_eq!(released.len(), 1, "{released:?}");
    assert_eq!(released[0], "0002-good.tar.gz");
    let row = site.import_row(id);
    assert_eq!((row.passed, row.warned, row.failed), (1, 0, 2));
    let stored: Vec<(Verdict, Vec<String>)> = site
        .artifacts(id)
        .into_iter()
        .map(|a| (a.verdict, serde_json::from_str(&a.reasons).unwrap()))
        .collect();
    assert_eq!(stored[0].0, Verdict::Failed);
    assert_eq!(
        stored[1],
        (
            Verdict::Failed,
            vec!["no Sigstore bundle signs it".to_owned()]
        )
    );
    assert_eq!(stored[2], (Verdict::Passed, vec![]));
    // The failed signature's report says who signed it (unverified) and whom the policy
    // wanted, the identity marked as the mismatch; the log entry it names is listed.
    let report = site.report(outcome.artifacts[0].id);
    let seen = &report["signatures"][0]["seen"];
    assert_eq!(seen["identities"], serde_json::json!([UNTRUSTED_IDENTITY]));
    assert_eq!(seen["issuer"], ISSUER);
    assert_eq!(seen["mismatch"], "identity");
    assert_eq!(
        seen["expected"][0]["identity"],
        format!("{TRUSTED_IDENTITY:?}")
    );
    assert_eq!(seen["expected"][0]["issuer"], format!("{ISSUER:?}"));
    assert_eq!(seen["log_entries"].as_array().unwrap().len(), 1);
    assert!(seen["log_entries"][0]["integrated_time"].is_string());
    // A verified signature records nothing of the kind.
    let report = site.report(outcome.artifacts[2].id);
    assert!(report["signatures"][0].get("seen").is_none());
    site.audit_actions();
}

#[test]
fn an_entry_checkpoint_the_carried_proof_contradicts_is_a_fork_found_while_judging() {
    // The carried head verifies, but the proof linking the first entry's checkpoint to it does
    // not: the log showed that entry a different history. The worker that judges it stops the
    // import; nothing of what was judged is kept.
    let mut site = Site::new(212);
    let built = site
        .world
        .archive(
            "built",
            1,
            &[signed("early.tar.gz"), signed("late.tar.gz")],
            None,
        )
        .unwrap();
    let origin = site.world.sigstore.log().origin();
    let forged = site
        .world
        .repack(&built, "forged-proof", |m| {
            m.logs[0].consistency[0].hashes[0][0] ^= 1;
        })
        .unwrap();
    let outcome = site.import(&forged);
    assert_rejected(
        &site,
        &outcome,
        &format!(
            "witness: log {origin}: an entry's checkpoint at size 1 contradicts the witnessed log: fork"
        ),
    );
    assert_eq!(
        site.open_alarms(),
        [("log-fork".to_owned(), origin.clone())]
    );
    let id = outcome.import_id;
    let steps: Vec<(ImportStep, bool)> = {
        let store = site.app.store();
        store::imports::steps(store.read(), id)
            .unwrap()
            .into_iter()
            .map(|s| (s.step, s.ok))
            .collect()
    };
    assert_eq!(
        steps,
        [
            (ImportStep::Archive, true),
            (ImportStep::Publisher, true),
            (ImportStep::Trust, true),
            (ImportStep::Witness, true),
            (ImportStep::Evidence, false),
        ]
    );
    // The witness state did not move.
    assert!(
        store::witness::heads(site.app.store().read())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_archive_in_any_blob_order_is_judged_the_same() {
    // `create` writes trust files, then evidence, then files, so artifacts are judged while
    // the archive streams; another writer's order (here the reverse: files first, trust files
    // last) must give the same verdicts, only later.
    let mut site = Site::new(211);
    let mut stranger = signed("fork-build.tar.gz");
    stranger.signing = Signing::As(UNTRUSTED_IDENTITY.to_owned());
    let built = site.archive("ordered", 1, &[complete("tool.tar.gz"), stranger]);
    let reversed = site
        .world
        .repack(&built, "reversed", |m| m.blobs.reverse())
        .unwrap();
    let outcome = site.import(&reversed);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(
        verdicts(&outcome),
        [
            (Verdict::Passed, vec![]),
            (
                Verdict::Failed,
                vec![format!(
                    "not signed by a trusted signer: identity: certificate identity {UNTRUSTED_IDENTITY:?} does not match {TRUSTED_IDENTITY:?}"
                )]
            ),
        ]
    );
    let steps: Vec<ImportStep> = {
        let store = site.app.store();
        store::imports::steps(store.read(), outcome.import_id)
            .unwrap()
            .into_iter()
            .map(|s| s.step)
            .collect()
    };
    assert_eq!(steps, ImportStep::ALL);
}

const SLSA_POLICY: &str = r#"
enforcement = "enforce"

[slsa]
required = true
min_build_level = 2

[[slsa.trusted_builders]]
id = "https://ci.example.internal/builders/hermetic@v2"
level = 3

[[signer]]
name = "release-ci"
issuer = "https://token.ci.example.internal"
subject = "https://git.example.internal/platform/release/.ci/release.yml@refs/heads/main"
"#;

#[test]
fn slsa_provenance_is_required_from_a_trusted_builder() {
    let mut site = Site::new(210);
    assert!(SLSA_POLICY.contains(BUILDER_ID));
    site.policy(SLSA_POLICY);
    let mut elsewhere = complete("elsewhere.tar.gz");
    elsewhere.provenance = Some("https://laptop.example/builder".to_owned());
    let archive = site.archive(
        "slsa",
        1,
        &[complete("tool.tar.gz"), signed("notes.txt"), elsewhere],
    );
    let outcome = site.import(&archive);
    assert_eq!(
        verdicts(&outcome),
        [
            (Verdict::Passed, vec![]),
            (
                Verdict::Failed,
                vec!["no SLSA provenance attestation".to_owned()]
            ),
            (
                Verdict::Failed,
                vec![
                    "builder https://laptop.example/builder is not trusted".to_owned(),
                    "build level 0 is below the required 2".to_owned(),
                ]
            ),
        ]
    );
    let report = site.report(outcome.artifacts[0].id);
    assert_eq!(report["provenance"]["builder_id"], BUILDER_ID);
    assert_eq!(report["provenance"]["build_level"], 3);
    assert_eq!(report["provenance"]["source_uri"], SOURCE_URI);
    assert_eq!(report["attestations"][0]["ok"], true);
    let report = site.report(outcome.artifacts[1].id);
    assert!(report["provenance"].is_null());
    // The VSA carries the verified level.
    let vsa = store::artifacts::vsa(site.app.store().read(), outcome.artifacts[0].id)
        .unwrap()
        .unwrap();
    let statement = vsa_statement(&vsa);
    assert_eq!(
        statement["predicate"]["verifiedLevels"][0],
        "SLSA_BUILD_LEVEL_3"
    );
    site.audit_actions();
}

#[test]
fn an_sbom_is_required_and_its_components_reported() {
    let mut site = Site::new(211);
    site.policy(&format!("{BASE_POLICY}\n[sbom]\nrequired = true\n"));
    let archive = site.archive("sbom", 1, &[complete("tool.tar.gz"), signed("notes.txt")]);
    let outcome = site.import(&archive);
    assert_eq!(
        verdicts(&outcome),
        [
            (Verdict::Passed, vec![]),
            (Verdict::Failed, vec!["no SBOM".to_owned()]),
        ]
    );
    let report = site.report(outcome.artifacts[0].id);
    let sbom = &report["sboms"][0];
    assert_eq!(sbom["source"], "file");
    assert_eq!(sbom["summary"]["format"], "CycloneDX 1.5");
    assert_eq!(sbom["summary"]["components"][0]["name"], "zlib");
    assert_eq!(sbom["summary"]["components"][0]["version"], "1.3.1");
    assert!(
        site.report(outcome.artifacts[1].id)["sboms"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    site.audit_actions();
}

#[test]
fn warn_and_monitor_release_failing_artifacts_with_their_reasons() {
    let mut site = Site::new(212);
    let policy = |mode: &str| {
        format!(
            "{}\n[sbom]\nrequired = true\n",
            BASE_POLICY.replace(
                "enforcement = \"enforce\"",
                &format!("enforcement = \"{mode}\"")
            )
        )
    };
    let no_sbom = || vec!["no SBOM".to_owned()];

    site.policy(&policy("warn"));
    let archive = site.archive("warn", 1, &[signed("tool.tar.gz")]);
    let outcome = site.import(&archive);
    assert_eq!(verdicts(&outcome), [(Verdict::Warned, no_sbom())]);
    let id = outcome.import_id;
    assert_eq!(
        outcome.artifacts[0].location,
        format!("released/{id}/0000-tool.tar.gz")
    );
    assert_eq!(site.files(&format!("released/{id}")).len(), 1);
    let row = site.import_row(id);
    assert_eq!((row.passed, row.warned, row.failed), (0, 1, 0));
    assert_eq!(site.report(outcome.artifacts[0].id)["enforcement"], "warn");

    site.policy(&policy("monitor"));
    let archive = site.archive("monitor", 2, &[signed("tool.tar.gz")]);
    let outcome = site.import(&archive);
    assert_eq!(verdicts(&outcome), [(Verdict::Passed, no_sbom())]);
    let id = outcome.import_id;
    assert_eq!(
        outcome.artifacts[0].location,
        format!("released/{id}/0000-tool.tar.gz")
    );
    let stored = &site.artifacts(id)[0];
    assert_eq!(stored.verdict, Verdict::Passed);
    assert_eq!(stored.reasons, r#"["no SBOM"]"#);
    // The signed summary does not pretend the checks passed.
    let vsa = store::artifacts::vsa(site.app.store().read(), stored.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        vsa_statement(&vsa)["predicate"]["verificationResult"],
        "FAILED"
    );

    // Enforced by default, relaxed for one named artifact.
    site.policy(&format!(
        "{}\n[overrides.\"legacy.tar.gz\"]\nenforcement = \"warn\"\n",
        policy("enforce")
    ));
    let archive = site.archive(
        "override",
        3,
        &[signed("legacy.tar.gz"), signed("tool.tar.gz")],
    );
    let outcome = site.import(&archive);
    assert_eq!(
        verdicts(&outcome),
        [(Verdict::Warned, no_sbom()), (Verdict::Failed, no_sbom())]
    );
    let rules: Vec<String> = site
        .artifacts(outcome.import_id)
        .into_iter()
        .map(|a| a.rule)
        .collect();
    assert_eq!(rules, ["override:legacy.tar.gz", "default"]);
    let id = outcome.import_id;
    assert_eq!(
        outcome.artifacts[0].location,
        format!("released/{id}/0000-legacy.tar.gz")
    );
    assert_eq!(
        outcome.artifacts[1].location,
        format!("quarantine/{id}/0001-tool.tar.gz")
    );
    site.audit_actions();
}

#[test]
fn a_disabled_signer_is_not_trusted_for_the_next_import() {
    let mut site = Site::new(213);
    let archive = site.archive("before", 1, &[signed("tool-1.tar.gz")]);
    assert_eq!(
        verdicts(&site.import(&archive)),
        [(Verdict::Passed, vec![])]
    );

    admin::set_signer_enabled(&site.app, "admin", "release-ci", false).unwrap();
    let archive = site.archive("disabled", 2, &[signed("tool-2.tar.gz")]);
    let outcome = site.import(&archive);
    assert_eq!(
        verdicts(&outcome),
        [(
            Verdict::Failed,
            vec![
                "not signed by a trusted signer: no trusted signer is configured for it".to_owned()
            ]
        )]
    );

    admin::set_signer_enabled(&site.app, "admin", "release-ci", true).unwrap();
    let archive = site.archive("enabled", 3, &[signed("tool-3.tar.gz")]);
    assert_eq!(
        verdicts(&site.import(&archive)),
        [(Verdict::Passed, vec![])]
    );
    let actions = site.audit_actions();
    for expected in ["signer.disabled", "signer.enabled"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[test]
fn an_archive_dropped_in_the_inbox_is_imported_once_it_stops_growing() {
    let mut site = Site::new(215);
    let archive = site.archive("dropped", 1, &[signed("tool.tar.gz")]);
    let inbox = site.data().join("inbox");
    let dropped = inbox.join("dropped.airlock.tar.zst");
    std::fs::copy(&archive, &dropped).unwrap();
    // A copy in progress under a hidden name is left alone.
    let hidden = inbox.join(".copying.airlock.tar.zst");
    std::fs::copy(&archive, &hidden).unwrap();

    let mut watcher = Inbox::default();
    assert!(
        watcher.scan(&site.app).is_empty(),
        "the first scan only records the size"
    );
    assert!(dropped.is_file());
    let results = watcher.scan(&site.app);
    assert_eq!(results.len(), 1);
    let (path, outcome) = &results[0];
    assert_eq!(path, &dropped);
    let outcome = outcome.as_ref().unwrap();
    assert_eq!(verdicts(outcome), [(Verdict::Passed, vec![])]);
    assert!(!dropped.exists(), "moved out of the inbox");
    assert!(hidden.is_file());
    let id = outcome.import_id;
    let kept = site.data().join(format!("archive/{id}.airlock.tar.zst"));
    assert_eq!(
        std::fs::read(kept).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    let row = site.import_row(id);
    assert_eq!(row.source, "inbox");
    assert_eq!(row.file_name, "dropped.airlock.tar.zst");
    assert!(watcher.scan(&site.app).is_empty());
    let actions = site.audit_actions();
    assert!(actions.iter().any(|a| a == "import.done"), "{actions:?}");
}

/// The in-toto statement inside a VSA envelope.
fn vsa_statement(envelope: &[u8]) -> serde_json::Value {
    let envelope: serde_json::Value = serde_json::from_slice(envelope).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn a_missing_file_records_nothing_and_a_failing_disk_ends_the_import_interrupted() {
    let mut site = Site::new(141);
    let missing = site.dir.path().join("no-such.airlock.tar.zst");
    let err = site.try_import(&missing).unwrap_err();
    assert!(
        matches!(&err, airlock_appliance::pipeline::ImportError::NoSuchArchive { path } if *path == missing),
        "{err:?}"
    );
    // Its path said once (and the first part looked for).
    assert_eq!(
        err.to_string(),
        format!(
            "no such archive: {} (nor a first part {}.001)",
            missing.display(),
            missing.display()
        )
    );
    assert!(
        store::imports::get(site.app.store().read(), 1)
            .unwrap()
            .is_none()
    );

    // Import 1's quarantine folder cannot be made: the appliance fails, the import does not
    // stay `running`, and nothing is left behind.
    let archive = site.archive("good", 1, &[signed("tool.bin")]);
    std::fs::write(site.data().join("quarantine/1"), b"in the way").unwrap();
    let err = site.try_import(&archive).unwrap_err();
    assert!(
        matches!(err, airlock_appliance::pipeline::ImportError::Io { .. }),
        "{err:?}"
    );
    let row = site.import_row(1);
    assert_eq!(row.state, ImportState::Interrupted);
    assert!(
        row.reason.as_deref().unwrap().starts_with("interrupted: "),
        "{row:?}"
    );
    assert!(
        site.audit_actions()
            .iter()
            .any(|a| a == "import.interrupted")
    );
    assert_eq!(site.files("released"), Vec::<String>::new());

    // With the obstacle gone the same archive imports: its sequence was never committed.
    std::fs::remove_file(site.data().join("quarantine/1")).unwrap();
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
}

/// Imports `archive` as import 1, which must fail on an I/O error at `path` and end
/// interrupted with nothing kept; the error's source.
fn interrupted_at(
    site: &mut Site,
    archive: &std::path::Path,
    path: &std::path::Path,
) -> std::io::Error {
    match site.try_import(archive).unwrap_err() {
        airlock_appliance::pipeline::ImportError::Io { path: at, source } if at == path => {
            let row = site.import_row(1);
            assert_eq!(row.state, ImportState::Interrupted, "{row:?}");
            assert!(!site.data().join("quarantine/1").exists());
            assert_eq!(site.files("released"), Vec::<String>::new());
            source
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_room_for_the_results_the_import_ends_interrupted_and_imports_again_later() {
    let mut site = Site::new(142);
    let archive = site.archive("good", 1, &[signed("tool.bin")]);
    // The workers' spools (unnamed files) live in incoming/; here it is a file.
    let incoming = site.data().join("incoming");
    std::fs::remove_dir(&incoming).unwrap();
    std::fs::write(&incoming, b"in the way").unwrap();
    interrupted_at(&mut site, &archive, &incoming);

    std::fs::remove_file(&incoming).unwrap();
    std::fs::create_dir(&incoming).unwrap();
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(outcome.artifacts[0].verdict, Verdict::Passed);
    // The spools had no names: nothing is left where they were.
    assert_eq!(std::fs::read_dir(&incoming).unwrap().count(), 0);
}

#[test]
fn a_staging_folder_the_appliance_cannot_write_interrupts_the_import_instead_of_rejecting_it() {
    let mut site = Site::new(143);
    let archive = site.archive("good", 1, &[signed("tool.bin")]);
    // Import 1 will stage into quarantine/1/.staging; something is in the way.
    let quarantine = site.data().join("quarantine/1");
    std::fs::create_dir_all(&quarantine).unwrap();
    std::fs::write(quarantine.join(".staging"), b"in the way").unwrap();
    let source = interrupted_at(&mut site, &archive, &quarantine.join(".staging"));
    assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
    let actions = site.audit_actions();
    assert!(
        actions.iter().any(|a| a == "import.interrupted"),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| a == "import.rejected"),
        "{actions:?}"
    );

    // Not the archive's fault: it imports as it is, its sequence never spent.
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
}

/// Writes a CycloneDX SBOM of `n` components, each with `pad` bytes in a field nobody reads.
fn padded_sbom(path: &std::path::Path, n: usize, pad: usize) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":["#)
        .unwrap();
    let filler = "x".repeat(pad);
    for i in 0..n {
        let comma = if i > 0 { "," } else { "" };
        write!(out, r#"{comma}{{"name":"c{i}","description":"{filler}"}}"#).unwrap();
    }
    out.write_all(b"]}").unwrap();
    out.flush().unwrap();
}

#[test]
fn an_sbom_over_a_cap_fails_its_artifact_with_the_reason_and_the_rest_pass() {
    let mut site = Site::new(213);
    site.policy(&format!("{BASE_POLICY}\n[sbom]\nrequired = true\n"));
    let dir = site.world.dir().to_owned();
    let too_many = dir.join("too-many.cdx.json");
    padded_sbom(
        &too_many,
        airlock_appliance::policy::MAX_SBOM_COMPONENTS + 1,
        0,
    );
    let long_string = dir.join("long-string.cdx.json");
    padded_sbom(
        &long_string,
        1,
        airlock_appliance::sbom::MAX_SBOM_STRING + 1,
    );
    let short = |path: &std::path::Path| {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            std::fs::read(path).unwrap(),
        ))[..12]
            .to_owned()
    };
    let archive = site.archive(
        "sbom-caps",
        1,
        &[
            ArtifactPlan {
                extra_sboms: vec![too_many.clone()],
                ..complete("many.tar.gz")
            },
            ArtifactPlan {
                extra_sboms: vec![long_string.clone()],
                ..complete("long.tar.gz")
            },
            complete("fine.tar.gz"),
        ],
    );
    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(
        verdicts(&outcome),
        [
            (
                Verdict::Failed,
                vec![format!(
                    "sbom {}: SBOM lists more than 100000 components",
                    short(&too_many)
                )]
            ),
            (
                Verdict::Failed,
                vec![format!(
                    "sbom {}: SBOM holds a JSON string longer than 65536 bytes",
                    short(&long_string)
                )]
            ),
            (Verdict::Passed, vec![]),
        ]
    );
    // The readable SBOM beside the refused one is still reported.
    let report = site.report(outcome.artifacts[0].id);
    assert_eq!(
        report["sboms"][0]["summary"]["components"][0]["name"],
        "zlib"
    );
    assert_eq!(
        report["sboms"][1]["error"],
        "SBOM lists more than 100000 components"
    );
}

#[test]
fn an_image_whose_index_names_a_manifest_nobody_signed_fails_and_a_bound_one_passes() {
    use airlock_tests::OciLayout;
    let mut site = Site::new(215);
    let world_dir = site.world.dir().to_owned();
    let (good_layout, _) = OciLayout::new(&world_dir.join("good"), &[b"good layer"]).unwrap();
    let good = ArtifactPlan::image("good-image", &good_layout.dir).unwrap();
    // The publisher signs one manifest and packs, beside it in the same layout, another
    // manifest and an index.json naming that one (as a blob, for now) ...
    let (layout, signed) =
        OciLayout::new(&world_dir.join("swapped"), &[b"reviewed layer"]).unwrap();
    let swapped = ArtifactPlan::image("swapped-image", &layout.dir).unwrap();
    let unsigned = layout.add_image(&[b"a layer nobody reviewed"]).unwrap();
    let (other_index, _) = layout.blob(&OciLayout::index_for(&unsigned)).unwrap();
    let archive = site.archive("images", 1, &[good, swapped]);
    // ... then re-signs the archive's manifest with that index as the layout's index.json: the
    // artifact's digest is still the signed manifest, so every bundle verifies.
    let other_index = other_index.strip_prefix("sha256:").unwrap().to_owned();
    let archive = site
        .world
        .repack(&archive, "images-swapped", |m| {
            let index = m.artifacts[1]
                .files
                .iter_mut()
                .find(|f| f.path.as_str() == "index.json")
                .unwrap();
            let old = index.digest;
            index.digest = airlock_bundler::archive::Sha256Digest::from_hex(&other_index).unwrap();
            m.blobs.retain(|b| b.digest != old);
        })
        .unwrap();

    let outcome = site.import(&archive);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(
        verdicts(&outcome),
        [
            (Verdict::Passed, vec![]),
            (
                Verdict::Failed,
                vec![format!(
                    "oci layout: index.json names {}, not the signed manifest {}",
                    unsigned.digest, signed.digest
                )]
            ),
        ]
    );
    // The bound image is released as its layout; the other stays in quarantine.
    let released = site.data().join(&outcome.artifacts[0].location);
    assert!(released.join("index.json").is_file());
    assert!(outcome.artifacts[1].location.starts_with("quarantine/"));
}

#[test]
fn an_attestation_bundle_over_the_size_cap_fails_its_artifact_unread() {
    let mut site = Site::new(216);
    let big = site.world.dir().join("big.intoto.sigstore.json");
    let size = pipeline::MAX_EVIDENCE_BUNDLE as usize + 1;
    std::fs::write(&big, vec![b' '; size]).unwrap();
    let short =
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(vec![b' '; size]))[..12].to_owned();
    let archive = site.archive(
        "big-attestation",
        1,
        &[
            ArtifactPlan {
                extra_attestations: vec![big],
                ..complete("tool.tar.gz")
            },
            complete("fine.tar.gz"),
        ],
    );
    let outcome = site.import(&archive);
    assert_eq!(
        verdicts(&outcome),
        [
            (
                Verdict::Failed,
                vec![format!(
                    "attestation {short}: bundle: {size} bytes (at most 4194304)"
                )]
            ),
            (Verdict::Passed, vec![]),
        ]
    );
}

#[test]
fn an_archive_without_trust_is_checked_with_the_trust_accepted_before_and_refused_where_there_is_none()
 {
    let mut site = Site::new(231);
    let first = site.archive("with-trust", 1, &[complete("a.tar.gz")]);
    assert_eq!(site.import(&first).state, ImportState::Done);
    let second = site.archive("second", 2, &[complete("b.tar.gz")]);
    let without = site
        .world
        .repack(&second, "without-trust", |m| {
            let carried: Vec<_> = m
                .trust
                .iter()
                .flat_map(|r| r.metadata.iter().chain(&r.targets).map(|f| f.digest))
                .collect();
            m.trust.clear();
            m.blobs.retain(|b| !carried.contains(&b.digest));
        })
        .unwrap();

    // A site that has accepted no trust yet refuses it as a whole.
    let fresh = Site::new(232);
    let key = airlock_bundler::keys::load_public_key(&site.world.publisher().pub_path).unwrap();
    admin::add_publisher_key(&fresh.app, "test", "release-team", &key).unwrap();
    let refused = fresh.import(&without);
    assert_eq!(refused.state, ImportState::Rejected, "{refused:?}");
    assert_eq!(
        refused.reason.as_deref(),
        Some(
            "trust: the archive carries Sigstore bundles but no trust repository, and none was accepted before"
        )
    );

    // Once a site accepted the repository, an archive that does not carry it is checked
    // against the trusted root it accepted.
    let outcome = site.import(&without);
    assert_eq!(outcome.state, ImportState::Done, "{outcome:?}");
    assert_eq!(verdicts(&outcome), [(Verdict::Passed, vec![])]);
    let steps = store::imports::steps(site.app.store().read(), outcome.import_id).unwrap();
    let trust = steps
        .iter()
        .find(|s| s.step == airlock_appliance::report::ImportStep::Trust)
        .unwrap();
    assert_eq!(
        trust.detail,
        format!("{}: as last accepted", airlock_tests::TUF_NAME)
    );
}
