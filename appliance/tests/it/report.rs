//! The stored artifact report (`airlock_appliance::report`): a report exactly as an earlier
//! appliance stored it renders on its page and comes back from the API; a report from a real
//! import reads back as the value it was written from; the appliance's record of what
//! verification showed serialises exactly as trust-root's report does; a name in a row this
//! appliance does not write is an error naming it.

use airlock_appliance::appliance::Appliance;
use airlock_appliance::policy::SbomSummary;
use airlock_appliance::report::{
    ArtifactReport, ImportStep, ProvenBy, SbomSource, Schema, SignerRecord, TimeSourceRecord,
    Verdict, Verification, WitnessedBy,
};
use airlock_appliance::store::{self, ImportSource, NewArtifact, NewStep, StoreError};
use airlock_bundler::archive::ArtifactKind;
use airlock_tests::{
    ArtifactPlan, BundleVersion, CertificateMaterial, DigestAlgorithm, ISSUER, Instance, Knobs,
    Predicate, ProofShape, Provenance, Shape, SignOptions, TRUSTED_IDENTITY, TimestampMode,
};
use airlock_trust_root::{
    Artifact, Bundle, CertificateIdentity, Matcher, PublicKey, SignerPolicy, TrustedRoot, Verifier,
};
use chrono::Utc;
use serde_json::Value;

use crate::common::{AUDITOR, Auth, Folder, Server};
use crate::site::{BASE_POLICY, Site};

/// A report exactly as the pipeline stored it before reports had a `schema` (schema 1):
/// written by commit 840acbe ("review: one sign-in 429 response …"), printed from the store
/// after importing `ArtifactPlan::complete("tool.tar.gz")` (seed 240) under `BASE_POLICY`
/// with `enforcement = "warn"` and `[sbom] required = true, min_components = 2`. Pasted
/// byte for byte; never regenerate it.
const STORED_BEFORE_SCHEMA: &str = r#"{"rule":"default","enforcement":"warn","signatures":[{"digest":"1350162746442fa26a38673b1b576465723c378bcfe9ac59b7522b992c6b3888","ok":true,"signer":"release-ci","report":{"bundle_version":"0.3","artifact_sha256":"94c2f14cca24f5749a591d27f8605b3c6a18f26376cbe3d4466362d129349adc","artifact_digest":{"algorithm":"sha256","hex":"94c2f14cca24f5749a591d27f8605b3c6a18f26376cbe3d4466362d129349adc"},"signer":{"kind":"certificate","identity":"https://git.example.internal/platform/release/.ci/release.yml@refs/heads/main","issuer":"https://token.ci.example.internal","serial":"1000","not_before":"2026-12-05T00:49:55Z","not_after":"2026-12-05T00:59:55Z","certificate_authority":"https://fulcio.airlock.test","sct_log_ids":["bb811a887ba7189b25a78fa27f7a1d2495f21a6c2d3caaadb30a018fbc9fbd10"]},"ignored_chain_certificates":[],"log_entries":[{"log_base_url":"https://airlock.test","log_id":"b08e9fe34628b1c23b2cb33bfc9ede7644a9bf2f7b59bafeed64b125912a5758","log_index":0,"kind":"hashedrekord","version":"0.0.1","integrated_time":"2026-12-05T00:49:56Z","proven_by":"inclusion-proof","checkpoint":{"origin":"airlock.test - 8709613960310141619","size":1,"root_hash":"d145351f38558ff98c285e9c2eeacdb78f2297c0af2b7361db021a7cfea76e2d","note":"airlock.test - 8709613960310141619\n1\n0UU1HzhVj/mMKF6cLurNt48il8CvK3Nh2wIafP6nbi0=\n\n— airlock.test sI6f4zBFAiEA7jUxyOFT+m52uV6KhPpCADdLvLrBwoLxi2JM0ULzXXQCIEYADE+1VcIjQM0wAkt4k76vZl4kVj0kYrzn8EtuwzN4\n"},"proof_index":0}],"observed_times":[{"time":"2026-12-05T00:49:56Z","source":"log-entry","index":0}],"dsse":null},"witnessed":[{"origin":"airlock.test - 8709613960310141619","size":1,"by":"proof"}],"error":null}],"attestations":[{"digest":"b3759ccb88970bd3297d7ce433aa844a546fd66f42ac3ff455fc18d916840c2c","ok":true,"signer":"release-ci","report":{"bundle_version":"0.3","artifact_sha256":"94c2f14cca24f5749a591d27f8605b3c6a18f26376cbe3d4466362d129349adc","artifact_digest":{"algorithm":"sha256","hex":"94c2f14cca24f5749a591d27f8605b3c6a18f26376cbe3d4466362d129349adc"},"signer":{"kind":"certificate","identity":"https://git.example.internal/platform/release/.ci/release.yml@refs/heads/main","issuer":"https://token.ci.example.internal","serial":"1001","not_before":"2026-12-05T00:49:56Z","not_after":"2026-12-05T00:59:56Z","certificate_authority":"https://fulcio.airlock.test","sct_log_ids":["bb811a887ba7189b25a78fa27f7a1d2495f21a6c2d3caaadb30a018fbc9fbd10"]},"ignored_chain_certificates":[],"log_entries":[{"log_base_url":"https://airlock.test","log_id":"b08e9fe34628b1c23b2cb33bfc9ede7644a9bf2f7b59bafeed64b125912a5758","log_index":1,"kind":"dsse","version":"0.0.1","integrated_time":"2026-12-05T00:49:57Z","proven_by":"inclusion-proof","checkpoint":{"origin":"airlock.test - 8709613960310141619","size":2,"root_hash":"a4f60e00263723b50e1d920d03a901cb27ddd8432d826ce9d7e1aa5663647966","note":"airlock.test - 8709613960310141619\n2\npPYOACY3I7UOHZINA6kByyfd2EMtgmzp1+GqVmNkeWY=\n\n— airlock.test sI6f4zBFAiBB3RGr2eDAk3QUjcF1YxV+S3bFrNNkhfsCfxxSd3XgjQIhANJoxccDbFMwmyKJFkRZNPaR1KfJK9mBa8y6PzG6bKTb\n"},"proof_index":1}],"observed_times":[{"time":"2026-12-05T00:49:57Z","source":"log-entry","index":0}],"dsse":{"payload_type":"application/vnd.in-toto+json","predicate_type":"https://slsa.dev/provenance/v1","subjects":[{"name":"tool.tar.gz","digest":{"sha256":"94c2f14cca24f5749a591d27f8605b3c6a18f26376cbe3d4466362d129349adc"}}]}},"witnessed":[{"origin":"airlock.test - 8709613960310141619","size":2,"by":"head"}],"error":null}],"provenance":{"predicate_type":"https://slsa.dev/provenance/v1","builder_id":"https://ci.example.internal/builders/hermetic@v2","build_type":"https://ci.example.internal/build/v1","source_uri":"git+https://git.example.internal/platform/release","source_digest":"gitCommit:4b825dc642cb6eb9a060e54bf8d69288fbee4904","build_level":0},"sboms":[{"digest":"b6985f815a17224a18e75b8082bd0e5a1909159f995fb69932cb90d2ae8e4954","source":"file","summary":{"format":"CycloneDX 1.5","components":[{"name":"zlib","version":"1.3.1","purl":null,"license":null}],"component_count":1},"error":null}],"problems":["SBOM has 1 components, at least 2 required"]}"#;

/// The artifact row the fixture was stored with.
fn stored_row<'a>(report: &'a str) -> NewArtifact<'a> {
    NewArtifact {
        position: 0,
        name: "tool.tar.gz",
        kind: ArtifactKind::File,
        digest: "94c2f14cca24f5749a591d27f8605b3c6a18f26376cbe3d4466362d129349adc",
        size: 25,
        media_type: "application/octet-stream",
        verdict: Verdict::Warned,
        reasons: r#"["SBOM has 1 components, at least 2 required"]"#,
        rule: "default",
        report,
        vsa: b"{}",
        location: "released/1/0000-tool.tar.gz",
        signers: &[],
        components: &[],
    }
}

/// Stores an import with one artifact (`report` its stored report) and one step, as rows;
/// returns (import id, artifact id).
fn insert(app: &Appliance, report: &str) -> (i64, i64) {
    app.store()
        .write(|tx| {
            let import = store::imports::start(
                tx,
                ImportSource::Cli,
                "stored.airlock.tar.zst",
                1,
                "test",
                Utc::now(),
            )?;
            store::imports::add_step(
                tx,
                import,
                &NewStep {
                    step: ImportStep::Evidence,
                    ok: true,
                    detail: "1 artifact(s): 0 passed, 1 warned, 0 failed".into(),
                    duration: std::time::Duration::ZERO,
                },
            )?;
            let artifact = store::artifacts::insert(tx, import, &stored_row(report))?;
            Ok::<_, StoreError>((import, artifact))
        })
        .unwrap()
}

#[test]
fn a_report_stored_before_the_schema_renders_on_its_page_and_in_the_api() {
    let server = Server::start();
    let (_, id) = insert(server.app(), STORED_BEFORE_SCHEMA);
    let client = server.client();
    let (token, _) = client.session(AUDITOR);

    let page = client.get(
        &format!("/artifacts/{id}"),
        Auth::Cookie {
            token: &token,
            csrf: None,
        },
    );
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    for fact in [
        // The signer.
        TRUSTED_IDENTITY,
        ISSUER,
        "<code class=\"hash\">1000</code>",
        "<time>2026-12-05 00:49:55 UTC</time> to <time>2026-12-05 00:59:55 UTC</time>",
        "bb811a887ba7189b25a78fa27f7a1d2495f21a6c2d3caaadb30a018fbc9fbd10",
        // The log entries and their checkpoints, witnessed.
        "<dt>Log index</dt><dd>0</dd>",
        "<dt>Log index</dt><dd>1</dd>",
        "hashedrekord 0.0.1",
        "dsse 0.0.1",
        "<time>2026-12-05 00:49:56 UTC</time>",
        "airlock.test - 8709613960310141619, size 2",
        "d145351f38558ff98c285e9c2eeacdb78f2297c0af2b7361db021a7cfea76e2d",
        "signed entry timestamp of log entry 1",
        "a consistency proof to the witnessed head",
        "the carried head the witness accepted",
        // The attestation's statement and the provenance.
        "https://slsa.dev/provenance/v1",
        "tool.tar.gz sha256:94c2f14cca24f5749a591d27f8605b3c6a18f26376cbe3d4466362d129349adc",
        "https://ci.example.internal/builders/hermetic@v2",
        "gitCommit:4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        // The SBOM and its component.
        "CycloneDX 1.5",
        "b6985f815a17224a18e75b8082bd0e5a1909159f995fb69932cb90d2ae8e4954",
        "zlib",
        "1.3.1",
        // The problem.
        "<li class=\"u\">SBOM has 1 components, at least 2 required</li>",
    ] {
        assert!(html.contains(fact), "the page lacks {fact}:\n{html}");
    }

    // The API returns the report as stored, with the schema it was stored under.
    let reply = client.get(&format!("/api/v1/artifacts/{id}"), Auth::Bearer(&token));
    assert_eq!(reply.status, 200);
    let json = reply.json();
    let mut expected: Value = serde_json::from_str(STORED_BEFORE_SCHEMA).unwrap();
    expected["schema"] = 1.into();
    assert_eq!(json["report"], expected);
    assert_eq!(
        (&json["artifact"]["kind"], &json["artifact"]["verdict"]),
        (&Value::from("file"), &Value::from("warned"))
    );
}

#[test]
fn a_report_stored_before_later_fields_existed_reads_with_their_defaults() {
    // The first stored reports had no artifact binding, no ignored chain certificates, no
    // `proven_by` and no SBOM component count.
    let mut old: Value = serde_json::from_str(STORED_BEFORE_SCHEMA).unwrap();
    for check in old["signatures"].as_array_mut().unwrap() {
        let report = check["report"].as_object_mut().unwrap();
        report.remove("artifact_digest").unwrap();
        report.remove("ignored_chain_certificates").unwrap();
        for entry in report["log_entries"].as_array_mut().unwrap() {
            entry.as_object_mut().unwrap().remove("proven_by").unwrap();
        }
    }
    let summary = old["sboms"][0]["summary"].as_object_mut().unwrap();
    summary.remove("component_count").unwrap();

    let report: ArtifactReport = serde_json::from_value(old).unwrap();
    assert_eq!(report.schema, Schema::V1);
    let verification = report.signatures[0].report.as_ref().unwrap();
    assert_eq!(verification.artifact_digest, None);
    assert!(verification.ignored_chain_certificates.is_empty());
    assert_eq!(
        verification.log_entries[0].proven_by,
        ProvenBy::InclusionProof
    );
    let summary: &SbomSummary = report.sboms[0].summary.as_ref().unwrap();
    assert_eq!((summary.component_count, summary.components.len()), (1, 1));
    // Nor the SBOM's tools, serial or creation time (nor any is written back while absent).
    assert_eq!(
        (summary.tools.len(), &summary.serial, &summary.created),
        (0, &None, &None)
    );
    let written = serde_json::to_value(summary).unwrap();
    assert_eq!(
        written.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["component_count", "components", "format"]
    );
}

#[test]
fn a_report_from_a_real_import_reads_back_as_the_value_it_was_written_from() {
    let mut site = Site::new(250);
    site.policy(&format!("{BASE_POLICY}\n[sbom]\nrequired = true\n"));
    let archive = site.archive(
        "roundtrip",
        1,
        &[
            ArtifactPlan::complete("tool.tar.gz", b"the tool\n"),
            ArtifactPlan::signed("notes.txt", b"the notes\n"),
        ],
    );
    let outcome = site.import(&archive);
    let verdicts: Vec<Verdict> = outcome.artifacts.iter().map(|a| a.verdict).collect();
    assert_eq!(verdicts, [Verdict::Passed, Verdict::Failed], "{outcome:?}");

    for artifact in &outcome.artifacts {
        let stored = store::artifacts::report(site.app.store().read(), artifact.id)
            .unwrap()
            .unwrap();
        let report: ArtifactReport = serde_json::from_str(&stored).unwrap();
        assert_eq!(report.schema, Schema::CURRENT);
        // Written again, it is the JSON that was stored, field for field.
        let written = serde_json::to_string(&report).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&written).unwrap(),
            serde_json::from_str::<Value>(&stored).unwrap()
        );
        assert_eq!(
            serde_json::from_str::<ArtifactReport>(&written).unwrap(),
            report
        );
    }

    let stored = store::artifacts::report(site.app.store().read(), outcome.artifacts[0].id)
        .unwrap()
        .unwrap();
    let report: ArtifactReport = serde_json::from_str(&stored).unwrap();
    assert_eq!(report.signatures.len(), 1);
    assert!(report.signatures[0].ok);
    assert!(matches!(
        &report.signatures[0].report.as_ref().unwrap().signer,
        SignerRecord::Certificate { identity, issuer, .. }
            if identity == TRUSTED_IDENTITY && issuer == ISSUER
    ));
    assert_eq!(report.signatures[0].witnessed[0].by, WitnessedBy::Proof);
    assert_eq!(report.sboms[0].source, SbomSource::File);
    assert_eq!(
        report.provenance.as_ref().unwrap().builder_id,
        airlock_tests::BUILDER_ID
    );

    // The stored rows read into their enums.
    let rows = site.artifacts(outcome.import_id);
    assert_eq!(
        rows.iter().map(|r| (r.kind, r.verdict)).collect::<Vec<_>>(),
        [
            (ArtifactKind::File, Verdict::Passed),
            (ArtifactKind::File, Verdict::Failed)
        ]
    );
    let steps: Vec<ImportStep> = store::imports::steps(site.app.store().read(), outcome.import_id)
        .unwrap()
        .into_iter()
        .map(|s| s.step)
        .collect();
    assert_eq!(steps, ImportStep::ALL);
}

/// Verifies `bundle` over `artifact` as the pipeline does, against `inst`'s trusted root.
fn verify(
    inst: &Instance,
    bundle: &[u8],
    artifact: &[u8],
    policy: &SignerPolicy,
) -> airlock_trust_root::Report {
    let root = TrustedRoot::from_json(&inst.trusted_root_json().unwrap()).unwrap();
    Verifier::new(root)
        .verify(
            &Bundle::from_json(bundle).unwrap(),
            Artifact::Bytes(artifact),
            policy,
        )
        .unwrap()
}

#[test]
fn the_record_of_a_verification_serialises_exactly_as_trust_roots_report() {
    let artifact = b"airlock release 1.0\n";
    let mut inst = Instance::new(251, Utc::now() - chrono::Duration::hours(1)).unwrap();
    let keyless = SignerPolicy::Keyless(CertificateIdentity {
        subject: Matcher::exact(TRUSTED_IDENTITY).unwrap(),
        issuer: Matcher::exact(ISSUER).unwrap(),
    });
    let opts = |shape: Shape, knobs: Knobs| {
        SignOptions::workload(TRUSTED_IDENTITY, ISSUER)
            .with_shape(shape)
            .with_knobs(knobs)
    };
    // A v0.1 bundle with its chain to the root (ignored), a promise only and an RFC 3161
    // timestamp; a v0.3 attestation naming the artifact by SHA-512; a managed key.
    let v01 = inst
        .sign_blob(
            artifact,
            &opts(
                Shape {
                    version: BundleVersion::V0_1,
                    material: CertificateMaterial::ChainToRoot,
                    proof: ProofShape::PromiseOnly,
                    ..Shape::default()
                },
                Knobs {
                    timestamp: TimestampMode::Valid,
                    ..Knobs::default()
                },
            ),
        )
        .unwrap();
    let attestation = inst
        .attest_bytes(
            "release.tar",
            artifact,
            &[DigestAlgorithm::Sha512],
            &Predicate::SlsaV1(Provenance {
                builder_id: airlock_tests::BUILDER_ID.into(),
                build_type: "https://ci.example.internal/build/v1".into(),
                source_uri: airlock_tests::SOURCE_URI.into(),
                source_commit: "0123456789abcdef0123456789abcdef01234567".into(),
            }),
            &opts(Shape::default(), Knobs::default()),
        )
        .unwrap();
    let key = inst.managed_key("release");
    let managed = inst
        .sign_blob_with_key(artifact, &key, &opts(Shape::default(), Knobs::default()))
        .unwrap();
    let by_key = SignerPolicy::PublicKey(PublicKey::from_pem(&key.public_pem().unwrap()).unwrap());

    let reports = [
        verify(&inst, &v01.json, artifact, &keyless),
        verify(&inst, &attestation.json, artifact, &keyless),
        verify(&inst, &managed.json, artifact, &by_key),
    ];
    for report in &reports {
        let record = Verification::from(report);
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            serde_json::to_value(report).unwrap()
        );
        let stored = serde_json::to_string(&record).unwrap();
        assert_eq!(
            serde_json::from_str::<Verification>(&stored).unwrap(),
            record
        );
    }
    // What the shapes were minted to show is in the records.
    let [v01, attestation, managed] = reports.each_ref().map(Verification::from);
    assert!(!v01.ignored_chain_certificates.is_empty());
    assert_eq!(v01.log_entries[0].proven_by, ProvenBy::SignedEntryTimestamp);
    assert!(
        v01.observed_times
            .iter()
            .any(|t| matches!(t.source, TimeSourceRecord::TimestampAuthority { .. }))
    );
    assert_eq!(attestation.artifact_digest.unwrap().algorithm, "sha512");
    assert!(attestation.dsse.is_some());
    assert!(matches!(managed.signer, SignerRecord::PublicKey { .. }));
}

#[test]
fn an_unknown_verdict_kind_or_step_in_a_row_is_an_error_naming_it() {
    let folder = Folder::new();
    let (import, id) = insert(&folder.app, STORED_BEFORE_SCHEMA);
    // A database edited by hand, past the schema's own checks (only the verdict has one).
    let db = rusqlite::Connection::open(folder.path.join("airlock.db")).unwrap();
    db.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    let edit = |sql: &str| {
        db.execute(sql, []).unwrap();
    };
    let error = || {
        store::artifacts::get(folder.app.store().read(), id)
            .unwrap_err()
            .to_string()
    };

    edit("UPDATE artifacts SET verdict = 'maybe'");
    assert_eq!(
        error(),
        format!("database value artifacts.verdict of artifact {id}: unknown verdict \"maybe\"")
    );
    edit("UPDATE artifacts SET verdict = 'warned', kind = 'container'");
    assert_eq!(
        error(),
        format!(
            "database value artifacts.kind of artifact {id}: unknown artifact kind \"container\""
        )
    );
    assert_eq!(
        store::artifacts::of_import(folder.app.store().read(), import)
            .unwrap_err()
            .to_string(),
        format!(
            "database value artifacts.kind of artifact {id}: unknown artifact kind \"container\""
        )
    );
    edit("UPDATE artifacts SET kind = 'file'");
    assert_eq!(
        store::artifacts::get(folder.app.store().read(), id)
            .unwrap()
            .unwrap()
            .verdict,
        Verdict::Warned
    );

    edit("UPDATE import_steps SET step = 'sign'");
    assert_eq!(
        store::imports::steps(folder.app.store().read(), import)
            .unwrap_err()
            .to_string(),
        format!(
            "database value import_steps.step of import {import}: unknown import step \"sign\""
        )
    );
}
