//! Reports exported as JSON documents, for auditors to keep or hand on: an artifact's report
//! (its facts, the typed verification report and its signed VSA) and an import's (its facts,
//! steps and artifacts). Each names its schema, [`SCHEMA`], so a reader can tell what it holds;
//! `docs/report-export.md` documents every field. The documents are read from the store as
//! they stand; they are not signed themselves (the VSA inside an artifact's is).

use airlock_bundler::archive::ArtifactKind;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::appliance::Appliance;
use crate::report::{ArtifactReport, Verdict};
use crate::store::{self, ArtifactRow, ImportRow, StepRow, StoreError};

/// The schema of both documents (`kind` says which one).
pub const SCHEMA: &str = "https://airlock.invalid/schemas/report-export/v1";

/// An artifact's report, exported.
#[derive(Debug, Serialize)]
pub struct ArtifactExport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// `artifact`.
    pub kind: &'static str,
    /// When the document was made.
    pub exported_at: DateTime<Utc>,
    /// The appliance key's id (hex SHA-256 of its public key), which signed the VSA.
    pub appliance_key_id: String,
    /// The artifact as stored.
    pub artifact: ArtifactFacts,
    /// The verification report written at import (its own `schema` field versions it).
    pub report: ArtifactReport,
    /// The signed verification summary (a DSSE envelope), as served at `…/vsa`.
    pub vsa: serde_json::Value,
}

/// An artifact's stored facts.
#[derive(Debug, Serialize)]
pub struct ArtifactFacts {
    /// Its id on this appliance.
    pub id: i64,
    /// The import that brought it.
    pub import_id: i64,
    /// Its position in the archive's manifest.
    pub position: i64,
    /// Its name.
    pub name: String,
    /// `file` or `oci-image`.
    pub kind: ArtifactKind,
    /// SHA-256 (hex).
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// `passed`, `warned` or `failed`.
    pub verdict: Verdict,
    /// Why, for a verdict other than passed.
    pub reasons: Vec<String>,
    /// The policy rule that decided.
    pub rule: String,
}

/// An import's report, exported.
#[derive(Debug, Serialize)]
pub struct ImportExport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// `import`.
    pub kind: &'static str,
    /// When the document was made.
    pub exported_at: DateTime<Utc>,
    /// The appliance key's id.
    pub appliance_key_id: String,
    /// The import as stored (state, archive, publisher, counts, times).
    pub import: ImportRow,
    /// Its verification steps, in order.
    pub steps: Vec<StepRow>,
    /// Its artifacts' facts (each one's full report is its own export).
    pub artifacts: Vec<ArtifactFacts>,
}

/// Why a document could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No such artifact or import.
    #[error("{0} not found")]
    NotFound(String),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored document that does not read back.
    #[error("{what}: {reason}")]
    Corrupt {
        /// Which.
        what: String,
        /// Why.
        reason: String,
    },
}

/// The export of artifact `id`.
pub fn artifact(
    app: &Appliance,
    id: i64,
    now: DateTime<Utc>,
) -> Result<ArtifactExport, ExportError> {
    let (row, report, vsa) = {
        let store = app.store();
        let conn = store.read();
        let row = store::artifacts::get(conn, id)?
            .ok_or_else(|| ExportError::NotFound(format!("artifact {id}")))?;
        (
            row,
            store::artifacts::report(conn, id)?,
            store::artifacts::vsa(conn, id)?,
        )
    };
    let corrupt = |what: &str, reason: String| ExportError::Corrupt {
        what: format!("artifact {id}: stored {what}"),
        reason,
    };
    let report = report.ok_or_else(|| corrupt("report", "missing".into()))?;
    let vsa = vsa.ok_or_else(|| corrupt("VSA", "missing".into()))?;
    Ok(ArtifactExport {
        schema: SCHEMA,
        kind: "artifact",
        exported_at: now,
        appliance_key_id: app.key_id().as_str().to_owned(),
        artifact: facts(&row)?,
        report: serde_json::from_str(&report).map_err(|e| corrupt("report", e.to_string()))?,
        vsa: serde_json::from_slice(&vsa).map_err(|e| corrupt("VSA", e.to_string()))?,
    })
}

/// The export of import `id`.
pub fn import(app: &Appliance, id: i64, now: DateTime<Utc>) -> Result<ImportExport, ExportError> {
    let store = app.store();
    let conn = store.read();
    let import = store::imports::get(conn, id)?
        .ok_or_else(|| ExportError::NotFound(format!("import {id}")))?;
    Ok(ImportExport {
        schema: SCHEMA,
        kind: "import",
        exported_at: now,
        appliance_key_id: app.key_id().as_str().to_owned(),
        import,
        steps: store::imports::steps(conn, id)?,
        artifacts: store::artifacts::of_import(conn, id)?
            .iter()
            .map(facts)
            .collect::<Result<_, _>>()?,
    })
}

fn facts(row: &ArtifactRow) -> Result<ArtifactFacts, ExportError> {
    Ok(ArtifactFacts {
        id: row.id,
        import_id: row.import_id,
        position: row.position,
        name: row.name.clone(),
        kind: row.kind,
        digest: row.digest.clone(),
        size: row.size,
        media_type: row.media_type.clone(),
        verdict: row.verdict,
        reasons: serde_json::from_str(&row.reasons).map_err(|e| ExportError::Corrupt {
            what: format!("artifact {}: stored reasons", row.id),
            reason: e.to_string(),
        })?,
        rule: row.rule.clone(),
    })
}
