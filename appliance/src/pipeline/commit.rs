//! The end of an import whose whole archive verified: every verdict committed in one
//! transaction while the files are linked into place beside it, then, and only then, the files
//! released and the import recorded done. An import stopped between the two is `releasing`,
//! and `recover` finishes its release.

use std::time::{Duration, Instant};

use airlock_bundler::archive::Manifest;
use chrono::{DateTime, Utc};

use super::release::{self, Layout};
use super::{
    ArtifactVerdict, ImportError, ImportOutcome, ImportRequest, Spooled, Verdict, feed, pause_at,
    spool_error,
};
use crate::appliance::Appliance;
use crate::audit::{self, Event};
use crate::report::{self, ImportStep};
use crate::store::{self, ImportState, NewArtifact, NewStep, StoreError, Tx};

/// Commits the verdicts of a checked archive, then releases its files and records the import
/// done: [`commit_beside_linking`], [`publish`], [`record_done`], in that order.
pub(super) fn commit_and_release(
    app: &Appliance,
    import_id: i64,
    req: &ImportRequest,
    checked: feed::Outcome,
    steps: Vec<NewStep>,
    now: DateTime<Utc>,
) -> Result<ImportOutcome, ImportError> {
    let layout = plan(app, import_id, &checked);
    let committed = commit_beside_linking(app, import_id, &checked, &layout, &steps, now)?;
    pause_at("committed");
    let published_in = publish(app, import_id, &checked, &layout)?;
    let commit = NewStep {
        step: ImportStep::Commit,
        ok: true,
        detail: format!(
            "{} verdict(s) and signed summaries recorded",
            committed.rows.len()
        ),
        duration: committed.took,
    };
    let release = NewStep {
        step: ImportStep::Release,
        ok: true,
        detail: release_detail(import_id, &checked.judged),
        // Linking (alongside the commit) and publishing.
        duration: committed.linking_took + published_in,
    };
    record_done(app, import_id, req, &layout, [&commit, &release], now)?;
    Ok(outcome(
        import_id,
        checked.staged.manifest(),
        checked.judged,
        committed.rows,
    ))
}

/// Where each artifact goes: released (passed or warned) or quarantined (failed). Decides
/// places only; nothing is written.
fn plan(app: &Appliance, import_id: i64, checked: &feed::Outcome) -> Layout {
    let verdicts: Vec<(usize, Verdict)> = checked
        .judged
        .iter()
        .map(|j| (j.position, j.verdict))
        .collect();
    release::plan(app.data(), import_id, checked.staged.manifest(), &verdicts)
}

/// What [`commit_beside_linking`] recorded, and how long it took.
struct Committed {
    /// Each artifact's row id and its place relative to the data folder, in manifest order.
    rows: Vec<(i64, String)>,
    /// The commit, waiting for the linking beside it included.
    took: Duration,
    /// The linking into the partial release folder and quarantine.
    linking_took: Duration,
}

/// Commits every verdict ([`record_archive`] then [`record_verdicts`], one transaction) while
/// a second thread links the files into the partial release folder and quarantine.
///
/// Guarantees: on `Ok`, the verdicts, reports, signed summaries, trust states, checkpoints,
/// sequence and manifest summary are committed with their audit rows (on disk when the commit
/// returns), the import is `releasing` and every file is in place; nothing is in `released/`
/// (the partial folder is invisible). If the commit fails nothing of it is recorded and the
/// import is still `running`; if only the linking fails, the import is `releasing` and
/// `recover` finishes the release.
fn commit_beside_linking(
    app: &Appliance,
    import_id: i64,
    checked: &feed::Outcome,
    layout: &Layout,
    steps: &[NewStep],
    now: DateTime<Utc>,
) -> Result<Committed, ImportError> {
    let started = Instant::now();
    let (committed, linked) = std::thread::scope(|scope| {
        let linking = scope.spawn(|| {
            let started = Instant::now();
            release::prepare(
                app.data(),
                import_id,
                checked.staged.dir(),
                checked.staged.manifest(),
                layout,
            )
            .map(|()| started.elapsed())
        });
        let committed = app.store().write(|tx| {
            record_archive(tx, import_id, checked, steps, now)?;
            record_verdicts(tx, app, import_id, checked, layout, now)
        });
        let linked = linking.join().unwrap_or_else(|_| {
            Err(ImportError::Io {
                path: app.data().releasing_of(import_id),
                source: std::io::Error::other("the release thread stopped"),
            })
        });
        (committed, linked)
    });
    let rows = committed?;
    let took = started.elapsed();
    let linking_took = linked?;
    Ok(Committed {
        rows,
        took,
        linking_took,
    })
}

/// Records what the archive changes beyond its artifacts, in `tx`: the steps so far, the
/// manifest's summary, the publisher's sequence, each trust state (with its `trust.updated`
/// audit row) and each witnessed checkpoint. Witness, trust and sequence state advance only
/// here, in the transaction that commits an accepted archive.
fn record_archive(
    tx: &Tx<'_>,
    import_id: i64,
    checked: &feed::Outcome,
    steps: &[NewStep],
    now: DateTime<Utc>,
) -> Result<(), ImportError> {
    let manifest = checked.staged.manifest();
    let key_ids = checked
        .staged
        .signers()
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect::<Vec<_>>()
        .join(",");
    for step in steps {
        store::imports::add_step(tx, import_id, step)?;
    }
    store::imports::set_manifest(
        tx,
        import_id,
        &store::imports::ManifestFacts {
            archive_id: &manifest.archive_id,
            publisher: &manifest.publisher.name,
            sequence: manifest.publisher.sequence,
            key_ids: &key_ids,
            created_at: manifest.created_at,
            site: manifest.site.as_deref(),
            notes: manifest.notes.as_deref(),
            summary: &summarize(manifest),
        },
    )?;
    store::publishers::set_last_sequence(
        tx,
        &manifest.publisher.name,
        manifest.publisher.sequence,
    )?;
    for state in &checked.trust_states {
        store::trust::save_state(
            tx,
            &state.name,
            &state.state_json,
            &state.trusted_root,
            &state.role_expiries,
            now,
        )?;
        if let Some((role, expiry)) = &state.first_expiry {
            store::trust::record_history(
                tx,
                &store::trust::TrustHistoryRow {
                    name: state.name.clone(),
                    import_id,
                    reference_time: super::steps::rfc3339(state.reference_time),
                    first_role: role.clone(),
                    first_expiry: super::steps::rfc3339(*expiry),
                },
                now,
            )?;
        }
        audit::append(
            tx,
            now,
            &Event {
                actor: "system",
                action: "trust.updated",
                subject: &state.name,
                detail: serde_json::json!({"import": import_id, "trusted_root_sha256": state.trusted_root_sha256, "root_version": state.root_version}),
            },
        )?;
    }
    for c in &checked.checkpoints {
        store::witness::insert(
            tx,
            &c.origin,
            c.size,
            &c.root_hash,
            &c.note,
            Some(import_id),
            now,
        )?;
    }
    Ok(())
}

/// Records every artifact's verdict in `tx`, in manifest order: its row (with the report and
/// signed summary read back from the workers' spools) and its `verdict` audit row; then the
/// import's counts, and its state `releasing` (even when every artifact failed: the failed
/// files still move from staging into quarantine, and `recover` finishes that only for
/// imports in this state). Returns each artifact's row id and place.
fn record_verdicts(
    tx: &Tx<'_>,
    app: &Appliance,
    import_id: i64,
    checked: &feed::Outcome,
    layout: &Layout,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, String)>, ImportError> {
    let manifest = checked.staged.manifest();
    let mut rows = Vec::with_capacity(checked.judged.len());
    let (mut passed, mut warned, mut failed) = (0, 0, 0);
    let (mut report_buf, mut vsa_buf) = (Vec::new(), Vec::new());
    for (judged, place) in checked.judged.iter().zip(&layout.places) {
        let artifact = &manifest.artifacts[judged.position];
        let report = checked
            .spools
            .read_text(judged.report, &mut report_buf)
            .map_err(spool_error(app))?;
        checked
            .spools
            .read(judged.vsa, &mut vsa_buf)
            .map_err(spool_error(app))?;
        match judged.verdict {
            Verdict::Passed => passed += 1,
            Verdict::Warned => warned += 1,
            Verdict::Failed => failed += 1,
        }
        let digest = &judged.digest;
        let location = place.relative.display().to_string();
        // The report as written a moment ago by this appliance: one that does not read back
        // is a broken spool, not archive input.
        let components = report::sbom_components(report).map_err(|e| ImportError::Io {
            path: app.data().incoming(),
            source: std::io::Error::other(format!("a spooled report does not read: {e}")),
        })?;
        let id = store::artifacts::insert(
            tx,
            import_id,
            &NewArtifact {
                position: judged.position,
                name: &artifact.name,
                kind: artifact.kind,
                digest,
                size: artifact.size,
                media_type: &artifact.media_type,
                verdict: judged.verdict,
                reasons: &judged.reasons_json,
                rule: &judged.rule,
                report,
                vsa: &vsa_buf,
                location: &location,
                signers: &judged.signers,
                components: &components,
            },
        )?;
        rows.push((id, location));
        audit::append(
            tx,
            now,
            &Event {
                actor: "system",
                action: "verdict",
                subject: &format!("{import_id}/{}", judged.position),
                detail: serde_json::json!({
                    "artifact": artifact.name,
                    "digest": digest,
                    "verdict": judged.verdict.as_str(),
                    "reasons": judged.reasons,
                    "rule": judged.rule,
                }),
            },
        )?;
    }
    store::imports::set_counts(tx, import_id, passed, warned, failed)?;
    store::imports::set_state(tx, import_id, ImportState::Releasing, None, now)?;
    Ok(rows)
}

/// Releases the files: the partial folder becomes `released/<import>/` in one step. Called
/// only once the verdicts are committed, so nothing is ever released without one. Returns how
/// long it took.
fn publish(
    app: &Appliance,
    import_id: i64,
    checked: &feed::Outcome,
    layout: &Layout,
) -> Result<Duration, ImportError> {
    let started = Instant::now();
    release::publish(app.data(), import_id, checked.staged.dir(), layout)?;
    Ok(started.elapsed())
}

/// The release step's text: how many artifacts went to `released/` and to `quarantine/`.
fn release_detail(import_id: i64, judged: &[Spooled]) -> String {
    let failed = judged
        .iter()
        .filter(|j| j.verdict == Verdict::Failed)
        .count();
    format!(
        "{} artifact(s) to released/{import_id}/, {failed} kept in quarantine/{import_id}/",
        judged.len() - failed,
    )
}

/// Records the import done, in one transaction: the `commit` and `release` steps, the state
/// `done`, and the `release` and `import.done` audit rows (what was released, how many were
/// quarantined). After it, `recover` has nothing left to do for the import.
fn record_done(
    app: &Appliance,
    import_id: i64,
    req: &ImportRequest,
    layout: &Layout,
    steps: [&NewStep; 2],
    now: DateTime<Utc>,
) -> Result<(), ImportError> {
    app.store().write(|tx| {
        for step in steps {
            store::imports::add_step(tx, import_id, step)?;
        }
        store::imports::set_state(tx, import_id, ImportState::Done, None, now)?;
        audit::append(
            tx,
            now,
            &Event {
                actor: "system",
                action: "release",
                subject: &import_id.to_string(),
                detail: serde_json::json!({
                    "released": layout
                        .places
                        .iter()
                        .filter(|p| p.released)
                        .map(|p| p.relative.display().to_string())
                        .collect::<Vec<_>>(),
                    "quarantined": layout.places.iter().filter(|p| !p.released).count(),
                }),
            },
        )?;
        audit::append(
            tx,
            now,
            &Event {
                actor: &req.actor,
                action: "import.done",
                subject: &import_id.to_string(),
                detail: serde_json::json!({
                    "released": layout.places.iter().filter(|p| p.released).count(),
                    "quarantined": layout.places.iter().filter(|p| !p.released).count(),
                }),
            },
        )?;
        Ok::<_, StoreError>(())
    })?;
    Ok(())
}

/// What the import page shows of a manifest.
fn summarize(manifest: &Manifest) -> store::ManifestSummary {
    store::ManifestSummary {
        version: manifest.version,
        artifacts: manifest.artifacts.len() as u64,
        blobs: manifest.blobs.len() as u64,
        blob_bytes: manifest.total_blob_size(),
        trust: manifest.trust.iter().map(|t| t.name.clone()).collect(),
        logs: manifest
            .logs
            .iter()
            .map(|l| store::LogHeadSummary {
                origin: l.origin.clone(),
                // A checkpoint's second line is its tree size; the witness step verified every
                // carried checkpoint before anything is committed.
                size: l
                    .checkpoint
                    .lines()
                    .nth(1)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

/// What the import answers: each artifact's row id, name, verdict, reasons and place.
fn outcome(
    import_id: i64,
    manifest: &Manifest,
    judged: Vec<Spooled>,
    rows: Vec<(i64, String)>,
) -> ImportOutcome {
    let artifacts = judged
        .into_iter()
        .zip(rows)
        .map(|(j, (id, location))| ArtifactVerdict {
            id,
            name: manifest.artifacts[j.position].name.clone(),
            verdict: j.verdict,
            reasons: j.reasons,
            location,
        })
        .collect();
    ImportOutcome {
        import_id,
        state: ImportState::Done,
        reason: None,
        artifacts,
    }
}
