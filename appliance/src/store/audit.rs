//! The audit table: rows appended in sequence, each hash covering the previous one.

use rusqlite::{Connection, params};

use super::{Result, Tx, optional};

/// The previous hash of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who (a user name, `cli`, `inbox`, `system`).
    pub actor: String,
    /// What kind of action (`login`, `import.started`, `verdict`, …).
    pub action: String,
    /// What it was about.
    pub subject: String,
    /// Details, JSON.
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The newest row's sequence number and hash.
pub fn head(conn: &Connection) -> Result<Option<(i64, String)>> {
    // Cached: an import appends a row per artifact, each after reading the head.
    let mut stmt = conn.prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?;
    optional(stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
}

/// Appends a row (the caller computed its hash over the head it read in this transaction).
pub fn insert(tx: &Tx<'_>, row: &AuditRow) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.subject,
        row.detail,
        row.prev_hash,
        row.hash
    ])?;
    Ok(())
}

/// Rows with `seq` after `after`, oldest first, at most `limit`.
pub fn page(conn: &Connection, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
         FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok(AuditRow {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: r.get(5)?,
            prev_hash: r.get(6)?,
            hash: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rows newest first, for pages.
pub fn newest(conn: &Connection, offset: i64, limit: i64) -> Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
         FROM audit ORDER BY seq DESC LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt.query_map(params![limit, offset], |r| {
        Ok(AuditRow {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: r.get(5)?,
            prev_hash: r.get(6)?,
            hash: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many rows there are.
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?)
}

/// A signed head of the chain as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignedHeadRow {
    /// The row signed (the chain's length then).
    pub seq: i64,
    /// That row's hash.
    pub hash: String,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// The DSSE envelope (JSON) signed by the appliance key.
    pub envelope: String,
}

/// Stores a signed head.
pub fn insert_head(tx: &Tx<'_>, head: &SignedHeadRow) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_heads (seq, hash, signed_at, envelope) VALUES (?1, ?2, ?3, ?4)",
        params![head.seq, head.hash, head.signed_at, head.envelope],
    )?;
    Ok(())
}

fn head_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SignedHeadRow> {
    Ok(SignedHeadRow {
        seq: r.get(0)?,
        hash: r.get(1)?,
        signed_at: r.get(2)?,
        envelope: r.get(3)?,
    })
}

/// The signed head covering the most rows (the latest signed).
pub fn latest_head(conn: &Connection) -> Result<Option<SignedHeadRow>> {
    optional(conn.query_row(
        "SELECT seq, hash, signed_at, envelope FROM audit_heads ORDER BY seq DESC, id DESC LIMIT 1",
        [],
        head_row,
    ))
}

/// Every signed head, oldest first.
pub fn heads(conn: &Connection) -> Result<Vec<SignedHeadRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, hash, signed_at, envelope FROM audit_heads ORDER BY id")?;
    let rows = stmt.query_map([], head_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One row's hash, if the row exists.
pub fn hash_at(conn: &Connection, seq: i64) -> Result<Option<String>> {
    optional(conn.query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0)))
}
