//! `airlock-bench-web`: prepares the pages benchmark — a data folder holding IMPORTS imports
//! of PER artifacts each (10,000 × 10 = 100,000 by default).
//!
//! `airlock-bench-web DIR [IMPORTS] [PER]`
//!
//! One real archive of PER complete artifacts (signature, provenance, SBOM) is built by the
//! testkit's world and imported through the pipeline; its first stored report and signed VSA
//! are then repeated for every other artifact, inserted directly with the store's own functions in
//! transactions of 500 imports, each with its audit rows (started, a verdict per artifact, done). Prints the data folder, the admin password and the id of an
//! artifact in the middle of the table; `bench/web.sh` serves the folder and runs wrk.

use std::path::PathBuf;

use airlock_appliance::admin;
use airlock_appliance::appliance::Appliance;
use airlock_appliance::audit::{self, Event};
use airlock_appliance::init::{InitOptions, init};
use airlock_appliance::pipeline::{self, ImportRequest, Original};
use airlock_appliance::policy::PolicyDocument;
use airlock_appliance::report::{ArtifactReport, Verdict};
use airlock_appliance::store::{self, ImportSource, ImportState, NewArtifact, StoreError};
use airlock_tests::{ArtifactPlan, ISSUER, TRUSTED_IDENTITY, TUF_NAME, World};
use anyhow::{Context as _, bail};
use chrono::{Duration, Utc};

/// The admin's password in the benchmark's data folder.
const PASSWORD: &str = "bench-password";

/// Imports written per transaction.
const BATCH: usize = 500;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, imports, per) = match &args[..] {
        [dir] => (PathBuf::from(dir), 10_000, 10),
        [dir, n] => (PathBuf::from(dir), n.parse().context("IMPORTS")?, 10),
        [dir, n, per] => (
            PathBuf::from(dir),
            n.parse().context("IMPORTS")?,
            per.parse().context("PER")?,
        ),
        _ => bail!("usage: airlock-bench-web DIR [IMPORTS] [PER]"),
    };
    let (imports, per): (usize, usize) = (imports, per);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let now = Utc::now();
    let mut world = World::new(91, &dir.join("world"), now - Duration::hours(1))?;
    // The sample import has PER artifacts too, so the totals are exactly IMPORTS × PER.
    let plans: Vec<ArtifactPlan> = (0..per)
        .map(|i| {
            ArtifactPlan::complete(
                &format!("component-{i:02}.tar"),
                format!("component {i}\n").as_bytes(),
            )
        })
        .collect();
    let archive = world.archive("sample", 1, &plans, None)?;
    let data = dir.join("data");
    init(&InitOptions {
        data: data.clone(),
        tuf_roots: vec![(TUF_NAME.to_owned(), world.tuf_root().to_vec())],
        admin: "admin".into(),
        admin_password: Some(PASSWORD.into()),
        tls: None,
        hostnames: Vec::new(),
        site: None,
        now,
    })?;
    let app = Appliance::open(&data)?;
    let key = airlock_bundler::keys::load_public_key(&world.publisher().pub_path)?;
    admin::add_publisher_key(&app, "bench", "release-team", &key)?;
    let policy = format!(
        "enforcement = \"enforce\"\n[[signer]]\nname = \"release\"\nissuer = \"{ISSUER}\"\nsubject = \"{TRUSTED_IDENTITY}\"\n"
    );
    admin::import_policy(&app, "bench", &PolicyDocument::from_toml(&policy)?)?;

    // One real import: the report and VSA every synthetic artifact repeats.
    let outcome = pipeline::import_file(
        &app,
        ImportRequest {
            source: ImportSource::Cli,
            path: archive.clone(),
            file_name: "sample.airlock.tar.zst".into(),
            actor: "bench".into(),
            original: Original::Copy,
        },
    )?;
    let sample = outcome
        .artifacts
        .first()
        .context("the sample import judged no artifact")?;
    let (row, report, vsa, summary, steps) = {
        let store = app.store();
        let conn = store.read();
        let row = store::artifacts::get(conn, sample.id)?.context("the sample artifact")?;
        (
            row,
            store::artifacts::report(conn, sample.id)?.unwrap_or_default(),
            store::artifacts::vsa(conn, sample.id)?.unwrap_or_default(),
            store::imports::summary(conn, outcome.import_id)?
                .context("the sample import's manifest summary")?,
            store::imports::steps(conn, outcome.import_id)?,
        )
    };
    let signers = serde_json::from_str::<ArtifactReport>(&report)
        .context("the sample's stored report")?
        .signer_identities();
    let key_ids = store::imports::get(app.store().read(), outcome.import_id)?
        .and_then(|i| i.key_ids)
        .unwrap_or_default();

    let mut made = 1;
    while made < imports {
        let batch = BATCH.min(imports - made);
        app.store().write(|tx| {
            for n in made..made + batch {
                let started = now - Duration::seconds((imports - n) as i64 * 60);
                let id = store::imports::start(
                    tx,
                    ImportSource::Upload,
                    &format!("release-{n:05}.airlock.tar.zst"),
                    16_384,
                    "operator",
                    started,
                )?;
                let subject = id.to_string();
                audit::append(
                    tx,
                    started,
                    &Event {
                        actor: "operator",
                        action: "import.started",
                        subject: &subject,
                        detail: serde_json::json!({"source": "upload", "size": 16_384}),
                    },
                )?;
                store::imports::set_manifest(
                    tx,
                    id,
                    &store::imports::ManifestFacts {
                        archive_id: &format!("{n:032x}"),
                        publisher: if n % 3 == 0 {
                            "platform"
                        } else {
                            "release-team"
                        },
                        sequence: n as u64 + 1,
                        key_ids: &key_ids,
                        created_at: started,
                        site: Some("plant-3"),
                        notes: None,
                        summary: &summary,
                    },
                )?;
                for step in &steps {
                    store::imports::add_step(
                        tx,
                        id,
                        &store::NewStep {
                            step: step.step,
                            ok: step.ok,
                            detail: step.detail.clone(),
                            duration: std::time::Duration::from_micros(
                                step.duration_us.max(0) as u64
                            ),
                        },
                    )?;
                }
                let (mut passed, mut failed) = (0, 0);
                for position in 0..per {
                    let verdict = if (n + position) % 17 == 0 {
                        failed += 1;
                        Verdict::Failed
                    } else {
                        passed += 1;
                        Verdict::Passed
                    };
                    store::artifacts::insert(
                        tx,
                        id,
                        &NewArtifact {
                            position,
                            name: &format!("component-{position:02}.tar"),
                            kind: row.kind,
                            digest: &row.digest,
                            size: row.size,
                            media_type: &row.media_type,
                            verdict,
                            reasons: "[]",
                            rule: &row.rule,
                            report: &report,
                            vsa: &vsa,
                            location: &format!("released/{id}/{position:04}"),
                            signers: &signers,
                            components: &[],
                        },
                    )?;
                    audit::append(
                        tx,
                        started,
                        &Event {
                            actor: "system",
                            action: "verdict",
                            subject: &format!("{id}/{position}"),
                            detail: serde_json::json!({
                                "artifact": format!("component-{position:02}.tar"),
                                "digest": row.digest,
                                "verdict": verdict.as_str(),
                                "reasons": [],
                                "rule": row.rule,
                            }),
                        },
                    )?;
                }
                store::imports::set_counts(tx, id, passed, 0, failed)?;
                store::imports::set_state(tx, id, ImportState::Done, None, started)?;
                audit::append(
                    tx,
                    started,
                    &Event {
                        actor: "system",
                        action: "import.done",
                        subject: &subject,
                        detail: serde_json::json!({"released": passed, "quarantined": failed}),
                    },
                )?;
            }
            Ok::<_, StoreError>(())
        })?;
        made += batch;
    }
    let (artifacts, total) = {
        let store = app.store();
        let conn = store.read();
        let (p, w, f) = store::artifacts::verdict_counts(conn)?;
        (p + w + f, store::imports::count(conn)?)
    };
    eprintln!(
        "{total} imports, {artifacts} artifacts in {}",
        data.display()
    );
    println!("{}", data.display());
    println!("{PASSWORD}");
    println!("{}", artifacts / 2);
    Ok(())
}
