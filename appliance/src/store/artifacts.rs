//! Artifacts of an import, each with its verdict, report and signed VSA.

use airlock_bundler::archive::ArtifactKind;
use rusqlite::{Connection, params};

use super::{Result, StoreError, Tx, optional};
use crate::report::{self, Verdict};

/// An artifact to record.
#[derive(Debug, Clone)]
pub struct NewArtifact<'a> {
    /// Position in the manifest.
    pub position: usize,
    /// Name.
    pub name: &'a str,
    /// What it is.
    pub kind: ArtifactKind,
    /// Hex digest.
    pub digest: &'a str,
    /// Size.
    pub size: u64,
    /// Media type.
    pub media_type: &'a str,
    /// What the site did with it.
    pub verdict: Verdict,
    /// JSON array of reasons.
    pub reasons: &'a str,
    /// The policy rule that decided.
    pub rule: &'a str,
    /// The report JSON (every check and what it saw).
    pub report: &'a str,
    /// The DSSE-signed VSA.
    pub vsa: &'a [u8],
    /// Where its files are (relative to the data folder).
    pub location: &'a str,
}

/// An artifact as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArtifactRow {
    /// Its id.
    pub id: i64,
    /// The import.
    pub import_id: i64,
    /// Position in the manifest.
    pub position: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ArtifactKind,
    /// Hex digest.
    pub digest: String,
    /// Size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// Verdict.
    pub verdict: Verdict,
    /// JSON array of reasons.
    pub reasons: String,
    /// Rule that decided.
    pub rule: String,
    /// Where its files are.
    pub location: Option<String>,
}

const COLUMNS: &str = "id, import_id, position, name, kind, digest, size, media_type, verdict, reasons, rule, location";

/// A row as SQLite gives it: kind and verdict still text.
struct RawRow {
    id: i64,
    import_id: i64,
    position: i64,
    name: String,
    kind: String,
    digest: String,
    size: u64,
    media_type: String,
    verdict: String,
    reasons: String,
    rule: String,
    location: Option<String>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        import_id: r.get(1)?,
        position: r.get(2)?,
        name: r.get(3)?,
        kind: r.get(4)?,
        digest: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        media_type: r.get(7)?,
        verdict: r.get(8)?,
        reasons: r.get(9)?,
        rule: r.get(10)?,
        location: r.get(11)?,
    })
}

/// The row with its kind and verdict read: a name this appliance does not write is an error.
fn finish_row(raw: RawRow) -> Result<ArtifactRow> {
    let corrupt = |column: &str, e: report::UnknownName| StoreError::Corrupt {
        what: format!("artifacts.{column} of artifact {}", raw.id),
        reason: e.to_string(),
    };
    Ok(ArtifactRow {
        kind: report::parse_kind(&raw.kind).map_err(|e| corrupt("kind", e))?,
        verdict: raw.verdict.parse().map_err(|e| corrupt("verdict", e))?,
        id: raw.id,
        import_id: raw.import_id,
        position: raw.position,
        name: raw.name,
        digest: raw.digest,
        size: raw.size,
        media_type: raw.media_type,
        reasons: raw.reasons,
        rule: raw.rule,
        location: raw.location,
    })
}

/// Records an artifact.
pub fn insert(tx: &Tx<'_>, import_id: i64, a: &NewArtifact<'_>) -> Result<i64> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO artifacts (import_id, position, name, kind, digest, size, media_type,
         verdict, reasons, rule, report, vsa, location)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    stmt.execute(params![
        import_id,
        a.position as i64,
        a.name,
        report::kind_str(a.kind),
        a.digest,
        a.size as i64,
        a.media_type,
        a.verdict.as_str(),
        a.reasons,
        a.rule,
        a.report,
        a.vsa,
        a.location
    ])?;
    Ok(tx.last_insert_rowid())
}

/// An import's artifacts in manifest order.
pub fn of_import(conn: &Connection, import_id: i64) -> Result<Vec<ArtifactRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM artifacts WHERE import_id = ?1 ORDER BY position"
    ))?;
    let rows = stmt.query_map([import_id], row)?;
    rows.map(|r| finish_row(r?)).collect()
}

/// One artifact.
pub fn get(conn: &Connection, id: i64) -> Result<Option<ArtifactRow>> {
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM artifacts WHERE id = ?1"),
        [id],
        row,
    ))?
    .map(finish_row)
    .transpose()
}

/// An artifact's report JSON.
pub fn report(conn: &Connection, id: i64) -> Result<Option<String>> {
    optional(
        conn.query_row("SELECT report FROM artifacts WHERE id = ?1", [id], |r| {
            r.get(0)
        }),
    )
}

/// An artifact's signed VSA.
pub fn vsa(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    optional(
        conn.query_row("SELECT vsa FROM artifacts WHERE id = ?1", [id], |r| {
            r.get(0)
        }),
    )
}

/// Verdict counts over every artifact: (passed, warned, failed).
pub fn verdict_counts(conn: &Connection) -> Result<(i64, i64, i64)> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(verdict = 'passed'), 0), coalesce(sum(verdict = 'warned'), 0),
                coalesce(sum(verdict = 'failed'), 0) FROM artifacts",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Removes an import's artifacts (when an interrupted import is cleaned up).
pub fn delete_of_import(tx: &Tx<'_>, import_id: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM artifacts WHERE import_id = ?1",
        params![import_id],
    )?;
    Ok(())
}
